//! Batch jobs: many documents signed with one set of options, persisted so that a restarted
//! server finishes them.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::audit::{AuditEntry, ChainHeads, chain, settle_heads};
use crate::records::{document_from_row, insert_rows};
use crate::tenants::{UsageDelta, add_usage};
use crate::{DocumentRecord, Error, Result, SignatureRecord, Store, get, new_id, now_millis, parse_json};

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

/// How an item ended, to record with [`Store::complete_batch_items`].
#[derive(Clone, Debug)]
pub enum ItemResult {
    /// Signed: the output document (its blob already written) and the usage it counts.
    Done {
        /// The signed document's record, inserted with the item's change.
        document: Box<DocumentRecord>,
        /// The usage to add (one document), counted only if the item was still pending.
        usage: Option<UsageDelta>,
    },
    /// Could not be signed, and why.
    Failed(String),
}

/// The outcome of one item of a batch.
#[derive(Clone, Debug)]
pub struct ItemOutcome {
    /// The batch.
    pub batch_id: String,
    /// The item's position.
    pub idx: i64,
    /// What happened.
    pub result: ItemResult,
    /// The signing records of the signatures made for it, written whether or not the
    /// outcome applies (they were made).
    pub signatures: Vec<SignatureRecord>,
    /// The signing calls they count, likewise.
    pub calls: Option<UsageDelta>,
}

/// An item with its signed document, for the results of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemWithDocument {
    /// The item.
    pub item: BatchItem,
    /// Its signed document, once done.
    pub document: Option<DocumentRecord>,
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
const ITEM_COLUMNS: &str = "idx, name, input_blob, state, document_id, error";

/// Rows per multi-row `INSERT` (parameters stay far below SQLite's and PostgreSQL's limits).
const ROWS_PER_INSERT: usize = 200;

/// A new batch identifier, `bat_…`: chosen before the inputs are stored, so that their blobs
/// can be named after the batch.
pub fn new_batch_id() -> String {
    new_id("bat")
}

impl Store {
    /// Creates the batch `id` and its items in one transaction (their blobs already written).
    /// Items are inserted a few hundred rows per statement: a batch of thousands costs tens of
    /// round trips, not thousands.
    pub async fn create_batch(
        &self,
        id: &str,
        tenant_id: &str,
        caller: &str,
        options: &serde_json::Value,
        items: &[NewBatchItem],
    ) -> Result<Batch> {
        let batch = Batch {
            id: id.into(),
            tenant_id: tenant_id.into(),
            caller: caller.into(),
            options: options.clone(),
            state: "running".into(),
            total: items.len() as i64,
            created_at: now_millis(),
            finished_at: None,
        };
        let _turn = self.write_turn().await;
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
        for (chunk_no, chunk) in items.chunks(ROWS_PER_INSERT).enumerate() {
            // $1 is the batch id in every row
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| format!("($1, ${}, ${}, ${}, 'pending')", 2 + 3 * r, 3 + 3 * r, 4 + 3 * r))
                .collect();
            let sql =
                dynamic!("INSERT INTO batch_items (batch_id, idx, name, input_blob, state) VALUES {}", rows.join(", "));
            let mut q = sqlx::query(sql).bind(&batch.id);
            for (r, item) in chunk.iter().enumerate() {
                q = q.bind((chunk_no * ROWS_PER_INSERT + r) as i64).bind(&item.name).bind(&item.input_blob);
            }
            q.execute(&mut *tx).await?;
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
        self.batch_items_page(batch_id, -1, i64::MAX).await
    }

    /// A batch's items after position `after` (-1: from the start), in order, at most `limit`.
    pub async fn batch_items_page(&self, batch_id: &str, after: i64, limit: i64) -> Result<Vec<BatchItem>> {
        let rows = sqlx::query(dynamic!(
            "SELECT {ITEM_COLUMNS} FROM batch_items WHERE batch_id = $1 AND idx > $2 ORDER BY idx LIMIT $3"
        ))
        .bind(batch_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// A batch's pending items after position `after`, in order, at most `limit`.
    pub async fn pending_batch_items(&self, batch_id: &str, after: i64, limit: i64) -> Result<Vec<BatchItem>> {
        let rows = sqlx::query(dynamic!(
            "SELECT {ITEM_COLUMNS} FROM batch_items WHERE batch_id = $1 AND idx > $2 AND state = 'pending' \
             ORDER BY idx LIMIT $3"
        ))
        .bind(batch_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// A batch's items after position `after`, in order, at most `limit`, each with its
    /// signed document when it has one.
    pub async fn batch_items_with_documents(
        &self,
        batch_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ItemWithDocument>> {
        let rows = sqlx::query(
            "SELECT i.idx, i.name, i.input_blob, i.state, i.document_id, i.error, \
             d.id, d.tenant_id, d.kind, d.name AS doc_name, d.blob_key, d.size, d.sha256, d.source_id, d.created_at \
             FROM batch_items i LEFT JOIN documents d ON d.id = i.document_id \
             WHERE i.batch_id = $1 AND i.idx > $2 ORDER BY i.idx LIMIT $3",
        )
        .bind(batch_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let item = item_from_row(row)?;
                let doc_id: Option<String> = get(row, "id")?;
                let document = match doc_id {
                    None => None,
                    Some(_) => {
                        let mut d = document_from_row(row)?;
                        d.name = get(row, "doc_name")?;
                        Some(d)
                    }
                };
                Ok(ItemWithDocument { item, document })
            })
            .collect()
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
        let _turn = self.write_turn().await;
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

    /// Records the outcomes of items, all in one transaction with their signing records;
    /// returns, for each, whether it applied.
    ///
    /// An outcome applies only to an item still pending. A signed item's document record,
    /// and the usage it counts, are written in the same transaction as the item's change and
    /// only when that change applied: an item is recorded done exactly once, with exactly one
    /// output document, however often it was signed (a restart re-signs the items whose
    /// outcome was not committed). Whoever signed an item whose outcome did not apply deletes
    /// the blob it wrote. A failed transaction leaves every item of the group pending.
    pub async fn complete_batch_items(&self, outcomes: &[ItemOutcome]) -> Result<Vec<bool>> {
        let mut attempt = 1;
        loop {
            match self.complete_batch_items_once(outcomes).await {
                Err(Error::Conflict(_)) if attempt < crate::audit::APPEND_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    async fn complete_batch_items_once(&self, outcomes: &[ItemOutcome]) -> Result<Vec<bool>> {
        let mut heads = self.chain_turn().await;
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        let result = self.complete_batch_items_in_turn(writer, &heads, outcomes).await;
        let result = match result {
            Ok((applied, next, next_heads)) => {
                settle_heads(&mut heads, Ok(next_heads))?;
                Ok((applied, next))
            }
            Err(e) => {
                heads.clear();
                Err(e)
            }
        };
        self.settle_seq(result)
    }

    async fn complete_batch_items_in_turn(
        &self,
        writer: Option<&mut sqlx::AnyConnection>,
        heads: &ChainHeads,
        outcomes: &[ItemOutcome],
    ) -> Result<(Vec<bool>, std::collections::HashMap<String, i64>, ChainHeads)> {
        let mut tx = self.begin_write(writer).await?;
        let mut applied = Vec::with_capacity(outcomes.len());
        let mut documents = Vec::new();
        let mut usage: Vec<UsageDelta> = Vec::new();
        let mut count = |u: &UsageDelta| match usage
            .iter_mut()
            .find(|x| x.tenant_id == u.tenant_id && x.period_start == u.period_start)
        {
            Some(x) => {
                x.calls += u.calls;
                x.documents += u.documents;
            }
            None => usage.push(u.clone()),
        };
        let mut signatures: Vec<SignatureRecord> = outcomes.iter().flat_map(|o| o.signatures.iter().cloned()).collect();
        let next = self.insert_signatures(&mut tx, &mut signatures).await?;
        // each signature's entry in the signing log, in the same transaction
        let mut entries: Vec<AuditEntry> = signatures.iter().map(AuditEntry::of_signature).collect();
        let next_heads = chain(&mut tx, heads, &mut entries).await?;
        insert_rows(&mut tx, &entries).await?;
        for o in outcomes {
            if let Some(c) = &o.calls {
                count(c);
            }
            let (state, document_id, error) = match &o.result {
                ItemResult::Done { document, .. } => (ItemState::Done, Some(document.id.as_str()), None),
                ItemResult::Failed(reason) => (ItemState::Failed, None, Some(reason.as_str())),
            };
            let changed = sqlx::query(
                "UPDATE batch_items SET state = $1, document_id = $2, error = $3 \
                 WHERE batch_id = $4 AND idx = $5 AND state = 'pending'",
            )
            .bind(state.name())
            .bind(document_id)
            .bind(error)
            .bind(&o.batch_id)
            .bind(o.idx)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            applied.push(changed);
            if let (true, ItemResult::Done { document, usage: u }) = (changed, &o.result) {
                documents.push(document);
                if let Some(u) = u {
                    count(u);
                }
            }
        }
        let documents: Vec<&DocumentRecord> = documents.into_iter().map(|d| &**d).collect();
        insert_rows(&mut tx, &documents).await?;
        for u in &usage {
            add_usage(&mut tx, u).await?;
        }
        tx.commit().await?;
        Ok((applied, next, next_heads))
    }

    /// Fails every pending item of a batch with `reason`; returns how many.
    pub async fn fail_pending_batch_items(&self, batch_id: &str, reason: &str) -> Result<u64> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE batch_items SET state = 'failed', error = $1 WHERE batch_id = $2 AND state = 'pending'",
        )
        .bind(reason)
        .bind(batch_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Marks a batch finished if no item is pending; returns whether it is finished now.
    pub async fn finish_batch(&self, batch_id: &str) -> Result<bool> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE batches SET state = 'done', finished_at = $1 WHERE id = $2 AND state = 'running' \
             AND NOT EXISTS (SELECT 1 FROM batch_items WHERE batch_id = $2 AND state = 'pending')",
        )
        .bind(now_millis())
        .bind(batch_id)
        .execute(&self.pool)
        .await?;
        Ok(self.batch(None, batch_id).await?.state == "done")
    }
}
