//! What envelopes do to their PDF: add every party's fields before anyone signs, sign a
//! party's fields with its certificate, extend the last version to PAdES B-LTA, and render
//! the completion certificate.

use std::collections::BTreeMap;

use base64::Engine;
use signet_store::{DocumentRecord, Identity, now_millis};

use crate::envelopes::{Envelope, Field, MAX_TEXT_VALUE, PartyActor, SignRequest, field_options, input_of};
use crate::{AppState, Error};

/// Largest signature image accepted (decoded).
const MAX_SIGNATURE_IMAGE: usize = 2 << 20;

/// A party's signing, done.
pub(crate) struct SignedStep {
    /// The version after the party's last signature.
    pub(crate) document: DocumentRecord,
    /// The text and date values filled, by field id.
    pub(crate) values: BTreeMap<String, String>,
    /// The certificate's subject.
    pub(crate) certificate_subject: Option<String>,
    /// Its serial (hex).
    pub(crate) certificate_serial: Option<String>,
    /// `drawn`, `typed`, `uploaded`, `seal` or `own_key`.
    pub(crate) signature_kind: String,
    /// The signature fields signed.
    pub(crate) fields: Vec<String>,
}

/// Records `doc` (already stored) as the next version after `expected_head` in the line of
/// the envelope's document.
pub(crate) async fn next_version(
    state: &AppState,
    tenant: &str,
    e: &Envelope,
    expected_head: &str,
    doc: &DocumentRecord,
    insert: bool,
) -> Result<(), Error> {
    let line = state.store().version_line(tenant, &e.document_id).await?.ok_or_else(|| {
        Error::bad("not_versioned", format!("document {} is not part of a line of versions", e.document_id))
    })?;
    match state.store().add_version(tenant, &line.root_id, expected_head, doc, insert, Some(&e.id)).await? {
        Some(_) => Ok(()),
        None => Err(Error::PreconditionFailed(format!(
            "document {} gained a version outside envelope {}: the envelope's document must change only through it",
            line.root_id, e.id
        ))),
    }
}

/// Stores the PDF at `path` as a new document of `tenant`.
pub(crate) async fn store_pdf(
    state: &AppState,
    tenant: &str,
    path: tempfile::TempPath,
    kind: &str,
    name: Option<String>,
    source: Option<String>,
) -> Result<DocumentRecord, Error> {
    let p2 = path.to_path_buf();
    let (sha256, size) = crate::util::blocking(move || crate::agent::sha256_file(&p2))
        .await?
        .map_err(Error::internal("hashing a document"))?;
    let id = signet_store::new_id("doc");
    let key = format!("documents/{}/{id}.pdf", tenant.to_ascii_lowercase());
    state.blobs().put_file(&key, path, false).await.map_err(Error::internal("storing a document"))?;
    Ok(DocumentRecord {
        id,
        tenant_id: tenant.into(),
        kind: kind.into(),
        name,
        blob_key: key,
        size: size as i64,
        sha256,
        source_id: source,
        created_at: now_millis(),
    })
}

pub(crate) fn staging_file(state: &AppState) -> Result<tempfile::TempPath, Error> {
    Ok(tempfile::Builder::new()
        .prefix(".signet-envelope-")
        .suffix(".pdf")
        .tempfile_in(state.blobs().staging_dir())
        .map_err(Error::internal("creating a staging file"))?
        .into_temp_path())
}

/// Adds every party's fields to the envelope's document as its next version.
pub(crate) async fn add_fields(state: &AppState, tenant: &str, e: &Envelope) -> Result<DocumentRecord, Error> {
    let (doc, _) = input_of(state, tenant, &e.current_document_id).await?;
    let src = state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))?;
    let specs: Vec<signet_pades::FormFieldSpec> =
        e.parties.iter().flat_map(|p| p.fields.iter().map(move |f| (p, f))).map(|(p, f)| form_field(p, f)).collect();
    let out = staging_file(state)?;
    let out_path = out.to_path_buf();
    crate::util::blocking(move || -> Result<(), Error> {
        std::fs::copy(&src, &out_path).map_err(Error::internal("copying a document"))?;
        let update = {
            let file = std::fs::File::open(&out_path).map_err(Error::internal("reading a document"))?;
            let mut pdf = signet_pdf::Document::open(
                signet_pdf::FileSource::new(file).map_err(Error::internal("reading a document"))?,
                None,
            )
            .map_err(Error::from_pdf)?;
            signet_pades::add_form_fields(&mut pdf, &specs).map_err(|e| Error::bad("bad_fields", e.to_string()))?
        };
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&out_path).map_err(Error::internal("writing"))?;
        f.write_all(&update).map_err(Error::internal("writing"))?;
        f.sync_all().map_err(Error::internal("writing"))?;
        Ok(())
    })
    .await??;
    let record = store_pdf(state, tenant, out, "upload", Some(e.title.clone()), Some(doc.id.clone())).await?;
    next_version(state, tenant, e, &doc.id, &record, true).await?;
    Ok(record)
}

fn form_field(p: &crate::envelopes::Party, f: &Field) -> signet_pades::FormFieldSpec {
    let kind = match f.kind.as_str() {
        "seal" | "signature" => signet_pades::FieldKind::Signature,
        _ => signet_pades::FieldKind::Text,
    };
    let [x1, y1, x2, y2] = f.rect;
    signet_pades::FormFieldSpec {
        name: f.id.clone(),
        kind,
        page: f.page,
        rect: signet_pades::VisualRect { x1, y1, x2, y2 },
        tooltip: Some(match &f.label {
            Some(l) => format!("{}: {l}", p.name),
            None => format!("{} ({})", p.name, f.kind),
        }),
    }
}

/// The values of a party's text and date fields.
pub(crate) fn field_values(
    fields: &[Field],
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Error> {
    for id in given.keys() {
        if !fields.iter().any(|f| f.id == *id && f.kind == "text") {
            return Err(Error::bad("bad_field", format!("{id} is not one of your text fields")));
        }
    }
    // the date in UTC, as RFC 3339 writes it
    let today: String = crate::identities::rfc3339(std::time::SystemTime::now()).chars().take(10).collect();
    let mut values = BTreeMap::new();
    for f in fields {
        match f.kind.as_str() {
            "date" => {
                values.insert(f.id.clone(), today.clone());
            }
            "text" => {
                let v = given.get(&f.id).map(|v| v.trim()).unwrap_or("");
                if v.is_empty() {
                    let label = f.label.as_deref().unwrap_or("a text field");
                    return Err(Error::bad("missing_value", format!("fill in {label} ({})", f.id)));
                }
                if v.chars().count() > MAX_TEXT_VALUE || v.chars().any(char::is_control) {
                    return Err(Error::bad(
                        "bad_value",
                        format!("{}: at most {MAX_TEXT_VALUE} characters on one line", f.id),
                    ));
                }
                values.insert(f.id.clone(), v.to_string());
            }
            _ => {}
        }
    }
    Ok(values)
}

/// The adopted signature image, cleaned and stored: its image id.
async fn signature_image(state: &AppState, tenant: &str, req: &SignRequest) -> Result<(String, String), Error> {
    let sig = req
        .signature
        .as_ref()
        .ok_or_else(|| Error::bad("missing_signature", "adopt a signature: draw it, type it or upload an image"))?;
    if !matches!(sig.kind.as_str(), "drawn" | "typed" | "uploaded") {
        return Err(Error::bad("bad_signature", format!("signature kind '{}': drawn, typed or uploaded", sig.kind)));
    }
    let (meta, data) = sig.image.strip_prefix("data:").and_then(|r| r.split_once(',')).ok_or_else(|| {
        Error::bad("bad_signature", "the signature image must be a data: URL (data:image/png;base64,…)")
    })?;
    let media =
        meta.strip_suffix(";base64").ok_or_else(|| Error::bad("bad_signature", "the data: URL must be base64"))?;
    if data.len() > MAX_SIGNATURE_IMAGE * 4 / 3 + 4 {
        return Err(Error::bad("bad_signature", "the signature image is over 2 MB"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| Error::bad("bad_signature", "the signature image is not valid base64"))?;
    let hint = media.to_string();
    let image = crate::util::blocking(move || signet_seal::clean_upload(&bytes, Some(&hint)))
        .await?
        .map_err(|e| Error::bad("bad_signature", e.to_string()))?;
    let record = crate::seals::store_png(state, tenant, image.png).await?;
    Ok((record.id, sig.kind.clone()))
}

/// The prefix of envelope signers' identity names: reserved (no API creates such a name) and
/// refused by every other way of signing, so such an identity signs only for its person.
pub const PERSON_PREFIX: &str = "person-";

/// The identity a person signs with: issued by the built-in CA on first use (per internal
/// user, with the name and address of the user's record; per external e-mail address and
/// name), then reused.
async fn person_identity(state: &AppState, tenant: &str, p: &crate::envelopes::Party) -> Result<Identity, Error> {
    let (key, common_name, email, organization) = match (&p.user_id, &p.email) {
        (Some(u), _) => {
            let user = state.store().user(tenant, u).await?;
            let org = state.store().tenant(tenant).await?.name;
            (format!("user:{u}"), user.display_name, user.email, Some(org))
        }
        (None, Some(m)) => {
            (format!("email:{}\nname:{}", m.to_lowercase(), p.name), p.name.clone(), Some(m.clone()), None)
        }
        (None, None) => return Err(Error::bad("bad_party", "the party has neither a user nor an e-mail address")),
    };
    let name = format!("{PERSON_PREFIX}{}", &signet_store::sha256_hex(key.as_bytes())[..24]);
    if let Ok(i) = state.store().identity(tenant, &name).await {
        return Ok(i);
    }
    let request = crate::identities::CreateIdentity {
        name: name.clone(),
        issue: Some(crate::identities::IssueParams {
            profile: Some("person".into()),
            common_name,
            organization,
            organizational_unit: None,
            country: None,
            organization_identifier: None,
            email,
            key: None,
            validity_days: None,
        }),
        pkcs12: None,
        pkcs11: None,
    };
    let st = state.clone();
    let t2 = tenant.to_string();
    let identity = crate::util::blocking(move || crate::identities::build_identity(&st, &t2, request)).await??;
    match state.store().insert_identity(&identity).await {
        Ok(_) => Ok(identity),
        // issued at the same moment by another request: theirs is used
        Err(signet_store::Error::Conflict(_)) => Ok(state.store().identity(tenant, &name).await?),
        Err(e) => Err(e.into()),
    }
}

fn certificate_of(identity: &Identity) -> (Option<String>, Option<String>) {
    let subject = identity
        .chain
        .first()
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .and_then(|der| signet_cms::certpath::subject_to_string(&der));
    (subject, identity.cert_serial.clone())
}

/// Party `pi` of `e` fills its fields and signs each seal or signature field in turn.
pub(crate) async fn sign_fields(
    state: &AppState,
    tenant: &str,
    e: &Envelope,
    pi: usize,
    who: &PartyActor,
    req: &SignRequest,
) -> Result<SignedStep, Error> {
    let party = &e.parties[pi];
    let values = field_values(&party.fields, &req.values)?;
    let (identity, image, kind, seal_use) = match &party.seal_id {
        Some(seal) => {
            let caller = who.caller.as_ref().ok_or_else(|| {
                Error::Forbidden("a seal is stamped by its internal user, logged in to the console".into())
            })?;
            let u = crate::seals::authorize_use(state, caller, seal, req.seal_request.as_deref()).await?;
            (u.identity.clone(), u.seal.image_id.clone(), "seal".to_string(), Some(u))
        }
        None => {
            let (image, kind) = signature_image(state, tenant, req).await?;
            (person_identity(state, tenant, party).await?, image, kind, None)
        }
    };
    let result = sign_each(state, tenant, e, pi, who, &identity, &image, &values).await;
    if let Some(u) = &seal_use {
        crate::seals::record_use(state, tenant, u, result.as_ref().err()).await;
    }
    let (document, fields) = result?;
    let (certificate_subject, certificate_serial) = certificate_of(&identity);
    Ok(SignedStep { document, values, certificate_subject, certificate_serial, signature_kind: kind, fields })
}

#[allow(clippy::too_many_arguments)]
async fn sign_each(
    state: &AppState,
    tenant: &str,
    e: &Envelope,
    pi: usize,
    who: &PartyActor,
    identity: &Identity,
    image: &str,
    values: &BTreeMap<String, String>,
) -> Result<(DocumentRecord, Vec<String>), Error> {
    let party = &e.parties[pi];
    let first_of_envelope = !e.parties.iter().any(|p| p.status == "signed");
    let mut current = e.current_document_id.clone();
    let mut last = None;
    let mut signed_fields = Vec::new();
    for (n, f) in party.fields.iter().filter(|f| matches!(f.kind.as_str(), "seal" | "signature")).enumerate() {
        let mut options = field_options(f, &identity.name, &current);
        // a seal's identity signs only as the seal (its use was authorized above)
        options.seal = party.seal_id.clone();
        options.image = Some(image.to_string());
        options.name = Some(e.title.clone());
        options.reason = Some(format!("{} — {}", party.name, e.title));
        if n == 0 {
            if first_of_envelope && e.certify {
                options.certify = Some("form-filling".into());
            }
            options.fill = values.clone();
        }
        let (_, input) = input_of(state, tenant, &current).await?;
        let signed =
            crate::agent::sign_document(state, tenant, &who.actor.id, &options, &input, None, "envelope").await?;
        current = signed.document.id.clone();
        signed_fields.push(f.id.clone());
        last = Some(signed.document);
    }
    let doc = last.ok_or_else(|| Error::bad("bad_party", "the party has no seal or signature field"))?;
    // one version per party, once all its fields are signed: a failure on the way leaves
    // the document's line where it was, and the party can sign again
    next_version(state, tenant, e, &e.current_document_id, &doc, false).await?;
    Ok((doc, signed_fields))
}

/// The final version: the validation data of every signature and an archive document
/// timestamp (PAdES B-LTA).
pub(crate) async fn finish(state: &AppState, tenant: &str, e: &Envelope) -> Result<DocumentRecord, Error> {
    let doc = state.store().document(tenant, &e.current_document_id).await?;
    let src = state.blobs().local_file(&doc.blob_key).await.map_err(Error::internal("fetching a document"))?;
    let out = staging_file(state)?;
    let out_path = out.to_path_buf();
    let st = state.clone();
    crate::util::blocking(move || -> Result<(), Error> {
        with_archive_services(&st, |svc| {
            // extend_file writes its own temporary file and renames it onto the output
            std::fs::remove_file(&out_path).ok();
            signet_pades::extend_file(&src, &out_path, None, signet_pades::Level::BLTA, svc, true)
                .map_err(|e| Error::bad("extend_failed", format!("adding validation data: {e}")))?;
            Ok(())
        })
    })
    .await??;
    // recorded as the next version by the caller, once the completion certificate is made too
    store_pdf(state, tenant, out, "signed", Some(e.title.clone()), Some(doc.id.clone())).await
}

/// Runs `f` with what B-LTA needs: the server's TSA, and OCSP and CRLs for validation data.
fn with_archive_services<T>(
    state: &AppState,
    f: impl FnOnce(signet_pades::Services<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let services = state.services();
    let tsa = signet_pades::TsaClient::new(services.fetcher(), services.tsa_url());
    let validation =
        signet_pades::OnlineValidation::new(services.fetcher(), Vec::new(), signet_pades::Revocation::OcspAndCrl);
    f(signet_pades::Services {
        tsa: Some(&tsa),
        validation: Some(&validation),
        timestamp_digest: signet_crypto::DigestAlgorithm::Sha256,
    })
}

/// Records the final document (from [`finish`]) as the last version of the envelope's line.
pub(crate) async fn archive_final(
    state: &AppState,
    tenant: &str,
    e: &Envelope,
    last_signed: &str,
    final_doc: &DocumentRecord,
) -> Result<(), Error> {
    next_version(state, tenant, e, last_signed, final_doc, true).await
}

/// Renders and stores the completion certificate of a completed envelope.
pub(crate) async fn completion_certificate(
    state: &AppState,
    tenant: &str,
    e: &Envelope,
    pending: &[signet_store::EnvelopeEvent],
    final_doc: &DocumentRecord,
) -> Result<DocumentRecord, Error> {
    let original = state.store().document(tenant, &e.document_id).await?;
    let tenant_name = state.store().tenant(tenant).await?.name;
    let mut events: Vec<signet_report::ReportEvent> = crate::envelopes::history(state, tenant, &e.id)
        .await?
        .into_iter()
        .map(|h| signet_report::ReportEvent {
            at: h.at,
            actor: h.actor,
            action: format!("envelope.{}", h.kind),
            detail: h.detail.to_string(),
            entry_hash: None,
        })
        .collect();
    for p in pending {
        events.push(signet_report::ReportEvent {
            at: p.at,
            actor: p.actor.clone(),
            action: format!("envelope.{}", p.kind),
            detail: p.detail.clone(),
            entry_hash: None,
        });
    }
    // the tamper-evident log's entries about this envelope that did something, with their
    // hashes (refusals, such as wrong codes, are many and say nothing of the contract)
    let query = signet_store::AuditQuery {
        target: Some(e.id.clone()),
        outcome: Some("ok".into()),
        limit: Some(1000),
        ..Default::default()
    };
    for a in state.store().audit_entries(tenant, &query).await? {
        events.push(signet_report::ReportEvent {
            at: a.at,
            actor: a.actor.clone(),
            action: format!("log #{} {}", a.seq, a.action),
            detail: a.detail.clone().unwrap_or_default(),
            entry_hash: Some(a.hash.clone()),
        });
    }
    events.sort_by_key(|ev| ev.at);
    let versions = state
        .store()
        .versions(tenant, &e.document_id)
        .await?
        .into_iter()
        .map(|v| signet_report::ReportVersion {
            version: u32::try_from(v.version).unwrap_or(u32::MAX),
            document_id: v.document.id,
            sha256: v.document.sha256,
            created_at: v.document.created_at,
        })
        .collect();
    let report = signet_report::CompletionReport {
        title: e.title.clone(),
        envelope_id: e.id.clone(),
        tenant: tenant_name,
        document_name: original.name.clone().unwrap_or_else(|| e.title.clone()),
        original_sha256: original.sha256.clone(),
        final_sha256: final_doc.sha256.clone(),
        created_at: e.created_at,
        completed_at: e.completed_at.unwrap_or_else(now_millis),
        parties: e
            .parties
            .iter()
            .map(|p| {
                let ev = p.evidence.clone().unwrap_or_default();
                signet_report::ReportParty {
                    name: p.name.clone(),
                    email: p.email.clone().unwrap_or_default(),
                    role: match p.role.as_str() {
                        "approver" => signet_report::PartyRole::Approver,
                        "copy" => signet_report::PartyRole::Copy,
                        _ => signet_report::PartyRole::Signer,
                    },
                    organisation: None,
                    status: match (p.role.as_str(), p.status.as_str()) {
                        (_, "signed") => signet_report::PartyStatus::Signed,
                        (_, "approved") => signet_report::PartyStatus::Approved,
                        (_, "declined") => signet_report::PartyStatus::Declined,
                        ("copy", _) => signet_report::PartyStatus::Delivered,
                        (_, "skipped") => signet_report::PartyStatus::Skipped,
                        _ => signet_report::PartyStatus::Pending,
                    },
                    signed_at: p.signed_at,
                    ip: ev.ip,
                    user_agent: ev.user_agent,
                    auth_method: ev.auth_method,
                    certificate_subject: ev.certificate_subject,
                    certificate_serial: ev.certificate_serial,
                    signature_field: p
                        .fields
                        .iter()
                        .find(|f| matches!(f.kind.as_str(), "seal" | "signature"))
                        .map(|f| f.id.clone()),
                }
            })
            .collect(),
        events,
        versions,
        language: signet_report::Language::En,
        utc_offset_minutes: 0,
    };
    let pdf = crate::util::blocking(move || signet_report::render(&report))
        .await?
        .map_err(|e| Error::Internal { context: "rendering the completion certificate", source: Box::new(e) })?;
    let rendered = staging_file(state)?;
    std::fs::write(&rendered, &pdf).map_err(Error::internal("writing the completion certificate"))?;
    // sealed with a document timestamp of the server's TSA and its validation data: a change
    // to the certificate shows, and it stays verifiable (signet_pades::timestamp_file)
    let out = staging_file(state)?;
    let out_path = out.to_path_buf();
    let st = state.clone();
    crate::util::blocking(move || -> Result<(), Error> {
        with_archive_services(&st, |svc| {
            // timestamp_file writes its own temporary file and renames it onto the output
            std::fs::remove_file(&out_path).ok();
            signet_pades::timestamp_file(&rendered, &out_path, None, svc, true)
                .map_err(|e| Error::bad("timestamp_failed", format!("timestamping the completion certificate: {e}")))?;
            Ok(())
        })
    })
    .await??;
    let name = Some(format!("{} — completion certificate", e.title));
    let record = store_pdf(state, tenant, out, "certificate", name, Some(final_doc.id.clone())).await?;
    state.store().insert_document(&record).await?;
    Ok(record)
}
