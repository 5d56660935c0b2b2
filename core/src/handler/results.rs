//! What prompt and completion handlers return: a prompt's messages, and suggested values.

use serde::Serialize;

use crate::content::{Content, Role};

/// The most values one completion answer carries (MCP's limit).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// One message of a prompt: who says it and what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptMessage {
    /// The speaker.
    pub role: Role,
    /// What is said.
    pub content: Content,
}

/// What a prompt handler returns: an optional description and the messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[must_use]
pub struct PromptResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    messages: Vec<PromptMessage>,
}

impl PromptResult {
    /// Creates an empty result.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Appends a message from the user.
    pub fn user(mut self, content: Content) -> Self {
        self.messages.push(PromptMessage {
            role: Role::User,
            content,
        });
        self
    }

    /// Appends a message from the assistant.
    pub fn assistant(mut self, content: Content) -> Self {
        self.messages.push(PromptMessage {
            role: Role::Assistant,
            content,
        });
        self
    }

    /// Returns the messages.
    pub fn messages(&self) -> &[PromptMessage] {
        &self.messages
    }
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
