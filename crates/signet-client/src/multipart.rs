//! A `multipart/form-data` body (RFC 7578) streamed from its parts: the batch API's form of
//! many PDFs, each read from its file only when its turn comes.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A form being sent.
pub(crate) struct Form {
    boundary: String,
    parts: VecDeque<Part>,
    current: Option<Box<dyn Read + Send>>,
}

enum Part {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Form {
    /// An empty form with a fresh boundary.
    pub(crate) fn new() -> Form {
        Form { boundary: boundary(), parts: VecDeque::new(), current: None }
    }

    /// `multipart/form-data; boundary=…`
    pub(crate) fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// Adds a file part read from `path` when sent, named `file_name`.
    pub(crate) fn file(&mut self, name: &str, file_name: &str, media_type: &str, path: PathBuf) {
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {media_type}\r\n\r\n",
            self.boundary,
            escape(name),
            escape(file_name)
        );
        self.parts.push_back(Part::Bytes(head.into_bytes()));
        self.parts.push_back(Part::File(path));
        self.parts.push_back(Part::Bytes(b"\r\n".to_vec()));
    }

    /// Ends the form: call once, after the last part.
    pub(crate) fn finish(&mut self) {
        self.parts.push_back(Part::Bytes(format!("--{}--\r\n", self.boundary).into_bytes()));
    }

    /// The body's length, from the files' sizes now (sent as `Content-Length`).
    pub(crate) fn len(&self) -> io::Result<u64> {
        let mut total = 0u64;
        for part in &self.parts {
            total += match part {
                Part::Bytes(b) => b.len() as u64,
                Part::File(p) => {
                    std::fs::metadata(p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?.len()
                }
            };
        }
        Ok(total)
    }
}

impl Read for Form {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(r) = &mut self.current {
                let n = r.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
                self.current = None;
            }
            match self.parts.pop_front() {
                None => return Ok(0),
                Some(Part::Bytes(b)) => self.current = Some(Box::new(io::Cursor::new(b))),
                Some(Part::File(p)) => {
                    let f = std::fs::File::open(&p)
                        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
                    self.current = Some(Box::new(io::BufReader::with_capacity(256 * 1024, f)));
                }
            }
        }
    }
}

/// As browsers do: quotes and line breaks of a name percent-encoded.
fn escape(name: &str) -> String {
    name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// A boundary no document is expected to hold (RFC 2046 §5.1.1: at most 70 characters):
/// the time in nanoseconds, the process and a counter, mixed (SplitMix64) into hex.
fn boundary() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut x = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ NEXT.fetch_add(1, Ordering::Relaxed);
    let mut out = String::from("signet-client-");
    for _ in 0..2 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.push_str(&format!("{:016x}", z ^ (z >> 31)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_streams_its_parts_in_order_and_knows_its_length() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let f = dir.path().join("a.pdf");
        std::fs::write(&f, b"%PDF-1.7").unwrap_or_else(|e| unreachable!("{e}"));
        let mut form = Form::new();
        form.file("file", "a \"b\".pdf", "application/pdf", f);
        form.finish();
        let len = form.len().unwrap_or_else(|e| unreachable!("{e}"));
        let b = form.boundary.clone();
        let mut out = String::new();
        form.read_to_string(&mut out).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(out.len() as u64, len);
        assert_eq!(
            out,
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22b%22.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--{b}--\r\n"
            )
        );
        assert_ne!(boundary(), boundary());
    }
}
