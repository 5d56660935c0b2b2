//! Unit tests of `mcp::pagination`.

use crate::mcp::pagination::*;
use serde_json::json;

#[test]
fn pages_follow_their_cursors_to_the_end() {
    let (range, next) = page("tools", 5, 2, None).unwrap();
    assert_eq!((range, next.as_deref()), (0..2, Some("tools:2")));
    let (range, next) = page("tools", 5, 2, Some(&json!({"cursor": "tools:4"}))).unwrap();
    assert_eq!((range, next), (4..5, None));
    for bad in [
        json!({"cursor": "tools:5"}),
        json!({"cursor": "prompts:2"}),
        json!({"cursor": 2}),
    ] {
        assert_eq!(page("tools", 5, 2, Some(&bad)).unwrap_err().code.code(), -32602);
    }
}
