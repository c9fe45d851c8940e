//! The compatibility stubs: seven fixed AWX lists (organizations, projects, teams,
//! credentials, job templates, workflow job templates, instance groups) served by one
//! generic handler set parameterised by a [`Stub`] row.

use super::{DEFAULT_ORGANIZATION, named_parts};
use crate::api::awx::options::{self, FieldType, Resource};
use crate::api::awx::render::awx_time;
use crate::api::awx::{filter, parse_id};
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::path::AwxPath;
use axum::Json;
use axum::extract::OriginalUri;
use portcullis_store::filter::ValueKind;
use serde_json::{Value, json};
use std::cmp::Ordering;
use time::OffsetDateTime;

/// A compatibility list: its URL segment, its metadata and the rows it holds.
#[derive(Debug)]
pub struct Stub {
    pub(crate) segment: &'static str,
    resource: &'static Resource,
    rows: fn() -> Vec<Value>,
}

pub(crate) static STUBS: [Stub; 7] = [
    Stub {
        segment: "organizations",
        resource: &options::ORGANIZATIONS,
        rows: default_organization,
    },
    Stub {
        segment: "projects",
        resource: &options::PROJECTS,
        rows: Vec::new,
    },
    Stub {
        segment: "teams",
        resource: &options::TEAMS,
        rows: Vec::new,
    },
    Stub {
        segment: "credentials",
        resource: &options::CREDENTIALS,
        rows: Vec::new,
    },
    Stub {
        segment: "job_templates",
        resource: &options::JOB_TEMPLATES,
        rows: Vec::new,
    },
    Stub {
        segment: "workflow_job_templates",
        resource: &options::WORKFLOW_JOB_TEMPLATES,
        rows: Vec::new,
    },
    Stub {
        segment: "instance_groups",
        resource: &options::INSTANCE_GROUPS,
        rows: Vec::new,
    },
];

/// The compatibility lists, in the order they are routed.
pub(crate) fn stubs() -> &'static [Stub] {
    &STUBS
}

impl Stub {
    /// The list's URL segment (`organizations`, …).
    pub(crate) fn segment(&self) -> &'static str {
        self.segment
    }
}

/// AWX's built-in organization (`docs/awx-compat.md`, "Default organization"). Portcullis stores no organizations, so its
/// timestamps are a fixed instant rather than an install date.
fn default_organization() -> Vec<Value> {
    let epoch = awx_time(OffsetDateTime::UNIX_EPOCH);
    vec![json!({
        "id": DEFAULT_ORGANIZATION, "type": "organization",
        "url": format!("/api/v2/organizations/{DEFAULT_ORGANIZATION}/"),
        "related": {}, "summary_fields": {}, "created": epoch, "modified": epoch,
        "name": "Default", "description": "",
    })]
}

/// The value kind of `resource`'s field `name`, for filtering rows in memory.
pub(crate) fn field_kind(resource: &Resource, name: &str) -> Option<ValueKind> {
    resource.field(name).map(|f| match f.kind {
        FieldType::Integer => ValueKind::Int,
        FieldType::Id if f.name == "id" => ValueKind::Int,
        FieldType::Id => ValueKind::Related,
        FieldType::Boolean => ValueKind::Bool,
        FieldType::Datetime => ValueKind::Instant,
        FieldType::String
        | FieldType::Json
        | FieldType::Choice
        | FieldType::List
        | FieldType::NestedObject => ValueKind::Text,
    })
}

fn compare_cells(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// `GET /api/v2/<stub>/`: the stub's rows, filtered, ordered and paged like every list.
#[utoipa::path(get, path = "/api/v2/{stub}/", tag = "compatibility",
    params(("stub" = String, Path, description = "organizations, projects, teams, credentials, job_templates, workflow_job_templates or instance_groups"),
           ("page" = Option<i64>, Query, description = "Page number from 1"),
           ("page_size" = Option<i64>, Query, description = "Up to 200"),
           ("order_by" = Option<String>, Query, description = "Field, `-` for descending"),
           ("name" = Option<String>, Query, description = "Exact match")),
    responses((status = 200, description = "Empty page (organizations: the Default organization)", body = crate::api::awx::paging::Page),
              (status = 400, description = "Unknown filter field"), (status = 401, description = "Not authenticated")))]
pub async fn stub_list(
    stub: &'static Stub,
    Authed(_): Authed,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Json<Value>> {
    let params = super::registry::list_params(&uri, stub.resource)?;
    let mut rows: Vec<Value> = (stub.rows)()
        .into_iter()
        .filter(|row| {
            filter::row_matches(
                &params.filter,
                row,
                &|name| field_kind(stub.resource, name),
                &["name", "description"],
            )
        })
        .collect();
    let (field, descending) = params
        .order_by
        .clone()
        .unwrap_or_else(|| ("id".to_owned(), false));
    rows.sort_by(|a, b| {
        let o = compare_cells(a.get(&field), b.get(&field));
        let o = if descending { o.reverse() } else { o };
        o.then_with(|| compare_cells(a.get("id"), b.get("id")))
    });
    let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let page = rows
        .into_iter()
        .skip(usize::try_from(params.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(params.page_size).unwrap_or(0))
        .collect();
    Ok(Json(params.envelope(uri.path(), total, page)?))
}

/// `GET /api/v2/<stub>/<id>/`: 404, except the `Default` organization.
#[utoipa::path(get, path = "/api/v2/{stub}/{id}/", tag = "compatibility",
    params(("stub" = String, Path, description = "A compatibility list"), ("id" = String, Path, description = "Object id")),
    responses((status = 200, description = "organizations/1: the Default organization"),
              (status = 404, description = "Not found"), (status = 401, description = "Not authenticated")))]
pub async fn stub_detail(
    stub: &'static Stub,
    Authed(_): Authed,
    AwxPath(id): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    stub_row(stub, &id).map(Json)
}

/// The id of the organization a path segment names (`1` or `Default`); 404 otherwise.
pub(crate) fn organization_id(segment: &str) -> ApiResult<i64> {
    let organizations = STUBS.first().ok_or(ApiError::NotFound)?;
    stub_row(organizations, segment)?
        .get("id")
        .and_then(Value::as_i64)
        .ok_or(ApiError::NotFound)
}

/// The stub row a path segment names: an id, or a named URL `<name>` (the organizations'
/// format; the other stubs hold no rows).
fn stub_row(stub: &Stub, segment: &str) -> ApiResult<Value> {
    let by_id = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    let wanted = if by_id {
        json!(parse_id(segment)?)
    } else {
        match named_parts(segment).as_deref() {
            Some([name]) => json!(name),
            _ => return Err(ApiError::NotFound),
        }
    };
    let key = if by_id { "id" } else { "name" };
    (stub.rows)()
        .into_iter()
        .find(|row| row.get(key) == Some(&wanted))
        .ok_or(ApiError::NotFound)
}

/// `OPTIONS /api/v2/<stub>/` and `…/<id>/`: `actions.GET` only, whatever the caller.
#[utoipa::path(options, path = "/api/v2/{stub}/", tag = "compatibility",
    params(("stub" = String, Path, description = "A compatibility list")),
    responses((status = 200, description = "AWX metadata (GET only)"), (status = 401, description = "Not authenticated")))]
pub async fn stub_options(stub: &'static Stub, Authed(_): Authed, detail: bool) -> Json<Value> {
    if detail {
        options::detail_options(stub.resource, false)
    } else {
        options::list_options(stub.resource, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_fields_have_kinds_and_ids_parse() {
        assert_eq!(
            field_kind(&options::ORGANIZATIONS, "id"),
            Some(ValueKind::Int)
        );
        assert_eq!(
            field_kind(&options::ORGANIZATIONS, "name"),
            Some(ValueKind::Text)
        );
        assert_eq!(
            field_kind(&options::INVENTORIES, "organization"),
            Some(ValueKind::Related)
        );
        assert_eq!(field_kind(&options::ORGANIZATIONS, "nope"), None);
    }
}
