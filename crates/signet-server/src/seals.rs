//! E-seals: generated or uploaded images bound to certificates, their states, who may use
//! them, and requests to use one once.
//!
//! - `POST /api/v1/seals` (permission "managing seals": seal administrators, `manage` keys):
//!   a seal from a generated image (round, oval or square, in seal red with the embedded CJK
//!   font) or an image uploaded through `POST /api/v1/seals/images` (a scanned imprint's
//!   near-white background made transparent), and a certificate the built-in CA issues with
//!   the seal's name as its subject's common name (or an identity imported before).
//! - `GET /api/v1/seals`, `GET /api/v1/seals/{id}`, `GET /api/v1/seals/{id}/image`;
//!   `POST /api/v1/seals/preview` renders without storing.
//! - `PATCH /api/v1/seals/{id}` suspends or reactivates; `POST /api/v1/seals/{id}/revoke`
//!   revokes the seal and its certificate (the OCSP responder and the next CRL say revoked).
//! - `POST|GET /api/v1/seals/{id}/grants`, `DELETE /api/v1/seals/{id}/grants/{grant}`: who
//!   may use the seal (a user, a role, an API key), when, how often, with an approval each
//!   time or not. An API key signs with a seal unattended only under a grant naming it.
//! - `POST /api/v1/seals/{id}/requests`, `GET /api/v1/seal-requests`, `POST
//!   /api/v1/seal-requests/{id}/approve|reject`: one use, asked for and decided by a seal
//!   administrator other than the asker.
//!
//! [`authorize_use`] is the one check before any signing with a seal; every refusal says why.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use signet_store::{AuditEntry, Identity, ImageRecord, NewGrant, NewSeal, Role, Seal, SealGrant, SealRequest};

use crate::audit::record as audit;
use crate::auth::{Caller, Permission, Via};
use crate::identities::{CreateIdentity, IssueParams};
use crate::util::{ApiJson, read_limited};
use crate::{AppState, Error};

/// The kinds of seal.
pub const SEAL_KINDS: [&str; 6] = ["company", "contract", "finance", "invoice", "legal_representative", "personal"];

/// How a seal image is generated.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// `round` (company seals), `oval` or `square` (personal seals).
    pub shape: String,
    /// Round/oval: the name curved along the top; square: 2 or 4 characters.
    pub text: String,
    /// Round/oval: the line under the centre (e.g. 合同专用章).
    #[serde(default)]
    pub horizontal: Option<String>,
    /// Round/oval: the small code along the bottom.
    #[serde(default)]
    pub bottom_code: Option<String>,
    /// Round: a star in the centre (default yes).
    #[serde(default)]
    pub star: Option<bool>,
    /// Width in pixels (default 480).
    #[serde(default)]
    pub size: Option<u32>,
}

/// The certificate of a new seal.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealCertificate {
    /// `p-256` (default), `p-384`, `rsa-2048`, `rsa-3072`, `rsa-4096`.
    #[serde(default)]
    pub key: Option<String>,
    /// Lifetime in days (default: the CA's profile default, at most the issuing CA's end).
    #[serde(default)]
    pub validity_days: Option<u64>,
    /// Subject organisation (default: the tenant's name).
    #[serde(default)]
    pub organization: Option<String>,
    /// Subject organisation identifier (e.g. a unified social credit code).
    #[serde(default)]
    pub organization_identifier: Option<String>,
    /// Subject country (two letters).
    #[serde(default)]
    pub country: Option<String>,
    /// Instead of a new certificate: an identity of the tenant imported before (its key and
    /// certificate then serve this seal only).
    #[serde(default)]
    pub identity: Option<String>,
}

/// `POST /seals` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSeal {
    /// Unique within the tenant; the certificate's common name.
    pub name: String,
    /// `company`, `contract`, `finance`, `invoice`, `legal_representative` or `personal`.
    pub kind: String,
    /// Generate the image…
    #[serde(default)]
    pub generate: Option<GenerateSpec>,
    /// …or use an image uploaded with `POST /seals/images` (`img_…`).
    #[serde(default)]
    pub image_id: Option<String>,
    /// A personal seal's holder (`usr_…`): they may use it without a grant.
    #[serde(default)]
    pub owner_user_id: Option<String>,
    /// The certificate.
    #[serde(default)]
    pub certificate: SealCertificate,
}

/// `PATCH /seals/{id}` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealStatusChange {
    /// `active` or `suspended`.
    pub status: String,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /seals/{id}/revoke` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeSeal {
    /// RFC 5280 reason: `cessationOfOperation` (default), `keyCompromise`, `superseded`,
    /// `affiliationChanged`, `privilegeWithdrawn`, `unspecified`.
    #[serde(default)]
    pub reason: Option<String>,
    /// A note for the log.
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /seals/{id}/grants` body: exactly one of `user_id`, `role`, `api_key_id`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    /// A user (`usr_…`).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Everyone holding a role.
    #[serde(default)]
    pub role: Option<Role>,
    /// An API key (`key_…`): unattended signing by that system.
    #[serde(default)]
    pub api_key_id: Option<String>,
    /// Usable from (Unix ms).
    #[serde(default)]
    pub not_before: Option<i64>,
    /// Usable until (Unix ms).
    #[serde(default)]
    pub not_after: Option<i64>,
    /// At most this many signings.
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// Each use needs an approved seal-use request.
    #[serde(default)]
    pub requires_approval: bool,
}

/// `POST /seals/{id}/requests` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Why the seal is needed (shown to the approver).
    pub reason: String,
}

/// `POST /seal-requests/{id}/approve|reject` body.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// A note for the asker and the log.
    #[serde(default)]
    pub note: Option<String>,
}

/// `?state=` of the request list.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestFilter {
    /// `pending`, `approved`, `rejected` or `used`.
    pub state: Option<String>,
}

fn render(spec: &GenerateSpec) -> Result<signet_seal::SealImage, Error> {
    let shape = match spec.shape.as_str() {
        "round" => signet_seal::SealShape::Round,
        "oval" => signet_seal::SealShape::Oval,
        "square" => signet_seal::SealShape::Square,
        other => return Err(Error::bad("bad_shape", format!("shape '{other}': round, oval or square"))),
    };
    let mut s = signet_seal::SealSpec::new(shape, &spec.text);
    s.horizontal = spec.horizontal.clone();
    s.bottom_code = spec.bottom_code.clone();
    if let Some(star) = spec.star {
        s.star = star;
    }
    if let Some(size) = spec.size {
        s.size_px = size;
    }
    signet_seal::render(&s, None).map_err(|e| Error::bad("bad_seal", e.to_string()))
}

fn png_response(png: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=300")], png).into_response()
}

/// Preview a generated seal.
///
/// Permission "managing seals". The PNG, not stored.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    post,
    path = "/seals/preview",
    tag = "seals",
    security(("bearer" = ["manage"]), ("session" = [])),
    request_body = GenerateSpec,
    responses(
        (status = 200, description = "The seal image.", content_type = "image/png"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn preview_seal(caller: Caller, ApiJson(spec): ApiJson<GenerateSpec>) -> Result<Response, Error> {
    caller.may(Permission::ManageSeals)?;
    let image = crate::util::blocking(move || render(&spec)).await??;
    Ok(png_response(image.png))
}

/// Upload a seal image.
///
/// Permission "managing seals". A PNG or JPEG of the imprint (at most 16 MiB and 4096 × 4096
/// pixels); its near-white background becomes transparent. Answers the stored PNG's record,
/// for `image_id` in `POST /seals`.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    post,
    path = "/seals/images",
    tag = "seals",
    security(("bearer" = ["manage"]), ("session" = [])),
    request_body(description = "The image.", content(("image/png"), ("image/jpeg"))),
    responses(
        (status = 201, description = "The cleaned image.", body = ImageRecord),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    )
)]
pub async fn upload_seal_image(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    body: Body,
) -> Result<(StatusCode, Json<ImageRecord>), Error> {
    let (caller, tenant, body) = crate::util::tenant_or_drain(caller, Permission::ManageSeals, body).await?;
    let bytes = read_limited(body, 16 << 20).await?;
    if bytes.is_empty() {
        return Err(Error::EmptyBody);
    }
    let image = crate::util::blocking(move || signet_seal::clean_upload(&bytes, None))
        .await?
        .map_err(|e| Error::bad("bad_image", e.to_string()))?;
    let record = store_png(&state, &tenant, image.png).await?;
    audit(&state, AuditEntry::new(&tenant, &caller.actor(), "seal.image_upload", "ok").target("image", &record.id))
        .await;
    Ok((StatusCode::CREATED, Json(record)))
}

pub(crate) async fn store_png(state: &AppState, tenant: &str, png: Vec<u8>) -> Result<ImageRecord, Error> {
    let id = signet_store::new_id("img");
    let key = format!("images/{}/{id}", tenant.to_ascii_lowercase());
    let record = ImageRecord {
        id,
        tenant_id: tenant.to_string(),
        blob_key: key.clone(),
        media_type: "image/png".into(),
        size: png.len() as i64,
        sha256: signet_store::sha256_hex(&png),
        created_at: signet_store::now_millis(),
    };
    state.blobs().put_bytes(&key, png.into(), true).await.map_err(Error::internal("storing a seal image"))?;
    state.store().insert_image(&record).await?;
    Ok(record)
}

/// Create a seal.
///
/// Permission "managing seals". The image is generated (`generate`) or one uploaded with
/// `POST /seals/images` (`image_id`); the built-in CA issues the certificate (common name:
/// the seal's name; organisation: the tenant's name unless given), or an imported identity
/// is bound to the seal. The seal's identity then signs only through the seal.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    post,
    path = "/seals",
    tag = "seals",
    security(("bearer" = ["manage"]), ("session" = [])),
    request_body = CreateSeal,
    responses(
        (status = 201, description = "The seal.", body = Seal),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn create_seal(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateSeal>,
) -> Result<(StatusCode, Json<Seal>), Error> {
    let tenant = caller.may(Permission::ManageSeals)?.to_string();
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Error::bad("bad_name", "a seal's name has 1 to 64 characters, none of them control characters"));
    }
    if !SEAL_KINDS.contains(&req.kind.as_str()) {
        return Err(Error::bad("bad_kind", format!("kind '{}': one of {}", req.kind, SEAL_KINDS.join(", "))));
    }
    if let Some(owner) = &req.owner_user_id {
        state.store().user(&tenant, owner).await?;
    } else if req.kind == "personal" {
        return Err(Error::bad("no_owner", "a personal seal needs owner_user_id"));
    }
    // the image
    let (image_id, spec) = match (&req.generate, &req.image_id) {
        (Some(g), None) => {
            let g2 = g.clone();
            let image = crate::util::blocking(move || render(&g2)).await??;
            (store_png(&state, &tenant, image.png).await?.id, Some(serde_json::to_value(g).unwrap_or_default()))
        }
        (None, Some(id)) => (state.store().image(&tenant, id).await?.id, None),
        _ => return Err(Error::bad("bad_image", "give either 'generate' or 'image_id'")),
    };
    if state.store().seals(&tenant).await?.iter().any(|s| s.name == name) {
        return Err(Error::Conflict { code: "conflict", message: format!("a seal named '{name}' exists") });
    }
    let seal_id = signet_store::new_seal_id();
    // the identity
    let cert = &req.certificate;
    let identity: Identity = match &cert.identity {
        Some(existing) => {
            let i = state.store().identity(&tenant, existing).await?;
            if i.seal_id.is_some() {
                return Err(Error::bad("identity_in_use", format!("identity '{existing}' already serves a seal")));
            }
            i
        }
        None => {
            let t = state.store().tenant(&tenant).await?;
            let owner_email = match &req.owner_user_id {
                Some(o) => state.store().user(&tenant, o).await?.email,
                None => None,
            };
            let params = IssueParams {
                profile: Some(if req.kind == "personal" { "person" } else { "organization" }.into()),
                common_name: name.clone(),
                organization: Some(cert.organization.clone().unwrap_or(t.name)),
                organizational_unit: None,
                country: cert.country.clone(),
                organization_identifier: cert.organization_identifier.clone(),
                email: owner_email,
                key: cert.key.clone(),
                validity_days: cert.validity_days,
            };
            let request = CreateIdentity {
                name: format!("seal-{}", signet_store::random_base32(10)),
                issue: Some(params),
                pkcs12: None,
                pkcs11: None,
            };
            let st = state.clone();
            let t2 = tenant.clone();
            let mut identity =
                crate::util::blocking(move || crate::identities::build_identity(&st, &t2, request)).await??;
            // bound to the seal from its first row: it never signs outside the seal
            identity.seal_id = Some(seal_id.clone());
            state.store().insert_identity(&identity).await?;
            identity
        }
    };
    let issued_here = cert.identity.is_none();
    let (valid_from, valid_until) = certificate_validity(&identity)?;
    let created = state
        .store()
        .create_seal(
            &tenant,
            &NewSeal {
                id: seal_id.clone(),
                name,
                kind: req.kind,
                image_id,
                identity_id: identity.id.clone(),
                owner_user_id: req.owner_user_id,
                spec,
                valid_from,
                valid_until,
                created_by: caller.id.clone(),
            },
        )
        .await;
    let seal = match created {
        Ok(s) => s,
        Err(e) => {
            // a certificate issued for a seal that was not made: withdrawn
            if let (true, Some(serial)) = (issued_here, identity.cert_serial.clone()) {
                let authority = state.authority().clone();
                let reason = signet_authority::RevocationReason::CessationOfOperation;
                let _ = crate::util::blocking(move || authority.revoke(&serial, reason, std::time::SystemTime::now()))
                    .await;
            }
            return Err(e.into());
        }
    };
    state.forget_identity(&tenant, &identity.name);
    audit(&state, AuditEntry::new(&tenant, &caller.actor(), "seal.create", "ok").target("seal", &seal.id)
        .detail(serde_json::json!({ "name": seal.name, "kind": seal.kind, "identity": identity.id, "certificate_serial": identity.cert_serial, "image": seal.image_id })))
    .await;
    state.webhooks().emit(&tenant, "seal.created", serde_json::to_value(&seal).unwrap_or_default()).await;
    Ok((StatusCode::CREATED, Json(seal)))
}

/// The certificate's notBefore and notAfter, in Unix ms.
fn certificate_validity(identity: &Identity) -> Result<(i64, i64), Error> {
    use base64::Engine;
    let leaf = identity.chain.first().ok_or_else(|| Error::bad("bad_identity", "the identity has no certificate"))?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(leaf)
        .map_err(|_| Error::bad("bad_identity", "the identity's certificate is not base64"))?;
    let view = signet_cms::CertView::parse(&der).map_err(|e| Error::bad("bad_identity", e.to_string()))?;
    let (from, until) = view.validity().map_err(|e| Error::bad("bad_identity", e.to_string()))?;
    Ok((signet_store::millis(from), signet_store::millis(until)))
}

/// List seals.
///
/// Permission "reading seals": every role and scope of the tenant.
#[utoipa::path(
    get,
    path = "/seals",
    tag = "seals",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The tenant's seals.", body = Vec<Seal>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_seals(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Seal>>, Error> {
    let tenant = caller.may(Permission::ReadSeals)?;
    Ok(Json(state.store().seals(tenant).await?))
}

/// A seal.
///
/// Permission "reading seals".
#[utoipa::path(
    get,
    path = "/seals/{id}",
    tag = "seals",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "`seal_…`")),
    responses(
        (status = 200, description = "The seal.", body = Seal),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show_seal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Seal>, Error> {
    let tenant = caller.may(Permission::ReadSeals)?;
    Ok(Json(state.store().seal(tenant, &id).await?))
}

/// A seal's image.
///
/// Permission "reading seals". The PNG.
#[utoipa::path(
    get,
    path = "/seals/{id}/image",
    tag = "seals",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "`seal_…`")),
    responses(
        (status = 200, description = "The image.", content_type = "image/png"),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn seal_image(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let tenant = caller.may(Permission::ReadSeals)?;
    let seal = state.store().seal(tenant, &id).await?;
    let record = state.store().image(tenant, &seal.image_id).await?;
    let bytes = state.blobs().read(&record.blob_key).await.map_err(Error::internal("reading a seal image"))?;
    Ok(([(header::CONTENT_TYPE, record.media_type)], bytes).into_response())
}

/// Suspend or reactivate a seal.
///
/// Permission "managing seals". A suspended seal signs nothing until reactivated; its
/// certificate stays valid. A revoked seal stays revoked.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    patch,
    path = "/seals/{id}",
    tag = "seals",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`seal_…`")),
    request_body = SealStatusChange,
    responses(
        (status = 200, description = "The seal.", body = Seal),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn update_seal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SealStatusChange>,
) -> Result<Json<Seal>, Error> {
    let tenant = caller.may(Permission::ManageSeals)?.to_string();
    if !matches!(req.status.as_str(), "active" | "suspended") {
        return Err(Error::bad(
            "bad_status",
            format!("status '{}': active or suspended (revoke with POST /seals/{{id}}/revoke)", req.status),
        ));
    }
    let seal = state.store().set_seal_status(&tenant, &id, &req.status, req.reason.as_deref()).await?;
    let action = if req.status == "suspended" { "seal.suspend" } else { "seal.reactivate" };
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), action, "ok")
            .target("seal", &seal.id)
            .detail(serde_json::json!({ "reason": req.reason })),
    )
    .await;
    if req.status == "suspended" {
        state.webhooks().emit(&tenant, "seal.suspended", serde_json::to_value(&seal).unwrap_or_default()).await;
    }
    Ok(Json(seal))
}

/// Revoke a seal.
///
/// Permission "managing seals". Final: the seal signs nothing more, and its certificate is
/// revoked at the built-in CA (OCSP answers revoked from now on; the CRL is reissued). An
/// imported certificate is revoked by its own CA: the seal is revoked here regardless.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    post,
    path = "/seals/{id}/revoke",
    tag = "seals",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`seal_…`")),
    request_body = RevokeSeal,
    responses(
        (status = 200, description = "The seal.", body = Seal),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn revoke_seal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RevokeSeal>,
) -> Result<Json<Seal>, Error> {
    let tenant = caller.may(Permission::ManageSeals)?.to_string();
    let reason_name = req.reason.clone().unwrap_or_else(|| "cessationOfOperation".into());
    let reason: signet_authority::RevocationReason =
        reason_name.parse().map_err(|e: String| Error::bad("bad_reason", e))?;
    let seal = state.store().seal(&tenant, &id).await?;
    if seal.status == "revoked" {
        return Err(Error::Conflict { code: "conflict", message: format!("seal {id} is already revoked") });
    }
    let identity = state.store().identity_by_id(&tenant, &seal.identity_id).await?;
    // the certificate first: should the CA fail, the seal is untouched and the revocation
    // can be asked again (a signing in between carries a certificate about to be revoked)
    let mut certificate = "not issued by the built-in CA".to_string();
    if let Some(serial) = identity.cert_serial.clone() {
        let authority = state.authority().clone();
        let done =
            crate::util::blocking(move || authority.revoke(&serial, reason, std::time::SystemTime::now())).await?;
        certificate = match done {
            Ok(r) => format!("revoked (serial {})", r.serial),
            Err(signet_authority::Error::AlreadyRevoked(s)) => format!("already revoked (serial {s})"),
            Err(e) => {
                audit(
                    &state,
                    AuditEntry::new(&tenant, &caller.actor(), "seal.revoke", "failed")
                        .target("seal", &seal.id)
                        .detail(serde_json::json!({ "reason": reason_name, "error": e.to_string() })),
                )
                .await;
                return Err(Error::internal("revoking the seal's certificate")(e));
            }
        };
    }
    let note = req.note.clone().unwrap_or_else(|| reason_name.clone());
    let seal = state.store().set_seal_status(&tenant, &id, "revoked", Some(&note)).await?;
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), "seal.revoke", "ok")
            .target("seal", &seal.id)
            .detail(serde_json::json!({ "reason": reason_name, "note": req.note, "certificate": certificate })),
    )
    .await;
    state.webhooks().emit(&tenant, "seal.revoked", serde_json::to_value(&seal).unwrap_or_default()).await;
    Ok(Json(seal))
}

/// Grant the use of a seal.
///
/// Permission "managing seals". To one user, everyone of a role, or one API key (the only way
/// a system signs with a seal unattended), optionally within a time window, a number of
/// uses, and with an approval for each use.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    post,
    path = "/seals/{id}/grants",
    tag = "seals",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`seal_…`")),
    request_body = CreateGrant,
    responses(
        (status = 201, description = "The grant.", body = SealGrant),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn grant_seal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CreateGrant>,
) -> Result<(StatusCode, Json<SealGrant>), Error> {
    let tenant = caller.may(Permission::ManageSeals)?.to_string();
    let seal = state.store().seal(&tenant, &id).await?;
    if seal.status == "revoked" {
        return Err(Error::bad("seal_revoked", format!("seal '{}' is revoked", seal.name)));
    }
    let (kind, grantee) = match (&req.user_id, req.role, &req.api_key_id) {
        (Some(u), None, None) => {
            state.store().user(&tenant, u).await?;
            ("user", u.clone())
        }
        (None, Some(r), None) => ("role", r.name().to_string()),
        (None, None, Some(k)) => {
            let key = state.store().api_key(k).await.map_err(|_| Error::Missing(format!("API key {k}")))?;
            if key.tenant_id.as_deref() != Some(tenant.as_str()) {
                return Err(Error::Missing(format!("API key {k}")));
            }
            ("api_key", k.clone())
        }
        _ => return Err(Error::bad("bad_grantee", "give exactly one of user_id, role, api_key_id")),
    };
    if let (Some(a), Some(b)) = (req.not_before, req.not_after) {
        if a >= b {
            return Err(Error::bad("bad_window", "not_before must come before not_after"));
        }
    }
    if req.max_uses.is_some_and(|m| m < 1) {
        return Err(Error::bad("bad_max_uses", "max_uses is at least 1"));
    }
    let grant = state
        .store()
        .create_grant(
            &tenant,
            &id,
            &NewGrant {
                grantee_kind: kind.into(),
                grantee,
                not_before: req.not_before,
                not_after: req.not_after,
                max_uses: req.max_uses,
                requires_approval: req.requires_approval,
                created_by: caller.id.clone(),
            },
        )
        .await?;
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), "seal.grant", "ok")
            .target("seal", &id)
            .detail(serde_json::to_value(&grant).unwrap_or_default()),
    )
    .await;
    Ok((StatusCode::CREATED, Json(grant)))
}

/// A seal's grants.
///
/// Permission "reading seals". Withdrawn grants included.
#[utoipa::path(
    get,
    path = "/seals/{id}/grants",
    tag = "seals",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "`seal_…`")),
    responses(
        (status = 200, description = "The grants.", body = Vec<SealGrant>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_seal_grants(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<SealGrant>>, Error> {
    let tenant = caller.may(Permission::ReadSeals)?;
    state.store().seal(tenant, &id).await?;
    Ok(Json(state.store().grants(tenant, &id).await?))
}

/// Withdraw a grant.
///
/// Permission "managing seals". At once: the next signing under it is refused.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    delete,
    path = "/seals/{id}/grants/{grant}",
    tag = "seals",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`seal_…`"), ("grant" = String, Path, description = "`grt_…`")),
    responses(
        (status = 200, description = "The withdrawn grant.", body = SealGrant),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn revoke_seal_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, grant)): Path<(String, String)>,
) -> Result<Json<SealGrant>, Error> {
    let tenant = caller.may(Permission::ManageSeals)?.to_string();
    let g = state.store().grant(&tenant, &grant).await?;
    if g.seal_id != id {
        return Err(Error::Missing(format!("grant {grant} of seal {id}")));
    }
    let g = state.store().revoke_grant(&tenant, &grant).await?;
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), "seal.grant_revoke", "ok")
            .target("seal", &id)
            .detail(serde_json::json!({ "grant": grant })),
    )
    .await;
    Ok(Json(g))
}

/// Ask to use a seal once.
///
/// Permission "asking to use a seal", under a grant that requires approval. A seal
/// administrator approves or rejects; an approved request allows one signing (give its id as
/// `seal_request` when signing).
///
/// API keys need the scope `sign-document`.
#[utoipa::path(
    post,
    path = "/seals/{id}/requests",
    tag = "seals",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    params(("id" = String, Path, description = "`seal_…`")),
    request_body = CreateRequest,
    responses(
        (status = 201, description = "The request, pending.", body = SealRequest),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn request_seal_use(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CreateRequest>,
) -> Result<(StatusCode, Json<SealRequest>), Error> {
    let tenant = caller.may(Permission::RequestSealUse)?.to_string();
    let seal = state.store().seal(&tenant, &id).await?;
    usable(&seal)?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(Error::bad("bad_reason", "give a reason of 1 to 1,000 characters"));
    }
    let grants = matching_grants(&state, &tenant, &seal, &caller).await?;
    let grant = grants.iter().find(|g| g.requires_approval && grant_window(g).is_ok()).ok_or_else(|| {
        Error::Forbidden(format!(
            "you hold no authorization for seal '{}' that takes requests (ask a seal administrator for one)",
            seal.name
        ))
    })?;
    let request = state.store().create_seal_request(&tenant, &id, &grant.id, &caller.id, reason).await?;
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), "seal.use_request", "ok")
            .target("seal", &id)
            .detail(serde_json::json!({ "request": request.id, "reason": reason })),
    )
    .await;
    state.webhooks().emit(&tenant, "seal.use_requested", serde_json::to_value(&request).unwrap_or_default()).await;
    Ok((StatusCode::CREATED, Json(request)))
}

/// Seal-use requests.
///
/// Seal administrators see every request of the tenant; others their own.
///
/// API keys need the scope `sign-document`.
#[utoipa::path(
    get,
    path = "/seal-requests",
    tag = "seals",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    params(RequestFilter),
    responses(
        (status = 200, description = "The requests, newest first.", body = Vec<SealRequest>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_seal_requests(
    State(state): State<AppState>,
    caller: Caller,
    Query(filter): Query<RequestFilter>,
) -> Result<Json<Vec<SealRequest>>, Error> {
    let (tenant, all) = match caller.may(Permission::DecideSealUse) {
        Ok(t) => (t, true),
        Err(_) => (caller.may(Permission::RequestSealUse)?, false),
    };
    let mut requests = state.store().seal_requests(tenant, filter.state.as_deref()).await?;
    if !all {
        requests.retain(|r| r.requester == caller.id);
    }
    Ok(Json(requests))
}

/// Approve a seal-use request.
///
/// Permission "deciding seal-use requests" (a seal administrator, not the asker).
#[utoipa::path(
    post,
    path = "/seal-requests/{id}/approve",
    tag = "seals",
    security(("session" = [])),
    params(("id" = String, Path, description = "`srq_…`")),
    request_body = Decision,
    responses(
        (status = 200, description = "The request.", body = SealRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn approve_seal_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(d): ApiJson<Decision>,
) -> Result<Json<SealRequest>, Error> {
    decide(state, caller, id, d, "approved").await
}

/// Reject a seal-use request.
///
/// Permission "deciding seal-use requests".
#[utoipa::path(
    post,
    path = "/seal-requests/{id}/reject",
    tag = "seals",
    security(("session" = [])),
    params(("id" = String, Path, description = "`srq_…`")),
    request_body = Decision,
    responses(
        (status = 200, description = "The request.", body = SealRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn reject_seal_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(d): ApiJson<Decision>,
) -> Result<Json<SealRequest>, Error> {
    decide(state, caller, id, d, "rejected").await
}

async fn decide(
    state: AppState,
    caller: Caller,
    id: String,
    d: Decision,
    to: &str,
) -> Result<Json<SealRequest>, Error> {
    let tenant = caller.may(Permission::DecideSealUse)?.to_string();
    let request = state.store().seal_request(&tenant, &id).await?;
    if request.requester == caller.id {
        return Err(Error::Forbidden("you cannot decide your own request: another seal administrator does".into()));
    }
    if !state.store().move_seal_request(&tenant, &id, "pending", to, Some(&caller.id), d.note.as_deref()).await? {
        return Err(Error::Conflict {
            code: "conflict",
            message: format!("request {id} is {}, not pending", request.state),
        });
    }
    let request = state.store().seal_request(&tenant, &id).await?;
    let action = if to == "approved" { "seal.use_approve" } else { "seal.use_reject" };
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), action, "ok")
            .target("seal", &request.seal_id)
            .detail(serde_json::json!({ "request": id, "note": d.note, "requester": request.requester })),
    )
    .await;
    let event = if to == "approved" { "seal.use_approved" } else { "seal.use_rejected" };
    state.webhooks().emit(&tenant, event, serde_json::to_value(&request).unwrap_or_default()).await;
    Ok(Json(request))
}

/// Refuses a seal that is not active or not within its validity.
fn usable(seal: &Seal) -> Result<(), Error> {
    match seal.status.as_str() {
        "active" => {}
        "suspended" => {
            return Err(Error::Forbidden(format!(
                "seal '{}' is suspended{}",
                seal.name,
                seal.status_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
            )));
        }
        _ => return Err(Error::Forbidden(format!("seal '{}' is revoked", seal.name))),
    }
    let now = signet_store::now_millis();
    if now < seal.valid_from || now >= seal.valid_until {
        return Err(Error::Forbidden(format!(
            "seal '{}' is valid from {} until {}",
            seal.name,
            rfc3339_ms(seal.valid_from),
            rfc3339_ms(seal.valid_until)
        )));
    }
    Ok(())
}

fn rfc3339_ms(ms: i64) -> String {
    crate::identities::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

fn grant_window(g: &SealGrant) -> Result<(), String> {
    let now = signet_store::now_millis();
    if let Some(nb) = g.not_before.filter(|nb| now < *nb) {
        return Err(format!("starts at {}", rfc3339_ms(nb)));
    }
    if let Some(na) = g.not_after.filter(|na| now >= *na) {
        return Err(format!("ended at {}", rfc3339_ms(na)));
    }
    if let Some(m) = g.max_uses.filter(|m| g.uses >= *m) {
        return Err(format!("has no use left ({m} of {m} made)"));
    }
    Ok(())
}

/// The live grants of `seal` that name the caller (their user id, one of their roles, or
/// their API key).
async fn matching_grants(
    state: &AppState,
    tenant: &str,
    seal: &Seal,
    caller: &Caller,
) -> Result<Vec<SealGrant>, Error> {
    let grants = state.store().grants(tenant, &seal.id).await?;
    Ok(grants
        .into_iter()
        .filter(|g| g.revoked_at.is_none())
        .filter(|g| match (g.grantee_kind.as_str(), caller.via) {
            ("user", Via::Session | Via::Sso) => g.grantee == caller.id,
            ("role", Via::Session | Via::Sso) => caller.roles.iter().any(|r| r.name() == g.grantee),
            ("api_key", Via::ApiKey) => g.grantee == caller.id,
            _ => false,
        })
        .collect())
}

/// What a signing with a seal uses: the seal, its identity, and what to give back when the
/// signing fails.
#[derive(Clone, Debug)]
pub struct SealUse {
    /// The seal.
    pub seal: Seal,
    /// Its identity.
    pub identity: Identity,
    /// The grant whose use was counted.
    pub grant_id: Option<String>,
    /// The approved request consumed.
    pub request_id: Option<String>,
    /// Who uses it.
    pub actor: signet_store::Actor,
}

/// Whether `caller` may sign once with seal `seal_id` now (with the approved `request_id`
/// when their grant needs one): counts the use and answers what to sign with, or says why
/// not. Personal seals are used by their holder without a grant.
pub async fn authorize_use(
    state: &AppState,
    caller: &Caller,
    seal_id: &str,
    request_id: Option<&str>,
) -> Result<SealUse, Error> {
    let tenant = caller.may(Permission::SignDocument).or_else(|_| caller.may(Permission::SignHash))?.to_string();
    let refuse = |why: String| async {
        let entry = AuditEntry::new(&tenant, &caller.actor(), "seal.use", "refused")
            .target("seal", seal_id)
            .detail(serde_json::json!({ "reason": why }));
        audit(state, entry).await;
        Error::Forbidden(why)
    };
    let seal = match state.store().seal(&tenant, seal_id).await {
        Ok(s) => s,
        Err(signet_store::Error::NotFound(_)) => return Err(Error::Missing(format!("seal {seal_id}"))),
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = usable(&seal) {
        return Err(refuse(e.to_string()).await);
    }
    let identity = state.store().identity_by_id(&tenant, &seal.identity_id).await?;
    if seal.owner_user_id.as_deref().is_some_and(|o| caller.is_user(o)) {
        return Ok(SealUse { seal, identity, grant_id: None, request_id: None, actor: caller.actor() });
    }
    let grants = matching_grants(state, &tenant, &seal, caller).await?;
    if grants.is_empty() {
        let why = if caller.is_person() {
            format!("you are not authorized to use seal '{}'", seal.name)
        } else {
            format!(
                "API key {} is not authorized to sign with seal '{}' unattended: a seal administrator grants it \
                 (POST /api/v1/seals/{}/grants with api_key_id)",
                caller.id, seal.name, seal.id
            )
        };
        return Err(refuse(why).await);
    }
    let open: Vec<&SealGrant> = grants.iter().filter(|g| grant_window(g).is_ok()).collect();
    if open.is_empty() {
        let why = grant_window(&grants[0]).err().unwrap_or_default();
        return Err(refuse(format!("your authorization for seal '{}' {why}", seal.name)).await);
    }
    // a grant without approval first; else the approved request
    if let Some(g) = open.iter().find(|g| !g.requires_approval) {
        if !state.store().use_grant(&tenant, &g.id).await? {
            return Err(refuse(format!("your authorization for seal '{}' has no use left", seal.name)).await);
        }
        return Ok(SealUse { seal, identity, grant_id: Some(g.id.clone()), request_id: None, actor: caller.actor() });
    }
    let Some(request_id) = request_id else {
        return Err(refuse(format!(
            "each use of seal '{}' needs an approved request: POST /api/v1/seals/{}/requests, then sign with \
             seal_request=<its id>",
            seal.name, seal.id
        ))
        .await);
    };
    let request = match state.store().seal_request(&tenant, request_id).await {
        Ok(r) if r.seal_id == seal.id && r.requester == caller.id => r,
        _ => return Err(refuse(format!("request {request_id} is not yours for seal '{}'", seal.name)).await),
    };
    if request.state != "approved" {
        return Err(refuse(format!("request {request_id} is {}, not approved", request.state)).await);
    }
    let Some(g) = open.iter().find(|g| g.id == request.grant_id) else {
        return Err(
            refuse(format!("the authorization request {request_id} was made under is withdrawn or spent")).await
        );
    };
    if !state.store().move_seal_request(&tenant, request_id, "approved", "used", None, None).await? {
        return Err(refuse(format!("request {request_id} was used already")).await);
    }
    if !state.store().use_grant(&tenant, &g.id).await? {
        // the approval stays for a later use (the count may grow or another grant come)
        state.store().unuse_seal_request(&tenant, request_id).await?;
        return Err(refuse(format!("your authorization for seal '{}' has no use left", seal.name)).await);
    }
    Ok(SealUse {
        seal,
        identity,
        grant_id: Some(g.id.clone()),
        request_id: Some(request_id.to_string()),
        actor: caller.actor(),
    })
}

/// After a signing with a seal: on failure gives the use back, and logs the use either way.
pub async fn record_use(state: &AppState, tenant: &str, u: &SealUse, failed: Option<&Error>) {
    if failed.is_some() {
        give_back(state, tenant, u).await;
    }
    let (outcome, detail) = match failed {
        None => ("ok", serde_json::json!({ "grant": u.grant_id, "request": u.request_id, "identity": u.identity.id })),
        Some(e) => {
            ("failed", serde_json::json!({ "grant": u.grant_id, "request": u.request_id, "error": e.to_string() }))
        }
    };
    audit(state, AuditEntry::new(tenant, &u.actor, "seal.use", outcome).target("seal", &u.seal.id).detail(detail))
        .await;
}

/// Gives back the use [`authorize_use`] counted, when the signing then failed.
pub async fn give_back(state: &AppState, tenant: &str, u: &SealUse) {
    if let Some(g) = &u.grant_id {
        if let Err(e) = state.store().unuse_grant(tenant, g).await {
            tracing::error!("giving back a use of grant {g}: {e}");
        }
    }
    if let Some(r) = &u.request_id {
        if let Err(e) = state.store().unuse_seal_request(tenant, r).await {
            tracing::error!("giving back request {r}: {e}");
        }
    }
}
