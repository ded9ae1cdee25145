#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod changes;
pub mod report;
mod signature;

use std::time::SystemTime;

use signet_pdf::{Document, Source, form};

pub use report::{Coverage, Report, SignatureReport};

/// What to validate against.
#[derive(Clone, Debug)]
pub struct ValidationOptions {
    /// Trust anchors (DER certificates). Without any, no signature is trusted.
    pub trust_anchors: Vec<Vec<u8>>,
    /// Password of an encrypted document.
    pub password: Option<Vec<u8>>,
    /// Validation time for certificate validity.
    pub at: SystemTime,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions { trust_anchors: Vec::new(), password: None, at: SystemTime::now() }
    }
}

/// Why a document could not be validated at all (it could not be read).
pub type Error = signet_pdf::Error;

/// Validates every signature in the document at `src`.
pub fn validate<S: Source + Clone>(src: S, opts: &ValidationOptions) -> Result<Report, Error> {
    let mut doc = Document::open(src.clone(), opts.password.as_deref())?;
    let fields = form::fields(&mut doc)?;
    let mut signatures = Vec::new();
    for field in fields.iter().filter(|f| f.is_signature()) {
        let Some(value) = &field.value else { continue };
        signatures.push(signature::check(&mut doc, &src, field, value, opts));
    }
    signatures.sort_by_key(|s| s.byte_range.map_or(u64::MAX, |b| b[2] + b[3]));
    Ok(Report { file_size: doc.len(), signatures })
}
