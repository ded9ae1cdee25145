//! Contract envelopes: one document, the parties who act on it in order, and the fields each
//! fills (see `docs/envelopes-api.md` for the HTTP contract).
//!
//! The workflow:
//! 1. **Created** (`draft`): the parties, their order and their fields are checked.
//! 2. **Sent**: every field is added to the PDF in one unsigned incremental update (empty
//!    signature fields, empty text fields: ISO 32000-2 §12.7), so that what each party later
//!    does is only filling in fields and signing, which a certification signature with
//!    DocMDP P=2 permits (§12.8.2.2). The parties of the first turn are invited by e-mail.
//! 3. **Each party acts** in its turn (equal `order`s act in parallel): a signer fills its text
//!    and date fields and signs each of its seal or signature fields as its own incremental
//!    update, with its own certificate (a company seal's, under an authorization to use it;
//!    or a personal one issued by the built-in CA on first use); the first signature of the
//!    envelope certifies (P=2) when `certify` is set. An approver approves; a decline or a
//!    void ends the envelope; so does the expiry.
//! 4. **Completed**: the validation data of every signature and an archive document
//!    timestamp are added (PAdES B-LTA, ETSI EN 319 142-1 §6.5), the result is the final
//!    version, and a completion certificate (a separate PDF) summarises parties, times,
//!    addresses, hashes and the log entries.
//!
//! An envelope is one aggregate, changed by compare-and-swap on its revision; in one process
//! the changes of an envelope also take turns on a lock, so a party signing never signs a
//! version that another party's signature is replacing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use signet_store::{Actor, AuditEntry, DocumentRecord, EnvelopeEvent, EnvelopeWrite, now_millis};

use crate::agent::{Input, SignOptions};
use crate::audit::record as audit;
use crate::auth::{Caller, Permission};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// Most parties of one envelope.
pub const MAX_PARTIES: usize = 50;
/// Most fields of one party.
pub const MAX_FIELDS: usize = 50;
/// Longest text a party types into a text field.
pub const MAX_TEXT_VALUE: usize = 500;

/// An envelope.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Envelope {
    /// `env_…`.
    pub id: String,
    /// The title (shown in e-mails and lists).
    pub title: String,
    /// A message to the parties.
    #[serde(default)]
    pub message: Option<String>,
    /// `draft`, `sent`, `completed`, `declined`, `voided`, `expired`.
    pub status: String,
    /// The document as it was given.
    pub document_id: String,
    /// The latest version: the fields added, then each signature.
    pub current_document_id: String,
    /// Completed: the final version (PAdES B-LTA).
    #[serde(default)]
    pub final_document_id: Option<String>,
    /// Completed: the completion certificate (a PDF).
    #[serde(default)]
    pub certificate_document_id: Option<String>,
    /// The first signature certifies the document (DocMDP P=2: later form filling and
    /// signing stay permitted).
    pub certify: bool,
    /// Past this time the envelope expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Parties whose turn it is are reminded this often.
    #[serde(default)]
    pub reminder_interval_hours: Option<i64>,
    /// The next reminder.
    #[serde(default)]
    pub next_reminder_at: Option<i64>,
    /// Who created it (a user or key id).
    pub created_by: String,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// Sent.
    #[serde(default)]
    pub sent_at: Option<i64>,
    /// Completed, declined, voided or expired.
    #[serde(default)]
    pub completed_at: Option<i64>,
    /// Why it was voided.
    #[serde(default)]
    pub void_reason: Option<String>,
    /// The parties, in the order given.
    pub parties: Vec<Party>,
}

/// One party of an envelope.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Party {
    /// `pty_…`.
    pub id: String,
    /// The person's (or organisation's representative's) name.
    pub name: String,
    /// Where invitations go.
    #[serde(default)]
    pub email: Option<String>,
    /// An internal party: the tenant's user.
    #[serde(default)]
    pub user_id: Option<String>,
    /// `internal` or `external`.
    pub kind: String,
    /// `signer`, `approver` or `copy`.
    pub role: String,
    /// Smaller orders act first; equal orders act in parallel.
    pub order: i64,
    /// The company seal this party stamps (internal parties).
    #[serde(default)]
    pub seal_id: Option<String>,
    /// `waiting`, `notified`, `signed`, `approved`, `declined`, `skipped`.
    pub status: String,
    /// When it was invited last.
    #[serde(default)]
    pub notified_at: Option<i64>,
    /// When it signed or approved.
    #[serde(default)]
    pub signed_at: Option<i64>,
    /// Why it declined.
    #[serde(default)]
    pub decline_reason: Option<String>,
    /// What it must fill.
    pub fields: Vec<Field>,
    /// How and from where it acted.
    #[serde(default)]
    pub evidence: Option<Evidence>,
    /// A signer that signs with its own key (a smart card, a token, a key of its own) through
    /// deferred signing: the certificate that binds it.
    #[serde(default)]
    pub own_key: Option<crate::deferred::OwnKey>,
}

/// A field placed for a party.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Field {
    /// `fld_…`; also the PDF field's name.
    pub id: String,
    /// `seal`, `signature`, `date`, `text`.
    pub kind: String,
    /// 1-based page.
    pub page: i64,
    /// `[x1, y1, x2, y2]` in PDF points on the page as displayed (origin bottom-left).
    pub rect: [f64; 4],
    /// A label shown to the party.
    #[serde(default)]
    pub label: Option<String>,
    /// The value filled in (text and date fields).
    #[serde(default)]
    pub value: Option<String>,
}

/// How a party acted: what the completion certificate reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Evidence {
    /// The client's address.
    #[serde(default)]
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// How the party was authenticated.
    pub auth_method: String,
    /// The signing certificate's subject.
    #[serde(default)]
    pub certificate_subject: Option<String>,
    /// The signing certificate's serial number (hex).
    #[serde(default)]
    pub certificate_serial: Option<String>,
    /// The version its signature made.
    #[serde(default)]
    pub document_id: Option<String>,
    /// Its SHA-256.
    #[serde(default)]
    pub document_sha256: Option<String>,
    /// `drawn`, `typed`, `uploaded`, `seal` or `own_key`.
    #[serde(default)]
    pub signature_kind: Option<String>,
}

/// A new envelope.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEnvelope {
    /// 1–200 characters.
    pub title: String,
    /// The document (`doc_…`, the latest version of its line).
    pub document_id: String,
    /// A message to the parties (at most 2,000 characters).
    #[serde(default)]
    pub message: Option<String>,
    /// Expiry (Unix ms).
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Expiry in days from now (instead of `expires_at`).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// Remind parties whose turn it is every this many hours (1–720).
    #[serde(default)]
    pub reminder_interval_hours: Option<i64>,
    /// The first signature certifies (default true).
    #[serde(default)]
    pub certify: Option<bool>,
    /// Send at once (default false: a draft).
    #[serde(default)]
    pub send: Option<bool>,
    /// The parties (1–50).
    pub parties: Vec<NewParty>,
}

/// A party of a new envelope.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewParty {
    /// The name (an internal user's display name when empty).
    #[serde(default)]
    pub name: Option<String>,
    /// External parties: their e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Internal parties: the user (`usr_…`).
    #[serde(default)]
    pub user_id: Option<String>,
    /// `signer` (default), `approver`, `copy`.
    #[serde(default)]
    pub role: Option<String>,
    /// Turn (default: the party's position, so parties sign one after another).
    #[serde(default)]
    pub order: Option<i64>,
    /// The company seal an internal party stamps.
    #[serde(default)]
    pub seal_id: Option<String>,
    /// The fields.
    #[serde(default)]
    pub fields: Vec<NewField>,
    /// A signer that signs with its own key (deferred signing): its certificate. Such a party
    /// has exactly one signature field and signs only through `…/prepare` and `…/signature`.
    #[serde(default)]
    pub own_key: Option<crate::deferred::NewOwnKey>,
}

/// A field of a new party.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewField {
    /// `seal`, `signature`, `date`, `text`.
    pub kind: String,
    /// 1-based page.
    pub page: i64,
    /// `[x1, y1, x2, y2]` in PDF points on the page as displayed.
    pub rect: [f64; 4],
    /// A label.
    #[serde(default)]
    pub label: Option<String>,
}

/// A reason (void, decline).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why (1–1,000 characters).
    pub reason: String,
}

/// An adopted signature image.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureImage {
    /// `drawn`, `typed` or `uploaded`.
    pub kind: String,
    /// A PNG or JPEG as a `data:` URL (at most 2 MB).
    pub image: String,
}

/// What a party sends to sign.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The signature image (people; a seal party stamps its seal's image).
    #[serde(default)]
    pub signature: Option<SignatureImage>,
    /// Text field values by field id.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// An approved seal-use request, when the seal's authorization asks for one per use.
    #[serde(default)]
    pub seal_request: Option<String>,
    /// The version the party read (`doc_…`): refused with 412 when another party's signature
    /// has replaced it since, so nobody signs what they did not see.
    #[serde(default)]
    pub document_id: Option<String>,
}

/// A page of envelopes.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EnvelopeList {
    /// Newest first.
    pub items: Vec<EnvelopeSummary>,
    /// Give as `before` for the next page; `null` at the end.
    pub next: Option<String>,
}

/// One line of a list.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnvelopeSummary {
    /// `env_…`.
    pub id: String,
    /// The title.
    pub title: String,
    /// The status.
    pub status: String,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// Expiry.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// The parties.
    pub parties: Vec<PartySummary>,
}

/// A party in a list line.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartySummary {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Status.
    pub status: String,
    /// The internal user.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// One entry of an envelope's history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// When.
    pub at: i64,
    /// What.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// The party concerned.
    pub party_id: Option<String>,
    /// Particulars.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The list's query.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this status.
    #[serde(default)]
    pub status: Option<String>,
    /// Text in the title or a party's name or address.
    #[serde(default)]
    pub q: Option<String>,
    /// The `next` of the page before.
    #[serde(default)]
    pub before: Option<String>,
    /// At most this many (default 50, at most 200).
    #[serde(default)]
    pub limit: Option<i64>,
}

// ---------------------------------------------------------------------------------------
// storage

/// One change of an envelope at a time in this process.
static LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);

/// Wakes the scheduler when an envelope's next step may come earlier than it planned for.
static SCHEDULE: LazyLock<tokio::sync::Notify> = LazyLock::new(tokio::sync::Notify::new);

pub(crate) async fn lock_envelope(id: &str) -> tokio::sync::OwnedMutexGuard<()> {
    let lock = {
        let mut map = LOCKS.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        map.entry(id.to_string()).or_default().clone()
    };
    lock.lock_owned().await
}

pub(crate) async fn load(state: &AppState, tenant: &str, id: &str) -> Result<(Envelope, i64), Error> {
    let stored = state.store().envelope(tenant, id).await.map_err(|e| match e {
        signet_store::Error::NotFound(_) => Error::Missing(format!("no envelope {id} in this tenant")),
        e => e.into(),
    })?;
    let envelope: Envelope = serde_json::from_str(&stored.body)
        .map_err(|e| Error::Internal { context: "reading an envelope", source: Box::new(e) })?;
    Ok((envelope, stored.revision))
}

/// The stored form of an envelope: its body and the columns lists and the scheduler read.
pub fn stored_form(e: &Envelope) -> EnvelopeWrite {
    let mut search = e.title.to_lowercase();
    for p in &e.parties {
        search.push('\n');
        search.push_str(&p.name.to_lowercase());
        if let Some(m) = &p.email {
            search.push(' ');
            search.push_str(&m.to_lowercase());
        }
    }
    let summary = summary_of(e);
    let open = e.status == "sent";
    let due_at = match (open, e.expires_at, e.next_reminder_at) {
        (false, _, _) => None,
        (true, a, b) => [a, b].into_iter().flatten().min(),
    };
    EnvelopeWrite {
        title: e.title.clone(),
        status: e.status.clone(),
        search,
        summary: serde_json::to_string(&summary).unwrap_or_default(),
        body: serde_json::to_string(e).unwrap_or_default(),
        due_at,
        updated_at: e.updated_at,
    }
}

pub(crate) fn summary_of(e: &Envelope) -> EnvelopeSummary {
    EnvelopeSummary {
        id: e.id.clone(),
        title: e.title.clone(),
        status: e.status.clone(),
        created_at: e.created_at,
        updated_at: e.updated_at,
        expires_at: e.expires_at,
        parties: e
            .parties
            .iter()
            .map(|p| PartySummary {
                name: p.name.clone(),
                role: p.role.clone(),
                status: p.status.clone(),
                user_id: p.user_id.clone(),
            })
            .collect(),
    }
}

pub(crate) fn event(kind: &str, actor: &str, party: Option<&str>, detail: serde_json::Value) -> EnvelopeEvent {
    EnvelopeEvent {
        id: signet_store::new_id("eve"),
        at: now_millis(),
        kind: kind.into(),
        actor: actor.into(),
        party_id: party.map(str::to_string),
        detail: detail.to_string(),
    }
}

pub(crate) async fn save(
    state: &AppState,
    tenant: &str,
    e: &mut Envelope,
    revision: i64,
    events: &[EnvelopeEvent],
) -> Result<(), Error> {
    e.updated_at = now_millis();
    let write = stored_form(e);
    if state.store().save_envelope(tenant, &e.id, revision, &write, events).await? {
        if write.due_at.is_some() {
            SCHEDULE.notify_one();
        }
        Ok(())
    } else {
        Err(Error::Conflict {
            code: "envelope_changed",
            message: format!("envelope {} changed while this was done; load it again and retry", e.id),
        })
    }
}

// ---------------------------------------------------------------------------------------
// the workflow

/// The parties whose turn it is: the smallest order among those still to act.
pub(crate) fn turn(e: &Envelope) -> Vec<usize> {
    let pending = |p: &Party| p.role != "copy" && matches!(p.status.as_str(), "waiting" | "notified");
    let Some(order) = e.parties.iter().filter(|p| pending(p)).map(|p| p.order).min() else {
        return Vec::new();
    };
    e.parties.iter().enumerate().filter(|(_, p)| pending(p) && p.order == order).map(|(i, _)| i).collect()
}

pub(crate) fn is_closed(status: &str) -> bool {
    matches!(status, "completed" | "declined" | "voided" | "expired")
}

fn text(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn check_len(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.chars().count() > max || value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::bad("bad_request", format!("{what}: at most {max} characters, no control characters")));
    }
    Ok(())
}

/// [`check_len`] for what goes into e-mail headers and certificates: one line.
fn check_line(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::bad("bad_request", format!("{what}: one line of at most {max} characters")));
    }
    Ok(())
}

/// A plausible e-mail address (the mailer checks it fully when sending).
pub(crate) fn valid_email(m: &str) -> bool {
    let Some((local, domain)) = m.rsplit_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && m.len() <= 254
        && !m.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
}

/// The fields given for party `at` checked (kinds, a seal field only for a party that stamps a
/// seal and no signature field for it, rectangles at least 4 points, labels) and given ids.
pub(crate) fn party_fields(at: &str, stamps_seal: bool, given: Vec<NewField>) -> Result<Vec<Field>, Error> {
    if given.len() > MAX_FIELDS {
        return Err(Error::bad("bad_request", format!("{at}: at most {MAX_FIELDS} fields")));
    }
    let mut fields = Vec::with_capacity(given.len());
    for (j, f) in given.into_iter().enumerate() {
        let fat = format!("{at}, field {}", j + 1);
        match f.kind.as_str() {
            "seal" if !stamps_seal => {
                return Err(Error::bad("bad_request", format!("{fat}: a seal field needs the party's seal_id")));
            }
            "signature" if stamps_seal => {
                return Err(Error::bad(
                    "bad_request",
                    format!("{fat}: a party that stamps a seal has seal fields, not signature fields"),
                ));
            }
            "seal" | "signature" | "date" | "text" => {}
            k => {
                return Err(Error::bad(
                    "bad_request",
                    format!("{fat}: kind '{k}' is not seal, signature, date or text"),
                ));
            }
        }
        let [x1, y1, x2, y2] = f.rect;
        if f.rect.iter().any(|v| !v.is_finite()) || (x2 - x1).abs() < 4.0 || (y2 - y1).abs() < 4.0 || f.page < 1 {
            return Err(Error::bad(
                "bad_rect",
                format!("{fat}: page must be 1 or more and rect [x1,y1,x2,y2] at least 4 points wide and high"),
            ));
        }
        let rect = [x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)];
        if let Some(l) = &f.label {
            check_len(&format!("{fat}: label"), l, 100)?;
        }
        fields.push(Field {
            id: signet_store::new_id("fld"),
            kind: f.kind,
            page: f.page,
            rect,
            label: text(&f.label),
            value: None,
        });
    }
    Ok(fields)
}

/// A signer has a seal or signature field (exactly one signature field when it signs with
/// its own key); other parties have none.
pub(crate) fn fields_fit_role(at: &str, role: &str, own_key: bool, fields: &[Field]) -> Result<(), Error> {
    if role == "signer" && !fields.iter().any(|f| matches!(f.kind.as_str(), "seal" | "signature")) {
        return Err(Error::bad("bad_request", format!("{at}: a signer needs a seal or signature field")));
    }
    if role != "signer" && !fields.is_empty() {
        return Err(Error::bad("bad_request", format!("{at}: only signers have fields")));
    }
    if own_key && fields.iter().filter(|f| f.kind == "signature").count() != 1 {
        return Err(Error::bad(
            "bad_request",
            format!("{at}: a party with its own key has exactly one signature field"),
        ));
    }
    Ok(())
}

async fn build(state: &AppState, tenant: &str, caller: &Caller, req: CreateEnvelope) -> Result<Envelope, Error> {
    let title = req.title.trim().to_string();
    if title.is_empty() {
        return Err(Error::bad("bad_request", "give the envelope a title"));
    }
    check_line("title", &title, 200)?;
    let message = text(&req.message);
    if let Some(m) = &message {
        check_len("message", m, 2000)?;
    }
    if req.parties.is_empty() || req.parties.len() > MAX_PARTIES {
        return Err(Error::bad("bad_request", format!("an envelope has 1 to {MAX_PARTIES} parties")));
    }
    let doc = state.store().document(tenant, &req.document_id).await.map_err(|e| match e {
        signet_store::Error::NotFound(_) => Error::Missing(format!("no document {} in this tenant", req.document_id)),
        e => e.into(),
    })?;
    let line = state.store().version_line(tenant, &doc.id).await?.ok_or_else(|| {
        Error::bad(
            "not_versioned",
            format!("document {} is not an upload (POST /api/v1/documents) or its version", doc.id),
        )
    })?;
    if line.head_id != doc.id {
        return Err(Error::PreconditionFailed(format!(
            "document {} is version {} of {}; its latest version is {}: send that",
            doc.id, line.version, line.root_id, line.head_id
        )));
    }
    let now = now_millis();
    let expires_at = match (req.expires_at, req.expires_in_days) {
        (Some(_), Some(_)) => return Err(Error::bad("bad_request", "give expires_at or expires_in_days, not both")),
        (Some(t), None) if t <= now => return Err(Error::bad("bad_request", "expires_at is in the past")),
        (Some(t), None) => Some(t),
        (None, Some(d)) if !(1..=365).contains(&d) => {
            return Err(Error::bad("bad_request", "expires_in_days: 1 to 365"));
        }
        (None, Some(d)) => Some(now + d * 86_400_000),
        (None, None) => None,
    };
    if let Some(h) = req.reminder_interval_hours {
        if !(1..=720).contains(&h) {
            return Err(Error::bad("bad_request", "reminder_interval_hours: 1 to 720"));
        }
    }
    let mut parties = Vec::with_capacity(req.parties.len());
    for (i, p) in req.parties.into_iter().enumerate() {
        let at = format!("party {}", i + 1);
        let role = p.role.clone().unwrap_or_else(|| "signer".into());
        if !matches!(role.as_str(), "signer" | "approver" | "copy") {
            return Err(Error::bad("bad_request", format!("{at}: role '{role}' is not signer, approver or copy")));
        }
        let (kind, name, email) = match &p.user_id {
            Some(uid) => {
                let user = state.store().user(tenant, uid).await.map_err(|e| match e {
                    signet_store::Error::NotFound(_) => Error::Missing(format!("{at}: no user {uid} in this tenant")),
                    e => e.into(),
                })?;
                if user.status != "active" {
                    return Err(Error::bad("user_disabled", format!("{at}: user {uid} is {}", user.status)));
                }
                let name = text(&p.name).unwrap_or_else(|| user.display_name.clone());
                ("internal", name, text(&p.email).or(user.email.clone()))
            }
            None => {
                let email = text(&p.email).ok_or_else(|| {
                    Error::bad("bad_request", format!("{at}: an external party needs an email (or give a user_id)"))
                })?;
                let name = text(&p.name).ok_or_else(|| Error::bad("bad_request", format!("{at}: give a name")))?;
                ("external", name, Some(email))
            }
        };
        check_line(&format!("{at}: name"), &name, 200)?;
        if let Some(m) = &email {
            if !valid_email(m) {
                return Err(Error::bad("bad_email", format!("{at}: '{m}' is not an e-mail address")));
            }
        }
        if let Some(seal) = &p.seal_id {
            if kind != "internal" {
                return Err(Error::bad(
                    "bad_request",
                    format!("{at}: a seal is stamped by an internal user (give user_id) who is authorized to use it"),
                ));
            }
            let s = state.store().seal(tenant, seal).await.map_err(|e| match e {
                signet_store::Error::NotFound(_) => Error::Missing(format!("{at}: no seal {seal} in this tenant")),
                e => e.into(),
            })?;
            if s.status != "active" {
                return Err(Error::bad("seal_unusable", format!("{at}: seal '{}' is {}", s.name, s.status)));
            }
        }
        let fields = party_fields(&at, p.seal_id.is_some(), p.fields)?;
        fields_fit_role(&at, &role, false, &fields)?;
        let own_key = match &p.own_key {
            None => None,
            Some(k) => {
                if role != "signer" || p.seal_id.is_some() {
                    return Err(Error::bad(
                        "bad_request",
                        format!("{at}: own_key is for a signer that signs as a person, not with a seal"),
                    ));
                }
                fields_fit_role(&at, &role, true, &fields)?;
                Some(crate::deferred::own_key(k).map_err(|e| match e {
                    Error::BadRequest { code, message } => {
                        Error::BadRequest { code, message: format!("{at}: {message}") }
                    }
                    e => e,
                })?)
            }
        };
        parties.push(Party {
            id: signet_store::new_id("pty"),
            name,
            email,
            user_id: p.user_id,
            kind: kind.into(),
            role,
            order: p.order.unwrap_or(i as i64 + 1),
            seal_id: p.seal_id,
            status: "waiting".into(),
            notified_at: None,
            signed_at: None,
            decline_reason: None,
            fields,
            evidence: None,
            own_key,
        });
    }
    if !parties.iter().any(|p| p.role != "copy") {
        return Err(Error::bad("bad_request", "an envelope needs at least one signer or approver"));
    }
    if parties.iter().any(|p| p.role == "copy" && p.email.is_none()) {
        return Err(Error::bad("bad_request", "a copy party needs an e-mail address"));
    }
    Ok(Envelope {
        id: signet_store::new_id("env"),
        title,
        message,
        status: "draft".into(),
        document_id: doc.id.clone(),
        current_document_id: doc.id,
        final_document_id: None,
        certificate_document_id: None,
        certify: req.certify.unwrap_or(true),
        expires_at,
        reminder_interval_hours: req.reminder_interval_hours,
        next_reminder_at: None,
        created_by: caller.id.clone(),
        created_at: now,
        updated_at: now,
        sent_at: None,
        completed_at: None,
        void_reason: None,
        parties,
    })
}

/// Sends a draft: the fields go into the PDF as a new version, the first turn is invited.
pub(crate) async fn send_envelope(
    state: &AppState,
    tenant: &str,
    id: &str,
    actor: &Actor,
    caller: Option<&Caller>,
) -> Result<Envelope, Error> {
    let _guard = lock_envelope(id).await;
    let (mut e, revision) = load(state, tenant, id).await?;
    if let Some(caller) = caller {
        sender_only(caller, &e, "sends it")?;
    }
    if e.status != "draft" {
        return Err(Error::Conflict { code: "envelope_not_draft", message: format!("envelope {id} is {}", e.status) });
    }
    // another envelope holding the document refuses this one (409); the fields' version then
    // claims the line for this envelope as it moves its head (see `check_line_free`)
    if let Some(line) = state.store().version_line(tenant, &e.document_id).await? {
        check_line_free(state, tenant, &line).await?;
    }
    let base = crate::envelope_pdf::add_fields(state, tenant, &e).await?;
    e.current_document_id = base.id.clone();
    e.status = "sent".into();
    let now = now_millis();
    e.sent_at = Some(now);
    e.next_reminder_at = e.reminder_interval_hours.map(|h| now + h * 3_600_000);
    let mut events =
        vec![event("sent", &actor.id, None, serde_json::json!({ "document_id": base.id, "sha256": base.sha256 }))];
    events.extend(crate::envelope_mail::invite_turn(state, tenant, &mut e).await);
    save(state, tenant, &mut e, revision, &events).await?;
    audit(state, AuditEntry::new(tenant, actor, "envelope.send", "ok").target("envelope", id)).await;
    state.webhooks().emit(tenant, "envelope.sent", serde_json::to_value(summary_of(&e)).unwrap_or_default()).await;
    Ok(e)
}

/// Refuses a change to the document of `line` from outside an envelope (a version through
/// the versions API or the signing agent, another envelope sent) while an envelope holds the
/// line: 409 `document_in_envelope`. The parties sign what the envelope shows them; a version
/// from elsewhere would only make the envelope's next step fail.
///
/// Every version an envelope adds names it in the line, in the statement that moves the head
/// ([`signet_store::Store::add_version`]), starting with the fields' version at its sending.
/// The named envelope holds the line while it is `sent`, and while it is still a `draft`: it
/// is being sent (its fields are in, its status not yet saved), or its sending failed after
/// its fields went in (void it to free the document). An envelope that ended holds nothing,
/// so the name is never cleared. These checks come before the head moves, which is itself a
/// compare-and-set: whichever of two racing changes moves it first wins, the other gets 412.
pub(crate) async fn check_line_free(
    state: &AppState,
    tenant: &str,
    line: &signet_store::VersionLine,
) -> Result<(), Error> {
    let Some(id) = &line.envelope_id else { return Ok(()) };
    match state.store().envelope(tenant, id).await {
        Ok(e) if matches!(e.status.as_str(), "sent" | "draft") => Err(Error::Conflict {
            code: "document_in_envelope",
            message: format!(
                "document {} is in envelope {id}, which is {}: until it ends the document changes only through it \
                 (void it to change the document)",
                line.root_id,
                if e.status == "sent" { "in progress" } else { "being sent" }
            ),
        }),
        Ok(_) | Err(signet_store::Error::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Least time between two reminders asked for by hand.
const REMIND_PAUSE_MS: i64 = 600_000;

/// Refuses anyone but the envelope's creator or a tenant administrator.
pub(crate) fn sender_only(caller: &Caller, e: &Envelope, what: &str) -> Result<(), Error> {
    if e.created_by == caller.id || caller.roles.contains(&signet_store::Role::TenantAdmin) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("only the envelope's creator or a tenant administrator {what}")))
    }
}

/// Who acts on an envelope, and how they proved it.
#[derive(Clone, Debug)]
pub(crate) struct PartyActor {
    /// For the logs.
    pub(crate) actor: Actor,
    /// The person logged in, for an internal party (seal authorizations are theirs).
    pub(crate) caller: Option<Caller>,
    /// `email one-time code`, `console session`, …
    pub(crate) auth_method: String,
}

/// The party `party_id` of envelope `id` signs (or approves) with `req`. Returns the
/// envelope after it (completed when this was the last act).
pub(crate) async fn party_signs(
    state: &AppState,
    tenant: &str,
    id: &str,
    party_id: &str,
    who: &PartyActor,
    req: SignRequest,
) -> Result<Envelope, Error> {
    let _guard = lock_envelope(id).await;
    let (mut e, revision) = load(state, tenant, id).await?;
    let pi = acting_party(&e, party_id)?;
    if let Some(read) = &req.document_id {
        if *read != e.current_document_id {
            return Err(Error::PreconditionFailed(format!(
                "the document changed since you read it (version {read}; now {}): read it again before signing",
                e.current_document_id
            )));
        }
    }
    let party = e.parties[pi].clone();
    if party.role == "signer" && party.own_key.is_some() {
        return Err(Error::bad(
            "own_key_party",
            format!(
                "{} signs with their own key: prepare the signature (POST /api/v1/envelopes/{id}/parties/{party_id}/prepare), \
                 sign it with `signet sign-digest` and upload it (POST …/signature)",
                party.name
            ),
        ));
    }
    let now = now_millis();
    let mut events = Vec::new();
    if party.role == "approver" {
        e.parties[pi].status = "approved".into();
        e.parties[pi].signed_at = Some(now);
        e.parties[pi].evidence = Some(Evidence {
            ip: who.actor.ip.clone(),
            user_agent: who.actor.user_agent.clone(),
            auth_method: who.auth_method.clone(),
            ..Evidence::default()
        });
        events.push(event("approved", &who.actor.id, Some(party_id), serde_json::json!({})));
    } else {
        let signed = crate::envelope_pdf::sign_fields(state, tenant, &e, pi, who, &req).await?;
        events.push(party_signed(&mut e, pi, who, &signed, now));
    }
    let action = if party.role == "approver" { "envelope.approve" } else { "envelope.sign" };
    after_party_acted(state, tenant, &mut e, revision, party_id, who, action, events).await?;
    Ok(e)
}

/// Records in `e` that party `pi` signed as `signed` says (its field values, status,
/// evidence, the new current version): the history entry to save with it.
pub(crate) fn party_signed(
    e: &mut Envelope,
    pi: usize,
    who: &PartyActor,
    signed: &crate::envelope_pdf::SignedStep,
    now: i64,
) -> EnvelopeEvent {
    let p = &mut e.parties[pi];
    for f in p.fields.iter_mut() {
        if let Some(v) = signed.values.get(&f.id) {
            f.value = Some(v.clone());
        }
    }
    p.status = "signed".into();
    p.signed_at = Some(now);
    p.evidence = Some(Evidence {
        ip: who.actor.ip.clone(),
        user_agent: who.actor.user_agent.clone(),
        auth_method: who.auth_method.clone(),
        certificate_subject: signed.certificate_subject.clone(),
        certificate_serial: signed.certificate_serial.clone(),
        document_id: Some(signed.document.id.clone()),
        document_sha256: Some(signed.document.sha256.clone()),
        signature_kind: Some(signed.signature_kind.clone()),
    });
    let party_id = p.id.clone();
    e.current_document_id = signed.document.id.clone();
    event(
        "signed",
        &who.actor.id,
        Some(&party_id),
        serde_json::json!({
            "document_id": signed.document.id,
            "sha256": signed.document.sha256,
            "certificate_subject": signed.certificate_subject,
            "certificate_serial": signed.certificate_serial,
            "signature_kind": signed.signature_kind,
            "fields": signed.fields,
            "ip": who.actor.ip,
        }),
    )
}

/// What follows a party's act, however it signed: the signing log's entry, the next turn's
/// invitations or the completion, the envelope saved (from `revision`, with `events`), the
/// webhooks and the completion mails.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn after_party_acted(
    state: &AppState,
    tenant: &str,
    e: &mut Envelope,
    revision: i64,
    party_id: &str,
    who: &PartyActor,
    action: &str,
    mut events: Vec<EnvelopeEvent>,
) -> Result<(), Error> {
    let id = e.id.clone();
    audit(
        state,
        AuditEntry::new(tenant, &who.actor, action, "ok").target("envelope", &id).detail(serde_json::json!({
            "party": party_id,
            "document_id": e.current_document_id,
            "auth": who.auth_method,
        })),
    )
    .await;
    if turn(e).is_empty() {
        try_complete(state, tenant, e, &mut events).await;
    } else {
        events.extend(crate::envelope_mail::invite_turn(state, tenant, e).await);
    }
    save(state, tenant, e, revision, &events).await?;
    let kind = if e.status == "completed" { "envelope.completed" } else { "envelope.party_signed" };
    state.webhooks().emit(tenant, kind, serde_json::to_value(summary_of(e)).unwrap_or_default()).await;
    if e.status == "completed" {
        crate::envelope_mail::announce(state, tenant, e, "completed").await;
    }
    Ok(())
}

/// The index of `party_id` if it may act now.
pub(crate) fn acting_party(e: &Envelope, party_id: &str) -> Result<usize, Error> {
    if e.status != "sent" {
        return Err(Error::Conflict {
            code: "envelope_closed",
            message: format!("envelope {} is {}: nothing can be signed in it", e.id, e.status),
        });
    }
    if e.expires_at.is_some_and(|t| t <= now_millis()) {
        return Err(Error::Conflict {
            code: "envelope_closed",
            message: format!("envelope {} has expired: nothing can be signed in it", e.id),
        });
    }
    let pi = e
        .parties
        .iter()
        .position(|p| p.id == party_id)
        .ok_or_else(|| Error::Missing(format!("envelope {} has no party {party_id}", e.id)))?;
    if !turn(e).contains(&pi) {
        let p = &e.parties[pi];
        return Err(Error::Conflict {
            code: "not_your_turn",
            message: if matches!(p.status.as_str(), "signed" | "approved" | "declined") {
                format!("{} has already {}", p.name, p.status)
            } else if p.role == "copy" {
                format!("{} receives a copy and does not sign", p.name)
            } else {
                format!("it is not {}'s turn yet: parties with a smaller order act first", p.name)
            },
        });
    }
    Ok(pi)
}

/// The party declines: the envelope ends.
pub(crate) async fn party_declines(
    state: &AppState,
    tenant: &str,
    id: &str,
    party_id: &str,
    who: &PartyActor,
    reason: &str,
) -> Result<Envelope, Error> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::bad("bad_request", "say why you decline (reason)"));
    }
    check_len("reason", reason, 1000)?;
    let _guard = lock_envelope(id).await;
    let (mut e, revision) = load(state, tenant, id).await?;
    let pi = acting_party(&e, party_id)?;
    let now = now_millis();
    e.parties[pi].status = "declined".into();
    e.parties[pi].decline_reason = Some(reason.to_string());
    e.parties[pi].evidence = Some(Evidence {
        ip: who.actor.ip.clone(),
        user_agent: who.actor.user_agent.clone(),
        auth_method: who.auth_method.clone(),
        ..Evidence::default()
    });
    close(&mut e, "declined", now);
    let events = vec![event("declined", &who.actor.id, Some(party_id), serde_json::json!({ "reason": reason }))];
    save(state, tenant, &mut e, revision, &events).await?;
    audit(
        state,
        AuditEntry::new(tenant, &who.actor, "envelope.decline", "ok")
            .target("envelope", id)
            .detail(serde_json::json!({ "party": party_id, "reason": reason })),
    )
    .await;
    state.webhooks().emit(tenant, "envelope.declined", serde_json::to_value(summary_of(&e)).unwrap_or_default()).await;
    crate::envelope_mail::announce(state, tenant, &e, "declined").await;
    Ok(e)
}

fn close(e: &mut Envelope, status: &str, now: i64) {
    e.status = status.into();
    e.completed_at = Some(now);
    e.next_reminder_at = None;
    for p in e.parties.iter_mut() {
        if matches!(p.status.as_str(), "waiting" | "notified") && p.role != "copy" {
            p.status = "skipped".into();
        }
    }
}

/// How long after a failed completion (the TSA or a revocation source not answering) the
/// scheduler tries again.
const COMPLETION_RETRY_MS: i64 = 60_000;

/// Completes `e`, or, when that fails, leaves it signed by everyone and still `sent`, with a
/// history entry saying why and the scheduler due to try again: the parties' signatures are
/// kept whatever happens to the last step.
async fn try_complete(state: &AppState, tenant: &str, e: &mut Envelope, events: &mut Vec<EnvelopeEvent>) {
    let before = e.clone();
    let logged = events.len();
    if let Err(err) = complete(state, tenant, e, events).await {
        tracing::error!("envelope {}: completion failed, retried in a minute: {err}", before.id);
        *e = before;
        events.truncate(logged);
        e.next_reminder_at = Some(now_millis() + COMPLETION_RETRY_MS);
        events.push(event("completion_failed", "system", None, serde_json::json!({ "error": err.to_string() })));
    }
}

/// Completes `e`: B-LTA, the final version, the completion certificate.
async fn complete(
    state: &AppState,
    tenant: &str,
    e: &mut Envelope,
    events: &mut Vec<EnvelopeEvent>,
) -> Result<(), Error> {
    let now = now_millis();
    let last_signed = e.current_document_id.clone();
    let final_doc = crate::envelope_pdf::finish(state, tenant, e).await?;
    e.final_document_id = Some(final_doc.id.clone());
    e.current_document_id = final_doc.id.clone();
    close(e, "completed", now);
    events.push(event(
        "completed",
        "system",
        None,
        serde_json::json!({ "document_id": final_doc.id, "sha256": final_doc.sha256, "level": "B-LTA" }),
    ));
    audit(
        state,
        AuditEntry::new(tenant, &system_actor(), "envelope.complete", "ok")
            .target("envelope", &e.id)
            .detail(serde_json::json!({ "document_id": final_doc.id, "sha256": final_doc.sha256 })),
    )
    .await;
    let certificate = crate::envelope_pdf::completion_certificate(state, tenant, e, events, &final_doc).await?;
    // the final version last: a failure before leaves the line as it was, to try again
    crate::envelope_pdf::archive_final(state, tenant, e, &last_signed, &final_doc).await?;
    e.certificate_document_id = Some(certificate.id.clone());
    events.push(event(
        "certificate",
        "system",
        None,
        serde_json::json!({ "document_id": certificate.id, "sha256": certificate.sha256 }),
    ));
    Ok(())
}

pub(crate) fn system_actor() -> Actor {
    Actor { kind: "system".into(), id: "system".into(), ip: None, user_agent: None }
}

/// Expires envelopes past their expiry and reminds the parties whose turn it is, as they come
/// due; runs until the server stops.
pub async fn run_schedule(state: AppState) {
    loop {
        let now = now_millis();
        match state.store().due_envelopes(now, 100).await {
            Ok(due) => {
                for (tenant, id) in due {
                    if let Err(e) = scheduled(&state, &tenant, &id).await {
                        tracing::error!("envelope {id}: scheduled step failed: {e}");
                    }
                }
            }
            Err(e) => tracing::error!("looking for due envelopes: {e}"),
        }
        let next = state.store().next_envelope_due().await.ok().flatten();
        let wait = next.map_or(60_000, |t| (t - now_millis()).clamp(200, 60_000));
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(wait as u64)) => {}
            () = SCHEDULE.notified() => {}
        }
    }
}

async fn scheduled(state: &AppState, tenant: &str, id: &str) -> Result<(), Error> {
    let _guard = lock_envelope(id).await;
    let (mut e, revision) = load(state, tenant, id).await?;
    if e.status != "sent" {
        return Ok(());
    }
    let now = now_millis();
    let mut events = Vec::new();
    if e.expires_at.is_some_and(|t| t <= now) {
        close(&mut e, "expired", now);
        events.push(event("expired", "system", None, serde_json::json!({})));
        save(state, tenant, &mut e, revision, &events).await?;
        audit(state, AuditEntry::new(tenant, &system_actor(), "envelope.expire", "ok").target("envelope", id)).await;
        state
            .webhooks()
            .emit(tenant, "envelope.expired", serde_json::to_value(summary_of(&e)).unwrap_or_default())
            .await;
        crate::envelope_mail::announce(state, tenant, &e, "expired").await;
        return Ok(());
    }
    if e.next_reminder_at.is_some_and(|t| t <= now) && turn(&e).is_empty() {
        // everyone has signed but the completion failed: again
        try_complete(state, tenant, &mut e, &mut events).await;
        save(state, tenant, &mut e, revision, &events).await?;
        if e.status == "completed" {
            state
                .webhooks()
                .emit(tenant, "envelope.completed", serde_json::to_value(summary_of(&e)).unwrap_or_default())
                .await;
            crate::envelope_mail::announce(state, tenant, &e, "completed").await;
        }
        return Ok(());
    }
    if e.next_reminder_at.is_some_and(|t| t <= now) {
        events.extend(crate::envelope_mail::remind_turn(state, tenant, &mut e).await);
        e.next_reminder_at = e.reminder_interval_hours.map(|h| now + h * 3_600_000);
        save(state, tenant, &mut e, revision, &events).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// HTTP

pub(crate) fn tenant_for(caller: &Caller, p: Permission) -> Result<String, Error> {
    caller.may(p).map(str::to_string)
}

/// Create an envelope.
///
/// A draft unless `send` is true. Scope `sign-document`; roles signer, seal user, seal
/// administrator, tenant administrator.
#[utoipa::path(
    post,
    path = "/envelopes",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    request_body = CreateEnvelope,
    responses(
        (status = 201, description = "The envelope.", body = Envelope),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 412, response = crate::openapi::PreconditionFailed),
    )
)]
pub async fn create_envelope(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateEnvelope>,
) -> Result<(StatusCode, Json<Envelope>), Error> {
    let tenant = tenant_for(&caller, Permission::SendEnvelopes)?;
    let send = req.send.unwrap_or(false);
    let mut e = build(&state, &tenant, &caller, req).await?;
    if send {
        // refused before the draft is stored (a send refused later leaves the draft)
        if let Some(line) = state.store().version_line(&tenant, &e.document_id).await? {
            check_line_free(&state, &tenant, &line).await?;
        }
    }
    let events = [event("created", &caller.id, None, serde_json::json!({ "document_id": e.document_id }))];
    e.updated_at = now_millis();
    state.store().insert_envelope(&tenant, &e.id, &caller.id, &stored_form(&e), &events).await?;
    audit(&state, AuditEntry::new(&tenant, &caller.actor(), "envelope.create", "ok").target("envelope", &e.id)).await;
    if send {
        e = send_envelope(&state, &tenant, &e.id, &caller.actor(), None).await?;
    }
    Ok((StatusCode::CREATED, Json(e)))
}

/// List envelopes, newest first.
///
/// Scope `sign-document` or `manage`; every role of the tenant.
#[utoipa::path(
    get,
    path = "/envelopes",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"]), ("session" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of envelopes.", body = EnvelopeList),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_envelopes(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<EnvelopeList>, Error> {
    let tenant = tenant_for(&caller, Permission::ReadEnvelopes)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::bad("bad_request", "limit: 1 to 200"));
    }
    let search = text(&q.q);
    let rows = state
        .store()
        .list_envelopes(&tenant, q.status.as_deref(), search.as_deref(), q.before.as_deref(), limit + 1)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows.iter().take(limit as usize) {
        let summary: EnvelopeSummary = serde_json::from_str(&r.summary)
            .map_err(|e| Error::Internal { context: "reading an envelope list", source: Box::new(e) })?;
        items.push(summary);
    }
    let next = if rows.len() as i64 > limit { items.last().map(|s| s.id.clone()) } else { None };
    Ok(Json(EnvelopeList { items, next }))
}

/// Counts of envelopes by status.
///
/// Scope `sign-document` or `manage`; every role of the tenant.
#[utoipa::path(
    get,
    path = "/envelopes/counts",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"]), ("session" = [])),
    responses(
        (status = 200, description = "Status → count.", body = BTreeMap<String, i64>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn envelope_counts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BTreeMap<String, i64>>, Error> {
    let tenant = tenant_for(&caller, Permission::ReadEnvelopes)?;
    Ok(Json(state.store().count_envelopes(&tenant).await?.into_iter().collect()))
}

/// An envelope.
///
/// Scope `sign-document` or `manage`; every role of the tenant.
#[utoipa::path(
    get,
    path = "/envelopes/{id}",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`")),
    responses(
        (status = 200, description = "The envelope.", body = Envelope),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show_envelope(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Envelope>, Error> {
    let tenant = tenant_for(&caller, Permission::ReadEnvelopes)?;
    Ok(Json(load(&state, &tenant, &id).await?.0))
}

/// An envelope's history, oldest first.
///
/// Scope `sign-document` or `manage`; every role of the tenant.
#[utoipa::path(
    get,
    path = "/envelopes/{id}/history",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`")),
    responses(
        (status = 200, description = "The history.", body = Vec<HistoryEntry>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn envelope_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<HistoryEntry>>, Error> {
    let tenant = tenant_for(&caller, Permission::ReadEnvelopes)?;
    load(&state, &tenant, &id).await?;
    Ok(Json(history(&state, &tenant, &id).await?))
}

pub(crate) async fn history(state: &AppState, tenant: &str, id: &str) -> Result<Vec<HistoryEntry>, Error> {
    Ok(state
        .store()
        .envelope_history(tenant, id)
        .await?
        .into_iter()
        .map(|e| HistoryEntry {
            at: e.at,
            kind: e.kind,
            actor: e.actor,
            party_id: e.party_id,
            detail: serde_json::from_str(&e.detail).unwrap_or_default(),
        })
        .collect())
}

/// Send a draft envelope.
///
/// Its creator (a `sign-document` key or a person who may send envelopes) or a tenant
/// administrator.
#[utoipa::path(
    post,
    path = "/envelopes/{id}/send",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`")),
    responses(
        (status = 200, description = "The envelope, sent.", body = Envelope),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Envelope>, Error> {
    let tenant = tenant_for(&caller, Permission::SendEnvelopes)?;
    Ok(Json(send_envelope(&state, &tenant, &id, &caller.actor(), Some(&caller)).await?))
}

/// Void an envelope.
///
/// Its creator or a tenant administrator; scope `sign-document`.
#[utoipa::path(
    post,
    path = "/envelopes/{id}/void",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`")),
    request_body = Reason,
    responses(
        (status = 200, description = "The envelope, voided.", body = Envelope),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn void(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Reason>,
) -> Result<Json<Envelope>, Error> {
    let tenant = tenant_for(&caller, Permission::SendEnvelopes)?;
    let reason = req.reason.trim().to_string();
    if reason.is_empty() {
        return Err(Error::bad("bad_request", "say why the envelope is voided (reason)"));
    }
    check_len("reason", &reason, 1000)?;
    let _guard = lock_envelope(&id).await;
    let (mut e, revision) = load(&state, &tenant, &id).await?;
    sender_only(&caller, &e, "voids it")?;
    if is_closed(&e.status) {
        return Err(Error::Conflict { code: "envelope_closed", message: format!("envelope {id} is {}", e.status) });
    }
    let was_sent = e.status == "sent";
    close(&mut e, "voided", now_millis());
    e.void_reason = Some(reason.clone());
    save(
        &state,
        &tenant,
        &mut e,
        revision,
        &[event("voided", &caller.id, None, serde_json::json!({ "reason": reason }))],
    )
    .await?;
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), "envelope.void", "ok")
            .target("envelope", &id)
            .detail(serde_json::json!({ "reason": reason })),
    )
    .await;
    state.webhooks().emit(&tenant, "envelope.voided", serde_json::to_value(summary_of(&e)).unwrap_or_default()).await;
    if was_sent {
        crate::envelope_mail::announce(&state, &tenant, &e, "voided").await;
    }
    Ok(Json(e))
}

/// Remind the parties whose turn it is.
///
/// Its creator (a `sign-document` key or a person who may send envelopes) or a tenant
/// administrator; at most every 10 minutes.
#[utoipa::path(
    post,
    path = "/envelopes/{id}/remind",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`")),
    responses(
        (status = 200, description = "The envelope.", body = Envelope),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn remind(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Envelope>, Error> {
    let tenant = tenant_for(&caller, Permission::SendEnvelopes)?;
    let _guard = lock_envelope(&id).await;
    let (mut e, revision) = load(&state, &tenant, &id).await?;
    sender_only(&caller, &e, "reminds its parties")?;
    if e.status != "sent" {
        return Err(Error::Conflict { code: "envelope_closed", message: format!("envelope {id} is {}", e.status) });
    }
    let last = turn(&e).iter().filter_map(|&i| e.parties[i].notified_at).max().unwrap_or(0);
    if now_millis() - last < REMIND_PAUSE_MS {
        return Err(Error::TooManyRequests {
            message: "the parties were e-mailed less than 10 minutes ago".into(),
            retry_after: u64::try_from((last + REMIND_PAUSE_MS - now_millis()) / 1000 + 1).unwrap_or(600),
        });
    }
    let events = crate::envelope_mail::remind_turn(&state, &tenant, &mut e).await;
    save(&state, &tenant, &mut e, revision, &events).await?;
    Ok(Json(e))
}

/// An internal party signs.
///
/// The caller must be that party's user, logged in or with a single sign-on token (API keys are
/// refused: a party is a person). A company party's seal needs the user's authorization to use it.
#[utoipa::path(
    post,
    path = "/envelopes/{id}/parties/{party}/sign",
    tag = "envelopes",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "`env_…`"), ("party" = String, Path, description = "`pty_…`")),
    request_body = SignRequest,
    responses(
        (status = 200, description = "The envelope after the signature.", body = Envelope),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn sign_as_party(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, party)): Path<(String, String)>,
    ApiJson(req, ..): ApiJson<SignRequest, { 4 << 20 }>,
) -> Result<Json<Envelope>, Error> {
    let (tenant, who) = internal_party(&state, &caller, &id, &party).await?;
    Ok(Json(party_signs(&state, &tenant, &id, &party, &who, req).await?))
}

/// An internal party declines.
///
/// The caller must be that party's user, logged in or with a single sign-on token (API keys are
/// refused: a party is a person).
#[utoipa::path(
    post,
    path = "/envelopes/{id}/parties/{party}/decline",
    tag = "envelopes",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "`env_…`"), ("party" = String, Path, description = "`pty_…`")),
    request_body = Reason,
    responses(
        (status = 200, description = "The envelope, declined.", body = Envelope),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn decline_as_party(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, party)): Path<(String, String)>,
    ApiJson(req): ApiJson<Reason>,
) -> Result<Json<Envelope>, Error> {
    let (tenant, who) = internal_party(&state, &caller, &id, &party).await?;
    Ok(Json(party_declines(&state, &tenant, &id, &party, &who, &req.reason).await?))
}

async fn internal_party(
    state: &AppState,
    caller: &Caller,
    id: &str,
    party: &str,
) -> Result<(String, PartyActor), Error> {
    let tenant =
        caller.tenant_id.clone().ok_or_else(|| Error::Forbidden("a party signs as a user of its tenant".into()))?;
    let (e, _) = load(state, &tenant, id).await?;
    let p = e
        .parties
        .iter()
        .find(|p| p.id == party)
        .ok_or_else(|| Error::Missing(format!("envelope {id} has no party {party}")))?;
    if p.user_id.as_deref() != Some(caller.id.as_str()) {
        return Err(Error::Forbidden(format!("party {party} is signed by its own user, not by {}", caller.id)));
    }
    let auth_method = match caller.via {
        crate::auth::Via::Session => "console login (password and the tenant's MFA policy)",
        crate::auth::Via::Sso => "single sign-on token",
        _ => "API credentials",
    };
    Ok((tenant, PartyActor { actor: caller.actor(), caller: Some(caller.clone()), auth_method: auth_method.into() }))
}

/// The envelope's current PDF (the final one when completed).
///
/// Scope `sign-document` or `manage`; every role of the tenant.
#[utoipa::path(
    get,
    path = "/envelopes/{id}/document",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`")),
    responses(
        (status = 200, description = "The PDF.", content(("application/pdf"))),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn envelope_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let tenant = tenant_for(&caller, Permission::ReadEnvelopes)?;
    let (e, _) = load(&state, &tenant, &id).await?;
    stored_pdf(&state, &tenant, &e.current_document_id).await
}

/// The completion certificate (after completion).
///
/// Scope `sign-document` or `manage`; every role of the tenant.
#[utoipa::path(
    get,
    path = "/envelopes/{id}/certificate",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`")),
    responses(
        (status = 200, description = "The completion certificate.", content(("application/pdf"))),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn envelope_certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let tenant = tenant_for(&caller, Permission::ReadEnvelopes)?;
    let (e, _) = load(&state, &tenant, &id).await?;
    let doc = e
        .certificate_document_id
        .ok_or_else(|| Error::Missing(format!("envelope {id} is {}: no completion certificate", e.status)))?;
    stored_pdf(&state, &tenant, &doc).await
}

pub(crate) async fn stored_pdf(state: &AppState, tenant: &str, id: &str) -> Result<Response, Error> {
    let doc: DocumentRecord = state.store().document(tenant, id).await?;
    crate::agent::document_response(state, &doc, &[]).await
}

/// The document of `id` as a signing input.
pub(crate) async fn input_of(state: &AppState, tenant: &str, id: &str) -> Result<(DocumentRecord, Input), Error> {
    let doc = state.store().document(tenant, id).await?;
    let path = state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))?;
    let input = Input::load(path).await.map_err(Error::internal("reading a document"))?;
    Ok((doc, input))
}

/// Options for signing one field.
pub(crate) fn field_options(f: &Field, identity: &str, document_id: &str) -> SignOptions {
    let [x1, y1, x2, y2] = f.rect;
    SignOptions {
        identity: Some(identity.to_string()),
        document_id: Some(document_id.to_string()),
        field: Some(f.id.clone()),
        page: Some(f.page),
        rect: Some(format!("{x1},{y1},{x2},{y2}")),
        level: Some("b-t".into()),
        ..SignOptions::default()
    }
}
