//! The one error of the service layer.
//!
//! Services speak the domain, never a wire: a [`ServiceError`] says *what* went wrong (not
//! found, forbidden and why, which fields are invalid, …) and carries the cause of an outage
//! or a defect for the log. Each surface has exactly one renderer that turns it into its wire
//! shape — `From<ServiceError> for ApiError` (AWX), for `OAuthError` (`/api/o/`, RFC 6749) and
//! for `MdrError` (MDR API and the console's JSON API). Status codes and wire sentences are
//! chosen there and nowhere else (`docs/architecture.md`, §3, "The service boundary").

use portcullis_store::StoreError;
use std::borrow::Cow;

/// Why an authenticated caller may not do something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    /// The authorization policy refuses the action (the generic refusal).
    NotPermitted,
    /// A read-scope token tried to change something.
    InsufficientScope,
    /// A user may not delete this account (themselves, or the last superuser).
    CannotDeleteUser,
    /// A superuser may not deactivate this account (their own, or the last active
    /// superuser).
    CannotDeactivateUser,
    /// A non-superuser tried to change their own username.
    CannotChangeUsername,
    /// A non-superuser tried to change fields only a superuser may set (`is_superuser`, …).
    CannotChangeFields(Vec<&'static str>),
    /// A user of an external source (LDAP, SSO) may not create tokens of this kind unless
    /// an administrator allows it (the external-user rule, docs/awx-compat.md).
    ExternalUserTokens {
        /// The user's external source (`"ldap"`, `"social"`, …), as the refusal names it.
        kind: String,
    },
    /// An MDR connection whose role does not allow the action.
    RoleNotAllowed,
}

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The field is missing.
    Required,
    /// The field has a value the service cannot use (no more precise message).
    Invalid,
    /// A precise message, in the product's wording (the AWX-compatible text, which is also
    /// what the console shows).
    Says(String),
}

/// Field errors, in the order they were found. One accumulator for every service that
/// validates several fields at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<Problem>)>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a problem to `field` (fields keep their first-seen order).
    pub fn add(&mut self, field: &str, problem: Problem) {
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, list)) => list.push(problem),
            None => self.0.push((field.to_owned(), vec![problem])),
        }
    }

    /// Adds a message to `field`.
    pub fn say(&mut self, field: &str, message: impl Into<String>) {
        self.add(field, Problem::Says(message.into()));
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields and their problems.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Problem])> {
        self.0.iter().map(|(f, p)| (f.as_str(), p.as_slice()))
    }

    /// Appends `other`'s fields and problems.
    pub fn extend(&mut self, other: FieldErrors) {
        for (field, problems) in other.0 {
            for p in problems {
                self.add(&field, p);
            }
        }
    }

    /// Orders the fields by `key` (stable: equal keys keep their order), for surfaces that
    /// list errors in a table's field order.
    pub fn sort_by_field<K: Ord>(&mut self, mut key: impl FnMut(&str) -> K) {
        self.0.sort_by_key(|(field, _)| key(field));
    }

    /// `Ok(())` when empty, else the errors as [`ServiceError::Invalid`].
    pub fn into_result(self) -> ServiceResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(self))
        }
    }
}

/// Which kind of credential was refused (surfaces word their refusals per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A username and password, or an AWX token.
    Awx,
    /// An MDR access JWT on a resource call.
    MdrAccess,
    /// An MDR refresh JWT at the exchange.
    MdrRefresh,
    /// An OAuth2 refresh token or authorization code presented at `/api/o/token/`.
    OAuthGrant,
}

/// Why a presented credential was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credential was presented.
    Missing,
    /// Malformed, unknown or wrongly signed.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Revoked (or its connection or family is no longer live).
    Revoked,
    /// Valid, but issued for another client.
    OtherClient,
    /// An MDR refresh token presented a second time (its family is now revoked).
    Reused,
    /// An MDR refresh token another request is exchanging at this moment.
    Concurrent,
}

impl Refusal {
    /// The refusal's name in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid => "invalid",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::OtherClient => "other_client",
            Self::Reused => "reused",
            Self::Concurrent => "concurrent",
        }
    }
}

/// The service layer's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The object does not exist or is not visible to the caller. The string names the kind
    /// of object (`"user"`, `"connection"`), for surfaces whose message names it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller may not do this.
    #[error("forbidden: {0:?}")]
    Forbidden(Forbidden),
    /// Input fields are invalid.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The request conflicts with the object's state (a name taken, a connection in the
    /// wrong status, a concurrent change). The text is the product's sentence for it.
    #[error("conflict: {0}")]
    Conflict(Cow<'static, str>),
    /// Too many failed password checks for this account from this source: answered like
    /// bad credentials, plus when to retry (docs/security.md, brute-force limits).
    #[error("locked for {retry_after} s")]
    Locked {
        /// Seconds until the next attempt can succeed.
        retry_after: u64,
    },
    /// Too many failures from this client network or client id.
    #[error("throttled for {retry_after} s")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after: u64,
    },
    /// A presented credential was refused.
    #[error("{0:?} credential refused: {1:?}")]
    CredentialRefused(Credential, Refusal),
    /// The database refused a value of the request (client input, not an outage); the
    /// string is the database's reason, for a debug line.
    #[error("value refused: {0}")]
    ValueRefused(String),
    /// Storage, the password pool or the signing keys are unavailable: fail closed. The
    /// string is the cause, for the log only.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A defect; the cause is for the log only.
    #[error("internal: {0}")]
    Internal(String),
}

impl ServiceError {
    /// A single-field error with a precise message.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::new();
        e.say(field, message);
        Self::Invalid(e)
    }

    /// A single missing field.
    pub fn required(field: &str) -> Self {
        let mut e = FieldErrors::new();
        e.add(field, Problem::Required);
        Self::Invalid(e)
    }

    /// A single field with an unusable value.
    pub fn invalid(field: &str) -> Self {
        let mut e = FieldErrors::new();
        e.add(field, Problem::Invalid);
        Self::Invalid(e)
    }

    /// The generic policy refusal.
    pub fn not_permitted() -> Self {
        Self::Forbidden(Forbidden::NotPermitted)
    }

    /// Maps a store `NotFound` to the named kind, passing every other error through.
    pub fn not_found_as(kind: &'static str) -> impl Fn(StoreError) -> Self {
        move |e| match e {
            StoreError::NotFound => Self::NotFound(kind),
            other => other.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound(UNNAMED_OBJECT),
            StoreError::Conflict(field) => Self::field(
                &field,
                format!("A record with this {field} already exists."),
            ),
            StoreError::Unavailable(why) => Self::Unavailable(why),
            StoreError::InvalidInput(why) => Self::ValueRefused(why),
        }
    }
}

/// The kind a store `NotFound` gets when the service did not name the object: surfaces whose
/// message names the kind answer their plain "not found" for it.
pub const UNNAMED_OBJECT: &str = "object";

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_keep_first_seen_field_order_and_group_problems() {
        let mut e = FieldErrors::new();
        e.say("b", "one");
        e.add("a", Problem::Required);
        e.say("b", "two");
        let got: Vec<_> = e.iter().map(|(f, p)| (f.to_owned(), p.to_vec())).collect();
        assert_eq!(
            got,
            vec![
                (
                    "b".to_owned(),
                    vec![Problem::Says("one".into()), Problem::Says("two".into())]
                ),
                ("a".to_owned(), vec![Problem::Required]),
            ]
        );
        assert!(matches!(e.into_result(), Err(ServiceError::Invalid(_))));
        assert_eq!(FieldErrors::new().into_result(), Ok(()));
    }

    #[test]
    fn store_errors_keep_their_meaning() {
        assert_eq!(
            ServiceError::from(StoreError::NotFound),
            ServiceError::NotFound(UNNAMED_OBJECT)
        );
        assert_eq!(
            ServiceError::from(StoreError::Unavailable("down".into())),
            ServiceError::Unavailable("down".into())
        );
        assert_eq!(
            ServiceError::from(StoreError::InvalidInput("nul".into())),
            ServiceError::ValueRefused("nul".into())
        );
        assert_eq!(
            ServiceError::not_found_as("user")(StoreError::NotFound),
            ServiceError::NotFound("user")
        );
    }
}
