//! Tenants, API keys and usage.
//!
//! - Operator keys (scope `admin`, no tenant): `POST/GET /api/v1/tenants`,
//!   `GET/PATCH /api/v1/tenants/{id}`, `POST/GET /api/v1/tenants/{id}/keys`.
//! - Any key: `GET /api/v1/me` (who am I).
//! - Tenant keys with `manage`: `POST/GET /api/v1/keys`, `GET /api/v1/usage`.
//! - `DELETE /api/v1/keys/{id}` revokes: an operator any key, a tenant `manage` key its
//!   tenant's keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use signet_store::audit::OPERATOR_CHAIN;
use signet_store::{ApiKey, AuditEntry, Scope, Tenant, TenantLimits, Usage};

use crate::audit::record as audit;
use crate::auth::{Caller, Permission};
use crate::meter::{PERIODS, next_period_start, period_start};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// `POST /api/v1/tenants`, `PATCH /api/v1/tenants/{id}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantRequest {
    /// Unique name (create only).
    #[serde(default)]
    pub name: Option<String>,
    /// `active` or `suspended` (update only).
    #[serde(default)]
    pub status: Option<String>,
    /// `hour`, `day` or `month` (default).
    #[serde(default)]
    pub quota_period: Option<String>,
    /// Signing calls per period; absent or null: unlimited.
    #[serde(default)]
    pub max_calls: Option<i64>,
    /// Documents per period.
    #[serde(default)]
    pub max_documents: Option<i64>,
    /// Requests per second.
    #[serde(default)]
    pub rate_per_second: Option<i64>,
}

/// `POST …/keys`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// A label.
    pub name: String,
    /// Scopes: `sign-hash`, `sign-document`, `manage`.
    #[schema(example = json!(["sign-hash", "sign-document"]))]
    pub scopes: Vec<String>,
}

/// A key just made: `token` is shown this once.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewKeyView {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The bearer token; not stored, not shown again.
    pub token: String,
}

/// A tenant's usage.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UsageView {
    /// The tenant.
    pub tenant_id: String,
    /// Its limits.
    pub limits: TenantLimits,
    /// The current period's counters.
    pub current: Usage,
    /// When the current period ends (Unix milliseconds).
    pub period_end: i64,
    /// Earlier periods, most recent first.
    pub history: Vec<Usage>,
}

/// The caller.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeView {
    /// The API key's or user's id.
    pub id: String,
    /// `api_key`, `user`, `sso` or `client_certificate`.
    pub kind: String,
    /// Tenant, if any.
    pub tenant_id: Option<String>,
    /// An API key's scopes.
    pub scopes: Vec<Scope>,
    /// A person's roles.
    pub roles: Vec<signet_store::Role>,
}

fn limits_from(req: &TenantRequest, base: TenantLimits) -> Result<TenantLimits, Error> {
    let quota_period = req.quota_period.clone().unwrap_or(base.quota_period);
    if !PERIODS.contains(&quota_period.as_str()) {
        return Err(Error::bad("bad_period", format!("quota_period '{quota_period}': hour, day or month")));
    }
    for (name, v) in
        [("max_calls", req.max_calls), ("max_documents", req.max_documents), ("rate_per_second", req.rate_per_second)]
    {
        if v.is_some_and(|v| v < 0) {
            return Err(Error::bad("bad_limit", format!("{name} cannot be negative")));
        }
    }
    Ok(TenantLimits {
        quota_period,
        max_calls: req.max_calls.or(base.max_calls),
        max_documents: req.max_documents.or(base.max_documents),
        rate_per_second: req.rate_per_second.or(base.rate_per_second),
    })
}

/// Create a tenant.
///
/// Operator key (scope `admin`). The name is unique; limits are optional (unlimited when
/// absent), the quota period `month` unless given.
#[utoipa::path(
    post,
    path = "/tenants",
    tag = "tenants",
    security(("bearer" = ["admin"])),
    request_body = TenantRequest,
    responses(
        (status = 201, description = "The tenant.", body = Tenant),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TenantRequest>,
) -> Result<(StatusCode, Json<Tenant>), Error> {
    caller.require_admin()?;
    let name = req
        .name
        .clone()
        .filter(|n| !n.trim().is_empty() && n.len() <= 128)
        .ok_or_else(|| Error::bad("bad_name", "a tenant needs a name (1–128 characters)"))?;
    let limits = limits_from(&req, TenantLimits { quota_period: "month".into(), ..TenantLimits::default() })?;
    let tenant = state.store().create_tenant(&name, &limits).await?;
    let entry = AuditEntry::new(OPERATOR_CHAIN, &caller.actor(), "tenant.create", "ok").target("tenant", &tenant.id);
    audit(&state, entry.detail(serde_json::json!({ "name": tenant.name, "limits": tenant.limits }))).await;
    Ok((StatusCode::CREATED, Json(tenant)))
}

/// List the tenants.
///
/// Operator key (scope `admin`).
#[utoipa::path(
    get,
    path = "/tenants",
    tag = "tenants",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Every tenant.", body = Vec<Tenant>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_tenants(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Tenant>>, Error> {
    caller.require_admin()?;
    Ok(Json(state.store().tenants().await?))
}

/// Show a tenant.
///
/// Operator key (scope `admin`).
#[utoipa::path(
    get,
    path = "/tenants/{id}",
    tag = "tenants",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The tenant's id (`tn_…`)")),
    responses(
        (status = 200, description = "The tenant.", body = Tenant),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, Error> {
    caller.require_admin()?;
    Ok(Json(state.store().tenant(&id).await?))
}

/// Change a tenant's status or limits.
///
/// Operator key (scope `admin`). `status` is `active` or `suspended` (a suspended tenant's
/// keys get 403); limits left out keep their value. The name does not change.
#[utoipa::path(
    patch,
    path = "/tenants/{id}",
    tag = "tenants",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The tenant's id (`tn_…`)")),
    request_body = TenantRequest,
    responses(
        (status = 200, description = "The tenant as changed.", body = Tenant),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TenantRequest>,
) -> Result<Json<Tenant>, Error> {
    caller.require_admin()?;
    if req.name.is_some() {
        return Err(Error::bad("bad_request", "a tenant's name does not change"));
    }
    let tenant = state.store().tenant(&id).await?;
    let status = req.status.clone().unwrap_or(tenant.status);
    if status != "active" && status != "suspended" {
        return Err(Error::bad("bad_status", format!("status '{status}': active or suspended")));
    }
    let limits = limits_from(&req, tenant.limits)?;
    let updated = state.store().update_tenant(&id, &status, &limits).await?;
    state.meter().reload(&id).await?;
    let entry = AuditEntry::new(OPERATOR_CHAIN, &caller.actor(), "tenant.update", "ok").target("tenant", &id);
    audit(&state, entry.detail(serde_json::json!({ "status": updated.status, "limits": updated.limits }))).await;
    Ok(Json(updated))
}

pub(crate) fn parse_scopes(scopes: &[String]) -> Result<Vec<Scope>, Error> {
    if scopes.is_empty() {
        return Err(Error::bad("bad_scope", "give at least one scope: sign-hash, sign-document, manage"));
    }
    scopes
        .iter()
        .map(|s| match s.parse::<Scope>() {
            Ok(Scope::Admin) => Err(Error::bad("bad_scope", "tenant keys cannot have the admin scope")),
            Ok(s) => Ok(s),
            Err(e) => Err(Error::bad("bad_scope", e)),
        })
        .collect()
}

async fn make_key(
    state: &AppState,
    caller: &Caller,
    tenant: &str,
    req: &KeyRequest,
) -> Result<(StatusCode, Json<NewKeyView>), Error> {
    let scopes = parse_scopes(&req.scopes)?;
    let new = state.store().create_api_key(Some(tenant), &req.name, &scopes).await?;
    let chain = if caller.tenant_id.is_some() { tenant } else { OPERATOR_CHAIN };
    let entry = AuditEntry::new(chain, &caller.actor(), "key.create", "ok").target("api_key", &new.key.id);
    audit(state, entry.detail(serde_json::json!({ "tenant": tenant, "name": req.name, "scopes": scopes }))).await;
    Ok((StatusCode::CREATED, Json(NewKeyView { key: new.key, token: new.token })))
}

/// Create a tenant's API key.
///
/// Operator key (scope `admin`). The token is in the answer only: keep it.
#[utoipa::path(
    post,
    path = "/tenants/{id}/keys",
    tag = "tenants",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The tenant's id (`tn_…`)")),
    request_body = KeyRequest,
    responses(
        (status = 201, description = "The key and its token, shown this once.", body = NewKeyView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn create_tenant_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<KeyRequest>,
) -> Result<(StatusCode, Json<NewKeyView>), Error> {
    caller.require_admin()?;
    state.store().tenant(&id).await?;
    make_key(&state, &caller, &id, &req).await
}

/// List a tenant's API keys.
///
/// Operator key (scope `admin`). Revoked keys are listed with `revoked_at`; tokens never.
#[utoipa::path(
    get,
    path = "/tenants/{id}/keys",
    tag = "tenants",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The tenant's id (`tn_…`)")),
    responses(
        (status = 200, description = "The tenant's keys.", body = Vec<ApiKey>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_tenant_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ApiKey>>, Error> {
    caller.require_admin()?;
    state.store().tenant(&id).await?;
    Ok(Json(state.store().api_keys(Some(&id)).await?))
}

/// Create an API key for the caller's tenant.
///
/// Scope `manage`. The token is in the answer only: keep it.
#[utoipa::path(
    post,
    path = "/keys",
    tag = "keys",
    security(("bearer" = ["manage"])),
    request_body = KeyRequest,
    responses(
        (status = 201, description = "The key and its token, shown this once.", body = NewKeyView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<KeyRequest>,
) -> Result<(StatusCode, Json<NewKeyView>), Error> {
    let tenant = caller.may(Permission::ManageKeys)?.to_string();
    make_key(&state, &caller, &tenant, &req).await
}

/// List the caller's tenant's API keys.
///
/// Scope `manage`.
#[utoipa::path(
    get,
    path = "/keys",
    tag = "keys",
    security(("bearer" = ["manage"])),
    responses(
        (status = 200, description = "The tenant's keys.", body = Vec<ApiKey>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_keys(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ApiKey>>, Error> {
    let tenant = caller.may(Permission::ManageKeys)?;
    Ok(Json(state.store().api_keys(Some(tenant)).await?))
}

/// Revoke an API key.
///
/// An operator key (scope `admin`) revokes any key; a tenant key with scope `manage` the
/// keys of its tenant. The key stops working at once on this server, within 5 s on others
/// sharing the database.
#[utoipa::path(
    delete,
    path = "/keys/{id}",
    tag = "keys",
    security(("bearer" = ["admin"]), ("bearer" = ["manage"])),
    params(("id" = String, Path, description = "The key's id (`key_…`)")),
    responses(
        (status = 200, description = "The key, revoked.", body = ApiKey),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, Error> {
    let within =
        if caller.require_admin().is_ok() { None } else { Some(caller.may(Permission::ManageKeys)?.to_string()) };
    let key = state.store().revoke_api_key(&id, within.as_deref()).await?;
    state.keys().forget(&id);
    tracing::info!("API key {id} revoked by {}", caller.id);
    let chain = within.as_deref().unwrap_or(OPERATOR_CHAIN);
    audit(&state, AuditEntry::new(chain, &caller.actor(), "key.revoke", "ok").target("api_key", &id)).await;
    Ok(Json(key))
}

/// The caller's tenant's usage.
///
/// Scope `manage`. Signing calls and documents in the current period against the limits,
/// and up to 12 earlier periods.
#[utoipa::path(
    get,
    path = "/usage",
    tag = "keys",
    security(("bearer" = ["manage"])),
    responses(
        (status = 200, description = "Usage and limits.", body = UsageView),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn usage(State(state): State<AppState>, caller: Caller) -> Result<Json<UsageView>, Error> {
    let tenant = caller.may(Permission::ReadAudit)?.to_string();
    usage_of(&state, &tenant).await
}

/// A tenant's usage.
///
/// Operator key (scope `admin`).
#[utoipa::path(
    get,
    path = "/tenants/{id}/usage",
    tag = "tenants",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The tenant's id (`tn_…`)")),
    responses(
        (status = 200, description = "Usage and limits.", body = UsageView),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn tenant_usage(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UsageView>, Error> {
    caller.require_admin()?;
    usage_of(&state, &id).await
}

async fn usage_of(state: &AppState, tenant_id: &str) -> Result<Json<UsageView>, Error> {
    let tenant = state.store().tenant(tenant_id).await?;
    let now = signet_store::now_millis();
    let start = period_start(&tenant.limits.quota_period, now);
    let current = state.store().usage(tenant_id, start).await?;
    let history =
        state.store().usage_history(tenant_id, 13).await?.into_iter().filter(|u| u.period_start != start).collect();
    Ok(Json(UsageView {
        tenant_id: tenant_id.to_string(),
        period_end: next_period_start(&tenant.limits.quota_period, now),
        limits: tenant.limits,
        current,
        history,
    }))
}

/// The caller.
///
/// Any valid key: its id, tenant (none for operator keys) and scopes.
#[utoipa::path(
    get,
    path = "/me",
    tag = "keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The key's id, tenant and scopes.", body = MeView),
        (status = 401, response = crate::openapi::Unauthenticated),
    )
)]
pub async fn me(caller: Caller) -> Json<MeView> {
    Json(MeView {
        id: caller.id,
        kind: caller.via.name().into(),
        tenant_id: caller.tenant_id,
        scopes: caller.scopes,
        roles: caller.roles,
    })
}

/// `?after=SEQ&limit=N`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsQuery {
    /// Records after this sequence number (default 0: from the first).
    #[serde(default)]
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// The tenant's signing records in order, for audit and reconciliation with its own systems.
///
/// Scope `manage`.
#[utoipa::path(
    get,
    path = "/signatures",
    tag = "keys",
    security(("bearer" = ["manage"])),
    params(
        ("after" = Option<i64>, Query, description = "Records after this sequence number (default 0)"),
        ("limit" = Option<i64>, Query, description = "At most this many (default 100, at most 1000)"),
    ),
    responses(
        (status = 200, description = "Signing records, by `seq`.", body = Vec<signet_store::SignatureRecord>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn signatures(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<RecordsQuery>,
) -> Result<Json<Vec<signet_store::SignatureRecord>>, Error> {
    let tenant = caller.may(Permission::ReadAudit)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(state.store().signatures(tenant, q.after.unwrap_or(0), limit).await?))
}
