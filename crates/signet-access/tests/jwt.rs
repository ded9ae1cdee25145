//! JWT login against a JWKS served on 127.0.0.1: every algorithm, every refusal, key
//! rotation, and how often the issuer is asked for its keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use signet_access::Error;
use signet_access::jwt::{Algorithm, HttpJwks, Jwks, JwksCache, JwtIssuer, JwtVerifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ISSUER: &str = "https://idp.example.com/realms/acme";
const AUDIENCE: &str = "signet";
/// The time of the tests; tokens are made around it.
const T0: u64 = 1_700_000_000;

fn at(seconds_after_t0: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + seconds_after_t0)
}

// ---------------------------------------------------------------------------------------
// Keys and tokens

enum TestKey {
    Rsa(RsaKeyPair),
    P256(EcdsaKeyPair),
    P384(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

struct Keys {
    rsa_a: TestKey,
    rsa_b: TestKey,
    p256: TestKey,
    p384: TestKey,
    ed25519: TestKey,
}

/// Generated once: RSA key generation is slow.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa_a: TestKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
        rsa_b: TestKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
        p256: TestKey::P256(EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap()),
        p384: TestKey::P384(EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap()),
        ed25519: TestKey::Ed25519(Ed25519KeyPair::generate().unwrap()),
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    /// The public key as a JWK (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2).
    fn jwk(&self, kid: &str) -> Value {
        match self {
            TestKey::Rsa(key) => {
                let (n, e) = rsa_public_key(key.public_key().as_ref());
                json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&n), "e": b64(&e)})
            }
            TestKey::P256(key) | TestKey::P384(key) => {
                let point = key.public_key().as_ref();
                assert_eq!(point[0], 0x04, "uncompressed point");
                let half = (point.len() - 1) / 2;
                let crv = if half == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "kid": kid, "crv": crv, "x": b64(&point[1..1 + half]), "y": b64(&point[1 + half..])})
            }
            TestKey::Ed25519(key) => {
                json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(key.public_key().as_ref())})
            }
        }
    }

    fn sign(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            TestKey::Rsa(key) => {
                let encoding: &'static dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(encoding, &rng, input, &mut sig).unwrap();
                sig
            }
            TestKey::P256(key) | TestKey::P384(key) => key.sign(&rng, input).unwrap().as_ref().to_vec(),
            TestKey::Ed25519(key) => key.sign(input).as_ref().to_vec(),
        }
    }
}

/// n and e from a DER RSAPublicKey (RFC 8017 Appendix A.1.1): SEQUENCE { INTEGER, INTEGER }.
fn rsa_public_key(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn tlv(bytes: &[u8]) -> (u8, &[u8], &[u8]) {
        let (len, header) = if bytes[1] < 0x80 {
            (usize::from(bytes[1]), 2)
        } else {
            let count = usize::from(bytes[1] & 0x7f);
            (bytes[2..2 + count].iter().fold(0usize, |len, b| len << 8 | usize::from(*b)), 2 + count)
        };
        (bytes[0], &bytes[header..header + len], &bytes[header + len..])
    }
    let (tag, sequence, _) = tlv(der);
    assert_eq!(tag, 0x30);
    let (tag, n, rest) = tlv(sequence);
    assert_eq!(tag, 0x02);
    let (tag, e, _) = tlv(rest);
    assert_eq!(tag, 0x02);
    let strip = |int: &[u8]| int.iter().skip_while(|b| **b == 0).copied().collect::<Vec<u8>>();
    (strip(n), strip(e))
}

/// A signed token with this header and these claims.
fn token(key: &TestKey, header: Value, claims: Value) -> String {
    let alg = header["alg"].as_str().unwrap_or("RS256").to_string();
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = key.sign(&alg, input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// Claims that pass every check at `at(0)`.
fn good_claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "248289761001", "aud": AUDIENCE,
        "iat": T0 - 10, "nbf": T0 - 10, "exp": T0 + 300,
        "email": "jane@example.com", "email_verified": true, "name": "Jane Doe",
        "preferred_username": "jane", "groups": ["signers", "approvers"],
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(name);
    } else {
        claims[name] = value;
    }
    claims
}

// ---------------------------------------------------------------------------------------
// The identity provider's JWKS endpoint

struct Answer {
    status: u16,
    body: String,
    cache_control: Option<String>,
}

struct JwksServer {
    url: String,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<AtomicUsize>,
}

impl JwksServer {
    /// Serves `GET /jwks` on 127.0.0.1, one connection at a time is enough.
    async fn start(jwks: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(Answer { status: 200, body: jwks.to_string(), cache_control: None }));
        let requests = Arc::new(AtomicUsize::new(0));
        let (shared, count) = (answer.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (shared, count) = (shared.clone(), count.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    assert!(request.starts_with(b"GET /jwks HTTP/1.1\r\n"));
                    count.fetch_add(1, Ordering::SeqCst);
                    let response = {
                        let answer = shared.lock().unwrap();
                        let cache_control = answer
                            .cache_control
                            .as_ref()
                            .map(|v| format!("Cache-Control: {v}\r\n"))
                            .unwrap_or_default();
                        format!(
                            "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{cache_control}Connection: close\r\n\r\n{}",
                            answer.status,
                            answer.body.len(),
                            answer.body
                        )
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { url, answer, requests }
    }

    fn serve(&self, jwks: Value) {
        self.answer.lock().unwrap().body = jwks.to_string();
    }

    fn set(&self, status: u16, body: String, cache_control: Option<&str>) {
        *self.answer.lock().unwrap() = Answer { status, body, cache_control: cache_control.map(str::to_string) };
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn verifier(&self) -> JwtVerifier {
        JwtVerifier::new(JwtIssuer::new(ISSUER, [AUDIENCE], &self.url)).unwrap()
    }
}

fn jwks(keys: &[(&TestKey, &str)]) -> Value {
    json!({ "keys": keys.iter().map(|(key, kid)| key.jwk(kid)).collect::<Vec<_>>() })
}

fn all_keys() -> Value {
    let k = keys();
    jwks(&[(&k.rsa_a, "rsa-a"), (&k.p256, "ec-256"), (&k.p384, "ec-384"), (&k.ed25519, "ed")])
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn a_token_of_each_algorithm_verifies() {
    let k = keys();
    let idp = JwksServer::start(all_keys()).await;
    let verifier = idp.verifier();
    for (key, kid, alg) in [
        (&k.rsa_a, "rsa-a", "RS256"),
        (&k.rsa_a, "rsa-a", "RS384"),
        (&k.rsa_a, "rsa-a", "RS512"),
        (&k.rsa_a, "rsa-a", "PS256"),
        (&k.rsa_a, "rsa-a", "PS384"),
        (&k.rsa_a, "rsa-a", "PS512"),
        (&k.p256, "ec-256", "ES256"),
        (&k.p384, "ec-384", "ES384"),
        (&k.ed25519, "ed", "EdDSA"),
    ] {
        let jwt = token(key, json!({"alg": alg, "kid": kid, "typ": "JWT"}), good_claims());
        let claims = verifier.verify(&jwt, at(0)).await.unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims.alg().name(), alg);
        assert_eq!(claims.kid(), Some(kid));
        assert_eq!(claims.sub(), "248289761001");
        assert_eq!(claims.iss(), ISSUER);
        assert_eq!(claims.aud(), [AUDIENCE]);
        assert_eq!(claims.exp(), (T0 + 300) as i64);
        assert_eq!(claims.email(), Some("jane@example.com"));
        assert_eq!(claims.email_verified(), Some(true));
        assert_eq!(claims.name(), Some("Jane Doe"));
        assert_eq!(claims.preferred_username(), Some("jane"));
        assert_eq!(claims.strings("groups"), ["signers", "approvers"]);
    }
    assert_eq!(idp.requests(), 1, "the JWKS is fetched once and cached");
}

#[tokio::test]
async fn times_are_checked_with_leeway() {
    let k = keys();
    let idp = JwksServer::start(all_keys()).await;
    let verifier = idp.verifier();
    let sign = |claims| token(&k.ed25519, json!({"alg": "EdDSA", "kid": "ed"}), claims);
    let now = (T0 + 1000) as i64;

    // exp 30 s ago is within the 60 s leeway; 61 s ago is not.
    let jwt = sign(with(good_claims(), "exp", json!(now - 30)));
    assert!(verifier.verify(&jwt, at(1000)).await.is_ok());
    let jwt = sign(with(good_claims(), "exp", json!(now - 61)));
    assert_eq!(verifier.verify(&jwt, at(1000)).await, Err(Error::Expired { exp: now - 61, now }));
    // RFC 7519 §4.1.4: "on or after" the expiry (plus leeway) is refused.
    let jwt = sign(with(good_claims(), "exp", json!(now - 60)));
    assert_eq!(verifier.verify(&jwt, at(1000)).await, Err(Error::Expired { exp: now - 60, now }));
    let jwt = sign(with(good_claims(), "exp", Value::Null));
    assert_eq!(verifier.verify(&jwt, at(0)).await, Err(Error::MissingClaim("exp")));

    let claims = with(good_claims(), "exp", json!(now + 3600));
    let jwt = sign(with(claims.clone(), "nbf", json!(now + 120)));
    assert_eq!(verifier.verify(&jwt, at(1000)).await, Err(Error::NotYetValid { nbf: now + 120, now }));
    let jwt = sign(with(claims.clone(), "nbf", json!(now + 50)));
    assert!(verifier.verify(&jwt, at(1000)).await.is_ok());
    let jwt = sign(with(claims.clone(), "iat", json!(now + 120)));
    assert_eq!(verifier.verify(&jwt, at(1000)).await, Err(Error::IssuedInFuture { iat: now + 120, now }));
    let jwt = sign(with(claims, "iat", json!("yesterday")));
    assert_eq!(verifier.verify(&jwt, at(1000)).await, Err(Error::MissingClaim("iat")));
}

#[tokio::test]
async fn issuer_audience_and_authorized_party_are_checked() {
    let k = keys();
    let idp = JwksServer::start(all_keys()).await;
    let verifier = idp.verifier();
    let sign = |claims| token(&k.p256, json!({"alg": "ES256", "kid": "ec-256"}), claims);

    let jwt = sign(with(good_claims(), "aud", json!("someone-else")));
    assert_eq!(
        verifier.verify(&jwt, at(0)).await,
        Err(Error::WrongAudience { got: vec!["someone-else".into()], expected: vec![AUDIENCE.into()] })
    );
    let jwt = sign(with(good_claims(), "aud", Value::Null));
    assert!(matches!(verifier.verify(&jwt, at(0)).await, Err(Error::WrongAudience { got, .. }) if got.is_empty()));
    let jwt = sign(with(good_claims(), "aud", json!(["other", AUDIENCE])));
    assert_eq!(verifier.verify(&jwt, at(0)).await.unwrap().aud(), ["other", AUDIENCE]);

    let claims = with(good_claims(), "aud", json!(["other", AUDIENCE]));
    let jwt = sign(with(claims.clone(), "azp", json!(AUDIENCE)));
    assert!(verifier.verify(&jwt, at(0)).await.is_ok());
    let jwt = sign(with(claims, "azp", json!("other")));
    assert_eq!(verifier.verify(&jwt, at(0)).await, Err(Error::WrongAuthorizedParty { got: "other".into() }));

    let jwt = sign(with(good_claims(), "iss", json!("https://evil.example.com")));
    assert_eq!(
        verifier.verify(&jwt, at(0)).await,
        Err(Error::WrongIssuer { got: Some("https://evil.example.com".into()), expected: ISSUER.into() })
    );
    // Issuer identifiers compare exactly: no trailing slash, no case folding.
    let jwt = sign(with(good_claims(), "iss", json!(format!("{ISSUER}/"))));
    assert!(matches!(verifier.verify(&jwt, at(0)).await, Err(Error::WrongIssuer { .. })));
    let jwt = sign(with(good_claims(), "iss", Value::Null));
    assert_eq!(verifier.verify(&jwt, at(0)).await, Err(Error::WrongIssuer { got: None, expected: ISSUER.into() }));

    let jwt = sign(with(good_claims(), "sub", Value::Null));
    assert_eq!(verifier.verify(&jwt, at(0)).await, Err(Error::MissingClaim("sub")));
}

#[tokio::test]
async fn unknown_keys_refetch_at_most_every_30_seconds_and_rotation_is_picked_up() {
    let k = keys();
    let idp = JwksServer::start(jwks(&[(&k.rsa_a, "a")])).await;
    let verifier = idp.verifier();
    let header = |kid: &str| json!({"alg": "RS256", "kid": kid});
    let claims = with(good_claims(), "exp", json!(T0 + 3600));

    let jwt_a = token(&k.rsa_a, header("a"), claims.clone());
    assert!(verifier.verify(&jwt_a, at(0)).await.is_ok());
    assert_eq!(idp.requests(), 1);

    // An unknown kid 40 s later: one refetch, still unknown.
    let unknown = token(&k.rsa_a, header("x"), claims.clone());
    assert_eq!(verifier.verify(&unknown, at(40)).await, Err(Error::UnknownKey { kid: Some("x".into()) }));
    assert_eq!(idp.requests(), 2);
    // Another unknown kid within 30 s of that: no refetch.
    let unknown = token(&k.rsa_a, header("y"), claims.clone());
    assert_eq!(verifier.verify(&unknown, at(50)).await, Err(Error::UnknownKey { kid: Some("y".into()) }));
    assert_eq!(idp.requests(), 2);

    // The provider rotates: A and B. B is unknown until a refetch is allowed.
    idp.serve(jwks(&[(&k.rsa_a, "a"), (&k.rsa_b, "b")]));
    let jwt_b = token(&k.rsa_b, header("b"), claims.clone());
    assert_eq!(verifier.verify(&jwt_b, at(60)).await, Err(Error::UnknownKey { kid: Some("b".into()) }));
    assert_eq!(idp.requests(), 2);
    assert_eq!(verifier.verify(&jwt_b, at(71)).await.unwrap().kid(), Some("b"));
    assert_eq!(idp.requests(), 3);
    assert!(verifier.verify(&jwt_a, at(72)).await.is_ok());

    // A is retired: once the keys expire (10 minutes), A's tokens are refused.
    idp.serve(jwks(&[(&k.rsa_b, "b")]));
    assert!(verifier.verify(&jwt_a, at(600)).await.is_ok(), "still cached");
    assert_eq!(idp.requests(), 3);
    assert_eq!(verifier.verify(&jwt_a, at(71 + 600)).await, Err(Error::UnknownKey { kid: Some("a".into()) }));
    assert_eq!(idp.requests(), 4);
    assert!(verifier.verify(&jwt_b, at(71 + 601)).await.is_ok());
    assert_eq!(idp.requests(), 4);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_once() {
    let k = keys();
    let idp = JwksServer::start(jwks(&[(&k.p256, "a")])).await;
    let verifier = Arc::new(idp.verifier());
    let good = token(&k.p256, json!({"alg": "ES256", "kid": "a"}), good_claims());
    assert!(verifier.verify(&good, at(0)).await.is_ok());
    let mut tasks = Vec::new();
    for i in 0..50 {
        let verifier = verifier.clone();
        let jwt = token(&k.p256, json!({"alg": "ES256", "kid": format!("forged-{i}")}), good_claims());
        tasks.push(tokio::spawn(async move { verifier.verify(&jwt, at(35)).await }));
    }
    for task in tasks {
        assert!(matches!(task.await.unwrap(), Err(Error::UnknownKey { .. })));
    }
    assert_eq!(idp.requests(), 2);
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused() {
    let k = keys();
    let idp = JwksServer::start(jwks(&[(&k.rsa_a, "a"), (&k.rsa_b, "b"), (&k.p256, "ec")])).await;
    let verifier = idp.verifier();
    let jwt = token(&k.rsa_a, json!({"alg": "RS256", "kid": "a"}), good_claims());
    assert!(verifier.verify(&jwt, at(0)).await.is_ok());

    // Payload changed after signing.
    let parts: Vec<&str> = jwt.split('.').collect();
    let forged_claims = b64(with(good_claims(), "sub", json!("admin")).to_string().as_bytes());
    let tampered = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert_eq!(verifier.verify(&tampered, at(0)).await, Err(Error::BadSignature));
    // Signature changed.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[10] ^= 0x01;
    let tampered = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
    assert_eq!(verifier.verify(&tampered, at(0)).await, Err(Error::BadSignature));
    // Signed with key A, naming key B.
    let jwt = token(&k.rsa_a, json!({"alg": "RS256", "kid": "b"}), good_claims());
    assert_eq!(verifier.verify(&jwt, at(0)).await, Err(Error::BadSignature));
    // An RSA algorithm naming the EC key, and the reverse.
    let jwt = token(&k.rsa_a, json!({"alg": "RS256", "kid": "ec"}), good_claims());
    assert_eq!(
        verifier.verify(&jwt, at(0)).await,
        Err(Error::KeyMismatch { kid: Some("ec".into()), alg: "RS256".into() })
    );
    let jwt = token(&k.p256, json!({"alg": "ES256", "kid": "a"}), good_claims());
    assert!(matches!(verifier.verify(&jwt, at(0)).await, Err(Error::KeyMismatch { .. })));
    // PKCS#1 v1.5 signature presented as PSS.
    let jwt = token(&k.rsa_a, json!({"alg": "RS256", "kid": "a"}), good_claims());
    let (_, rest) = jwt.split_once('.').unwrap();
    let relabelled = format!("{}.{rest}", b64(json!({"alg": "PS256", "kid": "a"}).to_string().as_bytes()));
    assert_eq!(verifier.verify(&relabelled, at(0)).await, Err(Error::BadSignature));
    assert_eq!(idp.requests(), 1);
}

#[tokio::test]
async fn none_hmac_and_disallowed_algorithms_are_refused_before_any_fetch() {
    let k = keys();
    let idp = JwksServer::start(all_keys()).await;
    let verifier = idp.verifier();
    let claims = b64(good_claims().to_string().as_bytes());
    for alg in ["none", "None", "HS256", "HS512", "ES512", "RSA-OAEP"] {
        let header = b64(json!({"alg": alg, "kid": "rsa-a"}).to_string().as_bytes());
        for jwt in [format!("{header}.{claims}."), format!("{header}.{claims}.c2lnbmF0dXJl")] {
            assert_eq!(verifier.verify(&jwt, at(0)).await, Err(Error::AlgorithmNotAllowed { alg: alg.into() }));
        }
    }
    // An HS256 token whose HMAC key is the RSA public key (the classic confusion attack).
    let header = b64(json!({"alg": "HS256", "kid": "rsa-a"}).to_string().as_bytes());
    let input = format!("{header}.{claims}");
    let public = all_keys()["keys"][0].to_string();
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, public.as_bytes()),
        input.as_bytes(),
    );
    let jwt = format!("{input}.{}", b64(mac.as_ref()));
    assert_eq!(verifier.verify(&jwt, at(0)).await, Err(Error::AlgorithmNotAllowed { alg: "HS256".into() }));
    assert_eq!(idp.requests(), 0);

    // An issuer that allows RS256 only.
    let mut issuer = JwtIssuer::new(ISSUER, [AUDIENCE], &idp.url);
    issuer.allowed_algs = vec![Algorithm::Rs256];
    let strict = JwtVerifier::new(issuer).unwrap();
    let jwt = token(&k.p256, json!({"alg": "ES256", "kid": "ec-256"}), good_claims());
    assert_eq!(strict.verify(&jwt, at(0)).await, Err(Error::AlgorithmNotAllowed { alg: "ES256".into() }));
    let jwt = token(&k.rsa_a, json!({"alg": "RS256", "kid": "rsa-a"}), good_claims());
    assert!(strict.verify(&jwt, at(0)).await.is_ok());
}

#[tokio::test]
async fn malformed_tokens_are_refused_without_a_fetch() {
    let idp = JwksServer::start(all_keys()).await;
    let verifier = idp.verifier();
    let header = b64(json!({"alg": "RS256", "kid": "rsa-a"}).to_string().as_bytes());
    let claims = b64(good_claims().to_string().as_bytes());
    let huge = format!("{header}.{}.AAAA", "A".repeat(1 << 20));
    for bad in [
        String::new(),
        ".".to_string(),
        "..".to_string(),
        format!("{header}.{claims}"),
        format!("{header}.{claims}.AAAA.AAAA"),
        format!("{header}.{claims}.AAAA.AAAA.AAAA"),
        format!("!!!.{claims}.AAAA"),
        format!("{header}.{claims}.AA=="),
        format!("{header}.%%%.AAAA"),
        format!("{}.{claims}.AAAA", b64(b"\xff\xfe")),
        format!("{}.{claims}.AAAA", b64(b"null")),
        huge,
        "é.é.é".to_string(),
    ] {
        let result = verifier.verify(&bad, at(0)).await;
        assert!(matches!(result, Err(Error::Malformed(_))), "{:.60}: {result:?}", bad);
    }
    assert_eq!(idp.requests(), 0);
}

#[tokio::test]
async fn tokens_without_kid_use_the_only_fitting_key() {
    let k = keys();
    let idp = JwksServer::start(jwks(&[(&k.rsa_a, "a"), (&k.p256, "ec")])).await;
    let verifier = idp.verifier();
    let jwt = token(&k.p256, json!({"alg": "ES256"}), good_claims());
    assert_eq!(verifier.verify(&jwt, at(0)).await.unwrap().kid(), None);
    let idp_two_rsa = JwksServer::start(jwks(&[(&k.rsa_a, "a"), (&k.rsa_b, "b")])).await;
    let jwt = token(&k.rsa_a, json!({"alg": "RS256"}), good_claims());
    assert_eq!(idp_two_rsa.verifier().verify(&jwt, at(0)).await, Err(Error::NoKeyId { candidates: 2 }));
}

#[tokio::test]
async fn fetch_failures_are_named_and_held_keys_survive_them() {
    let k = keys();
    let idp = JwksServer::start(jwks(&[(&k.ed25519, "ed")])).await;
    let jwt = token(&k.ed25519, json!({"alg": "EdDSA", "kid": "ed"}), with(good_claims(), "exp", json!(T0 + 7200)));

    // No keys yet and the provider fails: the reason is named.
    idp.set(500, "oops".into(), None);
    let verifier = idp.verifier();
    match verifier.verify(&jwt, at(0)).await {
        Err(Error::Fetch { url, reason }) => {
            assert_eq!(url, idp.url);
            assert!(reason.contains("HTTP 500"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Retried only after 30 s.
    assert!(matches!(verifier.verify(&jwt, at(10)).await, Err(Error::Fetch { .. })));
    assert_eq!(idp.requests(), 1);
    idp.set(200, jwks(&[(&k.ed25519, "ed")]).to_string(), None);
    assert!(verifier.verify(&jwt, at(30)).await.is_ok());
    assert_eq!(idp.requests(), 2);

    // Keys expired, provider down: the held keys keep working.
    idp.set(503, String::new(), None);
    assert!(verifier.verify(&jwt, at(30 + 601)).await.is_ok());
    assert_eq!(idp.requests(), 3);

    // Not a JWK Set; too large.
    idp.set(200, "<html>".into(), None);
    let fresh = idp.verifier();
    assert!(matches!(fresh.verify(&jwt, at(0)).await, Err(Error::Fetch { reason, .. }) if reason.contains("not JSON")));
    idp.set(200, format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(1 << 20)), None);
    let fresh = idp.verifier();
    assert!(matches!(fresh.verify(&jwt, at(0)).await, Err(Error::Fetch { reason, .. }) if reason.contains("larger")));

    // Nothing listening.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", closed.local_addr().unwrap());
    drop(closed);
    let nowhere = JwtVerifier::new(JwtIssuer::new(ISSUER, [AUDIENCE], url)).unwrap();
    assert!(matches!(nowhere.verify(&jwt, at(0)).await, Err(Error::Fetch { .. })));
}

#[tokio::test]
async fn cache_control_max_age_is_honoured() {
    let k = keys();
    let idp = JwksServer::start(Value::Null).await;
    idp.set(200, jwks(&[(&k.p384, "p")]).to_string(), Some("public, max-age=120"));
    let verifier = idp.verifier();
    let jwt = token(&k.p384, json!({"alg": "ES384", "kid": "p"}), with(good_claims(), "exp", json!(T0 + 3600)));
    assert!(verifier.verify(&jwt, at(0)).await.is_ok());
    assert!(verifier.verify(&jwt, at(119)).await.is_ok());
    assert_eq!(idp.requests(), 1);
    assert!(verifier.verify(&jwt, at(120)).await.is_ok());
    assert_eq!(idp.requests(), 2);
}

#[tokio::test]
async fn keys_can_be_given_directly() {
    let k = keys();
    let set = Jwks::from_json(jwks(&[(&k.rsa_b, "b")]).to_string().as_bytes()).unwrap();
    let verifier = JwtVerifier::with_cache(JwtIssuer::new(ISSUER, [AUDIENCE], ""), JwksCache::new(set));
    let jwt = token(&k.rsa_b, json!({"alg": "PS256", "kid": "b"}), good_claims());
    assert_eq!(verifier.verify(&jwt, at(0)).await.unwrap().sub(), "248289761001");
    let http = JwksCache::new(HttpJwks::new("https://idp.example.com/jwks").unwrap());
    assert_eq!(http.source().url(), "https://idp.example.com/jwks");
}

/// RFC 7515 Appendix A.3: the ES256 example, made by another implementation. Its claims have
/// no `sub` and `aud`, so after the signature verifies the claim checks refuse it.
#[tokio::test]
async fn rfc7515_es256_example() {
    let set = Jwks::from_json(
        br#"{"keys":[{"kty":"EC","crv":"P-256",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
    )
    .unwrap();
    let verifier = JwtVerifier::with_cache(JwtIssuer::new("joe", ["x"], ""), JwksCache::new(set));
    let jws = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    let before_exp = UNIX_EPOCH + Duration::from_secs(1_300_819_000);
    assert_eq!(verifier.verify(jws, before_exp).await, Err(Error::MissingClaim("sub")));
    let tampered = jws.replace(".DtEh", ".EtEh");
    assert_eq!(verifier.verify(&tampered, before_exp).await, Err(Error::BadSignature));
}

/// Every one-character change of a valid token, anywhere in it, is refused without a panic.
#[tokio::test]
async fn every_one_character_change_is_refused() {
    let k = keys();
    let set = Jwks::from_json(jwks(&[(&k.p256, "ec")]).to_string().as_bytes()).unwrap();
    let verifier = JwtVerifier::with_cache(JwtIssuer::new(ISSUER, [AUDIENCE], ""), JwksCache::new(set));
    let jwt = token(&k.p256, json!({"alg": "ES256", "kid": "ec"}), good_claims());
    assert!(verifier.verify(&jwt, at(0)).await.is_ok());
    for i in 0..jwt.len() {
        for replacement in ['A', 'g', '_', '.', '='] {
            if jwt.as_bytes()[i] == replacement as u8 {
                continue;
            }
            let mut changed = jwt.clone().into_bytes();
            changed[i] = replacement as u8;
            let changed = String::from_utf8(changed).unwrap();
            assert!(verifier.verify(&changed, at(0)).await.is_err(), "position {i} as {replacement}");
        }
    }
}
