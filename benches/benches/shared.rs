//! The shared server from several threads: each thread has a connection of its own and feeds
//! the stateless echo `tools/call` through `SharedServer::input` as fast as it can (the echo
//! completes at once, so nothing is spawned), with the state in one shard and in two. The
//! threads' clients are picked so that with two shards each thread has a shard of its own.
//!
//! Throughput is requests per second over all threads: with one shard the threads take turns
//! at one lock; with a shard each they share only what docs/scaling.md lists.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use rampart_benches::{echo_tools, now};
use rampart_core::{Config, Server, SharedServer};

const ECHO_CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

/// Requests a thread sends between two takes of the log lines (the log writer's task would
/// take them as they come).
const LOG_EVERY: u64 = 256;

fn request() -> Vec<u8> {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{ECHO_CALL}",
        ECHO_CALL.len()
    )
    .into_bytes()
}

/// A shared server in stateless mode with rate limits off, split into `shards`.
fn shared(shards: usize) -> Arc<SharedServer> {
    let config = Config {
        stateless: true,
        rate_limit: 0,
        max_requests_per_connection: u32::MAX,
        ..Config::default()
    };
    let server = Server::new(config, echo_tools(), [1; 32], now());
    SharedServer::sharded(server, shards, now, |_| panic!("the echo completes at once"))
}

/// A client address for each of `threads` threads, the i-th in shard `i % shards`.
fn clients(shared: &SharedServer, threads: usize) -> Vec<String> {
    let shards = shared.shard_count();
    let mut candidates = (0..).map(|i| format!("10.{}.{}.1", i / 256, i % 256));
    (0..threads)
        .map(|thread| {
            candidates
                .by_ref()
                .find(|client| shared.shard_for(client) == thread % shards)
                .unwrap_or_default()
        })
        .collect()
}

/// Runs `iters` requests on each of `threads` threads at once; returns the wall time.
fn run(shards: usize, threads: usize, iters: u64) -> Duration {
    let shared = shared(shards);
    let request = request();
    let barrier = Barrier::new(threads + 1);
    let clients = clients(&shared, threads);
    std::thread::scope(|scope| {
        for client in &clients {
            let (shared, request, barrier) = (&shared, &request, &barrier);
            scope.spawn(move || {
                let connection = shared.accept(client.as_str());
                let mut out = Vec::with_capacity(1024);
                barrier.wait();
                for i in 0..iters {
                    out.clear();
                    let output = shared.input(connection, request, &mut out);
                    assert!(output.resume && !out.is_empty(), "answered and reading again");
                    if i % LOG_EVERY == LOG_EVERY - 1 {
                        drop(shared.take_logs());
                    }
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope joins the threads before it returns.
        start
    })
    .elapsed()
}

fn shared_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("shared_echo");
    for shards in [1, 2] {
        for threads in [1, 2] {
            group.throughput(Throughput::Elements(threads as u64));
            let id = BenchmarkId::new(format!("shards={shards}"), format!("threads={threads}"));
            group.bench_function(id, |b| b.iter_custom(|iters| run(shards, threads, iters)));
        }
    }
    group.finish();
}

criterion_group!(benches, shared_echo);

/// Runs the criterion benches; or, with `SHARED_ONLY=<shards>,<threads>` and
/// `SHARED_REQUESTS=<per thread>` set, that one configuration once, printing its rate: a fixed
/// amount of work to count under `strace -c -f` or `perf stat`.
fn main() {
    let only = std::env::var("SHARED_ONLY").ok();
    let requests = std::env::var("SHARED_REQUESTS")
        .ok()
        .and_then(|n| n.parse::<u64>().ok());
    if let (Some(only), Some(requests)) = (only, requests) {
        let mut numbers = only.split(',').filter_map(|n| n.trim().parse::<usize>().ok());
        let (Some(shards), Some(threads)) = (numbers.next(), numbers.next()) else {
            panic!("SHARED_ONLY is <shards>,<threads>");
        };
        let took = run(shards, threads, requests);
        let total = requests * threads as u64;
        println!(
            "shards={shards} threads={threads} requests={total} seconds={:.3} rate={:.0}/s",
            took.as_secs_f64(),
            total as f64 / took.as_secs_f64()
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
