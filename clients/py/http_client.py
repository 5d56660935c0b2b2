"""Drives a running rampart demo server with the official Python MCP SDK over Streamable HTTP.

Usage: clients/.venv/bin/python clients/py/http_client.py <url>    (e.g. http://127.0.0.1:23450/mcp)

Prints one "ok ..." line per passed check on stdout and exits 0. Any failed
check prints "FAIL: ..." (plus the HTTP exchanges seen so far) on stderr and
exits 1. The server is not started here: the caller owns it and its logs.

The client connects in the SDK's default mode ("auto"): it first probes
`server/discover` and, when the server answers with a JSON-RPC error such as
-32601 (or an HTTP 4xx, which the transport maps to one), falls back to the
`initialize` handshake. On leaving the client the transport ends the session
with `DELETE`; a request that still names that session must then get 404.
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, NoReturn

import anyio
import httpx2
from mcp import Client, Implementation, MCPDeprecationWarning, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

OVERALL_DEADLINE_S = 45.0
REQUEST_TIMEOUT_S = 10.0
EXPECTED_TOOLS = ["user.create@v1", "user.get@v1", "echo", "add", "sleep", "fail", "panic"]
# The SDK gives up on an unanswered server/discover probe after 10 s; a server
# that answers the probe promptly lets connect() finish far sooner.
MAX_CONNECT_S = 8.0
SESSION_HEADER = "mcp-session-id"
VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]+$")


# ping and a few other handshake-era methods carry deprecation warnings in SDK 2.x; they are still valid here.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)


class CheckFailed(Exception):
    pass


@dataclass
class Exchange:
    """One HTTP request the SDK made, and what came back."""

    method: str
    what: str
    sent_session: str | None
    status: int | None = None
    content_type: str | None = None
    got_session: str | None = None

    def __str__(self) -> str:
        return (
            f"{self.method} {self.what} -> {self.status} {self.content_type or '-'} "
            f"(sent session {self.sent_session or '-'}, got session {self.got_session or '-'})"
        )


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


def ok(message: str) -> None:
    print(f"ok {message}", flush=True)


def describe(value: Any) -> str:
    if hasattr(value, "model_dump"):
        value = value.model_dump(by_alias=True, mode="json", exclude_none=True)
    return json.dumps(value, default=str)


def text_of(result: Any, what: str) -> str:
    texts = [c for c in result.content if getattr(c, "type", None) == "text"]
    if len(texts) != 1:
        fail(f"{what}: expected exactly one text content item, got {describe(result.content)}")
    return texts[0].text


def recording_http_client(exchanges: list[Exchange]) -> httpx2.AsyncClient:
    """An HTTP client with the SDK's default timeouts that records every exchange."""

    async def on_request(request: httpx2.Request) -> None:
        what = ""
        if request.method == "POST":
            try:
                body = json.loads(request.content)
                if isinstance(body, dict):
                    what = body.get("method") or f"response to {body.get('id')}"
                else:
                    what = "batch"
            except (ValueError, httpx2.RequestNotRead):
                what = "non-JSON body"
        exchange = Exchange(request.method, what, request.headers.get(SESSION_HEADER))
        request.extensions["rampart_exchange"] = exchange
        exchanges.append(exchange)

    async def on_response(response: httpx2.Response) -> None:
        exchange = response.request.extensions.get("rampart_exchange")
        if exchange is not None:
            exchange.status = response.status_code
            exchange.content_type = response.headers.get("content-type")
            exchange.got_session = response.headers.get(SESSION_HEADER)

    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(30.0, read=300.0),
        event_hooks={"request": [on_request], "response": [on_response]},
    )


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


async def run_checks(url: str, exchanges: list[Exchange], transport_errors: list[str]) -> None:
    async def on_message(message: Any) -> None:
        # Transport-level faults (e.g. a body that is not JSON-RPC) arrive here as exceptions.
        if isinstance(message, Exception):
            transport_errors.append(f"{type(message).__name__}: {message}")

    state: dict[str, Any] = {}
    async with recording_http_client(exchanges) as http:
        client = Client(
            streamable_http_client(url, http_client=http, terminate_on_close=True),
            client_info=Implementation(name="rampart-py-sdk-http-check", version="0.0.0"),
            read_timeout_seconds=REQUEST_TIMEOUT_S,
            message_handler=on_message,
            cache=None,
        )

        # 1. connect: server/discover probe, then (on an error) initialize + notifications/initialized
        started = time.monotonic()
        connected = False
        try:
            async with client:
                connected = True
                await checks(client, time.monotonic() - started, exchanges, transport_errors, state)
        except MCPError as e:
            stage = "unexpected JSON-RPC error" if connected else "connect failed with JSON-RPC error"
            fail(f"{stage} {e.code}: {e.message!r}")
        if transport_errors:
            fail("the SDK reported transport errors during close")
        ok("close")

        # 11. leaving the client ended the session with DELETE
        session_id = state["session_id"]
        deletes = [x for x in exchanges if x.method == "DELETE"]
        if not deletes:
            fail("close: the SDK sent no DELETE to end the session")
        delete = deletes[-1]
        if delete.sent_session != session_id:
            fail(f"close: DELETE did not carry the session id: {delete}")
        if delete.status is None or not 200 <= delete.status < 300:
            fail(f"close: expected a 2xx answer to DELETE, got {delete.status}")
        ok(f"DELETE session -> {delete.status}")

    # 12. a request with the ended session id must get 404 Not Found (Streamable HTTP, session
    # management). Sent on a connection of its own: the server may close the GET stream's
    # connection when the session ends, and a pooled keep-alive socket may be that one.
    async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT_S) as fresh:
        response = await fresh.post(
            url,
            headers={
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
                SESSION_HEADER: session_id,
                "mcp-protocol-version": state["protocol_version"],
            },
            content=json.dumps({"jsonrpc": "2.0", "id": "after-delete", "method": "ping"}),
        )
    if response.status_code != 404:
        fail(f"POST with the ended session id: expected 404, got {response.status_code} {response.text!r}")
    ok("POST with the ended session id -> 404")


async def checks(
    client: Client,
    connect_s: float,
    exchanges: list[Exchange],
    transport_errors: list[str],
    state: dict[str, Any],
) -> None:
    session = client.session
    if session.initialize_result is None:
        fail(
            "connect: expected the SDK to fall back to the initialize handshake, "
            f"but it adopted a server/discover result: {describe(session.discover_result)}"
        )
    if client.protocol_version not in HANDSHAKE_PROTOCOL_VERSIONS:
        fail(f"connect: unexpected protocolVersion {client.protocol_version!r}")
    if connect_s > MAX_CONNECT_S:
        fail(
            f"connect took {connect_s:.1f} s: the server/discover probe was probably left unanswered "
            "(the SDK waits 10 s before falling back to initialize)"
        )
    info = client.server_info
    if info is None or not info.name:
        fail(f"connect: serverInfo missing: {describe(session.initialize_result)}")
    if client.server_capabilities.tools is None:
        fail(f"connect: server does not advertise the tools capability: {describe(client.server_capabilities)}")
    probe = next((x for x in exchanges if x.what == "server/discover"), None)
    probe_answer = f"HTTP {probe.status}" if probe is not None else "no probe seen"
    ok(
        f"connect (server/discover probe -> {probe_answer} -> fallback to initialize in {connect_s:.2f} s, "
        f"protocolVersion {client.protocol_version}, server {info.name} {info.version})"
    )
    state["protocol_version"] = client.protocol_version

    # 2. session id: assigned on the initialize response, visible ASCII
    init = next((x for x in exchanges if x.what == "initialize"), None)
    if init is None:
        fail("session: no initialize POST was seen")
    session_id = init.got_session
    if not session_id:
        fail(f"session: the initialize response carried no Mcp-Session-Id: {init}")
    if not VISIBLE_ASCII.match(session_id):
        fail(f"session: Mcp-Session-Id must be visible ASCII (0x21-0x7E), got {session_id!r}")
    state["session_id"] = session_id
    ok(f"session id assigned on initialize ({len(session_id)} chars)")

    # 3. ping (legacy method, only valid on handshake-era connections)
    try:
        await session.send_ping()
    except MCPError as e:
        fail(f"ping: JSON-RPC error {e.code}: {e.message!r}")
    ok("ping")

    # 4. tools/list (follow pagination if any)
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
    missing = [n for n in EXPECTED_TOOLS if n not in names]
    if missing:
        fail(f"tools/list: missing tools {missing}; got {names}")
    add = next(t for t in tools if t.name == "add")
    if add.output_schema is None:
        fail(f"tools/list: add has no outputSchema: {describe(add)}")
    ok(f"tools/list ({len(names)} tools: {', '.join(names)})")

    # 5. echo
    res = await call_ok(client, "echo", {"text": "hello"})
    if res.is_error:
        fail(f"echo: isError result: {describe(res)}")
    text = text_of(res, "echo")
    if text != "hello":
        fail(f"echo: expected text 'hello', got {text!r}")
    ok('tools/call echo -> "hello"')

    # 6. add (the SDK also validates structuredContent against outputSchema)
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

    # 7. missing required parameter
    e = await call_err(client, "user.create@v1", {})
    if e.code != -32000 or e.message != "Missing required parameter: email":
        fail(
            "user.create@v1 {}: expected error -32000 'Missing required parameter: email', "
            f"got {e.code}: {e.message!r}"
        )
    ok('tools/call user.create@v1 {} -> -32000 "Missing required parameter: email"')

    # 8. schema violation
    e = await call_err(client, "user.create@v1", {"email": "not-an-email", "name": "Ada"})
    if e.code != -32007 or not e.message.startswith("Invalid parameters: "):
        fail(f"user.create@v1 bad email: expected error -32007 'Invalid parameters: ...', got {e.code}: {e.message!r}")
    ok(f"tools/call user.create@v1 bad email -> -32007 {e.message!r}")

    # 9. tool that always fails
    e = await call_err(client, "fail", {})
    if e.code != -32003:
        fail(f"fail: expected error -32003, got {e.code}: {e.message!r}")
    ok(f"tools/call fail -> -32003 {e.message!r}")

    # 10. valid create
    res = await call_ok(client, "user.create@v1", {"email": "ada@example.com", "name": "Ada"})
    if res.is_error:
        fail(f"user.create@v1 valid: isError result: {describe(res)}")
    shown = res.structured_content if res.structured_content is not None else res.content
    ok(f"tools/call user.create@v1 valid -> {describe(shown)}")

    # Every POST after initialize carried the session id and got a 2xx answer.
    posts = [x for x in exchanges if x.method == "POST"]
    after_init = posts[posts.index(init) + 1 :]
    unsent = [x for x in after_init if x.sent_session != session_id]
    if unsent:
        fail("session: requests without the session id: " + "; ".join(map(str, unsent)))
    refused = [x for x in after_init if x.status is None or not 200 <= x.status < 300]
    if refused:
        fail("HTTP: refused requests: " + "; ".join(map(str, refused)))
    ok(f"{len(after_init)} requests after initialize all carried Mcp-Session-Id and got 2xx")

    if transport_errors:
        fail("the SDK reported transport errors")
    ok("no transport or protocol errors")


async def main_async(url: str, exchanges: list[Exchange], transport_errors: list[str]) -> None:
    with anyio.fail_after(OVERALL_DEADLINE_S):
        await run_checks(url, exchanges, transport_errors)


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


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python clients/py/http_client.py <url of the /mcp endpoint>", file=sys.stderr)
        return 2
    url = sys.argv[1]
    exchanges: list[Exchange] = []
    transport_errors: list[str] = []
    try:
        anyio.run(main_async, url, exchanges, transport_errors)
    except BaseException as e:  # noqa: BLE001 - report anything, including exception groups
        print(f"FAIL: {explain(e)}", file=sys.stderr)
        if transport_errors:
            print("transport errors:", *(f"  {t}" for t in transport_errors), sep="\n", file=sys.stderr)
        if exchanges:
            print("--- HTTP exchanges ---", *(f"  {x}" for x in exchanges), "--- end ---", sep="\n", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
