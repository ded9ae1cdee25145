//! Client certificate registrations on every database of the test run (SQLite, and
//! PostgreSQL when `SIGNET_TEST_POSTGRES_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use signet_store::*;
use signet_testkit::TestDatabase;

fn certificate(tenant: &str, user: Option<&str>, der: &[u8]) -> NewClientCertificate {
    NewClientCertificate {
        tenant_id: tenant.into(),
        user_id: user.map(str::to_string),
        name: "erp".into(),
        scopes: vec![Scope::SignHash, Scope::Manage, Scope::SignHash],
        certificate: der.to_vec(),
        subject: "CN=erp.example.com".into(),
        issuer: "CN=Signet Issuing CA".into(),
        serial: "01AB".into(),
        not_before: 1_000,
        not_after: 2_000,
    }
}

#[tokio::test]
async fn one_live_registration_per_certificate_found_by_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let store = Store::open(&db.url).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend));
        let backend = db.backend;
        let limits = TenantLimits { quota_period: "month".into(), ..Default::default() };
        let acme = store.create_tenant("acme", &limits).await.unwrap();
        let other = store.create_tenant("other", &limits).await.unwrap();
        let user = store.create_user(&acme.id, &NewUser { username: "li".into(), ..Default::default() }).await.unwrap();

        let der = b"\x30\x03\x02\x01\x01";
        let erp = store.create_client_certificate(&certificate(&acme.id, None, der)).await.unwrap();
        assert_eq!(erp.fingerprint, sha256_hex(der), "{backend}");
        assert_eq!(erp.scopes, vec![Scope::SignHash, Scope::Manage]);
        let found = store.client_certificate_by_fingerprint(&erp.fingerprint).await.unwrap();
        assert_eq!(found, erp, "{backend}");
        assert_eq!(found.certificate, der);
        // the same certificate cannot map to a second tenant, nor twice to one
        let again = store.create_client_certificate(&certificate(&other.id, None, der)).await;
        assert!(matches!(again, Err(Error::Conflict(_))), "{backend}: {again:?}");

        let second =
            store.create_client_certificate(&certificate(&acme.id, Some(&user.id), b"\x30\x00")).await.unwrap();
        // a user's binding is found for that user only, and is no API client
        let bound = store.user_certificate_by_fingerprint(&user.id, &second.fingerprint).await.unwrap();
        assert_eq!(bound.id, second.id, "{backend}");
        let as_client = store.client_certificate_by_fingerprint(&second.fingerprint).await;
        assert!(matches!(as_client, Err(Error::NotFound(_))), "{backend}: {as_client:?}");
        // bound twice to one user: a conflict; bound to a user of another tenant, or registered
        // as an API client: not (a binding takes the certificate from nobody)
        let twice = store.create_client_certificate(&certificate(&acme.id, Some(&user.id), b"\x30\x00")).await;
        assert!(matches!(twice, Err(Error::Conflict(_))), "{backend}: {twice:?}");
        let stranger =
            store.create_user(&other.id, &NewUser { username: "mole".into(), ..Default::default() }).await.unwrap();
        let theirs =
            store.create_client_certificate(&certificate(&other.id, Some(&stranger.id), b"\x30\x00")).await.unwrap();
        let found = store.user_certificate_by_fingerprint(&stranger.id, &second.fingerprint).await.unwrap();
        assert_eq!(found.id, theirs.id, "{backend}");
        assert_eq!(store.user_certificate_by_fingerprint(&user.id, &second.fingerprint).await.unwrap().id, second.id);
        let erp_bound = store.create_client_certificate(&certificate(&other.id, Some(&stranger.id), der)).await;
        assert!(erp_bound.is_ok(), "{backend}: an API client's certificate bound to a user: {erp_bound:?}");
        assert_eq!(store.client_certificate_by_fingerprint(&erp.fingerprint).await.unwrap().id, erp.id, "{backend}");
        let listed = store.client_certificates(Some(&acme.id), None).await.unwrap();
        assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [erp.id.as_str()], "{backend}");
        let of_user = store.client_certificates(Some(&acme.id), Some(&user.id)).await.unwrap();
        assert_eq!(of_user.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [second.id.as_str()]);
        assert_eq!(store.client_certificates(None, None).await.unwrap().len(), 1);

        // another tenant's id is not found; revoking frees the certificate for a new mapping
        let wrong = store.revoke_client_certificate(&erp.id, Some(&other.id)).await;
        assert!(matches!(wrong, Err(Error::NotFound(_))), "{backend}");
        let revoked = store.revoke_client_certificate(&erp.id, Some(&acme.id)).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        assert_eq!(store.revoke_client_certificate(&erp.id, None).await.unwrap().revoked_at, revoked.revoked_at);
        let gone = store.client_certificate_by_fingerprint(&erp.fingerprint).await;
        assert!(matches!(gone, Err(Error::NotFound(_))), "{backend}");
        let moved = store.create_client_certificate(&certificate(&other.id, None, der)).await.unwrap();
        assert_eq!(store.client_certificate_by_fingerprint(&erp.fingerprint).await.unwrap().id, moved.id);
        store.close().await;
    }
}
