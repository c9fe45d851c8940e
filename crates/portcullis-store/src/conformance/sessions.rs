//! Checks of [`SessionStore`](crate::SessionStore): login transaction (replace + cap),
//! lookups joined with the user, batched renewals, deletions and expiry purges.

use super::{at, create, hash, new_session, new_user};
use crate::{NewSession, Store, StoreError};
use portcullis_core::ids::UserId;
use portcullis_core::session::SessionTimes;
use portcullis_core::token::TokenHash;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Whether a session with hash number `n` is stored.
async fn exists(store: &dyn Store, n: u8) -> bool {
    store
        .session_with_user(&hash(n))
        .await
        .expect("session_with_user failed")
        .is_some()
}

/// The hash numbers among `candidates` that are stored.
async fn present(store: &dyn Store, candidates: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &n in candidates {
        if exists(store, n).await {
            out.push(n);
        }
    }
    out
}

/// The stored idle expiry of session `h`.
async fn idle_expiry(store: &dyn Store, h: &TokenHash) -> OffsetDateTime {
    store
        .session_with_user(h)
        .await
        .expect("lookup")
        .expect("session present")
        .0
        .times
        .idle_expires_at
}

/// A session with explicit deadlines.
fn timed(user: UserId, n: u8, idle: OffsetDateTime, absolute: OffsetDateTime) -> NewSession {
    NewSession {
        hash: hash(n),
        user_id: user,
        times: SessionTimes {
            created_at: at(0),
            idle_expires_at: idle,
            absolute_expires_at: absolute,
        },
        auth_generation: 3,
    }
}

/// A stored session reads back exactly as inserted, joined with its current user row; an
/// unknown hash is `None`; a duplicate hash is a conflict.
pub async fn create_session_is_found_with_its_user(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let new = new_session(alice.id, hash(1), at(1_000), 4);
    assert_eq!(store.create_session(new, None, None).await, Ok(0));

    let (rec, user) = store
        .session_with_user(&hash(1))
        .await
        .expect("lookup")
        .expect("present");
    assert_eq!(rec.hash, hash(1));
    assert_eq!(rec.user_id, alice.id);
    assert_eq!(rec.times, new.times);
    assert_eq!(rec.times.created_at, at(1_000));
    assert_eq!(rec.times.idle_expires_at, at(1_000) + Duration::minutes(30));
    assert_eq!(
        rec.times.absolute_expires_at,
        at(1_000) + Duration::hours(8)
    );
    assert_eq!(rec.auth_generation, 4);
    assert_eq!(user, alice);

    // The joined user is the current row, not a copy taken at login.
    let renamed = store
        .update_user(
            alice.id,
            crate::UserPatch {
                email: Some("changed@example.com".into()),
                ..crate::UserPatch::default()
            },
            None,
        )
        .await
        .expect("update");
    let (_, user) = store
        .session_with_user(&hash(1))
        .await
        .expect("lookup")
        .expect("present");
    assert_eq!(user, renamed);

    assert_eq!(store.session_with_user(&hash(2)).await, Ok(None));
    assert_eq!(
        store
            .create_session(new_session(alice.id, hash(1), at(2_000), 4), None, None)
            .await,
        Err(StoreError::Conflict("hash".into()))
    );
    let (rec, _) = store
        .session_with_user(&hash(1))
        .await
        .expect("lookup")
        .expect("present");
    assert_eq!(
        rec.times.created_at,
        at(1_000),
        "the refused insert changed nothing"
    );
}

/// A login for a user that does not exist (deleted meanwhile) is `NotFound`.
pub async fn session_for_a_missing_user_is_not_found(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let missing = UserId(alice.id.0 + 1000);
    assert_eq!(
        store
            .create_session(new_session(missing, hash(1), at(0), 0), None, Some(3))
            .await,
        Err(StoreError::NotFound)
    );
    assert!(!exists(&*store, 1).await);
}

/// With a cap of 3, the fourth and fifth logins each evict the oldest session; other users'
/// sessions are untouched; no cap evicts nothing; lowering the cap evicts down to it.
pub async fn cap_evicts_the_oldest_sessions(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    for n in [50, 51] {
        store
            .create_session(new_session(bob.id, hash(n), at(0), 0), None, None)
            .await
            .expect("bob session");
    }
    let mut evicted = Vec::new();
    for n in 1..=5u8 {
        let s = new_session(alice.id, hash(n), at(i64::from(n) * 1_000), 0);
        evicted.push(store.create_session(s, None, Some(3)).await.expect("login"));
    }
    assert_eq!(evicted, vec![0, 0, 0, 1, 1]);
    assert_eq!(present(&*store, &[1, 2, 3, 4, 5]).await, vec![3, 4, 5]);
    assert_eq!(present(&*store, &[50, 51]).await, vec![50, 51]);

    assert_eq!(
        store
            .create_session(new_session(alice.id, hash(7), at(7_000), 0), None, Some(3))
            .await,
        Ok(1)
    );
    assert_eq!(present(&*store, &[4, 5, 7]).await, vec![4, 5, 7]);

    assert_eq!(
        store
            .create_session(new_session(alice.id, hash(8), at(8_000), 0), None, None)
            .await,
        Ok(0)
    );
    assert_eq!(present(&*store, &[4, 5, 7, 8]).await, vec![4, 5, 7, 8]);
    assert_eq!(
        store
            .create_session(new_session(alice.id, hash(9), at(9_000), 0), None, Some(1))
            .await,
        Ok(4)
    );
    assert_eq!(present(&*store, &[4, 5, 7, 8, 9]).await, vec![9]);
    assert_eq!(present(&*store, &[50, 51]).await, vec![50, 51]);
}

/// Sessions created at the same instant are evicted in insertion order.
pub async fn cap_breaks_creation_time_ties_by_insertion_order(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    // Hash numbers deliberately not in insertion order, so byte order cannot stand in.
    let order = [30u8, 10, 20, 5];
    let mut evicted = Vec::new();
    for n in order {
        evicted.push(
            store
                .create_session(new_session(alice.id, hash(n), at(0), 0), None, Some(2))
                .await
                .expect("login"),
        );
    }
    assert_eq!(evicted, vec![0, 0, 1, 1]);
    assert_eq!(present(&*store, &order).await, vec![20, 5]);

    // Creation time comes before insertion order: a session inserted later but stamped earlier
    // (another node's clock) is the older one.
    let bob = create(&*store, new_user("bob")).await;
    for (n, created) in [(40u8, 5_000), (41, 1_000)] {
        store
            .create_session(new_session(bob.id, hash(n), at(created), 0), None, None)
            .await
            .expect("login");
    }
    assert_eq!(
        store
            .create_session(new_session(bob.id, hash(42), at(6_000), 0), None, Some(2))
            .await,
        Ok(1)
    );
    assert_eq!(present(&*store, &[40, 41, 42]).await, vec![40, 42]);
}

/// The session presented at login is deleted (no fixation), whether or not a cap applies, and is
/// not counted as evicted.
pub async fn replace_deletes_the_presented_session(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    store
        .create_session(new_session(alice.id, hash(1), at(0), 0), None, None)
        .await
        .expect("planted");
    assert_eq!(
        store
            .create_session(
                new_session(alice.id, hash(2), at(1_000), 0),
                Some(hash(1)),
                None
            )
            .await,
        Ok(0)
    );
    assert_eq!(present(&*store, &[1, 2]).await, vec![2]);

    for n in [3, 4] {
        store
            .create_session(
                new_session(alice.id, hash(n), at(i64::from(n) * 1_000), 0),
                None,
                None,
            )
            .await
            .expect("login");
    }
    // Three sessions (2, 3, 4), cap 3: replacing 3 leaves room, so nothing is evicted.
    assert_eq!(
        store
            .create_session(
                new_session(alice.id, hash(5), at(5_000), 0),
                Some(hash(3)),
                Some(3)
            )
            .await,
        Ok(0)
    );
    assert_eq!(present(&*store, &[2, 3, 4, 5]).await, vec![2, 4, 5]);
    // Replacing a hash that does not exist is fine.
    assert_eq!(
        store
            .create_session(
                new_session(alice.id, hash(6), at(6_000), 0),
                Some(hash(99)),
                None
            )
            .await,
        Ok(0)
    );
    assert!(exists(&*store, 6).await);
}

/// Renewals set the given expiry (also an earlier one), skip missing sessions, collapse
/// duplicates within a batch to the latest, and never touch the other deadlines.
pub async fn extend_sessions_sets_the_given_expiry(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let s1 = new_session(alice.id, hash(1), at(0), 0);
    let s2 = new_session(alice.id, hash(2), at(0), 0);
    for s in [s1, s2] {
        store.create_session(s, None, None).await.expect("login");
    }
    let start = at(0) + Duration::minutes(30);
    assert_eq!(idle_expiry(&*store, &hash(1)).await, start);

    assert_eq!(store.extend_sessions(&[]).await, Ok(()));
    assert_eq!(
        store
            .extend_sessions(&[(hash(1), at(0) + Duration::minutes(10))])
            .await,
        Ok(())
    );
    assert_eq!(
        idle_expiry(&*store, &hash(1)).await,
        at(0) + Duration::minutes(10),
        "an earlier expiry shortens the session (a lowered SESSION_COOKIE_AGE)"
    );
    assert_eq!(
        idle_expiry(&*store, &hash(2)).await,
        start,
        "other sessions untouched"
    );

    let later = at(0) + Duration::minutes(40);
    assert_eq!(store.extend_sessions(&[(hash(1), later)]).await, Ok(()));
    assert_eq!(idle_expiry(&*store, &hash(1)).await, later);

    let batch = [
        (hash(1), at(0) + Duration::minutes(50)),
        (hash(99), at(0) + Duration::hours(1)),
        (
            hash(2),
            at(0) + Duration::minutes(35) + Duration::milliseconds(1),
        ),
        (hash(1), at(0) + Duration::minutes(45)),
    ];
    assert_eq!(store.extend_sessions(&batch).await, Ok(()));
    assert_eq!(
        idle_expiry(&*store, &hash(1)).await,
        at(0) + Duration::minutes(50)
    );
    assert_eq!(
        idle_expiry(&*store, &hash(2)).await,
        at(0) + Duration::minutes(35) + Duration::milliseconds(1)
    );
    assert!(!exists(&*store, 99).await, "renewals never create sessions");
    let (rec, _) = store
        .session_with_user(&hash(1))
        .await
        .expect("lookup")
        .expect("present");
    assert_eq!(rec.times.created_at, s1.times.created_at);
    assert_eq!(rec.times.absolute_expires_at, s1.times.absolute_expires_at);
}

/// Deleting a session reports whether it existed.
pub async fn delete_session_reports_whether_it_existed(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    for n in [1, 2] {
        store
            .create_session(new_session(alice.id, hash(n), at(0), 0), None, None)
            .await
            .expect("login");
    }
    assert_eq!(store.delete_session(&hash(1)).await, Ok(true));
    assert_eq!(store.delete_session(&hash(1)).await, Ok(false));
    assert_eq!(store.delete_session(&hash(3)).await, Ok(false));
    assert_eq!(present(&*store, &[1, 2]).await, vec![2]);
}

/// Ending a user's sessions spares the named one and other users' sessions.
pub async fn delete_user_sessions_spares_the_exception(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    for (n, user) in [(1, alice.id), (2, alice.id), (3, alice.id), (9, bob.id)] {
        store
            .create_session(new_session(user, hash(n), at(0), 0), None, None)
            .await
            .expect("login");
    }
    assert_eq!(
        store.delete_user_sessions(alice.id, Some(hash(2))).await,
        Ok(2)
    );
    assert_eq!(present(&*store, &[1, 2, 3, 9]).await, vec![2, 9]);
    // An exception that belongs to someone else protects nothing of this user.
    assert_eq!(
        store.delete_user_sessions(bob.id, Some(hash(2))).await,
        Ok(1)
    );
    assert_eq!(present(&*store, &[2, 9]).await, vec![2]);
    assert_eq!(store.delete_user_sessions(alice.id, None).await, Ok(1));
    assert_eq!(present(&*store, &[2]).await, Vec::<u8>::new());
    assert_eq!(store.delete_user_sessions(alice.id, None).await, Ok(0));
}

/// A session whose idle or absolute deadline is exactly `now` is expired; one millisecond later
/// is still live.
pub async fn purge_removes_sessions_at_or_past_a_deadline(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let now = at(100_000);
    let ms = Duration::milliseconds(1);
    let hour = Duration::hours(1);
    let rows = [
        timed(alice.id, 1, now, now + hour), // idle exactly now: expired
        timed(alice.id, 2, now + ms, now + hour), // live by one millisecond
        timed(alice.id, 3, now + hour, now), // absolute exactly now: expired
        timed(alice.id, 4, now + hour, now - ms), // absolute passed
        timed(alice.id, 5, now - ms, now + hour), // idle passed
        timed(alice.id, 6, now + hour, now + ms), // live by one millisecond
        timed(alice.id, 7, now + hour, now + hour * 2), // live
    ];
    for s in rows {
        store.create_session(s, None, None).await.expect("login");
    }
    assert_eq!(store.purge_expired_sessions(now).await, Ok(4));
    assert_eq!(
        present(&*store, &[1, 2, 3, 4, 5, 6, 7]).await,
        vec![2, 6, 7]
    );
    assert_eq!(store.purge_expired_sessions(now).await, Ok(0));
    assert_eq!(store.purge_expired_sessions(now + ms).await, Ok(2));
    assert_eq!(present(&*store, &[2, 6, 7]).await, vec![7]);
}
