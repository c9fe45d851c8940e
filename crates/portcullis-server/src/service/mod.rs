//! Services: where core rules meet storage. Handlers and the `portcullis admin` commands
//! call these; they never touch HTTP types.

pub mod applications;
pub mod audit;
pub mod bootstrap;
pub mod error;
pub mod login;
pub mod mdr_keys;
pub mod mdr_session;
pub mod oauth;
pub mod passwords;
pub mod settings;
pub mod throttle;
pub mod tokens;
pub mod users;
