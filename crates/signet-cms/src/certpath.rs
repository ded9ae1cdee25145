//! Certificate path building and basic validation (RFC 5280 §6.1).
//!
//! Builds a path from an end-entity certificate to one of the trust anchors through the
//! candidate certificates (e.g. those of a CMS `SignedData`), matching issuer and subject
//! names (and authority/subject key identifiers when both are present), then checks each
//! certificate's signature, validity period, and on issuers `basicConstraints` (cA and
//! pathLenConstraint, RFC 5280 §4.2.1.9) and `keyUsage` keyCertSign (§4.2.1.3). Not done here:
//! revocation, policies, name constraints (a certificate marking them critical is refused as an
//! unrecognised critical extension, §4.2).

use std::fmt;
use std::time::SystemTime;

use der::Decode;
use signet_crypto::SignatureAlgorithm;
use signet_crypto::asn1::{self, tag};
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::cert::CertView;
use crate::oid;

/// Longest path accepted (end entity + intermediates + anchor).
pub const MAX_PATH_LEN: usize = 10;

/// Why no valid path was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// A certificate could not be read.
    Malformed {
        /// Which certificate ("end-entity certificate", "candidate #2", ...).
        which: String,
        /// The DER problem.
        detail: String,
    },
    /// No certificate among the candidates and anchors is named as the issuer.
    NoIssuer {
        /// Subject whose issuer is missing.
        subject: String,
        /// The missing issuer's name.
        issuer: String,
    },
    /// A certificate is outside its validity period at the validation time.
    Expired {
        /// Subject.
        subject: String,
        /// notAfter.
        not_after: String,
    },
    /// A certificate is not yet valid at the validation time.
    NotYetValid {
        /// Subject.
        subject: String,
        /// notBefore.
        not_before: String,
    },
    /// A signature on a certificate does not verify with its issuer's key.
    BadSignature {
        /// Subject of the signed certificate.
        subject: String,
        /// Why.
        detail: String,
    },
    /// An issuer is not a CA (basicConstraints cA missing/false, or keyUsage without
    /// keyCertSign).
    NotACa {
        /// Subject of the issuer.
        subject: String,
        /// Which rule.
        detail: String,
    },
    /// A pathLenConstraint is exceeded.
    PathLenExceeded {
        /// Subject of the constraining CA.
        subject: String,
    },
    /// An unrecognised critical extension (RFC 5280 §4.2).
    UnknownCriticalExtension {
        /// Subject.
        subject: String,
        /// Extension OID.
        oid: String,
    },
    /// The path would be longer than [`MAX_PATH_LEN`] or loops.
    TooLong,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { which, detail } => write!(f, "malformed {which}: {detail}"),
            Self::NoIssuer { subject, issuer } => {
                write!(f, "no path to a trust anchor: issuer '{issuer}' of '{subject}' not found")
            }
            Self::Expired { subject, not_after } => {
                write!(f, "certificate '{subject}' expired on {not_after}")
            }
            Self::NotYetValid { subject, not_before } => {
                write!(f, "certificate '{subject}' is not valid before {not_before}")
            }
            Self::BadSignature { subject, detail } => {
                write!(f, "signature on '{subject}' does not verify: {detail}")
            }
            Self::NotACa { subject, detail } => {
                write!(f, "issuer '{subject}' is not a CA: {detail}")
            }
            Self::PathLenExceeded { subject } => {
                write!(f, "path length constraint of '{subject}' exceeded")
            }
            Self::UnknownCriticalExtension { subject, oid } => {
                write!(f, "certificate '{subject}' has an unknown critical extension {oid}")
            }
            Self::TooLong => write!(f, "no path to a trust anchor within {MAX_PATH_LEN} certificates"),
        }
    }
}

impl std::error::Error for PathError {}

/// Renders a DER `Name` as an RFC 4514 string with ", " separators, most specific first:
/// "CN=Peer Test Signer RSA, O=Peer Kit Test, C=FR". Unreadable names render as hex.
pub fn name_to_string(name_der: &[u8]) -> String {
    match Name::from_der(name_der) {
        Ok(name) => {
            let rdns: Vec<String> = name.iter_rdn().map(ToString::to_string).collect();
            rdns.into_iter().rev().collect::<Vec<_>>().join(", ")
        }
        Err(_) => hex::encode(name_der),
    }
}

/// The subject of a DER certificate as an RFC 4514 string (see [`name_to_string`]).
pub fn subject_to_string(cert_der: &[u8]) -> Option<String> {
    CertView::parse(cert_der).ok().map(|c| name_to_string(c.subject))
}

/// The first commonName (2.5.4.3) of a DER certificate's subject, as a string: `None` when
/// the certificate cannot be read or its subject has none.
pub fn subject_common_name(cert_der: &[u8]) -> Option<String> {
    let cert = CertView::parse(cert_der).ok()?;
    let name = Name::from_der(cert.subject).ok()?;
    name.common_name().ok().flatten().map(|cn| cn.value().into_owned())
}

/// Builds and checks a path from `end_entity_der` to one of `trust_anchors` (DER
/// certificates), using `candidates` as intermediates, valid at `at`. Returns the path
/// end-entity first, trust anchor last. When several paths exist, the first valid one found
/// depth-first wins; when none does, the error of the first failed attempt is returned.
pub fn validate_path(
    end_entity_der: &[u8],
    candidates: &[Vec<u8>],
    trust_anchors: &[Vec<u8>],
    at: SystemTime,
) -> Result<Vec<Vec<u8>>, PathError> {
    let ee = parse_cert(end_entity_der, "end-entity certificate".into())?;
    // Unreadable candidates are skipped: a CMS may carry certificates we cannot use.
    let cands: Vec<CertView<'_>> = candidates.iter().filter_map(|c| CertView::parse(c).ok()).collect();
    let mut anchors = Vec::with_capacity(trust_anchors.len());
    for (i, a) in trust_anchors.iter().enumerate() {
        anchors.push(parse_cert(a, format!("trust anchor #{i}"))?);
    }
    check_common(&ee, at)?;
    // The end entity may itself be a trust anchor.
    if anchors.iter().any(|a| a.raw == ee.raw) {
        return Ok(vec![ee.raw.to_vec()]);
    }
    let mut path = vec![ee];
    extend(&mut path, &cands, &anchors, at)?;
    Ok(path.iter().map(|c| c.raw.to_vec()).collect())
}

fn parse_cert(der: &[u8], which: String) -> Result<CertView<'_>, PathError> {
    CertView::parse(der).map_err(|e| PathError::Malformed { which, detail: e.to_string() })
}

/// Depth-first extension of `path` (whose last element is not yet anchored).
fn extend<'a>(
    path: &mut Vec<CertView<'a>>,
    cands: &[CertView<'a>],
    anchors: &[CertView<'a>],
    at: SystemTime,
) -> Result<(), PathError> {
    let Some(child) = path.last().cloned() else {
        return Err(PathError::TooLong);
    };
    if path.len() >= MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    // Non-self-issued intermediates under the next issuer (RFC 5280 §6.1.4 (l)).
    let below = path.iter().skip(1).filter(|c| !c.is_self_issued()).count();
    let mut first_err = None;
    for anchor in anchors.iter().filter(|a| issues(a, &child)) {
        match check_issued_by(&child, anchor, below, at, true) {
            Ok(()) => {
                path.push(anchor.clone());
                return Ok(());
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    for cand in cands.iter().filter(|c| issues(c, &child)) {
        if path.iter().any(|p| p.raw == cand.raw) {
            first_err.get_or_insert(PathError::TooLong);
            continue; // loop
        }
        if let Err(e) = check_issued_by(&child, cand, below, at, false) {
            first_err.get_or_insert(e);
            continue;
        }
        path.push(cand.clone());
        match extend(path, cands, anchors, at) {
            Ok(()) => return Ok(()),
            Err(e) => {
                path.pop();
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| PathError::NoIssuer {
        subject: name_to_string(child.subject),
        issuer: name_to_string(child.issuer),
    }))
}

/// Whether `issuer` could have issued `child`: names match (RFC 5280 §6.1.3 (a)(4)), and the
/// key identifiers too when both are present (§4.2.1.1).
fn issues(issuer: &CertView<'_>, child: &CertView<'_>) -> bool {
    if issuer.subject != child.issuer {
        return false;
    }
    match (child.authority_key_id(), issuer.subject_key_id()) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

/// Checks `child`'s signature with `issuer`'s key and `issuer` as a CA; `below` is the number
/// of non-self-issued intermediates under `issuer` (for pathLenConstraint).
fn check_issued_by(
    child: &CertView<'_>,
    issuer: &CertView<'_>,
    below: usize,
    at: SystemTime,
    is_anchor: bool,
) -> Result<(), PathError> {
    let subject = || name_to_string(child.subject);
    let alg = SignatureAlgorithm::from_algorithm_identifier(child.signature_algorithm, None)
        .map_err(|e| PathError::BadSignature { subject: subject(), detail: e.to_string() })?;
    signet_crypto::verify_signature(issuer.spki, &alg, child.tbs, child.signature)
        .map_err(|e| PathError::BadSignature { subject: subject(), detail: e.to_string() })?;
    check_common(issuer, at)?;
    let issuer_name = || name_to_string(issuer.subject);
    // basicConstraints (RFC 5280 §6.1.4 (k), (m)): required on intermediates; a trust anchor
    // without the extension (v1 root) is accepted as configured.
    match issuer.extension(&oid::BASIC_CONSTRAINTS) {
        Some(ext) => {
            let (ca, path_len) = basic_constraints(ext.value).map_err(|e| PathError::Malformed {
                which: format!("basicConstraints of '{}'", issuer_name()),
                detail: e.to_string(),
            })?;
            if !ca {
                return Err(PathError::NotACa {
                    subject: issuer_name(),
                    detail: "basicConstraints cA is false".into(),
                });
            }
            if let Some(max) = path_len {
                if below as u64 > max {
                    return Err(PathError::PathLenExceeded { subject: issuer_name() });
                }
            }
        }
        None if !is_anchor => {
            return Err(PathError::NotACa { subject: issuer_name(), detail: "no basicConstraints extension".into() });
        }
        None => {}
    }
    // keyUsage (RFC 5280 §6.1.4 (n)): keyCertSign is bit 5.
    if let Some(ext) = issuer.extension(&oid::KEY_USAGE) {
        let ok = asn1::parse_single(ext.value)
            .ok()
            .filter(|t| t.tag == tag::BIT_STRING)
            .and_then(|t| t.value.get(1).copied())
            .is_some_and(|first| first & 0x04 != 0);
        if !ok {
            return Err(PathError::NotACa { subject: issuer_name(), detail: "keyUsage lacks keyCertSign".into() });
        }
    }
    Ok(())
}

/// Validity (RFC 5280 §6.1.3 (a)(2)) and critical extensions (§4.2).
fn check_common(cert: &CertView<'_>, at: SystemTime) -> Result<(), PathError> {
    let subject = || name_to_string(cert.subject);
    let time = |raw: &[u8]| {
        Time::from_der(raw)
            .map_err(|e| PathError::Malformed { which: format!("validity of '{}'", subject()), detail: e.to_string() })
    };
    let not_before = time(cert.not_before)?;
    let not_after = time(cert.not_after)?;
    if at < not_before.to_system_time() {
        return Err(PathError::NotYetValid { subject: subject(), not_before: not_before.to_string() });
    }
    if at > not_after.to_system_time() {
        return Err(PathError::Expired { subject: subject(), not_after: not_after.to_string() });
    }
    const KNOWN: [const_oid::ObjectIdentifier; 11] = [
        oid::BASIC_CONSTRAINTS,
        oid::KEY_USAGE,
        oid::EXT_KEY_USAGE,
        oid::SUBJECT_KEY_IDENTIFIER,
        oid::AUTHORITY_KEY_IDENTIFIER,
        oid::SUBJECT_ALT_NAME,
        oid::CRL_DISTRIBUTION_POINTS,
        oid::CERTIFICATE_POLICIES,
        oid::AUTHORITY_INFO_ACCESS,
        oid::QC_STATEMENTS,
        oid::OCSP_NOCHECK,
    ];
    if let Some(ext) = cert.extensions.iter().find(|e| e.critical && !KNOWN.contains(&e.oid)) {
        return Err(PathError::UnknownCriticalExtension { subject: subject(), oid: ext.oid.to_string() });
    }
    Ok(())
}

/// `BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER
/// (0..MAX) OPTIONAL }` (RFC 5280 §4.2.1.9).
pub(crate) fn basic_constraints(value: &[u8]) -> Result<(bool, Option<u64>), asn1::DerError> {
    let seq = asn1::parse_single(value)?.expect(tag::SEQUENCE)?;
    let mut r = seq.reader();
    let ca = match r.read_optional(tag::BOOLEAN)? {
        Some(b) => b.value.first().is_some_and(|v| *v != 0),
        None => false,
    };
    let path_len = match r.read_optional(tag::INTEGER)? {
        Some(i) => Some(asn1::decode_small_uint(&i)?),
        None => None,
    };
    r.finish()?;
    Ok((ca, path_len))
}
