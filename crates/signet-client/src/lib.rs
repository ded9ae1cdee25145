#![doc = include_str!("../README.md")]
//!
//! # The client
//!
//! A [`Client`] holds the server's base URL, the bearer token and one pooled connection
//! agent; it is cheap to clone and can be shared between threads. Each method is one call
//! of the API, named after the operation of the OpenAPI document (`GET /api/openapi.json`)
//! where that name is clear, and grouped as the document's tags are:
//!
//! | area | methods |
//! |---|---|
//! | tenants and keys (operator) | [`create_tenant`](Client::create_tenant), [`list_tenants`](Client::list_tenants), [`create_tenant_key`](Client::create_tenant_key), [`tenant_usage`](Client::tenant_usage), … |
//! | the caller's keys and usage | [`me`](Client::me), [`create_key`](Client::create_key), [`revoke_key`](Client::revoke_key), [`usage`](Client::usage), [`signatures`](Client::signatures) |
//! | client certificates (mutual TLS) | [`register_client_certificate`](Client::register_client_certificate), [`revoke_client_certificate`](Client::revoke_client_certificate), [`bind_user_certificate`](Client::bind_user_certificate), … |
//! | identities, images, templates | [`create_identity`](Client::create_identity), [`upload_image`](Client::upload_image), [`put_template`](Client::put_template), … |
//! | documents and versions | [`upload_document`](Client::upload_document), [`document_content`](Client::document_content), [`add_version`](Client::add_version), [`page_image`](Client::page_image), … |
//! | signing | [`sign_document`](Client::sign_document), [`sign_hash`](Client::sign_hash), [`create_batch`](Client::create_batch), [`verify`](Client::verify) |
//! | seals | [`create_seal`](Client::create_seal), [`grant_seal`](Client::grant_seal), [`request_seal_use`](Client::request_seal_use), [`approve_seal_request`](Client::approve_seal_request), … |
//! | people and settings | [`create_user`](Client::create_user), [`update_user`](Client::update_user), [`put_settings`](Client::put_settings), … |
//! | signing log | [`search_audit`](Client::search_audit), [`export_audit`](Client::export_audit), [`verify_audit`](Client::verify_audit) |
//! | webhooks | [`create_webhook`](Client::create_webhook), [`list_deliveries`](Client::list_deliveries), [`redeliver`](Client::redeliver)… |
//! | envelopes | [`create_envelope`](Client::create_envelope), [`list_envelopes`](Client::list_envelopes), [`envelope_history`](Client::envelope_history), [`void_envelope`](Client::void_envelope), [`prepare_party_signature`](Client::prepare_party_signature), [`upload_party_signature`](Client::upload_party_signature), … |
//! | service and trust services | [`health`](Client::health), [`openapi_document`](Client::openapi_document), [`root_certificate`](Client::root_certificate), [`crl`](Client::crl) |
//!
//! [`operations`] lists every (method, path) the client calls; a test checks each against
//! the server's OpenAPI document. The browser-session calls (`/api/v1/auth/…`, the signer
//! page's `/api/v1/signer/…`) and the binary trust protocols (`/ocsp`, `/tsa`) are not here.
//!
//! # Bodies
//!
//! Documents go up as a [`Source`]: a file streamed from disk (with its length, never read
//! whole into memory), a reader (sent chunked), or bytes. Documents come back into a
//! [`Sink`]: a file, written next to its final name and renamed into place only when the
//! whole answer arrived, or any writer. JSON answers are decoded into the types of this
//! crate, which mirror the server's JSON; fields the server may omit are `Option`s.
//!
//! # Errors
//!
//! Every method returns [`Result`]: [`Error::Api`] carries the server's error `code` (stable,
//! for programs), its `message` (for people) and, on `429`, `Retry-After`.
//!
//! ```no_run
//! use signet_client::{Client, Error};
//!
//! let client = Client::new("http://127.0.0.1:8080").with_token("sgk_…");
//! match client.show_identity("company-seal") {
//!     Ok(identity) => println!("{} until {}", identity.subject, identity.not_after),
//!     Err(Error::Api { status: 404, .. }) => println!("no such identity"),
//!     Err(e) if e.retry_after().is_some() => println!("busy: {e}"),
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

mod assets;
mod audit;
mod b64;
mod body;
mod certificates;
mod documents;
mod envelopes;
mod error;
mod identities;
mod multipart;
mod operations;
mod people;
mod seals;
mod service;
mod signing;
mod tenants;
mod webhooks;

pub use assets::{Image, ImageFormat, Placement, Template};
pub use audit::{
    AnchorCheck, AuditAnchor, AuditEntry, AuditFilter, AuditVerification, ChainFinding, ChainReport, ExportFormat,
};
pub use body::{Sink, Source};
pub use certificates::{ClientCertificate, RegisterCertificate};
pub use documents::{
    DocumentLine, DocumentList, DocumentRecord, DocumentVersion, PageView, UploadedDocument, VersionList,
    VersionedDocument,
};
pub use envelopes::{
    CreateEnvelope, EmbedLink, Envelope, EnvelopeField, EnvelopeList, EnvelopeQuery, EnvelopeSummary, Evidence,
    HistoryEntry, NewField, NewOwnKey, NewParty, OwnKey, Party, PartySigning, PartySummary, Preparation,
    PrepareSignature, SignatureImage, SignatureUpload,
};
pub use error::Error;
pub use identities::{CreateIdentity, Identity, IssueParams, KeyStoreKind, Pkcs11Params, Pkcs12Params};
pub use operations::{Operation, operations};
pub use people::{CreateUser, DirectoryEntry, Role, SsoSettings, TenantSettings, UpdateUser, User};
pub use seals::{CreateGrant, CreateSeal, GenerateSpec, RevokeSeal, Seal, SealCertificate, SealGrant, SealRequest};
pub use service::{CaCertificate, Health};
pub use signing::{
    Batch, BatchAccepted, BatchItem, CertRevocation, Certification, Coverage, DigestAlgorithm, Level, Revocation,
    RevocationStatus, SignHash, SignHashResponse, SignOptions, SignatureKind, SignatureReport, SignedDocument,
    TimestampReport, ValidationData, Verdict, VerifyReport,
};
pub use tenants::{
    ApiKey, KeyRequest, Me, NewApiKey, Scope, SignatureRecord, Tenant, TenantLimits, TenantRequest, Usage, UsageReport,
};
pub use webhooks::{
    CreateWebhook, DeliveryPage, DeliveryState, EventPage, FeedEvent, NewWebhook, UpdateWebhook, Webhook,
    WebhookAttempt, WebhookDelivery,
};

/// What every method returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How long a connection may take to open, unless [`Client::with_connect_timeout`] says.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest JSON answer read (an audit export of 100,000 entries is about 60 MB).
const MAX_JSON: u64 = 512 << 20;
/// Largest error body read: the server's are a few hundred bytes; a proxy's page is cut.
const MAX_ERROR_BODY: u64 = 64 << 10;

/// A client of one Signet server, with one bearer token (or none).
///
/// ```no_run
/// use std::time::Duration;
///
/// let client = signet_client::Client::new("http://127.0.0.1:8080")
///     .with_token(std::env::var("SIGNET_API_KEY").unwrap_or_default())
///     .with_timeout(Some(Duration::from_secs(300)));
/// println!("{}", client.usage()?.current.documents);
/// # Ok::<(), signet_client::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    agent: ureq::Agent,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // never the token
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl Client {
    /// A client of the server at `base_url` (`http://host:port`, without `/api/v1`), with no
    /// token, a 10 s connect timeout and no limit on a call's duration (signing a large
    /// document at B-LTA takes a while). The URL is checked at the first call. TLS is not
    /// built in: reach an `https://` server through a local TLS proxy.
    pub fn new(base_url: impl Into<String>) -> Client {
        let base = base_url.into().trim_end_matches('/').to_string();
        Client {
            base,
            token: None,
            timeout: None,
            connect_timeout: CONNECT_TIMEOUT,
            agent: agent(None, CONNECT_TIMEOUT),
        }
    }

    /// Sends `Authorization: Bearer <token>`: an API key (`sgk_ID.SECRET`) or an ID token
    /// of the tenant's identity provider (JWT).
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// The same server and settings with another token (`None`: anonymous, as `verify`
    /// and the trust services allow). Shares the connection pool.
    pub fn with_token_opt(&self, token: Option<&str>) -> Client {
        Client { token: token.map(str::to_string), ..self.clone() }
    }

    /// Bounds each call as a whole, from connecting to the last byte of the answer
    /// (`None`: no bound, the default).
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Client {
        self.timeout = timeout;
        self.agent = agent(self.timeout, self.connect_timeout);
        self
    }

    /// Bounds opening a connection (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Client {
        self.connect_timeout = timeout;
        self.agent = agent(self.timeout, self.connect_timeout);
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The absolute URL of a path the server gave (such as a batch's `status_url`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A call of `op` with the path's `{…}` parameters filled from `params`, in order.
    pub(crate) fn call(&self, op: Operation, params: &[&str]) -> Call<'_> {
        Call { client: self, op, url: format!("{}{}", self.base, op.fill(params)), headers: Vec::new() }
    }
}

fn agent(timeout: Option<Duration>, connect: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(timeout)
        .timeout_connect(Some(connect))
        .user_agent(concat!("signet-client/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// What a call sends.
pub(crate) enum Payload<'a> {
    /// No body.
    Empty,
    /// A JSON document.
    Json(Vec<u8>),
    /// A file, bytes or a stream, with its media type.
    Upload(Source<'a>, &'static str),
    /// A `multipart/form-data` form streamed from its parts.
    Form(multipart::Form),
}

/// One request being built: an operation, its URL (path and query) and extra headers.
pub(crate) struct Call<'c> {
    client: &'c Client,
    op: Operation,
    url: String,
    headers: Vec<(&'static str, String)>,
}

impl Call<'_> {
    /// Appends the query string (nothing when `query` is empty).
    pub(crate) fn query(mut self, query: &Query) -> Self {
        if !query.0.is_empty() {
            self.url.push('?');
            self.url.push_str(&query.0);
        }
        self
    }

    /// Adds a header when `value` is given.
    pub(crate) fn header(mut self, name: &'static str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.headers.push((name, v.to_string()));
        }
        self
    }

    /// Sends the request and returns the answer when its status is 2xx, else
    /// [`Error::Api`].
    pub(crate) fn send(self, payload: Payload<'_>) -> Result<Answer> {
        let mut req = ureq::http::Request::builder().method(self.op.method).uri(&self.url);
        if let Some(t) = &self.client.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (name, value) in &self.headers {
            req = req.header(*name, value.as_str());
        }
        let agent = &self.client.agent;
        let url = self.url.as_str();
        let resp = match payload {
            Payload::Empty => agent.run(built(url, req.body(()))?),
            Payload::Json(bytes) => agent.run(built(url, req.header("Content-Type", "application/json").body(bytes))?),
            Payload::Upload(source, media_type) => {
                let req = req.header("Content-Type", media_type);
                match source {
                    Source::File(path) => {
                        // ureq sends a file with its length (no chunked encoding)
                        let file = std::fs::File::open(path).map_err(|e| Error::io(Some(path), e))?;
                        agent.run(built(url, req.body(file))?)
                    }
                    Source::Bytes(bytes) => agent.run(built(url, req.body(bytes))?),
                    Source::Reader(reader) => agent.run(built(url, req.body(ureq::SendBody::from_reader(reader)))?),
                }
            }
            Payload::Form(form) => {
                let req = req
                    .header("Content-Type", form.content_type())
                    .header("Content-Length", form.len().map_err(|e| Error::io(None, e))?.to_string());
                agent.run(built(url, req.body(ureq::SendBody::from_owned_reader(form)))?)
            }
        }
        .map_err(|e| Error::transport(url, e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(Answer { url: self.url, resp });
        }
        Err(Error::from_answer(status, resp))
    }

    /// Sends the request with no body and decodes the JSON answer.
    pub(crate) fn answer<T: DeserializeOwned>(self) -> Result<T> {
        self.send(Payload::Empty)?.json()
    }

    /// Sends `body` as JSON.
    pub(crate) fn send_json<B: Serialize + ?Sized>(self, body: &B) -> Result<Answer> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::Decode { url: self.url.clone(), message: e.to_string() })?;
        self.send(Payload::Json(bytes))
    }

    /// Sends `body` as JSON and decodes the JSON answer.
    pub(crate) fn json<B: Serialize + ?Sized, T: DeserializeOwned>(self, body: &B) -> Result<T> {
        self.send_json(body)?.json()
    }

    /// Sends `payload` and decodes the JSON answer.
    pub(crate) fn upload<T: DeserializeOwned>(self, payload: Payload<'_>) -> Result<T> {
        self.send(payload)?.json()
    }

    /// Sends the request with no body; the answer's body is not read.
    pub(crate) fn empty(self) -> Result<()> {
        self.send(Payload::Empty).map(drop)
    }

    /// Sends the request with no body and streams the answer into `sink`; returns its size.
    pub(crate) fn download(self, sink: Sink<'_>) -> Result<u64> {
        self.send(Payload::Empty)?.download(sink)
    }
}

/// A 2xx answer, its body not read yet.
pub(crate) struct Answer {
    url: String,
    resp: ureq::http::Response<ureq::Body>,
}

impl Answer {
    /// A header's value, when it is there and text.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    /// A header the API documents on this answer: [`Error::Decode`] when missing.
    pub(crate) fn required_header(&self, name: &str) -> Result<String> {
        self.header(name).ok_or_else(|| Error::Decode { url: self.url.clone(), message: format!("no {name} header") })
    }

    /// The JSON body as `T`.
    pub(crate) fn json<T: DeserializeOwned>(self) -> Result<T> {
        let url = self.url;
        let bytes =
            self.resp.into_body().with_config().limit(MAX_JSON).read_to_vec().map_err(|e| Error::transport(&url, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            message: format!("{e}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)])),
            url,
        })
    }

    /// The body streamed into `sink`; returns its size.
    pub(crate) fn download(self, sink: Sink<'_>) -> Result<u64> {
        body::receive(&self.url, self.resp, sink)
    }
}

/// A request as built, or the reason it could not be (a header value that is not visible
/// ASCII, an invalid URL).
fn built<B>(url: &str, request: ureq::http::Result<ureq::http::Request<B>>) -> Result<ureq::http::Request<B>> {
    request.map_err(|e| Error::transport(url, e))
}

/// A query string, built from `name=value` pairs (each percent-encoded).
#[derive(Default)]
pub(crate) struct Query(String);

impl Query {
    /// Adds `name=value`.
    pub(crate) fn push(&mut self, name: &str, value: &str) -> &mut Self {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        encode_into(name, &mut self.0);
        self.0.push('=');
        encode_into(value, &mut self.0);
        self
    }

    /// Adds `name=value` when `value` is given.
    pub(crate) fn opt(&mut self, name: &str, value: Option<impl fmt::Display>) -> &mut Self {
        if let Some(v) = value {
            self.push(name, &v.to_string());
        }
        self
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters: fit for a query value
/// and for a path segment.
pub(crate) fn encode_into(text: &str, out: &mut String) {
    use std::fmt::Write as _;
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Copies `reader` into `writer`, telling a failed read (the network) from a failed write.
fn copy(url: &str, reader: &mut dyn Read, writer: &mut dyn Write) -> Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::transport(url, e)),
        };
        writer.write_all(&buf[..n]).map_err(|e| Error::io(None, e))?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        let mut q = Query::default();
        q.push("text", "ACME Ltd\nApproved").push("rect", "1,2,3,4").opt("page", Some(-1)).opt("x", None::<i64>);
        assert_eq!(q.0, "text=ACME%20Ltd%0AApproved&rect=1%2C2%2C3%2C4&page=-1");
        let mut s = String::new();
        encode_into("合同/a b", &mut s);
        assert_eq!(s, "%E5%90%88%E5%90%8C%2Fa%20b");
    }

    #[test]
    fn debug_hides_the_token() {
        let c = Client::new("http://127.0.0.1:8080/").with_token("sgk_a.secret");
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
        assert!(!format!("{c:?}").contains("secret"));
    }
}
