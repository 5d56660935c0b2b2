//! A message's `params`, read whole as a `Value` or, for a `tools/call` whose `method` came
//! first, with its `name` and `arguments` apart from the rest: the object around them is then
//! never built, only to be taken apart again by the call.

use std::fmt;

use serde::Deserialize;
use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::CallParts;

/// The `params` member as read.
pub(super) enum Params {
    /// Read whole.
    Whole(Value),
    /// A `tools/call`'s params: the members other than `name` (when a string) and
    /// `arguments`, and those two.
    Call {
        rest: Map<String, Value>,
        parts: CallParts,
    },
}

/// Reads `params`: apart when `split` (the method is `tools/call`) and it is an object,
/// else whole.
pub(super) struct ParamsSeed {
    pub(super) split: bool,
}

impl<'de> DeserializeSeed<'de> for ParamsSeed {
    type Value = Params;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Params, D::Error> {
        if self.split {
            deserializer.deserialize_any(CallVisitor)
        } else {
            Value::deserialize(deserializer).map(Params::Whole)
        }
    }
}

/// Reads a `tools/call`'s params object apart; any other value whole, as `Value` would.
struct CallVisitor;

impl<'de> Visitor<'de> for CallVisitor {
    type Value = Params;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
        let mut rest = Map::new();
        let mut parts = CallParts::default();
        // As in a `Value`, a member named twice keeps its last value.
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Name => match map.next_value()? {
                    Value::String(name) => {
                        rest.remove("name");
                        parts.name = Some(name);
                    }
                    other => {
                        parts.name = None;
                        rest.insert("name".into(), other);
                    }
                },
                Key::Arguments => parts.arguments = Some(map.next_value()?),
                Key::Other(key) => {
                    rest.insert(key, map.next_value()?);
                }
            }
        }
        Ok(Params::Call { rest, parts })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Params, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Params::Whole)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Params, E> {
        Ok(Params::Whole(Value::Bool(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Params, E> {
        Ok(Params::Whole(Value::from(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Params, E> {
        Ok(Params::Whole(Value::from(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Params, E> {
        Ok(Params::Whole(Value::from(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Params, E> {
        Ok(Params::Whole(Value::String(value.to_owned())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Params, E> {
        Ok(Params::Whole(Value::Null))
    }
}

/// A member name of a `tools/call`'s params: the two read apart are matched without being
/// copied.
enum Key {
    Name,
    Arguments,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "name" => Key::Name,
            "arguments" => Key::Arguments,
            other => Key::Other(other.to_owned()),
        })
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Key, E> {
        Ok(match key.as_str() {
            "name" => Key::Name,
            "arguments" => Key::Arguments,
            _ => Key::Other(key),
        })
    }
}

/// Puts a `tools/call`'s `parts` back into its `params`, as they were sent.
pub(super) fn join(params: &mut Option<Value>, parts: CallParts) {
    if let Value::Object(map) = params.get_or_insert_with(|| Value::Object(Map::new())) {
        if let Some(name) = parts.name {
            map.insert("name".into(), Value::String(name));
        }
        if let Some(arguments) = parts.arguments {
            map.insert("arguments".into(), arguments);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Message, parse_message, parse_request_message};

    /// The params of `text` read apart and joined again, and read whole.
    fn both(text: &str) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
        let params = |message| match message {
            Ok(Message::Request(request)) => request.params,
            Ok(Message::Notification(notification)) => notification.params,
            other => panic!("{text}: {other:?}"),
        };
        let mut split = parse_request_message(text.as_bytes());
        if let Ok(Message::Request(request)) = &mut split {
            request.join_params();
        }
        (params(split), params(parse_message(text.as_bytes())))
    }

    #[test]
    fn params_read_apart_join_back_as_sent() {
        let call =
            |params: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{params}}}"#);
        for params in [
            r#"{"name":"echo","arguments":{"text":"hi"}}"#,
            r#"{"arguments":{"text":"hi"},"name":"echo","_meta":{"progressToken":7},"task":{}}"#,
            r#"{"name":"a","name":"b"}"#,
            r#"{"name":"a","name":5}"#,
            r#"{"name":5,"name":"a"}"#,
            r#"{"name":null,"arguments":null}"#,
            r#"{"arguments":[1,2],"arguments":{"x":1}}"#,
            r#"{"name":"e\u0063ho"}"#,
            r#"{"n\u0061me":"echo","\u0061rguments":{},"_m\u0065ta":{}}"#,
            r#"{}"#,
            r#"[1,{"name":"x"}]"#,
        ] {
            let (split, whole) = both(&call(params));
            assert_eq!(split, whole, "{params}");
        }
        let notification = r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x","arguments":{}}}"#;
        let (split, whole) = both(notification);
        assert_eq!(split, whole);
        // Params before the method are read whole.
        let first = r#"{"jsonrpc":"2.0","id":1,"params":{"name":"x"},"method":"tools/call"}"#;
        match parse_request_message(first.as_bytes()) {
            Ok(Message::Request(request)) => assert!(request.call.is_none()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_split_call_is_refused_as_the_whole_one_is() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"},"params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"} trailing"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x""#,
        ] {
            let split = parse_request_message(text.as_bytes())
                .map(|_| ())
                .map_err(|f| f.error);
            let whole = parse_message(text.as_bytes()).map(|_| ()).map_err(|f| f.error);
            assert_eq!(split, whole, "{text}");
        }
    }
}
