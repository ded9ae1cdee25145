//! The trust services over HTTP: the OCSP responder (RFC 6960 App. A.1, RFC 5019 §5–§6) and
//! the time-stamping authority (RFC 3161 §3.4).
//!
//! - `POST /ocsp` with `Content-Type: application/ocsp-request`, and
//!   `GET /ocsp/{base64 of the DER request, URL-encoded}`: `200` with an
//!   `application/ocsp-response` body, whatever its `responseStatus` (App. A.1.1: errors are
//!   OCSP responses too). A successful GET answer may be cached until its `nextUpdate`
//!   (`Cache-Control: max-age`, RFC 5019 §6.2); POST answers are not cacheable by HTTP.
//! - `POST /tsa` with `Content-Type: application/timestamp-query`: `200` with an
//!   `application/timestamp-reply` body, granted or refused (§3.4).
//!
//! Bodies above [`MAX_TRUST_REQUEST_BYTES`] get `413`, another content type `415`, a service
//! that is not configured `404`: those are HTTP errors in the server's JSON form, since no
//! protocol message was read.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use signet_authority::ocsp::{OcspReply, OcspResponder, ResponseStatus};
use signet_authority::tsa::TimestampAuthority;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Error;
use crate::util::blocking;

/// Largest OCSP request or time-stamp query accepted, in bytes. A request for one certificate
/// with a nonce is about 120 bytes, a SHA-512 query about 100; 8 KiB leaves room for signed
/// OCSP requests with their certificates.
pub const MAX_TRUST_REQUEST_BYTES: usize = 8 * 1024;

const OCSP_REQUEST: &str = "application/ocsp-request";
const OCSP_RESPONSE: &str = "application/ocsp-response";
const TIMESTAMP_QUERY: &str = "application/timestamp-query";
const TIMESTAMP_REPLY: &str = "application/timestamp-reply";

/// The trust services a server offers; those left `None` answer `404`.
///
/// The routes of [`trust_routes`] read it from any router state that can give one
/// ([`FromRef`]), so it can live inside the application state.
#[derive(Clone, Debug, Default)]
pub struct TrustServices {
    /// The OCSP responder.
    pub ocsp: Option<Arc<OcspResponder>>,
    /// The time-stamping authority.
    pub tsa: Option<Arc<TimestampAuthority>>,
}

/// `POST /ocsp`, `GET /ocsp/{request}` and `POST /tsa`, for a router whose state gives
/// [`TrustServices`]. On its own: `trust_routes().with_state(services)`.
pub fn trust_routes<S>() -> Router<S>
where
    TrustServices: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    trust_api().into()
}

/// [`trust_routes`] with their OpenAPI description.
pub(crate) fn trust_api<S>() -> OpenApiRouter<S>
where
    TrustServices: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::default().routes(routes!(ocsp_post)).routes(routes!(ocsp_get)).routes(routes!(tsa_post))
}

/// OCSP (POST).
///
/// RFC 6960 Appendix A.1: the DER `OCSPRequest` as the body. The answer is an
/// `OCSPResponse` whatever its `responseStatus` (errors are OCSP responses too), for the
/// certificates of the issuing CA, signed by a delegated responder. Not cacheable.
#[utoipa::path(
    post,
    path = "/ocsp",
    tag = "trust services",
    request_body(description = "A DER OCSPRequest.", content(("application/ocsp-request"))),
    responses(
        (status = 200, description = "A DER OCSPResponse.", content_type = "application/ocsp-response", headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
async fn ocsp_post(State(services): State<TrustServices>, headers: HeaderMap, body: Body) -> Result<Response, Error> {
    let responder = services.ocsp.ok_or(Error::NotFound)?;
    require_content_type(&headers, OCSP_REQUEST)?;
    let request = read_small_body(body).await?;
    let reply = blocking(move || responder.respond(&request)).await?;
    Ok(ocsp_response(reply, false))
}

/// OCSP (GET).
///
/// RFC 6960 Appendix A.1 and RFC 5019 §5: the base64 of the DER `OCSPRequest`, URL-encoded,
/// as the rest of the path (it may contain `/`). A successful answer may be cached until its
/// nextUpdate (`Cache-Control: max-age`).
#[utoipa::path(
    get,
    path = "/ocsp/{*request}",
    tag = "trust services",
    params(("request" = String, Path, description = "base64 of the DER OCSPRequest, URL-encoded; may contain `/`")),
    responses(
        (status = 200, description = "A DER OCSPResponse.", content_type = "application/ocsp-response", headers(("Cache-Control" = String, description = "`max-age=…, public, no-transform, must-revalidate` for a successful answer, else `no-store`"))),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    )
)]
async fn ocsp_get(State(services): State<TrustServices>, uri: Uri) -> Result<Response, Error> {
    let responder = services.ocsp.ok_or(Error::NotFound)?;
    // The raw path, not the router's decoded parameter: the request is percent-decoded once,
    // by the responder, and may hold '/' (App. A.1).
    let encoded = uri.path().strip_prefix("/ocsp/").unwrap_or_default().to_owned();
    if encoded.len() > MAX_TRUST_REQUEST_BYTES * 2 {
        return Err(Error::PayloadTooLarge { limit: MAX_TRUST_REQUEST_BYTES as u64 });
    }
    let reply = blocking(move || responder.respond_get(&encoded)).await?;
    Ok(ocsp_response(reply, true))
}

/// Timestamp.
///
/// RFC 3161 §3.4: the DER `TimeStampReq` as the body; the answer is a `TimeStampResp`,
/// granted or refused (SHA-1 and MD5 imprints are refused).
#[utoipa::path(
    post,
    path = "/tsa",
    operation_id = "timestamp",
    tag = "trust services",
    request_body(description = "A DER TimeStampReq.", content(("application/timestamp-query"))),
    responses(
        (status = 200, description = "A DER TimeStampResp.", content_type = "application/timestamp-reply"),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
async fn tsa_post(State(services): State<TrustServices>, headers: HeaderMap, body: Body) -> Result<Response, Error> {
    let tsa = services.tsa.ok_or(Error::NotFound)?;
    require_content_type(&headers, TIMESTAMP_QUERY)?;
    let query = read_small_body(body).await?;
    let reply = blocking(move || tsa.respond(&query)).await?;
    if let Some(refusal) = &reply.refusal {
        tracing::debug!("time-stamp query refused: {refusal}");
    }
    Ok(([(header::CONTENT_TYPE, TIMESTAMP_REPLY)], reply.der).into_response())
}

fn ocsp_response(reply: OcspReply, cacheable: bool) -> Response {
    if let Some(why) = &reply.refusal {
        tracing::debug!("OCSP request answered {:?}: {why}", reply.status);
    }
    let mut response = ([(header::CONTENT_TYPE, OCSP_RESPONSE)], reply.der).into_response();
    let max_age = reply
        .next_update
        .filter(|_| cacheable && reply.status == ResponseStatus::Successful)
        .and_then(|next| next.duration_since(SystemTime::now()).ok());
    let cache_control = match max_age {
        Some(age) => format!("max-age={}, public, no-transform, must-revalidate", age.as_secs()),
        None => "no-store".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// Accepts `expected`, with or without parameters.
fn require_content_type(headers: &HeaderMap, expected: &'static str) -> Result<(), Error> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    if essence.eq_ignore_ascii_case(expected) { Ok(()) } else { Err(Error::UnsupportedMediaType { expected }) }
}

/// The whole body, at most [`MAX_TRUST_REQUEST_BYTES`].
async fn read_small_body(body: Body) -> Result<Vec<u8>, Error> {
    match axum::body::to_bytes(body, MAX_TRUST_REQUEST_BYTES).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(e) => {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            Err(if too_large {
                Error::PayloadTooLarge { limit: MAX_TRUST_REQUEST_BYTES as u64 }
            } else {
                Error::BodyRead
            })
        }
    }
}

#[cfg(test)]
mod tests;
