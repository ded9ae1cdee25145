//! E-seals end to end over HTTP, on every database of the run: a generated company seal with
//! CJK text signs visibly (the PDF passes ../shared/peer/validate.sh), only under a grant to
//! the API key, never through its identity directly; revoking it makes `signet verify
//! --online` report the certificate revoked and refuses further use; `signet audit verify`
//! finds the log intact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::Command;

use serde_json::json;
use signet_testkit::{Api, SignetServer, TestDatabase, TestPage, test_pdf, validate_level};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";

fn seals_on(db: &TestDatabase, dir: &Path) {
    let data = dir.join(format!("data-{}", db.backend));
    let server =
        SignetServer::start_with_env(SIGNET, &data, &["--database-url", &db.url], &[("SIGNET_ADMIN_TOKEN", ADMIN)]);
    let base = server.url("");
    let admin = Api::new(&base, Some(ADMIN));
    let anon = Api::new(&base, None);
    let root = dir.join(format!("root-{}.der", db.backend));
    std::fs::write(&root, anon.get("/ca/root.crt").body).unwrap();
    let root_pem = dir.join(format!("root-{}.pem", db.backend));
    let st =
        Command::new("openssl").args(["x509", "-inform", "DER", "-in"]).arg(&root).arg("-out").arg(&root_pem).status();
    assert!(st.unwrap().success());

    let tenant = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "北京示例科技有限公司"}));
    let tid = tenant["id"].as_str().unwrap();
    let manage =
        admin.ok_json("POST", &format!("/api/v1/tenants/{tid}/keys"), &json!({"name": "seals", "scopes": ["manage"]}));
    let manager = admin.with(manage["token"].as_str());
    let erp_key = admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{tid}/keys"),
        &json!({"name": "erp", "scopes": ["sign-document"]}),
    );
    let erp = admin.with(erp_key["token"].as_str());

    // a generated round company seal; its certificate from the built-in CA
    let seal = manager.ok_json(
        "POST",
        "/api/v1/seals",
        &json!({"name": "北京示例科技有限公司合同专用章", "kind": "contract",
                "generate": {"shape": "round", "text": "北京示例科技有限公司", "horizontal": "合同专用章", "bottom_code": "1101080012345"}}),
    );
    let seal_id = seal["id"].as_str().unwrap().to_string();
    assert_eq!(seal["status"], "active");
    let image = manager.get(&format!("/api/v1/seals/{seal_id}/image"));
    assert_eq!(image.status, 200);
    assert_eq!(&image.body[..8], b"\x89PNG\r\n\x1a\n");

    let pdf = test_pdf(&[TestPage::A4]);
    let sign = |api: &Api, query: &str| {
        api.send("POST", &format!("/api/v1/documents/sign?{query}"), Some("application/pdf"), Some(&pdf), &[])
    };
    let with_seal = format!("seal={seal_id}&page=1&rect=380,60,530,210&reason=Contract");

    // no grant: refused, saying how to get one
    let r = sign(&erp, &with_seal);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("not authorized to sign with seal"), "{}", r.text());
    // its identity cannot be used around the seal
    let identities = manager.get("/api/v1/identities").json();
    let seal_identity =
        identities.as_array().unwrap().iter().find(|i| i["name"].as_str().unwrap().starts_with("seal-")).unwrap();
    let r = sign(&erp, &format!("identity={}", seal_identity["name"].as_str().unwrap()));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("belongs to seal"), "{}", r.text());

    // a grant for the ERP's key, two uses
    let erp_id = erp_key["id"].as_str().unwrap();
    let grant = manager.ok_json(
        "POST",
        &format!("/api/v1/seals/{seal_id}/grants"),
        &json!({"api_key_id": erp_id, "max_uses": 2}),
    );
    assert_eq!(grant["grantee_kind"], "api_key");
    let r = sign(&erp, &with_seal);
    assert_eq!(r.status, 200, "{}", r.text());
    let out = dir.join(format!("sealed-{}.pdf", db.backend));
    std::fs::write(&out, &r.body).unwrap();
    validate_level(&out, &root_pem, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("{} sealed:\n{t}", db.backend));
    let r = sign(&erp, &format!("{with_seal}&level=b-b"));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sign(&erp, &with_seal);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("no use left"), "{}", r.text());

    // suspended: refused; revoked: refused, and the certificate revoked at the CA
    let s = manager.send(
        "PATCH",
        &format!("/api/v1/seals/{seal_id}"),
        Some("application/json"),
        Some(json!({"status": "suspended", "reason": "audit"}).to_string().as_bytes()),
        &[],
    );
    assert_eq!(s.status, 200, "{}", s.text());
    manager.ok_json("POST", &format!("/api/v1/seals/{seal_id}/grants"), &json!({"api_key_id": erp_id}));
    let r = sign(&erp, &with_seal);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("suspended: audit"), "{}", r.text());
    let before =
        Command::new(SIGNET).arg("verify").arg(&out).arg("--trust").arg(&root_pem).arg("--online").output().unwrap();
    let text = String::from_utf8_lossy(&before.stdout).to_string();
    assert!(before.status.success(), "{text}");
    let revoked =
        manager.ok_json("POST", &format!("/api/v1/seals/{seal_id}/revoke"), &json!({"reason": "cessationOfOperation"}));
    assert_eq!(revoked["status"], "revoked");
    let after =
        Command::new(SIGNET).arg("verify").arg(&out).arg("--trust").arg(&root_pem).arg("--online").output().unwrap();
    let text = String::from_utf8_lossy(&after.stdout).to_lowercase();
    assert!(!after.status.success() && text.contains("revoked"), "{} after revocation:\n{text}", db.backend);
    let r = sign(&erp, &with_seal);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("is revoked"), "{}", r.text());

    // the log holds every step, intact
    let log = manager.get("/api/v1/audit?action=seal.").json();
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["seal.create", "seal.grant", "seal.use", "seal.suspend", "seal.revoke"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let mut audit = Command::new(SIGNET);
    audit.args(["audit", "verify", "--data-dir"]).arg(&data).args(["--database-url", &db.url, "--tenant", tid]);
    let o = audit.output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}: {text}{}", db.backend, String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("intact"), "{text}");

    // edited and deleted directly in the database: named
    let tamper = |sql: String| {
        let url = db.url.clone();
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async move {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
            pool.close().await;
        });
    };
    tamper(format!("UPDATE audit_log SET outcome = 'refused' WHERE tenant_id = '{tid}' AND seq = 3"));
    tamper(format!("DELETE FROM audit_log WHERE tenant_id = '{tid}' AND seq = 5"));
    let o = audit.output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{}: {text}", db.backend);
    assert!(text.contains("TAMPERED"), "{text}");
    assert!(text.contains("entry 3 was changed"), "{text}");
    assert!(text.contains("entry 5 is missing"), "{text}");
}

#[test]
fn seals_on_every_database() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        seals_on(&db, dir.path());
    }
}
