// Drives a running rampart demo server over Streamable HTTP with the TypeScript SDK v2
// client (`@modelcontextprotocol/client`) on the MCP 2026-07-28 revision.
//
// Usage: node clients/ts/modern_http.mjs <url>    (e.g. http://127.0.0.1:23450/mcp)
//
// The client negotiates by itself (`versionNegotiation: { mode: 'auto' }`: a `server/discover`
// probe first) and must settle on 2026-07-28. Besides the checks in modern_checks.mjs, this
// one looks at the wire: the probe, no session (no Mcp-Session-Id either way), the
// MCP-Protocol-Version and Mcp-Method headers and the per-request `_meta` on every POST,
// and the test_elicitation round trip (an `input_required` answer, then a retry with
// `inputResponses` under the same keys and the byte-exact `requestState`).
//
// Prints one "ok ..." line per passed check and a one-line JSON summary on stdout, exits 0.
// A failed check prints "FAIL: ..." and the HTTP exchanges on stderr, the JSON summary
// ({"ok":false,...}) on stdout, and exits 1. The caller owns the server.

import process from 'node:process';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
    MODERN_VERSION,
    checkBasics,
    checkElicitation,
    checkNegotiated,
    checkNoTransportErrors,
    close,
    connect,
    describe,
    expectEqual,
    fail,
    newClient,
    ok,
    onFailure,
    run,
    summary,
} from './modern_checks.mjs';

const url = process.argv[2];
if (!url) {
    process.stderr.write('usage: node clients/ts/modern_http.mjs <url of the /mcp endpoint>\n');
    process.exit(2);
}

// Every HTTP exchange the SDK made: { method, headers, body, status, contentType, gotSession, reply, error }.
const exchanges = [];

onFailure(() => {
    if (exchanges.length > 0) {
        process.stderr.write(`--- HTTP exchanges ---\n${exchanges.map(describeExchange).join('\n')}\n--- end ---\n`);
    }
});

function describeExchange(x) {
    const sent = x.body === undefined ? '' : ` ${clip(x.body)}`;
    const got = x.error ? `error ${x.error}` : `${x.status} ${x.contentType ?? '-'}${x.replyText ? ` ${clip(x.replyText)}` : ''}`;
    const headers = ['mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-session-id']
        .filter(h => x.headers[h] !== undefined)
        .map(h => `${h}: ${x.headers[h]}`)
        .join(', ');
    return `  ${x.method} [${headers}]${sent}\n    -> ${got}${x.gotSession ? ` (Mcp-Session-Id ${x.gotSession})` : ''}`;
}

function clip(text, max = 1200) {
    return text.length > max ? `${text.slice(0, max)}...(${text.length} chars)` : text;
}

/** The JSON-RPC messages in a response body: JSON, or the data of SSE events. */
function messagesIn(contentType, text) {
    if (contentType?.startsWith('text/event-stream')) {
        const messages = [];
        for (const event of text.split(/\r?\n\r?\n/)) {
            const data = event
                .split(/\r?\n/)
                .filter(line => line.startsWith('data:'))
                .map(line => line.slice(5).replace(/^ /, ''))
                .join('\n');
            if (data) {
                try {
                    messages.push(JSON.parse(data));
                } catch {
                    messages.push({ unparsable: data });
                }
            }
        }
        return messages;
    }
    try {
        const body = JSON.parse(text);
        return Array.isArray(body) ? body : [body];
    } catch {
        return [];
    }
}

/** A fetch that records every request the transport makes and, for POSTs, the reply. */
async function recordingFetch(input, init) {
    const headers = Object.fromEntries(new Headers(init?.headers));
    const entry = {
        method: init?.method ?? 'GET',
        headers,
        body: typeof init?.body === 'string' ? init.body : undefined,
    };
    try {
        entry.request = entry.body === undefined ? undefined : JSON.parse(entry.body);
    } catch {
        entry.request = undefined;
    }
    exchanges.push(entry);
    try {
        const response = await fetch(input, init);
        entry.status = response.status;
        entry.contentType = response.headers.get('content-type') ?? undefined;
        entry.gotSession = response.headers.get('mcp-session-id') ?? undefined;
        if (entry.method === 'POST' && response.body) {
            // Read a copy of the reply; the SDK reads the original. A POST's reply ends with its response.
            entry.replyDone = response
                .clone()
                .text()
                .then(
                    text => {
                        entry.replyText = text;
                        entry.replies = messagesIn(entry.contentType, text);
                    },
                    err => {
                        entry.replyText = `(reading the copy failed: ${err?.message ?? err})`;
                        entry.replies = [];
                    },
                );
        }
        return response;
    } catch (err) {
        entry.error = err?.message ?? String(err);
        throw err;
    }
}

/** The reply (result or error) to the request `x` sent. */
function replyTo(x) {
    return x.replies?.find(m => m.id === x.request?.id && ('result' in m || 'error' in m));
}

function checkProbe() {
    const probe = exchanges[0];
    if (probe?.request?.method !== 'server/discover') {
        fail(`probe: expected the first request to be server/discover, got ${probe ? describeExchange(probe) : 'none'}`);
    }
    const meta = probe.request.params?._meta ?? {};
    expectEqual(probe.headers['mcp-protocol-version'], MODERN_VERSION, 'probe: MCP-Protocol-Version header');
    expectEqual(meta['io.modelcontextprotocol/protocolVersion'], MODERN_VERSION, 'probe: _meta protocolVersion');
    if (probe.status !== 200) fail(`probe: expected 200, got ${describeExchange(probe)}`);
    const reply = replyTo(probe);
    if (!reply?.result) fail(`probe: expected a result, got ${describeExchange(probe)}`);
    ok(`server/discover probe -> ${probe.status} ${probe.contentType}: ${describe(reply.result)}`);
}

function checkWire() {
    const sessions = exchanges.filter(x => x.headers['mcp-session-id'] !== undefined || x.gotSession !== undefined);
    if (sessions.length > 0) fail(`stateless: Mcp-Session-Id was sent or assigned: ${sessions.map(describeExchange).join('\n')}`);
    if (exchanges.some(x => x.request?.method === 'initialize')) fail('stateless: the SDK sent initialize');

    const posts = exchanges.filter(x => x.method === 'POST');
    for (const x of posts) {
        const what = describeExchange(x);
        if (x.error || !(x.status >= 200 && x.status < 300)) fail(`HTTP: a POST was refused: ${what}`);
        if (x.headers['mcp-protocol-version'] !== MODERN_VERSION) fail(`HTTP: POST without MCP-Protocol-Version ${MODERN_VERSION}: ${what}`);
        const request = x.request;
        if (request?.method === undefined) continue; // a response or notification has no per-request _meta to check here
        if (x.headers['mcp-method'] !== request.method) fail(`HTTP: Mcp-Method header does not name ${request.method}: ${what}`);
        const meta = request.params?._meta ?? {};
        if (meta['io.modelcontextprotocol/protocolVersion'] !== MODERN_VERSION || typeof meta['io.modelcontextprotocol/clientCapabilities'] !== 'object') {
            fail(`HTTP: a request without the per-request _meta (protocolVersion, clientCapabilities): ${what}`);
        }
        if ('id' in request) {
            const reply = replyTo(x);
            if (!reply) fail(`HTTP: no JSON-RPC reply to ${request.method} in its response: ${what}`);
            if (reply.error) fail(`HTTP: ${request.method} answered with an error: ${what}`);
        }
    }
    const others = exchanges.filter(x => x.method !== 'POST');
    ok(
        `${posts.length} POSTs without a session, each with MCP-Protocol-Version ${MODERN_VERSION}, Mcp-Method and _meta, all 2xx` +
            (others.length > 0 ? `; other requests: ${others.map(x => `${x.method} -> ${x.status ?? x.error}`).join(', ')}` : ''),
    );
    summary.posts = posts.length;
}

function checkElicitationRoundTrip(message) {
    const calls = exchanges.filter(
        x => x.request?.method === 'tools/call' && x.request.params?.name === 'test_elicitation' && x.request.params?.arguments?.message === message,
    );
    if (calls.length !== 2) {
        fail(`test_elicitation: expected 2 tools/call POSTs (the call and its retry), got ${calls.length}:\n${calls.map(describeExchange).join('\n')}`);
    }
    const [first, retry] = calls;
    const asked = replyTo(first)?.result;
    if (asked?.resultType !== 'input_required') fail(`test_elicitation: first answer is not resultType "input_required": ${describeExchange(first)}`);
    const keys = Object.keys(asked.inputRequests ?? {});
    if (keys.length !== 1 || asked.inputRequests[keys[0]]?.method !== 'elicitation/create') {
        fail(`test_elicitation: expected one elicitation/create in inputRequests, got ${describe(asked.inputRequests)}`);
    }
    if (first.request.params.inputResponses !== undefined || first.request.params.requestState !== undefined) {
        fail(`test_elicitation: the first call already carried inputResponses/requestState: ${describeExchange(first)}`);
    }
    const params = retry.request.params;
    expectEqual(Object.keys(params.inputResponses ?? {}), keys, 'test_elicitation retry: inputResponses keys');
    expectEqual(params.inputResponses[keys[0]]?.action, 'accept', 'test_elicitation retry: inputResponses action');
    expectEqual(params.requestState, asked.requestState, 'test_elicitation retry: requestState echoed byte for byte');
    if (retry.request.id === first.request.id) fail('test_elicitation: the retry reused the request id');
    const done = replyTo(retry)?.result;
    if (done?.resultType !== undefined && done.resultType !== 'complete') {
        fail(`test_elicitation: the retry's answer has resultType ${describe(done.resultType)}: ${describeExchange(retry)}`);
    }
    ok(
        `test_elicitation on the wire: input_required {inputRequests: ${describe(keys)}${asked.requestState === undefined ? '' : `, requestState: ${asked.requestState.length} chars`}} ` +
            `-> retry with inputResponses${asked.requestState === undefined ? '' : ' + requestState'} -> resultType ${describe(done?.resultType ?? '(absent)')}`,
    );
}

async function main() {
    const client = newClient('rampart-ts-sdk-v2-http');
    summary.transport = 'http';
    const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });
    await connect(client, transport);
    await Promise.all(exchanges.map(x => x.replyDone)); // so that a failure report shows the probe's reply
    checkNegotiated(client);

    await checkBasics(client);
    const message = await checkElicitation(client);
    await Promise.all(exchanges.map(x => x.replyDone));
    checkProbe();
    checkWire();
    checkElicitationRoundTrip(message);
    checkNoTransportErrors();
    await close(client);
}

run(main);
