//! The [`Signer`] provider trait and the software implementation on `aws-lc-rs`.

use std::fmt;

use aws_lc_rs::digest::Digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};

use crate::asn1::{self, tag};
use crate::{DigestAlgorithm, Error, oid};

/// The kind of key behind a [`Signer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// RSA with a modulus of `bits` bits.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA on NIST P-256.
    EcP256,
    /// ECDSA on NIST P-384.
    EcP384,
}

impl KeyKind {
    /// The scheme used when the caller does not choose: PKCS#1 v1.5 for RSA (the most widely
    /// validated in PAdES), ECDSA for EC keys.
    pub fn default_scheme(self) -> SignatureScheme {
        match self {
            Self::Rsa { .. } => SignatureScheme::RsaPkcs1v15,
            Self::EcP256 | Self::EcP384 => SignatureScheme::Ecdsa,
        }
    }

    /// Whether `scheme` can be used with this key.
    pub fn supports(self, scheme: SignatureScheme) -> bool {
        matches!(
            (self, scheme),
            (Self::Rsa { .. }, SignatureScheme::RsaPkcs1v15 | SignatureScheme::RsaPss)
                | (Self::EcP256 | Self::EcP384, SignatureScheme::Ecdsa)
        )
    }

    /// Upper bound of a signature's length in bytes: the modulus size for RSA, the longest
    /// DER `Ecdsa-Sig-Value` for ECDSA (SEQUENCE of two INTEGERs each one byte longer than
    /// the field size when the high bit is set).
    pub fn max_signature_len(self) -> usize {
        match self {
            Self::Rsa { bits } => bits.div_ceil(8),
            Self::EcP256 => 72,
            Self::EcP384 => 104,
        }
    }
}

/// How a signature is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2).
    RsaPkcs1v15,
    /// RSASSA-PSS (RFC 8017 §8.1), MGF1 with the message digest, salt length = digest length.
    RsaPss,
    /// ECDSA (FIPS 186-5 §6), DER-encoded `Ecdsa-Sig-Value` (RFC 5480 §2.2 / RFC 5758 §3.2).
    Ecdsa,
}

/// A signing key: software, PKCS#11 token or remote service.
///
/// The PDF and CMS code only ever sees this trait.
pub trait Signer: Send + Sync {
    /// The kind of key.
    fn key_kind(&self) -> KeyKind;
    /// Upper bound of the signature length in bytes (RSA: modulus size; ECDSA: DER max).
    fn max_signature_len(&self) -> usize;
    /// Signs `message` (the signer hashes it with `digest`), per `scheme`; ECDSA returns the
    /// DER `Ecdsa-Sig-Value`.
    fn sign(&self, scheme: SignatureScheme, digest: DigestAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error>;
}

enum KeyPairInner {
    Rsa(RsaKeyPair),
    Ec { pair: EcdsaKeyPair, p384: bool },
}

/// A private key held in memory, parsed once (each [`Signer::sign`] call does no parsing).
pub struct SoftwareKey {
    inner: KeyPairInner,
    kind: KeyKind,
    rng: SystemRandom,
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl SoftwareKey {
    /// Reads an unencrypted PKCS#8 `PrivateKeyInfo` (RFC 5208 §5 / RFC 5958 §2) holding an RSA
    /// or P-256/P-384 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let (alg, params) = pkcs8_algorithm(der)?;
        match alg {
            oid::RSA_ENCRYPTION => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rsa_rejected)?;
                Self::rsa(pair)
            }
            oid::EC_PUBLIC_KEY => {
                let p384 = match params {
                    Some(oid::SECP256R1) => false,
                    Some(oid::SECP384R1) => true,
                    Some(other) => {
                        return Err(Error::UnsupportedAlgorithm(format!("EC curve {other}")));
                    }
                    None => {
                        return Err(Error::InvalidKey("EC key without a named curve".into()));
                    }
                };
                let pair = EcdsaKeyPair::from_pkcs8(ec_alg(p384), der)
                    .map_err(|e| Error::InvalidKey(format!("EC PKCS#8 key rejected: {e}")))?;
                Ok(Self::ec(pair, p384))
            }
            other => Err(Error::UnsupportedAlgorithm(format!("private key type {other}"))),
        }
    }

    /// Reads a PKCS#1 `RSAPrivateKey` (RFC 8017 App. A.1.2, PEM label "RSA PRIVATE KEY").
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        let pair = RsaKeyPair::from_der(der).map_err(rsa_rejected)?;
        Self::rsa(pair)
    }

    /// Reads a SEC1 `ECPrivateKey` (RFC 5915 §3, PEM label "EC PRIVATE KEY") on P-256 or P-384.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, Error> {
        // The curve is in the [0] parameters; try P-256 first, then P-384.
        if let Ok(pair) = EcdsaKeyPair::from_private_key_der(ec_alg(false), der) {
            return Ok(Self::ec(pair, false));
        }
        let pair = EcdsaKeyPair::from_private_key_der(ec_alg(true), der)
            .map_err(|e| Error::InvalidKey(format!("EC key rejected (P-256 and P-384 only): {e}")))?;
        Ok(Self::ec(pair, true))
    }

    fn rsa(pair: RsaKeyPair) -> Result<Self, Error> {
        let bits = pair.public_modulus_len() * 8;
        if bits < 2048 {
            return Err(Error::WeakKey(format!("RSA-{bits}: at least 2048 bits are required")));
        }
        Ok(Self { inner: KeyPairInner::Rsa(pair), kind: KeyKind::Rsa { bits }, rng: SystemRandom::new() })
    }

    fn ec(pair: EcdsaKeyPair, p384: bool) -> Self {
        Self {
            inner: KeyPairInner::Ec { pair, p384 },
            kind: if p384 { KeyKind::EcP384 } else { KeyKind::EcP256 },
            rng: SystemRandom::new(),
        }
    }

    /// The raw public key: the PKCS#1 `RSAPublicKey` DER for RSA, the uncompressed point for
    /// EC (the contents of `subjectPublicKey` in a certificate, RFC 5280 §4.1.2.7).
    pub fn public_key(&self) -> &[u8] {
        match &self.inner {
            KeyPairInner::Rsa(p) => p.public_key().as_ref(),
            KeyPairInner::Ec { pair, .. } => pair.public_key().as_ref(),
        }
    }

    /// The public key with its kind (what a certificate's `SubjectPublicKeyInfo` holds).
    pub fn public_key_info(&self) -> crate::PublicKeyInfo {
        crate::PublicKeyInfo { kind: self.kind, key: self.public_key().to_vec() }
    }
}

impl Signer for SoftwareKey {
    fn key_kind(&self) -> KeyKind {
        self.kind
    }

    fn max_signature_len(&self) -> usize {
        self.kind.max_signature_len()
    }

    fn sign(&self, scheme: SignatureScheme, digest: DigestAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        match (&self.inner, scheme) {
            (KeyPairInner::Rsa(pair), SignatureScheme::RsaPkcs1v15 | SignatureScheme::RsaPss) => {
                let enc: &'static dyn signature::RsaEncoding = match (scheme, digest) {
                    (SignatureScheme::RsaPss, DigestAlgorithm::Sha256) => &signature::RSA_PSS_SHA256,
                    (SignatureScheme::RsaPss, DigestAlgorithm::Sha384) => &signature::RSA_PSS_SHA384,
                    (SignatureScheme::RsaPss, DigestAlgorithm::Sha512) => &signature::RSA_PSS_SHA512,
                    (_, DigestAlgorithm::Sha256) => &signature::RSA_PKCS1_SHA256,
                    (_, DigestAlgorithm::Sha384) => &signature::RSA_PKCS1_SHA384,
                    (_, DigestAlgorithm::Sha512) => &signature::RSA_PKCS1_SHA512,
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(enc, &self.rng, message, &mut sig)
                    .map_err(|_| Error::SigningFailed("RSA signing failed".into()))?;
                Ok(sig)
            }
            (KeyPairInner::Ec { pair, p384 }, SignatureScheme::Ecdsa) => {
                let natural = if *p384 { DigestAlgorithm::Sha384 } else { DigestAlgorithm::Sha256 };
                let sig = if digest == natural {
                    pair.sign(&self.rng, message)
                } else {
                    // FIPS 186-5 §6.4.1: ECDSA uses the leftmost n bits of the hash, and a
                    // shorter hash as is. Truncating (or left-padding with zeros) to the curve's
                    // size gives the same integer, which aws-lc then signs as a "natural"
                    // digest of that size.
                    let h = digest.digest(message);
                    let n = natural.output_len();
                    let e = if h.len() >= n {
                        h[..n].to_vec()
                    } else {
                        let mut v = vec![0u8; n - h.len()];
                        v.extend_from_slice(&h);
                        v
                    };
                    let d = Digest::import_less_safe(&e, natural.aws())
                        .map_err(|_| Error::SigningFailed("digest import".into()))?;
                    pair.sign_digest(&d)
                };
                let sig = sig.map_err(|_| Error::SigningFailed("ECDSA signing failed".into()))?;
                Ok(sig.as_ref().to_vec())
            }
            _ => Err(Error::UnsupportedAlgorithm(format!("{scheme:?} with a {:?} key", self.kind))),
        }
    }
}

fn ec_alg(p384: bool) -> &'static signature::EcdsaSigningAlgorithm {
    if p384 { &signature::ECDSA_P384_SHA384_ASN1_SIGNING } else { &signature::ECDSA_P256_SHA256_ASN1_SIGNING }
}

fn rsa_rejected(e: aws_lc_rs::error::KeyRejected) -> Error {
    Error::InvalidKey(format!("RSA key rejected ({e}); RSA keys must be 2048 to 8192 bits"))
}

/// The key algorithm OID and, for EC, the named curve of a PKCS#8 `PrivateKeyInfo`.
fn pkcs8_algorithm(der: &[u8]) -> Result<(oid::ObjectIdentifier, Option<oid::ObjectIdentifier>), Error> {
    let pki = asn1::parse_single(der)?.expect(tag::SEQUENCE)?;
    let mut r = pki.reader();
    r.read_expect(tag::INTEGER)?;
    let alg = r.read_expect(tag::SEQUENCE)?;
    let mut ar = alg.reader();
    let alg_oid = asn1::decode_oid(&ar.read()?)?;
    let params = match ar.read_optional(tag::OID)? {
        Some(p) => Some(asn1::decode_oid(&p)?),
        None => None,
    };
    Ok((alg_oid, params))
}
