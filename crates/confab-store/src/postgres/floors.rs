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
//! this node can tell, the range holds nothing the scan looks for.
//!
//! - A floor rises past what a scan found and dealt with, but never past a
//!   row another transaction holds (a claim on another node, a cancel), and
//!   never above [`VISIBILITY_MARGIN_MS`] before the scan's `now`.
//! - A floor falls to the earliest stamp a committed transaction wrote into
//!   its range: every transaction that makes work ready or writes a
//!   callback leaves a [`Note`] of the stamp, applied here after its commit
//!   and sent to the other nodes by `NOTIFY`. A row that took long to
//!   commit (a request that ran for seconds before its callbacks were
//!   committed) is so still found.
//!
//! A floor is a hint, never a rule: a row can still end up below one, when
//! its note is lost (a node's listener was disconnected) or was never sent
//! (purges and time-outs take none). So every floor is forgotten from time
//! to time and the next scan starts at the front again: every
//! [`MIN_RESCAN`], or, while that first scan is slow (it is exactly while a
//! long transaction holds many dead entries), often enough that such scans
//! take about a fiftieth of the time. A row below a floor thus waits at most
//! that long. A floor raised by a transaction that is then rolled back is
//! forgotten at once.
//!
//! The ready queue needs one more thing. Finding the next account with ready
//! work in a lane, by walking the lane's index, crosses the dead entries at
//! the front of every account's range; so the node keeps, per lane, the
//! accounts that have ready work, each with its own floor. It learns them
//! from the notes, and by walking the index at start and at every rescan.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use confab_core::options::QueuePriority;

use crate::fairness::lane_index;

/// How long after the time it was stamped with a row may become visible to
/// other transactions without a note that says so: the difference between
/// the clocks of two nodes, and a little more.
const VISIBILITY_MARGIN_MS: i64 = 1_000;

/// The least time between two scans of one range from its front.
const MIN_RESCAN: Duration = Duration::from_secs(10);

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

/// Raises an optional floor to `key`, but not above the margin before
/// `now_ms`; never lowers it.
fn raise(floor: &mut Option<i64>, key: i64, now_ms: i64) {
    let key = key.min(ceiling(now_ms));
    *floor = Some(floor.map_or(key, |floor| floor.max(key)));
}

/// Lowers an optional floor to `key`; a floor not set yet stays unset, since
/// its scan starts at the front anyway.
fn lower(floor: &mut Option<i64>, key: i64) {
    if let Some(floor) = floor {
        *floor = (*floor).min(key);
    }
}

/// A floor on one index range: where its next scan starts.
#[derive(Debug, Default)]
pub(crate) struct Floor {
    /// The key the next scan starts from; `None` for the front.
    key: Option<i64>,
    /// When the next scan must start from the front again.
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
    /// Which note or discovery last told of it (see [`ScanStart`]).
    version: u64,
    /// The latest notes' versions and stamps, newest last, so that a scan
    /// that overlapped some can still raise the floor below all of them.
    recent_notes: [Option<(u64, i64)>; NOTE_HISTORY],
    /// The newest version no longer in `recent_notes` (or the discovery
    /// that started the entry): a scan that began before it cannot tell
    /// which notes it overlapped.
    forgotten_up_to: u64,
}

/// How many notes an account's entry remembers. A scan overlaps about one
/// note per other worker of the node, each applying the notes gathered
/// since the last.
const NOTE_HISTORY: usize = 8;

impl Default for LaneAccount {
    fn default() -> Self {
        Self {
            floor: None,
            active: true,
            idle_until: None,
            version: 0,
            recent_notes: [None; NOTE_HISTORY],
            forgotten_up_to: 0,
        }
    }
}

impl LaneAccount {
    /// Remembers the note of `version`, stamped `since_ms`.
    fn remember_note(&mut self, version: u64, since_ms: i64) {
        if let Some((oldest, _)) = self.recent_notes[0] {
            self.forgotten_up_to = self.forgotten_up_to.max(oldest);
        }
        self.recent_notes.rotate_left(1);
        self.recent_notes[NOTE_HISTORY - 1] = Some((version, since_ms));
        self.version = version;
    }

    /// The earliest stamp of the notes applied since `scan` began: `Some`
    /// of it (`Some(None)` for no note), or `None` when some of them are
    /// forgotten or a discovery came between.
    fn notes_since(&self, scan: ScanStart) -> Option<Option<i64>> {
        if self.version == scan.version {
            return Some(None);
        }
        if scan.version < self.forgotten_up_to {
            return None;
        }
        let since = self.recent_notes.iter().flatten();
        let overlapped = since.filter(|(version, _)| *version > scan.version);
        Some(overlapped.map(|(_, since_ms)| *since_ms).min())
    }
}

/// What a scan of one account's range knew when it started. A node's
/// workers share the floors: while one scans, another may apply a note of
/// work the scan cannot see (committed after its snapshot). What the scan
/// then found must not be recorded over that note, or the account would be
/// passed over, or its floor raised past the work, until the next rescan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanStart {
    version: u64,
}

/// What the node knows of the ready queue: per lane, the accounts that have
/// had ready work, with their floors.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    /// Per lane (see [`lane_index`]), by account.
    lanes: [BTreeMap<i64, LaneAccount>; 3],
    /// Whether the accounts were found by walking the index since the last
    /// [`Floors::forget_ready`].
    discovered: bool,
    /// When they must be found again.
    rescan_at: Option<Instant>,
    /// The last version given to an account by a note or a discovery.
    versions: u64,
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
        self.versions += 1;
        let version = self.versions;
        for (lane, accounts) in self.lanes.iter_mut().zip(found) {
            *lane = accounts
                .into_iter()
                .map(|account| {
                    let known = LaneAccount {
                        version,
                        forgotten_up_to: version,
                        ..LaneAccount::default()
                    };
                    (account, known)
                })
                .collect();
        }
        self.discovered = true;
        self.rescan_at = Some(Instant::now() + rescan_after(cost));
    }

    /// Takes note that `account` has new ready work in the lane of `rank`,
    /// the earliest of it due at `since_ms`.
    fn note(&mut self, rank: i32, account: i64, since_ms: i64) {
        let lane = lane_index(QueuePriority::from_rank(rank));
        self.versions += 1;
        let known = self.lanes[lane].entry(account).or_default();
        known.active = true;
        known.idle_until = None;
        known.remember_note(self.versions, since_ms);
        lower(&mut known.floor, since_ms);
    }

    /// The first account after `after` that may have work due by `now_ms`
    /// in `lane`.
    pub(crate) fn next_account(
        &self,
        lane: QueuePriority,
        after: Option<i64>,
        now_ms: i64,
    ) -> Option<i64> {
        let from = match after {
            Some(i64::MAX) => return None,
            Some(after) => after + 1,
            None => i64::MIN,
        };
        self.lanes[lane_index(lane)]
            .range(from..)
            .find(|(_, known)| known.may_be_due(now_ms))
            .map(|(account, _)| *account)
    }

    /// Whether any account may have work due by `now_ms`, or the accounts
    /// must be found again: when neither, a worker has nothing to ask the
    /// database.
    pub(crate) fn may_have_due_work(&self, now_ms: i64) -> bool {
        self.needs_discovery()
            || self
                .lanes
                .iter()
                .flat_map(BTreeMap::values)
                .any(|known| known.may_be_due(now_ms))
    }

    /// Where the scan for `account`'s next due request in `lane` starts.
    pub(crate) fn floor(&self, lane: QueuePriority, account: i64) -> Option<i64> {
        self.lanes[lane_index(lane)]
            .get(&account)
            .and_then(|known| known.floor)
    }

    /// Marks the start of a scan of `account`'s range in `lane`, taken
    /// with its [`ReadyQueue::floor`] and before the scan's statement.
    pub(crate) fn start_scan(&self, lane: QueuePriority, account: i64) -> ScanStart {
        let version = self.lanes[lane_index(lane)]
            .get(&account)
            .map_or(0, |known| known.version);
        ScanStart { version }
    }

    /// Records that a request of `account` was claimed by the scan begun at
    /// `scan` and that the account's earliest ready request from its floor,
    /// claimed or held by another transaction, falls due at `earliest_ms`.
    pub(crate) fn claimed(
        &mut self,
        lane: QueuePriority,
        account: i64,
        earliest_ms: i64,
        now_ms: i64,
        scan: ScanStart,
    ) {
        let known = self.lanes[lane_index(lane)].entry(account).or_default();
        // A note applied during the scan may tell of work the scan could
        // not see: the floor rises, but not past it.
        if let Some(noted) = known.notes_since(scan) {
            let key = noted.map_or(earliest_ms, |noted| noted.min(earliest_ms));
            raise(&mut known.floor, key, now_ms);
        }
        known.active = true;
        known.idle_until = None;
    }

    /// Records that the scan begun at `scan` found nothing of `account`
    /// due in `lane` at `now_ms` that could be claimed, and that its
    /// earliest ready request, if any, falls due at `next_ms`.
    pub(crate) fn dry(
        &mut self,
        lane: QueuePriority,
        account: i64,
        next_ms: Option<i64>,
        now_ms: i64,
        scan: ScanStart,
    ) {
        let known = self.lanes[lane_index(lane)].entry(account).or_default();
        if known.version != scan.version {
            // A note told of work since the scan began; it stands.
            return;
        }
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

impl LaneAccount {
    /// Whether the account may have work due by `now_ms`.
    fn may_be_due(&self, now_ms: i64) -> bool {
        self.active && self.idle_until.is_none_or(|at| at <= now_ms)
    }
}

/// Which floors a transaction raised, so that they can be forgotten if it
/// is rolled back.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raised {
    /// The ready queue's.
    ready: bool,
    /// The outbox's.
    deliveries: bool,
    /// The time-outs' and purges'.
    housekeeping: bool,
}

impl Raised {
    /// The floors either raised.
    pub(crate) fn union(self, other: Self) -> Self {
        Self {
            ready: self.ready || other.ready,
            deliveries: self.deliveries || other.deliveries,
            housekeeping: self.housekeeping || other.housekeeping,
        }
    }
}

/// A committed transaction's news for the floors: where it put work a floor
/// may have passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Note {
    /// It made work of `account` ready in the lane of `rank`, the earliest
    /// of it due at `since_ms`.
    Ready {
        rank: i32,
        account: i64,
        since_ms: i64,
    },
    /// It wrote callbacks, the earliest of them due at `since_ms`.
    Deliveries { since_ms: i64 },
}

impl Note {
    /// The note as a `NOTIFY` payload.
    pub(crate) fn payload(self) -> String {
        match self {
            Self::Ready {
                rank,
                account,
                since_ms,
            } => format!("ready:{rank}:{account}:{since_ms}"),
            Self::Deliveries { since_ms } => format!("deliveries:{since_ms}"),
        }
    }

    /// Reads a payload written by [`Note::payload`].
    pub(crate) fn parse(payload: &str) -> Option<Self> {
        let mut fields = payload.split(':');
        let note = match fields.next()? {
            "ready" => Self::Ready {
                rank: fields.next()?.parse().ok()?,
                account: fields.next()?.parse().ok()?,
                since_ms: fields.next()?.parse().ok()?,
            },
            "deliveries" => Self::Deliveries {
                since_ms: fields.next()?.parse().ok()?,
            },
            _ => return None,
        };
        fields.next().is_none().then_some(note)
    }
}

/// The earliest stamp per range of the notes gathered so far.
#[derive(Debug, Default)]
struct Gathered {
    ready: HashMap<(i32, i64), i64>,
    deliveries: Option<i64>,
}

impl Gathered {
    /// Adds `note`, keeping the earliest stamp per range.
    fn add(&mut self, note: Note) {
        match note {
            Note::Ready {
                rank,
                account,
                since_ms,
            } => {
                let earliest = self.ready.entry((rank, account)).or_insert(since_ms);
                *earliest = (*earliest).min(since_ms);
            }
            Note::Deliveries { since_ms } => {
                let earliest = self.deliveries.get_or_insert(since_ms);
                *earliest = (*earliest).min(since_ms);
            }
        }
    }

    /// The gathered notes, one per range.
    fn notes(&self) -> impl Iterator<Item = Note> + '_ {
        let ready = self
            .ready
            .iter()
            .map(|(&(rank, account), &since_ms)| Note::Ready {
                rank,
                account,
                since_ms,
            });
        let deliveries = self
            .deliveries
            .map(|since_ms| Note::Deliveries { since_ms });
        ready.chain(deliveries)
    }
}

/// What one transaction leaves for after its commit: its notes, and the
/// floors it raised.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    gathered: Gathered,
    raised: Raised,
}

impl Notes {
    /// Takes note of work the transaction wrote (see [`Note`]).
    pub(crate) fn add(&mut self, note: Note) {
        self.gathered.add(note);
    }

    /// The transaction's notes, one per range.
    pub(crate) fn notes(&self) -> impl Iterator<Item = Note> + '_ {
        self.gathered.notes()
    }

    /// The notes as `NOTIFY` payloads for the other nodes.
    pub(crate) fn payloads(&self) -> Vec<String> {
        self.notes().map(Note::payload).collect()
    }

    /// Which floors were raised since the last [`Notes::take_raised`], which
    /// starts the count again.
    pub(crate) fn take_raised(&mut self) -> Raised {
        std::mem::take(&mut self.raised)
    }

    /// Counts `raised` as raised again (after [`Notes::take_raised`]).
    pub(crate) fn restore_raised(&mut self, raised: Raised) {
        self.raised = self.raised.union(raised);
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

/// A transaction's notes, and what becomes of them: posted to the floors
/// once it committed ([`TransactionNotes::committed`]); if it did not, for
/// whatever reason (an error, a lost connection, a panic), the floors it
/// raised are forgotten when this is dropped.
pub(crate) struct TransactionNotes<'f> {
    floors: &'f Floors,
    /// What the transaction wrote and raised so far.
    pub(crate) notes: Notes,
    committed: bool,
}

impl<'f> TransactionNotes<'f> {
    /// Notes for a transaction about to start on this node.
    pub(crate) fn new(floors: &'f Floors) -> Self {
        Self {
            floors,
            notes: Notes::default(),
            committed: false,
        }
    }

    /// The transaction committed: its notes reach this node's floors.
    pub(crate) fn committed(mut self) {
        self.floors.post(self.notes.notes());
        self.committed = true;
    }
}

impl Drop for TransactionNotes<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.floors.forget(self.notes.take_raised());
        }
    }
}

/// This node's floors, shared by its writers, its worker and its listener.
#[derive(Debug, Default)]
pub(crate) struct Floors {
    /// The ready queue's floors, and the accounts it knows.
    ready: Mutex<ReadyQueue>,
    /// Notes that arrived since they were last applied: from this node's
    /// commits and other nodes' notifications.
    inbox: Mutex<Gathered>,
    /// The outbox's floor.
    deliveries: Mutex<Floor>,
    /// The time-outs' and purges' floors, by the range they scan.
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
    pub(crate) fn ready_queue_with_notes(&self) -> MutexGuard<'_, ReadyQueue> {
        let arrived = std::mem::take(&mut lock(&self.inbox).ready);
        let mut ready = lock(&self.ready);
        for ((rank, account), since_ms) in arrived {
            ready.note(rank, account, since_ms);
        }
        ready
    }

    /// The ready queue as it stands, notes left waiting: for recording what
    /// a scan found. A note that arrived during the scan must outlive the
    /// scan's finding that an account had nothing, or the work it tells of
    /// would wait for a rescan.
    pub(crate) fn ready_queue(&self) -> MutexGuard<'_, ReadyQueue> {
        lock(&self.ready)
    }

    /// Takes the notes of a committed transaction, or of a notification.
    pub(crate) fn post(&self, notes: impl IntoIterator<Item = Note>) {
        let mut inbox = lock(&self.inbox);
        for note in notes {
            inbox.add(note);
        }
    }

    /// Where the outbox's next scan starts (see [`Floor::start`]), with the
    /// notes that arrived since applied.
    pub(crate) fn deliveries_start(&self) -> Option<i64> {
        let arrived = lock(&self.inbox).deliveries.take();
        let mut floor = lock(&self.deliveries);
        if let Some(since_ms) = arrived {
            lower(&mut floor.key, since_ms);
        }
        floor.start()
    }

    /// The outbox's floor as it stands, notes left waiting: for recording
    /// what a scan found (see [`Floors::ready_queue`] for why).
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

    /// The note of ready work of [`ACCOUNT`] in `lane` since `since_ms`.
    fn ready_note(lane: QueuePriority, since_ms: i64) -> Note {
        Note::Ready {
            rank: lane.rank(),
            account: ACCOUNT,
            since_ms,
        }
    }

    /// The start of a scan of [`ACCOUNT`]'s range in the Medium lane.
    fn scan(floors: &Floors) -> ScanStart {
        floors.ready_queue().start_scan(MEDIUM, ACCOUNT)
    }

    /// Floors that know one account with ready work in the Medium lane.
    fn floors_knowing_one_account() -> Floors {
        let floors = Floors::default();
        let found = [Vec::new(), vec![ACCOUNT], Vec::new()];
        floors.ready_queue().discovered(found, Duration::ZERO);
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
        let start = scan(&floors);
        floors
            .ready_queue()
            .claimed(MEDIUM, ACCOUNT, NOW - 60_000, NOW, start);
        assert_eq!(
            floors.ready_queue().floor(MEDIUM, ACCOUNT),
            Some(NOW - 60_000)
        );
    }

    #[test]
    fn an_account_found_dry_is_passed_over_until_a_note_names_it() {
        let floors = floors_knowing_one_account();
        let start = scan(&floors);
        floors.ready_queue().dry(MEDIUM, ACCOUNT, None, NOW, start);
        assert_eq!(
            floors
                .ready_queue_with_notes()
                .next_account(MEDIUM, None, NOW),
            None
        );

        floors.post([ready_note(MEDIUM, NOW - 5_000)]);
        let next = floors
            .ready_queue_with_notes()
            .next_account(MEDIUM, None, NOW);
        assert_eq!(next, Some(ACCOUNT));
    }

    #[test]
    fn a_note_that_arrives_during_a_scan_outlives_the_scan_finding_nothing() {
        let floors = floors_knowing_one_account();
        // The scan starts, the note of a commit it did not see arrives, and
        // then the scan records that it found nothing.
        let start = scan(&floors);
        floors.post([ready_note(MEDIUM, NOW - 5_000)]);
        floors.ready_queue().dry(MEDIUM, ACCOUNT, None, NOW, start);
        let ready = floors.ready_queue_with_notes();
        assert_eq!(ready.next_account(MEDIUM, None, NOW), Some(ACCOUNT));
        assert_eq!(ready.floor(MEDIUM, ACCOUNT), Some(NOW - 5_000));
    }

    /// Floors whose account was claimed up to a minute before [`NOW`],
    /// and a scan of it begun after that.
    fn floors_mid_scan() -> (Floors, ScanStart) {
        let floors = floors_knowing_one_account();
        let start = scan(&floors);
        floors
            .ready_queue()
            .claimed(MEDIUM, ACCOUNT, NOW - 60_000, NOW, start);
        let started = scan(&floors);
        (floors, started)
    }

    /// A commit posts the note of work since `since_ms`, and another
    /// worker applies it (choosing its next account).
    fn note_applied_by_another_worker(floors: &Floors, since_ms: i64) {
        floors.post([ready_note(MEDIUM, since_ms)]);
        drop(floors.ready_queue_with_notes());
    }

    #[test]
    fn a_note_another_worker_applied_during_a_scan_outlives_the_scan_finding_nothing() {
        // Worker 1 reads the account's floor and starts its scan; a commit
        // it does not see posts its note; worker 2 applies the note; then
        // worker 1 records that its scan found nothing.
        let (floors, scan) = floors_mid_scan();
        note_applied_by_another_worker(&floors, NOW - 5_000);
        floors.ready_queue().dry(MEDIUM, ACCOUNT, None, NOW, scan);
        let ready = floors.ready_queue_with_notes();
        assert_eq!(ready.next_account(MEDIUM, None, NOW), Some(ACCOUNT));
        let floor = ready.floor(MEDIUM, ACCOUNT);
        assert!(floor.is_none_or(|floor| floor <= NOW - 5_000), "{floor:?}");
    }

    #[test]
    fn a_note_another_worker_applied_during_a_claim_keeps_the_floor_below_it() {
        let (floors, scan) = floors_mid_scan();
        note_applied_by_another_worker(&floors, NOW - 5_000);
        floors
            .ready_queue()
            .claimed(MEDIUM, ACCOUNT, NOW - 2_000, NOW, scan);
        // Raised from where it was, as far as the note allows: a floor that
        // stood still while notes kept coming would let a long transaction
        // slow the claims down again.
        let floor = floors.ready_queue_with_notes().floor(MEDIUM, ACCOUNT);
        assert_eq!(floor, Some(NOW - 5_000));
    }

    #[test]
    fn a_scan_that_overlapped_more_notes_than_are_remembered_leaves_the_floor() {
        let (floors, scan) = floors_mid_scan();
        for back in 0..=NOTE_HISTORY as i64 {
            note_applied_by_another_worker(&floors, NOW - 10_000 + back);
        }
        floors
            .ready_queue()
            .claimed(MEDIUM, ACCOUNT, NOW - 2_000, NOW, scan);
        let floor = floors.ready_queue_with_notes().floor(MEDIUM, ACCOUNT);
        assert_eq!(floor, Some(NOW - 60_000), "the first note is forgotten");
    }

    #[test]
    fn an_account_whose_work_falls_due_later_waits_until_then() {
        let floors = floors_knowing_one_account();
        let start = scan(&floors);
        floors
            .ready_queue()
            .dry(MEDIUM, ACCOUNT, Some(NOW + 60_000), NOW, start);
        let ready = floors.ready_queue_with_notes();
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
        assert!(
            floors.ready_queue().may_have_due_work(NOW),
            "nothing found yet"
        );
        let floors = floors_knowing_one_account();
        let start = scan(&floors);
        floors
            .ready_queue()
            .dry(MEDIUM, ACCOUNT, Some(NOW + 60_000), NOW, start);
        assert!(!floors.ready_queue().may_have_due_work(NOW));
        assert!(floors.ready_queue().may_have_due_work(NOW + 60_000));
        let start = scan(&floors);
        floors.ready_queue().dry(MEDIUM, ACCOUNT, None, NOW, start);
        assert!(
            !floors
                .ready_queue_with_notes()
                .may_have_due_work(NOW + 60_000)
        );
        floors.post([ready_note(QueuePriority::Low, NOW)]);
        assert!(floors.ready_queue_with_notes().may_have_due_work(NOW));
    }

    #[test]
    fn a_rolled_back_claim_makes_the_accounts_be_found_again() {
        let floors = floors_knowing_one_account();
        let mut notes = Notes::default();
        notes.raised_ready();
        assert!(!floors.ready_queue().needs_discovery());
        floors.forget(notes.take_raised());
        assert!(floors.ready_queue().needs_discovery());
        assert_eq!(notes.take_raised(), Raised::default(), "taking starts over");
    }

    #[test]
    fn a_note_lowers_the_floor_to_its_earliest_stamp() {
        // A request that ran long got its callbacks committed well after
        // the time they were stamped with; the floor has passed that time.
        let floors = floors_knowing_one_account();
        let start = scan(&floors);
        floors
            .ready_queue()
            .claimed(MEDIUM, ACCOUNT, NOW, NOW + 10_000, start);
        floors.post([ready_note(MEDIUM, NOW - 5_000)]);
        let ready = floors.ready_queue_with_notes();
        assert_eq!(ready.floor(MEDIUM, ACCOUNT), Some(NOW - 5_000));

        let mut floor = floors.deliveries();
        floor.raise(NOW, NOW + 10_000);
        drop(floor);
        floors.post([Note::Deliveries {
            since_ms: NOW - 3_000,
        }]);
        assert_eq!(floors.deliveries_start(), Some(NOW - 3_000));
    }

    #[test]
    fn a_transaction_sends_one_note_per_range_with_its_earliest_stamp() {
        let mut notes = Notes::default();
        notes.add(ready_note(MEDIUM, NOW));
        notes.add(ready_note(MEDIUM, NOW - 7));
        notes.add(Note::Deliveries { since_ms: NOW });
        notes.add(Note::Deliveries { since_ms: NOW - 9 });
        let mut payloads = notes.payloads();
        payloads.sort();
        let expected = [
            format!("deliveries:{}", NOW - 9),
            format!("ready:2:{ACCOUNT}:{}", NOW - 7),
        ];
        assert_eq!(payloads, expected);
        for payload in &payloads {
            assert_eq!(
                Note::parse(payload).map(Note::payload).as_ref(),
                Some(payload)
            );
        }
        assert_eq!(Note::parse("ready:2:x:1"), None);
        assert_eq!(Note::parse("ready:2:1:1:1"), None);
        assert_eq!(Note::parse(""), None);
    }
}
