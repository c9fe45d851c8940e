//! Several nodes on one database: the invariants that need a lock must hold across pools.

use crate::fresh;
use portcullis_core::session::SessionTimes;
use portcullis_core::token::TokenHash;
use portcullis_store::{NewSession, NewUser, SessionStore, UserStore};
use portcullis_store_postgres::{PostgresStore, testing};
use std::sync::Arc;
use time::Duration;
use time::macros::datetime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cap_holds_under_concurrent_logins_from_two_nodes() {
    let url = match testing::fresh_database_url().await {
        Ok(Some(url)) => url,
        Ok(None) => return,
        Err(e) => panic!("{e}"),
    };
    let node_a = Arc::new(PostgresStore::connect(&url).await.expect("node a"));
    node_a.migrate().await.expect("migrate");
    let node_b = Arc::new(PostgresStore::connect(&url).await.expect("node b"));
    let t0 = datetime!(2026-03-01 12:00 UTC);
    let user = node_a
        .create_user(
            NewUser {
                username: "alice".into(),
                email: String::new(),
                first_name: String::new(),
                last_name: String::new(),
                password_hash: None,
                is_superuser: false,
                is_system_auditor: false,
                external_account: None,
                ldap_dn: String::new(),
                created_at: t0,
            },
            None,
        )
        .await
        .expect("user");

    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let node = if i % 2 == 0 {
            Arc::clone(&node_a)
        } else {
            Arc::clone(&node_b)
        };
        tasks.push(tokio::spawn(async move {
            let session = NewSession {
                hash: TokenHash::from_bytes([i; 32]),
                user_id: user.id,
                times: SessionTimes::new(
                    t0 + Duration::milliseconds(i64::from(i)),
                    Duration::minutes(30),
                    Duration::hours(8),
                ),
                auth_generation: 0,
            };
            node.create_session(session, None, Some(3)).await
        }));
    }
    let mut evicted = 0;
    for task in tasks {
        evicted += task.await.expect("task").expect("login");
    }
    assert_eq!(
        evicted, 17,
        "every login beyond the cap evicted exactly one session"
    );
    assert_eq!(node_b.delete_user_sessions(user.id, None).await, Ok(3));
    node_a.close().await;
    node_b.close().await;
}

#[tokio::test]
async fn fresh_databases_are_distinct_and_empty() {
    let Some(a) = fresh().await else { return };
    let Some(b) = fresh().await else { return };
    let t0 = datetime!(2026-03-01 12:00 UTC);
    let new = |name: &str| NewUser {
        username: name.into(),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        password_hash: None,
        is_superuser: false,
        is_system_auditor: false,
        external_account: None,
        ldap_dn: String::new(),
        created_at: t0,
    };
    a.create_user(new("only-in-a"), None).await.expect("create");
    assert_eq!(b.user_by_username("only-in-a").await, Ok(None));
    assert!(
        a.user_by_username("only-in-a")
            .await
            .expect("read")
            .is_some()
    );
}
