//! The backend-neutral half of the SQL stores, written once for SQLite and PostgreSQL.
//!
//! Policy: this crate holds only what is the same on both engines — instants as [`DbTime`],
//! row structs decoded with `sqlx::FromRow` (generic over the row type) and their conversion
//! into the store records, the SQL fragments both dialects spell alike, filter and `WHERE`
//! builders generic over [`sqlx::QueryBuilder`], and the unique-violation → field mapping.
//! Every statement whose SQL differs, every transaction, lock, retry and the group commit stay
//! in the backend crates, where they are plain per-engine code (see `docs/architecture.md`).
//! It deliberately does not use sqlx's `Any` driver, which has no `timestamptz` and no JSON.

pub mod error;
pub mod filter;
mod fragments;
pub mod listing;
pub mod listings;
pub mod rows;
pub mod time;

pub use error::{conflict_field, corrupt, map_db_error};
pub use filter::{Bind, Dialect, FieldTable, fold, push_filter};
pub use listing::{Cell, ColumnKind, empty_page, push_match, push_order_and_page};
pub use rows::{
    ActivityRow, AppRow, HostRow, InventoryRow, ObjectRow, SessionRow, SettingRow, SigningKeyRow,
    TokenRow, UserRow, hash_from_bytes,
};
pub use time::DbTime;
