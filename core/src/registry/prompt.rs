//! Prompts: their arguments, their handlers, the messages they return, and the registry.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde_json::{Value, json};

use super::completion::{Completer, CompletionRequest, completer};
use super::{Named, RegisterError, valid_name};
use crate::handler::{Completion, Context, Erased, HandlerError, PromptResult, erase};
use crate::typed::args::{StringArgs, TypedArgs};

/// A prompt handler, type-erased.
pub(crate) type PromptHandler = Erased<BTreeMap<String, String>>;

/// One argument a prompt takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptArgument {
    name: String,
    title: Option<String>,
    description: Option<String>,
    required: bool,
}

impl PromptArgument {
    /// Creates an optional argument.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            title: None,
            description: None,
            required: false,
        }
    }

    /// Creates a required argument: `prompts/get` without it gets -32602 naming it.
    pub fn required(name: impl Into<String>) -> Self {
        Self {
            required: true,
            ..Self::new(name)
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// A prompt template the client can list and get.
pub struct Prompt {
    name: String,
    title: Option<String>,
    description: Option<String>,
    arguments: Vec<PromptArgument>,
    handler: PromptHandler,
    completer: Option<Completer>,
    /// The typed arguments of [`Prompt::typed`], which completion requests read.
    typed: Option<TypedArgs>,
}

impl Prompt {
    /// Creates a prompt; `handler` gets the arguments (required ones already checked).
    pub fn new<F, Fut>(name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(BTreeMap<String, String>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<PromptResult, HandlerError>> + Send + 'static,
    {
        Self {
            name: name.into(),
            title: None,
            description: None,
            arguments: Vec::new(),
            handler: erase(handler),
            completer: None,
            typed: None,
        }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds an argument.
    pub fn argument(mut self, argument: PromptArgument) -> Self {
        self.arguments.push(argument);
        self
    }

    /// Completes the prompt's arguments (`completion/complete` with a `ref/prompt`).
    pub fn complete<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(CompletionRequest, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Completion, HandlerError>> + Send + 'static,
    {
        self.completer = Some(completer(handler));
        self
    }

    /// Returns the prompt's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keeps what `typed` derived: the arguments for completion requests, or the reason
    /// registering fails.
    pub(crate) fn with_typed(mut self, typed: TypedArgs) -> Self {
        self.typed = Some(typed);
        self
    }

    pub(crate) fn string_args(&self) -> Option<&Arc<StringArgs>> {
        self.typed.as_ref().and_then(|typed| typed.as_ref().ok())
    }

    pub(crate) fn handler(&self) -> &PromptHandler {
        &self.handler
    }

    pub(crate) fn completer(&self) -> Option<&Completer> {
        self.completer.as_ref()
    }

    /// Returns the first required argument missing from `args`.
    pub(crate) fn missing_argument(&self, args: &BTreeMap<String, String>) -> Option<&str> {
        self.arguments
            .iter()
            .find(|argument| argument.required && !args.contains_key(&argument.name))
            .map(|argument| argument.name.as_str())
    }

    pub(crate) fn has_argument(&self, name: &str) -> bool {
        self.arguments.iter().any(|argument| argument.name == name)
    }

    pub(crate) fn definition(&self, modern: bool) -> Value {
        let mut def = serde_json::Map::new();
        def.insert("name".into(), json!(self.name));
        if modern && let Some(title) = &self.title {
            def.insert("title".into(), json!(title));
        }
        if let Some(description) = &self.description {
            def.insert("description".into(), json!(description));
        }
        let arguments: Vec<Value> = self
            .arguments
            .iter()
            .map(|argument| {
                let mut def = serde_json::Map::new();
                def.insert("name".into(), json!(argument.name));
                if modern && let Some(title) = &argument.title {
                    def.insert("title".into(), json!(title));
                }
                if let Some(description) = &argument.description {
                    def.insert("description".into(), json!(description));
                }
                def.insert("required".into(), json!(argument.required));
                Value::Object(def)
            })
            .collect();
        if !arguments.is_empty() {
            def.insert("arguments".into(), Value::Array(arguments));
        }
        Value::Object(def)
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The server's prompts, in registration order.
#[derive(Default)]
pub struct PromptRegistry {
    prompts: Named<Prompt>,
}

impl fmt::Debug for PromptRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.prompts.all().iter().map(|prompt| &prompt.name))
            .finish()
    }
}

impl PromptRegistry {
    /// Adds a prompt; fails on a duplicate or malformed name.
    pub fn register(&mut self, prompt: Prompt) -> Result<(), RegisterError> {
        if !valid_name(&prompt.name) {
            return Err(RegisterError::InvalidName(prompt.name));
        }
        if let Some(Err(source)) = prompt.typed {
            return Err(RegisterError::InvalidSchema {
                name: prompt.name,
                source,
            });
        }
        self.prompts.insert(prompt.name.clone(), prompt)
    }

    /// Removes the prompt named `name`; returns whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        self.prompts.remove(name).is_some()
    }

    /// Returns whether there are no prompts.
    pub fn is_empty(&self) -> bool {
        self.prompts.all().is_empty()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Prompt> {
        self.prompts.get(name)
    }

    pub(crate) fn all(&self) -> &[Prompt] {
        self.prompts.all()
    }
}
