//! Which validator a schema gets, and the errors a call sees through either.

use serde_json::json;

use super::{ArgsValidator, Compiled, OutputValidator};
use crate::error::ErrorCode;

fn is_simple(validator: &ArgsValidator) -> bool {
    matches!(validator.schema, Compiled::Simple(_))
}

#[test]
fn a_simple_schema_never_reaches_jsonschema() {
    let schema = json!({
        "type": "object",
        "properties": {"user": {"type": "object", "properties": {"emails": {"type": "array", "items": {"type": "string"}}}}},
        "required": ["user"],
    });
    let validator = ArgsValidator::compile(&schema).expect("compiles");
    assert!(is_simple(&validator));
    let missing = validator.check(&json!({})).expect_err("user is missing");
    assert_eq!(missing.code, ErrorCode::Args);
    assert_eq!(missing.message, "Missing required parameter: user");
    let wrong = validator
        .check(&json!({"user": {"emails": ["a@b.c", 5]}}))
        .expect_err("not a string");
    assert_eq!(wrong.code, ErrorCode::Validation);
    assert_eq!(
        wrong.message,
        r#"Invalid parameters: user.emails.1: 5 is not of type "string""#
    );
}

#[test]
fn formats_and_references_go_to_jsonschema_as_before() {
    let schema = json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"}}});
    let validator = ArgsValidator::compile(&schema).expect("compiles");
    assert!(!is_simple(&validator));
    let err = validator
        .check(&json!({"email": "nope"}))
        .expect_err("not an email");
    assert_eq!(
        err.message,
        r#"Invalid parameters: email: "nope" is not a valid email"#
    );
    let bad = ArgsValidator::compile(&json!({"type": "object", "minProperties": -1}));
    assert!(bad.is_err(), "jsonschema still refuses a malformed schema");
}

#[test]
fn output_schemas_take_the_same_path() {
    let validator =
        OutputValidator::compile(&json!({"type": "object", "properties": {"sum": {"type": "number"}}}))
            .expect("compiles");
    assert!(matches!(validator.0, Compiled::Simple(_)));
    assert_eq!(
        validator.check(&json!({"sum": "x"})),
        Err(r#"structuredContent does not match outputSchema: sum: "x" is not of type "number""#.into())
    );
}
