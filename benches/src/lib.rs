//! Benchmarks of the rampart core; the benches live in `benches/`.
