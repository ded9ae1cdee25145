//! Seal authorization by people: a grant to a role that asks for an approval per use, the
//! request, the decision by another seal administrator, one signing per approved request; a
//! personal seal used by its holder only; on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use signet_server::{AppState, ServerConfig, app};
use signet_store::{Scope, TenantLimits};
use signet_testkit::{TestDatabase, TestPage, test_pdf};
use tower::ServiceExt;

#[derive(Clone)]
enum Auth {
    Key(String),
    Session(String, String),
}

async fn call(state: &AppState, auth: &Auth, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    req = match auth {
        Auth::Key(t) => req.header(header::AUTHORIZATION, format!("Bearer {t}")),
        Auth::Session(c, x) => req.header(header::COOKIE, c.as_str()).header("x-csrf-token", x.as_str()),
    };
    let body = match body {
        Some(j) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(j.to_string())
        }
        None => {
            req = req.header(header::CONTENT_TYPE, "application/pdf");
            Body::from(test_pdf(&[TestPage::A4]))
        }
    };
    let res = app(state.clone()).oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

const PASSWORD: &str = "seal password 12345";

async fn person(state: &AppState, admin: &Auth, name: &str, roles: Value) -> (String, Auth) {
    let (st, user) = call(
        state,
        admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": name, "roles": roles, "password": PASSWORD})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{user}");
    let res = app(state.clone())
        .oneshot(
            Request::post("/api/v1/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"tenant": "acme", "username": name, "password": PASSWORD}).to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie =
        res.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    (user["id"].as_str().unwrap().to_string(), Auth::Session(cookie, body["csrf_token"].as_str().unwrap().to_string()))
}

#[tokio::test]
async fn each_use_needs_an_approval_and_personal_seals_stay_personal() {
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
        let admin =
            Auth::Key(state.store().create_api_key(Some(&t.id), "admin", &[Scope::Manage]).await.unwrap().token);
        let (_, boss) = person(&state, &admin, "boss", json!(["seal_admin"])).await;
        let (_, deputy) = person(&state, &admin, "deputy", json!(["seal_admin", "seal_user"])).await;
        let (clerk_id, clerk) = person(&state, &admin, "clerk", json!(["seal_user"])).await;
        let (zhang_id, zhang) = person(&state, &admin, "zhang", json!(["signer"])).await;

        // the company seal: seal users may use it, each time with an approval
        let (st, seal) = call(&state, &boss, Method::POST, "/api/v1/seals",
            Some(json!({"name": "ACME official seal", "kind": "company", "generate": {"shape": "round", "text": "艾克米有限公司"}}))).await;
        assert_eq!(st, StatusCode::CREATED, "{}: {seal}", db.backend);
        let seal = seal["id"].as_str().unwrap().to_string();
        let (st, g) = call(
            &state,
            &boss,
            Method::POST,
            &format!("/api/v1/seals/{seal}/grants"),
            Some(json!({"role": "seal_user", "requires_approval": true})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{g}");
        let sign = format!("/api/v1/documents/sign?seal={seal}&page=1&rect=300,50,450,200");

        let (st, e) = call(&state, &clerk, Method::POST, &sign, None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(e["error"]["message"].as_str().unwrap().contains("needs an approved request"), "{e}");
        let (st, r) = call(
            &state,
            &clerk,
            Method::POST,
            &format!("/api/v1/seals/{seal}/requests"),
            Some(json!({"reason": "sales contract 2026-118"})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        let request = r["id"].as_str().unwrap().to_string();
        assert_eq!(r["state"], "pending");
        // pending: not usable yet
        let (st, _) = call(&state, &clerk, Method::POST, &format!("{sign}&seal_request={request}"), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // the seal administrators see it; the asker's own request is decided by someone else
        let (_, pending) = call(&state, &boss, Method::GET, "/api/v1/seal-requests?state=pending", None).await;
        assert_eq!(pending.as_array().unwrap().len(), 1);
        let (st, r2) = call(
            &state,
            &deputy,
            Method::POST,
            &format!("/api/v1/seals/{seal}/requests"),
            Some(json!({"reason": "mine"})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, e) = call(
            &state,
            &deputy,
            Method::POST,
            &format!("/api/v1/seal-requests/{}/approve", r2["id"].as_str().unwrap()),
            Some(json!({})),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
        let (st, d) = call(
            &state,
            &boss,
            Method::POST,
            &format!("/api/v1/seal-requests/{request}/approve"),
            Some(json!({"note": "ok"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["state"], "approved");
        // someone else cannot use the clerk's approval
        let (st, _) = call(&state, &deputy, Method::POST, &format!("{sign}&seal_request={request}"), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // one signing, then the request is spent
        let (st, e) = call(&state, &clerk, Method::POST, &format!("{sign}&seal_request={request}"), None).await;
        assert_eq!(st, StatusCode::OK, "{}: {e}", db.backend);
        let (st, e) = call(&state, &clerk, Method::POST, &format!("{sign}&seal_request={request}"), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(e["error"]["message"].as_str().unwrap().contains("used"), "{e}");
        // a rejected request allows nothing
        let (_, r3) = call(
            &state,
            &clerk,
            Method::POST,
            &format!("/api/v1/seals/{seal}/requests"),
            Some(json!({"reason": "again"})),
        )
        .await;
        let r3 = r3["id"].as_str().unwrap().to_string();
        let (st, _) = call(
            &state,
            &deputy,
            Method::POST,
            &format!("/api/v1/seal-requests/{r3}/reject"),
            Some(json!({"note": "no"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = call(&state, &clerk, Method::POST, &format!("{sign}&seal_request={r3}"), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // a system's key signs a digest with the seal once granted, never its identity directly
        let hash_key = state.store().create_api_key(Some(&t.id), "hasher", &[Scope::SignHash]).await.unwrap();
        let hasher = Auth::Key(hash_key.token.clone());
        let digest = json!({"seal": seal, "digest_algorithm": "sha256", "digest": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="});
        let (st, e) = call(&state, &hasher, Method::POST, "/api/v1/sign-hash", Some(digest.clone())).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
        let (st, _) = call(
            &state,
            &boss,
            Method::POST,
            &format!("/api/v1/seals/{seal}/grants"),
            Some(json!({"api_key_id": hash_key.key.id})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, e) = call(&state, &hasher, Method::POST, "/api/v1/sign-hash", Some(digest.clone())).await;
        assert_eq!(st, StatusCode::OK, "{}: {e}", db.backend);
        assert!(e["cms"].as_str().unwrap().len() > 100);
        let (_, identities) = call(&state, &hasher, Method::GET, "/api/v1/identities", None).await;
        let seal_identity = identities.as_array().unwrap()[0]["name"].as_str().unwrap().to_string();
        let direct = json!({"identity": seal_identity, "digest_algorithm": "sha256", "digest": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="});
        let (st, e) = call(&state, &hasher, Method::POST, "/api/v1/sign-hash", Some(direct)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("belongs to seal"), "{e}");

        // a personal seal: its holder signs with it, nobody else
        let (st, p) = call(&state, &boss, Method::POST, "/api/v1/seals",
            Some(json!({"name": "张三之印", "kind": "personal", "owner_user_id": zhang_id, "generate": {"shape": "square", "text": "张三之印"}}))).await;
        assert_eq!(st, StatusCode::CREATED, "{p}");
        let personal = p["id"].as_str().unwrap().to_string();
        let own = format!("/api/v1/documents/sign?seal={personal}&page=1&rect=300,50,400,150");
        let (st, e) = call(&state, &zhang, Method::POST, &own, None).await;
        assert_eq!(st, StatusCode::OK, "{e}");
        let (st, _) = call(&state, &clerk, Method::POST, &own, None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // the log tells who asked, who decided, who used
        let (_, log) = call(&state, &admin, Method::GET, &format!("/api/v1/audit?target={seal}"), None).await;
        let rows: Vec<(String, String, String)> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().into(),
                    e["actor"].as_str().unwrap().into(),
                    e["outcome"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(rows.contains(&("seal.use".into(), clerk_id.clone(), "ok".into())), "{rows:?}");
        assert!(rows.iter().any(|(a, _, o)| a == "seal.use" && o == "refused"), "{rows:?}");
        assert!(rows.iter().any(|(a, _, _)| a == "seal.use_approve"), "{rows:?}");
        state.store().close().await;
    }
}
