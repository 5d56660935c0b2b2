//! `completion/complete`: suggestions for a prompt argument or a template variable, from the
//! completion handler of that prompt or template.

use std::sync::Arc;

use serde_json::Value;

use super::prompts::string_map;
use super::{Dispatch, Reply, Start, invalid_params, params_object, string_param};
use crate::error::RpcError;
use crate::handler::CallKind;
use crate::registry::{Completer, CompletionRequest};

pub(super) fn complete(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    match start(dispatch, params) {
        Ok(start) => Reply::Run(start),
        Err(error) => Reply::Now(Err(error)),
    }
}

fn start(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Result<Start, RpcError> {
    let mut params = params_object(params, "completion/complete")?;
    let Some(Value::Object(mut reference)) = params.remove("ref") else {
        return Err(invalid_params("completion/complete needs a ref object"));
    };
    let Some(Value::Object(mut argument)) = params.remove("argument") else {
        return Err(invalid_params("completion/complete needs an argument object"));
    };
    let name = string_param(&mut argument, "name", "argument")?;
    let value = string_param(&mut argument, "value", "argument")?;
    let context = match params.remove("context") {
        Some(Value::Object(mut context)) => string_map(context.remove("arguments"), "context.arguments")?,
        None | Some(Value::Null) => Default::default(),
        Some(_) => return Err(invalid_params("context must be an object")),
    };
    let kind = string_param(&mut reference, "type", "ref")?;
    let (target, completer, args) = match kind.as_str() {
        "ref/prompt" => {
            let prompt_name = string_param(&mut reference, "name", "ref")?;
            let prompt = dispatch
                .registry
                .prompts
                .get(&prompt_name)
                .ok_or_else(|| invalid_params(format!("Prompt not found: {prompt_name}")))?;
            if !prompt.has_argument(&name) {
                return Err(invalid_params(format!(
                    "Prompt {prompt_name} has no argument {name}"
                )));
            }
            (prompt_name, prompt.completer(), prompt.string_args())
        }
        "ref/resource" => {
            let uri = string_param(&mut reference, "uri", "ref")?;
            let template = dispatch
                .registry
                .resources
                .template(&uri)
                .ok_or_else(|| invalid_params(format!("Resource template not found: {uri}")))?;
            if !template.has_variable(&name) {
                return Err(invalid_params(format!("Template {uri} has no variable {name}")));
            }
            (uri, template.completer(), template.string_args())
        }
        other => return Err(invalid_params(format!("Unknown ref type: {other}"))),
    };
    let request = CompletionRequest {
        argument: name,
        value,
        context,
        args: args.cloned(),
    };
    // An enum argument of a typed prompt or template completes its own values.
    let choices = request
        .args
        .as_deref()
        .and_then(|args| args.complete(&request.argument, &request.value));
    let completer: Completer = match (choices, completer) {
        (Some(choices), _) => Arc::new(move |_, _| {
            let choices = choices.clone();
            Box::pin(async move { Ok(crate::handler::Output::Completion(choices)) })
        }),
        (None, Some(completer)) => Arc::clone(completer),
        // Nothing to suggest for a prompt or template without a completion handler.
        (None, None) => crate::registry::no_completion(),
    };
    Ok(Start::new(CallKind::Completion, target, move |ctx| {
        completer(request, ctx)
    }))
}
