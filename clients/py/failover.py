"""Holds one session of the official Python MCP SDK through a load balancer while a replica dies.

Usage: clients/.venv/bin/python clients/py/failover.py <url>    (e.g. http://127.0.0.1:23450/mcp)

The client connects in "legacy" mode (the `initialize` handshake and a session), lists the
tools and calls echo, then prints "READY" and waits for a line on stdin: meanwhile the caller
kills a replica. Then, on the same session, it calls echo and lists the tools again, and ends
the session with `DELETE` on leaving the client.

Prints one "ok ..." line per passed check on stdout and exits 0. Any failed check prints
"FAIL: ..." on stderr and exits 1. The servers and the load balancer are not started here:
the caller owns them and their logs.
"""

from __future__ import annotations

import sys

import anyio
from checks import (
    call_ok,
    check_connect,
    check_no_transport_errors,
    connect_and_close,
    fail,
    new_client,
    ok,
    report_failure,
    run,
    text_of,
)
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client


async def run_checks(url: str, transport_errors: list[str]) -> None:
    client = new_client(
        streamable_http_client(url, terminate_on_close=True),
        "rampart-py-sdk-failover-check",
        transport_errors,
    )

    async def while_connected(connect_s: float) -> None:
        check_connect(client, connect_s)
        await check_list_tools(client, "before")
        await check_echo(client, "before")
        print("READY", flush=True)
        go_ahead = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        if not go_ahead:
            fail("stdin ended before the line that says a replica was killed")
        ok("a replica was killed")
        await check_echo(client, "after")
        await check_list_tools(client, "after")
        check_no_transport_errors(transport_errors)

    await connect_and_close(client, transport_errors, while_connected)


async def check_list_tools(client: Client, when: str) -> None:
    """Checks that tools/list offers echo."""
    try:
        page = await client.list_tools()
    except MCPError as e:
        fail(f"tools/list {when} the kill: JSON-RPC error {e.code}: {e.message!r}")
    names = [t.name for t in page.tools]
    if "echo" not in names:
        fail(f"tools/list {when} the kill: no echo in {names}")
    ok(f"tools/list {when} the kill ({len(names)} tools)")


async def check_echo(client: Client, when: str) -> None:
    """Checks that echo answers with its text."""
    sent = f"echo {when} the kill"
    result = await call_ok(client, "echo", {"text": sent})
    if result.is_error:
        fail(f"echo {when} the kill: isError result")
    text = text_of(result, "echo")
    if text != sent:
        fail(f"echo {when} the kill: expected {sent!r}, got {text!r}")
    ok(f'tools/call echo {when} the kill -> "{text}"')


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python clients/py/failover.py <url of the /mcp endpoint>", file=sys.stderr)
        return 2
    transport_errors: list[str] = []
    failure = run(run_checks, sys.argv[1], transport_errors)
    if failure is None:
        return 0
    report_failure(failure, transport_errors)
    return 1


if __name__ == "__main__":
    sys.exit(main())
