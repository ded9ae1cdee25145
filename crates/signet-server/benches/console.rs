//! The console's pages with 10,000 envelopes in the tenant, measured at the server (the app
//! called in process, no network): the page shell, the first page of the envelope list, a
//! page deep in the list (cursor), a status filter, a search, the status counts and one
//! envelope with its history. Target: each under 200 ms.
//!
//! The database is SQLite in a temporary directory, or PostgreSQL when
//! `SIGNET_BENCH_POSTGRES_URL` names one (a fresh database is made in it).
//!
//! Run: `cargo bench -p signet-server --bench console`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use signet_server::envelopes::{Envelope, Field, Party};
use signet_server::{AppState, ServerConfig, app};
use signet_store::{Scope, TenantLimits};
use tower::ServiceExt;

const ENVELOPES: usize = 10_000;
const STATUSES: [&str; 5] = ["sent", "completed", "completed", "declined", "draft"];

fn envelope(i: usize, document: &str, creator: &str) -> Envelope {
    let now = signet_store::now_millis();
    let party = |n: usize, status: &str| Party {
        id: signet_store::new_id("pty"),
        name: format!("Party {n} of contract {i}"),
        email: Some(format!("party{n}.{i}@example.com")),
        user_id: None,
        kind: "external".into(),
        role: "signer".into(),
        order: n as i64,
        seal_id: None,
        status: status.into(),
        notified_at: Some(now),
        signed_at: None,
        decline_reason: None,
        fields: vec![Field {
            id: signet_store::new_id("fld"),
            kind: "signature".into(),
            page: 1,
            rect: [60.0, 80.0, 260.0, 150.0],
            label: None,
            value: None,
        }],
        evidence: None,
        own_key: None,
    };
    let status = STATUSES[i % STATUSES.len()];
    Envelope {
        id: signet_store::new_id("env"),
        title: format!("Supply contract 2026-{i:05}"),
        message: None,
        status: status.into(),
        document_id: document.into(),
        current_document_id: document.into(),
        final_document_id: None,
        certificate_document_id: None,
        certify: true,
        expires_at: None,
        reminder_interval_hours: None,
        next_reminder_at: None,
        created_by: creator.into(),
        created_at: now,
        updated_at: now,
        sent_at: Some(now),
        completed_at: None,
        void_reason: None,
        parties: vec![party(1, "signed"), party(2, "notified")],
    }
}

struct Console {
    _db: Option<signet_testkit::TestDatabase>,
    _dir: tempfile::TempDir,
    state: AppState,
    token: String,
    deep_cursor: String,
    one: String,
}

async fn setup() -> Console {
    let dir = tempfile::tempdir().unwrap();
    let db =
        std::env::var("SIGNET_BENCH_POSTGRES_URL").ok().map(|admin| signet_testkit::TestDatabase::postgres(&admin));
    let database_url = db.as_ref().map(|d| d.url.clone());
    let config = ServerConfig { data_dir: dir.path().join("data"), database_url, ..ServerConfig::default() };
    let state = AppState::load(&config).await.unwrap();
    let tenant = state.store().create_tenant("bench", &TenantLimits::default()).await.unwrap();
    let key = state.store().create_api_key(Some(&tenant.id), "console", &[Scope::SignDocument]).await.unwrap();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(ENVELOPES);
    for i in 0..ENVELOPES {
        let e = envelope(i, "doc_bench", &key.key.id);
        let write = signet_server::envelopes::stored_form(&e);
        state.store().insert_envelope(&tenant.id, &e.id, &key.key.id, &write, &[]).await.unwrap();
        ids.push(e.id);
    }
    eprintln!("{ENVELOPES} envelopes written in {:.1} s", started.elapsed().as_secs_f64());
    Console {
        _db: db,
        deep_cursor: ids[ENVELOPES / 2].clone(),
        one: ids[ENVELOPES - 7].clone(),
        _dir: dir,
        state,
        token: key.token,
    }
}

async fn get(c: &Console, uri: &str) -> usize {
    let req =
        Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {}", c.token)).body(Body::empty()).unwrap();
    let res = app(c.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{uri}");
    res.into_body().collect().await.unwrap().to_bytes().len()
}

fn bench_console(crit: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(setup());
    let pages = [
        ("console page", "/console/".to_string()),
        ("envelopes, first page", "/api/v1/envelopes?limit=50".to_string()),
        ("envelopes, page at 5,000", format!("/api/v1/envelopes?limit=50&before={}", c.deep_cursor)),
        ("envelopes, status filter", "/api/v1/envelopes?limit=50&status=declined".to_string()),
        ("envelopes, search", "/api/v1/envelopes?limit=50&q=party2.9876%40".to_string()),
        ("envelope counts", "/api/v1/envelopes/counts".to_string()),
        ("one envelope", format!("/api/v1/envelopes/{}", c.one)),
        ("its history", format!("/api/v1/envelopes/{}/history", c.one)),
    ];
    let mut group = crit.benchmark_group("console with 10,000 envelopes");
    group.measurement_time(Duration::from_secs(3)).sample_size(30);
    let mut worst = Vec::new();
    for (name, uri) in &pages {
        group.bench_function(*name, |b| b.iter(|| rt.block_on(get(&c, uri))));
        // the slowest of 30 loads, against the 200 ms target
        let slowest = (0..30)
            .map(|_| {
                let t = Instant::now();
                rt.block_on(get(&c, uri));
                t.elapsed()
            })
            .max()
            .unwrap();
        worst.push((*name, slowest));
    }
    group.finish();
    for (name, t) in worst {
        let verdict = if t < Duration::from_millis(200) { "ok" } else { "OVER 200 ms" };
        println!("{name:<28} slowest of 30: {:>8.2} ms  {verdict}", t.as_secs_f64() * 1000.0);
    }
}

criterion_group!(benches, bench_console);
criterion_main!(benches);
