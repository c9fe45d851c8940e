//! AWX list filters ([`Filter`]) as SQL, generic over the engine: one renderer for every
//! listing, which only supplies its field table (API field → fixed column expression and
//! value kind), and a [`Dialect`] for the few text operations the engines spell differently.
//!
//! Each condition is rendered as `COALESCE((…), FALSE)` so that a NULL column makes it false
//! and its `not__` form true, as Django's `exclude()` does. Placeholders (`?N` or `$N`) are
//! emitted by [`QueryBuilder`] itself; values are always bound, never interpolated.

use crate::DbTime;
use portcullis_store::filter::{
    Condition, Filter, Operand, Predicate, TextOp, ValueKind, predicate,
};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// A value type bindable on `DB` for any statement lifetime.
pub trait Bind<DB: Database>: for<'q> Encode<'q, DB> + Type<DB> {}

impl<DB: Database, T> Bind<DB> for T where T: for<'q> Encode<'q, DB> + Type<DB> {}

/// What an engine spells its own way in a filter. Implemented by each backend on a unit type.
pub trait Dialect {
    /// The engine.
    type DB: Database;

    /// Appended to a text column so it compares and sorts byte by byte (`""` where that is
    /// already the default, as on SQLite).
    const BYTE_ORDER: &'static str;

    /// Appends the text test `op` of `subject` (a column or its folded form) against the bound
    /// `needle`, without `LIKE` (whose `%`/`_` are wildcards).
    fn push_text(qb: &mut QueryBuilder<Self::DB>, op: TextOp, subject: &str, needle: &str);

    /// The function that finds a needle in a haystack (`instr` or `strpos`).
    const FIND: &'static str;
}

/// `column` folded to lower case for an `i…` lookup: `lower()` under byte order folds ASCII
/// letters only, on both engines, so both select the same rows.
pub fn fold<D: Dialect>(column: &str) -> String {
    format!("lower({column}{})", D::BYTE_ORDER)
}

/// A field table: API field → column expression (a fixed identifier, never caller text) and
/// how its values are read; `None` for a field the listing does not have (matches nothing).
pub type FieldTable<'a, F> = &'a dyn Fn(&F) -> Option<(&'static str, ValueKind)>;

/// Binds one filter operand.
fn push_operand<DB: Database>(qb: &mut QueryBuilder<DB>, v: &Operand)
where
    i64: Bind<DB>,
    String: Bind<DB>,
    bool: Bind<DB>,
    DbTime: Bind<DB>,
{
    match v {
        Operand::Int(i) => qb.push_bind(*i),
        Operand::Text(t) => qb.push_bind(t.clone()),
        Operand::Bool(b) => qb.push_bind(*b),
        Operand::Instant(t) => qb.push_bind(DbTime(*t)),
    };
}

/// Appends the bare predicate on `column`.
fn push_predicate<D: Dialect>(qb: &mut QueryBuilder<D::DB>, column: &str, p: &Predicate)
where
    i64: Bind<D::DB>,
    String: Bind<D::DB>,
    bool: Bind<D::DB>,
    DbTime: Bind<D::DB>,
{
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
        Predicate::Text {
            op,
            needle,
            fold: folded,
        } => {
            let subject = if *folded {
                fold::<D>(column)
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
                    qb.push(D::FIND)
                        .push("(")
                        .push(subject.as_str())
                        .push(", ")
                        .push_bind(needle.clone())
                        .push(") > 0");
                }
                TextOp::StartsWith | TextOp::EndsWith => {
                    D::push_text(qb, *op, &subject, needle);
                }
            }
        }
    }
}

/// Appends one condition, NULL-safe, inverted for `not__`.
fn push_condition<D: Dialect, F>(
    qb: &mut QueryBuilder<D::DB>,
    c: &Condition<F>,
    table: FieldTable<'_, F>,
) where
    i64: Bind<D::DB>,
    String: Bind<D::DB>,
    bool: Bind<D::DB>,
    DbTime: Bind<D::DB>,
{
    if c.negated {
        qb.push("NOT ");
    }
    qb.push("COALESCE((");
    match table(&c.field) {
        Some((column, kind)) => {
            push_predicate::<D>(qb, column, &predicate(kind, c.lookup, &c.value));
        }
        None => push_predicate::<D>(qb, "", &Predicate::Never),
    }
    qb.push("), FALSE)");
}

/// Appends ` AND …` for every part of `filter` (nothing for an empty filter). `search`
/// columns are the text columns a `search` term is looked for in.
pub fn push_filter<D: Dialect, F>(
    qb: &mut QueryBuilder<D::DB>,
    filter: &Filter<F>,
    table: FieldTable<'_, F>,
    search: &[&'static str],
) where
    i64: Bind<D::DB>,
    String: Bind<D::DB>,
    bool: Bind<D::DB>,
    DbTime: Bind<D::DB>,
{
    for c in &filter.all {
        qb.push(" AND ");
        push_condition::<D, F>(qb, c, table);
    }
    if !filter.any.is_empty() {
        qb.push(" AND (");
        for (i, c) in filter.any.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            push_condition::<D, F>(qb, c, table);
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
            qb.push("COALESCE(")
                .push(D::FIND)
                .push("(")
                .push(fold::<D>(column))
                .push(", ")
                .push_bind(term.clone())
                .push(") > 0, FALSE)");
        }
        qb.push(")");
    }
}
