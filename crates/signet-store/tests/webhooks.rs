//! Webhook endpoints, events and the delivery log on every database of the test run (SQLite,
//! and PostgreSQL when `SIGNET_TEST_POSTGRES_URL` is set, as scripts/test.sh does).
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

fn event(tenant: &str, event_type: &str) -> NewWebhookEvent {
    let id = new_id("evt");
    NewWebhookEvent {
        body: format!(r#"{{"id":"{id}","type":"{event_type}"}}"#),
        id,
        tenant_id: tenant.into(),
        event_type: event_type.into(),
        created_at: now_millis(),
    }
}

fn attempt(n: i64, status: Option<i64>) -> WebhookAttempt {
    WebhookAttempt { n, at: now_millis(), status_code: status, error: None, duration_ms: 3 }
}

#[tokio::test]
async fn endpoints_events_and_deliveries() {
    each_database(async |store, backend| {
        let t = store.create_tenant("acme", &TenantLimits::default()).await.unwrap();
        let other = store.create_tenant("other", &TenantLimits::default()).await.unwrap();
        assert!(!store.has_active_webhooks(&t.id).await.unwrap());
        let all = store.create_webhook(&t.id, "http://127.0.0.1:1/a", &[], Some("all"), "whsec_a").await.unwrap();
        let batches = store
            .create_webhook(&t.id, "http://127.0.0.1:1/b", &["batch.completed".into()], None, "whsec_b")
            .await
            .unwrap();
        assert!(store.has_active_webhooks(&t.id).await.unwrap());
        assert_eq!(store.webhook(&t.id, &all.id).await.unwrap(), all, "{backend}");
        assert!(matches!(store.webhook(&other.id, &all.id).await, Err(Error::NotFound(_))));
        assert_eq!(store.webhooks(&t.id).await.unwrap().len(), 2);

        // an event goes to the endpoints that want it, once
        let signed = event(&t.id, "document.signed");
        let ids = store.emit_webhook_event(&signed, None).await.unwrap();
        assert_eq!(ids.len(), 1, "{backend}");
        let done = event(&t.id, "batch.completed");
        assert_eq!(store.emit_webhook_event(&done, None).await.unwrap().len(), 2);
        let ping = event(&t.id, "ping");
        assert_eq!(store.emit_webhook_event(&ping, Some(&batches.id)).await.unwrap().len(), 1);
        assert!(store.emit_webhook_event(&event(&other.id, "ping"), None).await.unwrap().is_empty());

        // a worker takes the due ones under a lease; a second one finds nothing
        let now = now_millis();
        let due = store.claim_webhook_deliveries(now + 1, now + 60_000, 10).await.unwrap();
        assert_eq!(due.len(), 4, "{backend}");
        assert!(store.claim_webhook_deliveries(now + 1, now + 60_000, 10).await.unwrap().is_empty());
        assert_eq!(store.next_webhook_due().await.unwrap(), Some(now + 60_000));
        let first = due.iter().find(|d| d.id == ids[0]).unwrap();
        assert_eq!(first.body, signed.body);
        assert_eq!(first.webhook.secret, "whsec_a");
        assert_eq!(first.attempts, 0);

        // fail, retry, deliver
        let mut failed = attempt(1, Some(500));
        failed.error = Some("HTTP 500".into());
        assert!(store.record_webhook_attempt(&first.id, &failed, AttemptNext::RetryAt(now)).await.unwrap());
        // an outdated attempt number is refused
        assert!(!store.record_webhook_attempt(&first.id, &attempt(1, None), AttemptNext::Failed).await.unwrap());
        let again = store.claim_webhook_deliveries(now + 1, now + 60_000, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        store.record_webhook_attempt(&first.id, &attempt(2, Some(204)), AttemptNext::Delivered).await.unwrap();
        let d = store.webhook_delivery(&t.id, &first.id).await.unwrap();
        assert_eq!(d.state, DeliveryState::Delivered, "{backend}");
        assert_eq!(d.attempts, 2);
        assert_eq!(d.event_type, "document.signed");
        assert!(d.delivered_at.is_some() && d.next_attempt_at.is_none());
        assert_eq!(d.attempt_log.iter().map(|a| a.status_code).collect::<Vec<_>>(), vec![Some(500), Some(204)]);
        assert_eq!(d.attempt_log[0].error.as_deref(), Some("HTTP 500"));
        assert!(matches!(store.webhook_delivery(&other.id, &first.id).await, Err(Error::NotFound(_))));

        // redelivery: a new pending delivery of the same event
        let re = store.redeliver_webhook_delivery(&t.id, &first.id).await.unwrap();
        assert_ne!(re.id, first.id);
        assert_eq!((re.event_id.as_str(), re.state, re.attempts), (signed.id.as_str(), DeliveryState::Pending, 0));
        let list = store.webhook_deliveries(&t.id, &all.id, None, 10).await.unwrap();
        assert_eq!(list.len(), 3, "{backend}");
        assert_eq!((list[0].id.as_str(), list[2].id.as_str()), (re.id.as_str(), first.id.as_str()), "newest first");
        assert_eq!(list.last().unwrap().attempt_log.len(), 2);
        let page = store.webhook_deliveries(&t.id, &all.id, Some(&list[0].id), 1).await.unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].id, list[1].id);

        // update, rotate, delete
        let update = WebhookUpdate { active: Some(false), description: Some(String::new()), ..Default::default() };
        let off = store.update_webhook(&t.id, &all.id, &update).await.unwrap();
        assert!(!off.active && off.description.is_none());
        // disabling fails what was pending
        let re = store.webhook_delivery(&t.id, &re.id).await.unwrap();
        assert_eq!((re.state, re.last_error.as_deref()), (DeliveryState::Failed, Some(DISABLED)), "{backend}");
        let rotated = store.rotate_webhook_secret(&t.id, &batches.id, "whsec_c", Some(now + 1000)).await.unwrap();
        assert_eq!(rotated.signing_secrets(now), vec!["whsec_c", "whsec_b"]);
        let rotated = store.rotate_webhook_secret(&t.id, &batches.id, "whsec_d", None).await.unwrap();
        assert_eq!(rotated.signing_secrets(now), vec!["whsec_d"]);
        assert!(matches!(store.delete_webhook(&other.id, &all.id).await, Err(Error::NotFound(_))));
        store.delete_webhook(&t.id, &all.id).await.unwrap();
        assert!(matches!(store.webhook_delivery(&t.id, &first.id).await, Err(Error::NotFound(_))));
        assert_eq!(store.webhooks(&t.id).await.unwrap().len(), 1);

        // finished deliveries are forgotten after the retention; pending ones stay
        let rest = store.claim_webhook_deliveries(now_millis() + 120_000, now_millis() + 200_000, 10).await.unwrap();
        assert_eq!(rest.len(), 2, "{backend}");
        assert!(store.record_webhook_attempt(&rest[0].id, &attempt(1, None), AttemptNext::Failed).await.unwrap());
        assert!(store.fail_webhook_delivery(&rest[1].id, "the endpoint is disabled").await.unwrap());
        assert!(!store.fail_webhook_delivery(&rest[1].id, "again").await.unwrap());
        assert_eq!(store.prune_webhook_log(now_millis() + 1).await.unwrap(), 2, "{backend}");
        assert_eq!(store.next_webhook_due().await.unwrap(), None);
    })
    .await;
}
