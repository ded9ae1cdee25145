//! Signet's built-in trust services, so an organisation without a PKI can sign and validate
//! with nothing outside Signet, and one with a PKI can keep using it:
//!
//! - a certification authority (RFC 5280 profiles) with revocation and CRLs (RFC 5280 §5):
//!   [`Authority`], kept in a data directory with its keys sealed in a
//!   [`Keystore`](signet_crypto::Keystore),
//! - an OCSP responder (RFC 6960),
//! - a time-stamping authority (RFC 3161, RFC 5816).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authority;
mod crl;
mod error;
pub mod ocsp;
mod profile;
pub mod tsa;
pub mod x509;

pub use authority::{
    Authority, AuthorityOptions, CaLevel, CertStatus, CertificateRecord, IssueRequest, Issued, KeySource,
    MasterKeySource, Revocation,
};
pub use crl::RevocationReason;
pub use error::Error;
pub use profile::{Profile, PublicUrls};
pub use x509::DistinguishedName;
