//! The OAuth2 endpoints under `/api/o/` (`docs/awx-compat.md`, "OAuth2 endpoints";
//! `docs/security.md`, "Token endpoint and ownership", "Refresh rotation"): `token/` (password,
//! refresh-token and authorization-code grants), `revoke_token/` (RFC 7009), `introspect/` (RFC
//! 7662) and the `authorize/` consent page.
//!
//! Policy: bodies are form-encoded only; client credentials come from `Authorization: Basic`
//! or the form, never the query string; errors are RFC 6749 §5.2 JSON; storage failures are
//! 503 `temporarily_unavailable`, never a grant or a 200 revocation. Refresh rotation is one
//! store transaction with reuse detection; codes are single use and PKCE-bound.
//!
//! Layout: [`error`] (the RFC 6749 error and its renderer), [`form`] (form bodies),
//! [`client_auth`] (client authentication), [`grant`] (the token endpoint), [`revoke`],
//! [`introspect`](mod@introspect) and [`authorize`] (the consent pages). The grants' domain logic is
//! `service::oauth`.

pub mod authorize;
pub mod client_auth;
pub mod error;
pub mod form;
pub mod grant;
pub mod introspect;
pub mod revoke;

pub use authorize::{
    __path_authorize_decision, __path_authorize_form, authorize_decision, authorize_form,
};
pub(crate) use error::NUL_REFUSED;
pub use error::OAuthError;
pub use grant::{__path_token, token};
pub use introspect::{__path_introspect, introspect};
pub use revoke::{__path_revoke_token, revoke_token};
