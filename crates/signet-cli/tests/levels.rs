//! PAdES B-T, B-LT and B-LTA (ETSI EN 319 142-1 §6) against the independent validators, with
//! OpenSSL's TSA and OCSP responder (`../shared/peer/pki_server.py`):
//!
//! - every corpus file signed by `signet sign --level` at each level passes
//!   `validate.sh --pades-level <level> --revocation hard`;
//! - the B-LT and B-LTA files also pass `pyhanko sign adesverify` with no server running, from
//!   the embedded data alone;
//! - `signet extend` turns pyHanko-signed B-B files into B-LTA files that pass the same checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use signet_testkit::{Pki, make_corpus, parallel, pyhanko_ades, pyhanko_sign, validate_level};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// (password to sign with, password for the validators) of a corpus file.
fn passwords(name: &str) -> (Option<&'static str>, Option<&'static str>) {
    if name.contains("12-") {
        (None, Some("peer-owner"))
    } else if name.contains("13-") {
        (Some("peer-user"), Some("peer-user"))
    } else {
        (None, None)
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().unwrap();
    if out.status.success() { Ok(()) } else { Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr))) }
}

struct Job {
    input: PathBuf,
    output: PathBuf,
    level: &'static str,
    key: &'static str,
}

#[test]
fn every_level_passes_the_validators_and_long_term_files_validate_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let tsa = format!("http://127.0.0.1:{}/tsa", pki.port);
    let corpus = make_corpus(&tmp.path().join("corpus"), &pki, 3, 1.0);
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    inputs.sort();
    assert_eq!(inputs.len(), 18);

    let server = pki.serve();
    let mut jobs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        for level in ["b-t", "b-lt", "b-lta"] {
            // the pyHanko-signed input is signed with the other key (see peer.rs on pdfsig and a
            // second signature by the same certificate)
            let key = if i % 2 == 0 || name(input).starts_with("11-") { "signer-rsa" } else { "signer-ec" };
            let output = out_dir.join(format!("{}-{level}.pdf", name(input).trim_end_matches(".pdf")));
            jobs.push(Job { input: input.clone(), output, level, key });
        }
    }
    // pyHanko-signed B-B files, to extend
    let mut extended = Vec::new();
    for stem in ["01-simple-1page", "04-xref-stream-objstm", "05-linearized", "14-pdf-2.0"] {
        let input = corpus.join(format!("{stem}.pdf"));
        let bb = out_dir.join(format!("{stem}-pyhanko-bb.pdf"));
        pyhanko_sign(&pki, "signer-ec", "PyHankoSig", &input, &bb).unwrap();
        extended.push((bb, out_dir.join(format!("{stem}-extended-b-lta.pdf"))));
    }
    extended.push((corpus.join("11-already-signed-pyhanko.pdf"), out_dir.join("11-extended-b-lta.pdf")));

    let results = parallel(jobs, 2, |job| -> Result<(PathBuf, &'static str, Option<&'static str>), String> {
        let n = name(&job.input);
        let (sign_pw, validate_pw) = passwords(&n);
        let mut cmd = Command::new(SIGNET);
        cmd.arg("sign").arg(&job.input).arg("-o").arg(&job.output).arg("--p12").arg(pki.p12(job.key));
        cmd.args(["--p12-password-env", "P12_PW", "--quiet", "--level", job.level, "--tsa", &tsa]);
        cmd.env("P12_PW", "peer-test");
        if let Some(p) = sign_pw {
            cmd.args(["--pdf-password-env", "PDF_PW"]).env("PDF_PW", p);
        }
        run(&mut cmd)?;
        let earlier = usize::from(n.starts_with("11-"));
        // pyHanko's earlier B-B signature stays B-B unless a later document timestamp covers
        // validation data (B-LTA), so the minimum over all signatures is checked accordingly
        let level = match (earlier, job.level) {
            (1, "b-t" | "b-lt") => "B-B",
            (_, l) => match l {
                "b-t" => "B-T",
                "b-lt" => "B-LT",
                _ => "B-LTA",
            },
        };
        validate_level(&job.output, &pki.root(), earlier + 1, validate_pw, "hard", level)
            .map(|_| (job.output.clone(), job.level, validate_pw))
            .map_err(|report| format!("{}: validators failed:\n{report}", job.output.display()))
    });
    let ext_results = parallel(extended.clone(), 2, |(input, output)| -> Result<(), String> {
        run(Command::new(SIGNET).arg("extend").arg(&input).arg("-o").arg(&output).args(["--tsa", &tsa, "--quiet"]))?;
        validate_level(&output, &pki.root(), 1, None, "hard", "B-LTA")
            .map(|_| ())
            .map_err(|report| format!("{}: validators failed:\n{report}", output.display()))
    });
    drop(server);

    let mut failures: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().cloned()).collect();
    failures.extend(ext_results.iter().filter_map(|r| r.as_ref().err().cloned()));

    // ---- offline: no OCSP, CRL or TSA server answers now ----
    assert!(std::net::TcpStream::connect(("127.0.0.1", pki.port)).is_err(), "the PKI server is still up");
    let mut offline: Vec<(PathBuf, Option<&'static str>)> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter(|(_, level, _)| *level != "b-t")
        .map(|(p, _, pw)| (p.clone(), *pw))
        .collect();
    offline.extend(extended.iter().map(|(_, out)| (out.clone(), None)));
    assert!(offline.len() >= 2 * 18, "too few files reached the offline check");
    let offline_results = parallel(offline, 2, |(pdf, pw)| {
        pyhanko_ades(&pdf, &pki.root(), pw)
            .map_err(|t| format!("{}: offline AdES validation failed:\n{t}", pdf.display()))
    });
    failures.extend(offline_results.into_iter().filter_map(Result::err));
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn levels_above_b_b_refuse_to_run_without_their_services() {
    let tmp = tempfile::tempdir().unwrap();
    let pdf = tmp.path().join("in.pdf");
    std::fs::write(&pdf, signet_testkit::test_pdf(&[signet_testkit::TestPage::A4])).unwrap();
    let out = Command::new(SIGNET)
        .arg("sign")
        .arg(&pdf)
        .arg("-o")
        .arg(tmp.path().join("out.pdf"))
        .args(["--key", "/nonexistent.pem", "--cert", "/nonexistent.pem", "--level", "b-t"])
        .env_remove("SIGNET_TSA_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // refused for the missing TSA, before the (missing) key files are even read
    assert!(err.contains("--tsa URL"), "{err}");
    let port = signet_testkit::free_port(); // nothing listens there
    let out = Command::new(SIGNET)
        .arg("extend")
        .arg(&pdf)
        .arg("-o")
        .arg(tmp.path().join("out.pdf"))
        .args(["--tsa", &format!("http://127.0.0.1:{port}/tsa")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no signature"), "{err}");
    assert!(!tmp.path().join("out.pdf").exists(), "nothing half-written");
}
