//! The password pool: Argon2id work runs on tokio's blocking threads, never on the async
//! workers, behind a semaphore sized to the cores, which also bounds memory to
//! permits × m. A caller that waits longer than the configured limit for a permit gets 503.

use crate::error::{ApiError, ApiResult};
use portcullis_core::error::CoreError;
use portcullis_core::password::{self, Argon2Params, Verification};
use portcullis_core::rng::Rng;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Bounded Argon2id executor.
pub struct PasswordPool {
    permits: Arc<Semaphore>,
    params: Argon2Params,
    dummy_hash: Arc<str>,
    rng: Arc<dyn Rng>,
    wait: Duration,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordPool {
    /// A pool running at most `concurrency` hashes at once. Computes the dummy hash used to
    /// equalise timing for unknown users (one hash at start).
    pub fn new(
        params: Argon2Params,
        concurrency: usize,
        wait: Duration,
        rng: Arc<dyn Rng>,
    ) -> Result<Self, CoreError> {
        params.validate()?;
        let dummy = password::hash_password(&params, "portcullis-dummy-password", rng.as_ref())?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            params,
            dummy_hash: Arc::from(dummy),
            rng,
            wait,
        })
    }

    /// The configured parameters.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Unavailable("password pool saturated".into()))?
            .map_err(|_| ApiError::Unavailable("password pool closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await
        .map_err(|e| ApiError::Internal(format!("password task failed: {e}")))
    }

    /// Checks `password` against `stored`; `None` (unknown user, external user) burns the
    /// same time against the dummy hash and never matches.
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: SecretString,
    ) -> ApiResult<Verification> {
        let params = self.params;
        let dummy = self.dummy_hash.clone();
        self.run(move || match stored {
            // Oversize or empty input never matches, but still costs a real hash so its
            // timing says nothing (security.md §3.2).
            Some(_) if !password::length_ok(password.expose_secret()) => {
                password::dummy_verify(&params, &dummy);
                Verification::Mismatch
            }
            Some(h) => match password::verify_password(&params, &h, password.expose_secret()) {
                Ok(v) => v,
                // An unreadable stored hash is a failed check, never a pass.
                Err(_) => Verification::Mismatch,
            },
            None => {
                password::dummy_verify(&params, &dummy);
                Verification::Mismatch
            }
        })
        .await
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: SecretString) -> ApiResult<String> {
        let params = self.params;
        let rng = self.rng.clone();
        self.run(move || password::hash_password(&params, password.expose_secret(), rng.as_ref()))
            .await?
            .map_err(|e| ApiError::Internal(e.to_string()))
    }
}
