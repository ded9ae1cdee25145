//! Timestamps in PAdES: the signature timestamp that makes B-T (an unsigned attribute over the
//! signature value, ETSI EN 319 142-1 §6.3 and RFC 3161 App. A), and the document timestamp
//! that makes B-LTA (a `/DocTimeStamp` whose `/Contents` is the token itself, ISO 32000-2
//! §12.8.5).

use signet_cms::{ParsedSignedData, oid};
use signet_crypto::DigestAlgorithm;

use crate::error::{Error, Result};
use crate::sign::CmsProvider;

/// A source of RFC 3161 timestamp tokens: a TSA over HTTP, Signet's own TSA in process, a
/// test double.
pub trait Timestamper: Send + Sync {
    /// A verified token (the DER `ContentInfo` of RFC 3161 §2.4.2) whose message imprint is
    /// `imprint`, computed with `alg`.
    fn timestamp(&self, alg: DigestAlgorithm, imprint: &[u8]) -> Result<Vec<u8>>;
}

/// A [`CmsProvider`] that adds a signature timestamp to what `inner` produces: B-B becomes
/// B-T. The imprint is the digest, with the signature's own digest algorithm, of the
/// `SignerInfo.signature` octets (RFC 3161 App. A: "the value of the signature field ...
/// within SignerInfo"); the token goes in the id-aa-signatureTimeStampToken unsigned
/// attribute (ETSI EN 319 122-1 §5.3).
pub struct TimestampedCms<'a> {
    inner: &'a dyn CmsProvider,
    tsa: &'a dyn Timestamper,
}

impl<'a> TimestampedCms<'a> {
    /// Timestamps the signatures of `inner` with `tsa`.
    pub fn new(inner: &'a dyn CmsProvider, tsa: &'a dyn Timestamper) -> Self {
        TimestampedCms { inner, tsa }
    }
}

impl CmsProvider for TimestampedCms<'_> {
    fn estimated_len(&self) -> Result<usize> {
        self.inner.estimated_len()
    }
    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.inner.digest_algorithm()
    }
    fn sign_digest(&self, document_digest: &[u8]) -> Result<Vec<u8>> {
        let der = self.inner.sign_digest(document_digest)?;
        add_signature_timestamp(&der, self.tsa)
    }
}

/// Adds a signature timestamp from `tsa` to the CMS `cms` (DER `ContentInfo`, trailing zero
/// padding allowed).
pub fn add_signature_timestamp(cms: &[u8], tsa: &dyn Timestamper) -> Result<Vec<u8>> {
    let bad = |e: signet_cms::Error| Error::Signature(format!("the CMS to timestamp: {e}"));
    let parsed = ParsedSignedData::parse(cms).map_err(bad)?;
    let alg = parsed.digest_algorithm().map_err(bad)?;
    let token = tsa.timestamp(alg, &alg.digest(&parsed.signature))?;
    signet_cms::add_unsigned_attribute(&cms[..parsed.der_len], &oid::SIGNATURE_TIME_STAMP_TOKEN, &token).map_err(bad)
}

/// Room a timestamp token usually needs: the signed `TSTInfo` plus the TSA's certificate
/// chain. A token that does not fit makes [`crate::sign_update`] prepare once more with
/// the exact size.
pub const TOKEN_ESTIMATE: usize = 8 * 1024;

/// A [`CmsProvider`] whose "CMS" is a timestamp token over the document digest: used with
/// [`crate::SignatureKind::DocTimeStamp`] to write a document timestamp.
pub struct DocTimestampCms<'a> {
    tsa: &'a dyn Timestamper,
    digest: DigestAlgorithm,
}

impl<'a> DocTimestampCms<'a> {
    /// Document timestamps from `tsa` over a `digest` of the byte range.
    pub fn new(tsa: &'a dyn Timestamper, digest: DigestAlgorithm) -> Self {
        DocTimestampCms { tsa, digest }
    }
}

impl CmsProvider for DocTimestampCms<'_> {
    fn estimated_len(&self) -> Result<usize> {
        Ok(TOKEN_ESTIMATE)
    }
    fn reserve(&self) -> usize {
        0
    }
    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }
    fn sign_digest(&self, document_digest: &[u8]) -> Result<Vec<u8>> {
        self.tsa.timestamp(self.digest, document_digest)
    }
}
