//! foca's side of the failure-detection accuracy comparison (issue 21): "Both protocol cores
//! are driven in herald-sim's network model. foca has no I/O, so it fits."
//!
//! [`accuracy`] runs `members` foca instances in one deterministic discrete-event loop. Virtual
//! time is a [`herald_core::Instant`]; every random draw comes from one
//! [`herald_core::Rng`] seeded with the run's seed (each foca instance gets its own ChaCha8
//! generator, seeded from it in member order), so a seed replays a run exactly. Every datagram
//! foca asks to send crosses a [`herald_sim::NetworkModel`] with herald-sim's defaults (10 ms
//! latency, up to 40 ms jitter) and [`LossModel::Drop`]: foca runs over UDP, so a lost packet is
//! a lost message (herald's side keeps its transport's retransmission; the asymmetry is
//! deliberate). Every timer foca asks for fires at now + its delay.
//!
//! The run: members 1.. announce themselves to member 0, spread over the first second, and
//! announce again every second until foca reports them connected (foca leaves joining, and
//! retrying a lost join, to its user; once joined, a member is left to foca). At the end of
//! herald-sim's 20 s warm-up, `kills` members other than member 0, picked by the seeded
//! generator, crash at once (they neither send nor receive again); then the run goes on for
//! `virtual_s` seconds.
//!
//! foca is configured with `Config::new_lan(members)`, the configuration foca documents for a
//! LAN cluster of an expected size ("Generate a configuration for a LAN cluster given an
//! expected total number of active members ... Settings derived from memberlist's
//! DefaultLANConfig", foca 2.0.0 `src/config.rs`,
//! <https://docs.rs/foca/2.0.0/foca/struct.Config.html#method.new_lan>), untouched.
//!
//! Identities renew (see [`MemberId`]): a member told it was declared down rejoins at once under
//! its next generation, as foca's examples do. A death notice counts as false only if it names
//! the identity a running member is at when the notice is given; notices about identities it
//! has already renewed away from are counted apart, in [`Details::stale_deaths`].
//!
//! Under loss most rejoins answer no death at all: foca 2.0.0 sends `TurnUndead` to a suspect
//! when its suspicion timer runs out even if the suspect refuted the suspicion meanwhile
//! (`tests/foca_behaviour.rs` pins this down), and the suspect then renews its identity. A
//! rejoin also drops every timer the rejoining member had pending, its own suspicions of others
//! included. [`Details::rejoins`] counts them.

mod figures;
mod queue;
mod wire;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::ensure;
use foca::{Config, Foca, NoCustomBroadcast, OwnedNotification, State};
use herald_core::{Instant, Rng};
use herald_sim::{LossModel, NetworkModel, NodeIndex};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use versus_common::{AccuracyOutcome, AccuracyParams};

use figures::Progress;
use queue::{Action, Outbox, Queue};

pub use wire::{MemberId, Wire, WireError};

/// herald-sim's default warm-up: the crashes happen when it ends.
pub const WARMUP: Duration = Duration::from_secs(20);
/// The joins to member 0 are spread evenly over this first stretch of the run.
pub const JOIN_SPREAD: Duration = Duration::from_secs(1);
/// How often a member that has not joined yet announces itself to member 0 again.
pub const ANNOUNCE_RETRY: Duration = Duration::from_secs(1);
/// herald-sim's default smallest one-way latency (`herald sim`).
pub const LATENCY: Duration = Duration::from_millis(10);
/// herald-sim's default extra one-way latency, drawn per message from `0..=JITTER`.
pub const JITTER: Duration = Duration::from_millis(40);

/// One foca instance as the run drives it.
type Swimmer = Foca<MemberId, Wire, ChaCha8Rng, NoCustomBroadcast>;

/// What an accuracy run hands back, and what else it saw.
#[derive(Clone, Debug, Default)]
pub struct Details {
    /// The figures the comparison reports.
    pub outcome: AccuracyOutcome,
    /// Death notices about a running member's identity that it had already renewed away
    /// from: what the rest of the cluster sees when a member rejoins under a new identity. Not
    /// false deaths by the comparison's rule, but each is a member that an application would
    /// see leave and come back.
    pub stale_deaths: u64,
    /// Times a member that had crashed was seen alive again after the crash (an identity of it
    /// still in flight); the observer no longer holds it dead.
    pub resurrections: u64,
    /// Times a member learned it had been declared down and rejoined under a renewed identity.
    pub rejoins: u64,
    /// Datagrams sent by all members over the whole run, lost ones included.
    pub datagrams: u64,
    /// Bytes of those datagrams (foca's payload only, no UDP/IP headers).
    pub bytes: u64,
    /// Members that never joined (foca never reported them connected).
    pub never_joined: usize,
    /// Errors foca returned, by kind. foca is built to shrug these off; none is fatal.
    pub foca_errors: BTreeMap<&'static str, u64>,
    /// Events the loop handled.
    pub events: u64,
    /// A hash of everything that happened, in order: equal seeds must give equal hashes.
    pub trace: u64,
}

/// Runs foca through the accuracy workload and reports false deaths, detection time and
/// message rate, defined exactly as in [`AccuracyOutcome`].
pub fn accuracy(params: &AccuracyParams) -> anyhow::Result<AccuracyOutcome> {
    Ok(accuracy_details(params)?.outcome)
}

/// [`accuracy`], with what else the run saw.
pub fn accuracy_details(params: &AccuracyParams) -> anyhow::Result<Details> {
    accuracy_details_with(params, |config| config)
}

/// [`accuracy_details`] with foca's configuration changed from `Config::new_lan(members)`: for
/// experiments that take foca's behaviour apart, never for the comparison's figures.
pub fn accuracy_details_with(
    params: &AccuracyParams,
    adjust: impl FnOnce(Config) -> Config,
) -> anyhow::Result<Details> {
    ensure!(params.members >= 2, "the accuracy run needs at least two members");
    ensure!(
        u32::try_from(params.members).is_ok(),
        "at most {} members, not {}",
        u32::MAX,
        params.members
    );
    ensure!(
        params.kills < params.members,
        "{} kills leave no member alive among {} (member 0 is never killed)",
        params.kills,
        params.members
    );
    ensure!((0.0..1.0).contains(&params.loss), "loss must be in [0, 1), not {}", params.loss);
    let size = NonZeroU32::new(params.members as u32).expect("checked: at least two members");
    let mut run = Run::new(params, adjust(Config::new_lan(size)));
    run.drive();
    run.finish()
}

/// One member: its foca instance, and what the driver knows of it.
struct Slot {
    foca: Swimmer,
    /// False once it has crashed.
    running: bool,
    /// Whether foca has ever reported it connected (`Notification::Active`).
    joined: bool,
}

/// The whole run's state.
struct Run {
    slots: Vec<Slot>,
    queue: Queue,
    now: Instant,
    end: Instant,
    network: NetworkModel,
    rng: Rng,
    outbox: Outbox,
    /// Members the crash takes.
    kills: usize,
    /// For each member, its place in `dead_since` if it crashed.
    crash_slot: Vec<Option<usize>>,
    /// For each crashed member, for each observer: since when it has held the member dead
    /// without a break, if it holds it dead now. A `MemberUp` (the observer hearing of a newer
    /// identity of the member that was in flight at the crash) clears it.
    dead_since: Vec<Vec<Option<Instant>>>,
    crashed_at: Option<Instant>,
    false_deaths: u64,
    stale_deaths: u64,
    resurrections: u64,
    rejoins: u64,
    datagrams: u64,
    bytes: u64,
    /// Datagrams sent when the warm-up ended.
    datagrams_at_warmup: Option<u64>,
    codec_failures: u64,
    foca_errors: BTreeMap<&'static str, u64>,
    events: u64,
    trace: u64,
    progress: Progress,
}

impl Run {
    fn new(params: &AccuracyParams, config: Config) -> Run {
        let members = params.members;
        let mut rng = Rng::from_seed(params.seed);
        let mut network = NetworkModel::new(LATENCY, JITTER, params.loss);
        network.loss_model = LossModel::Drop;
        let slots = (0..members)
            .map(|index| {
                let foca_rng = ChaCha8Rng::seed_from_u64(rng.next_u64());
                let id = MemberId::first(index as u32);
                let foca = Foca::new(id, config.clone(), foca_rng, Wire);
                Slot { foca, running: true, joined: false }
            })
            .collect();
        let mut run = Run {
            slots,
            queue: Queue::default(),
            now: Instant::ZERO,
            end: Instant::ZERO + WARMUP + Duration::from_secs(params.virtual_s),
            network,
            rng,
            outbox: Outbox::default(),
            kills: params.kills,
            crash_slot: vec![None; members],
            dead_since: Vec::new(),
            crashed_at: None,
            false_deaths: 0,
            stale_deaths: 0,
            resurrections: 0,
            rejoins: 0,
            datagrams: 0,
            bytes: 0,
            datagrams_at_warmup: None,
            codec_failures: 0,
            foca_errors: BTreeMap::new(),
            events: 0,
            trace: 0,
            progress: Progress { started: std::time::Instant::now(), next_tenth: 1 },
        };
        for member in 1..members as NodeIndex {
            let at = Instant::ZERO + JOIN_SPREAD * member / members as u32;
            run.schedule(at, Action::Announce { member });
        }
        if params.kills > 0 {
            run.schedule(Instant::ZERO + WARMUP, Action::Crash);
        }
        run
    }

    fn schedule(&mut self, at: Instant, action: Action) {
        // What would happen after the run never happens: foca's day-long `RemoveDown` timers,
        // one per death notice, would otherwise pile up in the queue by the million.
        if at > self.end {
            return;
        }
        self.queue.push(at, action);
    }

    /// Folds one word into the trace hash.
    fn mix(&mut self, word: u64) {
        self.trace = (self.trace.rotate_left(5) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    /// Runs the loop until the end of the run.
    fn drive(&mut self) {
        while let Some((at, action)) = self.queue.pop() {
            self.now = at;
            if self.datagrams_at_warmup.is_none() && self.now >= Instant::ZERO + WARMUP {
                self.datagrams_at_warmup = Some(self.datagrams);
            }
            self.events += 1;
            self.report_progress();
            match action {
                Action::Deliver { to, data } => {
                    if !self.slots[to as usize].running {
                        continue;
                    }
                    self.mix(self.now.as_micros() ^ (u64::from(to) << 48) ^ data.len() as u64);
                    let slot = &mut self.slots[to as usize];
                    let result = slot.foca.handle_data(&data, &mut self.outbox);
                    self.settle(to, result);
                }
                Action::Fire { member, timer } => {
                    let slot = &mut self.slots[member as usize];
                    if !slot.running {
                        continue;
                    }
                    let result = slot.foca.handle_timer(timer, &mut self.outbox);
                    self.settle(member, result);
                }
                Action::Announce { member } => {
                    let slot = &mut self.slots[member as usize];
                    if !slot.running || slot.joined {
                        continue;
                    }
                    let result = slot.foca.announce(MemberId::first(0), &mut self.outbox);
                    self.settle(member, result);
                    self.schedule(self.now + ANNOUNCE_RETRY, Action::Announce { member });
                }
                Action::Crash => self.crash(),
            }
        }
        self.now = self.end;
    }

    /// Acts on what foca asked for during one call into it, by `member`.
    fn settle(&mut self, member: NodeIndex, result: Result<(), foca::Error>) {
        if let Err(error) = result {
            if matches!(error, foca::Error::Encode(_) | foca::Error::Decode(_)) {
                self.codec_failures += 1;
            }
            *self.foca_errors.entry(error_kind(&error)).or_default() += 1;
        }

        let mut datagrams = std::mem::take(&mut self.outbox.datagrams);
        for (to, data) in datagrams.drain(..) {
            self.datagrams += 1;
            self.bytes += data.len() as u64;
            let arrival = self.network.arrival(self.now, &mut self.rng, member, to.index);
            self.mix(arrival.map_or(u64::MAX, Instant::as_micros) ^ u64::from(to.index));
            if let Some(at) = arrival {
                self.schedule(at, Action::Deliver { to: to.index, data });
            }
        }
        self.outbox.datagrams = datagrams;

        let mut timers = std::mem::take(&mut self.outbox.timers);
        for (after, timer) in timers.drain(..) {
            self.schedule(self.now + after, Action::Fire { member, timer });
        }
        self.outbox.timers = timers;

        let mut notices = std::mem::take(&mut self.outbox.notices);
        for notice in notices.drain(..) {
            self.notice(member, notice);
        }
        self.outbox.notices = notices;
    }

    /// Records what a notification from `observer`'s foca says of the run.
    fn notice(&mut self, observer: NodeIndex, notice: OwnedNotification<MemberId>) {
        match notice {
            OwnedNotification::MemberDown(id) => {
                self.mix(0xd0d0 ^ (u64::from(observer) << 32) ^ u64::from(id.index));
                let subject = &self.slots[id.index as usize];
                if subject.running {
                    // A false death is one about the identity the member runs under now; the
                    // death of an identity it has already renewed away from is counted apart.
                    if *subject.foca.identity() == id {
                        self.false_deaths += 1;
                    } else {
                        self.stale_deaths += 1;
                    }
                } else if let Some(crashed) = self.crash_slot[id.index as usize] {
                    self.dead_since[crashed][observer as usize].get_or_insert(self.now);
                }
            }
            OwnedNotification::MemberUp(id) => {
                self.mix(0x0bb0 ^ (u64::from(observer) << 32) ^ u64::from(id.index));
                if let Some(crashed) = self.crash_slot[id.index as usize] {
                    self.dead_since[crashed][observer as usize] = None;
                    self.resurrections += 1;
                }
            }
            OwnedNotification::Active => self.slots[observer as usize].joined = true,
            OwnedNotification::Rejoin(id) => {
                self.mix(0x4e70 ^ (u64::from(id.generation) << 32) ^ u64::from(id.index));
                self.rejoins += 1;
            }
            OwnedNotification::Rename(..)
            | OwnedNotification::Idle
            | OwnedNotification::Defunct => {}
        }
    }

    /// The warm-up is over: `kills` members other than member 0 crash at once.
    fn crash(&mut self) {
        let mut candidates: Vec<NodeIndex> = (1..self.slots.len() as NodeIndex).collect();
        self.rng.shuffle(&mut candidates);
        let mut victims = candidates[..self.kills].to_vec();
        victims.sort_unstable();
        self.crashed_at = Some(self.now);
        for victim in victims {
            self.crash_slot[victim as usize] = Some(self.dead_since.len());
            self.dead_since.push(vec![None; self.slots.len()]);
            self.slots[victim as usize].running = false;
            self.network.reset_links(victim);
            self.mix(0xdead ^ u64::from(victim));
        }
        // An observer that already holds a victim dead (a false death it has not yet seen
        // refuted) holds it dead from the crash on: it will give no new notice.
        for (observer, slot) in self.slots.iter().enumerate().filter(|(_, slot)| slot.running) {
            for member in slot.foca.iter_membership_state() {
                if member.state() == State::Down
                    && let Some(crashed) = self.crash_slot[member.id().index as usize]
                {
                    self.dead_since[crashed][observer].get_or_insert(self.now);
                }
            }
        }
    }
}

/// A name for each kind of error foca returns.
fn error_kind(error: &foca::Error) -> &'static str {
    match error {
        foca::Error::DataTooBig => "data too big",
        foca::Error::NotUndead => "not undead",
        foca::Error::SameIdentity => "same identity",
        foca::Error::NotConnected => "not connected",
        foca::Error::IncompleteProbeCycle => "incomplete probe cycle",
        foca::Error::DataFromOurselves => "data from ourselves",
        foca::Error::IndirectForOurselves => "indirect for ourselves",
        foca::Error::MalformedPacket => "malformed packet",
        foca::Error::Encode(_) => "encode",
        foca::Error::Decode(_) => "decode",
        foca::Error::CustomBroadcast(_) => "custom broadcast",
        foca::Error::InvalidConfig => "invalid config",
    }
}
