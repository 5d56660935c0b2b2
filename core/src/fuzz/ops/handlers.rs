//! The handlers the `ops` host runs: each call's future, started and polled when an operation
//! says so, with an outbox that holds what the handler sends until the host passes it on to
//! the server; and requests to the client made on a running call's behalf.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};

use serde_json::json;

use crate::{
    Call, CallFuture, CallId, CallKind, ClientError, Completion, Content, Context, Elicitation, HandlerError,
    Message, Outbox, Outcome, Output, PromptResult, ResourceContents, ToolOutput,
};

/// A call the server started, run by the host.
pub(super) struct Handler {
    pub(super) id: CallId,
    pub(super) kind: CallKind,
    pub(super) name: String,
    /// The call, until it is started.
    call: Option<Call>,
    future: Option<Pin<Box<CallFuture>>>,
}

impl Handler {
    pub(super) fn new(call: Call) -> Self {
        Self {
            id: call.id,
            kind: call.kind,
            name: call.name.to_string(),
            call: Some(call),
            future: None,
        }
    }

    /// Polls the handler once, starting it first if it has not started.
    pub(super) fn poll(&mut self, outbox: &Outbox) -> Poll<Outcome> {
        if let Some(call) = self.call.take() {
            self.future = Some(Box::pin(call.run(outbox.clone())));
        }
        let Some(future) = self.future.as_mut() else {
            return Poll::Ready(Err(HandlerError::failed("polled after it finished")));
        };
        let poll = future.as_mut().poll(&mut TaskContext::from_waker(Waker::noop()));
        if poll.is_ready() {
            self.future = None;
        }
        poll
    }

    /// Returns what a handler of this kind returns on success.
    pub(super) fn output(&self) -> Output {
        match self.kind {
            CallKind::ResourceRead => ResourceContents::text(self.name.clone(), "fuzz").into(),
            CallKind::PromptGet => PromptResult::new().user(Content::text("fuzz")).into(),
            CallKind::Completion => Completion::new(["fuzz"]).into(),
            _ => ToolOutput::structured(json!({"name": self.name})).into(),
        }
    }
}

/// Where handlers' messages wait for the host to pass them on.
#[derive(Clone, Default)]
pub(super) struct Mail(Arc<Mutex<Vec<(CallId, Message)>>>);

impl Mail {
    pub(super) fn outbox(&self) -> Outbox {
        let mail = self.clone();
        Outbox::new(move |call, message| mail.lock().push((call, message)))
    }

    pub(super) fn take(&self) -> Vec<(CallId, Message)> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(CallId, Message)>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A request to the client made for a running call besides its handler's own: its fate (an
/// answer, a refusal, a timeout, or abandonment) must be known once the call ends.
pub(super) struct Ask {
    pub(super) call: CallId,
    future: Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send>>,
    pub(super) done: bool,
}

impl Ask {
    /// Makes a request of the kind `kind` says through the call's context, and polls it once
    /// so that it reaches the outbox.
    pub(super) fn new(call: CallId, outbox: Outbox, kind: u8) -> Self {
        let ctx = Context::new(call, outbox);
        let future: Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send>> = match kind % 4 {
            0 => Box::pin(async move { ctx.roots().await.map(|_| ()) }),
            1 => Box::pin(async move {
                ctx.sample(json!({"messages": [], "maxTokens": 1}))
                    .await
                    .map(|_| ())
            }),
            2 => Box::pin(async move {
                let form = Elicitation::form("?", json!({"type": "object"}));
                ctx.elicit(form).await.map(|_| ())
            }),
            _ => Box::pin(async move {
                let url = Elicitation::url("?", "https://example.invalid", "e2");
                ctx.elicit(url).await.map(|_| ())
            }),
        };
        let mut ask = Self {
            call,
            future,
            done: false,
        };
        ask.poll();
        ask
    }

    /// Polls the request; notes when its answer came.
    pub(super) fn poll(&mut self) {
        if !self.done {
            let poll = self
                .future
                .as_mut()
                .poll(&mut TaskContext::from_waker(Waker::noop()));
            self.done = poll.is_ready();
        }
    }
}
