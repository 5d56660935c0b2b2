//! Prompts: `prompts/list` and `prompts/get`, with required arguments checked before the
//! prompt's handler runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::{
    Dispatch, ProtocolVersion, Reply, Start, invalid_params, pagination, params_object, string_param,
};
use crate::error::RpcError;
use crate::handler::CallKind;

pub(super) fn list(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    let prompts = dispatch.registry.prompts.all();
    let modern = dispatch
        .session
        .version()
        .is_some_and(|version| version >= ProtocolVersion::V2025_06_18);
    let result = pagination::page(
        "prompts",
        prompts.len(),
        dispatch.config.page_size,
        params.as_ref(),
    )
    .map(|(range, next)| {
        let page = prompts
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|prompt| prompt.definition(modern))
            .collect();
        pagination::result("prompts", page, next)
    });
    Reply::Now(result)
}

pub(super) fn get(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    match start(dispatch, params) {
        Ok(start) => Reply::Run(start),
        Err(error) => Reply::Now(Err(error)),
    }
}

fn start(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Result<Start, RpcError> {
    let mut params = params_object(params, "prompts/get")?;
    let name = string_param(&mut params, "name", "prompts/get")?;
    let Some(prompt) = dispatch.registry.prompts.get(&name) else {
        return Err(invalid_params(format!("Prompt not found: {name}")));
    };
    let arguments = string_map(params.remove("arguments"), "arguments")?;
    if let Some(missing) = prompt.missing_argument(&arguments) {
        return Err(invalid_params(format!("Missing required argument: {missing}")));
    }
    let handler = Arc::clone(prompt.handler());
    Ok(Start::new(CallKind::PromptGet, name, move |ctx| {
        handler(arguments, ctx)
    }))
}

/// Reads an object of string values (prompt arguments, completion context).
pub(super) fn string_map(value: Option<Value>, what: &str) -> Result<BTreeMap<String, String>, RpcError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(invalid_params(format!("{what} must be an object of strings"))),
    };
    object
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(value) => Ok((key, value)),
            _ => Err(invalid_params(format!("{what}.{key} must be a string"))),
        })
        .collect()
}
