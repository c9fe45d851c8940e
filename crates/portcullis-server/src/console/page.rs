//! What every console page shares (`docs/console.md`): who is looking (the [`Console`]
//! extractor), the layout data `base.html` reads, rendering a whole page or an htmx fragment,
//! and the console's one renderer of [`ServiceError`].
//!
//! Policy: the console is a browser surface, so only a session authenticates it — a Basic or
//! Bearer credential sent to a console page counts as no login at all (a browser that cached
//! Basic credentials must not drive the console without the session's CSRF protection). An
//! anonymous page request is sent to the login page with a same-origin `next`; an htmx request
//! gets `HX-Redirect` instead, so a partial never swaps the login form into a page.

use crate::api::awx::discovery::csrf_cookie_for;
use crate::auth::chain::{AuthContext, Failure};
use crate::auth::check;
use crate::auth::cookies;
use crate::error::ErrorCause;
use crate::service::error::{FieldErrors, Forbidden, Problem, ServiceError};
use crate::state::AppState;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use portcullis_core::authz;
use portcullis_core::principal::{AuthVia, Principal};
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The console's sections, for the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Counts and recent activity.
    Overview,
    /// Users (superusers only).
    Users,
    /// Tokens: one's own, or every token for superusers.
    Tokens,
    /// OAuth2 applications (superusers only).
    Applications,
    /// MDR customers and API connections.
    Connections,
    /// Settings (superusers only).
    Settings,
    /// The activity stream.
    Activity,
    /// The caller's own profile.
    Profile,
}

/// A signed-in console user and what every page needs to draw the layout.
#[derive(Debug, Clone)]
pub struct Console {
    /// The caller (always session-authenticated).
    pub principal: Principal,
    /// The CSRF token every form and htmx request carries (bound to the session).
    pub csrf_token: String,
    /// A `Set-Cookie` for the CSRF token when the browser did not hold a valid one yet.
    new_csrf_cookie: Option<String>,
    /// True for an htmx request (`HX-Request: true`): answer with a fragment.
    pub htmx: bool,
    /// The request's path and query (a safe `next` for forms that come back here).
    pub here: String,
    /// The Client IDs of the customers a non-superuser is an MDR administrator of (read once
    /// per page, for the navigation; always empty for superusers, who manage every customer).
    pub administers: Vec<String>,
}

impl Console {
    /// True when the caller is an administrator (sees every admin page).
    pub fn is_admin(&self) -> bool {
        authz::is_administrator(&self.principal.user)
    }

    /// The layout data for a page in `section` titled `title`.
    pub fn layout(&self, section: Section, title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            username: self.principal.user.username.clone(),
            csrf_token: self.csrf_token.clone(),
            csrf_header: format!("{{\"X-CSRFToken\": \"{}\"}}", self.csrf_token),
            section,
            admin: self.is_admin(),
            connections: authz::may_manage_customer(
                &self.principal.user,
                !self.administers.is_empty(),
            ),
        }
    }

    /// Renders `page` as a complete HTML response (status 200).
    pub fn page(&self, page: &impl Template) -> Response {
        self.respond(StatusCode::OK, page)
    }

    /// Renders `page` with `status`, adding the console's headers.
    pub fn respond(&self, status: StatusCode, page: &impl Template) -> Response {
        let mut resp = render(status, page);
        if let Some(c) = &self.new_csrf_cookie
            && let Ok(v) = HeaderValue::from_str(c)
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    }

    /// Refuses a page the caller's role does not reach (403 page or in-place message).
    pub fn forbidden(&self) -> Response {
        ConsoleError::from(ServiceError::not_permitted()).respond(self.htmx)
    }

    /// Renders a service error the console's way: a page, or a message in place for htmx.
    pub fn error(&self, e: ServiceError) -> Response {
        ConsoleError::from(e).respond(self.htmx)
    }

    /// A redirect after a successful form post (303: the browser then GETs `to`). htmx
    /// requests get `HX-Location` so htmx loads the page without a full reload.
    pub fn see_other(&self, to: &str) -> Response {
        see_other(self.htmx, to)
    }
}

/// A redirect to `to` (303), or `HX-Redirect` for an htmx request.
pub fn see_other(htmx: bool, to: &str) -> Response {
    let mut resp = if htmx {
        let mut r = StatusCode::NO_CONTENT.into_response();
        set(&mut r, "hx-redirect", to);
        r
    } else {
        let mut r = StatusCode::SEE_OTHER.into_response();
        set(&mut r, "location", to);
        r
    };
    no_store(&mut resp);
    resp
}

/// The data `console/base.html` reads.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page title.
    pub title: String,
    /// Who is signed in.
    pub username: String,
    /// The CSRF token for hidden form fields.
    pub csrf_token: String,
    /// `hx-headers` JSON carrying the CSRF token on every htmx request.
    pub csrf_header: String,
    /// The current section (highlighted in the navigation).
    pub section: Section,
    /// Whether administrative sections are linked.
    pub admin: bool,
    /// Whether "API connections" is linked: superusers and MDR administrators of a customer.
    pub connections: bool,
}

impl Layout {
    /// `aria-current` for the navigation link of the section named `name`.
    pub fn current(&self, name: &str) -> &'static str {
        if self.section.name() == name {
            "page"
        } else {
            "false"
        }
    }
}

impl Section {
    /// The section's name in templates and URLs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Overview => "overview",
            Self::Users => "users",
            Self::Tokens => "tokens",
            Self::Applications => "applications",
            Self::Connections => "connections",
            Self::Settings => "settings",
            Self::Activity => "activity",
            Self::Profile => "profile",
        }
    }
}

/// The request's query string as `T`; an unparsable query counts as empty (every console
/// parameter is optional and validated where it is used).
pub fn query<T: serde::de::DeserializeOwned + Default>(parts: &Parts) -> T {
    serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default()
}

/// True for a request htmx sent.
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers
        .get("hx-request")
        .is_some_and(|v| v.as_bytes() == b"true")
}

fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Console pages are never cached: they may show a secret once (`docs/console.md`).
fn no_store(resp: &mut Response) {
    set(resp, "cache-control", "no-store");
}

/// Renders a template as an HTML response with the console's caching rule. A template that
/// fails to render is a defect: 500 with a plain message, the cause logged.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    let mut resp = match page.render() {
        Ok(body) => (status, body).into_response(),
        Err(e) => {
            let mut r = (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be drawn.",
            )
                .into_response();
            r.extensions_mut()
                .insert(ErrorCause(format!("console template: {e}")));
            return r;
        }
    };
    set(&mut resp, "content-type", "text/html; charset=utf-8");
    // `Vary` so a cache in between never serves a fragment for a page or the reverse.
    set(&mut resp, "vary", "HX-Request, Cookie");
    no_store(&mut resp);
    resp
}

/// The login page's address for a request to `here`, with `expired` when the browser still
/// carried a session cookie that no longer names a live session.
pub fn login_url(here: &str, expired: bool) -> String {
    let mut url = String::from("/console/login/?next=");
    url.push_str(&utf8_percent_encode(here, NON_ALPHANUMERIC).to_string());
    if expired {
        url.push_str("&expired=1");
    }
    url
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx: Arc<AuthContext> = check::context(parts, state).await;
        let htmx = is_htmx(&parts.headers);
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let principal = ctx.principal.as_ref().filter(|p| p.via == AuthVia::Session);
        if let Some(p) = principal {
            let binding = ctx.session.as_ref().map(|s| s.hash);
            let presented = cookies::single(&parts.headers, cookies::CSRF_COOKIE);
            let (token, cookie) = csrf_cookie_for(state, &parts.headers, binding.as_ref());
            // One indexed read, non-superusers only; a failed read just hides the link (the
            // connections pages ask the store again and report an outage themselves).
            let administers = if authz::is_administrator(&p.user) {
                Vec::new()
            } else {
                crate::service::mdr_admins::administered_customers(state, p.user.id)
                    .await
                    .unwrap_or_default()
            };
            return Ok(Self {
                administers,
                principal: p.clone(),
                new_csrf_cookie: (presented != Some(token.as_str())).then_some(cookie),
                csrf_token: token,
                htmx,
                here,
            });
        }
        Err(match &ctx.failure {
            Some(Failure::Csrf(reason)) => {
                tracing::info!(event = "csrf_failure", surface = "console", reason = %reason);
                ConsoleError::Csrf.respond(htmx)
            }
            Some(Failure::Unavailable(cause)) => {
                ConsoleError::from(ServiceError::Unavailable(cause.clone())).respond(htmx)
            }
            _ => {
                // A session cookie that names no live session: say it expired.
                let expired = crate::auth::session::cookie_hash(state, &parts.headers).is_some();
                let to = if parts.method == axum::http::Method::GET {
                    here.as_str()
                } else {
                    "/console/"
                };
                let url = login_url(to, expired);
                if htmx {
                    let mut r = StatusCode::UNAUTHORIZED.into_response();
                    set(&mut r, "hx-redirect", &url);
                    r
                } else {
                    see_other(false, &url)
                }
            }
        })
    }
}

/// A time as the console shows it: UTC text the browser rewrites into local time, with the
/// exact UTC instant kept for the hover title (`static/console/console.js`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// RFC 3339, for `<time datetime>`.
    pub iso: String,
    /// `2026-12-06 11:51:10 UTC`.
    pub utc: String,
}

impl Shown {
    /// The display of `t`.
    pub fn of(t: OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        let iso = t.format(&Rfc3339).unwrap_or_default();
        let utc = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        Self { iso, utc }
    }

    /// The display of an optional time.
    pub fn maybe(t: Option<OffsetDateTime>) -> Option<Self> {
        t.map(Self::of)
    }
}

/// One page of a list, and the links to its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    /// 1-based page number.
    pub page: i64,
    /// Number of pages (at least 1).
    pub pages: i64,
    /// Rows matching the filter.
    pub total: i64,
    /// The query string of the list without `page`, for the links (already encoded).
    pub query: String,
}

/// Rows per console page.
pub const PAGE_SIZE: i64 = 25;

impl Pager {
    /// The pager of page `page` (clamped) of `total` rows; `query` is the other parameters.
    pub fn new(page: i64, total: i64, query: &[(&str, &str)]) -> Self {
        let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        let query = serde_urlencoded::to_string(
            query
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        Self {
            page: page.clamp(1, pages),
            pages,
            total,
            query,
        }
    }

    /// The store offset of this page.
    pub fn offset(page: i64) -> i64 {
        (page.max(1) - 1).saturating_mul(PAGE_SIZE)
    }

    /// The link to page `n`.
    pub fn link(&self, n: &i64) -> String {
        if self.query.is_empty() {
            format!("?page={n}")
        } else {
            format!("?{}&page={n}", self.query)
        }
    }

    /// The previous page, if any.
    pub fn prev(&self) -> Option<i64> {
        (self.page > 1).then(|| self.page - 1)
    }

    /// The next page, if any.
    pub fn next(&self) -> Option<i64> {
        (self.page < self.pages).then(|| self.page + 1)
    }
}

/// A form field's messages, for templates: `errors.of("username")`.
#[derive(Debug, Clone, Default)]
pub struct Errors(Vec<(String, Vec<String>)>);

impl Errors {
    /// No errors.
    pub fn none() -> Self {
        Self::default()
    }

    /// The messages of `field`, joined for display (empty when none).
    pub fn of(&self, field: &str) -> String {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.join(" "))
            .unwrap_or_default()
    }

    /// True when `field` has a message.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }

    /// Messages of fields the form does not show (shown above it).
    pub fn other(&self, shown: &[&str]) -> Vec<String> {
        self.0
            .iter()
            .filter(|(f, _)| !shown.contains(&f.as_str()))
            .map(|(f, m)| format!("{f}: {}", m.join(" ")))
            .collect()
    }

    /// True when there is nothing to say.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a message.
    pub fn say(&mut self, field: &str, message: impl Into<String>) {
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, m)) => m.push(message.into()),
            None => self.0.push((field.to_owned(), vec![message.into()])),
        }
    }
}

impl From<&FieldErrors> for Errors {
    fn from(e: &FieldErrors) -> Self {
        let mut out = Self::none();
        for (field, problems) in e.iter() {
            for p in problems {
                out.say(field, problem_text(p));
            }
        }
        out
    }
}

fn problem_text(p: &Problem) -> String {
    match p {
        Problem::Required => "This field is required.".into(),
        Problem::Invalid => "This value is not valid.".into(),
        Problem::Says(s) => s.clone(),
    }
}

/// The console's refusals.
#[derive(Debug)]
pub enum ConsoleError {
    /// A service error.
    Service(ServiceError),
    /// The form's CSRF token did not check out.
    Csrf,
}

impl From<ServiceError> for ConsoleError {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "console/error_fragment.html")]
struct ErrorFragment<'a> {
    message: &'a str,
}

impl ConsoleError {
    /// Status, heading and the sentence the user reads; never a cause or a stack trace.
    fn parts(&self) -> (StatusCode, &'static str, String, Option<String>) {
        match self {
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or did not come from this console. Reload the page and try again."
                    .into(),
                None,
            ),
            Self::Service(e) => match e {
                ServiceError::NotFound(kind) => (
                    StatusCode::NOT_FOUND,
                    "Not found",
                    format!("This {kind} does not exist, or you may not see it."),
                    None,
                ),
                ServiceError::Forbidden(f) => (
                    StatusCode::FORBIDDEN,
                    "Not allowed",
                    forbidden_text(f),
                    None,
                ),
                ServiceError::Invalid(fields) => {
                    let msgs: Vec<String> = Errors::from(fields)
                        .0
                        .into_iter()
                        .map(|(f, m)| format!("{f}: {}", m.join(" ")))
                        .collect();
                    (StatusCode::UNPROCESSABLE_ENTITY, "Check the form", msgs.join(" "), None)
                }
                ServiceError::Conflict(why) => {
                    (StatusCode::CONFLICT, "Conflict", why.to_string(), None)
                }
                ServiceError::Locked { retry_after } | ServiceError::Throttled { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    format!("Too many attempts. Try again in {}.", wait_text(*retry_after)),
                    None,
                ),
                ServiceError::CredentialRefused(..) => (
                    StatusCode::FORBIDDEN,
                    "Refused",
                    "The credential was refused.".into(),
                    None,
                ),
                ServiceError::ValueRefused(why) => (
                    StatusCode::BAD_REQUEST,
                    "Value refused",
                    "A value in the form cannot be stored (for example a NUL character).".into(),
                    Some(why.clone()),
                ),
                ServiceError::Unavailable(why) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The server cannot reach its database right now. Try again in a moment."
                        .into(),
                    Some(why.clone()),
                ),
                ServiceError::Internal(why) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server hit an internal error; it has been logged.".into(),
                    Some(why.clone()),
                ),
            },
        }
    }

    /// The response: a page, or for htmx a fragment the console's script shows in place.
    pub fn respond(&self, htmx: bool) -> Response {
        let (status, title, message, cause) = self.parts();
        let mut resp = if htmx {
            render(status, &ErrorFragment { message: &message })
        } else {
            render(
                status,
                &ErrorPage {
                    status: status.as_u16(),
                    title,
                    message: &message,
                },
            )
        };
        if let Some(c) = cause {
            resp.extensions_mut().insert(ErrorCause(c));
        }
        resp
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        self.respond(false)
    }
}

/// The sentence of a policy refusal.
fn forbidden_text(f: &Forbidden) -> String {
    match f {
        Forbidden::NotPermitted => "You do not have permission to do this.".into(),
        Forbidden::InsufficientScope => "A read-only credential cannot change anything.".into(),
        Forbidden::CannotDeleteUser => {
            "This account cannot be deleted (it is your own, or the last superuser).".into()
        }
        Forbidden::CannotDeactivateUser => {
            "This account cannot be deactivated (it is your own, or the last active superuser)."
                .into()
        }
        Forbidden::CannotChangeUsername => "You cannot change your own username.".into(),
        Forbidden::CannotChangeFields(f) => {
            format!("You cannot change these fields: {}.", f.join(", "))
        }
        Forbidden::ExternalUserTokens { kind } => format!(
            "Users of an external source ({kind}) may not create tokens; an administrator can allow it in Settings."
        ),
        Forbidden::RoleNotAllowed => "The connection's role does not allow this.".into(),
    }
}

/// "3 minutes", "45 seconds", "1 hour 5 minutes".
pub fn wait_text(seconds: u64) -> String {
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    match seconds {
        0..=59 => plural(seconds.max(1), "second"),
        60..=3599 => plural(seconds.div_ceil(60), "minute"),
        _ => {
            let (h, m) = (seconds / 3600, (seconds % 3600).div_ceil(60));
            if m == 0 {
                plural(h, "hour")
            } else {
                format!("{} {}", plural(h, "hour"), plural(m, "minute"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_text_reads_naturally() {
        assert_eq!(wait_text(0), "1 second");
        assert_eq!(wait_text(45), "45 seconds");
        assert_eq!(wait_text(60), "1 minute");
        assert_eq!(wait_text(61), "2 minutes");
        assert_eq!(wait_text(3600), "1 hour");
        assert_eq!(wait_text(3900), "1 hour 5 minutes");
    }

    #[test]
    fn pager_clamps_and_links() {
        let p = Pager::new(9, 60, &[("search", "a b"), ("user", "")]);
        assert_eq!((p.page, p.pages, p.total), (3, 3, 60));
        assert_eq!(p.link(&2), "?search=a+b&page=2");
        assert_eq!(p.prev(), Some(2));
        assert_eq!(p.next(), None);
        let empty = Pager::new(1, 0, &[]);
        assert_eq!((empty.page, empty.pages), (1, 1));
        assert_eq!(empty.link(&1), "?page=1");
        assert_eq!(Pager::offset(3), 50);
        assert_eq!(Pager::offset(0), 0);
    }

    #[test]
    fn login_url_encodes_next() {
        assert_eq!(
            login_url("/console/users/?q=a&page=2", true),
            "/console/login/?next=%2Fconsole%2Fusers%2F%3Fq%3Da%26page%3D2&expired=1"
        );
    }

    #[test]
    fn shown_times_are_utc() {
        let t = time::macros::datetime!(2026-12-06 13:05:09 +02:00);
        let s = Shown::of(t);
        assert_eq!(s.utc, "2026-12-06 11:05:09 UTC");
        assert_eq!(s.iso, "2026-12-06T11:05:09Z");
    }
}
