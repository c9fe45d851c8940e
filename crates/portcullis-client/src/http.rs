//! The HTTP client shared by the MDR and AWX sides.
//!
//! Policy: redirects are never followed (a redirect must not carry a token or a refresh
//! request elsewhere); each request has a timeout so a stalled server cannot hang a cron job;
//! a CA file, when given, is the ONLY trust anchor.

use crate::error::{ClientError, Result};
use crate::wire::ApiResponse;
use std::path::Path;
use std::time::Duration;

/// Timeout of one request, connect included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of establishing the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body read into memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Builds the client; `ca_file` is a PEM bundle that replaces the system roots.
pub fn build_client(ca_file: Option<&Path>) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("portcullis-client/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| ClientError::io(path, e))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| ClientError::Config(format!("CA file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(ClientError::Config(format!(
                "CA file {} holds no PEM certificate",
                path.display()
            )));
        }
        b = b.tls_certs_only(certs);
    }
    b.build()
        .map_err(|e| ClientError::Config(format!("HTTP client: {e}")))
}

/// Normalises a base URL: `http(s)://host[:port][/prefix]`, no trailing slash.
pub fn normalise_base_url(url: &str) -> Result<String> {
    let u = url.trim().trim_end_matches('/');
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| {
            ClientError::Config(format!("URL must start with http:// or https://: {u}"))
        })?;
    if rest.is_empty() || rest.contains(['?', '#', ' ']) || rest.starts_with('/') {
        return Err(ClientError::Config(format!("not a base URL: {u}")));
    }
    Ok(u.to_owned())
}

/// Sends a request and reads the whole answer. Transport failures (connect, timeout, a body
/// cut short) become [`ClientError::Transport`].
pub async fn send(req: reqwest::RequestBuilder) -> Result<ApiResponse> {
    let resp = req.send().await.map_err(transport)?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(ClientError::Transport(format!(
            "response body larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    let body = resp.bytes().await.map_err(transport)?.to_vec();
    Ok(ApiResponse {
        status,
        content_type,
        retry_after,
        body,
    })
}

/// A reqwest error as text. reqwest names the URL, which never holds a token here.
pub fn transport(e: reqwest::Error) -> ClientError {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ClientError::Transport(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        assert_eq!(
            normalise_base_url("https://h.example:8443/").unwrap(),
            "https://h.example:8443"
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:1/prefix/").unwrap(),
            "http://127.0.0.1:1/prefix"
        );
        for bad in [
            "ftp://x",
            "h.example",
            "http://",
            "http://h/?q=1",
            "https:///x",
        ] {
            assert!(normalise_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a certificate\n").unwrap();
        let e = build_client(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("ca.pem"), "{e}");
        assert!(build_client(None).is_ok());
    }
}
