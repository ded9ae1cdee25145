#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod admin;
pub mod agent;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod batch;
mod ca;
pub mod client_certs;
pub mod deferred;
pub mod embed;
pub mod envelope_mail;
pub mod envelope_pdf;
pub mod envelopes;
mod error;
pub mod identities;
mod local;
pub mod mail;
pub mod meter;
mod openapi;
pub mod people;
pub mod preview;
pub mod remote;
pub mod seals;
pub mod signer;
pub mod signhash;
pub mod sso;
mod state;
pub mod tls;
mod trust;
mod util;
mod verify;
pub mod versions;
pub mod web;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use batch::BatchRunner;
pub use error::Error;
pub use identities::Pkcs11Config;
pub use signet_store::{S3Credentials, S3Options};
pub use state::{ADMIN_TOKEN_ENV, AppState, LocalServices, open_authority};
pub use trust::{MAX_TRUST_REQUEST_BYTES, TrustServices, trust_routes};

/// Where the server listens, where it keeps its data, what it trusts.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// Data directory, created on first start (default `./signet-data`).
    pub data_dir: PathBuf,
    /// Trust anchor files (PEM, may hold several certificates; or DER), in addition to those
    /// in `data_dir/trust/`.
    pub trust: Vec<PathBuf>,
    /// Largest accepted upload in bytes (default 200 MiB).
    pub max_upload_bytes: u64,
    /// Base URL of the CRLs, CA certificates and OCSP responder named in the certificates the
    /// authority issues; `http://` + `listen` when `None`.
    pub public_url: Option<String>,
    /// Policy OID of the timestamps the TSA issues (RFC 3161 §2.4.2 `policy`).
    pub tsa_policy: signet_cms::oid::ObjectIdentifier,
    /// Database URL (`sqlite://PATH` or `postgres://…`); `DATA/signet.db` when `None`.
    pub database_url: Option<String>,
    /// An external RFC 3161 TSA for signatures from B-T; the built-in one when `None`.
    pub tsa_url: Option<String>,
    /// The PKCS#11 module for identities whose keys are on a token.
    pub pkcs11: Option<Pkcs11Config>,
    /// A remote hash-signing API for the agent (URL and API key); in process when `None`.
    pub sign_api: Option<(String, String)>,
    /// Documents of batches signed at a time (default: the number of cores).
    pub batch_workers: usize,
    /// An S3-compatible bucket for the blobs (documents, seal images), with `DATA/blobs` as
    /// its staging directory and read cache; the blobs are in `DATA/blobs` when `None`.
    pub s3: Option<signet_store::S3Options>,
    /// The wait before a webhook delivery's second attempt, doubled at each next one (default
    /// 30 s).
    pub webhook_retry_base: std::time::Duration,
    /// Attempts of a webhook delivery before it fails (default 8).
    pub webhook_max_attempts: u32,
    /// How often the signing log's chains are timestamped (default 10 minutes).
    pub audit_anchor_interval: std::time::Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve HTTPS, with client certificates (mutual TLS); plain HTTP when `None`.
    pub tls: Option<tls::TlsSettings>,
    /// Outgoing mail: `smtp://host:port`, `smtp://user@host:587?tls=starttls`,
    /// `smtps://host:465`; `None` writes each mail into `DATA/outbox` instead.
    pub smtp_url: Option<String>,
    /// The sender of Signet's e-mails.
    pub mail_from: String,
    /// How long a party's prepared own-key signature stays usable (default 15 minutes).
    pub preparation_ttl: std::time::Duration,
}

/// The TSA policy used when none is configured: `1.2.3.4.1`, the placeholder of OpenSSL's
/// sample TSA configuration, which validators accept and nobody relies on. A TSA whose tokens
/// others rely on states its policy (ETSI EN 319 421) and sets that policy's OID
/// (`--tsa-policy`). (An unregistered UUID OID under 2.25 would be the better default, but
/// its 128-bit arc does not fit the OID type used throughout.)
pub const DEFAULT_TSA_POLICY: signet_cms::oid::ObjectIdentifier =
    signet_cms::oid::ObjectIdentifier::new_unwrap("1.2.3.4.1");

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("signet-data"),
            trust: Vec::new(),
            max_upload_bytes: 200 * 1024 * 1024,
            public_url: None,
            tsa_policy: DEFAULT_TSA_POLICY,
            database_url: None,
            tsa_url: None,
            pkcs11: None,
            sign_api: None,
            batch_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            s3: None,
            webhook_retry_base: webhooks::RetryPolicy::default().base,
            webhook_max_attempts: webhooks::RetryPolicy::default().max_attempts,
            audit_anchor_interval: audit::DEFAULT_ANCHOR_INTERVAL,
            trusted_proxies: Vec::new(),
            tls: None,
            smtp_url: None,
            mail_from: "Signet <signet@localhost>".into(),
            preparation_ttl: deferred::DEFAULT_PREPARATION_TTL,
        }
    }
}

/// Every route of the server, each with its OpenAPI description: `/healthz`, the
/// certification authority's CRLs and certificates (`/crl/root.crl`, `/crl/issuing.crl`,
/// `/ca/root.crt`, `/ca/issuing.crt`), its OCSP responder (`/ocsp`) and timestamp authority
/// (`/tsa`), the API under `/api/v1`, and its description (`/api/openapi.json`, `/api/docs`).
///
/// Routes are added only with `routes!`, which routes a handler at the path and methods of
/// its `#[utoipa::path]` and adds that description to the document: what is routed is what
/// is documented (the test `openapi.rs` checks both ways).
fn routes() -> OpenApiRouter<AppState> {
    let api_v1 = OpenApiRouter::new()
        .routes(routes!(verify::verify))
        .routes(routes!(admin::me))
        .routes(routes!(admin::create_tenant, admin::list_tenants))
        .routes(routes!(admin::show_tenant, admin::update_tenant))
        .routes(routes!(admin::create_tenant_key, admin::list_tenant_keys))
        .routes(routes!(admin::tenant_usage))
        .routes(routes!(admin::create_key, admin::list_keys))
        .routes(routes!(admin::revoke_key))
        .routes(routes!(admin::usage))
        .routes(routes!(admin::signatures))
        .routes(routes!(client_certs::register_certificate, client_certs::list_certificates))
        .routes(routes!(client_certs::revoke_certificate))
        .routes(routes!(client_certs::bind_user_certificate, client_certs::list_user_certificates))
        .routes(routes!(client_certs::unbind_user_certificate))
        .routes(routes!(identities::create, identities::list))
        .routes(routes!(identities::show))
        .routes(routes!(assets::upload_image, assets::list_images))
        .routes(routes!(assets::image_content))
        .routes(routes!(assets::list_templates))
        .routes(routes!(assets::show_template, assets::put_template, assets::delete_template))
        .routes(routes!(signhash::handler))
        .routes(routes!(agent::handler))
        .routes(routes!(batch::create))
        .routes(routes!(batch::show))
        .routes(routes!(batch::results))
        .routes(routes!(preview::upload, versions::list_documents))
        .routes(routes!(assets::show_document))
        .routes(routes!(preview::page))
        .routes(routes!(preview::image))
        .routes(routes!(assets::document_content))
        .routes(routes!(versions::list_versions, versions::add_version))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(webhooks::show_webhook, webhooks::update_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::rotate_webhook_secret))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(webhooks::ping))
        .routes(routes!(webhooks::list_events))
        .routes(routes!(people::login))
        .routes(routes!(people::mfa))
        .routes(routes!(people::mfa_enrol))
        .routes(routes!(people::mfa_confirm))
        .routes(routes!(people::logout))
        .routes(routes!(people::current_session))
        .routes(routes!(people::change_password))
        .routes(routes!(sso::sso_login))
        .routes(routes!(people::create_user, people::list_users))
        .routes(routes!(people::user_directory))
        .routes(routes!(people::show_user, people::update_user))
        .routes(routes!(people::set_password))
        .routes(routes!(people::reset_mfa))
        .routes(routes!(people::unlock_user))
        .routes(routes!(people::show_settings, people::put_settings))
        .routes(routes!(audit::search_audit))
        .routes(routes!(audit::export_audit))
        .routes(routes!(audit::verify_audit))
        .routes(routes!(audit::anchor_audit))
        .routes(routes!(seals::create_seal, seals::list_seals))
        .routes(routes!(seals::preview_seal))
        .routes(routes!(seals::upload_seal_image))
        .routes(routes!(seals::show_seal, seals::update_seal))
        .routes(routes!(seals::seal_image))
        .routes(routes!(seals::revoke_seal))
        .routes(routes!(seals::grant_seal, seals::list_seal_grants))
        .routes(routes!(seals::revoke_seal_grant))
        .routes(routes!(seals::request_seal_use))
        .routes(routes!(seals::list_seal_requests))
        .routes(routes!(seals::approve_seal_request))
        .routes(routes!(seals::reject_seal_request))
        .routes(routes!(envelopes::create_envelope, envelopes::list_envelopes))
        .routes(routes!(envelopes::envelope_counts))
        .routes(routes!(envelopes::show_envelope))
        .routes(routes!(envelopes::envelope_history))
        .routes(routes!(envelopes::send))
        .routes(routes!(envelopes::void))
        .routes(routes!(envelopes::remind))
        .routes(routes!(envelopes::sign_as_party))
        .routes(routes!(envelopes::decline_as_party))
        .routes(routes!(envelopes::envelope_document))
        .routes(routes!(envelopes::envelope_certificate))
        .routes(routes!(deferred::prepare_party_signature))
        .routes(routes!(deferred::upload_party_signature))
        .routes(routes!(deferred::party_preparation))
        .routes(routes!(signer::signer_prepare))
        .routes(routes!(signer::signer_signature))
        .routes(routes!(signer::signer_own_key))
        .routes(routes!(signer::open_session))
        .routes(routes!(signer::confirm_code))
        .routes(routes!(signer::resend_code))
        .routes(routes!(signer::signer_view))
        .routes(routes!(signer::signer_page))
        .routes(routes!(signer::signer_document))
        .routes(routes!(signer::signer_sign))
        .routes(routes!(signer::signer_decline))
        .routes(routes!(embed::create_embed))
        .routes(routes!(embed::open_embed))
        .routes(routes!(embed::create_prepare_embed))
        .routes(routes!(embed::open_prepare_embed))
        .routes(routes!(embed::prepare_page))
        .routes(routes!(embed::prepare_page_image))
        .routes(routes!(embed::prepare_send));
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(healthz))
        .routes(routes!(ca::root_crl))
        .routes(routes!(ca::issuing_crl))
        .routes(routes!(ca::root_certificate))
        .routes(routes!(ca::issuing_certificate))
        .merge(trust::trust_api())
        .nest("/api/v1", api_v1)
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(openapi::docs_page))
}

/// The OpenAPI 3.1 document of [`app`]'s routes, as served at `GET /api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::finish(routes().into_openapi())
}

/// The server's routes ([`openapi`] describes each), for `state`; anything else is a 404
/// `not_found` "no such route".
pub fn app(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router
        .merge(web::router())
        .route("/embed/sign/{token}", axum::routing::get(embed::embedded_page))
        .route("/embed/prepare/{token}", axum::routing::get(embed::embedded_prepare_page))
        .fallback(async || Error::NotFound)
        .layer(axum::middleware::from_fn(util::read_small_bodies))
        .layer(axum::middleware::from_fn(util::request_log))
        .layer(axum::middleware::from_fn_with_state(Arc::new(state.trusted_proxies().to_vec()), util::forwarded_client))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// Prepares the data directory, loads the trust anchors, listens on `config.listen` and serves
/// [`app`] until SIGINT or SIGTERM, then finishes the requests in flight and returns.
///
/// With [`ServerConfig::tls`], it serves HTTPS instead, asking clients for a certificate
/// ([`tls`]); the certificates the authority issues then point at `https://` + the listening
/// address unless a public URL is set.
pub async fn serve(mut config: ServerConfig) -> Result<(), Error> {
    // a wrong certificate or key stops the server before anything else is touched
    let tls_identity = config.tls.as_ref().map(tls::ServerIdentity::load).transpose()?;
    if tls_identity.is_some() && config.public_url.is_none() {
        config.public_url = Some(tls::default_public_url(config.listen));
    }
    let state = AppState::load(&config).await?;
    let tls_config = tls_identity.map(|identity| tls::server_config(identity, state.authority())).transpose()?;
    if let Some(token) = state.bootstrap_admin().await? {
        // shown once: only its hash is stored
        println!(
            "\nOperator API key (shown only this once; keep it, it creates tenants and their keys):\n\n    {token}\n\nUse it as: curl -H 'Authorization: Bearer {token}' ...\nOr set {ADMIN_TOKEN_ENV} to choose the operator key yourself.\n"
        );
    }
    let anchors = state.trust_anchor_count();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(Error::internal("reading the listening address"))?;
    tracing::info!(
        "Signet {} listening on {}://{addr} (data in {}, {anchors} trust anchor{})",
        env!("CARGO_PKG_VERSION"),
        if tls_config.is_some() { "https" } else { "http" },
        config.data_dir.display(),
        if anchors == 1 { "" } else { "s" }
    );
    tokio::spawn(renew_crls(state.authority().clone()));
    batch::resume(&state).await?;
    state.webhooks().start();
    tokio::spawn(audit::anchor_on_schedule(state.clone(), config.audit_anchor_interval));
    tokio::spawn(envelopes::run_schedule(state.clone()));
    tracing::info!("mail: {}", state.mailer().describe());
    match tls_config {
        None => axum::serve(listener, app(state.clone()).into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(Error::internal("serving"))?,
        Some(tls_config) => tls::serve(listener, tls_config, app(state.clone()), shutdown_signal()).await,
    }
    state.batches().shutdown(std::time::Duration::from_secs(30)).await;
    state.webhooks().shutdown(webhooks::ATTEMPT_TIMEOUT).await;
    tracing::info!("stopped");
    Ok(())
}

/// How often the CRLs are looked at: [`signet_authority::Authority::crl`] reissues a CRL once
/// half of its validity (7 days by default) has passed, so an hourly look keeps the published
/// CRLs fresh even when nobody fetches them (RFC 5280 §5: a new CRL before nextUpdate).
const CRL_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Reissues the CRLs on schedule, for as long as the server runs.
async fn renew_crls(authority: std::sync::Arc<signet_authority::Authority>) {
    let mut tick = tokio::time::interval(CRL_CHECK_INTERVAL);
    loop {
        tick.tick().await;
        let a = authority.clone();
        let result = tokio::task::spawn_blocking(move || {
            for level in [signet_authority::CaLevel::Root, signet_authority::CaLevel::Issuing] {
                a.crl(level)?;
            }
            Ok::<(), signet_authority::Error>(())
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("reissuing the CRLs failed: {e}"),
            Err(e) => tracing::error!("the CRL task failed: {e}"),
        }
    }
}

/// `GET /healthz` answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`: the server answers.
    #[schema(example = "ok")]
    pub status: String,
    /// The server's version.
    #[schema(example = "0.1.0")]
    pub version: String,
}

/// Health.
///
/// Answers as long as the server runs; for load balancers and monitoring.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "The server runs.", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
