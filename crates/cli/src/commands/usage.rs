//! Usage errors found after clap parsed the arguments: values that parse but mean nothing
//! (`--nodes 0`, `--loss 1`, a payload that is not a JSON object). `main` exits 2 for them,
//! as clap does for the ones it finds, so that a script can tell a bad call from a failure.

use std::fmt;

/// A bad value on the command line, said in one sentence.
#[derive(Debug)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error with `message`, as an anyhow error for `?`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// Whether `error` is, or was caused by, a usage error.
pub fn is_usage(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<UsageError>())
}
