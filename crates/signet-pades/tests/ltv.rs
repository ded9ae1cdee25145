//! Long-term validation data collection and the TSA client against the peer kit's PKI server
//! (`pki_server.py`: OpenSSL's OCSP responder, TSA, CRLs and caIssuers on 127.0.0.1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use signet_cms::crl::Crl;
use signet_cms::ocsp::OcspResponse;
use signet_crypto::DigestAlgorithm;
use signet_pades::fetch::Request;
use signet_pades::{FetchError, Fetched, Fetcher, FnFetcher, HttpFetcher, LtvError, Revocation, TsaClient, collect};
use signet_testkit::Pki;

fn pki() -> &'static Pki {
    static PKI: OnceLock<(Pki, PathBuf)> = OnceLock::new();
    &PKI.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("signet-pades-ltv-pki");
        std::fs::create_dir_all(&dir).unwrap();
        (Pki::make(&dir), dir)
    })
    .0
}

/// One server at a time on the PKI's port; tests that need it down hold the lock too.
fn server_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn der(name: &str) -> Vec<u8> {
    let out =
        Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(pki().dir.join(name)).output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn url(path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", pki().port)
}

#[test]
fn signer_and_tsa_chains_with_ocsp_and_crls() {
    let (signer, tsa, inter, root, ocsp) =
        (der("signer-rsa.pem"), der("tsa.pem"), der("inter-ca.pem"), der("root-ca.pem"), der("ocsp.pem"));
    let _lock = server_lock();
    let _server = pki().serve();
    let fetcher = HttpFetcher::default();
    let at = SystemTime::now() - Duration::from_secs(3600);
    let data = collect(
        &[signer.clone(), tsa.clone()],
        std::slice::from_ref(&inter),
        std::slice::from_ref(&root),
        &fetcher,
        at,
        Revocation::OcspAndCrl,
    )
    .unwrap();
    for c in [&signer, &tsa, &inter, &root, &ocsp] {
        assert!(data.certs.contains(c), "{:?}", signet_cms::certpath::subject_to_string(c));
    }
    assert_eq!(data.certs.len(), 5);
    // One OCSP response each for the signer and the TSA (the intermediate names no responder;
    // the responder has ocsp-nocheck), both verified here again.
    assert_eq!(data.ocsps.len(), 2);
    for o in &data.ocsps {
        let r = OcspResponse::parse(o).unwrap();
        assert_eq!(r.verify(&inter, SystemTime::now()).unwrap(), ocsp);
        assert!(r.produced_at >= at);
    }
    // The intermediate's CRL (signer, TSA) and the root's (intermediate), each once.
    assert_eq!(data.crls.len(), 2);
    assert!(data.crls.iter().any(|c| Crl::parse(c).unwrap().verify(&inter).is_ok()));
    assert!(data.crls.iter().any(|c| Crl::parse(c).unwrap().verify(&root).is_ok()));
    assert!(data.notes.is_empty(), "{:?}", data.notes);

    // The same with no intermediate given: it comes from the caIssuers URL. A signature time
    // after the OCSP response was produced is reported, not refused.
    let later = SystemTime::now() + Duration::from_secs(3600);
    let data = collect(
        std::slice::from_ref(&signer),
        &[],
        std::slice::from_ref(&root),
        &fetcher,
        later,
        Revocation::default(),
    )
    .unwrap();
    assert!(data.certs.contains(&inter));
    assert_eq!((data.ocsps.len(), data.crls.len()), (1, 2));
    assert!(data.notes.iter().any(|n| n.contains("OCSP")), "{:?}", data.notes);
    // CRLs are judged by their validity window, not by when they were issued
    assert!(!data.notes.iter().any(|n| n.contains("CRL")), "{:?}", data.notes);

    // OCSP preferred: no CRL for the signer, the root's CRL for the intermediate (no OCSP).
    let data = collect(
        std::slice::from_ref(&signer),
        &[],
        std::slice::from_ref(&root),
        &fetcher,
        at,
        Revocation::OcspPreferred,
    )
    .unwrap();
    assert_eq!(data.ocsps.len(), 1);
    assert_eq!(data.crls.len(), 1);
    Crl::parse(&data.crls[0]).unwrap().verify(&root).unwrap();
    // CRLs only: no OCSP, no responder certificate.
    let data =
        collect(std::slice::from_ref(&signer), &[], std::slice::from_ref(&root), &fetcher, at, Revocation::CrlOnly)
            .unwrap();
    assert!(data.ocsps.is_empty());
    assert_eq!(data.crls.len(), 2);
    assert!(!data.certs.contains(&ocsp));
    assert_eq!(data.certs.len(), 3);
}

#[test]
fn revoked_signer_is_an_error_naming_it() {
    let revoked = der("signer-revoked.pem");
    let root = der("root-ca.pem");
    let _lock = server_lock();
    let _server = pki().serve();
    let fetcher = HttpFetcher::default();
    for (policy, source) in [(Revocation::OcspAndCrl, "OCSP"), (Revocation::CrlOnly, "CRL")] {
        let e = collect(
            std::slice::from_ref(&revoked),
            &[],
            std::slice::from_ref(&root),
            &fetcher,
            SystemTime::now(),
            policy,
        )
        .unwrap_err();
        match &e {
            LtvError::Revoked { subject, source: s, detail } => {
                assert_eq!(subject, "CN=Peer Test Signer Revoked, O=Peer Kit Test, C=FR");
                assert_eq!(*s, source);
                assert!(detail.contains("keyCompromise"), "{detail}");
            }
            other => panic!("{policy:?}: {other}"),
        }
        assert!(e.to_string().contains("Peer Test Signer Revoked"), "{e}");
    }
}

#[test]
fn server_down_and_missing_anchor_are_clear_errors() {
    let signer = der("signer-rsa.pem");
    let (inter, root) = (der("inter-ca.pem"), der("root-ca.pem"));
    let _lock = server_lock();
    let fetcher = HttpFetcher::new(Duration::from_secs(3), 1 << 20);
    let e = collect(
        std::slice::from_ref(&signer),
        std::slice::from_ref(&inter),
        std::slice::from_ref(&root),
        &fetcher,
        SystemTime::now(),
        Revocation::default(),
    )
    .unwrap_err();
    assert!(matches!(e, LtvError::Fetch { what: "OCSP response", source: FetchError::Unreachable { .. }, .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("Peer Test Signer RSA") && msg.contains(&url("/ocsp")), "{msg}");
    // Without the intermediate, the caIssuers fetch is what fails.
    let e = collect(
        std::slice::from_ref(&signer),
        &[],
        std::slice::from_ref(&root),
        &fetcher,
        SystemTime::now(),
        Revocation::default(),
    )
    .unwrap_err();
    assert!(matches!(e, LtvError::Fetch { what: "issuer certificate", .. }), "{e}");

    // No trust anchor given: the root has no issuer to find.
    let _server = pki().serve();
    let e = collect(
        std::slice::from_ref(&signer),
        &[inter, root],
        &[],
        &HttpFetcher::default(),
        SystemTime::now(),
        Revocation::CrlOnly,
    )
    .unwrap_err();
    assert!(matches!(e, LtvError::NoIssuer { .. }), "{e}");
    assert!(
        e.to_string().contains("Root CA, O=Peer Kit Test, C=FR' is self-signed but not one of the trust anchors"),
        "{e}"
    );
}

#[test]
fn tampered_or_replayed_ocsp_is_refused() {
    let signer = der("signer-rsa.pem");
    let root = der("root-ca.pem");
    let _lock = server_lock();
    let _server = pki().serve();
    let http = HttpFetcher::default();
    let replayed = Mutex::new(None::<Fetched>);
    // Flips one byte of the signed part of every OCSP response.
    let tamper = FnFetcher(|req: Request<'_>| match req {
        Request::Get { url } => http.get(url),
        Request::Post { url, content_type, body } => {
            let mut r = http.post(url, content_type, body)?;
            let n = r.body.len();
            r.body[n / 3] ^= 0x01;
            Ok(r)
        }
    });
    let e = collect(
        std::slice::from_ref(&signer),
        &[],
        std::slice::from_ref(&root),
        &tamper,
        SystemTime::now(),
        Revocation::OcspPreferred,
    )
    .unwrap_err();
    assert!(matches!(e, LtvError::Invalid { what: "OCSP response", .. }), "{e}");
    // Answers every OCSP request with the first response it got (another nonce).
    let replay = FnFetcher(|req: Request<'_>| match req {
        Request::Get { url } => http.get(url),
        Request::Post { url, content_type, body } => {
            let mut first = replayed.lock().unwrap();
            if first.is_none() {
                *first = Some(http.post(url, content_type, body)?);
            }
            Ok(first.clone().unwrap())
        }
    });
    collect(
        std::slice::from_ref(&signer),
        &[],
        std::slice::from_ref(&root),
        &replay,
        SystemTime::now(),
        Revocation::OcspPreferred,
    )
    .unwrap();
    let e = collect(
        std::slice::from_ref(&signer),
        &[],
        std::slice::from_ref(&root),
        &replay,
        SystemTime::now(),
        Revocation::OcspPreferred,
    )
    .unwrap_err();
    assert!(e.to_string().contains("nonce"), "{e}");
}

#[test]
fn tsa_client_against_openssl_tsa() {
    let _lock = server_lock();
    let _server = pki().serve();
    let fetcher = HttpFetcher::default();
    let imprint = DigestAlgorithm::Sha256.digest(b"signature value");
    let token = TsaClient::new(&fetcher, &url("/tsa")).timestamp(DigestAlgorithm::Sha256, &imprint).unwrap();
    assert_eq!(token.verified.signer_cert, der("tsa.pem"));
    assert_eq!(token.verified.tst_info.imprint, imprint);
    assert!(token.verified.tst_info.nonce.is_some());
    signet_cms::tsp::verify_token(&token.der, DigestAlgorithm::Sha256, &imprint, None).unwrap();
    // A policy the TSA does not offer is refused by it, with its reason.
    let e = TsaClient::new(&fetcher, &url("/tsa"))
        .with_policy(signet_cms::oid::ObjectIdentifier::new_unwrap("1.2.3.4"))
        .timestamp(DigestAlgorithm::Sha256, &imprint)
        .unwrap_err();
    assert!(e.to_string().contains("unacceptedPolicy"), "{e}");

    // A replayed reply (its nonce is another request's) and a wrong content type.
    let real = fetcher
        .post(
            &url("/tsa"),
            "application/timestamp-query",
            &signet_cms::tsp::timestamp_request(DigestAlgorithm::Sha256, &imprint, Some(&[9; 16]), true, None),
        )
        .unwrap();
    let replay = FnFetcher(move |_req: Request<'_>| Ok(real.clone()));
    let e = TsaClient::new(&replay, "http://tsa.invalid/").timestamp(DigestAlgorithm::Sha256, &imprint).unwrap_err();
    assert!(e.to_string().contains("nonce"), "{e}");
    let wrong_type = FnFetcher(|req: Request<'_>| {
        assert!(matches!(req, Request::Post { content_type: "application/timestamp-query", .. }));
        Ok(Fetched::new("text/html", b"<html>".to_vec()))
    });
    let e =
        TsaClient::new(&wrong_type, "http://tsa.invalid/").timestamp(DigestAlgorithm::Sha256, &imprint).unwrap_err();
    assert!(matches!(e, FetchError::ContentType { .. }), "{e}");

    // A transient failure (here: the first answer is an error page) is retried.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let flaky = FnFetcher(|req: Request<'_>| {
        let Request::Post { url, content_type, body } = req else { panic!("a TSA request is a POST") };
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Ok(Fetched::new("text/html", b"busy".to_vec()));
        }
        fetcher.post(url, content_type, body)
    });
    let token = TsaClient::new(&flaky, &url("/tsa")).timestamp(DigestAlgorithm::Sha256, &imprint).unwrap();
    assert_eq!(token.verified.tst_info.imprint, imprint);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn http_fetcher_limits() {
    let f = HttpFetcher::new(Duration::from_millis(800), 100);
    let e = f.get("https://127.0.0.1:1/x.crl").unwrap_err();
    assert!(e.to_string().contains("https not supported yet"), "{e}");
    // A listener that never answers: the timeout ends the request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let start = std::time::Instant::now();
    let e = f.get(&format!("http://127.0.0.1:{port}/x")).unwrap_err();
    assert!(matches!(e, FetchError::Unreachable { .. }), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5));
    drop(silent);
    // Size cap and HTTP status.
    let _lock = server_lock();
    let _server = pki().serve();
    let e = f.get(&url("/crl/inter-ca.crl")).unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { limit: 100, .. }), "{e}");
    let big = HttpFetcher::default();
    let crl = big.get(&url("/crl/inter-ca.crl")).unwrap();
    assert_eq!(crl.content_type.as_deref(), Some("application/pkix-crl"));
    assert_eq!(crl.body, std::fs::read(pki().dir.join("inter-ca.crl.der")).unwrap());
    let e = big.get(&url("/nothing-here")).unwrap_err();
    assert!(matches!(e, FetchError::Status { status: 404, .. }), "{e}");
}

#[test]
fn a_document_without_signatures_sealed_with_a_document_timestamp() {
    let _lock = server_lock();
    let _server = pki().serve();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("report.pdf");
    std::fs::write(&input, signet_testkit::test_pdf(&[signet_testkit::TestPage::A4])).unwrap();
    let output = dir.path().join("sealed.pdf");
    let fetcher = HttpFetcher::default();
    let tsa = TsaClient::new(&fetcher, &url("/tsa"));
    let anchors = vec![der("root-ca.pem")];
    let validation = signet_pades::OnlineValidation::new(&fetcher, anchors, Revocation::OcspAndCrl);
    let services = signet_pades::Services {
        tsa: Some(&tsa),
        validation: Some(&validation),
        timestamp_digest: DigestAlgorithm::Sha256,
    };
    let notes = signet_pades::timestamp_file(&input, &output, None, services, false).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    // the input is untouched, the output begins with it byte for byte (an incremental update)
    let (before, after) = (std::fs::read(&input).unwrap(), std::fs::read(&output).unwrap());
    assert!(after.len() > before.len() && after.starts_with(&before));
    let report = signet_testkit::validate_document_timestamps(&output, &pki().root())
        .unwrap_or_else(|t| panic!("the sealed document:\n{t}"));
    assert!(report.contains("DocTimeStamp"), "{report}");

    // no TSA: a clear error, and no output
    let missing = dir.path().join("never.pdf");
    let none =
        signet_pades::Services { tsa: None, validation: Some(&validation), timestamp_digest: DigestAlgorithm::Sha256 };
    let e = signet_pades::timestamp_file(&input, &missing, None, none, false).unwrap_err();
    assert!(e.to_string().contains("needs a timestamp authority"), "{e}");
    assert!(!missing.exists());
}
