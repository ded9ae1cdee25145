#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod changes;
pub mod report;
mod revocation;
pub use revocation::OnlineRevocation;
mod signature;

use std::time::SystemTime;

use signet_pdf::{Document, Source, form};

pub use report::{
    CertRevocation, Coverage, PadesLevel, Report, Revocation, RevocationStatus, SCHEMA_VERSION, SignatureKind,
    SignatureReport, TimestampReport, Verdict,
};

use crate::report::rfc3339;
use crate::revocation::Evidence;
use crate::signature::Checked;

/// What a missing revocation status does to the verdict (docs/validation.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevocationPolicy {
    /// Check with the embedded data; "revoked" makes a signature invalid, "unknown" is a note
    /// and the signature may still be valid.
    #[default]
    Soft,
    /// As `Soft`, but "unknown" makes the signature indeterminate (not valid).
    Require,
    /// Do not check revocation at all.
    Off,
}

/// What to validate against.
#[derive(Clone)]
pub struct ValidationOptions {
    /// Trust anchors (DER certificates). Without any, no signature is trusted.
    pub trust_anchors: Vec<Vec<u8>>,
    /// Password of an encrypted document.
    pub password: Option<Vec<u8>>,
    /// Validation time for certificate validity.
    pub at: SystemTime,
    /// Revocation checking.
    pub revocation: RevocationPolicy,
    /// Network access for revocation data the document does not embed (`None`: embedded
    /// data only).
    pub online: Option<std::sync::Arc<dyn OnlineRevocation>>,
}

impl std::fmt::Debug for ValidationOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidationOptions")
            .field("trust_anchors", &self.trust_anchors.len())
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("at", &self.at)
            .field("revocation", &self.revocation)
            .field("online", &self.online.is_some())
            .finish()
    }
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            trust_anchors: Vec::new(),
            password: None,
            at: SystemTime::now(),
            revocation: RevocationPolicy::default(),
            online: None,
        }
    }
}

/// Why a document could not be validated at all (it could not be read).
pub type Error = signet_pdf::Error;

/// Validates every signature and document timestamp in the document at `src`.
pub fn validate<S: Source + Clone>(src: S, opts: &ValidationOptions) -> Result<Report, Error> {
    // the same CA, OCSP and CRL signatures recur across the paths of one document: each is
    // checked once (signet_crypto::with_verification_memo)
    signet_crypto::with_verification_memo(|| validate_document(src, opts))
}

fn validate_document<S: Source + Clone>(src: S, opts: &ValidationOptions) -> Result<Report, Error> {
    let mut doc = Document::open(src.clone(), opts.password.as_deref())?;
    let dss = Evidence::from_dss(&mut doc);
    let fields = form::fields(&mut doc)?;
    let mut checked: Vec<Checked> = Vec::new();
    for field in fields.iter().filter(|f| f.is_signature()) {
        let Some(value) = &field.value else { continue };
        checked.push(signature::check(&mut doc, &src, field, value, opts, &dss));
    }
    checked.sort_by_key(|c| c.rev_end);
    settle(&mut checked, &dss, opts);
    let signatures: Vec<SignatureReport> = checked.into_iter().map(|c| c.report).collect();
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        file_size: doc.len(),
        verdict: Report::verdict_of(&signatures),
        signatures,
    })
}

/// What needs every signature of the document: the best signature time (own timestamp, else
/// the first later document timestamp), revocation at that time, the PAdES level, the verdict.
fn settle(checked: &mut [Checked], dss: &Evidence, opts: &ValidationOptions) {
    // valid document timestamps: (end of the revision they cover, genTime, a DSS is in it)
    let doc_ts: Vec<(u64, SystemTime, bool)> = checked
        .iter()
        .filter(|c| c.report.kind == SignatureKind::DocumentTimestamp && c.report.intact && c.report.trusted)
        .filter_map(|c| Some((c.rev_end, c.ts_time?, c.covers_dss)))
        .collect();
    for c in checked.iter_mut() {
        let later_doc_ts = doc_ts.iter().find(|(end, _, _)| *end > c.rev_end).map(|&(_, t, _)| t);
        let own_ts = match c.report.kind {
            SignatureKind::Signature => c.report.timestamp.as_ref().filter(|t| t.intact).and(c.ts_time),
            SignatureKind::DocumentTimestamp => None,
        };
        let best = own_ts.or(later_doc_ts);
        if c.report.kind == SignatureKind::Signature {
            c.report.signature_time = best.map(rfc3339);
        }
        if opts.revocation != RevocationPolicy::Off {
            if let Some(path) = &c.path {
                let at = best.unwrap_or(opts.at);
                c.report.revocation = Revocation::of(revocation::check_path_online(
                    path,
                    at,
                    &[dss, &c.evidence],
                    opts.online.as_deref(),
                ));
            }
            if let (Some(path), Some(t), Some(ts)) = (&c.ts_path, c.ts_time, c.report.timestamp.as_mut()) {
                // the TSA's path at genTime
                ts.revocation = Revocation::of(revocation::check_path_online(
                    path,
                    t,
                    &[dss, &c.ts_evidence],
                    opts.online.as_deref(),
                ));
            }
            if c.report.kind == SignatureKind::DocumentTimestamp
                && let Some(ts) = c.report.timestamp.as_mut()
            {
                ts.revocation = c.report.revocation.clone();
            }
        }
        c.report.level = level(c, best.is_some(), dss, &doc_ts);
        explain_revocation(&mut c.report, opts.revocation);
        c.report.verdict = verdict(&c.report, opts.revocation);
    }
}

/// ETSI EN 319 142-1 §6: the highest baseline level whose requirements the signature meets.
fn level(c: &Checked, timestamped: bool, dss: &Evidence, doc_ts: &[(u64, SystemTime, bool)]) -> Option<PadesLevel> {
    let r = &c.report;
    if r.kind != SignatureKind::Signature || r.sub_filter != "ETSI.CAdES.detached" || !r.intact {
        return None;
    }
    if !timestamped {
        return Some(PadesLevel::BB);
    }
    // B-LT: the DSS holds what validating the signer's and the TSA's paths needs
    let from_dss = |rev: &Revocation| {
        !rev.certificates.is_empty()
            && rev.certificates.iter().all(|cr| {
                cr.status == RevocationStatus::NotApplicable
                    || (cr.status == RevocationStatus::Good
                        && cr.source.as_deref().is_some_and(|s| s.ends_with("(dss)")))
            })
    };
    let tsa_ok = match &r.timestamp {
        Some(ts) if c.ts_path.is_some() => from_dss(&ts.revocation),
        _ => true,
    };
    if dss.dss_offset.is_none_or(|o| o < c.rev_end) || !(from_dss(&r.revocation) && tsa_ok) {
        return Some(PadesLevel::BT);
    }
    // B-LTA: a document timestamp over a revision that already holds the DSS
    if doc_ts.iter().any(|&(end, _, covers)| end > c.rev_end && covers) {
        Some(PadesLevel::BLta)
    } else {
        Some(PadesLevel::BLt)
    }
}

/// Turns revocation findings into reasons (revoked; unknown under `Require`) or notes.
fn explain_revocation(r: &mut SignatureReport, policy: RevocationPolicy) {
    let mut lines = Vec::new();
    let mut collect = |who: &str, rev: &Revocation| {
        for c in &rev.certificates {
            match c.status {
                RevocationStatus::Revoked => lines.push((
                    true,
                    format!(
                        "{who}certificate '{}' was revoked on {}{}",
                        c.subject,
                        c.revoked_at.as_deref().unwrap_or("?"),
                        c.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ),
                )),
                RevocationStatus::Unknown => lines.push((
                    policy == RevocationPolicy::Require,
                    format!(
                        "{who}revocation status of '{}' is unknown: {}",
                        c.subject,
                        c.detail.as_deref().unwrap_or("no data")
                    ),
                )),
                _ => {}
            }
        }
    };
    collect("", &r.revocation);
    if r.kind == SignatureKind::Signature
        && let Some(ts) = &r.timestamp
    {
        collect("timestamp: TSA ", &ts.revocation);
    }
    for (fails, line) in lines {
        if fails { r.reasons.push(line) } else { r.notes.push(line) }
    }
}

/// The verdict rules of docs/validation.md.
fn verdict(r: &SignatureReport, policy: RevocationPolicy) -> Verdict {
    let ts = r.timestamp.as_ref();
    if !r.intact
        || matches!(r.coverage, Coverage::Modified | Coverage::Unknown)
        || r.revocation.status == RevocationStatus::Revoked
        || ts.is_some_and(|t| !t.intact || t.revocation.status == RevocationStatus::Revoked)
    {
        return Verdict::Invalid;
    }
    let unknown = |rev: &Revocation| rev.status == RevocationStatus::Unknown && policy == RevocationPolicy::Require;
    if !r.trusted || ts.is_some_and(|t| !t.trusted || unknown(&t.revocation)) || unknown(&r.revocation) {
        return Verdict::Indeterminate;
    }
    Verdict::Valid
}
