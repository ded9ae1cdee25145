//! `signet-client` end to end against a real `signet serve` on 127.0.0.1: the operator makes
//! a tenant and its key; the tenant makes an identity, a seal image and a template, uploads a
//! PDF, signs through the agent (streamed from a file into a file), verifies, signs a hash
//! (a PDF assembled here from digests only), runs an envelope, reads the signing log. Every
//! signed PDF passes ../shared/peer/validate.sh; refusals surface as `Error::Api` with the
//! server's code (and `Retry-After` over quota).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use signet_client::{
    AuditFilter, Client, CreateEnvelope, CreateIdentity, DigestAlgorithm, EnvelopeQuery, Error, ExportFormat,
    ImageFormat, IssueParams, KeyRequest, NewField, NewParty, Placement, Scope, SignHash, SignOptions, Source,
    TenantRequest, Verdict,
};
use signet_pades::{CmsProvider, Services, SignatureOptions};
use signet_testkit::{SignetServer, TestPage, seal_png, test_pdf, validate_level};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_testadmin.0123456789abcdefghijklmnop";

/// The hash-signing API as a `CmsProvider`: the document is hashed here and only its digest
/// goes to the server.
struct RemoteCms<'a> {
    client: &'a Client,
    identity: &'a str,
    estimated: usize,
}

impl CmsProvider for RemoteCms<'_> {
    fn estimated_len(&self) -> signet_pades::Result<usize> {
        Ok(self.estimated + 4096)
    }
    fn digest_algorithm(&self) -> signet_crypto::DigestAlgorithm {
        signet_crypto::DigestAlgorithm::Sha256
    }
    fn sign_digest(&self, digest: &[u8]) -> signet_pades::Result<Vec<u8>> {
        let request = SignHash::new(self.identity, DigestAlgorithm::Sha256, digest);
        let answer = self.client.sign_hash(&request).map_err(|e| signet_pades::Error::Signature(e.to_string()))?;
        Ok(answer.cms)
    }
}

fn pem(der: &[u8]) -> String {
    let text = B64.encode(der);
    let lines: Vec<&str> = text.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(signet_crypto::DigestAlgorithm::Sha256.digest(bytes))
}

fn api_error<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String, Option<std::time::Duration>) {
    match result {
        Err(Error::Api { status, code, message, retry_after }) => {
            assert!(!message.is_empty(), "{status} {code} without a message");
            (status, code, retry_after)
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn the_client_drives_the_api_of_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = dir.join("data");
    let env = [("SIGNET_ADMIN_TOKEN", ADMIN)];
    let mut first = SignetServer::start_with_env(SIGNET, &data, &[], &env);

    // the built-in root, trusted by the server's own verification from the next start on
    let operator = Client::new(first.url("")).with_token(ADMIN);
    assert_eq!(operator.health().unwrap().status, "ok");
    let root_der = operator.root_certificate().unwrap();
    let root_pem = dir.join("root.pem");
    std::fs::write(&root_pem, pem(&root_der)).unwrap();
    std::fs::create_dir_all(data.join("trust")).unwrap();
    std::fs::copy(&root_pem, data.join("trust/signet-root.pem")).unwrap();
    let port = first.port;
    first.stop();
    drop(first);
    let server = SignetServer::start_on(SIGNET, port, &data, &[], &env);
    let base = server.url("");

    // the operator: a tenant and a key for it
    let tenant = operator
        .create_tenant(&TenantRequest { name: Some("acme".into()), max_documents: Some(100), ..Default::default() })
        .unwrap();
    assert_eq!(tenant.limits.max_documents, Some(100));
    assert!(operator.list_tenants().unwrap().iter().any(|t| t.id == tenant.id));
    let key = operator
        .create_tenant_key(&tenant.id, &KeyRequest::new("erp", &[Scope::SignDocument, Scope::SignHash, Scope::Manage]))
        .unwrap();
    assert!(key.token.starts_with("sgk_"), "{}", key.token);
    assert_eq!(key.key.tenant_id.as_deref(), Some(tenant.id.as_str()));
    let acme = operator.with_token_opt(Some(&key.token));
    let me = acme.me().unwrap();
    assert_eq!((me.id.as_str(), me.kind.as_str()), (key.key.id.as_str(), "api_key"));

    // an identity from the built-in CA, a seal image, a template showing it twice
    let identity = acme
        .create_identity(&CreateIdentity::issue(
            "company-seal",
            IssueParams {
                organization: Some("ACME Ltd".into()),
                country: Some("FR".into()),
                ..IssueParams::new("ACME Ltd company seal")
            },
        ))
        .unwrap();
    assert_eq!(identity.certificate_chain.first().and_then(|c| c.first()), Some(&0x30), "DER certificates");
    assert_eq!(acme.show_identity("company-seal").unwrap().id, identity.id);
    let png = seal_png();
    let image = acme.upload_image(&png, ImageFormat::Png).unwrap();
    assert_eq!(image.media_type, "image/png");
    let mut back = Vec::new();
    acme.image_content(&image.id, &mut back).unwrap();
    assert_eq!(back, png);
    let stamp = |page| Placement { image: Some(image.id.clone()), ..Placement::new(page, [400.0, 40.0, 550.0, 120.0]) };
    let template = acme
        .put_template("first-and-last", &[stamp(1), Placement { text: vec!["ACME Ltd".into()], ..stamp(-1) }])
        .unwrap();
    assert_eq!(template.placements.len(), 2);
    assert_eq!(template.placements[1].text, ["ACME Ltd"]);

    // a stored upload (streamed from its file), read back
    let pdf = dir.join("contract.pdf");
    std::fs::write(&pdf, test_pdf(&[TestPage::A4, TestPage::A4])).unwrap();
    let upload = acme.upload_document(&pdf, Some("contract.pdf")).unwrap();
    assert_eq!(upload.page_count, 2);
    assert_eq!(acme.show_document(&upload.id).unwrap().name.as_deref(), Some("contract.pdf"));
    let page = acme.page(&upload.id, 2).unwrap();
    assert_eq!((page.width, page.height, page.page_count), (595.0, 842.0, 2));
    let stored = dir.join("stored.pdf");
    assert_eq!(acme.document_content(&upload.id, &stored).unwrap(), std::fs::metadata(&pdf).unwrap().len());
    assert_eq!(std::fs::read(&stored).unwrap(), std::fs::read(&pdf).unwrap());

    // the agent: the PDF streamed up from its file, the signed PDF streamed into a file
    let signed_path = dir.join("signed.pdf");
    let options = SignOptions {
        template: Some("first-and-last".into()),
        level: Some(signet_client::Level::BT),
        reason: Some("Approved".into()),
        idempotency_key: Some("contract-2026-118".into()),
        ..SignOptions::with_identity("company-seal")
    };
    let signed = acme.sign_document(&pdf, &signed_path, &options).unwrap();
    let signed_bytes = std::fs::read(&signed_path).unwrap();
    assert_eq!(signed.size, signed_bytes.len() as u64);
    assert_eq!(signed.sha256, sha256_hex(&signed_bytes));
    assert!(signed.document_id.starts_with("doc_") && !signed.replayed, "{signed:?}");
    validate_level(&signed_path, &root_pem, 1, None, "hard", "B-T").unwrap_or_else(|t| panic!("agent:\n{t}"));
    // the same Idempotency-Key: the first answer again, neither signed nor counted twice
    let mut replay_bytes = Vec::new();
    let replay = acme.sign_document(&pdf, &mut replay_bytes, &options).unwrap();
    assert!(replay.replayed);
    assert_eq!(
        (replay.document_id.as_str(), replay_bytes.as_slice()),
        (signed.document_id.as_str(), &signed_bytes[..])
    );
    let mut stored_copy = Vec::new();
    acme.document_content(&signed.document_id, &mut stored_copy).unwrap();
    assert_eq!(stored_copy, signed_bytes);

    // from a reader (sent chunked) into memory, and a stored document signed by its id
    let mut file = std::fs::File::open(&pdf).unwrap();
    let mut in_memory = Vec::new();
    let from_reader = acme
        .sign_document(Source::Reader(&mut file), &mut in_memory, &SignOptions::with_identity("company-seal"))
        .unwrap();
    assert_eq!(from_reader.size, in_memory.len() as u64);
    assert!(in_memory.starts_with(b"%PDF"));
    let stored_signed = dir.join("stored-signed.pdf");
    let visible = SignOptions {
        page: Some(2),
        rect: Some([380.0, 40.0, 560.0, 140.0]),
        image: Some(image.id.clone()),
        text: vec!["ACME Ltd.".into(), "Approved".into()],
        ..SignOptions::with_identity("company-seal")
    };
    acme.sign_stored_document(&upload.id, &stored_signed, &visible).unwrap();
    validate_level(&stored_signed, &root_pem, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("stored:\n{t}"));
    assert_eq!(acme.list_versions(&upload.id).unwrap().versions.len(), 2, "the signed output is the next version");

    // verification by the server, which trusts its root now; no key needed
    let report = operator.with_token_opt(None).verify(&signed_path, None).unwrap();
    assert!(report.valid, "{report:#?}");
    assert_eq!(report.signatures.len(), 1);
    let signature = &report.signatures[0];
    assert!(signature.intact && signature.trusted && signature.verdict == Verdict::Valid, "{signature:#?}");
    assert_eq!(signature.level, Some(signet_client::Level::BT));

    // the hash-signing API: a PDF assembled here, only digests sent
    let hashed = dir.join("sign-hash.pdf");
    let remote =
        RemoteCms { client: &acme, identity: "company-seal", estimated: identity.estimated_cms_bytes as usize };
    let services = Services { tsa: None, validation: None, timestamp_digest: signet_crypto::DigestAlgorithm::Sha256 };
    signet_pades::sign_file_at_level(
        &pdf,
        &hashed,
        None,
        &SignatureOptions::default(),
        &remote,
        signet_pades::Level::BB,
        services,
        false,
    )
    .unwrap();
    validate_level(&hashed, &root_pem, 1, None, "hard", "B-B").unwrap_or_else(|t| panic!("sign-hash:\n{t}"));
    let direct = acme.sign_hash(&SignHash::new("company-seal", DigestAlgorithm::Sha256, &[7; 32])).unwrap();
    assert_eq!(direct.level, "B-B");
    assert_eq!(direct.cms.first(), Some(&0x30));

    // usage and signing records: three documents through the agent (the replay not counted)
    assert_eq!(acme.usage().unwrap().current.documents, 3);
    let records = acme.signatures(None, None).unwrap();
    assert!(records.iter().any(|r| r.channel == "sign-hash" && r.id == direct.signature_id), "{records:#?}");

    // an envelope for a person outside, sent, listed, voided
    let fresh = acme.upload_document(&pdf, Some("supply.pdf")).unwrap();
    let envelope = acme
        .create_envelope(&CreateEnvelope {
            send: Some(true),
            expires_in_days: Some(14),
            ..CreateEnvelope::new(
                "Supply contract 2026-118",
                &fresh.id,
                vec![NewParty::external(
                    "Zhang San",
                    "zhang@example.com",
                    vec![NewField::new("signature", 2, [60.0, 80.0, 260.0, 150.0])],
                )],
            )
        })
        .unwrap();
    assert_eq!(envelope.status, "sent");
    assert_eq!(envelope.parties[0].fields.len(), 1);
    let sent = acme.list_envelopes(&EnvelopeQuery { status: Some("sent".into()), ..Default::default() }).unwrap();
    assert!(sent.items.iter().any(|e| e.id == envelope.id && e.parties[0].name == "Zhang San"));
    assert_eq!(acme.envelope_counts().unwrap().get("sent"), Some(&1));
    assert_eq!(acme.show_envelope(&envelope.id).unwrap().title, "Supply contract 2026-118");
    let mut current = Vec::new();
    acme.envelope_document(&envelope.id, &mut current).unwrap();
    assert!(current.starts_with(b"%PDF"));
    let voided = acme.void_envelope(&envelope.id, "replaced by 2026-119").unwrap();
    assert_eq!((voided.status.as_str(), voided.void_reason.as_deref()), ("voided", Some("replaced by 2026-119")));
    let history = acme.envelope_history(&envelope.id).unwrap();
    assert!(history.len() >= 2, "{history:#?}");

    // the signing log: searched, exported, checked
    let entries = acme.search_audit(&AuditFilter::default()).unwrap();
    assert!(!entries.is_empty());
    let action = entries[0].action.clone();
    let same = acme.search_audit(&AuditFilter { action: Some(action.clone()), ..Default::default() }).unwrap();
    assert!(!same.is_empty() && same.iter().all(|e| e.action == action));
    let mut csv = Vec::new();
    acme.export_audit(&AuditFilter::default(), ExportFormat::Csv, &mut csv).unwrap();
    assert!(String::from_utf8_lossy(&csv).lines().count() > entries.len().min(1));
    assert!(acme.verify_audit().unwrap().intact);

    // refusals: the server's status and code
    let (status, code, _) = api_error(acme.show_identity("no-such-identity"));
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let hash_only = operator.create_tenant_key(&tenant.id, &KeyRequest::new("hash-only", &[Scope::SignHash])).unwrap();
    let (status, code, _) = api_error(
        acme.with_token_opt(Some(&hash_only.token)).create_identity(&CreateIdentity::issue("x", IssueParams::new("x"))),
    );
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    let (status, code, _) = api_error(Client::new(&base).with_token("sgk_unknown.0123456789abcdef").me());
    assert_eq!((status, code.as_str()), (401, "unauthenticated"));
    // over quota: 429 with Retry-After
    let small = operator
        .create_tenant(&TenantRequest { name: Some("small".into()), max_documents: Some(1), ..Default::default() })
        .unwrap();
    let small_key =
        operator.create_tenant_key(&small.id, &KeyRequest::new("erp", &[Scope::SignDocument, Scope::Manage])).unwrap();
    let small = operator.with_token_opt(Some(&small_key.token));
    small.create_identity(&CreateIdentity::issue("seal", IssueParams::new("Small Ltd"))).unwrap();
    small.sign_document(&pdf, &mut Vec::new(), &SignOptions::with_identity("seal")).unwrap();
    let (status, code, retry_after) =
        api_error(small.sign_document(&pdf, &mut Vec::new(), &SignOptions::with_identity("seal")));
    assert_eq!((status, code.as_str()), (429, "too_many_requests"));
    assert!(retry_after.is_some_and(|d| d.as_secs() >= 1), "{retry_after:?}");
    // a file sink is complete or absent: a refused signing leaves no file
    let refused = dir.join("refused.pdf");
    assert!(small.sign_document(&pdf, &refused, &SignOptions::with_identity("seal")).is_err());
    assert!(!refused.exists());
    // no answer at all
    drop(server);
    assert!(matches!(Client::new(&base).health(), Err(Error::Transport { .. })));
    assert!(matches!(acme.upload_document(Path::new("/nonexistent.pdf"), None), Err(Error::Io { .. })));
}
