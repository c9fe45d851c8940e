//! Integration tests of the PostgreSQL backend against the real server named by
//! `PORTCULLIS_TEST_PG_URL`: the shared conformance suite on a fresh database per test, plus
//! the PostgreSQL-only guarantees (synchronous commit, recovery after an outage, the session
//! cap across nodes). Unreachable server: skipped locally with a loud message, a failure in CI.

mod connect;
mod nodes;

use portcullis_store::Store;
use portcullis_store_postgres::{PostgresStore, testing};
use std::sync::Arc;

/// A migrated store on a fresh database, or `None` (after a loud SKIP line) when the server is
/// unreachable outside CI.
#[expect(
    clippy::panic,
    reason = "test setup: in CI an unreachable server must fail the test, not skip it"
)]
async fn fresh() -> Option<PostgresStore> {
    match testing::fresh_store().await {
        Ok(store) => store,
        Err(e) => panic!("{e}"),
    }
}

/// The conformance factory.
async fn pg_store() -> Option<Arc<dyn Store>> {
    Some(Arc::new(fresh().await?))
}

portcullis_store::conformance_tests!(pg_store);
