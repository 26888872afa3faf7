//! The TLS side of every HTTP client: the rustls configuration all use
//! (ring as the crypto provider; Mozilla's roots compiled in, plus the
//! certificates of `[http] ca_file`), reading that file, and the name a
//! negotiated protocol version gets in the evidence.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The client configuration: TLS 1.2 and 1.3, Mozilla's roots and
/// `extra_roots`, ALPN offering HTTP/2 then HTTP/1.1 (what reqwest offers
/// with its own rustls configuration).
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots.add(cert.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A reqwest client builder on [`client_config`]. Every HTTP client of the
/// process (pages, webhooks, the TSA) starts here, through
/// [`super::client::http_client`], so all trust the same roots.
pub fn client_builder(extra_roots: &ExtraRoots) -> Result<reqwest::ClientBuilder, rustls::Error> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(client_config(&extra_roots.certs)?))
}

/// The certificates of `[http] ca_file`, and the file's SHA-256 (the
/// `config` ledger leaf records it, so a change of what is trusted shows).
#[derive(Debug, Clone, Default)]
pub struct ExtraRoots {
    pub certs: Vec<CertificateDer<'static>>,
    /// Hex; `None` without a `ca_file`.
    pub file_sha256: Option<String>,
}

/// Reads a PEM file of certificates to trust besides Mozilla's roots. An
/// unreadable file, a malformed block, a file without a certificate or a
/// certificate that cannot be a trust anchor is an error that says which
/// and what to do.
pub fn read_ca_file(path: &Path) -> Result<ExtraRoots, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read {}: {e}; point it at a PEM file of CA certificates",
            path.display()
        )
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{} is not valid PEM ({e}); it must hold only -----BEGIN CERTIFICATE----- blocks",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no CERTIFICATE block; it must be PEM (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    // Each must parse as a trust anchor, so a bad one fails here, not at
    // the first fetch.
    for (index, cert) in certs.iter().enumerate() {
        rustls::RootCertStore::empty().add(cert.clone()).map_err(|e| {
            format!(
                "certificate {} of {} cannot be a trust anchor ({e}); remove or replace that block",
                index + 1,
                path.display()
            )
        })?;
    }
    Ok(ExtraRoots {
        certs,
        file_sha256: Some(crate::hash::Digest::of(&bytes).to_hex()),
    })
}

/// The negotiated protocol version as evidence names it (`TLSv1.3`, the
/// spelling of OpenSSL and of WARC tools). The client speaks only 1.2 and
/// 1.3 (rustls' safe defaults).
pub fn version_name(version: reqwest::tls::Version) -> Option<&'static str> {
    use reqwest::tls::Version;
    [(Version::TLS_1_3, "TLSv1.3"), (Version::TLS_1_2, "TLSv1.2")]
        .into_iter()
        .find(|(known, _)| *known == version)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_builds_with_mozillas_roots() {
        let config = client_config(&[]).unwrap();
        assert_eq!(config.alpn_protocols[0], b"h2");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(
            read_ca_file(&empty)
                .unwrap_err()
                .contains("no CERTIFICATE block")
        );
        let missing = dir.path().join("absent.pem");
        assert!(read_ca_file(&missing).unwrap_err().contains("cannot read"));
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = read_ca_file(&garbage).unwrap_err();
        assert!(err.contains("certificate 1 of"), "{err}");
        assert!(err.contains("remove or replace"), "{err}");
    }

    #[test]
    fn versions_are_named_as_openssl_names_them() {
        assert_eq!(
            version_name(reqwest::tls::Version::TLS_1_3),
            Some("TLSv1.3")
        );
        assert_eq!(
            version_name(reqwest::tls::Version::TLS_1_2),
            Some("TLSv1.2")
        );
    }
}
