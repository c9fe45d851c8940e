//! `SOCIAL_AUTH_ORGANIZATION_MAP` and `SOCIAL_AUTH_TEAM_MAP` (`docs/sso.md`, "Organization and
//! team maps"): validated as AWX's `SocialOrganizationMapField` / `SocialTeamMapField` do, and
//! evaluated on a user as AWX's `_update_m2m_from_expression` does.
//!
//! An expression is `null` (leave the membership as it is), `false` or an empty list (not a
//! member), `true` (every user), a string (equal to the username or the e-mail), a
//! `"/pattern/flags"` regular expression (matched at the start of the username or the e-mail,
//! as Python's `re.match`; flags `i` and `m`), or a list of strings and expressions.

use crate::settings::type_name;
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

const ORG_KEYS: [&str; 5] = [
    "admins",
    "users",
    "remove_admins",
    "remove_users",
    "organization_alias",
];
const TEAM_KEYS: [&str; 3] = ["organization", "users", "remove"];

/// A `"/pattern/flags"` string as a regular expression anchored at the start; `None` when
/// the string is not in that form, `Some(Err)` when it is but does not compile.
fn as_regex(s: &str) -> Option<Result<Regex, String>> {
    let body = s.strip_prefix('/')?;
    let end = body.rfind('/')?;
    let (pattern, flags) = (body.get(..end)?, body.get(end + 1..)?);
    if !flags.chars().all(|c| c == 'i' || c == 'm') {
        return None;
    }
    Some(
        RegexBuilder::new(&format!(r"\A(?:{pattern})"))
            .case_insensitive(flags.contains('i'))
            .multi_line(flags.contains('m'))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| e.to_string()),
    )
}

/// Checks one map expression.
fn check_expression(v: &Value, at: &str, errors: &mut Vec<String>) {
    let bad_type = |errors: &mut Vec<String>, v: &Value| {
        errors.push(format!(
            "{at}: Expected None, True, False, a string or list of strings but got {} instead.",
            type_name(v)
        ));
    };
    let check_string = |errors: &mut Vec<String>, s: &str| {
        if let Some(Err(e)) = as_regex(s) {
            errors.push(format!("{at}: Invalid regular expression: {e}"));
        }
    };
    match v {
        Value::Null | Value::Bool(_) => {}
        Value::String(s) => check_string(errors, s),
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => check_string(errors, s),
                    other => bad_type(errors, other),
                }
            }
        }
        other => bad_type(errors, other),
    }
}

/// Checks a map value against the allowed keys; `required` keys must be present.
fn check_map(
    v: &Value,
    allowed: &[&str],
    expressions: &[&str],
    booleans: &[&str],
    strings: &[&str],
    required: &[&str],
) -> Result<Value, Vec<String>> {
    let Value::Object(map) = v else {
        return match v {
            Value::Null => Ok(Value::Null),
            other => Err(vec![format!(
                "Expected a dictionary of items but got type \"{}\".",
                type_name(other)
            )]),
        };
    };
    let mut errors = Vec::new();
    for (name, entry) in map {
        let Value::Object(fields) = entry else {
            errors.push(format!(
                "{name}: Expected a dictionary of items but got type \"{}\".",
                type_name(entry)
            ));
            continue;
        };
        for (k, value) in fields {
            let at = format!("{name}.{k}");
            if !allowed.contains(&k.as_str()) {
                errors.push(format!("{at}: Invalid field."));
            } else if expressions.contains(&k.as_str()) {
                check_expression(value, &at, &mut errors);
            } else if booleans.contains(&k.as_str()) && !value.is_boolean() {
                errors.push(format!("{at}: Must be a valid boolean."));
            } else if strings.contains(&k.as_str()) && !value.is_string() && !value.is_null() {
                errors.push(format!("{at}: Not a valid string."));
            }
        }
        for r in required {
            if !fields.contains_key(*r) {
                errors.push(format!("{name}.{r}: This field is required."));
            }
        }
    }
    if errors.is_empty() {
        Ok(v.clone())
    } else {
        Err(errors)
    }
}

/// Validates `SOCIAL_AUTH_ORGANIZATION_MAP`.
pub fn check_organization_map(v: &Value) -> Result<Value, Vec<String>> {
    check_map(
        v,
        &ORG_KEYS,
        &["admins", "users"],
        &["remove_admins", "remove_users"],
        &["organization_alias"],
        &[],
    )
}

/// Validates `SOCIAL_AUTH_TEAM_MAP`.
pub fn check_team_map(v: &Value) -> Result<Value, Vec<String>> {
    check_map(
        v,
        &TEAM_KEYS,
        &["users"],
        &["remove"],
        &["organization"],
        &["organization"],
    )
}

/// What an expression says about a user: `None` leave as is, `Some(true)` a member,
/// `Some(false)` not a member.
pub fn evaluate(expr: Option<&Value>, username: &str, email: &str) -> Option<bool> {
    let expr = expr?;
    let matches = |s: &str| match as_regex(s) {
        Some(Ok(re)) => re.is_match(username) || !email.is_empty() && re.is_match(email),
        Some(Err(_)) => false,
        None => s == username || !email.is_empty() && s == email,
    };
    match expr {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(!s.is_empty() && matches(s)),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).any(matches)),
        _ => None,
    }
}

/// A membership change the maps ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The organization's name (its `organization_alias` when one is given).
    pub organization: String,
    /// The team, for a team map entry.
    pub team: Option<String>,
    /// `true` add, `false` remove.
    pub member: bool,
}

/// `remove` flags default to true, as AWX's.
fn flag(fields: &Map<String, Value>, key: &str) -> bool {
    fields.get(key).and_then(Value::as_bool).unwrap_or(true)
}

/// Turns an expression's verdict and the entry's `remove` flag into a change, if any.
fn change(verdict: Option<bool>, remove: bool) -> Option<bool> {
    match verdict? {
        true => Some(true),
        false if remove => Some(false),
        false => None,
    }
}

/// The organization memberships the organization map asks for, for a user with `username`
/// and `email`. Portcullis has no organization administrators: an `admins` match makes the
/// user a member (as an AWX organization admin is one), and `remove_admins` is not used.
pub fn organization_changes(map: &Value, username: &str, email: &str) -> Vec<Membership> {
    let Some(map) = map.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, fields) in map {
        let Some(fields) = fields.as_object() else {
            continue;
        };
        let organization = fields
            .get("organization_alias")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(name)
            .to_owned();
        let users = change(
            evaluate(fields.get("users"), username, email),
            flag(fields, "remove_users"),
        );
        let admin = evaluate(fields.get("admins"), username, email) == Some(true);
        let member = if admin { Some(true) } else { users };
        if let Some(member) = member {
            out.push(Membership {
                organization,
                team: None,
                member,
            });
        }
    }
    out
}

/// The team memberships the team map asks for.
pub fn team_changes(map: &Value, username: &str, email: &str) -> Vec<Membership> {
    let Some(map) = map.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(team, fields)| {
            let fields = fields.as_object()?;
            let member = change(
                evaluate(fields.get("users"), username, email),
                flag(fields, "remove"),
            )?;
            Some(Membership {
                organization: fields.get("organization")?.as_str()?.to_owned(),
                team: Some(team.clone()),
                member,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expressions_follow_awx() {
        let e = |v: Value| evaluate(Some(&v), "alice", "alice@example.test");
        assert_eq!(evaluate(None, "alice", ""), None);
        assert_eq!(e(json!(null)), None);
        assert_eq!(e(json!(true)), Some(true));
        assert_eq!(e(json!(false)), Some(false));
        assert_eq!(e(json!([])), Some(false));
        assert_eq!(e(json!("alice")), Some(true));
        assert_eq!(e(json!("alice@example.test")), Some(true));
        assert_eq!(e(json!("bob")), Some(false));
        assert_eq!(e(json!("/^ali/")), Some(true));
        assert_eq!(e(json!("/ALI/i")), Some(true));
        assert_eq!(e(json!("/ALI/")), Some(false));
        // Python's re.match: anchored at the start only.
        assert_eq!(e(json!("/lice/")), Some(false));
        assert_eq!(e(json!("/.*@example\\.test$/")), Some(true));
        assert_eq!(e(json!(["bob", "/^al/"])), Some(true));
    }

    #[test]
    fn organization_map_adds_and_removes() {
        let map = json!({
            "Default": {"users": "/^a/"},
            "Kept": {"users": "/^z/", "remove_users": false},
            "Ops": {"admins": ["alice"], "users": false, "organization_alias": "Operations"},
            "Untouched": {"users": null},
        });
        let got = organization_changes(&map, "alice", "a@x.test");
        assert_eq!(
            got,
            vec![
                Membership {
                    organization: "Default".into(),
                    team: None,
                    member: true
                },
                Membership {
                    organization: "Operations".into(),
                    team: None,
                    member: true
                },
            ]
        );
        let got = organization_changes(&map, "bob", "b@x.test");
        assert_eq!(
            got,
            vec![
                Membership {
                    organization: "Default".into(),
                    team: None,
                    member: false
                },
                Membership {
                    organization: "Operations".into(),
                    team: None,
                    member: false
                },
            ]
        );
    }

    #[test]
    fn team_map_names_its_organization() {
        let map = json!({"Red": {"organization": "Default", "users": true}});
        assert_eq!(
            team_changes(&map, "alice", ""),
            vec![Membership {
                organization: "Default".into(),
                team: Some("Red".into()),
                member: true
            }]
        );
    }

    #[test]
    fn validation_names_the_bad_part() {
        assert_eq!(check_organization_map(&json!(null)), Ok(json!(null)));
        assert!(check_organization_map(&json!({"Default": {"users": ["a", "/^b/i"]}})).is_ok());
        assert_eq!(
            check_organization_map(&json!({"Default": {"auditors": true}})),
            Err(vec!["Default.auditors: Invalid field.".to_owned()])
        );
        assert_eq!(
            check_organization_map(&json!({"Default": {"users": 3}})),
            Err(vec![
                "Default.users: Expected None, True, False, a string or list of strings but got int instead."
                    .to_owned()
            ])
        );
        assert!(check_organization_map(&json!({"Default": {"users": "/(/"}})).is_err());
        assert_eq!(
            check_organization_map(&json!([])),
            Err(vec![
                "Expected a dictionary of items but got type \"list\".".to_owned()
            ])
        );
        assert_eq!(
            check_team_map(&json!({"Red": {"users": true}})),
            Err(vec!["Red.organization: This field is required.".to_owned()])
        );
        assert_eq!(
            check_organization_map(&json!({"Default": {"remove_users": "yes"}})),
            Err(vec![
                "Default.remove_users: Must be a valid boolean.".to_owned()
            ])
        );
    }
}
