//! Webhooks end to end on every database of the test run (SQLite, and PostgreSQL when
//! `SIGNET_TEST_POSTGRES_URL` is set, as scripts/test.sh does): the API through
//! `app(state).oneshot(…)`, the worker running, and receivers listening on 127.0.0.1 that
//! check each request's signature with their own HMAC-SHA256.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use signet_server::{AppState, ServerConfig, app};
use signet_store::{Scope, TenantLimits};
use signet_testkit::{TestDatabase, TestPage, test_pdf};
use tower::ServiceExt;

/// How long a receiver accepts a signature's timestamp from its clock.
const TOLERANCE_SECS: u64 = 300;

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    event: String,
    delivery: String,
    signature: String,
    body: Vec<u8>,
    /// The signature is the receiver's secret's, and recent.
    verified: bool,
    /// It would also pass with a secret the receiver does not have (it must not).
    passes_wrong_secret: bool,
    /// What the receiver answered.
    status: u16,
    at: Instant,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Debug)]
struct Shared {
    secret: Mutex<String>,
    failures_left: AtomicUsize,
    log: Mutex<Vec<Received>>,
}

/// A webhook receiver on 127.0.0.1: answers 500 to its first `failures` requests, then 200;
/// stopped by [`Receiver::stop`] (or when dropped).
struct Receiver {
    url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        let shared = Arc::new(Shared {
            secret: Mutex::new(String::new()),
            failures_left: AtomicUsize::new(failures),
            log: Mutex::new(Vec::new()),
        });
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Receiver { url, shared, stop: Some(stop), task: Some(task) }
    }

    fn set_secret(&self, secret: &str) {
        *self.shared.secret.lock().unwrap() = secret.to_string();
    }

    fn log(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        eventually(&format!("{count} request(s) at {}", self.url), async || {
            let log = self.log();
            (log.len() >= count).then_some(log)
        })
        .await
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn receive(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let signature = text("signet-signature");
    let secret = shared.secret.lock().unwrap().clone();
    let status = if shared.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    assert_eq!(text("content-type"), "application/json");
    shared.log.lock().unwrap().push(Received {
        event: text("signet-event"),
        delivery: text("signet-delivery"),
        verified: verify(&secret, &signature, &body),
        passes_wrong_secret: verify("whsec_not-the-secret", &signature, &body),
        signature,
        body: body.to_vec(),
        status: status.as_u16(),
        at: Instant::now(),
    });
    status
}

/// What a receiver does: `t` recent, and one `v1` equal to HMAC-SHA256(secret, "t.body").
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<u64>().ok(),
            Some(("v1", v)) => tags.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    if now.abs_diff(t) > TOLERANCE_SECS {
        return false;
    }
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    let expected = hex(&hmac_sha256(secret.as_bytes(), &message));
    // a receiver compares in constant time; the test only needs equality
    tags.contains(&expected)
}

/// RFC 2104 over SHA-256, written out (independent of the server's aws-lc-rs HMAC).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_receivers_hmac_is_rfc_4231() {
    // RFC 4231 test case 2
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

/// Polls `check` until it gives a value, for at most 20 s.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A server state on `db` with its webhook worker running: retries after ~100 ms, 3 attempts.
async fn start(dir: &std::path::Path, db: &TestDatabase) -> AppState {
    let config = ServerConfig {
        data_dir: dir.join(format!("data-{}", db.backend)),
        database_url: Some(db.url.clone()),
        webhook_retry_base: Duration::from_millis(100),
        webhook_max_attempts: 3,
        ..ServerConfig::default()
    };
    let state = AppState::load(&config).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend));
    state.webhooks().start();
    state
}

/// Runs `test` on a fresh state for each database.
async fn each_database(test: impl AsyncFn(AppState, &'static str)) {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let state = start(dir.path(), &db).await;
        test(state.clone(), db.backend).await;
        state.webhooks().shutdown(Duration::from_secs(5)).await;
        state.store().close().await;
    }
}

/// A tenant and a key of it with `manage` and `sign-document`; the key's token.
async fn tenant(state: &AppState, name: &str) -> String {
    let limits = TenantLimits { quota_period: "month".into(), ..TenantLimits::default() };
    let t = state.store().create_tenant(name, &limits).await.unwrap();
    state.store().create_api_key(Some(&t.id), "test", &[Scope::Manage, Scope::SignDocument]).await.unwrap().token
}

async fn send(state: &AppState, token: &str, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(json) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let res = app(state.clone()).oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    (status, json)
}

async fn create_webhook(state: &AppState, token: &str, receiver: &Receiver, events: Value) -> (String, String) {
    let (status, json) =
        send(state, token, Method::POST, "/api/v1/webhooks", Some(json!({"url": receiver.url, "events": events})))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let secret = json["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{json}");
    receiver.set_secret(&secret);
    (json["id"].as_str().unwrap().to_string(), secret)
}

/// A signing identity `seal` issued by the built-in CA.
async fn identity(state: &AppState, token: &str) {
    let req = json!({"name": "seal", "issue": {"common_name": "ACME seal", "organization": "ACME", "country": "FR"}});
    let (status, json) = send(state, token, Method::POST, "/api/v1/identities", Some(req)).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
}

/// Signs a one-page PDF with the agent; the signed document's id and SHA-256.
async fn sign(state: &AppState, token: &str) -> (String, String) {
    let req = Request::post("/api/v1/documents/sign?identity=seal")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(Body::from(test_pdf(&[TestPage::A4])))
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let header = |name: &str| res.headers().get(name).unwrap().to_str().unwrap().to_string();
    (header("x-signet-document-id"), header("x-signet-document-sha256"))
}

/// Runs a batch of `n` one-page PDFs; its id.
async fn batch(state: &AppState, token: &str, n: usize) -> String {
    let boundary = "signet-test-boundary";
    let mut body = Vec::new();
    for i in 0..n {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d{i}.pdf\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&test_pdf(&[TestPage::A4]));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let req = Request::post("/api/v1/batches?identity=seal")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let json: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    json["id"].as_str().unwrap().to_string()
}

/// A delivery of the webhook, from the API, once `done` says it is as expected.
async fn delivery_when(
    state: &AppState,
    token: &str,
    webhook: &str,
    delivery: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(&format!("delivery {delivery}"), async || {
        let (status, page) =
            send(state, token, Method::GET, &format!("/api/v1/webhooks/{webhook}/deliveries"), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["deliveries"].as_array().unwrap().iter().find(|d| d["id"] == delivery && done(d)).cloned()
    })
    .await
}

/// The acceptance test: a receiver that fails twice gets the event on the third try, signed,
/// with the same event id each time; the delivery log shows the three attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_try() {
    each_database(async |state, backend| {
        let token = tenant(&state, "acme").await;
        identity(&state, &token).await;
        let receiver = Receiver::start(2).await;
        let (webhook, _) = create_webhook(&state, &token, &receiver, json!(["document.signed"])).await;
        let (document_id, sha256) = sign(&state, &token).await;

        let got = receiver.wait_for(3).await;
        assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 500, 200], "{backend}");
        for r in &got {
            assert!(r.verified, "{backend}: the signature does not verify: {}", r.signature);
            assert!(!r.passes_wrong_secret, "{backend}: a wrong secret verifies");
            assert_eq!(r.event, "document.signed");
            assert_eq!(r.delivery, got[0].delivery, "one delivery, retried");
            assert_eq!(r.body, got[0].body, "the same bytes each time");
        }
        // the backoff: ~100 ms, then ~200 ms (±25 %)
        assert!(got[1].at - got[0].at >= Duration::from_millis(70), "{backend}: {:?}", got[1].at - got[0].at);
        assert!(got[2].at - got[1].at >= Duration::from_millis(145), "{backend}: {:?}", got[2].at - got[1].at);
        let event = got[2].json();
        assert!(event["id"].as_str().unwrap().starts_with("evt_"), "{event}");
        assert_eq!(event["type"], "document.signed");
        assert!(event["tenant"].as_str().unwrap().starts_with("tn_"));
        assert!(event["created_at"].as_str().unwrap().ends_with('Z'));
        let data = &event["data"];
        assert_eq!(data["document_id"], document_id.as_str(), "{event}");
        assert_eq!(data["sha256"], sha256.as_str());
        assert_eq!(data["identity"], "seal");
        assert_eq!(data["level"], "B-B");
        assert!(data["size"].as_i64().unwrap() > 0);

        let d = delivery_when(&state, &token, &webhook, &got[0].delivery, |d| d["state"] == "delivered").await;
        assert_eq!(d["attempts"], 3, "{backend}: {d}");
        assert_eq!(d["event_id"], event["id"]);
        assert_eq!(d["event_type"], "document.signed");
        assert_eq!(d["last_status_code"], 200);
        assert!(d["delivered_at"].is_i64() && d["next_attempt_at"].is_null(), "{d}");
        let log = d["attempt_log"].as_array().unwrap();
        assert_eq!(log.iter().map(|a| a["n"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(log.iter().map(|a| a["status_code"].as_i64().unwrap()).collect::<Vec<_>>(), vec![500, 500, 200]);
        assert!(log[0]["error"].as_str().unwrap().starts_with("HTTP 500"), "{d}");
        assert!(log[2]["error"].is_null());
        receiver.stop().await;
    })
    .await;
}

/// Filters, tenants and deletion: an endpoint gets only the types it asked for, another
/// tenant does not see it, and a deleted one gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_tenants_and_deletion() {
    each_database(async |state, backend| {
        let token = tenant(&state, "acme").await;
        let other = tenant(&state, "other").await;
        identity(&state, &token).await;
        let batches = Receiver::start(0).await;
        let documents = Receiver::start(0).await;
        let (batches_hook, _) = create_webhook(&state, &token, &batches, json!(["batch.completed"])).await;
        let (documents_hook, _) = create_webhook(&state, &token, &documents, json!(["document.signed"])).await;

        let (document_id, _) = sign(&state, &token).await;
        let batch_id = batch(&state, &token, 2).await;
        let got = batches.wait_for(1).await;
        let event = got[0].json();
        assert_eq!((got[0].event.as_str(), got[0].verified), ("batch.completed", true), "{backend}");
        assert_eq!(event["data"], json!({"batch_id": batch_id, "total": 2, "signed": 2, "failed": 0}), "{backend}");
        let got = documents.wait_for(1).await;
        assert_eq!(got[0].json()["data"]["document_id"], document_id.as_str());
        // the batch's documents are not agent signings, and nothing else was sent
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(batches.log().len(), 1, "{backend}");
        assert_eq!(documents.log().len(), 1, "{backend}");

        // another tenant's key: every operation is a 404
        let delivery = got[0].delivery.clone();
        for (method, uri, body) in [
            (Method::GET, format!("/api/v1/webhooks/{documents_hook}"), None),
            (Method::PATCH, format!("/api/v1/webhooks/{documents_hook}"), Some(json!({"active": false}))),
            (Method::DELETE, format!("/api/v1/webhooks/{documents_hook}"), None),
            (Method::GET, format!("/api/v1/webhooks/{documents_hook}/deliveries"), None),
            (Method::POST, format!("/api/v1/webhooks/{documents_hook}/ping"), None),
            (Method::POST, format!("/api/v1/webhooks/{documents_hook}/rotate-secret"), None),
            (Method::POST, format!("/api/v1/webhooks/deliveries/{delivery}/redeliver"), None),
        ] {
            let (status, json) = send(&state, &other, method.clone(), &uri, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{backend}: {method} {uri}: {json}");
            assert_eq!(json["error"]["code"], "not_found");
        }
        let (_, list) = send(&state, &other, Method::GET, "/api/v1/webhooks", None).await;
        assert_eq!(list, json!([]));
        let (_, list) = send(&state, &token, Method::GET, "/api/v1/webhooks", None).await;
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(list[0].get("secret").is_none(), "the secret is shown once: {list}");

        // a deleted endpoint gets nothing more
        let (status, _) =
            send(&state, &token, Method::DELETE, &format!("/api/v1/webhooks/{documents_hook}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = send(&state, &token, Method::GET, &format!("/api/v1/webhooks/{documents_hook}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        sign(&state, &token).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(documents.log().len(), 1, "{backend}: a deleted webhook was sent an event");

        // a disabled endpoint neither; enabled again, it receives
        let uri = format!("/api/v1/webhooks/{batches_hook}");
        let (status, json) = send(&state, &token, Method::PATCH, &uri, Some(json!({"active": false}))).await;
        assert_eq!((status, &json["active"]), (StatusCode::OK, &json!(false)), "{json}");
        let quiet = batch(&state, &token, 1).await;
        eventually("the batch to finish", async || {
            let (_, b) = send(&state, &token, Method::GET, &format!("/api/v1/batches/{quiet}?limit=0"), None).await;
            (b["state"] == "done").then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(batches.log().len(), 1, "{backend}: a disabled webhook was sent an event");
        let (status, json) = send(&state, &token, Method::POST, &format!("{uri}/ping"), None).await;
        assert_eq!((status, json["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("webhook_disabled")));
        send(&state, &token, Method::PATCH, &uri, Some(json!({"active": true, "events": ["*"]}))).await;
        let (status, _) = send(&state, &token, Method::POST, &format!("{uri}/ping"), None).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(batches.wait_for(2).await[1].event, "ping");
        batches.stop().await;
        documents.stop().await;
    })
    .await;
}

/// Ping, redelivery, secret rotation, an endpoint that never answers 2xx, and refused input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_rotation_and_giving_up() {
    each_database(async |state, backend| {
        let token = tenant(&state, "acme").await;
        let receiver = Receiver::start(0).await;
        let (webhook, first_secret) = create_webhook(&state, &token, &receiver, json!(["batch.completed"])).await;
        let hook = format!("/api/v1/webhooks/{webhook}");

        // ping goes to this endpoint whatever its filter
        let (status, ping) = send(&state, &token, Method::POST, &format!("{hook}/ping"), None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ping}");
        assert_eq!((ping["state"].as_str(), ping["event_type"].as_str()), (Some("pending"), Some("ping")));
        let got = receiver.wait_for(1).await;
        assert!(got[0].verified, "{backend}");
        assert_eq!(got[0].delivery, ping["id"].as_str().unwrap());
        assert_eq!(got[0].json()["data"], json!({"webhook_id": webhook}));

        // redelivery: a new delivery, the same event and bytes
        let uri = format!("/api/v1/webhooks/deliveries/{}/redeliver", ping["id"].as_str().unwrap());
        let (status, again) = send(&state, &token, Method::POST, &uri, None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{again}");
        assert_ne!(again["id"], ping["id"]);
        assert_eq!(again["event_id"], ping["event_id"]);
        let got = receiver.wait_for(2).await;
        assert_eq!(got[1].delivery, again["id"].as_str().unwrap());
        assert_eq!(got[1].body, got[0].body, "{backend}");
        assert!(got[1].verified);

        // rotation: the new secret signs, the old one no longer does
        let (status, rotated) = send(&state, &token, Method::POST, &format!("{hook}/rotate-secret"), None).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let new_secret = rotated["secret"].as_str().unwrap().to_string();
        assert_ne!(new_secret, first_secret);
        send(&state, &token, Method::POST, &format!("{hook}/ping"), None).await;
        let got = receiver.wait_for(3).await;
        assert!(!got[2].verified, "{backend}: signed with the old secret after a rotation");
        receiver.set_secret(&new_secret);
        assert!(verify(&new_secret, &got[2].signature, &got[2].body));
        assert_eq!(got[2].signature.matches("v1=").count(), 1);
        // with a grace period, both sign
        let uri = format!("{hook}/rotate-secret?previous_valid_seconds=600");
        let (_, rotated) = send(&state, &token, Method::POST, &uri, None).await;
        let newest = rotated["secret"].as_str().unwrap().to_string();
        assert!(rotated["previous_secret_until"].is_i64(), "{rotated}");
        send(&state, &token, Method::POST, &format!("{hook}/ping"), None).await;
        let got = receiver.wait_for(4).await;
        assert!(got[3].verified, "{backend}: the previous secret signs during the grace period");
        assert!(verify(&newest, &got[3].signature, &got[3].body));
        let (status, _) =
            send(&state, &token, Method::POST, &format!("{hook}/rotate-secret?previous_valid_seconds=-1"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // an endpoint that always fails: failed after the last attempt
        let failing = Receiver::start(usize::MAX).await;
        let (failing_hook, _) = create_webhook(&state, &token, &failing, json!([])).await;
        let (_, ping) =
            send(&state, &token, Method::POST, &format!("/api/v1/webhooks/{failing_hook}/ping"), None).await;
        let id = ping["id"].as_str().unwrap().to_string();
        let d = delivery_when(&state, &token, &failing_hook, &id, |d| d["state"] == "failed").await;
        assert_eq!(d["attempts"], 3, "{backend}: {d}");
        assert_eq!(d["last_status_code"], 500);
        assert!(d["last_error"].as_str().unwrap().starts_with("HTTP 500"), "{d}");
        assert_eq!(d["attempt_log"].as_array().unwrap().len(), 3);
        assert_eq!(failing.log().len(), 3, "{backend}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(failing.log().len(), 3, "{backend}: attempted after failing");

        // refused input
        for (body, code) in [
            (json!({"url": "ftp://127.0.0.1/x"}), "bad_url"),
            (json!({"url": "http://user:pw@127.0.0.1/x"}), "bad_url"),
            (json!({"url": "not a url"}), "bad_url"),
            (json!({"url": receiver.url, "events": ["document.deleted"]}), "bad_events"),
            (json!({"url": receiver.url, "secret": "mine"}), "bad_json"),
        ] {
            let (status, json) = send(&state, &token, Method::POST, "/api/v1/webhooks", Some(body.clone())).await;
            assert_eq!((status, json["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{body}");
        }
        let (status, json) = send(&state, &token, Method::GET, &format!("{hook}/deliveries?limit=0"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");

        // pages of the log, newest first
        let (_, page) = send(&state, &token, Method::GET, &format!("{hook}/deliveries?limit=2"), None).await;
        let ids: Vec<&str> = page["deliveries"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids[0] > ids[1], "{page}");
        let next = page["next_before"].as_str().unwrap();
        let (_, rest) =
            send(&state, &token, Method::GET, &format!("{hook}/deliveries?limit=10&before={next}"), None).await;
        assert_eq!(rest["deliveries"].as_array().unwrap().len(), 2, "{backend}: {rest}");
        assert!(rest["next_before"].is_null());
        receiver.stop().await;
        failing.stop().await;
    })
    .await;
}
