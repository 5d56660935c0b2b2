//! Requests a handler makes to the client (sampling, elicitation, roots), their answers, and
//! the one-shot slot an answer travels back in.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// A request to the client, made by a handler through its [`Context`](super::Context).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientRequest {
    /// `sampling/createMessage` with these params.
    Sampling(Value),
    /// `elicitation/create`.
    Elicitation(Elicitation),
    /// `roots/list`.
    Roots,
}

impl ClientRequest {
    /// The client capabilities some request needs: a client that declares none of them can
    /// never be asked anything.
    pub(crate) const CAPABILITIES: [&'static str; 3] = ["sampling", "elicitation", "roots"];

    /// Returns the name of the capability the request needs (`sampling.tools`, ...).
    pub(crate) fn capability_name(&self) -> &'static str {
        match self.capability() {
            ("sampling", Some(_)) => "sampling.tools",
            ("elicitation", Some("url")) => "elicitation.url",
            (name, _) => name,
        }
    }

    /// Returns the JSON-RPC method of the request.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Sampling(_) => "sampling/createMessage",
            Self::Elicitation(_) => "elicitation/create",
            Self::Roots => "roots/list",
        }
    }

    /// Returns the client capability the request needs, as a path into `capabilities`.
    pub(crate) fn capability(&self) -> (&'static str, Option<&'static str>) {
        match self {
            // Tools in a sampling request need `sampling.tools` (2025-11-25).
            Self::Sampling(params) if params.get("tools").is_some() || params.get("toolChoice").is_some() => {
                ("sampling", Some("tools"))
            }
            Self::Sampling(_) => ("sampling", None),
            Self::Elicitation(Elicitation::Form { .. }) => ("elicitation", Some("form")),
            Self::Elicitation(Elicitation::Url { .. }) => ("elicitation", Some("url")),
            Self::Roots => ("roots", None),
        }
    }

    /// Returns the request as a 2026-07-28 input request: `{method, params}`, with no id.
    pub(crate) fn input_request(&self) -> Value {
        let mut ask = json!({ "method": self.method() });
        if let Some(params) = self.params(true) {
            ask["params"] = params;
        }
        ask
    }

    /// Returns the params sent to a client speaking `modes` (whether its revision knows
    /// elicitation modes, 2025-11-25 on).
    pub(crate) fn params(&self, modes: bool) -> Option<Value> {
        match self {
            Self::Sampling(params) => Some(params.clone()),
            Self::Elicitation(Elicitation::Form { message, schema }) => {
                let mut params = json!({"message": message, "requestedSchema": schema});
                if modes {
                    params["mode"] = json!("form");
                }
                Some(params)
            }
            Self::Elicitation(Elicitation::Url { message, url, id }) => {
                Some(json!({"mode": "url", "message": message, "url": url, "elicitationId": id}))
            }
            Self::Roots => None,
        }
    }
}

/// What to elicit from the user.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Elicitation {
    /// A form: the client shows `message` and asks for fields matching `schema` (a flat
    /// object schema of strings, numbers, booleans and enums).
    Form {
        /// What to tell the user.
        message: String,
        /// The requested schema.
        schema: Value,
    },
    /// A URL the user should visit (for what must not pass through the client, such as
    /// credentials); `id` names the elicitation for its completion notice.
    Url {
        /// What to tell the user.
        message: String,
        /// Where to send them.
        url: String,
        /// The elicitation's id.
        id: String,
    },
}

impl Elicitation {
    /// Creates a form elicitation.
    pub fn form(message: impl Into<String>, schema: Value) -> Self {
        Self::Form {
            message: message.into(),
            schema,
        }
    }

    /// Creates a URL elicitation.
    pub fn url(message: impl Into<String>, url: impl Into<String>, id: impl Into<String>) -> Self {
        Self::Url {
            message: message.into(),
            url: url.into(),
            id: id.into(),
        }
    }
}

/// What the user did with an elicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ElicitAction {
    /// Submitted the form (or agreed to visit the URL).
    Accept,
    /// Explicitly said no.
    Decline,
    /// Dismissed it without choosing.
    Cancel,
}

/// The client's answer to an elicitation.
#[derive(Debug, Clone, PartialEq)]
pub struct ElicitResult {
    /// What the user did.
    pub action: ElicitAction,
    /// The submitted fields, when the user accepted a form.
    pub content: Option<Map<String, Value>>,
}

impl ElicitResult {
    pub(crate) fn from_json(value: Value) -> Result<Self, ClientError> {
        #[derive(Deserialize)]
        struct Wire {
            action: ElicitAction,
            content: Option<Map<String, Value>>,
        }
        let wire: Wire =
            serde_json::from_value(value).map_err(|err| ClientError::Malformed(err.to_string()))?;
        Ok(Self {
            action: wire.action,
            content: wire.content,
        })
    }
}

/// A root the client exposes: a URI (usually `file://`) and an optional name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Root {
    /// The root's URI.
    pub uri: String,
    /// A name for it.
    #[serde(default)]
    pub name: Option<String>,
}

impl Root {
    pub(crate) fn list_from_json(value: Value) -> Result<Vec<Self>, ClientError> {
        #[derive(Deserialize)]
        struct Wire {
            roots: Vec<Root>,
        }
        let wire: Wire =
            serde_json::from_value(value).map_err(|err| ClientError::Malformed(err.to_string()))?;
        Ok(wire.roots)
    }
}

/// Why a request to the client got no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client did not declare the capability the request needs.
    #[error("the client does not support {0}")]
    NotSupported(&'static str),
    /// The request has no session or stream to reach the client through.
    #[error("the client cannot be asked: the request has no session to carry it")]
    Unreachable,
    /// The client answered with a JSON-RPC error.
    #[error("the client refused ({code}): {message}")]
    Rejected {
        /// The error code the client sent.
        code: i64,
        /// The message the client sent.
        message: String,
    },
    /// The client did not answer before the deadline.
    #[error("the client did not answer in time")]
    Timeout,
    /// The request was dropped: the call, its session or its connection ended.
    #[error("the request to the client was abandoned")]
    Abandoned,
    /// Too many requests of this call are waiting for the client already.
    #[error("too many requests to the client are waiting")]
    Overloaded,
    /// The client's answer could not be read.
    #[error("the client's answer is malformed: {0}")]
    Malformed(String),
    /// The client (2026-07-28) answers in a later round: the server returns
    /// `input_required` with this question, and the handler runs again with the answer. A
    /// handler usually passes this on with `?`.
    #[error("the client's answer comes with its next request")]
    InputRequired,
}

/// Where the answer to one client request goes; held by the core until the client answers.
/// Dropping it unanswered tells the handler the request was abandoned.
#[derive(Debug)]
pub struct Reply(Option<Arc<Mutex<Slot>>>);

/// The handler's side of a [`Reply`].
struct Answer(Arc<Mutex<Slot>>);

#[derive(Debug, Default)]
struct Slot {
    value: Option<Result<Value, ClientError>>,
    waker: Option<Waker>,
}

/// Creates a connected reply slot and the future that waits on it.
pub(crate) fn channel() -> (Reply, impl Future<Output = Result<Value, ClientError>>) {
    let slot = Arc::new(Mutex::new(Slot::default()));
    (Reply(Some(Arc::clone(&slot))), Answer(slot))
}

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    // The slot holds plain data: a poisoned lock still holds a consistent value.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Reply {
    /// Hands the answer to the waiting handler.
    pub fn send(mut self, value: Result<Value, ClientError>) {
        self.fill(value);
    }

    fn fill(&mut self, value: Result<Value, ClientError>) {
        let Some(slot) = self.0.take() else {
            return;
        };
        let waker = {
            let mut slot = lock(&slot);
            slot.value = Some(value);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.fill(Err(ClientError::Abandoned));
    }
}

impl Future for Answer {
    type Output = Result<Value, ClientError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.0);
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
