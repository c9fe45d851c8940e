//! Single sign-on through an OpenID Connect provider, as AWX's "Generic OIDC" (`docs/sso.md`):
//! the pure rules. The server fetches, stores and answers; these modules decide.
//!
//! - [`flow`]: the values of one login (`state`, `nonce`, PKCE) and the constants of the flow;
//! - [`verify`]: the provider's keys, the signature check with an algorithm allow-list, and
//!   the claim checks of an id_token and of a back-channel logout token;
//! - [`maps`]: `SOCIAL_AUTH_ORGANIZATION_MAP` / `SOCIAL_AUTH_TEAM_MAP`, validated as AWX does
//!   and evaluated on a user;
//! - [`account`]: the username a login gets, and the settings snapshot.

pub mod account;
pub mod flow;
pub mod maps;
pub mod verify;

pub use account::SsoSettings;
