//! A signer with its certificate chain, loaded from PKCS#12 (RFC 7292) or PEM (RFC 7468).

use std::fmt;
use std::sync::Arc;

use crate::asn1::{self, tag};
use crate::{
    DigestAlgorithm, Error, KeyKind, Pkcs11Key, SignatureAlgorithm, Signer, SoftwareKey, certificate_spki,
    verify_signature,
};

/// A signing key with its certificate and chain.
#[derive(Clone)]
pub struct Identity {
    /// The key (software, token or remote).
    pub signer: Arc<dyn Signer>,
    /// The signer's certificate, DER.
    pub certificate: Vec<u8>,
    /// The other certificates, DER, from the signer's issuer upward (may include the root).
    pub chain: Vec<Vec<u8>>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("key_kind", &self.signer.key_kind())
            .field("certificate_len", &self.certificate.len())
            .field("chain_len", &self.chain.len())
            .finish()
    }
}

impl Identity {
    /// An identity from parts the caller has already matched (e.g. a PKCS#11 key and the
    /// certificate stored next to it on the token).
    pub fn new(signer: Arc<dyn Signer>, certificate: Vec<u8>, chain: Vec<Vec<u8>>) -> Self {
        Self { signer, certificate, chain }
    }

    /// The kind of key.
    pub fn key_kind(&self) -> KeyKind {
        self.signer.key_kind()
    }

    /// Pairs a software key with the certificate holding its public key among `certs`;
    /// the others go to `chain`, ordered from the signer's issuer upward, then any unrelated
    /// certificates in their original order.
    pub fn from_software_key(key: SoftwareKey, certs: Vec<Vec<u8>>) -> Result<Self, Error> {
        let mut signer_index = None;
        for (i, c) in certs.iter().enumerate() {
            let view = CertNames::parse(c)?;
            if view.public_key == key.public_key() {
                signer_index = Some(i);
                break;
            }
        }
        let Some(i) = signer_index else {
            return Err(if certs.is_empty() {
                Error::InvalidCertificate("no certificate given".into())
            } else {
                Error::KeyMismatch
            });
        };
        let mut rest = certs;
        let certificate = rest.remove(i);
        let chain = order_chain(&certificate, rest)?;
        Ok(Self::new(Arc::new(key), certificate, chain))
    }

    /// Pairs a token key with its certificate: the first of `certs`, then of the certificates
    /// stored with the key on the token ([`Pkcs11Key::token_certificates`]), whose public key
    /// verifies a signature the token makes now (this proves the pairing for any token,
    /// including those that do not show the public key). The other `certs` go to `chain`,
    /// ordered from the signer's issuer upward.
    pub fn from_pkcs11(key: Pkcs11Key, certs: Vec<Vec<u8>>) -> Result<Self, Error> {
        let on_token = key.token_certificates()?;
        if certs.is_empty() && on_token.is_empty() {
            return Err(Error::InvalidCertificate(format!(
                "no certificate given, and none on the token '{}' with the key's CKA_ID",
                key.token_label()
            )));
        }
        const PROBE: &[u8] = b"Signet: does this certificate hold the public key of this token key?";
        let scheme = key.key_kind().default_scheme();
        let probe = key.sign(scheme, DigestAlgorithm::Sha256, PROBE)?;
        let alg = SignatureAlgorithm::new(scheme, DigestAlgorithm::Sha256);
        let matches =
            |cert: &[u8]| certificate_spki(cert).is_ok_and(|spki| verify_signature(spki, &alg, PROBE, &probe).is_ok());
        let mut rest = certs;
        let certificate = if let Some(i) = rest.iter().position(|c| matches(c)) {
            rest.remove(i)
        } else if let Some(c) = on_token.into_iter().find(|c| matches(c)) {
            c
        } else {
            return Err(Error::KeyMismatch);
        };
        rest.retain(|c| *c != certificate);
        let chain = order_chain(&certificate, rest)?;
        Ok(Self::new(Arc::new(key), certificate, chain))
    }

    /// Loads a PKCS#12 file (RFC 7292): OpenSSL 3 default (PBES2/AES-256-CBC, HMAC-SHA-256)
    /// and `-legacy` (RC2-40 / 3DES, HMAC-SHA-1) files. The first private key is used; its
    /// certificate is the one with the matching public key.
    pub fn from_pkcs12(bytes: &[u8], password: &str) -> Result<Self, Error> {
        let (pkcs8, certs) = pkcs12_parts(bytes, password)?;
        Self::from_software_key(SoftwareKey::from_pkcs8_der(&pkcs8)?, certs)
    }

    /// Loads a PEM private key and certificates.
    ///
    /// `key_pem`: "PRIVATE KEY" (PKCS#8, RFC 5958), "ENCRYPTED PRIVATE KEY" (PKCS#8 with
    /// PBES2, RFC 8018 §6.2; needs `key_password`), "RSA PRIVATE KEY" (PKCS#1) or
    /// "EC PRIVATE KEY" (SEC1, RFC 5915). `cert_pem` may hold the chain too; `chain_pem` adds
    /// more. The certificate whose public key matches the key is the signer's.
    pub fn from_pem(
        key_pem: &[u8],
        key_password: Option<&[u8]>,
        cert_pem: &[u8],
        chain_pem: Option<&[u8]>,
    ) -> Result<Self, Error> {
        let blocks = pem_blocks(key_pem)?;
        let (label, der) = blocks
            .into_iter()
            .find(|(l, _)| l.ends_with("PRIVATE KEY"))
            .ok_or_else(|| Error::InvalidKey("no PRIVATE KEY block in the key file".into()))?;
        let key = match label.as_str() {
            "PRIVATE KEY" => SoftwareKey::from_pkcs8_der(&der)?,
            "RSA PRIVATE KEY" => SoftwareKey::from_pkcs1_der(&der)?,
            "EC PRIVATE KEY" => SoftwareKey::from_sec1_der(&der)?,
            "ENCRYPTED PRIVATE KEY" => {
                let password = key_password
                    .ok_or_else(|| Error::InvalidKey("the private key is encrypted: a password is needed".into()))?;
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
                    .map_err(|e| Error::InvalidKey(format!("encrypted PKCS#8: {e}")))?;
                let plain = info
                    .decrypt(password)
                    .map_err(|_| Error::InvalidKey("wrong key password or corrupt encrypted key".into()))?;
                SoftwareKey::from_pkcs8_der(plain.as_bytes())?
            }
            other => {
                return Err(Error::InvalidKey(format!("unsupported PEM label '{other}'")));
            }
        };
        let mut certs: Vec<Vec<u8>> =
            pem_blocks(cert_pem)?.into_iter().filter(|(l, _)| l == "CERTIFICATE").map(|(_, d)| d).collect();
        if let Some(chain) = chain_pem {
            certs.extend(pem_blocks(chain)?.into_iter().filter(|(l, _)| l == "CERTIFICATE").map(|(_, d)| d));
        }
        // The same certificate may appear in both files.
        let mut seen = Vec::new();
        certs.retain(|c| {
            if seen.contains(c) {
                false
            } else {
                seen.push(c.clone());
                true
            }
        });
        Self::from_software_key(key, certs)
    }
}

/// Orders `rest` from `leaf`'s issuer upward (by subject/issuer name bytes), then appends
/// whatever does not belong to the path.
fn order_chain(leaf: &[u8], mut rest: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::with_capacity(rest.len());
    let mut current = CertNames::parse(leaf)?.into_owned();
    while !rest.is_empty() {
        if current.0 == current.1 {
            break; // self-issued: reached a root
        }
        let mut found = None;
        for (i, c) in rest.iter().enumerate() {
            if CertNames::parse(c)?.subject == current.1.as_slice() {
                found = Some(i);
                break;
            }
        }
        let Some(i) = found else { break };
        let next = rest.remove(i);
        current = CertNames::parse(&next)?.into_owned();
        out.push(next);
    }
    out.extend(rest);
    Ok(out)
}

/// Name and key fields of a certificate, as raw DER slices (RFC 5280 §4.1).
struct CertNames<'a> {
    issuer: &'a [u8],
    subject: &'a [u8],
    public_key: &'a [u8],
}

impl<'a> CertNames<'a> {
    fn parse(der: &'a [u8]) -> Result<Self, Error> {
        let bad = |e: asn1::DerError| Error::InvalidCertificate(e.to_string());
        let cert = asn1::parse_single(der).and_then(|t| t.expect(tag::SEQUENCE)).map_err(bad)?;
        let tbs = cert.reader().read_expect(tag::SEQUENCE).map_err(bad)?;
        let mut r = tbs.reader();
        r.read_optional(tag::CTX0).map_err(bad)?;
        r.read_expect(tag::INTEGER).map_err(bad)?;
        r.read_expect(tag::SEQUENCE).map_err(bad)?;
        let issuer = r.read_expect(tag::SEQUENCE).map_err(bad)?.raw;
        r.read_expect(tag::SEQUENCE).map_err(bad)?;
        let subject = r.read_expect(tag::SEQUENCE).map_err(bad)?.raw;
        let spki = r.read_expect(tag::SEQUENCE).map_err(bad)?;
        let mut sr = spki.reader();
        sr.read_expect(tag::SEQUENCE).map_err(bad)?;
        let bits = sr.read_expect(tag::BIT_STRING).map_err(bad)?;
        let public_key = match bits.value.split_first() {
            Some((0, k)) => k,
            _ => {
                return Err(Error::InvalidCertificate("malformed subjectPublicKey".into()));
            }
        };
        Ok(Self { issuer, subject, public_key })
    }

    fn into_owned(self) -> (Vec<u8>, Vec<u8>) {
        (self.subject.to_vec(), self.issuer.to_vec())
    }
}

/// Every PEM block in `input` as (label, DER), in order (RFC 7468 §2; text between blocks,
/// such as OpenSSL's "Bag Attributes", is ignored).
/// The certificates in a PEM file (every `CERTIFICATE` block), or a single DER certificate.
pub fn certificates_from_pem_or_der(input: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    if input.first() == Some(&0x30) {
        return Ok(vec![input.to_vec()]);
    }
    let certs: Vec<Vec<u8>> =
        pem_blocks(input)?.into_iter().filter(|(label, _)| label == "CERTIFICATE").map(|(_, der)| der).collect();
    if certs.is_empty() {
        return Err(Error::InvalidCertificate("no CERTIFICATE block found".into()));
    }
    Ok(certs)
}

fn pem_blocks(input: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Error> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(start) = find(&input[pos..], BEGIN).map(|i| i + pos) {
        let label_start = start + BEGIN.len();
        let label_end = find(&input[label_start..], b"-----")
            .map(|i| i + label_start)
            .ok_or_else(|| Error::InvalidKey("unterminated PEM header".into()))?;
        let label = &input[label_start..label_end];
        let mut end_marker = b"-----END ".to_vec();
        end_marker.extend_from_slice(label);
        end_marker.extend_from_slice(b"-----");
        let end = find(&input[label_end..], &end_marker)
            .map(|i| i + label_end + end_marker.len())
            .ok_or_else(|| Error::InvalidKey("PEM block without its END line".into()))?;
        let (label, der) =
            der::pem::decode_vec(&input[start..end]).map_err(|e| Error::InvalidKey(format!("malformed PEM: {e}")))?;
        out.push((label.to_string(), der));
        pos = end;
    }
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first private key (PKCS#8 DER) and every certificate of a PKCS#12 file (RFC 7292):
/// OpenSSL 3 default and `-legacy` files. For storing an imported key elsewhere (a
/// keystore); [`Identity::from_pkcs12`] to sign with it directly.
pub fn pkcs12_parts(bytes: &[u8], password: &str) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
    use p12_keystore::error::Error as P12;
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password).map_err(|e| match e {
        P12::MacError(_) | P12::UnpadError | P12::Pkcs5Error(_) => Error::WrongPassword,
        other => Error::InvalidKey(format!("PKCS#12: {other}")),
    })?;
    let bag = archive.keys.first().ok_or_else(|| Error::InvalidKey("PKCS#12 file holds no private key".into()))?;
    let certs = archive.certs.iter().map(|c| c.cert.as_der().to_vec()).collect();
    Ok((bag.key.as_der().to_vec(), certs))
}
