//! Signet's own trust services, end to end: `signet serve` (CA, CRLs, OCSP responder, TSA)
//! read by the OpenSSL command line, and documents signed at B-T, B-LT and B-LTA with a
//! Signet-issued identity and Signet's TSA, judged by the independent validators (hard
//! revocation, then offline from the embedded data alone). A revoked identity is then refused
//! at B-LT rather than written into a file validators would reject.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use signet_testkit::{Pki, SignetServer, make_corpus, parallel, pyhanko_ades, validate_level};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const PW: &str = "trust-test";

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `signet ca issue ... --p12 OUT`: the new certificate's serial (hex).
fn issue(data: &Path, p12: &Path, args: &[&str]) -> String {
    let out = run(Command::new(SIGNET)
        .args(["ca", "issue", "--data-dir", s(data), "--p12", s(p12), "--p12-password-env", "P12_PW"])
        .args(args)
        .env("P12_PW", PW));
    let t = text(&out);
    t.lines().find_map(|l| l.strip_prefix("serial:")).map(|v| v.trim().to_string()).expect("serial in the output")
}

/// GET `url` into `file`, then DER → PEM with openssl.
fn fetch_pem(url: &str, dir: &Path, name: &str) -> PathBuf {
    let der = dir.join(format!("{name}.der"));
    run(Command::new("curl").args(["-fsS", "-o", s(&der), url]));
    let pem = dir.join(format!("{name}.pem"));
    run(Command::new("openssl").args(["x509", "-inform", "DER", "-in", s(&der), "-out", s(&pem)]));
    pem
}

fn ocsp_status(server: &SignetServer, issuing: &Path, root: &Path, cert: &Path) -> String {
    text(&run(Command::new("openssl").args([
        "ocsp",
        "-issuer",
        s(issuing),
        "-cert",
        s(cert),
        "-url",
        &server.url("/ocsp"),
        "-CAfile",
        s(root),
    ])))
}

#[test]
fn signet_services_serve_openssl_and_the_validators() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let server = SignetServer::start(SIGNET, &data, &[]);

    // ---- the authority, read by OpenSSL ----
    let root = fetch_pem(&server.url("/ca/root.crt"), dir, "root");
    let issuing = fetch_pem(&server.url("/ca/issuing.crt"), dir, "issuing");
    let seal_p12 = dir.join("seal.p12");
    let person_p12 = dir.join("person.p12");
    issue(&data, &seal_p12, &["--profile", "seal", "--cn", "ACME Company Seal", "--org", "ACME", "--country", "FR"]);
    let person_serial =
        issue(&data, &person_p12, &["--profile", "person", "--cn", "Alice Martin", "--key", "rsa-2048"]);
    let person_pem = dir.join("person.pem");
    run(Command::new("openssl").args(["pkcs12", "-in", s(&person_p12), "-clcerts", "-nokeys", "-passin"]).args([
        &format!("pass:{PW}"),
        "-out",
        s(&person_pem),
    ]));
    let chain = dir.join("chain.pem");
    std::fs::write(&chain, [std::fs::read(&issuing).unwrap(), std::fs::read(&root).unwrap()].concat()).unwrap();

    let crl = dir.join("issuing.crl");
    run(Command::new("curl").args(["-fsS", "-o", s(&crl), &server.url("/crl/issuing.crl")]));
    let out = text(&run(Command::new("openssl").args([
        "crl",
        "-inform",
        "DER",
        "-in",
        s(&crl),
        "-CAfile",
        s(&chain),
        "-noout",
    ])));
    assert!(out.contains("verify OK"), "openssl crl: {out}");

    let good = ocsp_status(&server, &issuing, &root, &person_pem);
    assert!(good.contains("Response verify OK") && good.contains(": good"), "openssl ocsp: {good}");

    let content = dir.join("content.bin");
    std::fs::write(&content, b"what the timestamp is about").unwrap();
    let query = dir.join("q.tsq");
    let reply = dir.join("r.tsr");
    run(Command::new("openssl").args(["ts", "-query", "-data", s(&content), "-sha256", "-cert", "-out", s(&query)]));
    run(Command::new("curl").args([
        "-fsS",
        "-H",
        "Content-Type: application/timestamp-query",
        "--data-binary",
        &format!("@{}", s(&query)),
        "-o",
        s(&reply),
        &server.url("/tsa"),
    ]));
    let out = text(&run(Command::new("openssl").args([
        "ts",
        "-verify",
        "-data",
        s(&content),
        "-in",
        s(&reply),
        "-CAfile",
        s(&root),
        "-untrusted",
        s(&issuing),
    ])));
    assert!(out.contains("Verification: OK"), "openssl ts -verify: {out}");

    // ---- documents signed with Signet's identities and TSA ----
    let pki = Pki::make(&dir.join("peer-pki")); // only for the corpus generator
    let corpus = make_corpus(&dir.join("corpus"), &pki, 4, 1.0);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        // the pre-signed file carries the peer PKI's signature: covered by levels.rs
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("11-"))
        .collect();
    inputs.sort();
    assert_eq!(inputs.len(), 17);
    let tsa = server.url("/tsa");
    let mut jobs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
        let p12 = if i % 2 == 0 { &seal_p12 } else { &person_p12 };
        for level in ["b-t", "b-lt", "b-lta"] {
            jobs.push((input.clone(), dir.join(format!("{stem}-{level}.pdf")), level, p12.clone()));
        }
    }
    let results = parallel(
        jobs,
        2,
        |(input, output, level, p12)| -> Result<(PathBuf, &'static str, Option<&'static str>), String> {
            let name = input.file_name().unwrap().to_string_lossy().into_owned();
            let (sign_pw, validate_pw) = if name.starts_with("12-") {
                (None, Some("peer-owner"))
            } else if name.starts_with("13-") {
                (Some("peer-user"), Some("peer-user"))
            } else {
                (None, None)
            };
            let mut cmd = Command::new(SIGNET);
            cmd.arg("sign").arg(&input).arg("-o").arg(&output).arg("--p12").arg(&p12);
            cmd.args(["--p12-password-env", "P12_PW", "--quiet", "--level", level, "--tsa", &tsa]).env("P12_PW", PW);
            if let Some(p) = sign_pw {
                cmd.args(["--pdf-password-env", "PDF_PW"]).env("PDF_PW", p);
            }
            let out = cmd.output().unwrap();
            if !out.status.success() {
                return Err(format!("signing {name} at {level}: {}", String::from_utf8_lossy(&out.stderr)));
            }
            let want = match level {
                "b-t" => "B-T",
                "b-lt" => "B-LT",
                _ => "B-LTA",
            };
            validate_level(&output, &root, 1, validate_pw, "hard", want)
                .map(|_| (output.clone(), level, validate_pw))
                .map_err(|r| format!("{}: validators failed:\n{r}", output.display()))
        },
    );
    let mut failures: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().cloned()).collect();

    // ---- renewal: extend a B-LTA file again: fresh validation data, a second archive timestamp ----
    let first = dir.join("01-simple-1page-b-lta.pdf");
    let renewed = dir.join("renewed.pdf");
    let out = text(&run(Command::new(SIGNET).arg("extend").arg(&first).arg("-o").arg(&renewed).args(["--tsa", &tsa])));
    assert!(out.contains("archive timestamp"), "{out}");
    let before = std::fs::read(&first).unwrap();
    let after = std::fs::read(&renewed).unwrap();
    assert!(after.starts_with(&before), "extending appends: every earlier byte is kept");
    let count = |b: &[u8]| b.windows(13).filter(|w| w == b"/DocTimeStamp").count();
    assert!(count(&after) > count(&before), "a second document timestamp");
    if let Err(r) = validate_level(&renewed, &root, 1, None, "hard", "B-LTA") {
        failures.push(format!("renewed B-LTA: validators failed:\n{r}"));
    }

    // ---- revocation: OCSP says so at once, and B-LT refuses the identity ----
    run(Command::new(SIGNET).args([
        "ca",
        "revoke",
        &person_serial,
        "--reason",
        "keyCompromise",
        "--data-dir",
        s(&data),
    ]));
    let revoked = ocsp_status(&server, &issuing, &root, &person_pem);
    assert!(revoked.contains(": revoked") && revoked.contains("keyCompromise"), "openssl ocsp after revoke: {revoked}");
    let refused = dir.join("refused.pdf");
    let out = Command::new(SIGNET)
        .arg("sign")
        .arg(&inputs[0])
        .arg("-o")
        .arg(&refused)
        .arg("--p12")
        .arg(&person_p12)
        .args(["--p12-password-env", "P12_PW", "--level", "b-lt", "--tsa", &tsa])
        .env("P12_PW", PW)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("revoked"), "{err}");
    assert!(!refused.exists(), "nothing written for a revoked signer");
    drop(server);

    // ---- offline: the long-term files validate from their embedded data alone ----
    let mut offline: Vec<(PathBuf, Option<&'static str>)> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter(|(_, level, _)| *level != "b-t")
        .map(|(p, _, pw)| (p.clone(), *pw))
        .collect();
    offline.push((renewed, None));
    assert!(offline.len() >= 2 * 17, "too few files reached the offline check");
    let offline_results = parallel(offline, 2, |(pdf, pw)| {
        pyhanko_ades(&pdf, &root, pw).map_err(|t| format!("{}: offline AdES validation failed:\n{t}", pdf.display()))
    });
    failures.extend(offline_results.into_iter().filter_map(Result::err));
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n\n"));
}
