//! A minimal, allocation-free DER reader and a few encoding helpers (ITU-T X.690 §8, §10).
//!
//! The typed RustCrypto decoders are strict about things real-world signatures get wrong
//! (unsorted `SET OF`, odd certificate fields). Signature verification also needs the *exact*
//! input bytes of some elements (signed attributes, `tbsCertificate`), which a
//! decode/re-encode round trip does not guarantee. This reader walks definite-length
//! TLVs and hands out sub-slices of the input, never panicking on hostile bytes.

/// Universal tag numbers and common context tags used by the CMS/X.509 code.
pub mod tag {
    /// BOOLEAN
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER
    pub const OID: u8 = 0x06;
    /// UTCTime
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE (constructed)
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed)
    pub const SET: u8 = 0x31;
    /// `[0]` constructed
    pub const CTX0: u8 = 0xA0;
    /// `[1]` constructed
    pub const CTX1: u8 = 0xA1;
    /// `[2]` constructed
    pub const CTX2: u8 = 0xA2;
    /// `[3]` constructed
    pub const CTX3: u8 = 0xA3;
    /// `[4]` constructed
    pub const CTX4: u8 = 0xA4;
    /// `[0]` primitive
    pub const CTX0_PRIM: u8 = 0x80;
}

/// Why a DER element could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DerError {
    /// The input ended inside an element.
    Truncated {
        /// Byte offset (in the slice being read) where the element started.
        offset: usize,
    },
    /// Multi-byte tags, indefinite lengths (BER) or non-minimal lengths.
    Unsupported {
        /// Byte offset where the element started.
        offset: usize,
        /// What was found.
        what: &'static str,
    },
    /// A different tag was expected.
    UnexpectedTag {
        /// Byte offset of the element.
        offset: usize,
        /// Tag expected.
        expected: u8,
        /// Tag found (`None` at the end of input).
        found: Option<u8>,
    },
    /// Elements were left over where none were allowed.
    TrailingData {
        /// Byte offset of the first extra byte.
        offset: usize,
    },
}

impl core::fmt::Display for DerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated { offset } => write!(f, "DER element at offset {offset} is truncated"),
            Self::Unsupported { offset, what } => {
                write!(f, "unsupported encoding at offset {offset}: {what}")
            }
            Self::UnexpectedTag { offset, expected, found: Some(t) } => {
                write!(f, "expected tag 0x{expected:02x} at offset {offset}, found 0x{t:02x}")
            }
            Self::UnexpectedTag { offset, expected, .. } => {
                write!(f, "expected tag 0x{expected:02x} at offset {offset}, found end of data")
            }
            Self::TrailingData { offset } => write!(f, "unexpected data at offset {offset}"),
        }
    }
}

impl std::error::Error for DerError {}

/// One DER element: tag, the content octets and the whole encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet (single-byte tags only).
    pub tag: u8,
    /// The content octets.
    pub value: &'a [u8],
    /// Identifier, length and content octets: the exact input bytes of the element.
    pub raw: &'a [u8],
    /// Offset of the element within the buffer given to the [`DerReader`] that produced it.
    pub offset: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over this element's content octets (for constructed types).
    pub fn reader(&self) -> DerReader<'a> {
        DerReader::new(self.value)
    }

    /// Fails unless the tag is `expected`.
    pub fn expect(self, expected: u8) -> Result<Self, DerError> {
        if self.tag == expected {
            Ok(self)
        } else {
            Err(DerError::UnexpectedTag { offset: self.offset, expected, found: Some(self.tag) })
        }
    }
}

/// Reads consecutive DER elements from a byte slice.
#[derive(Clone, Debug)]
pub struct DerReader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> DerReader<'a> {
    /// A reader positioned at the start of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Current byte offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// Reads the next element (X.690 §8.1: identifier, definite length, contents).
    pub fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let start = self.pos;
        let rest = &self.input[start.min(self.input.len())..];
        let (&tag, after_tag) = rest.split_first().ok_or(DerError::Truncated { offset: start })?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::Unsupported { offset: start, what: "multi-byte tag" });
        }
        let (&first, after_len0) = after_tag.split_first().ok_or(DerError::Truncated { offset: start })?;
        let (len, len_octets) = if first < 0x80 {
            (first as usize, 0usize)
        } else if first == 0x80 {
            return Err(DerError::Unsupported { offset: start, what: "indefinite length (BER)" });
        } else {
            let n = (first & 0x7f) as usize;
            if n > 4 {
                return Err(DerError::Unsupported { offset: start, what: "length longer than 4 octets" });
            }
            let bytes = after_len0.get(..n).ok_or(DerError::Truncated { offset: start })?;
            if bytes.first() == Some(&0) {
                return Err(DerError::Unsupported { offset: start, what: "non-minimal length" });
            }
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
            if len < 0x80 {
                return Err(DerError::Unsupported { offset: start, what: "non-minimal length" });
            }
            (len, n)
        };
        let header = 2 + len_octets;
        let total = header.checked_add(len).ok_or(DerError::Truncated { offset: start })?;
        let raw = rest.get(..total).ok_or(DerError::Truncated { offset: start })?;
        self.pos = start + total;
        Ok(Tlv { tag, value: &raw[header..], raw, offset: start })
    }

    /// Reads the next element and checks its tag.
    pub fn read_expect(&mut self, expected: u8) -> Result<Tlv<'a>, DerError> {
        match self.peek_tag() {
            Some(t) if t == expected => self.read(),
            found => Err(DerError::UnexpectedTag { offset: self.pos, expected, found }),
        }
    }

    /// Reads the next element if its tag is `tag`.
    pub fn read_optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) { self.read().map(Some) } else { Ok(None) }
    }

    /// Fails if anything is left.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.is_empty() { Ok(()) } else { Err(DerError::TrailingData { offset: self.pos }) }
    }
}

/// Reads exactly one element from `input`, allowing nothing after it.
pub fn parse_single(input: &[u8]) -> Result<Tlv<'_>, DerError> {
    let mut r = DerReader::new(input);
    let tlv = r.read()?;
    r.finish()?;
    Ok(tlv)
}

/// Appends a DER length (X.690 §8.1.3, definite form, minimal octets).
pub fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encodes one element from its tag and content octets.
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_length(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// Encodes a constructed element from already-encoded parts.
pub fn encode_parts(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    push_length(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Encodes a DER `SET OF` (X.690 §11.6: elements sorted by their encodings).
pub fn encode_set_of(mut elements: Vec<Vec<u8>>) -> Vec<u8> {
    elements.sort();
    let parts: Vec<&[u8]> = elements.iter().map(Vec::as_slice).collect();
    encode_parts(tag::SET, &parts)
}

/// Encodes an OBJECT IDENTIFIER.
pub fn encode_oid(oid: &const_oid::ObjectIdentifier) -> Vec<u8> {
    encode(tag::OID, oid.as_bytes())
}

/// Decodes the content octets of an OBJECT IDENTIFIER.
pub fn decode_oid(tlv: &Tlv<'_>) -> Result<const_oid::ObjectIdentifier, DerError> {
    let tlv = tlv.expect(tag::OID)?;
    const_oid::ObjectIdentifier::from_bytes(tlv.value)
        .map_err(|_| DerError::Unsupported { offset: tlv.offset, what: "malformed object identifier" })
}

/// Interprets INTEGER content octets as a small non-negative number.
pub fn decode_small_uint(tlv: &Tlv<'_>) -> Result<u64, DerError> {
    let tlv = tlv.expect(tag::INTEGER)?;
    let v = tlv.value;
    if v.is_empty() || v.len() > 8 || v[0] & 0x80 != 0 {
        return Err(DerError::Unsupported { offset: tlv.offset, what: "integer out of range" });
    }
    Ok(v.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
}

/// Encodes a small non-negative INTEGER.
pub fn encode_small_uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut content = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[skip..]);
    encode(tag::INTEGER, &content)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn unix_seconds(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

fn time_digits(t: std::time::SystemTime) -> (i64, String) {
    let secs = unix_seconds(t);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    (y, format!("{mo:02}{d:02}{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60))
}

/// `t` without its fraction of a second: what a time encoded without fraction (certificate,
/// CRL and OCSP times, RFC 5280 §4.1.2.5, RFC 6960 §4.2.2.1) says.
pub fn whole_seconds(t: std::time::SystemTime) -> std::time::SystemTime {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => std::time::UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

/// A DER GeneralizedTime `YYYYMMDDHHMMSSZ` (X.690 §11.7, RFC 5280 §4.1.2.5.2: UTC, seconds,
/// no fraction). `fraction_millis` adds `.fff` (trailing zeros removed, as DER requires)
/// for RFC 3161 `genTime` (§2.4.2).
pub fn encode_generalized_time(t: std::time::SystemTime, fraction_millis: bool) -> Vec<u8> {
    let (y, rest) = time_digits(t);
    let mut text = format!("{y:04}{rest}");
    if fraction_millis {
        let ms = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_millis()).unwrap_or(0);
        if ms != 0 {
            let f = format!("{ms:03}");
            text.push('.');
            text.push_str(f.trim_end_matches('0'));
        }
    }
    text.push('Z');
    encode(tag::GENERALIZED_TIME, text.as_bytes())
}

/// An X.509 `Time` (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ` for 1950–2049, GeneralizedTime
/// otherwise.
pub fn encode_time(t: std::time::SystemTime) -> Vec<u8> {
    let (y, rest) = time_digits(t);
    if (1950..2050).contains(&y) {
        encode(tag::UTC_TIME, format!("{:02}{rest}Z", y % 100).as_bytes())
    } else {
        encode_generalized_time(t, false)
    }
}

/// Reads a UTCTime or GeneralizedTime element (X.690 §11.7/§11.8): `Z` only, seconds
/// required, an optional fraction (kept to the nanosecond) on GeneralizedTime. UTCTime years
/// 50–99 are 19xx (RFC 5280 §4.1.2.5.1).
pub fn decode_time(tlv: &Tlv<'_>) -> Result<std::time::SystemTime, DerError> {
    let bad = DerError::Unsupported { offset: tlv.offset, what: "malformed UTCTime/GeneralizedTime" };
    let v = tlv.value;
    let (year, rest) = match tlv.tag {
        tag::UTC_TIME if v.len() == 13 => {
            let yy = digits(&v[..2]).ok_or(bad.clone())? as i64;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &v[2..])
        }
        tag::GENERALIZED_TIME if v.len() >= 15 => (digits(&v[..4]).ok_or(bad.clone())? as i64, &v[4..]),
        _ => return Err(bad),
    };
    let field = |i: usize| digits(&rest[i..i + 2]).ok_or(bad.clone());
    let (mo, d, h, mi, s) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad);
    }
    let tail = &rest[10..];
    let (nanos, zone) = match tail.split_first() {
        Some((b'.', frac)) if tlv.tag == tag::GENERALIZED_TIME => {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return Err(bad);
            }
            let mut nanos = digits(&frac[..n]).ok_or(bad.clone())?;
            for _ in n..9 {
                nanos *= 10;
            }
            (nanos as u32, &frac[n..])
        }
        _ => (0, tail),
    };
    if zone != b"Z" {
        return Err(bad);
    }
    let secs = days_from_civil(year, mo as u32, d as u32) * 86_400 + (h * 3600 + mi * 60 + s) as i64;
    let base = if secs >= 0 {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64)
    } else {
        std::time::UNIX_EPOCH - std::time::Duration::from_secs(secs.unsigned_abs())
    };
    Ok(base + std::time::Duration::from_nanos(nanos as u64))
}

/// [`decode_time`] on a whole encoded element.
pub fn decode_time_element(der: &[u8]) -> Result<std::time::SystemTime, DerError> {
    decode_time(&parse_single(der)?)
}

fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u64, |a, c| a * 10 + (c - b'0') as u64))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24] {
            let content = vec![7u8; len];
            let enc = encode(tag::OCTET_STRING, &content);
            let tlv = parse_single(&enc).unwrap();
            assert_eq!(tlv.value.len(), len);
            assert_eq!(tlv.raw, &enc[..]);
        }
    }

    #[test]
    fn hostile_lengths_are_errors() {
        for bad in [
            &[0x30u8][..],
            &[0x30, 0x80, 0, 0],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x81, 0x05, 0, 0, 0, 0, 0],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x1f, 0x01, 0x00],
            &[0x30, 0x82, 0x00, 0x90],
        ] {
            assert!(parse_single(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn small_uint() {
        for v in [0u64, 1, 127, 128, 255, 256, 65536] {
            let enc = encode_small_uint(v);
            assert_eq!(decode_small_uint(&parse_single(&enc).unwrap()).unwrap(), v);
        }
    }

    #[test]
    fn times_round_trip() {
        use std::time::{Duration, UNIX_EPOCH};
        let t = UNIX_EPOCH + Duration::from_secs(1_795_395_661); // 2026-11-23 01:01:01 UTC
        assert_eq!(encode_time(t), encode(tag::UTC_TIME, b"261123010101Z"));
        assert_eq!(decode_time_element(&encode_time(t)).unwrap(), t);
        let far = UNIX_EPOCH + Duration::from_secs(2_556_144_000); // 2051-01-01
        assert_eq!(encode_time(far), encode(tag::GENERALIZED_TIME, b"20510101000000Z"));
        assert_eq!(decode_time_element(&encode_time(far)).unwrap(), far);
        let ms = t + Duration::from_millis(250);
        assert_eq!(encode_generalized_time(ms, true), encode(tag::GENERALIZED_TIME, b"20261123010101.25Z"));
        assert_eq!(decode_time_element(&encode_generalized_time(ms, true)).unwrap(), ms);
        let old = encode(tag::UTC_TIME, b"991231235959Z");
        assert_eq!(decode_time_element(&old).unwrap(), UNIX_EPOCH + Duration::from_secs(946_684_799));
        for bad in [&b"2611230101Z"[..], b"261323010101Z", b"261123010101+0100"] {
            assert!(decode_time_element(&encode(tag::UTC_TIME, bad)).is_err());
        }
    }
}
