// Drives a running rampart demo server with the official TypeScript MCP SDK over
// Streamable HTTP.
//
// Usage: node clients/ts/http_client.mjs <url>    (e.g. http://127.0.0.1:23450/mcp)
//
// Prints one "ok ..." line per passed check on stdout and exits 0. Any failed
// check prints "FAIL: ..." (plus the HTTP exchanges seen so far) on stderr and
// exits 1. The server is not started here: the caller owns it and its logs.

import assert from 'node:assert/strict';
import http from 'node:http';
import process from 'node:process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

const OVERALL_DEADLINE_MS = 45_000;
const REQUEST_TIMEOUT_MS = 10_000;
const EXPECTED_TOOLS = ['user.create@v1', 'user.get@v1', 'echo', 'add', 'sleep', 'fail', 'panic'];
const SUPPORTED_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

const url = process.argv[2];
if (!url) {
    process.stderr.write('usage: node clients/ts/http_client.mjs <url of the /mcp endpoint>\n');
    process.exit(2);
}

const transportErrors = [];
// Every message the server sent, in arrival order, and every request we sent (id -> method).
const inbound = [];
const outbound = new Map();
// Every HTTP exchange the SDK made: { method, status, contentType, sentSession, gotSession, error }.
const exchanges = [];
let transport;
let client;

function fail(message) {
    process.stderr.write(`FAIL: ${message}\n`);
    if (transportErrors.length > 0) {
        process.stderr.write(`transport errors:\n${transportErrors.map(e => `  ${e}`).join('\n')}\n`);
    }
    if (exchanges.length > 0) {
        process.stderr.write(`--- HTTP exchanges ---\n${exchanges.map(describeExchange).join('\n')}\n--- end ---\n`);
    }
    process.exit(1);
}

function ok(message) {
    process.stdout.write(`ok ${message}\n`);
}

function describe(value) {
    return JSON.stringify(value);
}

function describeExchange(x) {
    const outcome = x.error ? `error ${x.error}` : `${x.status} ${x.contentType ?? '-'}`;
    return `  ${x.method} ${x.what ?? ''} -> ${outcome} (sent session ${x.sentSession ?? '-'}, got session ${x.gotSession ?? '-'})`;
}

const deadline = setTimeout(() => fail(`overall deadline of ${OVERALL_DEADLINE_MS} ms exceeded`), OVERALL_DEADLINE_MS);
deadline.unref();

/** A fetch that records every request the transport makes and the response it got. */
async function recordingFetch(input, init) {
    const headers = new Headers(init?.headers);
    const method = init?.method ?? 'GET';
    let what;
    if (typeof init?.body === 'string') {
        try {
            const body = JSON.parse(init.body);
            what = Array.isArray(body) ? 'batch' : body.method ?? `response to ${body.id}`;
        } catch {
            what = 'non-JSON body';
        }
    }
    const entry = { method, what, sentSession: headers.get('mcp-session-id') ?? undefined };
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

/** POSTs `body` to `target` on a new connection (no keep-alive pool); resolves to { status, body }. */
function postOnFreshConnection(target, headers, body) {
    return new Promise((resolve, reject) => {
        const request = http.request(
            target,
            {
                method: 'POST',
                headers: { ...headers, 'content-length': Buffer.byteLength(body) },
                agent: false,
                timeout: REQUEST_TIMEOUT_MS,
            },
            response => {
                let text = '';
                response.setEncoding('utf8');
                response.on('data', chunk => (text += chunk));
                response.on('end', () => resolve({ status: response.statusCode, body: text }));
                response.on('error', reject);
            },
        );
        request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
        request.on('error', reject);
        request.end(body);
    });
}

/** The server's raw reply to the most recent request we sent with `method`. */
function lastReplyTo(method) {
    let id;
    for (const [reqId, m] of outbound) {
        if (m === method) id = reqId;
    }
    if (id === undefined) return undefined;
    return inbound.find(msg => msg.id === id && ('result' in msg || 'error' in msg));
}

/** Calls a tool that must succeed at the JSON-RPC level; returns the CallToolResult. */
async function callOk(name, args) {
    let result;
    try {
        result = await client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT_MS });
    } catch (err) {
        fail(`tools/call ${name} ${describe(args)}: expected a result, got error: ${err?.message ?? err}`);
    }
    return result;
}

/** Calls a tool that must fail with a JSON-RPC error; returns { code, message, data } as sent on the wire. */
async function callErr(name, args) {
    let result;
    try {
        result = await client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT_MS });
    } catch (err) {
        if (!(err instanceof McpError)) {
            fail(`tools/call ${name} ${describe(args)}: expected a JSON-RPC error, got non-protocol error: ${err?.stack ?? err}`);
        }
        const reply = lastReplyTo('tools/call');
        if (!reply || !reply.error) {
            fail(`tools/call ${name} ${describe(args)}: SDK raised McpError(${err.code}: ${err.message}) but no JSON-RPC error reply was received (reply: ${describe(reply)})`);
        }
        // The SDK rethrows the wire error as McpError("MCP error <code>: <message>"); both views must agree.
        if (err.code !== reply.error.code || err.message !== `MCP error ${reply.error.code}: ${reply.error.message}`) {
            fail(`tools/call ${name}: McpError (${err.code}, ${err.message}) does not match wire error ${describe(reply.error)}`);
        }
        return reply.error;
    }
    fail(`tools/call ${name} ${describe(args)}: expected a JSON-RPC error, got result ${describe(result)}`);
}

function textOf(result, what) {
    if (!Array.isArray(result?.content)) fail(`${what}: result has no content array: ${describe(result)}`);
    const texts = result.content.filter(c => c.type === 'text');
    if (texts.length !== 1) fail(`${what}: expected exactly one text content item, got ${describe(result.content)}`);
    return texts[0].text;
}

async function main() {
    transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });

    // Tap the messages: Protocol.connect() installs its own onmessage/send; wrap both.
    let innerOnMessage;
    Object.defineProperty(transport, 'onmessage', {
        configurable: true,
        get() {
            return innerOnMessage === undefined
                ? undefined
                : (msg, extra) => {
                      inbound.push(msg);
                      innerOnMessage(msg, extra);
                  };
        },
        set(fn) {
            innerOnMessage = fn;
        },
    });
    const originalSend = transport.send.bind(transport);
    transport.send = (msg, opts) => {
        if (msg && 'method' in msg && 'id' in msg) outbound.set(msg.id, msg.method);
        return originalSend(msg, opts);
    };

    client = new Client({ name: 'rampart-ts-sdk-http-check', version: '0.0.0' });
    client.onerror = err => transportErrors.push(err?.message ?? String(err));

    // 1. initialize + notifications/initialized
    try {
        await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
    } catch (err) {
        fail(`initialize failed: ${err?.stack ?? err}`);
    }
    const initReply = lastReplyTo('initialize');
    const protocolVersion = initReply?.result?.protocolVersion;
    if (!SUPPORTED_VERSIONS.includes(protocolVersion)) {
        fail(`initialize: unexpected protocolVersion ${describe(protocolVersion)}`);
    }
    const serverInfo = client.getServerVersion();
    if (!serverInfo?.name) fail(`initialize: serverInfo missing: ${describe(initReply)}`);
    if (!client.getServerCapabilities()?.tools) {
        fail(`initialize: server does not advertise the tools capability: ${describe(client.getServerCapabilities())}`);
    }
    ok(`initialize (protocolVersion ${protocolVersion}, server ${serverInfo.name} ${serverInfo.version})`);

    // 2. session id: assigned on the initialize response, visible ASCII, sent back on every later request
    const sessionId = transport.sessionId;
    if (typeof sessionId !== 'string' || sessionId.length === 0) {
        fail(`session: the transport has no session id after initialize (got ${describe(sessionId)})`);
    }
    if (!/^[\x21-\x7e]+$/.test(sessionId)) {
        fail(`session: Mcp-Session-Id must be visible ASCII (0x21-0x7E), got ${describe(sessionId)}`);
    }
    const initExchange = exchanges.find(x => x.method === 'POST' && x.what === 'initialize');
    if (initExchange?.gotSession !== sessionId) {
        fail(`session: the initialize response did not carry Mcp-Session-Id ${describe(sessionId)}`);
    }
    ok(`session id assigned on initialize (${sessionId.length} chars)`);

    // 3. ping
    try {
        const pong = await client.ping({ timeout: REQUEST_TIMEOUT_MS });
        assert.deepEqual(pong, {});
    } catch (err) {
        fail(`ping: ${err?.message ?? err}`);
    }
    ok('ping');

    // 4. tools/list (follow pagination if any)
    const tools = [];
    let cursor;
    for (let page = 0; page < 100; page++) {
        let res;
        try {
            res = await client.listTools(cursor ? { cursor } : undefined, { timeout: REQUEST_TIMEOUT_MS });
        } catch (err) {
            fail(`tools/list: ${err?.message ?? err}`);
        }
        tools.push(...res.tools);
        cursor = res.nextCursor;
        if (!cursor) break;
    }
    const names = tools.map(t => t.name);
    const missing = EXPECTED_TOOLS.filter(n => !names.includes(n));
    if (missing.length > 0) fail(`tools/list: missing tools ${describe(missing)}; got ${describe(names)}`);
    for (const tool of tools) {
        if (tool.inputSchema?.type !== 'object') fail(`tools/list: tool ${tool.name} has no object inputSchema: ${describe(tool)}`);
    }
    const add = tools.find(t => t.name === 'add');
    if (!add.outputSchema) fail(`tools/list: add has no outputSchema: ${describe(add)}`);
    ok(`tools/list (${names.length} tools: ${names.join(', ')})`);

    // 5. echo
    {
        const res = await callOk('echo', { text: 'hello' });
        if (res.isError) fail(`echo: isError result: ${describe(res)}`);
        const text = textOf(res, 'echo');
        if (text !== 'hello') fail(`echo: expected text "hello", got ${describe(text)}`);
        ok('tools/call echo -> "hello"');
    }

    // 6. add (structured output; the SDK also validates it against outputSchema)
    {
        const res = await callOk('add', { a: 2, b: 3 });
        if (res.isError) fail(`add: isError result: ${describe(res)}`);
        const text = textOf(res, 'add');
        if (text !== '5') fail(`add: expected text "5", got ${describe(text)}`);
        try {
            assert.deepEqual(res.structuredContent, { sum: 5 });
        } catch {
            fail(`add: expected structuredContent {"sum":5}, got ${describe(res.structuredContent)}`);
        }
        ok('tools/call add -> "5", structuredContent {"sum":5}');
    }

    // 7. missing required parameter
    {
        const err = await callErr('user.create@v1', {});
        if (err.code !== -32000 || err.message !== 'Missing required parameter: email') {
            fail(`user.create@v1 {}: expected error -32000 "Missing required parameter: email", got ${describe(err)}`);
        }
        ok('tools/call user.create@v1 {} -> -32000 "Missing required parameter: email"');
    }

    // 8. schema violation
    {
        const err = await callErr('user.create@v1', { email: 'not-an-email', name: 'Ada' });
        if (err.code !== -32007 || typeof err.message !== 'string' || !err.message.startsWith('Invalid parameters: ')) {
            fail(`user.create@v1 bad email: expected error -32007 "Invalid parameters: ...", got ${describe(err)}`);
        }
        ok(`tools/call user.create@v1 bad email -> -32007 ${describe(err.message)}`);
    }

    // 9. tool that always fails
    {
        const err = await callErr('fail', {});
        if (err.code !== -32003) fail(`fail: expected error -32003, got ${describe(err)}`);
        ok(`tools/call fail -> -32003 ${describe(err.message)}`);
    }

    // 10. valid create
    {
        const res = await callOk('user.create@v1', { email: 'ada@example.com', name: 'Ada' });
        if (res.isError) fail(`user.create@v1 valid: isError result: ${describe(res)}`);
        if (!Array.isArray(res.content)) fail(`user.create@v1 valid: no content array: ${describe(res)}`);
        ok(`tools/call user.create@v1 valid -> ${describe(res.structuredContent ?? res.content)}`);
    }

    // Every POST after initialize must have carried the session id, and none may have been refused.
    const posts = exchanges.filter(x => x.method === 'POST');
    const afterInit = posts.slice(posts.indexOf(initExchange) + 1);
    const unsent = afterInit.filter(x => x.sentSession !== sessionId);
    if (unsent.length > 0) fail(`session: requests without the session id: ${unsent.map(describeExchange).join('; ')}`);
    const refused = exchanges.filter(x => x.error || (x.method === 'POST' && !(x.status >= 200 && x.status < 300)));
    if (refused.length > 0) fail(`HTTP: failed exchanges: ${refused.map(describeExchange).join('; ')}`);
    ok(`${afterInit.length} requests after initialize all carried Mcp-Session-Id and got 2xx`);

    if (transportErrors.length > 0) fail('the SDK reported transport/protocol errors');
    ok('no transport or protocol errors');

    // 11. end the session with DELETE; the server must answer 2xx (the SDK would also accept 405)
    try {
        await transport.terminateSession();
    } catch (err) {
        fail(`terminateSession: ${err?.message ?? err}`);
    }
    const del = exchanges.filter(x => x.method === 'DELETE').at(-1);
    if (!del) fail('terminateSession: the SDK sent no DELETE request');
    if (del.sentSession !== sessionId) fail(`terminateSession: DELETE did not carry the session id: ${describeExchange(del)}`);
    if (!(del.status >= 200 && del.status < 300)) {
        fail(`terminateSession: expected a 2xx answer to DELETE, got ${del.status}`);
    }
    if (transport.sessionId !== undefined) fail(`terminateSession: transport still holds session id ${transport.sessionId}`);
    ok(`DELETE session -> ${del.status}`);

    // 12. a request with the ended session id must get 404 Not Found (Streamable HTTP, session
    // management). Sent on a connection of its own: the server may close the GET stream's
    // connection when the session ends, and a pooled keep-alive socket may be that one.
    {
        const body = JSON.stringify({ jsonrpc: '2.0', id: 'after-delete', method: 'ping' });
        const response = await postOnFreshConnection(url, {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': sessionId,
            'mcp-protocol-version': protocolVersion,
        }, body).catch(err => fail(`POST after DELETE: ${err?.message ?? err}`));
        if (response.status !== 404) {
            fail(`POST with the ended session id: expected 404, got ${response.status} ${describe(response.body)}`);
        }
        ok('POST with the ended session id -> 404');
    }

    try {
        await client.close();
    } catch (err) {
        fail(`close: ${err?.message ?? err}`);
    }
    ok('close');
}

main().then(
    () => {
        clearTimeout(deadline);
        process.exit(0);
    },
    err => fail(`unexpected exception: ${err?.stack ?? err}`),
);
