"""Drives a running rampart demo server over Streamable HTTP with the Python MCP SDK on the
MCP 2026-07-28 revision.

Usage: clients/.venv/bin/python clients/py/modern.py <url>    (e.g. http://127.0.0.1:23450/mcp)

The client negotiates by itself, in the SDK's default mode ("auto"): it probes
`server/discover` and adopts the result when it offers a modern revision (falling back to
`initialize` otherwise). It must settle on 2026-07-28; then it lists tools, calls echo and
user.create@v1, and calls test_elicitation, whose `input_required` answer the SDK hands to
the elicitation callback before retrying with `inputResponses`. On the wire: no session (no
Mcp-Session-Id either way), no initialize, and every POST carries MCP-Protocol-Version
2026-07-28 and got 2xx.

Prints one "ok ..." line per passed check and a one-line JSON summary on stdout, exits 0.
A failed check prints "FAIL: ..." and the HTTP exchanges on stderr, the JSON summary
({"ok": false, ...}) on stdout, and exits 1. The caller owns the server.
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, NoReturn

import anyio
import httpx2
import mcp_types as types
from mcp import Client, Implementation, MCPError
from mcp.client.streamable_http import streamable_http_client
from pydantic import ValidationError

MODERN_VERSION = "2026-07-28"
OVERALL_DEADLINE_S = 45.0
REQUEST_TIMEOUT_S = 10.0
EXPECTED_TOOLS = ["user.create@v1", "user.get@v1", "echo", "test_elicitation"]
ELICITATION_MESSAGE = "Who are you, Python client?"
ELICITED = {"username": "ada", "email": "ada@example.com"}

warnings.simplefilter("ignore", DeprecationWarning)


class CheckFailed(Exception):
    pass


SUMMARY: dict[str, Any] = {"client": "rampart-py-sdk-modern-http", "transport": "http", "ok": False, "checks": 0}


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


def ok(message: str) -> None:
    SUMMARY["checks"] += 1
    print(f"ok {message}", flush=True)


def describe(value: Any) -> str:
    if hasattr(value, "model_dump"):
        value = value.model_dump(by_alias=True, mode="json", exclude_none=True)
    return json.dumps(value, default=str)


def expect_equal(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        fail(f"{what}: expected {describe(expected)}, got {describe(actual)}")


def text_of(result: Any, what: str) -> str:
    texts = [c for c in result.content if getattr(c, "type", None) == "text"]
    if len(texts) != 1:
        fail(f"{what}: expected exactly one text content item, got {describe(result.content)}")
    return texts[0].text


@dataclass
class Exchange:
    """One HTTP request the SDK made, and what came back."""

    method: str
    what: str
    headers: dict[str, str]
    body: str = ""
    status: int | None = None
    content_type: str | None = None
    got_session: str | None = None
    reply: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        sent = {h: self.headers[h] for h in ("mcp-protocol-version", "mcp-method", "mcp-session-id") if h in self.headers}
        reply = f" {clip(self.reply)}" if self.reply else ""
        session = f" (Mcp-Session-Id {self.got_session})" if self.got_session else ""
        return f"  {self.method} {self.what} {sent} {clip(self.body)}\n    -> {self.status} {self.content_type or '-'}{reply}{session}"


def clip(text: str, limit: int = 1200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


def recording_http_client(exchanges: list[Exchange]) -> httpx2.AsyncClient:
    """An HTTP client with the SDK's default timeouts that records every exchange (and JSON replies)."""

    async def on_request(request: httpx2.Request) -> None:
        what, body = "", ""
        if request.method == "POST":
            try:
                body = request.content.decode("utf-8", "replace")
                parsed = json.loads(body)
                if isinstance(parsed, dict):
                    what = parsed.get("method") or f"response to {parsed.get('id')}"
                else:
                    what = "batch"
            except (ValueError, httpx2.RequestNotRead):
                what = "non-JSON body"
        exchange = Exchange(request.method, what, {k.lower(): v for k, v in request.headers.items()}, body)
        request.extensions["rampart_exchange"] = exchange
        exchanges.append(exchange)

    async def on_response(response: httpx2.Response) -> None:
        exchange = response.request.extensions.get("rampart_exchange")
        if exchange is None:
            return
        exchange.status = response.status_code
        exchange.content_type = response.headers.get("content-type")
        exchange.got_session = response.headers.get("mcp-session-id")
        # A JSON reply is whole and short: keep a copy for the failure report.
        if (exchange.content_type or "").startswith("application/json"):
            await response.aread()
            exchange.reply = response.text

    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(30.0, read=300.0),
        event_hooks={"request": [on_request], "response": [on_response]},
    )


async def run_checks(url: str, exchanges: list[Exchange], transport_errors: list[str]) -> None:
    elicitations: list[dict[str, Any]] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            transport_errors.append(f"{type(message).__name__}: {message}")

    async def elicitation(_ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        elicitations.append(params.model_dump(by_alias=True, mode="json", exclude_none=True))
        return types.ElicitResult(action="accept", content=dict(ELICITED))

    async with recording_http_client(exchanges) as http:
        client = Client(
            streamable_http_client(url, http_client=http),
            client_info=Implementation(name=SUMMARY["client"], version="0.0.0"),
            read_timeout_seconds=REQUEST_TIMEOUT_S,
            message_handler=on_message,
            elicitation_callback=elicitation,
            cache=None,
        )
        try:
            async with client:
                check_negotiated(client, exchanges)
                await check_tools(client)
                await check_elicitation(client, elicitations)
        except MCPError as e:
            fail(f"JSON-RPC error {e.code}: {e.message!r}")
    check_wire(exchanges)
    if transport_errors:
        fail("the SDK reported transport errors")
    ok("no transport errors; close")


def check_negotiated(client: Client, exchanges: list[Exchange]) -> None:
    session = client.session
    version = client.protocol_version
    SUMMARY["protocolVersion"] = version
    probe = next((x for x in exchanges if x.what == "server/discover"), None)
    SUMMARY["era"] = "modern" if session.discover_result is not None and session.initialize_result is None else "legacy"
    if version != MODERN_VERSION or session.discover_result is None or session.initialize_result is not None:
        fail(
            f"negotiation: expected {MODERN_VERSION} adopted from server/discover, got protocol version {version!r} "
            f"({'initialize fallback' if session.initialize_result is not None else 'no initialize'}); "
            f"the probe was answered: {probe.status if probe else '-'} {probe.reply if probe else 'no probe seen'}"
        )
    discover = session.discover_result
    caps = client.server_capabilities
    if caps.tools is None:
        fail(f"server/discover: no tools capability: {describe(discover)}")
    info = client.server_info
    SUMMARY["server"] = f"{info.name} {info.version}" if info else None
    ok(
        f"negotiated {version} via server/discover (supportedVersions {discover.supported_versions}, "
        f"server {f'{info.name} {info.version}' if info else '(anonymous)'})"
    )


async def check_tools(client: Client) -> None:
    listing = await client.list_tools()
    names = [t.name for t in listing.tools]
    missing = [n for n in EXPECTED_TOOLS if n not in names]
    if missing:
        fail(f"tools/list: missing tools {missing}; got {names}")
    SUMMARY["tools"] = len(names)
    ok(f"tools/list ({len(names)} tools, including {', '.join(EXPECTED_TOOLS)})")

    res = await client.call_tool("echo", {"text": "hello, 2026"})
    if res.is_error:
        fail(f"echo: isError result: {describe(res)}")
    expect_equal(text_of(res, "echo"), "hello, 2026", "echo text")
    ok('tools/call echo -> "hello, 2026"')

    args = {"email": "lin@example.com", "name": "Lin"}
    res = await client.call_tool("user.create@v1", args)
    user = res.structured_content
    if res.is_error or not isinstance(user, dict) or not isinstance(user.get("id"), str):
        fail(f"user.create@v1: expected a user with an id, got {describe(res)}")
    expect_equal({"email": user.get("email"), "name": user.get("name")}, args, "user.create@v1 structuredContent")
    ok(f"tools/call user.create@v1 -> {describe(user)}")


async def check_elicitation(client: Client, elicitations: list[dict[str, Any]]) -> None:
    res = await client.call_tool("test_elicitation", {"message": ELICITATION_MESSAGE})
    expect_equal(len(elicitations), 1, "elicitation requests handed to the callback")
    params = elicitations[0]
    fields = sorted((params.get("requestedSchema") or {}).get("properties", {}))
    expect_equal([params.get("message"), fields], [ELICITATION_MESSAGE, ["email", "username"]], "elicitation params")
    if res.is_error:
        fail(f"test_elicitation: isError result: {describe(res)}")
    text = text_of(res, "test_elicitation")
    prefix = "User response: action=accept, content="
    if not text.startswith(prefix):
        fail(f"test_elicitation: expected text starting {prefix!r}, got {text!r}")
    try:
        echoed = json.loads(text[len(prefix) :])
    except ValueError:
        fail(f"test_elicitation: content in the result text is not JSON: {text!r}")
    expect_equal(echoed, ELICITED, "test_elicitation: the content the tool got back")
    ok(f"tools/call test_elicitation -> input_required answered by the elicitation callback -> {text!r}")


def check_wire(exchanges: list[Exchange]) -> None:
    if any(x.what == "initialize" for x in exchanges):
        fail("stateless: the SDK sent initialize")
    sessions = [x for x in exchanges if "mcp-session-id" in x.headers or x.got_session]
    if sessions:
        fail("stateless: Mcp-Session-Id was sent or assigned:\n" + "\n".join(map(str, sessions)))
    posts = [x for x in exchanges if x.method == "POST"]
    for x in posts:
        if x.status is None or not 200 <= x.status < 300:
            fail(f"HTTP: a POST was refused: {x}")
        if x.headers.get("mcp-protocol-version") != MODERN_VERSION:
            fail(f"HTTP: POST without MCP-Protocol-Version {MODERN_VERSION}: {x}")
    calls = [x for x in posts if x.what == "tools/call" and '"test_elicitation"' in x.body]
    if len(calls) != 2 or "inputResponses" not in calls[1].body:
        fail("test_elicitation: expected a tools/call and its retry with inputResponses, got:\n" + "\n".join(map(str, calls)))
    SUMMARY["posts"] = len(posts)
    others = [f"{x.method} -> {x.status}" for x in exchanges if x.method != "POST"]
    ok(
        f"{len(posts)} POSTs without a session, each with MCP-Protocol-Version {MODERN_VERSION}, all 2xx; "
        f"test_elicitation took a call and a retry with inputResponses" + (f"; other requests: {', '.join(others)}" if others else "")
    )


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaf_exceptions(sub)]
    return [exc]


def explain(exc: BaseException) -> str:
    import traceback

    leaves = leaf_exceptions(exc)
    for leaf in leaves:
        if isinstance(leaf, CheckFailed):
            return str(leaf)
    for leaf in leaves:
        if isinstance(leaf, TimeoutError):
            return f"overall deadline of {OVERALL_DEADLINE_S:.0f} s exceeded"
    for leaf in leaves:
        if isinstance(leaf, MCPError):
            return f"JSON-RPC error {leaf.code}: {leaf.message!r}"
    for leaf in leaves:
        if isinstance(leaf, ValidationError):
            return f"the SDK rejected what the server sent: {leaf}"
    return "unexpected exception:\n" + "".join(traceback.format_exception(exc))


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python clients/py/modern.py <url of the /mcp endpoint>", file=sys.stderr)
        return 2
    url = sys.argv[1]
    exchanges: list[Exchange] = []
    transport_errors: list[str] = []

    async def bounded() -> None:
        with anyio.fail_after(OVERALL_DEADLINE_S):
            await run_checks(url, exchanges, transport_errors)

    try:
        anyio.run(bounded)
    except BaseException as e:  # noqa: BLE001 - report anything, including exception groups
        failure = explain(e)
        print(f"FAIL: {failure}", file=sys.stderr)
        if transport_errors:
            print("transport errors:", *(f"  {t}" for t in transport_errors), sep="\n", file=sys.stderr)
        if exchanges:
            print("--- HTTP exchanges ---", *map(str, exchanges), "--- end ---", sep="\n", file=sys.stderr)
        print(json.dumps({**SUMMARY, "ok": False, "error": failure}), flush=True)
        return 1
    print(json.dumps({**SUMMARY, "ok": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
