//! Deferred signing with a party's own key: the party's private key never comes near the
//! server (a smart card, a PKCS#11 token, a key file on the signer's machine).
//!
//! 1. **Created**: the party is given with `own_key.certificate` (its chain, leaf first). The
//!    certificate binds the party: only a signature that verifies under exactly that
//!    certificate's public key is attached. Such a party has one signature field and cannot
//!    use the ordinary `…/sign`.
//! 2. **Prepare** (`POST …/parties/{party}/prepare`, or `POST /api/v1/signer/prepare`): under
//!    the envelope's lock the party's next version is built as an incremental update (its
//!    text and date fields filled, its signature field given a signature dictionary whose
//!    `/Contents` is an empty placeholder, ISO 32000-2 §12.8.1), the `/ByteRange` is hashed,
//!    and the CAdES signed attributes are made for that digest and the party's certificate:
//!    content-type, message-digest and signing-certificate-v2, exactly those of every other
//!    Signet signature (ETSI EN 319 122-1 §5.2, ETSI EN 319 142-1 §6.3). The update, the
//!    digest and the attributes are stored (blob store and `signature_preparations`), so a
//!    preparation survives restarts; it expires after `--preparation-ttl`.
//! 3. **Sign** (`signet sign-digest`): the party's key signs the DER `SET OF Attribute` of the
//!    signed attributes, as RFC 5652 §5.4 says a SignerInfo signature is computed, and returns
//!    the raw signature value or a whole CMS `SignedData`.
//! 4. **Complete** (`POST …/parties/{party}/signature`, or `POST /api/v1/signer/signature`): the
//!    preparation must be the party's, unused, unexpired and made from the envelope's current
//!    version; the raw signature must verify under the party's certificate over the prepared
//!    attributes (a CMS must carry exactly those attributes and the party's certificate as its
//!    signer). The CMS gets its signature timestamp (B-T, as every envelope signature), goes
//!    into the prepared placeholder, the result is validated before it is stored, and the
//!    workflow continues as after any other signature.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use signet_cms::{CertView, ParsedSignedData};
use signet_crypto::asn1::{self, tag};
use signet_crypto::{DigestAlgorithm, KeyKind, PublicKeyInfo, SignatureAlgorithm, SignatureScheme};
use signet_store::{AuditEntry, now_millis};

use crate::audit::record as audit;
use crate::auth::{Caller, Permission};
use crate::envelope_pdf::SignedStep;
use crate::envelopes::{Envelope, Party, PartyActor};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// How long a preparation stays usable unless `--preparation-ttl` says otherwise.
pub const DEFAULT_PREPARATION_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Where a signer page uploads the signature.
pub const SIGNER_UPLOAD: &str = "/api/v1/signer/signature";

/// Most certificates in an own-key chain.
const MAX_CHAIN: usize = 10;
/// Largest certificate text accepted at creation.
const MAX_CERTIFICATE_TEXT: usize = 64 << 10;
/// Largest raw signature value (RSA-16384).
const MAX_SIGNATURE: usize = 2048;
/// Largest uploaded CMS.
const MAX_CMS: usize = 256 << 10;
/// Room in `/Contents` beyond Signet's own CMS for what a client's CMS may carry more (more
/// of its chain).
const CLIENT_CMS_ROOM: usize = 4096;

/// A party's own key: the certificate that binds it, as given at creation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct OwnKey {
    /// The chain, leaf first, each certificate base64 DER.
    pub certificate_chain: Vec<String>,
    /// The leaf's subject (RFC 4514).
    pub subject: String,
    /// The leaf's issuer (RFC 4514).
    pub issuer: String,
    /// The leaf's serial number (hex).
    pub serial: String,
    /// The leaf is valid until (Unix ms).
    pub not_after: i64,
    /// `rsa-2048`, `rsa-3072`, `ec-p256`, `ec-p384`…
    pub key_type: String,
}

impl OwnKey {
    /// The leaf and the rest of the chain, DER.
    fn certificates(&self) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
        let mut all = Vec::with_capacity(self.certificate_chain.len());
        for c in &self.certificate_chain {
            all.push(B64.decode(c).map_err(|_| Error::Internal {
                context: "reading a party's certificate",
                source: "stored certificate is not base64".into(),
            })?);
        }
        if all.is_empty() {
            return Err(Error::Internal { context: "reading a party's certificate", source: "no certificate".into() });
        }
        let leaf = all.remove(0);
        Ok((leaf, all))
    }
}

/// A party's own key, as given when the envelope is created.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwnKey {
    /// The party's certificate chain, PEM, leaf first (issuers after it, optional). The leaf
    /// must allow digitalSignature or nonRepudiation and be valid now.
    pub certificate: String,
}

/// What the party prepares.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareRequest {
    /// The version the party read (`doc_…`): refused with 412 when another party's
    /// signature has replaced it since.
    #[serde(default)]
    pub document_id: Option<String>,
    /// Text field values by field id.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// `sha256` (default), `sha384` or `sha512`.
    #[serde(default)]
    pub digest_algorithm: Option<String>,
}

/// A prepared signature: what the party's key signs, and how.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Preparation {
    /// `prp_…`: give it back with the signature.
    pub preparation_id: String,
    /// `env_…`.
    pub envelope_id: String,
    /// `pty_…`.
    pub party_id: String,
    /// The signature field.
    pub field_id: String,
    /// The version it was made from.
    pub document_id: String,
    /// `pending`, `expired` or `used`.
    pub status: String,
    /// The digest algorithm of the document digest, the signed attributes and the signature.
    pub digest_algorithm: String,
    /// The digest of the signature's byte range (base64): the message-digest attribute.
    pub document_digest: String,
    /// Base64 of the DER `SET OF Attribute` to sign (RFC 5652 §5.4): content-type,
    /// message-digest, signing-certificate-v2.
    pub signed_attributes: String,
    /// Base64 of the digest of `signed_attributes`, for keys that sign a digest.
    pub to_be_signed: String,
    /// The party's certificate (base64 DER): the signature must verify under its key.
    pub certificate: String,
    /// Its issuers as given at creation (base64 DER), for a CMS made on the signer's side.
    pub chain: Vec<String>,
    /// Its key type (`rsa-2048`, `ec-p256`…).
    pub key_type: String,
    /// Made (Unix ms).
    pub created_at: i64,
    /// Refused after this time (Unix ms): prepare again then.
    pub expires_at: i64,
    /// Where the signature goes (`POST`, JSON `{preparation_id, signature}` or
    /// `{preparation_id, cms}`).
    pub upload_path: String,
    /// The command that signs it: save this answer as `preparation.json`, fill in the module,
    /// slot, PIN variable and key label, run it, and upload `signature.json`.
    pub command: String,
    /// Used: the version its signature made.
    #[serde(default)]
    pub result_document_id: Option<String>,
}

/// The party's signature over a preparation: the raw signature value, or a CMS.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureUpload {
    /// The preparation signed.
    pub preparation_id: String,
    /// Base64 of the signature over `signed_attributes` with the party's key: RSA PKCS#1 v1.5
    /// or RSASSA-PSS (salt length = digest length), or ECDSA (DER `Ecdsa-Sig-Value`, or
    /// `r‖s`).
    #[serde(default)]
    pub signature: Option<String>,
    /// Instead of `signature`: base64 of a DER CMS `ContentInfo`/`SignedData` whose one
    /// signer is the party's certificate and whose signed attributes are exactly
    /// `signed_attributes`.
    #[serde(default)]
    pub cms: Option<String>,
}

/// What a signer page needs to sign with the party's own key.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OwnKeySigning {
    /// The party's own key; `null` for a party that signs on the page.
    pub own_key: Option<OwnKey>,
    /// The latest preparation, if any.
    pub preparation: Option<Preparation>,
}

// ---------------------------------------------------------------------------------------
// the party's certificate

/// Checks `k` for a new party: a chain that parses (leaf first, each certificate issued by
/// the next), a leaf whose key Signet can verify (RSA ≥ 2048 bits, ECDSA P-256/P-384), that
/// may sign (keyUsage digitalSignature or nonRepudiation, RFC 5280 §4.2.1.3) and is valid now.
pub(crate) fn own_key(k: &NewOwnKey) -> Result<OwnKey, Error> {
    let bad = |m: String| Error::bad("bad_own_key", format!("own_key.certificate: {m}"));
    let text = k.certificate.trim();
    if text.is_empty() || text.len() > MAX_CERTIFICATE_TEXT {
        return Err(bad("give the party's certificate chain, PEM, leaf first (at most 64 KiB)".into()));
    }
    let bytes = if text.contains("-----BEGIN") {
        text.as_bytes().to_vec()
    } else {
        let compact: String = text.split_whitespace().collect();
        B64.decode(compact).map_err(|_| bad("neither PEM nor base64 DER".into()))?
    };
    let certs = signet_crypto::certificates_from_pem_or_der(&bytes).map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() || certs.len() > MAX_CHAIN {
        return Err(bad(format!("1 to {MAX_CHAIN} certificates, leaf first")));
    }
    let mut views = Vec::with_capacity(certs.len());
    for (i, c) in certs.iter().enumerate() {
        views.push(CertView::parse(c).map_err(|e| bad(format!("certificate {} does not parse: {e}", i + 1)))?);
    }
    for (i, pair) in views.windows(2).enumerate() {
        if pair[0].issuer != pair[1].subject {
            return Err(bad(format!(
                "certificate {} ({}) did not issue certificate {} (issued by {}): give the chain leaf first",
                i + 2,
                signet_cms::certpath::name_to_string(pair[1].subject),
                i + 1,
                signet_cms::certpath::name_to_string(pair[0].issuer)
            )));
        }
    }
    let leaf = &views[0];
    let subject = signet_cms::certpath::name_to_string(leaf.subject);
    let key = PublicKeyInfo::from_spki_der(leaf.spki).map_err(|e| bad(format!("the key of {subject}: {e}")))?;
    if let KeyKind::Rsa { bits } = key.kind
        && bits < 2048
    {
        return Err(bad(format!("the key of {subject} is RSA-{bits}: at least 2048 bits are required")));
    }
    if let Some(ext) = leaf.extension(&signet_cms::oid::KEY_USAGE) {
        // KeyUsage ::= BIT STRING; digitalSignature (0) and nonRepudiation (1) are the first
        // two bits of the first content octet (after the unused-bits octet)
        let first = asn1::parse_single(ext.value)
            .ok()
            .filter(|t| t.tag == tag::BIT_STRING)
            .and_then(|t| t.value.get(1).copied())
            .unwrap_or(0);
        if first & 0xC0 == 0 {
            return Err(bad(format!(
                "{subject} may not sign documents: its keyUsage has neither digitalSignature nor nonRepudiation"
            )));
        }
    }
    let (not_before, not_after) = leaf.validity().map_err(|e| bad(format!("the validity of {subject}: {e}")))?;
    let now = SystemTime::now();
    if now < not_before {
        return Err(bad(format!("{subject} is valid only from {}", crate::identities::rfc3339(not_before))));
    }
    if now >= not_after {
        return Err(bad(format!("{subject} expired on {}", crate::identities::rfc3339(not_after))));
    }
    Ok(OwnKey {
        certificate_chain: certs.iter().map(|c| B64.encode(c)).collect(),
        issuer: signet_cms::certpath::name_to_string(leaf.issuer),
        serial: hex::encode_upper(leaf.serial_bytes()),
        not_after: signet_store::millis(not_after),
        key_type: key_type(key.kind),
        subject,
    })
}

fn key_type(kind: KeyKind) -> String {
    match kind {
        KeyKind::Rsa { bits } => format!("rsa-{bits}"),
        KeyKind::EcP256 => "ec-p256".into(),
        KeyKind::EcP384 => "ec-p384".into(),
    }
}

/// The key of a DER certificate.
fn key_of(cert: &[u8]) -> Result<(Vec<u8>, KeyKind), Error> {
    let spki = signet_crypto::certificate_spki(cert)
        .map_err(|e| Error::Internal { context: "reading a party's certificate", source: Box::new(e) })?;
    let kind = PublicKeyInfo::from_spki_der(spki)
        .map_err(|e| Error::Internal { context: "reading a party's certificate", source: Box::new(e) })?
        .kind;
    Ok((spki.to_vec(), kind))
}

// ---------------------------------------------------------------------------------------
// prepare

fn own_key_of<'a>(e: &Envelope, p: &'a Party) -> Result<&'a OwnKey, Error> {
    p.own_key.as_ref().filter(|_| p.role == "signer").ok_or_else(|| {
        Error::bad(
            "not_own_key",
            format!(
                "{} does not sign with their own key in envelope {}: they sign with POST …/sign (or on the signing page)",
                p.name, e.id
            ),
        )
    })
}

/// The command line a party runs to sign a preparation saved as `preparation.json`.
fn command() -> String {
    "signet sign-digest --input preparation.json --output signature.json --pkcs11-module MODULE.so --slot SLOT \
     --pin-env PIN_VAR --key-label KEY_LABEL"
        .into()
}

fn view(p: &signet_store::Preparation, own: &OwnKey, upload_path: &str, now: i64) -> Result<Preparation, Error> {
    let corrupt = |what: &'static str| Error::Internal { context: "reading a preparation", source: what.into() };
    let digest: DigestAlgorithm = p.digest_algorithm.parse().map_err(|_| corrupt("digest algorithm"))?;
    let attrs = B64.decode(&p.signed_attributes).map_err(|_| corrupt("signed attributes"))?;
    let document_digest = hex::decode(&p.document_digest).map_err(|_| corrupt("document digest"))?;
    let status = if p.used_at.is_some() {
        "used"
    } else if now >= p.expires_at {
        "expired"
    } else {
        "pending"
    };
    Ok(Preparation {
        preparation_id: p.id.clone(),
        envelope_id: p.envelope_id.clone(),
        party_id: p.party_id.clone(),
        field_id: p.field_id.clone(),
        document_id: p.document_id.clone(),
        status: status.into(),
        digest_algorithm: digest.name().into(),
        document_digest: B64.encode(document_digest),
        signed_attributes: B64.encode(&attrs),
        to_be_signed: B64.encode(digest.digest(&attrs)),
        certificate: own.certificate_chain.first().cloned().unwrap_or_default(),
        chain: own.certificate_chain.iter().skip(1).cloned().collect(),
        key_type: own.key_type.clone(),
        created_at: p.created_at,
        expires_at: p.expires_at,
        upload_path: upload_path.into(),
        command: command(),
        result_document_id: p.result_document_id.clone(),
    })
}

/// The upload path of a party's preparation through the envelope API.
fn envelope_upload(id: &str, party: &str) -> String {
    format!("/api/v1/envelopes/{id}/parties/{party}/signature")
}

/// What the prepared update and attributes hold besides the bytes.
#[derive(Serialize, Deserialize)]
struct Detail {
    /// The text and date values filled in with the signature.
    values: BTreeMap<String, String>,
    /// Whether the signature certifies (DocMDP P=2).
    certify: bool,
}

/// Prepares party `party_id`'s signature of envelope `id` (see the module's description).
pub(crate) async fn prepare(
    state: &AppState,
    tenant: &str,
    id: &str,
    party_id: &str,
    who: &PartyActor,
    req: PrepareRequest,
    upload_path: &str,
) -> Result<Preparation, Error> {
    let digest: DigestAlgorithm = match req.digest_algorithm.as_deref() {
        None => DigestAlgorithm::Sha256,
        Some(d) => d.parse().map_err(|_| {
            Error::bad("bad_digest_algorithm", format!("unknown digest_algorithm '{d}' (sha256, sha384, sha512)"))
        })?,
    };
    let _guard = crate::envelopes::lock_envelope(id).await;
    let (e, _) = crate::envelopes::load(state, tenant, id).await?;
    let pi = crate::envelopes::acting_party(&e, party_id)?;
    if let Some(read) = &req.document_id
        && *read != e.current_document_id
    {
        return Err(Error::PreconditionFailed(format!(
            "the document changed since you read it (version {read}; now {}): read it again before signing",
            e.current_document_id
        )));
    }
    let party = &e.parties[pi];
    let own = own_key_of(&e, party)?.clone();
    let now = now_millis();
    if own.not_after <= now {
        return Err(Error::bad(
            "own_key_expired",
            format!("{}'s certificate ({}) has expired: it can no longer sign", party.name, own.subject),
        ));
    }
    let field = party
        .fields
        .iter()
        .find(|f| f.kind == "signature")
        .cloned()
        .ok_or_else(|| Error::bad("bad_party", "the party has no signature field"))?;
    let values = crate::envelope_pdf::field_values(&party.fields, &req.values)?;
    let certify = e.certify && !e.parties.iter().any(|p| p.status == "signed");
    let (leaf, chain) = own.certificates()?;
    let (_, kind) = key_of(&leaf)?;
    let contents_size = cms_estimate(&leaf, &chain, kind, digest)? + 2 * signet_pades::TIMESTAMP_RESERVE;

    let doc = state.store().document(tenant, &e.current_document_id).await?;
    let src = state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))?;
    let signing_time = SystemTime::now();
    let date = crate::identities::rfc3339(signing_time);
    let options = signet_pades::SignatureOptions {
        field: Some(field.id.clone()),
        page: field.page,
        visible: Some(signet_pades::Visible {
            page: field.page,
            rect: signet_pades::VisualRect {
                x1: field.rect[0],
                y1: field.rect[1],
                x2: field.rect[2],
                y2: field.rect[3],
            },
            image: None,
            text: vec![
                "Digitally signed by".into(),
                signet_cms::certpath::subject_common_name(&leaf)
                    .filter(|cn| !cn.trim().is_empty())
                    .unwrap_or_else(|| own.subject.clone()),
                format!("{} {} UTC", date.get(..10).unwrap_or(""), date.get(11..16).unwrap_or("")),
            ],
        }),
        reason: Some(format!("{} — {}", party.name, e.title)),
        signing_time,
        certify: certify.then_some(signet_pades::Certification::FormFilling),
        digest,
        contents_size,
        pipelined_hashing: false,
        fill: values
            .iter()
            .map(|(name, value)| signet_pades::FieldValue { name: name.clone(), value: value.clone() })
            .collect(),
        ..signet_pades::SignatureOptions::default()
    };
    let cert = leaf.clone();
    let (parts, attrs) = crate::util::blocking(move || -> Result<_, Error> {
        let file = std::fs::File::open(&src).map_err(Error::internal("reading a document"))?;
        let source = signet_pdf::FileSource::new(file).map_err(Error::internal("reading a document"))?;
        let mut pdf = signet_pdf::Document::open(source, None).map_err(Error::from_pdf)?;
        let tbs = signet_pades::prepare(&mut pdf, &options).map_err(|e| match e {
            signet_pades::Error::Pdf(p) => Error::from_pdf(p),
            signet_pades::Error::Io(io) => Error::Internal { context: "preparing a signature", source: Box::new(io) },
            other => Error::bad("cannot_prepare", other.to_string()),
        })?;
        let attrs = signet_cms::signed_attributes(&cert, digest, tbs.digest())
            .map_err(|e| Error::Internal { context: "making the signed attributes", source: Box::new(e) })?;
        Ok((tbs.into_parts(), attrs))
    })
    .await??;

    let prep_id = signet_store::new_id("prp");
    let blob_key = format!("preparations/{}/{prep_id}.bin", tenant.to_ascii_lowercase());
    state
        .blobs()
        .put_bytes(&blob_key, parts.update.into(), true)
        .await
        .map_err(Error::internal("storing a prepared signature"))?;
    let stored = signet_store::Preparation {
        id: prep_id.clone(),
        tenant_id: tenant.into(),
        envelope_id: e.id.clone(),
        party_id: party_id.into(),
        field_id: field.id.clone(),
        document_id: e.current_document_id.clone(),
        digest_algorithm: digest.name().into(),
        document_digest: signet_store::hex(&parts.digest),
        signed_attributes: B64.encode(&attrs),
        byte_range: parts.byte_range,
        original_len: i64::try_from(parts.original_len).unwrap_or(i64::MAX),
        blob_key: blob_key.clone(),
        detail: serde_json::to_string(&Detail { values, certify }).unwrap_or_else(|_| "{}".into()),
        created_by: who.actor.id.clone(),
        created_at: now,
        expires_at: now.saturating_add(i64::try_from(state.preparation_ttl().as_millis()).unwrap_or(i64::MAX)),
        used_at: None,
        result_document_id: None,
    };
    let replaced = match state.store().insert_preparation(&stored).await {
        Ok(r) => r,
        Err(err) => {
            let _ = state.blobs().delete(&blob_key).await;
            return Err(err.into());
        }
    };
    for key in replaced {
        let _ = state.blobs().delete(&key).await;
    }
    purge(state).await;
    let detail = serde_json::json!({
        "preparation_id": prep_id,
        "document_id": stored.document_id,
        "digest_algorithm": stored.digest_algorithm,
        "expires_at": stored.expires_at,
    });
    let events = vec![crate::envelopes::event("signature_prepared", &who.actor.id, Some(party_id), detail.clone())];
    if let Err(err) = state.store().append_envelope_events(tenant, id, &events).await {
        tracing::warn!("envelope {id}: recording history: {err}");
    }
    audit(state, AuditEntry::new(tenant, &who.actor, "envelope.prepare", "ok").target("envelope", id).detail(detail))
        .await;
    view(&stored, &own, upload_path, now)
}

/// The length of the CMS Signet builds for `leaf` and `chain` (with the longest algorithm
/// identifier and signature the key can have), plus room for what a client's CMS may carry
/// more.
fn cms_estimate(leaf: &[u8], chain: &[Vec<u8>], kind: KeyKind, digest: DigestAlgorithm) -> Result<usize, Error> {
    let scheme = match kind {
        KeyKind::Rsa { .. } => SignatureScheme::RsaPss,
        _ => SignatureScheme::Ecdsa,
    };
    let attrs = signet_cms::signed_attributes(leaf, digest, &vec![0; digest.output_len()])
        .map_err(|e| Error::Internal { context: "sizing a signature", source: Box::new(e) })?;
    let der = signet_cms::assemble_signed_data(leaf, chain, digest, scheme, &attrs, &vec![0; kind.max_signature_len()])
        .map_err(|e| Error::Internal { context: "sizing a signature", source: Box::new(e) })?;
    Ok(der.len() + CLIENT_CMS_ROOM)
}

/// Removes the preparations that expired more than a day ago, and their updates.
async fn purge(state: &AppState) {
    match state.store().purge_preparations(now_millis() - signet_store::KEPT_AFTER_EXPIRY_MS, 100).await {
        Ok(keys) => {
            for key in keys {
                let _ = state.blobs().delete(&key).await;
            }
        }
        Err(err) => tracing::warn!("removing expired preparations: {err}"),
    }
}

// ---------------------------------------------------------------------------------------
// complete

/// Party `party_id` of envelope `id` returns its signature over a preparation: checked,
/// timestamped, attached, and the workflow goes on. Returns the envelope after it.
pub(crate) async fn complete(
    state: &AppState,
    tenant: &str,
    id: &str,
    party_id: &str,
    who: &PartyActor,
    upload: SignatureUpload,
) -> Result<Envelope, Error> {
    let given = match (&upload.signature, &upload.cms) {
        (Some(s), None) => Given::Raw(decode("signature", s, MAX_SIGNATURE)?),
        (None, Some(c)) => Given::Cms(decode("cms", c, MAX_CMS)?),
        _ => {
            return Err(Error::bad(
                "bad_request",
                "give the signature (base64 of the raw signature value) or cms (base64 DER SignedData), one of them",
            ));
        }
    };
    let _guard = crate::envelopes::lock_envelope(id).await;
    let (mut e, revision) = crate::envelopes::load(state, tenant, id).await?;
    let pi = crate::envelopes::acting_party(&e, party_id)?;
    let own = own_key_of(&e, &e.parties[pi])?.clone();
    let prep = state
        .store()
        .preparation(tenant, &upload.preparation_id)
        .await?
        .filter(|p| p.envelope_id == id && p.party_id == party_id)
        .ok_or_else(|| {
            Error::Missing(format!(
                "no preparation {} for this party (a newer preparation replaces an older one): prepare again",
                upload.preparation_id
            ))
        })?;
    let now = now_millis();
    if prep.used_at.is_some() {
        return Err(Error::Conflict {
            code: "preparation_used",
            message: format!("preparation {} was already used: a preparation signs once", prep.id),
        });
    }
    if now >= prep.expires_at {
        let at = crate::identities::rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(prep.expires_at).unwrap_or(0)),
        );
        return Err(Error::Conflict {
            code: "preparation_expired",
            message: format!(
                "preparation {} expired at {at}: prepare again (POST …/prepare) and sign the new one",
                prep.id
            ),
        });
    }
    if own.not_after <= now {
        return Err(Error::bad(
            "own_key_expired",
            format!("the party's certificate ({}) expired after the preparation: it can no longer sign", own.subject),
        ));
    }
    if prep.document_id != e.current_document_id {
        return Err(Error::PreconditionFailed(format!(
            "preparation {} was made from version {}, and the envelope is now at {}: prepare again",
            prep.id, prep.document_id, e.current_document_id
        )));
    }
    let corrupt = |what: &'static str| Error::Internal { context: "reading a preparation", source: what.into() };
    let digest: DigestAlgorithm = prep.digest_algorithm.parse().map_err(|_| corrupt("digest algorithm"))?;
    let attrs = B64.decode(&prep.signed_attributes).map_err(|_| corrupt("signed attributes"))?;
    let document_digest = hex::decode(&prep.document_digest).map_err(|_| corrupt("document digest"))?;
    let detail: Detail = serde_json::from_str(&prep.detail).map_err(|_| corrupt("detail"))?;
    let (leaf, chain) = own.certificates()?;

    let cms = match given {
        Given::Raw(sig) => {
            let (scheme, sig) = verify_raw(&leaf, &own, digest, &attrs, &sig)?;
            signet_cms::assemble_signed_data(&leaf, &chain, digest, scheme, &attrs, &sig)
                .map_err(|e| Error::Internal { context: "assembling the CMS", source: Box::new(e) })?
        }
        Given::Cms(der) => check_cms(&der, &attrs, &leaf, &own, digest, &document_digest)?,
    };

    // the signature timestamp (B-T, as every envelope signature), the placeholder filled, the
    // result validated before anything is stored
    let update = state.blobs().read(&prep.blob_key).await.map_err(Error::internal("reading a prepared signature"))?;
    let current = state.store().document(tenant, &prep.document_id).await?;
    let src = state.blobs().local_file(&current.blob_key).await.map_err(Error::internal("fetching a document"))?;
    let out = crate::envelope_pdf::staging_file(state)?;
    let out_path = out.to_path_buf();
    let parts = signet_pades::TbsParts {
        update,
        original_len: u64::try_from(prep.original_len).unwrap_or(0),
        byte_range: prep.byte_range,
        digest: document_digest,
        digest_algorithm: digest,
        field_name: prep.field_id.clone(),
    };
    let st = state.clone();
    let field_id = prep.field_id.clone();
    crate::util::blocking(move || attach(&st, parts, &cms, &src, &out_path, &field_id)).await??;

    let document =
        crate::envelope_pdf::store_pdf(state, tenant, out, "signed", Some(e.title.clone()), Some(current.id)).await?;
    // single use, across processes too: taken before the version is added
    if !state.store().use_preparation(tenant, &prep.id, &document.id, now).await? {
        return Err(Error::Conflict {
            code: "preparation_used",
            message: format!("preparation {} was already used: a preparation signs once", prep.id),
        });
    }
    crate::envelope_pdf::next_version(state, tenant, &e, &prep.document_id, &document, true).await?;
    let signed = SignedStep {
        document: document.clone(),
        values: detail.values,
        certificate_subject: Some(own.subject.clone()),
        certificate_serial: Some(own.serial.clone()),
        signature_kind: "own_key".into(),
        fields: vec![prep.field_id.clone()],
    };
    let events = vec![crate::envelopes::party_signed(&mut e, pi, who, &signed, now)];
    let _ = state.blobs().delete(&prep.blob_key).await;
    crate::envelopes::after_party_acted(state, tenant, &mut e, revision, party_id, who, "envelope.sign", events)
        .await?;
    Ok(e)
}

enum Given {
    Raw(Vec<u8>),
    Cms(Vec<u8>),
}

fn decode(what: &str, b64: &str, max: usize) -> Result<Vec<u8>, Error> {
    let compact: String = b64.split_whitespace().collect();
    if compact.len() > max * 4 / 3 + 4 {
        return Err(Error::bad("bad_request", format!("{what}: at most {max} bytes")));
    }
    let bytes = B64.decode(compact).map_err(|_| Error::bad("bad_request", format!("{what} is not base64")))?;
    if bytes.is_empty() {
        return Err(Error::bad("bad_request", format!("{what} is empty")));
    }
    Ok(bytes)
}

/// The scheme under which `sig` verifies over `attrs` with the party's key, and the signature
/// as a CMS carries it (ECDSA as DER `Ecdsa-Sig-Value`, RFC 5753 §7.2: an `r‖s` value is
/// re-encoded).
fn verify_raw(
    leaf: &[u8],
    own: &OwnKey,
    digest: DigestAlgorithm,
    attrs: &[u8],
    sig: &[u8],
) -> Result<(SignatureScheme, Vec<u8>), Error> {
    let (spki, kind) = key_of(leaf)?;
    let (schemes, candidates): (&[SignatureScheme], Vec<Vec<u8>>) = match kind {
        KeyKind::Rsa { .. } => (&[SignatureScheme::RsaPkcs1v15, SignatureScheme::RsaPss], vec![sig.to_vec()]),
        KeyKind::EcP256 | KeyKind::EcP384 => {
            let mut c = vec![sig.to_vec()];
            let n = if kind == KeyKind::EcP256 { 32 } else { 48 };
            // an `r‖s` value of the curve's size, re-encoded (anything else: no second candidate)
            c.extend(signet_crypto::ecdsa_raw_to_der(sig, n).ok());
            (&[SignatureScheme::Ecdsa], c)
        }
    };
    for scheme in schemes {
        let alg = SignatureAlgorithm::new(*scheme, digest);
        for candidate in &candidates {
            if signet_crypto::verify_signature(&spki, &alg, attrs, candidate).is_ok() {
                return Ok((*scheme, candidate.clone()));
            }
        }
    }
    Err(Error::bad(
        "signature_mismatch",
        format!(
            "the signature does not verify under the party's certificate ({}, {}) over the prepared signed \
             attributes with {}: it was made over other data (another digest or preparation) or with another key",
            own.subject,
            own.key_type,
            digest.name()
        ),
    ))
}

/// The uploaded CMS, checked: one signer, detached id-data, the party's certificate as the
/// signer, the prepared digest algorithm and signed attributes (so the prepared message
/// digest), a signature that verifies (RFC 5652 §5.6), no unsigned attributes (the server
/// adds the signature timestamp). Returns its DER without trailing bytes.
fn check_cms(
    der: &[u8],
    attrs: &[u8],
    leaf: &[u8],
    own: &OwnKey,
    digest: DigestAlgorithm,
    document_digest: &[u8],
) -> Result<Vec<u8>, Error> {
    let bad = |code: &'static str, m: String| Error::bad(code, format!("the CMS: {m}"));
    let parsed = ParsedSignedData::parse(der).map_err(|e| bad("bad_cms", format!("it does not parse: {e}")))?;
    if parsed.signer_count != 1 {
        return Err(bad("bad_cms", format!("{} signers; one is expected", parsed.signer_count)));
    }
    if parsed.content_type != signet_cms::oid::DATA || parsed.econtent.is_some() {
        return Err(bad("bad_cms", "a detached signature of id-data is expected (PAdES)".into()));
    }
    match parsed.signer_certificate.as_deref() {
        None => {
            return Err(bad(
                "cms_wrong_certificate",
                format!("its signer's certificate is not in it: include the party's certificate ({})", own.subject),
            ));
        }
        Some(c) if c != leaf => {
            let theirs = signet_cms::certpath::subject_to_string(c).unwrap_or_else(|| "another certificate".into());
            return Err(bad(
                "cms_wrong_certificate",
                format!("it is signed by {theirs}, not with the party's certificate ({})", own.subject),
            ));
        }
        Some(_) => {}
    }
    if parsed.digest_algorithm().ok() != Some(digest) {
        return Err(bad("bad_cms", format!("its digest algorithm is not the prepared {}", digest.name())));
    }
    if parsed.message_digest.as_deref() != Some(document_digest) {
        return Err(bad(
            "digest_mismatch",
            "its message-digest is not the prepared document digest: it signs another document or version".into(),
        ));
    }
    if parsed.signed_attributes.as_deref() != Some(attrs) {
        return Err(bad(
            "attributes_mismatch",
            "its signed attributes are not the prepared ones: sign signed_attributes exactly as prepared".into(),
        ));
    }
    // verified as a raw signature is: with the prepared digest and the schemes the party's
    // key allows, whatever signature algorithm the CMS names
    verify_raw(leaf, own, digest, attrs, &parsed.signature)?;
    if !parsed.unsigned_attributes.is_empty() {
        return Err(bad(
            "bad_cms",
            "it has unsigned attributes: leave them out, the server adds the signature timestamp".into(),
        ));
    }
    Ok(der[..parsed.der_len].to_vec())
}

/// Timestamps `cms`, attaches it to the prepared update and writes the signed version to
/// `out` (the version `src` plus the update); the output is validated first: the new
/// signature must be intact and cover the whole file.
fn attach(
    state: &AppState,
    parts: signet_pades::TbsParts,
    cms: &[u8],
    src: &std::path::Path,
    out: &std::path::Path,
    field: &str,
) -> Result<(), Error> {
    let services = state.services();
    let tsa = signet_pades::TsaClient::new(services.fetcher(), services.tsa_url());
    let cms = signet_pades::add_signature_timestamp(cms, &tsa)
        .map_err(|e| Error::Upstream(format!("the signature timestamp: {e}")))?;
    let original = std::fs::metadata(src).map_err(Error::internal("reading a document"))?.len();
    if original != parts.original_len {
        return Err(Error::Internal { context: "attaching a signature", source: "the version changed size".into() });
    }
    let tbs = signet_pades::TbsDocument::from_parts(parts)
        .map_err(|e| Error::Internal { context: "reading a preparation", source: Box::new(e) })?;
    let update = tbs.attach(&cms).map_err(|e| match e {
        signet_pades::Error::ContentsTooSmall { reserved, needed } => Error::bad(
            "cms_too_large",
            format!("the CMS with its timestamp is {needed} bytes and the prepared document has room for {reserved}: leave out certificates beyond the party's chain"),
        ),
        e => Error::Internal { context: "attaching a signature", source: Box::new(e) },
    })?;
    std::fs::copy(src, out).map_err(Error::internal("copying a document"))?;
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(out).map_err(Error::internal("writing"))?;
        f.write_all(&update).map_err(Error::internal("writing"))?;
        f.sync_all().map_err(Error::internal("writing"))?;
    }
    let file = std::fs::File::open(out).map_err(Error::internal("reading the signed version"))?;
    let source = signet_pdf::FileSource::new(file).map_err(Error::internal("reading the signed version"))?;
    let report = signet_validate::validate(std::sync::Arc::new(source), &signet_validate::ValidationOptions::default())
        .map_err(|e| Error::Internal { context: "checking the signed version", source: Box::new(e) })?;
    let ours = report.signatures.iter().find(|s| s.field == field);
    match ours {
        Some(s) if s.intact && s.coverage == signet_validate::Coverage::Whole => Ok(()),
        other => Err(Error::Internal {
            context: "checking the signed version",
            source: format!(
                "the attached signature does not check: {}",
                other.map(|s| s.reasons.join("; ")).unwrap_or_else(|| "not found".into())
            )
            .into(),
        }),
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

/// The caller acting for an own-key party through the envelope API: the party's own user
/// (logged in or with a single sign-on token), or, for a party with its own key, the
/// envelope's sender (its creator or a tenant administrator, who may send envelopes): the
/// signature itself proves the party, whoever carries it.
async fn acting_for(state: &AppState, caller: &Caller, id: &str, party: &str) -> Result<(String, PartyActor), Error> {
    let tenant =
        caller.tenant_id.clone().ok_or_else(|| Error::Forbidden("a party signs as a user of its tenant".into()))?;
    let (e, _) = crate::envelopes::load(state, &tenant, id).await?;
    let p = e
        .parties
        .iter()
        .find(|p| p.id == party)
        .ok_or_else(|| Error::Missing(format!("envelope {id} has no party {party}")))?;
    if p.user_id.as_deref() == Some(caller.id.as_str()) {
        let auth_method = match caller.via {
            crate::auth::Via::Session => "console login (password and the tenant's MFA policy)",
            crate::auth::Via::Sso => "single sign-on token",
            _ => "API credentials",
        };
        return Ok((
            tenant,
            PartyActor { actor: caller.actor(), caller: Some(caller.clone()), auth_method: auth_method.into() },
        ));
    }
    let sender = (e.created_by == caller.id || caller.roles.contains(&signet_store::Role::TenantAdmin))
        && caller.may(Permission::SendEnvelopes).is_ok();
    if p.own_key.is_some() && sender {
        return Ok((
            tenant,
            PartyActor {
                actor: caller.actor(),
                caller: None,
                auth_method: format!(
                    "the party's own key (certificate bound when the envelope was created), relayed by the envelope's sender {}",
                    caller.id
                ),
            },
        ));
    }
    Err(Error::Forbidden(if p.own_key.is_some() {
        format!("party {party} signs with its own key: its own user or the envelope's sender relays the signature")
    } else {
        format!("party {party} is signed by its own user, not by {}", caller.id)
    }))
}

/// Prepare a party's signature with its own key (deferred signing).
///
/// For a party created with `own_key`: builds the party's signed version with an empty
/// signature (its text and date fields filled), and answers the digest and the CAdES signed
/// attributes its key must sign, with the `signet sign-digest` command to run. The party's own
/// user, or the envelope's sender (its creator, e.g. its `sign-document` key, or a tenant
/// administrator). Expires after the server's `--preparation-ttl`; a new preparation
/// replaces the party's earlier ones.
#[utoipa::path(
    post,
    path = "/envelopes/{id}/parties/{party}/prepare",
    tag = "envelopes",
    security(("session" = []), ("bearer" = ["sign-document"])),
    params(("id" = String, Path, description = "`env_…`"), ("party" = String, Path, description = "`pty_…`")),
    request_body = PrepareRequest,
    responses(
        (status = 201, description = "What the party's key signs.", body = Preparation),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 412, response = crate::openapi::PreconditionFailed),
    )
)]
pub async fn prepare_party_signature(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, party)): Path<(String, String)>,
    ApiJson(req): ApiJson<PrepareRequest>,
) -> Result<(StatusCode, Json<Preparation>), Error> {
    let (tenant, who) = acting_for(&state, &caller, &id, &party).await?;
    let upload = envelope_upload(&id, &party);
    Ok((StatusCode::CREATED, Json(prepare(&state, &tenant, &id, &party, &who, req, &upload).await?)))
}

/// Upload a party's own-key signature over a preparation.
///
/// The raw signature (`signature`) or a CMS (`cms`) over the preparation's signed attributes,
/// made with the key of the party's certificate. Refused when the preparation is another
/// party's, used, expired (409 `preparation_expired`: prepare again) or made from an older
/// version (412), and when the signature does not verify under the party's certificate over
/// exactly the prepared attributes (400). The party's own user or the envelope's sender (its
/// creator, e.g. its `sign-document` key, or a tenant administrator).
#[utoipa::path(
    post,
    path = "/envelopes/{id}/parties/{party}/signature",
    tag = "envelopes",
    security(("session" = []), ("bearer" = ["sign-document"])),
    params(("id" = String, Path, description = "`env_…`"), ("party" = String, Path, description = "`pty_…`")),
    request_body = SignatureUpload,
    responses(
        (status = 200, description = "The envelope after the signature.", body = Envelope),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 412, response = crate::openapi::PreconditionFailed),
        (status = 502, response = crate::openapi::BadGateway),
    )
)]
pub async fn upload_party_signature(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, party)): Path<(String, String)>,
    ApiJson(upload): ApiJson<SignatureUpload>,
) -> Result<Json<Envelope>, Error> {
    let (tenant, who) = acting_for(&state, &caller, &id, &party).await?;
    Ok(Json(complete(&state, &tenant, &id, &party, &who, upload).await?))
}

/// A party's preparation: whether it is pending, expired or used.
///
/// The party's own user or the envelope's sender (its creator, e.g. its `sign-document` key,
/// or a tenant administrator).
#[utoipa::path(
    get,
    path = "/envelopes/{id}/parties/{party}/preparations/{preparation}",
    tag = "envelopes",
    security(("session" = []), ("bearer" = ["sign-document"])),
    params(
        ("id" = String, Path, description = "`env_…`"),
        ("party" = String, Path, description = "`pty_…`"),
        ("preparation" = String, Path, description = "`prp_…`"),
    ),
    responses(
        (status = 200, description = "The preparation.", body = Preparation),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn party_preparation(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, party, preparation)): Path<(String, String, String)>,
) -> Result<Json<Preparation>, Error> {
    let (tenant, _) = acting_for(&state, &caller, &id, &party).await?;
    let (e, _) = crate::envelopes::load(&state, &tenant, &id).await?;
    let missing = || Error::Missing(format!("no preparation {preparation} for party {party}"));
    let p = e.parties.iter().find(|p| p.id == party).ok_or_else(missing)?;
    let own = p.own_key.as_ref().ok_or_else(missing)?;
    let prep = state
        .store()
        .preparation(&tenant, &preparation)
        .await?
        .filter(|r| r.envelope_id == id && r.party_id == party)
        .ok_or_else(missing)?;
    Ok(Json(view(&prep, own, &envelope_upload(&id, &party), now_millis())?))
}

/// The own-key state of a party, for its signer page: its key and its latest preparation.
pub(crate) async fn signing_state(
    state: &AppState,
    tenant: &str,
    e: &Envelope,
    p: &Party,
) -> Result<OwnKeySigning, Error> {
    let Some(own) = p.own_key.clone() else {
        return Ok(OwnKeySigning { own_key: None, preparation: None });
    };
    let preparation = match state.store().latest_preparation(tenant, &e.id, &p.id).await? {
        Some(prep) => Some(view(&prep, &own, SIGNER_UPLOAD, now_millis())?),
        None => None,
    };
    Ok(OwnKeySigning { own_key: Some(own), preparation })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_certificates_are_refused_with_a_reason() {
        for (text, needle) in [
            ("", "give the party's certificate"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "own_key.certificate"),
            ("not base64 at all!", "neither PEM nor base64"),
            ("MIIB", "own_key.certificate"),
        ] {
            match own_key(&NewOwnKey { certificate: text.into() }) {
                Err(Error::BadRequest { message, .. }) => assert!(message.contains(needle), "{text}: {message}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
