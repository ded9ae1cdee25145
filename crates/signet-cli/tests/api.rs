//! The signing agent and the hash-signing API of `signet serve`, end to end over HTTP, on
//! every database of the run (SQLite; PostgreSQL when SIGNET_TEST_POSTGRES_URL is set, as
//! scripts/test.sh does). Every signed PDF goes through ../shared/peer/validate.sh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use signet_pades::{CmsProvider, Level, Services, SignatureOptions, ValidationData, ValidationSource};
use signet_testkit::{Api, SignetServer, TestDatabase, TestPage, seal_png, test_pdf, validate_level};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";

/// The test client's side of the hash-signing API: hashes locally, sends the digest only.
struct SignHashClient<'a> {
    api: &'a Api,
    identity: &'a str,
    level: Level,
    estimated: usize,
    received: std::sync::Mutex<Option<ValidationData>>,
}

impl CmsProvider for SignHashClient<'_> {
    fn estimated_len(&self) -> signet_pades::Result<usize> {
        Ok(self.estimated + 8192)
    }
    fn digest_algorithm(&self) -> signet_crypto::DigestAlgorithm {
        signet_crypto::DigestAlgorithm::Sha256
    }
    fn timestamps(&self) -> bool {
        self.level >= Level::BT
    }
    fn sign_digest(&self, digest: &[u8]) -> signet_pades::Result<Vec<u8>> {
        let level = self.level.to_string().to_ascii_lowercase();
        let r = self.api.post_json(
            "/api/v1/sign-hash",
            &json!({"identity": self.identity, "digest_algorithm": "sha256", "digest": B64.encode(digest), "level": level}),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        if let Some(val) = v.get("validation") {
            let list =
                |k: &str| val[k].as_array().unwrap().iter().map(|c| B64.decode(c.as_str().unwrap()).unwrap()).collect();
            *self.received.lock().unwrap() =
                Some(ValidationData::new(list("certificates"), list("ocsp_responses"), list("crls")));
        }
        Ok(B64.decode(v["cms"].as_str().unwrap()).unwrap())
    }
}

impl ValidationSource for SignHashClient<'_> {
    fn collect(&self, _: &[Vec<u8>], _: &[Vec<u8>], _: SystemTime) -> signet_pades::Result<ValidationData> {
        Ok(self.received.lock().unwrap().clone().expect("validation data from sign-hash"))
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, data) in parts {
        out.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if let Some(f) = filename {
            out.extend(format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes());
        }
        out.extend(b"\r\n\r\n");
        out.extend(*data);
        out.extend(b"\r\n");
    }
    out.extend(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Everything of the agent and the sign API, on one database.
fn agent_and_sign_api_on(db: &TestDatabase, dir: &Path) {
    let data = dir.join(format!("data-{}", db.backend));
    let server =
        SignetServer::start_with_env(SIGNET, &data, &["--database-url", &db.url], &[("SIGNET_ADMIN_TOKEN", ADMIN)]);
    let base = server.url("");
    let admin = Api::new(&base, Some(ADMIN));
    let anon = Api::new(&base, None);
    let root = write(dir, &format!("root-{}.der", db.backend), &anon.get("/ca/root.crt").body);
    let root_pem = dir.join(format!("root-{}.pem", db.backend));
    let st = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&root)
        .arg("-out")
        .arg(&root_pem)
        .status()
        .unwrap();
    assert!(st.success());

    // tenants and keys
    let acme = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "acme"}));
    let acme_id = acme["id"].as_str().unwrap();
    let key = admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{acme_id}/keys"),
        &json!({"name": "erp", "scopes": ["sign-hash", "sign-document", "manage"]}),
    );
    let api = admin.with(key["token"].as_str());
    assert_eq!(api.get("/api/v1/me").json()["tenant_id"], acme_id);

    // identities: P-256 and RSA-2048 from the built-in CA
    let seal = api.ok_json(
        "POST",
        "/api/v1/identities",
        &json!({"name": "company-seal", "issue": {"common_name": "ACME Ltd company seal", "organization": "ACME Ltd", "country": "CN"}}),
    );
    assert!(seal["certificate_chain"].as_array().unwrap().len() >= 2);
    assert!(seal.get("key").is_none() && !seal.to_string().contains("PRIVATE"));
    api.ok_json(
        "POST",
        "/api/v1/identities",
        &json!({"name": "rsa", "issue": {"common_name": "ACME Ltd RSA", "organization": "ACME Ltd", "key": "rsa-2048"}}),
    );
    let image = api.send("POST", "/api/v1/images", Some("image/png"), Some(&seal_png()), &[]);
    assert_eq!(image.status, 201, "{}", String::from_utf8_lossy(&image.body));
    let image_id = image.json()["id"].as_str().unwrap().to_string();

    let pdf = test_pdf(&[TestPage::A4, TestPage { rotate: 90, ..TestPage::A4 }]);

    // the agent: raw body, every level, visible seal
    for (identity, level) in
        [("company-seal", "b-b"), ("rsa", "b-t"), ("company-seal", "b-lt"), ("company-seal", "b-lta")]
    {
        let path = format!(
            "/api/v1/documents/sign?identity={identity}&level={level}&page=1&rect=300,50,450,200&image={image_id}&reason=Approved&text=ACME%20Ltd%5CnApproved"
        );
        let r = api.send("POST", &path, Some("application/pdf"), Some(&pdf), &[]);
        assert_eq!(r.status, 200, "{level}: {}", String::from_utf8_lossy(&r.body));
        let id = r.header("x-signet-document-id").unwrap().to_string();
        let sha = r.header("x-signet-document-sha256").unwrap().to_string();
        assert_eq!(sha, signet_store_hex(&r.body));
        let out = write(dir, &format!("agent-{}-{level}.pdf", db.backend), &r.body);
        validate_level(&out, &root_pem, 1, None, "hard", &level.to_ascii_uppercase())
            .unwrap_or_else(|t| panic!("{} agent {level}:\n{t}", db.backend));
        // the signed version is the stored version
        assert_eq!(api.get(&format!("/api/v1/documents/{id}/content")).body, r.body);
    }

    // the agent: multipart with an uploaded seal, certifying, on the rotated page
    let form = multipart(
        "XyZ",
        &[
            ("identity", None, b"company-seal"),
            ("page", None, b"2"),
            ("rect", None, b"40,40,160,160"),
            ("certify", None, b"form-filling"),
            ("seal", Some("seal.png"), &seal_png()),
            ("file", Some("contract.pdf"), &pdf),
        ],
    );
    let r = api.send("POST", "/api/v1/documents/sign", Some("multipart/form-data; boundary=XyZ"), Some(&form), &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = write(dir, &format!("agent-{}-multipart.pdf", db.backend), &r.body);
    validate_level(&out, &root_pem, 1, None, "hard", "B-B")
        .unwrap_or_else(|t| panic!("{} multipart:\n{t}", db.backend));

    // a document over the in-memory size goes through files: as a raw body (its length
    // known, a file from the first byte) and as a form part (its length unknown, received in
    // memory until it outgrows it, then spilled to a file)
    let big = signet_testkit::marked_pdf("large document through files", 5 << 20);
    let r = api.send(
        "POST",
        "/api/v1/documents/sign?identity=company-seal&level=b-lt&page=1&rect=40,40,160,120",
        Some("application/pdf"),
        Some(&big),
        &[],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body.starts_with(&big), "the original bytes come first, unchanged");
    let out = write(dir, &format!("agent-{}-large.pdf", db.backend), &r.body);
    validate_level(&out, &root_pem, 1, None, "hard", "B-LT").unwrap_or_else(|t| panic!("{} large:\n{t}", db.backend));
    let id = r.header("x-signet-document-id").unwrap();
    assert_eq!(api.get(&format!("/api/v1/documents/{id}/content")).body, r.body);
    let form = multipart("Lg", &[("identity", None, b"rsa"), ("file", Some("large.pdf"), &big)]);
    let r = api.send("POST", "/api/v1/documents/sign", Some("multipart/form-data; boundary=Lg"), Some(&form), &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body.starts_with(&big));
    let out = write(dir, &format!("agent-{}-large-form.pdf", db.backend), &r.body);
    validate_level(&out, &root_pem, 1, None, "hard", "B-B")
        .unwrap_or_else(|t| panic!("{} large form:\n{t}", db.backend));

    // a template with two placements: one signature, its seal shown in two places
    api.ok_json(
        "PUT",
        "/api/v1/templates/two-seals",
        &json!({"placements": [
            {"page": 1, "rect": [50, 50, 150, 150], "image": image_id},
            {"page": -1, "rect": [200, 50, 300, 150], "image": image_id, "text": ["ACME"]}
        ]}),
    );
    let r = api.send(
        "POST",
        "/api/v1/documents/sign?identity=company-seal&template=two-seals",
        Some("application/pdf"),
        Some(&pdf),
        &[],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = write(dir, &format!("agent-{}-template.pdf", db.backend), &r.body);
    validate_level(&out, &root_pem, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("{} template:\n{t}", db.backend));
    let text = String::from_utf8_lossy(&r.body);
    let stamps = text.matches("/Subtype/Stamp").count() + text.matches("/Subtype /Stamp").count();
    assert_eq!(stamps, 1, "the second placement is a stamp of the same signature");

    // upload once, preview a page, place by the page's geometry, sign the upload by id
    let up = api.send("POST", "/api/v1/documents", Some("application/pdf"), Some(&pdf), &[]);
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let upload_id = up.json()["id"].as_str().unwrap().to_string();
    assert_eq!(up.json()["page_count"], 2);
    let page = api.get(&format!("/api/v1/documents/{upload_id}/pages/2")).json();
    assert_eq!(
        (page["width"].as_f64(), page["height"].as_f64(), page["rotate"].as_u64()),
        (Some(842.0), Some(595.0), Some(90))
    );
    let png = api.get(page["image"].as_str().unwrap());
    assert_eq!(png.status, 200);
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert!(png.body.starts_with(b"\x89PNG"));
    assert_eq!(png.header("x-page-width"), Some("842"));
    let (w, h) = (
        u32::from_be_bytes(png.body[16..20].try_into().unwrap()),
        u32::from_be_bytes(png.body[20..24].try_into().unwrap()),
    );
    assert!(w > h, "a /Rotate 90 portrait page shows landscape: {w}x{h}");
    assert_eq!(api.get(&format!("/api/v1/documents/{upload_id}/pages/3")).status, 404);
    // a click at pixel (w/4, h/4) of the image is the point (width/4, height*3/4)
    let (x, y) = (842.0 / 4.0, 595.0 * 3.0 / 4.0);
    let r = api.send(
        "POST",
        &format!("/api/v1/documents/sign?document_id={upload_id}&identity=company-seal&page=2&rect={},{},{},{}&image={image_id}", x - 40.0, y - 40.0, x + 40.0, y + 40.0),
        Some("application/pdf"),
        None,
        &[],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = write(dir, &format!("agent-{}-upload.pdf", db.backend), &r.body);
    validate_level(&out, &root_pem, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("{} upload:\n{t}", db.backend));

    // the sign API, the PDF assembled by this test from the digests only
    for level in [Level::BB, Level::BT, Level::BLT] {
        let input = write(dir, &format!("in-{}.pdf", db.backend), &pdf);
        let out = dir.join(format!("signhash-{}-{level}.pdf", db.backend));
        let client = SignHashClient {
            api: &api,
            identity: "company-seal",
            level,
            estimated: seal["estimated_cms_bytes"].as_u64().unwrap() as usize,
            received: Default::default(),
        };
        let services =
            Services { tsa: None, validation: Some(&client), timestamp_digest: signet_crypto::DigestAlgorithm::Sha256 };
        signet_pades::sign_file_at_level(
            &input,
            &out,
            None,
            &SignatureOptions::default(),
            &client,
            level,
            services,
            false,
        )
        .unwrap();
        validate_level(&out, &root_pem, 1, None, "hard", &level.to_string())
            .unwrap_or_else(|t| panic!("{} sign-hash {level}:\n{t}", db.backend));
    }

    // idempotency: the retry returns the first document, signed and counted once
    let usage_before = api.get("/api/v1/usage").json()["current"].clone();
    let idem = [("Idempotency-Key", "order-42")];
    let first =
        api.send("POST", "/api/v1/documents/sign?identity=company-seal", Some("application/pdf"), Some(&pdf), &idem);
    let again =
        api.send("POST", "/api/v1/documents/sign?identity=company-seal", Some("application/pdf"), Some(&pdf), &idem);
    assert_eq!(first.status, 200);
    assert_eq!(again.status, 200);
    assert_eq!(first.body, again.body);
    assert_eq!(first.header("x-signet-document-id"), again.header("x-signet-document-id"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = api.send("POST", "/api/v1/documents/sign?identity=rsa", Some("application/pdf"), Some(&pdf), &idem);
    assert_eq!((other.status, other.code().as_str()), (409, "idempotency_mismatch"));
    let usage_after = api.get("/api/v1/usage").json()["current"].clone();
    assert_eq!(usage_after["documents"].as_i64().unwrap(), usage_before["documents"].as_i64().unwrap() + 1);
    assert_eq!(usage_after["calls"].as_i64().unwrap(), usage_before["calls"].as_i64().unwrap() + 1);

    // sign-hash retried with the same key: the first CMS again, one call metered, one record
    let calls_before = api.get("/api/v1/usage").json()["current"]["calls"].as_i64().unwrap();
    let records_before = api.get("/api/v1/signatures?limit=1000").json().as_array().unwrap().len();
    let body =
        json!({"identity": "company-seal", "digest_algorithm": "sha256", "digest": B64.encode([9u8; 32])}).to_string();
    let idem = [("Idempotency-Key", "hash-retry-1")];
    let a = api.send("POST", "/api/v1/sign-hash", Some("application/json"), Some(body.as_bytes()), &idem);
    let b = api.send("POST", "/api/v1/sign-hash", Some("application/json"), Some(body.as_bytes()), &idem);
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(a.json(), b.json());
    assert_eq!(api.get("/api/v1/usage").json()["current"]["calls"].as_i64().unwrap(), calls_before + 1);
    let records = api.get("/api/v1/signatures?limit=1000").json();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), records_before + 1);
    let last = records.last().unwrap();
    assert_eq!(
        (last["channel"].as_str(), last["outcome"].as_str(), last["level"].as_str()),
        (Some("sign-hash"), Some("signed"), Some("B-B"))
    );
    assert_eq!(last["digest"].as_str().unwrap(), "09".repeat(32));
    assert!(records.windows(2).all(|w| w[0]["seq"].as_i64().unwrap() + 1 == w[1]["seq"].as_i64().unwrap()));

    // hostile forms: an oversized seal part is refused while it streams (413), a form full of
    // option fields is refused by count, an identity name cannot reach into a URL path
    let huge = vec![0u8; (32 << 20) + 1];
    let form = multipart(
        "Hx",
        &[("identity", None, b"company-seal"), ("rect", None, b"1,1,50,50"), ("seal", Some("s.png"), &huge)],
    );
    let r = Api::new(&base, api.token.as_deref()).send(
        "POST",
        "/api/v1/documents/sign",
        Some("multipart/form-data; boundary=Hx"),
        Some(&form),
        &[],
    );
    assert_eq!(r.status, 413, "{}", r.text());
    let many: Vec<(String, &[u8])> = (0..40).map(|i| (format!("x{i}"), &b"1"[..])).collect();
    let many_parts: Vec<(&str, Option<&str>, &[u8])> = many.iter().map(|(n, v)| (n.as_str(), None, *v)).collect();
    let r = api.send(
        "POST",
        "/api/v1/documents/sign",
        Some("multipart/form-data; boundary=Hx"),
        Some(&multipart("Hx", &many_parts)),
        &[],
    );
    assert_eq!((r.status, r.code().as_str()), (400, "bad_multipart"), "{}", r.text());
    let r = api.send("POST", "/api/v1/documents/sign?identity=..%2Fkeys", Some("application/pdf"), Some(&pdf), &[]);
    assert_eq!((r.status, r.code().as_str()), (400, "bad_identity"), "{}", r.text());

    // precise refusals
    let digest = B64.encode([7u8; 32]);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"identity": "company-seal", "digest_algorithm": "sha256", "digest": B64.encode([1u8; 20])}),
            400,
            "bad_digest",
        ),
        (json!({"identity": "company-seal", "digest_algorithm": "md5", "digest": digest}), 400, "bad_digest_algorithm"),
        (json!({"identity": "nobody", "digest_algorithm": "sha256", "digest": digest}), 404, "not_found"),
        (
            json!({"identity": "company-seal", "digest_algorithm": "sha256", "digest": digest, "document": "JVBERi0="}),
            400,
            "bad_json",
        ),
        (
            json!({"identity": "company-seal", "digest_algorithm": "sha256", "digest": digest, "level": "b-lta"}),
            400,
            "bad_level",
        ),
    ];
    for (body, status, code) in cases {
        let r = api.post_json("/api/v1/sign-hash", &body);
        assert_eq!((r.status, r.code().as_str()), (status, code), "{body}: {}", String::from_utf8_lossy(&r.body));
        assert!(!r.json()["error"]["message"].as_str().unwrap().is_empty());
    }
    let big = vec![b' '; 64 * 1024];
    // (on a connection of its own: the server closes it after refusing to read the rest)
    let r = Api::new(&base, api.token.as_deref()).send(
        "POST",
        "/api/v1/sign-hash",
        Some("application/json"),
        Some(&big),
        &[],
    );
    assert_eq!(r.status, 413, "a document-sized body is refused");

    // isolation and scopes: other tenant, missing scope, no key, revoked key
    let other_t = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "other", "max_calls": 2}));
    let other_id = other_t["id"].as_str().unwrap();
    let other_all = admin.with(
        admin.ok_json(
            "POST",
            &format!("/api/v1/tenants/{other_id}/keys"),
            &json!({"name": "o", "scopes": ["sign-hash", "sign-document", "manage"]}),
        )["token"]
            .as_str(),
    );
    let hash_only = admin.with(
        admin.ok_json(
            "POST",
            &format!("/api/v1/tenants/{acme_id}/keys"),
            &json!({"name": "h", "scopes": ["sign-hash"]}),
        )["token"]
            .as_str(),
    );
    let revoked = api.ok_json(
        "POST",
        "/api/v1/keys",
        &json!({"name": "old", "scopes": ["sign-hash", "sign-document", "manage"]}),
    );
    let revoked_api = admin.with(revoked["token"].as_str());
    assert_eq!(revoked_api.get("/api/v1/me").status, 200);
    api.send("DELETE", &format!("/api/v1/keys/{}", revoked["id"].as_str().unwrap()), None, None, &[]);
    let doc_id = first.header("x-signet-document-id").unwrap();
    let sign_hash_body = json!({"identity": "company-seal", "digest_algorithm": "sha256", "digest": digest});
    type Call<'a> = (&'a str, String, Option<Value>, Option<&'a [u8]>);
    let calls: Vec<Call> = vec![
        ("POST", "/api/v1/sign-hash".into(), Some(sign_hash_body.clone()), None),
        ("POST", "/api/v1/documents/sign?identity=company-seal".into(), None, Some(&pdf)),
        ("GET", format!("/api/v1/documents/{doc_id}"), None, None),
        ("GET", format!("/api/v1/documents/{doc_id}/content"), None, None),
        ("GET", "/api/v1/identities/company-seal".into(), None, None),
        ("POST", "/api/v1/identities".into(), Some(json!({"name": "x", "issue": {"common_name": "x"}})), None),
        ("GET", "/api/v1/templates/two-seals".into(), None, None),
        (
            "PUT",
            "/api/v1/templates/two-seals".into(),
            Some(json!({"placements": [{"page": 1, "rect": [0, 0, 10, 10]}]})),
            None,
        ),
        ("DELETE", "/api/v1/templates/two-seals".into(), None, None),
        ("GET", format!("/api/v1/images/{image_id}"), None, None),
        ("GET", "/api/v1/usage".into(), None, None),
        ("GET", "/api/v1/signatures".into(), None, None),
        ("GET", format!("/api/v1/documents/{upload_id}/pages/1"), None, None),
        ("GET", format!("/api/v1/documents/{upload_id}/pages/1/image"), None, None),
        ("POST", "/api/v1/documents".into(), None, Some(&pdf)),
        ("POST", "/api/v1/keys".into(), Some(json!({"name": "k", "scopes": ["manage"]})), None),
        ("GET", format!("/api/v1/tenants/{acme_id}"), None, None),
    ];
    for (method, path, json_body, raw) in &calls {
        let go = |who: &Api| match (json_body, raw) {
            (Some(j), _) => who.send(method, path, Some("application/json"), Some(j.to_string().as_bytes()), &[]),
            (None, Some(b)) => who.send(method, path, Some("application/pdf"), Some(b), &[]),
            (None, None) => who.send(method, path, None, None, &[]),
        };
        // creating names no resource of acme's: another tenant's key creates in its own tenant
        let creates = (*method == "POST"
            && (path == "/api/v1/identities" || path == "/api/v1/keys" || path == "/api/v1/documents"))
            || *method == "PUT"
            || (*method == "GET" && (path == "/api/v1/usage" || path == "/api/v1/signatures"));
        for (who, name) in [(&other_all, "other tenant"), (&anon, "no key"), (&revoked_api, "revoked key")] {
            if creates && name == "other tenant" {
                continue;
            }
            let r = go(who);
            let ok = matches!(r.status, 401 | 403 | 404);
            assert!(ok, "{method} {path} with {name}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        }
        if *path != "/api/v1/sign-hash"
            && !path.starts_with("/api/v1/identities/")
            && !path.starts_with("/api/v1/images/")
        {
            let r = go(&hash_only);
            assert!(matches!(r.status, 403 | 404), "{method} {path} without its scope: {}", r.status);
        }
    }
    // nothing of acme's changed: its template, its identities
    let names: Vec<String> = api
        .get("/api/v1/identities")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["company-seal", "rsa"]);
    // the template survived every refused DELETE/PUT
    assert_eq!(api.get("/api/v1/templates/two-seals").json()["placements"].as_array().unwrap().len(), 2);

    // quota: the other tenant has 2 calls a month
    other_all.ok_json("POST", "/api/v1/identities", &json!({"name": "s", "issue": {"common_name": "Other"}}));
    let b = json!({"identity": "s", "digest_algorithm": "sha256", "digest": digest});
    assert_eq!(other_all.post_json("/api/v1/sign-hash", &b).status, 200);
    assert_eq!(other_all.post_json("/api/v1/sign-hash", &b).status, 200);
    let r = other_all.post_json("/api/v1/sign-hash", &b);
    assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(other_all.get("/api/v1/usage").json()["current"]["calls"], 2);
}

fn signet_store_hex(bytes: &[u8]) -> String {
    hex::encode(signet_crypto::DigestAlgorithm::Sha256.digest(bytes))
}

#[test]
fn agent_and_sign_api_on_every_database() {
    let dir = tempfile::tempdir().unwrap();
    let dir = if std::env::var_os("SIGNET_KEEP_TEST_DIR").is_some() { dir.keep() } else { dir.path().to_path_buf() };
    for db in TestDatabase::all(&dir) {
        agent_and_sign_api_on(&db, &dir);
    }
}
