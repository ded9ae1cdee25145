//! The authority's certificates, CRLs and PKCS#12 files as the OpenSSL command line reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use signet_authority::{
    Authority, AuthorityOptions, CaLevel, CertStatus, DistinguishedName, IssueRequest, KeySource, Profile,
    RevocationReason,
};
use signet_cms::{CertView, oid};
use signet_crypto::KeyKind;

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("openssl is installed");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn write(dir: &Path, name: &str, der: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, der).unwrap();
    path.to_str().unwrap().to_owned()
}

/// DER to PEM through openssl, for the tools that want PEM.
fn pem(dir: &Path, name: &str, der: &[u8]) -> String {
    let der_path = write(dir, &format!("{name}.der"), der);
    let pem_path = dir.join(format!("{name}.pem")).to_str().unwrap().to_owned();
    let (ok, text) = openssl(&["x509", "-inform", "DER", "-in", &der_path, "-out", &pem_path]);
    assert!(ok, "{text}");
    pem_path
}

fn person(cn: &str) -> IssueRequest {
    IssueRequest {
        profile: Profile::Person,
        subject: DistinguishedName {
            country: Some("BE".into()),
            given_name: Some("Alice".into()),
            surname: Some("Liddell".into()),
            common_name: Some(cn.into()),
            ..DistinguishedName::default()
        },
        emails: vec!["alice@example.com".into()],
        key: KeySource::Generate(KeyKind::EcP256),
        validity: Some(Duration::from_secs(30 * 86_400)),
    }
}

fn init(dir: &Path) -> Authority {
    let options = AuthorityOptions {
        public_url: "http://127.0.0.1:8080".into(),
        organization: "Example Trust".into(),
        country: Some("BE".into()),
        ..AuthorityOptions::default()
    };
    Authority::init(&dir.join("data"), &options).unwrap()
}

#[test]
fn issued_certificates_verify_with_openssl_and_show_their_profiles() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = init(tmp.path());
    let root = pem(tmp.path(), "root", ca.ca_certificate(CaLevel::Root));
    let issuing = pem(tmp.path(), "issuing", ca.ca_certificate(CaLevel::Issuing));

    let alice = ca.issue(&person("Alice Liddell")).unwrap();
    let mut seal = person("Example Seal");
    seal.profile = Profile::Organization;
    seal.subject = DistinguishedName {
        organization: Some("Example SA".into()),
        organization_identifier: Some("VATBE-0123456789".into()),
        common_name: Some("Example Seal".into()),
        country: Some("BE".into()),
        ..DistinguishedName::default()
    };
    seal.emails.clear();
    seal.key = KeySource::Generate(KeyKind::Rsa { bits: 2048 });
    let seal = ca.issue(&seal).unwrap();
    let tsa = ca.tsa_identity().unwrap();
    let ocsp = ca.ocsp_identity().unwrap();

    for (name, der) in [
        ("alice", &alice.certificate),
        ("seal", &seal.certificate),
        ("tsa", &tsa.certificate),
        ("ocsp", &ocsp.certificate),
        ("issuing-self", &ca.ca_certificate(CaLevel::Issuing).to_vec()),
    ] {
        let leaf = pem(tmp.path(), name, der);
        let (ok, text) = openssl(&["verify", "-CAfile", &root, "-untrusted", &issuing, "-purpose", "any", &leaf]);
        assert!(ok && text.contains(": OK"), "{name}: {text}");
    }
    // The TSA certificate passes OpenSSL's own timestamping purpose (RFC 3161 §2.3).
    let tsa_pem = pem(tmp.path(), "tsa2", &tsa.certificate);
    let (ok, text) =
        openssl(&["verify", "-CAfile", &root, "-untrusted", &issuing, "-purpose", "timestampsign", &tsa_pem]);
    assert!(ok, "{text}");

    let alice_pem = pem(tmp.path(), "alice2", &alice.certificate);
    let (ok, text) = openssl(&["x509", "-in", &alice_pem, "-noout", "-text"]);
    assert!(ok, "{text}");
    for expected in [
        "Version: 3 (0x2)",
        "ecdsa-with-SHA256",
        "Issuer: C = BE, O = Example Trust, CN = Example Trust Issuing CA",
        "Subject: C = BE, GN = Alice, SN = Liddell, CN = Alice Liddell",
        "X509v3 Key Usage: critical",
        "Digital Signature, Non Repudiation",
        "URI:http://127.0.0.1:8080/crl/issuing.crl",
        "OCSP - URI:http://127.0.0.1:8080/ocsp",
        "CA Issuers - URI:http://127.0.0.1:8080/ca/issuing.crt",
        "email:alice@example.com",
        "X509v3 Authority Key Identifier",
        "X509v3 Subject Key Identifier",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let issuing_text = openssl(&["x509", "-in", &issuing, "-noout", "-text"]).1;
    for expected in [
        "CA:TRUE, pathlen:0",
        "Certificate Sign, CRL Sign",
        "URI:http://127.0.0.1:8080/crl/root.crl",
        "CA Issuers - URI:http://127.0.0.1:8080/ca/root.crt",
    ] {
        assert!(issuing_text.contains(expected), "missing {expected:?} in\n{issuing_text}");
    }
    let ocsp_text = openssl(&["x509", "-in", &pem(tmp.path(), "ocsp2", &ocsp.certificate), "-noout", "-text"]).1;
    assert!(ocsp_text.contains("OCSP Signing") && ocsp_text.contains("OCSP No Check"), "{ocsp_text}");
    let tsa_text = openssl(&["x509", "-in", &tsa_pem, "-noout", "-text"]).1;
    assert!(tsa_text.contains("X509v3 Extended Key Usage: critical") && tsa_text.contains("Time Stamping"));
    let seal_text = openssl(&["x509", "-in", &pem(tmp.path(), "seal2", &seal.certificate), "-noout", "-text"]).1;
    assert!(seal_text.contains("organizationIdentifier = VATBE-0123456789"), "{seal_text}");
    assert!(seal_text.contains("Public Key Algorithm: rsaEncryption"), "{seal_text}");

    // Our own reader agrees, and the service identities sign with their certified keys.
    let view = CertView::parse(&tsa.certificate).unwrap();
    assert_eq!(view.extended_key_usage(), [oid::KP_TIME_STAMPING]);
    assert_eq!(tsa.chain.len(), 2);
    let sig = ocsp.signer.sign(ocsp.signer.key_kind().default_scheme(), signet_crypto::DigestAlgorithm::Sha256, b"x");
    assert!(sig.is_ok());
}

#[test]
fn tls_client_certificates_pass_openssls_client_purpose_and_may_start_in_the_past() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = init(tmp.path());
    let root = pem(tmp.path(), "root", ca.ca_certificate(CaLevel::Root));
    let issuing = pem(tmp.path(), "issuing", ca.ca_certificate(CaLevel::Issuing));
    let mut request = person("erp.example.com");
    request.profile = Profile::TlsClient;
    request.validity = None;
    let client = ca.issue(&request).unwrap();
    let client_pem = pem(tmp.path(), "client", &client.certificate);
    // RFC 5280 §4.2.1.12 id-kp-clientAuth: what TLS servers require of a client certificate
    let (ok, text) =
        openssl(&["verify", "-CAfile", &root, "-untrusted", &issuing, "-purpose", "sslclient", &client_pem]);
    assert!(ok && text.contains(": OK"), "{text}");
    let (ok, text) =
        openssl(&["verify", "-CAfile", &root, "-untrusted", &issuing, "-purpose", "sslserver", &client_pem]);
    assert!(!ok, "a client certificate is no server certificate: {text}");
    let (not_before, not_after) = CertView::parse(&client.certificate).unwrap().validity().unwrap();
    assert_eq!(not_after.duration_since(not_before).unwrap().as_secs() / 86_400, 365);
    assert_eq!("tls-client".parse::<Profile>().unwrap(), Profile::TlsClient);

    // a certificate whose validity ended yesterday: OpenSSL calls it expired
    request.validity = Some(Duration::from_secs(86_400));
    let expired = ca.issue_valid_from(&request, SystemTime::now() - Duration::from_secs(2 * 86_400)).unwrap();
    assert!(expired.record.not_after < SystemTime::now());
    let expired_pem = pem(tmp.path(), "expired", &expired.certificate);
    let (ok, text) =
        openssl(&["verify", "-CAfile", &root, "-untrusted", &issuing, "-purpose", "sslclient", &expired_pem]);
    assert!(!ok && text.contains("expired"), "{text}");
    request.profile = Profile::IssuingCa;
    assert!(ca.issue_valid_from(&request, SystemTime::now()).is_err());
}

#[test]
fn crls_list_revocations_with_reasons_and_verify_with_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = init(tmp.path());
    let root = pem(tmp.path(), "root", ca.ca_certificate(CaLevel::Root));
    let issuing = ca.ca_certificate(CaLevel::Issuing).to_vec();
    let issuing_pem = pem(tmp.path(), "issuing", &issuing);

    let first = ca.crl(CaLevel::Issuing).unwrap();
    assert_eq!(ca.crl(CaLevel::Issuing).unwrap(), first, "a fresh CRL is served from the cache");
    let first_path = write(tmp.path(), "first.crl", &first);
    let (ok, text) =
        openssl(&["crl", "-inform", "DER", "-in", &first_path, "-CAfile", &issuing_pem, "-noout", "-text"]);
    assert!(ok && text.contains("verify OK"), "{text}");
    assert!(text.contains("No Revoked Certificates") && text.contains("Next Update"), "{text}");
    assert!(text.contains("X509v3 CRL Number") && text.contains("Version 2"), "{text}");

    let alice = ca.issue(&person("Alice")).unwrap();
    let bob = ca.issue(&person("Bob")).unwrap();
    let serial = alice.record.serial.clone();
    let serial_bytes = CertView::parse(&alice.certificate).unwrap().serial_bytes().to_vec();
    assert_eq!(ca.status(CaLevel::Issuing, &serial_bytes).unwrap(), CertStatus::Good);
    assert_eq!(ca.status(CaLevel::Root, &serial_bytes).unwrap(), CertStatus::Unknown);
    assert_eq!(ca.status(CaLevel::Issuing, &[0x01, 0x02]).unwrap(), CertStatus::Unknown);

    let when = SystemTime::now() - Duration::from_secs(3600);
    let record = ca.revoke(&serial.to_lowercase(), RevocationReason::KeyCompromise, when).unwrap();
    assert_eq!(record.revocation.unwrap().reason, RevocationReason::KeyCompromise);
    assert!(ca.revoke(&serial, RevocationReason::Superseded, when).is_err(), "revoked twice");
    ca.revoke(&bob.record.serial, RevocationReason::Unspecified, when).unwrap();
    match ca.status(CaLevel::Issuing, &serial_bytes).unwrap() {
        CertStatus::Revoked(r) => assert_eq!(r.reason, RevocationReason::KeyCompromise),
        other => panic!("{other:?}"),
    }

    let crl = ca.crl(CaLevel::Issuing).unwrap();
    assert_ne!(crl, first);
    let crl_path = write(tmp.path(), "issuing.crl", &crl);
    let (ok, text) = openssl(&["crl", "-inform", "DER", "-in", &crl_path, "-CAfile", &issuing_pem, "-noout", "-text"]);
    assert!(ok && text.contains("verify OK"), "{text}");
    assert!(text.contains(&format!("Serial Number: {serial}")), "{text}");
    assert!(text.contains(&format!("Serial Number: {}", bob.record.serial)), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    // cRLNumber went up: init issued 1, revocations 2 and 3.
    assert!(text.contains("X509v3 CRL Number: \n                3"), "{text}");

    // A certificate checked against the CRL is refused; the other CA's CRL does not list it.
    let alice_pem = pem(tmp.path(), "alice", &alice.certificate);
    let crl_pem = tmp.path().join("issuing.crl.pem");
    assert!(openssl(&["crl", "-inform", "DER", "-in", &crl_path, "-out", crl_pem.to_str().unwrap()]).0);
    let root_crl_path = write(tmp.path(), "root.crl", &ca.crl(CaLevel::Root).unwrap());
    let root_crl_pem = tmp.path().join("root.crl.pem");
    assert!(openssl(&["crl", "-inform", "DER", "-in", &root_crl_path, "-out", root_crl_pem.to_str().unwrap()]).0);
    let (ok, text) = openssl(&[
        "verify",
        "-crl_check_all",
        "-CAfile",
        &root,
        "-untrusted",
        &issuing_pem,
        "-CRLfile",
        crl_pem.to_str().unwrap(),
        "-CRLfile",
        root_crl_pem.to_str().unwrap(),
        &alice_pem,
    ]);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    let (ok, text) = openssl(&["crl", "-inform", "DER", "-in", &root_crl_path, "-CAfile", &root, "-noout", "-text"]);
    assert!(ok && text.contains("verify OK") && text.contains("No Revoked Certificates"), "{text}");

    // Everything survives a restart.
    drop(ca);
    let ca = Authority::open(&tmp.path().join("data")).unwrap();
    assert!(matches!(ca.status(CaLevel::Issuing, &serial_bytes).unwrap(), CertStatus::Revoked(_)));
    assert_eq!(ca.crl(CaLevel::Issuing).unwrap(), crl);
    assert_eq!(ca.list().unwrap().iter().filter(|r| r.revocation.is_some()).count(), 2);
}

#[test]
fn pkcs12_export_reads_with_openssl_and_signet() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = init(tmp.path());
    let alice = ca.issue(&person("Alice")).unwrap();
    let p12 = ca.export_pkcs12(&alice.record.serial, "s3cret pass").unwrap();
    let path = write(tmp.path(), "alice.p12", &p12);
    let (ok, text) = openssl(&["pkcs12", "-info", "-nokeys", "-in", &path, "-passin", "pass:s3cret pass"]);
    assert!(ok, "{text}");
    assert!(text.contains("AES-256-CBC") && text.contains("CN = Alice"), "{text}");
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 3, "{text}");
    let (ok, _) = openssl(&["pkcs12", "-info", "-nokeys", "-in", &path, "-passin", "pass:wrong"]);
    assert!(!ok);
    let identity = signet_crypto::Identity::from_pkcs12(&p12, "s3cret pass").unwrap();
    assert_eq!(identity.certificate, alice.certificate);
    assert_eq!(identity.chain, [ca.ca_certificate(CaLevel::Issuing), ca.ca_certificate(CaLevel::Root)]);

    // A certificate for a key held elsewhere has nothing to export.
    let spki = CertView::parse(&alice.certificate).unwrap().spki.to_vec();
    let mut external = person("External");
    external.key = KeySource::PublicKey(spki);
    let external = ca.issue(&external).unwrap();
    assert!(external.record.key_name.is_none());
    assert!(matches!(ca.export_pkcs12(&external.record.serial, "x"), Err(signet_authority::Error::NoPrivateKey(_))));
}

#[test]
fn open_or_init_is_idempotent_and_keys_stay_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (ca, created) = Authority::open_or_init(&data, &AuthorityOptions::default()).unwrap();
    assert!(created);
    let root = ca.ca_certificate(CaLevel::Root).to_vec();
    let tsa = ca.tsa_identity().unwrap().certificate;
    drop(ca);
    let (ca, created) = Authority::open_or_init(&data, &AuthorityOptions::default()).unwrap();
    assert!(!created);
    assert_eq!(ca.ca_certificate(CaLevel::Root), root);
    assert_eq!(ca.tsa_identity().unwrap().certificate, tsa);
    assert!(Authority::init(&data, &AuthorityOptions::default()).is_err());
    // Root, issuing, TSA, OCSP keys, all sealed.
    let keys: Vec<_> = std::fs::read_dir(data.join("keys")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(keys.len(), 4);
    for k in keys {
        assert!(std::fs::read(k).unwrap().starts_with(b"SIGNETKS"));
    }
    // Without its master key, the authority does not open, and says why.
    std::fs::remove_file(data.join("master.key")).unwrap();
    let err = Authority::open(&data).unwrap_err().to_string();
    assert!(err.contains("master key") && err.contains("SIGNET_MASTER_KEY"), "{err}");
}

#[test]
fn a_change_made_by_another_process_is_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let server = init(tmp.path());
    let alice = server.issue(&person("Alice")).unwrap();
    let serial_bytes = CertView::parse(&alice.certificate).unwrap().serial_bytes().to_vec();
    assert_eq!(server.status(CaLevel::Issuing, &serial_bytes).unwrap(), CertStatus::Good);
    let before = server.crl(CaLevel::Issuing).unwrap();
    // A second instance on the same directory stands for `signet ca revoke`.
    std::thread::sleep(Duration::from_millis(20));
    let cli = Authority::open(&tmp.path().join("data")).unwrap();
    cli.revoke(&alice.record.serial, RevocationReason::Superseded, SystemTime::now()).unwrap();
    assert!(matches!(server.status(CaLevel::Issuing, &serial_bytes).unwrap(), CertStatus::Revoked(_)));
    assert_ne!(server.crl(CaLevel::Issuing).unwrap(), before);
}

#[test]
fn a_revoked_service_certificate_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = init(tmp.path());
    let old = ca.ocsp_identity().unwrap().certificate;
    let serial = CertView::parse(&old).unwrap().serial_bytes().to_vec();
    ca.revoke(&hex::encode_upper(&serial), RevocationReason::KeyCompromise, SystemTime::now()).unwrap();
    let new = ca.ocsp_identity().unwrap().certificate;
    assert_ne!(new, old);
    let new_serial = CertView::parse(&new).unwrap().serial_bytes().to_vec();
    assert_eq!(ca.status(CaLevel::Issuing, &new_serial).unwrap(), CertStatus::Good);
    // The successor survives a restart.
    drop(ca);
    assert_eq!(Authority::open(&tmp.path().join("data")).unwrap().ocsp_identity().unwrap().certificate, new);
}

#[test]
fn requests_that_make_no_sense_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = init(tmp.path());
    let mut r = person("X");
    r.profile = Profile::RootCa;
    assert!(ca.issue(&r).is_err());
    let mut r = person("X");
    r.emails = vec!["not an address".into()];
    assert!(ca.issue(&r).is_err());
    let mut r = person("X");
    r.key = KeySource::PublicKey(b"junk".to_vec());
    assert!(ca.issue(&r).is_err());
    let root_serial = ca.list().unwrap().into_iter().find(|r| r.profile == Profile::RootCa).unwrap().serial;
    assert!(ca.revoke(&root_serial, RevocationReason::KeyCompromise, SystemTime::now()).is_err());
    assert!(ca.revoke("0102", RevocationReason::KeyCompromise, SystemTime::now()).is_err());
    // Issued certificates never outlive the issuing CA.
    let mut r = person("Long");
    r.validity = Some(Duration::from_secs(100 * 365 * 86_400));
    let long = ca.issue(&r).unwrap();
    let issuing = CertView::parse(ca.ca_certificate(CaLevel::Issuing)).unwrap().validity().unwrap().1;
    assert!(long.record.not_after <= issuing);
}
