//! The README's HTTP API examples, run as written: the shell blocks marked
//! `<!-- readme-test: api -->` run with bash (`set -euo pipefail`) against a real `signet
//! serve` on a free port, in a directory holding the `contract.pdf` and `seal.png` they name;
//! every command must succeed and the signed PDFs must pass the independent validators. On
//! every database of the run (SQLite; PostgreSQL when SIGNET_TEST_POSTGRES_URL is set).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::Command;

use signet_testkit::{SignetServer, TestDatabase, TestPage, seal_png, test_pdf, validate_level, workspace_root};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_readmeadmin.0123456789abcdefghijklmnop";
const MARKER: &str = "<!-- readme-test: api -->";

/// The shell blocks that follow a marker line, in order.
fn marked_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() != MARKER {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        assert!(fence.starts_with("```sh"), "{MARKER} must be followed by a ```sh block, not {fence:?}");
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        blocks.push(body.join("\n"));
    }
    blocks
}

#[test]
fn readme_api_examples_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        run_examples(&db, &dir.path().join(db.backend));
    }
}

fn run_examples(db: &TestDatabase, dir: &Path) {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let blocks = marked_blocks(&readme);
    assert!(!blocks.is_empty(), "README.md has no block marked {MARKER}");
    let script = blocks.join("\n");
    // a failed call must fail the script: every curl answers non-2xx with an error
    for line in script.lines().filter(|l| l.contains("curl ")) {
        assert!(line.contains("--fail-with-body"), "a README curl without --fail-with-body: {line}");
    }
    for call in [
        "/api/v1/tenants",
        "/keys",
        "/api/v1/identities",
        "/api/v1/images",
        "/api/v1/templates/",
        "/api/v1/documents/sign",
        "-F file=@",
        "/api/v1/sign-hash",
        "openssl dgst -sha256 -binary",
        "/api/v1/usage",
        "-X DELETE",
        "/content",
        "/api/v1/verify",
    ] {
        assert!(script.contains(call), "the README's API examples no longer show {call}");
    }

    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("contract.pdf"), test_pdf(&[TestPage::A4, TestPage { rotate: 90, ..TestPage::A4 }]))
        .unwrap();
    std::fs::write(work.join("seal.png"), seal_png()).unwrap();
    let data = dir.join("data");
    let server =
        SignetServer::start_with_env(SIGNET, &data, &["--database-url", &db.url], &[("SIGNET_ADMIN_TOKEN", ADMIN)]);

    std::fs::write(work.join("readme-api.sh"), format!("set -euo pipefail\n{script}\n")).unwrap();
    let out = Command::new("bash")
        .arg("readme-api.sh")
        .current_dir(&work)
        .env("SIGNET", server.url(""))
        .env("SIGNET_ADMIN_TOKEN", ADMIN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's API examples failed on {} ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{}",
        db.backend,
        out.status,
        server.log(&data)
    );

    // what they printed: the verification report of the signed PDF
    assert!(stdout.contains("\"sub_filter\":\"ETSI.CAdES.detached\""), "{stdout}");
    let root = work.join("signet-root.pem");
    assert!(root.is_file(), "the examples fetch the root certificate");
    for pdf in ["signed.pdf", "signed-form.pdf", "stored.pdf"] {
        check_signed(&work.join(pdf), &root);
    }
    assert!(std::fs::metadata(work.join("contract.p7s")).unwrap().len() > 500);
}

fn check_signed(pdf: &Path, root: &Path) {
    validate_level(pdf, root, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("{}:\n{t}", pdf.display()));
}
