//! `[gateway]`: the forward-auth endpoint and the built-in reverse proxy (`docs/gateway.md`).

use super::ConfigError;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use portcullis_core::gateway::route::{RouteSpec, RouteTable};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `[gateway]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Address of the proxy-mode listener (`PORTCULLIS_GATEWAY__LISTEN`); unset: no proxy
    /// mode (the forward-auth endpoint on the API listener works either way).
    pub listen: Option<SocketAddr>,
    /// Networks whose `X-Original-*` and `X-Forwarded-*` headers the gateway believes
    /// (default: loopback only). From anyone else those headers are ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// `scheme://host[:port]` of the protected API as browsers see it: login redirects are
    /// built from it, never from `Host` (default: the origin of `public_url`).
    pub public_origin: Option<String>,
    /// Path of the login page on `public_origin` (default `/console/login/`).
    pub login_path: String,
    /// Further origins a login's `next` may send the browser to (`public_origin` always may).
    pub redirect_origins: Vec<String>,
    /// The route table.
    pub routes: Vec<RouteSpec>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: None,
            trusted_proxies: vec![
                IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8)),
                IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128)),
            ],
            public_origin: None,
            login_path: "/console/login/".to_owned(),
            redirect_origins: Vec::new(),
            routes: Vec::new(),
        }
    }
}

/// True for `scheme://host[:port]` with nothing after it.
fn is_origin(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && portcullis_core::gateway::canonical::canonical_host(rest).is_ok()
        && !rest.contains('/')
}

impl GatewayConfig {
    /// Checks the settings and compiles the route table (every problem reported at once).
    pub fn validate(&self, listen: SocketAddr) -> Result<RouteTable, ConfigError> {
        let mut problems = Vec::new();
        if let Some(o) = &self.public_origin
            && !is_origin(o)
        {
            problems.push(format!(
                "gateway.public_origin = {o:?} must be scheme://host[:port] with no path"
            ));
        }
        for o in &self.redirect_origins {
            if !is_origin(o) {
                problems.push(format!(
                    "gateway.redirect_origins: {o:?} must be scheme://host[:port] with no path"
                ));
            }
        }
        if !portcullis_core::policy::next_is_safe(&self.login_path) {
            problems.push(format!(
                "gateway.login_path = {:?} must be a path starting with a single /",
                self.login_path
            ));
        }
        // Forwarded headers from anywhere would let any client name the URI it is judged on.
        if !self.routes.is_empty() && !listen.ip().is_loopback() && self.trusted_proxies.is_empty()
        {
            problems.push(format!(
                "gateway.trusted_proxies is empty while listen = {listen} is not a loopback address: the forward-auth endpoint would have no proxy to believe; list the proxy's address"
            ));
        }
        let table = match RouteTable::compile(&self.routes) {
            Ok(t) => Some(t),
            Err(p) => {
                problems.extend(p);
                None
            }
        };
        match table {
            Some(t) if problems.is_empty() => Ok(t),
            _ => Err(ConfigError::Invalid(format!(
                "gateway: {}",
                problems.join("; ")
            ))),
        }
    }

    /// True when `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_trusts_loopback_only() {
        let g = GatewayConfig::default();
        assert!(g.trusts("127.0.0.1".parse().unwrap()));
        assert!(g.trusts("127.9.9.9".parse().unwrap()));
        assert!(g.trusts("::1".parse().unwrap()));
        assert!(g.trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!g.trusts("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn origins_are_checked() {
        assert!(is_origin("https://api.example.com"));
        assert!(is_origin("http://127.0.0.1:8080"));
        assert!(!is_origin("https://api.example.com/"));
        assert!(!is_origin("ftp://x"));
        assert!(!is_origin("https://a@b"));
    }
}
