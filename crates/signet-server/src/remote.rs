//! The agent's client of a remote hash-signing API (`signet serve --sign-api-url URL
//! --sign-api-key-env VAR`): only digests go out; CMS, timestamps and validation data come
//! back. Blocking (`ureq`), called from the signing threads.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Error;
use crate::identities::IdentityView;
use crate::signhash::{SignHashRequest, SignHashResponse};

/// How long an identity's certificates are reused before asking again.
const IDENTITY_TTL: Duration = Duration::from_secs(60);
/// Largest answer read from the remote API.
const MAX_ANSWER: u64 = 4 << 20;

/// A remote Signet's sign API.
pub struct RemoteSignApi {
    base: String,
    token: String,
    agent: ureq::Agent,
    identities: Mutex<HashMap<String, (IdentityView, Instant)>>,
}

impl std::fmt::Debug for RemoteSignApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSignApi").field("base", &self.base).finish_non_exhaustive()
    }
}

impl RemoteSignApi {
    /// The API at `base` (e.g. `http://sign.example:8080`), authenticated with `token`.
    pub fn new(base: &str, token: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .user_agent(concat!("signet-agent/", env!("CARGO_PKG_VERSION")))
            .build();
        RemoteSignApi {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent: config.into(),
            identities: Mutex::new(HashMap::new()),
        }
    }

    /// The remote identity (certificates and CMS size), cached for a minute.
    pub fn identity(&self, name: &str) -> Result<IdentityView, Error> {
        if let Some((v, at)) = self.lock().get(name) {
            if at.elapsed() < IDENTITY_TTL {
                return Ok(v.clone());
            }
        }
        let url = format!("{}/api/v1/identities/{name}", self.base);
        let resp = self.agent.get(&url).header("Authorization", &format!("Bearer {}", self.token)).call();
        let view: IdentityView = self.answer(&url, resp)?;
        self.lock().insert(name.to_string(), (view.clone(), Instant::now()));
        Ok(view)
    }

    /// `POST /api/v1/sign-hash`.
    pub fn sign_hash(&self, request: &SignHashRequest) -> Result<SignHashResponse, Error> {
        let url = format!("{}/api/v1/sign-hash", self.base);
        let body = serde_json::to_vec(request).map_err(|e| Error::Upstream(e.to_string()))?;
        let resp = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(&body[..]);
        self.answer(&url, resp)
    }

    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, Error> {
        let mut resp = resp.map_err(|e| Error::Upstream(format!("the sign API at {url} is unreachable: {e}")))?;
        let status = resp.status().as_u16();
        let retry_after =
            resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let mut body = Vec::new();
        resp.body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .reader()
            .read_to_end(&mut body)
            .map_err(|e| Error::Upstream(format!("reading the answer of {url}: {e}")))?;
        if status == 200 {
            return serde_json::from_slice(&body).map_err(|e| Error::Upstream(format!("the answer of {url}: {e}")));
        }
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        Err(match status {
            429 => Error::TooManyRequests {
                message: format!("the sign API: {message}"),
                retry_after: retry_after.unwrap_or(1),
            },
            404 => Error::Missing(format!("the sign API: {message}")),
            400..=499 => Error::bad("sign_api_refused", format!("the sign API answered {status}: {message}")),
            _ => Error::Upstream(format!("the sign API answered {status}: {message}")),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (IdentityView, Instant)>> {
        self.identities.lock().unwrap_or_else(|p| p.into_inner())
    }
}
