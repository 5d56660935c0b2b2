//! The decoder, mostly through its API: well-formed requests, a table of refused ones, limits,
//! skipping, and properties that the output does not depend on how the input is split.

use proptest::prelude::*;

use super::*;

const KIB: usize = 1024;

fn limits() -> Limits {
    Limits {
        max_head_bytes: 16 * KIB,
        max_headers: 100,
        max_target_bytes: 8 * KIB,
        max_body_bytes: 4 * KIB * KIB,
    }
}

/// A decoded item with its body copied out of the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Head(Head),
    Body(Vec<u8>),
    Refused(Refusal),
}

impl Item {
    fn status(&self) -> Option<u16> {
        match self {
            Item::Refused(refusal) => Some(refusal.status),
            _ => None,
        }
    }

    fn head(&self) -> &Head {
        match self {
            Item::Head(head) => head,
            other => panic!("expected a head, got {other:?}"),
        }
    }
}

fn drain(decoder: &mut Decoder, out: &mut Vec<Item>) {
    while let Some(item) = decoder.next() {
        out.push(match item {
            Decoded::Head(head) => Item::Head(head),
            Decoded::Body(range) => Item::Body(decoder.body(range).to_vec()),
            Decoded::Refused(refusal) => Item::Refused(refusal),
        });
    }
}

/// Decodes `input` pushed in pieces cut at `cuts` (offsets, any order, may repeat).
fn decode_split(limits: Limits, input: &[u8], cuts: &[usize]) -> Vec<Item> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.sort_unstable();
    let mut decoder = Decoder::new(limits);
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([input.len()]) {
        decoder.push(&input[from..cut]);
        drain(&mut decoder, &mut out);
        from = cut;
    }
    out
}

fn decode(input: &[u8]) -> Vec<Item> {
    decode_split(limits(), input, &[])
}

const GET: &[u8] = b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n";

#[test]
fn decodes_a_simple_request() {
    let out = decode(b"POST /mcp?x=1 HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n\r\nhello");
    let head = out[0].head();
    assert_eq!(head.method(), "POST");
    assert_eq!(head.target(), "/mcp?x=1");
    assert_eq!(head.minor_version, 1);
    assert_eq!(head.body, BodyFraming::Length(5));
    assert!(head.keep_alive);
    assert!(!head.expect_continue);
    assert_eq!(out[1], Item::Body(b"hello".to_vec()));
    assert_eq!(out.len(), 2);
}

#[test]
fn lowercases_names_and_trims_values() {
    let out = decode(b"GET / HTTP/1.1\r\nHOST:  h \t\r\nX-Thing:\tA  b\t \r\nEmpty:\r\n\r\n");
    let head = out[0].head();
    assert_eq!(
        head.fields().collect::<Vec<_>>(),
        vec![
            (&b"host"[..], &b"h"[..]),
            (&b"x-thing"[..], &b"A  b"[..]),
            (&b"empty"[..], &b""[..]),
        ]
    );
    assert_eq!(head.header("x-thing"), Some(&b"A  b"[..]));
    assert_eq!(head.header("missing"), None);
}

#[test]
fn pipelines_three_requests_in_one_push() {
    let mut input = Vec::new();
    input.extend_from_slice(b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    input.extend_from_slice(GET);
    input.extend_from_slice(
        b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n",
    );
    let mut decoder = Decoder::new(limits());
    decoder.push(&input);
    let mut out = Vec::new();
    drain(&mut decoder, &mut out);
    assert_eq!(out.len(), 5);
    assert_eq!(out[0].head().target(), "/a");
    assert_eq!(out[1], Item::Body(b"abc".to_vec()));
    assert_eq!(out[2].head().target(), "/ok");
    assert_eq!(out[3].head().target(), "/c");
    assert_eq!(out[4], Item::Body(b"xy".to_vec()));
    assert_eq!(decoder.phase(), Phase::Idle);
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn pipelined_request_waits_until_asked_for() {
    let mut decoder = Decoder::new(limits());
    decoder.push(&[GET, GET].concat());
    assert!(matches!(decoder.next(), Some(Decoded::Head(_))));
    assert_eq!(decoder.phase(), Phase::Head);
    assert_eq!(decoder.buffered(), GET.len());
    assert!(matches!(decoder.next(), Some(Decoded::Head(_))));
    assert_eq!(decoder.phase(), Phase::Idle);
    assert_eq!(decoder.next(), None);
}

#[test]
fn keep_alive_follows_version_and_connection() {
    let cases: &[(&[u8], bool)] = &[
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
            true,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false),
        (
            b"GET / HTTP/1.0\r\nConnection: x\r\nConnection: keep-alive\r\n\r\n",
            true,
        ),
    ];
    for &(request, keep_alive) in cases {
        let out = decode(&[request, GET].concat());
        let context = String::from_utf8_lossy(request);
        assert_eq!(out[0].head().keep_alive, keep_alive, "{context}");
        // Nothing after a request that closes the connection is decoded.
        assert_eq!(out.len(), if keep_alive { 2 } else { 1 }, "{context}");
    }
}

#[test]
fn closing_request_ends_decoding() {
    let mut decoder = Decoder::new(limits());
    decoder.push(b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(decoder.next(), Some(Decoded::Head(_))));
    assert_eq!(decoder.phase(), Phase::Body);
    decoder.push(b"ok");
    decoder.push(GET);
    let Some(Decoded::Body(range)) = decoder.next() else {
        panic!("no body")
    };
    assert_eq!(decoder.body(range), b"ok");
    assert_eq!(decoder.phase(), Phase::Done);
    assert_eq!(decoder.buffered(), 0);
    assert_eq!(decoder.next(), None);
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let request = b"POST /mcp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n\
        4;name=value\r\nWiki\r\n\
        5 ; a ; b=\"q;x\"\r\npedia\r\n\
        E\r\n in\r\n\r\nchunks.\r\n\
        0;last\r\nX-Trailer: yes\r\nOther:\r\n\r\n";
    let out = decode(&[&request[..], GET].concat());
    assert_eq!(out[0].head().body, BodyFraming::Chunked);
    assert_eq!(out[1], Item::Body(b"Wikipedia in\r\n\r\nchunks.".to_vec()));
    assert_eq!(out[2].head().target(), "/ok");
    assert_eq!(out.len(), 3);
}

#[test]
fn chunk_sizes_are_hex_of_up_to_16_digits() {
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    let data = [&head[..], b"000000000000000A\r\n0123456789\r\n0\r\n\r\n"].concat();
    assert_eq!(decode(&data)[1], Item::Body(b"0123456789".to_vec()));
    let data = [&head[..], b"b\r\n0123456789a\r\n0000\r\n\r\n"].concat();
    assert_eq!(decode(&data)[1], Item::Body(b"0123456789a".to_vec()));
}

#[test]
fn empty_chunked_body_is_returned() {
    let out = decode(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(out[1], Item::Body(Vec::new()));
}

#[test]
fn zero_content_length_has_no_body() {
    let out = decode(
        &[
            &b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 000\r\n\r\n"[..],
            GET,
        ]
        .concat(),
    );
    assert_eq!(out[0].head().body, BodyFraming::None);
    assert_eq!(out[1].head().target(), "/ok");
}

#[test]
fn expect_continue_is_flagged_only_with_a_body() {
    let out = decode(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
    assert!(out[0].head().expect_continue);
    let out = decode(b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n");
    assert!(!out[0].head().expect_continue);
    // HTTP/1.0 has no 100 (Continue): the expectation is ignored.
    let out = decode(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(!out[0].head().expect_continue);
}

#[test]
fn expect_continue_body_follows_when_sent() {
    let mut decoder = Decoder::new(limits());
    decoder.push(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    let Some(Decoded::Head(head)) = decoder.next() else {
        panic!("no head")
    };
    assert!(head.expect_continue);
    assert_eq!(decoder.next(), None);
    assert_eq!(decoder.phase(), Phase::Body);
    decoder.push(b"body");
    let Some(Decoded::Body(range)) = decoder.next() else {
        panic!("no body")
    };
    assert_eq!(decoder.body(range), b"body");
}

#[test]
fn leading_empty_lines_are_ignored() {
    let out = decode(&[&b"\r\n\r\n"[..], GET].concat());
    assert_eq!(out[0].head().target(), "/ok");
}

#[test]
fn accepts_target_forms() {
    let out = decode(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(out[0].head().target(), "*");
    let out = decode(b"GET HTTP://h/x?y HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(out[0].head().target(), "HTTP://h/x?y");
    let out = decode(b"PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(out[0].head().method(), "PURGE");
}

/// Hostile or malformed requests, each with the status it is refused with.
const REFUSED: &[(&str, &[u8], u16)] = &[
    // Framing that could smuggle a request.
    (
        "CL with TE",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    (
        "TE with CL",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        400,
    ),
    (
        "CL twice, equal",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
        400,
    ),
    (
        "CL twice, different",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        400,
    ),
    (
        "CL list",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n",
        400,
    ),
    (
        "CL list, different",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3,4\r\n\r\n",
        400,
    ),
    (
        "CL plus",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
        400,
    ),
    (
        "CL minus",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        400,
    ),
    (
        "CL hex",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n",
        400,
    ),
    (
        "CL empty",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
        400,
    ),
    (
        "CL inner space",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n",
        400,
    ),
    (
        "CL overlong",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 00000000000000000001\r\n\r\n",
        400,
    ),
    (
        "CL overflow",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n",
        400,
    ),
    (
        "CL too large",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4194305\r\n\r\n",
        413,
    ),
    (
        "CL 19 digits",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999999999\r\n\r\n",
        413,
    ),
    (
        "TE on 1.0",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "gzip, chunked",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    ),
    (
        "chunked, gzip",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        400,
    ),
    (
        "identity",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
        501,
    ),
    (
        "unknown coding",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n",
        501,
    ),
    (
        "chunked twice",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        400,
    ),
    (
        "chunked in two fields",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    (
        "TE empty",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n",
        400,
    ),
    (
        "TE empty element",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,chunked\r\n\r\n",
        400,
    ),
    (
        "TE chunked with parameter",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
        400,
    ),
    (
        "TE not a token",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
        400,
    ),
    // Chunk framing.
    (
        "chunk size not hex",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
    ),
    (
        "chunk size empty",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        400,
    ),
    (
        "chunk size 0x",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n",
        400,
    ),
    (
        "chunk size minus",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        400,
    ),
    (
        "chunk size space first",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\n",
        400,
    ),
    (
        "chunk size trailing space",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\n",
        400,
    ),
    (
        "chunk size overlong",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000005\r\n",
        400,
    ),
    (
        "chunk size overflow",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
        400,
    ),
    (
        "chunk size bare LF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n",
        400,
    ),
    (
        "chunk data without CRLF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk data with bare LF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
        400,
    ),
    (
        "chunk extension with CR",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n",
        400,
    ),
    (
        "chunked over the body limit",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n400001\r\n",
        413,
    ),
    (
        "trailer with obs-fold",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n",
        400,
    ),
    (
        "trailer without colon",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnonsense\r\n\r\n",
        400,
    ),
    (
        "trailer with bare LF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\n\r\n",
        400,
    ),
    // Line endings and field syntax.
    (
        "bare LF after request line",
        b"GET / HTTP/1.1\nHost: h\r\n\r\n",
        400,
    ),
    (
        "bare LF after field",
        b"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
        400,
    ),
    ("bare LF ends head", b"GET / HTTP/1.1\r\nHost: h\r\n\n", 400),
    (
        "bare LF before request",
        b"\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
    ),
    (
        "obs-fold",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        400,
    ),
    (
        "obs-fold tab",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n",
        400,
    ),
    (
        "NUL in value",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n",
        400,
    ),
    (
        "CR in value",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        400,
    ),
    (
        "DEL in value",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n",
        400,
    ),
    (
        "control in value",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n",
        400,
    ),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
    (
        "empty field name",
        b"GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n",
        400,
    ),
    ("missing Host", b"GET / HTTP/1.1\r\nX: y\r\n\r\n", 400),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    (
        "two Hosts on 1.0",
        b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
        400,
    ),
    // The request line.
    ("star target on GET", b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    (
        "authority form",
        b"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
    ),
    ("relative target", b"GET x/y HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("other scheme", b"GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    (
        "non-ASCII target",
        b"GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
    ),
    ("control in target", b"GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("two spaces", b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("bad method", b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("no version", b"GET /\r\nHost: h\r\n\r\n", 400),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    ("HTTP/1.2", b"GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505),
    ("HTTP/3", b"GET / HTTP/3\r\nHost: h\r\n\r\n", 505),
    // Expectations.
    (
        "unknown expectation",
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n",
        417,
    ),
    (
        "expectation list",
        b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, x\r\n\r\n",
        417,
    ),
];

#[test]
fn refuses_malformed_and_hostile_requests() {
    for &(name, request, status) in REFUSED {
        let mut input = request.to_vec();
        input.extend_from_slice(GET);
        let mut decoder = Decoder::new(limits());
        decoder.push(&input);
        let mut out = Vec::new();
        drain(&mut decoder, &mut out);
        let Some(last) = out.last() else {
            panic!("{name}: nothing decoded")
        };
        assert_eq!(last.status(), Some(status), "{name}: {out:?}");
        assert!(
            out.iter().all(|item| !matches!(item, Item::Body(_))),
            "{name}: {out:?}"
        );
        assert!(out.len() <= 2, "{name}: {out:?}");
        assert_eq!(decoder.phase(), Phase::Done, "{name}");
        assert_eq!(decoder.buffered(), 0, "{name}");
        decoder.push(GET);
        assert_eq!(decoder.next(), None, "{name}");
        // The same, one byte at a time.
        let cuts: Vec<usize> = (0..input.len()).collect();
        assert_eq!(decode_split(limits(), &input, &cuts), out, "{name}, byte by byte");
    }
}

#[test]
fn too_many_headers_is_431() {
    let mut request = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
    for i in 0..100 {
        request.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    assert_eq!(decode(&request)[0].status(), Some(431));
    // Exactly the limit is fine.
    let small = Limits {
        max_headers: 101,
        ..limits()
    };
    assert!(matches!(decode_split(small, &request, &[])[0], Item::Head(_)));
}

#[test]
fn head_over_the_limit_is_431_before_it_ends() {
    let mut decoder = Decoder::new(limits());
    decoder.push(b"GET / HTTP/1.1\r\nHost: h\r\nX: ");
    decoder.push(&vec![b'a'; 16 * KIB]);
    let Some(Decoded::Refused(refusal)) = decoder.next() else {
        panic!("not refused")
    };
    assert_eq!(refusal.status, 431);
}

#[test]
fn head_of_exactly_the_limit_is_accepted() {
    let start = b"GET / HTTP/1.1\r\nHost: h\r\nX: ";
    let fill = 16 * KIB - start.len() - 4;
    let request = [&start[..], &vec![b'a'; fill], b"\r\n\r\n"].concat();
    assert_eq!(request.len(), 16 * KIB);
    assert!(matches!(decode(&request)[0], Item::Head(_)));
    let request = [&start[..], &vec![b'a'; fill + 1], b"\r\n\r\n"].concat();
    assert_eq!(decode(&request)[0].status(), Some(431));
}

#[test]
fn long_target_is_414_before_the_line_ends() {
    let mut decoder = Decoder::new(limits());
    decoder.push(b"GET /");
    decoder.push(&vec![b'a'; 8 * KIB]);
    let Some(Decoded::Refused(refusal)) = decoder.next() else {
        panic!("not refused")
    };
    assert_eq!(refusal.status, 414);
    // A target of exactly the limit passes.
    let target = [&b"/"[..], &vec![b'a'; 8 * KIB - 1]].concat();
    let request = [&b"GET "[..], &target, b" HTTP/1.1\r\nHost: h\r\n\r\n"].concat();
    assert_eq!(decode(&request)[0].head().target().len(), 8 * KIB);
}

#[test]
fn long_target_is_414_even_over_the_head_limit() {
    let request = [&b"GET /"[..], &vec![b'a'; 20 * KIB]].concat();
    assert_eq!(decode(&request)[0].status(), Some(414));
}

#[test]
fn trailers_count_against_the_head_limits() {
    let chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    let fields = Limits {
        max_headers: 3,
        ..limits()
    };
    let one = [&chunked[..], b"A: 1\r\n\r\n"].concat();
    assert_eq!(decode_split(fields, &one, &[])[1], Item::Body(Vec::new()));
    let two = [&chunked[..], b"A: 1\r\nB: 2\r\n\r\n"].concat();
    assert_eq!(decode_split(fields, &two, &[])[1].status(), Some(431));

    let bytes = Limits {
        max_head_bytes: chunked.len() - 3 + 8,
        ..limits()
    };
    let fits = [&chunked[..], b"A: 123\r\n\r\n"].concat();
    assert_eq!(decode_split(bytes, &fits, &[])[1], Item::Body(Vec::new()));
    let over = [&chunked[..], b"A: 1234\r\n\r\n"].concat();
    assert_eq!(decode_split(bytes, &over, &[])[1].status(), Some(431));
}

#[test]
fn chunk_lines_and_extensions_are_bounded() {
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    let line = |ext: usize| [&b"1;"[..], &vec![b'e'; ext], b"\r\nx\r\n"].concat();
    let ok = [&head[..], &line(1000), b"0\r\n\r\n"].concat();
    assert_eq!(decode(&ok)[1], Item::Body(b"x".to_vec()));
    let long = [&head[..], &line(1100)].concat();
    assert_eq!(decode(&long)[1].status(), Some(400));
    // Many lines within the per-line cap still run out of the per-body budget.
    let many = [&head[..], &line(1000).repeat(20), b"0\r\n\r\n"].concat();
    assert_eq!(decode(&many)[1].status(), Some(400));
}

#[test]
fn chunked_body_over_the_limit_is_413_at_the_size_line() {
    let small = Limits {
        max_body_bytes: 10,
        ..limits()
    };
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    let exact = [&head[..], b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"].concat();
    assert_eq!(
        decode_split(small, &exact, &[])[1],
        Item::Body(b"helloworld".to_vec())
    );
    // The refusal comes before the data of the chunk that passes the cap.
    let over = [&head[..], b"5\r\nhello\r\n6\r\n"].concat();
    assert_eq!(decode_split(small, &over, &[])[1].status(), Some(413));
}

#[test]
fn skips_a_length_body() {
    let mut decoder = Decoder::new(limits());
    decoder.push(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    assert!(matches!(decoder.next(), Some(Decoded::Head(_))));
    assert!(decoder.skip_body());
    assert_eq!(decoder.next(), None);
    assert_eq!(decoder.phase(), Phase::Body);
    decoder.push(b"56789");
    decoder.push(GET);
    let Some(Decoded::Head(head)) = decoder.next() else {
        panic!("no next head")
    };
    assert_eq!(head.target(), "/ok");
    assert_eq!(decoder.next(), None);
}

#[test]
fn skips_a_chunked_body() {
    let mut input = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    input.extend_from_slice(b"3\r\nabc\r\n0\r\nT: x\r\n\r\n");
    input.extend_from_slice(GET);
    let mut decoder = Decoder::new(limits());
    decoder.push(&input);
    assert!(matches!(decoder.next(), Some(Decoded::Head(_))));
    assert!(decoder.skip_body());
    let Some(Decoded::Head(head)) = decoder.next() else {
        panic!("no next head")
    };
    assert_eq!(head.target(), "/ok");
}

#[test]
fn skipped_chunked_body_is_still_checked() {
    let mut decoder = Decoder::new(limits());
    decoder.push(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    assert!(matches!(decoder.next(), Some(Decoded::Head(_))));
    assert!(decoder.skip_body());
    assert!(matches!(
        decoder.next(),
        Some(Decoded::Refused(Refusal { status: 400, .. }))
    ));
}

#[test]
fn skip_body_is_refused_outside_a_body() {
    let mut decoder = Decoder::new(limits());
    assert!(!decoder.skip_body());
    decoder.push(GET);
    assert!(matches!(decoder.next(), Some(Decoded::Head(_))));
    assert!(!decoder.skip_body());
}

#[test]
fn phases_follow_the_request() {
    let mut decoder = Decoder::new(limits());
    assert_eq!(decoder.phase(), Phase::Idle);
    decoder.push(b"POST / HTTP/1.1\r\n");
    assert_eq!(decoder.next(), None);
    assert_eq!(decoder.phase(), Phase::Head);
    assert_eq!(decoder.buffered(), 17);
    decoder.push(b"Host: h\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(decoder.next(), Some(Decoded::Head(_))));
    assert_eq!(decoder.phase(), Phase::Body);
    decoder.push(b"x");
    assert_eq!(decoder.next(), None);
    assert_eq!(decoder.buffered(), 0);
    decoder.push(b"y");
    assert!(matches!(decoder.next(), Some(Decoded::Body(_))));
    assert_eq!(decoder.phase(), Phase::Idle);
    decoder.push(b"\x01\r\n");
    assert_eq!(decoder.next(), None);
    assert_eq!(decoder.phase(), Phase::Head);
    decoder.push(b"\r\n");
    assert!(matches!(decoder.next(), Some(Decoded::Refused(_))));
    assert_eq!(decoder.phase(), Phase::Done);
}

#[test]
fn a_head_fed_byte_by_byte_is_parsed_once() {
    let mut request = b"POST /mcp HTTP/1.1\r\nHost: h\r\n".to_vec();
    while request.len() < 16 * KIB - 40 {
        request.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
    }
    request.extend_from_slice(b"\r\n");
    let limits = Limits {
        max_headers: 1000,
        ..limits()
    };
    let mut decoder = Decoder::new(limits);
    let mut heads = 0;
    for byte in &request {
        decoder.push(std::slice::from_ref(byte));
        while let Some(item) = decoder.next() {
            assert!(matches!(item, Decoded::Head(_)), "{item:?}");
            heads += 1;
        }
    }
    assert_eq!(heads, 1);
    assert_eq!(decoder.head_parses, 1);
}

#[test]
fn buffer_stays_bounded_while_bodies_stream() {
    let body = vec![b'b'; 256 * KIB];
    let mut request = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 262144\r\n\r\n".to_vec();
    request.extend_from_slice(&body);
    let stream = request.repeat(8);
    let mut decoder = Decoder::new(limits());
    let mut bodies = 0;
    for piece in stream.chunks(7 * KIB) {
        decoder.push(piece);
        while let Some(item) = decoder.next() {
            if let Decoded::Body(range) = item {
                assert_eq!(decoder.body(range), &body[..]);
                bodies += 1;
            }
        }
        assert!(
            decoder.buf.len() <= 16 * KIB + 2 * 7 * KIB,
            "{}",
            decoder.buf.len()
        );
    }
    assert_eq!(bodies, 8);
    // The body buffer grew by doubling, but never past the announced length.
    assert!(decoder.body.capacity() <= 256 * KIB);
}

/// Requests, valid and not, that the split-invariance property strings together.
const SAMPLES: &[&[u8]] = &[
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"\r\nGET /x?y=z HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
    b"POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
    b"POST /mcp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n1\r\nd\r\n0\r\nT: v\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
    b"GET / HTTP/1.1\nHost: h\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nX-Long: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n\r\n",
];

/// Pieces of HTTP syntax, strung together at random after a sample.
const FRAGMENTS: &[&[u8]] = &[
    b"\r\n",
    b"\r",
    b"\n",
    b" ",
    b"\t",
    b":",
    b";",
    b",",
    b"0",
    b"5",
    b"f",
    b"x",
    b"\0",
    b"GET / HTTP/1.1",
    b"HTTP/1.0",
    b"Host: h",
    b"Content-Length: 3",
    b"Transfer-Encoding: chunked",
    b"Connection: close",
    b"Expect: 100-continue",
    b"abc",
];

/// Small limits, so that the samples run into them.
fn tight_limits() -> Limits {
    Limits {
        max_head_bytes: 120,
        max_headers: 4,
        max_target_bytes: 64,
        max_body_bytes: 16,
    }
}

proptest! {
    #[test]
    fn output_does_not_depend_on_how_input_is_split(
        picks in prop::collection::vec(0..SAMPLES.len(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        tight in any::<bool>(),
    ) {
        let input: Vec<u8> = picks.iter().flat_map(|&i| SAMPLES[i].iter().copied()).collect();
        let cuts: Vec<usize> = cuts.iter().map(|index| index.index(input.len() + 1)).collect();
        let limits = if tight { tight_limits() } else { limits() };
        prop_assert_eq!(decode_split(limits, &input, &cuts), decode_split(limits, &input, &[]));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_split_the_same(
        prefix in 0..SAMPLES.len(),
        noise in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        check_splits(&[SAMPLES[prefix], &noise].concat(), &cuts)?;
    }

    #[test]
    fn shuffled_fragments_split_the_same(
        prefix in 0..SAMPLES.len(),
        fragments in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        check_splits(&[SAMPLES[prefix], &fragments.concat()].concat(), &cuts)?;
    }
}

/// Checks that `input` decodes the same whole and cut at `cuts`, under the default, tight and
/// zero limits.
fn check_splits(input: &[u8], cuts: &[prop::sample::Index]) -> Result<(), TestCaseError> {
    let cuts: Vec<usize> = cuts.iter().map(|index| index.index(input.len() + 1)).collect();
    let zero = Limits {
        max_head_bytes: 0,
        max_headers: 0,
        max_target_bytes: 0,
        max_body_bytes: 0,
    };
    for limits in [limits(), tight_limits(), zero] {
        prop_assert_eq!(
            decode_split(limits, input, &cuts),
            decode_split(limits, input, &[])
        );
    }
    Ok(())
}
