//! The schemas derived from Rust types: descriptions, required fields, enums, nested structs,
//! `Option`, formats and `deny_unknown_fields`, asserted as the JSON a client is sent.

#![allow(dead_code)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{input_schema, is_object_schema, output_schema};

/// A postal address.
#[derive(Deserialize, JsonSchema)]
struct Address {
    /// The street and number.
    street: String,
    /// The postal code, if known.
    postcode: Option<String>,
}

/// How often to send mail.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Frequency {
    Daily,
    Weekly,
}

/// A user to create.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    /// The user's email address.
    #[schemars(email)]
    email: String,
    /// The display name.
    #[schemars(length(min = 1, max = 200))]
    name: String,
    /// Where the user lives.
    address: Address,
    /// How often to write.
    frequency: Option<Frequency>,
    /// Tags, at most ten.
    #[serde(default)]
    #[schemars(length(max = 10))]
    tags: Vec<String>,
}

#[test]
fn a_struct_gives_an_object_schema_with_descriptions_and_required_fields() {
    let schema = input_schema::<CreateUser>();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["description"], "A user to create.");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], json!(["email", "name", "address"]));
    let properties = &schema["properties"];
    assert_eq!(
        properties["email"],
        json!({"type": "string", "format": "email", "description": "The user's email address."})
    );
    assert_eq!(
        properties["name"],
        json!({"type": "string", "minLength": 1, "maxLength": 200, "description": "The display name."})
    );
    assert_eq!(
        properties["tags"],
        json!({"type": "array", "items": {"type": "string"}, "maxItems": 10,
               "description": "Tags, at most ten.", "default": []})
    );
    assert!(is_object_schema(&schema));
}

#[test]
fn nested_structs_are_inlined_and_options_are_nullable_and_optional() {
    let schema = input_schema::<CreateUser>();
    let address = &schema["properties"]["address"];
    assert_eq!(address["type"], "object");
    assert_eq!(address["description"], "Where the user lives.");
    assert_eq!(address["required"], json!(["street"]));
    assert_eq!(
        address["properties"]["postcode"]["type"],
        json!(["string", "null"])
    );
    assert!(schema.get("$defs").is_none(), "no references: {schema}");
}

#[test]
fn enums_list_their_values() {
    let schema = input_schema::<CreateUser>();
    let frequency = &schema["properties"]["frequency"];
    assert_eq!(frequency["description"], "How often to write.");
    assert_eq!(frequency["type"], json!(["string", "null"]));
    assert_eq!(frequency["enum"], json!(["daily", "weekly", null]));
    assert_eq!(
        input_schema::<Frequency>(),
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Frequency",
               "description": "How often to send mail.", "type": "string", "enum": ["daily", "weekly"]})
    );
}

#[test]
fn output_schemas_describe_what_serializes_and_may_be_any_type() {
    #[derive(Serialize, JsonSchema)]
    struct Sum {
        sum: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }
    let schema = output_schema::<Sum>();
    assert_eq!(schema["required"], json!(["sum"]));
    assert_eq!(
        schema["properties"]["sum"],
        json!({"type": "integer", "format": "int64"})
    );
    assert!(is_object_schema(&schema));
    let list = output_schema::<Vec<Frequency>>();
    assert_eq!(list["type"], "array");
    assert!(!is_object_schema(&list));
}

#[test]
fn recursive_types_keep_their_references_resolvable() {
    #[derive(Deserialize, JsonSchema)]
    struct Tree {
        label: String,
        children: Vec<Tree>,
    }
    let schema = input_schema::<Tree>();
    assert_eq!(schema["properties"]["children"]["items"]["$ref"], "#");
    crate::validate::ArgsValidator::compile(&schema).expect("the derived schema compiles");
}
