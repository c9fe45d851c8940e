//! Runtime settings and install-wide secrets.

use crate::StoreResult;
use crate::activity::NewActivity;
use portcullis_core::settings::Stored;
use time::OffsetDateTime;

/// Storage of settings overrides and install secrets.
#[async_trait::async_trait]
pub trait SettingsStore: Send + Sync {
    /// Every stored override.
    async fn load_settings(&self) -> StoreResult<Stored>;
    /// One transaction: upserts `set`, deletes `remove`, writes `activity`.
    async fn write_settings(
        &self,
        set: Vec<(String, serde_json::Value)>,
        remove: Vec<String>,
        at: OffsetDateTime,
        activity: Vec<NewActivity>,
    ) -> StoreResult<()>;
    /// Insert-if-absent of an install secret (e.g. the CSRF MAC key): the first writer wins
    /// and every node gets the stored value back.
    async fn install_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;
}
