"""The requests the demo's fixtures send to the client, checked with the Python SDK clients.

sampling/createMessage and elicitation/create answered by this client's callbacks, and the
progress notifications of a tool call. A `ClientSide` holds the callbacks and what the server
sent: pass `ClientSide.options()` to `checks.new_client` (installing the callbacks is what
declares the sampling and elicitation capabilities); features.py runs the checks.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from checks import REQUEST_TIMEOUT_S, call_ok, describe, dump, expect_equal, fail, ok, parse_json, text_of
from mcp import Client, MCPError

SAMPLING_PROMPT = "Name a colour."
SAMPLING_REPLY = "Teal, says the Python client."
ELICITED = {"username": "ada", "email": "ada@example.com"}


class ClientSide:
    """This client's answers to the server's requests, and what the server sent it."""

    def __init__(self) -> None:
        self.sampling_requests: list[dict[str, Any]] = []
        self.elicitation_requests: list[dict[str, Any]] = []
        self.resource_updates: list[dict[str, Any]] = []
        self._update_arrived = anyio.Event()

    def options(self) -> dict[str, Any]:
        """Keyword arguments for `checks.new_client`."""
        return {
            "on_notification": self.on_notification,
            "sampling_callback": self.sampling,
            "elicitation_callback": self.elicitation,
        }

    def on_notification(self, message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.resource_updates.append(dump(message.params))
            self._update_arrived.set()

    async def sampling(self, _ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampling_requests.append(dump(params))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=SAMPLING_REPLY),
            model="rampart-test-model",
            stop_reason="endTurn",
        )

    async def elicitation(self, _ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicitation_requests.append(dump(params))
        return types.ElicitResult(action="accept", content=dict(ELICITED))

    async def updates_reach(self, count: int, seconds: float) -> None:
        """Returns once `resource_updates` holds `count` entries, or after `seconds`."""
        with anyio.move_on_after(seconds):
            while len(self.resource_updates) < count:
                self._update_arrived = anyio.Event()
                await self._update_arrived.wait()


async def check_client_requests(client: Client, side: ClientSide) -> None:
    sampled = await call_ok(client, "test_sampling", {"prompt": SAMPLING_PROMPT})
    seen = [r["messages"] for r in side.sampling_requests]
    expected = [[{"role": "user", "content": {"type": "text", "text": SAMPLING_PROMPT}}]]
    expect_equal(seen, expected, "sampling/createMessage messages seen by the callback")
    expect_equal(side.sampling_requests[0].get("maxTokens"), 100, "sampling/createMessage maxTokens")
    if sampled.is_error:
        fail(f"test_sampling: isError result: {describe(sampled)}")
    text = text_of(sampled, "test_sampling")
    expect_equal(text, f"LLM response: {SAMPLING_REPLY}", "test_sampling result text")
    ok(f"test_sampling -> sampling/createMessage answered by the client -> {text!r}")

    message = "Who are you?"
    elicited = await call_ok(client, "test_elicitation", {"message": message})
    expect_equal(len(side.elicitation_requests), 1, "elicitation/create requests seen by the callback")
    request = side.elicitation_requests[0]
    fields = sorted(request.get("requestedSchema", {}).get("properties", {}))
    expect_equal(
        [request.get("message"), request.get("mode", "form"), fields],
        [message, "form", ["email", "username"]],
        "elicitation/create params",
    )
    if elicited.is_error:
        fail(f"test_elicitation: isError result: {describe(elicited)}")
    text = text_of(elicited, "test_elicitation")
    prefix = "User response: action=accept, content="
    if not text.startswith(prefix):
        fail(f"test_elicitation: expected text starting {prefix!r}, got {text!r}")
    expect_equal(parse_json(text[len(prefix) :], "test_elicitation content"), ELICITED, "test_elicitation content")
    ok(f"test_elicitation -> elicitation/create accepted by the client -> {text!r}")


async def check_progress(client: Client) -> None:
    # The SDK routes a progress notification to the callback only while its request waits
    # for the response: whatever `seen` holds arrived before the result.
    seen: list[dict[str, Any]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append({"progress": progress, "total": total, "message": message})

    try:
        with anyio.fail_after(REQUEST_TIMEOUT_S):
            res = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    except MCPError as e:
        fail(f"test_tool_with_progress: expected a result, got JSON-RPC error {e.code}: {e.message!r}")
    if res.is_error:
        fail(f"test_tool_with_progress: isError result: {describe(res)}")
    expect_equal(text_of(res, "test_tool_with_progress"), "Progress reported", "test_tool_with_progress text")
    # Each callback runs as a task of its own, started in arrival order; let them all run.
    await anyio.sleep(0.1)
    expected = [
        {"progress": step, "total": 100.0, "message": f"Completed step {step:.0f} of 100"}
        for step in (0.0, 50.0, 100.0)
    ]
    expect_equal(seen, expected, "test_tool_with_progress progress notifications before the result")
    values = ", ".join(f"{p['progress']:g}" for p in seen)
    ok(f"test_tool_with_progress -> progress {values} of 100 before the result")
