//! Webhook endpoints and their deliveries.

use serde::{Deserialize, Serialize};

use crate::operations::*;
use crate::{Client, Query, Result};

/// A tenant's webhook endpoint.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Webhook {
    /// `whk_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The event types it receives; empty or `["*"]`: every event; `seal.*`: every `seal.` event.
    pub events: Vec<String>,
    /// Whether events go to it.
    pub active: bool,
    /// A label.
    pub description: Option<String>,
    /// Until when (Unix ms) the previous secret also signs.
    pub previous_secret_until: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// An endpoint with its secret: answered only when the secret is made.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NewWebhook {
    /// The endpoint.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of `Signet-Signature` (`whsec_…`, the whole text). Shown this once.
    pub secret: String,
}

/// A new endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateWebhook {
    /// Where to POST the events: `http://` or `https://`, without user or password.
    pub url: String,
    /// Event types to receive; empty or `["*"]`: all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// A label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What changes in an endpoint: only the fields given.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UpdateWebhook {
    /// A new URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A new filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// `false`: receive nothing (pending deliveries fail); `true`: receive again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// A new label (empty: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Where a delivery is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    #[default]
    Pending,
    /// Answered 2xx.
    Delivered,
    /// Given up.
    Failed,
    /// A state this version of the client does not know.
    #[serde(other)]
    Other,
}

/// One event sent (or to send) to one endpoint, with its attempts.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// `dlv_…`: sent as the `Signet-Delivery` header.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The event (`evt_…`): the same for every delivery of it.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The owner.
    pub tenant_id: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: i64,
    /// When the last attempt was made.
    pub last_attempt_at: Option<i64>,
    /// The HTTP status of the last attempt, when one was answered.
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<i64>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Every attempt, first first.
    pub attempt_log: Vec<WebhookAttempt>,
}

/// One attempt of a delivery.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WebhookAttempt {
    /// 1 for the first attempt.
    pub n: i64,
    /// When it was made, Unix milliseconds.
    pub at: i64,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// The HTTP status answered; `None` when no answer came.
    pub status_code: Option<i64>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// A page of an endpoint's deliveries.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DeliveryPage {
    /// Newest first.
    pub deliveries: Vec<WebhookDelivery>,
    /// The `before` of the next page, while there is one.
    pub next_before: Option<String>,
}

/// A page of the events feed.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EventPage {
    /// Oldest first.
    pub events: Vec<FeedEvent>,
    /// The `after` of the next page (save it; ask again with it).
    pub next: i64,
}

/// An event of the feed: the body its webhook deliveries send, with its number.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FeedEvent {
    /// Its number in the tenant's feed: 1, 2, 3… without gaps.
    pub seq: i64,
    /// `evt_…`: the same id as in its webhook deliveries.
    pub id: String,
    /// `document.signed`, `envelope.completed`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// What happened.
    pub data: serde_json::Value,
}

/// Webhooks and the events feed.
impl Client {
    /// `GET /api/v1/events`: the tenant's events numbered after `after`, oldest first (only
    /// `types` when given, comma separated, e.g. `document.signed,seal.*`). Loop on
    /// `after = page.next` to see each event exactly once.
    pub fn list_events(&self, after: i64, limit: Option<i64>, types: Option<&str>) -> Result<EventPage> {
        let mut q = Query::default();
        q.opt("after", Some(after)).opt("limit", limit).opt("types", types);
        self.call(LIST_EVENTS, &[]).query(&q).answer()
    }

    /// `GET /api/v1/webhooks`.
    pub fn list_webhooks(&self) -> Result<Vec<Webhook>> {
        self.call(LIST_WEBHOOKS, &[]).answer()
    }

    /// `POST /api/v1/webhooks`: the answer holds the secret, shown this once.
    pub fn create_webhook(&self, webhook: &CreateWebhook) -> Result<NewWebhook> {
        self.call(CREATE_WEBHOOK, &[]).json(webhook)
    }

    /// `GET /api/v1/webhooks/{id}`.
    pub fn show_webhook(&self, id: &str) -> Result<Webhook> {
        self.call(SHOW_WEBHOOK, &[id]).answer()
    }

    /// `PATCH /api/v1/webhooks/{id}`.
    pub fn update_webhook(&self, id: &str, change: &UpdateWebhook) -> Result<Webhook> {
        self.call(UPDATE_WEBHOOK, &[id]).json(change)
    }

    /// `DELETE /api/v1/webhooks/{id}`.
    pub fn delete_webhook(&self, id: &str) -> Result<()> {
        self.call(DELETE_WEBHOOK, &[id]).empty()
    }

    /// `GET /api/v1/webhooks/{id}/deliveries`: newest first, those before `before`.
    pub fn list_deliveries(&self, id: &str, before: Option<&str>, limit: Option<i64>) -> Result<DeliveryPage> {
        let mut q = Query::default();
        q.opt("before", before).opt("limit", limit);
        self.call(LIST_DELIVERIES, &[id]).query(&q).answer()
    }

    /// `POST /api/v1/webhooks/{id}/ping`: sends a test event.
    pub fn ping_webhook(&self, id: &str) -> Result<WebhookDelivery> {
        self.call(PING_WEBHOOK, &[id]).answer()
    }

    /// `POST /api/v1/webhooks/{id}/rotate-secret`: a new secret; the previous one also
    /// signs for `previous_valid_seconds` (server default when `None`).
    pub fn rotate_webhook_secret(&self, id: &str, previous_valid_seconds: Option<i64>) -> Result<NewWebhook> {
        let mut q = Query::default();
        q.opt("previous_valid_seconds", previous_valid_seconds);
        self.call(ROTATE_WEBHOOK_SECRET, &[id]).query(&q).answer()
    }

    /// `POST /api/v1/webhooks/deliveries/{id}/redeliver`: sends a delivery's event again.
    pub fn redeliver(&self, delivery_id: &str) -> Result<WebhookDelivery> {
        self.call(REDELIVER, &[delivery_id]).answer()
    }
}
