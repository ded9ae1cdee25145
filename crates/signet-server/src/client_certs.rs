//! TLS client certificates as credentials (mutual TLS, with `signet serve --tls-cert`).
//!
//! - **API clients**: a tenant administrator (or a `manage` key; the operator for any tenant)
//!   registers a certificate with scopes, as an API key has: `POST /api/v1/client-certificates`,
//!   `GET …`, `DELETE /api/v1/client-certificates/{id}`. A request without `Authorization`
//!   and session cookie, on a connection whose client presented that certificate, is then
//!   that client (`authenticate`). Certificates are public: so that no tenant registers
//!   another's client as its own (whose requests would then land in the wrong tenant), a
//!   tenant proves it holds the private key by registering over a TLS connection that
//!   presents that very certificate (`possession`). The operator, trusted with every tenant,
//!   registers without presenting it.
//! - **People**: an administrator binds a certificate to a user (`POST
//!   /api/v1/users/{id}/client-certificates`); a login with the user's password over a
//!   connection presenting it skips the TOTP step: the certificate was the second factor
//!   (`second_factor`). Binding needs no proof of possession: someone else's certificate
//!   bound to one's own user gains nothing, since the login still needs its private key in
//!   the handshake, and a bound certificate is no API credential. For the same reason a
//!   binding takes the certificate from nobody: it is unique per user, not per installation
//!   (else any tenant could block a certificate's holder by binding it first).
//!
//! A registration names the certificate by the SHA-256 of its DER encoding. The TLS layer has
//! verified the chain and the validity at the handshake (RFC 8446 §4.4.2, RFC 5280 §6;
//! `crate::tls`); each request checks again that the registration is live, that the
//! certificate is within its validity (a kept-alive connection outlives the handshake), and,
//! for certificates of Signet's own CA, that the CA has not revoked it: the in-process record
//! the OCSP responder answers from, so a revocation counts at once. Certificates of other
//! authorities (`--client-ca`) are not checked against CRLs or OCSP: revoke their
//! registration here instead.

use std::time::SystemTime;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Extension, Json};
use serde::Deserialize;
use signet_authority::{CaLevel, CertStatus};
use signet_cms::CertView;
use signet_store::audit::OPERATOR_CHAIN;
use signet_store::{AuditEntry, ClientCertificateRecord, NewClientCertificate, Scope};

use crate::audit::record as audit;
use crate::auth::{Caller, Permission, Via};
use crate::tls::ClientCertificate;
use crate::util::ApiJson;
use crate::{AppState, Error};

/// id-kp-clientAuth (RFC 5280 §4.2.1.12).
const KP_CLIENT_AUTH: signet_cms::oid::ObjectIdentifier =
    signet_cms::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
/// anyExtendedKeyUsage (RFC 5280 §4.2.1.12).
const ANY_EXTENDED_KEY_USAGE: signet_cms::oid::ObjectIdentifier =
    signet_cms::oid::ObjectIdentifier::new_unwrap("2.5.29.37.0");
/// Largest PEM text accepted for one certificate (with a chain after it).
const MAX_PEM: usize = 64 * 1024;

/// `POST /client-certificates` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCertificate {
    /// The client's certificate, PEM (`-----BEGIN CERTIFICATE-----`; a chain may follow it, the
    /// first certificate is the one registered). Never send its private key.
    pub certificate: String,
    /// A label.
    pub name: String,
    /// What the client may do: `sign-hash`, `sign-document`, `manage`.
    #[schema(example = json!(["sign-hash"]))]
    pub scopes: Vec<String>,
    /// The tenant, when the operator registers (tenant callers register for their own).
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// `POST /users/{id}/client-certificates` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindCertificate {
    /// The user's certificate, PEM. Never send its private key.
    pub certificate: String,
    /// A label (default: the certificate's subject).
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /client-certificates` query.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatesQuery {
    /// The operator: one tenant's only.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// What a registration keeps of a certificate, read from its DER.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Certificate {
    der: Vec<u8>,
    subject: String,
    issuer: String,
    serial: String,
    not_before: i64,
    not_after: i64,
}

/// Reads the first certificate of `pem` and refuses what could never authenticate a TLS
/// client: a private key sent along, an unreadable or CA certificate, one restricted to other
/// purposes, one outside its validity.
fn read_certificate(pem: &str, now: SystemTime) -> Result<Certificate, Error> {
    if pem.len() > MAX_PEM {
        return Err(Error::bad("bad_certificate", format!("the certificate is over {} KiB of PEM", MAX_PEM / 1024)));
    }
    if pem.contains("PRIVATE KEY") {
        return Err(Error::bad(
            "private_key_sent",
            "send the certificate only: its private key stays with the client (discard the key that was sent if it \
             travelled anywhere it should not)",
        ));
    }
    let der = signet_crypto::certificates_from_pem_or_der(pem.trim().as_bytes())
        .map_err(|e| Error::bad("bad_certificate", format!("certificate: {e} (send it as PEM)")))?
        .into_iter()
        .next()
        .ok_or_else(|| Error::bad("bad_certificate", "no certificate in 'certificate'"))?;
    let view = CertView::parse(&der).map_err(|e| Error::bad("bad_certificate", format!("certificate: {e}")))?;
    let (not_before, not_after) =
        view.validity().map_err(|e| Error::bad("bad_certificate", format!("certificate validity: {e}")))?;
    if view.is_ca() {
        return Err(Error::bad("not_client_certificate", "this is a CA certificate, not a client's"));
    }
    let purposes = view.extended_key_usage();
    if !purposes.is_empty() && !purposes.iter().any(|p| *p == KP_CLIENT_AUTH || *p == ANY_EXTENDED_KEY_USAGE) {
        return Err(Error::bad(
            "not_client_certificate",
            "the certificate's extendedKeyUsage does not allow TLS client authentication (id-kp-clientAuth); issue \
             one with `signet ca issue --profile tls-client`",
        ));
    }
    if not_after <= now {
        return Err(Error::bad(
            "certificate_expired",
            format!("the certificate expired on {}", crate::identities::rfc3339(not_after)),
        ));
    }
    Ok(Certificate {
        subject: signet_cms::certpath::name_to_string(view.subject),
        issuer: signet_cms::certpath::name_to_string(view.issuer),
        serial: hex::encode_upper(view.serial_bytes()),
        not_before: signet_store::millis(not_before),
        not_after: signet_store::millis(not_after),
        der,
    })
}

/// What Signet's CA says of a certificate: `None` when another authority issued it.
/// Certificates naming Signet's issuing CA as their issuer whose serial number the CA has no
/// record of are refused as if revoked (RFC 6960 §2.2 "unknown" is never "good").
async fn builtin_status(state: &AppState, der: &[u8]) -> Result<Option<Result<(), String>>, Error> {
    let authority = state.authority().clone();
    let der = der.to_vec();
    crate::util::blocking(move || {
        let view = CertView::parse(&der).map_err(|e| Error::Unauthenticated(format!("client certificate: {e}")))?;
        let issuing = CertView::parse(authority.ca_certificate(CaLevel::Issuing))
            .map_err(Error::internal("reading the issuing CA's certificate"))?;
        // another authority of the same name signs with another key (RFC 5280 §4.2.1.1)
        let other_key = matches!((view.authority_key_id(), issuing.subject_key_id()), (Some(a), Some(s)) if a != s);
        if view.issuer != issuing.subject || other_key {
            return Ok(None);
        }
        Ok(Some(match authority.status(CaLevel::Issuing, view.serial_bytes()) {
            Ok(CertStatus::Good) => Ok(()),
            Ok(CertStatus::Revoked(r)) => Err(format!(
                "the client certificate was revoked by Signet's CA on {} ({})",
                crate::identities::rfc3339(r.time),
                r.reason
            )),
            Ok(CertStatus::Unknown) => Err("Signet's CA has no record of this client certificate".to_string()),
            Err(e) => {
                tracing::error!("reading the CA's certificate records: {e}");
                Err("the client certificate's revocation status cannot be read now".to_string())
            }
        }))
    })
    .await?
}

/// Why the registered certificate `record` does not get in now, if it does not: outside its
/// validity, or revoked by Signet's CA.
async fn refusal(state: &AppState, record: &ClientCertificateRecord) -> Result<Option<String>, Error> {
    if let Some(why) = outside_validity(record, signet_store::now_millis()) {
        return Ok(Some(why));
    }
    Ok(builtin_status(state, &record.certificate).await?.and_then(Result::err))
}

/// Why `record` is not valid at `now` (Unix ms), if it is not (RFC 5280 §4.1.2.5): the TLS
/// layer checked at the handshake, and a kept-alive connection or a resumed session outlives
/// that.
fn outside_validity(record: &ClientCertificateRecord, now: i64) -> Option<String> {
    let at = |ms: i64| {
        crate::identities::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0).unsigned_abs()))
    };
    if now >= record.not_after {
        Some(format!("the client certificate expired on {}", at(record.not_after)))
    } else if now < record.not_before {
        Some(format!("the client certificate is not valid before {}", at(record.not_before)))
    } else {
        None
    }
}

/// Whether a request comes from a browser on behalf of another site: `Sec-Fetch-Site`
/// `cross-site` or `same-site`, or an `Origin` other than the request's own host.
fn from_another_site(parts: &Parts) -> bool {
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s == "cross-site" || s == "same-site") {
        return true;
    }
    match header("origin") {
        None => false,
        Some(origin) => {
            let host = origin.split_once("://").map(|(_, rest)| rest);
            host.is_none() || host != header("host")
        }
    }
}

/// The API client a request's verified client certificate stands for, or why it does not get
/// in (401).
///
/// A browser holding the certificate would present it on requests other sites make it send, as
/// it sends cookies: a certificate authenticates no request a browser makes for another site
/// (the session cookie has SameSite and a CSRF token for the same reason).
pub(crate) async fn authenticate(
    state: &AppState,
    certificate: &ClientCertificate,
    parts: &Parts,
) -> Result<Caller, Error> {
    if from_another_site(parts) {
        return Err(Error::Unauthenticated(
            "a client certificate authenticates API clients, not requests a browser makes for another site".into(),
        ));
    }
    let fingerprint = certificate.fingerprint();
    let Some(record) = state.keys().client_certificate(state.store(), fingerprint).await? else {
        return Err(Error::Unauthenticated(format!(
            "the client certificate (SHA-256 {fingerprint}) is not registered as an API client: a tenant \
             administrator registers it with POST /api/v1/client-certificates over a connection presenting it (a \
             user's second factor is no API credential: log in with the user's password, POST /api/v1/auth/login)"
        )));
    };
    if let Some(why) = refusal(state, &record).await? {
        return Err(Error::Unauthenticated(why));
    }
    Ok(Caller {
        id: record.id,
        tenant_id: Some(record.tenant_id),
        scopes: record.scopes,
        roles: Vec::new(),
        via: Via::ClientCertificate,
        session_id: None,
        ip: None,
        user_agent: None,
    })
}

/// Whether `certificate`, presented at `user`'s login, is a live second factor of that user:
/// `Ok(Ok(registration))`, or `Ok(Err(why not))` for the signing log.
pub(crate) async fn second_factor(
    state: &AppState,
    certificate: &ClientCertificate,
    user: &signet_store::User,
) -> Result<Result<ClientCertificateRecord, String>, Error> {
    let record = match state.store().user_certificate_by_fingerprint(&user.id, certificate.fingerprint()).await {
        Ok(r) if r.tenant_id == user.tenant_id => r,
        Ok(_) | Err(signet_store::Error::NotFound(_)) => {
            return Ok(Err("the client certificate is not bound to this user".into()));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(match refusal(state, &record).await? {
        Some(why) => Err(why),
        None => Ok(record),
    })
}

/// A certificate read and checked, and not revoked by Signet's CA.
async fn checked(state: &AppState, pem: &str) -> Result<Certificate, Error> {
    let certificate = read_certificate(pem, SystemTime::now())?;
    if let Some(Err(why)) = builtin_status(state, &certificate.der).await? {
        return Err(Error::bad("certificate_revoked", why));
    }
    Ok(certificate)
}

fn label(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(Error::bad("bad_name", "a client certificate needs a name (1–128 characters)"));
    }
    Ok(name.to_string())
}

/// Why a tenant may not register `certificate` (DER) on this request, if it may not: the
/// connection must present that very certificate (`presented`, verified by the TLS layer), the
/// proof that the registering client holds its private key. Certificates are public; without
/// this, a tenant could register another tenant's client as its own.
fn possession(presented: Option<&ClientCertificate>, certificate: &[u8]) -> Result<(), Error> {
    let fingerprint = signet_store::sha256_hex(certificate);
    let connection = match presented {
        Some(p) if p.fingerprint() == fingerprint => return Ok(()),
        Some(p) => format!("presents another certificate (SHA-256 {})", p.fingerprint()),
        None => "presents no client certificate".to_string(),
    };
    Err(Error::Refused {
        code: "possession_required",
        message: format!(
            "a tenant registers a client certificate over a TLS connection that presents it, to prove it holds its \
             private key; this connection {connection}, not the one sent (SHA-256 {fingerprint}). Send the \
             request with the certificate and its key (e.g. `curl --cert client.pem --key client.key -H \
             'Authorization: Bearer …'`), or have the operator register it"
        ),
    })
}

/// Register an API client's certificate.
///
/// A tenant administrator, or an API key with scope `manage`, for its tenant; an operator key
/// (scope `admin`) for the tenant named by `tenant_id`. The certificate (PEM, without its key)
/// must allow TLS client authentication and be within its validity; its scopes are an API
/// key's (`sign-hash`, `sign-document`, `manage`). Over TLS (`signet serve --tls-cert`), a
/// request without `Authorization` and session cookie whose client presents this certificate
/// is then this client. The certificate must chain to Signet's CA or a `--client-ca`
/// authority, or the TLS handshake refuses it. One certificate maps to one tenant.
///
/// Proof of possession: a tenant registers over a TLS connection that presents this very
/// certificate (the client holds its private key), authenticated as usual by its key or
/// session, e.g. `curl --cert client.pem --key client.key -H 'Authorization: Bearer …'`;
/// otherwise 403 `possession_required`. Certificates are public: this keeps a tenant from
/// registering another tenant's client as its own. The operator registers without it.
#[utoipa::path(
    post,
    path = "/client-certificates",
    tag = "keys",
    security(("bearer" = ["manage"]), ("bearer" = ["admin"]), ("session" = [])),
    request_body = RegisterCertificate,
    responses(
        (status = 201, description = "The registration.", body = ClientCertificateRecord),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (
            status = 403,
            description = "The caller may not manage this tenant's keys, or the tenant is suspended (`forbidden`); or a \
                           tenant's connection does not present the certificate it registers (`possession_required`).",
            body = crate::error::ErrorBody
        ),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn register_certificate(
    State(state): State<AppState>,
    caller: Caller,
    presented: Option<Extension<ClientCertificate>>,
    ApiJson(req): ApiJson<RegisterCertificate>,
) -> Result<(StatusCode, Json<ClientCertificateRecord>), Error> {
    let operator = caller.require_admin().is_ok();
    let tenant = if operator {
        let id = req.tenant_id.clone().ok_or_else(|| {
            Error::bad("missing_tenant", "the operator names the tenant of the certificate: give 'tenant_id'")
        })?;
        state.store().tenant(&id).await?;
        id
    } else {
        let own = caller.may(Permission::ManageKeys)?.to_string();
        if req.tenant_id.as_ref().is_some_and(|t| *t != own) {
            return Err(Error::Forbidden("a tenant registers certificates for itself only".into()));
        }
        own
    };
    let name = label(&req.name)?;
    let scopes = crate::admin::parse_scopes(&req.scopes)?;
    let certificate = checked(&state, &req.certificate).await?;
    if !operator {
        possession(presented.as_ref().map(|Extension(p)| p), &certificate.der)?;
    }
    register(&state, &caller, &tenant, None, name, scopes, certificate).await
}

async fn register(
    state: &AppState,
    caller: &Caller,
    tenant: &str,
    user_id: Option<String>,
    name: String,
    scopes: Vec<Scope>,
    certificate: Certificate,
) -> Result<(StatusCode, Json<ClientCertificateRecord>), Error> {
    let new = NewClientCertificate {
        tenant_id: tenant.to_string(),
        user_id,
        name,
        scopes,
        certificate: certificate.der,
        subject: certificate.subject,
        issuer: certificate.issuer,
        serial: certificate.serial,
        not_before: certificate.not_before,
        not_after: certificate.not_after,
    };
    let record = state.store().create_client_certificate(&new).await.map_err(|e| match e {
        signet_store::Error::Conflict(_) if new.user_id.is_some() => Error::Conflict {
            code: "certificate_registered",
            message: "this certificate is bound to this user already".into(),
        },
        signet_store::Error::Conflict(_) => Error::Conflict {
            code: "certificate_registered",
            message: "this certificate is registered already as an API client: revoke that registration first".into(),
        },
        e => e.into(),
    })?;
    state.keys().forget_client_certificate(&record.fingerprint);
    let chain = if caller.tenant_id.is_some() { tenant } else { OPERATOR_CHAIN };
    let entry = AuditEntry::new(chain, &caller.actor(), "client_certificate.register", "ok")
        .target("client_certificate", &record.id)
        .detail(serde_json::json!({
            "tenant": tenant, "user": record.user_id, "name": record.name, "scopes": record.scopes,
            "fingerprint": record.fingerprint, "subject": record.subject, "issuer": record.issuer,
            "serial": record.serial,
        }));
    audit(state, entry).await;
    Ok((StatusCode::CREATED, Json(record)))
}

/// List the API clients' certificates.
///
/// A tenant administrator, or an API key with scope `manage`: the tenant's; an operator key
/// (scope `admin`): every tenant's, or one's with `tenant_id`. Revoked registrations are
/// listed with `revoked_at`.
#[utoipa::path(
    get,
    path = "/client-certificates",
    tag = "keys",
    security(("bearer" = ["manage"]), ("bearer" = ["admin"]), ("session" = [])),
    params(("tenant_id" = Option<String>, Query, description = "The operator: one tenant's only")),
    responses(
        (status = 200, description = "The registrations, oldest first.", body = Vec<ClientCertificateRecord>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_certificates(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<CertificatesQuery>,
) -> Result<Json<Vec<ClientCertificateRecord>>, Error> {
    let tenant = if caller.require_admin().is_ok() {
        q.tenant_id
    } else {
        Some(caller.may(Permission::ManageKeys)?.to_string())
    };
    Ok(Json(state.store().client_certificates(tenant.as_deref(), None).await?))
}

/// Revoke an API client's certificate registration.
///
/// A tenant administrator, or an API key with scope `manage`, for its tenant's; an operator
/// key (scope `admin`) for any. The certificate stops getting in at once on this server,
/// within 5 s on others sharing the database. (Revoking the certificate itself, at the CA
/// that issued it, also stops it: Signet's CA at once.)
#[utoipa::path(
    delete,
    path = "/client-certificates/{id}",
    tag = "keys",
    security(("bearer" = ["manage"]), ("bearer" = ["admin"]), ("session" = [])),
    params(("id" = String, Path, description = "The registration's id (`ccert_…`)")),
    responses(
        (status = 200, description = "The registration, revoked.", body = ClientCertificateRecord),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn revoke_certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ClientCertificateRecord>, Error> {
    let within =
        if caller.require_admin().is_ok() { None } else { Some(caller.may(Permission::ManageKeys)?.to_string()) };
    let found = state.store().client_certificate(&id, within.as_deref()).await?;
    if found.user_id.is_some() {
        return Err(Error::Missing(format!(
            "client certificate {id} is a user's second factor: DELETE /api/v1/users/{{id}}/client-certificates/{id}"
        )));
    }
    revoke(&state, &caller, found, within.as_deref().unwrap_or(OPERATOR_CHAIN)).await
}

async fn revoke(
    state: &AppState,
    caller: &Caller,
    found: ClientCertificateRecord,
    chain: &str,
) -> Result<Json<ClientCertificateRecord>, Error> {
    let record = state.store().revoke_client_certificate(&found.id, Some(&found.tenant_id)).await?;
    state.keys().forget_client_certificate(&record.fingerprint);
    tracing::info!("client certificate {} revoked by {}", record.id, caller.id);
    let entry = AuditEntry::new(chain, &caller.actor(), "client_certificate.revoke", "ok")
        .target("client_certificate", &record.id)
        .detail(serde_json::json!({ "tenant": record.tenant_id, "user": record.user_id, "fingerprint": record.fingerprint }));
    audit(state, entry).await;
    Ok(Json(record))
}

/// Bind a certificate to a user as their second factor.
///
/// Permission "managing users" (tenant administrators; API keys need the scope `manage`).
/// A login with the user's password over TLS, presenting this certificate, is then complete
/// without a TOTP code (and satisfies a role's MFA requirement). The certificate (PEM,
/// without its key) must allow TLS client authentication and be within its validity.
/// Binding takes the certificate from nobody: other users, here or in other tenants, may have
/// it bound too (it completes no login without its private key); bound twice to the same user
/// is 409 `certificate_registered`.
#[utoipa::path(
    post,
    path = "/users/{id}/client-certificates",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`usr_…`")),
    request_body = BindCertificate,
    responses(
        (status = 201, description = "The binding.", body = ClientCertificateRecord),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn bind_user_certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<BindCertificate>,
) -> Result<(StatusCode, Json<ClientCertificateRecord>), Error> {
    let tenant = caller.may(Permission::ManageUsers)?.to_string();
    let user = state.store().user(&tenant, &id).await?;
    let certificate = checked(&state, &req.certificate).await?;
    let name = match &req.name {
        Some(n) => label(n)?,
        None => certificate.subject.chars().take(128).collect(),
    };
    register(&state, &caller, &tenant, Some(user.id), name, Vec::new(), certificate).await
}

/// A user's certificates.
///
/// Permission "managing users" (API keys need the scope `manage`), or the user themself.
/// Revoked bindings are listed with `revoked_at`.
#[utoipa::path(
    get,
    path = "/users/{id}/client-certificates",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(("id" = String, Path, description = "`usr_…`")),
    responses(
        (status = 200, description = "The user's certificates, oldest first.", body = Vec<ClientCertificateRecord>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_user_certificates(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ClientCertificateRecord>>, Error> {
    let tenant = if caller.is_user(&id) {
        caller.tenant_id.clone().unwrap_or_default()
    } else {
        caller.may(Permission::ManageUsers)?.to_string()
    };
    state.store().user(&tenant, &id).await?;
    Ok(Json(state.store().client_certificates(Some(&tenant), Some(&id)).await?))
}

/// Unbind a certificate from a user.
///
/// Permission "managing users" (API keys need the scope `manage`). The certificate no longer
/// completes the user's logins, at once (a login reads the binding from the database).
#[utoipa::path(
    delete,
    path = "/users/{id}/client-certificates/{certificate}",
    tag = "people",
    security(("bearer" = ["manage"]), ("session" = [])),
    params(
        ("id" = String, Path, description = "`usr_…`"),
        ("certificate" = String, Path, description = "The binding's id (`ccert_…`)"),
    ),
    responses(
        (status = 200, description = "The binding, revoked.", body = ClientCertificateRecord),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn unbind_user_certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, certificate)): Path<(String, String)>,
) -> Result<Json<ClientCertificateRecord>, Error> {
    let tenant = caller.may(Permission::ManageUsers)?.to_string();
    let found = state.store().client_certificate(&certificate, Some(&tenant)).await?;
    if found.user_id.as_deref() != Some(id.as_str()) {
        return Err(Error::Missing(format!("user {id} has no client certificate {certificate}")));
    }
    revoke(&state, &caller, found, &tenant).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use signet_authority::{Authority, AuthorityOptions, DistinguishedName, IssueRequest, KeySource, Profile};

    use super::*;

    fn pem(der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }

    fn issue(ca: &Authority, profile: Profile) -> Vec<u8> {
        let request = IssueRequest {
            profile,
            subject: DistinguishedName::common_name("erp.example.com"),
            emails: Vec::new(),
            key: KeySource::Generate(signet_crypto::KeyKind::EcP256),
            validity: Some(Duration::from_secs(30 * 86_400)),
        };
        ca.issue(&request).unwrap().certificate
    }

    #[test]
    fn certificates_are_read_and_checked_for_client_authentication() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::init(dir.path(), &AuthorityOptions::default()).unwrap();
        let der = issue(&ca, Profile::TlsClient);
        let now = SystemTime::now();
        let c = read_certificate(&pem(&der), now).unwrap();
        assert_eq!(c.der, der);
        assert_eq!(c.subject, "CN=erp.example.com");
        assert!(c.issuer.contains("Issuing CA"), "{}", c.issuer);
        assert_eq!(c.serial.len() % 2, 0);
        assert!(c.serial.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
        assert!(c.not_before < c.not_after);
        // a chain after it: the first is the client's
        let chained = format!("{}{}", pem(&der), pem(ca.ca_certificate(CaLevel::Issuing)));
        assert_eq!(read_certificate(&chained, now).unwrap().der, der);
        // a person's certificate has no extendedKeyUsage: any purpose, so TLS clients too
        assert!(read_certificate(&pem(&issue(&ca, Profile::Person)), now).is_ok());

        let code = |pem: &str, at: SystemTime| match read_certificate(pem, at) {
            Err(Error::BadRequest { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(&pem(&issue(&ca, Profile::Tsa)), now), "not_client_certificate");
        assert_eq!(code(&pem(ca.ca_certificate(CaLevel::Issuing)), now), "not_client_certificate");
        assert_eq!(code(&pem(&der), now + Duration::from_secs(31 * 86_400)), "certificate_expired");
        let with_key = format!("{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", pem(&der));
        assert_eq!(code(&with_key, now), "private_key_sent");
        for hostile in ["", "garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "-----BEGIN "] {
            assert_eq!(code(hostile, now), "bad_certificate", "{hostile:?}");
        }
        assert_eq!(code(&"A".repeat(MAX_PEM + 1), now), "bad_certificate");
        assert_eq!(code(&pem(&der[..der.len() / 2]), now), "bad_certificate");
    }

    #[test]
    fn a_tenant_registers_only_the_certificate_its_connection_presents() {
        let (mine, theirs) = (b"my certificate".as_slice(), b"another tenant's certificate".as_slice());
        let presented = ClientCertificate::from_der(mine);
        assert!(possession(Some(&presented), mine).is_ok());
        for (connection, says) in [(None, "presents no client certificate"), (Some(&presented), "another certificate")]
        {
            let e = possession(connection, theirs).unwrap_err();
            assert_eq!(e.status(), axum::http::StatusCode::FORBIDDEN);
            assert_eq!(e.code(), "possession_required");
            let message = e.to_string();
            assert!(message.contains(says), "{message}");
            assert!(message.contains(&signet_store::sha256_hex(theirs)), "names the certificate sent: {message}");
            assert!(message.contains("curl --cert") && message.contains("operator"), "{message}");
        }
    }

    #[test]
    fn validity_is_checked_at_each_request() {
        let record = ClientCertificateRecord {
            id: "ccert_1".into(),
            tenant_id: "tn_1".into(),
            user_id: None,
            name: "erp".into(),
            scopes: vec![Scope::SignHash],
            fingerprint: "00".into(),
            subject: "CN=erp".into(),
            issuer: "CN=CA".into(),
            serial: "01".into(),
            not_before: 1_700_000_000_000,
            not_after: 1_800_000_000_000,
            created_at: 0,
            revoked_at: None,
            certificate: Vec::new(),
        };
        assert_eq!(outside_validity(&record, 1_750_000_000_000), None);
        let e = outside_validity(&record, 1_800_000_000_000).unwrap();
        assert_eq!(e, "the client certificate expired on 2027-01-15T08:00:00Z");
        let e = outside_validity(&record, 1_600_000_000_000).unwrap();
        assert!(e.contains("not valid before 2023-11-14T22:13:20Z"), "{e}");
    }

    #[test]
    fn browsers_sending_for_another_site_are_told_apart() {
        let parts = |headers: &[(&str, &str)]| {
            let mut request = axum::http::Request::builder().uri("/api/v1/me").header("host", "signet.example:8443");
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            request.body(()).unwrap().into_parts().0
        };
        assert!(!from_another_site(&parts(&[])), "curl, reqwest: neither header");
        assert!(!from_another_site(&parts(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://signet.example:8443")
        ])));
        assert!(!from_another_site(&parts(&[("sec-fetch-site", "none")])));
        assert!(from_another_site(&parts(&[("sec-fetch-site", "cross-site")])));
        assert!(from_another_site(&parts(&[("sec-fetch-site", "same-site")])));
        assert!(from_another_site(&parts(&[("origin", "https://evil.example")])));
        assert!(from_another_site(&parts(&[("origin", "null")])));
    }
}
