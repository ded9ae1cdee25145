//! The `signet` command as scripts use it: key formats, digests, certification, existing
//! fields, encrypted input, and exit statuses. Signed outputs go through the independent
//! validators of the peer kit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use signet_testkit::{Pki, validate};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    pki: Pki,
    corpus: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let pki = Pki::make(&dir.join("pki"));
    let corpus = dir.join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    // only the small files: the large one is exercised by the corpus test
    for only in ["01-", "07-", "13-"] {
        let out = Command::new(signet_testkit::python())
            .arg(signet_testkit::peer_dir().join("make_corpus.py"))
            .arg(&corpus)
            .args(["--pki", pki.dir.to_str().unwrap(), "--seed", "3", "--only", only])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    Fixture { _tmp: tmp, dir, pki, corpus }
}

fn signet(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(SIGNET);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// `signet sign INPUT -o OUTPUT --p12 P12` with the kit's p12 password, plus `extra`.
fn sign_p12(input: &Path, output: &Path, p12: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["sign", s(input), "-o", s(output), "--p12", s(p12), "--p12-password-env", "P"];
    args.extend_from_slice(extra);
    let mut env = env.to_vec();
    env.push(("P", "peer-test"));
    signet(&args, &env)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_validates(f: &Fixture, pdf: &Path, sigs: usize, password: Option<&str>) {
    let _server = f.pki.serve();
    if let Err(report) = validate(pdf, &f.pki.root(), sigs, password, "hard") {
        panic!("{} failed the validators:\n{report}", pdf.display());
    }
}

#[test]
fn key_formats_digests_and_schemes_all_validate() {
    let f = fixture();
    let input = f.corpus.join("01-simple-1page.pdf");
    let pki = &f.pki.dir;
    // a legacy (RC2/3DES) PKCS#12, as OpenSSL 3 refuses to read by default
    let legacy = f.dir.join("legacy.p12");
    let st = Command::new("openssl")
        .args(["pkcs12", "-export", "-legacy", "-passout", "pass:old", "-out", s(&legacy)])
        .args([
            "-inkey",
            s(&pki.join("signer-rsa.key")),
            "-in",
            s(&pki.join("signer-rsa.pem")),
            "-certfile",
            s(&pki.join("chain.pem")),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    // an encrypted PKCS#8 key
    let enc_key = f.dir.join("enc.key");
    let st = Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:secret",
            "-in",
            s(&pki.join("signer-ec.key")),
            "-out",
            s(&enc_key),
        ])
        .status()
        .unwrap();
    assert!(st.success());

    let out1 = f.dir.join("legacy-sha512-pss.pdf");
    let o = signet(
        &[
            "sign",
            s(&input),
            "-o",
            s(&out1),
            "--p12",
            s(&legacy),
            "--p12-password-env",
            "P",
            "--digest",
            "sha512",
            "--pss",
        ],
        &[("P", "old")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out2 = f.dir.join("pem-sha384.pdf");
    let o = signet(
        &[
            "sign",
            s(&out1),
            "-o",
            s(&out2),
            "--key",
            s(&enc_key),
            "--key-password-env",
            "K",
            "--cert",
            s(&pki.join("signer-ec.pem")),
            "--chain",
            s(&pki.join("chain.pem")),
            "--digest",
            "sha384",
        ],
        &[("K", "secret")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_validates(&f, &out2, 2, None);

    let o = signet(&["verify", s(&out2), "--trust", s(&f.pki.root())], &[]);
    assert!(o.status.success(), "verify: {}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn certification_levels_are_written_and_enforced() {
    let f = fixture();
    let input = f.corpus.join("01-simple-1page.pdf");
    let p12 = f.pki.p12("signer-rsa");
    // P=2: a later approval signature is permitted
    let cert2 = f.dir.join("cert2.pdf");
    let o = sign_p12(&input, &cert2, &p12, &["--certify", "form-filling"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let both = f.dir.join("cert2-approved.pdf");
    let o = sign_p12(&cert2, &both, &f.pki.p12("signer-ec"), &[], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_validates(&f, &both, 2, None);
    let o = signet(&["verify", s(&both), "--trust", s(&f.pki.root()), "--json"], &[]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["signatures"][0]["certification"], 2);
    assert_eq!(report["signatures"][0]["coverage"], "permitted-changes");
    assert!(o.status.success());

    // P=1: nothing may follow
    let cert1 = f.dir.join("cert1.pdf");
    let o = sign_p12(&input, &cert1, &p12, &["--certify", "no-changes"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_validates(&f, &cert1, 1, None);
    let refused = f.dir.join("refused.pdf");
    let o = sign_p12(&cert1, &refused, &p12, &[], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("DocMDP P=1"), "{}", stderr(&o));
    assert!(!refused.exists(), "a refused signature must not leave an output file");

    // a certification must be the first signature
    let o = sign_p12(&both, &refused, &p12, &["--certify", "annotations"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("first signature"), "{}", stderr(&o));
}

#[test]
fn existing_empty_field_is_filled_visibly() {
    let f = fixture();
    let input = f.corpus.join("07-empty-signature-field.pdf");
    let out = f.dir.join("filled.pdf");
    let seal = f.dir.join("seal.png");
    std::fs::write(&seal, signet_testkit::seal_png()).unwrap();
    let o = signet(
        &[
            "sign",
            s(&input),
            "-o",
            s(&out),
            "--p12",
            s(&f.pki.p12("signer-ec")),
            "--p12-password-env",
            "P",
            "--field",
            "Signature1",
            "--rect",
            "1,1,2,2",
            "--image",
            s(&seal),
        ],
        &[("P", "peer-test")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_validates(&f, &out, 1, None);
    let o = signet(&["verify", s(&out), "--trust", s(&f.pki.root()), "--json"], &[]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(report["signatures"][0]["field"], "Signature1");
    // signing the same field again is refused by name
    let again = f.dir.join("again.pdf");
    let o = signet(
        &[
            "sign",
            s(&out),
            "-o",
            s(&again),
            "--p12",
            s(&f.pki.p12("signer-rsa")),
            "--p12-password-env",
            "P",
            "--field",
            "Signature1",
        ],
        &[("P", "peer-test")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already signed"), "{}", stderr(&o));
}

#[test]
fn encrypted_input_needs_its_password_and_says_so_in_one_line() {
    let f = fixture();
    let input = f.corpus.join("13-encrypted-aes256-user-pw.pdf");
    let out = f.dir.join("enc.pdf");
    let o = sign_p12(&input, &out, &f.pki.p12("signer-rsa"), &[], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("needs a password") && err.contains("--pdf-password-env"), "{err}");
    assert!(!out.exists());
    let o = signet(
        &[
            "sign",
            s(&input),
            "-o",
            s(&out),
            "--p12",
            s(&f.pki.p12("signer-rsa")),
            "--p12-password-env",
            "P",
            "--pdf-password-env",
            "W",
        ],
        &[("P", "peer-test"), ("W", "peer-user")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_validates(&f, &out, 1, Some("peer-user"));
}

#[test]
fn verify_exit_statuses() {
    let f = fixture();
    let input = f.corpus.join("01-simple-1page.pdf");
    let out = f.dir.join("signed.pdf");
    let o = sign_p12(&input, &out, &f.pki.p12("signer-ec"), &[], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let root = f.pki.root();
    assert_eq!(signet(&["verify", s(&out), "--trust", s(&root)], &[]).status.code(), Some(0));
    // untrusted without anchors
    assert_eq!(signet(&["verify", s(&out)], &[]).status.code(), Some(1));
    // the system's roots: the bundle SSL_CERT_FILE names, or none usable
    let root_s = s(&root).to_string();
    assert_eq!(signet(&["verify", s(&out), "--system-roots"], &[("SSL_CERT_FILE", &root_s)]).status.code(), Some(0));
    let unrelated = f.pki.dir.join("tsa.pem").to_string_lossy().into_owned();
    let o = signet(&["verify", s(&out), "--system-roots"], &[("SSL_CERT_FILE", &unrelated)]);
    assert_eq!(o.status.code(), Some(1), "not among those roots");
    // unsigned document
    assert_eq!(signet(&["verify", s(&input), "--trust", s(&root)], &[]).status.code(), Some(1));
    // one byte changed inside the signed range
    let mut data = std::fs::read(&out).unwrap();
    let at = data.iter().position(|&b| b == b'\n').unwrap() + 2; // the binary comment line
    data[at] ^= 1;
    let bad = f.dir.join("bad.pdf");
    std::fs::write(&bad, data).unwrap();
    let o = signet(&["verify", s(&bad), "--trust", s(&root), "--json"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["signatures"][0]["intact"], false);
    // usage errors and unreadable input
    assert_eq!(signet(&["verify", "/nonexistent.pdf"], &[]).status.code(), Some(2));
    assert_eq!(signet(&["verify", s(&out), "--trust", "/nonexistent.pem"], &[]).status.code(), Some(2));
    assert_eq!(signet(&["verify"], &[]).status.code(), Some(2));
    let not_pdf = f.dir.join("x.pdf");
    std::fs::write(&not_pdf, b"hello").unwrap();
    assert_eq!(signet(&["verify", s(&not_pdf)], &[]).status.code(), Some(2));
}

#[test]
fn pages_out_of_range_are_refused_by_number() {
    let f = fixture();
    let input = f.corpus.join("01-simple-1page.pdf");
    let out = f.dir.join("x.pdf");
    for page in ["2", "-2", "0", "-9223372036854775808", "9223372036854775807"] {
        let o = signet(
            &[
                "sign",
                s(&input),
                "-o",
                s(&out),
                "--p12",
                s(&f.pki.p12("signer-ec")),
                "--p12-password-env",
                "P",
                "--page",
                page,
            ],
            &[("P", "peer-test")],
        );
        assert_eq!(o.status.code(), Some(1), "--page {page}: {}", stderr(&o));
        assert!(stderr(&o).contains("does not exist"), "--page {page}: {}", stderr(&o));
        assert!(!out.exists());
    }
}
