// The requests the demo's fixtures send to the client (sampling/createMessage,
// elicitation/create) and their progress notifications, checked with the TypeScript SDK
// clients (stdio_client.mjs, http_client.mjs) through features.mjs.
//
// `prepareClient` must run before the handshake: it declares the sampling and elicitation
// capabilities and installs the handlers that answer the server and record what it asked.

import {
    CreateMessageRequestSchema,
    ElicitRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { callOk, describe, expectEqual, fail, ok, parseJson, textOf } from './checks.mjs';

const SAMPLING_PROMPT = 'Name a colour.';
const SAMPLING_REPLY = 'Teal, says the TypeScript client.';
const ELICITED = { username: 'ada', email: 'ada@example.com' };

// What the server asked of this client, in arrival order.
const samplingRequests = [];
const elicitationRequests = [];

/** Declares the sampling and elicitation capabilities and answers those requests (before connect). */
export function prepareClient(client) {
    client.registerCapabilities({ sampling: {}, elicitation: { form: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, request => {
        samplingRequests.push(request.params);
        return {
            role: 'assistant',
            content: { type: 'text', text: SAMPLING_REPLY },
            model: 'rampart-test-model',
            stopReason: 'endTurn',
        };
    });
    client.setRequestHandler(ElicitRequestSchema, request => {
        elicitationRequests.push(request.params);
        return { action: 'accept', content: ELICITED };
    });
}

export async function checkClientRequests(client) {
    const sampled = await callOk(client, 'test_sampling', { prompt: SAMPLING_PROMPT });
    expectEqual(
        samplingRequests.map(p => p.messages),
        [[{ role: 'user', content: { type: 'text', text: SAMPLING_PROMPT } }]],
        'sampling/createMessage messages seen by the handler',
    );
    expectEqual(samplingRequests[0].maxTokens, 100, 'sampling/createMessage maxTokens');
    if (sampled.isError) fail(`test_sampling: isError result: ${describe(sampled)}`);
    expectEqual(textOf(sampled, 'test_sampling'), `LLM response: ${SAMPLING_REPLY}`, 'test_sampling result text');
    ok(`test_sampling -> sampling/createMessage answered by the client -> ${describe(textOf(sampled, 'test_sampling'))}`);

    const message = 'Who are you?';
    const elicited = await callOk(client, 'test_elicitation', { message });
    expectEqual(elicitationRequests.length, 1, 'elicitation/create requests seen by the handler');
    const request = elicitationRequests[0];
    const fields = Object.keys(request.requestedSchema?.properties ?? {}).sort();
    expectEqual(
        [request.message, request.mode ?? 'form', fields],
        [message, 'form', ['email', 'username']],
        'elicitation/create params',
    );
    if (elicited.isError) fail(`test_elicitation: isError result: ${describe(elicited)}`);
    const text = textOf(elicited, 'test_elicitation');
    const prefix = 'User response: action=accept, content=';
    if (!text.startsWith(prefix)) fail(`test_elicitation: expected text starting ${describe(prefix)}, got ${describe(text)}`);
    expectEqual(parseJson(text.slice(prefix.length), 'test_elicitation content'), ELICITED, 'test_elicitation content');
    ok(`test_elicitation -> elicitation/create accepted by the client -> ${describe(text)}`);
}

export async function checkProgress(client) {
    // The SDK drops a request's progress handler when its response arrives: whatever `seen`
    // holds once the call returns arrived before the result.
    const seen = [];
    const res = await callOk(client, 'test_tool_with_progress', {}, { onprogress: progress => seen.push(progress) });
    if (res.isError) fail(`test_tool_with_progress: isError result: ${describe(res)}`);
    expectEqual(textOf(res, 'test_tool_with_progress'), 'Progress reported', 'test_tool_with_progress text');
    const expected = [0, 50, 100].map(step => ({ progress: step, total: 100, message: `Completed step ${step} of 100` }));
    expectEqual(seen, expected, 'test_tool_with_progress progress notifications before the result');
    ok(`test_tool_with_progress -> progress ${seen.map(p => p.progress).join(', ')} of 100 before the result`);
}
