//! Driver errors as [`StoreError`], the engine-neutral part.
//!
//! Policy: a unique violation names its field (`Conflict("username")`), a missing row or a
//! foreign key pointing at a missing row is `NotFound`, and everything else — busy/locked,
//! pool timeout, I/O, a corrupt value — is `Unavailable`, so the server fails closed with 503
//! and never mistakes a storage failure for "no such user". The kind comes from
//! [`sqlx::error::DatabaseError::kind`], which both drivers classify; what an engine adds (the
//! PostgreSQL backend's retry of serialization failures and its data exceptions) it checks
//! before calling [`map_db_error`].

use portcullis_store::StoreError;
use sqlx::error::{DatabaseError, ErrorKind};

/// The field each named unique constraint protects (PostgreSQL names its constraints; see
/// the backends' `migrations/`). A constraint outside the table is reported by its own name.
fn constraint_field(constraint: &str) -> &str {
    match constraint {
        "users_username_key" => "username",
        "sessions_pkey" => "hash",
        "settings_pkey" => "key",
        "install_secrets_pkey" => "name",
        "oauth_access_tokens_hash_key"
        | "oauth_refresh_tokens_hash_key"
        | "oauth_auth_codes_pkey" => "hash",
        "oauth_applications_client_id_key" => "client_id",
        "oauth_applications_name_org_key"
        | "oauth_applications_name_no_org_key"
        | "inventories_name_key"
        | "hosts_inventory_name_key"
        | "mdr_connections_name_key" => "name",
        "mdr_customers_pkey" => "client_id",
        "mdr_tenants_pkey" => "tenant_id",
        "mdr_tenants_name_key" => "tenant_name",
        "mdr_connections_pkey" => "connection_id",
        "mdr_families_pkey" => "family_id",
        "mdr_refresh_records_pkey" => "jti",
        "mdr_signing_keys_pkey" => "kid",
        "mdr_signing_keys_one_active" => "state",
        "mdr_objects_pkey" => "id",
        "" => "unknown",
        other => other,
    }
}

/// The first column SQLite names in `UNIQUE constraint failed: users.username` (SQLite names
/// no constraint, only the columns).
fn first_column(message: &str) -> &str {
    message
        .rsplit_once(": ")
        .and_then(|(_, cols)| cols.split(", ").next())
        .map(|col| col.rsplit_once('.').map_or(col, |(_, c)| c))
        .filter(|c| !c.is_empty())
        .unwrap_or("unknown")
}

/// The field a unique violation is about: by constraint name where the engine gives one,
/// else by the first column its message names.
pub fn conflict_field(db: &dyn DatabaseError) -> String {
    match db.constraint() {
        Some(constraint) => constraint_field(constraint),
        None => first_column(db.message()),
    }
    .to_owned()
}

/// Maps a driver error onto the storage error the server understands; `backend` prefixes
/// the diagnostic (`"sqlite"`, `"postgres"`).
pub fn map_db_error(e: sqlx::Error, backend: &str) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => StoreError::Conflict(conflict_field(db.as_ref())),
            // Only rows pointing at a user, application or customer: the target is gone.
            ErrorKind::ForeignKeyViolation => StoreError::NotFound,
            _ => match db.code() {
                Some(code) => {
                    StoreError::Unavailable(format!("{backend}: {} (code {code})", db.message()))
                }
                None => StoreError::Unavailable(format!("{backend}: {}", db.message())),
            },
        },
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable(format!("{backend}: no connection available within 3 s"))
        }
        other => StoreError::Unavailable(format!("{backend}: {other}")),
    }
}

/// A stored value that cannot be decoded (a corrupt row), as `Unavailable`: the data is there
/// but unusable, which must not read as "absent".
pub fn corrupt(backend: &str, what: &str) -> StoreError {
    StoreError::Unavailable(format!("{backend}: corrupt {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_name_the_first_column() {
        assert_eq!(
            first_column("UNIQUE constraint failed: users.username"),
            "username"
        );
        assert_eq!(first_column("UNIQUE constraint failed: t.a, t.b"), "a");
        assert_eq!(first_column("something else"), "unknown");
    }

    #[test]
    fn constraints_name_their_fields() {
        assert_eq!(constraint_field("users_username_key"), "username");
        assert_eq!(constraint_field("sessions_pkey"), "hash");
        assert_eq!(constraint_field("inventories_name_key"), "name");
        assert_eq!(constraint_field("mdr_tenants_name_key"), "tenant_name");
        assert_eq!(constraint_field("something_else"), "something_else");
        assert_eq!(constraint_field(""), "unknown");
    }

    #[test]
    fn missing_rows_and_pool_timeouts_map_to_distinct_errors() {
        assert_eq!(
            map_db_error(sqlx::Error::RowNotFound, "x"),
            StoreError::NotFound
        );
        assert!(matches!(
            map_db_error(sqlx::Error::PoolTimedOut, "x"),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_db_error(sqlx::Error::PoolClosed, "x"),
            StoreError::Unavailable(_)
        ));
    }
}
