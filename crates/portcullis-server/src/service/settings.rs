//! Runtime settings: a per-node snapshot refreshed from the store every few seconds and
//! immediately after a local write, so a change applies to the next request on the writing
//! node and reaches other nodes within the cache lifetime.

use crate::service::error::{FieldErrors, ServiceError, ServiceResult};
use crate::state::AppState;
use arc_swap::ArcSwap;
use portcullis_core::ids::UserId;
use portcullis_core::ldap::ServerConfig;
use portcullis_core::settings::{self, AuthSettings, Stored};
use portcullis_store::{NewActivity, Store, StoreResult};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The settings in force on this node.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Stored overrides.
    pub stored: Stored,
    /// Typed view for the request path.
    pub auth: AuthSettings,
    /// The configured directory servers, in the order they are tried (`docs/ldap.md`).
    pub ldap: Vec<ServerConfig>,
    /// Single sign-on (`docs/sso.md`).
    pub sso: portcullis_core::sso::SsoSettings,
}

impl Snapshot {
    fn new(stored: Stored) -> Self {
        Self {
            auth: AuthSettings::from_stored(&stored),
            ldap: ServerConfig::all(&stored),
            sso: portcullis_core::sso::SsoSettings::from_stored(&stored),
            stored,
        }
    }
}

/// Lock-free holder of the current [`Snapshot`].
#[derive(Debug)]
pub struct SettingsCache {
    current: ArcSwap<Snapshot>,
}

impl SettingsCache {
    /// Loads the first snapshot (startup fails if the store cannot answer).
    pub async fn load(store: &dyn Store) -> StoreResult<Self> {
        let stored = store.load_settings().await?;
        Ok(Self {
            current: ArcSwap::from_pointee(Snapshot::new(stored)),
        })
    }

    /// The current snapshot.
    pub fn get(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Re-reads the store.
    pub async fn reload(&self, store: &dyn Store) -> StoreResult<()> {
        let stored = store.load_settings().await?;
        self.current.store(Arc::new(Snapshot::new(stored)));
        Ok(())
    }
}

/// The object shown for `slug`.
pub fn show(state: &AppState, slug: &str) -> ServiceResult<Map<String, Value>> {
    settings::category_object(slug, &state.settings.get().stored)
        .ok_or(ServiceError::NotFound("settings category"))
}

/// Validates and applies a PUT/PATCH to `slug`; returns the category object afterwards,
/// which includes every key sent.
pub async fn update(
    state: &AppState,
    actor: UserId,
    slug: &str,
    patch: &Map<String, Value>,
) -> ServiceResult<Map<String, Value>> {
    if !settings::slug_exists(slug) {
        return Err(ServiceError::NotFound("settings category"));
    }
    // Validate against the database's view, not a possibly stale snapshot.
    state.settings.reload(state.store.as_ref()).await?;
    let before = state.settings.get();
    let changes = settings::validate_patch(
        slug,
        patch,
        &before.stored,
        state.config.oauth2.token_max_lifetime,
    )
    .map_err(|fields| {
        let mut errors = FieldErrors::new();
        for (field, messages) in fields {
            for m in messages {
                errors.say(&field, m);
            }
        }
        ServiceError::Invalid(errors)
    })?;
    let now = state.clock.now();
    let activity = if before.auth.activity_stream_enabled {
        changes
            .iter()
            .filter_map(|(k, new)| {
                let d = settings::def(k)?;
                let old = settings::shown(d, &before.stored);
                let mut after = before.stored.clone();
                after.insert(k.clone(), new.clone());
                let new_shown = settings::shown(d, &after);
                // Compare the real values: a changed secret reads `$encrypted$` before and
                // after, yet it is a change and must be recorded (masked).
                let changed =
                    settings::effective(d, &before.stored) != settings::effective(d, &after);
                changed.then(|| NewActivity {
                    timestamp: now,
                    actor: Some(actor),
                    operation: "update".into(),
                    object1: "setting".into(),
                    object1_id: None,
                    changes: json!({ k.as_str(): [old, new_shown] }),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    state
        .store
        .write_settings(changes, Vec::new(), now, activity)
        .await?;
    state.settings.reload(state.store.as_ref()).await?;
    show(state, slug)
}

/// Resets every writable key of `slug` to its default.
pub async fn reset(state: &AppState, actor: UserId, slug: &str) -> ServiceResult<()> {
    if !settings::slug_exists(slug) {
        return Err(ServiceError::NotFound("settings category"));
    }
    state.settings.reload(state.store.as_ref()).await?;
    let before = state.settings.get();
    let keys: Vec<String> = settings::keys_of(slug)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let now = state.clock.now();
    let activity = if before.auth.activity_stream_enabled {
        keys.iter()
            .filter(|k| before.stored.contains_key(k.as_str()))
            .filter_map(|k| {
                let d = settings::def(k)?;
                Some(NewActivity {
                    timestamp: now,
                    actor: Some(actor),
                    operation: "delete".into(),
                    object1: "setting".into(),
                    object1_id: None,
                    changes: json!({ k.as_str(): [settings::shown(d, &before.stored), settings::default_value(d, &before.stored)] }),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    state
        .store
        .write_settings(Vec::new(), keys, now, activity)
        .await?;
    state.settings.reload(state.store.as_ref()).await?;
    Ok(())
}
