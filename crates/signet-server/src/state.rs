//! What the handlers share: the data directory's paths, the trust anchors, the limits.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::FromRef;
use signet_authority::ocsp::{self, OcspResponder, StatusSource};
use signet_authority::tsa::TimestampAuthority;
use signet_authority::{Authority, AuthorityOptions, CaLevel, MasterKeySource};

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use signet_store::{BlobStore, Scope, Store};

use crate::auth::KeyCache;
use crate::batch::BatchRunner;
use crate::identities::Signers;
use crate::local::LocalFetcher;
use crate::meter::Meter;
use crate::remote::RemoteSignApi;
use crate::trust::TrustServices;
use crate::webhooks::{RetryPolicy, Webhooks};

/// Environment variable that sets the operator token (`sgk_ID.SECRET`).
pub const ADMIN_TOKEN_ENV: &str = "SIGNET_ADMIN_TOKEN";

use crate::{Error, ServerConfig};

const TRUST_README: &str = "\
Trust anchors for signature verification.

Certificates placed in this folder (PEM, which may hold several certificates, or DER; files
ending in .pem, .crt, .cer or .der) are the roots that signatures must chain to for
`POST /api/v1/verify` to report them as trusted. They are read when `signet serve` starts:
restart it after adding or removing one. Other files here are ignored.
";

/// The state every handler sees. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    authority: Arc<Authority>,
    trust: TrustServices,
    tmp_dir: PathBuf,
    trust_anchors: Vec<Vec<u8>>,
    max_upload_bytes: u64,
    store: Store,
    blobs: BlobStore,
    keys: KeyCache,
    meter: Meter,
    signers: Signers,
    services: LocalServices,
    remote: Option<Arc<RemoteSignApi>>,
    identities: Mutex<HashMap<(String, String), (signet_store::Identity, Instant)>>,
    batches: BatchRunner,
    webhooks: Webhooks,
    logins: crate::people::Logins,
    sso: crate::sso::SsoVerifiers,
    trusted_proxies: Vec<std::net::IpAddr>,
    mailer: crate::mail::Mailer,
    preparation_ttl: Duration,
}

/// How long an identity record is reused before reading it again.
const IDENTITY_TTL: Duration = Duration::from_secs(5);

/// The network the signing code uses for timestamps and validation data: the built-in
/// services in process, or an external TSA.
#[derive(Debug)]
pub struct LocalServices {
    fetcher: LocalFetcher,
    tsa_url: String,
}

impl LocalServices {
    /// The fetcher (built-in services in process, the rest over HTTP).
    pub fn fetcher(&self) -> &dyn signet_pades::Fetcher {
        &self.fetcher
    }
    /// The TSA used from B-T.
    pub fn tsa_url(&self) -> &str {
        &self.tsa_url
    }
}

impl AppState {
    /// Prepares `config.data_dir` (created with mode 0700 if missing, with `trust/` and its
    /// README.txt, and `tmp/` for uploads), opens the certification authority there or creates
    /// it on first start (see [`open_authority`]), and reads the trust anchors of
    /// `data_dir/trust/` and `config.trust`.
    pub async fn load(config: &ServerConfig) -> Result<AppState, Error> {
        let data = &config.data_dir;
        let trust_dir = data.join("trust");
        let tmp_dir = data.join("tmp");
        for dir in [data, &trust_dir, &tmp_dir] {
            create_private_dir(dir).map_err(|source| Error::DataDir { path: dir.clone(), source })?;
        }
        let readme = trust_dir.join("README.txt");
        if !readme.exists() {
            std::fs::write(&readme, TRUST_README).map_err(|source| Error::DataDir { path: readme, source })?;
        }
        remove_stale_uploads(&tmp_dir);
        let authority = Arc::new(open_authority(config)?);
        let trust = trust_services(&authority, config)?;

        let mut files = trust_files(&trust_dir).map_err(|source| Error::DataDir { path: trust_dir, source })?;
        files.extend(config.trust.iter().cloned());
        let mut trust_anchors = Vec::new();
        for path in files {
            let bytes =
                std::fs::read(&path).map_err(|e| Error::TrustAnchor { path: path.clone(), reason: e.to_string() })?;
            match signet_crypto::certificates_from_pem_or_der(&bytes) {
                Ok(certs) if !certs.is_empty() => trust_anchors.extend(certs),
                Ok(_) => return Err(Error::TrustAnchor { path, reason: "no certificate in the file".into() }),
                Err(e) => return Err(Error::TrustAnchor { path, reason: e.to_string() }),
            }
        }
        let url = match &config.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", data.join("signet.db").display()),
        };
        let store =
            Store::open(&url).await.map_err(|e| Error::Database { url: signet_store::redact(&url), source: e })?;
        let blob_dir = data.join("blobs");
        let blobs = match &config.s3 {
            None => BlobStore::local(&blob_dir).map_err(|source| Error::DataDir { path: blob_dir, source })?,
            Some(s3) => BlobStore::s3(s3, &blob_dir).map_err(|e| Error::BlobStore(e.to_string()))?,
        };
        blobs.check().await.map_err(|e| Error::BlobStore(e.to_string()))?;
        remove_stale_staging(&blobs.staging_dir());
        let master = match signet_crypto::MasterKey::from_env(signet_crypto::MasterKey::ENV_VAR) {
            Ok(Some(m)) => m,
            _ => signet_crypto::MasterKey::from_file(&data.join("master.key"))
                .map_err(|e| Error::TrustService(format!("master key: {e}")))?,
        };
        let keystore = signet_crypto::Keystore::open(&data.join("keys"), &master)
            .map_err(|e| Error::TrustService(format!("keystore: {e}")))?;
        let base = authority.public_urls().map_err(Error::Authority)?.base().to_string();
        let fetcher = LocalFetcher::new(&base, authority.clone(), trust.clone());
        let tsa_url = config.tsa_url.clone().unwrap_or_else(|| fetcher.tsa_url());
        let mailer = crate::mail::Mailer::new(config.smtp_url.as_deref(), &config.mail_from, data.join("outbox"))?;
        let remote = config.sign_api.as_ref().map(|(url, token)| Arc::new(RemoteSignApi::new(url, token)));
        let webhooks = Webhooks::new(
            store.clone(),
            RetryPolicy { base: config.webhook_retry_base, max_attempts: config.webhook_max_attempts },
        )?;
        Ok(AppState {
            shared: Arc::new(Shared {
                authority,
                trust,
                tmp_dir,
                trust_anchors,
                max_upload_bytes: config.max_upload_bytes,
                meter: Meter::start(store.clone(), webhooks.waker()),
                batches: BatchRunner::start(store.clone(), config.batch_workers),
                webhooks,
                store,
                blobs,
                keys: KeyCache::default(),
                signers: Signers::new(keystore, config.pkcs11.clone()),
                services: LocalServices { fetcher, tsa_url },
                remote,
                identities: Mutex::new(HashMap::new()),
                logins: crate::people::Logins::default(),
                sso: crate::sso::SsoVerifiers::default(),
                trusted_proxies: config.trusted_proxies.clone(),
                mailer,
                preparation_ttl: config.preparation_ttl,
            }),
        })
    }

    /// How long a prepared own-key signature stays usable.
    pub fn preparation_ttl(&self) -> Duration {
        self.shared.preparation_ttl
    }

    /// Outgoing mail.
    pub fn mailer(&self) -> &crate::mail::Mailer {
        &self.shared.mailer
    }

    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub fn trusted_proxies(&self) -> &[std::net::IpAddr] {
        &self.shared.trusted_proxies
    }

    /// Failed logins per client address.
    pub fn logins(&self) -> &crate::people::Logins {
        &self.shared.logins
    }

    /// The tenants' single sign-on verifiers.
    pub fn sso(&self) -> &crate::sso::SsoVerifiers {
        &self.shared.sso
    }

    /// Forgets a cached identity record (after it changed).
    pub fn forget_identity(&self, tenant: &str, name: &str) {
        self.lock_identities().remove(&(tenant.to_string(), name.to_string()));
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.shared.blobs
    }

    /// Checked API keys.
    pub fn keys(&self) -> &KeyCache {
        &self.shared.keys
    }

    /// Quotas, rates, signing records.
    pub fn meter(&self) -> &Meter {
        &self.shared.meter
    }

    /// The identities' keys.
    pub fn signers(&self) -> &Signers {
        &self.shared.signers
    }

    /// Timestamps and validation data for the signing code.
    pub fn services(&self) -> &LocalServices {
        &self.shared.services
    }

    /// The batch worker pool.
    pub fn batches(&self) -> &BatchRunner {
        &self.shared.batches
    }

    /// Webhook events and their deliveries.
    pub fn webhooks(&self) -> &Webhooks {
        &self.shared.webhooks
    }

    /// The remote hash-signing API the agent uses, when configured.
    pub fn remote(&self) -> Option<&Arc<RemoteSignApi>> {
        self.shared.remote.as_ref()
    }

    /// A tenant's identity by name (records cached for a few seconds).
    pub async fn identity(&self, tenant: &str, name: &str) -> Result<signet_store::Identity, Error> {
        let key = (tenant.to_string(), name.to_string());
        if let Some((i, at)) = self.lock_identities().get(&key) {
            if at.elapsed() < IDENTITY_TTL {
                return Ok(i.clone());
            }
        }
        let identity = self.store().identity(tenant, name).await?;
        self.lock_identities().insert(key, (identity.clone(), Instant::now()));
        Ok(identity)
    }

    fn lock_identities(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(String, String), (signet_store::Identity, Instant)>> {
        self.shared.identities.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes sure an operator can get in: with `SIGNET_ADMIN_TOKEN` set, that token is an
    /// operator key; otherwise, when no operator key exists (first start), one is created and
    /// its token returned, to be shown once.
    pub async fn bootstrap_admin(&self) -> Result<Option<String>, Error> {
        if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
            if !token.is_empty() {
                self.store()
                    .ensure_admin_token(&token)
                    .await
                    .map_err(|e| Error::TrustService(format!("{ADMIN_TOKEN_ENV}: {e}")))?;
                return Ok(None);
            }
        }
        if self.store().has_admin_key().await? {
            return Ok(None);
        }
        let key = self.store().create_api_key(None, "admin (first start)", &[Scope::Admin]).await?;
        Ok(Some(key.token))
    }

    /// The certification authority of the data directory.
    pub fn authority(&self) -> &Arc<Authority> {
        &self.shared.authority
    }

    /// How many trust anchor certificates were loaded.
    pub fn trust_anchor_count(&self) -> usize {
        self.shared.trust_anchors.len()
    }

    pub(crate) fn trust_anchors(&self) -> &[Vec<u8>] {
        &self.shared.trust_anchors
    }

    pub(crate) fn tmp_dir(&self) -> &Path {
        &self.shared.tmp_dir
    }

    pub(crate) fn max_upload_bytes(&self) -> u64 {
        self.shared.max_upload_bytes
    }
}

impl FromRef<AppState> for TrustServices {
    fn from_ref(state: &AppState) -> TrustServices {
        state.shared.trust.clone()
    }
}

/// The OCSP responder of the issuing CA (the authority's delegated responder certificate) and
/// the TSA (its timestamping certificate), both answering from the authority's records.
fn trust_services(authority: &Arc<Authority>, config: &ServerConfig) -> Result<TrustServices, Error> {
    let status: Arc<dyn StatusSource> = Arc::new(IssuingStatus(authority.clone()));
    let responder = OcspResponder::new(
        authority.ocsp_identity().map_err(Error::Authority)?,
        authority.ca_certificate(CaLevel::Issuing),
        status,
    )
    .map_err(|e| Error::TrustService(format!("OCSP responder: {e}")))?;
    let tsa = TimestampAuthority::new(authority.tsa_identity().map_err(Error::Authority)?, config.tsa_policy)
        .map_err(|e| Error::TrustService(format!("timestamp authority: {e}")))?;
    Ok(TrustServices { ocsp: Some(Arc::new(responder)), tsa: Some(Arc::new(tsa)) })
}

/// The issuing CA's certificate statuses, as the OCSP responder asks for them.
struct IssuingStatus(Arc<Authority>);

impl StatusSource for IssuingStatus {
    fn status(&self, serial: &[u8]) -> ocsp::CertStatus {
        match self.0.status(CaLevel::Issuing, serial) {
            Ok(signet_authority::CertStatus::Good) => ocsp::CertStatus::Good,
            Ok(signet_authority::CertStatus::Revoked(r)) => {
                ocsp::CertStatus::Revoked { time: r.time, reason: Some(r.reason) }
            }
            Ok(signet_authority::CertStatus::Unknown) => ocsp::CertStatus::Unknown,
            Err(e) => {
                // RFC 6960 §2.2 "unknown": the responder cannot tell; never "good"
                tracing::error!("OCSP: reading the certificate records failed: {e}");
                ocsp::CertStatus::Unknown
            }
        }
    }

    fn revision(&self) -> u64 {
        self.0.status_revision()
    }
}

/// Opens the authority of `config.data_dir`, or creates it without asking anything: P-256
/// keys (instant), URLs under [`ServerConfig::public_url`] or, when unset, under the listening
/// address. An explicit public URL given to an existing authority applies to the certificates
/// issued from then on. What was created, and where the master key is, goes to the log.
pub fn open_authority(config: &ServerConfig) -> Result<Authority, Error> {
    let public_url = config.public_url.clone().unwrap_or_else(|| default_public_url(config.listen));
    let options = AuthorityOptions { public_url, ..AuthorityOptions::default() };
    let (authority, created) = Authority::open_or_init(&config.data_dir, &options).map_err(Error::Authority)?;
    let ca_dir = config.data_dir.join("ca");
    if created {
        tracing::info!(
            "created the certification authority in {}: root and issuing CA, TSA and OCSP responder certificates, CRLs (URLs under {})",
            ca_dir.display(),
            options.public_url
        );
    } else if let Some(url) = &config.public_url {
        if authority.set_public_url(url).map_err(Error::Authority)? {
            tracing::info!("certificates issued from now on point at {url}");
        }
    }
    match authority.master_key_source() {
        MasterKeySource::Created(path) => tracing::warn!(
            "created the master key {}: keep a copy somewhere safe, the private keys in {} cannot be used without it",
            path.display(),
            config.data_dir.join("keys").display()
        ),
        MasterKeySource::File(path) => tracing::info!("master key: {}", path.display()),
        MasterKeySource::Environment => tracing::info!("master key: from {}", signet_crypto::MasterKey::ENV_VAR),
    }
    Ok(authority)
}

/// `http://` and the listening address, with a wildcard address replaced by loopback (a
/// wildcard cannot be fetched; set the public URL to the host name clients use).
fn default_public_url(listen: std::net::SocketAddr) -> String {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        let loopback: std::net::IpAddr =
            if addr.is_ipv4() { std::net::Ipv4Addr::LOCALHOST.into() } else { std::net::Ipv6Addr::LOCALHOST.into() };
        tracing::warn!(
            "listening on {listen}: certificates will name {loopback}; set --public-url to the host name clients use"
        );
        addr.set_ip(loopback);
    }
    format!("http://{addr}")
}

/// Creates `dir` and its missing parents, readable only by the owner; an existing directory is
/// left as it is.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The certificate files of the trust folder, in name order.
fn trust_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_cert = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["pem", "crt", "cer", "der"].iter().any(|c| e.eq_ignore_ascii_case(c)));
        if is_cert && path.is_file() {
            files.push(path);
        } else if path.file_name().is_some_and(|n| n != "README.txt") {
            tracing::warn!("ignoring {} (trust anchors end in .pem, .crt, .cer or .der)", path.display());
        }
    }
    files.sort();
    Ok(files)
}

/// Uploads left by a server that was killed mid-request.
fn remove_stale_uploads(tmp_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp_dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(crate::verify::UPLOAD_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Uploads and outputs left in the blob staging directory by a server killed mid-request.
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if crate::agent::staging_prefixes().iter().any(|p| name.starts_with(p)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
