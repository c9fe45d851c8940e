//! The MDR-side client: `init`, rotation, resource calls (`docs/mdr-api.md`, "Client library and
//! CLI").
//!
//! Policy:
//! - an exchange only ever happens under the store's exclusive lock, after re-reading the
//!   store; if another process rotated in the meantime, its pair is used instead (C5);
//! - the new pair is on disk (temp + fsync + rename + fsync) before the access token is used
//!   or returned (C6);
//! - 401 leaves the store alone and surfaces the server's text; 409 re-reads the store and
//!   never re-sends the same token (C7);
//! - transient failures (503, 5xx, 429, timeouts, refused connections, a cut-off answer) are
//!   retried with the SAME token, with backoff, inside a budget well within the server's
//!   rotation grace period: if the server committed the rotation but the answer was lost,
//!   the retry gets the same successor pair back (R5, R7);
//! - a resource call that gets 403 `access token expired`/`revoked` (or an unreadable 403)
//!   exchanges once and retries once (C8). Resource calls themselves are never retried on
//!   transport errors: they need not be idempotent.

use crate::clock::now_unix;
use crate::error::{ClientError, Result};
use crate::http::{build_client, normalise_base_url, send};
use crate::policy::{Margins, exchange_needed};
use crate::store::{StoreLock, StoredTokens, TokenStore};
use crate::token::Token;
use crate::wire::{ApiResponse, Count, ExchangeRequest, TokenPair};
use std::path::PathBuf;
use std::time::Duration;

/// Retries of a failed exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most requests sent for one exchange (first try included).
    pub max_attempts: u32,
    /// Pause before the first retry; doubled after each one.
    pub initial_backoff: Duration,
    /// Longest pause between two tries.
    pub max_backoff: Duration,
    /// No retry starts later than this after the first try (the server's grace period is
    /// 60 s by default; staying well inside it keeps a lost answer recoverable).
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            budget: Duration::from_secs(30),
        }
    }
}

/// How a [`MdrClient`] is set up.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Base URL (`https://host:port`); overrides the one saved in the store. Required by
    /// [`MdrClient::init`].
    pub base_url: Option<String>,
    /// The token store file.
    pub store: PathBuf,
    /// PEM bundle to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Renewal margins.
    pub margins: Margins,
    /// Exchange retries.
    pub retry: RetryPolicy,
}

impl ClientOptions {
    /// Options with defaults for everything but the store.
    pub fn new(store: impl Into<PathBuf>) -> Self {
        Self {
            base_url: None,
            store: store.into(),
            ca_file: None,
            margins: Margins::default(),
            retry: RetryPolicy::default(),
        }
    }
}

/// What one exchange attempt sequence ended with.
enum Exchanged {
    Issued(TokenPair),
    Rejected(String),
    Concurrent(String),
}

/// Client of the MDR surface backed by a token store.
#[derive(Debug, Clone)]
pub struct MdrClient {
    http: reqwest::Client,
    store: TokenStore,
    base_url: Option<String>,
    margins: Margins,
    retry: RetryPolicy,
}

/// `[A-Za-z0-9]{8,64}`, the server's Client ID syntax (`docs/mdr-api.md`, "Objects and
/// identifiers").
pub fn valid_client_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `<resource>/<action>`, each `[A-Za-z0-9_-]+`.
fn valid_method(path: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    matches!(path.split_once('/'), Some((r, a)) if ok(r) && ok(a))
}

impl MdrClient {
    /// Builds the client (reads the CA file now; the store is read per operation).
    pub fn new(options: ClientOptions) -> Result<Self> {
        let base_url = options
            .base_url
            .as_deref()
            .map(normalise_base_url)
            .transpose()?;
        Ok(Self {
            http: build_client(options.ca_file.as_deref())?,
            store: TokenStore::new(options.store),
            base_url,
            margins: options.margins,
            retry: options.retry,
        })
    }

    /// The token store.
    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    /// The renewal margins in force.
    pub fn margins(&self) -> Margins {
        self.margins
    }

    fn base_for(&self, tokens: &StoredTokens) -> Result<String> {
        match (&self.base_url, &tokens.base_url) {
            (Some(u), _) => Ok(u.clone()),
            (None, Some(u)) => normalise_base_url(u),
            (None, None) => Err(ClientError::Config(
                "no base URL: pass --url (it is saved in the store by init)".into(),
            )),
        }
    }

    async fn lock(&self) -> Result<StoreLock> {
        let store = self.store.clone();
        // Waiting for another process's exchange may take seconds: off the async workers.
        tokio::task::spawn_blocking(move || store.lock())
            .await
            .map_err(|e| ClientError::Config(format!("lock task failed: {e}")))?
    }

    /// C1: exchanges the console's bootstrap token at once (the connection becomes Active)
    /// and writes the store, replacing any previous one.
    pub async fn init(&self, client_id: &str, bootstrap: Token) -> Result<StoredTokens> {
        if !valid_client_id(client_id) {
            return Err(ClientError::Config(
                "the Client ID must be 8 to 64 letters and digits".into(),
            ));
        }
        let base = self.base_url.clone().ok_or_else(|| {
            ClientError::Config("init needs the server's base URL (--url)".into())
        })?;
        let lock = self.lock().await?;
        match self.exchange(&base, client_id, &bootstrap).await? {
            Exchanged::Issued(pair) => {
                let tokens = StoredTokens {
                    client_id: client_id.to_owned(),
                    base_url: Some(base),
                    refresh_token: pair.refresh_token,
                    access_token: Some(pair.access_token),
                };
                lock.save(&tokens)?;
                Ok(tokens)
            }
            Exchanged::Rejected(message) => Err(ClientError::RefreshRejected { message }),
            Exchanged::Concurrent(message) => Err(ClientError::Conflict { message }),
        }
    }

    /// Reads the store (no network).
    pub fn load(&self) -> Result<StoredTokens> {
        self.store.load()
    }

    /// C4: returns tokens good for a call, exchanging first when a margin says so.
    pub async fn ensure_fresh(&self) -> Result<StoredTokens> {
        let seen = self.store.load()?;
        if exchange_needed(&seen, now_unix(), &self.margins).is_none() {
            return Ok(seen);
        }
        self.rotate(&seen, false).await
    }

    /// Exchanges now, whatever the margins say, unless another process rotated the store
    /// since it was read here (then its pair is returned: one exchange, not two).
    pub async fn refresh(&self) -> Result<StoredTokens> {
        let seen = self.store.load()?;
        self.rotate(&seen, true).await
    }

    /// C5: under the lock, re-read; if the refresh token changed since `seen`, someone else
    /// rotated: use that. Otherwise exchange (when `force`, or when still due).
    async fn rotate(&self, seen: &StoredTokens, force: bool) -> Result<StoredTokens> {
        let lock = self.lock().await?;
        let current = lock.load()?;
        if current.refresh_token != seen.refresh_token {
            return Ok(current);
        }
        if !force && exchange_needed(&current, now_unix(), &self.margins).is_none() {
            return Ok(current);
        }
        let base = self.base_for(&current)?;
        match self
            .exchange(&base, &current.client_id, &current.refresh_token)
            .await?
        {
            Exchanged::Issued(pair) => {
                let tokens = StoredTokens {
                    client_id: current.client_id,
                    base_url: current.base_url,
                    refresh_token: pair.refresh_token,
                    access_token: Some(pair.access_token),
                };
                // C6: on disk before anyone uses the access token.
                lock.save(&tokens)?;
                Ok(tokens)
            }
            // C7: store untouched.
            Exchanged::Rejected(message) => Err(ClientError::RefreshRejected { message }),
            // C7/R3: another request spent it. A writer outside our lock may have stored the
            // successor; if not, there is nothing we may send.
            Exchanged::Concurrent(message) => {
                let again = lock.load()?;
                if again.refresh_token != current.refresh_token {
                    Ok(again)
                } else {
                    Err(ClientError::Conflict { message })
                }
            }
        }
    }

    /// One exchange with retries of transient failures, always with the same token.
    async fn exchange(&self, base: &str, client_id: &str, refresh: &Token) -> Result<Exchanged> {
        if !valid_client_id(client_id) {
            return Err(ClientError::Config(
                "the stored Client ID is not 8 to 64 letters and digits".into(),
            ));
        }
        let url = format!("{base}/api/v1/{client_id}/session/confirm");
        let started = tokio::time::Instant::now();
        let mut backoff = self.retry.initial_backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let req = self.http.post(&url).json(&ExchangeRequest {
                refresh_token: refresh.expose(),
            });
            let (last, retry_after) = match send(req).await {
                Ok(resp) => match resp.status {
                    200 => match resp.json::<TokenPair>() {
                        Ok(pair) => return Ok(Exchanged::Issued(pair)),
                        // A garbled 200 may still mean "rotated": the retry gets the same pair.
                        Err(_) => ("a 200 answer without a token pair".to_owned(), None),
                    },
                    401 => return Ok(Exchanged::Rejected(resp.describe_error())),
                    409 => return Ok(Exchanged::Concurrent(resp.describe_error())),
                    429 | 500..=599 => (
                        format!("HTTP {}: {}", resp.status, resp.describe_error()),
                        resp.retry_after,
                    ),
                    status => {
                        return Err(ClientError::Http {
                            status,
                            message: resp.describe_error(),
                        });
                    }
                },
                Err(ClientError::Transport(msg)) => (msg, None),
                Err(e) => return Err(e),
            };
            // The server's Retry-After is honoured, capped so the budget still allows a retry.
            let pause = retry_after
                .map(Duration::from_secs)
                .unwrap_or(backoff)
                .min(self.retry.max_backoff);
            if attempts >= self.retry.max_attempts || started.elapsed() + pause > self.retry.budget
            {
                return Err(ClientError::ExchangeUnavailable { attempts, last });
            }
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
    }

    async fn send_call(
        &self,
        tokens: &StoredTokens,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<ApiResponse> {
        let base = self.base_for(tokens)?;
        let access = tokens.access_token.as_ref().ok_or_else(|| {
            ClientError::Config("the store holds no access token after an exchange".into())
        })?;
        let url = format!("{base}/api/v1/{}/{method}", tokens.client_id);
        send(self.http.post(url).bearer_auth(access.expose()).json(body)).await
    }

    /// `POST /api/v1/{client_id}/{resource}/{action}` with `body`, renewing tokens as needed
    /// (C4, C8). Any status is returned; only transport and token errors are `Err`.
    pub async fn call(&self, method: &str, body: &serde_json::Value) -> Result<ApiResponse> {
        if !valid_method(method) {
            return Err(ClientError::Config(format!(
                "a method is <resource>/<action>, e.g. assets/list, not {method:?}"
            )));
        }
        if !body.is_object() {
            return Err(ClientError::Config(
                "the request body must be a JSON object".into(),
            ));
        }
        let tokens = self.ensure_fresh().await?;
        let resp = self.send_call(&tokens, method, body).await?;
        if resp.calls_for_exchange() {
            let renewed = self.rotate(&tokens, true).await?;
            return self.send_call(&renewed, method, body).await;
        }
        Ok(resp)
    }

    /// Calls a method and decodes a 2xx JSON answer; other statuses become
    /// [`ClientError::Http`].
    pub async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        let resp = self.call(method, body).await?;
        if !resp.is_success() {
            return Err(ClientError::Http {
                status: resp.status,
                message: resp.describe_error(),
            });
        }
        resp.json().map_err(|e| ClientError::Http {
            status: resp.status,
            message: format!("unexpected answer: {e}"),
        })
    }

    /// `<resource>/count` with filters, e.g. `count("assets", &json!({}))`.
    pub async fn count(&self, resource: &str, filters: &serde_json::Value) -> Result<u64> {
        let c: Count = self
            .call_json(&format!("{resource}/count"), filters)
            .await?;
        Ok(c.count)
    }

    /// `<resource>/list` with filters and paging keys; the bare JSON array of objects.
    pub async fn list(
        &self,
        resource: &str,
        body: &serde_json::Value,
    ) -> Result<Vec<serde_json::Value>> {
        self.call_json(&format!("{resource}/list"), body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_and_methods_are_checked_before_building_a_url() {
        assert!(valid_client_id("0123456789abcdef0123456789abcdef"));
        assert!(!valid_client_id("short"));
        assert!(!valid_client_id("../../../etc/x"));
        assert!(!valid_client_id(&"a".repeat(65)));
        assert!(valid_method("assets/list"));
        assert!(valid_method("incidents/create"));
        assert!(!valid_method("assets"));
        assert!(!valid_method("assets/list/x"));
        assert!(!valid_method("../session/confirm"));
        assert!(!valid_method("assets/list?x=1"));
    }

    #[test]
    fn retry_defaults_stay_inside_the_grace_period() {
        let r = RetryPolicy::default();
        assert!(r.budget < Duration::from_secs(60));
        let mut total = Duration::ZERO;
        let mut b = r.initial_backoff;
        for _ in 1..r.max_attempts {
            total += b;
            b = (b * 2).min(r.max_backoff);
        }
        assert!(total <= r.budget, "{total:?}");
    }
}
