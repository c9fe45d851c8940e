//! The admin web console's pages (`docs/console.md`), every scenario on SQLite and on
//! PostgreSQL. The browser tests (`tests/browser/`) drive the same pages in Chromium; these
//! check the server's side of each rule: who reaches what, CSRF, headers, status codes.

mod activity;
mod applications;
mod connections;
mod pages;
mod settings;
mod settings_ldap;
mod tokens;
mod users;

use crate::harness::Resp;

/// Asserts an HTML page that follows the console's rules: the CSP header, no inline script
/// or style, every form carries the CSRF field.
#[track_caller]
pub fn assert_console_html(r: &Resp) {
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=utf-8"),
        "{}",
        r.text()
    );
    let csp = r.header("content-security-policy").expect("CSP header");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let body = r.text();
    assert!(!body.contains(" style="), "inline style in {body}");
    assert!(!body.contains("<style"), "style element in {body}");
    for (i, _) in body.match_indices("<script") {
        let tag = &body[i..body[i..].find('>').map_or(body.len(), |e| i + e)];
        assert!(tag.contains(" src="), "inline script: {tag}");
    }
    let forms = body.matches("<form").count();
    let posts = body.matches("method=\"post\"").count();
    let tokens = body.matches("name=\"csrfmiddlewaretoken\"").count();
    assert!(
        tokens >= posts,
        "{posts} post forms, {tokens} CSRF fields, {forms} forms"
    );
}
