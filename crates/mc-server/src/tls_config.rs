//! TLS for `-Z` (rustls): the certificate chain, key and client-certificate policy from
//! `-o ssl_*`, loaded at start and again on `refresh_certs`. Connections accepted after a
//! refresh use the new certificate; those already open keep theirs.

use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

use crate::config::TlsSettings;

/// TLS cannot be set up with the configured files.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate chain cannot be read or holds no certificate.
    #[error("Error loading the certificate chain: {path} : {reason}")]
    Chain {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The private key cannot be read.
    #[error("Error loading the private key: {path} : {reason}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The CA certificates for client verification cannot be read.
    #[error("Error loading the CA certificate: {path} : {reason}")]
    Ca {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the combination (a key that does not match the certificate...).
    #[error("Error setting up TLS: {0}")]
    Setup(String),
}

/// The TLS configuration in force, replaceable at run time.
#[derive(Debug)]
pub struct TlsContext {
    settings: TlsSettings,
    current: RwLock<Arc<ServerConfig>>,
}

impl TlsContext {
    /// Load the files `settings` names.
    pub fn load(settings: &TlsSettings) -> Result<TlsContext, TlsError> {
        Ok(TlsContext {
            current: RwLock::new(Arc::new(build(settings)?)),
            settings: settings.clone(),
        })
    }

    /// Read the files again (`refresh_certs`); on failure the configuration in force stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = Arc::new(build(&self.settings)?);
        *self.current.write() = fresh;
        Ok(())
    }

    /// Whether clients may resume sessions (`ssl_session_cache`).
    pub fn resumable(&self) -> bool {
        self.settings.session_cache
    }

    /// The configuration new connections get.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.current.read().clone()
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn build(settings: &TlsSettings) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if settings.min_version >= 3 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12, &rustls::version::TLS13]
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let builder = match (&settings.ca_cert, settings.verify_mode) {
        (Some(ca), mode) if mode > 0 => {
            let ca_error = |reason: String| TlsError::Ca {
                path: shown(ca),
                reason,
            };
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca).map_err(|e| ca_error(e.to_string()))? {
                let cert = cert.map_err(|e| ca_error(e.to_string()))?;
                roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(ca_error("no certificate found".into()));
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            // memcached's ssl_verify_mode 1 asks for a certificate without requiring one.
            let verifier = if mode == 1 {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsError::Setup(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let chain_error = |reason: String| TlsError::Chain {
        path: shown(&settings.chain_cert),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&settings.chain_cert)
        .map_err(|e| chain_error(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| chain_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(chain_error("no certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&settings.key).map_err(|e| TlsError::Key {
        path: shown(&settings.key),
        reason: e.to_string(),
    })?;
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    if !settings.session_cache {
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    Ok(config)
}
