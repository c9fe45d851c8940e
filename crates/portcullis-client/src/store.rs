//! The token store: one JSON file `{"client_id","base_url","refresh_token","access_token"}`.
//!
//! Policy (C2, C5, C6):
//! - the file and its directory are created private (0600 / 0700), and a store that group or
//!   others can access is refused, naming the file, before its content is read;
//! - every write happens under an exclusive lock on `<store>.lock` (a [`StoreLock`]), so two
//!   processes never spend the same refresh token; the lock dies with its process;
//! - a write goes to a temporary file in the same directory, is flushed to disk, renamed over
//!   the store and the directory is flushed, so a crash leaves the old or the new pair, never
//!   a partial file. Only after that may the new access token be used.

use crate::error::{ClientError, Result};
use crate::token::Token;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Largest store file read; a real one is about 2 KiB.
const MAX_STORE_BYTES: u64 = 64 * 1024;

/// File name of the default store, under `$XDG_CONFIG_HOME/portcullis/`.
pub const DEFAULT_FILE_NAME: &str = "mdr-token.json";

/// What the store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The customer's Client ID (path segment of every MDR call).
    pub client_id: String,
    /// Base URL saved at `init`; `--url` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The one unspent refresh token of the chain.
    pub refresh_token: Token,
    /// The access token issued with it; absent means "exchange before the next call".
    #[serde(default)]
    pub access_token: Option<Token>,
}

/// A token store file.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    /// A store at `path` (nothing is read or created yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `$XDG_CONFIG_HOME/portcullis/mdr-token.json`, else `~/.config/portcullis/mdr-token.json`.
    pub fn default_path() -> Result<PathBuf> {
        let base = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
            // The XDG spec says relative values are invalid and must be ignored.
            Some(p) if p.is_absolute() => p,
            _ => match std::env::var_os("HOME").map(PathBuf::from) {
                Some(h) if h.is_absolute() => h.join(".config"),
                _ => {
                    return Err(ClientError::Config(
                        "neither XDG_CONFIG_HOME nor HOME is set: pass --store FILE".into(),
                    ));
                }
            },
        };
        Ok(base.join("portcullis").join(DEFAULT_FILE_NAME))
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file beside the store (`<store>.lock`).
    pub fn lock_path(&self) -> PathBuf {
        sibling(&self.path, "", ".lock")
    }

    /// The temporary file a write goes through (`.<store>.tmp`, same directory, so the
    /// rename is atomic).
    pub fn temp_path(&self) -> PathBuf {
        sibling(&self.path, ".", ".tmp")
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Whether the store file exists.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Reads the store, refusing a group- or world-accessible file before reading its content.
    pub fn load(&self) -> Result<StoredTokens> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ClientError::NoStore {
                    path: self.path.clone(),
                });
            }
            Err(e) => return Err(ClientError::io(&self.path, e)),
        };
        // Check the opened file itself (fstat), not the path, so a swap cannot slip past.
        let meta = f.metadata().map_err(|e| ClientError::io(&self.path, e))?;
        if !meta.is_file() {
            return Err(ClientError::StoreFormat {
                path: self.path.clone(),
                reason: "not a regular file".into(),
            });
        }
        check_private(&self.path, &meta)?;
        if meta.len() > MAX_STORE_BYTES {
            return Err(ClientError::StoreFormat {
                path: self.path.clone(),
                reason: format!("larger than {MAX_STORE_BYTES} bytes"),
            });
        }
        let mut buf = Vec::new();
        f.take(MAX_STORE_BYTES)
            .read_to_end(&mut buf)
            .map_err(|e| ClientError::io(&self.path, e))?;
        // serde_json errors name a line and column, never the content.
        serde_json::from_slice(&buf).map_err(|e| ClientError::StoreFormat {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }

    /// Takes the exclusive lock on `<store>.lock`, creating the store's directory (0700) and
    /// the lock file (0600) as needed. Blocks until the lock is free; the lock is released
    /// when the returned guard is dropped or the process dies.
    pub fn lock(&self) -> Result<StoreLock> {
        let dir = self.dir();
        create_private_dir(&dir)?;
        let lock_path = self.lock_path();
        let file = open_private(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )
        .open(&lock_path)
        .map_err(|e| ClientError::io(&lock_path, e))?;
        file.lock().map_err(|e| ClientError::io(&lock_path, e))?;
        Ok(StoreLock {
            store: self.clone(),
            _file: file,
        })
    }
}

/// Proof that this process holds the store's exclusive lock; the only way to write the store.
#[derive(Debug)]
pub struct StoreLock {
    store: TokenStore,
    _file: File,
}

impl StoreLock {
    /// The store this lock guards.
    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    /// Re-reads the store under the lock.
    pub fn load(&self) -> Result<StoredTokens> {
        self.store.load()
    }

    /// Replaces the store atomically: temp file (0600) → fsync → rename → fsync directory.
    pub fn save(&self, tokens: &StoredTokens) -> Result<()> {
        let store = &self.store;
        let tmp = store.temp_path();
        let mut json = serde_json::to_vec_pretty(tokens).map_err(|e| ClientError::StoreFormat {
            path: store.path.clone(),
            reason: e.to_string(),
        })?;
        json.push(b'\n');
        // A temp file left by a killed writer is ours (we hold the lock): remove it, then
        // create afresh with O_EXCL so a planted symlink is never followed.
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ClientError::io(&tmp, e)),
        }
        let mut f = open_private(OpenOptions::new().write(true).create_new(true))
            .open(&tmp)
            .map_err(|e| ClientError::io(&tmp, e))?;
        let written = f
            .write_all(&json)
            .and_then(|()| f.sync_all())
            .map_err(|e| ClientError::io(&tmp, e));
        drop(f);
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        fs::rename(&tmp, &store.path).map_err(|e| ClientError::io(&store.path, e))?;
        let dir = store.dir();
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| ClientError::io(&dir, e))
    }
}

fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| DEFAULT_FILE_NAME.into());
    path.with_file_name(format!("{prefix}{name}{suffix}"))
}

#[cfg(unix)]
fn open_private(opts: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    opts.mode(0o600)
}

#[cfg(not(unix))]
fn open_private(opts: &mut OpenOptions) -> &mut OpenOptions {
    opts
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ClientError::io(dir, e))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| ClientError::io(dir, e))
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ClientError::StorePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &fs::Metadata) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tests::token_exp;
    use std::os::unix::fs::PermissionsExt;

    fn sample(n: i64) -> StoredTokens {
        StoredTokens {
            client_id: "0123456789abcdef0123456789abcdef".into(),
            base_url: Some("http://127.0.0.1:1".into()),
            refresh_token: token_exp(2_000_000_000 + n, "refresh-jti"),
            access_token: Some(token_exp(1_900_000_000 + n, "access-jti")),
        }
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn save_creates_a_private_file_and_directory_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("sub/dir/mdr-token.json"));
        let lock = store.lock().unwrap();
        lock.save(&sample(1)).unwrap();
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(&dir.path().join("sub/dir")), 0o700);
        assert_eq!(mode(&store.lock_path()), 0o600);
        assert!(!store.temp_path().exists(), "temp file renamed away");
        assert_eq!(store.load().unwrap(), sample(1));
        let doc: serde_json::Value =
            serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
        for key in ["client_id", "refresh_token", "access_token", "base_url"] {
            assert!(doc.get(key).is_some(), "{key} missing from {doc}");
        }
    }

    #[test]
    fn save_replaces_by_rename_and_ignores_a_stale_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("t.json"));
        let lock = store.lock().unwrap();
        lock.save(&sample(1)).unwrap();
        let before = fs::metadata(store.path()).unwrap();
        // A killed writer left a world-readable, half-written temp file behind.
        fs::write(store.temp_path(), b"{\"client_id\": \"trunc").unwrap();
        fs::set_permissions(store.temp_path(), fs::Permissions::from_mode(0o644)).unwrap();
        lock.save(&sample(2)).unwrap();
        let after = fs::metadata(store.path()).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_ne!(
            before.ino(),
            after.ino(),
            "replaced by rename, not rewritten in place"
        );
        assert_eq!(mode(store.path()), 0o600);
        assert!(!store.temp_path().exists());
        assert_eq!(store.load().unwrap(), sample(2));
    }

    #[test]
    fn save_does_not_follow_a_planted_temp_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let store = TokenStore::new(dir.path().join("t.json"));
        std::os::unix::fs::symlink(&victim, store.temp_path()).unwrap();
        store.lock().unwrap().save(&sample(1)).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(store.load().unwrap(), sample(1));
    }

    #[test]
    fn a_group_or_world_readable_store_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("mdr-token.json"));
        store.lock().unwrap().save(&sample(1)).unwrap();
        for m in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(store.path(), fs::Permissions::from_mode(m)).unwrap();
            let err = store.load().unwrap_err();
            assert!(
                matches!(err, ClientError::StorePermissions { mode, .. } if mode == m),
                "{err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains(&store.path().display().to_string()), "{msg}");
            assert!(!msg.contains(sample(1).refresh_token.expose()), "{msg}");
        }
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o600)).unwrap();
        assert!(store.load().is_ok());
    }

    #[test]
    fn missing_and_malformed_stores_are_reported_without_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("t.json"));
        assert!(matches!(store.load(), Err(ClientError::NoStore { .. })));
        fs::write(store.path(), b"{\"client_id\": \"secretish\"}").unwrap();
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o600)).unwrap();
        let msg = store.load().unwrap_err().to_string();
        assert!(msg.contains("is not valid"), "{msg}");
        assert!(!msg.contains("secretish"), "{msg}");
    }

    #[test]
    fn absent_access_token_parses_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("t.json"));
        let doc = serde_json::json!({
            "client_id": "abcdefgh",
            "refresh_token": sample(1).refresh_token.expose(),
        });
        fs::write(store.path(), doc.to_string()).unwrap();
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o600)).unwrap();
        let t = store.load().unwrap();
        assert_eq!(t.access_token, None);
        assert_eq!(t.base_url, None);
    }

    #[test]
    fn default_path_follows_xdg_config_home() {
        // Only reads the variables; the test does not set them (the process is shared).
        if let Ok(p) = TokenStore::default_path() {
            assert!(p.ends_with("portcullis/mdr-token.json"), "{}", p.display());
        }
    }

    #[test]
    fn the_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("t.json"));
        let held = store.lock().unwrap();
        // flock locks belong to the open file: a second open in this process contends too.
        let other = OpenOptions::new()
            .read(true)
            .write(true)
            .open(store.lock_path())
            .unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(held);
        other.try_lock().unwrap();
    }

    #[test]
    fn sibling_paths_stay_in_the_store_directory() {
        let store = TokenStore::new("/x/y/s.json");
        assert_eq!(store.lock_path(), PathBuf::from("/x/y/s.json.lock"));
        assert_eq!(store.temp_path(), PathBuf::from("/x/y/.s.json.tmp"));
        assert_eq!(TokenStore::new("s.json").dir(), PathBuf::from("."));
    }
}
