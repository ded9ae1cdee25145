//! Batch signing end to end over HTTP, on every database of the run (SQLite; PostgreSQL when
//! SIGNET_TEST_POSTGRES_URL is set, as scripts/test.sh does): multipart and zip uploads, a
//! document that is not a PDF among good ones, the results, `signet batch`, tenant isolation,
//! a revoked key, and a server stopped and killed mid-batch that finishes every document
//! exactly once when it starts again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use signet_testkit::{
    Api, Reply, SignetServer, TestDatabase, TestPage, multipart_form, test_pdf, unzip, validate_level,
};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";

/// The batch calls of the test kit's API client.
trait BatchApi {
    fn post_batch(&self, fields: &[(&str, &str)], files: &[(String, Vec<u8>)], extra: &[(&str, &str)]) -> Reply;
    fn wait(&self, id: &str, within: Duration) -> Value;
    fn items(&self, id: &str) -> Vec<Value>;
}

impl BatchApi for Api {
    /// Posts a batch as a multipart form: option fields, then the files.
    fn post_batch(&self, fields: &[(&str, &str)], files: &[(String, Vec<u8>)], extra: &[(&str, &str)]) -> Reply {
        let form = multipart_form("b0undary", fields, files);
        self.send("POST", "/api/v1/batches", Some("multipart/form-data; boundary=b0undary"), Some(&form), extra)
    }

    /// Polls a batch until it is done (at most `within`).
    fn wait(&self, id: &str, within: Duration) -> Value {
        let start = Instant::now();
        loop {
            let r = self.get(&format!("/api/v1/batches/{id}?limit=0"));
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            if v["state"] == "done" {
                return v;
            }
            assert!(start.elapsed() < within, "batch {id} not done after {within:?}: {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every item of a batch, page by page.
    fn items(&self, id: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut after = -1;
        loop {
            let v = self.get(&format!("/api/v1/batches/{id}?after={after}&limit=97")).json();
            items.extend(v["items"].as_array().unwrap().iter().cloned());
            match v["next_after"].as_i64() {
                Some(n) => after = n,
                None => return items,
            }
        }
    }
}

/// `n` PDFs of 1 to 3 pages (different bytes each), named `doc-N.pdf`.
fn pdfs(n: usize, prefix: &str) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let pages = vec![TestPage { media_box: [0.0, 0.0, 595.0, 842.0 + i as f64], ..TestPage::A4 }; 1 + i % 3];
            (format!("{prefix}-{i}.pdf"), test_pdf(&pages))
        })
        .collect()
}

/// A zip of these entries (deflated).
fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    z.add_directory("folder/", o).unwrap();
    for (name, data) in entries {
        z.start_file(name.as_str(), o).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

/// `signet verify --trust ROOT` on a file: whether every signature is valid.
fn signet_verify(pdf: &Path, root: &Path) -> Result<(), String> {
    let out = Command::new(SIGNET).arg("verify").arg(pdf).arg("--trust").arg(root).output().unwrap();
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stdout).into_owned()) }
}

/// A server on one database with a tenant that can sign: its key, the root certificate.
struct Setup {
    server: Option<SignetServer>,
    data: PathBuf,
    admin: Api,
    api: Api,
    tenant: String,
    root_pem: PathBuf,
}

fn setup(db: &TestDatabase, dir: &Path, name: &str, extra: &[&str]) -> Setup {
    let data = dir.join(format!("{name}-{}", db.backend));
    let mut args = vec!["--database-url", db.url.as_str()];
    args.extend_from_slice(extra);
    let server = SignetServer::start_with_env(SIGNET, &data, &args, &[("SIGNET_ADMIN_TOKEN", ADMIN)]);
    let base = server.url("");
    let admin = Api::new(&base, Some(ADMIN));
    let root_der = dir.join(format!("root-{name}-{}.der", db.backend));
    std::fs::write(&root_der, Api::new(&base, None).get("/ca/root.crt").body).unwrap();
    let root_pem = root_der.with_extension("pem");
    let st = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&root_der)
        .arg("-out")
        .arg(&root_pem)
        .status()
        .unwrap();
    assert!(st.success());
    let t = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": name}));
    let tenant = t["id"].as_str().unwrap().to_string();
    let key = admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{tenant}/keys"),
        &json!({"name": "batch", "scopes": ["sign-document", "manage"]}),
    );
    let api = admin.with(key["token"].as_str());
    api.ok_json("POST", "/api/v1/identities", &json!({"name": "seal", "issue": {"common_name": "ACME Ltd seal"}}));
    api.ok_json(
        "PUT",
        "/api/v1/templates/stamp",
        &json!({"placements": [{"page": 1, "rect": [400, 40, 560, 110], "text": ["ACME Ltd", "Approved"]}]}),
    );
    Setup { server: Some(server), data, admin, api, tenant, root_pem }
}

fn batches_on(db: &TestDatabase, dir: &Path) {
    let s = setup(db, dir, "acme", &["--batch-workers", "2"]);
    let api = &s.api;
    let out_dir = dir.join(format!("out-{}", db.backend));
    std::fs::create_dir_all(&out_dir).unwrap();

    // 20 PDFs (two with the same name) and one file that is not a PDF
    let mut files = pdfs(20, "doc");
    files[19].0 = "doc-0.pdf".into();
    files.insert(7, ("garbage.pdf".into(), b"this is not a PDF at all".to_vec()));
    let fields = [("identity", "seal"), ("template", "stamp"), ("reason", "Batch approval")];
    let idem = [("Idempotency-Key", "batch-1")];
    let r = api.post_batch(&fields, &files, &idem);
    assert_eq!(r.status, 202, "{}", r.text());
    let created = r.json();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["total"], 21);
    assert_eq!(created["status_url"], format!("/api/v1/batches/{id}"));
    assert_eq!(r.header("location"), Some(format!("/api/v1/batches/{id}").as_str()));
    // the same request again is the same batch, not a second one
    let again = api.post_batch(&fields, &files, &idem);
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["id"], id.as_str());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    let status = api.wait(&id, Duration::from_secs(120));
    assert_eq!(
        (status["total"].as_i64(), status["done"].as_i64(), status["failed"].as_i64()),
        (Some(21), Some(20), Some(1))
    );
    assert_eq!(status["pending"], 0);
    assert!(status["finished_at"].as_i64().unwrap() >= status["created_at"].as_i64().unwrap());
    let items = api.items(&id);
    assert_eq!(items.len(), 21);
    assert!(items.iter().enumerate().all(|(i, it)| it["index"] == i as i64));
    let garbage = &items[7];
    assert_eq!((garbage["name"].as_str(), garbage["state"].as_str()), (Some("garbage.pdf"), Some("failed")));
    assert!(garbage["error"].as_str().unwrap().starts_with("not a PDF: "), "{garbage}");
    assert!(garbage["document_id"].is_null());
    // pages of items
    let page = api.get(&format!("/api/v1/batches/{id}?limit=5")).json();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["next_after"], 4);
    let rest = api.get(&format!("/api/v1/batches/{id}?after=4&limit=100")).json();
    assert_eq!(rest["items"][0]["index"], 5);
    assert!(rest["next_after"].is_null());
    assert_eq!(api.get(&format!("/api/v1/batches/{id}?limit=100001")).status, 400);

    // results.zip: the signed documents under their names, and results.json
    let r = api.get(&format!("/api/v1/batches/{id}/results.zip"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/zip"));
    let entries = unzip(&r.body);
    let names: HashSet<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(entries.len(), 21, "{names:?}");
    assert!(names.contains("doc-0.pdf") && names.contains("doc-0 (2).pdf") && names.contains("results.json"));
    assert!(!names.contains("garbage.pdf"));
    let manifest: Value =
        serde_json::from_slice(&entries.iter().find(|(n, _)| n == "results.json").unwrap().1).unwrap();
    assert_eq!((manifest["done"].as_i64(), manifest["failed"].as_i64()), (Some(20), Some(1)));
    assert_eq!(manifest["items"][7]["file"], Value::Null);
    assert!(manifest["items"][7]["error"].as_str().unwrap().starts_with("not a PDF"));
    for (i, (name, data)) in entries.iter().filter(|(n, _)| n.ends_with(".pdf")).enumerate() {
        let path = out_dir.join(name);
        std::fs::write(&path, data).unwrap();
        // the document in the zip is the stored signed document
        let item = manifest["items"].as_array().unwrap().iter().find(|it| it["file"] == name.as_str()).unwrap();
        let doc_id = item["document_id"].as_str().unwrap();
        assert_eq!(api.get(&format!("/api/v1/documents/{doc_id}/content")).body, *data, "{name}");
        signet_verify(&path, &s.root_pem).unwrap_or_else(|t| panic!("{} {name}:\n{t}", db.backend));
        if i < 3 {
            validate_level(&path, &s.root_pem, 1, None, "hard", "B-B")
                .unwrap_or_else(|t| panic!("{} {name}:\n{t}", db.backend));
        }
    }

    // a zip upload, options in the query string; directories and other files skipped
    let mut zipped = pdfs(5, "zipped");
    zipped.push(("folder/readme.txt".into(), b"not signed".to_vec()));
    let r = api.send(
        "POST",
        "/api/v1/batches?identity=seal&template=stamp&level=b-t",
        Some("application/zip"),
        Some(&zip_of(&zipped)),
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let z = r.json();
    assert_eq!((z["total"].as_i64(), z["skipped"].as_i64()), (Some(5), Some(1)));
    let zid = z["id"].as_str().unwrap();
    let status = api.wait(zid, Duration::from_secs(120));
    assert_eq!(status["done"], 5, "{:?}", api.items(zid));
    let entries = unzip(&api.get(&format!("/api/v1/batches/{zid}/results.zip")).body);
    let (name, data) = entries.iter().find(|(n, _)| n == "zipped-3.pdf").unwrap();
    let path = out_dir.join(name);
    std::fs::write(&path, data).unwrap();
    validate_level(&path, &s.root_pem, 1, None, "hard", "B-T").unwrap_or_else(|t| panic!("{} zip:\n{t}", db.backend));

    // refused before anything is accepted, each with its reason
    let one = pdfs(1, "x");
    let cases: Vec<(Reply, u16, &str)> = vec![
        (api.post_batch(&[("identity", "seal"), ("template", "nope")], &one, &[]), 404, "template 'nope'"),
        (api.post_batch(&[("identity", "nobody")], &one, &[]), 404, "no identity named 'nobody'"),
        (api.post_batch(&[("identity", "seal"), ("level", "b-q")], &one, &[]), 400, "b-q"),
        (api.post_batch(&[("identity", "seal"), ("colour", "red")], &one, &[]), 400, "colour"),
        (api.post_batch(&[("identity", "seal")], &[], &[]), 400, "file parts"),
        (api.send("POST", "/api/v1/batches?identity=seal", Some("application/pdf"), Some(&one[0].1), &[]), 415, "zip"),
        (
            api.send("POST", "/api/v1/batches?identity=seal", Some("application/zip"), Some(b"PK not a zip"), &[]),
            400,
            "not a zip",
        ),
        (
            api.send(
                "POST",
                "/api/v1/batches?identity=seal",
                Some("application/zip"),
                Some(&zip_of(&[("a.txt".into(), vec![1])])),
                &[],
            ),
            400,
            "no entry ending in .pdf",
        ),
    ];
    for (r, status, says) in cases {
        assert_eq!(r.status, status, "{}", r.text());
        assert!(r.json()["error"]["message"].as_str().unwrap().contains(says), "{}", r.text());
    }

    // signet batch: a folder with one bad file (exit 1), then a clean folder (exit 0)
    let folder = dir.join(format!("folder-{}", db.backend));
    std::fs::create_dir_all(&folder).unwrap();
    for (name, data) in pdfs(6, "cli") {
        std::fs::write(folder.join(name), data).unwrap();
    }
    std::fs::write(folder.join("broken.pdf"), b"%PDF-1.7\nnothing else").unwrap();
    std::fs::write(folder.join("notes.txt"), b"not uploaded").unwrap();
    let cli = |args: &[&str]| {
        Command::new(SIGNET)
            .arg("batch")
            .args(args)
            .args(["--server", &api.base, "--api-key-env", "BATCH_KEY"])
            .env("BATCH_KEY", api.token.as_deref().unwrap())
            .output()
            .unwrap()
    };
    let out = cli(&[folder.to_str().unwrap(), "--identity", "seal", "--template", "stamp"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("signed 6 of 7 documents"), "{stdout}");
    assert!(stdout.contains("broken.pdf: not a PDF"), "{stdout}");
    assert!(stderr.contains("7/7 signed") || stderr.contains("6/7 signed, 1 failed"), "{stderr}");
    let signed: Vec<_> = std::fs::read_dir(folder.join("signed")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(signed.len(), 6, "{signed:?}");
    signet_verify(&folder.join("signed/cli-2.pdf"), &s.root_pem).unwrap();
    std::fs::remove_file(folder.join("broken.pdf")).unwrap();
    let out_flag = dir.join(format!("cli-out-{}", db.backend));
    let out = cli(&[folder.to_str().unwrap(), "--identity", "seal", "-o", out_flag.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_dir(&out_flag).unwrap().count(), 6);
    // usage errors and refusals: exit 2
    let out = cli(&[folder.to_str().unwrap(), "--identity", "seal", "--template", "missing"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("template 'missing'"));
    let out = Command::new(SIGNET)
        .args(["batch", folder.to_str().unwrap(), "--identity", "seal", "--api-key-env", "UNSET_VAR_X"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&[dir.join("no-such-folder").to_str().unwrap(), "--identity", "seal"]);
    assert_eq!(out.status.code(), Some(2));

    // isolation: another tenant, no key, a key without sign-document, a revoked key
    let other_t =
        s.admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "other"}))["id"].as_str().unwrap().to_string();
    let other = s.admin.with(
        s.admin.ok_json(
            "POST",
            &format!("/api/v1/tenants/{other_t}/keys"),
            &json!({"name": "o", "scopes": ["sign-document", "manage"]}),
        )["token"]
            .as_str(),
    );
    let manage_only = s
        .admin
        .with(api.ok_json("POST", "/api/v1/keys", &json!({"name": "m", "scopes": ["manage"]}))["token"].as_str());
    let revoked = api.ok_json("POST", "/api/v1/keys", &json!({"name": "r", "scopes": ["sign-document"]}));
    api.send("DELETE", &format!("/api/v1/keys/{}", revoked["id"].as_str().unwrap()), None, None, &[]);
    let revoked = s.admin.with(revoked["token"].as_str());
    let anon = s.admin.with(None);
    for (who, name, expect) in [
        (&other, "other tenant", 404),
        (&anon, "no key", 401),
        (&manage_only, "manage only", 403),
        (&revoked, "revoked key", 401),
    ] {
        for path in [format!("/api/v1/batches/{id}"), format!("/api/v1/batches/{id}/results.zip")] {
            let r = who.get(&path);
            assert_eq!(r.status, expect, "GET {path} with {name}: {}", r.text());
        }
        if name != "other tenant" {
            let r = who.post_batch(&fields, &one, &[]);
            assert_eq!(r.status, expect, "POST with {name}: {}", r.text());
        }
    }
    // the other tenant cannot use acme's template; its own batch is its own
    let r = other.post_batch(&fields, &one, &[]);
    assert_eq!(r.status, 404, "{}", r.text());

    // the key that created a batch is revoked while it runs: the rest fails with that reason.
    // A request rate of 10/s keeps the batch running long enough (and rate-limited items
    // wait for their turn instead of failing).
    s.admin.ok_json("PATCH", &format!("/api/v1/tenants/{}", s.tenant), &json!({"rate_per_second": 10}));
    let key = api.ok_json("POST", "/api/v1/keys", &json!({"name": "short-lived", "scopes": ["sign-document"]}));
    let short = s.admin.with(key["token"].as_str());
    let r = short.post_batch(&[("identity", "seal")], &pdfs(60, "many"), &[]);
    assert_eq!(r.status, 202, "{}", r.text());
    let rid = r.json()["id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(1500));
    api.send("DELETE", &format!("/api/v1/keys/{}", key["id"].as_str().unwrap()), None, None, &[]);
    let status = api.wait(&rid, Duration::from_secs(120));
    assert_eq!(status["total"], 60);
    let (done, failed) = (status["done"].as_i64().unwrap(), status["failed"].as_i64().unwrap());
    assert!(done > 0 && failed > 20 && done + failed == 60, "{status}");
    let revoked_reason = format!("the API key {} that created the batch was revoked", key["id"].as_str().unwrap());
    for item in api.items(&rid).iter().filter(|i| i["state"] == "failed") {
        assert_eq!(item["error"], revoked_reason.as_str(), "{item}");
    }
    let _ = s.data;
    let _ = s.tenant;
}

/// Counts the documents rows of a batch's outputs, straight from the database.
fn documents_of(db: &TestDatabase, batch_id: &str) -> (i64, i64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = signet_store::Store::open(&db.url).await.unwrap();
        let row: (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT blob_key) FROM documents WHERE blob_key LIKE $1")
                .bind(format!("batches/%/{batch_id}/out/%"))
                .fetch_one(store.pool())
                .await
                .unwrap();
        store.close().await;
        row
    })
}

/// Starts a batch of 200 documents on one worker, interrupts the server once some are done
/// (`kill`: SIGTERM when false, SIGKILL when true), starts it again and checks that every
/// document was signed exactly once.
fn interrupted_batch(db: &TestDatabase, dir: &Path, s: &mut Setup, kill: bool) -> String {
    let args = ["--database-url", db.url.as_str(), "--batch-workers", "1"];
    let r = s.api.post_batch(&[("identity", "seal"), ("template", "stamp")], &pdfs(200, "r"), &[]);
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    loop {
        let v = s.api.get(&format!("/api/v1/batches/{id}?limit=0")).json();
        if v["done"].as_i64().unwrap() >= 10 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(5));
    }
    if kill {
        // dropping the server sends SIGKILL: signings in flight are cut off
        drop(s.server.take());
    } else if let Some(server) = s.server.as_mut() {
        server.stop();
    }
    let mid = {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = signet_store::Store::open(&db.url).await.unwrap();
            let p = store.batch_progress(&id).await.unwrap();
            store.close().await;
            p
        })
    };
    assert!(mid.pending > 0, "the server finished before it was interrupted: {mid:?}");
    let _ = dir;
    let server = SignetServer::start_with_env(SIGNET, &s.data, &args, &[("SIGNET_ADMIN_TOKEN", ADMIN)]);
    s.api = Api::new(&server.url(""), s.api.token.as_deref());
    s.server = Some(server);
    let status = s.api.wait(&id, Duration::from_secs(180));
    assert_eq!((status["done"].as_i64(), status["failed"].as_i64()), (Some(200), Some(0)), "{status}");
    id
}

fn restart_on(db: &TestDatabase, dir: &Path) {
    let mut s = setup(db, dir, "restart", &["--batch-workers", "1"]);
    let stopped = interrupted_batch(db, dir, &mut s, false);
    let killed = interrupted_batch(db, dir, &mut s, true);
    let log = std::fs::read_to_string(s.data.with_extension("log")).unwrap();
    assert!(log.contains("resuming 1 unfinished batch"), "{log}");
    let anchors = signet_crypto::certificates_from_pem_or_der(&std::fs::read(&s.root_pem).unwrap()).unwrap();
    for id in [&stopped, &killed] {
        let items = s.api.items(id);
        assert_eq!(items.len(), 200);
        let docs: HashSet<&str> = items.iter().map(|i| i["document_id"].as_str().unwrap()).collect();
        assert_eq!(docs.len(), 200, "one output document per item");
        assert_eq!(documents_of(db, id), (200, 200), "{} documents rows of batch {id}", db.backend);
        let out = s.data.join(format!("blobs/batches/{}/{id}/out", s.tenant));
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 200, "no second output in {}", out.display());
        for (name, data) in unzip(&s.api.get(&format!("/api/v1/batches/{id}/results.zip")).body) {
            if name == "results.json" {
                continue;
            }
            let src = std::sync::Arc::new(data);
            let opts = signet_validate::ValidationOptions { trust_anchors: anchors.clone(), ..Default::default() };
            let report = signet_validate::validate(src, &opts).unwrap();
            assert!(report.is_valid(), "{name}: {report}");
        }
    }
    // billed once per document: usage counts 400 documents however often some were signed
    let usage = s.api.get("/api/v1/usage").json();
    assert_eq!(usage["current"]["documents"], 400, "{usage}");
    // every signature made is in the signing log, whose chain survived the kills intact
    let signs = s.api.get("/api/v1/audit?action=sign&limit=1000").json();
    assert!(signs.as_array().unwrap().len() >= 400, "{} sign entries", signs.as_array().unwrap().len());
    let check = s.api.get("/api/v1/audit/verify").json();
    assert_eq!(check["intact"], true, "{check}");
}

fn keep(dir: tempfile::TempDir) -> (Option<tempfile::TempDir>, PathBuf) {
    if std::env::var_os("SIGNET_KEEP_TEST_DIR").is_some() {
        (None, dir.keep())
    } else {
        let p = dir.path().to_path_buf();
        (Some(dir), p)
    }
}

#[test]
fn batches_on_every_database() {
    let (_guard, dir) = keep(tempfile::tempdir().unwrap());
    for db in TestDatabase::all(&dir) {
        batches_on(&db, &dir);
    }
}

#[test]
fn restart_mid_batch_signs_each_document_once() {
    let (_guard, dir) = keep(tempfile::tempdir().unwrap());
    for db in TestDatabase::all(&dir) {
        restart_on(&db, &dir);
    }
}
