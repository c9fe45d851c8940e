//! `portcullis`: the authentication server binary.
//!
//! Subcommands: `serve` (default listener, migrations at start, first-start `admin`),
//! `migrate`, `check-config`, `admin …` and `mdr …`. The backend is chosen by the
//! database URL's scheme.

mod admin;
mod backend;
mod mdr;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use portcullis_core::clock::SystemClock;
use portcullis_core::rng::OsRng;
use portcullis_server::service::bootstrap::{self, Bootstrap};
use portcullis_server::{AppState, Config};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Authentication server for REST APIs"
)]
struct Cli {
    /// TOML configuration file (defaults < file < PORTCULLIS_* environment).
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Load and validate the configuration, print it with secrets redacted.
    CheckConfig,
    /// Administrative actions.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// MDR-style API connections, demo data and signing keys.
    #[command(subcommand)]
    Mdr(mdr::MdrCommand),
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("PORTCULLIS_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colour only on a terminal: logs piped to a file or collector stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    match cli.command {
        Command::CheckConfig => {
            println!("{}", config.redacted());
            println!("configuration OK");
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = backend::open(config.database_url.expose()).await?;
            tracing::info!(backend = store.backend(), "migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            warn_if_open(cli.config.as_deref());
            serve(config).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Admin(admin::AdminCommand::RotateKeys { now }) => {
            mdr::run(
                config,
                mdr::MdrCommand::Keys(mdr::KeysCommand::Rotate { now }),
            )
            .await
        }
        Command::Admin(cmd) => admin::run(config, cmd).await,
        Command::Mdr(cmd) => mdr::run(config, cmd).await,
    }
}

/// security.md §3.4: the configuration file may hold secrets; warn when others can read it.
fn warn_if_open(path: Option<&std::path::Path>) {
    #[cfg(unix)]
    if let Some(p) = path {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(p)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                file = %p.display(),
                "the configuration file is readable by other users; chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

async fn serve(config: Config) -> Result<()> {
    if config
        .public_url
        .as_deref()
        .is_none_or(|u| u.starts_with("http://"))
    {
        tracing::warn!(
            "public_url is not https: cookies are sent without the Secure flag (development set-up)"
        );
    }
    let store = backend::open(config.database_url.expose()).await?;
    let listen = config.listen;
    let limits = config.limits.clone();
    let state = AppState::new(config, store, Arc::new(SystemClock), Arc::new(OsRng))
        .await
        .context("starting the server state")?;
    match bootstrap::ensure_admin(&state)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first superuser: {e}"))?
    {
        Bootstrap::AlreadyInitialised => {}
        Bootstrap::CreatedWithConfiguredPassword => tracing::info!(
            "created superuser 'admin' with the password from PORTCULLIS_ADMIN_PASSWORD; log in at http://{listen}/api/login/"
        ),
        Bootstrap::CreatedWithGeneratedPassword(pw) => tracing::warn!(
            "created superuser 'admin' with generated password {pw} (shown once): log in at http://{listen}/api/login/ or `curl -u admin:{pw} http://{listen}/api/v2/me/`, then change it"
        ),
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(%listen, backend = state.store.backend(), "portcullis listening");
    let tasks = portcullis_server::background::spawn(state.clone());
    let app = portcullis_server::app(state.clone());
    portcullis_server::listener::serve(listener, app, &limits, shutdown_signal()).await?;
    for t in tasks {
        t.abort();
    }
    portcullis_server::background::flush_all(&state).await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
