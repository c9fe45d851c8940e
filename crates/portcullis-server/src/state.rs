//! Shared server state: configuration, the store, the clock, the RNG and the per-node
//! caches. Built once by the binary (or a test); handlers receive it through axum.

use crate::auth::basic::BasicCache;
use crate::auth::bearer::BearerVerifier;
use crate::auth::session::SessionRenewals;
use crate::config::Config;
use crate::service::passwords::PasswordPool;
use crate::service::settings::SettingsCache;
use portcullis_core::clock::Clock;
use portcullis_core::csrf::CsrfKey;
use portcullis_core::rng::{Rng, bytes};
use portcullis_store::{Store, StoreError};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// Cheaply clonable handle to [`Inner`].
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Everything a request may need.
pub struct Inner {
    /// Static configuration.
    pub config: Config,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Randomness source.
    pub rng: Arc<dyn Rng>,
    /// Runtime settings snapshot.
    pub settings: SettingsCache,
    /// Argon2id executor.
    pub passwords: PasswordPool,
    /// Verified-Basic-credential cache (per node).
    pub basic_cache: BasicCache,
    /// Coalesced session idle-expiry renewals.
    pub renewals: SessionRenewals,
    /// CSRF MAC key (shared by all nodes through the store).
    pub csrf: CsrfKey,
    /// Install UUID (shared), reported by ping.
    pub install_uuid: String,
    /// This node's name.
    pub node: String,
    /// Bearer token verifiers, tried in order (extension point for token kinds).
    pub bearer: Vec<Arc<dyn BearerVerifier>>,
    /// Origin expected from browsers, from `public_url`.
    pub public_origin: Option<String>,
    /// Coalesced `last_used` stamps of Bearer tokens.
    pub last_used: crate::service::tokens::LastUsed,
    /// Request id generator.
    pub request_ids: crate::middleware::request_id::RequestIds,
    /// MDR signing keys and per-node caches.
    pub mdr: crate::service::mdr_session::MdrNode,
    /// LDAP directory client: connection pools and TLS (`docs/ldap.md`).
    pub directory: crate::directory::Directory,
    /// Verified tokens and sessions (`docs/cluster.md`).
    pub caches: crate::service::credential_cache::Caches,
    /// The change log reader that keeps the caches honest.
    pub changes: crate::service::changes::ChangeSync,
    /// The gateway's route table, upstream client and assertion cache (`docs/gateway.md`).
    pub gateway: crate::gateway::Gateway,
    /// Single sign-on: the provider's cached documents and the outbound clients
    /// (`docs/sso.md`).
    pub sso: crate::service::sso::SsoNode,
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Storage did not answer.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Invalid password parameters.
    #[error("password hashing: {0}")]
    Password(#[from] portcullis_core::error::CoreError),
    /// The password workers could not start.
    #[error("password hashing: {0}")]
    PasswordPool(#[from] crate::service::passwords::PoolError),
    /// MDR signing keys could not be set up.
    #[error("MDR signing keys: {0}")]
    Keys(#[from] crate::service::mdr_keys::KeyError),
    /// The LDAP TLS set-up (`ldap.ca_file`) is unusable.
    #[error("LDAP: {0}")]
    Directory(String),
    /// The gateway's routes do not validate.
    #[error("{0}")]
    Gateway(#[from] crate::config::ConfigError),
    /// The single sign-on client cannot be built (`sso.ca_bundle`).
    #[error("single sign-on: {0}")]
    Sso(String),
}

impl AppState {
    /// Builds the state: loads settings and install secrets from the store.
    pub async fn new(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Self, StartupError> {
        // Taken before anything is cached: every change after this point reaches the caches.
        let cursor = store.change_cursor().await?;
        let settings = SettingsCache::load(store.as_ref()).await?;
        let csrf_candidate: [u8; 32] = bytes(rng.as_ref());
        let csrf_key = store
            .install_secret("csrf_mac_key", &csrf_candidate)
            .await?;
        let csrf_key: [u8; 32] = csrf_key
            .try_into()
            .map_err(|_| StoreError::Unavailable("stored CSRF key has the wrong length".into()))?;
        let uuid_candidate: [u8; 16] = bytes(rng.as_ref());
        let uuid_bytes = store
            .install_secret("install_uuid", &uuid_candidate)
            .await?;
        let install_uuid = uuid::Uuid::from_slice(&uuid_bytes)
            .map(|u| u.to_string())
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let passwords = PasswordPool::new(
            config.password.params(),
            config.password.hash_concurrency.unwrap_or(cores),
            Duration::from_secs(config.password.permit_wait_seconds),
            rng.clone(),
        )?;
        let node_key: [u8; 32] = bytes(rng.as_ref());
        let basic_cache = BasicCache::new(
            node_key,
            config.auth.basic_cache_size,
            time::Duration::seconds(i64::try_from(config.auth.basic_cache_ttl).unwrap_or(60)),
        );
        let node = config.node_name.clone().unwrap_or_else(host_name);
        let public_origin = config.public_origin();
        let rng_for_ids = rng.clone();
        let kek = crate::service::mdr_keys::Kek::load_or_create(
            config
                .mdr
                .signing
                .key_encryption_key
                .as_ref()
                .map(|s| s.expose()),
            std::path::Path::new(&config.mdr.signing.key_encryption_key_path),
        )?;
        let keys =
            crate::service::mdr_keys::KeyRing::start(store.as_ref(), kek, &config.mdr, clock.now())
                .await
                .map_err(|e| kek_hint(e, &config))?;
        let config_cache_size = config.auth.credential_cache_size;
        let config_cache_ttl = config.auth.credential_cache_ttl;
        let bound = Duration::from_millis(
            u64::try_from(config.mdr.revocation_check_interval_ms).unwrap_or(0),
        );
        let directory =
            crate::directory::Directory::new(config.ldap.ca_file.as_deref(), config.ldap.pool_size)
                .map_err(StartupError::Directory)?;
        let gateway = crate::gateway::Gateway::new(&config)?;
        let sso = crate::service::sso::SsoNode::new(&config.sso).map_err(StartupError::Sso)?;
        Ok(Self(Arc::new(Inner {
            gateway,
            sso,
            config,
            store,
            clock,
            rng,
            settings,
            passwords,
            basic_cache,
            renewals: SessionRenewals::default(),
            csrf: CsrfKey::new(csrf_key),
            install_uuid,
            node,
            bearer: vec![
                Arc::new(crate::auth::bearer::OpaqueTokens),
                Arc::new(crate::auth::bearer::MdrAccessTokens),
            ],
            last_used: crate::service::tokens::LastUsed::default(),
            public_origin,
            request_ids: crate::middleware::request_id::RequestIds::new(bytes(
                rng_for_ids.as_ref(),
            )),
            mdr: crate::service::mdr_session::MdrNode::new(keys),
            directory,
            caches: crate::service::credential_cache::Caches::new(
                config_cache_size,
                Duration::from_secs(config_cache_ttl),
            ),
            changes: crate::service::changes::ChangeSync::new(cursor, bound),
        })))
    }
}

/// A stored key that this node's own generated key-encryption key cannot open means another
/// node sealed it with its own: say what to configure rather than how the open failed
/// (`docs/deploy.md`, "Key-encryption key").
fn kek_hint(
    e: crate::service::mdr_keys::KeyError,
    config: &Config,
) -> crate::service::mdr_keys::KeyError {
    use crate::service::mdr_keys::KeyError;
    match e {
        KeyError::Key { kid, .. } if config.mdr.signing.key_encryption_key.is_none() => {
            KeyError::Kek(format!(
                "the signing key {kid} in the database was sealed by another node with a different key-encryption key than this node's {path}: nodes that share a database must share one key-encryption key. Set mdr.signing.key_encryption_key (PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY_FILE) to the same 32-byte key on every node; the node that created the keys keeps its generated key in its own {path}",
                path = config.mdr.signing.key_encryption_key_path
            ))
        }
        other => other,
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "portcullis".into())
}
