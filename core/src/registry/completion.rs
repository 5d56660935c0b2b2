//! Completion of prompt arguments and template variables: what a completion handler is asked.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use crate::handler::{Completion, Context, Erased, HandlerError, Output, erase};

/// A completion handler, type-erased.
pub(crate) type Completer = Erased<CompletionRequest>;

/// Wraps a user's completion function into a type-erased handler.
pub(crate) fn completer<F, Fut>(handler: F) -> Completer
where
    F: Fn(CompletionRequest, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Completion, HandlerError>> + Send + 'static,
{
    erase(handler)
}

/// The completer of a prompt or template without one: nothing to suggest.
pub(crate) fn no_completion() -> Completer {
    Arc::new(|_, _| Box::pin(async { Ok(Output::Completion(Completion::default())) }))
}

/// What a completion handler is asked: which argument, what the user typed so far, and the
/// values of the other arguments already chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompletionRequest {
    /// The prompt argument or template variable being completed.
    pub argument: String,
    /// What the user has typed so far.
    pub value: String,
    /// Arguments already resolved (`context.arguments`).
    pub context: BTreeMap<String, String>,
}
