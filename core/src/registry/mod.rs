//! The user's definitions: tools, resources and resource templates, prompts, and the
//! completions attached to prompts and templates. The server's capabilities follow from what
//! is registered here.

mod cache;
mod completion;
mod prompt;
mod resource;
#[cfg(test)]
mod tests;
mod tool;
mod uri_template;

pub use cache::{CacheHint, CachePolicy, CacheScope};
pub use completion::CompletionRequest;
pub use prompt::{Prompt, PromptArgument, PromptRegistry};
pub use resource::{ReadRequest, Resource, ResourceRegistry, ResourceTemplate};
pub use tool::{TaskSupport, Tool, ToolRegistry};

pub(crate) use completion::{Completer, no_completion};

use rustc_hash::FxHashMap as HashMap;

use crate::validate::SchemaError;

/// Every definition the server serves.
#[derive(Debug, Default)]
pub struct Registry {
    /// The tools.
    pub tools: ToolRegistry,
    /// The resources and resource templates.
    pub resources: ResourceRegistry,
    /// The prompts.
    pub prompts: PromptRegistry,
    /// The caching hints of lists, reads and discovery (2026-07-28 results).
    pub cache: CachePolicy,
}

impl Registry {
    /// Creates an empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool; fails like [`ToolRegistry::register`].
    pub fn tool(mut self, tool: Tool) -> Result<Self, RegisterError> {
        self.tools.register(tool)?;
        Ok(self)
    }

    /// Adds a resource; fails like [`ResourceRegistry::register`].
    pub fn resource(mut self, resource: Resource) -> Result<Self, RegisterError> {
        self.resources.register(resource)?;
        Ok(self)
    }

    /// Adds a resource template; fails like [`ResourceRegistry::register_template`].
    pub fn resource_template(mut self, template: ResourceTemplate) -> Result<Self, RegisterError> {
        self.resources.register_template(template)?;
        Ok(self)
    }

    /// Adds a prompt; fails like [`PromptRegistry::register`].
    pub fn prompt(mut self, prompt: Prompt) -> Result<Self, RegisterError> {
        self.prompts.register(prompt)?;
        Ok(self)
    }

    /// Returns whether any prompt or template completes its arguments.
    pub(crate) fn completes(&self) -> bool {
        self.prompts.all().iter().any(|prompt| {
            prompt.completer().is_some() || prompt.string_args().is_some_and(|args| args.has_choices())
        }) || self.resources.templates().iter().any(|template| {
            template.completer().is_some() || template.string_args().is_some_and(|args| args.has_choices())
        })
    }
}

impl From<ToolRegistry> for Registry {
    fn from(tools: ToolRegistry) -> Self {
        Self {
            tools,
            ..Self::default()
        }
    }
}

/// Why a definition could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// A definition of that name or URI is already registered.
    #[error("{0:?} is already registered")]
    Duplicate(String),
    /// The name is empty, longer than 128 bytes, or has characters outside
    /// `A-Z a-z 0-9 _ - . @ /` (for a resource: the URI is empty or has whitespace).
    #[error("invalid name {0:?}: use 1 to 128 of A-Z a-z 0-9 _ - . @ /")]
    InvalidName(String),
    /// A tool's schema is not a JSON Schema the validator accepts.
    #[error("tool {name:?}: {source}")]
    InvalidSchema {
        /// The tool's name.
        name: String,
        /// What the validator said.
        source: SchemaError,
    },
    /// A URI template that cannot be parsed.
    #[error("resource template {template:?}: {reason}")]
    InvalidTemplate {
        /// The template.
        template: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Definitions in registration order, found by name.
pub(crate) struct Named<T> {
    items: Vec<T>,
    index: HashMap<String, usize>,
}

impl<T> Default for Named<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            index: HashMap::default(),
        }
    }
}

impl<T> Named<T> {
    /// Adds `item` under `name`; fails if the name is taken.
    pub(crate) fn insert(&mut self, name: String, item: T) -> Result<(), RegisterError> {
        if self.index.contains_key(&name) {
            return Err(RegisterError::Duplicate(name));
        }
        self.index.insert(name, self.items.len());
        self.items.push(item);
        Ok(())
    }

    /// Removes the item named `name`; returns it.
    pub(crate) fn remove(&mut self, name: &str) -> Option<T> {
        let index = self.index.remove(name)?;
        for slot in self.index.values_mut() {
            if *slot > index {
                *slot -= 1;
            }
        }
        Some(self.items.remove(index))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&T> {
        self.index.get(name).and_then(|&index| self.items.get(index))
    }

    pub(crate) fn all(&self) -> &[T] {
        &self.items
    }
}

/// Tool and prompt names: 1 to 128 of `A-Z a-z 0-9 _ - . @ /`.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@' | b'/'))
}
