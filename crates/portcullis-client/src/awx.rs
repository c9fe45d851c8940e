//! The AWX-side client: plain requests with a personal access token (`pcl_pat_…`) as
//! `Authorization: Bearer`. No token store and no rotation: a PAT is long-lived and managed
//! in the console or through `/api/v2/tokens/`.

use crate::error::{ClientError, Result};
use crate::http::{build_client, normalise_base_url, send};
use crate::token::Token;
use crate::wire::ApiResponse;
use std::path::Path;

/// Client of the AWX-compatible API.
#[derive(Debug, Clone)]
pub struct AwxClient {
    http: reqwest::Client,
    base_url: String,
    token: Token,
}

impl AwxClient {
    /// A client for `base_url` authenticating with `token`.
    pub fn new(base_url: &str, token: Token, ca_file: Option<&Path>) -> Result<Self> {
        Ok(Self {
            http: build_client(ca_file)?,
            base_url: normalise_base_url(base_url)?,
            token,
        })
    }

    fn url(&self, path: &str) -> Result<String> {
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(ClientError::Config(format!(
                "an API path starts with one '/', e.g. /api/v2/me/, not {path:?}"
            )));
        }
        Ok(format!("{}{path}", self.base_url))
    }

    /// `GET {base}{path}`.
    pub async fn get(&self, path: &str) -> Result<ApiResponse> {
        let url = self.url(path)?;
        send(self.http.get(url).bearer_auth(self.token.expose())).await
    }

    /// `POST {base}{path}` with a JSON body.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<ApiResponse> {
        let url = self.url(path)?;
        send(
            self.http
                .post(url)
                .bearer_auth(self.token.expose())
                .json(body),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_absolute_on_the_configured_host() {
        let c = AwxClient::new(
            "http://127.0.0.1:9/",
            Token::new("pcl_pat_x").unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(
            c.url("/api/v2/me/").unwrap(),
            "http://127.0.0.1:9/api/v2/me/"
        );
        assert!(c.url("api/v2/me/").is_err());
        assert!(c.url("//evil.example/x").is_err());
        assert!(format!("{c:?}").contains("<redacted>"));
        assert!(!format!("{c:?}").contains("pcl_pat_x"));
    }
}
