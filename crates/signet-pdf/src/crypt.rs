//! The standard security handler (ISO 32000-2 §7.6.4): password checks, the file key, and
//! the encryption of strings and streams (§7.6.3).
//!
//! Signet reads encrypted documents and appends incremental updates to them; the objects of
//! an update are encrypted with the document's own key, so one [`SecurityHandler`] serves both
//! directions. Supported are revisions 2–4 (RC4 and AES-128, MD5-based keys) and 5–6
//! (AES-256, SHA-based keys). RC4 is implemented so that such documents can be read, and
//! [`SecurityHandler::method`] lets the caller refuse it.
//!
//! What the handler does not decide: the caller must not decrypt the `/Encrypt` dictionary,
//! the trailer `/ID`, objects inside an object stream (the object stream itself is decrypted
//! as a whole), or streams for which [`SecurityHandler::is_stream_encrypted`] is false.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use md5::{Digest, Md5};
use sha2::{Sha256, Sha384, Sha512};

use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object, StreamData};

/// The cipher a document uses, so that a caller can refuse weak ones (RC4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// RC4 with an MD5-derived key of 40–128 bits (§7.6.3.2; deprecated in PDF 2.0).
    Rc4,
    /// AES-128 in CBC mode, crypt filter method `/AESV2` (§7.6.3.2, deprecated in PDF 2.0).
    Aes128,
    /// AES-256 in CBC mode, crypt filter method `/AESV3` (§7.6.3.3).
    Aes256,
}

/// The standard security handler of one document, opened with a password (§7.6.4).
///
/// Holds the file encryption key; encrypts and decrypts strings and streams of that document.
#[derive(Clone)]
pub struct SecurityHandler {
    scheme: Scheme,
    encrypt_metadata: bool,
    permissions: u32,
    owner: bool,
}

impl std::fmt::Debug for SecurityHandler {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityHandler")
            .field("method", &self.method())
            .field("encrypt_metadata", &self.encrypt_metadata)
            .field("permissions", &self.permissions)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// The key and the crypt filters of strings and streams. The two key families are kept apart
/// by type so that an AES-256 object can never be encrypted with a short key, or silently not
/// at all.
#[derive(Clone)]
enum Scheme {
    /// Revisions 2–4: a 5–16 byte key from Algorithm 2, per-object keys from Algorithm 1.
    Md5 { key: Vec<u8>, strings: LegacyCipher, streams: LegacyCipher },
    /// Revisions 5–6: a 32-byte key used directly (§7.6.3.3); `false` means `/Identity`.
    Sha { key: [u8; 32], strings: bool, streams: bool },
}

/// A crypt filter method usable with an MD5-derived key (§7.6.6, Table 25 `/CFM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LegacyCipher {
    Identity,
    Rc4,
    Aes128,
}

/// The 32-byte padding string of Algorithm 2 step (a) (§7.6.4.3.2).
const PASSWORD_PADDING: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08, 0x2E, 0x2E, 0x00,
    0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// Passwords of revisions 5 and 6 are cut to 127 bytes of UTF-8 (§7.6.4.3.3 Algorithm 2.A (a)).
const MAX_UTF8_PASSWORD: usize = 127;

const WRONG_PASSWORD: &str = "the password is wrong (tried as user and owner password)";
const NEEDS_PASSWORD: &str = "the document is encrypted and needs a password";

impl SecurityHandler {
    /// Opens the standard security handler described by the `/Encrypt` dictionary `encrypt`
    /// (as parsed: its strings are never encrypted, §7.6.2) with `password`, trying it as the
    /// user password and then as the owner password (§7.6.4.4, Algorithms 6 and 7, and
    /// Algorithm 2.A for revision 6). `id0` is the first string of the trailer `/ID`.
    ///
    /// For revisions 2–4 the password is taken as given (it should be PDFDocEncoding); for
    /// revisions 5 and 6 it should be UTF-8 (SASLprep is not applied).
    pub fn open(encrypt: &Dict, id0: &[u8], password: &[u8]) -> Result<SecurityHandler> {
        match encrypt.get_name("Filter") {
            Some(b"Standard") => {}
            Some(other) => {
                let other = String::from_utf8_lossy(other);
                let what = if other.contains("PubSec") || encrypt.contains("Recipients") {
                    " (a public-key security handler)"
                } else {
                    ""
                };
                return Err(Error::Encryption(format!(
                    "the security handler /Filter /{other}{what} is not supported, only /Standard"
                )));
            }
            None => {
                return Err(Error::Encryption("the /Encrypt dictionary has no /Filter".into()));
            }
        }
        let v = encrypt.get_int("V").unwrap_or(0);
        let r = required_int(encrypt, "R")?;
        let permissions = (required_int(encrypt, "P")? & 0xFFFF_FFFF) as u32;
        let encrypt_metadata = !matches!(encrypt.get("EncryptMetadata"), Some(Object::Bool(false)));

        let (scheme, owner) = match (v, r) {
            (1 | 2, 2 | 3) | (4, 4) => {
                let (strings, streams) = if v == 4 {
                    (legacy_filter(encrypt, "StrF")?, legacy_filter(encrypt, "StmF")?)
                } else {
                    (LegacyCipher::Rc4, LegacyCipher::Rc4)
                };
                let key_len = match v {
                    1 => 5,
                    2 => legacy_key_length(encrypt.get_int("Length"))?,
                    // AESV2 keys are 128 bits; RC4 under /V 4 takes the crypt filter's /Length
                    _ if LegacyCipher::Rc4 != strings && LegacyCipher::Rc4 != streams => 16,
                    _ => legacy_key_length(crypt_filter_length(encrypt).or(Some(128)))?,
                };
                let params = LegacyParams {
                    revision: r,
                    key_len,
                    o: fixed_string::<32>(encrypt, "O")?,
                    u: fixed_string::<32>(encrypt, "U")?,
                    permissions,
                    id0,
                    encrypt_metadata,
                };
                let (key, owner) = params.authenticate(password)?;
                (Scheme::Md5 { key, strings, streams }, owner)
            }
            (5, 5 | 6) => {
                let strings = aes256_filter(encrypt, "StrF")?;
                let streams = aes256_filter(encrypt, "StmF")?;
                let params = ShaParams {
                    revision: r,
                    o: fixed_string::<48>(encrypt, "O")?,
                    u: fixed_string::<48>(encrypt, "U")?,
                    oe: fixed_string::<32>(encrypt, "OE")?,
                    ue: fixed_string::<32>(encrypt, "UE")?,
                };
                let (key, owner) = params.authenticate(password)?;
                (Scheme::Sha { key, strings, streams }, owner)
            }
            _ => {
                return Err(Error::Encryption(format!(
                    "the standard security handler with /V {v} /R {r} is not supported \
                     (supported: V 1/2 with R 2/3, V 4 with R 4, V 5 with R 5/6)"
                )));
            }
        };
        Ok(SecurityHandler { scheme, encrypt_metadata, permissions, owner })
    }

    /// The cipher of this document: [`Method::Rc4`] if strings or streams use RC4, otherwise
    /// AES with the key size of the revision.
    pub fn method(&self) -> Method {
        match &self.scheme {
            Scheme::Md5 { strings, streams, .. } => {
                if *strings == LegacyCipher::Rc4 || *streams == LegacyCipher::Rc4 {
                    Method::Rc4
                } else {
                    Method::Aes128
                }
            }
            Scheme::Sha { .. } => Method::Aes256,
        }
    }

    /// The user access permissions `/P` (§7.6.4.2, Table 22) as a 32-bit field.
    pub fn permissions(&self) -> u32 {
        self.permissions
    }

    /// Whether the password was the owner password (which grants every permission).
    pub fn is_owner(&self) -> bool {
        self.owner
    }

    /// Whether the data of a stream with dictionary `dict` is encrypted: not for
    /// cross-reference streams (§7.5.8.2), nor for `/Metadata` streams when
    /// `/EncryptMetadata` is false (§7.6.5, Table 27), nor for streams whose first filter is
    /// `/Crypt` with the `/Identity` crypt filter (§7.4.10).
    pub fn is_stream_encrypted(&self, dict: &Dict) -> bool {
        if dict.is_name("Type", "XRef") {
            return false;
        }
        if dict.is_name("Type", "Metadata") && !self.encrypt_metadata {
            return false;
        }
        let first_filter = match dict.get("Filter") {
            Some(Object::Name(n)) => Some(n.as_bytes()),
            Some(Object::Array(a)) => a.first().and_then(Object::as_name),
            _ => None,
        };
        if first_filter == Some(b"Crypt".as_slice()) {
            let parms = match dict.get("DecodeParms") {
                Some(Object::Dict(d)) => Some(d),
                Some(Object::Array(a)) => a.first().and_then(|o| match o {
                    Object::Dict(d) => Some(d),
                    _ => None,
                }),
                _ => None,
            };
            let name = parms.and_then(|p| p.get_name("Name")).unwrap_or(b"Identity");
            if name == b"Identity" {
                return false;
            }
        }
        true
    }

    /// Decrypts the bytes of string object in indirect object `id` (§7.6.3).
    ///
    /// AES data is read leniently, as qpdf does: less than one block gives nothing, a partial
    /// last block is zero-filled, and padding that is not valid PKCS#5 is kept.
    pub fn decrypt_string(&self, id: ObjRef, data: &[u8]) -> Result<Vec<u8>> {
        Ok(self.crypt(id, data, Target::Strings, Direction::Decrypt))
    }

    /// Decrypts the raw data of a stream of indirect object `id` (§7.6.3); see
    /// [`SecurityHandler::decrypt_string`] for how malformed AES data is treated. The caller
    /// checks [`SecurityHandler::is_stream_encrypted`] first.
    pub fn decrypt_stream(&self, id: ObjRef, data: &[u8]) -> Result<Vec<u8>> {
        Ok(self.crypt(id, data, Target::Streams, Direction::Decrypt))
    }

    /// Encrypts the bytes of a string object for indirect object `id`, with a fresh random
    /// initialisation vector for AES (§7.6.3.2 Algorithm 1 (b) and (f)).
    pub fn encrypt_string(&self, id: ObjRef, data: &[u8]) -> Vec<u8> {
        self.crypt(id, data, Target::Strings, Direction::Encrypt)
    }

    /// Encrypts the (already filter-encoded) data of a stream of indirect object `id`.
    pub fn encrypt_stream(&self, id: ObjRef, data: &[u8]) -> Vec<u8> {
        self.crypt(id, data, Target::Streams, Direction::Encrypt)
    }

    /// Decrypts every string inside indirect object `id` (arrays, dictionaries, a stream's
    /// dictionary), except what §7.6.2 leaves unencrypted: the `/Contents` string of a
    /// signature dictionary and the dictionary of a cross-reference stream. Stream data is
    /// not touched; it is decrypted when read, with [`SecurityHandler::decrypt_stream`].
    pub fn decrypt_object(&self, id: ObjRef, obj: &mut Object) -> Result<()> {
        if is_xref_stream(obj) {
            return Ok(());
        }
        for_each_string(obj, &mut |s: &mut Vec<u8>| {
            *s = self.decrypt_string(id, s)?;
            Ok(())
        })
    }

    /// Encrypts indirect object `id` for writing: every string (as in
    /// [`SecurityHandler::decrypt_object`]) and, for a stream with owned data, the data
    /// (unless [`SecurityHandler::is_stream_encrypted`] says otherwise). In-file stream data is
    /// left as it is.
    pub fn encrypt_object(&self, id: ObjRef, obj: &mut Object) {
        if is_xref_stream(obj) {
            return;
        }
        let _ = for_each_string::<std::convert::Infallible>(obj, &mut |s: &mut Vec<u8>| {
            *s = self.encrypt_string(id, s);
            Ok(())
        });
        if let Object::Stream(stream) = obj {
            if self.is_stream_encrypted(&stream.dict) {
                if let StreamData::Owned(data) = &mut stream.data {
                    *data = self.encrypt_stream(id, data);
                }
            }
        }
    }

    fn crypt(&self, id: ObjRef, data: &[u8], target: Target, direction: Direction) -> Vec<u8> {
        match &self.scheme {
            Scheme::Md5 { key, strings, streams } => {
                let cipher = match target {
                    Target::Strings => *strings,
                    Target::Streams => *streams,
                };
                match cipher {
                    LegacyCipher::Identity => data.to_vec(),
                    LegacyCipher::Rc4 => rc4(&object_key(key, id, false), data),
                    LegacyCipher::Aes128 => {
                        let digest = object_key_digest(key, id, true);
                        match direction {
                            Direction::Encrypt => aes_cbc_encrypt::<aes::Aes128>(&digest.into(), data),
                            Direction::Decrypt => aes_cbc_decrypt::<aes::Aes128>(&digest.into(), data),
                        }
                    }
                }
            }
            Scheme::Sha { key, strings, streams } => {
                let encrypted = match target {
                    Target::Strings => *strings,
                    Target::Streams => *streams,
                };
                match (encrypted, direction) {
                    (false, _) => data.to_vec(),
                    (true, Direction::Encrypt) => aes_cbc_encrypt::<aes::Aes256>(key.into(), data),
                    (true, Direction::Decrypt) => aes_cbc_decrypt::<aes::Aes256>(key.into(), data),
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Target {
    Strings,
    Streams,
}

#[derive(Clone, Copy)]
enum Direction {
    Encrypt,
    Decrypt,
}

/// The `/Encrypt` entries that revisions 2–4 derive keys from.
struct LegacyParams<'a> {
    revision: i64,
    /// Key length in bytes, 5 to 16.
    key_len: usize,
    o: [u8; 32],
    u: [u8; 32],
    permissions: u32,
    id0: &'a [u8],
    encrypt_metadata: bool,
}

impl LegacyParams<'_> {
    /// Returns the file key and whether `password` was the owner password.
    fn authenticate(&self, password: &[u8]) -> Result<(Vec<u8>, bool)> {
        if let Some(key) = self.check_user(password) {
            return Ok((key, false));
        }
        if let Some(key) = self.check_owner(password) {
            return Ok((key, true));
        }
        Err(password_error(password))
    }

    /// Algorithm 6 (§7.6.4.4.2): the key from Algorithm 2, if it reproduces `/U`.
    fn check_user(&self, password: &[u8]) -> Option<Vec<u8>> {
        let key = self.file_key(password);
        let matches = if self.revision == 2 {
            // Algorithm 4: RC4 of the padding string, all 32 bytes compared.
            rc4(&key, &PASSWORD_PADDING) == self.u
        } else {
            self.u_r3(&key).as_slice() == self.u.get(..16)?
        };
        matches.then_some(key)
    }

    /// Algorithm 7 (§7.6.4.4.3): recovers the user password from `/O` and checks it.
    fn check_owner(&self, password: &[u8]) -> Option<Vec<u8>> {
        let mut digest: [u8; 16] = Md5::digest(pad_password(password)).into();
        let mut variants = vec![];
        if self.revision >= 3 {
            // Algorithm 3 (c) says to rehash the whole digest; qpdf and PDFBox rehash only the
            // first n bytes. They differ only for keys shorter than 128 bits: try both.
            let mut short = digest;
            for _ in 0..50 {
                digest = Md5::digest(digest).into();
                short = Md5::digest(short.get(..self.key_len).unwrap_or(&short[..])).into();
            }
            variants.push(short);
        }
        variants.insert(0, digest);
        variants.dedup();
        for digest in variants {
            let rc4_key = digest.get(..self.key_len).unwrap_or(&digest[..]);
            let user_password = if self.revision == 2 {
                rc4(rc4_key, &self.o)
            } else {
                let mut data = self.o.to_vec();
                for i in (0..20u8).rev() {
                    data = rc4(&xor_key(rc4_key, i), &data);
                }
                data
            };
            if let Some(key) = self.check_user(&user_password) {
                return Some(key);
            }
        }
        None
    }

    /// Algorithm 2 (§7.6.4.3.2): the file encryption key from a user password.
    fn file_key(&self, password: &[u8]) -> Vec<u8> {
        let mut md5 = Md5::new();
        md5.update(pad_password(password));
        md5.update(self.o);
        md5.update(self.permissions.to_le_bytes());
        md5.update(self.id0);
        if self.revision >= 4 && !self.encrypt_metadata {
            md5.update([0xFF; 4]);
        }
        let mut digest: [u8; 16] = md5.finalize().into();
        if self.revision >= 3 {
            for _ in 0..50 {
                digest = Md5::digest(digest.get(..self.key_len).unwrap_or(&digest[..])).into();
            }
        }
        digest.get(..self.key_len).unwrap_or(&digest[..]).to_vec()
    }

    /// Algorithm 5 (§7.6.4.3.4) steps (b)–(d): the first 16 bytes of `/U` for revisions 3–4.
    fn u_r3(&self, key: &[u8]) -> Vec<u8> {
        let mut md5 = Md5::new();
        md5.update(PASSWORD_PADDING);
        md5.update(self.id0);
        let mut data = md5.finalize().to_vec();
        for i in 0..20u8 {
            data = rc4(&xor_key(key, i), &data);
        }
        data
    }
}

/// The `/Encrypt` entries that revisions 5–6 derive keys from.
struct ShaParams {
    revision: i64,
    o: [u8; 48],
    u: [u8; 48],
    oe: [u8; 32],
    ue: [u8; 32],
}

impl ShaParams {
    /// Algorithm 2.A (§7.6.4.3.3): checks `password` against `/U`, then `/O`, and unwraps the
    /// file key from `/UE` or `/OE`. Returns the key and whether it was the owner password.
    fn authenticate(&self, password: &[u8]) -> Result<([u8; 32], bool)> {
        let password = password.get(..MAX_UTF8_PASSWORD).unwrap_or(password);
        let (u_hash, u_salts) = self.u.split_at(32);
        let (u_validation, u_key_salt) = u_salts.split_at(8);
        if self.hash(password, u_validation, &[]) == u_hash {
            let intermediate = self.hash(password, u_key_salt, &[]);
            return Ok((unwrap_key(&intermediate, &self.ue), false));
        }
        let (o_hash, o_salts) = self.o.split_at(32);
        let (o_validation, o_key_salt) = o_salts.split_at(8);
        if self.hash(password, o_validation, &self.u) == o_hash {
            let intermediate = self.hash(password, o_key_salt, &self.u);
            return Ok((unwrap_key(&intermediate, &self.oe), true));
        }
        Err(password_error(password))
    }

    /// SHA-256 for revision 5 (Adobe extension level 3), Algorithm 2.B for revision 6.
    fn hash(&self, password: &[u8], salt: &[u8], udata: &[u8]) -> [u8; 32] {
        if self.revision == 5 {
            let mut sha = Sha256::new();
            sha.update(password);
            sha.update(salt);
            sha.update(udata);
            sha.finalize().into()
        } else {
            hash_2b(password, salt, udata)
        }
    }
}

/// Algorithm 2.B (§7.6.4.3.4): the hardened hash of revision 6. `udata` is the 48-byte `/U`
/// when checking the owner password and empty otherwise.
fn hash_2b(password: &[u8], salt: &[u8], udata: &[u8]) -> [u8; 32] {
    let mut sha = Sha256::new();
    sha.update(password);
    sha.update(salt);
    sha.update(udata);
    let mut k: Vec<u8> = sha.finalize().to_vec();
    let mut round = 0u32;
    loop {
        // (a) 64 repetitions of password, K, udata; a multiple of 16 bytes since 64 is.
        let unit: Vec<u8> = [password, &k, udata].concat();
        let k1 = unit.repeat(64);
        // (b) AES-128-CBC without padding, key K[0..16], IV K[16..32]
        let mut aes_key = [0u8; 16];
        let mut iv = [0u8; 16];
        aes_key.copy_from_slice(k.get(..16).unwrap_or(&[0; 16]));
        iv.copy_from_slice(k.get(16..32).unwrap_or(&[0; 16]));
        let mut blocks = to_blocks(&k1);
        cbc::Encryptor::<aes::Aes128>::new(&aes_key.into(), &iv.into()).encrypt_blocks_mut(&mut blocks);
        let e: Vec<u8> = blocks.iter().flat_map(|b| b.iter().copied()).collect();
        // (c) the first 16 bytes as a big-endian number mod 3; 256 ≡ 1 (mod 3), so the sum
        // of the bytes has the same remainder
        let modulus = e.iter().take(16).map(|&b| u32::from(b)).sum::<u32>() % 3;
        // (d)
        k = match modulus {
            0 => Sha256::digest(&e).to_vec(),
            1 => Sha384::digest(&e).to_vec(),
            _ => Sha512::digest(&e).to_vec(),
        };
        round += 1;
        // (e), (f): at least 64 rounds, then until the last byte of E is <= round - 32
        let last = u32::from(e.last().copied().unwrap_or(0));
        if round >= 64 && last + 32 <= round {
            break;
        }
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(k.get(..32).unwrap_or(&[0; 32]));
    out
}

/// Algorithm 2.A (e)/(f): `/UE` or `/OE` decrypted with AES-256, CBC, zero IV, no padding.
fn unwrap_key(intermediate: &[u8; 32], wrapped: &[u8; 32]) -> [u8; 32] {
    let mut blocks = to_blocks(wrapped);
    cbc::Decryptor::<aes::Aes256>::new(intermediate.into(), &[0u8; 16].into()).decrypt_blocks_mut(&mut blocks);
    let mut key = [0u8; 32];
    for (dst, src) in key.iter_mut().zip(blocks.iter().flat_map(|b| b.iter())) {
        *dst = *src;
    }
    key
}

/// Algorithm 1 (§7.6.3.2) steps (a)–(c) for a key of revision 2–4: MD5 of the file key, the
/// low 3 bytes of the object number and low 2 bytes of the generation (little-endian), and
/// for AES the bytes "sAlT".
fn object_key_digest(file_key: &[u8], id: ObjRef, aes: bool) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(file_key);
    md5.update(&id.num.to_le_bytes()[..3]);
    md5.update(id.generation.to_le_bytes());
    if aes {
        md5.update(b"sAlT");
    }
    md5.finalize().into()
}

/// Algorithm 1 step (d): the first n + 5 bytes of the digest, at most 16.
fn object_key(file_key: &[u8], id: ObjRef, aes: bool) -> Vec<u8> {
    let digest = object_key_digest(file_key, id, aes);
    let len = (file_key.len() + 5).min(16);
    digest.get(..len).unwrap_or(&digest[..]).to_vec()
}

/// AES-CBC with a random 16-byte IV in front and PKCS#5 padding (§7.6.3.2 Algorithm 1 (f)).
fn aes_cbc_encrypt<C>(key: &aes::cipher::Key<C>, data: &[u8]) -> Vec<u8>
where
    C: aes::cipher::BlockEncryptMut + aes::cipher::BlockCipher + aes::cipher::KeyInit,
    C: aes::cipher::BlockSizeUser<BlockSize = aes::cipher::consts::U16>,
{
    let iv: [u8; 16] = rand::random();
    let mut out = iv.to_vec();
    let body = cbc::Encryptor::<C>::new(key, &iv.into()).encrypt_padded_vec_mut::<Pkcs7>(data);
    out.extend_from_slice(&body);
    out
}

/// The inverse of [`aes_cbc_encrypt`], lenient like qpdf's `Pl_AES_PDF`: data shorter than an
/// IV gives nothing, a partial last block is zero-filled, and padding is removed only when it
/// is well-formed.
fn aes_cbc_decrypt<C>(key: &aes::cipher::Key<C>, data: &[u8]) -> Vec<u8>
where
    C: aes::cipher::BlockDecryptMut + aes::cipher::BlockCipher + aes::cipher::KeyInit,
    C: aes::cipher::BlockSizeUser<BlockSize = aes::cipher::consts::U16>,
{
    let Some((iv, body)) = data.split_first_chunk::<16>() else {
        return Vec::new();
    };
    let mut blocks = to_blocks(body);
    cbc::Decryptor::<C>::new(key, &(*iv).into()).decrypt_blocks_mut(&mut blocks);
    let mut out: Vec<u8> = blocks.iter().flat_map(|b| b.iter().copied()).collect();
    if let Some(&pad) = out.last() {
        let n = usize::from(pad);
        if (1..=16).contains(&n) && out.len() >= n && out.iter().rev().take(n).all(|&b| b == pad) {
            out.truncate(out.len() - n);
        }
    }
    out
}

/// Splits into AES blocks, zero-filling a partial last block.
fn to_blocks(data: &[u8]) -> Vec<aes::Block> {
    data.chunks(16)
        .map(|chunk| {
            let mut block = [0u8; 16];
            for (dst, src) in block.iter_mut().zip(chunk) {
                *dst = *src;
            }
            aes::Block::from(block)
        })
        .collect()
}

/// RC4 (§7.6.3.2 Algorithm 1 (e)); its own inverse.
fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for (i, &k) in (0..256).zip(key.iter().cycle()) {
        j = j.wrapping_add(s[i]).wrapping_add(k);
        s.swap(i, usize::from(j));
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|&b| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[usize::from(i)]);
            s.swap(usize::from(i), usize::from(j));
            let k = s[usize::from(s[usize::from(i)].wrapping_add(s[usize::from(j)]))];
            b ^ k
        })
        .collect()
}

fn xor_key(key: &[u8], i: u8) -> Vec<u8> {
    key.iter().map(|&b| b ^ i).collect()
}

/// Algorithm 2 (a): the password cut or padded to exactly 32 bytes.
fn pad_password(password: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (dst, src) in out.iter_mut().zip(password.iter().take(32).chain(&PASSWORD_PADDING)) {
        *dst = *src;
    }
    out
}

fn password_error(password: &[u8]) -> Error {
    Error::Encryption(if password.is_empty() { NEEDS_PASSWORD } else { WRONG_PASSWORD }.into())
}

fn required_int(d: &Dict, key: &str) -> Result<i64> {
    d.get_int(key).ok_or_else(|| Error::Encryption(format!("the /Encrypt dictionary has no integer /{key}")))
}

/// A string entry of at least `N` bytes; the first `N` count (longer values are tolerated, as
/// some writers pad `/U` and `/O`).
fn fixed_string<const N: usize>(d: &Dict, key: &str) -> Result<[u8; N]> {
    let s = d
        .get(key)
        .and_then(Object::as_str)
        .ok_or_else(|| Error::Encryption(format!("the /Encrypt dictionary has no string /{key}")))?;
    s.first_chunk::<N>().copied().ok_or_else(|| {
        Error::Encryption(format!("/{key} in the /Encrypt dictionary is {} bytes, expected {N}", s.len()))
    })
}

/// `/Length` of the crypt filter named by `/StmF` or else `/StrF` (§7.6.6, Table 25). It is
/// in bits, but some writers give bytes; as pdf.js does, values under 40 are taken as bytes.
fn crypt_filter_length(encrypt: &Dict) -> Option<i64> {
    let cf = match encrypt.get("CF")? {
        Object::Dict(cf) => cf,
        _ => return None,
    };
    ["StmF", "StrF"].iter().find_map(|key| {
        let name = encrypt.get_name(key)?;
        let length = cf.get(&String::from_utf8_lossy(name))?.as_dict()?.get_int("Length")?;
        Some(if length < 40 { length.saturating_mul(8) } else { length })
    })
}

/// An RC4 key length (§7.6.2, Table 20 `/Length`): 40 to 128 bits in steps of 8, default 40.
fn legacy_key_length(bits: Option<i64>) -> Result<usize> {
    let bits = bits.unwrap_or(40);
    if !(40..=128).contains(&bits) || bits % 8 != 0 {
        return Err(Error::Encryption(format!("/Length {bits} is not a valid RC4 key length")));
    }
    Ok((bits / 8) as usize)
}

/// The crypt filter named by `/StrF` or `/StmF` (§7.6.6): `/Identity` by default, otherwise an
/// entry of `/CF`.
fn crypt_filter_method<'a>(encrypt: &'a Dict, key: &str) -> Result<Option<&'a [u8]>> {
    let name = encrypt.get_name(key).unwrap_or(b"Identity");
    if name == b"Identity" {
        return Ok(None);
    }
    let filter = encrypt
        .get("CF")
        .and_then(|cf| match cf {
            Object::Dict(cf) => cf.get(&String::from_utf8_lossy(name)),
            _ => None,
        })
        .and_then(|f| match f {
            Object::Dict(f) => Some(f),
            _ => None,
        })
        .ok_or_else(|| {
            Error::Encryption(format!(
                "/{key} names the crypt filter /{}, which is not a dictionary in /CF",
                String::from_utf8_lossy(name)
            ))
        })?;
    Ok(match filter.get_name("CFM") {
        None | Some(b"None") => None,
        Some(m) => Some(m),
    })
}

fn legacy_filter(encrypt: &Dict, key: &str) -> Result<LegacyCipher> {
    match crypt_filter_method(encrypt, key)? {
        None => Ok(LegacyCipher::Identity),
        Some(b"V2") => Ok(LegacyCipher::Rc4),
        Some(b"AESV2") => Ok(LegacyCipher::Aes128),
        Some(m) => Err(unsupported_cfm(m, 4)),
    }
}

fn aes256_filter(encrypt: &Dict, key: &str) -> Result<bool> {
    match crypt_filter_method(encrypt, key)? {
        None => Ok(false),
        Some(b"AESV3") => Ok(true),
        Some(m) => Err(unsupported_cfm(m, 5)),
    }
}

fn unsupported_cfm(method: &[u8], v: i64) -> Error {
    Error::Encryption(format!(
        "the crypt filter method /CFM /{} is not supported with /V {v}",
        String::from_utf8_lossy(method)
    ))
}

fn is_xref_stream(obj: &Object) -> bool {
    matches!(obj, Object::Stream(s) if s.dict.is_name("Type", "XRef"))
}

/// A signature or document time-stamp dictionary (§12.8.1, Table 255), whose `/Contents` is
/// never encrypted (§7.6.2).
fn is_signature_dict(d: &Dict) -> bool {
    d.is_name("Type", "Sig") || d.is_name("Type", "DocTimeStamp") || (d.contains("ByteRange") && d.contains("Contents"))
}

/// Calls `f` on every string inside `obj`, skipping signature `/Contents`.
fn for_each_string<E>(
    obj: &mut Object,
    f: &mut impl FnMut(&mut Vec<u8>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    match obj {
        Object::String(s) => f(s),
        Object::Array(items) => items.iter_mut().try_for_each(|o| for_each_string(o, f)),
        Object::Dict(d) => dict_strings(d, f),
        Object::Stream(s) => dict_strings(&mut s.dict, f),
        _ => Ok(()),
    }
}

fn dict_strings<E>(
    d: &mut Dict,
    f: &mut impl FnMut(&mut Vec<u8>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let signature = is_signature_dict(d);
    for (k, v) in &mut d.0 {
        if signature && k.as_bytes() == b"Contents" && matches!(v, Object::String(_)) {
            continue;
        }
        for_each_string(v, f)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::lexer::{self, Parser};
    use crate::object::Stream;

    const TITLE: &[u8] = b"Signet crypt test (title)";
    const CONTENT: &[u8] = b"BT /F1 12 Tf 72 720 Td (Hello, encrypted world) Tj ET";
    const METADATA: &[u8] = b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'/>";

    impl SecurityHandler {
        fn file_key(&self) -> Vec<u8> {
            match &self.scheme {
                Scheme::Md5 { key, .. } => key.clone(),
                Scheme::Sha { key, .. } => key.to_vec(),
            }
        }
    }

    /// A one-page PDF with an /Info /Title, an unfiltered content stream and XMP metadata.
    fn plain_pdf() -> Vec<u8> {
        let content = format!("<< /Length {} >>\nstream\n", CONTENT.len());
        let metadata = format!("<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n", METADATA.len());
        let objects: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_vec(),
            [content.as_bytes(), CONTENT, b"\nendstream"].concat(),
            [b"<< /Title (".as_slice(), TITLE.strip_suffix(b"(title)").unwrap_or(TITLE), b"\\(title\\)) >>"].concat(),
            [metadata.as_bytes(), METADATA, b"\nendstream"].concat(),
        ];
        let mut pdf = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            pdf.extend_from_slice(body);
            pdf.extend_from_slice(b"\nendobj\n");
        }
        let xref = pdf.len();
        pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for off in offsets {
            pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        pdf.extend_from_slice(
            format!("trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
                .as_bytes(),
        );
        pdf
    }

    /// An encrypted document written by qpdf, taken apart with byte searches.
    struct Sample {
        dir: tempfile::TempDir,
        bytes: Vec<u8>,
        encrypt: Dict,
        id0: Vec<u8>,
        info: ObjRef,
    }

    impl Sample {
        /// `qpdf --encrypt <encrypt_args> --` on [`plain_pdf`], objects kept uncompressed.
        fn new(encrypt_args: &[&str]) -> Sample {
            let dir = tempfile::tempdir().unwrap();
            let input = dir.path().join("in.pdf");
            let output = dir.path().join("out.pdf");
            std::fs::write(&input, plain_pdf()).unwrap();
            let mut cmd = Command::new("qpdf");
            cmd.args(["--object-streams=disable", "--stream-data=preserve", "--allow-weak-crypto"]);
            cmd.arg("--encrypt").args(encrypt_args).arg("--").arg(&input).arg(&output);
            let status = cmd.status().expect("the tests need qpdf");
            assert!(matches!(status.code(), Some(0 | 3)), "qpdf failed: {status}");
            let bytes = std::fs::read(&output).unwrap();
            let at = find(&bytes, b"trailer").unwrap() + b"trailer".len();
            let trailer = lexer::parse_object(&bytes[at..]).unwrap();
            let trailer = trailer.as_dict().unwrap();
            let id0 = trailer.get("ID").unwrap().as_array().unwrap()[0].as_str().unwrap().to_vec();
            let info = trailer.get("Info").unwrap().as_ref().unwrap();
            let encrypt_ref = trailer.get("Encrypt").unwrap().as_ref().unwrap();
            let mut sample = Sample { dir, bytes, encrypt: Dict::new(), id0, info };
            sample.encrypt = sample.object(encrypt_ref).0.as_dict().unwrap().clone();
            sample
        }

        fn path(&self) -> std::path::PathBuf {
            self.dir.path().join("out.pdf")
        }

        /// Object `id` and, for a stream, its raw data.
        fn object(&self, id: ObjRef) -> (Object, Vec<u8>) {
            let header = format!("\n{} {} obj", id.num, id.generation);
            let at = find(&self.bytes, header.as_bytes()).unwrap() + 1;
            let mut parser = Parser::new(&self.bytes[at..], at as u64);
            let ind = parser.parse_indirect().unwrap();
            let data = match ind.stream_data_at {
                Some(start) => {
                    let len = ind.value.as_dict().unwrap().get_int("Length").unwrap() as usize;
                    self.bytes[at + start..at + start + len].to_vec()
                }
                None => Vec::new(),
            };
            (ind.value, data)
        }

        /// The first stream of `/Type` `ty`, or with no `/Type` (the page contents) for `None`.
        fn stream_with_type(&self, ty: Option<&str>) -> (ObjRef, Dict, Vec<u8>) {
            for num in 1..10 {
                let id = ObjRef::new(num, 0);
                if find(&self.bytes, format!("\n{num} 0 obj").as_bytes()).is_none() {
                    continue;
                }
                let (obj, data) = self.object(id);
                if let Object::Dict(d) = obj {
                    let matches = match ty {
                        Some(ty) => d.is_name("Type", ty),
                        None => !d.contains("Type") && d.contains("Length"),
                    };
                    if matches {
                        return (id, d, data);
                    }
                }
            }
            panic!("no stream of type {ty:?}");
        }

        fn open(&self, password: &str) -> Result<SecurityHandler> {
            SecurityHandler::open(&self.encrypt, &self.id0, password.as_bytes())
        }

        /// The file key as `qpdf --show-encryption-key` prints it.
        fn qpdf_key(&self, password: &str) -> Vec<u8> {
            let out = Command::new("qpdf")
                .arg("--show-encryption-key")
                .arg("--show-encryption")
                .arg(format!("--password={password}"))
                .arg(self.path())
                .output()
                .unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            let hex = text
                .lines()
                .find_map(|l| l.strip_prefix("Encryption key = "))
                .unwrap_or_else(|| panic!("no key in qpdf output: {text}"));
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
        }

        /// The checks every encryption method must pass.
        fn check(&self, user: &str, owner: &str, method: Method) {
            let by_user = self.open(user).unwrap();
            let by_owner = self.open(owner).unwrap();
            assert!(!by_user.is_owner());
            assert!(by_owner.is_owner());
            assert_eq!(by_user.method(), method);
            assert_eq!(by_user.file_key(), by_owner.file_key());
            assert_eq!(by_user.file_key(), self.qpdf_key(user), "file key differs from qpdf's");

            // the title, decrypted both directly and through decrypt_object
            let (mut info, _) = self.object(self.info);
            let raw = info.as_dict().unwrap().get("Title").unwrap().as_str().unwrap().to_vec();
            assert_ne!(raw, TITLE);
            assert_eq!(by_user.decrypt_string(self.info, &raw).unwrap(), TITLE);
            by_owner.decrypt_object(self.info, &mut info).unwrap();
            assert_eq!(info.as_dict().unwrap().get("Title").unwrap().as_str(), Some(TITLE));

            // the page contents
            let (id, dict, data) = self.stream_with_type(None);
            assert!(by_user.is_stream_encrypted(&dict));
            assert_eq!(by_user.decrypt_stream(id, &data).unwrap(), CONTENT);

            // a wrong password
            let err = self.open("not the password").unwrap_err();
            assert!(matches!(&err, Error::Encryption(m) if m == WRONG_PASSWORD), "{err}");

            // our own encryption, read back by us; for AES the IV is fresh each time
            let id = ObjRef::new(17, 2);
            let a = by_user.encrypt_string(id, TITLE);
            assert_eq!(by_owner.decrypt_string(id, &a).unwrap(), TITLE);
            if method != Method::Aes256 {
                // the object key depends on the object (Algorithm 1); AES-256 has none
                assert_ne!(by_owner.decrypt_string(ObjRef::new(18, 2), &a).unwrap(), TITLE);
            }
            if method != Method::Rc4 {
                assert_ne!(a, by_user.encrypt_string(id, TITLE));
            }
            let s = by_user.encrypt_stream(id, CONTENT);
            assert_eq!(by_user.decrypt_stream(id, &s).unwrap(), CONTENT);
            for len in [0, 1, 15, 16, 17, 32, 1000] {
                let data = vec![0xA5; len];
                assert_eq!(by_user.decrypt_stream(id, &by_user.encrypt_stream(id, &data)).unwrap(), data);
            }
        }

        /// Writes an updated /Info object encrypted by `handler` into a copy of the file as an
        /// incremental update and has qpdf read the title back.
        fn qpdf_reads_our_encryption(&self, handler: &SecurityHandler, password: &str) {
            let title = b"Rewritten by Signet";
            let mut info = Object::Dict(Dict::new().with("Title", Object::String(title.to_vec())));
            handler.encrypt_object(self.info, &mut info);
            let mut pdf = self.bytes.clone();
            let prev_at = find_last(&pdf, b"startxref").unwrap() + b"startxref".len();
            let prev: String = String::from_utf8_lossy(&pdf[prev_at..]).split_whitespace().next().unwrap().to_string();
            let at = pdf.len();
            pdf.extend_from_slice(format!("{} 0 obj\n", self.info.num).as_bytes());
            info.write_to(&mut pdf);
            pdf.extend_from_slice(b"\nendobj\n");
            let xref = pdf.len();
            let at_trailer = find(&self.bytes, b"trailer").unwrap() + b"trailer".len();
            let mut trailer = lexer::parse_object(&self.bytes[at_trailer..]).unwrap();
            if let Object::Dict(d) = &mut trailer {
                d.set("Prev", Object::Int(prev.parse().unwrap()));
            }
            pdf.extend_from_slice(format!("xref\n{} 1\n{at:010} 00000 n \ntrailer\n", self.info.num).as_bytes());
            trailer.write_to(&mut pdf);
            pdf.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
            let updated = self.dir.path().join("updated.pdf");
            std::fs::write(&updated, pdf).unwrap();
            let out = Command::new("qpdf")
                .arg(format!("--password={password}"))
                .arg(format!("--show-object={}", self.info.num))
                .arg(&updated)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("Rewritten by Signet"),
                "qpdf did not read our string: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).rposition(|w| w == needle)
    }

    #[test]
    fn aes256_revision_6() {
        let sample = Sample::new(&["user-6", "owner-6", "256"]);
        assert!(sample.encrypt.get_int("R") == Some(6));
        sample.check("user-6", "owner-6", Method::Aes256);
        sample.qpdf_reads_our_encryption(&sample.open("user-6").unwrap(), "user-6");
    }

    #[test]
    fn aes256_revision_5() {
        let sample = Sample::new(&["user-5", "owner-5", "256", "--force-R5"]);
        assert!(sample.encrypt.get_int("R") == Some(5));
        sample.check("user-5", "owner-5", Method::Aes256);
        sample.qpdf_reads_our_encryption(&sample.open("owner-5").unwrap(), "user-5");
    }

    #[test]
    fn aes128_revision_4() {
        let sample = Sample::new(&["user-4", "owner-4", "128", "--use-aes=y"]);
        assert!(sample.encrypt.get_int("R") == Some(4));
        sample.check("user-4", "owner-4", Method::Aes128);
        sample.qpdf_reads_our_encryption(&sample.open("user-4").unwrap(), "user-4");
    }

    #[test]
    fn rc4_128_revision_3() {
        let sample = Sample::new(&["user-3", "owner-3", "128", "--use-aes=n"]);
        assert!(sample.encrypt.get_int("R") == Some(3));
        sample.check("user-3", "owner-3", Method::Rc4);
        sample.qpdf_reads_our_encryption(&sample.open("owner-3").unwrap(), "user-3");
    }

    #[test]
    fn rc4_crypt_filter_revision_4() {
        let sample = Sample::new(&["user-4", "owner-4", "128", "--use-aes=n", "--force-V4"]);
        assert_eq!(sample.encrypt.get_int("V"), Some(4));
        sample.check("user-4", "owner-4", Method::Rc4);
    }

    #[test]
    fn rc4_40_revision_2() {
        let sample = Sample::new(&["user-2", "owner-2", "40"]);
        assert!(sample.encrypt.get_int("R") == Some(2));
        sample.check("user-2", "owner-2", Method::Rc4);
    }

    #[test]
    fn empty_user_password_opens_without_password() {
        for bits in [&["256"][..], &["128", "--use-aes=y"], &["128", "--use-aes=n"]] {
            let sample = Sample::new(&[&["", "the-owner"][..], bits].concat());
            let handler = sample.open("").unwrap();
            assert!(!handler.is_owner());
            assert_eq!(handler.file_key(), sample.qpdf_key(""));
            assert!(sample.open("the-owner").unwrap().is_owner());
            let err = sample.open("guess").unwrap_err();
            assert!(matches!(&err, Error::Encryption(m) if m == WRONG_PASSWORD), "{err}");
        }
    }

    #[test]
    fn missing_password_is_reported_as_such() {
        let sample = Sample::new(&["user", "owner", "256"]);
        let err = sample.open("").unwrap_err();
        assert!(matches!(&err, Error::Encryption(m) if m == NEEDS_PASSWORD), "{err}");
    }

    #[test]
    fn cleartext_metadata_revision_4() {
        // Algorithm 2 (f): the key depends on /EncryptMetadata false.
        let sample = Sample::new(&["u", "o", "128", "--use-aes=y", "--cleartext-metadata"]);
        assert_eq!(sample.encrypt.get("EncryptMetadata"), Some(&Object::Bool(false)));
        sample.check("u", "o", Method::Aes128);
        let handler = sample.open("u").unwrap();
        let (id, dict, data) = sample.stream_with_type(Some("Metadata"));
        assert!(!handler.is_stream_encrypted(&dict));
        assert_eq!(data, METADATA);
        let mut meta = Object::Stream(Stream::new(dict, METADATA.to_vec()));
        handler.encrypt_object(id, &mut meta);
        assert!(matches!(&meta, Object::Stream(s) if s.data == StreamData::Owned(METADATA.to_vec())));
    }

    #[test]
    fn cleartext_metadata_revision_6() {
        let sample = Sample::new(&["u", "o", "256", "--cleartext-metadata"]);
        sample.check("u", "o", Method::Aes256);
        let (_, dict, data) = sample.stream_with_type(Some("Metadata"));
        assert!(!sample.open("o").unwrap().is_stream_encrypted(&dict));
        assert_eq!(data, METADATA);
    }

    #[test]
    fn signature_contents_and_xref_streams_stay_plain() {
        let sample = Sample::new(&["u", "o", "128", "--use-aes=y"]);
        let handler = sample.open("u").unwrap();
        let id = ObjRef::new(40, 0);
        let contents = Object::String(vec![0x30, 0x82, 0, 0]);
        let mut sig = Object::Dict(
            Dict::new()
                .with("Type", Object::name("Sig"))
                .with("Contents", contents.clone())
                .with("M", Object::String(b"D:20250101000000Z".to_vec()))
                .with("ByteRange", vec![Object::Int(0), Object::Int(10)]),
        );
        handler.encrypt_object(id, &mut sig);
        let d = sig.as_dict().unwrap();
        assert_eq!(d.get("Contents"), Some(&contents));
        assert_ne!(d.get("M").unwrap().as_str(), Some(b"D:20250101000000Z".as_slice()));
        handler.decrypt_object(id, &mut sig).unwrap();
        assert_eq!(sig.as_dict().unwrap().get("M").unwrap().as_str(), Some(b"D:20250101000000Z".as_slice()));

        // a field's /V holding an untyped signature dictionary, nested in an array
        let mut field = Object::Array(vec![Object::Dict(
            Dict::new().with("ByteRange", vec![Object::Int(0)]).with("Contents", contents.clone()),
        )]);
        handler.encrypt_object(id, &mut field);
        assert_eq!(field.as_array().unwrap()[0].as_dict().unwrap().get("Contents"), Some(&contents));

        let xref_dict =
            Dict::new().with("Type", Object::name("XRef")).with("ID", vec![Object::String(b"abc".to_vec())]);
        let mut xref = Object::Stream(Stream::new(xref_dict, b"raw".to_vec()));
        let before = xref.clone();
        handler.encrypt_object(id, &mut xref);
        assert_eq!(xref, before);

        let mut stream =
            Object::Stream(Stream::new(Dict::new().with("S", Object::String(b"s".to_vec())), CONTENT.to_vec()));
        handler.encrypt_object(id, &mut stream);
        let Object::Stream(s) = &stream else { unreachable!() };
        let StreamData::Owned(data) = &s.data else { unreachable!() };
        assert_eq!(handler.decrypt_stream(id, data).unwrap(), CONTENT);
        handler.decrypt_object(id, &mut stream).unwrap();
        assert_eq!(stream.as_dict().unwrap().get("S").unwrap().as_str(), Some(b"s".as_slice()));
    }

    #[test]
    fn hostile_ciphertext_does_not_panic() {
        for args in [&["u", "o", "256"][..], &["u", "o", "128", "--use-aes=y"], &["u", "o", "40"]] {
            let handler = Sample::new(args).open("u").unwrap();
            let id = ObjRef::new(u32::MAX, u16::MAX);
            for len in 0..70 {
                let data: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
                let _ = handler.decrypt_string(id, &data).unwrap();
                let _ = handler.decrypt_stream(id, &data).unwrap();
            }
            // qpdf's leniency: no IV gives nothing; 24 bytes after the IV are zero-filled to two
            // blocks, of which at most one block of padding is removed, and only if it is
            // well-formed (which random plaintext sometimes is: no exact length to expect)
            if handler.method() != Method::Rc4 {
                assert!(handler.decrypt_string(id, &[1; 15]).unwrap().is_empty());
                let n = handler.decrypt_string(id, &[1; 40]).unwrap().len();
                assert!((16..=32).contains(&n), "{n}");
            }
        }
    }

    #[test]
    fn unsupported_handlers_are_named() {
        let pubsec = Dict::new().with("Filter", Object::name("Adobe.PubSec")).with("V", 4);
        let err = SecurityHandler::open(&pubsec, b"", b"").unwrap_err();
        assert!(err.to_string().contains("Adobe.PubSec"), "{err}");

        let sample = Sample::new(&["u", "o", "256"]);
        let mut encrypt = sample.encrypt.clone();
        encrypt.set("R", Object::Int(7));
        let err = SecurityHandler::open(&encrypt, &sample.id0, b"u").unwrap_err();
        assert!(err.to_string().contains("/R 7"), "{err}");

        let mut encrypt = sample.encrypt.clone();
        encrypt.set("U", Object::String(vec![0; 20]));
        assert!(SecurityHandler::open(&encrypt, &sample.id0, b"u").is_err());

        // identity crypt filters: nothing is encrypted
        let mut encrypt = sample.encrypt.clone();
        encrypt.set("StrF", Object::name("Identity"));
        encrypt.remove("StmF");
        let handler = SecurityHandler::open(&encrypt, &sample.id0, b"u").unwrap();
        assert_eq!(handler.encrypt_string(ObjRef::new(1, 0), b"x"), b"x");
        assert_eq!(handler.encrypt_stream(ObjRef::new(1, 0), b"x"), b"x");
    }

    #[test]
    fn rc4_known_answer() {
        // RFC 6229-style vector "Key" / "Plaintext" from the original RC4 test set
        assert_eq!(rc4(b"Key", b"Plaintext"), [0xBB, 0xF3, 0x16, 0xE8, 0xD9, 0x40, 0xAF, 0x0A, 0xD3]);
    }
}
