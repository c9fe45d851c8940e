//! Exact-match listings (tokens, applications, resources): parsing a query-string value for
//! its column, the `AND column = value` clause, and the `ORDER BY … LIMIT … OFFSET` tail,
//! generic over the engine.

use crate::DbTime;
use crate::filter::Bind;
use portcullis_core::clock::round_ms;
use portcullis_store::Page;
use portcullis_store::filter::ValueKind;
use sqlx::{Database, QueryBuilder};
use time::OffsetDateTime;

/// How a column's query-string filter values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Integer, decimal text.
    Int,
    /// A reference to another object (AWX's related fields): an id, or `null`/`none` (any
    /// case) for "no object", as AWX's filter backend reads them.
    Related,
    /// Text, matched exactly as given.
    Text,
    /// Boolean in Django's spellings.
    Bool,
    /// Instant in RFC 3339, compared at the stored millisecond precision.
    Instant,
}

/// A filter value parsed for its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Integer (ids).
    Int(i64),
    /// Text.
    Text(String),
    /// Boolean.
    Bool(bool),
    /// Instant, whole milliseconds.
    Instant(OffsetDateTime),
    /// SQL NULL: matched with `IS NULL`.
    Null,
}

impl ColumnKind {
    /// Parses `value` for this kind; `None` when it cannot match any row, so the listing is
    /// empty rather than an error.
    pub fn parse(self, value: &str) -> Option<Cell> {
        match self {
            Self::Int => value.parse().ok().map(Cell::Int),
            Self::Related => {
                if value.eq_ignore_ascii_case("null") || value.eq_ignore_ascii_case("none") {
                    Some(Cell::Null)
                } else {
                    value.parse().ok().map(Cell::Int)
                }
            }
            Self::Text => Some(Cell::Text(value.to_owned())),
            Self::Bool => match value {
                "true" | "True" | "1" => Some(Cell::Bool(true)),
                "false" | "False" | "0" => Some(Cell::Bool(false)),
                _ => None,
            },
            // Stored instants are whole milliseconds; compare at the same precision.
            Self::Instant => {
                OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|t| Cell::Instant(round_ms(t)))
            }
        }
    }

    /// The [`ValueKind`] the generic filter renderer reads this kind as.
    pub fn value_kind(self) -> ValueKind {
        match self {
            Self::Int => ValueKind::Int,
            Self::Related => ValueKind::Related,
            Self::Text => ValueKind::Text,
            Self::Bool => ValueKind::Bool,
            Self::Instant => ValueKind::Instant,
        }
    }
}

/// Appends ` AND <column> = <value>` (or `IS NULL`). `column` is always a fixed identifier
/// from a backend's match table, never caller text; the value is bound.
pub fn push_match<DB: Database>(qb: &mut QueryBuilder<DB>, column: &'static str, cell: &Cell)
where
    i64: Bind<DB>,
    String: Bind<DB>,
    bool: Bind<DB>,
    DbTime: Bind<DB>,
{
    qb.push(" AND ").push(column);
    match cell {
        Cell::Null => {
            qb.push(" IS NULL");
        }
        Cell::Int(v) => {
            qb.push(" = ").push_bind(*v);
        }
        Cell::Text(v) => {
            qb.push(" = ").push_bind(v.clone());
        }
        Cell::Bool(v) => {
            qb.push(" = ").push_bind(*v);
        }
        Cell::Instant(v) => {
            qb.push(" = ").push_bind(DbTime(*v));
        }
    }
}

/// Appends `ORDER BY <column> [DESC], <id> ASC`. A `nullable` column spells out
/// PostgreSQL's default NULL placement (last ascending, first descending) on both engines, so
/// both backends order identically.
pub fn push_order<DB: Database>(
    qb: &mut QueryBuilder<DB>,
    order: Option<(&'static str, bool, bool)>,
    id_column: &'static str,
) {
    qb.push(" ORDER BY ");
    if let Some((column, descending, nullable)) = order {
        qb.push(column)
            .push(if descending { " DESC" } else { " ASC" });
        if nullable {
            qb.push(if descending {
                " NULLS FIRST"
            } else {
                " NULLS LAST"
            });
        }
        if column != id_column {
            qb.push(", ");
        }
    }
    if order.is_none_or(|(column, _, _)| column != id_column) {
        qb.push(id_column).push(" ASC");
    }
}

/// Appends [`push_order`]'s `ORDER BY`, then `LIMIT` and `OFFSET`.
pub fn push_order_and_page<DB: Database>(
    qb: &mut QueryBuilder<DB>,
    order: Option<(&'static str, bool, bool)>,
    id_column: &'static str,
    limit: i64,
    offset: i64,
) where
    i64: Bind<DB>,
{
    push_order(qb, order, id_column);
    qb.push(" LIMIT ")
        .push_bind(limit.max(0))
        .push(" OFFSET ")
        .push_bind(offset.max(0));
}

/// An empty page: what a filter that cannot match produces.
pub fn empty_page<T>() -> Page<T> {
    Page {
        total: 0,
        items: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn filter_values_parse_for_their_column_kind() {
        assert_eq!(ColumnKind::Int.parse("42"), Some(Cell::Int(42)));
        assert_eq!(ColumnKind::Int.parse("null"), None);
        assert_eq!(ColumnKind::Int.parse("1.5"), None);
        assert_eq!(ColumnKind::Related.parse("null"), Some(Cell::Null));
        assert_eq!(ColumnKind::Related.parse("None"), Some(Cell::Null));
        assert_eq!(ColumnKind::Related.parse("7"), Some(Cell::Int(7)));
        assert_eq!(ColumnKind::Related.parse("x"), None);
        assert_eq!(ColumnKind::Bool.parse("True"), Some(Cell::Bool(true)));
        assert_eq!(ColumnKind::Bool.parse("0"), Some(Cell::Bool(false)));
        assert_eq!(ColumnKind::Bool.parse("yes"), None);
        assert_eq!(
            ColumnKind::Text.parse("null"),
            Some(Cell::Text("null".into()))
        );
        assert_eq!(
            ColumnKind::Instant.parse("1970-01-01T00:00:01.0019Z"),
            Some(Cell::Instant(
                OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(1001)
            ))
        );
        assert_eq!(ColumnKind::Instant.parse("yesterday"), None);
    }
}
