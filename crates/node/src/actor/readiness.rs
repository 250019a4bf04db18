//! Readiness: when a node has caught up with its peers, and why it has not yet.
//!
//! A node is ready once it has a neighbour and [`QUIET_ROUNDS`] anti-entropy rounds in a row
//! repaired nothing while neighbours' anti-entropy frames kept arriving: the neighbours it
//! compared its records with held nothing it lacked, so broadcast alone keeps it current. The
//! frames are the proof that someone answered: a round sent to a neighbour restored from the
//! store that is down repairs nothing either. A node with no stored contacts (the grid's first) is ready
//! at once. Readiness is latched: a node that was ready stays ready, because a service manager
//! waits for it only at start.
//!
//! Repairs, not equal fingerprints, decide: under load two nodes' records differ by whatever is
//! in flight at every instant, so "held the same records" might never be seen, while what
//! broadcast is still carrying is not repaired (anti-entropy leaves fresh records alone).

/// Anti-entropy rounds in a row that must repair nothing.
pub(crate) const QUIET_ROUNDS: u64 = 2;

/// What the actor tracks to tell when the node caught up.
#[derive(Debug)]
pub(crate) struct Readiness {
    ready: bool,
    /// Stored contacts the node started with.
    contacts: usize,
    /// Rounds started, and records repaired, when they were last looked at.
    rounds_seen: u64,
    repaired_seen: u64,
    /// Rounds since the last one that repaired something.
    quiet_rounds: u64,
    /// Anti-entropy frames received when the quiet rounds began.
    heard_at_quiet_start: u64,
    /// Anti-entropy frames received so far.
    heard: u64,
    /// Records repaired since the node started.
    repaired: u64,
}

impl Readiness {
    /// A node that starts with `contacts` stored contacts.
    pub(crate) fn new(contacts: usize) -> Readiness {
        Readiness {
            ready: contacts == 0,
            contacts,
            rounds_seen: 0,
            repaired_seen: 0,
            quiet_rounds: 0,
            heard_at_quiet_start: 0,
            heard: 0,
            repaired: 0,
        }
    }

    /// Whether the node has caught up.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready
    }

    /// Looks at the node after a turn: its neighbours, the anti-entropy rounds it has started,
    /// the records anti-entropy repaired and the anti-entropy frames it received, all counted
    /// since it started. The repairs seen between two round starts belong to the earlier round.
    pub(crate) fn update(&mut self, neighbours: usize, rounds: u64, repaired: u64, heard: u64) {
        if self.ready {
            return;
        }
        // A round's repairs arrive before the next round starts (rounds are a second apart):
        // each start judges the rounds before it. The first start has no round before it.
        if rounds > self.rounds_seen {
            if self.rounds_seen > 0 && repaired == self.repaired_seen {
                self.quiet_rounds += rounds - self.rounds_seen;
            } else {
                self.quiet_rounds = 0;
                self.heard_at_quiet_start = heard;
            }
            self.rounds_seen = rounds;
            self.repaired_seen = repaired;
        }
        self.repaired = repaired;
        self.heard = heard;
        self.ready = neighbours > 0
            && self.quiet_rounds >= QUIET_ROUNDS
            && heard > self.heard_at_quiet_start;
    }

    /// Why the node is not ready, in one sentence an operator can act on; `None` when ready.
    pub(crate) fn reason(&self, neighbours: usize, dial_failures: u64) -> Option<String> {
        if self.ready {
            return None;
        }
        Some(if neighbours == 0 || self.heard == 0 {
            format!(
                "no neighbour yet: none of the {} stored contacts has answered ({dial_failures} \
                 connection attempts failed so far); check that they run and that this node can \
                 reach their addresses (herald status on them, firewalls)",
                self.contacts
            )
        } else {
            format!(
                "catching up: anti-entropy has repaired {} records so far; ready after {QUIET_ROUNDS} \
                 rounds in a row that repair nothing",
                self.repaired
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grids_first_node_is_ready_at_once() {
        assert!(Readiness::new(0).is_ready());
        assert_eq!(Readiness::new(0).reason(0, 0), None);
    }

    #[test]
    fn ready_after_quiet_rounds_with_a_neighbour() {
        let mut readiness = Readiness::new(3);
        readiness.update(1, 1, 0, 1);
        readiness.update(1, 1, 0, 2);
        assert!(!readiness.is_ready(), "the first round has not answered yet");
        readiness.update(1, 2, 40, 5);
        readiness.update(1, 3, 90, 9);
        assert!(!readiness.is_ready(), "rounds that repair are not quiet");
        assert!(readiness.reason(1, 0).unwrap().contains("repaired 90 records"));
        readiness.update(1, 4, 90, 9);
        assert!(!readiness.is_ready(), "one quiet round is not enough");
        readiness.update(1, 5, 90, 10);
        assert!(readiness.is_ready());
        readiness.update(0, 6, 95, 10);
        assert!(readiness.is_ready(), "readiness is latched");
    }

    #[test]
    fn quiet_rounds_to_a_neighbour_that_never_answers_do_not_make_a_node_ready() {
        let mut readiness = Readiness::new(1);
        for round in 1..10 {
            readiness.update(1, round, 0, 0);
        }
        assert!(!readiness.is_ready());
        assert!(readiness.reason(1, 3).unwrap().contains("none of the 1 stored contacts"));
    }

    #[test]
    fn a_node_without_neighbours_says_its_contacts_do_not_answer() {
        let mut readiness = Readiness::new(2);
        readiness.update(0, 0, 0, 0);
        assert!(!readiness.is_ready());
        let reason = readiness.reason(0, 7).unwrap();
        assert!(reason.contains("none of the 2 stored contacts"), "{reason}");
        assert!(reason.contains("7 connection attempts failed"), "{reason}");
    }
}
