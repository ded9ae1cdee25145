//! The one error type of the server, and how it is answered over HTTP.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why a request or the server failed.
///
/// As a response it is JSON, `{"error": {"code": "...", "message": "..."}}`, with the status of
/// [`Error::status`]. Client errors say what was wrong with the request; server errors are
/// logged in full and answered only as `internal_error`, so no path or internal detail leaks.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request has no body where one is needed.
    EmptyBody,
    /// The request body could not be received (the client went away, bad chunking).
    BodyRead,
    /// The body is larger than the configured limit.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Something in the body is over a limit; the message says which.
    TooLarge(String),
    /// The body's `Content-Type` is not one the route accepts.
    UnsupportedMediaType {
        /// The media type the route wants.
        expected: &'static str,
    },
    /// The document is not a PDF that can be read.
    UnreadablePdf(signet_pdf::Error),
    /// The document is encrypted and the password is missing or wrong, or its security handler
    /// is not supported.
    EncryptedPdf(signet_pdf::Error),
    /// No route has this path.
    NotFound,
    /// No credentials, or credentials that are not valid (unknown, revoked key).
    Unauthenticated(String),
    /// Valid credentials without the right to do this (a missing scope).
    Forbidden(String),
    /// Valid credentials, refused (403) for a reason of its own that `code` names, e.g.
    /// `possession_required`.
    Refused {
        /// Machine-readable code.
        code: &'static str,
        /// Why, and what to do instead.
        message: String,
    },
    /// A thing the request names does not exist (or belongs to another tenant).
    Missing(String),
    /// The request is malformed or asks for something impossible; `code` is stable.
    BadRequest {
        /// Machine-readable code, e.g. `bad_digest`.
        code: &'static str,
        /// What exactly is wrong.
        message: String,
    },
    /// The document changed since the version the client saw (`If-Match` names an older one).
    PreconditionFailed(String),
    /// An update of a document without `If-Match`.
    PreconditionRequired(String),
    /// The request conflicts with what exists (a name in use, an idempotency key in use).
    Conflict {
        /// Machine-readable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// Over quota or over the rate: retry after this many seconds.
    TooManyRequests {
        /// What limit was reached.
        message: String,
        /// Seconds until the request may succeed.
        retry_after: u64,
    },
    /// A service this request needed did not answer usefully (the remote hash-signing API,
    /// a timestamp authority, an OCSP responder).
    Upstream(String),
    /// The database failed.
    Store(signet_store::Error),
    /// At start: the data directory could not be prepared.
    DataDir {
        /// The directory or file that failed.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// At start: the blob store cannot be used (an S3 bucket that cannot be reached or
    /// listed); the message names the bucket and the endpoint.
    BlobStore(String),
    /// At start: a trust anchor file could not be read or holds no certificate.
    TrustAnchor {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// At start: the certification authority could not be opened or created.
    Authority(signet_authority::Error),
    /// At start: the OCSP responder or the timestamp authority could not be set up.
    TrustService(String),
    /// At start: the database could not be opened or migrated.
    Database {
        /// Its URL, password hidden.
        url: String,
        /// Why.
        source: signet_store::Error,
    },
    /// At start: the TLS certificate, key or client CA files cannot be used; the message
    /// names the file and why.
    Tls(String),
    /// At start: the listening socket could not be opened.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// A failure on the server's side (temporary files, a worker thread); never the client's.
    Internal {
        /// What the server was doing.
        context: &'static str,
        /// The underlying error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::EmptyBody | Error::BodyRead => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge { .. } | Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::UnreadablePdf(_) | Error::EncryptedPdf(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotFound | Error::Missing(_) => StatusCode::NOT_FOUND,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::Refused { .. } => StatusCode::FORBIDDEN,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Error::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Upstream(_) => StatusCode::BAD_GATEWAY,
            Error::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::DataDir { .. }
            | Error::BlobStore(_)
            | Error::TrustAnchor { .. }
            | Error::Authority(_)
            | Error::TrustService(_)
            | Error::Tls(_)
            | Error::Bind { .. }
            | Error::Database { .. }
            | Error::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code of the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            Error::EmptyBody => "empty_body",
            Error::BodyRead => "bad_body",
            Error::PayloadTooLarge { .. } | Error::TooLarge(_) => "payload_too_large",
            Error::UnsupportedMediaType { .. } => "unsupported_media_type",
            Error::UnreadablePdf(_) => "unreadable_pdf",
            Error::EncryptedPdf(_) => "encrypted_pdf",
            Error::NotFound | Error::Missing(_) => "not_found",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::BadRequest { code, .. } | Error::Conflict { code, .. } | Error::Refused { code, .. } => code,
            Error::TooManyRequests { .. } => "too_many_requests",
            Error::PreconditionFailed(_) => "precondition_failed",
            Error::PreconditionRequired(_) => "precondition_required",
            Error::Upstream(_) => "upstream_failed",
            Error::Store(_) => "internal_error",
            Error::DataDir { .. }
            | Error::BlobStore(_)
            | Error::TrustAnchor { .. }
            | Error::Authority(_)
            | Error::TrustService(_)
            | Error::Tls(_)
            | Error::Bind { .. }
            | Error::Database { .. }
            | Error::Internal { .. } => "internal_error",
        }
    }

    /// Wraps a server-side failure; `context` says what the server was doing.
    pub(crate) fn internal<E: std::error::Error + Send + Sync + 'static>(
        context: &'static str,
    ) -> impl FnOnce(E) -> Error {
        move |e| Error::Internal { context, source: Box::new(e) }
    }

    /// A 400 with this code and message.
    pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> Error {
        Error::BadRequest { code, message: message.into() }
    }

    /// Sorts a reader error: the client's document, or the server's own I/O.
    pub(crate) fn from_pdf(e: signet_pdf::Error) -> Error {
        match e {
            signet_pdf::Error::Io(e) => Error::Internal { context: "reading the uploaded file", source: Box::new(e) },
            e @ signet_pdf::Error::Encryption(_) => Error::EncryptedPdf(e),
            e => Error::UnreadablePdf(e),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EmptyBody => f.write_str("the request body is empty; send the PDF as the body"),
            Error::BodyRead => f.write_str("the request body could not be received"),
            Error::PayloadTooLarge { limit } => write!(f, "the body is larger than the limit of {limit} bytes"),
            Error::UnsupportedMediaType { expected } => write!(f, "send the body with Content-Type: {expected}"),
            Error::UnreadablePdf(e) | Error::EncryptedPdf(e) => e.fmt(f),
            Error::NotFound => f.write_str("no such route"),
            Error::Unauthenticated(m)
            | Error::Forbidden(m)
            | Error::Missing(m)
            | Error::PreconditionFailed(m)
            | Error::PreconditionRequired(m)
            | Error::Upstream(m)
            | Error::TooLarge(m) => f.write_str(m),
            Error::BadRequest { message, .. } | Error::Conflict { message, .. } | Error::Refused { message, .. } => {
                f.write_str(message)
            }
            Error::TooManyRequests { message, .. } => f.write_str(message),
            Error::Store(e) => e.fmt(f),
            Error::DataDir { path, source } => {
                write!(f, "cannot prepare the data directory at {}: {source}", path.display())
            }
            Error::BlobStore(s) => write!(f, "blob store: {s}"),
            Error::TrustAnchor { path, reason } => write!(f, "trust anchor {}: {reason}", path.display()),
            Error::Authority(e) => write!(f, "certification authority: {e}"),
            Error::TrustService(s) => f.write_str(s),
            Error::Tls(s) => write!(f, "TLS: {s}"),
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::Database { url, source } => write!(f, "database {url}: {source}"),
            Error::Internal { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::UnreadablePdf(e) | Error::EncryptedPdf(e) => Some(e),
            Error::DataDir { source, .. } | Error::Bind { source, .. } => Some(source),
            Error::Internal { source, .. } => Some(source.as_ref()),
            Error::Authority(e) => Some(e),
            Error::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!("{self}");
            "internal server error".to_owned()
        } else {
            self.to_string()
        };
        let mut response =
            (status, Json(ErrorBody { error: ErrorDetail { code: self.code(), message } })).into_response();
        match &self {
            Error::TooManyRequests { retry_after, .. } => {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, (*retry_after).max(1).into());
            }
            Error::Unauthenticated(_) => {
                response
                    .headers_mut()
                    .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// The body of every error answer (the `Error` schema of the OpenAPI document).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody {
    /// What went wrong.
    pub(crate) error: ErrorDetail,
}

/// What went wrong, for programs and for people.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable and machine-readable: `unauthenticated`, `forbidden`, `not_found`, `bad_json`,
    /// `bad_digest`, `payload_too_large`, `too_many_requests`, … (one per kind of mistake).
    #[schema(example = "bad_digest")]
    pub(crate) code: &'static str,
    /// What exactly is wrong, in a sentence; `internal server error` for failures on the
    /// server's side (the details go to the server's log only).
    #[schema(example = "digest is 20 bytes; a sha256 digest is 32 bytes")]
    pub(crate) message: String,
}

impl From<signet_store::Error> for Error {
    fn from(e: signet_store::Error) -> Self {
        match e {
            signet_store::Error::NotFound(what) => Error::Missing(what),
            signet_store::Error::Conflict(what) => {
                Error::Conflict { code: "conflict", message: format!("{what} already exists") }
            }
            e => Error::Store(e),
        }
    }
}
