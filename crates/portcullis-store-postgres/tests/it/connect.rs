//! Opening a PostgreSQL store: durability setting, failures surfacing as `Unavailable`, and
//! recovery without a restart.

use crate::fresh;
use portcullis_store::{Store, StoreError, UserStore};
use portcullis_store_postgres::{PostgresStore, testing};
use std::time::{Duration, Instant};

#[tokio::test]
async fn connections_run_with_synchronous_commit_on() {
    let Some(store) = fresh().await else { return };
    for _ in 0..3 {
        assert_eq!(store.synchronous_commit().await, Ok("on".to_owned()));
    }
    store.close().await;
}

#[tokio::test]
async fn unreachable_server_is_unavailable_quickly() {
    let started = Instant::now();
    // Port 1 on loopback: nothing listens there, the connection is refused.
    let r = PostgresStore::connect("postgres://postgres@127.0.0.1:1/postgres").await;
    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(
        PostgresStore::connect("not a url").await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn connect_does_not_migrate_and_migrate_is_idempotent() {
    let url = match testing::fresh_database_url().await {
        Ok(Some(url)) => url,
        Ok(None) => return,
        Err(e) => panic!("{e}"),
    };
    let store = PostgresStore::connect(&url).await.expect("connect");
    // No schema yet: a read fails as unavailable, never as "no such user".
    assert!(matches!(
        store.user_by_username("admin").await,
        Err(StoreError::Unavailable(_))
    ));
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("second migrate is a no-op");
    assert_eq!(store.user_by_username("admin").await, Ok(None));
    store.close().await;
    assert!(matches!(
        store.user_by_username("admin").await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn pool_recovers_after_its_connections_are_killed() {
    let url = match testing::fresh_database_url().await {
        Ok(Some(url)) => url,
        Ok(None) => return,
        Err(e) => panic!("{e}"),
    };
    let store = PostgresStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    assert_eq!(store.ping().await, Ok(()));

    // Simulate a server restart: terminate every backend serving the test database.
    let database = url.rsplit('/').next().expect("database name").to_owned();
    let base = std::env::var(testing::URL_VAR).unwrap_or_else(|_| testing::DEFAULT_URL.to_owned());
    let admin = sqlx::PgPool::connect(&base).await.expect("admin connect");
    let killed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
    )
    .bind(&database)
    .fetch_one(&admin)
    .await
    .expect("pg_terminate_backend");
    assert!(killed >= 1, "expected to kill the store's connections");

    // No restart, no reconnect call: the next calls work again (a dead connection is
    // discarded when it is next checked out).
    let mut last = Err(StoreError::Unavailable("not tried".into()));
    for _ in 0..3 {
        last = store.user_by_username("admin").await;
        if last.is_ok() {
            break;
        }
    }
    assert_eq!(last, Ok(None));
    assert_eq!(store.ping().await, Ok(()));
    store.close().await;
    admin.close().await;
}
