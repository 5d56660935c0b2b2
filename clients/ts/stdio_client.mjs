// Drives the rampart demo server with the official TypeScript MCP SDK over stdio.
//
// Usage: node clients/ts/stdio_client.mjs <path-to-rampart-demo> [extra server args...]
//
// Prints one "ok ..." line per passed check on stdout and exits 0. Any failed
// check prints "FAIL: ..." (plus the tail of the server's stderr) on stderr and
// exits 1. The checks shared with the HTTP client live in checks.mjs, features.mjs and client_side.mjs.

import process from 'node:process';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
    checkNoTransportErrors,
    checkTools,
    close,
    connect,
    fail,
    ok,
    onFailure,
    run,
    transportErrors,
} from './checks.mjs';
import { prepareClient } from './client_side.mjs';
import { checkFeatures } from './features.mjs';

const EXPECTED_TOOLS = ['user.create@v1', 'user.get@v1', 'echo', 'add', 'sleep', 'fail'];

const bin = process.argv[2];
if (!bin) {
    process.stderr.write('usage: node clients/ts/stdio_client.mjs <path-to-rampart-demo>\n');
    process.exit(2);
}

let serverStderr = '';
let transport;

onFailure(() => {
    const tail = serverStderr.split('\n').slice(-40).join('\n');
    if (tail.trim()) {
        process.stderr.write(`--- server stderr (tail) ---\n${tail}\n--- end server stderr ---\n`);
    }
    const pid = transport?.pid;
    if (pid) {
        try {
            process.kill(pid, 'SIGKILL');
        } catch {
            // already gone
        }
    }
});

async function main() {
    transport = new StdioClientTransport({
        command: bin,
        args: ['--transport', 'stdio', ...process.argv.slice(3)],
        stderr: 'pipe',
    });
    transport.stderr?.on('data', chunk => {
        serverStderr += chunk.toString('utf8');
        if (serverStderr.length > 1_000_000) serverStderr = serverStderr.slice(-500_000);
    });
    const { client } = await connect(transport, 'rampart-ts-sdk-check', prepareClient);
    await checkTools(client, EXPECTED_TOOLS);
    await checkFeatures(client);
    // Every line the server printed must have been a valid JSON-RPC message.
    checkNoTransportErrors();

    await close(client);
    if (transportErrors.length > 0) fail('the SDK reported transport/protocol errors during close');
    ok('close');
}

run(main);
