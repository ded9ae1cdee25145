//! The OpenAPI document against the router it describes, without a socket: every route the
//! router has is in the document, every documented operation reaches its own route, every
//! method the document does not name is refused (405), and the document is OpenAPI 3.1 whose
//! references all resolve.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::Value;
use signet_server::{AppState, ServerConfig, app};
use tower::ServiceExt;

const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

async fn state(dir: &tempfile::TempDir) -> AppState {
    let config = ServerConfig { data_dir: dir.path().join("data"), ..ServerConfig::default() };
    AppState::load(&config).await.unwrap()
}

async fn get(app: Router, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let res = app.oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let content_type = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
    (status, content_type, res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn document(state: AppState) -> Value {
    let (status, content_type, body) = get(app(state), "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    serde_json::from_slice(&body).unwrap()
}

/// The paths the router has. axum has no API that lists them, but its `Debug` output does
/// (`Router { path_router: PathRouter { … paths: {RouteId(1): "/healthz", …} }, fallback_router: …`);
/// if that form ever changes, the check on `/healthz` below fails rather than letting an
/// empty list pass.
fn routed_paths(router: &Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let start = debug.find("path_router:").unwrap_or(0);
    // the fallback router's own routes (`/`, `/{*__private__axum_fallback}`) are not routes
    let end = debug.find("fallback_router:").unwrap_or(debug.len());
    let mut paths = BTreeSet::new();
    let mut rest = &debug[start..end.max(start)];
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Some(quoted) = rest[digits..].strip_prefix("): \"") {
            let end = quoted.find('"').unwrap();
            paths.insert(quoted[..end].to_string());
        }
    }
    assert!(paths.contains("/healthz"), "the router's paths could not be read from its Debug output:\n{debug}");
    paths
}

/// A request path for a documented path: each `{param}` filled with a sample (with a `/` in
/// the OCSP request, which may hold one).
fn sample_uri(path: &str) -> String {
    path.replace("{request}", "MEMwQTA_/PzA9MAkGBSsOAwIaBQAE").replace('{', "sample-").replace('}', "")
}

/// Adds the route the request matched as `x-matched-path`.
async fn matched_path(req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let mut res = next.run(req).await;
    if let Some(m) = matched.and_then(|m| HeaderValue::from_str(&m).ok()) {
        res.headers_mut().insert("x-matched-path", m);
    }
    res
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir).await;
    let doc = document(st.clone()).await;
    let documented: BTreeMap<String, BTreeSet<String>> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| (path.clone(), item.as_object().unwrap().keys().cloned().collect()))
        .collect();

    // routes → document (axum's catch-all `{*name}` is `{name}` in OpenAPI)
    // the web pages (HTML and their assets) are not part of the API
    let page = |p: &str| {
        p == "/"
            || p == "/verify"
            || ["/assets/", "/console", "/sign/", "/embed/sign/", "/embed/prepare/"]
                .iter()
                .any(|prefix| p.starts_with(prefix))
    };
    let routed: BTreeSet<String> =
        routed_paths(&app(st.clone())).iter().filter(|p| !page(p)).map(|p| p.replace("{*", "{")).collect();
    let documented_paths: BTreeSet<String> = documented.keys().cloned().collect();
    let undocumented: Vec<_> = routed.difference(&documented_paths).collect();
    let unrouted: Vec<_> = documented_paths.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from the OpenAPI document: {undocumented:?}");
    assert!(unrouted.is_empty(), "documented paths the router does not have: {unrouted:?}");
    for path in ["/api/v1/documents/sign", "/api/v1/sign-hash", "/tsa", "/ocsp/{request}", "/api/docs"] {
        assert!(documented.contains_key(path), "{path}");
    }

    // method by method: a documented operation reaches the route of its own path; any other
    // method on that path is refused with 405
    let router = app(st).route_layer(axum::middleware::from_fn(matched_path));
    for (path, methods) in &documented {
        for method in METHODS {
            let uri = sample_uri(path);
            let req = Request::builder().method(method.clone()).uri(&uri).body(Body::empty()).unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let matched = res.headers().get("x-matched-path").map(|v| v.to_str().unwrap().replace("{*", "{"));
            let body = res.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&body);
            if methods.contains(&method.as_str().to_ascii_lowercase()) {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri} is documented but not routed");
                assert!(!text.contains("no such route"), "{method} {uri} is documented but not routed: {text}");
                assert_eq!(matched.as_deref(), Some(path.as_str()), "{method} {uri} reached another route");
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri} is routed but not documented");
            }
        }
    }
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let doc = document(state(&dir).await).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Signet");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc, serde_json::to_value(signet_server::openapi()).unwrap());

    // the bearer scheme and the error schema every error answer uses
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["error"]), "{error}");
    let detail = &doc["components"]["schemas"]["ErrorDetail"];
    assert!(detail["properties"]["code"].is_object() && detail["properties"]["message"].is_object(), "{detail}");
    let too_many = &doc["components"]["responses"]["TooManyRequests"];
    assert!(too_many["headers"]["Retry-After"].is_object(), "{too_many}");

    // every reference resolves
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50);
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external reference {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }

    let tags: BTreeSet<&str> = doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut operation_ids = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            assert!(operation_ids.insert(op["operationId"].as_str().unwrap().to_string()), "{what}: operationId");
            assert!(!op["summary"].as_str().unwrap_or("").is_empty(), "{what}: no summary");
            let op_tags = op["tags"].as_array().unwrap_or_else(|| panic!("{what}: no tag"));
            assert!(op_tags.iter().all(|t| tags.contains(t.as_str().unwrap())), "{what}: {op_tags:?}");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{what}: no success answer");
            statuses.extend(responses.keys().cloned());

            // each path parameter is declared
            let params: Vec<&Value> = op["parameters"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
            for name in path.split('{').skip(1).map(|s| s.split('}').next().unwrap()) {
                assert!(
                    params.iter().any(|p| p["in"] == "path" && p["name"] == name && p["required"] == true),
                    "{what}: path parameter {name} is not declared"
                );
            }

            // a key is asked for exactly where the scopes are stated, and the description
            // names each scope
            let description = op["description"].as_str().unwrap_or("");
            match op["security"].as_array() {
                Some(reqs) if !reqs.is_empty() => {
                    assert!(responses.contains_key("401"), "{what}: secured without 401");
                    for role in reqs.iter().filter_map(|r| r.get("bearer")).flat_map(|r| r.as_array().unwrap()) {
                        let role = role.as_str().unwrap();
                        assert!(description.contains(&format!("`{role}`")), "{what}: the description omits `{role}`");
                    }
                }
                _ => assert!(
                    [
                        "/api/v1/verify",
                        "/api/v1/auth/login",
                        "/api/v1/auth/sso",
                        "/api/v1/signer/session",
                        "/api/v1/signer/embed",
                        "/api/v1/embed/prepare",
                    ]
                    .contains(&path.as_str())
                        || !path.starts_with("/api/v1/"),
                    "{what}: an API operation without a security requirement"
                ),
            }
        }
    }
    for status in ["200", "201", "204", "400", "401", "403", "404", "409", "413", "415", "422", "429", "502"] {
        assert!(statuses.contains(status), "no operation answers {status}");
    }
}

#[tokio::test]
async fn the_docs_page_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let (status, content_type, body) = get(app(state(&dir).await), "/api/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("text/html; charset=utf-8"));
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("/api/openapi.json"));
    // nothing from elsewhere: no external script, style, font or image
    for needle in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
        assert!(!page.contains(needle), "the page loads something from elsewhere: {needle}");
    }
}
