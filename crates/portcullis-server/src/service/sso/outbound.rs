//! Calls to the single sign-on provider (`docs/sso.md`, "Calls to the provider").
//!
//! Policy: redirects are never followed (a 3xx is an error: a token request must not be
//! re-sent elsewhere, and a redirect is the usual first step of a server-side request
//! forgery); every call has a whole-call timeout and a connect timeout; an answer longer than
//! `sso.max_response_bytes` is refused while it is read, never buffered whole. TLS is
//! verified against the system roots, or `sso.ca_bundle` when given, unless
//! `SOCIAL_AUTH_OIDC_VERIFY_SSL` is off (then a warning is logged at each use).

use crate::config::SsoConfig;
use std::time::Duration;

/// Why a call to the provider failed. The text is for the log; it never names a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OutboundError(pub String);

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body, at most `sso.max_response_bytes`.
    pub body: Vec<u8>,
}

/// The two HTTP clients (verifying and not) and the size limit.
#[derive(Debug, Clone)]
pub struct Outbound {
    verifying: reqwest::Client,
    trusting: reqwest::Client,
    max_bytes: usize,
}

impl Outbound {
    /// Builds the clients from `[sso]`. Fails when the CA bundle cannot be read.
    pub fn new(config: &SsoConfig) -> Result<Self, String> {
        let timeout = Duration::from_secs(config.http_timeout_seconds);
        let base = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        };
        let mut verifying = base();
        if let Some(path) = &config.ca_bundle {
            let pem = std::fs::read(path)
                .map_err(|e| format!("sso.ca_bundle {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("sso.ca_bundle {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("sso.ca_bundle {}: no certificate", path.display()));
            }
            verifying = verifying.tls_certs_only(certs);
        }
        let verifying = verifying.build().map_err(|e| e.to_string())?;
        let trusting = base()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            verifying,
            trusting,
            max_bytes: config.max_response_bytes,
        })
    }

    fn client(&self, verify: bool) -> &reqwest::Client {
        if verify {
            &self.verifying
        } else {
            tracing::warn!(
                event = "sso_tls_unverified",
                "SOCIAL_AUTH_OIDC_VERIFY_SSL is off: the provider's certificate is not checked"
            );
            &self.trusting
        }
    }

    /// Sends `req` and reads the answer within the size limit.
    async fn run(&self, what: &str, req: reqwest::RequestBuilder) -> Result<Answer, OutboundError> {
        let fail = |e: String| OutboundError(format!("{what}: {e}"));
        let mut resp = req.send().await.map_err(|e| fail(describe(&e)))?;
        if resp
            .content_length()
            .is_some_and(|n| n > u64::try_from(self.max_bytes).unwrap_or(u64::MAX))
        {
            return Err(fail("answer too large".into()));
        }
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(describe(&e)))? {
            if body.len().saturating_add(chunk.len()) > self.max_bytes {
                return Err(fail("answer too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        if (300..400).contains(&status) {
            return Err(fail(format!("redirect {status} not followed")));
        }
        Ok(Answer { status, body })
    }

    /// `GET url`, expecting 200.
    pub async fn get(&self, verify: bool, what: &str, url: &str) -> Result<Vec<u8>, OutboundError> {
        let req = self
            .client(verify)
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        let a = self.run(what, req).await?;
        if a.status != 200 {
            return Err(OutboundError(format!("{what}: status {}", a.status)));
        }
        Ok(a.body)
    }

    /// `GET url` with a Bearer token, expecting 200.
    pub async fn get_bearer(
        &self,
        verify: bool,
        what: &str,
        url: &str,
        token: &str,
    ) -> Result<Vec<u8>, OutboundError> {
        let req = self
            .client(verify)
            .get(url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json");
        let a = self.run(what, req).await?;
        if a.status != 200 {
            return Err(OutboundError(format!("{what}: status {}", a.status)));
        }
        Ok(a.body)
    }

    /// `POST url` with a form body and, when given, HTTP Basic client credentials (RFC 6749
    /// §2.3.1: each part form-encoded first). Any status is returned: the caller reads the
    /// provider's error body.
    pub async fn post_form(
        &self,
        verify: bool,
        what: &str,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Answer, OutboundError> {
        let body = serde_urlencoded::to_string(form).map_err(|e| OutboundError(e.to_string()))?;
        let mut req = self
            .client(verify)
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if let Some((id, secret)) = basic {
            let enc = |s: &str| serde_urlencoded::to_string([("", s)]).unwrap_or_default();
            let id = enc(id);
            let secret = enc(secret);
            req = req.basic_auth(
                id.strip_prefix('=').unwrap_or(&id),
                Some(secret.strip_prefix('=').unwrap_or(&secret)),
            );
        }
        self.run(what, req).await
    }
}

/// A transport error in a few words (timeouts and TLS failures named as such).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        let mut text = "could not connect".to_owned();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    } else {
        e.to_string()
    }
}
