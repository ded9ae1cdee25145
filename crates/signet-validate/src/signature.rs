//! One signature or document timestamp: byte range, digest, CMS, timestamps, certificate
//! path, and coverage. Revocation, the best signature time, the PAdES level and the verdict
//! need every signature of the document and are settled in `lib.rs`.

use std::time::SystemTime;

use signet_cms::certpath::{self, PathError};
use signet_cms::tsp::{self, TsaKeyUsage, TstInfo};
use signet_cms::{ParsedSignedData, oid};
use signet_crypto::{DigestAlgorithm, Hasher};
use signet_pdf::form::{self, Field, decode_text};
use signet_pdf::xref::XrefEntry;
use signet_pdf::{Dict, Document, Object, Prefix, Source};

use crate::ValidationOptions;
use crate::changes;
use crate::report::{Coverage, Revocation, SignatureKind, SignatureReport, TimestampReport, Verdict, rfc3339};
use crate::revocation::Evidence;

/// A signature checked on its own, with what the document-wide pass needs.
pub(crate) struct Checked {
    pub(crate) report: SignatureReport,
    /// End of the signed revision.
    pub(crate) rev_end: u64,
    /// The signer's (or, for a document timestamp, the TSA's) path to an anchor.
    pub(crate) path: Option<Vec<Vec<u8>>>,
    /// The signature timestamp's TSA path and genTime, when the token is intact.
    pub(crate) ts_path: Option<Vec<Vec<u8>>>,
    pub(crate) ts_time: Option<SystemTime>,
    /// Validation data carried by the CMS (certificates, adbe-revocationInfoArchival) and by
    /// the timestamp token (certificates).
    pub(crate) evidence: Evidence,
    pub(crate) ts_evidence: Evidence,
    /// For a document timestamp: its signed revision already has a DSS (B-LTA, ETSI EN
    /// 319 142-1 §6.4).
    pub(crate) covers_dss: bool,
}

pub(crate) fn check<S: Source + Clone>(
    doc: &mut Document<S>,
    src: &S,
    field: &Field,
    value: &Object,
    opts: &ValidationOptions,
    dss: &Evidence,
) -> Checked {
    let r = SignatureReport {
        kind: SignatureKind::Signature,
        verdict: Verdict::Invalid,
        field: field.name.clone(),
        sub_filter: String::new(),
        signer_subject: None,
        claimed_signing_time: None,
        signature_time: None,
        reason: None,
        byte_range: None,
        digest_algorithm: None,
        certification: None,
        level: None,
        intact: false,
        trusted: false,
        revocation: Revocation::not_checked(),
        timestamp: None,
        coverage: Coverage::Unknown,
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let mut c = Checked {
        report: r,
        rev_end: u64::MAX,
        path: None,
        ts_path: None,
        ts_time: None,
        evidence: Evidence::default(),
        ts_evidence: Evidence::default(),
        covers_dss: false,
    };
    let r = &mut c.report;
    let sig = match doc.resolve(value) {
        Ok(Object::Dict(d)) => d,
        Ok(_) => {
            r.reasons.push("the field's /V is not a signature dictionary".into());
            return c;
        }
        Err(e) => {
            r.reasons.push(format!("cannot read the signature dictionary: {e}"));
            return c;
        }
    };
    if sig.is_name("Type", "DocTimeStamp") || sig.get_name("SubFilter") == Some(b"ETSI.RFC3161") {
        r.kind = SignatureKind::DocumentTimestamp;
    }
    r.sub_filter = sig.get_name("SubFilter").map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
    r.claimed_signing_time = sig.get("M").and_then(Object::as_str).map(decode_text);
    r.reason = sig.get("Reason").and_then(Object::as_str).map(decode_text);
    r.certification = form::docmdp_of_signature(doc, &sig).ok().flatten();

    let contents = match byte_range(doc, src, &sig, value) {
        Ok((br, contents)) => {
            r.byte_range = Some(br);
            contents
        }
        Err(why) => {
            r.reasons.push(why);
            return c;
        }
    };
    let Some(br) = c.report.byte_range else { return c };
    let rev_end = br[2] + br[3];
    c.rev_end = rev_end;

    match c.report.sub_filter.as_str() {
        "ETSI.CAdES.detached" | "adbe.pkcs7.detached" => check_cms(src, &br, &contents, opts, dss, &mut c),
        "ETSI.RFC3161" => {
            check_document_timestamp(src, &br, &contents, opts, dss, &mut c);
            c.covers_dss = Document::open(Prefix::new(src.clone(), rev_end), opts.password.as_deref())
                .and_then(|mut d| d.catalog())
                .is_ok_and(|cat| cat.contains("DSS"));
        }
        other => c.report.reasons.push(format!("unsupported /SubFilter '{other}'")),
    }
    let r = &mut c.report;

    r.coverage = if rev_end == src.len() {
        Coverage::Whole
    } else {
        let perms = changes::Permissions { docmdp: r.certification, lock: field_lock(doc, field, &sig) };
        match changes::analyze_with(src.clone(), rev_end, &perms, opts.password.as_deref()) {
            Ok(v) if v.is_empty() => Coverage::PermittedChanges,
            Ok(v) => {
                r.reasons.extend(v);
                Coverage::Modified
            }
            Err(e) => {
                r.reasons.push(format!("cannot compare the signed revision with the document: {e}"));
                Coverage::Modified
            }
        }
    };
    c
}

/// The fields this signature locks: its FieldMDP transform (ISO 32000-2 §12.8.2.4) or its
/// field's `/Lock` (§12.7.5.5).
fn field_lock<S: Source>(doc: &mut Document<S>, field: &Field, sig: &Dict) -> Option<changes::FieldLock> {
    if let Ok(Some(Object::Array(refs))) = doc.resolve_key(sig, "Reference") {
        for r in refs {
            let Ok(Object::Dict(r)) = doc.resolve(&r) else { continue };
            if r.is_name("TransformMethod", "FieldMDP")
                && let Ok(Some(Object::Dict(params))) = doc.resolve_key(&r, "TransformParams")
            {
                return changes::FieldLock::from_dict(&params);
            }
        }
    }
    match doc.resolve_key(&field.dict, "Lock") {
        Ok(Some(Object::Dict(lock))) => changes::FieldLock::from_dict(&lock),
        _ => None,
    }
}

/// Parses and checks `/ByteRange` (ISO 32000-2 §12.8.1): `[0 b c d]` covering everything
/// from the start of the file to the end of a revision except exactly the `/Contents` hex
/// string, delimiters included. Returns the range and the CMS bytes read from the gap.
fn byte_range<S: Source>(
    doc: &mut Document<S>,
    src: &S,
    sig: &Dict,
    value: &Object,
) -> Result<([u64; 4], Vec<u8>), String> {
    let arr = sig.get("ByteRange").and_then(Object::as_array).ok_or("the signature has no /ByteRange")?;
    let nums: Vec<u64> = arr
        .iter()
        .map(|o| o.as_int().and_then(|v| u64::try_from(v).ok()))
        .collect::<Option<_>>()
        .ok_or("/ByteRange holds a non-integer or negative value")?;
    let [a, b, c, d] = nums[..] else {
        return Err(format!("/ByteRange has {} numbers instead of 4", nums.len()));
    };
    let len = src.len();
    if a != 0 {
        return Err("/ByteRange does not start at the beginning of the file".into());
    }
    if b == 0 || c <= b + 1 || c.checked_add(d).is_none_or(|e| e > len) {
        return Err(format!("/ByteRange [{a} {b} {c} {d}] is not a valid range in a file of {len} bytes"));
    }
    let gap_len = c - b;
    if gap_len > 64 << 20 {
        return Err("the /Contents gap is implausibly large".into());
    }
    let gap = src.read_vec(b, gap_len as usize).map_err(|e| e.to_string())?;
    if gap.first() != Some(&b'<') || gap.last() != Some(&b'>') {
        return Err("the /ByteRange gap is not exactly the /Contents hex string".into());
    }
    let contents = hex::decode(&gap[1..gap.len() - 1])
        .map_err(|_| "the /ByteRange gap holds something other than hex digits".to_string())?;
    if sig.get("Contents").and_then(Object::as_str) != Some(contents.as_slice()) {
        return Err("the /ByteRange gap is not this signature's /Contents".into());
    }
    // the gap must lie inside the signature dictionary's own object
    if let Some(sig_ref) = value.as_ref() {
        match doc.xref().entries.get(&sig_ref.num) {
            Some(XrefEntry::Offset { offset, .. }) if *offset < b && b - offset < (1 << 20) => {
                let head = src.read_vec(*offset, (b - offset) as usize).map_err(|e| e.to_string())?;
                if head.windows(6).any(|w| w == b"endobj") {
                    return Err("the /ByteRange gap lies outside the signature dictionary".into());
                }
            }
            _ => return Err("the /ByteRange gap lies outside the signature dictionary".into()),
        }
    }
    let eof = src.read_vec((c + d).saturating_sub(8), 8).map_err(|e| e.to_string())?;
    if !eof.windows(5).any(|w| w == b"%%EOF") {
        return Err("the signed range does not end at the end of a revision (%%EOF)".into());
    }
    Ok(([a, b, c, d], contents))
}

fn check_cms<S: Source>(
    src: &S,
    br: &[u64; 4],
    contents: &[u8],
    opts: &ValidationOptions,
    dss: &Evidence,
    c: &mut Checked,
) {
    let r = &mut c.report;
    let cms = match ParsedSignedData::parse(contents) {
        Ok(c) => c,
        Err(e) => {
            r.reasons.push(format!("the CMS signature cannot be read: {e}"));
            return;
        }
    };
    r.signer_subject = cms.signer_certificate.as_deref().and_then(certpath::subject_to_string);
    let digest = match cms.digest_algorithm() {
        Ok(d) => d,
        Err(e) => {
            r.reasons.push(format!("digest algorithm: {e}"));
            return;
        }
    };
    r.digest_algorithm = Some(digest.name().into());
    let computed = match hash_ranges(src, br, digest) {
        Ok(h) => h,
        Err(e) => {
            r.reasons.push(format!("cannot read the signed bytes: {e}"));
            return;
        }
    };
    let mut intact = true;
    if let Err(e) = cms.check_message_digest(&computed) {
        r.reasons.push(format!("the document was altered: {e}"));
        intact = false;
    }
    if let Err(e) = cms.verify_signature() {
        r.reasons.push(format!("the CMS signature does not verify: {e}"));
        intact = false;
    }
    if r.sub_filter == "ETSI.CAdES.detached" {
        // ETSI EN 319 142-1 §6.3: signing-certificate-v2 is required; signing-time is not allowed
        if let Err(e) = cms.check_signing_certificate_v2() {
            r.reasons.push(format!("signing-certificate-v2: {e}"));
            intact = false;
        }
        if cms.has_signing_time {
            r.notes.push("the CMS carries a signing-time attribute, which PAdES baseline does not allow".into());
        }
    }
    r.intact = intact;
    c.evidence = Evidence::from_cms(&cms);

    // the signature timestamp: imprint over the SignerInfo's signature value octets
    // (RFC 3161 Appendix A, ETSI EN 319 122-1 §5.3)
    if let Some(attr) = cms.unsigned_attribute(&oid::SIGNATURE_TIME_STAMP_TOKEN) {
        match attr.values.first() {
            Some(token) => {
                let signature = cms.signature.clone();
                let CheckedTimestamp { report: ts, path, gen_time: time, certs } =
                    check_timestamp(token, |alg| Ok(alg.digest(&signature)), &[&c.evidence.certs, &dss.certs], opts);
                c.ts_path = path;
                c.ts_time = time;
                c.ts_evidence = Evidence { certs, ..Evidence::default() };
                c.report.timestamp = Some(ts);
            }
            None => c.report.reasons.push("the signature timestamp attribute is empty".into()),
        }
    }
    let r = &mut c.report;

    let Some(signer) = cms.signer_certificate.as_deref() else {
        r.reasons.push("the signer certificate is not in the CMS".into());
        return;
    };
    let candidates: Vec<Vec<u8>> = cms.certificates.iter().chain(&dss.certs).cloned().collect();
    match build_path(signer, &candidates, opts, c.ts_time) {
        Ok((path, note)) => {
            r.trusted = true;
            r.notes.extend(note);
            c.path = Some(path);
        }
        Err(why) => r.reasons.push(format!("the signer is not trusted: {why}")),
    }
}

/// Builds the path at the validation time; when a certificate has expired since, at the
/// proven time `fallback` instead (ETSI EN 319 102-1 §5.6.2.1 past validation), with a note.
fn build_path(
    cert: &[u8],
    candidates: &[Vec<u8>],
    opts: &ValidationOptions,
    fallback: Option<SystemTime>,
) -> Result<(Vec<Vec<u8>>, Option<String>), String> {
    if opts.trust_anchors.is_empty() {
        return Err("no trust anchors were given".into());
    }
    match certpath::validate_path(cert, candidates, &opts.trust_anchors, opts.at) {
        Ok(p) => Ok((p, None)),
        Err(e @ PathError::Expired { .. }) => match fallback {
            Some(t) => match certpath::validate_path(cert, candidates, &opts.trust_anchors, t) {
                Ok(p) => Ok((p, Some(format!("{e}; the path was valid at the proven time {}", rfc3339(t))))),
                Err(_) => Err(e.to_string()),
            },
            None => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    }
}

/// A document timestamp (ETSI EN 319 142-1 §5.4.3): `/Contents` is a timestamp token whose
/// imprint is the digest of the byte range.
fn check_document_timestamp<S: Source>(
    src: &S,
    br: &[u64; 4],
    contents: &[u8],
    opts: &ValidationOptions,
    dss: &Evidence,
    c: &mut Checked,
) {
    let CheckedTimestamp { report: ts, path, gen_time: time, certs } =
        check_timestamp(contents, |alg| hash_ranges(src, br, alg).map_err(|e| e.to_string()), &[&dss.certs], opts);
    let r = &mut c.report;
    r.signer_subject = ts.tsa_subject.clone();
    r.intact = ts.intact;
    r.trusted = ts.trusted;
    r.signature_time = ts.gen_time.clone();
    r.reasons.extend(ts.reasons.iter().cloned());
    c.path = path;
    c.ts_time = time;
    c.evidence = Evidence { certs, ..Evidence::default() };
    r.timestamp = Some(ts);
}

/// Checks a timestamp token (RFC 3161 §2.4.2) whose imprint `imprint` computes with the
/// token's own digest algorithm, and its TSA's path. Returns the report, the TSA path when
/// trusted, genTime when intact, and the token's certificates.
fn check_timestamp(
    token: &[u8],
    imprint: impl FnOnce(DigestAlgorithm) -> Result<Vec<u8>, String>,
    more_certs: &[&Vec<Vec<u8>>],
    opts: &ValidationOptions,
) -> CheckedTimestamp {
    let mut ts = TimestampReport {
        gen_time: None,
        tsa_subject: None,
        intact: false,
        trusted: false,
        revocation: Revocation::not_checked(),
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let sd = match ParsedSignedData::parse(token) {
        Ok(sd) => sd,
        Err(e) => {
            ts.reasons.push(format!("the timestamp token cannot be read: {e}"));
            return CheckedTimestamp { report: ts, path: None, gen_time: None, certs: Vec::new() };
        }
    };
    ts.tsa_subject = sd.signer_certificate.as_deref().and_then(certpath::subject_to_string);
    let token = &token[..sd.der_len.min(token.len())];
    let info = match sd.econtent.as_deref().map(TstInfo::parse) {
        Some(Ok(i)) => i,
        Some(Err(e)) => {
            ts.reasons.push(format!("the timestamp token's TSTInfo cannot be read: {e}"));
            return CheckedTimestamp { report: ts, path: None, gen_time: None, certs: sd.certificates };
        }
        None => {
            ts.reasons.push("the timestamp token holds no TSTInfo".into());
            return CheckedTimestamp { report: ts, path: None, gen_time: None, certs: sd.certificates };
        }
    };
    ts.gen_time = Some(rfc3339(info.gen_time));
    let Ok(alg) = DigestAlgorithm::from_oid(&info.imprint_algorithm) else {
        ts.reasons.push(format!("the timestamp imprint uses an unsupported digest {}", info.imprint_algorithm));
        return CheckedTimestamp { report: ts, path: None, gen_time: None, certs: sd.certificates };
    };
    let expected = match imprint(alg) {
        Ok(i) => i,
        Err(e) => {
            ts.reasons.push(format!("cannot compute the timestamp imprint: {e}"));
            return CheckedTimestamp { report: ts, path: None, gen_time: None, certs: sd.certificates };
        }
    };
    // RFC 3161 §2.3: the TSA certificate's only, critical extended key usage is timeStamping
    let verified = match tsp::verify_token_with(token, alg, &expected, None, TsaKeyUsage::Strict) {
        Ok(v) => v,
        Err(e) => {
            ts.reasons.push(format!("the timestamp does not verify: {e}"));
            return CheckedTimestamp { report: ts, path: None, gen_time: None, certs: sd.certificates };
        }
    };
    ts.intact = true;
    let gen_time = verified.tst_info.gen_time;
    let candidates: Vec<Vec<u8>> =
        verified.certs.iter().cloned().chain(more_certs.iter().flat_map(|c| c.iter().cloned())).collect();
    let path = match build_path(&verified.signer_cert, &candidates, opts, Some(gen_time)) {
        Ok((path, note)) => {
            ts.trusted = true;
            ts.notes.extend(note);
            Some(path)
        }
        Err(why) => {
            ts.reasons.push(format!("the TSA is not trusted: {why}"));
            None
        }
    };
    CheckedTimestamp { report: ts, path, gen_time: Some(gen_time), certs: verified.certs }
}

/// A checked timestamp token: its report, the TSA path when trusted, genTime when intact,
/// and the certificates it carries.
struct CheckedTimestamp {
    report: TimestampReport,
    path: Option<Vec<Vec<u8>>>,
    gen_time: Option<SystemTime>,
    certs: Vec<Vec<u8>>,
}

/// Hashes `[a, a+b)` and `[c, c+d)` (read and hashed in parallel when large).
pub(crate) fn hash_ranges<S: Source>(
    src: &S,
    br: &[u64; 4],
    alg: signet_crypto::DigestAlgorithm,
) -> std::io::Result<Vec<u8>> {
    let mut h = Hasher::new(alg);
    h.update_from_ranges(&[(br[0], br[1]), (br[2], br[3])], &|off, buf| src.read_at(off, buf), true)?;
    Ok(h.finish())
}
