//! The accuracy run's event plumbing: the queue of actions in virtual time, and the runtime
//! foca fills with what it wants done, which the loop drains after every call into foca.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use foca::{Notification, OwnedNotification, Runtime, Timer};
use herald_core::Instant;
use herald_sim::NodeIndex;

use crate::MemberId;

/// Something the loop does at a point of virtual time.
pub(crate) enum Action {
    /// A datagram reaches a member.
    Deliver { to: NodeIndex, data: Vec<u8> },
    /// A timer a member asked for fires.
    Fire { member: NodeIndex, timer: Timer<MemberId> },
    /// A member that has not joined yet announces itself to member 0, and looks again later.
    Announce { member: NodeIndex },
    /// The warm-up ends: the victims crash.
    Crash,
}

/// The actions to come, in order of time and then of scheduling, so that ties always resolve
/// the same way. The heap holds small keys; the actions wait in a slab beside it.
#[derive(Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    actions: Vec<Option<Action>>,
    free: Vec<u32>,
    seq: u64,
}

impl Queue {
    pub(crate) fn push(&mut self, at: Instant, action: Action) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.actions[slot as usize] = Some(action);
                slot
            }
            None => {
                self.actions.push(Some(action));
                (self.actions.len() - 1) as u32
            }
        };
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, slot)));
    }

    pub(crate) fn pop(&mut self) -> Option<(Instant, Action)> {
        let Reverse((at, _, slot)) = self.heap.pop()?;
        let action = self.actions[slot as usize].take().expect("a queued slot holds its action");
        self.free.push(slot);
        Some((at, action))
    }
}

/// Where foca puts what it wants done; drained after every call into foca.
#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) datagrams: Vec<(MemberId, Vec<u8>)>,
    pub(crate) timers: Vec<(Duration, Timer<MemberId>)>,
    pub(crate) notices: Vec<OwnedNotification<MemberId>>,
}

impl Runtime<MemberId> for Outbox {
    fn notify(&mut self, notification: Notification<'_, MemberId>) {
        self.notices.push(notification.to_owned());
    }

    fn send_to(&mut self, to: MemberId, data: &[u8]) {
        self.datagrams.push((to, data.to_vec()));
    }

    fn submit_after(&mut self, event: Timer<MemberId>, after: Duration) {
        self.timers.push((after, event));
    }
}
