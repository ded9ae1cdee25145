//! The PDF object model (ISO 32000-2 §7.3) and its serialisation.
//!
//! Objects are plain values: parsing never follows references, so reading one object costs
//! one object. Strings hold their decoded (and, in encrypted files, decrypted) bytes.

use std::fmt;
use std::io::Write;

/// An indirect reference `N G R` (§7.3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    /// Object number.
    pub num: u32,
    /// Generation number.
    pub generation: u16,
}

impl ObjRef {
    /// A reference to object `num` generation `generation`.
    pub const fn new(num: u32, generation: u16) -> Self {
        ObjRef { num, generation }
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} R", self.num, self.generation)
    }
}

/// A name object (§7.3.5), stored without the leading `/` and with `#xx` escapes decoded.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(pub Vec<u8>);

impl Name {
    /// A name from its decoded bytes.
    pub fn new(s: impl AsRef<[u8]>) -> Self {
        Name(s.as_ref().to_vec())
    }
    /// The decoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", String::from_utf8_lossy(&self.0))
    }
}

/// Where a stream's data is.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamData {
    /// Still in the file: `len` raw (encoded, maybe encrypted) bytes starting at `offset`.
    InFile {
        /// Offset of the first data byte.
        offset: u64,
        /// Number of raw bytes.
        len: u64,
    },
    /// Raw bytes in memory (encoded as the dictionary's `/Filter` says; not encrypted).
    Owned(Vec<u8>),
}

/// A stream object (§7.3.8): its dictionary and where its data is.
#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    /// The stream dictionary; `/Length` is rewritten on serialisation for owned data.
    pub dict: Dict,
    /// The data.
    pub data: StreamData,
}

impl Stream {
    /// A stream holding `data`, encoded as `dict`'s `/Filter` (if any) says.
    pub fn new(dict: Dict, data: Vec<u8>) -> Self {
        Stream { dict, data: StreamData::Owned(data) }
    }

    /// A stream holding `data` compressed with `/FlateDecode`.
    pub fn flate(mut dict: Dict, data: &[u8]) -> Self {
        dict.set("Filter", Object::name("FlateDecode"));
        Stream::new(dict, crate::filter::flate_encode(data))
    }
}

/// An ordered dictionary (§7.3.7). Order is kept so rewritten objects stay recognisable.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dict(pub Vec<(Name, Object)>);

impl Dict {
    /// An empty dictionary.
    pub fn new() -> Self {
        Dict(Vec::new())
    }

    /// The value of `key`; a `null` value counts as absent (§7.3.7).
    pub fn get(&self, key: &str) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k.0 == key.as_bytes()).map(|(_, v)| v).filter(|v| !matches!(v, Object::Null))
    }

    /// A mutable reference to the value of `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Object> {
        self.0.iter_mut().find(|(k, _)| k.0 == key.as_bytes()).map(|(_, v)| v)
    }

    /// Whether `key` is present with a non-null value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` (replacing in place, or appending).
    pub fn set(&mut self, key: &str, value: Object) {
        match self.get_mut(key) {
            Some(v) => *v = value,
            None => self.0.push((Name::new(key), value)),
        }
    }

    /// Builder form of [`Dict::set`].
    pub fn with(mut self, key: &str, value: impl Into<Object>) -> Self {
        self.set(key, value.into());
        self
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Object> {
        let i = self.0.iter().position(|(k, _)| k.0 == key.as_bytes())?;
        Some(self.0.remove(i).1)
    }

    /// The name value of `key`, if it is a name.
    pub fn get_name(&self, key: &str) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_name)
    }

    /// Whether `key` holds the name `value`.
    pub fn is_name(&self, key: &str, value: &str) -> bool {
        self.get_name(key) == Some(value.as_bytes())
    }

    /// The integer value of `key`, if it is an integer.
    pub fn get_int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(Object::as_int)
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &Object)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A PDF object (§7.3).
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// A string, decoded (escapes and hex resolved; decrypted in encrypted files).
    String(Vec<u8>),
    /// A name.
    Name(Name),
    /// An array.
    Array(Vec<Object>),
    /// A dictionary.
    Dict(Dict),
    /// A stream (only as an indirect object's value).
    Stream(Stream),
    /// An indirect reference.
    Ref(ObjRef),
}

impl Object {
    /// A name object.
    pub fn name(s: &str) -> Object {
        Object::Name(Name::new(s))
    }

    /// A string object from text (PDFDocEncoding for ASCII, UTF-16BE with BOM otherwise,
    /// §7.9.2.2).
    pub fn text(s: &str) -> Object {
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            Object::String(s.as_bytes().to_vec())
        } else {
            let mut v = vec![0xfe, 0xff];
            for u in s.encode_utf16() {
                v.extend_from_slice(&u.to_be_bytes());
            }
            Object::String(v)
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number (integer or real) as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Object::Int(i) => Some(*i as f64),
            Object::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The name bytes, if this is a name.
    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(&n.0),
            _ => None,
        }
    }

    /// The string bytes, if this is a string.
    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Object::String(s) => Some(s),
            _ => None,
        }
    }

    /// The dictionary, if this is one (a stream's dictionary counts).
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The reference, if this is one.
    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }

    /// Writes the object in PDF syntax. Streams with in-file data cannot be written this way
    /// (they are never rewritten); use owned data.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Object::Null => out.extend_from_slice(b"null"),
            Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Object::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Object::Real(r) => write_real(*r, out),
            Object::String(s) => write_string(s, out),
            Object::Name(n) => write_name(&n.0, out),
            Object::Array(a) => {
                out.push(b'[');
                for (i, o) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    o.write_to(out);
                }
                out.push(b']');
            }
            Object::Dict(d) => write_dict(d, out),
            Object::Stream(s) => {
                let data: &[u8] = match &s.data {
                    StreamData::Owned(d) => d,
                    StreamData::InFile { .. } => &[],
                };
                let mut dict = s.dict.clone();
                dict.set("Length", Object::Int(data.len() as i64));
                write_dict(&dict, out);
                out.extend_from_slice(b"\nstream\n");
                out.extend_from_slice(data);
                out.extend_from_slice(b"\nendstream");
            }
            Object::Ref(r) => {
                let _ = write!(out, "{} {} R", r.num, r.generation);
            }
        }
    }

    /// The object in PDF syntax.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }
}

impl From<i64> for Object {
    fn from(v: i64) -> Self {
        Object::Int(v)
    }
}
impl From<i32> for Object {
    fn from(v: i32) -> Self {
        Object::Int(v.into())
    }
}
impl From<f64> for Object {
    fn from(v: f64) -> Self {
        Object::Real(v)
    }
}
impl From<bool> for Object {
    fn from(v: bool) -> Self {
        Object::Bool(v)
    }
}
impl From<ObjRef> for Object {
    fn from(v: ObjRef) -> Self {
        Object::Ref(v)
    }
}
impl From<Dict> for Object {
    fn from(v: Dict) -> Self {
        Object::Dict(v)
    }
}
impl From<Vec<Object>> for Object {
    fn from(v: Vec<Object>) -> Self {
        Object::Array(v)
    }
}
impl From<Stream> for Object {
    fn from(v: Stream) -> Self {
        Object::Stream(v)
    }
}

fn write_dict(d: &Dict, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        write_name(&k.0, out);
        if !matches!(v, Object::Name(_) | Object::String(_) | Object::Array(_) | Object::Dict(_)) {
            out.push(b' ');
        }
        v.write_to(out);
    }
    out.extend_from_slice(b">>");
}

/// Reals are written without exponent (§7.3.3 has none), at most 6 decimals, no trailing zeros.
fn write_real(r: f64, out: &mut Vec<u8>) {
    if !r.is_finite() {
        out.push(b'0');
        return;
    }
    if r == r.trunc() && r.abs() < 1e15 {
        let _ = write!(out, "{}", r as i64);
        return;
    }
    let s = format!("{r:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    out.extend_from_slice(if s == "-0" { b"0" } else { s.as_bytes() });
}

fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in n {
        if b.is_ascii_graphic() && !crate::lexer::is_delimiter(b) && b != b'#' {
            out.push(b);
        } else {
            let _ = write!(out, "#{b:02X}");
        }
    }
}

/// Literal form when the bytes are mostly printable, hex otherwise.
fn write_string(s: &[u8], out: &mut Vec<u8>) {
    let printable = s.iter().filter(|&&b| (0x20..0x7f).contains(&b)).count();
    if printable * 10 >= s.len() * 9 {
        out.push(b'(');
        for &b in s {
            match b {
                b'(' | b')' | b'\\' => {
                    out.push(b'\\');
                    out.push(b);
                }
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\n' => out.extend_from_slice(b"\\n"),
                0x20..=0x7e => out.push(b),
                _ => {
                    let _ = write!(out, "\\{b:03o}");
                }
            }
        }
        out.push(b')');
    } else {
        write_hex_string(s, out);
    }
}

/// The two upper-case hex digits of every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 15]];
        i += 1;
    }
    t
};

/// Writes `<hex>`. (Signature `/Contents` placeholders are tens of KiB: the digits are
/// written into space reserved once, not pushed one at a time.)
pub fn write_hex_string(s: &[u8], out: &mut Vec<u8>) {
    out.reserve(s.len() * 2 + 2);
    out.push(b'<');
    let start = out.len();
    out.resize(start + 2 * s.len(), 0);
    for (dst, &b) in out[start..].chunks_exact_mut(2).zip(s) {
        dst.copy_from_slice(&HEX_PAIRS[b as usize]);
    }
    out.push(b'>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_nested_objects() {
        let d = Dict::new()
            .with("Type", Object::name("Sig"))
            .with("N", 3)
            .with("R", 1.5)
            .with("S", Object::String(b"a(b)\\".to_vec()))
            .with("A", vec![Object::Ref(ObjRef::new(4, 0)), Object::Null]);
        assert_eq!(Object::Dict(d).to_bytes(), b"<</Type/Sig/N 3/R 1.5/S(a\\(b\\)\\\\)/A[4 0 R null]>>".to_vec());
    }

    #[test]
    fn names_escape_delimiters() {
        assert_eq!(Object::name("A B#").to_bytes(), b"/A#20B#23".to_vec());
    }
}
