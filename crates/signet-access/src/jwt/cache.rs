//! Where an issuer's keys come from, and how long they are kept.

use std::future::Future;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

use crate::Error;
use crate::jwt::{Algorithm, Jwks};

/// The largest JWKS document read.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// How long a JWKS fetch may take, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long fetched keys are used when the answer does not say (`Cache-Control: max-age`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);
/// The least time between two fetches: bounds what a flood of tokens with unknown `kid`s
/// (or an issuer that is down) makes this process send to the issuer.
pub const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(30);
/// The longest `max-age` honoured.
const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Keys as a [`JwksSource`] delivers them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchedJwks {
    /// The keys.
    pub keys: Jwks,
    /// How long they may be used, if the source says (HTTP `Cache-Control: max-age`).
    pub max_age: Option<Duration>,
}

impl FetchedJwks {
    /// Keys with an optional lifetime.
    pub fn new(keys: Jwks, max_age: Option<Duration>) -> Self {
        Self { keys, max_age }
    }
}

/// Where an issuer's current JWK Set comes from: [`HttpJwks`] for an identity provider, a
/// fixed [`Jwks`] for keys configured by hand or in tests.
pub trait JwksSource: Send + Sync {
    /// Gets the current keys.
    fn fetch(&self) -> impl Future<Output = Result<FetchedJwks, Error>> + Send;
}

impl JwksSource for Jwks {
    async fn fetch(&self) -> Result<FetchedJwks, Error> {
        Ok(FetchedJwks::new(self.clone(), None))
    }
}

/// A JWKS fetched by HTTP GET (RFC 7517 §5, OpenID Connect Discovery `jwks_uri`) over
/// `https` (rustls, the platform's trusted roots).
///
/// Whoever can change the keys in transit can sign any token, so plain `http` is accepted
/// only for a loopback address (`127.0.0.0/8`, `::1`, `localhost`), unless the source is
/// made with [`HttpJwks::new_allowing_http`].
///
/// Redirects are not followed; proxies named in the environment (`HTTPS_PROXY`, `NO_PROXY`…)
/// are used. Each fetch takes at most [`FETCH_TIMEOUT`] and reads at most
/// [`MAX_JWKS_BYTES`].
#[derive(Debug, Clone)]
pub struct HttpJwks {
    url: String,
    client: reqwest::Client,
}

impl HttpJwks {
    /// A source for an `https` URL, or an `http` URL on a loopback address.
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::build(url, false)
    }

    /// A source for an `https` or `http` URL, for an identity provider reached over a network
    /// trusted not to change what it carries.
    pub fn new_allowing_http(url: &str) -> Result<Self, Error> {
        Self::build(url, true)
    }

    fn build(url: &str, allow_http: bool) -> Result<Self, Error> {
        let fail = |reason: String| Error::Fetch { url: url.to_string(), reason };
        let parsed = reqwest::Url::parse(url).map_err(|e| fail(format!("not a URL: {e}")))?;
        match parsed.scheme() {
            "https" => {}
            "http" if allow_http || is_loopback(parsed.host_str().unwrap_or_default()) => {}
            "http" => return Err(fail("plain http is accepted only on a loopback address; use https".to_string())),
            _ => return Err(fail("only https (and http) URLs can be fetched".to_string())),
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .user_agent(concat!("Signet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| fail(format!("HTTP client: {e}")))?;
        Ok(Self { url: url.to_string(), client })
    }

    /// The URL fetched.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn get(&self) -> Result<FetchedJwks, String> {
        let mut response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(describe)?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "HTTP {}{}",
                status.as_u16(),
                if status.is_redirection() { " (redirects are not followed)" } else { "" }
            ));
        }
        if response.content_length().is_some_and(|len| len > MAX_JWKS_BYTES as u64) {
            return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
        }
        let max_age = response
            .headers()
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let keys = Jwks::from_json(&body).map_err(|e| e.to_string())?;
        Ok(FetchedJwks::new(keys, max_age))
    }
}

impl JwksSource for HttpJwks {
    async fn fetch(&self) -> Result<FetchedJwks, Error> {
        self.get().await.map_err(|reason| Error::Fetch { url: self.url.clone(), reason })
    }
}

/// Whether a URL's host is this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The lifetime a `Cache-Control` header value gives (RFC 9111 §5.2.2.1 `max-age`;
/// `no-cache` and `no-store` as zero).
fn max_age(header: &str) -> Option<Duration> {
    header.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        let seconds = lower.strip_prefix("max-age=")?.trim_matches('"');
        seconds.parse::<u64>().ok().map(Duration::from_secs)
    })
}

/// Describes a failed request without its URL (the caller names it).
fn describe(e: reqwest::Error) -> String {
    http_error_text(e, FETCH_TIMEOUT)
}

/// Why an HTTP request got no answer, with the chain of causes but without its URL (which
/// may hold a token): also the text of the server's other outgoing requests (webhooks).
pub fn http_error_text(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs());
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// An issuer's keys, fetched when first needed and kept for their lifetime.
///
/// - Keys are fetched again when their lifetime is over ([`DEFAULT_TTL`], or the source's
///   `max-age` between the least refetch interval and 24 hours), and once more when a token
///   names a `kid` the keys do not have: the issuer may have rotated its keys.
/// - Two fetches are always at least the least refetch interval apart
///   ([`DEFAULT_MIN_REFETCH`], [`JwksCache::with_min_refetch`]), whatever tokens arrive.
/// - When a fetch fails, the keys already held stay in use until a later fetch succeeds, so
///   an outage of the provider does not stop logins (nor, for that time, the use of a key
///   the provider has retired).
///
/// Time is the `now` each call is given, so a test can move it.
#[derive(Debug)]
pub struct JwksCache<S = HttpJwks> {
    source: S,
    ttl: Duration,
    min_refetch: Duration,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    keys: Option<Jwks>,
    fresh_until: Option<SystemTime>,
    last_attempt: Option<SystemTime>,
    last_error: Option<Error>,
}

impl<S: JwksSource> JwksCache<S> {
    /// A cache over `source`, empty until the first token.
    pub fn new(source: S) -> Self {
        Self { source, ttl: DEFAULT_TTL, min_refetch: DEFAULT_MIN_REFETCH, state: Mutex::new(CacheState::default()) }
    }

    /// Sets how long keys are kept when the source gives no `max-age`.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the least time between two fetches.
    pub fn with_min_refetch(mut self, min_refetch: Duration) -> Self {
        self.min_refetch = min_refetch;
        self
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The keys now held, without fetching.
    pub async fn current(&self) -> Option<Jwks> {
        self.state.lock().await.keys.clone()
    }

    /// The key set holding the key for a token's `kid` and `alg`, fetching as needed.
    ///
    /// Concurrent callers wait for one fetch rather than starting their own.
    pub(crate) async fn keys_for(&self, kid: Option<&str>, alg: Algorithm, now: SystemTime) -> Result<Jwks, Error> {
        let mut state = self.state.lock().await;
        let stale = state.keys.is_none() || state.fresh_until.is_none_or(|until| now >= until);
        let mut fetched = false;
        if stale && self.may_fetch(&state, now) {
            self.refresh(&mut state, now).await;
            fetched = true;
        }
        let Some(keys) = state.keys.clone() else {
            return Err(state
                .last_error
                .clone()
                .unwrap_or_else(|| Error::Fetch { url: String::new(), reason: "no keys fetched yet".to_string() }));
        };
        match keys.select(kid, alg) {
            Err(Error::UnknownKey { .. }) if !fetched && self.may_fetch(&state, now) => {
                self.refresh(&mut state, now).await;
                Ok(state.keys.clone().unwrap_or(keys))
            }
            _ => Ok(keys),
        }
    }

    fn may_fetch(&self, state: &CacheState, now: SystemTime) -> bool {
        match state.last_attempt {
            None => true,
            // A clock set back counts as time passed, once: the attempt then records the new time.
            Some(last) => now.duration_since(last).map_or(true, |elapsed| elapsed >= self.min_refetch),
        }
    }

    async fn refresh(&self, state: &mut CacheState, now: SystemTime) {
        state.last_attempt = Some(now);
        match self.source.fetch().await {
            Ok(fetched) => {
                let ttl =
                    fetched.max_age.map_or(self.ttl, |age| age.clamp(self.min_refetch, MAX_TTL.max(self.min_refetch)));
                state.fresh_until = now.checked_add(ttl);
                state.keys = Some(fetched.keys);
                state.last_error = None;
            }
            Err(e) => state.last_error = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age("public, max-age=3600"), Some(Duration::from_secs(3600)));
        assert_eq!(max_age("Max-Age=60, must-revalidate"), Some(Duration::from_secs(60)));
        assert_eq!(max_age("max-age=\"120\""), Some(Duration::from_secs(120)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn https_or_loopback_http() {
        for good in [
            "https://idp.example.com/.well-known/jwks.json",
            "http://127.0.0.1:8080/jwks",
            "http://127.1.2.3/jwks",
            "http://[::1]:8080/jwks",
            "http://localhost/jwks",
        ] {
            assert!(HttpJwks::new(good).is_ok(), "{good}");
        }
        for bad in [
            "http://idp.example.com/jwks",
            "http://10.0.0.1/jwks",
            "http://localhost.example.com/jwks",
            "file:///etc/passwd",
            "ftp://idp.example.com/jwks",
            "not a url",
            "",
        ] {
            assert!(matches!(HttpJwks::new(bad), Err(Error::Fetch { .. })), "{bad}");
        }
        assert!(HttpJwks::new_allowing_http("http://keycloak:8080/realms/acme/protocol/openid-connect/certs").is_ok());
        assert!(HttpJwks::new_allowing_http("file:///etc/passwd").is_err());
    }
}
