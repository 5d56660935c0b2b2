// The checks that the TypeScript SDK v2 clients (modern_http.mjs, modern_stdio.mjs) share:
// the MCP 2026-07-28 revision (stateless, `server/discover`, per-request `_meta`, and
// multi round-trip requests answered with `resultType: "input_required"`), driven with
// `@modelcontextprotocol/client` in `versionNegotiation: { mode: 'auto' }`.
//
// Each client script owns its transport (and what it can see of the wire); this module holds
// reporting, the client with its elicitation handler, and the checks every transport must
// pass. Each check prints one "ok ..." line on stdout when it passes; the first failed
// check prints "FAIL: ..." on stderr (plus what the script registered with `onFailure`),
// then a one-line JSON summary on stdout, and exits 1. A run that passes ends with the
// JSON summary line ({"ok":true,...}) and exits 0. It serves one client per process.

import process from 'node:process';
import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/client';

export const MODERN_VERSION = '2026-07-28';
const OVERALL_DEADLINE_MS = 45_000;
export const REQUEST_TIMEOUT_MS = 10_000;
const EXPECTED_TOOLS = ['user.create@v1', 'user.get@v1', 'echo', 'test_elicitation'];
const GUIDE_URI = 'demo://guide';
const GUIDE_START = 'rampart-demo serves a small user directory';
const WELCOME_PROMPT = 'user.welcome@v1';
const ELICITATION_MESSAGE = 'Who are you, modern client?';

/** What the one-line JSON summary reports; scripts add their own fields. */
export const summary = { client: undefined, ok: false, checks: 0 };
/** Errors the SDK reported through `client.onerror`. */
export const transportErrors = [];
/** The `params` of every elicitation/create the handler answered, and the content it sent. */
export const elicitations = [];

let reportDetails = () => {};
let finished = false;

/** Sets what `fail` prints after the FAIL line and the transport errors. */
export function onFailure(report) {
    reportDetails = report;
}

export function fail(message) {
    if (finished) process.exit(1);
    finished = true;
    process.stderr.write(`FAIL: ${message}\n`);
    if (transportErrors.length > 0) {
        process.stderr.write(`transport errors:\n${transportErrors.map(e => `  ${e}`).join('\n')}\n`);
    }
    try {
        reportDetails();
    } catch (err) {
        process.stderr.write(`(failure report failed: ${err?.message ?? err})\n`);
    }
    process.stdout.write(`${JSON.stringify({ ...summary, ok: false, error: message })}\n`);
    process.exit(1);
}

export function ok(message) {
    summary.checks += 1;
    process.stdout.write(`ok ${message}\n`);
}

export function describe(value) {
    return JSON.stringify(value);
}

export function expectEqual(actual, expected, what) {
    if (!isDeepStrictEqual(actual, expected)) fail(`${what}: expected ${describe(expected)}, got ${describe(actual)}`);
}

/** Runs `main` under the overall deadline, prints the summary and exits 0; any exception fails the run. */
export function run(main) {
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
}

/** A value for each property of an elicitation form schema, by its type and name. */
export function fillForm(schema) {
    const content = {};
    for (const [name, property] of Object.entries(schema?.properties ?? {})) {
        if (property.default !== undefined) content[name] = property.default;
        else if (Array.isArray(property.enum)) content[name] = property.enum[0];
        else if (property.type === 'boolean') content[name] = true;
        else if (property.type === 'integer' || property.type === 'number') content[name] = 7;
        else if (property.format === 'email' || /email/i.test(name)) content[name] = 'ada@example.com';
        else content[name] = name === 'username' ? 'ada' : `Ada (${name})`;
    }
    return content;
}

/**
 * A v2 client named `name` that negotiates the revision by itself (`mode: 'auto'`: a
 * `server/discover` probe, falling back to `initialize` only without modern evidence),
 * declares form elicitation, and accepts every elicitation with content built from the
 * requested schema.
 */
export function newClient(name) {
    summary.client = name;
    const client = new Client(
        { name, version: '0.0.0' },
        {
            capabilities: { elicitation: { form: {} } },
            versionNegotiation: { mode: 'auto' },
        },
    );
    client.setRequestHandler('elicitation/create', async request => {
        const content = fillForm(request.params?.requestedSchema);
        elicitations.push({ params: request.params, content });
        return { action: 'accept', content };
    });
    client.onerror = err => transportErrors.push(err?.stack ?? err?.message ?? String(err));
    return client;
}

/** Connects `client` over `transport`; a failure to connect fails the run. */
export async function connect(client, transport) {
    try {
        await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
    } catch (err) {
        fail(`connect: ${err?.stack ?? err}`);
    }
}

/** Awaits `send()`, a request (`what` names it) that must succeed; returns its result. */
export async function requestOk(what, send) {
    try {
        return await send();
    } catch (err) {
        const data = err?.data === undefined ? '' : ` data ${describe(err.data)}`;
        fail(`${what}: expected a result, got ${err?.name ?? 'error'} ${err?.code ?? ''}: ${err?.message ?? err}${data}`);
    }
}

export function textOf(result, what) {
    if (!Array.isArray(result?.content)) fail(`${what}: result has no content array: ${describe(result)}`);
    const texts = result.content.filter(c => c.type === 'text');
    if (texts.length !== 1) fail(`${what}: expected exactly one text content item, got ${describe(result.content)}`);
    return texts[0].text;
}

function callTool(client, name, args) {
    return requestOk(`tools/call ${name} ${describe(args)}`, () =>
        client.callTool({ name, arguments: args }, { timeout: REQUEST_TIMEOUT_MS }),
    );
}

/** Checks that the client settled on the 2026-07-28 revision through server/discover. */
export function checkNegotiated(client) {
    const version = client.getNegotiatedProtocolVersion();
    const era = client.getProtocolEra();
    summary.protocolVersion = version;
    summary.era = era;
    if (version !== MODERN_VERSION || era !== 'modern') {
        fail(
            `negotiation: expected protocol version ${MODERN_VERSION} in the modern era (server/discover), ` +
                `got ${describe(version)} in the ${describe(era)} era` +
                (era === 'legacy' ? ' (the SDK fell back to initialize: the server gave no usable server/discover result)' : ''),
        );
    }
    const discover = client.getDiscoverResult();
    if (!discover?.supportedVersions?.includes(MODERN_VERSION)) {
        fail(`server/discover: supportedVersions lacks ${MODERN_VERSION}: ${describe(discover)}`);
    }
    const caps = client.getServerCapabilities() ?? {};
    const missing = ['tools', 'resources', 'prompts'].filter(c => caps[c] === undefined);
    if (missing.length > 0) fail(`server/discover: capabilities lack ${missing.join(', ')}: ${describe(caps)}`);
    const info = client.getServerVersion();
    summary.server = info ? `${info.name} ${info.version}` : null;
    ok(
        `negotiated ${version} (era ${era}) via server/discover; supportedVersions ${describe(discover.supportedVersions)}, ` +
            `server ${info ? `${info.name} ${info.version}` : '(anonymous)'}, capabilities ${Object.keys(caps).join(', ')}`,
    );
}

/** Lists tools, calls echo and user.create@v1, reads demo://guide, gets the welcome prompt. */
export async function checkBasics(client) {
    const { tools } = await requestOk('tools/list', () => client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS }));
    const names = tools.map(t => t.name);
    const missing = EXPECTED_TOOLS.filter(n => !names.includes(n));
    if (missing.length > 0) fail(`tools/list: missing tools ${describe(missing)}; got ${describe(names)}`);
    for (const tool of tools) {
        if (tool.inputSchema?.type !== 'object') fail(`tools/list: tool ${tool.name} has no object inputSchema: ${describe(tool)}`);
    }
    summary.tools = names.length;
    ok(`tools/list (${names.length} tools, including ${EXPECTED_TOOLS.join(', ')})`);

    {
        const res = await callTool(client, 'echo', { text: 'hello, 2026' });
        if (res.isError) fail(`echo: isError result: ${describe(res)}`);
        expectEqual(textOf(res, 'echo'), 'hello, 2026', 'echo text');
        ok('tools/call echo -> "hello, 2026"');
    }

    let userId;
    {
        const args = { email: 'grace@example.com', name: 'Grace' };
        const res = await callTool(client, 'user.create@v1', args);
        if (res.isError) fail(`user.create@v1: isError result: ${describe(res)}`);
        const user = res.structuredContent;
        if (typeof user?.id !== 'string' || !user.id) fail(`user.create@v1: no id in structuredContent: ${describe(res)}`);
        expectEqual({ email: user.email, name: user.name }, args, 'user.create@v1 structuredContent');
        userId = user.id;
        ok(`tools/call user.create@v1 -> ${describe(user)}`);
    }

    {
        const res = await requestOk(`resources/read ${GUIDE_URI}`, () =>
            client.readResource({ uri: GUIDE_URI }, { timeout: REQUEST_TIMEOUT_MS, cacheMode: 'bypass' }),
        );
        const contents = res.contents ?? [];
        if (contents.length !== 1 || contents[0].uri !== GUIDE_URI || typeof contents[0].text !== 'string') {
            fail(`resources/read ${GUIDE_URI}: expected one text content for that uri, got ${describe(res)}`);
        }
        if (!contents[0].text.startsWith(GUIDE_START)) {
            fail(`resources/read ${GUIDE_URI}: expected text starting ${describe(GUIDE_START)}, got ${describe(contents[0].text)}`);
        }
        ok(`resources/read ${GUIDE_URI} -> ${contents[0].text.length} chars of guide`);
    }

    {
        const { prompts } = await requestOk('prompts/list', () => client.listPrompts(undefined, { timeout: REQUEST_TIMEOUT_MS }));
        if (!prompts.some(p => p.name === WELCOME_PROMPT)) {
            fail(`prompts/list: no ${WELCOME_PROMPT}; got ${describe(prompts.map(p => p.name))}`);
        }
        const res = await requestOk(`prompts/get ${WELCOME_PROMPT}`, () =>
            client.getPrompt({ name: WELCOME_PROMPT, arguments: { id: userId, tone: 'formal' } }, { timeout: REQUEST_TIMEOUT_MS }),
        );
        expectEqual(res.description, `A formal welcome for ${userId}`, `prompts/get ${WELCOME_PROMPT} description`);
        const messages = res.messages ?? [];
        expectEqual(
            messages.map(m => [m.role, m.content?.type]),
            [
                ['user', 'resource'],
                ['user', 'text'],
            ],
            `prompts/get ${WELCOME_PROMPT} message roles and content types`,
        );
        expectEqual(messages[0].content.resource?.uri, `users://${userId}`, `prompts/get ${WELCOME_PROMPT} embedded resource uri`);
        expectEqual(messages[1].content.text, 'Write a formal welcome message for the user above.', `prompts/get ${WELCOME_PROMPT} text`);
        ok(`prompts/list + prompts/get ${WELCOME_PROMPT} {id: ${userId}, tone: formal} -> ${messages.length} messages`);
    }
}

/**
 * Calls test_elicitation: the server answers `input_required` with an elicitation/create
 * input request, the SDK hands it to the handler, and retries with the accepted content.
 * Returns the message the tool was called with.
 */
export async function checkElicitation(client) {
    const res = await callTool(client, 'test_elicitation', { message: ELICITATION_MESSAGE });
    expectEqual(elicitations.length, 1, 'elicitation/create requests answered by the handler');
    const { params, content } = elicitations[0];
    const fields = Object.keys(params?.requestedSchema?.properties ?? {}).sort();
    expectEqual(
        [params?.message, params?.mode ?? 'form', fields, [...(params?.requestedSchema?.required ?? [])].sort()],
        [ELICITATION_MESSAGE, 'form', ['email', 'username'], ['email', 'username']],
        'elicitation/create params (message, mode, fields, required)',
    );
    if (res.isError) fail(`test_elicitation: isError result: ${describe(res)}`);
    const text = textOf(res, 'test_elicitation');
    const prefix = 'User response: action=accept, content=';
    if (!text.startsWith(prefix)) fail(`test_elicitation: expected text starting ${describe(prefix)}, got ${describe(text)}`);
    let echoed;
    try {
        echoed = JSON.parse(text.slice(prefix.length));
    } catch {
        fail(`test_elicitation: content in the result text is not JSON: ${describe(text)}`);
    }
    expectEqual(echoed, content, 'test_elicitation: the content the tool got back');
    ok(`tools/call test_elicitation -> input_required (elicitation/create) answered by the handler -> ${describe(text)}`);
    return ELICITATION_MESSAGE;
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
    ok('close');
}
