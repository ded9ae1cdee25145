//! RFC 3161 time stamps, RFC 6960 OCSP and RFC 5280 CRLs against what the OpenSSL command line
//! produces for the peer kit's test PKI (`make_pki.sh`): parse, verify, statuses, and tampered
//! inputs refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use signet_cms::crl::{Crl, RevocationReason};
use signet_cms::ocsp::{self, CertId, CertIdHash, CertStatus, OcspResponse, ResponderId};
use signet_cms::oid;
use signet_cms::tsp::{self, GrantedStatus, TsaKeyUsage, TstInfo};
use signet_crypto::DigestAlgorithm;

fn pki() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("signet-cms-protocols-pki");
        let script = std::env::var("SIGNET_PEER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peer"))
            .join("make_pki.sh");
        let out = Command::new("bash").arg(&script).arg(&dir).output().unwrap();
        assert!(out.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
        let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
        // A TSA certificate whose extendedKeyUsage is NOT critical and names a second purpose
        // (allowed by the lenient rule only), and one without the extension at all.
        for (name, ext) in [
            ("tsa-lax", "extendedKeyUsage=timeStamping,codeSigning\n"),
            ("tsa-noeku", "keyUsage=critical,digitalSignature\n"),
        ] {
            std::fs::write(p(&format!("{name}.ext")), format!("{ext}subjectKeyIdentifier=hash\n")).unwrap();
            openssl_in(
                &dir,
                &[
                    "req",
                    "-new",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    &p(&format!("{name}.key")),
                    "-subj",
                    &format!("/C=FR/O=Peer Kit Test/CN={name}"),
                    "-out",
                    &p(&format!("{name}.csr")),
                ],
            );
            openssl_in(
                &dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &p(&format!("{name}.csr")),
                    "-CA",
                    &p("inter-ca.pem"),
                    "-CAkey",
                    &p("inter-ca.key"),
                    "-set_serial",
                    "777",
                    "-days",
                    "30",
                    "-extfile",
                    &p(&format!("{name}.ext")),
                    "-out",
                    &p(&format!("{name}.pem")),
                ],
            );
        }
        let base = std::fs::read_to_string(dir.join("tsa.cnf")).unwrap();
        let variants = [
            ("tsa-v1.cnf", base.replace("ess_cert_id_alg = sha256", "ess_cert_id_alg = sha1")),
            ("tsa-lax.cnf", base.replace("tsa.pem", "tsa-lax.pem").replace("tsa.key", "tsa-lax.key")),
            ("tsa-noeku.cnf", base.replace("tsa.pem", "tsa-noeku.pem").replace("tsa.key", "tsa-noeku.key")),
        ];
        for (name, text) in variants {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    })
}

fn openssl_in(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// DER of a PEM certificate (or CRL) of the PKI.
fn der(name: &str) -> Vec<u8> {
    openssl_in(pki(), &["x509", "-in", name, "-outform", "DER"])
}

/// `openssl ts -reply` with `config` (the TSA serial file is shared: one reply at a time).
fn ts_reply(config: &str, query: &[u8]) -> Vec<u8> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let q = tmp.path().join("q.der");
    let r = tmp.path().join("r.der");
    std::fs::write(&q, query).unwrap();
    openssl_in(
        pki(),
        &["ts", "-reply", "-config", config, "-queryfile", q.to_str().unwrap(), "-out", r.to_str().unwrap()],
    );
    std::fs::read(r).unwrap()
}

fn flip(data: &[u8], at: usize) -> Vec<u8> {
    let mut d = data.to_vec();
    d[at] ^= 0x01;
    d
}

#[test]
fn tsp_openssl_token_verifies() {
    let imprint = DigestAlgorithm::Sha256.digest(b"document bytes");
    let nonce = tsp::random_nonce().unwrap();
    let query = tsp::timestamp_request(DigestAlgorithm::Sha256, &imprint, Some(&nonce), true, None);
    // OpenSSL reads our request.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("q.der"), &query).unwrap();
    let text = openssl_in(tmp.path(), &["ts", "-query", "-in", "q.der", "-text"]);
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("Certificate required: yes") && text.contains("sha256"), "{text}");

    let before = SystemTime::now() - Duration::from_secs(2);
    let resp = tsp::parse_response(&ts_reply("tsa.cnf", &query)).unwrap();
    assert_eq!(resp.status, GrantedStatus::Granted);
    let v = tsp::verify_token(&resp.token, DigestAlgorithm::Sha256, &imprint, Some(&nonce)).unwrap();
    assert_eq!(v.signer_cert, der("tsa.pem"));
    assert_eq!(v.certs.len(), 3, "TSA, intermediate and root (certs = chain.pem)");
    let t = &v.tst_info;
    assert_eq!(t.policy.to_string(), "1.3.6.1.4.1.99999.1.1");
    assert_eq!(t.imprint_algorithm, DigestAlgorithm::Sha256.oid());
    assert_eq!(t.accuracy, Some(Duration::from_secs(1)));
    assert!(t.ordering);
    assert!(t.tsa.is_none());
    assert!(t.gen_time >= before && t.gen_time <= SystemTime::now() + Duration::from_secs(2));
    // Strict RFC 3161 §2.3: make_pki.sh's TSA has a critical, single-purpose EKU.
    tsp::verify_token_with(&resp.token, DigestAlgorithm::Sha256, &imprint, Some(&nonce), TsaKeyUsage::Strict).unwrap();

    // The TSTInfo agrees with OpenSSL's reading of it.
    std::fs::write(tmp.path().join("t.der"), &resp.token).unwrap();
    let text = openssl_in(tmp.path(), &["ts", "-reply", "-in", "t.der", "-token_in", "-text"]);
    let text = String::from_utf8_lossy(&text);
    let nonce_hex = hex::encode_upper(nonce);
    assert!(text.replace(':', "").to_uppercase().contains(&nonce_hex), "{text}");
}

#[test]
fn tsp_wrong_imprint_nonce_or_bytes_fail() {
    let imprint = DigestAlgorithm::Sha384.digest(b"data");
    let nonce = [0x42u8; 8];
    let query = tsp::timestamp_request(DigestAlgorithm::Sha384, &imprint, Some(&nonce), true, None);
    let token = tsp::parse_response(&ts_reply("tsa.cnf", &query)).unwrap().token;
    tsp::verify_token(&token, DigestAlgorithm::Sha384, &imprint, Some(&nonce)).unwrap();
    // Leading zero octets do not change the nonce's value.
    tsp::verify_token(
        &token,
        DigestAlgorithm::Sha384,
        &imprint,
        Some(&[0, 0, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42]),
    )
    .unwrap();
    let other = DigestAlgorithm::Sha384.digest(b"other");
    let e = tsp::verify_token(&token, DigestAlgorithm::Sha384, &other, Some(&nonce)).unwrap_err();
    assert!(e.to_string().contains("imprint"), "{e}");
    assert!(tsp::verify_token(&token, DigestAlgorithm::Sha512, &imprint, Some(&nonce)).is_err());
    let e = tsp::verify_token(&token, DigestAlgorithm::Sha384, &imprint, Some(&[0x43; 8])).unwrap_err();
    assert!(e.to_string().contains("nonce"), "{e}");
    // No nonce asked: a token with one is fine.
    tsp::verify_token(&token, DigestAlgorithm::Sha384, &imprint, None).unwrap();
    // A nonce asked but none in the token.
    let q2 = tsp::timestamp_request(DigestAlgorithm::Sha384, &imprint, None, true, None);
    let t2 = tsp::parse_response(&ts_reply("tsa.cnf", &q2)).unwrap().token;
    assert!(
        TstInfo::parse(&signet_cms::ParsedSignedData::parse(&t2).unwrap().econtent.unwrap()).unwrap().nonce.is_none()
    );
    assert!(tsp::verify_token(&t2, DigestAlgorithm::Sha384, &imprint, Some(&nonce)).is_err());

    // A flipped byte anywhere in what the TSA signed or signed with is refused: the TSTInfo,
    // the signed attributes, the signature, the TSA certificate. (The CA certificates the
    // token also carries are not used by the token check.)
    let sd = signet_cms::ParsedSignedData::parse(&token).unwrap();
    let pos = |part: &[u8]| token.windows(part.len()).position(|w| w == part).unwrap();
    let mut attrs = sd.signed_attributes.clone().unwrap();
    attrs[0] = 0xa0;
    let parts = [sd.econtent.clone().unwrap(), attrs, sd.signature.clone(), sd.signer_certificate.clone().unwrap()];
    let mut checked = 0;
    for part in &parts {
        let start = pos(part);
        for off in (0..part.len()).step_by(3) {
            let t = flip(&token, start + off);
            assert!(
                tsp::verify_token(&t, DigestAlgorithm::Sha384, &imprint, Some(&nonce)).is_err(),
                "flipped byte {} accepted",
                start + off
            );
            checked += 1;
        }
    }
    assert!(checked > 300);
}

#[test]
fn tsp_ess_v1_and_eku_rules() {
    let imprint = DigestAlgorithm::Sha256.digest(b"x");
    let query = tsp::timestamp_request(DigestAlgorithm::Sha256, &imprint, None, true, None);
    // ESS signing-certificate v1 (SHA-1 ESSCertID).
    let token = tsp::parse_response(&ts_reply("tsa-v1.cnf", &query)).unwrap().token;
    let sd = signet_cms::ParsedSignedData::parse(&token).unwrap();
    assert!(sd.has_signing_certificate_v1 && sd.signing_certificate_v2.is_none());
    tsp::verify_token_with(&token, DigestAlgorithm::Sha256, &imprint, None, TsaKeyUsage::Strict).unwrap();

    // OpenSSL's TSA refuses such certificates, so the same TSTInfo is signed by `openssl cms
    // -sign -cades` (which adds signing-certificate-v2) with them.
    let sd = signet_cms::ParsedSignedData::parse(&token).unwrap();
    let tst = sd.econtent.unwrap();
    let resign = |name: &str| -> Vec<u8> {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("tst.der"), &tst).unwrap();
        let out = tmp.path().join("tok.der");
        openssl_in(
            pki(),
            &[
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-cades",
                "-econtent_type",
                "1.2.840.113549.1.9.16.1.4",
                "-in",
                tmp.path().join("tst.der").to_str().unwrap(),
                "-signer",
                &format!("{name}.pem"),
                "-inkey",
                &format!("{name}.key"),
                "-md",
                "sha256",
                "-outform",
                "DER",
                "-out",
                out.to_str().unwrap(),
            ],
        );
        std::fs::read(out).unwrap()
    };
    // The real TSA's certificate: both rules accept the re-signed token.
    let token = resign("tsa");
    tsp::verify_token_with(&token, DigestAlgorithm::Sha256, &imprint, None, TsaKeyUsage::Strict).unwrap();
    // Non-critical EKU with a second purpose: lenient accepts, strict refuses.
    let token = resign("tsa-lax");
    tsp::verify_token(&token, DigestAlgorithm::Sha256, &imprint, None).unwrap();
    let e = tsp::verify_token_with(&token, DigestAlgorithm::Sha256, &imprint, None, TsaKeyUsage::Strict).unwrap_err();
    assert!(e.to_string().contains("critical"), "{e}");
    // No EKU at all: refused by both.
    let token = resign("tsa-noeku");
    let e = tsp::verify_token(&token, DigestAlgorithm::Sha256, &imprint, None).unwrap_err();
    assert!(e.to_string().contains("id-kp-timeStamping"), "{e}");
    // A signer without any ESS signing-certificate attribute is refused.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("tst.der"), &tst).unwrap();
    let plain = openssl_in(
        pki(),
        &[
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-econtent_type",
            "1.2.840.113549.1.9.16.1.4",
            "-in",
            tmp.path().join("tst.der").to_str().unwrap(),
            "-signer",
            "tsa.pem",
            "-inkey",
            "tsa.key",
            "-md",
            "sha256",
            "-outform",
            "DER",
        ],
    );
    let e = tsp::verify_token(&plain, DigestAlgorithm::Sha256, &imprint, None).unwrap_err();
    assert!(e.to_string().contains("signing-certificate"), "{e}");
}

#[test]
fn tsp_rejection_is_a_clear_error() {
    let imprint = DigestAlgorithm::Sha256.digest(b"x");
    let policy = oid::ObjectIdentifier::new_unwrap("1.2.3.4.5");
    let query = tsp::timestamp_request(DigestAlgorithm::Sha256, &imprint, None, true, Some(policy));
    let e = tsp::parse_response(&ts_reply("tsa.cnf", &query)).unwrap_err().to_string();
    assert!(e.contains("rejection") && e.contains("unacceptedPolicy"), "{e}");
    // The configured other policy is granted and reported.
    let other = oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1.2");
    let query = tsp::timestamp_request(DigestAlgorithm::Sha256, &imprint, None, true, Some(other));
    let token = tsp::parse_response(&ts_reply("tsa.cnf", &query)).unwrap().token;
    assert_eq!(tsp::verify_token(&token, DigestAlgorithm::Sha256, &imprint, None).unwrap().tst_info.policy, other);
}

#[test]
fn tsp_hostile_input_never_panics() {
    let imprint = DigestAlgorithm::Sha256.digest(b"x");
    let query = tsp::timestamp_request(DigestAlgorithm::Sha256, &imprint, None, true, None);
    let reply = ts_reply("tsa.cnf", &query);
    for len in 0..reply.len() {
        let _ = tsp::parse_response(&reply[..len]);
    }
    let token = tsp::parse_response(&reply).unwrap().token;
    let mut x = 0x9e37_79b9_u32;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut t = token.clone();
        let i = x as usize % t.len();
        t[i] = (x >> 8) as u8;
        let _ = tsp::verify_token(&t, DigestAlgorithm::Sha256, &imprint, None);
        let _ = tsp::verify_token(&t[..i], DigestAlgorithm::Sha256, &imprint, None);
    }
}

// ---- OCSP (RFC 6960) ----

/// `openssl ocsp` as the PKI's responder for the intermediate CA, signing with `signer`
/// (`-rsigner`/`-rkey` base name) and extra options.
fn ocsp_reply(request: &[u8], signer: &str, extra: &[&str]) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let q = tmp.path().join("q.der");
    let r = tmp.path().join("r.der");
    std::fs::write(&q, request).unwrap();
    let mut args = vec![
        "ocsp",
        "-index",
        "db/inter.index",
        "-CA",
        "inter-ca.pem",
        "-nmin",
        "60",
        "-reqin",
        q.to_str().unwrap(),
        "-respout",
        r.to_str().unwrap(),
    ];
    let rsigner = format!("{signer}.pem");
    let rkey = format!("{signer}.key");
    args.extend(["-rsigner", &rsigner, "-rkey", &rkey]);
    args.extend(extra);
    openssl_in(pki(), &args);
    std::fs::read(r).unwrap()
}

#[test]
fn ocsp_statuses_from_openssl_responder() {
    let inter = der("inter-ca.pem");
    let ids: Vec<CertId> = ["signer-rsa.pem", "signer-revoked.pem", "tsa-lax.pem"]
        .iter()
        .map(|n| CertId::new(&der(n), &inter, CertIdHash::Sha1).unwrap())
        .collect();
    let nonce = [0x5a; 16];
    let req = ocsp::ocsp_request(&ids, Some(&nonce));
    // OpenSSL reads our request.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("q.der"), &req).unwrap();
    let text = String::from_utf8_lossy(&openssl_in(tmp.path(), &["ocsp", "-reqin", "q.der", "-req_text"])).into_owned();
    assert!(text.contains("OCSP Nonce") && text.matches("Certificate ID:").count() == 3, "{text}");

    let before = SystemTime::now() - Duration::from_secs(2);
    let resp = OcspResponse::parse(&ocsp_reply(&req, "ocsp", &[])).unwrap();
    assert_eq!(resp.nonce.as_deref(), Some(&nonce[..]));
    assert_eq!(resp.responses.len(), 3);
    assert_eq!(resp.certs, vec![der("ocsp.pem")]);
    assert!(resp.produced_at >= before);
    assert!(resp.unhandled_critical.is_empty());
    // Delegated responder: make_pki.sh's ocsp.pem (EKU OCSPSigning, issued by the intermediate).
    assert_eq!(resp.verify(&inter, SystemTime::now()).unwrap(), der("ocsp.pem"));

    let good = resp.status_for(&ids[0]).unwrap();
    assert_eq!(good.status, CertStatus::Good);
    let next = good.next_update.unwrap();
    let span = next.duration_since(good.this_update).unwrap();
    assert!(span >= Duration::from_secs(3590) && span <= Duration::from_secs(3610), "{span:?}");
    match resp.status_for(&ids[1]).unwrap().status {
        CertStatus::Revoked { reason, time } => {
            assert_eq!(reason, Some(RevocationReason::KeyCompromise));
            assert!(time <= SystemTime::now());
        }
        other => panic!("signer-revoked: {other:?}"),
    }
    // Not in the CA database (issued outside `openssl ca`).
    assert_eq!(resp.status_for(&ids[2]).unwrap().status, CertStatus::Unknown);
    // A CertID of another hash or issuer is not answered.
    let sha256 = CertId::new(&der("signer-rsa.pem"), &inter, CertIdHash::Sha256).unwrap();
    assert!(resp.status_for(&sha256).is_none());

    // The wrong issuer: the delegated responder is not the root's.
    let e = resp.verify(&der("root-ca.pem"), SystemTime::now()).unwrap_err();
    assert!(e.to_string().contains("not issued by"), "{e}");
    // Outside the responder certificate's validity.
    let e = resp.verify(&inter, SystemTime::now() + Duration::from_secs(86_400 * 365 * 30)).unwrap_err();
    assert!(e.to_string().contains("not valid"), "{e}");
    // Tampered tbsResponseData.
    let pos = resp.der.windows(resp.tbs_response_data.len()).position(|w| w == resp.tbs_response_data).unwrap();
    let mut refused = 0;
    for off in (10..resp.tbs_response_data.len()).step_by(5) {
        match OcspResponse::parse(&flip(&resp.der, pos + off)) {
            Ok(t) => {
                if t.verify(&inter, SystemTime::now()).is_err() {
                    refused += 1;
                }
            }
            Err(_) => refused += 1,
        }
    }
    assert_eq!(refused, (10..resp.tbs_response_data.len()).step_by(5).count());
}

#[test]
fn ocsp_signed_by_the_issuer_by_key_and_with_sha256_ids() {
    let inter = der("inter-ca.pem");
    let id = CertId::new(&der("signer-rsa.pem"), &inter, CertIdHash::Sha256).unwrap();
    let req = ocsp::ocsp_request(std::slice::from_ref(&id), None);
    // Signed by the CA itself, responderID byKey, no certificates included.
    let resp = OcspResponse::parse(&ocsp_reply(&req, "inter-ca", &["-resp_key_id", "-resp_no_certs"])).unwrap();
    assert!(matches!(resp.responder_id, ResponderId::ByKey(ref k) if k.len() == 20));
    assert!(resp.certs.is_empty() && resp.nonce.is_none());
    assert_eq!(resp.verify(&inter, SystemTime::now()).unwrap(), inter);
    assert_eq!(resp.status_for(&id).unwrap().status, CertStatus::Good);
    // byKey with the wrong issuer.
    let e = resp.verify(&der("root-ca.pem"), SystemTime::now()).unwrap_err();
    assert!(e.to_string().contains("neither the issuer"), "{e}");
}

#[test]
fn ocsp_responder_without_ocsp_signing_is_refused() {
    let inter = der("inter-ca.pem");
    let id = CertId::new(&der("signer-rsa.pem"), &inter, CertIdHash::Sha1).unwrap();
    let req = ocsp::ocsp_request(std::slice::from_ref(&id), None);
    let resp = OcspResponse::parse(&ocsp_reply(&req, "signer-ec", &[])).unwrap();
    let e = resp.verify(&inter, SystemTime::now()).unwrap_err();
    assert!(e.to_string().contains("id-kp-OCSPSigning"), "{e}");
}

#[test]
fn ocsp_unsuccessful_status_and_hostile_bytes() {
    // OCSPResponse { responseStatus tryLater }
    let e = OcspResponse::parse(&[0x30, 0x03, 0x0a, 0x01, 0x03]).unwrap_err();
    assert!(e.to_string().contains("tryLater"), "{e}");
    let e = OcspResponse::parse(&[0x30, 0x03, 0x0a, 0x01, 0x06]).unwrap_err();
    assert!(e.to_string().contains("unauthorized"), "{e}");
    let inter = der("inter-ca.pem");
    let id = CertId::new(&der("signer-rsa.pem"), &inter, CertIdHash::Sha1).unwrap();
    let good = ocsp_reply(&ocsp::ocsp_request(&[id], Some(&[1, 2, 3])), "ocsp", &[]);
    for len in 0..good.len() {
        assert!(OcspResponse::parse(&good[..len]).is_err());
    }
    let mut x = 0x2545_f491_u32;
    for _ in 0..5000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut t = good.clone();
        let i = x as usize % t.len();
        t[i] = (x >> 8) as u8;
        if let Ok(r) = OcspResponse::parse(&t) {
            let _ = r.verify(&inter, SystemTime::now());
        }
    }
    // A certificate and a wrong "issuer".
    assert!(CertId::new(&der("signer-rsa.pem"), &der("root-ca.pem"), CertIdHash::Sha1).is_err());
}

// ---- CRLs (RFC 5280 §5) ----

fn serial(name: &str) -> Vec<u8> {
    let d = der(name);
    signet_cms::CertView::parse(&d).unwrap().serial_bytes().to_vec()
}

#[test]
fn subject_common_names_are_read_from_the_name_not_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/O=ACME, Inc./CN=Li, Wei", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d = Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(&cert).output().unwrap().stdout;
    assert_eq!(signet_cms::certpath::subject_common_name(&d).as_deref(), Some("Li, Wei"));
    assert_eq!(signet_cms::certpath::subject_common_name(b"not a certificate"), None);
}

#[test]
fn basic_constraints_tell_cas_from_leaves() {
    for (name, ca) in [("root-ca.pem", true), ("inter-ca.pem", true), ("signer-rsa.pem", false), ("tsa.pem", false)] {
        let d = der(name);
        assert_eq!(signet_cms::CertView::parse(&d).unwrap().is_ca(), ca, "{name}");
    }
}

#[test]
fn crl_from_openssl_ca() {
    let inter = der("inter-ca.pem");
    let root = der("root-ca.pem");
    let crl = Crl::parse(&std::fs::read(pki().join("inter-ca.crl.der")).unwrap()).unwrap();
    crl.verify(&inter).unwrap();
    crl.check_usable().unwrap();
    assert_eq!(crl.issuer, signet_cms::CertView::parse(&inter).unwrap().subject);
    let entry = crl.revoked(&serial("signer-revoked.pem")).unwrap();
    assert_eq!(entry.reason, Some(RevocationReason::KeyCompromise));
    assert!(entry.revocation_date <= SystemTime::now());
    assert!(crl.revoked(&serial("signer-rsa.pem")).is_none());
    assert_eq!(crl.revoked.len(), 1);
    assert!(crl.crl_number.is_some());
    assert!(crl.this_update <= SystemTime::now() + Duration::from_secs(5));
    assert!(crl.next_update.unwrap() > SystemTime::now() + Duration::from_secs(86_400 * 3000));
    // Issued by the intermediate, not the root.
    let e = crl.verify(&root).unwrap_err();
    assert!(e.to_string().contains("not by"), "{e}");

    let root_crl = Crl::parse(&std::fs::read(pki().join("root-ca.crl.der")).unwrap()).unwrap();
    root_crl.verify(&root).unwrap();
    assert!(root_crl.revoked.is_empty());
    assert!(root_crl.revoked(&serial("inter-ca.pem")).is_none());

    // Tampered: every flipped byte of the signed part is refused.
    let der_bytes = crl.der.clone();
    let pos = der_bytes.windows(crl.tbs.len()).position(|w| w == crl.tbs).unwrap();
    for off in 0..crl.tbs.len() {
        let t = flip(&der_bytes, pos + off);
        assert!(Crl::parse(&t).and_then(|c| c.verify(&inter)).is_err(), "flipped byte {off} accepted");
    }
    let sig_off = der_bytes.len() - 10;
    assert!(Crl::parse(&flip(&der_bytes, sig_off)).unwrap().verify(&inter).is_err());
}

#[test]
fn crl_with_critical_scope_extension_is_flagged_and_aki_checked() {
    let dir = pki();
    let cnf = std::fs::read_to_string(dir.join("openssl.cnf")).unwrap()
        + "\n[ crl_idp ]\nauthorityKeyIdentifier = keyid:always\nissuingDistributionPoint = critical, @idp\n\
           [ idp ]\nfullname = URI:http://127.0.0.1/partition.crl\nonlyuser = TRUE\n";
    std::fs::write(dir.join("openssl-idp.cnf"), cnf).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("idp.crl");
    openssl_in(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "openssl-idp.cnf",
            "-name",
            "inter_ca",
            "-gencrl",
            "-crlexts",
            "crl_idp",
            "-out",
            out.to_str().unwrap(),
        ],
    );
    let crl_der = openssl_in(dir, &["crl", "-in", out.to_str().unwrap(), "-outform", "DER"]);
    let crl = Crl::parse(&crl_der).unwrap();
    let inter = der("inter-ca.pem");
    crl.verify(&inter).unwrap();
    let ski = signet_cms::CertView::parse(&inter).unwrap().subject_key_id().unwrap().to_vec();
    assert_eq!(crl.authority_key_id.as_deref(), Some(ski.as_slice()));
    assert!(crl.issuing_distribution_point.is_some());
    assert_eq!(crl.unhandled_critical, vec![oid::ObjectIdentifier::new_unwrap("2.5.29.28")]);
    let e = crl.check_usable().unwrap_err();
    assert!(e.to_string().contains("2.5.29.28"), "{e}");
}

#[test]
fn crl_hostile_input_never_panics() {
    let good = std::fs::read(pki().join("inter-ca.crl.der")).unwrap();
    for len in 0..good.len() {
        assert!(Crl::parse(&good[..len]).is_err());
    }
    let inter = der("inter-ca.pem");
    let mut x = 0x1234_5678_u32;
    for _ in 0..5000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut t = good.clone();
        let i = x as usize % t.len();
        t[i] = (x >> 8) as u8;
        if let Ok(c) = Crl::parse(&t) {
            let _ = c.verify(&inter);
            let _ = c.revoked(&[1]);
        }
    }
    let mut noise = vec![0u8; 512];
    for round in 0..2000u32 {
        for (i, b) in noise.iter_mut().enumerate() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = (x >> (i % 24)) as u8;
        }
        noise[0] = 0x30;
        noise[1] = 0x82;
        noise[2] = 0x01;
        noise[3] = 0xfc;
        let _ = Crl::parse(&noise[..(round as usize % 512)]);
        let _ = OcspResponse::parse(&noise[..(round as usize % 512)]);
        let _ = tsp::parse_response(&noise[..(round as usize % 512)]);
    }
}
