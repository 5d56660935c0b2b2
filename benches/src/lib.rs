//! Benchmarks of the rampart core; the criterion benches live in `benches/core.rs` and run
//! with `cargo bench -p rampart-benches`.
