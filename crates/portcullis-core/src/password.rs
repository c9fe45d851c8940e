//! Password hashing and verification.
//!
//! Policy: new hashes are Argon2id PHC strings with parameters from configuration, never
//! below the OWASP floor (m = 19 456 KiB, t = 2, p = 1). Legacy Django
//! `pbkdf2_sha256$<iterations>$<salt>$<base64>` hashes (imported AWX users) verify with a
//! constant-time compare and report that they need re-hashing. Inputs outside 1–1 024 bytes
//! are refused before any hashing. These functions are CPU-bound: callers run them off the
//! async executor (see the server's password pool).
//!
//! Memory: an Argon2id hash works in m KiB (19 MiB at the floor). The `*_with` functions take
//! that memory from an [`Argon2Memory`] the caller keeps, so a fixed set of hashing threads
//! holds exactly one such block each; the plain functions allocate it per call (command-line
//! use, tests).

use crate::error::CoreError;
use crate::rng::{Rng, bytes};
use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Longest password accepted, in bytes of UTF-8 (`docs/security.md`, "Passwords").
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

    fn argon2_params(&self) -> Result<Params, CoreError> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| CoreError::BadParams(e.to_string()))
    }
}

/// Argon2 working memory, kept from one hash to the next by the thread that owns it.
///
/// Allocating m KiB for every hash on whichever thread runs it lets the allocator keep one
/// such block per thread that ever hashed (glibc does), so resident memory grows with the
/// thread count; a fixed set of workers each owning one `Argon2Memory` holds workers × m.
/// It grows to the configured m; a stored hash made with more memory than that is verified
/// in memory of its own, returned right after.
#[derive(Default)]
pub struct Argon2Memory {
    blocks: Vec<Block>,
}

impl std::fmt::Debug for Argon2Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Memory")
            .field("kib", &self.blocks.len())
            .finish()
    }
}

impl Argon2Memory {
    /// Empty: the first hash allocates.
    pub fn new() -> Self {
        Self::default()
    }

    /// KiB held (one block is 1 KiB).
    pub fn kib(&self) -> usize {
        self.blocks.len()
    }

    /// Runs `f` on `count` blocks: the kept ones when `count` is at most `keep` (growing them
    /// once), otherwise a temporary allocation. An allocation that fails is an error, never an
    /// abort: `count` may come from a stored hash.
    fn with_blocks<T>(
        &mut self,
        count: usize,
        keep: usize,
        f: impl FnOnce(&mut [Block]) -> T,
    ) -> Result<T, CoreError> {
        if count <= keep.max(self.blocks.len()) {
            grow(&mut self.blocks, count)?;
            let blocks = self.blocks.get_mut(..count).ok_or(CoreError::HashFailed)?;
            Ok(f(blocks))
        } else {
            let mut own = Vec::new();
            grow(&mut own, count)?;
            Ok(f(&mut own))
        }
    }
}

/// Makes `blocks` at least `count` long.
fn grow(blocks: &mut Vec<Block>, count: usize) -> Result<(), CoreError> {
    if blocks.len() < count {
        blocks
            .try_reserve_exact(count - blocks.len())
            .map_err(|_| CoreError::HashFailed)?;
        blocks.resize(count, Block::new());
    }
    Ok(())
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

/// Hashes `password` with Argon2id under `params` and a 16-byte salt from `rng`, in memory
/// allocated for this call.
pub fn hash_password(
    params: &Argon2Params,
    password: &str,
    rng: &dyn Rng,
) -> Result<String, CoreError> {
    hash_password_with(&mut Argon2Memory::new(), params, password, rng)
}

/// [`hash_password`] in `memory`.
pub fn hash_password_with(
    memory: &mut Argon2Memory,
    params: &Argon2Params,
    password: &str,
    rng: &dyn Rng,
) -> Result<String, CoreError> {
    if !length_ok(password) {
        return Err(CoreError::BadParams("password length".into()));
    }
    let salt: [u8; 16] = bytes(rng);
    let p = params.argon2_params()?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, p.clone());
    let mut out = [0u8; 32];
    let count = p.block_count();
    memory
        .with_blocks(count, count, |blocks| {
            argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks)
        })?
        .map_err(|_| CoreError::HashFailed)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&p).map_err(|_| CoreError::HashFailed)?,
        salt: Some(Salt::new(&salt).map_err(|_| CoreError::HashFailed)?),
        hash: Some(Output::new(&out).map_err(|_| CoreError::HashFailed)?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against `stored`, which is an Argon2id PHC string or a Django
/// `pbkdf2_sha256` hash, in memory allocated for this call.
pub fn verify_password(
    params: &Argon2Params,
    stored: &str,
    password: &str,
) -> Result<Verification, CoreError> {
    verify_password_with(&mut Argon2Memory::new(), params, stored, password)
}

/// [`verify_password`] in `memory`. The computed output is compared with the stored one in
/// constant time; a hash that cannot be recomputed (bad parameters, no salt, memory refused)
/// is a mismatch, never a pass.
pub fn verify_password_with(
    memory: &mut Argon2Memory,
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
    let keep = params.argon2_params()?.block_count();
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Ok(Verification::Mismatch);
    };
    let (Ok(p), Ok(version)) = (
        Params::try_from(&parsed),
        parsed.version.map_or(Ok(Version::V0x13), Version::try_from),
    ) else {
        return Ok(Verification::Mismatch);
    };
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return Ok(Verification::Mismatch);
    };
    let argon2 = Argon2::new(Algorithm::Argon2id, version, p.clone());
    let computed = memory.with_blocks(p.block_count(), keep, |blocks| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
    });
    if !matches!(computed, Ok(Ok(()))) {
        return Ok(Verification::Mismatch);
    }
    if bool::from(out.ct_eq(expected.as_bytes())) {
        Ok(Verification::Match {
            needs_rehash: weaker_than(&parsed, params),
        })
    } else {
        Ok(Verification::Mismatch)
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
    dummy_verify_with(&mut Argon2Memory::new(), params, dummy_hash);
}

/// [`dummy_verify`] in `memory`.
pub fn dummy_verify_with(memory: &mut Argon2Memory, params: &Argon2Params, dummy_hash: &str) {
    let _ = verify_password_with(memory, params, dummy_hash, "portcullis-dummy-password");
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
    fn hashes_match_the_argon2_crate_byte_for_byte() {
        use argon2::password_hash::PasswordHasher;
        let p = Argon2Params::FLOOR;
        let ours = hash_password_with(
            &mut Argon2Memory::new(),
            &p,
            "pw-pw-pw-pw",
            &SeededRng::new(7),
        )
        .unwrap();
        let salt: [u8; 16] = bytes(&SeededRng::new(7));
        let reference = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            p.argon2_params().unwrap(),
        )
        .hash_password_with_salt(b"pw-pw-pw-pw", &salt)
        .unwrap()
        .to_string();
        assert_eq!(ours, reference);
    }

    #[test]
    fn kept_memory_serves_every_hash_and_stays_at_the_configured_size() {
        let p = Argon2Params::FLOOR;
        let mut memory = Argon2Memory::new();
        let a = hash_password_with(&mut memory, &p, "first password", &SeededRng::new(1)).unwrap();
        let kib = memory.kib();
        assert_eq!(kib, 19_456);
        let b = hash_password_with(&mut memory, &p, "second password", &SeededRng::new(2)).unwrap();
        // Memory left over from earlier hashes changes nothing: every check is exact.
        for _ in 0..2 {
            assert_eq!(
                verify_password_with(&mut memory, &p, &a, "first password"),
                Ok(Verification::Match {
                    needs_rehash: false
                })
            );
            assert_eq!(
                verify_password_with(&mut memory, &p, &b, "first password"),
                Ok(Verification::Mismatch)
            );
            assert_eq!(
                verify_password_with(&mut memory, &p, &b, "second password"),
                Ok(Verification::Match {
                    needs_rehash: false
                })
            );
        }
        // A hash made with more memory than configured verifies in memory of its own.
        let strong = Argon2Params {
            memory_kib: 24_576,
            ..p
        };
        let h = hash_password(&strong, "strong one", &SeededRng::new(3)).unwrap();
        assert_eq!(
            verify_password_with(&mut memory, &p, &h, "strong one"),
            Ok(Verification::Match {
                needs_rehash: false
            })
        );
        assert_eq!(memory.kib(), kib, "the kept memory did not grow");
        // Reference check through the argon2 crate's own verifier.
        use argon2::password_hash::PasswordVerifier;
        let parsed = PasswordHash::new(&a).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"first password", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn unusable_argon2_strings_never_match() {
        let p = Argon2Params::FLOOR;
        let h = hash_password(&p, "pw-pw-pw-pw", &SeededRng::new(4)).unwrap();
        let mut memory = Argon2Memory::new();
        // No hash part, an absurd memory cost, a truncated output.
        let no_hash = h.rsplit_once('$').unwrap().0.to_owned();
        let huge = h.replace("m=19456", "m=4294967295");
        let short = format!("{}$AAAA", no_hash);
        for bad in [no_hash, huge, short] {
            assert!(
                !matches!(
                    verify_password_with(&mut memory, &p, &bad, "pw-pw-pw-pw"),
                    Ok(Verification::Match { .. })
                ),
                "{bad}"
            );
        }
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
