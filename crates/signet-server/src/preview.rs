//! Uploads and page previews, for placing seals by clicking on a page.
//!
//! - `POST /api/v1/documents` (`sign-document`): a PDF body, stored as an upload →
//!   `{id, sha256, size, page_count}`. Sign it later with `document_id=` (no second upload).
//! - `GET /api/v1/documents/{id}/pages/{n}` : the page's geometry as a person sees it (PDF
//!   points; `/Rotate` applied, CropBox) and the image URL.
//! - `GET /api/v1/documents/{id}/pages/{n}/image?dpi=96`: the page as PNG, drawn so that a
//!   click at pixel (px, py) from the image's top-left is the point
//!   `x = px / pixel_width × width`, `y = height − py / pixel_height × height`: the
//!   coordinates `rect` and templates take. The geometry is repeated in `X-Page-Width`,
//!   `X-Page-Height`, `X-Page-Rotate`, `X-Page-Count`.
//!
//! Rendering runs on a blocking thread with a time limit; the renderer reads the whole file
//! (bounded by the upload limit), which is acceptable for a preview and never done to sign.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use signet_store::DocumentRecord;

use crate::agent::receive_file;
use crate::auth::{Caller, Permission};
use crate::{AppState, Error};

/// Longest a page may take to render.
const RENDER_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A stored upload.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadView {
    /// The document's id.
    pub id: String,
    /// SHA-256, hexadecimal.
    pub sha256: String,
    /// Bytes.
    pub size: i64,
    /// Pages.
    pub page_count: usize,
}

/// A page's geometry.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageView {
    /// 1-based page number.
    pub page: usize,
    /// Pages in the document.
    pub page_count: usize,
    /// Width as displayed, PDF points.
    pub width: f64,
    /// Height as displayed, PDF points.
    pub height: f64,
    /// `/Rotate`, normalised to 0, 90, 180 or 270.
    pub rotate: u16,
    /// The CropBox (clipped to the MediaBox), unrotated user space.
    pub crop_box: [f64; 4],
    /// The MediaBox.
    pub media_box: [f64; 4],
    /// Where the PNG is.
    pub image: String,
}

/// `?dpi=`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageQuery {
    /// Resolution, 18–600 (default 96).
    #[serde(default)]
    pub dpi: Option<f32>,
}

pub(crate) fn preview_error(e: signet_preview::Error) -> Error {
    match e {
        signet_preview::Error::PageOutOfRange { .. } => Error::Missing(e.to_string()),
        signet_preview::Error::Io(io) => Error::Internal { context: "reading a document", source: Box::new(io) },
        e => Error::bad("unrenderable", e.to_string()),
    }
}

/// Uploads a PDF to preview its pages and sign it later by `document_id`.
///
/// Scope `sign-document`.
#[utoipa::path(
    post,
    path = "/documents",
    tag = "documents",
    security(("bearer" = ["sign-document"])),
    params(("name" = Option<String>, Query, description = "The file name to record (at most 255 characters)")),
    request_body(description = "The PDF.", content(("application/pdf"))),
    responses(
        (status = 201, description = "The stored upload.", body = UploadView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 422, response = crate::openapi::UnprocessablePdf),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    request: Request,
) -> Result<(StatusCode, [(axum::http::HeaderName, String); 1], Json<UploadView>), Error> {
    let (parts, body) = request.into_parts();
    let (_, tenant, body) = crate::util::tenant_or_drain(caller, Permission::SignDocument, body).await?;
    let name = upload_name(parts.uri.query())?;
    let (tmp, sha256, size) = receive_file(body, &state.blobs().staging_dir(), state.max_upload_bytes()).await?;
    let path = tmp.to_path_buf();
    let page_count = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        let mut doc = signet_pdf::Document::open(signet_pdf::FileSource::new(file)?, None)?;
        doc.page_count()
    })
    .await
    .map_err(|e| Error::Internal { context: "reading an upload", source: Box::new(e) })?
    .map_err(Error::from_pdf)?;
    let id = signet_store::new_id("doc");
    let key = format!("documents/{}/{id}.pdf", tenant.to_ascii_lowercase());
    state.blobs().put_file(&key, tmp, false).await.map_err(Error::internal("storing an upload"))?;
    let record = DocumentRecord {
        id: id.clone(),
        tenant_id: tenant,
        kind: "upload".into(),
        name,
        blob_key: key,
        size: size as i64,
        sha256: sha256.clone(),
        source_id: None,
        created_at: signet_store::now_millis(),
    };
    state.store().insert_document(&record).await?;
    state.store().start_versions(&record.tenant_id, &id).await?;
    let etag = crate::versions::etag(&id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::ETAG, etag)],
        Json(UploadView { id, sha256, size: size as i64, page_count }),
    ))
}

/// The `name` of an upload's query: one line of at most 255 characters.
fn upload_name(query: Option<&str>) -> Result<Option<String>, Error> {
    #[derive(serde::Deserialize)]
    struct UploadQuery {
        name: Option<String>,
    }
    let q: UploadQuery = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| Error::bad("bad_request", format!("the query: {e} (only name= is known)")))?;
    match q.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > 255 || n.chars().any(char::is_control) => {
            Err(Error::bad("bad_name", "name: one line of at most 255 characters"))
        }
        n => Ok(n),
    }
}

async fn document_path(state: &AppState, caller: &Caller, id: &str) -> Result<std::path::PathBuf, Error> {
    let tenant = caller.may(Permission::ReadDocuments)?;
    let doc = state.store().document(tenant, id).await?;
    state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))
}

/// A page's geometry as displayed (PDF points, `/Rotate` applied) and its image's URL.
///
/// Scope `sign-document` or `manage`.
#[utoipa::path(
    get,
    path = "/documents/{id}/pages/{n}",
    tag = "documents",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"])),
    params(
        ("id" = String, Path, description = "The document's id (`doc_…`)"),
        ("n" = usize, Path, description = "1-based page number"),
    ),
    responses(
        (status = 200, description = "The page's geometry.", body = PageView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Json<PageView>, Error> {
    let path = document_path(&state, &caller, &id).await?;
    Ok(Json(page_view(path, n, format!("/api/v1/documents/{id}/pages/{n}/image")).await?))
}

/// Page `n`'s geometry of the PDF at `path`, its image at `image`.
pub(crate) async fn page_view(path: std::path::PathBuf, n: usize, image: String) -> Result<PageView, Error> {
    let (g, count) = tokio::task::spawn_blocking(move || signet_preview::page_geometry(&path, n))
        .await
        .map_err(|e| Error::Internal { context: "reading a page", source: Box::new(e) })?
        .map_err(preview_error)?;
    Ok(PageView {
        page: n,
        page_count: count,
        width: g.width,
        height: g.height,
        rotate: g.rotate,
        crop_box: g.crop_box,
        media_box: g.media_box,
        image,
    })
}

/// The page as a PNG; a click at pixel (px, py) is the point
/// (px / width_px × width, height − py / height_px × height).
///
/// Scope `sign-document` or `manage`.
#[utoipa::path(
    get,
    path = "/documents/{id}/pages/{n}/image",
    tag = "documents",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"])),
    params(
        ("id" = String, Path, description = "The document's id (`doc_…`)"),
        ("n" = usize, Path, description = "1-based page number"),
        ("dpi" = Option<f32>, Query, description = "Resolution, 18–600 (default 96)"),
    ),
    responses(
        (status = 200, description = "The page image; X-Page-Width, X-Page-Height, X-Page-Rotate, X-Page-Count repeat the geometry.", content(("image/png"))),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn image(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, usize)>,
    Query(q): Query<ImageQuery>,
) -> Result<Response, Error> {
    let dpi = q.dpi.unwrap_or(96.0);
    if !(18.0..=600.0).contains(&dpi) {
        return Err(Error::bad("bad_dpi", format!("dpi {dpi}: 18 to 600")));
    }
    let path = document_path(&state, &caller, &id).await?;
    page_png(&state, path, n, dpi).await
}

/// Page `n` of the PDF at `path` as a PNG response at `dpi`, with the geometry in headers.
pub(crate) async fn page_png(
    state: &AppState,
    path: std::path::PathBuf,
    n: usize,
    dpi: f32,
) -> Result<Response, Error> {
    if !(18.0..=600.0).contains(&dpi) {
        return Err(Error::bad("bad_dpi", format!("dpi {dpi}: 18 to 600")));
    }
    let opts = signet_preview::PreviewOptions {
        dpi,
        max_file_bytes: state.max_upload_bytes(),
        ..signet_preview::PreviewOptions::default()
    };
    let task = tokio::task::spawn_blocking(move || signet_preview::render_page(&path, n, &opts));
    let preview = tokio::time::timeout(RENDER_TIME_LIMIT, task)
        .await
        .map_err(|_| {
            Error::bad("unrenderable", format!("page {n} took longer than {} s to render", RENDER_TIME_LIMIT.as_secs()))
        })?
        .map_err(|e| Error::Internal { context: "rendering a page", source: Box::new(e) })?
        .map_err(preview_error)?;
    let g = &preview.geometry;
    let mut resp = Response::new(Body::from(preview.png));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    for (name, value) in [
        ("x-page-width", format!("{}", g.width)),
        ("x-page-height", format!("{}", g.height)),
        ("x-page-rotate", g.rotate.to_string()),
        ("x-page-count", preview.page_count.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok(resp)
}
