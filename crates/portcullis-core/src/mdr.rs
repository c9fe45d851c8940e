//! Rules of MDR-style API connections (`docs/mdr-api.md`, "Objects and identifiers"): identifiers,
//! roles, statuses.

use crate::base62;
use crate::rng::{Rng, bytes};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};

/// The tenant-scope entry that stands for objects without a tenant.
pub const ROOT_WITHOUT_TENANTS: &str = "Root without tenants";

/// A new Client ID: 32 lowercase hex characters (128 random bits).
pub fn new_client_id(rng: &dyn Rng) -> String {
    let b: [u8; 16] = bytes(rng);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A new 20-character base62 id (connections, families, tenants, incidents, …).
pub fn new_id20(rng: &dyn Rng) -> String {
    // 14 random bytes = 112 bits always fit in 20 base62 digits (62^20 ≈ 7·10^35 > 2^112
    // ≈ 5·10^33; 15 bytes would not: 2^120 ≈ 1.3·10^36).
    let b: [u8; 14] = bytes(rng);
    base62::encode::<14, 20>(&b)
}

/// A new 11-character base62 id (comments).
pub fn new_id11(rng: &dyn Rng) -> String {
    // 8 bytes = 64 bits fit in 11 base62 digits (62^11 ≈ 5.2·10^19 > 2^64).
    let b: [u8; 8] = bytes(rng);
    base62::encode::<8, 11>(&b)
}

/// A new asset id: `0x` + 32 uppercase hex characters.
pub fn new_asset_id(rng: &dyn Rng) -> String {
    let b: [u8; 16] = bytes(rng);
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!("0x{hex}")
}

/// A new `jti`: 22 base64url characters (128 random bits).
pub fn new_jti(rng: &dyn Rng) -> String {
    let b: [u8; 16] = bytes(rng);
    URL_SAFE_NO_PAD.encode(b)
}

/// The `{client_id}` path segment syntax: `[A-Za-z0-9]{8,64}`.
pub fn is_client_id_syntax(s: &str) -> bool {
    (8..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A connection name: 1–64 printable characters (no control characters), not blank.
pub fn is_valid_connection_name(s: &str) -> bool {
    let n = s.chars().count();
    (1..=64).contains(&n) && !s.chars().any(char::is_control) && !s.trim().is_empty()
}

/// What an API connection's access tokens may do (`docs/mdr-api.md`, "Roles and tenant scope").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// "MDR Administrator".
    MdrAdministrator,
    /// "Senior Security Officer".
    SeniorSecurityOfficer,
    /// "Security Officer".
    SecurityOfficer,
}

impl Role {
    /// Wire value (the Web Console name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MdrAdministrator => "MDR Administrator",
            Self::SeniorSecurityOfficer => "Senior Security Officer",
            Self::SecurityOfficer => "Security Officer",
        }
    }

    /// Parses a wire value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "MDR Administrator" => Self::MdrAdministrator,
            "Senior Security Officer" => Self::SeniorSecurityOfficer,
            "Security Officer" => Self::SecurityOfficer,
            _ => return None,
        })
    }

    /// May decide on responses (`response/update`, `responses/update`).
    pub fn may_decide_responses(self) -> bool {
        !matches!(self, Self::SecurityOfficer)
    }
}

/// A connection's status as the console shows it (`docs/mdr-api.md`, "Connection statuses").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// No exchanged token in a live family.
    PendingActivation,
    /// Used within `mdr.idle_after`.
    Active,
    /// Activated but unused for `mdr.idle_after`.
    Idle,
}

impl ConnectionStatus {
    /// Exact wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingActivation => "Pending activation",
            Self::Active => "Active",
            Self::Idle => "Idle",
        }
    }

    /// Derives the status from stored state: derived on read, so no job flips it.
    pub fn derive(
        live_family: bool,
        activated: bool,
        last_used_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
        idle_after: Duration,
    ) -> Self {
        if !live_family || !activated {
            return Self::PendingActivation;
        }
        match last_used_at {
            Some(t) if now - t < idle_after => Self::Active,
            _ => Self::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use time::macros::datetime;

    #[test]
    fn identifiers_have_the_documented_shapes() {
        let rng = SeededRng::new(7);
        let c = new_client_id(&rng);
        assert_eq!(c.len(), 32);
        assert!(
            c.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(is_client_id_syntax(&c));
        let id = new_id20(&rng);
        assert_eq!(id.len(), 20);
        assert!(base62::is_base62(&id));
        assert_eq!(new_id11(&rng).len(), 11);
        let a = new_asset_id(&rng);
        assert_eq!(a.len(), 34);
        assert!(a.starts_with("0x"));
        assert!(
            a[2..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
        let j = new_jti(&rng);
        assert_eq!(j.len(), 22);
        assert!(
            j.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn client_id_syntax_is_bounded_alphanumerics() {
        assert!(is_client_id_syntax("abcdefgh"));
        assert!(!is_client_id_syntax("abcdefg"));
        assert!(!is_client_id_syntax(&"a".repeat(65)));
        assert!(!is_client_id_syntax("abcd-efgh"));
        assert!(!is_client_id_syntax("abcdéfgh"));
    }

    #[test]
    fn names_are_printable_and_bounded() {
        assert!(is_valid_connection_name("SIEM export"));
        assert!(!is_valid_connection_name(""));
        assert!(!is_valid_connection_name("   "));
        assert!(!is_valid_connection_name("a\nb"));
        assert!(is_valid_connection_name(&"я".repeat(64)));
        assert!(!is_valid_connection_name(&"я".repeat(65)));
    }

    #[test]
    fn roles_round_trip_and_gate_responses() {
        for r in [
            Role::MdrAdministrator,
            Role::SeniorSecurityOfficer,
            Role::SecurityOfficer,
        ] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
        assert!(!Role::SecurityOfficer.may_decide_responses());
        assert!(Role::SeniorSecurityOfficer.may_decide_responses());
    }

    #[test]
    fn status_is_derived_from_family_activation_and_use() {
        let now = datetime!(2026-01-10 00:00 UTC);
        let idle = Duration::days(7);
        use ConnectionStatus::*;
        assert_eq!(
            ConnectionStatus::derive(false, true, Some(now), now, idle),
            PendingActivation
        );
        assert_eq!(
            ConnectionStatus::derive(true, false, Some(now), now, idle),
            PendingActivation
        );
        assert_eq!(
            ConnectionStatus::derive(true, true, Some(now), now, idle),
            Active
        );
        let old = now - Duration::days(7);
        assert_eq!(
            ConnectionStatus::derive(true, true, Some(old), now, idle),
            Idle
        );
        assert_eq!(ConnectionStatus::derive(true, true, None, now, idle), Idle);
        assert_eq!(Idle.as_str(), "Idle");
        assert_eq!(PendingActivation.as_str(), "Pending activation");
    }
}
