//! `portcullis mdr …`: customers, tenants, API connections, demo data and signing keys, with
//! the same services (and so the same effects) as the console API. Prints ids and the
//! one-time bootstrap token, never other token material.

use anyhow::{Context, Result};
use clap::Subcommand;
use portcullis_core::clock::SystemClock;
use portcullis_core::rng::OsRng;
use portcullis_server::service::mdr_session::{self as svc, Actor, ConnectionInput};
use portcullis_server::{AppState, Config};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `portcullis mdr` subcommands.
#[derive(Debug, Subcommand)]
pub enum MdrCommand {
    /// Customers (MDR "clients").
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Tenants of a customer.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// API connections.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Load demonstration data (customers, tenants, assets, incidents, …) from a JSON file,
    /// idempotently by id.
    LoadDemo {
        /// The JSON document (see docs/mdr-demo.json).
        file: PathBuf,
    },
}

/// `portcullis mdr customer …`.
#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
    /// Create a customer; prints its Client ID.
    Create {
        /// Display name.
        name: String,
    },
    /// List customers.
    List,
}

/// `portcullis mdr tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Client ID of the customer.
        #[arg(long)]
        client_id: String,
        /// Tenant name (unique per customer).
        name: String,
    },
}

/// `portcullis mdr connection …`.
#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Create a connection ("Generate"): prints its id, the Client ID and the bootstrap
    /// refresh token, once.
    Create {
        /// Client ID of the customer.
        #[arg(long)]
        client_id: String,
        /// Connection name (1–64 printable characters, unique per customer).
        #[arg(long)]
        name: String,
        /// "MDR Administrator", "Senior Security Officer" or "Security Officer".
        #[arg(long, default_value = "MDR Administrator")]
        role: String,
        /// Tenant in scope (repeat; "Root without tenants" for untenanted objects; none = all).
        #[arg(long = "tenant")]
        tenants: Vec<String>,
    },
    /// List a customer's connections.
    List {
        /// Client ID of the customer.
        #[arg(long)]
        client_id: String,
    },
    /// "Refresh": a new bootstrap token (Pending activation only); the previous one dies.
    Refresh {
        /// Client ID of the customer.
        #[arg(long)]
        client_id: String,
        /// Connection id.
        connection_id: String,
    },
    /// "Revoke" (Active or Idle only): every token of the connection dies.
    Revoke {
        /// Client ID of the customer.
        #[arg(long)]
        client_id: String,
        /// Connection id.
        connection_id: String,
    },
    /// "Delete".
    Delete {
        /// Client ID of the customer.
        #[arg(long)]
        client_id: String,
        /// Connection id.
        connection_id: String,
    },
}

/// `portcullis mdr keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List keys: kid, algorithm, state, dates (never key material).
    List,
    /// Create a new key. Without --now it is published as pending and a running server
    /// promotes it after mdr.signing.publish_ahead; with --now it signs at once (the old key
    /// keeps verifying its tokens).
    Rotate {
        /// Promote the new key immediately.
        #[arg(long)]
        now: bool,
    },
    /// Retire a key at once: every token it signed fails.
    Retire {
        /// Key id. A kid is a base64url thumbprint and may begin with `-`, so a leading
        /// hyphen is taken as part of the value, not as an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

async fn state(config: Config) -> Result<AppState> {
    let store = crate::backend::open(config.database_url.expose()).await?;
    AppState::new(config, store, Arc::new(SystemClock), Arc::new(OsRng))
        .await
        .context("starting the server state")
}

/// Prints a refusal in the words the console's API uses for it (the MDR renderer).
fn fail(e: impl Into<portcullis_server::api::mdr::error::MdrError>) -> ExitCode {
    eprintln!("error: {}", e.into().message());
    ExitCode::FAILURE
}

fn print_connection(state: &AppState, c: &portcullis_store::ConnectionRecord) {
    let v = svc::connection_view(state, c);
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    println!(
        "{}  {:<24} {:<26} {:<19} tenants={}",
        c.connection_id,
        c.name,
        c.role,
        s("status"),
        if c.tenants.is_empty() {
            "(all)".to_owned()
        } else {
            c.tenants.join(",")
        }
    );
}

fn print_bootstrap(b: &svc::Bootstrap) {
    println!("connection_id: {}", b.connection.connection_id);
    println!("client_id:     {}", b.connection.client_id);
    println!(
        "expires:       {}",
        b.expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    println!("refresh_token: {}", b.token);
    eprintln!(
        "(the refresh token is shown once; exchange it at POST /api/v1/{}/session/confirm)",
        b.connection.client_id
    );
}

/// Runs an `mdr` command.
pub async fn run(config: Config, cmd: MdrCommand) -> Result<ExitCode> {
    let actor = None;
    match cmd {
        MdrCommand::Customer(CustomerCommand::Create { name }) => {
            let st = state(config).await?;
            match svc::create_customer(&st, None, &name).await {
                Ok(c) => {
                    println!("{}  {}", c.client_id, c.name);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(fail(e)),
            }
        }
        MdrCommand::Customer(CustomerCommand::List) => {
            let st = state(config).await?;
            for c in st.store.list_customers().await? {
                println!("{}  {}", c.client_id, c.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        MdrCommand::Tenant(TenantCommand::Create { client_id, name }) => {
            let st = state(config).await?;
            if let Err(e) = svc::customer(&st, &client_id).await {
                return Ok(fail(e));
            }
            match svc::create_tenant(&st, None, &client_id, &name).await {
                Ok(t) => {
                    println!("{}  {}", t.tenant_id, t.tenant_name);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(fail(e)),
            }
        }
        MdrCommand::Connection(c) => connection(config, actor, c).await,
        MdrCommand::Keys(k) => keys(config, k).await,
        MdrCommand::LoadDemo { file } => load_demo(config, &file).await,
    }
}

/// `mdr load-demo <file>`: the demo resource server's data.
#[cfg(feature = "mdr-demo")]
async fn load_demo(config: Config, file: &std::path::Path) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let st = state(config).await?;
    match portcullis_mdr_demo::load_demo(&st, &doc).await {
        Ok(summary) => {
            println!(
                "loaded {} customers, {} tenants, {} assets, {} incidents, {} responses, {} comments",
                summary.customers,
                summary.tenants,
                summary.assets,
                summary.incidents,
                summary.responses,
                summary.comments
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(fail(e)),
    }
}

/// `mdr load-demo` in a build without the demo resource server.
#[cfg(not(feature = "mdr-demo"))]
async fn load_demo(_: Config, _: &std::path::Path) -> Result<ExitCode> {
    anyhow::bail!("this build has no MDR demo resource server (cargo feature `mdr-demo`)")
}

async fn connection(config: Config, actor: Actor<'_>, cmd: ConnectionCommand) -> Result<ExitCode> {
    let st = state(config).await?;
    let r = match cmd {
        ConnectionCommand::Create {
            client_id,
            name,
            role,
            tenants,
        } => {
            let input = ConnectionInput {
                name: Some(name),
                role: Some(role),
                tenants: Some(tenants),
            };
            match svc::customer(&st, &client_id).await {
                Ok(_) => svc::create_connection(&st, actor, &client_id, input)
                    .await
                    .map(|b| print_bootstrap(&b)),
                Err(e) => Err(e),
            }
        }
        ConnectionCommand::List { client_id } => match svc::customer(&st, &client_id).await {
            Ok(_) => {
                for c in st.store.list_connections(&client_id).await? {
                    print_connection(&st, &c);
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
        ConnectionCommand::Refresh {
            client_id,
            connection_id,
        } => svc::refresh_connection(&st, actor, &client_id, &connection_id)
            .await
            .map(|b| print_bootstrap(&b)),
        ConnectionCommand::Revoke {
            client_id,
            connection_id,
        } => svc::revoke_connection(&st, actor, &client_id, &connection_id)
            .await
            .map(|c| print_connection(&st, &c)),
        ConnectionCommand::Delete {
            client_id,
            connection_id,
        } => svc::delete_connection(&st, actor, &client_id, &connection_id)
            .await
            .map(|()| println!("deleted {connection_id}")),
    };
    Ok(match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    })
}

async fn keys(config: Config, cmd: KeysCommand) -> Result<ExitCode> {
    use portcullis_server::service::mdr_keys;
    let st = state(config).await?;
    let now = st.clock.now();
    let fmt = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".into())
    };
    match cmd {
        KeysCommand::List => {
            for k in st.store.all_signing_keys().await? {
                println!(
                    "{}  {:<6} {:<12} created={} activated={} deactivated={}",
                    k.kid,
                    k.algorithm,
                    k.state.as_str(),
                    fmt(Some(k.created_at)),
                    fmt(k.activated_at),
                    fmt(k.deactivated_at)
                );
            }
        }
        KeysCommand::Rotate { now: immediately } => {
            let k = mdr_keys::rotate(
                st.store.as_ref(),
                st.mdr.keys.kek(),
                &st.config.mdr,
                now,
                immediately,
            )
            .await?;
            let state = if immediately { "active" } else { "pending" };
            println!("created key {} ({}, {state})", k.kid, k.algorithm);
        }
        KeysCommand::Retire { kid } => match st.store.retire_key(&kid, now).await {
            Ok(()) => println!("retired {kid}: tokens it signed no longer verify"),
            Err(portcullis_store::StoreError::NotFound) => {
                eprintln!("error: no key {kid}");
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => return Err(e.into()),
        },
    }
    Ok(ExitCode::SUCCESS)
}
