//! Reading a request's keys (`docs/mdr-api.md`, "Surface conventions", "Common request keys"):
//! required and optional values with the exact validation messages, paging, sorting and the
//! `fields` projection.
//!
//! Policy: `null` counts as absent; a present key of the wrong type is `invalid value for
//! '<key>'`, never silently ignored. Presence of every required key is checked before any
//! value, so the first missing key is reported whatever else is wrong.

use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A JSON object.
pub type Obj = Map<String, Value>;

/// The keys of one request body.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a>(pub &'a Obj);

impl<'a> Keys<'a> {
    /// The value of `key`, `None` when absent or `null`.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// 400 `'<key>' is required` for the first of `keys` that is absent.
    pub fn require(&self, keys: &[&str]) -> MdrResult<()> {
        match keys.iter().find(|k| self.get(k).is_none()) {
            Some(k) => Err(MdrError::required(k)),
            None => Ok(()),
        }
    }

    /// An optional string.
    pub fn str(&self, key: &str) -> MdrResult<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(MdrError::invalid(key)),
        }
    }

    /// A required string.
    pub fn req_str(&self, key: &str) -> MdrResult<&'a str> {
        self.str(key)?.ok_or_else(|| MdrError::required(key))
    }

    /// An optional boolean.
    pub fn bool(&self, key: &str) -> MdrResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(MdrError::invalid(key)),
        }
    }

    /// An optional integer (a JSON number without fraction).
    pub fn int(&self, key: &str) -> MdrResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| MdrError::invalid(key)),
        }
    }

    /// An optional array of strings.
    pub fn strings(&self, key: &str) -> MdrResult<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| MdrError::invalid(key)),
            Some(_) => Err(MdrError::invalid(key)),
        }
    }

    /// An optional array of strings, each one of `allowed`.
    pub fn enum_strings(&self, key: &str, allowed: &[&str]) -> MdrResult<Option<Vec<String>>> {
        let v = self.strings(key)?;
        if let Some(list) = &v
            && !list.iter().all(|s| allowed.contains(&s.as_str()))
        {
            return Err(MdrError::invalid(key));
        }
        Ok(v)
    }

    /// An optional object.
    pub fn object(&self, key: &str) -> MdrResult<Option<&'a Obj>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(MdrError::invalid(key)),
        }
    }

    /// `markdown_to_html`, default false.
    pub fn markdown(&self) -> MdrResult<bool> {
        Ok(self.bool("markdown_to_html")?.unwrap_or(false))
    }
}

/// `page` and `page_size` (`docs/mdr-api.md`, "Common request keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page.
    pub page: i64,
    /// Items per page, already clamped.
    pub page_size: i64,
}

/// Default `page_size`.
pub const DEFAULT_PAGE_SIZE: i64 = 100;

impl Paging {
    /// Reads the keys; `page_size` above `max` is clamped, not refused.
    pub fn parse(keys: &Keys<'_>, max: i64) -> MdrResult<Self> {
        Ok(Self {
            page: positive(keys, "page", 1)?,
            page_size: positive(keys, "page_size", DEFAULT_PAGE_SIZE)?.min(max.max(1)),
        })
    }

    /// The page's slice of `items` (`[]` past the end).
    pub fn apply<T>(&self, items: Vec<T>) -> Vec<T> {
        let size = usize::try_from(self.page_size).unwrap_or(usize::MAX);
        let skip = usize::try_from(self.page.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .saturating_mul(size);
        items.into_iter().skip(skip).take(size).collect()
    }
}

/// An integer key ≥ 1 with a default.
pub fn positive(keys: &Keys<'_>, key: &str, default: i64) -> MdrResult<i64> {
    match keys.int(key)? {
        None => Ok(default),
        Some(n) if n >= 1 => Ok(n),
        Some(_) => Err(MdrError::invalid(key)),
    }
}

/// `sort`: `"<field>:asc"` or `"<field>:desc"`, ties by the object's id ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The field.
    pub field: String,
    /// Descending?
    pub desc: bool,
}

impl Sort {
    /// Reads `sort`; a field outside `allowed` or another direction is 400.
    pub fn parse(keys: &Keys<'_>, allowed: &[&str], default: &str) -> MdrResult<Self> {
        let raw = keys.str("sort")?.unwrap_or(default);
        let (field, dir) = raw
            .split_once(':')
            .ok_or_else(|| MdrError::invalid("sort"))?;
        let desc = match dir.trim().to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            _ => return Err(MdrError::invalid("sort")),
        };
        let field = field.trim();
        if !allowed.contains(&field) {
            return Err(MdrError::invalid("sort"));
        }
        Ok(Self {
            field: field.to_owned(),
            desc,
        })
    }

    /// Sorts rendered objects in place.
    pub fn apply(&self, items: &mut [Obj], id_key: &str) {
        items.sort_by(|a, b| {
            let primary = compare(&self.field, a.get(&self.field), b.get(&self.field));
            let primary = if self.desc {
                primary.reverse()
            } else {
                primary
            };
            primary.then_with(|| compare(id_key, a.get(id_key), b.get(id_key)))
        });
    }
}

/// Orders two values of one field: nulls first, numbers numerically, strings
/// case-insensitively (then exactly), priorities by rank.
fn compare(field: &str, a: Option<&Value>, b: Option<&Value>) -> Ordering {
    rank(field, a)
        .partial_cmp(&rank(field, b))
        .unwrap_or(Ordering::Equal)
}

/// A sortable form of a value.
#[derive(Debug, PartialEq, PartialOrd)]
enum Rank {
    Null,
    Bool(bool),
    Num(f64),
    Str(String, String),
    Other(String),
}

fn rank(field: &str, v: Option<&Value>) -> Rank {
    match v {
        None | Some(Value::Null) => Rank::Null,
        Some(Value::Bool(b)) => Rank::Bool(*b),
        Some(Value::Number(n)) => Rank::Num(n.as_f64().unwrap_or(0.0)),
        Some(Value::String(s)) if field == "priority" => Rank::Num(match s.as_str() {
            "LOW" => 0.0,
            "NORMAL" => 1.0,
            "HIGH" => 2.0,
            _ => 3.0,
        }),
        Some(Value::String(s)) => Rank::Str(s.to_lowercase(), s.clone()),
        Some(other) => Rank::Other(other.to_string()),
    }
}

/// `fields`: the keys to keep (plus the id key); empty or absent = all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(Option<Vec<String>>);

impl Fields {
    /// Reads `fields`.
    pub fn parse(keys: &Keys<'_>) -> MdrResult<Self> {
        Ok(Self(keys.strings("fields")?.filter(|f| !f.is_empty())))
    }

    /// Keeps the listed keys and `id_key`, in the object's own order.
    pub fn project(&self, obj: Obj, id_key: &str) -> Obj {
        match &self.0 {
            None => obj,
            Some(f) => obj
                .into_iter()
                .filter(|(k, _)| k == id_key || f.iter().any(|x| x == k))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Obj {
        match v {
            Value::Object(m) => m,
            _ => Obj::new(),
        }
    }

    #[test]
    fn required_and_invalid() {
        let o = obj(json!({"a": 1, "b": null, "s": "x"}));
        let k = Keys(&o);
        assert_eq!(
            k.require(&["s", "b"]).err().map(|e| e.message().to_owned()),
            Some("'b' is required".to_owned())
        );
        assert_eq!(
            k.str("a").err().map(|e| e.message().to_owned()),
            Some("invalid value for 'a'".to_owned())
        );
        assert_eq!(k.int("a").ok().flatten(), Some(1));
    }

    #[test]
    fn paging_clamps_and_slices() {
        let o = obj(json!({"page": 2, "page_size": 50_000}));
        let p = Paging::parse(&Keys(&o), 10).ok();
        assert_eq!(
            p,
            Some(Paging {
                page: 2,
                page_size: 10
            })
        );
        let items: Vec<i32> = (0..25).collect();
        assert_eq!(p.map(|p| p.apply(items)), Some((10..20).collect()));
        let o = obj(json!({"page": 0}));
        assert!(Paging::parse(&Keys(&o), 10).is_err());
    }

    #[test]
    fn sort_validates_and_breaks_ties_by_id() {
        let o = obj(json!({"sort": "bogus:asc"}));
        assert!(Sort::parse(&Keys(&o), &["a"], "a:asc").is_err());
        let o = obj(json!({"sort": "a:desc"}));
        let s = Sort::parse(&Keys(&o), &["a"], "a:asc").ok();
        let mut items = vec![
            obj(json!({"id": "2", "a": 1})),
            obj(json!({"id": "1", "a": 1})),
            obj(json!({"id": "3", "a": 5})),
        ];
        if let Some(s) = s {
            s.apply(&mut items, "id");
        }
        let ids: Vec<_> = items.iter().map(|o| o.get("id").cloned()).collect();
        assert_eq!(
            ids,
            vec![Some(json!("3")), Some(json!("1")), Some(json!("2"))]
        );
    }

    #[test]
    fn fields_keep_the_id() {
        let o = obj(json!({"fields": ["b", "nope"]}));
        let f = Fields::parse(&Keys(&o)).unwrap_or_default();
        let p = f.project(obj(json!({"id": 1, "a": 2, "b": 3})), "id");
        assert_eq!(Value::Object(p), json!({"id": 1, "b": 3}));
    }
}
