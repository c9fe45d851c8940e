//! Checks of [`SigningKeyStore`](crate::SigningKeyStore) (`docs/mdr-api.md`, "Signing keys"): the
//! first key is created exactly once, also under a race; promotion swaps the active key in one step
//! and has one winner; retirement from any state; the scheduled retirement of verify-only keys.

use super::at;
use crate::{KeyState, SigningKeyRecord, Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

/// Key number `n` in `state`, created at `created` (stamps as a fresh key of that state has).
fn key(n: u8, state: KeyState, created: OffsetDateTime) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: format!("kid-{n:0>39}"),
        algorithm: if n.is_multiple_of(2) {
            "EdDSA"
        } else {
            "ES256"
        }
        .to_owned(),
        // Every byte value, so a backend that mangled binary data would be caught.
        public_key: (0..=255u8).map(|b| b.wrapping_add(n)).take(65).collect(),
        sealed_private_key: (0..=255u8).rev().map(|b| b ^ n).collect(),
        state,
        created_at: created,
        activated_at: (state == KeyState::Active).then_some(created),
        deactivated_at: None,
    }
}

/// The kids of a listing, in order, with their states.
fn states(keys: &[SigningKeyRecord]) -> Vec<(String, KeyState)> {
    keys.iter().map(|k| (k.kid.clone(), k.state)).collect()
}

/// Every key not retired.
async fn live(store: &dyn Store) -> Vec<SigningKeyRecord> {
    store.signing_keys().await.expect("signing_keys failed")
}

/// Every key.
async fn all(store: &dyn Store) -> Vec<SigningKeyRecord> {
    store
        .all_signing_keys()
        .await
        .expect("all_signing_keys failed")
}

/// The first key is inserted (and reads back exactly); a second first key is not, since one
/// key is active.
pub async fn first_key_is_inserted_once(store: Arc<dyn Store>) {
    assert_eq!(live(&*store).await, vec![]);
    let k1 = key(1, KeyState::Active, at(0));
    let k2 = key(2, KeyState::Active, at(1_000));
    assert_eq!(store.insert_first_key(&k1).await, Ok(true));
    assert_eq!(store.insert_first_key(&k2).await, Ok(false));
    let keys = all(&*store).await;
    assert_eq!(keys, vec![k1.clone()]);
    let stored = keys.first().expect("one key");
    assert_eq!(stored.public_key, k1.public_key);
    assert_eq!(stored.sealed_private_key, k1.sealed_private_key);
    assert_eq!(stored.activated_at, Some(at(0)));
    assert_eq!(live(&*store).await, vec![k1]);
}

/// Ten nodes starting at once on an empty database: exactly one inserts its key, and that key
/// is the only one.
pub async fn concurrent_first_keys_have_one_winner(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for n in 1..=10u8 {
        let store = Arc::clone(&store);
        let k = key(n, KeyState::Active, at(0));
        tasks.push(tokio::spawn(async move {
            let inserted = store.insert_first_key(&k).await;
            (k, inserted)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (k, inserted) = task.await.expect("insert task panicked");
        if inserted.expect("insert_first_key failed under concurrency") {
            winners.push(k);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one node inserts");
    assert_eq!(all(&*store).await, winners);
}

/// Promotion: the pending key becomes active (stamped `now`) and the active one verify-only
/// (stamped `now`), in one step. Promoting a key that is not pending changes nothing. A pending
/// kid that exists is `Conflict("kid")`.
pub async fn promote_swaps_the_active_key(store: Arc<dyn Store>) {
    let k1 = key(1, KeyState::Active, at(0));
    assert_eq!(store.insert_first_key(&k1).await, Ok(true));
    let k2 = key(2, KeyState::Pending, at(1_000));
    assert_eq!(store.insert_pending_key(&k2).await, Ok(()));
    assert_eq!(
        store
            .insert_pending_key(&key(2, KeyState::Pending, at(2_000)))
            .await,
        Err(StoreError::Conflict("kid".into()))
    );
    assert_eq!(
        store
            .insert_pending_key(&key(1, KeyState::Pending, at(2_000)))
            .await,
        Err(StoreError::Conflict("kid".into())),
        "the active key's kid is taken too"
    );
    assert_eq!(live(&*store).await, vec![k1.clone(), k2.clone()]);

    let now = at(600_000);
    assert_eq!(store.promote_key(&k2.kid, now).await, Ok(true));
    let k1_after = SigningKeyRecord {
        state: KeyState::VerifyOnly,
        deactivated_at: Some(now),
        ..k1.clone()
    };
    let k2_after = SigningKeyRecord {
        state: KeyState::Active,
        activated_at: Some(now),
        ..k2.clone()
    };
    assert_eq!(
        live(&*store).await,
        vec![k1_after.clone(), k2_after.clone()]
    );

    let later = at(700_000);
    assert_eq!(
        store.promote_key(&k2.kid, later).await,
        Ok(false),
        "active already"
    );
    assert_eq!(
        store.promote_key(&k1.kid, later).await,
        Ok(false),
        "verify-only"
    );
    assert_eq!(store.promote_key("kid-missing", later).await, Ok(false));
    assert_eq!(all(&*store).await, vec![k1_after, k2_after]);
}

/// Two nodes promoting the same pending key at once: exactly one succeeds, and exactly one key
/// is active afterwards, round after round.
pub async fn concurrent_promotes_have_one_winner(store: Arc<dyn Store>) {
    assert_eq!(
        store
            .insert_first_key(&key(1, KeyState::Active, at(0)))
            .await,
        Ok(true)
    );
    for n in 2..=6u8 {
        let k = key(n, KeyState::Pending, at(i64::from(n) * 1_000));
        store.insert_pending_key(&k).await.expect("insert pending");
        let now = at(i64::from(n) * 100_000);
        let promote = || {
            let store = Arc::clone(&store);
            let kid = k.kid.clone();
            tokio::spawn(async move { store.promote_key(&kid, now).await })
        };
        let (a, b) = tokio::join!(promote(), promote());
        let a = a.expect("task a panicked").expect("promote a");
        let b = b.expect("task b panicked").expect("promote b");
        assert!(a != b, "exactly one promotion wins (round {n}: {a}, {b})");
        let keys = all(&*store).await;
        let active: Vec<&SigningKeyRecord> = keys
            .iter()
            .filter(|k| k.state == KeyState::Active)
            .collect();
        assert_eq!(active.len(), 1, "one active key after round {n}");
        assert_eq!(active.first().map(|k| k.kid.as_str()), Some(k.kid.as_str()));
        assert_eq!(
            keys.iter()
                .filter(|k| k.state == KeyState::VerifyOnly)
                .count(),
            usize::from(n - 1)
        );
        let previous = keys
            .iter()
            .find(|p| p.kid == key(n - 1, KeyState::Pending, at(0)).kid)
            .expect("previous key");
        assert_eq!(previous.deactivated_at, Some(now));
    }
}

/// `retire_key` works from every state (and again on a retired key), `NotFound` for a missing
/// kid; retired keys leave `signing_keys` but stay in `all_signing_keys`; both list oldest first
/// with ties in insertion order. With the active key retired, a first key may be inserted again.
pub async fn retire_key_from_any_state(store: Arc<dyn Store>) {
    // Created out of kid order, two of them in the same millisecond.
    let k5 = key(5, KeyState::Active, at(1_000));
    assert_eq!(store.insert_first_key(&k5).await, Ok(true));
    let k3 = key(3, KeyState::Pending, at(2_000));
    let k1 = key(1, KeyState::Pending, at(2_000));
    store.insert_pending_key(&k3).await.expect("pending 3");
    store.insert_pending_key(&k1).await.expect("pending 1");
    let t1 = at(10_000);
    assert_eq!(store.promote_key(&k3.kid, t1).await, Ok(true));
    assert_eq!(
        states(&live(&*store).await),
        vec![
            (k5.kid.clone(), KeyState::VerifyOnly),
            (k3.kid.clone(), KeyState::Active),
            (k1.kid.clone(), KeyState::Pending),
        ]
    );

    let t2 = at(20_000);
    store.retire_key(&k1.kid, t2).await.expect("retire pending");
    store
        .retire_key(&k5.kid, t2)
        .await
        .expect("retire verify-only");
    store.retire_key(&k3.kid, t2).await.expect("retire active");
    store
        .retire_key(&k3.kid, at(30_000))
        .await
        .expect("retire retired");
    assert_eq!(
        store.retire_key("kid-missing", t2).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(live(&*store).await, vec![]);
    let keys = all(&*store).await;
    assert_eq!(
        states(&keys),
        vec![
            (k5.kid.clone(), KeyState::Retired),
            (k3.kid.clone(), KeyState::Retired),
            (k1.kid.clone(), KeyState::Retired),
        ]
    );
    let by_kid = |kid: &str| keys.iter().find(|k| k.kid == kid).expect("listed").clone();
    assert_eq!(
        by_kid(&k5.kid),
        SigningKeyRecord {
            state: KeyState::Retired,
            deactivated_at: Some(t1),
            ..k5.clone()
        },
        "a verify-only key keeps the instant it stopped signing"
    );
    assert_eq!(
        by_kid(&k3.kid),
        SigningKeyRecord {
            state: KeyState::Retired,
            activated_at: Some(t1),
            deactivated_at: Some(t2),
            ..k3.clone()
        },
        "the active key stops signing when retired"
    );
    assert_eq!(by_kid(&k1.kid).activated_at, None);

    // No key is active any more: a node may install a first key again.
    let k7 = key(7, KeyState::Active, at(40_000));
    assert_eq!(store.insert_first_key(&k7).await, Ok(true));
    assert_eq!(live(&*store).await, vec![k7]);
}

/// `retire_verify_only_keys` retires exactly the verify-only keys deactivated at or before the
/// bound, and counts them; active and pending keys are never touched.
pub async fn retire_verify_only_keys_by_deactivation_instant(store: Arc<dyn Store>) {
    assert_eq!(
        store
            .insert_first_key(&key(1, KeyState::Active, at(0)))
            .await,
        Ok(true)
    );
    for n in 2..=4u8 {
        let k = key(n, KeyState::Pending, at(i64::from(n)));
        store.insert_pending_key(&k).await.expect("pending");
        assert_eq!(
            store.promote_key(&k.kid, at(i64::from(n) * 1_000)).await,
            Ok(true)
        );
    }
    // Now: 1 verify-only since 2 s, 2 since 3 s, 3 since 4 s, 4 active, 5 pending.
    let k5 = key(5, KeyState::Pending, at(5));
    store.insert_pending_key(&k5).await.expect("pending 5");

    assert_eq!(store.retire_verify_only_keys(at(1_999)).await, Ok(0));
    assert_eq!(store.retire_verify_only_keys(at(3_000)).await, Ok(2));
    assert_eq!(store.retire_verify_only_keys(at(3_000)).await, Ok(0));
    let kid = |n: u8| key(n, KeyState::Pending, at(0)).kid;
    assert_eq!(
        states(&all(&*store).await),
        vec![
            (kid(1), KeyState::Retired),
            (kid(2), KeyState::Retired),
            (kid(3), KeyState::VerifyOnly),
            (kid(4), KeyState::Active),
            (kid(5), KeyState::Pending),
        ]
    );
    assert_eq!(store.retire_verify_only_keys(at(3_999_999)).await, Ok(1));
    assert_eq!(
        states(&live(&*store).await),
        vec![(kid(4), KeyState::Active), (kid(5), KeyState::Pending)]
    );
    let retired = all(&*store).await;
    let three = retired.iter().find(|k| k.kid == kid(3)).expect("key 3");
    assert_eq!(three.deactivated_at, Some(at(4_000)));
}
