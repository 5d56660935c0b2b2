//! What a tool returns: content blocks, optional structured content, and whether the result
//! reports a failure the model should see.

use serde::Serialize;
use serde_json::Value;

use crate::content::{Content, ResourceContents};
use crate::protocol::ProtocolVersion;

/// A tool's result: content blocks, optional `structuredContent`, and `isError`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[must_use]
pub struct ToolOutput {
    content: Vec<Content>,
    #[serde(rename = "structuredContent", skip_serializing_if = "Option::is_none")]
    structured: Option<Value>,
    #[serde(rename = "isError", skip_serializing_if = "std::ops::Not::not")]
    is_error: bool,
}

impl ToolOutput {
    /// Creates a result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::default().with_text(text)
    }

    /// Creates a result with `structuredContent` and its JSON text as a text block, which
    /// clients that do not read structured content show instead.
    pub fn structured(value: Value) -> Self {
        Self::text(value.to_string()).with_structured(value)
    }

    /// Creates an `isError: true` result: a failure the tool reports to the model.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            is_error: true,
            ..Self::text(text)
        }
    }

    /// Creates a result from content blocks.
    pub fn content(content: impl IntoIterator<Item = Content>) -> Self {
        Self {
            content: content.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Appends a content block.
    pub fn with(mut self, content: Content) -> Self {
        self.content.push(content);
        self
    }

    /// Appends a text block.
    pub fn with_text(self, text: impl Into<String>) -> Self {
        self.with(Content::text(text))
    }

    /// Appends an image block (base64 `data` of the given MIME type).
    pub fn with_image(self, data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        self.with(Content::image(data, mime_type))
    }

    /// Appends an audio block (base64 `data` of the given MIME type).
    pub fn with_audio(self, data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        self.with(Content::audio(data, mime_type))
    }

    /// Appends an embedded resource.
    pub fn with_resource(self, resource: ResourceContents) -> Self {
        self.with(Content::resource(resource))
    }

    /// Appends a link to a resource.
    pub fn with_resource_link(self, uri: impl Into<String>, name: impl Into<String>) -> Self {
        self.with(Content::resource_link(uri, name))
    }

    /// Sets `structuredContent`.
    pub fn with_structured(mut self, value: Value) -> Self {
        self.structured = Some(value);
        self
    }

    /// Replaces `structuredContent`, if set, with what `f` makes of it.
    pub(crate) fn map_structured(mut self, f: impl FnOnce(Value) -> Value) -> Self {
        self.structured = self.structured.map(f);
        self
    }

    /// Marks the result as a failure the model should see (`isError: true`).
    pub fn as_error(mut self) -> Self {
        self.is_error = true;
        self
    }

    /// Returns the content blocks.
    pub fn blocks(&self) -> &[Content] {
        &self.content
    }

    /// Returns `structuredContent`, if set.
    pub fn structured_content(&self) -> Option<&Value> {
        self.structured.as_ref()
    }

    /// Returns whether the result reports a failure (`isError`).
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// Returns the result object as sent in a `tools/call` response.
    pub fn to_json(&self) -> Value {
        // Serializing strings, numbers and JSON values cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Keeps only what a client speaking `version` understands: no `structuredContent`
    /// before 2025-06-18, and no content block its revision lacks.
    pub(crate) fn for_version(mut self, version: ProtocolVersion) -> Self {
        if version < ProtocolVersion::V2025_06_18 {
            self.structured = None;
        }
        if self.content.iter().any(|block| !block.known_in(version)) {
            self.content.retain(|block| block.known_in(version));
        }
        self
    }
}
