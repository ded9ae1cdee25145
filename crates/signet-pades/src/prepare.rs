//! Stage one: add the signature field and the signature dictionary with a `/Contents`
//! placeholder as an incremental update, and hash the `/ByteRange` (ISO 32000-2 §12.8.1,
//! ETSI EN 319 142-1 §5.3/§6.2.1).

use std::time::SystemTime;

use signet_crypto::{DigestAlgorithm, Hasher};
use signet_pdf::appearance::{AppearanceSpec, SealImage, build_appearance};
use signet_pdf::form::{self, Field};
use signet_pdf::{Dict, Document, IncrementalUpdate, ObjRef, Object, Source, Stream};

use crate::error::{Error, Result};
use crate::fields::{FieldValue, fill_text_fields, widget_rotation};
use crate::placement::{VisualRect, to_user_space};

/// DocMDP permission of a certification signature (§12.8.2.2.2, Table 257).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certification {
    /// P=1: no changes at all.
    NoChanges = 1,
    /// P=2: form filling and further signatures.
    FormFilling = 2,
    /// P=3: also annotations.
    Annotations = 3,
}

impl std::str::FromStr for Certification {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "no-changes" | "1" => Ok(Certification::NoChanges),
            "form-filling" | "2" => Ok(Certification::FormFilling),
            "annotations" | "3" => Ok(Certification::Annotations),
            _ => Err(format!("unknown certification level '{s}' (no-changes, form-filling, annotations)")),
        }
    }
}

/// A visible signature: where, and what it shows.
#[derive(Clone, Debug)]
pub struct Visible {
    /// 1-based page; negative counts from the end (-1 = last page).
    pub page: i64,
    /// The rectangle on the page as displayed.
    pub rect: VisualRect,
    /// The seal image.
    pub image: Option<SealImage>,
    /// Text lines.
    pub text: Vec<String>,
}

/// What to sign and how.
#[derive(Clone, Debug)]
pub struct SignatureOptions {
    /// Field name: an existing empty signature field, or the name of a new one (generated
    /// when `None`).
    pub field: Option<String>,
    /// Page of an invisible signature's widget (1-based, negative from the end).
    pub page: i64,
    /// A visible appearance; `None` for an invisible signature. When `field` names an
    /// existing empty signature field, the appearance goes into that field's widget at the
    /// widget's own `/Rect` (turned as its `/MK /R` or its page's `/Rotate` says): the
    /// widget was placed when the field was made, so `page` and `rect` are ignored.
    pub visible: Option<Visible>,
    /// More places where the same signature's seal shows (a seal stamped on several pages):
    /// each becomes a locked stamp annotation (ISO 32000-2 §12.5.6.12) in the signed revision,
    /// so the signature covers it. (A signature field with several `/Kids` widgets would be
    /// the closer model, but poppler 22 then sees no signature at all.) Needs `visible` and
    /// a new field.
    pub stamps: Vec<Visible>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact_info: Option<String>,
    /// `/Name` (the signer's name as claimed; validators use the certificate).
    pub name: Option<String>,
    /// Claimed signing time, written to `/M` (PAdES puts no signing-time in the CMS).
    pub signing_time: SystemTime,
    /// Make this a certification signature.
    pub certify: Option<Certification>,
    /// Digest of the byte ranges.
    pub digest: DigestAlgorithm,
    /// Bytes reserved for the CMS in `/Contents`.
    pub contents_size: usize,
    /// Read the input on a second thread while hashing (large inputs only). Off when the
    /// caller already keeps the other core busy, as [`crate::sign_file`] does with its copy.
    pub pipelined_hashing: bool,
    /// A signature, or a document timestamp.
    pub kind: SignatureKind,
    /// Existing text fields to fill in the same incremental update as the signature, so that
    /// the signature covers the values: each field's `/V` is set and its widgets get a new
    /// normal appearance showing the value (ISO 32000-2 §12.7.4.3) in the embedded DejaVu
    /// Sans and, for CJK, Droid Sans Fallback, sized to fit the widget (or at the size of its
    /// `/DA`), upright on rotated pages. Under a DocMDP P=2 certification this is a permitted change
    /// (§12.8.2.2.2, Table 257). Refused, with nothing written: unknown names, fields that
    /// are not text fields (signature fields among them), read-only fields, fields locked by
    /// an earlier signature (§12.8.2.4), values over `/MaxLen` or with several lines for a
    /// single-line field.
    pub fill: Vec<FieldValue>,
}

/// What the new signature dictionary holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignatureKind {
    /// A PAdES signature: `/Type /Sig`, `/SubFilter /ETSI.CAdES.detached`, a CMS
    /// `SignedData` in `/Contents` (ETSI EN 319 142-1 §5.3).
    #[default]
    Signature,
    /// A document timestamp: `/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`, an RFC 3161
    /// token over the byte range in `/Contents` (ISO 32000-2 §12.8.5, ETSI EN 319 142-1
    /// §5.4). No `/M`, reason or certification: the token carries the time. Always an
    /// invisible field.
    DocTimeStamp,
}

impl Default for SignatureOptions {
    fn default() -> Self {
        SignatureOptions {
            field: None,
            page: 1,
            visible: None,
            stamps: Vec::new(),
            reason: None,
            location: None,
            contact_info: None,
            name: None,
            signing_time: SystemTime::now(),
            certify: None,
            digest: DigestAlgorithm::Sha256,
            contents_size: 16 * 1024,
            pipelined_hashing: true,
            kind: SignatureKind::Signature,
            fill: Vec::new(),
        }
    }
}

/// A document ready to be signed: the update is built, the digest is known, and the output
/// is the original bytes followed by [`TbsDocument::update`] once the CMS is attached.
#[derive(Debug)]
pub struct TbsDocument {
    update: Vec<u8>,
    original_len: u64,
    /// `<` of `/Contents`, relative to the update.
    contents_start: usize,
    /// One past `>`, relative to the update.
    contents_end: usize,
    byte_range: [u64; 4],
    digest: Vec<u8>,
    digest_algorithm: DigestAlgorithm,
    field_name: String,
}

impl TbsDocument {
    /// The digest of the byte ranges: the message-digest the CMS must carry.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// The digest algorithm.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }

    /// `/ByteRange` values.
    pub fn byte_range(&self) -> [u64; 4] {
        self.byte_range
    }

    /// The field the signature goes in.
    pub fn field_name(&self) -> &str {
        &self.field_name
    }

    /// Bytes available for the DER CMS.
    pub fn reserved(&self) -> usize {
        (self.contents_end - self.contents_start - 2) / 2
    }

    /// Length of the original document.
    pub fn original_len(&self) -> u64 {
        self.original_len
    }

    /// Takes the prepared document apart, to keep between the two stages when they do not run
    /// in one go (deferred signing: the signer returns hours later, perhaps to another
    /// process). [`TbsDocument::from_parts`] puts it together again.
    pub fn into_parts(self) -> TbsParts {
        TbsParts {
            update: self.update,
            original_len: self.original_len,
            byte_range: self.byte_range,
            digest: self.digest,
            digest_algorithm: self.digest_algorithm,
            field_name: self.field_name,
        }
    }

    /// A prepared document from what [`TbsDocument::into_parts`] gave, checked: the byte range
    /// starts at 0, covers the original and the whole update except the `/Contents` hex
    /// string (ISO 32000-2 §12.8.1), which lies in the update and is still the unfilled
    /// placeholder (`<` zeros `>`). Stored parts that were altered or mixed up are refused
    /// here rather than producing a broken signature. The digest cannot be checked without
    /// the original; [`TbsDocument::attach`] callers verify the result.
    pub fn from_parts(parts: TbsParts) -> Result<TbsDocument> {
        let TbsParts { update, original_len, byte_range, digest, digest_algorithm, field_name } = parts;
        let bad = |what: &str| Error::Refused(format!("the prepared signature does not fit its document: {what}"));
        let [start, before, after, rest] = byte_range;
        let total = original_len.checked_add(update.len() as u64).ok_or_else(|| bad("length overflow"))?;
        if start != 0 || before < original_len || after <= before || after.checked_add(rest) != Some(total) {
            return Err(bad("the /ByteRange does not cover the document and its update"));
        }
        let contents_start = usize::try_from(before - original_len).map_err(|_| bad("offset"))?;
        let contents_end = usize::try_from(after - original_len).map_err(|_| bad("offset"))?;
        let hex = update.get(contents_start..contents_end).ok_or_else(|| bad("/Contents outside the update"))?;
        let placeholder = hex.len() >= 4
            && hex.len() % 2 == 0
            && hex.first() == Some(&b'<')
            && hex.last() == Some(&b'>')
            && hex[1..hex.len() - 1].iter().all(|&b| b == b'0');
        if !placeholder {
            return Err(bad("/Contents is not an unfilled placeholder"));
        }
        if digest.len() != digest_algorithm.output_len() {
            return Err(bad("the digest's length"));
        }
        Ok(TbsDocument {
            update,
            original_len,
            contents_start,
            contents_end,
            byte_range,
            digest,
            digest_algorithm,
            field_name,
        })
    }

    /// Places the DER `cms` in `/Contents` (hex, zero padded) and returns the bytes to append
    /// to the original file. Fails, writing nothing, if it does not fit.
    pub fn attach(mut self, cms: &[u8]) -> Result<Vec<u8>> {
        if cms.len() > self.reserved() {
            return Err(Error::ContentsTooSmall { reserved: self.reserved(), needed: cms.len() });
        }
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let at = self.contents_start + 1;
        for (dst, &b) in self.update[at..at + 2 * cms.len()].chunks_exact_mut(2).zip(cms) {
            dst[0] = HEX[(b >> 4) as usize];
            dst[1] = HEX[(b & 15) as usize];
        }
        Ok(self.update)
    }
}

/// A [`TbsDocument`] taken apart ([`TbsDocument::into_parts`]) to be stored between the two
/// stages of a deferred signature: the update with the `/Contents` placeholder, the byte
/// range, the digest. Put together again with [`TbsDocument::from_parts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TbsParts {
    /// The incremental update to append to the original, `/Contents` still zeros.
    pub update: Vec<u8>,
    /// The original document's length.
    pub original_len: u64,
    /// The `/ByteRange` written in the update (absolute offsets).
    pub byte_range: [u64; 4],
    /// The digest of the byte ranges.
    pub digest: Vec<u8>,
    /// Its algorithm.
    pub digest_algorithm: DigestAlgorithm,
    /// The signature field.
    pub field_name: String,
}

/// Each `/ByteRange` number is written as this 10-digit placeholder and patched in place.
const PLACEHOLDER_NUM: i64 = 9_999_999_999;
/// Length of `[0 9999999999 9999999999 9999999999]`.
const BYTE_RANGE_PLACEHOLDER_LEN: usize = 36;

/// Builds the update for one signature and hashes the byte ranges.
pub fn prepare<S: Source>(doc: &mut Document<S>, opts: &SignatureOptions) -> Result<TbsDocument> {
    let original = hash_original(doc, opts.digest, opts.pipelined_hashing)?;
    prepare_hashed(doc, opts, original)
}

/// The digest state after the original document's bytes: the first byte range always starts
/// with all of them, so this is computed once, before the update exists, and reused if the
/// update has to be rebuilt.
pub fn hash_original<S: Source>(doc: &Document<S>, alg: DigestAlgorithm, pipelined: bool) -> Result<Hasher> {
    let mut h = Hasher::new(alg);
    let src = doc.source();
    h.update_from_ranges(&[(0, src.len())], &|off, buf| src.read_at(off, buf), pipelined).map_err(Error::Io)?;
    Ok(h)
}

/// [`prepare`] with the original bytes already hashed into `original` (see [`hash_original`]).
pub fn prepare_hashed<S: Source>(
    doc: &mut Document<S>,
    opts: &SignatureOptions,
    original: Hasher,
) -> Result<TbsDocument> {
    if original.algorithm() != opts.digest {
        return Err(Error::Signature("the original was hashed with another digest algorithm".into()));
    }
    let doc_ts = opts.kind == SignatureKind::DocTimeStamp;
    if doc_ts && (opts.certify.is_some() || opts.visible.is_some() || !opts.fill.is_empty()) {
        return Err(Error::Refused("a document timestamp cannot certify, fill fields or have an appearance".into()));
    }
    let permission = form::docmdp_permission(doc)?;
    // Validation data and document timestamps stay allowed after P=1 (ETSI EN 319 142-1
    // §5.4: they are not changes to the document's content).
    if permission == Some(1) && !doc_ts {
        return Err(Error::Refused(
            "the document is certified with DocMDP P=1 (no changes allowed): another signature would invalidate the certification".into(),
        ));
    }
    let fields = form::fields(doc)?;
    let signed_before = fields.iter().any(|f| f.is_signature() && f.value.is_some());
    if opts.certify.is_some() && (signed_before || permission.is_some()) {
        return Err(Error::Refused(
            "a certification signature must be the document's first signature, and this document is already signed"
                .into(),
        ));
    }

    let root_ref = doc.root_ref()?;
    let mut catalog = doc.catalog()?;
    let mut catalog_changed = false;
    let mut upd = IncrementalUpdate::new(doc);
    let sig_ref = upd.allocate();

    // ---- the field ----
    let existing = match &opts.field {
        Some(name) => fields.iter().find(|f| &f.name == name).cloned(),
        None => None,
    };
    let field_name = match (&existing, &opts.field) {
        (Some(f), _) => {
            if !f.is_signature() {
                return Err(Error::Refused(format!("field '{}' is not a signature field", f.name)));
            }
            if f.value.is_some() {
                return Err(Error::Refused(format!("field '{}' is already signed", f.name)));
            }
            f.name.clone()
        }
        (None, Some(n)) => {
            if n.is_empty() || n.contains('.') {
                return Err(Error::Refused(format!("'{n}' is not a valid new field name (empty or contains '.')")));
            }
            n.clone()
        }
        (None, None) => (1..)
            .map(|i| if doc_ts { format!("DocTimeStamp{i}") } else { format!("Signature{i}") })
            .find(|n| !fields.iter().any(|f| &f.name == n))
            .unwrap_or_else(|| "Signature".into()),
    };

    if !opts.stamps.is_empty() && (existing.is_some() || opts.visible.is_none() || doc_ts) {
        return Err(Error::Refused("more seal placements need a visible signature in a new field".into()));
    }
    if let Some(field) = existing {
        fill_existing_field(doc, &mut upd, &field, sig_ref, opts)?;
        // §12.7.3.1 Table 225: SigFlags 3 says the document holds signatures (append only)
        if let Some(a) = form::acro_form(doc)?
            && a.dict.get_int("SigFlags") != Some(3)
        {
            let mut d = a.dict.clone();
            d.set("SigFlags", Object::Int(3));
            match a.id {
                Some(id) => upd.replace(id, d),
                None => {
                    catalog.set("AcroForm", Object::Dict(d));
                    catalog_changed = true;
                }
            }
        }
    } else {
        let widget = new_widget(doc, &mut upd, &field_name, sig_ref, opts)?;
        let acro = form::acro_form(doc)?;
        let mut acro_dict = acro.as_ref().map(|a| a.dict.clone()).unwrap_or_default();
        append_fields(doc, &mut upd, &mut acro_dict, vec![widget])?;
        acro_dict.set("SigFlags", Object::Int(3));
        match acro.and_then(|a| a.id) {
            Some(id) => upd.replace(id, acro_dict),
            None => {
                catalog.set("AcroForm", Object::Dict(acro_dict));
                catalog_changed = true;
            }
        }
    }
    fill_text_fields(doc, &mut upd, &fields, &opts.fill)?;
    // ---- the signature dictionary ----
    let (sig_type, sub_filter) = if doc_ts { ("DocTimeStamp", "ETSI.RFC3161") } else { ("Sig", "ETSI.CAdES.detached") };
    let mut sig = Dict::new()
        .with("Type", Object::name(sig_type))
        .with("Filter", Object::name("Adobe.PPKLite"))
        .with("SubFilter", Object::name(sub_filter))
        .with(
            "ByteRange",
            Object::Array(vec![
                Object::Int(0),
                Object::Int(PLACEHOLDER_NUM),
                Object::Int(PLACEHOLDER_NUM),
                Object::Int(PLACEHOLDER_NUM),
            ]),
        )
        .with("Contents", Object::String(vec![0; opts.contents_size]));
    if !doc_ts {
        sig.set("M", Object::String(crate::time::pdf_date(opts.signing_time).into_bytes()));
    }
    for (k, v) in [
        ("Name", &opts.name),
        ("Reason", &opts.reason),
        ("Location", &opts.location),
        ("ContactInfo", &opts.contact_info),
    ] {
        if let Some(v) = v.as_ref().filter(|_| !doc_ts) {
            sig.set(k, Object::text(v));
        }
    }
    sig.set(
        "Prop_Build",
        Object::Dict(Dict::new().with("App", Object::Dict(Dict::new().with("Name", Object::name("Signet"))))),
    );
    if let Some(level) = opts.certify {
        let params = Dict::new()
            .with("Type", Object::name("TransformParams"))
            .with("P", Object::Int(level as i64))
            .with("V", Object::name("1.2"));
        let sigref = Dict::new()
            .with("Type", Object::name("SigRef"))
            .with("TransformMethod", Object::name("DocMDP"))
            .with("TransformParams", Object::Dict(params));
        sig.set("Reference", Object::Array(vec![Object::Dict(sigref)]));
        let mut perms = match doc.resolve_key(&catalog, "Perms")? {
            Some(Object::Dict(d)) => d,
            _ => Dict::new(),
        };
        perms.set("DocMDP", sig_ref.into());
        catalog.set("Perms", Object::Dict(perms));
        catalog_changed = true;
    }
    upd.replace(sig_ref, sig);
    if catalog_changed {
        upd.replace(root_ref, catalog);
    }

    // ---- serialise, fix the byte range, hash ----
    let written = upd.finish(doc)?;
    let mut update = written.bytes;
    let &(s0, s1) = written
        .objects
        .get(&sig_ref.num)
        .ok_or_else(|| Error::Signature("signature dictionary missing from the update".into()))?;
    // the placeholders are the first occurrences in the signature object: /ByteRange and
    // /Contents come before any user text in the dictionary
    let br_at = s0
        + find(&update[s0..s1], b"/ByteRange[")
            .ok_or_else(|| Error::Signature("ByteRange placeholder not found".into()))?
        + b"/ByteRange".len();
    let contents_start = s0
        + find(&update[s0..s1], b"/Contents<")
            .ok_or_else(|| Error::Signature("Contents placeholder not found".into()))?
        + b"/Contents".len();
    let contents_end = contents_start + 2 * opts.contents_size + 2;
    let base = doc.len();
    let total = base + update.len() as u64;
    let byte_range =
        [0, base + contents_start as u64, base + contents_end as u64, total - (base + contents_end as u64)];
    // "[0 a b c" padded with spaces to the placeholder's width, then "]"
    let mut text = format!("[0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]).into_bytes();
    if text.len() + 1 > BYTE_RANGE_PLACEHOLDER_LEN {
        return Err(Error::Refused("the document is too large for a 10-digit /ByteRange".into()));
    }
    text.resize(BYTE_RANGE_PLACEHOLDER_LEN - 1, b' ');
    text.push(b']');
    update[br_at..br_at + BYTE_RANGE_PLACEHOLDER_LEN].copy_from_slice(&text);

    let mut h = original;
    h.update(&update[..contents_start]);
    h.update(&update[contents_end..]);
    Ok(TbsDocument {
        update,
        original_len: base,
        contents_start,
        contents_end,
        byte_range,
        digest: h.finish(),
        digest_algorithm: opts.digest,
        field_name,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Appends `new` to the AcroForm's `/Fields` (§12.7.3 Table 224): in the array object when it
/// is indirect (on top of what `upd` already changed there), else in `acro`.
pub(crate) fn append_fields<S: Source>(
    doc: &mut Document<S>,
    upd: &mut IncrementalUpdate,
    acro: &mut Dict,
    new: Vec<ObjRef>,
) -> Result<()> {
    let new = new.into_iter().map(Object::from);
    match acro.get("Fields").cloned() {
        Some(Object::Ref(fr)) => {
            let mut arr = match upd.get(fr) {
                Some(o) => o.as_array().map(<[Object]>::to_vec).unwrap_or_default(),
                None => doc.get(fr)?.as_array().map(<[Object]>::to_vec).unwrap_or_default(),
            };
            arr.extend(new);
            upd.replace(fr, Object::Array(arr));
        }
        Some(Object::Array(mut arr)) => {
            arr.extend(new);
            acro.set("Fields", Object::Array(arr));
        }
        _ => acro.set("Fields", Object::Array(new.collect())),
    }
    Ok(())
}

/// The page index (0-based) for a 1-based, possibly negative page number.
pub(crate) fn page_index<S: Source>(doc: &mut Document<S>, page: i64) -> Result<usize> {
    let n = doc.page_count()? as i64;
    let idx = if page < 0 { n.checked_add(page) } else { page.checked_sub(1) }.unwrap_or(-1);
    if page == 0 || idx < 0 || idx >= n {
        return Err(Error::Refused(format!("page {page} does not exist (the document has {n} pages)")));
    }
    Ok(idx as usize)
}

fn empty_appearance(w: f64, h: f64) -> Stream {
    let d = Dict::new()
        .with("Type", Object::name("XObject"))
        .with("Subtype", Object::name("Form"))
        .with("BBox", Object::Array(vec![0.into(), 0.into(), w.into(), h.into()]));
    Stream::new(d, Vec::new())
}

/// The appearance stream and rectangle of a visible placement on `page`.
fn placed_appearance(
    upd: &mut IncrementalUpdate,
    v: &Visible,
    page: &signet_pdf::Page,
) -> Result<(signet_pdf::Rect, Stream)> {
    let (rect, matrix) = to_user_space(&v.rect, &page.crop_box, page.rotate);
    let spec = AppearanceSpec {
        image: v.image.clone(),
        text: v.text.clone(),
        ..AppearanceSpec::new(v.rect.width(), v.rect.height())
    };
    let mut form = build_appearance(&spec, &mut |o| upd.add(o))?;
    form.dict.set("Matrix", Object::Array(matrix.iter().map(|&x| Object::Real(x)).collect()));
    Ok((rect, form))
}

/// Appends `annot` to the page's `/Annots`, on top of what this update already changed there.
pub(crate) fn add_annot<S: Source>(
    doc: &mut Document<S>,
    upd: &mut IncrementalUpdate,
    page: &signet_pdf::Page,
    annot: ObjRef,
) -> Result<()> {
    let mut page_dict = match upd.get(page.id).and_then(Object::as_dict) {
        Some(d) => d.clone(),
        None => page.dict.clone(),
    };
    match page_dict.get("Annots").cloned() {
        Some(Object::Ref(ar)) => {
            let mut arr = match upd.get(ar) {
                Some(o) => o.as_array().map(<[Object]>::to_vec).unwrap_or_default(),
                None => doc.get(ar)?.as_array().map(<[Object]>::to_vec).unwrap_or_default(),
            };
            arr.push(annot.into());
            upd.replace(ar, Object::Array(arr));
        }
        Some(Object::Array(mut arr)) => {
            arr.push(annot.into());
            page_dict.set("Annots", Object::Array(arr));
            upd.replace(page.id, page_dict);
        }
        _ => {
            page_dict.set("Annots", Object::Array(vec![annot.into()]));
            upd.replace(page.id, page_dict);
        }
    }
    Ok(())
}

/// A new merged signature field/widget on the target page, appended to the page's `/Annots`,
/// and the stamps of [`SignatureOptions::stamps`] on theirs.
fn new_widget<S: Source>(
    doc: &mut Document<S>,
    upd: &mut IncrementalUpdate,
    name: &str,
    sig_ref: ObjRef,
    opts: &SignatureOptions,
) -> Result<ObjRef> {
    let page_no = opts.visible.as_ref().map_or(opts.page, |v| v.page);
    let index = page_index(doc, page_no)?;
    let page = doc.page(index)?;
    let (rect, ap) = match &opts.visible {
        None => (signet_pdf::Rect { llx: 0.0, lly: 0.0, urx: 0.0, ury: 0.0 }, empty_appearance(0.0, 0.0)),
        Some(v) => placed_appearance(upd, v, &page)?,
    };
    let ap_ref = upd.add(ap);
    let widget = |rect: signet_pdf::Rect, ap: ObjRef, page: ObjRef| {
        Dict::new()
            .with("Type", Object::name("Annot"))
            .with("Subtype", Object::name("Widget"))
            .with("F", Object::Int(132))
            .with("P", page)
            .with("Rect", rect.to_object())
            .with("AP", Object::Dict(Dict::new().with("N", ap)))
    };
    let merged =
        widget(rect, ap_ref, page.id).with("FT", Object::name("Sig")).with("T", Object::text(name)).with("V", sig_ref);
    let widget_ref = upd.add(merged);
    add_annot(doc, upd, &page, widget_ref)?;
    for v in &opts.stamps {
        let i = page_index(doc, v.page)?;
        let p = doc.page(i)?;
        let (rect, ap) = placed_appearance(upd, v, &p)?;
        let ap_ref = upd.add(ap);
        // Print, Locked, LockedContents (ISO 32000-2 §12.5.3 Table 167)
        let stamp = widget(rect, ap_ref, p.id)
            .with("Subtype", Object::name("Stamp"))
            .with("F", Object::Int(4 | 128 | 512))
            .with("NM", Object::text(&format!("{name} seal {}", i + 1)));
        let stamp_ref = upd.add(stamp);
        add_annot(doc, upd, &p, stamp_ref)?;
    }
    Ok(widget_ref)
}

/// Signs into an existing empty signature field: `/V` on the field, an appearance on its
/// widget when one is asked for.
fn fill_existing_field<S: Source>(
    doc: &mut Document<S>,
    upd: &mut IncrementalUpdate,
    field: &Field,
    sig_ref: ObjRef,
    opts: &SignatureOptions,
) -> Result<()> {
    let mut fdict = field.dict.clone();
    fdict.set("V", sig_ref.into());
    let widget_ref = field.widget().unwrap_or(field.id);
    let mut wdict = if widget_ref == field.id {
        fdict.clone()
    } else {
        doc.get(widget_ref)?.as_dict().cloned().unwrap_or_default()
    };
    let rect = doc.resolve_key(&wdict, "Rect")?.as_ref().and_then(signet_pdf::Rect::from_object);
    if let Some(v) = &opts.visible {
        let Some(rect) = rect.filter(|r| r.width() > 0.0 && r.height() > 0.0) else {
            return Err(Error::Refused(format!(
                "field '{}' has no visible widget (its /Rect has no area): it cannot show an appearance",
                field.name
            )));
        };
        let rotate = widget_rotation(doc, &wdict)?;
        let (w, h) = if rotate % 180 == 90 { (rect.height(), rect.width()) } else { (rect.width(), rect.height()) };
        let spec = AppearanceSpec { image: v.image.clone(), text: v.text.clone(), ..AppearanceSpec::new(w, h) };
        let mut form = build_appearance(&spec, &mut |o| upd.add(o))?;
        let matrix = to_user_space(&VisualRect { x1: 0.0, y1: 0.0, x2: 1.0, y2: 1.0 }, &rect, rotate).1;
        form.dict.set("Matrix", Object::Array(matrix.iter().map(|&x| Object::Real(x)).collect()));
        let ap = upd.add(form);
        wdict.set("AP", Object::Dict(Dict::new().with("N", ap)));
    } else if !wdict.contains("AP") {
        let (w, h) = rect.map_or((0.0, 0.0), |r| (r.width(), r.height()));
        let ap = upd.add(empty_appearance(w, h));
        wdict.set("AP", Object::Dict(Dict::new().with("N", ap)));
    }
    // print and locked, as signed widgets usually are
    let f = wdict.get_int("F").unwrap_or(0);
    wdict.set("F", Object::Int(f | 4 | 128));
    if widget_ref == field.id {
        wdict.set("V", sig_ref.into());
        upd.replace(field.id, wdict);
    } else {
        upd.replace(field.id, fdict);
        upd.replace(widget_ref, wdict);
    }
    Ok(())
}
