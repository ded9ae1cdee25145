//! Who is asking, and what they may do.
//!
//! Three ways in, one [`Caller`]:
//!
//! - **API keys** for systems: `Authorization: Bearer sgk_…`. A key's secret is 160 random
//!   bits, stored only as its SHA-256 (a slow password hash adds nothing to a secret that
//!   cannot be guessed). What a key may do is its scopes.
//! - **Sessions** for people: the `signet_session` cookie (HttpOnly, Secure, SameSite=Strict)
//!   set at login (`crate::people`). A request that changes something must also send the
//!   session's CSRF token in `X-CSRF-Token`. A session is usable once the login is complete
//!   (password, then TOTP when the user has it or a role requires it).
//! - **Single sign-on**: `Authorization: Bearer <JWT>` from the tenant's identity provider
//!   (`crate::sso`), mapped to a user of the tenant.
//! - **Client certificates** over TLS (`signet serve --tls-cert`): a request with neither of
//!   the above whose client presented a certificate registered to the tenant, with scopes as an
//!   API key (`crate::client_certs`).
//!
//! What a person may do is their roles ([`Role`]); [`Caller::may`] is the one place where
//! scopes and roles meet a [`Permission`]. Checked keys and sessions are kept in memory for
//! [`CACHE_TTL`]; revoking one through the API drops it from this process's cache at once,
//! and other processes sharing the database see the revocation within the TTL.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use signet_store::{Actor, ApiKey, ClientCertificateRecord, Role, Scope, Session, Store, User};

use crate::{AppState, Error};

/// How long a checked key or session is trusted without asking the database again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "signet_session";

/// The header carrying a session's CSRF token on requests that change something.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller got in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// An API key of a tenant.
    ApiKey,
    /// An operator key (no tenant).
    Operator,
    /// A login session.
    Session,
    /// A token of the tenant's identity provider.
    Sso,
    /// A TLS client certificate registered to the tenant.
    ClientCertificate,
}

impl Via {
    /// Its name in the signing log (`actor_kind`).
    pub fn name(self) -> &'static str {
        match self {
            Via::ApiKey | Via::Operator => "api_key",
            Via::Session => "user",
            Via::Sso => "sso",
            Via::ClientCertificate => "client_certificate",
        }
    }
}

/// Something a caller may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `POST /sign-hash`.
    SignHash,
    /// Sign documents through the agent and batches (with identities, or seals under a grant).
    SignDocument,
    /// Upload documents and read the tenant's documents and batches.
    ReadDocuments,
    /// Read identities (names, certificates).
    ReadIdentities,
    /// Create identities.
    ManageIdentities,
    /// Seal images and placement templates.
    ManageAssets,
    /// Create, change, suspend and revoke seals; grant their use.
    ManageSeals,
    /// Read seals and grants.
    ReadSeals,
    /// Ask to use a seal (a seal-use request).
    RequestSealUse,
    /// Approve or reject seal-use requests.
    DecideSealUse,
    /// Users and their roles.
    ManageUsers,
    /// The tenant's API keys.
    ManageKeys,
    /// Tenant settings (MFA, single sign-on) and webhooks.
    ManageSettings,
    /// The signing log and usage.
    ReadAudit,
    /// Create, send, void and remind envelopes.
    SendEnvelopes,
    /// Read envelopes, their history and documents.
    ReadEnvelopes,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 16] = [
        Permission::SignHash,
        Permission::SignDocument,
        Permission::ReadDocuments,
        Permission::ReadIdentities,
        Permission::ManageIdentities,
        Permission::ManageAssets,
        Permission::ManageSeals,
        Permission::ReadSeals,
        Permission::RequestSealUse,
        Permission::DecideSealUse,
        Permission::ManageUsers,
        Permission::ManageKeys,
        Permission::ManageSettings,
        Permission::ReadAudit,
        Permission::SendEnvelopes,
        Permission::ReadEnvelopes,
    ];

    /// What it is, for refusals.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::SignHash => "signing digests",
            Permission::SignDocument => "signing documents",
            Permission::ReadDocuments => "reading documents",
            Permission::ReadIdentities => "reading identities",
            Permission::ManageIdentities => "managing identities",
            Permission::ManageAssets => "managing seal images and templates",
            Permission::ManageSeals => "managing seals",
            Permission::ReadSeals => "reading seals",
            Permission::RequestSealUse => "asking to use a seal",
            Permission::DecideSealUse => "deciding seal-use requests",
            Permission::ManageUsers => "managing users",
            Permission::ManageKeys => "managing API keys",
            Permission::ManageSettings => "managing settings and webhooks",
            Permission::ReadAudit => "reading the signing log and usage",
            Permission::SendEnvelopes => "sending envelopes",
            Permission::ReadEnvelopes => "reading envelopes",
        }
    }

    /// The API key scopes that give it (none: people only).
    pub fn scopes(self) -> &'static [Scope] {
        use Permission::*;
        match self {
            SignHash => &[Scope::SignHash],
            SignDocument => &[Scope::SignDocument],
            ReadDocuments => &[Scope::SignDocument, Scope::Manage],
            ReadIdentities => &Scope::TENANT,
            ReadSeals => &Scope::TENANT,
            RequestSealUse => &[Scope::SignDocument, Scope::SignHash],
            ManageIdentities | ManageAssets | ManageSeals | ManageUsers | ManageKeys | ManageSettings | ReadAudit => {
                &[Scope::Manage]
            }
            // a person decides
            DecideSealUse => &[],
            SendEnvelopes => &[Scope::SignDocument],
            ReadEnvelopes => &[Scope::SignDocument, Scope::Manage],
        }
    }

    /// The roles that give it.
    pub fn roles(self) -> &'static [Role] {
        use Permission::*;
        use Role::*;
        match self {
            // hash signing is for systems
            SignHash => &[],
            SignDocument => &[Signer, SealUser],
            ReadDocuments => &[Signer, SealUser, SealAdmin, TenantAdmin, Auditor],
            ReadIdentities => &[Signer, SealUser, SealAdmin, TenantAdmin, Auditor],
            ManageIdentities => &[SealAdmin],
            ManageAssets => &[SealAdmin, TenantAdmin],
            ManageSeals => &[SealAdmin],
            ReadSeals => &[Signer, SealUser, SealAdmin, TenantAdmin, Auditor],
            RequestSealUse => &[Signer, SealUser],
            DecideSealUse => &[SealAdmin],
            ManageUsers | ManageKeys | ManageSettings => &[TenantAdmin],
            ReadAudit => &[Auditor, TenantAdmin],
            SendEnvelopes => &[Signer, SealUser, SealAdmin, TenantAdmin],
            ReadEnvelopes => &[Signer, SealUser, SealAdmin, TenantAdmin, Auditor],
        }
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The API key's (`key_…`) or user's (`usr_…`) id: recorded as the actor of what it does.
    pub id: String,
    /// Its tenant; `None` for operator keys.
    pub tenant_id: Option<String>,
    /// An API key's scopes (none for people).
    pub scopes: Vec<Scope>,
    /// A person's roles (none for keys).
    pub roles: Vec<Role>,
    /// How they got in.
    pub via: Via,
    /// The session, for people logged in.
    pub session_id: Option<String>,
    /// The client's address, when known.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

impl Caller {
    /// Whether the caller is a person (a session or a single sign-on token).
    pub fn is_person(&self) -> bool {
        matches!(self.via, Via::Session | Via::Sso)
    }

    /// Whether the caller may do `p` (in their tenant).
    pub fn allows(&self, p: Permission) -> bool {
        if self.tenant_id.is_none() {
            return false;
        }
        if self.is_person() {
            p.roles().iter().any(|r| self.roles.contains(r))
        } else {
            p.scopes().iter().any(|s| self.scopes.contains(s))
        }
    }

    /// The caller's tenant, if they may do `p`; else the error that says what is missing.
    pub fn may(&self, p: Permission) -> Result<&str, Error> {
        let Some(tenant) = self.tenant_id.as_deref() else {
            return Err(Error::Forbidden(format!(
                "{} is done with a tenant's key or by a tenant's user, not with an operator key",
                p.describe()
            )));
        };
        if self.allows(p) {
            return Ok(tenant);
        }
        let list = |names: Vec<&str>| if names.is_empty() { "none".to_string() } else { names.join(", ") };
        Err(Error::Forbidden(if self.is_person() {
            let has: Vec<&str> = self.roles.iter().map(|r| r.name()).collect();
            let needs: Vec<&str> = p.roles().iter().map(|r| r.name()).collect();
            if needs.is_empty() {
                format!("{} is done with an API key, not by a person", p.describe())
            } else {
                format!("{} needs one of the roles {}; you have {}", p.describe(), needs.join(", "), list(has))
            }
        } else {
            let needs: Vec<&str> = p.scopes().iter().map(|s| s.name()).collect();
            if needs.is_empty() {
                format!("{} is done by a person (a seal administrator), not with an API key", p.describe())
            } else if needs.len() == 1 {
                format!("this API key lacks the '{}' scope ({})", needs[0], p.describe())
            } else {
                format!("this API key has none of the scopes {} ({})", needs.join(", "), p.describe())
            }
        }))
    }

    /// Succeeds for operator keys.
    pub fn require_admin(&self) -> Result<(), Error> {
        if self.via == Via::Operator && self.scopes.contains(&Scope::Admin) {
            Ok(())
        } else {
            Err(Error::Forbidden("this needs an operator key (scope 'admin')".into()))
        }
    }

    /// The caller as the actor of a signing-log entry.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: self.via.name().into(),
            id: self.id.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
        }
    }

    /// Whether the caller is this user.
    pub fn is_user(&self, user_id: &str) -> bool {
        self.is_person() && self.id == user_id
    }
}

/// Where a request comes from: the peer's address and its `User-Agent`.
pub fn origin(parts: &Parts) -> (Option<String>, Option<String>) {
    let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let ua = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect::<String>());
    (ip, ua)
}

/// An anonymous actor at a request's origin (failed logins).
pub fn anonymous(parts_origin: (Option<String>, Option<String>), tried: &str) -> Actor {
    Actor {
        kind: "anonymous".into(),
        id: tried.chars().take(128).collect(),
        ip: parts_origin.0,
        user_agent: parts_origin.1,
    }
}

/// A checked session with its user, and when it was read.
type CachedSession = ((Session, User), Instant);

/// Checked keys and sessions by id, and client certificates' registrations (or their absence)
/// by fingerprint.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, (ApiKey, Instant)>>,
    sessions: Mutex<HashMap<String, CachedSession>>,
    certificates: Mutex<HashMap<String, (Option<ClientCertificateRecord>, Instant)>>,
}

impl KeyCache {
    /// The caller holding API key `token`, or why not.
    pub async fn authenticate(&self, store: &Store, token: &str) -> Result<Caller, Error> {
        let (id, secret) = signet_store::split_token(token)
            .ok_or_else(|| Error::Unauthenticated("the bearer token is not a Signet API key (sgk_…)".into()))?;
        let cached = lock(&self.keys).get(&id).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(k, _)| k.clone());
        let key = match cached {
            Some(k) => k,
            None => {
                let key = match store.api_key(&id).await {
                    Ok(k) => k,
                    Err(signet_store::Error::NotFound(_)) => {
                        return Err(Error::Unauthenticated("unknown API key".into()));
                    }
                    Err(e) => return Err(e.into()),
                };
                remember(&mut lock(&self.keys), id.clone(), key.clone());
                key
            }
        };
        if !key.secret_matches(secret) {
            return Err(Error::Unauthenticated("unknown API key".into()));
        }
        if key.revoked_at.is_some() {
            return Err(Error::Unauthenticated(format!("API key {} was revoked", key.id)));
        }
        let via = if key.tenant_id.is_some() { Via::ApiKey } else { Via::Operator };
        Ok(Caller {
            id: key.id,
            tenant_id: key.tenant_id,
            scopes: key.scopes,
            roles: Vec::new(),
            via,
            session_id: None,
            ip: None,
            user_agent: None,
        })
    }

    /// The session of cookie value `ses_ID.SECRET` and its user, whatever its stage, or why
    /// not.
    pub async fn session(&self, store: &Store, cookie: &str) -> Result<(Session, User), Error> {
        let gone = || Error::Unauthenticated("the session has ended: log in again".into());
        let (id, secret) = cookie.split_once('.').ok_or_else(gone)?;
        let cached = lock(&self.sessions).get(id).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(s, _)| s.clone());
        let (session, user) = match cached {
            Some(s) => s,
            None => {
                let session = match store.session(id).await {
                    Ok(s) => s,
                    Err(signet_store::Error::NotFound(_)) => return Err(gone()),
                    Err(e) => return Err(e.into()),
                };
                let user = store.user(&session.tenant_id, &session.user_id).await?;
                remember(&mut lock(&self.sessions), id.to_string(), (session.clone(), user.clone()));
                (session, user)
            }
        };
        if !crate::util::constant_time_eq(
            signet_store::sha256_hex(secret.as_bytes()).as_bytes(),
            session.secret_hash.as_bytes(),
        ) {
            return Err(gone());
        }
        if session.revoked_at.is_some() || session.expires_at <= signet_store::now_millis() {
            return Err(gone());
        }
        if user.status != "active" {
            return Err(Error::Unauthenticated(format!("user '{}' is disabled", user.username)));
        }
        Ok((session, user))
    }

    /// The live API-client registration of the client certificate with this fingerprint, if
    /// any (users' second factors are looked up at login, not here).
    pub async fn client_certificate(
        &self,
        store: &Store,
        fingerprint: &str,
    ) -> Result<Option<ClientCertificateRecord>, Error> {
        let cached = lock(&self.certificates)
            .get(fingerprint)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(r, _)| r.clone());
        if let Some(record) = cached {
            return Ok(record);
        }
        let record = match store.client_certificate_by_fingerprint(fingerprint).await {
            Ok(r) => Some(r),
            Err(signet_store::Error::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        remember(&mut lock(&self.certificates), fingerprint.to_string(), record.clone());
        Ok(record)
    }

    /// Forgets what is known of a client certificate (after its registration changed).
    pub fn forget_client_certificate(&self, fingerprint: &str) {
        lock(&self.certificates).remove(fingerprint);
    }

    /// Forgets a key (after a revocation).
    pub fn forget(&self, id: &str) {
        lock(&self.keys).remove(id);
    }

    /// Forgets sessions (after a logout, a role change or a disabled user): one by id, or
    /// every session of `user_id`.
    pub fn forget_sessions(&self, user_id: &str, id: Option<&str>) {
        let mut sessions = lock(&self.sessions);
        match id {
            Some(id) => {
                sessions.remove(id);
            }
            None => sessions.retain(|_, ((s, _), _)| s.user_id != user_id),
        }
    }
}

/// Entries kept before the stale ones are dropped: a cache of every key or session seen would
/// otherwise grow for as long as the process runs.
const CACHE_ENTRIES: usize = 10_000;

/// Caches `value` under `key`, dropping the stale entries first when the cache is full.
fn remember<V>(map: &mut HashMap<String, (V, Instant)>, key: String, value: V) {
    if map.len() >= CACHE_ENTRIES {
        map.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        if map.len() >= CACHE_ENTRIES {
            map.clear();
        }
    }
    map.insert(key, (value, Instant::now()));
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        line.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
    })
}

/// The login session of a request, whatever its stage (for the MFA steps of a login).
#[derive(Clone, Debug)]
pub struct AnySession {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
    /// Where the request came from.
    pub origin: (Option<String>, Option<String>),
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let value = cookie(parts, SESSION_COOKIE)
            .ok_or_else(|| Error::Unauthenticated(format!("log in first (no {SESSION_COOKIE} cookie)")))?;
        let (session, _) = state.keys().session(state.store(), value).await?;
        check_csrf(parts, &session)?;
        // the steps of a login change the user (TOTP secret, recovery codes): read it fresh
        let user = state.store().user(&session.tenant_id, &session.user_id).await?;
        Ok(AnySession { session, user, origin: origin(parts) })
    }
}

fn check_csrf(parts: &Parts, session: &Session) -> Result<(), Error> {
    csrf_checked(parts, &session.csrf, "the session's CSRF token (given at login)")
}

/// A request that changes something (not GET, HEAD or OPTIONS) must repeat `expected` in
/// [`CSRF_HEADER`]; `what` names the token in the refusal.
pub(crate) fn csrf_checked(parts: &Parts, expected: &str, what: &str) -> Result<(), Error> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if crate::util::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("a request that changes something must send {what} in {CSRF_HEADER}")))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let mut caller = match parts.headers.get(header::AUTHORIZATION) {
            Some(header) => {
                let value = header
                    .to_str()
                    .map_err(|_| Error::Unauthenticated("the Authorization header is not text".into()))?;
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .ok_or_else(|| Error::Unauthenticated("the Authorization header must be 'Bearer …'".into()))?
                    .trim();
                if token.starts_with("sgk_") {
                    state.keys().authenticate(state.store(), token).await?
                } else if token.split('.').count() == 3 {
                    crate::sso::authenticate(state, token, origin(parts)).await?
                } else {
                    return Err(Error::Unauthenticated(
                        "the bearer token is neither a Signet API key (sgk_…) nor a JWT".into(),
                    ));
                }
            }
            None => match cookie(parts, SESSION_COOKIE) {
                Some(value) => {
                    let (session, user) = state.keys().session(state.store(), value).await?;
                    if session.stage != "full" {
                        return Err(Error::Unauthenticated(if session.stage == "enrol" {
                            "set up two-factor authentication first (POST /api/v1/auth/mfa/enrol)".into()
                        } else {
                            "finish logging in: send the code of your authenticator (POST /api/v1/auth/mfa)".into()
                        }));
                    }
                    check_csrf(parts, &session)?;
                    Caller {
                        id: user.id,
                        tenant_id: Some(user.tenant_id),
                        scopes: Vec::new(),
                        roles: user.roles,
                        via: Via::Session,
                        session_id: Some(session.id),
                        ip: None,
                        user_agent: None,
                    }
                }
                None => match parts.extensions.get::<crate::tls::ClientCertificate>() {
                    // the TLS layer verified it (chain, validity); its registration decides
                    Some(certificate) => crate::client_certs::authenticate(state, certificate, parts).await?,
                    None => {
                        return Err(Error::Unauthenticated(
                            "send an API key (Authorization: Bearer sgk_…), a token of your identity provider, or log \
                             in"
                            .into(),
                        ));
                    }
                },
            },
        };
        let (ip, ua) = origin(parts);
        caller.ip = ip;
        caller.user_agent = ua;
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(roles: &[Role]) -> Caller {
        Caller {
            id: "usr_1".into(),
            tenant_id: Some("tn_1".into()),
            scopes: vec![],
            roles: roles.to_vec(),
            via: Via::Session,
            session_id: None,
            ip: None,
            user_agent: None,
        }
    }

    #[test]
    fn caches_stay_bounded() {
        let mut map = HashMap::new();
        for i in 0..CACHE_ENTRIES + 5 {
            remember(&mut map, i.to_string(), i);
        }
        assert!(map.len() <= CACHE_ENTRIES, "{}", map.len());
        assert!(map.contains_key(&(CACHE_ENTRIES + 4).to_string()));
    }

    #[test]
    fn auditors_change_nothing() {
        let auditor = person(&[Role::Auditor]);
        for p in Permission::ALL {
            let reads = matches!(
                p,
                Permission::ReadAudit
                    | Permission::ReadDocuments
                    | Permission::ReadIdentities
                    | Permission::ReadSeals
                    | Permission::ReadEnvelopes
            );
            assert_eq!(auditor.allows(p), reads, "{p:?}");
        }
    }

    #[test]
    fn refusals_say_what_is_missing() {
        let e = person(&[Role::Signer]).may(Permission::ManageSeals).unwrap_err().to_string();
        assert!(e.contains("seal_admin") && e.contains("signer"), "{e}");
        let key = Caller { via: Via::ApiKey, scopes: vec![Scope::SignHash], roles: vec![], ..person(&[]) };
        let e = key.may(Permission::ManageUsers).unwrap_err().to_string();
        assert!(e.contains("'manage'"), "{e}");
        let e = key.may(Permission::DecideSealUse).unwrap_err().to_string();
        assert!(e.contains("by a person"), "{e}");
    }
}
