//! Test support: a fresh, empty PostgreSQL database per test, on the server named by
//! `PORTCULLIS_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`). Used by
//! this crate's tests and by the server's test harness.
//!
//! Policy: an unreachable server skips the test with a loud message on a developer machine and
//! fails it when `CI` is set (`docs/architecture.md` §6): a
//! CI run must never go green by skipping. Databases are named `portcullis_t_<server time,
//! hex>_<random hex>`; each call first drops (once per process) such databases that are older than
//! [`STALE_AFTER_SECS`] and have no connections, so test runs do not pile up databases on a
//! development server.

use crate::PostgresStore;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Environment variable naming the test server (a database on it to connect to first).
pub const URL_VAR: &str = "PORTCULLIS_TEST_PG_URL";
/// The test server every development machine and CI runs.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Prefix of every database this module creates (and the only ones it ever drops).
pub const DATABASE_PREFIX: &str = "portcullis_t_";
/// Age after which an unused test database is dropped by the next test process.
pub const STALE_AFTER_SECS: i64 = 600;

/// Set once this process has swept stale test databases.
static SWEPT: AtomicBool = AtomicBool::new(false);
/// Set once the server was found unreachable: later calls skip at once instead of waiting for
/// the connect timeout again in every test.
static UNREACHABLE: OnceLock<String> = OnceLock::new();

/// Creates a fresh, empty database on the test server and returns its URL (not migrated; see
/// [`fresh_store`] for a migrated store).
///
/// - `Ok(Some(url))`: the new database.
/// - `Ok(None)`: the server is unreachable and `CI` is not set; a loud `SKIP` line has been
///   printed to stderr and the caller should skip its test.
/// - `Err(message)`: the server is unreachable while `CI` is set, or it is reachable but the
///   database could not be created. Test code should panic with the message.
pub async fn fresh_database_url() -> Result<Option<String>, String> {
    let base = std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned());
    if let Some(error) = UNREACHABLE.get() {
        return unreachable_server(&base, error);
    }
    let admin = match PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect(&base)
        .await
    {
        Ok(pool) => pool,
        Err(e) => {
            let error = UNREACHABLE.get_or_init(|| e.to_string());
            return unreachable_server(&base, error);
        }
    };
    let result = create_database(&admin, &base).await;
    admin.close().await;
    result.map(Some)
}

/// [`fresh_database_url`], then [`PostgresStore::connect`] and [`PostgresStore::migrate`] on it.
pub async fn fresh_store() -> Result<Option<PostgresStore>, String> {
    let Some(url) = fresh_database_url().await? else {
        return Ok(None);
    };
    let store = PostgresStore::connect(&url)
        .await
        .map_err(|e| format!("connect to fresh test database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("migrate fresh test database: {e}"))?;
    Ok(Some(store))
}

/// True when the `CI` environment variable is set to anything but the empty string.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Skip locally, fail in CI.
fn unreachable_server(base: &str, error: &str) -> Result<Option<String>, String> {
    let shown = redact(base);
    if in_ci() {
        return Err(format!(
            "PostgreSQL test server {shown} is unreachable ({error}) and CI is set: \
             PostgreSQL tests must run in CI, not skip. Start the server or set {URL_VAR}."
        ));
    }
    // Written to the stderr handle, not with `eprintln!`, which the test harness captures
    // and hides for passing tests: a skip must be visible in a plain `cargo test`.
    let _ignored = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIP: PostgreSQL test server {shown} is unreachable ({error}). \
         PostgreSQL tests are NOT being run. Start it or set {URL_VAR}. !!!!!\n"
    );
    Ok(None)
}

/// Sweeps stale test databases (once per process), creates a new one, returns its URL.
async fn create_database(admin: &PgPool, base: &str) -> Result<String, String> {
    let now: i64 = sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM now())::bigint")
        .fetch_one(admin)
        .await
        .map_err(|e| format!("reading server time: {e}"))?;
    if !SWEPT.swap(true, Ordering::SeqCst) {
        sweep(admin, now).await;
    }
    let random = getrandom::u64().map_err(|e| format!("no randomness for a name: {e}"))?;
    let name = format!("{DATABASE_PREFIX}{now:x}_{random:016x}");
    // The name is the prefix plus hex digits only, so quoting it is enough.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(admin)
        .await
        .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
    let mut url = url::Url::parse(base).map_err(|e| format!("{URL_VAR}: {e}"))?;
    url.set_path(&format!("/{name}"));
    Ok(url.into())
}

/// Drops this module's databases older than [`STALE_AFTER_SECS`]. Without `FORCE`, a database
/// somebody is connected to is refused by the server, so a running test never loses its
/// database; errors are ignored (another process may be sweeping too).
async fn sweep(admin: &PgPool, now: i64) {
    let names: Vec<String> =
        match sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(DATABASE_PREFIX)
            .fetch_all(admin)
            .await
        {
            Ok(names) => names,
            Err(_) => return,
        };
    for name in names {
        let Some(created) = created_at(&name) else {
            continue;
        };
        if now - created > STALE_AFTER_SECS {
            let _ignored =
                sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\"")))
                    .execute(admin)
                    .await;
        }
    }
}

/// The creation time encoded in a name this module generated; `None` for any other name.
fn created_at(name: &str) -> Option<i64> {
    let rest = name.strip_prefix(DATABASE_PREFIX)?;
    let (stamp, random) = rest.split_once('_')?;
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(stamp) || !hex(random) {
        return None;
    }
    i64::from_str_radix(stamp, 16).ok()
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ignored = u.set_password(Some("***"));
            }
            u.into()
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_generated_names_are_ever_swept() {
        assert_eq!(
            created_at("portcullis_t_6650a1b2_00ff00ff00ff00ff"),
            Some(0x6650_a1b2)
        );
        assert_eq!(created_at("portcullis_t_"), None);
        assert_eq!(created_at("portcullis_t_zz_00"), None);
        assert_eq!(created_at("portcullis_t_12_"), None);
        assert_eq!(created_at("portcullis_t_12_ab\"; DROP"), None);
        assert_eq!(created_at("postgres"), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
