//! Session cookies: loading a live session, and coalescing idle-expiry renewals so the
//! request path never writes. The node keeps the exact renewed expiry in memory and a
//! background task persists it at most every `min(60 s, idle / 10)` per session; across a
//! restart or a node change a session can therefore end that much early, never late.

use crate::error::ApiResult;
use crate::service::credential_cache::CredentialCache;
use crate::state::AppState;
use axum::http::HeaderMap;
use portcullis_core::session::renewal_due;
use portcullis_core::token::{self, TokenHash, TokenKind};
use portcullis_core::user::User;
use portcullis_store::{SessionRecord, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// A session cookie that names a live session.
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// Hash of the session id.
    pub hash: TokenHash,
    /// The owner, as read in the same query (shared with the node's cache).
    pub user: Arc<User>,
    /// Idle expiry in force (stored or renewed in memory).
    pub idle_expires_at: OffsetDateTime,
    /// Idle expiry as persisted. Renewals are measured against this, not against the
    /// in-memory one: otherwise every request of a busy session would count as "written"
    /// and its renewal would never become due.
    pub stored_idle_expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy)]
struct Renewal {
    stored: OffsetDateTime,
    wanted: OffsetDateTime,
}

/// Pending idle-expiry renewals of this node.
#[derive(Debug, Default)]
pub struct SessionRenewals {
    pending: Mutex<HashMap<TokenHash, Renewal>>,
}

impl SessionRenewals {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, Renewal>> {
        match self.pending.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The idle expiry in force for a session whose stored expiry is `stored`. This node's
    /// pending renewal is the latest knowledge (it may also be a *shorter* expiry, after
    /// `SESSION_COOKIE_AGE` was lowered), unless the stored value changed since it was
    /// recorded: then another node renewed the session too, and the later of both holds.
    pub fn effective(&self, hash: &TokenHash, stored: OffsetDateTime) -> OffsetDateTime {
        match self.lock().get(hash) {
            Some(r) if r.stored == stored => r.wanted,
            Some(r) => r.wanted.max(stored),
            None => stored,
        }
    }

    /// Records that the session should now expire at `wanted` (set, not max: a lowered
    /// idle timeout shortens the session at its next request).
    pub fn renew(&self, hash: TokenHash, stored: OffsetDateTime, wanted: OffsetDateTime) {
        self.lock().insert(hash, Renewal { stored, wanted });
    }

    /// Drops a pending renewal (logout, re-key).
    pub fn forget(&self, hash: &TokenHash) {
        self.lock().remove(hash);
    }

    /// Number of renewals waiting to be written.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// Writes the renewals that are due (all of them when `force`), in one batch. The written
    /// sessions leave the credential cache, whose copy holds the expiry before the write.
    pub async fn flush(
        &self,
        store: &dyn Store,
        cache: &CredentialCache<(SessionRecord, Arc<User>)>,
        idle: Duration,
        force: bool,
    ) -> ApiResult<usize> {
        let due: Vec<(TokenHash, OffsetDateTime)> = {
            let map = self.lock();
            map.iter()
                .filter(|(_, r)| force || renewal_due(r.stored, r.wanted, idle))
                .map(|(h, r)| (*h, r.wanted))
                .collect()
        };
        if due.is_empty() {
            return Ok(0);
        }
        store.extend_sessions(&due).await?;
        for (h, _) in &due {
            cache.forget(h);
        }
        let mut map = self.lock();
        for (h, written) in &due {
            // Remove only if no newer renewal arrived while we were writing.
            if map.get(h).is_some_and(|r| r.wanted == *written) {
                map.remove(h);
            } else if let Some(r) = map.get_mut(h) {
                r.stored = *written;
            }
        }
        Ok(due.len())
    }
}

/// The hash of the request's session cookie, when exactly one well-formed one is present
/// (two cookies of the session name make the request anonymous).
pub fn cookie_hash(state: &AppState, headers: &HeaderMap) -> Option<TokenHash> {
    let value = crate::auth::cookies::single(headers, &state.config.session.cookie_name)?;
    token::parse(TokenKind::Session, value).ok()
}

/// Loads the live session named by the request's cookie. Dead, unknown or malformed
/// sessions are `Ok(None)`; storage failures are `Err` (503).
pub async fn load(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<LiveSession>> {
    let Some(hash) = cookie_hash(state, headers) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let Some((record, user)) = live_session(state, &hash, now).await? else {
        return Ok(None);
    };
    let idle = state
        .renewals
        .effective(&hash, record.times.idle_expires_at);
    let times = portcullis_core::session::SessionTimes {
        idle_expires_at: idle,
        ..record.times
    };
    let settings = state.settings.get();
    let alive =
        times.is_live(now) && user.is_active && record.auth_generation == user.auth_generation;
    if !alive {
        return Ok(None);
    }
    if settings.auth.disable_local_auth && !user.is_external() {
        // DISABLE_LOCAL_AUTH ends local users' sessions at their next request.
        state.store.delete_session(&hash).await?;
        state.caches.sessions.forget(&hash);
        state.renewals.forget(&hash);
        return Ok(None);
    }
    Ok(Some(LiveSession {
        hash,
        user,
        idle_expires_at: idle,
        stored_idle_expires_at: record.times.idle_expires_at,
    }))
}

/// The session with `hash` and its owner: from this node's cache while the change log reader
/// is fresh (`docs/cluster.md`), else one read whose result is cached when the session is
/// live. A cached session that looks dead is read again (another node may have renewed it),
/// so the cache only ever shortens the way to a "yes".
async fn live_session(
    state: &AppState,
    hash: &TokenHash,
    now: OffsetDateTime,
) -> ApiResult<Option<(SessionRecord, Arc<User>)>> {
    let cache = &state.caches.sessions;
    if state.changes.fresh()
        && let Some((record, user)) = cache.get(hash)
    {
        let idle = state.renewals.effective(hash, record.times.idle_expires_at);
        let times = portcullis_core::session::SessionTimes {
            idle_expires_at: idle,
            ..record.times
        };
        if times.is_live(now) && user.is_active && record.auth_generation == user.auth_generation {
            return Ok(Some((record, user)));
        }
        cache.forget(hash);
    }
    let ticket = cache.ticket();
    let started = std::time::Instant::now();
    let found = state.store.session_with_user(hash).await?;
    crate::metrics::query("session_with_user", started.elapsed());
    Ok(found.map(|(record, user)| {
        let user = state.caches.share(user);
        cache.insert(ticket, *hash, user.id, (record, user.clone()));
        (record, user)
    }))
}
