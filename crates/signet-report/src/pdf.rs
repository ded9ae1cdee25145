//! A small writer for a complete PDF file (ISO 32000-2 §7.5): header, numbered objects in
//! order, a cross-reference table and a trailer. Objects are given as PDF source text;
//! streams are Flate-compressed here.

use std::fmt;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use sha2::{Digest, Sha256};

/// An indirect reference to an object of the file being written; displays as `N 0 R`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ref(u32);

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} 0 R", self.0)
    }
}

/// The objects of a file, numbered from 1 in the order they were added or reserved.
#[derive(Default)]
pub(crate) struct PdfWriter {
    objects: Vec<Option<Vec<u8>>>,
}

impl PdfWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A number for an object written later with [`set_object`](Self::set_object), for
    /// objects that are referred to before they can be written (the page tree, fonts).
    pub(crate) fn reserve(&mut self) -> Ref {
        self.objects.push(None);
        Ref(self.objects.len() as u32)
    }

    pub(crate) fn set_object(&mut self, r: Ref, body: &str) {
        if let Some(slot) = self.objects.get_mut(r.0 as usize - 1) {
            *slot = Some(body.as_bytes().to_vec());
        }
    }

    pub(crate) fn add_object(&mut self, body: &str) -> Ref {
        self.objects.push(Some(body.as_bytes().to_vec()));
        Ref(self.objects.len() as u32)
    }

    /// A Flate-compressed stream; `extra` holds further dictionary entries (`/Length1 …`).
    pub(crate) fn add_stream(&mut self, extra: &str, data: &[u8]) -> Ref {
        let (data, filter) = match deflate(data) {
            Some(compressed) => (compressed, " /Filter /FlateDecode"),
            // compressing into memory does not fail; should it, the stream goes plain
            None => (data.to_vec(), ""),
        };
        let sep = if extra.is_empty() { "" } else { " " };
        let mut body = format!("<< /Length {}{filter}{sep}{extra} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\nendstream");
        self.objects.push(Some(body));
        Ref(self.objects.len() as u32)
    }

    /// The whole file. The `/ID` is derived from the file's body, so equal documents get
    /// equal files. A reserved object never set is written as `null` (a bug, but the file
    /// stays well formed).
    pub(crate) fn finish(self, root: Ref, info: Ref) -> Vec<u8> {
        debug_assert!(self.objects.iter().all(Option::is_some), "a reserved PDF object was never written");
        // A comment line with bytes above 127 marks the file as binary (§7.5.2).
        let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (i, body) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body.as_deref().unwrap_or(b"null"));
            out.extend_from_slice(b"\nendobj\n");
        }
        let id = hex::encode_upper(&Sha256::digest(&out)[..16]);
        let xref_offset = out.len();
        let size = self.objects.len() + 1;
        // Each entry is exactly 20 bytes, its end of line two bytes (§7.5.4).
        let mut xref = format!("xref\n0 {size}\n0000000000 65535 f\r\n");
        for offset in offsets {
            xref.push_str(&format!("{offset:010} 00000 n\r\n"));
        }
        xref.push_str(&format!(
            "trailer\n<< /Size {size} /Root {root} /Info {info} /ID [<{id}> <{id}>] >>\nstartxref\n{xref_offset}\n%%EOF\n"
        ));
        out.extend_from_slice(xref.as_bytes());
        out
    }
}

fn deflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = ZlibEncoder::new(Vec::with_capacity(data.len() / 2), Compression::default());
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

/// A text string (§7.9.2.2) in UTF-16BE with its byte order mark, as a hex string.
pub(crate) fn text_string(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in s.encode_utf16() {
        out.push_str(&format!("{unit:04X}"));
    }
    out.push('>');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xref_offsets_point_at_objects() {
        let mut pdf = PdfWriter::new();
        let root = pdf.reserve();
        let info = pdf.add_object("<< /Producer (test) >>");
        let pages = pdf.add_object("<< /Type /Pages /Kids [] /Count 0 >>");
        pdf.set_object(root, &format!("<< /Type /Catalog /Pages {pages} >>"));
        let file = pdf.finish(root, info);
        let tail_at = file.windows(10).rposition(|w| w == b"startxref\n").unwrap_or(0);
        let tail = std::str::from_utf8(&file[tail_at..]).unwrap_or("");
        let xref_at: usize = tail.lines().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let xref = std::str::from_utf8(&file[xref_at..]).unwrap_or("");
        assert!(xref.starts_with("xref\n0 4\n0000000000 65535 f\r\n"), "{xref}");
        for (i, entry) in xref.split('\n').skip(3).take(3).enumerate() {
            assert_eq!(entry.len(), 19, "{entry:?}"); // and the \n: 20
            let offset: usize = entry[..10].parse().unwrap_or(0);
            assert!(file[offset..].starts_with(format!("{} 0 obj\n", i + 1).as_bytes()), "{entry}");
        }
        assert_eq!(text_string("签A"), "<FEFF7B7E0041>");
    }
}
