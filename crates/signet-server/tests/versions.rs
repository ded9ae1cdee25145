//! Document versions: an upload starts a line, signing the latest adds the signed output as
//! the next version (stored byte for byte as answered), updates need `If-Match` and lose
//! nothing when two systems change one document; on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use signet_server::{AppState, ServerConfig, app};
use signet_store::{Scope, TenantLimits};
use signet_testkit::{TestDatabase, TestPage, test_pdf};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
}

async fn send(state: &AppState, req: Request<Body>) -> Answer {
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer { status, headers, body }
}

fn sha256(bytes: &[u8]) -> String {
    signet_store::sha256_hex(bytes)
}

#[tokio::test]
async fn versions_signed_output_is_archived_as_answered_and_no_update_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let config = ServerConfig {
            data_dir: dir.path().join(format!("data-{}", db.backend)),
            database_url: Some(db.url.clone()),
            ..ServerConfig::default()
        };
        let state = AppState::load(&config).await.unwrap();
        let t = state
            .store()
            .create_tenant("acme", &TenantLimits { quota_period: "month".into(), ..Default::default() })
            .await
            .unwrap();
        let key = state
            .store()
            .create_api_key(Some(&t.id), "erp", &[Scope::Manage, Scope::SignDocument])
            .await
            .unwrap()
            .token;
        let auth = format!("Bearer {key}");
        let post_json = |uri: &str, body: Value| {
            Request::post(uri)
                .header(header::AUTHORIZATION, &auth)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let a = send(
            &state,
            post_json("/api/v1/identities", json!({"name": "seal", "issue": {"common_name": "ACME seal"}})),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.json());

        // version 1: an upload
        let pdf = test_pdf(&[TestPage::A4]);
        let up = send(
            &state,
            Request::post("/api/v1/documents")
                .header(header::AUTHORIZATION, &auth)
                .header(header::CONTENT_TYPE, "application/pdf")
                .body(Body::from(pdf.clone()))
                .unwrap(),
        )
        .await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&up.body));
        let v1 = up.json()["id"].as_str().unwrap().to_string();
        assert_eq!(up.header("etag"), format!("\"{v1}\""));

        // version 2: signed through the agent; the answer's bytes are the archived bytes
        let signed = send(
            &state,
            Request::post(format!("/api/v1/documents/sign?identity=seal&document_id={v1}"))
                .header(header::AUTHORIZATION, &auth)
                .header(header::IF_MATCH, format!("\"{v1}\""))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(signed.status, StatusCode::OK, "{}: {}", db.backend, String::from_utf8_lossy(&signed.body));
        let v2 = signed.header("x-signet-document-id");
        assert_eq!(signed.header("x-signet-document-version"), "2");
        assert_eq!(signed.header("x-signet-document-sha256"), sha256(&signed.body));
        let content = send(
            &state,
            Request::get(format!("/api/v1/documents/{v2}/content"))
                .header(header::AUTHORIZATION, &auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(content.status, StatusCode::OK);
        assert_eq!(sha256(&content.body), sha256(&signed.body), "{}: archived != answered", db.backend);
        assert_eq!(content.body, signed.body);
        let list = send(
            &state,
            Request::get(format!("/api/v1/documents/{v1}/versions"))
                .header(header::AUTHORIZATION, &auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(list.status, StatusCode::OK);
        let versions = list.json();
        assert_eq!(versions.as_array().unwrap().len(), 2, "{versions}");
        assert_eq!(versions[0]["document"]["sha256"], sha256(&pdf));
        assert_eq!(versions[1]["document"]["sha256"], sha256(&signed.body));
        assert_eq!(versions[1]["document"]["source_id"], v1.as_str());
        assert_eq!(list.header("etag"), format!("\"{v2}\""));

        // the old version is not signed again
        let old = send(
            &state,
            Request::post(format!("/api/v1/documents/sign?identity=seal&document_id={v1}"))
                .header(header::AUTHORIZATION, &auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(old.status, StatusCode::PRECONDITION_FAILED, "{}", String::from_utf8_lossy(&old.body));

        // two systems update from version 2: one wins, the other is told
        let update = |etag: Option<String>| {
            let mut r = Request::post(format!("/api/v1/documents/{v1}/versions"))
                .header(header::AUTHORIZATION, &auth)
                .header(header::CONTENT_TYPE, "application/pdf");
            if let Some(e) = etag {
                r = r.header(header::IF_MATCH, e);
            }
            r.body(Body::from(test_pdf(&[TestPage::A4, TestPage::A4]))).unwrap()
        };
        let none = send(&state, update(None)).await;
        assert_eq!(none.status, StatusCode::PRECONDITION_REQUIRED);
        let (first, second) = tokio::join!(
            send(&state, update(Some(format!("\"{v2}\"")))),
            send(&state, update(Some(format!("\"{v2}\""))))
        );
        let mut statuses = [first.status, second.status];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::CREATED, StatusCode::PRECONDITION_FAILED], "{}", db.backend);
        let winner = if first.status == StatusCode::CREATED { &first } else { &second };
        assert_eq!(winner.json()["version"], 3);
        let list = send(
            &state,
            Request::get(format!("/api/v1/documents/{v2}/versions"))
                .header(header::AUTHORIZATION, &auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(list.json().as_array().unwrap().len(), 3);
        state.store().close().await;
    }
}
