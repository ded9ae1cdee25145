//! Tenants, their API keys, their limits and their usage.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::{Error, Result, Store, get, new_id, now_millis, random_base32, sha256_hex};

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    /// `POST /api/v1/sign-hash`: sign a digest.
    SignHash,
    /// The signing agent: sign whole documents, batches, previews.
    SignDocument,
    /// The tenant's own identities, templates, images, keys and usage.
    Manage,
    /// The operator: tenants and their keys. Only keys of no tenant have it.
    Admin,
}

impl Scope {
    /// Every scope a tenant key may hold.
    pub const TENANT: [Scope; 3] = [Scope::SignHash, Scope::SignDocument, Scope::Manage];

    /// The scope's name in the API.
    pub fn name(self) -> &'static str {
        match self {
            Scope::SignHash => "sign-hash",
            Scope::SignDocument => "sign-document",
            Scope::Manage => "manage",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sign-hash" => Ok(Scope::SignHash),
            "sign-document" => Ok(Scope::SignDocument),
            "manage" => Ok(Scope::Manage),
            "admin" => Ok(Scope::Admin),
            _ => Err(format!("unknown scope '{s}' (sign-hash, sign-document, manage)")),
        }
    }
}

/// A tenant's limits. `None` is unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantLimits {
    /// Length of a metering period: `hour`, `day` or `month` (calendar, UTC).
    pub quota_period: String,
    /// Signing calls (sign-hash and documents) per period.
    pub max_calls: Option<i64>,
    /// Documents signed by the agent per period.
    pub max_documents: Option<i64>,
    /// Requests per second (a token bucket with one second of burst).
    pub rate_per_second: Option<i64>,
}

/// A customer of the service: everything else belongs to one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// An API key as stored (its secret only as a hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    /// `key_…`, also the first part of the token.
    pub id: String,
    /// The owning tenant; none (null) for operator keys.
    pub tenant_id: Option<String>,
    /// A label.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// SHA-256 of the secret part of the token, hexadecimal.
    #[serde(skip)]
    pub secret_hash: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Set once revoked.
    pub revoked_at: Option<i64>,
}

impl ApiKey {
    /// Whether `secret` is this key's secret (compared in constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        let computed = sha256_hex(secret.as_bytes());
        let (a, b) = (computed.as_bytes(), self.secret_hash.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Whether the key holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A key just created: the token is shown this once and never stored.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    /// The stored key.
    pub key: ApiKey,
    /// `sgk_` + key id suffix + `.` + secret: what clients send as `Authorization: Bearer`.
    pub token: String,
}

/// Splits a token into key id and secret.
pub fn split_token(token: &str) -> Option<(String, &str)> {
    let rest = token.strip_prefix("sgk_")?;
    let (id, secret) = rest.split_once('.')?;
    if id.is_empty() || secret.is_empty() || id.len() > 64 {
        return None;
    }
    Some((format!("key_{id}"), secret))
}

/// A tenant's counters for one period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    /// Start of the period, Unix milliseconds.
    pub period_start: i64,
    /// Signing calls.
    pub calls: i64,
    /// Documents signed.
    pub documents: i64,
}

/// Counts to add to a tenant's period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageDelta {
    /// The tenant.
    pub tenant_id: String,
    /// Start of the period, Unix milliseconds.
    pub period_start: i64,
    /// Calls to add.
    pub calls: i64,
    /// Documents to add.
    pub documents: i64,
}

fn tenant_from_row(row: &AnyRow) -> Result<Tenant> {
    Ok(Tenant {
        id: get(row, "id")?,
        name: get(row, "name")?,
        status: get(row, "status")?,
        limits: TenantLimits {
            quota_period: get(row, "quota_period")?,
            max_calls: get(row, "max_calls")?,
            max_documents: get(row, "max_documents")?,
            rate_per_second: get(row, "rate_per_second")?,
        },
        created_at: get(row, "created_at")?,
    })
}

fn key_from_row(row: &AnyRow) -> Result<ApiKey> {
    let scopes: String = get(row, "scopes")?;
    let scopes = scopes
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(Error::Corrupt))
        .collect::<Result<Vec<Scope>>>()?;
    Ok(ApiKey {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        scopes,
        secret_hash: get(row, "secret_hash")?,
        created_at: get(row, "created_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

const TENANT_COLUMNS: &str = "id, name, status, quota_period, max_calls, max_documents, rate_per_second, created_at";
const KEY_COLUMNS: &str = "id, tenant_id, name, secret_hash, scopes, created_at, revoked_at";

impl Store {
    /// Creates a tenant; its name must be new.
    pub async fn create_tenant(&self, name: &str, limits: &TenantLimits) -> Result<Tenant> {
        let tenant = Tenant {
            id: new_id("tn"),
            name: name.to_string(),
            status: "active".into(),
            limits: limits.clone(),
            created_at: now_millis(),
        };
        sqlx::query(
            "INSERT INTO tenants (id, name, status, quota_period, max_calls, max_documents, rate_per_second, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&tenant.id)
        .bind(&tenant.name)
        .bind(&tenant.status)
        .bind(&tenant.limits.quota_period)
        .bind(tenant.limits.max_calls)
        .bind(tenant.limits.max_documents)
        .bind(tenant.limits.rate_per_second)
        .bind(tenant.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Conflict(format!("a tenant named '{name}'")),
            e => e,
        })?;
        Ok(tenant)
    }

    /// Changes a tenant's limits and status.
    pub async fn update_tenant(&self, id: &str, status: &str, limits: &TenantLimits) -> Result<Tenant> {
        let done = sqlx::query(
            "UPDATE tenants SET status = $1, quota_period = $2, max_calls = $3, max_documents = $4, rate_per_second = $5 \
             WHERE id = $6",
        )
        .bind(status)
        .bind(&limits.quota_period)
        .bind(limits.max_calls)
        .bind(limits.max_documents)
        .bind(limits.rate_per_second)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("tenant {id}")));
        }
        self.tenant(id).await
    }

    /// One tenant.
    pub async fn tenant(&self, id: &str) -> Result<Tenant> {
        let row = sqlx::query(dynamic!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("tenant {id}")))?;
        tenant_from_row(&row)
    }

    /// Every tenant, by name.
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows =
            sqlx::query(dynamic!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name")).fetch_all(&self.pool).await?;
        rows.iter().map(tenant_from_row).collect()
    }

    /// Creates an API key for `tenant_id` (`None`: an operator key) with these scopes.
    pub async fn create_api_key(&self, tenant_id: Option<&str>, name: &str, scopes: &[Scope]) -> Result<NewApiKey> {
        let suffix = random_base32(16);
        let secret = random_base32(32);
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let key = ApiKey {
            id: format!("key_{suffix}"),
            tenant_id: tenant_id.map(str::to_string),
            name: name.to_string(),
            scopes,
            secret_hash: sha256_hex(secret.as_bytes()),
            created_at: now_millis(),
            revoked_at: None,
        };
        let scopes_text = key.scopes.iter().map(|s| s.name()).collect::<Vec<_>>().join(" ");
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, secret_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(&key.tenant_id)
        .bind(&key.name)
        .bind(&key.secret_hash)
        .bind(scopes_text)
        .bind(key.created_at)
        .execute(&self.pool)
        .await?;
        Ok(NewApiKey { token: format!("sgk_{suffix}.{secret}"), key })
    }

    /// One API key by id.
    pub async fn api_key(&self, id: &str) -> Result<ApiKey> {
        let row = sqlx::query(dynamic!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("API key {id}")))?;
        key_from_row(&row)
    }

    /// The keys of a tenant (`None`: the operator keys), oldest first.
    pub async fn api_keys(&self, tenant_id: Option<&str>) -> Result<Vec<ApiKey>> {
        let rows = match tenant_id {
            Some(t) => {
                sqlx::query(dynamic!("SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id"))
                    .bind(t)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(dynamic!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id IS NULL ORDER BY created_at, id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(key_from_row).collect()
    }

    /// Whether any operator key exists (the first start creates one).
    pub async fn has_admin_key(&self) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id IS NULL AND revoked_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(get::<i64>(&row, "n")? > 0)
    }

    /// Stores an operator key whose token was chosen outside (`SIGNET_ADMIN_TOKEN`), unless a
    /// key with that id exists. Returns whether it was added.
    pub async fn ensure_admin_token(&self, token: &str) -> Result<bool> {
        let (id, secret) = split_token(token).ok_or_else(|| {
            Error::Corrupt("the admin token must look like sgk_ID.SECRET (letters and digits)".into())
        })?;
        let done = sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, secret_hash, scopes, created_at) \
             VALUES ($1, NULL, 'admin (from the environment)', $2, 'admin', $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(sha256_hex(secret.as_bytes()))
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Revokes a key. Within a tenant when `tenant_id` is given.
    pub async fn revoke_api_key(&self, id: &str, tenant_id: Option<&str>) -> Result<ApiKey> {
        let key = self.api_key(id).await?;
        if tenant_id.is_some() && key.tenant_id.as_deref() != tenant_id {
            return Err(Error::NotFound(format!("API key {id}")));
        }
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_millis())
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.api_key(id).await
    }

    /// A tenant's counters for the period starting at `period_start`.
    pub async fn usage(&self, tenant_id: &str, period_start: i64) -> Result<Usage> {
        let row = sqlx::query(
            "SELECT period_start, calls, documents FROM usage_counters WHERE tenant_id = $1 AND period_start = $2",
        )
        .bind(tenant_id)
        .bind(period_start)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Usage {
                period_start: get(&row, "period_start")?,
                calls: get(&row, "calls")?,
                documents: get(&row, "documents")?,
            }),
            None => Ok(Usage { period_start, calls: 0, documents: 0 }),
        }
    }

    /// A tenant's counters, most recent period first.
    pub async fn usage_history(&self, tenant_id: &str, limit: i64) -> Result<Vec<Usage>> {
        let rows = sqlx::query(
            "SELECT period_start, calls, documents FROM usage_counters WHERE tenant_id = $1 \
             ORDER BY period_start DESC LIMIT $2",
        )
        .bind(tenant_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Usage {
                    period_start: get(row, "period_start")?,
                    calls: get(row, "calls")?,
                    documents: get(row, "documents")?,
                })
            })
            .collect()
    }
}

/// The upsert of a usage delta (tenant, period start, calls, documents), its parameters
/// numbered from `$first`, or anonymous with `None` (SQLite, see `records::insert_sql_with`).
pub(crate) fn add_usage_sql(first: Option<usize>) -> String {
    let values = match first {
        Some(n) => format!("${n}, ${}, ${}, ${}", n + 1, n + 2, n + 3),
        None => "?, ?, ?, ?".to_string(),
    };
    format!(
        "INSERT INTO usage_counters (tenant_id, period_start, calls, documents) VALUES ({values}) \
         ON CONFLICT (tenant_id, period_start) DO UPDATE SET calls = usage_counters.calls + excluded.calls, \
         documents = usage_counters.documents + excluded.documents"
    )
}

pub(crate) async fn add_usage(conn: &mut sqlx::AnyConnection, delta: &UsageDelta) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(add_usage_sql(Some(1))))
        .bind(&delta.tenant_id)
        .bind(delta.period_start)
        .bind(delta.calls)
        .bind(delta.documents)
        .execute(conn)
        .await?;
    Ok(())
}
