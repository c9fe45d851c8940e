//! Services: where core rules meet storage. Handlers and the `portcullis admin` commands
//! call these; they never touch HTTP types.

pub mod applications;
pub mod audit;
pub mod bootstrap;
pub mod changes;
pub mod credential_cache;
pub mod directory;
pub mod error;
pub mod login;
pub mod mdr_admins;
pub mod mdr_keys;
pub mod mdr_session;
pub mod oauth;
pub mod passwords;
pub mod settings;
pub mod sso;
pub mod throttle;
pub mod tokens;
pub mod users;

use crate::state::AppState;
use portcullis_core::ids::UserId;
use portcullis_store::NewActivity;

/// The activity-stream entry of a change, when the stream is on (`ACTIVITY_STREAM_ENABLED`):
/// the one builder every service uses, so every entry carries the time of the injected clock
/// and the stream switch is honoured everywhere. `object1_id` `None` lets the store fill in the
/// id of the object the same transaction creates.
pub fn activity_entry(
    state: &AppState,
    actor: Option<UserId>,
    operation: &str,
    object1: &str,
    object1_id: Option<i64>,
    changes: serde_json::Value,
) -> Option<NewActivity> {
    state
        .settings
        .get()
        .auth
        .activity_stream_enabled
        .then(|| NewActivity {
            timestamp: state.clock.now(),
            actor,
            operation: operation.into(),
            object1: object1.into(),
            object1_id,
            changes,
        })
}
