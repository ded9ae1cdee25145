//! The validation report, as JSON (serde; the schema is in docs/validation.md) and as text:
//! one line per signature, details with [`Report::details`].

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Version of the JSON report's schema (docs/validation.md). Version 1 had no such field.
pub const SCHEMA_VERSION: u32 = 2;

/// What the signature covers relative to the whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Coverage {
    /// The signature covers the whole file.
    Whole,
    /// Later revisions exist and change only what the signature permits (further signatures,
    /// validation data, document timestamps; form filling or annotations per DocMDP).
    PermittedChanges,
    /// Later revisions change the document beyond what the signature permits.
    Modified,
    /// The byte range could not be established.
    Unknown,
}

/// The overall result for one signature (ETSI EN 319 102-1 §5.1.3 names the same three).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Verdict {
    /// Intact, trusted, not revoked, unmodified or modified only in permitted ways.
    Valid,
    /// Broken, modified beyond what it permits, or revoked at the signature time.
    Invalid,
    /// Intact, but trust or revocation status could not be established.
    Indeterminate,
}

/// A regular signature or a document timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SignatureKind {
    /// `/Type /Sig` with a CMS signature.
    Signature,
    /// `/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161` (ETSI EN 319 142-1 §5.4.3).
    DocumentTimestamp,
}

/// PAdES baseline level actually achieved (ETSI EN 319 142-1 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PadesLevel {
    /// CAdES detached with signing-certificate-v2 (§6.3).
    #[serde(rename = "B-B")]
    BB,
    /// B-B plus a signature timestamp or a later document timestamp (§6.4 table 1).
    #[serde(rename = "B-T")]
    BT,
    /// B-T plus validation data for the signer and TSA chains in the DSS.
    #[serde(rename = "B-LT")]
    BLt,
    /// B-LT plus a document timestamp covering that DSS.
    #[serde(rename = "B-LTA")]
    BLta,
}

impl fmt::Display for PadesLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PadesLevel::BB => "B-B",
            PadesLevel::BT => "B-T",
            PadesLevel::BLt => "B-LT",
            PadesLevel::BLta => "B-LTA",
        })
    }
}

/// Revocation status of one certificate, or of a whole path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RevocationStatus {
    /// Not revoked at the signature time, per a verified CRL or OCSP response.
    Good,
    /// Revoked at or before the signature time.
    Revoked,
    /// No usable revocation data.
    Unknown,
    /// Nothing to check (ocsp-nocheck, or no CRL/OCSP service named).
    NotApplicable,
    /// Not checked (revocation checking is off, or the path was not built).
    NotChecked,
}

/// The revocation status of one certificate of a path.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertRevocation {
    /// Subject of the certificate.
    pub subject: String,
    /// Its status.
    pub status: RevocationStatus,
    /// What decided it: "ocsp (dss)", "crl (cms)", ...
    pub source: Option<String>,
    /// revocationTime / revocationDate (RFC 3339), when revoked (even after the signature).
    pub revoked_at: Option<String>,
    /// The CRL reason code, when given.
    pub reason: Option<String>,
    /// Why the status is unknown, or a remark.
    pub detail: Option<String>,
}

/// The revocation status of a path: the worst of its certificates.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revocation {
    /// Revoked if any is, else unknown if any is, else good (or not applicable / not checked).
    pub status: RevocationStatus,
    /// Each certificate except the trust anchor, end entity first.
    pub certificates: Vec<CertRevocation>,
}

impl Revocation {
    /// Nothing checked.
    pub fn not_checked() -> Self {
        Revocation { status: RevocationStatus::NotChecked, certificates: Vec::new() }
    }

    /// The combined status of `certificates`.
    pub fn of(certificates: Vec<CertRevocation>) -> Self {
        let any = |s| certificates.iter().any(|c| c.status == s);
        let status = if any(RevocationStatus::Revoked) {
            RevocationStatus::Revoked
        } else if any(RevocationStatus::Unknown) {
            RevocationStatus::Unknown
        } else if any(RevocationStatus::Good) {
            RevocationStatus::Good
        } else if certificates.is_empty() {
            RevocationStatus::NotChecked
        } else {
            RevocationStatus::NotApplicable
        };
        Revocation { status, certificates }
    }
}

/// A timestamp token: the signature timestamp of a signature, or a document timestamp's own.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimestampReport {
    /// `genTime` (RFC 3339, UTC).
    pub gen_time: Option<String>,
    /// Subject of the TSA certificate.
    pub tsa_subject: Option<String>,
    /// The token's signature, ESS binding, TSA key usage and imprint check.
    pub intact: bool,
    /// The TSA certificate chains to a trust anchor.
    pub trusted: bool,
    /// Revocation status of the TSA chain at `genTime`.
    pub revocation: Revocation,
    /// What is wrong (empty when intact and trusted).
    pub reasons: Vec<String>,
    /// Remarks that do not make the timestamp fail.
    pub notes: Vec<String>,
}

impl TimestampReport {
    /// Intact, trusted and not revoked.
    pub fn is_valid(&self) -> bool {
        self.intact && self.trusted && self.revocation.status != RevocationStatus::Revoked
    }
}

/// One signature's result.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureReport {
    /// Signature or document timestamp.
    pub kind: SignatureKind,
    /// The overall result.
    pub verdict: Verdict,
    /// Fully qualified field name.
    pub field: String,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// Subject of the signer certificate (RFC 4514 style); the TSA for a document timestamp.
    pub signer_subject: Option<String>,
    /// `/M` as written (claimed signing time; not proven without a timestamp).
    pub claimed_signing_time: Option<String>,
    /// The best proven signature time (RFC 3339): the signature timestamp's `genTime`, else
    /// that of the first later document timestamp; for a document timestamp its own.
    pub signature_time: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// The `/ByteRange`.
    pub byte_range: Option<[u64; 4]>,
    /// Digest algorithm of the CMS.
    pub digest_algorithm: Option<String>,
    /// DocMDP level if this is a certification signature.
    pub certification: Option<u8>,
    /// PAdES baseline level achieved (`None` for other signatures and document timestamps).
    pub level: Option<PadesLevel>,
    /// The byte range is sound, the digest matches and the CMS signature verifies.
    pub intact: bool,
    /// The signer certificate chains to a trust anchor and is valid at the validation time
    /// (or, when it has expired since, at the proven signature time).
    pub trusted: bool,
    /// Revocation status of the signer's path at the signature time.
    pub revocation: Revocation,
    /// The signature timestamp (unsigned attribute id-aa-signatureTimeStampToken); for a
    /// document timestamp, its token.
    pub timestamp: Option<TimestampReport>,
    /// What later revisions did.
    pub coverage: Coverage,
    /// Why the verdict is not valid (empty when valid).
    pub reasons: Vec<String>,
    /// Notes that do not make the signature fail.
    pub notes: Vec<String>,
}

impl SignatureReport {
    /// The verdict is valid.
    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }
}

/// The report for a document.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// File size in bytes.
    pub file_size: u64,
    /// `valid` when there is at least one signature and all are valid; `invalid` when any is
    /// invalid or there is none; else `indeterminate`.
    pub verdict: Verdict,
    /// Every signature and document timestamp, in signing order.
    pub signatures: Vec<SignatureReport>,
}

impl Report {
    /// At least one signature, and all valid.
    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }

    /// The document's verdict from its signatures.
    pub fn verdict_of(signatures: &[SignatureReport]) -> Verdict {
        if signatures.is_empty() || signatures.iter().any(|s| s.verdict == Verdict::Invalid) {
            Verdict::Invalid
        } else if signatures.iter().all(SignatureReport::is_valid) {
            Verdict::Valid
        } else {
            Verdict::Indeterminate
        }
    }

    /// The text report with every detail (reasons, notes, revocation per certificate).
    pub fn details(&self) -> Details<'_> {
        Details(self)
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "VALID",
        Verdict::Invalid => "INVALID",
        Verdict::Indeterminate => "INDETERMINATE",
    }
}

/// One line per signature: number, verdict, field, signer, level, time, and the first reason
/// when not valid.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.signatures.is_empty() {
            return writeln!(f, "no signatures");
        }
        for (i, s) in self.signatures.iter().enumerate() {
            let what = match s.kind {
                SignatureKind::Signature => "signature",
                SignatureKind::DocumentTimestamp => "timestamp",
            };
            write!(
                f,
                "{}. {:<13} {what} '{}' by {}",
                i + 1,
                verdict_word(s.verdict),
                s.field,
                s.signer_subject.as_deref().unwrap_or("?")
            )?;
            if let Some(l) = s.level {
                write!(f, ", PAdES {l}")?;
            }
            match (&s.signature_time, &s.claimed_signing_time) {
                (Some(t), _) => write!(f, ", at {t}")?,
                (None, Some(t)) => write!(f, ", claimed {t}")?,
                _ => {}
            }
            match s.coverage {
                Coverage::PermittedChanges => write!(f, ", later changes permitted")?,
                Coverage::Modified => write!(f, ", MODIFIED after signing")?,
                _ => {}
            }
            if let Some(r) = s.reasons.first() {
                write!(f, ": {r}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The detailed text report ([`Report::details`]).
pub struct Details<'a>(&'a Report);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        if r.signatures.is_empty() {
            return writeln!(f, "no signatures");
        }
        for (i, s) in r.signatures.iter().enumerate() {
            writeln!(f, "{}. {} '{}': {}", i + 1, kind_word(s.kind), s.field, verdict_word(s.verdict))?;
            writeln!(f, "   signer:     {}", s.signer_subject.as_deref().unwrap_or("?"))?;
            if let Some(t) = &s.signature_time {
                writeln!(f, "   time:       {t} (timestamp)")?;
            }
            if let Some(t) = &s.claimed_signing_time {
                writeln!(f, "   claimed:    {t}")?;
            }
            if let Some(l) = s.level {
                writeln!(f, "   level:      PAdES {l}")?;
            }
            let coverage = match s.coverage {
                Coverage::Whole => "whole document",
                Coverage::PermittedChanges => "permitted changes after signing",
                Coverage::Modified => "MODIFIED after signing",
                Coverage::Unknown => "unknown",
            };
            writeln!(f, "   intact: {}   trusted: {}   coverage: {coverage}", yes(s.intact), yes(s.trusted))?;
            write_revocation(f, "revocation", &s.revocation)?;
            if let Some(p) = s.certification {
                writeln!(f, "   certification signature, DocMDP P={p}")?;
            }
            if let Some(ts) = &s.timestamp {
                writeln!(
                    f,
                    "   timestamp:  {} by {} (intact: {}, trusted: {})",
                    ts.gen_time.as_deref().unwrap_or("?"),
                    ts.tsa_subject.as_deref().unwrap_or("?"),
                    yes(ts.intact),
                    yes(ts.trusted)
                )?;
                write_revocation(f, "TSA revocation", &ts.revocation)?;
                for reason in &ts.reasons {
                    writeln!(f, "   - timestamp: {reason}")?;
                }
                for n in &ts.notes {
                    writeln!(f, "   note: timestamp: {n}")?;
                }
            }
            for reason in &s.reasons {
                writeln!(f, "   - {reason}")?;
            }
            for n in &s.notes {
                writeln!(f, "   note: {n}")?;
            }
        }
        Ok(())
    }
}

fn write_revocation(f: &mut fmt::Formatter<'_>, label: &str, r: &Revocation) -> fmt::Result {
    let word = |s: RevocationStatus| match s {
        RevocationStatus::Good => "good",
        RevocationStatus::Revoked => "REVOKED",
        RevocationStatus::Unknown => "unknown",
        RevocationStatus::NotApplicable => "not applicable",
        RevocationStatus::NotChecked => "not checked",
    };
    writeln!(f, "   {label}: {}", word(r.status))?;
    for c in &r.certificates {
        write!(f, "     {}: {}", c.subject, word(c.status))?;
        if let Some(s) = &c.source {
            write!(f, " from {s}")?;
        }
        if let Some(t) = &c.revoked_at {
            write!(f, ", revoked {t}")?;
        }
        if let Some(r) = &c.reason {
            write!(f, " ({r})")?;
        }
        if let Some(d) = &c.detail {
            write!(f, "; {d}")?;
        }
        writeln!(f)?;
    }
    Ok(())
}

fn kind_word(k: SignatureKind) -> &'static str {
    match k {
        SignatureKind::Signature => "signature",
        SignatureKind::DocumentTimestamp => "document timestamp",
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

/// `t` as RFC 3339 UTC, seconds precision: "2026-11-23T04:07:03Z".
pub fn rfc3339(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = signet_crypto::asn1::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rfc3339_known_answers() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_407_223)), "2026-11-23T04:13:43Z");
    }
}
