//! [`Tool::typed`]: a tool whose input schema is its argument type's, and whose output schema
//! is its result type's.

use std::future::Future;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::args::decode;
use super::output::IntoToolOutput;
use crate::handler::{Context, HandlerError};
use crate::registry::Tool;

impl Tool {
    /// Creates a tool whose arguments are `A` and whose result is `O`.
    ///
    /// The input schema is derived from `A` once, here: doc comments become descriptions
    /// (the one on `A` itself also the tool's, unless [`description`](Self::description) sets
    /// another),
    /// `#[serde(deny_unknown_fields)]` becomes `"additionalProperties": false`, and
    /// `Option` fields are optional. Each call is validated against that schema as any
    /// tool's arguments are, then deserialized into `A`. `O` may be a [`Json<T>`](super::Json),
    /// which sets the output schema, or text, content blocks, or a
    /// [`ToolOutput`](crate::ToolOutput).
    ///
    /// ```
    /// use rampart_core::{Context, HandlerError, Registry, Tool};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// /// What to echo.
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Echo {
    ///     /// The text to send back.
    ///     text: String,
    /// }
    ///
    /// let registry = Registry::new().tool(
    ///     Tool::typed("echo", |args: Echo, _ctx: Context| async move { Ok(args.text) })
    ///         .description("Returns its text unchanged."),
    /// )?;
    /// # Ok::<(), rampart_core::RegisterError>(())
    /// ```
    pub fn typed<A, O, F, Fut>(name: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: IntoToolOutput,
        F: Fn(A, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, HandlerError>> + Send + 'static,
    {
        let schema = super::input_schema::<A>();
        let description = schema
            .get("description")
            .and_then(|d| d.as_str())
            .map(str::to_owned);
        let mut tool = Tool::new(name, schema, move |args, ctx| {
            let call = decode::<A>(args).map(|args| handler(args, ctx));
            async move { call?.await?.into_tool_output() }
        });
        if let Some(description) = description {
            tool = tool.description(description);
        }
        match O::output_schema() {
            Some(schema) => tool.output_schema(schema),
            None => tool,
        }
    }
}
