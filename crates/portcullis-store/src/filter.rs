//! AWX's list filter language as the stores receive it: field lookups (`name__icontains`),
//! negation (`not__`), one OR group (`or__`), chained conditions (`chain__`) and the `search`
//! terms, over a listing's own field type `F`.
//!
//! The server parses and validates the query string (unknown fields and lookups are its 400);
//! the backends turn a [`Filter`] into SQL through [`predicate`], so both read every value the
//! same way: a value the column cannot hold (`id=abc`) makes that condition match no row,
//! never an error, and a negated condition is true wherever the plain one is not (NULLs
//! included, as Django's `exclude()`).

use portcullis_core::clock::round_ms;
use time::OffsetDateTime;

/// A Django field lookup, the part after the last `__` of a filter key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// `field=v` or `field__exact=v`.
    Exact,
    /// Equal ignoring ASCII case.
    IExact,
    /// Substring, case-sensitive.
    Contains,
    /// Substring ignoring ASCII case.
    IContains,
    /// Prefix, case-sensitive.
    StartsWith,
    /// Prefix ignoring ASCII case.
    IStartsWith,
    /// Suffix, case-sensitive.
    EndsWith,
    /// Suffix ignoring ASCII case.
    IEndsWith,
    /// One of a comma-separated list.
    In,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// `true`: the field is NULL; `false`: it is not.
    IsNull,
}

impl Lookup {
    /// Every lookup with its key suffix.
    pub const ALL: [(&'static str, Self); 14] = [
        ("exact", Self::Exact),
        ("iexact", Self::IExact),
        ("contains", Self::Contains),
        ("icontains", Self::IContains),
        ("startswith", Self::StartsWith),
        ("istartswith", Self::IStartsWith),
        ("endswith", Self::EndsWith),
        ("iendswith", Self::IEndsWith),
        ("in", Self::In),
        ("gt", Self::Gt),
        ("gte", Self::Gte),
        ("lt", Self::Lt),
        ("lte", Self::Lte),
        ("isnull", Self::IsNull),
    ];

    /// The lookup named `suffix`, if it is one.
    pub fn from_suffix(suffix: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == suffix)
            .map(|(_, l)| *l)
    }
}

/// One condition: `[not__]field[__lookup]=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition<F> {
    /// The field.
    pub field: F,
    /// How the value is compared.
    pub lookup: Lookup,
    /// The query-string value, as sent.
    pub value: String,
    /// `not__`: the condition is inverted.
    pub negated: bool,
}

/// A whole filter: every condition of `all` holds, at least one of `any` does (when there
/// are any), and every `search` term is found (ignoring ASCII case) in at least one of the
/// listing's text search fields. `chain__` conditions arrive in `all`: on the single-valued
/// fields Portcullis lists, chaining and AND select the same rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter<F> {
    /// Conditions that must all hold.
    pub all: Vec<Condition<F>>,
    /// The `or__` group.
    pub any: Vec<Condition<F>>,
    /// `search` terms.
    pub search: Vec<String>,
}

impl<F> Default for Filter<F> {
    fn default() -> Self {
        Self {
            all: Vec::new(),
            any: Vec::new(),
            search: Vec::new(),
        }
    }
}

impl<F> Filter<F> {
    /// Exact matches that must all hold (the plain `?field=value` form).
    pub fn exact<V: Into<String>>(pairs: impl IntoIterator<Item = (F, V)>) -> Self {
        Self {
            all: pairs
                .into_iter()
                .map(|(field, value)| Condition {
                    field,
                    lookup: Lookup::Exact,
                    value: value.into(),
                    negated: false,
                })
                .collect(),
            ..Self::default()
        }
    }

    /// The same filter over another field type; `None` if `map` refuses a field.
    pub fn map_fields<G>(&self, map: impl Fn(&F) -> Option<G>) -> Option<Filter<G>> {
        let conv = |cs: &[Condition<F>]| -> Option<Vec<Condition<G>>> {
            cs.iter()
                .map(|c| {
                    Some(Condition {
                        field: map(&c.field)?,
                        lookup: c.lookup,
                        value: c.value.clone(),
                        negated: c.negated,
                    })
                })
                .collect()
        };
        Some(Filter {
            all: conv(&self.all)?,
            any: conv(&self.any)?,
            search: self.search.clone(),
        })
    }

    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty() && self.search.is_empty()
    }
}

/// How a column's values are read from the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Integer, decimal text.
    Int,
    /// A reference to another object: an id, or `null`/`none` (any case) for none.
    Related,
    /// Text.
    Text,
    /// Boolean in Django's spellings (`true`/`True`/`1`, `false`/`False`/`0`).
    Bool,
    /// Instant in RFC 3339, compared at the stored millisecond precision.
    Instant,
}

/// A typed value to compare a column with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// Integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Boolean.
    Bool(bool),
    /// Instant (whole milliseconds).
    Instant(OffsetDateTime),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`
    Eq,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Cmp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Eq => " = ",
            Self::Gt => " > ",
            Self::Ge => " >= ",
            Self::Lt => " < ",
            Self::Le => " <= ",
        }
    }
}

/// Where a text needle must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    /// The whole value.
    Equals,
    /// Anywhere.
    Contains,
    /// At the start.
    StartsWith,
    /// At the end.
    EndsWith,
}

/// A condition reduced to what a backend must render (before negation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// Matches no row: the value cannot be held by the column, or the lookup does not apply.
    Never,
    /// `IS NULL` (`true`) or `IS NOT NULL`.
    IsNull(bool),
    /// `column <op> operand`.
    Compare(Cmp, Operand),
    /// `column IN (…)`, never empty.
    In(Vec<Operand>),
    /// A text match; with `fold` the column is ASCII-lowercased and `needle` already is.
    Text {
        /// Where.
        op: TextOp,
        /// What.
        needle: String,
        /// Ignore ASCII case.
        fold: bool,
    },
}

fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" | "True" | "1" => Some(true),
        "false" | "False" | "0" => Some(false),
        _ => None,
    }
}

/// `value` as an operand of a `kind` column; `None` when no row can hold it. A related
/// field's `null` is not an operand (see [`predicate`]).
fn operand(kind: ValueKind, value: &str) -> Option<Operand> {
    match kind {
        ValueKind::Int | ValueKind::Related => value.parse().ok().map(Operand::Int),
        ValueKind::Text => Some(Operand::Text(value.to_owned())),
        ValueKind::Bool => parse_bool(value).map(Operand::Bool),
        ValueKind::Instant => {
            OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| Operand::Instant(round_ms(t)))
        }
    }
}

fn is_null_word(value: &str) -> bool {
    value.eq_ignore_ascii_case("null") || value.eq_ignore_ascii_case("none")
}

/// Reduces `lookup` of `value` on a `kind` column. Text lookups (`contains`, `iexact`, …)
/// apply to text columns; on other kinds `iexact` is `exact` and the pattern lookups match
/// nothing. `in` ignores members the column cannot hold (and `null`, as Django does).
pub fn predicate(kind: ValueKind, lookup: Lookup, value: &str) -> Predicate {
    let compare = |cmp: Cmp| match operand(kind, value) {
        Some(v) => Predicate::Compare(cmp, v),
        None => Predicate::Never,
    };
    let text = |op: TextOp, fold: bool| {
        if kind == ValueKind::Text {
            Predicate::Text {
                op,
                needle: if fold {
                    value.to_ascii_lowercase()
                } else {
                    value.to_owned()
                },
                fold,
            }
        } else {
            Predicate::Never
        }
    };
    match lookup {
        Lookup::Exact | Lookup::IExact if kind == ValueKind::Related && is_null_word(value) => {
            Predicate::IsNull(true)
        }
        Lookup::Exact => compare(Cmp::Eq),
        Lookup::IExact if kind == ValueKind::Text => text(TextOp::Equals, true),
        Lookup::IExact => compare(Cmp::Eq),
        Lookup::Contains => text(TextOp::Contains, false),
        Lookup::IContains => text(TextOp::Contains, true),
        Lookup::StartsWith => text(TextOp::StartsWith, false),
        Lookup::IStartsWith => text(TextOp::StartsWith, true),
        Lookup::EndsWith => text(TextOp::EndsWith, false),
        Lookup::IEndsWith => text(TextOp::EndsWith, true),
        Lookup::Gt => compare(Cmp::Gt),
        Lookup::Gte => compare(Cmp::Ge),
        Lookup::Lt => compare(Cmp::Lt),
        Lookup::Lte => compare(Cmp::Le),
        Lookup::In => {
            let members: Vec<Operand> = value.split(',').filter_map(|v| operand(kind, v)).collect();
            if members.is_empty() {
                Predicate::Never
            } else {
                Predicate::In(members)
            }
        }
        Lookup::IsNull => match parse_bool(value) {
            Some(b) => Predicate::IsNull(b),
            None => Predicate::Never,
        },
    }
}

/// DRF's search terms: the value split on whitespace and commas, empty pieces dropped,
/// ASCII-lowercased (they match ignoring case).
pub fn search_terms(value: &str) -> Vec<String> {
    value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_reduce_by_kind() {
        assert_eq!(
            predicate(ValueKind::Int, Lookup::Exact, "4"),
            Predicate::Compare(Cmp::Eq, Operand::Int(4))
        );
        assert_eq!(
            predicate(ValueKind::Int, Lookup::Exact, "abc"),
            Predicate::Never
        );
        assert_eq!(
            predicate(ValueKind::Related, Lookup::Exact, "None"),
            Predicate::IsNull(true)
        );
        assert_eq!(
            predicate(ValueKind::Text, Lookup::IContains, "AbC"),
            Predicate::Text {
                op: TextOp::Contains,
                needle: "abc".into(),
                fold: true
            }
        );
        assert_eq!(
            predicate(ValueKind::Int, Lookup::Contains, "1"),
            Predicate::Never
        );
        assert_eq!(
            predicate(ValueKind::Int, Lookup::In, "1,x,3"),
            Predicate::In(vec![Operand::Int(1), Operand::Int(3)])
        );
        assert_eq!(predicate(ValueKind::Int, Lookup::In, "x"), Predicate::Never);
        assert_eq!(
            predicate(ValueKind::Bool, Lookup::IsNull, "false"),
            Predicate::IsNull(false)
        );
        assert_eq!(Lookup::from_suffix("gte"), Some(Lookup::Gte));
        assert_eq!(Lookup::from_suffix("regex"), None);
        assert_eq!(search_terms(" Foo,bar  baz"), vec!["foo", "bar", "baz"]);
    }
}
