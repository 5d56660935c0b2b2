// Drives the rampart demo over stdio with the TypeScript SDK v2 client
// (`@modelcontextprotocol/client`) on the MCP 2026-07-28 revision.
//
// Usage: node clients/ts/modern_stdio.mjs <path-to-rampart-demo> [extra server args...]
//
// The SDK starts `<demo> --transport stdio` itself. In `versionNegotiation: { mode: 'auto' }`
// it sends the `server/discover` probe to a short-lived sibling process started the same way,
// then talks to the session's own process once the era is known; the client must settle on
// 2026-07-28. Besides the checks in modern_checks.mjs, this one looks at the session's
// messages: no initialize, the per-request `_meta` on every request, and the test_elicitation
// round trip (an `input_required` answer, then a retry with `inputResponses` under the same
// keys and the byte-exact `requestState`).
//
// Prints one "ok ..." line per passed check and a one-line JSON summary on stdout, exits 0.
// A failed check prints "FAIL: ..." and the tail of the server's stderr on stderr, the JSON
// summary ({"ok":false,...}) on stdout, and exits 1.

import { spawn } from 'node:child_process';
import process from 'node:process';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
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

const bin = process.argv[2];
if (!bin) {
    process.stderr.write('usage: node clients/ts/modern_stdio.mjs <path-to-rampart-demo> [extra server args...]\n');
    process.exit(2);
}

let serverStderr = '';
let transport;
let probeAnswer;
// What the session's process was sent and answered, in order: { dir: 'out' | 'in', msg }.
const wire = [];

onFailure(() => {
    if (probeAnswer !== undefined) process.stderr.write(`--- server/discover sent by hand to a fresh \`${bin} --transport stdio\` ---\n${probeAnswer}\n--- end ---\n`);
    const shown = wire.slice(-20).map(({ dir, msg }) => `  ${dir === 'out' ? '->' : '<-'} ${clip(JSON.stringify(msg))}`);
    if (shown.length > 0) process.stderr.write(`--- last messages of the session ---\n${shown.join('\n')}\n--- end ---\n`);
    const tail = serverStderr.split('\n').slice(-40).join('\n');
    if (tail.trim()) process.stderr.write(`--- server stderr (tail) ---\n${tail}\n--- end server stderr ---\n`);
    const pid = transport?.pid;
    if (pid) {
        try {
            process.kill(pid, 'SIGKILL');
        } catch {
            // already gone
        }
    }
});

function clip(text, max = 1200) {
    return text.length > max ? `${text.slice(0, max)}...(${text.length} chars)` : text;
}

/** Records every message that passes through `t` (the SDK installs its own onmessage and send). */
function tap(t) {
    let inner;
    Object.defineProperty(t, 'onmessage', {
        configurable: true,
        get() {
            return inner === undefined
                ? undefined
                : (msg, extra) => {
                      wire.push({ dir: 'in', msg });
                      inner(msg, extra);
                  };
        },
        set(fn) {
            inner = fn;
        },
    });
    const send = t.send.bind(t);
    t.send = (msg, options) => {
        wire.push({ dir: 'out', msg });
        return send(msg, options);
    };
}

/** Sends the SDK's probe to a fresh `<demo> --transport stdio` and returns what it printed first (5 s at most). */
function probeByHand() {
    const request = {
        jsonrpc: '2.0',
        id: 'probe-by-hand',
        method: 'server/discover',
        params: {
            _meta: {
                'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
                'io.modelcontextprotocol/clientInfo': { name: 'rampart-probe-by-hand', version: '0.0.0' },
                'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
            },
        },
    };
    return new Promise(resolve => {
        const child = spawn(bin, ['--transport', 'stdio', ...process.argv.slice(3)], { stdio: ['pipe', 'pipe', 'ignore'] });
        let out = '';
        const done = text => {
            clearTimeout(timer);
            child.kill('SIGKILL');
            resolve(`-> ${JSON.stringify(request)}\n<- ${text}`);
        };
        const timer = setTimeout(() => done(`(no line within 5 s; got ${JSON.stringify(out)})`), 5_000);
        child.on('error', err => done(`(could not start it: ${err.message})`));
        child.stdout.on('data', chunk => {
            out += chunk.toString('utf8');
            const newline = out.indexOf('\n');
            if (newline >= 0) done(out.slice(0, newline));
        });
        child.stdin.on('error', () => {});
        child.stdin.write(`${JSON.stringify(request)}\n`);
    });
}

function replyTo(request) {
    return wire.find(({ dir, msg }) => dir === 'in' && msg.id === request.id && ('result' in msg || 'error' in msg))?.msg;
}

function checkSession() {
    const requests = wire.filter(({ dir, msg }) => dir === 'out' && 'method' in msg).map(({ msg }) => msg);
    if (requests.some(r => r.method === 'initialize')) fail('stateless: the SDK sent initialize on the session');
    for (const request of requests) {
        const meta = request.params?._meta ?? {};
        if (meta['io.modelcontextprotocol/protocolVersion'] !== MODERN_VERSION || typeof meta['io.modelcontextprotocol/clientCapabilities'] !== 'object') {
            fail(`a message without the per-request _meta (protocolVersion, clientCapabilities): ${describe(request)}`);
        }
        if ('id' in request) {
            const reply = replyTo(request);
            if (!reply) fail(`no reply to ${describe(request)}`);
            if (reply.error) fail(`${request.method} answered with an error: ${describe(reply)}`);
        }
    }
    const fromServer = wire.filter(({ dir, msg }) => dir === 'in' && 'method' in msg && 'id' in msg);
    if (fromServer.length > 0) {
        fail(`the server sent requests on a 2026-07-28 connection (input goes in input_required results): ${describe(fromServer.map(x => x.msg))}`);
    }
    summary.requests = requests.length;
    ok(`${requests.length} messages on the session, each with the per-request _meta for ${MODERN_VERSION}, every request answered with a result; no initialize, no server-to-client request`);
}

function checkElicitationRoundTrip(message) {
    const calls = wire
        .filter(({ dir, msg }) => dir === 'out' && msg.method === 'tools/call' && msg.params?.name === 'test_elicitation' && msg.params?.arguments?.message === message)
        .map(({ msg }) => msg);
    if (calls.length !== 2) fail(`test_elicitation: expected 2 tools/call requests (the call and its retry), got ${describe(calls)}`);
    const [first, retry] = calls;
    const asked = replyTo(first)?.result;
    if (asked?.resultType !== 'input_required') fail(`test_elicitation: first answer is not resultType "input_required": ${describe(replyTo(first))}`);
    const keys = Object.keys(asked.inputRequests ?? {});
    if (keys.length !== 1 || asked.inputRequests[keys[0]]?.method !== 'elicitation/create') {
        fail(`test_elicitation: expected one elicitation/create in inputRequests, got ${describe(asked.inputRequests)}`);
    }
    expectEqual(Object.keys(retry.params.inputResponses ?? {}), keys, 'test_elicitation retry: inputResponses keys');
    expectEqual(retry.params.inputResponses[keys[0]]?.action, 'accept', 'test_elicitation retry: inputResponses action');
    expectEqual(retry.params.requestState, asked.requestState, 'test_elicitation retry: requestState echoed byte for byte');
    if (retry.id === first.id) fail('test_elicitation: the retry reused the request id');
    const done = replyTo(retry)?.result;
    if (done?.resultType !== undefined && done.resultType !== 'complete') {
        fail(`test_elicitation: the retry's answer has resultType ${describe(done.resultType)}: ${describe(done)}`);
    }
    ok(
        `test_elicitation on the wire: input_required {inputRequests: ${describe(keys)}${asked.requestState === undefined ? '' : `, requestState: ${asked.requestState.length} chars`}} ` +
            `-> retry with inputResponses${asked.requestState === undefined ? '' : ' + requestState'} -> resultType ${describe(done?.resultType ?? '(absent)')}`,
    );
}

async function main() {
    const client = newClient('rampart-ts-sdk-v2-stdio');
    summary.transport = 'stdio';
    transport = new StdioClientTransport({
        command: bin,
        args: ['--transport', 'stdio', ...process.argv.slice(3)],
        stderr: 'pipe',
    });
    transport.stderr?.on('data', chunk => {
        serverStderr += chunk.toString('utf8');
        if (serverStderr.length > 1_000_000) serverStderr = serverStderr.slice(-500_000);
    });
    tap(transport);
    await connect(client, transport);
    if (client.getProtocolEra() !== 'modern') {
        // The SDK's probe went to a sibling process whose answer it does not show: ask once more by hand.
        probeAnswer = await probeByHand();
    }
    checkNegotiated(client);

    await checkBasics(client);
    const message = await checkElicitation(client);
    checkSession();
    checkElicitationRoundTrip(message);
    checkNoTransportErrors();
    await close(client);
}

run(main);
