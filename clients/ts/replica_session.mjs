// Holds one legacy session of the official TypeScript MCP SDK (1.x, Streamable HTTP) through
// a load balancer in front of replicas that share it, so that each request may reach another
// replica: tools, a subscription whose update comes from wherever the counter changed,
// sampling requests answered to whichever replica the answer reaches, and the session's end.
//
// Usage: node clients/ts/replica_session.mjs <url>    (e.g. http://127.0.0.1:23450/mcp)
//
// It checks only what the session shares, never the demo's own data (its users, the
// counter's value): each replica keeps that in its process.
//
// Prints one "ok ..." line per passed check on stdout and exits 0. Any failed check prints
// "FAIL: ..." (plus the HTTP exchanges seen so far) on stderr and exits 1; every wait is
// bounded (checks.mjs). The caller owns the servers and the load balancer.

import http from 'node:http';
import process from 'node:process';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
    REQUEST_TIMEOUT_MS,
    callOk,
    checkNoTransportErrors,
    close,
    connect,
    describe,
    fail,
    ok,
    onFailure,
    requestOk,
    run,
    textOf,
} from './checks.mjs';

const EXPECTED_TOOLS = ['echo', 'counter.increment', 'test_sampling'];
const COUNTER_URI = 'demo://counter';
// How long the counter's update may take to arrive on the session's GET stream.
const UPDATE_WAIT_MS = 15_000;
const SAMPLING_CALLS = 3;

const url = process.argv[2];
if (!url) {
    process.stderr.write('usage: node clients/ts/replica_session.mjs <url of the /mcp endpoint>\n');
    process.exit(2);
}

// Every HTTP exchange the SDK made: { method, what, sentSession, status, contentType }.
const exchanges = [];
// The params of every sampling/createMessage, and of every notifications/resources/updated.
const samplingRequests = [];
const resourceUpdates = [];
let onResourceUpdate = () => {};

onFailure(() => {
    if (exchanges.length > 0) {
        process.stderr.write(`--- HTTP exchanges ---\n${exchanges.map(describeExchange).join('\n')}\n--- end ---\n`);
    }
});

function describeExchange(x) {
    const outcome = x.error ? `error ${x.error}` : `${x.status} ${x.contentType ?? '-'}`;
    return `  ${x.method} ${x.what ?? ''} -> ${outcome} (sent session ${x.sentSession ?? '-'})`;
}

/** A fetch that records every request the transport makes and the response it got. */
async function recordingFetch(input, init) {
    let what;
    try {
        const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
        what = body?.method ?? (body ? `response to ${body.id}` : undefined);
    } catch {
        what = 'non-JSON body';
    }
    const sentSession = new Headers(init?.headers).get('mcp-session-id') ?? undefined;
    const entry = { method: init?.method ?? 'GET', what, sentSession };
    exchanges.push(entry);
    try {
        const response = await fetch(input, init);
        entry.status = response.status;
        entry.contentType = response.headers.get('content-type') ?? undefined;
        return response;
    } catch (err) {
        entry.error = err?.message ?? String(err);
        throw err;
    }
}

/** The reply to the n-th sampling request (from 1): what the tool's result must carry. */
function samplingReply(n) {
    return `Reply ${n} of the TypeScript client.`;
}

/** Declares sampling and answers each request with its `samplingReply` (before connect). */
function prepare(client) {
    client.registerCapabilities({ sampling: {} });
    client.setRequestHandler(CreateMessageRequestSchema, request => {
        samplingRequests.push(request.params);
        return {
            role: 'assistant',
            content: { type: 'text', text: samplingReply(samplingRequests.length) },
            model: 'rampart-test-model',
            stopReason: 'endTurn',
        };
    });
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, notification => {
        resourceUpdates.push(notification.params);
        onResourceUpdate();
    });
}

/** Resolves to whether an update of `uri` arrived, waiting `ms` at most. */
function updateOf(uri, ms) {
    const arrived = () => resourceUpdates.some(params => params.uri === uri);
    return new Promise(resolve => {
        const timer = setTimeout(() => resolve(arrived()), ms);
        onResourceUpdate = () => {
            if (arrived()) {
                clearTimeout(timer);
                resolve(true);
            }
        };
        onResourceUpdate();
    });
}

/** POSTs `body` to `target` on a new connection (no keep-alive pool); resolves to { status, body }. */
function postOnFreshConnection(target, headers, body) {
    return new Promise((resolve, reject) => {
        const options = {
            method: 'POST',
            headers: { ...headers, 'content-length': Buffer.byteLength(body) },
            agent: false,
            timeout: REQUEST_TIMEOUT_MS,
        };
        const request = http.request(target, options, response => {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', chunk => (text += chunk));
            response.on('end', () => resolve({ status: response.statusCode, body: text }));
            response.on('error', reject);
        });
        request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
        request.on('error', reject);
        request.end(body);
    });
}

async function checkTools(client) {
    const { tools } = await requestOk('tools/list', () => client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS }));
    const names = tools.map(t => t.name);
    const missing = EXPECTED_TOOLS.filter(name => !names.includes(name));
    if (missing.length > 0) fail(`tools/list: missing ${describe(missing)}; got ${describe(names)}`);
    ok(`tools/list (${names.length} tools, among them ${EXPECTED_TOOLS.join(', ')})`);

    const sent = 'across replicas';
    const echoed = await callOk(client, 'echo', { text: sent });
    const text = textOf(echoed, 'echo');
    if (echoed.isError || text !== sent) fail(`tools/call echo: expected ${describe(sent)}, got ${describe(echoed)}`);
    ok(`tools/call echo -> ${describe(text)}`);
}

async function checkSubscription(client) {
    await requestOk(`resources/subscribe ${COUNTER_URI}`, () =>
        client.subscribeResource({ uri: COUNTER_URI }, { timeout: REQUEST_TIMEOUT_MS }),
    );
    ok(`resources/subscribe ${COUNTER_URI}`);
    const incremented = await callOk(client, 'counter.increment', {});
    if (incremented.isError) fail(`tools/call counter.increment: isError result: ${describe(incremented)}`);
    if (!(await updateOf(COUNTER_URI, UPDATE_WAIT_MS))) {
        fail(`notifications/resources/updated for ${COUNTER_URI}: none within ${UPDATE_WAIT_MS} ms of counter.increment`);
    }
    ok(`counter.increment -> notifications/resources/updated ${COUNTER_URI}`);
}

async function checkSampling(client) {
    for (let n = 1; n <= SAMPLING_CALLS; n++) {
        const sampled = await callOk(client, 'test_sampling', { prompt: `Question ${n}` });
        if (samplingRequests.length !== n) {
            fail(`test_sampling call ${n}: the client answered ${samplingRequests.length} sampling requests so far, not ${n}`);
        }
        const reply = samplingReply(n);
        const text = textOf(sampled, 'test_sampling');
        if (sampled.isError || !text.includes(reply)) {
            fail(`test_sampling call ${n}: expected a result with ${describe(reply)}, got ${describe(sampled)}`);
        }
        ok(`test_sampling call ${n} -> sampling/createMessage answered -> ${describe(text)}`);
    }
}

async function main() {
    const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });
    const { client, protocolVersion } = await connect(transport, 'rampart-ts-sdk-replica-session', prepare);
    const sessionId = transport.sessionId;
    if (typeof sessionId !== 'string' || sessionId.length === 0) {
        fail(`session: the transport has no session id after initialize (got ${describe(sessionId)})`);
    }
    ok(`session id assigned on initialize (${sessionId.length} chars)`);

    await checkTools(client);
    await checkSubscription(client);
    await checkSampling(client);
    const { prompts } = await requestOk('prompts/list', () => client.listPrompts(undefined, { timeout: REQUEST_TIMEOUT_MS }));
    ok(`prompts/list (${prompts.length} prompts)`);

    const refused = exchanges.filter(x => x.error || (x.method === 'POST' && !(x.status >= 200 && x.status < 300)));
    if (refused.length > 0) fail(`HTTP: failed exchanges: ${refused.map(describeExchange).join('; ')}`);
    checkNoTransportErrors();

    await requestOk('DELETE session', () => transport.terminateSession());
    const del = exchanges.filter(x => x.method === 'DELETE').at(-1);
    if (!del || del.sentSession !== sessionId || !(del.status >= 200 && del.status < 300)) {
        fail(`DELETE session: expected a 2xx answer to a DELETE with the session id, got ${del ? describeExchange(del) : 'no DELETE'}`);
    }
    ok(`DELETE session -> ${del.status}`);

    // On a connection of its own: ending the session may close the GET stream's connection,
    // and a pooled keep-alive socket may be that one.
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'after-delete', method: 'ping' });
    const headers = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': protocolVersion,
    };
    const after = await postOnFreshConnection(url, headers, body).catch(err => fail(`POST after DELETE: ${err?.message ?? err}`));
    if (after.status !== 404) fail(`POST with the ended session id: expected 404, got ${after.status} ${describe(after.body)}`);
    ok('POST with the ended session id -> 404');

    await close(client);
    ok('close');
}

run(main);
