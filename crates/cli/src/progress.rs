//! A progress bar on stderr for long simulator runs.
//!
//! The bar appears only when stderr is a terminal and the run has already taken a second, so
//! short runs, pipes and scripts never see it. It measures virtual time simulated.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before its bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A progress bar that shows itself once a run has lasted [`SHOW_AFTER`].
pub struct LazyProgress {
    label: String,
    started: Instant,
    enabled: bool,
    bar: Option<ProgressBar>,
}

impl LazyProgress {
    /// A bar for a run named `label`, starting its clock now.
    pub fn start(label: impl Into<String>) -> LazyProgress {
        LazyProgress {
            label: label.into(),
            started: Instant::now(),
            enabled: std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    /// Records that `done` of `total` microseconds of virtual time have been simulated.
    pub fn update(&mut self, done: u64, total: u64) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() {
            if self.started.elapsed() < SHOW_AFTER {
                return;
            }
            let style = ProgressStyle::with_template(
                "{prefix} [{wide_bar}] {percent:>3}% {msg}, {elapsed} elapsed, about {eta} left",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style)
                .with_prefix(self.label.clone())
                .with_elapsed(self.started.elapsed());
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(format!(
                "{:.1} of {:.1} virtual s",
                done as f64 / 1e6,
                total as f64 / 1e6
            ));
        }
    }

    /// Removes the bar, so that the report that follows starts on a clean line.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
