//! The PostgreSQL spelling of the AWX list filters: the few text operations the generic
//! renderer (`portcullis_store_sql::push_filter`) leaves to each engine.
//!
//! Text matching uses `strpos`, `left` and `right` rather than `LIKE` (whose `%`/`_` are
//! wildcards); `i…` lookups apply `lower()` under the `"C"` collation, which folds ASCII
//! letters only, exactly as SQLite's `lower()` does, so both backends select the same rows.

use portcullis_store::filter::TextOp;
use portcullis_store_sql::Dialect;
use sqlx::{Postgres, QueryBuilder};

/// PostgreSQL as a [`Dialect`].
pub(crate) struct PgDialect;

impl Dialect for PgDialect {
    type DB = Postgres;
    const BYTE_ORDER: &'static str = " COLLATE \"C\"";
    const FIND: &'static str = "strpos";

    fn push_text(qb: &mut QueryBuilder<Postgres>, op: TextOp, subject: &str, needle: &str) {
        let side = match op {
            TextOp::StartsWith => "left(",
            TextOp::EndsWith => "right(",
            // Spelled alike on both engines: rendered by the generic filter.
            TextOp::Equals | TextOp::Contains => return,
        };
        qb.push(side)
            .push(subject)
            .push(", length(")
            .push_bind(needle.to_owned())
            .push(")) = ")
            .push_bind(needle.to_owned());
    }
}
