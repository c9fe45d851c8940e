//! Periodic work of a node: persisting coalesced session renewals, reloading settings, and
//! purging expired sessions. Failures are logged and retried on the next tick; nothing here
//! ever extends access.

use crate::state::AppState;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Starts the periodic tasks.
pub fn spawn(state: AppState) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    let s = state.clone();
    handles.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let idle = time::Duration::seconds(s.settings.get().auth.session_cookie_age);
            if let Err(e) = s.renewals.flush(s.store.as_ref(), idle, false).await {
                tracing::warn!(error = %e, "session renewal flush failed; will retry");
            }
        }
    }));
    let s = state.clone();
    handles.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(s.config.auth.settings_cache_ttl));
        loop {
            tick.tick().await;
            if let Err(e) = s.settings.reload(s.store.as_ref()).await {
                tracing::warn!(error = %e, "settings reload failed; will retry");
            }
        }
    }));
    let s = state.clone();
    handles.push(tokio::spawn(async move {
        // Token uses are noted in memory on the request path and written here in batches.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = s.last_used.flush(&s).await {
                tracing::warn!(error = %e, "last_used flush failed; will retry");
            }
        }
    }));
    let s = state;
    handles.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            match s.store.purge_expired_sessions(s.clock.now()).await {
                Ok(n) if n > 0 => tracing::info!(count = n, "purged expired sessions"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session purge failed; will retry"),
            }
            match s.store.purge_expired_tokens(s.clock.now()).await {
                Ok(n) if n > 0 => tracing::info!(count = n, "purged expired or revoked tokens"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "token purge failed; will retry"),
            }
        }
    }));
    handles
}

/// Writes every pending renewal and `last_used` stamp (at shutdown).
pub async fn flush_all(state: &AppState) {
    if let Err(e) = state.last_used.flush(state).await {
        tracing::warn!(error = %e, "final last_used flush failed");
    }
    let idle = time::Duration::seconds(state.settings.get().auth.session_cookie_age);
    if let Err(e) = state.renewals.flush(state.store.as_ref(), idle, true).await {
        tracing::warn!(error = %e, "final session renewal flush failed");
    }
}
