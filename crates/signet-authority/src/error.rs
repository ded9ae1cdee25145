//! The crate's error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why an authority operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Key generation, loading, signing or the keystore failed.
    Crypto(signet_crypto::Error),
    /// A file or directory of the authority could not be read or written.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file of the authority holds something it should not (edited by hand, truncated).
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `open` found no authority in the data directory.
    NotInitialized {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// `init` found an authority already there.
    AlreadyInitialized {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// A subject name or alternative name that cannot go into a certificate.
    InvalidName(String),
    /// A request that does not make sense (wrong profile, bad URL, bad validity).
    InvalidRequest(String),
    /// No certificate with this serial number was issued by this authority.
    UnknownSerial(String),
    /// The certificate is already revoked.
    AlreadyRevoked(String),
    /// The certificate was issued for a key the authority does not hold.
    NoPrivateKey(String),
    /// The PKCS#12 file could not be written.
    Pkcs12(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Crypto(e) => e.fmt(f),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Corrupt { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::NotInitialized { data_dir } => write!(
                f,
                "no certification authority in {} (run `signet ca init` or start `signet serve`)",
                data_dir.display()
            ),
            Self::AlreadyInitialized { data_dir } => {
                write!(f, "a certification authority already exists in {}", data_dir.display())
            }
            Self::InvalidName(s) => write!(f, "invalid name: {s}"),
            Self::InvalidRequest(s) => f.write_str(s),
            Self::UnknownSerial(s) => write!(f, "no certificate with serial number {s} was issued here"),
            Self::AlreadyRevoked(s) => write!(f, "certificate {s} is already revoked"),
            Self::NoPrivateKey(s) => {
                write!(f, "certificate {s} was issued for a key held elsewhere: there is no private key to export")
            }
            Self::Pkcs12(s) => write!(f, "PKCS#12 export: {s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Crypto(e) => Some(e),
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<signet_crypto::Error> for Error {
    fn from(e: signet_crypto::Error) -> Self {
        Self::Crypto(e)
    }
}

impl From<signet_crypto::asn1::DerError> for Error {
    fn from(e: signet_crypto::asn1::DerError) -> Self {
        Self::Crypto(e.into())
    }
}

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
