//! The provider's discovery document and keys, cached per node (`docs/sso.md`, "Calls to the
//! provider").
//!
//! Policy: discovery and keys are fetched once per configured endpoint and kept for a day;
//! a login makes no call for them in steady state. A token whose `kid` is unknown (a key
//! rotation at the provider) makes the keys be fetched again, at most once per
//! [`REFETCH_INTERVAL`] per node, so a flood of tokens with made-up `kid`s cannot turn
//! Portcullis into a load generator against the provider. Fetches are single-flight: one
//! in progress, the others wait for its result. Time is the caller's (the injected clock).

use super::outbound::{Outbound, OutboundError};
use arc_swap::ArcSwapOption;
use portcullis_core::sso::SsoSettings;
use portcullis_core::sso::verify::KeySet;
use serde_json::Value;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

/// The least time between two key fetches caused by unknown `kid`s.
pub const REFETCH_INTERVAL: Duration = Duration::seconds(10);
/// How long discovery and keys are kept without a reason to fetch them again.
const LIFETIME: Duration = Duration::DAY;

/// What discovery says, as far as the relying party needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `issuer`, exactly as published (the `iss` every token must carry).
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `userinfo_endpoint`, if any.
    pub userinfo_endpoint: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// RFC 9207: the provider sends `iss` with every authorization response.
    pub iss_parameter: bool,
    /// The token endpoint takes `client_secret_basic` (the default when the list is absent).
    pub basic_auth: bool,
}

/// Why the provider could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// A call failed (unreachable, timeout, TLS, status, size).
    #[error("{0}")]
    Call(#[from] OutboundError),
    /// The provider's documents are not what the settings say or not usable: a
    /// configuration problem for an administrator.
    #[error("provider misconfigured: {0}")]
    Misconfigured(String),
}

struct Cached {
    endpoint: String,
    verify_ssl: bool,
    meta: Arc<Metadata>,
    keys: Arc<KeySet>,
    fetched: OffsetDateTime,
    last_refetch: Option<OffsetDateTime>,
}

/// The per-node cache.
pub struct ProviderCache {
    current: ArcSwapOption<Cached>,
    fetching: Mutex<()>,
}

impl std::fmt::Debug for ProviderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCache").finish_non_exhaustive()
    }
}

impl Default for ProviderCache {
    fn default() -> Self {
        Self {
            current: ArcSwapOption::empty(),
            fetching: Mutex::new(()),
        }
    }
}

fn url_field(doc: &Value, key: &str) -> Result<String, ProviderError> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| s.starts_with("https://") || s.starts_with("http://"))
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::Misconfigured(format!("discovery has no usable {key}")))
}

/// Parses a discovery document fetched from `endpoint`.
fn metadata(endpoint: &str, body: &[u8]) -> Result<Metadata, ProviderError> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|_| ProviderError::Misconfigured("discovery is not JSON".into()))?;
    let issuer = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::Misconfigured("discovery has no issuer".into()))?;
    // OpenID Connect Discovery §4.3: the issuer is the URL the document was found under.
    if issuer.trim_end_matches('/') != endpoint {
        return Err(ProviderError::Misconfigured(format!(
            "discovery issuer {issuer:?} is not SOCIAL_AUTH_OIDC_OIDC_ENDPOINT {endpoint:?}"
        )));
    }
    let basic_auth = match doc
        .get("token_endpoint_auth_methods_supported")
        .and_then(Value::as_array)
    {
        None => true,
        Some(methods) => methods
            .iter()
            .any(|m| m.as_str() == Some("client_secret_basic")),
    };
    Ok(Metadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: url_field(&doc, "authorization_endpoint")?,
        token_endpoint: url_field(&doc, "token_endpoint")?,
        userinfo_endpoint: url_field(&doc, "userinfo_endpoint").ok(),
        jwks_uri: url_field(&doc, "jwks_uri")?,
        iss_parameter: doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        basic_auth,
    })
}

async fn fetch_keys(
    out: &Outbound,
    verify: bool,
    meta: &Metadata,
) -> Result<KeySet, ProviderError> {
    let body = out.get(verify, "jwks", &meta.jwks_uri).await?;
    KeySet::parse(&body)
        .ok_or_else(|| ProviderError::Misconfigured("jwks_uri is not a key set".into()))
}

impl ProviderCache {
    fn fresh(&self, sso: &SsoSettings, now: OffsetDateTime) -> Option<Arc<Cached>> {
        self.current.load_full().filter(|c| {
            c.endpoint == sso.endpoint
                && c.verify_ssl == sso.verify_ssl
                && now - c.fetched < LIFETIME
        })
    }

    /// The provider's metadata and keys, fetched if the cache does not hold them for the
    /// endpoint in force.
    pub async fn get(
        &self,
        out: &Outbound,
        sso: &SsoSettings,
        now: OffsetDateTime,
    ) -> Result<(Arc<Metadata>, Arc<KeySet>), ProviderError> {
        if let Some(c) = self.fresh(sso, now) {
            return Ok((c.meta.clone(), c.keys.clone()));
        }
        let _one = self.fetching.lock().await;
        if let Some(c) = self.fresh(sso, now) {
            return Ok((c.meta.clone(), c.keys.clone()));
        }
        let url = format!("{}/.well-known/openid-configuration", sso.endpoint);
        let body = out.get(sso.verify_ssl, "discovery", &url).await?;
        let meta = metadata(&sso.endpoint, &body)?;
        let keys = fetch_keys(out, sso.verify_ssl, &meta).await?;
        let cached = Arc::new(Cached {
            endpoint: sso.endpoint.clone(),
            verify_ssl: sso.verify_ssl,
            meta: Arc::new(meta),
            keys: Arc::new(keys),
            fetched: now,
            last_refetch: None,
        });
        self.current.store(Some(cached.clone()));
        Ok((cached.meta.clone(), cached.keys.clone()))
    }

    /// Fetches the keys again after a token named a `kid` that `seen` does not hold, unless
    /// that happened less than [`REFETCH_INTERVAL`] ago. `None` when no fetch was allowed
    /// (the caller refuses the token); the new set otherwise.
    pub async fn refetch_keys(
        &self,
        out: &Outbound,
        sso: &SsoSettings,
        seen: &Arc<KeySet>,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<KeySet>>, ProviderError> {
        let _one = self.fetching.lock().await;
        let Some(c) = self.fresh(sso, now) else {
            return Ok(None);
        };
        // Another request refreshed the keys while this one waited: use its result.
        if !Arc::ptr_eq(&c.keys, seen) {
            return Ok(Some(c.keys.clone()));
        }
        if c.last_refetch.is_some_and(|t| now - t < REFETCH_INTERVAL) {
            return Ok(None);
        }
        let result = fetch_keys(out, sso.verify_ssl, &c.meta).await;
        let keys = match &result {
            Ok(k) => Arc::new(k.clone()),
            Err(_) => c.keys.clone(),
        };
        self.current.store(Some(Arc::new(Cached {
            endpoint: c.endpoint.clone(),
            verify_ssl: c.verify_ssl,
            meta: c.meta.clone(),
            keys: keys.clone(),
            fetched: c.fetched,
            last_refetch: Some(now),
        })));
        result.map(|_| Some(keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_issuer_must_be_the_endpoint() {
        let doc = br#"{"issuer":"https://idp.test/","authorization_endpoint":"https://idp.test/a",
            "token_endpoint":"https://idp.test/t","jwks_uri":"https://idp.test/k"}"#;
        let m = metadata("https://idp.test", doc).unwrap();
        assert_eq!(m.issuer, "https://idp.test/");
        assert!(m.basic_auth);
        assert!(!m.iss_parameter);
        assert!(matches!(
            metadata("https://other.test", doc),
            Err(ProviderError::Misconfigured(_))
        ));
        assert!(matches!(
            metadata("https://idp.test", b"[]"),
            Err(ProviderError::Misconfigured(_))
        ));
    }
}
