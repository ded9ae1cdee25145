//! Interactive form fields as signing needs them (ISO 32000-2 §12.7, §12.8): walking the
//! field tree for names and signature fields, and reading the DocMDP permission.

use std::collections::HashSet;

use crate::document::Document;
use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object};
use crate::source::Source;

/// Deepest field hierarchy walked.
const MAX_FIELD_DEPTH: usize = 32;
/// Most fields walked.
const MAX_FIELDS: usize = 100_000;

/// Field entries a kid takes from its parent when it has none of its own.
const INHERITABLE: [&str; 5] = ["FT", "Ff", "DA", "Q", "MaxLen"];

/// A terminal field of the AcroForm.
#[derive(Clone, Debug)]
pub struct Field {
    /// The field dictionary's reference.
    pub id: ObjRef,
    /// Fully qualified name (§12.7.4.2: partial names joined by periods).
    pub name: String,
    /// The field dictionary.
    pub dict: Dict,
    /// Field type, inherited from ancestors when absent (`Sig`, `Tx`, ...).
    pub field_type: Option<Vec<u8>>,
    /// The value `/V` (for a signature field: the signature dictionary or its reference).
    pub value: Option<Object>,
    /// The inheritable entries that apply to this field (`FT`, `Ff`: §12.7.4.1 Table 226;
    /// `DA`, `Q`, `MaxLen`: §12.7.4.3 Tables 228 and 229), from the field itself or its
    /// nearest ancestor that has them. The AcroForm's `/DA` is not included.
    pub inherited: Dict,
}

impl Field {
    /// Whether this is a signature field (`/FT /Sig`).
    pub fn is_signature(&self) -> bool {
        self.field_type.as_deref() == Some(b"Sig")
    }

    /// Whether this is a text field (`/FT /Tx`).
    pub fn is_text(&self) -> bool {
        self.field_type.as_deref() == Some(b"Tx")
    }

    /// The field flags `/Ff` (inherited; 0 when absent).
    pub fn flags(&self) -> i64 {
        self.inherited.get_int("Ff").unwrap_or(0)
    }

    /// The widget annotations of this field: the field itself when merged with its widget,
    /// else its kids (§12.7.4.1: a terminal field's kids are all widgets).
    pub fn widgets<S: Source>(&self, doc: &mut Document<S>) -> Result<Vec<ObjRef>> {
        if self.dict.is_name("Subtype", "Widget") || !self.dict.contains("Kids") {
            return Ok(vec![self.id]);
        }
        Ok(match doc.resolve_key(&self.dict, "Kids")? {
            Some(Object::Array(kids)) => kids.iter().filter_map(Object::as_ref).collect(),
            _ => Vec::new(),
        })
    }

    /// The widget annotation of this field: the field itself when merged, else its first kid.
    pub fn widget(&self) -> Option<ObjRef> {
        if self.dict.is_name("Subtype", "Widget") || !self.dict.contains("Kids") {
            return Some(self.id);
        }
        self.dict.get("Kids").and_then(Object::as_array).and_then(|k| k.first()).and_then(Object::as_ref)
    }
}

/// Decodes a text string (§7.9.2.2): UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding
/// (read as Latin-1, which agrees on the printable range).
pub fn decode_text(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = b.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    b.iter().map(|&c| c as char).collect()
}

/// The AcroForm dictionary and where it lives.
#[derive(Clone, Debug)]
pub struct AcroForm {
    /// Its reference, when indirect (else it is direct in the catalog).
    pub id: Option<ObjRef>,
    /// The dictionary.
    pub dict: Dict,
}

/// Reads the catalog's `/AcroForm`, if any.
pub fn acro_form<S: Source>(doc: &mut Document<S>) -> Result<Option<AcroForm>> {
    let cat = doc.catalog()?;
    match cat.get("AcroForm") {
        Some(Object::Ref(r)) => {
            let r = *r;
            Ok(doc.get(r)?.as_dict().cloned().map(|dict| AcroForm { id: Some(r), dict }))
        }
        Some(Object::Dict(d)) => Ok(Some(AcroForm { id: None, dict: d.clone() })),
        _ => Ok(None),
    }
}

/// Every terminal field, depth first, in document order.
pub fn fields<S: Source>(doc: &mut Document<S>) -> Result<Vec<Field>> {
    let Some(form) = acro_form(doc)? else { return Ok(Vec::new()) };
    let top = match doc.resolve_key(&form.dict, "Fields")? {
        Some(Object::Array(a)) => a,
        _ => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(Object, String, Dict, usize)> =
        top.into_iter().rev().map(|o| (o, String::new(), Dict::new(), 0)).collect();
    while let Some((o, parent, mut inherited, depth)) = stack.pop() {
        let Object::Ref(id) = o else { continue };
        if !seen.insert(id.num) {
            continue;
        }
        if seen.len() > MAX_FIELDS || depth > MAX_FIELD_DEPTH {
            return Err(Error::Limit("form field tree too large or too deep".into()));
        }
        let Some(dict) = doc.get(id)?.as_dict().cloned() else { continue };
        let partial = dict.get("T").and_then(Object::as_str).map(decode_text);
        let name = match (&partial, parent.is_empty()) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => format!("{parent}.{p}"),
            (None, _) => parent.clone(),
        };
        for key in INHERITABLE {
            // an unreadable entry is treated as absent: listing fields must not fail on it
            if let Some(v) = dict.get(key).and_then(|v| doc.resolve(v).ok()) {
                inherited.set(key, v);
            }
        }
        let ft = inherited.get_name("FT").map(<[u8]>::to_vec);
        // kids that are fields (have /T) make this a non-terminal field; widget kids do not
        let kids: Vec<Object> = match doc.resolve_key(&dict, "Kids")? {
            Some(Object::Array(k)) => k,
            _ => Vec::new(),
        };
        let mut field_kids = Vec::new();
        for k in &kids {
            if let Object::Ref(kr) = k
                && let Some(kd) = doc.get(*kr)?.as_dict()
                && kd.contains("T")
            {
                field_kids.push(k.clone());
            }
        }
        if field_kids.is_empty() {
            let value = dict.get("V").cloned();
            out.push(Field { id, name, dict, field_type: ft, value, inherited });
        } else {
            for k in field_kids.into_iter().rev() {
                stack.push((k, name.clone(), inherited.clone(), depth + 1));
            }
        }
    }
    Ok(out)
}

/// The DocMDP permission of a certified document (§12.8.2.2): `Some(1 | 2 | 3)`.
pub fn docmdp_permission<S: Source>(doc: &mut Document<S>) -> Result<Option<u8>> {
    let cat = doc.catalog()?;
    let Some(perms) = doc.resolve_key(&cat, "Perms")? else { return Ok(None) };
    let Some(perms) = perms.as_dict() else { return Ok(None) };
    let Some(sig) = doc.resolve_key(perms, "DocMDP")? else { return Ok(None) };
    let Some(sig) = sig.as_dict() else { return Ok(None) };
    Ok(Some(docmdp_of_signature(doc, sig)?.unwrap_or(2)))
}

/// The `/P` of a signature dictionary's DocMDP transform, if it has one (§12.8.2.2.2; the
/// default is 2).
pub fn docmdp_of_signature<S: Source>(doc: &mut Document<S>, sig: &Dict) -> Result<Option<u8>> {
    let Some(Object::Array(refs)) = doc.resolve_key(sig, "Reference")? else { return Ok(None) };
    for r in refs {
        let r = doc.resolve(&r)?;
        let Some(r) = r.as_dict() else { continue };
        if !r.is_name("TransformMethod", "DocMDP") {
            continue;
        }
        let p = match doc.resolve_key(r, "TransformParams")? {
            Some(tp) => tp.as_dict().and_then(|d| d.get_int("P")).unwrap_or(2),
            None => 2,
        };
        return Ok(Some(p.clamp(1, 3) as u8));
    }
    Ok(None)
}

/// Which fields a signature locks once it is signed: the signature field's `/Lock`
/// (§12.7.5.5 Table 233) or a FieldMDP transform of its signature dictionary (§12.8.2.4
/// Table 258).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldLock {
    /// Every field.
    All,
    /// Only these fields (fully qualified names; a name also covers its descendants).
    Include(Vec<String>),
    /// Every field except these.
    Exclude(Vec<String>),
}

impl FieldLock {
    /// Whether the field named `name` (fully qualified) is locked.
    pub fn locks(&self, name: &str) -> bool {
        let listed = |names: &[String]| {
            names.iter().any(|n| name == n || name.strip_prefix(n.as_str()).is_some_and(|r| r.starts_with('.')))
        };
        match self {
            FieldLock::All => true,
            FieldLock::Include(names) => listed(names),
            FieldLock::Exclude(names) => !listed(names),
        }
    }

    /// Reads a lock or FieldMDP transform parameters dictionary (`/Action`, `/Fields`).
    fn from_dict<S: Source>(doc: &mut Document<S>, d: &Dict) -> Result<Option<FieldLock>> {
        let names = match doc.resolve_key(d, "Fields")? {
            Some(Object::Array(a)) => {
                let mut v = Vec::with_capacity(a.len());
                for o in a {
                    if let Some(s) = doc.resolve(&o)?.as_str() {
                        v.push(decode_text(s));
                    }
                }
                v
            }
            _ => Vec::new(),
        };
        Ok(match d.get_name("Action") {
            Some(b"All") => Some(FieldLock::All),
            Some(b"Include") => Some(FieldLock::Include(names)),
            Some(b"Exclude") => Some(FieldLock::Exclude(names)),
            _ => None,
        })
    }
}

/// The locks in force: those of the signed signature fields among `fields`.
pub fn field_locks<S: Source>(doc: &mut Document<S>, fields: &[Field]) -> Result<Vec<FieldLock>> {
    let mut locks = Vec::new();
    for f in fields.iter().filter(|f| f.is_signature()) {
        let Some(v) = &f.value else { continue };
        let Some(sig) = doc.resolve(v)?.as_dict().cloned() else { continue };
        if let Some(Object::Dict(lock)) = doc.resolve_key(&f.dict, "Lock")?
            && let Some(l) = FieldLock::from_dict(doc, &lock)?
        {
            locks.push(l);
        }
        let Some(Object::Array(refs)) = doc.resolve_key(&sig, "Reference")? else { continue };
        for r in refs {
            let Some(r) = doc.resolve(&r)?.as_dict().cloned() else { continue };
            if !r.is_name("TransformMethod", "FieldMDP") {
                continue;
            }
            if let Some(Object::Dict(params)) = doc.resolve_key(&r, "TransformParams")?
                && let Some(l) = FieldLock::from_dict(doc, &params)?
            {
                locks.push(l);
            }
        }
    }
    Ok(locks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_covers_descendants_by_name() {
        let lock = FieldLock::Include(vec!["party".into()]);
        assert!(lock.locks("party"));
        assert!(lock.locks("party.name"));
        assert!(!lock.locks("partyB"));
        assert!(!FieldLock::Exclude(vec!["a".into()]).locks("a.b"));
        assert!(FieldLock::Exclude(vec!["a".into()]).locks("b"));
        assert!(FieldLock::All.locks("anything"));
    }
}
