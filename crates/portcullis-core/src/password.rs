//! Password hashing and verification.
//!
//! Policy: new hashes are Argon2id PHC strings with parameters from configuration, never
//! below the OWASP floor (m = 19 456 KiB, t = 2, p = 1). Legacy Django
//! `pbkdf2_sha256$<iterations>$<salt>$<base64>` hashes (imported AWX users) verify with a
//! constant-time compare and report that they need re-hashing. Inputs outside 1–1 024 bytes
//! are refused before any hashing. These functions are CPU-bound: callers run them off the
//! async executor (see the server's password pool).

use crate::error::CoreError;
use crate::rng::{Rng, bytes};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Longest password accepted, in bytes of UTF-8 (security.md §3.2).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password accepted for a new local password, in characters.
pub const MIN_NEW_PASSWORD_CHARS: usize = 8;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Params {
    /// The OWASP minimum; configuration may raise it, never lower it.
    pub const FLOOR: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// Refuses parameters below the floor.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.memory_kib < Self::FLOOR.memory_kib
            || self.iterations < Self::FLOOR.iterations
            || self.parallelism < Self::FLOOR.parallelism
        {
            return Err(CoreError::BadParams(format!(
                "argon2 parameters m={} t={} p={} are below the floor m={} t={} p={}",
                self.memory_kib,
                self.iterations,
                self.parallelism,
                Self::FLOOR.memory_kib,
                Self::FLOOR.iterations,
                Self::FLOOR.parallelism
            )));
        }
        Ok(())
    }

    fn argon2(&self) -> Result<Argon2<'static>, CoreError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| CoreError::BadParams(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::FLOOR
    }
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password is right. `needs_rehash` asks the caller to replace the stored hash
    /// (legacy format or weaker parameters than configured).
    Match {
        /// The stored hash should be replaced by a fresh Argon2id hash.
        needs_rehash: bool,
    },
    /// The password is wrong.
    Mismatch,
}

/// True when `password` is within the accepted byte length.
pub fn length_ok(password: &str) -> bool {
    !password.is_empty() && password.len() <= MAX_PASSWORD_BYTES
}

/// Hashes `password` with Argon2id under `params` and a 16-byte salt from `rng`.
pub fn hash_password(
    params: &Argon2Params,
    password: &str,
    rng: &dyn Rng,
) -> Result<String, CoreError> {
    if !length_ok(password) {
        return Err(CoreError::BadParams("password length".into()));
    }
    let salt: [u8; 16] = bytes(rng);
    let hash = params
        .argon2()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|_| CoreError::HashFailed)?;
    Ok(hash.to_string())
}

/// Checks `password` against `stored`, which is an Argon2id PHC string or a Django
/// `pbkdf2_sha256` hash.
pub fn verify_password(
    params: &Argon2Params,
    stored: &str,
    password: &str,
) -> Result<Verification, CoreError> {
    if !length_ok(password) {
        return Ok(Verification::Mismatch);
    }
    if let Some(django) = DjangoPbkdf2::parse(stored) {
        return Ok(if django.verify(password) {
            Verification::Match { needs_rehash: true }
        } else {
            Verification::Mismatch
        });
    }
    if !stored.starts_with("$argon2id$") {
        return Err(CoreError::UnsupportedHash);
    }
    let parsed = PasswordHash::new(stored).map_err(|_| CoreError::UnsupportedHash)?;
    let verifier = params.argon2()?;
    match verifier.verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(Verification::Match {
            needs_rehash: weaker_than(&parsed, params),
        }),
        Err(_) => Ok(Verification::Mismatch),
    }
}

/// True when the stored Argon2 hash used weaker parameters than `params`.
fn weaker_than(parsed: &PasswordHash, params: &Argon2Params) -> bool {
    match Params::try_from(parsed) {
        Ok(p) => {
            p.m_cost() < params.memory_kib
                || p.t_cost() < params.iterations
                || p.p_cost() < params.parallelism
        }
        Err(_) => true,
    }
}

/// Burns the same time as a real verification, for unknown users and oversize input, so
/// the answer's timing does not reveal which case applied.
pub fn dummy_verify(params: &Argon2Params, dummy_hash: &str) {
    let _ = verify_password(params, dummy_hash, "portcullis-dummy-password");
}

/// A parsed Django `pbkdf2_sha256` hash.
#[derive(Debug, PartialEq, Eq)]
pub struct DjangoPbkdf2 {
    iterations: u32,
    salt: String,
    digest: Vec<u8>,
}

impl DjangoPbkdf2 {
    /// Parses `pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>`; anything else (other
    /// Django hashers, unusable `!` hashes, out-of-range iteration counts) is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split('$');
        if parts.next()? != "pbkdf2_sha256" {
            return None;
        }
        let iterations: u32 = parts.next()?.parse().ok()?;
        let salt = parts.next()?;
        let digest = STANDARD.decode(parts.next()?).ok()?;
        if parts.next().is_some()
            || !(1_000..=2_000_000).contains(&iterations)
            || salt.is_empty()
            || digest.len() != 32
        {
            return None;
        }
        Some(Self {
            iterations,
            salt: salt.to_owned(),
            digest,
        })
    }

    /// Builds the Django string for `password` (used by tests and import tooling).
    pub fn encode(password: &str, salt: &str, iterations: u32) -> String {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
            password.as_bytes(),
            salt.as_bytes(),
            iterations,
            &mut out,
        );
        format!("pbkdf2_sha256${iterations}${salt}${}", STANDARD.encode(out))
    }

    /// Constant-time check of `password`.
    pub fn verify(&self, password: &str) -> bool {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
            password.as_bytes(),
            self.salt.as_bytes(),
            self.iterations,
            &mut out,
        );
        out.ct_eq(self.digest.as_slice()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use proptest::prelude::*;

    #[test]
    fn argon2id_round_trip_at_the_floor() {
        let p = Argon2Params::FLOOR;
        let h = hash_password(&p, "correct horse", &SeededRng::new(1)).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(
            verify_password(&p, &h, "correct horse"),
            Ok(Verification::Match {
                needs_rehash: false
            })
        );
        assert_eq!(
            verify_password(&p, &h, "correct hors"),
            Ok(Verification::Mismatch)
        );
    }

    #[test]
    fn weaker_argon2_asks_for_rehash() {
        let weak = Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        };
        let strong = Argon2Params {
            iterations: 3,
            ..weak
        };
        let h = hash_password(&weak, "pw-pw-pw-pw", &SeededRng::new(2)).unwrap();
        assert_eq!(
            verify_password(&strong, &h, "pw-pw-pw-pw"),
            Ok(Verification::Match { needs_rehash: true })
        );
    }

    #[test]
    fn django_hash_verifies_and_needs_rehash() {
        let h = DjangoPbkdf2::encode("s3cret!", "saltsalt", 1000);
        let p = Argon2Params::FLOOR;
        assert_eq!(
            verify_password(&p, &h, "s3cret!"),
            Ok(Verification::Match { needs_rehash: true })
        );
        assert_eq!(
            verify_password(&p, &h, "s3cret"),
            Ok(Verification::Mismatch)
        );
    }

    #[test]
    fn django_known_vector() {
        // Django 4.2: make_password("admin", salt="seasalt", hasher=PBKDF2PasswordHasher) with 1000 iterations.
        let h = DjangoPbkdf2::encode("admin", "seasalt", 1000);
        assert!(DjangoPbkdf2::parse(&h).is_some());
        assert!(DjangoPbkdf2::parse("pbkdf2_sha1$1000$salt$abc").is_none());
        assert!(DjangoPbkdf2::parse("!unusable").is_none());
        assert!(DjangoPbkdf2::parse("pbkdf2_sha256$10$salt$AAAA").is_none());
    }

    #[test]
    fn oversize_and_empty_passwords_never_match() {
        let p = Argon2Params::FLOOR;
        let h = hash_password(&p, "x".repeat(1024).as_str(), &SeededRng::new(3)).unwrap();
        assert_eq!(
            verify_password(&p, &h, &"x".repeat(1025)),
            Ok(Verification::Mismatch)
        );
        assert_eq!(verify_password(&p, &h, ""), Ok(Verification::Mismatch));
    }

    #[test]
    fn prefix_of_a_72_byte_password_fails() {
        let p = Argon2Params::FLOOR;
        let pw = "a".repeat(72);
        let h = hash_password(&p, &pw, &SeededRng::new(4)).unwrap();
        assert_eq!(
            verify_password(&p, &h, &pw[..71]),
            Ok(Verification::Mismatch)
        );
    }

    #[test]
    fn params_below_floor_are_refused() {
        let low = Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        assert!(low.validate().is_err());
        assert!(Argon2Params::FLOOR.validate().is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn django_parser_never_panics(s in ".{0,200}") {
            let _ = DjangoPbkdf2::parse(&s);
        }
    }
}
