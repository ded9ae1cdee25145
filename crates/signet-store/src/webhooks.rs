//! Webhooks: a tenant's endpoints, the events emitted to them, and the log of their deliveries.
//!
//! An event is stored once with the exact body every delivery sends, so a retry or a manual
//! redelivery carries the same event id and the same bytes. Each endpoint the event goes to
//! gets a delivery row: `pending` until an attempt is answered 2xx (`delivered`) or the last
//! attempt fails (`failed`); each attempt is a row of `webhook_attempts`. Sending is the
//! server's work; the store only hands out due deliveries under a lease (see
//! [`Store::claim_webhook_deliveries`]) and records what happened.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::{Error, Result, Store, get, new_id, now_millis, parse_json, to_json};

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
        Ok(())
    }

    /// Stores `event` and a pending delivery, due now, to each active endpoint of its tenant
    /// that wants it (to `only` alone when given, whatever its filter), all in one
    /// transaction. Returns the new deliveries' ids; with none, nothing is stored.
    pub async fn emit_webhook_event(&self, event: &NewWebhookEvent, only: Option<&str>) -> Result<Vec<String>> {
        let mut turn = self.write_turn().await;
        let writer = turn.as_deref_mut().and_then(Option::as_mut);
        let mut tx = self.begin_write(writer).await?;
        let rows = sqlx::query(dynamic!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 AND active = 1 ORDER BY id"
        ))
        .bind(&event.tenant_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut targets = Vec::new();
        for row in &rows {
            let webhook = webhook_from_row(row)?;
            let takes = match only {
                Some(id) => webhook.id == id,
                None => webhook.wants(&event.event_type),
            };
            if takes {
                targets.push(webhook.id);
            }
        }
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query(
            "INSERT INTO webhook_events (id, tenant_id, event_type, body, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&event.id)
        .bind(&event.tenant_id)
        .bind(&event.event_type)
        .bind(&event.body)
        .bind(event.created_at)
        .execute(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(targets.len());
        for webhook_id in &targets {
            let id = new_id("dlv");
            insert_delivery(&mut tx, &id, webhook_id, &event.id, &event.tenant_id, event.created_at).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
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
    /// milliseconds), and the events no delivery names any more; returns how many deliveries.
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
        sqlx::query(
            "DELETE FROM webhook_events WHERE created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
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
