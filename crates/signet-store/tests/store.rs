//! The store's repositories on every database of the test run (SQLite, and PostgreSQL when
//! `SIGNET_TEST_POSTGRES_URL` is set, as scripts/test.sh does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use signet_store::*;
use signet_testkit::TestDatabase;

async fn each_database(test: impl AsyncFn(Store, &'static str)) {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let store = Store::open(&db.url).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend));
        test(store.clone(), db.backend).await;
        store.close().await;
    }
}

#[tokio::test]
async fn tenants_keys_and_usage() {
    each_database(async |store, backend| {
        // migrations run again on an up-to-date database without effect
        let limits = TenantLimits { quota_period: "month".into(), max_calls: Some(10), ..Default::default() };
        let t = store.create_tenant("acme", &limits).await.unwrap();
        assert!(matches!(store.create_tenant("acme", &limits).await, Err(Error::Conflict(_))), "{backend}");
        assert_eq!(store.tenant(&t.id).await.unwrap(), t);

        let k =
            store.create_api_key(Some(&t.id), "erp", &[Scope::SignHash, Scope::SignHash, Scope::Manage]).await.unwrap();
        assert_eq!(k.key.scopes, vec![Scope::SignHash, Scope::Manage]);
        let (id, secret) = split_token(&k.token).unwrap();
        let stored = store.api_key(&id).await.unwrap();
        assert!(stored.secret_matches(secret));
        assert!(!stored.secret_matches("wrong"));
        assert!(!store.has_admin_key().await.unwrap());
        let revoked = store.revoke_api_key(&id, Some(&t.id)).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        let other = store.create_tenant("other", &limits).await.unwrap();
        let k2 = store.create_api_key(Some(&t.id), "b", &[Scope::Manage]).await.unwrap();
        assert!(matches!(store.revoke_api_key(&k2.key.id, Some(&other.id)).await, Err(Error::NotFound(_))));

        assert!(store.ensure_admin_token("sgk_abc.def").await.unwrap());
        assert!(!store.ensure_admin_token("sgk_abc.def").await.unwrap());
        assert!(store.has_admin_key().await.unwrap());

        let delta = |c, d| UsageDelta { tenant_id: t.id.clone(), period_start: 1000, calls: c, documents: d };
        let mut recs = vec![
            SignatureRecord::new(&t.id, "seal", "sha256", "00", "B-B", "sign-hash", &k.key.id),
            SignatureRecord::new(&t.id, "seal", "sha256", "01", "B-B", "sign-hash", &k.key.id),
        ];
        store.record(&mut recs, &[delta(2, 0)]).await.unwrap();
        let mut more = vec![SignatureRecord::new(&t.id, "seal", "sha256", "02", "B-T", "agent", &k.key.id)];
        store.record(&mut more, &[delta(1, 1)]).await.unwrap();
        assert_eq!(store.usage(&t.id, 1000).await.unwrap(), Usage { period_start: 1000, calls: 3, documents: 1 });
        assert_eq!(store.usage(&t.id, 2000).await.unwrap().calls, 0);
        let log = store.signatures(&t.id, 0, 10).await.unwrap();
        assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3], "{backend}");
        assert_eq!(log[2].digest, "02");
    })
    .await;
}

/// A group commit of many records from two tenants, interleaved: every row written with
/// its own fields, each tenant's sequence gapless and in the order given (the rows go in
/// multi-row statements of 64, 16, 4 and 1 rows).
#[tokio::test]
async fn a_large_group_of_records() {
    each_database(async |store, backend| {
        let limits = TenantLimits::default();
        let a = store.create_tenant("a", &limits).await.unwrap();
        let b = store.create_tenant("b", &limits).await.unwrap();
        let mut recs: Vec<SignatureRecord> = (0..157)
            .map(|i| {
                let tenant = if i % 3 == 0 { &b.id } else { &a.id };
                let mut r =
                    SignatureRecord::new(tenant, "seal", "sha256", &format!("{i:04x}"), "B-B", "agent", "key_x");
                if i % 5 == 0 {
                    r.outcome = "failed".into();
                    r.detail = Some(format!("reason {i}"));
                }
                r
            })
            .collect();
        store.record(&mut recs, &[]).await.unwrap();
        for (tenant, expected) in [(&a.id, 104usize), (&b.id, 53)] {
            let log = store.signatures(tenant, 0, 1000).await.unwrap();
            assert_eq!(log.len(), expected, "{backend}");
            assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=expected as i64).collect::<Vec<_>>());
            let given: Vec<&SignatureRecord> = recs.iter().filter(|r| &r.tenant_id == tenant).collect();
            for (stored, given) in log.iter().zip(given) {
                assert_eq!(stored, given, "{backend}");
            }
        }
        // a second group continues each sequence
        let mut more = vec![SignatureRecord::new(&b.id, "seal", "sha256", "ff", "B-B", "agent", "key_x")];
        store.record(&mut more, &[]).await.unwrap();
        assert_eq!(store.signatures(&b.id, 53, 10).await.unwrap()[0].seq, 54, "{backend}");
    })
    .await;
}

#[tokio::test]
async fn identities_templates_documents() {
    each_database(async |store, backend| {
        let t =
            store.create_tenant("t", &TenantLimits { quota_period: "day".into(), ..Default::default() }).await.unwrap();
        let id = Identity {
            id: new_id("id"),
            tenant_id: t.id.clone(),
            name: "company-seal".into(),
            key_store: KeyStoreKind::Keystore,
            key_ref: "k1".into(),
            key_id: "ab".into(),
            chain: vec!["MIIB".into(), "MIIC".into()],
            cert_serial: Some("01".into()),
            created_at: now_millis(),
            seal_id: None,
        };
        store.insert_identity(&id).await.unwrap();
        assert_eq!(store.identity(&t.id, "company-seal").await.unwrap(), id);
        let dup = Identity { id: new_id("id"), ..id.clone() };
        match store.insert_identity(&dup).await {
            Err(Error::Conflict(m)) => assert!(m.contains("company-seal"), "{m}"),
            other => panic!("{backend}: {other:?}"),
        }
        assert!(matches!(store.identity(&t.id, "nope").await, Err(Error::NotFound(_))));

        let p = serde_json::json!([{"page": 1, "rect": [10, 10, 110, 60]}]);
        let tpl = store.put_template(&t.id, "invoice", &p).await.unwrap();
        let p2 = serde_json::json!([{"page": 2, "rect": [0, 0, 50, 50]}]);
        let tpl2 = store.put_template(&t.id, "invoice", &p2).await.unwrap();
        assert_eq!(tpl.id, tpl2.id);
        assert_eq!(tpl2.placements, p2);
        assert_eq!(store.templates(&t.id).await.unwrap().len(), 1);
        store.delete_template(&t.id, "invoice").await.unwrap();
        assert!(store.template(&t.id, "invoice").await.is_err());
    })
    .await;
}

#[tokio::test]
async fn idempotency_keys() {
    each_database(async |store, _| {
        let t =
            store.create_tenant("t", &TenantLimits { quota_period: "day".into(), ..Default::default() }).await.unwrap();
        assert_eq!(store.claim_idempotency_key(&t.id, "k", "fp").await.unwrap(), IdempotencyClaim::Claimed);
        assert_eq!(store.claim_idempotency_key(&t.id, "k", "fp").await.unwrap(), IdempotencyClaim::InProgress);
        assert_eq!(store.claim_idempotency_key(&t.id, "k", "other").await.unwrap(), IdempotencyClaim::Mismatch);
        let resp = StoredResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some("{}".into()),
            document_id: None,
        };
        store.complete_idempotency_key(&t.id, "k", &resp).await.unwrap();
        assert_eq!(store.claim_idempotency_key(&t.id, "k", "fp").await.unwrap(), IdempotencyClaim::Replay(resp));
        assert_eq!(store.claim_idempotency_key(&t.id, "j", "fp").await.unwrap(), IdempotencyClaim::Claimed);
        store.release_idempotency_key(&t.id, "j").await.unwrap();
        assert_eq!(store.claim_idempotency_key(&t.id, "j", "fp").await.unwrap(), IdempotencyClaim::Claimed);
    })
    .await;
}

#[tokio::test]
async fn batches_finish_each_item_once() {
    each_database(async |store, backend| {
        let t =
            store.create_tenant("t", &TenantLimits { quota_period: "day".into(), ..Default::default() }).await.unwrap();
        // more items than one INSERT statement takes
        let items: Vec<_> = (0..450)
            .map(|i| NewBatchItem { name: format!("{i}.pdf"), input_blob: format!("batches/x/{i}.pdf") })
            .collect();
        let id = new_batch_id();
        let b = store.create_batch(&id, &t.id, "key_x", &serde_json::json!({"identity": "s"}), &items).await.unwrap();
        assert_eq!(b.id, id);
        assert_eq!(store.batch_items(&b.id).await.unwrap().len(), 450, "{backend}");
        assert_eq!(store.batch_items_page(&b.id, 448, 10).await.unwrap()[0].name, "449.pdf");
        assert_eq!(store.running_batches().await.unwrap().len(), 1);
        assert!(store.finish_batch_item(&b.id, 0, ItemState::Done, Some("doc_1"), None).await.unwrap());
        assert!(!store.finish_batch_item(&b.id, 0, ItemState::Failed, None, Some("late")).await.unwrap());
        assert!(store.finish_batch_item(&b.id, 1, ItemState::Failed, None, Some("not a PDF")).await.unwrap());
        let p = store.batch_progress(&b.id).await.unwrap();
        assert_eq!(p, BatchProgress { total: 450, done: 1, failed: 1, pending: 448 });
        assert!(store.batch(Some("tn_other"), &b.id).await.is_err());
        assert!(!store.finish_batch(&b.id).await.unwrap(), "items are pending");

        // an outcome and its document are recorded together, once
        let doc = |n: i64| DocumentRecord {
            id: format!("doc_b{n}"),
            tenant_id: t.id.clone(),
            kind: "signed".into(),
            name: Some(format!("{n}.pdf")),
            blob_key: format!("batches/x/out/{n}.pdf"),
            size: 10,
            sha256: "00".into(),
            source_id: None,
            created_at: 1,
        };
        let usage = UsageDelta { tenant_id: t.id.clone(), period_start: 0, calls: 0, documents: 1 };
        let calls = UsageDelta { tenant_id: t.id.clone(), period_start: 0, calls: 1, documents: 0 };
        let done = |n: i64, d: DocumentRecord| ItemOutcome {
            batch_id: b.id.clone(),
            idx: n,
            result: ItemResult::Done { document: Box::new(d), usage: Some(usage.clone()) },
            signatures: vec![SignatureRecord::new(&t.id, "s", "sha256", "00", "B-B", "batch", "key_x")],
            calls: Some(calls.clone()),
        };
        let applied = store
            .complete_batch_items(&[
                done(2, doc(2)),
                done(3, doc(3)),
                ItemOutcome {
                    batch_id: b.id.clone(),
                    idx: 4,
                    result: ItemResult::Failed("bad".into()),
                    signatures: Vec::new(),
                    calls: None,
                },
            ])
            .await
            .unwrap();
        assert_eq!(applied, [true, true, true]);
        // signed again (a restart): the second output is not recorded
        let again = store.complete_batch_items(&[done(2, doc(99)), done(5, doc(5))]).await.unwrap();
        assert_eq!(again, [false, true]);
        assert!(store.document(&t.id, "doc_b99").await.is_err());
        assert_eq!(store.document(&t.id, "doc_b2").await.unwrap().blob_key, "batches/x/out/2.pdf");
        // documents count once per item; signing calls and records for every signature made
        let u = store.usage(&t.id, 0).await.unwrap();
        assert_eq!((u.documents, u.calls), (3, 4));
        let sigs = store.signatures(&t.id, 0, 10).await.unwrap();
        assert_eq!(sigs.iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
        let with = store.batch_items_with_documents(&b.id, 1, 4).await.unwrap();
        assert_eq!(with[0].item.idx, 2);
        assert_eq!(with[0].document.as_ref().unwrap().name.as_deref(), Some("2.pdf"));
        assert_eq!(with[2].item.error.as_deref(), Some("bad"));
        assert!(with[2].document.is_none());

        assert_eq!(store.pending_batch_items(&b.id, -1, 2).await.unwrap()[0].idx, 6);
        assert_eq!(store.fail_pending_batch_items(&b.id, "key revoked").await.unwrap(), 444);
        assert!(store.finish_batch(&b.id).await.unwrap());
        assert!(store.running_batches().await.unwrap().is_empty());
        assert_eq!(store.batch_items(&b.id).await.unwrap()[1].error.as_deref(), Some("not a PDF"));
        assert_eq!(store.batch_progress(&b.id).await.unwrap().failed, 446);
    })
    .await;
}

/// Another writer (another process on the same database) takes the record number (and the
/// signing-log position) this store remembered: the group commit meets `UNIQUE (tenant_id,
/// seq)`, changes nothing, reads the numbers again and succeeds on its next attempt; the
/// numbers stay gapless and the signing log's chain intact.
#[tokio::test]
async fn another_writer_takes_the_next_number() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let backend = db.backend;
        let store = Store::open(&db.url).await.unwrap();
        let other = Store::open(&db.url).await.unwrap();
        let t = store.create_tenant("t", &TenantLimits::default()).await.unwrap();
        let rec = |d: &str| SignatureRecord::new(&t.id, "seal", "sha256", d, "B-B", "agent", "key_x");
        let usage = |calls| UsageDelta { tenant_id: t.id.clone(), period_start: 0, calls, documents: 0 };
        store.record(&mut [rec("01")], &[usage(1)]).await.unwrap();
        other.record(&mut [rec("02")], &[usage(1)]).await.unwrap();
        store.record(&mut [rec("03"), rec("04")], &[usage(2)]).await.unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(store.usage(&t.id, 0).await.unwrap().calls, 4, "{backend}: the group counted once");
        store.record(&mut [rec("05")], &[usage(1)]).await.unwrap();
        let log = store.signatures(&t.id, 0, 10).await.unwrap();
        let digests: Vec<(i64, &str)> = log.iter().map(|r| (r.seq, r.digest.as_str())).collect();
        assert_eq!(digests, vec![(1, "01"), (2, "02"), (3, "03"), (4, "04"), (5, "05")], "{backend}");
        assert_eq!(store.usage(&t.id, 0).await.unwrap().calls, 5, "{backend}");
        let chain = store.verify_audit(&t.id).await.unwrap();
        assert!(chain.intact() && chain.entries == 5, "{backend}: {chain:?}");
        other.close().await;
        store.close().await;
    }
}
