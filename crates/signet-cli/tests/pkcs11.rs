//! `signet sign` with keys held on a SoftHSM2 token: the RSA and P-256 signer keys of a
//! `make_pki.sh` PKI are imported onto a throw-away token, and PDFs signed through the token
//! (PKCS#1 v1.5, PSS, ECDSA, and a second signature on top) must pass every independent
//! validator of the peer kit with hard revocation checking. Then the token errors a user meets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

use signet_testkit::{Pki, SoftHsm, softhsm_module_or_skip, validate};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const TOKEN: &str = "signet-cli-test";
const PIN: &str = "cli-pin-2468";

struct Token {
    hsm: SoftHsm,
    pki: Pki,
}

impl Token {
    /// `signet sign INPUT -o OUTPUT` with the token's key `key`, its PIN in `$TOKEN_PIN`
    /// (`pin`), plus `extra`.
    fn sign(&self, input: &Path, output: &Path, key: &str, pin: &str, extra: &[&str]) -> Output {
        let (var, conf) = self.hsm.env();
        Command::new(SIGNET)
            .arg("sign")
            .arg(input)
            .arg("-o")
            .arg(output)
            .args(["--pkcs11-token", TOKEN, "--pkcs11-key", key, "--pkcs11-pin-env", "TOKEN_PIN", "--quiet"])
            .args(extra)
            .env(var, conf)
            .env("SIGNET_PKCS11_MODULE", &self.hsm.module)
            .env("TOKEN_PIN", pin)
            .output()
            .unwrap()
    }

    fn file(&self, name: &str) -> String {
        self.pki.dir.join(name).to_str().unwrap().to_string()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn softhsm2_keys_sign_pdfs_that_validate() {
    let Some(module) = softhsm_module_or_skip("softhsm2_keys_sign_pdfs_that_validate") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(&dir.join("pki"));
    let hsm = SoftHsm::new(&dir.join("softhsm"), module);
    hsm.init_token(TOKEN, "so-pin-1357", PIN);
    hsm.import_key(TOKEN, PIN, &pki.dir.join("signer-rsa.key"), "signer-rsa", "01");
    hsm.import_key(TOKEN, PIN, &pki.dir.join("signer-ec.key"), "signer-ec", "02");
    let t = Token { hsm, pki };

    let corpus = dir.join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let out = Command::new(signet_testkit::python())
        .arg(signet_testkit::peer_dir().join("make_corpus.py"))
        .arg(&corpus)
        .args(["--pki", t.pki.dir.to_str().unwrap(), "--seed", "5", "--only", "01-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let input = corpus.join("01-simple-1page.pdf");

    let chain = t.file("chain.pem");
    let rsa_cert = t.file("signer-rsa.pem");
    let ec_cert = t.file("signer-ec.pem");
    let rsa = dir.join("token-rsa.pdf");
    let o = t.sign(&input, &rsa, "signer-rsa", PIN, &["--cert", &rsa_cert, "--chain", &chain]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pss = dir.join("token-rsa-pss-sha384.pdf");
    let o = t.sign(
        &input,
        &pss,
        "signer-rsa",
        PIN,
        &["--cert", &rsa_cert, "--chain", &chain, "--pss", "--digest", "sha384"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ec = dir.join("token-ec.pdf");
    // the signer certificate found among the --chain file's certificates
    let both = dir.join("signer-and-chain.pem");
    std::fs::write(&both, [std::fs::read(&chain).unwrap(), std::fs::read(&ec_cert).unwrap()].concat()).unwrap();
    let o = t.sign(&input, &ec, "signer-ec", PIN, &["--chain", both.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // a second signature, by the other token key, on top of the first
    let twice = dir.join("token-rsa-then-ec.pdf");
    let o = t.sign(&rsa, &twice, "signer-ec", PIN, &["--cert", &ec_cert, "--chain", &chain]);
    assert!(o.status.success(), "{}", stderr(&o));

    {
        let _server = t.pki.serve();
        for (pdf, sigs) in [(&rsa, 1), (&pss, 1), (&ec, 1), (&twice, 2)] {
            if let Err(report) = validate(pdf, &t.pki.root(), sigs, None, "hard") {
                panic!("{} failed the validators:\n{report}", pdf.display());
            }
        }
    }
    let o = Command::new(SIGNET).arg("verify").arg(&twice).arg("--trust").arg(t.pki.root()).output().unwrap();
    assert!(o.status.success(), "verify: {}", String::from_utf8_lossy(&o.stdout));

    // errors a user meets, each named
    let out = dir.join("refused.pdf");
    let o = t.sign(&input, &out, "signer-rsa", "not-the-pin", &["--cert", &rsa_cert]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("wrong PIN for the token '{TOKEN}'")), "{}", stderr(&o));
    let o = t.sign(&input, &out, "no-such-key", PIN, &["--cert", &rsa_cert]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("no private key labelled 'no-such-key'"), "{e}");
    assert!(e.contains("'signer-rsa' (id 01)") && e.contains("'signer-ec' (id 02)"), "{e}");
    let o = t.sign(&input, &out, "signer-rsa", PIN, &["--cert", &ec_cert]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not match the certificate"), "{}", stderr(&o));
    let o = t.sign(&input, &out, "signer-rsa", PIN, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no certificate given"), "{}", stderr(&o));
    let o = t.sign(&input, &out, "signer-rsa", PIN, &["--cert", &rsa_cert, "--pkcs11-module", "/nonexistent/p11.so"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/p11.so does not exist"), "{}", stderr(&o));
    let o = Command::new(SIGNET)
        .arg("sign")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .args(["--pkcs11-token", TOKEN, "--pkcs11-key", "signer-rsa", "--pkcs11-pin-env", "UNSET_PIN_VAR"])
        .args(["--cert", &rsa_cert])
        .env("SIGNET_PKCS11_MODULE", &t.hsm.module)
        .env_remove("UNSET_PIN_VAR")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("UNSET_PIN_VAR is not set"), "{}", stderr(&o));
    assert!(!out.exists(), "a refused signature must not leave an output file");
}
