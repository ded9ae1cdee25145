//! The events feed end to end over HTTP, on every database of the run: documents signed
//! through the agent and seals created come out of `GET /api/v1/events` in pages of 2, each
//! exactly once and in order; the server is stopped and started again on the same data, more
//! events are made, and the reader continues from its saved cursor: again each event once,
//! none repeated, none missing. Webhook deliveries name the same event ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use signet_testkit::{Api, SignetServer, TestDatabase, TestPage, test_pdf};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";

/// The events after `cursor`, read in pages of 2 with `after` = the previous page's `next`;
/// returns them and the last `next` (the cursor to save).
fn read_feed(api: &Api, mut cursor: i64, filter: &str) -> (Vec<Value>, i64) {
    let mut events = Vec::new();
    loop {
        let page = api.get(&format!("/api/v1/events?after={cursor}&limit=2{filter}"));
        assert_eq!(page.status, 200, "{}", page.text());
        let page = page.json();
        let got = page["events"].as_array().unwrap().clone();
        assert!(got.len() <= 2, "{page}");
        let next = page["next"].as_i64().unwrap();
        if got.is_empty() {
            assert_eq!(next, cursor, "an empty page keeps the cursor");
            return (events, cursor);
        }
        assert_eq!(next, got.last().unwrap()["seq"].as_i64().unwrap(), "next is the last number of the page");
        cursor = next;
        events.extend(got);
    }
}

/// The next `n` events after `cursor`, waiting for them (an event is stored within
/// milliseconds of the answer that made it): [`read_feed`] again and again from the last
/// cursor. Returns them and the cursor after them.
fn next_events(api: &Api, mut cursor: i64, n: usize) -> (Vec<Value>, i64) {
    let start = std::time::Instant::now();
    let mut events = Vec::new();
    while events.len() < n {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "{} of {n} events came: {events:?}",
            events.len()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (more, next) = read_feed(api, cursor, "");
        events.extend(more);
        cursor = next;
    }
    assert_eq!(events.len(), n, "{events:?}");
    (events, cursor)
}

/// Signs a one-page PDF with `identity` through the agent; returns the stored document's id.
fn sign(api: &Api, identity: &str) -> String {
    let pdf = test_pdf(&[TestPage::A4]);
    let r = api.send(
        "POST",
        &format!("/api/v1/documents/sign?identity={identity}"),
        Some("application/pdf"),
        Some(&pdf),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("x-signet-document-id").unwrap().to_string()
}

fn create_seal(api: &Api, name: &str) -> String {
    let seal = api.ok_json(
        "POST",
        "/api/v1/seals",
        &json!({"name": name, "kind": "contract", "generate": {"shape": "round", "text": "ACME TRADING GMBH"}}),
    );
    seal["id"].as_str().unwrap().to_string()
}

/// The numbers of `events` are `from`, `from + 1`, …; returns their ids.
fn consecutive_from(events: &[Value], from: i64) -> Vec<String> {
    for (k, e) in events.iter().enumerate() {
        assert_eq!(e["seq"].as_i64(), Some(from + k as i64), "{e}");
    }
    events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

fn feed_on(db: &TestDatabase, dir: &Path) {
    let data = dir.join(format!("data-{}", db.backend));
    let args = ["--database-url", db.url.as_str()];
    let env = [("SIGNET_ADMIN_TOKEN", ADMIN)];
    let mut server = SignetServer::start_with_env(SIGNET, &data, &args, &env);
    // the same address after the restart
    let base = server.url("");
    let admin = Api::new(&base, Some(ADMIN));
    let key = |tenant: &str, scopes: Value| {
        let key =
            admin.ok_json("POST", &format!("/api/v1/tenants/{tenant}/keys"), &json!({"name": "k", "scopes": scopes}));
        key["token"].as_str().unwrap().to_string()
    };
    let tid = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "acme"}))["id"].as_str().unwrap().to_string();
    let manage = key(&tid, json!(["manage"]));
    let erp = key(&tid, json!(["sign-document"]));
    let hash_only = key(&tid, json!(["sign-hash"]));
    let other_tid =
        admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "other"}))["id"].as_str().unwrap().to_string();
    let other = key(&other_tid, json!(["sign-document", "manage"]));

    let api = |token: &str| Api::new(&base, Some(token));
    let (manager, reader) = (api(&manage), api(&erp));
    manager.ok_json("POST", "/api/v1/identities", &json!({"name": "erp", "issue": {"common_name": "ACME ERP"}}));
    api(&other).ok_json("POST", "/api/v1/identities", &json!({"name": "o", "issue": {"common_name": "Other"}}));
    // one endpoint, for seal events only (nothing listens there: its deliveries stay pending)
    let hook =
        manager.ok_json("POST", "/api/v1/webhooks", &json!({"url": "http://127.0.0.1:9/", "events": ["seal.*"]}));
    let hook_id = hook["id"].as_str().unwrap().to_string();

    // before anything: an empty feed
    assert_eq!(read_feed(&reader, 0, ""), (Vec::new(), 0));

    // three documents, a seal, two more documents; the other tenant signs one too
    let mut docs: Vec<String> = (0..3).map(|_| sign(&reader, "erp")).collect();
    let seal = create_seal(&manager, "Acme contract seal");
    docs.extend((0..2).map(|_| sign(&reader, "erp")));
    sign(&api(&other), "o");

    let (first, cursor) = next_events(&reader, 0, 6);
    assert_eq!(cursor, 6, "{first:?}");
    let first_ids = consecutive_from(&first, 1);
    let types: Vec<&str> = first.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["document.signed", "document.signed", "document.signed", "seal.created", "document.signed", "document.signed"]
    );
    let signed_docs: Vec<&str> = first
        .iter()
        .filter(|e| e["type"] == "document.signed")
        .map(|e| e["data"]["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(signed_docs, docs.iter().map(String::as_str).collect::<Vec<_>>(), "in the order they were signed");
    assert_eq!(first[0]["data"]["identity"], "erp");
    assert_eq!(first[3]["data"]["id"], seal.as_str());
    assert!(first.iter().all(|e| e["created_at"].as_str().unwrap().ends_with('Z')), "{first:?}");
    // the webhook's delivery carries the same event
    let deliveries = manager.get(&format!("/api/v1/webhooks/{hook_id}/deliveries")).json();
    let delivered: Vec<&str> =
        deliveries["deliveries"].as_array().unwrap().iter().map(|d| d["event_id"].as_str().unwrap()).collect();
    assert_eq!(delivered, [first_ids[3].as_str()], "{deliveries}");

    // filters, permissions, bad queries
    let (seals, _) = read_feed(&reader, 0, "&types=seal.*");
    assert_eq!(seals.iter().map(|e| e["seq"].as_i64().unwrap()).collect::<Vec<_>>(), [4]);
    let (signed, _) = read_feed(&manager, 3, "&types=document.signed,batch.completed");
    assert_eq!(signed.iter().map(|e| e["seq"].as_i64().unwrap()).collect::<Vec<_>>(), [5, 6]);
    assert_eq!(api(&hash_only).get("/api/v1/events").status, 403);
    assert_eq!(Api::new(&base, None).get("/api/v1/events").status, 401);
    for bad in ["types=document.deleted", "limit=0", "limit=201", "after=-1", "after=x", "before=3"] {
        let r = reader.get(&format!("/api/v1/events?{bad}"));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    let theirs = next_events(&api(&other), 0, 1).0;
    assert_eq!(theirs.len(), 1, "each tenant has its own feed: {theirs:?}");
    assert_eq!(theirs[0]["seq"], 1);

    // a restart on the same data; more events; the reader continues from its saved cursor
    server.stop();
    server = SignetServer::start_on(SIGNET, server.port, &data, &args, &env);
    let reader = api(&erp);
    assert_eq!(read_feed(&reader, cursor, ""), (Vec::new(), cursor), "nothing new after the restart");
    sign(&reader, "erp");
    create_seal(&api(&manage), "Acme second seal");
    sign(&reader, "erp");
    let (second, cursor) = next_events(&reader, cursor, 3);
    assert_eq!(cursor, 9);
    let second_ids = consecutive_from(&second, 7);
    let types: Vec<&str> = second.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["document.signed", "seal.created", "document.signed"]);

    // nothing more comes; from the start again: every event exactly once, in order
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(read_feed(&reader, cursor, ""), (Vec::new(), cursor));
    let (all, _) = read_feed(&reader, 0, "");
    let all_ids = consecutive_from(&all, 1);
    assert_eq!(all_ids, [first_ids, second_ids].concat());
    assert_eq!(all_ids.iter().collect::<BTreeSet<_>>().len(), 9, "no event twice");
    server.stop();
}

#[test]
fn the_feed_returns_each_event_once_across_pages_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        feed_on(&db, dir.path());
    }
}
