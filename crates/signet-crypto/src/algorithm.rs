//! Signature algorithm identifiers (RFC 5280 §4.1.1.2, RFC 4055 §3 and §5, RFC 5754 §3,
//! RFC 5758 §3.2, RFC 5652 §10.1.2).

use crate::asn1::{self, DerReader, tag};
use crate::{DigestAlgorithm, Error, SignatureScheme, oid};

/// A complete signature algorithm: scheme plus digest (and the PSS salt length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2).
    RsaPkcs1v15(DigestAlgorithm),
    /// RSASSA-PSS (RFC 8017 §8.1) with MGF1 over the same digest and trailer field 1.
    RsaPss {
        /// Message digest (also used by MGF1).
        digest: DigestAlgorithm,
        /// Salt length in bytes.
        salt_len: usize,
    },
    /// ECDSA (FIPS 186-5) with a DER `Ecdsa-Sig-Value`.
    Ecdsa(DigestAlgorithm),
}

impl SignatureAlgorithm {
    /// The algorithm Signet uses for new signatures with `scheme` and `digest`
    /// (PSS: salt length = digest length, RFC 4055 §3.1 recommendation).
    pub fn new(scheme: SignatureScheme, digest: DigestAlgorithm) -> Self {
        match scheme {
            SignatureScheme::RsaPkcs1v15 => Self::RsaPkcs1v15(digest),
            SignatureScheme::RsaPss => Self::RsaPss { digest, salt_len: digest.output_len() },
            SignatureScheme::Ecdsa => Self::Ecdsa(digest),
        }
    }

    /// The scheme.
    pub fn scheme(&self) -> SignatureScheme {
        match self {
            Self::RsaPkcs1v15(_) => SignatureScheme::RsaPkcs1v15,
            Self::RsaPss { .. } => SignatureScheme::RsaPss,
            Self::Ecdsa(_) => SignatureScheme::Ecdsa,
        }
    }

    /// The message digest.
    pub fn digest(&self) -> DigestAlgorithm {
        match self {
            Self::RsaPkcs1v15(d) | Self::Ecdsa(d) | Self::RsaPss { digest: d, .. } => *d,
        }
    }

    /// Reads a DER `AlgorithmIdentifier` naming a signature algorithm.
    ///
    /// `digest_hint` supplies the digest when the identifier names only the key type
    /// (`rsaEncryption` or `id-ecPublicKey`, which RFC 5652 §10.1.2 and some producers use in
    /// `SignerInfo.signatureAlgorithm`); it is the `SignerInfo.digestAlgorithm`.
    pub fn from_algorithm_identifier(der: &[u8], digest_hint: Option<DigestAlgorithm>) -> Result<Self, Error> {
        let seq = asn1::parse_single(der)?.expect(tag::SEQUENCE)?;
        let mut r = seq.reader();
        let alg = asn1::decode_oid(&r.read()?)?;
        let params = if r.is_empty() { None } else { Some(r.read()?) };
        r.finish()?;
        let need_hint = || {
            digest_hint.ok_or_else(|| {
                Error::UnsupportedAlgorithm(format!("{alg} names no digest and no digest algorithm was given"))
            })
        };
        Ok(match alg {
            oid::SHA256_WITH_RSA => Self::RsaPkcs1v15(DigestAlgorithm::Sha256),
            oid::SHA384_WITH_RSA => Self::RsaPkcs1v15(DigestAlgorithm::Sha384),
            oid::SHA512_WITH_RSA => Self::RsaPkcs1v15(DigestAlgorithm::Sha512),
            oid::RSA_ENCRYPTION => Self::RsaPkcs1v15(need_hint()?),
            oid::ECDSA_WITH_SHA256 => Self::Ecdsa(DigestAlgorithm::Sha256),
            oid::ECDSA_WITH_SHA384 => Self::Ecdsa(DigestAlgorithm::Sha384),
            oid::ECDSA_WITH_SHA512 => Self::Ecdsa(DigestAlgorithm::Sha512),
            oid::EC_PUBLIC_KEY => Self::Ecdsa(need_hint()?),
            oid::RSASSA_PSS => {
                let params =
                    params.ok_or_else(|| Error::UnsupportedAlgorithm("RSASSA-PSS without parameters".into()))?;
                parse_pss_params(params.expect(tag::SEQUENCE)?.value)?
            }
            oid::SHA1_WITH_RSA | oid::ECDSA_WITH_SHA1 => {
                return Err(Error::UnsupportedAlgorithm("SHA-1 signatures are refused by policy".into()));
            }
            other => {
                return Err(Error::UnsupportedAlgorithm(format!("signature algorithm {other}")));
            }
        })
    }

    /// The DER `AlgorithmIdentifier` for this algorithm: `sha*WithRSAEncryption` with NULL
    /// parameters (RFC 4055 §5), `id-RSASSA-PSS` with explicit `RSASSA-PSS-params`
    /// (RFC 4055 §3.1; `trailerField` is its DEFAULT and so is not encoded, X.690 §11.5),
    /// `ecdsa-with-SHA*` without parameters (RFC 5758 §3.2).
    pub fn to_algorithm_identifier(&self) -> Vec<u8> {
        match *self {
            Self::RsaPkcs1v15(d) => {
                let oid = match d {
                    DigestAlgorithm::Sha256 => oid::SHA256_WITH_RSA,
                    DigestAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                    DigestAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
                };
                asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(&oid), &[tag::NULL, 0]])
            }
            Self::Ecdsa(d) => {
                let oid = match d {
                    DigestAlgorithm::Sha256 => oid::ECDSA_WITH_SHA256,
                    DigestAlgorithm::Sha384 => oid::ECDSA_WITH_SHA384,
                    DigestAlgorithm::Sha512 => oid::ECDSA_WITH_SHA512,
                };
                asn1::encode(tag::SEQUENCE, &asn1::encode_oid(&oid))
            }
            Self::RsaPss { digest, salt_len } => {
                let hash = digest_algorithm_identifier(digest);
                let mgf = asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(&oid::MGF1), &hash]);
                let params = asn1::encode_parts(
                    tag::SEQUENCE,
                    &[
                        &asn1::encode(tag::CTX0, &hash),
                        &asn1::encode(tag::CTX1, &mgf),
                        &asn1::encode(tag::CTX2, &asn1::encode_small_uint(salt_len as u64)),
                    ],
                );
                asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(&oid::RSASSA_PSS), &params])
            }
        }
    }
}

/// A digest `AlgorithmIdentifier` with absent parameters (RFC 5754 §2).
pub(crate) fn digest_algorithm_identifier(d: DigestAlgorithm) -> Vec<u8> {
    asn1::encode(tag::SEQUENCE, &asn1::encode_oid(&d.oid()))
}

/// Reads a digest `AlgorithmIdentifier` (parameters absent or NULL, RFC 5754 §2).
pub(crate) fn parse_digest_algorithm_identifier(value: &[u8]) -> Result<DigestAlgorithm, Error> {
    let mut r = DerReader::new(value);
    let alg = asn1::decode_oid(&r.read()?)?;
    if let Some(p) = r.read_optional(tag::NULL)? {
        if !p.value.is_empty() {
            return Err(Error::UnsupportedAlgorithm("malformed NULL parameters".into()));
        }
    }
    r.finish()?;
    DigestAlgorithm::from_oid(&alg)
}

/// RSASSA-PSS-params (RFC 4055 §3.1). Defaults (SHA-1, MGF1-SHA-1, salt 20) are refused
/// because they mean SHA-1.
fn parse_pss_params(value: &[u8]) -> Result<SignatureAlgorithm, Error> {
    let mut r = DerReader::new(value);
    let hash = match r.read_optional(tag::CTX0)? {
        Some(h) => parse_digest_algorithm_identifier(asn1::parse_single(h.value)?.expect(tag::SEQUENCE)?.value)?,
        None => {
            return Err(Error::UnsupportedAlgorithm("RSASSA-PSS with the default SHA-1 hash".into()));
        }
    };
    let mgf_hash = match r.read_optional(tag::CTX1)? {
        Some(m) => {
            let seq = asn1::parse_single(m.value)?.expect(tag::SEQUENCE)?;
            let mut mr = seq.reader();
            let mgf = asn1::decode_oid(&mr.read()?)?;
            if mgf != oid::MGF1 {
                return Err(Error::UnsupportedAlgorithm(format!("mask generation {mgf}")));
            }
            let inner = mr.read_expect(tag::SEQUENCE)?;
            mr.finish()?;
            parse_digest_algorithm_identifier(inner.value)?
        }
        None => {
            return Err(Error::UnsupportedAlgorithm("RSASSA-PSS with the default MGF1-SHA-1".into()));
        }
    };
    if mgf_hash != hash {
        return Err(Error::UnsupportedAlgorithm("RSASSA-PSS with an MGF1 hash different from the message hash".into()));
    }
    let salt_len = match r.read_optional(tag::CTX2)? {
        Some(s) => asn1::decode_small_uint(&asn1::parse_single(s.value)?)? as usize,
        None => 20,
    };
    if let Some(t) = r.read_optional(tag::CTX3)? {
        if asn1::decode_small_uint(&asn1::parse_single(t.value)?)? != 1 {
            return Err(Error::UnsupportedAlgorithm("RSASSA-PSS trailer field".into()));
        }
    }
    r.finish()?;
    Ok(SignatureAlgorithm::RsaPss { digest: hash, salt_len })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_identifiers_round_trip() {
        for d in DigestAlgorithm::ALL {
            for s in [SignatureScheme::RsaPkcs1v15, SignatureScheme::RsaPss, SignatureScheme::Ecdsa] {
                let alg = SignatureAlgorithm::new(s, d);
                let der = alg.to_algorithm_identifier();
                assert_eq!(SignatureAlgorithm::from_algorithm_identifier(&der, None).unwrap(), alg);
            }
        }
    }

    #[test]
    fn pss_params_with_null_hash_parameters() {
        // The layout `openssl cms -sign -keyopt rsa_padding_mode:pss -md sha256` writes (NULL
        // hash parameters, trailer field omitted), with salt length 32 instead of OpenSSL's
        // default maximum.
        let expected = [
            0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0, 0x0f, 0x30,
            0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a,
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
            0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
        ];
        // We write absent hash parameters (RFC 5754 §2); both forms parse to the same algorithm.
        assert_eq!(
            SignatureAlgorithm::from_algorithm_identifier(&expected, None).unwrap(),
            SignatureAlgorithm::new(SignatureScheme::RsaPss, DigestAlgorithm::Sha256)
        );
    }

    #[test]
    fn key_only_identifiers_need_the_digest() {
        let rsa = asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(&oid::RSA_ENCRYPTION), &[tag::NULL, 0]]);
        assert!(SignatureAlgorithm::from_algorithm_identifier(&rsa, None).is_err());
        assert_eq!(
            SignatureAlgorithm::from_algorithm_identifier(&rsa, Some(DigestAlgorithm::Sha384)).unwrap(),
            SignatureAlgorithm::RsaPkcs1v15(DigestAlgorithm::Sha384)
        );
    }
}
