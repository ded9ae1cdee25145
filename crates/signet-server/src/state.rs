//! What the handlers share: the data directory's paths, the trust anchors, the limits.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    tmp_dir: PathBuf,
    trust_anchors: Vec<Vec<u8>>,
    max_upload_bytes: u64,
}

impl AppState {
    /// Prepares `config.data_dir` (created with mode 0700 if missing, with `trust/` and its
    /// README.txt, and `tmp/` for uploads) and reads the trust anchors of `data_dir/trust/`
    /// and `config.trust`.
    pub fn load(config: &ServerConfig) -> Result<AppState, Error> {
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
        Ok(AppState { shared: Arc::new(Shared { tmp_dir, trust_anchors, max_upload_bytes: config.max_upload_bytes }) })
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
