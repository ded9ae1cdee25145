//! The signer page's API: a person invited by e-mail opens `/sign/{token}`, confirms with a
//! one-time code mailed to the same address, reads the document and signs or declines.
//!
//! The link's token opens a signer session (cookie `signet_signer`: HttpOnly, Secure,
//! SameSite=Strict, one hour) bound to one party of one envelope; every request that changes
//! something repeats the session's CSRF token in `X-CSRF-Token`. An external party reaches
//! stage `ready` only with the code (six digits, ten minutes, five wrong tries, a new one at
//! most every 30 s). An internal party signs in the console, with its own login and MFA; its
//! link says where.

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use signet_store::{Actor, AuditEntry, SignerSession, now_millis, sha256_hex};

use crate::audit::record as audit;
use crate::auth::{cookie, origin};
use crate::envelopes::{self, Envelope, Field, Party, PartyActor, Reason, SignRequest, event};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// The signer session's cookie.
pub const SIGNER_COOKIE: &str = "signet_signer";
pub(crate) const SESSION_LIFE_MS: i64 = 3_600_000;
const CODE_LIFE_MS: i64 = 600_000;
const CODE_RESEND_MS: i64 = 30_000;
const CODE_TRIES: i64 = 5;
/// Most signer sessions (and so codes mailed) per party and hour.
const SESSIONS_PER_HOUR: i64 = 10;
/// How long after its envelope ended (completed, declined, voided, expired) an e-mailed link
/// still opens the signer page: to download the signed document or see how it ended. After
/// that the sender gives the document out.
pub(crate) const LINK_DAYS_AFTER_END: i64 = 30;
/// Most pages a signer's view lists.
const MAX_PAGES: usize = 2000;

/// Opens a session from a link.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSession {
    /// The token of the link (`/sign/{token}`).
    pub token: String,
}

/// A code typed by the signer.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeEntry {
    /// The six digits of the e-mail.
    pub code: String,
}

/// Where the signer stands.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SignerStage {
    /// `code` (enter the e-mailed code), `login` (an internal party: sign in the console),
    /// `ready` (read and sign), `done` (acted, or the envelope ended).
    pub stage: String,
    /// Repeat in `X-CSRF-Token`.
    pub csrf_token: String,
    /// The address the code went to, partly hidden.
    pub email_hint: Option<String>,
    /// Internal parties: where to sign.
    pub console_url: Option<String>,
    /// The envelope.
    pub envelope: EnvelopeBrief,
    /// The party.
    pub party: PartyBrief,
}

/// What a signer sees of the envelope.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EnvelopeBrief {
    /// `env_…`.
    pub id: String,
    /// Title.
    pub title: String,
    /// The sender's message.
    pub message: Option<String>,
    /// Status.
    pub status: String,
}

/// What a signer sees of their party.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PartyBrief {
    /// `pty_…`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Status.
    pub status: String,
    /// Their fields.
    pub fields: Vec<Field>,
}

/// The signer's view of the document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SignerView {
    /// The envelope.
    pub envelope: EnvelopeBrief,
    /// The party.
    pub party: PartyBrief,
    /// The document to read.
    pub document: DocumentBrief,
}

/// The current document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentBrief {
    /// `doc_…`.
    pub id: String,
    /// SHA-256.
    pub sha256: String,
    /// Each page's size as displayed, in points.
    pub pages: Vec<PageSize>,
}

/// A page's size.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PageSize {
    /// Points.
    pub width: f64,
    /// Points.
    pub height: f64,
}

/// After signing or declining.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SignerOutcome {
    /// `signed`, `approved` or `declined`.
    pub status: String,
    /// The envelope's status after it.
    pub envelope_status: String,
}

/// The page image's query.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Resolution, 18–300 (default 96).
    #[serde(default)]
    pub dpi: Option<f32>,
}

/// The signer session of a request.
pub struct Signer {
    session: SignerSession,
    actor: Actor,
}

impl FromRequestParts<AppState> for Signer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // an embedded view (in another site's frame, where cookies may be withheld) sends its
        // session in a header instead
        let header = parts.headers.get(crate::embed::SESSION_HEADER).and_then(|v| v.to_str().ok());
        let value = header
            .or_else(|| cookie(parts, SIGNER_COOKIE))
            .ok_or_else(|| Error::Unauthenticated("open the link from your e-mail first".into()))?;
        let session = state
            .store()
            .signer_session(&sha256_hex(value.as_bytes()), now_millis())
            .await?
            // the same table holds unused embed tokens and preparation views' sessions: not
            // signer sessions
            .filter(|s| matches!(s.stage.as_str(), "code" | "login" | "ready"))
            .ok_or_else(|| Error::Unauthenticated("this signing session has ended: open the link again".into()))?;
        crate::auth::csrf_checked(parts, &session.csrf, "the signing session's CSRF token (given when it opened)")?;
        let (ip, user_agent) = origin(parts);
        let actor = Actor { kind: "signer".into(), id: session.party_id.clone(), ip, user_agent };
        Ok(Signer { session, actor })
    }
}

pub(crate) fn brief(e: &Envelope, p: &Party) -> (EnvelopeBrief, PartyBrief) {
    (
        EnvelopeBrief {
            id: e.id.clone(),
            title: e.title.clone(),
            message: e.message.clone(),
            status: e.status.clone(),
        },
        PartyBrief {
            id: p.id.clone(),
            name: p.name.clone(),
            role: p.role.clone(),
            status: p.status.clone(),
            fields: p.fields.clone(),
        },
    )
}

pub(crate) fn party<'a>(e: &'a Envelope, id: &str) -> Result<&'a Party, Error> {
    e.parties.iter().find(|p| p.id == id).ok_or_else(|| Error::Missing("this link's party is gone".into()))
}

fn email_hint(m: &str) -> String {
    match m.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// After the code (or for an internal party): `ready` when the party may act now, else `done`.
fn settled_stage(e: &Envelope, p: &Party) -> &'static str {
    if e.status == "sent" && matches!(p.status.as_str(), "waiting" | "notified") && p.role != "copy" {
        "ready"
    } else {
        "done"
    }
}

pub(crate) fn stage_view(state: &AppState, s: &SignerSession, e: &Envelope, p: &Party) -> SignerStage {
    let (envelope, party) = brief(e, p);
    let stage = if s.stage == "ready" { settled_stage(e, p).to_string() } else { s.stage.clone() };
    let base = state.authority().public_urls().map(|u| u.base().trim_end_matches('/').to_string()).unwrap_or_default();
    SignerStage {
        stage,
        csrf_token: s.csrf.clone(),
        email_hint: p.email.as_deref().map(email_hint),
        console_url: (p.kind == "internal").then(|| format!("{base}/console/#/envelopes/{}", e.id)),
        envelope,
        party,
    }
}

fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

fn code_hash(session: &str, code: &str) -> String {
    sha256_hex(format!("{session}\n{code}").as_bytes())
}

/// Open a signing session from an invitation link.
///
/// External parties are mailed a one-time code (stage `code`); internal parties sign in the
/// console (stage `login`, with `console_url`). A link opens the page until 30 days after its
/// envelope ended (then 404, "this signing link has expired").
#[utoipa::path(
    post,
    path = "/signer/session",
    tag = "signer",
    request_body = OpenSession,
    responses(
        (status = 200, description = "The session (cookie `signet_signer`).", body = SignerStage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn open_session(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(req): ApiJson<OpenSession>,
) -> Result<Response, Error> {
    let (ip, user_agent) = origin(&parts);
    let link =
        state.store().envelope_link(&sha256_hex(req.token.trim().as_bytes())).await?.ok_or_else(|| {
            Error::Missing("this signing link is not valid: use the latest link you were sent".into())
        })?;
    let (e, _) = envelopes::load(&state, &link.tenant_id, &link.envelope_id).await?;
    let p = party(&e, &link.party_id)?;
    let now = now_millis();
    if let Some(why) = link_expired(&e, now) {
        return Err(Error::Missing(why));
    }
    // each opening mails a code: a bounded number per party and hour
    if state.store().signer_sessions_since(&p.id, now - 3_600_000).await? >= SESSIONS_PER_HOUR {
        return Err(Error::TooManyRequests {
            message: "this link was opened too often in the last hour: try again later".into(),
            retry_after: 600,
        });
    }
    let secret = signet_store::random_base32(20);
    let id_hash = sha256_hex(secret.as_bytes());
    let stage = if p.kind == "internal" { "login" } else { "code" };
    let mut session = SignerSession {
        ip: ip.clone(),
        user_agent: user_agent.clone(),
        ..SignerSession::new(id_hash.clone(), &link.tenant_id, &e.id, &p.id, stage, now, now + SESSION_LIFE_MS)
    };
    let mut events = vec![event("viewed", &p.id, Some(&p.id), serde_json::json!({ "ip": ip }))];
    if session.stage == "code" {
        let code = new_code();
        session.code_hash = Some(code_hash(&id_hash, &code));
        session.code_expires_at = Some(now + CODE_LIFE_MS);
        session.code_sent_at = Some(now);
        crate::envelope_mail::send_code(&state, &e, p, &code).await?;
        events.push(event(
            "code_sent",
            "system",
            Some(&p.id),
            serde_json::json!({ "to": p.email.as_deref().map(email_hint) }),
        ));
    }
    state.store().put_signer_session(&session).await?;
    record_events(&state, &link.tenant_id, &e.id, events).await;
    let view = stage_view(&state, &session, &e, p);
    Ok(with_cookie(Json(view).into_response(), &secret))
}

/// Why a link of `e` no longer opens the signer page at `now`, if it does not:
/// [`LINK_DAYS_AFTER_END`] days after the envelope ended.
fn link_expired(e: &Envelope, now: i64) -> Option<String> {
    let ended = e.completed_at.filter(|_| envelopes::is_closed(&e.status))?;
    (now - ended > LINK_DAYS_AFTER_END * 86_400_000).then(|| {
        format!(
            "this signing link has expired: the envelope was {} more than {LINK_DAYS_AFTER_END} days ago; ask its \
             sender for the document",
            e.status
        )
    })
}

/// `response` setting the signer session's cookie to `secret`.
fn with_cookie(mut response: Response, secret: &str) -> Response {
    let cookie = format!(
        "{SIGNER_COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_LIFE_MS / 1000
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// History entries that change nothing else (a link opened, a code sent or confirmed).
pub(crate) async fn record_events(state: &AppState, tenant: &str, id: &str, events: Vec<signet_store::EnvelopeEvent>) {
    if let Err(err) = state.store().append_envelope_events(tenant, id, &events).await {
        tracing::warn!("envelope {id}: recording history: {err}");
    }
}

/// Confirm the e-mailed code.
#[utoipa::path(
    post,
    path = "/signer/code",
    tag = "signer",
    security(("signer" = [])),
    request_body = CodeEntry,
    responses(
        (status = 200, description = "The session's new stage.", body = SignerStage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn confirm_code(
    State(state): State<AppState>,
    signer: Signer,
    ApiJson(req): ApiJson<CodeEntry>,
) -> Result<Response, Error> {
    let mut s = signer.session;
    let (e, _) = envelopes::load(&state, &s.tenant_id, &s.envelope_id).await?;
    let p = party(&e, &s.party_id)?.clone();
    if s.stage != "code" {
        return Ok(Json(stage_view(&state, &s, &e, &p)).into_response());
    }
    let now = now_millis();
    let Some(expected) = s.code_hash.clone() else {
        return Err(Error::bad("no_code", "ask for a new code"));
    };
    if s.code_expires_at.is_none_or(|t| t <= now) {
        return Err(Error::bad("code_expired", "the code has expired: ask for a new one"));
    }
    // a try is taken before the code is compared, atomically: parallel guesses cannot exceed
    // the tries
    if !state.store().take_code_try(&s.id_hash, CODE_TRIES, now).await? {
        return Err(Error::bad(
            "too_many_tries",
            "too many wrong codes: open the link from your e-mail again for a new code",
        ));
    }
    let given = req.code.trim();
    let ok = given.len() == 6
        && given.bytes().all(|b| b.is_ascii_digit())
        && crate::util::constant_time_eq(code_hash(&s.id_hash, given).as_bytes(), expected.as_bytes());
    if !ok {
        let left = (CODE_TRIES - s.code_failures - 1).max(0);
        audit(
            &state,
            AuditEntry::new(&s.tenant_id, &signer.actor, "envelope.code", "refused").target("envelope", &e.id),
        )
        .await;
        return Err(Error::bad(
            "wrong_code",
            if left > 0 {
                format!("that is not the code: {left} tries left")
            } else {
                "that is not the code, and no tries are left: ask for a new one".to_string()
            },
        ));
    }
    // a new session id once the person is known: a cookie planted before does not carry over
    let old = s.id_hash.clone();
    let secret = signet_store::random_base32(20);
    s.id_hash = sha256_hex(secret.as_bytes());
    s.stage = "ready".into();
    s.code_hash = None;
    state.store().put_signer_session(&s).await?;
    state.store().delete_signer_session(&old).await?;
    record_events(
        &state,
        &s.tenant_id,
        &e.id,
        vec![event(
            "identity_confirmed",
            &p.id,
            Some(&p.id),
            serde_json::json!({ "by": "email one-time code", "ip": signer.actor.ip }),
        )],
    )
    .await;
    audit(&state, AuditEntry::new(&s.tenant_id, &signer.actor, "envelope.code", "ok").target("envelope", &e.id)).await;
    Ok(with_cookie(Json(stage_view(&state, &s, &e, &p)).into_response(), &secret))
}

/// Mail a new code.
#[utoipa::path(
    post,
    path = "/signer/code/resend",
    tag = "signer",
    security(("signer" = [])),
    responses(
        (status = 200, description = "A new code was sent.", body = SignerStage),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn resend_code(State(state): State<AppState>, signer: Signer) -> Result<Json<SignerStage>, Error> {
    let mut s = signer.session;
    let (e, _) = envelopes::load(&state, &s.tenant_id, &s.envelope_id).await?;
    let p = party(&e, &s.party_id)?.clone();
    if s.stage != "code" {
        return Ok(Json(stage_view(&state, &s, &e, &p)));
    }
    let now = now_millis();
    if let Some(sent) = s.code_sent_at {
        let wait = sent + CODE_RESEND_MS - now;
        if wait > 0 {
            let secs = (wait + 999) / 1000;
            return Err(Error::TooManyRequests {
                message: format!("a code was sent moments ago: wait {secs} s for another"),
                retry_after: u64::try_from(secs).unwrap_or(30),
            });
        }
    }
    let code = new_code();
    s.code_hash = Some(code_hash(&s.id_hash, &code));
    s.code_expires_at = Some(now + CODE_LIFE_MS);
    s.code_sent_at = Some(now);
    // the tries are the session's, whatever the number of codes
    crate::envelope_mail::send_code(&state, &e, &p, &code).await?;
    state.store().put_signer_session(&s).await?;
    Ok(Json(stage_view(&state, &s, &e, &p)))
}

async fn ready(state: &AppState, signer: &Signer) -> Result<(Envelope, Party), Error> {
    let s = &signer.session;
    if s.stage != "ready" {
        return Err(Error::Forbidden(match s.stage.as_str() {
            "code" => "confirm the code from your e-mail first".into(),
            _ => "sign in the console with your own login".into(),
        }));
    }
    let (e, _) = envelopes::load(state, &s.tenant_id, &s.envelope_id).await?;
    let p = party(&e, &s.party_id)?.clone();
    Ok((e, p))
}

/// The envelope, the party's fields and the document's pages.
#[utoipa::path(
    get,
    path = "/signer/envelope",
    tag = "signer",
    security(("signer" = [])),
    responses(
        (status = 200, description = "What the signer reads.", body = SignerView),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn signer_view(State(state): State<AppState>, signer: Signer) -> Result<Json<SignerView>, Error> {
    let (e, p) = ready(&state, &signer).await?;
    let doc = state.store().document(&signer.session.tenant_id, &e.current_document_id).await?;
    let path = state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))?;
    let pages = crate::util::blocking(move || -> Result<Vec<PageSize>, Error> {
        let (pages, _) = signet_preview::pages_geometry(&path, MAX_PAGES).map_err(crate::preview::preview_error)?;
        Ok(pages.iter().map(|g| PageSize { width: g.width, height: g.height }).collect())
    })
    .await??;
    let (envelope, party) = brief(&e, &p);
    Ok(Json(SignerView { envelope, party, document: DocumentBrief { id: doc.id, sha256: doc.sha256, pages } }))
}

/// A page of the current document as a PNG.
#[utoipa::path(
    get,
    path = "/signer/pages/{n}/image",
    tag = "signer",
    security(("signer" = [])),
    params(("n" = usize, Path, description = "1-based page"), PageQuery),
    responses(
        (status = 200, description = "The page.", content(("image/png"))),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn signer_page(
    State(state): State<AppState>,
    signer: Signer,
    Path(n): Path<usize>,
    Query(q): Query<PageQuery>,
) -> Result<Response, Error> {
    let (e, _) = ready(&state, &signer).await?;
    let doc = state.store().document(&signer.session.tenant_id, &e.current_document_id).await?;
    let path = state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))?;
    crate::preview::page_png(&state, path, n, q.dpi.unwrap_or(96.0).min(300.0)).await
}

/// The current PDF (the final one when completed).
#[utoipa::path(
    get,
    path = "/signer/document",
    tag = "signer",
    security(("signer" = [])),
    responses(
        (status = 200, description = "The PDF.", content(("application/pdf"))),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn signer_document(State(state): State<AppState>, signer: Signer) -> Result<Response, Error> {
    let (e, _) = ready(&state, &signer).await?;
    envelopes::stored_pdf(&state, &signer.session.tenant_id, &e.current_document_id).await
}

fn party_actor(signer: &Signer, p: &Party) -> PartyActor {
    let auth_method = match &signer.session.embed_origin {
        Some(origin) => format!("document system ({origin}), embedded view"),
        None => format!("e-mail one-time code to {}", p.email.as_deref().map(email_hint).unwrap_or_default()),
    };
    PartyActor { actor: signer.actor.clone(), caller: None, auth_method }
}

/// Sign (or approve) as the session's party.
#[utoipa::path(
    post,
    path = "/signer/sign",
    tag = "signer",
    security(("signer" = [])),
    request_body = SignRequest,
    responses(
        (status = 200, description = "Signed.", body = SignerOutcome),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn signer_sign(
    State(state): State<AppState>,
    signer: Signer,
    ApiJson(req): ApiJson<SignRequest, { 4 << 20 }>,
) -> Result<Json<SignerOutcome>, Error> {
    let (e, p) = ready(&state, &signer).await?;
    let who = party_actor(&signer, &p);
    let after = envelopes::party_signs(&state, &signer.session.tenant_id, &e.id, &p.id, &who, req).await?;
    let status = party(&after, &p.id)?.status.clone();
    Ok(Json(SignerOutcome { status, envelope_status: after.status }))
}

/// Decline as the session's party: the envelope ends.
#[utoipa::path(
    post,
    path = "/signer/decline",
    tag = "signer",
    security(("signer" = [])),
    request_body = Reason,
    responses(
        (status = 200, description = "Declined.", body = SignerOutcome),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn signer_decline(
    State(state): State<AppState>,
    signer: Signer,
    ApiJson(req): ApiJson<Reason>,
) -> Result<Json<SignerOutcome>, Error> {
    let (e, p) = ready(&state, &signer).await?;
    let who = party_actor(&signer, &p);
    let after = envelopes::party_declines(&state, &signer.session.tenant_id, &e.id, &p.id, &who, &req.reason).await?;
    Ok(Json(SignerOutcome { status: "declined".into(), envelope_status: after.status }))
}

/// Prepare the signature of the session's party with its own key (deferred signing).
///
/// For a party created with `own_key`: what its key must sign, and the `signet sign-digest`
/// command to run (the page shows it, then waits with `GET /api/v1/signer/own-key`).
#[utoipa::path(
    post,
    path = "/signer/prepare",
    tag = "signer",
    security(("signer" = [])),
    request_body = crate::deferred::PrepareRequest,
    responses(
        (status = 201, description = "What the party's key signs.", body = crate::deferred::Preparation),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 412, response = crate::openapi::PreconditionFailed),
    )
)]
pub async fn signer_prepare(
    State(state): State<AppState>,
    signer: Signer,
    ApiJson(req): ApiJson<crate::deferred::PrepareRequest>,
) -> Result<(axum::http::StatusCode, Json<crate::deferred::Preparation>), Error> {
    let (e, p) = ready(&state, &signer).await?;
    let who = party_actor(&signer, &p);
    let tenant = &signer.session.tenant_id;
    let prepared =
        crate::deferred::prepare(&state, tenant, &e.id, &p.id, &who, req, crate::deferred::SIGNER_UPLOAD).await?;
    Ok((axum::http::StatusCode::CREATED, Json(prepared)))
}

/// Upload the own-key signature of the session's party over its preparation.
#[utoipa::path(
    post,
    path = "/signer/signature",
    tag = "signer",
    security(("signer" = [])),
    request_body = crate::deferred::SignatureUpload,
    responses(
        (status = 200, description = "Signed.", body = SignerOutcome),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 412, response = crate::openapi::PreconditionFailed),
        (status = 502, response = crate::openapi::BadGateway),
    )
)]
pub async fn signer_signature(
    State(state): State<AppState>,
    signer: Signer,
    ApiJson(upload): ApiJson<crate::deferred::SignatureUpload>,
) -> Result<Json<SignerOutcome>, Error> {
    let (e, p) = ready(&state, &signer).await?;
    let who = party_actor(&signer, &p);
    let after = crate::deferred::complete(&state, &signer.session.tenant_id, &e.id, &p.id, &who, upload).await?;
    let status = party(&after, &p.id)?.status.clone();
    Ok(Json(SignerOutcome { status, envelope_status: after.status }))
}

/// The session's party's own key and its latest preparation (`pending`, `expired`, `used`).
#[utoipa::path(
    get,
    path = "/signer/own-key",
    tag = "signer",
    security(("signer" = [])),
    responses(
        (status = 200, description = "The own key (null for a party that signs on the page) and the latest preparation.", body = crate::deferred::OwnKeySigning),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn signer_own_key(
    State(state): State<AppState>,
    signer: Signer,
) -> Result<Json<crate::deferred::OwnKeySigning>, Error> {
    let (e, p) = ready(&state, &signer).await?;
    Ok(Json(crate::deferred::signing_state(&state, &signer.session.tenant_id, &e, &p).await?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn envelope(status: &str, completed_at: Option<i64>) -> Envelope {
        Envelope { id: "env_x".into(), status: status.into(), completed_at, ..Envelope::default() }
    }

    #[test]
    fn links_expire_some_days_after_the_envelope_ended() {
        let day = 86_400_000;
        let ended = 1_000 * day;
        let limit = LINK_DAYS_AFTER_END * day;
        for status in ["completed", "declined", "voided", "expired"] {
            let e = envelope(status, Some(ended));
            assert_eq!(link_expired(&e, ended + limit), None, "{status}");
            let why = link_expired(&e, ended + limit + 1).unwrap();
            assert!(why.contains("expired") && why.contains(status), "{why}");
        }
        // an envelope in progress (or a draft) keeps its links, however old
        assert_eq!(link_expired(&envelope("sent", None), ended + 10 * limit), None);
        assert_eq!(link_expired(&envelope("sent", Some(ended)), ended + 10 * limit), None);
    }
}
