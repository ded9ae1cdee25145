//! Document versions over HTTP.
//!
//! - `GET /api/v1/documents/{id}/versions`: the versions of the document `id` belongs to,
//!   oldest first, each with its SHA-256; the `ETag` is the latest version's id.
//! - `POST /api/v1/documents/{id}/versions` with the PDF and `If-Match: "<latest id>"`: a new
//!   version; 412 when another version came first (no lost update), 428 without `If-Match`,
//!   409 `document_in_envelope` while an envelope in progress holds the document.
//!
//! An upload (`POST /api/v1/documents`) starts a line of versions; signing one of its versions
//! through the agent (`document_id=`) adds the signed output as the next version, the bytes
//! stored being exactly those answered.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use signet_store::{AuditEntry, DocumentRecord, DocumentVersion, VersionLine};

use crate::audit::record as audit;
use crate::auth::{Caller, Permission};
use crate::{AppState, Error};

/// The `ETag` of a document whose latest version is `head_id`.
pub fn etag(head_id: &str) -> String {
    format!("\"{head_id}\"")
}

/// The document ids an `If-Match` header names (`*` matches any).
fn if_match(headers: &HeaderMap) -> Option<Vec<String>> {
    let v = headers.get(header::IF_MATCH)?.to_str().ok()?;
    Some(v.split(',').map(|t| t.trim().trim_start_matches("W/").trim_matches('"').to_string()).collect())
}

/// Refuses, before anything is done, a change whose `If-Match` does not name the latest
/// version of `line` (`required`: a missing header is refused too).
pub fn check_if_match(headers: &HeaderMap, line: &VersionLine, required: bool) -> Result<(), Error> {
    match if_match(headers) {
        None if required => Err(Error::PreconditionRequired(format!(
            "send If-Match: {} (the latest version) to change this document",
            etag(&line.head_id)
        ))),
        None => Ok(()),
        Some(tags) if tags.iter().any(|t| t == "*" || *t == line.head_id) => Ok(()),
        Some(_) => Err(Error::PreconditionFailed(format!(
            "the document changed: its latest version is {} (version {})",
            line.head_id, line.head_version
        ))),
    }
}

async fn line_of(state: &AppState, tenant: &str, id: &str) -> Result<VersionLine, Error> {
    state.store().document(tenant, id).await?;
    state
        .store()
        .version_line(tenant, id)
        .await?
        .ok_or_else(|| Error::bad("not_versioned", format!("document {id} is not part of a line of versions")))
}

/// A line in the list of documents: its latest version.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DocumentLine {
    /// The first version's id: the document's name across its versions.
    pub root_id: String,
    /// The latest version's number.
    pub version: i64,
    /// The latest version.
    pub latest: DocumentRecord,
}

/// A page of documents.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DocumentList {
    /// Newest first.
    pub items: Vec<DocumentLine>,
    /// Give as `before` for the next page; `null` at the end.
    pub next: Option<String>,
}

/// The list's query.
#[derive(Clone, Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// The `next` of the page before.
    #[serde(default)]
    pub before: Option<String>,
    /// At most this many (default 50, at most 200).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// List documents.
///
/// The tenant's uploaded documents, newest first, each as its latest version (signing and new
/// versions move it). API keys need one of the scopes `sign-document` or `manage`.
#[utoipa::path(
    get,
    path = "/documents",
    tag = "documents",
    security(("bearer" = ["sign-document", "manage"]), ("session" = [])),
    params(DocumentQuery),
    responses(
        (status = 200, description = "A page of documents.", body = DocumentList),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_documents(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<DocumentQuery>,
) -> Result<Json<DocumentList>, Error> {
    let tenant = caller.may(Permission::ReadDocuments)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::bad("bad_request", "limit: 1 to 200"));
    }
    let rows = state.store().document_lines(tenant, q.before.as_deref(), limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<DocumentLine> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(root_id, version, latest)| DocumentLine { root_id, version, latest })
        .collect();
    let next = if more { items.last().map(|l| l.root_id.clone()) } else { None };
    Ok(Json(DocumentList { items, next }))
}

/// A document's versions.
///
/// The versions of the document `id` belongs to, oldest first, each with its SHA-256 and the
/// version it was made from; `ETag` names the latest.
///
/// API keys need one of the scopes `sign-document` or `manage`.
#[utoipa::path(
    get,
    path = "/documents/{id}/versions",
    tag = "documents",
    security(("bearer" = ["sign-document", "manage"]), ("session" = [])),
    params(("id" = String, Path, description = "Any version's id (`doc_…`)")),
    responses(
        (status = 200, description = "The versions.", body = Vec<DocumentVersion>, headers(("ETag" = String, description = "The latest version's id, quoted"))),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let tenant = caller.may(Permission::ReadDocuments)?;
    let line = line_of(&state, tenant, &id).await?;
    let versions = state.store().versions(tenant, &line.root_id).await?;
    let mut response = Json(versions).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(&line.head_id)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

/// Add a version.
///
/// The new PDF as the body, and `If-Match` with the `ETag` of the latest version (as
/// `GET …/versions` answered): 412 when another version came first, 428 without `If-Match`.
/// While an envelope in progress holds the document, it changes only through the envelope: 409
/// `document_in_envelope`.
///
/// API keys need the scope `sign-document`.
#[utoipa::path(
    post,
    path = "/documents/{id}/versions",
    tag = "documents",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    params(
        ("id" = String, Path, description = "Any version's id (`doc_…`)"),
        ("If-Match" = String, Header, description = "The latest version's `ETag`"),
    ),
    request_body(description = "The PDF.", content(("application/pdf"))),
    responses(
        (status = 201, description = "The new version.", body = DocumentVersion, headers(("ETag" = String, description = "The new version's id, quoted"))),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 412, response = crate::openapi::PreconditionFailed),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 428, response = crate::openapi::PreconditionRequired),
    )
)]
pub async fn add_version(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Error> {
    let (caller, tenant, body) = crate::util::tenant_or_drain(caller, Permission::SignDocument, body).await?;
    let line = match line_of(&state, &tenant, &id).await {
        Ok(l) => l,
        Err(e) => {
            crate::util::drain(body).await;
            return Err(e);
        }
    };
    let free = match check_if_match(&headers, &line, true) {
        Ok(()) => crate::envelopes::check_line_free(&state, &tenant, &line).await,
        Err(e) => Err(e),
    };
    if let Err(e) = free {
        crate::util::drain(body).await;
        return Err(e);
    }
    let (tmp, sha256, size) =
        crate::agent::receive_file(body, &state.blobs().staging_dir(), state.max_upload_bytes()).await?;
    if size == 0 {
        return Err(Error::EmptyBody);
    }
    let path = tmp.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        signet_pdf::Document::open(signet_pdf::FileSource::new(file)?, None).map(|_| ())
    })
    .await
    .map_err(|e| Error::Internal { context: "reading an upload", source: Box::new(e) })?
    .map_err(Error::from_pdf)?;
    let doc_id = signet_store::new_id("doc");
    let key = format!("documents/{}/{doc_id}.pdf", tenant.to_ascii_lowercase());
    state.blobs().put_file(&key, tmp, false).await.map_err(Error::internal("storing a version"))?;
    let record = DocumentRecord {
        id: doc_id.clone(),
        tenant_id: tenant.clone(),
        kind: "upload".into(),
        name: None,
        blob_key: key.clone(),
        size: size as i64,
        sha256,
        source_id: Some(line.head_id.clone()),
        created_at: signet_store::now_millis(),
    };
    let Some(version) = state.store().add_version(&tenant, &line.root_id, &line.head_id, &record, true, None).await?
    else {
        let _ = state.blobs().delete(&key).await;
        let now = state.store().version_line(&tenant, &line.root_id).await?.unwrap_or(line);
        return Err(Error::PreconditionFailed(format!(
            "the document changed meanwhile: its latest version is {} (version {})",
            now.head_id, now.head_version
        )));
    };
    let entry = AuditEntry::new(&tenant, &caller.actor(), "document.version", "ok").target("document", &doc_id);
    audit(&state, entry.detail(serde_json::json!({ "root": line.root_id, "version": version, "sha256": record.sha256, "from": line.head_id }))).await;
    let mut response = (StatusCode::CREATED, Json(DocumentVersion { version, document: record })).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(&doc_id)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}
