//! What changed after a signature: the signed revision is compared with the whole document,
//! object by object, and each change is judged against what may follow a signature
//! (ISO 32000-2 §12.8.2.2 DocMDP; ETSI EN 319 142-1 §5.4: validation data and document
//! timestamps are always allowed).
//!
//! Allowed after any signature, unless DocMDP P=1: new signature fields (widget on a page's
//! `/Annots`, entry in `/AcroForm /Fields`, `/SigFlags`), filling an empty signature field.
//! P=2 (and approval signatures) also: form field values and their appearances. P=3 also:
//! annotations. Always: `/DSS`, document timestamps, `/Info`, new unreferenced objects.
//! Everything else (content streams, resources, the page tree, fonts...) is a modification.

use signet_pdf::xref::XrefEntry;
use signet_pdf::{Dict, Document, ObjRef, Object, Prefix, Source};

/// Keys of the catalog that may change after signing.
const CATALOG_KEYS: &[&str] = &["AcroForm", "DSS", "Extensions"];
/// Keys of the AcroForm dictionary that may change.
const ACROFORM_KEYS: &[&str] = &["Fields", "SigFlags", "DR", "DA", "NeedAppearances"];
/// Keys of a field or widget that filling it may change.
const FILL_KEYS: &[&str] = &["V", "AP", "AS", "F", "MK", "DV"];

/// Returns the list of disallowed changes (empty: every change is permitted).
pub fn analyze<S: Source + Clone>(
    src: S,
    revision_end: u64,
    docmdp: Option<u8>,
    password: Option<&[u8]>,
) -> signet_pdf::Result<Vec<String>> {
    let mut old = Document::open(Prefix::new(src.clone(), revision_end), password)?;
    let mut new = Document::open(src, password)?;
    let level = docmdp.unwrap_or(2);
    let root = new.root_ref()?;
    let old_root = old.root_ref()?;
    let mut violations = Vec::new();
    if root != old_root {
        violations.push("the document catalog was replaced".to_string());
    }
    let info = old.trailer().get("Info").and_then(Object::as_ref);
    let old_catalog = old.catalog()?;
    let acroform_ref = old_catalog.get("AcroForm").and_then(Object::as_ref);

    let mut changed: Vec<u32> = Vec::new();
    for (&num, entry) in &new.xref().entries {
        match (old.xref().entries.get(&num), entry) {
            (Some(o), n) if o == n => {}
            (None | Some(XrefEntry::Free), _) => {} // new object
            (Some(_), XrefEntry::Free) => changed.push(num),
            (Some(_), _) => changed.push(num),
        }
    }
    changed.sort_unstable();
    if changed.len() > 100_000 {
        violations.push(format!("{} objects changed after signing", changed.len()));
        return Ok(violations);
    }
    for num in changed {
        let id = ObjRef::new(num, 0);
        let before = old.get(id)?;
        let after = new.get(id)?;
        if before == after {
            continue;
        }
        if let Some(d) = after.as_dict()
            && (d.is_name("Type", "XRef") || d.is_name("Type", "ObjStm"))
        {
            continue;
        }
        let verdict = if num == old_root.num {
            judge_dict(&mut new, &before, &after, CATALOG_KEYS, level, "the catalog")
        } else if Some(num) == info.map(|r| r.num) {
            Ok(())
        } else if Some(num) == acroform_ref.map(|r| r.num) {
            judge_dict(&mut new, &before, &after, ACROFORM_KEYS, level, "the AcroForm")
        } else if let (Some(b), Some(a)) = (before.as_dict(), after.as_dict()) {
            judge_object_dict(&mut new, b, a, level)
        } else if let (Some(b), Some(a)) = (before.as_array(), after.as_array()) {
            judge_append(&mut new, b, a, level, "an array (page /Annots or /Fields)")
        } else {
            Err(format!("object {num} changed"))
        };
        if let Err(why) = verdict {
            violations.push(why);
        }
    }
    Ok(violations)
}

/// A dictionary whose keys outside `allowed` are unchanged, and whose `/AcroForm`,
/// `/Fields`, `/Annots` grew only by permitted entries.
fn judge_dict<S: Source>(
    new: &mut Document<S>,
    before: &Object,
    after: &Object,
    allowed: &[&str],
    level: u8,
    what: &str,
) -> Result<(), String> {
    let (Some(b), Some(a)) = (before.as_dict(), after.as_dict()) else {
        return Err(format!("{what} is no longer a dictionary"));
    };
    for key in keys(b, a) {
        let (ov, nv) = (b.get(&key), a.get(&key));
        if ov == nv {
            continue;
        }
        if !allowed.contains(&key.as_str()) {
            return Err(format!("{what}: /{key} changed after signing"));
        }
        match (key.as_str(), ov, nv) {
            ("Fields", Some(Object::Array(o)), Some(Object::Array(n))) => {
                judge_append(new, o, n, level, "/AcroForm /Fields")?
            }
            ("AcroForm", Some(Object::Dict(_)), Some(Object::Dict(_))) => judge_dict(
                new,
                ov.unwrap_or(&Object::Null),
                nv.unwrap_or(&Object::Null),
                ACROFORM_KEYS,
                level,
                "the AcroForm",
            )?,
            _ => {}
        }
    }
    Ok(())
}

fn keys(a: &Dict, b: &Dict) -> Vec<String> {
    let mut k: Vec<String> =
        a.iter().chain(b.iter()).map(|(k, _)| String::from_utf8_lossy(k.as_bytes()).into_owned()).collect();
    k.sort();
    k.dedup();
    k
}

/// Pages may gain annotations; fields may be filled; annotations change only at P=3.
fn judge_object_dict<S: Source>(new: &mut Document<S>, b: &Dict, a: &Dict, level: u8) -> Result<(), String> {
    let is_page = b.is_name("Type", "Page");
    let is_field = b.contains("FT") || b.contains("T") || b.contains("Parent");
    let is_annot = b.contains("Subtype") && (b.is_name("Type", "Annot") || b.contains("Rect"));
    for key in keys(b, a) {
        let (ov, nv) = (b.get(&key), a.get(&key));
        if ov == nv {
            continue;
        }
        if is_page && key == "Annots" {
            let old_list = match ov {
                None => Vec::new(),
                Some(Object::Array(o)) => o.clone(),
                Some(_) => return Err("a page's /Annots was replaced".into()),
            };
            let new_list = match nv.map(|v| new.resolve(v)).transpose().map_err(|e| e.to_string())? {
                Some(Object::Array(n)) => n,
                _ => return Err("a page's /Annots was removed".into()),
            };
            judge_append(new, &old_list, &new_list, level, "a page's /Annots")?;
            continue;
        }
        if is_field && FILL_KEYS.contains(&key.as_str()) {
            let signing = b.get_name("FT") == Some(b"Sig") && key != "DV";
            if !signing && level < 2 {
                return Err(format!("form field '{}' was filled, which DocMDP P=1 forbids", name_of(b)));
            }
            if signing && level < 2 && key == "V" {
                return Err(format!("signature field '{}' was signed, which DocMDP P=1 forbids", name_of(b)));
            }
            continue;
        }
        if is_annot && level >= 3 {
            continue;
        }
        let what = if is_page {
            "a page".to_string()
        } else if is_field {
            format!("form field '{}'", name_of(b))
        } else if is_annot {
            "an annotation".to_string()
        } else {
            match b.get_name("Type") {
                Some(t) => format!("a /{} object", String::from_utf8_lossy(t)),
                None => "an object".to_string(),
            }
        };
        return Err(format!("{what}: /{key} changed after signing"));
    }
    Ok(())
}

fn name_of(d: &Dict) -> String {
    d.get("T").and_then(Object::as_str).map(signet_pdf::form::decode_text).unwrap_or_default()
}

/// `after` must keep every element of `before` in order, and each added element must be a
/// permitted new annotation or field: a signature widget (unless P=1, where only document
/// timestamps may be added) or, at P=3, any annotation.
fn judge_append<S: Source>(
    new: &mut Document<S>,
    before: &[Object],
    after: &[Object],
    level: u8,
    what: &str,
) -> Result<(), String> {
    let mut it = after.iter();
    for o in before {
        if !it.by_ref().any(|n| n == o) {
            return Err(format!("{what}: an entry present when signed was removed"));
        }
    }
    for o in after.iter().filter(|o| !before.contains(o)) {
        let d = new.resolve(o).map_err(|e| format!("{what}: {e}"))?;
        let Some(d) = d.as_dict() else {
            return Err(format!("{what}: a non-dictionary entry was added"));
        };
        let is_sig_widget = d.get_name("FT") == Some(b"Sig");
        if is_sig_widget {
            if level == 1 {
                let v = match d.get("V") {
                    Some(v) => new.resolve(v).map_err(|e| e.to_string())?,
                    None => Object::Null,
                };
                if !v.as_dict().is_some_and(|s| s.is_name("Type", "DocTimeStamp")) {
                    return Err(format!("{what}: a signature field was added, which DocMDP P=1 forbids"));
                }
            }
            continue;
        }
        if level >= 3 && d.contains("Subtype") {
            continue;
        }
        let kind =
            d.get_name("Subtype").map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_else(|| "object".into());
        return Err(format!("{what}: a /{kind} was added after signing"));
    }
    Ok(())
}
