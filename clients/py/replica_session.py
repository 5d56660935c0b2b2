"""Holds one session of the official Python MCP SDK through a load balancer in front of replicas.

Usage: clients/.venv/bin/python clients/py/replica_session.py <url>    (e.g. http://127.0.0.1:23450/mcp)

The client connects in "legacy" mode (the `initialize` handshake and a session) to replicas
that share the session, so that each request may reach another replica: tools, a subscription
whose update comes from wherever the counter changed, sampling requests answered to whichever
replica the answer reaches, and the session's end with `DELETE` on leaving the client, after
which a request that still names the session must get 404. It checks only what the session
shares, never the demo's own data (its users, the counter's value): each replica keeps that
in its process.

Prints one "ok ..." line per passed check on stdout and exits 0. Any failed check prints
"FAIL: ..." (plus the HTTP exchanges seen so far) on stderr and exits 1; every wait is bounded
(checks.py). The caller owns the servers and the load balancer.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx2
import mcp_types as types
from checks import (
    REQUEST_TIMEOUT_S,
    call_ok,
    check_connect,
    check_no_transport_errors,
    connect_and_close,
    describe,
    dump,
    fail,
    new_client,
    ok,
    report_failure,
    run,
    text_of,
)
from client_side import ClientSide
from features import COUNTER_URI, list_all, request_ok
from http_client import Exchange, check_session_assigned, recording_http_client
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

EXPECTED_TOOLS = ["echo", "counter.increment", "test_sampling"]
# How long the counter's update may take to arrive on the session's GET stream.
UPDATE_WAIT_S = 15.0
SAMPLING_CALLS = 3


def sampling_reply(n: int) -> str:
    """The reply to the n-th sampling request (from 1): what the tool's result must carry."""
    return f"Reply {n} of the Python client."


class NumberedReplies(ClientSide):
    """Answers the n-th sampling request with `sampling_reply(n)`."""

    async def sampling(self, _ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampling_requests.append(dump(params))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=sampling_reply(len(self.sampling_requests))),
            model="rampart-test-model",
            stop_reason="endTurn",
        )


async def run_checks(url: str, exchanges: list[Exchange], transport_errors: list[str]) -> None:
    state: dict[str, Any] = {}
    side = NumberedReplies()
    async with recording_http_client(exchanges) as http:
        client = new_client(
            streamable_http_client(url, http_client=http, terminate_on_close=True),
            "rampart-py-sdk-replica-session",
            transport_errors,
            **side.options(),
        )

        async def while_connected(connect_s: float) -> None:
            check_connect(client, connect_s)
            state["protocol_version"] = client.protocol_version
            _, state["session_id"] = check_session_assigned(exchanges)
            await check_tools(client)
            await check_subscription(client, side)
            await check_sampling(client, side)
            prompts = await list_all("prompts/list", "prompts", client.list_prompts)
            ok(f"prompts/list ({len(prompts)} prompts)")
            refused = [x for x in exchanges if x.method == "POST" and (x.status is None or not 200 <= x.status < 300)]
            if refused:
                fail("HTTP: refused requests: " + "; ".join(map(str, refused)))
            check_no_transport_errors(transport_errors)

        await connect_and_close(client, transport_errors, while_connected)

        session_id = state["session_id"]
        delete = next((x for x in reversed(exchanges) if x.method == "DELETE"), None)
        if delete is None or delete.sent_session != session_id or not 200 <= (delete.status or 0) < 300:
            fail(f"close: expected a 2xx answer to a DELETE with the session id, got {delete or 'no DELETE'}")
        ok(f"DELETE session -> {delete.status}")

    # On a connection of its own: ending the session may close the GET stream's connection,
    # and a pooled keep-alive socket may be that one.
    async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT_S) as fresh:
        response = await fresh.post(
            url,
            headers={
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
                "mcp-session-id": session_id,
                "mcp-protocol-version": state["protocol_version"],
            },
            content=json.dumps({"jsonrpc": "2.0", "id": "after-delete", "method": "ping"}),
        )
    if response.status_code != 404:
        fail(f"POST with the ended session id: expected 404, got {response.status_code} {response.text!r}")
    ok("POST with the ended session id -> 404")


async def check_tools(client: Client) -> None:
    """Checks that tools/list offers the tools used here, and that echo echoes."""
    tools = await list_all("tools/list", "tools", client.list_tools)
    names = [t.name for t in tools]
    missing = [name for name in EXPECTED_TOOLS if name not in names]
    if missing:
        fail(f"tools/list: missing {missing}; got {names}")
    ok(f"tools/list ({len(names)} tools, among them {', '.join(EXPECTED_TOOLS)})")

    sent = "across replicas"
    echoed = await call_ok(client, "echo", {"text": sent})
    text = text_of(echoed, "echo")
    if echoed.is_error or text != sent:
        fail(f"tools/call echo: expected {sent!r}, got {describe(echoed)}")
    ok(f"tools/call echo -> {text!r}")


async def check_subscription(client: Client, side: ClientSide) -> None:
    """Subscribes to the counter, raises it, and waits for the update (not for any value)."""
    await request_ok(f"resources/subscribe {COUNTER_URI}", lambda: client.subscribe_resource(COUNTER_URI))
    ok(f"resources/subscribe {COUNTER_URI}")
    incremented = await call_ok(client, "counter.increment", {})
    if incremented.is_error:
        fail(f"tools/call counter.increment: isError result: {describe(incremented)}")
    await side.updates_reach(1, UPDATE_WAIT_S)
    if not any(update.get("uri") == COUNTER_URI for update in side.resource_updates):
        fail(
            f"notifications/resources/updated for {COUNTER_URI}: none within {UPDATE_WAIT_S:.0f} s "
            f"of counter.increment (got {describe(side.resource_updates)})"
        )
    ok(f"counter.increment -> notifications/resources/updated {COUNTER_URI}")


async def check_sampling(client: Client, side: ClientSide) -> None:
    """Calls test_sampling repeatedly; each result must carry the client's answer to its request."""
    for n in range(1, SAMPLING_CALLS + 1):
        sampled = await call_ok(client, "test_sampling", {"prompt": f"Question {n}"})
        if len(side.sampling_requests) != n:
            fail(f"test_sampling call {n}: the client answered {len(side.sampling_requests)} sampling requests so far")
        reply = sampling_reply(n)
        text = text_of(sampled, "test_sampling")
        if sampled.is_error or reply not in text:
            fail(f"test_sampling call {n}: expected a result with {reply!r}, got {describe(sampled)}")
        ok(f"test_sampling call {n} -> sampling/createMessage answered -> {text!r}")


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python clients/py/replica_session.py <url of the /mcp endpoint>", file=sys.stderr)
        return 2
    exchanges: list[Exchange] = []
    transport_errors: list[str] = []
    failure = run(run_checks, sys.argv[1], exchanges, transport_errors)
    if failure is None:
        return 0
    report_failure(failure, transport_errors)
    if exchanges:
        print("--- HTTP exchanges ---", *(f"  {x}" for x in exchanges), "--- end ---", sep="\n", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
