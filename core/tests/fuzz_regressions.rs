//! Replays every committed fuzz seed and past finding (`fuzz/regressions/TARGET/`) through
//! the same entry points the fuzz targets call.

use std::fs;
use std::path::PathBuf;

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
    replay("stdio_lines", rampart_core::fuzz::stdio_lines);
}

#[test]
fn http_request_seeds_replay() {
    replay("http_request", rampart_core::fuzz::http_request);
}

#[test]
fn ops_seeds_replay() {
    replay("ops", rampart_core::fuzz::ops);
}

#[test]
fn split_seeds_replay() {
    replay("split", rampart_core::fuzz::split);
}
