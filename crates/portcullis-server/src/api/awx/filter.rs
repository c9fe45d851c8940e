//! AWX's list filter syntax (`docs/awx-compat.md`): the one parser every list view uses, and
//! the in-memory evaluation for the lists that are not stored (compatibility stubs,
//! settings categories). Stored lists hand the parsed [`Filter`] to their store, which reads
//! values with the same [`predicate`] rules.
//!
//! A key is `[or__|chain__][not__]field[__lookup]`. Fields must be among the list's
//! filterable fields and lookups among [`Lookup::ALL`]; anything else is AWX's 400.

use crate::error::{ApiError, ApiResult};
use portcullis_store::filter::{
    Cmp, Condition, Filter, Lookup, Operand, Predicate, TextOp, ValueKind, predicate, search_terms,
};
use serde_json::Value;
use std::cmp::Ordering;
use time::OffsetDateTime;

/// Django's `to_python_boolean`, as AWX reads `__isnull` values.
fn python_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "f" | "no" | "n" | "off" | "none" | "null" => Some(false),
        _ => None,
    }
}

/// Adds the query pair `key=value` to `filter`. `fields` are the list's filterable fields.
pub fn add(filter: &mut Filter<String>, key: &str, value: &str, fields: &[&str]) -> ApiResult<()> {
    if key == "search" {
        filter.search.extend(search_terms(value));
        return Ok(());
    }
    let (rest, or) = match (key.strip_prefix("or__"), key.strip_prefix("chain__")) {
        (Some(rest), _) => (rest, true),
        (None, Some(rest)) => (rest, false),
        (None, None) => (key, false),
    };
    let (rest, negated) = match rest.strip_prefix("not__") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (field, lookup) = match rest.split_once("__") {
        None => (rest, Lookup::Exact),
        Some((field, suffix)) => match Lookup::from_suffix(suffix) {
            Some(lookup) if fields.contains(&field) => (field, lookup),
            _ if fields.contains(&field) => {
                return Err(ApiError::BadRequest(format!(
                    "Unsupported lookup '{suffix}' for field '{field}'."
                )));
            }
            _ => (rest, Lookup::Exact),
        },
    };
    if !fields.contains(&field) {
        return Err(ApiError::BadRequest(format!(
            "Cannot resolve keyword '{field}' into field."
        )));
    }
    let value = if lookup == Lookup::IsNull {
        match python_bool(value) {
            Some(b) => b.to_string(),
            None => {
                return Err(ApiError::BadRequest(format!(
                    "Unable to convert \"{value}\" to boolean"
                )));
            }
        }
    } else {
        value.to_owned()
    };
    let condition = Condition {
        field: field.to_owned(),
        lookup,
        value,
        negated,
    };
    if or {
        filter.any.push(condition);
    } else {
        filter.all.push(condition);
    }
    Ok(())
}

/// The operand in `cell`, read as `kind`.
fn cell_operand(kind: ValueKind, cell: &Value) -> Option<Operand> {
    match (kind, cell) {
        (ValueKind::Int | ValueKind::Related, Value::Number(n)) => n.as_i64().map(Operand::Int),
        (ValueKind::Text, Value::String(s)) => Some(Operand::Text(s.clone())),
        (ValueKind::Bool, Value::Bool(b)) => Some(Operand::Bool(*b)),
        (ValueKind::Instant, Value::String(s)) => {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| Operand::Instant(portcullis_core::clock::round_ms(t)))
        }
        _ => None,
    }
}

fn compare(a: &Operand, b: &Operand) -> Option<Ordering> {
    match (a, b) {
        (Operand::Int(x), Operand::Int(y)) => Some(x.cmp(y)),
        (Operand::Text(x), Operand::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Operand::Bool(x), Operand::Bool(y)) => Some(x.cmp(y)),
        (Operand::Instant(x), Operand::Instant(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether `cell` (absent: NULL) satisfies `p`; NULL satisfies only `IsNull(true)`.
fn holds(kind: ValueKind, cell: Option<&Value>, p: &Predicate) -> bool {
    let cell = cell.filter(|c| !c.is_null());
    match p {
        Predicate::Never => false,
        Predicate::IsNull(b) => cell.is_none() == *b,
        Predicate::Compare(cmp, v) => {
            let Some(o) = cell.and_then(|c| cell_operand(kind, c)) else {
                return false;
            };
            compare(&o, v).is_some_and(|ord| match cmp {
                Cmp::Eq => ord == Ordering::Equal,
                Cmp::Gt => ord == Ordering::Greater,
                Cmp::Ge => ord != Ordering::Less,
                Cmp::Lt => ord == Ordering::Less,
                Cmp::Le => ord != Ordering::Greater,
            })
        }
        Predicate::In(members) => cell.and_then(|c| cell_operand(kind, c)).is_some_and(|o| {
            members
                .iter()
                .any(|m| compare(&o, m) == Some(Ordering::Equal))
        }),
        Predicate::Text { op, needle, fold } => {
            let Some(Value::String(s)) = cell else {
                return false;
            };
            let s = if *fold {
                s.to_ascii_lowercase()
            } else {
                s.clone()
            };
            match op {
                TextOp::Equals => s == *needle,
                TextOp::Contains => s.contains(needle.as_str()),
                TextOp::StartsWith => s.starts_with(needle.as_str()),
                TextOp::EndsWith => s.ends_with(needle.as_str()),
            }
        }
    }
}

fn condition_holds(
    c: &Condition<String>,
    row: &Value,
    kind: &dyn Fn(&str) -> Option<ValueKind>,
) -> bool {
    let plain = kind(&c.field)
        .is_some_and(|k| holds(k, row.get(&c.field), &predicate(k, c.lookup, &c.value)));
    plain != c.negated
}

/// Whether the JSON `row` passes `filter`, with the same semantics as the stores' SQL.
/// `kind` gives each field's value kind; `search` the text fields `search` looks in.
pub fn row_matches(
    filter: &Filter<String>,
    row: &Value,
    kind: &dyn Fn(&str) -> Option<ValueKind>,
    search: &[&str],
) -> bool {
    filter.all.iter().all(|c| condition_holds(c, row, kind))
        && (filter.any.is_empty() || filter.any.iter().any(|c| condition_holds(c, row, kind)))
        && (search.is_empty()
            || filter.search.iter().all(|term| {
                search.iter().any(|f| {
                    row.get(*f)
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.to_ascii_lowercase().contains(term.as_str()))
                })
            }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(q: &[(&str, &str)]) -> ApiResult<Filter<String>> {
        let mut f = Filter::default();
        for (k, v) in q {
            add(&mut f, k, v, &["id", "name", "organization"])?;
        }
        Ok(f)
    }

    #[test]
    fn keys_parse_into_groups() {
        let f = parse(&[
            ("or__id", "5"),
            ("or__name", "5"),
            ("not__name__icontains", "x"),
            ("chain__organization__isnull", "True"),
            ("search", "a b"),
        ])
        .unwrap();
        assert_eq!(f.any.len(), 2);
        assert_eq!(f.all.len(), 2);
        assert!(f.all[0].negated && f.all[0].lookup == Lookup::IContains);
        assert_eq!(f.all[1].value, "true");
        assert_eq!(f.search, vec!["a", "b"]);
        assert!(parse(&[("nope", "1")]).is_err());
        assert!(parse(&[("name__regex", "1")]).is_err());
        assert!(parse(&[("nope__exact", "1")]).is_err());
        assert!(parse(&[("name__isnull", "maybe")]).is_err());
    }

    #[test]
    fn rows_match_like_the_stores() {
        let row = json!({"id": 1, "name": "Default", "organization": null});
        let kind = |f: &str| {
            Some(match f {
                "id" => ValueKind::Int,
                "organization" => ValueKind::Related,
                _ => ValueKind::Text,
            })
        };
        let m = |q: &[(&str, &str)]| row_matches(&parse(q).unwrap(), &row, &kind, &["name"]);
        assert!(m(&[("or__id", "Default"), ("or__name", "Default")]));
        assert!(m(&[("name__iexact", "default"), ("id__in", "3,1")]));
        assert!(!m(&[("name__contains", "default")]));
        assert!(m(&[("not__organization", "1")]));
        assert!(m(&[("organization__isnull", "true"), ("id__gte", "1")]));
        assert!(!m(&[("id__gt", "1")]));
        assert!(m(&[("search", "FAUL")]));
        assert!(!m(&[("search", "faul nope")]));
        assert!(m(&[("not__id", "x")]));
    }
}
