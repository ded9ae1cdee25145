//! Private keys encrypted at rest: a [`Keystore`] directory of AES-256-GCM sealed PKCS#8 keys
//! (NIST SP 800-38D) under one [`MasterKey`].
//!
//! Each key is one file, `NAME.key`:
//!
//! ```text
//! magic "SIGNETKS" | version 0x01 | nonce (12 random bytes) | AES-256-GCM(PKCS#8) | tag (16)
//! ```
//!
//! The additional authenticated data is the 9 header bytes followed by the key name, so a file
//! renamed to another key's name, or with its header edited, no longer opens. A random 96-bit
//! nonce per write (SP 800-38D §8.2.2) stays far below the 2^32 encryptions per key that
//! random nonces allow. Files are written to a temporary file (mode 0600) and renamed into
//! place, so a crash leaves the old key or the new one, never half of one; the clear key is
//! never written anywhere.
//!
//! The keys come back as [`SoftwareKey`]s, which implement the same [`Signer`](crate::Signer)
//! trait as every other key source.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{EcdsaKeyPair, RsaKeyPair};

use crate::{Error, KeyKind, SoftwareKey};

/// File magic and format version of a sealed key.
const MAGIC: &[u8; 8] = b"SIGNETKS";
const VERSION: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1;
const TAG_LEN: usize = 16;
const KEY_SUFFIX: &str = ".key";

/// The 256-bit key that seals every key of a [`Keystore`].
///
/// Its textual form, in a file or in an environment variable, is 64 hexadecimal digits
/// (`openssl rand -hex 32` makes one); hex rather than base64 because it has a single
/// spelling per key and needs no padding rules. Surrounding whitespace is ignored.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0 = [0; 32];
    }
}

impl MasterKey {
    /// The environment variable Signet reads a master key from, when set.
    pub const ENV_VAR: &'static str = "SIGNET_MASTER_KEY";

    /// A master key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random master key.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Keystore("the random generator failed".into()))?;
        Ok(Self(bytes))
    }

    /// Reads 64 hexadecimal digits (either case; whitespace around them ignored).
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let bad = || Error::MasterKey(format!("expected 64 hexadecimal digits, found {} characters", text.len()));
        if text.len() != 64 {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| bad())?;
        Ok(Self(bytes))
    }

    /// The 64 lowercase hexadecimal digits of the key.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads the key from the environment variable `var`; `Ok(None)` when it is not set.
    pub fn from_env(var: &str) -> Result<Option<Self>, Error> {
        match std::env::var(var) {
            Ok(v) => Self::from_hex(&v).map(Some).map_err(|e| Error::MasterKey(format!("{var}: {e}"))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::MasterKey(format!("{var} is not valid text"))),
        }
    }

    /// Reads the key file at `path` (64 hex digits). On Unix the file must not be readable or
    /// writable by group or others (`chmod 600`), like an SSH private key.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let io_err = |source| Error::KeystoreIo { path: path.to_path_buf(), source };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path).map_err(io_err)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(Error::MasterKey(format!(
                    "{} is accessible to group or others (mode {:03o}); run `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                )));
            }
        }
        let text = fs::read_to_string(path).map_err(io_err)?;
        Self::from_hex(&text).map_err(|e| Error::MasterKey(format!("{}: {e}", path.display())))
    }

    /// Generates a key and writes it to a new file at `path` with mode 0600. Fails if the file
    /// exists (it is created atomically with `O_EXCL`, so two processes cannot both win).
    pub fn generate_file(path: &Path) -> Result<Self, Error> {
        let key = Self::generate()?;
        let io_err = |source| Error::KeystoreIo { path: path.to_path_buf(), source };
        let mut file = private_options().create_new(true).open(path).map_err(io_err)?;
        let mut text = key.to_hex();
        text.push('\n');
        file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io_err)?;
        Ok(key)
    }
}

/// A directory of private keys sealed under a [`MasterKey`].
pub struct Keystore {
    dir: PathBuf,
    key: LessSafeKey,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Keystore {
    /// Opens the keystore in `dir`, creating the directory (mode 0700) if it is missing.
    pub fn open(dir: &Path, master: &MasterKey) -> Result<Self, Error> {
        create_private_dir(dir).map_err(|source| Error::KeystoreIo { path: dir.to_path_buf(), source })?;
        let unbound = UnboundKey::new(&AES_256_GCM, &master.0)
            .map_err(|_| Error::Keystore("AES-256-GCM key setup failed".into()))?;
        Ok(Self { dir: dir.to_path_buf(), key: LessSafeKey::new(unbound) })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Generates a key of `kind` (RSA 2048 to 8192 bits in the sizes aws-lc offers: 2048,
    /// 3072, 4096, 8192; P-256; P-384), stores it under `name` and returns it.
    pub fn generate(&self, name: &str, kind: KeyKind) -> Result<SoftwareKey, Error> {
        check_name(name)?;
        let failed = |_| Error::Keystore(format!("generating a {kind:?} key failed"));
        let pkcs8 = match kind {
            KeyKind::Rsa { bits } => {
                use aws_lc_rs::rsa::KeySize;
                let size = match bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    8192 => KeySize::Rsa8192,
                    other => {
                        return Err(Error::UnsupportedAlgorithm(format!(
                            "RSA-{other} key generation (2048, 3072, 4096 or 8192 bits)"
                        )));
                    }
                };
                RsaKeyPair::generate(size).map_err(failed)?.as_der().map_err(failed)?.as_ref().to_vec()
            }
            KeyKind::EcP256 | KeyKind::EcP384 => {
                let alg = if kind == KeyKind::EcP256 {
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                EcdsaKeyPair::generate(alg).map_err(failed)?.to_pkcs8v1().map_err(failed)?.as_ref().to_vec()
            }
        };
        let key = SoftwareKey::from_pkcs8_der(&pkcs8)?;
        self.write(name, &pkcs8)?;
        Ok(key)
    }

    /// Stores an unencrypted PKCS#8 `PrivateKeyInfo` (RFC 5958 §2) under `name`, after checking
    /// that it is a key Signet can sign with. An existing key of that name is never replaced.
    pub fn store(&self, name: &str, pkcs8_der: &[u8]) -> Result<(), Error> {
        check_name(name)?;
        SoftwareKey::from_pkcs8_der(pkcs8_der)?;
        self.write(name, pkcs8_der)
    }

    /// Opens the key stored under `name`.
    pub fn load(&self, name: &str) -> Result<SoftwareKey, Error> {
        SoftwareKey::from_pkcs8_der(&self.export_pkcs8(name)?)
    }

    /// The clear PKCS#8 `PrivateKeyInfo` of the key stored under `name` (for a PKCS#12
    /// export); the caller decides where it may go.
    pub fn export_pkcs8(&self, name: &str) -> Result<Vec<u8>, Error> {
        check_name(name)?;
        let path = self.path(name);
        let mut bytes = fs::read(&path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                Error::KeyNotFound(name.to_owned())
            } else {
                Error::KeystoreIo { path: path.clone(), source }
            }
        })?;
        let corrupt = |why: &str| Error::Keystore(format!("{}: {why}", path.display()));
        if bytes.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Err(corrupt("not a Signet sealed key"));
        }
        if bytes[MAGIC.len()] != VERSION {
            return Err(corrupt(&format!("sealed key format version {} is not supported", bytes[MAGIC.len()])));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[HEADER_LEN..HEADER_LEN + NONCE_LEN]);
        let aad = aad(name);
        let sealed = &mut bytes[HEADER_LEN + NONCE_LEN..];
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), sealed)
            .map_err(|_| Error::KeyDecryption { name: name.to_owned() })?;
        let out = plain.to_vec();
        plain.fill(0);
        Ok(out)
    }

    /// Whether a key is stored under `name`.
    pub fn contains(&self, name: &str) -> bool {
        check_name(name).is_ok() && self.path(name).is_file()
    }

    /// The names of the stored keys, sorted.
    pub fn list(&self) -> Result<Vec<String>, Error> {
        let io_err = |source| Error::KeystoreIo { path: self.dir.clone(), source };
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err)? {
            let file_name = entry.map_err(io_err)?.file_name();
            let Some(file_name) = file_name.to_str() else { continue };
            if let Some(name) = file_name.strip_suffix(KEY_SUFFIX) {
                if check_name(name).is_ok() {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Encrypts a small secret kept elsewhere (a TOTP seed in the database) under the master
    /// key with AES-256-GCM, bound to `label` (e.g. its owner's id): the result, as lowercase
    /// hexadecimal nonce ‖ ciphertext ‖ tag, opens only with the same label
    /// ([`Keystore::open_secret`]).
    pub fn seal_secret(&self, label: &str, secret: &[u8]) -> Result<String, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| Error::Keystore("the random generator failed".into()))?;
        let mut sealed = secret.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(secret_aad(label)), &mut sealed)
            .map_err(|_| Error::Keystore("AES-256-GCM sealing failed".into()))?;
        let mut out = hex::encode(nonce);
        out.push_str(&hex::encode(&sealed));
        Ok(out)
    }

    /// The secret [`Keystore::seal_secret`] sealed with `label`.
    pub fn open_secret(&self, label: &str, sealed: &str) -> Result<Vec<u8>, Error> {
        let bad = || Error::Keystore(format!("the sealed secret of '{label}' does not open with this master key"));
        let bytes = sealed.as_bytes();
        if bytes.len() % 2 != 0 || bytes.len() < 2 * (NONCE_LEN + 16) {
            return Err(bad());
        }
        let mut raw = hex::decode(bytes).map_err(|_| bad())?;
        let (nonce, body) = raw.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let plain = self.key.open_in_place(nonce, Aad::from(secret_aad(label)), body).map_err(|_| bad())?;
        Ok(plain.to_vec())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{KEY_SUFFIX}"))
    }

    fn write(&self, name: &str, pkcs8: &[u8]) -> Result<(), Error> {
        let path = self.path(name);
        if path.exists() {
            return Err(Error::Keystore(format!("a key named '{name}' already exists")));
        }
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| Error::Keystore("the random generator failed".into()))?;
        let mut sealed = pkcs8.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&aad(name)), &mut sealed)
            .map_err(|_| Error::Keystore("AES-256-GCM sealing failed".into()))?;
        let mut file = Vec::with_capacity(HEADER_LEN + NONCE_LEN + sealed.len());
        file.extend_from_slice(MAGIC);
        file.push(VERSION);
        file.extend_from_slice(&nonce);
        file.extend_from_slice(&sealed);
        write_atomically(&path, &file).map_err(|source| Error::KeystoreIo { path, source })
    }
}

/// The authenticated data of a sealed secret: a label of its own, then the owner's.
fn secret_aad(label: &str) -> Vec<u8> {
    let mut aad = b"signet-secret-v1:".to_vec();
    aad.extend_from_slice(label.as_bytes());
    aad
}

/// The authenticated data of a sealed key: header, then the key's name.
fn aad(name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(HEADER_LEN + name.len());
    aad.extend_from_slice(MAGIC);
    aad.push(VERSION);
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// Key names are file names: 1 to 128 of `A-Z a-z 0-9 . _ -`, not starting with a dot.
fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Keystore(format!(
            "invalid key name '{name}': use 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'"
        )))
    }
}

fn private_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `dir` and its missing parents with mode 0700; an existing directory is left as is.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Replaces `path` with `bytes` atomically: a new temporary file (mode 0600) in the same
/// directory, flushed to disk, then renamed over `path`. Readers see the old content or the
/// new, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().ok_or_else(|| io::Error::other("no file name"))?;
    let mut suffix = [0u8; 8];
    aws_lc_rs::rand::fill(&mut suffix).map_err(|_| io::Error::other("the random generator failed"))?;
    let suffix = hex::encode(suffix);
    let tmp = dir.join(format!(".{}.{suffix}.tmp", file_name.to_string_lossy()));
    let result = (|| {
        let mut file = private_options().create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        #[cfg(unix)]
        fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::{DigestAlgorithm, Signer};

    fn store(dir: &tempfile::TempDir) -> (Keystore, MasterKey) {
        let master = MasterKey::generate().unwrap();
        (Keystore::open(&dir.path().join("keys"), &master).unwrap(), master)
    }

    #[test]
    fn sealed_secrets_open_only_with_their_label_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let (ks, _) = store(&dir);
        let sealed = ks.seal_secret("usr_1", b"totp seed").unwrap();
        assert_eq!(ks.open_secret("usr_1", &sealed).unwrap(), b"totp seed");
        assert!(ks.open_secret("usr_2", &sealed).is_err());
        let mut flipped = sealed.clone().into_bytes();
        flipped[30] = if flipped[30] == b'0' { b'1' } else { b'0' };
        assert!(ks.open_secret("usr_1", std::str::from_utf8(&flipped).unwrap()).is_err());
        assert!(ks.open_secret("usr_1", "zz").is_err());
        let (other, _) = store(&tempfile::tempdir().unwrap());
        assert!(other.open_secret("usr_1", &sealed).is_err());
    }

    #[test]
    fn generated_keys_round_trip_and_sign() {
        let dir = tempfile::tempdir().unwrap();
        let (ks, master) = store(&dir);
        for (name, kind) in [("p256", KeyKind::EcP256), ("p384", KeyKind::EcP384), ("rsa", KeyKind::Rsa { bits: 2048 })]
        {
            let key = ks.generate(name, kind).unwrap();
            assert_eq!(key.key_kind(), kind);
            let reopened = Keystore::open(ks.dir(), &master).unwrap().load(name).unwrap();
            assert_eq!(reopened.public_key(), key.public_key());
            reopened.sign(kind.default_scheme(), DigestAlgorithm::Sha256, b"message").unwrap();
            let info = key.public_key_info();
            assert_eq!(crate::PublicKeyInfo::from_spki_der(&info.to_spki_der()).unwrap(), info);
        }
        assert_eq!(ks.list().unwrap(), ["p256", "p384", "rsa"]);
        assert!(ks.contains("rsa"));
        assert!(!ks.contains("other"));
    }

    #[test]
    fn the_clear_key_never_reaches_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (ks, _) = store(&dir);
        ks.generate("seal", KeyKind::EcP256).unwrap();
        let pkcs8 = ks.export_pkcs8("seal").unwrap();
        let on_disk = fs::read(ks.dir().join("seal.key")).unwrap();
        assert!(on_disk.starts_with(b"SIGNETKS\x01"));
        // No 16-byte window of the PKCS#8 (which holds the private scalar) is in the file.
        for window in pkcs8.windows(16) {
            assert!(!on_disk.windows(16).any(|w| w == window), "clear key bytes found in the sealed file");
        }
        // Nor in any other file of the directory (no temporary leftovers).
        assert_eq!(fs::read_dir(ks.dir()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(ks.dir().join("seal.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(fs::metadata(ks.dir()).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn stored_keys_come_back_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let (ks, _) = store(&dir);
        ks.generate("a", KeyKind::EcP256).unwrap();
        let pkcs8 = ks.export_pkcs8("a").unwrap();
        ks.store("b", &pkcs8).unwrap();
        assert_eq!(ks.export_pkcs8("b").unwrap(), pkcs8);
        // Two seals of the same key differ (fresh nonce).
        assert_ne!(fs::read(ks.dir().join("a.key")).unwrap(), fs::read(ks.dir().join("b.key")).unwrap());
        // Existing names are not replaced; garbage is refused.
        assert!(matches!(ks.store("a", &pkcs8), Err(Error::Keystore(_))));
        assert!(ks.store("c", b"not a key").is_err());
        assert!(!ks.contains("c"));
    }

    #[test]
    fn wrong_master_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (ks, _) = store(&dir);
        ks.generate("k", KeyKind::EcP256).unwrap();
        let other = Keystore::open(ks.dir(), &MasterKey::generate().unwrap()).unwrap();
        let err = other.load("k").unwrap_err();
        assert!(matches!(err, Error::KeyDecryption { .. }), "{err}");
        assert!(err.to_string().contains("master key"), "{err}");
    }

    #[test]
    fn tampered_or_renamed_files_do_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let (ks, _) = store(&dir);
        ks.generate("k", KeyKind::EcP256).unwrap();
        let path = ks.dir().join("k.key");
        let good = fs::read(&path).unwrap();
        for i in [HEADER_LEN + 1, HEADER_LEN + NONCE_LEN + 3, good.len() - 1] {
            let mut bad = good.clone();
            bad[i] ^= 1;
            fs::write(&path, &bad).unwrap();
            assert!(matches!(ks.load("k"), Err(Error::KeyDecryption { .. })), "byte {i}");
        }
        let mut bad = good.clone();
        bad[MAGIC.len()] = 9;
        fs::write(&path, &bad).unwrap();
        assert!(ks.load("k").unwrap_err().to_string().contains("version 9"));
        fs::write(&path, &good[..20]).unwrap();
        assert!(ks.load("k").unwrap_err().to_string().contains("not a Signet sealed key"));
        // The name is authenticated: a key copied under another name does not open.
        fs::write(ks.dir().join("other.key"), &good).unwrap();
        assert!(matches!(ks.load("other"), Err(Error::KeyDecryption { .. })));
        assert!(matches!(ks.load("missing"), Err(Error::KeyNotFound(_))));
        assert!(ks.load("../k").is_err());
    }

    #[test]
    fn master_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = MasterKey::generate_file(&path).unwrap();
        assert_eq!(MasterKey::from_file(&path).unwrap().0, key.0);
        assert!(MasterKey::generate_file(&path).is_err(), "an existing file is never replaced");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
            let err = MasterKey::from_file(&path).unwrap_err().to_string();
            assert!(err.contains("group or others") && err.contains("chmod 600"), "{err}");
        }
    }

    #[test]
    fn master_key_text() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let key = MasterKey::from_hex(&format!("  {hex}\n")).unwrap();
        assert_eq!(key.to_hex(), hex.to_lowercase());
        assert!(MasterKey::from_hex(&hex[..62]).is_err());
        assert!(MasterKey::from_hex(&hex.replace('0', "g")).is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(..)");
        assert!(MasterKey::from_env("SIGNET_TEST_UNSET_MASTER_KEY_VARIABLE").unwrap().is_none());
    }

    #[test]
    fn unsupported_sizes_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let (ks, _) = store(&dir);
        assert!(matches!(ks.generate("r", KeyKind::Rsa { bits: 1024 }), Err(Error::UnsupportedAlgorithm(_))));
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(129)] {
            assert!(ks.generate(bad, KeyKind::EcP256).is_err(), "{bad:?}");
        }
    }
}
