//! The app without a socket: `app(state).oneshot(request)`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use signet_server::{AppState, ServerConfig, app};
use tower::ServiceExt;

async fn state(dir: &tempfile::TempDir, max_upload_bytes: u64) -> AppState {
    let config = ServerConfig { data_dir: dir.path().join("data"), max_upload_bytes, ..ServerConfig::default() };
    AppState::load(&config).await.unwrap()
}

fn post_pdf(body: impl Into<Body>) -> Request<Body> {
    Request::post("/api/v1/verify").header(header::CONTENT_TYPE, "application/pdf").body(body.into()).unwrap()
}

async fn send(state: AppState, req: Request<Body>) -> (StatusCode, Value) {
    let res = app(state).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

#[tokio::test]
async fn healthz_reports_ok_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let (status, json) = send(state(&dir, 1 << 20).await, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "ok");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn first_load_prepares_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir, 1 << 20).await;
    let data = dir.path().join("data");
    assert!(data.join("trust/README.txt").is_file());
    assert!(data.join("tmp").is_dir());
    assert_eq!(st.trust_anchor_count(), 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
    // A second start keeps what is there.
    assert_eq!(state(&dir, 1 << 20).await.trust_anchor_count(), 0);
}

#[tokio::test]
async fn verify_unsigned_pdf_is_not_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (status, json) =
        send(state(&dir, 1 << 20).await, post_pdf(signet_testkit::test_pdf(&[signet_testkit::TestPage::A4]))).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["valid"], false);
    assert_eq!(json["signatures"].as_array().unwrap().len(), 0);
    // The upload is gone once answered.
    assert_eq!(std::fs::read_dir(dir.path().join("data/tmp")).unwrap().count(), 0);
}

#[tokio::test]
async fn verify_garbage_is_unreadable_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let (status, json) = send(state(&dir, 1 << 20).await, post_pdf("this is not a PDF at all")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["error"]["code"], "unreadable_pdf");
    assert!(json["error"]["message"].as_str().unwrap().contains("not a PDF"), "{json}");
}

#[tokio::test]
async fn verify_empty_body_is_bad_request() {
    let dir = tempfile::tempdir().unwrap();
    let (status, json) = send(state(&dir, 1 << 20).await, post_pdf(Body::empty())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["code"], "empty_body");
}

#[tokio::test]
async fn verify_over_the_limit_is_payload_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let (status, json) =
        send(state(&dir, 100).await, post_pdf(signet_testkit::test_pdf(&[signet_testkit::TestPage::A4]))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn verify_other_content_type_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let req = Request::post("/api/v1/verify")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(signet_testkit::test_pdf(&[signet_testkit::TestPage::A4])))
        .unwrap();
    let (status, json) = send(state(&dir, 1 << 20).await, req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn unknown_route_is_json_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let (status, json) =
        send(state(&dir, 1 << 20).await, Request::get("/api/v1/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["error"]["code"], "not_found");
}
