//! The signing log over HTTP, and the timestamps over its chains.
//!
//! - `GET /api/v1/audit` (permission "reading the signing log": auditors, tenant
//!   administrators, `manage` keys): entries by actor, action, target, outcome and time.
//! - `GET /api/v1/audit/export?format=csv|json`: the same, every matching entry.
//! - `GET /api/v1/audit/verify`: the chain checked link by link, and its timestamps.
//! - `POST /api/v1/audit/anchor`: timestamp the chain's head now.
//!
//! The server timestamps every chain whose head moved since its last anchor every
//! `audit_anchor_interval` (10 minutes by default) with the configured TSA (the built-in one
//! unless `--tsa-url`); see [`signet_store::audit`] for what the chain and the anchors prove.

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use signet_crypto::DigestAlgorithm;
use signet_store::audit::{AuditAnchor, anchor_message};
use signet_store::{AuditEntry, AuditQuery, ChainReport, Store};

use crate::auth::{Caller, Permission};
use crate::{AppState, Error};

/// Appends an entry to the signing log; a failure is logged (the operation it records has
/// happened). The append runs as a task of its own: a client that goes away cannot cancel it
/// halfway.
pub(crate) async fn record(state: &AppState, entry: AuditEntry) {
    let action = entry.action.clone();
    let store = state.store().clone();
    let task = tokio::spawn(async move { store.append_audit(vec![entry]).await });
    match task.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!("the signing log could not record '{action}': {e}"),
        Err(e) => tracing::error!("the signing log could not record '{action}': {e}"),
    }
}

/// How often chains are timestamped when nothing is configured.
pub const DEFAULT_ANCHOR_INTERVAL: Duration = Duration::from_secs(600);

/// Most entries one export returns (they are gathered in memory): a larger log is exported
/// in parts, with `from`/`until`; a cut export says so in `X-Signet-Truncated: true`.
pub const MAX_EXPORT: usize = 100_000;

/// Search the signing log.
///
/// Permission "reading the signing log". Filters combine; entries come in chain order, at
/// most `limit` (default 100, at most 1,000); page with `after_seq`.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "The entries.", body = Vec<AuditEntry>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn search_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, Error> {
    let tenant = caller.may(Permission::ReadAudit)?;
    Ok(Json(state.store().audit_entries(tenant, &q).await?))
}

/// `format` of an export.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (default: an array of entries) or `csv` (a header line, then one line per
    /// entry, RFC 4180 quoting).
    pub format: Option<String>,
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
}

/// Export the signing log.
///
/// Permission "reading the signing log". Every matching entry as JSON or CSV, with the
/// hashes, so the chain can be checked elsewhere: at most 100,000, with
/// `X-Signet-Truncated: true` when there may be more (export in parts with `from`/`until`).
///
/// API keys need the scope `manage`.
#[utoipa::path(
    get,
    path = "/audit/export",
    tag = "audit",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "The entries.", content(("application/json"), ("text/csv"))),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn export_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ExportQuery>,
) -> Result<Response, Error> {
    let tenant = caller.may(Permission::ReadAudit)?.to_string();
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(Error::bad("bad_format", format!("format '{other}': json or csv"))),
    };
    let mut query = AuditQuery {
        actor: q.actor,
        action: q.action,
        target: q.target,
        outcome: q.outcome,
        from: q.from,
        until: q.until,
        after_seq: None,
        limit: Some(1000),
    };
    let mut entries = Vec::new();
    loop {
        let page = state.store().audit_entries(&tenant, &query).await?;
        let Some(last) = page.last() else { break };
        query.after_seq = Some(last.seq);
        let full = page.len() == 1000;
        entries.extend(page);
        if !full || entries.len() >= MAX_EXPORT {
            break;
        }
    }
    let truncated = entries.len() >= MAX_EXPORT;
    entries.truncate(MAX_EXPORT);
    let filename = format!("signing-log.{}", if csv { "csv" } else { "json" });
    let (body, media) = if csv {
        (to_csv(&entries), "text/csv; charset=utf-8")
    } else {
        (serde_json::to_vec(&entries).map_err(Error::internal("encoding the log"))?, "application/json")
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, media.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::HeaderName::from_static("x-signet-truncated"), truncated.to_string()),
        ],
        body,
    )
        .into_response())
}

/// The entries as CSV (RFC 4180): a header line, then one line per entry.
pub fn to_csv(entries: &[AuditEntry]) -> Vec<u8> {
    fn field(out: &mut String, value: &str) {
        if value.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&value.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(value);
        }
    }
    let mut out = String::from(
        "seq,id,at,actor_kind,actor,ip,user_agent,action,target_kind,target,outcome,detail,prev_hash,hash\r\n",
    );
    for e in entries {
        let at = e.at.to_string();
        let seq = e.seq.to_string();
        let values = [
            seq.as_str(),
            &e.id,
            &at,
            &e.actor_kind,
            &e.actor,
            e.ip.as_deref().unwrap_or(""),
            e.user_agent.as_deref().unwrap_or(""),
            &e.action,
            e.target_kind.as_deref().unwrap_or(""),
            e.target.as_deref().unwrap_or(""),
            &e.outcome,
            e.detail.as_deref().unwrap_or(""),
            &e.prev_hash,
            &e.hash,
        ];
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, v);
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// A timestamp over a chain, checked.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnchorCheck {
    /// The last entry covered.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// The time the TSA vouches for (RFC 3339), when the token verifies.
    pub time: Option<String>,
    /// The TSA certificate's subject.
    pub tsa: Option<String>,
    /// Whether the TSA certificate chains to a trust anchor (the built-in root, or those
    /// given).
    pub trusted: bool,
    /// What is wrong with the token, if anything.
    pub problem: Option<String>,
}

/// `GET /audit/verify` answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Whether the chain is intact and every timestamp verifies.
    pub intact: bool,
    /// The chain, link by link.
    pub chain: ChainReport,
    /// Its timestamps.
    pub anchors: Vec<AnchorCheck>,
    /// Every finding as a sentence naming the entry.
    pub findings: Vec<String>,
}

/// Checks a chain and its anchors' tokens (the TSA chained to `anchors`).
pub async fn verify_chain(store: &Store, tenant: &str, trust: &[Vec<u8>]) -> Result<VerifyReport, Error> {
    let chain = store.verify_audit(tenant).await?;
    let mut findings: Vec<String> = chain.findings.iter().map(ToString::to_string).collect();
    let mut checks = Vec::new();
    for a in store.anchors(tenant).await? {
        let check = check_anchor(&a, trust);
        if let Some(p) = &check.problem {
            findings.push(format!("the timestamp over entry {}: {p}", a.seq));
        }
        checks.push(check);
    }
    Ok(VerifyReport { intact: findings.is_empty(), chain, anchors: checks, findings })
}

fn check_anchor(a: &AuditAnchor, trust: &[Vec<u8>]) -> AnchorCheck {
    let mut check =
        AnchorCheck { seq: a.seq, hash: a.hash.clone(), time: None, tsa: None, trusted: false, problem: None };
    let imprint = DigestAlgorithm::Sha256.digest(&anchor_message(&a.tenant_id, a.seq, &a.hash));
    let token = match B64.decode(&a.token) {
        Ok(t) => t,
        Err(e) => {
            check.problem = Some(format!("the token is not base64: {e}"));
            return check;
        }
    };
    match signet_cms::tsp::verify_token(&token, DigestAlgorithm::Sha256, &imprint, None) {
        Ok(v) => {
            check.time = Some(crate::identities::rfc3339(v.tst_info.gen_time));
            check.tsa = signet_cms::certpath::subject_to_string(&v.signer_cert);
            check.trusted =
                signet_cms::certpath::validate_path(&v.signer_cert, &v.certs, trust, v.tst_info.gen_time).is_ok();
            if !check.trusted {
                check.problem = Some("the TSA's certificate does not chain to a trusted root".into());
            }
        }
        Err(e) => check.problem = Some(format!("the token does not verify over this head: {e}")),
    }
    check
}

/// Check the signing log.
///
/// Permission "reading the signing log". Every entry's hash and link, the timestamps over
/// the chain, and each problem as a sentence naming the entry.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "audit",
    security(("bearer" = ["manage"]), ("session" = [])),
    responses(
        (status = 200, description = "The report.", body = VerifyReport),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn verify_audit(State(state): State<AppState>, caller: Caller) -> Result<Json<VerifyReport>, Error> {
    let tenant = caller.may(Permission::ReadAudit)?;
    // the built-in root, and the server's trust anchors (an external TSA's root among them)
    let mut trust = vec![state.authority().ca_certificate(signet_authority::CaLevel::Root).to_vec()];
    trust.extend(state.trust_anchors().iter().cloned());
    Ok(Json(verify_chain(state.store(), tenant, &trust).await?))
}

/// Timestamp the signing log now.
///
/// Permission "managing settings". Timestamps the head of the tenant's chain (which the
/// server also does on schedule); nothing when it was already timestamped.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    post,
    path = "/audit/anchor",
    tag = "audit",
    security(("bearer" = ["manage"]), ("session" = [])),
    responses(
        (status = 200, description = "The anchor (null when the head was already timestamped).", body = Option<AuditAnchor>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn anchor_audit(State(state): State<AppState>, caller: Caller) -> Result<Json<Option<AuditAnchor>>, Error> {
    let tenant = caller.may(Permission::ManageSettings)?.to_string();
    Ok(Json(anchor(&state, &tenant).await?))
}

/// Timestamps a chain's head unless it was already; returns the new anchor.
pub async fn anchor(state: &AppState, tenant: &str) -> Result<Option<AuditAnchor>, Error> {
    let Some((seq, hash)) = state.store().audit_head(tenant).await? else { return Ok(None) };
    if state.store().anchors(tenant).await?.last().is_some_and(|a| a.seq >= seq) {
        return Ok(None);
    }
    let imprint = DigestAlgorithm::Sha256.digest(&anchor_message(tenant, seq, &hash));
    let s = state.clone();
    let token = crate::util::blocking(move || {
        signet_pades::TsaClient::new(s.services().fetcher(), s.services().tsa_url())
            .timestamp(DigestAlgorithm::Sha256, &imprint)
    })
    .await?
    .map_err(|e| Error::TrustService(format!("timestamping the signing log: {e}")))?;
    let anchor = AuditAnchor {
        tenant_id: tenant.to_string(),
        seq,
        hash,
        token: B64.encode(&token.der),
        created_at: signet_store::millis(SystemTime::now()),
    };
    state.store().insert_anchor(&anchor).await?;
    Ok(Some(anchor))
}

/// Timestamps every chain whose head moved, every `interval`, for as long as the server runs.
pub async fn anchor_on_schedule(state: AppState, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        let chains = match state.store().audit_chains().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("listing the signing log's chains failed: {e}");
                continue;
            }
        };
        for tenant in chains {
            if let Err(e) = anchor(&state, &tenant).await {
                tracing::error!("timestamping the signing log of '{tenant}' failed: {e}");
            }
        }
    }
}
