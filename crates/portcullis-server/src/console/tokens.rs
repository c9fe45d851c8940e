//! The token pages (`docs/console.md`, "Tokens and applications"): every signed-in user's own
//! tokens (list, create, revoke one), and for administrators every token with a user filter
//! and the bulk revocations, each behind a confirmation step that names the count.
//!
//! Policy: minting goes through [`tokens::create_for_caller`] (the AWX API's path), so the
//! external-user rule and the lifetimes apply; a new token's value is in the one response that
//! creates it and never again. Revocation goes through [`tokens::delete`] and
//! [`tokens::revoke`], which hold the authorization rules.

use crate::console::form::FormData;
use crate::console::page::{Console, Errors, Layout, PAGE_SIZE, Pager, Section, Shown};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::tokens::{self, CreateInput, Revocation};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use portcullis_core::authz;
use portcullis_core::user::User;
use portcullis_store::{AccessTokenRecord, TokenField, TokenKindFilter, TokenQuery};
use serde::Deserialize;

/// A token as the console lists it (never its value).
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Token id.
    pub id: i64,
    /// The owner's username.
    pub user: String,
    /// Free text.
    pub description: String,
    /// `read` or `write`.
    pub scope: String,
    /// The application's name; `None` for a personal token.
    pub application: Option<String>,
    /// Creation.
    pub created: Shown,
    /// Deadline.
    pub expires: Shown,
    /// Last recorded use.
    pub last_used: Option<Shown>,
}

impl TokenRow {
    /// The row of `r`.
    pub fn of(r: &AccessTokenRecord) -> Self {
        Self {
            id: r.id.0,
            user: r.username.clone(),
            description: r.description.clone(),
            scope: r.scope.clone(),
            application: r.application_name.clone(),
            created: Shown::of(r.created_at),
            expires: Shown::of(r.expires_at),
            last_used: Shown::maybe(r.last_used),
        }
    }
}

/// A page of live tokens matching `q` (newest first), with its pager.
pub async fn page_of(
    state: &AppState,
    mut q: TokenQuery,
    page: i64,
    pager_query: &[(&str, &str)],
) -> ServiceResult<(Vec<TokenRow>, Pager)> {
    // Newest first by id: ids only grow (AUTOINCREMENT, identity), so id order is creation
    // order, and it walks the primary key instead of sorting every live token.
    q.order = Some((TokenField::Id, true));
    q.limit = PAGE_SIZE;
    q.offset = Pager::offset(page);
    let found = state.store.list_tokens(&q).await?;
    let rows = found.items.iter().map(TokenRow::of).collect();
    Ok((rows, Pager::new(page, found.total, pager_query)))
}

/// A query for live tokens, to be narrowed.
pub fn query(user: Option<&User>) -> TokenQuery {
    TokenQuery {
        user: user.map(|u| u.id),
        application: None,
        kind: TokenKindFilter::All,
        filters: Vec::new(),
        order: None,
        limit: PAGE_SIZE,
        offset: 0,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    page: i64,
    #[serde(default)]
    user: String,
    #[serde(default)]
    revoked: Option<u64>,
}

/// "1 token revoked." / "3 tokens revoked." after a revocation.
fn revoked_text(n: Option<u64>) -> Option<String> {
    n.map(|n| match n {
        1 => "1 token revoked.".to_owned(),
        n => format!("{n} tokens revoked."),
    })
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct MinePage {
    layout: Layout,
    rows: Vec<TokenRow>,
    pager: Pager,
    admin: bool,
    errors: Errors,
    description: String,
    scope: String,
    revoked: Option<String>,
}

/// The values a create form comes back with after a refusal.
struct Draft {
    description: String,
    scope: String,
    errors: Errors,
}

async fn mine(
    state: &AppState,
    c: &Console,
    page: i64,
    revoked: Option<u64>,
    draft: Draft,
) -> ServiceResult<MinePage> {
    let (rows, pager) = page_of(state, query(Some(&c.principal.user)), page, &[]).await?;
    Ok(MinePage {
        layout: c.layout(Section::Tokens, "My tokens"),
        rows,
        pager,
        admin: authz::may_revoke_in_bulk(&c.principal.user),
        errors: draft.errors,
        description: draft.description,
        scope: draft.scope,
        revoked: revoked_text(revoked),
    })
}

/// `GET /console/tokens/`: the caller's own tokens and the create form.
pub async fn list(State(state): State<AppState>, c: Console, parts: Parts) -> Response {
    let q: ListQuery = crate::console::page::query(&parts);
    let draft = Draft {
        description: String::new(),
        scope: "write".into(),
        errors: Errors::none(),
    };
    match mine(&state, &c, q.page, q.revoked, draft).await {
        Ok(p) => c.page(&p),
        Err(e) => c.error(e),
    }
}

#[derive(Template)]
#[template(path = "console/tokens_created.html")]
struct CreatedPage {
    layout: Layout,
    row: TokenRow,
    /// The clear value: this page is its one showing (the response is `no-store`).
    value: String,
}

/// `POST /console/tokens/`: mints a personal token for the caller and shows its value once.
pub async fn create(State(state): State<AppState>, c: Console, form: FormData) -> Response {
    let description = form.text("description");
    let scope = form.text("scope");
    let input = match tokens::validate_scope(&scope) {
        Ok(scope) => Ok(CreateInput {
            description: description.clone(),
            application: None,
            scope,
        }),
        Err(e) => Err(e),
    };
    let issued = match input {
        Ok(input) => tokens::create_for_caller(&state, &c.principal, input, true, false).await,
        Err(e) => Err(e),
    };
    match issued {
        Ok(issued) => c.page(&CreatedPage {
            layout: c.layout(Section::Tokens, "Token created"),
            row: TokenRow::of(&issued.record),
            value: issued.token.expose().to_owned(),
        }),
        Err(ServiceError::Invalid(fields)) => {
            let draft = Draft {
                description,
                scope,
                errors: Errors::from(&fields),
            };
            match mine(&state, &c, 1, None, draft).await {
                Ok(p) => c.respond(StatusCode::UNPROCESSABLE_ENTITY, &p),
                Err(e) => c.error(e),
            }
        }
        Err(e) => c.error(e),
    }
}

fn parse_id(raw: &str) -> ServiceResult<i64> {
    raw.parse().map_err(|_| ServiceError::NotFound("token"))
}

/// Where a form sends the browser back to: a token list (the caller's, every token, an
/// application's), else the caller's own.
fn back(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if (n.starts_with("/console/tokens/") || n.starts_with("/console/applications/"))
                && !n.contains("//") =>
        {
            n
        }
        _ => "/console/tokens/",
    }
}

/// `POST /console/tokens/<id>/revoke/`: revokes one token (the owner's or, for superusers,
/// anyone's; others see a 404 as for a missing id).
pub async fn revoke_one(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let done = async {
        let t = tokens::visible(&state, &c.principal.user, parse_id(&id)?).await?;
        tokens::delete(&state, &c.principal, &t).await
    };
    match done.await {
        Ok(()) => c.see_other(back(form.get("next"))),
        Err(e) => c.error(e),
    }
}

#[derive(Template)]
#[template(path = "console/tokens_all.html")]
struct AllPage {
    layout: Layout,
    rows: Vec<TokenRow>,
    pager: Pager,
    user: String,
    /// The user the filter named, when it names one.
    found: Option<String>,
    revoked: Option<String>,
    here: String,
}

/// `GET /console/tokens/all/`: every token, filtered by username (administrators).
pub async fn all(State(state): State<AppState>, c: Console, parts: Parts) -> Response {
    if !authz::may_revoke_in_bulk(&c.principal.user) {
        return c.forbidden();
    }
    let q: ListQuery = crate::console::page::query(&parts);
    let user = q.user.trim().to_owned();
    let gathered = async {
        let owner = if user.is_empty() {
            None
        } else {
            Some(state.store.user_by_username(&user).await?)
        };
        let (rows, pager) = match &owner {
            Some(None) => (Vec::new(), Pager::new(1, 0, &[])),
            Some(Some(u)) => page_of(&state, query(Some(u)), q.page, &[("user", &user)]).await?,
            None => page_of(&state, query(None), q.page, &[]).await?,
        };
        ServiceResult::Ok(AllPage {
            layout: c.layout(Section::Tokens, "All tokens"),
            rows,
            pager,
            found: owner.flatten().map(|u| u.username),
            user: user.clone(),
            revoked: revoked_text(q.revoked),
            // Back to this filter after a revocation, without a stale "revoked" notice.
            here: if user.is_empty() {
                "/console/tokens/all/".to_owned()
            } else {
                format!(
                    "/console/tokens/all/?{}",
                    serde_urlencoded::to_string([("user", &user)]).unwrap_or_default()
                )
            },
        })
    };
    match gathered.await {
        Ok(p) => c.page(&p),
        Err(e) => c.error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct BulkQuery {
    #[serde(default)]
    target: String,
    #[serde(default)]
    user: String,
}

/// The bulk revocation a confirmation page or its form names.
async fn revocation(state: &AppState, target: &str, user: &str) -> ServiceResult<Revocation> {
    match target {
        "all" => Ok(Revocation::All),
        "external" => Ok(Revocation::ExternalUsers),
        "user" => {
            let u = state
                .store
                .user_by_username(user.trim())
                .await?
                .ok_or(ServiceError::NotFound("user"))?;
            Ok(Revocation::User {
                named: serde_json::Value::from(u.username.clone()),
                user: Box::new(u),
            })
        }
        _ => Err(ServiceError::field(
            "target",
            "Choose what to revoke: all, user or external.",
        )),
    }
}

#[derive(Template)]
#[template(path = "console/tokens_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    target: String,
    user: String,
    /// "every token", "the tokens of alice", "the tokens of external users".
    what: String,
    count: i64,
}

fn describe(what: &Revocation) -> String {
    match what {
        Revocation::All => "every token of every user".into(),
        Revocation::User { user, .. } => format!("every token of {}", user.username),
        Revocation::ExternalUsers => "every token of users from an external source".into(),
    }
}

/// `GET /console/tokens/revoke/?target=all|user|external[&user=<name>]`: the confirmation
/// step, naming how many tokens the revocation would cover (administrators).
pub async fn confirm(State(state): State<AppState>, c: Console, parts: Parts) -> Response {
    if !authz::may_revoke_in_bulk(&c.principal.user) {
        return c.forbidden();
    }
    let q: BulkQuery = crate::console::page::query(&parts);
    let gathered = async {
        let what = revocation(&state, &q.target, &q.user).await?;
        let count = tokens::revocation_count(&state, &c.principal, &what).await?;
        ServiceResult::Ok(ConfirmPage {
            layout: c.layout(Section::Tokens, "Revoke tokens"),
            target: q.target.clone(),
            user: q.user.trim().to_owned(),
            what: describe(&what),
            count,
        })
    };
    match gathered.await {
        Ok(p) => c.page(&p),
        Err(e) => c.error(e),
    }
}

/// `POST /console/tokens/revoke/`: the confirmed bulk revocation (administrators); back to
/// the list of every token with the number revoked.
pub async fn revoke_bulk(State(state): State<AppState>, c: Console, form: FormData) -> Response {
    if !authz::may_revoke_in_bulk(&c.principal.user) {
        return c.forbidden();
    }
    let done = async {
        let what = revocation(&state, &form.text("target"), &form.text("user")).await?;
        tokens::revoke(&state, &c.principal, what, form.checked("include_refresh")).await
    };
    match done.await {
        Ok(n) => c.see_other(&format!("/console/tokens/all/?revoked={n}")),
        Err(e) => c.error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_goes_only_to_token_lists() {
        assert_eq!(
            back(Some("/console/tokens/all/?user=a")),
            "/console/tokens/all/?user=a"
        );
        assert_eq!(
            back(Some("/console/applications/3/")),
            "/console/applications/3/"
        );
        assert_eq!(back(Some("https://evil.example/")), "/console/tokens/");
        assert_eq!(
            back(Some("/console/tokens//evil.example")),
            "/console/tokens/"
        );
        assert_eq!(back(Some("/console/users/")), "/console/tokens/");
        assert_eq!(back(None), "/console/tokens/");
    }

    #[test]
    fn revoked_counts_read_naturally() {
        assert_eq!(revoked_text(None), None);
        assert_eq!(revoked_text(Some(1)).as_deref(), Some("1 token revoked."));
        assert_eq!(revoked_text(Some(0)).as_deref(), Some("0 tokens revoked."));
    }
}
