// Drives a running rampart demo server with the official TypeScript MCP SDK over
// Streamable HTTP.
//
// Usage: node clients/ts/http_client.mjs <url>    (e.g. http://127.0.0.1:23450/mcp)
//
// Prints one "ok ..." line per passed check on stdout and exits 0. Any failed
// check prints "FAIL: ..." (plus the HTTP exchanges seen so far) on stderr and
// exits 1. The server is not started here: the caller owns it and its logs. The checks
// shared with the stdio client live in checks.mjs, features.mjs and client_side.mjs.

import http from 'node:http';
import process from 'node:process';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
    REQUEST_TIMEOUT_MS,
    checkNoTransportErrors,
    checkTools,
    close,
    connect,
    describe,
    fail,
    ok,
    onFailure,
    run,
} from './checks.mjs';
import { prepareClient } from './client_side.mjs';
import { checkFeatures } from './features.mjs';

const EXPECTED_TOOLS = ['user.create@v1', 'user.get@v1', 'echo', 'add', 'sleep', 'fail', 'panic'];

const url = process.argv[2];
if (!url) {
    process.stderr.write('usage: node clients/ts/http_client.mjs <url of the /mcp endpoint>\n');
    process.exit(2);
}

// Every HTTP exchange the SDK made: { method, status, contentType, sentSession, gotSession, error }.
const exchanges = [];

onFailure(() => {
    if (exchanges.length > 0) {
        process.stderr.write(`--- HTTP exchanges ---\n${exchanges.map(describeExchange).join('\n')}\n--- end ---\n`);
    }
});

function describeExchange(x) {
    const outcome = x.error ? `error ${x.error}` : `${x.status} ${x.contentType ?? '-'}`;
    return `  ${x.method} ${x.what ?? ''} -> ${outcome} (sent session ${x.sentSession ?? '-'}, got session ${x.gotSession ?? '-'})`;
}

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

async function main() {
    const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });
    const { client, protocolVersion } = await connect(transport, 'rampart-ts-sdk-http-check', prepareClient);

    // session id: assigned on the initialize response, visible ASCII, sent back on every later request
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

    await checkTools(client, EXPECTED_TOOLS);
    await checkFeatures(client);

    // Every POST after initialize must have carried the session id, and none may have been refused.
    const posts = exchanges.filter(x => x.method === 'POST');
    const afterInit = posts.slice(posts.indexOf(initExchange) + 1);
    const unsent = afterInit.filter(x => x.sentSession !== sessionId);
    if (unsent.length > 0) fail(`session: requests without the session id: ${unsent.map(describeExchange).join('; ')}`);
    const refused = exchanges.filter(x => x.error || (x.method === 'POST' && !(x.status >= 200 && x.status < 300)));
    if (refused.length > 0) fail(`HTTP: failed exchanges: ${refused.map(describeExchange).join('; ')}`);
    ok(`${afterInit.length} requests after initialize all carried Mcp-Session-Id and got 2xx`);

    // The session's GET stream (where notifications/resources/updated rides) was opened.
    const streams = exchanges.filter(x => x.method === 'GET');
    const stream = streams.find(x => x.status === 200 && x.contentType?.startsWith('text/event-stream'));
    if (!stream || stream.sentSession !== sessionId) {
        const seen = streams.map(describeExchange).join('; ') || 'no GET';
        fail(`GET stream: expected a GET with the session id answered 200 text/event-stream, got ${seen}`);
    }
    ok('the session\'s GET stream was opened (200 text/event-stream)');

    checkNoTransportErrors();

    // end the session with DELETE; the server must answer 2xx (the SDK would also accept 405)
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

    // A request with the ended session id must get 404 Not Found (Streamable HTTP, session
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

    await close(client);
    ok('close');
}

run(main);
