//! JSON-RPC 2.0: parsing one message with exact error codes, and writing responses.
//!
//! Ids echo back byte for byte (jsonrpc/id/): a string, or an
//! integer within the i64/u64 range (never turned into a float). Anything else is refused.

use serde::Serialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::error::{ErrorCode, RpcError};

mod envelope;
mod id;
mod params;

use envelope::Envelope;
pub use id::Id;

/// One parsed JSON-RPC message.
#[derive(Debug)]
#[non_exhaustive]
pub enum Message {
    /// A request, which gets exactly one response.
    Request(Request),
    /// A notification, which never gets a reply.
    Notification(Notification),
    /// A response to a request the server sent.
    Response(Response),
}

/// A request: an id, a method and optional params.
#[derive(Debug)]
pub struct Request {
    /// The id the response must echo.
    pub id: Id,
    /// The method name.
    pub method: String,
    /// The params: an object or an array when present.
    pub params: Option<Value>,
    /// A `tools/call`'s `name` and `arguments` when the server read them apart from the rest
    /// of `params` (which then lacks them); `None` from [`parse_message`].
    pub(crate) call: Option<CallParts>,
}

/// A `tools/call`'s `name` (when it is a string) and `arguments`, read apart from the rest
/// of its params, so that they move to the call without the params object being built.
#[derive(Debug, Default)]
pub(crate) struct CallParts {
    /// The tool name.
    pub(crate) name: Option<String>,
    /// The arguments as sent (any JSON value).
    pub(crate) arguments: Option<Value>,
}

impl Request {
    /// The tool a `tools/call` names, wherever its params were read to.
    pub(crate) fn tool_name(&self) -> Option<&str> {
        match &self.call {
            Some(CallParts { name: Some(name), .. }) => Some(name),
            _ => self.params.as_ref()?.get("name")?.as_str(),
        }
    }

    /// Puts a `tools/call`'s `name` and `arguments` back into `params`, for the readers of
    /// the whole params.
    pub(crate) fn join_params(&mut self) {
        if let Some(parts) = self.call.take() {
            params::join(&mut self.params, parts);
        }
    }
}

/// A notification: a method and optional params, no id.
#[derive(Debug)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The params: an object or an array when present.
    pub params: Option<Value>,
}

/// A response from the client to a server-sent request.
#[derive(Debug)]
pub struct Response {
    /// The id of the request it answers (`None` for an error about an unreadable request).
    pub id: Option<Id>,
    /// The `result` on success, the `error` object on failure.
    pub outcome: Result<Value, Value>,
}

/// Why one message could not be accepted: the error to send, and the id to send it with.
#[derive(Debug)]
pub struct ParseFailure {
    /// The request id when it could be read, else `None` (sent as `null`).
    pub id: Option<Id>,
    /// The error to answer with (-32700 or -32600).
    pub error: RpcError,
}

/// Parses one JSON-RPC 2.0 message from bytes.
///
/// Invalid UTF-8, invalid JSON, trailing bytes and nesting deeper than 127 levels give
/// -32700; anything that is JSON but not one JSON-RPC 2.0 message object (top-level arrays,
/// duplicate envelope keys, a bad id, a wrong `jsonrpc`) gives -32600.
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseFailure> {
    parse(bytes, false)
}

/// Parses like [`parse_message`], reading a `tools/call`'s `name` and `arguments` apart from
/// the rest of its params when its `method` comes before them (see [`Request::join_params`]).
pub(crate) fn parse_request_message(bytes: &[u8]) -> Result<Message, ParseFailure> {
    parse(bytes, true)
}

fn parse(bytes: &[u8], split_call: bool) -> Result<Message, ParseFailure> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(failure(None, ErrorCode::ParseError, "Parse error: invalid UTF-8"));
    };
    let envelope: Envelope = match Envelope::read(text, split_call) {
        Ok(envelope) => envelope,
        Err(err) if err.classify() == serde_json::error::Category::Data => {
            // The shape is wrong; it is an invalid request only if the JSON itself is valid.
            return Err(match serde_json::from_str::<IgnoredAny>(text) {
                Ok(_) => {
                    failure(None, ErrorCode::InvalidRequest, "Invalid Request").with_debug(err.to_string())
                }
                Err(syntax) => {
                    failure(None, ErrorCode::ParseError, "Parse error").with_debug(syntax.to_string())
                }
            });
        }
        Err(err) => {
            return Err(failure(None, ErrorCode::ParseError, "Parse error").with_debug(err.to_string()));
        }
    };
    envelope.into_message()
}

fn failure(id: Option<Id>, code: ErrorCode, message: &str) -> ParseFailure {
    ParseFailure {
        id,
        error: RpcError::new(code, message),
    }
}

impl ParseFailure {
    fn with_debug(mut self, detail: String) -> Self {
        self.error = self.error.with_debug(detail);
        self
    }
}

#[derive(Serialize)]
struct OutgoingResponse<'a, R: Serialize = Value> {
    jsonrpc: &'static str,
    id: Option<&'a Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
}

#[derive(Serialize)]
struct OutgoingNotification<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
}

/// Writes a client's response again, as it could be read back (to pass it on).
pub(crate) fn write_response(response: &Response) -> String {
    let (result, error) = match &response.outcome {
        Ok(result) => (Some(result), None),
        Err(error) => (None, Some(error.clone())),
    };
    let bytes = encode(&OutgoingResponse {
        jsonrpc: "2.0",
        id: response.id.as_ref(),
        result,
        error,
    });
    String::from_utf8(bytes).unwrap_or_default()
}

/// Writes a success response; `result` is anything that serializes to a JSON object. A
/// result whose `Serialize` fails gets an internal error (-32603) for `id` instead.
pub fn write_result<R: Serialize>(id: &Id, result: &R) -> Vec<u8> {
    write_result_with(id, result, &[])
}

/// Writes a success response whose `result` (anything that serializes to a JSON object
/// without these keys) gains the `members`, each written JSON (`"key":value`).
pub(crate) fn write_result_with<R: Serialize>(id: &Id, result: &R, members: &[&str]) -> Vec<u8> {
    let added: usize = members.iter().map(|member| member.len() + 1).sum();
    let mut out = Vec::with_capacity(RESPONSE_ROOM + added);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    id.write_json(&mut out);
    out.extend_from_slice(b",\"result\":");
    if serde_json::to_writer(&mut out, result).is_err() {
        let error = RpcError::new(
            ErrorCode::InternalError,
            "Internal error: the result could not be written",
        );
        return write_error(Some(id), &error, false);
    }
    // A result that is not an object gets nothing added.
    if out.last() == Some(&b'}') {
        out.pop();
        let mut empty = out.last() == Some(&b'{');
        for member in members {
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(member.as_bytes());
            empty = false;
        }
        out.push(b'}');
    }
    out.push(b'}');
    out
}

/// Writes an error response; `error.data` is included only when `debug` is set.
pub fn write_error(id: Option<&Id>, error: &RpcError, debug: bool) -> Vec<u8> {
    encode(&OutgoingResponse::<Value> {
        jsonrpc: "2.0",
        id,
        result: None,
        error: Some(error.to_json(debug)),
    })
}

/// Writes a request the server sends to the client.
pub fn write_request(id: &Id, method: &str, params: Option<&Value>) -> Vec<u8> {
    #[derive(Serialize)]
    struct OutgoingRequest<'a> {
        jsonrpc: &'static str,
        id: &'a Id,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a Value>,
    }
    encode(&OutgoingRequest {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
}

/// Writes a notification.
pub fn write_notification(method: &str, params: Option<&Value>) -> Vec<u8> {
    encode(&OutgoingNotification {
        jsonrpc: "2.0",
        method,
        params,
    })
}

fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(RESPONSE_ROOM);
    // Serializing these types into a Vec cannot fail: every map key is a string.
    if serde_json::to_writer(&mut out, message).is_err() {
        out.clear();
    }
    out
}

/// Room reserved for a response before it is written: most results (a short tool result
/// with its envelope) fit without growing the buffer.
const RESPONSE_ROOM: usize = 256;
