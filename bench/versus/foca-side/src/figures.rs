//! What the accuracy run reports: progress on stderr while it runs, and its figures at the end,
//! defined as herald-sim defines them.

use std::time::Duration;

use anyhow::bail;
use herald_core::Instant;
use versus_common::AccuracyOutcome;

use crate::{Details, Run, WARMUP};

/// The share of the running members that must hold a crashed member dead (herald-sim's
/// `crash_known_99_ms`).
const DETECTED_FRACTION: f64 = 0.99;

/// Progress lines on stderr, one every tenth of the virtual run.
pub(crate) struct Progress {
    pub(crate) started: std::time::Instant,
    pub(crate) next_tenth: u64,
}

impl Run {
    pub(super) fn report_progress(&mut self) {
        let tenth = self.progress.next_tenth;
        let total = u128::from(self.end.as_micros().max(1));
        if tenth > 10 || u128::from(self.now.as_micros()) * 10 < total * u128::from(tenth) {
            return;
        }
        self.progress.next_tenth += 1;
        eprintln!(
            "foca accuracy: {tenth}0% of {} s virtual, {:.0} s wall, {} datagrams, \
             {} false deaths, {} rejoins",
            total / 1_000_000,
            self.progress.started.elapsed().as_secs_f64(),
            self.datagrams,
            self.false_deaths,
            self.rejoins,
        );
    }

    pub(super) fn finish(self) -> anyhow::Result<Details> {
        if self.codec_failures > 0 {
            bail!("the wire codec failed {} times: {:?}", self.codec_failures, self.foca_errors);
        }
        let running = self.slots.iter().filter(|slot| slot.running).count();
        let needed = ((DETECTED_FRACTION * running as f64).ceil() as usize).max(1);
        let crashed_at = self.crashed_at.unwrap_or(self.end);
        let mut slowest: Option<Duration> = None;
        let mut undetected = false;
        for seen in &self.dead_since {
            let mut delays: Vec<Duration> = self
                .slots
                .iter()
                .zip(seen)
                .filter(|(slot, _)| slot.running)
                .filter_map(|(_, at)| at.map(|at| at.saturating_since(crashed_at)))
                .collect();
            delays.sort_unstable();
            match delays.get(needed - 1) {
                Some(delay) => slowest = Some(slowest.map_or(*delay, |before| before.max(*delay))),
                None => undetected = true,
            }
        }
        let detect_s = if undetected { None } else { slowest.map(|delay| delay.as_secs_f64()) };

        let members = self.slots.len() as f64;
        // After the warm-up only, as herald-sim's `messages_per_node_per_s` counts.
        let after_s = self.end.saturating_since(Instant::ZERO + WARMUP).as_secs_f64();
        let after_warmup = self.datagrams - self.datagrams_at_warmup.unwrap_or(self.datagrams);
        Ok(Details {
            outcome: AccuracyOutcome {
                false_deaths: self.false_deaths,
                detect_s,
                messages_per_member_s: if after_s > 0.0 {
                    after_warmup as f64 / members / after_s
                } else {
                    0.0
                },
            },
            stale_deaths: self.stale_deaths,
            resurrections: self.resurrections,
            rejoins: self.rejoins,
            datagrams: self.datagrams,
            bytes: self.bytes,
            never_joined: self.slots.iter().filter(|slot| !slot.joined).count(),
            foca_errors: self.foca_errors,
            events: self.events,
            trace: self.trace,
        })
    }
}
