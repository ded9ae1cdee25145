//! Building, parsing and verifying CMS SignedData; checked by `openssl cms -verify -cades` and
//! against CMS made by pyHanko and OpenSSL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use signet_cms::certpath::{PathError, name_to_string, subject_to_string, validate_path};
use signet_cms::{
    Error, ParsedSignedData, assemble_signed_data, build_signed_data, estimated_len, oid, signed_attributes,
};
use signet_crypto::{DigestAlgorithm, Identity, SignatureScheme};

fn pki() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("signet-cms-pki");
        let script = std::env::var("SIGNET_PEER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peer")
            })
            .join("make_pki.sh");
        let out = Command::new("bash").arg(&script).arg(&dir).output().unwrap();
        assert!(
            out.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // A P-384 signer issued by the intermediate, for the ECDSA P-384 checks.
        let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
        std::fs::write(
            p("p384.ext"),
            "keyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
        )
        .unwrap();
        openssl(&[
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
            "-keyout", &p("signer-p384.key"), "-subj", "/C=FR/O=Peer Kit Test/CN=P-384 Signer",
            "-out", &p("signer-p384.csr"),
        ]);
        openssl(&[
            "x509", "-req", "-in", &p("signer-p384.csr"), "-CA", &p("inter-ca.pem"), "-CAkey",
            &p("inter-ca.key"), "-set_serial", "4242", "-days", "30", "-extfile",
            &p("p384.ext"), "-out", &p("signer-p384.pem"),
        ]);
        dir
    })
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki().join(name)).unwrap()
}

fn identity(name: &str) -> Identity {
    if name == "signer-p384" {
        return Identity::from_pem(&read("signer-p384.key"), None, &read("signer-p384.pem"), Some(&read("chain.pem")))
            .unwrap();
    }
    let pass = String::from_utf8(read("p12.pass")).unwrap();
    Identity::from_pkcs12(&read(&format!("{name}.p12")), &pass).unwrap()
}

fn pem_to_der(pem: &[u8]) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let text = String::from_utf8_lossy(pem).into_owned();
    for (i, block) in text.split("-----BEGIN CERTIFICATE-----").skip(1).enumerate() {
        let pem_path = dir.path().join(format!("{i}.pem"));
        let der_path = dir.path().join(format!("{i}.der"));
        std::fs::write(&pem_path, format!("-----BEGIN CERTIFICATE-----{block}")).unwrap();
        openssl(&["x509", "-in", pem_path.to_str().unwrap(), "-outform", "DER", "-out", der_path.to_str().unwrap()]);
        out.push(std::fs::read(der_path).unwrap());
    }
    out
}

fn now() -> SystemTime {
    SystemTime::now()
}

#[test]
fn openssl_cms_verify_cades_accepts_what_we_build() {
    let dir = tempfile::tempdir().unwrap();
    let data = b"%PDF-1.7 pretend ByteRange bytes\n".repeat(50);
    let data_path = dir.path().join("data.bin");
    std::fs::write(&data_path, &data).unwrap();
    let root = pki().join("root-ca.pem");
    let cases = [
        ("signer-rsa", SignatureScheme::RsaPkcs1v15),
        ("signer-rsa", SignatureScheme::RsaPss),
        ("signer-ec", SignatureScheme::Ecdsa),
        ("signer-p384", SignatureScheme::Ecdsa),
    ];
    for (name, scheme) in cases {
        let id = identity(name);
        for digest in DigestAlgorithm::ALL {
            let md = digest.digest(&data);
            let cms = build_signed_data(&id, digest, scheme, &md).unwrap();
            let est = estimated_len(&id, digest, scheme);
            assert!(est >= cms.len(), "{name} {scheme:?} {digest}: {est} < {}", cms.len());
            if scheme != SignatureScheme::Ecdsa {
                assert_eq!(est, cms.len(), "RSA estimate is exact");
            }
            let sig_path = dir.path().join(format!("{name}-{scheme:?}-{digest}.der"));
            std::fs::write(&sig_path, &cms).unwrap();
            let err = openssl(&[
                "cms",
                "-verify",
                "-cades",
                "-binary",
                "-inform",
                "DER",
                "-in",
                sig_path.to_str().unwrap(),
                "-content",
                data_path.to_str().unwrap(),
                "-CAfile",
                root.to_str().unwrap(),
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ]);
            assert!(err.contains("Verification successful"), "{name} {scheme:?} {digest}: {err}");

            // And our own parser agrees.
            let p = ParsedSignedData::parse(&cms).unwrap();
            assert_eq!(p.der_len, cms.len());
            assert_eq!(p.content_type, oid::DATA);
            assert_eq!(p.econtent, None);
            assert_eq!(p.digest_algorithm().unwrap(), digest);
            assert_eq!(p.signature_algorithm().unwrap().scheme(), scheme);
            assert_eq!(p.signer_certificate.as_deref(), Some(id.certificate.as_slice()));
            assert_eq!(p.certificates.len(), 1 + id.chain.len());
            assert!(!p.has_signing_time);
            assert_eq!(p.signer_count, 1);
            assert!(p.unsigned_attributes.is_empty());
            p.verify_signature().unwrap();
            p.check_message_digest(&md).unwrap();
            p.check_signing_certificate_v2().unwrap();
            assert!(matches!(p.check_message_digest(&digest.digest(b"other")), Err(Error::MessageDigestMismatch)));
        }
    }
}

#[test]
fn split_form_equals_one_shot_and_attribute_layout() {
    let id = identity("signer-rsa");
    let md = DigestAlgorithm::Sha384.digest(b"content");
    let attrs = signed_attributes(&id.certificate, DigestAlgorithm::Sha384, &md).unwrap();
    assert_eq!(attrs[0], 0x31);
    let sig = id.signer.sign(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha384, &attrs).unwrap();
    let split = assemble_signed_data(
        &id.certificate,
        &id.chain,
        DigestAlgorithm::Sha384,
        SignatureScheme::RsaPkcs1v15,
        &attrs,
        &sig,
    )
    .unwrap();
    let one = build_signed_data(&id, DigestAlgorithm::Sha384, SignatureScheme::RsaPkcs1v15, &md).unwrap();
    assert_eq!(split, one, "PKCS#1 v1.5 is deterministic");
    let p = ParsedSignedData::parse(&one).unwrap();
    assert_eq!(p.signed_attributes.as_deref(), Some(attrs.as_slice()));
    let order: Vec<_> = p.signed_attribute_list.iter().map(|a| a.oid).collect();
    assert_eq!(order, [oid::CONTENT_TYPE, oid::MESSAGE_DIGEST, oid::SIGNING_CERTIFICATE_V2]);
    let ess = p.signing_certificate_v2.unwrap();
    assert_eq!(ess.hash_algorithm, DigestAlgorithm::Sha384.oid());
    // With SHA-256 the DEFAULT hashAlgorithm is omitted (RFC 5035 §4): 8 bytes shorter than
    // the same structure with an explicit sha256 AlgorithmIdentifier would be.
    let a256 = signed_attributes(&id.certificate, DigestAlgorithm::Sha256, &[0; 32]).unwrap();
    let needle = DigestAlgorithm::Sha256.oid();
    assert!(!a256.windows(needle.as_bytes().len()).any(|w| w == needle.as_bytes()));
    // Wrong digest length is refused.
    assert!(signed_attributes(&id.certificate, DigestAlgorithm::Sha256, &[0; 48]).is_err());
    // Scheme not matching the key is refused.
    assert!(build_signed_data(&id, DigestAlgorithm::Sha256, SignatureScheme::Ecdsa, &[0; 32]).is_err());
}

#[test]
fn zero_padding_after_der_is_accepted() {
    let id = identity("signer-ec");
    let md = DigestAlgorithm::Sha256.digest(b"x");
    let cms = build_signed_data(&id, DigestAlgorithm::Sha256, SignatureScheme::Ecdsa, &md).unwrap();
    let mut padded = cms.clone();
    padded.resize(cms.len() + 8192, 0);
    let p = ParsedSignedData::parse(&padded).unwrap();
    assert_eq!(p.der_len, cms.len());
    p.verify_signature().unwrap();
}

#[test]
fn hostile_input_gives_errors_not_panics() {
    let id = identity("signer-rsa");
    let md = DigestAlgorithm::Sha256.digest(b"x");
    let cms = build_signed_data(&id, DigestAlgorithm::Sha256, SignatureScheme::RsaPss, &md).unwrap();
    for len in 0..cms.len() {
        assert!(ParsedSignedData::parse(&cms[..len]).is_err(), "truncated at {len}");
    }
    // Flip every byte in turn: parse may succeed or fail, the checks must not panic, and no
    // flip inside the signed attributes, the signature or the signer certificate may verify.
    let attrs = ParsedSignedData::parse(&cms).unwrap().signed_attributes.unwrap();
    let find = |needle: &[u8]| cms.windows(needle.len()).position(|w| w == needle).unwrap();
    let attrs_at = find(&attrs[1..]) - 1; // same bytes after the [0] tag
    let cert_at = find(&id.certificate);
    let protected: Vec<std::ops::Range<usize>> =
        vec![attrs_at..attrs_at + attrs.len(), cms.len() - 256..cms.len(), cert_at..cert_at + id.certificate.len()];
    for i in 0..cms.len() {
        let mut bad = cms.clone();
        bad[i] ^= 0x5a;
        if let Ok(p) = ParsedSignedData::parse(&bad) {
            let ok = p.verify_signature().is_ok()
                && p.check_message_digest(&md).is_ok()
                && p.check_signing_certificate_v2().is_ok();
            assert!(!(ok && protected.iter().any(|r| r.contains(&i))), "flip at {i} still verifies");
        }
    }
    // Tampered signature.
    let mut bad = cms.clone();
    let n = bad.len();
    bad[n - 10] ^= 1;
    let p = ParsedSignedData::parse(&bad).unwrap();
    assert!(matches!(p.verify_signature(), Err(Error::BadSignature)));
    // Not a SignedData at all.
    assert!(ParsedSignedData::parse(&[0x30, 0x03, 0x06, 0x01, 0x00]).is_err());
    assert!(ParsedSignedData::parse(&[0x30, 0x80, 0x00, 0x00]).is_err());
    assert!(ParsedSignedData::parse(&[]).is_err());
}

#[test]
fn pyhanko_ecdsa_signature_verifies() {
    // Made by pyHanko 0.38 via shared/peer/make_corpus.py (case 11), extracted with
    // sig_tools.py extract: the CMS and the ByteRange bytes it covers.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let cms = std::fs::read(data.join("pyhanko-ecdsa.cms.der")).unwrap();
    let content = std::fs::read(data.join("pyhanko-ecdsa.content.bin")).unwrap();
    let p = ParsedSignedData::parse(&cms).unwrap();
    assert_eq!(p.content_type, oid::DATA);
    assert_eq!(p.digest_algorithm().unwrap(), DigestAlgorithm::Sha256);
    p.verify_signature().unwrap();
    p.check_message_digest(&DigestAlgorithm::Sha256.digest(&content)).unwrap();
    p.check_signing_certificate_v2().unwrap();
    let signer = p.signer_certificate.clone().unwrap();
    assert_eq!(subject_to_string(&signer).unwrap(), "CN=Peer Test Signer ECDSA, O=Peer Kit Test, C=FR");
    let root = pem_to_der(&std::fs::read(data.join("pyhanko-root-ca.pem")).unwrap());
    // The fixture's certificates were issued on 2026-11-22.
    let at = UNIX_EPOCH + Duration::from_secs(1_795_400_000);
    let path = validate_path(&signer, &p.certificates, &root, at).unwrap();
    assert_eq!(path.len(), 3);
}

#[test]
fn openssl_attached_cms_parses() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    std::fs::write(d("data"), b"encapsulated content").unwrap();
    let p = |n: &str| pki().join(n).to_str().unwrap().to_string();
    openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-outform",
        "DER",
        "-nodetach",
        "-in",
        &d("data"),
        "-signer",
        &p("signer-rsa.pem"),
        "-inkey",
        &p("signer-rsa.key"),
        "-certfile",
        &p("chain.pem"),
        "-out",
        &d("sig.der"),
    ]);
    let cms = std::fs::read(d("sig.der")).unwrap();
    let parsed = ParsedSignedData::parse(&cms).unwrap();
    assert_eq!(parsed.econtent.as_deref(), Some(&b"encapsulated content"[..]));
    assert!(parsed.has_signing_time);
    parsed.verify_signature().unwrap();
    parsed.check_message_digest(&DigestAlgorithm::Sha256.digest(b"encapsulated content")).unwrap();
    // RSA-PSS made by OpenSSL, too.
    openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-outform",
        "DER",
        "-in",
        &d("data"),
        "-signer",
        &p("signer-rsa.pem"),
        "-inkey",
        &p("signer-rsa.key"),
        "-md",
        "sha512",
        "-keyopt",
        "rsa_padding_mode:pss",
        "-out",
        &d("pss.der"),
    ]);
    let parsed = ParsedSignedData::parse(&std::fs::read(d("pss.der")).unwrap()).unwrap();
    assert_eq!(parsed.econtent, None);
    assert_eq!(parsed.signature_algorithm().unwrap().scheme(), SignatureScheme::RsaPss);
    parsed.verify_signature().unwrap();
}

#[test]
fn certificate_paths() {
    let signer = pem_to_der(&read("signer-rsa.pem")).remove(0);
    let inter = pem_to_der(&read("inter-ca.pem"));
    let root = pem_to_der(&read("root-ca.pem"));
    assert_eq!(subject_to_string(&signer).unwrap(), "CN=Peer Test Signer RSA, O=Peer Kit Test, C=FR");

    let path = validate_path(&signer, &inter, &root, now()).unwrap();
    assert_eq!(path, vec![signer.clone(), inter[0].clone(), root[0].clone()]);
    // The root among the candidates too (as in a CMS) changes nothing.
    let mut all = inter.clone();
    all.extend(root.clone());
    assert_eq!(validate_path(&signer, &all, &root, now()).unwrap().len(), 3);

    let err = validate_path(&signer, &[], &root, now()).unwrap_err();
    assert!(matches!(err, PathError::NoIssuer { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no path to a trust anchor: issuer 'CN=Peer Test Intermediate CA, O=Peer Kit Test, C=FR' \
         of 'CN=Peer Test Signer RSA, O=Peer Kit Test, C=FR' not found"
    );

    // An unrelated root.
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    openssl(&[
        "req",
        "-x509",
        "-nodes",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-subj",
        "/CN=Other Root",
        "-days",
        "10",
        "-keyout",
        &d("k"),
        "-out",
        &d("c"),
    ]);
    let other = pem_to_der(&std::fs::read(d("c")).unwrap());
    let err = validate_path(&signer, &inter, &other, now()).unwrap_err();
    assert!(matches!(err, PathError::NoIssuer { .. }), "{err:?}");
    assert!(err.to_string().contains("Peer Test Root CA"), "{err}");

    // A root with the right name but another key: the signature check fails.
    openssl(&[
        "req",
        "-x509",
        "-nodes",
        "-newkey",
        "rsa:2048",
        "-subj",
        "/C=FR/O=Peer Kit Test/CN=Peer Test Root CA",
        "-days",
        "10",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "subjectKeyIdentifier=none",
        "-keyout",
        &d("k2"),
        "-out",
        &d("c2"),
    ]);
    let impostor = pem_to_der(&std::fs::read(d("c2")).unwrap());
    let err = validate_path(&signer, &inter, &impostor, now()).unwrap_err();
    assert!(matches!(err, PathError::BadSignature { .. }), "{err:?}");
    assert!(err.to_string().starts_with("signature on 'CN=Peer Test Intermediate CA"), "{err}");

    // Expired and not yet valid.
    let later = now() + Duration::from_secs(60 * 60 * 24 * 365 * 30);
    let err = validate_path(&signer, &inter, &root, later).unwrap_err();
    assert!(matches!(err, PathError::Expired { .. }), "{err:?}");
    assert!(err.to_string().starts_with("certificate 'CN=Peer Test Signer RSA"), "{err}");
    let before = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let err = validate_path(&signer, &inter, &root, before).unwrap_err();
    assert!(matches!(err, PathError::NotYetValid { .. }), "{err:?}");

    // An end-entity certificate cannot issue: signer-ec "issuing" is rejected by name already,
    // so use the intermediate as the end entity to check anchoring one level up.
    assert_eq!(validate_path(&inter[0], &[], &root, now()).unwrap().len(), 2);
    // Garbage input.
    assert!(matches!(validate_path(b"junk", &inter, &root, now()), Err(PathError::Malformed { .. })));
    let rdn = pem_to_der(&read("root-ca.pem")).remove(0);
    assert!(name_to_string(&rdn).len() > 10); // not a Name: rendered as hex
}

#[test]
fn unsigned_attributes_are_added_without_touching_the_signature() {
    let id = identity("signer-ec");
    let md = DigestAlgorithm::Sha256.digest(b"content");
    let cms = build_signed_data(&id, DigestAlgorithm::Sha256, SignatureScheme::Ecdsa, &md).unwrap();
    let mut padded = cms.clone();
    padded.extend_from_slice(&[0; 64]);
    let token_a = vec![0x30, 0x03, 0x02, 0x01, 0x07];
    let token_b = vec![0x30, 0x03, 0x02, 0x01, 0x05];
    let once = signet_cms::add_unsigned_attribute(&padded, &oid::SIGNATURE_TIME_STAMP_TOKEN, &token_a).unwrap();
    let twice = signet_cms::add_unsigned_attribute(&once, &oid::CMS_ALGORITHM_PROTECTION, &token_b).unwrap();
    let before = ParsedSignedData::parse(&cms).unwrap();
    for (der, n) in [(&once, 1), (&twice, 2)] {
        let p = ParsedSignedData::parse(der).unwrap();
        assert_eq!(p.der_len, der.len());
        assert_eq!(p.signature, before.signature);
        assert_eq!(p.signed_attributes, before.signed_attributes);
        assert_eq!(p.certificates, before.certificates);
        assert_eq!(p.unsigned_attributes.len(), n);
        p.verify_signature().unwrap();
        p.check_message_digest(&md).unwrap();
    }
    let p = ParsedSignedData::parse(&twice).unwrap();
    assert_eq!(p.unsigned_attribute(&oid::SIGNATURE_TIME_STAMP_TOKEN).unwrap().values, vec![token_a]);
    assert_eq!(p.unsigned_attribute(&oid::CMS_ALGORITHM_PROTECTION).unwrap().values, vec![token_b]);
    // two SignerInfos are refused, as is a value that is not one DER element
    assert!(signet_cms::add_unsigned_attribute(&cms, &oid::SIGNATURE_TIME_STAMP_TOKEN, &[0x30, 0x05]).is_err());
}
