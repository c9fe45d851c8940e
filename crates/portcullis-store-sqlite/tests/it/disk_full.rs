//! A full disk, produced inside SQLite by capping the database at its current size on the
//! writer connection (`PRAGMA max_page_count`): writes fail with `SQLITE_FULL` as they would
//! on a full file system, and must work again as soon as the cap is lifted.

use portcullis_store::Store;
use portcullis_store_sqlite::SqliteStore;
use std::sync::Arc;

#[tokio::test]
async fn writes_recover_once_the_disk_has_room() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/portcullis.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let (filler, freer) = (store.clone(), store.clone());
    portcullis_store::conformance::mdr::writes_recover_once_the_disk_has_room(
        Arc::new(store.clone()) as Arc<dyn Store>,
        async || {
            filler.cap_size_for_tests().await.expect("cap");
        },
        async || {
            freer.lift_size_cap_for_tests().await.expect("lift");
        },
    )
    .await;
    store.close().await;
}
