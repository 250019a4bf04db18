//! Hop distances: the diameter by breadth-first search, the all-pairs matrix the shortcuts
//! keep up to date, and a bit-parallel test of whether every pair is within a bound.

/// The most hops between two members (0 for fewer than two), or `None` if some pair is not
/// connected. A breadth-first search from every member: O(n (n + m)) time, O(n) memory.
pub(super) fn diameter(adjacency: &[Vec<usize>]) -> Option<u32> {
    let n = adjacency.len();
    let mut distance = vec![u32::MAX; n];
    let mut queue = Vec::with_capacity(n);
    let mut diameter = 0;
    for source in 0..n {
        breadth_first(adjacency, source, &mut distance, &mut queue);
        if queue.len() < n {
            return None;
        }
        diameter = diameter.max(distance[queue[n - 1]]);
    }
    Some(diameter)
}

/// Fills `distance` from `source` (`u32::MAX` where unreached) and leaves the reached members
/// in `queue`, nearest first.
fn breadth_first(
    adjacency: &[Vec<usize>],
    source: usize,
    distance: &mut [u32],
    queue: &mut Vec<usize>,
) {
    distance.fill(u32::MAX);
    queue.clear();
    distance[source] = 0;
    queue.push(source);
    let mut next = 0;
    while next < queue.len() {
        let v = queue[next];
        next += 1;
        for u in &adjacency[v] {
            if distance[*u] == u32::MAX {
                distance[*u] = distance[v] + 1;
                queue.push(*u);
            }
        }
    }
}

/// Hop distances between all pairs of a connected graph of at most `u16::MAX / 2` members,
/// with each member's eccentricity (its largest distance).
pub(super) struct Distances {
    n: usize,
    /// Row-major, symmetric.
    hops: Vec<u16>,
    eccentricity: Vec<u16>,
}

impl Distances {
    /// The distances of a connected graph.
    pub(super) fn new(adjacency: &[Vec<usize>]) -> Distances {
        let n = adjacency.len();
        debug_assert!(n <= usize::from(u16::MAX / 2), "sums of two distances fit a u16");
        let mut hops = vec![0u16; n * n];
        let mut distance = vec![u32::MAX; n];
        let mut queue = Vec::with_capacity(n);
        for (source, row) in hops.chunks_exact_mut(n.max(1)).enumerate() {
            breadth_first(adjacency, source, &mut distance, &mut queue);
            for (cell, hops) in row.iter_mut().zip(&distance) {
                *cell = u16::try_from(*hops).unwrap_or(u16::MAX);
            }
        }
        let mut distances = Distances { n, hops, eccentricity: vec![0; n] };
        distances.measure_eccentricities();
        distances
    }

    fn measure_eccentricities(&mut self) {
        for (a, row) in self.hops.chunks_exact(self.n.max(1)).enumerate() {
            self.eccentricity[a] = row.iter().copied().max().unwrap_or(0);
        }
    }

    pub(super) fn get(&self, a: usize, b: usize) -> u16 {
        self.hops[a * self.n + b]
    }

    /// The distances from `a`.
    pub(super) fn row(&self, a: usize) -> &[u16] {
        &self.hops[a * self.n..(a + 1) * self.n]
    }

    /// The largest distance.
    pub(super) fn diameter(&self) -> u16 {
        self.eccentricity.iter().copied().max().unwrap_or(0)
    }

    /// The first `limit` pairs (a < b) at distance `hops`, in order.
    pub(super) fn pairs_at(&self, hops: u16, limit: usize) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for a in (0..self.n).filter(|a| self.eccentricity[*a] >= hops) {
            let row = self.row(a);
            pairs.extend((a + 1..self.n).filter(|b| row[*b] == hops).map(|b| (a, b)));
            if pairs.len() >= limit {
                pairs.truncate(limit);
                break;
            }
        }
        pairs
    }

    /// The distances once the edge x–y is added: a new shortest path crosses it once, so each
    /// pair's distance becomes the least of the old one and the two ways through x–y. O(n²).
    pub(super) fn add_edge(&mut self, x: usize, y: usize) {
        let (from_x, from_y) = (self.row(x).to_vec(), self.row(y).to_vec());
        for (a, row) in self.hops.chunks_exact_mut(self.n).enumerate() {
            let (to_x, to_y) = (from_x[a] + 1, from_y[a] + 1);
            let mut eccentricity = 0;
            for ((cell, x_on), y_on) in row.iter_mut().zip(&from_x).zip(&from_y) {
                *cell = (*cell).min(to_x + y_on).min(to_y + x_on);
                eccentricity = eccentricity.max(*cell);
            }
            self.eccentricity[a] = eccentricity;
        }
    }
}

/// Whether every pair is at most `hops` apart, by breadth-first search from all members at
/// once, one bit per member: O(hops × (n + m) × n / 64).
pub(super) fn all_within(adjacency: &[Vec<usize>], hops: u16) -> bool {
    let n = adjacency.len();
    let words = n.div_ceil(64).max(1);
    let last_word = if n.is_multiple_of(64) { u64::MAX } else { (1u64 << (n % 64)) - 1 };
    let full = |row: &[u64]| {
        let (last, rest) = row.split_last().expect("a row has a word");
        *last == last_word && rest.iter().all(|bits| *bits == u64::MAX)
    };
    // reached[v]: the members at most the current number of hops from v.
    let mut reached = vec![0u64; n * words];
    for v in 0..n {
        reached[v * words + v / 64] |= 1 << (v % 64);
    }
    let mut grown = reached.clone();
    for _ in 0..hops {
        if reached.chunks_exact(words).all(full) {
            return true;
        }
        for (v, row) in grown.chunks_exact_mut(words).enumerate() {
            for u in &adjacency[v] {
                for (bits, theirs) in row.iter_mut().zip(&reached[u * words..(u + 1) * words]) {
                    *bits |= theirs;
                }
            }
        }
        reached.copy_from_slice(&grown);
    }
    reached.chunks_exact(words).all(full)
}
