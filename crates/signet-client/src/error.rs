//! The one error type of the crate.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::MAX_ERROR_BODY;

/// Why a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status. Its body is
    /// `{"error": {"code": "…", "message": "…"}}`: `code` is stable (for programs),
    /// `message` says what exactly is wrong (for people).
    Api {
        /// The HTTP status (`400`, `401`, `403`, `404`, `409`, `412`, `413`, `422`, `429`, …).
        status: u16,
        /// The server's error code (`not_found`, `forbidden`, `rate_limited`, …); for an
        /// answer that is not the server's JSON (a proxy's page), `http_<status>`.
        code: String,
        /// The server's message; for an answer that is not its JSON, the start of the body.
        message: String,
        /// `Retry-After` (seconds), on `429` and `503`: when to try again.
        retry_after: Option<Duration>,
    },
    /// No answer, or an answer cut short: the server is unreachable, the connection failed
    /// or timed out, the URL is not valid.
    Transport {
        /// The URL called.
        url: String,
        /// What failed.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An answer that is not what the API documents: JSON that does not decode into the
    /// expected type, a header missing.
    Decode {
        /// The URL called.
        url: String,
        /// What did not decode, and why.
        message: String,
    },
    /// A local file or stream: a document to send that cannot be read, or the place an
    /// answer goes that cannot be written.
    Io {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// What failed.
        source: std::io::Error,
    },
}

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error code of an [`Error::Api`].
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// How long the server asks to wait before trying again (`429` quota or rate limit).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn transport(url: &str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Transport { url: url.to_string(), source: source.into() }
    }

    pub(crate) fn io(path: Option<&Path>, source: std::io::Error) -> Error {
        Error::Io { path: path.map(Path::to_path_buf), source }
    }

    /// The error an answer of status `status` (not 2xx) stands for.
    pub(crate) fn from_answer(status: u16, resp: ureq::http::Response<ureq::Body>) -> Error {
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.into_body().with_config().limit(MAX_ERROR_BODY).read_to_vec().unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => {
                let text = String::from_utf8_lossy(&body);
                let text = text.trim();
                let cut = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
                (format!("http_{status}"), text[..cut].to_string())
            }
        };
        Error::Api { status, code, message, retry_after }
    }
}

/// `{"error": {"code", "message"}}`
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api { status, code, message, retry_after } => {
                write!(f, "the server answered {status} {code}: {message}")?;
                if let Some(after) = retry_after {
                    write!(f, " (retry after {} s)", after.as_secs())?;
                }
                Ok(())
            }
            Error::Transport { url, source } => write!(f, "{url}: {source}"),
            Error::Decode { url, message } => write!(f, "{url}: unexpected answer: {message}"),
            Error::Io { path: Some(p), source } => write!(f, "{}: {source}", p.display()),
            Error::Io { path: None, source } => write!(f, "{source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => Some(source.as_ref()),
            Error::Io { source, .. } => Some(source),
            Error::Api { .. } | Error::Decode { .. } => None,
        }
    }
}
