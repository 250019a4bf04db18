//! Plumtree's eager/lazy link split, kept per origin.
//!
//! One shared tree serves every origin in the Plumtree paper. With many origins it is deep for
//! most of them: each origin's duplicates prune links that other origins' shortest paths need.
//! So each origin gets its own split, made on its first record as a copy of a *shared* split.
//! A new origin's first record therefore costs what the shared tree costs. Later records follow
//! a tree shaped by that origin's own duplicates, grafts and shortcuts alone, close to its
//! shortest-path tree.
//!
//! The shared split is the tree of one origin, the *root*, plus extra links:
//! - A graft of a missing record ([`Change::Repair`]) makes its link eager in the shared split,
//!   whatever the origin: a link one tree lacked is likely lacked by the others copied from the
//!   same split. A new neighbour's link starts eager everywhere.
//! - A prune reaches the shared split for the root's records, and for any origin's records if
//!   the link is not in the root's tree: any origin may prune an extra link, only the root its
//!   own tree's links. When every origin's prunes reached the shared split, prunes for records
//!   in flight at once cut one cycle of it in two places, it fell apart, and grafts mended it,
//!   over and over (RMR 0.6 with announcements from random origins 100 ms apart at 10,000
//!   nodes). Since extra links are only ever pruned down to the root's tree, which spans the
//!   grid, no set of prunes can tear it.
//! - A shortcut ([`Change::Shape`]) reaches the shared split only for the root's records.
//! - The root is the origin with the smallest id among those held, so that nodes agree on it
//!   without a word; a dead origin is forgotten ([`Trees::forget`]), and the next smallest takes
//!   over.
//!
//! Per-origin state is bounded by `trees_max`; the least recently used origin's split is
//! dropped and, if that origin sends again, copied afresh from the shared one.

use std::collections::{BTreeMap, BTreeSet};

use crate::id::NodeId;

/// One eager/lazy split of the neighbours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Links a new record is pushed on.
    pub eager: BTreeSet<NodeId>,
    /// Links a new record is only announced on.
    pub lazy: BTreeSet<NodeId>,
}

impl Split {
    fn make_eager(&mut self, peer: NodeId) {
        if self.lazy.remove(&peer) {
            self.eager.insert(peer);
        }
    }

    fn make_lazy(&mut self, peer: NodeId) -> bool {
        let was_eager = self.eager.remove(&peer);
        if was_eager {
            self.lazy.insert(peer);
        }
        was_eager
    }
}

/// Why a link turns eager, which decides whether the shared split follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A graft of a missing record: the shared split follows for every origin.
    Repair,
    /// A shortcut onto a path fewer hops from the origin, or a duplicate that came by fewer
    /// hops: the shared split follows only for the root.
    Shape,
}

/// The shared split and the per-origin ones.
#[derive(Clone, Debug)]
pub struct Trees {
    shared: Split,
    origins: BTreeMap<NodeId, (Split, u64)>,
    trees_max: usize,
    clock: u64,
}

impl Trees {
    /// No neighbours, room for `trees_max` per-origin splits.
    pub fn new(trees_max: usize) -> Trees {
        Trees { shared: Split::default(), origins: BTreeMap::new(), trees_max, clock: 0 }
    }

    /// The shared split (what a new origin starts from).
    pub fn shared(&self) -> &Split {
        &self.shared
    }

    /// Per-origin splits held.
    #[cfg(test)]
    pub fn origin_count(&self) -> usize {
        self.origins.len()
    }

    /// Whether `peer` is a neighbour.
    pub fn is_neighbor(&self, peer: &NodeId) -> bool {
        self.shared.eager.contains(peer) || self.shared.lazy.contains(peer)
    }

    /// Every neighbour.
    pub fn neighbors(&self) -> impl Iterator<Item = &NodeId> {
        self.shared.eager.iter().chain(&self.shared.lazy)
    }

    /// A new neighbour: eager everywhere (Plumtree starts every link eager).
    pub fn up(&mut self, peer: NodeId) {
        for split in std::iter::once(&mut self.shared)
            .chain(self.origins.values_mut().map(|(split, _)| split))
        {
            split.lazy.remove(&peer);
            split.eager.insert(peer);
        }
    }

    /// A neighbour went away.
    pub fn down(&mut self, peer: NodeId) {
        for split in std::iter::once(&mut self.shared)
            .chain(self.origins.values_mut().map(|(split, _)| split))
        {
            split.eager.remove(&peer);
            split.lazy.remove(&peer);
        }
    }

    /// The split records of `origin` travel on, made from the shared one if it has none.
    pub fn of(&mut self, origin: NodeId) -> &Split {
        self.touch(origin);
        &self.origins.get(&origin).expect("touch made it").0
    }

    /// Makes the link to `peer` eager for `origin`, and in the shared split as `change` says.
    pub fn make_eager(&mut self, origin: NodeId, peer: NodeId, change: Change) {
        self.touch(origin);
        if self.reaches_shared(origin, change) {
            self.shared.make_eager(peer);
        }
        if let Some((split, _)) = self.origins.get_mut(&origin) {
            split.make_eager(peer);
        }
    }

    /// A prune: makes the link to `peer` lazy for `origin`. It reaches the shared split unless
    /// the link is in the root's tree and `origin` is not the root. Returns whether the link was
    /// eager for `origin`.
    pub fn make_lazy(&mut self, origin: NodeId, peer: NodeId) -> bool {
        self.touch(origin);
        let in_root_tree = self
            .root()
            .filter(|root| *root != origin)
            .and_then(|root| self.origins.get(&root))
            .is_some_and(|(split, _)| split.eager.contains(&peer));
        if !in_root_tree {
            self.shared.make_lazy(peer);
        }
        self.origins.get_mut(&origin).is_some_and(|(split, _)| split.make_lazy(peer))
    }

    /// Drops `origin`'s split (it died or left), so that it is no longer the root.
    pub fn forget(&mut self, origin: &NodeId) {
        self.origins.remove(origin);
    }

    /// The origin whose prunes and shortcuts shape the shared split.
    pub fn root(&self) -> Option<NodeId> {
        self.origins.keys().next().copied()
    }

    fn reaches_shared(&self, origin: NodeId, change: Change) -> bool {
        change == Change::Repair || self.root() == Some(origin)
    }

    fn touch(&mut self, origin: NodeId) {
        self.clock += 1;
        let clock = self.clock;
        if let Some((_, used)) = self.origins.get_mut(&origin) {
            *used = clock;
            return;
        }
        if self.origins.len() >= self.trees_max.max(1)
            && let Some(oldest) =
                self.origins.iter().min_by_key(|(_, (_, used))| *used).map(|(id, _)| *id)
        {
            self.origins.remove(&oldest);
        }
        self.origins.insert(origin, (self.shared.clone(), clock));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> NodeId {
        NodeId::from_bytes([n; 32])
    }

    #[test]
    fn a_prune_for_the_root_reaches_the_shared_split_and_seeds_new_origins() {
        let mut trees = Trees::new(8);
        trees.up(id(1));
        trees.up(id(2));
        assert!(trees.of(id(10)).eager.contains(&id(1)));
        assert_eq!(trees.root(), Some(id(10)));
        assert!(trees.make_lazy(id(10), id(1)));
        assert!(trees.of(id(10)).lazy.contains(&id(1)));
        // Origin 11's split is made now, from the shared split, which followed the prune.
        assert!(trees.of(id(11)).lazy.contains(&id(1)));
        trees.make_eager(id(11), id(1), Change::Repair);
        assert!(trees.of(id(11)).eager.contains(&id(1)));
        assert!(trees.of(id(10)).lazy.contains(&id(1)), "origin 10 keeps its own split");
        assert!(trees.of(id(12)).eager.contains(&id(1)), "a graft reaches the shared split");
    }

    #[test]
    fn prunes_and_shortcuts_for_other_origins_leave_the_shared_split_alone() {
        let mut trees = Trees::new(8);
        trees.up(id(1));
        trees.up(id(2));
        trees.of(id(10));
        assert!(trees.make_lazy(id(11), id(1)));
        assert!(trees.make_lazy(id(11), id(2)));
        trees.make_eager(id(11), id(2), Change::Shape);
        assert_eq!(trees.of(id(11)).eager, BTreeSet::from([id(2)]));
        assert_eq!(trees.shared().eager, BTreeSet::from([id(1), id(2)]));
    }

    #[test]
    fn any_origin_prunes_an_extra_link_down_to_the_roots_tree() {
        let mut trees = Trees::new(8);
        trees.up(id(1));
        trees.up(id(2));
        assert!(trees.make_lazy(id(10), id(2)));
        assert_eq!(trees.shared().lazy, BTreeSet::from([id(2)]));
        // A graft for origin 11 adds link 2 back as an extra; origin 12 prunes it again.
        trees.make_eager(id(11), id(2), Change::Repair);
        assert_eq!(trees.shared().eager, BTreeSet::from([id(1), id(2)]));
        assert!(trees.make_lazy(id(12), id(2)));
        assert_eq!(trees.shared().eager, BTreeSet::from([id(1)]));
        // But link 1 is the root's: origin 12 cannot prune it for the others.
        assert!(trees.make_lazy(id(12), id(1)));
        assert_eq!(trees.shared().eager, BTreeSet::from([id(1)]));
    }

    #[test]
    fn a_forgotten_root_hands_the_shared_split_to_the_next_smallest_origin() {
        let mut trees = Trees::new(8);
        trees.up(id(1));
        trees.of(id(11));
        trees.of(id(10));
        assert_eq!(trees.root(), Some(id(10)));
        trees.forget(&id(10));
        assert_eq!(trees.root(), Some(id(11)));
        assert!(trees.make_lazy(id(11), id(1)));
        assert!(trees.shared().lazy.contains(&id(1)));
    }

    #[test]
    fn the_least_recently_used_origin_is_dropped_when_full() {
        let mut trees = Trees::new(2);
        trees.up(id(1));
        trees.make_lazy(id(10), id(1));
        trees.of(id(11));
        trees.of(id(10));
        trees.of(id(12));
        assert_eq!(trees.origin_count(), 2);
        assert!(trees.of(id(10)).lazy.contains(&id(1)), "recently used origin 10 was kept");
    }

    #[test]
    fn neighbours_come_up_eager_and_go_away_everywhere() {
        let mut trees = Trees::new(4);
        trees.up(id(1));
        trees.make_lazy(id(10), id(1));
        trees.up(id(1));
        assert!(trees.of(id(10)).eager.contains(&id(1)), "a link that comes up again starts eager");
        trees.down(id(1));
        assert!(!trees.is_neighbor(&id(1)));
        assert!(trees.of(id(10)).eager.is_empty());
    }
}
