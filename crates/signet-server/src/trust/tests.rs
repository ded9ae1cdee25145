//! The trust routes without a socket (limits, media types, absent services) and with one,
//! driven by `openssl ocsp -url`, `openssl ts` and curl.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use signet_authority::ocsp::{CertStatus, RevocationReason};
use signet_crypto::{Identity, certificates_from_pem_or_der};
use signet_testkit::Pki;
use tower::ServiceExt;

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    pki: Pki,
}

fn pki() -> &'static Path {
    static PKI: OnceLock<Fixture> = OnceLock::new();
    &PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::make(&dir.path().join("pki"));
        Fixture { _dir: dir, pki }
    })
    .pki
    .dir
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki().join(name)).unwrap()
}

/// Runs a command in the PKI directory; returns (success, stdout + stderr).
fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).current_dir(pki()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The serial number's content octets, as `openssl x509 -serial` prints them in hex.
fn serial_of(cert: &str) -> Vec<u8> {
    let (ok, out) = run("openssl", &["x509", "-in", cert, "-noout", "-serial"]);
    assert!(ok, "{out}");
    let digits = out.trim().strip_prefix("serial=").unwrap();
    let digits = if digits.len() % 2 == 1 { format!("0{digits}") } else { digits.to_owned() };
    hex::decode(digits).unwrap()
}

/// The kit's delegated OCSP responder (signer-revoked revoked, everything else good) and TSA.
fn services() -> TrustServices {
    let revoked = serial_of("signer-revoked.pem");
    let status = move |serial: &[u8]| {
        if serial == revoked {
            CertStatus::Revoked {
                time: UNIX_EPOCH + Duration::from_secs(1_767_323_045),
                reason: Some(RevocationReason::Superseded),
            }
        } else {
            CertStatus::Good
        }
    };
    let identity = Identity::from_pem(&read("ocsp.key"), None, &read("ocsp.pem"), None).unwrap();
    let issuer = certificates_from_pem_or_der(&read("inter-ca.pem")).unwrap().remove(0);
    let ocsp = OcspResponder::new(identity, &issuer, Arc::new(status)).unwrap();
    let identity = Identity::from_pkcs12(&read("tsa.p12"), "peer-test").unwrap();
    let tsa = TimestampAuthority::new(identity, "1.3.6.1.4.1.99999.1.1".parse().unwrap()).unwrap();
    TrustServices { ocsp: Some(Arc::new(ocsp)), tsa: Some(Arc::new(tsa)) }
}

async fn call(services: TrustServices, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = trust_routes().with_state(services).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

fn post(path: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path).header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn limits_media_types_and_absent_services() {
    let services = services();
    let (status, _, _) = call(services.clone(), post("/ocsp", "text/plain", vec![0x30, 0])).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = call(services.clone(), post("/tsa", OCSP_REQUEST, vec![0x30, 0])).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = vec![0x30; MAX_TRUST_REQUEST_BYTES + 1];
    let (status, _, _) = call(services.clone(), post("/ocsp", OCSP_REQUEST, big.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = call(services.clone(), post("/tsa", TIMESTAMP_QUERY, big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = call(TrustServices::default(), post("/ocsp", OCSP_REQUEST, vec![0x30, 0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(TrustServices::default(), post("/tsa", TIMESTAMP_QUERY, vec![0x30, 0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Protocol errors are protocol messages.
    let (status, headers, body) = call(services.clone(), post("/ocsp", OCSP_REQUEST, b"garbage".to_vec())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], OCSP_RESPONSE);
    assert_eq!(body, [0x30, 0x03, 0x0a, 0x01, 0x01]);
    let get = Request::get("/ocsp/not%20base64").body(Body::empty()).unwrap();
    let (status, headers, body) = call(services.clone(), get).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body, [0x30, 0x03, 0x0a, 0x01, 0x01]);
    let (status, headers, body) = call(services, post("/tsa", TIMESTAMP_QUERY, vec![0x30, 0x03, 1, 2, 3])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], TIMESTAMP_REPLY);
    // status rejection (2), then badDataFormat.
    assert!(body.starts_with(&[0x30]) && body.windows(3).any(|w| w == [0x02, 0x01, 0x02]), "{body:02x?}");
    assert!(body.ends_with(&[0x03, 0x02, 0x02, 0x04]), "{body:02x?}");
}

/// The routes served on 127.0.0.1 until the guard drops.
struct Served {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn start(services: TrustServices) -> Served {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                axum::serve(listener, trust_routes().with_state(services))
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let port = port_rx.recv().unwrap();
        Served { port, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn openssl_and_curl_over_http() {
    let served = Served::start(services());
    let base = format!("http://127.0.0.1:{}", served.port);
    let scratch = tempfile::tempdir_in(pki()).unwrap();
    let file = |name: &str| scratch.path().join(name).to_str().unwrap().to_owned();

    // openssl ocsp -url: POST, two certificates, nonce added and checked by openssl.
    let url = format!("{base}/ocsp");
    let (ok, out) = run(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            "inter-ca.pem",
            "-cert",
            "signer-rsa.pem",
            "-cert",
            "signer-revoked.pem",
            "-url",
            &url,
            "-CAfile",
            "root-ca.pem",
            "-verify_other",
            "inter-ca.pem",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(!out.contains("WARNING") && !out.contains("Nonce Verify error"), "{out}");
    assert!(out.contains("signer-rsa.pem: good"), "{out}");
    assert!(out.contains("signer-revoked.pem: revoked"), "{out}");
    assert!(out.contains("Reason: superseded"), "{out}");

    // GET with curl, the request base64'd and URL-encoded (App. A.1).
    let (q, r, h) = (file("q.der"), file("r.der"), file("headers.txt"));
    let (ok, out) =
        run("openssl", &["ocsp", "-issuer", "inter-ca.pem", "-cert", "signer-revoked.pem", "-no_nonce", "-reqout", &q]);
    assert!(ok, "{out}");
    let (ok, b64) = run("openssl", &["base64", "-A", "-in", &q]);
    assert!(ok, "{b64}");
    let encoded = b64.trim().replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let (ok, out) = run("curl", &["-sS", "-f", "-D", &h, "-o", &r, &format!("{base}/ocsp/{encoded}")]);
    assert!(ok, "{out}");
    let headers = std::fs::read_to_string(&h).unwrap().to_ascii_lowercase();
    assert!(headers.contains("content-type: application/ocsp-response"), "{headers}");
    assert!(headers.contains("cache-control: max-age="), "{headers}");
    let (ok, out) = run(
        "openssl",
        &[
            "ocsp",
            "-respin",
            &r,
            "-no_nonce",
            "-issuer",
            "inter-ca.pem",
            "-cert",
            "signer-revoked.pem",
            "-CAfile",
            "root-ca.pem",
            "-verify_other",
            "inter-ca.pem",
        ],
    );
    assert!(ok && out.contains("Response verify OK") && out.contains("signer-revoked.pem: revoked"), "{out}");

    // The TSA with curl.
    let (data, tsq, tsr) = (file("data"), file("q.tsq"), file("r.tsr"));
    std::fs::write(&data, b"time-stamped over HTTP\n").unwrap();
    let (ok, out) = run("openssl", &["ts", "-query", "-data", &data, "-sha256", "-cert", "-out", &tsq]);
    assert!(ok, "{out}");
    let (ok, out) = run(
        "curl",
        &[
            "-sS",
            "-f",
            "-D",
            &h,
            "-o",
            &tsr,
            "-H",
            "Content-Type: application/timestamp-query",
            "--data-binary",
            &format!("@{tsq}"),
            &format!("{base}/tsa"),
        ],
    );
    assert!(ok, "{out}");
    let headers = std::fs::read_to_string(&h).unwrap().to_ascii_lowercase();
    assert!(headers.contains("content-type: application/timestamp-reply"), "{headers}");
    let (ok, out) = run(
        "openssl",
        &["ts", "-verify", "-queryfile", &tsq, "-in", &tsr, "-CAfile", "root-ca.pem", "-untrusted", "chain.pem"],
    );
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let (ok, out) = run(
        "openssl",
        &["ts", "-verify", "-data", &data, "-in", &tsr, "-CAfile", "root-ca.pem", "-untrusted", "chain.pem"],
    );
    assert!(ok && out.contains("Verification: OK"), "{out}");

    drop(served);
    let (ok, _) = run("curl", &["-sS", "-f", "--max-time", "5", &format!("{base}/ocsp/MAMCAQA")]);
    assert!(!ok, "the server still answers after it was stopped");
}
