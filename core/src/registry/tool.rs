//! Tools: their definitions, their compiled schemas, and the registry that holds them.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use super::{Named, RegisterError, valid_name};
use crate::handler::ToolOutput;
use crate::handler::{Context, Erased, HandlerError, erase};
use crate::protocol::ProtocolVersion;
use crate::validate::{ArgsValidator, OutputValidator};

/// A tool's handler, type-erased.
pub(crate) type ToolHandler = Erased<Value>;

/// Whether a tool may run as a task of the 2026-07-28 tasks extension
/// (`io.modelcontextprotocol/tasks`), polled by the client instead of answered at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TaskSupport {
    /// Never: every call is answered directly.
    #[default]
    Never,
    /// When the request declares the extension; otherwise the call is answered directly.
    Optional,
    /// Only as a task: a request that does not declare the extension gets -32021.
    Required,
}

/// A tool: its name, schemas, annotations, deadline and handler.
pub struct Tool {
    name: String,
    title: Option<String>,
    description: Option<String>,
    input_schema: Value,
    output_schema: Option<Value>,
    annotations: Option<Value>,
    timeout: Option<Duration>,
    scope: Option<String>,
    tasks: TaskSupport,
    handler: ToolHandler,
}

impl Tool {
    /// Creates a tool from its name, its input JSON Schema and an async handler.
    ///
    /// The handler gets the validated `arguments` object and a [`Context`].
    pub fn new<F, Fut>(name: impl Into<String>, input_schema: Value, handler: F) -> Self
    where
        F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolOutput, HandlerError>> + Send + 'static,
    {
        Self {
            name: name.into(),
            title: None,
            description: None,
            input_schema,
            output_schema: None,
            annotations: None,
            timeout: None,
            scope: None,
            tasks: TaskSupport::Never,
            handler: erase(handler),
        }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description shown to models.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the JSON Schema of the tool's `structuredContent`; results are checked against it.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Sets the annotations (`readOnlyHint`, `destructiveHint`, ...).
    pub fn annotations(mut self, annotations: Value) -> Self {
        self.annotations = Some(annotations);
        self
    }

    /// Sets this tool's own per-call deadline, overriding the server default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Requires callers to hold `scope` (an OAuth scope) when the server authenticates
    /// requests; without it a call gets 403 `insufficient_scope`.
    pub fn required_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Lets the tool run as a task for clients of the tasks extension: once its handler
    /// calls [`Context::start_task`], the client holds a task to poll instead of waiting.
    pub fn tasks(mut self, support: TaskSupport) -> Self {
        self.tasks = support;
        self
    }

    /// Returns whether the tool may run as a task.
    pub fn task_support(&self) -> TaskSupport {
        self.tasks
    }

    /// Returns the tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the scope callers must hold, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Returns this tool's own deadline, if it has one.
    pub(crate) fn own_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) fn handler(&self) -> &ToolHandler {
        &self.handler
    }

    /// Returns the tool's definition as listed to a client speaking `version`, with
    /// `output_schema` as that revision takes it.
    fn definition(&self, version: ProtocolVersion, output_schema: Option<&Value>) -> Value {
        use ProtocolVersion as V;
        let mut def = serde_json::Map::new();
        def.insert("name".into(), self.name.clone().into());
        if version >= V::V2025_06_18
            && let Some(title) = &self.title
        {
            def.insert("title".into(), title.clone().into());
        }
        if let Some(description) = &self.description {
            def.insert("description".into(), description.clone().into());
        }
        def.insert("inputSchema".into(), self.input_schema.clone());
        if version >= V::V2025_06_18
            && let Some(schema) = output_schema
        {
            def.insert("outputSchema".into(), schema.clone());
        }
        if version >= V::V2025_03_26
            && let Some(annotations) = &self.annotations
        {
            def.insert("annotations".into(), annotations.clone());
        }
        Value::Object(def)
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A registered tool with its compiled validators.
pub(crate) struct Entry {
    /// The tool's name, shared with the calls and records that name it.
    pub(crate) name: std::sync::Arc<str>,
    pub(crate) tool: Tool,
    pub(crate) input: ArgsValidator,
    pub(crate) output: Option<OutputValidator>,
    /// Arguments a 2026-07-28 request repeats in a header: (property, `x-mcp-header` name).
    pub(crate) headers: Vec<(String, String)>,
    /// For an output schema that is not an object's: the object schema that wraps it as
    /// `{"result": ...}` for revisions before 2026-07-28, whose structured content is an object.
    pub(crate) wrapped_output: Option<Value>,
}

impl Entry {
    /// Returns the tool's definition as listed to a client speaking `version`, naming the
    /// schemas' dialect when `declare_dialect`.
    pub(crate) fn definition(&self, version: ProtocolVersion, declare_dialect: bool) -> Value {
        let output = match &self.wrapped_output {
            Some(wrapped) if !version.is_modern() => Some(wrapped),
            _ => self.tool.output_schema.as_ref(),
        };
        let mut def = self.tool.definition(version, output);
        if !declare_dialect {
            for key in ["inputSchema", "outputSchema"] {
                if let Some(schema) = def.get_mut(key).and_then(Value::as_object_mut) {
                    schema.remove("$schema");
                }
            }
        }
        def
    }

    /// Returns `output` as a client speaking `version` takes it: structured content that is
    /// not an object is wrapped as `{"result": ...}` before 2026-07-28.
    pub(crate) fn shape(&self, output: ToolOutput, version: ProtocolVersion) -> ToolOutput {
        if self.wrapped_output.is_none() || version.is_modern() {
            return output;
        }
        output.map_structured(|value| serde_json::json!({ "result": value }))
    }
}

/// The object schema `{"result": schema}`, which carries `schema`'s dialect and definitions
/// at its root so that its references still resolve.
fn wrap_output_schema(schema: &Value) -> Value {
    let mut inner = schema.clone();
    let mut root = serde_json::Map::new();
    if let Some(inner) = inner.as_object_mut() {
        for key in ["$schema", "$defs"] {
            if let Some(value) = inner.remove(key) {
                root.insert(key.into(), value);
            }
        }
    }
    root.insert("type".into(), "object".into());
    root.insert("properties".into(), serde_json::json!({ "result": inner }));
    root.insert("required".into(), serde_json::json!(["result"]));
    Value::Object(root)
}

/// The server's tools, in registration order.
#[derive(Default)]
pub struct ToolRegistry {
    entries: Named<Entry>,
    namespaces: BTreeSet<String>,
}

impl fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.all().iter().map(|entry| &entry.tool.name))
            .finish()
    }
}

impl ToolRegistry {
    /// Creates an empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool, compiling its schemas; fails on a duplicate name or a bad schema.
    pub fn register(&mut self, tool: Tool) -> Result<(), RegisterError> {
        if !valid_name(&tool.name) {
            return Err(RegisterError::InvalidName(tool.name));
        }
        if self.entries.get(&tool.name).is_some() {
            return Err(RegisterError::Duplicate(tool.name));
        }
        let schema_error = |name: &str, source| RegisterError::InvalidSchema {
            name: name.to_owned(),
            source,
        };
        if tool.input_schema.get("type").and_then(Value::as_str) != Some("object") {
            let source = crate::validate::SchemaError {
                reason: "inputSchema must have \"type\": \"object\"".into(),
            };
            return Err(schema_error(&tool.name, source));
        }
        let input =
            ArgsValidator::compile(&tool.input_schema).map_err(|source| schema_error(&tool.name, source))?;
        let headers = header_params(&tool.input_schema).map_err(|source| schema_error(&tool.name, source))?;
        let output = match &tool.output_schema {
            Some(schema) => {
                Some(OutputValidator::compile(schema).map_err(|source| schema_error(&tool.name, source))?)
            }
            None => None,
        };
        let wrapped_output = tool
            .output_schema
            .as_ref()
            .filter(|schema| !crate::typed::is_object_schema(schema))
            .map(wrap_output_schema);
        if let Some(namespace) = namespace_of(&tool.name) {
            self.namespaces.insert(namespace.to_owned());
        }
        self.entries.insert(
            tool.name.clone(),
            Entry {
                name: tool.name.as_str().into(),
                tool,
                input,
                output,
                headers,
                wrapped_output,
            },
        )
    }

    /// Adds a tool and returns the registry, for chaining; fails like [`register`](Self::register).
    pub fn with(mut self, tool: Tool) -> Result<Self, RegisterError> {
        self.register(tool)?;
        Ok(self)
    }

    /// Removes the tool named `name`; returns whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        if self.entries.remove(name).is_none() {
            return false;
        }
        self.namespaces = self
            .entries
            .all()
            .iter()
            .filter_map(|entry| namespace_of(&entry.tool.name).map(str::to_owned))
            .collect();
        true
    }

    /// Returns the number of tools.
    pub fn len(&self) -> usize {
        self.entries.all().len()
    }

    /// Returns whether there are no tools.
    pub fn is_empty(&self) -> bool {
        self.entries.all().is_empty()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    pub(crate) fn has_namespace(&self, name: &str) -> bool {
        namespace_of(name).is_some_and(|namespace| self.namespaces.contains(namespace))
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        self.entries.all()
    }
}

/// Reads the `x-mcp-header` annotations of an input schema's properties: each names a
/// header token, unique in the tool regardless of case, on a string, integer or boolean.
fn header_params(schema: &Value) -> Result<Vec<(String, String)>, crate::validate::SchemaError> {
    let bad = |reason: String| crate::validate::SchemaError { reason };
    let mut headers: Vec<(String, String)> = Vec::new();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(headers);
    };
    for (property, definition) in properties {
        let Some(header) = definition.get("x-mcp-header") else {
            continue;
        };
        let token = header
            .as_str()
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            })
            .ok_or_else(|| {
                bad(format!(
                    "property {property:?}: x-mcp-header must be a header name token"
                ))
            })?;
        if !matches!(
            definition.get("type").and_then(Value::as_str),
            Some("string" | "integer" | "boolean")
        ) {
            return Err(bad(format!(
                "property {property:?}: x-mcp-header is only allowed on string, integer or boolean properties"
            )));
        }
        if headers.iter().any(|(_, other)| other.eq_ignore_ascii_case(token)) {
            return Err(bad(format!("x-mcp-header {token:?} is used twice")));
        }
        headers.push((property.clone(), token.to_owned()));
    }
    Ok(headers)
}

/// The namespace of a `ns.verb@vN` name: the part before the first dot.
fn namespace_of(name: &str) -> Option<&str> {
    name.split_once('.')
        .map(|(namespace, _)| namespace)
        .filter(|ns| !ns.is_empty())
}
