//! The lazy reader: a [`Document`] loads the cross-reference data and then parses only the
//! objects asked for, caching them. Nothing else of the file is read.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::crypt::SecurityHandler;
use crate::error::{Error, Result};
use crate::filter;
use crate::lexer::{ParseError, Parser};
use crate::object::{Dict, ObjRef, Object, Stream, StreamData};
use crate::source::Source;
use crate::xref::{self, Xref, XrefEntry, XrefStyle};

/// Bounds on the work one document may cause (hostile input is normal).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest decoded stream (object and xref streams), in bytes.
    pub max_stream_bytes: usize,
    /// Largest window read to parse one object (dictionaries, arrays, xref tables).
    pub max_object_bytes: usize,
    /// Most object resolutions in the life of one document (bounds time on loops and bombs).
    pub max_resolutions: u64,
    /// Most cross-reference sections followed through `/Prev`.
    pub max_sections: usize,
    /// Deepest page tree.
    pub max_page_tree_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stream_bytes: 256 << 20,
            max_object_bytes: 64 << 20,
            max_resolutions: 2_000_000,
            max_sections: 4096,
            max_page_tree_depth: 64,
        }
    }
}

/// A rectangle `[llx lly urx ury]`, normalised so that `llx <= urx` and `lly <= ury`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Lower-left x.
    pub llx: f64,
    /// Lower-left y.
    pub lly: f64,
    /// Upper-right x.
    pub urx: f64,
    /// Upper-right y.
    pub ury: f64,
}

impl Rect {
    /// From an array object of four numbers.
    pub fn from_object(o: &Object) -> Option<Rect> {
        let a = o.as_array()?;
        if a.len() != 4 {
            return None;
        }
        let v: Vec<f64> = a.iter().map(Object::as_f64).collect::<Option<_>>()?;
        if v.iter().any(|x| !x.is_finite()) {
            return None;
        }
        Some(Rect { llx: v[0].min(v[2]), lly: v[1].min(v[3]), urx: v[0].max(v[2]), ury: v[1].max(v[3]) })
    }

    /// Width.
    pub fn width(&self) -> f64 {
        self.urx - self.llx
    }

    /// Height.
    pub fn height(&self) -> f64 {
        self.ury - self.lly
    }

    /// The intersection with `other`, or `self` if they do not overlap.
    pub fn intersect(&self, other: &Rect) -> Rect {
        let r = Rect {
            llx: self.llx.max(other.llx),
            lly: self.lly.max(other.lly),
            urx: self.urx.min(other.urx),
            ury: self.ury.min(other.ury),
        };
        if r.width() > 0.0 && r.height() > 0.0 { r } else { *self }
    }

    /// As a PDF array.
    pub fn to_object(&self) -> Object {
        Object::Array(vec![self.llx.into(), self.lly.into(), self.urx.into(), self.ury.into()])
    }
}

/// A page with its inherited attributes resolved (§7.7.3.4).
#[derive(Clone, Debug)]
pub struct Page {
    /// The page object's reference.
    pub id: ObjRef,
    /// The page dictionary as stored.
    pub dict: Dict,
    /// Zero-based index in the document.
    pub index: usize,
    /// `/MediaBox` (inherited).
    pub media_box: Rect,
    /// `/CropBox` (inherited, defaulting to the media box, clipped to it).
    pub crop_box: Rect,
    /// `/Rotate` normalised to 0, 90, 180 or 270.
    pub rotate: u16,
}

struct ObjectStream {
    data: Vec<u8>,
    /// (object number, offset from the start of `data`)
    index: Vec<(u32, usize)>,
}

/// A PDF document opened for lazy reading.
pub struct Document<S> {
    src: S,
    xref: Xref,
    limits: Limits,
    cache: HashMap<u32, Object>,
    object_streams: HashMap<u32, Rc<ObjectStream>>,
    security: Option<SecurityHandler>,
    encrypt_ref: Option<ObjRef>,
    resolutions: u64,
    resolving: HashSet<u32>,
    header_version: String,
}

impl<S: Source> Document<S> {
    /// Opens `src`, reading only its cross-reference data. Encrypted documents need
    /// `password` (the user or the owner password; an empty user password is tried by itself).
    pub fn open(src: S, password: Option<&[u8]>) -> Result<Self> {
        Self::open_with_limits(src, password, Limits::default())
    }

    /// [`Document::open`] with explicit limits.
    pub fn open_with_limits(src: S, password: Option<&[u8]>, limits: Limits) -> Result<Self> {
        let head = src.read_vec(0, 1024)?;
        let Some(h) = find(&head, b"%PDF-") else {
            return Err(Error::Structure("not a PDF file (no %PDF- header in the first 1024 bytes)".into()));
        };
        let header_version =
            head[h + 5..].iter().take_while(|b| b.is_ascii_digit() || **b == b'.').map(|&b| b as char).collect();
        let empty = Xref {
            entries: HashMap::new(),
            trailer: Dict::new(),
            style: XrefStyle::Table,
            startxref: 0,
            repaired: false,
        };
        let mut doc = Document {
            src,
            xref: empty,
            limits,
            cache: HashMap::new(),
            object_streams: HashMap::new(),
            security: None,
            encrypt_ref: None,
            resolutions: 0,
            resolving: HashSet::new(),
            header_version,
        };
        let loaded = doc.load_xref_chain();
        let ok = match loaded {
            Ok(()) => doc.check_root().is_ok(),
            Err(Error::Io(e)) => return Err(Error::Io(e)),
            Err(Error::Limit(s)) => return Err(Error::Limit(s)),
            Err(_) => false,
        };
        if !ok {
            doc.repair()?;
        }
        doc.open_security(password)?;
        Ok(doc)
    }

    /// The underlying source.
    pub fn source(&self) -> &S {
        &self.src
    }

    /// Length of the file in bytes.
    pub fn len(&self) -> u64 {
        self.src.len()
    }

    /// Whether the file is empty (never, for an opened document).
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// The version in the `%PDF-x.y` header.
    pub fn header_version(&self) -> &str {
        &self.header_version
    }

    /// The merged cross-reference data.
    pub fn xref(&self) -> &Xref {
        &self.xref
    }

    /// The newest trailer dictionary.
    pub fn trailer(&self) -> &Dict {
        &self.xref.trailer
    }

    /// The security handler of an encrypted document.
    pub fn security(&self) -> Option<&SecurityHandler> {
        self.security.as_ref()
    }

    /// The reference of the `/Encrypt` dictionary, if it is indirect.
    pub fn encrypt_ref(&self) -> Option<ObjRef> {
        self.encrypt_ref
    }

    /// The number one past the highest object number in use (`/Size`, or more if the file
    /// uses higher numbers than its `/Size` admits).
    pub fn next_object_number(&self) -> u32 {
        // an absurd /Size (beyond the object number limit) is ignored rather than trusted
        let size = self
            .xref
            .trailer
            .get_int("Size")
            .and_then(|s| u32::try_from(s).ok())
            .filter(|&s| s <= crate::xref::MAX_OBJECT_NUMBER + 1)
            .unwrap_or(0);
        let max = self.xref.entries.keys().copied().max().unwrap_or(0);
        size.max(max.saturating_add(1)).max(1)
    }

    /// The catalog's reference (`/Root`).
    pub fn root_ref(&self) -> Result<ObjRef> {
        self.xref
            .trailer
            .get("Root")
            .and_then(Object::as_ref)
            .ok_or_else(|| Error::Structure("trailer has no /Root reference".into()))
    }

    /// The document catalog.
    pub fn catalog(&mut self) -> Result<Dict> {
        let r = self.root_ref()?;
        match self.get(r)? {
            Object::Dict(d) => Ok(d),
            _ => Err(Error::Structure(format!("/Root {r} is not a dictionary"))),
        }
    }

    fn check_root(&mut self) -> Result<()> {
        let root = self.root_ref()?;
        let saved = self.security.take();
        let r = self.get(root).map(|_| ());
        self.cache.clear();
        self.security = saved;
        r
    }

    fn tick(&mut self) -> Result<()> {
        self.resolutions += 1;
        if self.resolutions > self.limits.max_resolutions {
            return Err(Error::Limit(format!(
                "more than {} object resolutions (a reference loop or a hostile file)",
                self.limits.max_resolutions
            )));
        }
        Ok(())
    }

    // ---- cross-reference loading ----

    fn load_xref_chain(&mut self) -> Result<()> {
        let start = xref::find_startxref(&self.src)?;
        self.xref.startxref = start;
        let mut seen = HashSet::new();
        let mut next = Some(start);
        let mut first = true;
        while let Some(off) = next {
            if !seen.insert(off) {
                break; // a /Prev loop: stop, what was read is complete
            }
            if seen.len() > self.limits.max_sections {
                return Err(Error::Limit(format!("more than {} xref sections", self.limits.max_sections)));
            }
            let (trailer, style) = self.load_section(off)?;
            next = trailer.get_int("Prev").and_then(|p| u64::try_from(p).ok());
            if first {
                self.xref.trailer = trailer;
                self.xref.style = style;
                first = false;
            }
        }
        Ok(())
    }

    /// Loads the section at `off` into the merged table; returns its trailer and style.
    fn load_section(&mut self, off: u64) -> Result<(Dict, XrefStyle)> {
        if off >= self.src.len() {
            return Err(Error::syntax(off, "xref offset beyond the end of the file"));
        }
        let mut window = 16 << 10;
        loop {
            let buf = self.src.read_vec(off, window)?;
            let first_token = buf.iter().position(|b| !crate::lexer::is_whitespace(*b)).unwrap_or(0);
            if buf[first_token..].starts_with(b"xref") {
                match xref::parse_table(&buf, off, &mut self.xref)? {
                    Some(trailer) => {
                        if let Some(stm) = trailer.get_int("XRefStm").and_then(|p| u64::try_from(p).ok()) {
                            // §7.5.8.4: the hybrid file's stream adds entries after the table's
                            let _ = self.load_xref_stream(stm)?;
                        }
                        return Ok((trailer, XrefStyle::Table));
                    }
                    None => {
                        if buf.len() < window || window >= self.limits.max_object_bytes {
                            return Err(Error::syntax(off, "xref table ends before its trailer"));
                        }
                        window *= 4;
                    }
                }
            } else {
                return Ok((self.load_xref_stream(off)?, XrefStyle::Stream));
            }
        }
    }

    fn load_xref_stream(&mut self, off: u64) -> Result<Dict> {
        let (_, obj) = self.parse_at(off, None, false)?;
        let Object::Stream(s) = obj else {
            return Err(Error::syntax(off, "expected an xref table or an xref stream"));
        };
        if !s.dict.is_name("Type", "XRef") {
            return Err(Error::syntax(off, "stream at the xref offset is not /Type /XRef"));
        }
        let data = self.decoded_stream_data(None, &s)?;
        xref::apply_stream_rows(&s.dict, &data, &mut self.xref)?;
        Ok(s.dict)
    }

    /// Rebuilds the cross-reference data by scanning the file (qpdf's approach).
    fn repair(&mut self) -> Result<()> {
        let scan = xref::scan(&self.src)?;
        let old_startxref = xref::find_startxref(&self.src).unwrap_or(0);
        self.xref = Xref {
            entries: scan
                .objects
                .iter()
                .map(|(&n, &(offset, generation))| (n, XrefEntry::Offset { offset, generation }))
                .collect(),
            trailer: Dict::new(),
            style: XrefStyle::Table,
            startxref: old_startxref,
            repaired: true,
        };
        self.cache.clear();
        self.object_streams.clear();
        // the last trailer dictionary with a /Root wins
        for &t in scan.trailers.iter().rev() {
            let buf = self.src.read_vec(t + 7, 64 << 10)?;
            if let Ok(Object::Dict(d)) = Parser::new(&buf, t + 7).parse_object() {
                if d.contains("Root") {
                    self.xref.trailer = d;
                    break;
                }
            }
        }
        // object streams, xref streams and the catalog, found by their dictionaries
        let mut nums: Vec<(u32, u64)> = scan.objects.iter().map(|(&n, &(o, _))| (n, o)).collect();
        nums.sort_by_key(|&(_, o)| o);
        let mut catalog = None;
        for (num, offset) in nums {
            let Ok((_, obj)) = self.parse_at(offset, None, false) else { continue };
            let Some(d) = obj.as_dict() else { continue };
            if d.is_name("Type", "ObjStm") {
                if let Object::Stream(s) = &obj {
                    if let Ok(os) = self.decode_object_stream(ObjRef::new(num, 0), s) {
                        for (i, &(n, _)) in os.index.iter().enumerate() {
                            self.xref.insert_older(n, XrefEntry::Compressed { stream: num, index: i as u32 });
                        }
                    }
                }
            } else if d.is_name("Type", "XRef") && !self.xref.trailer.contains("Root") {
                let mut t = d.clone();
                for k in ["Type", "W", "Index", "Length", "Filter", "DecodeParms", "Prev", "XRefStm"] {
                    t.remove(k);
                }
                self.xref.trailer = t;
            } else if d.is_name("Type", "Catalog") {
                catalog = Some(ObjRef::new(num, 0));
            }
        }
        if !self.xref.trailer.contains("Root") {
            let root = catalog.ok_or_else(|| Error::Structure("repair found no document catalog".into()))?;
            self.xref.trailer.set("Root", root.into());
        }
        self.xref.trailer.remove("Prev");
        self.xref.trailer.remove("XRefStm");
        self.xref.trailer.set("Size", Object::Int(i64::from(self.next_object_number())));
        self.object_streams.clear();
        self.check_root()
    }

    fn open_security(&mut self, password: Option<&[u8]>) -> Result<()> {
        let Some(enc) = self.xref.trailer.get("Encrypt").cloned() else { return Ok(()) };
        self.encrypt_ref = enc.as_ref();
        let dict = match enc {
            Object::Ref(r) => self.get(r)?,
            other => other,
        };
        let Object::Dict(dict) = dict else {
            return Err(Error::Encryption("/Encrypt is not a dictionary".into()));
        };
        let id0 = self
            .xref
            .trailer
            .get("ID")
            .and_then(Object::as_array)
            .and_then(|a| a.first())
            .and_then(Object::as_str)
            .unwrap_or_default()
            .to_vec();
        self.security = Some(SecurityHandler::open(&dict, &id0, password.unwrap_or_default())?);
        self.cache.clear();
        Ok(())
    }

    // ---- objects ----

    /// Parses the indirect object at `offset`. `expect` checks the header's number.
    fn parse_at(&mut self, offset: u64, expect: Option<ObjRef>, resolve_length: bool) -> Result<(ObjRef, Object)> {
        let mut window = 4096usize;
        loop {
            let buf = self.src.read_vec(offset, window)?;
            let mut p = Parser::new(&buf, offset);
            match p.parse_indirect() {
                Ok(h) => {
                    if let Some(e) = expect
                        && e.num != h.id.num
                    {
                        return Err(Error::syntax(offset, format!("expected object {e}, found {}", h.id)));
                    }
                    let Some(at) = h.stream_data_at else { return Ok((h.id, h.value)) };
                    let Object::Dict(dict) = h.value else {
                        return Err(Error::syntax(offset, "stream without a dictionary"));
                    };
                    let data_off = offset + at as u64;
                    let declared = match dict.get("Length") {
                        Some(Object::Int(n)) => u64::try_from(*n).ok(),
                        Some(Object::Ref(r)) if resolve_length && r.num != h.id.num => {
                            let r = *r;
                            self.get(r).ok().and_then(|o| o.as_int()).and_then(|n| u64::try_from(n).ok())
                        }
                        _ => None,
                    };
                    let len = self.stream_length(data_off, declared)?;
                    return Ok((
                        h.id,
                        Object::Stream(Stream { dict, data: StreamData::InFile { offset: data_off, len } }),
                    ));
                }
                Err(ParseError::Eof) if buf.len() == window && window < self.limits.max_object_bytes => window *= 4,
                Err(ParseError::Eof) => {
                    return Err(Error::syntax(offset, "object is truncated or too large"));
                }
                Err(ParseError::Bad(e)) => return Err(e),
            }
        }
    }

    /// Checks a declared stream length against the `endstream` keyword; searches for the
    /// keyword when the length is missing or wrong (as every lenient reader does).
    fn stream_length(&self, data_off: u64, declared: Option<u64>) -> Result<u64> {
        if let Some(len) = declared
            && data_off + len <= self.src.len()
        {
            let tail = self.src.read_vec(data_off + len, 32)?;
            let t = tail.iter().position(|b| !crate::lexer::is_whitespace(*b)).unwrap_or(tail.len());
            if tail[t..].starts_with(b"endstream") {
                return Ok(len);
            }
        }
        // search for "endstream" in chunks
        let limit = self.limits.max_stream_bytes as u64;
        let mut pos = data_off;
        let chunk = 1usize << 20;
        loop {
            let buf = self.src.read_vec(pos, chunk + 9)?;
            if let Some(i) = find(&buf, b"endstream") {
                let mut end = pos + i as u64;
                // the EOL before endstream is not data (§7.3.8.1)
                let before = self.src.read_vec(end.saturating_sub(2).max(data_off), 2)?;
                if before.ends_with(b"\r\n") {
                    end -= 2;
                } else if before.ends_with(b"\n") || before.ends_with(b"\r") {
                    end -= 1;
                }
                return Ok(end.max(data_off) - data_off);
            }
            if buf.len() < chunk + 9 {
                return Err(Error::syntax(data_off, "stream has no 'endstream'"));
            }
            pos += chunk as u64;
            if pos - data_off > limit {
                return Err(Error::Limit(format!("stream longer than {limit} bytes")));
            }
        }
    }

    /// Resolves an indirect object (decrypted), or `null` if it does not exist (§7.3.10).
    pub fn get(&mut self, r: ObjRef) -> Result<Object> {
        if let Some(o) = self.cache.get(&r.num) {
            return Ok(o.clone());
        }
        self.tick()?;
        if !self.resolving.insert(r.num) {
            return Err(Error::Structure(format!("object {r} refers to itself while being read")));
        }
        let res = self.load(r);
        self.resolving.remove(&r.num);
        let obj = res?;
        self.cache.insert(r.num, obj.clone());
        Ok(obj)
    }

    fn load(&mut self, r: ObjRef) -> Result<Object> {
        match self.xref.entries.get(&r.num).copied() {
            None | Some(XrefEntry::Free) => Ok(Object::Null),
            Some(XrefEntry::Offset { offset, .. }) => {
                let (id, mut obj) = match self.parse_at(offset, Some(r), true) {
                    Ok(v) => v,
                    Err(e) if !self.xref.repaired => {
                        // wrong offsets: rebuild once by scanning, then retry
                        let _ = e;
                        self.repair()?;
                        return self.load(r);
                    }
                    Err(e) => return Err(e),
                };
                if let Some(sec) = &self.security
                    && Some(r) != self.encrypt_ref
                {
                    sec.decrypt_object(id, &mut obj)?;
                }
                Ok(obj)
            }
            Some(XrefEntry::Compressed { stream, index }) => {
                let os = self.object_stream(stream)?;
                let Some(&(num, off)) = os.index.get(index as usize) else {
                    return Err(Error::Structure(format!("object stream {stream} has no index {index}")));
                };
                if num != r.num {
                    return Err(Error::Structure(format!(
                        "object stream {stream} holds {num} at index {index}, not {}",
                        r.num
                    )));
                }
                let mut data = os.data[off.min(os.data.len())..].to_vec();
                data.extend_from_slice(b" ]");
                let mut p = Parser::new(&data, 0);
                p.parse_object().map_err(|e| match Error::from(e) {
                    Error::Syntax { what, .. } => {
                        Error::Structure(format!("object {r} in object stream {stream}: {what}"))
                    }
                    other => other,
                })
            }
        }
    }

    fn object_stream(&mut self, num: u32) -> Result<Rc<ObjectStream>> {
        if let Some(os) = self.object_streams.get(&num) {
            return Ok(os.clone());
        }
        let id = ObjRef::new(num, 0);
        let Object::Stream(s) = self.get(id)? else {
            return Err(Error::Structure(format!("object {num} is not an object stream")));
        };
        let os = Rc::new(self.decode_object_stream(id, &s)?);
        self.object_streams.insert(num, os.clone());
        Ok(os)
    }

    fn decode_object_stream(&mut self, id: ObjRef, s: &Stream) -> Result<ObjectStream> {
        let n = s.dict.get_int("N").and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        let first = s.dict.get_int("First").and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        let data = self.decoded_stream_data(Some(id), s)?;
        if first > data.len() || n > data.len() / 2 + 1 {
            return Err(Error::Structure(format!("object stream {id} has a bad /N or /First")));
        }
        let mut header = data[..first].to_vec();
        header.extend_from_slice(b" ]");
        let mut p = Parser::new(&header, 0);
        let mut index = Vec::with_capacity(n);
        for _ in 0..n {
            let (Ok(num), Ok(off)) = (p.read_uint(), p.read_uint()) else { break };
            let (Ok(num), Ok(off)) = (u32::try_from(num), usize::try_from(off)) else { break };
            index.push((num, first.saturating_add(off)));
        }
        Ok(ObjectStream { data, index })
    }

    /// Resolves `o` if it is a reference; otherwise returns a copy.
    pub fn resolve(&mut self, o: &Object) -> Result<Object> {
        match o {
            Object::Ref(r) => self.get(*r),
            other => Ok(other.clone()),
        }
    }

    /// Resolves `key` of `dict` (following one reference).
    pub fn resolve_key(&mut self, dict: &Dict, key: &str) -> Result<Option<Object>> {
        match dict.get(key) {
            None => Ok(None),
            Some(o) => {
                let v = self.resolve(o)?;
                Ok(if matches!(v, Object::Null) { None } else { Some(v) })
            }
        }
    }

    /// The raw (still encoded) data of a stream, decrypted.
    pub fn raw_stream_data(&mut self, id: Option<ObjRef>, s: &Stream) -> Result<Vec<u8>> {
        let raw = match &s.data {
            StreamData::Owned(d) => return Ok(d.clone()),
            StreamData::InFile { offset, len } => {
                if *len > self.limits.max_stream_bytes as u64 {
                    return Err(Error::Limit(format!("stream of {len} bytes is larger than the limit")));
                }
                self.src.read_vec(*offset, *len as usize)?
            }
        };
        match (&self.security, id) {
            (Some(sec), Some(id)) if sec.is_stream_encrypted(&s.dict) => sec.decrypt_stream(id, &raw),
            _ => Ok(raw),
        }
    }

    /// The decoded data of a stream (Flate with predictors), bounded by the limits.
    pub fn decoded_stream_data(&mut self, id: Option<ObjRef>, s: &Stream) -> Result<Vec<u8>> {
        let raw = self.raw_stream_data(id, s)?;
        filter::decode(&s.dict, &raw, self.limits.max_stream_bytes)
    }

    // ---- pages ----

    /// Number of pages (`/Count` of the page tree root).
    pub fn page_count(&mut self) -> Result<usize> {
        let cat = self.catalog()?;
        let pages = self.resolve_key(&cat, "Pages")?.ok_or_else(|| Error::Structure("catalog has no /Pages".into()))?;
        let n = pages.as_dict().and_then(|d| d.get_int("Count")).unwrap_or(0);
        usize::try_from(n).map_err(|_| Error::Structure("page tree /Count is negative".into()))
    }

    /// The page at zero-based `index`, found by walking only the path to it (§7.7.3).
    pub fn page(&mut self, index: usize) -> Result<Page> {
        let cat = self.catalog()?;
        let Some(Object::Ref(mut node_ref)) = cat.get("Pages").cloned() else {
            return Err(Error::Structure("catalog /Pages is not a reference".into()));
        };
        let mut remaining = index;
        let mut inherited = Dict::new();
        let mut visited = HashSet::new();
        for _ in 0..self.limits.max_page_tree_depth {
            if !visited.insert(node_ref.num) {
                return Err(Error::Structure(format!("page tree loop at {node_ref}")));
            }
            let node = self.get(node_ref)?;
            let Some(node) = node.as_dict().cloned() else {
                return Err(Error::Structure(format!("page tree node {node_ref} is not a dictionary")));
            };
            for key in ["MediaBox", "CropBox", "Rotate", "Resources"] {
                if let Some(v) = node.get(key) {
                    inherited.set(key, v.clone());
                }
            }
            let kids = match self.resolve_key(&node, "Kids")? {
                Some(Object::Array(k)) if !node.is_name("Type", "Page") => k,
                _ => {
                    if remaining == 0 {
                        return self.finish_page(node_ref, node, index, &inherited);
                    }
                    return Err(Error::Structure(format!("page {} not found (document has fewer pages)", index + 1)));
                }
            };
            let mut descended = false;
            for kid in kids {
                let Object::Ref(kid_ref) = kid else { continue };
                let kid_obj = self.get(kid_ref)?;
                let Some(kd) = kid_obj.as_dict() else { continue };
                let is_leaf = kd.is_name("Type", "Page") || !kd.contains("Kids");
                let count = if is_leaf { 1 } else { usize::try_from(kd.get_int("Count").unwrap_or(0)).unwrap_or(0) };
                if remaining < count {
                    node_ref = kid_ref;
                    descended = true;
                    break;
                }
                remaining -= count;
            }
            if !descended {
                return Err(Error::Structure(format!("page {} not found in the page tree", index + 1)));
            }
        }
        Err(Error::Limit("page tree deeper than the limit".into()))
    }

    fn finish_page(&mut self, id: ObjRef, dict: Dict, index: usize, inherited: &Dict) -> Result<Page> {
        let media = match inherited.get("MediaBox") {
            Some(o) => self.resolve(o)?,
            None => Object::Null,
        };
        // a missing MediaBox is an error in the spec; readers assume US Letter
        let media_box = Rect::from_object(&media).unwrap_or(Rect { llx: 0.0, lly: 0.0, urx: 612.0, ury: 792.0 });
        let crop = match inherited.get("CropBox") {
            Some(o) => self.resolve(o)?,
            None => Object::Null,
        };
        let crop_box = Rect::from_object(&crop).map_or(media_box, |c| c.intersect(&media_box));
        let rotate = match inherited.get("Rotate") {
            Some(o) => self.resolve(o)?.as_int().unwrap_or(0),
            None => 0,
        };
        let rotate = (rotate.rem_euclid(360) / 90 * 90) as u16;
        Ok(Page { id, dict, index, media_box, crop_box, rotate })
    }
}

/// First position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
