//! Resources: `resources/list`, `resources/templates/list`, `resources/read`, and the
//! subscriptions of `resources/subscribe` and `resources/unsubscribe`.

use serde_json::{Value, json};

use super::{
    Dispatch, ProtocolVersion, Reply, Start, invalid_params, pagination, params_object, string_param,
};
use crate::error::{ErrorCode, RpcError};
use crate::handler::CallKind;

pub(super) fn list(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    let resources = dispatch.registry.resources.resources();
    let modern = modern(dispatch);
    let result = pagination::page(
        "resources",
        resources.len(),
        dispatch.config.page_size,
        params.as_ref(),
    )
    .map(|(range, next)| {
        let page = resources
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|resource| resource.definition(modern))
            .collect();
        pagination::result("resources", page, next)
    });
    Reply::Now(result)
}

pub(super) fn templates(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    let templates = dispatch.registry.resources.templates();
    let modern = modern(dispatch);
    let result = pagination::page(
        "templates",
        templates.len(),
        dispatch.config.page_size,
        params.as_ref(),
    )
    .map(|(range, next)| {
        let page = templates
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|template| template.definition(modern))
            .collect();
        pagination::result("resourceTemplates", page, next)
    });
    Reply::Now(result)
}

pub(super) fn read(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    let uri = match uri_param(params, "resources/read") {
        Ok(uri) => uri,
        Err(error) => return Reply::Now(Err(error)),
    };
    let Some((handler, request)) = dispatch.registry.resources.find(&uri) else {
        return Reply::Now(Err(not_found(&uri)));
    };
    Reply::Run(Start::new(CallKind::ResourceRead, uri, move |ctx| {
        handler(request, ctx)
    }))
}

pub(super) fn subscribe(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    let uri = match uri_param(params, "resources/subscribe") {
        Ok(uri) => uri,
        Err(error) => return Reply::Now(Err(error)),
    };
    if dispatch.registry.resources.find(&uri).is_none() {
        return Reply::Now(Err(not_found(&uri)));
    }
    let cap = dispatch.config.max_subscriptions;
    if !dispatch.session.subscribe(uri, cap) {
        let message = format!("Too many subscriptions: a session holds at most {cap}");
        return Reply::Now(Err(invalid_params(message)));
    }
    Reply::Now(Ok(json!({})))
}

pub(super) fn unsubscribe(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    match uri_param(params, "resources/unsubscribe") {
        Ok(uri) => {
            dispatch.session.unsubscribe(&uri);
            Reply::Now(Ok(json!({})))
        }
        Err(error) => Reply::Now(Err(error)),
    }
}

fn uri_param(params: Option<Value>, method: &str) -> Result<String, RpcError> {
    string_param(&mut params_object(params, method)?, "uri", method)
}

/// Whether the session's revision lists titles (2025-06-18 on).
fn modern(dispatch: &Dispatch<'_>) -> bool {
    dispatch
        .session
        .version()
        .is_some_and(|version| version >= ProtocolVersion::V2025_06_18)
}

/// -32002 for a URI no resource or template serves; the URI goes in `error.data` too.
pub(crate) fn not_found(uri: &str) -> RpcError {
    RpcError::new(ErrorCode::ResourceNotFound, format!("Resource not found: {uri}"))
        .with_debug(json!({"uri": uri}))
}
