//! Where this node's scans of the busiest indexes start, so that rows a
//! long transaction keeps alive do not slow the queue down.
//!
//! PostgreSQL removes a row that was deleted, or that an update moved out of
//! a partial index, only once no snapshot that could still see it is open.
//! A long transaction anywhere in the database (a report, a backup, a psql
//! session left open) therefore keeps every such row, and its index entry,
//! for as long as it runs. In the queue those entries sit at the front of
//! the index ranges the claims read, because work runs oldest first: a claim
//! that starts at the front visits, one by one in the heap, every request
//! that ran since the old snapshot was taken before it reaches one that is
//! still ready. Each claim then costs more than the last, the queue falls
//! behind, and it falls behind faster the more it holds: the well-known
//! death spiral of queues in PostgreSQL. The outbox, conversation time-outs
//! and retention purges read their indexes oldest first too.
//!
//! So those scans start at a floor instead: a key below which, as far as
//! this node can tell, the range holds nothing the scan looks for. A floor
//! rises past what a scan found and dealt with, but never above
//! [`VISIBILITY_MARGIN_MS`] before the scan's `now`, because a row stamped
//! with a time can become visible a little later (its transaction was
//! still committing, or another node's clock is a little behind).
//!
//! A floor is a hint, never a rule: a row can still end up below one (a
//! claim another node rolled back, a commit slower than the margin, a node
//! whose clock is further behind). So every floor is forgotten from time to
//! time and the next scan starts at the front again: every
//! [`MIN_RESCAN`], or, while that first scan is slow (it is exactly while a
//! long transaction holds many dead entries), often enough that such scans
//! take about a fiftieth of the time. A row below a floor thus waits at most
//! that long. A floor raised by a transaction that is then rolled back is
//! forgotten at once.
//!
//! The ready queue needs one more thing. Finding the next account with ready
//! work in a lane, by walking the lane's index, crosses the dead entries at
//! the front of every account's range; so the node keeps, per lane, the
//! accounts that have ready work, each with its own floor. It learns them by
//! walking the index (at start and at every rescan) and from notes: every
//! transaction that makes a request ready names its lane and account, to
//! this node at once and to the others by `NOTIFY`.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use confab_core::options::QueuePriority;

/// How long after the time it was stamped with a row may become visible to
/// other transactions: the commit of the transaction that wrote it, and
/// the difference between the clocks of two nodes. Rows later than this
/// wait for the next rescan.
pub(crate) const VISIBILITY_MARGIN_MS: i64 = 1_000;

/// The least time between two scans of one range from its front.
pub(crate) const MIN_RESCAN: Duration = Duration::from_secs(10);

/// The most time between two scans of one range from its front.
const MAX_RESCAN: Duration = Duration::from_secs(600);

/// How many times what a scan from the front cost passes before the next.
const RESCAN_COST_FACTOR: u32 = 50;

/// When the next scan from the front is due after one that took `cost`.
fn rescan_after(cost: Duration) -> Duration {
    cost.saturating_mul(RESCAN_COST_FACTOR)
        .clamp(MIN_RESCAN, MAX_RESCAN)
}

/// The highest a floor may rise at `now_ms`.
fn ceiling(now_ms: i64) -> i64 {
    now_ms.saturating_sub(VISIBILITY_MARGIN_MS)
}

/// A floor on one index range: where its next scan starts.
#[derive(Debug, Default)]
pub(crate) struct Floor {
    key: Option<i64>,
    rescan_at: Option<Instant>,
}

impl Floor {
    /// The key the next scan starts from, or `None` for the front: when
    /// nothing is known yet, or a rescan is due.
    pub(crate) fn start(&mut self) -> Option<i64> {
        if self.rescan_at.is_some_and(|at| Instant::now() >= at) {
            self.key = None;
        }
        self.key
    }

    /// Records that a scan started at the front and took `cost`, which sets
    /// when the next one is due.
    pub(crate) fn scanned_from_front(&mut self, cost: Duration) {
        self.rescan_at = Some(Instant::now() + rescan_after(cost));
    }

    /// Raises the floor to `key`, but not above the margin before `now_ms`.
    pub(crate) fn raise(&mut self, key: i64, now_ms: i64) {
        raise(&mut self.key, key, now_ms);
    }
}

/// What the node knows of one account's ready work in one lane.
#[derive(Debug, Clone, Copy)]
struct LaneAccount {
    /// No ready request of the account in the lane lies below this.
    floor: Option<i64>,
    /// Whether the account may have ready work in the lane.
    active: bool,
    /// When its earliest ready request falls due, if that is later than
    /// the last look.
    idle_until: Option<i64>,
}

impl Default for LaneAccount {
    fn default() -> Self {
        Self {
            floor: None,
            active: true,
            idle_until: None,
        }
    }
}

/// What the node knows of the ready queue: per lane, the accounts that have
/// had ready work, with their floors.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    lanes: [BTreeMap<i64, LaneAccount>; 3],
    discovered: bool,
    rescan_at: Option<Instant>,
}

/// The slot of a lane.
fn lane_slot(lane: QueuePriority) -> usize {
    match lane {
        QueuePriority::High => 0,
        QueuePriority::Medium => 1,
        QueuePriority::Low => 2,
    }
}

impl ReadyQueue {
    /// Whether the accounts must be found by walking the index: at first,
    /// after [`Floors::forget_ready`], and when a rescan is due.
    pub(crate) fn needs_discovery(&self) -> bool {
        !self.discovered || self.rescan_at.is_some_and(|at| Instant::now() >= at)
    }

    /// Starts over from what a walk of the index found: the accounts with
    /// ready work in each lane, with no floors yet. The walk took `cost`.
    pub(crate) fn discovered(&mut self, found: [Vec<i64>; 3], cost: Duration) {
        for (lane, accounts) in self.lanes.iter_mut().zip(found) {
            *lane = accounts
                .into_iter()
                .map(|account| (account, LaneAccount::default()))
                .collect();
        }
        self.discovered = true;
        self.rescan_at = Some(Instant::now() + rescan_after(cost));
    }

    /// Takes note that `account` has new ready work in the lane of `rank`.
    fn note(&mut self, rank: i32, account: i64) {
        let slot = lane_slot(QueuePriority::from_rank(rank));
        let entry = self.lanes[slot].entry(account).or_default();
        entry.active = true;
        entry.idle_until = None;
    }

    /// The first account after `after` that may have work due by `now_ms`
    /// in `lane`.
    pub(crate) fn next_account(
        &mut self,
        lane: QueuePriority,
        after: Option<i64>,
        now_ms: i64,
    ) -> Option<i64> {
        let from = after.map_or(i64::MIN, |after| after.saturating_add(1));
        if after == Some(i64::MAX) {
            return None;
        }
        self.lanes[lane_slot(lane)]
            .range(from..)
            .find(|(_, known)| known.active && known.idle_until.is_none_or(|at| at <= now_ms))
            .map(|(account, _)| *account)
    }

    /// Whether any account may have work due by `now_ms`, or the accounts
    /// must be found again: when neither, a worker has nothing to ask the
    /// database.
    pub(crate) fn may_have_due_work(&self, now_ms: i64) -> bool {
        self.needs_discovery()
            || self.lanes.iter().flat_map(BTreeMap::values).any(|known| {
                known.active && known.idle_until.is_none_or(|at| at <= now_ms)
            })
    }

    /// Where the scan for `account`'s next due request in `lane` starts.
    pub(crate) fn floor(&self, lane: QueuePriority, account: i64) -> Option<i64> {
        self.lanes[lane_slot(lane)]
            .get(&account)
            .and_then(|known| known.floor)
    }

    /// Records that a request of `account` that fell due at `run_after_ms`
    /// was claimed: nothing of the account's ready work lies before it.
    pub(crate) fn claimed(
        &mut self,
        lane: QueuePriority,
        account: i64,
        run_after_ms: i64,
        now_ms: i64,
    ) {
        let known = self.lanes[lane_slot(lane)].entry(account).or_default();
        raise(&mut known.floor, run_after_ms, now_ms);
        known.active = true;
        known.idle_until = None;
    }

    /// Records that `account` had nothing due in `lane` at `now_ms`, and
    /// that its earliest ready request, if any, falls due at `next_ms`.
    pub(crate) fn dry(
        &mut self,
        lane: QueuePriority,
        account: i64,
        next_ms: Option<i64>,
        now_ms: i64,
    ) {
        let known = self.lanes[lane_slot(lane)].entry(account).or_default();
        match next_ms {
            None => {
                raise(&mut known.floor, now_ms, now_ms);
                known.active = false;
            }
            Some(next) => {
                raise(&mut known.floor, next, now_ms);
                known.idle_until = (next > now_ms).then_some(next);
            }
        }
    }
}

/// Raises an optional floor (see [`Floor::raise`]).
fn raise(floor: &mut Option<i64>, key: i64, now_ms: i64) {
    let key = key.min(ceiling(now_ms));
    *floor = Some(floor.map_or(key, |floor| floor.max(key)));
}

/// Which floors a transaction raised, so that they can be forgotten if it
/// is rolled back.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raised {
    ready: bool,
    deliveries: bool,
    housekeeping: bool,
}

impl Raised {
    /// Every floor, for a transaction whose outcome is unknown.
    pub(crate) const ALL: Self = Self {
        ready: true,
        deliveries: true,
        housekeeping: true,
    };
}

/// What one transaction leaves for after its commit: the lanes and accounts
/// it made work ready in, and the floors it raised.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    ready: HashSet<(i32, i64)>,
    raised: Raised,
}

impl Notes {
    /// Takes note that the transaction made work ready in the lane of
    /// `rank` for `account`.
    pub(crate) fn ready(&mut self, rank: i32, account: i64) {
        self.ready.insert((rank, account));
    }

    /// The lanes (by rank) and accounts the transaction made work ready in.
    pub(crate) fn ready_work(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.ready.iter().copied()
    }

    /// The notes to send to other nodes, as `NOTIFY` payloads.
    pub(crate) fn payloads(&self) -> Vec<String> {
        self.ready
            .iter()
            .map(|(rank, account)| format!("{rank}:{account}"))
            .collect()
    }

    /// Which floors were raised since the last [`Notes::take_raised`], which
    /// starts the count again.
    pub(crate) fn take_raised(&mut self) -> Raised {
        std::mem::take(&mut self.raised)
    }

    /// Records that the ready queue's floors were raised.
    pub(crate) fn raised_ready(&mut self) {
        self.raised.ready = true;
    }

    /// Records that the outbox's floor was raised.
    pub(crate) fn raised_deliveries(&mut self) {
        self.raised.deliveries = true;
    }

    /// Records that a housekeeping floor was raised.
    pub(crate) fn raised_housekeeping(&mut self) {
        self.raised.housekeeping = true;
    }
}

/// Reads a `NOTIFY` payload written by [`Notes::payloads`].
pub(crate) fn parse_payload(payload: &str) -> Option<(i32, i64)> {
    let (rank, account) = payload.split_once(':')?;
    Some((rank.parse().ok()?, account.parse().ok()?))
}

/// This node's floors, shared by its writers, its worker and its listener.
#[derive(Debug, Default)]
pub(crate) struct Floors {
    ready: Mutex<ReadyQueue>,
    /// Notes that arrived since the worker last looked: from this node's
    /// commits and other nodes' notifications.
    inbox: Mutex<HashSet<(i32, i64)>>,
    deliveries: Mutex<Floor>,
    housekeeping: Mutex<BTreeMap<&'static str, Floor>>,
}

/// Locks `mutex`; a panic elsewhere while it was held leaves plain data
/// behind, still good to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Floors {
    /// The ready queue, with the notes that arrived since applied: for
    /// choosing the next account.
    pub(crate) fn ready_with_notes(&self) -> MutexGuard<'_, ReadyQueue> {
        let notes = std::mem::take(&mut *lock(&self.inbox));
        let mut ready = lock(&self.ready);
        for (rank, account) in notes {
            ready.note(rank, account);
        }
        ready
    }

    /// The ready queue as it stands, notes left waiting: for recording what
    /// a scan found. A note that arrived during the scan must outlive the
    /// scan's finding that an account had nothing, or the work it tells of
    /// would wait for a rescan.
    pub(crate) fn ready(&self) -> MutexGuard<'_, ReadyQueue> {
        lock(&self.ready)
    }

    /// Takes the notes of a committed transaction, or of a notification.
    pub(crate) fn post(&self, notes: impl IntoIterator<Item = (i32, i64)>) {
        lock(&self.inbox).extend(notes);
    }

    /// The outbox's floor.
    pub(crate) fn deliveries(&self) -> MutexGuard<'_, Floor> {
        lock(&self.deliveries)
    }

    /// Runs `scan` with the housekeeping floor named `range`.
    pub(crate) fn housekeeping<T>(
        &self,
        range: &'static str,
        scan: impl FnOnce(&mut Floor) -> T,
    ) -> T {
        scan(lock(&self.housekeeping).entry(range).or_default())
    }

    /// Forgets what the ready queue's floors say: the accounts are found
    /// again by walking the index, at the next claim.
    pub(crate) fn forget_ready(&self) {
        lock(&self.ready).discovered = false;
    }

    /// Forgets the floors a rolled-back transaction raised.
    pub(crate) fn forget(&self, raised: Raised) {
        if raised.ready {
            self.forget_ready();
        }
        if raised.deliveries {
            *lock(&self.deliveries) = Floor::default();
        }
        if raised.housekeeping {
            lock(&self.housekeeping).clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;
    const ACCOUNT: i64 = 7_000_001;
    const MEDIUM: QueuePriority = QueuePriority::Medium;

    /// Floors that know one account with ready work in the Medium lane.
    fn floors_knowing_one_account() -> Floors {
        let floors = Floors::default();
        let found = [Vec::new(), vec![ACCOUNT], Vec::new()];
        floors.ready().discovered(found, Duration::ZERO);
        floors
    }

    #[test]
    fn a_floor_never_rises_within_the_margin_of_now() {
        let mut floor = Floor::default();
        floor.raise(NOW + 5_000, NOW);
        assert_eq!(floor.start(), Some(NOW - VISIBILITY_MARGIN_MS));
        floor.raise(NOW - 60_000, NOW);
        assert_eq!(
            floor.start(),
            Some(NOW - VISIBILITY_MARGIN_MS),
            "never lowered"
        );
    }

    #[test]
    fn a_claim_raises_the_accounts_floor_to_what_it_took() {
        let floors = floors_knowing_one_account();
        floors.ready().claimed(MEDIUM, ACCOUNT, NOW - 60_000, NOW);
        assert_eq!(floors.ready().floor(MEDIUM, ACCOUNT), Some(NOW - 60_000));
    }

    #[test]
    fn an_account_found_dry_is_passed_over_until_a_note_names_it() {
        let floors = floors_knowing_one_account();
        floors.ready().dry(MEDIUM, ACCOUNT, None, NOW);
        assert_eq!(
            floors.ready_with_notes().next_account(MEDIUM, None, NOW),
            None
        );

        floors.post([(MEDIUM.rank(), ACCOUNT)]);
        let next = floors.ready_with_notes().next_account(MEDIUM, None, NOW);
        assert_eq!(next, Some(ACCOUNT));
    }

    #[test]
    fn a_note_that_arrives_during_a_scan_outlives_the_scan_finding_nothing() {
        let floors = floors_knowing_one_account();
        // The scan starts, the note of a commit it did not see arrives, and
        // then the scan records that it found nothing.
        floors.post([(MEDIUM.rank(), ACCOUNT)]);
        floors.ready().dry(MEDIUM, ACCOUNT, None, NOW);
        let next = floors.ready_with_notes().next_account(MEDIUM, None, NOW);
        assert_eq!(next, Some(ACCOUNT));
    }

    #[test]
    fn an_account_whose_work_falls_due_later_waits_until_then() {
        let floors = floors_knowing_one_account();
        floors.ready().dry(MEDIUM, ACCOUNT, Some(NOW + 60_000), NOW);
        let mut ready = floors.ready_with_notes();
        assert_eq!(ready.next_account(MEDIUM, None, NOW + 59_999), None);
        assert_eq!(
            ready.next_account(MEDIUM, None, NOW + 60_000),
            Some(ACCOUNT)
        );
        assert_eq!(
            ready.next_account(MEDIUM, Some(ACCOUNT), NOW + 60_000),
            None
        );
        assert_eq!(
            ready.next_account(QueuePriority::High, None, NOW + 60_000),
            None
        );
    }

    #[test]
    fn a_worker_asks_the_database_only_when_work_may_be_due() {
        let floors = Floors::default();
        assert!(floors.ready().may_have_due_work(NOW), "nothing found yet");
        let floors = floors_knowing_one_account();
        floors.ready().dry(MEDIUM, ACCOUNT, Some(NOW + 60_000), NOW);
        assert!(!floors.ready().may_have_due_work(NOW));
        assert!(floors.ready().may_have_due_work(NOW + 60_000));
        floors.ready().dry(MEDIUM, ACCOUNT, None, NOW);
        assert!(!floors.ready_with_notes().may_have_due_work(NOW + 60_000));
        floors.post([(QueuePriority::Low.rank(), ACCOUNT)]);
        assert!(floors.ready_with_notes().may_have_due_work(NOW));
    }

    #[test]
    fn a_rolled_back_claim_makes_the_accounts_be_found_again() {
        let floors = floors_knowing_one_account();
        let mut notes = Notes::default();
        notes.raised_ready();
        assert!(!floors.ready().needs_discovery());
        floors.forget(notes.take_raised());
        assert!(floors.ready().needs_discovery());
        assert_eq!(notes.take_raised(), Raised::default(), "taking starts over");
    }

    #[test]
    fn notes_travel_as_payloads_and_back() {
        let mut notes = Notes::default();
        notes.ready(MEDIUM.rank(), ACCOUNT);
        notes.ready(MEDIUM.rank(), ACCOUNT);
        let payloads = notes.payloads();
        assert_eq!(payloads, ["2:7000001"]);
        assert_eq!(parse_payload(&payloads[0]), Some((2, ACCOUNT)));
        assert_eq!(parse_payload("2:x"), None);
        assert_eq!(parse_payload(""), None);
    }
}
