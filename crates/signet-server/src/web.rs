//! The web UI, served by `signet serve` itself: the console of a tenant's people
//! (`/console/`, with client-side routes below it), the page a signer's invitation links to
//! (`/sign/{token}`) and the public verification page (`/verify`).
//!
//! The pages are plain HTML, one stylesheet and dependency-free ES modules (`web/`), embedded
//! in the binary: nothing is loaded from anywhere but this server, which the
//! `Content-Security-Policy` of every answer enforces. Each file is answered with
//! `Cache-Control: no-cache` and a strong `ETag` (a browser asks again and gets 304 while the
//! binary is the same). The JavaScript reads its data from the API under `/api/v1`.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::{AppState, Error};

/// What every answer of the UI carries: scripts, styles, images and requests from this server
/// only (`data:` and `blob:` images for signature previews), no framing, no `<base>`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The UI's routes, as `router` registers them: pages, not API operations (the OpenAPI
/// document leaves them out).
pub const PATHS: [&str; 7] =
    ["/", "/console", "/console/", "/console/{*route}", "/sign/{token}", "/verify", "/assets/{*file}"];

/// One embedded file.
struct WebFile {
    bytes: &'static [u8],
    content_type: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file of `web/`, by its path there. Pages are named by the route shell they serve;
/// the rest is under `assets/`, served at `/assets/…`.
const FILES: &[(&str, WebFile)] = &[
    ("console.html", WebFile { bytes: include_bytes!("../web/console.html"), content_type: HTML }),
    ("sign.html", WebFile { bytes: include_bytes!("../web/sign.html"), content_type: HTML }),
    ("prepare.html", WebFile { bytes: include_bytes!("../web/prepare.html"), content_type: HTML }),
    ("verify.html", WebFile { bytes: include_bytes!("../web/verify.html"), content_type: HTML }),
    ("assets/app.css", WebFile { bytes: include_bytes!("../web/assets/app.css"), content_type: CSS }),
    ("assets/favicon.svg", WebFile { bytes: include_bytes!("../web/assets/favicon.svg"), content_type: SVG }),
    ("assets/i18n.js", WebFile { bytes: include_bytes!("../web/assets/i18n.js"), content_type: JS }),
    ("assets/common.js", WebFile { bytes: include_bytes!("../web/assets/common.js"), content_type: JS }),
    ("assets/console.js", WebFile { bytes: include_bytes!("../web/assets/console.js"), content_type: JS }),
    ("assets/admin.js", WebFile { bytes: include_bytes!("../web/assets/admin.js"), content_type: JS }),
    ("assets/seals.js", WebFile { bytes: include_bytes!("../web/assets/seals.js"), content_type: JS }),
    ("assets/envelopes.js", WebFile { bytes: include_bytes!("../web/assets/envelopes.js"), content_type: JS }),
    ("assets/wizard.js", WebFile { bytes: include_bytes!("../web/assets/wizard.js"), content_type: JS }),
    ("assets/placement.js", WebFile { bytes: include_bytes!("../web/assets/placement.js"), content_type: JS }),
    ("assets/qr.js", WebFile { bytes: include_bytes!("../web/assets/qr.js"), content_type: JS }),
    ("assets/signature-pad.js", WebFile { bytes: include_bytes!("../web/assets/signature-pad.js"), content_type: JS }),
    ("assets/sign.js", WebFile { bytes: include_bytes!("../web/assets/sign.js"), content_type: JS }),
    ("assets/prepare.js", WebFile { bytes: include_bytes!("../web/assets/prepare.js"), content_type: JS }),
    ("assets/verify.js", WebFile { bytes: include_bytes!("../web/assets/verify.js"), content_type: JS }),
    // for the pages of other sites that embed the signing view (a classic script)
    ("assets/embed.js", WebFile { bytes: include_bytes!("../web/assets/embed.js"), content_type: JS }),
];

/// The files with their `ETag`s (the first 128 bits of their SHA-256), made at first use.
static TABLE: LazyLock<HashMap<&'static str, (&'static WebFile, HeaderValue)>> =
    LazyLock::new(|| FILES.iter().map(|(name, file)| (*name, (file, etag(file.bytes)))).collect());

fn etag(bytes: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(bytes);
    let hex = hex::encode(&digest[..16]);
    // hex digits and quotes only: always a valid header value
    HeaderValue::from_str(&format!("\"{hex}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// The UI's routes: `GET /` (to `/console/`), `/console/` and every client-side route under
/// it, `/sign/{token}`, `/verify`, and `/assets/…`; each answer with the security headers.
pub fn router() -> Router<AppState> {
    routes()
}

fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(async || Redirect::to("/console/")))
        .route("/console", get(async || Redirect::to("/console/")))
        .route("/console/", get(async |headers: HeaderMap| serve("console.html", &headers)))
        .route("/console/{*route}", get(console_route))
        .route("/sign/{token}", get(async |headers: HeaderMap| serve("sign.html", &headers)))
        .route("/verify", get(async |headers: HeaderMap| serve("verify.html", &headers)))
        .route("/assets/{*file}", get(asset))
        .layer(axum::middleware::map_response(security_headers))
}

/// A client-side route of the console gets the console's page; a file name (with an
/// extension) below `/console/` is a mistake, not a route: 404.
async fn console_route(Path(route): Path<String>, headers: HeaderMap) -> Response {
    if is_file_name(&route) { Error::NotFound.into_response() } else { serve("console.html", &headers) }
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("assets/{file}"), &headers)
}

/// Whether the last segment of `path` looks like a file (`x.js`, `logo.png`), not a route.
fn is_file_name(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    last.rsplit_once('.').is_some_and(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
}

/// The embedded file `name`: 304 when `If-None-Match` names its `ETag`, 404 when there is
/// no such file.
pub(crate) fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some((file, tag)) = TABLE.get(name) else { return Error::NotFound.into_response() };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == tag));
    let cache = [(header::ETAG, tag.clone()), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))];
    if fresh {
        (StatusCode::NOT_MODIFIED, cache).into_response()
    } else {
        (cache, [(header::CONTENT_TYPE, file.content_type)], file.bytes).into_response()
    }
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn get_with(uri: &str, if_none_match: Option<&HeaderValue>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::builder().uri(uri);
        if let Some(tag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        let res = routes::<()>().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = res.into_parts();
        (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
    }

    async fn get(uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        get_with(uri, None).await
    }

    fn text(name: &str) -> &'static str {
        let (_, file) = FILES.iter().find(|(n, _)| *n == name).unwrap();
        std::str::from_utf8(file.bytes).unwrap()
    }

    #[tokio::test]
    async fn pages_and_assets_with_their_headers() {
        for (uri, page) in [
            ("/console/", "console.html"),
            ("/console/envelopes/env_01", "console.html"),
            ("/console/login", "console.html"),
            ("/sign/AbC123-_x", "sign.html"),
            ("/verify", "verify.html"),
        ] {
            let (status, headers, body) = get(uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(headers[header::CONTENT_TYPE], HTML, "{uri}");
            assert_eq!(body, text(page).as_bytes(), "{uri}");
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY, "{uri}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        }
        let (status, headers, _) = get("/assets/app.css").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], CSS);
        let (_, headers, _) = get("/assets/console.js").await;
        assert_eq!(headers[header::CONTENT_TYPE], JS);
    }

    #[tokio::test]
    async fn redirects_and_missing_files() {
        for uri in ["/", "/console"] {
            let (status, headers, _) = get(uri).await;
            assert!(status.is_redirection(), "{uri}: {status}");
            assert_eq!(headers[header::LOCATION], "/console/");
        }
        for uri in ["/assets/nope.js", "/assets/../console.html", "/console/app.js", "/console/x/favicon.ico"] {
            let (status, headers, _) = get(uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY, "{uri}");
        }
    }

    #[tokio::test]
    async fn etag_revalidation() {
        let (_, headers, _) = get("/assets/common.js").await;
        let tag = headers[header::ETAG].clone();
        let (status, headers, body) = get_with("/assets/common.js", Some(&tag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        assert_eq!(headers[header::ETAG], tag);
        let (status, _, _) = get_with("/assets/common.js", Some(&HeaderValue::from_static("\"other\""))).await;
        assert_eq!(status, StatusCode::OK);
    }

    /// Through the whole application (its fallback and middleware), as `signet serve` answers.
    #[tokio::test]
    async fn served_by_the_app() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::ServerConfig { data_dir: dir.path().join("data"), ..crate::ServerConfig::default() };
        let state = AppState::load(&config).await.unwrap();
        for (uri, status) in [
            ("/console/seals", StatusCode::OK),
            ("/verify", StatusCode::OK),
            ("/assets/nope.css", StatusCode::NOT_FOUND),
        ] {
            let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
            let res = crate::app(state.clone()).oneshot(req).await.unwrap();
            assert_eq!(res.status(), status, "{uri}");
            assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY, "{uri}");
        }
        let req = Request::builder().uri("/api/v1/nothing-here").body(Body::empty()).unwrap();
        let res = crate::app(state.clone()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(res.headers().get(header::CONTENT_SECURITY_POLICY).is_none(), "the API's answers are not the UI's");
        state.store().close().await;
    }

    /// `PATHS` names every route: a sample of each is answered by its page or file.
    #[tokio::test]
    async fn paths_are_the_routes() {
        for path in PATHS {
            let uri = path.replace("{*route}", "seals").replace("{token}", "t0k3n").replace("{*file}", "app.css");
            let (status, _, _) = get(&uri).await;
            assert!(status.is_success() || status.is_redirection(), "{path}: {status}");
        }
    }

    #[test]
    fn file_names_are_not_console_routes() {
        assert!(is_file_name("app.js"));
        assert!(is_file_name("a/b/logo.png"));
        assert!(!is_file_name("envelopes/env_01"));
        assert!(!is_file_name("seals"));
        assert!(!is_file_name(".hidden"));
        assert!(!is_file_name(""));
    }

    /// Every `/assets/…` a page names and every module a script imports is embedded.
    #[test]
    fn every_referenced_file_is_embedded() {
        let names: BTreeSet<&str> = FILES.iter().map(|(n, _)| *n).collect();
        for (name, _) in FILES {
            let source = text(name);
            for (prefix, base) in [("\"/assets/", "assets/"), ("from \"./", "assets/"), ("import(\"./", "assets/")] {
                for piece in source.split(prefix).skip(1) {
                    let file = piece.split('"').next().unwrap_or("");
                    let path = format!("{base}{file}");
                    assert!(names.contains(path.as_str()), "{name} refers to {path}, which is not embedded");
                }
            }
        }
    }

    /// The API paths a script names (`"/api/v1/…"` and `` `/api/v1/…` ``), each as its
    /// segments after `/api/v1`, `None` standing for a `${…}` hole; a final `${query(…)}` and a
    /// `?…` end the path.
    fn api_paths(source: &str) -> Vec<(String, Vec<Option<String>>)> {
        let mut out = Vec::new();
        for quote in ['"', '`'] {
            let start = format!("{quote}/api/v1");
            for (at, _) in source.match_indices(&start) {
                let mut segments = vec![Some(String::new())];
                let mut chars = source[at + start.len()..].chars().peekable();
                'path: while let Some(c) = chars.next() {
                    match c {
                        '$' if quote == '`' && chars.peek() == Some(&'{') => {
                            chars.next();
                            let (mut depth, mut hole) = (1, String::new());
                            for c in chars.by_ref() {
                                depth += match c {
                                    '{' => 1,
                                    '}' => -1,
                                    _ => 0,
                                };
                                if depth == 0 {
                                    break;
                                }
                                hole.push(c);
                            }
                            if hole.starts_with("query(") {
                                break 'path;
                            }
                            *segments.last_mut().unwrap() = None;
                        }
                        '/' => segments.push(Some(String::new())),
                        c if c == quote || c == '?' => break,
                        c => {
                            if let Some(Some(segment)) = segments.last_mut() {
                                segment.push(c);
                            }
                        }
                    }
                }
                let shown: String = source[at + 1..].chars().take_while(|&c| c != quote).collect();
                // the leading `/` made an empty first segment; `/api/v1` itself has none
                if segments.first() == Some(&Some(String::new())) {
                    segments.remove(0);
                }
                out.push((shown, segments));
            }
        }
        out
    }

    /// Every API path a page's script calls or links to is one the server answers (its OpenAPI
    /// document names it, or one below it: a script may add the last segments): a `${…}` hole
    /// stands for any segment, a literal for itself or, when it is a number, for a parameter.
    #[test]
    fn scripts_call_api_paths_that_exist() {
        let document = crate::openapi();
        let routes: Vec<Vec<String>> = document
            .paths
            .paths
            .keys()
            .filter_map(|p| p.strip_prefix("/api/v1"))
            .map(|p| p.split('/').skip(1).map(str::to_string).collect())
            .collect();
        let mut checked = 0;
        for (name, _) in FILES.iter().filter(|(n, _)| n.ends_with(".js")) {
            for (shown, segments) in api_paths(text(name)) {
                let matches = |route: &Vec<String>| {
                    route.len() >= segments.len()
                        && route.iter().zip(&segments).all(|(r, s)| match s {
                            None => true,
                            Some(s) => {
                                r == s || (r.starts_with('{') && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                            }
                        })
                };
                assert!(routes.iter().any(matches), "{name} names {shown}, which the API does not have");
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} API paths found in the scripts");
    }

    /// The keys of the dictionary (`key: ["English", "中文"],` one a line), in order.
    fn dictionary() -> Vec<(String, String, String)> {
        let source = text("assets/i18n.js");
        let body = source.split("const messages = {").nth(1).unwrap().split("\n};").next().unwrap();
        let mut out = Vec::new();
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//")) {
            let (key, rest) = line.split_once(": [").unwrap_or_else(|| panic!("not a dictionary line: {line}"));
            let rest = rest.strip_suffix("],").unwrap_or_else(|| panic!("not a dictionary line: {line}"));
            let strings: Vec<String> = serde_json::from_str(&format!("[{rest}]"))
                .unwrap_or_else(|e| panic!("{key}: the strings are not JSON strings: {e}"));
            assert_eq!(strings.len(), 2, "{key}: one English and one Chinese string");
            assert!(!strings[0].is_empty() && !strings[1].is_empty(), "{key}: an empty string");
            out.push((key.trim_matches('"').to_string(), strings[0].clone(), strings[1].clone()));
        }
        out
    }

    /// Both languages have every key, once, with the same `{placeholders}`; every key a page
    /// or script uses is in the dictionary.
    #[test]
    fn dictionary_is_complete() {
        let dict = dictionary();
        let mut keys = BTreeSet::new();
        for (key, en, zh) in &dict {
            assert!(keys.insert(key.as_str()), "{key} twice");
            let holes = |s: &str| -> BTreeSet<String> {
                s.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(h, _)| h.to_string())).collect()
            };
            assert_eq!(holes(en), holes(zh), "{key}: the placeholders differ");
        }
        for (name, _) in FILES {
            if *name == "assets/i18n.js" {
                continue;
            }
            let source = text(name);
            for prefix in ["t(\"", "data-i18n=\"", "data-i18n-label=\"", "data-i18n-placeholder=\""] {
                for (at, _) in source.match_indices(prefix) {
                    // `t("…")`, not `split("…")`
                    let before = source[..at].chars().next_back().unwrap_or(' ');
                    if before.is_alphanumeric() || "_$.".contains(before) {
                        continue;
                    }
                    let key = source[at + prefix.len()..].split('"').next().unwrap_or("");
                    assert!(keys.contains(key), "{name} uses the key '{key}', not in i18n.js");
                }
            }
        }
    }
}
