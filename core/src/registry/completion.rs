//! Completion of prompt arguments and template variables: what a completion handler is asked
//! and what it answers.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;

use crate::handler::{Context, HandlerError, HandlerFuture, Output};

/// The most values one completion answer carries (MCP's limit).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// A completion handler, type-erased.
pub(crate) type Completer = Arc<dyn Fn(CompletionRequest, Context) -> HandlerFuture + Send + Sync>;

/// Wraps a user's completion function into a type-erased handler.
pub(crate) fn completer<F, Fut>(handler: F) -> Completer
where
    F: Fn(CompletionRequest, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Completion, HandlerError>> + Send + 'static,
{
    Arc::new(move |request, ctx| {
        let future = handler(request, ctx);
        Box::pin(async move { future.await.map(Output::Completion) })
    })
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

/// Suggested values for an argument.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[must_use]
pub struct Completion {
    values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
    #[serde(rename = "hasMore", skip_serializing_if = "std::ops::Not::not")]
    has_more: bool,
}

impl Completion {
    /// Creates a completion from every matching value; past 100, the first 100 are sent
    /// with `hasMore` and the `total`.
    pub fn new(values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut values: Vec<String> = values.into_iter().map(Into::into).collect();
        let total = values.len();
        let has_more = total > MAX_COMPLETION_VALUES;
        values.truncate(MAX_COMPLETION_VALUES);
        Self {
            values,
            total: has_more.then(|| u64::try_from(total).unwrap_or(u64::MAX)),
            has_more,
        }
    }

    /// Creates a completion from the `candidates` that start with `prefix`.
    pub fn matching<'a>(candidates: impl IntoIterator<Item = &'a str>, prefix: &str) -> Self {
        Self::new(
            candidates
                .into_iter()
                .filter(|candidate| candidate.starts_with(prefix)),
        )
    }

    /// Says how many values exist in all, beyond those sent.
    pub fn with_total(mut self, total: u64) -> Self {
        self.has_more = total > self.values.len() as u64;
        self.total = Some(total);
        self
    }

    /// Returns the values sent.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Returns whether more values exist than were sent.
    pub fn has_more(&self) -> bool {
        self.has_more
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_hundred_values_are_sent() {
        let many = Completion::new((0..250).map(|n| n.to_string()));
        assert_eq!(many.values().len(), 100);
        assert!(many.has_more());
        assert_eq!(
            serde_json::to_value(&many).unwrap()["total"],
            serde_json::json!(250)
        );
        let few = Completion::matching(["python", "pytorch", "rust"], "py");
        assert_eq!(few.values(), ["python", "pytorch"]);
        assert_eq!(
            serde_json::to_value(&few).unwrap(),
            serde_json::json!({"values": ["python", "pytorch"]})
        );
    }
}
