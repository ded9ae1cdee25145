//! The one error type of this crate.

use std::fmt;

/// Why a certificate could not be rendered.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A field of the report holds a value the certificate would misstate (a digest that is
    /// not hexadecimal, a time zone past ±18 hours).
    InvalidField {
        /// The field, as a path into the report (`events[3].entry_hash`).
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An embedded font could not be read or subset (a build defect, not an input error).
    Font {
        /// The font's PostScript name.
        font: &'static str,
        /// What failed.
        reason: String,
    },
}

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, reason: &'static str) -> Self {
        Error::InvalidField { field: field.into(), reason }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidField { field, reason } => write!(f, "invalid report field {field}: {reason}"),
            Error::Font { font, reason } => write!(f, "embedded font {font}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
