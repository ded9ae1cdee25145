//! X.509 certificate revocation lists (RFC 5280 §5): reading from untrusted bytes, checking
//! the issuer's signature, looking up a serial number.
//!
//! Only complete CRLs are understood. A CRL marking as critical an extension this module does
//! not process (issuingDistributionPoint §5.2.5, deltaCRLIndicator §5.2.4, an entry's
//! certificateIssuer §5.3.3, ...) is still read, and the extensions are listed in
//! [`Crl::unhandled_critical`]; [`Crl::check_usable`] refuses it, as RFC 5280 §5.2 requires of
//! an application that "cannot process" them.

use std::fmt;
use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use signet_crypto::SignatureAlgorithm;
use signet_crypto::asn1::{self, DerReader, Tlv, tag};

use crate::cert::CertView;
use crate::certpath::name_to_string;
use crate::error::Context;
use crate::{Error, oid};

/// id-ce-deltaCRLIndicator (RFC 5280 §5.2.4).
const DELTA_CRL_INDICATOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.27");
/// id-ce-issuingDistributionPoint (RFC 5280 §5.2.5).
const ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
/// id-ce-invalidityDate (RFC 5280 §5.3.2).
const INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");
/// id-ce-issuerAltName (RFC 5280 §5.2.2).
const ISSUER_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.18");
/// id-ce-freshestCRL (RFC 5280 §5.2.6).
const FRESHEST_CRL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.46");

/// `CRLReason` (RFC 5280 §5.3.1), shared with OCSP `RevokedInfo` (RFC 6960 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationReason {
    /// unspecified (0)
    Unspecified,
    /// keyCompromise (1)
    KeyCompromise,
    /// cACompromise (2)
    CaCompromise,
    /// affiliationChanged (3)
    AffiliationChanged,
    /// superseded (4)
    Superseded,
    /// cessationOfOperation (5)
    CessationOfOperation,
    /// certificateHold (6)
    CertificateHold,
    /// removeFromCRL (8)
    RemoveFromCrl,
    /// privilegeWithdrawn (9)
    PrivilegeWithdrawn,
    /// aACompromise (10)
    AaCompromise,
    /// A value RFC 5280 does not define.
    Other(u64),
}

impl RevocationReason {
    /// The reasons a CA puts on a complete CRL or in an OCSP answer: all of RFC 5280 §5.3.1
    /// but removeFromCRL, which belongs to delta CRLs only.
    pub const ISSUABLE: [Self; 9] = [
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

    /// The ENUMERATED value.
    pub fn code(self) -> u64 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::RemoveFromCrl => 8,
            Self::PrivilegeWithdrawn => 9,
            Self::AaCompromise => 10,
            Self::Other(n) => n,
        }
    }

    /// The reason for an ENUMERATED value.
    pub fn from_code(code: u64) -> Self {
        match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            8 => Self::RemoveFromCrl,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::RemoveFromCrl => "removeFromCRL",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
            Self::AaCompromise => "aACompromise",
            Self::Other(n) => return write!(f, "reason code {n}"),
        };
        f.write_str(s)
    }
}

impl std::str::FromStr for RevocationReason {
    type Err = String;

    /// The RFC 5280 names in any case, with or without `-`/`_` (`key-compromise`).
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted: String = s.chars().filter(|c| *c != '-' && *c != '_').collect();
        Self::ISSUABLE
            .into_iter()
            .chain([Self::RemoveFromCrl])
            .find(|r| r.to_string().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| {
                let names: Vec<String> = Self::ISSUABLE.iter().map(|r| r.to_string()).collect();
                format!("unknown revocation reason '{s}' (one of {})", names.join(", "))
            })
    }
}

/// Reads a `CRLReason ::= ENUMERATED` element.
pub(crate) fn decode_reason(t: &Tlv<'_>) -> Result<RevocationReason, asn1::DerError> {
    let t = t.expect(0x0a)?;
    Ok(RevocationReason::from_code(asn1::decode_small_uint(&Tlv { tag: tag::INTEGER, ..t })?))
}

/// One `revokedCertificates` entry (RFC 5280 §5.1.2.6, §5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevokedEntry {
    /// userCertificate: the serial number's content octets.
    pub serial: Vec<u8>,
    /// revocationDate
    pub revocation_date: SystemTime,
    /// reasonCode entry extension (§5.3.1), when present.
    pub reason: Option<RevocationReason>,
    /// invalidityDate entry extension (§5.3.2), when present.
    pub invalidity_date: Option<SystemTime>,
}

/// A parsed CRL (RFC 5280 §5.1):
///
/// ```text
/// CertificateList ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm
///    AlgorithmIdentifier, signatureValue BIT STRING }
/// TBSCertList ::= SEQUENCE {
///    version Version OPTIONAL, signature AlgorithmIdentifier, issuer Name,
///    thisUpdate Time, nextUpdate Time OPTIONAL,
///    revokedCertificates SEQUENCE OF SEQUENCE { userCertificate CertificateSerialNumber,
///        revocationDate Time, crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
///    crlExtensions [0] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Crl {
    /// The whole CRL, as given.
    pub der: Vec<u8>,
    /// The tbsCertList element (what the issuer signed).
    pub tbs: Vec<u8>,
    /// The issuer Name element.
    pub issuer: Vec<u8>,
    /// thisUpdate
    pub this_update: SystemTime,
    /// nextUpdate (required by RFC 5280 §5.1.2.5 of conforming issuers, optional in the syntax).
    pub next_update: Option<SystemTime>,
    /// Every revoked certificate, in order.
    pub revoked: Vec<RevokedEntry>,
    /// cRLNumber (§5.2.3) content octets.
    pub crl_number: Option<Vec<u8>>,
    /// authorityKeyIdentifier keyIdentifier (§5.2.1).
    pub authority_key_id: Option<Vec<u8>>,
    /// deltaCRLIndicator (§5.2.4): the base CRL number, when this is a delta CRL.
    pub delta_base: Option<Vec<u8>>,
    /// issuingDistributionPoint (§5.2.5) extension value, when present: the CRL's scope is
    /// restricted (only some certificates or reasons, or an indirect CRL).
    pub issuing_distribution_point: Option<Vec<u8>>,
    /// Critical CRL or entry extensions not processed here (see the module documentation).
    pub unhandled_critical: Vec<ObjectIdentifier>,
    /// The outer signatureAlgorithm element.
    pub signature_algorithm: Vec<u8>,
    /// The signature bits.
    pub signature: Vec<u8>,
}

impl Crl {
    /// Reads a DER CRL from untrusted bytes.
    pub fn parse(der: &[u8]) -> Result<Self, Error> {
        const W: &str = "CRL";
        let cl = asn1::parse_single(der).and_then(|t| t.expect(tag::SEQUENCE)).ctx(W)?;
        let mut r = cl.reader();
        let tbs = r.read_expect(tag::SEQUENCE).ctx("tbsCertList")?;
        let signature_algorithm = r.read_expect(tag::SEQUENCE).ctx("CRL signatureAlgorithm")?.raw.to_vec();
        let sig = r.read_expect(tag::BIT_STRING).ctx("CRL signatureValue")?;
        r.finish().ctx(W)?;
        let signature = match sig.value.split_first() {
            Some((0, s)) => s.to_vec(),
            _ => return Err(Error::Invalid("CRL signature BIT STRING has unused bits".into())),
        };

        const T: &str = "tbsCertList";
        let mut t = tbs.reader();
        if let Some(v) = t.read_optional(tag::INTEGER).ctx(T)? {
            if asn1::decode_small_uint(&v).ctx(T)? != 1 {
                return Err(Error::Invalid("CRL version is not v2 (RFC 5280 §5.1.2.1)".into()));
            }
        }
        let inner_alg = t.read_expect(tag::SEQUENCE).ctx(T)?;
        if inner_alg.raw != signature_algorithm.as_slice() {
            // RFC 5280 §5.1.1.2: MUST be the same as tbsCertList.signature.
            return Err(Error::Invalid("CRL signatureAlgorithm differs from tbsCertList.signature".into()));
        }
        let issuer = t.read_expect(tag::SEQUENCE).ctx("CRL issuer")?.raw.to_vec();
        let this_update = asn1::decode_time(&t.read().ctx("CRL thisUpdate")?).ctx("CRL thisUpdate")?;
        let next_update = match t.peek_tag() {
            Some(tag::UTC_TIME | tag::GENERALIZED_TIME) => {
                Some(asn1::decode_time(&t.read().ctx("CRL nextUpdate")?).ctx("CRL nextUpdate")?)
            }
            _ => None,
        };
        let mut out = Self {
            der: der.to_vec(),
            tbs: tbs.raw.to_vec(),
            issuer,
            this_update,
            next_update,
            revoked: Vec::new(),
            crl_number: None,
            authority_key_id: None,
            delta_base: None,
            issuing_distribution_point: None,
            unhandled_critical: Vec::new(),
            signature_algorithm,
            signature,
        };
        if let Some(list) = t.read_optional(tag::SEQUENCE).ctx("revokedCertificates")? {
            out.read_entries(list)?;
        }
        if let Some(exts) = t.read_optional(tag::CTX0).ctx("crlExtensions")? {
            let seq = asn1::parse_single(exts.value).and_then(|s| s.expect(tag::SEQUENCE)).ctx("crlExtensions")?;
            for ext in read_extensions(seq.value, "crlExtensions")? {
                out.read_crl_extension(&ext)?;
            }
        }
        t.finish().ctx(T)?;
        Ok(out)
    }

    fn read_entries(&mut self, list: Tlv<'_>) -> Result<(), Error> {
        const W: &str = "revokedCertificates entry";
        let mut lr = list.reader();
        while !lr.is_empty() {
            let entry = lr.read_expect(tag::SEQUENCE).ctx(W)?;
            let mut er = entry.reader();
            let serial = er.read_expect(tag::INTEGER).ctx(W)?.value.to_vec();
            let revocation_date = asn1::decode_time(&er.read().ctx(W)?).ctx(W)?;
            let mut e = RevokedEntry { serial, revocation_date, reason: None, invalidity_date: None };
            if let Some(exts) = er.read_optional(tag::SEQUENCE).ctx(W)? {
                for ext in read_extensions(exts.value, "crlEntryExtensions")? {
                    let value = asn1::parse_single(ext.value).ctx("crlEntryExtensions")?;
                    match ext.oid {
                        oid::CRL_REASON => e.reason = Some(decode_reason(&value).ctx("reasonCode")?),
                        INVALIDITY_DATE => {
                            e.invalidity_date = Some(asn1::decode_time(&value).ctx("invalidityDate")?);
                        }
                        other if ext.critical => self.flag(other),
                        _ => {}
                    }
                }
            }
            er.finish().ctx(W)?;
            self.revoked.push(e);
        }
        Ok(())
    }

    fn read_crl_extension(&mut self, ext: &RawExtension<'_>) -> Result<(), Error> {
        const W: &str = "crlExtensions";
        match ext.oid {
            oid::CRL_NUMBER => {
                let n = asn1::parse_single(ext.value).and_then(|t| t.expect(tag::INTEGER)).ctx("cRLNumber")?;
                self.crl_number = Some(n.value.to_vec());
            }
            oid::AUTHORITY_KEY_IDENTIFIER => {
                let seq = asn1::parse_single(ext.value).and_then(|t| t.expect(tag::SEQUENCE)).ctx(W)?;
                self.authority_key_id =
                    seq.reader().read_optional(tag::CTX0_PRIM).ctx("authorityKeyIdentifier")?.map(|k| k.value.to_vec());
            }
            DELTA_CRL_INDICATOR => {
                let n = asn1::parse_single(ext.value).and_then(|t| t.expect(tag::INTEGER)).ctx("deltaCRLIndicator")?;
                self.delta_base = Some(n.value.to_vec());
                self.flag(ext.oid);
            }
            ISSUING_DISTRIBUTION_POINT => {
                self.issuing_distribution_point = Some(ext.value.to_vec());
                if ext.critical {
                    self.flag(ext.oid);
                }
            }
            ISSUER_ALT_NAME | FRESHEST_CRL => {}
            other if ext.critical => self.flag(other),
            _ => {}
        }
        Ok(())
    }

    fn flag(&mut self, oid: ObjectIdentifier) {
        if !self.unhandled_critical.contains(&oid) {
            self.unhandled_critical.push(oid);
        }
    }

    /// Fails when the CRL cannot be used to decide a certificate's status here: it has
    /// critical extensions this module does not process (RFC 5280 §5.2), e.g. it is a delta
    /// CRL or its scope is restricted by an issuingDistributionPoint.
    pub fn check_usable(&self) -> Result<(), Error> {
        match self.unhandled_critical.as_slice() {
            [] => Ok(()),
            list => Err(Error::Invalid(format!(
                "the CRL of '{}' has critical extensions that are not supported: {}",
                name_to_string(&self.issuer),
                list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Checks that `issuer_der` issued this CRL (RFC 5280 §6.3.3 (f), (g)): its subject is the
    /// CRL issuer, its subjectKeyIdentifier equals the CRL's authorityKeyIdentifier when both
    /// are present, its keyUsage (when present) has cRLSign, and the signature verifies with
    /// its key. Freshness and [`Self::check_usable`] are the caller's.
    pub fn verify(&self, issuer_der: &[u8]) -> Result<(), Error> {
        let issuer = CertView::parse(issuer_der).ctx("CRL issuer certificate")?;
        let crl_issuer = || name_to_string(&self.issuer);
        if issuer.subject != self.issuer.as_slice() {
            return Err(Error::Invalid(format!(
                "the CRL is issued by '{}', not by '{}'",
                crl_issuer(),
                name_to_string(issuer.subject)
            )));
        }
        if let (Some(aki), Some(ski)) = (self.authority_key_id.as_deref(), issuer.subject_key_id()) {
            if aki != ski {
                return Err(Error::Invalid(format!(
                    "the CRL of '{}' names another key of its issuer (authorityKeyIdentifier {})",
                    crl_issuer(),
                    hex::encode(aki)
                )));
            }
        }
        if let Some(ext) = issuer.extension(&oid::KEY_USAGE) {
            // keyUsage cRLSign is bit 6 (RFC 5280 §4.2.1.3).
            let ok = asn1::parse_single(ext.value)
                .ok()
                .filter(|t| t.tag == tag::BIT_STRING)
                .and_then(|t| t.value.get(1).copied())
                .is_some_and(|first| first & 0x02 != 0);
            if !ok {
                return Err(Error::Invalid(format!(
                    "the issuer '{}' of the CRL lacks keyUsage cRLSign (RFC 5280 §4.2.1.3)",
                    crl_issuer()
                )));
            }
        }
        let alg = SignatureAlgorithm::from_algorithm_identifier(&self.signature_algorithm, None)?;
        match signet_crypto::verify_signature(issuer.spki, &alg, &self.tbs, &self.signature) {
            Ok(()) => Ok(()),
            Err(signet_crypto::Error::BadSignature) => {
                Err(Error::Invalid(format!("the signature on the CRL of '{}' does not verify", crl_issuer())))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The entry for the certificate with this serial number (content octets, as
    /// [`CertView::serial_bytes`] gives them), if it is listed.
    pub fn revoked(&self, serial: &[u8]) -> Option<&RevokedEntry> {
        self.revoked.iter().find(|e| e.serial == serial)
    }
}

/// An extension borrowed from its encoding.
pub(crate) struct RawExtension<'a> {
    pub(crate) oid: ObjectIdentifier,
    pub(crate) critical: bool,
    pub(crate) value: &'a [u8],
}

/// `Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension` contents (RFC 5280 §4.1): `Extension
/// ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET
/// STRING }`. An extension may not appear twice (§4.2).
pub(crate) fn read_extensions<'a>(content: &'a [u8], what: &'static str) -> Result<Vec<RawExtension<'a>>, Error> {
    let mut out: Vec<RawExtension<'a>> = Vec::new();
    let mut r = DerReader::new(content);
    while !r.is_empty() {
        let ext = r.read_expect(tag::SEQUENCE).ctx(what)?;
        let mut x = ext.reader();
        let oid = asn1::decode_oid(&x.read().ctx(what)?).ctx(what)?;
        let critical = match x.read_optional(tag::BOOLEAN).ctx(what)? {
            Some(b) => b.value.first().is_some_and(|v| *v != 0),
            None => false,
        };
        let value = x.read_expect(tag::OCTET_STRING).ctx(what)?.value;
        x.finish().ctx(what)?;
        if out.iter().any(|e| e.oid == oid) {
            return Err(Error::Invalid(format!("{what}: extension {oid} appears twice")));
        }
        out.push(RawExtension { oid, critical, value });
    }
    Ok(out)
}
