//! Hot reload of the route table (`docs/gateway.md`, "Reloading routes"): on SIGHUP, and when
//! the configuration file changes (checked every 2 s), the whole configuration is loaded and
//! validated again and only its `[[gateway.routes]]` are put in force. A file that does not
//! validate changes nothing: the table in force stays, and the problems are logged. Other
//! settings (listeners, trusted proxies, origins) still need a restart.

use crate::config::Config;
use crate::state::AppState;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;

/// How often the file is compared.
const WATCH: Duration = Duration::from_secs(2);

fn stamp(path: Option<&PathBuf>) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path?).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Loads the configuration again and swaps the route table; `Err` says why nothing changed.
pub fn reload(state: &AppState, file: Option<&std::path::Path>) -> Result<usize, String> {
    let config = Config::load(file).map_err(|e| e.to_string())?;
    let table = config
        .gateway
        .validate(state.config.listen)
        .map_err(|e| e.to_string())?;
    let n = table.routes().len();
    state.gateway.replace(table);
    Ok(n)
}

/// Starts the reload task; call it before the listener binds (as the TLS reload) so a SIGHUP
/// is never the default "terminate". Abort the handle to stop.
pub fn spawn(state: AppState, file: Option<PathBuf>) -> JoinHandle<()> {
    let mut hangup = crate::signal::Signal::hangup();
    let mut seen = stamp(file.as_ref());
    tokio::spawn(async move {
        let mut poll = tokio::time::interval(WATCH);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let why = tokio::select! {
                () = hangup.recv() => "SIGHUP",
                _ = poll.tick() => {
                    let now = stamp(file.as_ref());
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    "file changed"
                }
            };
            match reload(&state, file.as_deref()) {
                Ok(n) => tracing::info!(routes = n, trigger = why, "gateway routes reloaded"),
                Err(e) => tracing::error!(
                    error = %e,
                    trigger = why,
                    "gateway routes not reloaded; the previous table stays in force"
                ),
            }
        }
    })
}
