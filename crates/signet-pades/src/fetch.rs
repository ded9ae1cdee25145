//! Fetching validation material over HTTP: time stamps (RFC 3161 §3.4), OCSP responses
//! (RFC 6960 App. A), CRLs and CA certificates (RFC 5280 §4.2.1.13, §4.2.2.1).
//!
//! The signing and collecting code sees only the [`Fetcher`] trait, so tests, offline
//! archives and other transports plug in without network code in the core. [`HttpFetcher`] is
//! the real one (plain `http://` for now); [`FnFetcher`] answers from a closure in tests.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use signet_cms::tsp::{self, VerifiedTimestamp};
use signet_crypto::DigestAlgorithm;

/// A response body and its `Content-Type`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// The media type, without parameters, lower-cased (`None` when absent).
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Fetched {
    /// A response with this content type.
    pub fn new(content_type: &str, body: Vec<u8>) -> Self {
        Self { content_type: Some(content_type.to_ascii_lowercase()), body }
    }
}

/// Why a fetch failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL's scheme is not supported (only `http://` is, for now).
    UnsupportedScheme {
        /// The URL.
        url: String,
    },
    /// No connection, timeout or transport error.
    Unreachable {
        /// The URL.
        url: String,
        /// What the transport said.
        detail: String,
    },
    /// The server answered with an HTTP status other than 200.
    Status {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The response is larger than the configured limit.
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The response has an unexpected `Content-Type`.
    ContentType {
        /// The URL.
        url: String,
        /// What was expected.
        expected: &'static str,
        /// What came (`None` when absent).
        found: Option<String>,
    },
    /// The response arrived but is not acceptable (malformed, refused, fails verification).
    Response {
        /// The URL.
        url: String,
        /// Why.
        source: signet_cms::Error,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedScheme { url } => {
                write!(f, "{url}: https not supported yet (only http:// URLs can be fetched)")
            }
            Self::Unreachable { url, detail } => write!(f, "{url} is unreachable: {detail}"),
            Self::Status { url, status } => write!(f, "{url} answered HTTP {status}"),
            Self::TooLarge { url, limit } => write!(f, "the response of {url} exceeds {limit} bytes"),
            Self::ContentType { url, expected, found } => match found {
                Some(t) => write!(f, "{url} answered with content type {t}, not {expected}"),
                None => write!(f, "{url} answered without a content type ({expected} expected)"),
            },
            Self::Response { url, source } => write!(f, "the response of {url} is not acceptable: {source}"),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Response { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Blocking HTTP GET and POST with bounded time and size.
pub trait Fetcher: Send + Sync {
    /// `GET url`: the body of a 200 response.
    fn get(&self, url: &str) -> Result<Fetched, FetchError>;
    /// `POST url` with `body` of media type `content_type`: the body of a 200 response.
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Fetched, FetchError>;
}

/// A [`Fetcher`] over plain HTTP/1.1 (`ureq`). `https://` URLs are refused with
/// [`FetchError::UnsupportedScheme`] until TLS is added.
#[derive(Clone, Debug)]
pub struct HttpFetcher {
    agent: ureq::Agent,
    max_response: u64,
}

impl HttpFetcher {
    /// Default time limit for a whole request (connect, send, receive).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
    /// Default response size limit: large public CRLs run to a few MB.
    pub const DEFAULT_MAX_RESPONSE: u64 = 32 << 20;

    /// A fetcher whose requests each take at most `timeout` and whose responses are at most
    /// `max_response` bytes. Up to 5 redirects are followed.
    pub fn new(timeout: Duration, max_response: u64) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(5)
            .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
            .build();
        Self { agent: config.into(), max_response }
    }

    fn check_scheme(url: &str) -> Result<(), FetchError> {
        let lower = url.get(..7).map(str::to_ascii_lowercase);
        if lower.as_deref() == Some("http://") {
            Ok(())
        } else {
            Err(FetchError::UnsupportedScheme { url: url.to_string() })
        }
    }

    fn finish(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Fetched, FetchError> {
        let mut resp = result.map_err(|e| FetchError::Unreachable { url: url.to_string(), detail: e.to_string() })?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status { url: url.to_string(), status });
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
        // Read one byte past the limit to tell "exactly the limit" from "more".
        let mut body = Vec::new();
        resp.body_mut()
            .with_config()
            .limit(u64::MAX)
            .reader()
            .take(self.max_response + 1)
            .read_to_end(&mut body)
            .map_err(|e| FetchError::Unreachable { url: url.to_string(), detail: e.to_string() })?;
        if body.len() as u64 > self.max_response {
            return Err(FetchError::TooLarge { url: url.to_string(), limit: self.max_response });
        }
        Ok(Fetched { content_type, body })
    }
}

impl Default for HttpFetcher {
    fn default() -> Self {
        Self::new(Self::DEFAULT_TIMEOUT, Self::DEFAULT_MAX_RESPONSE)
    }
}

impl Fetcher for HttpFetcher {
    fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        Self::check_scheme(url)?;
        self.finish(url, self.agent.get(url).call())
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Fetched, FetchError> {
        Self::check_scheme(url)?;
        self.finish(url, self.agent.post(url).header("Content-Type", content_type).send(body))
    }
}

/// A request as a [`FnFetcher`] closure sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `GET url`
    Get {
        /// The URL.
        url: &'a str,
    },
    /// `POST url`
    Post {
        /// The URL.
        url: &'a str,
        /// The request's media type.
        content_type: &'a str,
        /// The request body.
        body: &'a [u8],
    },
}

/// A [`Fetcher`] answering from a closure: a test double, or an adapter to another transport.
pub struct FnFetcher<F>(pub F);

impl<F> Fetcher for FnFetcher<F>
where
    F: Fn(Request<'_>) -> Result<Fetched, FetchError> + Send + Sync,
{
    fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        (self.0)(Request::Get { url })
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Fetched, FetchError> {
        (self.0)(Request::Post { url, content_type, body })
    }
}

/// A time stamp obtained by [`TsaClient`]: the token DER as the TSA sent it, and what its
/// verification established.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TimestampToken {
    /// The `TimeStampToken` (a CMS `ContentInfo`), exactly as received.
    pub der: Vec<u8>,
    /// The verified `TSTInfo` and TSA certificates.
    pub verified: VerifiedTimestamp,
}

/// An RFC 3161 client of one TSA URL (HTTP transport, RFC 3161 §3.4).
pub struct TsaClient<'a> {
    fetcher: &'a dyn Fetcher,
    url: String,
    policy: Option<signet_cms::oid::ObjectIdentifier>,
}

impl<'a> TsaClient<'a> {
    /// A client posting to `url` through `fetcher`.
    pub fn new(fetcher: &'a dyn Fetcher, url: &str) -> Self {
        Self { fetcher, url: url.to_string(), policy: None }
    }

    /// Asks the TSA for this policy (reqPolicy) instead of its default.
    pub fn with_policy(mut self, policy: signet_cms::oid::ObjectIdentifier) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Gets a token over `imprint` (the digest of the data with `digest_alg`): posts an
    /// `application/timestamp-query` with a fresh random nonce and certReq, requires an
    /// `application/timestamp-reply` granting a token, and verifies the token against the
    /// imprint and nonce ([`tsp::verify_token`], lenient on the TSA certificate's EKU
    /// criticality; see `signet_cms::tsp`).
    ///
    /// A failed attempt (transport error, refusal, unusable token) is retried twice, after
    /// 100 ms and 300 ms, with a new nonce: TSAs have transient failures (OpenSSL's
    /// `ts -reply` refuses with "Error during serial number generation" when two requests
    /// race for its serial file), and a token is worth a short wait.
    pub fn timestamp(&self, digest_alg: DigestAlgorithm, imprint: &[u8]) -> Result<TimestampToken, FetchError> {
        let mut pause = std::time::Duration::from_millis(100);
        for _ in 0..2 {
            match self.timestamp_once(digest_alg, imprint) {
                Ok(token) => return Ok(token),
                Err(FetchError::UnsupportedScheme { .. }) => break,
                Err(_) => {
                    std::thread::sleep(pause);
                    pause *= 3;
                }
            }
        }
        self.timestamp_once(digest_alg, imprint)
    }

    fn timestamp_once(&self, digest_alg: DigestAlgorithm, imprint: &[u8]) -> Result<TimestampToken, FetchError> {
        let bad = |source| FetchError::Response { url: self.url.clone(), source };
        let nonce = tsp::random_nonce().map_err(bad)?;
        let query = tsp::timestamp_request(digest_alg, imprint, Some(&nonce), true, self.policy);
        let reply = self.fetcher.post(&self.url, "application/timestamp-query", &query)?;
        if reply.content_type.as_deref() != Some("application/timestamp-reply") {
            return Err(FetchError::ContentType {
                url: self.url.clone(),
                expected: "application/timestamp-reply",
                found: reply.content_type,
            });
        }
        let resp = tsp::parse_response(&reply.body).map_err(bad)?;
        let verified = tsp::verify_token(&resp.token, digest_alg, imprint, Some(&nonce)).map_err(bad)?;
        if let Some(p) = self.policy {
            if verified.tst_info.policy != p {
                return Err(bad(signet_cms::Error::Invalid(format!(
                    "the TSA used policy {} instead of the requested {p}",
                    verified.tst_info.policy
                ))));
            }
        }
        Ok(TimestampToken { der: resp.token, verified })
    }
}
