//! [`Prompt::typed`]: a prompt whose arguments, their descriptions and which are required,
//! come from a Rust type.

use std::future::Future;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::args::StringArgs;
use crate::handler::{Context, HandlerError, PromptResult};
use crate::registry::{Prompt, PromptArgument};

impl Prompt {
    /// Creates a prompt whose arguments are the fields of `A`.
    ///
    /// The type's doc comment describes the prompt unless [`description`](Self::description)
    /// sets another. Each field is listed as an argument with its doc comment as the description; fields
    /// that are not `Option` are required. Arguments arrive as strings and are read as their
    /// field's type (`"3"` for a `u32`), checked against the schema, then deserialized: a
    /// refusal is -32602 naming the argument. A field whose type is an enum of strings
    /// completes its values by itself; a completion handler of your own
    /// ([`complete`](Self::complete)) is asked for the other arguments.
    ///
    /// ```
    /// use rampart_core::{Content, Context, Prompt, PromptResult, Registry};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// #[serde(rename_all = "lowercase")]
    /// enum Tone { Formal, Casual }
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Welcome {
    ///     /// The user's name.
    ///     name: String,
    ///     /// How the message should sound.
    ///     tone: Option<Tone>,
    /// }
    ///
    /// let registry = Registry::new().prompt(Prompt::typed("welcome", |args: Welcome, _ctx: Context| async move {
    ///     let greeting = match args.tone { Some(Tone::Formal) => "Dear", _ => "Hi" };
    ///     Ok(PromptResult::new().user(Content::text(format!("{greeting} {}", args.name))))
    /// }))?;
    /// # Ok::<(), rampart_core::RegisterError>(())
    /// ```
    pub fn typed<A, F, Fut>(name: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<PromptResult, HandlerError>> + Send + 'static,
    {
        let args = match StringArgs::of::<A>() {
            Ok(args) => Arc::new(args),
            Err(err) => {
                return Prompt::new(name, |_, _| async { Ok(PromptResult::new()) }).with_typed(Err(err));
            }
        };
        let reader = Arc::clone(&args);
        let mut prompt = Prompt::new(name, move |strings, ctx| {
            let call = reader.decode::<A>(&strings).map(|args| handler(args, ctx));
            async move { call.map_err(HandlerError::rpc)?.await }
        });
        for property in args.properties() {
            let mut argument = if property.required {
                PromptArgument::required(&property.name)
            } else {
                PromptArgument::new(&property.name)
            };
            if let Some(title) = &property.title {
                argument = argument.title(title);
            }
            if let Some(description) = &property.description {
                argument = argument.description(description);
            }
            prompt = prompt.argument(argument);
        }
        if let Some(description) = &args.description {
            prompt = prompt.description(description);
        }
        prompt.with_typed(Ok(args))
    }
}
