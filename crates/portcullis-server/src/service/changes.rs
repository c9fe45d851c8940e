//! Applying the change log to this node's caches (`docs/cluster.md`, "Invalidation").
//!
//! Three ways bring a change here, and each applies it once (entries are told apart by their
//! log sequence number):
//! - the push feed (PostgreSQL `LISTEN/NOTIFY`), milliseconds after the writing transaction
//!   commits on any node;
//! - the poll, every quarter of the revocation bound (`mdr.revocation_check_interval_ms`),
//!   the safety net for notifications lost while the feed's connection was down, and the
//!   only path on SQLite (it also sees changes made by `portcullis admin` in another
//!   process);
//! - [`ChangeSync::catch_up`], which a service calls right after its own change commits, so
//!   on the node that made it the change applies before the reply.
//!
//! The caches trust their entries only while the last successful poll began less than the
//! bound ago ([`ChangeSync::fresh`]): any change committed before that poll began has been
//! applied, so a credential revoked longer ago than the bound can never be accepted, even
//! with the feed down. After a failed poll or a feed reconnect every cache entry is treated as
//! stale and dropped.

use crate::state::AppState;
use portcullis_store::{Change, ChangeCursor, ChangeEntry, FeedEvent, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long applied sequence numbers are remembered (longer than any transaction stays open
/// in practice; a repeat after that only drops a cache entry once more).
const SEEN_FOR: Duration = Duration::from_secs(600);

/// How a change reached this node (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The push feed.
    Notify,
    /// The poll (background or [`ChangeSync::catch_up`]).
    Poll,
}

impl Via {
    fn label(self) -> &'static str {
        match self {
            Self::Notify => "notify",
            Self::Poll => "poll",
        }
    }
}

/// This node's reader of the change log.
pub struct ChangeSync {
    bound: Duration,
    origin: Instant,
    /// Milliseconds after `origin` at which the last successful poll began, plus one (0:
    /// none yet).
    synced: AtomicU64,
    /// A poll failed or the feed reconnected: drop everything at the next successful poll.
    stale: AtomicBool,
    cursor: tokio::sync::Mutex<ChangeCursor>,
    seen: Mutex<HashMap<i64, Instant>>,
}

impl std::fmt::Debug for ChangeSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeSync")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl ChangeSync {
    /// A reader starting at `cursor` (taken before any cache entry exists), trusting its
    /// caches for `bound` after each successful poll; a zero bound disables the caches.
    pub fn new(cursor: ChangeCursor, bound: Duration) -> Self {
        let s = Self {
            bound,
            origin: Instant::now(),
            synced: AtomicU64::new(0),
            stale: AtomicBool::new(false),
            cursor: tokio::sync::Mutex::new(cursor),
            seen: Mutex::new(HashMap::new()),
        };
        s.mark_synced(Instant::now());
        s
    }

    /// The revocation bound.
    pub fn bound(&self) -> Duration {
        self.bound
    }

    /// How often the background poll runs: a quarter of the bound, so a slow or failed poll
    /// or two still leave the caches usable.
    pub fn poll_period(&self) -> Duration {
        if self.bound.is_zero() {
            Duration::from_millis(250)
        } else {
            (self.bound / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
        }
    }

    fn mark_synced(&self, began: Instant) {
        let ms = u64::try_from(began.saturating_duration_since(self.origin).as_millis())
            .unwrap_or(u64::MAX - 1);
        self.synced.fetch_max(ms + 1, Ordering::SeqCst);
    }

    /// Whether cached credentials may be used now.
    pub fn fresh(&self) -> bool {
        self.fresh_at(Instant::now())
    }

    fn fresh_at(&self, now: Instant) -> bool {
        if self.bound.is_zero() {
            return false;
        }
        let synced = self.synced.load(Ordering::SeqCst);
        if synced == 0 {
            return false;
        }
        let now = u64::try_from(now.saturating_duration_since(self.origin).as_millis())
            .unwrap_or(u64::MAX);
        let bound = u64::try_from(self.bound.as_millis()).unwrap_or(u64::MAX);
        now.saturating_sub(synced - 1) <= bound
    }

    fn first_time(&self, seq: i64) -> bool {
        let mut g = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.insert(seq, Instant::now()).is_none()
    }

    fn prune_seen(&self) {
        let mut g = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.retain(|_, at| at.elapsed() < SEEN_FOR);
    }

    /// Reads the log once and applies what is new. Serialised with other polls.
    pub async fn poll(&self, state: &AppState) -> Result<usize, StoreError> {
        let mut cursor = self.cursor.lock().await;
        let began = Instant::now();
        let batch = match state.store.changes_since(*cursor).await {
            Ok(b) => b,
            Err(e) => {
                self.stale.store(true, Ordering::SeqCst);
                return Err(e);
            }
        };
        if self.stale.swap(false, Ordering::SeqCst) {
            // The poll failed before (or the feed reconnected): what is cached may have
            // missed a change, and the log from then on is in this batch anyway.
            drop_everything(state, "resync");
        }
        let mut applied = 0;
        for entry in batch.entries {
            if self.apply(state, entry, Via::Poll).await {
                applied += 1;
            }
        }
        *cursor = batch.cursor;
        self.mark_synced(began);
        self.prune_seen();
        Ok(applied)
    }

    /// Applies this node's own change before it answers: one poll. If the poll fails the
    /// caches are dropped instead (and stay bypassed until a poll succeeds).
    pub async fn catch_up(&self, state: &AppState) {
        if let Err(e) = self.poll(state).await {
            tracing::warn!(error = %e, "change log read after a local change failed; caches dropped");
            drop_everything(state, "resync");
        }
    }

    /// Applies one entry unless it was applied before; `true` if it was new.
    pub async fn apply(&self, state: &AppState, entry: ChangeEntry, via: Via) -> bool {
        if entry.seq != 0 && !self.first_time(entry.seq) {
            return false;
        }
        let lag = (state.clock.now() - entry.at).as_seconds_f64().max(0.0);
        metrics::histogram!("portcullis_invalidation_lag_seconds", "via" => via.label())
            .record(lag);
        metrics::counter!(
            "portcullis_invalidations_total",
            "via" => via.label(),
            "kind" => kind_label(&entry.change)
        )
        .increment(1);
        apply_change(state, &entry.change).await;
        true
    }

    /// A feed event: a change, or a reconnect after which the caches are stale.
    pub async fn on_feed(&self, state: &AppState, event: FeedEvent) {
        match event {
            FeedEvent::Change(entry) => {
                self.apply(state, entry, Via::Notify).await;
            }
            FeedEvent::Reconnected => {
                tracing::warn!("change feed reconnected; caches dropped");
                metrics::counter!("portcullis_change_feed_reconnects_total").increment(1);
                drop_everything(state, "reconnect");
                self.stale.store(true, Ordering::SeqCst);
            }
        }
    }
}

fn kind_label(change: &Change) -> &'static str {
    match change {
        Change::Token(_) => "token",
        Change::AllTokens => "tokens",
        Change::Session(_) => "session",
        Change::User(_) => "user",
        Change::Settings => "settings",
        Change::Connection(_) => "connection",
        Change::AllConnections => "connections",
        Change::SigningKeys => "keys",
        Change::Unknown => "unknown",
    }
}

/// Empties every credential cache of this node.
pub fn drop_everything(state: &AppState, why: &'static str) {
    metrics::counter!("portcullis_cache_flushes_total", "reason" => why).increment(1);
    state.caches.tokens.clear();
    state.caches.sessions.clear();
    state.mdr.invalidate_all();
}

/// What one change drops or reloads.
async fn apply_change(state: &AppState, change: &Change) {
    let caches = &state.caches;
    match change {
        Change::Token(h) => caches.tokens.forget(h),
        Change::AllTokens => caches.tokens.clear(),
        Change::Session(h) => {
            caches.sessions.forget(h);
        }
        Change::User(id) => {
            caches.tokens.forget_user(*id);
            caches.sessions.forget_user(*id);
        }
        Change::Settings => {
            if let Err(e) = state.settings.reload(state.store.as_ref()).await {
                tracing::warn!(error = %e, "settings reload after a change failed; will retry");
            }
        }
        Change::Connection(id) => state.mdr.invalidate(id),
        Change::AllConnections => state.mdr.invalidate_all(),
        Change::SigningKeys => match state.mdr.keys.refresh(state.store.as_ref()).await {
            Ok(true) => tracing::info!("MDR signing keys changed; key set reloaded"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "MDR key reload after a change failed; will retry")
            }
        },
        Change::Unknown => drop_everything(state, "unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::ChangeCursor;

    #[test]
    fn fresh_only_within_the_bound() {
        let s = ChangeSync::new(ChangeCursor(0), Duration::from_millis(50));
        let start = s.origin;
        assert!(s.fresh_at(start + Duration::from_millis(20)));
        let later = start + Duration::from_millis(500);
        assert!(!s.fresh_at(later), "no poll for longer than the bound");
        s.mark_synced(later);
        assert!(s.fresh_at(later + Duration::from_millis(30)));
        assert!(!s.fresh_at(later + Duration::from_millis(80)));
        let off = ChangeSync::new(ChangeCursor(0), Duration::ZERO);
        assert!(!off.fresh(), "a zero bound disables the caches");
    }

    #[test]
    fn poll_period_is_a_quarter_of_the_bound() {
        let s = ChangeSync::new(ChangeCursor(0), Duration::from_secs(1));
        assert_eq!(s.poll_period(), Duration::from_millis(250));
        let s = ChangeSync::new(ChangeCursor(0), Duration::from_millis(4));
        assert_eq!(s.poll_period(), Duration::from_millis(10));
    }

    #[test]
    fn a_sequence_number_applies_once() {
        let s = ChangeSync::new(ChangeCursor(0), Duration::from_secs(1));
        assert!(s.first_time(7));
        assert!(!s.first_time(7));
        assert!(s.first_time(8));
    }
}
