//! HTTP Basic: the per-node verified-credential cache (`docs/security.md`, "Verified-credential
//! cache").
//!
//! The cache key is HMAC-SHA256(k_node, user id ‖ 0x00 ‖ password) with a key drawn at
//! process start and never stored, so the cache holds no password-equivalent. A hit counts
//! only while it is younger than the TTL and the user's `auth_generation` is unchanged —
//! a password change, disable or delete on any node kills every node's entry at its next use.

use hmac::{Hmac, KeyInit, Mac};
use lru::LruCache;
use portcullis_core::ids::UserId;
use sha2::Sha256;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy)]
struct Entry {
    user: UserId,
    generation: i64,
    expires: OffsetDateTime,
}

/// Bounded LRU of recently verified Basic credentials.
pub struct BasicCache {
    key: [u8; 32],
    ttl: Duration,
    entries: Option<Mutex<LruCache<[u8; 32], Entry>>>,
}

impl std::fmt::Debug for BasicCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl BasicCache {
    /// A cache with `size` entries and `ttl`; a zero TTL or size disables it.
    pub fn new(key: [u8; 32], size: usize, ttl: Duration) -> Self {
        let entries = NonZeroUsize::new(size)
            .filter(|_| ttl > Duration::ZERO)
            .map(|n| Mutex::new(LruCache::new(n)));
        Self { key, ttl, entries }
    }

    fn slot(&self, user: UserId, password: &str) -> Option<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).ok()?;
        mac.update(&user.0.to_be_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    fn with<T>(&self, f: impl FnOnce(&mut LruCache<[u8; 32], Entry>) -> T) -> Option<T> {
        let m = self.entries.as_ref()?;
        let mut g = match m.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        Some(f(&mut g))
    }

    /// True when `password` was verified for `user` at `generation` within the TTL.
    pub fn hit(&self, user: UserId, generation: i64, password: &str, now: OffsetDateTime) -> bool {
        let Some(slot) = self.slot(user, password) else {
            return false;
        };
        self.with(|c| match c.get(&slot) {
            Some(e) if e.user == user && e.generation == generation && now < e.expires => true,
            Some(_) => {
                c.pop(&slot);
                false
            }
            None => false,
        })
        .unwrap_or(false)
    }

    /// Remembers a successful verification.
    pub fn insert(&self, user: UserId, generation: i64, password: &str, now: OffsetDateTime) {
        let Some(slot) = self.slot(user, password) else {
            return;
        };
        let expires = now + self.ttl;
        self.with(|c| {
            c.put(
                slot,
                Entry {
                    user,
                    generation,
                    expires,
                },
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn hits_expire_and_follow_the_generation() {
        let c = BasicCache::new([1; 32], 10, Duration::seconds(60));
        let t0 = datetime!(2026-01-01 00:00 UTC);
        c.insert(UserId(1), 0, "pw", t0);
        assert!(c.hit(UserId(1), 0, "pw", t0 + Duration::seconds(59)));
        assert!(!c.hit(UserId(1), 0, "other", t0));
        assert!(!c.hit(UserId(2), 0, "pw", t0));
        assert!(!c.hit(UserId(1), 1, "pw", t0));
        c.insert(UserId(1), 0, "pw", t0);
        assert!(!c.hit(UserId(1), 0, "pw", t0 + Duration::seconds(60)));
    }

    #[test]
    fn zero_ttl_disables() {
        let c = BasicCache::new([1; 32], 10, Duration::ZERO);
        let t0 = datetime!(2026-01-01 00:00 UTC);
        c.insert(UserId(1), 0, "pw", t0);
        assert!(!c.hit(UserId(1), 0, "pw", t0));
    }
}
