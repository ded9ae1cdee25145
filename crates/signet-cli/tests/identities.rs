//! Signing identities over the API: a key imported from PKCS#12, and a key on a PKCS#11
//! token (SoftHSM2) certified by the built-in CA. No API answer ever holds a private key.
//! On every database of the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;
use signet_testkit::{
    Api, Pki, SignetServer, SoftHsm, TestDatabase, TestPage, save_root_pem, softhsm_module_or_skip, test_pdf,
    validate_level,
};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_idadmin.abcdefghijklmnopqrstuvwxyz234567";
const TOKEN: &str = "signet-api-test";
const PIN: &str = "api-pin-9753";

fn spki_b64(key_pem: &Path) -> String {
    let out =
        Command::new("openssl").args(["pkey", "-pubout", "-outform", "DER", "-in"]).arg(key_pem).output().unwrap();
    assert!(out.status.success());
    B64.encode(out.stdout)
}

fn identities_on(db: &TestDatabase, dir: &Path, pki: &Pki, hsm: &SoftHsm) {
    let backend = db.backend;
    let data = dir.join(format!("data-{backend}"));
    let (conf_var, conf) = hsm.env();
    let module = hsm.module.to_str().unwrap();
    let server = SignetServer::start_with_env(
        SIGNET,
        &data,
        &["--database-url", &db.url, "--pkcs11-module", module],
        &[("SIGNET_ADMIN_TOKEN", ADMIN), (conf_var, conf.to_str().unwrap()), ("SIGNET_PKCS11_PIN", PIN)],
    );
    let admin = Api::new(&server.url(""), Some(ADMIN));
    let t = admin.ok_json("POST", "/api/v1/tenants", &json!({"name": "t"}));
    let key = admin.ok_json(
        "POST",
        &format!("/api/v1/tenants/{}/keys", t["id"].as_str().unwrap()),
        &json!({"name": "k", "scopes": ["manage", "sign-document", "sign-hash"]}),
    );
    let api = admin.with(key["token"].as_str());
    let signet_root = save_root_pem(&server.url(""), &dir.join(format!("root-{backend}.pem")));
    let pdf = test_pdf(&[TestPage::A4]);

    // PKCS#12: the key goes into the encrypted keystore, the chain into the identity
    let p12 = B64.encode(std::fs::read(pki.p12("signer-ec")).unwrap());
    let wrong =
        api.post_json("/api/v1/identities", &json!({"name": "imported", "pkcs12": {"data": p12, "password": "nope"}}));
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.json()["error"]["message"].as_str().unwrap().to_lowercase().contains("password"),
        "{}",
        String::from_utf8_lossy(&wrong.body)
    );
    let imported = api.ok_json(
        "POST",
        "/api/v1/identities",
        &json!({"name": "imported", "pkcs12": {"data": p12, "password": "peer-test"}}),
    );
    assert_eq!(imported["key_store"], "keystore");
    assert!(imported.get("private_key").is_none() && !imported.to_string().contains("PRIVATE KEY"));
    {
        let _pki_server = pki.serve();
        // B-B: from B-T the built-in TSA's timestamp chains to Signet's root, not to this
        // PKI's (a deployment with its own PKI points --tsa-url at its own TSA)
        let r = api.send(
            "POST",
            "/api/v1/documents/sign?identity=imported&level=b-b",
            Some("application/pdf"),
            Some(&pdf),
            &[],
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let out = dir.join(format!("p12-{backend}.pdf"));
        std::fs::write(&out, &r.body).unwrap();
        validate_level(&out, &pki.root(), 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("{backend} pkcs12:\n{t}"));
    }

    // PKCS#11: a key on the token, certified now by the built-in CA for its public key
    let ec_key = pki.dir.join("signer-ec.key");
    let rsa_key = pki.dir.join("signer-rsa.key");
    let mismatch = api.post_json(
        "/api/v1/identities",
        &json!({"name": "hsm", "issue": {"common_name": "HSM seal"}, "pkcs11": {"token": TOKEN, "key_label": "hsm-ec", "public_key": spki_b64(&rsa_key)}}),
    );
    assert_eq!((mismatch.status, mismatch.json()["error"]["code"].as_str().unwrap()), (400, "key_mismatch"));
    let missing = api.post_json(
        "/api/v1/identities",
        &json!({"name": "hsm", "issue": {"common_name": "HSM seal"}, "pkcs11": {"token": TOKEN, "key_label": "no-such-key", "public_key": spki_b64(&ec_key)}}),
    );
    assert_eq!(missing.status, 400, "{}", String::from_utf8_lossy(&missing.body));
    assert!(
        missing.json()["error"]["message"].as_str().unwrap().contains("no-such-key"),
        "{}",
        String::from_utf8_lossy(&missing.body)
    );
    let hsm_id = api.ok_json(
        "POST",
        "/api/v1/identities",
        &json!({"name": "hsm", "issue": {"common_name": "HSM seal", "organization": "T"}, "pkcs11": {"token": TOKEN, "key_label": "hsm-ec", "public_key": spki_b64(&ec_key)}}),
    );
    assert_eq!(hsm_id["key_store"], "pkcs11");
    for level in ["b-b", "b-t", "b-lt"] {
        let r = api.send(
            "POST",
            &format!("/api/v1/documents/sign?identity=hsm&level={level}"),
            Some("application/pdf"),
            Some(&pdf),
            &[],
        );
        assert_eq!(r.status, 200, "{level}: {}", String::from_utf8_lossy(&r.body));
        let out = dir.join(format!("hsm-{backend}-{level}.pdf"));
        std::fs::write(&out, &r.body).unwrap();
        validate_level(&out, &signet_root, 1, None, "hard", &level.to_ascii_uppercase())
            .unwrap_or_else(|t| panic!("{backend} pkcs11 {level}:\n{t}"));
    }
    // the keystore holds the imported key sealed: its PEM/DER is nowhere in clear
    let der = Command::new("openssl").args(["pkey", "-outform", "DER", "-in"]).arg(&ec_key).output().unwrap().stdout;
    let mut stack = vec![data.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                assert!(!bytes.windows(der.len()).any(|w| w == der), "{} holds the private key in clear", p.display());
            }
        }
    }
}

#[test]
fn pkcs12_and_pkcs11_identities() {
    let Some(module) = softhsm_module_or_skip("pkcs12_and_pkcs11_identities") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(&dir.join("pki"));
    let hsm = SoftHsm::new(&dir.join("softhsm"), module);
    hsm.init_token(TOKEN, "so-pin-8642", PIN);
    hsm.import_key(TOKEN, PIN, &pki.dir.join("signer-ec.key"), "hsm-ec", "0a");
    for db in TestDatabase::all(&dir.join("db")) {
        identities_on(&db, dir, &pki, &hsm);
    }
}
