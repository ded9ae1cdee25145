//! Webhooks: a tenant's endpoints receive its events as signed HTTP POSTs.
//!
//! - `POST/GET /api/v1/webhooks`, `GET/PATCH/DELETE /api/v1/webhooks/{id}` (keys with
//!   `manage`, people with the role `tenant_admin`: one check, `tenant_of`): the tenant's
//!   endpoints, each with a URL (`http` or `https`, no credentials in it), a filter of event
//!   types (empty or `*`: all; `seal.*`: every `seal.` type; names from [`EVENT_TYPES`]), a
//!   description and an `active` flag (disabling an endpoint fails its pending deliveries).
//!   The secret that signs the requests is shown when the endpoint is created and when
//!   `POST /api/v1/webhooks/{id}/rotate-secret` replaces it, never otherwise. Another
//!   tenant's endpoints and deliveries are 404.
//! - `GET /api/v1/webhooks/{id}/deliveries`: the delivery log, newest first, each delivery
//!   with its attempts; `POST /api/v1/webhooks/deliveries/{id}/redeliver` sends a delivery's
//!   event again (a new delivery: same event id, same body); `POST /api/v1/webhooks/{id}/ping`
//!   sends a `ping` event to that endpoint alone.
//! - `GET /api/v1/events?after=SEQ&limit=N&types=…` (keys with `sign-document` or `manage`,
//!   people who read documents): the tenant's events feed, for a system that missed
//!   deliveries (or has no endpoint) to catch up. Every event but test pings is in it, with
//!   the body its deliveries send, numbered per tenant from 1 without gaps; a page holds the
//!   events after `after`, oldest first, and `next`, the `after` of the next page, so a
//!   reader looping on `after=next` sees each event exactly once, across restarts of either
//!   side. Events are kept [`LOG_RETENTION`]; a cursor older than that is refused
//!   (`cursor_expired`) rather than silently skipping what was forgotten.
//!
//! **Emitting.** [`Webhooks::emit`] hands the event (its body, final) to a recorder task,
//! which stores every event that arrived meanwhile in one transaction (a group commit:
//! `document.signed` comes with every document the agent signs), each with the next number
//! of its tenant's feed and one pending delivery per active endpoint that wants it, and wakes
//! the worker when there are deliveries. The emitter waits for that commit, so an answer
//! given after an event is never ahead of the feed. It never fails its caller: errors are
//! logged.
//!
//! **Sending.** The worker ([`Webhooks::start`]) takes due deliveries under a lease (the
//! delivery's due time moves past the attempt's timeout, so no other process on the same
//! database sends it meanwhile, and one killed mid-attempt leaves it due again), at most
//! [`IN_FLIGHT`] at a time, and POSTs the body:
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! Signet-Event: document.signed
//! Signet-Delivery: dlv_…
//! Signet-Signature: t=1767225600,v1=5f0c…
//!
//! {"id":"evt_…","type":"document.signed","created_at":"2026-01-01T00:00:00Z","tenant":"tn_…","data":{…}}
//! ```
//!
//! A 2xx answer within 10 s delivers it. Anything else (another status, a redirect, which is
//! not followed, no connection, a timeout) is retried after the retry base (30 s by default)
//! doubled at each attempt, at most an hour, ±25 % so that retries of many deliveries spread
//! out; after the last attempt (8 by default) the delivery is `failed`. Every attempt is kept
//! (time, status, error, duration) and finished deliveries are forgotten after
//! [`LOG_RETENTION`]. Deliveries are rows, so those pending survive a restart.
//!
//! **Verifying.** `v1` is the lowercase hex HMAC-SHA256, keyed with the endpoint's secret
//! (the whole `whsec_…` text as UTF-8), of the timestamp `t` (Unix seconds of the attempt), a
//! `.`, and the raw body bytes. A receiver recomputes it over the body exactly as received,
//! compares in constant time with each `v1` of the header (after a rotation with a grace
//! period, the previous secret signs too, as a second `v1`), and refuses a `t` more than a
//! few minutes from its clock, so that a captured request cannot be replayed later. The event
//! `id` is the same in every delivery of an event: receivers deduplicate on it.
//! [`verify_signature`] does all of this.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use signet_store::{
    AttemptNext, Batch, DocumentRecord, DueDelivery, NewWebhookEvent, Store, Webhook, WebhookAttempt, WebhookDelivery,
    WebhookUpdate,
};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::auth::{Caller, Permission};
use crate::util::ApiJson;
use crate::{AppState, Error};

/// The event types an endpoint may ask for (`*`: all of them).
pub const EVENT_TYPES: &[&str] = &[
    "document.signed",
    "batch.completed",
    "seal.created",
    "seal.revoked",
    "seal.suspended",
    "seal.use_requested",
    "seal.use_approved",
    "seal.use_rejected",
    "envelope.sent",
    "envelope.party_signed",
    "envelope.completed",
    "envelope.declined",
    "envelope.voided",
    "envelope.expired",
    "ping",
    "*",
];

/// Records a change of the tenant's webhooks in the signing log.
async fn log(state: &AppState, caller: &Caller, tenant: &str, action: &str, webhook: &str, detail: Value) {
    let entry = signet_store::AuditEntry::new(tenant, &caller.actor(), action, "ok").target("webhook", webhook);
    crate::audit::record(state, entry.detail(detail)).await;
}

/// The tenant whose webhooks the caller may manage.
fn tenant_of(caller: &Caller) -> Result<&str, Error> {
    caller.may(Permission::ManageSettings)
}

/// How long one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts sent at a time by one process.
pub const IN_FLIGHT: usize = 4;
/// The longest wait between two attempts (before jitter).
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How long finished deliveries and their events are kept.
pub const LOG_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// A taken delivery is due again this long after it was taken, if its attempt was never
/// recorded (the process died).
const LEASE: Duration = Duration::from_secs(60);
/// The worker looks for due deliveries at least this often (others may come from other
/// processes on the same database).
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// After a database error, the worker waits this long.
const ERROR_PAUSE: Duration = Duration::from_secs(2);
/// How often the log is pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// The answer bytes of a failed attempt kept in its error.
const ANSWER_SNIPPET: usize = 256;
/// Endpoints per tenant.
const MAX_WEBHOOKS: usize = 32;
/// A URL's longest length.
const MAX_URL_LEN: usize = 2048;
/// Events stored in one transaction, at most.
const MAX_GROUP: usize = 1024;
/// Deliveries per page: by default, at most.
const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;
/// The longest grace period of a rotated secret.
const MAX_PREVIOUS_VALID: i64 = 7 * 24 * 3600;

/// How deliveries are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; doubled after each next one.
    pub base: Duration,
    /// Attempts before a delivery fails.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(30), max_attempts: 8 }
    }
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts (1 or more): base × 2^(attempts-1), at most
    /// [`MAX_BACKOFF`], then ±25 %.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let wait = self.base.saturating_mul(1 << doublings).min(MAX_BACKOFF);
        wait.mul_f64(0.75 + rand::random::<f64>() * 0.5)
    }
}

/// The webhook service: emits events and runs the worker that delivers them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    client: reqwest::Client,
    retry: RetryPolicy,
    wake: Arc<Notify>,
    in_flight: Arc<Semaphore>,
    recorder: mpsc::Sender<EventJob>,
    started: AtomicBool,
    stopping: AtomicBool,
}

/// What the recorder is handed.
#[derive(Debug)]
enum EventJob {
    /// An event to store, and whom to tell once it is (or its failure logged).
    Event(NewWebhookEvent, oneshot::Sender<()>),
    /// Say so once every event handed over before is stored (or its failure logged).
    Flush(oneshot::Sender<()>),
}

/// The body every delivery of an event sends.
#[derive(Serialize)]
struct EventBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    created_at: String,
    tenant: &'a str,
    data: Value,
}

impl Webhooks {
    /// The service over `store`; its worker runs once [`Webhooks::start`]ed. Starts the task
    /// that stores events (needs a Tokio runtime).
    pub fn new(store: Store, retry: RetryPolicy) -> Result<Webhooks, Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .user_agent(concat!("Signet-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal { context: "preparing the webhook HTTP client", source: Box::new(e) })?;
        let wake = Arc::new(Notify::new());
        let (recorder, jobs) = mpsc::channel(8192);
        tokio::spawn(record_events(store.clone(), jobs, wake.clone()));
        Ok(Webhooks {
            inner: Arc::new(Inner {
                store,
                client,
                retry: RetryPolicy { max_attempts: retry.max_attempts.max(1), ..retry },
                wake,
                in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
                recorder,
                started: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
            }),
        })
    }

    /// Starts the worker (once; later calls do nothing). Needs a Tokio runtime.
    pub fn start(&self) {
        if !self.inner.started.swap(true, Ordering::SeqCst) {
            tokio::spawn(work(self.inner.clone()));
        }
    }

    /// Stores the events handed over so far, stops taking deliveries and waits (at most
    /// `within`) for the attempts in flight to be recorded. What is pending is sent after the
    /// next start.
    pub async fn shutdown(&self, within: Duration) {
        self.flush().await;
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
        let all = u32::try_from(IN_FLIGHT).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(within, self.inner.in_flight.acquire_many(all)).await;
    }

    /// Emits an event of `event_type` with `data`: stored in the tenant's feed and sent to
    /// the tenant's endpoints that want it. Returns once it is stored (or its failure
    /// logged). Never fails.
    pub async fn emit(&self, tenant: &str, event_type: &str, data: Value) {
        let event = match new_event(tenant, event_type, data) {
            Ok(event) => event,
            Err(e) => return tracing::error!("webhooks: emitting {event_type} for tenant {tenant}: {e}"),
        };
        let (done, stored) = oneshot::channel();
        if self.inner.recorder.send(EventJob::Event(event, done)).await.is_err() || stored.await.is_err() {
            tracing::error!("webhooks: {event_type} for tenant {tenant} dropped: the event recorder has stopped");
        }
    }

    /// Returns once every event emitted before is stored (or its failure logged).
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.inner.recorder.send(EventJob::Flush(done)).await.is_ok() {
            let _ = flushed.await;
        }
    }

    /// What wakes the delivery worker (for events stored elsewhere, see
    /// [`crate::meter::Meter::record_with_documents`]).
    pub fn waker(&self) -> Arc<Notify> {
        self.inner.wake.clone()
    }

    /// The `document.signed` event of a document the agent signed, to store with the
    /// document itself ([`crate::meter::Meter::record_with_documents`]): one commit for both.
    pub fn document_signed(
        tenant: &str,
        document: &DocumentRecord,
        identity: &str,
        level: impl ToString,
    ) -> Result<NewWebhookEvent, Error> {
        let data = json!({
            "document_id": document.id,
            "name": document.name,
            "sha256": document.sha256,
            "size": document.size,
            "identity": identity,
            "level": level.to_string(),
            "source_document_id": document.source_id,
        });
        new_event(tenant, "document.signed", data)
    }

    /// `batch.completed`, for a batch none of whose documents is pending any more.
    pub async fn batch_completed(&self, batch: &Batch) {
        let progress = match self.inner.store.batch_progress(&batch.id).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("webhooks: batch.completed of {}: {e}", batch.id);
                return;
            }
        };
        let data = json!({
            "batch_id": batch.id,
            "total": progress.total,
            "signed": progress.done,
            "failed": progress.failed,
        });
        self.emit(&batch.tenant_id, "batch.completed", data).await;
    }

    /// Stores a test event for the endpoint `only` (outside the feed) and returns its
    /// delivery's id; the worker is not woken.
    async fn store_ping(&self, tenant: &str, data: Value, only: &str) -> Result<Vec<String>, Error> {
        let event = new_event(tenant, "ping", data)?;
        Ok(self.inner.store.emit_webhook_event(&event, Some(only)).await?)
    }

    fn wake(&self) {
        self.inner.wake.notify_one();
    }
}

/// A new event of the tenant with its final body.
fn new_event(tenant: &str, event_type: &str, data: Value) -> Result<NewWebhookEvent, Error> {
    let id = signet_store::new_id("evt");
    let created_at = signet_store::now_millis();
    let created = UNIX_EPOCH + Duration::from_millis(u64::try_from(created_at).unwrap_or(0));
    let body = EventBody { id: &id, event_type, created_at: crate::identities::rfc3339(created), tenant, data };
    let body = serde_json::to_string(&body)
        .map_err(|e| Error::Internal { context: "writing a webhook event", source: Box::new(e) })?;
    Ok(NewWebhookEvent { id, tenant_id: tenant.into(), event_type: event_type.into(), body, created_at })
}

/// The recorder: stores every event that arrived meanwhile in one transaction (a group
/// commit, as the meter does for signing records: `document.signed` comes with every
/// document the agent signs), wakes the worker when deliveries were made, then answers the
/// emitters and flushes of the group.
async fn record_events(store: Store, mut jobs: mpsc::Receiver<EventJob>, wake: Arc<Notify>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut events = Vec::with_capacity(group.len());
        let mut waiting = Vec::with_capacity(group.len());
        for job in group {
            match job {
                EventJob::Event(e, done) => {
                    events.push(e);
                    waiting.push(done);
                }
                EventJob::Flush(done) => waiting.push(done),
            }
        }
        let mut result = store.emit_webhook_events(&events).await;
        if result.is_err() {
            // one retry: SQLite may have been busy beyond its timeout
            tokio::time::sleep(Duration::from_millis(50)).await;
            result = store.emit_webhook_events(&events).await;
        }
        match result {
            Ok(emitted) if emitted.iter().any(|e| !e.deliveries.is_empty()) => wake.notify_one(),
            Ok(_) => {}
            Err(e) => {
                for event in &events {
                    tracing::error!(
                        "webhooks: storing {} {} of tenant {}: {e}",
                        event.event_type,
                        event.id,
                        event.tenant_id
                    );
                }
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

/// The worker: takes due deliveries while attempts may start, then sleeps until the next is
/// due, an event is emitted, an attempt ends, or [`POLL_INTERVAL`] passes.
async fn work(inner: Arc<Inner>) {
    let mut pruned: Option<Instant> = None;
    loop {
        if inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        if pruned.is_none_or(|at| at.elapsed() >= PRUNE_INTERVAL) {
            pruned = Some(Instant::now());
            prune(&inner).await;
        }
        let mut permits = Vec::new();
        while let Ok(p) = inner.in_flight.clone().try_acquire_owned() {
            permits.push(p);
        }
        let wait = if permits.is_empty() {
            POLL_INTERVAL
        } else {
            let now = signet_store::now_millis();
            let lease_until = now + millis(LEASE);
            match inner.store.claim_webhook_deliveries(now, lease_until, permits.len() as i64).await {
                Ok(due) => {
                    let all_taken = due.len() == permits.len();
                    for (delivery, permit) in due.into_iter().zip(permits.drain(..)) {
                        tokio::spawn(deliver(inner.clone(), delivery, permit));
                    }
                    drop(permits);
                    if all_taken {
                        continue;
                    }
                    until_next_due(&inner).await
                }
                Err(e) => {
                    tracing::error!("webhooks: taking due deliveries: {e}");
                    ERROR_PAUSE
                }
            }
        };
        tokio::select! {
            () = inner.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// How long until the next pending delivery is due, at most [`POLL_INTERVAL`].
async fn until_next_due(inner: &Inner) -> Duration {
    match inner.store.next_webhook_due().await {
        Ok(Some(due)) => {
            let ms = due - signet_store::now_millis();
            // one due now was not taken: another process has it, or it was just made
            if ms <= 0 { Duration::from_millis(200) } else { Duration::from_millis(ms as u64).min(POLL_INTERVAL) }
        }
        Ok(None) => POLL_INTERVAL,
        Err(e) => {
            tracing::error!("webhooks: reading the next due delivery: {e}");
            ERROR_PAUSE
        }
    }
}

async fn prune(inner: &Inner) {
    let before = signet_store::now_millis() - millis(LOG_RETENTION);
    match inner.store.prune_webhook_log(before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("webhooks: forgot {n} deliveries older than {} days", LOG_RETENTION.as_secs() / 86_400),
        Err(e) => tracing::error!("webhooks: pruning the delivery log: {e}"),
    }
}

/// One attempt of a taken delivery, recorded with what comes next.
async fn deliver(inner: Arc<Inner>, due: DueDelivery, permit: OwnedSemaphorePermit) {
    if !due.webhook.active {
        if let Err(e) = inner.store.fail_webhook_delivery(&due.id, signet_store::DISABLED).await {
            tracing::error!("webhooks: delivery {}: {e}", due.id);
        }
    } else {
        let n = due.attempts + 1;
        let at = signet_store::now_millis();
        let started = Instant::now();
        let outcome = send(&inner.client, &due, at).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let (status_code, error) = match outcome {
            Ok(status) => (Some(i64::from(status)), None),
            Err((status, error)) => (status.map(i64::from), Some(error)),
        };
        let next = match &error {
            None => AttemptNext::Delivered,
            Some(_) if n >= i64::from(inner.retry.max_attempts) => AttemptNext::Failed,
            Some(_) => AttemptNext::RetryAt(signet_store::now_millis() + millis(inner.retry.backoff(n))),
        };
        match &error {
            None => tracing::debug!("webhooks: {} delivered to {} (attempt {n})", due.id, due.webhook.id),
            Some(e) if next == AttemptNext::Failed => {
                tracing::warn!("webhooks: {} to {} failed after {n} attempts: {e}", due.id, due.webhook.id)
            }
            Some(e) => tracing::info!("webhooks: {} to {}, attempt {n}: {e}", due.id, due.webhook.id),
        }
        let attempt = WebhookAttempt { n, at, status_code, error, duration_ms };
        if let Err(e) = inner.store.record_webhook_attempt(&due.id, &attempt, next).await {
            // the lease runs out and the delivery is attempted again
            tracing::error!("webhooks: recording attempt {n} of {}: {e}", due.id);
        }
    }
    drop(permit);
    inner.wake.notify_one();
}

/// POSTs the delivery's event: the status of a 2xx answer, or the status (if any) and why
/// the attempt failed.
async fn send(client: &reqwest::Client, due: &DueDelivery, at: i64) -> Result<u16, (Option<u16>, String)> {
    let signature = signature_header(&due.webhook.signing_secrets(at), at / 1000, due.body.as_bytes());
    let response = client
        .post(&due.webhook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Signet-Event", &due.event_type)
        .header("Signet-Delivery", &due.id)
        .header("Signet-Signature", signature)
        .body(due.body.clone())
        .send()
        .await
        .map_err(|e| (None, describe(e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let mut error = format!("HTTP {}", status.as_u16());
    if status.is_redirection() {
        error.push_str(" (redirects are not followed)");
    }
    let snippet = answer_snippet(response).await;
    if !snippet.is_empty() {
        error.push_str(": ");
        error.push_str(&snippet);
    }
    Err((Some(status.as_u16()), error))
}

/// The start of an answer's body, as one line of text.
async fn answer_snippet(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ANSWER_SNIPPET {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ANSWER_SNIPPET);
    let text: String = String::from_utf8_lossy(&bytes).chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    text.trim().to_string()
}

/// Why a request got no answer, without its URL (which may hold a token).
fn describe(e: reqwest::Error) -> String {
    signet_access::http_error_text(e, ATTEMPT_TIMEOUT)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The `Signet-Signature` header of `body` sent at `timestamp` (Unix seconds): `t=` then one
/// `v1=` per secret, each the hex HMAC-SHA256 of `"<timestamp>.<body>"`.
pub fn signature_header(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&signet_store::hex(signed_payload_tag(secret, timestamp, body).as_ref()));
    }
    header
}

fn signed_payload_tag(secret: &str, timestamp: i64, body: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    context.sign()
}

/// What a receiver does with a request: whether `header` (`Signet-Signature`) holds a valid
/// signature of `body` by `secret`, made at most `tolerance` from `now`.
pub fn verify_signature(secret: &str, header: &str, body: &[u8], now: SystemTime, tolerance: Duration) -> bool {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", digits)) => tags.extend(hex::decode(digits).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return false };
    let now = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return false;
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    tags.iter().any(|tag| hmac::verify(&key, &message, tag).is_ok())
}

/// `POST /api/v1/webhooks` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST the events: `http://` or `https://`, without user or password.
    #[schema(example = "https://erp.example.com/signet/events")]
    pub url: String,
    /// Event types to receive; empty, absent or `["*"]`: all. `seal.*`: every `seal.` event.
    #[serde(default)]
    #[schema(example = json!(["document.signed", "batch.completed"]))]
    pub events: Vec<String>,
    /// A label.
    #[serde(default)]
    pub description: Option<String>,
}

/// `PATCH /api/v1/webhooks/{id}` body: what to change.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// A new URL.
    #[serde(default)]
    pub url: Option<String>,
    /// A new filter.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// A new label (empty: none).
    #[serde(default)]
    pub description: Option<String>,
    /// `false`: receive nothing (pending deliveries fail); `true`: receive again.
    #[serde(default)]
    pub active: Option<bool>,
}

/// An endpoint with its secret: answered only when the secret is made.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of `Signet-Signature` (the whole text). Shown this once.
    #[schema(example = "whsec_mzxw6ytboi…")]
    pub secret: String,
}

/// A page of an endpoint's deliveries.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    pub deliveries: Vec<WebhookDelivery>,
    /// The `before` of the next page, while there is one.
    pub next_before: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    before: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateQuery {
    previous_valid_seconds: Option<i64>,
}

fn query<T: serde::de::DeserializeOwned>(raw: Option<&str>, expected: &str) -> Result<T, Error> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| Error::bad("bad_query", format!("query string: {e} ({expected})")))
}

/// The URL as it will be used, if it is one events may go to.
fn endpoint_url(url: &str) -> Result<String, Error> {
    if url.len() > MAX_URL_LEN {
        return Err(Error::bad("bad_url", format!("the URL is longer than {MAX_URL_LEN} characters")));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::bad("bad_url", format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::bad("bad_url", format!("the URL's scheme is '{}'; use http or https", parsed.scheme())));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::bad("bad_url", "the URL carries credentials; the signature authenticates the requests"));
    }
    if parsed.host().is_none() {
        return Err(Error::bad("bad_url", "the URL names no host"));
    }
    Ok(parsed.to_string())
}

/// The filter, checked against [`EVENT_TYPES`], without repeats.
fn event_filter(events: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let known = EVENT_TYPES.contains(&e.as_str())
            || e.strip_suffix('*').is_some_and(|p| p.ends_with('.') && EVENT_TYPES.iter().any(|t| t.starts_with(p)));
        if !known {
            return Err(Error::bad(
                "bad_events",
                format!("unknown event type '{e}'; known: {} (or a prefix like seal.*)", EVENT_TYPES.join(", ")),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

fn description(text: Option<&str>) -> Result<Option<String>, Error> {
    match text {
        Some(d) if d.chars().count() > 200 => {
            Err(Error::bad("bad_description", "a description has at most 200 characters"))
        }
        // empty: none (in a change, it removes the description)
        Some(d) => Ok(Some(d.trim().to_string())),
        None => Ok(None),
    }
}

fn new_secret() -> String {
    format!("whsec_{}", signet_store::random_base32(32))
}

/// The endpoint of `id` in the tenant, refused with a 409 when it is disabled.
async fn active_webhook(state: &AppState, tenant: &str, id: &str) -> Result<Webhook, Error> {
    let webhook = state.store().webhook(tenant, id).await?;
    if !webhook.active {
        return Err(Error::Conflict {
            code: "webhook_disabled",
            message: format!("webhook {id} is disabled; enable it first (PATCH with \"active\": true)"),
        });
    }
    Ok(webhook)
}

/// Create a webhook endpoint.
///
/// Scope `manage` (people: the role `tenant_admin`).
/// The answer holds the endpoint's signing secret, shown this once (`rotate-secret`
/// makes a new one). Each event is POSTed as JSON `{id, type, created_at, tenant, data}` with
/// `Signet-Event`, `Signet-Delivery` and `Signet-Signature: t=<unix seconds>,v1=<hex
/// HMAC-SHA256(secret, "<t>.<body>")>`; a 2xx answer within 10 s delivers it, anything else is
/// retried with exponential backoff. Event types: `document.signed`, `batch.completed`,
/// `seal.created`, `seal.revoked`, `seal.suspended`, `seal.use_requested`, `seal.use_approved`,
/// `seal.use_rejected`, `ping`.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    request_body(content = CreateWebhook, example = json!({"url": "https://erp.example.com/signet/events", "events": ["document.signed", "batch.completed"], "description": "ERP"})),
    responses(
        (status = 201, description = "The endpoint, with its secret shown this once.", body = WebhookWithSecret),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateWebhook, { 64 * 1024 }>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), Error> {
    let tenant = tenant_of(&caller)?;
    let url = endpoint_url(&req.url)?;
    let events = event_filter(&req.events)?;
    let description = description(req.description.as_deref())?.filter(|d| !d.is_empty());
    if state.store().webhooks(tenant).await?.len() >= MAX_WEBHOOKS {
        return Err(Error::Conflict {
            code: "too_many_webhooks",
            message: format!("a tenant has at most {MAX_WEBHOOKS} webhooks; delete one first"),
        });
    }
    let secret = new_secret();
    let webhook = state.store().create_webhook(tenant, &url, &events, description.as_deref(), &secret).await?;
    log(
        &state,
        &caller,
        tenant,
        "webhook.create",
        &webhook.id,
        json!({ "url": webhook.url, "events": webhook.events }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(WebhookWithSecret { webhook, secret })))
}

/// List the tenant's webhook endpoints.
///
/// Scope `manage` (people: the role `tenant_admin`).
/// Secrets are not shown.
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    responses(
        (status = 200, description = "The endpoints, oldest first.", body = Vec<Webhook>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_webhooks(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Webhook>>, Error> {
    let tenant = tenant_of(&caller)?;
    Ok(Json(state.store().webhooks(tenant).await?))
}

/// Show a webhook endpoint.
///
/// Scope `manage` (people: the role `tenant_admin`).
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)")),
    responses(
        (status = 200, description = "The endpoint.", body = Webhook),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn show_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, Error> {
    let tenant = tenant_of(&caller)?;
    Ok(Json(state.store().webhook(tenant, &id).await?))
}

/// Change a webhook endpoint.
///
/// Scope `manage` (people: the role `tenant_admin`).
/// Only the fields given change. A disabled endpoint (`"active": false`)
/// receives nothing; its pending deliveries fail.
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)")),
    request_body(content = UpdateWebhook, example = json!({"events": ["*"], "active": true})),
    responses(
        (status = 200, description = "The endpoint as it is now.", body = Webhook),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateWebhook, { 64 * 1024 }>,
) -> Result<Json<Webhook>, Error> {
    let tenant = tenant_of(&caller)?;
    let update = WebhookUpdate {
        url: req.url.as_deref().map(endpoint_url).transpose()?,
        events: req.events.as_deref().map(event_filter).transpose()?,
        description: description(req.description.as_deref())?,
        active: req.active,
    };
    let webhook = state.store().update_webhook(tenant, &id, &update).await?;
    let detail = json!({ "url": webhook.url, "events": webhook.events, "active": webhook.active });
    log(&state, &caller, tenant, "webhook.update", &id, detail).await;
    Ok(Json(webhook))
}

/// Delete a webhook endpoint.
///
/// Scope `manage` (people: the role `tenant_admin`).
/// Its deliveries and their log go with it; nothing more is sent to it.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    let tenant = tenant_of(&caller)?;
    state.store().delete_webhook(tenant, &id).await?;
    log(&state, &caller, tenant, "webhook.delete", &id, json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a webhook endpoint's secret.
///
/// Scope `manage` (people: the role `tenant_admin`).
/// The answer holds the new secret, shown this once; requests are signed
/// with it from now on. With `previous_valid_seconds`, the old secret also signs (a second
/// `v1` in `Signet-Signature`) for that long, so that receivers can switch without refusing
/// an event.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)"),
        ("previous_valid_seconds" = Option<i64>, Query, description = "How long the old secret also signs (0 to 604800; default 0)"),
    ),
    responses(
        (status = 200, description = "The endpoint with its new secret, shown this once.", body = WebhookWithSecret),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<WebhookWithSecret>, Error> {
    let tenant = tenant_of(&caller)?;
    let q: RotateQuery = query(raw.as_deref(), "previous_valid_seconds=N")?;
    let grace = q.previous_valid_seconds.unwrap_or(0);
    if !(0..=MAX_PREVIOUS_VALID).contains(&grace) {
        return Err(Error::bad(
            "bad_query",
            format!("previous_valid_seconds is {grace}; it must be 0 to {MAX_PREVIOUS_VALID}"),
        ));
    }
    let until = (grace > 0).then(|| signet_store::now_millis() + grace * 1000);
    let secret = new_secret();
    let webhook = state.store().rotate_webhook_secret(tenant, &id, &secret, until).await?;
    log(&state, &caller, tenant, "webhook.rotate_secret", &id, json!({ "previous_valid_seconds": grace })).await;
    Ok(Json(WebhookWithSecret { webhook, secret }))
}

/// A webhook endpoint's deliveries.
///
/// Scope `manage` (people: the role `tenant_admin`).
/// Newest first, each with its attempts (time, HTTP status, error,
/// duration); finished deliveries are kept 30 days.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)"),
        ("before" = Option<String>, Query, description = "Deliveries made before this one (`dlv_…`): the `next_before` of the previous page"),
        ("limit" = Option<i64>, Query, description = "At most this many (default 50, at most 200)"),
    ),
    responses(
        (status = 200, description = "A page of deliveries.", body = DeliveryPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DeliveryPage>, Error> {
    let tenant = tenant_of(&caller)?;
    let page: PageQuery = query(raw.as_deref(), "before=dlv_…, limit=N")?;
    let limit = page.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::bad("bad_query", format!("limit is {limit}; it must be 1 to {MAX_PAGE}")));
    }
    state.store().webhook(tenant, &id).await?;
    let mut deliveries = state.store().webhook_deliveries(tenant, &id, page.before.as_deref(), limit + 1).await?;
    let next_before = if deliveries.len() as i64 > limit {
        deliveries.truncate(limit as usize);
        deliveries.last().map(|d| d.id.clone())
    } else {
        None
    };
    Ok(Json(DeliveryPage { deliveries, next_before }))
}

/// Send a delivery's event again.
///
/// Scope `manage` (people: the role `tenant_admin`).
/// A new delivery of the same event (same `id`, same body) to the same
/// endpoint, sent at once and retried like any other.
#[utoipa::path(
    post,
    path = "/webhooks/deliveries/{id}/redeliver",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    params(("id" = String, Path, description = "The delivery's id (`dlv_…`)")),
    responses(
        (status = 202, description = "The new delivery, pending.", body = WebhookDelivery),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<WebhookDelivery>), Error> {
    let tenant = tenant_of(&caller)?;
    let original = state.store().webhook_delivery(tenant, &id).await?;
    active_webhook(&state, tenant, &original.webhook_id).await?;
    let delivery = state.store().redeliver_webhook_delivery(tenant, &id).await?;
    state.webhooks().wake();
    log(&state, &caller, tenant, "webhook.redeliver", &original.webhook_id, json!({ "delivery": id })).await;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

/// Send a test event.
///
/// Scope `manage` (people: the role `tenant_admin`).
/// A `ping` event (`data`: `{"webhook_id": …}`) to this endpoint alone,
/// whatever its filter: to check the URL and the signature check of the receiver.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/ping",
    tag = "webhooks",
    security(("bearer" = ["manage"])),
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)")),
    responses(
        (status = 202, description = "The delivery of the ping, pending.", body = WebhookDelivery),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn ping(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<WebhookDelivery>), Error> {
    let tenant = tenant_of(&caller)?;
    let webhook = active_webhook(&state, tenant, &id).await?;
    let data = json!({ "webhook_id": webhook.id });
    let stored = state.webhooks().store_ping(tenant, data, &webhook.id).await?;
    let delivery_id = stored.first().ok_or_else(|| Error::Missing(format!("webhook {id}")))?;
    // read before the worker may have sent it: the answer shows it pending
    let delivery = state.store().webhook_delivery(tenant, delivery_id).await?;
    state.webhooks().wake();
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

/// A page of the events feed.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// Oldest first.
    pub events: Vec<FeedEntry>,
    /// The `after` of the next page: the last `seq` here, or the `after` asked for when there
    /// is nothing new.
    pub next: i64,
}

/// An event of the feed: the body its webhook deliveries send, with its number.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FeedEntry {
    /// Its number in the tenant's feed: 1, 2, 3… without gaps.
    pub seq: i64,
    /// `evt_…`: the same id as in its webhook deliveries (receivers deduplicate on it).
    #[schema(example = "evt_2b7kq3xk5m4c6e7fyz3n5p6q7r")]
    pub id: String,
    /// The event's type.
    #[serde(rename = "type")]
    #[schema(example = "document.signed")]
    pub event_type: String,
    /// RFC 3339, UTC.
    #[schema(example = "2026-01-01T00:00:00Z")]
    pub created_at: String,
    /// What happened (by type, as in the webhook deliveries).
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    after: Option<i64>,
    limit: Option<i64>,
    types: Option<String>,
}

/// Read the events feed.
///
/// Scope `sign-document` or `manage` (people: the roles that read documents).
/// The tenant's events after `after`, oldest first: every event its webhooks may receive
/// (test pings aside), whether or not an endpoint exists, with the body a delivery sends.
/// Events are numbered per tenant 1, 2, 3… without gaps, and an event never appears after a
/// larger number was shown, so a client that saves `next` and asks again with `after=next`
/// sees each event exactly once, even across restarts. Start from `after=0`. Events are kept
/// 30 days: a non-zero `after` older than the oldest kept event is refused with 409
/// `cursor_expired`.
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    security(("bearer" = ["sign-document"]), ("bearer" = ["manage"])),
    params(
        ("after" = Option<i64>, Query, description = "Events numbered after this one: the `next` of the previous page (default 0: from the oldest kept)"),
        ("limit" = Option<i64>, Query, description = "At most this many (default 50, at most 200)"),
        ("types" = Option<String>, Query, description = "Only these types, comma separated, as in a webhook filter (`document.signed,seal.*`); default all"),
    ),
    responses(
        (status = 200, description = "A page of events.", body = EventPage,
         example = json!({"events": [{"seq": 42, "id": "evt_2b7kq3xk5m4c6e7fyz3n5p6q7r", "type": "document.signed", "created_at": "2026-01-01T00:00:00Z", "data": {"document_id": "doc_2b7kq3xk5m4c6e7fyz3n5p6q7s"}}], "next": 42})),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventPage>, Error> {
    let tenant = caller.may(Permission::ReadDocuments)?;
    let q: FeedQuery = query(raw.as_deref(), "after=N, limit=N, types=a,b")?;
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(Error::bad("bad_query", format!("after is {after}; it must be 0 or more")));
    }
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::bad("bad_query", format!("limit is {limit}; it must be 1 to {MAX_PAGE}")));
    }
    let filter: Vec<String> = match q.types.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(list) => list.split(',').map(|t| t.trim().to_string()).collect(),
    };
    let types = feed_types(&event_filter(&filter)?);
    if after > 0 {
        if let Some(start) = state.store().webhook_event_feed_start(tenant).await? {
            if after < start - 1 {
                return Err(Error::Conflict {
                    code: "cursor_expired",
                    message: format!(
                        "events up to {} were forgotten after {} days; catch up another way, then continue from after={}",
                        start - 1,
                        LOG_RETENTION.as_secs() / 86_400,
                        start - 1
                    ),
                });
            }
        }
    }
    let stored = state.store().webhook_event_feed(tenant, after, &types, limit).await?;
    let next = stored.last().map_or(after, |e| e.seq);
    let events = stored.into_iter().map(feed_entry).collect::<Result<_, _>>()?;
    Ok(Json(EventPage { events, next }))
}

/// The exact types a checked filter takes (none: all); `ping` is never in the feed.
fn feed_types(filter: &[String]) -> Vec<String> {
    if filter.is_empty() || filter.iter().any(|f| f == "*") {
        return Vec::new();
    }
    let probe = Webhook {
        id: String::new(),
        tenant_id: String::new(),
        url: String::new(),
        events: filter.to_vec(),
        secret: String::new(),
        previous_secret: None,
        previous_secret_until: None,
        description: None,
        active: true,
        created_at: 0,
        updated_at: 0,
    };
    EVENT_TYPES.iter().filter(|t| **t != "*" && probe.wants(t)).map(|t| t.to_string()).collect()
}

/// A stored event as the feed shows it: its body's fields with its number.
fn feed_entry(event: signet_store::FeedEvent) -> Result<FeedEntry, Error> {
    #[derive(Deserialize)]
    struct Body {
        created_at: String,
        data: Value,
    }
    let body: Body = serde_json::from_str(&event.body)
        .map_err(|e| Error::Store(signet_store::Error::Corrupt(format!("the body of event {}: {e}", event.id))))?;
    Ok(FeedEntry {
        seq: event.seq,
        id: event.id,
        event_type: event.event_type,
        created_at: body.created_at,
        data: body.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_within_the_tolerance_only() {
        let body = br#"{"id":"evt_x"}"#;
        let now = SystemTime::now();
        let t = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
        let header = signature_header(&["whsec_new", "whsec_old"], t, body);
        let five_minutes = Duration::from_secs(300);
        assert!(verify_signature("whsec_new", &header, body, now, five_minutes));
        assert!(verify_signature("whsec_old", &header, body, now, five_minutes));
        assert!(!verify_signature("whsec_other", &header, body, now, five_minutes));
        assert!(!verify_signature("whsec_new", &header, br#"{"id":"evt_y"}"#, now, five_minutes));
        let later = now + Duration::from_secs(301);
        assert!(!verify_signature("whsec_new", &header, body, later, five_minutes));
        assert!(!verify_signature("whsec_new", "v1=00", body, now, five_minutes));
    }

    /// RFC 4231 test case 2 ("Jefe"), through the header's form.
    #[test]
    fn the_tag_is_hmac_sha256() {
        let header = signature_header(&["Jefe"], 0, b"what do ya want for nothing?");
        // the signed text is "0." followed by the body, so compare with a direct HMAC
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let expected = signet_store::hex(hmac::sign(&key, b"0.what do ya want for nothing?").as_ref());
        assert_eq!(header, format!("t=0,v1={expected}"));
        let rfc = signet_store::hex(hmac::sign(&key, b"what do ya want for nothing?").as_ref());
        assert_eq!(rfc, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn urls_and_filters_are_checked() {
        assert_eq!(endpoint_url("http://127.0.0.1:8080").ok().as_deref(), Some("http://127.0.0.1:8080/"));
        assert!(endpoint_url("https://hooks.example.com/a?b=c").is_ok());
        for bad in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "file:///etc/passwd",
            "nope",
        ] {
            assert!(endpoint_url(bad).is_err(), "{bad}");
        }
        assert_eq!(event_filter(&["ping".into(), "ping".into()]).ok(), Some(vec!["ping".to_string()]));
        assert!(event_filter(&["seal.*".into()]).is_ok());
        assert!(event_filter(&["document.deleted".into()]).is_err());
        assert!(event_filter(&["nothing.*".into()]).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let policy = RetryPolicy { base: Duration::from_secs(30), max_attempts: 8 };
        for (n, nominal) in [(1, 30.0), (2, 60.0), (3, 120.0), (8, 3600.0), (40, 3600.0)] {
            let wait = policy.backoff(n).as_secs_f64();
            assert!(wait >= nominal * 0.75 && wait <= nominal * 1.25, "attempt {n}: {wait}");
        }
    }
}
