//! The decision core of the fair queue: which source's transaction goes to
//! verification next, and whose is shed when the queue is full. Pure: no
//! clock, no locks, no I/O.
//!
//! Scheduling is start-time fair queuing, the virtual-time form of weighted
//! round robin (`Tags`): each queued item gets a start tag `max(V, its
//! lane's last finish)` and a finish tag `start + 1/weight`, and the item with
//! the smallest start tag goes next (`V` becomes its start). A lane sending
//! within its weight's share always finds its items at the front; a lane
//! sending more builds a backlog whose tags run ahead into the virtual future,
//! and only that backlog waits. Unlike deficit round robin it needs no
//! rounds, so weights that differ by 10⁴ (stake shares do) cost nothing extra
//! per item: O(log n) for a push or a pop.
//!
//! Two levels: each staked identity is a lane weighing its stake share of the
//! staked part (`1 - unstaked_floor`), and all unstaked sources together are
//! one lane, the pool, weighing `unstaked_floor`; inside the pool the sources
//! (IPv4 address or IPv6 /64) share equally, scheduled the same way. So
//! however many addresses an unstaked flood uses, together they get the
//! floor, and staked traffic cannot push unstaked traffic below it. Idle
//! shares go to whoever has work (the scheduler never idles with work
//! queued).
//!
//! Bounds: a source holds at most its share of half the queue (its lane's
//! weight among the backlogged lanes; in the pool, an equal part of the
//! pool's); beyond that it is refused and its sender waits ([`Push::Full`]):
//! ingress stops reading it, so a burst is slowed through stream credit, not
//! shed. The other half is room for sources that appear meanwhile. Only when
//! that is not enough (the pool at its part, or the whole queue full) is room
//! made by shedding: the newest item of whoever is furthest ahead of its
//! share (the largest finish tag), never of the newcomer.

use std::{
    cmp::{Ordering, Reverse},
    collections::{BTreeSet, BinaryHeap, HashMap, VecDeque},
    hash::Hash,
};

/// The class a source is scheduled in, from its admission ticket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Class {
    /// A staked identity with this share of the total stake (0, 1].
    Staked(f64),
    /// An unstaked source (IPv4 address or IPv6 /64).
    Unstaked,
}

/// The queue's bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FairLimits {
    /// Items queued at most, over all sources.
    pub capacity: usize,
    /// The share of verification reserved for unstaked sources together
    /// whenever they have work, in (0, 1).
    pub unstaked_floor: f64,
}

/// What became of a push.
#[derive(Debug, PartialEq)]
pub enum Push<T> {
    /// Queued; room was there.
    Queued,
    /// Queued, after shedding this item of the source furthest ahead of its
    /// share (the caller counts it).
    QueuedShedding(T),
    /// Not queued: the source holds its share of the queue already (or the
    /// queue is full and it is the one furthest ahead of its share). The item
    /// comes back; the caller waits for room.
    Full(T),
}

/// A virtual-time tag; ordered totally (tags are finite by construction).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tag(f64);

impl Eq for Tag {}

impl PartialOrd for Tag {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tag {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// One queued item's tags.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    start: f64,
    finish: f64,
    seq: u64,
}

/// Virtual time is rebased to zero past this, so tags keep their precision
/// through months of continuous backlog.
const REBASE_ABOVE: f64 = 1e12;

/// Start-time fair queuing over lanes, tags only: which lane goes next,
/// which is furthest ahead. The items themselves are kept by the caller, in
/// the same order per lane.
#[derive(Debug)]
struct Tags<L> {
    lanes: HashMap<L, VecDeque<Stamp>>,
    /// Each backlogged lane's front: (start tag, sequence, lane). Entries go
    /// stale when shedding empties a lane; pops skip them.
    fronts: BinaryHeap<Reverse<(Tag, u64, L)>>,
    /// Each backlogged lane by the finish tag of its newest item.
    heaviest: BTreeSet<(Tag, L)>,
    /// Each backlogged lane's weight (as of its first queued item), and
    /// their sum: what a lane's share of the queue is reckoned against.
    weights: HashMap<L, f64>,
    active_weight: f64,
    virtual_time: f64,
    len: usize,
    seq: u64,
}

impl<L: Copy + Eq + Hash + Ord> Tags<L> {
    fn new() -> Self {
        Tags {
            lanes: HashMap::new(),
            fronts: BinaryHeap::new(),
            heaviest: BTreeSet::new(),
            weights: HashMap::new(),
            active_weight: 0.0,
            virtual_time: 0.0,
            len: 0,
            seq: 0,
        }
    }

    /// Items `lane` has queued.
    fn queued(&self, lane: &L) -> usize {
        self.lanes.get(lane).map_or(0, VecDeque::len)
    }

    /// `lane`'s share of all backlogged lanes' weight, counting it in at
    /// `weight` if it has nothing queued yet.
    fn share(&self, lane: &L, weight: f64) -> f64 {
        match self.weights.get(lane) {
            Some(&own) => own / self.active_weight.max(own),
            None => weight / (self.active_weight + weight),
        }
    }

    fn forget_lane(&mut self, lane: &L) {
        self.lanes.remove(lane);
        if let Some(weight) = self.weights.remove(lane) {
            self.active_weight = (self.active_weight - weight).max(0.0);
        }
        if self.lanes.is_empty() {
            self.active_weight = 0.0;
        }
    }

    fn newest_finish(&self, lane: &L) -> Option<f64> {
        self.lanes.get(lane)?.back().map(|stamp| stamp.finish)
    }

    /// The finish tag an item of `lane` at `weight` would get now.
    fn projected_finish(&self, lane: &L, weight: f64) -> f64 {
        let start = self
            .newest_finish(lane)
            .map_or(self.virtual_time, |f| f.max(self.virtual_time));
        start + 1.0 / weight
    }

    /// The lane furthest ahead of its share, with its newest finish tag.
    fn heaviest(&self) -> Option<(L, f64)> {
        self.heaviest.last().map(|&(tag, lane)| (lane, tag.0))
    }

    /// Whether `lane` at `weight` is behind the lane furthest ahead (so a
    /// full queue sheds that one for it).
    fn behind_heaviest(&self, lane: &L, weight: f64) -> bool {
        self.heaviest().is_some_and(|(heaviest, finish)| {
            heaviest != *lane && self.projected_finish(lane, weight) < finish
        })
    }

    fn push(&mut self, lane: L, weight: f64) {
        let finish = self.projected_finish(&lane, weight);
        let start = finish - 1.0 / weight;
        self.seq += 1;
        let stamp = Stamp {
            start,
            finish,
            seq: self.seq,
        };
        match self.lanes.get_mut(&lane) {
            Some(stamps) => {
                if let Some(newest) = stamps.back() {
                    self.heaviest.remove(&(Tag(newest.finish), lane));
                }
                stamps.push_back(stamp);
            }
            None => {
                self.fronts.push(Reverse((Tag(start), stamp.seq, lane)));
                self.lanes.insert(lane, VecDeque::from([stamp]));
                self.weights.insert(lane, weight);
                self.active_weight += weight;
            }
        }
        self.heaviest.insert((Tag(finish), lane));
        self.len += 1;
    }

    /// Forgets the newest item of `lane`.
    fn shed_newest(&mut self, lane: L) {
        let Some(stamps) = self.lanes.get_mut(&lane) else {
            return;
        };
        let Some(shed) = stamps.pop_back() else {
            return;
        };
        self.heaviest.remove(&(Tag(shed.finish), lane));
        self.len -= 1;
        match stamps.back() {
            Some(newest) => {
                self.heaviest.insert((Tag(newest.finish), lane));
            }
            // Its entry in `fronts` is now stale; pops skip it.
            None => self.forget_lane(&lane),
        }
    }

    /// The lane whose front item goes next; it is taken off.
    fn pop(&mut self) -> Option<L> {
        while let Some(Reverse((Tag(start), seq, lane))) = self.fronts.pop() {
            let Some(stamps) = self.lanes.get_mut(&lane) else {
                continue;
            };
            if stamps.front().is_none_or(|front| front.seq != seq) {
                continue;
            }
            let Some(popped) = stamps.pop_front() else {
                continue;
            };
            self.len -= 1;
            self.virtual_time = start;
            match stamps.front() {
                Some(next) => self.fronts.push(Reverse((Tag(next.start), next.seq, lane))),
                // It was also the newest.
                None => {
                    self.heaviest.remove(&(Tag(popped.finish), lane));
                    self.forget_lane(&lane);
                }
            }
            if self.len == 0 {
                self.virtual_time = 0.0;
                self.fronts.clear();
                self.heaviest.clear();
            } else if self.virtual_time > REBASE_ABOVE {
                self.rebase();
            }
            return Some(lane);
        }
        None
    }

    /// Moves every tag down by the virtual time, which becomes zero.
    fn rebase(&mut self) {
        let base = self.virtual_time;
        self.virtual_time = 0.0;
        self.fronts.clear();
        self.heaviest.clear();
        for (lane, stamps) in &mut self.lanes {
            for stamp in stamps.iter_mut() {
                stamp.start = (stamp.start - base).max(0.0);
                stamp.finish = (stamp.finish - base).max(0.0);
            }
            if let (Some(front), Some(newest)) = (stamps.front(), stamps.back()) {
                self.fronts
                    .push(Reverse((Tag(front.start), front.seq, *lane)));
                self.heaviest.insert((Tag(newest.finish), *lane));
            }
        }
    }
}

/// What a push may do (see [`FairSchedule::admission`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// The source holds its share, or nobody is further ahead: it waits.
    Wait,
    /// There is room.
    Queue,
    /// The pool is at its part: an unstaked source further ahead loses its
    /// newest item.
    ShedInPool,
    /// The queue is full: the lane furthest ahead loses its newest item.
    ShedHeaviest,
}

/// A top-level lane: one staked identity, or the pool of unstaked sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Lane<K> {
    Staked(K),
    Pool,
}

/// Per-source queues served by weight, with one bound over all of them.
#[derive(Debug)]
pub struct FairSchedule<K, T> {
    limits: FairLimits,
    /// Staked identities and the pool.
    top: Tags<Lane<K>>,
    /// Unstaked sources inside the pool, equal weights.
    pool: Tags<K>,
    /// The items, per source, oldest first; `true` for a staked source.
    items: HashMap<(K, bool), VecDeque<T>>,
}

impl<K: Copy + Eq + Hash + Ord, T> FairSchedule<K, T> {
    /// An empty schedule within `limits`.
    pub fn new(limits: FairLimits) -> Self {
        FairSchedule {
            limits: FairLimits {
                capacity: limits.capacity.max(1),
                unstaked_floor: limits.unstaked_floor.clamp(0.001, 0.999),
            },
            top: Tags::new(),
            pool: Tags::new(),
            items: HashMap::new(),
        }
    }

    /// Items queued.
    pub fn len(&self) -> usize {
        self.top.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.top.len == 0
    }

    /// Sources with something queued.
    pub fn sources(&self) -> usize {
        self.items.len()
    }

    /// The top-level lane and weight of `source` in `class`.
    fn lane(&self, source: K, class: Class) -> (Lane<K>, f64) {
        let floor = self.limits.unstaked_floor;
        match class {
            Class::Staked(share) => (
                Lane::Staked(source),
                ((1.0 - floor) * share).clamp(1e-9, 1.0),
            ),
            Class::Unstaked => (Lane::Pool, floor),
        }
    }

    /// What a push from `source` may do now.
    ///
    /// A source is not queued beyond its share of the queue: half the
    /// capacity split among the backlogged lanes by weight, and the pool's
    /// part among its sources equally. A source at its share waits (is not
    /// read) until it drains; the half left over is room for sources that
    /// appear meanwhile, so that a lone burst is slowed, never shed. Past
    /// that, room is made by shedding whoever is furthest ahead of its share:
    /// inside the pool when the pool is at its part, else over all lanes when
    /// the whole queue is full.
    fn admission(&self, source: &K, class: Class) -> Admission {
        let (lane, weight) = self.lane(*source, class);
        let min_hold = (self.limits.capacity / 64).max(1);
        let half = self.limits.capacity as f64 / 2.0;
        let lane_part = ((half * self.top.share(&lane, weight)) as usize).max(min_hold);
        if lane == Lane::Pool {
            let own = ((lane_part as f64 * self.pool.share(source, 1.0)) as usize).max(min_hold);
            if self.pool.queued(source) >= own {
                return Admission::Wait;
            }
            if self.top.queued(&lane) >= lane_part {
                return if self.pool.behind_heaviest(source, 1.0) {
                    Admission::ShedInPool
                } else {
                    Admission::Wait
                };
            }
        } else if self.top.queued(&lane) >= lane_part {
            return Admission::Wait;
        }
        if self.len() < self.limits.capacity {
            Admission::Queue
        } else if self.top.behind_heaviest(&lane, weight) {
            Admission::ShedHeaviest
        } else {
            Admission::Wait
        }
    }

    /// Whether a push from `source` would be queued now.
    pub fn has_room(&self, source: &K, class: Class) -> bool {
        self.admission(source, class) != Admission::Wait
    }

    /// Queues `item` from `source` unless it holds its share already (see
    /// [`FairSchedule::has_room`]), shedding the newest item of the source
    /// furthest ahead of its share if that is what makes room.
    pub fn push(&mut self, source: K, class: Class, item: T) -> Push<T> {
        let shed = match self.admission(&source, class) {
            Admission::Wait => return Push::Full(item),
            Admission::Queue => None,
            Admission::ShedInPool => self.shed_in_pool(),
            Admission::ShedHeaviest => self.shed_heaviest(),
        };
        let (lane, weight) = self.lane(source, class);
        self.top.push(lane, weight);
        if lane == Lane::Pool {
            self.pool.push(source, 1.0);
        }
        self.items
            .entry((source, lane != Lane::Pool))
            .or_default()
            .push_back(item);
        match shed {
            Some(item) => Push::QueuedShedding(item),
            None => Push::Queued,
        }
    }

    /// Drops the newest item of the unstaked source furthest ahead of its
    /// share of the pool.
    fn shed_in_pool(&mut self) -> Option<T> {
        let (source, _) = self.pool.heaviest()?;
        self.top.shed_newest(Lane::Pool);
        self.pool.shed_newest(source);
        self.take_item((source, false), |queue| queue.pop_back())
    }

    /// Drops the newest item of the source furthest ahead of its share.
    fn shed_heaviest(&mut self) -> Option<T> {
        let (lane, _) = self.top.heaviest()?;
        let source = match lane {
            Lane::Staked(source) => (source, true),
            Lane::Pool => (self.pool.heaviest()?.0, false),
        };
        self.top.shed_newest(lane);
        if lane == Lane::Pool {
            self.pool.shed_newest(source.0);
        }
        self.take_item(source, |queue| queue.pop_back())
    }

    fn take_item(
        &mut self,
        source: (K, bool),
        take: impl FnOnce(&mut VecDeque<T>) -> Option<T>,
    ) -> Option<T> {
        let queue = self.items.get_mut(&source)?;
        let item = take(queue);
        if queue.is_empty() {
            self.items.remove(&source);
        }
        item
    }

    /// Takes the next item in fair order, with its source.
    pub fn pop(&mut self) -> Option<(K, T)> {
        let source = match self.top.pop()? {
            Lane::Staked(source) => (source, true),
            Lane::Pool => (self.pool.pop()?, false),
        };
        let item = self.take_item(source, |queue| queue.pop_front())?;
        Some((source.0, item))
    }

    /// Takes up to `max` items in fair order, then groups them by source
    /// (each source's items together, sources in the order they were first
    /// served, each source's items in arrival order), so a verify batch
    /// holds runs of one source each.
    pub fn take(&mut self, max: usize) -> Vec<T> {
        let mut taken: Vec<(usize, T)> = Vec::with_capacity(max.min(self.len()));
        let mut first_served: HashMap<K, usize> = HashMap::new();
        while taken.len() < max {
            let Some((source, item)) = self.pop() else {
                break;
            };
            let next = first_served.len();
            let rank = *first_served.entry(source).or_insert(next);
            taken.push((rank, item));
        }
        taken.sort_by_key(|(rank, _)| *rank);
        taken.into_iter().map(|(_, item)| item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(capacity: usize) -> FairSchedule<u32, (u32, u32)> {
        FairSchedule::new(FairLimits {
            capacity,
            unstaked_floor: 0.2,
        })
    }

    /// Serves `n` items and counts them per source.
    fn serve(s: &mut FairSchedule<u32, (u32, u32)>, n: usize) -> HashMap<u32, usize> {
        let mut served = HashMap::new();
        for _ in 0..n {
            if let Some((source, _)) = s.pop() {
                *served.entry(source).or_default() += 1;
            }
        }
        served
    }

    #[test]
    fn a_backlogged_flood_does_not_delay_a_source_within_its_share() {
        let mut s = schedule(10_000);
        for i in 0..5_000 {
            assert_eq!(s.push(1, Class::Staked(0.5), (1, i)), Push::Queued);
        }
        s.pop();
        // The honest source's first item goes before the flood's backlog.
        s.push(2, Class::Staked(0.5), (2, 0));
        assert_eq!(s.pop().map(|(source, _)| source), Some(2));
    }

    #[test]
    fn backlogged_staked_sources_are_served_by_stake_share() {
        let mut s = schedule(100_000);
        for i in 0..10_000 {
            s.push(1, Class::Staked(0.75), (1, i));
            s.push(2, Class::Staked(0.25), (2, i));
        }
        let served = serve(&mut s, 4_000);
        assert_eq!(served[&1], 3_000);
        assert_eq!(served[&2], 1_000);
    }

    #[test]
    fn unstaked_sources_share_the_floor_however_many_there_are() {
        let mut s = schedule(1_000_000);
        // One staked source with all the stake, 1,000 unstaked sources.
        for i in 0..20_000 {
            s.push(0, Class::Staked(1.0), (0, i));
        }
        for source in 1..=1_000 {
            for i in 0..20 {
                s.push(source, Class::Unstaked, (source, i));
            }
        }
        let served = serve(&mut s, 10_000);
        let unstaked: usize = served
            .iter()
            .filter(|(k, _)| **k != 0)
            .map(|(_, v)| v)
            .sum();
        // 20 % for the unstaked floor (±1 % for the order sources joined in).
        assert!((1_900..=2_100).contains(&unstaked), "{unstaked}");
        assert!((7_900..=8_100).contains(&served[&0]), "{}", served[&0]);
    }

    #[test]
    fn an_idle_share_goes_to_whoever_has_work() {
        let mut s = schedule(1_000);
        for i in 0..100 {
            s.push(7, Class::Unstaked, (7, i));
        }
        assert_eq!(serve(&mut s, 100)[&7], 100);
        assert!(s.is_empty());
    }

    #[test]
    fn a_lone_burst_holds_half_the_queue_and_waits_never_shed() {
        let mut s = schedule(10);
        let mut queued = 0;
        while let Push::Queued = s.push(1, Class::Staked(0.5), (1, queued)) {
            queued += 1;
        }
        assert_eq!(queued, 5, "half the queue");
        assert!(!s.has_room(&1, Class::Staked(0.5)));
        // Another source finds room without shedding anything.
        assert_eq!(s.push(2, Class::Unstaked, (2, 0)), Push::Queued);
        assert_eq!(s.push(3, Class::Staked(0.1), (3, 0)), Push::Queued);
        // Taking one of the burst's gives it no room while its share shrank.
        s.pop();
        assert!(!s.has_room(&1, Class::Staked(0.5)));
        // Drained below its share, it is read again.
        while s.pop().is_some() {}
        assert!(s.has_room(&1, Class::Staked(0.5)));
    }

    #[test]
    fn a_full_queue_sheds_the_heaviest_source_newest_first() {
        let mut s = schedule(10);
        for i in 0..5 {
            s.push(1, Class::Staked(0.5), (1, i));
        }
        // Five more staked sources, one item each (each at its share).
        for source in 2..=6 {
            assert_eq!(
                s.push(source, Class::Staked(0.5), (source, 0)),
                Push::Queued
            );
        }
        assert_eq!(s.len(), 10);
        // A seventh is behind source 1, the furthest ahead: it sheds that
        // one's newest.
        assert_eq!(
            s.push(7, Class::Staked(0.5), (7, 0)),
            Push::QueuedShedding((1, 4))
        );
        assert_eq!(s.len(), 10);
        // Source 1 itself waits; nothing is shed for it.
        assert_eq!(s.push(1, Class::Staked(0.5), (1, 9)), Push::Full((1, 9)));
        assert_eq!(s.len(), 10);
    }

    #[test]
    fn shedding_a_source_empty_leaves_no_stale_state() {
        let mut s = schedule(2);
        s.push(1, Class::Unstaked, (1, 0));
        s.push(2, Class::Staked(0.9), (2, 0));
        // Source 1 (weight 0.2) is the heaviest; source 3's push sheds it.
        assert_eq!(
            s.push(3, Class::Staked(0.9), (3, 0)),
            Push::QueuedShedding((1, 0))
        );
        assert_eq!(s.sources(), 2);
        let order: Vec<u32> = std::iter::from_fn(|| s.pop().map(|(k, _)| k)).collect();
        assert_eq!(order, vec![2, 3]);
        assert!(s.is_empty());
        assert_eq!(s.sources(), 0);
    }

    #[test]
    fn an_unstaked_flood_sheds_itself_not_an_honest_unstaked_source() {
        let mut s = schedule(128);
        // Fifty flooding sources fill the pool's part (half the queue).
        let mut refused = 0;
        for i in 0..500 {
            let source = 10 + i % 50;
            if let Push::Full(_) = s.push(source, Class::Unstaked, (source, i)) {
                refused += 1;
            }
        }
        assert_eq!(s.len(), 64, "the pool holds half the queue");
        assert!(refused > 0);
        // The honest unstaked source is behind every flooding source: it
        // takes the place of the one furthest ahead.
        assert!(matches!(
            s.push(1, Class::Unstaked, (1, 0)),
            Push::QueuedShedding((flooder, _)) if flooder >= 10
        ));
        assert_eq!(s.len(), 64);
        // Whoever is furthest ahead in the pool now waits instead.
        let heaviest = s.pool.heaviest().map(|(k, _)| k).unwrap_or_default();
        assert!(matches!(
            s.push(heaviest, Class::Unstaked, (heaviest, 999)),
            Push::Full(_)
        ));
    }

    #[test]
    fn take_groups_a_batch_by_source_in_arrival_order() {
        let mut s = schedule(100);
        for i in 0..3 {
            s.push(1, Class::Staked(0.5), (1, i));
            s.push(2, Class::Staked(0.5), (2, i));
        }
        let batch = s.take(6);
        assert_eq!(batch, vec![(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]);
    }

    #[test]
    fn tags_are_rebased_without_changing_the_order() {
        let mut s = schedule(100);
        s.top.virtual_time = REBASE_ABOVE * 2.0;
        for i in 0..10 {
            s.push(1, Class::Staked(0.5), (1, i));
            s.push(2, Class::Staked(0.25), (2, i));
        }
        let first = s.pop();
        assert!(s.top.virtual_time < REBASE_ABOVE);
        let served = serve(&mut s, 5);
        assert_eq!(first.map(|(k, _)| k), Some(1));
        assert_eq!(served.values().sum::<usize>(), 5);
        assert!(served[&1] >= 3);
    }
}
