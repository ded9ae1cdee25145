//! The OCSP responder and the TSA, built on the peer kit's test PKI, checked by OpenSSL:
//! `openssl ocsp` makes the requests and verifies the responses (statuses, nonce, responder
//! authorisation), `openssl ts` makes the queries and verifies the tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use signet_authority::ocsp::{CertStatus, OcspError, OcspResponder, ResponseStatus, RevocationReason};
use signet_authority::tsa::{FailureInfo, TimestampAuthority, TsaError};
use signet_cms::CertView;
use signet_crypto::asn1::{self, tag};
use signet_crypto::{Identity, certificates_from_pem_or_der};
use signet_testkit::Pki;

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";
/// 2026-01-02 03:04:05 UTC, the revocation time of signer-revoked.
const REVOKED_AT: u64 = 1_767_323_045;

struct Fixture {
    _dir: tempfile::TempDir,
    pki: Pki,
}

/// One PKI for every test (RSA-3072 key generation is slow), with an ECDSA OCSP responder and
/// TSA issued by the intermediate beside the kit's RSA ones.
fn pki() -> &'static Path {
    static PKI: OnceLock<Fixture> = OnceLock::new();
    &PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::make(&dir.path().join("pki"));
        issue_ec(&pki.dir, "ocsp-ec", "extendedKeyUsage = critical,OCSPSigning\nnoCheck = ignored\n");
        issue_ec(&pki.dir, "tsa-ec", "extendedKeyUsage = critical,timeStamping\n");
        Fixture { _dir: dir, pki }
    })
    .pki
    .dir
}

fn issue_ec(dir: &Path, name: &str, ext: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), format!("[v3]\nbasicConstraints = critical,CA:FALSE\n{ext}"))
        .unwrap();
    run(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN=Peer Test {name}"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    run(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "inter-ca.pem",
            "-CAkey",
            "inter-ca.key",
            "-set_serial",
            "0x7e57",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            &format!("{name}.ext"),
            "-extensions",
            "v3",
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// Runs openssl in `dir`; panics with its output unless it succeeds. Returns stdout + stderr.
fn run(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = try_run(dir, args);
    assert!(ok, "openssl {} failed:\n{text}", args.join(" "));
    text
}

fn try_run(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki().join(name)).unwrap()
}

fn cert(name: &str) -> Vec<u8> {
    certificates_from_pem_or_der(&read(name)).unwrap().remove(0)
}

fn serial_of(name: &str) -> Vec<u8> {
    CertView::parse(&cert(name)).unwrap().serial_bytes().to_vec()
}

/// signer-rsa and signer-ec are good, signer-revoked revoked (keyCompromise), any other
/// serial unknown.
fn statuses() -> Arc<dyn signet_authority::ocsp::StatusSource> {
    let good = [serial_of("signer-rsa.pem"), serial_of("signer-ec.pem")];
    let revoked = serial_of("signer-revoked.pem");
    Arc::new(move |serial: &[u8]| {
        if good.iter().any(|g| g == serial) {
            CertStatus::Good
        } else if serial == revoked {
            CertStatus::Revoked {
                time: UNIX_EPOCH + Duration::from_secs(REVOKED_AT),
                reason: Some(RevocationReason::KeyCompromise),
            }
        } else {
            CertStatus::Unknown
        }
    })
}

fn pem_identity(key: &str, cert: &str) -> Identity {
    Identity::from_pem(&read(key), None, &read(cert), None).unwrap()
}

fn responder(key: &str, cert: &str) -> OcspResponder {
    OcspResponder::new(pem_identity(key, cert), &self::cert("inter-ca.pem"), statuses()).unwrap()
}

/// A scratch directory inside the PKI directory, so openssl finds the PKI files by name.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(pki()).unwrap()
}

fn rel(dir: &tempfile::TempDir, name: &str) -> String {
    let p: PathBuf = dir.path().join(name);
    p.to_str().unwrap().to_owned()
}

/// Asks `responder` about `cert_file` through files, like a client would, and returns what
/// `openssl ocsp` says after verifying the response against the root: first against the
/// request, which checks the nonce and prints the response, then against `cert_file`, which
/// prints its status.
fn ask(responder: &OcspResponder, cert_file: &str, extra: &[&str]) -> String {
    let dir = scratch();
    let (q, r) = (rel(&dir, "q.der"), rel(&dir, "r.der"));
    let mut args = vec!["ocsp", "-issuer", "inter-ca.pem"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-cert", cert_file, "-reqout", &q]);
    run(pki(), &args);
    let reply = responder.respond(&std::fs::read(&q).unwrap());
    assert_eq!(reply.status, ResponseStatus::Successful, "{:?}", reply.refusal);
    std::fs::write(&r, &reply.der).unwrap();
    let verify = ["-CAfile", "root-ca.pem", "-verify_other", "inter-ca.pem"];
    // -no_nonce: no second nonce added to the request read; its own is still checked.
    let mut args = vec!["ocsp", "-reqin", &q, "-respin", &r, "-no_nonce", "-resp_text"];
    args.extend_from_slice(&verify);
    let with_request = run(pki(), &args);
    assert!(!with_request.contains("Nonce Verify error") && !with_request.contains("WARNING"), "{with_request}");
    let mut args = vec!["ocsp", "-respin", &r, "-no_nonce", "-issuer", "inter-ca.pem"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-cert", cert_file]);
    args.extend_from_slice(&verify);
    with_request + &run(pki(), &args)
}

#[test]
fn openssl_reads_good_revoked_and_unknown() {
    let responder = responder("ocsp.key", "ocsp.pem");
    let good = ask(&responder, "signer-rsa.pem", &[]);
    assert!(good.contains("Response verify OK"), "{good}");
    assert!(good.contains("signer-rsa.pem: good"), "{good}");
    assert!(good.contains("OCSP Nonce:"), "{good}");
    assert!(good.contains("Next Update:"), "{good}");
    // byKey: the 20 octets of a SHA-1 hash, not a name.
    let id = good.lines().find_map(|l| l.trim().strip_prefix("Responder Id: ")).unwrap();
    assert!(id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");

    let revoked = ask(&responder, "signer-revoked.pem", &[]);
    assert!(revoked.contains("Response verify OK"), "{revoked}");
    assert!(revoked.contains("signer-revoked.pem: revoked"), "{revoked}");
    assert!(revoked.contains("Revocation Reason: keyCompromise"), "{revoked}");
    assert!(revoked.contains("Revocation Time: Jan  2 03:04:05 2026 GMT"), "{revoked}");

    // The TSA certificate is the intermediate's but not in the status source.
    let unknown = ask(&responder, "tsa.pem", &[]);
    assert!(unknown.contains("Response verify OK"), "{unknown}");
    assert!(unknown.contains("tsa.pem: unknown"), "{unknown}");
}

#[test]
fn sha256_cert_ids_ecdsa_responder_and_ca_signed_responses() {
    let ec = responder("ocsp-ec.key", "ocsp-ec.pem");
    let out = ask(&ec, "signer-ec.pem", &["-sha256"]);
    assert!(out.contains("Response verify OK") && out.contains("signer-ec.pem: good"), "{out}");
    assert!(out.contains("ecdsa-with-SHA256"), "{out}");

    let ca = responder("inter-ca.key", "inter-ca.pem");
    let out = ask(&ca, "signer-revoked.pem", &[]);
    assert!(out.contains("Response verify OK") && out.contains("signer-revoked.pem: revoked"), "{out}");
}

#[test]
fn a_tampered_response_does_not_verify() {
    let responder = responder("ocsp.key", "ocsp.pem");
    let dir = scratch();
    let (q, r) = (rel(&dir, "q.der"), rel(&dir, "r.der"));
    run(pki(), &["ocsp", "-issuer", "inter-ca.pem", "-cert", "signer-rsa.pem", "-reqout", &q]);
    let mut der = responder.respond(&std::fs::read(&q).unwrap()).der;
    // The nonce is checked: the untouched response does not answer another request.
    let (q2, r0) = (rel(&dir, "q2.der"), rel(&dir, "r0.der"));
    run(pki(), &["ocsp", "-issuer", "inter-ca.pem", "-cert", "signer-rsa.pem", "-reqout", &q2]);
    std::fs::write(&r0, &der).unwrap();
    let (_, out) = try_run(
        pki(),
        &[
            "ocsp",
            "-reqin",
            &q2,
            "-respin",
            &r0,
            "-no_nonce",
            "-CAfile",
            "root-ca.pem",
            "-verify_other",
            "inter-ca.pem",
        ],
    );
    assert!(out.contains("Nonce Verify error"), "{out}");
    // The good status [0] IMPLICIT NULL becomes unknown [2].
    let at = der.windows(2).position(|w| w == [0x80, 0x00]).unwrap();
    der[at] = 0x82;
    std::fs::write(&r, &der).unwrap();
    let (ok, out) = try_run(
        pki(),
        &[
            "ocsp",
            "-reqin",
            &q,
            "-respin",
            &r,
            "-issuer",
            "inter-ca.pem",
            "-cert",
            "signer-rsa.pem",
            "-CAfile",
            "root-ca.pem",
            "-verify_other",
            "inter-ca.pem",
        ],
    );
    assert!(!ok || !out.contains("Response verify OK"), "{out}");
}

/// An OCSPRequest for `cert_id` (DER) with the given request extensions (DER `Extension`s).
fn request(cert_ids: &[&[u8]], extensions: &[Vec<u8>]) -> Vec<u8> {
    let list: Vec<Vec<u8>> = cert_ids.iter().map(|id| asn1::encode(tag::SEQUENCE, id)).collect();
    let list: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
    let exts: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
    let exts =
        if exts.is_empty() { Vec::new() } else { asn1::encode(tag::CTX2, &asn1::encode_parts(tag::SEQUENCE, &exts)) };
    let tbs = asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_parts(tag::SEQUENCE, &list), &exts]);
    asn1::encode(tag::SEQUENCE, &tbs)
}

fn nonce_extension(len: usize) -> Vec<u8> {
    let value = asn1::encode(tag::OCTET_STRING, &vec![0x5a; len]);
    asn1::encode_parts(
        tag::SEQUENCE,
        &[&asn1::encode_oid(&signet_cms::oid::OCSP_NONCE), &asn1::encode(tag::OCTET_STRING, &value)],
    )
}

/// The first CertID of an openssl-made request for `cert_file`.
fn cert_id(cert_file: &str, issuer: &str) -> Vec<u8> {
    let dir = scratch();
    let q = rel(&dir, "q.der");
    run(pki(), &["ocsp", "-issuer", issuer, "-cert", cert_file, "-no_nonce", "-reqout", &q]);
    let der = std::fs::read(&q).unwrap();
    let outer = asn1::parse_single(&der).unwrap();
    let tbs = outer.reader().read().unwrap();
    let list = tbs.reader().read_expect(tag::SEQUENCE).unwrap();
    let req = list.reader().read().unwrap();
    req.reader().read().unwrap().raw.to_vec()
}

#[test]
fn answers_without_nonce_are_cached_until_next_update() {
    let responder = responder("ocsp.key", "ocsp.pem").with_validity(Duration::from_secs(600));
    let id = cert_id("signer-rsa.pem", "inter-ca.pem");
    let plain = request(&[&id], &[]);
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let first = responder.respond_at(&plain, t0);
    assert_eq!(first.next_update, Some(t0 + Duration::from_secs(600)));
    // RSA PKCS#1 v1.5 is deterministic: a different producedAt is what would tell a fresh answer.
    let later = responder.respond_at(&plain, t0 + Duration::from_secs(599));
    assert_eq!(later.der, first.der);
    let expired = responder.respond_at(&plain, t0 + Duration::from_secs(600));
    assert_ne!(expired.der, first.der);
    assert_eq!(expired.next_update, Some(t0 + Duration::from_secs(1200)));

    let with_nonce = request(&[&id], &[nonce_extension(16)]);
    let a = responder.respond_at(&with_nonce, t0 + Duration::from_secs(601));
    let b = responder.respond_at(&with_nonce, t0 + Duration::from_secs(602));
    assert_ne!(a.der, b.der, "an answer to a nonce must be fresh");
    assert!(a.der.windows(18).any(|w| w == [&[0x04, 0x10][..], &[0x5a; 16]].concat()));

    responder.clear_cache();
    let cleared = responder.respond_at(&plain, t0 + Duration::from_secs(700));
    assert_ne!(cleared.der, expired.der);
}

#[test]
fn get_requests_are_answered_like_posts() {
    let responder = responder("ocsp.key", "ocsp.pem");
    let id = cert_id("signer-revoked.pem", "inter-ca.pem");
    let der = request(&[&id], &[]);
    let encoded = base64(&der).replace('/', "%2F").replace('+', "%2B").replace('=', "%3D");
    let by_get = responder.respond_get(&encoded);
    assert_eq!(by_get.status, ResponseStatus::Successful);
    assert_eq!(by_get.der, responder.respond(&der).der, "the second is the cached first");
    assert_eq!(responder.respond_get("not base64!").status, ResponseStatus::MalformedRequest);
}

#[test]
fn hostile_and_refused_ocsp_requests() {
    let responder = responder("ocsp.key", "ocsp.pem");
    let id = cert_id("signer-rsa.pem", "inter-ca.pem");
    let good = request(&[&id], &[nonce_extension(32)]);
    assert_eq!(responder.respond(&good).status, ResponseStatus::Successful);
    for n in 0..good.len() {
        let reply = responder.respond(&good[..n]);
        assert_eq!(reply.status, ResponseStatus::MalformedRequest, "truncated at {n}");
        assert_eq!(reply.der, [0x30, 0x03, 0x0a, 0x01, 0x01]);
    }
    let mut flipped = good.clone();
    for i in 0..flipped.len() {
        flipped[i] ^= 0xff;
        let _ = responder.respond(&flipped); // must not panic
        flipped[i] ^= 0xff;
    }
    assert_eq!(responder.respond(b"GET / HTTP/1.1").status, ResponseStatus::MalformedRequest);
    let long_nonce = request(&[&id], &[nonce_extension(33)]);
    assert_eq!(responder.respond(&long_nonce).status, ResponseStatus::MalformedRequest);
    let critical = asn1::encode_parts(
        tag::SEQUENCE,
        &[
            &asn1::encode_oid(&signet_cms::oid::OCSP_NOCHECK),
            &[tag::BOOLEAN, 1, 0xff],
            &asn1::encode(tag::OCTET_STRING, &[tag::NULL, 0]),
        ],
    );
    assert_eq!(responder.respond(&request(&[&id], &[critical])).status, ResponseStatus::MalformedRequest);
    let too_many: Vec<&[u8]> = vec![&id; 33];
    assert_eq!(responder.respond(&request(&too_many, &[])).status, ResponseStatus::MalformedRequest);

    // The intermediate's own certificate is the root's: not served here.
    let other = cert_id("inter-ca.pem", "root-ca.pem");
    let reply = responder.respond(&request(&[&other], &[]));
    assert_eq!(reply.status, ResponseStatus::Unauthorized);
    assert_eq!(reply.der, [0x30, 0x03, 0x0a, 0x01, 0x06]);
    assert_eq!(responder.respond(&request(&[&id, &other], &[])).status, ResponseStatus::Unauthorized);
}

#[test]
fn only_delegated_ocsp_signers_are_accepted() {
    let issuer = cert("inter-ca.pem");
    // The TSA certificate is issued by the CA but lacks id-kp-OCSPSigning.
    let tsa = Identity::from_pkcs12(&read("tsa.p12"), "peer-test").unwrap();
    let err = OcspResponder::new(tsa, &issuer, statuses()).unwrap_err();
    assert!(matches!(err, OcspError::NotAuthorized(_)), "{err}");
    // The responder of the intermediate cannot answer for the root.
    let err = OcspResponder::new(pem_identity("ocsp.key", "ocsp.pem"), &cert("root-ca.pem"), statuses()).unwrap_err();
    assert!(matches!(err, OcspError::NotAuthorized(_)), "{err}");
}

fn tsa(p12_or_key: &str) -> TimestampAuthority {
    let identity = if p12_or_key.ends_with(".p12") {
        Identity::from_pkcs12(&read(p12_or_key), "peer-test").unwrap()
    } else {
        let pem = p12_or_key.replace(".key", ".pem");
        Identity::from_pem(&read(p12_or_key), None, &read(&pem), Some(&read("chain.pem"))).unwrap()
    };
    TimestampAuthority::new(identity, POLICY.parse().unwrap()).unwrap()
}

/// Queries `tsa` with `openssl ts -query` (arguments `query_args`) over a data file; returns
/// the scratch directory holding `data`, `q.tsq` and `r.tsr`, and the reply.
fn stamp(tsa: &TimestampAuthority, query_args: &[&str]) -> (tempfile::TempDir, signet_authority::tsa::TimestampReply) {
    let dir = scratch();
    std::fs::write(dir.path().join("data"), b"the document to time-stamp\n").unwrap();
    let (data, q) = (rel(&dir, "data"), rel(&dir, "q.tsq"));
    let mut args = vec!["ts", "-query", "-data", &data, "-out", &q];
    args.extend_from_slice(query_args);
    run(pki(), &args);
    let reply = tsa.respond(&std::fs::read(&q).unwrap());
    std::fs::write(dir.path().join("r.tsr"), &reply.der).unwrap();
    (dir, reply)
}

#[test]
fn openssl_ts_verify_accepts_tokens() {
    let rsa = tsa("tsa.p12");
    let (dir, reply) = stamp(&rsa, &["-sha256", "-cert"]);
    assert!(reply.refusal.is_none(), "{:?}", reply.refusal);
    let (data, r, q) = (rel(&dir, "data"), rel(&dir, "r.tsr"), rel(&dir, "q.tsq"));
    let text = run(pki(), &["ts", "-reply", "-in", &r, "-text"]);
    assert!(text.contains("Status: Granted."), "{text}");
    assert!(text.contains(&format!("Policy OID: {POLICY}")), "{text}");
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Accuracy: 0x01 seconds, unspecified millis, unspecified micros"), "{text}");
    assert!(text.contains("Ordering: no"), "{text}");
    assert!(text.contains("Nonce: 0x"), "{text}");
    assert!(text.contains("TSA: unspecified"), "{text}");
    let out =
        run(pki(), &["ts", "-verify", "-data", &data, "-in", &r, "-CAfile", "root-ca.pem", "-untrusted", "chain.pem"]);
    assert!(out.contains("Verification: OK"), "{out}");
    // Nonce, imprint and policy against the query.
    let out = run(
        pki(),
        &["ts", "-verify", "-queryfile", &q, "-in", &r, "-CAfile", "root-ca.pem", "-untrusted", "chain.pem"],
    );
    assert!(out.contains("Verification: OK"), "{out}");
    // Signet's own CMS reader agrees: signature, message digest over the TSTInfo, ESS v2.
    let resp = asn1::parse_single(&reply.der).unwrap();
    let mut fields = resp.reader();
    fields.read_expect(tag::SEQUENCE).unwrap();
    let token = fields.read_expect(tag::SEQUENCE).unwrap().raw;
    let parsed = signet_cms::ParsedSignedData::parse(token).unwrap();
    assert_eq!(parsed.content_type, signet_cms::oid::TST_INFO);
    let tst_info = parsed.econtent.clone().unwrap();
    parsed.verify_signature().unwrap();
    parsed.check_message_digest(&parsed.digest_algorithm().unwrap().digest(&tst_info)).unwrap();
    parsed.check_signing_certificate_v2().unwrap();
    // Other data does not verify.
    std::fs::write(dir.path().join("data"), b"another document\n").unwrap();
    let (ok, out) = try_run(
        pki(),
        &["ts", "-verify", "-data", &data, "-in", &r, "-CAfile", "root-ca.pem", "-untrusted", "chain.pem"],
    );
    assert!(!ok && !out.contains("Verification: OK"), "{out}");
}

#[test]
fn ecdsa_tsa_with_name_accuracy_and_stronger_digests() {
    let ec = tsa("tsa-ec.key").with_accuracy(Duration::from_millis(1500)).with_tsa_name(true);
    for digest in ["-sha384", "-sha512"] {
        let (dir, reply) = stamp(&ec, &[digest, "-cert", "-tspolicy", POLICY]);
        assert!(reply.refusal.is_none(), "{:?}", reply.refusal);
        let (data, r) = (rel(&dir, "data"), rel(&dir, "r.tsr"));
        let text = run(pki(), &["ts", "-reply", "-in", &r, "-text"]);
        assert!(text.contains("Accuracy: 0x01 seconds, 0x01F4 millis, unspecified micros"), "{text}");
        assert!(text.contains("TSA: DirName:/CN=Peer Test tsa-ec"), "{text}");
        let out = run(
            pki(),
            &["ts", "-verify", "-data", &data, "-in", &r, "-CAfile", "root-ca.pem", "-untrusted", "chain.pem"],
        );
        assert!(out.contains("Verification: OK"), "{out}");
    }
}

#[test]
fn without_cert_req_the_token_holds_no_certificate() {
    let rsa = tsa("tsa.p12");
    let (dir, reply) = stamp(&rsa, &["-sha256", "-no_nonce"]);
    assert!(reply.refusal.is_none(), "{:?}", reply.refusal);
    let cert_der = cert("tsa.pem");
    assert!(!reply.der.windows(cert_der.len()).any(|w| w == cert_der), "certificate included without certReq");
    let untrusted = dir.path().join("untrusted.pem");
    std::fs::write(&untrusted, [read("tsa.pem"), read("inter-ca.pem")].concat()).unwrap();
    let (data, r) = (rel(&dir, "data"), rel(&dir, "r.tsr"));
    let out = run(
        pki(),
        &[
            "ts",
            "-verify",
            "-data",
            &data,
            "-in",
            &r,
            "-CAfile",
            "root-ca.pem",
            "-untrusted",
            untrusted.to_str().unwrap(),
        ],
    );
    assert!(out.contains("Verification: OK"), "{out}");
}

#[test]
fn serial_numbers_differ() {
    let rsa = tsa("tsa.p12");
    let serial = |reply: &signet_authority::tsa::TimestampReply, dir: &tempfile::TempDir| {
        let text = run(pki(), &["ts", "-reply", "-in", &rel(dir, "r.tsr"), "-text"]);
        assert!(reply.refusal.is_none());
        text.lines().find(|l| l.starts_with("Serial number:")).unwrap().to_owned()
    };
    let (d1, r1) = stamp(&rsa, &["-sha256"]);
    let (d2, r2) = stamp(&rsa, &["-sha256"]);
    assert_ne!(serial(&r1, &d1), serial(&r2, &d2));
}

#[test]
fn weak_digests_other_policies_and_hostile_queries_are_refused() {
    let rsa = tsa("tsa.p12");
    let (dir, reply) = stamp(&rsa, &["-sha1", "-cert"]);
    assert_eq!(reply.refusal.map(|r| r.failure), Some(FailureInfo::BadAlg));
    let text = run(pki(), &["ts", "-reply", "-in", &rel(&dir, "r.tsr"), "-text"]);
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(text.contains("unrecognized or unsupported algorithm identifier"), "{text}");
    assert!(text.contains("TST info:\nNot included."), "{text}");

    let (dir, reply) = stamp(&rsa, &["-sha256", "-tspolicy", "1.3.6.1.4.1.99999.1.2"]);
    assert_eq!(reply.refusal.map(|r| r.failure), Some(FailureInfo::UnacceptedPolicy));
    let text = run(pki(), &["ts", "-reply", "-in", &rel(&dir, "r.tsr"), "-text"]);
    assert!(text.contains("the requested TSA policy is not supported by the TSA"), "{text}");

    let (dir, reply) = stamp(&rsa, &["-md5"]);
    assert_eq!(reply.refusal.map(|r| r.failure), Some(FailureInfo::BadAlg));
    let query = std::fs::read(dir.path().join("q.tsq")).unwrap();
    for n in 0..query.len() {
        let reply = rsa.respond(&query[..n]);
        assert_eq!(reply.refusal.map(|r| r.failure), Some(FailureInfo::BadDataFormat), "truncated at {n}");
    }
    assert_eq!(rsa.respond(b"\x30\x03\x02\x01\x01").refusal.map(|r| r.failure), Some(FailureInfo::BadDataFormat));
    let mut flipped = query.clone();
    for i in 0..flipped.len() {
        flipped[i] ^= 0xff;
        let _ = rsa.respond(&flipped); // must not panic
        flipped[i] ^= 0xff;
    }

    // A SHA-256 imprint of 20 octets; then a version 2 query; then one with an extension.
    let imprint = |len: usize| {
        let alg = asn1::encode(tag::SEQUENCE, &asn1::encode_oid(&signet_crypto::DigestAlgorithm::Sha256.oid()));
        asn1::encode_parts(tag::SEQUENCE, &[&alg, &asn1::encode(tag::OCTET_STRING, &vec![1; len])])
    };
    let query = |version: u64, len: usize, tail: &[u8]| {
        asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_small_uint(version), &imprint(len), tail])
    };
    let refused = |q: Vec<u8>| rsa.respond(&q).refusal.map(|r| r.failure);
    assert_eq!(refused(query(1, 32, &[])), None);
    assert_eq!(refused(query(1, 20, &[])), Some(FailureInfo::BadDataFormat));
    assert_eq!(refused(query(2, 32, &[])), Some(FailureInfo::BadRequest));
    let ext = asn1::encode(
        tag::CTX0,
        &asn1::encode_parts(
            tag::SEQUENCE,
            &[&asn1::encode_oid(&signet_cms::oid::OCSP_NONCE), &asn1::encode(tag::OCTET_STRING, &[5, 0])],
        ),
    );
    assert_eq!(refused(query(1, 32, &ext)), Some(FailureInfo::UnacceptedExtension));
    assert_eq!(refused(query(1, 32, &asn1::encode(tag::INTEGER, &[0; 65]))), Some(FailureInfo::BadDataFormat));
}

#[test]
fn only_time_stamping_certificates_make_a_tsa() {
    let signer = Identity::from_pkcs12(&read("signer-rsa.p12"), "peer-test").unwrap();
    let err = TimestampAuthority::new(signer, POLICY.parse().unwrap()).unwrap_err();
    assert!(matches!(err, TsaError::NotATimestampingCertificate(_)), "{err}");
    let ocsp = pem_identity("ocsp.key", "ocsp.pem");
    assert!(TimestampAuthority::new(ocsp, POLICY.parse().unwrap()).is_err());
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
