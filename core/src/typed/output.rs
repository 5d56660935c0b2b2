//! What a typed tool returns: any [`IntoToolOutput`], of which [`Json<T>`] declares an
//! output schema and sends structured content.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::content::Content;
use crate::handler::{HandlerError, ToolOutput};

/// What a typed tool's handler may return: its output schema, if it has one, and the result.
///
/// Implement it for a result type of your own to return it directly:
///
/// ```
/// use rampart_core::{Context, HandlerError, Tool, ToolOutput, typed::IntoToolOutput};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// /// A chart, sent as an image.
/// struct Chart(String);
///
/// impl IntoToolOutput for Chart {
///     fn into_tool_output(self) -> Result<ToolOutput, HandlerError> {
///         Ok(ToolOutput::default().with_image(self.0, "image/png"))
///     }
/// }
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Plot { series: Vec<f64> }
///
/// let tool = Tool::typed("plot", |args: Plot, _ctx: Context| async move {
///     Ok(Chart(format!("{} points, base64 here", args.series.len())))
/// });
/// # let _ = tool;
/// ```
pub trait IntoToolOutput: Send + 'static {
    /// Returns the `outputSchema` results of this type satisfy, if they declare one.
    fn output_schema() -> Option<Value> {
        None
    }

    /// Turns the value into the tool's result.
    fn into_tool_output(self) -> Result<ToolOutput, HandlerError>;
}

/// A result sent as `structuredContent` (and as its JSON text, for clients that show only
/// content), with `T`'s schema declared as the tool's `outputSchema`.
///
/// `T` may be any serializable type. A 2026-07-28 client gets its schema and value as they
/// are; for an earlier client, whose `structuredContent` must be an object, a `T` that is
/// not a struct or map is wrapped as `{"result": value}` in both schema and value.
///
/// ```
/// use rampart_core::{Context, HandlerError, Tool, typed::Json};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Add {
///     a: i64,
///     b: i64,
/// }
///
/// #[derive(Serialize, JsonSchema)]
/// struct Sum {
///     sum: i64,
/// }
///
/// let tool = Tool::typed("add", |args: Add, _ctx: Context| async move {
///     let sum = args.a.checked_add(args.b).ok_or(HandlerError::tool_error("overflow"))?;
///     Ok(Json(Sum { sum }))
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize + JsonSchema + Send + 'static> IntoToolOutput for Json<T> {
    fn output_schema() -> Option<Value> {
        Some(super::output_schema::<T>())
    }

    fn into_tool_output(self) -> Result<ToolOutput, HandlerError> {
        let value = serde_json::to_value(&self.0)
            .map_err(|err| HandlerError::failed(format!("the result did not serialize: {err}")))?;
        Ok(ToolOutput::structured(value))
    }
}

impl IntoToolOutput for ToolOutput {
    fn into_tool_output(self) -> Result<ToolOutput, HandlerError> {
        Ok(self)
    }
}

impl IntoToolOutput for String {
    fn into_tool_output(self) -> Result<ToolOutput, HandlerError> {
        Ok(ToolOutput::text(self))
    }
}

impl IntoToolOutput for &'static str {
    fn into_tool_output(self) -> Result<ToolOutput, HandlerError> {
        Ok(ToolOutput::text(self))
    }
}

impl IntoToolOutput for Content {
    fn into_tool_output(self) -> Result<ToolOutput, HandlerError> {
        Ok(ToolOutput::content([self]))
    }
}

impl IntoToolOutput for Vec<Content> {
    fn into_tool_output(self) -> Result<ToolOutput, HandlerError> {
        Ok(ToolOutput::content(self))
    }
}

impl<T> Json<T> {
    /// Sends `text` as the result's text block in place of the value's JSON: `"5"` rather
    /// than `{"sum":5}`, for clients that show only content.
    ///
    /// ```
    /// use rampart_core::{Context, Tool, typed::Json};
    /// use schemars::JsonSchema;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Add { a: i64, b: i64 }
    ///
    /// #[derive(Serialize, JsonSchema)]
    /// struct Sum { sum: i64 }
    ///
    /// let tool = Tool::typed("add", |args: Add, _ctx: Context| async move {
    ///     let sum = args.a.saturating_add(args.b);
    ///     Ok(Json(Sum { sum }).with_text(sum.to_string()))
    /// });
    /// # let _ = tool;
    /// ```
    pub fn with_text(self, text: impl Into<String>) -> WithText<T> {
        WithText {
            value: self.0,
            text: text.into(),
        }
    }
}

/// A [`Json`] result whose text block is chosen by the handler; made by [`Json::with_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithText<T> {
    value: T,
    text: String,
}

impl<T: Serialize + JsonSchema + Send + 'static> IntoToolOutput for WithText<T> {
    fn output_schema() -> Option<Value> {
        Json::<T>::output_schema()
    }

    fn into_tool_output(self) -> Result<ToolOutput, HandlerError> {
        let value = serde_json::to_value(&self.value)
            .map_err(|err| HandlerError::failed(format!("the result did not serialize: {err}")))?;
        Ok(ToolOutput::text(self.text).with_structured(value))
    }
}
