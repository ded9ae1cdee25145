//! Webhooks: a tenant's endpoints, the events emitted to them, and the log of their deliveries.
//!
//! An event is stored once with the exact body every delivery sends, so a retry or a manual
//! redelivery carries the same event id and the same bytes. Each endpoint the event goes to
//! gets a delivery row: `pending` until an attempt is answered 2xx (`delivered`) or the last
//! attempt fails (`failed`); each attempt is a row of `webhook_attempts`. Sending is the
//! server's work; the store only hands out due deliveries under a lease (see
//! [`Store::claim_webhook_deliveries`]) and records what happened.
//!
//! Every event is stored, webhooks or not: a tenant's events, numbered from 1 without gaps
//! ([`Store::emit_webhook_events`]), are its feed, which a system that missed deliveries
//! reads to catch up ([`Store::webhook_event_feed`]).

use std::collections::{BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::records::{AnyQuery, Row, insert_rows};
use crate::{Backend, Error, Result, Store, get, new_id, now_millis, parse_json, to_json};

/// A tenant's webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// `whk_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// Where events are POSTed (`http` or `https`).
    pub url: String,
    /// The event types it receives; empty or `["*"]`: every event. `prefix.*` (e.g. `seal.*`)
    /// receives every type under that prefix.
    pub events: Vec<String>,
    /// The HMAC secret that signs the requests: shown when created or rotated, never again.
    #[serde(skip)]
    pub secret: String,
    /// After a rotation, the secret before it, which also signs until
    /// `previous_secret_until`.
    #[serde(skip)]
    pub previous_secret: Option<String>,
    /// Until when (Unix milliseconds) the previous secret also signs; null: it does not.
    pub previous_secret_until: Option<i64>,
    /// A label.
    pub description: Option<String>,
    /// Whether events go to it; a disabled endpoint receives nothing.
    pub active: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

impl Webhook {
    /// Whether this endpoint's filter takes events of `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.is_empty()
            || self.events.iter().any(|e| {
                e == "*"
                    || e == event_type
                    || e.strip_suffix('*').is_some_and(|prefix| prefix.ends_with('.') && event_type.starts_with(prefix))
            })
    }

    /// The secrets that sign a request made at `now` (Unix milliseconds): the current one,
    /// then the previous one while it is still valid.
    pub fn signing_secrets(&self, now: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if now < until {
                secrets.push(previous);
            }
        }
        secrets
    }
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct WebhookUpdate {
    /// A new URL.
    pub url: Option<String>,
    /// A new filter.
    pub events: Option<Vec<String>>,
    /// A new label (empty: none).
    pub description: Option<String>,
    /// Enable or disable.
    pub active: Option<bool>,
}

/// Where a delivery is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    /// An attempt was answered 2xx.
    Delivered,
    /// Every attempt failed, or the endpoint was disabled meanwhile.
    Failed,
}

impl DeliveryState {
    /// The state's name, as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One attempt of a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAttempt {
    /// 1 for the first attempt.
    pub n: i64,
    /// When it was made, Unix milliseconds.
    pub at: i64,
    /// The HTTP status answered; null when no answer came (connection refused, timeout).
    pub status_code: Option<i64>,
    /// Why it failed, when it did (shortened).
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

/// One event sent (or to send) to one endpoint, with its attempts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// `dlv_…`: sent as the `Signet-Delivery` header.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The event (`evt_…`): the `id` of the body; the same for every delivery of the event.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The owner.
    pub tenant_id: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (Unix milliseconds), while pending.
    pub next_attempt_at: Option<i64>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<i64>,
    /// The HTTP status of the last attempt, when one was answered.
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Every attempt, first first.
    pub attempt_log: Vec<WebhookAttempt>,
}

/// An event to emit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWebhookEvent {
    /// `evt_…` (also inside `body`).
    pub id: String,
    /// The tenant whose endpoints receive it.
    pub tenant_id: String,
    /// Its type, e.g. `document.signed`.
    pub event_type: String,
    /// The JSON every delivery sends.
    pub body: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A delivery taken by a worker: what to send where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    /// The delivery.
    pub id: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The endpoint, as it is now.
    pub webhook: Webhook,
    /// The event.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// Its body.
    pub body: String,
}

/// What comes after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptNext {
    /// It was answered 2xx.
    Delivered,
    /// Try again at this time (Unix milliseconds).
    RetryAt(i64),
    /// Give up.
    Failed,
}

/// The last error of the deliveries failed because their endpoint was disabled.
pub const DISABLED: &str = "the endpoint was disabled";

/// Longest error text kept with an attempt.
const MAX_ERROR_CHARS: usize = 500;

fn webhook_from_row(row: &AnyRow) -> Result<Webhook> {
    let events: String = get(row, "events")?;
    Ok(Webhook {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        url: get(row, "url")?,
        events: parse_json("webhook events", &events)?,
        secret: get(row, "secret")?,
        previous_secret: get(row, "previous_secret")?,
        previous_secret_until: get(row, "previous_secret_until")?,
        description: get(row, "description")?,
        active: get::<i64>(row, "active")? != 0,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn state_of(text: &str) -> Result<DeliveryState> {
    match text {
        "pending" => Ok(DeliveryState::Pending),
        "delivered" => Ok(DeliveryState::Delivered),
        "failed" => Ok(DeliveryState::Failed),
        other => Err(Error::Corrupt(format!("webhook delivery state '{other}'"))),
    }
}

fn delivery_from_row(row: &AnyRow) -> Result<WebhookDelivery> {
    let state: String = get(row, "state")?;
    Ok(WebhookDelivery {
        id: get(row, "id")?,
        webhook_id: get(row, "webhook_id")?,
        event_id: get(row, "event_id")?,
        event_type: get(row, "event_type")?,
        tenant_id: get(row, "tenant_id")?,
        state: state_of(&state)?,
        attempts: get(row, "attempts")?,
        next_attempt_at: get(row, "next_attempt_at")?,
        last_attempt_at: get(row, "last_attempt_at")?,
        last_status_code: get(row, "last_status_code")?,
        last_error: get(row, "last_error")?,
        delivered_at: get(row, "delivered_at")?,
        created_at: get(row, "created_at")?,
        attempt_log: Vec::new(),
    })
}

/// `text` cut to [`MAX_ERROR_CHARS`] characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

const WEBHOOK_COLUMNS: &str = "id, tenant_id, url, events, secret, previous_secret, previous_secret_until, description, \
                               active, created_at, updated_at";
/// The delivery columns, from `webhook_deliveries d JOIN webhook_events e`.
const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.event_id, e.event_type, d.tenant_id, d.state, d.attempts, \
                                d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, \
                                d.delivered_at, d.created_at";

impl Store {
    /// Creates an endpoint for `tenant_id`, active.
    pub async fn create_webhook(
        &self,
        tenant_id: &str,
        url: &str,
        events: &[String],
        description: Option<&str>,
        secret: &str,
    ) -> Result<Webhook> {
        let now = now_millis();
        let webhook = Webhook {
            id: new_id("whk"),
            tenant_id: tenant_id.into(),
            url: url.into(),
            events: events.to_vec(),
            secret: secret.into(),
            previous_secret: None,
            previous_secret_until: None,
            description: description.map(str::to_string),
            active: true,
            created_at: now,
            updated_at: now,
        };
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO webhooks (id, tenant_id, url, events, secret, description, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
        )
        .bind(&webhook.id)
        .bind(&webhook.tenant_id)
        .bind(&webhook.url)
        .bind(to_json(&webhook.events))
        .bind(&webhook.secret)
        .bind(&webhook.description)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.forget_endpoints(tenant_id);
        Ok(webhook)
    }

    /// A tenant's endpoint.
    pub async fn webhook(&self, tenant_id: &str, id: &str) -> Result<Webhook> {
        let row = sqlx::query(dynamic!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("webhook {id}")))?;
        webhook_from_row(&row)
    }

    /// A tenant's endpoints, oldest first.
    pub async fn webhooks(&self, tenant_id: &str) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(dynamic!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 ORDER BY id"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    /// Whether the tenant has an active endpoint (the question asked before each event).
    pub async fn has_active_webhooks(&self, tenant_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT id FROM webhooks WHERE tenant_id = $1 AND active = 1 LIMIT 1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Changes a tenant's endpoint. Disabling it fails its pending deliveries (in the same
    /// transaction), each with [`DISABLED`] as its last error.
    pub async fn update_webhook(&self, tenant_id: &str, id: &str, update: &WebhookUpdate) -> Result<Webhook> {
        let mut webhook = self.webhook(tenant_id, id).await?;
        if let Some(url) = &update.url {
            webhook.url = url.clone();
        }
        if let Some(events) = &update.events {
            webhook.events = events.clone();
        }
        if let Some(d) = &update.description {
            webhook.description = if d.is_empty() { None } else { Some(d.clone()) };
        }
        if let Some(active) = update.active {
            webhook.active = active;
        }
        webhook.updated_at = now_millis();
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        let mut tx = self.begin_write(writer).await?;
        let done = sqlx::query(
            "UPDATE webhooks SET url = $1, events = $2, description = $3, active = $4, updated_at = $5 \
             WHERE tenant_id = $6 AND id = $7",
        )
        .bind(&webhook.url)
        .bind(to_json(&webhook.events))
        .bind(&webhook.description)
        .bind(i64::from(webhook.active))
        .bind(webhook.updated_at)
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("webhook {id}")));
        }
        if !webhook.active {
            sqlx::query(
                "UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, last_error = $1 \
                 WHERE webhook_id = $2 AND state = 'pending'",
            )
            .bind(DISABLED)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.forget_endpoints(tenant_id);
        Ok(webhook)
    }

    /// Replaces an endpoint's secret with `secret`; the old one keeps signing until
    /// `previous_until` (Unix milliseconds) when given.
    pub async fn rotate_webhook_secret(
        &self,
        tenant_id: &str,
        id: &str,
        secret: &str,
        previous_until: Option<i64>,
    ) -> Result<Webhook> {
        let current = self.webhook(tenant_id, id).await?;
        let previous = previous_until.map(|_| current.secret.as_str());
        let _turn = self.write_turn().await;
        // only over the secret just read: of two rotations at once, one fails
        let done = sqlx::query(
            "UPDATE webhooks SET previous_secret = $1, previous_secret_until = $2, secret = $3, updated_at = $4 \
             WHERE tenant_id = $5 AND id = $6 AND secret = $7",
        )
        .bind(previous)
        .bind(previous_until)
        .bind(secret)
        .bind(now_millis())
        .bind(tenant_id)
        .bind(id)
        .bind(&current.secret)
        .execute(&self.pool)
        .await?;
        drop(_turn);
        if done.rows_affected() == 0 {
            return Err(Error::Conflict(format!("a newer secret of webhook {id}")));
        }
        self.webhook(tenant_id, id).await
    }

    /// Deletes a tenant's endpoint with its deliveries and their attempts (the events stay
    /// for the other endpoints that received them).
    pub async fn delete_webhook(&self, tenant_id: &str, id: &str) -> Result<()> {
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        let mut tx = self.begin_write(writer).await?;
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE webhook_id = $1 AND tenant_id = $2)",
        )
        .bind(id)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("webhook {id}")));
        }
        tx.commit().await?;
        self.forget_endpoints(tenant_id);
        Ok(())
    }

    /// Stores `event` and a pending delivery, due now, to each active endpoint of its tenant
    /// that wants it, all in one transaction; returns the new deliveries' ids. Without `only`
    /// the event also takes the next number of its tenant's feed ([`Store::emit_webhook_events`]).
    /// With `only` (a test to one endpoint, whatever its filter) the event goes to that endpoint
    /// alone and is no part of the feed; when that endpoint is not active, nothing is stored.
    pub async fn emit_webhook_event(&self, event: &NewWebhookEvent, only: Option<&str>) -> Result<Vec<String>> {
        let Some(only) = only else {
            let mut emitted = self.emit_webhook_events(std::slice::from_ref(event)).await?;
            return Ok(emitted.pop().map(|e| e.deliveries).unwrap_or_default());
        };
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        let mut tx = self.begin_write(writer).await?;
        let active = sqlx::query("SELECT id FROM webhooks WHERE tenant_id = $1 AND id = $2 AND active = 1")
            .bind(&event.tenant_id)
            .bind(only)
            .fetch_optional(&mut *tx)
            .await?;
        if active.is_none() {
            return Ok(Vec::new());
        }
        insert_rows(&mut tx, &[FeedRow { event, seq: None }]).await?;
        let id = new_id("dlv");
        insert_delivery(&mut tx, &id, only, &event.id, &event.tenant_id, event.created_at).await?;
        tx.commit().await?;
        Ok(vec![id])
    }

    /// Stores `events` in their tenants' feeds, each with the next number of its tenant (in
    /// the order given), and a pending delivery, due now, to each active endpoint of its
    /// tenant that wants it: all in one transaction (a group commit: the server gathers the
    /// events of many requests and writes them at once).
    ///
    /// The numbers have no gaps and commit in order: a tenant's last number is read inside
    /// the transaction while this process's turn of that tenant is held (taken before the
    /// database's write turn, until the commit), so no later event of this process can
    /// commit a smaller number. Another process: on SQLite the transaction holds the
    /// database's write lock from its start (`BEGIN IMMEDIATE`); on PostgreSQL one that takes
    /// the same number meanwhile waits for this commit on `UNIQUE (tenant_id, seq)` and then
    /// fails, and its group is tried again with the numbers read again (at most
    /// [`crate::audit::APPEND_ATTEMPTS`] times). A failed transaction leaves no number taken.
    pub async fn emit_webhook_events(&self, events: &[NewWebhookEvent]) -> Result<Vec<EmittedEvent>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let tenants: BTreeSet<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
        let _turns = feed_turns(&tenants).await;
        let mut attempt = 1;
        loop {
            match self.emit_webhook_events_once(&tenants, events).await {
                Err(Error::Conflict(_)) if attempt < crate::audit::APPEND_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    async fn emit_webhook_events_once(
        &self,
        tenants: &BTreeSet<&str>,
        events: &[NewWebhookEvent],
    ) -> Result<Vec<EmittedEvent>> {
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        // SQLite: the database's write lock from the start, so that the last numbers are read
        // under it (another process waits, rather than failing on a stale snapshot)
        let mut tx = match (self.backend, writer) {
            (Backend::Sqlite, Some(conn)) => sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await?,
            (Backend::Sqlite, None) => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            (Backend::Postgres, writer) => self.begin_write(writer).await?,
        };
        let mut feed = self.feed_rows(&mut tx, tenants, events).await?;
        let written = async {
            insert_rows(&mut tx, &feed.events).await?;
            insert_rows(&mut tx, &feed.deliveries).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        self.settle_feed(std::mem::take(&mut feed.next), &written);
        written.map(|()| feed.emitted())
    }

    /// A page of a tenant's feed: its events numbered after `after`, oldest first, at most
    /// `limit`; only those of `types` (exact names) when it is not empty.
    pub async fn webhook_event_feed(
        &self,
        tenant_id: &str,
        after: i64,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<FeedEvent>> {
        let mut filter = String::new();
        for n in 0..types.len() {
            filter.push_str(if n == 0 { " AND event_type IN (" } else { ", " });
            let _ = write!(filter, "${}", n + 4);
        }
        if !types.is_empty() {
            filter.push(')');
        }
        let mut query = sqlx::query(dynamic!(
            "SELECT seq, id, event_type, body, created_at FROM webhook_events \
             WHERE tenant_id = $1 AND seq > $2{filter} ORDER BY seq LIMIT $3"
        ))
        .bind(tenant_id)
        .bind(after)
        .bind(limit);
        for t in types {
            query = query.bind(t);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(FeedEvent {
                    seq: get(row, "seq")?,
                    id: get(row, "id")?,
                    event_type: get(row, "event_type")?,
                    body: get(row, "body")?,
                    created_at: get(row, "created_at")?,
                })
            })
            .collect()
    }

    /// The smallest number still in a tenant's feed (older events are forgotten after the
    /// retention, see [`Store::prune_webhook_log`]); `None` while the feed is empty.
    pub async fn webhook_event_feed_start(&self, tenant_id: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(seq) AS m FROM webhook_events WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&self.pool)
            .await?;
        get(&row, "m")
    }

    /// A new pending delivery, due now, of the event of the tenant's delivery `id` to the same
    /// endpoint.
    pub async fn redeliver_webhook_delivery(&self, tenant_id: &str, id: &str) -> Result<WebhookDelivery> {
        let original = self.webhook_delivery(tenant_id, id).await?;
        let new = new_id("dlv");
        {
            let mut turn = self.write_turn().await;
            let writer = turn.as_deref_mut().and_then(Option::as_mut);
            let mut tx = self.begin_write(writer).await?;
            insert_delivery(&mut tx, &new, &original.webhook_id, &original.event_id, tenant_id, now_millis()).await?;
            tx.commit().await?;
        }
        self.webhook_delivery(tenant_id, &new).await
    }

    /// A tenant's delivery, with its attempts.
    pub async fn webhook_delivery(&self, tenant_id: &str, id: &str) -> Result<WebhookDelivery> {
        let row = sqlx::query(dynamic!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
             WHERE d.tenant_id = $1 AND d.id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound(format!("webhook delivery {id}")))?;
        let mut delivery = delivery_from_row(&row)?;
        let rows = sqlx::query(
            "SELECT delivery_id, n, at, status_code, error, duration_ms FROM webhook_attempts \
             WHERE delivery_id = $1 ORDER BY n",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        delivery.attempt_log = rows.iter().map(attempt_from_row).map(|r| r.map(|(_, a)| a)).collect::<Result<_>>()?;
        Ok(delivery)
    }

    /// A tenant endpoint's deliveries, newest first, with their attempts: at most `limit`,
    /// those made before the delivery `before` when given.
    pub async fn webhook_deliveries(
        &self,
        tenant_id: &str,
        webhook_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>> {
        // identifiers sort by creation time
        let before = before.unwrap_or("");
        let page = "SELECT id FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 \
                    AND ($3 = '' OR id < $3) \
                    ORDER BY id DESC LIMIT $4";
        let rows = sqlx::query(dynamic!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
             WHERE d.id IN ({page}) ORDER BY d.id DESC"
        ))
        .bind(tenant_id)
        .bind(webhook_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut deliveries = rows.iter().map(delivery_from_row).collect::<Result<Vec<_>>>()?;
        if deliveries.is_empty() {
            return Ok(deliveries);
        }
        let rows = sqlx::query(dynamic!(
            "SELECT delivery_id, n, at, status_code, error, duration_ms FROM webhook_attempts \
             WHERE delivery_id IN ({page}) ORDER BY delivery_id, n"
        ))
        .bind(tenant_id)
        .bind(webhook_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut attempts: HashMap<String, Vec<WebhookAttempt>> = HashMap::new();
        for row in &rows {
            let (delivery, attempt) = attempt_from_row(row)?;
            attempts.entry(delivery).or_default().push(attempt);
        }
        for d in &mut deliveries {
            d.attempt_log = attempts.remove(&d.id).unwrap_or_default();
        }
        Ok(deliveries)
    }

    /// Takes up to `limit` pending deliveries due at `now`, oldest due first, for one worker:
    /// each is moved to `lease_until`, so another worker (another process on the same
    /// database) does not take it meanwhile, and one that dies leaves it due again then.
    pub async fn claim_webhook_deliveries(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<DueDelivery>> {
        let rows = sqlx::query(
            "SELECT d.id AS delivery_id, d.attempts, d.next_attempt_at, d.event_id, e.event_type, e.body, \
             w.id, w.tenant_id, w.url, w.events, w.secret, w.previous_secret, w.previous_secret_until, \
             w.description, w.active, w.created_at, w.updated_at \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN webhook_events e ON e.id = d.event_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let _turn = self.write_turn().await;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = get(row, "delivery_id")?;
            let due: i64 = get(row, "next_attempt_at")?;
            // taken only if no one moved it since it was read
            let done = sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = $1 \
                 WHERE id = $2 AND state = 'pending' AND next_attempt_at = $3",
            )
            .bind(lease_until)
            .bind(&id)
            .bind(due)
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 1 {
                claimed.push(DueDelivery {
                    id,
                    attempts: get(row, "attempts")?,
                    webhook: webhook_from_row(row)?,
                    event_id: get(row, "event_id")?,
                    event_type: get(row, "event_type")?,
                    body: get(row, "body")?,
                });
            }
        }
        Ok(claimed)
    }

    /// Records attempt `attempt.n` of a claimed delivery and what comes next (its error
    /// shortened to [`MAX_ERROR_CHARS`]). Returns false, recording nothing, when the delivery
    /// is no longer pending after `attempt.n - 1` attempts (deleted with its endpoint, or
    /// recorded by another worker whose lease had run out).
    pub async fn record_webhook_attempt(
        &self,
        delivery_id: &str,
        attempt: &WebhookAttempt,
        next: AttemptNext,
    ) -> Result<bool> {
        let (state, next_at, delivered_at) = match next {
            AttemptNext::Delivered => (DeliveryState::Delivered, None, Some(now_millis())),
            AttemptNext::RetryAt(at) => (DeliveryState::Pending, Some(at), None),
            AttemptNext::Failed => (DeliveryState::Failed, None, None),
        };
        let error = attempt.error.as_deref().map(shorten);
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        let mut tx = self.begin_write(writer).await?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, last_attempt_at = $4, \
             last_status_code = $5, last_error = $6, delivered_at = $7 \
             WHERE id = $8 AND state = 'pending' AND attempts = $9",
        )
        .bind(state.name())
        .bind(attempt.n)
        .bind(next_at)
        .bind(attempt.at)
        .bind(attempt.status_code)
        .bind(&error)
        .bind(delivered_at)
        .bind(delivery_id)
        .bind(attempt.n - 1)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, n, at, status_code, error, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(delivery_id)
        .bind(attempt.n)
        .bind(attempt.at)
        .bind(attempt.status_code)
        .bind(&error)
        .bind(attempt.duration_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends a pending delivery as failed without an attempt (its endpoint was disabled after
    /// it was made), with `reason` as its last error. Returns whether it was pending.
    pub async fn fail_webhook_delivery(&self, delivery_id: &str, reason: &str) -> Result<bool> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, last_error = $1 \
             WHERE id = $2 AND state = 'pending'",
        )
        .bind(shorten(reason))
        .bind(delivery_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// When the next pending delivery is due (Unix milliseconds), if any is.
    pub async fn next_webhook_due(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(next_attempt_at) AS due FROM webhook_deliveries WHERE state = 'pending'")
            .fetch_one(&self.pool)
            .await?;
        get(&row, "due")
    }

    /// Forgets finished deliveries (and their attempts) made before `before` (Unix
    /// milliseconds), and the events made before it that no delivery names any more, but for
    /// each tenant's newest event of the feed; returns how many deliveries.
    pub async fn prune_webhook_log(&self, before: i64) -> Result<u64> {
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        let mut tx = self.begin_write(writer).await?;
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        // each tenant's newest numbered event stays: its feed continues from its number
        sqlx::query(
            "DELETE FROM webhook_events WHERE created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id) \
             AND (seq IS NULL OR seq < \
                  (SELECT MAX(f.seq) FROM webhook_events f WHERE f.tenant_id = webhook_events.tenant_id))",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

/// An event of a tenant's feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedEvent {
    /// Its number in the tenant's feed, from 1, without gaps.
    pub seq: i64,
    /// `evt_…`
    pub id: String,
    /// Its type.
    pub event_type: String,
    /// The JSON every webhook delivery of it sends.
    pub body: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// What storing an event made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmittedEvent {
    /// Its number in the tenant's feed.
    pub seq: i64,
    /// The pending deliveries made (`dlv_…`), one per endpoint that wants it.
    pub deliveries: Vec<String>,
}

/// An event as a row of `webhook_events`; `seq` is `None` outside the feed (a test ping).
pub(crate) struct FeedRow<'a> {
    event: &'a NewWebhookEvent,
    seq: Option<i64>,
}

impl Row for FeedRow<'_> {
    const TABLE: &'static str = "webhook_events";
    const COLUMNS: &'static str = "id, tenant_id, event_type, body, created_at, seq";
    const WIDTH: usize = 6;
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.event.id)
            .bind(&self.event.tenant_id)
            .bind(&self.event.event_type)
            .bind(&self.event.body)
            .bind(self.event.created_at)
            .bind(self.seq)
    }
}

/// A pending delivery, due now, as a row of `webhook_deliveries`.
pub(crate) struct DeliveryRow {
    id: String,
    webhook_id: String,
    event_index: usize,
    event_id: String,
    tenant_id: String,
    at: i64,
}

impl Row for DeliveryRow {
    const TABLE: &'static str = "webhook_deliveries";
    const COLUMNS: &'static str = "id, webhook_id, event_id, tenant_id, state, attempts, next_attempt_at, created_at";
    const WIDTH: usize = 8;
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.id)
            .bind(&self.webhook_id)
            .bind(&self.event_id)
            .bind(&self.tenant_id)
            .bind("pending")
            .bind(0_i64)
            .bind(self.at)
            .bind(self.at)
    }
}

/// Events numbered in their tenants' feeds and their deliveries, ready to insert (see
/// [`Store::feed_rows`]).
pub(crate) struct FeedRows<'a> {
    pub(crate) events: Vec<FeedRow<'a>>,
    pub(crate) deliveries: Vec<DeliveryRow>,
    /// Each tenant's next number once these are committed.
    pub(crate) next: HashMap<String, i64>,
}

impl FeedRows<'_> {
    /// What was stored, per event in the order given.
    pub(crate) fn emitted(&self) -> Vec<EmittedEvent> {
        let mut emitted: Vec<EmittedEvent> =
            self.events.iter().map(|r| EmittedEvent { seq: r.seq.unwrap_or(0), deliveries: Vec::new() }).collect();
        for d in &self.deliveries {
            if let Some(e) = emitted.get_mut(d.event_index) {
                e.deliveries.push(d.id.clone());
            }
        }
        emitted
    }
}

/// What a process remembers of the tenants' feeds (see [`Store::feed_rows`]).
#[derive(Debug, Default)]
pub(crate) struct FeedCache {
    /// The next number of each tenant's feed, as of this process's last commit.
    next: HashMap<String, i64>,
    /// Each tenant's active endpoints, and when they were read.
    endpoints: HashMap<String, (Vec<Webhook>, std::time::Instant)>,
}

/// How long a tenant's active endpoints are believed without reading them again (changes made
/// by this process are seen at once; another process's within this time).
pub(crate) const ENDPOINTS_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Store {
    fn feed_cache(&self) -> std::sync::MutexGuard<'_, FeedCache> {
        self.feed.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// After a transaction that stored `feed`: remembers its next numbers when it committed,
    /// forgets them all when it failed (they are read from the database again).
    pub(crate) fn settle_feed<T>(&self, feed_next: HashMap<String, i64>, outcome: &Result<T>) {
        let mut cache = self.feed_cache();
        match outcome {
            Ok(_) => cache.next.extend(feed_next),
            Err(_) => cache.next.clear(),
        }
    }

    /// Forgets a tenant's endpoints (they changed).
    fn forget_endpoints(&self, tenant_id: &str) {
        self.feed_cache().endpoints.remove(tenant_id);
    }

    /// Numbers `events` in their tenants' feeds and makes a pending delivery for each active
    /// endpoint of its tenant that wants it. A tenant's next number is the one this process
    /// remembers from its last commit, else read (`MAX`) on `conn`: a number another process
    /// took meanwhile fails the insert on `UNIQUE (tenant_id, seq)`, the caller forgets what
    /// it remembered ([`Store::settle_feed`]) and tries again. Active endpoints are read at
    /// most every [`ENDPOINTS_CACHE_TTL`]. The caller holds the turns of `tenants`
    /// ([`feed_turns`]) until its transaction ends, inserts both lists in it, and settles.
    pub(crate) async fn feed_rows<'a>(
        &self,
        conn: &mut sqlx::AnyConnection,
        tenants: &BTreeSet<&str>,
        events: &'a [NewWebhookEvent],
    ) -> Result<FeedRows<'a>> {
        let mut next: HashMap<&str, i64> = HashMap::new();
        let mut endpoints: HashMap<&str, Vec<Webhook>> = HashMap::new();
        for &tenant in tenants {
            let (known_next, known_endpoints) = {
                let cache = self.feed_cache();
                let fresh = |(w, at): &(Vec<Webhook>, std::time::Instant)| {
                    (at.elapsed() < ENDPOINTS_CACHE_TTL).then(|| w.clone())
                };
                (cache.next.get(tenant).copied(), cache.endpoints.get(tenant).and_then(fresh))
            };
            let n = match known_next {
                Some(n) => n,
                None => {
                    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM webhook_events WHERE tenant_id = $1")
                        .bind(tenant)
                        .fetch_one(&mut *conn)
                        .await?;
                    get::<i64>(&row, "m")? + 1
                }
            };
            next.insert(tenant, n);
            let active = match known_endpoints {
                Some(w) => w,
                None => {
                    let rows = sqlx::query(dynamic!(
                        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 AND active = 1 ORDER BY id"
                    ))
                    .bind(tenant)
                    .fetch_all(&mut *conn)
                    .await?;
                    let w: Vec<Webhook> = rows.iter().map(webhook_from_row).collect::<Result<_>>()?;
                    self.feed_cache().endpoints.insert(tenant.to_string(), (w.clone(), std::time::Instant::now()));
                    w
                }
            };
            endpoints.insert(tenant, active);
        }
        let mut rows =
            FeedRows { events: Vec::with_capacity(events.len()), deliveries: Vec::new(), next: HashMap::new() };
        for (index, event) in events.iter().enumerate() {
            let n = next.entry(event.tenant_id.as_str()).or_insert(1);
            rows.events.push(FeedRow { event, seq: Some(*n) });
            *n += 1;
            rows.next.insert(event.tenant_id.clone(), *n);
            let wanting = endpoints.get(event.tenant_id.as_str()).into_iter().flatten();
            for webhook in wanting.filter(|w| w.wants(&event.event_type)) {
                rows.deliveries.push(DeliveryRow {
                    id: new_id("dlv"),
                    webhook_id: webhook.id.clone(),
                    event_index: index,
                    event_id: event.id.clone(),
                    tenant_id: event.tenant_id.clone(),
                    at: event.created_at,
                });
            }
        }
        Ok(rows)
    }
}

/// This process's turn of each tenant's feed (see [`Store::emit_webhook_events`]). One table
/// for the process rather than per [`Store`]: two stores on one database share a tenant's turn.
static FEED_TURNS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);

/// Takes the turns of `tenants`, in their order (a set's: always the same, so two groups
/// never wait for each other's).
pub(crate) async fn feed_turns(tenants: &BTreeSet<&str>) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
    let turns: Vec<_> = {
        let mut all = FEED_TURNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tenants.iter().map(|t| all.entry((*t).to_string()).or_default().clone()).collect()
    };
    let mut held = Vec::with_capacity(turns.len());
    for turn in turns {
        held.push(turn.lock_owned().await);
    }
    held
}

async fn insert_delivery(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    webhook_id: &str,
    event_id: &str,
    tenant_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_id, tenant_id, state, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
    )
    .bind(id)
    .bind(webhook_id)
    .bind(event_id)
    .bind(tenant_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

fn attempt_from_row(row: &AnyRow) -> Result<(String, WebhookAttempt)> {
    Ok((
        get(row, "delivery_id")?,
        WebhookAttempt {
            n: get(row, "n")?,
            at: get(row, "at")?,
            status_code: get(row, "status_code")?,
            error: get(row, "error")?,
            duration_ms: get(row, "duration_ms")?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_events(events: &[&str]) -> Webhook {
        Webhook {
            id: "whk_x".into(),
            tenant_id: "tn_x".into(),
            url: "http://127.0.0.1/".into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            secret: "a".into(),
            previous_secret: Some("b".into()),
            previous_secret_until: Some(1000),
            description: None,
            active: true,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn filters_take_all_exact_or_prefixed_types() {
        assert!(with_events(&[]).wants("document.signed"));
        assert!(with_events(&["*"]).wants("seal.revoked"));
        assert!(with_events(&["batch.completed"]).wants("batch.completed"));
        assert!(!with_events(&["batch.completed"]).wants("document.signed"));
        assert!(with_events(&["seal.*"]).wants("seal.use_requested"));
        assert!(!with_events(&["seal.*"]).wants("sealed.x"));
        assert!(!with_events(&["seal*"]).wants("seal.revoked"));
    }

    #[test]
    fn the_previous_secret_signs_until_it_expires() {
        let w = with_events(&[]);
        assert_eq!(w.signing_secrets(999), vec!["a", "b"]);
        assert_eq!(w.signing_secrets(1000), vec!["a"]);
    }

    #[test]
    fn errors_are_shortened_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_ERROR_CHARS + 1);
        assert_eq!(shorten("short"), "short");
    }
}
