//! Reading and checking a certificate chain and its private key (`docs/tls.md`, "Keys and
//! certificates"). Policy: a pair goes into service only whole — the chain parses, the key is
//! RSA of at least 2048 bits or ECDSA on P-256 or P-384, and the key belongs to the first
//! certificate; otherwise the error names the file at fault.

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// Smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// Why a pair cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// A file cannot be read or holds no PEM block of the expected kind.
    #[error("{path}: {reason}")]
    File {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key is of a refused type or too small.
    #[error(
        "{path}: {reason}; use an RSA key of at least 2048 bits or an ECDSA key on P-256 or P-384"
    )]
    WeakKey {
        /// The key file.
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// The key does not belong to the first certificate of the chain.
    #[error(
        "{key} does not hold the private key of the first certificate in {cert} (the server's own certificate must come first)"
    )]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

impl PairError {
    fn file(path: &Path, reason: impl Into<String>) -> Self {
        Self::File {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// What an operator needs to know about the certificate in service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Serial number, hexadecimal bytes separated by colons (as `openssl x509 -serial`
    /// prints it, lower case).
    pub serial: String,
    /// Subject distinguished name.
    pub subject: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// A checked pair, ready to serve.
#[derive(Debug, Clone)]
pub struct LoadedPair {
    /// The chain and signing key rustls serves.
    pub key: Arc<CertifiedKey>,
    /// The first certificate, described.
    pub info: CertInfo,
}

/// Reads and checks the pair in `cert` and `key`.
pub fn load(cert: &Path, key: &Path) -> Result<LoadedPair, PairError> {
    let cert_pem = std::fs::read(cert).map_err(|e| PairError::file(cert, e.to_string()))?;
    let key_pem = std::fs::read(key).map_err(|e| PairError::file(key, e.to_string()))?;
    from_pem(&cert_pem, cert, &key_pem, key)
}

/// Checks a pair given as PEM bytes; `cert_path` and `key_path` name them in errors.
pub fn from_pem(
    cert_pem: &[u8],
    cert_path: &Path,
    key_pem: &[u8],
    key_path: &Path,
) -> Result<LoadedPair, PairError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PairError::file(cert_path, format!("not a PEM certificate chain: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(PairError::file(
            cert_path,
            "holds no PEM certificate (BEGIN CERTIFICATE)",
        ));
    };
    let info = describe(leaf).map_err(|reason| PairError::file(cert_path, reason))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        PairError::file(
            key_path,
            format!("holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
        )
    })?;
    check_strength(&key).map_err(|reason| PairError::WeakKey {
        path: key_path.to_path_buf(),
        reason,
    })?;
    let provider = provider();
    let certified = CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => PairError::Mismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        },
        other => PairError::file(key_path, other.to_string()),
    })?;
    Ok(LoadedPair {
        key: Arc::new(certified),
        info,
    })
}

/// The one crypto provider of the listener: rustls on aws-lc-rs, as everywhere in the tree.
pub fn provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// Serial, subject and validity of a DER certificate.
fn describe(der: &CertificateDer<'_>) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("the first certificate does not parse: {e}"))?;
    let time = |t: x509_parser::time::ASN1Time| {
        OffsetDateTime::from_unix_timestamp(t.timestamp())
            .map_err(|e| format!("certificate validity out of range: {e}"))
    };
    Ok(CertInfo {
        serial: cert.tbs_certificate.raw_serial_as_string(),
        subject: cert.subject().to_string(),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
    })
}

/// RSA ≥ 2048 bits, or ECDSA on P-256 / P-384; everything else is refused with what it is.
fn check_strength(key: &PrivateKeyDer<'_>) -> Result<(), String> {
    use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    };
    let ec = |der: &[u8]| {
        EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .or_else(|_| EcdsaKeyPair::from_private_key_der(&ECDSA_P384_SHA384_ASN1_SIGNING, der))
            .is_ok()
    };
    // aws-lc-rs itself refuses RSA moduli under 2048 bits ("TooSmall") when parsing.
    let rsa = |parsed: Result<RsaKeyPair, aws_lc_rs::error::KeyRejected>| match parsed {
        Ok(k) if k.public_modulus_len() * 8 >= MIN_RSA_BITS => Ok(()),
        Ok(k) => Err(format!("an RSA key of {} bits", k.public_modulus_len() * 8)),
        Err(e) if e.description_() == "TooSmall" => {
            Err(format!("an RSA key of fewer than {MIN_RSA_BITS} bits"))
        }
        Err(e) => Err(format!("not a usable RSA private key: {e}")),
    };
    match key {
        PrivateKeyDer::Pkcs1(k) => rsa(RsaKeyPair::from_der(k.secret_pkcs1_der())),
        PrivateKeyDer::Sec1(k) if ec(k.secret_sec1_der()) => Ok(()),
        PrivateKeyDer::Sec1(_) => Err("an EC key on a curve other than P-256 or P-384".into()),
        PrivateKeyDer::Pkcs8(k) => {
            let der = k.secret_pkcs8_der();
            if ec(der) {
                return Ok(());
            }
            match RsaKeyPair::from_pkcs8(der) {
                Err(e) if e.description_() != "TooSmall" => Err(
                    "a PKCS#8 key that is neither RSA nor ECDSA on P-256 or P-384 (Ed25519 and other curves are not served)"
                        .into(),
                ),
                parsed => rsa(parsed),
            }
        }
        _ => Err("an unknown private key format".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair};

    fn pair(alg: &'static rcgen::SignatureAlgorithm) -> (String, String) {
        let key = KeyPair::generate_for(alg).unwrap();
        let cert = CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn check(cert: &str, key: &str) -> Result<LoadedPair, PairError> {
        from_pem(
            cert.as_bytes(),
            Path::new("c.pem"),
            key.as_bytes(),
            Path::new("k.pem"),
        )
    }

    #[test]
    fn p256_and_p384_pairs_load_with_their_serial_and_validity() {
        for alg in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
        ] {
            let (cert, key) = pair(alg);
            let loaded = check(&cert, &key).unwrap();
            assert_eq!(loaded.key.cert.len(), 1);
            assert!(loaded.info.serial.contains(':'), "{}", loaded.info.serial);
            assert!(loaded.info.not_after > loaded.info.not_before);
        }
    }

    #[test]
    fn an_ed25519_key_is_refused_naming_the_key_file() {
        let (cert, key) = pair(&rcgen::PKCS_ED25519);
        let e = check(&cert, &key).unwrap_err().to_string();
        assert!(
            e.starts_with("k.pem: a PKCS#8 key that is neither RSA"),
            "{e}"
        );
        assert!(e.contains("P-256"), "{e}");
    }

    #[test]
    fn a_key_of_another_certificate_is_a_mismatch() {
        let (cert, _) = pair(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (_, other) = pair(&rcgen::PKCS_ECDSA_P256_SHA256);
        let e = check(&cert, &other).unwrap_err();
        assert!(matches!(e, PairError::Mismatch { .. }), "{e}");
        assert!(e.to_string().contains("k.pem does not hold"), "{e}");
    }

    #[test]
    fn garbage_and_empty_files_are_named() {
        let (cert, key) = pair(&rcgen::PKCS_ECDSA_P256_SHA256);
        let e = check("", &key).unwrap_err().to_string();
        assert!(e.starts_with("c.pem: holds no PEM certificate"), "{e}");
        let e = check(&cert, "-----BEGIN NOTHING-----\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("k.pem: holds no PEM private key"), "{e}");
        let e = check(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            &key,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("c.pem: the first certificate does not parse"),
            "{e}"
        );
    }

    /// Keys in the formats operators bring (made with `openssl`, `testdata/`): PKCS#1 RSA
    /// 2048 and SEC1 P-256 are served; RSA 1024 and P-521 are refused.
    #[test]
    fn openssl_made_keys_are_judged_by_type_and_size() {
        let data = |f: &str| {
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("src/tls/testdata")
                    .join(f),
            )
            .unwrap()
        };
        check(&data("rsa2048.crt"), &data("rsa2048-pkcs1.key")).unwrap();
        check(&data("p256.crt"), &data("p256-sec1.key")).unwrap();
        let e = check(&data("rsa1024.crt"), &data("rsa1024.key"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "k.pem: an RSA key of fewer than 2048 bits; use an RSA key of at least 2048"
            ),
            "{e}"
        );
        let e = check(&data("p521.crt"), &data("p521-sec1.key"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("k.pem: an EC key on a curve other than P-256 or P-384"),
            "{e}"
        );
    }

    #[test]
    fn missing_files_are_named() {
        let e = load(
            Path::new("/nonexistent/c.pem"),
            Path::new("/nonexistent/k.pem"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("/nonexistent/c.pem: "), "{e}");
    }
}
