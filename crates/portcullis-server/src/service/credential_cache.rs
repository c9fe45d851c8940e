//! Per-node caches of verified opaque credentials (`docs/cluster.md`, "Caches").
//!
//! A personal or application token, or a session, that was found live in the database is
//! kept here with its owner, keyed by the credential's SHA-256 (never by the credential), so
//! the next request with it needs no database round trip. An entry is used only while the
//! node's change log reader is fresh ([`ChangeSync::fresh`]): every change that could end or
//! alter the credential is dropped from here either at once (pushed, or made on this node)
//! or by the next poll, so a revoked credential is never accepted after the revocation
//! bound. Only acceptances are cached; a refusal always asks the database.
//!
//! [`ChangeSync::fresh`]: crate::service::changes::ChangeSync::fresh

use lru::LruCache;
use portcullis_core::ids::{TokenId, UserId};
use portcullis_core::scope::Scope;
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use portcullis_store::{AccessTokenRecord, SessionRecord};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// What a request needs of a live personal or application token: the token record's display
/// fields (description, application name, the owner's names) stay in the database, so an entry
/// is small and a hit copies no string.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// Token id (the `last_used` stamp).
    pub id: TokenId,
    /// The granted scope; `None` when the stored scope no longer parses (refused, not guessed).
    pub scope: Option<Scope>,
    /// Deadline.
    pub expires_at: OffsetDateTime,
    /// Last recorded use, as read (the stamping coalesces from there).
    pub last_used: Option<OffsetDateTime>,
    /// The owner, shared with every other cached credential of the same user.
    pub user: Arc<User>,
}

impl TokenGrant {
    /// The grant of a token record read with its owner.
    pub fn new(record: &AccessTokenRecord, user: Arc<User>) -> Self {
        Self {
            id: record.id,
            scope: Scope::parse(&record.scope),
            expires_at: record.expires_at,
            last_used: record.last_used,
            user,
        }
    }
}

/// The node's credential caches.
#[derive(Debug)]
pub struct Caches {
    /// Personal and application access tokens.
    pub tokens: CredentialCache<TokenGrant>,
    /// Sessions, with their owner.
    pub sessions: CredentialCache<(SessionRecord, Arc<User>)>,
    users: Users,
}

impl Caches {
    /// Caches of `size` entries each, kept at most `ttl`.
    pub fn new(size: usize, ttl: Duration) -> Self {
        Self {
            tokens: CredentialCache::new("token", size, ttl),
            sessions: CredentialCache::new("session", size, ttl),
            users: Users::new(size.saturating_mul(4)),
        }
    }

    /// `user` as one shared value: the one already held for an identical read of the same
    /// account, else a new one. Many tokens and sessions of one account then hold one copy
    /// of it (`docs/gateway.md`, "Speed and memory"). Only an equal value is shared, so a
    /// changed account is never answered from an older read.
    pub fn share(&self, user: User) -> Arc<User> {
        self.users.share(user)
    }
}

/// Weak handles to the accounts the caches hold, by id. The caches own the accounts; this map
/// only finds them, and forgets the dead handles when it has grown past `bound`.
#[derive(Debug)]
struct Users {
    map: Mutex<HashMap<UserId, Weak<User>>>,
    bound: usize,
}

impl Users {
    fn new(bound: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            bound: bound.max(64),
        }
    }

    fn share(&self, user: User) -> Arc<User> {
        let mut m = match self.map.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(held) = m.get(&user.id).and_then(Weak::upgrade)
            && *held == user
        {
            return held;
        }
        if m.len() >= self.bound {
            // Amortised: at most the caches' entries (and requests under way) are alive.
            m.retain(|_, w| w.strong_count() > 0);
        }
        let shared = Arc::new(user);
        m.insert(shared.id, Arc::downgrade(&shared));
        shared
    }
}

struct Entry<V> {
    value: V,
    user: UserId,
    at: Instant,
}

struct Slots<V> {
    map: LruCache<TokenHash, Entry<V>>,
    /// Bumped by every invalidation, under the same lock as the map: a read that began
    /// before an invalidation must not put what it read into the cache after it.
    epoch: u64,
}

/// A bounded LRU of verified credentials of one kind.
pub struct CredentialCache<V> {
    slots: Option<Mutex<Slots<V>>>,
    ttl: Duration,
    kind: &'static str,
    /// Reads of one credential under way: concurrent misses for the same hash wait for the
    /// first reader instead of all asking the database (a cold cache under load).
    flights: Mutex<std::collections::HashMap<TokenHash, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while this task reads one credential from the database; see [`CredentialCache::flight`].
pub struct Flight<'a, V> {
    cache: &'a CredentialCache<V>,
    hash: TokenHash,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<V> Drop for Flight<'_, V> {
    fn drop(&mut self) {
        self.guard.take();
        let mut m = match self.cache.flights.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // The map's handle and ours: nobody else waits, so the entry can go.
        if Arc::strong_count(&self.lock) <= 2 {
            m.remove(&self.hash);
        }
    }
}

impl<V> std::fmt::Debug for CredentialCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("kind", &self.kind)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Where a read began, for [`CredentialCache::insert`].
#[derive(Debug, Clone, Copy)]
pub struct ReadTicket(u64);

impl<V: Clone> CredentialCache<V> {
    /// A cache of at most `size` entries, each kept at most `ttl` (which bounds how stale
    /// display-only fields such as names may be); a zero size disables it. `kind` labels
    /// the metrics.
    pub fn new(kind: &'static str, size: usize, ttl: Duration) -> Self {
        let slots = NonZeroUsize::new(size).filter(|_| !ttl.is_zero()).map(|n| {
            Mutex::new(Slots {
                map: LruCache::new(n),
                epoch: 0,
            })
        });
        Self {
            slots,
            ttl,
            kind,
            flights: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// True unless the cache was configured away (size or TTL zero).
    pub fn enabled(&self) -> bool {
        self.slots.is_some()
    }

    /// Waits until no other task of this node is reading `hash` from the database, and holds
    /// that place until dropped. Look in the cache again once it is held: the reader before
    /// may have filled it.
    pub async fn flight(&self, hash: &TokenHash) -> Flight<'_, V> {
        let lock = {
            let mut m = match self.flights.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            m.entry(*hash).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        Flight {
            cache: self,
            hash: *hash,
            lock,
            guard: Some(guard),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Slots<V>) -> T) -> Option<T> {
        let m = self.slots.as_ref()?;
        let mut g = match m.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        Some(f(&mut g))
    }

    /// The cached value for `hash`, if any and younger than the TTL. The caller has checked
    /// that the node is fresh.
    pub fn get(&self, hash: &TokenHash) -> Option<V> {
        self.get_at(hash, Instant::now())
    }

    fn get_at(&self, hash: &TokenHash, now: Instant) -> Option<V> {
        let ttl = self.ttl;
        let hit = self
            .with(|s| match s.map.get(hash) {
                Some(e) if now.saturating_duration_since(e.at) < ttl => Some(e.value.clone()),
                Some(_) => {
                    s.map.pop(hash);
                    None
                }
                None => None,
            })
            .flatten();
        let outcome = if hit.is_some() { "hit" } else { "miss" };
        let _outside_observe = OBSERVED.try_with(|c| c.set(Some(hit.is_some())));
        metrics::counter!("portcullis_cache_lookups_total", "cache" => self.kind, "outcome" => outcome)
            .increment(1);
        hit
    }

    /// Call before reading from the database what [`Self::insert`] will keep.
    pub fn ticket(&self) -> ReadTicket {
        ReadTicket(self.with(|s| s.epoch).unwrap_or(0))
    }

    /// Keeps `value` (owned by `user`) unless an invalidation happened since `ticket`.
    pub fn insert(&self, ticket: ReadTicket, hash: TokenHash, user: UserId, value: V) {
        self.with(|s| {
            if s.epoch == ticket.0 {
                s.map.put(
                    hash,
                    Entry {
                        value,
                        user,
                        at: Instant::now(),
                    },
                );
            }
        });
    }

    /// Drops one credential.
    pub fn forget(&self, hash: &TokenHash) {
        self.with(|s| {
            s.epoch += 1;
            s.map.pop(hash);
        });
    }

    /// Drops every credential of `user`.
    pub fn forget_user(&self, user: UserId) {
        self.with(|s| {
            s.epoch += 1;
            let doomed: Vec<TokenHash> = s
                .map
                .iter()
                .filter(|(_, e)| e.user == user)
                .map(|(h, _)| *h)
                .collect();
            for h in doomed {
                s.map.pop(&h);
            }
        });
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.with(|s| {
            s.epoch += 1;
            s.map.clear();
        });
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.with(|s| s.map.len()).unwrap_or(0)
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

tokio::task_local! {
    /// The last cache lookup's outcome inside [`observe`].
    static OBSERVED: std::cell::Cell<Option<bool>>;
}

/// Runs `f` and says whether a credential cache lookup inside it hit (`Some(true)`), missed
/// (`Some(false)`) or did not happen: the gateway's per-route cache metric
/// (`docs/gateway.md`, "Operations").
pub async fn observe<F: std::future::Future>(f: F) -> (F::Output, Option<bool>) {
    OBSERVED
        .scope(std::cell::Cell::new(None), async {
            let out = f.await;
            (out, OBSERVED.with(std::cell::Cell::get))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> TokenHash {
        TokenHash::from_bytes([n; 32])
    }

    fn cache() -> CredentialCache<&'static str> {
        CredentialCache::new("test", 3, Duration::from_secs(60))
    }

    fn account(id: i64, email: &str) -> User {
        User {
            id: UserId(id),
            username: format!("user{id}"),
            email: email.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
            is_superuser: false,
            is_system_auditor: false,
            is_active: true,
            external_account: None,
            ldap_dn: String::new(),
            auth_generation: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            last_login: None,
        }
    }

    #[test]
    fn equal_reads_of_an_account_share_one_copy_and_a_changed_one_does_not() {
        let caches = Caches::new(8, Duration::from_secs(60));
        let first = caches.share(account(1, "a@example.test"));
        let again = caches.share(account(1, "a@example.test"));
        assert!(Arc::ptr_eq(&first, &again));
        // Another account, and the same account changed, are never answered from `first`.
        let other = caches.share(account(2, "a@example.test"));
        assert_eq!(other.id, UserId(2));
        let changed = caches.share(account(1, "b@example.test"));
        assert!(!Arc::ptr_eq(&first, &changed));
        assert_eq!(changed.email, "b@example.test");
        // Once nothing holds a copy, the next read makes a new one.
        drop((first, again, changed));
        let fresh = caches.share(account(1, "b@example.test"));
        assert_eq!(Arc::strong_count(&fresh), 1);
    }

    #[test]
    fn dead_handles_are_forgotten_past_the_bound() {
        let users = Users::new(0);
        for id in 0..1_000 {
            drop(users.share(account(id, "")));
        }
        let held = match users.map.lock() {
            Ok(g) => g.len(),
            Err(p) => p.into_inner().len(),
        };
        assert!(held <= 64, "{held} handles kept");
    }

    #[test]
    fn keeps_and_returns_what_was_read() {
        let c = cache();
        let t = c.ticket();
        c.insert(t, h(1), UserId(1), "a");
        assert_eq!(c.get(&h(1)), Some("a"));
        assert_eq!(c.get(&h(2)), None);
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_kept() {
        let c = cache();
        let t = c.ticket();
        c.forget(&h(1));
        c.insert(t, h(1), UserId(1), "stale");
        assert_eq!(c.get(&h(1)), None);
        let t = c.ticket();
        c.insert(t, h(1), UserId(1), "fresh");
        assert_eq!(c.get(&h(1)), Some("fresh"));
    }

    #[test]
    fn forgets_by_credential_by_user_and_all() {
        let c = cache();
        c.insert(c.ticket(), h(1), UserId(1), "a");
        c.insert(c.ticket(), h(2), UserId(1), "b");
        c.insert(c.ticket(), h(3), UserId(2), "c");
        c.forget_user(UserId(1));
        assert_eq!((c.get(&h(1)), c.get(&h(2))), (None, None));
        assert_eq!(c.get(&h(3)), Some("c"));
        c.forget(&h(3));
        assert!(c.is_empty());
        c.insert(c.ticket(), h(3), UserId(2), "c");
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn is_bounded_and_expires() {
        let c = cache();
        for n in 0..10 {
            c.insert(c.ticket(), h(n), UserId(1), "x");
        }
        assert_eq!(c.len(), 3);
        c.insert(c.ticket(), h(1), UserId(1), "x");
        let later = Instant::now() + Duration::from_secs(61);
        assert_eq!(c.get_at(&h(1), later), None, "older than the TTL");
        let off = CredentialCache::<&str>::new("test", 0, Duration::from_secs(1));
        off.insert(off.ticket(), h(1), UserId(1), "x");
        assert_eq!(off.get(&h(1)), None);
    }
}
