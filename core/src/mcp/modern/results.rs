//! What every 2026-07-28 result carries besides its content: `resultType`, caching hints on
//! cacheable results, and the server's identity in `_meta`; and the codes the revision
//! renames.

use serde_json::{Map, Value, json};

use super::meta::SERVER_INFO;
use crate::config::Config;
use crate::error::{Disclosure, ErrorCode, RpcError};
use crate::registry::CacheHint;

/// Completes a result object for a 2026-07-28 client: `resultType` (unless the result set
/// its own), `ttlMs` and `cacheScope` when `cache` is given, and `serverInfo` in `_meta`.
pub(crate) fn finish(result: &mut Value, cache: Option<CacheHint>, config: &Config) {
    let Value::Object(object) = result else {
        return;
    };
    object
        .entry("resultType")
        .or_insert_with(|| Value::from("complete"));
    if let Some(cache) = cache {
        object.insert("ttlMs".into(), json!(cache.ttl_ms()));
        object.insert("cacheScope".into(), json!(cache.scope.as_str()));
    }
    let meta = object.entry("_meta").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert(
            SERVER_INFO.into(),
            json!({"name": config.server_name, "version": config.server_version}),
        );
    }
}

/// The `_meta` member that names the server, written as JSON (`"_meta":{...}`), for results
/// written without a `Value` tree.
pub(crate) fn server_info_member(config: &Config) -> String {
    let meta = json!({ SERVER_INFO: {"name": config.server_name, "version": config.server_version} });
    format!(r#""_meta":{meta}"#)
}

/// Rewrites an error for a 2026-07-28 client: the revision forbids -32002, so a missing
/// resource is -32602 with its URI in `data`, and E_VERB_NOT_FOUND is -32602 with the same
/// message.
pub(crate) fn error(mut error: RpcError) -> RpcError {
    match error.code {
        ErrorCode::ResourceNotFound => {
            error.code = ErrorCode::InvalidParams;
            error.disclosure = Disclosure::Always;
        }
        ErrorCode::VerbNotFound => error.code = ErrorCode::InvalidParams,
        _ => {}
    }
    error
}

/// The HTTP status of a 2026-07-28 error response: 404 for an unknown method, 400 for what
/// the revision calls a bad request (headers, metadata, version, capability), else 200.
pub(crate) fn http_status(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::MethodNotFound => 404,
        ErrorCode::HeaderMismatch | ErrorCode::MissingCapability | ErrorCode::UnsupportedVersion => 400,
        _ => 200,
    }
}
