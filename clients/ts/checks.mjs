// The checks that the TypeScript SDK clients (stdio_client.mjs, http_client.mjs) share.
//
// Each client script owns its transport: it builds it, adds the checks only its transport
// has, and tells `onFailure` what to print after a FAIL line (HTTP exchanges, server
// stderr). This module holds everything else: reporting, the tap on the wire, tool calls
// that must succeed or fail, the initialize check and the tool checks that every transport
// must pass. It serves one client per process.
//
// Each check prints one "ok ..." line on stdout when it passes; the first failed check
// prints "FAIL: ..." on stderr and exits 1. The checks of resources, prompts and completion
// live in features.mjs, those of the server's requests to the client in client_side.mjs.

import assert from 'node:assert/strict';
import process from 'node:process';
import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

const OVERALL_DEADLINE_MS = 45_000;
export const REQUEST_TIMEOUT_MS = 10_000;
const SUPPORTED_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

/** Errors the SDK reported through `client.onerror`. */
export const transportErrors = [];
// Every message the server sent, in arrival order, and every request we sent (id -> method).
const inbound = [];
const outbound = new Map();
let reportDetails = () => {};

/** Sets what `fail` prints after the FAIL line and the transport errors. */
export function onFailure(report) {
    reportDetails = report;
}

export function fail(message) {
    process.stderr.write(`FAIL: ${message}\n`);
    if (transportErrors.length > 0) {
        process.stderr.write(`transport errors:\n${transportErrors.map(e => `  ${e}`).join('\n')}\n`);
    }
    reportDetails();
    process.exit(1);
}

export function ok(message) {
    process.stdout.write(`ok ${message}\n`);
}

export function describe(value) {
    return JSON.stringify(value);
}

/** Fails unless `actual` deep-equals `expected` (`what` names the value). */
export function expectEqual(actual, expected, what) {
    if (!isDeepStrictEqual(actual, expected)) fail(`${what}: expected ${describe(expected)}, got ${describe(actual)}`);
}

export function parseJson(text, what) {
    try {
        return JSON.parse(text);
    } catch {
        fail(`${what}: text is not JSON: ${describe(text)}`);
    }
}

/** Runs `main` under the overall deadline, then exits 0; any exception fails the run. */
export function run(main) {
    const deadline = setTimeout(() => fail(`overall deadline of ${OVERALL_DEADLINE_MS} ms exceeded`), OVERALL_DEADLINE_MS);
    deadline.unref();
    main().then(
        () => {
            clearTimeout(deadline);
            process.exit(0);
        },
        err => fail(`unexpected exception: ${err?.stack ?? err}`),
    );
}

/**
 * Connects a client named `clientName` over `transport` (initialize + notifications/initialized)
 * and checks the negotiated version, serverInfo and the tools capability. `prepare(client)`
 * runs before the handshake (to declare capabilities and install request handlers). Returns
 * the client, whose errors go to `transportErrors`, and the version.
 */
export async function connect(transport, clientName, prepare = () => {}) {
    tapMessages(transport);
    const client = new Client({ name: clientName, version: '0.0.0' });
    prepare(client);
    client.onerror = err => transportErrors.push(err?.message ?? String(err));
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
    return { client, protocolVersion };
}

/** Checks ping, tools/list (which must offer `expectedTools`) and the demo's tools. */
export async function checkTools(client, expectedTools) {
    // ping
    try {
        const pong = await client.ping({ timeout: REQUEST_TIMEOUT_MS });
        assert.deepEqual(pong, {});
    } catch (err) {
        fail(`ping: ${err?.message ?? err}`);
    }
    ok('ping');

    // tools/list (follow pagination if any)
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
    const missing = expectedTools.filter(n => !names.includes(n));
    if (missing.length > 0) fail(`tools/list: missing tools ${describe(missing)}; got ${describe(names)}`);
    for (const tool of tools) {
        if (tool.inputSchema?.type !== 'object') fail(`tools/list: tool ${tool.name} has no object inputSchema: ${describe(tool)}`);
    }
    const add = tools.find(t => t.name === 'add');
    if (!add.outputSchema) fail(`tools/list: add has no outputSchema: ${describe(add)}`);
    ok(`tools/list (${names.length} tools: ${names.join(', ')})`);

    // echo
    {
        const res = await callOk(client, 'echo', { text: 'hello' });
        if (res.isError) fail(`echo: isError result: ${describe(res)}`);
        const text = textOf(res, 'echo');
        if (text !== 'hello') fail(`echo: expected text "hello", got ${describe(text)}`);
        ok('tools/call echo -> "hello"');
    }

    // add (structured output; the SDK also validates it against outputSchema)
    {
        const res = await callOk(client, 'add', { a: 2, b: 3 });
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

    // missing required parameter
    {
        const err = await callErr(client, 'user.create@v1', {});
        if (err.code !== -32000 || err.message !== 'Missing required parameter: email') {
            fail(`user.create@v1 {}: expected error -32000 "Missing required parameter: email", got ${describe(err)}`);
        }
        ok('tools/call user.create@v1 {} -> -32000 "Missing required parameter: email"');
    }

    // schema violation
    {
        const err = await callErr(client, 'user.create@v1', { email: 'not-an-email', name: 'Ada' });
        if (err.code !== -32007 || typeof err.message !== 'string' || !err.message.startsWith('Invalid parameters: ')) {
            fail(`user.create@v1 bad email: expected error -32007 "Invalid parameters: ...", got ${describe(err)}`);
        }
        ok(`tools/call user.create@v1 bad email -> -32007 ${describe(err.message)}`);
    }

    // tool that always fails
    {
        const err = await callErr(client, 'fail', {});
        if (err.code !== -32003) fail(`fail: expected error -32003, got ${describe(err)}`);
        ok(`tools/call fail -> -32003 ${describe(err.message)}`);
    }

    // valid create
    {
        const res = await callOk(client, 'user.create@v1', { email: 'ada@example.com', name: 'Ada' });
        if (res.isError) fail(`user.create@v1 valid: isError result: ${describe(res)}`);
        if (!Array.isArray(res.content)) fail(`user.create@v1 valid: no content array: ${describe(res)}`);
        ok(`tools/call user.create@v1 valid -> ${describe(res.structuredContent ?? res.content)}`);
    }
}

export function checkNoTransportErrors() {
    if (transportErrors.length > 0) fail('the SDK reported transport/protocol errors');
    ok('no transport or protocol errors');
}

/** Closes `client`; a failure to close fails the run. */
export async function close(client) {
    try {
        await client.close();
    } catch (err) {
        fail(`close: ${err?.message ?? err}`);
    }
}

/** Calls a tool that must succeed at the JSON-RPC level; returns the CallToolResult. */
export async function callOk(client, name, args, options = {}) {
    let result;
    try {
        result = await client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT_MS, ...options });
    } catch (err) {
        fail(`tools/call ${name} ${describe(args)}: expected a result, got error: ${err?.message ?? err}`);
    }
    return result;
}

/** Calls a tool that must fail with a JSON-RPC error; returns { code, message, data } as sent on the wire. */
function callErr(client, name, args) {
    return requestErr('tools/call', `tools/call ${name} ${describe(args)}`, () =>
        client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
}

/**
 * Awaits `send()`, a request with `method` that must fail with a JSON-RPC error (`what` names
 * it in failures); returns { code, message, data } as sent on the wire.
 */
export async function requestErr(method, what, send) {
    let result;
    try {
        result = await send();
    } catch (err) {
        if (!(err instanceof McpError)) {
            fail(`${what}: expected a JSON-RPC error, got non-protocol error: ${err?.stack ?? err}`);
        }
        const reply = lastReplyTo(method);
        if (!reply || !reply.error) {
            fail(`${what}: SDK raised McpError(${err.code}: ${err.message}) but no JSON-RPC error reply was received (reply: ${describe(reply)})`);
        }
        // The SDK rethrows the wire error as McpError("MCP error <code>: <message>"); both views must agree.
        if (err.code !== reply.error.code || err.message !== `MCP error ${reply.error.code}: ${reply.error.message}`) {
            fail(`${what}: McpError (${err.code}, ${err.message}) does not match wire error ${describe(reply.error)}`);
        }
        return reply.error;
    }
    fail(`${what}: expected a JSON-RPC error, got result ${describe(result)}`);
}

/** Awaits `send()`, a request (`what` names it) that must succeed; returns its result. */
export async function requestOk(what, send) {
    try {
        return await send();
    } catch (err) {
        fail(`${what}: expected a result, got error: ${err?.message ?? err}`);
    }
}

export function textOf(result, what) {
    if (!Array.isArray(result?.content)) fail(`${what}: result has no content array: ${describe(result)}`);
    const texts = result.content.filter(c => c.type === 'text');
    if (texts.length !== 1) fail(`${what}: expected exactly one text content item, got ${describe(result.content)}`);
    return texts[0].text;
}

/** Records what passes through `transport`, for `lastReplyTo`. */
function tapMessages(transport) {
    // Protocol.connect() installs its own onmessage/send; wrap both.
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
