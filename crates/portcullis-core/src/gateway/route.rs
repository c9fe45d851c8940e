//! The gateway's route table (`docs/gateway.md`, "Routes"): the configuration shape, its
//! validation (what `portcullis gateway check` reports) and the matcher both modes use.
//!
//! Selection is independent of the order in the file: among the routes whose host and path
//! match, a route naming the host beats one that does not, an exact path beats a prefix and a
//! longer prefix beats a shorter one. Only routes with that very matcher are then asked about
//! the method; when none lists it the answer is 405, never a less specific route. Because a
//! host-specific route therefore takes every path under its prefix on its host, a host-less
//! route under it would silently lose that host: the table refuses such shadowing, and any two
//! routes that could both claim one request.

use super::canonical::{canonical_host, canonical_path};
use super::headers::Preset;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// A credential kind a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    /// Personal and application access tokens (`Authorization: Bearer pcl_…`).
    Bearer,
    /// The AWX session cookie (CSRF rules apply to unsafe methods).
    Session,
    /// HTTP Basic, while `AUTH_BASIC_ENABLED` is on.
    Basic,
    /// MDR access JWTs (`Authorization: Bearer eyJ…`).
    Mdr,
}

impl CredentialKind {
    /// Every kind: a route's default.
    pub const ALL: [Self; 4] = [Self::Bearer, Self::Session, Self::Basic, Self::Mdr];

    /// Wire and label name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Session => "session",
            Self::Basic => "basic",
            Self::Mdr => "mdr",
        }
    }
}

/// `match = { … }` of a route.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// Host the route serves (compared after [`canonical_host`]); unset: any host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Path prefix, matched on segment boundaries (`/read/` matches `/read` and `/read/x`,
    /// never `/readme`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Exact path (instead of a prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Methods the route takes (upper case); unset: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Compare the path without regard to ASCII case.
    #[serde(default)]
    pub case_insensitive: bool,
}

/// `upstream = { … }`: where proxy mode sends the request.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSpec {
    /// `http://host:port[/base]`.
    pub url: String,
    /// Removed from the front of the canonical path before forwarding (on a segment boundary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_prefix: Option<String>,
    /// Allow WebSocket upgrades on this route.
    #[serde(default)]
    pub websocket: bool,
    /// Time for the upstream's response head (`"30s"`, `"500ms"`, `"2m"`; default 30 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// `require = { … }`: what an authenticated caller must have.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequireSpec {
    /// Scopes the caller must hold, on top of the method rule (GET/HEAD/OPTIONS need `read`,
    /// other methods `write`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The caller must hold one of these roles (`docs/gateway.md`, "Roles").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The caller must be one of these usernames.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

/// `headers = { … }`: what the upstream is told.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersSpec {
    /// Extra identity header set beside `X-Portcullis-*`.
    #[serde(default)]
    pub preset: Preset,
    /// Remove the client's `Authorization` before forwarding (default on: the upstream gets
    /// the identity, not the credential).
    #[serde(default = "yes")]
    pub strip_authorization: bool,
}

fn yes() -> bool {
    true
}

impl Default for HeadersSpec {
    fn default() -> Self {
        Self {
            preset: Preset::None,
            strip_authorization: true,
        }
    }
}

/// `assertion = { … }`: sign the decision for the upstream.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssertionSpec {
    /// Lifetime of an assertion (default and maximum 60 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

/// One `[[gateway.routes]]` entry as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Stable id: metric label, assertion `aud`, shown by `explain`.
    pub id: String,
    /// What the route matches.
    #[serde(rename = "match")]
    pub matcher: MatchSpec,
    /// Where proxy mode sends it (forward-auth-only routes leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamSpec>,
    /// Accepted credential kinds (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Vec<CredentialKind>>,
    /// Anonymous route: no credential is checked or forwarded.
    #[serde(default)]
    pub public: bool,
    /// Requirements beyond authentication.
    #[serde(default)]
    pub require: RequireSpec,
    /// Identity headers.
    #[serde(default)]
    pub headers: HeadersSpec,
    /// Signed assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion: Option<AssertionSpec>,
}

/// How a route matches the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// Segment-boundary prefix, stored without its trailing `/` (`""` is the root).
    Prefix(String),
    /// The exact canonical path.
    Exact(String),
}

/// A checked upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `http://host:port`.
    pub origin: String,
    /// The URL's path without a trailing `/` (`""` when none).
    pub base_path: String,
    /// Removed from the canonical path (without trailing `/`).
    pub strip_prefix: Option<String>,
    /// WebSocket upgrades allowed.
    pub websocket: bool,
    /// Deadline for the response head.
    pub timeout: Duration,
}

impl Upstream {
    /// The path and query sent upstream for a canonical `path`.
    pub fn forward_path(&self, path: &str, query: Option<&str>) -> String {
        let rest = match &self.strip_prefix {
            Some(p) => match path.strip_prefix(p.as_str()) {
                Some(r) if r.is_empty() || r.starts_with('/') => r,
                _ => path,
            },
            None => path,
        };
        let rest = if rest.is_empty() { "/" } else { rest };
        let mut out = format!("{}{rest}", self.base_path);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    }
}

/// A checked route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Its id.
    pub id: String,
    /// Canonical host, if the route names one.
    pub host: Option<String>,
    /// Path matcher.
    pub path: PathMatch,
    /// Allowed methods (`None`: all).
    pub methods: Option<Vec<String>>,
    /// Case-insensitive path comparison.
    pub case_insensitive: bool,
    /// Anonymous route.
    pub public: bool,
    /// Accepted credential kinds.
    pub kinds: Vec<CredentialKind>,
    /// Required scopes beyond the method rule (`read`, `write`).
    pub scopes: Vec<String>,
    /// One of these roles is required (empty: none).
    pub roles: Vec<String>,
    /// One of these users is required (empty: any).
    pub users: Vec<String>,
    /// Identity preset.
    pub preset: Preset,
    /// Strip the client's `Authorization` before forwarding.
    pub strip_authorization: bool,
    /// Signed assertion lifetime, if on.
    pub assertion_ttl: Option<Duration>,
    /// Proxy-mode upstream.
    pub upstream: Option<Upstream>,
}

impl Route {
    fn matches_path(&self, path: &str) -> bool {
        let eq = |a: &str, b: &str| {
            if self.case_insensitive {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        match &self.path {
            PathMatch::Exact(p) => eq(path, p),
            PathMatch::Prefix(p) => {
                path.len() >= p.len()
                    && path.is_char_boundary(p.len())
                    && eq(&path[..p.len()], p)
                    && matches!(path.as_bytes().get(p.len()), None | Some(b'/'))
            }
        }
    }

    /// Ordering key: host named, exact, length.
    fn specificity(&self) -> (bool, bool, usize) {
        match &self.path {
            PathMatch::Exact(p) => (self.host.is_some(), true, p.len()),
            PathMatch::Prefix(p) => (self.host.is_some(), false, p.len()),
        }
    }

    fn takes(&self, method: &str) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|m| m.iter().any(|x| x == method))
    }

    /// The matcher as written back (`host` and path), for messages.
    pub fn describe(&self) -> String {
        let host = self.host.as_deref().unwrap_or("*");
        match &self.path {
            PathMatch::Exact(p) => format!("{host} path {p}"),
            PathMatch::Prefix(p) => format!("{host} prefix {p}/"),
        }
    }
}

/// What the table says about a request.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// The route that serves it.
    Found(&'a Arc<Route>),
    /// A route matches the path but not the method; the methods it takes.
    MethodNotAllowed(Vec<String>),
    /// No route.
    NotFound,
}

/// A checked route table.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Arc<Route>>,
}

/// Parses `"30s"`, `"500ms"`, `"2m"` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        _ => None,
    }
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn valid_method(m: &str) -> bool {
    !m.is_empty() && m.len() <= 16 && m.bytes().all(|b| b.is_ascii_uppercase())
}

/// A configured path, which must already be canonical; returned without its trailing `/`.
fn checked_path(id: &str, what: &str, p: &str, problems: &mut Vec<String>) -> String {
    match canonical_path(p) {
        Ok(c) if c == p => c.trim_end_matches('/').to_owned(),
        Ok(c) => {
            problems.push(format!(
                "route {id}: {what} {p:?} is not canonical (write {c:?})"
            ));
            String::new()
        }
        Err(e) => {
            problems.push(format!("route {id}: {what} {p:?}: {e}"));
            String::new()
        }
    }
}

fn upstream(id: &str, u: &UpstreamSpec, problems: &mut Vec<String>) -> Option<Upstream> {
    let Some(rest) = u.url.strip_prefix("http://") else {
        problems.push(format!(
            "route {id}: upstream url {:?} must start with http:// (end TLS to the upstream in front of it)",
            u.url
        ));
        return None;
    };
    let (authority, base) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if canonical_host(authority).is_err() || authority.contains('@') {
        problems.push(format!(
            "route {id}: upstream url {:?} has no valid host",
            u.url
        ));
        return None;
    }
    let base_path = if base.is_empty() {
        String::new()
    } else {
        checked_path(id, "upstream path", base, problems)
    };
    let strip_prefix = u
        .strip_prefix
        .as_deref()
        .map(|p| checked_path(id, "strip_prefix", p, problems));
    let timeout = match &u.timeout {
        None => Duration::from_secs(30),
        Some(t) => match parse_duration(t) {
            Some(d) if !d.is_zero() => d,
            _ => {
                problems.push(format!(
                    "route {id}: timeout {t:?} is not a duration like \"30s\""
                ));
                Duration::from_secs(30)
            }
        },
    };
    Some(Upstream {
        origin: format!("http://{authority}"),
        base_path,
        strip_prefix,
        websocket: u.websocket,
        timeout,
    })
}

fn compile_one(s: &RouteSpec, problems: &mut Vec<String>) -> Route {
    let id = s.id.as_str();
    if !valid_id(id) {
        problems.push(format!(
            "route id {id:?}: use 1-64 characters of a-z, 0-9, - and _"
        ));
    }
    let host = s
        .matcher
        .host
        .as_deref()
        .and_then(|h| match canonical_host(h) {
            Ok(c) => Some(c),
            Err(_) => {
                problems.push(format!("route {id}: host {h:?} is not a host name"));
                None
            }
        });
    let path = match (&s.matcher.path_prefix, &s.matcher.path) {
        (Some(p), None) => PathMatch::Prefix(checked_path(id, "path_prefix", p, problems)),
        (None, Some(p)) => {
            let c = checked_path(id, "path", p, problems);
            // An exact path keeps its trailing slash: `/a/` and `/a` are different resources.
            PathMatch::Exact(if p.ends_with('/') { format!("{c}/") } else { c })
        }
        _ => {
            problems.push(format!(
                "route {id}: give exactly one of match.path_prefix and match.path"
            ));
            PathMatch::Exact(String::new())
        }
    };
    let methods = s.matcher.methods.clone().inspect(|ms| {
        for m in ms {
            if !valid_method(m) {
                problems.push(format!(
                    "route {id}: method {m:?} must be an upper-case token"
                ));
            }
        }
    });
    if matches!(&methods, Some(m) if m.is_empty()) {
        problems.push(format!("route {id}: an empty methods list matches nothing"));
    }
    for sc in &s.require.scopes {
        if sc != "read" && sc != "write" {
            problems.push(format!("route {id}: scope {sc:?} is not read or write"));
        }
    }
    let kinds = s
        .auth
        .clone()
        .unwrap_or_else(|| CredentialKind::ALL.to_vec());
    if kinds.is_empty() && !s.public {
        problems.push(format!(
            "route {id}: auth is empty; use public = true for an anonymous route"
        ));
    }
    let requires =
        !s.require.scopes.is_empty() || !s.require.roles.is_empty() || !s.require.users.is_empty();
    if s.public && (requires || s.auth.is_some() || s.assertion.is_some()) {
        problems.push(format!(
            "route {id}: a public route takes no auth, require or assertion"
        ));
    }
    let assertion_ttl = s.assertion.as_ref().map(|a| match a.ttl.as_deref() {
        None => Duration::from_secs(60),
        Some(t) => match parse_duration(t) {
            Some(d) if !d.is_zero() && d <= Duration::from_secs(60) => d,
            _ => {
                problems.push(format!(
                    "route {id}: assertion ttl {t:?} must be a duration of at most 60s"
                ));
                Duration::from_secs(60)
            }
        },
    });
    let upstream = s.upstream.as_ref().and_then(|u| upstream(id, u, problems));
    Route {
        id: id.to_owned(),
        host,
        path,
        methods,
        case_insensitive: s.matcher.case_insensitive,
        public: s.public,
        kinds,
        scopes: s.require.scopes.clone(),
        roles: s.require.roles.clone(),
        users: s.require.users.clone(),
        preset: s.headers.preset,
        strip_authorization: s.headers.strip_authorization,
        assertion_ttl,
        upstream,
    }
}

/// True when `inner`'s path matcher only ever matches paths `outer`'s prefix matches.
fn covered_by(outer: &Route, inner: &Route) -> bool {
    let PathMatch::Prefix(o) = &outer.path else {
        return false;
    };
    let i = match &inner.path {
        PathMatch::Prefix(p) | PathMatch::Exact(p) => p,
    };
    let probe = Route {
        case_insensitive: outer.case_insensitive || inner.case_insensitive,
        ..outer.clone()
    };
    o.is_empty() || probe.matches_path(i)
}

fn same_matcher(a: &Route, b: &Route) -> bool {
    let fold = a.case_insensitive || b.case_insensitive;
    let eq = |x: &str, y: &str| {
        if fold {
            x.eq_ignore_ascii_case(y)
        } else {
            x == y
        }
    };
    a.host == b.host
        && match (&a.path, &b.path) {
            (PathMatch::Prefix(x), PathMatch::Prefix(y))
            | (PathMatch::Exact(x), PathMatch::Exact(y)) => eq(x, y),
            _ => false,
        }
}

fn methods_meet(a: &Route, b: &Route) -> bool {
    match (&a.methods, &b.methods) {
        (Some(x), Some(y)) => x.iter().any(|m| y.contains(m)),
        _ => true,
    }
}

impl RouteTable {
    /// Checks every route and the table as a whole; all problems are reported at once.
    pub fn compile(specs: &[RouteSpec]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let routes: Vec<Route> = specs
            .iter()
            .map(|s| compile_one(s, &mut problems))
            .collect();
        for (i, a) in routes.iter().enumerate() {
            for b in routes.iter().skip(i + 1) {
                if a.id == b.id {
                    problems.push(format!("route id {} is used twice", a.id));
                }
                if same_matcher(a, b) && methods_meet(a, b) {
                    problems.push(format!(
                        "routes {} and {} overlap: both match {} for the same methods",
                        a.id,
                        b.id,
                        a.describe()
                    ));
                }
                for (x, y) in [(a, b), (b, a)] {
                    if let (Some(h), None) = (&x.host, &y.host)
                        && covered_by(x, y)
                    {
                        problems.push(format!(
                            "route {} is shadowed on host {h} by route {}: give {} a host, or move it out of {}",
                            y.id,
                            x.id,
                            y.id,
                            x.describe()
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(Self {
                routes: routes.into_iter().map(Arc::new).collect(),
            })
        } else {
            Err(problems)
        }
    }

    /// The routes, in file order.
    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// Finds the route for a canonical host and path.
    pub fn lookup(&self, host: &str, path: &str, method: &str) -> Lookup<'_> {
        let mut best: Option<(bool, bool, usize)> = None;
        for r in &self.routes {
            if r.host.as_deref().is_some_and(|h| h != host) || !r.matches_path(path) {
                continue;
            }
            let k = r.specificity();
            if best.is_none_or(|b| k > b) {
                best = Some(k);
            }
        }
        let Some(best) = best else {
            return Lookup::NotFound;
        };
        let mut allowed = Vec::new();
        for r in &self.routes {
            if r.specificity() != best
                || r.host.as_deref().is_some_and(|h| h != host)
                || !r.matches_path(path)
            {
                continue;
            }
            if r.takes(method) {
                return Lookup::Found(r);
            }
            allowed.extend(r.methods.iter().flatten().cloned());
        }
        Lookup::MethodNotAllowed(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, host: Option<&str>, prefix: &str) -> RouteSpec {
        RouteSpec {
            id: id.into(),
            matcher: MatchSpec {
                host: host.map(Into::into),
                path_prefix: Some(prefix.into()),
                ..MatchSpec::default()
            },
            ..RouteSpec::default()
        }
    }

    fn found<'a>(t: &'a RouteTable, host: &str, path: &str, m: &str) -> Option<&'a str> {
        match t.lookup(host, path, m) {
            Lookup::Found(r) => Some(r.id.as_str()),
            _ => None,
        }
    }

    #[test]
    fn most_specific_wins_on_segment_boundaries() {
        let t = RouteTable::compile(&[
            spec("root", None, "/"),
            spec("read", None, "/read/"),
            spec("readx", None, "/read/x/"),
        ])
        .unwrap();
        assert_eq!(found(&t, "h", "/read/x/y", "GET"), Some("readx"));
        assert_eq!(found(&t, "h", "/read/y", "GET"), Some("read"));
        assert_eq!(found(&t, "h", "/read", "GET"), Some("read"));
        assert_eq!(found(&t, "h", "/readme", "GET"), Some("root"));
    }

    #[test]
    fn hosts_methods_and_case() {
        let mut a = spec("a", Some("API.example.com:443"), "/x/");
        a.matcher.methods = Some(vec!["GET".into(), "POST".into()]);
        let b = spec("b", Some("other.example.com"), "/x/");
        let mut ci = spec("ci", Some("other.example.com"), "/admin/");
        ci.matcher.case_insensitive = true;
        let t = RouteTable::compile(&[a, b, ci]).unwrap();
        assert_eq!(found(&t, "api.example.com", "/x/1", "GET"), Some("a"));
        assert_eq!(found(&t, "other.example.com", "/x/1", "DELETE"), Some("b"));
        assert_eq!(
            found(&t, "other.example.com", "/ADMIN/x", "GET"),
            Some("ci")
        );
        assert!(matches!(
            t.lookup("api.example.com", "/x/1", "DELETE"),
            Lookup::MethodNotAllowed(m) if m == ["GET", "POST"]
        ));
        assert!(matches!(t.lookup("nope", "/x/1", "GET"), Lookup::NotFound));
    }

    #[test]
    fn overlap_and_shadowing_are_refused() {
        let errs =
            RouteTable::compile(&[spec("a", None, "/x/"), spec("b", None, "/x/")]).unwrap_err();
        assert!(errs[0].contains("overlap"), "{errs:?}");
        let mut g = spec("g", None, "/x/");
        g.matcher.methods = Some(vec!["GET".into()]);
        let mut p = spec("p", None, "/x/");
        p.matcher.methods = Some(vec!["POST".into()]);
        assert!(RouteTable::compile(&[g, p]).is_ok());
        let errs = RouteTable::compile(&[
            spec("all", Some("api.test"), "/"),
            spec("admin", None, "/admin/"),
        ])
        .unwrap_err();
        assert!(errs[0].contains("shadowed on host api.test"), "{errs:?}");
        let errs =
            RouteTable::compile(&[spec("a", None, "/x/"), spec("a", None, "/y/")]).unwrap_err();
        assert!(errs[0].contains("used twice"));
    }

    #[test]
    fn bad_specs_are_explained() {
        let mut s = spec("Bad Id", None, "/a/../b/");
        s.upstream = Some(UpstreamSpec {
            url: "https://x".into(),
            timeout: Some("soon".into()),
            ..UpstreamSpec::default()
        });
        s.public = true;
        s.require.roles = vec!["admin".into()];
        let errs = RouteTable::compile(&[s]).unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:?}");
    }

    #[test]
    fn forward_paths() {
        let u = Upstream {
            origin: "http://127.0.0.1:9".into(),
            base_path: "/base".into(),
            strip_prefix: Some("/inventory".into()),
            websocket: false,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(u.forward_path("/inventory/a", Some("q=1")), "/base/a?q=1");
        assert_eq!(u.forward_path("/inventory", None), "/base/");
        assert_eq!(u.forward_path("/inventoryx", None), "/base/inventoryx");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("x"), None);
    }
}
