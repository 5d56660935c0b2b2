//! [`ResourceTemplate::typed`]: a template whose variables are read into a Rust type, and
//! whose handler returns what the URI holds, which [`IntoContents`] turns into contents.

use std::future::Future;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::args::StringArgs;
use super::output::Json;

use crate::content::ResourceContents;
use crate::handler::{Context, HandlerError};
use crate::registry::ResourceTemplate;

/// What a typed resource handler may return: the contents of the URI it was asked for.
///
/// ```
/// use rampart_core::typed::{IntoContents, Json};
///
/// let contents = Json(vec![1, 2]).into_contents("data://list").unwrap();
/// assert_eq!(contents[0].uri, "data://list");
/// assert_eq!(contents[0].mime_type.as_deref(), Some("application/json"));
/// assert!(None::<String>.into_contents("data://gone").unwrap().is_empty());
/// ```
pub trait IntoContents: Send + 'static {
    /// Returns the MIME type every value of this type has, listed with the template.
    fn mime_type() -> Option<&'static str> {
        None
    }

    /// Turns the value into the contents of `uri`; none means the resource does not exist.
    fn into_contents(self, uri: &str) -> Result<Vec<ResourceContents>, HandlerError>;
}

impl IntoContents for String {
    fn mime_type() -> Option<&'static str> {
        Some("text/plain")
    }

    fn into_contents(self, uri: &str) -> Result<Vec<ResourceContents>, HandlerError> {
        Ok(vec![ResourceContents::text(uri, self).mime_type("text/plain")])
    }
}

impl<T: Serialize + Send + 'static> IntoContents for Json<T> {
    fn mime_type() -> Option<&'static str> {
        Some("application/json")
    }

    fn into_contents(self, uri: &str) -> Result<Vec<ResourceContents>, HandlerError> {
        let text = serde_json::to_string(&self.0)
            .map_err(|err| HandlerError::failed(format!("the contents did not serialize: {err}")))?;
        Ok(vec![
            ResourceContents::text(uri, text).mime_type("application/json"),
        ])
    }
}

impl IntoContents for ResourceContents {
    fn into_contents(self, _uri: &str) -> Result<Vec<ResourceContents>, HandlerError> {
        Ok(vec![self])
    }
}

impl IntoContents for Vec<ResourceContents> {
    fn into_contents(self, _uri: &str) -> Result<Vec<ResourceContents>, HandlerError> {
        Ok(self)
    }
}

impl<T: IntoContents> IntoContents for Option<T> {
    fn mime_type() -> Option<&'static str> {
        T::mime_type()
    }

    fn into_contents(self, uri: &str) -> Result<Vec<ResourceContents>, HandlerError> {
        self.map_or(Ok(Vec::new()), |contents| contents.into_contents(uri))
    }
}

impl ResourceTemplate {
    /// Creates a template whose variables are the fields of `A`.
    ///
    /// The type's doc comment describes the template unless `description` sets another.
    /// Every variable of the template must be a field of `A`, and every required field a
    /// variable; registering fails otherwise. Variables are read as their field's type
    /// (`users://42` gives a `u64` 42) and checked against `A`'s schema: a URI whose
    /// variables `A` refuses gets -32602 naming the variable. The handler returns the
    /// contents at the URI: text, [`Json`] (sent as `application/json`), contents of your
    /// own, or `None` for a resource that does not exist (-32002); text and `Json` also set
    /// the listed MIME type. String enum fields complete their values by themselves; a
    /// completion handler of your own is asked for the other variables.
    ///
    /// ```
    /// use rampart_core::{Context, Registry, ResourceTemplate, typed::Json};
    /// use schemars::JsonSchema;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct UserRef {
    ///     /// The user's numeric id.
    ///     id: u64,
    /// }
    ///
    /// #[derive(Serialize)]
    /// struct User { id: u64, name: String }
    ///
    /// let registry = Registry::new().resource_template(ResourceTemplate::typed(
    ///     "users://{id}",
    ///     "user",
    ///     |user: UserRef, _ctx: Context| async move {
    ///         Ok((user.id == 1).then(|| Json(User { id: 1, name: "Ada".into() })))
    ///     },
    /// ))?;
    /// # Ok::<(), rampart_core::RegisterError>(())
    /// ```
    pub fn typed<A, O, F, Fut>(uri_template: impl Into<String>, name: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: IntoContents,
        F: Fn(A, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, HandlerError>> + Send + 'static,
    {
        let args = match StringArgs::of::<A>() {
            Ok(args) => Arc::new(args),
            Err(err) => {
                return ResourceTemplate::new(uri_template, name, |_, _| async { Ok(Vec::new()) })
                    .with_typed(Err(err));
            }
        };
        let reader = Arc::clone(&args);
        let mut template = ResourceTemplate::new(uri_template, name, move |request, ctx| {
            let call = reader
                .decode::<A>(&request.variables)
                .map(|args| handler(args, ctx));
            async move {
                call.map_err(HandlerError::rpc)?
                    .await?
                    .into_contents(&request.uri)
            }
        });
        if let Some(mime_type) = O::mime_type() {
            template = template.mime_type(mime_type);
        }
        if let Some(description) = &args.description {
            template = template.description(description);
        }
        template.with_typed(Ok(args))
    }
}
