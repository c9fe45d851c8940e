//! `[sso]`: how Portcullis talks to an OpenID Connect provider (`docs/sso.md`). Which
//! provider, and the client credentials, are runtime settings (`/api/v2/settings/oidc/`).

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Outbound calls to the provider.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoConfig {
    /// A PEM file of CA certificates trusted for the provider's HTTPS, instead of the system
    /// roots (a private CA). `SOCIAL_AUTH_OIDC_VERIFY_SSL = false` disables verification
    /// altogether.
    pub ca_bundle: Option<PathBuf>,
    /// Whole-call limit of one request to the provider (discovery, keys, token, userinfo).
    pub http_timeout_seconds: u64,
    /// Largest answer read from the provider; a longer one is refused.
    pub max_response_bytes: usize,
    /// Logins one client network (IPv4 address, IPv6 /64) may begin per minute; each stores
    /// a flow until its callback or expiry. `0`: no limit.
    pub begin_limit_per_minute: u32,
}

impl Default for SsoConfig {
    fn default() -> Self {
        Self {
            ca_bundle: None,
            http_timeout_seconds: 10,
            max_response_bytes: 1024 * 1024,
            begin_limit_per_minute: 300,
        }
    }
}

impl SsoConfig {
    /// Refuses limits that would make every login fail or hang.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.http_timeout_seconds == 0 || self.http_timeout_seconds > 60 {
            return Err(ConfigError::Invalid(
                "sso.http_timeout_seconds must be between 1 and 60".into(),
            ));
        }
        if self.max_response_bytes < 4096 {
            return Err(ConfigError::Invalid(
                "sso.max_response_bytes must be at least 4096".into(),
            ));
        }
        Ok(())
    }
}
