//! Logging for the commands that run nodes: `tracing` to stderr, human-readable by default,
//! JSON with `--log-format json`; levels, per module if wanted, come from `HERALD_LOG`, else
//! from `RUST_LOG` (default `info`, with the QUIC and TLS libraries at `warn`).

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// The variables that may hold a `tracing` filter, the first set one winning.
const FILTER_VARIABLES: [&str; 2] = ["HERALD_LOG", "RUST_LOG"];
/// The filter when neither variable is set.
const DEFAULT_FILTER: &str = "info,quinn=warn,rustls=warn";

/// The first filter variable set to something, with its value; an empty one counts as unset.
/// A value that is not Unicode is kept, lossily, so that it is reported rather than skipped.
fn requested_filter() -> Option<(&'static str, String)> {
    FILTER_VARIABLES.iter().find_map(|name| {
        let value = std::env::var_os(name)?;
        (!value.is_empty()).then(|| (*name, value.to_string_lossy().into_owned()))
    })
}

/// Whether the environment asks for a log filter.
pub fn filter_requested() -> bool {
    requested_filter().is_some()
}

/// The filter the environment asks for. An invalid one is reported on stderr and replaced by
/// the default, so a typo never silences the logs.
fn filter_from_env() -> EnvFilter {
    let Some((name, value)) = requested_filter() else {
        return EnvFilter::new(DEFAULT_FILTER);
    };
    EnvFilter::try_new(&value).unwrap_or_else(|error| {
        eprintln!("herald: ignoring {name}={value:?} ({error}); logging at {DEFAULT_FILTER}");
        EnvFilter::new(DEFAULT_FILTER)
    })
}

/// Installs the global subscriber; a second call changes nothing.
pub fn init_logging(format: LogFormat) {
    let filter = filter_from_env();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
