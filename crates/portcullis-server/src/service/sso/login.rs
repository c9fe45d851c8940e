//! The two halves of a single sign-on login (`docs/sso.md`, "The flow").
//!
//! `begin` stores the flow (hashes of `state` and of the browser's flow cookie, the nonce,
//! the PKCE verifier) and builds the authorization request; `complete` takes the flow by its
//! `state` (single use), checks it came back to the browser that began it, redeems the code
//! with the verifier, verifies the id_token, maps the account and starts the session.

use super::provider::Metadata;
use super::{SsoFailure, account};
use crate::service::audit::{self, Outcome};
use crate::service::login;
use crate::state::AppState;
use portcullis_core::policy::next_is_allowed;
use portcullis_core::sso::SsoSettings;
use portcullis_core::sso::flow::{FLOW_LIFETIME, FlowSecrets, SCOPE, pkce_challenge};
use portcullis_core::sso::verify::{
    Expect, IdClaims, KeySet, Refusal, check_id_token, token_kid, verify_signature,
};
use portcullis_core::token::{PlainToken, TokenHash};
use portcullis_store::{SsoFlow, SsoSession};
use serde_json::Value;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Where a login lands without a usable `next`.
pub const LANDING: &str = "/sso/complete/";
/// The callback path, as AWX's (the `redirect_uri` to register at the provider).
pub const COMPLETE_PATH: &str = "/sso/complete/oidc/";

/// A begun login: where to send the browser, and the flow cookie's value.
#[derive(Debug)]
pub struct Begun {
    /// The provider's authorization URL with our parameters.
    pub location: String,
    /// The value of the flow cookie that binds the callback to this browser.
    pub browser: String,
}

/// A completed login.
#[derive(Debug)]
pub struct Completed {
    /// The new session's id.
    pub session: PlainToken,
    /// Its CSRF token.
    pub csrf_token: String,
    /// Where the browser goes next (a checked same-origin path or allowed origin).
    pub next: String,
}

/// What the provider sent back to the callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// RFC 9207 `iss`.
    pub iss: Option<String>,
    /// `error`, when the provider refused.
    pub error: Option<String>,
}

/// `next` when it may be followed (a same-origin path, or an exact allowed origin), else
/// the landing page.
pub fn safe_next(state: &AppState, next: Option<&str>) -> String {
    next.filter(|n| next_is_allowed(n, state.gateway.redirect_origins()))
        .unwrap_or(LANDING)
        .to_owned()
}

/// The `redirect_uri` for the origin the browser uses (`public_url`'s when configured, else
/// the request's; the provider accepts only a registered value, so a forged `Host` cannot
/// send a code anywhere).
pub fn complete_url(origin: &str) -> String {
    format!("{origin}{COMPLETE_PATH}")
}

fn configured(state: &AppState) -> Result<Arc<crate::service::settings::Snapshot>, SsoFailure> {
    let snap = state.settings.get();
    if snap.sso.configured() {
        Ok(snap)
    } else {
        Err(SsoFailure::NotConfigured)
    }
}

/// `GET /sso/login/oidc/`: stores a new flow and builds the authorization request. A client
/// network may begin `sso.begin_limit_per_minute` logins a minute.
pub async fn begin(
    state: &AppState,
    next: Option<&str>,
    request_origin: &str,
    client: std::net::IpAddr,
) -> Result<Begun, SsoFailure> {
    let snap = configured(state)?;
    crate::service::throttle::sso_begin(state, client).await?;
    let sso = &snap.sso;
    let (meta, _) = state
        .sso
        .provider
        .get(&state.sso.outbound, sso, state.clock.now())
        .await
        .map_err(|e| logged(SsoFailure::from(e)))?;
    let secrets = FlowSecrets::generate(state.rng.as_ref());
    let redirect_uri = complete_url(request_origin);
    let flow = SsoFlow {
        state_hash: TokenHash::of(&secrets.state),
        browser_hash: TokenHash::of(&secrets.browser),
        nonce: secrets.nonce.clone(),
        verifier: secrets.verifier.clone(),
        redirect_uri: redirect_uri.clone(),
        next: safe_next(state, next),
        expires_at: state.clock.now() + FLOW_LIFETIME,
    };
    state.store.create_sso_flow(flow).await?;
    let mut url = url::Url::parse(&meta.authorization_endpoint)
        .map_err(|_| SsoFailure::Misconfigured("authorization_endpoint is not a URL".into()))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &sso.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("state", &secrets.state)
        .append_pair("nonce", &secrets.nonce)
        .append_pair("code_challenge", &pkce_challenge(&secrets.verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(Begun {
        location: url.into(),
        browser: secrets.browser,
    })
}

/// Logs a failure once, with its detail, and returns it.
fn logged(f: SsoFailure) -> SsoFailure {
    match &f {
        SsoFailure::Provider(_) | SsoFailure::Misconfigured(_) => {
            tracing::warn!(event = "sso_provider", error = %f);
        }
        SsoFailure::Storage(_) => {}
        _ => tracing::info!(event = "sso_refused", reason = f.code(), error = %f),
    }
    f
}

/// `GET /sso/complete/oidc/`: completes the login whose `state` came back, in the browser
/// that began it (`browser`: its flow cookie), and starts a session (replacing `planted`).
pub async fn complete(
    state: &AppState,
    callback: &Callback,
    browser: Option<&str>,
    planted: Option<TokenHash>,
    client: std::net::IpAddr,
) -> Result<Completed, SsoFailure> {
    let result = complete_inner(state, callback, browser, planted).await;
    let mut e = match &result {
        Ok((_, user)) => audit::Event::new("login_success", Outcome::Success)
            .user(&user.username)
            .user_id(user.id.0),
        Err(SsoFailure::Storage(_)) => audit::Event::new("login_failure", Outcome::Unavailable),
        Err(f) => audit::Event::new("login_failure", Outcome::Failure).reason(f.code()),
    };
    e = e.via("sso").source(client);
    e.emit();
    result.map(|(c, _)| c).map_err(logged)
}

async fn complete_inner(
    state: &AppState,
    callback: &Callback,
    browser: Option<&str>,
    planted: Option<TokenHash>,
) -> Result<(Completed, portcullis_core::user::User), SsoFailure> {
    let snap = configured(state)?;
    let sso = &snap.sso;
    let now = state.clock.now();
    let given = callback
        .state
        .as_deref()
        .ok_or(SsoFailure::State("missing"))?;
    let flow = state
        .store
        .take_sso_flow(&TokenHash::of(given), now)
        .await?
        .ok_or(SsoFailure::State("unknown, used or expired"))?;
    let same_browser = browser.is_some_and(|b| {
        bool::from(
            TokenHash::of(b)
                .as_bytes()
                .ct_eq(flow.browser_hash.as_bytes()),
        )
    });
    if !same_browser {
        return Err(SsoFailure::State("another browser"));
    }
    if let Some(err) = &callback.error {
        return Err(SsoFailure::ProviderSaid(sanitize(err)));
    }
    let (meta, keys) = state
        .sso
        .provider
        .get(&state.sso.outbound, sso, now)
        .await?;
    // RFC 9207: a response naming another issuer, or none from a provider that promises to
    // name itself, may come from a mixed-up provider.
    match &callback.iss {
        Some(iss) if *iss != meta.issuer => return Err(SsoFailure::Mixup),
        None if meta.iss_parameter => return Err(SsoFailure::Mixup),
        _ => {}
    }
    let code = callback
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or(SsoFailure::ProviderSaid("no_code".into()))?;
    let tokens = redeem(state, sso, &meta, code, &flow).await?;
    let expect = Expect {
        issuer: &meta.issuer,
        client_id: &sso.client_id,
        trusted_audiences: &sso.trusted_audiences,
        now,
    };
    let verified = verify(state, sso, keys, &tokens.id_token).await?;
    let mut claims = check_id_token(
        &verified,
        &expect,
        &flow.nonce,
        tokens.access_token.as_deref(),
    )
    .map_err(SsoFailure::Token)?;
    if claims.preferred_username.is_none() && claims.email.is_none() {
        userinfo(
            state,
            sso,
            &meta,
            tokens.access_token.as_deref(),
            &mut claims,
        )
        .await?;
    }
    let user = account::resolve(state, sso, &meta.issuer, &claims).await?;
    let (session, csrf_token) = login::start_session(state, planted, &user).await?;
    state
        .store
        .record_sso_session(SsoSession {
            session: session.hash(),
            issuer: meta.issuer.clone(),
            subject: claims.subject.clone(),
            sid: claims.sid.clone(),
        })
        .await?;
    Ok((
        Completed {
            session,
            csrf_token,
            next: flow.next,
        },
        user,
    ))
}

/// A provider's error code as it may appear in a log line: letters, digits and `_`.
fn sanitize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

/// The token endpoint's answer.
struct Tokens {
    id_token: String,
    access_token: Option<String>,
}

/// Redeems `code` with the flow's verifier and `redirect_uri`.
async fn redeem(
    state: &AppState,
    sso: &SsoSettings,
    meta: &Metadata,
    code: &str,
    flow: &SsoFlow,
) -> Result<Tokens, SsoFailure> {
    let secret = sso.client_secret.expose();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", flow.redirect_uri.as_str()),
        ("code_verifier", flow.verifier.as_str()),
    ];
    let basic = if meta.basic_auth {
        Some((sso.client_id.as_str(), secret))
    } else {
        form.push(("client_id", sso.client_id.as_str()));
        form.push(("client_secret", secret));
        None
    };
    let answer = state
        .sso
        .outbound
        .post_form(sso.verify_ssl, "token", &meta.token_endpoint, &form, basic)
        .await
        .map_err(|e| SsoFailure::Provider(e.0))?;
    let body: Value = serde_json::from_slice(&answer.body)
        .map_err(|_| SsoFailure::Provider(format!("token: status {}, not JSON", answer.status)))?;
    if answer.status != 200 {
        let error = body.get("error").and_then(Value::as_str).unwrap_or("?");
        // The provider answered and refused the code (used, expired, or redeemed with
        // another flow's verifier): the login was not granted, the provider is not down.
        if error == "invalid_client" || answer.status == 401 {
            return Err(SsoFailure::Misconfigured(
                "the token endpoint refused the client id or secret".into(),
            ));
        }
        if (400..500).contains(&answer.status) {
            tracing::info!(event = "sso_code_refused", status = answer.status, error);
            return Err(SsoFailure::ProviderSaid(sanitize(error)));
        }
        return Err(SsoFailure::Provider(format!(
            "token: status {}, error {error:?}",
            answer.status
        )));
    }
    let id_token = body
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| SsoFailure::Provider("token: no id_token".into()))?
        .to_owned();
    Ok(Tokens {
        id_token,
        access_token: body
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Verifies a token's signature (id_token or logout token), fetching the keys again
/// (rate-limited) when it names a `kid` the cached set does not hold.
pub(super) async fn verify(
    state: &AppState,
    sso: &SsoSettings,
    keys: Arc<KeySet>,
    token: &str,
) -> Result<portcullis_core::sso::verify::Verified, SsoFailure> {
    match verify_signature(token, &keys) {
        Err(Refusal::UnknownKey) => {
            let kid_is_new = token_kid(token).is_none_or(|k| !keys.has_kid(&k));
            if !kid_is_new {
                return Err(SsoFailure::Token(Refusal::UnknownKey));
            }
            let fresh = state
                .sso
                .provider
                .refetch_keys(&state.sso.outbound, sso, &keys, state.clock.now())
                .await?
                .ok_or(SsoFailure::Token(Refusal::UnknownKey))?;
            verify_signature(token, &fresh).map_err(SsoFailure::Token)
        }
        other => other.map_err(SsoFailure::Token),
    }
}

/// Reads the claims the id_token lacked from userinfo; its `sub` must be the id_token's.
async fn userinfo(
    state: &AppState,
    sso: &SsoSettings,
    meta: &Metadata,
    access_token: Option<&str>,
    claims: &mut IdClaims,
) -> Result<(), SsoFailure> {
    let (Some(url), Some(token)) = (&meta.userinfo_endpoint, access_token) else {
        return Ok(());
    };
    let body = state
        .sso
        .outbound
        .get_bearer(sso.verify_ssl, "userinfo", url, token)
        .await
        .map_err(|e| SsoFailure::Provider(e.0))?;
    let info: Value = serde_json::from_slice(&body)
        .map_err(|_| SsoFailure::Provider("userinfo is not JSON".into()))?;
    if info.get("sub").and_then(Value::as_str) != Some(claims.subject.as_str()) {
        return Err(SsoFailure::UserinfoSubject);
    }
    let text = |k: &str| {
        info.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    claims.preferred_username = claims
        .preferred_username
        .take()
        .or_else(|| text("preferred_username"));
    if claims.email.is_none() {
        claims.email = text("email");
        claims.email_verified = info.get("email_verified") == Some(&Value::Bool(true));
    }
    claims.given_name = claims.given_name.take().or_else(|| text("given_name"));
    claims.family_name = claims.family_name.take().or_else(|| text("family_name"));
    Ok(())
}
