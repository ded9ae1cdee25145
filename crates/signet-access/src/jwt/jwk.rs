//! JSON Web Keys (RFC 7517) for signature verification, and the algorithms they serve
//! (RFC 7518 §3, RFC 8037 §3.1).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::Error;

/// A JWS signature algorithm (RFC 7518 §3.1 `alg` values, and `EdDSA` from RFC 8037 §3.1).
///
/// Only asymmetric algorithms exist here: `none` and the HMAC algorithms (`HS256`…) are
/// refused whatever the configuration, since the keys come from a public JWKS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `RS256`: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// `RS384`: RSASSA-PKCS1-v1_5 with SHA-384 (RFC 7518 §3.3).
    Rs384,
    /// `RS512`: RSASSA-PKCS1-v1_5 with SHA-512 (RFC 7518 §3.3).
    Rs512,
    /// `PS256`: RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt of 32 bytes (RFC 7518 §3.5).
    Ps256,
    /// `PS384`: RSASSA-PSS with SHA-384 (RFC 7518 §3.5).
    Ps384,
    /// `PS512`: RSASSA-PSS with SHA-512 (RFC 7518 §3.5).
    Ps512,
    /// `ES256`: ECDSA on P-256 with SHA-256, signature `R || S` (RFC 7518 §3.4).
    Es256,
    /// `ES384`: ECDSA on P-384 with SHA-384 (RFC 7518 §3.4).
    Es384,
    /// `EdDSA` with an Ed25519 key (RFC 8037 §3.1).
    EdDsa,
}

impl Algorithm {
    /// Every algorithm supported, the default allowed list.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::EdDsa,
    ];

    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm of an `alg` header value (case-sensitive, RFC 7515 §4.1.1); `None` for
    /// anything not supported, `none` and `HS256` included.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The most keys a JWK Set may hold.
pub const MAX_KEYS: usize = 100;

/// A JWK Set (RFC 7517 §5), reduced to the keys usable to verify signatures here.
///
/// Keys for encryption (`"use": "enc"`), of unsupported types or curves (`oct`, Ed448…),
/// with an unsupported `alg`, or RSA keys shorter than 2048 bits are left out; a set with no
/// key left is an error. Cheap to clone.
#[derive(Clone)]
pub struct Jwks {
    keys: Arc<[Jwk]>,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.iter()).finish()
    }
}

impl Jwks {
    /// Reads a JWK Set document: `{"keys": [...]}` with at most [`MAX_KEYS`] keys.
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        let document: Value = serde_json::from_slice(json).map_err(|e| Error::BadJwks(format!("not JSON: {e}")))?;
        let Some(Value::Array(entries)) = document.get("keys") else {
            return Err(Error::BadJwks("no \"keys\" array".to_string()));
        };
        if entries.len() > MAX_KEYS {
            return Err(Error::BadJwks(format!("{} keys; at most {MAX_KEYS} are accepted", entries.len())));
        }
        let keys: Vec<Jwk> = entries.iter().filter_map(|entry| entry.as_object().and_then(Jwk::parse)).collect();
        if keys.is_empty() {
            return Err(Error::BadJwks(format!("none of its {} keys can verify signatures here", entries.len())));
        }
        Ok(Self { keys: keys.into() })
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key (never true for a set read by [`Jwks::from_json`]).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid` of each usable key, `None` for a key without one.
    pub fn kids(&self) -> impl Iterator<Item = Option<&str>> {
        self.keys.iter().map(|key| key.kid.as_deref())
    }

    /// The key to verify a token with: the one with the token's `kid` (RFC 7515 §4.1.4)
    /// that fits `alg`, or, for a token without `kid`, the only key that fits `alg`.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Jwk, Error> {
        match kid {
            Some(kid) => {
                let mut named = self.keys.iter().filter(|key| key.kid.as_deref() == Some(kid)).peekable();
                if named.peek().is_none() {
                    return Err(Error::UnknownKey { kid: Some(kid.to_string()) });
                }
                named
                    .find(|key| key.fits(alg))
                    .ok_or_else(|| Error::KeyMismatch { kid: Some(kid.to_string()), alg: alg.name().to_string() })
            }
            None => {
                let mut fitting = self.keys.iter().filter(|key| key.fits(alg));
                match (fitting.next(), fitting.count()) {
                    (None, _) => Err(Error::UnknownKey { kid: None }),
                    (Some(key), 0) => Ok(key),
                    (Some(_), more) => Err(Error::NoKeyId { candidates: more + 1 }),
                }
            }
        }
    }
}

/// One public key of a JWK Set.
pub(crate) struct Jwk {
    kid: Option<String>,
    alg: Option<Algorithm>,
    key: PublicKey,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.key {
            PublicKey::Rsa { n, .. } => format!("RSA-{}", n.len() * 8),
            PublicKey::P256(_) => "EC P-256".to_string(),
            PublicKey::P384(_) => "EC P-384".to_string(),
            PublicKey::Ed25519(_) => "OKP Ed25519".to_string(),
        };
        f.debug_struct("Jwk").field("kid", &self.kid).field("alg", &self.alg).field("key", &kind).finish()
    }
}

/// Key material, checked when read.
enum PublicKey {
    /// RSA modulus and exponent, big-endian without leading zeros (RFC 7518 §6.3.1).
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed P-256 point `04 || x || y` (RFC 7518 §6.2.1).
    P256(Vec<u8>),
    /// An uncompressed P-384 point.
    P384(Vec<u8>),
    /// An Ed25519 public key (RFC 8037 §2).
    Ed25519(Vec<u8>),
}

impl Jwk {
    /// A key from its JWK object (RFC 7517 §4); `None` for one that cannot verify
    /// signatures here.
    fn parse(jwk: &Map<String, Value>) -> Option<Self> {
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        let bytes = |name: &str| text(name).and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok());
        // RFC 7517 §4.2 and §4.3: a key meant for encryption only is not for us.
        if text("use").is_some_and(|usage| usage != "sig") {
            return None;
        }
        if let Some(ops) = jwk.get("key_ops") {
            let ops = ops.as_array()?;
            if !ops.iter().any(|op| op.as_str() == Some("verify")) {
                return None;
            }
        }
        let alg = match jwk.get("alg") {
            None => None,
            Some(alg) => Some(Algorithm::from_name(alg.as_str()?)?),
        };
        let key = match (text("kty")?, text("crv")) {
            ("RSA", _) => {
                let n = strip_leading_zeros(bytes("n")?);
                let e = strip_leading_zeros(bytes("e")?);
                // RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used"; aws-lc-rs
                // verifies up to 8192.
                if !(256..=1024).contains(&n.len()) || e.is_empty() || e.len() > 8 {
                    return None;
                }
                PublicKey::Rsa { n, e }
            }
            ("EC", Some(curve @ ("P-256" | "P-384"))) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                let (len, check): (usize, &'static dyn signature::VerificationAlgorithm) = match curve {
                    "P-256" => (32, &signature::ECDSA_P256_SHA256_FIXED),
                    _ => (48, &signature::ECDSA_P384_SHA384_FIXED),
                };
                if x.len() != len || y.len() != len {
                    return None;
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                // The point must be on the curve.
                UnparsedPublicKey::new(check, &point).parse().ok()?;
                if curve == "P-256" { PublicKey::P256(point) } else { PublicKey::P384(point) }
            }
            ("OKP", Some("Ed25519")) => {
                let x = bytes("x")?;
                if x.len() != signature::ED25519_PUBLIC_KEY_LEN {
                    return None;
                }
                PublicKey::Ed25519(x)
            }
            _ => return None,
        };
        let kid = match jwk.get("kid") {
            None => None,
            Some(kid) => Some(kid.as_str()?.to_string()),
        };
        let jwk = Self { kid, alg, key };
        // A key whose own `alg` its type cannot serve is useless.
        match jwk.alg {
            Some(alg) if !jwk.fits(alg) => None,
            _ => Some(jwk),
        }
    }

    /// Whether this key can verify `alg` signatures: the key type and curve match
    /// (RFC 7518 §3.1), and so does the key's own `alg` if it has one (RFC 7517 §4.4).
    fn fits(&self, alg: Algorithm) -> bool {
        if self.alg.is_some_and(|own| own != alg) {
            return false;
        }
        matches!(
            (&self.key, alg),
            (
                PublicKey::Rsa { .. },
                Algorithm::Rs256
                    | Algorithm::Rs384
                    | Algorithm::Rs512
                    | Algorithm::Ps256
                    | Algorithm::Ps384
                    | Algorithm::Ps512
            ) | (PublicKey::P256(_), Algorithm::Es256)
                | (PublicKey::P384(_), Algorithm::Es384)
                | (PublicKey::Ed25519(_), Algorithm::EdDsa)
        )
    }

    /// Verifies a JWS signature (RFC 7515 §5.2 step 8) over the signing input.
    pub(crate) fn verify(&self, alg: Algorithm, signing_input: &[u8], signature: &[u8]) -> Result<(), Error> {
        let rsa = |params: &signature::RsaParameters, n: &[u8], e: &[u8]| {
            RsaPublicKeyComponents { n, e }.verify(params, signing_input, signature)
        };
        let result = match (&self.key, alg) {
            (PublicKey::Rsa { n, e }, Algorithm::Rs256) => rsa(&signature::RSA_PKCS1_2048_8192_SHA256, n, e),
            (PublicKey::Rsa { n, e }, Algorithm::Rs384) => rsa(&signature::RSA_PKCS1_2048_8192_SHA384, n, e),
            (PublicKey::Rsa { n, e }, Algorithm::Rs512) => rsa(&signature::RSA_PKCS1_2048_8192_SHA512, n, e),
            (PublicKey::Rsa { n, e }, Algorithm::Ps256) => rsa(&signature::RSA_PSS_2048_8192_SHA256, n, e),
            (PublicKey::Rsa { n, e }, Algorithm::Ps384) => rsa(&signature::RSA_PSS_2048_8192_SHA384, n, e),
            (PublicKey::Rsa { n, e }, Algorithm::Ps512) => rsa(&signature::RSA_PSS_2048_8192_SHA512, n, e),
            (PublicKey::P256(point), Algorithm::Es256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(signing_input, signature)
            }
            (PublicKey::P384(point), Algorithm::Es384) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point).verify(signing_input, signature)
            }
            (PublicKey::Ed25519(x), Algorithm::EdDsa) => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(signing_input, signature)
            }
            _ => return Err(Error::KeyMismatch { kid: self.kid.clone(), alg: alg.name().to_string() }),
        };
        result.map_err(|_| Error::BadSignature)
    }
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7517 Appendix A.1: the P-256 and RSA example public keys.
    const RFC7517_A1: &str = r#"{"keys":
       [
         {"kty":"EC",
          "crv":"P-256",
          "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
          "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
          "use":"enc",
          "kid":"1"},
         {"kty":"RSA",
          "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
          "e":"AQAB",
          "alg":"RS256",
          "kid":"2011-04-29"}
       ]
     }"#;

    /// RFC 8037 Appendix A.2: the Ed25519 example public key.
    const RFC8037_A2: &str =
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    #[test]
    fn reads_rfc7517_example_and_leaves_out_the_encryption_key() {
        let jwks = Jwks::from_json(RFC7517_A1.as_bytes()).unwrap();
        assert_eq!(jwks.kids().collect::<Vec<_>>(), [Some("2011-04-29")]);
        assert!(jwks.select(Some("2011-04-29"), Algorithm::Rs256).is_ok());
        assert!(matches!(jwks.select(Some("1"), Algorithm::Es256), Err(Error::UnknownKey { .. })));
        // The key says RS256 only (RFC 7517 §4.4).
        assert!(matches!(jwks.select(Some("2011-04-29"), Algorithm::Ps256), Err(Error::KeyMismatch { .. })));
    }

    /// RFC 8037 Appendix A.4: the Ed25519 signature of the example payload.
    #[test]
    fn verifies_rfc8037_ed25519_example() {
        let jwks = Jwks::from_json(RFC8037_A2.as_bytes()).unwrap();
        let key = jwks.select(None, Algorithm::EdDsa).unwrap();
        let input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let signature = URL_SAFE_NO_PAD
            .decode("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
            .unwrap();
        key.verify(Algorithm::EdDsa, input, &signature).unwrap();
        let mut tampered = input.to_vec();
        tampered[40] ^= 1;
        assert_eq!(key.verify(Algorithm::EdDsa, &tampered, &signature), Err(Error::BadSignature));
        assert!(matches!(jwks.select(None, Algorithm::Es256), Err(Error::UnknownKey { kid: None })));
    }

    #[test]
    fn algorithm_names() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        for refused in ["none", "None", "HS256", "HS512", "rs256", "ES512", ""] {
            assert_eq!(Algorithm::from_name(refused), None, "{refused}");
        }
    }

    #[test]
    fn refuses_sets_without_usable_keys_or_with_too_many() {
        for bad in [
            "",
            "[]",
            r#"{"keys":{}}"#,
            r#"{"keys":[]}"#,
            r#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#,
            r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}"#,
            r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
        ] {
            assert!(matches!(Jwks::from_json(bad.as_bytes()), Err(Error::BadJwks(_))), "{bad}");
        }
        let one = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let many = format!(r#"{{"keys":[{}]}}"#, vec![one; MAX_KEYS + 1].join(","));
        assert!(matches!(Jwks::from_json(many.as_bytes()), Err(Error::BadJwks(_))));
        let enough = format!(r#"{{"keys":[{}]}}"#, vec![one; MAX_KEYS].join(","));
        let jwks = Jwks::from_json(enough.as_bytes()).unwrap();
        assert_eq!(jwks.select(None, Algorithm::EdDsa).err(), Some(Error::NoKeyId { candidates: MAX_KEYS }));
    }

    #[test]
    fn a_point_off_the_curve_is_left_out() {
        // RFC 7517's P-256 x with y changed in its last byte.
        let off = r#"{"keys":[{"kty":"EC","crv":"P-256",
            "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyQ"}]}"#;
        assert!(matches!(Jwks::from_json(off.as_bytes()), Err(Error::BadJwks(_))));
        let on = off.replace("FyQ", "FyM");
        assert_eq!(Jwks::from_json(on.as_bytes()).unwrap().len(), 1);
    }
}
