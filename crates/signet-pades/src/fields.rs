//! Form fields for documents that several parties sign in turn (ISO 32000-2 §12.7): empty
//! signature and text fields added in one unsigned incremental update, and text fields filled
//! in the update that signs.
//!
//! Every step after a certification signature with DocMDP P=2 must be a permitted change:
//! "filling in forms, instantiating page templates, and signing" (§12.8.2.2.2, Table 257).
//! Creating fields is not one of them, so all fields are added before the first signature;
//! each party then fills its own text fields and signs its own signature field in one
//! revision, which its signature covers.

use signet_pdf::appearance::build_text_field_appearance;
use signet_pdf::form::{self, Field, FieldLock};
use signet_pdf::{Dict, Document, IncrementalUpdate, Object, Rect, Source, Stream};

use crate::error::{Error, Result};
use crate::placement::{VisualRect, to_user_space};
use crate::prepare::{add_annot, append_fields, page_index};

/// The default appearance string of the text fields added here (§12.7.4.3): Helvetica from
/// the AcroForm's `/DR`, auto size (0), black. Signet's own appearances embed DejaVu Sans and,
/// for CJK, Droid Sans Fallback instead; this is what a viewer that regenerates the
/// appearance uses.
const TEXT_DA: &str = "/Helv 0 Tf 0 g";

/// Field flags (§12.7.4.1 Table 227, §12.7.5.3 Table 231).
const FF_READ_ONLY: i64 = 1;
const FF_MULTILINE: i64 = 1 << 12;
const FF_PASSWORD: i64 = 1 << 13;
const FF_FILE_SELECT: i64 = 1 << 20;

/// Annotation flag Print (§12.5.3 Table 167).
const F_PRINT: i64 = 4;

/// The kind of a new field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// An empty signature field (`/FT /Sig`, no `/V`, §12.7.5.5), to be signed later with
    /// [`crate::SignatureOptions::field`].
    Signature,
    /// A single-line text field (`/FT /Tx`, §12.7.5.3) with an empty value, to be filled
    /// later with [`crate::SignatureOptions::fill`].
    Text,
}

/// A field to add with [`add_form_fields`].
#[derive(Clone, Debug)]
pub struct FormFieldSpec {
    /// The field's name (`/T`): unique in the document, not empty, no period (§12.7.4.2: the
    /// period separates the parts of a fully qualified name).
    pub name: String,
    /// Signature or text.
    pub kind: FieldKind,
    /// 1-based page; negative counts from the end (-1 = last page).
    pub page: i64,
    /// Where the widget goes, on the page as displayed (the convention of [`VisualRect`],
    /// as for visible signatures: rotated and cropped pages work the same way).
    pub rect: VisualRect,
    /// `/TU`: the name shown to the person filling the form (§12.7.4.1 Table 226).
    pub tooltip: Option<String>,
}

/// A value for an existing text field, set in the signing update
/// ([`crate::SignatureOptions::fill`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldValue {
    /// Fully qualified name of the text field.
    pub name: String,
    /// The text; lines are separated by `\n` (multiline fields only).
    pub value: String,
}

/// The bytes of an unsigned incremental update (§7.5.6) that adds `specs` to the document's
/// AcroForm (§12.7.3), created if missing; existing fields are kept.
///
/// Each field is merged with its one widget annotation (§12.5.6.19), which goes into the
/// page's `/Annots`, with an empty normal appearance (`/AP /N`, §12.5.5) and, on a rotated
/// page, `/MK /R` (Table 192) so that a viewer regenerating its appearance keeps it upright.
/// Text fields get `/DA (/Helv 0 Tf 0 g)` with Helvetica in the AcroForm's `/DR`. When signature
/// fields are added, `/SigFlags` gets SignaturesExist (§12.7.3 Table 225: "the document
/// contains at least one signature field"); AppendOnly stays as it was, since nothing is
/// signed by this update.
///
/// Refused, writing nothing: a name that exists or repeats; a certified document (new fields
/// are not among the changes DocMDP permits, §12.8.2.2.2); a text field in a signed document
/// (no signature permits it).
pub fn add_form_fields<S: Source>(doc: &mut Document<S>, specs: &[FormFieldSpec]) -> Result<Vec<u8>> {
    if specs.is_empty() {
        return Err(Error::Refused("no form fields to add".into()));
    }
    if form::docmdp_permission(doc)?.is_some() {
        return Err(Error::Refused(
            "the document is certified: fields must be added before the certification signature (ISO 32000-2 §12.8.2.2 permits no new fields)".into(),
        ));
    }
    let existing = form::fields(doc)?;
    let signed = existing.iter().any(|f| f.is_signature() && f.value.is_some());
    let mut taken: Vec<String> = Vec::new();
    for f in &existing {
        // the field and every ancestor of it (the parts before each period)
        let mut name = f.name.as_str();
        loop {
            taken.push(name.to_string());
            match name.rfind('.') {
                Some(i) => name = &name[..i],
                None => break,
            }
        }
    }
    for (i, spec) in specs.iter().enumerate() {
        let n = &spec.name;
        if n.is_empty() || n.contains('.') {
            return Err(Error::Refused(format!("'{n}' is not a valid field name (empty or contains '.')")));
        }
        if taken.iter().any(|t| t == n) {
            return Err(Error::Refused(format!("a field named '{n}' already exists")));
        }
        if specs[..i].iter().any(|s| &s.name == n) {
            return Err(Error::Refused(format!("the field name '{n}' is given twice")));
        }
        let r = &spec.rect;
        if ![r.x1, r.y1, r.x2, r.y2].iter().all(|v| v.is_finite()) || r.width() <= 0.0 || r.height() <= 0.0 {
            return Err(Error::Refused(format!("field '{n}': the rectangle has no area")));
        }
        if signed && spec.kind == FieldKind::Text {
            return Err(Error::Refused(format!(
                "field '{n}': the document is already signed, and a new text field is a change no signature permits; add fields before the first signature"
            )));
        }
    }

    let root_ref = doc.root_ref()?;
    let mut catalog = doc.catalog()?;
    let acro = form::acro_form(doc)?;
    let mut acro_dict = acro.as_ref().map(|a| a.dict.clone()).unwrap_or_default();
    let mut upd = IncrementalUpdate::new(doc);
    let mut new_fields = Vec::with_capacity(specs.len());
    for spec in specs {
        let index = page_index(doc, spec.page)?;
        let page = doc.page(index)?;
        let (rect, matrix) = to_user_space(&spec.rect, &page.crop_box, page.rotate);
        let bbox = vec![0.into(), 0.into(), spec.rect.width().into(), spec.rect.height().into()];
        let ap = Dict::new()
            .with("Type", Object::name("XObject"))
            .with("Subtype", Object::name("Form"))
            .with("BBox", Object::Array(bbox))
            .with("Matrix", Object::Array(matrix.iter().map(|&x| Object::Real(x)).collect()));
        let ap = upd.add(Stream::new(ap, Vec::new()));
        let mut field = Dict::new()
            .with("Type", Object::name("Annot"))
            .with("Subtype", Object::name("Widget"))
            .with("FT", Object::name(if spec.kind == FieldKind::Text { "Tx" } else { "Sig" }))
            .with("T", Object::text(&spec.name));
        if let Some(tu) = &spec.tooltip {
            field.set("TU", Object::text(tu));
        }
        if spec.kind == FieldKind::Text {
            field.set("V", Object::String(Vec::new()));
            field.set("DA", Object::String(TEXT_DA.as_bytes().to_vec()));
        }
        field.set("F", Object::Int(F_PRINT));
        field.set("P", page.id.into());
        field.set("Rect", rect.to_object());
        if page.rotate != 0 {
            field.set("MK", Object::Dict(Dict::new().with("R", Object::Int(i64::from(page.rotate)))));
        }
        field.set("AP", Object::Dict(Dict::new().with("N", ap)));
        let field_ref = upd.add(field);
        add_annot(doc, &mut upd, &page, field_ref)?;
        new_fields.push(field_ref);
    }

    append_fields(doc, &mut upd, &mut acro_dict, new_fields)?;
    if specs.iter().any(|s| s.kind == FieldKind::Signature) {
        let flags = acro_dict.get_int("SigFlags").unwrap_or(0);
        if flags & 1 == 0 {
            acro_dict.set("SigFlags", Object::Int(flags | 1));
        }
    }
    if specs.iter().any(|s| s.kind == FieldKind::Text) {
        add_helvetica(doc, &mut upd, &mut acro_dict)?;
        if !acro_dict.contains("DA") {
            acro_dict.set("DA", Object::String(TEXT_DA.as_bytes().to_vec()));
        }
    }
    match acro.and_then(|a| a.id) {
        Some(id) => upd.replace(id, acro_dict),
        None => {
            catalog.set("AcroForm", Object::Dict(acro_dict));
            upd.replace(root_ref, catalog);
        }
    }
    Ok(upd.finish(doc)?.bytes)
}

/// Makes sure the AcroForm's default resources (`/DR`, §12.7.3 Table 224) have the font
/// `/Helv` that [`TEXT_DA`] names, changing only what is needed.
fn add_helvetica<S: Source>(doc: &mut Document<S>, upd: &mut IncrementalUpdate, acro: &mut Dict) -> Result<()> {
    let dr_ref = acro.get("DR").and_then(Object::as_ref);
    let mut dr = match doc.resolve_key(acro, "DR")? {
        Some(Object::Dict(d)) => d,
        _ => Dict::new(),
    };
    let fonts_ref = dr.get("Font").and_then(Object::as_ref);
    let mut fonts = match doc.resolve_key(&dr, "Font")? {
        Some(Object::Dict(d)) => d,
        _ => Dict::new(),
    };
    if fonts.contains("Helv") {
        return Ok(());
    }
    let helv = Dict::new()
        .with("Type", Object::name("Font"))
        .with("Subtype", Object::name("Type1"))
        .with("BaseFont", Object::name("Helvetica"))
        .with("Encoding", Object::name("WinAnsiEncoding"));
    fonts.set("Helv", upd.add(helv).into());
    match (fonts_ref, dr_ref) {
        (Some(r), _) => upd.replace(r, fonts),
        (None, dr_ref) => {
            dr.set("Font", Object::Dict(fonts));
            match dr_ref {
                Some(r) => upd.replace(r, dr),
                None => acro.set("DR", Object::Dict(dr)),
            }
        }
    }
    Ok(())
}

/// Sets `/V` of each named text field and gives each of its widgets a new normal appearance
/// showing the value (§12.7.4.3), as part of `upd`. Checks every value before changing
/// anything.
pub(crate) fn fill_text_fields<S: Source>(
    doc: &mut Document<S>,
    upd: &mut IncrementalUpdate,
    fields: &[Field],
    values: &[FieldValue],
) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let locks = form::field_locks(doc, fields)?;
    let mut targets = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        targets.push(fillable(fields, &locks, v)?);
        if values[..i].iter().any(|o| o.name == v.name) {
            return Err(Error::Refused(format!("field '{}' is given two values", v.name)));
        }
    }
    let form_da = form::acro_form(doc)?.and_then(|a| a.dict.get("DA").and_then(Object::as_str).map(<[u8]>::to_vec));
    for (field, v) in targets.into_iter().zip(values) {
        let lines: Vec<String> = v.value.lines().map(str::to_string).collect();
        let mut fdict = field.dict.clone();
        fdict.set("V", Object::text(&v.value));
        let field_da = field.inherited.get("DA").and_then(Object::as_str).map(<[u8]>::to_vec);
        for widget in field.widgets(doc)? {
            let mut wdict = if widget == field.id {
                fdict.clone()
            } else {
                doc.get(widget)?.as_dict().cloned().unwrap_or_default()
            };
            let rect = doc.resolve_key(&wdict, "Rect")?.as_ref().and_then(Rect::from_object);
            let Some(rect) = rect.filter(|r| r.width() > 0.0 && r.height() > 0.0) else {
                continue; // a hidden widget (no area) shows nothing
            };
            let rotate = widget_rotation(doc, &wdict)?;
            let (w, h) = if rotate % 180 == 90 { (rect.height(), rect.width()) } else { (rect.width(), rect.height()) };
            let da = wdict.get("DA").and_then(Object::as_str).map(<[u8]>::to_vec).or(field_da.clone());
            let size = da.or(form_da.clone()).and_then(|d| da_font_size(&d)).filter(|&s| s > 0.0);
            let mut ap = build_text_field_appearance(w, h, &lines, size, &mut |o| upd.add(o))?;
            let matrix = to_user_space(&VisualRect { x1: 0.0, y1: 0.0, x2: 1.0, y2: 1.0 }, &rect, rotate).1;
            ap.dict.set("Matrix", Object::Array(matrix.iter().map(|&x| Object::Real(x)).collect()));
            wdict.set("AP", Object::Dict(Dict::new().with("N", upd.add(ap))));
            if widget == field.id {
                fdict = wdict;
            } else {
                upd.replace(widget, wdict);
            }
        }
        upd.replace(field.id, fdict);
    }
    Ok(())
}

/// The field `v` names, if it may be filled with `v.value`.
fn fillable<'a>(fields: &'a [Field], locks: &[FieldLock], v: &FieldValue) -> Result<&'a Field> {
    let n = &v.name;
    let field =
        fields.iter().find(|f| &f.name == n).ok_or_else(|| Error::Refused(format!("no form field named '{n}'")))?;
    if field.is_signature() {
        return Err(Error::Refused(format!(
            "field '{n}' is a signature field: it is filled by signing it, not with a value"
        )));
    }
    if !field.is_text() {
        let kind = field.field_type.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        return Err(Error::Refused(format!(
            "field '{n}' is not a text field (/FT /{kind}): only text fields can be filled"
        )));
    }
    let flags = field.flags();
    if flags & FF_READ_ONLY != 0 {
        return Err(Error::Refused(format!("field '{n}' is read-only")));
    }
    if flags & (FF_PASSWORD | FF_FILE_SELECT) != 0 {
        return Err(Error::Refused(format!("field '{n}' is a password or file-select field")));
    }
    if flags & FF_MULTILINE == 0 && v.value.contains(['\n', '\r']) {
        return Err(Error::Refused(format!("field '{n}' is a single-line field and the value has several lines")));
    }
    if let Some(max) = field.inherited.get_int("MaxLen")
        && v.value.chars().count() as i64 > max
    {
        return Err(Error::Refused(format!("field '{n}' takes at most {max} characters")));
    }
    if locks.iter().any(|l| l.locks(n)) {
        return Err(Error::Refused(format!(
            "field '{n}' is locked by an earlier signature (ISO 32000-2 §12.8.2.4, FieldMDP)"
        )));
    }
    Ok(field)
}

/// The font size of a default appearance string (`/Name size Tf`, §12.7.4.3); 0 means auto.
fn da_font_size(da: &[u8]) -> Option<f64> {
    let text = String::from_utf8_lossy(da);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let at = tokens.iter().rposition(|t| *t == "Tf")?;
    tokens.get(at.checked_sub(1)?)?.parse().ok()
}

/// How far a widget's appearance is turned so that it reads upright on the page as displayed:
/// its `/MK /R` (§12.5.6.19 Table 192, counterclockwise), else the `/Rotate` of its page
/// (§7.7.3.3, inherited through `/Parent`), else 0.
pub(crate) fn widget_rotation<S: Source>(doc: &mut Document<S>, widget: &Dict) -> Result<u16> {
    let normalise = |r: i64| (r.rem_euclid(360) / 90 * 90) as u16;
    if let Some(Object::Dict(mk)) = doc.resolve_key(widget, "MK")?
        && let Some(r) = doc.resolve_key(&mk, "R")?.and_then(|o| o.as_int())
    {
        return Ok(normalise(r));
    }
    let mut node = widget.get("P").and_then(Object::as_ref);
    // the page-tree depth bound of signet_pdf::Limits
    for _ in 0..64 {
        let Some(r) = node else { break };
        let Some(d) = doc.get(r)?.as_dict().cloned() else { break };
        if let Some(rot) = doc.resolve_key(&d, "Rotate")?.and_then(|o| o.as_int()) {
            return Ok(normalise(rot));
        }
        node = d.get("Parent").and_then(Object::as_ref);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_size_from_default_appearance() {
        assert_eq!(da_font_size(b"/Helv 0 Tf 0 g"), Some(0.0));
        assert_eq!(da_font_size(b"0 g /F1 11.5 Tf"), Some(11.5));
        assert_eq!(da_font_size(b"0 g"), None);
        assert_eq!(da_font_size(b"Tf"), None);
    }
}
