//! The signing log: every operation as an entry in a hash chain, one chain per tenant.
//!
//! Entry `n` of a tenant stores `prev_hash` (the `hash` of entry `n − 1`; 64 zeros for the
//! first) and `hash` = SHA-256 of [`entry_bytes`]: a domain label, the previous hash and every
//! field of the entry, each length-prefixed. `seq` is not hashed: the chain itself is the
//! order, so a renumbering shows as a break in the links, named by [`verify`].
//!
//! What an edit in the database looks like to [`verify`]:
//!
//! - a changed field: the entry's fields no longer give its hash ("changed");
//! - a deleted entry: a gap in `seq`, or, when the later entries were renumbered to close it,
//!   an entry that follows a hash no entry has ("deleted");
//! - an inserted entry: the entry after it follows the entry before it ("inserted"), however
//!   well the inserted entry's own hash was computed;
//! - a reordering: an entry follows a later one ("out of order").
//!
//! Anyone who can write the database can also recompute every hash after an edit. Against
//! that, the chain's head is timestamped from time to time (RFC 3161 tokens in
//! `audit_anchors`): an edit before an anchor changes the head the token names. Appends take
//! one in-process turn per store ([`Store::append_audit`]), and `UNIQUE (tenant_id, seq)`
//! catches another process appending at the same time.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;

use crate::records::{AnyQuery, Row, insert_rows};
use crate::{Result, Store, get, hex, new_id, now_millis};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How often an append is tried when another writer took its position.
pub const APPEND_ATTEMPTS: usize = 3;

/// The chain of operator actions (tenants, operator keys).
pub const OPERATOR_CHAIN: &str = "";

/// One operation, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// The tenant whose chain holds it (`""`: the operator's).
    pub tenant_id: String,
    /// Position in the chain, from 1.
    pub seq: i64,
    /// `aud_…`
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// `user`, `api_key`, `sso`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The user's or key's id (or the name tried, for a failed login).
    pub actor: String,
    /// The client's address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// What was done: `login`, `mfa.verify`, `seal.create`, `sign`, …
    pub action: String,
    /// The kind of thing acted on: `user`, `seal`, `document`, `identity`, …
    pub target_kind: Option<String>,
    /// Its id.
    pub target: Option<String>,
    /// `ok`, `refused` or `failed`.
    pub outcome: String,
    /// Particulars, as JSON text.
    pub detail: Option<String>,
    /// The hash of the entry before it.
    pub prev_hash: String,
    /// This entry's hash (hexadecimal SHA-256 of [`entry_bytes`]).
    pub hash: String,
}

/// Who did something and from where: the first fields of an entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    /// See [`AuditEntry::actor_kind`].
    pub kind: String,
    /// See [`AuditEntry::actor`].
    pub id: String,
    /// See [`AuditEntry::ip`].
    pub ip: Option<String>,
    /// See [`AuditEntry::user_agent`].
    pub user_agent: Option<String>,
}

impl Actor {
    /// The server itself (scheduled work).
    pub fn system() -> Actor {
        Actor { kind: "system".into(), id: "signet".into(), ip: None, user_agent: None }
    }
}

impl AuditEntry {
    /// A new entry (hash and position assigned when appended).
    pub fn new(tenant_id: &str, actor: &Actor, action: &str, outcome: &str) -> AuditEntry {
        AuditEntry {
            tenant_id: tenant_id.into(),
            seq: 0,
            id: new_id("aud"),
            at: now_millis(),
            actor_kind: actor.kind.clone(),
            actor: actor.id.clone(),
            ip: actor.ip.clone(),
            user_agent: actor.user_agent.clone(),
            action: action.into(),
            target_kind: None,
            target: None,
            outcome: outcome.into(),
            detail: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// With the thing acted on.
    pub fn target(mut self, kind: &str, id: &str) -> AuditEntry {
        self.target_kind = Some(kind.into());
        self.target = Some(id.into());
        self
    }

    /// With particulars.
    pub fn detail(mut self, detail: serde_json::Value) -> AuditEntry {
        self.detail = Some(detail.to_string());
        self
    }

    /// The entry of a signing record: action `sign`, the identity as target, the record's
    /// particulars as detail.
    pub fn of_signature(r: &crate::SignatureRecord) -> AuditEntry {
        let kind = if r.caller.starts_with("usr_") { "user" } else { "api_key" };
        /// The entry's detail; its fields in the order of their names, as a JSON object of
        /// serde_json's was written before (a struct: no map built per signature).
        #[derive(Serialize)]
        struct Detail<'a> {
            channel: &'a str,
            digest: &'a str,
            digest_algorithm: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            document: Option<&'a str>,
            level: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            note: Option<&'a str>,
            signature: &'a str,
        }
        let detail = Detail {
            channel: &r.channel,
            digest: &r.digest,
            digest_algorithm: &r.digest_algorithm,
            document: r.document_id.as_deref(),
            level: &r.level,
            note: r.detail.as_deref(),
            signature: &r.id,
        };
        AuditEntry {
            tenant_id: r.tenant_id.clone(),
            seq: 0,
            id: new_id("aud"),
            at: r.created_at,
            actor_kind: kind.into(),
            actor: r.caller.clone(),
            ip: r.ip.clone(),
            user_agent: r.user_agent.clone(),
            action: "sign".into(),
            target_kind: Some("identity".into()),
            target: Some(r.identity_id.clone().unwrap_or_else(|| r.identity_name.clone())),
            outcome: if r.outcome == "signed" { "ok".into() } else { r.outcome.clone() },
            detail: serde_json::to_string(&detail).ok(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// The hash this entry's fields give after `prev_hash`.
    pub fn computed_hash(&self, prev_hash: &str) -> String {
        hex(&Sha256::digest(entry_bytes(self, prev_hash)))
    }
}

/// The bytes an entry's hash is taken over: `signet-audit-v1`, then the previous hash, id,
/// tenant, time, actor kind, actor, address, user agent, action, target kind, target,
/// outcome and detail, each as a 4-byte big-endian length (`0xFFFFFFFF` for an absent value)
/// and its UTF-8 bytes.
pub fn entry_bytes(e: &AuditEntry, prev_hash: &str) -> Vec<u8> {
    fn put(out: &mut Vec<u8>, field: Option<&str>) {
        match field {
            Some(s) => {
                out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX - 1).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        }
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"signet-audit-v1");
    let at = e.at.to_string();
    for field in [
        Some(prev_hash),
        Some(e.id.as_str()),
        Some(e.tenant_id.as_str()),
        Some(at.as_str()),
        Some(e.actor_kind.as_str()),
        Some(e.actor.as_str()),
        e.ip.as_deref(),
        e.user_agent.as_deref(),
        Some(e.action.as_str()),
        e.target_kind.as_deref(),
        e.target.as_deref(),
        Some(e.outcome.as_str()),
        e.detail.as_deref(),
    ] {
        put(&mut out, field);
    }
    out
}

/// A timestamp over a chain's head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditAnchor {
    /// The chain.
    pub tenant_id: String,
    /// The last entry it covers.
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
    /// The RFC 3161 `TimeStampToken` (base64 DER) whose message imprint is the SHA-256 of
    /// [`anchor_message`].
    pub token: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// The bytes an anchor's timestamp covers: `signet-audit-anchor-v1`, the tenant, the entry's
/// number and hash, one per line.
pub fn anchor_message(tenant_id: &str, seq: i64, hash: &str) -> Vec<u8> {
    format!("signet-audit-anchor-v1\n{tenant_id}\n{seq}\n{hash}\n").into_bytes()
}

/// Which entries a search returns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Entries done by this user or key id.
    pub actor: Option<String>,
    /// Entries of this action (exactly), or of every action starting with it when it ends
    /// in `.` (`seal.`).
    pub action: Option<String>,
    /// Entries about this thing (any kind): a seal, a document, a user…
    pub target: Option<String>,
    /// `ok`, `refused` or `failed`.
    pub outcome: Option<String>,
    /// From this time (Unix ms, inclusive).
    pub from: Option<i64>,
    /// Until this time (Unix ms, exclusive).
    pub until: Option<i64>,
    /// Entries after this position.
    pub after_seq: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<i64>,
}

const AUDIT_COLUMNS: &str = "tenant_id, seq, id, at, actor_kind, actor, ip, user_agent, action, target_kind, target, \
                             outcome, detail, prev_hash, hash";

impl Row for AuditEntry {
    const TABLE: &'static str = "audit_log";
    const COLUMNS: &'static str = AUDIT_COLUMNS;
    const WIDTH: usize = 15;
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.tenant_id)
            .bind(self.seq)
            .bind(&self.id)
            .bind(self.at)
            .bind(&self.actor_kind)
            .bind(&self.actor)
            .bind(&self.ip)
            .bind(&self.user_agent)
            .bind(&self.action)
            .bind(&self.target_kind)
            .bind(&self.target)
            .bind(&self.outcome)
            .bind(&self.detail)
            .bind(&self.prev_hash)
            .bind(&self.hash)
    }
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        tenant_id: get(row, "tenant_id")?,
        seq: get(row, "seq")?,
        id: get(row, "id")?,
        at: get(row, "at")?,
        actor_kind: get(row, "actor_kind")?,
        actor: get(row, "actor")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        action: get(row, "action")?,
        target_kind: get(row, "target_kind")?,
        target: get(row, "target")?,
        outcome: get(row, "outcome")?,
        detail: get(row, "detail")?,
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

/// The heads of the chains this process appended to last: tenant → (next seq, hash of the
/// last entry).
pub(crate) type ChainHeads = HashMap<String, (i64, String)>;

impl Store {
    /// Appends entries to their tenants' chains in one transaction, assigning each its `seq`
    /// and hashes; returns them as written. When another writer (another process on the same
    /// database) took the next position meanwhile, the heads are read again and the append
    /// tried again, up to [`APPEND_ATTEMPTS`] times.
    pub async fn append_audit(&self, mut entries: Vec<AuditEntry>) -> Result<Vec<AuditEntry>> {
        let mut heads = self.chain_turn().await;
        let mut attempt = 1;
        loop {
            let mut turn = self.write_turn().await;
            let writer = turn.as_deref_mut().and_then(Option::as_mut);
            let written = async {
                let mut tx = self.begin_write(writer).await?;
                let next = chain(&mut tx, &heads, &mut entries).await?;
                insert_rows(&mut tx, &entries).await?;
                tx.commit().await?;
                Ok(next)
            }
            .await;
            match settle_heads(&mut heads, written) {
                Ok(()) => return Ok(entries),
                Err(crate::Error::Conflict(_)) if attempt < APPEND_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// A tenant's entries matching `q`, in chain order.
    pub async fn audit_entries(&self, tenant_id: &str, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        // each filter: its condition, `{p}` standing for its parameter, and the value
        let mut filters: Vec<(&str, Bind)> = Vec::new();
        let text = |v: &String| Bind::Text(v.clone());
        if let Some(a) = &q.actor {
            filters.push(("actor = {p}", text(a)));
        }
        match &q.action {
            Some(a) if a.ends_with('.') => filters.push(("substr(action, 1, length({p})) = {p}", text(a))),
            Some(a) => filters.push(("action = {p}", text(a))),
            None => {}
        }
        if let Some(t) = &q.target {
            filters.push(("target = {p}", text(t)));
        }
        if let Some(o) = &q.outcome {
            filters.push(("outcome = {p}", text(o)));
        }
        for (condition, value) in [("at >= {p}", q.from), ("at < {p}", q.until), ("seq > {p}", q.after_seq)] {
            if let Some(v) = value {
                filters.push((condition, Bind::Number(v)));
            }
        }
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1");
        for (i, (condition, _)) in filters.iter().enumerate() {
            sql.push_str(" AND ");
            sql.push_str(&condition.replace("{p}", &format!("${}", i + 2)));
        }
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        sql.push_str(&format!(" ORDER BY seq LIMIT {limit}"));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id);
        for (_, b) in filters {
            query = match b {
                Bind::Text(t) => query.bind(t),
                Bind::Number(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// A tenant's entries from `after_seq` on, in `seq` order, at most `limit` (for
    /// verification and export, page by page).
    pub async fn audit_page(&self, tenant_id: &str, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(dynamic!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Every chain's tenant (`""` for the operator's).
    pub async fn audit_chains(&self) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT DISTINCT tenant_id FROM audit_log ORDER BY tenant_id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| get::<String>(r, "tenant_id")).collect()
    }

    /// The last entry of a tenant's chain.
    pub async fn audit_head(&self, tenant_id: &str) -> Result<Option<(i64, String)>> {
        let row = sqlx::query("SELECT seq, hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((get(&r, "seq")?, get(&r, "hash")?))).transpose()
    }

    /// Stores a timestamp over a chain's head.
    pub async fn insert_anchor(&self, anchor: &AuditAnchor) -> Result<()> {
        sqlx::query("INSERT INTO audit_anchors (tenant_id, seq, hash, token, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&anchor.tenant_id)
            .bind(anchor.seq)
            .bind(&anchor.hash)
            .bind(&anchor.token)
            .bind(anchor.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A tenant's anchors, oldest first.
    pub async fn anchors(&self, tenant_id: &str) -> Result<Vec<AuditAnchor>> {
        let rows = sqlx::query(
            "SELECT tenant_id, seq, hash, token, created_at FROM audit_anchors WHERE tenant_id = $1 ORDER BY seq",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditAnchor {
                    tenant_id: get(r, "tenant_id")?,
                    seq: get(r, "seq")?,
                    hash: get(r, "hash")?,
                    token: get(r, "token")?,
                    created_at: get(r, "created_at")?,
                })
            })
            .collect()
    }

    /// The in-process turn of chain appends, with the heads it remembers.
    pub(crate) async fn chain_turn(&self) -> tokio::sync::MutexGuard<'_, ChainHeads> {
        self.chain.lock().await
    }
}

enum Bind {
    Text(String),
    Number(i64),
}

/// Assigns each entry its position and hashes, continuing each tenant's chain from `heads`
/// (or, for a tenant not remembered, from its last entry in the database). Returns the new
/// heads, to remember once the transaction commits.
pub(crate) async fn chain(
    conn: &mut sqlx::AnyConnection,
    heads: &ChainHeads,
    entries: &mut [AuditEntry],
) -> Result<ChainHeads> {
    let mut next: ChainHeads = HashMap::new();
    for e in entries.iter_mut() {
        let (seq, prev) = match next.get(&e.tenant_id).or_else(|| heads.get(&e.tenant_id)) {
            Some((s, h)) => (*s, h.clone()),
            None => {
                let row = sqlx::query("SELECT seq, hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1")
                    .bind(&e.tenant_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                match row {
                    Some(r) => (get::<i64>(&r, "seq")? + 1, get::<String>(&r, "hash")?),
                    None => (1, GENESIS.to_string()),
                }
            }
        };
        e.seq = seq;
        e.hash = e.computed_hash(&prev);
        e.prev_hash = prev;
        next.insert(e.tenant_id.clone(), (seq + 1, e.hash.clone()));
    }
    Ok(next)
}

/// After a commit, remembers the heads [`chain`] returned; after a failure, forgets every
/// head, so the next append reads them from the database.
pub(crate) fn settle_heads(heads: &mut ChainHeads, outcome: Result<ChainHeads>) -> Result<()> {
    match outcome {
        Ok(next) => {
            heads.extend(next);
            Ok(())
        }
        Err(e) => {
            heads.clear();
            Err(e)
        }
    }
}

/// What [`verify`] found wrong, naming the entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The entry's fields do not give its hash: it was edited.
    Changed {
        /// The entry.
        seq: i64,
    },
    /// Entries `from..=to` are not in the log: deleted.
    Missing {
        /// First missing.
        from: i64,
        /// Last missing.
        to: i64,
    },
    /// The entry follows one that is no longer in the log: the entry before it was deleted
    /// (and the later ones renumbered), or edited and its hash recomputed.
    FollowsUnknown {
        /// The entry.
        seq: i64,
    },
    /// The entry follows an earlier entry than the one before it: the entries between were
    /// inserted.
    Inserted {
        /// The first inserted entry.
        from: i64,
        /// The last inserted entry.
        to: i64,
        /// The entry that follows the one before them.
        next: i64,
    },
    /// The entry follows a later entry: the order was changed.
    OutOfOrder {
        /// The entry.
        seq: i64,
        /// The later entry it follows.
        follows: i64,
    },
    /// A timestamped head differs from the log.
    AnchorMismatch {
        /// The entry the timestamp covers.
        seq: i64,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Changed { seq } => write!(f, "entry {seq} was changed: its fields do not give its hash"),
            Finding::Missing { from, to } if from == to => write!(f, "entry {from} is missing: deleted"),
            Finding::Missing { from, to } => write!(f, "entries {from} to {to} are missing: deleted"),
            Finding::FollowsUnknown { seq } => write!(
                f,
                "entry {seq} follows an entry that is not in the log: the entry before it was deleted, or changed \
                 and rehashed"
            ),
            Finding::Inserted { from, to, next } if from == to => {
                write!(f, "entry {from} was inserted: entry {next} follows entry {}", from - 1)
            }
            Finding::Inserted { from, to, next } => {
                write!(f, "entries {from} to {to} were inserted: entry {next} follows entry {}", from - 1)
            }
            Finding::OutOfOrder { seq, follows } => {
                write!(f, "entry {seq} is out of order: it follows entry {follows}")
            }
            Finding::AnchorMismatch { seq, reason } => write!(f, "the timestamp over entry {seq}: {reason}"),
        }
    }
}

/// What [`verify`] says about one chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainReport {
    /// The chain's tenant.
    pub tenant_id: String,
    /// Entries read.
    pub entries: i64,
    /// The last entry's position.
    pub last_seq: i64,
    /// Its hash.
    pub head: String,
    /// Anchors checked against the log (their tokens are checked by the caller).
    pub anchors: usize,
    /// Everything wrong, in chain order; empty when the chain is intact.
    pub findings: Vec<Finding>,
}

impl ChainReport {
    /// No finding.
    pub fn intact(&self) -> bool {
        self.findings.is_empty()
    }
}

impl Store {
    /// Checks a tenant's chain entry by entry (reading it twice, in pages, to know every
    /// hash before judging links) and against its anchors' heads. The anchors' tokens are
    /// not checked here (that needs the TSA's certificate): see `signet audit verify`.
    pub async fn verify_audit(&self, tenant_id: &str) -> Result<ChainReport> {
        const PAGE: i64 = 5000;
        let mut by_hash: HashMap<[u8; 16], i64> = HashMap::new();
        let mut after = 0;
        loop {
            let page = self.audit_page(tenant_id, after, PAGE).await?;
            for e in &page {
                by_hash.insert(hash_key(&e.hash), e.seq);
            }
            match page.last() {
                Some(last) => after = last.seq,
                None => break,
            }
        }
        let mut check = ChainCheck::new(tenant_id, by_hash);
        let mut after = 0;
        loop {
            let page = self.audit_page(tenant_id, after, PAGE).await?;
            for e in &page {
                check.entry(e);
            }
            match page.last() {
                Some(last) => after = last.seq,
                None => break,
            }
        }
        let anchors = self.anchors(tenant_id).await?;
        let mut report = check.finish();
        check_anchors(&mut report, &anchors, |seq| {
            // a page of one: anchors are few
            let store = self.clone();
            let tenant = tenant_id.to_string();
            async move { store.audit_page(&tenant, seq - 1, 1).await.map(|p| p.into_iter().find(|e| e.seq == seq)) }
        })
        .await?;
        Ok(report)
    }
}

/// Checks the anchors' heads against the log.
async fn check_anchors<F, Fut>(report: &mut ChainReport, anchors: &[AuditAnchor], entry_at: F) -> Result<()>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Result<Option<AuditEntry>>>,
{
    report.anchors = anchors.len();
    for a in anchors {
        match entry_at(a.seq).await? {
            None => report.findings.push(Finding::AnchorMismatch {
                seq: a.seq,
                reason: format!(
                    "the log was timestamped up to entry {} but ends at entry {}: entries were deleted",
                    a.seq, report.last_seq
                ),
            }),
            Some(e) if e.hash != a.hash => report.findings.push(Finding::AnchorMismatch {
                seq: a.seq,
                reason: "the entry's hash is not the one timestamped: the log before it was changed and rehashed"
                    .into(),
            }),
            Some(_) => {}
        }
    }
    Ok(())
}

fn hash_key(hash: &str) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (i, b) in hash.bytes().take(32).enumerate() {
        k[i / 2] = (k[i / 2] << 4) | (b as char).to_digit(16).unwrap_or(0) as u8;
    }
    k
}

/// The link and hash checks of [`Store::verify_audit`], entry by entry in `seq` order, given
/// every entry's hash.
pub struct ChainCheck {
    report: ChainReport,
    by_hash: HashMap<[u8; 16], i64>,
    prev: Option<(i64, String)>,
}

impl ChainCheck {
    /// A check of `tenant_id`'s chain, whose entries' hashes map to their positions.
    fn new(tenant_id: &str, by_hash: HashMap<[u8; 16], i64>) -> ChainCheck {
        ChainCheck { report: ChainReport { tenant_id: tenant_id.into(), ..Default::default() }, by_hash, prev: None }
    }

    /// A check over entries already in memory (an export).
    pub fn over(tenant_id: &str, entries: &[AuditEntry]) -> ChainReport {
        let by_hash = entries.iter().map(|e| (hash_key(&e.hash), e.seq)).collect();
        let mut check = ChainCheck::new(tenant_id, by_hash);
        for e in entries {
            check.entry(e);
        }
        check.finish()
    }

    fn entry(&mut self, e: &AuditEntry) {
        let findings = &mut self.report.findings;
        if e.computed_hash(&e.prev_hash) != e.hash {
            findings.push(Finding::Changed { seq: e.seq });
        }
        let (prev_seq, prev_hash) = self.prev.clone().unwrap_or((0, GENESIS.to_string()));
        if e.seq > prev_seq + 1 {
            findings.push(Finding::Missing { from: prev_seq + 1, to: e.seq - 1 });
        }
        if e.prev_hash != prev_hash {
            match self.by_hash.get(&hash_key(&e.prev_hash)).copied() {
                Some(j) if j > e.seq => findings.push(Finding::OutOfOrder { seq: e.seq, follows: j }),
                Some(j) if j < prev_seq => {
                    // the entries between j and this one were put in
                    let from = j + 1;
                    let inserted = Finding::Inserted { from, to: e.seq - 1, next: e.seq };
                    // an earlier out-of-order finding already explains a swap
                    let explained =
                        findings.iter().any(|f| matches!(f, Finding::OutOfOrder { follows, .. } if *follows == e.seq - 1 || *follows >= from));
                    if explained {
                        findings.push(Finding::OutOfOrder { seq: e.seq, follows: j });
                    } else {
                        findings.push(inserted);
                    }
                }
                Some(_) => {}
                None if e.seq > prev_seq + 1 => {} // the gap already says it
                None => {
                    // a first entry that does not start from the genesis also lost its past
                    let changed_before =
                        findings.iter().any(|f| matches!(f, Finding::Changed { seq } if *seq == prev_seq));
                    if !changed_before {
                        findings.push(Finding::FollowsUnknown { seq: e.seq });
                    }
                }
            }
        }
        self.report.entries += 1;
        self.report.last_seq = e.seq;
        self.report.head = e.hash.clone();
        self.prev = Some((e.seq, e.hash.clone()));
    }

    fn finish(self) -> ChainReport {
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_entry_details_the_record_as_a_sorted_object() {
        let mut r = crate::SignatureRecord::new("ten_a", "seal", "sha256", "ab12", "b-b", "api", "key_1");
        for (document, note) in [(None, None), (Some("doc_1"), Some("a \"quoted\" note"))] {
            r.document_id = document.map(Into::into);
            r.detail = note.map(Into::into);
            let mut expected = serde_json::json!({
                "signature": r.id, "digest_algorithm": "sha256", "digest": "ab12", "level": "b-b", "channel": "api",
            });
            if let Some(d) = document {
                expected["document"] = d.into();
            }
            if let Some(n) = note {
                expected["note"] = n.into();
            }
            assert_eq!(AuditEntry::of_signature(&r).detail.as_deref(), Some(expected.to_string().as_str()));
        }
    }

    fn chain_of(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e =
                    AuditEntry::new("t", &Actor::system(), "test", "ok").detail(serde_json::json!({ "n": seq }));
                e.seq = seq;
                e.hash = e.computed_hash(&prev);
                e.prev_hash = std::mem::replace(&mut prev, e.hash.clone());
                e
            })
            .collect()
    }

    fn findings(entries: &[AuditEntry]) -> Vec<String> {
        ChainCheck::over("t", entries).findings.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn an_intact_chain_has_no_finding() {
        assert!(ChainCheck::over("t", &chain_of(10)).intact());
    }

    #[test]
    fn an_edit_names_the_entry() {
        let mut c = chain_of(10);
        c[4].detail = Some("{\"n\":99}".into());
        assert_eq!(findings(&c), ["entry 5 was changed: its fields do not give its hash"]);
    }

    #[test]
    fn a_deletion_names_the_entry() {
        let mut c = chain_of(10);
        c.remove(4);
        assert_eq!(findings(&c), ["entry 5 is missing: deleted"]);
        // and with the later entries renumbered to close the gap
        for e in c.iter_mut().skip(4) {
            e.seq -= 1;
        }
        assert_eq!(
            findings(&c)[0],
            "entry 5 follows an entry that is not in the log: the entry before it was deleted, or changed and rehashed"
        );
    }

    #[test]
    fn an_insertion_names_the_entry_even_when_well_hashed() {
        let mut c = chain_of(10);
        let mut forged = AuditEntry::new("t", &Actor::system(), "forged", "ok");
        forged.seq = 5;
        forged.hash = forged.computed_hash(&c[3].hash);
        forged.prev_hash = c[3].hash.clone();
        for e in c.iter_mut().skip(4) {
            e.seq += 1;
        }
        c.insert(4, forged);
        assert_eq!(findings(&c), ["entry 5 was inserted: entry 6 follows entry 4"]);
    }

    #[test]
    fn a_swap_names_the_entries() {
        let mut c = chain_of(10);
        c.swap(4, 5);
        c[4].seq = 5;
        c[5].seq = 6;
        let f = findings(&c);
        assert_eq!(f[0], "entry 5 is out of order: it follows entry 6");
        assert!(f.iter().all(|s| !s.contains("inserted")), "{f:?}");
    }
}
