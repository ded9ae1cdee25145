//! The permission matrix: every management and signing endpoint × every role (as a login
//! session and as a single sign-on token) and every API key scope × its own tenant and another
//! tenant, on SQLite and PostgreSQL. Allowed exactly where the table below says; refused
//! (401/403, or 404 for another tenant's things) everywhere else. The matrix is printed.
//!
//! Envelopes too: a party's own actions (`/envelopes/{id}/parties/{party}/sign`, `…/decline`)
//! are its user's alone, whatever their role (403 for keys and everybody else); the signer API
//! (`/api/v1/signer/*`) answers only the cookie of a signing link (the `signer-link` column),
//! which in turn opens nothing else (401 both ways). Public routes (login, verification, and
//! `POST /api/v1/signer/session`, whose credential is the link's token) are not in the matrix;
//! every other operation of the OpenAPI document is (`the_matrix_has_every_operation`).
//!
//! The expectations are written out here, independently of the server's own table, so that a
//! change to who may do what has to change both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use signet_server::{AppState, ServerConfig, app};
use signet_store::{NewUser, Role, Scope, TenantLimits};
use signet_testkit::TestDatabase;
use tower::ServiceExt;

#[derive(Clone, Debug)]
enum Auth {
    Bearer(String),
    Session { cookie: String, csrf: String },
}

async fn call(
    state: &AppState,
    auth: Option<&Auth>,
    method: &Method,
    uri: &str,
    body: &Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method.clone()).uri(uri);
    match auth {
        None => {}
        Some(Auth::Bearer(t)) => req = req.header(header::AUTHORIZATION, format!("Bearer {t}")),
        Some(Auth::Session { cookie, csrf }) => {
            req = req.header(header::COOKIE, cookie.as_str()).header("x-csrf-token", csrf.as_str())
        }
    }
    let body = match body {
        Some(j) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(j.to_string())
        }
        None => Body::empty(),
    };
    let res = app(state.clone()).oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Who may call an endpoint: API key scopes and roles.
struct Rule {
    scopes: &'static [&'static str],
    roles: &'static [&'static str],
}

const ALL_ROLES: &[&str] = &["tenant_admin", "seal_admin", "seal_user", "auditor", "signer"];
const ALL_SCOPES: &[&str] = &["sign-hash", "sign-document", "manage"];
const MANAGE_KEYS: Rule = Rule { scopes: &["manage"], roles: &["tenant_admin"] };
const SEAL_ADMIN: Rule = Rule { scopes: &["manage"], roles: &["seal_admin"] };
const ASSETS: Rule = Rule { scopes: &["manage"], roles: &["seal_admin", "tenant_admin"] };
const READ_ANY: Rule = Rule { scopes: ALL_SCOPES, roles: ALL_ROLES };
const READ_DOCS: Rule = Rule { scopes: &["sign-document", "manage"], roles: ALL_ROLES };
const SIGN_DOC: Rule = Rule { scopes: &["sign-document"], roles: &["signer", "seal_user"] };
const AUDIT: Rule = Rule { scopes: &["manage"], roles: &["auditor", "tenant_admin"] };

/// Who may call an endpoint when that is not a matter of scopes and roles alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// As its [`Rule`] says.
    Rule,
    /// Every user (any role) on their own party: [`OWN`] in the path stands for the caller's
    /// party.
    OwnParty,
    /// Only this principal (a party's user).
    Principal(&'static str),
    /// Only the cookie of a signing link.
    SignerLink,
}

/// In a path: the calling principal's own party of the envelope (keys and the like, having
/// none, name another's).
const OWN: &str = "{own}";
/// The principal holding a signing link's cookie.
const SIGNER_LINK: &str = "signer-link";
/// The user whose party the `{party}` rows name: an auditor, who may do nothing else with
/// envelopes, so that only being the party can let them act.
const PARTY_USER: &str = "session:auditor";
const NOBODY: Rule = Rule { scopes: &[], roles: &[] };
const SEND_ENVELOPES: Rule =
    Rule { scopes: &["sign-document"], roles: &["signer", "seal_user", "seal_admin", "tenant_admin"] };
const READ_ENVELOPES: Rule = Rule { scopes: &["sign-document", "manage"], roles: ALL_ROLES };
/// Sending, voiding and reminding an envelope: its sender (the matrix's envelope is made by the
/// one sign-document key) or a tenant administrator, of those who may send envelopes.
const SENDER: Rule = Rule { scopes: &["sign-document"], roles: &["tenant_admin"] };

/// An endpoint, how to call it (bodies chosen to pass the permission check and then stop
/// without effect where possible), and who may.
struct Endpoint {
    method: Method,
    path: String,
    body: Option<Value>,
    rule: Rule,
    /// Whether it names a thing of the tenant (another tenant then gets 404).
    owned: bool,
    /// Who may, beyond scopes and roles.
    who: Who,
    /// The status of every refusal (of keys and people), when the endpoint says which.
    refusal: Option<StatusCode>,
}

impl Endpoint {
    fn allows(&self, p: &Principal) -> bool {
        match self.who {
            Who::Rule => p.allowed(&self.rule),
            Who::OwnParty => p.is_user(),
            Who::Principal(label) => p.label == label,
            Who::SignerLink => p.label == SIGNER_LINK,
        }
    }

    /// The path as `label` calls it.
    fn path_for(&self, label: &str, ids: &Ids) -> String {
        self.path.replace(OWN, ids.parties.get(label).unwrap_or(&ids.party))
    }
}

fn endpoints(ids: &Ids) -> Vec<Endpoint> {
    let e = |method: Method, path: String, body: Option<Value>, rule: Rule, owned: bool| Endpoint {
        method,
        path,
        body,
        rule,
        owned,
        who: Who::Rule,
        refusal: None,
    };
    // a party's own user, 403 for everybody else
    let party = |path: String, body: Value, who: Who| Endpoint {
        who,
        refusal: Some(StatusCode::FORBIDDEN),
        ..e(Method::POST, path, Some(body), NOBODY, true)
    };
    // the signing link's cookie, 401 for everybody else
    let signer = |method: Method, path: &str, body: Option<Value>| Endpoint {
        who: Who::SignerLink,
        refusal: Some(StatusCode::UNAUTHORIZED),
        ..e(method, path.into(), body, NOBODY, false)
    };
    let d = &ids.document;
    let s = &ids.seal;
    let u = &ids.user;
    let r = &ids.request;
    let (img, g, w, t) = (&ids.image, &ids.grant, &ids.webhook, &ids.tenant);
    // a voided envelope: sending, voiding, reminding, signing and declining it stop at 409;
    // env_none: past the permission check, 404
    let (v, pty) = (&ids.envelope, &ids.party);
    const OPERATOR: Rule = Rule { scopes: &["admin"], roles: &[] };
    const ANYONE: Rule = Rule { scopes: &["sign-hash", "sign-document", "manage", "admin"], roles: ALL_ROLES };
    vec![
        e(Method::GET, "/api/v1/me".into(), None, ANYONE, false),
        e(Method::GET, format!("/api/v1/users/{u}"), None, MANAGE_KEYS, true),
        e(Method::POST, format!("/api/v1/users/{u}/password"), Some(json!({"password": "short"})), MANAGE_KEYS, true),
        e(Method::DELETE, format!("/api/v1/users/{u}/mfa"), None, MANAGE_KEYS, true),
        e(Method::POST, format!("/api/v1/users/{u}/unlock"), None, MANAGE_KEYS, true),
        e(Method::POST, "/api/v1/seals/preview".into(), Some(json!({"shape": "nope", "text": "x"})), SEAL_ADMIN, false),
        e(Method::POST, "/api/v1/seals/images".into(), None, SEAL_ADMIN, false),
        e(Method::GET, format!("/api/v1/seals/{s}/image"), None, READ_ANY, true),
        e(Method::GET, format!("/api/v1/seals/{s}/grants"), None, READ_ANY, true),
        e(Method::DELETE, format!("/api/v1/seals/{s}/grants/{g}"), None, SEAL_ADMIN, true),
        e(
            Method::POST,
            format!("/api/v1/seal-requests/{r}/approve"),
            Some(json!({})),
            Rule { scopes: &[], roles: &["seal_admin"] },
            true,
        ),
        e(Method::GET, "/api/v1/audit/verify".into(), None, AUDIT, false),
        e(Method::POST, "/api/v1/audit/anchor".into(), None, MANAGE_KEYS, false),
        e(Method::GET, format!("/api/v1/webhooks/{w}"), None, MANAGE_KEYS, true),
        e(Method::PATCH, format!("/api/v1/webhooks/{w}"), Some(json!({"url": "ftp://example"})), MANAGE_KEYS, true),
        e(Method::POST, format!("/api/v1/webhooks/{w}/rotate-secret"), None, MANAGE_KEYS, true),
        e(Method::GET, format!("/api/v1/webhooks/{w}/deliveries"), None, MANAGE_KEYS, true),
        e(Method::POST, format!("/api/v1/webhooks/{w}/ping"), None, MANAGE_KEYS, true),
        e(Method::POST, "/api/v1/webhooks/deliveries/dlv_none/redeliver".into(), None, MANAGE_KEYS, false),
        e(Method::DELETE, format!("/api/v1/webhooks/{w}"), None, MANAGE_KEYS, true),
        e(Method::GET, format!("/api/v1/documents/{d}/versions"), None, READ_DOCS, true),
        e(Method::POST, format!("/api/v1/documents/{d}/versions"), None, SIGN_DOC, true),
        e(Method::GET, format!("/api/v1/documents/{d}/pages/1"), None, READ_DOCS, true),
        e(Method::GET, format!("/api/v1/documents/{d}/pages/1/image"), None, READ_DOCS, true),
        e(Method::GET, "/api/v1/images".into(), None, READ_ANY, false),
        e(Method::GET, format!("/api/v1/images/{img}"), None, READ_ANY, true),
        e(Method::GET, "/api/v1/templates/t1".into(), None, READ_DOCS, false),
        e(Method::DELETE, "/api/v1/templates/t1".into(), None, ASSETS, false),
        e(Method::GET, "/api/v1/identities/nope".into(), None, READ_ANY, false),
        e(Method::POST, "/api/v1/batches".into(), None, SIGN_DOC, false),
        e(Method::GET, "/api/v1/batches/bat_none".into(), None, SIGN_DOC, false),
        e(Method::GET, "/api/v1/batches/bat_none/results.zip".into(), None, SIGN_DOC, false),
        e(
            Method::DELETE,
            "/api/v1/keys/key_none".into(),
            None,
            Rule { scopes: &["manage", "admin"], roles: &["tenant_admin"] },
            false,
        ),
        // client certificates: an API client's (as keys: the operator for any tenant) and a
        // user's second factor (as the user's other credentials)
        e(
            Method::POST,
            "/api/v1/client-certificates".into(),
            Some(json!({"certificate": "nope", "name": "erp", "scopes": ["sign-hash"]})),
            Rule { scopes: &["manage", "admin"], roles: &["tenant_admin"] },
            false,
        ),
        e(
            Method::GET,
            "/api/v1/client-certificates".into(),
            None,
            Rule { scopes: &["manage", "admin"], roles: &["tenant_admin"] },
            false,
        ),
        e(
            Method::DELETE,
            "/api/v1/client-certificates/ccert_none".into(),
            None,
            Rule { scopes: &["manage", "admin"], roles: &["tenant_admin"] },
            false,
        ),
        e(
            Method::POST,
            format!("/api/v1/users/{u}/client-certificates"),
            Some(json!({"certificate": "nope"})),
            MANAGE_KEYS,
            true,
        ),
        e(Method::GET, format!("/api/v1/users/{u}/client-certificates"), None, MANAGE_KEYS, true),
        e(Method::DELETE, format!("/api/v1/users/{u}/client-certificates/ccert_none"), None, MANAGE_KEYS, true),
        e(Method::GET, "/api/v1/tenants".into(), None, OPERATOR, false),
        e(Method::GET, format!("/api/v1/tenants/{t}"), None, OPERATOR, false),
        e(Method::PATCH, format!("/api/v1/tenants/{t}"), Some(json!({"status": "nope"})), OPERATOR, false),
        e(Method::GET, format!("/api/v1/tenants/{t}/keys"), None, OPERATOR, false),
        e(Method::POST, format!("/api/v1/tenants/{t}/keys"), Some(json!({"name": "k", "scopes": []})), OPERATOR, false),
        e(Method::GET, format!("/api/v1/tenants/{t}/usage"), None, OPERATOR, false),
        e(
            Method::POST,
            "/api/v1/sign-hash".into(),
            Some(json!({"identity": "x", "digest_algorithm": "sha256", "digest": "AAAA"})),
            Rule { scopes: &["sign-hash"], roles: &[] },
            false,
        ),
        e(Method::POST, "/api/v1/documents/sign?identity=x".into(), None, SIGN_DOC, false),
        e(Method::POST, "/api/v1/documents".into(), None, SIGN_DOC, false),
        e(Method::GET, "/api/v1/documents".into(), None, READ_DOCS, false),
        e(Method::GET, format!("/api/v1/documents/{d}"), None, READ_DOCS, true),
        e(Method::GET, format!("/api/v1/documents/{d}/content"), None, READ_DOCS, true),
        e(Method::GET, "/api/v1/identities".into(), None, READ_ANY, false),
        e(Method::POST, "/api/v1/identities".into(), Some(json!({"name": "bad name!"})), SEAL_ADMIN, false),
        e(Method::POST, "/api/v1/images".into(), None, ASSETS, false),
        e(Method::GET, "/api/v1/templates".into(), None, READ_DOCS, false),
        e(
            Method::PUT,
            "/api/v1/templates/t1".into(),
            Some(json!({"placements": [{"page": 0, "rect": [0, 0, 1, 1]}]})),
            ASSETS,
            false,
        ),
        e(Method::POST, "/api/v1/seals".into(), Some(json!({"name": "x", "kind": "nope"})), SEAL_ADMIN, false),
        e(Method::GET, "/api/v1/seals".into(), None, READ_ANY, false),
        e(Method::GET, format!("/api/v1/seals/{s}"), None, READ_ANY, true),
        e(Method::PATCH, format!("/api/v1/seals/{s}"), Some(json!({"status": "nope"})), SEAL_ADMIN, true),
        e(Method::POST, format!("/api/v1/seals/{s}/grants"), Some(json!({})), SEAL_ADMIN, true),
        e(Method::POST, format!("/api/v1/seals/{s}/revoke"), Some(json!({"reason": "nope"})), SEAL_ADMIN, true),
        e(
            Method::POST,
            format!("/api/v1/seals/{s}/requests"),
            Some(json!({"reason": ""})),
            Rule { scopes: &["sign-hash", "sign-document"], roles: &["signer", "seal_user"] },
            true,
        ),
        e(
            Method::GET,
            "/api/v1/seal-requests".into(),
            None,
            Rule { scopes: &["sign-hash", "sign-document"], roles: &["signer", "seal_user", "seal_admin"] },
            false,
        ),
        e(
            Method::POST,
            format!("/api/v1/seal-requests/{r}/reject"),
            Some(json!({"note": "matrix"})),
            Rule { scopes: &[], roles: &["seal_admin"] },
            true,
        ),
        e(Method::GET, "/api/v1/users".into(), None, MANAGE_KEYS, false),
        // names for choosing an envelope's internal parties
        e(Method::GET, "/api/v1/users/directory".into(), None, SEND_ENVELOPES, false),
        e(Method::POST, "/api/v1/users".into(), Some(json!({"username": "bad name!"})), MANAGE_KEYS, false),
        e(Method::PATCH, format!("/api/v1/users/{u}"), Some(json!({"status": "nope"})), MANAGE_KEYS, true),
        e(Method::GET, "/api/v1/settings".into(), None, MANAGE_KEYS, false),
        e(
            Method::PUT,
            "/api/v1/settings".into(),
            Some(json!({"sso": {"issuer": "", "audiences": [], "jwks_url": ""}})),
            MANAGE_KEYS,
            false,
        ),
        e(Method::GET, "/api/v1/keys".into(), None, MANAGE_KEYS, false),
        e(Method::POST, "/api/v1/keys".into(), Some(json!({"name": "k", "scopes": []})), MANAGE_KEYS, false),
        e(Method::GET, "/api/v1/webhooks".into(), None, MANAGE_KEYS, false),
        // the events feed: who reads documents reads what happened to them
        e(Method::GET, "/api/v1/events?after=0".into(), None, READ_DOCS, false),
        e(
            Method::POST,
            "/api/v1/webhooks".into(),
            Some(json!({"url": "ftp://example", "events": ["*"]})),
            MANAGE_KEYS,
            false,
        ),
        e(Method::GET, "/api/v1/audit".into(), None, AUDIT, false),
        e(Method::GET, "/api/v1/audit/export?format=nope".into(), None, AUDIT, false),
        e(Method::GET, "/api/v1/usage".into(), None, AUDIT, false),
        e(Method::GET, "/api/v1/signatures".into(), None, AUDIT, false),
        e(Method::POST, "/api/v1/tenants".into(), Some(json!({})), Rule { scopes: &["admin"], roles: &[] }, false),
        e(
            Method::POST,
            "/api/v1/envelopes".into(),
            Some(json!({"title": "", "document_id": "doc_none", "parties": []})),
            SEND_ENVELOPES,
            false,
        ),
        e(Method::GET, "/api/v1/envelopes".into(), None, READ_ENVELOPES, false),
        e(Method::GET, "/api/v1/envelopes/counts".into(), None, READ_ENVELOPES, false),
        e(Method::GET, format!("/api/v1/envelopes/{v}"), None, READ_ENVELOPES, true),
        e(Method::GET, format!("/api/v1/envelopes/{v}/history"), None, READ_ENVELOPES, true),
        e(Method::GET, format!("/api/v1/envelopes/{v}/document"), None, READ_ENVELOPES, true),
        // 404 for those allowed too: a voided envelope has no completion certificate
        e(Method::GET, format!("/api/v1/envelopes/{v}/certificate"), None, READ_ENVELOPES, true),
        e(Method::POST, "/api/v1/envelopes/env_none/send".into(), None, SEND_ENVELOPES, false),
        e(
            Method::POST,
            "/api/v1/envelopes/env_none/void".into(),
            Some(json!({"reason": "the matrix"})),
            SEND_ENVELOPES,
            false,
        ),
        e(Method::POST, "/api/v1/envelopes/env_none/remind".into(), None, SEND_ENVELOPES, false),
        e(Method::POST, format!("/api/v1/envelopes/{v}/send"), None, SENDER, true),
        e(Method::POST, format!("/api/v1/envelopes/{v}/void"), Some(json!({"reason": "the matrix"})), SENDER, true),
        e(Method::POST, format!("/api/v1/envelopes/{v}/remind"), None, SENDER, true),
        e(
            Method::POST,
            format!("/api/v1/envelopes/{v}/embed"),
            Some(json!({"parent_origin": "https://not-allowed.example"})),
            SENDER,
            true,
        ),
        e(
            Method::POST,
            format!("/api/v1/envelopes/{v}/parties/{pty}/embed"),
            Some(json!({"parent_origin": "https://not-allowed.example"})),
            SENDER,
            true,
        ),
        party(format!("/api/v1/envelopes/{v}/parties/{OWN}/sign"), json!({}), Who::OwnParty),
        party(format!("/api/v1/envelopes/{v}/parties/{OWN}/decline"), json!({"reason": "the matrix"}), Who::OwnParty),
        party(format!("/api/v1/envelopes/{v}/parties/{pty}/sign"), json!({}), Who::Principal(PARTY_USER)),
        party(
            format!("/api/v1/envelopes/{v}/parties/{pty}/decline"),
            json!({"reason": "the matrix"}),
            Who::Principal(PARTY_USER),
        ),
        // deferred signing with a party's own key: its user (or, for an own-key party, which
        // none of the matrix's is, the envelope's sender)
        party(format!("/api/v1/envelopes/{v}/parties/{OWN}/prepare"), json!({}), Who::OwnParty),
        party(format!("/api/v1/envelopes/{v}/parties/{pty}/prepare"), json!({}), Who::Principal(PARTY_USER)),
        party(
            format!("/api/v1/envelopes/{v}/parties/{pty}/signature"),
            json!({"preparation_id": "prp_none", "signature": "AAAA"}),
            Who::Principal(PARTY_USER),
        ),
        Endpoint {
            method: Method::GET,
            body: None,
            ..party(
                format!("/api/v1/envelopes/{v}/parties/{pty}/preparations/prp_none"),
                json!({}),
                Who::Principal(PARTY_USER),
            )
        },
        signer(Method::POST, "/api/v1/signer/code", Some(json!({"code": "000000"}))),
        signer(Method::POST, "/api/v1/signer/code/resend", None),
        signer(Method::GET, "/api/v1/signer/envelope", None),
        signer(Method::GET, "/api/v1/signer/pages/1/image", None),
        signer(Method::GET, "/api/v1/signer/document", None),
        signer(Method::POST, "/api/v1/signer/sign", Some(json!({}))),
        signer(Method::POST, "/api/v1/signer/decline", Some(json!({"reason": "the matrix"}))),
        signer(Method::POST, "/api/v1/signer/prepare", Some(json!({}))),
        signer(
            Method::POST,
            "/api/v1/signer/signature",
            Some(json!({"preparation_id": "prp_none", "signature": "AAAA"})),
        ),
        signer(Method::GET, "/api/v1/signer/own-key", None),
    ]
}

/// Things of the first tenant the endpoints name.
struct Ids {
    document: String,
    seal: String,
    user: String,
    request: String,
    image: String,
    grant: String,
    webhook: String,
    tenant: String,
    /// A voided envelope with a party for every user and one external party.
    envelope: String,
    /// Each user principal's party of it, by label.
    parties: BTreeMap<String, String>,
    /// [`PARTY_USER`]'s party.
    party: String,
}

/// A principal: its label, how it authenticates, and its scopes or roles.
struct Principal {
    label: String,
    auth: Auth,
    scopes: Vec<&'static str>,
    roles: Vec<&'static str>,
    key: bool,
}

impl Principal {
    /// A person (a login session or a single sign-on token).
    fn is_user(&self) -> bool {
        !self.key && !self.roles.is_empty()
    }

    fn allowed(&self, rule: &Rule) -> bool {
        if self.key {
            rule.scopes.iter().any(|s| self.scopes.contains(s))
        } else {
            rule.roles.iter().any(|r| self.roles.contains(r))
        }
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

struct Idp {
    url: String,
    key: aws_lc_rs::signature::EcdsaKeyPair,
    task: tokio::task::JoinHandle<()>,
}

impl Idp {
    async fn start() -> Idp {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let p = key.public_key().as_ref().to_vec();
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "m", "alg": "ES256",
            "x": B64URL.encode(&p[1..33]), "y": B64URL.encode(&p[33..65])}]})
        .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let router = axum::Router::new().route("/jwks", axum::routing::get(move || async move { jwks.clone() }));
        let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Idp { url, key, task }
    }

    fn token(&self, issuer: &str, sub: &str, role: &str) -> String {
        let h = B64URL.encode(json!({"alg": "ES256", "kid": "m"}).to_string());
        let c = B64URL.encode(
            json!({"iss": issuer, "aud": "signet", "sub": sub, "preferred_username": sub, "groups": [role],
                "iat": now(), "exp": now() + 600})
            .to_string(),
        );
        let input = format!("{h}.{c}");
        let sig = self.key.sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", B64URL.encode(sig.as_ref()))
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const PASSWORD: &str = "matrix password 1234";

/// A tenant with a key per scope, and a user per role (a session and an SSO token each).
async fn principals(state: &AppState, idp: &Idp, name: &str) -> (String, Vec<Principal>) {
    let t = state
        .store()
        .create_tenant(name, &TenantLimits { quota_period: "month".into(), ..Default::default() })
        .await
        .unwrap();
    let issuer = format!("https://idp.example/{name}");
    let settings = signet_store::TenantSettings {
        sso: Some(signet_store::SsoSettings {
            issuer: issuer.clone(),
            audiences: vec!["signet".into()],
            jwks_url: idp.url.clone(),
            roles_claim: Some("groups".into()),
            role_map: Role::ALL.iter().map(|r| (r.name().to_string(), *r)).collect(),
            create_users: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    state.store().set_tenant_settings(&t.id, &settings).await.unwrap();
    let mut out = Vec::new();
    for scope in [Scope::SignHash, Scope::SignDocument, Scope::Manage] {
        let k = state.store().create_api_key(Some(&t.id), scope.name(), &[scope]).await.unwrap();
        let s: &'static str = scope.name();
        out.push(Principal {
            label: format!("key:{s}"),
            auth: Auth::Bearer(k.token),
            scopes: vec![s],
            roles: vec![],
            key: true,
        });
    }
    for role in Role::ALL {
        let r: &'static str = role.name();
        let hash = signet_access::password::hash_password(PASSWORD).unwrap();
        let username = format!("{r}-session");
        let new = NewUser {
            username: username.clone(),
            display_name: username.clone(),
            roles: vec![role],
            password_hash: Some(hash),
            ..Default::default()
        };
        state.store().create_user(&t.id, &new).await.unwrap();
        let res = app(state.clone())
            .oneshot(
                Request::post("/api/v1/auth/login")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json!({"tenant": name, "username": username, "password": PASSWORD}).to_string()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let cookie =
            res.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let csrf = serde_json::from_slice::<Value>(&bytes).unwrap()["csrf_token"].as_str().unwrap().to_string();
        out.push(Principal {
            label: format!("session:{r}"),
            auth: Auth::Session { cookie, csrf },
            scopes: vec![],
            roles: vec![r],
            key: false,
        });
        let token = idp.token(&issuer, &format!("{r}-sso"), r);
        out.push(Principal {
            label: format!("jwt:{r}"),
            auth: Auth::Bearer(token),
            scopes: vec![],
            roles: vec![r],
            key: false,
        });
    }
    (t.id, out)
}

/// Whether `path`, as the matrix calls it, is an instance of the OpenAPI path `template`.
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap();
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

/// Every operation of the API is in the matrix but these: the public ones (their credential,
/// if any, is in the body: an invitation's or an embed token), an embedded preparation
/// view's (`/api/v1/embed/…`, a prefix: its own session header, refused without it in
/// `signet-cli/tests/embed.rs`) and a login session's own steps (`/api/v1/auth/…`, a prefix: they
/// log in and out, which the matrix's sessions must not).
const NOT_IN_THE_MATRIX: &[&str] =
    &["/api/v1/verify", "/api/v1/signer/session", "/api/v1/signer/embed", "/api/v1/auth/", "/api/v1/embed/"];

#[test]
fn the_matrix_has_every_operation() {
    let id = || "x".to_string();
    let ids = Ids {
        document: id(),
        seal: id(),
        user: id(),
        request: id(),
        image: id(),
        grant: id(),
        webhook: id(),
        tenant: id(),
        envelope: id(),
        parties: BTreeMap::new(),
        party: id(),
    };
    let list = endpoints(&ids);
    let doc = serde_json::to_value(signet_server::openapi()).unwrap();
    let mut missing = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        let left_out = NOT_IN_THE_MATRIX.iter().any(|x| template == x || (x.ends_with('/') && template.starts_with(x)));
        if !template.starts_with("/api/v1/") || left_out {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if !list.iter().any(|ep| ep.method == method && fits(template, &ep.path)) {
                missing.push(format!("{method} {template}"));
            }
        }
    }
    assert!(missing.is_empty(), "operations missing from the matrix:\n{}", missing.join("\n"));
}

#[tokio::test]
async fn every_endpoint_by_every_role_scope_and_tenant() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let config = ServerConfig {
            data_dir: dir.path().join(format!("data-{}", db.backend)),
            database_url: Some(db.url.clone()),
            ..ServerConfig::default()
        };
        let state = AppState::load(&config).await.unwrap();
        let operator = state.bootstrap_admin().await.unwrap().map(Auth::Bearer).unwrap();
        let (a_id, mut own) = principals(&state, &idp, "alpha").await;
        let (_, other) = principals(&state, &idp, "beta").await;
        own.push(Principal {
            label: "operator".into(),
            auth: operator,
            scopes: vec!["admin"],
            roles: vec![],
            key: true,
        });

        // things of tenant alpha
        let manage = own.iter().find(|p| p.label == "key:manage").unwrap().auth.clone();
        let docs = own.iter().find(|p| p.label == "key:sign-document").unwrap().auth.clone();
        let pdf = signet_testkit::test_pdf(&[signet_testkit::TestPage::A4]);
        let Auth::Bearer(dt) = &docs else { unreachable!() };
        let res = app(state.clone())
            .oneshot(
                Request::post("/api/v1/documents")
                    .header(header::AUTHORIZATION, format!("Bearer {dt}"))
                    .header(header::CONTENT_TYPE, "application/pdf")
                    .body(Body::from(pdf))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let document =
            serde_json::from_slice::<Value>(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
        let (st, seal) = call(&state, Some(&manage), &Method::POST, "/api/v1/seals",
            &Some(json!({"name": "Alpha Seal", "kind": "company", "generate": {"shape": "round", "text": "阿尔法有限公司"}}))).await;
        assert_eq!(st, StatusCode::CREATED, "{seal}");
        let image = seal["image_id"].as_str().unwrap().to_string();
        let seal = seal["id"].as_str().unwrap().to_string();
        let (st, target) =
            call(&state, Some(&manage), &Method::POST, "/api/v1/users", &Some(json!({"username": "target"}))).await;
        assert_eq!(st, StatusCode::CREATED, "{target}");
        let (st, grant) = call(
            &state,
            Some(&manage),
            &Method::POST,
            &format!("/api/v1/seals/{seal}/grants"),
            &Some(json!({"role": "auditor", "max_uses": 1})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{grant}");
        let (st, webhook) = call(
            &state,
            Some(&manage),
            &Method::POST,
            "/api/v1/webhooks",
            &Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{webhook}");
        let (_, users) = call(&state, Some(&manage), &Method::GET, "/api/v1/users", &None).await;
        let signer = own.iter().find(|p| p.label == "session:signer").unwrap();
        let signer_id = users.as_array().unwrap().iter().find(|u| u["username"] == "signer-session").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (st, _) = call(
            &state,
            Some(&manage),
            &Method::POST,
            &format!("/api/v1/seals/{seal}/grants"),
            &Some(json!({"user_id": signer_id, "requires_approval": true})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, req) = call(
            &state,
            Some(&signer.auth),
            &Method::POST,
            &format!("/api/v1/seals/{seal}/requests"),
            &Some(json!({"reason": "the matrix"})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{req}");
        // an envelope with every user (single sign-on ones made by their first request) as an
        // approver and an external signer, made by the sign-document key and voided by it:
        // what the matrix tries on it then stops at 409 instead of changing it
        let mut user_ids = BTreeMap::new();
        for p in own.iter().filter(|p| p.is_user()) {
            let (st, me) = call(&state, Some(&p.auth), &Method::GET, "/api/v1/me", &None).await;
            assert_eq!(st, StatusCode::OK, "{me}");
            user_ids.insert(me["id"].as_str().unwrap().to_string(), p.label.clone());
        }
        let mut parties: Vec<Value> =
            user_ids.keys().map(|id| json!({"user_id": id, "role": "approver", "order": 1})).collect();
        parties.push(json!({"name": "Outside Signer", "email": "outside@example.com", "order": 1,
            "fields": [{"kind": "signature", "page": 1, "rect": [50, 50, 250, 110]}]}));
        let (st, envelope) = call(
            &state,
            Some(&docs),
            &Method::POST,
            "/api/v1/envelopes",
            &Some(json!({"title": "Matrix contract", "document_id": document, "parties": parties})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{envelope}");
        let envelope_id = envelope["id"].as_str().unwrap().to_string();
        let (st, voided) = call(
            &state,
            Some(&docs),
            &Method::POST,
            &format!("/api/v1/envelopes/{envelope_id}/void"),
            &Some(json!({"reason": "made for the matrix"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{voided}");
        assert_eq!(voided["status"], "voided");
        let mut party_ids = BTreeMap::new();
        let mut external = None;
        for p in envelope["parties"].as_array().unwrap() {
            let id = p["id"].as_str().unwrap().to_string();
            match p["user_id"].as_str() {
                Some(u) => {
                    party_ids.insert(user_ids[u].clone(), id);
                }
                None => external = Some(id),
            }
        }
        // the external party's signing session, as its link and e-mailed code would open it
        let secret = signet_store::random_base32(20);
        let csrf = signet_store::random_base32(20);
        let opened = signet_store::now_millis();
        state
            .store()
            .put_signer_session(&signet_store::SignerSession {
                id_hash: signet_store::sha256_hex(secret.as_bytes()),
                tenant_id: a_id.clone(),
                envelope_id: envelope_id.clone(),
                party_id: external.unwrap(),
                stage: "ready".into(),
                csrf: csrf.clone(),
                code_hash: None,
                code_expires_at: None,
                code_sent_at: None,
                code_failures: 0,
                ip: None,
                user_agent: None,
                created_at: opened,
                expires_at: opened + 3_600_000,
                embed_origin: None,
            })
            .await
            .unwrap();
        own.push(Principal {
            label: SIGNER_LINK.into(),
            auth: Auth::Session { cookie: format!("signet_signer={secret}"), csrf },
            scopes: vec![],
            roles: vec![],
            key: false,
        });
        let ids = Ids {
            document,
            seal,
            user: target["id"].as_str().unwrap().to_string(),
            request: req["id"].as_str().unwrap().to_string(),
            image,
            grant: grant["id"].as_str().unwrap().to_string(),
            webhook: webhook["id"].as_str().unwrap().to_string(),
            tenant: a_id.clone(),
            envelope: envelope_id,
            party: party_ids[PARTY_USER].clone(),
            parties: party_ids,
        };

        let list = endpoints(&ids);
        let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut wrong = Vec::new();
        for ep in &list {
            let mut shown = ep.path.split('?').next().unwrap().to_string();
            for id in [
                &ids.document,
                &ids.seal,
                &ids.user,
                &ids.request,
                &ids.image,
                &ids.grant,
                &ids.webhook,
                &ids.tenant,
                &ids.envelope,
            ] {
                shown = shown.replace(id.as_str(), "{id}");
            }
            shown = shown.replace(ids.party.as_str(), "{party}");
            let row = table.entry(format!("{} {shown}", ep.method)).or_default();
            for p in &own {
                let path = ep.path_for(&p.label, &ids);
                let (status, body) = call(&state, Some(&p.auth), &ep.method, &path, &ep.body).await;
                let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
                let expect = ep.allows(p);
                row.push(if refused { "-" } else { "Y" }.to_string());
                if expect == refused || status.is_server_error() {
                    wrong.push(format!(
                        "{} {path} by {}: expected {}, got {status} {body}",
                        ep.method,
                        p.label,
                        if expect { "allowed" } else { "refused" }
                    ));
                }
                // a signing link's cookie is no credential of the rest of the API
                let refusal = if p.label == SIGNER_LINK { Some(StatusCode::UNAUTHORIZED) } else { ep.refusal };
                if let Some(want) = refusal.filter(|w| refused && status != *w) {
                    wrong.push(format!(
                        "{} {path} by {}: refused with {status}, not {want}: {body}",
                        ep.method, p.label
                    ));
                }
            }
            // another tenant's principals, even those allowed the operation, never reach alpha's things
            for p in other.iter().filter(|p| ep.owned && ep.allows(p)) {
                let path = ep.path_for(&p.label, &ids);
                let (status, body) = call(&state, Some(&p.auth), &ep.method, &path, &ep.body).await;
                if status.is_success() || status.is_server_error() {
                    wrong.push(format!("{} {path} by beta's {}: got {status} {body}", ep.method, p.label));
                }
            }
            // and no credentials at all
            let path = ep.path_for("anonymous", &ids);
            let (status, _) = call(&state, None, &ep.method, &path, &ep.body).await;
            if status != StatusCode::UNAUTHORIZED {
                wrong.push(format!("{} {path} without credentials: {status}", ep.method));
            }
        }
        // straight to the terminal: the matrix shows in the test output whether the test
        // passes or not
        let width = table.keys().map(String::len).max().unwrap_or(0);
        let mut out = format!(
            "\npermission matrix on {} (Y allowed, - refused; another tenant's principals get 404 for these \
             things, no credentials 401):\n",
            db.backend
        );
        out.push_str(&format!(
            "{:width$}  {}\n",
            "",
            own.iter().map(|p| p.label.as_str()).collect::<Vec<_>>().join(" | ")
        ));
        for (endpoint, cells) in &table {
            let cells: Vec<String> =
                cells.iter().zip(&own).map(|(c, p)| format!("{c:^w$}", w = p.label.len())).collect();
            out.push_str(&format!("{endpoint:width$}  {}\n", cells.join(" | ")));
        }
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
        assert!(wrong.is_empty(), "{} on {}:\n{}", wrong.len(), db.backend, wrong.join("\n"));
        state.store().close().await;
    }
}
