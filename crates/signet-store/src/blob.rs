//! Where the bytes of documents and seal images live.
//!
//! Two backends: a local directory (the default), or an S3-compatible object store (AWS S3,
//! MinIO, Ceph…) with the local directory as its staging area and read cache.
//!
//! A blob is stored completely before any database row names it, and readers never see a
//! partial blob: a local blob is written, flushed and renamed into place; an S3 object appears
//! whole or not at all (one PUT, or a multipart upload completed in one request), and the
//! caller writes its row only after [`BlobStore::put_file`] returned. Keys are relative paths
//! of lowercase letters, digits, `_`, `-`, `.` and `/` (chosen by the server, never by a
//! client), checked the same way for both backends.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The file name prefix of downloads in progress in the staging directory (a server killed
/// mid-download leaves one behind; it may be removed at the next start).
pub const DOWNLOAD_PREFIX: &str = ".signet-get-";

/// Files up to this size go to S3 in one PUT (read into memory); larger ones as a multipart
/// upload of parts of [`PART_SIZE`] bytes.
const SINGLE_PUT_MAX: u64 = 8 << 20;
/// The size of a multipart upload's parts (S3 wants at least 5 MiB for all but the last).
const PART_SIZE: usize = 8 << 20;
/// Parts uploaded at a time by one upload: memory per upload stays under
/// `(PARTS_IN_FLIGHT + 1) × PART_SIZE`.
const PARTS_IN_FLIGHT: usize = 2;

/// What a put stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutResult {
    /// The blob's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A blob store: a local directory ([`BlobStore::local`]) or an S3-compatible bucket
/// ([`BlobStore::s3`]). Cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobStore {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Local(LocalBlobStore),
    S3(S3BlobStore),
}

/// Checks a blob key: a relative path of lowercase letters, digits, `_`, `-`, `.` and `/`,
/// without empty, `.` or `..` components, at most 200 bytes.
fn check_key(key: &str) -> io::Result<()> {
    let valid = !key.is_empty()
        && key.len() <= 200
        && !key.starts_with('/')
        && !key.split('/').any(|part| part.is_empty() || part == "." || part == "..")
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-./".contains(&b));
    if valid { Ok(()) } else { Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid blob key '{key}'"))) }
}

/// `e` with the key and the backend in its message (its kind kept).
fn blob_error(backend: &dyn fmt::Display, key: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("blob '{key}' in {backend}: {e}"))
}

/// Blobs as files under a directory. Temporary files are made in `DIR/.tmp` so a rename
/// puts them in place atomically (same file system).
#[derive(Clone, Debug)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl fmt::Display for LocalBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the local blob store {}", self.root.display())
    }
}

impl LocalBlobStore {
    /// A store under `root` (created, private to the user).
    pub fn open(root: &Path) -> io::Result<Self> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(root.join(".tmp"))?;
        Ok(LocalBlobStore { root: root.to_path_buf() })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join(".tmp")
    }

    /// Moves (or, across file systems, copies) the finished file `tmp` to `key`'s path.
    async fn put_file(&self, key: &str, tmp: tempfile::TempPath, durable: bool) -> io::Result<PutResult> {
        let dest = self.path(key)?;
        let staging = self.staging_dir();
        let key = key.to_string();
        tokio::task::spawn_blocking(move || -> io::Result<PutResult> {
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let size = std::fs::metadata(&tmp)?.len();
            if durable {
                std::fs::File::open(&tmp)?.sync_data()?;
            }
            match tmp.persist(&dest) {
                Ok(()) => {}
                Err(e) if e.error.raw_os_error() == Some(18) => {
                    // EXDEV: another file system; copy into staging, then rename
                    let tmp = e.path;
                    let copy = tempfile::NamedTempFile::new_in(&staging)?;
                    std::fs::copy(&tmp, copy.path())?;
                    if durable {
                        copy.as_file().sync_data()?;
                    }
                    copy.persist(&dest).map_err(|e| e.error)?;
                }
                Err(e) => return Err(e.error),
            }
            Ok(PutResult { key, size })
        })
        .await
        .map_err(io::Error::other)?
    }

    /// The keys of the files under the directory `prefix`, recursively.
    async fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let dir = self.path(prefix)?;
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            let mut dirs = vec![(dir, prefix)];
            while let Some((dir, key)) = dirs.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                for entry in entries {
                    let entry = entry?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let child = format!("{key}/{name}");
                    if entry.file_type()?.is_dir() {
                        dirs.push((entry.path(), child));
                    } else {
                        keys.push(child);
                    }
                }
            }
            keys.sort();
            Ok(keys)
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// Where an S3-compatible bucket is and how to reach it. Credentials, unless given here, come
/// from the standard AWS environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// optionally `AWS_SESSION_TOKEN`); for AWS itself (no `endpoint`), from the rest of the AWS
/// credential chain (web identity, container or instance metadata) when those are not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Options {
    /// The bucket.
    pub bucket: String,
    /// A key prefix inside the bucket (without leading or trailing `/`); empty for none.
    pub prefix: String,
    /// The endpoint URL of an S3-compatible server (`http://127.0.0.1:9000` for a local
    /// MinIO); AWS S3 when `None` (or `$AWS_ENDPOINT_URL_S3`, `$AWS_ENDPOINT` when set).
    /// Requests are path-style (`ENDPOINT/BUCKET/KEY`); `http://` is allowed when asked for.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` when `None`, unless `$AWS_REGION` or `$AWS_DEFAULT_REGION`
    /// says otherwise).
    pub region: Option<String>,
    /// Credentials that take precedence over the environment's.
    pub credentials: Option<S3Credentials>,
}

/// An S3 access key (its secret is never shown by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// The access key id (`AKIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

impl S3Options {
    /// Parses `s3://BUCKET[/PREFIX]`.
    pub fn from_url(url: &str) -> Result<S3Options, String> {
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(format!("'{url}' is not an s3://BUCKET[/PREFIX] URL"));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !bucket_ok {
            return Err(format!(
                "'{bucket}' is not a bucket name (3 to 63 lowercase letters, digits, '-' and '.') in '{url}'"
            ));
        }
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix.is_empty()
            || (prefix.len() <= 512
                && prefix.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
                && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b)));
        if !prefix_ok {
            return Err(format!(
                "'{prefix}' is not a key prefix (letters, digits, '_', '-', '.', non-empty '/'-separated parts) in '{url}'"
            ));
        }
        Ok(S3Options {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint: None,
            region: None,
            credentials: None,
        })
    }
}

impl fmt::Display for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        match &self.endpoint {
            Some(e) => write!(f, " at {e}"),
            None => Ok(()),
        }
    }
}

/// Blobs as objects in an S3-compatible bucket, with a local directory for staging and as a
/// read cache: a put uploads the finished file, then keeps it in the cache; a blob missing
/// from the cache is downloaded into it when read. Blobs never change once stored, so a
/// cached copy is never stale.
#[derive(Clone)]
pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    options: S3Options,
    cache: LocalBlobStore,
}

impl fmt::Debug for S3BlobStore {
    // (no credentials in logs: AmazonS3's Debug shows its configuration)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore").field("options", &self.options).field("cache", &self.cache).finish()
    }
}

impl fmt::Display for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the S3 blob store {}", self.options)
    }
}

impl S3BlobStore {
    /// A client of the bucket of `options`, with `cache` (created) as its local directory.
    /// Nothing is sent to the server yet: see [`BlobStore::check`].
    pub fn new(options: &S3Options, cache: &Path) -> io::Result<S3BlobStore> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&options.bucket);
        if let Some(c) = &options.credentials {
            builder = builder.with_access_key_id(&c.access_key_id).with_secret_access_key(&c.secret_access_key);
        }
        let env_credentials = [
            "AWS_ACCESS_KEY_ID",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
        if options.endpoint.is_some() && options.credentials.is_none() && !env_credentials {
            // (the chain's last resort, instance metadata, is AWS's own: not for another server)
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("S3 blob store {options}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
            ));
        }
        if let Some(endpoint) = &options.endpoint {
            builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
        }
        match &options.region {
            Some(region) => builder = builder.with_region(region),
            None if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() => {
                builder = builder.with_region("us-east-1");
            }
            None => {}
        }
        let allow_http = options.endpoint.as_ref().is_some_and(|e| e.starts_with("http://"))
            || std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let client = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_connect_timeout(Duration::from_secs(5))
            // a large download may take longer than any fixed time: stalls are what fail it
            .with_timeout_disabled()
            .with_read_timeout(Duration::from_secs(60));
        let retry = RetryConfig { max_retries: 4, retry_timeout: Duration::from_secs(60), ..Default::default() };
        let s3 = builder
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("S3 blob store {options}: {e}")))?;
        let cache = LocalBlobStore::open(cache)?;
        Ok(S3BlobStore { s3: Arc::new(s3), options: options.clone(), cache })
    }

    /// The object path of `key` (checked).
    fn location(&self, key: &str) -> io::Result<ObjectPath> {
        check_key(key)?;
        let full =
            if self.options.prefix.is_empty() { key.to_string() } else { format!("{}/{key}", self.options.prefix) };
        ObjectPath::parse(&full).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }

    /// Uploads the file at `path` to `location`: one PUT for a small file, else a multipart
    /// upload read from the file part by part (aborted on failure: no object appears).
    async fn upload(&self, location: &ObjectPath, path: &Path, size: u64) -> io::Result<()> {
        if size <= SINGLE_PUT_MAX {
            let bytes = tokio::fs::read(path).await?;
            self.s3.put(location, PutPayload::from(bytes)).await?;
            return Ok(());
        }
        let mut file = tokio::fs::File::open(path).await?;
        let mut upload = WriteMultipart::new_with_chunk_size(self.s3.put_multipart(location).await?, PART_SIZE);
        let sent: io::Result<()> = async {
            loop {
                upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                let mut part = Vec::with_capacity(PART_SIZE);
                (&mut file).take(PART_SIZE as u64).read_to_end(&mut part).await?;
                if part.is_empty() {
                    return Ok(());
                }
                upload.put(Bytes::from(part));
            }
        }
        .await;
        match sent {
            Ok(()) => {
                upload.finish().await?;
                Ok(())
            }
            Err(e) => {
                if let Err(abort) = upload.abort().await {
                    tracing::warn!("aborting the upload of {location}: {abort}");
                }
                Err(e)
            }
        }
    }

    async fn put_file(&self, key: &str, tmp: tempfile::TempPath, durable: bool) -> io::Result<PutResult> {
        let location = self.location(key)?;
        let size = tokio::fs::metadata(&tmp).await?.len();
        self.upload(&location, &tmp, size).await?;
        // stored; the cache copy is only a convenience
        if let Err(e) = self.cache.put_file(key, tmp, durable).await {
            tracing::warn!("keeping a copy of blob '{key}' in {}: {e}", self.cache);
        }
        Ok(PutResult { key: key.to_string(), size })
    }

    /// The cached copy of `key`, downloaded first when missing (streamed to a file in the
    /// staging directory, then renamed into place).
    async fn local_file(&self, key: &str) -> io::Result<PathBuf> {
        let location = self.location(key)?;
        let dest = self.cache.path(key)?;
        if tokio::fs::try_exists(&dest).await? {
            return Ok(dest);
        }
        let mut stream = self.s3.get(&location).await?.into_stream();
        let tmp = tempfile::Builder::new().prefix(DOWNLOAD_PREFIX).tempfile_in(self.cache.staging_dir())?;
        let (file, tmp) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        drop(file);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::task::spawn_blocking(move || tmp.persist(&dest).map(|()| dest).map_err(|e| e.error))
            .await
            .map_err(io::Error::other)?
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        let location = self.location(key)?;
        match self.s3.delete(&location).await {
            Err(object_store::Error::NotFound { .. }) | Ok(()) => {}
            Err(e) => return Err(e.into()),
        }
        match tokio::fs::remove_file(self.cache.path(key)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let location = self.location(prefix)?;
        let strip = if self.options.prefix.is_empty() { String::new() } else { format!("{}/", self.options.prefix) };
        let mut objects = self.s3.list(Some(&location));
        let mut keys = Vec::new();
        while let Some(meta) = objects.next().await {
            let path = meta?.location.to_string();
            if let Some(key) = path.strip_prefix(&strip) {
                keys.push(key.to_string());
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn check(&self) -> io::Result<()> {
        let prefix =
            if self.options.prefix.is_empty() { None } else { Some(ObjectPath::from(self.options.prefix.as_str())) };
        self.s3.list_with_delimiter(prefix.as_ref()).await.map_err(|e| {
            let prefix = if self.options.prefix.is_empty() {
                String::new()
            } else {
                format!(" (prefix '{}/')", self.options.prefix)
            };
            io::Error::other(format!(
                "the S3 bucket '{}' at {} cannot be listed{prefix}: {e}",
                self.options.bucket,
                self.endpoint()
            ))
        })?;
        Ok(())
    }

    fn endpoint(&self) -> String {
        match &self.options.endpoint {
            Some(e) => e.clone(),
            None => "AWS S3 (or $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT)".into(),
        }
    }
}

impl BlobStore {
    /// Blobs in a local directory.
    pub fn local(root: &Path) -> io::Result<Self> {
        Ok(BlobStore { backend: Backend::Local(LocalBlobStore::open(root)?) })
    }

    /// Blobs in the S3-compatible bucket of `options`, with `cache` as the local staging
    /// directory and read cache. Nothing is sent to the server yet: [`BlobStore::check`]
    /// does that.
    pub fn s3(options: &S3Options, cache: &Path) -> io::Result<Self> {
        Ok(BlobStore { backend: Backend::S3(S3BlobStore::new(options, cache)?) })
    }

    /// Makes sure the store can be used: for S3, lists the prefix (an unreachable endpoint, a
    /// missing bucket or refused credentials fail here, naming the endpoint and the bucket).
    pub async fn check(&self) -> io::Result<()> {
        match &self.backend {
            Backend::Local(_) => Ok(()),
            Backend::S3(s3) => s3.check().await,
        }
    }

    /// The store, for messages: its directory, or its bucket and endpoint.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Local(l) => l.to_string(),
            Backend::S3(s) => s.to_string(),
        }
    }

    fn backend_name(&self) -> &dyn fmt::Display {
        match &self.backend {
            Backend::Local(l) => l,
            Backend::S3(s) => s,
        }
    }

    /// A directory on the store's local file system where [`BlobStore::put_file`] can move a
    /// finished file into place without copying.
    pub fn staging_dir(&self) -> PathBuf {
        match &self.backend {
            Backend::Local(l) => l.staging_dir(),
            Backend::S3(s) => s.cache.staging_dir(),
        }
    }

    /// Stores the finished file `tmp` under `key`. Local: the file is moved when it lies on
    /// the store's file system (see [`BlobStore::staging_dir`]), else copied; in both cases
    /// flushed first when `durable`. S3: the file is uploaded (in parts when large), then
    /// moved into the local cache. When this returns, the blob is readable in full.
    pub async fn put_file(&self, key: &str, tmp: tempfile::TempPath, durable: bool) -> io::Result<PutResult> {
        match &self.backend {
            Backend::Local(l) => l.put_file(key, tmp, durable).await,
            Backend::S3(s) => s.put_file(key, tmp, durable).await,
        }
        .map_err(|e| blob_error(self.backend_name(), key, e))
    }

    /// Stores `bytes` under `key`, atomically; with `durable`, flushed to the disk first (see
    /// [`BlobStore::put_file`]).
    pub async fn put_bytes(&self, key: &str, bytes: bytes::Bytes, durable: bool) -> io::Result<PutResult> {
        check_key(key).map_err(|e| blob_error(self.backend_name(), key, e))?;
        let staging = self.staging_dir();
        let tmp = tokio::task::spawn_blocking(move || -> io::Result<tempfile::TempPath> {
            let mut f = tempfile::NamedTempFile::new_in(staging)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            Ok(f.into_temp_path())
        })
        .await
        .map_err(io::Error::other)?
        .map_err(|e| blob_error(self.backend_name(), key, e))?;
        self.put_file(key, tmp, durable).await
    }

    /// A local file holding the blob, to read it from (a streaming reader, a renderer): the
    /// file itself for a local store; the cached copy for S3, downloaded first when missing.
    /// For a local store the file's existence is not checked.
    pub async fn local_file(&self, key: &str) -> io::Result<PathBuf> {
        match &self.backend {
            Backend::Local(l) => l.path(key),
            Backend::S3(s) => s.local_file(key).await,
        }
        .map_err(|e| blob_error(self.backend_name(), key, e))
    }

    /// Opens the blob for reading.
    pub async fn open(&self, key: &str) -> io::Result<tokio::fs::File> {
        let path = self.local_file(key).await?;
        tokio::fs::File::open(path).await.map_err(|e| blob_error(self.backend_name(), key, e))
    }

    /// The blob's bytes (for small blobs: images).
    pub async fn read(&self, key: &str) -> io::Result<Vec<u8>> {
        let path = self.local_file(key).await?;
        tokio::fs::read(path).await.map_err(|e| blob_error(self.backend_name(), key, e))
    }

    /// Deletes the blob (for S3, the object and its cached copy); a missing blob is not an
    /// error.
    pub async fn delete(&self, key: &str) -> io::Result<()> {
        match &self.backend {
            Backend::Local(l) => match tokio::fs::remove_file(l.path(key)?).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Backend::S3(s) => s.delete(key).await,
        }
        .map_err(|e| blob_error(self.backend_name(), key, e))
    }

    /// The keys of the blobs under `prefix` (a key-like path taken as a directory: `a/b`
    /// lists `a/b/…`), sorted. A prefix with nothing under it gives an empty list.
    pub async fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        match &self.backend {
            Backend::Local(l) => l.list(prefix).await,
            Backend::S3(s) => s.list(prefix).await,
        }
        .map_err(|e| blob_error(self.backend_name(), prefix, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD_KEYS: [&str; 8] = ["", "/etc/passwd", "../x", "a/../../x", "a//b", "A.pdf", "a\\b", "a/./b"];

    #[test]
    fn keys_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let store = LocalBlobStore::open(dir.path()).unwrap_or_else(|e| unreachable!("{e}"));
        for bad in BAD_KEYS {
            assert!(store.path(bad).is_err(), "{bad}");
        }
        assert!(store.path(&"a".repeat(201)).is_err());
        assert!(store.path("documents/ab/doc_x.pdf").is_ok());
    }

    /// An S3 store whose endpoint nobody answers: a key check that let a key through would
    /// fail differently (a connection error, not `InvalidInput`).
    fn unreachable_s3(dir: &Path) -> BlobStore {
        let mut options = S3Options::from_url("s3://signet-test/tenant-a").unwrap_or_else(|e| unreachable!("{e}"));
        options.endpoint = Some("http://127.0.0.1:9".into());
        options.credentials =
            Some(S3Credentials { access_key_id: "test".into(), secret_access_key: "test-secret".into() });
        BlobStore::s3(&options, &dir.join("cache")).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[tokio::test]
    async fn s3_keys_are_checked_before_any_request() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let store = unreachable_s3(dir.path());
        for bad in BAD_KEYS {
            let refused = |r: io::Result<()>, what: &str| {
                let e = r.err().unwrap_or_else(|| unreachable!("{what} '{bad}' was accepted"));
                assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{what} '{bad}': {e}");
                let text = e.to_string();
                assert!(text.contains(&format!("'{bad}'")), "{text}");
                assert!(text.contains("s3://signet-test/tenant-a at http://127.0.0.1:9"), "{text}");
            };
            refused(store.put_bytes(bad, b"x".to_vec().into(), false).await.map(drop), "put_bytes");
            let tmp = tempfile::NamedTempFile::new_in(store.staging_dir()).unwrap_or_else(|e| unreachable!("{e}"));
            refused(store.put_file(bad, tmp.into_temp_path(), false).await.map(drop), "put_file");
            refused(store.local_file(bad).await.map(drop), "local_file");
            refused(store.open(bad).await.map(drop), "open");
            refused(store.read(bad).await.map(drop), "read");
            refused(store.delete(bad).await, "delete");
            refused(store.list(bad).await.map(drop), "list");
        }
        // a good key gets as far as the network
        let e = store.read("images/x/img_1.png").await.err().unwrap_or_else(|| unreachable!("nobody answers"));
        assert_ne!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let e = store.check().await.err().unwrap_or_else(|| unreachable!("nobody answers"));
        let text = e.to_string();
        assert!(text.contains("'signet-test'") && text.contains("http://127.0.0.1:9"), "{text}");
    }

    #[test]
    fn s3_urls() {
        let o = S3Options::from_url("s3://signet-blobs").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((o.bucket.as_str(), o.prefix.as_str()), ("signet-blobs", ""));
        let o = S3Options::from_url("s3://signet-blobs/prod/eu/").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((o.bucket.as_str(), o.prefix.as_str()), ("signet-blobs", "prod/eu"));
        assert_eq!(o.to_string(), "s3://signet-blobs/prod/eu");
        for bad in ["signet-blobs", "http://x/y", "s3://", "s3://ab", "s3://Upper", "s3://b-b-b/a//b", "s3://bbb/../x"]
        {
            assert!(S3Options::from_url(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn local_list_and_delete() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let store = BlobStore::local(dir.path()).unwrap_or_else(|e| unreachable!("{e}"));
        for key in ["b/out/1.pdf", "b/out/sub/2.pdf", "b/in/0.pdf"] {
            store.put_bytes(key, key.as_bytes().to_vec().into(), false).await.unwrap_or_else(|e| unreachable!("{e}"));
        }
        let keys = store.list("b/out").await.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(keys, ["b/out/1.pdf", "b/out/sub/2.pdf"]);
        assert!(store.list("nothing/here").await.unwrap_or_else(|e| unreachable!("{e}")).is_empty());
        store.delete("b/out/1.pdf").await.unwrap_or_else(|e| unreachable!("{e}"));
        store.delete("b/out/1.pdf").await.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(store.read("b/in/0.pdf").await.unwrap_or_else(|e| unreachable!("{e}")), b"b/in/0.pdf");
        let e = store.read("b/out/1.pdf").await.err().unwrap_or_else(|| unreachable!("deleted"));
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("'b/out/1.pdf'"), "{e}");
    }
}
