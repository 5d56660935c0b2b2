"""The checks beyond tools that the Python SDK clients (stdio_client.py, http_client.py) share.

Resources and templates, subscriptions, prompts and completion here; the requests the server
sends to the client (sampling, elicitation) and progress in client_side.py.

Run `check_features` on a client made with `ClientSide.options()` (client_side.py). Reporting
is checks.py's: "ok ..." per passed check, `CheckFailed` on the first failure.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types
from checks import REQUEST_TIMEOUT_S, call_ok, describe, dump, expect_equal, fail, ok, parse_json, text_of
from client_side import ClientSide, check_client_requests, check_progress
from mcp import Client, MCPDeprecationWarning, MCPError

# resources/subscribe and friends are handshake-era methods, deprecated in SDK 2.x; still valid here.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

COUNTER_URI = "demo://counter"
STATIC_TEXT = "This is the content of the static text resource."
TEST_IMAGE_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
# How long a notification may take to arrive after the request that caused it was answered
# (over HTTP it rides the session's GET stream, not the POST that caused it).
NOTIFICATION_WAIT_S = 5.0
# How long to listen for a notification that must not come.
QUIET_S = 0.3


async def check_features(client: Client, side: ClientSide) -> None:
    """Runs every feature check on a client made with `side.options()`."""
    caps = client.server_capabilities
    subscribe = caps.resources.subscribe if caps.resources is not None else None
    if subscribe is not True or caps.prompts is None or caps.completions is None:
        fail(f"connect: expected resources (with subscribe), prompts and completions, got {describe(caps)}")
    ok("connect advertises resources.subscribe, prompts and completions")
    await check_resources(client)
    user = await check_templates(client)
    await check_subscription(client, side)
    await check_prompts(client, user)
    await check_completion(client, user)
    await check_client_requests(client, side)
    await check_progress(client)


async def request_ok(what: str, send: Callable[[], Awaitable[Any]]) -> Any:
    try:
        with anyio.fail_after(REQUEST_TIMEOUT_S):
            return await send()
    except MCPError as e:
        fail(f"{what}: expected a result, got JSON-RPC error {e.code}: {e.message!r}")
    except TimeoutError:
        fail(f"{what}: no answer within {REQUEST_TIMEOUT_S:.0f} s")


async def request_err(what: str, send: Callable[[], Awaitable[Any]]) -> MCPError:
    try:
        with anyio.fail_after(REQUEST_TIMEOUT_S):
            result = await send()
    except MCPError as e:
        return e
    except TimeoutError:
        fail(f"{what}: no answer within {REQUEST_TIMEOUT_S:.0f} s")
    fail(f"{what}: expected a JSON-RPC error, got result {describe(result)}")


async def list_all(what: str, key: str, page: Callable[..., Awaitable[Any]]) -> list[Any]:
    """Follows nextCursor through every page of a list method; returns the items under `key`."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        res = await request_ok(what, lambda: page(cursor=cursor))
        items.extend(getattr(res, key))
        cursor = res.next_cursor
        if not cursor:
            return items
    fail(f"{what}: more than 100 pages")


async def read(client: Client, uri: str) -> list[dict[str, Any]]:
    """The contents of `uri`, in wire form."""
    res = await request_ok(f"resources/read {uri}", lambda: client.read_resource(uri))
    return dump(res.contents)


async def only_text(client: Client, uri: str, mime_type: str) -> str:
    """Reads `uri`, which must hold one text content of `mime_type`; returns the text."""
    contents = await read(client, uri)
    if len(contents) != 1 or not isinstance(contents[0].get("text"), str):
        fail(f"resources/read {uri}: expected one text content, got {describe(contents)}")
    what = f"resources/read {uri} (uri and mimeType)"
    expect_equal({**contents[0], "text": ""}, {"uri": uri, "mimeType": mime_type, "text": ""}, what)
    return contents[0]["text"]


async def check_resources(client: Client) -> None:
    resources = await list_all("resources/list", "resources", client.list_resources)
    uris = [r.uri for r in resources]
    wanted = ["demo://guide", COUNTER_URI, "test://static-text", "test://static-binary", "test://watched-resource"]
    missing = [uri for uri in wanted if uri not in uris]
    if missing:
        fail(f"resources/list: missing {missing}; got {uris}")
    binary = next(r for r in resources if r.uri == "test://static-binary")
    what = "resources/list test://static-binary name and mimeType"
    expect_equal([binary.name, binary.mime_type], ["static-binary", "image/png"], what)
    ok(f"resources/list ({len(uris)} resources: {', '.join(uris)})")

    templates = await list_all("resources/templates/list", "resource_templates", client.list_resource_templates)
    for wanted_template in ["users://{id}", "test://template/{id}/data"]:
        template = next((t for t in templates if t.uri_template == wanted_template), None)
        if template is None or template.mime_type != "application/json":
            got = describe(dump(templates))
            fail(f"resources/templates/list: expected {wanted_template} with mimeType application/json, got {got}")
    ok(f"resources/templates/list ({', '.join(t.uri_template for t in templates)})")

    text = await read(client, "test://static-text")
    expected = [{"uri": "test://static-text", "mimeType": "text/plain", "text": STATIC_TEXT}]
    expect_equal(text, expected, "resources/read test://static-text")
    ok(f"resources/read test://static-text -> text/plain {STATIC_TEXT!r}")

    blob = await read(client, "test://static-binary")
    expected = [{"uri": "test://static-binary", "mimeType": "image/png", "blob": TEST_IMAGE_BASE64}]
    expect_equal(blob, expected, "resources/read test://static-binary")
    ok(f"resources/read test://static-binary -> image/png blob ({len(TEST_IMAGE_BASE64)} base64 chars)")


async def check_templates(client: Client) -> dict[str, Any]:
    """Reads the two templates and an unknown user; returns the user it created."""
    email = "grace@example.com"
    created = await call_ok(client, "user.create@v1", {"email": email, "name": "Grace"})
    user = created.structured_content
    if created.is_error or not isinstance(user, dict) or not isinstance(user.get("id"), str):
        fail(f"user.create@v1: expected a user, got {describe(created)}")
    expect_equal(user, {"id": user["id"], "email": email, "name": "Grace"}, "user.create@v1 structuredContent")

    uri = f"users://{user['id']}"
    text = await only_text(client, uri, "application/json")
    expect_equal(parse_json(text, f"resources/read {uri}"), user, f"resources/read {uri}")
    ok(f"resources/read {uri} -> {text}")

    data_uri = "test://template/123/data"
    data = await only_text(client, data_uri, "application/json")
    expected = {"id": "123", "templateTest": True, "data": "Data for ID: 123"}
    expect_equal(parse_json(data, f"resources/read {data_uri}"), expected, f"resources/read {data_uri}")
    ok(f"resources/read {data_uri} -> {data}")

    e = await request_err("resources/read users://nope", lambda: client.read_resource("users://nope"))
    if e.code != -32002:
        fail(f"resources/read users://nope: expected error -32002 (resource not found), got {e.code}: {e.message!r}")
    ok(f"resources/read users://nope -> -32002 {e.message!r}")
    return user


async def read_counter(client: Client) -> int:
    text = await only_text(client, COUNTER_URI, "text/plain")
    if not text.isdigit():
        fail(f"resources/read {COUNTER_URI}: expected a number, got {text!r}")
    return int(text)


async def check_subscription(client: Client, side: ClientSide) -> None:
    before = await read_counter(client)
    subscribed = await request_ok(f"resources/subscribe {COUNTER_URI}", lambda: client.subscribe_resource(COUNTER_URI))
    expect_equal(dump(subscribed), {}, f"resources/subscribe {COUNTER_URI}")
    ok(f"resources/subscribe {COUNTER_URI}")

    res = await call_ok(client, "counter.increment", {})
    expect_equal(text_of(res, "counter.increment"), f"counter is now {before + 1}", "counter.increment text")
    expect_equal(res.structured_content, {"value": before + 1}, "counter.increment structuredContent")
    await side.updates_reach(1, NOTIFICATION_WAIT_S)
    if not side.resource_updates:
        fail(
            f"notifications/resources/updated for {COUNTER_URI}: none arrived within "
            f"{NOTIFICATION_WAIT_S:.0f} s of counter.increment"
        )
    what = "notifications/resources/updated after counter.increment"
    expect_equal(side.resource_updates, [{"uri": COUNTER_URI}], what)
    expect_equal(await read_counter(client), before + 1, f"resources/read {COUNTER_URI} after counter.increment")
    ok(f"counter.increment -> {before + 1}, notifications/resources/updated {describe(side.resource_updates[0])}")

    unsubscribed = await request_ok(
        f"resources/unsubscribe {COUNTER_URI}", lambda: client.unsubscribe_resource(COUNTER_URI)
    )
    expect_equal(dump(unsubscribed), {}, f"resources/unsubscribe {COUNTER_URI}")
    await call_ok(client, "counter.increment", {})
    await side.updates_reach(2, QUIET_S)
    what = f"notifications/resources/updated after resources/unsubscribe (waited {QUIET_S} s)"
    expect_equal(side.resource_updates, [{"uri": COUNTER_URI}], what)
    ok(f"resources/unsubscribe {COUNTER_URI}; the next increment sent no notification")


async def check_prompts(client: Client, user: dict[str, Any]) -> None:
    prompts = await list_all("prompts/list", "prompts", client.list_prompts)
    names = [p.name for p in prompts]
    wanted = [
        "user.welcome@v1",
        "test_simple_prompt",
        "test_prompt_with_arguments",
        "test_prompt_with_embedded_resource",
        "test_prompt_with_image",
    ]
    missing = [name for name in wanted if name not in names]
    if missing:
        fail(f"prompts/list: missing {missing}; got {names}")
    with_arguments = next(p for p in prompts if p.name == "test_prompt_with_arguments")
    expected_arguments = [
        {"name": "arg1", "description": "First test argument", "required": True},
        {"name": "arg2", "description": "Second test argument", "required": True},
    ]
    what = "prompts/list test_prompt_with_arguments arguments"
    expect_equal(dump(with_arguments.arguments), expected_arguments, what)
    ok(f"prompts/list ({', '.join(names)})")

    args = {"arg1": "paris", "arg2": "testing"}
    got = await request_ok(
        "prompts/get test_prompt_with_arguments", lambda: client.get_prompt("test_prompt_with_arguments", args)
    )
    text = "Prompt with arguments: arg1='paris', arg2='testing'"
    expected = [{"role": "user", "content": {"type": "text", "text": text}}]
    expect_equal(dump(got.messages), expected, "prompts/get test_prompt_with_arguments messages")
    ok(f"prompts/get test_prompt_with_arguments {describe(args)} -> {text!r}")

    uri = f"users://{user['id']}"
    welcome = await request_ok(
        "prompts/get user.welcome@v1",
        lambda: client.get_prompt("user.welcome@v1", {"id": user["id"], "tone": "formal"}),
    )
    messages = dump(welcome.messages)
    expect_equal(welcome.description, f"A formal welcome for {user['id']}", "prompts/get user.welcome@v1 description")
    expect_equal(len(messages), 2, "prompts/get user.welcome@v1 number of messages")
    profile, ask = messages
    resource = profile["content"].get("resource", {})
    expect_equal(
        [profile["role"], profile["content"]["type"], resource.get("uri"), resource.get("mimeType")],
        ["user", "resource", uri, "application/json"],
        "prompts/get user.welcome@v1 first message",
    )
    embedded = parse_json(resource.get("text", ""), "prompts/get user.welcome@v1 resource")
    expect_equal(embedded, user, "prompts/get user.welcome@v1 embedded user")
    content = {"type": "text", "text": "Write a formal welcome message for the user above."}
    request = {"role": "user", "content": content}
    expect_equal(ask, request, "prompts/get user.welcome@v1 second message")
    ok(f"prompts/get user.welcome@v1 {{id: {user['id']}, tone: formal}} -> the user's resource and a formal request")

    e = await request_err(
        "prompts/get test_prompt_with_arguments without arg2",
        lambda: client.get_prompt("test_prompt_with_arguments", {"arg1": "paris"}),
    )
    if e.code != -32602 or "arg2" not in e.message:
        fail(f"prompts/get without arg2: expected error -32602 naming arg2, got {e.code}: {e.message!r}")
    ok(f"prompts/get test_prompt_with_arguments without arg2 -> -32602 {e.message!r}")


async def check_completion(client: Client, user: dict[str, Any]) -> None:
    cases: list[tuple[types.PromptReference | types.ResourceTemplateReference, str, str, list[str]]] = [
        (types.PromptReference(name="test_prompt_with_arguments"), "arg1", "pa", ["paris", "park", "party"]),
        (types.ResourceTemplateReference(uri="test://template/{id}/data"), "id", "1", ["1", "123"]),
        (types.PromptReference(name="user.welcome@v1"), "tone", "f", ["formal", "friendly"]),
        (types.ResourceTemplateReference(uri="users://{id}"), "id", user["id"], [user["id"]]),
    ]
    for ref, name, value, expected in cases:
        what = f"completion/complete {describe(ref)} {name}={value!r}"
        res = await request_ok(what, lambda: client.complete(ref, {"name": name, "value": value}))  # noqa: B023
        expect_equal(res.completion.values, expected, what)
        ok(f"{what} -> {describe(res.completion.values)}")
