//! Base32 (RFC 4648 §6), the encoding of TOTP secrets in authenticator apps, without
//! padding.

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes bytes as upper-case base32 without `=` padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[usize::from((buffer >> bits) & 0x1f)]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[usize::from((buffer << (5 - bits)) & 0x1f)]));
    }
    out
}

/// Decodes base32 as people type it: either case, spaces and dashes ignored, trailing `=`
/// padding allowed. `None` for any other character or a length no encoding produces.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u16 = 0;
    let mut bits = 0u32;
    let mut symbols = 0usize;
    let mut padding = false;
    for c in text.chars() {
        match c {
            ' ' | '-' => continue,
            '=' => {
                padding = true;
                continue;
            }
            _ if padding => return None,
            _ => {}
        }
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u16 - u16::from(b'A'),
            c @ '2'..='7' => c as u16 - u16::from(b'2') + 26,
            _ => return None,
        };
        symbols += 1;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // Truncation to the low byte is the point.
            out.push((buffer >> bits) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    // RFC 4648 §6: a final quantum is 2, 4, 5 or 7 symbols.
    if matches!(symbols % 8, 1 | 3 | 6) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10 test vectors, padding removed.
    #[test]
    fn rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(decode("MZXW6YQ=").unwrap(), b"foob");
        assert_eq!(decode("mzxw 6ytb-oi").unwrap(), b"foobar");
    }

    #[test]
    fn refuses_what_no_encoder_writes() {
        assert_eq!(decode("MZXW6YT1"), None);
        assert_eq!(decode("M"), None);
        assert_eq!(decode("MZX"), None);
        assert_eq!(decode("MZ=XQ"), None);
        assert_eq!(decode("MZXW6é"), None);
    }

    #[test]
    fn round_trips_every_length() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        for len in 0..40 {
            assert_eq!(decode(&encode(&bytes[..len])).unwrap(), &bytes[..len]);
        }
    }
}
