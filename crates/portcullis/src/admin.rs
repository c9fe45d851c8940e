//! `portcullis admin …`: operator actions that call the same services as the API.

use anyhow::{Context, Result};
use clap::Subcommand;
use portcullis_core::clock::{Clock, SystemClock};
use portcullis_core::password::{self, MIN_NEW_PASSWORD_CHARS};
use portcullis_core::policy::username_valid;
use portcullis_core::rng::OsRng;
use portcullis_core::settings::AuthSettings;
use portcullis_server::Config;
use portcullis_server::service::tokens::{BulkTarget, revoke_bulk};
use portcullis_store::{NewUser, StoreError};
use secrecy::{ExposeSecret, SecretString};
use std::io::Read;
use std::process::ExitCode;

/// Administrative subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a local user. The password comes from stdin (--password-stdin) or the
    /// PORTCULLIS_PASSWORD environment variable, never from the command line.
    CreateUser {
        /// Login name.
        username: String,
        /// Make the user a superuser.
        #[arg(long)]
        superuser: bool,
        /// E-mail address.
        #[arg(long, default_value = "")]
        email: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Revoke OAuth2 tokens. Without --all: access tokens only (of --user, or of every
    /// user); with --all also refresh tokens. System-wide revocation is one mark, so it is
    /// instant however many tokens exist. Prints counts, never token values.
    RevokeTokens {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
        /// Also revoke refresh tokens (their applications must log in again).
        #[arg(long)]
        all: bool,
    },
    /// Rotate the MDR signing key (same as `portcullis mdr keys rotate`).
    RotateKeys {
        /// Promote the new key immediately instead of after mdr.signing.publish_ahead.
        #[arg(long)]
        now: bool,
    },
}

fn read_password(from_stdin: bool) -> Result<SecretString> {
    if from_stdin {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .context("reading the password from stdin")?;
        let line = buf.lines().next().unwrap_or("").to_owned();
        return Ok(SecretString::from(line));
    }
    match std::env::var("PORTCULLIS_PASSWORD") {
        Ok(p) => Ok(SecretString::from(p)),
        Err(_) => anyhow::bail!(
            "give the password on stdin with --password-stdin or in PORTCULLIS_PASSWORD"
        ),
    }
}

/// Runs an admin command.
pub async fn run(config: Config, cmd: AdminCommand) -> Result<ExitCode> {
    match cmd {
        AdminCommand::CreateUser {
            username,
            superuser,
            email,
            password_stdin,
        } => {
            if !username_valid(&username) {
                eprintln!("error: {}", portcullis_core::policy::USERNAME_ERROR);
                return Ok(ExitCode::FAILURE);
            }
            let pw = read_password(password_stdin)?;
            if pw.expose_secret().chars().count() < MIN_NEW_PASSWORD_CHARS
                || !password::length_ok(pw.expose_secret())
            {
                eprintln!(
                    "error: the password must be {MIN_NEW_PASSWORD_CHARS} to 1024 bytes long"
                );
                return Ok(ExitCode::FAILURE);
            }
            let store = crate::backend::open(config.database_url.expose()).await?;
            let params = config.password.params();
            let hash = tokio::task::spawn_blocking(move || {
                password::hash_password(&params, pw.expose_secret(), &OsRng)
            })
            .await
            .context("hashing task")?
            .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            let created = store
                .create_user(
                    NewUser {
                        username: username.clone(),
                        email,
                        first_name: String::new(),
                        last_name: String::new(),
                        password_hash: Some(hash),
                        is_superuser: superuser,
                        is_system_auditor: false,
                        external_account: None,
                        ldap_dn: String::new(),
                        created_at: SystemClock.now(),
                    },
                    None,
                )
                .await;
            match created {
                Ok(u) => {
                    println!("created user {} (id {})", u.username, u.id);
                    Ok(ExitCode::SUCCESS)
                }
                Err(StoreError::Conflict(_)) => {
                    eprintln!("error: user {username:?} already exists");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(anyhow::anyhow!("creating the user: {e}")),
            }
        }
        AdminCommand::RotateKeys { now } => {
            crate::mdr::run(
                config,
                crate::mdr::MdrCommand::Keys(crate::mdr::KeysCommand::Rotate { now }),
            )
            .await
        }
        AdminCommand::RevokeTokens { user, all } => {
            let store = crate::backend::open(config.database_url.expose()).await?;
            let now = SystemClock.now();
            let target = match user {
                Some(name) => {
                    let Some(u) = store.user_by_username(&name).await? else {
                        eprintln!("error: no user {name:?}");
                        return Ok(ExitCode::FAILURE);
                    };
                    BulkTarget::User {
                        id: u.id,
                        named: name.into(),
                    }
                }
                None => BulkTarget::All,
            };
            // The same service and activity entry as the API (actor: none, the operator on
            // the host), honouring the stored activity-stream setting.
            let activity_stream =
                AuthSettings::from_stored(&store.load_settings().await?).activity_stream_enabled;
            let count = revoke_bulk(&*store, target, all, None, activity_stream, now).await?;
            let what = if all {
                "access and refresh tokens"
            } else {
                "access tokens"
            };
            println!("revoked {count} {what}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
