//! NUL characters in client input.
//!
//! Policy: a NUL (U+0000) is refused wherever client text enters — the percent-decoded path
//! and query (in the request envelope), form fields and JSON strings (in the body readers) —
//! with a 400 in the surface's dialect. No stored value may hold one: PostgreSQL refuses NUL
//! in `text` and `\u0000` in `jsonb`, so letting it through would turn client input into a
//! database error, and SQLite would store what PostgreSQL cannot, so the two backends would
//! disagree. Checking at the edges answers the same on both.

use serde_json::{Map, Value};

/// True when the raw (still percent-encoded) path and query decode to text holding a NUL.
///
/// The `http` crate refuses a raw NUL byte in a URI, so `%00` is the only way to write one,
/// and a lenient percent-decoder turns every `%00` into a NUL (`%2500` is `%00`, not a NUL).
pub fn in_uri(path_and_query: &str) -> bool {
    path_and_query.contains("%00")
}

/// True when `s` holds a NUL.
pub fn in_str(s: &str) -> bool {
    s.contains('\0')
}

/// True when any name or value of a parsed form holds a NUL.
pub fn in_pairs(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(k, v)| in_str(k) || in_str(v))
}

/// True when any string or object key inside `v` holds a NUL.
pub fn in_value(v: &Value) -> bool {
    match v {
        Value::String(s) => in_str(s),
        Value::Array(items) => items.iter().any(in_value),
        Value::Object(m) => m.iter().any(|(k, v)| in_str(k) || in_value(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Where a NUL sits in a JSON object body, so the refusal can name the field as the
/// surface names invalid fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NulAt<'a> {
    /// Somewhere in the value of this top-level field.
    Field(&'a str),
    /// In a top-level key itself (which then cannot be named back).
    Key,
}

/// The first place a NUL sits in `m`, if any.
pub fn in_object(m: &Map<String, Value>) -> Option<NulAt<'_>> {
    m.iter().find_map(|(k, v)| {
        if in_str(k) {
            Some(NulAt::Key)
        } else if in_value(v) {
            Some(NulAt::Field(k.as_str()))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_an_encoded_nul_is_a_nul_in_a_uri() {
        assert!(in_uri("/api/v2/users/%00/"));
        assert!(in_uri("/api/v2/users/?username=a%00b"));
        assert!(in_uri("/x?a=%%00"));
        assert!(!in_uri("/x?a=%2500"));
        assert!(!in_uri("/x?a=%20%30%30"));
        assert!(!in_uri("/api/v2/users/?username=a00"));
    }

    #[test]
    fn nul_is_found_at_any_depth_of_a_json_value() {
        let m = json!({"a": "x", "b": {"c": ["y", {"d": "z\u{0}"}]}});
        let Value::Object(m) = m else { unreachable!() };
        assert_eq!(in_object(&m), Some(NulAt::Field("b")));
        let m = json!({"ok": 1, "k\u{0}": 2});
        let Value::Object(m) = m else { unreachable!() };
        assert_eq!(in_object(&m), Some(NulAt::Key));
        let m = json!({"a": "\\u0000 is six characters here", "n": null, "f": 1.5});
        let Value::Object(m) = m else { unreachable!() };
        assert_eq!(in_object(&m), None);
    }

    #[test]
    fn nul_in_form_names_and_values() {
        assert!(in_pairs(&[("a".into(), "b\0".into())]));
        assert!(in_pairs(&[("\0".into(), "b".into())]));
        assert!(!in_pairs(&[("a".into(), "b".into())]));
    }
}
