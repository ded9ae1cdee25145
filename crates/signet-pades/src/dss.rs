//! The Document Security Store (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4.2): the
//! certificates, OCSP responses and CRLs that let a validator check the signatures offline,
//! added to the catalog in an incremental update. This is what makes B-LT.

use std::collections::HashSet;

use signet_crypto::DigestAlgorithm;
use signet_pdf::{Dict, Document, IncrementalUpdate, ObjRef, Object, Source, Stream};

use crate::error::{Error, Result};
use crate::ltv::ValidationData;

/// What the document's DSS already holds, and where.
struct ExistingDss {
    /// The DSS dictionary object, when it is indirect.
    id: Option<ObjRef>,
    dict: Dict,
    /// SHA-256 of every stream already in /Certs, /OCSPs and /CRLs.
    known: HashSet<Vec<u8>>,
}

fn read_existing<S: Source>(doc: &mut Document<S>, catalog: &Dict) -> Result<ExistingDss> {
    let id = catalog.get("DSS").and_then(Object::as_ref);
    let dict = match doc.resolve_key(catalog, "DSS")? {
        Some(Object::Dict(d)) => d,
        Some(_) => return Err(Error::Refused("the catalog's /DSS is not a dictionary".into())),
        None => Dict::new(),
    };
    let mut known = HashSet::new();
    for key in ["Certs", "OCSPs", "CRLs"] {
        let Some(Object::Array(items)) = doc.resolve_key(&dict, key)? else { continue };
        for item in items {
            let Some(r) = item.as_ref() else { continue };
            if let Object::Stream(s) = doc.get(r)? {
                // an unreadable stream is simply not deduplicated against
                if let Ok(data) = doc.decoded_stream_data(Some(r), &s) {
                    known.insert(DigestAlgorithm::Sha256.digest(&data));
                }
            }
        }
    }
    Ok(ExistingDss { id, dict, known })
}

/// The bytes of an incremental update that adds `data` to the document's DSS (creating it if
/// needed). Items the DSS already holds are not added twice; existing entries, `/VRI`
/// included, are kept. Returns `None` when there is nothing new to add.
///
/// Streams are Flate-compressed: CRLs compress well, and validators read any filter.
pub fn dss_update<S: Source>(doc: &mut Document<S>, data: &ValidationData) -> Result<Option<Vec<u8>>> {
    let root_ref = doc.root_ref()?;
    let mut catalog = doc.catalog()?;
    let existing = read_existing(doc, &catalog)?;
    let mut dict = existing.dict;
    let mut upd = IncrementalUpdate::new(doc);
    let mut added = 0usize;
    for (key, items) in [("Certs", &data.certs), ("OCSPs", &data.ocsps), ("CRLs", &data.crls)] {
        let mut seen = existing.known.clone();
        let mut array = match doc.resolve_key(&dict, key)? {
            Some(Object::Array(a)) => a,
            _ => Vec::new(),
        };
        for der in items {
            if !seen.insert(DigestAlgorithm::Sha256.digest(der)) {
                continue;
            }
            array.push(upd.add(Stream::flate(Dict::new(), der)).into());
            added += 1;
        }
        if !array.is_empty() {
            dict.set(key, Object::Array(array));
        }
    }
    if added == 0 {
        return Ok(None);
    }
    dict.set("Type", Object::name("DSS"));
    match existing.id {
        Some(id) => upd.replace(id, dict),
        None => {
            let id = upd.add(dict);
            catalog.set("DSS", id.into());
            upd.replace(root_ref, catalog);
        }
    }
    Ok(Some(upd.finish(doc)?.bytes))
}
