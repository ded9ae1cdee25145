//! TLS termination for `signet serve --tls-cert CERT.pem --tls-key KEY.pem`, with client
//! certificates (mutual TLS).
//!
//! The server asks every client for a certificate (a `CertificateRequest`, RFC 8446 §4.3.2,
//! naming the accepted authorities in `certificate_authorities`) but does not require one, so
//! browsers and API-key clients connect as before. A certificate the client does send
//! (RFC 8446 §4.4.2) is verified in the handshake: its chain must reach Signet's own
//! certification authority (the root, or the issuing CA directly, so that a client may send
//! its certificate alone) or an authority of a `--client-ca` file, within the validity of every
//! certificate on the path and with the clientAuth purpose where a certificate restricts its
//! purposes (RFC 5280 §6.1, §4.2.1.12; webpki). A client whose certificate does not verify is
//! refused by the handshake with the alert that names why (`unknown_ca`,
//! `certificate_expired`, `bad_certificate`). What a verified certificate may do is decided per
//! request by its registration (`crate::client_certs`), where expiry is checked again (a
//! connection may outlive its certificate) and revocation by Signet's CA.
//!
//! Each accepted connection is handed to its own task at once: the handshake (bounded by
//! [`HANDSHAKE_TIMEOUT`]) never holds up the accept loop. Requests then go to the same
//! [`crate::app`] as over plain HTTP, with the peer's address (`ConnectInfo`) and the
//! [`ClientCertificate`] in their extensions.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use signet_authority::{Authority, CaLevel};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::Error;

/// How long a client has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client has to send a request's headers (once connected, and between requests on
/// a kept-alive connection).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the server's certificate and key are, and which other authorities' client
/// certificates it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server's certificate chain, PEM, its own certificate first.
    pub certificate: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1), not encrypted.
    pub key: PathBuf,
    /// More authorities whose client certificates are accepted (PEM, may hold several; or
    /// DER), beside Signet's own CA.
    pub client_cas: Vec<PathBuf>,
}

/// The certificate a client presented in the TLS handshake (RFC 8446 §4.4.2) and the TLS layer
/// verified. Requests on that connection carry it in their extensions; whether it lets anybody
/// in is for its registration to say (`crate::client_certs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    der: Arc<[u8]>,
    fingerprint: Arc<str>,
}

impl ClientCertificate {
    /// The end-entity certificate `der` (the first of the chain the client sent).
    pub fn from_der(der: &[u8]) -> ClientCertificate {
        ClientCertificate { der: der.into(), fingerprint: signet_store::sha256_hex(der).into() }
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 of the DER encoding, lowercase hexadecimal: how registrations name it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// The server's certificate chain and key, read before anything else starts so that a wrong
/// file stops the server at once with a message naming it.
pub(crate) struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    settings: TlsSettings,
}

impl ServerIdentity {
    /// Reads `settings.certificate` and `settings.key`, and checks that the key is the
    /// certificate's.
    pub(crate) fn load(settings: &TlsSettings) -> Result<ServerIdentity, Error> {
        let cert_path = &settings.certificate;
        let bytes = read(cert_path, "--tls-cert")?;
        let chain: Vec<CertificateDer<'static>> = signet_crypto::certificates_from_pem_or_der(&bytes)
            .map_err(|e| Error::Tls(format!("--tls-cert {}: {e}", cert_path.display())))?
            .into_iter()
            .map(CertificateDer::from)
            .collect();
        if let Some(bad) = chain.iter().position(|c| signet_cms::CertView::parse(c).is_err()) {
            return Err(Error::Tls(format!(
                "--tls-cert {}: certificate {} of the file is not a readable X.509 certificate",
                cert_path.display(),
                bad + 1
            )));
        }
        let key_path = &settings.key;
        let bytes = read(key_path, "--tls-key")?;
        let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| {
            Error::Tls(format!(
                "--tls-key {}: no private key in the file (an unencrypted PEM key is needed: PKCS#8 \"PRIVATE KEY\", \
                 PKCS#1 \"RSA PRIVATE KEY\" or SEC1 \"EC PRIVATE KEY\")",
                key_path.display()
            ))
        })?;
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider).map_err(|e| {
            Error::Tls(format!(
                "--tls-cert {} with --tls-key {}: {}",
                cert_path.display(),
                key_path.display(),
                describe_key_error(&e)
            ))
        })?;
        Ok(ServerIdentity { chain, key, settings: settings.clone() })
    }
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Tls(format!("{flag} {}: {e}", path.display())))
}

/// The TLS configuration: the server's identity, and client certificates requested but
/// optional, verified against Signet's CA and the `--client-ca` authorities. TLS 1.3 and 1.2,
/// aws-lc-rs, HTTP/1.1 by ALPN.
pub(crate) fn server_config(
    identity: ServerIdentity,
    authority: &Authority,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let ServerIdentity { chain, key, settings } = identity;
    let mut roots = RootCertStore::empty();
    // the issuing CA too: a client may then send its certificate without the chain
    for level in [CaLevel::Root, CaLevel::Issuing] {
        roots.add(CertificateDer::from(authority.ca_certificate(level).to_vec())).map_err(|e| {
            Error::Tls(format!("the {level} CA's certificate cannot be a trust anchor for client certificates: {e}"))
        })?;
    }
    for path in &settings.client_cas {
        let bytes = read(path, "--client-ca")?;
        let certs = signet_crypto::certificates_from_pem_or_der(&bytes)
            .map_err(|e| Error::Tls(format!("--client-ca {}: {e}", path.display())))?;
        for (i, der) in certs.into_iter().enumerate() {
            roots.add(CertificateDer::from(der)).map_err(|e| {
                Error::Tls(format!(
                    "--client-ca {}: certificate {} cannot be a trust anchor: {e}",
                    path.display(),
                    i + 1
                ))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| Error::Tls(format!("client certificate verification: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(format!("TLS versions: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| {
            Error::Tls(format!(
                "--tls-cert {} with --tls-key {}: {}",
                settings.certificate.display(),
                settings.key.display(),
                describe_key_error(&e)
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn describe_key_error(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InconsistentKeys(_) => "the key is not the key of the certificate".into(),
        e => format!("the key cannot be used: {e}"),
    }
}

/// `https://` and the listening address (a wildcard address as loopback): the base of the
/// URLs put into certificates when the server speaks TLS and no public URL is set.
pub(crate) fn default_public_url(listen: SocketAddr) -> String {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("https://{addr}")
}

/// Accepts connections on `listener` until `shutdown` resolves, each in a task of its own
/// (TLS handshake, then HTTP/1.1 on `router`); then stops accepting, lets every connection
/// finish the request it is serving, and returns once all are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(config);
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // out of file descriptors and the like: wait rather than spin
                    tracing::error!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection(acceptor.clone(), tcp, peer, router.clone(), stop_rx.clone()));
    }
    drop(listener);
    stop_tx.send_replace(());
    drop(stop_rx);
    stop_tx.closed().await;
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// One connection: the handshake, then requests until the client closes or the server stops
/// (the request being served is finished first). Holding `stop` keeps [`serve`] waiting.
async fn connection(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<()>,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
    let tls = tokio::select! {
        done = handshake => match done {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                refused(peer, &e);
                return;
            }
            Err(_) => {
                tracing::debug!("TLS handshake with {peer}: no handshake within {} s", HANDSHAKE_TIMEOUT.as_secs());
                return;
            }
        },
        _ = stop.changed() => return,
    };
    let certificate = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| ClientCertificate::from_der(leaf));
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(c) = &certificate {
            request.extensions_mut().insert(c.clone());
        }
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    let mut conn = std::pin::pin!(builder.serve_connection(TokioIo::new(tls), service));
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!("connection with {peer}: {e}");
                }
                break;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Logs a failed handshake: a refused client certificate is worth an operator's attention,
/// the rest (scanners, plain HTTP on the TLS port) only when debugging.
fn refused(peer: SocketAddr, e: &std::io::Error) {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(refusal @ rustls::Error::InvalidCertificate(_)) => {
            tracing::info!("TLS handshake with {peer}: client certificate refused: {refusal}");
        }
        _ => tracing::debug!("TLS handshake with {peer}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_the_sha256_of_the_der() {
        let c = ClientCertificate::from_der(b"abc");
        assert_eq!(c.fingerprint(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(c.der(), b"abc");
    }

    #[test]
    fn the_default_public_url_is_https_on_the_listening_address() {
        assert_eq!(default_public_url("127.0.0.1:8443".parse().unwrap()), "https://127.0.0.1:8443");
        assert_eq!(default_public_url("0.0.0.0:443".parse().unwrap()), "https://127.0.0.1:443");
        assert_eq!(default_public_url("[::]:443".parse().unwrap()), "https://[::1]:443");
    }

    #[test]
    fn unreadable_and_wrong_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TlsSettings {
            certificate: dir.path().join("none.pem"),
            key: dir.path().join("none.key"),
            client_cas: Vec::new(),
        };
        let e = ServerIdentity::load(&missing).err().unwrap().to_string();
        assert!(e.contains("--tls-cert") && e.contains("none.pem"), "{e}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let e = ServerIdentity::load(&TlsSettings { certificate: garbage, ..missing }).err().unwrap().to_string();
        assert!(e.contains("garbage.pem") && e.contains("CERTIFICATE"), "{e}");
    }
}
