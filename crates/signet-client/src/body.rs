//! What goes up ([`Source`]) and where documents come down ([`Sink`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result, copy};

/// A document (or image, or zip) to send.
///
/// ```no_run
/// use std::path::Path;
/// use signet_client::Source;
///
/// let from_disk = Source::from(Path::new("contract.pdf")); // streamed, with its length
/// let bytes = std::fs::read("contract.pdf")?;
/// let from_memory = Source::from(&bytes);
/// let mut stdin = std::io::stdin();
/// let from_a_stream = Source::Reader(&mut stdin); // sent chunked
/// # Ok::<(), std::io::Error>(())
/// ```
pub enum Source<'a> {
    /// A file, streamed from disk with its length (`Content-Length`), never read whole.
    File(&'a Path),
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// A stream of unknown length, sent with chunked transfer encoding.
    Reader(&'a mut dyn Read),
}

impl<'a> From<&'a Path> for Source<'a> {
    fn from(p: &'a Path) -> Self {
        Source::File(p)
    }
}

impl<'a> From<&'a PathBuf> for Source<'a> {
    fn from(p: &'a PathBuf) -> Self {
        Source::File(p)
    }
}

impl<'a> From<&'a [u8]> for Source<'a> {
    fn from(b: &'a [u8]) -> Self {
        Source::Bytes(b)
    }
}

impl<'a> From<&'a Vec<u8>> for Source<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        Source::Bytes(b)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Source<'a> {
    fn from(b: &'a [u8; N]) -> Self {
        Source::Bytes(b)
    }
}

/// Where a document that comes back goes.
///
/// ```no_run
/// use std::path::Path;
/// use signet_client::{Client, Sink};
///
/// let client = Client::new("http://127.0.0.1:8080").with_token("sgk_…");
/// client.document_content("doc_…", Path::new("stored.pdf"))?; // a file, complete or absent
/// let mut bytes = Vec::new();
/// client.document_content("doc_…", &mut bytes)?;
/// client.document_content("doc_…", Sink::Writer(&mut std::io::stdout()))?;
/// # Ok::<(), signet_client::Error>(())
/// ```
pub enum Sink<'a> {
    /// A file: written beside it under a temporary name, renamed into place once the whole
    /// answer arrived (removed when it did not), so that it is complete or absent.
    File(&'a Path),
    /// Any writer, as the bytes arrive.
    Writer(&'a mut dyn Write),
}

impl<'a> From<&'a Path> for Sink<'a> {
    fn from(p: &'a Path) -> Self {
        Sink::File(p)
    }
}

impl<'a> From<&'a PathBuf> for Sink<'a> {
    fn from(p: &'a PathBuf) -> Self {
        Sink::File(p)
    }
}

impl<'a> From<&'a mut Vec<u8>> for Sink<'a> {
    fn from(v: &'a mut Vec<u8>) -> Self {
        Sink::Writer(v)
    }
}

impl<'a> From<&'a mut std::fs::File> for Sink<'a> {
    fn from(f: &'a mut std::fs::File) -> Self {
        Sink::Writer(f)
    }
}

/// Streams the answer's body into `sink`; returns its size.
pub(crate) fn receive(url: &str, resp: ureq::http::Response<ureq::Body>, sink: Sink<'_>) -> Result<u64> {
    let mut reader = resp.into_body().into_reader();
    match sink {
        Sink::Writer(w) => {
            let n = copy(url, &mut reader, w)?;
            w.flush().map_err(|e| Error::io(None, e))?;
            Ok(n)
        }
        Sink::File(path) => {
            let part = part_path(path);
            let result = write_file(url, &mut reader, &part, path);
            if result.is_err() {
                let _ = std::fs::remove_file(&part);
            }
            result
        }
    }
}

fn write_file(url: &str, reader: &mut dyn Read, part: &Path, path: &Path) -> Result<u64> {
    let mut file = std::fs::File::create(part).map_err(|e| Error::io(Some(part), e))?;
    let n = copy(url, reader, &mut file).map_err(|e| match e {
        Error::Io { path: None, source } => Error::io(Some(part), source),
        e => e,
    })?;
    file.flush().map_err(|e| Error::io(Some(part), e))?;
    drop(file);
    std::fs::rename(part, path).map_err(|e| Error::io(Some(path), e))?;
    Ok(n)
}

/// `DIR/.NAME.part-PID-N`: beside the final file (so that the rename stays on one file
/// system), unique within the process.
fn part_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.part-{}-{n}", std::process::id()))
}
