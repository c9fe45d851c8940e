//! Single sign-on through an OpenID Connect provider, as AWX's "Generic OIDC" (`docs/sso.md`):
//! the relying party. The rules (what a token must say, the maps, the username) are
//! `portcullis_core::sso`; this module fetches, stores and decides the login.
//!
//! - [`outbound`]: the HTTP client (timeouts, no redirects, capped answers, TLS setting);
//! - [`provider`]: discovery and keys, cached per node, refetched on an unknown `kid` at most
//!   once per 10 s;
//! - [`login`]: the two halves of a login, `begin` and `complete`;
//! - [`account`]: the user a login maps to, created or updated, and its memberships;
//! - [`logout`]: back-channel logout.

pub mod account;
pub mod login;
pub mod logout;
pub mod outbound;
pub mod provider;

use portcullis_core::sso::verify::Refusal;

/// The node's single sign-on machinery.
#[derive(Debug)]
pub struct SsoNode {
    /// HTTP clients.
    pub outbound: outbound::Outbound,
    /// Discovery and keys.
    pub provider: provider::ProviderCache,
}

impl SsoNode {
    /// Builds the clients from `[sso]`.
    pub fn new(config: &crate::config::SsoConfig) -> Result<Self, String> {
        Ok(Self {
            outbound: outbound::Outbound::new(config)?,
            provider: provider::ProviderCache::default(),
        })
    }
}

/// Why a single sign-on login did not complete. Every variant but `Storage` sends the browser
/// to `/sso/error/` (or `/sso/inactive/`) with the [`SsoFailure::code`]; the detail is logged.
#[derive(Debug, thiserror::Error)]
pub enum SsoFailure {
    /// The `oidc` settings are incomplete.
    #[error("single sign-on is not configured")]
    NotConfigured,
    /// `state` missing, unknown, used, expired, or from another browser.
    #[error("state refused: {0}")]
    State(&'static str),
    /// The provider answered the authorization request with an error.
    #[error("provider error {0}")]
    ProviderSaid(String),
    /// The authorization response's `iss` is not our provider's (RFC 9207, mix-up).
    #[error("authorization response from another issuer")]
    Mixup,
    /// The provider could not be reached or answered something unusable.
    #[error("provider: {0}")]
    Provider(String),
    /// The provider's documents contradict the settings.
    #[error("provider misconfigured: {0}")]
    Misconfigured(String),
    /// The id_token was refused.
    #[error("id_token refused: {0}")]
    Token(Refusal),
    /// Userinfo named another subject.
    #[error("userinfo subject differs from the id_token's")]
    UserinfoSubject,
    /// No account, and `SOCIAL_AUTH_USER_FIELDS = []` forbids creating one.
    #[error("no account for this login")]
    NoAccount,
    /// The account is disabled.
    #[error("account inactive")]
    Inactive,
    /// Storage (or another service) failed: a 503, not a login error.
    #[error(transparent)]
    Storage(#[from] crate::service::error::ServiceError),
}

impl From<portcullis_store::StoreError> for SsoFailure {
    fn from(e: portcullis_store::StoreError) -> Self {
        Self::Storage(e.into())
    }
}

impl From<provider::ProviderError> for SsoFailure {
    fn from(e: provider::ProviderError) -> Self {
        match e {
            provider::ProviderError::Call(c) => Self::Provider(c.0),
            provider::ProviderError::Misconfigured(m) => Self::Misconfigured(m),
        }
    }
}

impl SsoFailure {
    /// The short code carried to `/sso/error/` and shown by the console's login page; also
    /// the `reason` of the audit event.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "not_configured",
            Self::State(_) => "state",
            Self::ProviderSaid(_) => "denied",
            Self::Mixup => "issuer",
            Self::Provider(_) => "provider_unavailable",
            Self::Misconfigured(_) => "misconfigured",
            Self::Token(_) | Self::UserinfoSubject => "token",
            Self::NoAccount => "no_account",
            Self::Inactive => "inactive",
            Self::Storage(_) => "unavailable",
        }
    }
}

/// The sentence the console shows for a failure code (`/console/login/?sso_error=code`); a
/// code outside the list gets the generic sentence, so the URL cannot put words on the page.
pub fn failure_text(code: &str) -> &'static str {
    match code {
        "not_configured" => "Single sign-on is not configured.",
        "state" => {
            "The single sign-on login expired or was started in another browser. Please try again."
        }
        "denied" => "The identity provider did not sign you in.",
        "provider_unavailable" => {
            "The identity provider could not be reached. Please try again later."
        }
        "misconfigured" => "Single sign-on is misconfigured. Please tell your administrator.",
        "no_account" => {
            "There is no account for you, and new accounts are not created by single sign-on."
        }
        "inactive" => "Your account is inactive.",
        _ => "Single sign-on failed. Please try again.",
    }
}
