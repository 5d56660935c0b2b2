"""Drives the rampart demo server with the official Python MCP SDK over stdio.

Usage: clients/.venv/bin/python clients/py/stdio_client.py <path-to-rampart-demo> [extra server args...]

Prints one "ok ..." line per passed check on stdout and exits 0. Any failed
check prints "FAIL: ..." (plus the tail of the server's stderr) on stderr and
exits 1.

The client connects in "legacy" mode (the `initialize` handshake; modern.py checks
2026-07-28). The checks shared with the
HTTP client live in checks.py, features.py and client_side.py.
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any

from checks import (
    check_connect,
    check_no_transport_errors,
    check_tools,
    connect_and_close,
    describe,
    fail,
    new_client,
    ok,
    report_failure,
    run,
)
from client_side import ClientSide
from features import check_features
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client

EXPECTED_TOOLS = ["user.create@v1", "user.get@v1", "echo", "add", "sleep", "fail"]


async def run_checks(bin_path: str, extra_args: list[str], errlog: Any, transport_errors: list[str]) -> None:
    params = StdioServerParameters(command=bin_path, args=["--transport", "stdio", *extra_args])
    side = ClientSide()
    client = new_client(stdio_client(params, errlog=errlog), "rampart-py-sdk-check", transport_errors, **side.options())

    async def while_connected(connect_s: float) -> None:
        check_connect(client, connect_s)
        await check_discover_after_initialize(client)
        await check_tools(client, EXPECTED_TOOLS)
        await check_features(client, side)
        check_no_transport_errors(transport_errors)

    await connect_and_close(client, transport_errors, while_connected)


async def check_discover_after_initialize(client: Client) -> None:
    """server/discover after initialize is still unknown to a handshake-era server."""
    try:
        raw = await client.session.send_discover("2026-07-28")
    except MCPError as e:
        if e.code != -32601:
            fail(f"server/discover: expected error -32601, got {e.code}: {e.message!r}")
        ok(f"server/discover -> -32601 {e.message!r}")
    else:
        fail(f"server/discover: expected error -32601, got result {describe(raw)}")


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python clients/py/stdio_client.py <path-to-rampart-demo>", file=sys.stderr)
        return 2
    bin_path, extra_args = sys.argv[1], sys.argv[2:]
    transport_errors: list[str] = []
    # The server's stderr (JSON log lines) goes to a temp file, shown only on failure.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errlog:
        failure = run(run_checks, bin_path, extra_args, errlog, transport_errors)
        if failure is None:
            return 0
        report_failure(failure, transport_errors)
        errlog.flush()
        errlog.seek(0)
        tail = errlog.read().splitlines()[-40:]
        if tail:
            print("--- server stderr (tail) ---", *tail, "--- end server stderr ---", sep="\n", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
