//! People: logging in (password, TOTP, recovery codes), sessions, users and their roles, and
//! the tenant's settings.
//!
//! - `POST /api/v1/auth/login` `{tenant, username, password}` → a session cookie and the
//!   session's stage: `full`, `mfa` (send a TOTP code or a recovery code to
//!   `POST /api/v1/auth/mfa`) or `enrol` (a role of the user requires TOTP: set it up with
//!   `POST /api/v1/auth/mfa/enrol` and `…/confirm` first). Over TLS, a client certificate
//!   bound to the user takes the place of the code (`crate::client_certs`).
//! - `POST /api/v1/auth/logout`, `GET /api/v1/auth/session`, `POST /api/v1/auth/password`.
//! - `POST|GET /api/v1/users`, `GET|PATCH /api/v1/users/{id}`, `POST
//!   /api/v1/users/{id}/password`, `DELETE /api/v1/users/{id}/mfa`, `POST
//!   /api/v1/users/{id}/unlock` (permission "managing users": tenant administrators and
//!   `manage` keys).
//! - `GET|PUT /api/v1/settings` (tenant administrators): which roles must use TOTP, single
//!   sign-on.
//!
//! Failed logins are counted per user in the database: [`LOCK_AFTER`] in a row lock the user
//! for [`LOCK_FOR`] (an administrator can unlock sooner); and per client address in memory
//! (a guessing run across many user names slows down the same way). Unknown users cost the
//! same time as known ones. Every step is in the signing log.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use signet_store::{AuditEntry, NewUser, Role, Session, TenantSettings, User};

use crate::audit::record as audit;
use crate::auth::{AnySession, Caller, Permission, SESSION_COOKIE, anonymous};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// Failed logins in a row that lock a user.
pub const LOCK_AFTER: i64 = 5;
/// How long a locked user stays locked.
pub const LOCK_FOR: Duration = Duration::from_secs(15 * 60);
/// A full session's life.
pub const SESSION_LIFE: Duration = Duration::from_secs(8 * 3600);
/// How long a half-done login (TOTP or enrolment to come) waits.
pub const PARTIAL_SESSION_LIFE: Duration = Duration::from_secs(10 * 60);

/// `POST /auth/login` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The tenant's name.
    pub tenant: String,
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A session, as its holder sees it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionView {
    /// `full`, `mfa` (a TOTP or recovery code is due) or `enrol` (set up TOTP first).
    pub stage: String,
    /// Send this in `X-CSRF-Token` with every request that changes something.
    pub csrf_token: String,
    /// When the session ends (Unix ms).
    pub expires_at: i64,
    /// The user.
    pub user: User,
    /// What completed the login after the password, when this answer completed it:
    /// `client_certificate` (the TLS client certificate bound to the user), `totp` or
    /// `recovery_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<String>,
}

/// `POST /auth/mfa` body: one of the two.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaRequest {
    /// The authenticator's current 6-digit code.
    pub code: Option<String>,
    /// One of the recovery codes (each works once).
    pub recovery_code: Option<String>,
}

/// `POST /auth/mfa/enrol` answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The TOTP secret, base 32 (for typing into an authenticator).
    pub secret: String,
    /// The same as an `otpauth://` URI (for a QR code).
    pub otpauth_uri: String,
}

/// `POST /auth/mfa/confirm` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// A current code from the authenticator just set up.
    pub code: String,
}

/// `POST /auth/mfa/confirm` answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecoveryCodesView {
    /// Shown only now: each logs in once in place of a TOTP code.
    pub recovery_codes: Vec<String>,
}

/// `POST /auth/password` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password now.
    pub current: String,
    /// The new one (at least 12 characters).
    pub new: String,
}

/// `POST /users` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: 1 to 64 of letters, digits, `.`, `_`, `-`, `@`.
    pub username: String,
    /// Name shown (default: the login name).
    pub display_name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Initial password (none: the user signs in through single sign-on only, or gets one
    /// later).
    pub password: Option<String>,
}

/// `PATCH /users/{id}` body: what is given changes.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Name shown.
    pub display_name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Roles (replacing the old ones).
    pub roles: Option<Vec<Role>>,
    /// `active` or `disabled` (a disabled user's sessions end).
    pub status: Option<String>,
    /// The identity provider's account (`issuer|subject`) that logs in as this user; `""`
    /// unlinks it.
    pub external_subject: Option<String>,
}

/// `POST /users/{id}/password` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password (at least 12 characters).
    pub password: String,
}

fn now() -> i64 {
    signet_store::now_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Log in.
///
/// No credentials needed. Sets the `signet_session` cookie (HttpOnly, Secure,
/// SameSite=Strict) and answers the session's stage and CSRF token. Wrong name or password:
/// 401 (the same for both); after 5 failures in a row the user is locked for 15 minutes
/// (429 with `Retry-After`). Over TLS, a client certificate bound to the user
/// (`POST /users/{id}/client-certificates`) presented in the handshake is the second factor:
/// the session is then `full` at once (`second_factor`: `client_certificate`).
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "people",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in (maybe halfway: see `stage`).", body = SessionView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, Error> {
    let origin = crate::auth::origin(&parts);
    let who = format!("{}/{}", req.tenant, req.username);
    let ip_key = format!("ip:{}", origin.0.as_deref().unwrap_or("-"));
    state.logins().check(&ip_key)?;
    let wrong = || Error::Unauthenticated("wrong tenant, user name or password".into());
    let found = match state.store().tenant_by_name(&req.tenant).await {
        Ok(t) if t.status == "active" => match state.store().user_by_name(&t.id, &req.username).await {
            Ok(u) => Some((t, u)),
            Err(signet_store::Error::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        Ok(_) | Err(signet_store::Error::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let Some((tenant, mut user)) = found else {
        crate::util::blocking(move || signet_access::password::dummy_verify(&req.password)).await?;
        state.logins().failure(&ip_key);
        audit(
            &state,
            AuditEntry::new(signet_store::audit::OPERATOR_CHAIN, &anonymous(origin, &who), "login", "refused")
                .detail(serde_json::json!({ "reason": "unknown tenant or user" })),
        )
        .await;
        return Err(wrong());
    };
    let actor = person_actor(&user, &origin);
    if let Some(until) = user.locked_until.filter(|u| *u > now()) {
        audit(
            &state,
            AuditEntry::new(&tenant.id, &actor, "login", "refused")
                .target("user", &user.id)
                .detail(serde_json::json!({ "reason": "locked", "until": until })),
        )
        .await;
        return Err(locked(until));
    }
    if user.status != "active" {
        audit(
            &state,
            AuditEntry::new(&tenant.id, &actor, "login", "refused")
                .target("user", &user.id)
                .detail(serde_json::json!({ "reason": "disabled" })),
        )
        .await;
        return Err(wrong());
    }
    let Some(failures) =
        state.store().reserve_login_attempt(&user.id, now(), LOCK_AFTER, now() + millis(LOCK_FOR)).await?
    else {
        return Err(locked(user.locked_until.unwrap_or_else(|| now() + millis(LOCK_FOR))));
    };
    let password = req.password.clone();
    let hash = user.password_hash.clone();
    let good = crate::util::blocking(move || match &hash {
        Some(h) => signet_access::password::verify_password(&password, h).unwrap_or(false),
        None => {
            signet_access::password::dummy_verify(&password);
            false
        }
    })
    .await?;
    if !good {
        state.logins().failure(&ip_key);
        let mut entry = AuditEntry::new(&tenant.id, &actor, "login", "refused").target("user", &user.id);
        entry = entry.detail(serde_json::json!({ "reason": "wrong password", "failures": failures }));
        audit(&state, entry).await;
        if failures >= LOCK_AFTER {
            audit(
                &state,
                AuditEntry::new(&tenant.id, &actor, "user.lock", "ok")
                    .target("user", &user.id)
                    .detail(serde_json::json!({ "failures": failures, "minutes": LOCK_FOR.as_secs() / 60 })),
            )
            .await;
            return Err(locked(now() + millis(LOCK_FOR)));
        }
        return Err(wrong());
    }
    if user.password_hash.as_deref().is_some_and(signet_access::password::needs_rehash) {
        let pw = req.password.clone();
        if let Ok(Ok(h)) = crate::util::blocking(move || signet_access::password::hash_password(&pw)).await {
            state.store().set_password_hash(&user.tenant_id, &user.id, &h).await?;
            user.password_hash = Some(h);
        }
    }
    let settings = state.store().tenant_settings(&tenant.id).await?;
    let mut stage = if user.mfa_enabled {
        "mfa"
    } else if user.roles.iter().any(|r| settings.mfa_required_roles.contains(r)) {
        "enrol"
    } else {
        "full"
    };
    // a TLS client certificate bound to the user is the second factor, in place of TOTP
    let (mut second_factor, mut certificate) = (None, serde_json::Value::Null);
    let presented = parts.extensions.get::<crate::tls::ClientCertificate>().filter(|_| stage != "full");
    if let Some(presented) = presented {
        match crate::client_certs::second_factor(&state, presented, &user).await? {
            Ok(bound) => {
                stage = "full";
                second_factor = Some("client_certificate");
                certificate = serde_json::json!({ "id": bound.id, "fingerprint": bound.fingerprint });
            }
            Err(why) => {
                certificate = serde_json::json!({ "fingerprint": presented.fingerprint(), "refused": why });
            }
        }
    }
    if stage == "full" {
        state.store().login_succeeded(&user.id).await?;
    } else {
        // the password was right; the second factor's attempts are counted on their own
        state.store().release_login_attempt(&user.id, LOCK_AFTER).await?;
    }
    let (session, cookie) = new_session(&state, &user, stage, "password", &origin).await?;
    let mut detail = serde_json::json!({ "stage": stage, "session": session.id });
    if !certificate.is_null() {
        detail["client_certificate"] = certificate;
    }
    audit(&state, AuditEntry::new(&tenant.id, &actor, "login", "ok").target("user", &user.id).detail(detail)).await;
    Ok(session_response_with(session, user, Some(cookie), second_factor))
}

fn locked(until: i64) -> Error {
    let secs = u64::try_from((until - now()).max(1000) / 1000).unwrap_or(1);
    Error::TooManyRequests {
        message: format!("too many failed logins: this user is locked for {} more minute(s)", secs.div_ceil(60)),
        retry_after: secs,
    }
}

/// Starts a session for `user` at `stage`; returns it and its `Set-Cookie` value.
pub(crate) async fn new_session(
    state: &AppState,
    user: &User,
    stage: &str,
    via: &str,
    origin: &(Option<String>, Option<String>),
) -> Result<(Session, String), Error> {
    let secret = signet_store::random_base32(20);
    let life = if stage == "full" { SESSION_LIFE } else { PARTIAL_SESSION_LIFE };
    let session = Session {
        id: signet_store::new_id("ses"),
        secret_hash: signet_store::sha256_hex(secret.as_bytes()),
        user_id: user.id.clone(),
        tenant_id: user.tenant_id.clone(),
        stage: stage.into(),
        csrf: signet_store::random_base32(20),
        via: via.into(),
        ip: origin.0.clone(),
        user_agent: origin.1.clone(),
        created_at: now(),
        expires_at: now() + millis(life),
        revoked_at: None,
    };
    state.store().insert_session(&session).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={}.{secret}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        session.id,
        life.as_secs()
    );
    Ok((session, cookie))
}

pub(crate) fn session_response(session: Session, user: User, cookie: Option<String>) -> Response {
    session_response_with(session, user, cookie, None)
}

/// [`session_response`], saying what completed the login after the password.
fn session_response_with(
    session: Session,
    user: User,
    cookie: Option<String>,
    second_factor: Option<&str>,
) -> Response {
    let view = SessionView {
        stage: session.stage,
        csrf_token: session.csrf,
        expires_at: session.expires_at,
        user,
        second_factor: second_factor.map(str::to_string),
    };
    let mut response = Json(view).into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

/// Finish logging in with TOTP.
///
/// A session at stage `mfa`: the authenticator's current code (±30 s of drift, each code once)
/// or an unused recovery code. A wrong code counts as a failed login.
#[utoipa::path(
    post,
    path = "/auth/mfa",
    tag = "people",
    security(("session" = [])),
    request_body = MfaRequest,
    responses(
        (status = 200, description = "Logged in.", body = SessionView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn mfa(
    State(state): State<AppState>,
    s: AnySession,
    ApiJson(req): ApiJson<MfaRequest>,
) -> Result<Response, Error> {
    let AnySession { session, mut user, origin } = s;
    if session.stage != "mfa" {
        return Err(Error::bad("wrong_stage", format!("this session is at stage '{}', not 'mfa'", session.stage)));
    }
    let actor = person_actor(&user, &origin);
    let ip_key = format!("ip:{}", origin.0.as_deref().unwrap_or("-"));
    state.logins().check(&ip_key)?;
    if req.code.is_some() == req.recovery_code.is_some() {
        return Err(Error::bad("bad_request", "send either 'code' or 'recovery_code'"));
    }
    let Some(failures) =
        state.store().reserve_login_attempt(&user.id, now(), LOCK_AFTER, now() + millis(LOCK_FOR)).await?
    else {
        return Err(locked(user.locked_until.unwrap_or_else(|| now() + millis(LOCK_FOR))));
    };
    let (ok, how) = match (&req.code, &req.recovery_code) {
        (Some(code), None) => (check_totp(&state, &user, code).await?, "totp"),
        (None, Some(code)) => match signet_access::recovery::matches(code, &user.recovery_codes) {
            Some(i) => {
                let before = user.recovery_codes.clone();
                user.recovery_codes.remove(i);
                let spent = state.store().spend_recovery_code(&user.id, &before, &user.recovery_codes).await?;
                (spent, "recovery_code")
            }
            None => (false, "recovery_code"),
        },
        _ => return Err(Error::bad("bad_request", "send either 'code' or 'recovery_code'")),
    };
    if !ok {
        state.logins().failure(&ip_key);
        audit(
            &state,
            AuditEntry::new(&user.tenant_id, &actor, "mfa.verify", "refused")
                .target("user", &user.id)
                .detail(serde_json::json!({ "method": how, "failures": failures })),
        )
        .await;
        if failures >= LOCK_AFTER {
            state.store().revoke_sessions(&user.id, Some(&session.id)).await?;
            state.keys().forget_sessions(&user.id, Some(&session.id));
            return Err(locked(now() + millis(LOCK_FOR)));
        }
        return Err(Error::Unauthenticated(format!("wrong {} code", if how == "totp" { "TOTP" } else { "recovery" })));
    }
    state.store().login_succeeded(&user.id).await?;
    // the half-done session ends; a full one starts (a new cookie: no fixation)
    state.store().revoke_sessions(&user.id, Some(&session.id)).await?;
    state.keys().forget_sessions(&user.id, Some(&session.id));
    let (full, cookie) = new_session(&state, &user, "full", &session.via, &origin).await?;
    audit(
        &state,
        AuditEntry::new(&user.tenant_id, &actor, "mfa.verify", "ok").target("user", &user.id).detail(
            serde_json::json!({ "method": how, "session": full.id, "recovery_codes_left": user.recovery_codes.len() }),
        ),
    )
    .await;
    Ok(session_response_with(full, user, Some(cookie), Some(how)))
}

async fn check_totp(state: &AppState, user: &User, code: &str) -> Result<bool, Error> {
    let secret = totp_secret(state, user)?;
    let unix = u64::try_from(now() / 1000).unwrap_or(0);
    let last = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
    match secret.verify(code, unix, last) {
        Some(step) => Ok(state.store().use_totp_step(&user.id, i64::try_from(step).unwrap_or(i64::MAX)).await?),
        None => Ok(false),
    }
}

fn totp_secret(state: &AppState, user: &User) -> Result<signet_access::totp::TotpSecret, Error> {
    let sealed = user.totp_secret.as_deref().ok_or_else(|| Error::bad("no_mfa", "TOTP is not set up for this user"))?;
    let raw =
        state.signers().keystore().open_secret(&user.id, sealed).map_err(Error::internal("opening a TOTP secret"))?;
    let text = String::from_utf8(raw).map_err(|_| Error::bad("no_mfa", "the stored TOTP secret is unreadable"))?;
    signet_access::totp::TotpSecret::from_base32(&text).map_err(Error::internal("reading a TOTP secret"))
}

/// Set up TOTP.
///
/// The session's own user (at stage `enrol` or `full`): a new secret to add to an
/// authenticator app; it takes effect once a code from it is confirmed.
#[utoipa::path(
    post,
    path = "/auth/mfa/enrol",
    tag = "people",
    security(("session" = [])),
    responses(
        (status = 200, description = "The secret.", body = Enrolment),
        (status = 401, response = crate::openapi::Unauthenticated),
    )
)]
pub async fn mfa_enrol(State(state): State<AppState>, s: AnySession) -> Result<Json<Enrolment>, Error> {
    let AnySession { session, mut user, origin } = s;
    if session.stage == "mfa" {
        return Err(Error::bad("wrong_stage", "finish logging in first (POST /api/v1/auth/mfa)"));
    }
    // a session alone does not replace the authenticator: that takes an administrator
    if user.mfa_enabled {
        return Err(Error::bad(
            "mfa_enabled",
            "TOTP is already set up; to move it to another authenticator, an administrator resets it \
             (DELETE /api/v1/users/{id}/mfa)",
        ));
    }
    let secret = signet_access::totp::TotpSecret::generate().map_err(Error::internal("making a TOTP secret"))?;
    user.totp_secret = Some(
        state
            .signers()
            .keystore()
            .seal_secret(&user.id, secret.to_base32().as_bytes())
            .map_err(Error::internal("sealing a TOTP secret"))?,
    );
    user.mfa_enabled = false;
    let user = state.store().save_user(&user).await?;
    let tenant = state.store().tenant(&user.tenant_id).await?;
    audit(
        &state,
        AuditEntry::new(&user.tenant_id, &person_actor(&user, &origin), "mfa.enrol", "ok").target("user", &user.id),
    )
    .await;
    Ok(Json(Enrolment {
        secret: secret.to_base32(),
        otpauth_uri: secret.otpauth_uri(&format!("Signet ({})", tenant.name), &user.username),
    }))
}

/// Confirm TOTP set-up.
///
/// A current code from the new authenticator turns TOTP on and answers ten recovery codes,
/// shown only now. A session at stage `enrol` becomes a full session.
#[utoipa::path(
    post,
    path = "/auth/mfa/confirm",
    tag = "people",
    security(("session" = [])),
    request_body = ConfirmRequest,
    responses(
        (status = 200, description = "TOTP is on.", body = RecoveryCodesView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
    )
)]
pub async fn mfa_confirm(
    State(state): State<AppState>,
    s: AnySession,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Result<Response, Error> {
    let AnySession { session, mut user, origin } = s;
    if session.stage == "mfa" {
        return Err(Error::bad("wrong_stage", "finish logging in first (POST /api/v1/auth/mfa)"));
    }
    if !check_totp(&state, &user, &req.code).await? {
        audit(
            &state,
            AuditEntry::new(&user.tenant_id, &person_actor(&user, &origin), "mfa.confirm", "refused")
                .target("user", &user.id),
        )
        .await;
        return Err(Error::bad(
            "wrong_code",
            "the code does not match the new secret: check the authenticator's clock",
        ));
    }
    let codes = signet_access::recovery::RecoveryCodes::generate(signet_access::recovery::DEFAULT_COUNT)
        .map_err(Error::internal("making recovery codes"))?;
    user = state.store().user(&user.tenant_id, &user.id).await?;
    user.mfa_enabled = true;
    user.recovery_codes = codes.hashes().to_vec();
    let user = state.store().save_user(&user).await?;
    audit(
        &state,
        AuditEntry::new(&user.tenant_id, &person_actor(&user, &origin), "mfa.confirm", "ok").target("user", &user.id),
    )
    .await;
    let mut response = Json(RecoveryCodesView { recovery_codes: codes.codes().to_vec() }).into_response();
    if session.stage == "enrol" {
        state.store().login_succeeded(&user.id).await?;
        state.store().revoke_sessions(&user.id, Some(&session.id)).await?;
        state.keys().forget_sessions(&user.id, Some(&session.id));
        let (_, cookie) = new_session(&state, &user, "full", &session.via, &origin).await?;
        if let Ok(c) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, c);
        }
    }
    Ok(response)
}

fn person_actor(user: &User, origin: &(Option<String>, Option<String>)) -> signet_store::Actor {
    signet_store::Actor { kind: "user".into(), id: user.id.clone(), ip: origin.0.clone(), user_agent: origin.1.clone() }
}

/// Log out.
///
/// Ends the session (at any stage) and clears the cookie.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "people",
    security(("session" = [])),
    responses(
        (status = 204, description = "Logged out."),
        (status = 401, response = crate::openapi::Unauthenticated),
    )
)]
pub async fn logout(State(state): State<AppState>, s: AnySession) -> Result<Response, Error> {
    state.store().revoke_sessions(&s.user.id, Some(&s.session.id)).await?;
    state.keys().forget_sessions(&s.user.id, Some(&s.session.id));
    audit(
        &state,
        AuditEntry::new(&s.user.tenant_id, &person_actor(&s.user, &s.origin), "logout", "ok")
            .target("user", &s.user.id),
    )
    .await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(c) =
        HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"))
    {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(response)
}

/// The current session.
///
/// The session's stage, CSRF token and user (at any stage).
#[utoipa::path(
    get,
    path = "/auth/session",
    tag = "people",
    security(("session" = [])),
    responses(
        (status = 200, description = "The session.", body = SessionView),
        (status = 401, response = crate::openapi::Unauthenticated),
    )
)]
pub async fn current_session(s: AnySession) -> Response {
    session_response(s.session, s.user, None)
}

/// Change your password.
///
/// A full session: the current password and the new one. Other sessions of the user end.
#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "people",
    security(("session" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    s: AnySession,
    ApiJson(req): ApiJson<ChangePassword>,
) -> Result<StatusCode, Error> {
    let AnySession { session, mut user, origin } = s;
    if session.stage != "full" {
        return Err(Error::Unauthenticated("finish logging in first".into()));
    }
    let hash = user.password_hash.clone().unwrap_or_default();
    let current = req.current.clone();
    let good =
        crate::util::blocking(move || signet_access::password::verify_password(&current, &hash).unwrap_or(false))
            .await?;
    if !good {
        audit(
            &state,
            AuditEntry::new(&user.tenant_id, &person_actor(&user, &origin), "password.change", "refused")
                .target("user", &user.id),
        )
        .await;
        return Err(Error::bad("wrong_password", "the current password is wrong"));
    }
    user.password_hash = Some(hash_new_password(req.new).await?);
    let user = state.store().save_user(&user).await?;
    end_other_sessions(&state, &user, Some(&session.id)).await?;
    audit(
        &state,
        AuditEntry::new(&user.tenant_id, &person_actor(&user, &origin), "password.change", "ok")
            .target("user", &user.id),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn hash_new_password(password: String) -> Result<String, Error> {
    signet_access::password::PasswordPolicy::default()
        .check(&password)
        .map_err(|e| Error::bad("weak_password", e.to_string()))?;
    crate::util::blocking(move || {
        signet_access::password::hash_password(&password).map_err(Error::internal("hashing a password"))
    })
    .await?
}

/// Ends the user's sessions but `keep`.
async fn end_other_sessions(state: &AppState, user: &User, keep: Option<&str>) -> Result<(), Error> {
    state.store().revoke_sessions_except(&user.id, keep).await?;
    state.keys().forget_sessions(&user.id, None);
    Ok(())
}

/// Create a user.
///
/// Permission "managing users" (tenant administrators, `manage` keys).
#[utoipa::path(
    post,
    path = "/users",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, description = "The user.", body = User),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), Error> {
    let tenant = caller.may(Permission::ManageUsers)?.to_string();
    check_username(&req.username)?;
    let password_hash = match req.password {
        Some(p) => Some(hash_new_password(p).await?),
        None => None,
    };
    let new = NewUser {
        display_name: req.display_name.unwrap_or_else(|| req.username.clone()),
        username: req.username,
        email: req.email,
        roles: dedup(req.roles),
        password_hash,
        external_subject: None,
    };
    let user = state.store().create_user(&tenant, &new).await?;
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), "user.create", "ok")
            .target("user", &user.id)
            .detail(serde_json::json!({ "username": user.username, "roles": user.roles })),
    )
    .await;
    Ok((StatusCode::CREATED, Json(user)))
}

fn dedup(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort();
    roles.dedup();
    roles
}

fn check_username(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(Error::bad("bad_username", format!("user name '{name}': 1 to 64 of letters, digits, '.', '_', '-', '@'")))
    }
}

/// List users.
///
/// Permission "managing users".
///
/// API keys need the scope `manage`.
#[utoipa::path(
    get,
    path = "/users",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    responses(
        (status = 200, description = "The tenant's users.", body = Vec<User>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<User>>, Error> {
    let tenant = caller.may(Permission::ManageUsers)?;
    Ok(Json(state.store().users(tenant).await?))
}

/// A colleague, as the envelope wizard lists them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DirectoryEntry {
    /// `usr_…`.
    pub id: String,
    /// The login name.
    pub username: String,
    /// The name shown.
    pub display_name: String,
}

/// The tenant's active users, for choosing internal parties.
///
/// Names only: whoever may send envelopes (scope `sign-document`; roles signer, seal user,
/// seal administrator, tenant administrator) picks colleagues from it.
#[utoipa::path(
    get,
    path = "/users/directory",
    tag = "people",
    security(("bearer" = ["sign-document"]), ("session" = [])),
    responses(
        (status = 200, description = "The active users.", body = Vec<DirectoryEntry>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn user_directory(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<DirectoryEntry>>, Error> {
    let tenant = caller.may(Permission::SendEnvelopes)?;
    Ok(Json(
        state
            .store()
            .users(tenant)
            .await?
            .into_iter()
            .filter(|u| u.status == "active")
            .map(|u| DirectoryEntry { id: u.id, username: u.username, display_name: u.display_name })
            .collect(),
    ))
}

/// A user.
///
/// Permission "managing users", or the user themself.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`usr_…`")),
    responses(
        (status = 200, description = "The user.", body = User),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>, Error> {
    let tenant = if caller.is_user(&id) {
        caller.tenant_id.as_deref().unwrap_or("")
    } else {
        caller.may(Permission::ManageUsers)?
    };
    Ok(Json(state.store().user(tenant, &id).await?))
}

/// Change a user.
///
/// Permission "managing users". Roles and status take effect at once: a disabled user's
/// sessions end. Nobody removes their own `tenant_admin` role or disables themself.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`usr_…`")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The user.", body = User),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> Result<Json<User>, Error> {
    let tenant = caller.may(Permission::ManageUsers)?.to_string();
    let mut user = state.store().user(&tenant, &id).await?;
    let before = (user.roles.clone(), user.status.clone());
    if let Some(d) = req.display_name {
        user.display_name = d;
    }
    if let Some(e) = req.email {
        user.email = Some(e);
    }
    if let Some(r) = req.roles {
        if caller.is_user(&id) && !r.contains(&Role::TenantAdmin) {
            return Err(Error::bad("own_role", "you cannot remove your own tenant_admin role"));
        }
        user.roles = dedup(r);
    }
    if let Some(x) = req.external_subject {
        user.external_subject = if x.is_empty() { None } else { Some(x) };
    }
    if let Some(s) = req.status {
        if !matches!(s.as_str(), "active" | "disabled") {
            return Err(Error::bad("bad_status", format!("status '{s}': active or disabled")));
        }
        if caller.is_user(&id) && s == "disabled" {
            return Err(Error::bad("own_status", "you cannot disable yourself"));
        }
        user.status = s;
    }
    let user = state.store().save_user(&user).await?;
    if before != (user.roles.clone(), user.status.clone()) {
        state.keys().forget_sessions(&user.id, None);
        if user.status == "disabled" {
            state.store().revoke_sessions(&user.id, None).await?;
        }
    }
    audit(&state, AuditEntry::new(&tenant, &caller.actor(), "user.update", "ok").target("user", &user.id)
        .detail(serde_json::json!({ "roles": user.roles, "status": user.status, "roles_before": before.0, "status_before": before.1 })))
    .await;
    Ok(Json(user))
}

/// Set a user's password.
///
/// Permission "managing users". The user's sessions end.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    post,
    path = "/users/{id}/password",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`usr_…`")),
    request_body = SetPassword,
    responses(
        (status = 204, description = "Set."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SetPassword>,
) -> Result<StatusCode, Error> {
    let tenant = caller.may(Permission::ManageUsers)?.to_string();
    let mut user = state.store().user(&tenant, &id).await?;
    user.password_hash = Some(hash_new_password(req.password).await?);
    let user = state.store().save_user(&user).await?;
    end_other_sessions(&state, &user, None).await?;
    audit(&state, AuditEntry::new(&tenant, &caller.actor(), "user.password", "ok").target("user", &user.id)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Reset a user's TOTP.
///
/// Permission "managing users": TOTP off, recovery codes gone; the user enrols again (at
/// their next login when a role requires it).
///
/// API keys need the scope `manage`.
#[utoipa::path(
    delete,
    path = "/users/{id}/mfa",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`usr_…`")),
    responses(
        (status = 200, description = "The user.", body = User),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn reset_mfa(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>, Error> {
    let tenant = caller.may(Permission::ManageUsers)?.to_string();
    let mut user = state.store().user(&tenant, &id).await?;
    user.mfa_enabled = false;
    user.totp_secret = None;
    user.totp_last_step = None;
    user.recovery_codes.clear();
    let user = state.store().save_user(&user).await?;
    end_other_sessions(&state, &user, None).await?;
    audit(&state, AuditEntry::new(&tenant, &caller.actor(), "user.mfa_reset", "ok").target("user", &user.id)).await;
    Ok(Json(user))
}

/// Unlock a user.
///
/// Permission "managing users": clears the failed-login count and the lock.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    post,
    path = "/users/{id}/unlock",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`usr_…`")),
    responses(
        (status = 200, description = "The user.", body = User),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn unlock_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>, Error> {
    let tenant = caller.may(Permission::ManageUsers)?.to_string();
    state.store().user(&tenant, &id).await?;
    state.store().login_succeeded(&id).await?;
    audit(&state, AuditEntry::new(&tenant, &caller.actor(), "user.unlock", "ok").target("user", &id)).await;
    Ok(Json(state.store().user(&tenant, &id).await?))
}

/// The tenant's settings.
///
/// Permission "managing settings" (tenant administrators, `manage` keys).
#[utoipa::path(
    get,
    path = "/settings",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    responses(
        (status = 200, description = "The settings.", body = TenantSettings),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn show_settings(State(state): State<AppState>, caller: Caller) -> Result<Json<TenantSettings>, Error> {
    let tenant = caller.may(Permission::ManageSettings)?;
    Ok(Json(state.store().tenant_settings(tenant).await?))
}

/// Replace the tenant's settings.
///
/// Permission "managing settings". `mfa_required_roles`: users with any of these roles must
/// use TOTP. `sso`: tokens of this issuer, for these audiences, verified with keys from
/// `jwks_url`, log users in. `embed_origins`: the origins (`https://host[:port]`) whose pages
/// may embed the signing view.
///
/// API keys need the scope `manage`.
#[utoipa::path(
    put,
    path = "/settings",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    request_body = TenantSettings,
    responses(
        (status = 200, description = "The settings.", body = TenantSettings),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(settings): ApiJson<TenantSettings>,
) -> Result<Json<TenantSettings>, Error> {
    let tenant = caller.may(Permission::ManageSettings)?.to_string();
    crate::embed::check_origins(&settings.embed_origins)?;
    if let Some(sso) = &settings.sso {
        crate::sso::check_settings(sso)?;
        // a provider's tokens belong to one tenant: another one naming the same issuer and
        // audience would take its users
        for (other, theirs) in state.store().sso_tenants().await? {
            if other != tenant
                && theirs.issuer == sso.issuer
                && theirs.audiences.iter().any(|a| sso.audiences.contains(a))
            {
                return Err(Error::Conflict {
                    code: "sso_taken",
                    message: format!(
                        "another tenant accepts tokens of '{}' for one of these audiences: give Signet its own audience \
                         (client id) at the provider for this tenant",
                        sso.issuer
                    ),
                });
            }
        }
    }
    state.store().set_tenant_settings(&tenant, &settings).await?;
    state.sso().forget(&tenant);
    audit(
        &state,
        AuditEntry::new(&tenant, &caller.actor(), "settings.update", "ok")
            .detail(serde_json::to_value(&settings).unwrap_or_default()),
    )
    .await;
    Ok(Json(settings))
}

/// Failed logins per client address, in memory: a guessing run across many user names slows
/// down as one on a single user does.
pub struct Logins {
    throttle: signet_access::throttle::LoginThrottle,
}

impl Default for Logins {
    fn default() -> Self {
        // an address may be shared (a NAT, a proxy): more room than for one user
        let mut policy = signet_access::throttle::ThrottlePolicy::default();
        policy.max_failures = 20;
        Logins { throttle: signet_access::throttle::LoginThrottle::new(policy) }
    }
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins").finish_non_exhaustive()
    }
}

impl Logins {
    /// Refuses a client that failed too often lately.
    pub fn check(&self, key: &str) -> Result<(), Error> {
        self.throttle.check(key, std::time::Instant::now()).map_err(|retry| Error::TooManyRequests {
            message: "too many failed logins from this address: wait before trying again".into(),
            retry_after: retry.after.as_secs().max(1),
        })
    }

    /// Counts a failure.
    pub fn failure(&self, key: &str) {
        // the refusal comes with the next check
        let _ = self.throttle.failure(key, std::time::Instant::now());
    }

    /// Clears the count after a success.
    pub fn success(&self, key: &str) {
        self.throttle.success(key);
    }
}
