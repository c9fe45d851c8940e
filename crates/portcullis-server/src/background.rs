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
    let s = state.clone();
    handles.push(tokio::spawn(async move {
        // MDR exchange audit records and connection `last_used_at` stamps, in batches.
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            if let Err(e) = s.mdr.flush_audit(&s).await {
                tracing::warn!(error = %e, "MDR audit flush failed; will retry");
            }
            if let Err(e) = s.mdr.flush_last_used(&s).await {
                tracing::warn!(error = %e, "MDR last_used flush failed; will retry");
            }
        }
    }));
    let s = state.clone();
    handles.push(tokio::spawn(async move {
        // Signing keys: scheduled rotation (claimed by conditional updates, so several nodes
        // may run it) and the periodic reload of the key set.
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            match crate::service::mdr_keys::maintain(
                s.store.as_ref(),
                s.mdr.keys.kek(),
                &s.config.mdr,
                s.clock.now(),
            )
            .await
            {
                Ok(m) => {
                    if let Some(kid) = &m.created {
                        tracing::info!(%kid, "created a pending MDR signing key");
                    }
                    if let Some(kid) = &m.promoted {
                        tracing::info!(%kid, "promoted the pending MDR signing key");
                    }
                    if m.created.is_some() || m.promoted.is_some() || m.retired > 0 {
                        if let Err(e) = s.mdr.keys.reload(s.store.as_ref()).await {
                            tracing::warn!(error = %e, "MDR key reload failed; will retry");
                        }
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "MDR key maintenance failed; will retry"),
            }
            if s.mdr.keys.stale()
                && let Err(e) = s.mdr.keys.reload(s.store.as_ref()).await
            {
                tracing::warn!(error = %e, "MDR key reload failed; will retry");
            }
        }
    }));
    let s = state.clone();
    handles.push(tokio::spawn(async move {
        // Key state: a retired key must stop verifying within the revocation bound on every
        // node, whoever retired it. Polling at half the bound keeps the worst case (one
        // period plus one read) inside it; an unchanged set costs one small read.
        let bound = u64::try_from(s.config.mdr.revocation_check_interval_ms).unwrap_or(1000);
        let mut tick = tokio::time::interval(Duration::from_millis((bound / 2).clamp(50, 30_000)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match s.mdr.keys.refresh(s.store.as_ref()).await {
                Ok(true) => tracing::info!("MDR signing keys changed; key set reloaded"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "MDR key state check failed; will retry"),
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
            let before = s.clock.now() - crate::service::throttle::LONGEST_WINDOW;
            match s.store.purge_window_events(before).await {
                Ok(n) if n > 0 => tracing::info!(count = n, "purged old throttle events"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "throttle event purge failed; will retry"),
            }
            match s.store.purge_expired_tokens(s.clock.now()).await {
                Ok(n) if n > 0 => tracing::info!(count = n, "purged expired or revoked tokens"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "token purge failed; will retry"),
            }
            let keep = time::Duration::seconds(s.config.mdr.clock_leeway);
            match s.store.purge_refresh_records(s.clock.now(), keep).await {
                Ok(n) if n > 0 => tracing::info!(count = n, "purged expired MDR refresh records"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "MDR refresh record purge failed; will retry"),
            }
        }
    }));
    handles
}

/// Writes every pending renewal and `last_used` stamp (at shutdown).
pub async fn flush_all(state: &AppState) {
    if let Err(e) = state.mdr.flush_audit(state).await {
        tracing::warn!(error = %e, "final MDR audit flush failed");
    }
    if let Err(e) = state.mdr.flush_last_used(state).await {
        tracing::warn!(error = %e, "final MDR last_used flush failed");
    }
    if let Err(e) = state.last_used.flush(state).await {
        tracing::warn!(error = %e, "final last_used flush failed");
    }
    let idle = time::Duration::seconds(state.settings.get().auth.session_cookie_age);
    if let Err(e) = state.renewals.flush(state.store.as_ref(), idle, true).await {
        tracing::warn!(error = %e, "final session renewal flush failed");
    }
}
