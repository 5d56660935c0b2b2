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
