//! Brute-force protection of every password check (form login, Basic, the password grant)
//! and of client authentication at `/api/o/`: docs/security.md "Brute-force limits", with
//! counters in the store so every node sees the same state.
//!
//! Order of a password attempt: the source (client network) is checked first and answers 429
//! while it has `source_failures` failures across all accounts in the sliding window; then
//! the account's hourly hard cap is reserved, then the account counter, both *before* the
//! hash is computed, so parallel guesses cannot exceed either. A source that logged in to
//! the account recently gets its own account counter, so an attacker elsewhere can never
//! keep the owner out, and no lock lasts longer than `throttle.account_max_lock_seconds`.
//! The hard cap counts evaluated failures of every counter of the account together (at
//! most 100 an hour); a success uncounts its reservation.
//!
//! Keys are SHA-256 hex of the normalised username, of the client network and of the client
//! id, never the raw values.

use crate::service::audit::{self, Outcome};
use crate::service::error::{ServiceError, ServiceResult};
use crate::state::AppState;
use portcullis_store::{ThrottleDecision, ThrottleRule, WindowDecision};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

/// A granted attempt: what to clear or remember when it succeeds.
#[derive(Debug, Clone)]
pub struct Attempt {
    account_key: String,
    known_key: String,
    source_key: String,
    /// The hard-cap event reserved for this attempt.
    cap_hit: i64,
}

/// The hard cap's window.
const CAP_WINDOW: Duration = Duration::HOUR;

/// The longest sliding window any counter uses: events older than this are purged.
pub const LONGEST_WINDOW: Duration = Duration::DAY;

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

fn retry_after(until: OffsetDateTime, now: OffsetDateTime) -> u64 {
    u64::try_from((until - now).whole_seconds().max(1)).unwrap_or(1)
}

/// Reserves an attempt for `username` from `client` (the caller writes the audit event of a
/// refusal, naming the surface). `Err(Throttled)` (429) when the source
/// is limited, `Err(Locked)` (looks like bad credentials, with `Retry-After`) when the
/// account is locked for this source or its hourly cap is spent; `Err(Unavailable)` when the
/// counters cannot be written — never an unthrottled attempt.
pub async fn reserve(state: &AppState, username: &str, client: IpAddr) -> ServiceResult<Attempt> {
    let now = state.clock.now();
    let t = &state.config.throttle;
    let net = network(client);
    let source_key = format!("src:{}", hex(net.as_bytes()));
    // The source counter counts failures only (successes from a busy NAT must not add up
    // to a 429), so it is checked here and counted in `failed`.
    if let Some(until) = state
        .store
        .window_full(
            &source_key,
            t.source_failures,
            Duration::seconds(t.source_window_seconds),
            now,
        )
        .await?
    {
        return Err(ServiceError::Throttled {
            retry_after: retry_after(until, now),
        });
    }
    let account = username.trim().to_lowercase();
    let cap_key = format!("cap:{}", hex(account.as_bytes()));
    let cap_hit = match state
        .store
        .window_reserve(&cap_key, t.account_hourly_cap, CAP_WINDOW, now)
        .await?
    {
        WindowDecision::Granted { hit } => hit,
        WindowDecision::Full { until } => {
            return Err(ServiceError::Locked {
                retry_after: retry_after(until, now),
            });
        }
    };
    let known_key = format!("known:{}", hex(format!("{account}\n{net}").as_bytes()));
    let since = now - Duration::days(t.known_source_days);
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
            cap_hit,
        }),
        ThrottleDecision::Locked { until } => {
            // Not evaluated, so not counted against the hourly cap either.
            state.store.window_release(cap_hit).await?;
            Err(ServiceError::Locked {
                retry_after: retry_after(until, now),
            })
        }
    }
}

/// Records a failed check against the client's source window (the account counter and the
/// hourly cap were already counted by the reservation).
pub async fn failed(state: &AppState, attempt: &Attempt) -> ServiceResult<()> {
    state
        .store
        .window_hit(&attempt.source_key, state.clock.now())
        .await?;
    Ok(())
}

/// An attempt that could not be evaluated (the directory was unreachable): the hourly-cap
/// reservation is given back and the source window is not hit. The account counter keeps
/// its reservation, which is within the free failures of a normal user (`docs/ldap.md`).
pub async fn abandoned(state: &AppState, attempt: &Attempt) -> ServiceResult<()> {
    state.store.window_release(attempt.cap_hit).await?;
    Ok(())
}

/// Records a successful check: the account counter is cleared, the cap reservation
/// uncounted and the source remembered. The source window is left alone: one success must
/// not reset a network spraying many accounts.
pub async fn succeeded(state: &AppState, attempt: &Attempt) -> ServiceResult<()> {
    state.store.throttle_clear(&attempt.account_key).await?;
    state.store.window_release(attempt.cap_hit).await?;
    state
        .store
        .remember_source(&attempt.known_key, state.clock.now())
        .await?;
    Ok(())
}

/// The counter of failed client authentications of `client_id` from `client`'s network.
/// Keyed per network: a storm of wrong secrets from one network makes that network wait,
/// while the real client keeps working from its own (the known-source exemption of the
/// account counters, without needing to remember networks).
fn client_key(client_id: &str, client: IpAddr) -> String {
    format!(
        "client:{}",
        hex(format!("{client_id}\n{}", network(client)).as_bytes())
    )
}

/// Before a client authentication at `/api/o/`: `Err(Throttled)` while this client id has
/// `client_failures` failures from this network in the sliding window.
pub async fn client_check(state: &AppState, client_id: &str, client: IpAddr) -> ServiceResult<()> {
    let now = state.clock.now();
    let t = &state.config.throttle;
    if let Some(until) = state
        .store
        .window_full(
            &client_key(client_id, client),
            t.client_failures,
            Duration::seconds(t.client_window_seconds),
            now,
        )
        .await?
    {
        audit::Event::new("client_rate_limited", Outcome::Throttled)
            .client_id(client_id)
            .source(client)
            .emit();
        return Err(ServiceError::Throttled {
            retry_after: retry_after(until, now),
        });
    }
    Ok(())
}

/// After a failed client authentication at `/api/o/`.
pub async fn client_failed(state: &AppState, client_id: &str, client: IpAddr) -> ServiceResult<()> {
    audit::Event::new("client_auth_failure", Outcome::Failure)
        .client_id(client_id)
        .source(client)
        .emit();
    state
        .store
        .window_hit(&client_key(client_id, client), state.clock.now())
        .await?;
    Ok(())
}

/// Before `/sso/login/oidc/` stores a flow: `Err(Throttled)` once this client network began
/// `sso.begin_limit_per_minute` logins in the last minute (`docs/sso.md`): each one stores a
/// flow, so an anonymous flood must not grow the table without bound.
pub async fn sso_begin(state: &AppState, client: IpAddr) -> ServiceResult<()> {
    let limit = state.config.sso.begin_limit_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let now = state.clock.now();
    let key = format!("sso\n{}", hex(network(client).as_bytes()));
    match state
        .store
        .window_reserve(&key, limit, Duration::minutes(1), now)
        .await?
    {
        WindowDecision::Granted { .. } => Ok(()),
        WindowDecision::Full { until } => {
            audit::Event::new("source_rate_limited", Outcome::Throttled)
                .via("sso")
                .source(client)
                .emit();
            Err(ServiceError::Throttled {
                retry_after: retry_after(until, now),
            })
        }
    }
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
