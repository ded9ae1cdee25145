//! `POST /api/v1/verify`: a PDF in, its validation report out.

use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde::Serialize;
use signet_pdf::FileSource;
use signet_validate::{Report, ValidationOptions, validate};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use crate::{AppState, Error};

/// Name prefix of upload files in `data_dir/tmp/`.
pub(crate) const UPLOAD_PREFIX: &str = "upload-";

/// Header carrying the password of an encrypted PDF.
const PASSWORD_HEADER: &str = "x-pdf-password";

/// The report, with the overall verdict first (fields: docs/validation.md).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct VerifyResponse {
    /// Every signature is intact, trusted and unmodified (or modified only as permitted), and
    /// there is at least one.
    valid: bool,
    #[serde(flatten)]
    report: Report,
}

/// Verify a PDF.
///
/// The PDF is the body; the answer is the validation report of each signature and document
/// timestamp (integrity, trust to the server's anchors, revocation, what changed after
/// signing, PAdES level), as docs/validation.md describes. No API key needed.
#[utoipa::path(
    post,
    path = "/verify",
    tag = "verification",
    params(("X-Pdf-Password" = Option<String>, Header, description = "The user or owner password of an encrypted PDF")),
    request_body(description = "The PDF.", content(("application/pdf"), ("application/octet-stream"))),
    responses(
        (status = 200, description = "The report; `valid` is true when there is at least one signature and every one is valid.", body = VerifyResponse),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::UnprocessablePdf),
    )
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    caller: Result<crate::auth::Caller, Error>,
    request: axum::extract::Request,
) -> Result<Json<VerifyResponse>, Error> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    accept_pdf(headers)?;
    let limit = state.max_upload_bytes();
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    match declared {
        Some(0) => return Err(Error::EmptyBody),
        Some(n) if n > limit => return Err(Error::PayloadTooLarge { limit }),
        _ => {}
    }
    let password = headers.get(PASSWORD_HEADER).map(|v| v.as_bytes().to_vec());
    let upload = receive(body, state.tmp_dir(), limit).await?;
    let size = upload.as_file().metadata().map(|m| m.len()).unwrap_or(0);

    let opts =
        ValidationOptions { trust_anchors: state.trust_anchors().to_vec(), password, ..ValidationOptions::default() };
    let report = tokio::task::spawn_blocking(move || {
        let file = upload.as_file().try_clone().map_err(Error::internal("reopening the upload"))?;
        let src = FileSource::new(file).map_err(Error::internal("reopening the upload"))?;
        // The upload file is removed when `upload` drops, after validation.
        let report = validate(Arc::new(src), &opts).map_err(Error::from_pdf);
        drop(upload);
        report
    })
    .await
    .map_err(|e| Error::Internal { context: "validating", source: Box::new(e) })??;
    let valid = report.is_valid();
    // anyone may verify: a tenant's caller in its log, anyone else in the operator's
    let (chain, actor) = match &caller {
        Ok(c) => (c.tenant_id.clone().unwrap_or_default(), c.actor()),
        Err(_) => (String::new(), crate::auth::anonymous(crate::auth::origin(&parts), "")),
    };
    let entry = signet_store::AuditEntry::new(&chain, &actor, "verify", "ok");
    let detail = serde_json::json!({ "valid": valid, "size": size, "signatures": report.signatures.len() });
    crate::audit::record(&state, entry.detail(detail)).await;
    Ok(Json(VerifyResponse { valid, report }))
}

/// Accepts `application/pdf`, `application/octet-stream`, or no content type.
fn accept_pdf(headers: &HeaderMap) -> Result<(), Error> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return Ok(()) };
    let essence = value.to_str().unwrap_or("").split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/pdf") || essence.eq_ignore_ascii_case("application/octet-stream") {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType { expected: "application/pdf" })
    }
}

/// Streams the body into a new file in `dir`, at most `limit` bytes, never holding more than
/// one chunk of it in memory.
async fn receive(mut body: Body, dir: &Path, limit: u64) -> Result<NamedTempFile, Error> {
    let upload = tempfile::Builder::new()
        .prefix(UPLOAD_PREFIX)
        .suffix(".pdf")
        .tempfile_in(dir)
        .map_err(Error::internal("creating an upload file"))?;
    let writer = upload.as_file().try_clone().map_err(Error::internal("creating an upload file"))?;
    let mut writer = tokio::fs::File::from_std(writer);
    let mut size = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Error::BodyRead)?;
        let Ok(data) = frame.into_data() else { continue };
        size += data.len() as u64;
        if size > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        writer.write_all(&data).await.map_err(Error::internal("writing an upload file"))?;
    }
    writer.flush().await.map_err(Error::internal("writing an upload file"))?;
    if size == 0 {
        return Err(Error::EmptyBody);
    }
    Ok(upload)
}
