//! The append-only incremental writer (ISO 32000-2 §7.5.6).
//!
//! An update holds new and replaced objects; [`IncrementalUpdate::finish`] serialises them
//! after the original bytes with a cross-reference section in the file's own style (a table
//! after a table, a stream after a stream) whose `/Prev` is the file's last `startxref`.
//! Earlier bytes are never touched. A repaired file gets a complete cross-reference section
//! without `/Prev`, so readers never meet the broken offsets again.

use std::collections::BTreeMap;
use std::io::Write;

use crate::document::Document;
use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object, Stream};
use crate::source::Source;
use crate::xref::{XrefEntry, XrefStyle};

/// New and replaced objects, to be appended to a document.
#[derive(Debug)]
pub struct IncrementalUpdate {
    objects: BTreeMap<u32, (ObjRef, Object)>,
    next: u32,
}

/// The serialised update.
#[derive(Debug)]
pub struct WrittenUpdate {
    /// The bytes to append to the original file.
    pub bytes: Vec<u8>,
    /// For each written object: its byte range within `bytes`.
    pub objects: BTreeMap<u32, (usize, usize)>,
}

impl IncrementalUpdate {
    /// An empty update for `doc`; new objects are numbered from its `/Size` up.
    pub fn new<S: Source>(doc: &Document<S>) -> Self {
        IncrementalUpdate { objects: BTreeMap::new(), next: doc.next_object_number() }
    }

    /// Reserves a new object number (the object is given later with [`Self::replace`]).
    pub fn allocate(&mut self) -> ObjRef {
        let r = ObjRef::new(self.next, 0);
        self.next += 1;
        self.objects.insert(r.num, (r, Object::Null));
        r
    }

    /// Adds a new object and returns its reference.
    pub fn add(&mut self, obj: impl Into<Object>) -> ObjRef {
        let r = self.allocate();
        self.replace(r, obj);
        r
    }

    /// Sets the value of `id` (an existing object to rewrite, or an allocated one).
    pub fn replace(&mut self, id: ObjRef, obj: impl Into<Object>) {
        self.objects.insert(id.num, (id, obj.into()));
    }

    /// The object as it stands in this update, if it is part of it.
    pub fn get(&self, id: ObjRef) -> Option<&Object> {
        self.objects.get(&id.num).map(|(_, o)| o)
    }

    /// Serialises the update: objects (encrypted with the document's key when the document
    /// is encrypted), the cross-reference section and the trailer.
    pub fn finish<S: Source>(mut self, doc: &Document<S>) -> Result<WrittenUpdate> {
        let base = doc.len();
        let mut out = Vec::with_capacity(4096);
        let last = doc.source().read_vec(base.saturating_sub(1), 1)?;
        if !matches!(last.as_slice(), b"\n" | b"\r") {
            out.push(b'\n');
        }
        let style = doc.xref().style;
        let full = doc.xref().repaired;
        let needs_stream = style == XrefStyle::Stream
            || (full && doc.xref().entries.values().any(|e| matches!(e, XrefEntry::Compressed { .. })));
        let xref_stream_ref = needs_stream.then(|| self.allocate());

        let mut offsets: BTreeMap<u32, (u64, u16)> = BTreeMap::new();
        let mut ranges = BTreeMap::new();
        for (num, (id, obj)) in std::mem::take(&mut self.objects) {
            if Some(id) == xref_stream_ref {
                continue;
            }
            let mut obj = obj;
            if let Some(sec) = doc.security() {
                sec.encrypt_object(id, &mut obj);
            }
            let start = out.len();
            let _ = writeln!(out, "{} {} obj", id.num, id.generation);
            obj.write_to(&mut out);
            out.extend_from_slice(b"\nendobj\n");
            offsets.insert(num, (base + start as u64, id.generation));
            ranges.insert(num, (start, out.len()));
        }

        let mut trailer = Dict::new();
        let size = self.next.max(doc.next_object_number());
        trailer.set("Size", Object::Int(i64::from(size)));
        for key in ["Root", "Info", "ID", "Encrypt"] {
            if let Some(v) = doc.trailer().get(key) {
                trailer.set(key, v.clone());
            }
        }
        if !full {
            trailer.set("Prev", Object::Int(i64::try_from(doc.xref().startxref).unwrap_or(0)));
        }

        // entries: ours, plus, for a repaired file, every object of the original
        let mut entries: BTreeMap<u32, XrefEntry> = BTreeMap::new();
        if full {
            for (&n, &e) in &doc.xref().entries {
                entries.insert(n, e);
            }
        }
        for (&n, &(offset, generation)) in &offsets {
            entries.insert(n, XrefEntry::Offset { offset, generation });
        }

        let xref_start = base + out.len() as u64;
        match xref_stream_ref {
            None => write_table(&mut out, &entries, full, &trailer),
            Some(id) => {
                entries.insert(id.num, XrefEntry::Offset { offset: xref_start, generation: 0 });
                let start = out.len();
                write_xref_stream(&mut out, id, &entries, full, trailer)?;
                ranges.insert(id.num, (start, out.len()));
            }
        }
        let _ = write!(out, "startxref\n{xref_start}\n%%EOF\n");
        Ok(WrittenUpdate { bytes: out, objects: ranges })
    }
}

/// Groups sorted object numbers into `(first, count)` subsections.
fn subsections(entries: &BTreeMap<u32, XrefEntry>) -> Vec<(u32, Vec<XrefEntry>)> {
    let mut subs: Vec<(u32, Vec<XrefEntry>)> = Vec::new();
    for (&n, &e) in entries {
        match subs.last_mut() {
            Some((first, v)) if *first + v.len() as u32 == n => v.push(e),
            _ => subs.push((n, vec![e])),
        }
    }
    subs
}

fn write_table(out: &mut Vec<u8>, entries: &BTreeMap<u32, XrefEntry>, full: bool, trailer: &Dict) {
    out.extend_from_slice(b"xref\n");
    let mut all = entries.clone();
    if full {
        all.insert(0, XrefEntry::Free);
    }
    for (first, es) in subsections(&all) {
        let _ = writeln!(out, "{first} {}", es.len());
        for (i, e) in es.iter().enumerate() {
            match e {
                XrefEntry::Offset { offset, generation } => {
                    let _ = write!(out, "{offset:010} {generation:05} n\r\n");
                }
                _ if first == 0 && i == 0 => out.extend_from_slice(b"0000000000 65535 f\r\n"),
                _ => out.extend_from_slice(b"0000000000 00001 f\r\n"),
            }
        }
    }
    out.extend_from_slice(b"trailer\n");
    Object::Dict(trailer.clone()).write_to(out);
    out.push(b'\n');
}

fn write_xref_stream(
    out: &mut Vec<u8>,
    id: ObjRef,
    entries: &BTreeMap<u32, XrefEntry>,
    full: bool,
    mut dict: Dict,
) -> Result<()> {
    let mut all = entries.clone();
    if full {
        all.insert(0, XrefEntry::Free);
    }
    let max_field = all
        .values()
        .map(|e| match *e {
            XrefEntry::Offset { offset, .. } => offset,
            XrefEntry::Compressed { stream, .. } => u64::from(stream),
            XrefEntry::Free => 0,
        })
        .max()
        .unwrap_or(0);
    let w1 = (1..=8).find(|&b| b == 8 || max_field < 1u64 << (8 * b)).unwrap_or(8);
    let w2 = 2usize;
    let mut rows = Vec::new();
    let mut index = Vec::new();
    for (first, es) in subsections(&all) {
        index.push(Object::Int(i64::from(first)));
        index.push(Object::Int(es.len() as i64));
        for (i, e) in es.iter().enumerate() {
            let (t, f1, f2) = match *e {
                XrefEntry::Free => (0u8, 0u64, if first == 0 && i == 0 { 65535 } else { 1 }),
                XrefEntry::Offset { offset, generation } => (1, offset, u64::from(generation)),
                XrefEntry::Compressed { stream, index } => (2, u64::from(stream), u64::from(index)),
            };
            if f2 > 0xffff {
                return Err(Error::Limit("object stream index too large for the xref stream".into()));
            }
            rows.push(t);
            rows.extend_from_slice(&f1.to_be_bytes()[8 - w1..]);
            rows.extend_from_slice(&f2.to_be_bytes()[8 - w2..]);
        }
    }
    dict.set("Type", Object::name("XRef"));
    dict.set("W", Object::Array(vec![Object::Int(1), Object::Int(w1 as i64), Object::Int(w2 as i64)]));
    dict.set("Index", Object::Array(index));
    let stream = Stream::flate(dict, &rows);
    let _ = writeln!(out, "{} {} obj", id.num, id.generation);
    Object::Stream(stream).write_to(out);
    out.extend_from_slice(b"\nendobj\n");
    Ok(())
}
