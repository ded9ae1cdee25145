//! Lexer and object parser over a byte window (ISO 32000-2 §7.2, §7.3).
//!
//! The parser works on a slice that the reader fills from the file on demand. Running out of
//! bytes is reported as [`ParseError::Eof`] so the caller can widen the window and retry,
//! which keeps reads small without loading the file. Nesting depth is bounded.

use crate::error::Error;
use crate::object::{Dict, Name, ObjRef, Object};

/// Deepest nesting of arrays and dictionaries accepted.
pub const MAX_DEPTH: usize = 64;

/// A parse failure: either the window ended early or the bytes are wrong.
#[derive(Debug)]
pub enum ParseError {
    /// The window ended before the object did.
    Eof,
    /// The bytes are not valid syntax.
    Bad(Error),
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Eof => Error::syntax(0, "unexpected end of data"),
            ParseError::Bad(e) => e,
        }
    }
}

type PResult<T> = Result<T, ParseError>;

/// PDF white-space characters (§7.2.3, Table 1).
pub fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

/// PDF delimiter characters (§7.2.3, Table 2).
pub fn is_delimiter(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

fn is_regular(b: u8) -> bool {
    !is_whitespace(b) && !is_delimiter(b)
}

/// The header of an indirect object: `N G obj`, then the value, and where stream data starts.
#[derive(Debug)]
pub struct IndirectHeader {
    /// The object's reference as its header says.
    pub id: ObjRef,
    /// The object (a stream's dictionary as `Object::Dict` when `stream_data_at` is set).
    pub value: Object,
    /// Offset within the window of the first stream data byte, for streams.
    pub stream_data_at: Option<usize>,
}

/// A cursor over a byte window whose first byte is at file offset `base`.
pub struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `buf`, which starts at file offset `base` (for error messages).
    pub fn new(buf: &'a [u8], base: u64) -> Self {
        Parser { buf, pos: 0, base }
    }

    /// Current position within the window.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to `pos` within the window.
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.buf.len());
    }

    fn bad<T>(&self, what: impl Into<String>) -> PResult<T> {
        Err(ParseError::Bad(Error::syntax(self.base + self.pos as u64, what)))
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Skips white space and comments.
    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Reads a run of regular characters (a keyword or number token) without consuming
    /// white space before it.
    fn regular_token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    /// Consumes `kw` (after white space) if it is the next token.
    pub fn eat_keyword(&mut self, kw: &[u8]) -> bool {
        self.skip_ws();
        let save = self.pos;
        let tok = self.regular_token();
        if tok == kw {
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Reads an unsigned integer token.
    pub fn read_uint(&mut self) -> PResult<u64> {
        self.skip_ws();
        let start = self.pos;
        let tok = self.regular_token();
        if self.pos == self.buf.len() {
            return Err(ParseError::Eof);
        }
        parse_uint(tok).map_or_else(
            || {
                self.pos = start;
                self.bad("expected an unsigned integer")
            },
            Ok,
        )
    }

    /// Parses `N G obj value [stream]`; stops after the `stream` keyword's end of line, or
    /// after `endobj` (a missing `endobj` is tolerated, as every reader does).
    pub fn parse_indirect(&mut self) -> PResult<IndirectHeader> {
        let num = self.read_uint()?;
        let generation = self.read_uint()?;
        if !self.eat_keyword(b"obj") {
            if self.pos >= self.buf.len().saturating_sub(4) {
                return Err(ParseError::Eof);
            }
            return self.bad("expected 'obj'");
        }
        let (Ok(num), Ok(generation)) = (u32::try_from(num), u16::try_from(generation)) else {
            return self.bad("object number out of range");
        };
        let id = ObjRef::new(num, generation);
        let value = self.parse_object()?;
        self.skip_ws();
        if self.buf.len() - self.pos < 9 {
            // could be "stream\r\n" or "endobj" cut by the window
            if !self.buf[self.pos..].starts_with(b"endobj") {
                return Err(ParseError::Eof);
            }
        }
        if matches!(value, Object::Dict(_)) && self.eat_keyword(b"stream") {
            // §7.3.8.1: the keyword is followed by CRLF or LF (a lone CR is tolerated)
            match self.peek() {
                Some(b'\r') => {
                    self.pos += 1;
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                }
                Some(b'\n') => self.pos += 1,
                _ => {}
            }
            return Ok(IndirectHeader { id, value, stream_data_at: Some(self.pos) });
        }
        self.eat_keyword(b"endobj");
        Ok(IndirectHeader { id, value, stream_data_at: None })
    }

    /// Parses one direct object, including `N G R` references.
    pub fn parse_object(&mut self) -> PResult<Object> {
        self.parse_depth(0)
    }

    fn parse_depth(&mut self, depth: usize) -> PResult<Object> {
        if depth > MAX_DEPTH {
            return Err(ParseError::Bad(Error::Limit(format!(
                "objects nested deeper than {MAX_DEPTH} at byte {}",
                self.base + self.pos as u64
            ))));
        }
        self.skip_ws();
        let Some(b) = self.peek() else { return Err(ParseError::Eof) };
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.parse_name_body()?))
            }
            b'(' => {
                self.pos += 1;
                Ok(Object::String(self.parse_literal_string()?))
            }
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    Ok(Object::Dict(self.parse_dict_body(depth)?))
                } else if self.pos + 1 >= self.buf.len() {
                    Err(ParseError::Eof)
                } else {
                    self.pos += 1;
                    Ok(Object::String(self.parse_hex_string()?))
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(ParseError::Eof),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        _ => items.push(self.parse_depth(depth + 1)?),
                    }
                }
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.parse_number_or_ref(),
            _ if is_regular(b) => {
                let tok = self.regular_token();
                if self.pos == self.buf.len() {
                    return Err(ParseError::Eof);
                }
                match tok {
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    b"null" => Ok(Object::Null),
                    _ => {
                        self.pos -= tok.len();
                        self.bad(format!("unexpected token '{}'", String::from_utf8_lossy(&tok[..tok.len().min(20)])))
                    }
                }
            }
            _ => self.bad(format!("unexpected character 0x{b:02x}")),
        }
    }

    fn parse_dict_body(&mut self, depth: usize) -> PResult<Dict> {
        let mut d = Dict::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(ParseError::Eof),
                Some(b'>') => {
                    if self.buf.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Ok(d);
                    }
                    if self.pos + 1 >= self.buf.len() {
                        return Err(ParseError::Eof);
                    }
                    return self.bad("expected '>>'");
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.parse_name_body()?;
                    let value = self.parse_depth(depth + 1)?;
                    // later duplicates win, as in most readers
                    if let Some(slot) = d.0.iter_mut().find(|(k, _)| *k == key) {
                        slot.1 = value;
                    } else {
                        d.0.push((key, value));
                    }
                }
                Some(_) => return self.bad("expected a name as dictionary key"),
            }
        }
    }

    fn parse_name_body(&mut self) -> PResult<Name> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if !is_regular(b) {
                break;
            }
            self.pos += 1;
            if b == b'#' {
                let h = self.buf.get(self.pos..self.pos + 2);
                match h.and_then(|h| Some((hex_val(h[0])?, hex_val(h[1])?))) {
                    Some((hi, lo)) => {
                        out.push(hi << 4 | lo);
                        self.pos += 2;
                    }
                    None if h.is_none() => return Err(ParseError::Eof),
                    None => out.push(b'#'),
                }
            } else {
                out.push(b);
            }
        }
        if self.pos == self.buf.len() {
            return Err(ParseError::Eof);
        }
        Ok(Name(out))
    }

    fn parse_literal_string(&mut self) -> PResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut nest = 0usize;
        loop {
            let Some(b) = self.peek() else { return Err(ParseError::Eof) };
            self.pos += 1;
            match b {
                b'(' => {
                    nest += 1;
                    out.push(b);
                }
                b')' => {
                    if nest == 0 {
                        return Ok(out);
                    }
                    nest -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else { return Err(ParseError::Eof) };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    // §7.3.4.2: an end-of-line in a literal string reads as \n
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(b),
            }
        }
    }

    fn parse_hex_string(&mut self) -> PResult<Vec<u8>> {
        let rest = &self.buf[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == b'>') else { return Err(ParseError::Eof) };
        let body = &rest[..end];
        let mut out = Vec::with_capacity(body.len() / 2 + 1);
        // fast path: pairs of hex digits (a signature's /Contents is tens of KiB of them)
        let mut i = 0;
        while i + 1 < body.len() {
            let (h, l) = (HEX_VALUE[body[i] as usize], HEX_VALUE[body[i + 1] as usize]);
            if h > 15 || l > 15 {
                break;
            }
            out.push(h << 4 | l);
            i += 2;
        }
        // the rest: white space allowed anywhere, an odd final digit is followed by 0
        let mut hi: Option<u8> = None;
        for (j, &b) in body[i..].iter().enumerate() {
            if is_whitespace(b) {
                continue;
            }
            let v = HEX_VALUE[b as usize];
            if v > 15 {
                self.pos += i + j;
                return self.bad("invalid character in hex string");
            }
            match hi.take() {
                None => hi = Some(v),
                Some(h) => out.push(h << 4 | v),
            }
        }
        if let Some(h) = hi {
            out.push(h << 4);
        }
        self.pos += end + 1;
        Ok(out)
    }

    fn parse_number_or_ref(&mut self) -> PResult<Object> {
        let start = self.pos;
        let tok = self.regular_token();
        if self.pos == self.buf.len() {
            return Err(ParseError::Eof);
        }
        let Some(first) = parse_number(tok) else {
            self.pos = start;
            return self.bad("malformed number");
        };
        // `N G R`: look ahead for two more tokens without committing
        if let Object::Int(num) = first
            && num >= 0
            && !tok.starts_with(b"+")
        {
            let save = self.pos;
            self.skip_ws();
            if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                let g = self.regular_token();
                if self.pos == self.buf.len() {
                    return Err(ParseError::Eof);
                }
                if let Some(generation) = parse_uint(g) {
                    self.skip_ws();
                    if self.peek() == Some(b'R') && self.buf.get(self.pos + 1).is_none_or(|&b| !is_regular(b)) {
                        if self.pos + 1 >= self.buf.len() {
                            return Err(ParseError::Eof);
                        }
                        self.pos += 1;
                        let (Ok(num), Ok(generation)) = (u32::try_from(num), u16::try_from(generation)) else {
                            return self.bad("object reference out of range");
                        };
                        return Ok(Object::Ref(ObjRef::new(num, generation)));
                    }
                    if self.pos == self.buf.len() {
                        return Err(ParseError::Eof);
                    }
                }
            } else if self.pos == self.buf.len() {
                return Err(ParseError::Eof);
            }
            self.pos = save;
        }
        Ok(first)
    }
}

/// Value of each byte as a hex digit; 0xFF for bytes that are not hex digits.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses an unsigned decimal integer token (at most 18 digits).
pub fn parse_uint(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 18 || !tok.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(tok.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')))
}

/// Parses a numeric token: an integer or a real (§7.3.3). Tolerates `--5`-style double
/// signs as readers do.
fn parse_number(tok: &[u8]) -> Option<Object> {
    let mut t = tok;
    let mut neg = false;
    while let Some((&s, rest)) = t.split_first() {
        if s == b'-' {
            neg = !neg;
        } else if s != b'+' {
            break;
        }
        t = rest;
    }
    if t.is_empty() || t.len() > 40 {
        return None;
    }
    if t.iter().all(u8::is_ascii_digit) {
        let v: i64 = if t.len() > 18 {
            // out of range integers read as reals, as Acrobat does
            let f: f64 = std::str::from_utf8(t).ok()?.parse().ok()?;
            return Some(Object::Real(if neg { -f } else { f }));
        } else {
            t.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'))
        };
        return Some(Object::Int(if neg { -v } else { v }));
    }
    let dots = t.iter().filter(|&&b| b == b'.').count();
    if dots != 1 || !t.iter().all(|&b| b == b'.' || b.is_ascii_digit()) {
        return None;
    }
    let s = std::str::from_utf8(t).ok()?;
    let f: f64 = if s == "." { 0.0 } else { s.parse().ok()? };
    Some(Object::Real(if neg { -f } else { f }))
}

/// Parses one complete object from `data` (fuzzing and tests).
pub fn parse_object(data: &[u8]) -> crate::Result<Object> {
    let mut padded = data.to_vec();
    padded.extend_from_slice(b" ]"); // a delimiter ends the look-ahead for `N G R`
    Ok(Parser::new(&padded, 0).parse_object()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(s: &str) -> Object {
        parse_object(s.as_bytes()).unwrap()
    }

    #[test]
    fn parses_basic_objects() {
        assert_eq!(obj("42"), Object::Int(42));
        assert_eq!(obj("-3.5"), Object::Real(-3.5));
        assert_eq!(obj(".5"), Object::Real(0.5));
        assert_eq!(obj("/A#20B"), Object::Name(Name::new("A B")));
        assert_eq!(obj("(a\\(b\\)\\101)"), Object::String(b"a(b)A".to_vec()));
        assert_eq!(obj("<48 65 6c6>"), Object::String(b"Hel`".to_vec()));
        assert_eq!(obj("12 0 R"), Object::Ref(ObjRef::new(12, 0)));
        assert_eq!(obj("[1 2 R 3]"), Object::Array(vec![Object::Ref(ObjRef::new(1, 2)), Object::Int(3)]));
        assert_eq!(obj("[1 2 3]"), Object::Array(vec![Object::Int(1), Object::Int(2), Object::Int(3)]));
    }

    #[test]
    fn dict_with_refs_and_nesting() {
        let o = obj("<< /Type /Page /Kids [3 0 R 4 0 R] /Sub << /X true >> >>");
        let d = o.as_dict().unwrap();
        assert!(d.is_name("Type", "Page"));
        assert_eq!(d.get("Kids").unwrap().as_array().unwrap().len(), 2);
    }

    #[test]
    fn truncated_input_is_eof_not_panic() {
        let mut p = Parser::new(b"<< /A [1 2", 0);
        assert!(matches!(p.parse_object(), Err(ParseError::Eof)));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let s = "[".repeat(1000);
        assert!(parse_object(s.as_bytes()).is_err());
    }

    #[test]
    fn indirect_stream_header() {
        let data = b"7 0 obj\n<< /Length 3 >>\nstream\r\nabc\nendstream\nendobj\n";
        let h = Parser::new(data, 0).parse_indirect().unwrap();
        assert_eq!(h.id, ObjRef::new(7, 0));
        assert_eq!(&data[h.stream_data_at.unwrap()..][..3], b"abc");
    }
}
