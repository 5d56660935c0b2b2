//! Cursor pagination of the list methods: opaque cursors that carry the list's name and the
//! offset of the next page.

use serde_json::{Map, Value};

use super::invalid_params;
use crate::error::RpcError;

/// Cuts one page of `items` for a list request: reads `cursor` from `params`, returns the
/// page's range and the cursor of the next one.
pub(super) fn page(
    list: &str,
    len: usize,
    page_size: usize,
    params: Option<&Value>,
) -> Result<(std::ops::Range<usize>, Option<String>), RpcError> {
    let start = match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => 0,
        Some(Value::String(cursor)) => cursor
            .strip_prefix(list)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0 && n < len)
            .ok_or_else(|| invalid_params("Invalid cursor"))?,
        Some(_) => return Err(invalid_params("cursor must be a string")),
    };
    let end = start.saturating_add(page_size.max(1)).min(len);
    let next = (end < len).then(|| format!("{list}:{end}"));
    Ok((start..end, next))
}

/// Builds a list result: the page under `key`, and `nextCursor` when more follow.
pub(super) fn result(key: &str, page: Vec<Value>, next: Option<String>) -> Value {
    let mut result = Map::new();
    result.insert(key.into(), Value::Array(page));
    if let Some(next) = next {
        result.insert("nextCursor".into(), Value::String(next));
    }
    Value::Object(result)
}
