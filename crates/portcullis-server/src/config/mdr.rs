//! The `mdr.*` configuration keys (`docs/configuration.md`, "`[mdr]`: MDR-style API connections").
//! Durations are whole seconds unless the key says otherwise.

use super::{ConfigError, Secret};
use serde::{Deserialize, Serialize};

/// MDR-style API connections: token lifetimes, rotation, limits and signing keys.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MdrConfig {
    /// `iss` of every MDR token; identical on all nodes.
    pub issuer: String,
    /// Access token lifetime (60 s – 24 h).
    pub access_token_ttl: i64,
    /// Console bootstrap refresh token lifetime (300 s – 7 d).
    pub bootstrap_token_ttl: i64,
    /// Refresh token lifetime from an exchange (1 h – 90 d).
    pub refresh_token_ttl: i64,
    /// Absolute family lifetime; only 0 (unlimited) is accepted today.
    pub family_max_lifetime: i64,
    /// Leeway applied to `exp` and to a future `iat` (0–300 s).
    pub clock_leeway: i64,
    /// A connection without use for this long shows "Idle" (1 s – 365 d).
    pub idle_after: i64,
    /// A spent refresh token presented within this period returns the same successor (R5);
    /// 0 switches it off (0–300 s).
    pub rotation_grace_period: i64,
    /// A spent token presented this soon after its rotation lost a race (409) rather than
    /// being reused (0–5 s), in milliseconds.
    pub race_tolerance_ms: i64,
    /// Longest age of the cached revocation state of a connection, in milliseconds (0–4000).
    pub revocation_check_interval_ms: i64,
    /// Failed exchanges per minute per source address before 429.
    pub exchange_failure_limit: u32,
    /// Largest `page_size` honoured (larger values are clamped), ≥ 100.
    pub page_size_max: i64,
    /// Seconds between two persisted `last_used_at` stamps of one connection.
    pub last_used_interval: i64,
    /// Attachments.
    pub attachments: MdrAttachmentsConfig,
    /// Signing keys.
    pub signing: MdrSigningConfig,
}

impl Default for MdrConfig {
    fn default() -> Self {
        Self {
            issuer: "urn:portcullis:mdr".into(),
            access_token_ttl: 3600,
            bootstrap_token_ttl: 86_400,
            refresh_token_ttl: 604_800,
            family_max_lifetime: 0,
            clock_leeway: 60,
            idle_after: 7 * 86_400,
            rotation_grace_period: 60,
            race_tolerance_ms: 1000,
            revocation_check_interval_ms: 1000,
            exchange_failure_limit: 20,
            page_size_max: 10_000,
            last_used_interval: 60,
            attachments: MdrAttachmentsConfig::default(),
            signing: MdrSigningConfig::default(),
        }
    }
}

/// `mdr.attachments.*`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MdrAttachmentsConfig {
    /// Largest upload, bytes (≥ 1 KiB).
    pub max_size: usize,
}

impl Default for MdrAttachmentsConfig {
    fn default() -> Self {
        Self {
            max_size: 25 * 1024 * 1024,
        }
    }
}

/// `mdr.signing.*`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MdrSigningConfig {
    /// `EdDSA` (default) or `ES256`, for keys created from now on.
    pub algorithm: String,
    /// Scheduled rotation period in seconds; 0 = manual only (else ≥ 1 d).
    pub rotation_interval: i64,
    /// How long a new key is published before it signs (≥ 120 s).
    pub publish_ahead: i64,
    /// How long a demoted key keeps verifying; at least the longest token lifetime + leeway.
    pub verify_retention: i64,
    /// 32-byte key-encryption key, hex or base64 (`PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY`
    /// or `…_FILE`). Required when several nodes share a database.
    pub key_encryption_key: Option<Secret>,
    /// Where a single node keeps the generated key-encryption key when none is configured
    /// (created with mode 0600 on first start).
    pub key_encryption_key_path: String,
}

impl Default for MdrSigningConfig {
    fn default() -> Self {
        Self {
            algorithm: "EdDSA".into(),
            rotation_interval: 90 * 86_400,
            publish_ahead: 600,
            verify_retention: 8 * 86_400,
            key_encryption_key: None,
            key_encryption_key_path: "portcullis-mdr.kek".into(),
        }
    }
}

fn range(key: &str, v: i64, lo: i64, hi: i64) -> Result<(), ConfigError> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "mdr.{key} must be between {lo} and {hi}, not {v}"
        )))
    }
}

impl MdrConfig {
    /// The limits listed in `docs/configuration.md`, "`[mdr]`: MDR-style API connections".
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.issuer.trim().is_empty() {
            return Err(ConfigError::Invalid("mdr.issuer must not be empty".into()));
        }
        range("access_token_ttl", self.access_token_ttl, 1, 86_400)?;
        range(
            "bootstrap_token_ttl",
            self.bootstrap_token_ttl,
            1,
            7 * 86_400,
        )?;
        range("refresh_token_ttl", self.refresh_token_ttl, 1, 90 * 86_400)?;
        if self.family_max_lifetime != 0 {
            // Capping a successor needs the family's creation time in the exchange
            // transaction; until the store returns it, a cap is refused rather than ignored.
            return Err(ConfigError::Invalid(
                "mdr.family_max_lifetime is not supported yet: only 0 (unlimited) is accepted"
                    .into(),
            ));
        }
        range("clock_leeway", self.clock_leeway, 0, 300)?;
        range("idle_after", self.idle_after, 1, 365 * 86_400)?;
        range("rotation_grace_period", self.rotation_grace_period, 0, 300)?;
        range("race_tolerance_ms", self.race_tolerance_ms, 0, 5000)?;
        range(
            "revocation_check_interval_ms",
            self.revocation_check_interval_ms,
            0,
            4000,
        )?;
        range("last_used_interval", self.last_used_interval, 1, 3600)?;
        if self.exchange_failure_limit == 0 {
            return Err(ConfigError::Invalid(
                "mdr.exchange_failure_limit must be at least 1".into(),
            ));
        }
        if self.page_size_max < 100 {
            return Err(ConfigError::Invalid(
                "mdr.page_size_max must be at least 100".into(),
            ));
        }
        if self.attachments.max_size < 1024 {
            return Err(ConfigError::Invalid(
                "mdr.attachments.max_size must be at least 1024 bytes".into(),
            ));
        }
        let s = &self.signing;
        if !matches!(s.algorithm.as_str(), "EdDSA" | "ES256") {
            return Err(ConfigError::Invalid(
                "mdr.signing.algorithm must be EdDSA or ES256".into(),
            ));
        }
        if s.rotation_interval != 0 && s.rotation_interval < 86_400 {
            return Err(ConfigError::Invalid(
                "mdr.signing.rotation_interval must be 0 (manual) or at least 86400 seconds".into(),
            ));
        }
        if s.publish_ahead < 120 {
            return Err(ConfigError::Invalid(
                "mdr.signing.publish_ahead must be at least 120 seconds".into(),
            ));
        }
        // A demoted key must outlive every token it signed, or those tokens would die early.
        let longest = self
            .access_token_ttl
            .max(self.bootstrap_token_ttl)
            .max(self.refresh_token_ttl)
            + self.clock_leeway;
        if s.verify_retention < longest {
            return Err(ConfigError::Invalid(format!(
                "mdr.signing.verify_retention must be at least the longest token lifetime plus the leeway ({longest} seconds)"
            )));
        }
        Ok(())
    }
}
