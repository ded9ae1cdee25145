//! Embedded signing: the signer page inside a document system's own page (an `<iframe>`).
//!
//! 1. The document system's server mints an **embed token** for one party of one sent
//!    envelope, naming the origin of the page that will frame the view:
//!    `POST /api/v1/envelopes/{id}/parties/{party}/embed` → `{url, expires_at}`. The origin
//!    must be one of the tenant's `embed_origins` (settings). The token is random (160 bits),
//!    stored hashed, valid five minutes by default and good for one opening.
//! 2. The page frames `url` (`/embed/sign/{token}`), most simply with the helper
//!    `/assets/embed.js`. The view is answered with `Content-Security-Policy: frame-ancestors
//!    ORIGIN` (CSP Level 3 §6.4.2; `'none'` for an unknown or used token), so a browser shows
//!    it only inside a page of that origin.
//! 3. The view exchanges the token for a signer session (`POST /api/v1/signer/embed`): the
//!    token is taken atomically (a second exchange fails), the session is new (its secret is
//!    not the token) and the view sends it in the `X-Signer-Session` header, since a browser
//!    may withhold cookies from a frame of another site. The party is authenticated by the
//!    document system (its login, its MFA): the evidence of the signature says so, with the
//!    origin.
//! 4. The view tells the parent what happens with `window.postMessage`, to that origin only:
//!    `loaded`, `signed`, `declined`, `completed`, `error` (see `web/assets/embed.js`).
//!
//! A party that stamps a company seal is not embeddable: the seal's use needs the user's own
//! console login (its authorization to use the seal is the user's).
//!
//! **The preparation view** works the same way for a draft envelope the document system
//! created: `POST /api/v1/envelopes/{id}/embed` mints a token, `/embed/prepare/{token}` shows
//! the document's pages with the parties' fields, which the person moves, adds or removes,
//! then sends (`POST /api/v1/embed/prepare/send`); events `loaded`, `sent`, `error`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use signet_store::{AuditEntry, SignerSession, now_millis, sha256_hex};

use crate::audit::record as audit;
use crate::auth::{Caller, Permission, origin};
use crate::envelopes::{self, event};
use crate::signer::{SESSION_LIFE_MS, SignerStage};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// The header an embedded view sends its signer session in (instead of the cookie).
pub const SESSION_HEADER: &str = "x-signer-session";
/// An embed token's life unless the request says otherwise.
pub const DEFAULT_TOKEN_LIFE_S: u64 = 300;
/// The longest life an embed token may be given.
pub const MAX_TOKEN_LIFE_S: u64 = 3600;
/// Most origins a tenant may allow.
const MAX_ORIGINS: usize = 20;

/// A request for an embed token.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
    /// The origin of the page that frames the view (`https://host[:port]`), one of the
    /// tenant's `embed_origins`.
    #[schema(example = "https://oa.example.com")]
    pub parent_origin: String,
    /// How long the token may be opened, in seconds (default 300, at most 3600). Once opened,
    /// the signer session lasts an hour.
    #[serde(default)]
    pub lifetime_seconds: Option<u64>,
}

/// An embed token.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmbedLink {
    /// What the parent page frames (`/embed/sign/{token}` on this server).
    #[schema(example = "https://signet.example.com/embed/sign/k3x7q2ma5c4e6r8t9y2u3i4o5p6a7s8d")]
    pub url: String,
    /// The token alone (it is in `url`).
    pub token: String,
    /// The origin allowed to frame it and to receive its events.
    pub parent_origin: String,
    /// The token can be opened until then (Unix milliseconds).
    pub expires_at: i64,
}

/// `POST /api/v1/signer/embed`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbedOpen {
    /// The embed token (from the view's URL).
    pub token: String,
}

/// An embedded signer session.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EmbedSession {
    /// The session's secret: send it in `X-Signer-Session` with every signer call.
    pub session: String,
    /// The origin of the parent page (the only one the view's events go to).
    pub parent_origin: String,
    /// The session, as `POST /api/v1/signer/session` answers it.
    pub signer: SignerStage,
}

/// Checks a tenant's `embed_origins`: each `http(s)://host[:port]` in its normal form
/// (lower case, no default port, no path), at most twenty. Only such strings reach a
/// `Content-Security-Policy` header.
pub fn check_origins(origins: &[String]) -> Result<(), Error> {
    if origins.len() > MAX_ORIGINS {
        return Err(Error::bad("bad_origin", format!("at most {MAX_ORIGINS} embed origins")));
    }
    for o in origins {
        let normal = normal_origin(o).ok_or_else(|| {
            Error::bad(
                "bad_origin",
                format!("'{o}' is not an origin: write scheme://host[:port], e.g. https://oa.example.com"),
            )
        })?;
        if normal != *o {
            return Err(Error::bad("bad_origin", format!("write the origin '{o}' as '{normal}'")));
        }
    }
    Ok(())
}

/// `o` as an origin in normal form (RFC 6454 §6.2 serialisation): scheme `http` or `https`,
/// a host of letters, digits, `-` and `.` (or a bracketed IPv6 address), a port other than
/// the scheme's default; nothing else.
fn normal_origin(o: &str) -> Option<String> {
    let lower = o.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, after) = v6.split_once(']')?;
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return None;
        }
        (format!("[{addr}]"), after.strip_prefix(':').map(str::to_string).or(after.is_empty().then(String::new))?)
    } else {
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (rest, ""),
        };
        let label_ok =
            |l: &str| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
            return None;
        }
        (host.to_string(), port.to_string())
    };
    if !port.is_empty()
        && (port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) || port.parse::<u16>().ok()? == 0)
    {
        return None;
    }
    let port = port.trim_start_matches('0');
    Some(if port.is_empty() || port == default_port {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    })
}

/// Embed a party's signing view.
///
/// For the envelope's creator or a tenant administrator (API keys: scope `sign-document`):
/// a short-lived, single-use token that opens the signing view of party `party` inside a page
/// of `parent_origin` (one of the tenant's `embed_origins`). The party must be able to act
/// now; a party stamping a company seal signs in the console instead. The document system
/// vouches for the person: it shows the view only to that party, logged in its own way.
#[utoipa::path(
    post,
    path = "/envelopes/{id}/parties/{party}/embed",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`"), ("party" = String, Path, description = "`pty_…`")),
    request_body = EmbedRequest,
    responses(
        (status = 201, description = "The embed token.", body = EmbedLink),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn create_embed(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, party_id)): Path<(String, String)>,
    ApiJson(req): ApiJson<EmbedRequest>,
) -> Result<(axum::http::StatusCode, Json<EmbedLink>), Error> {
    let tenant = envelopes::tenant_for(&caller, Permission::SendEnvelopes)?;
    let (e, _) = envelopes::load(&state, &tenant, &id).await?;
    envelopes::sender_only(&caller, &e, "embeds its signing views")?;
    let pi = envelopes::acting_party(&e, &party_id)?;
    let p = &e.parties[pi];
    if p.seal_id.is_some() {
        return Err(Error::bad(
            "not_embeddable",
            format!("{} stamps a company seal: that needs their own console login, not an embedded view", p.name),
        ));
    }
    let link = mint(&state, &tenant, &caller, &e.id, &p.id, &req, View::Sign).await?;
    Ok((axum::http::StatusCode::CREATED, Json(link)))
}

/// Checks `req` against the tenant's embed origins, stores a token of `view` and answers its
/// link.
async fn mint(
    state: &AppState,
    tenant: &str,
    caller: &Caller,
    envelope: &str,
    party: &str,
    req: &EmbedRequest,
    view: View,
) -> Result<EmbedLink, Error> {
    let allowed = state.store().tenant_settings(tenant).await?.embed_origins;
    let parent = normal_origin(&req.parent_origin).filter(|o| allowed.contains(o)).ok_or_else(|| {
        Error::bad(
            "origin_not_allowed",
            format!(
                "'{}' is not one of the tenant's embed origins (settings: embed_origins{})",
                req.parent_origin,
                if allowed.is_empty() { ", empty".to_string() } else { format!(" = {}", allowed.join(", ")) }
            ),
        )
    })?;
    let life = req.lifetime_seconds.unwrap_or(DEFAULT_TOKEN_LIFE_S);
    if life == 0 || life > MAX_TOKEN_LIFE_S {
        return Err(Error::bad("bad_lifetime", format!("lifetime_seconds must be 1 to {MAX_TOKEN_LIFE_S}")));
    }
    let token = signet_store::random_base32(32);
    let now = now_millis();
    let expires_at = now + i64::try_from(life).unwrap_or(300) * 1000;
    let (stage, action, path) = match view {
        View::Sign => (SIGN_TOKEN, "envelope.embed", "sign"),
        View::Prepare => (PREPARE_TOKEN, "envelope.embed_prepare", "prepare"),
    };
    let hash = sha256_hex(token.as_bytes());
    state
        .store()
        .put_signer_session(&SignerSession {
            embed_origin: Some(parent.clone()),
            ..SignerSession::new(hash, tenant, envelope, party, stage, now, expires_at)
        })
        .await?;
    audit(
        state,
        AuditEntry::new(tenant, &caller.actor(), action, "ok")
            .target("envelope", envelope)
            .detail(serde_json::json!({ "party": party, "parent_origin": parent, "expires_at": expires_at })),
    )
    .await;
    let base = state.authority().public_urls().map(|u| u.base().trim_end_matches('/').to_string()).unwrap_or_default();
    Ok(EmbedLink { url: format!("{base}/embed/{path}/{token}"), token, parent_origin: parent, expires_at })
}

/// The embeddable views.
#[derive(Clone, Copy, Debug)]
enum View {
    /// A party's signing view (`/embed/sign/{token}`).
    Sign,
    /// A draft's preparation view (`/embed/prepare/{token}`).
    Prepare,
}

/// The stage of an unused token of the signing view.
const SIGN_TOKEN: &str = "embed";
/// The stage of an unused token of the preparation view.
const PREPARE_TOKEN: &str = "embed-prepare";
/// The stage of a preparation view's session.
const PREPARE_SESSION: &str = "prepare";

/// Open an embedded signing session.
///
/// Takes the embed token (once) and opens a signer session for its party, in stage `ready`
/// (the document system authenticated the person). The answer holds the session's secret,
/// to send in `X-Signer-Session` with the other signer calls.
#[utoipa::path(
    post,
    path = "/signer/embed",
    tag = "signer",
    request_body = EmbedOpen,
    responses(
        (status = 200, description = "The session.", body = EmbedSession),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn open_embed(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(req): ApiJson<EmbedOpen>,
) -> Result<Json<EmbedSession>, Error> {
    let (session, secret) = exchange(&state, &req.token, SIGN_TOKEN, "ready", &parts).await?;
    let parent = session.embed_origin.clone().unwrap_or_default();
    let (e, _) = envelopes::load(&state, &session.tenant_id, &session.envelope_id).await?;
    let p = crate::signer::party(&e, &session.party_id)?.clone();
    let ip = session.ip.clone();
    crate::signer::record_events(
        &state,
        &session.tenant_id,
        &e.id,
        vec![event("viewed", &p.id, Some(&p.id), serde_json::json!({ "ip": ip, "embedded_in": parent }))],
    )
    .await;
    let signer = crate::signer::stage_view(&state, &session, &e, &p);
    Ok(Json(EmbedSession { session: secret, parent_origin: parent, signer }))
}

/// Takes the unused embed token `token` of stage `from` (once) and stores a new session of
/// stage `to` in its place (a new secret and CSRF token, an hour, the client's address);
/// returns it and its secret.
async fn exchange(
    state: &AppState,
    token: &str,
    from: &str,
    to: &str,
    parts: &Parts,
) -> Result<(SignerSession, String), Error> {
    let now = now_millis();
    let taken =
        state.store().take_embed_token(&sha256_hex(token.trim().as_bytes()), from, now).await?.ok_or_else(|| {
            Error::Missing("this embedded view has expired or was opened already: ask for a new one".into())
        })?;
    let (ip, user_agent) = origin(parts);
    let secret = signet_store::random_base32(20);
    let session = SignerSession {
        id_hash: sha256_hex(secret.as_bytes()),
        stage: to.into(),
        csrf: signet_store::random_base32(20),
        ip,
        user_agent,
        created_at: now,
        expires_at: now + SESSION_LIFE_MS,
        ..taken
    };
    state.store().put_signer_session(&session).await?;
    Ok((session, secret))
}

/// `GET /embed/sign/{token}`: the signer page, framable by the token's parent origin only.
pub async fn embedded_page(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    framable(&state, &token, SIGN_TOKEN, "sign.html", &headers).await
}

/// `GET /embed/prepare/{token}`: the preparation view, framable by the token's parent origin
/// only.
pub async fn embedded_prepare_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    framable(&state, &token, PREPARE_TOKEN, "prepare.html", &headers).await
}

/// The web page `file`, with `frame-ancestors` the origin of the unused token of `stage`
/// (`'none'` for any other token).
async fn framable(state: &AppState, token: &str, stage: &str, file: &str, headers: &HeaderMap) -> Response {
    let hash = sha256_hex(token.trim().as_bytes());
    let origin = match state.store().signer_session(&hash, now_millis()).await {
        Ok(Some(s)) if s.stage == stage => s.embed_origin,
        _ => None,
    };
    let mut response = crate::web::serve(file, headers);
    let policy = crate::web::CONTENT_SECURITY_POLICY
        .replace("frame-ancestors 'none'", &format!("frame-ancestors {}", origin.as_deref().unwrap_or("'none'")));
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    } else {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(crate::web::CONTENT_SECURITY_POLICY));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if origin.is_none() {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response.into_response()
}

// ---------- the preparation view ----------

/// Embed a draft envelope's preparation view.
///
/// For the envelope's creator or a tenant administrator (API keys: scope `sign-document`):
/// a short-lived, single-use token that opens the draft's preparation view (its pages and
/// the parties' fields, to place and send) inside a page of `parent_origin` (one of the
/// tenant's `embed_origins`).
#[utoipa::path(
    post,
    path = "/envelopes/{id}/embed",
    tag = "envelopes",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    params(("id" = String, Path, description = "`env_…`")),
    request_body = EmbedRequest,
    responses(
        (status = 201, description = "The embed token.", body = EmbedLink),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn create_prepare_embed(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<EmbedRequest>,
) -> Result<(axum::http::StatusCode, Json<EmbedLink>), Error> {
    let tenant = envelopes::tenant_for(&caller, Permission::SendEnvelopes)?;
    let (e, _) = envelopes::load(&state, &tenant, &id).await?;
    envelopes::sender_only(&caller, &e, "embeds its preparation")?;
    if e.status != "draft" {
        return Err(Error::Conflict {
            code: "envelope_not_draft",
            message: format!("envelope {id} is {}: only a draft is prepared", e.status),
        });
    }
    let link = mint(&state, &tenant, &caller, &e.id, "", &req, View::Prepare).await?;
    Ok((axum::http::StatusCode::CREATED, Json(link)))
}

/// An embedded preparation session.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PrepareSession {
    /// The session's secret: send it in `X-Signer-Session` with the other preparation calls.
    pub session: String,
    /// Repeat it in `X-CSRF-Token` with every call that changes something.
    pub csrf_token: String,
    /// The origin of the parent page.
    pub parent_origin: String,
    /// The draft.
    pub envelope: envelopes::Envelope,
    /// Its document's pages (PDF points as displayed).
    pub pages: Vec<crate::signer::PageSize>,
}

/// The fields of the parties, as placed in the preparation view.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreparedFields {
    /// Each party named gets exactly these fields (parties not named keep theirs).
    pub parties: Vec<PartyFields>,
}

/// One party's fields.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyFields {
    /// `pty_…`
    pub id: String,
    /// Its fields, as when creating the envelope.
    pub fields: Vec<envelopes::NewField>,
}

/// The session of an embedded preparation view (header `X-Signer-Session`).
pub struct Preparer {
    session: SignerSession,
    actor: signet_store::Actor,
}

impl axum::extract::FromRequestParts<AppState> for Preparer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Unauthenticated(format!("send the preparation session in {SESSION_HEADER}")))?;
        let session = state
            .store()
            .signer_session(&sha256_hex(secret.as_bytes()), now_millis())
            .await?
            .filter(|s| s.stage == PREPARE_SESSION)
            .ok_or_else(|| Error::Unauthenticated("this preparation session has ended: open the view again".into()))?;
        crate::auth::csrf_checked(parts, &session.csrf, "the preparation session's CSRF token")?;
        let (ip, user_agent) = origin(parts);
        let by = format!("document system ({})", session.embed_origin.as_deref().unwrap_or(""));
        let actor = signet_store::Actor { kind: "embedded".into(), id: by, ip, user_agent };
        Ok(Preparer { session, actor })
    }
}

/// Open an embedded preparation session.
///
/// Takes the embed token (once) and opens a session of the draft's preparation view.
#[utoipa::path(
    post,
    path = "/embed/prepare",
    tag = "envelopes",
    request_body = EmbedOpen,
    responses(
        (status = 200, description = "The session.", body = PrepareSession),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn open_prepare_embed(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(req): ApiJson<EmbedOpen>,
) -> Result<Json<PrepareSession>, Error> {
    let (session, secret) = exchange(&state, &req.token, PREPARE_TOKEN, PREPARE_SESSION, &parts).await?;
    let (e, _) = envelopes::load(&state, &session.tenant_id, &session.envelope_id).await?;
    let pages = draft_pages(&state, &session, &e).await?;
    Ok(Json(PrepareSession {
        session: secret,
        csrf_token: session.csrf.clone(),
        parent_origin: session.embed_origin.clone().unwrap_or_default(),
        envelope: e,
        pages,
    }))
}

/// The pages of the draft's document.
async fn draft_pages(
    state: &AppState,
    s: &SignerSession,
    e: &envelopes::Envelope,
) -> Result<Vec<crate::signer::PageSize>, Error> {
    let path = draft_file(state, s, e).await?;
    crate::util::blocking(move || -> Result<Vec<crate::signer::PageSize>, Error> {
        let (pages, _) = signet_preview::pages_geometry(&path, 2000).map_err(crate::preview::preview_error)?;
        Ok(pages.iter().map(|g| crate::signer::PageSize { width: g.width, height: g.height }).collect())
    })
    .await?
}

async fn draft_file(state: &AppState, s: &SignerSession, e: &envelopes::Envelope) -> Result<std::path::PathBuf, Error> {
    let doc = state.store().document(&s.tenant_id, &e.current_document_id).await?;
    state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))
}

/// A page of the draft's document: its geometry.
#[utoipa::path(
    get,
    path = "/embed/prepare/pages/{n}",
    tag = "envelopes",
    security(("embedded" = [])),
    params(("n" = usize, Path, description = "1-based page")),
    responses(
        (status = 200, description = "The page's geometry.", body = crate::preview::PageView),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn prepare_page(
    State(state): State<AppState>,
    p: Preparer,
    Path(n): Path<usize>,
) -> Result<Json<crate::preview::PageView>, Error> {
    let (e, _) = envelopes::load(&state, &p.session.tenant_id, &p.session.envelope_id).await?;
    let path = draft_file(&state, &p.session, &e).await?;
    Ok(Json(crate::preview::page_view(path, n, format!("/api/v1/embed/prepare/pages/{n}/image")).await?))
}

/// A page of the draft's document as a PNG.
#[utoipa::path(
    get,
    path = "/embed/prepare/pages/{n}/image",
    tag = "envelopes",
    security(("embedded" = [])),
    params(("n" = usize, Path, description = "1-based page"), crate::signer::PageQuery),
    responses(
        (status = 200, description = "The page.", content(("image/png"))),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn prepare_page_image(
    State(state): State<AppState>,
    p: Preparer,
    Path(n): Path<usize>,
    axum::extract::Query(q): axum::extract::Query<crate::signer::PageQuery>,
) -> Result<Response, Error> {
    let (e, _) = envelopes::load(&state, &p.session.tenant_id, &p.session.envelope_id).await?;
    let path = draft_file(&state, &p.session, &e).await?;
    crate::preview::page_png(&state, path, n, q.dpi.unwrap_or(96.0).min(300.0)).await
}

/// Place the fields and send the draft.
///
/// The parties named get exactly the fields given (checked as when the envelope is created);
/// then the envelope is sent as `POST /api/v1/envelopes/{id}/send` sends it.
#[utoipa::path(
    post,
    path = "/embed/prepare/send",
    tag = "envelopes",
    security(("embedded" = [])),
    request_body = PreparedFields,
    responses(
        (status = 200, description = "The envelope, sent.", body = envelopes::Envelope),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn prepare_send(
    State(state): State<AppState>,
    p: Preparer,
    ApiJson(req): ApiJson<PreparedFields>,
) -> Result<Json<envelopes::Envelope>, Error> {
    let (tenant, id) = (p.session.tenant_id.clone(), p.session.envelope_id.clone());
    {
        let _guard = envelopes::lock_envelope(&id).await;
        let (mut e, revision) = envelopes::load(&state, &tenant, &id).await?;
        if e.status != "draft" {
            return Err(Error::Conflict {
                code: "envelope_not_draft",
                message: format!("envelope {id} is {}", e.status),
            });
        }
        for given in req.parties {
            let at = format!("party {}", given.id);
            let party = e
                .parties
                .iter_mut()
                .find(|x| x.id == given.id)
                .ok_or_else(|| Error::bad("bad_request", format!("{at}: no such party in envelope {id}")))?;
            let fields = envelopes::party_fields(&at, party.seal_id.is_some(), given.fields)?;
            envelopes::fields_fit_role(&at, &party.role, party.own_key.is_some(), &fields)?;
            party.fields = fields;
        }
        let placed =
            event("fields_placed", &p.actor.id, None, serde_json::json!({ "embedded_in": p.session.embed_origin }));
        envelopes::save(&state, &tenant, &mut e, revision, &[placed]).await?;
    }
    Ok(Json(envelopes::send_envelope(&state, &tenant, &id, &p.actor, None).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_in_normal_form() {
        for (given, normal) in [
            ("https://oa.example.com", Some("https://oa.example.com")),
            ("HTTPS://OA.Example.com/", Some("https://oa.example.com")),
            ("https://oa.example.com:443", Some("https://oa.example.com")),
            ("http://127.0.0.1:8081", Some("http://127.0.0.1:8081")),
            ("http://localhost:80", Some("http://localhost")),
            ("http://[::1]:9000", Some("http://[::1]:9000")),
            ("https://oa.example.com/path", None),
            ("https://oa.example.com?x", None),
            ("https://user@oa.example.com", None),
            ("ftp://oa.example.com", None),
            ("https://", None),
            ("https://a..b", None),
            ("https://a.b:0", None),
            ("https://a.b:99999", None),
            ("https://a.b:80x", None),
            ("https://a b", None),
            ("https://a.b; script-src *", None),
            ("*", None),
            ("'self'", None),
        ] {
            assert_eq!(normal_origin(given).as_deref(), normal, "{given}");
        }
        assert!(check_origins(&["https://oa.example.com".into(), "http://127.0.0.1:8081".into()]).is_ok());
        let e = check_origins(&["https://OA.example.com".into()]).unwrap_err().to_string();
        assert!(e.contains("https://oa.example.com"), "{e}");
        assert!(check_origins(&["https://oa.example.com/x".into()]).is_err());
        assert!(check_origins(&vec!["https://a.b".to_string(); 21]).is_err());
    }
}
