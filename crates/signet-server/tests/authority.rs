//! The certification authority's publication points, without a socket.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use signet_authority::{CaLevel, DistinguishedName, IssueRequest, KeySource, Profile, RevocationReason};
use signet_cms::CertView;
use signet_server::{AppState, ServerConfig, app};
use tower::ServiceExt;

fn config(dir: &tempfile::TempDir) -> ServerConfig {
    ServerConfig { data_dir: dir.path().join("data"), ..ServerConfig::default() }
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let res = app(state.clone()).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let content_type =
        res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn first_start_creates_the_authority_and_serves_its_certificates_and_crls() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::load(&config(&dir)).await.unwrap();
    let data = dir.path().join("data");
    assert!(data.join("master.key").is_file());
    assert!(data.join("ca/state.json").is_file());

    let (status, content_type, root) = get(&state, "/ca/root.crt").await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/pkix-cert"));
    let root_view = CertView::parse(&root).unwrap();
    assert!(root_view.is_self_issued());
    let (status, _, issuing) = get(&state, "/ca/issuing.crt").await;
    assert_eq!(status, StatusCode::OK);
    let issuing_view = CertView::parse(&issuing).unwrap();
    assert_eq!(issuing_view.issuer, root_view.subject);
    // The certificates point at this server's default address.
    assert_eq!(issuing_view.crl_distribution_uris(), ["http://127.0.0.1:8080/crl/root.crl"]);

    for (uri, issuer) in [("/crl/root.crl", &root_view), ("/crl/issuing.crl", &issuing_view)] {
        let (status, content_type, crl) = get(&state, uri).await;
        assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/pkix-crl"), "{uri}");
        // CertificateList → TBSCertList → issuer is the CA's subject.
        let tlv = signet_crypto::asn1::parse_single(&crl).unwrap();
        let tbs = tlv.reader().read().unwrap();
        let mut r = tbs.reader();
        r.read().unwrap(); // version
        r.read().unwrap(); // signature
        assert_eq!(r.read().unwrap().raw, issuer.subject, "{uri}");
    }
    let (status, _, _) = get(&state, "/crl/other.crl").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A second start opens the same authority.
    let again = AppState::load(&config(&dir)).await.unwrap();
    assert_eq!(get(&again, "/ca/root.crt").await.2, root);
}

#[tokio::test]
async fn a_revocation_shows_on_the_served_crl() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::load(&config(&dir)).await.unwrap();
    let (_, _, before) = get(&state, "/crl/issuing.crl").await;
    let issued = state
        .authority()
        .issue(&IssueRequest {
            profile: Profile::Person,
            subject: DistinguishedName::common_name("Alice"),
            emails: Vec::new(),
            key: KeySource::Generate(signet_crypto::KeyKind::EcP256),
            validity: None,
        })
        .unwrap();
    state.authority().revoke(&issued.record.serial, RevocationReason::KeyCompromise, SystemTime::now()).unwrap();
    let (_, _, after) = get(&state, "/crl/issuing.crl").await;
    assert_ne!(after, before);
    let serial = CertView::parse(&issued.certificate).unwrap().serial.raw.to_vec();
    assert!(after.windows(serial.len()).any(|w| w == serial), "the revoked serial is on the CRL");
    assert!(state.authority().ca_certificate(CaLevel::Root).len() > 100);
}

#[tokio::test]
async fn an_explicit_public_url_goes_into_new_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { public_url: Some("https://pki.example.com/".into()), ..config(&dir) };
    let state = AppState::load(&config).await.unwrap();
    let issuing = get(&state, "/ca/issuing.crt").await.2;
    assert_eq!(CertView::parse(&issuing).unwrap().crl_distribution_uris(), ["https://pki.example.com/crl/root.crl"]);
    let bad = ServerConfig { public_url: Some("pki.example.com".into()), ..config };
    assert!(AppState::load(&bad).await.is_err());
}
