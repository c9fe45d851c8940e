//! What a console caller sees of MDR customers, and the per-customer "MDR administrator" role
//! (`docs/mdr-api.md`, "MDR administrators").
//!
//! Policy: reads of one customer's tenants, connections and exchange audit pass the same rule
//! as its changes ([`mdr_session::authorize_customer`]); the customer list is filtered to what
//! the caller may manage; granting and revoking the role is superusers' only
//! (`authz::may_manage_mdr`) and writes an activity entry in the same transaction.

use crate::service::activity_entry;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::mdr_session::{self, Actor, authorize, authorize_customer};
use crate::state::AppState;
use portcullis_core::authz;
use portcullis_core::ids::UserId;
use portcullis_store::{
    ConnectionRecord, CustomerAdministrator, CustomerRecord, ExchangeAudit, StoreError,
    TenantRecord,
};

/// The Client IDs of the customers `user` administers (empty for most users). One indexed
/// read; the console asks it for the navigation of non-superusers.
pub async fn administered_customers(state: &AppState, user: UserId) -> ServiceResult<Vec<String>> {
    Ok(state.store.administered_customers(user).await?)
}

/// The customers the caller may manage: every one for superusers (and the host operator),
/// otherwise those they administer, oldest first.
pub async fn visible_customers(
    state: &AppState,
    actor: Actor<'_>,
) -> ServiceResult<Vec<CustomerRecord>> {
    let all = state.store.list_customers().await?;
    match actor {
        Some(p) if !authz::may_manage_mdr(&p.user) => {
            let mine = state.store.administered_customers(p.user.id).await?;
            Ok(all
                .into_iter()
                .filter(|c| authz::may_manage_customer(&p.user, mine.contains(&c.client_id)))
                .collect())
        }
        _ => Ok(all),
    }
}

/// One customer the caller may manage: 403 before 404, so a refused caller learns nothing.
pub async fn customer(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
) -> ServiceResult<CustomerRecord> {
    authorize_customer(state, actor, client_id).await?;
    mdr_session::customer(state, client_id).await
}

/// A customer's tenants, by name.
pub async fn tenants(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
) -> ServiceResult<Vec<TenantRecord>> {
    customer(state, actor, client_id).await?;
    Ok(state.store.tenants(client_id).await?)
}

/// A customer's connections, oldest first.
pub async fn connections(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
) -> ServiceResult<Vec<ConnectionRecord>> {
    customer(state, actor, client_id).await?;
    Ok(state.store.list_connections(client_id).await?)
}

/// One connection of a customer.
pub async fn connection(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    connection_id: &str,
) -> ServiceResult<ConnectionRecord> {
    authorize_customer(state, actor, client_id).await?;
    mdr_session::connection(state, client_id, connection_id).await
}

/// The customer's newest `limit` token exchanges, newest first. This node's buffered records
/// are written first, so an operator sees what just happened here.
pub async fn exchange_audit(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    limit: i64,
) -> ServiceResult<Vec<ExchangeAudit>> {
    customer(state, actor, client_id).await?;
    if let Err(e) = state.mdr.flush_audit(state).await {
        tracing::warn!(error = %e, "exchange audit flush failed");
    }
    Ok(state.store.exchange_audit(client_id, limit).await?)
}

/// The customer's MDR administrators (superusers only).
pub async fn administrators(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
) -> ServiceResult<Vec<CustomerAdministrator>> {
    authorize(actor)?;
    mdr_session::customer(state, client_id).await?;
    Ok(state.store.customer_admins(client_id).await?)
}

/// Makes the user named `username` an MDR administrator of the customer (superusers only).
/// An unknown username is a field error; granting it twice is no change. Returns the holder.
pub async fn grant_administrator(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    username: &str,
) -> ServiceResult<CustomerAdministrator> {
    authorize(actor)?;
    mdr_session::customer(state, client_id).await?;
    let username = username.trim();
    if username.is_empty() {
        return Err(ServiceError::required("username"));
    }
    let Some(user) = state.store.user_by_username(username).await? else {
        return Err(ServiceError::field(
            "username",
            "No user with this username.",
        ));
    };
    let entry = activity_entry(
        state,
        actor.map(|p| p.user.id),
        "associate",
        "mdr_administrator",
        Some(user.id.0),
        serde_json::json!({"client_id": client_id, "user": user.username}),
    );
    match state
        .store
        .grant_customer_admin(client_id, user.id, state.clock.now(), entry)
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(ServiceError::NotFound("customer")),
        Err(e) => return Err(e.into()),
    }
    state
        .store
        .customer_admins(client_id)
        .await?
        .into_iter()
        .find(|a| a.user_id == user.id)
        .ok_or(ServiceError::NotFound("user"))
}

/// Takes the role away from user `user` (superusers only). 404 if they do not hold it.
pub async fn revoke_administrator(
    state: &AppState,
    actor: Actor<'_>,
    client_id: &str,
    user: UserId,
) -> ServiceResult<()> {
    authorize(actor)?;
    mdr_session::customer(state, client_id).await?;
    let entry = activity_entry(
        state,
        actor.map(|p| p.user.id),
        "disassociate",
        "mdr_administrator",
        Some(user.0),
        serde_json::json!({"client_id": client_id}),
    );
    if state
        .store
        .revoke_customer_admin(client_id, user, entry)
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::NotFound("administrator"))
    }
}
