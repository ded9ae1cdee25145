//! Contract envelopes end to end over HTTP, mail written to the outbox: a company party stamps
//! its seal under a grant, an external party confirms an e-mailed code and signs with a drawn
//! signature; the final PDF passes ../shared/peer/validate.sh at B-LTA with both signatures,
//! and the completion certificate carries the log's entries. Then decline, void, expiry and a
//! parallel envelope.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use signet_testkit::{
    Api, Reply, SignetServer, TestPage, save_root_pem, seal_png, test_pdf, validate_document_timestamps, validate_level,
};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";
const PASSWORD: &str = "envelope password 12345";

struct World {
    _server: SignetServer,
    base: String,
    outbox: PathBuf,
    tenant: String,
    manager: Api,
    erp: Api,
}

fn start(dir: &Path) -> World {
    let data = dir.join("data");
    let server = SignetServer::start_with_env(SIGNET, &data, &[], &[("SIGNET_ADMIN_TOKEN", ADMIN)]);
    let base = server.url("");
    let admin = Api::new(&base, Some(ADMIN));
    let tenant = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "acme"}));
    let tid = tenant["id"].as_str().unwrap();
    let key = |name: &str, scopes: Value| {
        let k = admin.ok_json("POST", &format!("/api/v1/tenants/{tid}/keys"), &json!({"name": name, "scopes": scopes}));
        admin.with(k["token"].as_str())
    };
    World {
        manager: key("manage", json!(["manage"])),
        erp: key("erp", json!(["sign-document"])),
        _server: server,
        base,
        outbox: data.join("outbox"),
        tenant: "acme".into(),
    }
}

/// A user session: the cookie and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl World {
    fn user(&self, name: &str, roles: Value) -> (String, Session) {
        let u = self.manager.ok_json(
            "POST",
            "/api/v1/users",
            &json!({"username": name, "display_name": format!("{name} (Acme)"), "email": format!("{name}@acme.test"),
                    "roles": roles, "password": PASSWORD}),
        );
        let anon = Api::new(&self.base, None);
        let r = anon
            .post_json("/api/v1/auth/login", &json!({"tenant": self.tenant, "username": name, "password": PASSWORD}));
        assert_eq!(r.status, 200, "{}", r.text());
        let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
        (
            u["id"].as_str().unwrap().to_string(),
            Session { cookie, csrf: r.json()["csrf_token"].as_str().unwrap().into() },
        )
    }

    fn as_user(&self, s: &Session, method: &str, path: &str, body: &Value) -> Reply {
        Api::new(&self.base, None).send(
            method,
            path,
            Some("application/json"),
            Some(body.to_string().as_bytes()),
            &[("Cookie", &s.cookie), ("X-CSRF-Token", &s.csrf)],
        )
    }

    fn upload(&self) -> String {
        let pdf = test_pdf(&[TestPage::A4, TestPage::A4]);
        let r = self.erp.send("POST", "/api/v1/documents?name=contract.pdf", Some("application/pdf"), Some(&pdf), &[]);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_string()
    }

    /// The newest mail to `to` whose subject contains `subject`, waited for.
    fn mail(&self, to: &str, subject: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut found: Vec<(std::time::SystemTime, String)> = Vec::new();
            for entry in std::fs::read_dir(&self.outbox).into_iter().flatten().flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let decoded = decode_mail(&text);
                if text.contains(to) && decoded.contains(subject) {
                    found.push((entry.metadata().unwrap().modified().unwrap(), decoded));
                }
            }
            found.sort_by_key(|(t, _)| *t);
            if let Some((_, text)) = found.pop() {
                return text;
            }
            assert!(Instant::now() < deadline, "no mail to {to} about '{subject}' in {}", self.outbox.display());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn mails_to(&self, to: &str) -> usize {
        std::fs::read_dir(&self.outbox)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| std::fs::read_to_string(e.path()).unwrap_or_default().contains(to))
            .count()
    }

    /// Opens the link of the latest invitation to `to` and confirms the e-mailed code.
    fn signer(&self, to: &str) -> Session {
        self.signer_at(to, "ready")
    }

    /// [`World::signer`], expecting `stage` after the code.
    fn signer_at(&self, to: &str, stage: &str) -> Session {
        let invitation = self.mail(to, "Please");
        let token = invitation.split("/sign/").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        let anon = Api::new(&self.base, None);
        let r = anon.post_json("/api/v1/signer/session", &json!({"token": token}));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["stage"], "code", "{}", r.text());
        let s = Session {
            cookie: r.header("set-cookie").unwrap().split(';').next().unwrap().to_string(),
            csrf: r.json()["csrf_token"].as_str().unwrap().into(),
        };
        let code_mail = self.mail(to, "Your one-time code");
        let code: String = code_mail.split(" is ").nth(1).unwrap().chars().take(6).collect();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code_mail}");
        // a wrong code first: refused, tries counted
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let r = self.as_user(&s, "POST", "/api/v1/signer/code", &json!({"code": wrong}));
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("4 tries left"), "{}", r.text());
        let r = self.as_user(&s, "POST", "/api/v1/signer/code", &json!({"code": code}));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["stage"], stage);
        // a new session once the code is confirmed: the old cookie no longer opens anything
        let renewed = Session {
            cookie: r.header("set-cookie").unwrap().split(';').next().unwrap().to_string(),
            csrf: s.csrf.clone(),
        };
        assert_ne!(renewed.cookie, s.cookie);
        assert_eq!(self.as_user(&s, "GET", "/api/v1/signer/envelope", &json!(null)).status, 401);
        renewed
    }
}

/// The text of a mail: quoted-printable and base64 parts decoded well enough to search.
fn decode_mail(raw: &str) -> String {
    let unfolded = raw.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::new();
    let bytes = unfolded.as_bytes();
    let mut i = 0;
    let mut buf = Vec::new();
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&unfolded[i + 1..i + 3], 16) {
                buf.push(b);
                i += 3;
                continue;
            }
        }
        buf.push(bytes[i]);
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&buf));
    // base64 bodies
    use base64::Engine;
    for block in raw.split("\n\n").chain(raw.split("\r\n\r\n")) {
        let compact: String = block.split_whitespace().collect();
        if compact.len() > 16 {
            if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(&compact) {
                out.push('\n');
                out.push_str(&String::from_utf8_lossy(&d));
            }
        }
    }
    // encoded-word subjects
    for word in raw.split("=?") {
        if let Some(rest) = word.strip_prefix("utf-8?b?").or_else(|| word.strip_prefix("UTF-8?B?")) {
            if let Some(enc) = rest.split("?=").next() {
                if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(enc) {
                    out.push('\n');
                    out.push_str(&String::from_utf8_lossy(&d));
                }
            }
        }
    }
    out
}

fn drawn_signature() -> String {
    use base64::Engine;
    let png = signet_testkit::png(240, 80, |x, y| {
        if (y as i32 - 40 - ((x as f64 / 12.0).sin() * 18.0) as i32).abs() < 3 {
            [20, 20, 80, 255]
        } else {
            [255, 255, 255, 0]
        }
    });
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

fn envelope(w: &World, body: Value) -> Value {
    let r = w.erp.post_json("/api/v1/envelopes", &body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext").arg("-layout").arg(pdf).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_company_seal_then_an_external_signer_completes_at_b_lta() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    let root = save_root_pem(&w.base, &dir.path().join("root.pem"));
    let (li, li_session) = w.user("li", json!(["seal_user", "signer"]));
    // the company seal, granted to Li
    let seal = w.manager.ok_json(
        "POST",
        "/api/v1/seals",
        &json!({"name": "Acme contract seal", "kind": "contract",
                "generate": {"shape": "round", "text": "ACME TRADING CO", "horizontal": "CONTRACT"}}),
    );
    let seal_id = seal["id"].as_str().unwrap();
    w.manager.ok_json("POST", &format!("/api/v1/seals/{seal_id}/grants"), &json!({"user_id": li}));
    let doc = w.upload();
    // the wizard's pickers: colleagues by name, documents newest first
    let directory = w.erp.get("/api/v1/users/directory").json();
    assert_eq!(directory[0]["display_name"], "li (Acme)", "{directory}");
    assert!(directory[0].get("email").is_none() && directory[0].get("roles").is_none(), "{directory}");
    let docs = w.erp.get("/api/v1/documents").json();
    assert_eq!(docs["items"][0]["root_id"], doc.as_str(), "{docs}");
    assert_eq!(docs["items"][0]["latest"]["name"], "contract.pdf", "{docs}");

    // refusals name the problem
    let bad = w.erp.post_json(
        "/api/v1/envelopes",
        &json!({"title": "x", "document_id": doc, "parties": [{"name": "A", "email": "a@example.com", "fields": [{"kind": "text", "page": 1, "rect": [1, 1, 100, 30]}]}]}),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("needs a seal or signature field"), "{}", bad.text());

    let e = envelope(
        &w,
        json!({
        "title": "Supply contract 2026-118", "document_id": doc, "message": "Please sign by Friday.", "send": true,
        "reminder_interval_hours": 24,
        "parties": [
            {"user_id": li, "seal_id": seal_id, "fields": [
                {"kind": "seal", "page": 1, "rect": [380, 80, 530, 230]},
                {"kind": "date", "page": 1, "rect": [380, 50, 530, 72]}]},
            {"name": "Zhang San", "email": "zhang@example.com", "fields": [
                {"kind": "signature", "page": 2, "rect": [60, 80, 260, 150]},
                {"kind": "text", "page": 2, "rect": [60, 50, 260, 72], "label": "Title"}]}
        ]}),
    );
    let id = e["id"].as_str().unwrap();
    assert_eq!(e["status"], "sent");
    let (p1, p2) = (e["parties"][0]["id"].as_str().unwrap(), e["parties"][1]["id"].as_str().unwrap());
    assert_eq!(e["parties"][0]["status"], "notified");
    assert_eq!(e["parties"][1]["status"], "waiting");
    w.mail("li@acme.test", "Supply contract 2026-118");
    assert_eq!(w.mails_to("zhang@example.com"), 0, "the second party waits for the first");

    // not Zhang's turn; and a user cannot sign as another party
    let r = w.as_user(&li_session, "POST", &format!("/api/v1/envelopes/{id}/parties/{p2}/sign"), &json!({}));
    assert_eq!(r.status, 403, "{}", r.text());
    // Li stamps the seal
    let r = w.as_user(&li_session, "POST", &format!("/api/v1/envelopes/{id}/parties/{p1}/sign"), &json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    let after = r.json();
    assert_eq!(after["parties"][0]["status"], "signed");
    assert_eq!(after["parties"][1]["status"], "notified");
    assert!(after["parties"][0]["fields"][1]["value"].as_str().unwrap().starts_with("20"));

    // Zhang: link, code, read, sign
    let s = w.signer("zhang@example.com");
    let view = w.as_user(&s, "GET", "/api/v1/signer/envelope", &json!(null)).json();
    assert_eq!(view["document"]["pages"].as_array().unwrap().len(), 2, "{view}");
    assert_eq!(view["party"]["name"], "Zhang San");
    let page =
        Api::new(&w.base, None).send("GET", "/api/v1/signer/pages/2/image", None, None, &[("Cookie", &s.cookie)]);
    assert_eq!(page.status, 200);
    assert_eq!(&page.body[..4], b"\x89PNG");
    let text_field = view["party"]["fields"][1]["id"].as_str().unwrap();
    let r = w.as_user(
        &s,
        "POST",
        "/api/v1/signer/sign",
        &json!({"signature": {"kind": "drawn", "image": drawn_signature()}}),
    );
    assert_eq!(r.status, 400, "a text field left empty: {}", r.text());
    let r = w.as_user(
        &s,
        "POST",
        "/api/v1/signer/sign",
        &json!({"signature": {"kind": "drawn", "image": drawn_signature()}, "values": {text_field: "Purchasing manager"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["envelope_status"], "completed");

    let done = w.erp.get(&format!("/api/v1/envelopes/{id}")).json();
    assert_eq!(done["status"], "completed");
    let final_pdf = dir.path().join("final.pdf");
    let r = w.erp.get(&format!("/api/v1/envelopes/{id}/document"));
    assert_eq!(r.status, 200);
    std::fs::write(&final_pdf, &r.body).unwrap();
    let report = validate_level(&final_pdf, &root, 2, None, "hard", "B-LTA").unwrap_or_else(|t| panic!("final:\n{t}"));
    eprintln!("{report}");

    // the completion certificate names the parties, the hashes and every log entry
    let cert = dir.path().join("certificate.pdf");
    let r = w.erp.get(&format!("/api/v1/envelopes/{id}/certificate"));
    assert_eq!(r.status, 200, "{}", r.text());
    std::fs::write(&cert, &r.body).unwrap();
    // sealed with a document timestamp of Signet's TSA, with its validation data
    let sealed = validate_document_timestamps(&cert, &root).unwrap_or_else(|t| panic!("certificate:\n{t}"));
    eprintln!("{sealed}");
    let mut tampered = std::fs::read(&cert).unwrap();
    // its document information's /Title key, in the bytes the timestamp covers, as /title
    let at = tampered.windows(7).position(|w| w == b"/Title ").expect("the certificate has a /Title");
    tampered[at + 1] ^= 0x20;
    let changed = dir.path().join("certificate-changed.pdf");
    std::fs::write(&changed, &tampered).unwrap();
    assert!(validate_document_timestamps(&changed, &root).is_err(), "a changed certificate passed");
    let text = pdftotext(&cert);
    let compact: String = text.split_whitespace().collect();
    for needle in ["Zhang San", "zhang@example.com", "li (Acme)", id] {
        assert!(compact.contains(&needle.replace(' ', "")), "certificate lacks {needle}:\n{text}");
    }
    let final_sha = signet_store::sha256_hex(&std::fs::read(&final_pdf).unwrap());
    assert!(compact.contains(&final_sha), "certificate lacks the final hash {final_sha}:\n{text}");
    let log = w.manager.get(&format!("/api/v1/audit?target={id}&outcome=ok")).json();
    let entries = log["entries"].as_array().or_else(|| log.as_array()).unwrap().clone();
    assert!(entries.len() >= 3, "{log}");
    for entry in &entries {
        let hash = entry["hash"].as_str().unwrap();
        assert!(compact.contains(hash), "certificate lacks log entry {hash}");
    }
    let history: Vec<String> = w
        .erp
        .get(&format!("/api/v1/envelopes/{id}/history"))
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap().to_string())
        .collect();
    for kind in ["created", "sent", "notified", "signed", "viewed", "code_sent", "identity_confirmed", "completed"] {
        assert!(history.iter().any(|k| k == kind), "history lacks {kind}: {history:?}");
    }
    // everyone hears that it is done
    w.mail("zhang@example.com", "has been signed by every party");
    // the version line ends with the final document
    let versions = w.erp.get(&format!("/api/v1/documents/{doc}/versions")).json();
    let last = versions.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["document"]["sha256"], final_sha.as_str(), "{versions}");

    // a person's certificate signs only for that person, in an envelope
    let identities = w.manager.get("/api/v1/identities").json();
    let person =
        identities.as_array().unwrap().iter().find(|i| i["name"].as_str().unwrap().starts_with("person-")).unwrap();
    let person = person["name"].as_str().unwrap();
    let pdf = signet_testkit::test_pdf(&[TestPage::A4]);
    let r = w.erp.send(
        "POST",
        &format!("/api/v1/documents/sign?identity={person}"),
        Some("application/pdf"),
        Some(&pdf),
        &[],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("is a person's"), "{}", r.text());
    let r = w
        .manager
        .post_json("/api/v1/identities", &json!({"name": "person-mine", "issue": {"common_name": "Zhang San"}}));
    assert_eq!(r.status, 400, "{}", r.text());
    let _ = seal_png;
}

#[test]
fn decline_void_expiry_and_a_parallel_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    let root = save_root_pem(&w.base, &dir.path().join("root.pem"));
    let doc = w.upload();
    let signer = |name: &str, email: &str, order: i64| {
        json!({"name": name, "email": email, "order": order,
               "fields": [{"kind": "signature", "page": 1, "rect": [60, 80 + order * 100, 260, 150 + order * 100]}]})
    };

    // decline: the envelope ends, the reason is kept
    let e = envelope(
        &w,
        json!({"title": "Declined", "document_id": doc, "send": true, "parties": [signer("Wang", "wang@example.com", 1)]}),
    );
    let id = e["id"].as_str().unwrap();
    let s = w.signer("wang@example.com");
    let r = w.as_user(&s, "POST", "/api/v1/signer/decline", &json!({"reason": "wrong price"}));
    assert_eq!(r.status, 200, "{}", r.text());
    let e = w.erp.get(&format!("/api/v1/envelopes/{id}")).json();
    assert_eq!(
        (e["status"].as_str(), e["parties"][0]["decline_reason"].as_str()),
        (Some("declined"), Some("wrong price"))
    );
    let r = w.as_user(
        &s,
        "POST",
        "/api/v1/signer/sign",
        &json!({"signature": {"kind": "drawn", "image": drawn_signature()}}),
    );
    assert_eq!(r.status, 409, "{}", r.text());

    // a title on two lines would break the mail headers
    let r = w.erp.post_json(
        "/api/v1/envelopes",
        &json!({"title": "A\nB", "document_id": doc, "parties": [signer("Wang", "wang@example.com", 1)]}),
    );
    assert_eq!(r.status, 400, "{}", r.text());

    // void: by its creator; the signer's link then shows it ended
    let doc2 = w.upload();
    let e = envelope(
        &w,
        json!({"title": "Voided", "document_id": doc2, "send": true, "parties": [signer("Zhao", "zhao@example.com", 1)]}),
    );
    let id = e["id"].as_str().unwrap();
    let r = w.erp.post_json(&format!("/api/v1/envelopes/{id}/void"), &json!({"reason": "superseded"}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "voided");
    let s = w.signer_at("zhao@example.com", "done");
    let view = w.as_user(&s, "POST", "/api/v1/signer/code/resend", &json!({}));
    assert!(view.status == 200 || view.status == 429, "{}", view.text());
    let r = w.as_user(
        &s,
        "POST",
        "/api/v1/signer/sign",
        &json!({"signature": {"kind": "drawn", "image": drawn_signature()}}),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    w.mail("zhao@example.com", "was voided");

    // expiry: the scheduler ends it
    let doc3 = w.upload();
    let expires = signet_store::now_millis() + 1500;
    let e = envelope(
        &w,
        json!({"title": "Expiring", "document_id": doc3, "send": true, "expires_at": expires, "parties": [signer("Qian", "qian@example.com", 1)]}),
    );
    let id = e["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let e = w.erp.get(&format!("/api/v1/envelopes/{id}")).json();
        if e["status"] == "expired" {
            break;
        }
        assert!(Instant::now() < deadline, "not expired: {e}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // parallel: both invited at once, either order, completes
    let doc4 = w.upload();
    let e = envelope(
        &w,
        json!({"title": "Parallel", "document_id": doc4, "send": true,
               "parties": [signer("Sun", "sun@example.com", 1), signer("Zhou", "zhou@example.com", 1)]}),
    );
    let id = e["id"].as_str().unwrap();
    assert_eq!(e["parties"][0]["status"], "notified");
    assert_eq!(e["parties"][1]["status"], "notified");
    // while the envelope is in progress its document changes only through it: no version from
    // the versions API or the agent, no second envelope
    let head = |w: &World| {
        let versions = w.erp.get(&format!("/api/v1/documents/{doc4}/versions")).json();
        versions.as_array().unwrap().last().unwrap()["document"]["id"].as_str().unwrap().to_string()
    };
    let pdf = test_pdf(&[TestPage::A4]);
    // a new version of the document, made from its latest one
    let add_version = |w: &World| {
        let if_match = format!("\"{}\"", head(w));
        let path = format!("/api/v1/documents/{doc4}/versions");
        w.erp.send("POST", &path, Some("application/pdf"), Some(&pdf), &[("If-Match", &if_match)])
    };
    let in_envelope = |r: &Reply, what: &str| {
        assert_eq!(r.status, 409, "{what}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "document_in_envelope", "{what}: {}", r.text());
        assert!(r.text().contains(id), "{what}: {}", r.text());
    };
    in_envelope(&add_version(&w), "a version");
    // (the document is refused before the identity is looked up: this tenant has none)
    let r = w.erp.send(
        "POST",
        &format!("/api/v1/documents/sign?identity=company-seal&document_id={}", head(&w)),
        None,
        None,
        &[],
    );
    in_envelope(&r, "signing it through the agent");
    let second = w.erp.post_json(
        "/api/v1/envelopes",
        &json!({"title": "Twice", "document_id": head(&w), "send": true,
               "parties": [signer("Qian", "qian@example.com", 1)]}),
    );
    in_envelope(&second, "a second envelope");
    // just invited: a reminder waits
    let r = w.erp.post_json(&format!("/api/v1/envelopes/{id}/remind"), &json!({}));
    assert_eq!(r.status, 429, "{}", r.text());
    // Sun reads the document; Zhou signs meanwhile; Sun's signature of what Sun read is refused
    let sun = w.signer("sun@example.com");
    let read = w.as_user(&sun, "GET", "/api/v1/signer/envelope", &json!(null)).json()["document"]["id"].clone();
    let zhou = w.signer("zhou@example.com");
    let sign = |s: &Session, read: &Value| {
        w.as_user(
            s,
            "POST",
            "/api/v1/signer/sign",
            &json!({"signature": {"kind": "typed", "image": drawn_signature()}, "document_id": read}),
        )
    };
    let r = sign(&zhou, &read);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sign(&sun, &read);
    assert_eq!(r.status, 412, "{}", r.text());
    let read = w.as_user(&sun, "GET", "/api/v1/signer/envelope", &json!(null)).json()["document"]["id"].clone();
    let r = sign(&sun, &read);
    assert_eq!(r.status, 200, "{}", r.text());
    let e = w.erp.get(&format!("/api/v1/envelopes/{id}")).json();
    assert_eq!(e["status"], "completed", "{e}");
    let out = dir.path().join("parallel.pdf");
    std::fs::write(&out, w.erp.get(&format!("/api/v1/envelopes/{id}/document")).body).unwrap();
    validate_level(&out, &root, 2, None, "hard", "B-LTA").unwrap_or_else(|t| panic!("parallel:\n{t}"));
    // the envelope ended: the document takes versions again
    let r = add_version(&w);
    assert_eq!(r.status, 201, "a version after the envelope: {}", r.text());

    // documents: each line once, as its latest version (the signed final one), paged
    let page = w.erp.get("/api/v1/documents?limit=3").json();
    assert_eq!(page["items"].as_array().unwrap().len(), 3, "{page}");
    assert_eq!(page["items"][0]["root_id"], doc4.as_str());
    assert!(page["items"][0]["version"].as_i64().unwrap() >= 3, "{page}");
    let rest = w.erp.get(&format!("/api/v1/documents?before={}", page["next"].as_str().unwrap())).json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest["next"].is_null());

    // lists: newest first, filtered, searched, paged
    let list = w.erp.get("/api/v1/envelopes?limit=2").json();
    assert_eq!(list["items"][0]["title"], "Parallel");
    assert!(list["next"].is_string());
    let next = w.erp.get(&format!("/api/v1/envelopes?limit=2&before={}", list["next"].as_str().unwrap())).json();
    assert_eq!(next["items"][0]["title"], "Voided");
    let expired = w.erp.get("/api/v1/envelopes?status=expired").json();
    assert_eq!(expired["items"].as_array().unwrap().len(), 1);
    let found = w.erp.get("/api/v1/envelopes?q=ZHAO%40example").json();
    assert_eq!(found["items"][0]["title"], "Voided");
}
