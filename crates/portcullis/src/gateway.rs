//! `portcullis gateway …`: check the route table and explain a decision
//! (`docs/gateway.md`, "Operations").

use anyhow::{Result, bail};
use clap::Subcommand;
use portcullis_core::clock::SystemClock;
use portcullis_core::gateway::route::{Lookup, PathMatch, Route};
use portcullis_core::rng::OsRng;
use portcullis_server::gateway::decide::{self, Mode, Refusal};
use portcullis_server::gateway::forward_auth::canonical;
use portcullis_server::{AppState, Config};
use std::process::ExitCode;
use std::sync::Arc;

/// Gateway commands.
#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Validate the route table (overlapping or shadowed routes, bad paths, upstreams) and list
    /// it. Exits 1, naming every problem, when it does not validate.
    Check,
    /// Print the route, policy and decision for a request, e.g. `explain GET
    /// https://api.example.com/read/x --token pcl_pat_…`.
    Explain {
        /// The request method.
        method: String,
        /// The absolute URL requested.
        url: String,
        /// A Bearer credential to decide for (else the decision for an anonymous caller).
        #[arg(long, conflicts_with = "token_file")]
        token: Option<String>,
        /// A file holding the Bearer credential, which keeps it out of shell history and `ps`.
        #[arg(long)]
        token_file: Option<std::path::PathBuf>,
    },
}

fn describe(r: &Route) -> String {
    let path = match &r.path {
        PathMatch::Exact(p) => format!("path {p}"),
        PathMatch::Prefix(p) => format!("prefix {p}/"),
    };
    let methods = r
        .methods
        .as_ref()
        .map_or_else(|| "any method".to_owned(), |m| m.join(","));
    let who = if r.public {
        "public".to_owned()
    } else {
        let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
        let mut s = format!("auth {}", kinds.join(","));
        if !r.scopes.is_empty() {
            s.push_str(&format!("; scopes {}", r.scopes.join(",")));
        }
        if !r.roles.is_empty() {
            s.push_str(&format!("; one of roles {}", r.roles.join(",")));
        }
        if !r.users.is_empty() {
            s.push_str(&format!("; one of users {}", r.users.join(",")));
        }
        s
    };
    let upstream = r.upstream.as_ref().map_or_else(
        || "no upstream (forward-auth only)".to_owned(),
        |u| format!("upstream {}{}", u.origin, u.base_path),
    );
    format!(
        "{id}: host {host}, {path}{ci}, {methods}; {who}; {upstream}{assertion}",
        id = r.id,
        host = r.host.as_deref().unwrap_or("*"),
        ci = if r.case_insensitive {
            " (any case)"
        } else {
            ""
        },
        assertion = if r.assertion_ttl.is_some() {
            "; signed assertion"
        } else {
            ""
        },
    )
}

/// Runs a gateway command. The configuration was loaded, and so validated, by the caller.
pub async fn run(config: Config, cmd: GatewayCommand) -> Result<ExitCode> {
    let table = config.gateway.validate(config.listen)?;
    match cmd {
        GatewayCommand::Check => {
            for r in table.routes() {
                println!("{}", describe(r));
            }
            println!(
                "{} route(s); no overlapping or shadowed routes",
                table.routes().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        GatewayCommand::Explain {
            method,
            url,
            token,
            token_file,
        } => {
            let token = match token_file {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                        .trim()
                        .to_owned(),
                ),
                None => token,
            };
            let Some((_, rest)) = url.split_once("://") else {
                bail!("give an absolute URL such as https://api.example.com/path");
            };
            let split = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, target) = rest.split_at(split);
            let target = if target.starts_with('/') {
                target.to_owned()
            } else {
                format!("/{target}")
            };
            let (host, target) = match canonical(&target, Some(authority)) {
                Ok(x) => x,
                Err(r) => {
                    println!("decision: {}", reason(&r));
                    return Ok(ExitCode::SUCCESS);
                }
            };
            println!("canonical: {method} {host}{}", target.path_and_query());
            match table.lookup(&host, &target.path, &method) {
                Lookup::Found(r) => println!("route: {}", describe(r)),
                Lookup::MethodNotAllowed(allow) => {
                    println!("decision: 405 (the route takes {})", allow.join(", "));
                    return Ok(ExitCode::SUCCESS);
                }
                Lookup::NotFound => {
                    println!("decision: 404 (no route)");
                    return Ok(ExitCode::SUCCESS);
                }
            }
            let store = crate::backend::open(config.database_url.expose()).await?;
            let state =
                AppState::new(config, store, Arc::new(SystemClock), Arc::new(OsRng)).await?;
            let mut req = axum::http::Request::new(());
            *req.method_mut() = axum::http::Method::from_bytes(method.as_bytes())?;
            *req.uri_mut() = target.path_and_query().parse()?;
            if let Some(t) = token {
                req.headers_mut()
                    .insert("authorization", format!("Bearer {t}").parse()?);
            }
            let (parts, ()) = req.into_parts();
            match decide::decide(&state, Mode::ForwardAuth, &parts, &host, &target).await {
                Ok(a) => {
                    println!("decision: allow");
                    for (n, v) in &a.identity {
                        if n != "x-portcullis-assertion" {
                            println!("  {n}: {}", v.to_str().unwrap_or("?"));
                        }
                    }
                }
                Err((_, r)) => println!("decision: {}", reason(&r)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn reason(r: &Refusal) -> String {
    match r {
        Refusal::BadRequest(why) => format!("400 {why}"),
        Refusal::NotFound => "404 no route".into(),
        Refusal::MethodNotAllowed(a) => format!("405 (takes {})", a.join(", ")),
        Refusal::Unauthenticated {
            presented: false, ..
        } => "401 no credential of a kind this route accepts".into(),
        Refusal::Unauthenticated { .. } => "401 the credential was refused".into(),
        Refusal::Forbidden(why) => format!("403 the policy refuses ({why})"),
        Refusal::Csrf(why) => format!("403 CSRF: {why}"),
        Refusal::Throttled(s) => format!("429 throttled for {s} s"),
        Refusal::Unavailable(why) => format!("503 {why}"),
    }
}
