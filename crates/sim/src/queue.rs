//! The simulator's event queue: events in time order, ties broken by the order they were
//! scheduled in, so that a seed always replays the same run.
//!
//! The heap orders small keys (time, sequence number, slot) and the events wait in a slab:
//! a pop moves 24-byte keys through the heap's levels instead of whole events.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use herald_core::Instant;

/// A time-ordered queue of `E`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> EventQueue<E> {
        EventQueue { heap: BinaryHeap::new(), slots: Vec::new(), free: Vec::new(), next_seq: 0 }
    }

    /// Schedules `event` at `at`, after every event already scheduled at the same time.
    pub fn push(&mut self, at: Instant, event: E) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 events pending")
            }
        };
        self.heap.push(Reverse((at, self.next_seq, slot)));
        self.next_seq += 1;
    }

    /// When the next event is due.
    pub fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Takes the next event, with its time and its sequence number.
    pub fn pop(&mut self) -> Option<(Instant, u64, E)> {
        let Reverse((at, seq, slot)) = self.heap.pop()?;
        self.free.push(slot);
        let event = self.slots[slot as usize].take().expect("a queued slot holds its event");
        Some((at, seq, event))
    }

    /// Whether every pending event satisfies `predicate`.
    pub fn all(&self, predicate: impl Fn(&E) -> bool) -> bool {
        self.slots.iter().flatten().all(predicate)
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> EventQueue<E> {
        EventQueue::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_time_order_and_ties_in_scheduling_order() {
        let mut queue = EventQueue::new();
        let at = |micros| Instant::from_micros(micros);
        queue.push(at(30), "c");
        queue.push(at(10), "a");
        queue.push(at(30), "d");
        queue.push(at(20), "b");
        assert_eq!(queue.next_at(), Some(at(10)));
        let mut order = Vec::new();
        while let Some((_, _, event)) = queue.pop() {
            order.push(event);
            if event == "a" {
                // A slot freed by a pop is reused, and the new event still keeps its place.
                queue.push(at(30), "e");
            }
        }
        assert_eq!(order, ["a", "b", "c", "d", "e"]);
        assert!(queue.all(|_| false), "an empty queue holds nothing to fail the predicate");
    }

    #[test]
    fn all_sees_only_pending_events() {
        let mut queue = EventQueue::new();
        queue.push(Instant::from_micros(1), 1);
        queue.push(Instant::from_micros(2), 2);
        assert!(!queue.all(|event| *event == 2));
        queue.pop();
        assert!(queue.all(|event| *event == 2));
    }
}
