//! Static configuration: defaults → optional TOML file → `PORTCULLIS_*` environment
//! variables (`__` for nesting, `*_FILE` naming a file that holds a secret).
//!
//! Policy: every struct denies unknown fields, so a typo fails at start with the key named;
//! secrets are [`Secret`]s that print as `<redacted>`. Runtime settings that the AWX settings
//! API edits (Basic on/off, lifetimes, …) are NOT here: they live in the store.

pub mod gateway;
pub mod mdr;
mod sso;
pub mod tls;

use figment::Figment;
use figment::providers::{Format, Toml};
pub use mdr::{MdrAttachmentsConfig, MdrConfig, MdrSigningConfig};
use portcullis_core::password::Argon2Params;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
pub use sso::SsoConfig;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
pub use tls::TlsConfig;

/// Longest absolute session lifetime accepted: ten years.
const MAX_ABSOLUTE_TIMEOUT: i64 = 10 * 365 * 24 * 3600;

/// Environment variables under the prefix that are not configuration keys: the binary reads
/// them itself (`LOG` and `LOG_FORMAT` before the configuration is loaded, so that loading it
/// can already be logged).
const NOT_CONFIG: [&str; 4] = ["CONFIG", "PASSWORD", "LOG", "LOG_FORMAT"];

/// A secret configuration value. Serializes as `<redacted>`; `Debug` prints nothing.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(SecretString::from(s.into()))
    }
    /// The clear value.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// The whole static configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Format version of the file; only `1` exists.
    pub version: u32,
    /// API listener address (`PORTCULLIS_LISTEN`).
    pub listen: SocketAddr,
    /// `sqlite:…` or `postgres://…` (`PORTCULLIS_DATABASE_URL`).
    pub database_url: Secret,
    /// Password of the first superuser `admin`, used only on first start.
    pub admin_password: Option<Secret>,
    /// Public URL clients use (scheme, host, port). Decides the `Secure` cookie flag and the
    /// origin the CSRF check expects. Unset: plain-HTTP development mode, origin from `Host`.
    pub public_url: Option<String>,
    /// Node name in `X-API-Node` and ping (default: the host name).
    pub node_name: Option<String>,
    /// Peers whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// What the AWX API says about itself.
    pub api: ApiConfig,
    /// Session cookie options.
    pub session: SessionConfig,
    /// Password hashing.
    pub password: PasswordConfig,
    /// Authentication caches.
    pub auth: AuthConfig,
    /// OAuth2 bounds.
    pub oauth2: OAuth2Config,
    /// Brute-force protection of password checks (`docs/security.md`, "Brute-force limits").
    pub throttle: ThrottleConfig,
    /// Request limits.
    pub limits: LimitsConfig,
    /// MDR-style API connections (`docs/configuration.md`, "`[mdr]`: MDR-style API connections").
    pub mdr: MdrConfig,
    /// Stopping on SIGTERM / Ctrl-C.
    pub shutdown: ShutdownConfig,
    /// Connections to LDAP directories (the directories themselves are runtime settings,
    /// `docs/ldap.md`).
    pub ldap: LdapConfig,
    /// HTTPS on the listener (`docs/tls.md`).
    pub tls: TlsConfig,
    /// The Prometheus metrics listener (`docs/metrics.md`).
    pub metrics: MetricsConfig,
    /// The gateway: forward-auth and the built-in reverse proxy (`docs/gateway.md`).
    pub gateway: gateway::GatewayConfig,
    /// Outbound calls to the single sign-on provider (`docs/sso.md`).
    pub sso: SsoConfig,
}

/// The Prometheus metrics listener (`docs/metrics.md`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of the plain-HTTP listener that serves only `GET /metrics`
    /// (`PORTCULLIS_METRICS__LISTEN`); unset: no metrics are collected or served. It is a
    /// listener of its own so the API port never exposes it: bind it where only the
    /// scraper can reach it.
    pub listen: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            version: 1,
            listen: SocketAddr::from(([127, 0, 0, 1], 8052)),
            database_url: Secret::new("sqlite:portcullis.db"),
            admin_password: None,
            public_url: None,
            node_name: None,
            trusted_proxies: Vec::new(),
            api: ApiConfig::default(),
            session: SessionConfig::default(),
            password: PasswordConfig::default(),
            auth: AuthConfig::default(),
            oauth2: OAuth2Config::default(),
            throttle: ThrottleConfig::default(),
            limits: LimitsConfig::default(),
            mdr: MdrConfig::default(),
            shutdown: ShutdownConfig::default(),
            ldap: LdapConfig::default(),
            tls: TlsConfig::default(),
            metrics: MetricsConfig::default(),
            gateway: gateway::GatewayConfig::default(),
            sso: SsoConfig::default(),
        }
    }
}

/// How Portcullis connects to LDAP directories (`docs/ldap.md`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LdapConfig {
    /// PEM file of CA certificates trusted for `ldaps://` and StartTLS, in addition to the
    /// system's roots (`PORTCULLIS_LDAP__CA_FILE`). Certificates are always verified.
    pub ca_file: Option<std::path::PathBuf>,
    /// Most connections kept open to one directory server URI; logins beyond it wait for a
    /// free connection (within the operation timeout).
    pub pool_size: usize,
}

impl Default for LdapConfig {
    fn default() -> Self {
        Self {
            ca_file: None,
            pool_size: 8,
        }
    }
}

/// Self-description of the AWX API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// `description` in `GET /api/`.
    pub description: String,
    /// `custom_logo` in `GET /api/`.
    pub custom_logo: String,
    /// `custom_login_info` in `GET /api/`.
    pub custom_login_info: String,
    /// `X-API-Product-Name`.
    pub product_name: String,
    /// `X-API-Product-Version` and ping `version`.
    pub product_version: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            description: "AWX REST API".into(),
            custom_logo: String::new(),
            custom_login_info: String::new(),
            product_name: "AWX".into(),
            product_version: "22.2.0".into(),
        }
    }
}

/// Session cookie options.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Cookie name, announced in `X-API-Session-Cookie-Name`.
    pub cookie_name: String,
    /// Absolute session lifetime in seconds (not extended by activity).
    pub absolute_timeout: i64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: "awx_sessionid".into(),
            absolute_timeout: 43_200,
        }
    }
}

/// Password hashing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Argon2id memory in KiB (floor 19 456).
    pub memory_kib: u32,
    /// Argon2id passes (floor 2).
    pub iterations: u32,
    /// Argon2id lanes (floor 1).
    pub parallelism: u32,
    /// Concurrent hash operations (default: CPU cores).
    pub hash_concurrency: Option<usize>,
    /// Longest wait for a hashing permit before answering 503.
    pub permit_wait_seconds: u64,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        let f = Argon2Params::FLOOR;
        Self {
            memory_kib: f.memory_kib,
            iterations: f.iterations,
            parallelism: f.parallelism,
            hash_concurrency: None,
            permit_wait_seconds: 5,
        }
    }
}

impl PasswordConfig {
    /// The Argon2id parameters.
    pub fn params(&self) -> Argon2Params {
        Argon2Params {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        }
    }
}

/// Authentication caches.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Verified-Basic-credential cache lifetime in seconds (0 disables, max 300).
    pub basic_cache_ttl: u64,
    /// Verified-Basic-credential cache entries.
    pub basic_cache_size: usize,
    /// How often a node reloads runtime settings, seconds (max 5).
    pub settings_cache_ttl: u64,
    /// Verified tokens and sessions kept per node, each (0 disables; `docs/cluster.md`).
    pub credential_cache_size: usize,
    /// Longest a verified token or session is kept, seconds (1–300): bounds how old the
    /// owner's display fields may be; revocation is bounded by the change log, not by this.
    pub credential_cache_ttl: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            basic_cache_ttl: 60,
            basic_cache_size: 10_000,
            settings_cache_ttl: 2,
            credential_cache_size: 100_000,
            credential_cache_ttl: 60,
        }
    }
}

/// OAuth2 bounds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth2Config {
    /// Highest `ACCESS_TOKEN_EXPIRE_SECONDS` the settings API accepts.
    pub token_max_lifetime: i64,
    /// Seconds between two persisted `last_used` stamps of one token (1–3600).
    pub last_used_interval: u64,
    /// A refresh token presented again within this many milliseconds of its rotation lost a
    /// race (400 `invalid_request`, nothing revoked) rather than being reused (0–5000).
    pub refresh_race_tolerance_ms: u64,
    /// `grant_type=password` at `/api/o/token/` (`docs/security.md`, "Token endpoint and
    /// ownership"); off refuses it for every application.
    pub password_grant: bool,
    /// Absolute lifetime of a refresh family in seconds (`docs/security.md`, "Lifetime"): no
    /// refresh token of a grant outlives the grant's first token by more than this. 0 = no cap.
    pub refresh_family_max_lifetime: i64,
}

impl Default for OAuth2Config {
    fn default() -> Self {
        Self {
            token_max_lifetime: 63_072_000,
            last_used_interval: 60,
            refresh_race_tolerance_ms: 1000,
            password_grant: true,
            refresh_family_max_lifetime: 7_776_000,
        }
    }
}

/// Brute-force counters, shared by all nodes through the store (`docs/security.md`, "Brute-force
/// limits").
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Failures per account before the first lock.
    pub account_free_failures: u32,
    /// First lock in seconds; doubles with each further failure.
    pub account_lock_seconds: i64,
    /// Longest lock in seconds (at most 900, so no lock is long enough to keep an owner out for
    /// good).
    pub account_max_lock_seconds: i64,
    /// An account counter with no failure for this long starts again (seconds).
    pub account_reset_seconds: i64,
    /// Failures from one client network (/32, /64), across all accounts, within the sliding
    /// window that make it wait (429).
    pub source_failures: u32,
    /// The sliding window of `source_failures` (seconds): the network is refused while it
    /// has that many failures in the last `source_window_seconds`.
    pub source_window_seconds: i64,
    /// Hard cap: evaluated failures per account per hour, all counters together (ASVS 2.2.1:
    /// at most 100).
    pub account_hourly_cap: u32,
    /// Failed client authentications at `/api/o/` per (`client_id`, client network) within
    /// the sliding window that make that network wait (429).
    pub client_failures: u32,
    /// The sliding window of `client_failures` (seconds).
    pub client_window_seconds: i64,
    /// A source that logged in to an account within this many days has its own counter
    /// for that account, so an attacker elsewhere cannot lock the owner out.
    pub known_source_days: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            account_free_failures: 5,
            account_lock_seconds: 60,
            account_max_lock_seconds: 900,
            account_reset_seconds: 43_200,
            source_failures: 30,
            source_window_seconds: 600,
            account_hourly_cap: 100,
            client_failures: 20,
            client_window_seconds: 600,
            known_source_days: 30,
        }
    }
}

/// Request limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// JSON request bodies, bytes.
    pub json_body: usize,
    /// Login, password and other credential bodies, bytes.
    pub auth_body: usize,
    /// Request line (method + URI), bytes; longer → 414.
    pub max_uri_bytes: usize,
    /// One header field, bytes; larger → 431.
    pub max_header_field_bytes: usize,
    /// The whole header section, bytes; larger → 431.
    pub max_header_bytes: usize,
    /// Number of header fields; more → 431.
    pub max_headers: usize,
    /// Handler timeout, seconds.
    pub request_timeout_seconds: u64,
    /// Time a request body may take to arrive, from the end of its header section, seconds
    /// (`docs/security.md`, "Input handling": "body within 30 s"); slower → 408 and the connection
    /// is closed.
    pub body_read_timeout_seconds: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            json_body: 1024 * 1024,
            auth_body: 64 * 1024,
            max_uri_bytes: 8 * 1024,
            max_header_field_bytes: 32 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            request_timeout_seconds: 30,
            body_read_timeout_seconds: 30,
        }
    }
}

/// Stopping on SIGTERM / Ctrl-C: the listener stops accepting, the requests under way are
/// answered, then the coalesced writes are flushed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// Longest wait, in seconds, for the requests under way to be answered before their
    /// connections are cut (1–3600).
    pub drain_timeout_seconds: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_timeout_seconds: 30,
        }
    }
}

/// Configuration could not be loaded or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Parsing or merging failed (names the key and where it came from).
    #[error("{0}")]
    Load(String),
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults → `file` (if given) → environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Keys whose own name ends in `_file` (a path the server reads itself): their variable
    /// is the path, not a file holding the value (`PORTCULLIS_LDAP__CA_FILE`,
    /// `PORTCULLIS_TLS__KEY_FILE`).
    const PATH_KEYS: [&'static str; 3] = ["ldap__ca_file", "tls__cert_file", "tls__key_file"];

    /// Like [`Config::load`] with an explicit environment (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut fig = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Load(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        let names_a_secret_file =
            |key: &str| key.ends_with("_file") && !Self::PATH_KEYS.contains(&key);
        // `*_FILE` secrets: read the named file; the key is the name without the suffix.
        for (name, value) in &env {
            let Some(key) = config_key(name).filter(|k| names_a_secret_file(k)) else {
                continue;
            };
            let Some(key) = key.strip_suffix("_file") else {
                continue;
            };
            let content = std::fs::read_to_string(value)
                .map_err(|e| ConfigError::Load(format!("{name}: cannot read {value}: {e}")))?;
            let content = content.trim_end_matches(['\r', '\n']).to_owned();
            fig = fig.merge((key.replace("__", "."), content));
        }
        let plain: Vec<(String, String)> = env
            .iter()
            .filter(|(k, _)| config_key(k).is_some_and(|k| !names_a_secret_file(&k)))
            .cloned()
            .collect();
        // Plain variables: `__` nests (`PORTCULLIS_SESSION__COOKIE_NAME`), values are parsed
        // as TOML scalars/arrays where they look like one, else taken as strings.
        for (name, value) in plain {
            if let Some(key) = config_key(&name) {
                fig = fig.merge((key.replace("__", "."), parse_env_value(&value)));
            }
        }
        let cfg: Config = fig
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Range checks that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.version != 1 {
            return Err(ConfigError::Invalid(format!(
                "version = {} is not supported (expected 1)",
                self.version
            )));
        }
        self.mdr.validate()?;
        self.password
            .params()
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if self.auth.basic_cache_ttl > 300 {
            return Err(ConfigError::Invalid(
                "auth.basic_cache_ttl must be at most 300 seconds".into(),
            ));
        }
        if !(1..=300).contains(&self.auth.credential_cache_ttl) {
            return Err(ConfigError::Invalid(
                "auth.credential_cache_ttl must be between 1 and 300 seconds".into(),
            ));
        }
        if !(1..=3600).contains(&self.oauth2.last_used_interval) {
            return Err(ConfigError::Invalid(
                "oauth2.last_used_interval must be between 1 and 3600 seconds".into(),
            ));
        }
        if self.oauth2.refresh_family_max_lifetime < 0 {
            return Err(ConfigError::Invalid(
                "oauth2.refresh_family_max_lifetime must be 0 (no cap) or a number of seconds"
                    .into(),
            ));
        }
        if self.oauth2.refresh_race_tolerance_ms > 5000 {
            return Err(ConfigError::Invalid(
                "oauth2.refresh_race_tolerance_ms must be at most 5000".into(),
            ));
        }
        let t = &self.throttle;
        if !(1..=900).contains(&t.account_max_lock_seconds)
            || !(1..=t.account_max_lock_seconds).contains(&t.account_lock_seconds)
            || t.account_reset_seconds < 60
            || t.source_failures == 0
            || t.source_window_seconds < 1
            || t.known_source_days < 0
            || !(1..=100).contains(&t.account_hourly_cap)
            || t.client_failures == 0
            || !(1..=86_400).contains(&t.client_window_seconds)
            || t.source_window_seconds > 86_400
        {
            return Err(ConfigError::Invalid(
                "throttle: locks must be 1..=900 s with account_lock_seconds <= account_max_lock_seconds, account_reset_seconds >= 60, source_failures >= 1, source_window_seconds and client_window_seconds 1..=86400, client_failures >= 1, account_hourly_cap 1..=100".into(),
            ));
        }
        // 0 would refuse every body; a day is far beyond any client and keeps the deadline
        // arithmetic trivially in range.
        if !(1..=86_400).contains(&self.limits.body_read_timeout_seconds) {
            return Err(ConfigError::Invalid(
                "limits.body_read_timeout_seconds must be between 1 and 86400".into(),
            ));
        }
        if !(1..=3600).contains(&self.shutdown.drain_timeout_seconds) {
            return Err(ConfigError::Invalid(
                "shutdown.drain_timeout_seconds must be between 1 and 3600".into(),
            ));
        }
        self.tls.validate(self.listen, &self.trusted_proxies)?;
        self.gateway.validate(self.listen)?;
        self.sso.validate()?;
        if !(1..=256).contains(&self.ldap.pool_size) {
            return Err(ConfigError::Invalid(
                "ldap.pool_size must be between 1 and 256".into(),
            ));
        }
        if self.auth.settings_cache_ttl == 0 || self.auth.settings_cache_ttl > 5 {
            return Err(ConfigError::Invalid(
                "auth.settings_cache_ttl must be between 1 and 5 seconds".into(),
            ));
        }
        // The upper bound keeps `login time + absolute_timeout` far from the end of the
        // representable calendar (an overflow there would abort the login).
        if !(60..=MAX_ABSOLUTE_TIMEOUT).contains(&self.session.absolute_timeout) {
            return Err(ConfigError::Invalid(format!(
                "session.absolute_timeout must be between 60 and {MAX_ABSOLUTE_TIMEOUT} seconds"
            )));
        }
        if self.session.cookie_name.is_empty()
            || !self
                .session
                .cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::Invalid(
                "session.cookie_name must be a non-empty token of [A-Za-z0-9_-]".into(),
            ));
        }
        if let Some(u) = &self.public_url {
            let parsed =
                url::Url::parse(u).map_err(|e| ConfigError::Invalid(format!("public_url: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(ConfigError::Invalid(
                    "public_url must be an http(s) URL with a host".into(),
                ));
            }
        }
        let db = self.database_url.expose();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "database_url must start with sqlite:, postgres:// or postgresql://".into(),
            ));
        }
        Ok(())
    }

    /// The effective configuration as pretty JSON with secrets redacted (for `check-config`).
    pub fn redacted(&self) -> String {
        match serde_json::to_value(self) {
            Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Scheme + host + port of `public_url`, when configured.
    pub fn public_origin(&self) -> Option<String> {
        let u = url::Url::parse(self.public_url.as_deref()?).ok()?;
        Some(u.origin().ascii_serialization())
    }

    /// True when cookies must carry `Secure`: the public URL is https, or the listener ends
    /// TLS itself (every browser then reaches it over HTTPS).
    pub fn secure_cookies(&self) -> bool {
        self.hsts() || self.tls.enabled()
    }

    /// True when responses carry `Strict-Transport-Security`: only with an https public URL.
    /// A development certificate for `localhost` alone does not pin the browser to HTTPS
    /// for every other local server (`docs/tls.md`).
    pub fn hsts(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

/// `PORTCULLIS_FOO__BAR` → `foo__bar`, or `None` for variables that are not config keys.
fn config_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix("PORTCULLIS_")?;
    if NOT_CONFIG.contains(&rest) || rest.starts_with("TEST_") {
        return None;
    }
    Some(rest.to_ascii_lowercase())
}

/// Environment values are strings; let numbers, booleans and arrays through typed, as
/// figment's own `Env` provider does.
fn parse_env_value(v: &str) -> figment::value::Value {
    v.parse::<figment::value::Value>()
        .unwrap_or_else(|_| figment::value::Value::from(v.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8052");
        assert_eq!(c.database_url.expose(), "sqlite:portcullis.db");
        assert!(!c.secure_cookies());
    }

    #[test]
    fn env_overrides_and_nests() {
        let c = Config::load_from(
            None,
            env(&[
                ("PORTCULLIS_LISTEN", "127.0.0.1:9000"),
                ("PORTCULLIS_SESSION__ABSOLUTE_TIMEOUT", "600"),
                ("PORTCULLIS_PASSWORD", "not-a-config-key"),
                ("PORTCULLIS_LOG", "debug"),
                ("PORTCULLIS_LOG_FORMAT", "json"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.session.absolute_timeout, 600);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::load_from(None, env(&[("PORTCULLIS_LISTN", "x")])).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "version = 1\n[session]\ncookie_nam = \"x\"\n").unwrap();
        let err = Config::load_from(Some(&f), env(&[])).unwrap_err();
        assert!(err.to_string().contains("cookie_nam"), "{err}");
    }

    #[test]
    fn file_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret-from-file\n").unwrap();
        let c = Config::load_from(
            None,
            env(&[("PORTCULLIS_ADMIN_PASSWORD_FILE", f.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(
            c.admin_password.as_ref().unwrap().expose(),
            "s3cret-from-file"
        );
        assert!(!c.redacted().is_empty());
    }

    #[test]
    fn a_path_key_ending_in_file_is_a_path_not_a_secret_file() {
        let c = Config::load_from(
            None,
            env(&[("PORTCULLIS_LDAP__CA_FILE", "/etc/ssl/directory-ca.pem")]),
        )
        .unwrap();
        assert_eq!(
            c.ldap.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ssl/directory-ca.pem"))
        );
    }

    #[test]
    fn absolute_timeout_is_bounded() {
        for bad in ["59", "1000000000000000"] {
            let err =
                Config::load_from(None, env(&[("PORTCULLIS_SESSION__ABSOLUTE_TIMEOUT", bad)]))
                    .unwrap_err();
            assert!(err.to_string().contains("absolute_timeout"), "{err}");
        }
    }

    #[test]
    fn drain_timeout_defaults_to_30_s_and_is_bounded() {
        let c = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(c.shutdown.drain_timeout_seconds, 30);
        let c = Config::load_from(
            None,
            env(&[("PORTCULLIS_SHUTDOWN__DRAIN_TIMEOUT_SECONDS", "5")]),
        )
        .unwrap();
        assert_eq!(c.shutdown.drain_timeout_seconds, 5);
        let err = Config::load_from(
            None,
            env(&[("PORTCULLIS_SHUTDOWN__DRAIN_TIMEOUT_SECONDS", "0")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("drain_timeout_seconds"), "{err}");
    }

    #[test]
    fn weak_argon2_is_refused() {
        let err = Config::load_from(None, env(&[("PORTCULLIS_PASSWORD__MEMORY_KIB", "1024")]))
            .unwrap_err();
        assert!(err.to_string().contains("floor"), "{err}");
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Config::load_from(
            None,
            env(&[("PORTCULLIS_DATABASE_URL", "postgres://u:pw@h/db")]),
        )
        .unwrap();
        assert!(!c.redacted().contains("pw@"));
        assert!(!format!("{c:?}").contains("pw@"));
    }

    /// `PORTCULLIS_TLS__CERT_FILE` and `…__KEY_FILE` are paths the server reads itself, not
    /// the `…_FILE` form of keys `tls.cert` and `tls.key` (which do not exist).
    #[test]
    fn tls_file_variables_are_paths() {
        let c = Config::load_from(
            None,
            env(&[
                ("PORTCULLIS_TLS__CERT_FILE", "/nonexistent/server.crt"),
                ("PORTCULLIS_TLS__KEY_FILE", "/nonexistent/server.key"),
                ("PORTCULLIS_TLS__HEALTH_LISTEN", "127.0.0.1:8053"),
            ]),
        )
        .unwrap();
        assert!(c.tls.enabled());
        assert_eq!(
            c.tls.cert_file.as_deref(),
            Some(Path::new("/nonexistent/server.crt"))
        );
        assert!(c.secure_cookies(), "a TLS listener sets Secure cookies");
        assert!(!c.hsts(), "HSTS only with an https public_url");
    }

    #[test]
    fn tls_settings_are_checked_together() {
        let err =
            |pairs: &[(&str, &str)]| Config::load_from(None, env(pairs)).unwrap_err().to_string();
        let e = err(&[("PORTCULLIS_TLS__KEY_FILE", "/k.pem")]);
        assert!(
            e.contains("tls.cert_file and tls.key_file go together"),
            "{e}"
        );
        let e = err(&[("PORTCULLIS_TLS__HEALTH_LISTEN", "127.0.0.1:8053")]);
        assert!(
            e.contains("tls.health_listen is the plain-HTTP health listener"),
            "{e}"
        );
        let tls = [
            ("PORTCULLIS_TLS__CERT_FILE", "/c.pem"),
            ("PORTCULLIS_TLS__KEY_FILE", "/k.pem"),
        ];
        let e = err(&[
            tls[0],
            tls[1],
            ("PORTCULLIS_TLS__HEALTH_LISTEN", "0.0.0.0:8053"),
        ]);
        assert!(e.contains("must be a loopback address"), "{e}");
        let e = err(&[
            tls[0],
            tls[1],
            ("PORTCULLIS_TLS__HEALTH_LISTEN", "127.0.0.1:8052"),
        ]);
        assert!(e.contains("must differ from listen"), "{e}");
        let e = err(&[
            tls[0],
            tls[1],
            ("PORTCULLIS_TLS__HANDSHAKE_TIMEOUT_SECONDS", "0"),
        ]);
        assert!(e.contains("handshake_timeout_seconds"), "{e}");
    }

    /// `docs/tls.md`, "Safety default".
    #[test]
    fn a_non_loopback_listener_needs_tls_or_a_trusted_proxy() {
        for listen in ["0.0.0.0:8052", "[::]:8052", "192.0.2.10:443"] {
            let e = Config::load_from(None, env(&[("PORTCULLIS_LISTEN", listen)]))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("is not a loopback address and TLS is off"),
                "{e}"
            );
        }
        for listen in ["127.0.0.1:8052", "[::1]:8052"] {
            Config::load_from(None, env(&[("PORTCULLIS_LISTEN", listen)])).unwrap();
        }
        Config::load_from(
            None,
            env(&[
                ("PORTCULLIS_LISTEN", "0.0.0.0:8052"),
                ("PORTCULLIS_TRUSTED_PROXIES", "[\"10.0.0.5\"]"),
            ]),
        )
        .unwrap();
        Config::load_from(
            None,
            env(&[
                ("PORTCULLIS_LISTEN", "0.0.0.0:8052"),
                ("PORTCULLIS_TLS__CERT_FILE", "/c.pem"),
                ("PORTCULLIS_TLS__KEY_FILE", "/k.pem"),
            ]),
        )
        .unwrap();
    }
}
