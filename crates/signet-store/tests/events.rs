//! The events feed on every database of the test run (SQLite, and PostgreSQL when
//! `SIGNET_TEST_POSTGRES_URL` is set, as scripts/test.sh does): numbers per tenant without
//! gaps under concurrent writers, and never a new event below a number a reader has seen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::time::Duration;

use signet_store::*;
use signet_testkit::TestDatabase;

fn event(tenant: &str, event_type: &str) -> NewWebhookEvent {
    let id = new_id("evt");
    NewWebhookEvent {
        body: format!(r#"{{"id":"{id}","type":"{event_type}","data":{{}}}}"#),
        id,
        tenant_id: tenant.into(),
        event_type: event_type.into(),
        created_at: now_millis(),
    }
}

/// The whole feed of a tenant, read in pages of `page` with `after` = the last number seen.
async fn read_all(store: &Store, tenant: &str, page: i64) -> Vec<FeedEvent> {
    let mut all: Vec<FeedEvent> = Vec::new();
    loop {
        let after = all.last().map_or(0, |e| e.seq);
        let events = store.webhook_event_feed(tenant, after, &[], page).await.unwrap();
        if events.is_empty() {
            return all;
        }
        all.extend(events);
    }
}

/// 24 writers on two tenants (single events and groups mixing both tenants), with a reader
/// paging through the first tenant's feed while they write: each tenant's numbers are
/// 1…n without a gap or a repeat, every event stored once, and the reader, which only ever
/// continues after the last number it saw, ends with every event, in order.
#[tokio::test]
async fn numbers_are_gapless_under_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let backend = db.backend;
        let store = Store::open(&db.url).await.unwrap_or_else(|e| panic!("{backend}: {e}"));
        let a = store.create_tenant("a", &TenantLimits::default()).await.unwrap().id;
        let b = store.create_tenant("b", &TenantLimits::default()).await.unwrap().id;
        // a webhook on one tenant: its events also get deliveries, in the same transactions
        store.create_webhook(&a, "http://127.0.0.1:1/", &["seal.*".into()], None, "whsec_x").await.unwrap();

        let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let reader = {
            let (store, a, writing) = (store.clone(), a.clone(), writing.clone());
            tokio::spawn(async move {
                let mut seen: Vec<FeedEvent> = Vec::new();
                loop {
                    let done = !writing.load(std::sync::atomic::Ordering::SeqCst);
                    let after = seen.last().map_or(0, |e| e.seq);
                    let page = store.webhook_event_feed(&a, after, &[], 7).await.unwrap();
                    for (k, e) in page.iter().enumerate() {
                        assert_eq!(e.seq, after + 1 + k as i64, "a page continues right after the cursor");
                    }
                    if page.is_empty() && done {
                        return seen;
                    }
                    seen.extend(page);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };

        let mut writers = Vec::new();
        for w in 0..24 {
            let (store, a, b) = (store.clone(), a.clone(), b.clone());
            writers.push(tokio::spawn(async move {
                let mut ids = (Vec::new(), Vec::new());
                for i in 0..10 {
                    if (w + i) % 3 == 0 {
                        let group =
                            [event(&a, "document.signed"), event(&b, "seal.created"), event(&a, "seal.revoked")];
                        let emitted = store.emit_webhook_events(&group).await.unwrap();
                        assert_eq!(emitted.len(), 3);
                        assert!(emitted[0].deliveries.is_empty() && emitted[1].deliveries.is_empty());
                        assert_eq!(emitted[2].deliveries.len(), 1, "the webhook wants seal.*");
                        assert_eq!(emitted[2].seq, emitted[0].seq + 1, "a group's events are consecutive");
                        ids.0.extend([group[0].id.clone(), group[2].id.clone()]);
                        ids.1.push(group[1].id.clone());
                    } else if i % 4 == 1 {
                        // with signing records' group commit (the agent's documents), on the
                        // same numbers: one of each tenant, the second wanted by the webhook
                        let group = [event(&b, "document.signed"), event(&a, "seal.updated")];
                        let made = store.record_all(&mut [], &[], &[], &group).await.unwrap();
                        assert_eq!(made, 1, "one delivery: seal.updated to the webhook of a");
                        ids.1.push(group[0].id.clone());
                        ids.0.push(group[1].id.clone());
                    } else {
                        let e = event(if i % 2 == 0 { &a } else { &b }, "document.signed");
                        assert!(store.emit_webhook_event(&e, None).await.unwrap().is_empty());
                        if i % 2 == 0 { ids.0.push(e.id) } else { ids.1.push(e.id) }
                    }
                }
                ids
            }));
        }
        let (mut emitted_a, mut emitted_b) = (BTreeSet::new(), BTreeSet::new());
        for w in writers {
            let (ids_a, ids_b) = w.await.unwrap();
            emitted_a.extend(ids_a);
            emitted_b.extend(ids_b);
        }
        writing.store(false, std::sync::atomic::Ordering::SeqCst);
        let seen = reader.await.unwrap();

        for (tenant, emitted) in [(&a, &emitted_a), (&b, &emitted_b)] {
            let feed = read_all(&store, tenant, 50).await;
            let numbers: Vec<i64> = feed.iter().map(|e| e.seq).collect();
            assert_eq!(numbers, (1..=emitted.len() as i64).collect::<Vec<_>>(), "{backend}: 1…n, no gap");
            let ids: BTreeSet<String> = feed.iter().map(|e| e.id.clone()).collect();
            assert_eq!(&ids, emitted, "{backend}: every event once");
        }
        let seen_ids: Vec<&str> = seen.iter().map(|e| e.id.as_str()).collect();
        let feed_a = read_all(&store, &a, 200).await;
        assert_eq!(seen_ids, feed_a.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), "{backend}: the live reader");
        store.close().await;
    }
}

/// Another writer (another process on the same database, here a transaction of its own)
/// holds the next number uncommitted: a group of this store waits for it, and takes the
/// number after it (PostgreSQL: meets `UNIQUE (tenant_id, seq)` and tries again; SQLite: waits
/// for the write lock), so the numbers commit in order without a gap.
#[tokio::test]
async fn another_writer_holds_the_next_number() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let backend = db.backend;
        let store = Store::open(&db.url).await.unwrap();
        let t = store.create_tenant("t", &TenantLimits::default()).await.unwrap().id;
        store.emit_webhook_event(&event(&t, "document.signed"), None).await.unwrap();

        let other = event(&t, "seal.created");
        let mut conn = store.pool().acquire().await.unwrap();
        let begin = if backend == "sqlite" { "BEGIN IMMEDIATE" } else { "BEGIN" };
        sqlx::query(begin).execute(&mut *conn).await.unwrap();
        sqlx::query(
            "INSERT INTO webhook_events (id, tenant_id, event_type, body, created_at, seq) \
             VALUES ($1, $2, $3, $4, $5, 2)",
        )
        .bind(&other.id)
        .bind(&t)
        .bind(&other.event_type)
        .bind(&other.body)
        .bind(other.created_at)
        .execute(&mut *conn)
        .await
        .unwrap();

        let mine = event(&t, "document.signed");
        let writer = {
            let (store, mine) = (store.clone(), mine.clone());
            tokio::spawn(async move { store.emit_webhook_events(&[mine]).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!writer.is_finished(), "{backend}: the group waits for the other writer");
        assert!(store.webhook_event_feed(&t, 1, &[], 10).await.unwrap().is_empty(), "{backend}: nothing after 1 yet");
        sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
        drop(conn);
        let emitted = writer.await.unwrap().unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(emitted[0].seq, 3, "{backend}");
        let feed = read_all(&store, &t, 10).await;
        let got: Vec<(i64, &str)> = feed.iter().map(|e| (e.seq, e.id.as_str())).collect();
        assert_eq!(got[1..], [(2, other.id.as_str()), (3, mine.id.as_str())], "{backend}");
        store.close().await;
    }
}

/// The feed filters by type; test pings to one endpoint are not in it; pruning forgets old
/// events but keeps each tenant's newest, so the numbers continue (never start again at 1).
#[tokio::test]
async fn filters_pings_and_pruning() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDatabase::all(dir.path()) {
        let backend = db.backend;
        let store = Store::open(&db.url).await.unwrap();
        let t = store.create_tenant("t", &TenantLimits::default()).await.unwrap().id;
        let other = store.create_tenant("o", &TenantLimits::default()).await.unwrap().id;
        let hook = store.create_webhook(&t, "http://127.0.0.1:1/", &[], None, "whsec_x").await.unwrap();
        let types = ["document.signed", "seal.created", "batch.completed", "seal.revoked"];
        for ty in types {
            store.emit_webhook_event(&event(&t, ty), None).await.unwrap();
        }
        store.emit_webhook_event(&event(&other, "seal.created"), None).await.unwrap();
        assert_eq!(store.emit_webhook_event(&event(&t, "ping"), Some(&hook.id)).await.unwrap().len(), 1);

        let feed = read_all(&store, &t, 2).await;
        let got: Vec<(i64, &str)> = feed.iter().map(|e| (e.seq, e.event_type.as_str())).collect();
        assert_eq!(got, vec![(1, types[0]), (2, types[1]), (3, types[2]), (4, types[3])], "{backend}: no ping");
        let seals = store.webhook_event_feed(&t, 0, &["seal.created".into(), "seal.revoked".into()], 10).await.unwrap();
        assert_eq!(seals.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 4], "{backend}");
        assert_eq!(store.webhook_event_feed(&other, 0, &[], 10).await.unwrap().len(), 1, "{backend}: per tenant");
        assert_eq!(store.webhook_event_feed_start(&t).await.unwrap(), Some(1));

        // everything is old now: the deliveries go, the events but the newest of each tenant
        let due = store.claim_webhook_deliveries(now_millis() + 1, now_millis() + 2, 100).await.unwrap();
        for d in &due {
            let attempt =
                WebhookAttempt { n: 1, at: now_millis(), status_code: Some(200), error: None, duration_ms: 1 };
            store.record_webhook_attempt(&d.id, &attempt, AttemptNext::Delivered).await.unwrap();
        }
        store.prune_webhook_log(now_millis() + 1).await.unwrap();
        let kept = store.webhook_event_feed(&t, 0, &[], 10).await.unwrap();
        assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4], "{backend}");
        assert_eq!(store.webhook_event_feed_start(&t).await.unwrap(), Some(4));
        assert_eq!(store.webhook_event_feed(&other, 0, &[], 10).await.unwrap().len(), 1, "{backend}");
        let emitted = store.emit_webhook_events(&[event(&t, "document.signed")]).await.unwrap();
        assert_eq!(emitted[0].seq, 5, "{backend}: the numbers continue");
        store.close().await;
    }
}
