//! Signing: the agent (a PDF in, the signed PDF out), the hash-signing API, batches, and
//! verification.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::multipart::Form;
use crate::operations::*;
use crate::{Client, Payload, Query, Result, Sink, Source};

/// A PAdES baseline level (ETSI EN 319 142-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Level {
    /// B-B: the signature alone.
    #[serde(rename = "B-B", alias = "b-b")]
    BB,
    /// B-T: plus a signature timestamp.
    #[serde(rename = "B-T", alias = "b-t")]
    BT,
    /// B-LT: plus the validation data (certificates, OCSP responses, CRLs).
    #[serde(rename = "B-LT", alias = "b-lt")]
    BLt,
    /// B-LTA: plus a document timestamp over the validation data.
    #[serde(rename = "B-LTA", alias = "b-lta")]
    BLta,
    /// A level this version of the client does not know (never sent).
    #[serde(other)]
    Other,
}

impl Level {
    /// As the API's options write it: `b-b`, `b-t`, `b-lt`, `b-lta`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::BB => "b-b",
            Level::BT => "b-t",
            Level::BLt => "b-lt",
            Level::BLta => "b-lta",
            Level::Other => "",
        }
    }
}

/// A certification signature's DocMDP permissions (ISO 32000-2 §12.8.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Certification {
    /// P=1: no change at all.
    NoChanges,
    /// P=2: filling in forms and signing.
    FormFilling,
    /// P=3: also annotations.
    Annotations,
}

impl Certification {
    /// `no-changes`, `form-filling` or `annotations`.
    pub fn as_str(self) -> &'static str {
        match self {
            Certification::NoChanges => "no-changes",
            Certification::FormFilling => "form-filling",
            Certification::Annotations => "annotations",
        }
    }
}

/// A digest algorithm of the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256 (the default).
    #[default]
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// `sha256`, `sha384` or `sha512`.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }
}

/// How the agent signs: who signs (an identity, or a seal under a grant), where the
/// signature shows, and what it says. Sent as the query string.
///
/// ```
/// use signet_client::{Level, SignOptions};
///
/// let options = SignOptions {
///     template: Some("first-and-last".into()),
///     level: Some(Level::BT),
///     reason: Some("Approved".into()),
///     ..SignOptions::with_identity("company-seal")
/// };
/// let visible = SignOptions {
///     page: Some(-1),
///     rect: Some([380.0, 40.0, 560.0, 140.0]),
///     text: vec!["ACME Ltd.".into(), "Approved".into()],
///     ..SignOptions::with_seal("seal_…")
/// };
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignOptions {
    /// The signing identity's name (or give `seal`).
    pub identity: Option<String>,
    /// Sign with this seal (`seal_…`): its identity signs and, at `page`/`rect` without an
    /// `image`, its image shows. Needs a grant to use the seal.
    pub seal: Option<String>,
    /// The approved seal-use request (`srq_…`), when the grant asks for one per use.
    pub seal_request: Option<String>,
    /// A template's name: the signature shows at each of its placements.
    pub template: Option<String>,
    /// A stored seal image (`img_…`) for a visible signature at `page`/`rect`.
    pub image: Option<String>,
    /// 1-based page (negative: from the end). Default 1.
    pub page: Option<i64>,
    /// `[x1, y1, x2, y2]` in PDF points on the page as displayed: a visible signature.
    pub rect: Option<[f64; 4]>,
    /// Appearance text, one line each.
    pub text: Vec<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact: Option<String>,
    /// The level (server default: B-B).
    pub level: Option<Level>,
    /// Make it a certification signature.
    pub certify: Option<Certification>,
    /// Field name (an existing empty signature field, or the new field's name).
    pub field: Option<String>,
    /// The digest algorithm (server default: SHA-256).
    pub digest_algorithm: Option<DigestAlgorithm>,
    /// File name to record (the agent only; a batch names each document after its file).
    pub name: Option<String>,
    /// `Idempotency-Key` (1–255 visible ASCII characters): a retry with the same key and
    /// request returns the first answer instead of signing (and counting) again.
    pub idempotency_key: Option<String>,
}

impl SignOptions {
    /// Signs with the identity `name`.
    pub fn with_identity(name: impl Into<String>) -> SignOptions {
        SignOptions { identity: Some(name.into()), ..Default::default() }
    }

    /// Signs with the seal `id` (`seal_…`).
    pub fn with_seal(id: impl Into<String>) -> SignOptions {
        SignOptions { seal: Some(id.into()), ..Default::default() }
    }

    fn query(&self, document_id: Option<&str>) -> Query {
        let mut q = Query::default();
        q.opt("identity", self.identity.as_deref())
            .opt("seal", self.seal.as_deref())
            .opt("seal_request", self.seal_request.as_deref())
            .opt("template", self.template.as_deref())
            .opt("image", self.image.as_deref())
            .opt("page", self.page)
            .opt("rect", self.rect.map(|[a, b, c, d]| format!("{a},{b},{c},{d}")))
            .opt("text", (!self.text.is_empty()).then(|| self.text.join("\n")))
            .opt("reason", self.reason.as_deref())
            .opt("location", self.location.as_deref())
            .opt("contact", self.contact.as_deref())
            .opt("level", self.level.map(Level::as_str))
            .opt("certify", self.certify.map(Certification::as_str))
            .opt("field", self.field.as_deref())
            .opt("digest_algorithm", self.digest_algorithm.map(DigestAlgorithm::as_str))
            .opt("document_id", document_id)
            .opt("name", self.name.as_deref());
        q
    }
}

/// What the agent says about the signed PDF it answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedDocument {
    /// The stored signed document (`X-Signet-Document-Id`): its content is
    /// [`document_content`](Client::document_content).
    pub document_id: String,
    /// SHA-256 of the signed PDF, hexadecimal (`X-Signet-Document-Sha256`).
    pub sha256: String,
    /// Bytes received.
    pub size: u64,
    /// The answer replays an earlier request with the same `Idempotency-Key`.
    pub replayed: bool,
}

/// A digest to sign (`POST /api/v1/sign-hash`).
///
/// ```
/// use signet_client::{DigestAlgorithm, SignHash};
///
/// let digest = [0u8; 32]; // SHA-256 of the document's signed byte ranges
/// let request = SignHash::new("company-seal", DigestAlgorithm::Sha256, &digest);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SignHash {
    /// Name of one of the tenant's signing identities (or give `seal`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub identity: String,
    /// Sign with this seal's identity instead (`seal_…`), under a grant to this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
    /// The approved seal-use request (`srq_…`), when the grant asks for one per use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_request: Option<String>,
    /// The digest's algorithm, also used for the signature.
    #[serde(serialize_with = "digest_name")]
    pub digest_algorithm: DigestAlgorithm,
    /// The digest of the document's signed byte ranges.
    #[serde(with = "crate::b64::bytes")]
    pub digest: Vec<u8>,
    /// `B-B` (default), `B-T` or `B-LT`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "level_name")]
    pub level: Option<Level>,
}

impl SignHash {
    /// Signs `digest` (of algorithm `algorithm`) with the identity `identity`, at B-B.
    pub fn new(identity: impl Into<String>, algorithm: DigestAlgorithm, digest: &[u8]) -> SignHash {
        SignHash {
            identity: identity.into(),
            digest_algorithm: algorithm,
            digest: digest.to_vec(),
            ..Default::default()
        }
    }
}

fn digest_name<S: serde::Serializer>(d: &DigestAlgorithm, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(d.as_str())
}

fn level_name<S: serde::Serializer>(l: &Option<Level>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match l {
        Some(l) => s.serialize_str(l.as_str()),
        None => s.serialize_none(),
    }
}

/// A CMS signature over a digest, ready for a PDF's `/Contents`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SignHashResponse {
    /// Id of the signing record (`sig_…`).
    pub signature_id: String,
    /// The CMS `SignedData`, DER.
    #[serde(with = "crate::b64::bytes")]
    pub cms: Vec<u8>,
    /// The level reached: `B-B`, `B-T` or `B-LT`.
    pub level: String,
    /// The digest algorithm.
    pub digest_algorithm: String,
    /// genTime of the signature timestamp (RFC 3339), from B-T.
    pub timestamp_time: Option<String>,
    /// The validation data of the signer's and the TSA's paths (B-LT), for the DSS.
    pub validation: Option<ValidationData>,
}

/// Validation data for a DSS (ETSI EN 319 142-1 §5.4.2), DER.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ValidationData {
    /// Certificates of the signer's and the TSA's paths.
    #[serde(deserialize_with = "crate::b64::list::deserialize")]
    pub certificates: Vec<Vec<u8>>,
    /// OCSP responses.
    #[serde(deserialize_with = "crate::b64::list::deserialize")]
    pub ocsp_responses: Vec<Vec<u8>>,
    /// CRLs.
    #[serde(deserialize_with = "crate::b64::list::deserialize")]
    pub crls: Vec<Vec<u8>>,
}

/// A batch just accepted.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BatchAccepted {
    /// `bat_…`
    pub id: String,
    /// Documents in the batch.
    pub total: i64,
    /// Entries of a zip that were not PDFs.
    pub skipped: i64,
    /// Where its progress is (a path of the server; [`Client::url`] makes it absolute).
    pub status_url: String,
}

/// A batch's progress, and a page of its items.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Batch {
    /// `bat_…`
    pub id: String,
    /// `running` or `done`.
    pub state: String,
    /// Documents in the batch.
    pub total: i64,
    /// Signed.
    pub done: i64,
    /// Failed (each item says why).
    pub failed: i64,
    /// Not yet handled.
    pub pending: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, once no item is pending.
    pub finished_at: Option<i64>,
    /// This page of items.
    pub items: Vec<BatchItem>,
    /// The `after` of the next page, while there is one.
    pub next_after: Option<i64>,
}

impl Batch {
    /// Whether every document was handled (signed or failed).
    pub fn is_done(&self) -> bool {
        self.state == "done"
    }
}

/// One document of a batch.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BatchItem {
    /// Position in the batch, from 0.
    pub index: i64,
    /// The file name given.
    pub name: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// The signed document, once done.
    pub document_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The overall result of a signature or a document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Verdict {
    /// Intact, trusted, unmodified (or modified only as permitted).
    Valid,
    /// Broken, or modified in a way not permitted.
    Invalid,
    /// Intact but not shown trusted (or revocation unknown).
    #[default]
    Indeterminate,
    /// A verdict this version of the client does not know.
    #[serde(other)]
    Other,
}

/// What later revisions did to a signed revision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Coverage {
    /// The signature covers the whole file.
    Whole,
    /// Later revisions made only permitted changes.
    PermittedChanges,
    /// Later revisions changed what the signature covers.
    Modified,
    /// Not determined.
    #[default]
    Unknown,
    /// A value this version of the client does not know.
    #[serde(other)]
    Other,
}

/// A signature or a document timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SignatureKind {
    /// A signature.
    #[default]
    Signature,
    /// A document timestamp (ISO 32000-2 §12.8.5).
    DocumentTimestamp,
    /// A kind this version of the client does not know.
    #[serde(other)]
    Other,
}

/// A revocation status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RevocationStatus {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked,
    /// No revocation data decided it.
    Unknown,
    /// No revocation applies (a trust anchor).
    NotApplicable,
    /// Not checked.
    #[default]
    NotChecked,
    /// A status this version of the client does not know.
    #[serde(other)]
    Other,
}

/// The report of `POST /api/v1/verify` (its fields: the server's docs/validation.md).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Every signature is intact, trusted and unmodified (or modified only as permitted),
    /// and there is at least one.
    pub valid: bool,
    /// The report's schema version.
    pub schema_version: i32,
    /// The file's size.
    pub file_size: i64,
    /// The overall verdict.
    pub verdict: Verdict,
    /// Each signature, in file order.
    pub signatures: Vec<SignatureReport>,
}

/// One signature's result.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SignatureReport {
    /// Signature or document timestamp.
    pub kind: SignatureKind,
    /// The overall result.
    pub verdict: Verdict,
    /// Fully qualified field name.
    pub field: String,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// The byte range is sound, the digest matches and the CMS signature verifies.
    pub intact: bool,
    /// The signer certificate chains to a trust anchor and is valid.
    pub trusted: bool,
    /// Revocation status of the signer's path at the signature time.
    pub revocation: Revocation,
    /// What later revisions did.
    pub coverage: Coverage,
    /// Why the verdict is not valid (empty when valid).
    pub reasons: Vec<String>,
    /// Notes that do not make the signature fail.
    pub notes: Vec<String>,
    /// The `/ByteRange`.
    pub byte_range: Option<Vec<i64>>,
    /// DocMDP level if this is a certification signature.
    pub certification: Option<i32>,
    /// `/M` as written (claimed, not proven without a timestamp).
    pub claimed_signing_time: Option<String>,
    /// Digest algorithm of the CMS.
    pub digest_algorithm: Option<String>,
    /// The PAdES level reached.
    pub level: Option<Level>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// The best proven signature time (RFC 3339).
    pub signature_time: Option<String>,
    /// Subject of the signer certificate (the TSA for a document timestamp).
    pub signer_subject: Option<String>,
    /// The signature timestamp (or a document timestamp's own token).
    pub timestamp: Option<TimestampReport>,
}

/// A timestamp token's result.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TimestampReport {
    /// `genTime` (RFC 3339, UTC).
    pub gen_time: Option<String>,
    /// The token's signature, ESS binding, TSA key usage and imprint check.
    pub intact: bool,
    /// The TSA certificate chains to a trust anchor.
    pub trusted: bool,
    /// Revocation status of the TSA chain at `genTime`.
    pub revocation: Revocation,
    /// What is wrong (empty when intact and trusted).
    pub reasons: Vec<String>,
    /// Remarks that do not make the timestamp fail.
    pub notes: Vec<String>,
    /// Subject of the TSA certificate.
    pub tsa_subject: Option<String>,
}

/// The revocation status of a path: the worst of its certificates.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Revocation {
    /// Revoked if any is, else unknown if any is, else good.
    pub status: RevocationStatus,
    /// Each certificate except the trust anchor, end entity first.
    pub certificates: Vec<CertRevocation>,
}

/// The revocation status of one certificate of a path.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CertRevocation {
    /// Subject of the certificate.
    pub subject: String,
    /// Its status.
    pub status: RevocationStatus,
    /// What decided it: "ocsp (dss)", "crl (cms)", …
    pub source: Option<String>,
    /// When revoked (RFC 3339).
    pub revoked_at: Option<String>,
    /// The CRL reason code, when given.
    pub reason: Option<String>,
    /// Why the status is unknown, or a remark.
    pub detail: Option<String>,
}

/// Signing and verification.
impl Client {
    /// `POST /api/v1/documents/sign`: the agent signs `pdf` (a file is streamed, with its
    /// length: never read whole into memory) and the signed PDF is streamed into `output`
    /// (a file appears complete or not at all). Scope `sign-document`; counts one call and
    /// one document.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use signet_client::{Client, SignOptions};
    ///
    /// let client = Client::new("http://127.0.0.1:8080").with_token("sgk_…");
    /// let signed = client.sign_document(Path::new("contract.pdf"), Path::new("signed.pdf"),
    ///     &SignOptions::with_identity("company-seal"))?;
    /// println!("stored as {} ({} bytes)", signed.document_id, signed.size);
    /// # Ok::<(), signet_client::Error>(())
    /// ```
    pub fn sign_document<'a, 'b>(
        &self,
        pdf: impl Into<Source<'a>>,
        output: impl Into<Sink<'b>>,
        options: &SignOptions,
    ) -> Result<SignedDocument> {
        let call = self
            .call(SIGN_DOCUMENT, &[])
            .query(&options.query(None))
            .header("Idempotency-Key", options.idempotency_key.as_deref());
        signed(call.send(Payload::Upload(pdf.into(), "application/pdf"))?, output.into())
    }

    /// `POST /api/v1/documents/sign` with `document_id`: signs a stored document (an
    /// upload, or the latest version of a line) and streams the signed PDF into `output`.
    pub fn sign_stored_document<'b>(
        &self,
        document_id: &str,
        output: impl Into<Sink<'b>>,
        options: &SignOptions,
    ) -> Result<SignedDocument> {
        let call = self
            .call(SIGN_DOCUMENT, &[])
            .query(&options.query(Some(document_id)))
            .header("Idempotency-Key", options.idempotency_key.as_deref());
        signed(call.send(Payload::Empty)?, output.into())
    }

    /// `POST /api/v1/sign-hash`: a CMS signature over a digest; the document stays with
    /// the caller. Scope `sign-hash`.
    pub fn sign_hash(&self, request: &SignHash) -> Result<SignHashResponse> {
        self.call(SIGN_HASH, &[]).json(request)
    }

    /// `POST /api/v1/batches`: many PDFs signed with one set of options, in the
    /// background. Sent as one form, each file streamed when its turn comes; named after
    /// its file. `options.name` and `options.seal` are refused by the server.
    pub fn create_batch<P: AsRef<Path>>(&self, files: &[P], options: &SignOptions) -> Result<BatchAccepted> {
        let mut form = Form::new();
        for f in files {
            let path = f.as_ref();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            form.file("file", &name, "application/pdf", path.to_path_buf());
        }
        form.finish();
        self.call(CREATE_BATCH, &[])
            .query(&options.query(None))
            .header("Idempotency-Key", options.idempotency_key.as_deref())
            .upload(Payload::Form(form))
    }

    /// `POST /api/v1/batches` with a zip: each entry ending in `.pdf` is a document.
    pub fn create_batch_zip<'a>(&self, zip: impl Into<Source<'a>>, options: &SignOptions) -> Result<BatchAccepted> {
        self.call(CREATE_BATCH, &[])
            .query(&options.query(None))
            .header("Idempotency-Key", options.idempotency_key.as_deref())
            .upload(Payload::Upload(zip.into(), "application/zip"))
    }

    /// `GET /api/v1/batches/{id}`: progress, and the items after `after` (at most `limit`,
    /// default 1000; `Some(0)`: the counts only).
    pub fn show_batch(&self, id: &str, after: Option<i64>, limit: Option<i64>) -> Result<Batch> {
        let mut q = Query::default();
        q.opt("after", after).opt("limit", limit);
        self.call(SHOW_BATCH, &[id]).query(&q).answer()
    }

    /// Polls [`show_batch`](Client::show_batch) (counts only) every `interval` until no
    /// document is pending, calling `progress` with each answer; returns the last.
    pub fn wait_for_batch(&self, id: &str, interval: Duration, mut progress: impl FnMut(&Batch)) -> Result<Batch> {
        loop {
            let batch = self.show_batch(id, None, Some(0))?;
            progress(&batch);
            if batch.is_done() {
                return Ok(batch);
            }
            std::thread::sleep(interval);
        }
    }

    /// `GET /api/v1/batches/{id}/results.zip`: the signed documents so far, named after the
    /// inputs, and `results.json`, streamed into `sink`; returns the size.
    pub fn batch_results<'a>(&self, id: &str, sink: impl Into<Sink<'a>>) -> Result<u64> {
        self.call(BATCH_RESULTS, &[id]).download(sink.into())
    }

    /// `POST /api/v1/verify`: the report of every signature of `pdf` (`password`: an
    /// encrypted PDF's user or owner password). No key needed; the server trusts the
    /// certificates of its `trust/` directory.
    pub fn verify<'a>(&self, pdf: impl Into<Source<'a>>, password: Option<&str>) -> Result<VerifyReport> {
        self.call(VERIFY, &[]).header("X-Pdf-Password", password).upload(Payload::Upload(pdf.into(), "application/pdf"))
    }
}

/// The signed PDF into `output`, and what the headers say about it.
fn signed(answer: crate::Answer, output: Sink<'_>) -> Result<SignedDocument> {
    let document_id = answer.required_header("x-signet-document-id")?;
    let sha256 = answer.header("x-signet-document-sha256").unwrap_or_default();
    let replayed = answer.header("idempotent-replayed").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let size = answer.download(output)?;
    Ok(SignedDocument { document_id, sha256, size, replayed })
}
