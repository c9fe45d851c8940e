//! The development CA behind `portcullis tls dev-cert` (`docs/tls.md`, "Development
//! certificate"): a local CA and a server certificate it signs, both P-256, made with rcgen.
//!
//! Policy: what strict clients check is set explicitly rather than left to defaults — the CA
//! carries `CA:true` (critical), key usage `keyCertSign`/`cRLSign` and a subject key id; the
//! server certificate carries `CA:false`, `serverAuth`, the names as SANs, and an authority
//! key id (Python 3.13 and later refuse a chain without it). The server certificate lasts
//! [`LEAF_DAYS`] days, the longest that browsers accept; every certificate gets a random
//! serial, so a renewed certificate is told apart from the one it replaces.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use time::OffsetDateTime;

/// Validity of the server certificate.
pub const LEAF_DAYS: i64 = 397;
/// Validity of the CA.
pub const CA_DAYS: i64 = 3650;
/// The names every development certificate covers.
pub const DEFAULT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A development CA held in memory, able to sign server certificates.
pub struct DevCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa").finish_non_exhaustive()
    }
}

/// A server certificate and its key, as PEM.
#[derive(Clone)]
pub struct IssuedPair {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8). Written with mode 0600, never logged.
    pub key_pem: String,
}

impl std::fmt::Debug for IssuedPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedPair")
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A random positive 16-byte serial (RFC 5280 §4.1.2.2: at most 20 octets, positive).
fn serial() -> Result<SerialNumber, rcgen::Error> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| rcgen::Error::RingUnspecified)?;
    if let Some(first) = bytes.first_mut() {
        // Clear the sign bit and keep the first octet non-zero (DER: minimal encoding).
        *first = (*first & 0x7f) | 0x01;
    }
    Ok(SerialNumber::from_slice(&bytes))
}

impl DevCa {
    /// A new CA valid from an hour before `now` (clock skew) for [`CA_DAYS`] days.
    pub fn new(now: OffsetDateTime) -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "Portcullis development CA");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Portcullis (development only)");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(CA_DAYS);
        params.serial_number = Some(serial()?);
        let cert = params.self_signed(&key)?;
        Ok(Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, to give clients as their trust anchor.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid over the given
    /// span; a span in the past makes an expired certificate (for tests of the reports).
    pub fn issue(
        &self,
        names: &[String],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedPair, rcgen::Error> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        // `new` makes an IP SAN of each name that parses as an address, a DNS SAN otherwise.
        let mut params = CertificateParams::new(names.to_vec())?;
        let cn = names.first().map_or("localhost", String::as_str);
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(serial()?);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The usual server certificate: [`DEFAULT_NAMES`] plus `extra` names, valid from an
    /// hour before `now` for [`LEAF_DAYS`] days.
    pub fn issue_default(
        &self,
        extra: &[String],
        now: OffsetDateTime,
    ) -> Result<IssuedPair, rcgen::Error> {
        let mut names: Vec<String> = DEFAULT_NAMES.iter().map(|n| (*n).to_owned()).collect();
        for name in extra {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        self.issue(
            &names,
            now - time::Duration::hours(1),
            now + time::Duration::days(LEAF_DAYS),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::pair;
    use std::path::Path;
    use x509_parser::extensions::{GeneralName, ParsedExtension};

    fn parse(pem: &str) -> Vec<u8> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        block.contents
    }

    #[test]
    fn the_server_certificate_is_what_strict_clients_require() {
        let now = portcullis_core::clock::Clock::now(&portcullis_core::clock::SystemClock);
        let ca = DevCa::new(now).unwrap();
        let issued = ca.issue_default(&["portcullis.test".into()], now).unwrap();
        let loaded = pair::from_pem(
            issued.cert_pem.as_bytes(),
            Path::new("server.crt"),
            issued.key_pem.as_bytes(),
            Path::new("server.key"),
        )
        .unwrap();
        let days = (loaded.info.not_after - now).whole_days();
        assert!((LEAF_DAYS - 1..=LEAF_DAYS).contains(&days), "{days}");

        let der = parse(&issued.cert_pem);
        let (_, leaf) = x509_parser::parse_x509_certificate(&der).unwrap();
        let ca_der = parse(ca.pem());
        let (_, root) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        assert_eq!(leaf.issuer(), root.subject());
        let bc = leaf.basic_constraints().unwrap().unwrap();
        assert!(!bc.value.ca);
        let eku = leaf.extended_key_usage().unwrap().unwrap();
        assert!(eku.value.server_auth);
        let san = leaf.subject_alternative_name().unwrap().unwrap();
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => (*d).to_owned(),
                GeneralName::IPAddress(ip) => format!("ip:{}", ip.len()),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["localhost", "ip:4", "ip:16", "portcullis.test"]);
        let aki = leaf
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.clone(),
                _ => None,
            })
            .expect("authority key id");
        let ski = root
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.clone()),
                _ => None,
            })
            .expect("subject key id on the CA");
        assert_eq!(aki.0, ski.0);
        let root_bc = root.basic_constraints().unwrap().unwrap();
        assert!(root_bc.critical && root_bc.value.ca);
        let ku = root.key_usage().unwrap().unwrap();
        assert!(ku.value.key_cert_sign() && ku.value.crl_sign());
    }

    #[test]
    fn every_certificate_gets_its_own_serial() {
        let now = portcullis_core::clock::Clock::now(&portcullis_core::clock::SystemClock);
        let ca = DevCa::new(now).unwrap();
        let a = ca.issue_default(&[], now).unwrap();
        let b = ca.issue_default(&[], now).unwrap();
        let serial = |p: &IssuedPair| {
            pair::from_pem(
                p.cert_pem.as_bytes(),
                Path::new("c"),
                p.key_pem.as_bytes(),
                Path::new("k"),
            )
            .unwrap()
            .info
            .serial
        };
        assert_ne!(serial(&a), serial(&b));
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }
}
