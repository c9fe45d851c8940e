//! `[tls]`: HTTPS on Portcullis's own listener (`docs/tls.md`).

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// TLS on the listener. Off unless both files are set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM file with the server certificate first, then any intermediates
    /// (`PORTCULLIS_TLS__CERT_FILE`: the variable holds the path).
    pub cert_file: Option<PathBuf>,
    /// PEM file with the private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)
    /// (`PORTCULLIS_TLS__KEY_FILE`).
    pub key_file: Option<PathBuf>,
    /// A second, plain-HTTP listener on a loopback address that answers only `/healthz`,
    /// `/readyz` and `/api/v2/ping/`, for health checks that do not speak TLS.
    pub health_listen: Option<SocketAddr>,
    /// How long a client may take to complete the TLS handshake after connecting.
    pub handshake_timeout_seconds: u64,
    /// How often the two files' modification times are compared with the pair in service
    /// (a changed pair is loaded, as on SIGHUP). `0`: on SIGHUP only.
    pub watch_interval_seconds: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            health_listen: None,
            handshake_timeout_seconds: 10,
            watch_interval_seconds: 1,
        }
    }
}

impl TlsConfig {
    /// True when the listener ends TLS itself.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }

    /// Range and consistency checks; `listen` and `trusted_proxies` decide the safety rule
    /// on non-loopback addresses.
    pub(super) fn validate(
        &self,
        listen: SocketAddr,
        trusted_proxies: &[IpAddr],
    ) -> Result<(), ConfigError> {
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err(ConfigError::Invalid(
                "tls.cert_file and tls.key_file go together: set both (PORTCULLIS_TLS__CERT_FILE, PORTCULLIS_TLS__KEY_FILE) or neither".into(),
            ));
        }
        if !(1..=60).contains(&self.handshake_timeout_seconds) {
            return Err(ConfigError::Invalid(
                "tls.handshake_timeout_seconds must be between 1 and 60".into(),
            ));
        }
        if self.watch_interval_seconds > 86_400 {
            return Err(ConfigError::Invalid(
                "tls.watch_interval_seconds must be at most 86400 (0: reload on SIGHUP only)"
                    .into(),
            ));
        }
        if let Some(health) = self.health_listen {
            if !self.enabled() {
                return Err(ConfigError::Invalid(
                    "tls.health_listen is the plain-HTTP health listener beside a TLS listener; without TLS, ask the main listener for /healthz and /readyz".into(),
                ));
            }
            if !health.ip().is_loopback() {
                return Err(ConfigError::Invalid(format!(
                    "tls.health_listen = {health} must be a loopback address (127.0.0.1 or ::1): it is plain HTTP"
                )));
            }
            if health == listen {
                return Err(ConfigError::Invalid(
                    "tls.health_listen must differ from listen".into(),
                ));
            }
        }
        // `docs/tls.md`, "Safety default": credentials must not cross a network in clear.
        if !listen.ip().is_loopback() && !self.enabled() && trusted_proxies.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "listen = {listen} is not a loopback address and TLS is off, so passwords and tokens would cross the network in clear. Either serve HTTPS here (set tls.cert_file and tls.key_file, or PORTCULLIS_TLS__CERT_FILE and PORTCULLIS_TLS__KEY_FILE; `portcullis tls dev-cert` makes a pair to try it), or, when a reverse proxy in front ends TLS, list its address in trusted_proxies (PORTCULLIS_TRUSTED_PROXIES)"
            )));
        }
        Ok(())
    }
}
