//! The overview page (`docs/console.md`, "Overview"): counts of users, tokens and MDR
//! connections by status, and the latest activity. An administrator sees the whole server; any
//! other user sees their own tokens and their own activity.

use crate::console::page::{Console, Layout, Section, Shown};
use crate::service::error::ServiceResult;
use crate::service::mdr_session;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use portcullis_core::mdr::ConnectionStatus;
use portcullis_core::user::User;
use portcullis_store::{ActivityEntry, ActivityQuery, TokenKindFilter, TokenQuery, UserQuery};
use std::collections::HashMap;

/// An activity entry as the console lists it.
#[derive(Debug, Clone)]
pub struct ActivityRow {
    /// Entry id.
    pub id: i64,
    /// When.
    pub at: Shown,
    /// Who (username, or "system" when no user acted).
    pub actor: String,
    /// `create`, `update`, `delete`, `login`, …
    pub operation: String,
    /// The object's kind and id, e.g. `user 3`.
    pub object: String,
    /// The recorded changes, as compact JSON (secrets are never recorded).
    pub changes: String,
}

/// Resolves the actors of `entries` to usernames (one lookup per distinct actor).
pub async fn activity_rows(
    state: &AppState,
    entries: Vec<ActivityEntry>,
) -> ServiceResult<Vec<ActivityRow>> {
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let actor = match e.entry.actor {
            None => "system".to_owned(),
            Some(id) => {
                if let Some(n) = names.get(&id.0) {
                    n.clone()
                } else {
                    let n = state
                        .store
                        .user_by_id(id)
                        .await?
                        .map_or_else(|| format!("deleted user {}", id.0), |u| u.username);
                    names.insert(id.0, n.clone());
                    n
                }
            }
        };
        let object = match e.entry.object1_id {
            Some(id) => format!("{} {id}", e.entry.object1),
            None => e.entry.object1.clone(),
        };
        rows.push(ActivityRow {
            id: e.id,
            at: Shown::of(e.entry.timestamp),
            actor,
            operation: e.entry.operation.clone(),
            object,
            changes: e.entry.changes.to_string(),
        });
    }
    Ok(rows)
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    layout: Layout,
    admin: bool,
    users: i64,
    tokens: i64,
    pending: usize,
    active: usize,
    idle: usize,
    activity: Vec<ActivityRow>,
}

fn user_count_query() -> UserQuery {
    UserQuery {
        filter: Default::default(),
        order: Default::default(),
        only: None,
        member_of: None,
        limit: 1,
        offset: 0,
    }
}

fn token_count_query(user: Option<&User>) -> TokenQuery {
    TokenQuery {
        user: user.map(|u| u.id),
        application: None,
        kind: TokenKindFilter::All,
        filters: Vec::new(),
        order: None,
        limit: 1,
        offset: 0,
    }
}

async fn gather(state: &AppState, c: &Console) -> ServiceResult<OverviewPage> {
    let admin = c.is_admin();
    let me = &c.principal.user;
    let users = if admin {
        state.store.list_users(&user_count_query()).await?.total
    } else {
        1
    };
    let tokens = state
        .store
        .list_tokens(&token_count_query((!admin).then_some(me)))
        .await?
        .total;
    let (mut pending, mut active, mut idle) = (0, 0, 0);
    if admin {
        for customer in state.store.list_customers().await? {
            for conn in state.store.list_connections(&customer.client_id).await? {
                match mdr_session::connection_status(state, &conn) {
                    ConnectionStatus::PendingActivation => pending += 1,
                    ConnectionStatus::Active => active += 1,
                    ConnectionStatus::Idle => idle += 1,
                }
            }
        }
    }
    let entries = state
        .store
        .list_activity(&ActivityQuery {
            involving: (!admin).then_some(me.id),
            limit: 10,
            ..ActivityQuery::default()
        })
        .await?;
    Ok(OverviewPage {
        layout: c.layout(Section::Overview, "Overview"),
        admin,
        users,
        tokens,
        pending,
        active,
        idle,
        activity: activity_rows(state, entries.items).await?,
    })
}

/// `GET /console/`
pub async fn show(State(state): State<AppState>, c: Console) -> Response {
    match gather(&state, &c).await {
        Ok(page) => c.page(&page),
        Err(e) => c.error(e),
    }
}
