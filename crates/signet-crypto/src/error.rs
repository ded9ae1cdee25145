//! The crate's error type.

use std::fmt;

use crate::asn1::DerError;

/// Errors from key loading, signing and verification.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An algorithm, curve or parameter set that Signet does not support or refuses by policy.
    UnsupportedAlgorithm(String),
    /// A key that is too weak for new signatures (e.g. RSA below 2048 bits).
    WeakKey(String),
    /// The PKCS#12 MAC or encryption did not check out.
    WrongPassword,
    /// A key, certificate or PEM/PKCS#12 file could not be read.
    InvalidKey(String),
    /// A certificate could not be read.
    InvalidCertificate(String),
    /// The private key does not belong to the certificate.
    KeyMismatch,
    /// Malformed DER.
    Der(DerError),
    /// The signature does not verify.
    BadSignature,
    /// The signing operation itself failed.
    SigningFailed(String),
    /// A PKCS#11 module, token or key could not be used (module not found, token or key not
    /// on the token, unusable key attributes, a token error).
    Token(String),
    /// The token refused the user PIN (`CKR_PIN_INCORRECT`, `CKR_PIN_LEN_RANGE`).
    WrongPin {
        /// The label of the token.
        token: String,
    },
    /// The keystore master key is missing, malformed or unsafely stored.
    MasterKey(String),
    /// No key of this name is in the keystore.
    KeyNotFound(String),
    /// A sealed key did not open: another master key sealed it, or the file was altered.
    KeyDecryption {
        /// The key's name.
        name: String,
    },
    /// A keystore operation failed (bad name, corrupt file, existing key).
    Keystore(String),
    /// A keystore file or directory could not be read or written.
    KeystoreIo {
        /// The file or directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedAlgorithm(s) => write!(f, "unsupported algorithm: {s}"),
            Self::WeakKey(s) => write!(f, "key too weak for new signatures: {s}"),
            Self::WrongPassword => f.write_str("wrong PKCS#12 password or corrupt file"),
            Self::InvalidKey(s) => write!(f, "invalid key: {s}"),
            Self::InvalidCertificate(s) => write!(f, "invalid certificate: {s}"),
            Self::KeyMismatch => f.write_str("the private key does not match the certificate"),
            Self::Der(e) => write!(f, "malformed DER: {e}"),
            Self::BadSignature => f.write_str("signature does not verify"),
            Self::SigningFailed(s) => write!(f, "signing failed: {s}"),
            Self::Token(s) => write!(f, "PKCS#11: {s}"),
            Self::WrongPin { token } => write!(f, "PKCS#11: wrong PIN for the token '{token}'"),
            Self::MasterKey(s) => write!(f, "master key: {s}"),
            Self::KeyNotFound(name) => write!(f, "no key named '{name}' in the keystore"),
            Self::KeyDecryption { name } => write!(
                f,
                "key '{name}' does not open: it was sealed under a different master key, or its file was altered"
            ),
            Self::Keystore(s) => write!(f, "keystore: {s}"),
            Self::KeystoreIo { path, source } => write!(f, "keystore: {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Der(e) => Some(e),
            Self::KeystoreIo { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<DerError> for Error {
    fn from(e: DerError) -> Self {
        Self::Der(e)
    }
}
