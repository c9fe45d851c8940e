//! AWX-compatible CSRF tokens: 64 characters `[A-Za-z0-9]` = 32 characters of nonce + 32
//! characters of HMAC-SHA256 over the nonce (and, after login, the session id hash), keyed
//! with the install's MAC key. Nothing is stored server-side; a token minted for another
//! session, or planted from a sibling host, fails the MAC.

use crate::base62;
use crate::rng::{Rng, bytes};
use crate::token::TokenHash;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Length of a CSRF token (AWX 21.x–22.2).
pub const TOKEN_LEN: usize = 64;
const HALF: usize = 32;

/// The install-wide key that signs CSRF tokens.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(..)")
    }
}

impl CsrfKey {
    /// Wraps 32 bytes of key material.
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn mac(&self, nonce: &str, binding: Option<&TokenHash>) -> String {
        // HMAC accepts keys of any length, so this cannot fail; fall back to an empty MAC
        // (which then never verifies) rather than panic.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(b"portcullis-csrf-v1\0");
        mac.update(nonce.as_bytes());
        mac.update(b"\0");
        if let Some(b) = binding {
            mac.update(b.as_bytes());
        }
        let out = mac.finalize().into_bytes();
        // The first 23 bytes (184 bits) of the MAC fit in 32 base62 digits.
        let mut head = [0u8; 23];
        for (d, s) in head.iter_mut().zip(out.iter()) {
            *d = *s;
        }
        base62::encode::<23, HALF>(&head)
    }

    /// Mints a token, bound to `binding` (the session id hash) when given.
    pub fn mint(&self, rng: &dyn Rng, binding: Option<&TokenHash>) -> String {
        let raw: [u8; 23] = bytes(rng);
        let nonce = base62::encode::<23, HALF>(&raw);
        let mac = self.mac(&nonce, binding);
        format!("{nonce}{mac}")
    }

    /// True when `token` is a well-formed token carrying a valid MAC for `binding`.
    pub fn is_valid(&self, token: &str, binding: Option<&TokenHash>) -> bool {
        if token.len() != TOKEN_LEN || !base62::is_base62(token) {
            return false;
        }
        let Some((nonce, mac)) = token.split_at_checked(HALF) else {
            return false;
        };
        let expected = self.mac(nonce, binding);
        expected.as_bytes().ct_eq(mac.as_bytes()).into()
    }
}

/// Constant-time equality of the cookie value and the presented header or form value.
pub fn tokens_equal(cookie: &str, presented: &str) -> bool {
    cookie.len() == presented.len() && bool::from(cookie.as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use proptest::prelude::*;

    #[test]
    fn minted_tokens_verify_only_for_their_binding() {
        let key = CsrfKey::new([7; 32]);
        let rng = SeededRng::new(1);
        let s1 = TokenHash::of("pcl_ses_a");
        let s2 = TokenHash::of("pcl_ses_b");
        let anon = key.mint(&rng, None);
        assert_eq!(anon.len(), 64);
        assert!(anon.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(key.is_valid(&anon, None));
        assert!(!key.is_valid(&anon, Some(&s1)));
        let bound = key.mint(&rng, Some(&s1));
        assert!(key.is_valid(&bound, Some(&s1)));
        assert!(!key.is_valid(&bound, Some(&s2)));
        assert!(!CsrfKey::new([8; 32]).is_valid(&bound, Some(&s1)));
    }

    proptest! {
        #[test]
        fn any_change_breaks_the_mac(pos in 0usize..64, c in "[0-9A-Za-z]", seed in any::<u64>()) {
            let key = CsrfKey::new([3; 32]);
            let t = key.mint(&SeededRng::new(seed), None);
            let mut chars: Vec<char> = t.chars().collect();
            let n = c.chars().next().unwrap();
            prop_assume!(chars[pos] != n);
            chars[pos] = n;
            let s: String = chars.into_iter().collect();
            prop_assert!(!key.is_valid(&s, None));
        }
        #[test]
        fn junk_never_panics(s in ".{0,100}") {
            let _ = CsrfKey::new([0; 32]).is_valid(&s, None);
        }
    }
}
