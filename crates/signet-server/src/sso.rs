//! Single sign-on with the organisation's identity provider: OpenID Connect ID tokens and
//! other JWT bearer tokens (RFC 7519), checked against the provider's published keys (JWKS,
//! RFC 7517, fetched again when a token names a key not seen yet: key rotation).
//!
//! A tenant sets it up in its settings (`sso`: issuer, audiences, JWKS URL, which claims give
//! the login name and the roles). A token is then accepted two ways:
//!
//! - as `Authorization: Bearer <JWT>` on any request (the document system calls Signet on
//!   behalf of its user);
//! - at `POST /api/v1/auth/sso` `{token}`, which starts a session (a browser).
//!
//! The token's user is the tenant's user linked to `iss|sub`; else the user whose login name
//! is the token's (then linked); else, when the settings allow it, a user created now. With
//! `roles_claim` set, the user's roles follow the token at every use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use base64::Engine;
use serde::Deserialize;
use signet_store::{AuditEntry, NewUser, Role, SsoSettings, User};

use crate::audit::record as audit;
use crate::auth::{Caller, Via};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// How long the list of tenants using single sign-on is reused.
const TENANTS_TTL: Duration = Duration::from_secs(30);

/// A tenant's verifier: its settings and the provider's keys.
struct TenantSso {
    settings: SsoSettings,
    verifier: signet_access::jwt::JwtVerifier,
}

/// Issuer → the tenants (id, verifier) accepting its tokens.
type ByIssuer = Arc<HashMap<String, Vec<(String, Arc<TenantSso>)>>>;

/// The verifiers of every tenant using single sign-on, by issuer.
#[derive(Default)]
pub struct SsoVerifiers {
    tenants: Mutex<Option<(Instant, ByIssuer)>>,
}

impl std::fmt::Debug for SsoVerifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoVerifiers").finish_non_exhaustive()
    }
}

impl SsoVerifiers {
    /// Forgets what is known of the tenants' settings (after a change).
    pub fn forget(&self, _tenant: &str) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, ByIssuer)>> {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tenants whose settings accept tokens of `issuer`.
    async fn for_issuer(&self, state: &AppState, issuer: &str) -> Result<Vec<(String, Arc<TenantSso>)>, Error> {
        let cached = self.lock().as_ref().filter(|(at, _)| at.elapsed() < TENANTS_TTL).map(|(_, m)| m.clone());
        let map = match cached {
            Some(m) => m,
            None => {
                // keep the verifiers (and their fetched keys) of settings that did not change
                let old = self.lock().as_ref().map(|(_, m)| m.clone());
                let mut map: HashMap<String, Vec<(String, Arc<TenantSso>)>> = HashMap::new();
                for (tenant, settings) in state.store().sso_tenants().await? {
                    let kept = old.as_ref().and_then(|o| {
                        o.get(&settings.issuer)?.iter().find(|(t, s)| *t == tenant && s.settings == settings).cloned()
                    });
                    let entry = match kept {
                        Some(k) => k,
                        None => match verifier(&settings) {
                            Ok(v) => (tenant.clone(), Arc::new(TenantSso { settings: settings.clone(), verifier: v })),
                            Err(e) => {
                                tracing::error!("tenant {tenant}: single sign-on settings unusable: {e}");
                                continue;
                            }
                        },
                    };
                    map.entry(settings.issuer.clone()).or_default().push(entry);
                }
                let map = Arc::new(map);
                *self.lock() = Some((Instant::now(), map.clone()));
                map
            }
        };
        Ok(map.get(issuer).cloned().unwrap_or_default())
    }
}

fn verifier(s: &SsoSettings) -> Result<signet_access::jwt::JwtVerifier, Error> {
    let issuer = signet_access::jwt::JwtIssuer::new(&s.issuer, s.audiences.clone(), &s.jwks_url);
    signet_access::jwt::JwtVerifier::new(issuer).map_err(|e| Error::bad("bad_sso", e.to_string()))
}

/// Refuses settings that cannot work: no issuer, audience or JWKS URL, or a URL that is not
/// http(s).
pub fn check_settings(s: &SsoSettings) -> Result<(), Error> {
    if s.issuer.trim().is_empty() {
        return Err(Error::bad("bad_sso", "sso.issuer is empty"));
    }
    if s.audiences.is_empty() || s.audiences.iter().any(|a| a.trim().is_empty()) {
        return Err(Error::bad("bad_sso", "sso.audiences needs at least one non-empty audience"));
    }
    if !(s.jwks_url.starts_with("https://") || s.jwks_url.starts_with("http://")) {
        return Err(Error::bad("bad_sso", format!("sso.jwks_url '{}' is not an http(s) URL", s.jwks_url)));
    }
    verifier(s).map(|_| ())
}

/// The unverified `iss` of a compact JWT (to pick the tenants whose keys may verify it).
fn issuer_of(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    if payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    serde_json::from_slice::<Iss>(&bytes).ok()?.iss
}

/// The caller a token of an identity provider stands for.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    origin: (Option<String>, Option<String>),
) -> Result<Caller, Error> {
    let (_, user) = user_of(state, token, &origin).await?;
    Ok(Caller {
        id: user.id,
        tenant_id: Some(user.tenant_id),
        scopes: Vec::new(),
        roles: user.roles,
        via: Via::Sso,
        session_id: None,
        ip: origin.0,
        user_agent: origin.1,
    })
}

/// Verifies `token` for a tenant and finds (or links, or creates) its user.
async fn user_of(
    state: &AppState,
    token: &str,
    origin: &(Option<String>, Option<String>),
) -> Result<(String, User), Error> {
    let issuer = issuer_of(token)
        .ok_or_else(|| Error::Unauthenticated("the bearer token is not a JWT with an 'iss' claim".into()))?;
    let candidates = state.sso().for_issuer(state, &issuer).await?;
    if candidates.is_empty() {
        return Err(Error::Unauthenticated(format!("no tenant accepts tokens of issuer '{issuer}'")));
    }
    let mut last = None;
    let mut accepted = Vec::new();
    for (tenant, sso) in candidates {
        match sso.verifier.verify(token, std::time::SystemTime::now()).await {
            Ok(claims) => accepted.push((tenant, sso, claims)),
            Err(e) => last = Some((tenant, e)),
        }
    }
    // settings keep issuer and audience to one tenant; should two still accept, refuse
    if accepted.len() > 1 {
        return Err(Error::Unauthenticated(format!("more than one tenant accepts this token of '{issuer}'")));
    }
    if let Some((tenant, sso, claims)) = accepted.pop() {
        let user = match_user(state, &tenant, &sso.settings, &claims, origin).await?;
        return Ok((tenant, user));
    }
    let (tenant, e) = last.ok_or_else(|| Error::Unauthenticated("no tenant accepted the token".into()))?;
    // the log records refusals of tokens the provider really signed (expired, for another
    // audience…); forged or garbled ones would let anyone write to a tenant's log
    use signet_access::Error as E;
    let signed = matches!(
        e,
        E::Expired { .. }
            | E::NotYetValid { .. }
            | E::IssuedInFuture { .. }
            | E::WrongAudience { .. }
            | E::WrongIssuer { .. }
            | E::WrongAuthorizedParty { .. }
            | E::MissingClaim(_)
    );
    if signed {
        let actor = crate::auth::anonymous(origin.clone(), &issuer);
        let entry = AuditEntry::new(&tenant, &actor, "login.sso", "refused");
        audit(state, entry.detail(serde_json::json!({ "reason": e.to_string() }))).await;
    } else {
        tracing::info!("tenant {tenant}: a token of '{issuer}' refused: {e}");
    }
    Err(Error::Unauthenticated(format!("the token of '{issuer}' is refused: {e}")))
}

async fn match_user(
    state: &AppState,
    tenant: &str,
    s: &SsoSettings,
    claims: &signet_access::jwt::Claims,
    origin: &(Option<String>, Option<String>),
) -> Result<User, Error> {
    let subject = format!("{}|{}", claims.iss(), claims.sub());
    let username = match &s.username_claim {
        Some(c) => claim_text(claims, c),
        // an address names the user only when the provider says it checked it
        None => claim_text(claims, "preferred_username")
            .or_else(|| claims.email_verified().filter(|v| *v).and_then(|_| claim_text(claims, "email")))
            .or_else(|| Some(claims.sub().to_string())),
    }
    .ok_or_else(|| Error::Unauthenticated("the token has no claim to name the user".into()))?;
    let roles: Option<Vec<Role>> = s.roles_claim.as_ref().map(|c| {
        let mut roles: Vec<Role> = claims.strings(c).iter().filter_map(|v| s.role_map.get(*v).copied()).collect();
        roles.sort();
        roles.dedup();
        roles
    });
    let actor = |id: &str| signet_store::Actor {
        kind: "sso".into(),
        id: id.into(),
        ip: origin.0.clone(),
        user_agent: origin.1.clone(),
    };
    let mut user = match state.store().user_by_subject(tenant, &subject).await? {
        Some(u) => u,
        None => match state.store().user_by_name(tenant, &username).await {
            // linked by name only when the user has no password: an account someone logs in to
            // with a password is linked by an administrator (PATCH /users/{id}
            // external_subject), so a name at the provider cannot take it over
            Ok(mut u) if u.external_subject.is_none() && u.password_hash.is_none() => {
                u.external_subject = Some(subject.clone());
                let u = state.store().save_user(&u).await?;
                audit(
                    state,
                    AuditEntry::new(tenant, &actor(&u.id), "user.sso_link", "ok")
                        .target("user", &u.id)
                        .detail(serde_json::json!({ "subject": subject })),
                )
                .await;
                u
            }
            Ok(_) => {
                return Err(Error::Unauthenticated(format!(
                    "user '{username}' has a password or another identity provider account: an administrator links \
                     it (external_subject)"
                )));
            }
            Err(signet_store::Error::NotFound(_)) if s.create_users => {
                let new = NewUser {
                    username: username.clone(),
                    display_name: claim_text(claims, "name").unwrap_or_else(|| username.clone()),
                    email: claim_text(claims, "email"),
                    roles: match &roles {
                        Some(r) if !r.is_empty() => r.clone(),
                        _ => s.default_roles.clone(),
                    },
                    password_hash: None,
                    external_subject: Some(subject.clone()),
                };
                let u = state.store().create_user(tenant, &new).await?;
                audit(
                    state,
                    AuditEntry::new(tenant, &actor(&u.id), "user.create", "ok")
                        .target("user", &u.id)
                        .detail(serde_json::json!({ "via": "sso", "subject": subject, "roles": u.roles })),
                )
                .await;
                u
            }
            Err(signet_store::Error::NotFound(_)) => {
                return Err(Error::Unauthenticated(format!(
                    "no user '{username}' in this tenant, and single sign-on does not create users"
                )));
            }
            Err(e) => return Err(e.into()),
        },
    };
    if user.status != "active" {
        return Err(Error::Unauthenticated(format!("user '{}' is disabled", user.username)));
    }
    if let Some(r) = roles.filter(|r| *r != user.roles) {
        let before = std::mem::replace(&mut user.roles, r);
        user = state.store().set_user_roles(tenant, &user.id, &user.roles).await?;
        state.keys().forget_sessions(&user.id, None);
        audit(
            state,
            AuditEntry::new(tenant, &actor(&user.id), "user.update", "ok")
                .target("user", &user.id)
                .detail(serde_json::json!({ "via": "sso", "roles": user.roles, "roles_before": before })),
        )
        .await;
    }
    Ok(user)
}

/// A claim's text value.
fn claim_text(claims: &signet_access::jwt::Claims, name: &str) -> Option<String> {
    claims.get(name).and_then(serde_json::Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// `POST /auth/sso` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoLogin {
    /// An ID token (or other JWT) of the tenant's identity provider.
    pub token: String,
}

/// Log in with the identity provider.
///
/// No credentials but the token: a full session for its user (the provider did the
/// authentication, its own MFA included), as `POST /auth/login` answers.
#[utoipa::path(
    post,
    path = "/auth/sso",
    tag = "people",
    request_body = SsoLogin,
    responses(
        (status = 200, description = "Logged in.", body = crate::people::SessionView),
        (status = 401, response = crate::openapi::Unauthenticated),
    )
)]
pub async fn sso_login(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(req): ApiJson<SsoLogin>,
) -> Result<Response, Error> {
    let origin = crate::auth::origin(&parts);
    let (tenant, user) = user_of(&state, req.token.trim(), &origin).await?;
    let (session, cookie) = crate::people::new_session(&state, &user, "full", "sso", &origin).await?;
    let actor = signet_store::Actor {
        kind: "sso".into(),
        id: user.id.clone(),
        ip: origin.0.clone(),
        user_agent: origin.1.clone(),
    };
    audit(
        &state,
        AuditEntry::new(&tenant, &actor, "login", "ok")
            .target("user", &user.id)
            .detail(serde_json::json!({ "via": "sso", "session": session.id })),
    )
    .await;
    Ok(crate::people::session_response(session, user, Some(cookie)))
}
