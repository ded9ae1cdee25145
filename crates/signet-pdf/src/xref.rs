//! Cross-reference data (ISO 32000-2 §7.5.4 tables, §7.5.8 streams, §7.5.8.4 hybrid files)
//! and repair by scanning when the offsets are wrong.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::lexer::{Parser, is_whitespace, parse_uint};
use crate::object::{Dict, Object};
use crate::source::Source;

/// Highest object number accepted (ISO 32000-2 Annex C suggests 8,388,607).
pub const MAX_OBJECT_NUMBER: u32 = 8_388_607;

/// Where an object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XrefEntry {
    /// Free (deleted) object.
    Free,
    /// An uncompressed object at a byte offset.
    Offset {
        /// Byte offset of `N G obj`.
        offset: u64,
        /// Generation number.
        generation: u16,
    },
    /// Object `index` of object stream `stream` (generation 0).
    Compressed {
        /// Object number of the object stream.
        stream: u32,
        /// Index within it.
        index: u32,
    },
}

/// The style of the newest cross-reference section, which an update must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XrefStyle {
    /// `xref` keyword table and `trailer` dictionary.
    Table,
    /// Cross-reference stream (`/Type /XRef`).
    Stream,
}

/// The merged cross-reference of every section reachable from `startxref`.
#[derive(Debug, Clone)]
pub struct Xref {
    /// Object number → entry; the newest section wins.
    pub entries: HashMap<u32, XrefEntry>,
    /// The newest trailer (for a stream, its dictionary).
    pub trailer: Dict,
    /// Style of the newest section.
    pub style: XrefStyle,
    /// Offset the file's last `startxref` gives (the `/Prev` of the next update).
    pub startxref: u64,
    /// True when the offsets were rebuilt by scanning the file.
    pub repaired: bool,
}

impl Xref {
    /// Adds `entry` for `num` unless a newer section already has one.
    pub(crate) fn insert_older(&mut self, num: u32, entry: XrefEntry) {
        self.entries.entry(num).or_insert(entry);
    }
}

/// Finds the last `startxref` value within the final 2 KiB (§7.5.5).
pub fn find_startxref(src: &dyn Source) -> Result<u64> {
    let len = src.len();
    let start = len.saturating_sub(2048);
    let tail = src.read_vec(start, 2048)?;
    let pos =
        rfind(&tail, b"startxref").ok_or_else(|| Error::syntax(len, "no 'startxref' near the end of the file"))?;
    let mut p = Parser::new(&tail[pos + 9..], start + pos as u64 + 9);
    p.read_uint().map_err(|_| Error::syntax(start + pos as u64, "'startxref' is not followed by an offset"))
}

/// Parses a classic `xref` table at the start of `buf` (file offset `base`) and the trailer
/// dictionary after it. Returns `Err(ParseError::Eof)`-style `None` when the window is short.
pub(crate) fn parse_table(buf: &[u8], base: u64, out: &mut Xref) -> Result<Option<Dict>> {
    let mut p = Parser::new(buf, base);
    if !p.eat_keyword(b"xref") {
        return Err(Error::syntax(base, "expected 'xref'"));
    }
    let mut new_entries = Vec::new();
    loop {
        p.skip_ws();
        if p.eat_keyword(b"trailer") {
            break;
        }
        let (start, count) = match (p.read_uint(), p.read_uint()) {
            (Ok(s), Ok(c)) => (s, c),
            (Err(crate::lexer::ParseError::Eof), _) | (_, Err(crate::lexer::ParseError::Eof)) => return Ok(None),
            _ => return Err(Error::syntax(base + p.pos() as u64, "malformed xref subsection header")),
        };
        if start + count > u64::from(MAX_OBJECT_NUMBER) + 1 {
            return Err(Error::Limit(format!("xref subsection {start} {count} exceeds the object number limit")));
        }
        // Entries are nominally 20 bytes; read them as tokens to accept 19/21-byte lines.
        for i in 0..count {
            let rest = &buf[p.pos()..];
            let Some(entry) = parse_entry(rest) else {
                if rest.len() < 40 {
                    return Ok(None);
                }
                return Err(Error::syntax(base + p.pos() as u64, "malformed xref entry"));
            };
            p.set_pos(p.pos() + entry.2);
            let num = (start + i) as u32;
            new_entries.push((num, entry.0, entry.1));
        }
    }
    let trailer = match p.parse_object() {
        Ok(Object::Dict(d)) => d,
        Ok(_) => return Err(Error::syntax(base + p.pos() as u64, "trailer is not a dictionary")),
        Err(crate::lexer::ParseError::Eof) => return Ok(None),
        Err(crate::lexer::ParseError::Bad(e)) => return Err(e),
    };
    for (num, offset, gen_or_free) in new_entries {
        let entry = match gen_or_free {
            Some(generation) => XrefEntry::Offset { offset, generation },
            None => XrefEntry::Free,
        };
        // object 0 is the head of the free list, never a real object
        if num != 0 {
            out.insert_older(num, entry);
        }
    }
    Ok(Some(trailer))
}

/// One table entry: offset, generation (None when free), bytes consumed.
fn parse_entry(b: &[u8]) -> Option<(u64, Option<u16>, usize)> {
    let mut i = 0;
    while i < b.len() && is_whitespace(b[i]) {
        i += 1;
    }
    let s1 = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let offset = parse_uint(&b[s1..i])?;
    while i < b.len() && (b[i] == b' ') {
        i += 1;
    }
    let s2 = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let generation = parse_uint(&b[s2..i])?;
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    let kind = *b.get(i)?;
    i += 1;
    // the entry must end at white space; require it to be in the window
    if i >= b.len() {
        return None;
    }
    match kind {
        b'n' => Some((offset, Some(u16::try_from(generation).unwrap_or(u16::MAX)), i)),
        b'f' => Some((offset, None, i)),
        _ => None,
    }
}

/// Decodes the rows of a cross-reference stream (§7.5.8.3) into `out`.
pub(crate) fn apply_stream_rows(dict: &Dict, data: &[u8], out: &mut Xref) -> Result<()> {
    let w: Vec<usize> = dict
        .get("W")
        .and_then(Object::as_array)
        .ok_or_else(|| Error::Structure("xref stream without /W".into()))?
        .iter()
        .map(|o| o.as_int().and_then(|v| usize::try_from(v).ok()).filter(|&v| v <= 8))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Structure("xref stream /W has a bad width".into()))?;
    if w.len() != 3 {
        return Err(Error::Structure("xref stream /W must have three widths".into()));
    }
    let row = w[0] + w[1] + w[2];
    if row == 0 {
        return Err(Error::Structure("xref stream rows are empty".into()));
    }
    let size = dict.get_int("Size").unwrap_or(0).max(0);
    let index: Vec<i64> = match dict.get("Index").and_then(Object::as_array) {
        Some(a) => a.iter().filter_map(Object::as_int).collect(),
        None => vec![0, size],
    };
    let mut rows = data.chunks_exact(row);
    for pair in index.chunks(2) {
        let [start, count] = *pair else { break };
        if start < 0 || count < 0 || start + count > i64::from(MAX_OBJECT_NUMBER) + 1 {
            return Err(Error::Limit(format!("xref stream /Index {start} {count} out of range")));
        }
        for num in start..start + count {
            let Some(r) = rows.next() else { return Ok(()) };
            let field = |i: usize, default: u64| -> u64 {
                let from: usize = w[..i].iter().sum();
                if w[i] == 0 {
                    return default;
                }
                r[from..from + w[i]].iter().fold(0u64, |v, &b| v << 8 | u64::from(b))
            };
            let ty = field(0, 1);
            let entry = match ty {
                0 => XrefEntry::Free,
                1 => XrefEntry::Offset {
                    offset: field(1, 0),
                    generation: u16::try_from(field(2, 0)).unwrap_or(u16::MAX),
                },
                2 => XrefEntry::Compressed {
                    stream: u32::try_from(field(1, 0)).unwrap_or(u32::MAX),
                    index: u32::try_from(field(2, 0)).unwrap_or(u32::MAX),
                },
                _ => continue, // §7.5.8.3: unknown types are references to the null object
            };
            if num != 0 {
                out.insert_older(num as u32, entry);
            }
        }
    }
    Ok(())
}

/// What a scan of the whole file found: the last definition of each object, and trailers.
pub(crate) struct ScanResult {
    pub(crate) objects: HashMap<u32, (u64, u16)>,
    pub(crate) trailers: Vec<u64>,
}

/// Scans the file for `N G obj` headers and `trailer` keywords, reading it in 1 MiB chunks
/// (only used to repair a file whose cross-reference data is wrong, as qpdf does).
pub(crate) fn scan(src: &dyn Source) -> Result<ScanResult> {
    const CHUNK: usize = 1 << 20;
    const OVERLAP: usize = 64;
    let mut res = ScanResult { objects: HashMap::new(), trailers: Vec::new() };
    let len = src.len();
    let mut off = 0u64;
    while off < len {
        let buf = src.read_vec(off, CHUNK + OVERLAP)?;
        let limit = if off + (buf.len() as u64) < len { CHUNK } else { buf.len() };
        let mut i = 0;
        while i < limit {
            let b = buf[i];
            if b == b'o' && buf[i..].starts_with(b"obj") && buf.get(i + 3).is_none_or(|&c| !c.is_ascii_alphanumeric()) {
                if let Some((num, generation, start)) = header_before(&buf, i) {
                    if num <= MAX_OBJECT_NUMBER && num > 0 {
                        if res.objects.len() >= MAX_OBJECT_NUMBER as usize {
                            return Err(Error::Limit("too many objects found while repairing".into()));
                        }
                        res.objects.insert(num, (off + start as u64, generation));
                    }
                }
                i += 3;
            } else if b == b't' && buf[i..].starts_with(b"trailer") && (i == 0 || !buf[i - 1].is_ascii_alphanumeric()) {
                res.trailers.push(off + i as u64);
                i += 7;
            } else {
                i += 1;
            }
        }
        off += limit as u64;
    }
    Ok(res)
}

/// Given the position of `obj`, finds `N G ` before it at a token boundary.
fn header_before(buf: &[u8], obj_pos: usize) -> Option<(u32, u16, usize)> {
    let mut i = obj_pos;
    let skip_ws_back = |i: &mut usize| {
        while *i > 0 && is_whitespace(buf[*i - 1]) {
            *i -= 1;
        }
    };
    let digits_back = |i: &mut usize| -> Option<(usize, usize)> {
        let end = *i;
        while *i > 0 && buf[*i - 1].is_ascii_digit() && end - *i < 10 {
            *i -= 1;
        }
        (*i < end).then_some((*i, end))
    };
    skip_ws_back(&mut i);
    if i == obj_pos {
        return None; // "12 0obj" is not a header
    }
    let (gs, ge) = digits_back(&mut i)?;
    let before_gen = i;
    skip_ws_back(&mut i);
    if i == before_gen {
        return None;
    }
    let (ns, ne) = digits_back(&mut i)?;
    if ns > 0 && !is_whitespace(buf[ns - 1]) && !crate::lexer::is_delimiter(buf[ns - 1]) {
        return None;
    }
    let num = u32::try_from(parse_uint(&buf[ns..ne])?).ok()?;
    let generation = u16::try_from(parse_uint(&buf[gs..ge])?).ok()?;
    Some((num, generation, ns))
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Xref {
        Xref { entries: HashMap::new(), trailer: Dict::new(), style: XrefStyle::Table, startxref: 0, repaired: false }
    }

    #[test]
    fn table_with_odd_line_ends() {
        let t = b"xref\n0 3\n0000000000 65535 f\r\n0000000015 00000 n \n0000000079 00000 n\ntrailer\n<< /Size 3 >>\n";
        let mut x = empty();
        let tr = parse_table(t, 0, &mut x).unwrap().unwrap();
        assert_eq!(tr.get_int("Size"), Some(3));
        assert_eq!(x.entries[&1], XrefEntry::Offset { offset: 15, generation: 0 });
        assert_eq!(x.entries[&2], XrefEntry::Offset { offset: 79, generation: 0 });
    }

    #[test]
    fn stream_rows() {
        let d = Dict::new()
            .with("W", vec![Object::Int(1), Object::Int(2), Object::Int(1)])
            .with("Index", vec![Object::Int(5), Object::Int(2)]);
        let mut x = empty();
        apply_stream_rows(&d, &[1, 0, 10, 0, 2, 0, 3, 4], &mut x).unwrap();
        assert_eq!(x.entries[&5], XrefEntry::Offset { offset: 10, generation: 0 });
        assert_eq!(x.entries[&6], XrefEntry::Compressed { stream: 3, index: 4 });
    }

    #[test]
    fn scan_finds_headers() {
        let data = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n 12 3 obj (x) endobj trailer << >>";
        let r = scan(&data.to_vec()).unwrap();
        assert_eq!(r.objects[&1], (9, 0));
        assert_eq!(r.objects[&12], (30, 3));
        assert_eq!(r.trailers.len(), 1);
    }
}
