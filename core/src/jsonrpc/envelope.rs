//! The envelope of one JSON-RPC message: its members, each seen at most once, read with
//! exact error codes into a [`Message`].

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::params::{Params, ParamsSeed, join};
use super::{Id, Message, Notification, ParseFailure, Request, Response, failure};
use crate::error::ErrorCode;

/// The members of a message object, each seen at most once. `jsonrpc` and `method` are
/// read without being kept as values; the id is borrowed from the input until it is checked.
#[derive(Default)]
pub(super) struct Envelope<'de> {
    jsonrpc: Option<Member<Two>>,
    id: Option<&'de RawValue>,
    method: Option<Member<String>>,
    params: Option<Params>,
    result: Option<Value>,
    error: Option<Value>,
}

/// A member read only if it is a string: `T` takes its (unescaped) text; a value of any
/// other type is read past and gives `None`.
struct Member<T>(Option<T>);

/// What a string member becomes.
trait FromText {
    fn from_text(text: &str) -> Self;
}

impl FromText for String {
    fn from_text(text: &str) -> Self {
        text.to_owned()
    }
}

/// Whether a `jsonrpc` member says `"2.0"`, without keeping it.
struct Two(bool);

impl FromText for Two {
    fn from_text(text: &str) -> Self {
        Self(text == "2.0")
    }
}

impl<'de, T: FromText> Deserialize<'de> for Member<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor(std::marker::PhantomData))
    }
}

struct MemberVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: FromText> Visitor<'de> for MemberVisitor<T> {
    type Value = Member<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Member<T>, E> {
        Ok(Member(Some(T::from_text(value))))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Member<T>, E> {
        Ok(Member(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Member<T>, E> {
        Ok(Member(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Member<T>, E> {
        Ok(Member(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Member<T>, E> {
        Ok(Member(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Member<T>, E> {
        Ok(Member(None))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Member<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Member(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Member(None))
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    #[serde(other)]
    Other,
}

impl<'de> Envelope<'de> {
    /// Reads the message object in `text` (and nothing after it); with `split_call`, a
    /// `tools/call`'s params are read apart (see [`ParamsSeed`]).
    pub(super) fn read(text: &'de str, split_call: bool) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let envelope = deserializer.deserialize_map(EnvelopeVisitor { split_call })?;
        deserializer.end()?;
        Ok(envelope)
    }
}

struct EnvelopeVisitor {
    split_call: bool,
}

fn set_once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::custom(format_args!("duplicate member `{name}`")));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let mut env = Envelope::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Jsonrpc => set_once(&mut env.jsonrpc, map.next_value()?, "jsonrpc")?,
                Field::Id => set_once(&mut env.id, map.next_value()?, "id")?,
                Field::Method => set_once(&mut env.method, map.next_value()?, "method")?,
                Field::Params => {
                    let split = self.split_call
                        && matches!(&env.method, Some(Member(Some(method))) if method == "tools/call");
                    set_once(
                        &mut env.params,
                        map.next_value_seed(ParamsSeed { split })?,
                        "params",
                    )?;
                }
                Field::Result => set_once(&mut env.result, map.next_value()?, "result")?,
                Field::Error => set_once(&mut env.error, map.next_value()?, "error")?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

impl Envelope<'_> {
    pub(super) fn into_message(self) -> Result<Message, ParseFailure> {
        let id = match self.id {
            None => None,
            Some(raw) => match Id::from_raw(raw) {
                Some(id) => Some(id),
                // A null id is allowed only on an error response about an unreadable request.
                None if raw.get() == "null" && self.method.is_none() && self.error.is_some() => None,
                None => {
                    return Err(failure(
                        None,
                        ErrorCode::InvalidRequest,
                        "Invalid Request: bad id",
                    ));
                }
            },
        };
        if !matches!(self.jsonrpc, Some(Member(Some(Two(true))))) {
            return Err(failure(
                id,
                ErrorCode::InvalidRequest,
                "Invalid Request: jsonrpc must be \"2.0\"",
            ));
        }
        if let Some(Params::Whole(params)) = &self.params
            && !params.is_object()
            && !params.is_array()
        {
            return Err(failure(
                id,
                ErrorCode::InvalidRequest,
                "Invalid Request: params must be an object",
            ));
        }
        match self.method {
            Some(Member(Some(method))) => {
                if self.result.is_some() || self.error.is_some() {
                    return Err(failure(id, ErrorCode::InvalidRequest, "Invalid Request"));
                }
                let (params, call) = match self.params {
                    None => (None, None),
                    Some(Params::Whole(params)) => (Some(params), None),
                    Some(Params::Call { rest, parts }) => (Some(Value::Object(rest)), Some(parts)),
                };
                Ok(match id {
                    Some(id) => Message::Request(Request {
                        id,
                        method,
                        params,
                        call,
                    }),
                    None => {
                        let mut params = params;
                        if let Some(parts) = call {
                            join(&mut params, parts);
                        }
                        Message::Notification(Notification { method, params })
                    }
                })
            }
            Some(_) => Err(failure(
                id,
                ErrorCode::InvalidRequest,
                "Invalid Request: method must be a string",
            )),
            None => {
                let outcome = match (self.result, self.error) {
                    (Some(result), None) if id.is_some() => Ok(result),
                    (None, Some(error)) if error.is_object() => Err(error),
                    _ => return Err(failure(id, ErrorCode::InvalidRequest, "Invalid Request")),
                };
                Ok(Message::Response(Response { id, outcome }))
            }
        }
    }
}
