//! Prepared signatures of envelope parties who sign with their own key (deferred signing):
//! what the server made ready for the party's key, kept until the signature comes back, the
//! preparation expires or a newer one replaces it. The update's bytes live in the blob store;
//! the row names them.

use sqlx::any::AnyRow;

use crate::{Result, Store, get};

/// A prepared signature (see the `signature_preparations` table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preparation {
    /// `prp_…`.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The envelope.
    pub envelope_id: String,
    /// The party whose key signs.
    pub party_id: String,
    /// The signature field.
    pub field_id: String,
    /// The envelope's version it was made from.
    pub document_id: String,
    /// `sha256`, `sha384` or `sha512`.
    pub digest_algorithm: String,
    /// The digest of the byte range (hex).
    pub document_digest: String,
    /// The DER signed attributes, base64.
    pub signed_attributes: String,
    /// The `/ByteRange`.
    pub byte_range: [u64; 4],
    /// The length of the version it was made from.
    pub original_len: i64,
    /// Where the update's bytes are.
    pub blob_key: String,
    /// More (JSON object): field values, certification.
    pub detail: String,
    /// Who asked for it.
    pub created_by: String,
    /// Made.
    pub created_at: i64,
    /// Past this time it is refused.
    pub expires_at: i64,
    /// When its signature was attached.
    pub used_at: Option<i64>,
    /// The version its signature made.
    pub result_document_id: Option<String>,
}

const COLUMNS: &str = "id, tenant_id, envelope_id, party_id, field_id, document_id, digest_algorithm, \
                       document_digest, signed_attributes, byte_range, original_len, blob_key, detail, created_by, \
                       created_at, expires_at, used_at, result_document_id";

/// How long past its expiry a preparation's row is kept (to answer "expired" rather than
/// "unknown").
pub const KEPT_AFTER_EXPIRY_MS: i64 = 86_400_000;

impl Store {
    /// Records a preparation (its blob already stored). The party's earlier preparations that
    /// were not used are removed: their blob keys are returned, for the caller to delete.
    pub async fn insert_preparation(&self, p: &Preparation) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT blob_key FROM signature_preparations WHERE tenant_id = $1 AND envelope_id = $2 AND party_id = $3 \
             AND used_at IS NULL",
        )
        .bind(&p.tenant_id)
        .bind(&p.envelope_id)
        .bind(&p.party_id)
        .fetch_all(&mut *tx)
        .await?;
        let replaced = rows.iter().map(|r| get::<String>(r, "blob_key")).collect::<Result<Vec<_>>>()?;
        sqlx::query(
            "DELETE FROM signature_preparations WHERE tenant_id = $1 AND envelope_id = $2 AND party_id = $3 AND \
             used_at IS NULL",
        )
        .bind(&p.tenant_id)
        .bind(&p.envelope_id)
        .bind(&p.party_id)
        .execute(&mut *tx)
        .await?;
        let byte_range = p.byte_range.map(|n| n.to_string()).join(" ");
        sqlx::query(dynamic!(
            "INSERT INTO signature_preparations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18)"
        ))
        .bind(&p.id)
        .bind(&p.tenant_id)
        .bind(&p.envelope_id)
        .bind(&p.party_id)
        .bind(&p.field_id)
        .bind(&p.document_id)
        .bind(&p.digest_algorithm)
        .bind(&p.document_digest)
        .bind(&p.signed_attributes)
        .bind(&byte_range)
        .bind(p.original_len)
        .bind(&p.blob_key)
        .bind(&p.detail)
        .bind(&p.created_by)
        .bind(p.created_at)
        .bind(p.expires_at)
        .bind(p.used_at)
        .bind(p.result_document_id.as_deref())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(replaced)
    }

    /// A tenant's preparation.
    pub async fn preparation(&self, tenant_id: &str, id: &str) -> Result<Option<Preparation>> {
        let row =
            sqlx::query(dynamic!("SELECT {COLUMNS} FROM signature_preparations WHERE tenant_id = $1 AND id = $2"))
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The latest preparation of a party.
    pub async fn latest_preparation(
        &self,
        tenant_id: &str,
        envelope_id: &str,
        party_id: &str,
    ) -> Result<Option<Preparation>> {
        let row = sqlx::query(dynamic!(
            "SELECT {COLUMNS} FROM signature_preparations WHERE tenant_id = $1 AND envelope_id = $2 AND party_id = \
             $3 ORDER BY id DESC LIMIT 1"
        ))
        .bind(tenant_id)
        .bind(envelope_id)
        .bind(party_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Marks a preparation used by the signature that made `document_id`, if it was not used
    /// yet: `false` when another use came first.
    pub async fn use_preparation(&self, tenant_id: &str, id: &str, document_id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE signature_preparations SET used_at = $3, result_document_id = $4 WHERE tenant_id = $1 AND id = $2 \
             AND used_at IS NULL",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(now)
        .bind(document_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the rows of preparations that expired before `before` (at most `limit`), and
    /// returns the blob keys of those that were never used, for the caller to delete.
    pub async fn purge_preparations(&self, before: i64, limit: i64) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, blob_key, used_at FROM signature_preparations WHERE expires_at < $1 ORDER BY expires_at \
             LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut blobs = Vec::new();
        for r in &rows {
            let id: String = get(r, "id")?;
            if get::<Option<i64>>(r, "used_at")?.is_none() {
                blobs.push(get(r, "blob_key")?);
            }
            sqlx::query("DELETE FROM signature_preparations WHERE id = $1").bind(&id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(blobs)
    }
}

fn from_row(r: &AnyRow) -> Result<Preparation> {
    let text: String = get(r, "byte_range")?;
    let numbers: Vec<u64> = text.split(' ').filter_map(|n| n.parse().ok()).collect();
    let byte_range: [u64; 4] =
        numbers.try_into().map_err(|_| crate::Error::Corrupt(format!("signature_preparations.byte_range '{text}'")))?;
    Ok(Preparation {
        id: get(r, "id")?,
        tenant_id: get(r, "tenant_id")?,
        envelope_id: get(r, "envelope_id")?,
        party_id: get(r, "party_id")?,
        field_id: get(r, "field_id")?,
        document_id: get(r, "document_id")?,
        digest_algorithm: get(r, "digest_algorithm")?,
        document_digest: get(r, "document_digest")?,
        signed_attributes: get(r, "signed_attributes")?,
        byte_range,
        original_len: get(r, "original_len")?,
        blob_key: get(r, "blob_key")?,
        detail: get(r, "detail")?,
        created_by: get(r, "created_by")?,
        created_at: get(r, "created_at")?,
        expires_at: get(r, "expires_at")?,
        used_at: get(r, "used_at")?,
        result_document_id: get(r, "result_document_id")?,
    })
}
