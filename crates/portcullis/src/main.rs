//! `portcullis`: the authentication server binary.
//!
//! Subcommands: `serve` (default listener, migrations at start, first-start `admin`),
//! `migrate`, `check-config`, `admin …`, `mdr …`, `tls dev-cert` and `gateway check|explain`. The backend is chosen
//! by the database URL's scheme.

mod admin;
mod backend;
mod gateway;
mod mdr;
mod tls;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use portcullis_core::clock::SystemClock;
use portcullis_core::rng::OsRng;
use portcullis_server::listener::Drain;
use portcullis_server::service::bootstrap::{self, Bootstrap};
use portcullis_server::tls::ServerTls;
use portcullis_server::{AppState, Config};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

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
    /// HTTPS helpers: a development certificate.
    #[command(subcommand)]
    Tls(tls::TlsCommand),
    /// The gateway's route table: check it, explain a decision.
    #[command(subcommand)]
    Gateway(gateway::GatewayCommand),
}

/// Sets up logging from `PORTCULLIS_LOG` (an `EnvFilter`) and `PORTCULLIS_LOG_FORMAT`
/// (`text`, the default, or `json`: one JSON object per line). An unknown format is refused
/// rather than ignored, as an unknown configuration key is.
fn init_logging() -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match std::env::var("PORTCULLIS_LOG_FORMAT").as_deref() {
        Err(_) | Ok("" | "text") => false,
        Ok("json") => true,
        Ok(other) => {
            return Err(format!(
                "PORTCULLIS_LOG_FORMAT={other} is not a log format (use text or json)"
            ));
        }
    };
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
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
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
    // Needs no configuration: it makes the files a configuration will name.
    if let Command::Tls(cmd) = cli.command {
        return tls::run(cmd).map(|()| ExitCode::SUCCESS);
    }
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    match cli.command {
        Command::CheckConfig => {
            println!("{}", config.redacted());
            if let Some(tls) = ServerTls::from_config(&config.tls).context("TLS")? {
                let info = tls.info();
                println!(
                    "TLS certificate: serial {}, subject {}, valid until {}",
                    info.serial, info.subject, info.not_after
                );
            }
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
            serve(config, cli.config).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Gateway(cmd) => gateway::run(config, cmd).await,
        Command::Admin(cmd) => admin::run(config, cmd).await,
        Command::Mdr(cmd) => mdr::run(config, cmd).await,
        Command::Tls(cmd) => tls::run(cmd).map(|()| ExitCode::SUCCESS),
    }
}

/// `docs/security.md`, "Secrets and keys": the configuration file may hold secrets; warn when
/// others can read it.
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

async fn serve(config: Config, config_file: Option<PathBuf>) -> Result<()> {
    // The pair is checked before anything else starts: a bad file stops the start with its
    // name, not the first client's handshake.
    let tls = ServerTls::from_config(&config.tls).context("TLS")?;
    if !config.secure_cookies() {
        tracing::warn!(
            "neither TLS nor an https public_url: cookies are sent without the Secure flag (development set-up)"
        );
    }
    let shutdown = shutdown_signal();
    let clock: Arc<dyn portcullis_core::clock::Clock> = Arc::new(SystemClock);
    // Installed before the listener binds, like the SIGTERM handler.
    let reloader = tls.clone().map(|t| {
        portcullis_server::tls::reload::spawn(
            t,
            Duration::from_secs(config.tls.watch_interval_seconds),
            clock.clone(),
        )
    });
    // Installed before anything records, so the first requests are counted.
    let metrics = match config.metrics.listen {
        Some(addr) => Some((
            addr,
            portcullis_server::metrics::install()
                .map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))?,
        )),
        None => None,
    };
    let store = backend::open(config.database_url.expose()).await?;
    let listen = config.listen;
    let health_listen = config.tls.health_listen;
    let gateway_listen = config.gateway.listen;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let limits = config.limits.clone();
    let drain_timeout = Duration::from_secs(config.shutdown.drain_timeout_seconds);
    let state = AppState::new(config, store, clock, Arc::new(OsRng))
        .await
        .context("starting the server state")?;
    match bootstrap::ensure_admin(&state)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first superuser: {e}"))?
    {
        Bootstrap::AlreadyInitialised => {}
        Bootstrap::CreatedWithConfiguredPassword => tracing::info!(
            "created superuser 'admin' with the password from PORTCULLIS_ADMIN_PASSWORD; log in at {scheme}://{listen}/console/ (web console) or {scheme}://{listen}/api/login/"
        ),
        Bootstrap::CreatedWithGeneratedPassword(pw) => tracing::warn!(
            "created superuser 'admin' with generated password {pw} (shown once): log in at {scheme}://{listen}/console/ (web console) or `curl -u admin:{pw} {scheme}://{listen}/api/v2/me/`, then change it"
        ),
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let health = match health_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding tls.health_listen {addr}"))?,
        ),
        None => None,
    };
    let gateway = match gateway_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding gateway.listen {addr}"))?,
        ),
        None => None,
    };
    // Installed before the listener binds, like the TLS reload: a SIGHUP is never fatal.
    let routes_reload = portcullis_server::gateway::reload::spawn(state.clone(), config_file);
    let metrics = match metrics {
        Some((addr, handle)) => Some((
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding metrics.listen {addr}"))?,
            handle,
        )),
        None => None,
    };
    tracing::info!(%listen, scheme, backend = state.store.backend(), "portcullis listening");
    // One signal stops both listeners.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        // An error means the sender is gone, which also means stop.
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let health = health.map(|listener| {
        spawn_side_listener(
            listener,
            portcullis_server::router::health_app(state.clone()),
            "plain-HTTP health listener (/healthz, /readyz)",
            &limits,
            drain_timeout,
            stopped(stop_rx.clone()),
        )
    });
    let metrics = metrics.map(|(listener, handle)| {
        let upkeep = portcullis_server::metrics::spawn_upkeep(handle.clone());
        let task = spawn_side_listener(
            listener,
            portcullis_server::metrics::app(state.clone(), handle),
            "metrics listener (/metrics)",
            &limits,
            drain_timeout,
            stopped(stop_rx.clone()),
        );
        (task, upkeep)
    });
    let gateway = gateway.map(|listener| {
        spawn_side_listener(
            listener,
            portcullis_server::gateway::proxy::app(state.clone()),
            "gateway proxy listener",
            &limits,
            drain_timeout,
            stopped(stop_rx.clone()),
        )
    });
    let background = portcullis_server::background::spawn(state.clone());
    // The MDR demo resource server is mounted beside the auth server unless built without it.
    #[cfg(feature = "mdr-demo")]
    let app = portcullis_mdr_demo::app(state.clone());
    #[cfg(not(feature = "mdr-demo"))]
    let app = portcullis_server::app(state.clone());
    let drain = portcullis_server::listener::serve_on(
        listener,
        app,
        &limits,
        tls,
        drain_timeout,
        stopped(stop_rx),
    )
    .await?;
    if let Some(task) = health {
        match task.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the health listener failed"),
            Err(e) => tracing::warn!(error = %e, "the health listener task failed"),
        }
    }
    if let Some((task, upkeep)) = metrics {
        match task.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the metrics listener failed"),
            Err(e) => tracing::warn!(error = %e, "the metrics listener task failed"),
        }
        upkeep.abort();
    }
    if let Some(task) = gateway {
        match task.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the gateway listener failed"),
            Err(e) => tracing::warn!(error = %e, "the gateway listener task failed"),
        }
    }
    routes_reload.abort();
    if let Some(task) = reloader {
        task.abort();
    }
    // Order matters: the requests under way were answered first (they need the store, the
    // password workers and the caches), then the periodic tasks end between two runs, then
    // what they had coalesced in memory is written.
    background.stop().await;
    portcullis_server::background::flush_all(&state).await;
    match drain {
        Drain::Complete => tracing::info!("stopped"),
        Drain::TimedOut(n) => tracing::warn!(
            connections = n,
            "stopped; requests still under way at the drain timeout were cut"
        ),
    }
    Ok(())
}

/// Serves the plain-HTTP health listener beside a TLS listener (`docs/tls.md`, "Health
/// listener") until `stop` completes.
fn spawn_side_listener(
    listener: tokio::net::TcpListener,
    app: portcullis_server::Router,
    what: &'static str,
    limits: &portcullis_server::config::LimitsConfig,
    drain_timeout: Duration,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<Drain>> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(listen = %addr, "{what}");
    }
    let limits = limits.clone();
    tokio::spawn(async move {
        portcullis_server::listener::serve(listener, app, &limits, drain_timeout, stop).await
    })
}

/// Completes on SIGTERM or Ctrl-C. The handlers are installed when this is called (before
/// the listener binds), so a signal sent once the server answers is never the default
/// "terminate at once".
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let mut term = portcullis_server::signal::Signal::terminate();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = term.recv() => {}
        }
        tracing::info!("shutdown requested");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kid is a base64url SHA-256 thumbprint, so about one in 64 begins with `-`; the CLI
    /// must take it as the value, not as an unknown option (a CI run once drew such a kid).
    #[test]
    fn a_kid_beginning_with_a_hyphen_is_a_value() {
        let cli = Cli::try_parse_from(["portcullis", "mdr", "keys", "retire", "-jdj5Pr3bkOmDv"])
            .expect("a leading hyphen is part of the kid");
        match cli.command {
            Command::Mdr(mdr::MdrCommand::Keys(mdr::KeysCommand::Retire { kid })) => {
                assert_eq!(kid, "-jdj5Pr3bkOmDv");
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
