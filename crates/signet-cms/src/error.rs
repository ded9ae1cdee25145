//! The crate's error type.

use std::fmt;

use signet_crypto::asn1::DerError;

use crate::certpath::PathError;

/// Errors from building, parsing and verifying CMS structures.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A key, algorithm or signature error from `signet-crypto`.
    Crypto(signet_crypto::Error),
    /// Malformed DER, with what was being read.
    Malformed {
        /// The structure being read.
        what: &'static str,
        /// The DER problem, with its byte offset within that structure.
        source: DerError,
    },
    /// Well-formed DER that breaks a rule of RFC 5652 / ETSI EN 319 122-1.
    Invalid(String),
    /// A required signed attribute is missing.
    MissingAttribute(&'static str),
    /// The signer's certificate is not among the certificates of the `SignedData`.
    SignerCertificateNotFound,
    /// The message-digest attribute differs from the digest of the signed content.
    MessageDigestMismatch,
    /// The ESS signing-certificate(-v2) hash does not match the signer's certificate.
    SigningCertificateMismatch,
    /// The signature over the signed attributes does not verify.
    BadSignature,
    /// Certificate path error.
    Path(PathError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Crypto(e) => e.fmt(f),
            Self::Malformed { what, source } => write!(f, "malformed {what}: {source}"),
            Self::Invalid(s) => f.write_str(s),
            Self::MissingAttribute(a) => write!(f, "missing signed attribute {a}"),
            Self::SignerCertificateNotFound => f.write_str("the signer's certificate is not in the signature"),
            Self::MessageDigestMismatch => f.write_str("message digest does not match the signed content"),
            Self::SigningCertificateMismatch => {
                f.write_str("signing-certificate-v2 hash does not match the signer's certificate")
            }
            Self::BadSignature => f.write_str("signature over the signed attributes does not verify"),
            Self::Path(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Crypto(e) => Some(e),
            Self::Malformed { source, .. } => Some(source),
            Self::Path(e) => Some(e),
            _ => None,
        }
    }
}

impl From<signet_crypto::Error> for Error {
    fn from(e: signet_crypto::Error) -> Self {
        Self::Crypto(e)
    }
}

impl From<PathError> for Error {
    fn from(e: PathError) -> Self {
        Self::Path(e)
    }
}

/// Attaches the name of the structure being read to a DER error.
pub(crate) trait Context<T> {
    fn ctx(self, what: &'static str) -> Result<T, Error>;
}

impl<T> Context<T> for Result<T, DerError> {
    fn ctx(self, what: &'static str) -> Result<T, Error> {
        self.map_err(|source| Error::Malformed { what, source })
    }
}
