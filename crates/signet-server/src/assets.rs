//! Seal images, placement templates and stored documents.
//!
//! - `POST /api/v1/images` (`manage`): a PNG or JPEG body → `{id, …}`; `GET /api/v1/images`.
//! - `PUT /api/v1/templates/{name}` (`manage`): `{"placements": [{page, rect, image, text}]}`;
//!   `GET /api/v1/templates`, `GET|DELETE /api/v1/templates/{name}`.
//! - `GET /api/v1/documents/{id}` (`sign-document`): a stored document's record;
//!   `GET /api/v1/documents/{id}/content`: its bytes.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use signet_pdf::appearance::{MAX_ENCODED_BYTES, SealImage};
use signet_store::{AuditEntry, DocumentRecord, ImageRecord, Template};

use crate::agent::{Placement, document_response};
use crate::audit::record as audit;
use crate::auth::{Caller, Permission};
use crate::util::{ApiJson, read_limited};
use crate::{AppState, Error};

/// `PUT /api/v1/templates/{name}` body.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    /// One signature per placement, in order.
    pub placements: Vec<Placement>,
}

/// Upload a seal image.
///
/// Scope `manage`. The body is the PNG (transparency kept) or JPEG, at most 32 MiB; its
/// `id` names it in signing options and templates.
#[utoipa::path(
    post,
    path = "/images",
    tag = "images",
    security(("bearer" = ["manage"])),
    request_body(description = "The image.", content(("image/png"), ("image/jpeg"))),
    responses(
        (status = 201, description = "The stored image.", body = ImageRecord),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    )
)]
pub async fn upload_image(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<ImageRecord>), Error> {
    let (caller, tenant, body) = crate::util::tenant_or_drain(caller, Permission::ManageAssets, body).await?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let bytes = read_limited(body, MAX_ENCODED_BYTES).await?;
    if bytes.is_empty() {
        return Err(Error::EmptyBody);
    }
    let image = SealImage::from_bytes(bytes.clone()).map_err(|e| Error::bad("bad_image", e.to_string()))?;
    let media_type = match image {
        SealImage::Png(_) => "image/png",
        SealImage::Jpeg(_) => "image/jpeg",
    };
    if !(content_type.is_empty()
        || content_type.starts_with(media_type)
        || content_type.starts_with("application/octet-stream"))
    {
        return Err(Error::bad("bad_image", format!("the body is {media_type}, not {content_type}")));
    }
    let id = signet_store::new_id("img");
    let key = format!("images/{}/{id}", tenant.to_ascii_lowercase());
    let sha256 = signet_store::sha256_hex(&bytes);
    let size = bytes.len() as i64;
    state.blobs().put_bytes(&key, bytes.into(), true).await.map_err(Error::internal("storing an image"))?;
    let record = ImageRecord {
        id,
        tenant_id: tenant.clone(),
        blob_key: key,
        media_type: media_type.into(),
        size,
        sha256,
        created_at: signet_store::now_millis(),
    };
    state.store().insert_image(&record).await?;
    let entry = AuditEntry::new(&tenant, &caller.actor(), "image.upload", "ok").target("image", &record.id);
    audit(&state, entry.detail(serde_json::json!({ "sha256": record.sha256, "size": record.size }))).await;
    Ok((StatusCode::CREATED, Json(record)))
}

/// List the tenant's seal images.
///
/// Scope `sign-document` or `manage`.
#[utoipa::path(
    get,
    path = "/images",
    tag = "images",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"])),
    responses(
        (status = 200, description = "The images.", body = Vec<ImageRecord>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_images(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ImageRecord>>, Error> {
    let tenant = caller.may(Permission::ReadSeals)?;
    Ok(Json(state.store().images(tenant).await?))
}

/// A seal image's bytes.
///
/// Scope `sign-document` or `manage`.
#[utoipa::path(
    get,
    path = "/images/{id}",
    tag = "images",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"])),
    params(("id" = String, Path, description = "The image's id (`img_…`)")),
    responses(
        (status = 200, description = "The image as uploaded.", content(("image/png"), ("image/jpeg"))),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn image_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let tenant = caller.may(Permission::ReadSeals)?;
    let record = state.store().image(tenant, &id).await?;
    let bytes = state.blobs().read(&record.blob_key).await.map_err(Error::internal("reading an image"))?;
    let mut resp = Response::new(Body::from(bytes));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(if record.media_type == "image/png" { "image/png" } else { "image/jpeg" }),
    );
    Ok(resp)
}

/// Create or replace a template.
///
/// Scope `manage`. A signature made with `template=NAME` is one signature whose seal shows at
/// every placement (each `page` 1-based, negative from the end; `rect` in PDF points on the
/// page as displayed; `image` a stored image, else the uploaded `seal`).
#[utoipa::path(
    put,
    path = "/templates/{name}",
    tag = "templates",
    security(("bearer" = ["manage"])),
    params(("name" = String, Path, description = "1–64 letters, digits, `-`, `_` or `.`")),
    request_body(content = TemplateRequest, example = json!({"placements": [{"page": 1, "rect": [50, 50, 150, 150], "image": "img_…"}, {"page": -1, "rect": [400, 50, 550, 150], "text": ["ACME Ltd", "Approved"]}]})),
    responses(
        (status = 200, description = "The template.", body = Template),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn put_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<TemplateRequest>,
) -> Result<Json<Template>, Error> {
    let tenant = caller.may(Permission::ManageAssets)?.to_string();
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(Error::bad("bad_name", "a template name has 1–64 letters, digits, '-', '_' or '.'"));
    }
    if req.placements.is_empty() {
        return Err(Error::bad("bad_template", "a template needs at least one placement"));
    }
    for (i, p) in req.placements.iter().enumerate() {
        let [x1, y1, x2, y2] = p.rect;
        if !(x1.is_finite() && y1.is_finite() && x2.is_finite() && y2.is_finite()) || x1 == x2 || y1 == y2 {
            return Err(Error::bad("bad_template", format!("placement {i}: rect needs a non-zero width and height")));
        }
        if p.page == 0 {
            return Err(Error::bad("bad_template", format!("placement {i}: pages count from 1 (or -1 for the last)")));
        }
        if let Some(img) = &p.image {
            state
                .store()
                .image(&tenant, img)
                .await
                .map_err(|_| Error::bad("bad_template", format!("placement {i}: no image {img}")))?;
        }
    }
    let placements = serde_json::to_value(&req.placements).map_err(|e| Error::bad("bad_template", e.to_string()))?;
    let template = state.store().put_template(&tenant, &name, &placements).await?;
    audit(&state, AuditEntry::new(&tenant, &caller.actor(), "template.put", "ok").target("template", &name)).await;
    Ok(Json(template))
}

/// List the tenant's templates.
///
/// Scope `sign-document` or `manage`.
#[utoipa::path(
    get,
    path = "/templates",
    tag = "templates",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"])),
    responses(
        (status = 200, description = "The templates.", body = Vec<Template>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_templates(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Template>>, Error> {
    let tenant = caller.may(Permission::ReadDocuments)?;
    Ok(Json(state.store().templates(tenant).await?))
}

/// Show a template.
///
/// Scope `sign-document` or `manage`.
#[utoipa::path(
    get,
    path = "/templates/{name}",
    tag = "templates",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"])),
    params(("name" = String, Path, description = "The template's name")),
    responses(
        (status = 200, description = "The template.", body = Template),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Template>, Error> {
    let tenant = caller.may(Permission::ReadDocuments)?;
    Ok(Json(state.store().template(tenant, &name).await?))
}

/// Delete a template.
///
/// Scope `manage`.
#[utoipa::path(
    delete,
    path = "/templates/{name}",
    tag = "templates",
    security(("bearer" = ["manage"])),
    params(("name" = String, Path, description = "The template's name")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn delete_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, Error> {
    let tenant = caller.may(Permission::ManageAssets)?;
    state.store().delete_template(tenant, &name).await?;
    audit(&state, AuditEntry::new(tenant, &caller.actor(), "template.delete", "ok").target("template", &name)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Show a stored document's record.
///
/// Scope `sign-document`. Every signed document is stored; its id comes in the
/// `X-Signet-Document-Id` header of the signing answer.
#[utoipa::path(
    get,
    path = "/documents/{id}",
    tag = "documents",
    security(("bearer" = ["sign-document"])),
    params(("id" = String, Path, description = "The document's id (`doc_…`)")),
    responses(
        (status = 200, description = "The record.", body = DocumentRecord),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DocumentRecord>, Error> {
    let tenant = caller.may(Permission::ReadDocuments)?;
    Ok(Json(state.store().document(tenant, &id).await?))
}

/// Download a stored document.
///
/// Scope `sign-document`. The signed PDF exactly as it was returned when signed.
#[utoipa::path(
    get,
    path = "/documents/{id}/content",
    tag = "documents",
    security(("bearer" = ["sign-document"])),
    params(("id" = String, Path, description = "The document's id (`doc_…`)")),
    responses(
        (status = 200, description = "The PDF.", content_type = "application/pdf"),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn document_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let tenant = caller.may(Permission::ReadDocuments)?;
    let doc = state.store().document(tenant, &id).await?;
    let entry = AuditEntry::new(tenant, &caller.actor(), "document.download", "ok").target("document", &id);
    audit(&state, entry.detail(serde_json::json!({ "sha256": doc.sha256 }))).await;
    document_response(&state, &doc, &[(header::CONTENT_TYPE.to_string(), "application/pdf".into())]).await
}
