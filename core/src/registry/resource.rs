//! Resources and resource templates: their definitions, their read handlers, and the
//! registry that finds the one a URI names.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde_json::{Value, json};

use super::completion::{Completer, CompletionRequest, completer};
use super::uri_template::UriTemplate;
use super::{Named, RegisterError};
use crate::content::{Annotations, Body, ResourceContents};
use crate::handler::{Completion, Context, Erased, HandlerError, erase};
use crate::typed::args::{StringArgs, TypedArgs};

/// A resource read handler, type-erased.
pub(crate) type ReadHandler = Erased<ReadRequest>;

/// What a read handler is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadRequest {
    /// The URI the client asked for.
    pub uri: String,
    /// For a template, the values of its variables in the URI (percent-decoded).
    pub variables: BTreeMap<String, String>,
}

/// What is listed about a resource or a template.
#[derive(Debug, Clone, Default)]
struct Listing {
    name: String,
    title: Option<String>,
    description: Option<String>,
    mime_type: Option<String>,
    size: Option<u64>,
    annotations: Option<Annotations>,
}

impl Listing {
    fn write(&self, def: &mut serde_json::Map<String, Value>, modern: bool) {
        def.insert("name".into(), json!(self.name));
        if modern && let Some(title) = &self.title {
            def.insert("title".into(), json!(title));
        }
        if let Some(description) = &self.description {
            def.insert("description".into(), json!(description));
        }
        if let Some(mime_type) = &self.mime_type {
            def.insert("mimeType".into(), json!(mime_type));
        }
        if let Some(size) = self.size {
            def.insert("size".into(), json!(size));
        }
        if let Some(annotations) = &self.annotations {
            def.insert("annotations".into(), json!(annotations));
        }
    }
}

/// Wraps a user's read function into a type-erased handler.
fn read_handler<F, Fut>(handler: F) -> ReadHandler
where
    F: Fn(ReadRequest, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + Send + 'static,
{
    erase(handler)
}

/// Sets the listing fields shared by resources and templates.
macro_rules! listing_setters {
    () => {
        /// Sets the human-readable title.
        pub fn title(mut self, title: impl Into<String>) -> Self {
            self.listing.title = Some(title.into());
            self
        }

        /// Sets the description.
        pub fn description(mut self, description: impl Into<String>) -> Self {
            self.listing.description = Some(description.into());
            self
        }

        /// Sets the MIME type of the contents.
        pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
            self.listing.mime_type = Some(mime_type.into());
            self
        }

        /// Sets the annotations.
        pub fn annotations(mut self, annotations: Annotations) -> Self {
            self.listing.annotations = Some(annotations);
            self
        }
    };
}

/// A resource at a fixed URI.
pub struct Resource {
    uri: String,
    listing: Listing,
    handler: ReadHandler,
}

impl Resource {
    /// Creates a resource whose contents `handler` reads on each `resources/read`.
    pub fn new<F, Fut>(uri: impl Into<String>, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ReadRequest, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + Send + 'static,
    {
        Self {
            uri: uri.into(),
            listing: Listing {
                name: name.into(),
                ..Listing::default()
            },
            handler: read_handler(handler),
        }
    }

    /// Creates a resource with fixed text.
    pub fn text(uri: impl Into<String>, name: impl Into<String>, text: impl Into<String>) -> Self {
        let uri = uri.into();
        let contents = ResourceContents::text(uri.clone(), text);
        Self::fixed(uri, name.into(), contents).mime_type("text/plain")
    }

    /// Creates a resource with fixed binary contents, given as base64.
    pub fn blob(
        uri: impl Into<String>,
        name: impl Into<String>,
        base64: impl Into<String>,
        mime_type: impl Into<String>,
    ) -> Self {
        let uri = uri.into();
        let mime_type = mime_type.into();
        let contents = ResourceContents::blob(uri.clone(), base64).mime_type(mime_type.clone());
        Self::fixed(uri, name.into(), contents).mime_type(mime_type)
    }

    fn fixed(uri: String, name: String, contents: ResourceContents) -> Self {
        let size = match &contents.body {
            Body::Text(text) => text.len(),
            // Four base64 characters carry three bytes, less the padding.
            Body::Blob(data) => {
                (data.len() / 4 * 3).saturating_sub(data.bytes().rev().take_while(|&b| b == b'=').count())
            }
        };
        let mut resource = Self::new(uri, name, move |_, _| {
            let contents = contents.clone();
            async move { Ok(vec![contents]) }
        });
        resource.listing.size = u64::try_from(size).ok();
        resource
    }

    listing_setters!();

    /// Sets the size in bytes, when known.
    pub fn size(mut self, bytes: u64) -> Self {
        self.listing.size = Some(bytes);
        self
    }

    /// Returns the resource's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub(crate) fn definition(&self, modern: bool) -> Value {
        let mut def = serde_json::Map::new();
        def.insert("uri".into(), json!(self.uri));
        self.listing.write(&mut def, modern);
        Value::Object(def)
    }
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// A family of resources named by a URI template such as `users://{id}/profile`.
pub struct ResourceTemplate {
    template: String,
    parsed: Option<UriTemplate>,
    listing: Listing,
    handler: ReadHandler,
    completer: Option<Completer>,
    /// The typed variables of [`ResourceTemplate::typed`].
    typed: Option<TypedArgs>,
}

impl ResourceTemplate {
    /// Creates a template; `handler` reads the URI a client asks for, with the template's
    /// variables filled in.
    pub fn new<F, Fut>(uri_template: impl Into<String>, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ReadRequest, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + Send + 'static,
    {
        let template = uri_template.into();
        Self {
            parsed: UriTemplate::parse(&template).ok(),
            template,
            listing: Listing {
                name: name.into(),
                ..Listing::default()
            },
            handler: read_handler(handler),
            completer: None,
            typed: None,
        }
    }

    listing_setters!();

    /// Completes the template's variables (`completion/complete` with a `ref/resource`).
    pub fn complete<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(CompletionRequest, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Completion, HandlerError>> + Send + 'static,
    {
        self.completer = Some(completer(handler));
        self
    }

    /// Returns the URI template.
    pub fn uri_template(&self) -> &str {
        &self.template
    }

    pub(crate) fn definition(&self, modern: bool) -> Value {
        let mut def = serde_json::Map::new();
        def.insert("uriTemplate".into(), json!(self.template));
        self.listing.write(&mut def, modern);
        Value::Object(def)
    }

    pub(crate) fn completer(&self) -> Option<&Completer> {
        self.completer.as_ref()
    }

    /// Keeps what `typed` derived: the variables, checked against the template's at
    /// registration, or the reason registering fails.
    pub(crate) fn with_typed(mut self, typed: TypedArgs) -> Self {
        self.typed = Some(typed);
        self
    }

    pub(crate) fn string_args(&self) -> Option<&Arc<StringArgs>> {
        self.typed.as_ref().and_then(|typed| typed.as_ref().ok())
    }

    pub(crate) fn has_variable(&self, name: &str) -> bool {
        self.parsed
            .as_ref()
            .is_some_and(|parsed| parsed.variables().any(|variable| variable == name))
    }
}

impl fmt::Debug for ResourceTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplate")
            .field("uri_template", &self.template)
            .finish_non_exhaustive()
    }
}

/// The server's resources and templates, in registration order.
#[derive(Default)]
pub struct ResourceRegistry {
    resources: Named<Resource>,
    templates: Named<ResourceTemplate>,
}

impl fmt::Debug for ResourceRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceRegistry")
            .field("resources", &self.resources.all().len())
            .field("templates", &self.templates.all().len())
            .finish()
    }
}

impl ResourceRegistry {
    /// Adds a resource; fails on an empty or duplicate URI.
    pub fn register(&mut self, resource: Resource) -> Result<(), RegisterError> {
        if resource.uri.is_empty() || resource.uri.chars().any(char::is_whitespace) {
            return Err(RegisterError::InvalidName(resource.uri));
        }
        self.resources.insert(resource.uri.clone(), resource)
    }

    /// Adds a template; fails on a malformed or duplicate template.
    pub fn register_template(&mut self, template: ResourceTemplate) -> Result<(), RegisterError> {
        let parsed = match UriTemplate::parse(&template.template) {
            Ok(parsed) => parsed,
            Err(reason) => {
                return Err(RegisterError::InvalidTemplate {
                    template: template.template,
                    reason,
                });
            }
        };
        let checked = match &template.typed {
            Some(Ok(args)) => typed_variables(&parsed, args),
            Some(Err(reason)) => Err(reason.to_string()),
            None => Ok(()),
        };
        if let Err(reason) = checked {
            return Err(RegisterError::InvalidTemplate {
                template: template.template.clone(),
                reason,
            });
        }
        self.templates.insert(template.template.clone(), template)
    }

    /// Removes the resource at `uri`; returns whether there was one.
    pub fn remove(&mut self, uri: &str) -> bool {
        self.resources.remove(uri).is_some()
    }

    /// Returns whether there are neither resources nor templates.
    pub fn is_empty(&self) -> bool {
        self.resources.all().is_empty() && self.templates.all().is_empty()
    }

    pub(crate) fn resources(&self) -> &[Resource] {
        self.resources.all()
    }

    pub(crate) fn templates(&self) -> &[ResourceTemplate] {
        self.templates.all()
    }

    /// Finds what serves `uri`: the resource registered at it, else the first template that
    /// matches it.
    pub(crate) fn find(&self, uri: &str) -> Option<(ReadHandler, ReadRequest)> {
        if let Some(resource) = self.resources.get(uri) {
            let request = ReadRequest {
                uri: uri.to_owned(),
                variables: BTreeMap::new(),
            };
            return Some((Arc::clone(&resource.handler), request));
        }
        self.templates.all().iter().find_map(|template| {
            let variables = template.parsed.as_ref()?.matches(uri)?;
            let request = ReadRequest {
                uri: uri.to_owned(),
                variables,
            };
            Some((Arc::clone(&template.handler), request))
        })
    }

    /// Returns the MIME type listed for `uri` (by its resource or the template it matches).
    pub(crate) fn listed_mime_type(&self, uri: &str) -> Option<&str> {
        if let Some(resource) = self.resources.get(uri) {
            return resource.listing.mime_type.as_deref();
        }
        self.templates
            .all()
            .iter()
            .find(|template| {
                template
                    .parsed
                    .as_ref()
                    .is_some_and(|parsed| parsed.matches(uri).is_some())
            })
            .and_then(|template| template.listing.mime_type.as_deref())
    }

    pub(crate) fn template(&self, uri_template: &str) -> Option<&ResourceTemplate> {
        self.templates.get(uri_template)
    }
}

/// Checks that a typed template's variables and its type's fields are the same names, but
/// for optional fields, which a URI may leave out.
fn typed_variables(parsed: &UriTemplate, args: &StringArgs) -> Result<(), String> {
    let properties = args.properties();
    if let Some(variable) = parsed
        .variables()
        .find(|variable| !properties.iter().any(|property| property.name == *variable))
    {
        return Err(format!(
            "variable {{{variable}}} is not a field of the template's type"
        ));
    }
    if let Some(field) = properties
        .iter()
        .find(|property| property.required && !parsed.variables().any(|variable| variable == property.name))
    {
        return Err(format!(
            "required field {:?} is not a variable of the template",
            field.name
        ));
    }
    Ok(())
}
