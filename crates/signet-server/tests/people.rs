//! People: password logins, TOTP with a shifted clock, recovery codes, lockout, CSRF, single
//! sign-on with a JWKS served on 127.0.0.1, and the signing log they leave (checked, then
//! tampered with directly in the database), on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use signet_server::{AppState, ServerConfig, app};
use signet_store::{Scope, TenantLimits};
use signet_testkit::TestDatabase;
use tower::ServiceExt;

/// How a request authenticates.
#[derive(Clone)]
enum Auth {
    None,
    Bearer(String),
    Session { cookie: String, csrf: String },
}

struct Answer {
    status: StatusCode,
    json: Value,
    cookie: Option<String>,
    set_cookie: Option<String>,
}

async fn call(state: &AppState, auth: &Auth, method: Method, uri: &str, body: Option<Value>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => req = req.header(header::AUTHORIZATION, format!("Bearer {t}")),
        Auth::Session { cookie, csrf } => {
            req = req.header(header::COOKIE, cookie.as_str()).header("x-csrf-token", csrf.as_str());
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
    let set_cookie = res.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string());
    let cookie = set_cookie.as_ref().map(|c| c.split(';').next().unwrap().to_string());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Answer { status, json, cookie, set_cookie }
}

async fn start(dir: &std::path::Path, db: &TestDatabase) -> AppState {
    let config = ServerConfig {
        data_dir: dir.join(format!("data-{}", db.backend)),
        database_url: Some(db.url.clone()),
        ..ServerConfig::default()
    };
    AppState::load(&config).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend))
}

async fn each_database(test: impl AsyncFn(AppState, &'static str)) {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let state = start(dir.path(), &db).await;
        test(state.clone(), db.backend).await;
        state.store().close().await;
    }
}

/// A tenant named `name` and a `manage` key of it.
async fn tenant(state: &AppState, name: &str) -> (String, Auth) {
    let limits = TenantLimits { quota_period: "month".into(), ..TenantLimits::default() };
    let t = state.store().create_tenant(name, &limits).await.unwrap();
    let key = state.store().create_api_key(Some(&t.id), "admin", &[Scope::Manage, Scope::SignDocument]).await.unwrap();
    (t.id, Auth::Bearer(key.token))
}

const PASSWORD: &str = "correct horse battery staple";

async fn login(state: &AppState, tenant: &str, user: &str, password: &str) -> Answer {
    call(
        state,
        &Auth::None,
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"tenant": tenant, "username": user, "password": password})),
    )
    .await
}

fn session_of(a: &Answer) -> Auth {
    Auth::Session {
        cookie: a.cookie.clone().expect("a session cookie"),
        csrf: a.json["csrf_token"].as_str().unwrap().into(),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn totp_with_a_shifted_clock_and_recovery_codes_once() {
    each_database(async |state, backend| {
        let (_, admin) = tenant(&state, "acme").await;
        let a =
            call(&state, &admin, Method::PUT, "/api/v1/settings", Some(json!({"mfa_required_roles": ["seal_admin"]})))
                .await;
        assert_eq!(a.status, StatusCode::OK, "{backend}: {}", a.json);
        let a = call(
            &state,
            &admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "bob", "roles": ["seal_admin"], "password": PASSWORD})),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.json);
        assert!(a.json.get("password_hash").is_none() && a.json.get("totp_secret").is_none(), "{}", a.json);

        // the role requires TOTP: the first login only lets bob enrol
        let first = login(&state, "acme", "bob", PASSWORD).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.json);
        assert_eq!(first.json["stage"], "enrol");
        let set = first.set_cookie.clone().unwrap();
        for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attr), "{set}");
        }
        let enrolling = session_of(&first);
        let refused = call(&state, &enrolling, Method::GET, "/api/v1/seals", None).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.json["error"]["message"].as_str().unwrap().contains("two-factor"), "{}", refused.json);
        let e = call(&state, &enrolling, Method::POST, "/api/v1/auth/mfa/enrol", None).await;
        assert_eq!(e.status, StatusCode::OK, "{}", e.json);
        assert!(e.json["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
        let secret = signet_access::totp::TotpSecret::from_base32(e.json["secret"].as_str().unwrap()).unwrap();
        // the phone runs 25 s late
        let c = call(
            &state,
            &enrolling,
            Method::POST,
            "/api/v1/auth/mfa/confirm",
            Some(json!({"code": secret.code_at(now() - 25)})),
        )
        .await;
        assert_eq!(c.status, StatusCode::OK, "{}", c.json);
        let codes: Vec<String> = serde_json::from_value(c.json["recovery_codes"].clone()).unwrap();
        assert_eq!(codes.len(), 10);
        let full = Auth::Session { cookie: c.cookie.clone().unwrap(), csrf: String::new() };
        assert_eq!(call(&state, &full, Method::GET, "/api/v1/seals", None).await.status, StatusCode::OK);
        // a session alone does not move TOTP to another authenticator
        let full_csrf = call(&state, &full, Method::GET, "/api/v1/auth/session", None).await.json["csrf_token"].clone();
        let full = Auth::Session { cookie: c.cookie.clone().unwrap(), csrf: full_csrf.as_str().unwrap().into() };
        let again = call(&state, &full, Method::POST, "/api/v1/auth/mfa/enrol", None).await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.json);
        assert_eq!(again.json["error"]["code"], "mfa_enabled");
        // the half-done session is over
        assert_eq!(
            call(&state, &enrolling, Method::GET, "/api/v1/auth/session", None).await.status,
            StatusCode::UNAUTHORIZED
        );

        // next login: password, then a code; the phone now runs 20 s early
        let l = login(&state, "acme", "bob", PASSWORD).await;
        assert_eq!(l.json["stage"], "mfa");
        let pending = session_of(&l);
        let wrong = call(&state, &pending, Method::POST, "/api/v1/auth/mfa", Some(json!({"code": "000000"}))).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        let too_far = secret.code_at(now() + 95);
        let far = call(&state, &pending, Method::POST, "/api/v1/auth/mfa", Some(json!({"code": too_far}))).await;
        assert_eq!(far.status, StatusCode::UNAUTHORIZED, "a code 95 s ahead");
        let code = secret.code_at(now() + 20);
        let ok = call(&state, &pending, Method::POST, "/api/v1/auth/mfa", Some(json!({"code": code}))).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
        assert_eq!(ok.json["stage"], "full");
        // the same code again (another login) is refused: each code once
        let again = session_of(&login(&state, "acme", "bob", PASSWORD).await);
        let replay = call(&state, &again, Method::POST, "/api/v1/auth/mfa", Some(json!({"code": code}))).await;
        assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "a replayed code");

        // a recovery code works once
        let r = call(
            &state,
            &again,
            Method::POST,
            "/api/v1/auth/mfa",
            Some(json!({"recovery_code": codes[3].to_uppercase()})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        let once_more = session_of(&login(&state, "acme", "bob", PASSWORD).await);
        let r2 =
            call(&state, &once_more, Method::POST, "/api/v1/auth/mfa", Some(json!({"recovery_code": codes[3]}))).await;
        assert_eq!(r2.status, StatusCode::UNAUTHORIZED);
        let r3 =
            call(&state, &once_more, Method::POST, "/api/v1/auth/mfa", Some(json!({"recovery_code": codes[4]}))).await;
        assert_eq!(r3.status, StatusCode::OK);

        // the log holds each step
        let log = call(&state, &admin, Method::GET, "/api/v1/audit?action=mfa.", None).await;
        let outcomes: Vec<(String, String)> = log
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap().into(), e["outcome"].as_str().unwrap().into()))
            .collect();
        assert!(outcomes.contains(&("mfa.confirm".into(), "ok".into())), "{outcomes:?}");
        assert!(outcomes.iter().filter(|(a, o)| a == "mfa.verify" && o == "refused").count() >= 4, "{outcomes:?}");
    })
    .await;
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_user_and_csrf_is_required() {
    each_database(async |state, backend| {
        let (_, admin) = tenant(&state, "acme").await;
        let u = call(
            &state,
            &admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "carol", "roles": ["signer"], "password": PASSWORD})),
        )
        .await;
        let carol = u.json["id"].as_str().unwrap().to_string();
        assert_eq!(login(&state, "acme", "nobody", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            call(&state, &admin, Method::POST, "/api/v1/users", Some(json!({"username": "weak", "password": "short"})))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        for i in 1..=4 {
            let a = login(&state, "acme", "carol", "wrong password!").await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{backend} attempt {i}");
            assert_eq!(a.json["error"]["message"], "wrong tenant, user name or password");
        }
        let fifth = login(&state, "acme", "carol", "wrong password!").await;
        assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS, "{}", fifth.json);
        let locked = login(&state, "acme", "carol", PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "the right password while locked");
        let unlocked = call(&state, &admin, Method::POST, &format!("/api/v1/users/{carol}/unlock"), None).await;
        assert_eq!(unlocked.status, StatusCode::OK);
        let ok = login(&state, "acme", "carol", PASSWORD).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
        assert_eq!(ok.json["stage"], "full");

        // a cookie alone does not change anything: the CSRF token must come too
        let s = session_of(&ok);
        let Auth::Session { cookie, .. } = &s else { unreachable!() };
        let no_csrf = Auth::Session { cookie: cookie.clone(), csrf: "guess".into() };
        let a = call(
            &state,
            &no_csrf,
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current": PASSWORD, "new": "another long password"})),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.json);
        let a = call(
            &state,
            &s,
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current": PASSWORD, "new": "another long password"})),
        )
        .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.json);
        assert_eq!(login(&state, "acme", "carol", "another long password").await.status, StatusCode::OK);
        // a signer manages no users; logout ends the session
        assert_eq!(call(&state, &s, Method::GET, "/api/v1/users", None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(call(&state, &s, Method::POST, "/api/v1/auth/logout", None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(call(&state, &s, Method::GET, "/api/v1/me", None).await.status, StatusCode::UNAUTHORIZED);

        let log = call(&state, &admin, Method::GET, &format!("/api/v1/audit?target={carol}"), None).await;
        let actions: Vec<&str> = log.json.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"user.lock") && actions.contains(&"user.unlock"), "{actions:?}");
    })
    .await;
}

/// A JWKS server on 127.0.0.1 with P-256 keys, and tokens signed by them.
struct Provider {
    url: String,
    keys: Vec<(String, aws_lc_rs::signature::EcdsaKeyPair)>,
    task: tokio::task::JoinHandle<()>,
}

impl Provider {
    async fn start() -> Provider {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let keys: Vec<(String, EcdsaKeyPair)> = ["k1", "k2"]
            .iter()
            .map(|kid| (kid.to_string(), EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap()))
            .collect();
        // only k1 is published: k2 stands for a key the provider never announced
        let (kid, key) = &keys[0];
        let point = key.public_key().as_ref().to_vec();
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..65])}]})
        .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let router = axum::Router::new().route("/jwks.json", axum::routing::get(move || async move { jwks.clone() }));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Provider { url, keys, task }
    }

    fn token(&self, key: usize, claims: Value) -> String {
        let (kid, pair) = &self.keys[key];
        let header = B64URL.encode(json!({"alg": "ES256", "typ": "JWT", "kid": kid}).to_string());
        let payload = B64URL.encode(claims.to_string());
        let input = format!("{header}.{payload}");
        let sig = pair.sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", B64URL.encode(sig.as_ref()))
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn single_sign_on_with_a_jwks_on_127_0_0_1() {
    let idp = Provider::start().await;
    each_database(async |state, backend| {
        let (_, admin) = tenant(&state, "acme").await;
        let settings = json!({"sso": {
            "issuer": "https://idp.example", "audiences": ["signet"], "jwks_url": idp.url,
            "roles_claim": "groups", "role_map": {"legal": "seal_admin", "staff": "signer"},
            "create_users": true}});
        let a = call(&state, &admin, Method::PUT, "/api/v1/settings", Some(settings)).await;
        assert_eq!(a.status, StatusCode::OK, "{backend}: {}", a.json);
        let t = now();
        let claims = |over: Value| {
            let mut c = json!({"iss": "https://idp.example", "aud": "signet", "sub": "u-1001",
                "preferred_username": "dora", "name": "Dora", "groups": ["legal", "other"], "iat": t, "exp": t + 300});
            for (k, v) in over.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        // another tenant cannot take the same provider's users
        let (_, other) = tenant(&state, "copycat").await;
        let copy = json!({"sso": {"issuer": "https://idp.example", "audiences": ["signet"], "jwks_url": idp.url, "create_users": true}});
        let a = call(&state, &other, Method::PUT, "/api/v1/settings", Some(copy)).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.json);
        // a good token: the user is created with the mapped role
        let me = call(&state, &Auth::Bearer(idp.token(0, claims(json!({})))), Method::GET, "/api/v1/me", None).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.json);
        assert_eq!(me.json["kind"], "sso");
        assert_eq!(me.json["roles"], json!(["seal_admin"]));
        // and a browser session from it
        let s = call(
            &state,
            &Auth::None,
            Method::POST,
            "/api/v1/auth/sso",
            Some(json!({"token": idp.token(0, claims(json!({})))})),
        )
        .await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.json);
        assert_eq!(s.json["user"]["username"], "dora");
        // refused: expired, another audience, a key not in the JWKS, another issuer
        for (what, token) in [
            ("expired", idp.token(0, claims(json!({"exp": t - 600, "iat": t - 900})))),
            ("wrong audience", idp.token(0, claims(json!({"aud": "someone-else"})))),
            ("unknown key", idp.token(1, claims(json!({})))),
            ("unknown issuer", idp.token(0, claims(json!({"iss": "https://evil.example"})))),
        ] {
            let a = call(&state, &Auth::Bearer(token), Method::GET, "/api/v1/me", None).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}: {}", a.json);
        }
        // a user with a password is not taken over by a provider account of the same name
        let a = call(
            &state,
            &admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "erin", "roles": ["tenant_admin"], "password": PASSWORD})),
        )
        .await;
        let erin = a.json["id"].as_str().unwrap().to_string();
        let as_erin = idp.token(0, claims(json!({"sub": "u-2002", "preferred_username": "erin"})));
        let a = call(&state, &Auth::Bearer(as_erin.clone()), Method::GET, "/api/v1/me", None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.json);
        // until an administrator links it
        let a = call(
            &state,
            &admin,
            Method::PATCH,
            &format!("/api/v1/users/{erin}"),
            Some(json!({"external_subject": "https://idp.example|u-2002"})),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json);
        let a = call(&state, &Auth::Bearer(as_erin), Method::GET, "/api/v1/me", None).await;
        assert_eq!(a.json["id"], erin.as_str(), "{}", a.json);
        // roles follow the token
        let me = call(
            &state,
            &Auth::Bearer(idp.token(0, claims(json!({"groups": ["staff"]})))),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await;
        assert_eq!(me.json["roles"], json!(["signer"]));
    })
    .await;
}

#[tokio::test]
async fn the_signing_log_names_each_kind_of_tampering() {
    each_database(async |state, backend| {
        let (tenant_id, admin) = tenant(&state, "acme").await;
        for i in 0..8 {
            let a = call(&state, &admin, Method::POST, "/api/v1/users",
                Some(json!({"username": format!("u{i}"), "roles": ["signer"]}))).await;
            assert_eq!(a.status, StatusCode::CREATED);
        }
        let anchor = call(&state, &admin, Method::POST, "/api/v1/audit/anchor", None).await;
        assert_eq!(anchor.status, StatusCode::OK, "{}", anchor.json);
        assert_eq!(anchor.json["seq"], 8);
        let v = call(&state, &admin, Method::GET, "/api/v1/audit/verify", None).await;
        assert_eq!(v.json["intact"], true, "{backend}: {}", v.json);
        assert_eq!(v.json["anchors"][0]["trusted"], true, "{}", v.json);
        for i in 8..12 {
            call(&state, &admin, Method::POST, "/api/v1/users", Some(json!({"username": format!("u{i}")}))).await;
        }
        let pool = state.store().pool().clone();
        let sql = |q: String| {
            let pool = pool.clone();
            async move { sqlx::query(sqlx::AssertSqlSafe(q)).execute(&pool).await.unwrap() }
        };
        let t = &tenant_id;
        let findings = async || {
            let r = signet_server::audit::verify_chain(state.store(), t, &[]).await.unwrap();
            r.chain.findings.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        assert!(findings().await.is_empty());
        // each kind of tampering starts from the intact log
        let saved = state.store().audit_page(t, 0, 100).await.unwrap();
        assert_eq!(saved.len(), 12);
        let insert = async |e: &signet_store::AuditEntry| {
            sqlx::query(
                "INSERT INTO audit_log (tenant_id, seq, id, at, actor_kind, actor, ip, user_agent, action, target_kind, \
                 target, outcome, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15)",
            )
            .bind(&e.tenant_id).bind(e.seq).bind(&e.id).bind(e.at).bind(&e.actor_kind).bind(&e.actor)
            .bind(&e.ip).bind(&e.user_agent).bind(&e.action).bind(&e.target_kind).bind(&e.target)
            .bind(&e.outcome).bind(&e.detail).bind(&e.prev_hash).bind(&e.hash)
            .execute(&pool)
            .await
            .unwrap();
        };
        let reset = async || {
            sql(format!("DELETE FROM audit_log WHERE tenant_id = '{t}'")).await;
            for e in &saved {
                insert(e).await;
            }
            assert!(findings().await.is_empty());
        };

        // edit
        sql(format!("UPDATE audit_log SET detail = '{{\"username\":\"mallory\"}}' WHERE tenant_id = '{t}' AND seq = 5")).await;
        assert_eq!(findings().await, ["entry 5 was changed: its fields do not give its hash"], "{backend}");
        reset().await;

        // delete
        sql(format!("DELETE FROM audit_log WHERE tenant_id = '{t}' AND seq = 7")).await;
        assert_eq!(findings().await, ["entry 7 is missing: deleted"], "{backend}");
        reset().await;

        // insert: a well-hashed forged entry at 7, the later ones renumbered
        sql(format!("UPDATE audit_log SET seq = seq + 1000 WHERE tenant_id = '{t}' AND seq >= 7")).await;
        sql(format!("UPDATE audit_log SET seq = seq - 999 WHERE tenant_id = '{t}' AND seq >= 1007")).await;
        let mut forged = signet_store::AuditEntry::new(t, &signet_store::Actor::system(), "user.create", "ok");
        forged.seq = 7;
        forged.prev_hash = saved[5].hash.clone();
        forged.hash = forged.computed_hash(&forged.prev_hash);
        insert(&forged).await;
        // (the entry timestamped as number 8 is now number 9: the anchor says so too)
        let f = findings().await;
        assert_eq!(f[0], "entry 7 was inserted: entry 8 follows entry 6", "{backend}: {f:?}");
        assert!(f.iter().all(|s| !s.contains("was changed:")), "{f:?}");
        reset().await;

        // reorder: entries 9 and 10 swap places
        sql(format!("UPDATE audit_log SET seq = 1000 WHERE tenant_id = '{t}' AND seq = 9")).await;
        sql(format!("UPDATE audit_log SET seq = 9 WHERE tenant_id = '{t}' AND seq = 10")).await;
        sql(format!("UPDATE audit_log SET seq = 10 WHERE tenant_id = '{t}' AND seq = 1000")).await;
        let f = findings().await;
        assert_eq!(f.first().map(String::as_str), Some("entry 9 is out of order: it follows entry 10"), "{backend}: {f:?}");
        reset().await;

        // the last entries deleted: only the timestamp tells
        sql(format!("DELETE FROM audit_log WHERE tenant_id = '{t}' AND seq > 6")).await;
        let trust = vec![state.authority().ca_certificate(signet_authority::CaLevel::Root).to_vec()];
        let r = signet_server::audit::verify_chain(state.store(), t, &trust).await.unwrap();
        assert!(!r.intact);
        assert!(r.findings.iter().any(|s| s.contains("timestamped up to entry 8 but ends at entry 6")), "{:?}", r.findings);
    })
    .await;
}

#[tokio::test]
async fn expired_forged_and_unknown_sessions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite(dir.path());
    let state = start(dir.path(), &db).await;
    let (_, admin) = tenant(&state, "acme").await;
    call(&state, &admin, Method::POST, "/api/v1/users", Some(json!({"username": "dan", "password": PASSWORD}))).await;
    let ok = login(&state, "acme", "dan", PASSWORD).await;
    let cookie = ok.cookie.clone().unwrap();
    let (id, _) = cookie.trim_start_matches("signet_session=").split_once('.').unwrap();
    let session = Auth::Session { cookie: cookie.clone(), csrf: String::new() };
    assert_eq!(call(&state, &session, Method::GET, "/api/v1/me", None).await.status, StatusCode::OK);
    for (what, cookie) in [
        ("unknown", "signet_session=ses_nothing.secret".to_string()),
        ("forged secret", format!("signet_session={id}.notthesecret")),
    ] {
        let a = call(&state, &Auth::Session { cookie, csrf: String::new() }, Method::GET, "/api/v1/me", None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}");
    }
    // past its end (read again once the cache has let it go)
    sqlx::query("UPDATE sessions SET expires_at = 1 WHERE id = $1")
        .bind(id)
        .execute(state.store().pool())
        .await
        .unwrap();
    tokio::time::sleep(signet_server::auth::CACHE_TTL + Duration::from_millis(100)).await;
    assert_eq!(call(&state, &session, Method::GET, "/api/v1/me", None).await.status, StatusCode::UNAUTHORIZED);
}
