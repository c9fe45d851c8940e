//! The SQLite spelling of the AWX list filters: the few text operations the generic renderer
//! (`portcullis_store_sql::push_filter`) leaves to each engine.
//!
//! Text matching uses `instr` and `substr` rather than `LIKE` (which ignores ASCII case in
//! SQLite and treats `%`/`_` as wildcards); text already compares byte by byte, and `lower()`
//! folds ASCII letters only, as PostgreSQL's does under `COLLATE "C"`.

use portcullis_store::filter::TextOp;
use portcullis_store_sql::Dialect;
use sqlx::{QueryBuilder, Sqlite};

/// SQLite as a [`Dialect`].
pub(crate) struct SqliteDialect;

impl Dialect for SqliteDialect {
    type DB = Sqlite;
    const BYTE_ORDER: &'static str = "";
    const FIND: &'static str = "instr";

    fn push_text(qb: &mut QueryBuilder<Sqlite>, op: TextOp, subject: &str, needle: &str) {
        match op {
            TextOp::StartsWith => {
                qb.push("substr(")
                    .push(subject)
                    .push(", 1, length(")
                    .push_bind(needle.to_owned())
                    .push(")) = ")
                    .push_bind(needle.to_owned());
            }
            TextOp::EndsWith => {
                // substr with a start below 1 counts from the end in SQLite: guard it.
                qb.push("(length(")
                    .push(subject)
                    .push(") >= length(")
                    .push_bind(needle.to_owned())
                    .push(") AND substr(")
                    .push(subject)
                    .push(", length(")
                    .push(subject)
                    .push(") - length(")
                    .push_bind(needle.to_owned())
                    .push(") + 1) = ")
                    .push_bind(needle.to_owned())
                    .push(")");
            }
            // Spelled alike on both engines: rendered by the generic filter.
            TextOp::Equals | TextOp::Contains => {}
        }
    }
}
