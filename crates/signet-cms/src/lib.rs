//! CMS `SignedData` (RFC 5652) for PAdES baseline signatures (ETSI EN 319 142-1 §6.3), with the
//! CAdES signed attributes of ETSI EN 319 122-1 §5.2, and RFC 5280 §6 certificate paths.
//!
//! - Building: [`signed_attributes`] → [`Signer::sign`](signet_crypto::Signer::sign) →
//!   [`assemble_signed_data`], or all three at once with [`build_signed_data`]. The split form
//!   serves remote and deferred signing. [`estimated_len`] sizes the PDF `/Contents` hole.
//! - Parsing and verifying: [`ParsedSignedData`] reads hostile input without panicking and
//!   checks the signature, the message digest and the ESS signing-certificate-v2.
//! - [`certpath`]: path building and basic validation up to a trust anchor.
//! - [`tsp`]: RFC 3161 time-stamp requests, responses and token verification.
//! - [`ocsp`] and [`crl`]: RFC 6960 OCSP requests and responses, RFC 5280 §5 CRLs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod build;
mod cert;
pub mod certpath;
pub mod crl;
mod error;
pub mod ocsp;
pub mod oid;
mod parse;
pub mod tsp;

pub use build::{assemble_signed_data, build_signed_data, estimated_len, signed_attributes};
pub use cert::{CertView, Extension};
pub use error::Error;
pub use parse::{Attribute, EssCertIdV2, ParsedSignedData};
