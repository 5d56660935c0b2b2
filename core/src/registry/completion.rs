//! Completion of prompt arguments and template variables: what a completion handler is asked.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::handler::{Completion, Context, Erased, HandlerError, Output, erase};
use crate::typed::args::{StringArgs, decode};

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
#[derive(Clone)]
#[non_exhaustive]
pub struct CompletionRequest {
    /// The prompt argument or template variable being completed.
    pub argument: String,
    /// What the user has typed so far.
    pub value: String,
    /// Arguments already resolved (`context.arguments`).
    pub context: BTreeMap<String, String>,
    /// The typed arguments of the prompt or template, when it was made with `typed`.
    pub(crate) args: Option<Arc<StringArgs>>,
}

impl CompletionRequest {
    /// Reads the arguments already chosen as `T`, each as its field's type when the prompt
    /// or template is typed (a struct whose fields are all `Option` reads any subset).
    ///
    /// Fails with -32602 naming the argument that `T` refuses.
    ///
    /// ```
    /// use rampart_core::{Completion, Context, Prompt, PromptResult};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Route { country: String, city: String }
    ///
    /// #[derive(Deserialize)]
    /// struct Chosen { country: Option<String> }
    ///
    /// let prompt = Prompt::typed("route", |_: Route, _ctx: Context| async { Ok(PromptResult::new()) })
    ///     .complete(|request, _ctx| async move {
    ///         let chosen: Chosen = request.context_as()?;
    ///         let cities: &[&str] = match chosen.country.as_deref() {
    ///             Some("fr") => &["Paris", "Lyon"],
    ///             _ => &["London", "Leeds"],
    ///         };
    ///         Ok(Completion::matching(cities.iter().copied(), &request.value))
    ///     });
    /// # let _ = prompt;
    /// ```
    pub fn context_as<T: DeserializeOwned>(&self) -> Result<T, HandlerError> {
        match &self.args {
            Some(args) => args.decode_partial(&self.context).map_err(HandlerError::rpc),
            None => {
                let strings = self
                    .context
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone().into()))
                    .collect();
                decode(serde_json::Value::Object(strings)).map_err(|err| {
                    let mut err = err.into_rpc();
                    err.code = crate::error::ErrorCode::InvalidParams;
                    HandlerError::rpc(err)
                })
            }
        }
    }
}

impl std::fmt::Debug for CompletionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletionRequest")
            .field("argument", &self.argument)
            .field("value", &self.value)
            .field("context", &self.context)
            .finish()
    }
}
