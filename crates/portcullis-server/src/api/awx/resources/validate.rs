//! Bodies checked against a resource's field table (types, `required`, `max_length`,
//! defaults on create and `PUT`), as Django REST framework's serializers check them, with
//! the errors in one [`FieldErrors`].

use crate::api::awx::options::{Field, FieldType, Resource, Write};
use crate::service::error::FieldErrors;
use serde_json::{Map, Value};

/// How a body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// POST: required fields must be present, omitted ones take their defaults.
    Create,
    /// PUT: as create, for the fields a change accepts.
    Replace,
    /// PATCH: only the fields sent.
    Patch,
}

/// A text value as DRF's `CharField` reads it: numbers become text, surrounding whitespace
/// is trimmed, `required` fields may not be blank.
fn clean_text(f: &Field, v: &Value) -> Result<Value, String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null if f.nullable() => return Ok(Value::Null),
        // AWX's ChoiceNullField: a choice that offers "" reads null as "" (the collection
        // sends `"kind": null` for a normal inventory).
        Value::Null
            if f.kind == FieldType::Choice && f.choices.iter().any(|(c, _)| c.is_empty()) =>
        {
            String::new()
        }
        Value::Null => return Err("This field may not be null.".into()),
        _ => return Err("Not a valid string.".into()),
    };
    // Free-form JSON/YAML text is kept exactly as given (`docs/awx-compat.md`, "Inventories and
    // hosts").
    let text = if f.kind == FieldType::Json {
        text
    } else {
        text.trim().to_owned()
    };
    if f.required && text.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if let Some(max) = f.max_length
        && text.chars().count() > max
    {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    if !f.choices.is_empty() && !f.choices.iter().any(|(c, _)| *c == text) {
        return Err(format!("\"{text}\" is not a valid choice."));
    }
    Ok(Value::String(text))
}

fn clean_bool(v: &Value) -> Result<Value, String> {
    let b = match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::Null => return Err("This field may not be null.".into()),
        _ => None,
    };
    b.map(Value::Bool)
        .ok_or_else(|| "Must be a valid boolean.".into())
}

/// A primary key as DRF's `PrimaryKeyRelatedField` reads it (existence is checked by the
/// resource, see [`Registry::references`]).
fn clean_pk(f: &Field, v: &Value) -> Result<Value, String> {
    let incorrect = |t: &str| format!("Incorrect type. Expected pk value, received {t}.");
    match v {
        Value::Null if f.nullable() => Ok(Value::Null),
        Value::Null => Err("This field may not be null.".into()),
        Value::Number(n) => n
            .as_i64()
            .map(Value::from)
            .ok_or_else(|| incorrect("float")),
        Value::String(s) => s
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| incorrect("str")),
        Value::Bool(_) => Err(incorrect("bool")),
        Value::Array(_) => Err(incorrect("list")),
        Value::Object(_) => Err(incorrect("dict")),
    }
}

fn clean_value(f: &Field, v: &Value) -> Result<Value, String> {
    match f.kind {
        FieldType::String | FieldType::Choice | FieldType::Json => clean_text(f, v),
        FieldType::Boolean => clean_bool(v),
        FieldType::Id => clean_pk(f, v),
        // No writable field of these types exists in the resource tables.
        FieldType::Integer | FieldType::Datetime | FieldType::List | FieldType::NestedObject => {
            Ok(v.clone())
        }
    }
}

/// Validates `body` against `resource`'s table: the cleaned values of the fields `mode`
/// accepts (unknown and read-only keys are ignored, as DRF does), or the field errors.
pub(crate) fn clean(
    resource: &Resource,
    body: &Map<String, Value>,
    mode: Mode,
) -> (Map<String, Value>, FieldErrors) {
    let write = if mode == Mode::Create {
        Write::Post
    } else {
        Write::Put
    };
    let mut cleaned = Map::new();
    let mut errors = FieldErrors::new();
    for f in resource.fields.iter().filter(|f| f.accepted_by(write)) {
        match body.get(f.name) {
            None if mode == Mode::Patch => {}
            None if f.required => {
                errors.say(f.name, "This field is required.");
            }
            None => {
                if let Some(d) = f.default {
                    cleaned.insert(f.name.to_owned(), d.value());
                }
            }
            Some(v) => match clean_value(f, v) {
                Ok(v) => {
                    cleaned.insert(f.name.to_owned(), v);
                }
                Err(msg) => errors.say(f.name, msg),
            },
        }
    }
    (cleaned, errors)
}

/// A cleaned text value.
pub(crate) fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A cleaned boolean.
pub(crate) fn flag(m: &Map<String, Value>, key: &str) -> Option<bool> {
    m.get(key).and_then(Value::as_bool)
}

/// A cleaned reference: `None` when absent, `Some(None)` for `null`.
pub(crate) fn pk(m: &Map<String, Value>, key: &str) -> Option<Option<i64>> {
    m.get(key).map(Value::as_i64)
}

/// DRF's error for a reference to an object that does not exist.
pub(crate) fn invalid_pk(field: &str, id: i64) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.say(
        field,
        format!("Invalid pk \"{id}\" - object does not exist."),
    );
    errors
}

/// DRF's boolean spellings (`BooleanField`).
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On"
        | "ON" | "1" => Some(true),
        "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off"
        | "Off" | "OFF" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::awx::options;
    use serde_json::json;

    fn says(pairs: &[(&str, &str)]) -> FieldErrors {
        let mut e = FieldErrors::new();
        for (f, m) in pairs {
            e.say(f, *m);
        }
        e
    }

    #[test]
    fn create_applies_defaults_and_requires_fields() {
        let body = json!({"name": "  h1 ", "inventory": "3", "variables": " x: 1\n"});
        let (cleaned, errors) = clean(&options::HOSTS, body.as_object().unwrap(), Mode::Create);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            Value::Object(cleaned),
            json!({"name": "h1", "description": "", "inventory": 3, "enabled": true,
                   "instance_id": "", "variables": " x: 1\n"})
        );
        let (_, errors) = clean(&options::HOSTS, &Map::new(), Mode::Create);
        assert_eq!(
            errors,
            says(&[
                ("name", "This field is required."),
                ("inventory", "This field is required."),
            ])
        );
        let (cleaned, errors) = clean(&options::HOSTS, &Map::new(), Mode::Patch);
        assert!(cleaned.is_empty() && errors.is_empty());
    }

    #[test]
    fn wrong_types_get_drf_messages() {
        let body = json!({"name": "", "inventory": true, "enabled": "maybe", "instance_id": [1],
                          "description": null});
        let (_, errors) = clean(&options::HOSTS, body.as_object().unwrap(), Mode::Patch);
        assert_eq!(
            errors,
            says(&[
                ("name", "This field may not be blank."),
                ("description", "This field may not be null."),
                (
                    "inventory",
                    "Incorrect type. Expected pk value, received bool."
                ),
                ("enabled", "Must be a valid boolean."),
                ("instance_id", "Not a valid string."),
            ])
        );
        let body = json!({"organization": null});
        let (cleaned, errors) = clean(
            &options::INVENTORIES,
            body.as_object().unwrap(),
            Mode::Patch,
        );
        assert!(errors.is_empty());
        assert_eq!(pk(&cleaned, "organization"), Some(None));
    }
}
