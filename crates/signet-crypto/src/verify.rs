//! Signature verification over a `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7, RFC 3279 §2.3,
//! RFC 5480 §2).

use aws_lc_rs::signature::{self, RsaParameters, RsaPssSaltLength, UnparsedPublicKey};

use crate::asn1::{self, tag};
use crate::{DigestAlgorithm, Error, KeyKind, SignatureAlgorithm, oid};

/// A public key read from a DER `SubjectPublicKeyInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// Key type and size.
    pub kind: KeyKind,
    /// The `subjectPublicKey` bits: PKCS#1 `RSAPublicKey` DER for RSA, the EC point for EC.
    pub key: Vec<u8>,
}

impl PublicKeyInfo {
    /// The DER `SubjectPublicKeyInfo`: `rsaEncryption` with NULL parameters (RFC 3279 §2.3.1)
    /// or `id-ecPublicKey` with the named curve (RFC 5480 §2.1.1).
    pub fn to_spki_der(&self) -> Vec<u8> {
        let alg = match self.kind {
            KeyKind::Rsa { .. } => {
                asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(&oid::RSA_ENCRYPTION), &[tag::NULL, 0]])
            }
            KeyKind::EcP256 | KeyKind::EcP384 => {
                let curve = if self.kind == KeyKind::EcP256 { oid::SECP256R1 } else { oid::SECP384R1 };
                asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(&oid::EC_PUBLIC_KEY), &asn1::encode_oid(&curve)])
            }
        };
        let mut bits = Vec::with_capacity(self.key.len() + 1);
        bits.push(0);
        bits.extend_from_slice(&self.key);
        asn1::encode_parts(tag::SEQUENCE, &[&alg, &asn1::encode(tag::BIT_STRING, &bits)])
    }

    /// Reads a DER `SubjectPublicKeyInfo` (RSA, or EC on P-256/P-384).
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self, Error> {
        let spki = asn1::parse_single(spki_der)?.expect(tag::SEQUENCE)?;
        let mut r = spki.reader();
        let alg = r.read_expect(tag::SEQUENCE)?;
        let bits = r.read_expect(tag::BIT_STRING)?;
        r.finish()?;
        let key = match bits.value.split_first() {
            Some((0, key)) => key.to_vec(),
            _ => return Err(Error::InvalidKey("malformed subjectPublicKey".into())),
        };
        let mut ar = alg.reader();
        let alg_oid = asn1::decode_oid(&ar.read()?)?;
        let kind = match alg_oid {
            oid::RSA_ENCRYPTION | oid::RSASSA_PSS => {
                let bits = RsaParameters::public_modulus_len(&key)
                    .map_err(|_| Error::InvalidKey("malformed RSAPublicKey".into()))?;
                KeyKind::Rsa { bits: bits as usize }
            }
            oid::EC_PUBLIC_KEY => match ar.read_optional(tag::OID)? {
                Some(c) => match asn1::decode_oid(&c)? {
                    oid::SECP256R1 => KeyKind::EcP256,
                    oid::SECP384R1 => KeyKind::EcP384,
                    other => {
                        return Err(Error::UnsupportedAlgorithm(format!("EC curve {other}")));
                    }
                },
                None => {
                    return Err(Error::UnsupportedAlgorithm("EC key without a named curve".into()));
                }
            },
            other => {
                return Err(Error::UnsupportedAlgorithm(format!("public key type {other}")));
            }
        };
        Ok(Self { kind, key })
    }
}

const PSS_MAX_256: RsaParameters = signature::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);
const PSS_MAX_384: RsaParameters = signature::RSA_PSS_2048_8192_SHA384.with_pss_salt_length(RsaPssSaltLength::Max);
const PSS_MAX_512: RsaParameters = signature::RSA_PSS_2048_8192_SHA512.with_pss_salt_length(RsaPssSaltLength::Max);

thread_local! {
    /// Results of [`verify_signature`] while a [`with_verification_memo`] scope is open on
    /// this thread, keyed by the SHA-256 of everything the result depends on.
    static MEMO: std::cell::RefCell<Option<std::collections::HashMap<[u8; 32], bool>>> =
        const { std::cell::RefCell::new(None) };
}

/// Most results one memo scope keeps; past it, nothing more is remembered.
const MEMO_CAPACITY: usize = 4096;

/// Runs `f` with [`verify_signature`] remembering its results on this thread, and forgets
/// them when `f` returns. Validating one document checks the same signatures several times
/// (a CA certificate on the signer's, the TSA's and a document timestamp's paths; a CRL for
/// each certificate it covers); within the scope each is computed once. The key is a
/// SHA-256 over the key, the algorithm, the signature and the message, so a result is only
/// reused for exactly the same inputs. Nested scopes share the outer one.
pub fn with_verification_memo<R>(f: impl FnOnce() -> R) -> R {
    let opened = MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m.is_none() {
            *m = Some(std::collections::HashMap::new());
            true
        } else {
            false
        }
    });
    /// Closes the scope even when `f` panics.
    struct Close(bool);
    impl Drop for Close {
        fn drop(&mut self) {
            if self.0 {
                MEMO.with(|m| *m.borrow_mut() = None);
            }
        }
    }
    let _close = Close(opened);
    f()
}

/// Verifies `signature` over `message` with the key in `spki_der`.
///
/// RSA keys must be 2048–8192 bits. RSASSA-PSS salt lengths supported: the digest length
/// (RFC 4055 recommendation) and the maximum (`emLen - hLen - 2`).
pub fn verify_signature(
    spki_der: &[u8],
    algorithm: &SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let active = MEMO.with(|m| m.borrow().is_some());
    if !active {
        return verify_uncached(spki_der, algorithm, message, signature);
    }
    let mut h = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [spki_der, format!("{algorithm:?}").as_bytes(), signature, message] {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(h.finish().as_ref());
    if let Some(ok) = MEMO.with(|m| m.borrow().as_ref().and_then(|m| m.get(&key).copied())) {
        return if ok { Ok(()) } else { Err(Error::BadSignature) };
    }
    let result = verify_uncached(spki_der, algorithm, message, signature);
    // only the verdict on well-formed input is remembered; other errors are recomputed
    if matches!(result, Ok(()) | Err(Error::BadSignature)) {
        MEMO.with(|m| {
            if let Some(m) = m.borrow_mut().as_mut()
                && m.len() < MEMO_CAPACITY
            {
                m.insert(key, result.is_ok());
            }
        });
    }
    result
}

fn verify_uncached(
    spki_der: &[u8],
    algorithm: &SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let key = PublicKeyInfo::from_spki_der(spki_der)?;
    let alg: &'static dyn signature::VerificationAlgorithm = match (key.kind, *algorithm) {
        (KeyKind::Rsa { .. }, SignatureAlgorithm::RsaPkcs1v15(d)) => match d {
            DigestAlgorithm::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            DigestAlgorithm::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            DigestAlgorithm::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        },
        (KeyKind::Rsa { bits }, SignatureAlgorithm::RsaPss { digest, salt_len }) => {
            let em_len = (bits + 6) / 8;
            let max = em_len.saturating_sub(digest.output_len() + 2);
            match (digest, salt_len) {
                (DigestAlgorithm::Sha256, 32) => &signature::RSA_PSS_2048_8192_SHA256,
                (DigestAlgorithm::Sha384, 48) => &signature::RSA_PSS_2048_8192_SHA384,
                (DigestAlgorithm::Sha512, 64) => &signature::RSA_PSS_2048_8192_SHA512,
                (DigestAlgorithm::Sha256, s) if s == max => &PSS_MAX_256,
                (DigestAlgorithm::Sha384, s) if s == max => &PSS_MAX_384,
                (DigestAlgorithm::Sha512, s) if s == max => &PSS_MAX_512,
                (_, s) => {
                    return Err(Error::UnsupportedAlgorithm(format!("RSASSA-PSS salt length {s}")));
                }
            }
        }
        (KeyKind::EcP256, SignatureAlgorithm::Ecdsa(d)) => match d {
            DigestAlgorithm::Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            DigestAlgorithm::Sha384 => &signature::ECDSA_P256_SHA384_ASN1,
            DigestAlgorithm::Sha512 => &signature::ECDSA_P256_SHA512_ASN1,
        },
        (KeyKind::EcP384, SignatureAlgorithm::Ecdsa(d)) => match d {
            DigestAlgorithm::Sha256 => &signature::ECDSA_P384_SHA256_ASN1,
            DigestAlgorithm::Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            DigestAlgorithm::Sha512 => &signature::ECDSA_P384_SHA512_ASN1,
        },
        (kind, alg) => {
            return Err(Error::UnsupportedAlgorithm(format!("{:?} signature with a {kind:?} key", alg.scheme())));
        }
    };
    UnparsedPublicKey::new(alg, &key.key).verify(message, signature).map_err(|_| Error::BadSignature)
}

/// The DER `SubjectPublicKeyInfo` inside a DER certificate (RFC 5280 §4.1.2.7), as a slice
/// of the input.
pub fn certificate_spki(cert_der: &[u8]) -> Result<&[u8], Error> {
    let cert = asn1::parse_single(cert_der)?.expect(tag::SEQUENCE)?;
    let tbs = cert.reader().read_expect(tag::SEQUENCE)?;
    let mut r = tbs.reader();
    r.read_optional(tag::CTX0)?;
    r.read_expect(tag::INTEGER)?;
    for _ in 0..4 {
        r.read_expect(tag::SEQUENCE)?; // signature, issuer, validity, subject
    }
    Ok(r.read_expect(tag::SEQUENCE)?.raw)
}
