//! Content blocks shared by tool results, prompt messages and resource reads: text, image,
//! audio, embedded resources and resource links, each with optional annotations.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who a piece of content is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// The human user (or the client acting for them).
    User,
    /// The model.
    Assistant,
}

/// Hints about how a client should use a piece of content.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[must_use]
pub struct Annotations {
    /// Who the content is meant for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<Role>,
    /// How important it is, from 0 (optional) to 1 (required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    /// When it last changed, as an ISO 8601 timestamp.
    #[serde(rename = "lastModified", skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Annotations {
    /// Creates empty annotations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the audience.
    pub fn audience(mut self, audience: impl IntoIterator<Item = Role>) -> Self {
        self.audience = audience.into_iter().collect();
        self
    }

    /// Sets the priority, clamped to 0..=1.
    pub fn priority(mut self, priority: f64) -> Self {
        self.priority = Some(if priority.is_nan() {
            0.0
        } else {
            priority.clamp(0.0, 1.0)
        });
        self
    }

    /// Sets the last-modified timestamp (ISO 8601).
    pub fn last_modified(mut self, timestamp: impl Into<String>) -> Self {
        self.last_modified = Some(timestamp.into());
        self
    }
}

/// The body of one resource: text or base64 binary, under its URI.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[must_use]
pub struct ResourceContents {
    /// The URI the contents belong to.
    pub uri: String,
    /// The MIME type, when known.
    #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The text or the base64 data.
    #[serde(flatten)]
    pub body: Body,
    /// Extra metadata for the client.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Text or base64-encoded binary data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub enum Body {
    /// UTF-8 text.
    #[serde(rename = "text")]
    Text(String),
    /// Base64-encoded bytes.
    #[serde(rename = "blob")]
    Blob(String),
}

impl ResourceContents {
    /// Creates text contents for `uri`.
    pub fn text(uri: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            mime_type: None,
            body: Body::Text(text.into()),
            meta: None,
        }
    }

    /// Creates binary contents for `uri` from base64 `data`.
    pub fn blob(uri: impl Into<String>, base64: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            mime_type: None,
            body: Body::Blob(base64.into()),
            meta: None,
        }
    }

    /// Sets the MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }
}

/// One content block of a tool result or a prompt message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Content {
    /// Plain text.
    Text {
        /// The text.
        text: String,
        /// Optional hints.
        #[serde(skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
    },
    /// A base64 image.
    Image {
        /// The base64 data.
        data: String,
        /// Its MIME type (`image/png`, ...).
        #[serde(rename = "mimeType")]
        mime_type: String,
        /// Optional hints.
        #[serde(skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
    },
    /// Base64 audio.
    Audio {
        /// The base64 data.
        data: String,
        /// Its MIME type (`audio/wav`, ...).
        #[serde(rename = "mimeType")]
        mime_type: String,
        /// Optional hints.
        #[serde(skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
    },
    /// A resource's contents, embedded.
    Resource {
        /// The embedded contents.
        resource: ResourceContents,
        /// Optional hints.
        #[serde(skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
    },
    /// A link to a resource the client may read.
    ResourceLink {
        /// The resource's URI.
        uri: String,
        /// Its name.
        name: String,
        /// A description.
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// Its MIME type.
        #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        /// Optional hints.
        #[serde(skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
    },
}

impl Content {
    /// Creates a text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            annotations: None,
        }
    }

    /// Creates an image block from base64 `data` of the given MIME type.
    pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self::Image {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
        }
    }

    /// Creates an audio block from base64 `data` of the given MIME type.
    pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self::Audio {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
        }
    }

    /// Creates an embedded resource block.
    pub fn resource(resource: ResourceContents) -> Self {
        Self::Resource {
            resource,
            annotations: None,
        }
    }

    /// Creates a link to the resource at `uri`.
    pub fn resource_link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self::ResourceLink {
            uri: uri.into(),
            name: name.into(),
            description: None,
            mime_type: None,
            annotations: None,
        }
    }

    /// Sets the block's annotations.
    pub fn with_annotations(mut self, value: Annotations) -> Self {
        match &mut self {
            Self::Text { annotations, .. }
            | Self::Image { annotations, .. }
            | Self::Audio { annotations, .. }
            | Self::Resource { annotations, .. }
            | Self::ResourceLink { annotations, .. } => *annotations = Some(value),
        }
        self
    }

    /// Returns whether a client speaking `version` knows this kind of block (audio came
    /// with 2025-03-26, resource links with 2025-06-18).
    pub(crate) fn known_in(&self, version: crate::protocol::ProtocolVersion) -> bool {
        use crate::protocol::ProtocolVersion as V;
        match self {
            Self::Audio { .. } => version >= V::V2025_03_26,
            Self::ResourceLink { .. } => version >= V::V2025_06_18,
            _ => true,
        }
    }
}
