//! Replays every committed fuzz seed and past finding (`fuzz/regressions/TARGET/`) through
//! the same entry points the fuzz targets call.

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
        count += 1;
    }
    assert!(count > 0, "no seeds in {}", dir.display());
}

#[test]
fn jsonrpc_seeds_replay() {
    replay("jsonrpc", rampart_core::fuzz::jsonrpc);
}

#[test]
fn stdio_lines_seeds_replay() {
    replay("stdio_lines", |data| {
        rampart_core::fuzz::stdio_lines(data, Instant::now())
    });
}

#[test]
fn http_request_seeds_replay() {
    replay("http_request", |data| {
        rampart_core::fuzz::http_request(data, Instant::now())
    });
}

#[test]
fn ops_seeds_replay() {
    replay("ops", |data| rampart_core::fuzz::ops(data, Instant::now()));
}

#[test]
fn split_seeds_replay() {
    replay("split", |data| rampart_core::fuzz::split(data, Instant::now()));
}

#[test]
fn shared_seeds_replay() {
    replay("shared", |data| rampart_core::fuzz::shared(data, Instant::now()));
}
