//! Every limit, deadline and switch of the server, in one place, with environment parsing.

use std::time::Duration;

/// What the server does when a tool's arguments fail validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ValidationErrors {
    /// A JSON-RPC error: -32000 for a missing argument, -32007 for a schema violation.
    #[default]
    JsonRpc,
    /// A tool result with `isError: true` and the same message, as MCP 2025-11-25 advises.
    ToolResult,
}

/// The server's configuration: limits, deadlines and switches.
/// Build one with struct update syntax: `Config { debug: true, ..Config::default() }`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The name reported in `serverInfo`.
    pub server_name: String,
    /// The version reported in `serverInfo`.
    pub server_version: String,
    /// Optional instructions returned from `initialize`.
    pub instructions: Option<String>,
    /// Whether `error.data` carries debug detail (`DEBUG`).
    pub debug: bool,
    /// The default per-call deadline of a tool (`TOOL_TIMEOUT_MS`); tools may set their own.
    pub tool_timeout: Duration,
    /// How validation failures are reported (`VALIDATION_ERRORS=jsonrpc|result`).
    pub validation_errors: ValidationErrors,
    /// The number of tools per `tools/list` page.
    pub page_size: usize,
    /// The longest accepted NDJSON line in bytes; longer lines get -32700.
    pub max_line_bytes: usize,
    /// Tool calls running at once on one connection; input pauses while this many run.
    pub max_calls_per_connection: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server_name: "rampart".into(),
            server_version: env!("CARGO_PKG_VERSION").into(),
            instructions: None,
            debug: false,
            tool_timeout: Duration::from_secs(30),
            validation_errors: ValidationErrors::JsonRpc,
            page_size: 50,
            max_line_bytes: 4 * 1024 * 1024,
            max_calls_per_connection: 64,
        }
    }
}

/// A setting from the environment that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value:?} for {name}: expected {expected}")]
pub struct ConfigError {
    /// The variable's name.
    pub name: String,
    /// The value found.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

impl Config {
    /// Applies the settings found among `vars` (as from `std::env::vars()`) to this config.
    ///
    /// Understood: `DEBUG`, `TOOL_TIMEOUT_MS`, `VALIDATION_ERRORS`, `MAX_LINE_BYTES`.
    /// Other variables are ignored; a malformed value is an error naming the variable.
    pub fn apply_env<I, K, V>(mut self, vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref().trim());
            let bad = |expected| ConfigError {
                name: name.into(),
                value: value.into(),
                expected,
            };
            match name {
                "DEBUG" => self.debug = parse_bool(value).ok_or_else(|| bad("true or false"))?,
                "TOOL_TIMEOUT_MS" => {
                    let ms = parse_positive(value).ok_or_else(|| bad("a positive number of milliseconds"))?;
                    self.tool_timeout = Duration::from_millis(ms);
                }
                "VALIDATION_ERRORS" => {
                    self.validation_errors = match value {
                        "jsonrpc" => ValidationErrors::JsonRpc,
                        "result" => ValidationErrors::ToolResult,
                        _ => return Err(bad("jsonrpc or result")),
                    }
                }
                "MAX_LINE_BYTES" => {
                    let bytes = parse_positive(value).ok_or_else(|| bad("a positive number of bytes"))?;
                    self.max_line_bytes = usize::try_from(bytes).map_err(|_| bad("a smaller number"))?;
                }
                _ => {}
            }
        }
        Ok(self)
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "" | "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_positive(value: &str) -> Option<u64> {
    value.parse().ok().filter(|&n| n > 0)
}
