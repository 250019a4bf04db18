//! herald-bench: criterion benchmarks of herald's own code.
//!
//! Every benchmark runs a baseline beside the code it measures, in the same process, so that
//! BENCHMARKS.md can quote a ratio rather than a bare time on a noisy shared machine:
//! - `records`: sign, verify, encode and decode per record, against raw ed25519-dalek.
//! - `store`: batch-commit throughput of herald-store, against raw redb doing the same writes.
//!
//! Run with `cargo bench -p herald-bench`.
//!
//! The library part holds [`grid`], the helpers of the benchmarks that run real `herald run`
//! processes (`real-grid`, `real-burst`).

pub mod grid;
