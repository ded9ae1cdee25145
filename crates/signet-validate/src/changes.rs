//! What changed after a signature: the signed revision is compared with the whole document,
//! object by object, and each change is judged by the role the object had in the signed
//! revision (ISO 32000-2 §12.8.2.2 DocMDP, §12.8.2.4 FieldMDP; ETSI EN 319 142-1 §5.4:
//! validation data and document timestamps are always allowed).
//!
//! Roles come from the signed revision, never from what a later update claims: the catalog,
//! `/Info`, the AcroForm and its `/Fields`, the pages and their `/Annots`, annotations, form
//! fields and their widgets, the DSS and the XMP metadata. Everything else (content streams,
//! resources, fonts, the page tree, other signatures...) must not change at all.
//!
//! Allowed after any signature, unless DocMDP P=1: new signature fields that carry a signature
//! (widget on a page's `/Annots`, entry in `/AcroForm /Fields`, `/SigFlags`), signing a
//! signature field that was empty. P=2 (and approval signatures) also: filling a form field
//! that was empty when signed and is neither read-only nor locked (FieldMDP); a field that
//! held a value when signed keeps it, since the signer saw it (a "replace" shadow attack
//! changes exactly that). P=3 also: annotations (not widgets). At P=1 only document
//! timestamps. Always: `/DSS`, `/Info`, XMP metadata, new unreferenced objects.
//!
//! The bytes after the signed revision must be proper incremental updates: an object defined
//! there but listed in no cross-reference section (that a repairing reader would still pick
//! up), or cross-reference data that only a repair can read, is a modification.

use std::collections::{HashMap, HashSet};

use signet_pdf::xref::XrefEntry;
use signet_pdf::{Dict, Document, ObjRef, Object, Prefix, Source, Stream, StreamData};

/// Most objects judged one by one before giving up with a single violation.
const MAX_CHANGED: usize = 100_000;
/// Most page tree nodes or fields walked in the signed revision.
const MAX_WALK: usize = 1_000_000;
/// Largest stream compared byte for byte when its location changed.
const MAX_COMPARED_STREAM: u64 = 16 << 20;

/// Which form fields a signature locks (ISO 32000-2 §12.8.2.4 FieldMDP, §12.7.5.5 `/Lock`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldLock {
    /// Every field.
    All,
    /// Only the named fields (fully qualified names).
    Include(Vec<String>),
    /// Every field except the named ones.
    Exclude(Vec<String>),
}

impl FieldLock {
    /// Whether the field named `name` is locked.
    pub fn locks(&self, name: &str) -> bool {
        let listed = |names: &[String]| names.iter().any(|n| n == name || name.starts_with(&format!("{n}.")));
        match self {
            FieldLock::All => true,
            FieldLock::Include(n) => listed(n),
            FieldLock::Exclude(n) => !listed(n),
        }
    }

    /// Reads a FieldMDP `/TransformParams` or a `/Lock` dictionary (`/Action`, `/Fields`).
    pub fn from_dict(d: &Dict) -> Option<FieldLock> {
        let names = || -> Vec<String> {
            d.get("Fields")
                .and_then(Object::as_array)
                .map(|a| a.iter().filter_map(Object::as_str).map(signet_pdf::form::decode_text).collect())
                .unwrap_or_default()
        };
        match d.get_name("Action")? {
            b"All" => Some(FieldLock::All),
            b"Include" => Some(FieldLock::Include(names())),
            b"Exclude" => Some(FieldLock::Exclude(names())),
            _ => None,
        }
    }
}

/// What a signature permits after it.
#[derive(Clone, Debug, Default)]
pub struct Permissions {
    /// DocMDP `/P` of a certification signature (`None`: an approval signature, treated as 2).
    pub docmdp: Option<u8>,
    /// Fields locked by the signature's FieldMDP transform or its field's `/Lock`.
    pub lock: Option<FieldLock>,
}

/// Returns the list of disallowed changes (empty: every change is permitted).
pub fn analyze<S: Source + Clone>(
    src: S,
    revision_end: u64,
    docmdp: Option<u8>,
    password: Option<&[u8]>,
) -> signet_pdf::Result<Vec<String>> {
    analyze_with(src, revision_end, &Permissions { docmdp, lock: None }, password)
}

/// [`analyze`] with FieldMDP locks.
pub fn analyze_with<S: Source + Clone>(
    src: S,
    revision_end: u64,
    perms: &Permissions,
    password: Option<&[u8]>,
) -> signet_pdf::Result<Vec<String>> {
    let old = Document::open(Prefix::new(src.clone(), revision_end), password)?;
    let mut new = Document::open(src.clone(), password)?;
    let mut violations = Vec::new();
    if new.xref().repaired && !old.xref().repaired {
        violations.push(
            "the cross-reference data after signing is broken, so readers rebuild it by scanning and may show objects added after signing"
                .to_string(),
        );
    }
    hidden_definitions(&src, revision_end, &mut new, password, &mut violations)?;
    let mut cx = Cx { old, new, level: perms.docmdp.unwrap_or(2), lock: perms.lock.clone(), roles: None };
    cx.compare(&mut violations)?;
    if cx.new.xref().repaired && !cx.old.xref().repaired && !violations.iter().any(|v| v.contains("rebuild")) {
        // an entry pointed at the wrong object: readers differ in what they show then
        violations.push(
            "a cross-reference entry written after signing points at another object, so readers rebuild the table and may show different content"
                .to_string(),
        );
    }
    Ok(violations)
}

/// An object defined after `revision_end` that the final cross-reference data does not point
/// at: incremental saving attacks append objects without (or beside) a cross-reference
/// section so that a reader repairing the file uses them while a validator does not.
fn hidden_definitions<S: Source + Clone>(
    src: &S,
    revision_end: u64,
    new: &mut Document<S>,
    password: Option<&[u8]>,
    violations: &mut Vec<String>,
) -> signet_pdf::Result<()> {
    let len = src.len();
    let tail_len = len.saturating_sub(revision_end);
    if tail_len > 256 << 20 {
        violations.push(format!("{tail_len} bytes were appended after signing"));
        return Ok(());
    }
    let tail = src.read_vec(revision_end, tail_len as usize)?;
    // what each revision after the signed one lists (a later revision may supersede an
    // object an earlier one defined: that definition is still listed by its own revision)
    let mut listed: HashMap<u64, (u32, usize)> = HashMap::new();
    let mut revisions: Vec<Document<Prefix<S>>> = Vec::new();
    let mut ends: Vec<u64> = Vec::new();
    let mut i = 0;
    while let Some(p) = find_from(&tail, b"%%EOF", i) {
        i = p + 5;
        ends.push(revision_end + i as u64);
    }
    if ends.len() > 256 {
        ends.drain(..ends.len() - 256);
    }
    for end in ends {
        let Ok(doc) = Document::open(Prefix::new(src.clone(), end), password) else { continue };
        if doc.xref().repaired {
            continue;
        }
        for (&n, e) in &doc.xref().entries {
            if let XrefEntry::Offset { offset, .. } = e
                && *offset >= revision_end
            {
                listed.entry(*offset).or_insert((n, revisions.len()));
            }
        }
        revisions.push(doc);
    }
    for (&n, e) in &new.xref().entries {
        if let XrefEntry::Offset { offset, .. } = e
            && *offset >= revision_end
        {
            listed.entry(*offset).or_insert((n, usize::MAX));
        }
    }
    // cross-reference stream sections are objects that need not be listed: every update
    // names its own section after `startxref`
    let mut sections = HashSet::new();
    let mut i = 0;
    while let Some(p) = find_from(&tail, b"startxref", i) {
        i = p + 9;
        let digits: Vec<u8> = tail[i..]
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        if let Some(off) = std::str::from_utf8(&digits).ok().and_then(|d| d.parse::<u64>().ok()) {
            sections.insert(off);
        }
    }
    let mut i = 0;
    let mut skip_until = 0usize;
    while let Some(p) = find_from(&tail, b"obj", i) {
        i = p + 3;
        if p < skip_until || tail.get(p + 3).is_some_and(|b| !is_delimiter_or_ws(*b)) {
            continue;
        }
        let Some((start, num)) = object_header_before(&tail, p) else { continue };
        let at = revision_end + start as u64;
        match listed.get(&at) {
            Some(&(n, rev)) if n == num => {
                // the data of a listed stream is not searched for headers (other objects,
                // such as signature dictionaries with their long /Contents, are not parsed)
                let end = find_from(&tail, b"endobj", p).unwrap_or(tail.len());
                if find_from(&tail[..end], b"stream", p).is_none() {
                    continue;
                }
                let obj = match revisions.get_mut(rev) {
                    Some(doc) => doc.get(ObjRef::new(num, 0)),
                    None => new.get(ObjRef::new(num, 0)),
                };
                if let Ok(Object::Stream(Stream { data: StreamData::InFile { offset, len }, .. })) = obj {
                    skip_until = usize::try_from((offset + len).saturating_sub(revision_end)).unwrap_or(usize::MAX);
                }
            }
            _ if sections.contains(&at) => {}
            _ => violations.push(format!(
                "object {num} is defined at byte {at}, after signing, but no cross-reference section lists it there (a repairing reader would use it)"
            )),
        }
    }
    Ok(())
}

fn is_delimiter_or_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0' | b'<' | b'[' | b'(' | b'/' | b'%')
}

fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// For `obj` at `p`: the start of `N G obj` and N, if the keyword ends an object header.
fn object_header_before(buf: &[u8], p: usize) -> Option<(usize, u32)> {
    let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0');
    let mut i = p;
    let take_ws = |i: &mut usize| {
        let s = *i;
        while *i > 0 && ws(buf[*i - 1]) {
            *i -= 1;
        }
        s != *i
    };
    let digits = |i: &mut usize| {
        let e = *i;
        while *i > 0 && buf[*i - 1].is_ascii_digit() {
            *i -= 1;
        }
        (*i != e).then(|| std::str::from_utf8(&buf[*i..e]).ok()?.parse::<u64>().ok()).flatten()
    };
    if !take_ws(&mut i) {
        return None;
    }
    digits(&mut i)?;
    if !take_ws(&mut i) {
        return None;
    }
    let num = digits(&mut i)?;
    if i > 0 && !matches!(buf[i - 1], b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0' | b'>' | b']' | b')') {
        return None;
    }
    Some((i, u32::try_from(num).ok()?))
}

/// The role an object had in the signed revision.
#[derive(Clone, Debug)]
enum Role {
    FieldsArray,
    AnnotsArray,
    Page,
    Annotation,
    Field(FieldInfo),
    ValidationData,
    Metadata,
}

#[derive(Clone, Debug)]
struct FieldInfo {
    name: String,
    is_sig: bool,
    read_only: bool,
    /// The field held a value when signed.
    filled: bool,
}

struct Cx<P: Source, S: Source> {
    old: Document<P>,
    new: Document<S>,
    level: u8,
    lock: Option<FieldLock>,
    roles: Option<HashMap<u32, Role>>,
}

impl<P: Source, S: Source + Clone> Cx<P, S> {
    fn compare(&mut self, violations: &mut Vec<String>) -> signet_pdf::Result<()> {
        let root = self.new.root_ref()?;
        let old_root = self.old.root_ref()?;
        if root != old_root {
            violations.push("the document catalog was replaced".to_string());
            return Ok(());
        }
        let info = self.old.trailer().get("Info").and_then(Object::as_ref);
        let catalog = self.old.catalog()?;
        let acroform = catalog.get("AcroForm").and_then(Object::as_ref);

        let mut changed: Vec<u32> = Vec::new();
        let mut deleted: Vec<u32> = Vec::new();
        for (&num, entry) in &self.new.xref().entries {
            match (self.old.xref().entries.get(&num), entry) {
                (Some(o), n) if o == n => {}
                (None | Some(XrefEntry::Free), _) => {} // a new object
                (Some(_), XrefEntry::Free) => deleted.push(num),
                (Some(_), _) => changed.push(num),
            }
        }
        for (&num, entry) in &self.old.xref().entries {
            if *entry != XrefEntry::Free && !self.new.xref().entries.contains_key(&num) {
                deleted.push(num);
            }
        }
        if changed.len() + deleted.len() > MAX_CHANGED {
            violations.push(format!("{} objects changed after signing", changed.len() + deleted.len()));
            return Ok(());
        }
        changed.sort_unstable();
        deleted.sort_unstable();
        for num in deleted {
            let id = ObjRef::new(num, 0);
            if matches!(self.old.get(id)?, Object::Null) {
                continue;
            }
            let allowed = self.level >= 3 && matches!(self.role(num)?, Some(Role::Annotation));
            if !allowed {
                violations.push(format!("object {num} present when signed was deleted"));
            }
        }
        for num in changed {
            let id = ObjRef::new(num, 0);
            let before = self.old.get(id)?;
            let after = self.new.get(id)?;
            if self.same(&before, &after)? {
                continue;
            }
            let verdict = if num == old_root.num {
                self.judge_catalog(&before, &after)
            } else if Some(num) == info.map(|r| r.num) {
                Ok(())
            } else if Some(num) == acroform.map(|r| r.num) {
                match (before.as_dict(), after.as_dict()) {
                    (Some(b), Some(a)) => self.judge_acroform(b, a),
                    _ => Err("the AcroForm is no longer a dictionary".to_string()),
                }
            } else {
                self.judge_by_role(num, &before, &after)
            };
            if let Err(why) = verdict {
                violations.push(why);
            }
        }
        Ok(())
    }

    /// Equal objects, or streams with equal dictionaries (but `/Length`) and equal bytes.
    fn same(&mut self, before: &Object, after: &Object) -> signet_pdf::Result<bool> {
        if before == after {
            return Ok(true);
        }
        let (Object::Stream(b), Object::Stream(a)) = (before, after) else { return Ok(false) };
        let strip = |d: &Dict| Dict(d.0.iter().filter(|(k, _)| k.as_bytes() != b"Length").cloned().collect());
        if strip(&b.dict) != strip(&a.dict) {
            return Ok(false);
        }
        let size = |s: &Stream| match &s.data {
            StreamData::InFile { len, .. } => *len,
            StreamData::Owned(v) => v.len() as u64,
        };
        if size(b) != size(a) || size(b) > MAX_COMPARED_STREAM {
            return Ok(false);
        }
        Ok(self.old.raw_stream_data(None, b)? == self.new.raw_stream_data(None, a)?)
    }

    fn judge_by_role(&mut self, num: u32, before: &Object, after: &Object) -> Result<(), String> {
        if let Some(d) = after.as_dict()
            && (d.is_name("Type", "XRef") || d.is_name("Type", "ObjStm"))
            && before.as_dict().is_some_and(|b| b.is_name("Type", "XRef") || b.is_name("Type", "ObjStm"))
        {
            return Ok(());
        }
        let role = self.role(num).map_err(|e| e.to_string())?;
        let level = self.level;
        match role {
            Some(Role::ValidationData | Role::Metadata) => Ok(()),
            Some(Role::FieldsArray) => {
                let (b, a) = (before.as_array().unwrap_or(&[]).to_vec(), after.as_array().map(<[Object]>::to_vec));
                let a = a.ok_or("/AcroForm /Fields is no longer an array")?;
                self.judge_list(&b, &a, List::Fields)
            }
            Some(Role::AnnotsArray) => {
                let (b, a) = (before.as_array().unwrap_or(&[]).to_vec(), after.as_array().map(<[Object]>::to_vec));
                let a = a.ok_or("a page's /Annots is no longer an array")?;
                self.judge_list(&b, &a, List::Annots)
            }
            Some(Role::Page) => self.judge_page(before, after),
            Some(Role::Annotation) if level >= 3 => Ok(()),
            Some(Role::Annotation) => Err(format!(
                "an annotation ({}) changed after signing, which {} forbids",
                subtype(before),
                self.level_name()
            )),
            Some(Role::Field(info)) => self.judge_field(&info, before, after),
            None => Err(format!("{} changed after signing", describe(num, before))),
        }
    }

    fn level_name(&self) -> String {
        format!("DocMDP P={}", self.level)
    }

    fn judge_catalog(&mut self, before: &Object, after: &Object) -> Result<(), String> {
        let (Some(b), Some(a)) = (before.as_dict(), after.as_dict()) else {
            return Err("the catalog is no longer a dictionary".into());
        };
        for key in keys(b, a) {
            let (ov, nv) = (b.get(&key), a.get(&key));
            if ov == nv {
                continue;
            }
            match key.as_str() {
                "DSS" | "Extensions" | "Version" => {}
                // updated XMP metadata (pyHanko rewrites it on each signature): not rendered
                "Metadata" => {
                    let is_xmp = match nv {
                        Some(n) => self
                            .new
                            .resolve(n)
                            .map_err(|e| e.to_string())?
                            .as_dict()
                            .is_some_and(|d| d.is_name("Type", "Metadata") && d.is_name("Subtype", "XML")),
                        None => false,
                    };
                    if !is_xmp {
                        return Err("the catalog's /Metadata was replaced by something other than XMP metadata".into());
                    }
                }
                "AcroForm" => match (ov, nv) {
                    (Some(Object::Dict(o)), Some(Object::Dict(n))) => self.judge_acroform(o, n)?,
                    (None, Some(n)) => {
                        // a form added by a later signature: it may hold signature fields only
                        let n = self.new.resolve(n).map_err(|e| e.to_string())?;
                        let fields = match n.as_dict().map(|d| self.new.resolve_key(d, "Fields")) {
                            Some(Ok(Some(Object::Array(f)))) => f,
                            _ => Vec::new(),
                        };
                        self.judge_list(&[], &fields, List::Fields)?;
                    }
                    _ => return Err("the catalog's /AcroForm was replaced after signing".into()),
                },
                _ => return Err(format!("the catalog's /{key} changed after signing")),
            }
        }
        Ok(())
    }

    /// ISO 32000-2 §12.7.3: `/Fields` may grow by signature fields; `/DR` may gain resources
    /// but not change existing ones (a replaced font changes every appearance drawn with it).
    fn judge_acroform(&mut self, b: &Dict, a: &Dict) -> Result<(), String> {
        for key in keys(b, a) {
            let (ov, nv) = (b.get(&key), a.get(&key));
            if ov == nv {
                continue;
            }
            match key.as_str() {
                "SigFlags" => {}
                "Fields" => {
                    let o = match ov {
                        Some(o) => self.old.resolve(o).map_err(|e| e.to_string())?,
                        None => Object::Array(Vec::new()),
                    };
                    let n = match nv {
                        Some(n) => self.new.resolve(n).map_err(|e| e.to_string())?,
                        None => Object::Null,
                    };
                    let (Some(o), Some(n)) = (o.as_array(), n.as_array()) else {
                        return Err("/AcroForm /Fields was replaced after signing".into());
                    };
                    self.judge_list(o, n, List::Fields)?;
                }
                "DR" => self.judge_resources(ov, nv)?,
                "DA" if ov.is_none() => {}
                "NeedAppearances" if !matches!(nv, Some(Object::Bool(true))) => {}
                "NeedAppearances" => {
                    return Err(
                        "/AcroForm /NeedAppearances was set after signing: readers would redraw every field".into()
                    );
                }
                _ => return Err(format!("/AcroForm /{key} changed after signing")),
            }
        }
        Ok(())
    }

    fn judge_resources(&mut self, ov: Option<&Object>, nv: Option<&Object>) -> Result<(), String> {
        let e = |e: signet_pdf::Error| e.to_string();
        let o = match ov {
            Some(o) => self.old.resolve(o).map_err(e)?,
            None => return Ok(()),
        };
        let n = match nv {
            Some(n) => self.new.resolve(n).map_err(e)?,
            None => Object::Null,
        };
        let (Some(o), Some(n)) = (o.as_dict(), n.as_dict()) else {
            return Err("/AcroForm /DR was removed after signing".into());
        };
        for (cat, ov) in o.iter() {
            let ocat = self.old.resolve(ov).map_err(e)?;
            let ncat = match n.get(&String::from_utf8_lossy(cat.as_bytes())) {
                Some(v) => self.new.resolve(v).map_err(e)?,
                None => Object::Null,
            };
            let (Some(oc), Some(nc)) = (ocat.as_dict(), ncat.as_dict()) else {
                if ocat != ncat {
                    return Err(format!(
                        "/AcroForm /DR /{} changed after signing",
                        String::from_utf8_lossy(cat.as_bytes())
                    ));
                }
                continue;
            };
            for (name, v) in oc.iter() {
                if nc.get(&String::from_utf8_lossy(name.as_bytes())) != Some(v) {
                    return Err(format!(
                        "/AcroForm /DR resource /{} was replaced after signing (fields drawn with it would look different)",
                        String::from_utf8_lossy(name.as_bytes())
                    ));
                }
            }
        }
        Ok(())
    }

    /// A page may only gain (or at P=3 lose) annotations.
    fn judge_page(&mut self, before: &Object, after: &Object) -> Result<(), String> {
        let (Some(b), Some(a)) = (before.as_dict(), after.as_dict()) else {
            return Err("a page is no longer a dictionary".into());
        };
        for key in keys(b, a) {
            let (ov, nv) = (b.get(&key), a.get(&key));
            if ov == nv {
                continue;
            }
            if key != "Annots" {
                return Err(format!("a page's /{key} changed after signing"));
            }
            let old_list = match ov {
                Some(o) => self.old.resolve(o).map_err(|e| e.to_string())?,
                None => Object::Array(Vec::new()),
            };
            let new_list = match nv {
                Some(n) => self.new.resolve(n).map_err(|e| e.to_string())?,
                None => Object::Array(Vec::new()),
            };
            let (Some(o), Some(n)) = (old_list.as_array(), new_list.as_array()) else {
                return Err("a page's /Annots was replaced after signing".into());
            };
            self.judge_list(o, n, List::Annots)?;
        }
        Ok(())
    }

    /// `after` keeps every entry of `before` (at P=3, annotations may go), and each added
    /// entry is a signature field that carries a signature (or at P=1 a document timestamp),
    /// or at P=3 a new annotation.
    fn judge_list(&mut self, before: &[Object], after: &[Object], list: List) -> Result<(), String> {
        let what = match list {
            List::Fields => "/AcroForm /Fields",
            List::Annots => "a page's /Annots",
        };
        for o in before.iter().filter(|o| !after.contains(o)) {
            let removable = list == List::Annots
                && self.level >= 3
                && o.as_ref().is_some_and(|r| matches!(self.role(r.num), Ok(Some(Role::Annotation))));
            if !removable {
                return Err(format!("{what}: an entry present when signed was removed"));
            }
        }
        for o in after.iter().filter(|o| !before.contains(o)) {
            let d = self.new.resolve(o).map_err(|e| format!("{what}: {e}"))?;
            let Some(d) = d.as_dict().cloned() else {
                return Err(format!("{what}: a non-dictionary entry was added"));
            };
            if (d.contains("Type") && !d.is_name("Type", "Annot")) || d.contains("Kids") {
                return Err(format!("{what}: an entry that is not an annotation or field was added"));
            }
            let is_widget = d.is_name("Subtype", "Widget");
            if list == List::Annots && !is_widget && d.contains("Subtype") && !d.contains("FT") {
                if self.level >= 3 {
                    continue;
                }
                return Err(format!(
                    "{what}: a /{} annotation was added after signing, which {} forbids",
                    subtype(&Object::Dict(d.clone())),
                    self.level_name()
                ));
            }
            // the field is the widget itself or its parent
            let field = match d.get("Parent") {
                Some(p) if !d.contains("FT") => self.new.resolve(p).map_err(|e| e.to_string())?,
                _ => Object::Dict(d.clone()),
            };
            let Some(field) = field.as_dict().cloned() else {
                return Err(format!("{what}: a widget without a field was added"));
            };
            if field.get_name("FT") != Some(b"Sig") || (list == List::Annots && !is_widget) {
                return Err(format!("{what}: a form field or widget that is not a signature was added after signing"));
            }
            let value = match field.get("V") {
                Some(v) => self.new.resolve(v).map_err(|e| e.to_string())?,
                None => Object::Null,
            };
            let Some(value) = value.as_dict() else {
                if blank_rect(&d) {
                    continue;
                }
                return Err(format!("{what}: a visible signature field without a signature was added after signing"));
            };
            if self.level == 1 && !value.is_name("Type", "DocTimeStamp") {
                return Err(format!("{what}: a signature was added, which DocMDP P=1 forbids"));
            }
        }
        Ok(())
    }

    /// Filling a form field (ISO 32000-2 §12.8.2.2.2 P=2): only a field that was empty when
    /// signed, not read-only (§12.7.4.1 Ff bit 1) and not locked (§12.8.2.4).
    fn judge_field(&mut self, info: &FieldInfo, before: &Object, after: &Object) -> Result<(), String> {
        let (Some(b), Some(a)) = (before.as_dict(), after.as_dict()) else {
            return Err(format!("form field '{}' is no longer a dictionary", info.name));
        };
        if let Some(lock) = &self.lock
            && lock.locks(&info.name)
        {
            return Err(format!("form field '{}' is locked by the signature (FieldMDP) but changed", info.name));
        }
        if self.level < 2 {
            return Err(format!("form field '{}' changed, which DocMDP P=1 forbids", info.name));
        }
        if info.filled {
            return Err(if info.is_sig {
                format!("signature field '{}' changed after it was signed", info.name)
            } else {
                format!(
                    "form field '{}' held a value when signed and was changed (the signer saw the old one)",
                    info.name
                )
            });
        }
        if info.read_only && !info.is_sig {
            return Err(format!("read-only form field '{}' changed after signing", info.name));
        }
        let allowed: &[&str] = if info.is_sig { &["V", "AP", "AS", "F", "MK", "P", "DA"] } else { &["V", "AP", "AS"] };
        for key in keys(b, a) {
            if b.get(&key) != a.get(&key) && !allowed.contains(&key.as_str()) {
                return Err(format!("form field '{}': /{key} changed after signing", info.name));
            }
        }
        Ok(())
    }

    fn role(&mut self, num: u32) -> signet_pdf::Result<Option<Role>> {
        if self.roles.is_none() {
            self.roles = Some(roles(&mut self.old)?);
        }
        Ok(self.roles.as_ref().and_then(|r| r.get(&num)).cloned())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum List {
    Fields,
    Annots,
}

/// A widget that shows nothing: no `/Rect`, or one of zero width or height.
fn blank_rect(d: &Dict) -> bool {
    match d.get("Rect").and_then(Object::as_array) {
        Some([a, b, c, e]) => {
            let f = |o: &Object| o.as_f64().unwrap_or(0.0);
            (f(c) - f(a)).abs() < 1e-9 || (f(e) - f(b)).abs() < 1e-9
        }
        _ => true,
    }
}

/// Roles of the objects of the signed revision.
fn roles<P: Source>(old: &mut Document<P>) -> signet_pdf::Result<HashMap<u32, Role>> {
    let mut roles = HashMap::new();
    let catalog = old.catalog()?;
    if let Some(Object::Ref(m)) = catalog.get("Metadata") {
        roles.insert(m.num, Role::Metadata);
    }
    if let Some(dss) = catalog.get("DSS") {
        if let Some(r) = dss.as_ref() {
            roles.insert(r.num, Role::ValidationData);
        }
        if let Some(d) = old.resolve(dss)?.as_dict() {
            for (_, v) in d.iter() {
                if let Some(r) = v.as_ref() {
                    roles.insert(r.num, Role::ValidationData);
                }
                if let Some(vri) = old.resolve(v)?.as_dict() {
                    for (_, e) in vri.iter() {
                        if let Some(r) = e.as_ref() {
                            roles.insert(r.num, Role::ValidationData);
                        }
                    }
                }
            }
        }
    }
    // the page tree: pages, their /Annots arrays and annotations
    let mut stack: Vec<ObjRef> = catalog.get("Pages").and_then(Object::as_ref).into_iter().collect();
    let mut seen = HashSet::new();
    while let Some(node) = stack.pop() {
        if !seen.insert(node.num) || seen.len() > MAX_WALK {
            continue;
        }
        let Some(d) = old.get(node)?.as_dict().cloned() else { continue };
        if d.is_name("Type", "Pages") || (d.contains("Kids") && !d.is_name("Type", "Page")) {
            if let Some(Object::Array(kids)) = old.resolve_key(&d, "Kids")? {
                stack.extend(kids.iter().rev().filter_map(Object::as_ref));
            }
            continue;
        }
        roles.insert(node.num, Role::Page);
        if let Some(Object::Ref(a)) = d.get("Annots") {
            roles.insert(a.num, Role::AnnotsArray);
        }
        if let Some(Object::Array(annots)) = old.resolve_key(&d, "Annots")? {
            for a in annots.iter().filter_map(Object::as_ref) {
                roles.entry(a.num).or_insert(Role::Annotation);
            }
        }
    }
    // form fields and their widgets (a widget is also an annotation: the field role wins)
    if let Some(form) = signet_pdf::form::acro_form(old)? {
        if let Some(Object::Ref(f)) = form.dict.get("Fields") {
            roles.insert(f.num, Role::FieldsArray);
        }
        for field in signet_pdf::form::fields(old)? {
            let read_only = inherited_int(old, &field.dict, "Ff")? & 1 == 1;
            let is_sig = field.is_signature();
            let filled = match &field.value {
                None => false,
                // a signature field's value is its signature dictionary: a reference to one
                // means signed, without reading it (and its long /Contents)
                Some(Object::Ref(_)) if is_sig => true,
                Some(v) => match old.resolve(v)? {
                    Object::Null => false,
                    Object::String(s) => !s.is_empty(),
                    Object::Name(n) => n.as_bytes() != b"Off",
                    Object::Array(a) => !a.is_empty(),
                    _ => true,
                },
            };
            let info = FieldInfo { name: field.name.clone(), is_sig, read_only, filled };
            if let Some(Object::Array(kids)) = old.resolve_key(&field.dict, "Kids")? {
                for k in kids.iter().filter_map(Object::as_ref) {
                    roles.insert(k.num, Role::Field(info.clone()));
                }
            }
            roles.insert(field.id.num, Role::Field(info));
        }
    }
    Ok(roles)
}

/// An integer field attribute, inherited through `/Parent` (ISO 32000-2 §12.7.4.1).
fn inherited_int<P: Source>(old: &mut Document<P>, d: &Dict, key: &str) -> signet_pdf::Result<i64> {
    let mut cur = d.clone();
    for _ in 0..32 {
        if let Some(v) = cur.get(key) {
            return Ok(old.resolve(v)?.as_int().unwrap_or(0));
        }
        let Some(p) = cur.get("Parent") else { break };
        match old.resolve(p)? {
            Object::Dict(pd) => cur = pd,
            _ => break,
        }
    }
    Ok(0)
}

fn subtype(o: &Object) -> String {
    o.as_dict()
        .and_then(|d| d.get_name("Subtype"))
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_else(|| "?".into())
}

fn describe(num: u32, o: &Object) -> String {
    let kind = match o {
        Object::Stream(s) => match s.dict.get_name("Type").or(s.dict.get_name("Subtype")) {
            Some(t) => format!("a /{} stream", String::from_utf8_lossy(t)),
            None => "a stream (page content or other data)".to_string(),
        },
        Object::Dict(d) => match d.get_name("Type") {
            Some(t) => format!("a /{} dictionary", String::from_utf8_lossy(t)),
            None => "a dictionary".to_string(),
        },
        Object::Array(_) => "an array".to_string(),
        _ => "a value".to_string(),
    };
    format!("object {num} ({kind})")
}

fn keys(a: &Dict, b: &Dict) -> Vec<String> {
    let mut k: Vec<String> =
        a.iter().chain(b.iter()).map(|(k, _)| String::from_utf8_lossy(k.as_bytes()).into_owned()).collect();
    k.sort();
    k.dedup();
    k
}
