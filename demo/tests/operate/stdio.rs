//! The demo over stdio, for the drain tests: started with piped stdin and stdout, its
//! answers read on a thread of their own.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Starts `rampart-demo --transport stdio --runtime RUNTIME` with `env` added.
pub fn start_stdio(runtime: &str, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rampart-demo"))
        .args(["--transport", "stdio", "--runtime", runtime])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rampart-demo --transport stdio")
}

/// Reads JSON lines from `pipe` on a thread of its own.
pub fn read_lines(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if let Ok(value) = serde_json::from_str(&line)
                && tx.send(value).is_err()
            {
                return;
            }
        }
    });
    rx
}

/// Waits (at most 20 s) for the answer to request `id`, skipping notifications.
pub fn expect_answer(answers: &mpsc::Receiver<Value>, id: u64, runtime: &str) -> Value {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match answers.recv_timeout(left) {
            Ok(message) if message["id"] == id => return message,
            Ok(_) => {}
            Err(err) => panic!("{runtime}: no answer to request {id}: {err}"),
        }
    }
}

/// Sends SIGTERM to process `pid`.
pub fn signal_term(pid: u32) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("signal");
}
