//! Periodic work of a node: persisting coalesced session renewals (every second) and token
//! `last_used` stamps, reloading runtime settings, writing the MDR exchange audit and
//! connection `last_used_at` batches (every 250 ms), signing-key maintenance (scheduled
//! rotation and the periodic reload of the key set) and the key-state poll, and every five
//! minutes purging expired sessions, old throttle events, expired or revoked tokens and expired
//! MDR refresh records. Failures are logged and retried on the next tick; nothing here ever
//! extends access.
//!
//! Policy on stopping: a task stops between two runs of its work, never inside one (a flush
//! that has taken its batch out of memory must write it or put it back), and only after the
//! listener has answered every request, so no handler finds the node half stopped.

use crate::state::AppState;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Interval;

/// How long change log entries are kept: far longer than any node may go without reading
/// the log before its caches are dropped anyway.
const CHANGE_LOG_KEEP: time::Duration = time::Duration::hours(1);

/// The periodic tasks of a node. Dropping this value leaves them running (for tests that
/// serve until the runtime ends); [`Background::stop`] ends them.
#[derive(Debug)]
pub struct Background {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Background {
    /// Asks every task to stop and waits until each has finished the run it was in.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            if let Err(e) = handle.await {
                tracing::warn!(error = %e, "a background task ended abnormally");
            }
        }
    }
}

/// Waits for the next tick; `false` once the node is stopping.
async fn next(tick: &mut Interval, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        biased;
        () = stopping(stop) => false,
        _ = tick.tick() => true,
    }
}

/// Completes when [`Background::stop`] is called; never when the handle was just dropped.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Waits `backoff` (then doubles it, up to 5 s); `false` once the node is stopping.
async fn back_off(backoff: &mut Duration, stop: &mut watch::Receiver<bool>) -> bool {
    let go_on = tokio::select! {
        biased;
        () = stopping(stop) => false,
        () = tokio::time::sleep(*backoff) => true,
    };
    *backoff = (*backoff * 2).min(Duration::from_secs(5));
    go_on
}

/// Starts the periodic tasks.
pub fn spawn(state: AppState) -> Background {
    let (stop_tx, stopped) = watch::channel(false);
    let mut handles = Vec::new();
    let s = state.clone();
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            if !next(&mut tick, &mut stop).await {
                break;
            }
            let idle = time::Duration::seconds(s.settings.get().auth.session_cookie_age);
            if let Err(e) = s
                .renewals
                .flush(s.store.as_ref(), &s.caches.sessions, idle, false)
                .await
            {
                tracing::warn!(error = %e, "session renewal flush failed; will retry");
            }
        }
    }));
    let s = state.clone();
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(s.config.auth.settings_cache_ttl));
        loop {
            if !next(&mut tick, &mut stop).await {
                break;
            }
            if let Err(e) = s.settings.reload(s.store.as_ref()).await {
                tracing::warn!(error = %e, "settings reload failed; will retry");
            }
        }
    }));
    let s = state.clone();
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        // Token uses are noted in memory on the request path and written here in batches.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            if !next(&mut tick, &mut stop).await {
                break;
            }
            if let Err(e) = s.last_used.flush(&s).await {
                tracing::warn!(error = %e, "last_used flush failed; will retry");
            }
        }
    }));
    let s = state.clone();
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        // MDR exchange audit records and connection `last_used_at` stamps, in batches.
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            if !next(&mut tick, &mut stop).await {
                break;
            }
            if let Err(e) = s.mdr.flush_audit(&s).await {
                tracing::warn!(error = %e, "MDR audit flush failed; will retry");
            }
            if let Err(e) = s.mdr.flush_last_used(&s).await {
                tracing::warn!(error = %e, "MDR last_used flush failed; will retry");
            }
        }
    }));
    let s = state.clone();
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        // Signing keys: scheduled rotation (claimed by conditional updates, so several nodes
        // may run it) and the periodic reload of the key set.
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            if !next(&mut tick, &mut stop).await {
                break;
            }
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
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        // Key state: a retired key must stop verifying within the revocation bound on every
        // node, whoever retired it. Polling at half the bound keeps the worst case (one
        // period plus one read) inside it; an unchanged set costs one small read.
        let bound = u64::try_from(s.config.mdr.revocation_check_interval_ms).unwrap_or(1000);
        let mut tick = tokio::time::interval(Duration::from_millis((bound / 2).clamp(50, 30_000)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if !next(&mut tick, &mut stop).await {
                break;
            }
            match s.mdr.keys.refresh(s.store.as_ref()).await {
                Ok(true) => tracing::info!("MDR signing keys changed; key set reloaded"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "MDR key state check failed; will retry"),
            }
        }
    }));
    let s = state.clone();
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        // The change log poll: the safety net under the push feed, and the caches' clock
        // (`docs/cluster.md`).
        let mut tick = tokio::time::interval(s.changes.poll_period());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            if !next(&mut tick, &mut stop).await {
                break;
            }
            match s.changes.poll(&s).await {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("change log readable again");
                }
                Ok(_) => {}
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "change log poll failed; caches bypassed until it succeeds");
                }
                Err(_) => {}
            }
        }
    }));
    let s = state.clone();
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        // The push feed (PostgreSQL LISTEN/NOTIFY); none on SQLite.
        let mut feed = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            if feed.is_none() {
                match s.store.change_feed().await {
                    Ok(Some(f)) => {
                        // Changes made before it listened reach the caches by the poll.
                        feed = Some(f);
                        backoff = Duration::from_millis(100);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "change feed unavailable; retrying");
                        if !back_off(&mut backoff, &mut stop).await {
                            break;
                        }
                        continue;
                    }
                }
            }
            let Some(f) = feed.as_mut() else { continue };
            let event = tokio::select! {
                biased;
                () = stopping(&mut stop) => break,
                event = f.next() => event,
            };
            match event {
                Ok(event) => {
                    backoff = Duration::from_millis(100);
                    s.changes.on_feed(&s, event).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change feed interrupted; reconnecting");
                    if !back_off(&mut backoff, &mut stop).await {
                        break;
                    }
                }
            }
        }
    }));
    let s = state;
    let mut stop = stopped.clone();
    handles.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            if !next(&mut tick, &mut stop).await {
                break;
            }
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
            match s.store.purge_sso(s.clock.now()).await {
                Ok(n) if n > 0 => tracing::debug!(count = n, "purged ended single sign-on flows"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "single sign-on purge failed; will retry"),
            }
            match s.store.purge_changes(s.clock.now() - CHANGE_LOG_KEEP).await {
                Ok(n) if n > 0 => tracing::debug!(count = n, "purged old change log entries"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "change log purge failed; will retry"),
            }
            let keep = time::Duration::seconds(s.config.mdr.clock_leeway);
            match s.store.purge_refresh_records(s.clock.now(), keep).await {
                Ok(n) if n > 0 => tracing::info!(count = n, "purged expired MDR refresh records"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "MDR refresh record purge failed; will retry"),
            }
        }
    }));
    Background {
        stop: stop_tx,
        handles,
    }
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
    if let Err(e) = state
        .renewals
        .flush(state.store.as_ref(), &state.caches.sessions, idle, true)
        .await
    {
        tracing::warn!(error = %e, "final session renewal flush failed");
    }
}
