//! Mutual TLS end to end: `signet serve --tls-cert … --tls-key …` on 127.0.0.1, client
//! certificates issued by the server's own CA (`signet ca issue --profile tls-client`, and the
//! authority library for one already expired), and a real TLS client (rustls; `curl --cert`
//! too). A tenant registers a certificate only over a connection presenting it (the operator
//! without); an allowed certificate gets in within its scopes; an unknown, expired or revoked
//! one is refused; a person's certificate completes their password login; API keys still work
//! over TLS without a certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use signet_authority::{Authority, AuthorityOptions, DistinguishedName, IssueRequest, KeySource, Profile};
use signet_testkit::SignetServer;

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const ADMIN: &str = "sgk_mtlsoperator.mtlsoperatorsecret0123456789";
const P12_PASSWORD: &str = "mtls-test-password";
const PASSWORD: &str = "a long and private passphrase";

fn openssl(args: &[&str]) {
    let out =
        Command::new("openssl").args(args).env("P12_PASSWORD", P12_PASSWORD).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA of the test's own for the server's TLS certificate (for 127.0.0.1): the CA and the
/// server's certificate and key.
fn server_certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    let (ca_key, ca_pem) = (p("tls-ca.key"), p("tls-ca.pem"));
    ca.extend(["-keyout", &ca_key, "-out", &ca_pem, "-days", "2", "-subj", "/CN=mTLS test server CA"]);
    openssl(&ca);
    let (key, csr, pem, ext) = (p("server.key"), p("server.csr"), p("server.pem"), p("server.ext"));
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    openssl(&req);
    std::fs::write(&ext, "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n")
        .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_pem,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        &pem,
        "-extfile",
        &ext,
    ]);
    (PathBuf::from(ca_pem), PathBuf::from(pem), PathBuf::from(key))
}

/// A client's certificate (PEM), its chain as sent in the handshake and its key.
struct ClientIdentity {
    pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// From a PKCS#12 file, through `openssl pkcs12` as a client's administrator would; the
    /// chain is the certificate alone, or with its CAs when `with_chain`.
    fn from_p12(p12: &Path, with_chain: bool) -> ClientIdentity {
        let base = p12.with_extension("");
        let (leaf, key) = (base.with_extension("crt.pem"), base.with_extension("key.pem"));
        let input = p12.to_str().unwrap();
        openssl(&[
            "pkcs12",
            "-in",
            input,
            "-passin",
            "env:P12_PASSWORD",
            "-clcerts",
            "-nokeys",
            "-out",
            leaf.to_str().unwrap(),
        ]);
        openssl(&[
            "pkcs12",
            "-in",
            input,
            "-passin",
            "env:P12_PASSWORD",
            "-nocerts",
            "-nodes",
            "-out",
            key.to_str().unwrap(),
        ]);
        let pem = std::fs::read_to_string(&leaf).unwrap();
        let mut chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(pem.as_bytes()).map(Result::unwrap).collect();
        assert_eq!(chain.len(), 1);
        if with_chain {
            let cas = base.with_extension("cas.pem");
            openssl(&[
                "pkcs12",
                "-in",
                input,
                "-passin",
                "env:P12_PASSWORD",
                "-cacerts",
                "-nokeys",
                "-out",
                cas.to_str().unwrap(),
            ]);
            let cas = std::fs::read(&cas).unwrap();
            chain.extend(CertificateDer::pem_slice_iter(&cas).map(Result::unwrap));
            assert_eq!(chain.len(), 3);
        }
        let key = PrivateKeyDer::from_pem_file(&key).unwrap();
        ClientIdentity { pem, chain, key }
    }

    /// Where `curl --cert/--key` reads it.
    fn files(p12: &Path) -> (PathBuf, PathBuf) {
        let base = p12.with_extension("");
        (base.with_extension("crt.pem"), base.with_extension("key.pem"))
    }
}

/// `signet ca issue --profile tls-client` in the server's data directory: the PKCS#12 file
/// and the serial number.
fn issue_with_cli(data: &Path, dir: &Path, name: &str) -> (PathBuf, String) {
    let p12 = dir.join(format!("{name}.p12"));
    let out = Command::new(SIGNET)
        .args(["ca", "issue", "--data-dir"])
        .arg(data)
        .args(["--profile", "tls-client", "--cn", &format!("{name}.acme.example"), "--org", "ACME Ltd"])
        .arg("--p12")
        .arg(&p12)
        .args(["--p12-password-env", "P12_PASSWORD"])
        .env("P12_PASSWORD", P12_PASSWORD)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("profile:     tls-client"), "{stdout}");
    let serial = stdout.lines().find_map(|l| l.strip_prefix("serial:")).unwrap().trim().to_string();
    (p12, serial)
}

/// A TLS client's certificate issued by `authority` from `not_before` for `days`, as PKCS#12.
fn issue_with_library(authority: &Authority, dir: &Path, name: &str, not_before: SystemTime, days: u64) -> PathBuf {
    let request = IssueRequest {
        profile: Profile::TlsClient,
        subject: DistinguishedName::common_name(format!("{name}.acme.example")),
        emails: Vec::new(),
        key: KeySource::Generate(signet_crypto::KeyKind::EcP256),
        validity: Some(Duration::from_secs(days * 86_400)),
    };
    let issued = authority.issue_valid_from(&request, not_before).unwrap();
    let p12 = dir.join(format!("{name}.p12"));
    std::fs::write(&p12, authority.export_pkcs12(&issued.record.serial, P12_PASSWORD).unwrap()).unwrap();
    p12
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn message(&self) -> String {
        self.body["error"]["message"].as_str().unwrap_or_default().to_string()
    }
}

/// A TLS client of the server: trusts the test's server CA, presents `identity` if given.
struct Https {
    port: u16,
    config: Arc<rustls::ClientConfig>,
}

impl Https {
    fn new(port: u16, server_ca: &Path, identity: Option<&ClientIdentity>) -> Https {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_file(server_ca).unwrap()).unwrap();
        let builder =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots);
        let config = match identity {
            Some(id) => builder.with_client_auth_cert(id.chain.clone(), id.key.clone_key()).unwrap(),
            None => builder.with_no_client_auth(),
        };
        Https { port, config: Arc::new(config) }
    }

    /// One request on a new connection (`Connection: close`); `Err` when the TLS layer
    /// refused (the alert's description).
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Result<Reply, String> {
        let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        let conn = rustls::ClientConnection::new(self.config.clone(), name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        tls.write_all(head.as_bytes()).and_then(|()| tls.write_all(body.as_bytes())).map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).map_err(|e| e.to_string())?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no response head")?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).ok_or("no status")?;
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect::<Vec<_>>();
        let mut body = raw[split + 4..].to_vec();
        if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
            body = unchunk(&body);
        }
        Ok(Reply { status, headers, body: serde_json::from_slice(&body).unwrap_or(Value::Null) })
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
        self.send("GET", path, headers, None)
    }
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
    out
}

fn ok(reply: Result<Reply, String>, status: u16, what: &str) -> Value {
    let reply = reply.unwrap_or_else(|e| panic!("{what}: refused by TLS: {e}"));
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    reply.body
}

fn refused_by_tls(reply: Result<Reply, String>, what: &str) -> String {
    match reply {
        Err(e) => e,
        Ok(r) => panic!("{what}: expected the handshake to fail, got {} {}", r.status, r.body),
    }
}

#[test]
fn client_certificates_from_the_built_in_ca_authenticate_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let (server_ca, server_pem, server_key) = server_certificate(tmp);
    let data = tmp.join("data");
    let mut server = SignetServer::start_with_env(
        SIGNET,
        &data,
        &["--tls-cert", server_pem.to_str().unwrap(), "--tls-key", server_key.to_str().unwrap()],
        &[("SIGNET_ADMIN_TOKEN", ADMIN)],
    );
    let port = server.port;
    let anonymous = Https::new(port, &server_ca, None);
    let operator = format!("Bearer {ADMIN}");

    // no certificate: the API keys work over TLS as over plain HTTP
    let health = ok(anonymous.get("/healthz", &[]), 200, "health over TLS");
    assert_eq!(health["status"], "ok");
    let tenant = ok(
        anonymous.send("POST", "/api/v1/tenants", &[("Authorization", &operator)], Some(&json!({"name": "acme"}))),
        201,
        "a tenant",
    );
    let tenant_id = tenant["id"].as_str().unwrap().to_string();
    let manage = ok(
        anonymous.send(
            "POST",
            &format!("/api/v1/tenants/{tenant_id}/keys"),
            &[("Authorization", &operator)],
            Some(&json!({"name": "admin", "scopes": ["manage"]})),
        ),
        201,
        "a manage key",
    );
    let manage = format!("Bearer {}", manage["token"].as_str().unwrap());
    let me = ok(anonymous.get("/api/v1/me", &[("Authorization", &manage)]), 200, "the key over TLS");
    assert_eq!(me["kind"], "api_key");
    let none = anonymous.get("/api/v1/me", &[]).unwrap();
    assert_eq!(none.status, 401, "{}", none.body);
    ok(
        anonymous.send(
            "POST",
            "/api/v1/identities",
            &[("Authorization", &manage)],
            Some(&json!({"name": "company-seal", "issue": {"common_name": "ACME Ltd seal", "country": "FR"}})),
        ),
        201,
        "an identity",
    );

    // a client certificate from the server's own CA, sent alone (no chain)
    let (erp_p12, erp_serial) = issue_with_cli(&data, tmp, "erp");
    let erp = ClientIdentity::from_p12(&erp_p12, false);
    let as_erp = Https::new(port, &server_ca, Some(&erp));
    let unregistered = as_erp.get("/api/v1/me", &[]).unwrap();
    assert_eq!(unregistered.status, 401, "{}", unregistered.body);
    assert!(unregistered.message().contains("not registered"), "{}", unregistered.body);

    // a tenant registers only a certificate its connection presents (certificates are public:
    // no registering another tenant's client as one's own)
    let erp_registration = json!({"certificate": erp.pem, "name": "erp", "scopes": ["sign-hash"]});
    let squat = anonymous
        .send("POST", "/api/v1/client-certificates", &[("Authorization", &manage)], Some(&erp_registration))
        .unwrap();
    assert_eq!(squat.status, 403, "a tenant's connection without the certificate: {}", squat.body);
    assert_eq!(squat.body["error"]["code"], "possession_required", "{}", squat.body);
    assert!(squat.message().contains("presents no client certificate"), "{}", squat.body);
    assert!(squat.message().contains("curl --cert"), "the message says how: {}", squat.body);
    let still = as_erp.get("/api/v1/me", &[]).unwrap();
    assert_eq!(still.status, 401, "nothing was registered: {}", still.body);
    assert!(still.message().contains("not registered"), "{}", still.body);

    // over a connection presenting it, authenticated by the tenant's key
    let registered = ok(
        as_erp.send("POST", "/api/v1/client-certificates", &[("Authorization", &manage)], Some(&erp_registration)),
        201,
        "registering the certificate over a connection presenting it",
    );
    assert_eq!(registered["serial"], erp_serial.as_str());
    assert_eq!(registered["tenant_id"], tenant_id.as_str());
    assert_eq!(registered["fingerprint"].as_str().unwrap().len(), 64);
    let twice = anonymous
        .send(
            "POST",
            "/api/v1/client-certificates",
            &[("Authorization", &operator)],
            Some(&json!({"certificate": erp.pem, "name": "again", "scopes": ["manage"], "tenant_id": tenant_id})),
        )
        .unwrap();
    assert_eq!(twice.status, 409, "one certificate, one mapping: {}", twice.body);

    // allowed: within its scopes; refused outside them
    let me = ok(as_erp.get("/api/v1/me", &[]), 200, "the registered certificate");
    assert_eq!(me["kind"], "client_certificate");
    assert_eq!(me["tenant_id"], tenant_id.as_str());
    assert_eq!(me["scopes"], json!(["sign-hash"]));
    let digest = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let signed = ok(
        as_erp.send(
            "POST",
            "/api/v1/sign-hash",
            &[],
            Some(&json!({"identity": "company-seal", "digest_algorithm": "sha256", "digest": digest})),
        ),
        200,
        "signing a digest with the certificate",
    );
    assert!(!signed["cms"].as_str().unwrap().is_empty());
    let keys = as_erp.get("/api/v1/keys", &[]).unwrap();
    assert_eq!(keys.status, 403, "outside its scopes: {}", keys.body);
    assert!(keys.message().contains("'manage'"), "{}", keys.body);
    // a browser holding the certificate does not lend it to other sites
    let cross = as_erp.get("/api/v1/me", &[("Sec-Fetch-Site", "cross-site")]).unwrap();
    assert_eq!(cross.status, 401, "{}", cross.body);
    assert!(cross.message().contains("another site"), "{}", cross.body);
    // an Authorization header still decides when there is one
    let me = ok(as_erp.get("/api/v1/me", &[("Authorization", &manage)]), 200, "the key beside a certificate");
    assert_eq!(me["kind"], "api_key");

    // the same with the full chain, and with curl as the README shows it
    let (ops_p12, _) = issue_with_cli(&data, tmp, "ops");
    let ops = ClientIdentity::from_p12(&ops_p12, true);
    let as_ops = Https::new(port, &server_ca, Some(&ops));
    // a connection presenting another certificate proves nothing of this one
    let mismatch = as_erp
        .send(
            "POST",
            "/api/v1/client-certificates",
            &[("Authorization", &manage)],
            Some(&json!({"certificate": ops.pem, "name": "ops", "scopes": ["manage"]})),
        )
        .unwrap();
    assert_eq!(mismatch.status, 403, "a connection presenting another certificate: {}", mismatch.body);
    assert_eq!(mismatch.body["error"]["code"], "possession_required", "{}", mismatch.body);
    assert!(mismatch.message().contains("another certificate"), "{}", mismatch.body);
    let still = as_ops.get("/api/v1/me", &[]).unwrap();
    assert_eq!(still.status, 401, "nothing was registered: {}", still.body);
    assert!(still.message().contains("not registered"), "{}", still.body);
    // the operator, trusted with every tenant, registers without presenting it
    let ops_registration = ok(
        anonymous.send(
            "POST",
            "/api/v1/client-certificates",
            &[("Authorization", &operator)],
            Some(&json!({"certificate": ops.pem, "name": "ops", "scopes": ["manage"], "tenant_id": tenant_id})),
        ),
        201,
        "the operator registers for the tenant",
    );
    let listed = ok(as_ops.get("/api/v1/client-certificates", &[]), 200, "a manage certificate lists");
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    if Command::new("curl").arg("--version").output().is_ok() {
        let (crt, key) = ClientIdentity::files(&ops_p12);
        let out = Command::new("curl")
            .args(["-sS", "--fail-with-body", "--cacert"])
            .arg(&server_ca)
            .arg("--cert")
            .arg(&crt)
            .arg("--key")
            .arg(&key)
            .arg(format!("https://127.0.0.1:{port}/api/v1/me"))
            .output()
            .unwrap();
        assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
        let me: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(me["kind"], "client_certificate", "{me}");
    }
    // revoking the registration: refused at once
    let id = ops_registration["id"].as_str().unwrap();
    let revoked = ok(
        anonymous.send("DELETE", &format!("/api/v1/client-certificates/{id}"), &[("Authorization", &manage)], None),
        200,
        "revoking",
    );
    assert!(revoked["revoked_at"].is_i64());
    let after = as_ops.get("/api/v1/me", &[]).unwrap();
    assert_eq!(after.status, 401, "{}", after.body);
    assert!(after.message().contains("not registered"), "{}", after.body);

    // unknown: a certificate of another CA is refused by the handshake (unknown_ca)
    let elsewhere = AuthorityOptions { organization: "Elsewhere Trust".into(), ..AuthorityOptions::default() };
    let other = Authority::init(&tmp.join("other-ca"), &elsewhere).unwrap();
    let stranger = ClientIdentity::from_p12(&issue_with_library(&other, tmp, "stranger", SystemTime::now(), 30), true);
    let e = refused_by_tls(Https::new(port, &server_ca, Some(&stranger)).get("/api/v1/me", &[]), "another CA");
    assert!(e.contains("UnknownCA") || e.contains("unknown"), "{e}");
    // (a tenant cannot present it to register it: the operator can, needing no possession)
    let register_stranger = anonymous
        .send(
            "POST",
            "/api/v1/client-certificates",
            &[("Authorization", &operator)],
            Some(&json!({
                "certificate": stranger.pem, "name": "stranger", "scopes": ["sign-hash"], "tenant_id": tenant_id
            })),
        )
        .unwrap();
    assert_eq!(
        register_stranger.status, 201,
        "registered by the operator, it still cannot pass the handshake: {}",
        register_stranger.body
    );
    refused_by_tls(Https::new(port, &server_ca, Some(&stranger)).get("/api/v1/me", &[]), "another CA, registered");

    // expired: issued by the server's CA for one day, three days ago
    let ca = Authority::open(&data).unwrap();
    let day = Duration::from_secs(86_400);
    let old = ClientIdentity::from_p12(&issue_with_library(&ca, tmp, "old", SystemTime::now() - 3 * day, 1), false);
    let e = refused_by_tls(Https::new(port, &server_ca, Some(&old)).get("/api/v1/me", &[]), "an expired certificate");
    assert!(e.to_ascii_lowercase().contains("expired"), "{e}");
    let register_old = anonymous
        .send(
            "POST",
            "/api/v1/client-certificates",
            &[("Authorization", &operator)],
            Some(&json!({"certificate": old.pem, "name": "old", "scopes": ["sign-hash"], "tenant_id": tenant_id})),
        )
        .unwrap();
    assert_eq!(register_old.status, 400, "not even the operator registers an expired one: {}", register_old.body);
    assert_eq!(register_old.body["error"]["code"], "certificate_expired");

    // revoked at the CA (`signet ca revoke`, another process): refused at the next request
    let out = Command::new(SIGNET)
        .args(["ca", "revoke", &erp_serial, "--reason", "keyCompromise", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let revoked = as_erp.get("/api/v1/me", &[]).unwrap();
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    assert!(revoked.message().contains("revoked"), "{}", revoked.body);

    // a person: password, and a certificate bound to them as the second factor
    ok(
        anonymous.send(
            "PUT",
            "/api/v1/settings",
            &[("Authorization", &manage)],
            Some(&json!({"mfa_required_roles": ["signer"]})),
        ),
        200,
        "TOTP required of signers",
    );
    let li = ok(
        anonymous.send(
            "POST",
            "/api/v1/users",
            &[("Authorization", &manage)],
            Some(&json!({"username": "li.wei", "roles": ["signer"], "password": PASSWORD})),
        ),
        201,
        "a user",
    );
    let li_id = li["id"].as_str().unwrap();
    let (li_p12, _) = issue_with_cli(&data, tmp, "li-wei");
    let li_cert = ClientIdentity::from_p12(&li_p12, false);
    // another tenant binding li's (public) certificate to a user of its own first gains nothing,
    // and takes the certificate from nobody
    let copycat = ok(
        anonymous.send("POST", "/api/v1/tenants", &[("Authorization", &operator)], Some(&json!({"name": "copycat"}))),
        201,
        "another tenant",
    );
    let copycat_manage = ok(
        anonymous.send(
            "POST",
            &format!("/api/v1/tenants/{}/keys", copycat["id"].as_str().unwrap()),
            &[("Authorization", &operator)],
            Some(&json!({"name": "admin", "scopes": ["manage"]})),
        ),
        201,
        "its manage key",
    );
    let copycat_manage = format!("Bearer {}", copycat_manage["token"].as_str().unwrap());
    let mole = ok(
        anonymous.send(
            "POST",
            "/api/v1/users",
            &[("Authorization", &copycat_manage)],
            Some(&json!({"username": "mole", "roles": ["signer"], "password": PASSWORD})),
        ),
        201,
        "its user",
    );
    ok(
        anonymous.send(
            "POST",
            &format!("/api/v1/users/{}/client-certificates", mole["id"].as_str().unwrap()),
            &[("Authorization", &copycat_manage)],
            Some(&json!({"certificate": li_cert.pem})),
        ),
        201,
        "another tenant binding li's certificate to its own user",
    );
    let bound = ok(
        anonymous.send(
            "POST",
            &format!("/api/v1/users/{li_id}/client-certificates"),
            &[("Authorization", &manage)],
            Some(&json!({"certificate": li_cert.pem})),
        ),
        201,
        "binding the certificate",
    );
    assert_eq!(bound["user_id"], li_id);
    let again = anonymous
        .send(
            "POST",
            &format!("/api/v1/users/{li_id}/client-certificates"),
            &[("Authorization", &manage)],
            Some(&json!({"certificate": li_cert.pem})),
        )
        .unwrap();
    assert_eq!(again.status, 409, "bound twice to one user: {}", again.body);
    let login = json!({"tenant": "acme", "username": "li.wei", "password": PASSWORD});
    let without = ok(anonymous.send("POST", "/api/v1/auth/login", &[], Some(&login)), 200, "password only");
    assert_eq!(without["stage"], "enrol", "{without}");
    let as_li = Https::new(port, &server_ca, Some(&li_cert));
    let reply = as_li.send("POST", "/api/v1/auth/login", &[], Some(&login)).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["stage"], "full", "{}", reply.body);
    assert_eq!(reply.body["second_factor"], "client_certificate");
    let cookie = reply.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let me = ok(as_li.get("/api/v1/me", &[("Cookie", &cookie)]), 200, "the full session");
    assert_eq!(me["kind"], "user");
    assert_eq!(me["id"], li_id);
    // the person's certificate is no API credential on its own
    let alone = as_li.get("/api/v1/me", &[]).unwrap();
    assert_eq!(alone.status, 401, "{}", alone.body);
    assert!(alone.message().contains("second factor"), "{}", alone.body);
    // another user's certificate does not complete this login
    let with_erp = ok(as_erp.send("POST", "/api/v1/auth/login", &[], Some(&login)), 200, "someone else's certificate");
    assert_eq!(with_erp["stage"], "enrol", "{with_erp}");
    // the user sees their certificates; unbinding ends its use at once
    let mine =
        ok(as_li.get(&format!("/api/v1/users/{li_id}/client-certificates"), &[("Cookie", &cookie)]), 200, "own list");
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let binding = bound["id"].as_str().unwrap();
    ok(
        anonymous.send(
            "DELETE",
            &format!("/api/v1/users/{li_id}/client-certificates/{binding}"),
            &[("Authorization", &manage)],
            None,
        ),
        200,
        "unbinding",
    );
    let unbound = ok(as_li.send("POST", "/api/v1/auth/login", &[], Some(&login)), 200, "after unbinding");
    assert_eq!(unbound["stage"], "enrol", "{unbound}");

    // the signing log says how each got in
    let log = ok(anonymous.get("/api/v1/audit?action=login", &[("Authorization", &manage)]), 200, "the log");
    assert!(log.to_string().contains("client_certificate"), "{log}");

    server.stop();
    let stopped = server.log(&data);
    assert!(stopped.contains("listening on https://"), "{stopped}");
    assert!(stopped.contains("stopped"), "{stopped}");
}

#[test]
fn tls_files_that_cannot_be_used_stop_the_server_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let (server_ca, server_pem, _) = server_certificate(tmp);
    let other_key = tmp.join("tls-ca.key");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(SIGNET)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(tmp.join("data"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("signet serve:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let cert = server_pem.as_os_str();
    let e = run(&["--tls-cert".as_ref(), cert, "--tls-key".as_ref(), other_key.as_os_str()]);
    assert!(e.contains("the key is not the key of the certificate"), "{e}");
    // refused before the data directory is touched
    assert!(!tmp.join("data").exists());
    let missing = tmp.join("missing.key");
    let e = run(&["--tls-cert".as_ref(), cert, "--tls-key".as_ref(), missing.as_os_str()]);
    assert!(e.contains("--tls-key") && e.contains("missing.key"), "{e}");
    let e = run(&["--tls-cert".as_ref(), server_ca.as_os_str(), "--tls-key".as_ref(), cert]);
    assert!(e.contains("no private key"), "{e}");
    let e = run(&[
        "--tls-cert".as_ref(),
        cert,
        "--tls-key".as_ref(),
        tmp.join("server.key").as_os_str(),
        "--client-ca".as_ref(),
        tmp.join("server.ext").as_os_str(),
    ]);
    assert!(e.contains("--client-ca") && e.contains("server.ext"), "{e}");
}
