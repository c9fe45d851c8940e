//! MDR connections and their tokens (`docs/mdr-api.md`, "Connection statuses", "Console JSON API",
//! "Token exchange", "Rotation and reuse detection", "Access tokens"): the console operations, the
//! `session/confirm` exchange, and the check of an access token on every resource call.
//!
//! Policy: the store decides every family change and every rotation in one transaction; this
//! module verifies JWTs before anything reaches the store, signs what the store issued, and
//! keeps two per-node caches — connection state for access-token checks (never older than
//! `mdr.revocation_check_interval_ms`, dropped at once when this node changes a connection)
//! and coalesced `last_used_at` stamps.

use crate::service::error::{Credential, Refusal, ServiceError, ServiceResult};
use crate::service::mdr_keys::KeyRing;
use crate::service::tokens::LastUsed;
use crate::state::AppState;
use portcullis_core::authz;
use portcullis_core::clock::from_unix_ms;
use portcullis_core::jwt::{Expect, JwtError, MdrClaims, Purpose};
use portcullis_core::mdr::{self, ConnectionStatus, Role};
use portcullis_core::principal::{AuthVia, Connection, Principal};
use portcullis_core::scope::Scope;
use portcullis_core::user::User;
use portcullis_store::{
    AccessRecord, ConnectionPatch, ConnectionRecord, CustomerRecord, Exchange, ExchangeAudit,
    ExchangeOutcome, FamilyChange, IssuedPair, NewActivity, NewConnection, NewFamily,
    NewRefreshRecord, StoreError, TenantRecord,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};
use time::{Duration, OffsetDateTime};

/// Per-node MDR state: keys and caches.
pub struct MdrNode {
    /// Signing keys.
    pub keys: KeyRing,
    /// Connection state for access-token checks.
    connections: Mutex<HashMap<String, (Instant, Option<ConnectionRecord>)>>,
    /// Coalesced `last_used_at`.
    pub last_used: LastUsed<String>,
    /// Exchange audit records waiting for the next batch write.
    audit: Mutex<Vec<ExchangeAudit>>,
    /// Failed exchanges per source address in the current minute.
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Bumped by every local change: a read that began before a change must not put what it
    /// read into the cache after the change dropped the entry.
    epoch: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for MdrNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdrNode").finish_non_exhaustive()
    }
}

/// Longest a connection's state is kept in the node cache.
const CONNECTION_TTL: StdDuration = StdDuration::from_secs(60);

/// Entries kept in a per-node map before it is cleared (bounds memory under a flood).
const CACHE_LIMIT: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl MdrNode {
    /// A node with these keys and empty caches.
    pub fn new(keys: KeyRing) -> Self {
        Self {
            keys,
            connections: Mutex::new(HashMap::new()),
            last_used: LastUsed::default(),
            audit: Mutex::new(Vec::new()),
            failures: Mutex::new(HashMap::new()),
            epoch: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Forgets the cached state of a connection this node just changed, so the next request
    /// reads it afresh (revocation on this node takes effect with no delay).
    pub fn invalidate(&self, connection_id: &str) {
        let mut g = lock(&self.connections);
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        g.remove(connection_id);
    }

    /// Forgets the cached state of every connection (a customer was deleted, or the change
    /// log could not be read).
    pub fn invalidate_all(&self) {
        let mut g = lock(&self.connections);
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        g.clear();
    }

    fn audit(&self, record: ExchangeAudit) {
        let mut g = lock(&self.audit);
        if g.len() < CACHE_LIMIT {
            g.push(record);
        }
    }

    /// Writes the waiting audit records in one batch; on failure they wait for the next try.
    pub async fn flush_audit(&self, state: &AppState) -> Result<usize, StoreError> {
        let batch = std::mem::take(&mut *lock(&self.audit));
        if batch.is_empty() {
            return Ok(0);
        }
        match state.store.record_exchanges(&batch).await {
            Ok(()) => Ok(batch.len()),
            Err(e) => {
                let mut g = lock(&self.audit);
                if g.len() < CACHE_LIMIT {
                    g.extend(batch);
                }
                Err(e)
            }
        }
    }

    /// Writes the waiting `last_used_at` stamps.
    pub async fn flush_last_used(&self, state: &AppState) -> Result<usize, StoreError> {
        let batch = self.last_used.take();
        if batch.is_empty() {
            return Ok(0);
        }
        match state.store.touch_connections(&batch).await {
            Ok(()) => Ok(batch.len()),
            Err(e) => {
                self.last_used.restore(batch);
                Err(e)
            }
        }
    }

    /// Seconds to wait when `source` has used up its failed exchanges for this minute.
    fn throttled(&self, source: IpAddr, limit: u32) -> Option<u64> {
        let g = lock(&self.failures);
        let (start, n) = g.get(&source)?;
        let elapsed = start.elapsed();
        (elapsed < StdDuration::from_secs(60) && *n >= limit)
            .then(|| 60u64.saturating_sub(elapsed.as_secs()).max(1))
    }

    fn note_failure(&self, source: IpAddr) {
        let mut g = lock(&self.failures);
        if g.len() >= CACHE_LIMIT {
            g.retain(|_, (start, _)| start.elapsed() < StdDuration::from_secs(60));
        }
        let e = g.entry(source).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= StdDuration::from_secs(60) {
            *e = (Instant::now(), 0);
        }
        e.1 = e.1.saturating_add(1);
    }
}

/// The console's view of a connection (`docs/mdr-api.md`, "Customers, tenants and connections"),
/// never with a token.
pub fn connection_view(state: &AppState, c: &ConnectionRecord) -> serde_json::Value {
    let status = connection_status(state, c);
    let ms = |t: Option<OffsetDateTime>| t.map(portcullis_core::clock::unix_ms);
    serde_json::json!({
        "connection_id": c.connection_id,
        "client_id": c.client_id,
        "name": c.name,
        "role": c.role,
        "tenants": c.tenants,
        "status": status.as_str(),
        "created_at": portcullis_core::clock::unix_ms(c.created_at),
        "last_used_at": ms(c.last_used_at),
        "refresh_token_expires_at": ms(c.refresh_expires_at),
        "refresh_token_jti_prefix": c.refresh_jti.as_deref().map(jti_prefix),
    })
}

/// A connection's status now (derived on read: `Idle` after `mdr.idle_after` unused).
pub fn connection_status(state: &AppState, c: &ConnectionRecord) -> ConnectionStatus {
    ConnectionStatus::derive(
        c.live_family.is_some(),
        c.activated,
        c.last_used_at,
        state.clock.now(),
        Duration::seconds(state.config.mdr.idle_after),
    )
}

/// The first 8 characters of a `jti`: enough to tell tokens apart in logs and the console.
pub fn jti_prefix(jti: &str) -> String {
    jti.chars().take(8).collect()
}

/// Who performs a console operation: a console caller, or `None` for the operator on the
/// host (`portcullis mdr …`), who is trusted like any local administrator command.
pub type Actor<'a> = Option<&'a Principal>;

/// The authorization policy for what is not one customer's business: creating customers,
/// granting the MDR administrator role ([`authz::may_manage_mdr`], superusers only).
pub(crate) fn authorize(actor: Actor<'_>) -> ServiceResult<()> {
    match actor {
        Some(p) if !authz::may_manage_mdr(&p.user) => Err(ServiceError::not_permitted()),
        _ => Ok(()),
    }
}

/// The authorization policy for one customer's tenants and connections
/// ([`authz::may_manage_customer`]): superusers and that customer's MDR administrators. Asked
/// before the customer is looked up, so a refused caller learns nothing about which Client
/// IDs exist.
pub async fn authorize_customer(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
) -> ServiceResult<()> {
    let Some(p) = actor else {
        return Ok(());
    };
    // Superusers need no read; everyone else is asked about this customer only.
    let administers = !authz::may_manage_mdr(&p.user)
        && state
            .store
            .administered_customers(p.user.id)
            .await?
            .iter()
            .any(|c| c == client_id);
    if authz::may_manage_customer(&p.user, administers) {
        Ok(())
    } else {
        Err(ServiceError::not_permitted())
    }
}

fn activity(
    actor: Actor<'_>,
    now: OffsetDateTime,
    op: &str,
    changes: serde_json::Value,
) -> NewActivity {
    NewActivity {
        timestamp: now,
        actor: actor.map(|p| p.user.id),
        operation: op.to_owned(),
        object1: "mdr_connection".into(),
        object1_id: None,
        changes,
    }
}

/// A freshly minted bootstrap token, shown once.
pub struct Bootstrap {
    /// The connection as it is now.
    pub connection: ConnectionRecord,
    /// The refresh JWT.
    pub token: String,
    /// Its expiry.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrap")
            .field("connection", &self.connection.connection_id)
            .finish_non_exhaustive()
    }
}

/// Creates a customer with a generated Client ID (superusers only).
pub async fn create_customer(
    state: &AppState,
    actor: Actor<'_>,
    name: &str,
) -> ServiceResult<CustomerRecord> {
    authorize(actor)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid("name"));
    }
    let customer = CustomerRecord {
        client_id: mdr::new_client_id(state.rng.as_ref()),
        name: name.to_owned(),
        created_at: state.clock.now(),
    };
    state.store.create_customer(&customer).await?;
    Ok(customer)
}

/// The customer, or 404 `not found`.
pub async fn customer(state: &AppState, client_id: &str) -> ServiceResult<CustomerRecord> {
    state
        .store
        .customer(client_id)
        .await?
        .ok_or(ServiceError::NotFound("customer"))
}

/// Creates a tenant of a customer.
pub async fn create_tenant(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    tenant_name: &str,
) -> ServiceResult<TenantRecord> {
    authorize_customer(state, actor, client_id).await?;
    let name = tenant_name.trim();
    if name.is_empty()
        || name.chars().count() > 128
        || name.chars().any(char::is_control)
        || name == mdr::ROOT_WITHOUT_TENANTS
    {
        return Err(ServiceError::invalid("tenant_name"));
    }
    let tenant = TenantRecord {
        tenant_id: mdr::new_id20(state.rng.as_ref()),
        client_id: client_id.to_owned(),
        tenant_name: name.to_owned(),
    };
    match state.store.create_tenant(&tenant).await {
        Ok(()) => Ok(tenant),
        Err(StoreError::NotFound) => Err(ServiceError::NotFound("customer")),
        Err(StoreError::Conflict(_)) => Err(ServiceError::Conflict(
            "tenant name is already taken".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Validated connection fields.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInput {
    /// Name.
    pub name: Option<String>,
    /// Role wire value.
    pub role: Option<String>,
    /// Tenant names.
    pub tenants: Option<Vec<String>>,
}

async fn check_input(
    state: &AppState,
    client_id: &str,
    input: &ConnectionInput,
) -> ServiceResult<()> {
    if let Some(n) = &input.name
        && !mdr::is_valid_connection_name(n)
    {
        return Err(ServiceError::invalid("name"));
    }
    if let Some(r) = &input.role
        && Role::parse(r).is_none()
    {
        return Err(ServiceError::invalid("role"));
    }
    if let Some(t) = &input.tenants {
        let known = state.store.tenants(client_id).await?;
        let ok = t.iter().all(|name| {
            name == mdr::ROOT_WITHOUT_TENANTS || known.iter().any(|k| &k.tenant_name == name)
        });
        if !ok {
            return Err(ServiceError::invalid("tenants"));
        }
    }
    Ok(())
}

/// Mints a bootstrap refresh token for a new family of `connection`.
fn new_family(
    state: &AppState,
    client_id: &str,
    connection_id: &str,
) -> ServiceResult<(NewFamily, String)> {
    let now_s = state.clock.now().unix_timestamp();
    let exp = now_s + state.config.mdr.bootstrap_token_ttl;
    let family_id = mdr::new_id20(state.rng.as_ref());
    let jti = mdr::new_jti(state.rng.as_ref());
    let claims = MdrClaims::new(
        Purpose::Refresh,
        &state.config.mdr.issuer,
        client_id,
        connection_id,
        &family_id,
        &jti,
        now_s,
        exp,
    );
    let token = state.mdr.keys.sign(Purpose::Refresh, &claims)?;
    let family = NewFamily {
        family_id,
        bootstrap: NewRefreshRecord {
            jti,
            issued_at: from_unix_s(now_s),
            expires_at: from_unix_s(exp),
        },
    };
    Ok((family, token))
}

fn from_unix_s(s: i64) -> OffsetDateTime {
    from_unix_ms(s.saturating_mul(1000))
}

/// "Generate": creates a connection in Pending activation with its bootstrap token.
pub async fn create_connection(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    input: ConnectionInput,
) -> ServiceResult<Bootstrap> {
    authorize_customer(state, actor, client_id).await?;
    let name = input
        .name
        .clone()
        .ok_or_else(|| ServiceError::required("name"))?;
    let role = input
        .role
        .clone()
        .ok_or_else(|| ServiceError::required("role"))?;
    let tenants = input.tenants.clone().unwrap_or_default();
    check_input(state, client_id, &input).await?;
    let connection_id = mdr::new_id20(state.rng.as_ref());
    let (family, token) = new_family(state, client_id, &connection_id)?;
    let now = state.clock.now();
    let new = NewConnection {
        connection_id: connection_id.clone(),
        client_id: client_id.to_owned(),
        name: name.clone(),
        role: role.clone(),
        tenants: tenants.clone(),
        created_at: now,
    };
    let entry = activity(
        actor,
        now,
        "create",
        serde_json::json!({"connection_id": connection_id, "client_id": client_id, "name": name, "role": role, "tenants": tenants}),
    );
    let expires_at = family.bootstrap.expires_at;
    let connection = match state
        .store
        .create_connection(&new, &family, Some(entry))
        .await
    {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(ServiceError::NotFound("customer")),
        Err(StoreError::Conflict(_)) => {
            return Err(ServiceError::Conflict(
                "connection name is already taken".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Bootstrap {
        connection,
        token,
        expires_at,
    })
}

/// One connection of a customer, or 404.
pub async fn connection(
    state: &AppState,
    client_id: &str,
    connection_id: &str,
) -> ServiceResult<ConnectionRecord> {
    match state.store.connection(connection_id).await? {
        Some(c) if c.client_id == client_id => Ok(c),
        _ => Err(ServiceError::NotFound("connection")),
    }
}

/// "Edit".
pub async fn update_connection(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    connection_id: &str,
    input: ConnectionInput,
) -> ServiceResult<ConnectionRecord> {
    authorize_customer(state, actor, client_id).await?;
    connection(state, client_id, connection_id).await?;
    check_input(state, client_id, &input).await?;
    let patch = ConnectionPatch {
        name: input.name.clone(),
        role: input.role.clone(),
        tenants: input.tenants.clone(),
    };
    let entry = activity(
        actor,
        state.clock.now(),
        "update",
        serde_json::json!({"connection_id": connection_id, "name": input.name, "role": input.role, "tenants": input.tenants}),
    );
    let r = state
        .store
        .update_connection(connection_id, &patch, Some(entry))
        .await;
    state.mdr.invalidate(connection_id);
    match r {
        Ok(c) => Ok(c),
        Err(StoreError::NotFound) => Err(ServiceError::NotFound("connection")),
        Err(StoreError::Conflict(_)) => Err(ServiceError::Conflict(
            "connection name is already taken".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// "Refresh": a new bootstrap token, the previous family revoked (Pending activation only).
pub async fn refresh_connection(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    connection_id: &str,
) -> ServiceResult<Bootstrap> {
    authorize_customer(state, actor, client_id).await?;
    connection(state, client_id, connection_id).await?;
    let (family, token) = new_family(state, client_id, connection_id)?;
    let now = state.clock.now();
    let entry = activity(
        actor,
        now,
        "update",
        serde_json::json!({"connection_id": connection_id, "event": "refresh"}),
    );
    let expires_at = family.bootstrap.expires_at;
    let r = state
        .store
        .refresh_connection(connection_id, &family, now, Some(entry))
        .await;
    state.mdr.invalidate(connection_id);
    match r {
        Ok(FamilyChange::Done(connection)) => Ok(Bootstrap {
            connection,
            token,
            expires_at,
        }),
        Ok(FamilyChange::WrongState(_)) => Err(ServiceError::Conflict(
            "connection is not pending activation".into(),
        )),
        Err(StoreError::NotFound) => Err(ServiceError::NotFound("connection")),
        Err(e) => Err(e.into()),
    }
}

/// "Revoke" (Active or Idle only): every token of the connection dies.
pub async fn revoke_connection(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    connection_id: &str,
) -> ServiceResult<ConnectionRecord> {
    authorize_customer(state, actor, client_id).await?;
    connection(state, client_id, connection_id).await?;
    let now = state.clock.now();
    let entry = activity(
        actor,
        now,
        "update",
        serde_json::json!({"connection_id": connection_id, "event": "revoke"}),
    );
    let r = state
        .store
        .revoke_connection(connection_id, now, Some(entry))
        .await;
    state.mdr.invalidate(connection_id);
    match r {
        Ok(FamilyChange::Done(c)) => Ok(c),
        Ok(FamilyChange::WrongState(_)) => Err(ServiceError::Conflict(
            "connection is not active or idle".into(),
        )),
        Err(StoreError::NotFound) => Err(ServiceError::NotFound("connection")),
        Err(e) => Err(e.into()),
    }
}

/// "Delete".
pub async fn delete_connection(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    connection_id: &str,
) -> ServiceResult<()> {
    authorize_customer(state, actor, client_id).await?;
    connection(state, client_id, connection_id).await?;
    let now = state.clock.now();
    let entry = activity(
        actor,
        now,
        "delete",
        serde_json::json!({"connection_id": connection_id}),
    );
    let r = state
        .store
        .delete_connection(connection_id, now, Some(entry))
        .await;
    state.mdr.invalidate(connection_id);
    match r {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(ServiceError::NotFound("connection")),
        Err(e) => Err(e.into()),
    }
}

/// The pair returned by `session/confirm`.
pub struct TokenPair {
    /// Access JWT.
    pub access_token: String,
    /// Refresh JWT.
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPair(<redacted>)")
    }
}

/// A refusal of the presented refresh token.
fn refresh_refused(why: Refusal) -> ServiceError {
    ServiceError::CredentialRefused(Credential::MdrRefresh, why)
}

/// Check 0 of `docs/mdr-api.md`, "Token exchange", before anything else is read.
pub fn exchange_throttled(state: &AppState, source: IpAddr) -> ServiceResult<()> {
    match state
        .mdr
        .throttled(source, state.config.mdr.exchange_failure_limit)
    {
        Some(wait) => {
            crate::service::audit::Event::new(
                "mdr_exchange",
                crate::service::audit::Outcome::Throttled,
            )
            .via("session_confirm")
            .source(source)
            .emit();
            Err(ServiceError::Throttled { retry_after: wait })
        }
        None => Ok(()),
    }
}

/// Checks 6–10 of `docs/mdr-api.md`, "Token exchange", and the rotation of `docs/mdr-api.md`,
/// "Rotation and reuse detection", for a `refresh_token` that passed the request checks 0–5. Every
/// outcome is audited.
pub async fn exchange(
    state: &AppState,
    client_id: &str,
    refresh_token: &str,
    source: IpAddr,
) -> ServiceResult<TokenPair> {
    let now = state.clock.now();
    let mut audit = ExchangeAudit {
        at: now,
        client_id: client_id.to_owned(),
        connection_id: None,
        jti_prefix: None,
        result: String::new(),
        source: source.to_string(),
    };
    let started = Instant::now();
    let r = exchange_inner(state, client_id, refresh_token, now, &mut audit).await;
    let elapsed = started.elapsed();
    match &r {
        Ok(_) => {}
        // A refused token counts against the source; a concurrent loser or an outage does not.
        Err(ServiceError::CredentialRefused(_, why)) if *why != Refusal::Concurrent => {
            state.mdr.note_failure(source)
        }
        Err(_) => {}
    }
    if audit.result.is_empty() {
        audit.result = "unavailable".into();
    }
    let (outcome, label) = match audit.result.as_str() {
        "ok" | "replayed" => (crate::service::audit::Outcome::Success, "success"),
        "unavailable" => (crate::service::audit::Outcome::Unavailable, "unavailable"),
        _ => (crate::service::audit::Outcome::Failure, "failure"),
    };
    let reason = match &r {
        Err(ServiceError::CredentialRefused(_, why)) => why.label(),
        Err(ServiceError::Unavailable(_)) => "unavailable",
        Err(_) => "other",
        Ok(_) => "",
    };
    crate::metrics::authentication("exchange", label, reason);
    metrics::histogram!("portcullis_mdr_exchange_duration_seconds", "outcome" => label)
        .record(elapsed.as_secs_f64());
    let mut event = crate::service::audit::Event::new("mdr_exchange", outcome)
        .via("session_confirm")
        .client_id(&audit.client_id)
        .reason(&audit.result)
        .source(source);
    if let Some(c) = &audit.connection_id {
        event = event.connection(c);
    }
    if let Some(j) = &audit.jti_prefix {
        event = event.token(j);
    }
    event.emit();
    state.mdr.audit(audit);
    r
}

async fn exchange_inner(
    state: &AppState,
    client_id: &str,
    refresh_token: &str,
    now: OffsetDateTime,
    audit: &mut ExchangeAudit,
) -> ServiceResult<TokenPair> {
    let cfg = &state.config.mdr;
    let now_s = now.unix_timestamp();
    let expect = Expect {
        purpose: Purpose::Refresh,
        issuer: &cfg.issuer,
        client_id,
        now: now_s,
        leeway: cfg.clock_leeway,
    };
    let claims = match state
        .mdr
        .keys
        .verify(state.store.as_ref(), refresh_token, &expect)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            let (code, why) = match e {
                JwtError::WrongClient => ("other_client", Refusal::OtherClient),
                JwtError::Expired => ("expired", Refusal::Expired),
                JwtError::Malformed | JwtError::UnknownKey(_) | JwtError::Invalid => {
                    ("invalid", Refusal::Invalid)
                }
            };
            audit.result = code.into();
            return Err(refresh_refused(why));
        }
    };
    audit.connection_id = Some(claims.cnx.clone());
    audit.jti_prefix = Some(jti_prefix(&claims.jti));
    let exp = now_s + cfg.refresh_token_ttl;
    let access_exp = now_s + cfg.access_token_ttl;
    let exchange = Exchange {
        jti: claims.jti.clone(),
        client_id: client_id.to_owned(),
        connection_id: claims.cnx.clone(),
        family_id: claims.fam.clone(),
        now,
        successor: NewRefreshRecord {
            jti: mdr::new_jti(state.rng.as_ref()),
            issued_at: from_unix_s(now_s),
            expires_at: from_unix_s(exp),
        },
        access: AccessRecord {
            jti: mdr::new_jti(state.rng.as_ref()),
            issued_at: from_unix_s(now_s),
            expires_at: from_unix_s(access_exp),
        },
        grace: Duration::seconds(cfg.rotation_grace_period),
        race_tolerance: Duration::milliseconds(cfg.race_tolerance_ms),
        reuse_activity: NewActivity {
            timestamp: now,
            actor: None,
            operation: "update".into(),
            object1: "mdr_connection".into(),
            object1_id: None,
            changes: serde_json::json!({
                "event": "refresh_token_reuse",
                "connection_id": claims.cnx,
                "family_id": claims.fam,
                "jti_prefix": jti_prefix(&claims.jti),
                "source": audit.source,
            }),
        },
    };
    let outcome = state.store.exchange(&exchange).await?;
    let pair = match outcome {
        ExchangeOutcome::Rotated => {
            audit.result = "ok".into();
            state.mdr.invalidate(&claims.cnx);
            IssuedPair {
                refresh: exchange.successor,
                access: exchange.access,
            }
        }
        ExchangeOutcome::Replayed(pair) => {
            audit.result = "replayed".into();
            pair
        }
        ExchangeOutcome::ConcurrentLoser => {
            audit.result = "concurrent".into();
            return Err(refresh_refused(Refusal::Concurrent));
        }
        ExchangeOutcome::Reused => {
            audit.result = "reuse".into();
            state.mdr.invalidate(&claims.cnx);
            tracing::warn!(
                connection = %claims.cnx,
                jti = %jti_prefix(&claims.jti),
                "MDR refresh token reuse: the connection's tokens were revoked"
            );
            return Err(refresh_refused(Refusal::Reused));
        }
        ExchangeOutcome::Revoked => {
            audit.result = "revoked".into();
            return Err(refresh_refused(Refusal::Revoked));
        }
    };
    sign_pair(state, client_id, &claims, &pair)
}

fn sign_pair(
    state: &AppState,
    client_id: &str,
    presented: &MdrClaims,
    pair: &IssuedPair,
) -> ServiceResult<TokenPair> {
    let issuer = &state.config.mdr.issuer;
    let claims = |purpose, jti: &str, iat: OffsetDateTime, exp: OffsetDateTime| {
        MdrClaims::new(
            purpose,
            issuer,
            client_id,
            &presented.cnx,
            &presented.fam,
            jti,
            iat.unix_timestamp(),
            exp.unix_timestamp(),
        )
    };
    let a = claims(
        Purpose::Access,
        &pair.access.jti,
        pair.access.issued_at,
        pair.access.expires_at,
    );
    let r = claims(
        Purpose::Refresh,
        &pair.refresh.jti,
        pair.refresh.issued_at,
        pair.refresh.expires_at,
    );
    Ok(TokenPair {
        access_token: state.mdr.keys.sign(Purpose::Access, &a)?,
        refresh_token: state.mdr.keys.sign(Purpose::Refresh, &r)?,
    })
}

/// The Bearer token of an `Authorization` header value, if it is one (scheme
/// case-insensitive, non-empty token).
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    let h = header?;
    let (scheme, token) = h.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

/// Checks an access token for a resource call on `client_id` (docs/mdr-api.md, "Access
/// tokens", in table order) and notes the use: the caller as a [`Principal`] with
/// [`AuthVia::MdrAccess`], or why the token is refused. Reached through the Bearer verifier
/// chain ([`crate::auth::bearer::MdrAccessTokens`]).
pub async fn verify_access(
    state: &AppState,
    client_id: &str,
    token: &str,
) -> ServiceResult<Result<Principal, Refusal>> {
    let cfg = &state.config.mdr;
    let now = state.clock.now();
    let expect = Expect {
        purpose: Purpose::Access,
        issuer: &cfg.issuer,
        client_id,
        now: now.unix_timestamp(),
        leeway: cfg.clock_leeway,
    };
    let claims = match state
        .mdr
        .keys
        .verify(state.store.as_ref(), token, &expect)
        .await
    {
        Ok(c) => c,
        Err(JwtError::WrongClient) => return Ok(Err(Refusal::OtherClient)),
        Err(JwtError::Expired) => return Ok(Err(Refusal::Expired)),
        Err(_) => return Ok(Err(Refusal::Invalid)),
    };
    let Some(record) = connection_state(state, &claims.cnx).await? else {
        return Ok(Err(Refusal::Revoked));
    };
    if record.client_id != client_id || record.live_family.as_deref() != Some(claims.fam.as_str()) {
        return Ok(Err(Refusal::Revoked));
    }
    let role =
        Role::parse(&record.role).ok_or_else(|| ServiceError::Internal("stored role".into()))?;
    state.mdr.last_used.note(
        record.connection_id.clone(),
        record.last_used_at,
        now,
        Duration::seconds(cfg.last_used_interval),
    );
    let connection = Connection {
        client_id: record.client_id,
        connection_id: record.connection_id,
        name: record.name,
        role,
        tenants: record.tenants,
    };
    Ok(Ok(Principal {
        user: std::sync::Arc::new(User::connection_account(&connection, record.created_at)),
        via: AuthVia::MdrAccess,
        // What a connection may do is its role's business (authz::mdr_role_allows).
        scope: Scope::WRITE,
        session: None,
        connection: Some(connection),
    }))
}

/// The connection's state, from the node cache when it is fresh enough.
async fn connection_state(
    state: &AppState,
    connection_id: &str,
) -> ServiceResult<Option<ConnectionRecord>> {
    // Every change of a connection reaches this cache through the change log
    // (`docs/cluster.md`); an entry is trusted while the log reader is fresh, and re-read
    // after a minute regardless.
    let cached = state
        .changes
        .fresh()
        .then(|| {
            lock(&state.mdr.connections)
                .get(connection_id)
                .filter(|(at, _)| at.elapsed() < CONNECTION_TTL)
                .map(|(_, c)| c.clone())
        })
        .flatten();
    if let Some(c) = cached {
        return Ok(c);
    }
    // A stale copy is never used in place of a failed read: fail closed with 503.
    let fetched_at = Instant::now();
    let epoch = state.mdr.epoch.load(std::sync::atomic::Ordering::SeqCst);
    let c = state.store.connection(connection_id).await?;
    let mut g = lock(&state.mdr.connections);
    if state.mdr.epoch.load(std::sync::atomic::Ordering::SeqCst) == epoch {
        if g.len() >= CACHE_LIMIT {
            g.clear();
        }
        g.insert(connection_id.to_owned(), (fetched_at, c.clone()));
    }
    Ok(c)
}
