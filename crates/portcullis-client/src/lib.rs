//! Client for Portcullis's MDR-style API connections (`docs/mdr-api.md`, "Client library and CLI")
//! and, with a personal access token, its AWX-compatible API.
//!
//! Policy: this crate owns the client side of token rotation: the token store file, the
//! decision when to exchange, the single-writer lock and the crash-safe write. It depends on
//! no other Portcullis crate and keeps its own small wire types, so its end-to-end tests check
//! the server's wire format rather than shared structs. It NEVER prints, logs or puts a
//! token into an error message; only the binary's `access-token` command writes one out.
//!
//! ```no_run
//! # async fn demo() -> Result<(), portcullis_client::ClientError> {
//! use portcullis_client::{ClientOptions, MdrClient, TokenStore};
//! let mut opts = ClientOptions::new(TokenStore::default_path()?);
//! opts.base_url = Some("https://portcullis.example:8443".into());
//! let client = MdrClient::new(opts)?;
//! // Exchanges first when the access token is about to expire; retries once after a
//! // 403 `access token expired`.
//! let assets = client.list("assets", &serde_json::json!({"page_size": 10})).await?;
//! let open = client.count("incidents", &serde_json::json!({"statuses": ["Open"]})).await?;
//! # let _ = (assets, open);
//! # Ok(())
//! # }
//! ```

pub mod awx;
pub mod clock;
pub mod error;
pub mod http;
pub mod mdr;
pub mod policy;
pub mod store;
pub mod token;
pub mod wire;

pub use awx::AwxClient;
pub use error::ClientError;
pub use mdr::{ClientOptions, MdrClient, RetryPolicy};
pub use policy::{ExchangeReason, Margins};
pub use store::{StoreLock, StoredTokens, TokenStore};
pub use token::{Claims, Token};
pub use wire::ApiResponse;
