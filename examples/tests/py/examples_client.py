"""Drives the example programs with the official Python MCP SDK over stdio.

Usage: clients/.venv/bin/python examples/tests/py/examples_client.py <example> <path-to-binary>
where <example> is stdio-minimal or resources-prompts.

Prints one "ok ..." line per passed check on stdout and exits 0. A failed check prints
"FAIL: ..." (and the tail of the server's stderr) on stderr and exits 1. Reporting, the
client and the request helpers are the demo clients' own (clients/py/checks.py and
features.py); only the expectations about the examples live here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "clients" / "py"))

import mcp_types as types  # noqa: E402
from checks import (  # noqa: E402
    call_err,
    call_ok,
    check_no_transport_errors,
    connect_and_close,
    describe,
    dump,
    expect_equal,
    fail,
    new_client,
    ok,
    parse_json,
    report_failure,
    run,
    text_of,
)
from features import list_all, only_text, request_err, request_ok  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def check_server_info(client: Client) -> None:
    """`server_info!()` names the crate the server is written in, not rampart-core."""
    info = client.server_info
    if info is None:
        fail("connect: no serverInfo")
    expect_equal([info.name, info.version], ["rampart-examples", "0.1.0"], "serverInfo")
    ok(f"connect (serverInfo {info.name} {info.version})")


async def check_stdio_minimal(client: Client) -> None:
    check_server_info(client)
    tools = await list_all("tools/list", "tools", client.list_tools)
    expect_equal([t.name for t in tools], ["greet"], "tools/list names")
    greet = dump(tools[0])
    expect_equal(greet.get("description"), "Greets someone by name.", "greet description")
    expected_schema = {
        "$schema": DIALECT,
        "title": "Greet",
        "description": "Whom to greet.",
        "type": "object",
        "properties": {"name": {"description": "The name to put in the greeting.", "type": "string"}},
        "required": ["name"],
    }
    expect_equal(greet["inputSchema"], expected_schema, "greet inputSchema (derived from the struct)")
    ok(f"tools/list -> greet, inputSchema {describe(greet['inputSchema'])}")

    res = await call_ok(client, "greet", {"name": "Ada"})
    expect_equal([res.is_error, text_of(res, "greet")], [False, "Hello, Ada!"], "greet Ada")
    ok('tools/call greet {"name": "Ada"} -> "Hello, Ada!"')

    e = await call_err(client, "greet", {})
    expect_equal([e.code, e.message], [-32000, "Missing required parameter: name"], "greet {}")
    ok(f"tools/call greet {{}} -> {e.code} {e.message!r}")

    e = await call_err(client, "greet", {"name": 7})
    if e.code != -32007 or not e.message.startswith("Invalid parameters: name: "):
        fail(f'greet {{"name": 7}}: expected -32007 "Invalid parameters: name: ...", got {e.code}: {e.message!r}')
    ok(f'tools/call greet {{"name": 7}} -> {e.code} {e.message!r}')


async def check_resources_prompts(client: Client) -> None:
    check_server_info(client)
    caps = client.server_capabilities
    if caps.resources is None or caps.prompts is None or caps.completions is None or caps.tools is not None:
        fail(f"capabilities: expected resources, prompts and completions and no tools, got {describe(caps)}")
    ok("capabilities follow what is registered: resources, prompts, completions, no tools")

    resources = await list_all("resources/list", "resources", client.list_resources)
    expect_equal([r.uri for r in resources], ["notes://readme"], "resources/list")
    readme = await only_text(client, "notes://readme", "text/plain")
    if "notes://{folder}/{id}" not in readme:
        fail(f"resources/read notes://readme: unexpected text {readme!r}")
    ok(f"resources/read notes://readme -> {readme!r}")

    templates = await list_all("resources/templates/list", "resource_templates", client.list_resource_templates)
    listed = [[t.uri_template, t.mime_type] for t in templates]
    expect_equal(listed, [["notes://{folder}/{id}", "application/json"]], "resources/templates/list")
    ok("resources/templates/list -> notes://{folder}/{id} (application/json)")

    text = await only_text(client, "notes://work/12", "application/json")
    note = parse_json(text, "resources/read notes://work/12")
    expect_equal([note.get("folder"), note.get("id")], ["work", 12], "resources/read notes://work/12")
    ok(f"resources/read notes://work/12 -> {text}")

    for uri, code in [("notes://home/12", -32002), ("notes://work/x", -32602), ("notes://attic/1", -32602)]:
        e = await request_err(f"resources/read {uri}", lambda uri=uri: client.read_resource(uri))
        expect_equal(e.code, code, f"resources/read {uri} error code ({e.message!r})")
        ok(f"resources/read {uri} -> {e.code} {e.message!r}")

    prompts = await list_all("prompts/list", "prompts", client.list_prompts)
    expect_equal([p.name for p in prompts], ["note.summarize"], "prompts/list")
    expected_arguments = [
        {"name": "folder", "description": "The folder the note is in.", "required": True},
        {"name": "id", "description": "The note's number.", "required": True},
        {"name": "style", "description": "How the summary should read; brief unless given.", "required": False},
    ]
    expect_equal(dump(prompts[0].arguments), expected_arguments, "prompts/list arguments (derived from the struct)")
    ok("prompts/list -> note.summarize with folder, id (required) and style")

    args = {"folder": "home", "id": "2", "style": "bullets"}
    got = await request_ok("prompts/get note.summarize", lambda: client.get_prompt("note.summarize", args))
    messages = dump(got.messages)
    text = messages[0]["content"].get("text", "") if len(messages) == 1 else ""
    if not text.startswith("Summarize this note as a bulleted list.") or "Groceries" not in text:
        fail(f"prompts/get note.summarize {describe(args)}: unexpected messages {describe(messages)}")
    ok(f"prompts/get note.summarize {describe(args)} -> {text.splitlines()[0]!r}")

    for bad, code, needle in [
        ({"folder": "home"}, -32602, "id"),
        ({"folder": "home", "id": "two"}, -32602, "id"),
        ({"folder": "home", "id": "7"}, -32602, "No note 7"),
    ]:
        what = f"prompts/get note.summarize {describe(bad)}"
        e = await request_err(what, lambda bad=bad: client.get_prompt("note.summarize", bad))
        if e.code != code or needle not in e.message:
            fail(f"{what}: expected {code} with {needle!r} in the message, got {e.code}: {e.message!r}")
        ok(f"{what} -> {e.code} {e.message!r}")

    template = types.ResourceTemplateReference(uri="notes://{folder}/{id}")
    prompt = types.PromptReference(name="note.summarize")
    cases: list[tuple[Any, str, str, dict[str, str] | None, list[str]]] = [
        (prompt, "style", "b", None, ["brief", "bullets"]),
        (prompt, "folder", "h", None, ["home"]),
        (template, "folder", "", None, ["work", "home"]),
        (template, "id", "1", {"folder": "work"}, ["1", "12"]),
        (template, "id", "", {"folder": "home"}, ["2"]),
        (template, "id", "", None, ["1", "12", "2"]),
    ]
    for ref, name, value, context, expected in cases:
        what = f"completion/complete {describe(ref)} {name}={value!r} context {describe(context)}"
        res = await request_ok(
            what,
            lambda ref=ref, name=name, value=value, context=context: client.complete(
                ref, {"name": name, "value": value}, context
            ),
        )
        expect_equal(res.completion.values, expected, what)
        ok(f"{what} -> {describe(res.completion.values)}")


CHECKS = {"stdio-minimal": check_stdio_minimal, "resources-prompts": check_resources_prompts}


async def run_checks(example: str, bin_path: str, errlog: Any, transport_errors: list[str]) -> None:
    params = StdioServerParameters(command=bin_path, args=[])
    client = new_client(stdio_client(params, errlog=errlog), "rampart-examples-check", transport_errors)

    async def while_connected(_connect_s: float) -> None:
        await CHECKS[example](client)
        check_no_transport_errors(transport_errors)

    await connect_and_close(client, transport_errors, while_connected)


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in CHECKS:
        print(f"usage: examples_client.py {{{','.join(CHECKS)}}} <path-to-binary>", file=sys.stderr)
        return 2
    example, bin_path = sys.argv[1], sys.argv[2]
    transport_errors: list[str] = []
    # The server's stderr (JSON log lines) goes to a temp file, shown only on failure.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errlog:
        failure = run(run_checks, example, bin_path, errlog, transport_errors)
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
