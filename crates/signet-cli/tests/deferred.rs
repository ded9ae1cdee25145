//! Deferred signing with a party's own key, end to end: two external parties whose
//! certificates the built-in CA issued, one key on a SoftHSM2 token, the other in a PEM file.
//! The first signs from its signing page (prepare, `signet sign-digest` with the token, upload);
//! wrong signatures are refused on the way (over another digest, with the other party's key,
//! a CMS with the other party's certificate, garbage). The second party's preparation survives a
//! restart of the server and is signed as a CMS by `signet sign-digest --key`. The final PDF
//! passes ../shared/peer/validate.sh at B-LTA. Then, with `--preparation-ttl 3s`, an expired
//! preparation is refused and `signet sign-digest --url` prepares, signs and uploads in one go.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use signet_testkit::{Api, Reply, SignetServer, SoftHsm, TestPage, save_root_pem, test_pdf, validate_level};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";
const TOKEN: &str = "deferred-test";
const PIN: &str = "deferred-pin-1357";

/// A party's certificate chain (PEM, leaf first) and its key.
struct PartyKey {
    chain_pem: String,
    /// The PKCS#8 PEM key file.
    key: PathBuf,
    identity: signet_crypto::Identity,
}

fn pem(der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

/// Issues a person certificate from the data directory's CA (before the server starts) and
/// extracts its key as PKCS#8 PEM.
fn issue(data: &Path, dir: &Path, name: &str, cn: &str, email: &str, key: &str) -> PartyKey {
    let person = signet_testkit::issue_person(SIGNET, data, dir, name, cn, email, key);
    let identity = signet_crypto::Identity::from_pkcs12(
        &std::fs::read(&person.p12).unwrap(),
        signet_testkit::PersonKey::P12_PASSWORD,
    )
    .unwrap();
    assert!(!identity.chain.is_empty(), "the PKCS#12 file carries the issuing CA");
    PartyKey { chain_pem: person.chain_pem, key: person.key, identity }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `signet sign-digest` with `args`, the token's store and PIN in its environment.
fn sign_digest(hsm: &SoftHsm, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let (var, conf) = hsm.env();
    Command::new(SIGNET)
        .arg("sign-digest")
        .args(args)
        .env(var, conf)
        .env("DEFERRED_PIN", PIN)
        .envs(extra_env.iter().copied())
        .env_remove("SIGNET_PKCS11_MODULE")
        .output()
        .unwrap()
}

/// A signer session: its cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

struct World {
    base: String,
    outbox: PathBuf,
}

impl World {
    fn as_signer(&self, s: &Session, method: &str, path: &str, body: &Value) -> Reply {
        Api::new(&self.base, None).send(
            method,
            path,
            Some("application/json"),
            Some(body.to_string().as_bytes()),
            &[("Cookie", &s.cookie), ("X-CSRF-Token", &s.csrf)],
        )
    }

    /// The newest mail to `to` whose text contains `subject`, waited for.
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

    /// Opens the latest invitation to `to` and confirms the e-mailed code.
    fn signer(&self, to: &str) -> Session {
        let invitation = self.mail(to, "/sign/");
        let token = invitation.split("/sign/").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        let r = Api::new(&self.base, None).post_json("/api/v1/signer/session", &json!({"token": token}));
        assert_eq!(r.status, 200, "{}", r.text());
        let s = Session {
            cookie: r.header("set-cookie").unwrap().split(';').next().unwrap().to_string(),
            csrf: r.json()["csrf_token"].as_str().unwrap().into(),
        };
        let code_mail = self.mail(to, "Your one-time code");
        let code: String = code_mail.split(" is ").nth(1).unwrap().chars().take(6).collect();
        let r = self.as_signer(&s, "POST", "/api/v1/signer/code", &json!({"code": code}));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["stage"], "ready", "{}", r.text());
        Session { cookie: r.header("set-cookie").unwrap().split(';').next().unwrap().to_string(), csrf: s.csrf }
    }
}

/// The text of a mail: quoted-printable and base64 parts decoded well enough to search.
fn decode_mail(raw: &str) -> String {
    let unfolded = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = unfolded.as_bytes();
    let mut buf = Vec::new();
    let mut i = 0;
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
    let mut out = String::from_utf8_lossy(&buf).into_owned();
    for block in raw.split("\n\n").chain(raw.split("\r\n\r\n")) {
        let compact: String = block.split_whitespace().collect();
        if compact.len() > 16 {
            if let Ok(d) = B64.decode(&compact) {
                out.push('\n');
                out.push_str(&String::from_utf8_lossy(&d));
            }
        }
    }
    out
}

/// The slot of the test token (`softhsm2-util --show-slots`: a `Slot N` line, then the
/// token's `Label:`).
fn token_slot(hsm: &SoftHsm) -> String {
    let (var, conf) = hsm.env();
    let o = Command::new("softhsm2-util").arg("--show-slots").env(var, conf).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let mut slot = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Slot ") {
            slot = Some(n.trim().to_string());
        } else if line.trim().strip_prefix("Label:").is_some_and(|l| l.trim() == TOKEN) {
            return slot.unwrap();
        }
    }
    panic!("no slot holds the token {TOKEN}:\n{text}");
}

fn start(data: &Path, port: u16, extra: &[&str]) -> SignetServer {
    SignetServer::start_on(SIGNET, port, data, extra, &[("SIGNET_ADMIN_TOKEN", ADMIN)])
}

fn upload_document(erp: &Api) -> String {
    let pdf = test_pdf(&[TestPage::A4]);
    let r = erp.send("POST", "/api/v1/documents?name=contract.pdf", Some("application/pdf"), Some(&pdf), &[]);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_string()
}

/// A copy of the preparation `prep` whose signed attributes are those of another document
/// digest: what a signature "over a different digest" signs.
fn with_other_digest(prep: &Value, certificate: &[u8]) -> Value {
    let attrs = signet_cms::signed_attributes(certificate, signet_crypto::DigestAlgorithm::Sha256, &[7u8; 32]).unwrap();
    let mut other = prep.clone();
    other["signed_attributes"] = B64.encode(attrs).into();
    other
}

#[test]
fn own_keys_sign_through_preparations_and_the_result_validates() {
    let Some(module) =
        signet_testkit::softhsm_module_or_skip("own_keys_sign_through_preparations_and_the_result_validates")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let port = signet_testkit::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let o =
        Command::new(SIGNET).args(["ca", "init", "--public-url", &base]).arg("--data-dir").arg(&data).output().unwrap();
    assert!(o.status.success(), "signet ca init: {}", stderr(&o));
    let zhang = issue(&data, dir, "zhang", "Zhang San", "zhang@example.com", "p-256");
    let li = issue(&data, dir, "li", "Li Wei", "li@example.com", "rsa-2048");

    // Zhang's key lives on a token
    let hsm = SoftHsm::new(&dir.join("softhsm"), module.clone());
    hsm.init_token(TOKEN, "so-pin-2468", PIN);
    hsm.import_key(TOKEN, PIN, &zhang.key, "zhang", "0a");
    let module = module.to_str().unwrap().to_string();

    let mut server = start(&data, port, &[]);
    let w = World { base: base.clone(), outbox: data.join("outbox") };
    let root = save_root_pem(&base, &dir.join("root.pem"));
    let admin = Api::new(&base, Some(ADMIN));
    let tenant = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "acme"}));
    let tid = tenant["id"].as_str().unwrap();
    let key = admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{tid}/keys"),
        &json!({"name": "erp", "scopes": ["sign-document"]}),
    );
    let erp = admin.with(key["token"].as_str());
    let token = key["token"].as_str().unwrap().to_string();

    // refusals at creation name the problem
    let doc = upload_document(&erp);
    let bad = |own_key: Value, fields: Value| {
        erp.post_json(
            "/api/v1/envelopes",
            &json!({"title": "x", "document_id": doc, "parties": [
                {"name": "Zhang San", "email": "zhang@example.com", "own_key": own_key, "fields": fields}]}),
        )
    };
    let one_field = json!([{"kind": "signature", "page": 1, "rect": [60, 80, 260, 150]}]);
    let r = bad(
        json!({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
        one_field.clone(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("own_key.certificate"), "{}", r.text());
    let reversed: String =
        std::iter::once(&zhang.identity.chain[0]).chain([&zhang.identity.certificate]).map(|c| pem(c)).collect();
    let r = bad(json!({"certificate": reversed}), one_field.clone());
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("leaf first"), "{}", r.text());
    let two = json!([{"kind": "signature", "page": 1, "rect": [60, 80, 260, 150]},
                     {"kind": "signature", "page": 1, "rect": [60, 300, 260, 370]}]);
    let r = bad(json!({"certificate": zhang.chain_pem}), two);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("exactly one signature field"), "{}", r.text());

    let e = erp.ok_json(
        "POST",
        "/api/v1/envelopes",
        &json!({"title": "Own-key contract", "document_id": doc, "send": true, "parties": [
            {"name": "Zhang San", "email": "zhang@example.com", "own_key": {"certificate": zhang.chain_pem},
             "fields": [{"kind": "signature", "page": 1, "rect": [60, 80, 260, 150]},
                        {"kind": "text", "page": 1, "rect": [60, 50, 260, 72], "label": "Title"}]},
            {"name": "Li Wei", "email": "li@example.com", "own_key": {"certificate": li.chain_pem},
             "fields": [{"kind": "signature", "page": 1, "rect": [320, 80, 520, 150]}]}
        ]}),
    );
    let id = e["id"].as_str().unwrap().to_string();
    let (pa, pb) =
        (e["parties"][0]["id"].as_str().unwrap().to_string(), e["parties"][1]["id"].as_str().unwrap().to_string());
    assert!(e["parties"][0]["own_key"]["subject"].as_str().unwrap().contains("CN=Zhang San"), "{e}");
    assert_eq!(e["parties"][0]["own_key"]["key_type"], "ec-p256");
    assert_eq!(e["parties"][1]["own_key"]["key_type"], "rsa-2048");
    let text_field = e["parties"][0]["fields"][1]["id"].as_str().unwrap().to_string();

    // Zhang, on the signing page: the ordinary signature is refused, the own-key one prepared
    let s = w.signer("zhang@example.com");
    let r = w.as_signer(&s, "POST", "/api/v1/signer/sign", &json!({}));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code(), "own_key_party", "{}", r.text());
    let view = w.as_signer(&s, "GET", "/api/v1/signer/own-key", &json!(null)).json();
    assert!(view["own_key"]["subject"].as_str().unwrap().contains("Zhang San"), "{view}");
    assert!(view["preparation"].is_null(), "{view}");
    let r = w.as_signer(&s, "POST", "/api/v1/signer/prepare", &json!({}));
    assert_eq!(r.status, 400, "a text field left empty: {}", r.text());
    let r = w.as_signer(&s, "POST", "/api/v1/signer/prepare", &json!({"values": {text_field.clone(): "Director"}}));
    assert_eq!(r.status, 201, "{}", r.text());
    let prep = r.json();
    assert_eq!(prep["status"], "pending");
    assert_eq!(prep["upload_path"], "/api/v1/signer/signature");
    assert!(prep["command"].as_str().unwrap().starts_with("signet sign-digest --input preparation.json"), "{prep}");
    assert!(prep["expires_at"].as_i64().unwrap() > signet_store::now_millis() + 600_000, "{prep}");
    let view = w.as_signer(&s, "GET", "/api/v1/signer/own-key", &json!(null)).json();
    assert_eq!(view["preparation"]["preparation_id"], prep["preparation_id"], "{view}");
    let prep_file = dir.join("preparation.json");
    std::fs::write(&prep_file, prep.to_string()).unwrap();
    let prep_id = prep["preparation_id"].as_str().unwrap().to_string();

    // a signature over another digest, made by Zhang's own key on the token: refused
    let other_file = dir.join("other-digest.json");
    std::fs::write(&other_file, with_other_digest(&prep, &zhang.identity.certificate).to_string()).unwrap();
    let token_args = |input: &Path, output: &Path| -> Vec<String> {
        vec![
            "--input".into(),
            input.to_str().unwrap().into(),
            "--output".into(),
            output.to_str().unwrap().into(),
            "--pkcs11-module".into(),
            module.clone(),
            "--token-label".into(),
            TOKEN.into(),
            "--pin-env".into(),
            "DEFERRED_PIN".into(),
            "--key-label".into(),
            "zhang".into(),
        ]
    };
    let other_sig = dir.join("other-signature.json");
    let args = token_args(&other_file, &other_sig);
    let o = sign_digest(&hsm, &args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let body: Value = serde_json::from_slice(&std::fs::read(&other_sig).unwrap()).unwrap();
    let r = w.as_signer(&s, "POST", "/api/v1/signer/signature", &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code(), "signature_mismatch", "{}", r.text());

    // Li's key over Zhang's preparation: refused locally by sign-digest, and by the server
    let o =
        sign_digest(&hsm, &["--input", prep_file.to_str().unwrap(), "--key", li.key.to_str().unwrap(), "--quiet"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not the party's"), "{}", stderr(&o));
    let attrs = B64.decode(prep["signed_attributes"].as_str().unwrap()).unwrap();
    let scheme = signet_crypto::SignatureScheme::RsaPkcs1v15;
    let sha256 = signet_crypto::DigestAlgorithm::Sha256;
    let li_sig = li.identity.signer.sign(scheme, sha256, &attrs).unwrap();
    let r = w.as_signer(
        &s,
        "POST",
        "/api/v1/signer/signature",
        &json!({"preparation_id": prep_id, "signature": B64.encode(&li_sig)}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code(), "signature_mismatch", "{}", r.text());
    // a CMS with Li's certificate (its signature valid for Li) over the prepared attributes
    let li_cms =
        signet_cms::assemble_signed_data(&li.identity.certificate, &li.identity.chain, sha256, scheme, &attrs, &li_sig)
            .unwrap();
    let r = w.as_signer(
        &s,
        "POST",
        "/api/v1/signer/signature",
        &json!({"preparation_id": prep_id, "cms": B64.encode(&li_cms)}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code(), "cms_wrong_certificate", "{}", r.text());
    assert!(r.text().contains("Li Wei"), "{}", r.text());
    // garbage, and the other party's preparation id
    for body in [
        json!({"preparation_id": prep_id, "cms": "AAAA"}),
        json!({"preparation_id": prep_id, "signature": "%%%"}),
        json!({"preparation_id": prep_id}),
        json!({"preparation_id": prep_id, "signature": "AAAA", "cms": "AAAA"}),
    ] {
        let r = w.as_signer(&s, "POST", "/api/v1/signer/signature", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
    }
    let r = w.as_signer(
        &s,
        "POST",
        "/api/v1/signer/signature",
        &json!({"preparation_id": "prp_nosuch", "signature": B64.encode(&li_sig)}),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    // the sender may not act for Li out of turn
    let r = erp.post_json(&format!("/api/v1/envelopes/{id}/parties/{pb}/prepare"), &json!({}));
    assert_eq!(r.status, 409, "{}", r.text());

    // the real thing: the token signs the prepared attributes, the page uploads
    let sig_file = dir.join("signature.json");
    let args = token_args(&prep_file, &sig_file);
    let o = sign_digest(&hsm, &args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let body: Value = serde_json::from_slice(&std::fs::read(&sig_file).unwrap()).unwrap();
    assert_eq!(body["preparation_id"], prep_id.as_str());
    let r = w.as_signer(&s, "POST", "/api/v1/signer/signature", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "signed");
    assert_eq!(r.json()["envelope_status"], "sent");
    // once only
    let r = w.as_signer(&s, "POST", "/api/v1/signer/signature", &body);
    assert_eq!(r.status, 409, "{}", r.text());
    let e = erp.get(&format!("/api/v1/envelopes/{id}")).json();
    assert_eq!(e["parties"][0]["status"], "signed", "{e}");
    assert_eq!(e["parties"][0]["evidence"]["signature_kind"], "own_key", "{e}");
    assert!(e["parties"][0]["evidence"]["certificate_subject"].as_str().unwrap().contains("Zhang San"), "{e}");
    assert_eq!(e["parties"][0]["fields"][1]["value"], "Director", "{e}");
    assert_eq!(e["parties"][1]["status"], "notified", "{e}");

    // Li: the sender prepares; the server restarts; the preparation still signs
    let r =
        erp.post_json(&format!("/api/v1/envelopes/{id}/parties/{pb}/prepare"), &json!({"digest_algorithm": "sha384"}));
    assert_eq!(r.status, 201, "{}", r.text());
    let prep_b = r.json();
    assert_eq!(prep_b["digest_algorithm"], "sha384");
    assert_eq!(prep_b["upload_path"], format!("/api/v1/envelopes/{id}/parties/{pb}/signature"));
    let prep_b_file = dir.join("preparation-li.json");
    std::fs::write(&prep_b_file, prep_b.to_string()).unwrap();
    server.stop();
    let mut server = start(&data, port, &[]);
    let status = erp.get(&format!(
        "/api/v1/envelopes/{id}/parties/{pb}/preparations/{}",
        prep_b["preparation_id"].as_str().unwrap()
    ));
    assert_eq!(status.status, 200, "{}", status.text());
    assert_eq!(status.json()["status"], "pending");
    let sig_b = dir.join("signature-li.json");
    let o = sign_digest(
        &hsm,
        &[
            "--input",
            prep_b_file.to_str().unwrap(),
            "--key",
            li.key.to_str().unwrap(),
            "--cms",
            "--pss",
            "-o",
            sig_b.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let body: Value = serde_json::from_slice(&std::fs::read(&sig_b).unwrap()).unwrap();
    assert!(body["cms"].is_string(), "{body}");
    let r = erp.post_json(&format!("/api/v1/envelopes/{id}/parties/{pb}/signature"), &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let e = r.json();
    assert_eq!(e["status"], "completed", "{e}");
    let status = erp.get(&format!(
        "/api/v1/envelopes/{id}/parties/{pb}/preparations/{}",
        prep_b["preparation_id"].as_str().unwrap()
    ));
    assert_eq!(status.json()["status"], "used", "{}", status.text());
    let history: Vec<String> = erp
        .get(&format!("/api/v1/envelopes/{id}/history"))
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(history.iter().filter(|k| *k == "signature_prepared").count() >= 2, "{history:?}");
    assert!(history.iter().any(|k| k == "completed"), "{history:?}");

    let final_pdf = dir.join("final.pdf");
    let r = erp.get(&format!("/api/v1/envelopes/{id}/document"));
    assert_eq!(r.status, 200);
    std::fs::write(&final_pdf, &r.body).unwrap();
    let report =
        validate_level(&final_pdf, &root, 2, None, "hard", "B-LTA").unwrap_or_else(|t| panic!("final.pdf:\n{t}"));
    eprintln!("{report}");
    let o = Command::new(SIGNET).arg("verify").arg(&final_pdf).arg("--trust").arg(&root).output().unwrap();
    assert!(o.status.success(), "signet verify: {}", String::from_utf8_lossy(&o.stdout));

    // a short time to live: an expired preparation is refused; sign-digest --url is quick
    server.stop();
    let _server = start(&data, port, &["--preparation-ttl", "3s"]);
    let doc = upload_document(&erp);
    let e = erp.ok_json(
        "POST",
        "/api/v1/envelopes",
        &json!({"title": "Expiring preparation", "document_id": doc, "send": true, "parties": [
            {"name": "Zhang San", "email": "zhang@example.com", "own_key": {"certificate": zhang.chain_pem},
             "fields": [{"kind": "signature", "page": 1, "rect": [60, 80, 260, 150]}]}]}),
    );
    let id = e["id"].as_str().unwrap().to_string();
    let pa2 = e["parties"][0]["id"].as_str().unwrap().to_string();
    let r = erp.post_json(&format!("/api/v1/envelopes/{id}/parties/{pa2}/prepare"), &json!({}));
    assert_eq!(r.status, 201, "{}", r.text());
    let late = dir.join("late.json");
    std::fs::write(&late, r.json().to_string()).unwrap();
    let late_sig = dir.join("late-signature.json");
    // the token by its slot this time, as the preparation's command line has it
    let slot = token_slot(&hsm);
    let mut args = token_args(&late, &late_sig);
    let at = args.iter().position(|a| a == "--token-label").unwrap();
    args.splice(at..at + 2, ["--slot".to_string(), slot]);
    let o = sign_digest(&hsm, &args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::thread::sleep(Duration::from_millis(3500));
    let body: Value = serde_json::from_slice(&std::fs::read(&late_sig).unwrap()).unwrap();
    let r = erp.post_json(&format!("/api/v1/envelopes/{id}/parties/{pa2}/signature"), &body);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.code(), "preparation_expired", "{}", r.text());
    assert!(r.text().contains("prepare again"), "{}", r.text());

    let o = sign_digest(
        &hsm,
        &[
            "--url",
            &base,
            "--api-key-env",
            "DEFERRED_API_KEY",
            "--envelope",
            &id,
            "--party",
            &pa2,
            "--pkcs11-module",
            &module,
            "--token-label",
            TOKEN,
            "--pin-env",
            "DEFERRED_PIN",
            "--key-id",
            "0a",
        ],
        &[("DEFERRED_API_KEY", &token)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("is completed"), "{}", stderr(&o));
    let e = erp.get(&format!("/api/v1/envelopes/{id}")).json();
    assert_eq!(e["status"], "completed", "{e}");
    let _ = pa;
}
