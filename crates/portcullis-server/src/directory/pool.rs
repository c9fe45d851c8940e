//! A bounded pool of LDAP connections to one server URI.
//!
//! A connection is lent to one login at a time, because a login binds on it (as the service
//! account, then as the user). The pool remembers which service account a connection is
//! bound as, so the next login skips that bind. At most `size` connections exist at once;
//! a login that finds none free waits, within the operation timeout.

use super::Stage;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use portcullis_core::ldap::ServerConfig;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Who a pooled connection is bound as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Not bound since it was opened (anonymous).
    Nobody,
    /// The service account with this (DN, password) fingerprint.
    Service([u8; 32]),
    /// A user, or a bind that failed: the next login must bind again.
    Other,
}

fn fingerprint(cfg: &ServerConfig) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(cfg.bind_dn.as_bytes());
    h.update([0]);
    h.update(cfg.bind_password.expose_secret().as_bytes());
    h.finalize().into()
}

struct Idle {
    ldap: Ldap,
    bound: Bound,
}

/// Connections to one URI.
pub(super) struct Pool {
    uri: String,
    start_tls: bool,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
}

/// A connection lent out by [`Pool::get`]; give it back with [`Pool::put`] or drop it.
pub(super) struct Pooled {
    ldap: Ldap,
    bound: Bound,
    reused: bool,
    timeout: Duration,
    _permit: OwnedSemaphorePermit,
}

impl Pooled {
    /// The connection.
    pub(super) fn ldap(&mut self) -> &mut Ldap {
        &mut self.ldap
    }

    /// The per-operation timeout.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// True when it came from the idle list (it may have died since).
    pub(super) fn reused(&self) -> bool {
        self.reused
    }

    /// True when bound as `cfg`'s service account (an empty DN counts as anonymous, which a
    /// fresh connection is).
    pub(super) fn bound_as_service(&self, cfg: &ServerConfig) -> bool {
        match self.bound {
            Bound::Service(f) => f == fingerprint(cfg),
            Bound::Nobody => cfg.bind_dn.is_empty(),
            Bound::Other => false,
        }
    }

    /// Records a successful service bind.
    pub(super) fn set_bound_as_service(&mut self, cfg: &ServerConfig) {
        self.bound = Bound::Service(fingerprint(cfg));
    }

    /// Records a bind as someone else (or a failed bind).
    pub(super) fn set_bound_as_other(&mut self) {
        self.bound = Bound::Other;
    }
}

impl Pool {
    /// An empty pool for `uri`.
    pub(super) fn new(
        uri: String,
        start_tls: bool,
        timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
        size: usize,
    ) -> Self {
        Self {
            uri,
            start_tls,
            timeout,
            tls,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// The server URI.
    pub(super) fn uri(&self) -> &str {
        &self.uri
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        match self.idle.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A connection: an idle one if any, else a new one. Errors name the stage.
    pub(super) async fn get(&self) -> Result<Pooled, (Stage, String)> {
        let permit = tokio::time::timeout(self.timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                (
                    Stage::Connect,
                    format!("no free connection within {:?}", self.timeout),
                )
            })?
            .map_err(|_| (Stage::Connect, "pool closed".to_owned()))?;
        loop {
            let Some(mut idle) = self.idle().pop() else {
                break;
            };
            if !idle.ldap.is_closed() {
                return Ok(Pooled {
                    ldap: idle.ldap,
                    bound: idle.bound,
                    reused: true,
                    timeout: self.timeout,
                    _permit: permit,
                });
            }
        }
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.start_tls)
            .set_config(self.tls.clone());
        // Connecting includes the TLS handshake (ldaps or StartTLS); the outer timeout is a
        // backstop for a server that accepts TCP and then says nothing.
        let connected = tokio::time::timeout(
            self.timeout + Duration::from_millis(100),
            LdapConnAsync::with_settings(settings, &self.uri),
        )
        .await
        .map_err(|_| {
            (
                Stage::Connect,
                format!("no answer within {:?}", self.timeout),
            )
        })?;
        let (conn, ldap) = connected.map_err(|e| (super::classify_connect(&e), e.to_string()))?;
        ldap3::drive!(conn);
        Ok(Pooled {
            ldap,
            bound: Bound::Nobody,
            reused: false,
            timeout: self.timeout,
            _permit: permit,
        })
    }

    /// Returns a healthy connection to the idle list.
    pub(super) fn put(&self, conn: Pooled) {
        let Pooled { ldap, bound, .. } = conn;
        self.idle().push(Idle { ldap, bound });
    }
}
