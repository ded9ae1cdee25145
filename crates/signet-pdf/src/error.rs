//! The one error type of this crate.

use std::fmt;

/// Everything that can go wrong reading or updating a PDF.
///
/// Parser errors carry the byte offset (and the object, when known) so that a report names
/// the place in the file.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the underlying file failed.
    Io(std::io::Error),
    /// The bytes are not valid PDF syntax at `offset`.
    Syntax {
        /// Byte offset in the file (or in the decoded stream named by `object`).
        offset: u64,
        /// What was expected or found.
        what: String,
    },
    /// A structural rule of ISO 32000 is broken (missing `/Root`, a page without `/MediaBox`...).
    Structure(String),
    /// A hostile-input bound was hit (nesting depth, object count, decoded size, work).
    Limit(String),
    /// A stream filter or predictor could not be decoded.
    Filter(String),
    /// The document is encrypted and the password was missing or wrong, or the security
    /// handler is not supported.
    Encryption(String),
    /// The caller asked for something the document does not allow or have.
    Unsupported(String),
}

impl Error {
    pub(crate) fn syntax(offset: u64, what: impl Into<String>) -> Self {
        Error::Syntax { offset, what: what.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Syntax { offset, what } => write!(f, "PDF syntax error at byte {offset}: {what}"),
            Error::Structure(s) => write!(f, "invalid PDF structure: {s}"),
            Error::Limit(s) => write!(f, "limit exceeded: {s}"),
            Error::Filter(s) => write!(f, "stream decoding failed: {s}"),
            Error::Encryption(s) => write!(f, "encrypted PDF: {s}"),
            Error::Unsupported(s) => write!(f, "unsupported: {s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
