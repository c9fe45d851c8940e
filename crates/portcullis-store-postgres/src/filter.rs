//! AWX list filters ([`Filter`]) as PostgreSQL SQL: one renderer for every listing, which only
//! supplies its field table (API field → fixed column expression and value kind).
//!
//! Each condition is rendered as `COALESCE((…), FALSE)` so that a NULL column makes it false
//! and its `not__` form true, as Django's `exclude()` does. Text matching uses `strpos`,
//! `left` and `right` rather than `LIKE` (whose `%`/`_` are wildcards); `i…` lookups apply
//! `lower()` under the `"C"` collation, which folds ASCII letters only, exactly as SQLite's
//! `lower()` does, so both backends select the same rows.

use portcullis_store::filter::{
    Condition, Filter, Operand, Predicate, TextOp, ValueKind, predicate,
};
use sqlx::{Postgres, QueryBuilder};

/// A field table: API field → column expression (a fixed identifier, never caller text) and
/// how its values are read; `None` for a field the listing does not have (matches nothing).
pub(crate) type FieldTable<'a, F> = &'a dyn Fn(&F) -> Option<(&'static str, ValueKind)>;

fn push_operand(qb: &mut QueryBuilder<Postgres>, v: &Operand) {
    match v {
        Operand::Int(i) => qb.push_bind(*i),
        Operand::Text(t) => qb.push_bind(t.clone()),
        Operand::Bool(b) => qb.push_bind(*b),
        Operand::Instant(t) => qb.push_bind(*t),
    };
}

/// Appends the bare predicate on `column`.
fn push_predicate(qb: &mut QueryBuilder<Postgres>, column: &str, p: &Predicate) {
    match p {
        Predicate::Never => {
            qb.push("FALSE");
        }
        Predicate::IsNull(true) => {
            qb.push(column).push(" IS NULL");
        }
        Predicate::IsNull(false) => {
            qb.push(column).push(" IS NOT NULL");
        }
        Predicate::Compare(cmp, v) => {
            qb.push(column).push(cmp.sql());
            push_operand(qb, v);
        }
        Predicate::In(members) => {
            qb.push(column).push(" IN (");
            for (i, v) in members.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                push_operand(qb, v);
            }
            qb.push(")");
        }
        Predicate::Text { op, needle, fold } => {
            let subject = if *fold {
                format!("lower({column} COLLATE \"C\")")
            } else {
                column.to_owned()
            };
            match op {
                TextOp::Equals => {
                    qb.push(subject.as_str())
                        .push(" = ")
                        .push_bind(needle.clone());
                }
                TextOp::Contains => {
                    qb.push("strpos(")
                        .push(subject.as_str())
                        .push(", ")
                        .push_bind(needle.clone())
                        .push(") > 0");
                }
                TextOp::StartsWith => {
                    qb.push("left(")
                        .push(subject.as_str())
                        .push(", length(")
                        .push_bind(needle.clone())
                        .push(")) = ")
                        .push_bind(needle.clone());
                }
                TextOp::EndsWith => {
                    qb.push("right(")
                        .push(subject.as_str())
                        .push(", length(")
                        .push_bind(needle.clone())
                        .push(")) = ")
                        .push_bind(needle.clone());
                }
            }
        }
    }
}

/// Appends one condition, NULL-safe, inverted for `not__`.
fn push_condition<F>(qb: &mut QueryBuilder<Postgres>, c: &Condition<F>, table: FieldTable<'_, F>) {
    if c.negated {
        qb.push("NOT ");
    }
    qb.push("COALESCE((");
    match table(&c.field) {
        Some((column, kind)) => push_predicate(qb, column, &predicate(kind, c.lookup, &c.value)),
        None => push_predicate(qb, "", &Predicate::Never),
    }
    qb.push("), FALSE)");
}

/// Appends ` AND …` for every part of `filter` (nothing for an empty filter). `search`
/// columns are the text columns a `search` term is looked for in.
pub(crate) fn push_filter<F>(
    qb: &mut QueryBuilder<Postgres>,
    filter: &Filter<F>,
    table: FieldTable<'_, F>,
    search: &[&'static str],
) {
    for c in &filter.all {
        qb.push(" AND ");
        push_condition(qb, c, table);
    }
    if !filter.any.is_empty() {
        qb.push(" AND (");
        for (i, c) in filter.any.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            push_condition(qb, c, table);
        }
        qb.push(")");
    }
    if search.is_empty() {
        return;
    }
    for term in &filter.search {
        qb.push(" AND (");
        for (i, column) in search.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("COALESCE(strpos(lower(")
                .push(*column)
                .push(" COLLATE \"C\"), ")
                .push_bind(term.clone())
                .push(") > 0, FALSE)");
        }
        qb.push(")");
    }
}

/// The value kind of the backend's existing [`crate::tokens::ColumnKind`].
pub(crate) fn value_kind(kind: crate::tokens::ColumnKind) -> ValueKind {
    use crate::tokens::ColumnKind;
    match kind {
        ColumnKind::Int => ValueKind::Int,
        ColumnKind::Related => ValueKind::Related,
        ColumnKind::Text => ValueKind::Text,
        ColumnKind::Bool => ValueKind::Bool,
        ColumnKind::Instant => ValueKind::Instant,
    }
}
