//! Where the bytes of documents and seal images live.
//!
//! A blob is written completely, flushed, and renamed into place before any database row
//! names it; readers never see a partial blob. Keys are relative paths of lowercase letters,
//! digits, `_`, `-`, `.` and `/` (chosen by the server, never by a client).

use std::io;
use std::path::{Path, PathBuf};

/// What a put stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutResult {
    /// The blob's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A blob store. Today a local directory; the S3-compatible backend joins it as a second
/// variant.
#[derive(Clone, Debug)]
pub struct BlobStore {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Local(LocalBlobStore),
}

/// Blobs as files under a directory. Temporary files are made in `DIR/.tmp` so a rename
/// puts them in place atomically (same file system).
#[derive(Clone, Debug)]
pub struct LocalBlobStore {
    root: PathBuf,
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
        let valid = !key.is_empty()
            && key.len() <= 200
            && !key.starts_with('/')
            && !key.split('/').any(|part| part.is_empty() || part == "." || part == "..")
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-./".contains(&b));
        if !valid {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid blob key '{key}'")));
        }
        Ok(self.root.join(key))
    }
}

impl BlobStore {
    /// Blobs in a local directory.
    pub fn local(root: &Path) -> io::Result<Self> {
        Ok(BlobStore { backend: Backend::Local(LocalBlobStore::open(root)?) })
    }

    /// A directory on the blob store's file system where [`BlobStore::put_file`] can move a
    /// finished file into place without copying.
    pub fn staging_dir(&self) -> PathBuf {
        match &self.backend {
            Backend::Local(l) => l.root.join(".tmp"),
        }
    }

    /// Stores the finished file `tmp` under `key`. The file is moved when it lies on the
    /// store's file system (see [`BlobStore::staging_dir`]), else copied; in both cases
    /// flushed first when `durable`.
    pub async fn put_file(&self, key: &str, tmp: tempfile::TempPath, durable: bool) -> io::Result<PutResult> {
        let key = key.to_string();
        match &self.backend {
            Backend::Local(local) => {
                let dest = local.path(&key)?;
                let staging = local.root.join(".tmp");
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
        }
    }

    /// Stores `bytes` under `key`, atomically.
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> io::Result<PutResult> {
        let staging = self.staging_dir();
        let tmp = tokio::task::spawn_blocking(move || -> io::Result<tempfile::TempPath> {
            let mut f = tempfile::NamedTempFile::new_in(staging)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            Ok(f.into_temp_path())
        })
        .await
        .map_err(io::Error::other)??;
        self.put_file(key, tmp, true).await
    }

    /// A local path to read the blob from.
    pub fn local_path(&self, key: &str) -> io::Result<PathBuf> {
        match &self.backend {
            Backend::Local(l) => l.path(key),
        }
    }

    /// Opens the blob for reading.
    pub async fn open(&self, key: &str) -> io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.local_path(key)?).await
    }

    /// The blob's bytes (for small blobs: images).
    pub async fn read(&self, key: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.local_path(key)?).await
    }

    /// Deletes the blob; a missing blob is not an error.
    pub async fn delete(&self, key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.local_path(key)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let store = LocalBlobStore::open(dir.path()).unwrap_or_else(|e| unreachable!("{e}"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "A.pdf", "a\\b"] {
            assert!(store.path(bad).is_err(), "{bad}");
        }
        assert!(store.path("documents/ab/doc_x.pdf").is_ok());
    }
}
