//! Prepared own-key signatures on every database of the test run: a new preparation replaces
//! the party's unused ones, a preparation is used once, expired ones are purged (with the
//! blob keys of those never used).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use signet_store::*;
use signet_testkit::TestDatabase;

fn preparation(tenant: &str, envelope: &str, party: &str, expires_at: i64) -> Preparation {
    let id = new_id("prp");
    Preparation {
        blob_key: format!("preparations/{tenant}/{id}.bin"),
        id,
        tenant_id: tenant.into(),
        envelope_id: envelope.into(),
        party_id: party.into(),
        field_id: "fld_1".into(),
        document_id: "doc_1".into(),
        digest_algorithm: "sha256".into(),
        document_digest: "00".repeat(32),
        signed_attributes: "MQA=".into(),
        byte_range: [0, 1000, 20_000, 9_999_999_999],
        original_len: 900,
        detail: "{}".into(),
        created_by: "key_1".into(),
        created_at: now_millis(),
        expires_at,
        used_at: None,
        result_document_id: None,
    }
}

#[tokio::test]
async fn preparations_replace_are_used_once_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let store = Store::open(&db.url).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend));
        let backend = db.backend;
        let t = store.create_tenant("acme", &TenantLimits::default()).await.unwrap();
        let write = EnvelopeWrite {
            title: "x".into(),
            status: "sent".into(),
            search: "x".into(),
            summary: "{}".into(),
            body: "{}".into(),
            due_at: None,
            updated_at: now_millis(),
        };
        store.insert_envelope(&t.id, "env_1", "key_1", &write, &[]).await.unwrap();
        let later = now_millis() + 60_000;

        let first = preparation(&t.id, "env_1", "pty_a", later);
        assert!(store.insert_preparation(&first).await.unwrap().is_empty(), "{backend}");
        assert_eq!(store.preparation(&t.id, &first.id).await.unwrap().as_ref(), Some(&first), "{backend}");
        assert_eq!(store.preparation("tn_other", &first.id).await.unwrap(), None, "{backend}");
        // another party's preparation stays; the same party's unused one is replaced
        let other_party = preparation(&t.id, "env_1", "pty_b", later);
        assert!(store.insert_preparation(&other_party).await.unwrap().is_empty());
        let second = preparation(&t.id, "env_1", "pty_a", later);
        assert_eq!(store.insert_preparation(&second).await.unwrap(), vec![first.blob_key.clone()], "{backend}");
        assert_eq!(store.preparation(&t.id, &first.id).await.unwrap(), None);
        assert_eq!(store.latest_preparation(&t.id, "env_1", "pty_a").await.unwrap().unwrap().id, second.id);

        // used once
        assert!(store.use_preparation(&t.id, &second.id, "doc_2", 5).await.unwrap());
        assert!(!store.use_preparation(&t.id, &second.id, "doc_3", 6).await.unwrap(), "{backend}");
        let used = store.preparation(&t.id, &second.id).await.unwrap().unwrap();
        assert_eq!((used.used_at, used.result_document_id.as_deref()), (Some(5), Some("doc_2")));
        // a used preparation is not replaced by a newer one
        let third = preparation(&t.id, "env_1", "pty_a", now_millis() - 10);
        assert!(store.insert_preparation(&third).await.unwrap().is_empty(), "{backend}");

        // purged after expiry: the blob of the unused one is returned, not the used one's
        let purged = store.purge_preparations(now_millis(), 100).await.unwrap();
        assert_eq!(purged, vec![third.blob_key.clone()], "{backend}");
        assert_eq!(store.preparation(&t.id, &third.id).await.unwrap(), None);
        assert!(store.preparation(&t.id, &second.id).await.unwrap().is_some());
        let all = store.purge_preparations(later + 1, 100).await.unwrap();
        assert_eq!(all, vec![other_party.blob_key.clone()], "{backend}");
        assert_eq!(store.latest_preparation(&t.id, "env_1", "pty_a").await.unwrap(), None);
        store.close().await;
    }
}
