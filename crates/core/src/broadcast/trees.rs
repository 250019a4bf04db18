//! Plumtree's eager/lazy link split, kept per origin.
//!
//! One shared tree serves every origin in the Plumtree paper. With many origins it is deep for
//! most of them: each origin's duplicates prune links that other origins' shortest paths need.
//! So each origin gets its own split, made on its first record as a copy of a *shared* split
//! that follows every prune and graft, as the single tree of the paper does. A new origin's
//! first record therefore costs what the shared tree costs. Later records follow a tree shaped
//! by that origin's own duplicates, grafts and re-routes, close to its shortest-path tree.
//!
//! A re-route onto a path fewer hops from the origin (tree optimisation, or a duplicate that
//! came by fewer hops) stays in its origin's split ([`Scope::Own`]): a path fewer hops from one
//! origin is no shorter for the others, and when re-routes re-shaped the shared split too, each
//! new origin started from a tree bent towards whichever origins had sent last.
//!
//! A split says where this node pushes. Each origin's split also remembers which neighbours this
//! node asked to stop pushing that origin's records to it, and when (*muted*), so that their
//! copies still on the way then neither prune again nor count as the tree's.
//!
//! Per-origin state is bounded by `trees_max`; the least recently used origin's split is
//! dropped and, if that origin sends again, copied afresh from the shared one.

use std::collections::{BTreeMap, BTreeSet};

use crate::id::NodeId;
use crate::time::Instant;

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

/// Which splits a change of link reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only the origin's own split: a re-route onto a path fewer hops from the origin.
    Own,
    /// The origin's split and the shared one: Plumtree's prunes of duplicates and its grafts
    /// of missing records, which the single tree of the paper follows too.
    OwnAndShared,
}

/// An origin's own split, kept as its lazy links alone: every neighbour is in exactly one of the
/// two halves of a split, so the eager half is the neighbours that are not lazy. With
/// membership on every member is an origin, and this keeps a split to a few ids.
#[derive(Clone, Debug)]
struct OriginSplit {
    /// The lazy neighbours, sorted.
    lazy: Vec<NodeId>,
    /// The neighbours this node last asked to stop pushing the origin's records to it, with
    /// when, sorted by neighbour: it had them from another neighbour first.
    muted: Vec<(NodeId, Instant)>,
    /// When the split was last used, on the `Trees` clock.
    used: u64,
}

/// The shared split and the per-origin ones.
#[derive(Clone, Debug)]
pub struct Trees {
    shared: Split,
    origins: BTreeMap<NodeId, OriginSplit>,
    /// The origins by last use, so the least recently used is found without a scan.
    by_use: BTreeMap<u64, NodeId>,
    trees_max: usize,
    clock: u64,
}

impl Trees {
    /// No neighbours, room for `trees_max` per-origin splits.
    pub fn new(trees_max: usize) -> Trees {
        Trees {
            shared: Split::default(),
            origins: BTreeMap::new(),
            by_use: BTreeMap::new(),
            trees_max,
            clock: 0,
        }
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
        self.shared.lazy.remove(&peer);
        self.shared.eager.insert(peer);
        for split in self.origins.values_mut() {
            split.lazy.retain(|lazy| *lazy != peer);
            split.muted.retain(|(muted, _)| *muted != peer);
        }
    }

    /// A neighbour went away.
    pub fn down(&mut self, peer: NodeId) {
        self.shared.eager.remove(&peer);
        self.shared.lazy.remove(&peer);
        for split in self.origins.values_mut() {
            split.lazy.retain(|lazy| *lazy != peer);
            split.muted.retain(|(muted, _)| *muted != peer);
        }
    }

    /// The split records of `origin` travel on, made from the shared one if it has none.
    pub fn of(&mut self, origin: NodeId) -> Split {
        let lazy = &self.touch(origin).lazy;
        let lazy: BTreeSet<NodeId> = lazy.iter().copied().collect();
        let eager = self.neighbors().filter(|peer| !lazy.contains(peer)).copied().collect();
        Split { eager, lazy }
    }

    /// When this node last asked the neighbour `peer` to stop pushing `origin`'s records to it.
    pub fn muted_at(&self, origin: NodeId, peer: NodeId) -> Option<Instant> {
        let split = self.origins.get(&origin)?;
        let at = split.muted.binary_search_by_key(&peer, |(muted, _)| *muted).ok()?;
        Some(split.muted[at].1)
    }

    /// Notes that this node asks the neighbour `peer`, `now`, to stop pushing `origin`'s records
    /// to it. Nothing for a peer that is not a neighbour; returns whether it was one.
    pub fn mute(&mut self, origin: NodeId, peer: NodeId, now: Instant) -> bool {
        if !self.is_neighbor(&peer) {
            return false;
        }
        let split = self.touch(origin);
        match split.muted.binary_search_by_key(&peer, |(muted, _)| *muted) {
            Ok(at) => split.muted[at].1 = now,
            Err(at) => split.muted.insert(at, (peer, now)),
        }
        true
    }

    /// Notes that `peer` was asked to push `origin`'s records to this node again (a graft).
    pub fn unmute(&mut self, origin: NodeId, peer: NodeId) {
        if let Some(split) = self.origins.get_mut(&origin)
            && let Ok(at) = split.muted.binary_search_by_key(&peer, |(muted, _)| *muted)
        {
            split.muted.remove(at);
        }
    }

    /// Makes the link to `peer` eager for `origin`, and in the shared split if `scope` says so.
    pub fn make_eager(&mut self, origin: NodeId, peer: NodeId, scope: Scope) {
        if scope == Scope::OwnAndShared {
            self.shared.make_eager(peer);
        }
        let split = self.touch(origin);
        if let Ok(at) = split.lazy.binary_search(&peer) {
            split.lazy.remove(at);
        }
    }

    /// Makes the link to `peer` lazy for `origin`, and in the shared split if `scope` says so.
    /// Returns whether it was eager for `origin`.
    pub fn make_lazy(&mut self, origin: NodeId, peer: NodeId, scope: Scope) -> bool {
        if scope == Scope::OwnAndShared {
            self.shared.make_lazy(peer);
        }
        let neighbor = self.is_neighbor(&peer);
        let split = self.touch(origin);
        match split.lazy.binary_search(&peer) {
            Err(at) if neighbor => {
                split.lazy.insert(at, peer);
                true
            }
            _ => false,
        }
    }

    /// Marks `origin`'s split used now, making it from the shared split if it has none, and
    /// dropping the least recently used split if that makes one too many.
    fn touch(&mut self, origin: NodeId) -> &mut OriginSplit {
        self.clock += 1;
        let clock = self.clock;
        if let Some(split) = self.origins.get_mut(&origin) {
            self.by_use.remove(&split.used);
            self.by_use.insert(clock, origin);
            split.used = clock;
        } else {
            if self.origins.len() >= self.trees_max.max(1)
                && let Some((_, oldest)) = self.by_use.pop_first()
            {
                self.origins.remove(&oldest);
            }
            let lazy = self.shared.lazy.iter().copied().collect();
            self.origins.insert(origin, OriginSplit { lazy, muted: Vec::new(), used: clock });
            self.by_use.insert(clock, origin);
        }
        self.origins.get_mut(&origin).expect("made above")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> NodeId {
        NodeId::from_bytes([n; 32])
    }

    #[test]
    fn a_prune_for_one_origin_leaves_the_others_eager_but_seeds_new_ones() {
        let mut trees = Trees::new(8);
        trees.up(id(1));
        trees.up(id(2));
        assert!(trees.of(id(10)).eager.contains(&id(1)));
        assert!(trees.make_lazy(id(10), id(1), Scope::OwnAndShared));
        assert!(trees.of(id(10)).lazy.contains(&id(1)));
        // Origin 11's split is made now, from the shared split, which followed the prune.
        assert!(trees.of(id(11)).lazy.contains(&id(1)));
        trees.make_eager(id(11), id(1), Scope::OwnAndShared);
        assert!(trees.of(id(11)).eager.contains(&id(1)));
        assert!(trees.of(id(10)).lazy.contains(&id(1)), "origin 10 keeps its own split");
    }

    #[test]
    fn a_re_route_stays_in_its_origins_split() {
        let mut trees = Trees::new(8);
        trees.up(id(1));
        trees.up(id(2));
        trees.make_lazy(id(10), id(2), Scope::OwnAndShared);
        trees.make_eager(id(11), id(2), Scope::Own);
        assert!(trees.make_lazy(id(11), id(1), Scope::Own));
        assert_eq!(trees.of(id(11)).eager, BTreeSet::from([id(2)]));
        assert_eq!(
            trees.shared().eager,
            BTreeSet::from([id(1)]),
            "the shared split did not follow"
        );
        assert_eq!(trees.of(id(12)).eager, BTreeSet::from([id(1)]), "nor do new origins");
    }

    #[test]
    fn the_least_recently_used_origin_is_dropped_when_full() {
        let mut trees = Trees::new(2);
        trees.up(id(1));
        trees.make_lazy(id(10), id(1), Scope::OwnAndShared);
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
        trees.make_lazy(id(10), id(1), Scope::OwnAndShared);
        trees.up(id(1));
        assert!(trees.of(id(10)).eager.contains(&id(1)), "a link that comes up again starts eager");
        trees.down(id(1));
        assert!(!trees.is_neighbor(&id(1)));
        assert!(trees.of(id(10)).eager.is_empty());
    }
}
