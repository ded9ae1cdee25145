//! Batches: many PDFs signed with one set of options by a pool of workers, persisted so that
//! a restarted server finishes them.
//!
//! - `POST /api/v1/batches` (`sign-document`): a `multipart/form-data` form with any number
//!   of `file` parts and the options as fields, or an `application/zip` body with the options
//!   in the query string (its entries ending in `.pdf`; directories and other entries are
//!   skipped). The options are the agent's ([`SignOptions`]: identity, template, image, page,
//!   rect, text, reason, location, contact, level, certify, field, digest_algorithm). Each
//!   document is streamed to a blob, never held in memory; the options are checked (identity,
//!   template, images, level) before anything is accepted, so a batch that cannot be signed is
//!   refused with a 4xx; then the batch and its items are created in one transaction.
//!   Answer: `202 {"id", "total", "skipped", "status_url"}` (`skipped`: zip entries that are
//!   not PDFs). `Idempotency-Key` works as for the agent.
//! - `GET /api/v1/batches/{id}`: `{id, state, total, done, failed, pending, created_at,
//!   finished_at, items: [{index, name, state, document_id, error}], next_after}`; items come
//!   in pages (`?after=INDEX&limit=N`, default 1,000, at most 10,000; `limit=0` for the
//!   counts only), `next_after` is the `after` of the next page while there is one.
//! - `GET /api/v1/batches/{id}/results.zip`: the signed documents, named after the inputs
//!   (de-duplicated: `a.pdf`, `a (2).pdf`), and `results.json`, each item's outcome. It is
//!   streamed as it is built and may be asked for while the batch runs: it then holds what is
//!   signed so far, and `results.json` says which items are still pending.
//!
//! Another tenant's batch does not exist for the caller (404).
//!
//! **Limits** ([`MAX_BATCH_DOCUMENTS`], [`BATCH_SIZE_FACTOR`], [`MAX_NAME_BYTES`]): each
//! document at most the server's upload limit, all of them together at most
//! [`BATCH_SIZE_FACTOR`] times that, counted as uncompressed bytes actually read from a zip
//! (a zip's declared sizes are checked first, and the copy is bounded too, since they can
//! lie); the zip's entry count and central directory size are read from its end record
//! before the archive is opened, so a zip bomb is refused before it costs memory. Each
//! refusal names the limit.
//!
//! **Workers**: one pool per server ([`BatchRunner`], `--batch-workers`, default the number of
//! cores) signs at most that many documents at a time, shared fairly by all batches. An item
//! is signed with `agent::sign_prepared` (the options resolved once per batch; a stored
//! input of at most `agent::IN_MEMORY_DOCUMENT` bytes is read and signed in memory), and its
//! outcome is recorded by a group committer: the outcomes that arrive while a transaction
//! runs go into the next one.
//!
//! **Exactly once**: a signed item's output document and its usage are written in the same
//! transaction that changes the item from pending to done, and only if it was still pending
//! ([`signet_store::Store::complete_batch_items`]); otherwise its blob is deleted. A server
//! stopped or killed before that commit signs the item again when it starts
//! ([`resume`]), and the blob of the first attempt, named by no record, is removed then. One
//! server process runs a database's batches.
//!
//! Failures are per item with the reason (`not a PDF: …`); a batch always finishes. When the
//! API key that created the batch is revoked, its remaining items fail with that reason
//! (seen within a second). A tenant's request rate makes items wait, not fail; its quota
//! fails them. A failure of the server's own (the database) pauses the batch, which tries
//! again with a growing delay.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path as UrlPath, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use signet_store::{
    Batch, BatchItem, ItemOutcome, ItemResult, ItemState, ItemWithDocument, NewBatchItem, Scope, Store, StoredResponse,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::agent::{self, Output, Prepared, SignOptions};
use crate::auth::{Caller, Permission};
use crate::meter::Admission;
use crate::{AppState, Error};

/// Most documents in one batch.
pub const MAX_BATCH_DOCUMENTS: usize = 50_000;
/// All documents of a batch together: at most this many times the server's upload limit
/// (`--max-upload-mib`, which bounds each document).
pub const BATCH_SIZE_FACTOR: u64 = 8;
/// Longest file name (or zip entry name), in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// Most entries in an uploaded zip, directories and skipped entries included.
pub const MAX_ZIP_ENTRIES: u64 = 2 * MAX_BATCH_DOCUMENTS as u64;
/// Largest central directory of an uploaded zip (what opening it reads into memory).
pub const MAX_ZIP_DIRECTORY_BYTES: u64 = 64 << 20;

/// Items shown per page of `GET /api/v1/batches/{id}` by default, and at most.
const DEFAULT_ITEMS_PAGE: i64 = 1_000;
const MAX_ITEMS_PAGE: i64 = 10_000;
/// Pending items read at once by a batch's driver.
const PENDING_PAGE: i64 = 256;
/// Most outcomes written in one transaction.
const RECORD_GROUP: usize = 512;
/// How often a running batch looks again at the API key that created it.
const KEY_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// A rate-limited item waits and tries again for this long at most, then fails.
const MAX_RATE_WAIT: Duration = Duration::from_secs(300);
/// Chunks of `results.zip` as sent.
const ZIP_CHUNK: usize = 256 * 1024;

/// A document received for a batch, in the staging directory.
struct Input {
    name: String,
    file: tempfile::TempPath,
    sha256: String,
}

/// What a batch request brought.
struct Upload {
    options: SignOptions,
    inputs: Vec<Input>,
    skipped: usize,
}

/// Per-document and per-batch byte limits.
#[derive(Clone, Copy)]
struct Limits {
    per_document: u64,
    total: u64,
}

impl Limits {
    fn of(state: &AppState) -> Limits {
        let per_document = state.max_upload_bytes();
        Limits { per_document, total: per_document.saturating_mul(BATCH_SIZE_FACTOR) }
    }

    /// The refusal for `what`, which went over a limit when `so_far` bytes of the batch were
    /// already received: the per-document limit when it was the tighter one, else the batch's.
    fn refusal(&self, what: &str, so_far: u64) -> Error {
        if self.per_document <= self.total - so_far {
            Error::TooLarge(format!(
                "{what} is larger than the limit of {} bytes per document (the server's upload limit)",
                self.per_document
            ))
        } else {
            Error::TooLarge(format!(
                "the documents add up to more than the limit of {} bytes per batch ({BATCH_SIZE_FACTOR} × the upload limit)",
                self.total
            ))
        }
    }
}

/// Starts a batch: many PDFs signed with one set of options, in the background.
///
/// Scope `sign-document`.
#[utoipa::path(
    post,
    path = "/batches",
    tag = "signing",
    security(("bearer" = ["sign-document"])),
    request_body(description = "Many PDFs: multipart `file` parts with the agent's option fields, or a zip of PDFs with the options in the query string.", content(("multipart/form-data"), ("application/zip"))),
    responses(
        (status = 202, description = "Accepted: `{id, total, skipped, status_url}`; the documents are signed in the background."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, Error> {
    let (parts, body) = request.into_parts();
    let (caller, tenant, body) = crate::util::tenant_or_drain(caller, Permission::SignDocument, body).await?;
    let request = Request::from_parts(parts, body);
    let idempotency_key = agent::idempotency_key(request.headers())?;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let is_zip = content_type.starts_with("application/zip") || content_type.starts_with("application/x-zip");
    let upload = if content_type.starts_with("multipart/form-data") {
        receive_multipart(&state, query.as_deref(), request).await?
    } else if is_zip {
        receive_zip(&state, query.as_deref(), request.into_body()).await?
    } else {
        crate::util::drain(request.into_body()).await;
        return Err(Error::UnsupportedMediaType { expected: "multipart/form-data or application/zip" });
    };
    if upload.options.document_id.is_some() {
        return Err(Error::bad("bad_option", "a batch signs the documents it is sent; document_id is for the agent"));
    }
    if upload.options.name.is_some() {
        return Err(Error::bad(
            "bad_option",
            "each document of a batch is named after its file; name is for the agent",
        ));
    }
    if upload.inputs.is_empty() {
        return Err(Error::bad(
            "missing_document",
            if is_zip { "the zip holds no entry ending in .pdf" } else { "send the PDFs as the form's file parts" },
        ));
    }
    if upload.options.seal.is_some() {
        return Err(Error::bad(
            "bad_option",
            "batches do not sign with seals yet: sign each document through the agent with seal=…",
        ));
    }
    if let Some(name) = &upload.options.identity {
        crate::signhash::refuse_seal_identity(&state, &tenant, name).await?;
    }
    // refuse now what every item would fail with
    agent::prepare(&state, &tenant, &upload.options, None).await?;
    let mut options = serde_json::to_value(&upload.options).map_err(|e| Error::bad("bad_option", e.to_string()))?;
    if let Some(m) = options.as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    let fingerprint = {
        let mut text = format!("batches\n{options}\n");
        for input in &upload.inputs {
            text.push_str(&format!("{}\0{}\n", input.name, input.sha256));
        }
        signet_store::sha256_hex(text.as_bytes())
    };
    if let Some(key) = &idempotency_key {
        if let Some(first) = agent::claim_idempotency(&state, &tenant, key, &fingerprint).await? {
            return Ok(first);
        }
    }
    let batch = match store_batch(&state, &tenant, &caller.id, &options, upload.inputs).await {
        Ok(b) => b,
        Err(e) => {
            if let Some(key) = &idempotency_key {
                let _ = state.store().release_idempotency_key(&tenant, key).await;
            }
            return Err(e);
        }
    };
    let status_url = format!("/api/v1/batches/{}", batch.id);
    let body = json!({"id": batch.id, "total": batch.total, "skipped": upload.skipped, "status_url": status_url});
    let stored = StoredResponse {
        status: StatusCode::ACCEPTED.as_u16(),
        headers: vec![
            (header::CONTENT_TYPE.to_string(), "application/json".into()),
            (header::LOCATION.to_string(), status_url.clone()),
        ],
        body: Some(body.to_string()),
        document_id: None,
    };
    if let Some(key) = &idempotency_key {
        state.store().complete_idempotency_key(&tenant, key, &stored).await?;
    }
    tracing::info!("batch {} of {} documents accepted for tenant {tenant}", batch.id, batch.total);
    state.batches().submit(&state, batch);
    let mut resp = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&status_url) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Moves the inputs into the blob store under the new batch's id, then creates the batch and
/// its items in one transaction. On failure, the blobs written are deleted.
async fn store_batch(
    state: &AppState,
    tenant: &str,
    caller: &str,
    options: &serde_json::Value,
    inputs: Vec<Input>,
) -> Result<Batch, Error> {
    let id = signet_store::new_batch_id();
    let prefix = batch_prefix(tenant, &id);
    let mut items = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        let key = format!("{prefix}in/{i}.pdf");
        if let Err(e) = state.blobs().put_file(&key, input.file, false).await {
            delete_blobs(state, items.iter().map(|i: &NewBatchItem| i.input_blob.clone()).collect()).await;
            return Err(Error::internal("storing a batch document")(e));
        }
        items.push(NewBatchItem { name: input.name, input_blob: key });
    }
    match state.store().create_batch(&id, tenant, caller, options, &items).await {
        Ok(b) => Ok(b),
        Err(e) => {
            delete_blobs(state, items.into_iter().map(|i| i.input_blob).collect()).await;
            Err(e.into())
        }
    }
}

async fn delete_blobs(state: &AppState, keys: Vec<String>) {
    for key in keys {
        if let Err(e) = state.blobs().delete(&key).await {
            tracing::warn!("removing {key}: {e}");
        }
    }
}

/// Where a batch's blobs live: `batches/TENANT/BATCH/` (inputs in `in/`, outputs in `out/`).
fn batch_prefix(tenant: &str, batch_id: &str) -> String {
    format!("batches/{}/{batch_id}/", tenant.to_ascii_lowercase())
}

fn parse_query(query: Option<&str>) -> Result<SignOptions, Error> {
    serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| Error::bad("bad_option", format!("query string: {e}")))
}

/// A document's name from a client's file name: its last path component, control characters
/// removed; `document-N.pdf` when nothing is left.
fn document_name(raw: Option<&str>, index: usize) -> Result<String, Error> {
    let raw = raw.unwrap_or("");
    if raw.len() > MAX_NAME_BYTES {
        return Err(Error::bad(
            "bad_name",
            format!("the name of document {} is {} bytes long; at most {MAX_NAME_BYTES}", index + 1, raw.len()),
        ));
    }
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = base.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    Ok(if name.is_empty() || name == "." || name == ".." { format!("document-{}.pdf", index + 1) } else { name.into() })
}

async fn receive_multipart(state: &AppState, query: Option<&str>, request: Request) -> Result<Upload, Error> {
    let limits = Limits::of(state);
    let dir = state.blobs().staging_dir();
    let options = parse_query(query)?;
    let mut fields = serde_json::Map::new();
    let mut inputs: Vec<Input> = Vec::new();
    let mut total = 0u64;
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| Error::bad("bad_multipart", format!("the form: {e}")))?;
    while let Some(field) =
        multipart.next_field().await.map_err(|e| Error::bad("bad_multipart", format!("the form: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" | "files" | "file[]" => {
                if inputs.len() >= MAX_BATCH_DOCUMENTS {
                    return Err(Error::TooLarge(format!("a batch holds at most {MAX_BATCH_DOCUMENTS} documents")));
                }
                let doc_name = document_name(field.file_name(), inputs.len())?;
                let limit = limits.per_document.min(limits.total - total);
                let (file, sha256, size) = match agent::receive_file(agent::MultipartBody(field), &dir, limit).await {
                    Ok(r) => r,
                    Err(Error::PayloadTooLarge { .. }) => {
                        return Err(limits.refusal(&format!("document '{doc_name}'"), total));
                    }
                    // an empty part is a document that will fail as "not a PDF"
                    Err(Error::EmptyBody) => empty_file(&dir)?,
                    Err(e) => return Err(e),
                };
                total += size;
                inputs.push(Input { name: doc_name, file, sha256 });
            }
            "seal" => {
                return Err(Error::bad(
                    "bad_multipart",
                    "a batch takes a stored seal image: upload it with POST /api/v1/images and send image=img_…",
                ));
            }
            _ => {
                agent::add_option_part(&mut fields, field, name).await?;
            }
        }
    }
    let options = agent::with_form_fields(options, fields)?;
    Ok(Upload { options, inputs, skipped: 0 })
}

fn empty_file(dir: &Path) -> Result<(tempfile::TempPath, String, u64), Error> {
    let file = tempfile::Builder::new()
        .prefix(".signet-in-")
        .suffix(".pdf")
        .tempfile_in(dir)
        .map_err(Error::internal("creating an upload file"))?;
    Ok((file.into_temp_path(), signet_store::sha256_hex(b""), 0))
}

async fn receive_zip(state: &AppState, query: Option<&str>, body: Body) -> Result<Upload, Error> {
    let options = parse_query(query)?;
    let limits = Limits::of(state);
    let dir = state.blobs().staging_dir();
    let (zip, _, _) = agent::receive_file(body, &dir, limits.total).await.map_err(|e| match e {
        Error::PayloadTooLarge { limit } => Error::TooLarge(format!(
            "the zip is larger than the limit of {limit} bytes per batch ({BATCH_SIZE_FACTOR} × the upload limit)"
        )),
        e => e,
    })?;
    let (inputs, skipped) = tokio::task::spawn_blocking(move || unzip(&zip, &dir, limits))
        .await
        .map_err(|e| Error::Internal { context: "reading a zip", source: Box::new(e) })??;
    Ok(Upload { options, inputs, skipped })
}

fn bad_zip(message: impl Into<String>) -> Error {
    Error::bad("bad_zip", message)
}

/// Extracts the PDF entries of the zip at `path` into `dir`, within `limits`; returns them
/// and how many other entries (not directories) were skipped.
fn unzip(path: &Path, dir: &Path, limits: Limits) -> Result<(Vec<Input>, usize), Error> {
    let mut file = std::fs::File::open(path).map_err(Error::internal("opening an uploaded zip"))?;
    let (entries, directory_size) = central_directory(&mut file)?;
    if entries > MAX_ZIP_ENTRIES {
        return Err(Error::TooLarge(format!("the zip has {entries} entries; at most {MAX_ZIP_ENTRIES}")));
    }
    if directory_size > MAX_ZIP_DIRECTORY_BYTES {
        return Err(Error::TooLarge(format!(
            "the zip's central directory is {directory_size} bytes; at most {MAX_ZIP_DIRECTORY_BYTES}"
        )));
    }
    file.seek(SeekFrom::Start(0)).map_err(Error::internal("reading an uploaded zip"))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file))
        .map_err(|e| bad_zip(format!("the body is not a readable zip archive: {e}")))?;
    let mut inputs: Vec<Input> = Vec::new();
    let mut skipped = 0;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| bad_zip(format!("zip entry {}: {e}", i + 1)))?;
        let raw = entry.name().to_string();
        if raw.len() > MAX_NAME_BYTES {
            return Err(bad_zip(format!(
                "zip entry {}: its name is {} bytes long; at most {MAX_NAME_BYTES}",
                i + 1,
                raw.len()
            )));
        }
        if entry.is_dir() {
            continue;
        }
        let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
        // AppleDouble files (`__MACOSX/`, `._x.pdf`) end in .pdf and are not PDFs
        let is_pdf =
            base.to_ascii_lowercase().ends_with(".pdf") && !base.starts_with("._") && !raw.starts_with("__MACOSX/");
        if !is_pdf {
            skipped += 1;
            continue;
        }
        if inputs.len() >= MAX_BATCH_DOCUMENTS {
            return Err(Error::TooLarge(format!("a batch holds at most {MAX_BATCH_DOCUMENTS} documents")));
        }
        let what = format!("zip entry '{raw}'");
        if entry.size() > limits.per_document || entry.size() > limits.total - total {
            return Err(limits.refusal(&format!("{what} ({} bytes uncompressed)", entry.size()), total));
        }
        // the declared size can lie: the copy stops one byte past the limit
        let limit = limits.per_document.min(limits.total - total);
        let (file, sha256, size) = copy_bounded(&mut entry, dir, limit).map_err(|e| match e {
            CopyError::Read(e) => bad_zip(format!("{what}: {e}")),
            CopyError::Write(e) => Error::internal("writing a zip entry")(e),
        })?;
        if size > limit {
            return Err(limits.refusal(&what, total));
        }
        total += size;
        inputs.push(Input { name: document_name(Some(base), inputs.len())?, file, sha256 });
    }
    Ok((inputs, skipped))
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies at most `limit + 1` bytes of `from` into a new file in `dir`, hashing them.
fn copy_bounded(from: &mut impl Read, dir: &Path, limit: u64) -> Result<(tempfile::TempPath, String, u64), CopyError> {
    use sha2::Digest;
    let file =
        tempfile::Builder::new().prefix(".signet-in-").suffix(".pdf").tempfile_in(dir).map_err(CopyError::Write)?;
    let (file, path) = file.into_parts();
    let mut out = io::BufWriter::with_capacity(256 * 1024, file);
    let mut from = from.take(limit.saturating_add(1));
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = from.read(&mut buf).map_err(CopyError::Read)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
    out.flush().map_err(CopyError::Write)?;
    Ok((path, signet_store::hex(&hasher.finalize()), size))
}

/// The entry count and central directory size from a zip's end records (APPNOTE 6.3.10
/// §4.3.16 end of central directory, §4.3.14–15 their ZIP64 forms), read before the
/// archive is opened: opening reads the whole directory into memory.
fn central_directory(file: &mut std::fs::File) -> Result<(u64, u64), Error> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    const EOCD64: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    let io_err = Error::internal("reading an uploaded zip");
    let len = file.seek(SeekFrom::End(0)).map_err(Error::internal("reading an uploaded zip"))?;
    // the record is 22 bytes and ends with a comment of at most 65,535 bytes
    let tail_len = len.min(22 + 65_535);
    let tail_start = len - tail_len;
    let mut tail = vec![0u8; tail_len as usize];
    file.seek(SeekFrom::Start(tail_start)).and_then(|_| file.read_exact(&mut tail)).map_err(io_err)?;
    let not_zip = || bad_zip("the body is not a zip archive (no end of central directory record)");
    if tail.len() < 22 {
        return Err(not_zip());
    }
    let at = (0..=tail.len() - 22).rev().find(|&p| tail[p..p + 4] == EOCD).ok_or_else(not_zip)?;
    let u16_at = |b: &[u8], p: usize| u64::from(u16::from_le_bytes([b[p], b[p + 1]]));
    let u32_at = |b: &[u8], p: usize| u64::from(u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]));
    let u64_at = |b: &[u8], p: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[p..p + 8]);
        u64::from_le_bytes(x)
    };
    let entries = u16_at(&tail, at + 10);
    let size = u32_at(&tail, at + 12);
    if entries != 0xFFFF && size != 0xFFFF_FFFF {
        return Ok((entries, size));
    }
    // ZIP64: a 20-byte locator precedes the record and points at the ZIP64 record
    if at < 20 || tail[at - 20..at - 16] != LOCATOR {
        return Err(bad_zip("the zip's ZIP64 end of central directory locator is missing"));
    }
    let offset = u64_at(&tail, at - 20 + 8);
    let mut record = [0u8; 56];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut record))
        .map_err(|_| bad_zip("the zip's ZIP64 end of central directory record is out of the file"))?;
    if record[..4] != EOCD64 {
        return Err(bad_zip("the zip's ZIP64 end of central directory record is not where its locator says"));
    }
    Ok((u64_at(&record, 32), u64_at(&record, 40)))
}

/// `GET /api/v1/batches/{id}` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/v1/batches/{id}` answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchView {
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
    pub items: Vec<ItemView>,
    /// The `after` of the next page, while there is one.
    pub next_after: Option<i64>,
}

/// One item of [`BatchView`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ItemView {
    /// Position in the batch, from 0.
    pub index: i64,
    /// The file name given.
    pub name: String,
    /// `pending`, `done` or `failed`.
    pub state: ItemState,
    /// The signed document (`GET /api/v1/documents/{id}/content`), once done.
    pub document_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl From<BatchItem> for ItemView {
    fn from(i: BatchItem) -> Self {
        ItemView { index: i.idx, name: i.name, state: i.state, document_id: i.document_id, error: i.error }
    }
}

/// A batch's progress and the outcome of each document.
///
/// Scope `sign-document`.
#[utoipa::path(
    get,
    path = "/batches/{id}",
    tag = "signing",
    security(("bearer" = ["sign-document"])),
    params(
        ("id" = String, Path, description = "The batch's id (`bat_…`)"),
        ("after" = Option<i64>, Query, description = "Items after this index"),
        ("limit" = Option<i64>, Query, description = "At most this many items (default 1000, at most 10000; 0: counts only)"),
    ),
    responses(
        (status = 200, description = "Progress `{state, total, done, failed, pending, items, next_after}`."),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<BatchView>, Error> {
    let tenant = caller.may(Permission::SignDocument)?;
    let page: PageQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| Error::bad("bad_query", format!("query string: {e} (after=INDEX, limit=N)")))?;
    let limit = page.limit.unwrap_or(DEFAULT_ITEMS_PAGE);
    if !(0..=MAX_ITEMS_PAGE).contains(&limit) {
        return Err(Error::bad("bad_query", format!("limit is {limit}; it must be 0 to {MAX_ITEMS_PAGE}")));
    }
    let after = page.after.unwrap_or(-1);
    if after < -1 {
        return Err(Error::bad("bad_query", format!("after is {after}; item indexes start at 0")));
    }
    let batch = state.store().batch(Some(tenant), &id).await?;
    let progress = state.store().batch_progress(&id).await?;
    let mut items = if limit > 0 { state.store().batch_items_page(&id, after, limit + 1).await? } else { Vec::new() };
    let next_after = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|i| i.idx)
    } else {
        None
    };
    Ok(Json(BatchView {
        id: batch.id,
        state: batch.state,
        total: batch.total,
        done: progress.done,
        failed: progress.failed,
        pending: progress.pending,
        created_at: batch.created_at,
        finished_at: batch.finished_at,
        items: items.into_iter().map(ItemView::from).collect(),
        next_after,
    }))
}

/// The signed documents of a batch as a zip with `results.json`: streamed while it is written, from the items as
/// they are when asked (a running batch gives what is signed so far).
///
/// Scope `sign-document`.
#[utoipa::path(
    get,
    path = "/batches/{id}/results.zip",
    tag = "signing",
    security(("bearer" = ["sign-document"])),
    params(("id" = String, Path, description = "The batch's id (`bat_…`)")),
    responses(
        (status = 200, description = "A zip of the signed documents so far, named after the inputs, with `results.json`.", content(("application/zip"))),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Error> {
    let tenant = caller.may(Permission::SignDocument)?;
    let batch = state.store().batch(Some(tenant), &id).await?;
    let items = state.store().batch_items_with_documents(&id, -1, i64::MAX).await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(4);
    let batch_id = batch.id.clone();
    let blobs = state.blobs().clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter { tx: tx.clone(), buf: Vec::with_capacity(ZIP_CHUNK) };
        // each document fetched as its turn comes (from S3: into the local cache)
        let open = |key: &str| std::fs::File::open(runtime.block_on(blobs.local_file(key))?);
        if let Err(e) = write_results(&batch, &items, open, writer) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                tracing::error!("batch {}: writing results.zip failed: {e}", batch.id);
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut resp = Response::new(Body::from_stream(stream));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{batch_id}-results.zip\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Sends what is written, in chunks, to the response body.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(ZIP_CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= ZIP_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() { Ok(()) } else { self.send() }
    }
}

/// `name`, ending in `.pdf`, not yet in `taken` (compared without case): `a.pdf`, then
/// `a (2).pdf`, `a (3).pdf`…
fn unique_name(name: &str, taken: &mut HashSet<String>) -> String {
    let stem = if name.to_ascii_lowercase().ends_with(".pdf") { &name[..name.len() - 4] } else { name };
    let mut candidate = format!("{stem}.pdf");
    let mut n = 2;
    while !taken.insert(candidate.to_lowercase()) {
        candidate = format!("{stem} ({n}).pdf");
        n += 1;
    }
    candidate
}

/// A zip time (local fields, here UTC) from Unix milliseconds.
fn zip_time(millis: i64) -> zip::DateTime {
    const DAY: i64 = 86_400_000;
    let (y, m, d) = signet_crypto::asn1::civil_from_days(millis.div_euclid(DAY));
    let secs = millis.rem_euclid(DAY) / 1000;
    zip::DateTime::from_date_and_time(
        u16::try_from(y).unwrap_or(1980),
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    )
    .unwrap_or_default()
}

/// Writes the zip of the done items' documents, each opened by `open` from its blob key, and
/// `results.json`.
fn write_results(
    batch: &Batch,
    items: &[ItemWithDocument],
    open: impl Fn(&str) -> io::Result<std::fs::File>,
    writer: ChannelWriter,
) -> io::Result<()> {
    let zip_err = |e: zip::result::ZipError| io::Error::other(e.to_string());
    let mut zip = zip::ZipWriter::new_stream(writer);
    let mut taken = HashSet::new();
    taken.insert("results.json".to_string());
    let mut manifest = Vec::with_capacity(items.len());
    let (mut done, mut failed, mut pending) = (0, 0, 0);
    for entry in items {
        let item = &entry.item;
        match item.state {
            ItemState::Done => done += 1,
            ItemState::Failed => failed += 1,
            ItemState::Pending => pending += 1,
        }
        let mut file_name = None;
        if let Some(doc) = entry.document.as_ref().filter(|_| item.state == ItemState::Done) {
            let name = unique_name(&item.name, &mut taken);
            // PDFs are compressed inside already: stored as they are
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .last_modified_time(zip_time(doc.created_at))
                .large_file(doc.size as u64 >= u64::from(u32::MAX))
                .unix_permissions(0o644);
            zip.start_file(name.as_str(), options).map_err(zip_err)?;
            let mut f = open(&doc.blob_key)?;
            io::copy(&mut f, &mut zip)?;
            file_name = Some(name);
        }
        manifest.push(json!({
            "index": item.idx,
            "name": item.name,
            "state": item.state,
            "file": file_name,
            "document_id": item.document_id,
            "sha256": entry.document.as_ref().map(|d| d.sha256.clone()),
            "error": item.error,
        }));
    }
    let manifest = json!({
        "batch_id": batch.id,
        "state": if pending == 0 { "done" } else { "running" },
        "total": items.len(),
        "done": done,
        "failed": failed,
        "pending": pending,
        "created_at": batch.created_at,
        "items": manifest,
    });
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time(signet_store::now_millis()))
        .unix_permissions(0o644);
    zip.start_file("results.json", options).map_err(zip_err)?;
    serde_json::to_writer_pretty(&mut zip, &manifest).map_err(io::Error::other)?;
    let mut writer = zip.finish().map_err(zip_err)?.into_inner();
    writer.flush()
}

type RecordJob = (ItemOutcome, oneshot::Sender<Result<bool, String>>);

/// The batch worker pool: at most `workers` documents signed at a time, shared by every
/// batch; one driver task per running batch; one group committer for the outcomes.
#[derive(Debug)]
pub struct BatchRunner {
    workers: usize,
    permits: Arc<Semaphore>,
    recorder: mpsc::Sender<RecordJob>,
    active: Mutex<HashSet<String>>,
    drivers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    stopping: AtomicBool,
}

impl BatchRunner {
    /// A pool of `workers` (at least 1) over `store`; starts its recorder task (needs a Tokio
    /// runtime). Batches run once [`resume`] or a new batch submits them.
    pub fn start(store: Store, workers: usize) -> BatchRunner {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::channel::<RecordJob>(8192);
        tokio::spawn(record_loop(store, rx));
        BatchRunner {
            workers,
            permits: Arc::new(Semaphore::new(workers)),
            recorder: tx,
            active: Mutex::new(HashSet::new()),
            drivers: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
        }
    }

    /// How many documents are signed at a time.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Starts running `batch` unless it runs already (or the server is stopping: it resumes
    /// at the next start).
    pub fn submit(&self, state: &AppState, batch: Batch) {
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        if !lock(&self.active).insert(batch.id.clone()) {
            return;
        }
        let handle = tokio::spawn(drive(state.clone(), Arc::new(batch)));
        let mut drivers = lock(&self.drivers);
        drivers.retain(|h| !h.is_finished());
        drivers.push(handle);
    }

    /// Stops starting documents and waits (at most `within`) for those being signed to be
    /// recorded. Unfinished batches resume at the next start.
    pub async fn shutdown(&self, within: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        let handles = std::mem::take(&mut *lock(&self.drivers));
        let running = handles.iter().filter(|h| !h.is_finished()).count();
        if running > 0 {
            tracing::info!("waiting for the documents being signed in {running} batch(es)");
        }
        let deadline = tokio::time::Instant::now() + within;
        for h in handles {
            let _ = tokio::time::timeout_at(deadline, h).await;
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Records an outcome (group commit); whether it applied (the item was still pending).
    async fn record(&self, outcome: ItemOutcome) -> Result<bool, String> {
        let (tx, rx) = oneshot::channel();
        self.recorder.send((outcome, tx)).await.map_err(|_| "the batch recorder has stopped".to_string())?;
        rx.await.map_err(|_| "the batch recorder has stopped".to_string())?
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn record_loop(store: Store, mut rx: mpsc::Receiver<RecordJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < RECORD_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (outcomes, replies): (Vec<ItemOutcome>, Vec<_>) = jobs.into_iter().unzip();
        let mut result = store.complete_batch_items(&outcomes).await;
        if result.is_err() {
            // one retry: SQLite may have been busy beyond its timeout
            tokio::time::sleep(Duration::from_millis(50)).await;
            result = store.complete_batch_items(&outcomes).await;
        }
        match result {
            Ok(applied) => {
                for (reply, a) in replies.into_iter().zip(applied) {
                    let _ = reply.send(Ok(a));
                }
            }
            Err(e) => {
                tracing::error!("recording {} batch item outcomes failed: {e}", outcomes.len());
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// Resumes every unfinished batch (their pending items): at start, after the blobs of
/// outputs signed but never recorded (a server killed mid-item) are removed.
pub async fn resume(state: &AppState) -> Result<usize, Error> {
    let batches = state.store().running_batches().await?;
    let n = batches.len();
    for batch in batches {
        if let Err(e) = remove_unrecorded_outputs(state, &batch).await {
            tracing::warn!("batch {}: looking for unrecorded outputs: {e}", batch.id);
        }
        state.batches().submit(state, batch);
    }
    if n > 0 {
        tracing::info!("resuming {n} unfinished batch(es)");
    }
    Ok(n)
}

async fn remove_unrecorded_outputs(state: &AppState, batch: &Batch) -> Result<(), Error> {
    let dir_key = format!("{}out", batch_prefix(&batch.tenant_id, &batch.id));
    let outputs = state.blobs().list(&dir_key).await.map_err(Error::internal("listing a batch's outputs"))?;
    if outputs.is_empty() {
        return Ok(());
    }
    let recorded: HashSet<String> = state
        .store()
        .batch_items(&batch.id)
        .await?
        .into_iter()
        .filter_map(|i| i.document_id.map(|d| format!("{dir_key}/{d}.pdf")))
        .collect();
    let mut removed = 0;
    for key in outputs {
        if !recorded.contains(&key) {
            state.blobs().delete(&key).await.map_err(Error::internal("removing an unrecorded output"))?;
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!("batch {}: removed {removed} output(s) signed but never recorded", batch.id);
    }
    Ok(())
}

/// Runs a batch until no item is pending, then finishes it.
async fn drive(state: AppState, batch: Arc<Batch>) {
    let mut backoff = Duration::from_millis(500);
    loop {
        if let Err(e) = run_pending(&state, &batch).await {
            tracing::error!("batch {}: {e}", batch.id);
        }
        if state.batches().stopping() {
            break;
        }
        match state.store().finish_batch(&batch.id).await {
            Ok(true) => {
                tracing::info!("batch {} finished", batch.id);
                state.webhooks().batch_completed(&batch).await;
                break;
            }
            // an outcome was not recorded (the database failed): those items run again
            Ok(false) => {}
            Err(e) => tracing::error!("batch {}: finishing: {e}", batch.id),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
    lock(&state.batches().active).remove(&batch.id);
}

/// The API key behind a running batch, looked at again at most once per
/// [`KEY_CHECK_INTERVAL`] for all of the batch's items; a refusal, once seen, stays.
struct KeyWatch {
    last: tokio::sync::Mutex<(Instant, Option<String>)>,
}

impl KeyWatch {
    /// Just checked (by [`run_pending`], before it starts).
    fn new() -> KeyWatch {
        KeyWatch { last: tokio::sync::Mutex::new((Instant::now(), None)) }
    }

    async fn refusal(&self, state: &AppState, batch: &Batch) -> Option<String> {
        let mut last = self.last.lock().await;
        if last.1.is_none() && last.0.elapsed() >= KEY_CHECK_INTERVAL {
            match caller_refusal(state, batch).await {
                Ok(r) => last.1 = r,
                Err(e) => tracing::warn!("batch {}: checking its API key: {e}", batch.id),
            }
            last.0 = Instant::now();
        }
        last.1.clone()
    }
}

/// Why the batch's items must not be signed any more, if its API key was revoked.
async fn caller_refusal(state: &AppState, batch: &Batch) -> Result<Option<String>, Error> {
    match state.store().api_key(&batch.caller).await {
        Ok(k) if k.revoked_at.is_some() => Ok(Some(format!("the API key {} that created the batch was revoked", k.id))),
        Ok(k) if !k.has(Scope::SignDocument) => {
            Ok(Some(format!("the API key {} that created the batch lacks the 'sign-document' scope", k.id)))
        }
        Ok(_) => Ok(None),
        Err(signet_store::Error::NotFound(_)) => {
            Ok(Some(format!("the API key {} that created the batch no longer exists", batch.caller)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn fail_pending(state: &AppState, batch: &Batch, reason: &str) -> Result<(), Error> {
    let n = state.store().fail_pending_batch_items(&batch.id, reason).await?;
    tracing::warn!("batch {}: {n} pending item(s) failed: {reason}", batch.id);
    Ok(())
}

/// Signs the batch's pending items, at most the pool's worker count at a time across all
/// batches; returns once every item started here is recorded (or could not be).
async fn run_pending(state: &AppState, batch: &Arc<Batch>) -> Result<(), Error> {
    if let Some(reason) = caller_refusal(state, batch).await? {
        return fail_pending(state, batch, &reason).await;
    }
    let options: SignOptions = match serde_json::from_value(batch.options.clone()) {
        Ok(o) => o,
        Err(e) => return fail_pending(state, batch, &format!("the batch's options do not parse: {e}")).await,
    };
    // the identity, template or an image may have gone since the batch was accepted
    let prepared = match agent::prepare(state, &batch.tenant_id, &options, None).await {
        Ok(p) => p,
        Err(e) if e.status().is_client_error() && !matches!(e, Error::TooManyRequests { .. }) => {
            return fail_pending(state, batch, &e.to_string()).await;
        }
        Err(e) => return Err(e),
    };
    let runner = state.batches();
    // items signed and waiting for their outcome to be written, at most
    let max_in_flight = runner.workers * 64;
    let mut tasks = tokio::task::JoinSet::new();
    let mut after = -1;
    let watch = Arc::new(KeyWatch::new());
    let dispatched: Result<(), Error> = async {
        'pages: loop {
            let page = state.store().pending_batch_items(&batch.id, after, PENDING_PAGE).await?;
            if page.is_empty() {
                break;
            }
            for item in page {
                after = item.idx;
                while tasks.len() >= max_in_flight {
                    tasks.join_next().await;
                }
                let permit = runner
                    .permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| Error::Internal { context: "waiting for a batch worker", source: Box::new(e) })?;
                if runner.stopping() {
                    break 'pages;
                }
                if let Some(reason) = watch.refusal(state, batch).await {
                    fail_pending(state, batch, &reason).await?;
                    break 'pages;
                }
                tasks.spawn(sign_item(state.clone(), batch.clone(), prepared.clone(), watch.clone(), item, permit));
                while tasks.try_join_next().is_some() {}
            }
        }
        Ok(())
    }
    .await;
    while tasks.join_next().await.is_some() {}
    dispatched
}

/// Signs one item and records its outcome; deletes the output if the outcome did not apply.
async fn sign_item(
    state: AppState,
    batch: Arc<Batch>,
    prepared: Prepared,
    watch: Arc<KeyWatch>,
    item: BatchItem,
    mut permit: OwnedSemaphorePermit,
) {
    let output = Output {
        key_prefix: format!("{}out/", batch_prefix(&batch.tenant_id, &batch.id)),
        name: Some(item.name.clone()),
        source_id: None,
    };
    let input = match state.blobs().local_file(&item.input_blob).await {
        Ok(path) => agent::Input::load(path).await,
        Err(e) => Err(e),
    };
    let signed = match input {
        Err(e) => Err(Error::internal("fetching a batch document")(e)),
        Ok(input) => {
            let mut waited = Duration::ZERO;
            loop {
                // an item that waited (for a worker, for the rate) sees a revocation too
                if let Some(reason) = watch.refusal(&state, &batch).await {
                    break Err(Error::Forbidden(reason));
                }
                let r =
                    agent::sign_prepared(&state, &batch.tenant_id, &batch.caller, &prepared, &input, &output, "batch")
                        .await;
                match r {
                    // the tenant's request rate: wait for it rather than fail
                    Err(Error::TooManyRequests { retry_after, .. }) if retry_after <= 5 && waited < MAX_RATE_WAIT => {
                        let pause = Duration::from_secs(retry_after.max(1));
                        waited += pause;
                        drop(permit);
                        tokio::time::sleep(pause).await;
                        permit = match state.batches().permits.clone().acquire_owned().await {
                            Ok(p) => p,
                            Err(_) => return,
                        };
                    }
                    r => break r,
                }
            }
        }
    };
    drop(permit);
    // the signing records and the outcome in one transaction (a failed signing wrote its own)
    let outcome = match &signed {
        Ok(u) => ItemOutcome {
            batch_id: batch.id.clone(),
            idx: item.idx,
            result: ItemResult::Done { document: Box::new(u.document.clone()), usage: Some(u.admission.usage()) },
            signatures: u.signatures.clone(),
            calls: u.calls.clone(),
        },
        Err(e) => ItemOutcome {
            batch_id: batch.id.clone(),
            idx: item.idx,
            result: ItemResult::Failed(failure_reason(&batch, item.idx, e)),
            signatures: Vec::new(),
            calls: None,
        },
    };
    let unrecorded = signed.ok();
    let applied = state.batches().record(outcome).await;
    if let Err(e) = &applied {
        tracing::error!("batch {}: item {} not recorded (it will be signed again): {e}", batch.id, item.idx);
    }
    if let Some(u) = unrecorded {
        if applied != Ok(true) {
            state.meter().refund(&u.admission);
            if let Err(e) = state.blobs().delete(&u.document.blob_key).await {
                tracing::warn!("batch {}: removing {}: {e}", batch.id, u.document.blob_key);
            }
        }
        if let (Err(_), Some(calls)) = (&applied, u.calls) {
            // nothing was written: the calls counted in memory are given back too
            state.meter().refund(&Admission {
                tenant_id: calls.tenant_id,
                period_start: calls.period_start,
                calls: calls.calls,
                documents: 0,
            });
        }
    }
}

/// What an item's `error` says: the client's problem in its words, a server-side failure
/// only as such (the log has the details).
fn failure_reason(batch: &Batch, idx: i64, e: &Error) -> String {
    match e {
        Error::UnreadablePdf(p) => format!("not a PDF: {p}"),
        Error::EncryptedPdf(p) => format!("encrypted PDF: {p}"),
        e if e.status().is_server_error() => {
            tracing::error!("batch {}: item {idx}: {e}", batch.id);
            "the server failed to sign this document (see its log)".into()
        }
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_end_in_pdf() {
        let mut taken = HashSet::new();
        assert_eq!(unique_name("a.pdf", &mut taken), "a.pdf");
        assert_eq!(unique_name("A.PDF", &mut taken), "A (2).pdf");
        assert_eq!(unique_name("a.pdf", &mut taken), "a (3).pdf");
        assert_eq!(unique_name("scan", &mut taken), "scan.pdf");
    }

    #[test]
    fn document_names_lose_paths_and_control_characters() {
        assert_eq!(document_name(Some("../../etc/x.pdf"), 0).ok().as_deref(), Some("x.pdf"));
        assert_eq!(document_name(Some("C:\\a\\b\u{7}.pdf"), 0).ok().as_deref(), Some("b.pdf"));
        assert_eq!(document_name(Some(".."), 4).ok().as_deref(), Some("document-5.pdf"));
        assert_eq!(document_name(None, 0).ok().as_deref(), Some("document-1.pdf"));
        assert!(document_name(Some(&"x".repeat(300)), 0).is_err());
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut out);
        for (name, data) in entries {
            let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            if name.ends_with('/') {
                z.add_directory(*name, o).unwrap_or_else(|e| unreachable!("{e}"));
            } else {
                z.start_file(*name, o).unwrap_or_else(|e| unreachable!("{e}"));
                z.write_all(data).unwrap_or_else(|e| unreachable!("{e}"));
            }
        }
        z.finish().unwrap_or_else(|e| unreachable!("{e}"));
        out.into_inner()
    }

    fn unzip_bytes(bytes: &[u8], limits: Limits) -> Result<(Vec<Input>, usize), Error> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let path = dir.path().join("in.zip");
        std::fs::write(&path, bytes).unwrap_or_else(|e| unreachable!("{e}"));
        unzip(&path, dir.path(), limits)
    }

    #[test]
    fn zips_give_their_pdfs_within_the_limits() {
        let pdf = b"%PDF-1.7 not really".as_slice();
        let zip = zip_of(&[
            ("dir/", b""),
            ("dir/a.pdf", pdf),
            ("b.PDF", pdf),
            ("notes.txt", b"x"),
            ("__MACOSX/dir/._a.pdf", b"x"),
        ]);
        let (inputs, skipped) =
            unzip_bytes(&zip, Limits { per_document: 1000, total: 8000 }).unwrap_or_else(|e| unreachable!("{e}"));
        let names: Vec<_> = inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a.pdf", "b.PDF"]);
        assert_eq!(skipped, 2);
        assert_eq!(inputs[0].sha256, signet_store::sha256_hex(pdf));

        // a document over the per-document limit, then documents over the total
        let big = vec![b'%'; 5000];
        let e = unzip_bytes(&zip_of(&[("big.pdf", &big)]), Limits { per_document: 1000, total: 8000 });
        assert!(matches!(&e, Err(Error::TooLarge(m)) if m.contains("per document")), "{:?}", e.err());
        let e = unzip_bytes(&zip_of(&[("1.pdf", &big), ("2.pdf", &big)]), Limits { per_document: 6000, total: 8000 });
        assert!(matches!(&e, Err(Error::TooLarge(m)) if m.contains("per batch")), "{:?}", e.err());

        // a zip bomb: 10 MiB of zeros in a few KiB
        let bomb = zip_of(&[("bomb.pdf", &vec![0u8; 10 << 20])]);
        assert!(bomb.len() < 100_000);
        let e = unzip_bytes(&bomb, Limits { per_document: 1 << 20, total: 8 << 20 });
        assert!(matches!(&e, Err(Error::TooLarge(m)) if m.contains("bomb.pdf")), "{:?}", e.err());

        let e = unzip_bytes(b"not a zip at all, just some bytes of text", Limits { per_document: 10, total: 10 });
        assert!(matches!(&e, Err(Error::BadRequest { code: "bad_zip", .. })), "{:?}", e.err());
        let long = format!("{}.pdf", "n".repeat(300));
        let e = unzip_bytes(&zip_of(&[(long.as_str(), pdf)]), Limits { per_document: 1000, total: 8000 });
        assert!(matches!(&e, Err(Error::BadRequest { message, .. }) if message.contains("304 bytes")), "{:?}", e.err());
    }

    #[test]
    fn zip_entry_counts_are_read_before_opening() {
        let entries: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("{i}.txt"), vec![])).collect();
        let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        let zip = zip_of(&refs);
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let path = dir.path().join("in.zip");
        std::fs::write(&path, &zip).unwrap_or_else(|e| unreachable!("{e}"));
        let mut f = std::fs::File::open(&path).unwrap_or_else(|e| unreachable!("{e}"));
        let (n, size) = central_directory(&mut f).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(n, 30);
        assert!(size > 30 * 46);
    }
}
