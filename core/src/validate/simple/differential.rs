//! The simple validator against `jsonschema`, on random simple schemas and random instances:
//! the same verdict, the same first message, the same path. And on schemas whose keywords
//! hold random values: the simple validator takes only those `jsonschema` compiles.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{Map, Value, json};

use super::Schema;

/// What `jsonschema` says of `instance`: `Ok`, or the first error's pointer and message.
fn full(validator: &jsonschema::Validator, instance: &Value) -> Result<(), (String, String)> {
    validator
        .validate(instance)
        .map_err(|err| (err.instance_path().as_str().to_owned(), err.to_string()))
}

fn simple(schema: &Schema, instance: &Value) -> Result<(), (String, String)> {
    schema
        .validate(instance)
        .map_err(|failure| (failure.pointer, failure.message))
}

/// Checks that both validators agree on every instance.
fn agree(schema: &Value, instances: &[Value]) -> Result<(), TestCaseError> {
    let Some(compiled) = Schema::compile(schema) else {
        return Err(TestCaseError::fail(format!("not simple: {schema}")));
    };
    let validator = super::super::full(schema).map_err(|err| TestCaseError::fail(err.reason))?;
    for instance in instances {
        prop_assert_eq!(
            simple(&compiled, instance),
            full(&validator, instance),
            "schema {} instance {}",
            schema,
            instance
        );
    }
    Ok(())
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c"), Just("~/x"), Just(""), Just("é"),].prop_map(String::from)
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-3i64..=3).prop_map(Value::from),
        prop_oneof![
            Just(0.5),
            Just(1.0),
            Just(-1.0),
            Just(2.5),
            Just(-0.0),
            Just(3.0),
            Just(1e19),
            Just(9_223_372_036_854_775_808.0),
        ]
        .prop_map(Value::from),
        prop_oneof![Just(u64::MAX), Just(1u64 << 63), Just((1u64 << 63) + 1)].prop_map(Value::from),
        prop_oneof![Just(i64::MIN), Just(i64::MAX)].prop_map(Value::from),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(""),
        Just("a"),
        Just("ab"),
        Just("é"),
        Just("日本語"),
        Just("a\"b"),
        Just("abcd"),
    ]
    .prop_map(String::from)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        text().prop_map(Value::from),
    ]
}

fn instance() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::from),
            btree_map(name(), inner, 0..4).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

const TYPES: [&str; 7] = [
    "null", "boolean", "integer", "number", "string", "array", "object",
];

fn type_keyword() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::sample::select(&TYPES[..]).prop_map(Value::from),
        proptest::sample::select(&TYPES[..]).prop_map(|name| json!([name])),
        subsequence(&TYPES[..], 2..4).prop_shuffle().prop_map(Value::from),
    ]
}

/// The keywords that take no subschema, with well-formed values.
fn flat_keyword() -> impl Strategy<Value = (String, Value)> {
    let keyword = |name: &'static str, value: BoxedStrategy<Value>| {
        value.prop_map(move |value| (name.to_owned(), value))
    };
    prop_oneof![
        4 => keyword("type", type_keyword().boxed()),
        1 => keyword("const", instance().boxed()),
        1 => keyword("enum", vec(instance(), 1..6).prop_map(Value::from).boxed()),
        1 => keyword("minimum", number().boxed()),
        1 => keyword("maximum", number().boxed()),
        1 => keyword("exclusiveMinimum", number().boxed()),
        1 => keyword("exclusiveMaximum", number().boxed()),
        1 => keyword("minLength", (0u64..4).prop_map(Value::from).boxed()),
        1 => keyword("maxLength", (0u64..4).prop_map(Value::from).boxed()),
        1 => keyword("minItems", (0u64..4).prop_map(Value::from).boxed()),
        1 => keyword("maxItems", (0u64..4).prop_map(Value::from).boxed()),
        2 => keyword("required", subsequence(vec!["a", "b", "c", ""], 0..4).prop_shuffle().prop_map(Value::from).boxed()),
        1 => keyword("title", Just(Value::from("A title")).boxed()),
        1 => keyword("description", Just(Value::from("What it is")).boxed()),
        1 => keyword("default", instance().boxed()),
        1 => keyword("examples", vec(instance(), 0..2).prop_map(Value::from).boxed()),
        1 => keyword("format", proptest::sample::select(&super::NUMERIC_FORMATS[..]).prop_map(Value::from).boxed()),
        1 => keyword("x-mcp-header", Just(Value::from("Region")).boxed()),
    ]
}

fn schema() -> impl Strategy<Value = Value> {
    let flat = vec(flat_keyword(), 0..5).prop_map(|keywords| Value::Object(keywords.into_iter().collect()));
    flat.prop_recursive(3, 32, 4, |inner| {
        let sub = prop_oneof![4 => inner.clone(), 1 => any::<bool>().prop_map(Value::from)];
        (
            vec(flat_keyword(), 0..4),
            proptest::option::of(btree_map(name(), sub.clone(), 0..4)),
            proptest::option::of(sub.clone()),
            proptest::option::of(sub),
        )
            .prop_map(|(keywords, properties, additional, items)| {
                let mut object: Map<String, Value> = keywords.into_iter().collect();
                if let Some(properties) = properties {
                    object.insert(
                        "properties".into(),
                        Value::Object(properties.into_iter().collect()),
                    );
                }
                if let Some(additional) = additional {
                    object.insert("additionalProperties".into(), additional);
                }
                if let Some(items) = items {
                    object.insert("items".into(), items);
                }
                Value::Object(object)
            })
    })
}

/// A schema with a keyword whose value may be of any shape.
fn any_keyword_schema() -> impl Strategy<Value = Value> {
    const KEYWORDS: [&str; 14] = [
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "minimum",
        "maxLength",
        "minItems",
        "title",
        "examples",
        "format",
        "$schema",
    ];
    (schema(), proptest::sample::select(&KEYWORDS[..]), instance()).prop_map(
        |(mut schema, keyword, value)| {
            if let Value::Object(object) = &mut schema {
                object.insert(keyword.to_owned(), value);
            }
            schema
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_simple_validator_agrees_with_jsonschema(schema in schema(), instances in vec(instance(), 1..8)) {
        agree(&schema, &instances)?;
    }

    #[test]
    fn objects_are_checked_alike(
        schema in schema().prop_map(|mut schema| {
            if let Value::Object(object) = &mut schema {
                object.insert("type".into(), json!("object"));
            }
            schema
        }),
        instances in vec(btree_map(name(), instance(), 0..4), 1..8),
    ) {
        let instances: Vec<Value> = instances
            .into_iter()
            .map(|map| Value::Object(map.into_iter().collect()))
            .collect();
        agree(&schema, &instances)?;
    }

    #[test]
    fn only_schemas_jsonschema_compiles_are_simple(schema in any_keyword_schema(), instances in vec(instance(), 1..4)) {
        let compiled = super::super::full(&schema);
        if Schema::compile(&schema).is_some() {
            prop_assert!(compiled.is_ok(), "simple but refused: {} {:?}", schema, compiled.err());
            agree(&schema, &instances)?;
        }
    }
}
