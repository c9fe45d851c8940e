//! Session timing rules: a sliding idle timeout (`SESSION_COOKIE_AGE`) and an absolute
//! lifetime from login. Persisting a renewed idle expiry is coalesced: the new expiry is
//! written at most every `min(60 s, idle / 10)`, so a session may end that much early across
//! a restart, never late.

use time::{Duration, OffsetDateTime};

/// The timestamps that decide whether a session is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// When the session was created (login).
    pub created_at: OffsetDateTime,
    /// Idle expiry: the session dies at this instant unless renewed.
    pub idle_expires_at: OffsetDateTime,
    /// Absolute expiry, never extended.
    pub absolute_expires_at: OffsetDateTime,
}

impl SessionTimes {
    /// Times for a session created at `now`.
    pub fn new(now: OffsetDateTime, idle: Duration, absolute: Duration) -> Self {
        Self {
            created_at: now,
            idle_expires_at: now + idle,
            absolute_expires_at: now + absolute,
        }
    }

    /// True while both deadlines lie in the future.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.idle_expires_at && now < self.absolute_expires_at
    }
}

/// How long a renewed expiry may wait in memory before it must be written.
pub fn renewal_interval(idle: Duration) -> Duration {
    let tenth = idle / 10;
    if tenth < Duration::seconds(60) {
        tenth
    } else {
        Duration::seconds(60)
    }
}

/// True when an in-memory renewal to `new_expiry` must be persisted: the stored expiry
/// `stored` lags behind by at least the renewal interval, or the new expiry is earlier (a
/// lowered idle timeout must reach the database, or other nodes would end the session late).
pub fn renewal_due(stored: OffsetDateTime, new_expiry: OffsetDateTime, idle: Duration) -> bool {
    new_expiry < stored || new_expiry - stored >= renewal_interval(idle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn idle_and_absolute_deadlines() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let s = SessionTimes::new(t0, Duration::seconds(60), Duration::seconds(300));
        assert!(s.is_live(t0 + Duration::seconds(59)));
        assert!(!s.is_live(t0 + Duration::seconds(60)));
        let renewed = SessionTimes {
            idle_expires_at: t0 + Duration::seconds(400),
            ..s
        };
        assert!(!renewed.is_live(t0 + Duration::seconds(300)));
    }

    #[test]
    fn renewal_interval_is_min_of_60s_and_a_tenth() {
        assert_eq!(
            renewal_interval(Duration::seconds(1800)),
            Duration::seconds(60)
        );
        assert_eq!(
            renewal_interval(Duration::seconds(60)),
            Duration::seconds(6)
        );
        let t0 = datetime!(2026-01-01 00:00 UTC);
        assert!(!renewal_due(
            t0,
            t0 + Duration::seconds(5),
            Duration::seconds(60)
        ));
        assert!(renewal_due(
            t0,
            t0 + Duration::seconds(6),
            Duration::seconds(60)
        ));
    }
}
