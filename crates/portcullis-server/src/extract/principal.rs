//! Re-exports of the authentication extractors under the name handlers look for.

pub use crate::auth::check::{Authed, MaybeAuthed};
