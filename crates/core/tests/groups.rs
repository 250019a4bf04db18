//! floodd group data messages between a few nodes wired by hand: flooding over a topology,
//! exactly-once in-order delivery, repair after loss and after a restart, backpressure and
//! retention.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use herald_core::groups::{GroupData, GroupsConfig, PublishError};
use herald_core::wire::{self, Message};
use herald_core::{
    Config, Event, Input, Instant, Keypair, Node, NodeId, Output, PersistOp, Snapshot,
};

const GROUP: &str = "mirror-1";

/// A few nodes, their links in the group's topology, and everything they did.
struct Grid {
    nodes: Vec<Node>,
    keys: Vec<Keypair>,
    edges: Vec<(usize, usize)>,
    now: Instant,
    /// (node, origin, seq) delivered, in delivery order per node.
    delivered: Vec<Vec<(NodeId, u64)>>,
    /// Persist operations applied, per node.
    persisted: Vec<Vec<PersistOp>>,
    /// Nodes whose frames are lost, both ways.
    cut: BTreeSet<usize>,
    /// Nodes that are down: they neither run nor receive.
    down: BTreeSet<usize>,
    /// Bytes of group frames sent.
    group_bytes: u64,
}

impl Grid {
    fn new(count: usize, edges: &[(usize, usize)], config: GroupsConfig) -> Grid {
        let keys: Vec<Keypair> =
            (0..count).map(|n| Keypair::from_secret([n as u8 + 1; 32])).collect();
        let mut grid = Grid {
            nodes: Vec::new(),
            keys,
            edges: edges.to_vec(),
            now: Instant::ZERO,
            delivered: vec![Vec::new(); count],
            persisted: vec![Vec::new(); count],
            cut: BTreeSet::new(),
            down: BTreeSet::new(),
            group_bytes: 0,
        };
        for n in 0..count {
            let node = grid.make_node(n, config.clone(), Snapshot::default());
            grid.nodes.push(node);
        }
        grid
    }

    fn make_node(&self, n: usize, groups: GroupsConfig, snapshot: Snapshot) -> Node {
        let config = Config { groups, epoch: 1, ..Config::default() };
        let mut node = Node::restore(self.keys[n].clone(), config, n as u64, self.now, snapshot);
        let neighbors = self
            .edges
            .iter()
            .filter_map(|&(a, b)| match (a == n, b == n) {
                (true, _) => Some(self.keys[b].id()),
                (_, true) => Some(self.keys[a].id()),
                _ => None,
            })
            .collect();
        node.set_group_neighbors(GROUP, neighbors);
        node
    }

    fn publish(&mut self, n: usize, body: Vec<u8>) -> Result<GroupData, PublishError> {
        let result = self.nodes[n].publish_group_message(self.now, GROUP, body, 0);
        self.settle();
        result
    }

    /// Delivers frames until none are left, without moving time.
    fn settle(&mut self) {
        loop {
            let mut frames = Vec::new();
            for n in 0..self.nodes.len() {
                while let Some(output) = self.nodes[n].poll_output() {
                    match output {
                        Output::Transmit { to, frame } => frames.push((n, to, frame)),
                        Output::Event(Event::GroupDelivered(data)) => {
                            self.delivered[n].push((data.origin(), data.version().seq));
                        }
                        Output::Event(_) => {}
                        Output::Persist(op) => self.persisted[n].push(op),
                    }
                }
            }
            if frames.is_empty() {
                return;
            }
            for (from, to, frame) in frames {
                if matches!(wire::decode(&frame), Ok(Message::Groups(_))) {
                    self.group_bytes += frame.len() as u64;
                }
                let Some(to) = self.keys.iter().position(|key| key.id() == to) else { continue };
                let lost = [from, to].iter().any(|n| self.cut.contains(n) || self.down.contains(n));
                if !lost {
                    let input = Input::Frame { from: self.keys[from].id(), bytes: frame };
                    self.nodes[to].handle(self.now, input);
                }
            }
        }
    }

    /// Moves time on by `step` at a time, running every node's timers.
    fn run_for(&mut self, duration: Duration, step: Duration) {
        let end = self.now + duration;
        while self.now < end {
            self.now = self.now + step;
            for n in 0..self.nodes.len() {
                if !self.down.contains(&n) && self.nodes[n].poll_timeout() <= self.now {
                    self.nodes[n].handle(self.now, Input::Timeout);
                }
            }
            self.settle();
        }
    }

    /// Crashes node `n`: it keeps what it had persisted.
    fn crash(&mut self, n: usize) {
        self.down.insert(n);
        while self.nodes[n].poll_output().is_some() {}
    }

    /// Restarts node `n` from what it had persisted.
    fn restart(&mut self, n: usize) {
        let mut messages = BTreeMap::new();
        let mut cursors = BTreeMap::new();
        for op in &self.persisted[n] {
            match op {
                PersistOp::PutGroupMessage(data) => {
                    messages.insert((data.origin(), data.version()), data.clone());
                }
                PersistOp::DeleteGroupMessage { origin, version, .. } => {
                    messages.remove(&(*origin, *version));
                }
                PersistOp::SetGroupCursor { group, origin, version } => {
                    cursors.insert((group.clone(), *origin), *version);
                }
                _ => {}
            }
        }
        let snapshot = Snapshot {
            group_messages: messages.into_values().collect(),
            group_cursors: cursors.into_iter().map(|((g, o), v)| (g, o, v)).collect(),
            ..Snapshot::default()
        };
        let config = self.nodes[n].groups().config().clone();
        self.nodes[n] = self.make_node(n, config, snapshot);
        self.down.remove(&n);
        self.settle();
    }

    /// The seqs node `n` delivered from `origin`, in order.
    fn seqs(&self, n: usize, origin: usize) -> Vec<u64> {
        let origin = self.keys[origin].id();
        self.delivered[n].iter().filter(|(o, _)| *o == origin).map(|(_, seq)| *seq).collect()
    }
}

/// A ring of `n` nodes with chords to the node opposite: 2-connected.
fn ring(n: usize) -> Vec<(usize, usize)> {
    let mut edges: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    edges.extend((0..n / 2).map(|i| (i, i + n / 2)));
    edges
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn a_small_message_reaches_every_member_once_and_each_edge_carries_it_at_most_twice() {
    let edges = ring(6);
    let mut grid = Grid::new(6, &edges, GroupsConfig::default());
    let body = vec![42u8; 1000];
    grid.publish(0, body).unwrap();
    for n in 0..6 {
        assert_eq!(grid.seqs(n, 0), vec![1], "node {n}");
    }
    // Pushed whole, a copy may cross an edge both ways at once, never more.
    assert!(grid.group_bytes <= 2 * edges.len() as u64 * 1300, "{} bytes", grid.group_bytes);
}

#[test]
fn a_large_message_is_pulled_so_each_edge_carries_its_body_once() {
    let edges = ring(6);
    let mut grid = Grid::new(6, &edges, GroupsConfig::default());
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let published = grid.publish(0, body.clone()).unwrap();
    for n in 1..6 {
        assert_eq!(grid.seqs(n, 0), vec![1], "node {n}");
        let held: Vec<&GroupData> =
            grid.nodes[n].groups().messages(GROUP).map(|(d, _)| d).collect();
        assert_eq!(held, vec![&published], "node {n} holds the same message");
    }
    // Every member but the publisher pulled it once, over one edge each.
    let bodies = grid.group_bytes as f64 / body.len() as f64;
    assert!(bodies < 5.2, "{bodies:.2} bodies sent for 5 receivers");
    assert!(bodies >= 5.0, "{bodies:.2} bodies sent for 5 receivers");
}

#[test]
fn a_member_cut_off_while_messages_flow_gets_them_all_in_order_by_repair() {
    let mut grid = Grid::new(5, &ring(5), GroupsConfig::default());
    grid.cut.insert(3);
    for i in 0..3 {
        grid.publish(0, vec![i; 10]).unwrap();
        grid.publish(1, vec![i; 200_000]).unwrap();
    }
    assert!(grid.seqs(3, 0).is_empty());
    grid.cut.clear();
    grid.run_for(5 * SECOND, SECOND / 10);
    for n in 1..5 {
        assert_eq!(grid.seqs(n, 0), vec![1, 2, 3], "node {n} from node 0");
    }
    for n in [0, 2, 3, 4] {
        assert_eq!(grid.seqs(n, 1), vec![1, 2, 3], "node {n} from node 1");
    }
    assert!(
        grid.nodes[3].groups().counters().repaired + grid.nodes[3].groups().counters().received
            >= 6
    );
}

#[test]
fn a_restarted_member_gets_what_it_missed_exactly_once() {
    let mut grid = Grid::new(4, &ring(4), GroupsConfig::default());
    grid.publish(0, b"before".to_vec()).unwrap();
    assert_eq!(grid.seqs(2, 0), vec![1]);
    grid.crash(2);
    grid.publish(0, b"while down 1".to_vec()).unwrap();
    grid.publish(0, b"while down 2".to_vec()).unwrap();
    grid.run_for(3 * SECOND, SECOND / 10);
    grid.restart(2);
    grid.run_for(5 * SECOND, SECOND / 10);
    assert_eq!(grid.seqs(2, 0), vec![1, 2, 3], "delivered once each, in order");
    // The publisher itself restarts and goes on from where its sequence was.
    grid.crash(0);
    grid.restart(0);
    let next = grid.publish(0, b"after".to_vec()).unwrap();
    assert_eq!(next.version().seq, 4);
    assert_eq!(grid.seqs(0, 0), vec![1, 2, 3, 4], "the publisher's own, not again");
}

#[test]
fn a_publisher_whose_neighbours_take_nothing_gets_backpressure() {
    let config = GroupsConfig { publish_queue_max: 100_000, ..GroupsConfig::default() };
    let mut grid = Grid::new(3, &ring(3), config);
    // The neighbours learn of each other's holdings in digests, so a first round runs.
    grid.run_for(2 * SECOND, SECOND / 10);
    grid.cut.insert(1);
    grid.cut.insert(2);
    let mut accepted = 0;
    let refusal = loop {
        match grid.publish(0, vec![0; 30_000]) {
            Ok(_) => accepted += 1,
            Err(refusal) => break refusal,
        }
        assert!(accepted < 10, "never refused");
    };
    assert!(matches!(refusal, PublishError::Busy { .. }), "{refusal:?}");
    assert_eq!(accepted, 3, "100 KB of queue holds three messages of 30 KB");
    // Once the neighbours are back and say what they hold, publishing works again.
    grid.cut.clear();
    grid.run_for(3 * SECOND, SECOND / 10);
    grid.publish(0, vec![0; 30_000]).expect("accepted again");
    assert_eq!(grid.seqs(1, 0), vec![1, 2, 3, 4]);
}

#[test]
fn storage_full_drops_what_every_neighbour_holds_first_and_counts_it() {
    let config = GroupsConfig { data_storage_max: 50_000, ..GroupsConfig::default() };
    let mut grid = Grid::new(3, &ring(3), config);
    for _ in 0..3 {
        grid.publish(1, vec![1; 10_000]).unwrap();
        grid.run_for(2 * SECOND, SECOND / 10);
    }
    for _ in 0..3 {
        grid.publish(2, vec![2; 10_000]).unwrap();
    }
    let node = grid.nodes[0].groups();
    assert!(node.stored_bytes() <= 50_000);
    assert!(node.counters().dropped_held_by_neighbors >= 1, "{:?}", node.counters());
    assert_eq!(node.counters().dropped_undelivered, 0);
    assert_eq!(grid.seqs(0, 2), vec![1, 2, 3]);
}

#[test]
fn a_member_whose_storage_is_full_of_delivered_messages_still_pulls_new_ones() {
    // Room for three bodies of two chunks each: once a member holds three delivered messages,
    // an offer of a fourth must drop one of them rather than be refused for good.
    let config = GroupsConfig { data_storage_max: 300_000, ..GroupsConfig::default() };
    let mut grid = Grid::new(3, &[(0, 1), (1, 2)], config);
    for n in 0..6u8 {
        grid.publish(0, vec![n; 100_000]).unwrap();
        grid.run_for(2 * SECOND, SECOND / 10);
    }
    assert_eq!(grid.seqs(1, 0), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(grid.seqs(2, 0), vec![1, 2, 3, 4, 5, 6]);
    for n in 1..3 {
        assert!(grid.nodes[n].groups().stored_bytes() <= 300_000);
    }
}

#[test]
fn a_forged_or_foreign_chunk_is_refused_and_counted() {
    let mut grid = Grid::new(2, &[(0, 1)], GroupsConfig::default());
    let data = grid.nodes[0].publish_group_message(grid.now, GROUP, b"true".to_vec(), 0).unwrap();
    let forged = herald_core::groups::GroupsMessage::Chunk {
        header: data.header.clone(),
        offset: 0,
        bytes: b"fake".to_vec(),
    };
    let frame: std::sync::Arc<[u8]> = wire::encode(&Message::Groups(forged)).unwrap().into();
    let from = grid.keys[0].id();
    grid.nodes[1].handle(grid.now, Input::Frame { from, bytes: frame });
    assert_eq!(grid.nodes[1].groups().counters().refused, 1);
    assert!(grid.seqs(1, 0).is_empty());
}
