//! Tenants and their keys (the operator's calls), the caller's own keys, usage and signing
//! records.

use serde::{Deserialize, Serialize};

use crate::operations::*;
use crate::{Client, Query, Result};

/// A customer of the service: everything else belongs to one.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Tenant {
    /// `tn_…`
    pub id: String,
    /// Unique, chosen by the operator.
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    /// Quotas and rate.
    pub limits: TenantLimits,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A tenant's limits; `None` is unlimited.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TenantLimits {
    /// Signing calls (sign-hash and documents) per period.
    pub max_calls: Option<i64>,
    /// Documents signed by the agent per period.
    pub max_documents: Option<i64>,
    /// Length of a metering period: `hour`, `day` or `month` (calendar, UTC).
    pub quota_period: String,
    /// Requests per second (a token bucket with one second of burst).
    pub rate_per_second: Option<i64>,
}

/// A new tenant, or what changes in one: only the fields given are sent.
///
/// ```
/// let acme = signet_client::TenantRequest { name: Some("acme".into()), max_documents: Some(1000), ..Default::default() };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TenantRequest {
    /// Unique name (create only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `active` or `suspended` (update only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Signing calls per period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_calls: Option<i64>,
    /// Documents per period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_documents: Option<i64>,
    /// `hour`, `day` or `month` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_period: Option<String>,
    /// Requests per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_second: Option<i64>,
}

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Scope {
    /// `POST /api/v1/sign-hash`.
    SignHash,
    /// The signing agent, batches, documents.
    SignDocument,
    /// What a tenant administrator and a seal administrator may do.
    Manage,
    /// The operator: tenants and their keys.
    Admin,
    /// A scope this version of the client does not know.
    #[serde(other)]
    Other,
}

/// An API key as stored (its secret only as a hash).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ApiKey {
    /// `key_…`, also the first part of the token.
    pub id: String,
    /// A label.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The owning tenant; `None` for operator keys.
    pub tenant_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Set once revoked.
    pub revoked_at: Option<i64>,
}

/// A key just made, with its token: shown this once.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NewApiKey {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The bearer token (`sgk_ID.SECRET`); not stored by the server, not shown again.
    pub token: String,
}

/// A new API key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyRequest {
    /// A label.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl KeyRequest {
    /// A key named `name` with `scopes`.
    pub fn new(name: impl Into<String>, scopes: &[Scope]) -> KeyRequest {
        KeyRequest { name: name.into(), scopes: scopes.to_vec() }
    }
}

/// Who the caller is.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Me {
    /// The API key's or user's id.
    pub id: String,
    /// `api_key`, `user` or `sso`.
    pub kind: String,
    /// Tenant, if any.
    pub tenant_id: Option<String>,
    /// An API key's scopes.
    pub scopes: Vec<Scope>,
    /// A person's roles.
    pub roles: Vec<crate::Role>,
}

/// A tenant's usage against its limits.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UsageReport {
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

/// A tenant's counters for one period.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Usage {
    /// Start of the period, Unix milliseconds.
    pub period_start: i64,
    /// Signing calls.
    pub calls: i64,
    /// Documents signed.
    pub documents: i64,
}

/// One signature made (or refused once authorised): who, with what key, over which digest.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SignatureRecord {
    /// `sig_…`
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Order within the tenant, from 1.
    pub seq: i64,
    /// The identity name asked for.
    pub identity_name: String,
    /// The identity, when it was found.
    pub identity_id: Option<String>,
    /// SHA-256 of the public key, hexadecimal.
    pub key_id: Option<String>,
    /// `sha256`, `sha384`, `sha512`.
    pub digest_algorithm: String,
    /// The document digest signed, hexadecimal.
    pub digest: String,
    /// `B-B`, `B-T`, `B-LT`, `B-LTA`.
    pub level: String,
    /// `sign-hash`, `agent`, `batch`.
    pub channel: String,
    /// The API key that asked.
    pub caller: String,
    /// `signed` or `failed`.
    pub outcome: String,
    /// Why it failed, or a note.
    pub detail: Option<String>,
    /// The signed document, when the agent stored one.
    pub document_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Tenants and keys: the operator's calls (scope `admin`), then the caller's own.
impl Client {
    /// `POST /api/v1/tenants`: creates a tenant (operator).
    pub fn create_tenant(&self, tenant: &TenantRequest) -> Result<Tenant> {
        self.call(CREATE_TENANT, &[]).json(tenant)
    }

    /// `GET /api/v1/tenants` (operator).
    pub fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.call(LIST_TENANTS, &[]).answer()
    }

    /// `GET /api/v1/tenants/{id}` (operator).
    pub fn show_tenant(&self, id: &str) -> Result<Tenant> {
        self.call(SHOW_TENANT, &[id]).answer()
    }

    /// `PATCH /api/v1/tenants/{id}`: changes a tenant's status or limits (operator).
    pub fn update_tenant(&self, id: &str, change: &TenantRequest) -> Result<Tenant> {
        self.call(UPDATE_TENANT, &[id]).json(change)
    }

    /// `GET /api/v1/tenants/{id}/keys` (operator).
    pub fn list_tenant_keys(&self, tenant_id: &str) -> Result<Vec<ApiKey>> {
        self.call(LIST_TENANT_KEYS, &[tenant_id]).answer()
    }

    /// `POST /api/v1/tenants/{id}/keys`: a key of the tenant, with its token (operator).
    pub fn create_tenant_key(&self, tenant_id: &str, key: &KeyRequest) -> Result<NewApiKey> {
        self.call(CREATE_TENANT_KEY, &[tenant_id]).json(key)
    }

    /// `GET /api/v1/tenants/{id}/usage` (operator).
    pub fn tenant_usage(&self, tenant_id: &str) -> Result<UsageReport> {
        self.call(TENANT_USAGE, &[tenant_id]).answer()
    }

    /// `GET /api/v1/me`: the caller.
    pub fn me(&self) -> Result<Me> {
        self.call(ME, &[]).answer()
    }

    /// `GET /api/v1/keys`: the caller's tenant's API keys.
    pub fn list_keys(&self) -> Result<Vec<ApiKey>> {
        self.call(LIST_KEYS, &[]).answer()
    }

    /// `POST /api/v1/keys`: a key for the caller's tenant, with its token.
    pub fn create_key(&self, key: &KeyRequest) -> Result<NewApiKey> {
        self.call(CREATE_KEY, &[]).json(key)
    }

    /// `DELETE /api/v1/keys/{id}`: revokes a key of the caller's tenant.
    pub fn revoke_key(&self, id: &str) -> Result<ApiKey> {
        self.call(REVOKE_KEY, &[id]).answer()
    }

    /// `GET /api/v1/usage`: the caller's tenant's usage.
    pub fn usage(&self) -> Result<UsageReport> {
        self.call(USAGE, &[]).answer()
    }

    /// `GET /api/v1/signatures`: the tenant's signing records in `seq` order, those after
    /// `after` (`None`: from the first), at most `limit`.
    pub fn signatures(&self, after: Option<i64>, limit: Option<i64>) -> Result<Vec<SignatureRecord>> {
        let mut q = Query::default();
        q.opt("after", after).opt("limit", limit);
        self.call(SIGNATURES, &[]).query(&q).answer()
    }
}
