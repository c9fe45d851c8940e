//! MDR token format (`docs/mdr-api.md`, "JWT format"): claims, the two purposes, RFC 7638 key ids,
//! and the validation order of `docs/mdr-api.md`, "Validation order". Signing and verification use
//! `jsonwebtoken` (aws-lc backend); keys come from the caller, so this module holds rules, not key
//! storage.
//!
//! Policy: a token is examined in a fixed order — size and shape, header parameters, `kid`
//! and the algorithm pinned to it, the signature, and only then the claims. Nothing from an
//! unverified token reaches a storage lookup, and no header can make us fetch anything.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest token examined at all.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// Header parameters that would point a verifier elsewhere; a token carrying one is rejected.
const FORBIDDEN_HEADER_PARAMS: [&str; 5] = ["jku", "x5u", "jwk", "x5c", "crit"];

/// What a token is for. The two are mutually exclusive: each has its own `typ`, `token_use`
/// and audience, so one can never stand in for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Bearer token of resource calls.
    Access,
    /// Body of `session/confirm`.
    Refresh,
}

impl Purpose {
    /// Header `typ`.
    pub fn typ(self) -> &'static str {
        match self {
            Self::Access => "at+jwt",
            Self::Refresh => "rt+jwt",
        }
    }

    /// Claim `token_use`.
    pub fn token_use(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    /// Claim `aud` for `client_id`.
    pub fn audience(self, client_id: &str) -> String {
        match self {
            Self::Access => format!("urn:portcullis:mdr:api:{client_id}"),
            Self::Refresh => format!("urn:portcullis:mdr:session:{client_id}"),
        }
    }
}

/// The claims of both token kinds (`docs/mdr-api.md`, "Claims"). Role and tenants are never here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MdrClaims {
    /// `mdr.issuer`.
    pub iss: String,
    /// Client ID.
    pub sub: String,
    /// Purpose audience of the Client ID.
    pub aud: String,
    /// Connection id.
    pub cnx: String,
    /// Family id.
    pub fam: String,
    /// Token id (22 base64url characters).
    pub jti: String,
    /// Issued at, seconds.
    pub iat: i64,
    /// Expiry, seconds.
    pub exp: i64,
    /// Not before, seconds. Portcullis never sets it on the tokens it issues, but a token
    /// that carries one is held to it (RFC 7519 §4.1.5) with the same leeway as `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// `access` or `refresh`.
    pub token_use: String,
}

impl MdrClaims {
    /// Claims of a new token.
    #[expect(clippy::too_many_arguments, reason = "one argument per claim")]
    pub fn new(
        purpose: Purpose,
        issuer: &str,
        client_id: &str,
        connection_id: &str,
        family_id: &str,
        jti: &str,
        iat: i64,
        exp: i64,
    ) -> Self {
        Self {
            iss: issuer.to_owned(),
            sub: client_id.to_owned(),
            aud: purpose.audience(client_id),
            cnx: connection_id.to_owned(),
            fam: family_id.to_owned(),
            jti: jti.to_owned(),
            iat,
            exp,
            nbf: None,
            token_use: purpose.token_use().to_owned(),
        }
    }
}

/// Why a token was refused. The order of the variants is the order of the checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Too long, not three base64url segments of JSON objects, a forbidden header parameter,
    /// a malformed `kid`.
    #[error("malformed token")]
    Malformed,
    /// Well-formed `kid` that names no key here (the caller may reload its key set once).
    #[error("unknown key id")]
    UnknownKey(String),
    /// Algorithm other than the key's pinned one, bad signature, wrong purpose or issuer,
    /// claims of the wrong type, `iat` or `nbf` in the future beyond the leeway.
    #[error("invalid token")]
    Invalid,
    /// Valid, but `sub`/`aud` name another client.
    #[error("token of another client")]
    WrongClient,
    /// Valid, but `exp` passed beyond the leeway.
    #[error("token expired")]
    Expired,
}

/// A verification key with its pinned algorithm.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The only algorithm accepted with this key.
    pub algorithm: Algorithm,
    /// The public key.
    pub key: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The expectations a verified token must meet.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Purpose of the validator.
    pub purpose: Purpose,
    /// `mdr.issuer`.
    pub issuer: &'a str,
    /// The Client ID of the request path.
    pub client_id: &'a str,
    /// Now, seconds.
    pub now: i64,
    /// `mdr.clock_leeway`, seconds.
    pub leeway: i64,
}

/// Signs `claims` for `purpose` with the key `kid`.
pub fn sign(
    purpose: Purpose,
    claims: &MdrClaims,
    kid: &str,
    algorithm: Algorithm,
    key: &EncodingKey,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(algorithm);
    header.typ = Some(purpose.typ().to_owned());
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key)
}

/// The `kid` of a token that passed the shape checks of `docs/mdr-api.md`, "Validation order" step
/// 1 and the header rules.
pub fn key_id(token: &str) -> Result<String, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header = json_object(h)?;
    json_object(p)?;
    if s.is_empty() || URL_SAFE_NO_PAD.decode(s).is_err() {
        return Err(JwtError::Malformed);
    }
    if FORBIDDEN_HEADER_PARAMS
        .iter()
        .any(|k| header.contains_key(*k))
    {
        return Err(JwtError::Malformed);
    }
    let kid = header
        .get("kid")
        .and_then(|v| v.as_str())
        .ok_or(JwtError::Malformed)?;
    let kid_ok = (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !kid_ok {
        return Err(JwtError::Malformed);
    }
    Ok(kid.to_owned())
}

/// The `sub` claim of a token that passes [`key_id`]'s shape checks, read **without**
/// verification: only a hint saying which customer's rules to verify the token under (the
/// gateway has no client id in its path). Verification then checks `sub` and `aud` against
/// that very customer, so a forged `sub` only selects a check the token fails.
pub fn unverified_subject(token: &str) -> Option<String> {
    key_id(token).ok()?;
    let payload = json_object(token.split('.').nth(1)?).ok()?;
    let sub = payload.get("sub")?.as_str()?;
    crate::mdr::is_client_id_syntax(sub).then(|| sub.to_owned())
}

fn json_object(segment: &str) -> Result<serde_json::Map<String, serde_json::Value>, JwtError> {
    let raw = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Malformed)?;
    match serde_json::from_slice::<serde_json::Value>(&raw) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(JwtError::Malformed),
    }
}

/// Verifies `token` against `expect` in the order of `docs/mdr-api.md`, "Validation order". `key`
/// finds the verifying key of a `kid`.
pub fn verify<'k>(
    token: &str,
    expect: &Expect<'_>,
    key: impl FnOnce(&str) -> Option<&'k VerifyingKey>,
) -> Result<MdrClaims, JwtError> {
    let kid = key_id(token)?;
    let Some(vk) = key(&kid) else {
        return Err(JwtError::UnknownKey(kid));
    };
    // Signature (with the pinned algorithm only) before any claim is read; the time and
    // audience rules are ours, applied below in the documented order.
    let mut validation = Validation::new(vk.algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<MdrClaims>(token, &vk.key, &validation)
        .map_err(|_| JwtError::Invalid)?;
    let claims = data.claims;
    let purpose = expect.purpose;
    if data.header.typ.as_deref() != Some(purpose.typ())
        || claims.token_use != purpose.token_use()
        || claims.iss != expect.issuer
    {
        return Err(JwtError::Invalid);
    }
    // A token from the future (`iat`) or not yet valid (`nbf`) is refused with the same
    // leeway; `nbf` is optional, `iat` is not.
    let latest = expect.now.saturating_add(expect.leeway);
    if claims.iat > latest || claims.nbf.is_some_and(|nbf| nbf > latest) {
        return Err(JwtError::Invalid);
    }
    if claims.sub != expect.client_id || claims.aud != purpose.audience(expect.client_id) {
        // A token of the other purpose for this client was refused above by `typ`; an
        // audience of the other purpose for another client lands here, which is still "not
        // this client's".
        return Err(JwtError::WrongClient);
    }
    if claims.exp.saturating_add(expect.leeway) < expect.now {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// RFC 7638 thumbprint of an Ed25519 public key (`x` = base64url of the 32 raw bytes).
pub fn thumbprint_okp(x: &str) -> String {
    thumbprint(&format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#))
}

/// RFC 7638 thumbprint of a P-256 public key.
pub fn thumbprint_ec(x: &str, y: &str) -> String {
    thumbprint(&format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
    ))
}

fn thumbprint(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint_shape() {
        // RFC 8037 §A.3: the thumbprint of the RFC 8037 example Ed25519 key.
        assert_eq!(
            thumbprint_okp("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn purposes_differ_in_every_marker() {
        assert_ne!(Purpose::Access.typ(), Purpose::Refresh.typ());
        assert_ne!(Purpose::Access.token_use(), Purpose::Refresh.token_use());
        assert_eq!(Purpose::Access.audience("c1"), "urn:portcullis:mdr:api:c1");
        assert_eq!(
            Purpose::Refresh.audience("c1"),
            "urn:portcullis:mdr:session:c1"
        );
    }

    fn seg(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn key_id_refuses_bad_shapes_and_pointers() {
        let p = seg(&serde_json::json!({"exp": 1}));
        let ok = format!(
            "{}.{p}.c2ln",
            seg(&serde_json::json!({"alg":"EdDSA","kid":"abc"}))
        );
        assert_eq!(key_id(&ok), Ok("abc".into()));
        for header in [
            serde_json::json!({"alg":"EdDSA","kid":"abc","jku":"http://127.0.0.1:1/"}),
            serde_json::json!({"alg":"EdDSA","kid":"abc","jwk":{}}),
            serde_json::json!({"alg":"EdDSA","kid":"abc","x5u":"x"}),
            serde_json::json!({"alg":"EdDSA","kid":"abc","x5c":[]}),
            serde_json::json!({"alg":"EdDSA","kid":"abc","crit":["exp"]}),
            serde_json::json!({"alg":"EdDSA","kid":"../x"}),
            serde_json::json!({"alg":"EdDSA"}),
            serde_json::json!(["not an object"]),
        ] {
            let t = format!("{}.{p}.c2ln", seg(&header));
            assert_eq!(key_id(&t), Err(JwtError::Malformed), "{header}");
        }
        assert_eq!(key_id("a.b"), Err(JwtError::Malformed));
        assert_eq!(key_id(&format!("{ok}.x")), Err(JwtError::Malformed));
        assert_eq!(
            key_id(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            Err(JwtError::Malformed)
        );
    }
}
