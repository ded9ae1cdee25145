//! The signing view embedded in another site's page: Playwright on Debian's chromium
//! (`tests/e2e/embed.py`) against a real `signet serve` on 127.0.0.1. The scenario serves two
//! "document system" pages on two other ports of 127.0.0.1 (two origins), allows the first in
//! the tenant's settings, mints embed tokens through the API and opens them with
//! `/assets/embed.js`: a party signs in the frame (events loaded, signed, completed, in order),
//! another declines (loaded, declined); the page of the other origin cannot show the view.
//!
//! A fourth party signs with its own key: the frame prepares, shows the `signet sign-digest`
//! command and waits; the scenario runs the command with the person's key and gives the frame
//! its `signature.json`.
//!
//! Then, here: the signed envelopes' final PDFs pass ../shared/peer/validate.sh at B-LTA, the
//! evidence names the embedding origin; the token the browser refused to show is still unused
//! and opens once, not twice; an expired token opens nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use serde_json::{Value, json};
use signet_testkit::{Api, SignetServer, TestPage, browser, issue_person, save_root_pem, test_pdf, validate_level};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";

/// A sent envelope with one outside signer (signing with its own key when `own_key` names
/// its certificate chain); returns (envelope id, party id).
fn envelope(api: &Api, title: &str, name: &str, email: &str, own_key: Option<&str>) -> (String, String) {
    let up = api.send("POST", "/api/v1/documents", Some("application/pdf"), Some(&test_pdf(&[TestPage::A4])), &[]);
    assert_eq!(up.status, 201, "{}", up.text());
    let mut party = json!({"name": name, "email": email,
                           "fields": [{"kind": "signature", "page": 1, "rect": [60, 80, 260, 150]}]});
    if let Some(chain) = own_key {
        party["own_key"] = json!({ "certificate": chain });
    }
    let e = api.ok_json(
        "POST",
        "/api/v1/envelopes",
        &json!({"title": title, "document_id": up.json()["id"], "send": true, "parties": [party]}),
    );
    (e["id"].as_str().unwrap().to_string(), e["parties"][0]["id"].as_str().unwrap().to_string())
}

#[test]
fn the_signing_view_embedded_in_another_origin() {
    if !browser::available_or_skip("the_signing_view_embedded_in_another_origin") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // the CA first: a person's own key is certified before the server starts
    let port = signet_testkit::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let o = std::process::Command::new(SIGNET)
        .args(["ca", "init", "--public-url", &base])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "signet ca init: {}", String::from_utf8_lossy(&o.stderr));
    let chen = issue_person(SIGNET, &data, dir.path(), "chen", "Chen Jing", "chen@example.com", "p-256");
    let mut server = SignetServer::start_on(SIGNET, port, &data, &[], &[("SIGNET_ADMIN_TOKEN", ADMIN)]);
    let admin = Api::new(&base, Some(ADMIN));
    let tenant = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "acme"}));
    let k = admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{}/keys", tenant["id"].as_str().unwrap()),
        &json!({"name": "oa", "scopes": ["manage", "sign-document"]}),
    );
    let key = k["token"].as_str().unwrap().to_string();
    let oa = admin.with(Some(&key));
    let (sign_env, sign_party) = envelope(&oa, "Supply contract", "Wang Fang", "wang@example.com", None);
    let (decline_env, decline_party) = envelope(&oa, "Lease", "Zhao Lei", "zhao@example.com", None);
    let (refuse_env, refuse_party) = envelope(&oa, "NDA", "Sun Li", "sun@example.com", None);
    let (own_env, own_party) = envelope(&oa, "Loan", "Chen Jing", "chen@example.com", Some(&chen.chain_pem));
    // a draft, prepared in the frame
    let up = oa.send("POST", "/api/v1/documents", Some("application/pdf"), Some(&test_pdf(&[TestPage::A4])), &[]);
    let draft = oa.ok_json(
        "POST",
        "/api/v1/envelopes",
        &json!({"title": "Purchase order", "document_id": up.json()["id"],
                "parties": [{"name": "Liu Yang", "email": "liu@example.com",
                             "fields": [{"kind": "signature", "page": 1, "rect": [60, 80, 260, 150]}]}]}),
    );
    let draft_env = draft["id"].as_str().unwrap().to_string();

    let result = dir.path().join("result.json");
    let env = [
        ("SIGNET_E2E_BASE_URL", base.as_str()),
        ("SIGNET_E2E_API_KEY", key.as_str()),
        ("SIGNET_E2E_SIGN_ENVELOPE", sign_env.as_str()),
        ("SIGNET_E2E_SIGN_PARTY", sign_party.as_str()),
        ("SIGNET_E2E_DECLINE_ENVELOPE", decline_env.as_str()),
        ("SIGNET_E2E_DECLINE_PARTY", decline_party.as_str()),
        ("SIGNET_E2E_REFUSE_ENVELOPE", refuse_env.as_str()),
        ("SIGNET_E2E_REFUSE_PARTY", refuse_party.as_str()),
        ("SIGNET_E2E_DRAFT_ENVELOPE", draft_env.as_str()),
        ("SIGNET_E2E_OWN_ENVELOPE", own_env.as_str()),
        ("SIGNET_E2E_OWN_PARTY", own_party.as_str()),
        ("SIGNET_E2E_OWN_KEY", chen.key.to_str().unwrap()),
        ("SIGNET_E2E_SIGNET", SIGNET),
        ("SIGNET_E2E_RESULT", result.to_str().unwrap()),
    ];
    if let Err(e) = browser::run_scenario(Path::new("embed.py"), &env) {
        server.stop();
        panic!("embed.py: {e}\n--- server log ---\n{}", server.log(&data));
    }
    let outcome: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();

    // the envelope signed in the frame: complete, valid, its evidence names the origin
    let e = oa.get(&format!("/api/v1/envelopes/{sign_env}")).json();
    assert_eq!(e["status"], "completed", "{e}");
    let auth = e["parties"][0]["evidence"]["auth_method"].as_str().unwrap_or_default();
    let allowed = outcome["allowed"].as_str().unwrap();
    assert!(auth.contains("embedded") && auth.contains(allowed), "evidence: {auth}");
    let root = save_root_pem(&base, &dir.path().join("root.pem"));
    let final_pdf = dir.path().join("final.pdf");
    std::fs::write(&final_pdf, oa.get(&format!("/api/v1/envelopes/{sign_env}/document")).body).unwrap();
    let report = validate_level(&final_pdf, &root, 1, None, "hard", "B-LTA")
        .unwrap_or_else(|t| panic!("the envelope signed in the frame:\n{t}"));
    eprintln!("{report}");
    let e = oa.get(&format!("/api/v1/envelopes/{decline_env}")).json();
    assert_eq!(e["status"], "declined", "{e}");

    // the envelope signed in the frame with the person's own key: complete and valid
    let e = oa.get(&format!("/api/v1/envelopes/{own_env}")).json();
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["parties"][0]["evidence"]["signature_kind"], "own_key", "{e}");
    let own_pdf = dir.path().join("own.pdf");
    std::fs::write(&own_pdf, oa.get(&format!("/api/v1/envelopes/{own_env}/document")).body).unwrap();
    let report = validate_level(&own_pdf, &root, 1, None, "hard", "B-LTA")
        .unwrap_or_else(|t| panic!("the envelope signed in the frame with an own key:\n{t}"));
    eprintln!("{report}");

    // the draft prepared in the frame: sent, with the field added there
    let e = oa.get(&format!("/api/v1/envelopes/{draft_env}")).json();
    assert_eq!(e["status"], "sent", "{e}");
    let kinds: Vec<&str> =
        e["parties"][0]["fields"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["signature", "text"], "{e}");
    let history = oa.get(&format!("/api/v1/envelopes/{draft_env}/history")).json();
    assert!(history.as_array().unwrap().iter().any(|h| h["kind"] == "fields_placed"), "{history}");
    // its session is refused without its header, and the draft cannot be prepared again
    let public = Api::new(&base, None);
    assert_eq!(public.get("/api/v1/embed/prepare/pages/1").status, 401);
    let again = oa.send(
        "POST",
        &format!("/api/v1/envelopes/{draft_env}/embed"),
        Some("application/json"),
        Some(json!({"parent_origin": allowed}).to_string().as_bytes()),
        &[],
    );
    assert_eq!(again.status, 409, "{}", again.text());

    // the view the browser refused: nothing happened, its token is unused and opens once
    let e = oa.get(&format!("/api/v1/envelopes/{refuse_env}")).json();
    assert_eq!(e["status"], "sent", "{e}");
    let url = outcome["unused_url"].as_str().unwrap();
    let token = url.rsplit('/').next().unwrap();
    let page = Api::new(&base, None).get(&format!("/embed/sign/{token}"));
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains(&format!("frame-ancestors {allowed}")), "{csp}");
    let opened = public.post_json("/api/v1/signer/embed", &json!({ "token": token }));
    assert_eq!(opened.status, 200, "{}", opened.text());
    let session = opened.json();
    assert_eq!(session["parent_origin"], allowed);
    assert_eq!(session["signer"]["stage"], "ready");
    let again = public.post_json("/api/v1/signer/embed", &json!({ "token": token }));
    assert_eq!(again.status, 404, "a token opens once: {}", again.text());
    // once used, the page may be framed by nobody
    let page = public.get(&format!("/embed/sign/{token}"));
    assert!(page.header("content-security-policy").unwrap_or_default().contains("frame-ancestors 'none'"));
    // the session works with its header alone (no cookie was set)
    assert!(opened.header("set-cookie").is_none());
    let view = public.send(
        "GET",
        "/api/v1/signer/envelope",
        None,
        None,
        &[("X-Signer-Session", session["session"].as_str().unwrap())],
    );
    assert_eq!(view.status, 200, "{}", view.text());
    assert_eq!(view.json()["envelope"]["id"], refuse_env.as_str());

    // an expired token opens nothing
    let short = oa.ok_json(
        "POST",
        &format!("/api/v1/envelopes/{refuse_env}/parties/{refuse_party}/embed"),
        &json!({"parent_origin": allowed, "lifetime_seconds": 1}),
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let late = public.post_json("/api/v1/signer/embed", &json!({ "token": short["token"] }));
    assert_eq!(late.status, 404, "{}", late.text());
    // a party that has signed cannot be embedded any more
    let done = oa.send(
        "POST",
        &format!("/api/v1/envelopes/{sign_env}/parties/{sign_party}/embed"),
        Some("application/json"),
        Some(json!({"parent_origin": allowed}).to_string().as_bytes()),
        &[],
    );
    assert_eq!(done.status, 409, "{}", done.text());
    server.stop();
}
