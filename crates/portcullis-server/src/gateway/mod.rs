//! The gateway (`docs/gateway.md`): Portcullis in front of any upstream REST API, in two modes
//! over one route table and one decision:
//!
//! - [`forward_auth`]: `/api/gateway/auth` (and Envoy's `/api/gateway/auth/{path}` form) on the
//!   API listener answers nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth` and
//!   Envoy `ext_authz` with allow (200 and identity headers) or the refusal;
//! - [`proxy`]: a listener of its own (`gateway.listen`) that forwards allowed requests to the
//!   route's upstream over a pooled client, streaming bodies and WebSocket upgrades.
//!
//! The route table and the policy are pure rules in `portcullis_core::gateway`; credentials are
//! verified by the same authenticator chain and caches as every other surface ([`decide`]).

pub mod answer;
pub mod assertion;
pub mod decide;
pub mod forward_auth;
pub mod proxy;
pub mod reload;

use crate::config::Config;
use arc_swap::ArcSwap;
use axum::body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use portcullis_core::gateway::route::RouteTable;
use std::sync::Arc;
use std::time::Duration;

/// This node's gateway: the live route table, the upstream client and the assertion cache.
pub struct Gateway {
    table: ArcSwap<RouteTable>,
    client: Client<HttpConnector, Body>,
    assertions: assertion::Assertions,
    /// Origins a login `next` may name: `public_origin` and `redirect_origins`.
    origins: Vec<String>,
    /// Origin of login redirects, if configured.
    public_origin: Option<String>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("routes", &self.table.load().routes().len())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Builds the gateway from a validated configuration.
    pub fn new(config: &Config) -> Result<Self, crate::config::ConfigError> {
        let table = config.gateway.validate(config.listen)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build(connector);
        let public_origin = config
            .gateway
            .public_origin
            .clone()
            .or_else(|| config.public_origin());
        let mut origins: Vec<String> = public_origin.iter().cloned().collect();
        origins.extend(config.gateway.redirect_origins.iter().cloned());
        Ok(Self {
            table: ArcSwap::from_pointee(table),
            client,
            assertions: assertion::Assertions::new(10_000),
            origins,
            public_origin,
        })
    }

    /// The route table in force.
    pub fn table(&self) -> Arc<RouteTable> {
        self.table.load_full()
    }

    /// Puts a new route table in force (hot reload).
    pub fn replace(&self, table: RouteTable) {
        self.table.store(Arc::new(table));
        self.assertions.clear();
    }

    /// Origins a login's `next` may send the browser to.
    pub fn redirect_origins(&self) -> &[String] {
        &self.origins
    }

    /// Origin of login redirects.
    pub fn public_origin(&self) -> Option<&str> {
        self.public_origin.as_deref()
    }
}
