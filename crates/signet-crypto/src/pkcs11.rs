//! Keys held on a PKCS#11 token (HSM, smart card, SoftHSM2) behind the [`Signer`] trait.
//!
//! References are to PKCS#11 v2.40 ("Base" = Cryptographic Token Interface Base
//! Specification, "Mechanisms" = Current Mechanisms Specification); the same clauses keep their
//! meaning in v3.0. The private key never leaves the token: Signet hashes the message, the
//! token applies the raw mechanism (`CKM_RSA_PKCS`, `CKM_RSA_PKCS_PSS`, `CKM_ECDSA`) to the hash.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{AuthPin, Ulong};

use crate::asn1::{self, tag};
use crate::{DigestAlgorithm, Error, KeyKind, SignatureScheme, Signer, oid};

/// Which token of a module to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenRef {
    /// The token whose `CK_TOKEN_INFO.label` is this (Base §3.2, blank padding removed).
    Label(String),
    /// The token in this slot (`CK_SLOT_ID`, Base §3.2).
    Slot(u64),
}

/// Which private key of a token to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef {
    /// The private key whose `CKA_LABEL` is this (Base §4.4.1).
    Label(String),
    /// The private key whose `CKA_ID` is these bytes (Base §4.7.1).
    Id(Vec<u8>),
}

/// A private key on a PKCS#11 token, used through the user's login.
///
/// Signing is thread-safe: each [`Signer::sign`] call takes a session from a pool (opening
/// one when all are busy) and gives it back afterwards. Every session of an application with a
/// token shares the login state (Base §5.6); one session opened at login stays open for the
/// key's lifetime, so the pool's sessions are always logged in.
pub struct Pkcs11Key {
    ctx: Pkcs11,
    module: PathBuf,
    slot: Slot,
    token_label: String,
    key: ObjectHandle,
    id: Vec<u8>,
    label: String,
    kind: KeyKind,
    /// Holds the login (Base §5.6.7: logging out happens when the last session closes).
    _login: Mutex<Session>,
    sessions: Mutex<Vec<Session>>,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("module", &self.module)
            .field("token", &self.token_label)
            .field("label", &self.label)
            .field("id", &hex(&self.id))
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Loads the PKCS#11 module at `module` (once per process; Base §5.4 `C_Initialize`),
    /// finds the token, logs the user in with `pin` (Base §5.6 `C_Login`) and finds the
    /// private key (`CKO_PRIVATE_KEY`, Base §4.9).
    ///
    /// The key must be RSA of at least 2048 bits (Mechanisms §2.1.3, `CKA_MODULUS`) or EC on
    /// P-256/P-384 (Mechanisms §2.3.4, `CKA_EC_PARAMS` naming the curve), and must not have
    /// `CKA_SIGN` false.
    pub fn open(module: &Path, token: &TokenRef, key: &KeyRef, pin: &str) -> Result<Self, Error> {
        let (module_key, ctx) = load_module(module)?;
        let (slot, token_label) = find_token(&ctx, module, token)?;
        let login =
            ctx.open_ro_session(slot).map_err(|e| ck(format!("cannot open a session on '{token_label}'"), e))?;
        log_in(&login, &module_key, slot, &token_label, pin)?;
        let handle = find_private_key(&login, &token_label, key)?;
        let attrs = login
            .get_attributes(
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::Modulus,
                    AttributeType::EcParams,
                    AttributeType::Id,
                    AttributeType::Label,
                    AttributeType::Sign,
                ],
            )
            .map_err(|e| ck(format!("cannot read the attributes of {key:?}"), e))?;
        let mut key_type = None;
        let (mut modulus, mut ec_params, mut id, mut label, mut can_sign) = (None, None, Vec::new(), Vec::new(), true);
        for a in attrs {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Modulus(m) => modulus = Some(m),
                Attribute::EcParams(p) => ec_params = Some(p),
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = v,
                Attribute::Sign(s) => can_sign = s,
                _ => {}
            }
        }
        let label = String::from_utf8_lossy(&label).into_owned();
        let name = if label.is_empty() { format!("id {}", hex(&id)) } else { format!("'{label}'") };
        if !can_sign {
            return Err(Error::Token(format!("the key {name} has CKA_SIGN false: the token will not sign with it")));
        }
        let kind = match key_type {
            Some(KeyType::RSA) => {
                let m = modulus.ok_or_else(|| Error::Token(format!("the RSA key {name} does not show CKA_MODULUS")))?;
                let bits = bit_length(&m);
                if bits < 2048 {
                    return Err(Error::WeakKey(format!("RSA-{bits} on the token: at least 2048 bits are required")));
                }
                KeyKind::Rsa { bits }
            }
            Some(KeyType::EC) => {
                let p = ec_params.ok_or_else(|| Error::Token(format!("the EC key {name} has no CKA_EC_PARAMS")))?;
                ec_curve(&p)?
            }
            Some(other) => {
                return Err(Error::UnsupportedAlgorithm(format!(
                    "PKCS#11 key type {other} of the key {name} (RSA and EC only)"
                )));
            }
            None => return Err(Error::Token(format!("the key {name} does not show CKA_KEY_TYPE"))),
        };
        Ok(Self {
            ctx,
            module: module.to_path_buf(),
            slot,
            token_label,
            key: handle,
            id,
            label,
            kind,
            _login: Mutex::new(login),
            sessions: Mutex::new(Vec::new()),
        })
    }

    /// The key's `CKA_ID` (empty when the token gave none).
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// The key's `CKA_LABEL` (empty when the token gave none).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The label of the token holding the key.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The DER values of the X.509 certificate objects on the token stored with this key
    /// (`CKO_CERTIFICATE` of type `CKC_X_509`, Base §4.6.3): those with the key's `CKA_ID`,
    /// or, when the key has no `CKA_ID`, those with its `CKA_LABEL`. Pairing by `CKA_ID` is
    /// the convention of Base §4.6.3 ("the key identifier ... should be the same as the
    /// CKA_ID of the corresponding private key").
    pub fn token_certificates(&self) -> Result<Vec<Vec<u8>>, Error> {
        let mut template =
            vec![Attribute::Class(ObjectClass::CERTIFICATE), Attribute::CertificateType(CertificateType::X_509)];
        if !self.id.is_empty() {
            template.push(Attribute::Id(self.id.clone()));
        } else if !self.label.is_empty() {
            template.push(Attribute::Label(self.label.clone().into_bytes()));
        } else {
            return Ok(Vec::new());
        }
        self.with_session(|s| {
            let mut out = Vec::new();
            for h in s.find_objects(&template)? {
                for a in s.get_attributes(h, &[AttributeType::Value])? {
                    if let Attribute::Value(v) = a {
                        out.push(v);
                    }
                }
            }
            Ok(out)
        })
        .map_err(|e| ck(format!("cannot read the certificates of the token '{}'", self.token_label), e))
    }

    /// The number of idle sessions in the pool: at most the largest number of signatures
    /// that were made at the same time.
    pub fn idle_sessions(&self) -> usize {
        self.sessions.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// Runs `f` on a pooled session of the key's token.
    fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T, CkError>) -> Result<T, CkError> {
        let pooled = self.sessions.lock().ok().and_then(|mut p| p.pop());
        let session = match pooled {
            Some(s) => s,
            None => self.ctx.open_ro_session(self.slot)?,
        };
        let result = f(&session);
        // A session the token has invalidated is closed (dropped) rather than pooled.
        let broken = matches!(
            &result,
            Err(CkError::Pkcs11(
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::DeviceRemoved
                    | RvError::TokenNotPresent
                    | RvError::DeviceError,
                _
            ))
        );
        if !broken {
            if let Ok(mut pool) = self.sessions.lock() {
                pool.push(session);
            }
        }
        result
    }
}

impl Signer for Pkcs11Key {
    fn key_kind(&self) -> KeyKind {
        self.kind
    }

    fn max_signature_len(&self) -> usize {
        self.kind.max_signature_len()
    }

    fn sign(&self, scheme: SignatureScheme, digest: DigestAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        if !self.kind.supports(scheme) {
            return Err(Error::UnsupportedAlgorithm(format!("{scheme:?} with a {:?} key", self.kind)));
        }
        let hash = digest.digest(message);
        let (mechanism, input) = match scheme {
            // Mechanisms §2.1.6: CKM_RSA_PKCS signs the DER DigestInfo as given
            // (RFC 8017 §9.2 step 2, EMSA-PKCS1-v1_5).
            SignatureScheme::RsaPkcs1v15 => {
                let info = asn1::encode_parts(
                    tag::SEQUENCE,
                    &[&digest_algorithm_identifier_with_null(digest), &asn1::encode(tag::OCTET_STRING, &hash)],
                );
                (Mechanism::RsaPkcs, info)
            }
            // Mechanisms §2.1.9–2.1.10: CKM_RSA_PKCS_PSS over the hash; hashAlg names the hash,
            // MGF1 over the same hash, salt = hash length (as SignatureAlgorithm::new declares).
            SignatureScheme::RsaPss => {
                let (hash_alg, mgf) = match digest {
                    DigestAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
                    DigestAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                    DigestAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                };
                let s_len = Ulong::try_from(hash.len()).map_err(|e| Error::SigningFailed(e.to_string()))?;
                (Mechanism::RsaPkcsPss(PkcsPssParams { hash_alg, mgf, s_len }), hash)
            }
            // Mechanisms §2.3.6: CKM_ECDSA signs the hash. FIPS 186-5 §6.4.1 uses its leftmost
            // n bits; tokens differ in whether they truncate a longer input, so it is done here
            // (the orders of P-256 and P-384 are whole bytes).
            SignatureScheme::Ecdsa => {
                let mut h = hash;
                h.truncate(self.field_len());
                (Mechanism::Ecdsa, h)
            }
        };
        let raw = self.with_session(|s| s.sign(&mechanism, self.key, &input)).map_err(|e| {
            Error::SigningFailed(format!("the token '{}' refused to sign: {}", self.token_label, ck_text(&e)))
        })?;
        match scheme {
            SignatureScheme::Ecdsa => ecdsa_raw_to_der(&raw, self.field_len()),
            _ => Ok(raw),
        }
    }
}

impl Pkcs11Key {
    fn field_len(&self) -> usize {
        match self.kind {
            KeyKind::EcP384 => 48,
            _ => 32,
        }
    }
}

/// A digest `AlgorithmIdentifier` with NULL parameters, as the `DigestInfo` of RFC 8017 §9.2
/// note 1 spells it (and as OpenSSL and aws-lc produce it).
fn digest_algorithm_identifier_with_null(d: DigestAlgorithm) -> Vec<u8> {
    asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(&d.oid()), &[tag::NULL, 0]])
}

/// Converts the `r || s` a token returns for ECDSA (Mechanisms §2.3.1: each half the length of
/// the curve order in bytes) into the DER `Ecdsa-Sig-Value` of RFC 5480 §2.2 /
/// RFC 3279 §2.2.3.
pub fn ecdsa_raw_to_der(raw: &[u8], field_len: usize) -> Result<Vec<u8>, Error> {
    if raw.len() != 2 * field_len {
        return Err(Error::SigningFailed(format!(
            "the token returned a {}-byte ECDSA signature; r || s of {} bytes was expected",
            raw.len(),
            2 * field_len
        )));
    }
    let (r, s) = raw.split_at(field_len);
    Ok(asn1::encode_parts(tag::SEQUENCE, &[&der_unsigned_integer(r), &der_unsigned_integer(s)]))
}

/// A DER INTEGER holding the unsigned big-endian `value` (X.690 §8.3: minimal, with a leading
/// zero byte when the high bit is set).
fn der_unsigned_integer(value: &[u8]) -> Vec<u8> {
    let start = value.iter().position(|&b| b != 0).unwrap_or(value.len().saturating_sub(1));
    let v = &value[start..];
    if v.first().is_some_and(|&b| b & 0x80 != 0) {
        asn1::encode_parts(tag::INTEGER, &[&[0], v])
    } else {
        asn1::encode(tag::INTEGER, v)
    }
}

/// The curve named by DER `CKA_EC_PARAMS` (Mechanisms §2.3.3: ECParameters of X9.62, here
/// the namedCurve choice).
fn ec_curve(params: &[u8]) -> Result<KeyKind, Error> {
    let curve = asn1::parse_single(params)
        .and_then(|t| asn1::decode_oid(&t))
        .map_err(|_| Error::UnsupportedAlgorithm("EC key whose CKA_EC_PARAMS is not a named curve".into()))?;
    match curve {
        oid::SECP256R1 => Ok(KeyKind::EcP256),
        oid::SECP384R1 => Ok(KeyKind::EcP384),
        other => Err(Error::UnsupportedAlgorithm(format!("EC curve {other} on the token (P-256 and P-384 only)"))),
    }
}

fn bit_length(be: &[u8]) -> usize {
    match be.iter().position(|&b| b != 0) {
        Some(i) => (be.len() - i) * 8 - be[i].leading_zeros() as usize,
        None => 0,
    }
}

/// The module at `path`, loaded and initialised once per process: a second `C_Initialize`
/// would fail with `CKR_CRYPTOKI_ALREADY_INITIALIZED` (Base §5.4.1), and keys on several
/// tokens of one module share it.
fn load_module(path: &Path) -> Result<(PathBuf, Pkcs11), Error> {
    static LOADED: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());
    // A bare file name is left to the dynamic loader's search path.
    let key = if path.components().count() > 1 {
        path.canonicalize()
            .map_err(|e| Error::Token(format!("the PKCS#11 module {} cannot be opened: {e}", path.display())))?
    } else {
        path.to_path_buf()
    };
    let mut loaded = LOADED.lock().map_err(|_| Error::Token("the PKCS#11 module table is poisoned".into()))?;
    if let Some((_, ctx)) = loaded.iter().find(|(p, _)| *p == key) {
        return Ok((key, ctx.clone()));
    }
    let ctx = Pkcs11::new(&key)
        .map_err(|e| Error::Token(format!("cannot load {} as a PKCS#11 module: {}", path.display(), ck_text(&e))))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(ck(format!("C_Initialize of {} failed", path.display()), e)),
    }
    loaded.push((key.clone(), ctx.clone()));
    Ok((key, ctx))
}

/// Logs the user in (Base §5.6.7 `C_Login`).
///
/// The login state belongs to the application, not the session (Base §5.6): once a key of a
/// token is open, `C_Login` answers `CKR_USER_ALREADY_LOGGED_IN` without looking at the PIN.
/// So that a second key cannot be opened with a wrong PIN, the process remembers a keyed
/// digest of each PIN that logged in, per module and slot, and compares.
fn log_in(session: &Session, module: &Path, slot: Slot, token_label: &str, pin: &str) -> Result<(), Error> {
    type Login = (PathBuf, u64, Vec<u8>);
    static LOGINS: Mutex<Vec<Login>> = Mutex::new(Vec::new());
    static PIN_KEY: OnceLock<Option<hmac::Key>> = OnceLock::new();
    let pin_key = PIN_KEY.get_or_init(|| hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()).ok());
    let tag = pin_key.as_ref().map(|k| hmac::sign(k, pin.as_bytes()).as_ref().to_vec());
    let mut logins = LOGINS.lock().map_err(|_| Error::Token("the PKCS#11 login table is poisoned".into()))?;
    let known = logins.iter_mut().find(|(m, s, _)| m == module && *s == slot.id());
    match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
        Ok(()) => {
            let tag = tag.unwrap_or_default();
            match known {
                Some(entry) => entry.2 = tag,
                None => logins.push((module.to_path_buf(), slot.id(), tag)),
            }
            Ok(())
        }
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => match (known, tag) {
            (Some((_, _, known)), Some(tag)) if *known != tag => Err(Error::WrongPin { token: token_label.into() }),
            _ => Ok(()),
        },
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
            Err(Error::WrongPin { token: token_label.into() })
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
            Err(Error::Token(format!("the user PIN of the token '{token_label}' is locked")))
        }
        Err(CkError::Pkcs11(RvError::UserPinNotInitialized, _)) => {
            Err(Error::Token(format!("the token '{token_label}' has no user PIN yet (C_InitPIN)")))
        }
        Err(e) => Err(ck(format!("cannot log in to '{token_label}'"), e)),
    }
}

/// The slot and token label for `token` (Base §5.5 `C_GetSlotList`, `C_GetTokenInfo`); when
/// there is none, the error lists the tokens present.
fn find_token(ctx: &Pkcs11, module: &Path, token: &TokenRef) -> Result<(Slot, String), Error> {
    let slots = ctx.get_slots_with_token().map_err(|e| ck("C_GetSlotList failed".into(), e))?;
    let mut present = Vec::new();
    for slot in slots {
        let info = ctx.get_token_info(slot).map_err(|e| ck(format!("C_GetTokenInfo of slot {slot} failed"), e))?;
        let label = info.label().trim_end().to_string();
        let found = match token {
            TokenRef::Label(l) => *l == label,
            TokenRef::Slot(id) => slot.id() == *id,
        };
        if found {
            if !info.token_initialized() {
                return Err(Error::Token(format!("the token in slot {slot} is not initialised")));
            }
            return Ok((slot, label));
        }
        if info.token_initialized() {
            present.push(format!("'{label}' (slot {slot})"));
        }
    }
    let wanted = match token {
        TokenRef::Label(l) => format!("no token labelled '{l}'"),
        TokenRef::Slot(id) => format!("no token in slot {id}"),
    };
    let tokens = if present.is_empty() { "none".to_string() } else { present.join(", ") };
    Err(Error::Token(format!("{wanted} in {}; initialised tokens: {tokens}", module.display())))
}

/// The one private key matching `key` (Base §5.7 `C_FindObjects*`); when there is none, the
/// error lists the private keys present.
fn find_private_key(session: &Session, token_label: &str, key: &KeyRef) -> Result<ObjectHandle, Error> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    match key {
        KeyRef::Label(l) => template.push(Attribute::Label(l.clone().into_bytes())),
        KeyRef::Id(id) => template.push(Attribute::Id(id.clone())),
    }
    let found = session.find_objects(&template).map_err(|e| ck("C_FindObjects failed".into(), e))?;
    let wanted = match key {
        KeyRef::Label(l) => format!("labelled '{l}'"),
        KeyRef::Id(id) => format!("with id {}", hex(id)),
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => {
            let all = session
                .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
                .map_err(|e| ck("C_FindObjects failed".into(), e))?;
            let mut names = Vec::new();
            for h in all {
                let attrs = session.get_attributes(h, &[AttributeType::Label, AttributeType::Id]).unwrap_or_default();
                let mut label = String::new();
                let mut id = Vec::new();
                for a in attrs {
                    match a {
                        Attribute::Label(l) => label = String::from_utf8_lossy(&l).into_owned(),
                        Attribute::Id(i) => id = i,
                        _ => {}
                    }
                }
                names.push(format!("'{label}' (id {})", hex(&id)));
            }
            let keys = if names.is_empty() { "none".to_string() } else { names.join(", ") };
            Err(Error::Token(format!("no private key {wanted} on the token '{token_label}'; private keys: {keys}")))
        }
        many => Err(Error::Token(format!(
            "{} private keys {wanted} on the token '{token_label}': name the key by its id",
            many.len()
        ))),
    }
}

fn ck(context: String, e: CkError) -> Error {
    Error::Token(format!("{context}: {}", ck_text(&e)))
}

/// A cryptoki error as the function and the return value's name (e.g. "Sign returned
/// KeyFunctionNotPermitted"), without the specification's paragraph that cryptoki's `Display`
/// prints.
fn ck_text(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => format!("{function:?} returned {rv:?}"),
        other => other.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "(none)".into();
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ecdsa_signature_becomes_minimal_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r: high bit set -> leading zero byte
        raw[31] = 1;
        raw[32..34].copy_from_slice(&[0, 0]); // s: leading zeros stripped
        raw[34] = 0x12;
        raw[63] = 0x34;
        let der = ecdsa_raw_to_der(&raw, 32).unwrap();
        let seq = asn1::parse_single(&der).unwrap().expect(tag::SEQUENCE).unwrap();
        let mut r = seq.reader();
        let ri = r.read_expect(tag::INTEGER).unwrap();
        assert_eq!(ri.value.len(), 33);
        assert_eq!(ri.value[..2], [0, 0x80]);
        let si = r.read_expect(tag::INTEGER).unwrap();
        assert_eq!(si.value.len(), 30);
        assert_eq!(si.value[0], 0x12);
        r.finish().unwrap();
        assert!(ecdsa_raw_to_der(&raw[..63], 32).is_err());
        // exact encodings: a leading zero added before a high bit, leading zeros dropped, zero kept
        let der = ecdsa_raw_to_der(&[0x00, 0x80, 0x01, 0x00, 0x00, 0x7f], 3).unwrap();
        assert_eq!(der, [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x7f]);
        assert_eq!(ecdsa_raw_to_der(&[0; 4], 2).unwrap(), [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]);
    }

    #[test]
    fn zero_integer_keeps_one_byte() {
        assert_eq!(der_unsigned_integer(&[0, 0, 0]), [tag::INTEGER, 1, 0]);
    }

    #[test]
    fn digest_info_prefix_matches_rfc_8017() {
        // RFC 8017 §9.2 note 1: SHA-256 DigestInfo prefix
        let prefix = [
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
            0x20,
        ];
        let info = asn1::encode_parts(
            tag::SEQUENCE,
            &[
                &digest_algorithm_identifier_with_null(DigestAlgorithm::Sha256),
                &asn1::encode(tag::OCTET_STRING, &[7; 32]),
            ],
        );
        assert_eq!(info[..prefix.len()], prefix);
    }

    #[test]
    fn modulus_bit_length() {
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x01, 0]), 9);
        assert_eq!(bit_length(&[]), 0);
    }
}
