"""Drives a running rampart demo server with the official Python MCP SDK over Streamable HTTP.

Usage: clients/.venv/bin/python clients/py/http_client.py <url>    (e.g. http://127.0.0.1:23450/mcp)

Prints one "ok ..." line per passed check on stdout and exits 0. Any failed
check prints "FAIL: ..." (plus the HTTP exchanges seen so far) on stderr and
exits 1. The server is not started here: the caller owns it and its logs.

The client connects in "legacy" mode (the `initialize` handshake and a session;
modern.py checks 2026-07-28). On leaving the client the transport ends the session
with `DELETE`; a request that still names that session must then get 404.
The checks shared with the stdio client live in checks.py, features.py and client_side.py.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import httpx2
from checks import (
    REQUEST_TIMEOUT_S,
    check_connect,
    check_no_transport_errors,
    check_tools,
    connect_and_close,
    fail,
    new_client,
    ok,
    report_failure,
    run,
)
from client_side import ClientSide
from features import check_features
from mcp.client.streamable_http import streamable_http_client

EXPECTED_TOOLS = ["user.create@v1", "user.get@v1", "echo", "add", "sleep", "fail", "panic"]
SESSION_HEADER = "mcp-session-id"
VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]+$")


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


async def run_checks(url: str, exchanges: list[Exchange], transport_errors: list[str]) -> None:
    state: dict[str, Any] = {}
    side = ClientSide()
    async with recording_http_client(exchanges) as http:
        client = new_client(
            streamable_http_client(url, http_client=http, terminate_on_close=True),
            "rampart-py-sdk-http-check",
            transport_errors,
            **side.options(),
        )

        async def while_connected(connect_s: float) -> None:
            check_connect(client, connect_s)
            state["protocol_version"] = client.protocol_version
            init, state["session_id"] = check_session_assigned(exchanges)
            await check_tools(client, EXPECTED_TOOLS)
            await check_features(client, side)
            check_session_carried(exchanges, init, state["session_id"])
            check_get_stream(exchanges, state["session_id"])
            check_no_transport_errors(transport_errors)

        await connect_and_close(client, transport_errors, while_connected)

        # leaving the client ended the session with DELETE
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

    # A request with the ended session id must get 404 Not Found (Streamable HTTP, session
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


def check_session_assigned(exchanges: list[Exchange]) -> tuple[Exchange, str]:
    """Checks that the initialize response assigned a visible-ASCII session id; returns both."""
    init = next((x for x in exchanges if x.what == "initialize"), None)
    if init is None:
        fail("session: no initialize POST was seen")
    session_id = init.got_session
    if not session_id:
        fail(f"session: the initialize response carried no Mcp-Session-Id: {init}")
    if not VISIBLE_ASCII.match(session_id):
        fail(f"session: Mcp-Session-Id must be visible ASCII (0x21-0x7E), got {session_id!r}")
    ok(f"session id assigned on initialize ({len(session_id)} chars)")
    return init, session_id


def check_session_carried(exchanges: list[Exchange], init: Exchange, session_id: str) -> None:
    """Checks that every POST after initialize carried the session id and got a 2xx answer."""
    posts = [x for x in exchanges if x.method == "POST"]
    after_init = posts[posts.index(init) + 1 :]
    unsent = [x for x in after_init if x.sent_session != session_id]
    if unsent:
        fail("session: requests without the session id: " + "; ".join(map(str, unsent)))
    refused = [x for x in after_init if x.status is None or not 200 <= x.status < 300]
    if refused:
        fail("HTTP: refused requests: " + "; ".join(map(str, refused)))
    ok(f"{len(after_init)} requests after initialize all carried Mcp-Session-Id and got 2xx")


def check_get_stream(exchanges: list[Exchange], session_id: str) -> None:
    """Checks that the session's GET stream (where notifications/resources/updated rides) was opened."""
    streams = [x for x in exchanges if x.method == "GET"]
    opened = [x for x in streams if x.status == 200 and (x.content_type or "").startswith("text/event-stream")]
    if not opened or opened[0].sent_session != session_id:
        shown = "; ".join(map(str, streams)) or "no GET"
        fail(f"GET stream: expected a GET with the session id answered 200 text/event-stream, got {shown}")
    ok("the session's GET stream was opened (200 text/event-stream)")


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python clients/py/http_client.py <url of the /mcp endpoint>", file=sys.stderr)
        return 2
    url = sys.argv[1]
    exchanges: list[Exchange] = []
    transport_errors: list[str] = []
    failure = run(run_checks, url, exchanges, transport_errors)
    if failure is None:
        return 0
    report_failure(failure, transport_errors)
    if exchanges:
        print("--- HTTP exchanges ---", *(f"  {x}" for x in exchanges), "--- end ---", sep="\n", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
