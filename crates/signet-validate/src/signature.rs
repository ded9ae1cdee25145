//! One signature: byte range, digest, CMS, certificate path, and coverage.

use signet_cms::{ParsedSignedData, certpath};
use signet_crypto::Hasher;
use signet_pdf::form::{self, Field, decode_text};
use signet_pdf::xref::XrefEntry;
use signet_pdf::{Dict, Document, Object, Source};

use crate::ValidationOptions;
use crate::changes;
use crate::report::{Coverage, SignatureReport};

pub(crate) fn check<S: Source + Clone>(
    doc: &mut Document<S>,
    src: &S,
    field: &Field,
    value: &Object,
    opts: &ValidationOptions,
) -> SignatureReport {
    let mut r = SignatureReport {
        field: field.name.clone(),
        sub_filter: String::new(),
        signer_subject: None,
        claimed_signing_time: None,
        reason: None,
        byte_range: None,
        digest_algorithm: None,
        certification: None,
        intact: false,
        trusted: false,
        coverage: Coverage::Unknown,
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let sig = match doc.resolve(value) {
        Ok(Object::Dict(d)) => d,
        Ok(_) => {
            r.reasons.push("the field's /V is not a signature dictionary".into());
            return r;
        }
        Err(e) => {
            r.reasons.push(format!("cannot read the signature dictionary: {e}"));
            return r;
        }
    };
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
            return r;
        }
    };
    let Some(br) = r.byte_range else { return r };
    let rev_end = br[2] + br[3];

    match r.sub_filter.as_str() {
        "ETSI.CAdES.detached" | "adbe.pkcs7.detached" => {
            check_cms(src, &br, &contents, &r.sub_filter.clone(), opts, &mut r)
        }
        "ETSI.RFC3161" => {
            r.reasons.push("document timestamps are reported but not yet validated by this version".into());
        }
        other => r.reasons.push(format!("unsupported /SubFilter '{other}'")),
    }

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
    r
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
    let hex = &gap[1..gap.len() - 1];
    if hex.len() % 2 != 0 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err("the /ByteRange gap holds something other than hex digits".into());
    }
    let contents: Vec<u8> = hex.chunks_exact(2).map(|p| (hex_val(p[0]) << 4) | hex_val(p[1])).collect();
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

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

fn check_cms<S: Source>(
    src: &S,
    br: &[u64; 4],
    contents: &[u8],
    sub_filter: &str,
    opts: &ValidationOptions,
    r: &mut SignatureReport,
) {
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
    if sub_filter == "ETSI.CAdES.detached" {
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
    let Some(signer) = cms.signer_certificate.as_deref() else {
        r.reasons.push("the signer certificate is not in the CMS".into());
        return;
    };
    if opts.trust_anchors.is_empty() {
        r.reasons.push("no trust anchors were given, so the signer cannot be trusted".into());
        return;
    }
    match certpath::validate_path(signer, &cms.certificates, &opts.trust_anchors, opts.at) {
        Ok(_) => r.trusted = true,
        Err(e) => r.reasons.push(format!("the signer is not trusted: {e}")),
    }
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
