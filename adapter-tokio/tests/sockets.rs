//! rampart-tokio on real sockets on 127.0.0.1, against the shared expectations.

mod common;

use std::net::SocketAddr;

/// Starts the adapter on a free port in a thread of its own.
fn start() -> SocketAddr {
    start_with(common::cases::server)
}

/// Starts the adapter serving the server `make` builds.
fn start_with(make: fn() -> rampart_core::Server) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            rampart_tokio::serve(make(), listener, std::future::pending())
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

#[test]
fn hostile_and_ordinary_requests() {
    common::cases::check_cases(start());
}

#[test]
fn a_conversation_with_json_sse_and_half_close() {
    common::cases::check_conversation(start());
}

#[test]
fn concurrent_clients() {
    common::cases::check_concurrent_clients(start());
}

#[test]
fn a_client_that_never_reads_is_cut_off() {
    common::cases::check_slow_reader_is_cut_off(start_with(|| {
        common::cases::server_with(common::cases::small_output())
    }));
}

#[test]
fn the_101st_rapid_request_gets_429() {
    common::cases::check_rate_limit(start_with(common::cases::limited_server));
}
