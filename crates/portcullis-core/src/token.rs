//! Opaque credentials: `pcl_<kind>_` + 43 base62 characters of randomness (32 bytes from the
//! CSPRNG) + 6 base62 characters of CRC-32 over everything before them.
//!
//! Policy: a plain credential exists only as a [`PlainToken`] (no `Display`, redacted `Debug`)
//! and is shown once; storage only ever sees its [`TokenHash`] (SHA-256). A presented value is
//! checked for prefix, length, alphabet and checksum **before** any storage lookup, so malformed
//! or foreign strings never reach the database.
//!
//! THE PREFIXES ARE PERMANENT: changing one invalidates every credential ever issued.

use crate::base62;
use crate::rng::{Rng, bytes};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;

/// Number of base62 characters of randomness.
const BODY_LEN: usize = 43;
/// Number of base62 characters of checksum.
const CHECK_LEN: usize = 6;

/// The kinds of opaque credential Portcullis issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Personal access token (`pcl_pat_`).
    PersonalAccess,
    /// OAuth2 application access token (`pcl_oat_`).
    AppAccess,
    /// OAuth2 application refresh token (`pcl_ort_`).
    AppRefresh,
    /// Session id in the AWX and console cookies (`pcl_ses_`).
    Session,
    /// OAuth2 application client secret (`pcl_cs_`).
    ClientSecret,
}

impl TokenKind {
    /// The permanent prefix of this kind.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::PersonalAccess => "pcl_pat_",
            Self::AppAccess => "pcl_oat_",
            Self::AppRefresh => "pcl_ort_",
            Self::Session => "pcl_ses_",
            Self::ClientSecret => "pcl_cs_",
        }
    }

    /// Total length of a credential of this kind.
    pub const fn encoded_len(self) -> usize {
        self.prefix().len() + BODY_LEN + CHECK_LEN
    }

    /// The kind whose prefix `value` starts with, if any.
    pub fn of(value: &str) -> Option<Self> {
        [
            Self::PersonalAccess,
            Self::AppAccess,
            Self::AppRefresh,
            Self::Session,
            Self::ClientSecret,
        ]
        .into_iter()
        .find(|k| value.starts_with(k.prefix()))
    }
}

/// A credential in clear. Exists only while a request or its one creating response does.
pub struct PlainToken {
    kind: TokenKind,
    value: SecretString,
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(..)")
    }
}

impl PlainToken {
    /// Mints a new credential of `kind` from 32 random bytes.
    pub fn generate(kind: TokenKind, rng: &dyn Rng) -> Self {
        let raw: [u8; 32] = bytes(rng);
        // 32 bytes always fit in 43 base62 digits (62^43 > 2^256), and a CRC-32 in 6.
        let body = base62::encode::<32, BODY_LEN>(&raw);
        let mut value = String::with_capacity(kind.encoded_len());
        value.push_str(kind.prefix());
        value.push_str(&body);
        let crc = crc32fast::hash(value.as_bytes()).to_be_bytes();
        value.push_str(&base62::encode::<4, CHECK_LEN>(&crc));
        Self {
            kind,
            value: SecretString::from(value),
        }
    }

    /// The kind of this credential.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The clear value, for the one response (or `Set-Cookie`) that hands it out.
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// The hash under which storage keeps this credential.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.expose())
    }
}

/// SHA-256 of a credential: the only form storage ever holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

impl TokenHash {
    /// Hashes a presented value. Callers must have checked its format (see [`parse`]).
    pub fn of(value: &str) -> Self {
        Self(Sha256::digest(value.as_bytes()).into())
    }

    /// Rebuilds a hash read back from storage.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// The raw digest, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// First 8 hex characters, the only way a credential may be named in logs.
    pub fn log_ref(&self) -> String {
        self.0.iter().take(4).map(|b| format!("{b:02x}")).collect()
    }
}

/// Why a presented credential was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    /// Not the expected prefix.
    #[error("wrong prefix")]
    Prefix,
    /// Wrong length or characters outside base62.
    #[error("malformed")]
    Malformed,
    /// The checksum does not match.
    #[error("bad checksum")]
    Checksum,
}

/// Checks `value` is a well-formed credential of `kind` and returns its hash.
pub fn parse(kind: TokenKind, value: &str) -> Result<TokenHash, TokenFormatError> {
    let rest = value
        .strip_prefix(kind.prefix())
        .ok_or(TokenFormatError::Prefix)?;
    if rest.len() != BODY_LEN + CHECK_LEN || !base62::is_base62(rest) {
        return Err(TokenFormatError::Malformed);
    }
    let split = kind.prefix().len() + BODY_LEN;
    let (head, check) = value
        .split_at_checked(split)
        .ok_or(TokenFormatError::Malformed)?;
    let crc = crc32fast::hash(head.as_bytes()).to_be_bytes();
    let expected = base62::encode::<4, CHECK_LEN>(&crc);
    // The checksum is not a secret (anyone can compute it), so a plain compare is fine.
    if expected != check {
        return Err(TokenFormatError::Checksum);
    }
    Ok(TokenHash::of(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use proptest::prelude::*;

    #[test]
    fn generated_tokens_parse_and_hash_consistently() {
        let rng = SeededRng::new(7);
        for kind in [
            TokenKind::PersonalAccess,
            TokenKind::AppAccess,
            TokenKind::AppRefresh,
            TokenKind::Session,
            TokenKind::ClientSecret,
        ] {
            let t = PlainToken::generate(kind, &rng);
            assert_eq!(t.expose().len(), kind.encoded_len());
            assert!(t.expose().starts_with(kind.prefix()));
            assert_eq!(parse(kind, t.expose()), Ok(t.hash()));
            assert_eq!(TokenKind::of(t.expose()), Some(kind));
        }
    }

    #[test]
    fn pat_is_prefix_plus_49() {
        let t = PlainToken::generate(TokenKind::PersonalAccess, &SeededRng::new(1));
        assert_eq!(t.expose().len(), "pcl_pat_".len() + 49);
    }

    #[test]
    fn debug_never_shows_the_value() {
        let t = PlainToken::generate(TokenKind::Session, &SeededRng::new(1));
        assert_eq!(format!("{t:?}"), "PlainToken(..)");
        assert_eq!(format!("{:?}", t.hash()), "TokenHash(..)");
    }

    #[test]
    fn wrong_prefix_and_garbage_are_refused() {
        let t = PlainToken::generate(TokenKind::Session, &SeededRng::new(2));
        assert_eq!(
            parse(TokenKind::PersonalAccess, t.expose()),
            Err(TokenFormatError::Prefix)
        );
        assert_eq!(
            parse(TokenKind::Session, "pcl_ses_short"),
            Err(TokenFormatError::Malformed)
        );
    }

    #[test]
    fn ten_thousand_tokens_are_distinct() {
        let rng = crate::rng::OsRng;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let t = PlainToken::generate(TokenKind::PersonalAccess, &rng);
            assert!(parse(TokenKind::PersonalAccess, t.expose()).is_ok());
            assert!(seen.insert(t.expose().to_owned()));
        }
    }

    proptest! {
        #[test]
        fn any_single_character_change_fails(seed in any::<u64>(), pos in 8usize..57, c in "[0-9A-Za-z]") {
            let t = PlainToken::generate(TokenKind::PersonalAccess, &SeededRng::new(seed));
            let mut chars: Vec<char> = t.expose().chars().collect();
            let new = c.chars().next().unwrap();
            prop_assume!(chars[pos] != new);
            chars[pos] = new;
            let s: String = chars.into_iter().collect();
            prop_assert!(parse(TokenKind::PersonalAccess, &s).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(s in ".{0,80}") {
            let _ = parse(TokenKind::PersonalAccess, &s);
            let _ = TokenKind::of(&s);
        }
    }
}
