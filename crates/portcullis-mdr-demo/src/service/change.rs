//! Reading an incident in scope and changing it (`docs/mdr-api.md`, "Behaviour").
//!
//! Policy: every change of an incident, including one of its children, goes through
//! [`change_incident`]: read, apply, `update_time` = max(now, previous + 1), compare-and-set
//! on the stored version, and start over when another writer got there first. So two
//! concurrent changes never lose one another, and `update_time` strictly increases.

use super::model::{Incident, decode, encode, kind};
use super::{Ctx, history, next_time};
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;
use portcullis_store::{MdrObject, StoreError};

/// Attempts before a change under constant contention gives up with 503.
const MAX_ATTEMPTS: usize = 32;

/// An incident as stored and as it reads now (the 72-hour rule applied).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The stored object (its `updated_ms` is the compare-and-set version).
    pub stored: MdrObject,
    /// The incident as it reads now.
    pub incident: Incident,
}

impl Loaded {
    /// The incident's tenant.
    pub fn tenant_id(&self) -> Option<&str> {
        self.stored.tenant_id.as_deref()
    }
}

/// Decodes a stored incident and applies the 72-hour rule.
pub fn settle(stored: MdrObject, now_ms: i64) -> MdrResult<Loaded> {
    let mut incident: Incident = decode(&stored)?;
    incident.settle(now_ms);
    Ok(Loaded { stored, incident })
}

/// The incident `id` if it exists and is in scope, else 404 `incident not found` (the same
/// answer for both, so scope does not leak existence).
pub async fn load_incident(state: &AppState, ctx: &Ctx, id: &str) -> MdrResult<Loaded> {
    match state
        .store
        .object(&ctx.client_id, kind::INCIDENT, id)
        .await?
    {
        Some(o) if ctx.scope.contains(o.tenant_id.as_deref()) => settle(o, ctx.now_ms),
        _ => Err(MdrError::not_found("incident")),
    }
}

/// Applies `mutate` to incident `id` and stores it with a new `update_time`. `mutate` may
/// refuse (its error is returned and nothing is written); it may run more than once.
pub async fn change_incident<F>(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    mut mutate: F,
) -> MdrResult<Loaded>
where
    F: FnMut(&mut Incident) -> MdrResult<()> + Send,
{
    for _ in 0..MAX_ATTEMPTS {
        let Loaded {
            stored,
            mut incident,
        } = load_incident(state, ctx, id).await?;
        let expected = stored.updated_ms;
        mutate(&mut incident)?;
        incident.update_time = next_time(ctx.now_ms, incident.update_time);
        let next = MdrObject {
            updated_ms: incident.update_time,
            data: encode(&incident)?,
            ..stored
        };
        match state.store.replace_object(&next, expected).await {
            Ok(true) => {
                return Ok(Loaded {
                    stored: next,
                    incident,
                });
            }
            Ok(false) => continue,
            Err(StoreError::NotFound) => return Err(MdrError::not_found("incident")),
            Err(e) => return Err(e.into()),
        }
    }
    Err(MdrError::unavailable(
        "incident changed concurrently too often",
    ))
}

/// Raises the incident's `update_time` for a change of one of its children and returns the
/// new value (the child's history record carries it).
pub async fn touch_incident(state: &AppState, ctx: &Ctx, id: &str) -> MdrResult<Loaded> {
    change_incident(state, ctx, id, |_| Ok(())).await
}

/// Records `incident_details` for a change of the incident itself.
pub async fn record_details(state: &AppState, ctx: &Ctx, loaded: &Loaded) {
    let tenant_name = ctx.scope.tenant_name(loaded.tenant_id());
    let entity = serde_json::Value::Object(loaded.incident.render_core(tenant_name));
    history::record(state, ctx, loaded, history::INCIDENT_DETAILS, entity).await;
}
