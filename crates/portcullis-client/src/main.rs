//! `portcullis-client`: command-line client of Portcullis's MDR-style API connections (and,
//! with a personal access token, of its AWX-compatible API).
//!
//! Exit status: 0 success; 1 any other error; 2 usage; 3 the server refused the refresh
//! token (401: expired, already used, revoked, foreign: an administrator must issue a new
//! one); 4 the refresh token was spent by a concurrent request and no successor is stored;
//! 5 a `call`/`get` was answered with an error status (its message goes to stderr).
//!
//! Nothing here prints a token except `access-token`, whose whole purpose is to.

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use portcullis_client::clock::now_unix;
use portcullis_client::policy::exchange_needed;
use portcullis_client::{
    ApiResponse, AwxClient, ClientError, ClientOptions, Margins, MdrClient, StoredTokens, Token,
    TokenStore,
};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use time::{OffsetDateTime, UtcOffset};

/// Exit status when the server refuses the refresh token (C7).
const EXIT_REFRESH_REJECTED: u8 = 3;
/// Exit status when a concurrent request spent the token and nothing newer is stored.
const EXIT_CONFLICT: u8 = 4;
/// Exit status when a resource call is answered with an error status.
const EXIT_HTTP_ERROR: u8 = 5;
/// Largest bootstrap token / PAT / JSON body read from stdin or a file.
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "portcullis-client",
    version,
    about = "Client for Portcullis MDR-style API connections: token store, rotation, calls"
)]
struct Cli {
    /// Server base URL, e.g. https://portcullis.example:8443 (saved in the store by init).
    #[arg(long, global = true, env = "PORTCULLIS_CLIENT_URL", value_name = "URL")]
    url: Option<String>,
    /// Token store file [default: $XDG_CONFIG_HOME/portcullis/mdr-token.json].
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_CLIENT_STORE",
        value_name = "FILE"
    )]
    store: Option<PathBuf>,
    /// PEM file of the CA(s) to trust instead of the system roots.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_CLIENT_CA_FILE",
        value_name = "FILE"
    )]
    ca_file: Option<PathBuf>,
    /// Exchange when the access token has less than this left (seconds, or 90s/5m/2h/1d).
    #[arg(long, global = true, value_name = "DURATION", default_value = "300", value_parser = parse_duration)]
    refresh_margin: i64,
    /// Exchange when the refresh token has less than this left.
    #[arg(long, global = true, value_name = "DURATION", default_value = "86400", value_parser = parse_duration)]
    refresh_token_margin: i64,
    /// File holding an AWX personal access token, for `get` and `call --awx`
    /// [else env PORTCULLIS_AWX_TOKEN].
    #[arg(long, global = true, value_name = "FILE")]
    awx_token_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exchange a bootstrap token from the console and create the token store. The token is
    /// read from standard input or --token-file, never from the command line.
    Init {
        /// The customer's Client ID, from the console's "Token info".
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// Read the bootstrap token from this file instead of standard input.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
    },
    /// Inspect or renew the stored tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print a valid access token (exchanging first if needed), for piping into other tools.
    AccessToken,
    /// POST an MDR method (`assets/list`) with a JSON object body (default {}, `-` reads
    /// stdin) and print the answer body. With --awx, POST to an AWX path with the PAT.
    Call {
        /// Treat METHOD as an AWX API path and authenticate with the personal access token.
        #[arg(long)]
        awx: bool,
        /// `<resource>/<action>`, or with --awx a path such as /api/v2/tokens/.
        method: String,
        /// JSON body.
        json: Option<String>,
    },
    /// GET an AWX API path (e.g. /api/v2/me/) with the personal access token; print the body.
    Get {
        /// The path, starting with '/'.
        path: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Show the stored tokens' expiry (local time) and jti prefixes; no network.
    Status,
    /// Exchange the refresh token now and store the new pair.
    Refresh,
}

/// `300`, `90s`, `5m`, `2h`, `1d` → seconds.
fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (s.get(..i).unwrap_or(""), c),
        _ => (s, 's'),
    };
    let n: i64 = num
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (use e.g. 300, 90s, 5m, 2h, 1d)"))?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("unknown unit in {s:?} (s, m, h or d)")),
    };
    if n < 0 {
        return Err("a margin cannot be negative".into());
    }
    n.checked_mul(mult)
        .ok_or_else(|| "duration too large".into())
}

fn main() -> ExitCode {
    // Read the local UTC offset while the process is still single-threaded: `time` refuses
    // to read it later (localtime is not thread-safe).
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, offset)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<ClientError>() {
                Some(ClientError::RefreshRejected { .. }) => {
                    eprintln!(
                        "hint: the token store was left unchanged; an administrator must press \"Refresh\" (or Revoke, then Refresh) for this connection in the console, then run `portcullis-client init` with the new token"
                    );
                    ExitCode::from(EXIT_REFRESH_REJECTED)
                }
                Some(ClientError::Conflict { .. }) => ExitCode::from(EXIT_CONFLICT),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn store_path(cli: &Cli) -> Result<PathBuf> {
    match &cli.store {
        Some(p) => Ok(p.clone()),
        None => Ok(TokenStore::default_path()?),
    }
}

fn mdr_client(cli: &Cli) -> Result<MdrClient> {
    let mut opts = ClientOptions::new(store_path(cli)?);
    opts.base_url = cli.url.clone();
    opts.ca_file = cli.ca_file.clone();
    opts.margins = Margins {
        access: cli.refresh_margin,
        refresh: cli.refresh_token_margin,
    };
    Ok(MdrClient::new(opts)?)
}

async fn run(cli: Cli, offset: UtcOffset) -> Result<ExitCode> {
    match &cli.command {
        Command::Init {
            client_id,
            token_file,
        } => {
            let client = mdr_client(&cli)?;
            let raw = match token_file {
                Some(p) if p.as_os_str() != "-" => read_limited_file(p)?,
                _ => read_stdin_token()?,
            };
            let bootstrap = Token::new(raw).context("the bootstrap token")?;
            let tokens = client.init(client_id, bootstrap).await?;
            println!(
                "initialised {} for client {}",
                client.store().path().display(),
                tokens.client_id
            );
            print_status(&client, &tokens, offset);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Status) => {
            let client = mdr_client(&cli)?;
            let tokens = client.load()?;
            print_status(&client, &tokens, offset);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Refresh) => {
            let client = mdr_client(&cli)?;
            let tokens = client.refresh().await?;
            println!("refreshed {}", client.store().path().display());
            print_status(&client, &tokens, offset);
            Ok(ExitCode::SUCCESS)
        }
        Command::AccessToken => {
            let client = mdr_client(&cli)?;
            let tokens = client.ensure_fresh().await?;
            let Some(at) = tokens.access_token else {
                bail!("the store holds no access token");
            };
            // The one place a token is printed (C9).
            println!("{}", at.expose());
            Ok(ExitCode::SUCCESS)
        }
        Command::Call { awx, method, json } => {
            let body = match json.as_deref() {
                None => serde_json::json!({}),
                Some("-") => parse_json(&read_stdin_limited()?)?,
                Some(s) => parse_json(s)?,
            };
            let resp = if *awx {
                awx_client(&cli)?.post(method, &body).await?
            } else {
                mdr_client(&cli)?.call(method, &body).await?
            };
            print_response(&resp)
        }
        Command::Get { path } => {
            let resp = awx_client(&cli)?.get(path).await?;
            print_response(&resp)
        }
    }
}

fn awx_client(cli: &Cli) -> Result<AwxClient> {
    let Some(url) = cli.url.as_deref() else {
        bail!("the AWX commands need --url");
    };
    let raw = match &cli.awx_token_file {
        Some(p) => read_limited_file(p)?,
        None => match std::env::var("PORTCULLIS_AWX_TOKEN") {
            Ok(v) => v,
            Err(_) => bail!(
                "no personal access token: pass --awx-token-file FILE or set PORTCULLIS_AWX_TOKEN"
            ),
        },
    };
    let token = Token::new(raw).context("the personal access token")?;
    Ok(AwxClient::new(url, token, cli.ca_file.as_deref())?)
}

fn parse_json(s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).context("the request body is not valid JSON")
}

fn print_response(resp: &ApiResponse) -> Result<ExitCode> {
    if resp.is_success() {
        let mut out = std::io::stdout().lock();
        out.write_all(&resp.body)?;
        if !resp.body.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: HTTP {}: {}", resp.status, resp.describe_error());
        Ok(ExitCode::from(EXIT_HTTP_ERROR))
    }
}

fn read_limited_file(path: &std::path::Path) -> Result<String> {
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut s = String::new();
    f.take(MAX_INPUT_BYTES)
        .read_to_string(&mut s)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(s)
}

fn read_stdin_limited() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_INPUT_BYTES)
        .read_to_string(&mut s)
        .context("reading standard input")?;
    Ok(s)
}

fn read_stdin_token() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Paste the bootstrap token (JWT token from the console) and press Enter: ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        stdin
            .read_line(&mut line)
            .context("reading standard input")?;
        Ok(line)
    } else {
        read_stdin_limited()
    }
}

fn local_time(exp: i64, offset: UtcOffset) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
    );
    OffsetDateTime::from_unix_timestamp(exp)
        .ok()
        .and_then(|t| t.to_offset(offset).format(&fmt).ok())
        .unwrap_or_else(|| format!("{exp} (epoch seconds)"))
}

fn human(secs: i64) -> String {
    let a = secs.unsigned_abs();
    let (d, h, m, s) = (a / 86_400, a % 86_400 / 3600, a % 3600 / 60, a % 60);
    let span = if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    };
    if secs >= 0 {
        format!("in {span}")
    } else {
        format!("expired {span} ago")
    }
}

fn describe(token: Option<&Token>, now: i64, offset: UtcOffset) -> String {
    match token.map(Token::claims) {
        None => "absent".into(),
        Some(Err(e)) => format!("unreadable ({e})"),
        Some(Ok(c)) => format!(
            "jti {}…  expires {} ({})",
            c.jti_prefix(),
            local_time(c.exp, offset),
            human(c.remaining(now))
        ),
    }
}

fn print_status(client: &MdrClient, tokens: &StoredTokens, offset: UtcOffset) {
    let now = now_unix();
    println!("store          {}", client.store().path().display());
    println!(
        "url            {}",
        tokens
            .base_url
            .as_deref()
            .unwrap_or("(not saved; pass --url)")
    );
    println!("client_id      {}", tokens.client_id);
    println!(
        "access token   {}",
        describe(tokens.access_token.as_ref(), now, offset)
    );
    println!(
        "refresh token  {}",
        describe(Some(&tokens.refresh_token), now, offset)
    );
    match exchange_needed(tokens, now, &client.margins()) {
        None => println!("next call      uses the stored access token"),
        Some(reason) => println!("next call      exchanges first: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("300"), Ok(300));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn human_spans() {
        assert_eq!(human(59), "in 59s");
        assert_eq!(human(3599), "in 59m 59s");
        assert_eq!(human(7 * 86_400), "in 7d 0h");
        assert_eq!(human(-120), "expired 2m 0s ago");
    }

    #[test]
    fn the_command_line_has_no_token_argument() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let help = Cli::command().render_long_help().to_string();
        assert!(!help.contains("--token "), "{help}");
        assert!(!help.contains("--refresh-token "), "{help}");
    }
}
