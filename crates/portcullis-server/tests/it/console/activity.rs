//! The Activity stream page (`docs/console.md`, "Settings and activity"): filters by user,
//! kind and time range (read as UTC), paging in the store, unreadable filters said on the
//! page, superusers only.

use super::assert_console_html;
use crate::harness::{PASSWORD, Session, TestApp};
use crate::on_both_backends;
use axum::http::{Method, StatusCode};
use portcullis_core::ids::UserId;
use portcullis_store::NewActivity;
use serde_json::json;
use time::Duration;
use time::macros::datetime;

/// 30 token entries by `bob`, one a minute from 2026-01-01 10:00 UTC, and 3 user entries by
/// `admin` on 2026-02-01.
async fn seed(app: &TestApp, admin: UserId, bob: UserId) {
    let start = datetime!(2026-01-01 10:00 UTC);
    for i in 0..30 {
        app.store()
            .record_activity(NewActivity {
                timestamp: start + Duration::minutes(i),
                actor: Some(bob),
                operation: "create".into(),
                object1: "o_auth2_access_token".into(),
                object1_id: Some(i + 1),
                changes: json!({"n": i}),
            })
            .await
            .unwrap();
    }
    for i in 0..3 {
        app.store()
            .record_activity(NewActivity {
                timestamp: datetime!(2026-02-01 09:00 UTC) + Duration::hours(i),
                actor: Some(admin),
                operation: "update".into(),
                object1: "user".into(),
                object1_id: Some(bob.0),
                changes: json!({"first_name": ["", "Bob"]}),
            })
            .await
            .unwrap();
    }
}

/// The number of listed rows whose actor is `who`, and the page's total line.
fn rows_by(body: &str, who: &str) -> usize {
    body.matches(&format!("<td data-label=\"Who\">{who}</td>"))
        .count()
}

fn rows(body: &str) -> usize {
    body.matches("<td data-label=\"Who\">").count()
}

async fn filters_narrow_the_list(app: TestApp) {
    let admin = app.admin().await;
    let bob = app.user("bob").await;
    seed(&app, admin.id, bob.id).await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;

    let page = s.get("/console/activity/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_console_html(&page);
    let body = page.text();
    assert!(body.contains("<h1>Activity stream</h1>"));
    assert!(body.contains("<option value=\"mdr_connection\">"));
    assert!(body.contains("<label for=\"from\">From (UTC)</label>"));
    assert_eq!(rows(&body), 25);

    let page = s.get("/console/activity/?user=bob").await;
    assert_console_html(&page);
    let body = page.text();
    assert!(body.contains("30 entries, page 1 of 2."), "{body}");
    assert_eq!((rows(&body), rows_by(&body, "bob")), (25, 25));
    assert!(body.contains("value=\"bob\""));

    let body = s
        .get("/console/activity/?user=admin&kind=user")
        .await
        .text();
    assert!(rows(&body) >= 3);
    assert_eq!(rows(&body), rows_by(&body, "admin"), "{body}");
    assert!(!body.contains("o_auth2_access_token 1<"));
    assert!(body.contains("<option value=\"user\" selected>"));

    let body = s
        .get("/console/activity/?kind=o_auth2_access_token")
        .await
        .text();
    assert!(body.contains("30 entries"), "{body}");

    // A time range, read as UTC: from is inclusive, "before" exclusive.
    let page = s
        .get("/console/activity/?from=2026-01-01T10%3A05&to=2026-01-01T10%3A10")
        .await;
    assert_console_html(&page);
    let body = page.text();
    assert!(body.contains("5 entries."), "{body}");
    assert_eq!(rows_by(&body, "bob"), 5);
    for n in 5..10 {
        assert!(body.contains(&format!("o_auth2_access_token {}<", n + 1)));
    }
    assert!(body.contains("datetime=\"2026-01-01T10:05:00Z\""));
    assert!(!body.contains("datetime=\"2026-01-01T10:10:00Z\""));
    let body = s
        .get("/console/activity/?user=admin&from=2026-02-01T10%3A00%3A00")
        .await
        .text();
    assert!(rows_by(&body, "admin") >= 2, "{body}");
    assert!(!body.contains("datetime=\"2026-02-01T09:00:00Z\""));

    // An unknown user matches nothing; it is not an error.
    let body = s.get("/console/activity/?user=nobody").await.text();
    assert!(body.contains("0 entries."));
    assert!(body.contains("No entries match these filters."));

    // htmx gets the form and the results only.
    let r = s
        .htmx(Method::GET, "/console/activity/?user=bob&page=2")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.text();
    assert!(body.starts_with("<div id=\"activity\">"), "{body}");
    assert!(!body.contains("<html"));
    assert_eq!(rows_by(&body, "bob"), 5);
}

async fn pages_follow_the_filter(app: TestApp) {
    let admin = app.admin().await;
    let bob = app.user("bob").await;
    seed(&app, admin.id, bob.id).await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let body = s.get("/console/activity/?user=bob").await.text();
    assert!(body.contains("href=\"?user=bob&#38;page=2\""), "{body}");
    // Newest first: page 1 ends at token 6, page 2 holds tokens 5 to 1.
    assert!(body.contains("o_auth2_access_token 30<"));
    assert!(body.contains("o_auth2_access_token 6<"));
    assert!(!body.contains("o_auth2_access_token 5<"));
    let page = s.get("/console/activity/?user=bob&page=2").await;
    assert_console_html(&page);
    let body = page.text();
    assert!(body.contains("page 2 of 2"));
    assert_eq!(rows_by(&body, "bob"), 5);
    assert!(body.contains("o_auth2_access_token 1<"));
    assert!(body.contains("href=\"?user=bob&#38;page=1\""));
    // Past the end: the last page; nonsense: the first.
    let body = s.get("/console/activity/?user=bob&page=9").await.text();
    assert!(body.contains("page 2 of 2"));
    assert_eq!(rows_by(&body, "bob"), 5);
    let body = s.get("/console/activity/?user=bob&page=x").await.text();
    assert!(body.contains("page 1 of 2"));
}

async fn unreadable_filters_are_said_not_500(app: TestApp) {
    let admin = app.admin().await;
    let bob = app.user("bob").await;
    seed(&app, admin.id, bob.id).await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let page = s
        .get("/console/activity/?user=bob&from=yesterday&to=2026-13-40T99%3A00&kind=team")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_console_html(&page);
    let body = page.text();
    for field in ["from", "to", "kind"] {
        assert!(
            body.contains(&format!(
                "aria-invalid=\"true\" aria-describedby=\"{field}-error\""
            )),
            "{field}: {body}"
        );
    }
    assert!(body.contains("Enter a date and time as YYYY-MM-DDTHH:MM (UTC)"));
    assert!(body.contains("value=\"yesterday\""));
    // The readable filter still applies.
    assert!(body.contains("30 entries"), "{body}");
    // A query string that is not a form at all is an empty filter.
    let r = s.get("/console/activity/?page=%ZZ&&=").await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn a_normal_user_is_refused(app: TestApp) {
    app.admin().await;
    app.user_with("erin", PASSWORD, false).await;
    let s = Session::console_login(&app, "erin", PASSWORD).await;
    let r = s.get("/console/activity/").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_console_html(&r);
    let r = s
        .htmx(Method::GET, "/console/activity/?user=admin")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        !s.get("/console/")
            .await
            .text()
            .contains("/console/activity/")
    );
}

on_both_backends!(
    filters_narrow_the_list,
    pages_follow_the_filter,
    unreadable_filters_are_said_not_500,
    a_normal_user_is_refused,
);
