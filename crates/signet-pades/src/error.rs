//! The one error type of this crate.

use std::fmt;

/// What can go wrong while signing a PDF.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or updating the PDF failed.
    Pdf(signet_pdf::Error),
    /// Producing the CMS signature failed.
    Signature(String),
    /// The request cannot be carried out on this document (named field is not a signature
    /// field, already signed, page out of range, DocMDP forbids it...).
    Refused(String),
    /// The CMS is larger than the space reserved for it.
    ContentsTooSmall {
        /// Bytes reserved.
        reserved: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// Writing the output failed.
    Io(std::io::Error),
    /// No timestamp could be obtained (B-T and above).
    Timestamp(String),
    /// The validation data is incomplete or could not be gathered (B-LT and above): the file
    /// is not written rather than written without it.
    Validation(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Pdf(e) => e.fmt(f),
            Error::Signature(s) => write!(f, "signing failed: {s}"),
            Error::Refused(s) => f.write_str(s),
            Error::ContentsTooSmall { reserved, needed } => {
                write!(f, "the signature needs {needed} bytes but only {reserved} were reserved")
            }
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Timestamp(s) => write!(f, "timestamp: {s}"),
            Error::Validation(s) => write!(f, "validation data: {s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Pdf(e) => Some(e),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<signet_pdf::Error> for Error {
    fn from(e: signet_pdf::Error) -> Self {
        Error::Pdf(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
