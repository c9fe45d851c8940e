//! The OAuth2 grants of `/api/o/token/` and the authorization-code issue of
//! `/api/o/authorize/`, as domain logic: which client may use
//! which grant, refresh rotation with reuse detection, single-use PKCE-bound codes. The
//! handlers in `api/awx/oauth/` parse the forms and render the [`ServiceError`]s as RFC 6749
//! errors.

use crate::service::error::{Credential, Refusal, ServiceError, ServiceResult};
use crate::service::{audit, login, tokens};
use crate::state::AppState;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::ids::UserId;
use portcullis_core::scope::Scope;
use portcullis_core::token::{self, TokenHash, TokenKind};
use portcullis_core::user::User;
use portcullis_store::{ApplicationRecord, NewAuthCode, RotateOutcome, Rotation};
use secrecy::SecretString;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The grants of the token endpoint an application may be registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `grant_type=password` (the resource-owner password grant).
    Password,
    /// `grant_type=authorization_code`.
    AuthorizationCode,
}

/// A refused grant: the presented refresh token or code cannot be used.
fn refused(why: Refusal) -> ServiceError {
    ServiceError::CredentialRefused(Credential::OAuthGrant, why)
}

/// Whether `app` may use `grant` here: its registered grant type, and for the password grant
/// the server's `oauth2.password_grant` switch. Refused as [`ServiceError::not_permitted`]
/// (RFC 6749's `unauthorized_client`).
pub fn allow_grant(state: &AppState, app: &ApplicationRecord, grant: Grant) -> ServiceResult<()> {
    let allowed = match grant {
        Grant::Password => {
            app.authorization_grant_type == "password" && state.config.oauth2.password_grant
        }
        Grant::AuthorizationCode => app.authorization_grant_type == "authorization-code",
    };
    if allowed {
        Ok(())
    } else {
        Err(ServiceError::not_permitted())
    }
}

/// The password grant: checks the user's password (counted by the brute-force limits) and
/// mints an application token with a refresh token. Bad credentials are
/// [`Credential::Awx`] refusals.
pub async fn password_grant(
    state: &AppState,
    app: &ApplicationRecord,
    username: &str,
    password: &SecretString,
    scope: &str,
    client: std::net::IpAddr,
) -> ServiceResult<tokens::Issued> {
    let via = login::PasswordVia::PasswordGrant(&app.client_id);
    let Some(user) = login::check_password(state, username, password, via, client).await? else {
        return Err(ServiceError::CredentialRefused(
            Credential::Awx,
            Refusal::Invalid,
        ));
    };
    tokens::mint(state, Some(&user), &user, Some(app), scope, "").await
}

/// True when every word of `narrow` is in `wide`, where `write` includes `read`.
fn within(narrow: &str, wide: &str) -> bool {
    let (Some(n), Some(w)) = (Scope::parse(narrow), Scope::parse(wide)) else {
        return false;
    };
    w.allows_write() || !n.allows_write()
}

/// The owner of a grant; a grant whose owner is gone is refused.
async fn owner(state: &AppState, id: UserId) -> ServiceResult<User> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or(refused(Refusal::Invalid))
}

/// The refresh-token grant: rotates `presented` into a new access and refresh token of the
/// same family, narrowing the scope to `requested` when given. One store transaction with
/// reuse detection: a spent token presented again revokes the whole family.
pub async fn refresh_grant(
    state: &AppState,
    app: &ApplicationRecord,
    presented: &str,
    requested: Option<&str>,
) -> ServiceResult<tokens::Issued> {
    let Ok(hash) = token::parse(TokenKind::AppRefresh, presented) else {
        return Err(refused(Refusal::Invalid));
    };
    if requested.is_some_and(|s| Scope::parse(s).is_none()) {
        return Err(ServiceError::invalid("scope"));
    }
    // Read-only pre-checks: narrowing and the owner's external-user rule. The rotation
    // re-checks everything in its own transaction, including reuse of a spent token.
    let mut scope = String::new();
    if let Some((client, user_id, old_scope)) = state.store.refresh_token_owner(&hash).await? {
        if client != app.id {
            return Err(refused(Refusal::OtherClient));
        }
        if let Some(r) = requested {
            if !within(r, &old_scope) {
                return Err(ServiceError::invalid("scope"));
            }
            scope = r.to_owned();
        }
        let user = owner(state, user_id).await?;
        tokens::may_mint(state, &user)?;
    }
    let now = state.clock.now();
    let auth = state.settings.get().auth.clone();
    let access = token::PlainToken::generate(TokenKind::AppAccess, state.rng.as_ref());
    let refresh = token::PlainToken::generate(TokenKind::AppRefresh, state.rng.as_ref());
    let rotation = Rotation {
        presented: hash,
        client: app.id,
        successor: portcullis_store::NewAccessToken {
            hash: access.hash(),
            // Taken from the presented token's family by the store.
            user_id: UserId(0),
            application_id: Some(app.id),
            scope,
            description: String::new(),
            created_at: now,
            expires_at: now + time::Duration::seconds(auth.access_token_expire_seconds.max(1)),
            refresh: Some(portcullis_store::NewRefreshToken {
                hash: refresh.hash(),
                expires_at: now + time::Duration::seconds(auth.refresh_token_expire_seconds.max(1)),
            }),
            from_code: None,
        },
        now,
        race_tolerance: time::Duration::milliseconds(
            i64::try_from(state.config.oauth2.refresh_race_tolerance_ms).unwrap_or(1000),
        ),
        // The store lowers the successor's deadline to the family's cap (it knows its start).
        family_max_lifetime: tokens::family_cap(state),
    };
    let entry = tokens::activity(
        state,
        None,
        "create",
        None,
        json!({"application": app.id.0, "token": tokens::MASKED, "refresh_token": tokens::MASKED, "grant": "refresh_token"}),
    );
    let outcome = state.store.rotate_refresh(rotation, entry).await?;
    // The presented token's access token is gone (or its family revoked): on this node too.
    state.changes.catch_up(state).await;
    match outcome {
        RotateOutcome::Rotated(record) => {
            audit::Event::new("refresh_rotated", audit::Outcome::Success)
                .via("refresh_token")
                .user_id(record.user_id.0)
                .user(&record.username)
                .client_id(&app.client_id)
                .token(&record.id.0.to_string())
                .emit();
            Ok(tokens::Issued {
                record: *record,
                token: access,
                refresh: Some(refresh),
            })
        }
        RotateOutcome::Expired => Err(refused(Refusal::Expired)),
        RotateOutcome::RaceLost => Err(refused(Refusal::Concurrent)),
        RotateOutcome::Reused { user_id } => {
            // The spent token was presented again: the whole family was revoked.
            audit::Event::new("refresh_token_reuse", audit::Outcome::Failure)
                .via("refresh_token")
                .user_id(user_id.0)
                .client_id(&app.client_id)
                .reason("family_revoked")
                .emit();
            Err(refused(Refusal::Reused))
        }
        RotateOutcome::Unknown => Err(refused(Refusal::Invalid)),
        RotateOutcome::WrongClient => Err(refused(Refusal::OtherClient)),
    }
}

/// `base64url(SHA-256(verifier)) == challenge` (RFC 7636 §4.6), compared in constant time.
fn pkce_matches(verifier: &str, challenge: &str, method: &str) -> bool {
    // RFC 7636 §4.1: 43–128 unreserved characters.
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        "plain" => verifier.to_owned(),
        _ => return false,
    };
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// The authorization-code grant: spends `code` (single use; a replay revokes what it was
/// exchanged for), checks the redirect URI and the PKCE verifier, and mints the token. A
/// missing verifier where one is needed is a [`Refusal::Missing`].
pub async fn code_grant(
    state: &AppState,
    app: &ApplicationRecord,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> ServiceResult<tokens::Issued> {
    let now = state.clock.now();
    let code_hash = TokenHash::of(code);
    let Some(grant) = state
        .store
        .consume_auth_code(&code_hash, app.id, now)
        .await?
    else {
        // RFC 6749 §4.1.2: a code used twice may have been stolen; the tokens already
        // issued for it are revoked (the whole refresh family).
        if state
            .store
            .revoke_code_grant(&code_hash, app.id, now)
            .await?
        {
            state.changes.catch_up(state).await;
            audit::Event::new("authorization_code_replayed", audit::Outcome::Failure)
                .via("authorization_code")
                .client_id(&app.client_id)
                .token(&code_hash.log_ref())
                .reason("tokens_revoked")
                .emit();
        }
        return Err(refused(Refusal::Invalid));
    };
    // The code is spent whatever follows: a wrong redirect or verifier must not leave it
    // usable for a second guess.
    if grant.redirect_uri != redirect_uri {
        return Err(refused(Refusal::Invalid));
    }
    match (&grant.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let method = grant.code_challenge_method.as_deref().unwrap_or("plain");
            if !pkce_matches(verifier, challenge, method) {
                return Err(refused(Refusal::Invalid));
            }
        }
        (Some(_), None) => return Err(refused(Refusal::Missing)),
        (None, _) if app.secret_hash.is_none() => return Err(refused(Refusal::Missing)),
        (None, _) => {}
    }
    let user = owner(state, grant.user_id).await?;
    if !user.is_active {
        return Err(refused(Refusal::Revoked));
    }
    tokens::mint_for_code(state, &user, app, &grant.scope, code_hash).await
}

/// A validated authorization request of the consent flow.
#[derive(Debug, Clone)]
pub struct CodeRequest {
    /// The client.
    pub app: ApplicationRecord,
    /// The registered redirect URI the code goes back to.
    pub redirect_uri: String,
    /// The scope granted.
    pub scope: String,
    /// The PKCE challenge and its method, if the client sent one.
    pub challenge: Option<(String, String)>,
}

/// Issues a single-use authorization code for `user`; returns the clear code.
pub async fn issue_code(state: &AppState, user: &User, req: &CodeRequest) -> ServiceResult<String> {
    let raw: [u8; 32] = portcullis_core::rng::bytes(state.rng.as_ref());
    let code = URL_SAFE_NO_PAD.encode(raw);
    let now = state.clock.now();
    let ttl = state
        .settings
        .get()
        .auth
        .authorization_code_expire_seconds
        .max(1);
    let new = NewAuthCode {
        hash: TokenHash::of(&code),
        application_id: req.app.id,
        user_id: user.id,
        redirect_uri: req.redirect_uri.clone(),
        scope: req.scope.clone(),
        code_challenge: req.challenge.as_ref().map(|(c, _)| c.clone()),
        code_challenge_method: req.challenge.as_ref().map(|(_, m)| m.clone()),
        created_at: now,
        expires_at: now + time::Duration::seconds(ttl),
    };
    state.store.create_auth_code(new).await?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge, "S256"));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cX",
            "S256"
        ));
        assert!(!pkce_matches("short", "short", "plain"));
    }

    #[test]
    fn narrowing_never_widens() {
        assert!(within("read", "read write"));
        assert!(within("read", "write"));
        assert!(within("write", "read write"));
        assert!(!within("write", "read"));
        assert!(!within("read write", "read"));
    }
}
