//! SWIM with Lifeguard, driven by hand through the `Membership` state machine's public API.

use std::collections::BTreeSet;
use std::time::Duration;

use herald_core::membership::{Membership, MembershipMessage, MembershipOutput};
use herald_core::{Instant, LivenessClaim, MemberState, MembershipConfig, NodeId, Rng};

fn id(n: u8) -> NodeId {
    NodeId::from_bytes([n; 32])
}

fn ms(millis: u64) -> Instant {
    Instant::from_micros(millis * 1000)
}

fn secs(seconds: u64) -> Instant {
    Instant::from_micros(seconds * 1_000_000)
}

fn claim(subject: u8, incarnation: u64, state: MemberState) -> LivenessClaim {
    LivenessClaim { subject: id(subject), incarnation, state }
}

/// A node's view in which `members` announced themselves alive at incarnation 0.
struct View {
    membership: Membership,
    rng: Rng,
}

impl View {
    fn new(me: u8, members: impl IntoIterator<Item = u8>, config: MembershipConfig) -> View {
        let mut view = View {
            membership: Membership::new(id(me), 0, config, Instant::ZERO),
            rng: Rng::from_seed(u64::from(me)),
        };
        for member in members {
            view.claim(Instant::ZERO, member, claim(member, 0, MemberState::Alive));
        }
        view
    }

    fn claim(&mut self, now: Instant, claimant: u8, claim: LivenessClaim) -> Vec<MembershipOutput> {
        let mut out = Vec::new();
        self.membership.on_claim(now, id(claimant), claim, &mut self.rng, &mut out);
        out
    }

    fn tick(&mut self, now: Instant) -> Vec<MembershipOutput> {
        let mut out = Vec::new();
        self.membership.on_timeout(now, &mut self.rng, &mut out);
        out
    }

    fn handle(
        &mut self,
        now: Instant,
        from: NodeId,
        message: MembershipMessage,
    ) -> Vec<MembershipOutput> {
        let mut out = Vec::new();
        self.membership.handle(now, from, message, &mut out);
        out
    }

    fn ack(&mut self, now: Instant, from: NodeId, seq: u64) -> Vec<MembershipOutput> {
        self.handle(now, from, MembershipMessage::Ack { seq, relay_for: None })
    }

    /// Runs the first period (at 1 s) and answers its probe 10 ms later: (target, seq).
    fn answer_first_probe(&mut self) -> (NodeId, u64) {
        let (target, seq) = pings(&self.tick(secs(1)))[0];
        self.ack(ms(1010), target, seq);
        (target, seq)
    }

    fn state(&self, member: u8) -> Option<MemberState> {
        self.membership.members().get(&id(member)).map(|member| member.state)
    }
}

/// Direct pings sent, as (target, seq).
fn pings(out: &[MembershipOutput]) -> Vec<(NodeId, u64)> {
    out.iter()
        .filter_map(|output| match output {
            MembershipOutput::Send(to, MembershipMessage::Ping { seq, relay_for: None }) => {
                Some((*to, *seq))
            }
            _ => None,
        })
        .collect()
}

/// Indirect probe requests sent, as (helper, seq, target).
fn ping_reqs(out: &[MembershipOutput]) -> Vec<(NodeId, u64, NodeId)> {
    out.iter()
        .filter_map(|output| match output {
            MembershipOutput::Send(to, MembershipMessage::PingReq { seq, target }) => {
                Some((*to, *seq, *target))
            }
            _ => None,
        })
        .collect()
}

fn published(out: &[MembershipOutput]) -> Vec<LivenessClaim> {
    out.iter()
        .filter_map(|output| match output {
            MembershipOutput::Publish(claim) => Some(*claim),
            _ => None,
        })
        .collect()
}

fn changes(out: &[MembershipOutput]) -> Vec<(NodeId, MemberState)> {
    out.iter()
        .filter_map(|output| match output {
            MembershipOutput::Changed { id, state, .. } => Some((*id, *state)),
            _ => None,
        })
        .collect()
}

/// A configuration whose suspicion timeouts (1 s at minimum, 6 s at maximum for fewer than 10
/// members) all end before the first probe period (8 s), so `poll_timeout` shows them.
fn slow_probes() -> MembershipConfig {
    MembershipConfig {
        probe_interval: Duration::from_secs(8),
        suspicion_alpha: 0.125,
        ..MembershipConfig::default()
    }
}

fn assert_close(actual: Instant, expected: Instant) {
    let gap = actual.as_micros().abs_diff(expected.as_micros());
    assert!(gap <= 1, "{actual:?} is not {expected:?}");
}

#[test]
fn probes_go_round_robin_over_every_live_member_once_per_pass() {
    let mut view = View::new(1, 2..=6, MembershipConfig::default());
    view.claim(Instant::ZERO, 2, claim(7, 0, MemberState::Dead));
    let live: BTreeSet<NodeId> = (2..=6).map(id).collect();

    let mut targets = Vec::new();
    for second in 1..=15 {
        let out = view.tick(secs(second));
        let sent = pings(&out);
        assert_eq!(sent.len(), 1, "one probe per period: {out:?}");
        let (target, seq) = sent[0];
        targets.push(target);
        view.ack(secs(second) + Duration::from_millis(10), target, seq);
    }
    for pass in targets.chunks(5) {
        assert_eq!(pass.iter().copied().collect::<BTreeSet<_>>(), live, "{targets:?}");
    }
    assert!(view.membership.members().values().all(|m| m.state != MemberState::Suspect));
}

#[test]
fn an_ack_within_the_timeout_keeps_the_member_alive_and_records_a_round_trip() {
    let mut view = View::new(1, [2], MembershipConfig::default());
    let out = view.tick(secs(1));
    assert_eq!(pings(&out).len(), 1);
    let (target, seq) = pings(&out)[0];
    assert_eq!(target, id(2));
    assert!(view.membership.members()[&id(2)].last_heard.is_none());

    assert_eq!(
        view.ack(ms(1030), id(2), seq),
        vec![MembershipOutput::Answered { member: id(2), rtt: Duration::from_millis(30) }],
        "the round trip is reported, nothing is sent"
    );
    let member = &view.membership.members()[&id(2)];
    assert_eq!(member.last_heard, Some(ms(1030)));
    assert_eq!(member.rtt(), Some(Duration::from_millis(30)));

    // No indirect probes at the direct deadline, and no suspicion when the period ends.
    assert!(ping_reqs(&view.tick(ms(1500))).is_empty());
    let out = view.tick(secs(2));
    assert!(published(&out).is_empty() && changes(&out).is_empty(), "{out:?}");
    assert_eq!(view.state(2), Some(MemberState::Alive));
    assert_eq!(view.membership.health(), 0);
}

#[test]
fn a_late_or_unknown_ack_does_not_count() {
    let mut view = View::new(1, [2], MembershipConfig::default());
    let (_, seq) = pings(&view.tick(secs(1)))[0];
    view.ack(ms(1010), id(2), seq + 100);
    assert!(view.membership.members()[&id(2)].last_heard.is_none());
    let out = view.tick(secs(2));
    assert_eq!(changes(&out), vec![(id(2), MemberState::Suspect)]);
    // The ack of the finished probe, arriving now, changes nothing either.
    view.ack(ms(2010), id(2), seq);
    assert_eq!(view.membership.members()[&id(2)].rtt(), None);
}

#[test]
fn an_ack_from_a_node_that_was_not_asked_does_not_count() {
    let mut view = View::new(1, [2, 3], MembershipConfig::default());
    let (target, seq) = pings(&view.tick(secs(1)))[0];
    let stranger = if target == id(2) { id(3) } else { id(2) };
    view.ack(ms(1010), stranger, seq);
    let out = view.tick(secs(2));
    assert_eq!(
        changes(&out),
        vec![(target, MemberState::Suspect)],
        "a forged ack keeps nobody alive"
    );
}

#[test]
fn the_adaptive_probe_timeout_is_the_mean_plus_two_deviations_of_round_trips() {
    let config = MembershipConfig::default();
    let mut view = View::new(1, [2], config.clone());
    assert_eq!(view.membership.probe_timeout(id(2)), config.probe_timeout_initial);

    let (_, seq) = pings(&view.tick(secs(1)))[0];
    view.ack(ms(1200), id(2), seq);
    assert_eq!(
        view.membership.probe_timeout(id(2)),
        config.probe_timeout_initial,
        "one sample is not enough"
    );
    let (_, seq) = pings(&view.tick(secs(2)))[0];
    view.ack(ms(2400), id(2), seq);

    // Samples 200 ms and 400 ms: mean 300 ms, sample deviation 141.42 ms.
    let timeout = view.membership.probe_timeout(id(2));
    assert_eq!(timeout.as_micros(), 582_842, "{timeout:?}");
    // The direct probe gets at most half the 1 s period, so the indirect probes have time.
    view.tick(secs(3));
    assert_close(view.membership.poll_timeout(), secs(3) + ms(500).saturating_since(Instant::ZERO));
}

#[test]
fn the_adaptive_probe_timeout_is_used_whole_when_it_fits_half_the_period() {
    let config =
        MembershipConfig { probe_interval: Duration::from_secs(2), ..MembershipConfig::default() };
    let mut view = View::new(1, [2], config);
    let (_, seq) = pings(&view.tick(secs(2)))[0];
    view.ack(ms(2200), id(2), seq);
    let (_, seq) = pings(&view.tick(secs(4)))[0];
    view.ack(ms(4400), id(2), seq);
    let timeout = view.membership.probe_timeout(id(2));
    assert_eq!(timeout.as_micros(), 582_842, "{timeout:?}");
    view.tick(secs(6));
    assert_close(view.membership.poll_timeout(), secs(6) + timeout);
}

#[test]
fn the_adaptive_probe_timeout_never_drops_below_the_floor() {
    let config = MembershipConfig::default();
    let mut view = View::new(1, [2], config.clone());
    let (_, seq) = pings(&view.tick(secs(1)))[0];
    view.ack(ms(1010), id(2), seq);
    let (_, seq) = pings(&view.tick(secs(2)))[0];
    view.ack(ms(2012), id(2), seq);
    assert_eq!(view.membership.probe_timeout(id(2)), config.probe_timeout_floor);
    view.tick(secs(3));
    assert_eq!(view.membership.poll_timeout(), secs(3) + config.probe_timeout_floor);
}

#[test]
fn a_missed_direct_probe_asks_indirect_probes_of_other_members() {
    let config = MembershipConfig::default();
    let mut view = View::new(1, 2..=7, config.clone());
    let (target, seq) = pings(&view.tick(secs(1)))[0];
    let deadline = secs(1) + config.probe_timeout_initial;
    assert_eq!(view.membership.poll_timeout(), deadline);
    assert!(ping_reqs(&view.tick(deadline - Duration::from_millis(1))).is_empty());

    let out = view.tick(deadline);
    let requests = ping_reqs(&out);
    assert_eq!(requests.len(), config.indirect_probes, "{out:?}");
    let helpers: BTreeSet<NodeId> = requests.iter().map(|(helper, _, _)| *helper).collect();
    assert_eq!(helpers.len(), config.indirect_probes, "distinct helpers");
    assert!(!helpers.contains(&target) && !helpers.contains(&id(1)));
    assert!(requests.iter().all(|(_, s, t)| (*s, *t) == (seq, target)));
    assert_eq!(view.membership.poll_timeout(), secs(2), "the rest of the period is theirs");
}

#[test]
fn a_probe_nobody_answers_makes_the_target_suspect_and_publishes_the_claim() {
    let mut view = View::new(1, 2..=4, MembershipConfig::default());
    let (target, _) = pings(&view.tick(secs(1)))[0];
    view.tick(ms(1500));
    let out = view.tick(secs(2));
    let suspicion = LivenessClaim { subject: target, incarnation: 0, state: MemberState::Suspect };
    assert_eq!(changes(&out), vec![(target, MemberState::Suspect)]);
    assert_eq!(published(&out), vec![suspicion]);
    assert_eq!(view.membership.members()[&target].state, MemberState::Suspect);
    assert_eq!(view.membership.health(), 1, "a failed probe lowers local health");
    assert_eq!(pings(&out).len(), 1, "the next period's probe goes out");
}

#[test]
fn a_suspicion_times_out_into_dead_and_the_suspecting_node_publishes_it() {
    let mut view = View::new(1, 2..=4, MembershipConfig::default());
    let mut dead_target = None;
    let mut dead_at = None;
    for step in 1..=2400 {
        let now = ms(step * 50);
        let out = view.tick(now);
        for (to, seq) in pings(&out) {
            // The first member probed never answers; the others always do.
            let silent = *dead_target.get_or_insert(to);
            if to != silent {
                view.ack(now, to, seq);
            }
        }
        if let Some(silent) = dead_target
            && changes(&out).contains(&(silent, MemberState::Dead))
        {
            let burial =
                LivenessClaim { subject: silent, incarnation: 0, state: MemberState::Dead };
            assert_eq!(published(&out), vec![burial]);
            dead_at = Some(now);
            break;
        }
    }
    let silent = dead_target.unwrap();
    assert!(dead_at.is_some(), "the suspicion never ended");
    assert_eq!(view.membership.members()[&silent].state, MemberState::Dead);
    assert!(
        view.membership.members().values().filter(|m| m.state == MemberState::Dead).count() == 1
    );
    assert_eq!(view.membership.live_count(), 3);
}

#[test]
fn a_suspicion_heard_from_others_times_out_into_dead_without_a_publish() {
    let mut view = View::new(1, 2..=6, slow_probes());
    let out = view.claim(Instant::ZERO, 3, claim(2, 0, MemberState::Suspect));
    assert_eq!(changes(&out), vec![(id(2), MemberState::Suspect)]);
    assert!(published(&out).is_empty());
    assert_eq!(view.membership.poll_timeout(), secs(6), "β · min with no confirmation");

    let out = view.tick(secs(6) - Duration::from_micros(1));
    assert!(changes(&out).is_empty());
    let out = view.tick(secs(6));
    assert_eq!(changes(&out), vec![(id(2), MemberState::Dead)]);
    assert!(published(&out).is_empty(), "only a node that suspected publishes the death");
}

#[test]
fn independent_confirmations_shorten_the_suspicion_timeout_down_to_its_minimum() {
    let mut view = View::new(1, 2..=6, slow_probes());
    view.claim(Instant::ZERO, 3, claim(2, 0, MemberState::Suspect));
    let mut deadlines = vec![view.membership.poll_timeout()];
    for claimant in [3, 4, 5, 6, 7] {
        view.claim(ms(10), claimant, claim(2, 0, MemberState::Suspect));
        deadlines.push(view.membership.poll_timeout());
    }
    // Claimant 3 again is no confirmation; 4, 5 and 6 are; 7 is one more than needed.
    assert_eq!(deadlines[0], secs(6));
    assert_eq!(deadlines[1], secs(6), "the same claimant twice is one suspicion");
    assert_close(deadlines[2], ms(3500));
    assert!(deadlines[3] < deadlines[2]);
    assert_close(deadlines[4], secs(1));
    assert_close(deadlines[5], secs(1));

    let out = view.tick(deadlines[4]);
    assert_eq!(changes(&out), vec![(id(2), MemberState::Dead)]);
}

#[test]
fn a_node_refutes_a_suspicion_of_itself_with_a_higher_incarnation() {
    let mut view = View::new(1, 2..=3, MembershipConfig::default());
    let out = view.claim(ms(10), 2, claim(1, 0, MemberState::Suspect));
    assert_eq!(published(&out), vec![claim(1, 1, MemberState::Alive)]);
    assert_eq!(view.membership.incarnation(), 1);
    assert_eq!(view.membership.alive_claim(), claim(1, 1, MemberState::Alive));
    assert_eq!(view.membership.health(), 1, "being suspected lowers local health");

    let out = view.claim(ms(20), 3, claim(1, 1, MemberState::Dead));
    assert_eq!(published(&out), vec![claim(1, 2, MemberState::Alive)]);
    assert_eq!(view.membership.health(), 2);

    let out = view.claim(ms(30), 3, claim(1, 0, MemberState::Suspect));
    assert!(out.is_empty(), "an old suspicion is already refuted: {out:?}");
    assert_eq!(view.membership.incarnation(), 2);
}

#[test]
fn claims_the_claimant_may_not_make_are_ignored() {
    let mut view = View::new(1, [2], MembershipConfig::default());
    assert!(view.claim(ms(1), 3, claim(4, 0, MemberState::Alive)).is_empty());
    assert!(view.claim(ms(1), 3, claim(4, 0, MemberState::Left)).is_empty());
    assert!(!view.membership.members().contains_key(&id(4)), "nobody vouches for another");

    assert!(view.claim(ms(1), 2, claim(2, 0, MemberState::Suspect)).is_empty());
    assert!(view.claim(ms(1), 2, claim(2, 5, MemberState::Dead)).is_empty());
    assert_eq!(view.state(2), Some(MemberState::Alive), "nobody accuses itself");

    assert!(view.claim(ms(1), 1, claim(1, 0, MemberState::Suspect)).is_empty());
    assert_eq!(view.membership.incarnation(), 0);
}

#[test]
fn a_higher_incarnation_alive_clears_a_suspicion_and_an_equal_one_does_not() {
    let mut view = View::new(1, 2..=3, slow_probes());
    view.claim(Instant::ZERO, 3, claim(2, 0, MemberState::Suspect));
    assert_eq!(view.membership.poll_timeout(), secs(6));

    assert!(view.claim(ms(100), 2, claim(2, 0, MemberState::Alive)).is_empty());
    assert_eq!(view.state(2), Some(MemberState::Suspect));

    let out = view.claim(ms(200), 2, claim(2, 1, MemberState::Alive));
    assert_eq!(changes(&out), vec![(id(2), MemberState::Alive)]);
    assert_eq!(view.membership.members()[&id(2)].incarnation, 1);
    assert_eq!(view.membership.poll_timeout(), secs(8), "no suspicion timer is left");
    assert!(changes(&view.tick(secs(7))).is_empty());
    assert_eq!(view.state(2), Some(MemberState::Alive));
}

#[test]
fn a_member_that_left_is_neither_probed_nor_revived_by_claims_of_its_old_incarnation() {
    let mut view = View::new(1, 2..=3, MembershipConfig::default());
    let out = view.claim(ms(10), 2, claim(2, 0, MemberState::Left));
    assert_eq!(changes(&out), vec![(id(2), MemberState::Left)]);
    assert_eq!(view.membership.live_count(), 2);

    assert!(view.claim(ms(20), 3, claim(2, 0, MemberState::Suspect)).is_empty());
    assert!(view.claim(ms(20), 3, claim(2, 0, MemberState::Dead)).is_empty());
    assert!(view.claim(ms(20), 2, claim(2, 0, MemberState::Alive)).is_empty());
    assert_eq!(view.state(2), Some(MemberState::Left));

    for second in 1..=6 {
        let out = view.tick(secs(second));
        for (target, seq) in pings(&out) {
            assert_eq!(target, id(3), "a member that left is not probed");
            view.ack(secs(second), target, seq);
        }
        assert!(ping_reqs(&out).iter().all(|(helper, _, _)| *helper != id(2)));
    }

    // Coming back takes a new incarnation.
    let out = view.claim(secs(7), 2, claim(2, 1, MemberState::Alive));
    assert_eq!(changes(&out), vec![(id(2), MemberState::Alive)]);
}

#[test]
fn a_node_that_leaves_stops_probing_and_answering() {
    let mut view = View::new(1, 2..=3, MembershipConfig::default());
    assert_eq!(view.membership.leave(), claim(1, 0, MemberState::Left));
    assert!(view.tick(secs(1)).is_empty());
    assert!(view.tick(secs(2)).is_empty());
    let out = view.handle(secs(2), id(2), MembershipMessage::Ping { seq: 4, relay_for: None });
    assert!(out.is_empty());
    // Nor does it refute suspicions any more.
    assert!(view.claim(secs(3), 2, claim(1, 0, MemberState::Suspect)).is_empty());
}

#[test]
fn a_ping_is_answered_with_an_ack_of_the_same_seq() {
    let mut view = View::new(1, [], MembershipConfig::default());
    let relay = Some((id(5), 77));
    let out = view.handle(ms(1), id(2), MembershipMessage::Ping { seq: 9, relay_for: relay });
    assert_eq!(
        out,
        vec![MembershipOutput::Send(id(2), MembershipMessage::Ack { seq: 9, relay_for: relay })]
    );
}

#[test]
fn dead_and_left_members_are_purged_after_purge_after() {
    let config = MembershipConfig::default();
    let mut view = View::new(1, [], config.clone());
    view.claim(Instant::ZERO, 3, claim(2, 0, MemberState::Dead));
    view.claim(secs(100), 4, claim(4, 0, MemberState::Left));
    assert_eq!(view.state(2), Some(MemberState::Dead));

    let out = view.tick(Instant::ZERO + config.purge_after - Duration::from_micros(1));
    assert!(!out.iter().any(|o| matches!(o, MembershipOutput::Purged(_))), "{out:?}");
    let out = view.tick(Instant::ZERO + config.purge_after);
    assert_eq!(out, vec![MembershipOutput::Purged(id(2))]);
    assert!(!view.membership.members().contains_key(&id(2)));
    assert_eq!(view.state(4), Some(MemberState::Left));

    let out = view.tick(secs(100) + config.purge_after);
    assert_eq!(out, vec![MembershipOutput::Purged(id(4))]);
    assert!(view.membership.members().is_empty());
}

/// A peer slower to purge may hand back a claim about a member this node purged: for one more
/// `purge_after` such claims are refused, unless the member came back at a higher incarnation.
#[test]
fn a_purged_member_is_forgotten_for_one_more_purge_after() {
    let config = MembershipConfig::default();
    let mut view = View::new(1, [], config.clone());
    view.claim(Instant::ZERO, 3, claim(2, 4, MemberState::Dead));
    let purged_at = Instant::ZERO + config.purge_after;
    assert!(!view.membership.forgets(purged_at, &id(2), 4), "not purged yet");
    assert_eq!(view.tick(purged_at), vec![MembershipOutput::Purged(id(2))]);

    let later = purged_at + config.purge_after - Duration::from_micros(1);
    for incarnation in [0, 4] {
        assert!(view.membership.forgets(later, &id(2), incarnation), "{incarnation}");
    }
    assert!(!view.membership.forgets(later, &id(2), 5), "the member itself, back");
    assert!(!view.membership.forgets(later, &id(3), 0), "never purged");
    assert!(!view.membership.forgets(purged_at + config.purge_after, &id(2), 4), "long gone");
}

#[test]
fn a_relayed_indirect_probe_reaches_the_requester() {
    let config = MembershipConfig::default();
    let mut requester = View::new(1, 2..=3, config.clone());
    let mut helpers = [View::new(2, [1, 3], config.clone()), View::new(3, [1, 2], config.clone())];

    let (target, seq) = pings(&requester.tick(secs(1)))[0];
    // The direct ping is lost. At the direct deadline the other member is asked to help.
    let deadline = secs(1) + config.probe_timeout_initial;
    let requests = ping_reqs(&requester.tick(deadline));
    assert_eq!(requests.len(), 1);
    let (helper_id, request_seq, request_target) = requests[0];
    assert_eq!((request_seq, request_target), (seq, target));
    let helper = helpers.iter_mut().find(|h| id_of(h) == helper_id).unwrap();

    let relay_ping = helper.handle(deadline, id(1), MembershipMessage::PingReq { seq, target });
    let [MembershipOutput::Send(to, ping @ MembershipMessage::Ping { relay_for, .. })] =
        relay_ping.as_slice()
    else {
        panic!("the helper must ping the target: {relay_ping:?}");
    };
    assert_eq!((*to, *relay_for), (target, Some((id(1), seq))));

    let subject = helpers.iter_mut().find(|h| id_of(h) == target).unwrap();
    let ack = subject.handle(deadline, helper_id, ping.clone());
    let [MembershipOutput::Send(back, ack)] = ack.as_slice() else { panic!("{ack:?}") };
    assert_eq!(*back, helper_id);

    let helper = helpers.iter_mut().find(|h| id_of(h) == helper_id).unwrap();
    let relayed = helper.handle(deadline, target, ack.clone());
    assert_eq!(
        relayed,
        vec![MembershipOutput::Send(id(1), MembershipMessage::Ack { seq, relay_for: None })]
    );

    let when = deadline + Duration::from_millis(20);
    assert!(
        requester
            .handle(when, helper_id, MembershipMessage::Ack { seq, relay_for: None })
            .is_empty()
    );
    let out = requester.tick(secs(2));
    assert!(changes(&out).is_empty() && published(&out).is_empty(), "{out:?}");
    let member = &requester.membership.members()[&target];
    assert_eq!(member.state, MemberState::Alive);
    assert_eq!(member.last_heard, Some(when));
    assert_eq!(member.rtt(), None, "an indirect answer measures no round trip");
}

fn id_of(view: &View) -> NodeId {
    view.membership.alive_claim().subject
}

#[test]
fn local_health_stretches_the_probe_timeout_after_failed_probes_and_heals_after_answers() {
    let config =
        MembershipConfig { probe_interval: Duration::from_secs(10), ..MembershipConfig::default() };
    let initial = config.probe_timeout_initial;
    let mut view = View::new(1, 2..=5, config);

    pings(&view.tick(secs(10)));
    assert_eq!(view.membership.poll_timeout(), secs(10) + initial);
    view.tick(secs(10) + initial);
    let out = view.tick(secs(20));
    assert_eq!(view.membership.health(), 1);
    assert_eq!(view.membership.poll_timeout(), secs(20) + initial * 2, "{out:?}");

    let (target, seq) = pings(&out)[0];
    view.ack(secs(20) + Duration::from_millis(200), target, seq);
    assert_eq!(view.membership.health(), 0, "an answered probe restores health");
    // The period after the failed probe was stretched too: 10 s × (1 + 1).
    assert_eq!(view.membership.poll_timeout(), secs(40));
    view.tick(secs(40));
    assert_eq!(view.membership.poll_timeout(), secs(40) + initial);
}

/// Regression: Lifeguard stretched the probe *timeout* by `1 + health` but not the probe
/// *period*, so with the defaults a single failed probe put the direct deadline on the period's
/// end and the indirect probes never had time: an unhealthy node accused members on a direct
/// probe alone, the opposite of what local health is for.
#[test]
fn a_node_with_lowered_local_health_still_gives_indirect_probes_time_to_answer() {
    let mut view = View::new(1, 2..=5, MembershipConfig::default());
    // Being suspected once lowers local health to 1, as one failed probe would.
    view.claim(Instant::ZERO, 2, claim(1, 0, MemberState::Suspect));
    assert_eq!(view.membership.health(), 1);

    let (target, _) = pings(&view.tick(secs(1)))[0];
    let mut asked_at = None;
    let mut suspected_at = None;
    let mut now = secs(1);
    while suspected_at.is_none() && now < secs(10) {
        now = view.membership.poll_timeout();
        let out = view.tick(now);
        if asked_at.is_none() && ping_reqs(&out).iter().any(|(_, _, t)| *t == target) {
            asked_at = Some(now);
        }
        if changes(&out).contains(&(target, MemberState::Suspect)) {
            suspected_at = Some(now);
        }
    }
    let asked_at = asked_at.expect("no indirect probe was ever sent");
    let suspected_at = suspected_at.expect("the silent member was never suspected");
    assert!(
        asked_at < suspected_at,
        "indirect probes went out at {asked_at:?}, the verdict came at {suspected_at:?}"
    );
}

#[test]
fn a_suspicion_heard_from_another_member_is_probed_next_in_a_small_grid() {
    // Six live members and three confirmations wanted: 2 · 3 / 6 = 1, so every member that
    // hears the suspicion probes the suspect at its next period.
    for subject in 2..=6u8 {
        let mut view = View::new(1, 2..=6, MembershipConfig::default());
        view.answer_first_probe();
        let claimant = if subject == 2 { 3 } else { 2 };
        view.claim(ms(1500), claimant, claim(subject, 0, MemberState::Suspect));
        let sent = pings(&view.tick(secs(2)));
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, id(subject), "subject {subject} is probed next");
    }
}

#[test]
fn a_failed_probe_is_not_published_once_the_suspicion_has_its_confirmations() {
    let config = MembershipConfig { confirmations: 2, ..MembershipConfig::default() };
    let with_claimants = |claimants: &[u8]| {
        let mut view = View::new(1, 2..=8, config.clone());
        for claimant in claimants {
            view.claim(ms(500), *claimant, claim(5, 0, MemberState::Suspect));
        }
        // Probe until the round-robin reaches the suspect, answering everyone else.
        for second in 1..=8 {
            let out = view.tick(secs(second));
            let published_now = published(&out);
            let (target, seq) = pings(&out)[0];
            if target == id(5) {
                let out = view.tick(secs(second + 1));
                return published(&out);
            }
            assert!(published_now.is_empty(), "{published_now:?}");
            view.ack(secs(second) + Duration::from_millis(10), target, seq);
        }
        panic!("the suspect was never probed");
    };
    let confirmation = claim(5, 0, MemberState::Suspect);
    assert_eq!(with_claimants(&[2, 3]), vec![confirmation], "one confirmation so far: it counts");
    assert!(with_claimants(&[2, 3, 4]).is_empty(), "two confirmations already: no more");
}

#[test]
fn a_member_the_transport_could_not_reach_is_probed_next_but_not_suspected() {
    for unreachable in 2..=8u8 {
        let mut view = View::new(1, 2..=8, MembershipConfig::default());
        let (target, seq) = view.answer_first_probe();
        if target == id(unreachable) {
            continue; // Just answered; the next test covers it.
        }
        view.membership.peer_unreachable(id(unreachable));
        assert_eq!(view.state(unreachable), Some(MemberState::Alive), "a hint is not a suspicion");
        let sent = pings(&view.tick(secs(2)));
        assert_eq!(sent, vec![(id(unreachable), seq + 1)], "member {unreachable} is probed next");
    }
}

#[test]
fn an_unreachable_member_under_probe_or_already_suspected_keeps_its_place() {
    // No prompted confirmations, so only the hint could move the suspect.
    let config = MembershipConfig { confirmations: 0, ..MembershipConfig::default() };
    let next_after = |hint: &dyn Fn(NodeId) -> Option<NodeId>| {
        let mut view = View::new(1, 2..=8, config.clone());
        let (target, seq) = pings(&view.tick(secs(1)))[0];
        view.claim(ms(500), 2, claim(5, 0, MemberState::Suspect));
        if let Some(unreachable) = hint(target) {
            view.membership.peer_unreachable(unreachable);
        }
        view.ack(ms(1010), target, seq);
        (target, pings(&view.tick(secs(2)))[0].0)
    };
    let (first, unhinted) = next_after(&|_| None);
    assert_ne!(unhinted, id(5), "this seed does not reach the suspect next on its own");
    assert_eq!(next_after(&Some), (first, unhinted), "the member under probe keeps its place");
    assert_eq!(next_after(&|_| Some(id(5))), (first, unhinted), "the suspect keeps its place");
}

#[test]
fn a_failed_probe_of_a_member_the_transport_could_not_reach_leaves_local_health_alone() {
    // Without the hint the same failure raises health to 1 (the local health test above).
    let mut view = View::new(1, 2..=8, MembershipConfig::default());
    let (target, _) = view.answer_first_probe();
    let unreachable = if target == id(2) { 3 } else { 2 };
    view.membership.peer_unreachable(id(unreachable));
    assert_eq!(pings(&view.tick(secs(2)))[0].0, id(unreachable));
    view.tick(secs(2) + Duration::from_millis(500));
    let out = view.tick(secs(3));
    assert_eq!(published(&out), vec![claim(unreachable, 0, MemberState::Suspect)]);
    assert_eq!(view.membership.health(), 0, "the failure was expected");

    // The next probe, which is no hint's, counts again.
    let (target, _) = pings(&out)[0];
    assert_ne!(target, id(unreachable));
    view.tick(secs(3) + Duration::from_millis(500));
    view.tick(secs(4));
    assert_eq!(view.membership.health(), 1);
}
