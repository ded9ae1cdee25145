//! [`Pkcs11Key`] against a real SoftHSM2 token: the signer keys of a `make_pki.sh` PKI are
//! imported with `softhsm2-util`, signatures made on the token are verified against the
//! certificates' public keys (PKCS#1 v1.5, PSS, ECDSA on P-256 and P-384, every digest), and
//! errors name what is wrong.
//!
//! SoftHSM2 finds its tokens through `SOFTHSM2_CONF`, read once when the module is
//! initialised, and the environment of a running test binary cannot be changed safely. So
//! `softhsm2_token` builds the token store and runs this test binary again with
//! `SOFTHSM2_CONF` set, selecting the `on_token::` tests (ignored in ordinary runs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use signet_testkit::{Pki, SoftHsm, softhsm_module_or_skip};

const TOKEN: &str = "signet-test";
const PIN: &str = "4711-pin";
const OTHER_TOKEN: &str = "signet-other";
const OTHER_PIN: &str = "other-pin";
/// The number of `on_token::` tests; the child run must pass exactly these.
const ON_TOKEN_TESTS: usize = 7;

#[test]
fn softhsm2_token() {
    let Some(module) = softhsm_module_or_skip("softhsm2_token") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let extra = tmp.path().join("keys");
    std::fs::create_dir(&extra).unwrap();
    let genpkey = |name: &str, opts: &[&str]| {
        let out = extra.join(name);
        let st = Command::new("openssl")
            .arg("genpkey")
            .args(opts)
            .arg("-out")
            .arg(&out)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl genpkey {opts:?}");
        out
    };
    let p384 = genpkey("p384.key", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]);
    let rsa1024 = genpkey("rsa1024.key", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]);

    let hsm = SoftHsm::new(&tmp.path().join("softhsm"), module.clone());
    hsm.init_token(TOKEN, "so-pin-1234", PIN);
    hsm.import_key(TOKEN, PIN, &pki.dir.join("signer-rsa.key"), "signer-rsa", "01");
    hsm.import_key(TOKEN, PIN, &pki.dir.join("signer-ec.key"), "signer-ec", "02");
    hsm.import_key(TOKEN, PIN, &p384, "p384", "03");
    hsm.import_key(TOKEN, PIN, &rsa1024, "weak", "04");
    hsm.init_token(OTHER_TOKEN, "so-pin-5678", OTHER_PIN);

    let (var, conf) = hsm.env();
    let child = |args: &[&str], tests: usize| {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(args)
            .args(["--ignored", "--nocapture"])
            .env(var, conf)
            .env("SIGNET_TEST_PKCS11_MODULE", &module)
            .env("SIGNET_TEST_PKCS11_PKI", &pki.dir)
            .env("SIGNET_TEST_PKCS11_P384", &p384)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "the on-token tests {args:?} failed");
        let expected = format!("test result: ok. {tests} passed; 0 failed");
        assert!(stdout.contains(&expected), "expected '{expected}'");
    };
    // Objects are created on the token before anything else uses it: SoftHSM2's file store
    // can fail C_CreateObject with CKR_GENERAL_ERROR while other threads use the same token
    // (SoftHSMv2 issue 573), which is the store's limit, not Signet's.
    child(&["prepare::", "--test-threads", "1"], 1);
    child(&["on_token::", "--test-threads", "4"], ON_TOKEN_TESTS);
}

/// Runs alone inside `softhsm2_token`'s child process, before `on_token`.
mod prepare {
    #[test]
    #[ignore = "runs inside softhsm2_token"]
    fn store_signer_ec_certificate() {
        super::on_token::store_certificate(&super::on_token::cert("signer-ec.pem"), &[2], "signer-ec");
    }
}

/// Runs only inside `softhsm2_token`'s child process, where `SOFTHSM2_CONF` names its token
/// store.
mod on_token {
    use std::sync::Arc;
    use std::time::Instant;

    use signet_crypto::asn1::{self, tag};
    use signet_crypto::{
        DigestAlgorithm, Error, Identity, KeyKind, KeyRef, Pkcs11Key, SignatureAlgorithm, SignatureScheme, Signer,
        TokenRef, certificate_spki, certificates_from_pem_or_der, verify_signature,
    };

    use super::*;

    fn env(name: &str) -> PathBuf {
        std::env::var_os(name)
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("{name} is not set: these tests run inside softhsm2_token"))
    }

    fn module() -> PathBuf {
        env("SIGNET_TEST_PKCS11_MODULE")
    }

    fn pki(name: &str) -> Vec<u8> {
        std::fs::read(env("SIGNET_TEST_PKCS11_PKI").join(name)).unwrap()
    }

    pub(super) fn cert(name: &str) -> Vec<u8> {
        certificates_from_pem_or_der(&pki(name)).unwrap().remove(0)
    }

    fn open(key: KeyRef) -> Pkcs11Key {
        Pkcs11Key::open(&module(), &TokenRef::Label(TOKEN.into()), &key, PIN).unwrap()
    }

    fn label(l: &str) -> KeyRef {
        KeyRef::Label(l.into())
    }

    /// Signs with every digest under `scheme` and checks each signature with `spki`.
    fn sign_and_verify(key: &dyn Signer, spki: &[u8], scheme: SignatureScheme) {
        for digest in DigestAlgorithm::ALL {
            let msg = format!("signed attributes stand-in, {digest}");
            let sig = key.sign(scheme, digest, msg.as_bytes()).unwrap();
            assert!(sig.len() <= key.max_signature_len(), "{scheme:?}/{digest}: {} bytes", sig.len());
            let alg = SignatureAlgorithm::new(scheme, digest);
            verify_signature(spki, &alg, msg.as_bytes(), &sig).unwrap_or_else(|e| panic!("{scheme:?}/{digest}: {e}"));
            assert!(
                matches!(verify_signature(spki, &alg, b"another message", &sig), Err(Error::BadSignature)),
                "{scheme:?}/{digest}: a signature over another message verified"
            );
        }
    }

    #[test]
    #[ignore = "runs inside softhsm2_token"]
    fn rsa_pkcs1_v15_and_pss() {
        let key = open(label("signer-rsa"));
        assert_eq!(key.key_kind(), KeyKind::Rsa { bits: 2048 });
        assert_eq!(key.id(), [1]);
        let certificate = cert("signer-rsa.pem");
        let spki = certificate_spki(&certificate).unwrap();
        sign_and_verify(&key, spki, SignatureScheme::RsaPkcs1v15);
        sign_and_verify(&key, spki, SignatureScheme::RsaPss);
        // PKCS#1 v1.5 is deterministic: the token's signature is the software key's, byte for byte.
        let software = Identity::from_pem(&pki("signer-rsa.key"), None, &pki("signer-rsa.pem"), None).unwrap();
        for digest in DigestAlgorithm::ALL {
            let on_token = key.sign(SignatureScheme::RsaPkcs1v15, digest, b"same input").unwrap();
            let in_memory = software.signer.sign(SignatureScheme::RsaPkcs1v15, digest, b"same input").unwrap();
            assert_eq!(on_token, in_memory, "{digest}");
        }
        assert!(matches!(
            key.sign(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256, b"x"),
            Err(Error::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    #[ignore = "runs inside softhsm2_token"]
    fn ecdsa_p256_by_id() {
        let key = open(KeyRef::Id(vec![2]));
        assert_eq!(key.key_kind(), KeyKind::EcP256);
        assert_eq!(key.label(), "signer-ec");
        let certificate = cert("signer-ec.pem");
        sign_and_verify(&key, certificate_spki(&certificate).unwrap(), SignatureScheme::Ecdsa);
    }

    #[test]
    #[ignore = "runs inside softhsm2_token"]
    fn ecdsa_p384_with_shorter_and_longer_digests() {
        let key = open(label("p384"));
        assert_eq!(key.key_kind(), KeyKind::EcP384);
        // the public key from the PEM key, through a self-signed certificate made by openssl
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("p384.pem");
        let st = Command::new("openssl")
            .args(["req", "-new", "-x509", "-subj", "/CN=P-384 test", "-days", "2", "-key"])
            .arg(env("SIGNET_TEST_PKCS11_P384"))
            .arg("-out")
            .arg(&pem)
            .status()
            .unwrap();
        assert!(st.success());
        let certificate = certificates_from_pem_or_der(&std::fs::read(&pem).unwrap()).unwrap().remove(0);
        sign_and_verify(&key, certificate_spki(&certificate).unwrap(), SignatureScheme::Ecdsa);
    }

    #[test]
    #[ignore = "runs inside softhsm2_token"]
    fn identity_from_files_and_from_the_token() {
        // certificate and chain from files, in any order
        let mut files = certificates_from_pem_or_der(&pki("chain.pem")).unwrap();
        files.reverse();
        files.push(cert("signer-rsa.pem"));
        let id = Identity::from_pkcs11(open(label("signer-rsa")), files).unwrap();
        assert_eq!(id.certificate, cert("signer-rsa.pem"));
        assert_eq!(id.chain, certificates_from_pem_or_der(&pki("chain.pem")).unwrap(), "issuer upward");

        // a certificate that is not the key's
        let err = Identity::from_pkcs11(open(label("signer-rsa")), vec![cert("signer-ec.pem")]).unwrap_err();
        assert!(matches!(err, Error::KeyMismatch), "{err}");
        // no certificate anywhere (the token holds one for signer-ec only)
        let err = Identity::from_pkcs11(open(label("signer-rsa")), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("no certificate given"), "{err}");

        // the certificate stored on the token with the key's CKA_ID (Base §4.6.3), by
        // `prepare::store_signer_ec_certificate`
        let id = Identity::from_pkcs11(open(label("signer-ec")), Vec::new()).unwrap();
        assert_eq!(id.certificate, cert("signer-ec.pem"));
        assert!(id.chain.is_empty());
        let chain = certificates_from_pem_or_der(&pki("chain.pem")).unwrap();
        let id = Identity::from_pkcs11(open(label("signer-ec")), chain.clone()).unwrap();
        assert_eq!((id.certificate, id.chain), (cert("signer-ec.pem"), chain));
    }

    /// A cryptoki context of its own on the module (the process shares one initialisation) and
    /// the slot of `TOKEN`.
    fn token_slot() -> (cryptoki::context::Pkcs11, cryptoki::slot::Slot) {
        use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
        let ctx = Pkcs11::new(module()).unwrap();
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => panic!("{e}"),
        }
        let slot = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).unwrap().label() == TOKEN)
            .unwrap();
        (ctx, slot)
    }

    /// Creates a `CKO_CERTIFICATE` object on the token (softhsm2-util cannot import one).
    pub(super) fn store_certificate(der: &[u8], id: &[u8], label: &str) {
        use cryptoki::object::{Attribute, CertificateType, ObjectClass};
        use cryptoki::session::UserType;
        use cryptoki::types::AuthPin;

        let (ctx, slot) = token_slot();
        let session = ctx.open_rw_session(slot).unwrap();
        match session.login(UserType::User, Some(&AuthPin::new(PIN.into()))) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("{e}"),
        }
        // tbsCertificate.subject (RFC 5280 §4.1), required by Base §4.6.3
        let cert = asn1::parse_single(der).unwrap();
        let tbs = cert.reader().read_expect(tag::SEQUENCE).unwrap();
        let mut r = tbs.reader();
        r.read_optional(tag::CTX0).unwrap();
        for _ in 0..4 {
            r.read().unwrap(); // serial, signature, issuer, validity
        }
        let subject = r.read_expect(tag::SEQUENCE).unwrap().raw.to_vec();
        session
            .create_object(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::CertificateType(CertificateType::X_509),
                Attribute::Token(true),
                Attribute::Id(id.to_vec()),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Subject(subject),
                Attribute::Value(der.to_vec()),
            ])
            .unwrap();
    }

    #[test]
    #[ignore = "runs inside softhsm2_token"]
    fn errors_name_the_problem() {
        let m = module();
        let token = TokenRef::Label(TOKEN.into());
        let err = |r: Result<Pkcs11Key, Error>| r.unwrap_err();

        let e = err(Pkcs11Key::open(Path::new("/nonexistent/libpkcs11.so"), &token, &label("signer-rsa"), PIN));
        assert!(matches!(e, Error::Token(_)) && e.to_string().contains("/nonexistent/libpkcs11.so"), "{e}");

        let e = err(Pkcs11Key::open(&m, &TokenRef::Label("no-such-token".into()), &label("signer-rsa"), PIN));
        let msg = e.to_string();
        assert!(msg.contains("no token labelled 'no-such-token'"), "{msg}");
        assert!(msg.contains(&format!("'{TOKEN}'")) && msg.contains(&format!("'{OTHER_TOKEN}'")), "{msg}");

        let e = err(Pkcs11Key::open(&m, &TokenRef::Slot(987_654), &label("signer-rsa"), PIN));
        assert!(e.to_string().contains("no token in slot 987654"), "{e}");

        let e = err(Pkcs11Key::open(&m, &token, &label("no-such-key"), PIN));
        let msg = e.to_string();
        assert!(msg.contains("no private key labelled 'no-such-key'"), "{msg}");
        assert!(msg.contains("'signer-rsa' (id 01)") && msg.contains("'signer-ec' (id 02)"), "{msg}");

        let e = err(Pkcs11Key::open(&m, &token, &KeyRef::Id(vec![0x7f]), PIN));
        assert!(e.to_string().contains("no private key with id 7f"), "{e}");

        let e = err(Pkcs11Key::open(&m, &token, &label("weak"), PIN));
        assert!(matches!(e, Error::WeakKey(_)), "{e}");

        // a token nobody is logged in to: the token itself refuses the PIN
        let other = TokenRef::Label(OTHER_TOKEN.into());
        let e = err(Pkcs11Key::open(&m, &other, &label("any"), "wrong-pin"));
        assert!(matches!(&e, Error::WrongPin { token } if token == OTHER_TOKEN), "{e}");
        let e = err(Pkcs11Key::open(&m, &other, &label("any"), OTHER_PIN));
        assert!(e.to_string().contains("private keys: none"), "{e}");

        // a token this process is logged in to answers CKR_USER_ALREADY_LOGGED_IN whatever
        // the PIN: the wrong PIN must still be refused
        let _open = open(label("signer-ec"));
        let e = err(Pkcs11Key::open(&m, &token, &label("signer-rsa"), "wrong-pin"));
        assert!(matches!(&e, Error::WrongPin { token } if token == TOKEN), "{e}");
        assert_eq!(e.to_string(), format!("PKCS#11: wrong PIN for the token '{TOKEN}'"));
    }

    #[test]
    #[ignore = "runs inside softhsm2_token"]
    fn concurrent_signing_shares_one_key() {
        let key = Arc::new(open(label("signer-ec")));
        let certificate = cert("signer-ec.pem");
        let spki = certificate_spki(&certificate).unwrap();
        let alg = SignatureAlgorithm::new(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256);
        let per_thread = 50;
        let started = Instant::now();
        for i in 0..per_thread {
            key.sign(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256, format!("one thread {i}").as_bytes()).unwrap();
        }
        let one = per_thread as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        std::thread::scope(|s| {
            for t in 0..4 {
                let key = Arc::clone(&key);
                s.spawn(move || {
                    for i in 0..per_thread {
                        let msg = format!("thread {t} message {i}");
                        let sig = key.sign(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256, msg.as_bytes()).unwrap();
                        verify_signature(spki, &alg, msg.as_bytes(), &sig).unwrap();
                    }
                });
            }
        });
        let n = 4 * per_thread;
        let four = n as f64 / started.elapsed().as_secs_f64();
        println!("P-256 signatures on the token: {one:.0}/s on one thread, {four:.0}/s on 4 threads");
        let idle = key.idle_sessions();
        assert!((1..=4).contains(&idle), "{idle} pooled sessions after 4 threads");
    }

    #[test]
    #[ignore = "runs inside softhsm2_token"]
    fn two_keys_of_one_token_and_by_slot() {
        let rsa = open(label("signer-rsa"));
        let ec = open(label("signer-ec"));
        drop(rsa); // closing one key's sessions must not log the other out
        let certificate = cert("signer-ec.pem");
        sign_and_verify(&ec, certificate_spki(&certificate).unwrap(), SignatureScheme::Ecdsa);
        assert_eq!(ec.token_label(), TOKEN);
        let slot = token_slot().1.id();
        let by_slot = Pkcs11Key::open(&module(), &TokenRef::Slot(slot), &label("signer-rsa"), PIN).unwrap();
        assert_eq!(by_slot.token_label(), TOKEN);
        let dbg = format!("{ec:?}");
        assert!(dbg.contains("signer-ec") && !dbg.contains(PIN), "{dbg}");
    }
}
