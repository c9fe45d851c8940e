//! MDR signing keys (`docs/mdr-api.md`, "Signing keys"): generation, sealing with the
//! key-encryption key, the per-node key set (signer, verifiers, JWKS), reloads and scheduled
//! rotation.
//!
//! Policy: keys live in the shared database, private halves sealed with AES-256-GCM under the
//! key-encryption key (the `kid` is the additional data, so a sealed key cannot be moved to
//! another record). A node reloads the set at least every 60 s and, on an unknown but
//! well-formed `kid`, at most once per second; it never fetches a key from anywhere else.

use crate::config::MdrConfig;
use crate::service::error::{ServiceError, ServiceResult};
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use portcullis_core::jwt::{self, VerifyingKey};
use portcullis_store::{KeyState, SigningKeyRecord, Store, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};
use time::{Duration, OffsetDateTime};

/// The 32-byte key-encryption key.
#[derive(Clone)]
pub struct Kek(Arc<RandomizedNonceKey>);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

/// Why keys could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The configured or stored key-encryption key is unusable.
    #[error("key-encryption key: {0}")]
    Kek(String),
    /// A stored key could not be opened or parsed (wrong key-encryption key?).
    #[error("signing key {kid}: {why}")]
    Key {
        /// Key id.
        kid: String,
        /// What failed.
        why: String,
    },
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl Kek {
    /// From 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::Kek(format!(
                "must be 32 bytes, not {}",
                bytes.len()
            )));
        }
        RandomizedNonceKey::new(&AES_256_GCM, bytes)
            .map(|k| Self(Arc::new(k)))
            .map_err(|_| KeyError::Kek("rejected by AES-256-GCM".into()))
    }

    /// From the configured text: 64 hex characters or base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(t.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| KeyError::Kek("not hex".into()))?
        } else {
            STANDARD
                .decode(t)
                .map_err(|_| KeyError::Kek("neither 64 hex characters nor base64".into()))?
        };
        Self::from_bytes(&bytes)
    }

    /// The configured key, or the one in `path`, generated there (mode 0600) if absent. A
    /// single node may rely on the generated file; several nodes must configure one value.
    pub fn load_or_create(configured: Option<&str>, path: &Path) -> Result<Self, KeyError> {
        if let Some(text) = configured {
            return Self::parse(text);
        }
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(KeyError::Kek(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        }
        let mut raw = [0u8; 32];
        getrandom_fill(&mut raw)?;
        let text: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        write_new_private_file(path, text.as_bytes())
            .map_err(|e| KeyError::Kek(format!("cannot create {}: {e}", path.display())))?;
        tracing::info!(path = %path.display(), "generated the MDR key-encryption key (single-node install; configure mdr.signing.key_encryption_key for several nodes)");
        // Another process may have won the race to create it: read back what is there.
        let text = std::fs::read_to_string(path)
            .map_err(|e| KeyError::Kek(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    fn seal(&self, kid: &str, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut buf = plain.to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| KeyError::Kek("sealing failed".into()))?;
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let fail = || KeyError::Key {
            kid: kid.to_owned(),
            why: "cannot be opened with this key-encryption key".into(),
        };
        let (n, ct) = sealed.split_at_checked(NONCE_LEN).ok_or_else(fail)?;
        let nonce = Nonce::try_assume_unique_for_key(n).map_err(|_| fail())?;
        let mut buf = ct.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| fail())?;
        Ok(plain.to_vec())
    }
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), KeyError> {
    use aws_lc_rs::rand::SecureRandom as _;
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| KeyError::Kek("no randomness".into()))
}

/// Creates `path` with mode 0600 and `content`, failing if it exists.
fn write_new_private_file(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(content)?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Generates a key for `algorithm` (`EdDSA` or `ES256`), sealed, in `state`.
pub fn generate_key(
    algorithm: &str,
    kek: &Kek,
    state: KeyState,
    now: OffsetDateTime,
) -> Result<SigningKeyRecord, KeyError> {
    let rng = SystemRandom::new();
    let fail = |why: &str| KeyError::Key {
        kid: "(new)".into(),
        why: why.to_owned(),
    };
    let (pkcs8, public) = match algorithm {
        "EdDSA" => {
            let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| fail("generation"))?;
            let pair =
                Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|_| fail("generated key"))?;
            (doc.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
        }
        "ES256" => {
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| fail("generation"))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
                .map_err(|_| fail("generated key"))?;
            (doc.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
        }
        other => return Err(fail(&format!("unsupported algorithm {other}"))),
    };
    let jwk = public_jwk(algorithm, &public).ok_or_else(|| fail("public key"))?;
    let kid = jwk.kid;
    let sealed = kek.seal(&kid, &pkcs8)?;
    Ok(SigningKeyRecord {
        kid,
        algorithm: algorithm.to_owned(),
        public_key: public,
        sealed_private_key: sealed,
        state,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        deactivated_at: None,
    })
}

/// The public parts of a key as a JWK, with its RFC 7638 `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PublicJwk {
    kid: String,
    json: serde_json::Value,
}

fn public_jwk(algorithm: &str, public: &[u8]) -> Option<PublicJwk> {
    match algorithm {
        "EdDSA" if public.len() == 32 => {
            let x = URL_SAFE_NO_PAD.encode(public);
            let kid = jwt::thumbprint_okp(&x);
            Some(PublicJwk {
                json: serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": x,
                    "kid": kid, "alg": "EdDSA", "use": "sig",
                }),
                kid,
            })
        }
        "ES256" if public.len() == 65 && public.first() == Some(&4) => {
            let x = URL_SAFE_NO_PAD.encode(public.get(1..33)?);
            let y = URL_SAFE_NO_PAD.encode(public.get(33..65)?);
            let kid = jwt::thumbprint_ec(&x, &y);
            Some(PublicJwk {
                json: serde_json::json!({
                    "kty": "EC", "crv": "P-256", "x": x, "y": y,
                    "kid": kid, "alg": "ES256", "use": "sig",
                }),
                kid,
            })
        }
        _ => None,
    }
}

/// The key that signs.
struct Signer {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
}

/// One loaded key set.
struct KeySet {
    signer: Option<Signer>,
    verifiers: HashMap<String, VerifyingKey>,
    jwks: bytes::Bytes,
    /// `(kid, state)` of every record the set was built from, sorted: two loads with the
    /// same fingerprint build the same set, so a poll that finds it unchanged skips the
    /// rebuild (and the private-key unsealing).
    fingerprint: Vec<(String, KeyState)>,
}

fn fingerprint(records: &[SigningKeyRecord]) -> Vec<(String, KeyState)> {
    let mut f: Vec<(String, KeyState)> = records.iter().map(|r| (r.kid.clone(), r.state)).collect();
    f.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    f
}

impl KeySet {
    fn build(records: &[SigningKeyRecord], kek: &Kek) -> Result<Self, KeyError> {
        let mut verifiers = HashMap::new();
        let mut jwks = Vec::new();
        let mut signer = None;
        for r in records {
            if r.state == KeyState::Retired {
                continue;
            }
            let bad = |why: &str| KeyError::Key {
                kid: r.kid.clone(),
                why: why.to_owned(),
            };
            let jwk = public_jwk(&r.algorithm, &r.public_key).ok_or_else(|| bad("public key"))?;
            if jwk.kid != r.kid {
                return Err(bad("kid is not the thumbprint of its public key"));
            }
            let (algorithm, key) = match r.algorithm.as_str() {
                "EdDSA" => (
                    Algorithm::EdDSA,
                    DecodingKey::from_ed_components(
                        jwk.json.get("x").and_then(|v| v.as_str()).unwrap_or(""),
                    )
                    .map_err(|_| bad("public key"))?,
                ),
                _ => (
                    Algorithm::ES256,
                    DecodingKey::from_ec_components(
                        jwk.json.get("x").and_then(|v| v.as_str()).unwrap_or(""),
                        jwk.json.get("y").and_then(|v| v.as_str()).unwrap_or(""),
                    )
                    .map_err(|_| bad("public key"))?,
                ),
            };
            if r.state == KeyState::Active {
                let pkcs8 = kek.open(&r.kid, &r.sealed_private_key)?;
                let key = if algorithm == Algorithm::EdDSA {
                    EncodingKey::from_ed_der(&pkcs8)
                } else {
                    EncodingKey::from_ec_der(&pkcs8)
                };
                signer = Some(Signer {
                    kid: r.kid.clone(),
                    algorithm,
                    key,
                });
            }
            verifiers.insert(r.kid.clone(), VerifyingKey { algorithm, key });
            jwks.push(jwk.json);
        }
        let body = serde_json::to_vec(&serde_json::json!({ "keys": jwks }))
            .map_err(|e| KeyError::Kek(e.to_string()))?;
        Ok(Self {
            signer,
            verifiers,
            jwks: bytes::Bytes::from(body),
            fingerprint: fingerprint(records),
        })
    }
}

/// This node's view of the signing keys.
pub struct KeyRing {
    kek: Kek,
    set: arc_swap::ArcSwap<KeySet>,
    /// When the set was last loaded, and when an unknown `kid` last caused a reload.
    reloads: Mutex<(Instant, Option<Instant>)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

/// Longest age of the loaded key set.
const RELOAD_EVERY: StdDuration = StdDuration::from_secs(60);
/// Shortest time between two reloads caused by unknown `kid`s.
const UNKNOWN_KID_RELOAD: StdDuration = StdDuration::from_secs(1);

impl KeyRing {
    /// Loads the keys, creating the first one if the database has no active key (of several
    /// nodes starting at once exactly one inserts; the others load it).
    pub async fn start(
        store: &dyn Store,
        kek: Kek,
        config: &MdrConfig,
        now: OffsetDateTime,
    ) -> Result<Self, KeyError> {
        let mut records = store.signing_keys().await?;
        if !records.iter().any(|r| r.state == KeyState::Active) {
            let key = generate_key(&config.signing.algorithm, &kek, KeyState::Active, now)?;
            if store.insert_first_key(&key).await? {
                tracing::info!(kid = %key.kid, algorithm = %key.algorithm, "created the first MDR signing key");
            }
            records = store.signing_keys().await?;
        }
        let set = KeySet::build(&records, &kek)?;
        Ok(Self {
            kek,
            set: arc_swap::ArcSwap::from_pointee(set),
            reloads: Mutex::new((Instant::now(), None)),
        })
    }

    /// A ring over already loaded records (benchmarks, tools); [`KeyRing::start`] is the
    /// server's way in.
    pub fn from_records(records: &[SigningKeyRecord], kek: Kek) -> Result<Self, KeyError> {
        let set = KeySet::build(records, &kek)?;
        Ok(Self {
            kek,
            set: arc_swap::ArcSwap::from_pointee(set),
            reloads: Mutex::new((Instant::now(), None)),
        })
    }

    /// Verifies against the loaded set only (no reload on an unknown `kid`).
    pub fn verify_loaded(
        &self,
        token: &str,
        expect: &jwt::Expect<'_>,
    ) -> Result<jwt::MdrClaims, jwt::JwtError> {
        let set = self.set.load();
        jwt::verify(token, expect, |kid| set.verifiers.get(kid))
    }

    /// The key-encryption key (for the rotation job).
    pub fn kek(&self) -> &Kek {
        &self.kek
    }

    /// Reloads the key set from the store.
    pub async fn reload(&self, store: &dyn Store) -> Result<(), KeyError> {
        let records = store.signing_keys().await?;
        let set = KeySet::build(&records, &self.kek)?;
        self.set.store(Arc::new(set));
        self.lock_reloads().0 = Instant::now();
        Ok(())
    }

    /// Re-reads the key records and rebuilds the set only when a key changed state (created,
    /// promoted, retired, deleted). Run every `mdr.revocation_check_interval_ms / 2` by the
    /// background task, so an emergency retirement made by another process (`portcullis mdr
    /// keys retire`) stops verifying within the same bound as a connection revocation
    /// (docs/security.md, "MDR signing keys"). Answers whether the set changed.
    pub async fn refresh(&self, store: &dyn Store) -> Result<bool, KeyError> {
        let records = store.signing_keys().await?;
        let changed = self.set.load().fingerprint != fingerprint(&records);
        if changed {
            let set = KeySet::build(&records, &self.kek)?;
            self.set.store(Arc::new(set));
        }
        self.lock_reloads().0 = Instant::now();
        Ok(changed)
    }

    fn lock_reloads(&self) -> std::sync::MutexGuard<'_, (Instant, Option<Instant>)> {
        match self.reloads.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// True when the periodic reload is due.
    pub fn stale(&self) -> bool {
        self.lock_reloads().0.elapsed() >= RELOAD_EVERY
    }

    /// Signs `claims` with the active key.
    pub fn sign(&self, purpose: jwt::Purpose, claims: &jwt::MdrClaims) -> ServiceResult<String> {
        let set = self.set.load();
        let Some(s) = set.signer.as_ref() else {
            return Err(ServiceError::Unavailable(
                "no active MDR signing key".into(),
            ));
        };
        jwt::sign(purpose, claims, &s.kid, s.algorithm, &s.key)
            .map_err(|e| ServiceError::Internal(format!("signing: {e}")))
    }

    /// Signs any claims set with the active key under the JOSE `typ` given: the gateway's
    /// assertions (`docs/gateway.md`, "Signed assertion"), verifiable with the same JWKS.
    pub fn sign_json<T: serde::Serialize>(&self, typ: &str, claims: &T) -> ServiceResult<String> {
        let set = self.set.load();
        let Some(s) = set.signer.as_ref() else {
            return Err(ServiceError::Unavailable(
                "no active MDR signing key".into(),
            ));
        };
        let mut header = jsonwebtoken::Header::new(s.algorithm);
        header.typ = Some(typ.to_owned());
        header.kid = Some(s.kid.clone());
        jsonwebtoken::encode(&header, claims, &s.key)
            .map_err(|e| ServiceError::Internal(format!("signing: {e}")))
    }

    /// Verifies `token`; an unknown `kid` triggers one rate-limited reload and a retry, so a
    /// key another node just promoted verifies here too.
    pub async fn verify(
        &self,
        store: &dyn Store,
        token: &str,
        expect: &jwt::Expect<'_>,
    ) -> Result<jwt::MdrClaims, jwt::JwtError> {
        let first = self.verify_loaded(token, expect);
        match first {
            Err(jwt::JwtError::UnknownKey(_)) if self.claim_unknown_kid_reload() => {
                if let Err(e) = self.reload(store).await {
                    tracing::warn!(error = %e, "key reload after an unknown kid failed");
                }
                self.verify_loaded(token, expect)
            }
            other => other,
        }
    }

    fn claim_unknown_kid_reload(&self) -> bool {
        let mut g = self.lock_reloads();
        if g.1.is_some_and(|t| t.elapsed() < UNKNOWN_KID_RELOAD) {
            return false;
        }
        g.1 = Some(Instant::now());
        true
    }

    /// The JWKS document (`GET /.well-known/jwks.json`).
    pub fn jwks(&self) -> bytes::Bytes {
        self.set.load().jwks.clone()
    }

    /// `kid` of the active key.
    pub fn active_kid(&self) -> Option<String> {
        self.set.load().signer.as_ref().map(|s| s.kid.clone())
    }
}

/// What [`maintain`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// A pending key was created.
    pub created: Option<String>,
    /// A pending key became active.
    pub promoted: Option<String>,
    /// Verify-only keys retired.
    pub retired: u64,
}

/// Scheduled rotation (`docs/mdr-api.md`, "Signing keys"): creates a pending key when the active
/// one is older than `rotation_interval`, promotes a pending key after `publish_ahead`, retires
/// verify-only keys after `verify_retention`. Safe on several nodes at once: promotion is a
/// conditional update, and a second pending key is never created while one exists.
pub async fn maintain(
    store: &dyn Store,
    kek: &Kek,
    config: &MdrConfig,
    now: OffsetDateTime,
) -> Result<Maintenance, KeyError> {
    let mut done = Maintenance::default();
    let keys = store.signing_keys().await?;
    let s = &config.signing;
    let pending: Vec<&SigningKeyRecord> = keys
        .iter()
        .filter(|k| k.state == KeyState::Pending)
        .collect();
    for p in &pending {
        if now - p.created_at >= Duration::seconds(s.publish_ahead)
            && store.promote_key(&p.kid, now).await?
        {
            done.promoted = Some(p.kid.clone());
        }
    }
    if s.rotation_interval > 0 && pending.is_empty() {
        let due = keys.iter().any(|k| {
            k.state == KeyState::Active
                && now - k.activated_at.unwrap_or(k.created_at)
                    >= Duration::seconds(s.rotation_interval)
        });
        if due {
            let key = generate_key(&s.algorithm, kek, KeyState::Pending, now)?;
            store.insert_pending_key(&key).await?;
            done.created = Some(key.kid);
        }
    }
    done.retired = store
        .retire_verify_only_keys(now - Duration::seconds(s.verify_retention))
        .await?;
    Ok(done)
}

/// Manual rotation (`portcullis mdr keys rotate`): a pending key that a running node promotes
/// after `publish_ahead`, or at once with `immediately` (tokens of the old key keep verifying,
/// and other nodes pick the new `kid` up on first sight).
pub async fn rotate(
    store: &dyn Store,
    kek: &Kek,
    config: &MdrConfig,
    now: OffsetDateTime,
    immediately: bool,
) -> Result<SigningKeyRecord, KeyError> {
    let key = generate_key(&config.signing.algorithm, kek, KeyState::Pending, now)?;
    store.insert_pending_key(&key).await?;
    if immediately && !store.promote_key(&key.kid, now).await? {
        return Err(KeyError::Key {
            kid: key.kid,
            why: "was promoted or retired by someone else meanwhile".into(),
        });
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::jwt::{Expect, MdrClaims, Purpose};
    use time::macros::datetime;

    fn kek() -> Kek {
        Kek::from_bytes(&[7u8; 32]).unwrap()
    }

    #[test]
    fn kek_parses_hex_and_base64_and_refuses_other_lengths() {
        assert!(Kek::parse(&"ab".repeat(32)).is_ok());
        assert!(Kek::parse(&STANDARD.encode([1u8; 32])).is_ok());
        assert!(Kek::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert!(Kek::parse("not a key").is_err());
    }

    #[test]
    fn sealed_keys_open_only_with_their_kek_and_kid() {
        let k = kek();
        let sealed = k.seal("kid1", b"secret").unwrap();
        assert_eq!(k.open("kid1", &sealed).unwrap(), b"secret");
        assert!(k.open("kid2", &sealed).is_err());
        assert!(
            Kek::from_bytes(&[8u8; 32])
                .unwrap()
                .open("kid1", &sealed)
                .is_err()
        );
        assert!(k.open("kid1", &sealed[..5]).is_err());
    }

    #[test]
    fn generated_keys_sign_and_verify_for_both_algorithms() {
        let now = datetime!(2026-01-01 00:00 UTC);
        for alg in ["EdDSA", "ES256"] {
            let rec = generate_key(alg, &kek(), KeyState::Active, now).unwrap();
            assert_eq!(rec.kid.len(), 43);
            let set = KeySet::build(std::slice::from_ref(&rec), &kek()).unwrap();
            let signer = set.signer.as_ref().unwrap();
            let claims = MdrClaims::new(
                Purpose::Access,
                "urn:portcullis:mdr",
                "c0ffee00c0ffee00",
                "cnx",
                "fam",
                "jti",
                now.unix_timestamp(),
                now.unix_timestamp() + 60,
            );
            let t = jwt::sign(
                Purpose::Access,
                &claims,
                &signer.kid,
                signer.algorithm,
                &signer.key,
            )
            .unwrap();
            let expect = Expect {
                purpose: Purpose::Access,
                issuer: "urn:portcullis:mdr",
                client_id: "c0ffee00c0ffee00",
                now: now.unix_timestamp(),
                leeway: 60,
            };
            assert_eq!(
                jwt::verify(&t, &expect, |kid| set.verifiers.get(kid)),
                Ok(claims.clone())
            );
            let refresh = Expect {
                purpose: Purpose::Refresh,
                ..expect
            };
            assert_eq!(
                jwt::verify(&t, &refresh, |kid| set.verifiers.get(kid)),
                Err(jwt::JwtError::Invalid)
            );
            let jwks: serde_json::Value = serde_json::from_slice(&set.jwks).unwrap();
            let key = &jwks["keys"][0];
            assert_eq!(key["kid"], rec.kid.as_str());
            assert_eq!(key["alg"], alg);
            assert!(key.get("d").is_none());
        }
    }

    #[test]
    fn a_kid_that_is_not_the_thumbprint_is_refused() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let mut rec = generate_key("EdDSA", &kek(), KeyState::Active, now).unwrap();
        rec.kid = "other".into();
        assert!(KeySet::build(&[rec], &kek()).is_err());
    }
}
