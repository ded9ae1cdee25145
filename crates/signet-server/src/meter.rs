//! Metering: per-tenant quotas (calls and documents per period), a request rate, and the
//! signing records, written with group commit.
//!
//! The counters live in memory, loaded from the database when a tenant is first seen, so
//! admitting a request costs no query. A call is counted when admitted and given back if it
//! fails. What was counted is made durable together with the signing records: each request
//! hands its record and usage to the recorder task and waits; the recorder writes everything
//! that arrived meanwhile in one transaction. The answer goes out only after that commit, so
//! a signature the client received is always on record and billed, and the writes cost one
//! transaction per batch, not one per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use signet_store::{DocumentRecord, NewWebhookEvent, SignatureRecord, Store, TenantLimits, UsageDelta};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::Error;

/// Most records written in one transaction.
const MAX_GROUP: usize = 1024;

#[derive(Debug)]
struct TenantMeter {
    status: String,
    limits: TenantLimits,
    period_start: i64,
    calls: i64,
    documents: i64,
    tokens: f64,
    refilled: Instant,
}

/// What a request hands the recorder: all of it is written in one transaction.
#[derive(Debug)]
struct Job {
    records: Vec<SignatureRecord>,
    usage: Option<UsageDelta>,
    documents: Vec<DocumentRecord>,
    events: Vec<NewWebhookEvent>,
    reply: oneshot::Sender<Result<(), String>>,
}

/// What was admitted: give it back with [`Meter::refund`] if the work fails.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The tenant.
    pub tenant_id: String,
    /// The period the counts belong to.
    pub period_start: i64,
    /// Calls counted.
    pub calls: i64,
    /// Documents counted.
    pub documents: i64,
}

impl Admission {
    /// The usage to persist for this admission.
    pub fn usage(&self) -> UsageDelta {
        UsageDelta {
            tenant_id: self.tenant_id.clone(),
            period_start: self.period_start,
            calls: self.calls,
            documents: self.documents,
        }
    }
}

/// Quotas, rates and the recorder.
#[derive(Debug)]
pub struct Meter {
    store: Store,
    tenants: Mutex<HashMap<String, TenantMeter>>,
    recorder: mpsc::Sender<Job>,
}

impl Meter {
    /// A meter over `store`; starts the recorder task (needs a Tokio runtime), which wakes
    /// `deliveries` when the events it stored made webhook deliveries.
    pub fn start(store: Store, deliveries: std::sync::Arc<Notify>) -> Meter {
        let (tx, rx) = mpsc::channel::<Job>(8192);
        tokio::spawn(record_loop(store.clone(), rx, deliveries));
        Meter { store, tenants: Mutex::new(HashMap::new()), recorder: tx }
    }

    /// Admits `calls` calls and `documents` documents for the tenant, or says which limit
    /// stands in the way and when to retry.
    pub async fn admit(&self, tenant_id: &str, calls: i64, documents: i64) -> Result<Admission, Error> {
        if !self.lock().contains_key(tenant_id) {
            self.load(tenant_id).await?;
        }
        let now = signet_store::now_millis();
        let mut tenants = self.lock();
        let t = tenants.get_mut(tenant_id).ok_or_else(|| Error::Missing(format!("tenant {tenant_id}")))?;
        if t.status != "active" {
            return Err(Error::Forbidden(format!("the tenant is {}", t.status)));
        }
        let period = period_start(&t.limits.quota_period, now);
        if period != t.period_start {
            // a new period starts from zero (the database row of the new period is new too)
            t.period_start = period;
            t.calls = 0;
            t.documents = 0;
        }
        if let Some(rate) = t.limits.rate_per_second.filter(|r| *r > 0) {
            let rate = rate as f64;
            let elapsed = t.refilled.elapsed().as_secs_f64();
            t.tokens = (t.tokens + elapsed * rate).min(rate);
            t.refilled = Instant::now();
            if t.tokens < 1.0 {
                let wait = ((1.0 - t.tokens) / rate).ceil().max(1.0) as u64;
                return Err(Error::TooManyRequests {
                    message: format!("rate limit of {rate} requests per second reached"),
                    retry_after: wait,
                });
            }
            t.tokens -= 1.0;
        }
        let next = next_period_start(&t.limits.quota_period, now);
        let retry_after = ((next - now) / 1000).max(1) as u64;
        if let Some(max) = t.limits.max_calls {
            if t.calls + calls > max {
                return Err(Error::TooManyRequests {
                    message: format!("quota of {max} signing calls per {} used up", t.limits.quota_period),
                    retry_after,
                });
            }
        }
        if let Some(max) = t.limits.max_documents {
            if documents > 0 && t.documents + documents > max {
                return Err(Error::TooManyRequests {
                    message: format!("quota of {max} documents per {} used up", t.limits.quota_period),
                    retry_after,
                });
            }
        }
        t.calls += calls;
        t.documents += documents;
        Ok(Admission { tenant_id: tenant_id.to_string(), period_start: period, calls, documents })
    }

    /// Gives back what `admission` counted (the work failed).
    pub fn refund(&self, admission: &Admission) {
        if let Some(t) = self.lock().get_mut(&admission.tenant_id) {
            if t.period_start == admission.period_start {
                t.calls -= admission.calls;
                t.documents -= admission.documents;
            }
        }
    }

    /// Writes signing records and the usage of `admission` durably (group commit).
    pub async fn record(&self, records: Vec<SignatureRecord>, usage: Option<UsageDelta>) -> Result<(), Error> {
        self.record_with_documents(records, usage, Vec::new(), Vec::new()).await
    }

    /// [`Meter::record`], with new document records and events of the tenants' feeds (with
    /// their webhook deliveries) in the same transaction.
    pub async fn record_with_documents(
        &self,
        records: Vec<SignatureRecord>,
        usage: Option<UsageDelta>,
        documents: Vec<DocumentRecord>,
        events: Vec<NewWebhookEvent>,
    ) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.recorder
            .send(Job { records, usage, documents, events, reply })
            .await
            .map_err(|_| Error::Upstream("the recorder has stopped".into()))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Store(signet_store::Error::Corrupt(format!("writing the signing records: {e}")))),
            Err(_) => Err(Error::Upstream("the recorder has stopped".into())),
        }
    }

    /// Reloads a tenant's limits and status (after a change), keeping its counters.
    pub async fn reload(&self, tenant_id: &str) -> Result<(), Error> {
        let tenant = self.store.tenant(tenant_id).await?;
        if let Some(t) = self.lock().get_mut(tenant_id) {
            t.status = tenant.status;
            t.limits = tenant.limits;
        }
        Ok(())
    }

    async fn load(&self, tenant_id: &str) -> Result<(), Error> {
        let tenant = self.store.tenant(tenant_id).await?;
        let period = period_start(&tenant.limits.quota_period, signet_store::now_millis());
        let usage = self.store.usage(tenant_id, period).await?;
        let rate = tenant.limits.rate_per_second.unwrap_or(0) as f64;
        self.lock().entry(tenant_id.to_string()).or_insert(TenantMeter {
            status: tenant.status,
            limits: tenant.limits,
            period_start: period,
            calls: usage.calls,
            documents: usage.documents,
            tokens: rate,
            refilled: Instant::now(),
        });
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TenantMeter>> {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn record_loop(store: Store, mut rx: mpsc::Receiver<Job>, deliveries: std::sync::Arc<Notify>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        // what is queued now, then what the request tasks ready to run add once they have
        // run: larger groups, fewer commits (each costs two hand-offs to SQLite's thread and
        // rewrites the same pages to its log)
        take_queued(&mut rx, &mut jobs);
        if jobs.len() < MAX_GROUP {
            tokio::task::yield_now().await;
            take_queued(&mut rx, &mut jobs);
        }
        let mut records = Vec::new();
        let mut documents = Vec::new();
        let mut events = Vec::new();
        let mut usage: HashMap<(String, i64), UsageDelta> = HashMap::new();
        for job in &mut jobs {
            records.append(&mut job.records);
            documents.append(&mut job.documents);
            events.append(&mut job.events);
            if let Some(u) = job.usage.take() {
                let e = usage.entry((u.tenant_id.clone(), u.period_start)).or_insert(UsageDelta {
                    calls: 0,
                    documents: 0,
                    ..u.clone()
                });
                e.calls += u.calls;
                e.documents += u.documents;
            }
        }
        let usage: Vec<UsageDelta> = usage.into_values().collect();
        let mut result = store.record_all(&mut records, &usage, &documents, &events).await;
        if result.is_err() {
            // one retry: SQLite may have been busy beyond its timeout
            tokio::time::sleep(Duration::from_millis(50)).await;
            result = store.record_all(&mut records, &usage, &documents, &events).await;
        }
        if matches!(result, Ok(made) if made > 0) {
            deliveries.notify_one();
        }
        let outcome = result.map(|_| ()).map_err(|e| {
            tracing::error!("writing {} signing records failed: {e}", records.len());
            e.to_string()
        });
        for job in jobs {
            let _ = job.reply.send(outcome.clone());
        }
    }
}

/// Moves the jobs waiting in `rx` into `jobs`, up to [`MAX_GROUP`] in all.
fn take_queued(rx: &mut mpsc::Receiver<Job>, jobs: &mut Vec<Job>) {
    while jobs.len() < MAX_GROUP {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
}

/// Start of the period holding `now_ms` (UTC): `hour`, `day`, or calendar `month` (the
/// default for anything else).
pub fn period_start(period: &str, now_ms: i64) -> i64 {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 86_400_000;
    match period {
        "hour" => now_ms - now_ms.rem_euclid(HOUR),
        "day" => now_ms - now_ms.rem_euclid(DAY),
        _ => {
            let (y, m, _) = signet_crypto::asn1::civil_from_days(now_ms.div_euclid(DAY));
            signet_crypto::asn1::days_from_civil(y, m, 1) * DAY
        }
    }
}

/// Start of the period after the one holding `now_ms`.
pub fn next_period_start(period: &str, now_ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    match period {
        "hour" => period_start(period, now_ms) + 3_600_000,
        "day" => period_start(period, now_ms) + DAY,
        _ => {
            let (y, m, _) = signet_crypto::asn1::civil_from_days(now_ms.div_euclid(DAY));
            let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            signet_crypto::asn1::days_from_civil(y, m, 1) * DAY
        }
    }
}

/// The period names a tenant may use.
pub const PERIODS: [&str; 3] = ["hour", "day", "month"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        // 2026-11-23T07:30:00Z
        let now = 1_795_419_000_000;
        assert_eq!(period_start("hour", now), 1_795_417_200_000);
        assert_eq!(period_start("day", now), 1_795_392_000_000);
        // 2026-11-01 and 2026-12-01
        assert_eq!(period_start("month", now), 1_793_491_200_000);
        assert_eq!(next_period_start("month", now), 1_796_083_200_000);
    }
}
