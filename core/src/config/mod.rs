//! Every limit, deadline and switch of the server, in one place, with environment parsing.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{ResourceMetadata, StaticTokens, TokenVerifier};

use crate::rate_limit::Cidr;
use crate::store::StoreConfig;
use crate::trace::TraceConfig;

mod serving;

pub use serving::ServingConfig;

pub use crate::http::policy::{Hosts, Origins};

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

/// The server's configuration: identity, limits, deadlines and switches.
/// Start from [`Config::new`]`(`[`server_info!()`](crate::server_info)`)`, so that the server
/// reports your crate's name, and change fields or [`apply_env`](Self::apply_env).
#[derive(Debug, Clone)]
pub struct Config {
    /// The name reported in `serverInfo` (`unnamed-server` unless set).
    pub server_name: String,
    /// The version reported in `serverInfo`.
    pub server_version: String,
    /// Optional instructions returned from `initialize`.
    pub instructions: Option<String>,
    /// Whether `error.data` carries debug detail (`DEBUG`).
    pub debug: bool,
    /// The default deadline of a handler (`TOOL_TIMEOUT_MS`): tool calls, resource reads,
    /// prompt gets, completions; a tool may set its own.
    pub tool_timeout: Duration,
    /// How validation failures are reported (`VALIDATION_ERRORS=jsonrpc|result`).
    pub validation_errors: ValidationErrors,
    /// Whether listed schemas name their dialect with `"$schema"` (`DECLARE_SCHEMA_DIALECT`,
    /// on by default); off for clients whose validators refuse the 2020-12 URI.
    pub declare_schema_dialect: bool,
    /// The number of tools per `tools/list` page.
    pub page_size: usize,
    /// The longest accepted NDJSON line in bytes; longer lines get -32700.
    pub max_line_bytes: usize,
    /// Tool calls running at once on one connection; input pauses while this many run.
    pub max_calls_per_connection: usize,
    /// The address to listen on (`HOST`); used by adapters, and for the loopback Host rule.
    pub host: IpAddr,
    /// The port to listen on (`PORT`).
    pub port: u16,
    /// The path of the MCP endpoint.
    pub mcp_path: String,
    /// Allowed CORS origins (`ALLOWED_ORIGINS`); an `Origin` not allowed gets 403.
    pub allowed_origins: Origins,
    /// Allowed `Host` values (`ALLOWED_HOSTS`); loopback names only when bound to loopback.
    pub allowed_hosts: Hosts,
    /// Bytes of request line and headers (431 beyond).
    pub max_head_bytes: usize,
    /// Header fields per request (431 beyond).
    pub max_headers: usize,
    /// Bytes of request target (414 beyond).
    pub max_target_bytes: usize,
    /// Bytes of request body (413 beyond, decided from Content-Length before reading).
    pub max_body_bytes: usize,
    /// Time to receive a request head, from its first byte or from the previous response.
    pub header_timeout: Duration,
    /// Time a request body may go without a byte arriving.
    pub body_idle_timeout: Duration,
    /// Time an idle keep-alive connection stays open.
    pub keep_alive_timeout: Duration,
    /// Requests served on one connection before it is closed.
    pub max_requests_per_connection: u32,
    /// Bytes an adapter may hold unwritten for one connection before it cuts the client off.
    pub max_output_bytes: usize,
    /// Time an adapter may wait on a write that makes no progress before it cuts the client off.
    pub write_stall_timeout: Duration,
    /// Whether sessions are off: no `Mcp-Session-Id`, every request stands alone.
    pub stateless: bool,
    /// Whether a legacy-era `POST` without a session, revision header or 2026 `_meta`
    /// (plain JSON-RPC from a script) is refused with 400 instead of being served
    /// statelessly under 2025-03-26 rules (`REQUIRE_SESSIONS`).
    pub require_sessions: bool,
    /// The key that seals 2026-07-28 `requestState` (`REQUEST_STATE_KEY`, at least 32
    /// bytes); replicas that continue each other's exchanges share it. Without one, the
    /// server draws a key of its own from its seed.
    pub request_state_key: Option<crate::mcp::StateKey>,
    /// How long a `requestState` stays valid (`REQUEST_STATE_TTL_SECS`).
    pub request_state_ttl: Duration,
    /// The largest `requestState` the server writes; answers that would not fit are refused.
    pub max_request_state_bytes: usize,
    /// `subscriptions/listen` streams open at once on one stdio connection.
    pub max_listens_per_connection: usize,
    /// Tasks (2026-07-28 tasks extension) held at once; beyond it calls are answered directly.
    pub max_tasks: usize,
    /// How long an ended task stays readable by `tasks/get`.
    pub task_ttl: Duration,
    /// How often clients are told to poll a task (`pollIntervalMs`).
    pub task_poll_interval: Duration,
    /// Sessions held at once; `initialize` beyond it gets 503.
    pub max_sessions: usize,
    /// Time a session may stay unused before it expires.
    pub session_idle_timeout: Duration,
    /// Whether `GET /mcp` opens the server's own SSE stream (else 405).
    pub enable_get_stream: bool,
    /// SSE events a session keeps for replay on reconnect (`Last-Event-ID`); the oldest go first.
    pub max_stream_queue: usize,
    /// Bytes of SSE events a session keeps for replay.
    pub max_replay_bytes: usize,
    /// Resources one session may subscribe to.
    pub max_subscriptions: usize,
    /// Requests to the client (sampling, elicitation, roots) one handler may have waiting.
    pub max_client_requests: usize,
    /// How long a handler waits for the client to answer its request (never past the
    /// handler's own deadline).
    pub client_request_timeout: Duration,
    /// Requests per minute per client (`RATE_LIMIT`), burst equal to it; 0 turns it off.
    pub rate_limit: u32,
    /// Clients with a bucket of their own; beyond it new clients share one overflow bucket.
    pub rate_limit_max_clients: usize,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` are believed (`TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<Cidr>,
    /// Paths not rate limited (`RATE_LIMIT_EXEMPT`, e.g. `/health,/ready`); none by default.
    pub rate_limit_exempt: Vec<String>,
    /// Calls per minute per client for single tools (`TOOL_RATE_LIMITS=name=10,other=5`).
    pub tool_rate_limits: BTreeMap<String, u32>,
    /// The store replicas share rate limits through (`REDIS_URL`, `STORE_TIMEOUT_MS`,
    /// `RATE_LIMIT_FAILURE`); none by default.
    pub store: StoreConfig,
    /// Connections at once, the drain on shutdown, and where `/metrics` is served
    /// (`MAX_CONNECTIONS`, `DRAIN_DELAY`, `DRAIN_TIMEOUT`, `METRICS_ADDR`, `METRICS_TOKEN`).
    pub serving: ServingConfig,
    /// Where spans are exported, from the standard `OTEL_*` variables; off by default.
    pub trace: TraceConfig,
    /// Authentication of HTTP requests to the MCP endpoint; `None` admits every request.
    pub auth: Option<AuthConfig>,
}

/// How HTTP requests authenticate: token verifiers tried in order, and the protected
/// resource metadata (RFC 9728) that tells clients where to get a token.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// Token checkers, tried in order; the first that accepts a token decides who it is.
    pub verifiers: Vec<Arc<dyn TokenVerifier>>,
    /// The metadata served at its well-known path and named in challenges.
    pub metadata: Option<ResourceMetadata>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("verifiers", &self.verifiers.len())
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server_name: "unnamed-server".into(),
            server_version: "0.0.0".into(),
            instructions: None,
            debug: false,
            tool_timeout: Duration::from_secs(30),
            validation_errors: ValidationErrors::JsonRpc,
            declare_schema_dialect: true,
            page_size: 50,
            max_line_bytes: 4 * 1024 * 1024,
            max_calls_per_connection: 64,
            host: IpAddr::from([127, 0, 0, 1]),
            port: 23450,
            mcp_path: "/mcp".into(),
            allowed_origins: Origins::Any,
            allowed_hosts: Hosts::Loopback,
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            max_target_bytes: 8 * 1024,
            max_body_bytes: 4 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(60),
            max_requests_per_connection: 1000,
            max_output_bytes: 8 * 1024 * 1024,
            write_stall_timeout: Duration::from_secs(30),
            stateless: false,
            require_sessions: false,
            request_state_key: None,
            request_state_ttl: Duration::from_secs(600),
            max_request_state_bytes: 256 * 1024,
            max_listens_per_connection: 16,
            max_tasks: 10_000,
            task_ttl: Duration::from_secs(300),
            task_poll_interval: Duration::from_millis(500),
            max_sessions: 10_000,
            session_idle_timeout: Duration::from_secs(30 * 60),
            enable_get_stream: true,
            max_stream_queue: 256,
            max_replay_bytes: 1024 * 1024,
            max_subscriptions: 1000,
            max_client_requests: 16,
            client_request_timeout: Duration::from_secs(300),
            rate_limit: 100,
            rate_limit_max_clients: 100_000,
            trusted_proxies: Vec::new(),
            rate_limit_exempt: Vec::new(),
            tool_rate_limits: BTreeMap::new(),
            store: StoreConfig::default(),
            serving: ServingConfig::default(),
            trace: TraceConfig::default(),
            auth: None,
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
    /// Creates the default configuration for the server `info` names: build `info` with
    /// [`server_info!()`](crate::server_info) to report your crate's name and version.
    pub fn new(info: crate::typed::ServerInfo) -> Self {
        Self {
            server_name: info.name,
            server_version: info.version,
            ..Self::default()
        }
    }

    /// Applies the settings found among `vars` (as from `std::env::vars()`) to this config.
    ///
    /// Understood: `DEBUG`, `TOOL_TIMEOUT_MS`, `VALIDATION_ERRORS`, `DECLARE_SCHEMA_DIALECT`,
    /// `MAX_LINE_BYTES`, `HOST`,
    /// `PORT`, `ALLOWED_ORIGINS`, `ALLOWED_HOSTS`, `STATELESS`, `REQUIRE_SESSIONS`,
    /// `REQUEST_STATE_KEY`, `REQUEST_STATE_TTL_SECS`, `MAX_SESSIONS`, `RATE_LIMIT`,
    /// `RATE_LIMIT_MAX_CLIENTS`, `TRUSTED_PROXIES`, `RATE_LIMIT_EXEMPT`, `TOOL_RATE_LIMITS`,
    /// `REDIS_URL`, `STORE_TIMEOUT_MS`, `RATE_LIMIT_FAILURE`, `MAX_CONNECTIONS`, `DRAIN_DELAY`,
    /// `DRAIN_TIMEOUT`, `METRICS_ADDR`, `METRICS_TOKEN`, and the `OTEL_*` variables of
    /// [`TraceConfig`]. Other variables
    /// are ignored; a malformed value is an error naming the variable. Without
    /// `ALLOWED_HOSTS`, a loopback `HOST` admits only loopback names and any other admits all.
    pub fn apply_env<I, K, V>(mut self, vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let (mut hosts_set, mut host_set) = (false, false);
        let (mut issuer, mut resource, mut scopes) = (None, None, Vec::new());
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
                "DECLARE_SCHEMA_DIALECT" => {
                    self.declare_schema_dialect = parse_bool(value).ok_or_else(|| bad("true or false"))?;
                }
                "MAX_LINE_BYTES" => {
                    let bytes = parse_positive(value).ok_or_else(|| bad("a positive number of bytes"))?;
                    self.max_line_bytes = usize::try_from(bytes).map_err(|_| bad("a smaller number"))?;
                }
                "HOST" => {
                    self.host = value.parse().map_err(|_| bad("an IP address"))?;
                    host_set = true;
                }
                "PORT" => self.port = value.parse().map_err(|_| bad("a port number"))?,
                "ALLOWED_ORIGINS" => {
                    self.allowed_origins = match value {
                        "" | "*" => Origins::Any,
                        list => Origins::List(split_list(list)),
                    }
                }
                "ALLOWED_HOSTS" => {
                    hosts_set = !value.is_empty();
                    self.allowed_hosts = match value {
                        "" => Hosts::Loopback,
                        "*" => Hosts::Any,
                        list => Hosts::List(split_list(list)),
                    };
                }
                "STATELESS" => self.stateless = parse_bool(value).ok_or_else(|| bad("true or false"))?,
                "REQUIRE_SESSIONS" => {
                    self.require_sessions = parse_bool(value).ok_or_else(|| bad("true or false"))?;
                }
                "REQUEST_STATE_KEY" => {
                    // The value is a secret: a bad one is reported without it.
                    let key = crate::mcp::StateKey::new(value.as_bytes()).ok_or_else(|| ConfigError {
                        name: name.into(),
                        value: format!("{} bytes", value.len()),
                        expected: "a secret of at least 32 bytes",
                    })?;
                    self.request_state_key = Some(key);
                }
                "REQUEST_STATE_TTL_SECS" => {
                    let secs = parse_positive(value).ok_or_else(|| bad("a positive number of seconds"))?;
                    self.request_state_ttl = Duration::from_secs(secs);
                }
                "RATE_LIMIT" => {
                    self.rate_limit = value
                        .parse()
                        .map_err(|_| bad("requests per minute (0 turns it off)"))?;
                }
                "RATE_LIMIT_MAX_CLIENTS" => {
                    let n = parse_positive(value).ok_or_else(|| bad("a positive number"))?;
                    self.rate_limit_max_clients = usize::try_from(n).map_err(|_| bad("a smaller number"))?;
                }
                "TRUSTED_PROXIES" => {
                    self.trusted_proxies = split_list(value)
                        .iter()
                        .map(|cidr| cidr.parse())
                        .collect::<Result<_, _>>()
                        .map_err(|_| bad("a comma list of CIDRs such as 10.0.0.0/8"))?;
                }
                "RATE_LIMIT_EXEMPT" => self.rate_limit_exempt = split_list(value),
                "TOOL_RATE_LIMITS" => {
                    let mut limits = BTreeMap::new();
                    for entry in split_list(value) {
                        let (tool, limit) = entry
                            .split_once('=')
                            .ok_or_else(|| bad("name=per-minute pairs"))?;
                        let limit = limit.trim().parse().map_err(|_| bad("name=per-minute pairs"))?;
                        limits.insert(tool.trim().to_owned(), limit);
                    }
                    self.tool_rate_limits = limits;
                }
                "AUTH_TOKENS" => {
                    // The value is a secret: a bad one is reported without it.
                    let tokens = crate::auth::parse_token_list(value).map_err(|err| ConfigError {
                        name: name.into(),
                        // The error names the entry, never the token.
                        value: err.to_string(),
                        expected: TOKEN_FORMAT,
                    })?;
                    self.auth_mut()
                        .verifiers
                        .push(Arc::new(StaticTokens::new(tokens)));
                }
                "AUTH_ISSUER" => issuer = Some(value.to_owned()),
                "AUTH_RESOURCE" => resource = Some(value.to_owned()),
                "AUTH_SCOPES" => scopes = split_list(value),
                "MAX_SESSIONS" => {
                    let n = parse_positive(value).ok_or_else(|| bad("a positive number"))?;
                    self.max_sessions = usize::try_from(n).map_err(|_| bad("a smaller number"))?;
                }
                _ => {
                    let applied = (self.store.apply(name, value))
                        .or_else(|| self.serving.apply(name, value))
                        .or_else(|| self.trace.apply(name, value));
                    if let Some(Err(expected)) = applied {
                        return Err(bad(expected));
                    }
                }
            }
        }
        match (issuer, resource) {
            (Some(issuer), Some(resource)) => {
                let metadata = ResourceMetadata {
                    resource,
                    authorization_servers: vec![issuer],
                    scopes_supported: scopes,
                };
                metadata.metadata_url().map_err(|_| ConfigError {
                    name: "AUTH_RESOURCE".into(),
                    value: metadata.resource.clone(),
                    expected: "this server's absolute http(s) URL, e.g. https://mcp.example.com/mcp",
                })?;
                self.auth_mut().metadata = Some(metadata);
            }
            (None, None) => {}
            (issuer, _) => {
                return Err(ConfigError {
                    name: if issuer.is_some() {
                        "AUTH_RESOURCE"
                    } else {
                        "AUTH_ISSUER"
                    }
                    .into(),
                    value: String::new(),
                    expected: "AUTH_ISSUER and AUTH_RESOURCE set together",
                });
            }
        }
        if host_set && !hosts_set {
            self.allowed_hosts = if self.host.is_loopback() {
                Hosts::Loopback
            } else {
                Hosts::Any
            };
        }
        Ok(self)
    }
}

impl Config {
    /// Adds the bearer tokens of a tokens file's contents (`AUTH_TOKENS_FILE`, read by the
    /// caller): one `name:token` or `token` per line, `#` comments and blank lines ignored.
    pub fn with_tokens_file(mut self, contents: &str) -> Result<Self, ConfigError> {
        let tokens = crate::auth::parse_tokens_file(contents).map_err(|err| ConfigError {
            name: "AUTH_TOKENS_FILE".into(),
            // The error names the line, never the token.
            value: err.to_string(),
            expected: TOKEN_FORMAT,
        })?;
        self.auth_mut()
            .verifiers
            .push(Arc::new(StaticTokens::new(tokens)));
        Ok(self)
    }

    /// Adds a JWT verifier for RS256/ES256 access tokens signed by the keys of a JWKS
    /// document, issued by `AUTH_ISSUER` for `AUTH_RESOURCE` (both must be set first).
    #[cfg(feature = "jwt")]
    pub fn with_jwks(mut self, jwks_json: &str) -> Result<Self, ConfigError> {
        let missing = ConfigError {
            name: "AUTH_JWKS_FILE".into(),
            value: String::new(),
            expected: "AUTH_ISSUER and AUTH_RESOURCE to be set as well",
        };
        let Some(metadata) = self.auth.as_ref().and_then(|auth| auth.metadata.clone()) else {
            return Err(missing);
        };
        let Some(issuer) = metadata.authorization_servers.first() else {
            return Err(missing);
        };
        let verifier =
            crate::auth::JwtVerifier::from_jwks(issuer.clone(), metadata.resource.clone(), jwks_json, 60)
                .map_err(|err| ConfigError {
                    name: "AUTH_JWKS_FILE".into(),
                    value: err.to_string(),
                    expected: "a JWKS document with RS256 or ES256 keys",
                })?;
        self.auth_mut().verifiers.push(Arc::new(verifier));
        Ok(self)
    }

    fn auth_mut(&mut self) -> &mut AuthConfig {
        self.auth.get_or_insert_with(AuthConfig::default)
    }
}

/// What a token setting must hold; its errors never repeat the value, which is a secret.
const TOKEN_FORMAT: &str =
    "name:token or token entries of printable characters, one per line (file) or comma";

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
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
