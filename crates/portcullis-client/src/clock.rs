//! Wall-clock time for expiry decisions.
//!
//! Policy: the client compares the server's `exp` claims with this machine's clock; there is
//! no injected clock here because the decisions that need testing ([`crate::policy`]) take
//! `now` as a parameter.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as JWT `exp`/`iat` claims count them.
#[expect(
    clippy::disallowed_methods,
    reason = "the client's one wall-clock read: token expiry is judged against the machine's clock"
)]
pub fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // A clock set before 1970 makes every token look fresh; the server still decides.
        Err(_) => 0,
    }
}
