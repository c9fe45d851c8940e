//! Instants as the two schemas store them, behind one type.
//!
//! SQLite stores an instant as INTEGER Unix milliseconds; PostgreSQL as `timestamptz`, written
//! rounded to the millisecond so both backends hold (and compare) the same values. [`DbTime`]
//! binds and decodes in each engine's own format, so store code never converts by hand.

use portcullis_core::clock::{from_unix_ms, round_ms, unix_ms};
use time::OffsetDateTime;

/// An instant bound to or read from a database column, at millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DbTime(pub OffsetDateTime);

impl From<OffsetDateTime> for DbTime {
    fn from(t: OffsetDateTime) -> Self {
        Self(t)
    }
}

impl From<DbTime> for OffsetDateTime {
    fn from(t: DbTime) -> Self {
        t.0
    }
}

impl DbTime {
    /// The instant at the stored precision (whole milliseconds).
    pub fn stored(self) -> OffsetDateTime {
        round_ms(self.0)
    }

    /// Unix milliseconds, SQLite's stored form.
    pub fn unix_ms(self) -> i64 {
        unix_ms(self.0)
    }

    /// The instant `ms` Unix milliseconds name.
    pub fn from_unix_ms(ms: i64) -> Self {
        Self(from_unix_ms(ms))
    }
}

/// SQLite: INTEGER Unix milliseconds, exactly as `portcullis_core::clock::unix_ms` writes.
#[cfg(feature = "sqlite")]
mod sqlite {
    use super::DbTime;
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
    use sqlx::{Decode, Encode, Sqlite, Type};

    impl Type<Sqlite> for DbTime {
        fn type_info() -> SqliteTypeInfo {
            <i64 as Type<Sqlite>>::type_info()
        }

        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <i64 as Type<Sqlite>>::compatible(ty)
        }
    }

    impl Encode<'_, Sqlite> for DbTime {
        fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
            <i64 as Encode<'_, Sqlite>>::encode(self.unix_ms(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for DbTime {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            <i64 as Decode<'r, Sqlite>>::decode(value).map(DbTime::from_unix_ms)
        }
    }
}

/// PostgreSQL: `timestamptz`, rounded to the millisecond on the way in.
#[cfg(feature = "postgres")]
mod postgres {
    use super::DbTime;
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
    use sqlx::{Decode, Encode, Postgres, Type};
    use time::OffsetDateTime;

    impl Type<Postgres> for DbTime {
        fn type_info() -> PgTypeInfo {
            <OffsetDateTime as Type<Postgres>>::type_info()
        }

        fn compatible(ty: &PgTypeInfo) -> bool {
            <OffsetDateTime as Type<Postgres>>::compatible(ty)
        }
    }

    impl Encode<'_, Postgres> for DbTime {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <OffsetDateTime as Encode<'_, Postgres>>::encode(self.stored(), buf)
        }
    }

    impl<'r> Decode<'r, Postgres> for DbTime {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            <OffsetDateTime as Decode<'r, Postgres>>::decode(value).map(DbTime)
        }
    }
}
