//! AWX list conventions (`docs/awx-compat.md`, "Pagination"): the envelope
//! `count`/`next`/`previous`/`results`, `page` from 1, `page_size` default 25 clamped to 200,
//! `count_disabled`, `order_by`, and AWX's filter syntax on declared fields
//! ([`filter`]). `next`/`previous` are relative and keep the other query
//! parameters.

use crate::api::awx::filter;
use crate::error::{ApiError, ApiResult};
use portcullis_store::Filter;
use serde_json::{Value, json};

/// Default page size.
pub const DEFAULT_PAGE_SIZE: i64 = 25;
/// Largest page size.
pub const MAX_PAGE_SIZE: i64 = 200;

/// Query parameters that are not field filters (AWX's reserved names; `search` is parsed
/// into the filter, the others Portcullis ignores).
const META: [&str; 9] = [
    "page",
    "page_size",
    "order_by",
    "count_disabled",
    "format",
    "type",
    "host_filter",
    "no_truncate",
    "limit",
];

/// A parsed list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// 1-based page number.
    pub page: i64,
    /// Page size (1…200).
    pub page_size: i64,
    /// Answer `{"results": [...]}` only.
    pub count_disabled: bool,
    /// `order_by` field and whether descending.
    pub order_by: Option<(String, bool)>,
    /// The filter: lookups, `not__`, `or__`, `chain__` and `search`.
    pub filter: Filter<String>,
    /// Every query pair, to rebuild `next`/`previous`.
    query: Vec<(String, String)>,
}

impl ListParams {
    /// Parses `query`. `fields` are the filterable (and orderable) fields of the list; an
    /// unknown filter or order field is a 400 naming it.
    pub fn parse(query: Option<&str>, fields: &[&str]) -> ApiResult<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|_| ApiError::BadRequest("The query string is not valid.".into()))?;
        let mut p = Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
            count_disabled: false,
            order_by: None,
            filter: Filter::default(),
            query: pairs.clone(),
        };
        for (k, v) in pairs {
            match k.as_str() {
                "page" => {
                    p.page = v
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or(ApiError::InvalidPage)?
                }
                "page_size" => {
                    if let Ok(n) = v.parse::<i64>()
                        && n >= 1
                    {
                        p.page_size = n.min(MAX_PAGE_SIZE);
                    }
                }
                "count_disabled" => p.count_disabled = matches!(v.as_str(), "1" | "true" | "True"),
                "order_by" => {
                    let (field, desc) = match v.strip_prefix('-') {
                        Some(f) => (f.to_owned(), true),
                        None => (v.clone(), false),
                    };
                    if !fields.contains(&field.as_str()) {
                        return Err(ApiError::BadRequest(format!(
                            "Cannot resolve keyword '{field}' into field."
                        )));
                    }
                    p.order_by = Some((field, desc));
                }
                other if META.contains(&other) => {}
                other => filter::add(&mut p.filter, other, &v, fields)?,
            }
        }
        Ok(p)
    }

    /// The filter as plain exact matches, for the lists whose store takes only those
    /// (tokens, applications, activity stream); any other syntax there is a 400 naming it.
    pub fn exact_filters(&self) -> ApiResult<Vec<(String, String)>> {
        let plain = self.filter.any.is_empty()
            && self.filter.search.is_empty()
            && self
                .filter
                .all
                .iter()
                .all(|c| !c.negated && c.lookup == portcullis_store::Lookup::Exact);
        if !plain {
            return Err(ApiError::BadRequest(
                "This list accepts only exact-match filters.".into(),
            ));
        }
        Ok(self
            .filter
            .all
            .iter()
            .map(|c| (c.field.clone(), c.value.clone()))
            .collect())
    }

    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    fn link(&self, path: &str, page: i64) -> String {
        let mut q: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        q.push(("page".into(), page.to_string()));
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    }

    /// The envelope for a page of `total` matching rows. A page past the last one (other than
    /// page 1 of an empty list) is a 404 `Invalid page.`.
    pub fn envelope(&self, path: &str, total: i64, results: Vec<Value>) -> ApiResult<Value> {
        let last = ((total + self.page_size - 1) / self.page_size).max(1);
        if self.page > last {
            return Err(ApiError::InvalidPage);
        }
        if self.count_disabled {
            return Ok(json!({ "results": results }));
        }
        let next = (self.page < last).then(|| self.link(path, self.page + 1));
        let previous = (self.page > 1).then(|| self.link(path, self.page - 1));
        Ok(json!({"count": total, "next": next, "previous": previous, "results": results}))
    }
}

/// AWX's list envelope, as the OpenAPI document describes it. With counting disabled only
/// `results` is sent.
#[derive(Debug, utoipa::ToSchema)]
pub struct Page {
    /// Rows matching the filter, all pages together.
    #[schema(required = false)]
    pub count: i64,
    /// Relative URL of the next page, `null` on the last.
    #[schema(required = false)]
    pub next: Option<String>,
    /// Relative URL of the previous page, `null` on the first.
    #[schema(required = false)]
    pub previous: Option<String>,
    /// This page's rows.
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_and_links() {
        let p = ListParams::parse(Some("page_size=500&username=a&page=1"), &["username"]).unwrap();
        assert_eq!(p.page_size, 200);
        let env = p.envelope("/api/v2/users/", 401, vec![]).unwrap();
        assert_eq!(
            env["next"],
            "/api/v2/users/?page_size=500&username=a&page=2"
        );
        assert_eq!(env["previous"], Value::Null);
    }

    #[test]
    fn invalid_page_and_unknown_field() {
        let p = ListParams::parse(Some("page=999"), &[]).unwrap();
        assert_eq!(p.envelope("/x/", 3, vec![]), Err(ApiError::InvalidPage));
        assert!(ListParams::parse(Some("nope=1"), &["id"]).is_err());
        assert_eq!(
            ListParams::parse(Some("page=abc"), &[]),
            Err(ApiError::InvalidPage)
        );
        let p = ListParams::parse(Some("count_disabled=1"), &[]).unwrap();
        assert_eq!(
            p.envelope("/x/", 0, vec![]).unwrap(),
            json!({"results": []})
        );
    }
}
