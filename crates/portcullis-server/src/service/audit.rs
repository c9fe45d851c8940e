//! Authentication audit events: one structured log record per authentication success or
//! failure, whatever the surface (form login, Basic, Bearer, token create and revoke, the
//! `/api/o/` grants, the MDR exchange, locks and overload refusals). docs/security.md "Audit events" lists the
//! events and their fields.
//!
//! Policy: every record carries the event name, the outcome, the user as typed or known,
//! the OAuth client or MDR connection when there is one, the source address and the
//! request id; never a secret (a token appears only as its hash prefix). Values are passed
//! to `tracing` as strings, so the text format writes them quoted and escaped and the JSON
//! format as JSON strings: a username such as `x" outcome="success` cannot forge a field.
//!
//! The request id and source address come from the [`RequestContext`] the request envelope
//! sets for the whole request, so services report them without taking HTTP types.

use std::future::Future;
use std::net::IpAddr;

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// What every audit record of one request shares.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `X-API-Request-Id` of the request.
    pub request_id: String,
    /// Client address (socket peer, or the trusted proxy's `X-Forwarded-For` entry).
    pub source: IpAddr,
}

/// Runs `f` (one request) with `ctx` as its audit context.
pub async fn in_request<F: Future>(ctx: RequestContext, f: F) -> F::Output {
    REQUEST.scope(ctx, f).await
}

/// How an authentication attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Authenticated, or the credential was issued or revoked as asked.
    Success,
    /// Wrong, unknown, expired or revoked credential.
    Failure,
    /// Refused unevaluated: the account (or client) is locked.
    Locked,
    /// Refused unevaluated: the source network has failed too often.
    Throttled,
    /// Refused unevaluated: storage or the password workers could not answer.
    Unavailable,
}

impl Outcome {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Locked => "locked",
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
        }
    }
}

/// One audit record, built with the setters and written by [`Event::emit`].
#[derive(Debug, Clone, Copy)]
#[must_use = "an audit event does nothing until emitted"]
pub struct Event<'a> {
    name: &'static str,
    outcome: Outcome,
    via: Option<&'static str>,
    user: Option<&'a str>,
    user_id: Option<i64>,
    actor: Option<&'a str>,
    client_id: Option<&'a str>,
    connection: Option<&'a str>,
    token: Option<&'a str>,
    reason: Option<&'a str>,
    source: Option<IpAddr>,
    method: Option<&'a str>,
    path: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event `name` (e.g. `login_failure`) with its outcome.
    pub fn new(name: &'static str, outcome: Outcome) -> Self {
        Self {
            name,
            outcome,
            via: None,
            user: None,
            user_id: None,
            actor: None,
            client_id: None,
            connection: None,
            token: None,
            reason: None,
            source: None,
            method: None,
            path: None,
        }
    }

    /// The surface or scheme: `form`, `basic`, `bearer`, `password_grant`, …
    pub fn via(mut self, via: &'static str) -> Self {
        self.via = Some(via);
        self
    }

    /// The username as typed (failures) or as stored (successes).
    pub fn user(mut self, username: &'a str) -> Self {
        self.user = Some(username);
        self
    }

    /// The user's id, when known.
    pub fn user_id(mut self, id: i64) -> Self {
        self.user_id = Some(id);
        self
    }

    /// Who acted on the user's credential, when it is someone else (an administrator
    /// revoking a token).
    pub fn actor(mut self, username: &'a str) -> Self {
        self.actor = Some(username);
        self
    }

    /// The OAuth2 `client_id` or the MDR customer's Client ID.
    pub fn client_id(mut self, client_id: &'a str) -> Self {
        self.client_id = Some(client_id);
        self
    }

    /// The MDR connection id.
    pub fn connection(mut self, connection_id: &'a str) -> Self {
        self.connection = Some(connection_id);
        self
    }

    /// A token reference: a hash prefix or a token id, never the token.
    pub fn token(mut self, reference: &'a str) -> Self {
        self.token = Some(reference);
        self
    }

    /// Why it failed (a short code such as `bad_credentials`, `locked`, `expired`).
    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The request's method and path (a successful Basic call is logged as AWX does: "user X
    /// performed a METHOD to PATH").
    pub fn request(mut self, method: &'a str, path: &'a str) -> Self {
        self.method = Some(method);
        self.path = Some(path);
        self
    }

    /// The source address, when it is not the current request's.
    pub fn source(mut self, source: IpAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// Writes the record (target `audit`): `info` for successes and failures, `warn` for
    /// locks, throttling and overload.
    pub fn emit(self) {
        let ctx = REQUEST.try_with(Clone::clone).ok();
        let source = self.source.or(ctx.as_ref().map(|c| c.source));
        let request_id = ctx.as_ref().map(|c| c.request_id.as_str());
        macro_rules! record {
            ($level:ident) => {
                tracing::$level!(
                    target: "audit",
                    event = self.name,
                    outcome = self.outcome.as_str(),
                    via = self.via,
                    user = self.user,
                    user_id = self.user_id,
                    actor = self.actor,
                    client_id = self.client_id,
                    connection = self.connection,
                    token = self.token,
                    reason = self.reason,
                    source = source.map(tracing::field::display),
                    method = self.method,
                    path = self.path,
                    request_id,
                    "auth event"
                )
            };
        }
        match self.outcome {
            Outcome::Success | Outcome::Failure => record!(info),
            Outcome::Locked | Outcome::Throttled | Outcome::Unavailable => record!(warn),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn captured(json: bool, f: impl FnOnce()) -> String {
        let buf = Buf::default();
        let out = buf.clone();
        let builder = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .with_ansi(false);
        if json {
            tracing::subscriber::with_default(builder.json().finish(), f);
        } else {
            tracing::subscriber::with_default(builder.finish(), f);
        }
        let bytes = buf.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    const HOSTILE: &str = "mallory\" outcome=\"success\" user=\"admin\nFAKE LINE";

    #[test]
    fn text_records_quote_and_escape_every_value() {
        let line = captured(false, || {
            Event::new("login_failure", Outcome::Failure)
                .via("form")
                .user(HOSTILE)
                .source(IpAddr::from([192, 0, 2, 7]))
                .emit();
        });
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.contains("event=\"login_failure\""), "{line}");
        assert!(line.contains("outcome=\"failure\""), "{line}");
        assert!(
            line.contains(r#"user="mallory\" outcome=\"success\" user=\"admin\nFAKE LINE""#),
            "{line}"
        );
        assert!(line.contains("source=192.0.2.7"), "{line}");
        assert_eq!(line.matches("outcome=\"").count(), 1, "{line}");
    }

    #[test]
    fn json_records_carry_the_fields_as_strings() {
        let line = captured(true, || {
            Event::new("token_created", Outcome::Success)
                .user(HOSTILE)
                .user_id(7)
                .client_id("abc")
                .token("pcl_pat_1234")
                .source(IpAddr::from([192, 0, 2, 7]))
                .emit();
        });
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_default();
        let f = &v["fields"];
        assert_eq!(f["event"], "token_created");
        assert_eq!(f["outcome"], "success");
        assert_eq!(f["user"], HOSTILE);
        assert_eq!(f["user_id"], 7);
        assert_eq!(f["client_id"], "abc");
        assert_eq!(f["token"], "pcl_pat_1234");
        assert_eq!(f["source"], "192.0.2.7");
        assert_eq!(v["target"], "audit");
        assert!(f.get("connection").is_none());
    }

    #[tokio::test]
    async fn the_request_context_supplies_the_id_and_source() {
        let ctx = RequestContext {
            request_id: "0123abcd".into(),
            source: IpAddr::from([198, 51, 100, 1]),
        };
        let line = in_request(ctx, async {
            captured(true, || {
                Event::new("basic_failure", Outcome::Failure).emit()
            })
        })
        .await;
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_default();
        assert_eq!(v["fields"]["request_id"], "0123abcd");
        assert_eq!(v["fields"]["source"], "198.51.100.1");
    }
}
