//! `subscriptions/listen` (2026-07-28): a long-lived stream of the notifications a client
//! opted in to, each tagged with the subscription's id. It replaces the session's `GET`
//! stream and `resources/subscribe`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::meta::SUBSCRIPTION_ID;
use crate::error::RpcError;
use crate::handler::Notice;
use crate::jsonrpc::Id;
use crate::mcp::invalid_params;

/// The most resource URIs one subscription may name.
const MAX_RESOURCES: usize = 256;

/// What one subscription asked for, among what the server honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    tools: bool,
    prompts: bool,
    resources: bool,
    updates: BTreeSet<String>,
}

impl Filter {
    /// Reads `params.notifications`; -32602 when it is missing or malformed.
    pub(crate) fn read(params: Option<&Value>) -> Result<Self, RpcError> {
        let Some(notifications) = params
            .and_then(|p| p.get("notifications"))
            .and_then(Value::as_object)
        else {
            return Err(invalid_params(
                "Invalid params: subscriptions/listen needs a notifications object",
            ));
        };
        let flag = |name: &str| notifications.get(name).and_then(Value::as_bool).unwrap_or(false);
        let updates = match notifications.get("resourceSubscriptions") {
            None => BTreeSet::new(),
            Some(Value::Array(uris)) if uris.len() <= MAX_RESOURCES => uris
                .iter()
                .map(|uri| uri.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid_params("Invalid params: resourceSubscriptions must be strings"))?,
            Some(_) => {
                return Err(invalid_params(format!(
                    "Invalid params: resourceSubscriptions must be an array of at most {MAX_RESOURCES} URIs"
                )));
            }
        };
        Ok(Self {
            tools: flag("toolsListChanged"),
            prompts: flag("promptsListChanged"),
            resources: flag("resourcesListChanged"),
            updates,
        })
    }

    /// Keeps only what the server can send: list changes of what it serves.
    pub(crate) fn honoured(mut self, tools: bool, prompts: bool, resources: bool) -> Self {
        self.tools &= tools;
        self.prompts &= prompts;
        self.resources &= resources;
        if !resources {
            self.updates.clear();
        }
        self
    }

    /// Returns whether `notice` goes to this subscription.
    pub(crate) fn wants(&self, notice: &Notice) -> bool {
        match notice {
            Notice::ToolsChanged => self.tools,
            Notice::PromptsChanged => self.prompts,
            Notice::ResourcesChanged => self.resources,
            Notice::ResourceUpdated(uri) => self.updates.contains(uri),
        }
    }

    /// The params of `notifications/subscriptions/acknowledged` for subscription `id`.
    pub(crate) fn acknowledged(&self, id: &Id) -> Value {
        let mut notifications = Map::new();
        for (name, on) in [
            ("toolsListChanged", self.tools),
            ("promptsListChanged", self.prompts),
            ("resourcesListChanged", self.resources),
        ] {
            if on {
                notifications.insert(name.into(), json!(true));
            }
        }
        if !self.updates.is_empty() {
            notifications.insert("resourceSubscriptions".into(), json!(self.updates));
        }
        json!({ "_meta": { SUBSCRIPTION_ID: id.to_value() }, "notifications": notifications })
    }
}

/// Tags a notification's params with subscription `id`.
pub(crate) fn tagged(params: Option<&Value>, id: &Id) -> Value {
    let mut params = match params {
        Some(Value::Object(object)) => object.clone(),
        _ => Map::new(),
    };
    params.insert("_meta".into(), json!({ SUBSCRIPTION_ID: id.to_value() }));
    Value::Object(params)
}

/// The result that ends subscription `id` gracefully (on shutdown).
pub(crate) fn ended(id: &Id) -> Value {
    json!({ "resultType": "complete", "_meta": { SUBSCRIPTION_ID: id.to_value() } })
}
