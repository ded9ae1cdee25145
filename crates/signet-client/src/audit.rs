//! The signing log: one hash chain per tenant, timestamped.

use serde::Deserialize;

use crate::operations::*;
use crate::{Client, Query, Result, Sink};

/// One operation, as recorded.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AuditEntry {
    /// `aud_…`
    pub id: String,
    /// The tenant whose chain holds it (`""`: the operator's).
    pub tenant_id: String,
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// `user`, `api_key`, `sso`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The user's or key's id (or the name tried, for a failed login).
    pub actor: String,
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
    /// The client's address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The hash of the entry before it.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Which entries: every field given narrows the search.
///
/// ```
/// // the seal operations of the last hour
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
/// let filter = signet_client::AuditFilter { action: Some("seal.".into()), from: Some(now - 3_600_000), ..Default::default() };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries done by this user or key id.
    pub actor: Option<String>,
    /// This action, or every action starting with it when it ends in `.`.
    pub action: Option<String>,
    /// About this thing.
    pub target: Option<String>,
    /// `ok`, `refused` or `failed`.
    pub outcome: Option<String>,
    /// From (Unix ms).
    pub from: Option<i64>,
    /// Until (Unix ms, exclusive).
    pub until: Option<i64>,
    /// Entries after this position (a search's paging; not for exports).
    pub after_seq: Option<i64>,
    /// At most this many entries (a search's paging; not for exports).
    pub limit: Option<i64>,
}

impl AuditFilter {
    fn query(&self, paging: bool) -> Query {
        let mut q = Query::default();
        q.opt("actor", self.actor.as_deref())
            .opt("action", self.action.as_deref())
            .opt("target", self.target.as_deref())
            .opt("outcome", self.outcome.as_deref())
            .opt("from", self.from)
            .opt("until", self.until);
        if paging {
            q.opt("after_seq", self.after_seq).opt("limit", self.limit);
        }
        q
    }
}

/// The format of an export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// An array of [`AuditEntry`].
    #[default]
    Json,
    /// A header line, then one line per entry (RFC 4180 quoting).
    Csv,
}

/// The check of the caller's chain (`GET /api/v1/audit/verify`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AuditVerification {
    /// Whether the chain is intact and every timestamp verifies.
    pub intact: bool,
    /// The chain, link by link.
    pub chain: ChainReport,
    /// Its timestamps.
    pub anchors: Vec<AnchorCheck>,
    /// Every finding as a sentence naming the entry.
    pub findings: Vec<String>,
}

/// What the check says about one chain.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChainReport {
    /// The chain's tenant.
    pub tenant_id: String,
    /// Entries read.
    pub entries: i64,
    /// The last entry's position.
    pub last_seq: i64,
    /// Its hash.
    pub head: String,
    /// Anchors checked against the log.
    pub anchors: u64,
    /// Everything wrong, in chain order; empty when the chain is intact.
    pub findings: Vec<ChainFinding>,
}

/// Something wrong with a chain, naming the entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainFinding {
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
    /// The entry follows one that is no longer in the log.
    FollowsUnknown {
        /// The entry.
        seq: i64,
    },
    /// The entries `from..=to` were inserted before `next`.
    Inserted {
        /// The first inserted entry.
        from: i64,
        /// The last inserted entry.
        to: i64,
        /// The entry that follows the one before them.
        next: i64,
    },
    /// The entry follows an entry that is not the one before it.
    OutOfOrder {
        /// The entry.
        seq: i64,
        /// The entry it follows.
        follows: i64,
    },
    /// A timestamp does not match the log.
    AnchorMismatch {
        /// The last entry the timestamp covers.
        seq: i64,
        /// Why.
        reason: String,
    },
    /// A finding this version of the client does not know.
    #[serde(other)]
    Other,
}

/// A timestamp over a chain, checked.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AnchorCheck {
    /// The last entry covered.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// The time the TSA vouches for (RFC 3339), when the token verifies.
    pub time: Option<String>,
    /// The TSA certificate's subject.
    pub tsa: Option<String>,
    /// Whether the TSA certificate chains to a trust anchor.
    pub trusted: bool,
    /// What is wrong with the token, if anything.
    pub problem: Option<String>,
}

/// A timestamp over a chain's head.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AuditAnchor {
    /// The chain.
    pub tenant_id: String,
    /// The last entry it covers.
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
    /// The RFC 3161 `TimeStampToken`, DER.
    #[serde(with = "crate::b64::bytes")]
    pub token: Vec<u8>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// The signing log.
impl Client {
    /// `GET /api/v1/audit`: the entries `filter` selects, in chain order.
    pub fn search_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.call(SEARCH_AUDIT, &[]).query(&filter.query(true)).answer()
    }

    /// `GET /api/v1/audit/export`: every entry `filter` selects (at most 100,000), with the
    /// hashes, as JSON or CSV into `sink`; returns the size.
    pub fn export_audit<'a>(
        &self,
        filter: &AuditFilter,
        format: ExportFormat,
        sink: impl Into<Sink<'a>>,
    ) -> Result<u64> {
        let mut q = filter.query(false);
        q.push("format", if format == ExportFormat::Csv { "csv" } else { "json" });
        self.call(EXPORT_AUDIT, &[]).query(&q).download(sink.into())
    }

    /// `GET /api/v1/audit/verify`: checks the caller's chain and its timestamps.
    pub fn verify_audit(&self) -> Result<AuditVerification> {
        self.call(VERIFY_AUDIT, &[]).answer()
    }

    /// `POST /api/v1/audit/anchor`: timestamps the chain's head now (`None`: nothing new
    /// since the last anchor).
    pub fn anchor_audit(&self) -> Result<Option<AuditAnchor>> {
        self.call(ANCHOR_AUDIT, &[]).answer()
    }
}
