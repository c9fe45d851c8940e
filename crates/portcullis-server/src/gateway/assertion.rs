//! The signed assertion (`docs/gateway.md`, "Signed assertion"): `X-Portcullis-Assertion`, a
//! JWT signed with the active key of the JWKS Portcullis already publishes, so an upstream can
//! check what the gateway decided instead of trusting a header any hop could have set.
//!
//! Claims: `iss` (the MDR issuer), `aud` = the route id, `sub`, `scope`, `roles`, `amr` (the
//! credential kind), `htm` and `htu` (method and canonical path: an assertion minted for one
//! request does not describe another), `jti`, `iat` and `exp` (at most 60 s). One assertion is
//! reused for the same credential, route, method and path until half its lifetime has passed.

use crate::service::error::ServiceResult;
use crate::state::AppState;
use lru::LruCache;
use portcullis_core::gateway::policy;
use portcullis_core::gateway::route::Route;
use portcullis_core::principal::Principal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// JOSE `typ` of an assertion.
pub const TYP: &str = "portcullis-assertion+jwt";

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    scope: &'a str,
    roles: Vec<String>,
    amr: &'a str,
    htm: &'a str,
    htu: &'a str,
    jti: String,
    iat: i64,
    exp: i64,
}

/// Recently signed assertions, keyed by a hash of (credential, route, method, path).
pub struct Assertions {
    cache: Mutex<LruCache<[u8; 32], (String, Instant)>>,
}

impl Assertions {
    /// A cache of at most `capacity` assertions.
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// Forgets every assertion (the route table changed).
    pub fn clear(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// The assertion for this caller and request, signed now or reused.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the parts are unrelated"
    )]
    pub fn get(
        &self,
        state: &AppState,
        credential: &[u8; 32],
        route: &Route,
        p: &Principal,
        method: &str,
        path: &str,
        ttl: Duration,
    ) -> ServiceResult<String> {
        let mut h = Sha256::new();
        for part in [
            &credential[..],
            route.id.as_bytes(),
            method.as_bytes(),
            path.as_bytes(),
        ] {
            h.update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            h.update(part);
        }
        let key: [u8; 32] = h.finalize().into();
        let now = Instant::now();
        if let Ok(mut c) = self.cache.lock()
            && let Some((jwt, fresh_until)) = c.get(&key)
            && *fresh_until > now
        {
            crate::metrics::gateway_assertion(&route.id, true);
            return Ok(jwt.clone());
        }
        let issued = state.clock.now().unix_timestamp();
        let secs = i64::try_from(ttl.as_secs()).unwrap_or(60);
        let claims = Claims {
            iss: &state.config.mdr.issuer,
            aud: &route.id,
            sub: &p.user.username,
            scope: policy::scopes_of(p),
            roles: policy::roles_of(p),
            amr: policy::kind_of(p).as_str(),
            htm: method,
            htu: path,
            jti: portcullis_core::mdr::new_jti(state.rng.as_ref()),
            iat: issued,
            exp: issued + secs,
        };
        let jwt = state.mdr.keys.sign_json(TYP, &claims)?;
        crate::metrics::gateway_assertion(&route.id, false);
        if let Ok(mut c) = self.cache.lock() {
            c.put(key, (jwt.clone(), now + ttl / 2));
        }
        Ok(jwt)
    }
}
