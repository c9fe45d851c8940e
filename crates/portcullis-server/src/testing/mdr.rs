//! MDR resource-API helpers: customers, tenants and connections made through the services,
//! an access token per connection, resource calls, and the SOC-side console API.

use super::{PASSWORD, Resp, TestApp};
use crate::service::mdr_session::{self, ConnectionInput};
use axum::http::StatusCode;
use serde_json::Value;

/// An API connection with a live access token.
#[derive(Debug, Clone)]
pub struct MdrConn {
    pub client_id: String,
    pub connection_id: String,
    pub name: String,
    pub access_token: String,
}

/// A `multipart/form-data` body: (part name, file name, bytes) each.
pub fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, data) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

impl TestApp {
    /// A customer created through the service; its Client ID.
    pub async fn mdr_customer(&self, name: &str) -> String {
        mdr_session::create_customer(&self.state, None, name)
            .await
            .expect("create customer")
            .client_id
    }

    /// A tenant of `client_id`; its id.
    pub async fn mdr_tenant(&self, client_id: &str, name: &str) -> String {
        mdr_session::create_tenant(&self.state, None, client_id, name)
            .await
            .expect("create tenant")
            .tenant_id
    }

    /// A connection, exchanged once so it holds an access token.
    pub async fn mdr_connection(
        &self,
        client_id: &str,
        name: &str,
        role: &str,
        tenants: &[&str],
    ) -> MdrConn {
        let b = mdr_session::create_connection(
            &self.state,
            None,
            client_id,
            ConnectionInput {
                name: Some(name.into()),
                role: Some(role.into()),
                tenants: Some(tenants.iter().map(|t| (*t).to_owned()).collect()),
            },
        )
        .await
        .expect("create connection");
        let pair = mdr_session::exchange(
            &self.state,
            client_id,
            &b.token,
            "127.0.0.1".parse().unwrap(),
        )
        .await
        .expect("exchange");
        MdrConn {
            client_id: client_id.to_owned(),
            connection_id: b.connection.connection_id.clone(),
            name: name.to_owned(),
            access_token: pair.access_token,
        }
    }

    /// `POST /api/v1/{client_id}/{action}` with the connection's token and a JSON body.
    pub async fn mdr(&self, conn: &MdrConn, action: &str, body: &Value) -> Resp {
        self.post(&format!("/api/v1/{}/{action}", conn.client_id))
            .bearer(&conn.access_token)
            .json(body)
            .send()
            .await
    }

    /// Like [`TestApp::mdr`], insisting on 200 and returning the JSON body.
    pub async fn mdr_ok(&self, conn: &MdrConn, action: &str, body: &Value) -> Value {
        let r = self.mdr(conn, action, body).await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.text());
        r.json()
    }

    /// `POST /console/api/mdr/customers/{client_id}/soc/{path}` as `admin` (who must
    /// exist); insists on 201 and returns the body.
    pub async fn soc(&self, client_id: &str, path: &str, body: &Value) -> Value {
        let r = self.soc_raw(client_id, path, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "soc {path}: {}", r.text());
        r.json()
    }

    /// The SOC-side call's raw answer.
    pub async fn soc_raw(&self, client_id: &str, path: &str, body: &Value) -> Resp {
        self.post(&format!(
            "/console/api/mdr/customers/{client_id}/soc/{path}"
        ))
        .basic("admin", PASSWORD)
        .json(body)
        .send()
        .await
    }
}
