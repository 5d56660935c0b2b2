// Keeps a 2025-era session with a running rampart demo (TypeScript SDK 1.x,
// `@modelcontextprotocol/sdk`, Streamable HTTP) while modern clients use the same server.
//
// Usage: node clients/ts/legacy_session.mjs <url>    (e.g. http://127.0.0.1:23450/mcp)
//
// 1. initialize (a session id is assigned), tools/list, tools/call echo; then prints the line
//    "READY <session id>" on stdout.
// 2. Keeps calling echo on the session, one call after another (25 ms apart), until a line arrives on stdin
//    (or stdin ends): that is when the caller's modern clients are done.
// 3. Checks the session still works: the same session id, ping, tools/list, tools/call
//    user.create@v1 then user.get@v1; every POST carried the session id and the negotiated
//    MCP-Protocol-Version and got 2xx; then ends the session with DELETE.
//
// Prints one "ok ..." line per passed check and a one-line JSON summary on stdout, exits 0.
// A failed check prints "FAIL: ..." and the HTTP exchanges on stderr, the JSON summary
// ({"ok":false,...}) on stdout, and exits 1. The caller owns the server.

import process from 'node:process';
import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const OVERALL_DEADLINE_MS = 110_000;
const REQUEST_TIMEOUT_MS = 10_000;
const LEGACY_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

const url = process.argv[2];
if (!url) {
    process.stderr.write('usage: node clients/ts/legacy_session.mjs <url of the /mcp endpoint>\n');
    process.exit(2);
}

const summary = { client: 'rampart-ts-sdk-v1-legacy-session', transport: 'http', ok: false, checks: 0 };
const transportErrors = [];
const exchanges = [];
let finished = false;

function fail(message) {
    if (finished) process.exit(1);
    finished = true;
    process.stderr.write(`FAIL: ${message}\n`);
    if (transportErrors.length > 0) process.stderr.write(`transport errors:\n${transportErrors.map(e => `  ${e}`).join('\n')}\n`);
    if (exchanges.length > 0) {
        process.stderr.write(`--- HTTP exchanges (last 30) ---\n${exchanges.slice(-30).map(describeExchange).join('\n')}\n--- end ---\n`);
    }
    process.stdout.write(`${JSON.stringify({ ...summary, ok: false, error: message })}\n`);
    process.exit(1);
}

function ok(message) {
    summary.checks += 1;
    process.stdout.write(`ok ${message}\n`);
}

function describe(value) {
    return JSON.stringify(value);
}

function describeExchange(x) {
    const outcome = x.error ? `error ${x.error}` : `${x.status} ${x.contentType ?? '-'}`;
    return `  ${x.method} ${x.what ?? ''} [version ${x.sentVersion ?? '-'}, session ${x.sentSession ?? '-'}] -> ${outcome}${x.gotSession ? ` (got session ${x.gotSession})` : ''}`;
}

/** A fetch that records every request the transport makes and the response it got. */
async function recordingFetch(input, init) {
    const headers = new Headers(init?.headers);
    let what;
    if (typeof init?.body === 'string') {
        try {
            const body = JSON.parse(init.body);
            what = Array.isArray(body) ? 'batch' : body.method ?? `response to ${body.id}`;
        } catch {
            what = 'non-JSON body';
        }
    }
    const entry = {
        method: init?.method ?? 'GET',
        what,
        sentSession: headers.get('mcp-session-id') ?? undefined,
        sentVersion: headers.get('mcp-protocol-version') ?? undefined,
    };
    exchanges.push(entry);
    try {
        const response = await fetch(input, init);
        entry.status = response.status;
        entry.contentType = response.headers.get('content-type') ?? undefined;
        entry.gotSession = response.headers.get('mcp-session-id') ?? undefined;
        return response;
    } catch (err) {
        entry.error = err?.message ?? String(err);
        throw err;
    }
}

async function request(what, send) {
    try {
        return await send();
    } catch (err) {
        fail(`${what}: ${err?.message ?? err}`);
    }
}

async function echo(client, text) {
    const res = await request(`tools/call echo ${describe(text)}`, () =>
        client.callTool({ name: 'echo', arguments: { text } }, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
    const texts = (res.content ?? []).filter(c => c.type === 'text').map(c => c.text);
    if (res.isError || !isDeepStrictEqual(texts, [text])) fail(`tools/call echo ${describe(text)}: got ${describe(res)}`);
}

async function listTools(client) {
    const { tools } = await request('tools/list', () => client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS }));
    const names = tools.map(t => t.name);
    for (const name of ['echo', 'user.create@v1', 'user.get@v1']) {
        if (!names.includes(name)) fail(`tools/list: no ${name}; got ${describe(names)}`);
    }
    return names;
}

/** Resolves when a line arrives on stdin or stdin ends. */
function goSignal() {
    return new Promise(resolve => {
        let seen = false;
        const go = why => {
            if (!seen) {
                seen = true;
                resolve(why);
            }
        };
        process.stdin.setEncoding('utf8');
        process.stdin.on('data', chunk => {
            if (chunk.includes('\n')) go('a line on stdin');
        });
        process.stdin.on('end', () => go('stdin ended'));
        process.stdin.on('error', () => go('stdin failed'));
        process.stdin.resume();
    });
}

async function main() {
    const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });
    const client = new Client({ name: summary.client, version: '0.0.0' });
    client.onerror = err => transportErrors.push(err?.message ?? String(err));
    await request('initialize', () => client.connect(transport, { timeout: REQUEST_TIMEOUT_MS }));
    const protocolVersion = transport.protocolVersion;
    const sessionId = transport.sessionId;
    summary.protocolVersion = protocolVersion;
    if (!LEGACY_VERSIONS.includes(protocolVersion)) fail(`initialize: expected a 2025-era protocol version, got ${describe(protocolVersion)}`);
    if (typeof sessionId !== 'string' || !sessionId) fail(`initialize: no Mcp-Session-Id (got ${describe(sessionId)})`);
    ok(`initialize (protocolVersion ${protocolVersion}, session ${sessionId.length} chars, server ${client.getServerVersion()?.name})`);

    const names = await listTools(client);
    ok(`tools/list (${names.length} tools)`);
    await echo(client, 'legacy before');
    ok('tools/call echo -> "legacy before"');

    // Hold the session open, and keep using it, while the caller runs the modern clients.
    const go = goSignal();
    let released;
    go.then(why => (released = why));
    process.stdout.write(`READY ${sessionId}\n`);
    let during = 0;
    do {
        await echo(client, `legacy during ${during}`);
        during += 1;
        if (released === undefined) await new Promise(resolve => setTimeout(resolve, 25)); // a steady trickle, not a flood
    } while (released === undefined);
    summary.callsWhileWaiting = during;
    ok(`${during} echo calls on the session while waiting (released by ${released})`);

    // The session still works.
    if (transport.sessionId !== sessionId) fail(`session: the session id changed from ${sessionId} to ${describe(transport.sessionId)}`);
    const pong = await request('ping', () => client.ping({ timeout: REQUEST_TIMEOUT_MS }));
    if (!isDeepStrictEqual(pong, {})) fail(`ping: expected {}, got ${describe(pong)}`);
    await listTools(client);
    const created = await request('tools/call user.create@v1', () =>
        client.callTool({ name: 'user.create@v1', arguments: { email: 'legacy@example.com', name: 'Legacy' } }, undefined, {
            timeout: REQUEST_TIMEOUT_MS,
        }),
    );
    const user = created.structuredContent;
    if (created.isError || typeof user?.id !== 'string') fail(`tools/call user.create@v1: got ${describe(created)}`);
    const got = await request('tools/call user.get@v1', () =>
        client.callTool({ name: 'user.get@v1', arguments: { id: user.id } }, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
    if (got.isError || !isDeepStrictEqual(got.structuredContent, user)) fail(`tools/call user.get@v1 ${user.id}: expected ${describe(user)}, got ${describe(got)}`);
    ok(`after the modern clients: same session, ping, tools/list, user.create@v1 -> ${user.id}, user.get@v1 finds it`);

    const posts = exchanges.filter(x => x.method === 'POST');
    const init = posts.findIndex(x => x.what === 'initialize');
    const after = posts.slice(init + 1);
    const astray = after.filter(x => x.sentSession !== sessionId || x.sentVersion !== protocolVersion);
    if (astray.length > 0) fail(`session: POSTs without the session id or MCP-Protocol-Version ${protocolVersion}: ${astray.map(describeExchange).join('; ')}`);
    const refused = exchanges.filter(x => x.error || (x.method === 'POST' && !(x.status >= 200 && x.status < 300)));
    if (refused.length > 0) fail(`HTTP: failed exchanges: ${refused.map(describeExchange).join('; ')}`);
    if (transportErrors.length > 0) fail('the SDK reported transport/protocol errors');
    summary.posts = posts.length;
    ok(`${after.length} POSTs after initialize, all with the session id and MCP-Protocol-Version ${protocolVersion}, all 2xx; no transport errors`);

    await request('DELETE session', () => transport.terminateSession());
    const del = exchanges.filter(x => x.method === 'DELETE').at(-1);
    if (!del || !(del.status >= 200 && del.status < 300)) fail(`DELETE session: expected 2xx, got ${del ? describeExchange(del) : 'no DELETE'}`);
    await request('close', () => client.close());
    ok(`DELETE session -> ${del.status}; close`);
}

const deadline = setTimeout(() => fail(`overall deadline of ${OVERALL_DEADLINE_MS} ms exceeded`), OVERALL_DEADLINE_MS);
deadline.unref();
main().then(
    () => {
        clearTimeout(deadline);
        finished = true;
        process.stdout.write(`${JSON.stringify({ ...summary, ok: true })}\n`);
        process.exit(0);
    },
    err => fail(`unexpected exception: ${err?.stack ?? err}`),
);
