//! Signing identities: a tenant's named key + certificate chain.
//!
//! - `POST /api/v1/identities` (scope `manage`): create one, with the key
//!   - generated in the keystore and certified by the built-in CA (`issue`),
//!   - imported from a PKCS#12 file into the keystore (`pkcs12`), or
//!   - on a PKCS#11 token (`pkcs11`), certified by the built-in CA (`issue` + `public_key`),
//!     or with the chain given or stored on the token;
//! - `GET /api/v1/identities`, `GET /api/v1/identities/{name}` (scope `manage`, `sign-hash`
//!   or `sign-document`): the certificates, never a key.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use signet_authority::{DistinguishedName, IssueRequest, KeySource, Profile};
use signet_cms::CertView;
use signet_crypto::{DigestAlgorithm, Identity as CryptoIdentity, KeyKind, Keystore, SignatureAlgorithm};
use signet_store::{Identity, KeyStoreKind};

use crate::auth::{Caller, Permission};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// How the server reaches PKCS#11 tokens: one module, one PIN (from the environment).
#[derive(Clone, Debug)]
pub struct Pkcs11Config {
    /// The module (shared library).
    pub module: PathBuf,
    /// Environment variable holding the user PIN.
    pub pin_env: String,
}

/// Loads and keeps the signing identities' keys (decrypting a keystore key or logging in to
/// a token once per identity).
pub struct Signers {
    keystore: Keystore,
    pkcs11: Option<Pkcs11Config>,
    loaded: Mutex<HashMap<String, Arc<CryptoIdentity>>>,
}

impl std::fmt::Debug for Signers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signers").field("pkcs11", &self.pkcs11).finish_non_exhaustive()
    }
}

/// How an identity's PKCS#11 key is found (stored as JSON in `key_ref`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TokenKeyRef {
    token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
}

impl Signers {
    /// Keys from `keystore`, and from tokens through `pkcs11` when configured.
    pub fn new(keystore: Keystore, pkcs11: Option<Pkcs11Config>) -> Self {
        Signers { keystore, pkcs11, loaded: Mutex::new(HashMap::new()) }
    }

    /// The encrypted keystore (also seals other secrets under the master key).
    pub fn keystore(&self) -> &Keystore {
        &self.keystore
    }

    /// The key and chain of `identity`, loaded on first use (blocking: call from a blocking
    /// thread).
    pub fn load(&self, identity: &Identity) -> Result<Arc<CryptoIdentity>, Error> {
        if let Some(i) = self.lock().get(&identity.id) {
            return Ok(i.clone());
        }
        let certs = decode_chain(&identity.chain)?;
        let loaded = match identity.key_store {
            KeyStoreKind::Keystore => {
                let key = self.keystore.load(&identity.key_ref).map_err(|e| {
                    Error::Upstream(format!("the key of identity '{}' cannot be loaded: {e}", identity.name))
                })?;
                CryptoIdentity::from_software_key(key, certs)
                    .map_err(|e| Error::Upstream(format!("identity '{}': {e}", identity.name)))?
            }
            KeyStoreKind::Pkcs11 => {
                let r: TokenKeyRef = serde_json::from_str(&identity.key_ref)
                    .map_err(|e| Error::Upstream(format!("identity '{}': bad token reference: {e}", identity.name)))?;
                let key = self.open_token_key(&r)?;
                let (leaf, chain) = certs.split_first().ok_or_else(|| Error::bad("bad_identity", "no certificate"))?;
                CryptoIdentity::new(Arc::new(key), leaf.clone(), chain.to_vec())
            }
        };
        let loaded = Arc::new(loaded);
        self.lock().insert(identity.id.clone(), loaded.clone());
        Ok(loaded)
    }

    /// The loaded key of `identity` when signing with it is quick enough to run on an async
    /// worker: a software ECDSA key (tens of microseconds per signature), already loaded.
    /// RSA (about a millisecond), token keys (a device round trip) and keys still to be
    /// decrypted go to the blocking pool instead.
    pub fn quick(&self, identity: &Identity) -> Option<Arc<CryptoIdentity>> {
        if identity.key_store != KeyStoreKind::Keystore {
            return None;
        }
        let loaded = self.lock().get(&identity.id)?.clone();
        matches!(loaded.key_kind(), signet_crypto::KeyKind::EcP256 | signet_crypto::KeyKind::EcP384).then_some(loaded)
    }

    fn open_token_key(&self, r: &TokenKeyRef) -> Result<signet_crypto::Pkcs11Key, Error> {
        let config = self.pkcs11.as_ref().ok_or_else(|| {
            Error::bad("pkcs11_not_configured", "this server has no PKCS#11 module (signet serve --pkcs11-module PATH)")
        })?;
        let pin = std::env::var(&config.pin_env)
            .map_err(|_| Error::Upstream(format!("the token PIN variable {} is not set", config.pin_env)))?;
        let key = match (&r.key_label, &r.key_id) {
            (Some(l), _) => signet_crypto::KeyRef::Label(l.clone()),
            (None, Some(id)) => signet_crypto::KeyRef::Id(
                hex::decode(id).map_err(|_| Error::bad("bad_key_id", format!("key_id '{id}' is not hexadecimal")))?,
            ),
            (None, None) => return Err(Error::bad("bad_pkcs11", "pkcs11 needs key_label or key_id")),
        };
        signet_crypto::Pkcs11Key::open(&config.module, &signet_crypto::TokenRef::Label(r.token.clone()), &key, &pin)
            .map_err(|e| Error::bad("pkcs11_failed", format!("PKCS#11: {e}")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CryptoIdentity>>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The certificate subject and key of a new certificate from the built-in CA.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueParams {
    /// `person` or `organization` (also `seal`; the default).
    #[serde(default)]
    pub profile: Option<String>,
    /// commonName (required).
    pub common_name: String,
    /// organizationName.
    #[serde(default)]
    pub organization: Option<String>,
    /// organizationalUnitName.
    #[serde(default)]
    pub organizational_unit: Option<String>,
    /// countryName (two letters).
    #[serde(default)]
    pub country: Option<String>,
    /// organizationIdentifier, e.g. a registration number.
    #[serde(default)]
    pub organization_identifier: Option<String>,
    /// E-mail for subjectAltName.
    #[serde(default)]
    pub email: Option<String>,
    /// Key to generate: `p-256` (default), `p-384`, `rsa-2048`, `rsa-3072`, `rsa-4096`.
    #[serde(default)]
    pub key: Option<String>,
    /// Validity in days (default: the profile's).
    #[serde(default)]
    pub validity_days: Option<u64>,
}

/// A PKCS#12 file to import.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pkcs12Params {
    /// The file, base64.
    pub data: String,
    /// Its password.
    pub password: String,
}

/// A key on a PKCS#11 token.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Params {
    /// The token's label.
    pub token: String,
    /// The key's `CKA_LABEL`.
    #[serde(default)]
    pub key_label: Option<String>,
    /// The key's `CKA_ID`, hexadecimal.
    #[serde(default)]
    pub key_id: Option<String>,
    /// The key's SubjectPublicKeyInfo (DER, base64), for the built-in CA to certify (with
    /// `issue`).
    #[serde(default)]
    pub public_key: Option<String>,
    /// The certificate chain (base64 DER, signer first), when the key is certified already
    /// and its certificate is not on the token.
    #[serde(default)]
    pub certificate_chain: Option<Vec<String>>,
}

/// `POST /api/v1/identities`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIdentity {
    /// Unique within the tenant: letters, digits, `-`, `_`, `.`; 1–64 characters.
    pub name: String,
    /// Have the built-in CA issue the certificate.
    #[serde(default)]
    pub issue: Option<IssueParams>,
    /// Import key and chain from a PKCS#12 file.
    #[serde(default)]
    pub pkcs12: Option<Pkcs12Params>,
    /// Use a key on a PKCS#11 token.
    #[serde(default)]
    pub pkcs11: Option<Pkcs11Params>,
}

/// An identity as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdentityView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `keystore` or `pkcs11`.
    pub key_store: KeyStoreKind,
    /// SHA-256 of the public key, hexadecimal.
    pub key_id: String,
    /// The signer's subject, RFC 4514 style.
    pub subject: String,
    /// Certificate serial number, hexadecimal.
    pub serial: String,
    /// Validity, RFC 3339.
    pub not_before: String,
    /// Validity, RFC 3339.
    pub not_after: String,
    /// The chain, base64 DER, signer first.
    pub certificate_chain: Vec<String>,
    /// An upper bound of the B-B CMS size for SHA-256, in bytes (agents size `/Contents` with it).
    pub estimated_cms_bytes: usize,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Whether `name` may name an identity: 1–64 letters, digits, `-`, `_`, `.`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn decode_chain(chain: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    chain
        .iter()
        .enumerate()
        .map(|(i, c)| {
            B64.decode(c)
                .map_err(|_| Error::bad("bad_certificate", format!("certificate {i} of the chain is not base64")))
        })
        .collect()
}

fn key_kind(name: &str) -> Result<KeyKind, Error> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "p-256" | "ec-p256" | "p256" => KeyKind::EcP256,
        "p-384" | "ec-p384" | "p384" => KeyKind::EcP384,
        "rsa-2048" => KeyKind::Rsa { bits: 2048 },
        "rsa-3072" => KeyKind::Rsa { bits: 3072 },
        "rsa-4096" => KeyKind::Rsa { bits: 4096 },
        other => {
            return Err(Error::bad(
                "bad_key",
                format!("unknown key '{other}' (p-256, p-384, rsa-2048, rsa-3072, rsa-4096)"),
            ));
        }
    })
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo, hexadecimal.
pub fn key_id(certificate: &[u8]) -> Result<String, Error> {
    let view = CertView::parse(certificate)
        .map_err(|e| Error::bad("bad_certificate", format!("the signer certificate does not parse: {e}")))?;
    Ok(signet_store::hex(&DigestAlgorithm::Sha256.digest(view.spki)))
}

/// The API view of an identity.
pub fn view(identity: &Identity) -> Result<IdentityView, Error> {
    let certs = decode_chain(&identity.chain)?;
    let leaf = certs.first().ok_or_else(|| Error::bad("bad_identity", "the identity has no certificate"))?;
    let cert = CertView::parse(leaf).map_err(|e| Error::bad("bad_certificate", e.to_string()))?;
    let (nb, na) = cert.validity().map_err(|e| Error::bad("bad_certificate", e.to_string()))?;
    let estimated = cms_size_bound(&certs, cert_key_kind(&cert));
    Ok(IdentityView {
        id: identity.id.clone(),
        name: identity.name.clone(),
        key_store: identity.key_store,
        key_id: identity.key_id.clone(),
        subject: signet_cms::certpath::name_to_string(cert.subject),
        serial: hex::encode_upper(cert.serial_bytes()),
        not_before: rfc3339(nb),
        not_after: rfc3339(na),
        certificate_chain: identity.chain.clone(),
        estimated_cms_bytes: estimated,
        created_at: identity.created_at,
    })
}

/// An upper bound of the size of a B-B CMS made by `identity`: what the agent reserves in
/// `/Contents` before it asks for the signature.
pub fn estimated_cms_bytes(identity: &Identity) -> Result<usize, Error> {
    let certs = decode_chain(&identity.chain)?;
    let leaf = certs.first().ok_or_else(|| Error::bad("bad_identity", "the identity has no certificate"))?;
    let cert = CertView::parse(leaf).map_err(|e| Error::bad("bad_certificate", e.to_string()))?;
    Ok(cms_size_bound(&certs, cert_key_kind(&cert)))
}

/// Signed attributes (~200 bytes), algorithm identifiers, the signature, and every
/// certificate.
fn cms_size_bound(certs: &[Vec<u8>], kind: Option<KeyKind>) -> usize {
    let max_sig = match kind {
        Some(KeyKind::Rsa { bits }) => bits / 8,
        Some(KeyKind::EcP384) => 104,
        _ => 72,
    };
    512 + max_sig + certs.iter().map(|c| c.len() + 8).sum::<usize>()
}

fn cert_key_kind(cert: &CertView<'_>) -> Option<KeyKind> {
    signet_crypto::PublicKeyInfo::from_spki_der(cert.spki).ok().map(|k| k.kind)
}

/// RFC 3339 UTC time, seconds precision.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (y, m, d) = signet_crypto::asn1::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Create a signing identity.
///
/// Scope `manage`. Give exactly one key source: `issue` (a key generated in the server's
/// keystore, certified by the built-in CA), `pkcs12` (a key and chain imported from a PKCS#12
/// file), or `pkcs11` (a key on the server's token; with `issue` + `public_key` the built-in
/// CA certifies it). The answer shows the certificates, never a key.
#[utoipa::path(
    post,
    path = "/identities",
    operation_id = "create_identity",
    tag = "identities",
    security(("bearer" = ["manage"])),
    request_body(content = CreateIdentity, example = json!({"name": "company-seal", "issue": {"common_name": "ACME Ltd company seal", "organization": "ACME Ltd", "country": "FR"}})),
    responses(
        (status = 201, description = "The identity.", body = IdentityView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateIdentity>,
) -> Result<(StatusCode, Json<IdentityView>), Error> {
    let tenant = caller.may(Permission::ManageIdentities)?.to_string();
    if !valid_name(&req.name) {
        return Err(Error::bad("bad_name", "an identity name has 1–64 letters, digits, '-', '_' or '.'"));
    }
    if req.name.starts_with(crate::envelope_pdf::PERSON_PREFIX) {
        return Err(Error::bad(
            "bad_name",
            format!(
                "names starting with '{}' are kept for envelope signers' identities",
                crate::envelope_pdf::PERSON_PREFIX
            ),
        ));
    }
    if state.store().identity(&tenant, &req.name).await.is_ok() {
        return Err(Error::Conflict { code: "conflict", message: format!("an identity named '{}' exists", req.name) });
    }
    let st = state.clone();
    let name = req.name.clone();
    let tenant_for_task = tenant.clone();
    let identity = tokio::task::spawn_blocking(move || build_identity(&st, &tenant_for_task, req))
        .await
        .map_err(|e| Error::Internal { context: "creating an identity", source: Box::new(e) })??;
    state.store().insert_identity(&identity).await.map_err(|e| match e {
        signet_store::Error::Conflict(_) => {
            Error::Conflict { code: "conflict", message: format!("an identity named '{name}' exists") }
        }
        e => e.into(),
    })?;
    let entry = signet_store::AuditEntry::new(&tenant, &caller.actor(), "identity.create", "ok");
    let detail = serde_json::json!({ "name": identity.name, "key_store": identity.key_store, "key_id": identity.key_id, "certificate_serial": identity.cert_serial });
    crate::audit::record(&state, entry.target("identity", &identity.id).detail(detail)).await;
    tracing::info!(
        "tenant {tenant}: identity '{}' created ({:?}, key {})",
        identity.name,
        identity.key_store,
        identity.key_id
    );
    Ok((StatusCode::CREATED, Json(view(&identity)?)))
}

pub(crate) fn build_identity(state: &AppState, tenant: &str, req: CreateIdentity) -> Result<Identity, Error> {
    let new = |key_store, key_ref: String, chain: Vec<Vec<u8>>, cert_serial| -> Result<Identity, Error> {
        let leaf = chain.first().ok_or_else(|| Error::bad("bad_certificate", "no certificate"))?;
        Ok(Identity {
            id: signet_store::new_id("id"),
            tenant_id: tenant.to_string(),
            name: req.name.clone(),
            key_store,
            key_ref,
            key_id: key_id(leaf)?,
            chain: chain.iter().map(|c| B64.encode(c)).collect(),
            cert_serial,
            created_at: signet_store::now_millis(),
            seal_id: None,
        })
    };
    let authority = state.authority();
    let ca_chain = || {
        vec![
            authority.ca_certificate(signet_authority::CaLevel::Issuing).to_vec(),
            authority.ca_certificate(signet_authority::CaLevel::Root).to_vec(),
        ]
    };
    let issue = |params: &IssueParams, key: KeySource| -> Result<signet_authority::Issued, Error> {
        let profile = match params.profile.as_deref() {
            None => Profile::Organization,
            Some(p) => match p.parse::<Profile>() {
                Ok(p @ (Profile::Person | Profile::Organization)) => p,
                _ => return Err(Error::bad("bad_profile", format!("profile '{p}': use person or organization"))),
            },
        };
        let subject = DistinguishedName {
            country: params.country.clone(),
            organization: params.organization.clone(),
            organizational_unit: params.organizational_unit.clone(),
            organization_identifier: params.organization_identifier.clone(),
            common_name: Some(params.common_name.clone()),
            ..DistinguishedName::default()
        };
        let request = IssueRequest {
            profile,
            subject,
            emails: params.email.iter().cloned().collect(),
            key,
            validity: params.validity_days.map(|d| std::time::Duration::from_secs(d.saturating_mul(86_400))),
        };
        authority.issue(&request).map_err(|e| Error::bad("issue_failed", format!("the CA refused: {e}")))
    };
    match (&req.issue, &req.pkcs12, &req.pkcs11) {
        (Some(params), None, None) => {
            let kind = key_kind(params.key.as_deref().unwrap_or("p-256"))?;
            let issued = issue(params, KeySource::Generate(kind))?;
            let key_name =
                issued.record.key_name.clone().ok_or_else(|| Error::bad("issue_failed", "no key was generated"))?;
            let mut chain = vec![issued.certificate];
            chain.extend(ca_chain());
            new(KeyStoreKind::Keystore, key_name, chain, Some(issued.record.serial))
        }
        (None, Some(p12), None) => {
            let bytes = B64.decode(&p12.data).map_err(|_| Error::bad("bad_pkcs12", "pkcs12.data is not base64"))?;
            let (pkcs8, certs) = signet_crypto::pkcs12_parts(&bytes, &p12.password)
                .map_err(|e| Error::bad("bad_pkcs12", format!("the PKCS#12 file: {e}")))?;
            // pair key and certificate, order the chain
            let key = signet_crypto::SoftwareKey::from_pkcs8_der(&pkcs8)
                .map_err(|e| Error::bad("bad_pkcs12", format!("the PKCS#12 key: {e}")))?;
            let identity = CryptoIdentity::from_software_key(key, certs)
                .map_err(|e| Error::bad("bad_pkcs12", format!("the PKCS#12 file: {e}")))?;
            let key_name = format!("imported-{}", signet_store::random_base32(10));
            state
                .signers()
                .keystore
                .store(&key_name, &pkcs8)
                .map_err(|e| Error::Internal { context: "storing an imported key", source: Box::new(e) })?;
            let mut chain = vec![identity.certificate.clone()];
            chain.extend(identity.chain.iter().cloned());
            new(KeyStoreKind::Keystore, key_name, chain, None)
        }
        (issue_params, None, Some(p11)) => {
            let r =
                TokenKeyRef { token: p11.token.clone(), key_label: p11.key_label.clone(), key_id: p11.key_id.clone() };
            let key = state.signers().open_token_key(&r)?;
            let chain = match (issue_params, &p11.public_key, &p11.certificate_chain) {
                (Some(params), Some(spki), None) => {
                    let spki = B64
                        .decode(spki)
                        .map_err(|_| Error::bad("bad_public_key", "pkcs11.public_key is not base64"))?;
                    let issued = issue(params, KeySource::PublicKey(spki))?;
                    let mut chain = vec![issued.certificate];
                    chain.extend(ca_chain());
                    chain
                }
                (None, None, Some(chain)) => decode_chain(chain)?,
                (None, None, None) => {
                    let on_token = key.token_certificates().map_err(|e| Error::bad("pkcs11_failed", e.to_string()))?;
                    if on_token.is_empty() {
                        return Err(Error::bad(
                            "no_certificate",
                            "the token holds no certificate for this key: give pkcs11.certificate_chain, or issue + pkcs11.public_key",
                        ));
                    }
                    on_token
                }
                _ => {
                    return Err(Error::bad(
                        "bad_request",
                        "with pkcs11, give either issue + pkcs11.public_key, or pkcs11.certificate_chain, or neither (certificate on the token)",
                    ));
                }
            };
            check_key_matches(&key, &chain)?;
            new(KeyStoreKind::Pkcs11, serde_json::to_string(&r).unwrap_or_default(), chain, None)
        }
        _ => Err(Error::bad(
            "bad_request",
            "give exactly one key source: issue, pkcs12 or pkcs11 (pkcs11 may come with issue)",
        )),
    }
}

/// Signs a test message with the token key and verifies it with the certificate: the chain
/// belongs to this key.
fn check_key_matches(key: &signet_crypto::Pkcs11Key, chain: &[Vec<u8>]) -> Result<(), Error> {
    use signet_crypto::Signer;
    let leaf = chain.first().ok_or_else(|| Error::bad("bad_certificate", "no certificate"))?;
    let cert = CertView::parse(leaf).map_err(|e| Error::bad("bad_certificate", e.to_string()))?;
    let scheme = key.key_kind().default_scheme();
    let message = b"signet: does this key match its certificate?";
    let signature = key
        .sign(scheme, DigestAlgorithm::Sha256, message)
        .map_err(|e| Error::bad("pkcs11_failed", format!("the token key cannot sign: {e}")))?;
    signet_crypto::verify_signature(
        cert.spki,
        &SignatureAlgorithm::new(scheme, DigestAlgorithm::Sha256),
        message,
        &signature,
    )
    .map_err(|_| Error::bad("key_mismatch", "the certificate's public key is not the token key's"))
}

/// List the tenant's identities.
///
/// Any of the scopes `manage`, `sign-hash`, `sign-document`.
#[utoipa::path(
    get,
    path = "/identities",
    operation_id = "list_identities",
    tag = "identities",
    security(("bearer" = ["manage"]), ("bearer" = ["sign-hash"]), ("bearer" = ["sign-document"])),
    responses(
        (status = 200, description = "The identities.", body = Vec<IdentityView>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<IdentityView>>, Error> {
    let tenant = any_tenant_scope(&caller)?;
    let all = state.store().identities(tenant).await?;
    Ok(Json(all.iter().map(view).collect::<Result<_, _>>()?))
}

/// Show an identity.
///
/// Any of the scopes `manage`, `sign-hash`, `sign-document`. `estimated_cms_bytes` sizes the
/// `/Contents` placeholder of a PDF signed through `sign-hash`.
#[utoipa::path(
    get,
    path = "/identities/{name}",
    operation_id = "show_identity",
    tag = "identities",
    security(("bearer" = ["manage"]), ("bearer" = ["sign-hash"]), ("bearer" = ["sign-document"])),
    params(("name" = String, Path, description = "The identity's name")),
    responses(
        (status = 200, description = "The identity.", body = IdentityView),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<IdentityView>, Error> {
    let tenant = any_tenant_scope(&caller)?;
    Ok(Json(view(&state.store().identity(tenant, &name).await?)?))
}

/// The caller's tenant, for reading what any of its keys may use.
pub fn any_tenant_scope(caller: &Caller) -> Result<&str, Error> {
    caller.may(Permission::ReadIdentities)
}
