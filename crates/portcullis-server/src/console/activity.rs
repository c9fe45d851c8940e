//! The Activity stream page (`docs/console.md`, "Settings and activity"): every entry, newest
//! first, filtered by user, kind of object and time range, paged in the store.
//!
//! Policy: superusers only ([`authz::is_administrator`]; other users see their own activity on
//! the overview). The filter form is a plain GET form that htmx also submits to replace the
//! results only; every filter is optional, and one that cannot be read (a date that is not a
//! date) is said next to its field and leaves the list unfiltered by it, never a 500.

use crate::console::overview::{ActivityRow, activity_rows};
use crate::console::page::{self, Console, Errors, Layout, Pager, Section};
use crate::service::error::ServiceResult;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use portcullis_core::authz;
use portcullis_store::ActivityQuery;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// The kinds of object the stream records, for the kind filter (`object1` values).
pub const KINDS: [(&str, &str); 7] = [
    ("user", "User"),
    ("setting", "Setting"),
    ("o_auth2_access_token", "OAuth2 token"),
    ("o_auth2_application", "OAuth2 application"),
    ("mdr_connection", "MDR API connection"),
    ("inventory", "Inventory"),
    ("host", "Host"),
];

/// The page's query string.
#[derive(Debug, Default, Clone, serde::Deserialize)]
struct Filters {
    /// Username of the actor.
    #[serde(default)]
    user: String,
    /// Object kind (one of [`KINDS`]).
    #[serde(default)]
    kind: String,
    /// Start (UTC, `datetime-local` format), inclusive.
    #[serde(default)]
    from: String,
    /// End (UTC), exclusive.
    #[serde(default)]
    to: String,
    /// 1-based page.
    #[serde(default)]
    page: Option<String>,
}

/// An option of the kind select.
#[derive(Debug, Clone)]
pub struct KindOption {
    /// `object1` value.
    pub value: &'static str,
    /// Shown text.
    pub label: &'static str,
    /// Currently chosen.
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/activity.html")]
struct ActivityPage {
    layout: Layout,
    r: Results,
    activity: Vec<ActivityRow>,
}

#[derive(Template)]
#[template(path = "console/activity_results.html")]
struct ResultsFragment {
    r: Results,
    activity: Vec<ActivityRow>,
}

/// The filter form's values, its messages and the page of rows.
struct Results {
    user: String,
    from: String,
    to: String,
    kinds: Vec<KindOption>,
    errors: Errors,
    pager: Pager,
}

const MINUTES: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");
const SECONDS: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
const FRACTION: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");

/// A `datetime-local` value read as UTC: `2026-12-06T13:05`, with optional seconds and
/// fraction (what browsers send). `None` when it is not such a value.
pub fn parse_utc(text: &str) -> Option<OffsetDateTime> {
    [MINUTES, SECONDS, FRACTION]
        .iter()
        .find_map(|f| PrimitiveDateTime::parse(text, f).ok())
        .map(PrimitiveDateTime::assume_utc)
}

fn time_filter(text: &str, field: &str, errors: &mut Errors) -> Option<OffsetDateTime> {
    if text.is_empty() {
        return None;
    }
    let t = parse_utc(text);
    if t.is_none() {
        errors.say(
            field,
            "Enter a date and time as YYYY-MM-DDTHH:MM (UTC); this filter was not applied.",
        );
    }
    t
}

async fn gather(state: &AppState, f: Filters) -> ServiceResult<(Results, Vec<ActivityRow>)> {
    let mut errors = Errors::none();
    let user = f.user.trim().to_owned();
    let kind = KINDS
        .iter()
        .find(|(k, _)| *k == f.kind)
        .map(|(k, _)| (*k).to_owned());
    if !f.kind.is_empty() && kind.is_none() {
        errors.say(
            "kind",
            "Choose one of the listed kinds; this filter was not applied.",
        );
    }
    let since = time_filter(f.from.trim(), "from", &mut errors);
    let until = time_filter(f.to.trim(), "to", &mut errors);
    let page_no = f
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1);
    // An unknown username matches nothing (it is not an error: the user may be deleted).
    let (actor, nobody) = if user.is_empty() {
        (None, false)
    } else {
        match state.store.user_by_username(&user).await? {
            Some(u) => (Some(u.id), false),
            None => (None, true),
        }
    };
    let query = ActivityQuery {
        object1: kind.clone(),
        actor,
        since,
        until,
        limit: page::PAGE_SIZE,
        offset: Pager::offset(page_no),
        ..ActivityQuery::default()
    };
    let kind_text = kind.clone().unwrap_or_default();
    let params = [
        ("user", user.as_str()),
        ("kind", kind_text.as_str()),
        ("from", f.from.trim()),
        ("to", f.to.trim()),
    ];
    let (total, entries) = if nobody {
        (0, Vec::new())
    } else {
        let mut found = state.store.list_activity(&query).await?;
        let last = Pager::new(page_no, found.total, &params).page;
        if last < page_no && found.total > 0 {
            // Past the last page (the list shrank, or a typed address): show the last one.
            found = state
                .store
                .list_activity(&ActivityQuery {
                    offset: Pager::offset(last),
                    ..query
                })
                .await?;
        }
        (found.total, found.items)
    };
    let pager = Pager::new(page_no, total, &params);
    let results = Results {
        kinds: KINDS
            .iter()
            .map(|(value, label)| KindOption {
                value,
                label,
                selected: kind.as_deref() == Some(*value),
            })
            .collect(),
        user,
        from: f.from.trim().to_owned(),
        to: f.to.trim().to_owned(),
        errors,
        pager,
    };
    Ok((results, activity_rows(state, entries).await?))
}

/// `GET /console/activity/`: the page, or for htmx the results only.
pub async fn show(State(state): State<AppState>, c: Console, parts: Parts) -> Response {
    if !authz::is_administrator(&c.principal.user) {
        return c.forbidden();
    }
    let filters: Filters = page::query(&parts);
    let (r, activity) = match gather(&state, filters).await {
        Ok(found) => found,
        Err(e) => return c.error(e),
    };
    if c.htmx {
        c.respond(StatusCode::OK, &ResultsFragment { r, activity })
    } else {
        c.page(&ActivityPage {
            layout: c.layout(Section::Activity, "Activity stream"),
            r,
            activity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_local_values_are_utc() {
        let t = time::macros::datetime!(2026-12-06 13:05 UTC);
        assert_eq!(parse_utc("2026-12-06T13:05"), Some(t));
        assert_eq!(
            parse_utc("2026-12-06T13:05:30"),
            Some(t + time::Duration::seconds(30))
        );
        assert_eq!(
            parse_utc("2026-12-06T13:05:30.5"),
            Some(t + time::Duration::milliseconds(30_500))
        );
        assert_eq!(parse_utc("yesterday"), None);
        assert_eq!(parse_utc("2026-13-01T00:00"), None);
        assert_eq!(parse_utc("2026-12-06 13:05"), None);
    }
}
