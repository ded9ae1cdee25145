//! Contract envelopes: a document, its parties and their fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::operations::*;
use crate::{Client, Query, Result, Sink};

/// An envelope.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Envelope {
    /// `env_…`
    pub id: String,
    /// The title (shown in e-mails and lists).
    pub title: String,
    /// `draft`, `sent`, `completed`, `declined`, `voided`, `expired`.
    pub status: String,
    /// A message to the parties.
    pub message: Option<String>,
    /// The document as it was given.
    pub document_id: String,
    /// The latest version: the fields added, then each signature.
    pub current_document_id: String,
    /// Completed: the final version (PAdES B-LTA).
    pub final_document_id: Option<String>,
    /// Completed: the completion certificate (a PDF).
    pub certificate_document_id: Option<String>,
    /// The first signature certifies the document (DocMDP P=2).
    pub certify: bool,
    /// The parties, in the order given.
    pub parties: Vec<Party>,
    /// Who created it (a user or key id).
    pub created_by: String,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Last changed (Unix ms).
    pub updated_at: i64,
    /// Sent (Unix ms).
    pub sent_at: Option<i64>,
    /// Completed, declined, voided or expired (Unix ms).
    pub completed_at: Option<i64>,
    /// Past this time the envelope expires (Unix ms).
    pub expires_at: Option<i64>,
    /// Parties whose turn it is are reminded this often.
    pub reminder_interval_hours: Option<i64>,
    /// The next reminder (Unix ms).
    pub next_reminder_at: Option<i64>,
    /// Why it was voided.
    pub void_reason: Option<String>,
}

/// One party of an envelope.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Party {
    /// `pty_…`
    pub id: String,
    /// The person's (or organisation's representative's) name.
    pub name: String,
    /// `internal` or `external`.
    pub kind: String,
    /// `signer`, `approver` or `copy`.
    pub role: String,
    /// Smaller orders act first; equal orders act in parallel.
    pub order: i64,
    /// `waiting`, `notified`, `signed`, `approved`, `declined`, `skipped`.
    pub status: String,
    /// Where invitations go.
    pub email: Option<String>,
    /// An internal party: the tenant's user.
    pub user_id: Option<String>,
    /// The company seal this party stamps (internal parties).
    pub seal_id: Option<String>,
    /// What it must fill.
    pub fields: Vec<EnvelopeField>,
    /// When it was invited last.
    pub notified_at: Option<i64>,
    /// When it signed or approved.
    pub signed_at: Option<i64>,
    /// Why it declined.
    pub decline_reason: Option<String>,
    /// How it acted.
    pub evidence: Option<Evidence>,
    /// A signer with its own key (deferred signing): the certificate that binds it.
    pub own_key: Option<OwnKey>,
}

/// A party's own key: the certificate an own-key signature must verify under.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct OwnKey {
    /// The chain, leaf first, each certificate base64 DER.
    pub certificate_chain: Vec<String>,
    /// The leaf's subject.
    pub subject: String,
    /// The leaf's issuer.
    pub issuer: String,
    /// The leaf's serial number (hex).
    pub serial: String,
    /// The leaf is valid until (Unix ms).
    pub not_after: i64,
    /// `rsa-2048`, `ec-p256`…
    pub key_type: String,
}

/// A field placed for a party.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EnvelopeField {
    /// `fld_…`; also the PDF field's name.
    pub id: String,
    /// `seal`, `signature`, `date`, `text`.
    pub kind: String,
    /// 1-based page.
    pub page: i64,
    /// `[x1, y1, x2, y2]` in PDF points on the page as displayed.
    pub rect: Vec<f64>,
    /// A label shown to the party.
    pub label: Option<String>,
    /// The value filled in (text and date fields).
    pub value: Option<String>,
}

/// How a party acted: what the completion certificate reports.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Evidence {
    /// How the party was authenticated.
    pub auth_method: String,
    /// `drawn`, `typed`, `uploaded` or `seal`.
    pub signature_kind: Option<String>,
    /// The signing certificate's subject.
    pub certificate_subject: Option<String>,
    /// The signing certificate's serial number (hex).
    pub certificate_serial: Option<String>,
    /// The version its signature made.
    pub document_id: Option<String>,
    /// Its SHA-256.
    pub document_sha256: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

/// A new envelope.
///
/// ```
/// use signet_client::{CreateEnvelope, NewField, NewParty};
///
/// let envelope = CreateEnvelope {
///     send: Some(true),
///     expires_in_days: Some(14),
///     ..CreateEnvelope::new("Supply contract 2026-118", "doc_…", vec![
///         NewParty::external("Zhang San", "zhang@example.com", vec![NewField::new("signature", 1, [60.0, 80.0, 260.0, 150.0])]),
///     ])
/// };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateEnvelope {
    /// 1–200 characters.
    pub title: String,
    /// The document (`doc_…`, the latest version of its line).
    pub document_id: String,
    /// The parties (1–50).
    pub parties: Vec<NewParty>,
    /// A message to the parties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The first signature certifies (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certify: Option<bool>,
    /// Send at once (default false: a draft).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<bool>,
    /// Expiry (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Expiry in days from now (instead of `expires_at`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<i64>,
    /// Remind parties whose turn it is every this many hours (1–720).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminder_interval_hours: Option<i64>,
}

impl CreateEnvelope {
    /// An envelope of `document_id` for `parties`, a draft unless `send` says otherwise.
    pub fn new(title: impl Into<String>, document_id: impl Into<String>, parties: Vec<NewParty>) -> CreateEnvelope {
        CreateEnvelope { title: title.into(), document_id: document_id.into(), parties, ..Default::default() }
    }
}

/// A party of a new envelope: an internal user (`user_id`, and `seal_id` for a company
/// party) or a person outside (`email`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NewParty {
    /// Internal parties: the user (`usr_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The company seal an internal party stamps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_id: Option<String>,
    /// The name (an internal user's display name when empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// External parties: their e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `signer` (default), `approver`, `copy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Turn (default: the party's position).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// The fields.
    pub fields: Vec<NewField>,
    /// A signer that signs with its own key (deferred signing): its certificate chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_key: Option<NewOwnKey>,
}

/// The own key of a new party: exactly one signature field, signed through
/// [`Client::prepare_party_signature`] and [`Client::upload_party_signature`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NewOwnKey {
    /// The certificate chain, PEM, leaf first.
    pub certificate: String,
}

impl NewParty {
    /// A user of the tenant.
    pub fn internal(user_id: impl Into<String>, fields: Vec<NewField>) -> NewParty {
        NewParty { user_id: Some(user_id.into()), fields, ..Default::default() }
    }

    /// A person outside, reached by e-mail.
    pub fn external(name: impl Into<String>, email: impl Into<String>, fields: Vec<NewField>) -> NewParty {
        NewParty { name: Some(name.into()), email: Some(email.into()), fields, ..Default::default() }
    }
}

/// A field of a new party.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NewField {
    /// `seal`, `signature`, `date`, `text`.
    pub kind: String,
    /// 1-based page.
    pub page: i64,
    /// `[x1, y1, x2, y2]` in PDF points on the page as displayed.
    pub rect: [f64; 4],
    /// A label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl NewField {
    /// A field of `kind` at `rect` of `page`.
    pub fn new(kind: impl Into<String>, page: i64, rect: [f64; 4]) -> NewField {
        NewField { kind: kind.into(), page, rect, label: None }
    }
}

/// Which envelopes a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvelopeQuery {
    /// Only those in this status.
    pub status: Option<String>,
    /// A search in titles and parties.
    pub q: Option<String>,
    /// Those before this one (an [`EnvelopeList::next`]).
    pub before: Option<String>,
    /// At most this many.
    pub limit: Option<i64>,
}

/// A page of envelopes.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EnvelopeList {
    /// Newest first.
    pub items: Vec<EnvelopeSummary>,
    /// Give as `before` for the next page; `None` at the end.
    pub next: Option<String>,
}

/// One line of a list.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EnvelopeSummary {
    /// `env_…`
    pub id: String,
    /// The title.
    pub title: String,
    /// The status.
    pub status: String,
    /// The parties.
    pub parties: Vec<PartySummary>,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Last changed (Unix ms).
    pub updated_at: i64,
    /// Expiry (Unix ms).
    pub expires_at: Option<i64>,
}

/// A party in a list line.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PartySummary {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Status.
    pub status: String,
    /// The internal user.
    pub user_id: Option<String>,
}

/// One entry of an envelope's history.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// When (Unix ms).
    pub at: i64,
    /// What: `created`, `sent`, `signed`, `voided`, …
    pub kind: String,
    /// Who.
    pub actor: String,
    /// The party concerned.
    pub party_id: Option<String>,
    /// Particulars.
    pub detail: serde_json::Value,
}

/// What an internal party sends to sign (as a user: a session or the user's JWT).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PartySigning {
    /// The version the party read (`doc_…`): refused with 412 when another signature has
    /// replaced it since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// The signature image (people; a seal party stamps its seal's image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureImage>,
    /// Text field values by field id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// An approved seal-use request, when the seal's grant asks for one per use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_request: Option<String>,
}

/// An adopted signature image.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SignatureImage {
    /// `drawn`, `typed` or `uploaded`.
    pub kind: String,
    /// A PNG or JPEG as a `data:` URL (at most 2 MB).
    pub image: String,
}

/// What a party prepares for its own key to sign.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PrepareSignature {
    /// The version the party read (`doc_…`): refused with 412 when another signature has
    /// replaced it since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// Text field values by field id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// `sha256` (default), `sha384` or `sha512`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_algorithm: Option<String>,
}

/// A prepared signature: what the party's own key signs (save it whole for `signet
/// sign-digest --input`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Preparation {
    /// `prp_…`.
    pub preparation_id: String,
    /// `env_…`.
    pub envelope_id: String,
    /// `pty_…`.
    pub party_id: String,
    /// The signature field.
    pub field_id: String,
    /// The version it was made from.
    pub document_id: String,
    /// `pending`, `expired` or `used`.
    pub status: String,
    /// `sha256`, `sha384` or `sha512`.
    pub digest_algorithm: String,
    /// The digest of the signature's byte range (base64).
    pub document_digest: String,
    /// Base64 of the DER signed attributes to sign.
    pub signed_attributes: String,
    /// Base64 of their digest.
    pub to_be_signed: String,
    /// The party's certificate (base64 DER).
    pub certificate: String,
    /// Its issuers (base64 DER).
    pub chain: Vec<String>,
    /// Its key type.
    pub key_type: String,
    /// Made (Unix ms).
    pub created_at: i64,
    /// Refused after this time (Unix ms).
    pub expires_at: i64,
    /// Where the signature goes.
    pub upload_path: String,
    /// The `signet sign-digest` command line, with placeholders.
    pub command: String,
    /// Used: the version its signature made.
    pub result_document_id: Option<String>,
}

/// A party's signature over a preparation: the raw signature value or a CMS, base64.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SignatureUpload {
    /// The preparation signed.
    pub preparation_id: String,
    /// The raw signature over the signed attributes, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Instead: a DER CMS `SignedData`, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cms: Option<String>,
}

#[derive(Serialize)]
struct Reason<'a> {
    reason: &'a str,
}

/// Envelopes.
impl Client {
    /// `POST /api/v1/envelopes`.
    pub fn create_envelope(&self, envelope: &CreateEnvelope) -> Result<Envelope> {
        self.call(CREATE_ENVELOPE, &[]).json(envelope)
    }

    /// `GET /api/v1/envelopes`: a page, newest first.
    pub fn list_envelopes(&self, query: &EnvelopeQuery) -> Result<EnvelopeList> {
        let mut q = Query::default();
        q.opt("status", query.status.as_deref())
            .opt("q", query.q.as_deref())
            .opt("before", query.before.as_deref())
            .opt("limit", query.limit);
        self.call(LIST_ENVELOPES, &[]).query(&q).answer()
    }

    /// `GET /api/v1/envelopes/counts`: how many envelopes are in each status.
    pub fn envelope_counts(&self) -> Result<BTreeMap<String, i64>> {
        self.call(ENVELOPE_COUNTS, &[]).answer()
    }

    /// `GET /api/v1/envelopes/{id}`.
    pub fn show_envelope(&self, id: &str) -> Result<Envelope> {
        self.call(SHOW_ENVELOPE, &[id]).answer()
    }

    /// `GET /api/v1/envelopes/{id}/history`: oldest first.
    pub fn envelope_history(&self, id: &str) -> Result<Vec<HistoryEntry>> {
        self.call(ENVELOPE_HISTORY, &[id]).answer()
    }

    /// `POST /api/v1/envelopes/{id}/send`: sends a draft (the fields go into the PDF, the
    /// first parties are invited).
    pub fn send_envelope(&self, id: &str) -> Result<Envelope> {
        self.call(SEND_ENVELOPE, &[id]).answer()
    }

    /// `POST /api/v1/envelopes/{id}/void`.
    pub fn void_envelope(&self, id: &str, reason: &str) -> Result<Envelope> {
        self.call(VOID_ENVELOPE, &[id]).json(&Reason { reason })
    }

    /// `POST /api/v1/envelopes/{id}/parties/{party}/embed`: a single-use link that opens the
    /// party's signing view inside a page of `parent_origin` (one of the tenant's
    /// `embed_origins`), valid `lifetime_seconds` (server default 300). Frame
    /// [`EmbedLink::url`] with `/assets/embed.js`.
    pub fn embed_party(
        &self,
        id: &str,
        party: &str,
        parent_origin: &str,
        lifetime_seconds: Option<u64>,
    ) -> Result<EmbedLink> {
        self.call(EMBED_PARTY, &[id, party]).json(&EmbedBody { parent_origin, lifetime_seconds })
    }

    /// `POST /api/v1/envelopes/{id}/embed`: a single-use link that opens the draft's
    /// preparation view (its pages and the parties' fields, to place and send) inside a page
    /// of `parent_origin`, valid `lifetime_seconds` (server default 300).
    pub fn embed_preparation(&self, id: &str, parent_origin: &str, lifetime_seconds: Option<u64>) -> Result<EmbedLink> {
        self.call(EMBED_PREPARATION, &[id]).json(&EmbedBody { parent_origin, lifetime_seconds })
    }

    /// `POST /api/v1/envelopes/{id}/remind`: mails the parties whose turn it is again.
    pub fn remind_envelope(&self, id: &str) -> Result<Envelope> {
        self.call(REMIND_ENVELOPE, &[id]).answer()
    }

    /// `GET /api/v1/envelopes/{id}/document`: the current PDF (the final one when
    /// completed) into `sink`.
    pub fn envelope_document<'a>(&self, id: &str, sink: impl Into<Sink<'a>>) -> Result<u64> {
        self.call(ENVELOPE_DOCUMENT, &[id]).download(sink.into())
    }

    /// `GET /api/v1/envelopes/{id}/certificate`: the completion certificate (a PDF) into
    /// `sink`, once completed.
    pub fn envelope_certificate<'a>(&self, id: &str, sink: impl Into<Sink<'a>>) -> Result<u64> {
        self.call(ENVELOPE_CERTIFICATE, &[id]).download(sink.into())
    }

    /// `POST /api/v1/envelopes/{id}/parties/{party}/sign`: the caller, an internal party,
    /// signs (or approves).
    pub fn sign_as_party(&self, id: &str, party_id: &str, signing: &PartySigning) -> Result<Envelope> {
        self.call(SIGN_AS_PARTY, &[id, party_id]).json(signing)
    }

    /// `POST /api/v1/envelopes/{id}/parties/{party}/decline`: the caller, an internal
    /// party, declines; the envelope ends.
    pub fn decline_as_party(&self, id: &str, party_id: &str, reason: &str) -> Result<Envelope> {
        self.call(DECLINE_AS_PARTY, &[id, party_id]).json(&Reason { reason })
    }

    /// `POST /api/v1/envelopes/{id}/parties/{party}/prepare`: prepares the signature of a
    /// party with its own key (as its user, or as the envelope's sender).
    pub fn prepare_party_signature(&self, id: &str, party_id: &str, prepare: &PrepareSignature) -> Result<Preparation> {
        self.call(PREPARE_PARTY_SIGNATURE, &[id, party_id]).json(prepare)
    }

    /// `POST /api/v1/envelopes/{id}/parties/{party}/signature`: the party's own-key
    /// signature over a preparation; the envelope after it.
    pub fn upload_party_signature(&self, id: &str, party_id: &str, upload: &SignatureUpload) -> Result<Envelope> {
        self.call(UPLOAD_PARTY_SIGNATURE, &[id, party_id]).json(upload)
    }

    /// `GET /api/v1/envelopes/{id}/parties/{party}/preparations/{preparation}`: whether a
    /// preparation is pending, expired or used.
    pub fn party_preparation(&self, id: &str, party_id: &str, preparation_id: &str) -> Result<Preparation> {
        self.call(PARTY_PREPARATION, &[id, party_id, preparation_id]).answer()
    }
}

/// `POST …/embed`'s body.
#[derive(Serialize)]
struct EmbedBody<'a> {
    parent_origin: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lifetime_seconds: Option<u64>,
}

/// A link that opens a party's signing view inside another site's page.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EmbedLink {
    /// What the parent page frames (`…/embed/sign/{token}`).
    pub url: String,
    /// The token alone.
    pub token: String,
    /// The origin allowed to frame it and to receive its events.
    pub parent_origin: String,
    /// The link can be opened until then (Unix milliseconds).
    pub expires_at: i64,
}
