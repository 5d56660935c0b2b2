//! A minimal OTLP/HTTP receiver for the tests: a std `TcpListener` on 127.0.0.1 whose
//! threads read each POST, decode its body as an `ExportTraceServiceRequest` and hand it to
//! the test, then answer as told.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// One POST as the receiver saw it.
#[derive(Debug)]
pub struct Post {
    pub path: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub request: ExportTraceServiceRequest,
}

impl Post {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find_map(|(key, value)| (key == name).then_some(value.as_str()))
    }

    pub fn spans(&self) -> Vec<Span> {
        self.request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| scope.spans.clone())
            .collect()
    }
}

/// How the receiver answers.
pub enum Answer {
    /// These statuses first, one per POST, then 200.
    Statuses(Vec<u16>),
    /// Reads the request and never answers.
    Never,
}

pub struct OtlpReceiver {
    pub port: u16,
    posts: Receiver<Post>,
}

impl OtlpReceiver {
    pub fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, posts) = mpsc::channel();
        let answer = Arc::new(match answer {
            Answer::Statuses(statuses) => Some(Mutex::new(VecDeque::from(statuses))),
            Answer::Never => None,
        });
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let tx = tx.clone();
                let answer = Arc::clone(&answer);
                thread::spawn(move || serve(stream, &tx, answer.as_ref().as_ref()));
            }
        });
        Self { port, posts }
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next POST, or `None` when none comes within `wait`.
    pub fn next(&self, wait: Duration) -> Option<Post> {
        self.posts.recv_timeout(wait).ok()
    }
}

fn serve(stream: TcpStream, tx: &Sender<Post>, statuses: Option<&Mutex<VecDeque<u16>>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split(' ').nth(1).unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find_map(|(name, value)| (name == "content-length").then(|| value.parse().unwrap()))
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("an OTLP export request");
        let _ = tx.send(Post {
            path,
            headers,
            request,
        });
        let Some(statuses) = statuses else {
            // Hold the connection open, unanswered, until the client gives up.
            let _ = reader.read(&mut [0; 1]);
            return;
        };
        let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
        let body = match status {
            200 => ExportTraceServiceResponse::default().encode_to_vec(),
            _ => b"not now".to_vec(),
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
    }
}

/// The value of attribute `key`, if it is there.
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|AnyValue { value }| value.as_ref())
}

/// The string value of attribute `key`, if it is a string.
pub fn text<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key)? {
        any_value::Value::StringValue(text) => Some(text),
        _ => None,
    }
}
