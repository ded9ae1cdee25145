//! The certification authority kept in a data directory: a root, an issuing CA under it, the
//! certificates they issued, revocations and CRLs.
//!
//! Layout (every file replaced atomically, keys sealed in the [`Keystore`]):
//!
//! ```text
//! DATA/master.key            master key of the keystore, 0600 (unless SIGNET_MASTER_KEY is set)
//! DATA/keys/NAME.key         private keys, AES-256-GCM sealed
//! DATA/ca/state.json         settings, the TSA/OCSP certificates in use, CRL numbers
//! DATA/ca/index.json         every issued certificate, with its revocation if any
//! DATA/ca/root.crt, issuing.crt       the CA certificates (DER)
//! DATA/ca/certs/SERIAL.crt            every issued certificate (DER)
//! DATA/ca/crl/root.crl, issuing.crl   the current CRLs (DER)
//! ```
//!
//! One [`Authority`] serialises its own operations with a lock; a change written by another
//! process (say `signet ca revoke` while `signet serve` runs) is picked up on the next call,
//! which rereads `index.json` and `state.json` when their modification time changed.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use signet_cms::CertView;
use signet_crypto::keystore::{create_private_dir, write_atomically};
use signet_crypto::{Identity, KeyKind, Keystore, MasterKey, PublicKeyInfo, Signer, SoftwareKey};

use crate::crl::{CrlContents, RevokedEntry};
use crate::error::io_at;
use crate::x509::{self, DistinguishedName, TbsCertificate};
use crate::{Error, Profile, PublicUrls, RevocationReason};

const STATE_FORMAT: u32 = 1;
/// Service certificates (TSA, OCSP) closer than this to their end are replaced at `open`.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);
/// Backdating of notBefore and thisUpdate, for relying parties whose clock is a little behind.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// One of the two CAs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaLevel {
    /// The self-signed root.
    Root,
    /// The issuing CA, under the root.
    Issuing,
}

impl CaLevel {
    /// `root` or `issuing`, as in the URLs and file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Issuing => "issuing",
        }
    }
}

impl fmt::Display for CaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CaLevel {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "root" => Ok(Self::Root),
            "issuing" => Ok(Self::Issuing),
            _ => Err(Error::InvalidRequest(format!("unknown CA '{s}' (root or issuing)"))),
        }
    }
}

/// How [`Authority::init`] sets up a new authority.
#[derive(Clone, Debug)]
pub struct AuthorityOptions {
    /// Base of the URLs put into certificates (CRL, caIssuers, OCSP).
    pub public_url: String,
    /// Organisation name of the CAs and service certificates.
    pub organization: String,
    /// Country of the CAs, if any (two capital letters).
    pub country: Option<String>,
    /// Key type of the CAs and service certificates. P-256 by default: generated in well
    /// under a millisecond (RSA-3072 takes from a fraction of a second to several), accepted
    /// by every PAdES validator, and with small signatures and CRLs.
    pub key_kind: KeyKind,
    /// Time from a CRL's thisUpdate to its nextUpdate; it is reissued halfway.
    pub crl_validity: Duration,
}

impl Default for AuthorityOptions {
    fn default() -> Self {
        Self {
            public_url: PublicUrls::DEFAULT_BASE.to_owned(),
            organization: "Signet".to_owned(),
            country: None,
            key_kind: KeyKind::EcP256,
            crl_validity: Duration::from_secs(7 * 86_400),
        }
    }
}

/// Where the keystore's master key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterKeySource {
    /// The `SIGNET_MASTER_KEY` environment variable.
    Environment,
    /// An existing file.
    File(PathBuf),
    /// A file created now (mode 0600): back it up, without it the keys are lost.
    Created(PathBuf),
}

/// Where the key of a new certificate comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// Generate a key of this kind and keep it, sealed, in the keystore (exportable as
    /// PKCS#12).
    Generate(KeyKind),
    /// Certify a public key held elsewhere (a token, a remote signer): its DER
    /// `SubjectPublicKeyInfo`.
    PublicKey(Vec<u8>),
}

/// A certificate to issue.
#[derive(Clone, Debug)]
pub struct IssueRequest {
    /// Person, organisation/seal, TSA or OCSP responder.
    pub profile: Profile,
    /// The subject name.
    pub subject: DistinguishedName,
    /// E-mail addresses for subjectAltName.
    pub emails: Vec<String>,
    /// The key.
    pub key: KeySource,
    /// Lifetime; the profile's [`Profile::default_validity`] when `None`. Never beyond the
    /// issuing CA's own end.
    pub validity: Option<Duration>,
}

/// A revocation (RFC 5280 §5.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When the certificate was revoked.
    #[serde(with = "unix_seconds")]
    pub time: SystemTime,
    /// Why.
    #[serde(with = "reason_name")]
    pub reason: RevocationReason,
}

/// What the authority remembers of an issued certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRecord {
    /// Serial number, uppercase hexadecimal of the INTEGER's content octets.
    pub serial: String,
    /// The CA that issued it (the root for itself and the issuing CA).
    pub issuer: CaLevel,
    /// Its profile.
    #[serde(with = "profile_name")]
    pub profile: Profile,
    /// The subject, RFC 4514 style.
    pub subject: String,
    /// Start of validity.
    #[serde(with = "unix_seconds")]
    pub not_before: SystemTime,
    /// End of validity.
    #[serde(with = "unix_seconds")]
    pub not_after: SystemTime,
    /// The keystore name of its private key, when the authority generated it.
    pub key_name: Option<String>,
    /// Set once revoked.
    pub revocation: Option<Revocation>,
}

/// The answer to "is this certificate revoked?" (RFC 6960 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    /// Issued by this CA and not revoked.
    Good,
    /// Issued by this CA and revoked.
    Revoked(Revocation),
    /// Not issued by this CA.
    Unknown,
}

/// A certificate just issued.
#[derive(Clone, Debug)]
pub struct Issued {
    /// Its record.
    pub record: CertificateRecord,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// Where the certificate was stored.
    pub path: PathBuf,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct CrlState {
    number: u64,
    this_update: u64,
    next_update: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    format: u32,
    public_url: String,
    crl_validity_seconds: u64,
    key_kind: String,
    root: String,
    issuing: String,
    tsa: String,
    ocsp: String,
    crl_root: CrlState,
    crl_issuing: CrlState,
}

impl State {
    fn crl(&mut self, level: CaLevel) -> &mut CrlState {
        match level {
            CaLevel::Root => &mut self.crl_root,
            CaLevel::Issuing => &mut self.crl_issuing,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    certificates: Vec<CertificateRecord>,
}

/// A CA's certificate, name, key identifier and key.
struct CaHolder {
    certificate: Vec<u8>,
    subject: Vec<u8>,
    key_id: Vec<u8>,
    key: Arc<SoftwareKey>,
    not_after: SystemTime,
}

impl CaHolder {
    fn new(certificate: Vec<u8>, key: SoftwareKey) -> Result<Self, Error> {
        let view = CertView::parse(&certificate)?;
        let subject = view.subject.to_vec();
        let key_id = x509::key_identifier(view.spki)?;
        let (_, not_after) = view.validity()?;
        if view.subject_public_key()? != key.public_key() {
            return Err(signet_crypto::Error::KeyMismatch.into());
        }
        Ok(Self { certificate, subject, key_id, key: Arc::new(key), not_after })
    }
}

struct Inner {
    state: State,
    index: BTreeMap<String, CertificateRecord>,
    state_stamp: Option<SystemTime>,
    index_stamp: Option<SystemTime>,
    crls: [Option<Vec<u8>>; 2],
    tsa: Option<Identity>,
    ocsp: Option<Identity>,
}

/// The certification authority of one data directory.
pub struct Authority {
    data_dir: PathBuf,
    ca_dir: PathBuf,
    keystore: Keystore,
    master_key_source: MasterKeySource,
    root: CaHolder,
    issuing: CaHolder,
    inner: Mutex<Inner>,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority").field("data_dir", &self.data_dir).finish_non_exhaustive()
    }
}

impl Authority {
    /// Opens the authority in `data_dir`, or creates it with `options` when there is none.
    /// The boolean is true when it was created now.
    pub fn open_or_init(data_dir: &Path, options: &AuthorityOptions) -> Result<(Self, bool), Error> {
        if state_path(data_dir).exists() {
            Ok((Self::open(data_dir)?, false))
        } else {
            Ok((Self::init(data_dir, options)?, true))
        }
    }

    /// Opens the authority in `data_dir`. Replaces the TSA and OCSP responder certificates
    /// when they end within 30 days.
    pub fn open(data_dir: &Path) -> Result<Self, Error> {
        let ca_dir = data_dir.join("ca");
        let state_file = state_path(data_dir);
        if !state_file.exists() {
            return Err(Error::NotInitialized { data_dir: data_dir.to_path_buf() });
        }
        let (master, master_key_source) = resolve_master_key(data_dir, false)?;
        let keystore = Keystore::open(&data_dir.join("keys"), &master)?;
        let state: State = read_json(&state_file)?;
        if state.format != STATE_FORMAT {
            return Err(Error::Corrupt {
                path: state_file,
                reason: format!("format {} is not supported (expected {STATE_FORMAT})", state.format),
            });
        }
        let index = load_index(&ca_dir.join("index.json"))?;
        let holder = |serial: &str, file: &str| -> Result<CaHolder, Error> {
            let path = ca_dir.join(file);
            let certificate = fs::read(&path).map_err(io_at(&path))?;
            let key_name = index.get(serial).and_then(|r| r.key_name.clone()).ok_or_else(|| Error::Corrupt {
                path: ca_dir.join("index.json"),
                reason: format!("no key recorded for CA certificate {serial}"),
            })?;
            CaHolder::new(certificate, keystore.load(&key_name)?)
        };
        let root = holder(&state.root, "root.crt")?;
        let issuing = holder(&state.issuing, "issuing.crt")?;
        let authority = Self {
            data_dir: data_dir.to_path_buf(),
            ca_dir: ca_dir.clone(),
            keystore,
            master_key_source,
            root,
            issuing,
            inner: Mutex::new(Inner {
                state,
                index,
                state_stamp: modified(&state_file),
                index_stamp: modified(&ca_dir.join("index.json")),
                crls: [None, None],
                tsa: None,
                ocsp: None,
            }),
        };
        authority.renew_service_certificates()?;
        Ok(authority)
    }

    /// Creates a new authority in `data_dir` (created with mode 0700 if missing): the master
    /// key (unless `SIGNET_MASTER_KEY` is set), the root and issuing CA, the TSA and OCSP
    /// responder certificates, and the first CRLs.
    pub fn init(data_dir: &Path, options: &AuthorityOptions) -> Result<Self, Error> {
        let urls = PublicUrls::new(&options.public_url)?;
        if options.crl_validity < Duration::from_secs(3600) {
            return Err(Error::InvalidRequest("the CRL validity must be at least one hour".into()));
        }
        let ca_dir = data_dir.join("ca");
        if state_path(data_dir).exists() {
            return Err(Error::AlreadyInitialized { data_dir: data_dir.to_path_buf() });
        }
        for dir in [data_dir.to_path_buf(), ca_dir.clone(), ca_dir.join("certs"), ca_dir.join("crl")] {
            create_private_dir(&dir).map_err(io_at(&dir))?;
        }
        let keys_dir = data_dir.join("keys");
        let keys_exist = fs::read_dir(&keys_dir).is_ok_and(|mut d| d.next().is_some());
        let (master, master_key_source) = resolve_master_key(data_dir, !keys_exist)?;
        let keystore = Keystore::open(&keys_dir, &master)?;
        let now = SystemTime::now() - CLOCK_SKEW;

        let ca_name = |cn: &str| DistinguishedName {
            country: options.country.clone(),
            organization: Some(options.organization.clone()),
            common_name: Some(format!("{} {cn}", options.organization)),
            ..DistinguishedName::default()
        };
        let mut records = BTreeMap::new();

        // The root signs itself.
        let root_serial = x509::random_serial()?;
        let root_hex = hex::encode_upper(&root_serial);
        let root_key_name = key_name(Profile::RootCa, &root_hex);
        let root_key = keystore.generate(&root_key_name, options.key_kind)?;
        let root_spki = root_key.public_key_info().to_spki_der();
        let root_key_id = x509::key_identifier(&root_spki)?;
        let root_name = ca_name("Root CA").to_der()?;
        let root_not_after = now + Profile::RootCa.default_validity();
        let root_cert = TbsCertificate {
            serial: &root_serial,
            issuer: &root_name,
            not_before: now,
            not_after: root_not_after,
            subject: &root_name,
            spki: &root_spki,
            extensions: &Profile::RootCa.extensions(&urls, &root_key_id, None, &[])?,
        }
        .sign(&root_key)?;
        let root_record = CertificateRecord {
            serial: root_hex.clone(),
            issuer: CaLevel::Root,
            profile: Profile::RootCa,
            subject: ca_name("Root CA").to_string(),
            not_before: x509::whole_seconds(now),
            not_after: x509::whole_seconds(root_not_after),
            key_name: Some(root_key_name),
            revocation: None,
        };
        let root = CaHolder::new(root_cert, root_key)?;

        let issuing_serial = x509::random_serial()?;
        let issuing_hex = hex::encode_upper(&issuing_serial);
        let issuing_key_name = key_name(Profile::IssuingCa, &issuing_hex);
        let issuing_key = keystore.generate(&issuing_key_name, options.key_kind)?;
        let issuing_spki = issuing_key.public_key_info().to_spki_der();
        let issuing_name = ca_name("Issuing CA").to_der()?;
        let issuing_not_after = now + Profile::IssuingCa.default_validity();
        let issuing_cert = TbsCertificate {
            serial: &issuing_serial,
            issuer: &root.subject,
            not_before: now,
            not_after: issuing_not_after,
            subject: &issuing_name,
            spki: &issuing_spki,
            extensions: &Profile::IssuingCa.extensions(
                &urls,
                &x509::key_identifier(&issuing_spki)?,
                Some(&root.key_id),
                &[],
            )?,
        }
        .sign(root.key.as_ref())?;
        let issuing_record = CertificateRecord {
            serial: issuing_hex.clone(),
            issuer: CaLevel::Root,
            profile: Profile::IssuingCa,
            subject: ca_name("Issuing CA").to_string(),
            not_before: x509::whole_seconds(now),
            not_after: x509::whole_seconds(issuing_not_after),
            key_name: Some(issuing_key_name),
            revocation: None,
        };
        let issuing = CaHolder::new(issuing_cert, issuing_key)?;

        for (file, holder, record) in [("root.crt", &root, root_record), ("issuing.crt", &issuing, issuing_record)] {
            write_file(&ca_dir.join(file), &holder.certificate)?;
            write_file(&ca_dir.join("certs").join(format!("{}.crt", record.serial)), &holder.certificate)?;
            records.insert(record.serial.clone(), record);
        }

        let state = State {
            format: STATE_FORMAT,
            public_url: urls.base().to_owned(),
            crl_validity_seconds: options.crl_validity.as_secs(),
            key_kind: key_kind_name(options.key_kind),
            root: root_hex,
            issuing: issuing_hex,
            tsa: String::new(),
            ocsp: String::new(),
            crl_root: CrlState::default(),
            crl_issuing: CrlState::default(),
        };
        let authority = Self {
            data_dir: data_dir.to_path_buf(),
            ca_dir,
            keystore,
            master_key_source,
            root,
            issuing,
            inner: Mutex::new(Inner {
                state,
                index: records,
                state_stamp: None,
                index_stamp: None,
                crls: [None, None],
                tsa: None,
                ocsp: None,
            }),
        };
        {
            let mut inner = authority.lock();
            authority.save_index(&mut inner)?;
            let org = &options.organization;
            for (profile, cn) in [(Profile::Tsa, "Time-Stamping Authority"), (Profile::Ocsp, "OCSP Responder")] {
                authority.issue_service_certificate(&mut inner, profile, &format!("{org} {cn}"), options)?;
            }
            for level in [CaLevel::Root, CaLevel::Issuing] {
                // Writes state.json, the file whose presence means "initialised".
                authority.generate_crl(&mut inner, level)?;
            }
        }
        Ok(authority)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where the master key came from.
    pub fn master_key_source(&self) -> &MasterKeySource {
        &self.master_key_source
    }

    /// The URLs certificates issued now point at.
    pub fn public_urls(&self) -> Result<PublicUrls, Error> {
        PublicUrls::new(&self.lock().state.public_url)
    }

    /// Changes the base URL for certificates issued from now on (those already issued keep
    /// theirs). Returns whether it changed.
    pub fn set_public_url(&self, url: &str) -> Result<bool, Error> {
        let urls = PublicUrls::new(url)?;
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        if inner.state.public_url == urls.base() {
            return Ok(false);
        }
        inner.state.public_url = urls.base().to_owned();
        self.save_state(&mut inner)?;
        Ok(true)
    }

    /// A CA's certificate, DER.
    pub fn ca_certificate(&self, level: CaLevel) -> &[u8] {
        &self.holder(level).certificate
    }

    /// Issues a certificate from the issuing CA. CA certificates are made by
    /// [`Authority::init`] only.
    pub fn issue(&self, request: &IssueRequest) -> Result<Issued, Error> {
        if request.profile.is_ca() {
            return Err(Error::InvalidRequest(format!(
                "{} certificates are created by `signet ca init`, not issued",
                request.profile
            )));
        }
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        self.issue_locked(&mut inner, request, None)
    }

    /// [`Authority::issue`] with a chosen start of validity (RFC 5280 §4.1.2.5) instead of
    /// now: a certificate valid from a date to come, or one already expired when the
    /// request's validity has passed since `not_before` (to test that relying parties refuse
    /// it).
    pub fn issue_valid_from(&self, request: &IssueRequest, not_before: SystemTime) -> Result<Issued, Error> {
        if request.profile.is_ca() {
            return Err(Error::InvalidRequest(format!(
                "{} certificates are created by `signet ca init`, not issued",
                request.profile
            )));
        }
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        self.issue_locked(&mut inner, request, Some(not_before))
    }

    /// Revokes the certificate with this serial number (hexadecimal, `:` separators allowed)
    /// and reissues its CA's CRL. The root cannot be revoked (take it out of trust stores
    /// instead). Revoking the TSA or OCSP responder certificate in use issues its successor,
    /// with a new key.
    pub fn revoke(&self, serial: &str, reason: RevocationReason, time: SystemTime) -> Result<CertificateRecord, Error> {
        let serial = normalize_serial(serial)?;
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        let record = inner.index.get_mut(&serial).ok_or_else(|| Error::UnknownSerial(serial.clone()))?;
        if record.profile == Profile::RootCa {
            return Err(Error::InvalidRequest(
                "the root cannot be revoked: remove it from the trust stores that hold it".into(),
            ));
        }
        if record.revocation.is_some() {
            return Err(Error::AlreadyRevoked(serial));
        }
        if !RevocationReason::ISSUABLE.contains(&reason) {
            return Err(Error::InvalidRequest(format!(
                "{reason} cannot be given on a complete CRL (RFC 5280 §5.3.1: removeFromCRL is for delta CRLs)"
            )));
        }
        record.revocation = Some(Revocation { time: x509::whole_seconds(time), reason });
        let record = record.clone();
        self.save_index(&mut inner)?;
        self.generate_crl(&mut inner, record.issuer)?;
        if inner.state.tsa == serial || inner.state.ocsp == serial {
            // The TSA or OCSP responder must not keep answering with a revoked certificate.
            self.renew_locked(&mut inner)?;
        }
        Ok(record)
    }

    /// The status of the certificate with serial number `serial` (the INTEGER's content
    /// octets, as in an OCSP `CertID`) issued by `issuer`: what the OCSP responder answers
    /// (RFC 6960 §2.2). Serials this CA never issued are [`CertStatus::Unknown`].
    pub fn status(&self, issuer: CaLevel, serial: &[u8]) -> Result<CertStatus, Error> {
        let serial = hex::encode_upper(serial);
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        Ok(match inner.index.get(&serial) {
            Some(r) if r.issuer == issuer => match r.revocation {
                Some(rev) => CertStatus::Revoked(rev),
                None => CertStatus::Good,
            },
            _ => CertStatus::Unknown,
        })
    }

    /// Changes whenever the record of issued and revoked certificates changes, in this process
    /// or another (`signet ca revoke` while the server runs): the modification time of the
    /// index, in nanoseconds. For caches of answers derived from [`Authority::status`].
    pub fn status_revision(&self) -> u64 {
        modified(&self.data_dir().join("ca").join("index.json"))
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64)
    }

    /// Every issued certificate (the CAs included), oldest first.
    pub fn list(&self) -> Result<Vec<CertificateRecord>, Error> {
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        let mut records: Vec<CertificateRecord> = inner.index.values().cloned().collect();
        records.sort_by(|a, b| a.not_before.cmp(&b.not_before).then_with(|| a.serial.cmp(&b.serial)));
        Ok(records)
    }

    /// The record and DER certificate with this serial number.
    pub fn certificate(&self, serial: &str) -> Result<(CertificateRecord, Vec<u8>), Error> {
        let serial = normalize_serial(serial)?;
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        let record = inner.index.get(&serial).cloned().ok_or_else(|| Error::UnknownSerial(serial.clone()))?;
        let path = self.cert_path(&serial);
        let der = fs::read(&path).map_err(io_at(&path))?;
        Ok((record, der))
    }

    /// The current CRL of a CA (RFC 5280 §5), DER. It is reissued, with the next cRLNumber,
    /// when half of its validity has passed; revocations reissue it at once.
    pub fn crl(&self, level: CaLevel) -> Result<Vec<u8>, Error> {
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        let slot = level as usize;
        let crl = inner.state.crl(level).clone();
        let now = unix(SystemTime::now());
        let fresh = crl.number > 0 && now < crl.this_update + (crl.next_update.saturating_sub(crl.this_update)) / 2;
        if fresh {
            if let Some(der) = &inner.crls[slot] {
                return Ok(der.clone());
            }
            if let Ok(der) = fs::read(self.crl_path(level)) {
                inner.crls[slot] = Some(der.clone());
                return Ok(der);
            }
        }
        self.generate_crl(&mut inner, level)
    }

    /// The time-stamping unit's identity: its certificate, key and chain (issuing CA, root).
    pub fn tsa_identity(&self) -> Result<Identity, Error> {
        self.service_identity(Profile::Tsa)
    }

    /// The delegated OCSP responder's identity (RFC 6960 §4.2.2.2), issued by the issuing CA:
    /// it answers for certificates of the issuing CA.
    pub fn ocsp_identity(&self) -> Result<Identity, Error> {
        self.service_identity(Profile::Ocsp)
    }

    /// The issued certificate `serial` with its private key and chain as a PKCS#12 file
    /// (RFC 7292) protected by `password`: PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC
    /// (RFC 8018), HMAC-SHA-256 MAC, as OpenSSL 3 writes by default.
    pub fn export_pkcs12(&self, serial: &str, password: &str) -> Result<Vec<u8>, Error> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let (record, der) = self.certificate(serial)?;
        let key_name = record.key_name.ok_or_else(|| Error::NoPrivateKey(record.serial.clone()))?;
        if password.is_empty() {
            return Err(Error::Pkcs12("an empty password is refused".into()));
        }
        let pkcs8 = self.keystore.export_pkcs8(&key_name)?;
        let p12 = |e: p12_keystore::error::Error| Error::Pkcs12(e.to_string());
        let mut chain = vec![Certificate::from_der(&der).map_err(p12)?];
        let issuer = self.holder(record.issuer);
        if record.profile != Profile::RootCa {
            chain.push(Certificate::from_der(&issuer.certificate).map_err(p12)?);
        }
        if record.issuer == CaLevel::Issuing {
            chain.push(Certificate::from_der(&self.root.certificate).map_err(p12)?);
        }
        let key = PrivateKey::from_der(&pkcs8).map_err(p12)?;
        let local_key_id = x509::key_identifier(CertView::parse(&der)?.spki)?;
        let mut store = KeyStore::new();
        store
            .add_entry(&record.subject, KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, chain)));
        store.writer(password).write().map_err(p12)
    }

    fn holder(&self, level: CaLevel) -> &CaHolder {
        match level {
            CaLevel::Root => &self.root,
            CaLevel::Issuing => &self.issuing,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the files consistent (each is replaced
        // atomically), so the state is still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cert_path(&self, serial: &str) -> PathBuf {
        self.ca_dir.join("certs").join(format!("{serial}.crt"))
    }

    fn crl_path(&self, level: CaLevel) -> PathBuf {
        self.ca_dir.join("crl").join(format!("{}.crl", level.name()))
    }

    /// Rereads the files another process changed.
    fn refresh(&self, inner: &mut Inner) -> Result<(), Error> {
        let state_file = self.ca_dir.join("state.json");
        let stamp = modified(&state_file);
        if stamp.is_some() && stamp != inner.state_stamp {
            inner.state = read_json(&state_file)?;
            inner.state_stamp = stamp;
            inner.crls = [None, None];
            inner.tsa = None;
            inner.ocsp = None;
        }
        let index_file = self.ca_dir.join("index.json");
        let stamp = modified(&index_file);
        if stamp.is_some() && stamp != inner.index_stamp {
            inner.index = load_index(&index_file)?;
            inner.index_stamp = stamp;
        }
        Ok(())
    }

    fn save_index(&self, inner: &mut Inner) -> Result<(), Error> {
        let path = self.ca_dir.join("index.json");
        let index = Index { certificates: inner.index.values().cloned().collect() };
        write_json(&path, &index)?;
        inner.index_stamp = modified(&path);
        Ok(())
    }

    fn save_state(&self, inner: &mut Inner) -> Result<(), Error> {
        let path = self.ca_dir.join("state.json");
        write_json(&path, &inner.state)?;
        inner.state_stamp = modified(&path);
        Ok(())
    }

    fn issue_locked(
        &self,
        inner: &mut Inner,
        request: &IssueRequest,
        not_before: Option<SystemTime>,
    ) -> Result<Issued, Error> {
        let urls = PublicUrls::new(&inner.state.public_url)?;
        let subject = request.subject.to_der()?;
        let serial = x509::random_serial()?;
        let serial_hex = hex::encode_upper(&serial);
        let now = not_before.unwrap_or_else(|| SystemTime::now() - CLOCK_SKEW);
        let validity = request.validity.unwrap_or_else(|| request.profile.default_validity());
        if validity < Duration::from_secs(3600) {
            return Err(Error::InvalidRequest("a certificate must be valid for at least one hour".into()));
        }
        let not_after = (now + validity).min(self.issuing.not_after);
        // Check the extensions (e-mail addresses) before a key is made for nothing.
        request.profile.extensions(&urls, &[0; 20], Some(&self.issuing.key_id), &request.emails)?;
        let (spki, key_name) = match &request.key {
            KeySource::Generate(kind) => {
                let name = key_name(request.profile, &serial_hex);
                let key = self.keystore.generate(&name, *kind)?;
                (key.public_key_info().to_spki_der(), Some(name))
            }
            KeySource::PublicKey(spki) => (PublicKeyInfo::from_spki_der(spki)?.to_spki_der(), None),
        };
        let extensions = request.profile.extensions(
            &urls,
            &x509::key_identifier(&spki)?,
            Some(&self.issuing.key_id),
            &request.emails,
        )?;
        let certificate = TbsCertificate {
            serial: &serial,
            issuer: &self.issuing.subject,
            not_before: now,
            not_after,
            subject: &subject,
            spki: &spki,
            extensions: &extensions,
        }
        .sign(self.issuing.key.as_ref())?;
        let path = self.cert_path(&serial_hex);
        write_file(&path, &certificate)?;
        let record = CertificateRecord {
            serial: serial_hex.clone(),
            issuer: CaLevel::Issuing,
            profile: request.profile,
            subject: request.subject.to_string(),
            not_before: x509::whole_seconds(now),
            not_after: x509::whole_seconds(not_after),
            key_name,
            revocation: None,
        };
        inner.index.insert(serial_hex, record.clone());
        self.save_index(inner)?;
        Ok(Issued { record, certificate, path })
    }

    fn issue_service_certificate(
        &self,
        inner: &mut Inner,
        profile: Profile,
        common_name: &str,
        options: &AuthorityOptions,
    ) -> Result<(), Error> {
        let request = IssueRequest {
            profile,
            subject: DistinguishedName {
                country: options.country.clone(),
                organization: Some(options.organization.clone()),
                common_name: Some(common_name.to_owned()),
                ..DistinguishedName::default()
            },
            emails: Vec::new(),
            key: KeySource::Generate(options.key_kind),
            validity: None,
        };
        let issued = self.issue_locked(inner, &request, None)?;
        match profile {
            Profile::Tsa => {
                inner.state.tsa = issued.record.serial;
                inner.tsa = None;
            }
            _ => {
                inner.state.ocsp = issued.record.serial;
                inner.ocsp = None;
            }
        }
        Ok(())
    }

    /// Replaces a TSA or OCSP responder certificate that ends within [`RENEW_BEFORE`] or was
    /// revoked, with a new key.
    fn renew_service_certificates(&self) -> Result<(), Error> {
        let mut inner = self.lock();
        self.renew_locked(&mut inner)
    }

    fn renew_locked(&self, inner: &mut Inner) -> Result<(), Error> {
        let deadline = SystemTime::now() + RENEW_BEFORE;
        let mut changed = false;
        for profile in [Profile::Tsa, Profile::Ocsp] {
            let serial = if profile == Profile::Tsa { &inner.state.tsa } else { &inner.state.ocsp };
            let Some(record) = inner.index.get(serial) else { continue };
            if record.not_after > deadline && record.revocation.is_none() {
                continue;
            }
            let path = self.cert_path(&record.serial);
            let cert = fs::read(&path).map_err(io_at(&path))?;
            let view = CertView::parse(&cert)?;
            let kind = PublicKeyInfo::from_spki_der(view.spki)?.kind;
            let mut name = service_name(view.subject);
            name.common_name.get_or_insert_with(|| format!("Signet {profile}"));
            let request = IssueRequest {
                profile,
                subject: name,
                emails: Vec::new(),
                key: KeySource::Generate(kind),
                validity: None,
            };
            let issued = self.issue_locked(inner, &request, None)?;
            if profile == Profile::Tsa {
                inner.state.tsa = issued.record.serial;
            } else {
                inner.state.ocsp = issued.record.serial;
            }
            changed = true;
        }
        if changed {
            inner.tsa = None;
            inner.ocsp = None;
            self.save_state(inner)?;
        }
        Ok(())
    }

    fn service_identity(&self, profile: Profile) -> Result<Identity, Error> {
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        let cached = if profile == Profile::Tsa { &inner.tsa } else { &inner.ocsp };
        if let Some(identity) = cached {
            return Ok(identity.clone());
        }
        let serial = if profile == Profile::Tsa { inner.state.tsa.clone() } else { inner.state.ocsp.clone() };
        let record = inner.index.get(&serial).ok_or_else(|| Error::UnknownSerial(serial.clone()))?;
        let key_name = record.key_name.clone().ok_or_else(|| Error::NoPrivateKey(serial.clone()))?;
        let path = self.cert_path(&serial);
        let certificate = fs::read(&path).map_err(io_at(&path))?;
        let key: Arc<dyn Signer> = Arc::new(self.keystore.load(&key_name)?);
        let identity =
            Identity::new(key, certificate, vec![self.issuing.certificate.clone(), self.root.certificate.clone()]);
        if profile == Profile::Tsa {
            inner.tsa = Some(identity.clone());
        } else {
            inner.ocsp = Some(identity.clone());
        }
        Ok(identity)
    }

    fn generate_crl(&self, inner: &mut Inner, level: CaLevel) -> Result<Vec<u8>, Error> {
        let holder = self.holder(level);
        let now = SystemTime::now() - CLOCK_SKEW;
        let validity = Duration::from_secs(inner.state.crl_validity_seconds.max(3600));
        let next_update = now + validity;
        let number = inner.state.crl(level).number + 1;
        let serials: Vec<(Vec<u8>, Revocation)> = inner
            .index
            .values()
            .filter(|r| r.issuer == level)
            .filter_map(|r| Some((hex::decode(&r.serial).ok()?, r.revocation?)))
            .collect();
        let revoked =
            serials.iter().map(|(serial, rev)| RevokedEntry { serial, time: rev.time, reason: rev.reason }).collect();
        let der = CrlContents {
            issuer: &holder.subject,
            issuer_key_id: &holder.key_id,
            number,
            this_update: now,
            next_update,
            revoked,
        }
        .sign(holder.key.as_ref())?;
        // The number is saved before the CRL is published, so a crash never reuses it.
        *inner.state.crl(level) = CrlState { number, this_update: unix(now), next_update: unix(next_update) };
        self.save_state(inner)?;
        write_file(&self.crl_path(level), &der)?;
        inner.crls[level as usize] = Some(der.clone());
        Ok(der)
    }
}

/// The C, O and CN of a service certificate's subject (the attributes Signet writes for
/// its own services), to give its successor the same name.
fn service_name(name_der: &[u8]) -> DistinguishedName {
    use signet_crypto::asn1;
    let mut out = DistinguishedName::default();
    let Ok(seq) = asn1::parse_single(name_der) else { return out };
    let mut r = seq.reader();
    while let Ok(rdn) = r.read() {
        let mut set = rdn.reader();
        while let Ok(atv) = set.read() {
            let mut a = atv.reader();
            let (Ok(oid), Ok(value)) = (a.read(), a.read()) else { continue };
            let Ok(oid) = asn1::decode_oid(&oid) else { continue };
            let value = Some(String::from_utf8_lossy(value.value).into_owned());
            match oid.to_string().as_str() {
                "2.5.4.6" => out.country = value,
                "2.5.4.10" => out.organization = value,
                "2.5.4.3" => out.common_name = value,
                _ => {}
            }
        }
    }
    out
}

fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ca").join("state.json")
}

/// The master key: `SIGNET_MASTER_KEY` when set, else `DATA/master.key`, created when
/// `may_create` (no sealed key exists yet).
fn resolve_master_key(data_dir: &Path, may_create: bool) -> Result<(MasterKey, MasterKeySource), Error> {
    if let Some(key) = MasterKey::from_env(MasterKey::ENV_VAR)? {
        return Ok((key, MasterKeySource::Environment));
    }
    let path = data_dir.join("master.key");
    if path.exists() {
        return Ok((MasterKey::from_file(&path)?, MasterKeySource::File(path)));
    }
    if !may_create {
        return Err(signet_crypto::Error::MasterKey(format!(
            "the keys in {} need their master key: set {} or restore {}",
            data_dir.join("keys").display(),
            MasterKey::ENV_VAR,
            path.display()
        ))
        .into());
    }
    Ok((MasterKey::generate_file(&path)?, MasterKeySource::Created(path)))
}

fn key_name(profile: Profile, serial_hex: &str) -> String {
    format!("{}-{serial_hex}", profile.name())
}

fn key_kind_name(kind: KeyKind) -> String {
    match kind {
        KeyKind::Rsa { bits } => format!("rsa-{bits}"),
        KeyKind::EcP256 => "p-256".into(),
        KeyKind::EcP384 => "p-384".into(),
    }
}

/// A serial number as typed by a person: hex digits, optional `0x` and `:` separators, any
/// case, leading zero octets of a positive INTEGER removed.
fn normalize_serial(text: &str) -> Result<String, Error> {
    let t = text.trim();
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    let mut digits: String = t.chars().filter(|c| *c != ':').collect::<String>().to_ascii_uppercase();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidRequest(format!("'{text}' is not a hexadecimal serial number")));
    }
    if digits.len() % 2 == 1 {
        digits.insert(0, '0');
    }
    while digits.len() > 2 && digits.starts_with("00") && digits.as_bytes()[2] < b'8' {
        digits.drain(..2);
    }
    Ok(digits)
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomically(path, bytes).map_err(io_at(path))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let bytes = fs::read(path).map_err(io_at(path))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt { path: path.to_path_buf(), reason: e.to_string() })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Corrupt { path: path.to_path_buf(), reason: e.to_string() })?;
    bytes.push(b'\n');
    write_file(path, &bytes)
}

fn load_index(path: &Path) -> Result<BTreeMap<String, CertificateRecord>, Error> {
    let index: Index = read_json(path)?;
    Ok(index.certificates.into_iter().map(|r| (r.serial.clone(), r)).collect())
}

mod unix_seconds {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(super::unix(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(UNIX_EPOCH + Duration::from_secs(u64::deserialize(d)?))
    }
}

mod reason_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::RevocationReason;

    pub(super) fn serialize<S: Serializer>(r: &RevocationReason, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&r.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RevocationReason, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

mod profile_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::Profile;

    pub(super) fn serialize<S: Serializer>(p: &Profile, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn serials_typed_by_people() {
        assert_eq!(normalize_serial("0x4a:0B").unwrap(), "4A0B");
        assert_eq!(normalize_serial("00 ".trim()).unwrap(), "00");
        assert_eq!(normalize_serial("0080").unwrap(), "0080");
        assert_eq!(normalize_serial("000102").unwrap(), "0102");
        assert_eq!(normalize_serial("abc").unwrap(), "0ABC");
        assert!(normalize_serial("xyz").is_err());
        assert!(normalize_serial("").is_err());
    }
}
