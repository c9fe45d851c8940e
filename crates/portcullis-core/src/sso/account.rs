//! The single sign-on settings in force and the account a login maps to (`docs/sso.md`,
//! "Users").

use crate::rng::{Rng, bytes};
use crate::settings::{Stored, def, effective};
use crate::sso::verify::IdClaims;
use serde_json::Value;

/// Characters of a random username suffix, as social-core's `UUID_LENGTH`.
pub const SUFFIX_LEN: usize = 16;
/// Longest username.
pub const MAX_USERNAME: usize = 150;

/// The client secret: compared and sent, never shown or logged.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The value, for the token request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

/// The `oidc` category and the global social maps, typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SsoSettings {
    /// `SOCIAL_AUTH_OIDC_KEY`: our client id.
    pub client_id: String,
    /// `SOCIAL_AUTH_OIDC_SECRET`.
    pub client_secret: ClientSecret,
    /// `SOCIAL_AUTH_OIDC_OIDC_ENDPOINT`: the issuer, without a trailing slash.
    pub endpoint: String,
    /// `SOCIAL_AUTH_OIDC_VERIFY_SSL`.
    pub verify_ssl: bool,
    /// `PORTCULLIS_SSO_LINK_VERIFIED_EMAIL`: link a login to an existing local account with
    /// the same e-mail, when the provider says the e-mail is verified.
    pub link_verified_email: bool,
    /// `PORTCULLIS_SSO_TRUSTED_AUDIENCES`: audiences besides ours an id_token may name.
    pub trusted_audiences: Vec<String>,
    /// `SOCIAL_AUTH_ORGANIZATION_MAP` (`null` when unset).
    pub organization_map: Value,
    /// `SOCIAL_AUTH_TEAM_MAP`.
    pub team_map: Value,
    /// `SOCIAL_AUTH_USER_FIELDS`: `Some([])` forbids creating accounts.
    pub user_fields: Option<Vec<String>>,
    /// `SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL`.
    pub username_is_full_email: bool,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl SsoSettings {
    /// Builds the snapshot from stored overrides.
    pub fn from_stored(stored: &Stored) -> Self {
        let get = |k: &str| def(k).map(|d| effective(d, stored)).unwrap_or(Value::Null);
        let text = |k: &str| get(k).as_str().unwrap_or_default().trim().to_owned();
        Self {
            client_id: text("SOCIAL_AUTH_OIDC_KEY"),
            client_secret: ClientSecret(text("SOCIAL_AUTH_OIDC_SECRET")),
            endpoint: text("SOCIAL_AUTH_OIDC_OIDC_ENDPOINT")
                .trim_end_matches('/')
                .to_owned(),
            verify_ssl: get("SOCIAL_AUTH_OIDC_VERIFY_SSL").as_bool().unwrap_or(true),
            link_verified_email: get("PORTCULLIS_SSO_LINK_VERIFIED_EMAIL")
                .as_bool()
                .unwrap_or(false),
            trusted_audiences: strings(&get("PORTCULLIS_SSO_TRUSTED_AUDIENCES")),
            organization_map: get("SOCIAL_AUTH_ORGANIZATION_MAP"),
            team_map: get("SOCIAL_AUTH_TEAM_MAP"),
            user_fields: match get("SOCIAL_AUTH_USER_FIELDS") {
                Value::Array(a) => Some(strings(&Value::Array(a))),
                _ => None,
            },
            username_is_full_email: get("SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL")
                .as_bool()
                .unwrap_or(false),
        }
    }

    /// True when the key, the secret and the endpoint are all set: AWX's test for enabling
    /// the backend.
    pub fn configured(&self) -> bool {
        !self.client_id.is_empty() && !self.client_secret.0.is_empty() && !self.endpoint.is_empty()
    }

    /// False when `SOCIAL_AUTH_USER_FIELDS` is an empty list: no account is created.
    pub fn may_create_users(&self) -> bool {
        !matches!(&self.user_fields, Some(f) if f.is_empty())
    }
}

/// The username a new account gets, as social-core's `get_username`: the full e-mail when
/// `SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL` is on and the provider sent one, else
/// `preferred_username`; characters outside letters, digits and `@.+-_` removed; at most
/// 150 characters. `None` when nothing usable is left (the caller then uses a random name).
pub fn base_username(claims: &IdClaims, full_email: bool) -> Option<String> {
    let raw = match (&claims.email, &claims.preferred_username) {
        (Some(email), _) if full_email => email.clone(),
        (_, Some(name)) => name.clone(),
        _ => return None,
    };
    let cleaned: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
        .take(MAX_USERNAME)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// `base` shortened so a 16-character suffix fits, plus random hex: the name tried when
/// `base` is taken (social-core appends a piece of a UUID the same way).
pub fn suffixed_username(base: &str, rng: &dyn Rng) -> String {
    let short: String = base.chars().take(MAX_USERNAME - SUFFIX_LEN).collect();
    let hex: String = bytes::<8>(rng).iter().map(|b| format!("{b:02x}")).collect();
    format!("{short}{hex}")
}

/// A random username for a login that brought none.
pub fn random_username(rng: &dyn Rng) -> String {
    bytes::<16>(rng)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::OsRng;

    fn claims(user: Option<&str>, email: Option<&str>) -> IdClaims {
        IdClaims {
            subject: "s".into(),
            preferred_username: user.map(str::to_owned),
            email: email.map(str::to_owned),
            ..IdClaims::default()
        }
    }

    #[test]
    fn usernames_follow_social_core() {
        assert_eq!(
            base_username(&claims(Some("alice"), None), false).as_deref(),
            Some("alice")
        );
        assert_eq!(
            base_username(&claims(Some("al ice!"), Some("a@x.test")), false).as_deref(),
            Some("alice")
        );
        assert_eq!(
            base_username(&claims(Some("alice"), Some("a@x.test")), true).as_deref(),
            Some("a@x.test")
        );
        assert_eq!(base_username(&claims(None, Some("a@x.test")), false), None);
        assert_eq!(base_username(&claims(Some("!!"), None), false), None);
        let long = "x".repeat(200);
        let s = suffixed_username(&long, &OsRng);
        assert_eq!(s.chars().count(), MAX_USERNAME);
        assert!(s.starts_with(&"x".repeat(134)));
        let s = suffixed_username("alice", &OsRng);
        assert_eq!(s.len(), 5 + 16);
        assert!(crate::policy::username_valid(&s));
    }

    #[test]
    fn secret_never_shows() {
        let s = SsoSettings {
            client_secret: ClientSecret("hunter2".into()),
            ..SsoSettings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
