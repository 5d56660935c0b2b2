//! rampart-smol on real sockets on 127.0.0.1, against the same expectations as rampart-tokio.

#[path = "../../adapter-tokio/tests/common/cases.rs"]
mod cases;

use std::net::SocketAddr;

/// Starts the adapter on a free port in a thread of its own.
fn start() -> SocketAddr {
    start_with(cases::server)
}

/// Starts the adapter serving the server `make` builds.
fn start_with(make: fn() -> rampart_core::Server) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let executor = std::sync::Arc::new(smol::Executor::new());
        smol::block_on(executor.run(async {
            let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            rampart_smol::serve(&executor, make(), listener, std::future::pending())
                .await
                .unwrap();
        }));
    });
    rx.recv().unwrap()
}

#[test]
fn hostile_and_ordinary_requests() {
    cases::check_cases(start());
}

#[test]
fn a_conversation_with_json_sse_and_half_close() {
    cases::check_conversation(start());
}

#[test]
fn concurrent_clients() {
    cases::check_concurrent_clients(start());
}

#[test]
fn a_client_that_never_reads_is_cut_off() {
    cases::check_slow_reader_is_cut_off(start_with(|| cases::server_with(cases::small_output())));
}

#[test]
fn the_101st_rapid_request_gets_429() {
    cases::check_rate_limit(start_with(cases::limited_server));
}

/// Reads wait on the adapter's own epoll set (on Linux): a request in pieces with pauses
/// (a read empties the socket, the next bytes wake it again), a body larger than a read,
/// and many requests in turn on one connection are all answered.
#[test]
fn requests_in_pieces_large_bodies_and_keep_alive() {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(start()).unwrap();
    stream.set_nodelay(true).unwrap();
    let health = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for piece in health.chunks(7) {
        stream.write_all(piece).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (responses, closed) = cases::read_responses(&mut stream, 1);
    assert_eq!(responses.iter().map(|r| r.0).collect::<Vec<_>>(), [200]);
    assert!(!closed);

    let body = format!("{{oops{}", " ".repeat(40_000));
    let large = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(large.as_bytes()).unwrap();
    let (responses, closed) = cases::read_responses(&mut stream, 1);
    assert_eq!(responses.iter().map(|r| r.0).collect::<Vec<_>>(), [400]);
    assert!(!closed);

    for _ in 0..10 {
        stream.write_all(health).unwrap();
        let (responses, closed) = cases::read_responses(&mut stream, 1);
        assert_eq!(responses.iter().map(|r| r.0).collect::<Vec<_>>(), [200]);
        assert!(!closed);
    }
}
