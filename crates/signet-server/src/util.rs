//! Small pieces the handlers share: a JSON body extractor whose errors are the API's, and
//! the request log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::Error;

/// A JSON body of at most `LIMIT` bytes (default 1 MiB), `Content-Type: application/json`.
/// Malformed JSON, a wrong type or an unknown field is a 400 `bad_json` that quotes the
/// parser (line, column, field).
#[derive(Debug)]
pub struct ApiJson<T, const LIMIT: usize = { 1 << 20 }>(pub T);

impl<S, T, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"))
            .unwrap_or(false);
        if !is_json {
            return Err(Error::UnsupportedMediaType { expected: "application/json" });
        }
        let bytes = read_limited(req.into_body(), LIMIT).await?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| Error::bad("bad_json", format!("the JSON body: {e}")))
    }
}

/// The whole body, refused past `limit` bytes.
pub(crate) async fn read_limited(mut body: Body, limit: usize) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Error::BodyRead)?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(Error::PayloadTooLarge { limit: limit as u64 });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Logs every request at `info` under the target `signet::request`: method, path, status,
/// the bytes of request body the server actually received, and the time taken. Query strings
/// are left out (they may carry options, never secrets, but keep the log short). The body
/// count is what a split deployment's sign API uses to show that no document reached it.
pub(crate) async fn request_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let req = req.map(|body| {
        Body::new(body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                counter.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
            frame
        }))
    });
    let response = next.run(req).await;
    tracing::info!(
        target: "signet::request",
        "{method} {path} {} body_bytes={} {:.1}ms",
        response.status().as_u16(),
        received.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// Behind a reverse proxy every connection comes from the proxy: when the peer is one of
/// `trusted` (`--trusted-proxy`), the client's address is the right-most `X-Forwarded-For`
/// entry that is not a trusted proxy itself, and the request carries it as its
/// `ConnectInfo` (what the login throttle and the signing log use). Anyone else's
/// `X-Forwarded-For` is ignored: a client cannot choose its own address.
pub(crate) fn client_address(
    peer: std::net::SocketAddr,
    forwarded: Option<&str>,
    trusted: &[std::net::IpAddr],
) -> std::net::SocketAddr {
    if !trusted.contains(&peer.ip()) {
        return peer;
    }
    let client = forwarded.and_then(|list| {
        list.rsplit(',')
            .map(str::trim)
            .filter_map(|s| s.parse::<std::net::IpAddr>().ok())
            .find(|ip| !trusted.contains(ip))
    });
    match client {
        Some(ip) => std::net::SocketAddr::new(ip, 0),
        None => peer,
    }
}

/// Rewrites the request's `ConnectInfo` with [`client_address`].
pub(crate) async fn forwarded_client(
    axum::extract::State(trusted): axum::extract::State<Arc<Vec<std::net::IpAddr>>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(axum::extract::ConnectInfo(peer)) =
        req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().copied()
    {
        let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
        let client = client_address(peer, forwarded, &trusted);
        req.extensions_mut().insert(axum::extract::ConnectInfo(client));
    }
    next.run(req).await
}

/// Reads and drops what a client is still sending (at most 1 MiB, at most 5 s), so that an
/// early refusal (401, 403) reaches a client that writes its whole body before reading: a
/// connection closed on unread data is reset, and the client would see that instead.
pub(crate) async fn drain(mut body: Body) {
    let limit = 1usize << 20;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen > limit {
                    break;
                }
            }
        }
    })
    .await;
}

/// The caller, if it has `scope` in a tenant; otherwise the body is drained and the
/// refusal returned.
pub(crate) async fn tenant_or_drain(
    caller: Result<crate::auth::Caller, Error>,
    permission: crate::auth::Permission,
    body: Body,
) -> Result<(crate::auth::Caller, String, Body), Error> {
    match caller.and_then(|c| c.may(permission).map(str::to_string).map(|t| (c, t))) {
        Ok((c, t)) => Ok((c, t, body)),
        Err(e) => {
            drain(body).await;
            Err(e)
        }
    }
}

/// Work that may wait on a token, a remote service or a slow hash (Argon2id): off the async
/// workers.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal { context: "a blocking task", source: Box::new(e) })
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths (secrets and
/// tokens compared with what a client sent).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Bodies up to this size (by `Content-Length`) are read completely before any handler
/// runs; see [`read_small_bodies`].
pub(crate) const SMALL_BODY: u64 = 64 * 1024;

/// Reads a request body of at most [`SMALL_BODY`] bytes (by its `Content-Length`) before
/// routing. A refusal that comes before the body is read (no key, wrong scope, unknown route)
/// then leaves nothing unread on the connection, so it stays usable: HTTP/1.1 clients that
/// pool connections would otherwise send their next request into a connection the server is
/// closing. Larger bodies stream as they arrive.
pub(crate) async fn read_small_bodies(req: Request, next: Next) -> Response {
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0 && n <= SMALL_BODY);
    if !small {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match body.collect().await {
        Ok(collected) => next.run(Request::from_parts(parts, Body::from(collected.to_bytes()))).await,
        Err(_) => axum::response::IntoResponse::into_response(Error::BodyRead),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_taken_from_trusted_proxies_only() {
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap_or_else(|e| panic!("{e}"));
        let peer = std::net::SocketAddr::new(proxy, 5555);
        let stranger = std::net::SocketAddr::new("203.0.113.9".parse().unwrap_or_else(|e| panic!("{e}")), 1);
        let xff = Some("198.51.100.7, 192.0.2.1, 10.0.0.2");
        assert_eq!(client_address(peer, xff, &[proxy]).ip().to_string(), "192.0.2.1");
        assert_eq!(client_address(peer, None, &[proxy]), peer);
        // a client that is not a proxy cannot choose its address
        assert_eq!(client_address(stranger, xff, &[proxy]), stranger);
        assert_eq!(client_address(peer, xff, &[]), peer);
        assert!(
            constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"ab", b"abc")
        );
    }
}
