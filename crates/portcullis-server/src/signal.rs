//! Unix signals as futures. Policy: the handler is installed when the [`Signal`] is made
//! (so a signal sent after that is never the default action, such as "terminate"), and a
//! signal that cannot be watched is logged once and then simply never arrives.

/// One watched signal.
#[derive(Debug)]
pub struct Signal {
    #[cfg(unix)]
    inner: Option<tokio::signal::unix::Signal>,
}

impl Signal {
    #[cfg(unix)]
    fn watch(kind: tokio::signal::unix::SignalKind, name: &'static str) -> Self {
        let inner = tokio::signal::unix::signal(kind)
            .map_err(|e| tracing::warn!(error = %e, signal = name, "cannot watch the signal"))
            .ok();
        Self { inner }
    }

    /// SIGTERM (on other platforms: never).
    pub fn terminate() -> Self {
        #[cfg(unix)]
        return Self::watch(tokio::signal::unix::SignalKind::terminate(), "SIGTERM");
        #[cfg(not(unix))]
        Self {}
    }

    /// SIGHUP (on other platforms: never).
    pub fn hangup() -> Self {
        #[cfg(unix)]
        return Self::watch(tokio::signal::unix::SignalKind::hangup(), "SIGHUP");
        #[cfg(not(unix))]
        Self {}
    }

    /// Completes at the next delivery of the signal; never when it is not watched.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = self.inner.as_mut() {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}
