//! Stage two and the whole flow: get a CMS for the digest from a [`CmsProvider`], attach it,
//! and write the output, retrying with more room if the CMS did not fit.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use signet_crypto::{DigestAlgorithm, Identity, SignatureScheme};
use signet_pdf::{Document, FileSource, Source};

use crate::error::{Error, Result};
use crate::prepare::{SignatureOptions, hash_original, prepare_hashed};

/// Room reserved in `/Contents`, beyond the CMS itself, for a signature timestamp added
/// later as an unsigned attribute (a token with its TSA chain is typically 3–7 KiB).
pub const TIMESTAMP_RESERVE: usize = 8 * 1024;

/// Produces the CMS `SignedData` for a document digest. A key in this process, an HSM or a
/// remote hash-signing service: the PDF code sees only this.
pub trait CmsProvider {
    /// The DER length the CMS will have, at most (used to size `/Contents`). Called after
    /// the original bytes are hashed, so a provider may still be loading its key until then.
    fn estimated_len(&self) -> Result<usize>;
    /// Room to keep free in `/Contents` beyond [`CmsProvider::estimated_len`]: by default
    /// [`TIMESTAMP_RESERVE`], so a signature timestamp can be added later (by
    /// `signet extend` or another tool) without invalidating anything.
    fn reserve(&self) -> usize {
        TIMESTAMP_RESERVE
    }
    /// The digest algorithm the provider signs with.
    fn digest_algorithm(&self) -> DigestAlgorithm;
    /// Whether the CMS already carries its signature timestamp (a hash-signing service that
    /// timestamps, ETSI EN 319 142-1 §6.3 B-T): then no timestamp is added to it.
    fn timestamps(&self) -> bool {
        false
    }
    /// The CMS for `document_digest` (the digest of the `/ByteRange`).
    fn sign_digest(&self, document_digest: &[u8]) -> Result<Vec<u8>>;
}

/// A [`CmsProvider`] over a signing identity (key + certificate chain), building PAdES
/// baseline B-B `SignedData` (ETSI EN 319 142-1 §6.3).
pub struct IdentityCms<'a> {
    identity: &'a Identity,
    digest: DigestAlgorithm,
    scheme: SignatureScheme,
    estimated: usize,
}

impl<'a> IdentityCms<'a> {
    /// Signs with `identity`, `digest` and `scheme` (None: the key's default scheme).
    pub fn new(identity: &'a Identity, digest: DigestAlgorithm, scheme: Option<SignatureScheme>) -> Self {
        let scheme = scheme.unwrap_or_else(|| identity.key_kind().default_scheme());
        let estimated = signet_cms::estimated_len(identity, digest, scheme);
        IdentityCms { identity, digest, scheme, estimated }
    }
}

impl CmsProvider for IdentityCms<'_> {
    fn estimated_len(&self) -> Result<usize> {
        Ok(self.estimated)
    }
    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }
    fn sign_digest(&self, document_digest: &[u8]) -> Result<Vec<u8>> {
        signet_cms::build_signed_data(self.identity, self.digest, self.scheme, document_digest)
            .map_err(|e| Error::Signature(e.to_string()))
    }
}

/// Prepares, signs and attaches; returns the bytes to append to the original. When the CMS
/// is larger than estimated, prepares again once with the exact size plus the reserve.
pub fn sign_update<S: Source>(
    doc: &mut Document<S>,
    opts: &SignatureOptions,
    cms: &dyn CmsProvider,
) -> Result<(TbsSummary, Vec<u8>)> {
    let mut opts = opts.clone();
    opts.digest = cms.digest_algorithm();
    let original = hash_original(doc, opts.digest, opts.pipelined_hashing)?;
    opts.contents_size = cms.estimated_len()? + cms.reserve();
    for _ in 0..2 {
        let tbs = prepare_hashed(doc, &opts, original.clone())?;
        let der = cms.sign_digest(tbs.digest())?;
        let summary = TbsSummary { byte_range: tbs.byte_range(), field_name: tbs.field_name().to_string() };
        match tbs.attach(&der) {
            Ok(update) => return Ok((summary, update)),
            Err(Error::ContentsTooSmall { needed, .. }) => opts.contents_size = needed + cms.reserve(),
            Err(e) => return Err(e),
        }
    }
    Err(Error::Signature("the CMS kept growing beyond the reserved space".into()))
}

/// What was signed.
#[derive(Clone, Debug)]
pub struct TbsSummary {
    /// The signature's `/ByteRange`.
    pub byte_range: [u64; 4],
    /// The field that holds it.
    pub field_name: String,
}

/// Signs the PDF at `input` into `output`. The output appears only when complete (written
/// to a temporary file beside it, then renamed over `output`). The original bytes are
/// copied by the kernel (`copy_file_range`) on a second thread while this one hashes them,
/// so a large file costs about one read. With `durable`, the data is flushed to the disk
/// (`fdatasync`) before the rename, so a crash cannot leave an empty output; that flush
/// costs as much as the rest of the work on a large file, so it is the caller's choice.
pub fn sign_file(
    input: &Path,
    output: &Path,
    password: Option<&[u8]>,
    opts: &SignatureOptions,
    cms: &dyn CmsProvider,
    durable: bool,
) -> Result<TbsSummary> {
    let mut tmp = create_temp(output)?;
    let summary = sign_into(input, tmp.as_file_mut(), password, opts, cms)?;
    persist(tmp, output, durable)?;
    Ok(summary)
}

/// A private temporary file beside `output`, removed unless [`persist`]ed.
pub(crate) fn create_temp(output: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".signet-")
        .suffix(".pdf.part")
        .tempfile_in(dir)
        .map_err(|e| io_context(e, "cannot create a temporary file in", dir))
}

/// Copies `input` into the empty `out` while signing it, then appends the signature update.
pub(crate) fn sign_into(
    input: &Path,
    out: &mut File,
    password: Option<&[u8]>,
    opts: &SignatureOptions,
    cms: &dyn CmsProvider,
) -> Result<TbsSummary> {
    let src = File::open(input).map_err(|e| io_context(e, "cannot open", input))?;
    let copy_src = src.try_clone()?;
    let copy_dst = out.try_clone()?;
    let (summary, update) = std::thread::scope(|s| -> Result<(TbsSummary, Vec<u8>)> {
        let copier = s.spawn(move || -> io::Result<u64> {
            signet_crypto::warm_up();
            let (mut r, mut w) = (copy_src, copy_dst);
            io::copy(&mut r, &mut w)
        });
        // two threads for two cores: this one reads and hashes, the other copies
        let opts = SignatureOptions { pipelined_hashing: false, ..opts.clone() };
        let signed = Document::open(FileSource::new(src)?, password)
            .map_err(Error::from)
            .and_then(|mut doc| sign_update(&mut doc, &opts, cms));
        let copied = copier.join().map_err(|_| Error::Signature("the copy thread panicked".into()))??;
        let signed = signed?;
        if copied + (signed.1.len() as u64) != signed.0.byte_range[2] + signed.0.byte_range[3] {
            return Err(Error::Io(io::Error::other("the input changed while it was being signed")));
        }
        Ok(signed)
    })?;
    out.write_all(&update)?;
    Ok(summary)
}

/// Makes the finished temporary file the output: an ordinary 0644 file, flushed to the disk
/// first when `durable`, renamed over `output`.
pub(crate) fn persist(tmp: tempfile::NamedTempFile, output: &Path, durable: bool) -> Result<()> {
    // the temporary file is private (0600); the signed document is an ordinary file
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    if durable {
        tmp.as_file().sync_data()?;
    }
    tmp.persist(output).map_err(|e| io_context(e.error, "cannot write", output))?;
    Ok(())
}

pub(crate) fn io_context(e: io::Error, what: &str, path: &Path) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("{what} {}: {e}", path.display())))
}
