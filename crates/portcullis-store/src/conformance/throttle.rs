//! Checks of [`ThrottleStore`](crate::ThrottleStore): reserve-then-evaluate counting, the lock
//! curve and its cap, refused attempts that never extend a lock, the quiet-period reset,
//! clearing, concurrency and remembered sources.
//!
//! With the rule of [`rule`] (2 free, 60 s doubling up to 300 s, reset after 1 h) the lock
//! after the `n`-th counted failure is 0, 0, 60 s, 120 s, 240 s, 300 s, 300 s, …

use super::at;
use crate::{Store, ThrottleDecision, ThrottleRule, WindowDecision};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// One second in milliseconds, for [`at`].
const S: i64 = 1_000;

/// Two free failures, then 60 s doubling up to 300 s; a counter quiet for 1 h starts over.
fn rule() -> ThrottleRule {
    ThrottleRule {
        free: 2,
        base_lock: Duration::seconds(60),
        max_lock: Duration::seconds(300),
        reset_after: Duration::hours(1),
    }
}

/// Reserves `key` under `rule` at `now`.
async fn reserve(
    store: &dyn Store,
    key: &str,
    rule: &ThrottleRule,
    now: OffsetDateTime,
) -> ThrottleDecision {
    store
        .throttle_reserve(key, rule, now)
        .await
        .expect("throttle_reserve failed")
}

/// `Locked` until `until`.
fn locked(until: OffsetDateTime) -> ThrottleDecision {
    ThrottleDecision::Locked { until }
}

const GRANTED: ThrottleDecision = ThrottleDecision::Granted;

/// The first `free` reservations and the one that triggers the lock are granted; then the
/// key is locked for `base_lock` after that last counted failure; at the end of the lock one
/// more attempt is granted and the next lock doubles, up to `max_lock`.
pub async fn throttle_locks_after_the_free_failures_and_doubles(store: Arc<dyn Store>) {
    let s = &*store;
    let r = rule();
    let k = "user:alice";
    assert_eq!(
        reserve(s, k, &r, at(0)).await,
        GRANTED,
        "1st failure (free)"
    );
    assert_eq!(
        reserve(s, k, &r, at(S)).await,
        GRANTED,
        "2nd failure (free)"
    );
    assert_eq!(
        reserve(s, k, &r, at(2 * S)).await,
        GRANTED,
        "the 3rd is counted and triggers the lock"
    );
    assert_eq!(reserve(s, k, &r, at(3 * S)).await, locked(at(62 * S)));
    assert_eq!(
        reserve(s, k, &r, at(62 * S - 1)).await,
        locked(at(62 * S)),
        "one millisecond before the end of the lock"
    );
    // The lock ends at `until`: `last + lock > now` no longer holds.
    assert_eq!(reserve(s, k, &r, at(62 * S)).await, GRANTED, "4th failure");
    assert_eq!(
        reserve(s, k, &r, at(62 * S + 1)).await,
        locked(at(182 * S)),
        "120 s after the 4th failure"
    );
    assert_eq!(reserve(s, k, &r, at(182 * S)).await, GRANTED, "5th failure");
    assert_eq!(
        reserve(s, k, &r, at(183 * S)).await,
        locked(at(422 * S)),
        "240 s after the 5th failure"
    );
    assert_eq!(reserve(s, k, &r, at(422 * S)).await, GRANTED, "6th failure");
    assert_eq!(
        reserve(s, k, &r, at(423 * S)).await,
        locked(at(722 * S)),
        "480 s capped at 300 s"
    );
    assert_eq!(reserve(s, k, &r, at(722 * S)).await, GRANTED, "7th failure");
    assert_eq!(
        reserve(s, k, &r, at(722 * S)).await,
        locked(at(1_022 * S)),
        "still capped, and locked at the very instant of the last failure"
    );
}

/// Attempts refused while locked are not counted: however many there are, the lock ends
/// when it would have, and the next lock is the next step of the curve, not a later one.
pub async fn refused_attempts_never_extend_a_lock(store: Arc<dyn Store>) {
    let s = &*store;
    let r = rule();
    let k = "net:192.0.2.0/24";
    for t in [0, S, 2 * S] {
        assert_eq!(reserve(s, k, &r, at(t)).await, GRANTED);
    }
    for t in (3..62).map(|sec| sec * S) {
        assert_eq!(
            reserve(s, k, &r, at(t)).await,
            locked(at(62 * S)),
            "refused at {t} ms"
        );
    }
    assert_eq!(reserve(s, k, &r, at(62 * S)).await, GRANTED);
    // The 4th counted failure: 120 s, not the lock of a 60th failure.
    assert_eq!(reserve(s, k, &r, at(63 * S)).await, locked(at(182 * S)));
    assert_eq!(reserve(s, k, &r, at(181 * S)).await, locked(at(182 * S)));
    // Refused attempts do not count towards the quiet period either: an hour after the last
    // counted failure (62 s) the counter starts over, although attempts came until 181 s.
    let t = 62 * S + 3_600 * S;
    for now in [t, t + S, t + 2 * S] {
        assert_eq!(reserve(s, k, &r, at(now)).await, GRANTED, "at {now} ms");
    }
    assert_eq!(
        reserve(s, k, &r, at(t + 3 * S)).await,
        locked(at(t + 62 * S))
    );
}

/// A counter with no counted failure for `reset_after` starts again from zero (the boundary
/// `last + reset_after == now` included); one millisecond earlier it keeps counting.
pub async fn throttle_counter_resets_after_a_quiet_period(store: Arc<dyn Store>) {
    let s = &*store;
    let r = rule();
    let hour = 3_600 * S;
    for k in ["reset", "kept"] {
        for t in [0, S, 2 * S] {
            assert_eq!(reserve(s, k, &r, at(t)).await, GRANTED, "{k} at {t} ms");
        }
        assert_eq!(reserve(s, k, &r, at(3 * S)).await, locked(at(62 * S)));
    }

    // Exactly reset_after after the last counted failure: a fresh counter (two free, the
    // third triggers the lock).
    let t = 2 * S + hour;
    for (i, now) in [t, t + S, t + 2 * S].into_iter().enumerate() {
        assert_eq!(
            reserve(s, "reset", &r, at(now)).await,
            GRANTED,
            "reset #{i}"
        );
    }
    assert_eq!(
        reserve(s, "reset", &r, at(t + 3 * S)).await,
        locked(at(t + 62 * S))
    );

    // One millisecond short of reset_after: the 4th failure, locked for 120 s.
    let t = 2 * S + hour - 1;
    assert_eq!(reserve(s, "kept", &r, at(t)).await, GRANTED);
    assert_eq!(
        reserve(s, "kept", &r, at(t + 1)).await,
        locked(at(t + 120 * S))
    );
}

/// Clearing a key (a successful attempt) starts it from zero and leaves other keys alone;
/// keys are independent.
pub async fn throttle_clear_and_distinct_keys(store: Arc<dyn Store>) {
    let s = &*store;
    let r = rule();
    for t in [0, S, 2 * S] {
        assert_eq!(reserve(s, "a", &r, at(t)).await, GRANTED);
    }
    assert_eq!(reserve(s, "a", &r, at(3 * S)).await, locked(at(62 * S)));
    // Another key, even a similar one, is untouched by a's lock.
    for key in ["b", "A", "a ", "aa"] {
        assert_eq!(reserve(s, key, &r, at(4 * S)).await, GRANTED, "key {key:?}");
    }
    assert_eq!(reserve(s, "b", &r, at(5 * S)).await, GRANTED, "b's 2nd");

    assert_eq!(store.throttle_clear("a").await, Ok(()));
    for t in [6 * S, 7 * S, 8 * S] {
        assert_eq!(
            reserve(s, "a", &r, at(t)).await,
            GRANTED,
            "a counts from zero after clear"
        );
    }
    assert_eq!(reserve(s, "a", &r, at(9 * S)).await, locked(at(68 * S)));

    // b kept its two failures: the third triggers its lock.
    assert_eq!(reserve(s, "b", &r, at(10 * S)).await, GRANTED);
    assert_eq!(reserve(s, "b", &r, at(11 * S)).await, locked(at(70 * S)));
    assert_eq!(store.throttle_clear("never-seen").await, Ok(()));
    assert_eq!(store.throttle_clear("b").await, Ok(()));
    assert_eq!(reserve(s, "b", &r, at(12 * S)).await, GRANTED);
    assert_eq!(
        reserve(s, "a", &r, at(12 * S)).await,
        locked(at(68 * S)),
        "clearing b leaves a locked"
    );
}

/// Twenty reservations of one key at the same instant with `free = 5`: exactly six are
/// granted (the five free ones and the one that triggers the lock); the others are refused
/// until `now + base_lock` and not counted, so the next lock is the 7th failure's.
pub async fn concurrent_reserves_grant_exactly_free_plus_one(store: Arc<dyn Store>) {
    let r = ThrottleRule { free: 5, ..rule() };
    let now = at(0);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.throttle_reserve("hot", &r, now).await
        }));
    }
    let mut granted = 0;
    for task in tasks {
        match task
            .await
            .expect("task panicked")
            .expect("throttle_reserve failed under concurrency")
        {
            ThrottleDecision::Granted => granted += 1,
            refused => assert_eq!(refused, locked(now + Duration::seconds(60))),
        }
    }
    assert_eq!(granted, 6, "free (5) + the one that triggers the lock");

    // Exactly six failures were stored: at the end of the lock a 7th is granted and locks
    // for 120 s (had more been counted, this would still be locked or lock for longer).
    let s = &*store;
    assert_eq!(reserve(s, "hot", &r, at(60 * S)).await, GRANTED);
    assert_eq!(reserve(s, "hot", &r, at(60 * S)).await, locked(at(180 * S)));
}

/// `throttle_locked` answers the same lock test as a reservation, under the rule it is given,
/// and never counts or extends anything.
pub async fn throttle_locked_reads_without_counting(store: Arc<dyn Store>) {
    let s = &*store;
    let r = rule();
    let k = "src:203.0.113.7";
    let is_locked = |key: &'static str, rule: ThrottleRule, now: OffsetDateTime| {
        let store = Arc::clone(&store);
        async move {
            store
                .throttle_locked(key, &rule, now)
                .await
                .expect("throttle_locked failed")
        }
    };
    for t in 0..10 {
        assert_eq!(
            is_locked(k, r, at(t * S)).await,
            None,
            "unknown key at {t} s"
        );
    }
    // The lookups counted nothing: two free failures, the third locks.
    for t in [20 * S, 21 * S, 22 * S] {
        assert_eq!(is_locked(k, r, at(t)).await, None);
        assert_eq!(reserve(s, k, &r, at(t)).await, GRANTED);
    }
    assert_eq!(is_locked(k, r, at(23 * S)).await, Some(at(82 * S)));
    for t in (23..82).map(|sec| sec * S) {
        assert_eq!(is_locked(k, r, at(t)).await, Some(at(82 * S)), "at {t} ms");
    }
    assert_eq!(is_locked(k, r, at(82 * S - 1)).await, Some(at(82 * S)));
    assert_eq!(
        is_locked(k, r, at(82 * S)).await,
        None,
        "the lock ends at until"
    );
    // Nothing was extended or counted: the 4th failure locks for 120 s.
    assert_eq!(reserve(s, k, &r, at(82 * S)).await, GRANTED);
    assert_eq!(is_locked(k, r, at(100 * S)).await, Some(at(202 * S)));
    assert_eq!(reserve(s, k, &r, at(100 * S)).await, locked(at(202 * S)));
    // The rule given is the one applied: four failures are within ten free ones.
    let lenient = ThrottleRule { free: 10, ..r };
    assert_eq!(is_locked(k, lenient, at(100 * S)).await, None);
    assert_eq!(is_locked("other", r, at(100 * S)).await, None);
    assert_eq!(store.throttle_clear(k).await, Ok(()));
    assert_eq!(is_locked(k, r, at(100 * S)).await, None);
}

/// A source is known from the instant it was remembered on: `since` at or before that instant
/// is true, after it false; keys are exact; remembering again moves the instant forward.
pub async fn remember_source_honours_the_since_boundary(store: Arc<dyn Store>) {
    let known = |key: &'static str, since: OffsetDateTime| {
        let store = Arc::clone(&store);
        async move {
            store
                .source_known(key, since)
                .await
                .expect("source_known failed")
        }
    };
    assert!(!known("alice|198.51.100.0/24", at(0)).await);
    assert_eq!(
        store
            .remember_source("alice|198.51.100.0/24", at(10 * S))
            .await,
        Ok(())
    );
    assert!(
        known("alice|198.51.100.0/24", at(10 * S)).await,
        "since == login"
    );
    assert!(known("alice|198.51.100.0/24", at(10 * S - 1)).await);
    assert!(known("alice|198.51.100.0/24", at(0)).await);
    assert!(
        !known("alice|198.51.100.0/24", at(10 * S + 1)).await,
        "since after the login"
    );
    assert!(!known("bob|198.51.100.0/24", at(0)).await, "another key");
    assert!(!known("alice|198.51.100.0/2", at(0)).await, "a prefix");

    assert_eq!(
        store
            .remember_source("alice|198.51.100.0/24", at(20 * S))
            .await,
        Ok(())
    );
    assert!(known("alice|198.51.100.0/24", at(20 * S)).await);
    assert!(!known("alice|198.51.100.0/24", at(20 * S + 1)).await);
    assert!(!known("bob|198.51.100.0/24", at(0)).await);
}

/// Nodes and requests read their clocks before they wait for the write lock, so a counter
/// may carry a `last_failure` later than a reservation's `now`. Below the free count that is
/// no lock (found under load: concurrent correct logins were refused as "locked").
pub async fn a_stamp_later_than_now_is_not_a_lock_below_the_free_count(store: Arc<dyn Store>) {
    let r = rule();
    assert_eq!(
        reserve(store.as_ref(), "skew", &r, at(10 * S)).await,
        ThrottleDecision::Granted
    );
    // A request whose clock read 1 ms earlier arrives second.
    assert_eq!(
        reserve(store.as_ref(), "skew", &r, at(10 * S - 1)).await,
        ThrottleDecision::Granted
    );
    assert_eq!(
        store
            .throttle_locked("skew", &r, at(10 * S - 2))
            .await
            .expect("throttle_locked failed"),
        None
    );
}

/// Sliding windows: full exactly while `limit` events lie inside `(now - window, now]`, until
/// the `limit`-th newest leaves; an event never expires before it is `window` old, however
/// quiet the key has been since.
pub async fn window_full_follows_the_sliding_window(store: Arc<dyn Store>) {
    let s = &*store;
    let w = Duration::seconds(600);
    let full = |now| async move { s.window_full("net", 3, w, now).await.expect("window_full") };
    s.window_hit("net", at(0)).await.expect("hit");
    s.window_hit("net", at(0)).await.expect("hit");
    assert_eq!(full(at(0)).await, None, "two of three");
    // A quiet spell inside the window forgets nothing.
    s.window_hit("net", at(599 * S)).await.expect("hit");
    assert_eq!(full(at(599 * S)).await, Some(at(600 * S)));
    // The oldest two leave at 600 s: one event remains.
    assert_eq!(full(at(600 * S)).await, None);
    s.window_hit("net", at(600 * S)).await.expect("hit");
    s.window_hit("net", at(601 * S)).await.expect("hit");
    // Newest three: 599, 600, 601 s → full until the 599 s one is 10 minutes old.
    assert_eq!(full(at(601 * S)).await, Some(at(1199 * S)));
    // Other keys are separate.
    assert_eq!(
        s.window_full("other", 1, w, at(601 * S))
            .await
            .expect("other"),
        None
    );
}

/// `window_reserve` counts only while the window has room, atomically under concurrency;
/// `window_release` uncounts one event; the purge drops only old events.
pub async fn window_reserve_is_atomic_and_releasable(store: Arc<dyn Store>) {
    let w = Duration::hours(1);
    let now = at(0);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.window_reserve("cap", 7, w, now).await
        }));
    }
    let mut hits = Vec::new();
    for task in tasks {
        match task
            .await
            .expect("task panicked")
            .expect("window_reserve failed under concurrency")
        {
            WindowDecision::Granted { hit } => hits.push(hit),
            WindowDecision::Full { until } => assert_eq!(until, at(3_600 * S)),
        }
    }
    assert_eq!(hits.len(), 7, "exactly the limit is granted");
    let s = &*store;
    assert_eq!(
        s.window_full("cap", 7, w, now).await.expect("full"),
        Some(at(3_600 * S))
    );
    // Releasing one makes room for exactly one more.
    let first = *hits.first().expect("a granted hit");
    s.window_release(first).await.expect("release");
    assert!(matches!(
        s.window_reserve("cap", 7, w, now).await,
        Ok(WindowDecision::Granted { .. })
    ));
    assert!(matches!(
        s.window_reserve("cap", 7, w, now).await,
        Ok(WindowDecision::Full { .. })
    ));
    // The purge drops events older than its bound and nothing newer.
    s.window_hit("cap", at(10 * S)).await.expect("hit");
    assert_eq!(s.purge_window_events(at(S)).await, Ok(7));
    assert_eq!(
        s.window_full("cap", 1, w, at(10 * S)).await.expect("full"),
        Some(at(3_610 * S))
    );
}
