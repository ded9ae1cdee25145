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
use signet_store::{ApiKey, Scope, Tenant, TenantLimits, Usage};

use crate::auth::Caller;
use crate::meter::{PERIODS, next_period_start, period_start};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// `POST /api/v1/tenants`, `PATCH /api/v1/tenants/{id}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// A label.
    pub name: String,
    /// Scopes: `sign-hash`, `sign-document`, `manage`.
    pub scopes: Vec<String>,
}

/// A key just made: `token` is shown this once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewKeyView {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The bearer token; not stored, not shown again.
    pub token: String,
}

/// A tenant's usage.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MeView {
    /// Key id.
    pub key_id: String,
    /// Tenant, if any.
    pub tenant_id: Option<String>,
    /// Scopes.
    pub scopes: Vec<Scope>,
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

/// `POST /api/v1/tenants`
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
    Ok((StatusCode::CREATED, Json(state.store().create_tenant(&name, &limits).await?)))
}

/// `GET /api/v1/tenants`
pub async fn list_tenants(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Tenant>>, Error> {
    caller.require_admin()?;
    Ok(Json(state.store().tenants().await?))
}

/// `GET /api/v1/tenants/{id}`
pub async fn show_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, Error> {
    caller.require_admin()?;
    Ok(Json(state.store().tenant(&id).await?))
}

/// `PATCH /api/v1/tenants/{id}`
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
    Ok(Json(updated))
}

fn parse_scopes(scopes: &[String]) -> Result<Vec<Scope>, Error> {
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

async fn make_key(state: &AppState, tenant: &str, req: &KeyRequest) -> Result<(StatusCode, Json<NewKeyView>), Error> {
    let scopes = parse_scopes(&req.scopes)?;
    let new = state.store().create_api_key(Some(tenant), &req.name, &scopes).await?;
    Ok((StatusCode::CREATED, Json(NewKeyView { key: new.key, token: new.token })))
}

/// `POST /api/v1/tenants/{id}/keys`
pub async fn create_tenant_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<KeyRequest>,
) -> Result<(StatusCode, Json<NewKeyView>), Error> {
    caller.require_admin()?;
    state.store().tenant(&id).await?;
    make_key(&state, &id, &req).await
}

/// `GET /api/v1/tenants/{id}/keys`
pub async fn list_tenant_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ApiKey>>, Error> {
    caller.require_admin()?;
    state.store().tenant(&id).await?;
    Ok(Json(state.store().api_keys(Some(&id)).await?))
}

/// `POST /api/v1/keys` (the caller's tenant)
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<KeyRequest>,
) -> Result<(StatusCode, Json<NewKeyView>), Error> {
    let tenant = caller.tenant_with(Scope::Manage)?.to_string();
    make_key(&state, &tenant, &req).await
}

/// `GET /api/v1/keys` (the caller's tenant)
pub async fn list_keys(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ApiKey>>, Error> {
    let tenant = caller.tenant_with(Scope::Manage)?;
    Ok(Json(state.store().api_keys(Some(tenant)).await?))
}

/// `DELETE /api/v1/keys/{id}`
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, Error> {
    let within =
        if caller.require_admin().is_ok() { None } else { Some(caller.tenant_with(Scope::Manage)?.to_string()) };
    let key = state.store().revoke_api_key(&id, within.as_deref()).await?;
    state.keys().forget(&id);
    tracing::info!("API key {id} revoked by {}", caller.key_id);
    Ok(Json(key))
}

/// `GET /api/v1/usage` (tenant `manage` keys), `GET /api/v1/tenants/{id}/usage` (operators)
pub async fn usage(State(state): State<AppState>, caller: Caller) -> Result<Json<UsageView>, Error> {
    let tenant = caller.tenant_with(Scope::Manage)?.to_string();
    usage_of(&state, &tenant).await
}

/// `GET /api/v1/tenants/{id}/usage`
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

/// `GET /api/v1/me`
pub async fn me(caller: Caller) -> Json<MeView> {
    Json(MeView { key_id: caller.key_id, tenant_id: caller.tenant_id, scopes: caller.scopes })
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

/// `GET /api/v1/signatures` (`manage`): the tenant's signing records in order, for audit and
/// reconciliation with its own systems.
pub async fn signatures(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<RecordsQuery>,
) -> Result<Json<Vec<signet_store::SignatureRecord>>, Error> {
    let tenant = caller.tenant_with(Scope::Manage)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(state.store().signatures(tenant, q.after.unwrap_or(0), limit).await?))
}
