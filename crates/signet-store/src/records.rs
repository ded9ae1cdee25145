//! Signing identities, seal images, placement templates, documents and signing records.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::audit::{AuditEntry, ChainHeads, chain, settle_heads};
use crate::tenants::{UsageDelta, add_usage};
use crate::webhooks::{DeliveryRow, FeedRow, FeedRows};
use crate::{Error, NewWebhookEvent, Result, Store, get, new_id, now_millis, parse_json, to_json};

/// Where an identity's private key is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyStoreKind {
    /// Sealed in the data directory's keystore (AES-256-GCM under the master key).
    Keystore,
    /// On a PKCS#11 token.
    Pkcs11,
}

impl KeyStoreKind {
    fn name(self) -> &'static str {
        match self {
            KeyStoreKind::Keystore => "keystore",
            KeyStoreKind::Pkcs11 => "pkcs11",
        }
    }
}

/// A named signing identity of a tenant: a key and its certificate chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `id_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// Unique within the tenant.
    pub name: String,
    /// Where the key is.
    pub key_store: KeyStoreKind,
    /// The key's name in the keystore, or a JSON reference to the token key.
    pub key_ref: String,
    /// SHA-256 of the public key (SubjectPublicKeyInfo), hexadecimal: names the key in
    /// signing records.
    pub key_id: String,
    /// The signer's certificate, then its issuers, base64 DER.
    pub chain: Vec<String>,
    /// The serial number when the built-in CA issued the certificate.
    pub cert_serial: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// The seal whose identity this is: then it signs only through that seal.
    #[serde(default)]
    pub seal_id: Option<String>,
}

/// A seal image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageRecord {
    /// `img_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// Where its bytes are.
    pub blob_key: String,
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hexadecimal.
    pub sha256: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A named set of placements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    /// `tpl_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// Unique within the tenant.
    pub name: String,
    /// The placements, as the API defines them (JSON).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub placements: serde_json::Value,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// A stored document: an upload or a signed output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentRecord {
    /// `doc_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// `upload` or `signed`.
    pub kind: String,
    /// The client's file name, if any.
    pub name: Option<String>,
    /// Where its bytes are.
    pub blob_key: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, hexadecimal.
    pub sha256: String,
    /// For a signed document: the document it was made from, when stored.
    pub source_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// One signature made (or refused once authorised): who, with what key, over which digest.
///
/// The signing log of a later version chains these records per tenant in `seq` order; a
/// record's fields are final once written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureRecord {
    /// `sig_…`
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Order within the tenant, from 1; assigned when written.
    pub seq: i64,
    /// The identity, when it was found.
    pub identity_id: Option<String>,
    /// The identity name asked for.
    pub identity_name: String,
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
    /// The client's address (in the signing log, not in this record).
    #[serde(skip)]
    pub ip: Option<String>,
    /// The client's `User-Agent` (in the signing log, not in this record).
    #[serde(skip)]
    pub user_agent: Option<String>,
}

impl SignatureRecord {
    /// A new record with a fresh id, time now, `seq` to be assigned.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tenant_id: &str,
        identity_name: &str,
        digest_algorithm: &str,
        digest: &str,
        level: &str,
        channel: &str,
        caller: &str,
    ) -> Self {
        SignatureRecord {
            id: new_id("sig"),
            tenant_id: tenant_id.into(),
            seq: 0,
            identity_id: None,
            identity_name: identity_name.into(),
            key_id: None,
            digest_algorithm: digest_algorithm.into(),
            digest: digest.into(),
            level: level.into(),
            channel: channel.into(),
            caller: caller.into(),
            outcome: "signed".into(),
            detail: None,
            document_id: None,
            created_at: now_millis(),
            ip: None,
            user_agent: None,
        }
    }
}

fn identity_from_row(row: &AnyRow) -> Result<Identity> {
    let key_store: String = get(row, "key_store")?;
    let key_store = match key_store.as_str() {
        "keystore" => KeyStoreKind::Keystore,
        "pkcs11" => KeyStoreKind::Pkcs11,
        other => return Err(Error::Corrupt(format!("identity key store '{other}'"))),
    };
    let chain: String = get(row, "chain")?;
    Ok(Identity {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        key_store,
        key_ref: get(row, "key_ref")?,
        key_id: get(row, "key_id")?,
        chain: parse_json("identity chain", &chain)?,
        cert_serial: get(row, "cert_serial")?,
        seal_id: get(row, "seal_id")?,
        created_at: get(row, "created_at")?,
    })
}

fn image_from_row(row: &AnyRow) -> Result<ImageRecord> {
    Ok(ImageRecord {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        blob_key: get(row, "blob_key")?,
        media_type: get(row, "media_type")?,
        size: get(row, "size")?,
        sha256: get(row, "sha256")?,
        created_at: get(row, "created_at")?,
    })
}

fn template_from_row(row: &AnyRow) -> Result<Template> {
    let placements: String = get(row, "placements")?;
    Ok(Template {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        placements: parse_json("template placements", &placements)?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn document_from_row(row: &AnyRow) -> Result<DocumentRecord> {
    Ok(DocumentRecord {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        kind: get(row, "kind")?,
        name: get(row, "name")?,
        blob_key: get(row, "blob_key")?,
        size: get(row, "size")?,
        sha256: get(row, "sha256")?,
        source_id: get(row, "source_id")?,
        created_at: get(row, "created_at")?,
    })
}

fn signature_from_row(row: &AnyRow) -> Result<SignatureRecord> {
    Ok(SignatureRecord {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        seq: get(row, "seq")?,
        identity_id: get(row, "identity_id")?,
        identity_name: get(row, "identity_name")?,
        key_id: get(row, "key_id")?,
        digest_algorithm: get(row, "digest_algorithm")?,
        digest: get(row, "digest")?,
        level: get(row, "level")?,
        channel: get(row, "channel")?,
        caller: get(row, "caller")?,
        outcome: get(row, "outcome")?,
        detail: get(row, "detail")?,
        document_id: get(row, "document_id")?,
        created_at: get(row, "created_at")?,
        ip: None,
        user_agent: None,
    })
}

const IDENTITY_COLUMNS: &str =
    "id, tenant_id, name, key_store, key_ref, key_id, chain, cert_serial, created_at, seal_id";
const IMAGE_COLUMNS: &str = "id, tenant_id, blob_key, media_type, size, sha256, created_at";
const TEMPLATE_COLUMNS: &str = "id, tenant_id, name, placements, created_at, updated_at";
const DOCUMENT_COLUMNS: &str = "id, tenant_id, kind, name, blob_key, size, sha256, source_id, created_at";
const SIGNATURE_COLUMNS: &str = "id, tenant_id, seq, identity_id, identity_name, key_id, digest_algorithm, digest, level, \
                                 channel, caller, outcome, detail, document_id, created_at";

fn conflict(what: String) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| match Error::from(e) {
        Error::Conflict(_) => Error::Conflict(what),
        e => e,
    }
}

impl Store {
    /// Stores a new identity (its `id` and `created_at` as given).
    pub async fn insert_identity(&self, identity: &Identity) -> Result<()> {
        sqlx::query(
            "INSERT INTO identities (id, tenant_id, name, key_store, key_ref, key_id, chain, cert_serial, created_at, \
             seal_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&identity.id)
        .bind(&identity.tenant_id)
        .bind(&identity.name)
        .bind(identity.key_store.name())
        .bind(&identity.key_ref)
        .bind(&identity.key_id)
        .bind(to_json(&identity.chain))
        .bind(&identity.cert_serial)
        .bind(identity.created_at)
        .bind(&identity.seal_id)
        .execute(&self.pool)
        .await
        .map_err(conflict(format!("an identity named '{}'", identity.name)))?;
        Ok(())
    }

    /// A tenant's identity by id.
    pub async fn identity_by_id(&self, tenant_id: &str, id: &str) -> Result<Identity> {
        let row = sqlx::query(dynamic!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("identity {id}")))?;
        identity_from_row(&row)
    }

    /// A tenant's identity by name.
    pub async fn identity(&self, tenant_id: &str, name: &str) -> Result<Identity> {
        let row = sqlx::query(dynamic!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE tenant_id = $1 AND name = $2"))
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("identity '{name}'")))?;
        identity_from_row(&row)
    }

    /// A tenant's identities, by name.
    pub async fn identities(&self, tenant_id: &str) -> Result<Vec<Identity>> {
        let rows =
            sqlx::query(dynamic!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE tenant_id = $1 ORDER BY name"))
                .bind(tenant_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(identity_from_row).collect()
    }

    /// Stores a seal image record (its blob already written).
    pub async fn insert_image(&self, image: &ImageRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO images (id, tenant_id, blob_key, media_type, size, sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&image.id)
        .bind(&image.tenant_id)
        .bind(&image.blob_key)
        .bind(&image.media_type)
        .bind(image.size)
        .bind(&image.sha256)
        .bind(image.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A tenant's image.
    pub async fn image(&self, tenant_id: &str, id: &str) -> Result<ImageRecord> {
        let row = sqlx::query(dynamic!("SELECT {IMAGE_COLUMNS} FROM images WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("image {id}")))?;
        image_from_row(&row)
    }

    /// A tenant's images, newest first.
    pub async fn images(&self, tenant_id: &str) -> Result<Vec<ImageRecord>> {
        let rows = sqlx::query(dynamic!(
            "SELECT {IMAGE_COLUMNS} FROM images WHERE tenant_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(image_from_row).collect()
    }

    /// Creates or replaces a tenant's template by name.
    pub async fn put_template(&self, tenant_id: &str, name: &str, placements: &serde_json::Value) -> Result<Template> {
        let now = now_millis();
        sqlx::query(
            "INSERT INTO templates (id, tenant_id, name, placements, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET placements = excluded.placements, updated_at = excluded.updated_at",
        )
        .bind(new_id("tpl"))
        .bind(tenant_id)
        .bind(name)
        .bind(placements.to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.template(tenant_id, name).await
    }

    /// A tenant's template by name.
    pub async fn template(&self, tenant_id: &str, name: &str) -> Result<Template> {
        let row = sqlx::query(dynamic!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE tenant_id = $1 AND name = $2"))
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("template '{name}'")))?;
        template_from_row(&row)
    }

    /// A tenant's templates, by name.
    pub async fn templates(&self, tenant_id: &str) -> Result<Vec<Template>> {
        let rows = sqlx::query(dynamic!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE tenant_id = $1 ORDER BY name"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(template_from_row).collect()
    }

    /// Deletes a tenant's template.
    pub async fn delete_template(&self, tenant_id: &str, name: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM templates WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("template '{name}'")));
        }
        Ok(())
    }

    /// Stores a document record (its blob already written).
    pub async fn insert_document(&self, doc: &DocumentRecord) -> Result<()> {
        let _turn = self.write_turn().await;
        let mut conn = self.pool.acquire().await?;
        insert_rows(&mut conn, std::slice::from_ref(doc)).await
    }

    /// A tenant's document.
    pub async fn document(&self, tenant_id: &str, id: &str) -> Result<DocumentRecord> {
        let row = sqlx::query(dynamic!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("document {id}")))?;
        document_from_row(&row)
    }

    /// Writes signing records and usage in one transaction (a group commit: the server
    /// gathers the records of many requests and writes them at once). Each record's `seq`
    /// is assigned here, continuing its tenant's sequence.
    pub async fn record(&self, records: &mut [SignatureRecord], usage: &[UsageDelta]) -> Result<()> {
        self.record_all(records, usage, &[], &[]).await.map(|_| ())
    }

    /// [`Store::record`], with new document records (their blobs already written) and new
    /// events of the tenants' feeds (numbered and given their deliveries as
    /// [`Store::emit_webhook_events`] does) in the same transaction; returns how many
    /// deliveries it made. One commit for a signed document, its record, its log entry and
    /// its `document.signed` event.
    ///
    /// When another process took a record number or a position in the signing log meanwhile,
    /// the numbers are read again and the group tried again (at most
    /// [`crate::audit::APPEND_ATTEMPTS`] times).
    pub async fn record_all(
        &self,
        records: &mut [SignatureRecord],
        usage: &[UsageDelta],
        documents: &[DocumentRecord],
        events: &[NewWebhookEvent],
    ) -> Result<usize> {
        let tenants: BTreeSet<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
        let _feed = crate::webhooks::feed_turns(&tenants).await;
        let mut attempt = 1;
        loop {
            match self.record_all_once(records, usage, documents, &tenants, events).await {
                Err(Error::Conflict(_)) if attempt < crate::audit::APPEND_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    async fn record_all_once(
        &self,
        records: &mut [SignatureRecord],
        usage: &[UsageDelta],
        documents: &[DocumentRecord],
        tenants: &BTreeSet<&str>,
        events: &[NewWebhookEvent],
    ) -> Result<usize> {
        let mut heads = self.chain_turn().await;
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        let mut entries: Vec<AuditEntry> = records.iter().map(AuditEntry::of_signature).collect();
        let written = async {
            let writer = match writer {
                Some(conn) if 2 * records.len() + documents.len() + events.len() <= ONE_CALL_ROWS => {
                    let mut feed = self.feed_rows(conn, tenants, events).await?;
                    let made = feed.deliveries.len();
                    let alongside = Alongside { usage, documents, feed: &feed };
                    let written = self.commit_in_one_call(conn, &heads, records, &mut entries, alongside).await;
                    self.settle_feed(std::mem::take(&mut feed.next), &written);
                    return Ok((made, written?));
                }
                w => w,
            };
            let mut tx = self.begin_write(writer).await?;
            let mut feed = self.feed_rows(&mut tx, tenants, events).await?;
            let written = async {
                insert_rows(&mut tx, &feed.events).await?;
                insert_rows(&mut tx, &feed.deliveries).await?;
                insert_rows(&mut tx, documents).await?;
                let next = self.insert_signatures(&mut tx, records).await?;
                let next_heads = chain(&mut tx, &heads, &mut entries).await?;
                insert_rows(&mut tx, &entries).await?;
                for delta in usage {
                    add_usage(&mut tx, delta).await?;
                }
                tx.commit().await?;
                Ok((next, next_heads))
            }
            .await;
            self.settle_feed(std::mem::take(&mut feed.next), &written);
            Ok((feed.deliveries.len(), written?))
        }
        .await;
        let written = match written {
            Ok((made, (next, next_heads))) => {
                settle_heads(&mut heads, Ok(next_heads))?;
                Ok((made, next))
            }
            Err(e) => {
                heads.clear();
                Err(e)
            }
        };
        self.settle_seq(written)
    }

    /// A tenant's signing records after `after_seq`, in order, at most `limit`.
    pub async fn signatures(&self, tenant_id: &str, after_seq: i64, limit: i64) -> Result<Vec<SignatureRecord>> {
        let rows = sqlx::query(dynamic!(
            "SELECT {SIGNATURE_COLUMNS} FROM signatures WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(signature_from_row).collect()
    }
}

/// Rows per multi-row `INSERT`, largest first: `n` rows are written in statements of these
/// sizes, so only four statement texts exist per table (each prepared once per connection),
/// and 64 rows of 15 columns stay under SQLite's oldest limit of 999 parameters.
const INSERT_CHUNKS: [usize; 4] = [64, 16, 4, 1];

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// A record written with [`insert_rows`].
pub(crate) trait Row {
    /// `INSERT INTO {this} ({COLUMNS})`.
    const TABLE: &'static str;
    /// The columns, comma separated.
    const COLUMNS: &'static str;
    /// How many.
    const WIDTH: usize;
    /// Binds the row's values in the order of `COLUMNS`.
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q>;
}

impl<T: Row> Row for &T {
    const TABLE: &'static str = T::TABLE;
    const COLUMNS: &'static str = T::COLUMNS;
    const WIDTH: usize = T::WIDTH;
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        (**self).bind(query)
    }
}

impl Row for SignatureRecord {
    const TABLE: &'static str = "signatures";
    const COLUMNS: &'static str = SIGNATURE_COLUMNS;
    const WIDTH: usize = 15;
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.id)
            .bind(&self.tenant_id)
            .bind(self.seq)
            .bind(&self.identity_id)
            .bind(&self.identity_name)
            .bind(&self.key_id)
            .bind(&self.digest_algorithm)
            .bind(&self.digest)
            .bind(&self.level)
            .bind(&self.channel)
            .bind(&self.caller)
            .bind(&self.outcome)
            .bind(&self.detail)
            .bind(&self.document_id)
            .bind(self.created_at)
    }
}

impl Row for DocumentRecord {
    const TABLE: &'static str = "documents";
    const COLUMNS: &'static str = DOCUMENT_COLUMNS;
    const WIDTH: usize = 9;
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.id)
            .bind(&self.tenant_id)
            .bind(&self.kind)
            .bind(&self.name)
            .bind(&self.blob_key)
            .bind(self.size)
            .bind(&self.sha256)
            .bind(&self.source_id)
            .bind(self.created_at)
    }
}

/// Inserts `rows` on `conn` (within a transaction) in multi-row statements: a group commit
/// of a few hundred records costs a handful of statements, not one per record.
pub(crate) async fn insert_rows<T: Row>(conn: &mut sqlx::AnyConnection, rows: &[T]) -> Result<()> {
    let mut rest = rows;
    while !rest.is_empty() {
        let n = INSERT_CHUNKS.into_iter().find(|n| *n <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_sql::<T>(n, 1)));
        for r in chunk {
            query = r.bind(query);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `INSERT INTO table (columns) VALUES (…), (…)…` for `rows` rows of `T`, the parameters
/// numbered from `$first`.
fn insert_sql<T: Row>(rows: usize, first: usize) -> String {
    insert_sql_with::<T>(rows, Some(first))
}

/// [`insert_sql`], the parameters numbered from `$first`, or anonymous (`?`, bound in order)
/// with `None`. SQLite's driver looks each parameter of a statement up by its name, and the
/// lookup walks the statement's list of names: with numbered parameters a statement list of
/// a few thousand took 7 % of the hash-signing API's time in `sqlite3_bind_parameter_name`.
/// Anonymous parameters have no name to look up (SQLite only; PostgreSQL needs `$n`).
fn insert_sql_with<T: Row>(rows: usize, first: Option<usize>) -> String {
    let mut sql = format!("INSERT INTO {} ({}) VALUES ", T::TABLE, T::COLUMNS);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..T::WIDTH {
            if col > 0 {
                sql.push_str(", ");
            }
            match first {
                Some(first) => {
                    let _ = write!(sql, "${}", first + row * T::WIDTH + col);
                }
                None => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

/// What a group commit writes besides the signing records and their log entries.
struct Alongside<'a> {
    usage: &'a [UsageDelta],
    documents: &'a [DocumentRecord],
    feed: &'a FeedRows<'a>,
}

/// Most rows of a group commit written as one SQLite statement list (see
/// [`Store::commit_in_one_call`]); larger groups take a statement per chunk. Each statement
/// of the list has its own anonymous parameters (at most 64 rows' worth), so the bound is
/// only on the size of the list: the recorder's largest group (1,024 signing requests, two
/// rows each) fits, as a batch's outcomes do.
const ONE_CALL_ROWS: usize = 4096;

/// Appends to `sql` the `INSERT`s of `rows` rows of `T` in chunks (64/16/4/1 rows), with
/// anonymous parameters (SQLite): the rows are bound afterwards in their order.
fn push_insert_sql<T: Row>(sql: &mut String, rows: usize) {
    let mut rest = rows;
    while rest > 0 {
        let n = INSERT_CHUNKS.into_iter().find(|n| *n <= rest).unwrap_or(1);
        rest -= n;
        sql.push_str(&insert_sql_with::<T>(n, None));
        sql.push_str(";\n");
    }
}

impl Store {
    /// A group commit on SQLite as one call: `BEGIN IMMEDIATE; INSERT …; … COMMIT;` in a
    /// single query with numbered parameters, which SQLite's driver runs statement after
    /// statement on its thread. Four hand-offs between the async recorder and SQLite's thread
    /// become one, and they were most of a commit's time. A failure at any statement rolls
    /// back what the call began.
    async fn commit_in_one_call(
        &self,
        conn: &mut sqlx::AnyConnection,
        heads: &ChainHeads,
        records: &mut [SignatureRecord],
        entries: &mut [AuditEntry],
        Alongside { usage, documents, feed }: Alongside<'_>,
    ) -> Result<(HashMap<String, i64>, ChainHeads)> {
        let next_seq = self.assign_seq(conn, records).await?;
        let next_heads = chain(conn, heads, entries).await?;
        let mut sql = String::from("BEGIN IMMEDIATE;\n");
        push_insert_sql::<FeedRow<'_>>(&mut sql, feed.events.len());
        push_insert_sql::<DeliveryRow>(&mut sql, feed.deliveries.len());
        push_insert_sql::<DocumentRecord>(&mut sql, documents.len());
        push_insert_sql::<SignatureRecord>(&mut sql, records.len());
        push_insert_sql::<AuditEntry>(&mut sql, entries.len());
        for _ in usage {
            sql.push_str(&crate::tenants::add_usage_sql(None));
            sql.push_str(";\n");
        }
        sql.push_str("COMMIT;");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in &feed.events {
            query = e.bind(query);
        }
        for d in &feed.deliveries {
            query = d.bind(query);
        }
        for d in documents {
            query = d.bind(query);
        }
        for r in records.iter() {
            query = r.bind(query);
        }
        for e in entries.iter() {
            query = e.bind(query);
        }
        for u in usage {
            query = query.bind(&u.tenant_id).bind(u.period_start).bind(u.calls).bind(u.documents);
        }
        if let Err(e) = query.execute(&mut *conn).await {
            // not in a transaction when BEGIN itself failed: that error is of no interest
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return Err(e.into());
        }
        Ok((next_seq, next_heads))
    }
}

impl Store {
    /// Inserts signing records on `conn` (within a transaction), assigning each its `seq`:
    /// the next of its tenant's sequence. The next numbers are remembered from the last
    /// commit (see [`Store::remember_seq`]), else read with `MAX(seq)`; a number taken by
    /// another writer meanwhile fails the insert on `UNIQUE (tenant_id, seq)`, and the
    /// caller forgets what it remembered ([`Store::forget_seq`]) and tries again. Returns
    /// the next number of each tenant written, to remember once the transaction commits.
    pub(crate) async fn insert_signatures(
        &self,
        conn: &mut sqlx::AnyConnection,
        records: &mut [SignatureRecord],
    ) -> Result<HashMap<String, i64>> {
        let next = self.assign_seq(conn, records).await?;
        insert_rows(conn, records).await?;
        Ok(next)
    }

    /// Assigns each record its `seq` (see [`Store::insert_signatures`]); returns the next
    /// number of each tenant.
    async fn assign_seq(
        &self,
        conn: &mut sqlx::AnyConnection,
        records: &mut [SignatureRecord],
    ) -> Result<HashMap<String, i64>> {
        let mut next: HashMap<String, i64> = HashMap::new();
        for r in records.iter_mut() {
            let cached = self.seq_cache().get(&r.tenant_id).copied();
            let seq = match next.get(&r.tenant_id) {
                Some(s) => *s,
                None => match cached {
                    Some(s) => s,
                    None => {
                        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM signatures WHERE tenant_id = $1")
                            .bind(&r.tenant_id)
                            .fetch_one(&mut *conn)
                            .await?;
                        get::<i64>(&row, "m")? + 1
                    }
                },
            };
            r.seq = seq;
            next.insert(r.tenant_id.clone(), seq + 1);
        }
        Ok(next)
    }

    /// The end of a transaction that wrote signing records: after a commit, remembers the
    /// next numbers [`Store::insert_signatures`] returned; after a failure, forgets them all,
    /// so that the next transaction reads them from the database again.
    pub(crate) fn settle_seq<T>(&self, outcome: Result<(T, HashMap<String, i64>)>) -> Result<T> {
        match outcome {
            Ok((value, next)) => {
                self.seq_cache().extend(next);
                Ok(value)
            }
            Err(e) => {
                self.seq_cache().clear();
                Err(e)
            }
        }
    }

    /// A transaction on the writers' own connection when the turn holds one, else on the
    /// pool.
    pub(crate) async fn begin_write<'c>(
        &self,
        writer: Option<&'c mut sqlx::AnyConnection>,
    ) -> Result<sqlx::Transaction<'c, sqlx::Any>> {
        Ok(match writer {
            Some(conn) => sqlx::Connection::begin(conn).await?,
            None => self.pool.begin().await?,
        })
    }

    fn seq_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.next_seq.lock().unwrap_or_else(|p| p.into_inner())
    }
}
