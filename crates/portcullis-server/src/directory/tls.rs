//! TLS for `ldaps://` and StartTLS: rustls on aws-lc-rs (the provider the rest of the tree
//! uses), the system's CA certificates plus an optional PEM file from the configuration.
//! Certificates and host names are always verified; there is no switch to turn that off.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The client configuration shared by every directory connection.
pub(super) fn client_config(
    ca_file: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates are not fatal: a directory with a private CA works
    // through `ldap.ca_file` alone.
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("ldap.ca_file {}: {e}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("ldap.ca_file {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "ldap.ca_file {}: no certificate in the file",
                path.display()
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("ldap.ca_file {}: {e}", path.display()))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
