//! `rampart-demo`: serves the example tools over stdio (or, soon, HTTP).

use std::process::ExitCode;

use std::time::{Instant, SystemTime};

use rampart_core::{Config, Now, Server};

const USAGE: &str = "usage: rampart-demo [--transport stdio|http] [--runtime tokio|smol]

Settings come from the environment: DEBUG, TOOL_TIMEOUT_MS, VALIDATION_ERRORS, MAX_LINE_BYTES
(and HOST, PORT for HTTP).";

#[derive(Debug, PartialEq)]
enum Runtime {
    Tokio,
    Smol,
}

fn main() -> ExitCode {
    let mut transport = String::from("http");
    let mut runtime = Runtime::Tokio;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().as_deref()) {
            ("--transport", Some(value @ ("stdio" | "http"))) => transport = value.into(),
            ("--runtime", Some("tokio")) => runtime = Runtime::Tokio,
            ("--runtime", Some("smol")) => runtime = Runtime::Smol,
            _ => return usage_error(),
        }
    }
    let config = match Config::default().apply_env(std::env::vars()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!(
                "{}",
                serde_json::json!({"level": "CRITICAL", "message": err.to_string()})
            );
            return ExitCode::from(2);
        }
    };
    if transport == "http" {
        eprintln!(
            "{}",
            serde_json::json!({"level": "CRITICAL", "message": "the HTTP transport is not built yet; use --transport stdio"})
        );
        return ExitCode::from(2);
    }
    match serve_stdio(config, runtime) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", serde_json::json!({"level": "CRITICAL", "message": err}));
            ExitCode::FAILURE
        }
    }
}

fn usage_error() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn serve_stdio(mut config: Config, runtime: Runtime) -> Result<(), String> {
    config.server_name = "rampart-demo".into();
    let tools = rampart_demo::registry().map_err(|err| err.to_string())?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| format!("no OS randomness: {err}"))?;
    let server = Server::new(config, tools, seed, Now::new(Instant::now(), SystemTime::now()));
    rampart_stdio::install_json_panic_hook();
    match runtime {
        Runtime::Tokio => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|err| err.to_string())?;
            let handle = rt.handle().clone();
            rampart_stdio::serve(server, move |task| {
                handle.spawn(task);
            })
            .map_err(|err| err.to_string())
        }
        Runtime::Smol => {
            rampart_stdio::serve(server, |task| smol::spawn(task).detach()).map_err(|err| err.to_string())
        }
    }
}
