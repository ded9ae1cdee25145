//! Signet's verdict (valid or not) must equal pyHanko's on files that pyHanko's CLI signs
//! with the peer kit's PKI (the commands of ../shared/peer/selftest_validate.sh): B-B, B-T,
//! B-LT and B-LTA signatures, a second signature, a revoked signer, an untrusted root and a tampered file.
//! pyHanko validates with the PKI server running (hard-fail revocation, fetching allowed);
//! Signet validates offline from what the file embeds. pyHanko refuses to embed validation
//! data for the revoked signer, so that file gets the intermediate's CRL in a DSS added here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use signet_pdf::{Dict, Document, IncrementalUpdate, Object, Stream};
use signet_testkit::{Pki, TestPage, python, test_pdf};
use signet_validate::{Report, ValidationOptions, validate};

fn pyhanko() -> PathBuf {
    python().with_file_name("pyhanko")
}

/// `pyhanko sign addsig [options] pkcs12 IN OUT KEY.p12`, as the self-test signs.
fn pyhanko_sign(pki: &Pki, input: &Path, output: &Path, key: &str, options: &[&str]) {
    let out = Command::new(pyhanko())
        .args(["sign", "addsig"])
        .args(options)
        .args(["pkcs12", "--passfile"])
        .arg(pki.dir.join("p12.pass"))
        .arg(input)
        .arg(output)
        .arg(pki.p12(key))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyhanko could not sign {}: {}",
        output.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// pyHanko's verdict: `pyhanko sign validate` exits 0 and calls every signature VALID.
fn pyhanko_valid(pdf: &Path, root: &Path) -> bool {
    let out = Command::new(pyhanko())
        .args(["sign", "validate", "--trust"])
        .arg(root)
        .args(["--trust-replace", "--executive-summary"])
        .arg(pdf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(':')).collect();
    out.status.success() && !lines.is_empty() && lines.iter().all(|l| l.ends_with(":VALID"))
}

fn signet_report(pdf: &Path, root: &Path) -> Report {
    signet_report_with(pdf, root, false)
}

/// Revocation data over HTTP, as `signet verify --online` fetches it.
struct Online(signet_pades::HttpFetcher);

impl signet_validate::OnlineRevocation for Online {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        use signet_pades::Fetcher;
        self.0.get(url).map(|f| f.body).map_err(|e| e.to_string())
    }
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        use signet_pades::Fetcher;
        self.0.post(url, content_type, body).map(|f| f.body).map_err(|e| e.to_string())
    }
}

fn signet_report_with(pdf: &Path, root: &Path, online: bool) -> Report {
    let anchors = signet_crypto::certificates_from_pem_or_der(&std::fs::read(root).unwrap()).unwrap();
    let online = online
        .then(|| Arc::new(Online(signet_pades::HttpFetcher::default())) as Arc<dyn signet_validate::OnlineRevocation>);
    let opts = ValidationOptions { trust_anchors: anchors, online, ..ValidationOptions::default() };
    validate(Arc::new(std::fs::read(pdf).unwrap()), &opts).unwrap()
}

/// Adds `/DSS << /CRLs [...] >>` holding `crls` (DER) in an incremental update.
fn add_dss_crls(pdf: &[u8], crls: &[Vec<u8>]) -> Vec<u8> {
    let mut doc = Document::open(pdf.to_vec(), None).unwrap();
    let mut upd = IncrementalUpdate::new(&doc);
    let refs: Vec<Object> = crls.iter().map(|c| Object::Ref(upd.add(Stream::new(Dict::new(), c.clone())))).collect();
    let mut cat = doc.catalog().unwrap();
    cat.set("DSS", Dict::new().with("CRLs", Object::Array(refs)).into());
    upd.replace(doc.root_ref().unwrap(), cat);
    let mut out = pdf.to_vec();
    out.extend_from_slice(&upd.finish(&doc).unwrap().bytes);
    out
}

#[test]
fn signet_agrees_with_pyhanko() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let _server = pki.serve();
    let root = pki.root();
    let tsa = format!("http://127.0.0.1:{}/tsa", pki.port);
    let root_s = root.to_str().unwrap();
    let dir = tmp.path().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.pdf");
    std::fs::write(&input, test_pdf(&[TestPage::A4])).unwrap();
    let f = |name: &str| dir.join(name);

    pyhanko_sign(&pki, &input, &f("bb.pdf"), "signer-rsa", &["--field", "Sig1", "--use-pades"]);
    pyhanko_sign(&pki, &input, &f("bt.pdf"), "signer-ec", &["--field", "Sig1", "--use-pades", "--timestamp-url", &tsa]);
    let lt = ["--timestamp-url", &tsa, "--with-validation-info", "--trust", root_s, "--trust-replace"];
    let mut opts = vec!["--field", "Sig1", "--use-pades"];
    opts.extend(lt);
    pyhanko_sign(&pki, &input, &f("blt.pdf"), "signer-rsa", &opts);
    let mut opts = vec!["--field", "Sig1", "--use-pades-lta"];
    opts.extend(lt);
    pyhanko_sign(&pki, &input, &f("blta.pdf"), "signer-ec", &opts);
    pyhanko_sign(&pki, &input, &f("revoked-bb.pdf"), "signer-revoked", &["--field", "Sig1", "--use-pades"]);
    pyhanko_sign(&pki, &f("bb.pdf"), &f("second.pdf"), "signer-ec", &["--field", "Sig2", "--use-pades"]);
    let crls = vec![
        std::fs::read(pki.dir.join("inter-ca.crl.der")).unwrap(),
        std::fs::read(pki.dir.join("root-ca.crl.der")).unwrap(),
    ];
    std::fs::write(f("revoked.pdf"), add_dss_crls(&std::fs::read(f("revoked-bb.pdf")).unwrap(), &crls)).unwrap();
    // one byte flipped inside the signed range: the page's line width 0.5 becomes 0.6
    let mut tampered = std::fs::read(f("bb.pdf")).unwrap();
    let at = tampered.windows(5).position(|w| w == b"0.5 w").unwrap();
    tampered[at + 2] = b'6';
    std::fs::write(f("tampered.pdf"), tampered).unwrap();
    let other = Pki::make(&tmp.path().join("other-pki"));

    // (file, trust root, expected verdict, revocation data fetched online as pyHanko does)
    let cases: Vec<(&str, PathBuf, bool, bool)> = vec![
        ("bb.pdf", root.clone(), true, false),
        ("bt.pdf", root.clone(), true, false),
        ("blt.pdf", root.clone(), true, false),
        ("blta.pdf", root.clone(), true, false),
        ("second.pdf", root.clone(), true, false),
        ("revoked.pdf", root.clone(), false, false),
        ("revoked-bb.pdf", root.clone(), false, true),
        ("bb.pdf", root.clone(), true, true),
        ("tampered.pdf", root.clone(), false, false),
        ("bb.pdf", other.root(), false, false),
    ];
    let mut failures = Vec::new();
    for (name, anchor, expected, online) in &cases {
        let pdf = f(name);
        let ours = signet_report_with(&pdf, anchor, *online);
        let theirs = pyhanko_valid(&pdf, anchor);
        let mut label = if *anchor == root { name.to_string() } else { format!("{name} (untrusted root)") };
        if *online {
            label.push_str(" (online)");
        }
        if ours.is_valid() != theirs || ours.is_valid() != *expected {
            failures.push(format!(
                "{label}: Signet {}, pyHanko {}, expected {}\n{}",
                ours.is_valid(),
                theirs,
                expected,
                ours.details()
            ));
        }
    }
    // the levels pyHanko was asked for
    let level = |name: &str| signet_report(&f(name), &root).signatures[0].level.map(|l| l.to_string());
    for (name, want) in [("bb.pdf", "B-B"), ("bt.pdf", "B-T"), ("blt.pdf", "B-LT"), ("blta.pdf", "B-LTA")] {
        if level(name).as_deref() != Some(want) {
            failures.push(format!("{name}: level {:?}, expected {want}", level(name)));
        }
    }
    let revoked = signet_report(&f("revoked.pdf"), &root);
    if revoked.signatures[0].revocation.status != signet_validate::RevocationStatus::Revoked {
        failures.push(format!("revoked.pdf: not reported revoked\n{}", revoked.details()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
