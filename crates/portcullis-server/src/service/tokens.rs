//! OAuth2 access tokens: minting (personal and application tokens), the rules every minting
//! path shares (scope grammar, lifetime from the settings read at creation, the external-user
//! rule), visibility, updates, deletion, and the coalesced `last_used` stamps.
//!
//! Policy: a clear token value exists only in [`Issued`], which the one creating response consumes;
//! storage and the activity stream only ever see hashes and the masked value. Every path that mints
//! a token (the API, `/api/o/token/`, the admin CLI) goes through [`mint`], so the external-user
//! rule and the lifetime can never be skipped (`docs/security.md`, "Principles").

use crate::service::audit;
use crate::service::error::{FieldErrors, Forbidden, ServiceError, ServiceResult};
use crate::state::AppState;
use portcullis_core::authz;
use portcullis_core::ids::{ApplicationId, TokenId, UserId};
use portcullis_core::principal::Principal;
use portcullis_core::scope::{SCOPE_ERROR, Scope};
use portcullis_core::token::{PlainToken, TokenHash, TokenKind};
use portcullis_core::user::User;
use portcullis_store::{
    AccessTokenRecord, ApplicationRecord, NewAccessToken, NewActivity, NewRefreshToken, Store,
    StoreResult,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// The masked value every response but the creating one shows.
pub const MASKED: &str = "************";
/// Activity-stream object type of tokens.
pub const TOKEN_OBJECT: &str = "o_auth2_access_token";

/// A freshly minted token with its clear values, for the one response that shows them.
#[derive(Debug)]
pub struct Issued {
    /// The stored record.
    pub record: AccessTokenRecord,
    /// The clear access token.
    pub token: PlainToken,
    /// The clear refresh token (application tokens only).
    pub refresh: Option<PlainToken>,
}

/// The external-user rule (`docs/awx-compat.md`, "External users"), checked by every minting path at minting time.
/// The refusal names the user's source; each surface renders it in its own dialect.
pub fn may_mint(state: &AppState, user: &User) -> ServiceResult<()> {
    match &user.external_account {
        Some(kind) if !state.settings.get().auth.allow_oauth2_for_external_users => {
            Err(ServiceError::Forbidden(Forbidden::ExternalUserTokens {
                kind: kind.clone(),
            }))
        }
        _ => Ok(()),
    }
}

/// Validates a scope string as `docs/awx-compat.md`, "Scopes" wants it; the value is kept as given.
pub fn validate_scope(s: &str) -> ServiceResult<String> {
    Scope::parse(s)
        .map(|_| s.to_owned())
        .ok_or_else(|| ServiceError::field("scope", SCOPE_ERROR))
}

/// What a create body asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateInput {
    /// Free text.
    pub description: String,
    /// Application id, for application tokens.
    pub application: Option<i64>,
    /// Validated scope string.
    pub scope: String,
}

/// Reads `{"description", "application", "scope"}` (all optional). Unknown keys are ignored,
/// as DRF ignores read-only and unknown fields (`user` in the body never changes the owner).
pub fn parse_create(body: &Map<String, Value>) -> ServiceResult<CreateInput> {
    let mut errors = FieldErrors::new();
    let description = match body.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.say("description", "Not a valid string.");
            String::new()
        }
    };
    let application = match body.get("application") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(id) => Some(id),
            None => {
                errors.say("application", invalid_pk(&n.to_string()));
                None
            }
        },
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => match s.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.say(
                    "application",
                    "Incorrect type. Expected pk value, received str.",
                );
                None
            }
        },
        Some(_) => {
            errors.say("application", "Incorrect type. Expected pk value.");
            None
        }
    };
    let scope = match body.get("scope") {
        None | Some(Value::Null) => "write".to_owned(),
        Some(Value::String(s)) => match Scope::parse(s) {
            Some(_) => s.clone(),
            None => {
                errors.say("scope", SCOPE_ERROR);
                String::new()
            }
        },
        Some(_) => {
            errors.say("scope", SCOPE_ERROR);
            String::new()
        }
    };
    errors.into_result()?;
    Ok(CreateInput {
        description,
        application,
        scope,
    })
}

/// DRF's text for a reference to a missing object.
pub fn invalid_pk(id: &str) -> String {
    format!("Invalid pk \"{id}\" - object does not exist.")
}

fn lifetime(seconds: i64) -> Duration {
    Duration::seconds(seconds.max(1))
}

/// The family's absolute lifetime (`docs/security.md`, "Lifetime"); zero means no cap.
pub fn family_cap(state: &AppState) -> Duration {
    Duration::seconds(state.config.oauth2.refresh_family_max_lifetime.max(0))
}

/// A new refresh token's deadline: `REFRESH_TOKEN_EXPIRE_SECONDS` from `now`, never past the
/// family's cap counted from `family_start`.
pub fn refresh_deadline(
    state: &AppState,
    now: OffsetDateTime,
    family_start: OffsetDateTime,
) -> OffsetDateTime {
    let own = now + lifetime(state.settings.get().auth.refresh_token_expire_seconds);
    let cap = family_cap(state);
    if cap.is_zero() {
        own
    } else {
        own.min(family_start + cap)
    }
}

/// The activity entry of a created or deleted token: field → value, secrets masked.
fn recorded(r: &AccessTokenRecord) -> Value {
    json!({
        "description": r.description,
        "user": r.user_id.0,
        "token": MASKED,
        "refresh_token": if r.has_refresh { Value::from(MASKED) } else { Value::Null },
        "application": r.application_id.map(|a| a.0),
        "expires": crate::api::awx::render::awx_time(r.expires_at),
        "scope": r.scope,
    })
}

/// An activity entry about a token, when the stream is on. `id` `None` ⇒ the new token's id.
pub fn activity(
    state: &AppState,
    actor: Option<&User>,
    operation: &str,
    id: Option<TokenId>,
    changes: Value,
) -> Option<NewActivity> {
    super::activity_entry(
        state,
        actor.map(|u| u.id),
        operation,
        TOKEN_OBJECT,
        id.map(|t| t.0),
        changes,
    )
}

/// Whose tokens a bulk revocation covers.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkTarget {
    /// Every token that exists now (one system-wide mark).
    All,
    /// Every access token of one user.
    User {
        /// The user.
        id: UserId,
        /// How the caller named the user, recorded as the entry's `user` (an id or a name).
        named: Value,
    },
}

/// Bulk revocation: the one path `POST /api/v2/tokens/revoke/` and `portcullis admin
/// revoke-tokens` share, so both revoke alike and record the same activity entry (operation
/// `delete` on [`TOKEN_OBJECT`], `changes` with the count, the target and `include_refresh`),
/// written in the revocation's own transaction when `activity_stream` is on. `actor` is
/// `None` for the operator on the host. Returns the number of access tokens revoked.
pub async fn revoke_bulk(
    store: &dyn Store,
    target: BulkTarget,
    include_refresh: bool,
    actor: Option<UserId>,
    activity_stream: bool,
    now: OffsetDateTime,
) -> StoreResult<u64> {
    let named = match &target {
        BulkTarget::All => Value::from("all"),
        BulkTarget::User { named, .. } => named.clone(),
    };
    let entry = activity_stream.then(|| NewActivity {
        timestamp: now,
        actor,
        operation: "delete".into(),
        object1: TOKEN_OBJECT.into(),
        object1_id: None,
        // `revoked` is filled in by the store, inside the transaction.
        changes: json!({"revoked": 0, "user": named, "include_refresh": include_refresh}),
    });
    match target {
        BulkTarget::All => store.revoke_all_tokens(include_refresh, now, entry).await,
        BulkTarget::User { id, .. } => {
            store
                .revoke_user_tokens(id, include_refresh, now, entry)
                .await
        }
    }
}

/// What a caller's bulk revocation covers, as the API and the console name it.
#[derive(Debug, Clone, PartialEq)]
pub enum Revocation {
    /// Every token that exists now.
    All,
    /// Every access token of `user`; `named` is how the caller named them (recorded).
    User {
        /// The user (boxed: the other targets carry nothing).
        user: Box<User>,
        /// An id or a name, as given.
        named: Value,
    },
    /// The access tokens of every user with an external account (what goes with switching
    /// `ALLOW_OAUTH2_FOR_EXTERNAL_USERS` off, `docs/security.md`, "Revocation bounds").
    ExternalUsers,
}

impl Revocation {
    fn target(&self) -> authz::RevokeTarget {
        match self {
            Self::User { user, .. } => authz::RevokeTarget::User(user.id),
            Self::All | Self::ExternalUsers => authz::RevokeTarget::Everyone,
        }
    }
}

fn may_revoke(caller: &Principal, what: &Revocation) -> ServiceResult<()> {
    if authz::may_revoke_for(&caller.user, what.target()) {
        Ok(())
    } else {
        Err(ServiceError::not_permitted())
    }
}

fn count_query(user: Option<UserId>) -> portcullis_store::TokenQuery {
    portcullis_store::TokenQuery {
        user,
        application: None,
        kind: portcullis_store::TokenKindFilter::All,
        filters: Vec::new(),
        order: None,
        limit: 1,
        offset: 0,
    }
}

/// How many live access tokens `what` would revoke now (for a confirmation step that names
/// the count before the caller commits). Same authorization as [`revoke`].
pub async fn revocation_count(
    state: &AppState,
    caller: &Principal,
    what: &Revocation,
) -> ServiceResult<i64> {
    may_revoke(caller, what)?;
    Ok(match what {
        Revocation::All => state.store.list_tokens(&count_query(None)).await?.total,
        Revocation::User { user, .. } => {
            state
                .store
                .list_tokens(&count_query(Some(user.id)))
                .await?
                .total
        }
        Revocation::ExternalUsers => state.store.count_external_users_tokens().await?,
    })
}

/// Bulk revocation on behalf of `caller`, after the policy's [`authz::may_revoke_for`]:
/// the one path of `POST /api/v2/tokens/revoke/` and the console's revocation pages.
/// Returns the number of access tokens revoked; never a value.
pub async fn revoke(
    state: &AppState,
    caller: &Principal,
    what: Revocation,
    include_refresh: bool,
) -> ServiceResult<u64> {
    may_revoke(caller, &what)?;
    let now = state.clock.now();
    let activity_stream = state.settings.get().auth.activity_stream_enabled;
    let actor = caller.user.username.escape_debug().to_string();
    let revoked = match what {
        Revocation::All => {
            let n = revoke_bulk(
                &*state.store,
                BulkTarget::All,
                include_refresh,
                Some(caller.user.id),
                activity_stream,
                now,
            )
            .await?;
            tracing::warn!(event = "tokens_revoked_bulk", scope = "all", count = n, actor = %actor);
            n
        }
        Revocation::User { user, named } => {
            let n = revoke_bulk(
                &*state.store,
                BulkTarget::User { id: user.id, named },
                include_refresh,
                Some(caller.user.id),
                activity_stream,
                now,
            )
            .await?;
            tracing::warn!(event = "tokens_revoked_bulk", user = %user.username.escape_debug(), count = n, actor = %actor);
            n
        }
        Revocation::ExternalUsers => {
            let n = state.store.revoke_external_users_tokens(now).await?;
            tracing::warn!(event = "tokens_revoked_bulk", scope = "external_users", count = n, actor = %actor);
            n
        }
    };
    // Revoked on this node before the answer says so (`docs/cluster.md`).
    state.changes.catch_up(state).await;
    Ok(revoked)
}

/// Mints a token for `owner`: a PAT when `application` is `None`, else an application token
/// with a refresh token. Applies the external-user rule (as
/// [`Forbidden::ExternalUserTokens`]) and the lifetimes in force now. `actor` is recorded in the activity stream.
pub async fn mint(
    state: &AppState,
    actor: Option<&User>,
    owner: &User,
    application: Option<&ApplicationRecord>,
    scope: &str,
    description: &str,
) -> ServiceResult<Issued> {
    mint_inner(state, actor, owner, application, scope, description, None).await
}

/// Mints the application token an authorization code `code` is exchanged for, recording
/// its family on the code so that a replay of the code revokes it (RFC 6749 §4.1.2).
pub async fn mint_for_code(
    state: &AppState,
    owner: &User,
    application: &ApplicationRecord,
    scope: &str,
    code: TokenHash,
) -> ServiceResult<Issued> {
    mint_inner(
        state,
        Some(owner),
        owner,
        Some(application),
        scope,
        "",
        Some(code),
    )
    .await
}

async fn mint_inner(
    state: &AppState,
    actor: Option<&User>,
    owner: &User,
    application: Option<&ApplicationRecord>,
    scope: &str,
    description: &str,
    from_code: Option<TokenHash>,
) -> ServiceResult<Issued> {
    may_mint(state, owner)?;
    let now = state.clock.now();
    let auth = state.settings.get().auth.clone();
    let (kind, refresh) = match application {
        None => (TokenKind::PersonalAccess, None),
        Some(_) => (
            TokenKind::AppAccess,
            Some(PlainToken::generate(
                TokenKind::AppRefresh,
                state.rng.as_ref(),
            )),
        ),
    };
    let token = PlainToken::generate(kind, state.rng.as_ref());
    let new = NewAccessToken {
        hash: token.hash(),
        user_id: owner.id,
        application_id: application.map(|a| a.id),
        scope: scope.to_owned(),
        description: description.to_owned(),
        created_at: now,
        expires_at: now + lifetime(auth.access_token_expire_seconds),
        refresh: refresh.as_ref().map(|r| NewRefreshToken {
            hash: r.hash(),
            expires_at: refresh_deadline(state, now, now),
        }),
        from_code,
    };
    // The entry is written in the same transaction; its changes are what the record will hold.
    let preview = json!({
        "description": description,
        "user": owner.id.0,
        "token": MASKED,
        "refresh_token": if refresh.is_some() { Value::from(MASKED) } else { Value::Null },
        "application": application.map(|a| a.id.0),
        "expires": crate::api::awx::render::awx_time(new.expires_at),
        "scope": scope,
    });
    let record = state
        .store
        .create_token(new, activity(state, actor, "create", None, preview))
        .await?;
    let token_ref = token.hash().log_ref();
    let mut event = audit::Event::new("token_created", audit::Outcome::Success)
        .user(&owner.username)
        .user_id(owner.id.0)
        .token(&token_ref);
    if let Some(app) = application {
        event = event.client_id(&app.client_id);
    }
    event.emit();
    Ok(Issued {
        record,
        token,
        refresh,
    })
}

/// The API create path: validates `input` against the caller and mints for the caller.
/// `force_personal` ignores `application` (`personal_tokens`); `require_application` refuses
/// a PAT (`authorized_tokens`).
pub async fn create_for_caller(
    state: &AppState,
    caller: &Principal,
    input: CreateInput,
    force_personal: bool,
    require_application: bool,
) -> ServiceResult<Issued> {
    let application = if force_personal {
        None
    } else {
        match input.application {
            None if require_application => {
                return Err(ServiceError::field(
                    "application",
                    "This field is required.",
                ));
            }
            None => None,
            Some(id) => Some(
                state
                    .store
                    .application_by_id(ApplicationId(id))
                    .await?
                    .ok_or_else(|| {
                        ServiceError::field("application", invalid_pk(&id.to_string()))
                    })?,
            ),
        }
    };
    // Every authenticated user may read applications (`docs/awx-compat.md`, "Applications"), so any
    // existing application may be named here.
    mint(
        state,
        Some(&caller.user),
        &caller.user,
        application.as_ref(),
        &input.scope,
        &input.description,
    )
    .await
}

/// True when `viewer` may read `token` (the policy's [`authz::may_read_token`]).
pub fn can_read(viewer: &User, token: &AccessTokenRecord) -> bool {
    authz::may_read_token(viewer, token.user_id)
}

/// True when `viewer` may change or delete `token` (the policy's [`authz::may_change_token`]).
pub fn can_change(viewer: &User, token: &AccessTokenRecord) -> bool {
    authz::may_change_token(viewer, token.user_id)
}

/// The token `id` as `viewer` may see it; anyone else gets the 404 of a missing id.
pub async fn visible(state: &AppState, viewer: &User, id: i64) -> ServiceResult<AccessTokenRecord> {
    match state.store.token_by_id(TokenId(id)).await? {
        Some(t) if can_read(viewer, &t) => Ok(t),
        _ => Err(ServiceError::NotFound("token")),
    }
}

/// `PUT`/`PATCH /api/v2/tokens/<id>/`: only `description` and `scope` change.
pub async fn update(
    state: &AppState,
    caller: &Principal,
    token: &AccessTokenRecord,
    body: &Map<String, Value>,
) -> ServiceResult<AccessTokenRecord> {
    if !can_change(&caller.user, token) {
        return Err(ServiceError::not_permitted());
    }
    let description = match body.get("description") {
        None => None,
        Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ServiceError::field("description", "Not a valid string.")),
    };
    let scope = match body.get("scope") {
        None => None,
        Some(Value::String(s)) => Some(validate_scope(s)?),
        Some(_) => return Err(ServiceError::field("scope", SCOPE_ERROR)),
    };
    let mut changes = Map::new();
    if let Some(d) = &description
        && d != &token.description
    {
        changes.insert("description".into(), json!([token.description, d]));
    }
    if let Some(s) = &scope
        && s != &token.scope
    {
        changes.insert("scope".into(), json!([token.scope, s]));
    }
    let entry = (!changes.is_empty())
        .then(|| {
            activity(
                state,
                Some(&caller.user),
                "update",
                Some(token.id),
                Value::Object(changes),
            )
        })
        .flatten();
    let updated = state
        .store
        .update_token(token.id, description, scope, state.clock.now(), entry)
        .await?;
    state.changes.catch_up(state).await;
    Ok(updated)
}

/// `DELETE /api/v2/tokens/<id>/`: the token dies at once, with its refresh token.
pub async fn delete(
    state: &AppState,
    caller: &Principal,
    token: &AccessTokenRecord,
) -> ServiceResult<()> {
    if !can_change(&caller.user, token) {
        return Err(ServiceError::not_permitted());
    }
    let entry = activity(
        state,
        Some(&caller.user),
        "delete",
        Some(token.id),
        recorded(token),
    );
    state.store.delete_token(token.id, entry).await?;
    state.changes.catch_up(state).await;
    let token_id = token.id.0.to_string();
    audit::Event::new("token_revoked", audit::Outcome::Success)
        .via("api")
        .user(&token.username)
        .user_id(token.user_id.0)
        .token(&token_id)
        .actor(&caller.user.username)
        .emit();
    Ok(())
}

/// Coalesced `last_used` stamps: the request path only notes a use in memory when the
/// object's stamp is older than the interval; a background task writes the noted uses in one
/// batch. AWX writes twice per request; this writes at most once per object per interval.
/// Keyed by token id for OAuth2 tokens and by connection id for MDR connections.
#[derive(Debug)]
pub struct LastUsed<K = TokenId> {
    inner: Mutex<LastUsedInner<K>>,
}

impl<K> Default for LastUsed<K> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(LastUsedInner {
                queued: HashMap::new(),
                pending: Vec::new(),
            }),
        }
    }
}

#[derive(Debug)]
struct LastUsedInner<K> {
    /// When this node last queued a stamp for each object.
    queued: HashMap<K, OffsetDateTime>,
    /// Stamps waiting for the next flush.
    pending: Vec<(K, OffsetDateTime)>,
}

/// Entries kept in memory before old ones are dropped (they only suppress duplicate stamps).
const LAST_USED_MEMORY: usize = 100_000;

impl<K: std::hash::Hash + Eq + Clone> LastUsed<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, LastUsedInner<K>> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Notes a use of `id` at `now`; `stored` is the stamp read with the object.
    pub fn note(
        &self,
        id: K,
        stored: Option<OffsetDateTime>,
        now: OffsetDateTime,
        interval: Duration,
    ) {
        if stored.is_some_and(|t| now - t < interval) {
            return;
        }
        let mut g = self.lock();
        if g.queued.get(&id).is_some_and(|t| now - *t < interval) {
            return;
        }
        if g.queued.len() >= LAST_USED_MEMORY {
            g.queued.retain(|_, t| now - *t < interval);
        }
        g.queued.insert(id.clone(), now);
        g.pending.push((id, now));
    }

    /// Number of stamps waiting.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// Takes the waiting stamps for a write.
    pub fn take(&self) -> Vec<(K, OffsetDateTime)> {
        std::mem::take(&mut self.lock().pending)
    }

    /// Puts back stamps whose write failed, for the next try (bounded: only `last_used` is
    /// lost if writes keep failing; it never affects access).
    pub fn restore(&self, batch: Vec<(K, OffsetDateTime)>) {
        let mut g = self.lock();
        if g.pending.len() < LAST_USED_MEMORY {
            g.pending.extend(batch);
        }
    }
}

impl LastUsed<TokenId> {
    /// Writes the waiting stamps in one batch; on failure they are put back for the next try.
    pub async fn flush(&self, state: &AppState) -> ServiceResult<usize> {
        let batch = self.take();
        if batch.is_empty() {
            return Ok(0);
        }
        match state.store.stamp_last_used(&batch).await {
            Ok(()) => Ok(batch.len()),
            Err(e) => {
                self.restore(batch);
                Err(e.into())
            }
        }
    }
}
