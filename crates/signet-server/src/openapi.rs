//! The API's description: `GET /api/openapi.json` (OpenAPI 3.1, generated from the handlers)
//! and `GET /api/docs` (a page that reads it).
//!
//! Every route of [`crate::app`] is registered with `utoipa_axum::routes!`, which takes the
//! path and methods from the handler's `#[utoipa::path]` attribute: a route and its
//! description are one declaration, so the document cannot leave a route out. The handlers
//! state their request and response schemas, statuses and scopes there; this module adds what
//! is shared: the error answers, the bearer scheme, the tags.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, LicenseBuilder, ObjectBuilder, OpenApi,
    OpenApiBuilder, Ref, RefOr, ResponseBuilder, Type,
};

use crate::error::{ErrorBody, ErrorDetail};

/// The name of the security scheme in the document.
pub(crate) const BEARER: &str = "bearer";

const DESCRIPTION: &str = "\
Signet signs PDF documents (PAdES B-B to B-LTA) with a tenant's identities, signs digests for \
remote agents, verifies signatures, and runs the trust services behind them (CA, CRLs, OCSP, \
TSA).

**Keys.** Calls under `/api/v1` other than `verify` need an API key: \
`Authorization: Bearer sgk_…`. The first start of `signet serve` prints an operator key (scope \
`admin`; or set `SIGNET_ADMIN_TOKEN`), which creates tenants and their keys. A tenant key holds \
some of the scopes `sign-hash`, `sign-document` and `manage`; each operation says which it needs, \
in its description and in its security requirement (OpenAPI 3.1 role names).

**Errors** are JSON, `{\"error\": {\"code\": \"…\", \"message\": \"…\"}}`, with a stable `code` and \
a message that says what exactly is wrong. `401` means no key or an unknown or revoked one; \
`403` a key without the needed scope (or a suspended tenant); `429` a quota or the rate limit, \
with `Retry-After` in seconds.";

/// Tags, in the order the page shows them.
const TAGS: &[(&str, &str)] = &[
    ("signing", "Sign a whole PDF (the agent) or only a digest (the hash-signing API)."),
    ("documents", "Uploads, page previews and signed documents, as stored."),
    ("identities", "A tenant's signing identities: a key and its certificate chain."),
    ("images", "Seal images shown in visible signatures."),
    ("templates", "Named sets of placements: where a signature's seal appears."),
    ("verification", "Validate the signatures of a PDF."),
    ("keys", "API keys, the caller, and usage against the tenant's quotas."),
    ("people", "Logging in (password, TOTP, single sign-on), users and their roles, the tenant's settings."),
    ("seals", "E-seals: images bound to certificates, their states, who may use them, seal-use requests."),
    ("audit", "The signing log: every operation, hash-chained and timestamped; search, export, check."),
    (
        "envelopes",
        "Contracts signed by several parties in turn: parties, fields, invitations, status, history, the final PDF and its completion certificate.",
    ),
    (
        "signer",
        "The signer page's calls: a person invited by e-mail confirms a one-time code, reads the document, signs or declines.",
    ),
    ("webhooks", "Endpoints that receive the tenant's events as signed POSTs, and their delivery log."),
    (
        "events",
        "The tenant's events feed: every event in order, numbered without gaps, to catch up on missed deliveries.",
    ),
    ("tenants", "Operator calls: tenants, their keys and usage."),
    ("trust services", "The certification authority's publication points, OCSP and the timestamp authority."),
    ("service", "Health and this description."),
];

/// Error answers shared by the operations, as components the operations refer to.
macro_rules! error_responses {
    ($($name:ident => $description:literal $(, header $header:literal = $header_description:literal)?;)*) => {
        $(
            #[doc = $description]
            pub(crate) struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
                    #[allow(unused_mut)]
                    let mut response = ResponseBuilder::new().description($description).content(
                        "application/json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build(),
                    );
                    $(
                        response = response.header(
                            $header,
                            HeaderBuilder::new()
                                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1))))
                                .description(Some($header_description))
                                .build(),
                        );
                    )?
                    (stringify!($name), RefOr::T(response.build()))
                }
            }
        )*

        /// Adds every shared error answer to `components`.
        fn with_error_responses(components: ComponentsBuilder) -> ComponentsBuilder {
            components $(.response_from::<$name>())*
        }
    };
}

error_responses! {
    BadRequest => "The request is malformed or asks for something impossible; `code` says what (`bad_json`, `bad_digest`, `missing_identity`, `empty_body`, …).";
    Unauthenticated => "No API key, or one that is unknown or revoked (`unauthenticated`). Answered with `WWW-Authenticate: Bearer`.";
    Forbidden => "The key lacks the scope this needs, is not a tenant key where one is needed, or the tenant is suspended (`forbidden`).";
    NotFound => "The tenant, key, identity, image, template or document named does not exist in the caller's tenant (`not_found`).";
    PreconditionFailed => "The document changed since the version `If-Match` names (`precondition_failed`): read it again (its `ETag`) and decide.";
    PreconditionRequired => "A change to a document needs `If-Match` with the `ETag` of the version it starts from (`precondition_required`).";
    Conflict => "Conflicts with what exists: the name is taken (`conflict`), or the Idempotency-Key is in use (`idempotency_in_progress`, `idempotency_mismatch`), or an envelope in progress holds the document (`document_in_envelope`).";
    PayloadTooLarge => "The body is larger than this operation accepts (`payload_too_large`; the message gives the limit).";
    UnsupportedMediaType => "The body's Content-Type is not one this operation accepts (`unsupported_media_type`; the message names it).";
    UnprocessablePdf => "The document is not a PDF that can be read (`unreadable_pdf`), or is encrypted and the password is missing or wrong (`encrypted_pdf`).";
    TooManyRequests => "A quota (signing calls or documents per period) or the rate limit is reached (`too_many_requests`).",
        header "Retry-After" = "Seconds until the request may succeed: the next second for the rate limit, the next period for a quota.";
    BadGateway => "A service the signing needed failed: the timestamp authority, an OCSP responder or CRL, or the remote hash-signing API (`upstream_failed`).";
}

/// What the generated paths do not say: the description, tags, the bearer scheme, the error
/// schema and answers.
pub(crate) fn base() -> OpenApi {
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("sgk_…")
        .description(Some(
            "A Signet API key: `Authorization: Bearer sgk_…`. The roles of a security requirement are the \
             scopes the key needs (any one requirement suffices).",
        ))
        .build();
    let components = with_error_responses(ComponentsBuilder::new())
        .schema_from::<ErrorBody>()
        .schema_from::<ErrorDetail>()
        .security_scheme(BEARER, SecurityScheme::Http(bearer))
        .security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    crate::auth::SESSION_COOKIE,
                    "A login session (`POST /api/v1/auth/login`): the cookie, and on requests that change \
                     something the session's CSRF token in `X-CSRF-Token`. What a person may do is their roles.",
                ),
            )),
        )
        .security_scheme(
            "signer",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    crate::signer::SIGNER_COOKIE,
                    "A signer session, opened from an invitation link (`POST /api/v1/signer/session`): the \
                     cookie, and on requests that change something the session's CSRF token in `X-CSRF-Token`. \
                     An embedded signing view (`POST /api/v1/signer/embed`) sends its session in the \
                     `X-Signer-Session` header instead.",
                ),
            )),
        )
        .security_scheme(
            "embedded",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-Signer-Session",
                    "An embedded view's session, opened with its embed token (`POST /api/v1/signer/embed`, \
                     `POST /api/v1/embed/prepare`), and on requests that change something the session's CSRF \
                     token in `X-CSRF-Token`.",
                ),
            )),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Signet")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .license(Some(LicenseBuilder::new().name("Apache-2.0").identifier(Some("Apache-2.0")).build()))
                .build(),
        )
        .tags(Some(
            TAGS.iter()
                .map(|(name, description)| TagBuilder::new().name(*name).description(Some(*description)).build()),
        ))
        .components(Some(components))
        .build()
}

/// The finished document: `routed` is what the routes declared, on top of [`base`].
///
/// axum writes a catch-all segment `{*name}`; OpenAPI path templates have no such form, so
/// it becomes `{name}` (the operation says the value may contain `/`).
pub(crate) fn finish(mut routed: OpenApi) -> OpenApi {
    let paths = std::mem::take(&mut routed.paths.paths);
    routed.paths.paths = paths.into_iter().map(|(path, item)| (openapi_path(&path), item)).collect();
    routed
}

/// The OpenAPI form of an axum route path: `{*rest}` → `{rest}`.
pub(crate) fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

/// The document as served, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    serde_json::to_string_pretty(&crate::openapi()).unwrap_or_else(|e| {
        tracing::error!("the OpenAPI document does not serialise: {e}");
        String::from("{}")
    })
});

/// This document.
///
/// The OpenAPI 3.1 description of every route of this server, generated from the code.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str()).into_response()
}

/// The API page.
///
/// A page that reads `/api/openapi.json` and shows every operation by tag, with its
/// parameters, bodies, answers and a curl example. It loads nothing from elsewhere.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "service",
    responses((status = 200, description = "The page.", content_type = "text/html"))
)]
pub(crate) async fn docs_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // the page talks to this server only, and runs only its own inline script
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
            ),
        ],
        include_str!("docs.html"),
    )
        .into_response()
}
