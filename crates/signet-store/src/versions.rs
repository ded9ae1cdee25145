//! Document versions: every upload or revision of a document, and every signing of it, is a
//! version with its SHA-256; the latest (the head) moves only from the version the writer saw.

use serde::{Deserialize, Serialize};

use crate::records::document_from_row;
use crate::{DocumentRecord, Error, Result, Store, get, now_millis};

/// One version of a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentVersion {
    /// 1 for the first.
    pub version: i64,
    /// The stored document of this version (its id, SHA-256, size, and the version it was
    /// made from in `source_id`).
    pub document: DocumentRecord,
}

/// Where a document stands in its line of versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionLine {
    /// The logical document: its first version's id.
    pub root_id: String,
    /// The latest version's document id (the `ETag` of the document).
    pub head_id: String,
    /// The latest version's number.
    pub head_version: i64,
    /// This document's version number.
    pub version: i64,
    /// The envelope whose version was the last one it added ([`Store::add_version`] with
    /// `envelope`), if any: it holds the line while it is in progress.
    pub envelope_id: Option<String>,
}

const DOC_COLUMNS: &str = "d.id, d.tenant_id, d.kind, d.name, d.blob_key, d.size, d.sha256, d.source_id, d.created_at";

impl Store {
    /// Makes a stored document the first version of a new line.
    pub async fn start_versions(&self, tenant_id: &str, document_id: &str) -> Result<()> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO document_heads (root_id, tenant_id, head_id, version, updated_at) VALUES ($1, $2, $1, 1, $3)",
        )
        .bind(document_id)
        .bind(tenant_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO document_versions (root_id, version, document_id, tenant_id, created_at) VALUES ($1, 1, $1, $2, $3)",
        )
        .bind(document_id)
        .bind(tenant_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The line of versions a tenant's document belongs to (`None`: it is not a version).
    pub async fn version_line(&self, tenant_id: &str, document_id: &str) -> Result<Option<VersionLine>> {
        let row = sqlx::query(
            "SELECT v.root_id, v.version, h.head_id, h.version AS head_version, h.envelope_id FROM document_versions v JOIN \
             document_heads h ON h.root_id = v.root_id WHERE v.tenant_id = $1 AND v.document_id = $2",
        )
        .bind(tenant_id)
        .bind(document_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(VersionLine {
                root_id: get(&r, "root_id")?,
                head_id: get(&r, "head_id")?,
                head_version: get(&r, "head_version")?,
                version: get(&r, "version")?,
                envelope_id: get(&r, "envelope_id")?,
            })
        })
        .transpose()
    }

    /// Adds `document` (already written, or written here when `insert` is set) as the next
    /// version of `root_id`, if the latest version is still `expected_head`: returns its
    /// number, or `None` when another version came first (nothing changed then). A version an
    /// envelope adds names it (`envelope`): see [`VersionLine::envelope_id`].
    pub async fn add_version(
        &self,
        tenant_id: &str,
        root_id: &str,
        expected_head: &str,
        document: &DocumentRecord,
        insert: bool,
        envelope: Option<&str>,
    ) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        // an envelope's version claims the line in the same statement that moves its head, so
        // that the line is never moved by an envelope without naming it
        let sql = match envelope {
            Some(_) => {
                "UPDATE document_heads SET head_id = $3, version = version + 1, updated_at = $4, envelope_id = $6 \
                 WHERE tenant_id = $1 AND root_id = $2 AND head_id = $5"
            }
            None => {
                "UPDATE document_heads SET head_id = $3, version = version + 1, updated_at = $4 WHERE tenant_id = $1 \
                 AND root_id = $2 AND head_id = $5"
            }
        };
        let mut query =
            sqlx::query(sql).bind(tenant_id).bind(root_id).bind(&document.id).bind(now_millis()).bind(expected_head);
        if let Some(envelope) = envelope {
            query = query.bind(envelope);
        }
        let moved = query.execute(&mut *tx).await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let row = sqlx::query("SELECT version FROM document_heads WHERE root_id = $1")
            .bind(root_id)
            .fetch_one(&mut *tx)
            .await?;
        let version: i64 = get(&row, "version")?;
        if insert {
            crate::records::insert_rows(&mut tx, std::slice::from_ref(document)).await?;
        }
        sqlx::query(
            "INSERT INTO document_versions (root_id, version, document_id, tenant_id, created_at) VALUES ($1, $2, $3, $4, \
             $5)",
        )
        .bind(root_id)
        .bind(version)
        .bind(&document.id)
        .bind(tenant_id)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(version))
    }

    /// A page of a tenant's documents, newest first: each line's latest version with its
    /// number and its line's root, for lines started before `before` (a root id).
    pub async fn document_lines(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, i64, DocumentRecord)>> {
        let filter = if before.is_some() { " AND h.root_id < $3" } else { "" };
        let rows = sqlx::query(dynamic!(
            "SELECT h.root_id, h.version, {DOC_COLUMNS} FROM document_heads h JOIN documents d ON d.id = h.head_id \
             WHERE h.tenant_id = $1{filter} ORDER BY h.root_id DESC LIMIT $2"
        ))
        .bind(tenant_id)
        .bind(limit);
        let rows = match before {
            Some(b) => rows.bind(b),
            None => rows,
        }
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((get(r, "root_id")?, get(r, "version")?, document_from_row(r)?))).collect()
    }

    /// Every version of a document's line, oldest first.
    pub async fn versions(&self, tenant_id: &str, root_id: &str) -> Result<Vec<DocumentVersion>> {
        let rows = sqlx::query(dynamic!(
            "SELECT v.version, {DOC_COLUMNS} FROM document_versions v JOIN documents d ON d.id = v.document_id WHERE \
             v.tenant_id = $1 AND v.root_id = $2 ORDER BY v.version"
        ))
        .bind(tenant_id)
        .bind(root_id)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(Error::NotFound(format!("document {root_id}")));
        }
        rows.iter()
            .map(|r| Ok(DocumentVersion { version: get(r, "version")?, document: document_from_row(r)? }))
            .collect()
    }
}
