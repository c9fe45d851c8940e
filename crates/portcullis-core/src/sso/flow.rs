//! The values one login carries (`docs/sso.md`, "The flow").
//!
//! `state` binds the callback to the flow stored at the start (and, through the flow cookie,
//! to the browser that began it); `nonce` binds the id_token to the flow; the PKCE verifier
//! binds the code to it (RFC 7636, S256 only). All three are 256-bit (nonce 384-bit) random
//! values, single use.

use crate::rng::{Rng, bytes};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::Duration;

/// The scopes every authorization request asks for, as AWX.
pub const SCOPE: &str = "openid profile email";
/// How long a begun login waits for its callback.
pub const FLOW_LIFETIME: Duration = Duration::minutes(10);
/// How old an id_token's `iat` may be (AWX's `ID_TOKEN_MAX_AGE`).
pub const ID_TOKEN_MAX_AGE: Duration = Duration::seconds(600);
/// Clock skew allowed on `exp`, `nbf` and an `iat` in the future.
pub const LEEWAY: Duration = Duration::seconds(60);
/// How old a logout token's `iat` may be; its `jti` is remembered this long plus the leeway.
pub const LOGOUT_MAX_AGE: Duration = Duration::seconds(300);
/// The event a back-channel logout token carries (OpenID Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A random URL-safe value of `N` bytes (base64url, no padding).
fn random<const N: usize>(rng: &dyn Rng) -> String {
    URL_SAFE_NO_PAD.encode(bytes::<N>(rng))
}

/// The random values of one login.
pub struct FlowSecrets {
    /// `state` (43 characters).
    pub state: String,
    /// `nonce` (64 characters, as AWX's).
    pub nonce: String,
    /// PKCE `code_verifier` (43 characters).
    pub verifier: String,
    /// The value of the browser's flow cookie (43 characters).
    pub browser: String,
}

impl std::fmt::Debug for FlowSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowSecrets(..)")
    }
}

impl FlowSecrets {
    /// Draws the values of a new login.
    pub fn generate(rng: &dyn Rng) -> Self {
        Self {
            state: random::<32>(rng),
            nonce: random::<48>(rng),
            verifier: random::<32>(rng),
            browser: random::<32>(rng),
        }
    }
}

/// The S256 `code_challenge` of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_base64url_sha256_without_padding() {
        // Computed independently: base64.urlsafe_b64encode(hashlib.sha256(v).digest()), "=" cut.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk"),
            "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g"
        );
    }

    #[test]
    fn secrets_have_the_documented_lengths() {
        let s = FlowSecrets::generate(&crate::rng::OsRng);
        assert_eq!(s.state.len(), 43);
        assert_eq!(s.nonce.len(), 64);
        assert_eq!(s.verifier.len(), 43);
        assert_ne!(s.state, s.verifier);
        assert_eq!(format!("{s:?}"), "FlowSecrets(..)");
    }
}
