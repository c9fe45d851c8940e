//! The one result of the authenticator chain.

use crate::ids::UserId;
use crate::mdr::Role;
use crate::scope::Scope;
use crate::token::TokenHash;
use crate::user::User;
use std::sync::Arc;
use time::OffsetDateTime;

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    /// The `awx_sessionid` cookie.
    Session,
    /// HTTP Basic.
    Basic,
    /// A personal access token.
    Pat,
    /// An OAuth2 application token.
    AppToken,
    /// An MDR access JWT, for the path's customer (docs/mdr-api.md).
    MdrAccess,
}

/// The MDR API connection an [`AuthVia::MdrAccess`] caller acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The customer (Client ID) the connection belongs to.
    pub client_id: String,
    /// Connection id.
    pub connection_id: String,
    /// Its name (the author of what it creates).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its tenant scope, as configured (empty: the whole customer).
    pub tenants: Vec<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user, as read from storage (or a node cache) for this request. Shared: a cached
    /// credential hands out its owner without copying the record on every request.
    pub user: Arc<User>,
    /// The authenticator that won.
    pub via: AuthVia,
    /// The granted scope; session and Basic callers act as `write`.
    pub scope: Scope,
    /// For session callers, the hash of the session id (CSRF binding, renewal).
    pub session: Option<TokenHash>,
    /// For [`AuthVia::MdrAccess`] callers, the connection; `user` is then its service
    /// account ([`User::connection_account`]).
    pub connection: Option<Connection>,
}

impl User {
    /// The account an MDR connection acts as: never stored (id 0 is no user's id), never a
    /// superuser, external (so no AWX token can be minted for it), named as the connection.
    /// Every user-based rule of [`crate::authz`] therefore refuses it what it refuses a
    /// stranger; the MDR rules decide by [`Connection::role`].
    pub fn connection_account(connection: &Connection, created_at: OffsetDateTime) -> Self {
        Self {
            id: UserId(0),
            username: connection.name.clone(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            password_hash: None,
            is_superuser: false,
            is_system_auditor: false,
            is_active: true,
            external_account: Some("mdr".into()),
            ldap_dn: String::new(),
            auth_generation: 0,
            created_at,
            last_login: None,
        }
    }
}

impl Principal {
    /// True when the caller may use `method` under its scope.
    pub fn scope_allows(&self, method: &str) -> bool {
        self.scope.allows_method(method)
    }
}
