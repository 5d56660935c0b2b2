//! Multi round-trip requests (2026-07-28): a handler's requests to the client become
//! `inputRequests` of an `input_required` result instead of messages to the client. The
//! retry carries the answers (`inputResponses`) and the sealed state of earlier rounds; the
//! handler runs again and finds its answers under the same keys.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use super::meta::declares;
use super::state::{self, Binding, StateKey};
use crate::error::RpcError;
use crate::handler::{ClientError, ClientRequest};
use crate::mcp::invalid_params;

/// The client's answers to one request's questions, and what its handler asked this round.
#[derive(Debug, Default)]
pub(crate) struct Input {
    /// Answers by key: those sealed in earlier rounds, then this retry's `inputResponses`.
    answers: Map<String, Value>,
    /// The answers the handler used this round, carried to the next round's state.
    used: Map<String, Value>,
    /// Questions without an answer yet: key and `{method, params}`.
    asked: Vec<(String, Value)>,
    /// A capability the handler needed and the request did not declare.
    missing: Option<&'static str>,
    /// Questions asked so far, for keys the handler did not choose.
    count: u32,
    /// The request the state is bound to; none when there is no state to open and the
    /// request declares no capability a question needs (so none is ever sealed).
    digest: Option<[u8; 32]>,
}

/// What the server needs to open and seal states.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sealing<'a> {
    pub(crate) key: &'a StateKey,
    pub(crate) principal: Option<&'a str>,
    pub(crate) now: SystemTime,
    pub(crate) ttl: Duration,
    /// The largest state written; answers beyond it are refused.
    pub(crate) max_bytes: usize,
}

impl Input {
    /// Reads a request's `inputResponses` and `requestState` (for `method` on `name`, from a
    /// client declaring `capabilities`): a malformed answer map or a state that does not open
    /// is -32602.
    pub(crate) fn read(
        params: Option<&Value>,
        method: &str,
        name: &str,
        capabilities: &Value,
        sealing: &Sealing<'_>,
    ) -> Result<Self, RpcError> {
        let token = params.and_then(|p| p.get("requestState"));
        let may_ask = ClientRequest::CAPABILITIES
            .iter()
            .any(|capability| declares(capabilities, capability, None));
        let digest = (token.is_some() || may_ask).then(|| {
            let arguments = params.and_then(|p| p.get("arguments"));
            state::request_digest(method, name, arguments)
        });
        let mut answers = Map::new();
        if let (Some(token), Some(digest)) = (token, &digest) {
            let token = token
                .as_str()
                .ok_or_else(|| invalid_params("Invalid params: requestState must be a string"))?;
            let binding = Binding {
                principal: sealing.principal,
                request: digest,
            };
            answers = state::open(sealing.key, token, binding, sealing.now).map_err(|refusal| {
                invalid_params("Invalid params: invalid requestState").with_debug(refusal.reason())
            })?;
        }
        match params.and_then(|p| p.get("inputResponses")) {
            None => {}
            Some(Value::Object(responses)) => {
                if let Some((key, _)) = responses.iter().find(|(_, answer)| !answer.is_object()) {
                    return Err(invalid_params(format!(
                        "Invalid params: inputResponses.{key} must be an object"
                    )));
                }
                answers.extend(responses.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Some(_) => return Err(invalid_params("Invalid params: inputResponses must be an object")),
        }
        Ok(Self {
            answers,
            digest,
            ..Self::default()
        })
    }

    /// Answers a handler's question from the client's answers, or records it for the
    /// `input_required` result. A question needing a capability the request did not declare
    /// is refused and remembered.
    pub(crate) fn ask(
        &mut self,
        key: Option<String>,
        request: &ClientRequest,
        capabilities: &Value,
    ) -> Result<Value, ClientError> {
        self.count += 1;
        let (capability, mode) = request.capability();
        if !declares(capabilities, capability, mode) {
            self.missing.get_or_insert(request.capability_name());
            return Err(ClientError::NotSupported(request.capability_name()));
        }
        let key = key.unwrap_or_else(|| format!("{}-{}", capability, self.count));
        if let Some(answer) = self.answers.get(&key) {
            self.used.insert(key, answer.clone());
            return Ok(answer.clone());
        }
        if !self.asked.iter().any(|(asked, _)| *asked == key) {
            self.asked.push((key, request.input_request()));
        }
        Err(ClientError::InputRequired)
    }

    /// The `input_required` result, when the handler asked something still unanswered:
    /// the questions, and a new state sealing the answers used so far.
    pub(crate) fn required(&self, sealing: &Sealing<'_>) -> Option<Result<Value, RpcError>> {
        if self.asked.is_empty() {
            return None;
        }
        let Some(digest) = &self.digest else {
            // A question is asked only under a declared capability, which made the digest.
            return Some(Err(crate::handler::runtime_error(
                "a question was asked of a request that declared no capability for it",
            )));
        };
        let requests: Map<String, Value> = self.asked.iter().cloned().collect();
        let binding = Binding {
            principal: sealing.principal,
            request: digest,
        };
        let expires = state::expiry(sealing.now, sealing.ttl);
        let token = state::seal(sealing.key, binding, &self.used, expires);
        if token.len() > sealing.max_bytes {
            return Some(Err(invalid_params(
                "Invalid params: the answers are too large to carry to the next round",
            )));
        }
        Some(Ok(json!({
            "resultType": "input_required",
            "inputRequests": requests,
            "requestState": token,
        })))
    }

    /// The capability the handler needed and the request did not declare, if any.
    pub(crate) fn missing(&self) -> Option<&'static str> {
        self.missing
    }
}

/// -32021 for a handler that needed `capability` (`sampling`, `sampling.tools`, ...).
pub(crate) fn missing_capability(capability: &str) -> RpcError {
    let mut required = json!({});
    let mut slot = &mut required;
    for part in capability.split('.') {
        slot[part] = json!({});
        slot = &mut slot[part];
    }
    RpcError::new(
        crate::error::ErrorCode::MissingCapability,
        format!("Missing required client capability: {capability}"),
    )
    .with_data(json!({ "requiredCapabilities": required }))
}
