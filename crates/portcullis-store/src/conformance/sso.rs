//! Single sign-on state: flows, identities, SSO sessions, single-use markers (`docs/sso.md`).

use super::{at, create, hash, new_session, new_user};
use crate::{SsoFlow, SsoSession, Store, StoreError};
use std::sync::Arc;

fn flow(n: u8, expires_ms: i64) -> SsoFlow {
    SsoFlow {
        state_hash: hash(n),
        browser_hash: hash(n.wrapping_add(100)),
        nonce: format!("nonce-{n}"),
        verifier: format!("verifier-{n}"),
        redirect_uri: "https://portcullis.test/sso/complete/oidc/".into(),
        next: "/console/".into(),
        expires_at: at(expires_ms),
    }
}

/// A flow comes back once, whole; a second take, an unknown state and an expired flow get
/// nothing; concurrent takes have one winner.
pub async fn a_flow_is_taken_once(store: Arc<dyn Store>) {
    store
        .create_sso_flow(flow(1, 60_000))
        .await
        .expect("store call failed");
    store
        .create_sso_flow(flow(2, 1_000))
        .await
        .expect("store call failed");
    let got = store
        .take_sso_flow(&hash(1), at(0))
        .await
        .expect("store call failed");
    assert_eq!(got, Some(flow(1, 60_000)));
    assert_eq!(
        store
            .take_sso_flow(&hash(1), at(0))
            .await
            .expect("store call failed"),
        None
    );
    assert_eq!(
        store
            .take_sso_flow(&hash(9), at(0))
            .await
            .expect("store call failed"),
        None
    );
    // Expired at the callback: refused, and gone.
    assert_eq!(
        store
            .take_sso_flow(&hash(2), at(1_000))
            .await
            .expect("store call failed"),
        None
    );

    store
        .create_sso_flow(flow(3, 60_000))
        .await
        .expect("store call failed");
    let takes = (0..8).map(|_| {
        let s = store.clone();
        tokio::spawn(async move {
            s.take_sso_flow(&hash(3), at(0))
                .await
                .expect("store call failed")
        })
    });
    let mut winners = 0;
    for t in takes {
        if t.await.expect("task panicked").is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// An identity links once, is found by (issuer, subject) only, and goes with its user.
pub async fn identities_link_once_and_go_with_the_user(store: Arc<dyn Store>) {
    let u = create(store.as_ref(), new_user("sso-ann")).await;
    let other = create(store.as_ref(), new_user("sso-bob")).await;
    let iss = "https://idp.test";
    assert_eq!(
        store
            .sso_identity_user(iss, "ann")
            .await
            .expect("store call failed"),
        None
    );
    store
        .link_sso_identity(iss, "ann", u.id, at(0))
        .await
        .expect("store call failed");
    assert_eq!(
        store
            .sso_identity_user(iss, "ann")
            .await
            .expect("store call failed"),
        Some(u.id)
    );
    assert_eq!(
        store
            .sso_identity_user("https://other.test", "ann")
            .await
            .expect("store call failed"),
        None
    );
    assert_eq!(
        store.link_sso_identity(iss, "ann", other.id, at(0)).await,
        Err(StoreError::Conflict("identity".into()))
    );
    store
        .delete_user(u.id, None)
        .await
        .expect("store call failed");
    assert_eq!(
        store
            .sso_identity_user(iss, "ann")
            .await
            .expect("store call failed"),
        None
    );
}

/// Back-channel logout ends the sessions of one provider session (`sid`) or of one subject,
/// never another issuer's or a local login's.
pub async fn sso_sessions_end_by_sid_or_subject(store: Arc<dyn Store>) {
    let u = create(store.as_ref(), new_user("sso-cat")).await;
    let iss = "https://idp.test";
    for (n, sid) in [(11u8, Some("s1")), (12, Some("s2")), (13, None)] {
        store
            .create_session(new_session(u.id, hash(n), at(0), 0), None, None)
            .await
            .expect("store call failed");
        store
            .record_sso_session(SsoSession {
                session: hash(n),
                issuer: iss.into(),
                subject: "cat".into(),
                sid: sid.map(str::to_owned),
            })
            .await
            .expect("store call failed");
    }
    // A local session of the same user, and one from another issuer.
    store
        .create_session(new_session(u.id, hash(14), at(0), 0), None, None)
        .await
        .expect("store call failed");
    store
        .create_session(new_session(u.id, hash(15), at(0), 0), None, None)
        .await
        .expect("store call failed");
    store
        .record_sso_session(SsoSession {
            session: hash(15),
            issuer: "https://other.test".into(),
            subject: "cat".into(),
            sid: Some("s1".into()),
        })
        .await
        .expect("store call failed");
    assert_eq!(
        store
            .end_sso_sessions(iss, None, None)
            .await
            .expect("store call failed"),
        0
    );
    assert_eq!(
        store
            .end_sso_sessions(iss, None, Some("s1"))
            .await
            .expect("store call failed"),
        1
    );
    assert!(
        store
            .session_with_user(&hash(11))
            .await
            .expect("store call failed")
            .is_none()
    );
    assert!(
        store
            .session_with_user(&hash(12))
            .await
            .expect("store call failed")
            .is_some()
    );
    assert_eq!(
        store
            .end_sso_sessions(iss, Some("dog"), None)
            .await
            .expect("store call failed"),
        0
    );
    assert_eq!(
        store
            .end_sso_sessions(iss, Some("cat"), None)
            .await
            .expect("store call failed"),
        2
    );
    assert!(
        store
            .session_with_user(&hash(12))
            .await
            .expect("store call failed")
            .is_none()
    );
    assert!(
        store
            .session_with_user(&hash(13))
            .await
            .expect("store call failed")
            .is_none()
    );
    assert!(
        store
            .session_with_user(&hash(14))
            .await
            .expect("store call failed")
            .is_some()
    );
    assert!(
        store
            .session_with_user(&hash(15))
            .await
            .expect("store call failed")
            .is_some()
    );
    // The record goes with its session: a logout that deleted the session leaves nothing to end.
    store
        .delete_session(&hash(15))
        .await
        .expect("store call failed");
    assert_eq!(
        store
            .end_sso_sessions("https://other.test", Some("cat"), None)
            .await
            .expect("store call failed"),
        0
    );
}

/// A marker refuses its replay while live, is usable again after it ended, and the purge
/// removes ended flows and markers only.
pub async fn markers_are_single_use_and_purged(store: Arc<dyn Store>) {
    let key = hash(21);
    assert!(
        store
            .use_sso_once(&key, at(0), at(300_000))
            .await
            .expect("store call failed")
    );
    assert!(
        !store
            .use_sso_once(&key, at(1_000), at(301_000))
            .await
            .expect("store call failed")
    );
    assert!(
        store
            .use_sso_once(&key, at(300_000), at(600_000))
            .await
            .expect("store call failed")
    );
    store
        .create_sso_flow(flow(22, 10_000))
        .await
        .expect("store call failed");
    store
        .create_sso_flow(flow(23, 900_000))
        .await
        .expect("store call failed");
    assert!(
        store
            .use_sso_once(&hash(24), at(0), at(10_000))
            .await
            .expect("store call failed")
    );
    assert_eq!(
        store
            .purge_sso(at(10_000))
            .await
            .expect("store call failed"),
        2
    );
    assert!(
        store
            .take_sso_flow(&hash(23), at(10_000))
            .await
            .expect("store call failed")
            .is_some()
    );
    assert!(
        !store
            .use_sso_once(&key, at(10_000), at(700_000))
            .await
            .expect("store call failed")
    );
}
