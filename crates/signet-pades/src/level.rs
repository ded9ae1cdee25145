//! PAdES baseline levels (ETSI EN 319 142-1 §6): signing at B-B, B-T, B-LT or B-LTA, and
//! extending an already-signed document, ours or another tool's, to B-LT or B-LTA.
//!
//! - B-T: a signature timestamp (an unsigned attribute over the signature value), or, for a
//!   document extended later, a document timestamp over the signed revision.
//! - B-LT: a later revision adds a DSS with every certificate, OCSP response and CRL needed
//!   to validate the signer chain and the timestamp chains offline.
//! - B-LTA: a document timestamp over the revision holding that DSS, then (when its own chain
//!   needs anything new) one more DSS for it.
//!
//! Every step is an incremental update: earlier bytes, earlier signatures, stay untouched.
//! The output is written to a temporary file beside `output` and renamed over it only when
//! every step has succeeded, so a TSA or OCSP failure never leaves a half-made file; a small
//! document held in memory is signed the same way into a buffer ([`sign_bytes_at_level`]).

use std::fmt;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::str::FromStr;
use std::time::SystemTime;

use signet_cms::{ParsedSignedData, oid};
use signet_crypto::DigestAlgorithm;
use signet_pdf::{Document, FileSource, Object, Source, form};

use crate::dss::dss_update;
use crate::error::{Error, Result};
use crate::fetch::{Fetcher, TsaClient};
use crate::ltv::{Revocation, ValidationData, collect};
use crate::prepare::{SignatureKind, SignatureOptions};
use crate::sign::{CmsProvider, TbsSummary, create_temp, persist, sign_into, sign_update};
use crate::timestamp::{DocTimestampCms, TimestampedCms, Timestamper};

/// A PAdES baseline level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// B-B: the signature alone.
    BB,
    /// B-T: plus a trusted time for the signature.
    BT,
    /// B-LT: plus the validation data in the DSS.
    BLT,
    /// B-LTA: plus a document timestamp over the validation data.
    BLTA,
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_uppercase().replace('_', "-").as_str() {
            "B-B" | "BB" => Ok(Level::BB),
            "B-T" | "BT" => Ok(Level::BT),
            "B-LT" | "BLT" => Ok(Level::BLT),
            "B-LTA" | "BLTA" => Ok(Level::BLTA),
            _ => Err(format!("unknown PAdES level '{s}' (b-b, b-t, b-lt or b-lta)")),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLT => "B-LT",
            Level::BLTA => "B-LTA",
        })
    }
}

/// Finds the validation data for certificates: issuers (from what is given or by AIA),
/// OCSP responses and CRLs, up to trust anchors. Implementations must fail, naming the
/// certificate, rather than return data that leaves a path unverifiable.
pub trait ValidationSource: Send + Sync {
    /// Validation data for the paths of every certificate in `leaves`, using `certs` as
    /// candidate issuers. Revocation data should be produced at or after `at` (the time the
    /// signature is proven to have existed), so that past validation can use it
    /// (ETSI EN 319 102-1 §5.6.2.4 / §5.2.5).
    fn collect(&self, leaves: &[Vec<u8>], certs: &[Vec<u8>], at: SystemTime) -> Result<ValidationData>;
}

impl Timestamper for TsaClient<'_> {
    fn timestamp(&self, alg: DigestAlgorithm, imprint: &[u8]) -> Result<Vec<u8>> {
        TsaClient::timestamp(self, alg, imprint).map(|t| t.der).map_err(|e| Error::Timestamp(e.to_string()))
    }
}

/// A [`ValidationSource`] that fetches what is missing over the network ([`collect`]): issuer
/// certificates from AIA, OCSP responses, CRLs.
pub struct OnlineValidation<'a> {
    fetcher: &'a dyn Fetcher,
    anchors: Vec<Vec<u8>>,
    policy: Revocation,
}

impl<'a> OnlineValidation<'a> {
    /// Collects through `fetcher` up to `anchors`; with no anchors given, up to the
    /// self-signed certificates the signature and timestamp tokens carry.
    pub fn new(fetcher: &'a dyn Fetcher, anchors: Vec<Vec<u8>>, policy: Revocation) -> Self {
        OnlineValidation { fetcher, anchors, policy }
    }
}

impl ValidationSource for OnlineValidation<'_> {
    fn collect(&self, leaves: &[Vec<u8>], certs: &[Vec<u8>], at: SystemTime) -> Result<ValidationData> {
        let self_signed;
        let anchors = if self.anchors.is_empty() {
            self_signed = leaves
                .iter()
                .chain(certs)
                .filter(|c| signet_cms::CertView::parse(c).is_ok_and(|v| v.is_self_issued()))
                .cloned()
                .collect::<Vec<_>>();
            &self_signed
        } else {
            &self.anchors
        };
        collect(leaves, certs, anchors, self.fetcher, at, self.policy).map_err(|e| Error::Validation(e.to_string()))
    }
}

/// The services a level above B-B needs.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    /// Timestamps (B-T and above).
    pub tsa: Option<&'a dyn Timestamper>,
    /// Validation data (B-LT and above).
    pub validation: Option<&'a dyn ValidationSource>,
    /// Digest algorithm of document timestamps.
    pub timestamp_digest: DigestAlgorithm,
}

impl<'a> Services<'a> {
    fn tsa(&self, level: Level) -> Result<&'a dyn Timestamper> {
        self.tsa.ok_or_else(|| Error::Refused(format!("{level} needs a timestamp authority (--tsa URL)")))
    }
    fn validation(&self, level: Level) -> Result<&'a dyn ValidationSource> {
        self.validation.ok_or_else(|| Error::Refused(format!("{level} needs a source of validation data")))
    }
}

/// Signs `input` into `output` at `level`. See [`crate::sign_file`] for the streaming and
/// atomicity guarantees; the levels above B-T append the DSS and timestamp updates before
/// the output appears. Returns what was signed and the validation-data findings that did not
/// stop the signing (e.g. revocation data older than the signature timestamp).
#[allow(clippy::too_many_arguments)]
pub fn sign_file_at_level(
    input: &Path,
    output: &Path,
    password: Option<&[u8]>,
    opts: &SignatureOptions,
    cms: &dyn CmsProvider,
    level: Level,
    services: Services<'_>,
    durable: bool,
) -> Result<(TbsSummary, Vec<String>)> {
    with_level_cms(cms, level, services, |cms| {
        let mut tmp = create_temp(output)?;
        let summary = sign_into(input, tmp.as_file_mut(), password, opts, cms)?;
        let notes = complete_level(tmp.as_file_mut(), &summary, password, level, services)?;
        persist(tmp, output, durable)?;
        Ok((summary, notes))
    })
}

/// Runs `sign` with the CMS provider `level` needs: `cms` itself, or wrapped to add the
/// signature timestamp from B-T when `cms` does not add it; refuses first what the level
/// needs and `services` lack (a TSA from B-T, a source of validation data from B-LT).
fn with_level_cms<T>(
    cms: &dyn CmsProvider,
    level: Level,
    services: Services<'_>,
    sign: impl FnOnce(&dyn CmsProvider) -> Result<T>,
) -> Result<T> {
    let tsa = if level >= Level::BT && !cms.timestamps() { Some(services.tsa(level)?) } else { None };
    if level >= Level::BLT {
        services.validation(level)?;
    }
    match tsa {
        Some(tsa) => sign(&TimestampedCms::new(cms, tsa)),
        None => sign(cms),
    }
}

/// [`sign_file_at_level`] for a document held in memory (a small upload): the same steps on
/// a buffer, without temporary files or a copying thread. Returns the signed document
/// (`input` followed by the updates), what was signed and the notes.
pub fn sign_bytes_at_level(
    input: &[u8],
    password: Option<&[u8]>,
    opts: &SignatureOptions,
    cms: &dyn CmsProvider,
    level: Level,
    services: Services<'_>,
) -> Result<(Vec<u8>, TbsSummary, Vec<String>)> {
    with_level_cms(cms, level, services, |cms| {
        let (summary, update) = sign_update(&mut Document::open(input, password)?, opts, cms)?;
        let mut out = Vec::with_capacity(input.len() + update.len());
        out.extend_from_slice(input);
        out.extend_from_slice(&update);
        let notes = complete_level(&mut out, &summary, password, level, services)?;
        Ok((out, summary, notes))
    })
}

/// The steps after the signature itself: from B-LT the DSS with the signature's validation
/// data, for B-LTA the archive timestamp and its own validation data.
fn complete_level<G: Growing>(
    out: &mut G,
    summary: &TbsSummary,
    password: Option<&[u8]>,
    level: Level,
    services: Services<'_>,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if level >= Level::BLT {
        let mut doc = out.document(password)?;
        let sig = read_signature(&mut doc, &summary.field_name)?;
        let at = sig.timestamp_time.unwrap_or_else(SystemTime::now);
        let data = services.validation(level)?.collect(&sig.leaves, &sig.certs, at)?;
        out.append(dss_update(&mut doc, &data)?)?;
        notes.extend(data.notes);
        if level >= Level::BLTA {
            notes.extend(add_archive_timestamp(out, password, services)?);
        }
    }
    Ok(notes)
}

/// A signed document that later updates are appended to: the temporary file of a file
/// signing, or the buffer of an in-memory one.
trait Growing {
    /// How the document is read.
    type Src: Source;
    /// The document as it is now.
    fn document(&mut self, password: Option<&[u8]>) -> Result<Document<Self::Src>>;
    /// Appends `update`, if any.
    fn append(&mut self, update: Option<Vec<u8>>) -> Result<()>;
}

impl Growing for File {
    type Src = FileSource;
    fn document(&mut self, password: Option<&[u8]>) -> Result<Document<FileSource>> {
        Ok(Document::open(FileSource::new(self.try_clone()?)?, password)?)
    }
    fn append(&mut self, update: Option<Vec<u8>>) -> Result<()> {
        if let Some(bytes) = update {
            self.seek(SeekFrom::End(0))?;
            self.write_all(&bytes)?;
        }
        Ok(())
    }
}

impl Growing for Vec<u8> {
    /// A copy: the document reads a snapshot while the buffer may grow (small documents only
    /// take this path, so the copy is cheap).
    type Src = Vec<u8>;
    fn document(&mut self, password: Option<&[u8]>) -> Result<Document<Vec<u8>>> {
        Ok(Document::open(self.clone(), password)?)
    }
    fn append(&mut self, update: Option<Vec<u8>>) -> Result<()> {
        if let Some(bytes) = update {
            self.extend_from_slice(&bytes);
        }
        Ok(())
    }
}

/// What an extension did.
#[derive(Clone, Debug, Default)]
pub struct ExtendSummary {
    /// Signatures and document timestamps whose validation data was gathered.
    pub signatures: usize,
    /// Certificates, OCSP responses and CRLs added to the DSS.
    pub added: (usize, usize, usize),
    /// Whether a document timestamp was added first to give B-B signatures a trusted time.
    pub time_mark_added: bool,
    /// Whether an archive document timestamp was added.
    pub archive_timestamp_added: bool,
    /// Findings that did not stop the extension (e.g. revocation data older than a
    /// signature's timestamp).
    pub notes: Vec<String>,
}

/// Extends every signature of `input` to `level` (B-LT or B-LTA) into `output`: signatures
/// without a signature timestamp first get a document timestamp (B-T by document timestamp,
/// ETSI EN 319 142-1 §6.2.2), then the DSS receives the validation data of every signature
/// and timestamp chain, then, for B-LTA, an archive document timestamp (and the DSS data of
/// its chain). Run again before the last timestamp's certificate expires, it adds fresh
/// validation data and a new archive timestamp, renewing the archive.
pub fn extend_file(
    input: &Path,
    output: &Path,
    password: Option<&[u8]>,
    level: Level,
    services: Services<'_>,
    durable: bool,
) -> Result<ExtendSummary> {
    if level < Level::BLT {
        return Err(Error::Refused(format!(
            "extend adds validation data: the level must be B-LT or B-LTA, not {level}"
        )));
    }
    let validation = services.validation(level)?;
    let tsa = services.tsa(level)?;
    let mut tmp = create_temp(output)?;
    let file = tmp.as_file_mut();
    let mut src = File::open(input).map_err(|e| crate::sign::io_context(e, "cannot open", input))?;
    std::io::copy(&mut src, file)?;
    let mut summary = ExtendSummary::default();

    let mut sigs = all_signatures(&mut file.document(password)?)?;
    if sigs.is_empty() {
        return Err(Error::Refused("the document has no signature to extend".into()));
    }
    if sigs.iter().any(|s| !s.doc_timestamp && s.timestamp_time.is_none()) && !sigs.iter().any(|s| s.doc_timestamp) {
        add_doc_timestamp(file, password, tsa, services.timestamp_digest)?;
        summary.time_mark_added = true;
        sigs = all_signatures(&mut file.document(password)?)?;
    }
    summary.signatures = sigs.len();
    let mut data = ValidationData::default();
    for s in &sigs {
        let at = s.timestamp_time.unwrap_or_else(SystemTime::now);
        merge(&mut data, validation.collect(&s.leaves, &s.certs, at)?);
    }
    let mut doc = file.document(password)?;
    let before = dss_counts(&mut doc)?;
    file.append(dss_update(&mut doc, &data)?)?;
    summary.notes.extend(data.notes);
    if level >= Level::BLTA {
        summary.notes.extend(add_archive_timestamp(file, password, services)?);
        summary.archive_timestamp_added = true;
    }
    let after = dss_counts(&mut file.document(password)?)?;
    summary.added = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
    persist(tmp, output, durable)?;
    Ok(summary)
}

/// Seals `input` with a document timestamp (ISO 32000-2 §12.8.5, `/SubFilter /ETSI.RFC3161`)
/// and the validation data of its chain in the DSS (ETSI EN 319 142-1 §5.5, the document
/// timestamp of B-LTA), into `output`. For a document that carries no signature of its own (a
/// report, a receipt): afterwards any change to it shows, it is dated by the TSA, and it can be
/// verified long after. Existing signatures are left as they are ([`extend_file`] extends
/// them). Returns the findings that did not stop it, as [`ExtendSummary::notes`].
pub fn timestamp_file(
    input: &Path,
    output: &Path,
    password: Option<&[u8]>,
    services: Services<'_>,
    durable: bool,
) -> Result<Vec<String>> {
    services.tsa(Level::BLTA)?;
    services.validation(Level::BLTA)?;
    let mut tmp = create_temp(output)?;
    let file = tmp.as_file_mut();
    let mut src = File::open(input).map_err(|e| crate::sign::io_context(e, "cannot open", input))?;
    std::io::copy(&mut src, file)?;
    let notes = add_archive_timestamp(file, password, services)?;
    persist(tmp, output, durable)?;
    Ok(notes)
}

/// Appends a document timestamp, then the validation data of its chain when the DSS lacks it.
fn add_archive_timestamp<G: Growing>(
    out: &mut G,
    password: Option<&[u8]>,
    services: Services<'_>,
) -> Result<Vec<String>> {
    let level = Level::BLTA;
    let field = add_doc_timestamp(out, password, services.tsa(level)?, services.timestamp_digest)?;
    let mut doc = out.document(password)?;
    let ts = read_signature(&mut doc, &field)?;
    let at = ts.timestamp_time.unwrap_or_else(SystemTime::now);
    let data = services.validation(level)?.collect(&ts.leaves, &ts.certs, at)?;
    out.append(dss_update(&mut doc, &data)?)?;
    Ok(data.notes)
}

fn add_doc_timestamp<G: Growing>(
    out: &mut G,
    password: Option<&[u8]>,
    tsa: &dyn Timestamper,
    digest: DigestAlgorithm,
) -> Result<String> {
    let mut doc = out.document(password)?;
    let opts = SignatureOptions { kind: SignatureKind::DocTimeStamp, digest, ..SignatureOptions::default() };
    let (summary, update) = sign_update(&mut doc, &opts, &DocTimestampCms::new(tsa, digest))?;
    out.append(Some(update))?;
    Ok(summary.field_name)
}

/// Appends `other`'s items that `data` lacks.
fn merge(data: &mut ValidationData, other: ValidationData) {
    for (mine, theirs) in [(&mut data.certs, other.certs), (&mut data.ocsps, other.ocsps), (&mut data.crls, other.crls)]
    {
        for item in theirs {
            if !mine.contains(&item) {
                mine.push(item);
            }
        }
    }
    data.notes.extend(other.notes);
}

fn dss_counts<S: Source>(doc: &mut Document<S>) -> Result<(usize, usize, usize)> {
    let cat = doc.catalog()?;
    let Some(Object::Dict(dss)) = doc.resolve_key(&cat, "DSS")? else { return Ok((0, 0, 0)) };
    let mut n = [0usize; 3];
    for (i, key) in ["Certs", "OCSPs", "CRLs"].iter().enumerate() {
        if let Some(Object::Array(a)) = doc.resolve_key(&dss, key)? {
            n[i] = a.len();
        }
    }
    Ok((n[0], n[1], n[2]))
}

/// What validation needs from one signature or document timestamp.
#[derive(Clone, Debug)]
pub struct SignatureCerts {
    /// The field's name.
    pub field: String,
    /// Whether this is a document timestamp.
    pub doc_timestamp: bool,
    /// The certificates whose paths must be validated: the signer's, and the TSA's of any
    /// signature timestamp.
    pub leaves: Vec<Vec<u8>>,
    /// Every certificate the CMS structures carry (candidate issuers).
    pub certs: Vec<Vec<u8>>,
    /// genTime of the signature timestamp (or of the document timestamp itself).
    pub timestamp_time: Option<SystemTime>,
}

/// The signer and timestamp certificates of every signed signature field.
pub fn all_signatures<S: Source>(doc: &mut Document<S>) -> Result<Vec<SignatureCerts>> {
    let mut out = Vec::new();
    for f in form::fields(doc)? {
        if f.is_signature()
            && let Some(value) = &f.value
        {
            out.push(signature_certs(doc, &f.name, value)?);
        }
    }
    Ok(out)
}

/// Reads the CMS of the signature in field `name`.
pub fn read_signature<S: Source>(doc: &mut Document<S>, name: &str) -> Result<SignatureCerts> {
    let fields = form::fields(doc)?;
    let field = fields
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| Error::Refused(format!("no signature field named '{name}'")))?;
    let value = field.value.clone().ok_or_else(|| Error::Refused(format!("field '{name}' is not signed")))?;
    signature_certs(doc, name, &value)
}

/// The certificates of the signature dictionary `value` (a field's `/V`).
fn signature_certs<S: Source>(doc: &mut Document<S>, name: &str, value: &Object) -> Result<SignatureCerts> {
    let sig = doc.resolve(value)?;
    let sig = sig.as_dict().ok_or_else(|| Error::Refused(format!("field '{name}': /V is not a dictionary")))?;
    let contents = sig
        .get("Contents")
        .and_then(Object::as_str)
        .ok_or_else(|| Error::Refused(format!("field '{name}': the signature has no /Contents")))?;
    cms_certs(name, contents)
}

/// The certificates of a CMS `SignedData` (a signature's or a document timestamp's): what
/// [`ValidationSource::collect`] needs. `name` labels errors (a field name, or "the CMS").
pub fn cms_certs(name: &str, contents: &[u8]) -> Result<SignatureCerts> {
    let bad = |e: signet_cms::Error| Error::Refused(format!("field '{name}': {e}"));
    let cms = ParsedSignedData::parse(contents).map_err(bad)?;
    let doc_timestamp = cms.content_type == oid::TST_INFO;
    let mut leaves: Vec<Vec<u8>> = cms.signer_certificate.iter().cloned().collect();
    let mut certs = cms.certificates.clone();
    let mut timestamp_time = None;
    if doc_timestamp {
        timestamp_time = Some(gen_time(&cms).map_err(bad)?);
    } else if let Some(attr) = cms.unsigned_attribute(&oid::SIGNATURE_TIME_STAMP_TOKEN) {
        for token in &attr.values {
            let tst = ParsedSignedData::parse(token).map_err(bad)?;
            let t = gen_time(&tst).map_err(bad)?;
            timestamp_time = Some(timestamp_time.map_or(t, |old: SystemTime| old.min(t)));
            leaves.extend(tst.signer_certificate.iter().cloned());
            certs.extend(tst.certificates.iter().cloned());
        }
    }
    if leaves.is_empty() {
        return Err(Error::Refused(format!("field '{name}': the signer's certificate is not in the signature")));
    }
    Ok(SignatureCerts { field: name.to_string(), doc_timestamp, leaves, certs, timestamp_time })
}

/// `TSTInfo.genTime` (RFC 3161 §2.4.2) of a parsed timestamp token.
fn gen_time(token: &ParsedSignedData) -> std::result::Result<SystemTime, signet_cms::Error> {
    if token.content_type != oid::TST_INFO {
        return Err(signet_cms::Error::Invalid(format!("timestamp token content type is {}", token.content_type)));
    }
    let info = token
        .econtent
        .as_deref()
        .ok_or_else(|| signet_cms::Error::Invalid("the timestamp token holds no TSTInfo".into()))?;
    Ok(signet_cms::tsp::TstInfo::parse(info)?.gen_time)
}
