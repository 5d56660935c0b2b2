//! The client side of 2026-07-28: which messages the server serves by that revision's rules
//! (told per request over HTTP, per pipe on stdio, mirrored here from the revision's text),
//! and the checks of what answers them:
//! - the server never sends a request to a 2026-07-28 client: questions travel in results;
//! - every result carries `resultType` and `serverInfo`, and an `input_required` one its
//!   questions and a sealed `requestState`;
//! - an error about a request that passed the transport's checks names the request's id;
//! - no result answers a `requestState` the server never gave out (cut, tampered, made up);
//! - a log notification reaches only a request that opted in to its level;
//! - a listen stream carries only notifications tagged with its subscription.
//!
//! It learns the rounds of multi round-trip calls (the questions, the sealed state) that
//! the retries of the dictionary answer.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Peer;

/// The revision without sessions.
pub(in crate::fuzz) const VERSION: &str = "2026-07-28";

/// The revisions with sessions: a version header naming one of them does not make a
/// message 2026-07-28.
const LEGACY: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// `_meta` keys of the revision.
pub(in crate::fuzz) const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub(in crate::fuzz) const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub(in crate::fuzz) const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub(in crate::fuzz) const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// The logging levels, lowest first.
const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// How many learned rounds are kept for retries.
const MAX_ROUNDS: usize = 16;

/// A message served by the 2026-07-28 rules, as sent, for checking what answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::fuzz) struct Modern {
    /// The request's id; null for a notification or a client's answer.
    pub(in crate::fuzz) id: Value,
    pub(in crate::fuzz) method: Option<String>,
    /// The least level of log notifications it opted in to (an index of `LEVELS`).
    pub(in crate::fuzz) logs: Option<usize>,
    /// The method and what names its subject (`name`, `arguments`, `uri`) of a request that
    /// may ask the client something, to learn its rounds from.
    subject: Option<(String, Value)>,
    /// It carries a `requestState` the server never gave out: it must be refused.
    pub(in crate::fuzz) forged: bool,
}

impl Modern {
    /// Returns whether it is a `subscriptions/listen` request.
    pub(in crate::fuzz) fn listens(&self) -> bool {
        self.method.as_deref() == Some("subscriptions/listen")
    }
}

/// One round of a multi round-trip request the server answered with `input_required`.
#[derive(Debug, Clone)]
pub(in crate::fuzz) struct Round {
    pub(in crate::fuzz) method: String,
    /// The request's `name`, `arguments` and `uri`, as sent.
    pub(in crate::fuzz) params: Value,
    pub(in crate::fuzz) state: String,
    /// Each question's key and method.
    pub(in crate::fuzz) asks: Vec<(String, String)>,
}

/// Returns whether a message is served by the 2026-07-28 rules: when the
/// `MCP-Protocol-Version` header names a revision without sessions (or one unknown), or when a
/// request other than `initialize` names a revision in `params._meta`.
pub(in crate::fuzz) fn modern_era(header: Option<&[u8]>, message: &Value) -> bool {
    if header.is_some_and(|header| !LEGACY.iter().any(|v| v.as_bytes() == header)) {
        return true;
    }
    let method = message.get("method").and_then(Value::as_str);
    let names_version = message
        .get("params")
        .and_then(|params| params.get("_meta"))
        .and_then(Value::as_object)
        .is_some_and(|meta| meta.contains_key(PROTOCOL_VERSION));
    message.get("id").is_some() && method.is_some_and(|method| method != "initialize") && names_version
}

/// Returns the index of a logging level in `LEVELS`.
pub(in crate::fuzz) fn level(name: Option<&str>) -> Option<usize> {
    LEVELS.iter().position(|level| Some(*level) == name)
}

impl Peer {
    /// Returns what a message served by the 2026-07-28 rules expects back; `None` for one
    /// served by the session revisions.
    pub(in crate::fuzz) fn modern(&self, header: Option<&[u8]>, message: &Value) -> Option<Modern> {
        modern_era(header, message).then(|| self.expect_modern(message))
    }

    /// Returns what a message expects back when the 2026-07-28 rules serve it.
    pub(in crate::fuzz) fn expect_modern(&self, message: &Value) -> Modern {
        let method = message.get("method").and_then(Value::as_str);
        let params = message.get("params");
        let member = |name: &str| params.and_then(|p| p.get(name));
        // The methods whose handlers may ask the client, on a named subject.
        let named = match method {
            Some("tools/call" | "prompts/get") => member("name").is_some_and(Value::is_string),
            Some("resources/read") => member("uri").is_some_and(Value::is_string),
            _ => false,
        };
        let forged = named
            && member("requestState")
                .is_some_and(|state| state.as_str().is_none_or(|state| !self.issued.contains(state)));
        let subject = named.then(|| {
            let kept: Map<String, Value> = ["name", "arguments", "uri"]
                .into_iter()
                .filter_map(|key| Some((key.to_owned(), member(key)?.clone())))
                .collect();
            (method.unwrap_or_default().to_owned(), Value::Object(kept))
        });
        let logs = member("_meta")
            .and_then(|meta| meta.get(LOG_LEVEL))
            .and_then(|least| level(least.as_str()));
        Modern {
            id: method
                .and_then(|_| message.get("id").cloned())
                .unwrap_or(Value::Null),
            method: method.map(str::to_owned),
            logs,
            subject,
            forged,
        }
    }

    /// Checks one message written in answer to a 2026-07-28 message (a JSON body, an event
    /// of its stream, or a line of its pipe) and learns the rounds it asks for; `status` is
    /// the HTTP status, `None` on a pipe; `sure` is false when it is not known for certain
    /// which of several requests with the id it answers.
    pub(in crate::fuzz) fn modern_answer(
        &mut self,
        modern: &Modern,
        status: Option<u16>,
        message: &Value,
        sure: bool,
    ) {
        let id = message.get("id");
        if let Some(method) = message.get("method") {
            assert!(id.is_none(), "a request to a 2026-07-28 client: {message}");
            if method == "notifications/message" {
                let least = modern.logs.unwrap_or_else(|| {
                    panic!("a log notification to a request that asked for none: {message}")
                });
                let at = level(message["params"]["level"].as_str());
                assert!(
                    at.is_some_and(|at| at >= least),
                    "a log notification below the level the request asked for ({}): {message}",
                    LEVELS[least]
                );
            }
            if modern.listens() && status.is_some() {
                assert_eq!(
                    message["params"]["_meta"][SUBSCRIPTION_ID], modern.id,
                    "a notification on a listen stream without its subscription id: {message}"
                );
            }
            return;
        }
        if modern.id.is_null() {
            // A client's answer or a notification: refused without naming an id.
            assert!(
                id.is_none_or(Value::is_null),
                "an error naming an id, in reply to a message that is no request: {message}"
            );
            return;
        }
        if let Some(result) = message.get("result") {
            assert_eq!(id, Some(&modern.id), "a result under another id: {message}");
            assert!(
                !(sure && modern.forged),
                "a requestState the server never gave out was accepted: {message}"
            );
            match result.get("resultType").and_then(Value::as_str) {
                Some("complete") => {}
                Some("input_required") => self.learn(modern, result, sure),
                _ => panic!("a 2026-07-28 result without resultType: {message}"),
            }
            assert!(
                !sure || result["_meta"][SERVER_INFO]["name"].is_string(),
                "a 2026-07-28 result without serverInfo: {message}"
            );
            return;
        }
        let code = message["error"]["code"].as_i64();
        let echoed = id == Some(&modern.id);
        assert!(
            echoed || id.is_none_or(Value::is_null),
            "an error under another id: {message}"
        );
        // Errors of the revision's checks, of its methods, and of its calls name the request.
        let named = matches!(code, Some(-32022..=-32020)) || matches!(status, Some(200 | 404));
        assert!(
            echoed || !named,
            "a 2026-07-28 error without its request's id: {message}"
        );
    }

    /// Notes the questions and state of an `input_required` result.
    fn learn(&mut self, modern: &Modern, result: &Value, sure: bool) {
        let asks: Vec<(String, String)> = result["inputRequests"]
            .as_object()
            .map(|asks| {
                asks.iter()
                    .map(|(key, ask)| (key.clone(), ask["method"].as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let state = result["requestState"].as_str();
        assert!(
            !asks.is_empty() && state.is_some(),
            "input_required without questions or state: {result}"
        );
        let Some(state) = state else { return };
        self.issued.insert(state.to_owned());
        let Some((method, params)) = modern.subject.clone().filter(|_| sure) else {
            return;
        };
        if self.rounds.len() >= MAX_ROUNDS {
            self.rounds.remove(0);
        }
        self.rounds.push(Round {
            method,
            params,
            state: state.to_owned(),
            asks,
        });
    }
}

/// The `requestState` tokens the server gave out (never forgotten: a token not among them is
/// one the server must refuse).
pub(in crate::fuzz) type Issued = BTreeSet<String>;
