//! Brute-force protection of every password check (form login, Basic, the password grant):
//! security.md §6 and D11, with counters in the store so every node sees the same state.
//!
//! Order: the source (client network) is checked first and answers 429 when it has failed
//! too often across all accounts; then the account counter is reserved *before* the hash is
//! computed, so parallel guesses cannot exceed the threshold. A source that logged in to the
//! account recently gets its own account counter, so an attacker elsewhere can never keep the
//! owner out, and no lock lasts longer than `throttle.account_max_lock_seconds`.
//!
//! Keys are SHA-256 hex of the normalised username and of the client network, never the
//! raw values.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use portcullis_store::{ThrottleDecision, ThrottleRule};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

/// A granted attempt: what to clear or remember when it succeeds.
#[derive(Debug, Clone)]
pub struct Attempt {
    account_key: String,
    known_key: String,
    source_key: String,
}

fn hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The client network a source counter covers: /32 for IPv4, /64 for IPv6.
pub fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let [a, b, c, d, ..] = s;
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

fn account_rule(state: &AppState) -> ThrottleRule {
    let t = &state.config.throttle;
    ThrottleRule {
        free: t.account_free_failures,
        base_lock: Duration::seconds(t.account_lock_seconds),
        max_lock: Duration::seconds(t.account_max_lock_seconds),
        reset_after: Duration::seconds(t.account_reset_seconds),
    }
}

/// `source_failures` free failures, then one fixed wait of the window; a quiet window resets.
fn source_rule(state: &AppState) -> ThrottleRule {
    let t = &state.config.throttle;
    let window = Duration::seconds(t.source_window_seconds);
    ThrottleRule {
        // The `source_failures`-th failure starts the wait.
        free: t.source_failures.saturating_sub(1),
        base_lock: window,
        max_lock: window,
        reset_after: window,
    }
}

/// The counter of failed client authentications of one `client_id` at `/api/o/`.
pub fn client_key(client_id: &str) -> String {
    format!("client:{}", hex(client_id.as_bytes()))
}

/// 20 failed client authentications, then the client id waits 10 minutes (security.md §6).
pub fn client_rule() -> ThrottleRule {
    let window = Duration::minutes(10);
    ThrottleRule {
        free: 19,
        base_lock: window,
        max_lock: window,
        reset_after: window,
    }
}

fn retry_after(until: OffsetDateTime, now: OffsetDateTime) -> u64 {
    u64::try_from((until - now).whole_seconds().max(1)).unwrap_or(1)
}

/// Reserves an attempt for `username` from `client`. `Err(Throttled)` (429) when the source
/// is limited, `Err(Locked)` (looks like bad credentials, with `Retry-After`) when the
/// account is locked for this source; `Err(Unavailable)` when the counters cannot be
/// written — never an unthrottled attempt.
pub async fn reserve(state: &AppState, username: &str, client: IpAddr) -> ApiResult<Attempt> {
    let now = state.clock.now();
    let net = network(client);
    let source_key = format!("src:{}", hex(net.as_bytes()));
    // The source counter counts failures only (successes from a busy NAT must not add up
    // to a 429), so it is checked here and counted in `failed`.
    if let Some(until) = state
        .store
        .throttle_locked(&source_key, &source_rule(state), now)
        .await?
    {
        tracing::warn!(event = "source_rate_limited", client = %net);
        return Err(ApiError::Throttled(retry_after(until, now)));
    }
    let account = username.trim().to_lowercase();
    let known_key = format!("known:{}", hex(format!("{account}\n{net}").as_bytes()));
    let since = now - Duration::days(state.config.throttle.known_source_days);
    let account_key = if state.store.source_known(&known_key, since).await? {
        format!("acct-src:{}", hex(format!("{account}\n{net}").as_bytes()))
    } else {
        format!("acct:{}", hex(account.as_bytes()))
    };
    match state
        .store
        .throttle_reserve(&account_key, &account_rule(state), now)
        .await?
    {
        ThrottleDecision::Granted => Ok(Attempt {
            account_key,
            known_key,
            source_key,
        }),
        ThrottleDecision::Locked { until } => {
            tracing::warn!(event = "account_locked", client = %net, "attempt refused while locked");
            Err(ApiError::Locked(retry_after(until, now)))
        }
    }
}

/// Records a failed check against the client's source counter (the account counter was
/// already counted by the reservation).
pub async fn failed(state: &AppState, attempt: &Attempt) -> ApiResult<()> {
    state
        .store
        .throttle_reserve(&attempt.source_key, &source_rule(state), state.clock.now())
        .await?;
    Ok(())
}

/// Records a successful check: the account counter is cleared and the source remembered.
/// The source counter is left alone: one success must not reset a network spraying many
/// accounts.
pub async fn succeeded(state: &AppState, attempt: &Attempt) -> ApiResult<()> {
    state.store.throttle_clear(&attempt.account_key).await?;
    state
        .store
        .remember_source(&attempt.known_key, state.clock.now())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_per_host_for_v4_and_per_64_for_v6() {
        assert_eq!(
            network("192.0.2.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
            "192.0.2.7"
        );
        let v6: IpAddr = "2001:db8:1:2:3:4:5:6"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(network(v6), "2001:db8:1:2::/64");
    }
}
