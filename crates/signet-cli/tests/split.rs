//! The split deployment: a signing agent (`signet serve --sign-api-url`) on the customer's
//! side, the hash-signing API in another `signet serve`. The document goes to the agent only;
//! the remote side's own request log and data show that only digests reached it. On every
//! database of the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use serde_json::json;
use signet_testkit::{Api, SignetServer, TestDatabase, marked_pdf, save_root_pem, validate_level};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_splitadmin.abcdefghijklmnopqrstuvwxyz234567";
const MARKER: &str = "CONFIDENTIAL-CONTRACT-7f3a9c-DO-NOT-LEAVE-THE-PREMISES";

/// Every file under `dir`, searched for `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

fn split_on(remote_db: &TestDatabase, agent_db: &TestDatabase, dir: &Path) {
    let backend = remote_db.backend;
    // the hash-signing side: a tenant, a key that may only sign digests, an identity
    let remote_data = dir.join(format!("remote-{backend}"));
    let remote = SignetServer::start_with_env(
        SIGNET,
        &remote_data,
        &["--database-url", &remote_db.url],
        &[("SIGNET_ADMIN_TOKEN", ADMIN)],
    );
    let r_admin = Api::new(&remote.url(""), Some(ADMIN));
    let t = r_admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "provider-customer"}));
    let manage = r_admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{}/keys", t["id"].as_str().unwrap()),
        &json!({"name": "m", "scopes": ["manage"]}),
    );
    let sign_key = r_admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{}/keys", t["id"].as_str().unwrap()),
        &json!({"name": "agent", "scopes": ["sign-hash"]}),
    );
    Api::new(&remote.url(""), manage["token"].as_str()).ok_json(
        "POST",
        "/api/v1/identities",
        &json!({"name": "seal", "issue": {"common_name": "Customer Ltd seal", "organization": "Customer Ltd"}}),
    );
    let root = save_root_pem(&remote.url(""), &dir.join(format!("remote-root-{backend}.pem")));

    // the agent, on the premises: its own tenant and key; signs through the remote API
    let agent_data = dir.join(format!("agent-{backend}"));
    let agent = SignetServer::start_with_env(
        SIGNET,
        &agent_data,
        &["--database-url", &agent_db.url, "--sign-api-url", &remote.url(""), "--sign-api-key-env", "REMOTE_SIGN_KEY"],
        &[("SIGNET_ADMIN_TOKEN", ADMIN), ("REMOTE_SIGN_KEY", sign_key["token"].as_str().unwrap())],
    );
    let a_admin = Api::new(&agent.url(""), Some(ADMIN));
    let at = a_admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "hr-system"}));
    let a_key = a_admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{}/keys", at["id"].as_str().unwrap()),
        &json!({"name": "hr", "scopes": ["sign-document"]}),
    );
    let client = Api::new(&agent.url(""), a_key["token"].as_str());

    let pdf = marked_pdf(MARKER, 1 << 20);
    for level in ["b-b", "b-t", "b-lt"] {
        let r = client.send(
            "POST",
            &format!("/api/v1/documents/sign?identity=seal&level={level}&reason=Approved"),
            Some("application/pdf"),
            Some(&pdf),
            &[],
        );
        assert_eq!(r.status, 200, "{backend} {level}: {}", String::from_utf8_lossy(&r.body));
        let out = dir.join(format!("split-{backend}-{level}.pdf"));
        std::fs::write(&out, &r.body).unwrap();
        validate_level(&out, &root, 1, None, "hard", &level.to_ascii_uppercase())
            .unwrap_or_else(|t| panic!("{backend} split {level}:\n{t}"));
    }
    // b-lta needs the agent's own TSA: refused with the reason when the keys are remote
    let r = client.send(
        "POST",
        "/api/v1/documents/sign?identity=seal&level=b-lta",
        Some("application/pdf"),
        Some(&pdf),
        &[],
    );
    assert_eq!((r.status, r.json()["error"]["code"].as_str().unwrap()), (400, "bad_level"));

    // what crossed: the remote's own request log
    let log = remote.log(&remote_data);
    let api_lines: Vec<&str> = log.lines().filter(|l| l.contains("signet::request") && l.contains(" /api/")).collect();
    let mut sign_hash_calls = 0;
    let mut total_in = 0u64;
    for line in &api_lines {
        let bytes: u64 = line.split("body_bytes=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let admin_setup = line.contains("/api/v1/tenants") || line.contains("POST /api/v1/identities");
        if admin_setup {
            continue;
        }
        assert!(
            line.contains("POST /api/v1/sign-hash ") || line.contains("GET /api/v1/identities/seal "),
            "the agent asked the sign API for something else: {line}"
        );
        assert!(bytes <= 512, "a request to the sign API carried {bytes} bytes: {line}");
        total_in += bytes;
        sign_hash_calls += usize::from(line.contains("sign-hash"));
    }
    assert_eq!(sign_hash_calls, 3, "one digest per signature:\n{}", api_lines.join("\n"));
    assert!(total_in < 4096, "{total_in} bytes reached the sign API for a {} byte document", pdf.len());
    // and the agent received the whole document, three times
    let agent_log = agent.log(&agent_data);
    let received: Vec<u64> = agent_log
        .lines()
        .filter(|l| l.contains("POST /api/v1/documents/sign 200"))
        .map(|l| l.split("body_bytes=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(received, vec![pdf.len() as u64; 3]);
    // no byte of the document is anywhere on the remote side
    assert_eq!(files_containing(&remote_data, MARKER.as_bytes()), Vec::<String>::new());
    if backend == "sqlite" {
        let db_dir = dir.join("remote-db");
        assert_eq!(files_containing(&db_dir, MARKER.as_bytes()), Vec::<String>::new());
    }
    assert!(!files_containing(&agent_data, MARKER.as_bytes()).is_empty(), "the agent keeps the signed version");
    // the remote metered three calls, the agent three documents
    let usage = Api::new(&remote.url(""), manage["token"].as_str()).get("/api/v1/usage").json();
    assert_eq!(usage["current"]["calls"], 3);
    let a_usage = a_admin.get(&format!("/api/v1/tenants/{}/usage", at["id"].as_str().unwrap())).json();
    assert_eq!(a_usage["current"]["documents"], 3);
}

#[test]
fn only_digests_cross_to_the_sign_api() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = TestDatabase::all(&dir.path().join("remote-db"));
    for remote_db in &dbs {
        let agent_db = match remote_db.backend {
            "postgres" => TestDatabase::postgres(&std::env::var("SIGNET_TEST_POSTGRES_URL").unwrap()),
            _ => TestDatabase::sqlite(&dir.path().join("agent-db")),
        };
        split_on(remote_db, &agent_db, dir.path());
    }
}
