//! Certificate revocation lists (RFC 5280 §5) and revocation reasons (§5.3.1).

use std::time::SystemTime;

use signet_cms::oid;
use signet_crypto::Signer;
use signet_crypto::asn1::{self, tag};

use crate::Error;
use crate::x509::{self, Extension, whole_seconds};

const ENUMERATED: u8 = 0x0A;

/// Why a certificate was revoked: `CRLReason` (RFC 5280 §5.3.1), the type the CRL and OCSP
/// readers use too. The authority issues only [`RevocationReason::ISSUABLE`] ones.
pub use signet_cms::crl::RevocationReason;

/// The one-octet ENUMERATED content of an issuable reason (all are below 128).
pub(crate) fn reason_octet(r: RevocationReason) -> u8 {
    u8::try_from(r.code()).unwrap_or(0)
}

/// One revoked certificate on a CRL.
pub(crate) struct RevokedEntry<'a> {
    /// Content octets of the serial INTEGER.
    pub(crate) serial: &'a [u8],
    pub(crate) time: SystemTime,
    pub(crate) reason: RevocationReason,
}

/// What goes into one CRL.
pub(crate) struct CrlContents<'a> {
    /// The issuer `Name` DER (the CA's subject).
    pub(crate) issuer: &'a [u8],
    pub(crate) issuer_key_id: &'a [u8],
    pub(crate) number: u64,
    pub(crate) this_update: SystemTime,
    pub(crate) next_update: SystemTime,
    pub(crate) revoked: Vec<RevokedEntry<'a>>,
}

impl CrlContents<'_> {
    /// The signed `CertificateList` (RFC 5280 §5.1): v2, nextUpdate always present (§5.1.2.5),
    /// authorityKeyIdentifier and cRLNumber (§5.2.1, §5.2.3), reasonCode entry extensions
    /// (§5.3.1).
    pub(crate) fn sign(&self, signer: &dyn Signer) -> Result<Vec<u8>, Error> {
        let version = asn1::encode_small_uint(1);
        let alg = x509::signature_algorithm(signer.key_kind()).to_algorithm_identifier();
        let this_update = asn1::encode_time(whole_seconds(self.this_update));
        let next_update = asn1::encode_time(whole_seconds(self.next_update));
        let mut entries = Vec::with_capacity(self.revoked.len());
        for r in &self.revoked {
            let serial = asn1::encode(tag::INTEGER, r.serial);
            let date = asn1::encode_time(whole_seconds(r.time));
            entries.push(if r.reason == RevocationReason::Unspecified {
                asn1::encode_parts(tag::SEQUENCE, &[&serial, &date])
            } else {
                let reason = Extension {
                    oid: oid::CRL_REASON,
                    critical: false,
                    value: asn1::encode(ENUMERATED, &[reason_octet(r.reason)]),
                };
                asn1::encode_parts(tag::SEQUENCE, &[&serial, &date, &x509::encode_extensions(&[reason])])
            });
        }
        let extensions = [
            x509::authority_key_identifier(self.issuer_key_id),
            Extension { oid: oid::CRL_NUMBER, critical: false, value: asn1::encode_small_uint(self.number) },
        ];
        let extensions = asn1::encode(tag::CTX0, &x509::encode_extensions(&extensions));
        let mut parts: Vec<&[u8]> = vec![&version, &alg, self.issuer, &this_update, &next_update];
        let revoked;
        if !entries.is_empty() {
            // revokedCertificates is absent, not empty, when nothing is revoked (§5.1.2.6).
            let entry_parts: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            revoked = asn1::encode_parts(tag::SEQUENCE, &entry_parts);
            parts.push(&revoked);
        }
        parts.push(&extensions);
        let tbs = asn1::encode_parts(tag::SEQUENCE, &parts);
        x509::sign_tbs(&tbs, signer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reasons_by_name_and_code() {
        for r in RevocationReason::ISSUABLE {
            assert_eq!(r.to_string().parse::<RevocationReason>().unwrap(), r);
            assert_eq!(RevocationReason::from_code(r.code()), r);
            assert_eq!(u64::from(reason_octet(r)), r.code());
        }
        assert_eq!("key-compromise".parse::<RevocationReason>().unwrap(), RevocationReason::KeyCompromise);
        assert_eq!("CACOMPROMISE".parse::<RevocationReason>().unwrap(), RevocationReason::CaCompromise);
        assert!(!RevocationReason::ISSUABLE.contains(&RevocationReason::RemoveFromCrl));
        assert!("nonsense".parse::<RevocationReason>().is_err());
    }
}
