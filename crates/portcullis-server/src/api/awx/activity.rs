//! The activity stream (`docs/awx-compat.md`, "Activity stream"): `/api/v2/activity_stream/`, one
//! entry, the entries of one user (`/api/v2/users/<u>/activity_stream/`), and [`object_activity`],
//! the body of the per-object sub-lists (`/api/v2/tokens/<id>/activity_stream/`,
//! `/api/v2/applications/<id>/activity_stream/`) that the token and application modules mount.
//!
//! Visibility: superusers and system auditors see every entry; other users only the entries
//! they are the actor of or whose object is their own user. Entries are rendered in AWX's
//! shape; the store only ever holds masked values, so nothing is masked here.

use crate::api::awx::options::{self, ACTIVITY_STREAM};
use crate::api::awx::paging::ListParams;
use crate::api::awx::parse_id;
use crate::api::awx::render::awx_time;
use crate::api::awx::users;
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::path::AwxPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::Uri;
use portcullis_core::ids::UserId;
use portcullis_core::principal::Principal;
use portcullis_core::user::User;
use portcullis_store::activity::{ActivityField, ActivityOrder};
use portcullis_store::{ActivityEntry, ActivityQuery};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `object1` of token entries.
pub const TOKEN_OBJECT: &str = "o_auth2_access_token";
/// `object1` of application entries.
pub const APPLICATION_OBJECT: &str = "o_auth2_application";

/// The filter and `order_by` keys: the table's filterable fields plus `actor` (the user id
/// shown under `related.actor`).
fn list_fields() -> Vec<&'static str> {
    let mut fields = ACTIVITY_STREAM.filterable();
    fields.push("actor");
    fields
}

/// Sets a filter that may already be set (by the view or an earlier query parameter):
/// two different values cannot both match, so the query matches nothing (`false`).
fn narrow<T: PartialEq>(slot: &mut Option<T>, value: T) -> bool {
    match slot {
        Some(existing) => *existing == value,
        None => {
            *slot = Some(value);
            true
        }
    }
}

/// `base` narrowed by the request's filters and given its order; `None` when no entry can
/// match (a value of the wrong type or contradictory filters), as an exact-match filter on
/// such a value matches nothing.
fn with_params(mut q: ActivityQuery, params: &ListParams) -> Option<ActivityQuery> {
    for c in &params.filter.all {
        let (k, v) = (&c.field, &c.value);
        let ok = match k.as_str() {
            "id" => v.parse().is_ok_and(|id| narrow(&mut q.id, id)),
            "operation" => narrow(&mut q.operation, v.clone()),
            "object1" => narrow(&mut q.object1, v.clone()),
            "actor" => v.parse().is_ok_and(|id| narrow(&mut q.actor, UserId(id))),
            "timestamp" => {
                OffsetDateTime::parse(v, &Rfc3339).is_ok_and(|t| narrow(&mut q.timestamp, t))
            }
            // ListParams admits only the fields above.
            _ => false,
        };
        if !ok {
            return None;
        }
    }
    let (field, descending) = match &params.order_by {
        Some((name, descending)) => (order_field(name)?, *descending),
        // AWX orders the stream by id ascending (`docs/awx-compat.md`, "Pagination").
        None => (ActivityField::Id, false),
    };
    q.order = Some(ActivityOrder { field, descending });
    q.limit = params.page_size;
    q.offset = params.offset();
    Some(q)
}

fn order_field(name: &str) -> Option<ActivityField> {
    Some(match name {
        "id" => ActivityField::Id,
        "timestamp" => ActivityField::Timestamp,
        "operation" => ActivityField::Operation,
        "object1" => ActivityField::Object1,
        "actor" => ActivityField::Actor,
        _ => return None,
    })
}

/// Limits `q` to what `p` may see.
fn visible_to(p: &Principal, mut q: ActivityQuery) -> Option<ActivityQuery> {
    if p.user.can_read_all() || narrow(&mut q.involving, p.user.id) {
        Some(q)
    } else {
        None
    }
}

/// AWX's entry object.
fn entry_json(e: &ActivityEntry, actor: Option<&User>) -> Value {
    let (related, summary) = match actor {
        Some(u) => (
            json!({"actor": format!("/api/v2/users/{}/", u.id.0)}),
            json!({"actor": {"id": u.id.0, "username": u.username,
                             "first_name": u.first_name, "last_name": u.last_name}}),
        ),
        // No actor (system or CLI), or the actor was deleted since.
        None => (json!({}), json!({})),
    };
    let a = &e.entry;
    json!({
        "id": e.id, "type": "activity_stream", "url": format!("/api/v2/activity_stream/{}/", e.id),
        "related": related, "summary_fields": summary,
        "timestamp": awx_time(a.timestamp), "operation": a.operation, "changes": a.changes,
        "object1": a.object1, "object2": "", "object_association": "", "object_type": "",
    })
}

/// Renders `entries`, reading each distinct actor once.
async fn render(state: &AppState, entries: &[ActivityEntry]) -> ApiResult<Vec<Value>> {
    let mut actors: HashMap<UserId, Option<User>> = HashMap::new();
    for id in entries.iter().filter_map(|e| e.entry.actor) {
        if let Entry::Vacant(slot) = actors.entry(id) {
            slot.insert(state.store.user_by_id(id).await?);
        }
    }
    Ok(entries
        .iter()
        .map(|e| {
            let actor = e
                .entry
                .actor
                .and_then(|id| actors.get(&id))
                .and_then(Option::as_ref);
            entry_json(e, actor)
        })
        .collect())
}

/// A page of the entries matching `base` (`None`: nothing) and the request's parameters.
async fn page(state: &AppState, uri: &Uri, base: Option<ActivityQuery>) -> ApiResult<Json<Value>> {
    let params = ListParams::parse(uri.query(), &list_fields())?;
    // The activity store takes exact matches only: refuse other syntax rather than ignore it.
    params.exact_filters()?;
    let (total, results) = match base.and_then(|q| with_params(q, &params)) {
        Some(q) => {
            let found = state.store.list_activity(&q).await?;
            (found.total, render(state, &found.items).await?)
        }
        None => (0, Vec::new()),
    };
    Ok(Json(params.envelope(uri.path(), total, results)?))
}

/// The entries about object `object1` `id` (e.g. [`TOKEN_OBJECT`] 12), with the filters,
/// order and paging of the activity-stream list. The caller has already decided that the
/// requester may see that object (its entries are then shown whoever the actor was).
pub async fn object_activity(
    state: &AppState,
    object1: &str,
    id: i64,
    uri: &Uri,
) -> ApiResult<Json<Value>> {
    let base = ActivityQuery {
        object1: Some(object1.to_owned()),
        object1_id: Some(id),
        ..ActivityQuery::default()
    };
    page(state, uri, Some(base)).await
}

/// `GET /api/v2/activity_stream/`
#[utoipa::path(get, path = "/api/v2/activity_stream/", tag = "activity",
    params(("page" = Option<i64>, Query, description = "Page number from 1"),
           ("page_size" = Option<i64>, Query, description = "Up to 200"),
           ("order_by" = Option<String>, Query, description = "id, timestamp, operation, object1 or actor; `-` for descending"),
           ("operation" = Option<String>, Query, description = "create, update or delete"),
           ("object1" = Option<String>, Query, description = "Object type, e.g. user"),
           ("actor" = Option<i64>, Query, description = "Acting user id"),
           ("timestamp" = Option<String>, Query, description = "Exact instant (ISO-8601)")),
    responses((status = 200, description = "Paginated entries the caller may see", body = crate::api::awx::paging::Page),
              (status = 400, description = "Unknown filter field"), (status = 401, description = "Not authenticated")))]
pub async fn list_activity(
    State(state): State<AppState>,
    Authed(p): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    page(&state, &uri, visible_to(&p, ActivityQuery::default())).await
}

/// `GET /api/v2/activity_stream/<id>/`
#[utoipa::path(get, path = "/api/v2/activity_stream/{id}/", tag = "activity",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "The entry"), (status = 404, description = "Not found or not visible")))]
pub async fn get_activity(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    let query = ActivityQuery {
        id: Some(parse_id(&id)?),
        limit: 1,
        ..ActivityQuery::default()
    };
    let query = visible_to(&p, query).ok_or(ApiError::NotFound)?;
    let found = state.store.list_activity(&query).await?;
    render(&state, &found.items)
        .await?
        .into_iter()
        .next()
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// `GET /api/v2/users/<u>/activity_stream/`: entries by that user and about that user.
#[utoipa::path(get, path = "/api/v2/users/{u}/activity_stream/", tag = "activity",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "Paginated entries", body = crate::api::awx::paging::Page), (status = 403, description = "Not visible (by id)"),
              (status = 404, description = "Not found")))]
pub async fn user_activity(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let target = users::resolve(&state, &p, &u).await?;
    let base = ActivityQuery {
        involving: Some(target.id),
        ..ActivityQuery::default()
    };
    page(&state, &uri, visible_to(&p, base)).await
}

/// `OPTIONS /api/v2/activity_stream/` (also the users' and objects' sub-lists)
#[utoipa::path(options, path = "/api/v2/activity_stream/", tag = "activity",
    responses((status = 200, description = "AWX metadata (GET only)"), (status = 401, description = "Not authenticated")))]
pub async fn activity_options(Authed(_): Authed) -> Json<Value> {
    options::list_options(&ACTIVITY_STREAM, false)
}

/// `OPTIONS /api/v2/users/<u>/activity_stream/`: as [`activity_options`].
#[utoipa::path(options, path = "/api/v2/users/{u}/activity_stream/", tag = "activity",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "AWX metadata (GET only)"), (status = 401, description = "Not authenticated")))]
pub async fn user_activity_options(a: Authed) -> Json<Value> {
    activity_options(a).await
}

/// `OPTIONS /api/v2/activity_stream/<id>/`: 200 whether or not the entry exists.
#[utoipa::path(options, path = "/api/v2/activity_stream/{id}/", tag = "activity",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "AWX metadata (GET only)"), (status = 401, description = "Not authenticated")))]
pub async fn entry_options(Authed(_): Authed) -> Json<Value> {
    options::detail_options(&ACTIVITY_STREAM, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> ListParams {
        ListParams::parse(Some(q), &list_fields()).unwrap()
    }

    #[test]
    fn filters_narrow_and_contradictions_match_nothing() {
        let q = with_params(
            ActivityQuery::default(),
            &params("operation=create&actor=3&order_by=-timestamp"),
        )
        .unwrap();
        assert_eq!(q.operation.as_deref(), Some("create"));
        assert_eq!(q.actor, Some(UserId(3)));
        assert_eq!(
            q.order,
            Some(ActivityOrder {
                field: ActivityField::Timestamp,
                descending: true
            })
        );
        assert!(with_params(ActivityQuery::default(), &params("actor=me")).is_none());
        assert!(with_params(ActivityQuery::default(), &params("timestamp=yesterday")).is_none());
        assert!(
            with_params(
                ActivityQuery::default(),
                &params("operation=create&operation=update")
            )
            .is_none()
        );
        let token = ActivityQuery {
            object1: Some(TOKEN_OBJECT.into()),
            ..ActivityQuery::default()
        };
        assert!(with_params(token.clone(), &params("object1=user")).is_none());
        assert!(with_params(token, &params(&format!("object1={TOKEN_OBJECT}"))).is_some());
        let t = with_params(
            ActivityQuery::default(),
            &params("timestamp=2026-03-01T12:00:00.250000Z"),
        )
        .unwrap();
        assert_eq!(
            t.timestamp,
            Some(time::macros::datetime!(2026-03-01 12:00:00.250 UTC))
        );
        assert!(ListParams::parse(Some("changes=x"), &list_fields()).is_err());
    }
}
