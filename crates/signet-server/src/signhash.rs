//! The hash-signing API: `POST /api/v1/sign-hash`.
//!
//! The request carries a digest and nothing else: `{"identity", "digest_algorithm",
//! "digest", "level"}` in at most [`MAX_SIGN_HASH_BYTES`], unknown fields refused. The answer
//! is a detached CMS `SignedData` ready for a PAdES `/Contents` (ETSI EN 319 142-1 §6.3:
//! content-type, message-digest = the digest, signing-certificate-v2, no signing-time), with
//! a signature timestamp from B-T (§6.3 B-T: an RFC 3161 token over the signature value as an
//! unsigned attribute), and from B-LT the validation data of the signer's and the TSA's
//! chains (certificates, OCSP responses, CRLs) for the agent to put in the DSS (§6.4 B-LT).

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use signet_crypto::DigestAlgorithm;
use signet_pades::{Level, OnlineValidation, Revocation, TsaClient, ValidationSource};
use signet_store::{SignatureRecord, StoredResponse};

use crate::auth::{Caller, Permission};
use crate::meter::Admission;
use crate::util::ApiJson;
use crate::{AppState, Error};

/// Largest sign-hash request body: a digest, an identity name and a level fit in far less.
pub const MAX_SIGN_HASH_BYTES: usize = 4096;

/// `POST /api/v1/sign-hash` request.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignHashRequest {
    /// Name of one of the tenant's signing identities (or give `seal`).
    #[serde(default)]
    pub identity: String,
    /// Sign with this seal's identity instead (`seal_…`), under a grant to this API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
    /// The approved seal-use request (`srq_…`), when the grant asks for one per use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_request: Option<String>,
    /// `sha256`, `sha384` or `sha512`: the digest's algorithm, also used for the signature.
    #[schema(example = "sha256")]
    pub digest_algorithm: String,
    /// The digest of the document's signed byte ranges, base64.
    #[schema(example = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")]
    pub digest: String,
    /// `b-b` (default), `b-t` or `b-lt`.
    #[serde(default)]
    #[schema(example = "b-t")]
    pub level: Option<String>,
}

/// Validation data for the agent's DSS, base64 DER.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidationView {
    /// Certificates of the signer's and the TSA's paths.
    pub certificates: Vec<String>,
    /// OCSP responses.
    pub ocsp_responses: Vec<String>,
    /// CRLs.
    pub crls: Vec<String>,
}

/// `POST /api/v1/sign-hash` answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignHashResponse {
    /// Id of the signing record.
    pub signature_id: String,
    /// The CMS `SignedData`, DER, base64.
    pub cms: String,
    /// The level reached: `B-B`, `B-T` or `B-LT`.
    pub level: String,
    /// The digest algorithm.
    pub digest_algorithm: String,
    /// genTime of the signature timestamp (RFC 3339), from B-T.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_time: Option<String>,
    /// From B-LT: what the DSS needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationView>,
}

/// A sign-hash request after its fields were checked.
#[derive(Clone, Debug)]
pub struct DigestToSign {
    /// The identity name.
    pub identity: String,
    /// The seal whose use was authorised for this signing ([`crate::seals::authorize_use`]):
    /// the only way an identity bound to a seal signs.
    pub seal: Option<String>,
    /// The algorithm.
    pub algorithm: DigestAlgorithm,
    /// The digest.
    pub digest: Vec<u8>,
    /// The level.
    pub level: Level,
}

impl SignHashRequest {
    /// Checks every field; the error names the one that is wrong and why.
    pub fn check(&self) -> Result<DigestToSign, Error> {
        let algorithm: DigestAlgorithm = match self.digest_algorithm.to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => DigestAlgorithm::Sha256,
            "sha384" => DigestAlgorithm::Sha384,
            "sha512" => DigestAlgorithm::Sha512,
            _ => {
                return Err(Error::bad(
                    "bad_digest_algorithm",
                    format!("unknown digest_algorithm '{}' (sha256, sha384 or sha512)", self.digest_algorithm),
                ));
            }
        };
        let digest = B64
            .decode(self.digest.trim())
            .map_err(|_| Error::bad("bad_digest", "digest is not base64 (RFC 4648, with padding)"))?;
        if digest.len() != algorithm.output_len() {
            return Err(Error::bad(
                "bad_digest",
                format!(
                    "digest is {} bytes; a {} digest is {} bytes",
                    digest.len(),
                    algorithm.name(),
                    algorithm.output_len()
                ),
            ));
        }
        let level = match self.level.as_deref() {
            None => Level::BB,
            Some(l) => l.parse::<Level>().map_err(|e| Error::bad("bad_level", e))?,
        };
        if level == Level::BLTA {
            return Err(Error::bad(
                "bad_level",
                "B-LTA adds a document timestamp over the whole PDF: sign at b-lt here, the agent adds it",
            ));
        }
        if self.identity.is_empty() && self.seal.is_none() {
            return Err(Error::bad("missing_identity", "give the identity (or the seal) to sign with"));
        }
        Ok(DigestToSign { identity: self.identity.clone(), algorithm, digest, level, seal: None })
    }
}

/// Sign a digest.
///
/// Scope `sign-hash`. The hash-signing API: send the digest of a PDF's signed byte ranges
/// (never the document), get back a detached CMS `SignedData` for its `/Contents` (ETSI EN
/// 319 142-1: content-type, message-digest, signing-certificate-v2), with a signature
/// timestamp from `b-t` and the validation data for the DSS from `b-lt`. Counts one signing
/// call against the tenant's quota; the answer is sent once the signing record is durable.
#[utoipa::path(
    post,
    path = "/sign-hash",
    operation_id = "sign_hash",
    tag = "signing",
    security(("bearer" = ["sign-hash"])),
    request_body = SignHashRequest,
    responses(
        (status = 200, description = "The CMS and what the PDF's DSS needs.", body = SignHashResponse),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 502, response = crate::openapi::BadGateway),
    )
)]
pub async fn handler(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    request: axum::extract::Request,
) -> Result<axum::response::Response, Error> {
    let (parts, body) = request.into_parts();
    let (caller, tenant, body) = crate::util::tenant_or_drain(caller, Permission::SignHash, body).await?;
    let idempotency_key = crate::agent::idempotency_key(&parts.headers)?;
    let ApiJson(req) = <ApiJson<SignHashRequest, MAX_SIGN_HASH_BYTES> as axum::extract::FromRequest<()>>::from_request(
        axum::extract::Request::from_parts(parts, body),
        &(),
    )
    .await?;
    let mut request = req.check()?;
    if req.seal.is_some() && !req.identity.is_empty() {
        return Err(Error::bad("bad_request", "give an identity or a seal, not both"));
    }
    if req.seal.is_none() {
        if req.identity.is_empty() {
            return Err(Error::bad("missing_identity", "give the identity (or the seal) to sign with"));
        }
        refuse_seal_identity(&state, &tenant, &req.identity).await?;
    }
    let Some(key) = idempotency_key else {
        let seal_use = resolve_seal(&state, &caller, &req, &mut request).await?;
        let signed = sign(&state, &tenant, &caller.id, &request, "sign-hash").await;
        return Ok(Json(settle_seal(&state, &tenant, seal_use, signed).await?).into_response());
    };
    // the same key with the same request answers the first result again, unsigned and
    // unmetered (RFC draft "The Idempotency-Key HTTP Header Field")
    let fingerprint = signet_store::sha256_hex(
        format!(
            "sign-hash\n{}\n{}\n{}\n{}\n{}\n{}",
            request.identity,
            request.algorithm.name(),
            signet_store::hex(&request.digest),
            request.level,
            req.seal.as_deref().unwrap_or(""),
            req.seal_request.as_deref().unwrap_or("")
        )
        .as_bytes(),
    );
    if let Some(first) = crate::agent::claim_idempotency(&state, &tenant, &key, &fingerprint).await? {
        return Ok(first);
    }
    let signed = match resolve_seal(&state, &caller, &req, &mut request).await {
        Ok(seal_use) => {
            let signed = sign(&state, &tenant, &caller.id, &request, "sign-hash").await;
            settle_seal(&state, &tenant, seal_use, signed).await
        }
        Err(e) => Err(e),
    };
    match signed {
        Ok(response) => {
            let body = serde_json::to_string(&response).map_err(|e| Error::Upstream(e.to_string()))?;
            let stored =
                StoredResponse { status: 200, headers: Vec::new(), body: Some(body.clone()), document_id: None };
            state.store().complete_idempotency_key(&tenant, &key, &stored).await?;
            Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
        }
        Err(e) => {
            let _ = state.store().release_idempotency_key(&tenant, &key).await;
            Err(e)
        }
    }
}

/// Refuses an identity that belongs to a seal: it signs only through the seal, whose use is
/// authorised.
pub(crate) async fn refuse_seal_identity(state: &AppState, tenant: &str, name: &str) -> Result<(), Error> {
    if name.starts_with(crate::envelope_pdf::PERSON_PREFIX) {
        return Err(Error::Forbidden(format!(
            "identity '{name}' is a person's: it signs only when that person signs an envelope"
        )));
    }
    match state.identity(tenant, name).await {
        Ok(i) => match i.seal_id {
            Some(seal) => Err(Error::Forbidden(format!(
                "identity '{name}' belongs to seal {seal}: sign with the seal (seal={seal}), under an authorization"
            ))),
            None => Ok(()),
        },
        // the signing names what is missing
        Err(_) => Ok(()),
    }
}

/// With `seal` given: checks the caller may use it and signs with its identity.
async fn resolve_seal(
    state: &AppState,
    caller: &Caller,
    req: &SignHashRequest,
    request: &mut DigestToSign,
) -> Result<Option<crate::seals::SealUse>, Error> {
    let Some(seal) = &req.seal else { return Ok(None) };
    let seal_use = crate::seals::authorize_use(state, caller, seal, req.seal_request.as_deref()).await?;
    request.identity = seal_use.identity.name.clone();
    request.seal = Some(seal_use.seal.id.clone());
    Ok(Some(seal_use))
}

/// After a signing with a seal: records the use, or gives it back when the signing failed.
async fn settle_seal<T>(
    state: &AppState,
    tenant: &str,
    seal_use: Option<crate::seals::SealUse>,
    signed: Result<T, Error>,
) -> Result<T, Error> {
    if let Some(u) = seal_use {
        crate::seals::record_use(state, tenant, &u, signed.as_ref().err()).await;
    }
    signed
}

/// Signs a checked digest for `tenant`: admits and counts the call, signs, timestamps and
/// gathers validation data per level, records it (the answer waits for the record to be
/// durable). `channel` says who asked (`sign-hash`, `agent`, `batch`).
pub async fn sign(
    state: &AppState,
    tenant: &str,
    caller: &str,
    request: &DigestToSign,
    channel: &str,
) -> Result<SignHashResponse, Error> {
    let (result, made) = sign_unrecorded(state, tenant, caller, request, channel, false).await;
    if let Some(made) = made {
        let written = state.meter().record(vec![made.record], made.call.map(|a| a.usage())).await;
        match (&result, written) {
            (Ok(_), Err(e)) => return Err(e),
            (Err(_), Err(log_err)) => tracing::error!("recording a failed signature: {log_err}"),
            _ => {}
        }
    }
    result
}

/// A signing record not yet written, and the call it counts (none when the signing failed:
/// the call was given back).
pub(crate) struct Made {
    /// The record: outcome `signed`, or `failed` with the reason.
    pub(crate) record: SignatureRecord,
    /// The admitted call, to persist with the record.
    pub(crate) call: Option<Admission>,
}

/// [`sign`] without writing the record: the caller writes it together with what it makes of
/// the signature (the agent with the document's usage, a batch with the item's outcome), in
/// one transaction instead of two. `Made` is `None` when nothing was authorised (no such
/// identity, over quota). `on_blocking_thread`: the caller runs this future on a thread that
/// may block (the agent's signing thread), so the key operation runs right there instead of
/// being handed to another thread.
pub(crate) async fn sign_unrecorded(
    state: &AppState,
    tenant: &str,
    caller: &str,
    request: &DigestToSign,
    channel: &str,
    on_blocking_thread: bool,
) -> (Result<SignHashResponse, Error>, Option<Made>) {
    let identity = match state.identity(tenant, &request.identity).await {
        Ok(i) => i,
        Err(Error::Missing(_)) => {
            return (Err(Error::Missing(format!("no identity named '{}' in this tenant", request.identity))), None);
        }
        Err(e) => return (Err(e), None),
    };
    // a seal's identity signs only for a use of that seal that was authorised
    if let Some(seal) = identity.seal_id.as_deref().filter(|s| request.seal.as_deref() != Some(*s)) {
        return (
            Err(Error::Forbidden(format!(
                "identity '{}' belongs to seal {seal}: sign with the seal (seal={seal}), under an authorization",
                request.identity
            ))),
            None,
        );
    }
    let admission = match state.meter().admit(tenant, 1, 0).await {
        Ok(a) => a,
        Err(e) => return (Err(e), None),
    };
    let mut record = SignatureRecord::new(
        tenant,
        &request.identity,
        request.algorithm.name(),
        &signet_store::hex(&request.digest),
        &request.level.to_string(),
        channel,
        caller,
    );
    record.identity_id = Some(identity.id.clone());
    record.key_id = Some(identity.key_id.clone());
    let quick = || request.level == Level::BB && state.signers().quick(&identity).is_some();
    let outcome = if on_blocking_thread || quick() {
        sign_blocking(state, &identity, request)
    } else {
        let st = state.clone();
        let req = request.clone();
        tokio::task::spawn_blocking(move || sign_blocking(&st, &identity, &req))
            .await
            .map_err(|e| Error::Internal { context: "signing", source: Box::new(e) })
            .and_then(|r| r)
    };
    match outcome {
        Ok(mut response) => {
            response.signature_id = record.id.clone();
            (Ok(response), Some(Made { record, call: Some(admission) }))
        }
        Err(e) => {
            state.meter().refund(&admission);
            record.outcome = "failed".into();
            record.detail = Some(e.to_string());
            (Err(e), Some(Made { record, call: None }))
        }
    }
}

fn sign_blocking(
    state: &AppState,
    identity: &signet_store::Identity,
    req: &DigestToSign,
) -> Result<SignHashResponse, Error> {
    let signer = state.signers().load(identity)?;
    let scheme = signer.key_kind().default_scheme();
    let mut cms = signet_cms::build_signed_data(&signer, req.algorithm, scheme, &req.digest)
        .map_err(|e| Error::Upstream(format!("signing with identity '{}' failed: {e}", identity.name)))?;
    let mut response = SignHashResponse {
        signature_id: String::new(),
        cms: String::new(),
        level: req.level.to_string(),
        digest_algorithm: req.algorithm.name().to_string(),
        timestamp_time: None,
        validation: None,
    };
    if req.level >= Level::BT {
        let services = state.services();
        let tsa = TsaClient::new(services.fetcher(), services.tsa_url());
        cms = signet_pades::add_signature_timestamp(&cms, &tsa)
            .map_err(|e| Error::Upstream(format!("timestamp: {e}")))?;
        let certs = signet_pades::cms_certs("the CMS", &cms).map_err(|e| Error::Upstream(e.to_string()))?;
        let at = certs.timestamp_time.unwrap_or_else(SystemTime::now);
        response.timestamp_time = Some(crate::identities::rfc3339(at));
        if req.level >= Level::BLT {
            let source = OnlineValidation::new(services.fetcher(), Vec::new(), Revocation::OcspAndCrl);
            let data = source
                .collect(&certs.leaves, &certs.certs, at)
                .map_err(|e| Error::Upstream(format!("validation data: {e}")))?;
            response.validation = Some(ValidationView {
                certificates: data.certs.iter().map(|c| B64.encode(c)).collect(),
                ocsp_responses: data.ocsps.iter().map(|c| B64.encode(c)).collect(),
                crls: data.crls.iter().map(|c| B64.encode(c)).collect(),
            });
        }
    }
    response.cms = B64.encode(&cms);
    Ok(response)
}

/// The validation data of the last answer, for the agent's DSS (a [`ValidationSource`] that
/// returns what the hash-signing service sent instead of fetching).
#[derive(Debug, Default, Clone)]
pub struct Received(pub Arc<Mutex<Option<signet_pades::ValidationData>>>);

impl Received {
    /// Keeps the validation data of `response`.
    pub fn keep(&self, response: &SignHashResponse) -> Result<(), Error> {
        let Some(v) = &response.validation else { return Ok(()) };
        let decode = |items: &[String]| -> Result<Vec<Vec<u8>>, Error> {
            items
                .iter()
                .map(|i| B64.decode(i).map_err(|_| Error::Upstream("validation data is not base64".into())))
                .collect()
        };
        let data =
            signet_pades::ValidationData::new(decode(&v.certificates)?, decode(&v.ocsp_responses)?, decode(&v.crls)?);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(data);
        Ok(())
    }
}

impl ValidationSource for Received {
    fn collect(
        &self,
        _: &[Vec<u8>],
        _: &[Vec<u8>],
        _: SystemTime,
    ) -> signet_pades::Result<signet_pades::ValidationData> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| signet_pades::Error::Validation("the hash-signing service sent no validation data".into()))
    }
}
