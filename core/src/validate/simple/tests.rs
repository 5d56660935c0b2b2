//! Plain tests of the simple validator, a keyword at a time: each error as `jsonschema`
//! words it (checked against `jsonschema` too), and which schemas are simple.

use serde_json::{Value, json};

use super::Schema;

/// Returns the first error (pointer, message), after checking that `jsonschema` says the same.
fn first_error(schema: Value, instance: Value) -> Option<(String, String)> {
    let simple = Schema::compile(&schema).expect("a simple schema");
    let full = super::super::full(&schema).expect("jsonschema compiles it");
    let ours = simple
        .validate(&instance)
        .err()
        .map(|failure| (failure.pointer, failure.message));
    let theirs = full
        .validate(&instance)
        .err()
        .map(|err| (err.instance_path().as_str().to_owned(), err.to_string()));
    assert_eq!(ours, theirs, "schema {schema} instance {instance}");
    ours
}

fn message(schema: Value, instance: Value) -> String {
    first_error(schema, instance).expect("an error").1
}

#[test]
fn type_names_one_type_or_several() {
    assert_eq!(
        message(json!({"type": "string"}), json!(1)),
        r#"1 is not of type "string""#
    );
    assert_eq!(
        message(json!({"type": ["string"]}), json!(1)),
        r#"1 is not of type "string""#
    );
    assert_eq!(
        message(json!({"type": ["string", "null"]}), json!(1)),
        r#"1 is not of types "null", "string""#
    );
    assert_eq!(first_error(json!({"type": "integer"}), json!(1.0)), None);
    assert_eq!(
        message(json!({"type": "integer"}), json!(1.5)),
        r#"1.5 is not of type "integer""#
    );
    assert_eq!(first_error(json!({"type": "number"}), json!(2)), None);
}

#[test]
fn const_and_enum_compare_numbers_by_value() {
    assert_eq!(first_error(json!({"const": 1}), json!(1.0)), None);
    assert_eq!(first_error(json!({"enum": ["a", [1.0]]}), json!([1])), None);
    assert_eq!(
        message(json!({"const": {"a": 1}}), json!({"a": 2})),
        r#"{"a":1} was expected"#
    );
    assert_eq!(
        message(json!({"enum": ["a", "b"]}), json!("c")),
        r#""c" is not one of "a" or "b""#
    );
    assert_eq!(
        message(json!({"enum": [1, 2, 3, 4]}), json!(5)),
        "5 is not one of 1, 2 or 2 other candidates"
    );
}

#[test]
fn numbers_meet_their_bounds_exactly() {
    assert_eq!(
        message(json!({"minimum": 2}), json!(1.5)),
        "1.5 is less than the minimum of 2"
    );
    assert_eq!(
        message(json!({"maximum": 1.5}), json!(2)),
        "2 is greater than the maximum of 1.5"
    );
    assert_eq!(
        message(json!({"exclusiveMinimum": 1}), json!(1.0)),
        "1.0 is less than or equal to the minimum of 1"
    );
    assert_eq!(
        message(json!({"exclusiveMaximum": u64::MAX}), json!(u64::MAX)),
        "18446744073709551615 is greater than or equal to the maximum of 18446744073709551615"
    );
    assert_eq!(first_error(json!({"maximum": i64::MAX}), json!(i64::MAX)), None);
    assert_eq!(first_error(json!({"minimum": 5}), json!("not a number")), None);
}

#[test]
fn lengths_count_code_points() {
    assert_eq!(first_error(json!({"maxLength": 3}), json!("日本語")), None);
    assert_eq!(
        message(json!({"maxLength": 1}), json!("ab")),
        r#""ab" is longer than 1 character"#
    );
    assert_eq!(
        message(json!({"minLength": 2}), json!("é")),
        r#""é" is shorter than 2 characters"#
    );
}

#[test]
fn item_counts_and_items() {
    assert_eq!(
        message(json!({"minItems": 1}), json!([])),
        "[] has less than 1 item"
    );
    assert_eq!(
        message(json!({"maxItems": 1}), json!([1, 2])),
        "[1,2] has more than 1 item"
    );
    let strings = json!({"type": "array", "items": {"type": "string"}, "maxItems": 2});
    assert_eq!(
        first_error(strings.clone(), json!(["a", 1])),
        Some(("/1".into(), r#"1 is not of type "string""#.into()))
    );
    assert_eq!(message(strings, json!("a")), r#""a" is not of type "array""#);
}

#[test]
fn required_names_the_first_missing_member() {
    let schema = json!({"required": ["b", "a"]});
    assert_eq!(message(schema, json!({})), r#""b" is a required property"#);
    assert_eq!(first_error(json!({"required": ["a"]}), json!([])), None);
}

#[test]
fn additional_properties_concern_undeclared_names_only() {
    let closed = json!({"properties": {"a": {"type": "string"}}, "additionalProperties": false});
    assert_eq!(first_error(closed.clone(), json!({"a": "x"})), None);
    assert_eq!(
        message(closed, json!({"a": "x", "b~/": 1})),
        "Additional properties are not allowed ('b~/' was unexpected)"
    );
    let typed = json!({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}});
    assert_eq!(
        first_error(typed, json!({"a": "x", "b~/": "y"})),
        Some(("/b~0~1".into(), r#""y" is not of type "integer""#.into()))
    );
    assert_eq!(
        first_error(json!({"additionalProperties": false}), json!({"a": 1})),
        Some((String::new(), "False schema does not allow 1".into()))
    );
}

#[test]
fn a_closed_object_checks_its_one_required_name_after_its_members() {
    let schema = json!({
        "properties": {"a": {"type": "string"}, "b": {}},
        "required": ["b"],
        "additionalProperties": false,
    });
    assert_eq!(
        message(schema.clone(), json!({"a": 1})),
        r#"1 is not of type "string""#
    );
    assert_eq!(
        message(schema, json!({"a": "x"})),
        r#""b" is a required property"#
    );
}

#[test]
fn schemars_schemas_are_simple() {
    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        /// How many.
        #[schemars(range(min = 1, max = 10))]
        count: u32,
        #[schemars(length(min = 1, max = 20))]
        name: Option<String>,
        tags: Vec<String>,
        ratio: f64,
        mode: Mode,
    }
    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    enum Mode {
        Fast,
        Slow,
    }
    let schema = crate::typed::input_schema::<Args>();
    assert!(Schema::compile(&schema).is_some(), "{schema}");
    assert!(Schema::compile(&crate::typed::output_schema::<Vec<u64>>()).is_some());
}

#[test]
fn other_schemas_are_left_to_jsonschema() {
    for schema in [
        json!({"type": "string", "format": "email"}),
        json!({"type": "string", "pattern": "^a"}),
        json!({"$defs": {"a": {}}, "$ref": "#/$defs/a"}),
        json!({"anyOf": [{"type": "string"}]}),
        json!({"properties": {"a": {"minLength": -1}}}),
        json!({"properties": {"a": {"minLength": 1.0}}}),
        json!({"type": ["string", "string"]}),
        json!({"type": []}),
        json!({"type": "text"}),
        json!({"required": ["a", "a"]}),
        json!({"required": "a"}),
        json!({"items": [{}]}),
        json!({"enum": []}),
        json!({"title": 1}),
        json!({"$schema": "http://json-schema.org/draft-07/schema#"}),
        json!({"properties": {"a": {"$schema": "https://json-schema.org/draft/2020-12/schema"}}}),
        json!({"unknown": 1}),
        json!(1),
    ] {
        assert!(Schema::compile(&schema).is_none(), "{schema}");
    }
}
