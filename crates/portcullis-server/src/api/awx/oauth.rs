//! The OAuth2 endpoints under `/api/o/` (`docs/awx-compat.md`, "OAuth2 endpoints";
//! `docs/security.md`, "Token endpoint and ownership", "Refresh rotation"): `token/` (password,
//! refresh-token and authorization-code grants), `revoke_token/` (RFC 7009), `introspect/` (RFC
//! 7662) and the `authorize/` consent page.
//!
//! Policy: bodies are form-encoded only; client credentials come from `Authorization: Basic`
//! or the form, never the query string; errors are RFC 6749 §5.2 JSON; storage failures are
//! 503 `temporarily_unavailable`, never a grant or a 200 revocation. Refresh rotation is one
//! store transaction with reuse detection; codes are single use and PKCE-bound.

use crate::api::awx::login::{csrf_failure, html, is_form, never_cache, parse_form};
use crate::auth::{csrf, session};
use crate::error::{ApiError, ErrorCause};
use crate::extract::body::{self, BodyError};
use crate::extract::client_ip::request_origin;
use crate::extract::nul;
use crate::service::error::{Forbidden, ServiceError};
use crate::service::{audit, login, throttle, tokens};
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::basic::{Authorization, parse_authorization};
use portcullis_core::ids::UserId;
use portcullis_core::scope::Scope;
use portcullis_core::token::{self, TokenHash, TokenKind};
use portcullis_core::user::User;
use portcullis_store::{ApplicationRecord, NewAuthCode, RevokeOutcome, RotateOutcome, Rotation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An RFC 6749 §5.2 error answer.
#[derive(Debug)]
pub enum OAuthError {
    /// 400 with `error` and an optional description.
    BadRequest(&'static str, Option<&'static str>),
    /// 401 `invalid_client` with the Basic client-authentication challenge.
    InvalidClient,
    /// 403 `text/html` (AWX's external-user refusal on the token endpoint).
    Forbidden(String),
    /// 400 `invalid_grant` for a locked account, with `Retry-After` seconds.
    Locked(u64),
    /// 429 for a throttled client network, with `Retry-After` seconds.
    Throttled(u64),
    /// 413: the form is above `limits.auth_body` (`docs/security.md`, "Input handling").
    PayloadTooLarge,
    /// 408: the form did not arrive within `limits.body_read_timeout_seconds`.
    BodyTimeout,
    /// 503 `temporarily_unavailable`; the string is the cause, for the log only (the
    /// RFC 6749 body cannot carry it). It rides the response as an [`ErrorCause`], which the
    /// request envelope logs once with the request id.
    Unavailable(String),
}

impl From<ServiceError> for OAuthError {
    /// The `/api/o/` renderer of the service error.
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Forbidden(Forbidden::ExternalUserTokens { kind }) => {
                Self::Forbidden(crate::error::external_refusal(&kind))
            }
            ServiceError::Invalid(_) => Self::BadRequest("invalid_scope", None),
            ServiceError::Locked { retry_after } => Self::Locked(retry_after),
            ServiceError::Throttled { retry_after } => Self::Throttled(retry_after),
            ServiceError::ValueRefused(why) => {
                // Client input: a debug line, never a warning.
                tracing::debug!(cause = %why, "value refused by the database");
                VALUE_REFUSED
            }
            // Anything else on these endpoints is a failure to answer, never a grant.
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<portcullis_store::StoreError> for OAuthError {
    fn from(e: portcullis_store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = match self {
            Self::BadRequest(error, description) => {
                let body = match description {
                    Some(d) => json!({"error": error, "error_description": d}),
                    None => json!({ "error": error }),
                };
                (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
            }
            Self::InvalidClient => {
                let mut r = (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "invalid_client"})),
                )
                    .into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"api\""),
                );
                r
            }
            Self::Forbidden(text) => html(StatusCode::FORBIDDEN, text),
            Self::Locked(secs) | Self::Throttled(secs) => {
                let (status, body) = if matches!(self, Self::Locked(_)) {
                    (
                        StatusCode::BAD_REQUEST,
                        json!({"error": "invalid_grant", "error_description": "Invalid credentials given."}),
                    )
                } else {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        json!({"error": "invalid_request", "error_description": "Too many failed attempts from this address."}),
                    )
                };
                let mut r = (status, axum::Json(body)).into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                r
            }
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(json!({
                    "error": "invalid_request",
                    "error_description": "Request body is too large."
                })),
            )
                .into_response(),
            Self::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                axum::Json(json!({
                    "error": "invalid_request",
                    "error_description": crate::error::BODY_TIMEOUT
                })),
            )
                .into_response(),
            Self::Unavailable(cause) => {
                let mut r = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({"error": "temporarily_unavailable"})),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r.extensions_mut().insert(ErrorCause(cause));
                r
            }
        };
        no_store(&mut resp);
        resp
    }
}

type OAuthResult<T> = Result<T, OAuthError>;

const INVALID_REQUEST: OAuthError = OAuthError::BadRequest("invalid_request", None);
/// A NUL character in the query or the form.
pub(crate) const NUL_REFUSED: OAuthError =
    OAuthError::BadRequest("invalid_request", Some(crate::error::NUL_REFUSED));
/// A value the database refused.
const VALUE_REFUSED: OAuthError =
    OAuthError::BadRequest("invalid_request", Some(crate::error::VALUE_REFUSED));

/// A parsed form body: each parameter at most once (RFC 6749 §3.1).
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Reads a form body; anything else is `invalid_request`, and so are credentials in the
/// query string (they would end up in access logs).
async fn read_form(state: &AppState, parts: &Parts, body: Body) -> OAuthResult<Form> {
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).map_err(|_| INVALID_REQUEST)?;
    if nul::in_pairs(&query) {
        return Err(NUL_REFUSED);
    }
    if query.iter().any(|(k, _)| {
        matches!(
            k.as_str(),
            "client_id" | "client_secret" | "password" | "refresh_token" | "code"
        )
    }) {
        return Err(INVALID_REQUEST);
    }
    if !is_form(&parts.headers) {
        return Err(INVALID_REQUEST);
    }
    let bytes = body::read(body, state.config.limits.auth_body)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => OAuthError::PayloadTooLarge,
            BodyError::Unreadable => INVALID_REQUEST,
        })?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| INVALID_REQUEST)?;
    if nul::in_pairs(&pairs) {
        return Err(NUL_REFUSED);
    }
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs.iter().skip(i + 1).any(|(other, _)| other == k) {
            return Err(INVALID_REQUEST);
        }
    }
    Ok(Form(pairs))
}

/// RFC 6749 §2.3.1 client authentication: Basic or form fields. Confidential clients must
/// present their secret; public clients only their id.
async fn authenticate_client(
    state: &AppState,
    parts: &Parts,
    form: &Form,
) -> OAuthResult<ApplicationRecord> {
    let (client_id, secret): (String, Option<SecretString>) = match parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| parse_authorization(v.as_bytes()))
    {
        Some(Authorization::Basic { username, password }) => (username, Some(password)),
        Some(_) => return Err(OAuthError::InvalidClient),
        None => match form.get("client_id") {
            Some(id) => (
                id.to_owned(),
                form.get("client_secret")
                    .map(|s| SecretString::from(s.to_owned())),
            ),
            None => return Err(OAuthError::InvalidClient),
        },
    };
    // Failed client authentications are counted per client id and source network (a
    // sliding window of 20 in 10 min → 429 for that network only), whether or not the id
    // exists, so guessing a secret is bounded too.
    let source = request_origin(state, parts).client_ip;
    throttle::client_check(state, &client_id, source).await?;
    let verdict = client_verdict(state, &client_id, secret).await?;
    if verdict.is_none() {
        throttle::client_failed(state, &client_id, source).await?;
    }
    verdict.ok_or(OAuthError::InvalidClient)
}

/// The application whose credentials these are, if they are right.
async fn client_verdict(
    state: &AppState,
    client_id: &str,
    secret: Option<SecretString>,
) -> OAuthResult<Option<ApplicationRecord>> {
    let Some(app) = state.store.application_by_client_id(client_id).await? else {
        return Ok(None);
    };
    match (&app.secret_hash, secret) {
        (None, _) => Ok(Some(app)),
        (Some(stored), Some(presented)) => {
            let Ok(hash) = token::parse(TokenKind::ClientSecret, presented.expose_secret()) else {
                return Ok(None);
            };
            Ok(bool::from(hash.as_bytes().ct_eq(stored.as_bytes())).then_some(app))
        }
        (Some(_), None) => Ok(None),
    }
}

/// Parses a requested scope, defaulting to `read write` (`docs/awx-compat.md`, "Token endpoint").
fn requested_scope(form: &Form) -> OAuthResult<String> {
    match form.get("scope") {
        None => Ok("read write".into()),
        Some(s) if Scope::parse(s).is_some() => Ok(s.to_owned()),
        Some(_) => Err(OAuthError::BadRequest("invalid_scope", None)),
    }
}

/// True when every word of `narrow` is in `wide`, where `write` includes `read`.
fn within(narrow: &str, wide: &str) -> bool {
    let (Some(n), Some(w)) = (Scope::parse(narrow), Scope::parse(wide)) else {
        return false;
    };
    w.allows_write() || !n.allows_write()
}

fn token_response(issued: &tokens::Issued, expires_in: i64) -> Response {
    let body = json!({
        "access_token": issued.token.expose(),
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": issued.record.scope,
        "refresh_token": issued.refresh.as_ref().map(|r| r.expose()),
    });
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(&mut resp);
    resp
}

fn expires_in(issued: &tokens::Issued) -> i64 {
    (issued.record.expires_at - issued.record.created_at).whole_seconds()
}

/// `POST /api/o/token/`
#[utoipa::path(post, path = "/api/o/token/", tag = "oauth2",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "grant_type=password (username, password, scope) | refresh_token (refresh_token, scope) | authorization_code (code, redirect_uri, code_verifier); client credentials in Basic or the form"),
    responses((status = 200, description = "{access_token, expires_in, token_type, scope, refresh_token}"),
              (status = 400, description = "invalid_request, invalid_grant, unsupported_grant_type, unauthorized_client, invalid_scope"),
              (status = 401, description = "invalid_client"),
              (status = 403, description = "External user while not allowed (text/html)")))]
pub async fn token(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    match grant(&state, &parts, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn grant(state: &AppState, parts: &Parts, body: Body) -> OAuthResult<Response> {
    let form = read_form(state, parts, body).await?;
    let grant_type = form.get("grant_type");
    if !matches!(
        grant_type,
        Some(
            "password" | "refresh_token" | "authorization_code" | "client_credentials" | "implicit"
        )
    ) {
        return Err(OAuthError::BadRequest("unsupported_grant_type", None));
    }
    let app = authenticate_client(state, parts, &form).await?;
    match grant_type {
        Some("password") => {
            let client = request_origin(state, parts).client_ip;
            password_grant(state, &app, &form, client).await
        }
        Some("refresh_token") => refresh_grant(state, &app, &form).await,
        Some("authorization_code") => code_grant(state, &app, &form).await,
        // Machine clients use the MDR-style exchange; these grants are never offered.
        _ => Err(OAuthError::BadRequest("unauthorized_client", None)),
    }
}

const BAD_CREDENTIALS: OAuthError =
    OAuthError::BadRequest("invalid_grant", Some("Invalid credentials given."));

async fn password_grant(
    state: &AppState,
    app: &ApplicationRecord,
    form: &Form,
    client: std::net::IpAddr,
) -> OAuthResult<Response> {
    if app.authorization_grant_type != "password" || !state.config.oauth2.password_grant {
        return Err(OAuthError::BadRequest("unauthorized_client", None));
    }
    let scope = requested_scope(form)?;
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return Err(OAuthError::BadRequest("invalid_request", None));
    };
    let password = SecretString::from(password.to_owned());
    let via = login::PasswordVia::PasswordGrant(&app.client_id);
    let Some(user) = login::check_password(state, username, &password, via, client).await? else {
        return Err(BAD_CREDENTIALS);
    };
    let issued = tokens::mint(state, Some(&user), &user, Some(app), &scope, "").await?;
    Ok(token_response(&issued, expires_in(&issued)))
}

async fn owner(state: &AppState, id: UserId) -> OAuthResult<User> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or(OAuthError::BadRequest("invalid_grant", None))
}

async fn refresh_grant(
    state: &AppState,
    app: &ApplicationRecord,
    form: &Form,
) -> OAuthResult<Response> {
    let Some(presented) = form.get("refresh_token") else {
        return Err(OAuthError::BadRequest("invalid_request", None));
    };
    let Ok(hash) = token::parse(TokenKind::AppRefresh, presented) else {
        return Err(OAuthError::BadRequest("invalid_grant", None));
    };
    let requested = form.get("scope");
    if requested.is_some_and(|s| Scope::parse(s).is_none()) {
        return Err(OAuthError::BadRequest("invalid_scope", None));
    }
    // Read-only pre-checks: narrowing and the owner's external-user rule. The rotation
    // re-checks everything in its own transaction, including reuse of a spent token.
    let mut scope = String::new();
    if let Some((client, user_id, old_scope)) = state.store.refresh_token_owner(&hash).await? {
        if client != app.id {
            return Err(OAuthError::BadRequest("invalid_grant", None));
        }
        if let Some(r) = requested {
            if !within(r, &old_scope) {
                return Err(OAuthError::BadRequest("invalid_scope", None));
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
    match state.store.rotate_refresh(rotation, entry).await? {
        RotateOutcome::Rotated(record) => {
            audit::Event::new("refresh_rotated", audit::Outcome::Success)
                .via("refresh_token")
                .user_id(record.user_id.0)
                .user(&record.username)
                .client_id(&app.client_id)
                .token(&record.id.0.to_string())
                .emit();
            let issued = tokens::Issued {
                record: *record,
                token: access,
                refresh: Some(refresh),
            };
            Ok(token_response(&issued, expires_in(&issued)))
        }
        RotateOutcome::Expired => Err(OAuthError::BadRequest(
            "invalid_grant",
            Some("The refresh token has expired."),
        )),
        RotateOutcome::RaceLost => Err(OAuthError::BadRequest(
            "invalid_request",
            Some(
                "This refresh token was just rotated by another request; use the newest refresh token.",
            ),
        )),
        RotateOutcome::Reused { user_id } => {
            // The spent token was presented again: the whole family was revoked.
            audit::Event::new("refresh_token_reuse", audit::Outcome::Failure)
                .via("refresh_token")
                .user_id(user_id.0)
                .client_id(&app.client_id)
                .reason("family_revoked")
                .emit();
            Err(OAuthError::BadRequest("invalid_grant", None))
        }
        RotateOutcome::Unknown | RotateOutcome::WrongClient => {
            Err(OAuthError::BadRequest("invalid_grant", None))
        }
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

async fn code_grant(
    state: &AppState,
    app: &ApplicationRecord,
    form: &Form,
) -> OAuthResult<Response> {
    if app.authorization_grant_type != "authorization-code" {
        return Err(OAuthError::BadRequest("unauthorized_client", None));
    }
    let (Some(code), Some(redirect_uri)) = (form.get("code"), form.get("redirect_uri")) else {
        return Err(OAuthError::BadRequest("invalid_request", None));
    };
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
            audit::Event::new("authorization_code_replayed", audit::Outcome::Failure)
                .via("authorization_code")
                .client_id(&app.client_id)
                .token(&code_hash.log_ref())
                .reason("tokens_revoked")
                .emit();
        }
        return Err(OAuthError::BadRequest("invalid_grant", None));
    };
    // The code is spent whatever follows: a wrong redirect or verifier must not leave it
    // usable for a second guess.
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::BadRequest("invalid_grant", None));
    }
    match (&grant.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let method = grant.code_challenge_method.as_deref().unwrap_or("plain");
            if !pkce_matches(verifier, challenge, method) {
                return Err(OAuthError::BadRequest("invalid_grant", None));
            }
        }
        (Some(_), None) => return Err(OAuthError::BadRequest("invalid_request", None)),
        (None, _) if app.secret_hash.is_none() => {
            return Err(OAuthError::BadRequest("invalid_request", None));
        }
        (None, _) => {}
    }
    let user = owner(state, grant.user_id).await?;
    if !user.is_active {
        return Err(OAuthError::BadRequest("invalid_grant", None));
    }
    let issued = tokens::mint_for_code(state, &user, app, &grant.scope, code_hash).await?;
    Ok(token_response(&issued, expires_in(&issued)))
}

/// `POST /api/o/revoke_token/` (RFC 7009)
#[utoipa::path(post, path = "/api/o/revoke_token/", tag = "oauth2",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint; client credentials"),
    responses((status = 200, description = "Revoked, or unknown (empty body)"),
              (status = 400, description = "Another client's token: unauthorized_client"),
              (status = 401, description = "invalid_client")))]
pub async fn revoke_token(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let outcome = async {
        let form = read_form(&state, &parts, body).await?;
        let app = authenticate_client(&state, &parts, &form).await?;
        let Some(presented) = form.get("token") else {
            return Err(INVALID_REQUEST);
        };
        let hash = match TokenKind::of(presented) {
            Some(k @ (TokenKind::AppAccess | TokenKind::AppRefresh)) => {
                token::parse(k, presented).ok()
            }
            // PATs are revoked with DELETE /api/v2/tokens/<id>/, not by a client.
            Some(TokenKind::PersonalAccess) => {
                return Err(OAuthError::BadRequest("unauthorized_client", None));
            }
            _ => None,
        };
        let Some(hash) = hash else {
            return Ok(RevokeOutcome::Unknown);
        };
        let entry = tokens::activity(
            &state,
            None,
            "delete",
            None,
            json!({"application": app.id.0, "token": tokens::MASKED, "via": "revoke_token"}),
        );
        let outcome = state
            .store
            .revoke_token_by_hash(&hash, app.id, state.clock.now(), entry)
            .await?;
        if let RevokeOutcome::Revoked { user_id } = outcome {
            audit::Event::new("token_revoked", audit::Outcome::Success)
                .via("revoke_token")
                .user_id(user_id.0)
                .client_id(&app.client_id)
                .token(&hash.log_ref())
                .emit();
        }
        Ok(outcome)
    }
    .await;
    match outcome {
        Ok(RevokeOutcome::WrongClient) => {
            OAuthError::BadRequest("unauthorized_client", None).into_response()
        }
        Ok(_) => {
            let mut resp = (StatusCode::OK, "").into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /api/o/introspect/` (RFC 7662) for resource servers: authentication of a
/// confidential client is required, and anything that is not a live access token is exactly `{"active": false}`.
#[utoipa::path(post, path = "/api/o/introspect/", tag = "oauth2",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token; client credentials"),
    responses((status = 200, description = "{active, scope, client_id, username, token_type, exp} or {active: false}"),
              (status = 401, description = "invalid_client")))]
pub async fn introspect(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let answer = async {
        let form = read_form(&state, &parts, body).await?;
        let client = authenticate_client(&state, &parts, &form).await?;
        // A public client id is no credential (anyone can read it from the client), so only
        // confidential clients (resource servers) may introspect.
        if client.secret_hash.is_none() {
            return Err(OAuthError::InvalidClient);
        }
        let inactive = json!({"active": false});
        let Some(presented) = form.get("token") else {
            return Ok(inactive);
        };
        let hash = match TokenKind::of(presented) {
            Some(k @ (TokenKind::PersonalAccess | TokenKind::AppAccess)) => {
                token::parse(k, presented).ok()
            }
            _ => None,
        };
        let Some(hash) = hash else {
            return Ok(inactive);
        };
        let Some((t, user)) = state
            .store
            .token_for_bearer(&hash, state.clock.now())
            .await?
        else {
            return Ok(inactive);
        };
        let client_id = match t.application_id {
            Some(id) => state
                .store
                .application_by_id(id)
                .await?
                .map(|a| a.client_id),
            None => None,
        };
        Ok::<Value, OAuthError>(json!({
            "active": true,
            "scope": t.scope,
            "client_id": client_id,
            "username": user.username,
            "token_type": "Bearer",
            "exp": t.expires_at.unix_timestamp(),
            "iat": t.created_at.unix_timestamp(),
        }))
    }
    .await;
    match answer {
        Ok(v) => {
            let mut resp = (StatusCode::OK, axum::Json(v)).into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// The consent page.
#[derive(Template)]
#[template(path = "authorize.html")]
struct ConsentPage<'a> {
    application: &'a str,
    username: &'a str,
    scope: &'a str,
    csrf_token: &'a str,
    params: Vec<(&'static str, String)>,
}

/// The error page of the authorization endpoint (no redirect to an unverified URI).
#[derive(Template)]
#[template(path = "oauth_error.html")]
struct ErrorPage<'a> {
    message: &'a str,
}

fn error_page(state: &AppState, message: &str) -> Response {
    let mut resp = html(
        StatusCode::BAD_REQUEST,
        ErrorPage { message }.render().unwrap_or_default(),
    );
    never_cache(state, &mut resp);
    resp
}

/// A validated authorization request.
struct AuthzRequest {
    app: ApplicationRecord,
    redirect_uri: String,
    scope: String,
    state_param: Option<String>,
    challenge: Option<(String, String)>,
}

/// Validates the authorization request parameters. `Err(page)` is shown to the user without
/// redirecting anywhere, as RFC 6749 §4.1.2.1 requires for a bad client or redirect URI.
async fn authz_request(
    state: &AppState,
    params: &[(String, String)],
) -> Result<AuthzRequest, Response> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let bad = |m: &str| error_page(state, m);
    if get("response_type").as_deref() != Some("code") {
        return Err(bad(
            "Unsupported response type: only response_type=code is offered.",
        ));
    }
    let Some(client_id) = get("client_id") else {
        return Err(bad("Missing client_id."));
    };
    let app = match state.store.application_by_client_id(&client_id).await {
        Ok(Some(a)) if a.authorization_grant_type == "authorization-code" => a,
        Ok(_) => return Err(bad("Unknown client.")),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let registered: Vec<&str> = app.redirect_uris.split_whitespace().collect();
    let redirect_uri = match get("redirect_uri") {
        Some(r) if registered.contains(&r.as_str()) => r,
        None if registered.len() == 1 => registered
            .first()
            .map(|s| (*s).to_owned())
            .unwrap_or_default(),
        _ => return Err(bad("Mismatching redirect URI.")),
    };
    let scope = get("scope").unwrap_or_else(|| "read write".into());
    if Scope::parse(&scope).is_none() {
        return Err(bad("Invalid scope."));
    }
    let challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (Some(c), m) => {
            let m = m.unwrap_or_else(|| "plain".into());
            if !matches!(m.as_str(), "S256" | "plain") {
                return Err(bad("Unsupported code_challenge_method."));
            }
            Some((c, m))
        }
        (None, _) => None,
    };
    // Public clients cannot keep a secret: they must bind the code with PKCE S256.
    if app.secret_hash.is_none() && !matches!(&challenge, Some((_, m)) if m == "S256") {
        return Err(bad(
            "Public clients must use PKCE with code_challenge_method=S256.",
        ));
    }
    Ok(AuthzRequest {
        app,
        redirect_uri,
        scope,
        state_param: get("state"),
        challenge,
    })
}

fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn with_params(uri: &str, pairs: &[(&str, &str)]) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!(
        "{uri}{sep}{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// Issues a code and redirects back to the client.
async fn approve(state: &AppState, user: &User, req: &AuthzRequest) -> Response {
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
    if let Err(e) = state.store.create_auth_code(new).await {
        return ApiError::from(e).into_response();
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &req.state_param {
        pairs.push(("state", s.as_str()));
    }
    redirect(&with_params(&req.redirect_uri, &pairs))
}

/// `GET /api/o/authorize/`: login redirect, consent page, or (skip_authorization) a code.
#[utoipa::path(get, path = "/api/o/authorize/", tag = "oauth2",
    params(("response_type" = String, Query, description = "`code`"), ("client_id" = String, Query, description = "Client id"),
           ("redirect_uri" = Option<String>, Query, description = "A registered redirect URI"), ("scope" = Option<String>, Query, description = "read/write"),
           ("state" = Option<String>, Query, description = "Echoed"), ("code_challenge" = Option<String>, Query, description = "PKCE"),
           ("code_challenge_method" = Option<String>, Query, description = "S256 or plain")),
    responses((status = 200, description = "Consent page", content_type = "text/html"), (status = 302, description = "To login, or back to the client"),
              (status = 400, description = "Unknown client or redirect URI (an HTML page), or a NUL character in the query (JSON)")))]
pub async fn authorize_form(State(state): State<AppState>, parts: Parts) -> Response {
    let live = match session::load(&state, &parts.headers).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let Some(live) = live else {
        let target = parts
            .uri
            .path_and_query()
            .map_or("/api/o/authorize/", |pq| pq.as_str());
        let next: String =
            percent_encoding::utf8_percent_encode(target, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        return redirect(&format!("/api/login/?next={next}"));
    };
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    let req = match authz_request(&state, &params).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    if req.app.skip_authorization {
        return approve(&state, &live.user, &req).await;
    }
    let csrf_token = state.csrf.mint(state.rng.as_ref(), Some(&live.hash));
    let mut hidden: Vec<(&'static str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", req.app.client_id.clone()),
        ("redirect_uri", req.redirect_uri.clone()),
        ("scope", req.scope.clone()),
    ];
    if let Some(s) = &req.state_param {
        hidden.push(("state", s.clone()));
    }
    if let Some((c, m)) = &req.challenge {
        hidden.push(("code_challenge", c.clone()));
        hidden.push(("code_challenge_method", m.clone()));
    }
    let page = ConsentPage {
        application: &req.app.name,
        username: &live.user.username,
        scope: &req.scope,
        csrf_token: &csrf_token,
        params: hidden,
    };
    let mut resp = html(StatusCode::OK, page.render().unwrap_or_default());
    let cookie = crate::auth::cookies::csrf(&csrf_token, state.config.secure_cookies());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    never_cache(&state, &mut resp);
    resp
}

/// `POST /api/o/authorize/`: the consent decision (session + CSRF).
#[utoipa::path(post, path = "/api/o/authorize/", tag = "oauth2",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The consent form: allow, csrfmiddlewaretoken and the request parameters"),
    responses((status = 302, description = "Back to the client with code or error=access_denied"),
              (status = 403, description = "CSRF failure", content_type = "text/html")))]
pub async fn authorize_decision(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let live = match session::load(&state, &parts.headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return redirect("/api/login/?next=%2Fapi%2Fo%2Fauthorize%2F"),
        Err(e) => return e.into_response(),
    };
    if !is_form(&parts.headers) {
        return error_page(&state, "The consent form must be form-encoded.");
    }
    let bytes = match body::read(body, state.config.limits.auth_body).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return ApiError::PayloadTooLarge.into_response(),
        Err(BodyError::Unreadable) => {
            return error_page(&state, "The consent form could not be read.");
        }
    };
    let form = parse_form(&bytes);
    if nul::in_pairs(&form) {
        return error_page(&state, crate::error::NUL_REFUSED);
    }
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let origin = request_origin(&state, &parts);
    if let Err(reason) = csrf::check(
        &state,
        &parts.headers,
        &origin,
        Some(&live.hash),
        field("csrfmiddlewaretoken"),
    ) {
        return csrf_failure(&state, &reason);
    }
    let req = match authz_request(&state, &form).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    if field("allow").is_some_and(|v| !v.is_empty()) {
        approve(&state, &live.user, &req).await
    } else {
        let mut pairs = vec![("error", "access_denied")];
        if let Some(s) = &req.state_param {
            pairs.push(("state", s.as_str()));
        }
        redirect(&with_params(&req.redirect_uri, &pairs))
    }
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
