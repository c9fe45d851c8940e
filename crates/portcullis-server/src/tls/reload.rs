//! Certificate reload and expiry reports (`docs/tls.md`, "Reload").
//!
//! Policy: the pair is read again on SIGHUP and whenever either file's fingerprint (inode,
//! size, modification time — followed through symbolic links, so certbot's and
//! cert-manager's atomic renames count) differs from the one last seen. A pair that fails a
//! check is logged and the one in service stays; the next change is tried again. The
//! certificate in service is reported at every load and once a day: an error once it has
//! expired, a warning from [`EXPIRY_WARNING`] before.

use super::{CertInfo, ServerTls};
use portcullis_core::clock::Clock;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;
use tokio::task::JoinHandle;

/// How long before the end of validity the daily report turns into a warning.
pub const EXPIRY_WARNING: time::Duration = time::Duration::days(14);

/// How often the certificate in service is reported when nothing changes.
const DAILY: Duration = Duration::from_secs(24 * 3600);

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        inode,
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// Both files' stamps, read on the blocking pool (a stat of a network file system can stall).
async fn stamps(tls: &ServerTls) -> (Option<Stamp>, Option<Stamp>) {
    let (cert, key) = (tls.cert_file().to_path_buf(), tls.key_file().to_path_buf());
    tokio::task::spawn_blocking(move || (stamp(&cert), stamp(&key)))
        .await
        .unwrap_or((None, None))
}

/// Logs the state of the certificate in service: an error when it has expired or is not
/// valid yet, a warning when it expires within [`EXPIRY_WARNING`], otherwise an info line.
pub fn report(info: &CertInfo, file: &Path, now: OffsetDateTime) {
    let file = file.display();
    let serial = info.serial.as_str();
    let not_after = info.not_after;
    if now >= not_after {
        tracing::error!(%file, serial, %not_after, subject = %info.subject,
            "the TLS certificate in service has expired: clients will refuse it; install a renewed certificate (it is picked up without a restart)");
    } else if now < info.not_before {
        tracing::error!(%file, serial, not_before = %info.not_before, subject = %info.subject,
            "the TLS certificate in service is not valid yet: clients will refuse it");
    } else if not_after - now <= EXPIRY_WARNING {
        let days_left = (not_after - now).whole_days();
        tracing::warn!(%file, serial, %not_after, days_left, subject = %info.subject,
            "the TLS certificate in service expires soon; renew it (it is picked up without a restart)");
    } else {
        tracing::info!(%file, serial, %not_after, subject = %info.subject,
            "TLS certificate in service");
    }
}

/// Reads the pair again (on the blocking pool: file reads and key parsing) and logs the
/// outcome.
async fn reload(tls: &ServerTls, trigger: &'static str, clock: &Arc<dyn Clock>) {
    let (tls, clock) = (tls.clone(), clock.clone());
    let _ = tokio::task::spawn_blocking(move || reload_now(&tls, trigger, clock.now())).await;
}

fn reload_now(tls: &ServerTls, trigger: &'static str, now: OffsetDateTime) {
    match tls.reload() {
        Ok(info) => {
            tracing::info!(trigger, serial = %info.serial, "TLS certificate reloaded");
            report(&info, tls.cert_file(), now);
        }
        Err(e) => tracing::error!(
            trigger,
            error = %e,
            serial_in_service = %tls.info().serial,
            "TLS certificate not reloaded; the certificate in service stays"
        ),
    }
}

/// Starts the reload task: on SIGHUP, on a changed file (compared every `watch`, never when
/// it is zero) and the daily report. Call it before the listener binds, so that a SIGHUP
/// sent once the server answers is never the default "terminate". Abort the handle to stop.
pub fn spawn(tls: ServerTls, watch: Duration, clock: Arc<dyn Clock>) -> JoinHandle<()> {
    let mut hangup = crate::signal::Signal::hangup();
    report(&tls.info(), tls.cert_file(), clock.now());
    // Taken now, right after the pair in service was read, so that a change made while the
    // server starts is not taken for the version already served.
    let mut seen = (stamp(tls.cert_file()), stamp(tls.key_file()));
    tokio::spawn(async move {
        let mut poll = tokio::time::interval(if watch.is_zero() { DAILY } else { watch });
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut daily = tokio::time::interval_at(tokio::time::Instant::now() + DAILY, DAILY);
        loop {
            tokio::select! {
                () = hangup.recv() => {
                    // Stamps first: a change made while the files are read is seen next time.
                    seen = stamps(&tls).await;
                    reload(&tls, "SIGHUP", &clock).await;
                }
                _ = poll.tick(), if !watch.is_zero() => {
                    let now = stamps(&tls).await;
                    if now != seen {
                        seen = now;
                        reload(&tls, "files changed", &clock).await;
                    }
                }
                _ = daily.tick() => report(&tls.info(), tls.cert_file(), clock.now()),
            }
        }
    })
}
