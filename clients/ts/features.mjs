// The checks beyond tools that the TypeScript SDK clients (stdio_client.mjs, http_client.mjs)
// share: resources and templates, subscriptions, prompts and completion here; the requests
// the server sends to the client (sampling, elicitation) and progress in client_side.mjs.
//
// `checkFeatures` runs them all on a client connected with `prepareClient` (client_side.mjs)
// as its `prepare`. Reporting is checks.mjs's: "ok ..." per passed check, the first failure
// prints "FAIL: ..." and exits 1.

import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
    REQUEST_TIMEOUT_MS,
    callOk,
    describe,
    expectEqual,
    fail,
    ok,
    parseJson,
    requestErr,
    requestOk,
    textOf,
} from './checks.mjs';
import { checkClientRequests, checkProgress } from './client_side.mjs';

const COUNTER_URI = 'demo://counter';
const STATIC_TEXT = 'This is the content of the static text resource.';
const TEST_IMAGE_BASE64 =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
// How long a notification may take to arrive after the request that caused it was answered
// (over HTTP it rides the session's GET stream, not the POST that caused it).
const NOTIFICATION_WAIT_MS = 5_000;
// How long to listen for a notification that must not come.
const QUIET_MS = 300;

// The params of every notifications/resources/updated, and who waits for the next one.
const resourceUpdates = [];
let onResourceUpdate = () => {};

/** Runs every feature check on a connected client prepared with `prepareClient`. */
export async function checkFeatures(client) {
    const caps = client.getServerCapabilities();
    if (caps?.resources?.subscribe !== true || !caps?.prompts || !caps?.completions) {
        fail(`initialize: expected resources (with subscribe), prompts and completions capabilities, got ${describe(caps)}`);
    }
    ok('initialize advertises resources.subscribe, prompts and completions');
    await checkResources(client);
    const user = await checkTemplates(client);
    await checkSubscription(client);
    await checkPrompts(client, user);
    await checkCompletion(client, user);
    await checkClientRequests(client);
    await checkProgress(client);
}

/** Follows nextCursor through every page of a list method; returns the items under `key`. */
async function listAll(what, key, page) {
    const items = [];
    let cursor;
    for (let n = 0; n < 100; n++) {
        const res = await requestOk(what, () => page(cursor ? { cursor } : undefined, { timeout: REQUEST_TIMEOUT_MS }));
        items.push(...res[key]);
        cursor = res.nextCursor;
        if (!cursor) return items;
    }
    fail(`${what}: more than 100 pages`);
}

function read(client, uri) {
    return requestOk(`resources/read ${uri}`, () => client.readResource({ uri }, { timeout: REQUEST_TIMEOUT_MS }));
}

/** The one text content of a read whose uri and mimeType are given; returns its text. */
function onlyText(result, uri, mimeType) {
    const contents = result.contents;
    if (contents?.length !== 1 || typeof contents[0].text !== 'string') {
        fail(`resources/read ${uri}: expected one text content, got ${describe(result)}`);
    }
    expectEqual({ ...contents[0], text: '' }, { uri, mimeType, text: '' }, `resources/read ${uri} (uri and mimeType)`);
    return contents[0].text;
}

async function checkResources(client) {
    const resources = await listAll('resources/list', 'resources', (p, o) => client.listResources(p, o));
    const uris = resources.map(r => r.uri);
    const wanted = ['demo://guide', COUNTER_URI, 'test://static-text', 'test://static-binary', 'test://watched-resource'];
    const missing = wanted.filter(uri => !uris.includes(uri));
    if (missing.length > 0) fail(`resources/list: missing ${describe(missing)}; got ${describe(uris)}`);
    const binary = resources.find(r => r.uri === 'test://static-binary');
    expectEqual([binary.name, binary.mimeType], ['static-binary', 'image/png'], 'resources/list test://static-binary name and mimeType');
    ok(`resources/list (${uris.length} resources: ${uris.join(', ')})`);

    const templates = await listAll('resources/templates/list', 'resourceTemplates', (p, o) =>
        client.listResourceTemplates(p, o),
    );
    const uriTemplates = templates.map(t => t.uriTemplate);
    for (const wantedTemplate of ['users://{id}', 'test://template/{id}/data']) {
        const template = templates.find(t => t.uriTemplate === wantedTemplate);
        if (template?.mimeType !== 'application/json') {
            fail(`resources/templates/list: expected ${wantedTemplate} with mimeType application/json, got ${describe(templates)}`);
        }
    }
    ok(`resources/templates/list (${uriTemplates.join(', ')})`);

    const text = await read(client, 'test://static-text');
    expectEqual(
        text.contents,
        [{ uri: 'test://static-text', mimeType: 'text/plain', text: STATIC_TEXT }],
        'resources/read test://static-text',
    );
    ok(`resources/read test://static-text -> text/plain ${describe(STATIC_TEXT)}`);

    const blob = await read(client, 'test://static-binary');
    expectEqual(
        blob.contents,
        [{ uri: 'test://static-binary', mimeType: 'image/png', blob: TEST_IMAGE_BASE64 }],
        'resources/read test://static-binary',
    );
    ok(`resources/read test://static-binary -> image/png blob (${TEST_IMAGE_BASE64.length} base64 chars)`);
}

/** Reads the two templates and an unknown user; returns the user it created. */
async function checkTemplates(client) {
    const email = 'grace@example.com';
    const created = await callOk(client, 'user.create@v1', { email, name: 'Grace' });
    const user = created.structuredContent;
    if (created.isError || typeof user?.id !== 'string') fail(`user.create@v1: expected a user, got ${describe(created)}`);
    expectEqual(user, { id: user.id, email, name: 'Grace' }, 'user.create@v1 structuredContent');

    const uri = `users://${user.id}`;
    const text = onlyText(await read(client, uri), uri, 'application/json');
    expectEqual(parseJson(text, `resources/read ${uri}`), user, `resources/read ${uri}`);
    ok(`resources/read ${uri} -> ${text}`);

    const dataUri = 'test://template/123/data';
    const data = onlyText(await read(client, dataUri), dataUri, 'application/json');
    expectEqual(
        parseJson(data, `resources/read ${dataUri}`),
        { id: '123', templateTest: true, data: 'Data for ID: 123' },
        `resources/read ${dataUri}`,
    );
    ok(`resources/read ${dataUri} -> ${data}`);

    const err = await requestErr('resources/read', 'resources/read users://nope', () =>
        client.readResource({ uri: 'users://nope' }, { timeout: REQUEST_TIMEOUT_MS }),
    );
    if (err.code !== -32002) fail(`resources/read users://nope: expected error -32002 (resource not found), got ${describe(err)}`);
    ok(`resources/read users://nope -> -32002 ${describe(err.message)}`);
    return user;
}

async function readCounter(client) {
    const text = onlyText(await read(client, COUNTER_URI), COUNTER_URI, 'text/plain');
    if (!/^\d+$/.test(text)) fail(`resources/read ${COUNTER_URI}: expected a number, got ${describe(text)}`);
    return Number(text);
}

/** Resolves once `resourceUpdates` holds `count` entries, or after `ms`. */
function resourceUpdatesReach(count, ms) {
    return new Promise(resolve => {
        const timer = setTimeout(resolve, ms);
        onResourceUpdate = () => {
            if (resourceUpdates.length >= count) {
                clearTimeout(timer);
                resolve();
            }
        };
        onResourceUpdate();
    });
}

async function checkSubscription(client) {
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, notification => {
        resourceUpdates.push(notification.params);
        onResourceUpdate();
    });
    const before = await readCounter(client);
    const subscribed = await requestOk(`resources/subscribe ${COUNTER_URI}`, () =>
        client.subscribeResource({ uri: COUNTER_URI }, { timeout: REQUEST_TIMEOUT_MS }),
    );
    expectEqual(subscribed, {}, `resources/subscribe ${COUNTER_URI}`);
    ok(`resources/subscribe ${COUNTER_URI}`);

    const res = await callOk(client, 'counter.increment', {});
    expectEqual(textOf(res, 'counter.increment'), `counter is now ${before + 1}`, 'counter.increment text');
    expectEqual(res.structuredContent, { value: before + 1 }, 'counter.increment structuredContent');
    await resourceUpdatesReach(1, NOTIFICATION_WAIT_MS);
    if (resourceUpdates.length === 0) {
        fail(`notifications/resources/updated for ${COUNTER_URI}: none arrived within ${NOTIFICATION_WAIT_MS} ms of counter.increment`);
    }
    expectEqual(resourceUpdates, [{ uri: COUNTER_URI }], 'notifications/resources/updated after counter.increment');
    expectEqual(await readCounter(client), before + 1, `resources/read ${COUNTER_URI} after counter.increment`);
    ok(`counter.increment -> ${before + 1}, notifications/resources/updated ${describe(resourceUpdates[0])}`);

    const unsubscribed = await requestOk(`resources/unsubscribe ${COUNTER_URI}`, () =>
        client.unsubscribeResource({ uri: COUNTER_URI }, { timeout: REQUEST_TIMEOUT_MS }),
    );
    expectEqual(unsubscribed, {}, `resources/unsubscribe ${COUNTER_URI}`);
    await callOk(client, 'counter.increment', {});
    await resourceUpdatesReach(2, QUIET_MS);
    const what = `notifications/resources/updated after resources/unsubscribe (waited ${QUIET_MS} ms)`;
    expectEqual(resourceUpdates, [{ uri: COUNTER_URI }], what);
    ok(`resources/unsubscribe ${COUNTER_URI}; the next increment sent no notification`);
}

function getPrompt(client, name, args) {
    return client.getPrompt({ name, arguments: args }, { timeout: REQUEST_TIMEOUT_MS });
}

async function checkPrompts(client, user) {
    const prompts = await listAll('prompts/list', 'prompts', (p, o) => client.listPrompts(p, o));
    const names = prompts.map(p => p.name);
    const wanted = [
        'user.welcome@v1',
        'test_simple_prompt',
        'test_prompt_with_arguments',
        'test_prompt_with_embedded_resource',
        'test_prompt_with_image',
    ];
    const missing = wanted.filter(name => !names.includes(name));
    if (missing.length > 0) fail(`prompts/list: missing ${describe(missing)}; got ${describe(names)}`);
    expectEqual(
        prompts.find(p => p.name === 'test_prompt_with_arguments').arguments,
        [
            { name: 'arg1', description: 'First test argument', required: true },
            { name: 'arg2', description: 'Second test argument', required: true },
        ],
        'prompts/list test_prompt_with_arguments arguments',
    );
    ok(`prompts/list (${names.join(', ')})`);

    const args = { arg1: 'paris', arg2: 'testing' };
    const got = await requestOk('prompts/get test_prompt_with_arguments', () => getPrompt(client, 'test_prompt_with_arguments', args));
    const text = "Prompt with arguments: arg1='paris', arg2='testing'";
    expectEqual(got.messages, [{ role: 'user', content: { type: 'text', text } }], 'prompts/get test_prompt_with_arguments messages');
    ok(`prompts/get test_prompt_with_arguments ${describe(args)} -> ${describe(text)}`);

    const uri = `users://${user.id}`;
    const welcome = await requestOk('prompts/get user.welcome@v1', () =>
        getPrompt(client, 'user.welcome@v1', { id: user.id, tone: 'formal' }),
    );
    const [profile, ask] = welcome.messages ?? [];
    const resource = profile?.content?.resource;
    expectEqual(welcome.description, `A formal welcome for ${user.id}`, 'prompts/get user.welcome@v1 description');
    expectEqual(welcome.messages.length, 2, 'prompts/get user.welcome@v1 number of messages');
    expectEqual(
        [profile.role, profile.content.type, resource?.uri, resource?.mimeType],
        ['user', 'resource', uri, 'application/json'],
        'prompts/get user.welcome@v1 first message',
    );
    expectEqual(parseJson(resource.text, 'prompts/get user.welcome@v1 resource'), user, 'prompts/get user.welcome@v1 embedded user');
    const request = { type: 'text', text: 'Write a formal welcome message for the user above.' };
    expectEqual(ask, { role: 'user', content: request }, 'prompts/get user.welcome@v1 second message');
    ok(`prompts/get user.welcome@v1 {id: ${user.id}, tone: formal} -> the user's resource and a formal request`);

    const err = await requestErr('prompts/get', 'prompts/get test_prompt_with_arguments without arg2', () =>
        getPrompt(client, 'test_prompt_with_arguments', { arg1: 'paris' }),
    );
    if (err.code !== -32602 || !err.message.includes('arg2')) {
        fail(`prompts/get without arg2: expected error -32602 naming arg2, got ${describe(err)}`);
    }
    ok(`prompts/get test_prompt_with_arguments without arg2 -> -32602 ${describe(err.message)}`);
}

async function complete(client, ref, name, value) {
    const what = `completion/complete ${describe(ref)} ${name}=${describe(value)}`;
    const res = await requestOk(what, () => client.complete({ ref, argument: { name, value } }, { timeout: REQUEST_TIMEOUT_MS }));
    return { what, values: res.completion?.values };
}

async function checkCompletion(client, user) {
    const cases = [
        [{ type: 'ref/prompt', name: 'test_prompt_with_arguments' }, 'arg1', 'pa', ['paris', 'park', 'party']],
        [{ type: 'ref/resource', uri: 'test://template/{id}/data' }, 'id', '1', ['1', '123']],
        [{ type: 'ref/prompt', name: 'user.welcome@v1' }, 'tone', 'f', ['formal', 'friendly']],
        [{ type: 'ref/resource', uri: 'users://{id}' }, 'id', user.id, [user.id]],
    ];
    for (const [ref, name, value, expected] of cases) {
        const { what, values } = await complete(client, ref, name, value);
        expectEqual(values, expected, what);
        ok(`${what} -> ${describe(values)}`);
    }
}
