//! Who is asking: API keys sent as `Authorization: Bearer sgk_…`.
//!
//! A key's secret is 160 random bits, stored only as its SHA-256 (a slow password hash adds
//! nothing to a secret that cannot be guessed). Checked keys are kept in memory for
//! [`KEY_CACHE_TTL`]; revoking a key through the API drops it from this process's cache at
//! once, and other processes sharing the database see the revocation within the TTL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use signet_store::{ApiKey, Scope, Store};

use crate::{AppState, Error};

/// How long a checked key is trusted without asking the database again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The API key's id (`key_…`): recorded as the caller of what it does.
    pub key_id: String,
    /// Its tenant; `None` for operator keys.
    pub tenant_id: Option<String>,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// The caller's tenant, if it has `scope`; else the error that says what is missing.
    pub fn tenant_with(&self, scope: Scope) -> Result<&str, Error> {
        if !self.scopes.contains(&scope) {
            return Err(Error::Forbidden(format!("this API key lacks the '{scope}' scope")));
        }
        self.tenant_id
            .as_deref()
            .ok_or_else(|| Error::Forbidden(format!("'{scope}' is done with a tenant's key, not an operator key")))
    }

    /// The caller's tenant, if it holds any of `scopes`.
    pub fn tenant_with_any(&self, scopes: &[Scope]) -> Result<&str, Error> {
        for scope in scopes {
            if let Ok(t) = self.tenant_with(*scope) {
                return Ok(t);
            }
        }
        let names: Vec<&str> = scopes.iter().map(|s| s.name()).collect();
        Err(Error::Forbidden(format!("this API key has none of the scopes {}", names.join(", "))))
    }

    /// Succeeds for operator keys.
    pub fn require_admin(&self) -> Result<(), Error> {
        if self.scopes.contains(&Scope::Admin) && self.tenant_id.is_none() {
            Ok(())
        } else {
            Err(Error::Forbidden("this needs an operator key (scope 'admin')".into()))
        }
    }
}

/// Checked keys by id.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, (ApiKey, Instant)>>,
}

impl KeyCache {
    /// The caller holding `token`, or why not.
    pub async fn authenticate(&self, store: &Store, token: &str) -> Result<Caller, Error> {
        let (id, secret) = signet_store::split_token(token)
            .ok_or_else(|| Error::Unauthenticated("the bearer token is not a Signet API key (sgk_…)".into()))?;
        let cached = self.lock().get(&id).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(k, _)| k.clone());
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
                self.lock().insert(id.clone(), (key.clone(), Instant::now()));
                key
            }
        };
        if !key.secret_matches(secret) {
            return Err(Error::Unauthenticated("unknown API key".into()));
        }
        if key.revoked_at.is_some() {
            return Err(Error::Unauthenticated(format!("API key {} was revoked", key.id)));
        }
        Ok(Caller { key_id: key.id, tenant_id: key.tenant_id, scopes: key.scopes })
    }

    /// Forgets a key (after a revocation).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (ApiKey, Instant)>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| Error::Unauthenticated("send an API key: Authorization: Bearer sgk_…".into()))?;
        let value =
            header.to_str().map_err(|_| Error::Unauthenticated("the Authorization header is not text".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| Error::Unauthenticated("the Authorization header must be 'Bearer sgk_…'".into()))?;
        state.keys().authenticate(state.store(), token.trim()).await
    }
}
