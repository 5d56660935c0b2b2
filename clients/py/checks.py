"""The checks that the Python SDK clients (stdio_client.py, http_client.py) share.

Each client script owns its transport: it builds the SDK `Client`, adds the checks only its
transport has, and reports failures with what it knows about the exchange. This module holds
everything else: reporting, tool calls that must succeed or fail, the connect checks, and the
tool checks that every transport must pass. The checks of resources, prompts and completion
live in features.py, those of the server's requests to the client in client_side.py.

Each check prints one "ok ..." line on stdout when it passes and raises `CheckFailed`
when it does not.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import anyio
from mcp import Client, Implementation, MCPDeprecationWarning, MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

OVERALL_DEADLINE_S = 45.0
REQUEST_TIMEOUT_S = 10.0
# The handshake is one round trip: anything near the request timeout means a stall.
MAX_CONNECT_S = 8.0


# ping and a few other handshake-era methods carry deprecation warnings in SDK 2.x; they are still valid here.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)


class CheckFailed(Exception):
    pass


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


def ok(message: str) -> None:
    print(f"ok {message}", flush=True)


def describe(value: Any) -> str:
    if hasattr(value, "model_dump"):
        value = value.model_dump(by_alias=True, mode="json", exclude_none=True)
    return json.dumps(value, default=str)


def dump(value: Any) -> Any:
    """The wire form (camelCase keys, no nulls) of an SDK model; other values as they are."""
    if isinstance(value, list):
        return [dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True, mode="json", exclude_none=True)
    return value


def expect_equal(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        fail(f"{what}: expected {describe(expected)}, got {describe(actual)}")


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        fail(f"{what}: text is not JSON: {text!r}")


def text_of(result: Any, what: str) -> str:
    texts = [c for c in result.content if getattr(c, "type", None) == "text"]
    if len(texts) != 1:
        fail(f"{what}: expected exactly one text content item, got {describe(result.content)}")
    return texts[0].text


async def call_ok(client: Client, name: str, args: dict[str, Any]) -> Any:
    try:
        return await client.call_tool(name, args, read_timeout_seconds=REQUEST_TIMEOUT_S)
    except MCPError as e:
        fail(f"tools/call {name} {describe(args)}: expected a result, got JSON-RPC error {e.code}: {e.message!r}")


async def call_err(client: Client, name: str, args: dict[str, Any]) -> MCPError:
    try:
        result = await client.call_tool(name, args, read_timeout_seconds=REQUEST_TIMEOUT_S)
    except MCPError as e:
        return e
    fail(f"tools/call {name} {describe(args)}: expected a JSON-RPC error, got result {describe(result)}")


def new_client(
    transport: Any,
    name: str,
    transport_errors: list[str],
    *,
    on_notification: Callable[[Any], None] | None = None,
    **callbacks: Any,
) -> Client:
    """A client on `transport` that appends every transport-level fault to `transport_errors`.

    Every server notification goes to `on_notification`; `callbacks` (such as
    `sampling_callback`) go to the SDK `Client` as they are.
    """

    async def on_message(message: Any) -> None:
        # Transport-level faults (e.g. a line or body that is not JSON-RPC) arrive here as exceptions.
        if isinstance(message, Exception):
            transport_errors.append(f"{type(message).__name__}: {message}")
        elif on_notification is not None:
            on_notification(message)

    return Client(
        transport,
        client_info=Implementation(name=name, version="0.0.0"),
        read_timeout_seconds=REQUEST_TIMEOUT_S,
        message_handler=on_message,
        cache=None,
        # These checks exercise the session revisions; modern.py checks 2026-07-28.
        mode="legacy",
        **callbacks,
    )


async def connect_and_close(
    client: Client,
    transport_errors: list[str],
    while_connected: Callable[[float], Awaitable[None]],
) -> None:
    """Connects, runs `while_connected(seconds the connect took)`, and checks the close.

    The client connects in "legacy" mode: initialize + notifications/initialized.
    """
    started = time.monotonic()
    connected = False
    try:
        async with client:
            connected = True
            await while_connected(time.monotonic() - started)
    except MCPError as e:
        stage = "unexpected JSON-RPC error" if connected else "connect failed with JSON-RPC error"
        fail(f"{stage} {e.code}: {e.message!r}")
    if transport_errors:
        fail("the SDK reported transport errors during close")
    ok("close")


def check_connect(client: Client, connect_s: float) -> None:
    """Checks that the SDK made the initialize handshake promptly and got serverInfo and tools."""
    session = client.session
    if session.initialize_result is None:
        fail(
            "connect: expected the initialize handshake, "
            f"but the SDK adopted a server/discover result: {describe(session.discover_result)}"
        )
    if client.protocol_version not in HANDSHAKE_PROTOCOL_VERSIONS:
        fail(f"connect: unexpected protocolVersion {client.protocol_version!r}")
    if connect_s > MAX_CONNECT_S:
        fail(f"connect took {connect_s:.1f} s")
    info = client.server_info
    if info is None or not info.name:
        fail(f"connect: serverInfo missing: {describe(session.initialize_result)}")
    if client.server_capabilities.tools is None:
        fail(f"connect: server does not advertise the tools capability: {describe(client.server_capabilities)}")
    ok(
        f"connect (initialize in {connect_s:.2f} s, "
        f"protocolVersion {client.protocol_version}, server {info.name} {info.version})"
    )


async def check_tools(client: Client, expected_tools: list[str]) -> None:
    """Checks ping, tools/list (which must offer `expected_tools`) and the demo's tools."""
    # ping (legacy method, only valid on handshake-era connections)
    try:
        await client.session.send_ping()
    except MCPError as e:
        fail(f"ping: JSON-RPC error {e.code}: {e.message!r}")
    ok("ping")

    # tools/list (follow pagination if any)
    tools = []
    cursor: str | None = None
    for _ in range(100):
        try:
            page = await client.list_tools(cursor=cursor)
        except MCPError as e:
            fail(f"tools/list: JSON-RPC error {e.code}: {e.message!r}")
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    names = [t.name for t in tools]
    missing = [n for n in expected_tools if n not in names]
    if missing:
        fail(f"tools/list: missing tools {missing}; got {names}")
    add = next(t for t in tools if t.name == "add")
    if add.output_schema is None:
        fail(f"tools/list: add has no outputSchema: {describe(add)}")
    ok(f"tools/list ({len(names)} tools: {', '.join(names)})")

    # echo
    res = await call_ok(client, "echo", {"text": "hello"})
    if res.is_error:
        fail(f"echo: isError result: {describe(res)}")
    text = text_of(res, "echo")
    if text != "hello":
        fail(f"echo: expected text 'hello', got {text!r}")
    ok('tools/call echo -> "hello"')

    # add (the SDK also validates structuredContent against outputSchema)
    try:
        res = await call_ok(client, "add", {"a": 2, "b": 3})
    except RuntimeError as e:
        fail(f"add: SDK rejected the result: {e}")
    if res.is_error:
        fail(f"add: isError result: {describe(res)}")
    text = text_of(res, "add")
    if text != "5":
        fail(f"add: expected text '5', got {text!r}")
    if res.structured_content != {"sum": 5}:
        fail(f"add: expected structuredContent {{'sum': 5}}, got {res.structured_content!r}")
    ok('tools/call add -> "5", structuredContent {"sum":5}')

    # missing required parameter
    e = await call_err(client, "user.create@v1", {})
    if e.code != -32000 or e.message != "Missing required parameter: email":
        fail(
            "user.create@v1 {}: expected error -32000 'Missing required parameter: email', "
            f"got {e.code}: {e.message!r}"
        )
    ok('tools/call user.create@v1 {} -> -32000 "Missing required parameter: email"')

    # schema violation
    e = await call_err(client, "user.create@v1", {"email": "not-an-email", "name": "Ada"})
    if e.code != -32007 or not e.message.startswith("Invalid parameters: "):
        fail(f"user.create@v1 bad email: expected error -32007 'Invalid parameters: ...', got {e.code}: {e.message!r}")
        ok(f"tools/call user.create@v1 bad email -> -32007 {e.message!r}")

    # wrong type
    e = await call_err(client, "user.create@v1", {"email": "ada@example.com", "name": 7})
    if e.code != -32007 or e.message != 'Invalid parameters: name: 7 is not of type "string"':
        fail(
            "user.create@v1 wrong type: expected error -32007 "
            f"'Invalid parameters: name: 7 is not of type \"string\"', got {e.code}: {e.message!r}"
        )
    ok(f"tools/call user.create@v1 wrong type -> -32007 {e.message!r}")


    # tool that always fails
    e = await call_err(client, "fail", {})
    if e.code != -32003:
        fail(f"fail: expected error -32003, got {e.code}: {e.message!r}")
    ok(f"tools/call fail -> -32003 {e.message!r}")

    # valid create
    res = await call_ok(client, "user.create@v1", {"email": "ada@example.com", "name": "Ada"})
    if res.is_error:
        fail(f"user.create@v1 valid: isError result: {describe(res)}")
    shown = res.structured_content if res.structured_content is not None else res.content
    ok(f"tools/call user.create@v1 valid -> {describe(shown)}")


def check_no_transport_errors(transport_errors: list[str]) -> None:
    if transport_errors:
        fail("the SDK reported transport errors")
    ok("no transport or protocol errors")


def run(check_all: Callable[..., Awaitable[None]], *args: Any) -> str | None:
    """Runs `check_all(*args)` under the overall deadline; returns why it failed, or None."""

    async def bounded() -> None:
        with anyio.fail_after(OVERALL_DEADLINE_S):
            await check_all(*args)

    try:
        anyio.run(bounded)
    except BaseException as e:  # noqa: BLE001 - report anything, including exception groups
        return explain(e)
    return None


def report_failure(failure: str, transport_errors: list[str]) -> None:
    """Prints the FAIL line and the transport errors on stderr."""
    print(f"FAIL: {failure}", file=sys.stderr)
    if transport_errors:
        print("transport errors:", *(f"  {t}" for t in transport_errors), sep="\n", file=sys.stderr)


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaf_exceptions(sub)]
    return [exc]


def explain(exc: BaseException) -> str:
    """Turns whatever escaped the event loop (possibly wrapped in exception groups) into a message."""
    leaves = leaf_exceptions(exc)
    for leaf in leaves:
        if isinstance(leaf, CheckFailed):
            return str(leaf)
    for leaf in leaves:
        if isinstance(leaf, TimeoutError):
            return f"overall deadline of {OVERALL_DEADLINE_S:.0f} s exceeded"
    return "unexpected exception:\n" + "".join(traceback.format_exception(exc))
