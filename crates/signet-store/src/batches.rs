//! Batch jobs: many documents signed with one set of options, persisted so that a restarted
//! server finishes them.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::{Error, Result, Store, get, new_id, now_millis, parse_json};

/// A batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// `bat_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// The API key that created it (its scopes are checked again when it runs).
    pub caller: String,
    /// The signing options, as the API defines them.
    pub options: serde_json::Value,
    /// `running` or `done`.
    pub state: String,
    /// Number of documents.
    pub total: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, once every document is done or failed.
    pub finished_at: Option<i64>,
}

/// State of one document of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    /// Waiting (or interrupted by a restart).
    Pending,
    /// Signed.
    Done,
    /// Could not be signed; see the error.
    Failed,
}

impl ItemState {
    fn name(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Done => "done",
            ItemState::Failed => "failed",
        }
    }
}

/// One document of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// Position in the batch, from 0.
    pub idx: i64,
    /// The file name given.
    pub name: String,
    /// Where the uploaded input is.
    pub input_blob: String,
    /// Its state.
    pub state: ItemState,
    /// The signed document, once done.
    pub document_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A document to add to a new batch.
#[derive(Clone, Debug)]
pub struct NewBatchItem {
    /// The file name.
    pub name: String,
    /// The blob holding it (already written).
    pub input_blob: String,
}

/// Counts of a batch's documents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchProgress {
    /// All documents.
    pub total: i64,
    /// Signed.
    pub done: i64,
    /// Failed.
    pub failed: i64,
    /// Not yet handled.
    pub pending: i64,
}

fn batch_from_row(row: &AnyRow) -> Result<Batch> {
    let options: String = get(row, "options")?;
    Ok(Batch {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        caller: get(row, "caller")?,
        options: parse_json("batch options", &options)?,
        state: get(row, "state")?,
        total: get(row, "total")?,
        created_at: get(row, "created_at")?,
        finished_at: get(row, "finished_at")?,
    })
}

fn item_from_row(row: &AnyRow) -> Result<BatchItem> {
    let state: String = get(row, "state")?;
    Ok(BatchItem {
        idx: get(row, "idx")?,
        name: get(row, "name")?,
        input_blob: get(row, "input_blob")?,
        state: match state.as_str() {
            "pending" => ItemState::Pending,
            "done" => ItemState::Done,
            "failed" => ItemState::Failed,
            other => return Err(Error::Corrupt(format!("batch item state '{other}'"))),
        },
        document_id: get(row, "document_id")?,
        error: get(row, "error")?,
    })
}

const BATCH_COLUMNS: &str = "id, tenant_id, caller, options, state, total, created_at, finished_at";

impl Store {
    /// Creates a batch and its items in one transaction (their blobs already written).
    pub async fn create_batch(
        &self,
        tenant_id: &str,
        caller: &str,
        options: &serde_json::Value,
        items: &[NewBatchItem],
    ) -> Result<Batch> {
        let batch = Batch {
            id: new_id("bat"),
            tenant_id: tenant_id.into(),
            caller: caller.into(),
            options: options.clone(),
            state: "running".into(),
            total: items.len() as i64,
            created_at: now_millis(),
            finished_at: None,
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO batches (id, tenant_id, caller, options, state, total, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&batch.id)
        .bind(&batch.tenant_id)
        .bind(&batch.caller)
        .bind(batch.options.to_string())
        .bind(&batch.state)
        .bind(batch.total)
        .bind(batch.created_at)
        .execute(&mut *tx)
        .await?;
        for (idx, item) in items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO batch_items (batch_id, idx, name, input_blob, state) VALUES ($1, $2, $3, $4, 'pending')",
            )
            .bind(&batch.id)
            .bind(idx as i64)
            .bind(&item.name)
            .bind(&item.input_blob)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(batch)
    }

    /// A batch; within a tenant when `tenant_id` is given.
    pub async fn batch(&self, tenant_id: Option<&str>, id: &str) -> Result<Batch> {
        let row = sqlx::query(dynamic!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("batch {id}")))?;
        let batch = batch_from_row(&row)?;
        if tenant_id.is_some_and(|t| t != batch.tenant_id) {
            return Err(Error::NotFound(format!("batch {id}")));
        }
        Ok(batch)
    }

    /// Batches not finished (to resume at start).
    pub async fn running_batches(&self) -> Result<Vec<Batch>> {
        let rows =
            sqlx::query(dynamic!("SELECT {BATCH_COLUMNS} FROM batches WHERE state = 'running' ORDER BY created_at"))
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(batch_from_row).collect()
    }

    /// A batch's items in order.
    pub async fn batch_items(&self, batch_id: &str) -> Result<Vec<BatchItem>> {
        let rows = sqlx::query(
            "SELECT idx, name, input_blob, state, document_id, error FROM batch_items WHERE batch_id = $1 ORDER BY idx",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// How far a batch is.
    pub async fn batch_progress(&self, batch_id: &str) -> Result<BatchProgress> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM batch_items WHERE batch_id = $1 GROUP BY state")
            .bind(batch_id)
            .fetch_all(&self.pool)
            .await?;
        let mut p = BatchProgress::default();
        for row in &rows {
            let state: String = get(row, "state")?;
            let n: i64 = get(row, "n")?;
            match state.as_str() {
                "done" => p.done = n,
                "failed" => p.failed = n,
                _ => p.pending += n,
            }
            p.total += n;
        }
        Ok(p)
    }

    /// Records the outcome of an item. Only a pending item changes: the first outcome stays.
    pub async fn finish_batch_item(
        &self,
        batch_id: &str,
        idx: i64,
        state: ItemState,
        document_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE batch_items SET state = $1, document_id = $2, error = $3 \
             WHERE batch_id = $4 AND idx = $5 AND state = 'pending'",
        )
        .bind(state.name())
        .bind(document_id)
        .bind(error)
        .bind(batch_id)
        .bind(idx)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a batch finished.
    pub async fn finish_batch(&self, batch_id: &str) -> Result<()> {
        sqlx::query("UPDATE batches SET state = 'done', finished_at = $1 WHERE id = $2")
            .bind(now_millis())
            .bind(batch_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
