//! The certification authority's publication points: CRLs (RFC 5280 §4.2.1.13, served as
//! `application/pkix-crl`, RFC 2585 §4.2) and CA certificates for authorityInfoAccess
//! caIssuers (RFC 5280 §4.2.2.1, DER as `application/pkix-cert`, RFC 2585 §4.1).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use signet_authority::CaLevel;

use crate::{AppState, Error};

const CRL_TYPE: &str = "application/pkix-crl";
const CERT_TYPE: &str = "application/pkix-cert";

/// The root CA's CRL.
///
/// DER (RFC 5280 §5), reissued at each revocation and when half its validity has passed.
#[utoipa::path(get, path = "/crl/root.crl", tag = "trust services", responses((status = 200, description = "The current CRL (DER).", content_type = "application/pkix-crl")))]
pub(crate) async fn root_crl(State(state): State<AppState>) -> Result<Response, Error> {
    crl(state, CaLevel::Root).await
}

/// The issuing CA's CRL.
///
/// DER (RFC 5280 §5), reissued at each revocation and when half its validity has passed;
/// the CRL distribution point of the certificates the built-in CA issues.
#[utoipa::path(get, path = "/crl/issuing.crl", tag = "trust services", responses((status = 200, description = "The current CRL (DER).", content_type = "application/pkix-crl")))]
pub(crate) async fn issuing_crl(State(state): State<AppState>) -> Result<Response, Error> {
    crl(state, CaLevel::Issuing).await
}

/// The root CA certificate.
///
/// DER (RFC 2585 §4.1): the trust anchor to give validators of what Signet signs.
#[utoipa::path(get, path = "/ca/root.crt", tag = "trust services", responses((status = 200, description = "The certificate (DER).", content_type = "application/pkix-cert")))]
pub(crate) async fn root_certificate(State(state): State<AppState>) -> Response {
    certificate(&state, CaLevel::Root)
}

/// The issuing CA certificate.
///
/// DER (RFC 2585 §4.1), named by the authorityInfoAccess caIssuers of issued certificates.
#[utoipa::path(get, path = "/ca/issuing.crt", tag = "trust services", responses((status = 200, description = "The certificate (DER).", content_type = "application/pkix-cert")))]
pub(crate) async fn issuing_certificate(State(state): State<AppState>) -> Response {
    certificate(&state, CaLevel::Issuing)
}

/// The current CRL; reissuing one signs and writes files, so it runs off the async workers.
async fn crl(state: AppState, level: CaLevel) -> Result<Response, Error> {
    let authority = state.authority().clone();
    let der = tokio::task::spawn_blocking(move || authority.crl(level))
        .await
        .map_err(|e| Error::Internal { context: "issuing a CRL", source: Box::new(e) })?
        .map_err(|e| Error::Internal { context: "issuing a CRL", source: Box::new(e) })?;
    // A CRL may change at any revocation: caches must ask again.
    Ok(([(header::CONTENT_TYPE, CRL_TYPE), (header::CACHE_CONTROL, "no-cache")], der).into_response())
}

fn certificate(state: &AppState, level: CaLevel) -> Response {
    let der = state.authority().ca_certificate(level).to_vec();
    ([(header::CONTENT_TYPE, CERT_TYPE), (header::CACHE_CONTROL, "max-age=86400")], der).into_response()
}
