//! The validation report, as JSON (serde) and as text.

use std::fmt;

use serde::Serialize;

/// What the signature covers relative to the whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
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

/// One signature's result.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureReport {
    /// Fully qualified field name.
    pub field: String,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// Subject of the signer certificate (RFC 4514 style).
    pub signer_subject: Option<String>,
    /// `/M` as written (claimed signing time; not proven without a timestamp).
    pub claimed_signing_time: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// The `/ByteRange`.
    pub byte_range: Option<[u64; 4]>,
    /// Digest algorithm of the CMS.
    pub digest_algorithm: Option<String>,
    /// DocMDP level if this is a certification signature.
    pub certification: Option<u8>,
    /// The byte range is sound, the digest matches and the CMS signature verifies.
    pub intact: bool,
    /// The signer certificate chains to a trust anchor and is valid now.
    pub trusted: bool,
    /// What later revisions did.
    pub coverage: Coverage,
    /// Why `intact`, `trusted` or `coverage` is not as it should be (empty when valid).
    pub reasons: Vec<String>,
    /// Notes that do not make the signature fail.
    pub notes: Vec<String>,
}

impl SignatureReport {
    /// Intact, trusted, and unmodified or modified only in permitted ways.
    pub fn is_valid(&self) -> bool {
        self.intact && self.trusted && matches!(self.coverage, Coverage::Whole | Coverage::PermittedChanges)
    }
}

/// The report for a document.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// File size in bytes.
    pub file_size: u64,
    /// Every signature, in signing order.
    pub signatures: Vec<SignatureReport>,
}

impl Report {
    /// At least one signature, and all valid.
    pub fn is_valid(&self) -> bool {
        !self.signatures.is_empty() && self.signatures.iter().all(SignatureReport::is_valid)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.signatures.is_empty() {
            return writeln!(f, "no signatures");
        }
        for (i, s) in self.signatures.iter().enumerate() {
            let verdict = if s.is_valid() { "VALID" } else { "INVALID" };
            writeln!(f, "signature {} '{}': {verdict}", i + 1, s.field)?;
            writeln!(f, "  signer:    {}", s.signer_subject.as_deref().unwrap_or("?"))?;
            if let Some(t) = &s.claimed_signing_time {
                writeln!(f, "  time:      {t} (claimed)")?;
            }
            let coverage = match s.coverage {
                Coverage::Whole => "whole document",
                Coverage::PermittedChanges => "permitted changes after signing",
                Coverage::Modified => "MODIFIED after signing",
                Coverage::Unknown => "unknown",
            };
            writeln!(f, "  intact:    {}   trusted: {}   coverage: {coverage}", yes(s.intact), yes(s.trusted))?;
            if let Some(p) = s.certification {
                writeln!(f, "  certification signature, DocMDP P={p}")?;
            }
            for r in &s.reasons {
                writeln!(f, "  - {r}")?;
            }
            for n in &s.notes {
                writeln!(f, "  note: {n}")?;
            }
        }
        Ok(())
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}
