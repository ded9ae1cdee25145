//! Signing and verification primitives for Signet.
//!
//! - [`DigestAlgorithm`] and the streaming [`Hasher`] (SHA-2 only: SHA-1 and MD5 are refused
//!   for new signatures by policy).
//! - The [`Signer`] provider trait: the PDF and CMS code only ever sees this, so software keys,
//!   PKCS#11 tokens and remote signing services are interchangeable.
//! - [`SoftwareKey`], a [`Signer`] over `aws-lc-rs` key pairs, and [`Identity`] (signer plus
//!   certificate chain) loaded from PKCS#12 or PEM files.
//! - [`Pkcs11Key`], a [`Signer`] over a private key on a PKCS#11 token (HSM, smart card,
//!   SoftHSM2), and [`Identity::from_pkcs11`].
//! - [`verify_signature`] over a `SubjectPublicKeyInfo` with a [`SignatureAlgorithm`] read from
//!   an X.509/CMS `AlgorithmIdentifier` (RFC 5280 §4.1.1.2, RFC 4055, RFC 5754, RFC 5758).
//! - [`asn1`], a small DER reader shared by the CMS and path-validation code.
//! - [`Keystore`]: private keys sealed at rest with AES-256-GCM under a [`MasterKey`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod algorithm;
pub mod asn1;
mod digest;
mod error;
mod identity;
pub mod keystore;
pub mod oid;
mod pkcs11;
mod signer;
mod verify;

pub use algorithm::SignatureAlgorithm;
pub use digest::{DigestAlgorithm, Hasher};
pub use error::Error;
pub use identity::{Identity, certificates_from_pem_or_der, pkcs12_parts};
pub use keystore::{Keystore, MasterKey};
pub use pkcs11::{KeyRef, Pkcs11Key, TokenRef, ecdsa_raw_to_der};
pub use signer::{KeyKind, SignatureScheme, Signer, SoftwareKey};
pub use verify::{PublicKeyInfo, certificate_spki, verify_signature, with_verification_memo};

/// Seeds the random generator now. Its first use gathers entropy (tens of milliseconds of
/// CPU); a caller with idle time on another thread, such as a file copy, can pay it there.
pub fn warm_up() {
    let mut b = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut b);
}
