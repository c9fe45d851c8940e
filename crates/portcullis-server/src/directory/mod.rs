//! LDAP directories as a source of users (`docs/ldap.md`).
//!
//! The rules (settings, group types, the membership decision) are in
//! `portcullis_core::ldap`; this module does the network part with `ldap3`: pooled
//! connections per server URI, a timeout on connecting and on every operation, TLS through
//! rustls with certificate verification always on, and the login sequence — bind as the
//! service account, find the user, bind as the user, bind back, find the user's groups.
//! It knows nothing of HTTP or of the store: `service::login` turns its answer into a
//! shadow user.

mod pool;
mod tls;

use ldap3::{Ldap, LdapError, Scope as LdapScope, SearchEntry, dn_escape, ldap_escape};
use pool::{Pool, Pooled};
use portcullis_core::ldap::{
    DirectoryEntry, DirectoryFlags, GroupRefusal, Scope, Search, ServerConfig, decide,
    normalize_dn, substitute,
};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A directory user who proved their password and passed the group rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The user's DN.
    pub dn: String,
    /// Mapped `first_name`, if the attribute map names one and the entry has it.
    pub first_name: Option<String>,
    /// Mapped `last_name`.
    pub last_name: Option<String>,
    /// Mapped `email`.
    pub email: Option<String>,
    /// Flags from `USER_FLAGS_BY_GROUP`.
    pub flags: DirectoryFlags,
    /// The server slot that answered (`AUTH_LDAP_` or `AUTH_LDAP_<n>_`).
    pub slot: &'static str,
}

/// Why a directory refused a login it could evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No entry matched the user search (or the DN template's entry does not exist).
    UnknownUser,
    /// The user bind failed: wrong password.
    WrongPassword,
    /// A group rule refused the user.
    Group(GroupRefusal),
}

impl Refusal {
    /// Short reason for logs and the activity stream.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::Group(GroupRefusal::NotInRequiredGroup) => "not_in_required_group",
            Self::Group(GroupRefusal::InDeniedGroup) => "in_denied_group",
        }
    }
}

/// The step at which talking to a directory failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// TCP connection (refused, unreachable, timed out).
    Connect,
    /// TLS handshake or certificate verification (ldaps or StartTLS).
    Tls,
    /// The service account's bind was refused.
    ServiceBind,
    /// A search failed.
    Search,
}

impl Stage {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::ServiceBind => "service_bind",
            Self::Search => "search",
        }
    }
}

/// A directory could not be asked. The detail names the server and what failed, never a
/// password; it is for the log, the activity stream and the console's connection test,
/// never for the client being authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{uri}: {} failed: {detail}", stage.as_str())]
pub struct DirectoryError {
    /// The server URI.
    pub uri: String,
    /// What failed.
    pub stage: Stage,
    /// Human-readable cause.
    pub detail: String,
}

/// The answer of [`Directory::authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Password and group rules passed.
    Authenticated(DirectoryUser),
    /// Every configured server that could answer refused; the first refusal is given.
    Refused(Refusal),
    /// No server could answer; the errors of every server tried.
    Unavailable(Vec<DirectoryError>),
}

/// What a connection test found, step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestReport {
    /// The server slot tested.
    pub slot: &'static str,
    /// One line per URI, in order: the URI and `Ok(message)` or the error.
    pub results: Vec<(String, Result<String, DirectoryError>)>,
}

/// The per-node directory client: connection pools by URI and TLS set-up.
pub struct Directory {
    pools: Mutex<HashMap<PoolKey, Arc<Pool>>>,
    tls: Arc<rustls::ClientConfig>,
    pool_size: usize,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    uri: String,
    start_tls: bool,
    timeout: Duration,
}

/// Connection-level failures mean the pooled connection is dead; the sequence is retried once
/// on a fresh one (a directory restart leaves every idle connection broken).
fn is_connection_error(e: &LdapError) -> bool {
    matches!(
        e,
        LdapError::Io { .. }
            | LdapError::EndOfStream
            | LdapError::OpSend { .. }
            | LdapError::ResultRecv { .. }
            | LdapError::IdScrubSend { .. }
            | LdapError::MiscSend { .. }
    )
}

/// What a pooled connection is used for.
#[derive(Clone, Copy)]
enum Job<'a> {
    /// A user's login.
    Login {
        cfg: &'a ServerConfig,
        username: &'a str,
        password: &'a SecretString,
    },
    /// The console's connection test.
    Test { cfg: &'a ServerConfig },
}

/// The answer of a [`Job`].
enum JobResult {
    Login(Result<DirectoryUser, Refusal>),
    Test(String),
}

/// An operation's failure inside one attempt.
enum StepError {
    /// Talking to the server failed at `Stage`.
    Failed(Stage, LdapError),
    /// The service account's bind was refused (rc and message from the server).
    ServiceBindRefused(String),
}

impl Directory {
    /// A client trusting the system's CA certificates plus `ca_file` (PEM), keeping at most
    /// `pool_size` connections per server URI.
    pub fn new(ca_file: Option<&std::path::Path>, pool_size: usize) -> Result<Self, String> {
        Ok(Self {
            pools: Mutex::new(HashMap::new()),
            tls: Arc::new(tls::client_config(ca_file)?),
            pool_size,
        })
    }

    fn pool(&self, cfg: &ServerConfig, uri: &str) -> Arc<Pool> {
        let key = PoolKey {
            uri: uri.to_owned(),
            start_tls: cfg.start_tls && uri.starts_with("ldap://"),
            timeout: Duration::from_secs(cfg.timeout_seconds),
        };
        let mut pools = match self.pools.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        pools
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Pool::new(
                    key.uri,
                    key.start_tls,
                    key.timeout,
                    self.tls.clone(),
                    self.pool_size,
                ))
            })
            .clone()
    }

    /// Authenticates `username` with `password` against the configured servers, in order:
    /// the first server that authenticates the user wins; a refusal or an unreachable server
    /// moves on to the next. An empty password is refused before any bind (directories treat
    /// it as an anonymous bind, which succeeds).
    pub async fn authenticate(
        &self,
        servers: &[ServerConfig],
        username: &str,
        password: &SecretString,
    ) -> Outcome {
        if password.expose_secret().is_empty() || username.is_empty() {
            return Outcome::Refused(Refusal::WrongPassword);
        }
        let mut refusal = None;
        let mut errors = Vec::new();
        for cfg in servers {
            match self.authenticate_on(cfg, username, password).await {
                Ok(Ok(user)) => return Outcome::Authenticated(user),
                Ok(Err(r)) => {
                    refusal.get_or_insert(r);
                }
                Err(e) => errors.extend(e),
            }
        }
        match refusal {
            Some(r) => Outcome::Refused(r),
            None => Outcome::Unavailable(errors),
        }
    }

    /// One server slot: its URIs in order until one answers.
    async fn authenticate_on(
        &self,
        cfg: &ServerConfig,
        username: &str,
        password: &SecretString,
    ) -> Result<Result<DirectoryUser, Refusal>, Vec<DirectoryError>> {
        let mut errors = Vec::new();
        for uri in &cfg.uris {
            let pool = self.pool(cfg, uri);
            match self
                .with_connection(
                    &pool,
                    Job::Login {
                        cfg,
                        username,
                        password,
                    },
                )
                .await
            {
                Ok(JobResult::Login(answer)) => return Ok(answer),
                Ok(JobResult::Test(_)) => {}
                Err(e) => {
                    tracing::warn!(
                        event = "ldap_unavailable",
                        server = %cfg.prefix,
                        error = %e,
                        "directory server could not be asked"
                    );
                    errors.push(e);
                }
            }
        }
        Err(errors)
    }

    /// Runs `f` on a pooled connection; a connection-level failure on a reused connection
    /// is retried once on a new one. The whole run is bounded by four operation timeouts.
    async fn with_connection(
        &self,
        pool: &Pool,
        job: Job<'_>,
    ) -> Result<JobResult, DirectoryError> {
        let uri = pool.uri().to_owned();
        let fail = |stage: Stage, detail: String| DirectoryError {
            uri: uri.clone(),
            stage,
            detail,
        };
        for attempt in 0..2 {
            let mut conn = pool.get().await.map_err(|(stage, e)| fail(stage, e))?;
            let reused = conn.reused();
            let done = match job {
                Job::Login {
                    cfg,
                    username,
                    password,
                } => login_sequence(&mut conn, cfg, username, password)
                    .await
                    .map(JobResult::Login),
                Job::Test { cfg } => test_sequence(&mut conn, cfg).await.map(JobResult::Test),
            };
            match done {
                Ok(v) => {
                    pool.put(conn);
                    return Ok(v);
                }
                Err(StepError::Failed(stage, e)) => {
                    drop(conn); // broken or in an unknown state: never back in the pool
                    if attempt == 0 && reused && is_connection_error(&e) {
                        continue;
                    }
                    return Err(fail(stage, e.to_string()));
                }
                Err(StepError::ServiceBindRefused(msg)) => {
                    pool.put(conn);
                    return Err(fail(Stage::ServiceBind, msg));
                }
            }
        }
        Err(fail(Stage::Connect, "connection lost twice".into()))
    }

    /// Tests one server slot the way a login would use it, without a user: connect (with
    /// TLS), bind as the service account, and run the user search's base with a
    /// match-nothing-special filter. Reports per URI what failed; never shows the password.
    pub async fn test(&self, cfg: &ServerConfig) -> TestReport {
        let mut results = Vec::new();
        for uri in &cfg.uris {
            let pool = self.pool(cfg, uri);
            let r = self.with_connection(&pool, Job::Test { cfg }).await;
            results.push((
                uri.clone(),
                r.map(|r| match r {
                    JobResult::Test(msg) => msg,
                    JobResult::Login(_) => String::new(),
                }),
            ));
        }
        TestReport {
            slot: cfg.prefix,
            results,
        }
    }
}

/// TLS failures show up as I/O errors from the handshake; name them as TLS so an operator
/// looks at certificates, not at the network.
fn classify_connect(e: &LdapError) -> Stage {
    let text = e.to_string().to_lowercase();
    let tls_words = ["certificate", "tls", "handshake", "unknownissuer", "alert"];
    if matches!(e, LdapError::Rustls { .. }) || tls_words.iter().any(|w| text.contains(w)) {
        Stage::Tls
    } else {
        Stage::Connect
    }
}

fn ldap_scope(s: Scope) -> LdapScope {
    match s {
        Scope::Base => LdapScope::Base,
        Scope::OneLevel => LdapScope::OneLevel,
        Scope::Subtree => LdapScope::Subtree,
    }
}

/// Binds as the service account unless the connection already is.
async fn service_bind(conn: &mut Pooled, cfg: &ServerConfig) -> Result<(), StepError> {
    if conn.bound_as_service(cfg) {
        return Ok(());
    }
    let t = conn.timeout();
    let res = conn
        .ldap()
        .with_timeout(t)
        .simple_bind(&cfg.bind_dn, cfg.bind_password.expose_secret())
        .await
        .map_err(|e| StepError::Failed(Stage::ServiceBind, e))?;
    if res.rc != 0 {
        conn.set_bound_as_other();
        return Err(StepError::ServiceBindRefused(format!(
            "the server answered {} {}",
            res.rc,
            if res.text.is_empty() {
                "(invalid credentials)".to_owned()
            } else {
                res.text
            }
        )));
    }
    conn.set_bound_as_service(cfg);
    Ok(())
}

async fn search(
    ldap: &mut Ldap,
    timeout: Duration,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
) -> Result<Vec<DirectoryEntry>, StepError> {
    let attrs: Vec<&str> = if attrs.is_empty() {
        vec!["1.1"]
    } else {
        attrs.to_vec()
    };
    let result = ldap
        .with_timeout(timeout)
        .search(base, ldap_scope(scope), filter, attrs)
        .await
        .map_err(|e| StepError::Failed(Stage::Search, e))?;
    // noSuchObject (32) is an empty answer, not a failure: a base that does not exist has
    // no matching entries.
    if result.1.rc == 32 {
        return Ok(Vec::new());
    }
    let (entries, _) = result
        .success()
        .map_err(|e| StepError::Failed(Stage::Search, e))?;
    Ok(entries
        .into_iter()
        .map(SearchEntry::construct)
        .map(|e| DirectoryEntry {
            dn: e.dn,
            attrs: e.attrs.into_iter().collect(),
        })
        .collect())
}

/// The login on one connection.
async fn login_sequence(
    conn: &mut Pooled,
    cfg: &ServerConfig,
    username: &str,
    password: &SecretString,
) -> Result<Result<DirectoryUser, Refusal>, StepError> {
    let t = conn.timeout();
    let mut attrs: Vec<&str> = cfg.attr_map.attributes();
    attrs.extend(cfg.group_type.user_attributes());
    // 1. Find the user as the service account (or build the DN from the template).
    service_bind(conn, cfg).await?;
    let entry = if let Some(template) = &cfg.user_dn_template {
        let dn = substitute(template, username, |u| dn_escape(u).into_owned());
        let found = search(conn.ldap(), t, &dn, Scope::Base, "(objectClass=*)", &attrs).await?;
        found.into_iter().next()
    } else {
        let mut found = None;
        for s in &cfg.user_search {
            let filter = substitute(&s.filter, username, |u| ldap_escape(u).into_owned());
            let mut entries = search(conn.ldap(), t, &s.base, s.scope, &filter, &attrs).await?;
            // More than one match is ambiguous: refuse rather than pick one.
            if entries.len() == 1 {
                found = entries.pop();
                break;
            }
            if entries.len() > 1 {
                tracing::warn!(event = "ldap_ambiguous_user", server = %cfg.prefix, count = entries.len(), "user search matched several entries; refused");
                return Ok(Err(Refusal::UnknownUser));
            }
        }
        found
    };
    let Some(entry) = entry else {
        return Ok(Err(Refusal::UnknownUser));
    };
    // 2. The password: bind as the user. The connection is no longer the service account's.
    conn.set_bound_as_other();
    let res = conn
        .ldap()
        .with_timeout(t)
        .simple_bind(&entry.dn, password.expose_secret())
        .await
        // Only a connection failure gets here (a refused bind is an answer): it happened
        // between two searches of the same sequence, so it is reported with them.
        .map_err(|e| StepError::Failed(Stage::Search, e))?;
    if res.rc != 0 {
        // 49 invalidCredentials; anything else (e.g. 53 unwilling) refuses just the same.
        return Ok(Err(Refusal::WrongPassword));
    }
    // 3. Groups, as the service account again.
    service_bind(conn, cfg).await?;
    let member_of = groups_of(conn, cfg, &entry, username).await?;
    let flags = match decide(cfg, |dn| member_of.contains(&normalize_dn(dn))) {
        Ok(f) => f,
        Err(r) => return Ok(Err(Refusal::Group(r))),
    };
    let mapped = |a: &Option<String>| a.as_deref().and_then(|a| entry.first(a)).map(str::to_owned);
    Ok(Ok(DirectoryUser {
        first_name: mapped(&cfg.attr_map.first_name),
        last_name: mapped(&cfg.attr_map.last_name),
        email: mapped(&cfg.attr_map.email),
        dn: entry.dn.clone(),
        flags,
        slot: cfg.prefix,
    }))
}

/// The normalised DNs of the groups the user belongs to, among those that matter: with a
/// group search, every group it finds; without one, each group the configuration names,
/// checked by a base search on its DN.
async fn groups_of(
    conn: &mut Pooled,
    cfg: &ServerConfig,
    user: &DirectoryEntry,
    username: &str,
) -> Result<Vec<String>, StepError> {
    let terms = cfg.group_type.member_terms(user, username);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let membership = format!(
        "(|{})",
        terms
            .iter()
            .map(|(a, v)| format!("({a}={})", ldap_escape(v.as_str())))
            .collect::<String>()
    );
    let t = conn.timeout();
    if let Some(Search {
        base,
        scope,
        filter,
    }) = &cfg.group_search
    {
        let filter = format!("(&{filter}{membership})");
        let found = search(conn.ldap(), t, base, *scope, &filter, &[]).await?;
        return Ok(found.iter().map(|e| normalize_dn(&e.dn)).collect());
    }
    let mut member_of = Vec::new();
    for dn in cfg.referenced_groups() {
        let found = search(conn.ldap(), t, dn, Scope::Base, &membership, &[]).await?;
        if !found.is_empty() {
            member_of.push(normalize_dn(dn));
        }
    }
    Ok(member_of)
}

/// The connection test on one connection.
async fn test_sequence(conn: &mut Pooled, cfg: &ServerConfig) -> Result<String, StepError> {
    service_bind(conn, cfg).await?;
    let t = conn.timeout();
    let who = if cfg.bind_dn.is_empty() {
        "anonymously".to_owned()
    } else {
        format!("as {}", cfg.bind_dn)
    };
    match cfg.user_search.first() {
        Some(s) => {
            search(conn.ldap(), t, &s.base, Scope::Base, "(objectClass=*)", &[]).await?;
            Ok(format!(
                "connected, bound {who}, user search base {} readable",
                s.base
            ))
        }
        None => Ok(format!("connected, bound {who}")),
    }
}
