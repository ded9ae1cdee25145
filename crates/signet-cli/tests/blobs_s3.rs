//! `signet serve --blob-store s3://…` end to end against a real S3-compatible server (moto,
//! started by the test on 127.0.0.1), on every database of the run (SQLite; PostgreSQL when
//! SIGNET_TEST_POSTGRES_URL is set, as scripts/test.sh does): a seal image and signed,
//! uploaded and batch documents land in the bucket whole; after a restart with an empty local
//! cache, documents, previews, the seal and batches are served from the bucket. Signed PDFs
//! go through ../shared/peer/validate.sh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use signet_testkit::{
    Api, MotoServer, SignetServer, TestDatabase, TestPage, moto_python_or_skip, multipart_form, save_root_pem,
    seal_png, test_pdf, unzip, validate_level,
};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";
const BUCKET: &str = "signet-blobs";
/// moto takes any key; these only have to be present.
const CREDENTIALS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")];

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(signet_crypto::DigestAlgorithm::Sha256.digest(bytes))
}

/// The object of the bucket holding exactly `bytes`, under `prefix`.
fn object_with(moto: &MotoServer, prefix: &str, bytes: &[u8]) -> String {
    let objects = moto.list(prefix);
    let sha = sha256_hex(bytes);
    objects
        .iter()
        .filter(|(_, size)| *size == bytes.len() as u64)
        .map(|(key, _)| key)
        .find(|key| moto.get(key).is_some_and(|b| sha256_hex(&b) == sha))
        .unwrap_or_else(|| panic!("no object under {prefix} holds these {} bytes: {objects:?}", bytes.len()))
        .clone()
}

fn s3_on(db: &TestDatabase, dir: &Path, moto: &MotoServer) {
    let data = dir.join(format!("data-{}", db.backend));
    let prefix = format!("{}/signet", db.backend);
    let store_url = format!("s3://{BUCKET}/{prefix}");
    let endpoint = moto.endpoint();
    let args = [
        "--database-url",
        db.url.as_str(),
        "--blob-store",
        store_url.as_str(),
        "--s3-endpoint",
        endpoint.as_str(),
        "--batch-workers",
        "2",
    ];
    let env = [("SIGNET_ADMIN_TOKEN", ADMIN), CREDENTIALS[0], CREDENTIALS[1]];
    let mut server = SignetServer::start_with_env(SIGNET, &data, &args, &env);
    let base = server.url("");
    let root_pem = save_root_pem(&base, &dir.join(format!("root-{}.pem", db.backend)));
    let admin = Api::new(&base, Some(ADMIN));
    let tenant = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "acme"}))["id"].as_str().unwrap().to_string();
    let key = admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{tenant}/keys"),
        &json!({"name": "erp", "scopes": ["sign-document", "manage"]}),
    );
    let api = admin.with(key["token"].as_str());
    api.ok_json("POST", "/api/v1/identities", &json!({"name": "seal", "issue": {"common_name": "ACME Ltd seal"}}));

    // the seal image: in the bucket, the bytes sent
    let seal = seal_png();
    let image = api.send("POST", "/api/v1/images", Some("image/png"), Some(&seal), &[]);
    assert_eq!(image.status, 201, "{}", image.text());
    let image_id = image.json()["id"].as_str().unwrap().to_string();
    let image_object = object_with(moto, &format!("{prefix}/images/"), &seal);
    assert!(image_object.ends_with(&image_id), "{image_object}");

    // the agent: the signed document answered is the object in the bucket and the content
    let pdf = test_pdf(&[TestPage::A4, TestPage { rotate: 90, ..TestPage::A4 }]);
    let r = api.send(
        "POST",
        &format!("/api/v1/documents/sign?identity=seal&page=1&rect=300,50,450,200&image={image_id}&reason=Approved"),
        Some("application/pdf"),
        Some(&pdf),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let signed = r.body.clone();
    let doc_id = r.header("x-signet-document-id").unwrap().to_string();
    assert_eq!(r.header("x-signet-document-sha256"), Some(sha256_hex(&signed).as_str()));
    let object = object_with(moto, &format!("{prefix}/documents/"), &signed);
    assert_eq!(object, format!("{prefix}/documents/{}/{doc_id}.pdf", tenant.to_ascii_lowercase()));
    assert!(api.get(&format!("/api/v1/documents/{doc_id}/content")).body == signed);
    let out = dir.join(format!("agent-{}.pdf", db.backend));
    std::fs::write(&out, &signed).unwrap();
    validate_level(&out, &root_pem, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("{} agent:\n{t}", db.backend));

    // an upload for later: in the bucket too
    let up = api.send("POST", "/api/v1/documents", Some("application/pdf"), Some(&pdf), &[]);
    assert_eq!(up.status, 201, "{}", up.text());
    let upload_id = up.json()["id"].as_str().unwrap().to_string();
    object_with(moto, &format!("{prefix}/documents/"), &pdf);

    // a restart with an empty local cache: everything comes from the bucket
    server.stop();
    std::fs::remove_dir_all(data.join("blobs")).unwrap();
    let server = SignetServer::start_on(SIGNET, server.port, &data, &args, &env);
    let api = Api::new(&server.url(""), api.token.as_deref());
    let again = api.get(&format!("/api/v1/documents/{doc_id}/content"));
    assert_eq!(again.status, 200, "{}", again.text());
    assert!(again.body == signed, "the document read back from the bucket differs");
    assert_eq!(again.header("content-length"), Some(signed.len().to_string().as_str()));
    let cached = data.join(format!("blobs/documents/{}/{doc_id}.pdf", tenant.to_ascii_lowercase()));
    assert!(std::fs::read(&cached).unwrap() == signed, "the download is cached at {}", cached.display());

    // a page preview of the upload, fetched from the bucket
    let page = api.get(&format!("/api/v1/documents/{upload_id}/pages/2"));
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.json();
    assert_eq!((page["width"].as_f64(), page["height"].as_f64()), (Some(842.0), Some(595.0)));
    let png = api.get(page["image"].as_str().unwrap());
    assert_eq!((png.status, png.header("content-type")), (200, Some("image/png")));
    assert!(png.body.starts_with(b"\x89PNG"));
    // signing the upload by id, with the seal image (also from the bucket)
    let r = api.send(
        "POST",
        &format!(
            "/api/v1/documents/sign?document_id={upload_id}&identity=seal&page=2&rect=40,40,160,160&image={image_id}"
        ),
        Some("application/pdf"),
        None,
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let out = dir.join(format!("upload-{}.pdf", db.backend));
    std::fs::write(&out, &r.body).unwrap();
    validate_level(&out, &root_pem, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("{} upload:\n{t}", db.backend));
    object_with(moto, &format!("{prefix}/documents/"), &r.body);

    // a small batch: inputs and outputs in the bucket, results.zip from the bucket's documents
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            let page = TestPage { media_box: [0.0, 0.0, 595.0, 842.0 + f64::from(i)], ..TestPage::A4 };
            (format!("doc-{i}.pdf"), test_pdf(&[page]))
        })
        .collect();
    let form =
        multipart_form("b0undary", &[("identity", "seal"), ("image", &image_id), ("rect", "20,20,120,120")], &files);
    let r = api.send("POST", "/api/v1/batches", Some("multipart/form-data; boundary=b0undary"), Some(&form), &[]);
    assert_eq!(r.status, 202, "{}", r.text());
    let batch_id = r.json()["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    let status = loop {
        let v = api.get(&format!("/api/v1/batches/{batch_id}?limit=10")).json();
        if v["state"] == "done" {
            break v;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "batch not done: {v}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!((status["done"].as_i64(), status["failed"].as_i64()), (Some(3), Some(0)), "{status}");
    let batch_prefix = format!("{prefix}/batches/{}/{batch_id}/", tenant.to_ascii_lowercase());
    let objects = moto.list(&batch_prefix);
    let inputs = objects.iter().filter(|(k, _)| k.starts_with(&format!("{batch_prefix}in/"))).count();
    let outputs = objects.iter().filter(|(k, _)| k.starts_with(&format!("{batch_prefix}out/"))).count();
    assert_eq!((inputs, outputs), (3, 3), "{objects:?}");
    // the zip is built from cached and downloaded outputs alike
    let first_out = &objects.iter().find(|(k, _)| k.contains("/out/")).unwrap().0;
    let local = data.join("blobs").join(first_out.strip_prefix(&format!("{prefix}/")).unwrap());
    std::fs::remove_file(&local).unwrap();
    let zip = api.get(&format!("/api/v1/batches/{batch_id}/results.zip"));
    assert_eq!(zip.status, 200, "{}", zip.text());
    let entries = unzip(&zip.body);
    assert_eq!(entries.len(), 4, "three documents and results.json");
    let manifest: Value =
        serde_json::from_slice(&entries.iter().find(|(n, _)| n == "results.json").unwrap().1).unwrap();
    for (name, bytes) in entries.iter().filter(|(n, _)| n.ends_with(".pdf")) {
        let item = manifest["items"].as_array().unwrap().iter().find(|it| it["file"] == name.as_str()).unwrap();
        assert_eq!(item["sha256"].as_str(), Some(sha256_hex(bytes).as_str()), "{name}");
        let key = object_with(moto, &format!("{batch_prefix}out/"), bytes);
        assert!(key.ends_with(&format!("{}.pdf", item["document_id"].as_str().unwrap())), "{key}");
    }
    let (name, bytes) = entries.iter().find(|(n, _)| n == "doc-1.pdf").unwrap();
    let out = dir.join(format!("batch-{}-{name}", db.backend));
    std::fs::write(&out, bytes).unwrap();
    validate_level(&out, &root_pem, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("{} batch:\n{t}", db.backend));
}

#[test]
fn s3_blob_store_on_every_database() {
    let Some(python) = moto_python_or_skip("s3_blob_store_on_every_database") else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = if std::env::var_os("SIGNET_KEEP_TEST_DIR").is_some() { dir.keep() } else { dir.path().to_path_buf() };
    let moto = MotoServer::start(&python, BUCKET, &dir.join("moto.log"));
    for db in TestDatabase::all(&dir) {
        s3_on(&db, &dir, &moto);
    }
}

/// Runs `signet serve ARGS` expecting it to exit by itself within 60 s (killed otherwise);
/// returns its exit status and stderr.
fn serve_exits(data: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(SIGNET)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("signet serve {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn serve_refuses_an_unusable_bucket() {
    let Some(python) = moto_python_or_skip("serve_refuses_an_unusable_bucket") else { return };
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start(&python, BUCKET, &dir.path().join("moto.log"));
    let endpoint = moto.endpoint();
    let data = dir.path().join("data");

    // a bucket that does not exist: named, with the endpoint
    let (code, stderr) =
        serve_exits(&data, &["--blob-store", "s3://no-such-bucket/x", "--s3-endpoint", &endpoint], &CREDENTIALS);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("'no-such-bucket'") && stderr.contains(&endpoint), "{stderr}");

    // no credentials for a server that is not AWS
    let (code, stderr) =
        serve_exits(&data, &["--blob-store", &format!("s3://{BUCKET}"), "--s3-endpoint", &endpoint], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("AWS_ACCESS_KEY_ID"), "{stderr}");

    // an endpoint where nothing listens
    let closed = format!("http://127.0.0.1:{}", signet_testkit::free_port());
    let (code, stderr) =
        serve_exits(&data, &["--blob-store", &format!("s3://{BUCKET}"), "--s3-endpoint", &closed], &CREDENTIALS);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("'{BUCKET}'")) && stderr.contains(&closed), "{stderr}");

    // not an S3 URL, and the S3 options without one: usage errors
    let (code, stderr) = serve_exits(&data, &["--blob-store", "/var/lib/blobs"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("s3://BUCKET[/PREFIX]"), "{stderr}");
    let (code, stderr) = serve_exits(&data, &["--s3-endpoint", &endpoint], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--blob-store"), "{stderr}");
}
