//! The provider's keys and the checks of what it signs (`docs/sso.md`, "What is checked").
//!
//! Policy: the algorithm comes from an allow-list of asymmetric algorithms, never from trust
//! in the token (`none` and every HMAC algorithm are refused before a key is looked at); the
//! key must be of the algorithm's family; an unparseable key in the provider's set is ignored,
//! never an error; without a `kid` every key of the family is tried. Claims are checked here
//! against the caller's clock, not by `jsonwebtoken` (whose time checks read the system
//! clock), so every refusal has its own reason.

use crate::sso::flow::{BACKCHANNEL_EVENT, ID_TOKEN_MAX_AGE, LEEWAY, LOGOUT_MAX_AGE};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// The signature algorithms accepted from a provider.
pub const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Why a provider's token was refused. The reason is logged and counted; the browser sees
/// one message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a compact JWS with a readable header and JSON payload.
    #[error("malformed token")]
    Malformed,
    /// `none`, an HMAC algorithm or anything else outside [`ALGORITHMS`].
    #[error("algorithm not allowed")]
    Algorithm,
    /// No key of the provider's set has the token's `kid` (or fits its algorithm).
    #[error("no key for the token")]
    UnknownKey,
    /// No candidate key verifies the signature.
    #[error("bad signature")]
    Signature,
    /// `iss` is not the provider's issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` missing, without our client id, or with an audience nobody trusted.
    #[error("wrong audience")]
    Audience,
    /// `azp` missing where several audiences need it, or not our client id.
    #[error("wrong authorized party")]
    AuthorizedParty,
    /// `exp` missing or past.
    #[error("expired")]
    Expired,
    /// `nbf` in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// `iat` missing, too old or in the future.
    #[error("issued-at out of range")]
    IssuedAt,
    /// `nonce` missing or not the flow's (id_token), or present (logout token).
    #[error("wrong nonce")]
    Nonce,
    /// `sub` missing or empty (or, for a logout token, neither `sub` nor `sid`).
    #[error("no subject")]
    Subject,
    /// `at_hash` does not match the access token.
    #[error("access token hash mismatch")]
    AtHash,
    /// A logout token without the back-channel logout event, or with a wrong `typ`.
    #[error("not a logout token")]
    Events,
    /// A logout token without `jti`.
    #[error("no token id")]
    TokenId,
}

impl Refusal {
    /// A short stable name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown_key",
            Self::Signature => "signature",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::AuthorizedParty => "azp",
            Self::Expired => "expired",
            Self::NotYetValid => "nbf",
            Self::IssuedAt => "iat",
            Self::Nonce => "nonce",
            Self::Subject => "subject",
            Self::AtHash => "at_hash",
            Self::Events => "events",
            Self::TokenId => "jti",
        }
    }
}

/// A provider's published keys (its `jwks_uri` document), with every entry that cannot be
/// used (unparseable, symmetric, or marked for encryption) left out.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

impl KeySet {
    /// Parses a JWKS document. `None` when it is not a JSON object with a `keys` list; the
    /// entries that do not parse are skipped.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let doc: Value = serde_json::from_slice(body).ok()?;
        let entries = doc.get("keys")?.as_array()?;
        let keys = entries
            .iter()
            .filter_map(|e| serde_json::from_value::<Jwk>(e.clone()).ok())
            .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
            .filter(|k| {
                matches!(
                    k.algorithm,
                    AlgorithmParameters::RSA(_)
                        | AlgorithmParameters::EllipticCurve(_)
                        | AlgorithmParameters::OctetKeyPair(_)
                )
            })
            .collect();
        Some(Self { keys })
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when a key has this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys
            .iter()
            .any(|k| k.common.key_id.as_deref() == Some(kid))
    }
}

/// The key family an algorithm needs.
fn fits(alg: Algorithm, key: &Jwk) -> bool {
    let family_ok = match key.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        _ => false,
    };
    // A key that names its algorithm is used for that algorithm only.
    let alg_ok = key
        .common
        .key_algorithm
        .is_none_or(|ka| ka == jsonwebtoken::jwk::KeyAlgorithm::from(alg));
    family_ok && alg_ok
}

/// The header's `alg` and `kid`, read without trusting anything else in the token.
fn header(token: &str) -> Result<(Algorithm, Option<String>, Option<String>), Refusal> {
    let first = token.split('.').next().ok_or(Refusal::Malformed)?;
    let raw = URL_SAFE_NO_PAD
        .decode(first)
        .map_err(|_| Refusal::Malformed)?;
    let h: Value = serde_json::from_slice(&raw).map_err(|_| Refusal::Malformed)?;
    let alg = h
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Refusal::Malformed)?;
    let alg = ALGORITHMS
        .into_iter()
        .find(|a| format!("{a:?}") == alg)
        .ok_or(Refusal::Algorithm)?;
    let kid = h.get("kid").and_then(Value::as_str).map(str::to_owned);
    let typ = h.get("typ").and_then(Value::as_str).map(str::to_owned);
    Ok((alg, kid, typ))
}

/// A token whose signature verified, before its claims are checked.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The header's `typ`, if any.
    pub typ: Option<String>,
    /// The payload.
    pub claims: Map<String, Value>,
}

/// The `kid` of a token, if its header is readable (to decide whether to refetch the keys
/// after [`Refusal::UnknownKey`]).
pub fn token_kid(token: &str) -> Option<String> {
    header(token).ok().and_then(|(_, kid, _)| kid)
}

/// Checks the signature of `token` with `keys`.
pub fn verify_signature(token: &str, keys: &KeySet) -> Result<Verified, Refusal> {
    if token.split('.').count() != 3 {
        return Err(Refusal::Malformed);
    }
    let (alg, kid, typ) = header(token)?;
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|k| match &kid {
            Some(kid) => k.common.key_id.as_deref() == Some(kid.as_str()),
            None => true,
        })
        .filter(|k| fits(alg, k))
        .collect();
    if candidates.is_empty() {
        return Err(Refusal::UnknownKey);
    }
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    for key in candidates {
        let Ok(dk) = DecodingKey::from_jwk(key) else {
            continue;
        };
        if let Ok(data) = jsonwebtoken::decode::<Map<String, Value>>(token, &dk, &validation) {
            return Ok(Verified {
                alg,
                typ,
                claims: data.claims,
            });
        }
    }
    Err(Refusal::Signature)
}

/// What a relying party expects of its provider's tokens.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The provider's issuer, exactly.
    pub issuer: &'a str,
    /// Our client id.
    pub client_id: &'a str,
    /// Audiences besides ours an administrator allowed.
    pub trusted_audiences: &'a [String],
    /// Now, by the server's clock.
    pub now: OffsetDateTime,
}

/// The claims of a verified id_token that the login uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdClaims {
    /// `sub`.
    pub subject: String,
    /// `preferred_username`.
    pub preferred_username: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `email_verified` is `true` (a string `"true"` counts too, as some providers send it).
    pub email_verified: bool,
    /// `given_name`.
    pub given_name: Option<String>,
    /// `family_name`.
    pub family_name: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// The provider's session id, `sid`.
    pub sid: Option<String>,
}

fn text(claims: &Map<String, Value>, key: &str) -> Option<String> {
    claims
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn seconds(claims: &Map<String, Value>, key: &str) -> Option<i64> {
    let v = claims.get(key)?;
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite())
            .map(|f| f.floor() as i64)
    })
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// `iss`, `aud` and `azp` (OpenID Connect Core §3.1.3.7 items 2–5).
fn check_parties(
    claims: &Map<String, Value>,
    expect: &Expect<'_>,
    azp_rule: bool,
) -> Result<(), Refusal> {
    if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(Refusal::Issuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().ok_or(Refusal::Audience))
            .collect::<Result<_, _>>()?,
        _ => return Err(Refusal::Audience),
    };
    if !audiences.contains(&expect.client_id) {
        return Err(Refusal::Audience);
    }
    let untrusted = audiences
        .iter()
        .any(|a| *a != expect.client_id && !expect.trusted_audiences.iter().any(|t| t == a));
    if untrusted {
        return Err(Refusal::Audience);
    }
    if azp_rule {
        let azp = claims.get("azp");
        if audiences.len() > 1 && azp.is_none() {
            return Err(Refusal::AuthorizedParty);
        }
        if azp.is_some_and(|v| v.as_str() != Some(expect.client_id)) {
            return Err(Refusal::AuthorizedParty);
        }
    }
    Ok(())
}

/// `exp` (required unless `exp_optional`) and `nbf` against the clock, with [`LEEWAY`].
fn check_times(
    claims: &Map<String, Value>,
    now: OffsetDateTime,
    exp_optional: bool,
) -> Result<(), Refusal> {
    let now = unix(now);
    let leeway = LEEWAY.whole_seconds();
    match seconds(claims, "exp") {
        Some(exp) if now < exp.saturating_add(leeway) => {}
        None if exp_optional && !claims.contains_key("exp") => {}
        _ => return Err(Refusal::Expired),
    }
    if let Some(nbf) = seconds(claims, "nbf")
        && nbf > now.saturating_add(leeway)
    {
        return Err(Refusal::NotYetValid);
    }
    Ok(())
}

/// `iat` present, not in the future (beyond the leeway) and at most `max_age` old.
fn check_issued(
    claims: &Map<String, Value>,
    now: OffsetDateTime,
    max_age: time::Duration,
) -> Result<(), Refusal> {
    let now = unix(now);
    let iat = seconds(claims, "iat").ok_or(Refusal::IssuedAt)?;
    if iat > now.saturating_add(LEEWAY.whole_seconds())
        || iat < now.saturating_sub(max_age.whole_seconds())
    {
        return Err(Refusal::IssuedAt);
    }
    Ok(())
}

/// The `at_hash` of an access token for the signing algorithm (Core §3.1.3.6): the left
/// half of the hash named by the algorithm, base64url.
pub fn at_hash(alg: Algorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => {
            Sha384::digest(access_token.as_bytes()).to_vec()
        }
        // EdDSA with Ed25519 hashes with SHA-512 (the OpenID Foundation's reading).
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => {
            Sha512::digest(access_token.as_bytes()).to_vec()
        }
        _ => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    let half = digest.get(..digest.len() / 2).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(half)
}

/// Checks a verified id_token's claims: issuer, audience and `azp`, `exp`, `nbf`, `iat` (at
/// most [`ID_TOKEN_MAX_AGE`] old), `sub`, the flow's `nonce` (required, compared in constant
/// time) and `at_hash` when present.
pub fn check_id_token(
    token: &Verified,
    expect: &Expect<'_>,
    nonce: &str,
    access_token: Option<&str>,
) -> Result<IdClaims, Refusal> {
    let c = &token.claims;
    check_parties(c, expect, true)?;
    check_times(c, expect.now, false)?;
    check_issued(c, expect.now, ID_TOKEN_MAX_AGE)?;
    let subject = text(c, "sub").ok_or(Refusal::Subject)?;
    let got = c
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or(Refusal::Nonce)?;
    if !bool::from(got.as_bytes().ct_eq(nonce.as_bytes())) {
        return Err(Refusal::Nonce);
    }
    if let Some(h) = c.get("at_hash") {
        let want = access_token.map(|t| at_hash(token.alg, t));
        if h.as_str().is_none() || h.as_str() != want.as_deref() {
            return Err(Refusal::AtHash);
        }
    }
    let email_verified = match c.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(IdClaims {
        subject,
        preferred_username: text(c, "preferred_username"),
        email: text(c, "email"),
        email_verified,
        given_name: text(c, "given_name"),
        family_name: text(c, "family_name"),
        name: text(c, "name"),
        sid: text(c, "sid"),
    })
}

/// What a verified logout token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutClaims {
    /// `jti`, single use.
    pub jti: String,
    /// `sub`, if given.
    pub subject: Option<String>,
    /// `sid`, if given.
    pub sid: Option<String>,
}

/// Checks a verified back-channel logout token (Back-Channel Logout 1.0 §2.6): issuer and
/// audience, `iat` at most [`LOGOUT_MAX_AGE`] old, `exp` if present, `jti`, the logout event,
/// no `nonce`, `sub` or `sid`, and a `typ` of `logout+jwt` when a `typ` is given. A token
/// without `exp` is accepted: the final specification does not require it.
pub fn check_logout_token(token: &Verified, expect: &Expect<'_>) -> Result<LogoutClaims, Refusal> {
    let c = &token.claims;
    if let Some(typ) = &token.typ {
        let t = typ.to_ascii_lowercase();
        if t != "logout+jwt" && t != "application/logout+jwt" {
            return Err(Refusal::Events);
        }
    }
    check_parties(c, expect, false)?;
    check_times(c, expect.now, true)?;
    check_issued(c, expect.now, LOGOUT_MAX_AGE)?;
    let event_ok = c
        .get("events")
        .and_then(Value::as_object)
        .and_then(|e| e.get(BACKCHANNEL_EVENT))
        .is_some_and(Value::is_object);
    if !event_ok {
        return Err(Refusal::Events);
    }
    if c.contains_key("nonce") {
        return Err(Refusal::Nonce);
    }
    let jti = text(c, "jti").ok_or(Refusal::TokenId)?;
    let subject = text(c, "sub");
    let sid = text(c, "sid");
    if subject.is_none() && sid.is_none() {
        return Err(Refusal::Subject);
    }
    Ok(LogoutClaims { jti, subject, sid })
}
