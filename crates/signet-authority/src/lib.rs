//! Signet's built-in trust services, so an organisation without a PKI can sign and validate
//! with nothing outside Signet, and one with a PKI can keep using it:
//!
//! - a certification authority (RFC 5280 profiles) with revocation and CRLs (RFC 5280 §5),
//! - an OCSP responder (RFC 6960),
//! - a time-stamping authority (RFC 3161, RFC 5816).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ocsp;
pub mod tsa;
