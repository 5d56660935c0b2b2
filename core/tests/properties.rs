//! Properties over random input: ids come back identical, every HTTP answer is well framed,
//! and the session and rate-limit tables never pass their caps.

mod common;

use std::time::Duration;

use common::http::{HttpHarness, INITIALIZE, post};
use common::{Harness, test_tools};
use proptest::prelude::*;
use rampart_core::{Config, Framing};

/// A valid JSON-RPC id as JSON text: any string, or any integer in the i64/u64 range.
fn id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("-0".to_owned()),
    ]
}

proptest! {
    #[test]
    fn any_valid_id_comes_back_identical(id in id_text()) {
        let mut h = Harness::initialized(Config::default());
        h.send(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#));
        let wire = String::from_utf8(h.wire.clone()).unwrap();
        let last = wire.lines().last().unwrap();
        prop_assert_eq!(last, format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#));
    }

    #[test]
    fn any_valid_id_comes_back_identical_in_errors(id in id_text()) {
        let mut h = Harness::initialized(Config::default());
        h.send(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"no/such"}}"#));
        let wire = String::from_utf8(h.wire.clone()).unwrap();
        let last = wire.lines().last().unwrap();
        let expected = format!(r#"{{"jsonrpc":"2.0","id":{id},"error":"#);
        prop_assert!(last.starts_with(&expected), "{last}");
    }
}

/// Pieces of HTTP requests, good and bad, to glue into random byte streams.
fn http_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec()),
        Just(b"GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec()),
        Just(b"OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://x\r\n\r\n".to_vec()),
        Just(post(INITIALIZE, None)),
        Just(post(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#, Some("nope"))),
        Just(post("{bad json", None)),
        Just(b"GET /nope HTTP/1.1\r\nHost: evil.example\r\n\r\n".to_vec()),
        Just(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec()),
        Just(b"GET /health HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

/// Checks that `wire` is a sequence of complete HTTP/1.1 responses, each framed by its
/// Content-Length or chunking (or by the close, when the connection closed); returns how
/// many there were.
fn check_framing(wire: &[u8], closed: bool) -> Result<usize, String> {
    let mut at = 0;
    let mut count = 0;
    while at < wire.len() {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&wire[at..]) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Err(format!("partial head at {at}")),
            Err(err) => return Err(format!("bad head at {at}: {err}")),
        };
        if response.version != Some(1) {
            return Err("not HTTP/1.1".into());
        }
        let status = response.code.unwrap_or(0);
        let header = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let mut pos = at + head_len;
        if let Some(len) = header("content-length") {
            let len: usize = len.parse().map_err(|_| "bad Content-Length")?;
            if wire.len() < pos + len {
                return Err("body shorter than Content-Length".into());
            }
            pos += len;
        } else if header("transfer-encoding").as_deref() == Some("chunked") {
            loop {
                let rest = &wire[pos..];
                let line_end = rest
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .ok_or("no chunk size line")?;
                let size =
                    usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).map_err(|_| "size")?, 16)
                        .map_err(|_| "bad chunk size")?;
                if rest.len() < line_end + 2 + size + 2
                    || &rest[line_end + 2 + size..line_end + 4 + size] != b"\r\n"
                {
                    return Err("chunk not terminated".into());
                }
                pos += line_end + 4 + size;
                if size == 0 {
                    break;
                }
            }
        } else if !matches!(status, 100 | 202 | 204) {
            if !closed {
                return Err(format!("status {status} without framing on an open connection"));
            }
            pos = wire.len();
        }
        if status != 100 {
            count += 1;
        }
        at = pos;
    }
    Ok(count)
}

proptest! {
    #[test]
    fn every_http_answer_is_well_framed(pieces in proptest::collection::vec(http_piece(), 1..12)) {
        let mut h = HttpHarness::new(Config { rate_limit: 0, ..Config::default() }, test_tools());
        for piece in &pieces {
            if h.is_closed() {
                break;
            }
            if h.server.wants_input(h.conn) {
                h.input(piece);
            }
        }
        if !h.is_closed() {
            h.server.handle_eof(h.conn, h.now).unwrap();
            h.drain();
        }
        h.advance(Duration::from_secs(3600));
        let closed = h.is_closed();
        prop_assert!(closed, "every connection ends once input ends and time passes");
        check_framing(&h.wire, closed).map_err(|err| TestCaseError::fail(format!("{err}: {}", String::from_utf8_lossy(&h.wire))))?;
    }

    #[test]
    fn session_and_rate_limit_tables_stay_within_their_caps(
        steps in proptest::collection::vec((0u8..4, 0u32..2000, 0u64..120), 1..200),
    ) {
        let config = Config {
            max_sessions: 5,
            rate_limit: 20,
            rate_limit_max_clients: 8,
            ..Config::default()
        };
        let mut h = HttpHarness::new(config, test_tools());
        for (op, client, seconds) in steps {
            match op {
                0 | 1 => {
                    let [a, b, c, d] = (0x0a00_0000 + client).to_be_bytes();
                    h.conn = h.server.accept(format!("{a}.{b}.{c}.{d}"), Framing::Http, h.now);
                    h.wire.clear();
                    h.read = 0;
                    let request = if op == 0 { post(INITIALIZE, None) } else { b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec() };
                    h.input(&request);
                }
                2 => h.advance(Duration::from_secs(seconds)),
                _ => h.advance(Duration::from_secs(seconds * 60)),
            }
            let stats = h.server.stats();
            prop_assert!(stats.sessions <= 5, "{stats:?}");
            prop_assert!(stats.rate_limited_clients <= 8, "{stats:?}");
        }
    }
}
