//! Key loading, signing and verification against keys and files made by OpenSSL
//! (`shared/peer/make_pki.sh` and `openssl` commands run at test time).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use signet_crypto::{
    DigestAlgorithm, Error, Identity, KeyKind, SignatureAlgorithm, SignatureScheme, certificate_spki, verify_signature,
};

/// The peer-kit PKI, made once per test binary under Cargo's per-target temp dir.
fn pki() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("signet-crypto-pki");
        let script = std::env::var("SIGNET_PEER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peer"))
            .join("make_pki.sh");
        let out = Command::new("bash").arg(&script).arg(&dir).output().unwrap();
        assert!(out.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
        dir
    })
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki().join(name)).unwrap()
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn round_trip_all(id: &Identity) {
    let spki = certificate_spki(&id.certificate).unwrap();
    let schemes: &[SignatureScheme] = match id.key_kind() {
        KeyKind::Rsa { .. } => &[SignatureScheme::RsaPkcs1v15, SignatureScheme::RsaPss],
        _ => &[SignatureScheme::Ecdsa],
    };
    for &scheme in schemes {
        for digest in DigestAlgorithm::ALL {
            let msg = b"signed attributes stand-in";
            let sig = id.signer.sign(scheme, digest, msg).unwrap();
            assert!(sig.len() <= id.signer.max_signature_len());
            let alg = SignatureAlgorithm::new(scheme, digest);
            verify_signature(spki, &alg, msg, &sig).unwrap_or_else(|e| panic!("{scheme:?}/{digest}: {e}"));
            assert!(matches!(verify_signature(spki, &alg, b"other message", &sig), Err(Error::BadSignature)));
        }
    }
}

#[test]
fn pkcs12_openssl3_default_rsa_and_ec() {
    let pass = String::from_utf8(read("p12.pass")).unwrap();
    let rsa = Identity::from_pkcs12(&read("signer-rsa.p12"), &pass).unwrap();
    assert_eq!(rsa.key_kind(), KeyKind::Rsa { bits: 2048 });
    let pem = pem_certs(&read("signer-rsa.pem"));
    assert_eq!(rsa.certificate, pem[0]);
    let chain = pem_certs(&read("chain.pem"));
    assert_eq!(rsa.chain, chain, "chain ordered from the issuer upward");
    round_trip_all(&rsa);

    let ec = Identity::from_pkcs12(&read("signer-ec.p12"), &pass).unwrap();
    assert_eq!(ec.key_kind(), KeyKind::EcP256);
    round_trip_all(&ec);
}

#[test]
fn pkcs12_legacy_rc2_3des() {
    let dir = tempfile::tempdir().unwrap();
    let p12 = dir.path().join("legacy.p12");
    let pki = pki();
    // The chain in root-first order, to check the reordering.
    let reversed = dir.path().join("reversed.pem");
    let mut both = std::fs::read(pki.join("root-ca.pem")).unwrap();
    both.extend(std::fs::read(pki.join("inter-ca.pem")).unwrap());
    std::fs::write(&reversed, both).unwrap();
    openssl(&[
        "pkcs12",
        "-export",
        "-legacy",
        "-inkey",
        pki.join("signer-rsa.key").to_str().unwrap(),
        "-in",
        pki.join("signer-rsa.pem").to_str().unwrap(),
        "-certfile",
        reversed.to_str().unwrap(),
        "-passout",
        "pass:legacy-pw",
        "-out",
        p12.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&p12).unwrap();
    let id = Identity::from_pkcs12(&bytes, "legacy-pw").unwrap();
    assert!(id.chain == pem_certs(&read("chain.pem")), "chain reordered");
    round_trip_all(&id);
}

#[test]
fn pkcs12_wrong_password_is_a_clear_error() {
    let err = Identity::from_pkcs12(&read("signer-rsa.p12"), "not-the-password").unwrap_err();
    assert!(matches!(err, Error::WrongPassword), "{err:?}");
    assert_eq!(err.to_string(), "wrong PKCS#12 password or corrupt file");
    assert!(Identity::from_pkcs12(b"\x30\x03\x02\x01\x03", "x").is_err());
    assert!(Identity::from_pkcs12(b"", "x").is_err());
}

#[test]
fn pem_pkcs8_pkcs1_sec1_and_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let pki = pki();
    let rsa_key = pki.join("signer-rsa.key");
    let ec_key = pki.join("signer-ec.key");
    openssl(&["rsa", "-in", rsa_key.to_str().unwrap(), "-traditional", "-out", &d("rsa1.pem")]);
    openssl(&["ec", "-in", ec_key.to_str().unwrap(), "-out", &d("sec1.pem")]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        rsa_key.to_str().unwrap(),
        "-passout",
        "pass:key-pw",
        "-out",
        &d("enc.pem"),
    ]);
    let rsa_cert = read("signer-rsa.pem");
    let ec_cert = read("signer-ec.pem");
    let chain = read("chain.pem");
    let file = |p: &str| std::fs::read(p).unwrap();

    let a = Identity::from_pem(&read("signer-rsa.key"), None, &rsa_cert, Some(&chain)).unwrap();
    assert_eq!(a.chain.len(), 2);
    round_trip_all(&a);
    let rsa1 = file(&d("rsa1.pem"));
    assert!(String::from_utf8_lossy(&rsa1).contains("BEGIN RSA PRIVATE KEY"));
    round_trip_all(&Identity::from_pem(&rsa1, None, &rsa_cert, None).unwrap());
    let sec1 = file(&d("sec1.pem"));
    assert!(String::from_utf8_lossy(&sec1).contains("BEGIN EC PRIVATE KEY"));
    round_trip_all(&Identity::from_pem(&sec1, None, &ec_cert, Some(&chain)).unwrap());
    let enc = file(&d("enc.pem"));
    round_trip_all(&Identity::from_pem(&enc, Some(b"key-pw"), &rsa_cert, None).unwrap());
    assert!(Identity::from_pem(&enc, Some(b"bad"), &rsa_cert, None).is_err());
    assert!(Identity::from_pem(&enc, None, &rsa_cert, None).is_err());

    // Chain first in the certificate file: the key still picks its own certificate.
    let mut mixed = chain.clone();
    mixed.extend_from_slice(&rsa_cert);
    let m = Identity::from_pem(&read("signer-rsa.key"), None, &mixed, None).unwrap();
    assert_eq!(m.certificate, pem_certs(&rsa_cert)[0]);
    assert_eq!(m.chain, pem_certs(&chain));

    // Key of another certificate.
    let err = Identity::from_pem(&read("signer-ec.key"), None, &rsa_cert, None).unwrap_err();
    assert!(matches!(err, Error::KeyMismatch), "{err:?}");
}

#[test]
fn rsa_4096_and_p384_and_weak_rsa() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let selfsigned = |newkey: &[&str], name: &str| {
        let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=Test"];
        args.extend_from_slice(newkey);
        let key = d(&format!("{name}.key"));
        let cert = d(&format!("{name}.pem"));
        args.extend_from_slice(&["-keyout", &key, "-out", &cert]);
        openssl(&args);
        (std::fs::read(key).unwrap(), std::fs::read(cert).unwrap())
    };
    let (k, c) = selfsigned(&["-newkey", "rsa:4096"], "rsa4096");
    let id = Identity::from_pem(&k, None, &c, None).unwrap();
    assert_eq!(id.key_kind(), KeyKind::Rsa { bits: 4096 });
    assert_eq!(id.signer.max_signature_len(), 512);
    round_trip_all(&id);

    let (k, c) = selfsigned(&["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "p384");
    let id = Identity::from_pem(&k, None, &c, None).unwrap();
    assert_eq!(id.key_kind(), KeyKind::EcP384);
    round_trip_all(&id);

    let (k, c) = selfsigned(&["-newkey", "rsa:1024"], "rsa1024");
    let err = Identity::from_pem(&k, None, &c, None).unwrap_err();
    assert!(matches!(err, Error::WeakKey(_) | Error::InvalidKey(_)), "{err:?}");
}

#[test]
fn openssl_signatures_verify() {
    // A signature made by OpenSSL (PSS, salt = digest length) verifies with our code.
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    std::fs::write(d("msg"), b"hello").unwrap();
    let key = pki().join("signer-rsa.key");
    openssl(&[
        "dgst",
        "-sha384",
        "-sign",
        key.to_str().unwrap(),
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:digest",
        "-out",
        &d("sig"),
        &d("msg"),
    ]);
    let cert = pem_certs(&read("signer-rsa.pem")).remove(0);
    let spki = certificate_spki(&cert).unwrap();
    let sig = std::fs::read(d("sig")).unwrap();
    let alg = SignatureAlgorithm::new(SignatureScheme::RsaPss, DigestAlgorithm::Sha384);
    verify_signature(spki, &alg, b"hello", &sig).unwrap();
    // Maximum salt length too.
    openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        key.to_str().unwrap(),
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:max",
        "-out",
        &d("sig2"),
        &d("msg"),
    ]);
    let sig = std::fs::read(d("sig2")).unwrap();
    let alg = SignatureAlgorithm::RsaPss { digest: DigestAlgorithm::Sha256, salt_len: 256 - 32 - 2 };
    verify_signature(spki, &alg, b"hello", &sig).unwrap();
    // ECDSA P-256 with SHA-512 made by OpenSSL.
    let key = pki().join("signer-ec.key");
    openssl(&["dgst", "-sha512", "-sign", key.to_str().unwrap(), "-out", &d("sig3"), &d("msg")]);
    let cert = pem_certs(&read("signer-ec.pem")).remove(0);
    let sig = std::fs::read(d("sig3")).unwrap();
    let alg = SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha512);
    verify_signature(certificate_spki(&cert).unwrap(), &alg, b"hello", &sig).unwrap();
}

/// DER certificates of a PEM file (test helper; decoding via openssl keeps it independent).
fn pem_certs(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    text.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|block| {
            let b64: String = block
                .split("-----END CERTIFICATE-----")
                .next()
                .unwrap()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            base64_decode(&b64)
        })
        .collect()
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => 0,
        }
    };
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..chunk.len()]);
    }
    out
}

#[test]
fn verification_memo_gives_the_same_verdicts() {
    let pass = String::from_utf8(read("p12.pass")).unwrap();
    let id = Identity::from_pkcs12(&read("signer-ec.p12"), &pass).unwrap();
    let spki = certificate_spki(&id.certificate).unwrap().to_vec();
    let alg = SignatureAlgorithm::new(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256);
    let sig = id.signer.sign(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256, b"message").unwrap();
    let mut flipped = sig.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    signet_crypto::with_verification_memo(|| {
        for _ in 0..3 {
            // good stays good, bad stays bad, a different message is not confused with a cached one
            verify_signature(&spki, &alg, b"message", &sig).unwrap();
            assert!(verify_signature(&spki, &alg, b"message", &flipped).is_err());
            assert!(matches!(verify_signature(&spki, &alg, b"messagf", &sig), Err(Error::BadSignature)));
            // nested scopes share the outer memo and do not close it
            signet_crypto::with_verification_memo(|| verify_signature(&spki, &alg, b"message", &sig)).unwrap();
        }
    });
    verify_signature(&spki, &alg, b"message", &sig).unwrap();
    assert!(matches!(verify_signature(&spki, &alg, b"messagf", &sig), Err(Error::BadSignature)));
}
