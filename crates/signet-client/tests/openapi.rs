//! The client against the server's OpenAPI document: every operation the client calls is
//! documented (so the client cannot drift from the server), and every documented operation
//! is called by the client or named below as left out on purpose (so it cannot fall
//! behind either).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;

use serde_json::Value;

/// Documented operations the client does not call, and why.
const LEFT_OUT: &[(&str, &str, &str)] = &[
    ("GET", "/api/docs", "an HTML page for people"),
    ("POST", "/ocsp", "RFC 6960: for OCSP clients"),
    ("GET", "/ocsp/{request}", "RFC 6960: for OCSP clients"),
    ("POST", "/tsa", "RFC 3161: for timestamp clients"),
    ("POST", "/api/v1/auth/login", "a browser session (cookie, CSRF token)"),
    ("POST", "/api/v1/auth/logout", "a browser session"),
    ("POST", "/api/v1/auth/mfa", "a browser session"),
    ("POST", "/api/v1/auth/mfa/confirm", "a browser session"),
    ("POST", "/api/v1/auth/mfa/enrol", "a browser session"),
    ("POST", "/api/v1/auth/password", "a browser session"),
    ("GET", "/api/v1/auth/session", "a browser session"),
    ("POST", "/api/v1/auth/sso", "a browser session"),
    ("POST", "/api/v1/signer/code", "the signer page's session"),
    ("POST", "/api/v1/signer/code/resend", "the signer page's session"),
    ("POST", "/api/v1/signer/decline", "the signer page's session"),
    ("GET", "/api/v1/signer/document", "the signer page's session"),
    ("GET", "/api/v1/signer/envelope", "the signer page's session"),
    ("GET", "/api/v1/signer/pages/{n}/image", "the signer page's session"),
    ("POST", "/api/v1/signer/session", "the signer page's session"),
    ("POST", "/api/v1/signer/sign", "the signer page's session"),
    ("POST", "/api/v1/signer/prepare", "the signer page's session"),
    ("POST", "/api/v1/signer/signature", "the signer page's session"),
    ("GET", "/api/v1/signer/own-key", "the signer page's session"),
    ("POST", "/api/v1/signer/embed", "the embedded signing view's own call"),
    ("POST", "/api/v1/embed/prepare", "the embedded preparation view's own call"),
    ("GET", "/api/v1/embed/prepare/pages/{n}", "the embedded preparation view's session"),
    ("GET", "/api/v1/embed/prepare/pages/{n}/image", "the embedded preparation view's session"),
    ("POST", "/api/v1/embed/prepare/send", "the embedded preparation view's session"),
];

fn documented() -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::to_value(signet_server::openapi()).unwrap();
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(ops.len() > 50, "the document lists only {} operations", ops.len());
    ops
}

#[test]
fn every_operation_the_client_calls_is_in_the_openapi_document() {
    let documented = documented();
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    for op in signet_client::operations() {
        assert!(seen.insert((op.method, op.path)), "{} {} is declared twice", op.method, op.path);
        if !documented.contains(&(op.method.to_string(), op.path.to_string())) {
            missing.push(format!("{} {}", op.method, op.path));
        }
    }
    assert!(missing.is_empty(), "the client calls operations the server does not document:\n{}", missing.join("\n"));
}

#[test]
fn every_documented_operation_is_in_the_client_or_left_out_on_purpose() {
    let documented = documented();
    let called: BTreeSet<(String, String)> =
        signet_client::operations().iter().map(|o| (o.method.to_string(), o.path.to_string())).collect();
    let left_out: BTreeSet<(String, String)> =
        LEFT_OUT.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let uncovered: Vec<String> = documented
        .iter()
        .filter(|op| !called.contains(*op) && !left_out.contains(*op))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        uncovered.is_empty(),
        "documented operations the client lacks (add them, or to LEFT_OUT):\n{}",
        uncovered.join("\n")
    );
    let stale: Vec<String> =
        left_out.iter().filter(|op| !documented.contains(*op)).map(|(m, p)| format!("{m} {p}")).collect();
    assert!(stale.is_empty(), "LEFT_OUT names operations the server no longer documents:\n{}", stale.join("\n"));
}

/// The document's component schemas.
fn schemas() -> Value {
    let doc: Value = serde_json::to_value(signet_server::openapi()).unwrap();
    doc["components"]["schemas"].clone()
}

/// `schema` with its `$ref` resolved and `allOf` merged into one object schema.
fn resolve(schemas: &Value, schema: &Value) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return resolve(schemas, &schemas[name]);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut properties = serde_json::Map::new();
        for part in parts {
            let part = resolve(schemas, part);
            if let Some(p) = part["properties"].as_object() {
                properties.extend(p.clone());
            }
        }
        return serde_json::json!({"type": "object", "properties": properties});
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        // a nullable reference: the reference; a tagged union: its first variant
        let chosen = alternatives.iter().find(|a| a["type"] != "null").unwrap_or(&Value::Null);
        return resolve(schemas, chosen);
    }
    schema.clone()
}

/// A JSON value of `schema` with every property present: what the server could answer.
fn sample(schemas: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(schemas, schema);
    assert!(depth < 12, "schema too deep: {schema}");
    if let Some(values) = schema["enum"].as_array() {
        return values[0].clone();
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let ty = types.iter().copied().find(|t| *t != "null").unwrap_or("null");
    match ty {
        "object" => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in props {
                    out.insert(k.clone(), sample(schemas, v, depth + 1));
                }
            }
            if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                out.insert("key".into(), sample(schemas, extra, depth + 1));
            }
            Value::Object(out)
        }
        "array" => Value::Array(vec![sample(schemas, &schema["items"], depth + 1)]),
        "integer" => 1.into(),
        "number" => 1.5.into(),
        "boolean" => true.into(),
        // valid base64 too, for the fields that carry DER
        "string" => "AA==".into(),
        _ => Value::Null,
    }
}

fn decodes<T: serde::de::DeserializeOwned>(schemas: &Value, name: &str) -> Result<(), String> {
    let schema = schemas.get(name).ok_or_else(|| format!("no schema {name}"))?;
    let value = sample(schemas, schema, 0);
    serde_json::from_value::<T>(value.clone()).map(drop).map_err(|e| format!("{name}: {e}\n  {value}"))
}

#[test]
fn every_answer_the_documents_describes_decodes_into_the_clients_type() {
    use signet_client::*;
    let s = schemas();
    let results = [
        decodes::<Tenant>(&s, "Tenant"),
        decodes::<ApiKey>(&s, "ApiKey"),
        decodes::<NewApiKey>(&s, "NewKeyView"),
        decodes::<ClientCertificate>(&s, "ClientCertificateRecord"),
        decodes::<Me>(&s, "MeView"),
        decodes::<UsageReport>(&s, "UsageView"),
        decodes::<SignatureRecord>(&s, "SignatureRecord"),
        decodes::<Identity>(&s, "IdentityView"),
        decodes::<Image>(&s, "ImageRecord"),
        decodes::<Template>(&s, "Template"),
        decodes::<UploadedDocument>(&s, "UploadView"),
        decodes::<DocumentRecord>(&s, "DocumentRecord"),
        decodes::<DocumentList>(&s, "DocumentList"),
        decodes::<DocumentVersion>(&s, "DocumentVersion"),
        decodes::<PageView>(&s, "PageView"),
        decodes::<SignHashResponse>(&s, "SignHashResponse"),
        decodes::<VerifyReport>(&s, "VerifyResponse"),
        decodes::<Seal>(&s, "Seal"),
        decodes::<SealGrant>(&s, "SealGrant"),
        decodes::<SealRequest>(&s, "SealRequest"),
        decodes::<User>(&s, "User"),
        decodes::<DirectoryEntry>(&s, "DirectoryEntry"),
        decodes::<TenantSettings>(&s, "TenantSettings"),
        decodes::<AuditEntry>(&s, "AuditEntry"),
        decodes::<AuditAnchor>(&s, "AuditAnchor"),
        decodes::<AuditVerification>(&s, "VerifyReport"),
        decodes::<Webhook>(&s, "Webhook"),
        decodes::<NewWebhook>(&s, "WebhookWithSecret"),
        decodes::<WebhookDelivery>(&s, "WebhookDelivery"),
        decodes::<DeliveryPage>(&s, "DeliveryPage"),
        decodes::<Envelope>(&s, "Envelope"),
        decodes::<Preparation>(&s, "Preparation"),
        decodes::<EnvelopeList>(&s, "EnvelopeList"),
        decodes::<HistoryEntry>(&s, "HistoryEntry"),
        decodes::<Health>(&s, "Health"),
    ];
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "answers that do not decode:\n{}", failures.join("\n"));
}

/// Every key of `value` is a property of `schema`, recursively.
fn unknown_keys(schemas: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(schemas, schema);
    match value {
        Value::Object(map) => {
            let props = schema["properties"].as_object();
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map {
                match (props.and_then(|p| p.get(k)), extra) {
                    (Some(s), _) | (None, Some(s)) => unknown_keys(schemas, s, v, &format!("{at}.{k}"), out),
                    (None, None) => out.push(format!("{at}.{k}")),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                unknown_keys(schemas, &schema["items"], v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn sends<T: serde::Serialize>(schemas: &Value, name: &str, value: &T, out: &mut Vec<String>) {
    let json = serde_json::to_value(value).unwrap();
    assert!(json.as_object().is_some_and(|m| !m.is_empty()), "{name}: fill every field of the sample");
    unknown_keys(schemas, &schemas[name], &json, name, out);
}

#[test]
fn every_request_body_the_client_sends_has_only_documented_fields() {
    use signet_client::*;
    let s = schemas();
    let some = || Some("x".to_string());
    let mut out = Vec::new();
    sends(
        &s,
        "TenantRequest",
        &TenantRequest {
            name: some(),
            status: some(),
            max_calls: Some(1),
            max_documents: Some(1),
            quota_period: some(),
            rate_per_second: Some(1),
        },
        &mut out,
    );
    sends(&s, "KeyRequest", &KeyRequest::new("x", &[Scope::Manage]), &mut out);
    let issue = IssueParams {
        organization: some(),
        organizational_unit: some(),
        organization_identifier: some(),
        country: some(),
        email: some(),
        profile: some(),
        key: some(),
        validity_days: Some(1),
        ..IssueParams::new("x")
    };
    sends(
        &s,
        "CreateIdentity",
        &CreateIdentity {
            issue: Some(issue),
            pkcs12: Some(Pkcs12Params { data: vec![1], password: "x".into() }),
            pkcs11: Some(Pkcs11Params {
                token: "x".into(),
                key_label: some(),
                key_id: some(),
                certificate_chain: Some(vec![vec![1]]),
                public_key: Some(vec![1]),
            }),
            ..CreateIdentity::default()
        },
        &mut out,
    );
    #[derive(serde::Serialize)]
    struct TemplateRequest {
        placements: Vec<Placement>,
    }
    let placement = Placement { image: some(), text: vec!["x".into()], ..Placement::new(1, [0.0; 4]) };
    sends(&s, "TemplateRequest", &TemplateRequest { placements: vec![placement] }, &mut out);
    sends(
        &s,
        "SignHashRequest",
        &SignHash {
            seal: some(),
            seal_request: some(),
            level: Some(Level::BT),
            ..SignHash::new("x", DigestAlgorithm::Sha256, &[0; 32])
        },
        &mut out,
    );
    sends(
        &s,
        "CreateSeal",
        &CreateSeal {
            generate: Some(GenerateSpec {
                horizontal: some(),
                bottom_code: some(),
                star: Some(true),
                size: Some(1),
                ..GenerateSpec::new("round", "x")
            }),
            image_id: some(),
            owner_user_id: some(),
            certificate: SealCertificate {
                identity: some(),
                organization: some(),
                organization_identifier: some(),
                country: some(),
                key: some(),
                validity_days: Some(1),
            },
            ..CreateSeal::new("x", "company")
        },
        &mut out,
    );
    sends(&s, "RevokeSeal", &RevokeSeal { reason: some(), note: some() }, &mut out);
    sends(
        &s,
        "CreateGrant",
        &CreateGrant {
            user_id: some(),
            role: Some(Role::SealUser),
            max_uses: Some(1),
            not_before: Some(1),
            not_after: Some(1),
            requires_approval: true,
            ..CreateGrant::api_key("x")
        },
        &mut out,
    );
    sends(
        &s,
        "CreateUser",
        &CreateUser { display_name: some(), email: some(), password: some(), ..CreateUser::new("x", &[Role::Auditor]) },
        &mut out,
    );
    sends(
        &s,
        "UpdateUser",
        &UpdateUser {
            display_name: some(),
            email: some(),
            roles: Some(vec![Role::Signer]),
            status: some(),
            external_subject: some(),
        },
        &mut out,
    );
    let sso = SsoSettings {
        issuer: "x".into(),
        audiences: vec!["x".into()],
        jwks_url: "x".into(),
        roles_claim: some(),
        role_map: [("x".to_string(), Role::SealAdmin)].into(),
        username_claim: some(),
        create_users: true,
        default_roles: vec![Role::Signer],
    };
    sends(
        &s,
        "TenantSettings",
        &TenantSettings { mfa_required_roles: vec![Role::SealAdmin], sso: Some(sso) },
        &mut out,
    );
    sends(
        &s,
        "CreateWebhook",
        &CreateWebhook { url: "x".into(), events: vec!["*".into()], description: some() },
        &mut out,
    );
    sends(
        &s,
        "UpdateWebhook",
        &UpdateWebhook { url: some(), events: Some(vec!["*".into()]), active: Some(true), description: some() },
        &mut out,
    );
    let party = NewParty {
        seal_id: some(),
        role: some(),
        order: Some(1),
        email: some(),
        name: some(),
        ..NewParty::internal("x", vec![NewField { label: some(), ..NewField::new("seal", 1, [0.0; 4]) }])
    };
    sends(
        &s,
        "CreateEnvelope",
        &CreateEnvelope {
            message: some(),
            certify: Some(true),
            send: Some(true),
            expires_at: Some(1),
            expires_in_days: Some(1),
            reminder_interval_hours: Some(1),
            ..CreateEnvelope::new("x", "x", vec![party])
        },
        &mut out,
    );
    sends(
        &s,
        "SignRequest",
        &PartySigning {
            document_id: some(),
            signature: Some(SignatureImage { kind: "drawn".into(), image: "x".into() }),
            values: [("x".to_string(), "x".to_string())].into(),
            seal_request: some(),
        },
        &mut out,
    );
    assert!(out.is_empty(), "the client sends fields the server does not document:\n{}", out.join("\n"));
}

/// One request as a server received it.
struct Received {
    method: String,
    path: String,
    query: Vec<String>,
    headers: Vec<String>,
}

/// A stand-in server on 127.0.0.1 that records each request and answers `200 {}` (with the
/// agent's headers), closing the connection.
fn recorder() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Received>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let target = parts.next().unwrap_or("").to_string();
            let (mut headers, mut length, mut chunked) = (Vec::new(), 0usize, false);
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end().to_string();
                if h.is_empty() {
                    break;
                }
                let name = h.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
                let value = h.split_once(':').map(|(_, v)| v.trim().to_string()).unwrap_or_default();
                if name == "content-length" {
                    length = value.parse().unwrap();
                }
                if name == "transfer-encoding" && value == "chunked" {
                    chunked = true;
                }
                headers.push(name);
            }
            if chunked {
                loop {
                    let mut size = String::new();
                    reader.read_line(&mut size).unwrap();
                    let n = usize::from_str_radix(size.trim(), 16).unwrap();
                    let mut chunk = vec![0; n + 2];
                    reader.read_exact(&mut chunk).unwrap();
                    if n == 0 {
                        break;
                    }
                }
            } else {
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
            }
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let query = query.split('&').filter(|p| !p.is_empty()).map(|p| p.split('=').next().unwrap().to_string());
            log.lock().unwrap().push(Received { method, path: path.to_string(), query: query.collect(), headers });
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Signet-Document-Id: doc_t\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    (base, seen)
}

/// The documented operation a request path matches: (method, template, its parameters
/// other than the path's own).
fn operation_of<'d>(doc: &'d Value, method: &str, path: &str) -> Option<(String, &'d Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    for (template, item) in doc["paths"].as_object().unwrap() {
        let t: Vec<&str> = template.split('/').collect();
        let matches = t.len() == segments.len()
            && t.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && t.ends_with('}')) || t == s);
        if matches && let Some(op) = item.get(method.to_ascii_lowercase()) {
            return Some((template.clone(), op));
        }
    }
    None
}

/// The names of an operation's parameters that are not its path's own `{…}`: its query
/// string and headers (by name, whatever `in` says).
fn parameter_names(template: &str, op: &Value) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["name"].as_str())
                .filter(|n| !template.contains(&format!("{{{n}}}")))
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_query_parameter_and_header_the_client_sends_is_documented() {
    use signet_client::*;
    let (base, seen) = recorder();
    let c = Client::new(&base).with_token("sgk_test.secret");
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, b"%PDF-1.7\n").unwrap();
    let out = dir.path().join("out.pdf");
    let every_option = SignOptions {
        identity: Some("i".into()),
        seal: Some("s".into()),
        seal_request: Some("r".into()),
        template: Some("t".into()),
        image: Some("img".into()),
        page: Some(1),
        rect: Some([1.0, 2.0, 3.0, 4.0]),
        text: vec!["a".into(), "b".into()],
        reason: Some("r".into()),
        location: Some("l".into()),
        contact: Some("c".into()),
        level: Some(Level::BLta),
        certify: Some(Certification::FormFilling),
        field: Some("f".into()),
        digest_algorithm: Some(DigestAlgorithm::Sha384),
        name: Some("n".into()),
        idempotency_key: Some("k".into()),
    };
    let filter = AuditFilter {
        actor: Some("a".into()),
        action: Some("b".into()),
        target: Some("c".into()),
        outcome: Some("ok".into()),
        from: Some(1),
        until: Some(2),
        after_seq: Some(3),
        limit: Some(4),
    };
    // the answers (`{}`) do not decode into most types: only the requests matter here
    let _ = c.upload_document(&pdf, Some("a.pdf"));
    let _ = c.list_documents(Some("doc_x"), Some(5));
    let _ = c.page_image("doc_x", 1, Some(72.0), &mut Vec::new());
    let _ = c.add_version("doc_x", "\"doc_x\"", &pdf);
    let _ = c.sign_document(&pdf, &out, &every_option);
    let _ = c.sign_document(Source::Reader(&mut &b"%PDF-1.7\n"[..]), &mut Vec::new(), &every_option);
    let _ = c.sign_stored_document("doc_x", &mut Vec::new(), &every_option);
    let batch_options = SignOptions { name: None, seal: None, ..every_option.clone() };
    let _ = c.create_batch(&[&pdf, &pdf], &batch_options);
    let _ = c.create_batch_zip(&b"PK"[..], &batch_options);
    let _ = c.show_batch("bat_x", Some(1), Some(0));
    let _ = c.verify(&pdf, Some("password"));
    let _ = c.signatures(Some(1), Some(2));
    let _ = c.list_seal_requests(Some("pending"));
    let _ = c.search_audit(&filter);
    let _ = c.export_audit(
        &AuditFilter { after_seq: None, limit: None, ..filter.clone() },
        ExportFormat::Csv,
        &mut Vec::new(),
    );
    let _ = c.list_deliveries("whk_x", Some("dlv_x"), Some(5));
    let _ = c.list_events(3, Some(5), Some("document.signed,seal.*"));
    let _ = c.rotate_webhook_secret("whk_x", Some(60));
    let _ = c.list_envelopes(&EnvelopeQuery {
        status: Some("sent".into()),
        q: Some("x".into()),
        before: Some("env_x".into()),
        limit: Some(5),
    });

    let doc: Value = serde_json::to_value(signet_server::openapi()).unwrap();
    let (_, sign) = operation_of(&doc, "POST", "/api/v1/documents/sign").unwrap();
    let sign_names = parameter_names("/api/v1/documents/sign", sign);
    let received = seen.lock().unwrap();
    let paths: Vec<String> = received.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(received.len(), 19, "every call reached the recorder: {paths:#?}");
    let mut problems = Vec::new();
    for r in received.iter() {
        let Some((template, op)) = operation_of(&doc, &r.method, &r.path) else {
            problems.push(format!("{} {}: not documented", r.method, r.path));
            continue;
        };
        // a batch takes the agent's options in its query string (the document says so in
        // words only) and, as the agent, an Idempotency-Key
        let names = if template == "/api/v1/batches" { sign_names.clone() } else { parameter_names(&template, op) };
        for q in &r.query {
            if !names.contains(q) {
                problems.push(format!("{} {template}: query parameter {q} is not documented", r.method));
            }
        }
        for h in &r.headers {
            let standard = [
                "host",
                "user-agent",
                "accept",
                "accept-encoding",
                "authorization",
                "content-type",
                "content-length",
                "transfer-encoding",
            ];
            if !standard.contains(&h.as_str()) && !names.contains(h) {
                problems.push(format!("{} {template}: header {h} is not documented", r.method));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
