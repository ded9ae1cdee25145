//! The signing agent: `POST /api/v1/documents/sign` takes a PDF, signs it, returns it.
//!
//! The body is the PDF (`application/pdf`, options in the query string) or a
//! `multipart/form-data` form (a `file` part, an optional `seal` image part, the options as
//! fields), up to the configured limit. A document of at most [`IN_MEMORY_DOCUMENT`] bytes
//! is received, signed and answered in memory (within a process-wide budget of
//! [`IN_MEMORY_BUDGET`]); a larger one is streamed to a file and never held in memory. The
//! document is hashed here; only its digest goes to the hash-signing API, in process or at
//! `--sign-api-url`. The signed PDF is stored (the signed version is the archived version),
//! then sent back with its id and SHA-256 in `X-Signet-Document-Id` and
//! `X-Signet-Document-Sha256`.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use signet_crypto::DigestAlgorithm;
use signet_pades::{
    Certification, CmsProvider, Level, Services, SignatureOptions, TIMESTAMP_RESERVE, TsaClient, Visible, VisualRect,
};
use signet_pdf::appearance::SealImage;
use signet_store::{DocumentRecord, IdempotencyClaim, SignatureRecord, StoredResponse, UsageDelta};
use tokio::io::AsyncWriteExt;

use crate::auth::{Caller, Permission};
use crate::meter::Admission;
use crate::signhash::{DigestToSign, Made, Received, SignHashRequest};
use crate::webhooks::Webhooks;
use crate::{AppState, Error};

/// Largest document received, signed and answered in memory: one page to a few dozen,
/// which is what a business system sends all day. Larger documents go through files.
pub const IN_MEMORY_DOCUMENT: usize = 4 << 20;
/// Most bytes of documents held in memory at once, over all requests; past it, documents go
/// through files whatever their size.
pub const IN_MEMORY_BUDGET: usize = 256 << 20;

/// The in-memory budget, in KiB permits.
static MEMORY: std::sync::LazyLock<Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(IN_MEMORY_BUDGET >> 10)));

/// A share of [`IN_MEMORY_BUDGET`] for `bytes` (twice: the document and its signed copy), or
/// `None` when the budget is spent.
fn memory_for(bytes: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let kib = u32::try_from((2 * bytes).div_ceil(1024).max(1)).ok()?;
    MEMORY.clone().try_acquire_many_owned(kib).ok()
}

/// A document to sign: a file (large uploads, stored documents that are large) or bytes in
/// memory, holding their share of the in-memory budget.
#[derive(Clone)]
pub(crate) enum Input {
    /// A file, read as it is signed.
    File(std::path::PathBuf),
    /// The whole document.
    Memory {
        /// The bytes.
        bytes: bytes::Bytes,
        /// Their share of the budget, given back when the last clone is dropped.
        _budget: Arc<tokio::sync::OwnedSemaphorePermit>,
    },
}

impl Input {
    /// The document stored at `path`: read into memory when small and the budget allows.
    pub(crate) async fn load(path: std::path::PathBuf) -> std::io::Result<Input> {
        let size = tokio::fs::metadata(&path).await?.len();
        if let Some(permit) = usize::try_from(size).ok().filter(|n| *n <= IN_MEMORY_DOCUMENT).and_then(memory_for) {
            let bytes = tokio::fs::read(&path).await?;
            return Ok(Input::Memory { bytes: bytes.into(), _budget: Arc::new(permit) });
        }
        Ok(Input::File(path))
    }
}

/// A received document: the input, and the staging file it is in (removed when dropped).
pub(crate) struct ReceivedDocument {
    /// The document.
    pub(crate) input: Input,
    /// Its staging file, when it is not in memory.
    _file: Option<tempfile::TempPath>,
}

/// Header naming the stored signed document.
pub const DOCUMENT_ID: &str = "x-signet-document-id";
/// Header with the SHA-256 (hexadecimal) of the signed document.
pub const DOCUMENT_SHA256: &str = "x-signet-document-sha256";
/// Header of a signing answer: the version number the signed output became (when the
/// document signed was a version of a stored document).
pub const DOCUMENT_VERSION: &str = "x-signet-document-version";

/// Options of a signing: query parameters, multipart fields, or a batch's options.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SignOptions {
    /// The signing identity's name (required).
    #[serde(default)]
    pub identity: Option<String>,
    /// A template's name: the signature shows at each of its placements.
    #[serde(default)]
    pub template: Option<String>,
    /// A stored seal image id (`img_…`) for a visible signature at `page`/`rect`.
    #[serde(default)]
    pub image: Option<String>,
    /// 1-based page (negative: from the end). Default 1.
    #[serde(default)]
    pub page: Option<i64>,
    /// `x1,y1,x2,y2` in PDF points on the page as displayed: a visible signature.
    #[serde(default)]
    pub rect: Option<String>,
    /// Appearance text; lines separated by `\n` (a newline or the two characters).
    #[serde(default)]
    pub text: Option<String>,
    /// `/Reason`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `/Location`.
    #[serde(default)]
    pub location: Option<String>,
    /// `/ContactInfo`.
    #[serde(default)]
    pub contact: Option<String>,
    /// `b-b` (default), `b-t`, `b-lt`, `b-lta`.
    #[serde(default)]
    pub level: Option<String>,
    /// Certify: `no-changes`, `form-filling` or `annotations`.
    #[serde(default)]
    pub certify: Option<String>,
    /// Field name (an existing empty signature field, or the new field's name).
    #[serde(default)]
    pub field: Option<String>,
    /// `sha256` (default), `sha384`, `sha512`.
    #[serde(default)]
    pub digest_algorithm: Option<String>,
    /// Sign a document uploaded before (`doc_…`) instead of a body.
    #[serde(default)]
    pub document_id: Option<String>,
    /// File name to record.
    #[serde(default)]
    pub name: Option<String>,
    /// Sign with this seal (`seal_…`): its identity signs and, at `page`/`rect` without an
    /// `image`, its image shows. Needs an authorization to use the seal.
    #[serde(default)]
    pub seal: Option<String>,
    /// The approved seal-use request (`srq_…`), when the authorization asks for one per use.
    #[serde(default)]
    pub seal_request: Option<String>,
    /// Text fields of the document filled in the signature's own update (field name →
    /// value): set by envelopes, not an option of the API.
    #[serde(skip)]
    #[param(ignore)]
    #[schema(ignore)]
    pub fill: std::collections::BTreeMap<String, String>,
}

/// One seal placement of a template.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// 1-based page (negative: from the end).
    pub page: i64,
    /// `[x1, y1, x2, y2]` in PDF points on the page as displayed.
    pub rect: [f64; 4],
    /// Seal image id (`img_…`).
    #[serde(default)]
    pub image: Option<String>,
    /// Appearance text lines.
    #[serde(default)]
    pub text: Vec<String>,
}

/// The `multipart/form-data` body of `POST /api/v1/documents/sign`, as the OpenAPI document
/// shows it: the PDF, an optional seal image, and any of the signing options as text fields (over
/// the same options in the query string). The handler reads the parts as they stream in.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignForm {
    /// The PDF (the part may also be named `document`); its file name is recorded as `name`.
    #[schema(value_type = String, content_media_type = "application/pdf")]
    pub file: Vec<u8>,
    /// A seal image (PNG or JPEG) shown in the visible signature at `rect`, or at the
    /// placements of `template` that name no image.
    #[schema(value_type = Option<String>, content_media_type = "image/png")]
    pub seal: Option<Vec<u8>>,
    /// The options.
    #[serde(flatten)]
    pub options: SignOptions,
}

/// A signing the agent is about to do, options resolved: one or more signatures in turn.
struct Plan {
    identity: String,
    /// The seal whose use was authorised, when signing with one.
    seal: Option<String>,
    level: Level,
    digest: DigestAlgorithm,
    signatures: Vec<SignatureOptions>,
}

fn level_of(options: &SignOptions) -> Result<Level, Error> {
    options
        .level
        .as_deref()
        .map(str::parse::<Level>)
        .transpose()
        .map_err(|e| Error::bad("bad_level", e))
        .map(|l| l.unwrap_or(Level::BB))
}

async fn image_bytes(state: &AppState, tenant: &str, id: &str) -> Result<SealImage, Error> {
    let record = state.store().image(tenant, id).await?;
    let bytes = state.blobs().read(&record.blob_key).await.map_err(Error::internal("reading a seal image"))?;
    SealImage::from_bytes(bytes).map_err(|e| Error::bad("bad_image", format!("image {id}: {e}")))
}

async fn plan(
    state: &AppState,
    tenant: &str,
    options: &SignOptions,
    uploaded_seal: Option<SealImage>,
) -> Result<Plan, Error> {
    let identity = options
        .identity
        .clone()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| Error::bad("missing_identity", "say which identity signs: identity=NAME"))?;
    // the name also goes into the remote sign API's URL: only what an identity name may be
    if !crate::identities::valid_name(&identity) {
        return Err(Error::bad("bad_identity", "an identity name has 1–64 letters, digits, '-', '_' or '.'"));
    }
    let level = level_of(options)?;
    if level == Level::BLTA && state.remote().is_some() {
        return Err(Error::bad(
            "bad_level",
            "b-lta needs this server's own timestamp authority; with --sign-api-url sign at b-lt",
        ));
    }
    let digest = match options.digest_algorithm.as_deref() {
        None => DigestAlgorithm::Sha256,
        Some(d) => d.parse().map_err(|_| {
            Error::bad("bad_digest_algorithm", format!("unknown digest_algorithm '{d}' (sha256, sha384, sha512)"))
        })?,
    };
    let certify = options
        .certify
        .as_deref()
        .map(str::parse::<Certification>)
        .transpose()
        .map_err(|e| Error::bad("bad_certify", e))?;
    let base = SignatureOptions {
        field: options.field.clone(),
        page: options.page.unwrap_or(1),
        reason: options.reason.clone(),
        location: options.location.clone(),
        contact_info: options.contact.clone(),
        certify,
        digest,
        fill: options
            .fill
            .iter()
            .map(|(name, value)| signet_pades::FieldValue { name: name.clone(), value: value.clone() })
            .collect(),
        ..SignatureOptions::default()
    };
    let text_lines = |t: &Option<String>| -> Vec<String> {
        t.as_deref().map(|t| t.replace("\\n", "\n").lines().map(str::to_string).collect()).unwrap_or_default()
    };
    let mut signatures = Vec::new();
    if let Some(name) = &options.template {
        if options.rect.is_some() || options.image.is_some() {
            return Err(Error::bad("bad_request", "give a template or rect/image, not both"));
        }
        let template = state.store().template(tenant, name).await?;
        let placements: Vec<Placement> = serde_json::from_value(template.placements.clone())
            .map_err(|e| Error::bad("bad_template", format!("template '{name}': {e}")))?;
        // one signature, shown at every placement (a field with one widget per placement):
        // a seal stamped on several pages is one act of signing
        let mut visibles = Vec::new();
        for (i, p) in placements.iter().enumerate() {
            let rect = VisualRect::parse(&format!("{},{},{},{}", p.rect[0], p.rect[1], p.rect[2], p.rect[3]))
                .ok_or_else(|| {
                    Error::bad("bad_template", format!("template '{name}': placement {i} has an empty rectangle"))
                })?;
            let image = match &p.image {
                Some(id) => Some(image_bytes(state, tenant, id).await?),
                None => uploaded_seal.clone(),
            };
            visibles.push(Visible { page: p.page, rect, image, text: p.text.clone() });
        }
        if !visibles.is_empty() {
            let first = visibles.remove(0);
            signatures.push(SignatureOptions {
                page: first.page,
                visible: Some(first),
                stamps: visibles,
                ..base.clone()
            });
        }
        if signatures.is_empty() {
            return Err(Error::bad("bad_template", format!("template '{name}' has no placement")));
        }
    } else if let Some(r) = &options.rect {
        let rect = VisualRect::parse(r).ok_or_else(|| {
            Error::bad("bad_rect", format!("rect '{r}' is not x1,y1,x2,y2 with a non-zero width and height"))
        })?;
        let image = match &options.image {
            Some(id) => Some(image_bytes(state, tenant, id).await?),
            None => uploaded_seal,
        };
        let visible = Visible { page: base.page, rect, image, text: text_lines(&options.text) };
        signatures.push(SignatureOptions { visible: Some(visible), ..base });
    } else {
        if options.image.is_some() || uploaded_seal.is_some() {
            return Err(Error::bad("missing_rect", "a seal image needs a rect=x1,y1,x2,y2 to be placed in"));
        }
        signatures.push(base);
    }
    Ok(Plan { identity, seal: options.seal.clone(), level, digest, signatures })
}

/// A [`CmsProvider`] asking the hash-signing API, in process or remote.
struct AgentCms {
    state: AppState,
    handle: tokio::runtime::Handle,
    tenant: String,
    caller: String,
    channel: &'static str,
    identity: String,
    seal: Option<String>,
    level: Level,
    digest: DigestAlgorithm,
    estimated: usize,
    received: Received,
    /// The records of the signatures made, for the caller of [`sign_prepared`] to write.
    made: std::sync::Mutex<Vec<Made>>,
}

impl CmsProvider for AgentCms {
    fn estimated_len(&self) -> signet_pades::Result<usize> {
        Ok(self.estimated + if self.level >= Level::BT { TIMESTAMP_RESERVE } else { 0 })
    }
    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }
    fn timestamps(&self) -> bool {
        self.level >= Level::BT
    }
    fn sign_digest(&self, document_digest: &[u8]) -> signet_pades::Result<Vec<u8>> {
        // the document timestamp of B-LTA is added locally; the signature itself is B-LT
        let level = self.level.min(Level::BLT);
        let response = match self.state.remote() {
            Some(remote) => remote.sign_hash(&SignHashRequest {
                identity: self.identity.clone(),
                digest_algorithm: self.digest.name().to_string(),
                digest: B64.encode(document_digest),
                level: Some(level.to_string().to_ascii_lowercase()),
                seal: None,
                seal_request: None,
            }),
            None => {
                let request = DigestToSign {
                    identity: self.identity.clone(),
                    algorithm: self.digest,
                    digest: document_digest.to_vec(),
                    level,
                    seal: self.seal.clone(),
                };
                let (result, made) = self.handle.block_on(crate::signhash::sign_unrecorded(
                    &self.state,
                    &self.tenant,
                    &self.caller,
                    &request,
                    self.channel,
                    true,
                ));
                if let Some(m) = made {
                    self.made.lock().unwrap_or_else(|p| p.into_inner()).push(m);
                }
                result
            }
        }
        .map_err(|e| signet_pades::Error::Signature(AgentFailure::encode(e)))?;
        self.received.keep(&response).map_err(|e| signet_pades::Error::Signature(AgentFailure::encode(e)))?;
        B64.decode(&response.cms).map_err(|_| signet_pades::Error::Signature("the CMS is not base64".into()))
    }
}

/// Carries an API error through the PDF code's error type, so the client gets the sign
/// API's own status (429, 404, 400) rather than a generic failure.
struct AgentFailure;

thread_local! {
    static LAST_ERROR: std::cell::RefCell<Option<Error>> = const { std::cell::RefCell::new(None) };
}

impl AgentFailure {
    fn encode(e: Error) -> String {
        let text = e.to_string();
        LAST_ERROR.with(|l| *l.borrow_mut() = Some(e));
        text
    }
    fn take() -> Option<Error> {
        LAST_ERROR.with(|l| l.borrow_mut().take())
    }
}

/// A signed document, stored.
#[derive(Clone, Debug)]
pub struct Signed {
    /// Its record.
    pub document: DocumentRecord,
    /// Its bytes, when it was signed in memory (else read it from the blob store).
    pub content: Option<bytes::Bytes>,
}

/// Signs the PDF at `input` for `tenant` with `options` (one signature per placement), stores
/// the result and returns its record. `input` is left in place. `channel` goes into the
/// signing records (`agent` or `batch`).
pub(crate) async fn sign_document(
    state: &AppState,
    tenant: &str,
    caller: &str,
    options: &SignOptions,
    input: &Input,
    uploaded_seal: Option<SealImage>,
    channel: &'static str,
) -> Result<Signed, Error> {
    let prepared = prepare(state, tenant, options, uploaded_seal).await?;
    let output = Output {
        key_prefix: format!("documents/{}/", tenant.to_ascii_lowercase()),
        name: options.name.clone(),
        source_id: options.document_id.clone(),
    };
    let unrecorded = sign_prepared(state, tenant, caller, &prepared, input, &output, channel).await?;
    // the document row, the signing records and the usage in one group commit
    let mut usage = unrecorded.admission.usage();
    let mut records = unrecorded.signatures;
    if let Some(calls) = unrecorded.calls {
        if calls.period_start == usage.period_start {
            usage.calls += calls.calls;
        } else {
            state.meter().record(std::mem::take(&mut records), Some(calls)).await?;
        }
    }
    let event = Webhooks::document_signed(tenant, &unrecorded.document, &prepared.plan.identity, prepared.plan.level)?;
    state.meter().record_with_documents(records, Some(usage), vec![unrecorded.document.clone()], vec![event]).await?;
    Ok(Signed { document: unrecorded.document, content: unrecorded.content })
}

/// A signing with its options resolved once: the identity, the level, the template's
/// placements and their images, the expected CMS size. A batch prepares once and signs each
/// of its documents with it, so no per-document lookup repeats.
#[derive(Clone)]
pub(crate) struct Prepared {
    plan: Arc<Plan>,
    estimated: usize,
}

/// Resolves `options` for `tenant`: refuses what cannot be signed (a missing identity,
/// template or image, an unknown level) before any document is touched.
pub(crate) async fn prepare(
    state: &AppState,
    tenant: &str,
    options: &SignOptions,
    uploaded_seal: Option<SealImage>,
) -> Result<Prepared, Error> {
    let plan = plan(state, tenant, options, uploaded_seal).await?;
    let estimated = match state.remote() {
        Some(remote) => {
            let remote = remote.clone();
            let name = plan.identity.clone();
            tokio::task::spawn_blocking(move || remote.identity(&name))
                .await
                .map_err(|e| Error::Internal { context: "asking the sign API", source: Box::new(e) })??
                .estimated_cms_bytes
        }
        None => {
            let identity = state.identity(tenant, &plan.identity).await.map_err(|e| match e {
                Error::Missing(_) => Error::Missing(format!("no identity named '{}' in this tenant", plan.identity)),
                e => e,
            })?;
            crate::identities::estimated_cms_bytes(&identity)?
        }
    };
    Ok(Prepared { plan: Arc::new(plan), estimated })
}

/// Where a signed document goes and what its record says.
pub(crate) struct Output {
    /// Blob key prefix (ends with `/`); the document id and `.pdf` follow.
    pub(crate) key_prefix: String,
    /// The file name to record.
    pub(crate) name: Option<String>,
    /// The stored document it was made from.
    pub(crate) source_id: Option<String>,
}

/// A signed document whose blob is stored but whose record is not written yet.
pub(crate) struct Unrecorded {
    /// The record to write.
    pub(crate) document: DocumentRecord,
    /// The document counted by the meter: to persist with the record, or to refund.
    pub(crate) admission: Admission,
    /// The records of the signatures made (in process; a remote sign API keeps its own), to
    /// write whatever becomes of the document.
    pub(crate) signatures: Vec<SignatureRecord>,
    /// The signing calls they count, to persist with them.
    pub(crate) calls: Option<UsageDelta>,
    /// The signed document's bytes, when it was signed in memory.
    pub(crate) content: Option<bytes::Bytes>,
}

/// Signs the PDF at `input` as `prepared` says and stores the output's blob; the caller
/// writes the records (the document's, the signatures', the usage) or deletes the blob. When
/// signing fails, the records of the signatures made are written here.
pub(crate) async fn sign_prepared(
    state: &AppState,
    tenant: &str,
    caller: &str,
    prepared: &Prepared,
    input: &Input,
    output: &Output,
    channel: &'static str,
) -> Result<Unrecorded, Error> {
    let plan = prepared.plan.clone();
    let admission = state.meter().admit(tenant, 0, 1).await?;
    let cms = AgentCms {
        state: state.clone(),
        handle: tokio::runtime::Handle::current(),
        tenant: tenant.to_string(),
        caller: caller.to_string(),
        channel,
        identity: plan.identity.clone(),
        seal: plan.seal.clone(),
        level: plan.level,
        digest: plan.digest,
        estimated: prepared.estimated + if plan.digest == DigestAlgorithm::Sha256 { 0 } else { 64 },
        received: Received::default(),
        made: Default::default(),
    };
    let staging = state.blobs().staging_dir();
    let input = input.clone();
    let st = state.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let signed = sign_blocking(&st, &plan, &cms, &input, &staging);
        let made = std::mem::take(&mut *cms.made.lock().unwrap_or_else(|p| p.into_inner()));
        (signed, made)
    })
    .await;
    let (result, made) = match joined {
        Ok((r, made)) => (r, made),
        Err(e) => (Err(Error::Internal { context: "signing", source: Box::new(e) }), Vec::new()),
    };
    let mut signatures = Vec::with_capacity(made.len());
    let mut calls: Option<UsageDelta> = None;
    for m in made {
        signatures.push(m.record);
        // one signature per placement set, within milliseconds: counted in the first's period
        if let Some(a) = m.call {
            match &mut calls {
                Some(c) => c.calls += a.calls,
                None => calls = Some(a.usage()),
            }
        }
    }
    let (out, sha256, size) = match result {
        Ok(r) => r,
        Err(e) => return Err(give_up(state, &admission, e, signatures, calls).await),
    };
    let id = signet_store::new_id("doc");
    let key = format!("{}{id}.pdf", output.key_prefix);
    let (stored, content) = match out {
        SignedOutput::File(path) => (state.blobs().put_file(&key, path, false).await, None),
        SignedOutput::Memory(bytes) => (state.blobs().put_bytes(&key, bytes.clone(), false).await, Some(bytes)),
    };
    if let Err(e) = stored {
        let e = Error::internal("storing the signed document")(e);
        return Err(give_up(state, &admission, e, signatures, calls).await);
    }
    let document = DocumentRecord {
        id,
        tenant_id: tenant.to_string(),
        kind: "signed".into(),
        name: output.name.clone(),
        blob_key: key,
        size: size as i64,
        sha256,
        source_id: output.source_id.clone(),
        created_at: signet_store::now_millis(),
    };
    Ok(Unrecorded { document, admission, signatures, calls, content })
}

/// A signing that failed: the document's count given back, the records of the signatures made
/// written (with their calls: a signature made is counted even if its document failed).
async fn give_up(
    state: &AppState,
    admission: &Admission,
    e: Error,
    signatures: Vec<SignatureRecord>,
    calls: Option<UsageDelta>,
) -> Error {
    state.meter().refund(admission);
    if !signatures.is_empty() || calls.is_some() {
        if let Err(log_err) = state.meter().record(signatures, calls).await {
            tracing::error!("recording the signatures of a failed signing: {log_err}");
        }
    }
    e
}

/// A signed document not yet stored.
enum SignedOutput {
    /// In a staging file.
    File(tempfile::TempPath),
    /// In memory.
    Memory(bytes::Bytes),
}

/// The blocking part of [`sign_prepared`]: each signature of the plan in turn, in memory or
/// into a new file in `staging`; its SHA-256 and size.
fn sign_blocking(
    st: &AppState,
    plan: &Plan,
    cms: &AgentCms,
    input: &Input,
    staging: &Path,
) -> Result<(SignedOutput, String, u64), Error> {
    let level = plan.level;
    let services_local;
    let tsa_client;
    let mut services = Services { tsa: None, validation: Some(&cms.received), timestamp_digest: plan.digest };
    if level == Level::BLTA {
        services_local = st.services();
        tsa_client = TsaClient::new(services_local.fetcher(), services_local.tsa_url());
        services.tsa = Some(&tsa_client);
    }
    let failure = |e: signet_pades::Error| {
        AgentFailure::take().unwrap_or_else(|| match e {
            signet_pades::Error::Pdf(p) => Error::from_pdf(p),
            signet_pades::Error::Io(io) => Error::Internal { context: "signing", source: Box::new(io) },
            other => Error::bad("signing_failed", other.to_string()),
        })
    };
    let input = match input {
        Input::File(path) => path,
        Input::Memory { bytes, .. } => {
            let mut current: Option<Vec<u8>> = None;
            for opts in &plan.signatures {
                let source: &[u8] = current.as_deref().unwrap_or(bytes);
                let (out, _, _) =
                    signet_pades::sign_bytes_at_level(source, None, opts, cms, level, services).map_err(failure)?;
                current = Some(out);
            }
            let out = current.ok_or_else(|| Error::bad("bad_request", "nothing to sign"))?;
            let sha = signet_store::sha256_hex(&out);
            let size = out.len() as u64;
            return Ok((SignedOutput::Memory(out.into()), sha, size));
        }
    };
    let mut current: Option<tempfile::TempPath> = None;
    for opts in &plan.signatures {
        let out = tempfile::Builder::new()
            .prefix(".signet-out-")
            .suffix(".pdf")
            .tempfile_in(staging)
            .map_err(Error::internal("creating an output file"))?
            .into_temp_path();
        let source: &Path = current.as_deref().unwrap_or(input);
        signet_pades::sign_file_at_level(source, &out, None, opts, cms, level, services, false).map_err(failure)?;
        current = Some(out);
    }
    let out = current.ok_or_else(|| Error::bad("bad_request", "nothing to sign"))?;
    let (sha, size) = sha256_file(&out).map_err(Error::internal("hashing the output"))?;
    Ok((SignedOutput::File(out), sha, size))
}

/// SHA-256 of a file, hexadecimal, and its size.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::Digest;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((signet_store::hex(&h.finalize()), size))
}

/// What a signing request brought.
struct Upload {
    options: SignOptions,
    file: Option<ReceivedDocument>,
    file_sha256: Option<String>,
    seal: Option<SealImage>,
}

fn parse_query(query: Option<&str>) -> Result<SignOptions, Error> {
    serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| Error::bad("bad_option", format!("query string: {e}")))
}

/// Receives `body` (at most `limit` bytes), hashing it on the way: into memory while it
/// stays within [`IN_MEMORY_DOCUMENT`] and the budget, else into a new file in `dir` (what
/// was received so far is written there first and the rest streamed after it).
pub(crate) async fn receive_document(
    mut body: impl http_body::Body<Data = bytes::Bytes, Error = impl std::fmt::Display> + Unpin,
    dir: &Path,
    limit: u64,
) -> Result<(ReceivedDocument, String, u64), Error> {
    use sha2::Digest;
    let hint = body.size_hint().exact().and_then(|n| usize::try_from(n).ok());
    let room = hint.unwrap_or(IN_MEMORY_DOCUMENT);
    let permit = if room <= IN_MEMORY_DOCUMENT && (room as u64) <= limit { memory_for(room) } else { None };
    let Some(permit) = permit else {
        let (path, sha, size) = receive_file(body, dir, limit).await?;
        let input = Input::File(path.to_path_buf());
        return Ok((ReceivedDocument { input, _file: Some(path) }, sha, size));
    };
    let mut buf = bytes::BytesMut::with_capacity(hint.unwrap_or(64 * 1024));
    let mut hasher = sha2::Sha256::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Error::BodyRead)?;
        let Ok(data) = frame.into_data() else { continue };
        if (buf.len() + data.len()) as u64 > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        hasher.update(&data);
        buf.extend_from_slice(&data);
        if buf.len() > room {
            // larger than announced or than memory allows: the rest goes to a file
            drop(permit);
            let head = ChunkThen { head: Some(buf.freeze()), rest: body };
            let (path, sha, size) = receive_file(head, dir, limit).await?;
            let input = Input::File(path.to_path_buf());
            return Ok((ReceivedDocument { input, _file: Some(path) }, sha, size));
        }
    }
    if buf.is_empty() {
        return Err(Error::EmptyBody);
    }
    let size = buf.len() as u64;
    let input = Input::Memory { bytes: buf.freeze(), _budget: Arc::new(permit) };
    Ok((ReceivedDocument { input, _file: None }, signet_store::hex(&hasher.finalize()), size))
}

/// A body that yields `head` first, then `rest`.
struct ChunkThen<B> {
    head: Option<bytes::Bytes>,
    rest: B,
}

impl<B: http_body::Body<Data = bytes::Bytes> + Unpin> http_body::Body for ChunkThen<B> {
    type Data = bytes::Bytes;
    type Error = B::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Some(head) = self.head.take() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        std::pin::Pin::new(&mut self.rest).poll_frame(cx)
    }
}

/// Streams `body` to a new file in `dir` (at most `limit` bytes), hashing it on the way.
pub async fn receive_file(
    mut body: impl http_body::Body<Data = bytes::Bytes, Error = impl std::fmt::Display> + Unpin,
    dir: &Path,
    limit: u64,
) -> Result<(tempfile::TempPath, String, u64), Error> {
    use sha2::Digest;
    let file = tempfile::Builder::new()
        .prefix(".signet-in-")
        .suffix(".pdf")
        .tempfile_in(dir)
        .map_err(Error::internal("creating an upload file"))?;
    let (std_file, path) = file.into_parts();
    let mut writer = tokio::fs::File::from_std(std_file);
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Error::BodyRead)?;
        let Ok(data) = frame.into_data() else { continue };
        size += data.len() as u64;
        if size > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        hasher.update(&data);
        writer.write_all(&data).await.map_err(Error::internal("writing an upload file"))?;
    }
    writer.flush().await.map_err(Error::internal("writing an upload file"))?;
    if size == 0 {
        return Err(Error::EmptyBody);
    }
    Ok((path, signet_store::hex(&hasher.finalize()), size))
}

async fn receive(state: &AppState, query: Option<&str>, request: Request) -> Result<Upload, Error> {
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let limit = state.max_upload_bytes();
    let dir = state.blobs().staging_dir();
    if content_type.starts_with("multipart/form-data") {
        let mut options = parse_query(query)?;
        let mut fields = serde_json::Map::new();
        let mut file = None;
        let mut seal = None;
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| Error::bad("bad_multipart", format!("the form: {e}")))?;
        while let Some(field) =
            multipart.next_field().await.map_err(|e| Error::bad("bad_multipart", format!("the form: {e}")))?
        {
            let name = field.name().unwrap_or("").to_string();
            match name.as_str() {
                "file" | "document" => {
                    if file.is_some() {
                        return Err(Error::bad("bad_multipart", "one document per request (batches take many)"));
                    }
                    if options.name.is_none() {
                        options.name = field.file_name().map(str::to_string);
                    }
                    file = Some(receive_document(MultipartBody(field), &dir, limit).await?);
                }
                "seal" => {
                    let bytes = part_bytes(field, signet_pdf::appearance::MAX_ENCODED_BYTES, "the seal part").await?;
                    seal = Some(
                        SealImage::from_bytes(bytes)
                            .map_err(|e| Error::bad("bad_image", format!("the seal part: {e}")))?,
                    );
                }
                _ => {
                    add_option_part(&mut fields, field, name).await?;
                }
            }
        }
        options = with_form_fields(options, fields)?;
        let (file, file_sha256) = match file {
            Some((p, sha, _)) => (Some(p), Some(sha)),
            None => (None, None),
        };
        Ok(Upload { options, file, file_sha256, seal })
    } else {
        let options = parse_query(query)?;
        if !(content_type.is_empty()
            || content_type.starts_with("application/pdf")
            || content_type.starts_with("application/octet-stream"))
        {
            return Err(Error::UnsupportedMediaType { expected: "application/pdf or multipart/form-data" });
        }
        if options.document_id.is_some() {
            return Ok(Upload { options, file: None, file_sha256: None, seal: None });
        }
        let (document, sha, _) = receive_document(request.into_body(), &dir, limit).await?;
        Ok(Upload { options, file: Some(document), file_sha256: Some(sha), seal: None })
    }
}

/// Largest option field of a form (identity, rect, text, reason, …).
const MAX_FORM_FIELD: usize = 64 * 1024;

/// A form part's bytes, refused past `limit` (never more than that in memory).
pub(crate) async fn part_bytes(
    mut field: axum::extract::multipart::Field<'_>,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| Error::bad("bad_multipart", format!("{what}: {e}")))? {
        if out.len() + chunk.len() > limit {
            return Err(Error::TooLarge(format!("{what} is larger than {limit} bytes")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Most option fields a form may carry ([`SignOptions`] has fewer: the rest are refused
/// by name later, but must not pile up in memory first).
const MAX_FORM_FIELDS: usize = 32;

/// Reads an option field of a form into `fields`.
pub(crate) async fn add_option_part(
    fields: &mut serde_json::Map<String, serde_json::Value>,
    field: axum::extract::multipart::Field<'_>,
    name: String,
) -> Result<(), Error> {
    if fields.len() >= MAX_FORM_FIELDS {
        return Err(Error::bad("bad_multipart", format!("more than {MAX_FORM_FIELDS} option fields in the form")));
    }
    let value = option_part(field, &name).await?;
    fields.insert(name, value);
    Ok(())
}

/// An option field of a form, as the JSON value [`SignOptions`] reads (`page` a number).
async fn option_part(field: axum::extract::multipart::Field<'_>, name: &str) -> Result<serde_json::Value, Error> {
    let bytes = part_bytes(field, MAX_FORM_FIELD, &format!("field {name}")).await?;
    let value =
        String::from_utf8(bytes).map_err(|_| Error::bad("bad_multipart", format!("field {name} is not UTF-8")))?;
    if name == "page" {
        let page = value
            .trim()
            .parse::<i64>()
            .map_err(|_| Error::bad("bad_option", format!("page '{value}' is not a whole number")))?;
        return Ok(serde_json::Value::from(page));
    }
    Ok(serde_json::Value::from(value))
}

/// `options` with the form's option fields over them.
pub(crate) fn with_form_fields(
    options: SignOptions,
    fields: serde_json::Map<String, serde_json::Value>,
) -> Result<SignOptions, Error> {
    if fields.is_empty() {
        return Ok(options);
    }
    let mut merged = serde_json::to_value(&options).map_err(|e| Error::bad("bad_option", e.to_string()))?;
    if let Some(m) = merged.as_object_mut() {
        m.extend(fields);
        m.retain(|_, v| !v.is_null());
    }
    serde_json::from_value(merged).map_err(|e| Error::bad("bad_option", format!("form field: {e}")))
}

/// Claims an `Idempotency-Key` for a request identified by `fingerprint`: `None` when this
/// request goes ahead, the first answer again when it was answered before, 409 when the key
/// is in use by a request still running or was used with another request.
pub(crate) async fn claim_idempotency(
    state: &AppState,
    tenant: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Option<Response>, Error> {
    match state.store().claim_idempotency_key(tenant, key, fingerprint).await? {
        IdempotencyClaim::Claimed => Ok(None),
        IdempotencyClaim::Replay(stored) => replay(state, tenant, stored).await.map(Some),
        IdempotencyClaim::InProgress => Err(Error::Conflict {
            code: "idempotency_in_progress",
            message: format!("a request with Idempotency-Key '{key}' is still in progress"),
        }),
        IdempotencyClaim::Mismatch => Err(Error::Conflict {
            code: "idempotency_mismatch",
            message: format!("Idempotency-Key '{key}' was used with a different request"),
        }),
    }
}

/// A multipart field as a body.
pub(crate) struct MultipartBody<'a>(pub(crate) axum::extract::multipart::Field<'a>);

impl http_body::Body for MultipartBody<'_> {
    type Data = bytes::Bytes;
    type Error = axum::extract::multipart::MultipartError;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use futures_util::Stream;
        std::pin::Pin::new(&mut self.0).poll_next(cx).map(|o| o.map(|r| r.map(http_body::Frame::data)))
    }
}

/// Sign a PDF.
///
/// Scope `sign-document`. The signing agent: the PDF is the body (`application/pdf`, options
/// in the query string) or the `file` part of a `multipart/form-data` form (with an optional
/// `seal` image part and the options as fields); or `document_id` names a stored document.
/// The document is hashed here and only its digest is signed (through `sign-hash`, in
/// process or remote). The answer is the signed PDF, also stored: `X-Signet-Document-Id`
/// names it. Counts one signing call and one document against the tenant's quotas. With
/// `Idempotency-Key`, a retry returns the first answer (`Idempotent-Replayed: true`)
/// instead of signing again.
#[utoipa::path(
    post,
    path = "/documents/sign",
    operation_id = "sign_document",
    tag = "signing",
    security(("bearer" = ["sign-document"])),
    params(
        SignOptions,
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters: a retry with the same key and request returns the first answer"),
    ),
    request_body(
        description = "The PDF, or a form with the PDF, a seal image and options.",
        content(("application/pdf"), (SignForm = "multipart/form-data"))
    ),
    responses(
        (status = 200, description = "The signed PDF.", content_type = "application/pdf", headers(
            ("X-Signet-Document-Id" = String, description = "The stored document's id (`doc_…`)"),
            ("X-Signet-Document-Sha256" = String, description = "SHA-256 of the signed PDF, hexadecimal"),
            ("Idempotent-Replayed" = String, description = "`true` when this answer is the replay of an earlier request with the same Idempotency-Key"),
        )),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::UnprocessablePdf),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 502, response = crate::openapi::BadGateway),
    )
)]
pub async fn handler(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, Error> {
    let (parts, body) = request.into_parts();
    let (caller, tenant, body) = crate::util::tenant_or_drain(caller, Permission::SignDocument, body).await?;
    let request = Request::from_parts(parts, body);
    let idempotency_key = idempotency_key(request.headers())?;
    let parts_headers = request.headers().clone();
    let received = receive(&state, query.as_deref(), request).await?;
    let mut line = None;
    let (input, input_sha) = match (&received.file, &received.options.document_id) {
        (Some(f), None) => (f.input.clone(), received.file_sha256.clone().unwrap_or_default()),
        (None, Some(id)) => {
            let doc = state.store().document(&tenant, id).await?;
            // a version of a document is signed only as its latest version
            if let Some(l) = state.store().version_line(&tenant, id).await? {
                crate::versions::check_if_match(&parts_headers, &l, false)?;
                if l.head_id != *id {
                    return Err(Error::PreconditionFailed(format!(
                        "document {id} is version {} of {}; its latest version is {} (version {}): sign that",
                        l.version, l.root_id, l.head_id, l.head_version
                    )));
                }
                crate::envelopes::check_line_free(&state, &tenant, &l).await?;
                line = Some(l);
            }
            let path = state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))?;
            (Input::load(path).await.map_err(Error::internal("reading a document"))?, doc.sha256)
        }
        (Some(_), Some(_)) => return Err(Error::bad("bad_request", "send a document or a document_id, not both")),
        (None, None) => {
            return Err(Error::bad("missing_document", "send the PDF as the body or as the form's file part"));
        }
    };
    let fingerprint = {
        let opts = serde_json::to_string(&received.options).unwrap_or_default();
        signet_store::sha256_hex(format!("documents/sign\n{opts}\n{input_sha}\n{}", received.seal.is_some()).as_bytes())
    };
    if let Some(key) = &idempotency_key {
        if let Some(first) = claim_idempotency(&state, &tenant, key, &fingerprint).await? {
            return Ok(first);
        }
    }
    let (options, seal_use) = match with_seal(&state, &caller, &tenant, &received.options).await {
        Ok(o) => o,
        Err(e) => {
            if let Some(key) = &idempotency_key {
                let _ = state.store().release_idempotency_key(&tenant, key).await;
            }
            return Err(e);
        }
    };
    let signed = sign_document(&state, &tenant, &caller.id, &options, &input, received.seal.clone(), "agent").await;
    if let Some(u) = &seal_use {
        crate::seals::record_use(&state, &tenant, u, signed.as_ref().err()).await;
    }
    drop(received);
    let signed = match signed {
        Ok(s) => s,
        Err(e) => {
            if let Some(key) = &idempotency_key {
                let _ = state.store().release_idempotency_key(&tenant, key).await;
            }
            return Err(e);
        }
    };
    let mut headers = document_headers(&signed.document);
    if let Some(l) = &line {
        // the signed output is the next version, unless another version came first
        match state.store().add_version(&tenant, &l.root_id, &l.head_id, &signed.document, false, None).await {
            Ok(Some(version)) => {
                headers.push((header::ETAG.to_string(), crate::versions::etag(&signed.document.id)));
                headers.push((DOCUMENT_VERSION.into(), version.to_string()));
            }
            Ok(None) => tracing::warn!(
                "document {}: signed as {} but another version came first; the signed output is not a version",
                l.root_id,
                signed.document.id
            ),
            Err(e) => tracing::error!("document {}: recording the signed version failed: {e}", l.root_id),
        }
    }
    let stored = StoredResponse { status: 200, headers, body: None, document_id: Some(signed.document.id.clone()) };
    if let Some(key) = &idempotency_key {
        state.store().complete_idempotency_key(&tenant, key, &stored).await?;
    }
    match signed.content {
        Some(content) => Ok(bytes_response(content, &stored.headers)),
        None => document_response(&state, &signed.document, &stored.headers).await,
    }
}

/// The options to sign with: with `seal` given, after checking the caller may use it, its
/// identity (and its image for a visible signature without one); without, the identity
/// named, unless it belongs to a seal.
async fn with_seal(
    state: &AppState,
    caller: &Caller,
    tenant: &str,
    options: &SignOptions,
) -> Result<(SignOptions, Option<crate::seals::SealUse>), Error> {
    let Some(seal) = &options.seal else {
        if let Some(name) = &options.identity {
            crate::signhash::refuse_seal_identity(state, tenant, name).await?;
        }
        return Ok((options.clone(), None));
    };
    if options.identity.is_some() {
        return Err(Error::bad("bad_request", "give an identity or a seal, not both"));
    }
    if state.remote().is_some() {
        return Err(Error::bad(
            "unsupported",
            "signing with a seal through a remote sign API is not supported: sign on the server holding the seal",
        ));
    }
    let seal_use = crate::seals::authorize_use(state, caller, seal, options.seal_request.as_deref()).await?;
    let mut options = options.clone();
    options.identity = Some(seal_use.identity.name.clone());
    if options.template.is_none() && options.image.is_none() {
        options.image = Some(seal_use.seal.image_id.clone());
    }
    Ok((options, Some(seal_use)))
}

/// The `Idempotency-Key` header: 1–255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let v = v.to_str().map_err(|_| Error::bad("bad_idempotency_key", "Idempotency-Key must be visible ASCII"))?.trim();
    if v.is_empty() || v.len() > 255 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::bad("bad_idempotency_key", "Idempotency-Key must be 1–255 visible ASCII characters"));
    }
    Ok(Some(v.to_string()))
}

fn document_headers(doc: &DocumentRecord) -> Vec<(String, String)> {
    vec![
        (header::CONTENT_TYPE.to_string(), "application/pdf".into()),
        (DOCUMENT_ID.into(), doc.id.clone()),
        (DOCUMENT_SHA256.into(), doc.sha256.clone()),
        (header::CONTENT_DISPOSITION.to_string(), format!("attachment; filename=\"{}.pdf\"", doc.id)),
    ]
}

pub(crate) async fn replay(state: &AppState, tenant: &str, stored: StoredResponse) -> Result<Response, Error> {
    match &stored.document_id {
        Some(id) => {
            let doc = state.store().document(tenant, id).await?;
            let mut resp = document_response(state, &doc, &stored.headers).await?;
            resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(resp)
        }
        None => {
            let mut resp = (
                StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
                [(header::CONTENT_TYPE, "application/json")],
                stored.body.unwrap_or_default(),
            )
                .into_response();
            resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(resp)
        }
    }
}

/// A document held in memory, with `headers`.
fn bytes_response(content: bytes::Bytes, headers: &[(String, String)]) -> Response {
    let length = content.len();
    let mut resp = Response::new(Body::from(content));
    add_headers(&mut resp, headers);
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    resp
}

fn add_headers(resp: &mut Response, headers: &[(String, String)]) {
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (header::HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            resp.headers_mut().insert(k, v);
        }
    }
}

/// Streams a stored document with `headers`.
pub async fn document_response(
    state: &AppState,
    doc: &DocumentRecord,
    headers: &[(String, String)],
) -> Result<Response, Error> {
    let file = state.blobs().open(&doc.blob_key).await.map_err(Error::internal("opening a stored document"))?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    let mut resp = Response::new(Body::from_stream(stream));
    add_headers(&mut resp, headers);
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(doc.size as u64));
    Ok(resp)
}

/// Where the uploads of a server killed mid-request are cleaned.
pub fn staging_prefixes() -> [&'static str; 3] {
    [".signet-in-", ".signet-out-", signet_store::DOWNLOAD_PREFIX]
}
