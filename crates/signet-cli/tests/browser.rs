//! Contracts in a real browser (Playwright on Debian's chromium, `tests/e2e/contracts.py`)
//! against a real `signet serve` on 127.0.0.1 that mails through a real SMTP server (aiosmtpd)
//! on 127.0.0.1: an administrator enrols TOTP, generates a company seal and authorizes a
//! colleague, prepares a two-party sequential envelope by dragging fields onto the page; the
//! colleague stamps the seal in the console; the external signer gets the e-mail, confirms the
//! code, draws a signature and signs. Then a decline, a void, an expired envelope and a
//! parallel one, and the verification page on a tampered PDF and on one pyHanko signed. Any
//! request to outside 127.0.0.1 fails the scenario; every page is screenshotted into
//! `target/e2e-artifacts/contracts/`.
//!
//! After the browser: the final PDF passes ../shared/peer/validate.sh with two signatures at
//! B-LTA, and the completion certificate carries every log entry about the envelope.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use serde_json::{Value, json};
use signet_testkit::smtp::SmtpSink;
use signet_testkit::{
    Api, Pki, SignetServer, TestPage, browser, pyhanko_sign, save_root_pem, test_pdf, validate_level,
};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";
const PASSWORD: &str = "browser password 12345";

/// A copy of `pdf` with one digit of its first drawing operator changed: still a PDF, no
/// longer what was signed.
fn tamper(pdf: &[u8]) -> Vec<u8> {
    let mut out = pdf.to_vec();
    let at = out.windows(3).position(|w| w == b" re").expect("a rectangle in the content");
    let digit = (0..at).rev().find(|&i| out[i].is_ascii_digit()).unwrap();
    out[digit] = if out[digit] == b'7' { b'8' } else { b'7' };
    out
}

fn pdftotext(pdf: &Path) -> String {
    let out = std::process::Command::new("pdftotext").arg(pdf).arg("-").output().expect("pdftotext");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn contracts_in_the_browser() {
    if !browser::available_or_skip("contracts_in_the_browser") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start();
    let pki = Pki::make(&dir.path().join("pki"));
    let data = dir.path().join("data");
    let root = pki.root();
    let mut server = SignetServer::start_with_env(
        SIGNET,
        &data,
        &["--smtp-url", &sink.url(), "--trust", root.to_str().unwrap()],
        &[("SIGNET_ADMIN_TOKEN", ADMIN)],
    );
    let base = server.url("");
    let admin = Api::new(&base, Some(ADMIN));
    let tenant = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "acme"}));
    let tid = tenant["id"].as_str().unwrap();
    let k = admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{tid}/keys"),
        &json!({"name": "it", "scopes": ["manage", "sign-document"]}),
    );
    let it = admin.with(k["token"].as_str());
    for (name, roles) in
        [("ada", json!(["tenant_admin", "seal_admin", "seal_user", "signer"])), ("li", json!(["seal_user", "signer"]))]
    {
        it.ok_json(
            "POST",
            "/api/v1/users",
            &json!({"username": name, "display_name": if name == "ada" { "Ada Admin" } else { "Li Wei" },
                    "email": format!("{name}@acme.test"), "roles": roles, "password": PASSWORD}),
        );
    }
    // administrators must use TOTP
    it.ok_json("PUT", "/api/v1/settings", &json!({"mfa_required_roles": ["tenant_admin"]}));

    // an envelope that expires while nobody signs
    let pdf = test_pdf(&[TestPage::A4]);
    let up = it.send("POST", "/api/v1/documents", Some("application/pdf"), Some(&pdf), &[]);
    assert_eq!(up.status, 201, "{}", up.text());
    let expiring = it.ok_json(
        "POST",
        "/api/v1/envelopes",
        &json!({"title": "Expiring offer", "document_id": up.json()["id"], "send": true,
                "expires_at": signet_store::now_millis() + 2000,
                "parties": [{"name": "Qian Liu", "email": "qian@example.com",
                             "fields": [{"kind": "signature", "page": 1, "rect": [60, 80, 260, 150]}]}]}),
    );

    // files for the verification page
    let contract = dir.path().join("contract.pdf");
    std::fs::write(&contract, test_pdf(&[TestPage::A4, TestPage::A4])).unwrap();
    let signed = dir.path().join("pyhanko-signed.pdf");
    pyhanko_sign(&pki, "signer-rsa", "Approval", &contract, &signed).unwrap();
    let tampered = dir.path().join("tampered.pdf");
    std::fs::write(&tampered, tamper(&std::fs::read(&signed).unwrap())).unwrap();
    let result = dir.path().join("result.json");

    let env = [
        ("SIGNET_E2E_BASE_URL", base.as_str()),
        ("SIGNET_E2E_SMTP_DIR", sink.dir().to_str().unwrap()),
        ("SIGNET_E2E_TENANT", "acme"),
        ("SIGNET_E2E_ADMIN", "ada"),
        ("SIGNET_E2E_USER", "li"),
        ("SIGNET_E2E_PASSWORD", PASSWORD),
        ("SIGNET_E2E_CONTRACT", contract.to_str().unwrap()),
        ("SIGNET_E2E_SIGNED", signed.to_str().unwrap()),
        ("SIGNET_E2E_SIGNED_BY", "Peer Test Signer RSA"),
        ("SIGNET_E2E_TAMPERED", tampered.to_str().unwrap()),
        ("SIGNET_E2E_EXPIRED_ID", expiring["id"].as_str().unwrap()),
        ("SIGNET_E2E_RESULT", result.to_str().unwrap()),
    ];
    let ran = browser::run_scenario(Path::new("contracts.py"), &env);
    if let Err(e) = ran {
        server.stop();
        panic!("contracts.py: {e}\n--- server log ---\n{}", server.log(&data));
    }

    // what the browser did, checked with the validators
    let outcome: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    let id = outcome["sequential"].as_str().unwrap();
    let e = it.get(&format!("/api/v1/envelopes/{id}")).json();
    assert_eq!(e["status"], "completed", "{e}");
    let server_root = save_root_pem(&base, &dir.path().join("signet-root.pem"));
    let final_pdf = dir.path().join("final.pdf");
    std::fs::write(&final_pdf, it.get(&format!("/api/v1/envelopes/{id}/document")).body).unwrap();
    let report = validate_level(&final_pdf, &server_root, 2, None, "hard", "B-LTA")
        .unwrap_or_else(|t| panic!("the browser's envelope:\n{t}"));
    eprintln!("{report}");
    let cert = dir.path().join("certificate.pdf");
    std::fs::write(&cert, it.get(&format!("/api/v1/envelopes/{id}/certificate")).body).unwrap();
    let compact: String = pdftotext(&cert).split_whitespace().collect();
    let log = it.get(&format!("/api/v1/audit?target={id}&outcome=ok")).json();
    let entries = log.as_array().unwrap();
    assert!(entries.len() >= 3, "{log}");
    for entry in entries {
        assert!(compact.contains(entry["hash"].as_str().unwrap()), "the certificate lacks log entry {}", entry["seq"]);
    }
    let final_sha = signet_store::sha256_hex(&std::fs::read(&final_pdf).unwrap());
    assert!(compact.contains(&final_sha), "the certificate lacks the final hash");
    for (key, status) in [("parallel", "completed"), ("declined", "declined"), ("voided", "voided")] {
        let e = it.get(&format!("/api/v1/envelopes/{}", outcome[key].as_str().unwrap())).json();
        assert_eq!(e["status"], status, "{key}: {e}");
    }
    let e = it.get(&format!("/api/v1/envelopes/{}", expiring["id"].as_str().unwrap())).json();
    assert_eq!(e["status"], "expired", "{e}");
    server.stop();
    drop(sink);
}
