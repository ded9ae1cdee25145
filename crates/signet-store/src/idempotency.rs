//! `Idempotency-Key`: the first result of a request is kept, and a retry with the same key
//! gets it again instead of signing (and being metered) twice.

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Store, get, now_millis, parse_json, to_json};

/// A claim that has been pending this long belongs to a request whose server died: the next
/// request with the key takes it over.
const ABANDONED_AFTER_MILLIS: i64 = 10 * 60 * 1000;

/// The response kept for a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers to repeat (content type, document id, hash).
    pub headers: Vec<(String, String)>,
    /// A JSON body, when the response is JSON.
    pub body: Option<String>,
    /// A stored document that is the body, when the response is a document.
    pub document_id: Option<String>,
}

/// A key as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// What identifies the request the key was first used with.
    pub fingerprint: String,
    /// Its result, once there is one.
    pub response: Option<StoredResponse>,
}

/// What [`Store::claim_idempotency_key`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or was abandoned): go on, then [`Store::complete_idempotency_key`].
    Claimed,
    /// The same request was answered before: answer this again.
    Replay(StoredResponse),
    /// The same key is being used by a request still in progress.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` for a request identified by `fingerprint` (a hash of what it asks).
    pub async fn claim_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<IdempotencyClaim> {
        let now = now_millis();
        let inserted = sqlx::query(
            "INSERT INTO idempotency (tenant_id, idem_key, fingerprint, state, created_at) VALUES ($1, $2, $3, 'pending', $4) \
             ON CONFLICT (tenant_id, idem_key) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyClaim::Claimed);
        }
        let row = sqlx::query(
            "SELECT fingerprint, state, status_code, headers, body, document_id, created_at FROM idempotency \
             WHERE tenant_id = $1 AND idem_key = $2",
        )
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound(format!("idempotency key '{key}'")))?;
        let stored_fp: String = get(&row, "fingerprint")?;
        if stored_fp != fingerprint {
            return Ok(IdempotencyClaim::Mismatch);
        }
        let state: String = get(&row, "state")?;
        if state == "done" {
            let headers: Option<String> = get(&row, "headers")?;
            let status: Option<i64> = get(&row, "status_code")?;
            return Ok(IdempotencyClaim::Replay(StoredResponse {
                status: status.unwrap_or(200) as u16,
                headers: match headers {
                    Some(h) => parse_json("idempotency headers", &h)?,
                    None => Vec::new(),
                },
                body: get(&row, "body")?,
                document_id: get(&row, "document_id")?,
            }));
        }
        let created: i64 = get(&row, "created_at")?;
        if now - created > ABANDONED_AFTER_MILLIS {
            let taken = sqlx::query(
                "UPDATE idempotency SET created_at = $1 WHERE tenant_id = $2 AND idem_key = $3 AND state = 'pending' \
                 AND created_at = $4",
            )
            .bind(now)
            .bind(tenant_id)
            .bind(key)
            .bind(created)
            .execute(&self.pool)
            .await?;
            if taken.rows_affected() == 1 {
                return Ok(IdempotencyClaim::Claimed);
            }
        }
        Ok(IdempotencyClaim::InProgress)
    }

    /// Keeps the response of a claimed key.
    pub async fn complete_idempotency_key(&self, tenant_id: &str, key: &str, response: &StoredResponse) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency SET state = 'done', status_code = $1, headers = $2, body = $3, document_id = $4 \
             WHERE tenant_id = $5 AND idem_key = $6",
        )
        .bind(i64::from(response.status))
        .bind(to_json(&response.headers))
        .bind(&response.body)
        .bind(&response.document_id)
        .bind(tenant_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up a claimed key (the request failed before doing anything lasting), so a
    /// retry runs again.
    pub async fn release_idempotency_key(&self, tenant_id: &str, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM idempotency WHERE tenant_id = $1 AND idem_key = $2 AND state = 'pending'")
            .bind(tenant_id)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
