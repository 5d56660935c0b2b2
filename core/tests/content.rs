//! Content blocks serialize to their MCP form.

use rampart_core::{Annotations, Content, ResourceContents, Role};
use serde_json::json;

#[test]
fn blocks_serialize_to_their_mcp_form() {
    let image = Content::image("AAA=", "image/png")
        .with_annotations(Annotations::new().audience([Role::User]).priority(2.0));
    assert_eq!(
        serde_json::to_value(&image).unwrap(),
        json!({"type": "image", "data": "AAA=", "mimeType": "image/png",
               "annotations": {"audience": ["user"], "priority": 1.0}})
    );
    let embedded = Content::resource(ResourceContents::text("test://a", "hi").mime_type("text/plain"));
    assert_eq!(
        serde_json::to_value(&embedded).unwrap(),
        json!({"type": "resource", "resource": {"uri": "test://a", "mimeType": "text/plain", "text": "hi"}})
    );
    assert_eq!(
        serde_json::to_value(ResourceContents::blob("test://b", "AQID")).unwrap(),
        json!({"uri": "test://b", "blob": "AQID"})
    );
    assert_eq!(
        serde_json::to_value(Content::resource_link("test://c", "c")).unwrap(),
        json!({"type": "resource_link", "uri": "test://c", "name": "c"})
    );
}
