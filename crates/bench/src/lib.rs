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

/// The exit code of a benchmark binary named `program` whose run gave `result`; an error is
/// printed on one line with its causes (never through `main`'s `Debug`, which would print a
/// backtrace where `RUST_BACKTRACE` is set).
pub fn exit_code(program: &str, result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{program}: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
