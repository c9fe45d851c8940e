//! Time source. Every decision that depends on "now" asks a [`Clock`], so tests move time
//! with [`FakeClock::advance`] instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

/// A source of the current instant, rounded to milliseconds so both storage backends
/// (integer milliseconds in SQLite, `timestamptz` in PostgreSQL) compare identical values.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, UTC, millisecond precision.
    fn now(&self) -> OffsetDateTime;
}

/// Rounds an instant down to whole milliseconds.
pub fn round_ms(t: OffsetDateTime) -> OffsetDateTime {
    let ms = unix_ms(t);
    from_unix_ms(ms)
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    let nanos = t.unix_timestamp_nanos();
    i64::try_from(nanos.div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

/// The instant `ms` milliseconds after the Unix epoch (saturating at the epoch on overflow).
pub fn from_unix_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place that reads the system clock; everything else asks a Clock"
    )]
    fn now(&self) -> OffsetDateTime {
        round_ms(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to. Shared by clones.
#[derive(Debug, Clone)]
pub struct FakeClock {
    ms: Arc<AtomicI64>,
}

impl FakeClock {
    /// A fake clock set to `start` (rounded to milliseconds).
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            ms: Arc::new(AtomicI64::new(unix_ms(start))),
        }
    }

    /// Moves the clock forward (or backward, for a negative duration).
    pub fn advance(&self, by: Duration) {
        let delta = i64::try_from(by.whole_milliseconds()).unwrap_or(i64::MAX);
        self.ms.fetch_add(delta, Ordering::SeqCst);
    }

    /// Sets the clock to an absolute instant.
    pub fn set(&self, to: OffsetDateTime) {
        self.ms.store(unix_ms(to), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> OffsetDateTime {
        from_unix_ms(self.ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fake_clock_advances_without_sleeping() {
        let c = FakeClock::new(datetime!(2026-01-01 00:00:00.123456 UTC));
        assert_eq!(c.now(), datetime!(2026-01-01 00:00:00.123 UTC));
        c.advance(Duration::seconds(61));
        assert_eq!(c.now(), datetime!(2026-01-01 00:01:01.123 UTC));
    }

    #[test]
    fn round_trip_through_unix_ms() {
        let t = datetime!(2030-05-06 07:08:09.987 UTC);
        assert_eq!(from_unix_ms(unix_ms(t)), t);
    }
}
