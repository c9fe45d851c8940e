//! Opening a SQLite store: the durability pragmas, private file permissions and failures that
//! must surface as `Unavailable`.

use portcullis_store::{StoreError, UserStore};
use portcullis_store_sqlite::{Pragmas, SqliteStore};

#[tokio::test]
async fn file_database_reads_back_wal_full_foreign_keys_and_busy_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}/p.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    let expected = Pragmas {
        journal_mode: "wal".into(),
        synchronous: 2,
        foreign_keys: true,
        busy_timeout_ms: 5000,
    };
    // Ask several times: the pool may hand out different connections, each must be set up.
    for _ in 0..4 {
        assert_eq!(store.pragmas().await, Ok(expected.clone()));
    }
    store.close().await;
}

#[tokio::test]
async fn memory_database_is_not_wal_but_otherwise_durable_settings_hold() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    let p = store.pragmas().await.expect("pragmas");
    assert_eq!(p.journal_mode, "memory");
    assert_eq!(p.synchronous, 2);
    assert!(p.foreign_keys);
    assert_eq!(p.busy_timeout_ms, 5000);
}

#[cfg(unix)]
#[tokio::test]
async fn new_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fresh.db");
    assert!(!path.exists());
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&path), 0o600);
    // SQLite gives the WAL the database file's mode.
    let wal = dir.path().join("fresh.db-wal");
    assert!(wal.exists(), "WAL mode creates a -wal file");
    assert_eq!(mode(&wal), 0o600);
    store.close().await;
}

#[tokio::test]
async fn connect_does_not_migrate_and_migrate_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}/p.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    // No schema yet: a read fails as unavailable, never as "no such user".
    assert!(matches!(
        store.user_by_username("admin").await,
        Err(StoreError::Unavailable(_))
    ));
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("second migrate is a no-op");
    assert_eq!(store.user_by_username("admin").await, Ok(None));
    store.close().await;

    // Reopening an existing database keeps its data and mode checks.
    let again = SqliteStore::connect(&url).await.expect("reconnect");
    assert_eq!(again.user_by_username("admin").await, Ok(None));
    again.close().await;
}

#[tokio::test]
async fn unusable_locations_are_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing_parent = format!("sqlite:{}/no/such/dir/p.db", dir.path().display());
    assert!(matches!(
        SqliteStore::connect(&missing_parent).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        SqliteStore::connect("postgres://localhost/x").await,
        Err(StoreError::Unavailable(_))
    ));
    // A file that is not a database.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x42u8; 4096]).expect("write junk");
    assert!(matches!(
        SqliteStore::connect(&format!("sqlite:{}", junk.display())).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn closed_store_is_unavailable() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    store.close().await;
    assert!(matches!(
        store.user_by_username("admin").await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_write_blocked_past_the_busy_timeout_is_unavailable_while_reads_go_on() {
    use portcullis_store::NewUser;
    use sqlx::Connection;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}/p.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let user = store
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
                created_at: time::OffsetDateTime::UNIX_EPOCH,
            },
            None,
        )
        .await
        .expect("create");

    // Another process holds the write lock.
    let mut locker = sqlx::SqliteConnection::connect(&url).await.expect("locker");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut locker)
        .await
        .expect("take the write lock");

    let started = Instant::now();
    let r = store
        .record_login(user.id, time::OffsetDateTime::UNIX_EPOCH)
        .await;
    let waited = started.elapsed();
    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
    assert!(
        waited >= Duration::from_millis(4500),
        "gave up after {waited:?}"
    );
    // WAL: readers are not blocked by the writer.
    assert_eq!(
        store
            .user_by_id(user.id)
            .await
            .map(|u| u.map(|u| u.username)),
        Ok(Some("alice".to_owned()))
    );

    sqlx::query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("release");
    assert_eq!(
        store
            .record_login(user.id, time::OffsetDateTime::UNIX_EPOCH)
            .await,
        Ok(())
    );
    store.close().await;
}
