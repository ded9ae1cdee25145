//! Certificate revocation lists (RFC 5280 §5) and revocation reasons (§5.3.1).

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use signet_cms::oid;
use signet_crypto::Signer;
use signet_crypto::asn1::{self, tag};

use crate::Error;
use crate::x509::{self, Extension, whole_seconds};

const ENUMERATED: u8 = 0x0A;

/// Why a certificate was revoked: `CRLReason` (RFC 5280 §5.3.1). `removeFromCRL` (8) exists
/// only for delta CRLs, which Signet does not issue, so it is not offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationReason {
    /// unspecified (0): written without a reasonCode entry extension, as §5.3.1 asks.
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6).
    CertificateHold,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
}

impl RevocationReason {
    /// Every reason.
    pub const ALL: [Self; 9] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::CaCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::CertificateHold,
        Self::PrivilegeWithdrawn,
        Self::AaCompromise,
    ];

    /// The `CRLReason` value.
    pub fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::PrivilegeWithdrawn => 9,
            Self::AaCompromise => 10,
        }
    }

    /// The reason with this `CRLReason` value.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The ASN.1 name, as in RFC 5280 (`keyCompromise`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
            Self::AaCompromise => "aACompromise",
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RevocationReason {
    type Err = Error;

    /// The RFC 5280 names in any case, with or without `-`/`_` (`key-compromise`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let wanted: String = s.chars().filter(|c| *c != '-' && *c != '_').collect();
        Self::ALL.into_iter().find(|r| r.name().eq_ignore_ascii_case(&wanted)).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|r| r.name()).collect();
            Error::InvalidRequest(format!("unknown revocation reason '{s}' (one of {})", names.join(", ")))
        })
    }
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
                    value: asn1::encode(ENUMERATED, &[r.reason.code()]),
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
        for r in RevocationReason::ALL {
            assert_eq!(r.name().parse::<RevocationReason>().unwrap(), r);
            assert_eq!(RevocationReason::from_code(r.code()), Some(r));
        }
        assert_eq!("key-compromise".parse::<RevocationReason>().unwrap(), RevocationReason::KeyCompromise);
        assert_eq!("CACOMPROMISE".parse::<RevocationReason>().unwrap(), RevocationReason::CaCompromise);
        assert!("removeFromCRL".parse::<RevocationReason>().is_err());
        assert_eq!(RevocationReason::from_code(8), None);
    }
}
