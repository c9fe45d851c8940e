//! The one result of the authenticator chain.

use crate::scope::Scope;
use crate::token::TokenHash;
use crate::user::User;

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
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user, as read from storage for this request.
    pub user: User,
    /// The authenticator that won.
    pub via: AuthVia,
    /// The granted scope; session and Basic callers act as `write`.
    pub scope: Scope,
    /// For session callers, the hash of the session id (CSRF binding, renewal).
    pub session: Option<TokenHash>,
}

impl Principal {
    /// True when the caller may use `method` under its scope.
    pub fn scope_allows(&self, method: &str) -> bool {
        self.scope.allows_method(method)
    }
}
