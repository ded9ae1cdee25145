#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

/// A query text built from constant pieces (column lists): never from client input.
macro_rules! dynamic {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

pub mod audit;
mod batches;
mod blob;
mod client_certs;
mod envelopes;
mod idempotency;
mod people;
mod preparations;
mod records;
mod seals;
mod tenants;
mod versions;
mod webhooks;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};

pub use audit::{Actor, AuditAnchor, AuditEntry, AuditQuery, ChainReport, Finding};
pub use batches::{
    Batch, BatchItem, BatchProgress, ItemOutcome, ItemResult, ItemState, ItemWithDocument, NewBatchItem, new_batch_id,
};
pub use blob::{BlobStore, DOWNLOAD_PREFIX, LocalBlobStore, PutResult, S3BlobStore, S3Credentials, S3Options};
pub use client_certs::{ClientCertificateRecord, NewClientCertificate};
pub use envelopes::{EnvelopeEvent, EnvelopeLine, EnvelopeLink, EnvelopeWrite, SignerSession, StoredEnvelope};
pub use idempotency::{IdempotencyClaim, IdempotencyRecord, StoredResponse};
pub use people::{NewUser, Role, Session, SsoSettings, TenantSettings, User};
pub use preparations::{KEPT_AFTER_EXPIRY_MS, Preparation};
pub use records::{DocumentRecord, Identity, ImageRecord, KeyStoreKind, SignatureRecord, Template};
pub use seals::{NewGrant, NewSeal, Seal, SealGrant, SealRequest, new_seal_id};
pub use tenants::{ApiKey, NewApiKey, Scope, Tenant, TenantLimits, Usage, UsageDelta, split_token};
pub use versions::{DocumentVersion, VersionLine};
pub use webhooks::{
    AttemptNext, DISABLED, DeliveryState, DueDelivery, EmittedEvent, FeedEvent, NewWebhookEvent, Webhook,
    WebhookAttempt, WebhookDelivery, WebhookUpdate,
};

/// What went wrong in the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The database refused or failed a query.
    Database(sqlx::Error),
    /// A migration failed.
    Migration(sqlx::migrate::MigrateError),
    /// A row with this unique name already exists.
    Conflict(String),
    /// Nothing has this identifier (within the tenant).
    NotFound(String),
    /// A blob could not be written or read.
    Blob(std::io::Error),
    /// A stored value does not parse (JSON, an enumeration): the database was edited by hand
    /// or by a newer version.
    Corrupt(String),
    /// The database URL is not one the store understands.
    Url(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Database(e) => write!(f, "database: {e}"),
            Error::Migration(e) => write!(f, "database migration: {e}"),
            Error::Conflict(what) => write!(f, "{what} already exists"),
            Error::NotFound(what) => write!(f, "{what} not found"),
            Error::Blob(e) => write!(f, "blob store: {e}"),
            Error::Corrupt(what) => write!(f, "stored data does not parse: {what}"),
            Error::Url(what) => write!(f, "database URL: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Database(e) => Some(e),
            Error::Migration(e) => Some(e),
            Error::Blob(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return Error::Conflict(db.message().to_string());
            }
        }
        Error::Database(e)
    }
}

/// The store's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which database a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, a file.
    Sqlite,
    /// PostgreSQL, a server.
    Postgres,
}

/// The database: a connection pool and the queries of every repository.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's writers take turns here (see [`Store::write_turn`]), with a connection of
    /// their own for the group commits (none for an in-memory database, whose every
    /// connection would be another database).
    writer: std::sync::Arc<tokio::sync::Mutex<Option<sqlx::AnyConnection>>>,
    /// The next signing-record number of each tenant, as of the last commit.
    next_seq: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    /// The turn of signing-log appends, with the chains' heads as of the last commit (see
    /// [`audit`]).
    chain: std::sync::Arc<tokio::sync::Mutex<audit::ChainHeads>>,
    /// Each tenant's next events-feed number and active webhook endpoints, as of this
    /// process's last write (see [`webhooks`]): a group commit of signed documents reads
    /// neither from the database in the steady state.
    feed: std::sync::Arc<std::sync::Mutex<webhooks::FeedCache>>,
}

impl Store {
    /// Connects to `url` and brings its schema up to date.
    ///
    /// - `sqlite://PATH` (created if missing) or `sqlite::memory:` (tests);
    /// - `postgres://USER:PASSWORD@HOST:PORT/DB` (or `postgresql://`).
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(Error::Url(format!(
                "'{}' is neither sqlite://PATH nor postgres://USER:PASSWORD@HOST/DB",
                redact(url)
            )));
        };
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') || url.contains(":memory:") {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                // one writer at a time in SQLite; readers in parallel under WAL
                AnyPoolOptions::new()
                    .max_connections(if url.contains(":memory:") { 1 } else { 8 })
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?
            }
        };
        sqlx::migrate!("./migrations").run(&pool).await.map_err(Error::Migration)?;
        let writer = match backend {
            Backend::Sqlite if !url.contains(":memory:") => {
                let mut writer = pool.acquire().await?.detach();
                // the group commits leave checkpoints to `checkpoints`, except as a safety net
                writer.execute("PRAGMA wal_autocheckpoint = 16384").await?;
                Some(writer)
            }
            _ => None,
        };
        let checkpointing = writer.is_some();
        let writer = std::sync::Arc::new(tokio::sync::Mutex::new(writer));
        if checkpointing {
            tokio::spawn(checkpoints(pool.clone(), std::sync::Arc::downgrade(&writer)));
        }
        Ok(Store {
            pool,
            backend,
            writer,
            next_seq: Default::default(),
            chain: Default::default(),
            feed: Default::default(),
        })
    }

    /// On SQLite, the turn of this process's writers: SQLite lets one connection write at a
    /// time and makes the others retry after sleeps (its busy handler waits 1, 2, 5, 10, 15…
    /// ms), which under concurrent group commits (signing records, batch outcomes) cost tens of
    /// milliseconds per transaction; queued here, they run back to back. A deferred
    /// transaction that reads before it writes also cannot then lose its snapshot to a
    /// concurrent writer. PostgreSQL queues on its own row locks: `None`.
    ///
    /// The turn holds the writers' own connection (when the database is a file): the group
    /// commits run on it, so its page cache stays warm from one to the next instead of being
    /// read again on whichever pooled connection comes up.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, Option<sqlx::AnyConnection>>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.lock().await),
            Backend::Postgres => None,
        }
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for queries of other crates.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        if let Some(conn) = self.writer.lock().await.take() {
            let _ = sqlx::Connection::close(conn).await;
        }
        self.pool.close().await;
    }
}

/// How often [`checkpoints`] runs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// Copies SQLite's write-ahead log into the database file in the background, on a pooled
/// connection, until the pool closes or the last clone of the store is dropped (`alive`).
///
/// By default the connection whose commit brings the log past 1,000 pages checkpoints it
/// right then, with two `fsync`s, before its commit returns. The group commits made the
/// writers' connection that one, many times a second at load, and every request of the group
/// waited through it: the two cores idled 13 % of the time and the hash-signing API lost as
/// much. Here a passive checkpoint (which waits for no reader and no writer) runs every
/// 50 ms instead (every 250 ms, each had so much to copy that the 99th percentile of the
/// requests' latency tripled); once it has copied the whole log the next commit starts the
/// log over, so it stays small. The writers' connection still checkpoints past 16,384 pages
/// (64 MiB), should this fall behind.
async fn checkpoints(pool: AnyPool, alive: std::sync::Weak<impl Sized>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() || alive.strong_count() == 0 {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!("checkpointing the database's write-ahead log: {e}");
        }
    }
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A new identifier: `prefix` + `_` + 26 lowercase base-32 characters (128 bits): the
/// creation time in milliseconds (48 bits) then 80 random bits, in an alphabet in ASCII order
/// (`2`–`7`, `a`–`z`), so identifiers sort by creation time (as UUIDv7 does). Records made
/// together then sit together in their table's index: a group commit of many records
/// changes a few index pages, not one page per record (which, with random identifiers,
/// made most of SQLite's write-ahead log). Identifiers name things; they grant nothing
/// (every lookup is within the caller's tenant), so their showing when they were made is
/// harmless.
///
/// Within one process identifiers are strictly increasing (RFC 9562 §6.2, method 2): one
/// made in the same millisecond as the last, or after the clock stepped back, is the last
/// plus one, so "newest first" is exact even for records made in a burst.
pub fn new_id(prefix: &str) -> String {
    use rand::RngCore;
    static LAST: std::sync::Mutex<u128> = std::sync::Mutex::new(0);
    let millis = u64::try_from(now_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    // identifiers are unique, not secret: the thread's generator (seeded from the system's),
    // not a system call per identifier
    rand::thread_rng().fill_bytes(&mut bytes[6..]);
    let mut value = u128::from_be_bytes(bytes);
    {
        let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if value >> 80 <= *last >> 80 {
            value = last.wrapping_add(1);
        }
        *last = value;
    }
    let bytes = value.to_be_bytes();
    format!("{prefix}_{}", encode_base32(&bytes, b"234567abcdefghijklmnopqrstuvwxyz"))
}

/// `n` random bytes as lowercase base 32 (RFC 4648 alphabet, no padding).
pub fn random_base32(n: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base32(&bytes)
}

fn base32(bytes: &[u8]) -> String {
    encode_base32(bytes, b"abcdefghijklmnopqrstuvwxyz234567")
}

/// `bytes` in base 32 with `alphabet` (5 bits a character, most significant first).
fn encode_base32(bytes: &[u8], alphabet: &[u8; 32]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(alphabet[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(alphabet[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Milliseconds since the Unix epoch.
pub fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    millis(SystemTime::now())
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// SHA-256 of `bytes`, lowercase hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

pub(crate) fn get<T>(row: &AnyRow, column: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    row.try_get(column).map_err(Error::from)
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_is_rfc4648() {
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
        assert_eq!(new_id("tn").len(), 3 + 26);
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let first = new_id("sig");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id("sig");
        assert!(first < second, "{first} < {second}");
        assert_ne!(new_id("sig"), new_id("sig"));
        assert!(first[4..].bytes().all(|b| b"234567abcdefghijklmnopqrstuvwxyz".contains(&b)));
        // a burst within one millisecond still comes out in order
        let burst: Vec<String> = (0..1000).map(|_| new_id("dlv")).collect();
        assert!(burst.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
