//! What a running handler may do besides returning: log to the client, report progress,
//! announce changes, and ask the client for sampling, elicitation or its roots. Everything
//! goes through the embedder's [`Outbox`] back to the core, which decides what reaches the
//! wire.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::CallId;
use super::client::{self, ClientError, ClientRequest, ElicitResult, Elicitation, Reply, Root};
use crate::protocol::LoggingLevel;

/// A message a running handler sends before its result.
#[derive(Debug)]
#[non_exhaustive]
pub enum Message {
    /// A log notification (`notifications/message`), filtered by the session's level.
    Log {
        /// The MCP logging level.
        level: LoggingLevel,
        /// An optional logger name.
        logger: Option<String>,
        /// Any JSON data.
        data: Value,
    },
    /// A progress notification, sent only when the client asked with a progress token, and
    /// only when `progress` is above the last value sent.
    Progress {
        /// Progress so far; must increase.
        progress: f64,
        /// The total, when known.
        total: Option<f64>,
        /// A human-readable message.
        message: Option<String>,
    },
    /// From now on, a progress notification whenever `every` passes without one.
    Heartbeat {
        /// The longest silence allowed.
        every: Duration,
    },
    /// A change other sessions may need to hear of.
    Notice(Notice),
    /// The out-of-band interaction of a URL elicitation finished:
    /// `notifications/elicitation/complete` to the client that was asked.
    ElicitationComplete {
        /// The elicitation's id, as sent with the request.
        id: String,
    },
    /// From here on the call runs as a task the client polls (2026-07-28 tasks extension),
    /// when its tool and request allow one; otherwise nothing changes.
    StartTask,
    /// A request to the client; its answer goes to `reply`.
    Request {
        /// What to ask.
        request: ClientRequest,
        /// The key of the question in a 2026-07-28 `input_required` result, when the
        /// handler chose one.
        key: Option<String>,
        /// Where the answer goes.
        reply: Reply,
    },
}

/// A change announced to the clients that care.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// The resource at this URI changed: `notifications/resources/updated` to its subscribers.
    ResourceUpdated(String),
    /// The list of resources changed.
    ResourcesChanged,
    /// The list of tools changed.
    ToolsChanged,
    /// The list of prompts changed.
    PromptsChanged,
}

/// Where a running handler's messages go: a sink the embedder provides, which hands each
/// message back to the core through [`Server::call_message`](crate::Server::call_message).
#[derive(Clone)]
pub struct Outbox(Arc<dyn Fn(CallId, Message) + Send + Sync>);

impl Outbox {
    /// Creates an outbox from the embedder's sink.
    pub fn new(sink: impl Fn(CallId, Message) + Send + Sync + 'static) -> Self {
        Self(Arc::new(sink))
    }

    /// Creates an outbox that drops every message (requests to the client then fail).
    pub fn discard() -> Self {
        Self::new(|_, _| {})
    }
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Outbox")
    }
}

/// What a handler knows about its call, and its way to talk to the client while it runs.
///
/// The same context serves every revision of MCP: the handler never knows which one the
/// client speaks.
#[derive(Debug, Clone)]
pub struct Context {
    call: CallId,
    outbox: Outbox,
}

impl Context {
    pub(crate) fn new(call: CallId, outbox: Outbox) -> Self {
        Self { call, outbox }
    }

    /// Returns the id of this call.
    pub fn call_id(&self) -> CallId {
        self.call
    }

    /// Sends a log notification to the client, if the session's level lets it through.
    pub fn log(&self, level: LoggingLevel, data: impl Into<Value>) {
        self.send(Message::Log {
            level,
            logger: None,
            data: data.into(),
        });
    }

    /// Sends a log notification under a logger name.
    pub fn log_as(&self, level: LoggingLevel, logger: impl Into<String>, data: impl Into<Value>) {
        self.send(Message::Log {
            level,
            logger: Some(logger.into()),
            data: data.into(),
        });
    }

    /// Reports progress, if the client asked for it with a progress token; a value not above
    /// the last one sent is dropped.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        self.send(Message::Progress {
            progress,
            total,
            message,
        });
    }

    /// Keeps the client's request timer from running out during a long call: whenever
    /// `every` passes without a progress notification, the server sends one (if the client
    /// asked for progress), a hair above the last value.
    pub fn heartbeat(&self, every: Duration) {
        self.send(Message::Heartbeat { every });
    }

    /// Announces a change: a resource's new contents, or a changed list.
    pub fn notify(&self, notice: Notice) {
        self.send(Message::Notice(notice));
    }

    /// Marks where a long call's background part begins. For a tool that supports tasks
    /// ([`Tool::tasks`](crate::Tool::tasks)) and a client of the tasks extension, the client
    /// gets a task at once and polls it for the result; questions asked from here on become
    /// the task's input requests, and those asked before are answered in rounds. Otherwise
    /// the call goes on as usual.
    pub fn start_task(&self) {
        self.send(Message::StartTask);
    }

    /// Tells the client that the URL elicitation `id` was completed out of band.
    pub fn elicitation_complete(&self, id: impl Into<String>) {
        self.send(Message::ElicitationComplete { id: id.into() });
    }

    /// Asks the client's model for a completion (`sampling/createMessage`), with the request's
    /// `params` as MCP defines them; returns the client's result.
    ///
    /// A 2026-07-28 client answers in its next request: until then this returns
    /// [`ClientError::InputRequired`], which the handler passes on with `?`. Questions
    /// asked together (with `join!`) go out in one round.
    pub async fn sample(&self, params: Value) -> Result<Value, ClientError> {
        self.input_key(None).sample(params).await
    }

    /// Asks the user for input through the client (`elicitation/create`), in form or URL
    /// mode (answered like [`sample`](Self::sample)).
    pub async fn elicit(&self, elicitation: Elicitation) -> Result<ElicitResult, ClientError> {
        self.input_key(None).elicit(elicitation).await
    }

    /// Asks the client for its roots (`roots/list`, answered like [`sample`](Self::sample)).
    pub async fn roots(&self) -> Result<Vec<Root>, ClientError> {
        self.input_key(None).roots().await
    }

    /// Names the next question `key` in a 2026-07-28 `input_required` result (the client
    /// answers under that key); other revisions ignore the name.
    pub fn input(&self, key: impl Into<String>) -> Question<'_> {
        self.input_key(Some(key.into()))
    }

    fn input_key(&self, key: Option<String>) -> Question<'_> {
        Question { context: self, key }
    }

    fn send(&self, message: Message) {
        (self.outbox.0)(self.call, message);
    }
}

/// A question to the client under a key the handler chose (see [`Context::input`]).
#[derive(Debug)]
pub struct Question<'a> {
    context: &'a Context,
    key: Option<String>,
}

impl Question<'_> {
    /// Asks for a completion (`sampling/createMessage`), as [`Context::sample`] does.
    pub async fn sample(self, params: Value) -> Result<Value, ClientError> {
        self.ask(ClientRequest::Sampling(params)).await
    }

    /// Asks the user for input (`elicitation/create`), as [`Context::elicit`] does.
    pub async fn elicit(self, elicitation: Elicitation) -> Result<ElicitResult, ClientError> {
        let result = self.ask(ClientRequest::Elicitation(elicitation)).await?;
        ElicitResult::from_json(result)
    }

    /// Asks for the client's roots (`roots/list`), as [`Context::roots`] does.
    pub async fn roots(self) -> Result<Vec<Root>, ClientError> {
        let result = self.ask(ClientRequest::Roots).await?;
        Root::list_from_json(result)
    }

    async fn ask(self, request: ClientRequest) -> Result<Value, ClientError> {
        let (reply, answer) = client::channel();
        self.context.send(Message::Request {
            request,
            key: self.key,
            reply,
        });
        answer.await
    }
}
