//! Unit tests of `handler::tool_output`.

use serde_json::json;

use crate::handler::tool_output::*;
use crate::protocol::ProtocolVersion;

#[test]
fn older_revisions_get_what_they_know() {
    let output = ToolOutput::structured(json!({"a": 1}))
        .with_audio("AA==", "audio/wav")
        .with_resource_link("test://x", "x");
    let old = output.clone().for_version(ProtocolVersion::V2024_11_05).to_json();
    assert_eq!(old, json!({"content": [{"type": "text", "text": "{\"a\":1}"}]}));
    let new = output.for_version(ProtocolVersion::V2025_11_25).to_json();
    assert_eq!(new["content"].as_array().unwrap().len(), 3);
    assert_eq!(new["structuredContent"], json!({"a": 1}));
}
