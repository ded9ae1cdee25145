//! An OCSP responder (RFC 6960) for one certification authority, signing with a delegated
//! responder certificate (§4.2.2.2) or the CA's own key.
//!
//! [`OcspResponder::respond`] turns the bytes of an `OCSPRequest` (§4.1.1), from a POST body or
//! a GET path ([`OcspResponder::respond_get`], App. A.1), into the bytes of an `OCSPResponse`
//! (§4.2.1). It never fails and never panics on hostile input: what cannot be read is answered
//! `malformedRequest`. Statuses come from a [`StatusSource`], the CA's database.
//!
//! Choices, each where the RFC leaves one:
//! - **Validity.** `thisUpdate` is the time of the answer (the status is read live, not from a
//!   CRL) and `nextUpdate` is [`DEFAULT_VALIDITY`] (one hour) later, configurable with
//!   [`OcspResponder::with_validity`]. Answers without a nonce are cached until `nextUpdate`
//!   (RFC 5019 §2.2.1 allows it; a revocation therefore shows within one validity period, or
//!   at once after [`OcspResponder::clear_cache`]). Answers to requests with a nonce are always
//!   fresh, and never cached.
//! - **Issuers not served.** A request naming any other issuer (by name and key hash, with
//!   SHA-1, SHA-256, SHA-384 or SHA-512) gets `unauthorized` (§2.3; RFC 5019 §2.2.3: the
//!   responder "cannot respond authoritatively"). A signed `unknown` (§2.2) would carry a
//!   delegated responder's signature on a certificate of another CA, which a client checking
//!   §4.2.2.2 rejects anyway; `unauthorized` tells it to ask elsewhere. Serial numbers of the
//!   served CA that it does not know are `unknown`.
//! - **Nonce** (§4.4.1, RFC 8954 §2.1): echoed in `responseExtensions`; a nonce that is empty
//!   or longer than 32 octets gets `malformedRequest`.
//! - **Extensions.** Unknown non-critical extensions are ignored (§4.4); an unknown critical
//!   one gets `malformedRequest`. A request signature (`optionalSignature`) is not checked:
//!   anyone may ask.
//! - **Response.** `responderID` byKey (§4.2.1: SHA-1 of the responder's public key), the
//!   responder's certificate in `certs`, signed with SHA-256 (SHA-384 for a P-384 key).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_lc_rs::digest as hash;
use const_oid::ObjectIdentifier;
use signet_cms::{CertView, oid};
use signet_crypto::asn1::{self, DerError, tag};
use signet_crypto::{DigestAlgorithm, Identity, KeyKind, SignatureAlgorithm, SignatureScheme};

/// How long an answer is valid when nothing else is configured: one hour.
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(3600);

/// Most `Request`s accepted in one `OCSPRequest`; RFC 5019 clients send one.
const MAX_REQUESTS: usize = 32;
/// Most answers kept in the cache; past it, expired ones are dropped, then all.
const MAX_CACHE_ENTRIES: usize = 4096;
/// Longest nonce accepted (RFC 8954 §2.1).
const MAX_NONCE_LEN: usize = 32;

/// The status of one certificate (RFC 6960 §2.2, `CertStatus` of §4.2.1): the type the
/// OCSP reader uses too.
pub use signet_cms::ocsp::CertStatus;

/// `CRLReason` (RFC 5280 §5.3.1), as in `RevokedInfo.revocationReason`: the CA's own type.
pub use crate::crl::RevocationReason;

/// Where the responder reads certificate statuses: the CA's database.
///
/// Any `Fn(&[u8]) -> CertStatus + Send + Sync` is one.
pub trait StatusSource: Send + Sync {
    /// The status of the served CA's certificate with this serial number: the content octets
    /// of its `CertificateSerialNumber` INTEGER, as the certificate encodes them (big-endian
    /// two's complement, minimal).
    fn status(&self, serial: &[u8]) -> CertStatus;

    /// A value that changes whenever a status may have changed (a revocation), so cached
    /// answers given before it are not served after it. Sources that never change keep the
    /// default.
    fn revision(&self) -> u64 {
        0
    }
}

impl<F> StatusSource for F
where
    F: Fn(&[u8]) -> CertStatus + Send + Sync,
{
    fn status(&self, serial: &[u8]) -> CertStatus {
        self(serial)
    }
}

/// `OCSPResponseStatus` (RFC 6960 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseStatus {
    /// successful (0): the response holds a signed `BasicOCSPResponse`.
    Successful,
    /// malformedRequest (1)
    MalformedRequest,
    /// internalError (2)
    InternalError,
    /// tryLater (3)
    TryLater,
    /// sigRequired (5)
    SigRequired,
    /// unauthorized (6)
    Unauthorized,
}

impl ResponseStatus {
    /// The ENUMERATED value.
    pub fn code(self) -> u8 {
        match self {
            Self::Successful => 0,
            Self::MalformedRequest => 1,
            Self::InternalError => 2,
            Self::TryLater => 3,
            Self::SigRequired => 5,
            Self::Unauthorized => 6,
        }
    }

    /// The unsigned `OCSPResponse` with this status and no `responseBytes` (§4.2.1: only
    /// successful responses carry them).
    pub fn unsigned_response(self) -> Vec<u8> {
        asn1::encode(tag::SEQUENCE, &asn1::encode(ENUMERATED, &[self.code()]))
    }
}

/// Why a responder could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum OcspError {
    /// A certificate given to the responder is not DER X.509.
    MalformedCertificate {
        /// Which certificate.
        which: &'static str,
        /// The DER problem.
        source: DerError,
    },
    /// The responder's certificate is neither the CA's nor a delegated OCSP signing
    /// certificate issued by it (RFC 6960 §4.2.2.2).
    NotAuthorized(String),
}

impl fmt::Display for OcspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedCertificate { which, source } => write!(f, "malformed {which} certificate: {source}"),
            Self::NotAuthorized(why) => write!(f, "the OCSP responder certificate cannot sign for this CA: {why}"),
        }
    }
}

impl std::error::Error for OcspError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MalformedCertificate { source, .. } => Some(source),
            Self::NotAuthorized(_) => None,
        }
    }
}

/// An `OCSPResponse` and what a transport needs to know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspReply {
    /// The DER `OCSPResponse` (content type `application/ocsp-response`).
    pub der: Vec<u8>,
    /// Its `responseStatus`.
    pub status: ResponseStatus,
    /// `nextUpdate` of its answers, for HTTP caching (RFC 5019 §6.2); `None` unless
    /// successful.
    pub next_update: Option<SystemTime>,
    /// Why the request was refused, for the log (the client only sees the status).
    pub refusal: Option<String>,
}

impl OcspReply {
    fn unsigned(status: ResponseStatus, refusal: impl Into<String>) -> Self {
        Self { der: status.unsigned_response(), status, next_update: None, refusal: Some(refusal.into()) }
    }
}

/// The name and key hashes of the served CA for one `CertID.hashAlgorithm` (§4.1.1).
#[derive(Debug)]
struct IssuerHashes {
    algorithm: ObjectIdentifier,
    name_hash: Vec<u8>,
    key_hash: Vec<u8>,
}

#[derive(Debug)]
struct CachedReply {
    der: Vec<u8>,
    next_update: SystemTime,
    /// [`StatusSource::revision`] when the answer was made.
    revision: u64,
}

/// An OCSP responder for one CA.
pub struct OcspResponder {
    identity: Identity,
    issuer: Vec<IssuerHashes>,
    /// `ResponderID` byKey, encoded.
    responder_id: Vec<u8>,
    scheme: SignatureScheme,
    digest: DigestAlgorithm,
    status: Arc<dyn StatusSource>,
    validity: Duration,
    cache: Mutex<HashMap<Vec<u8>, CachedReply>>,
}

impl fmt::Debug for OcspResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspResponder")
            .field("identity", &self.identity)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl OcspResponder {
    /// A responder for the CA whose certificate is `issuer_certificate` (DER), signing with
    /// `identity`: the CA itself, or a delegated responder whose certificate the CA signed and
    /// which carries id-kp-OCSPSigning (RFC 6960 §4.2.2.2; it should also carry
    /// id-pkix-ocsp-nocheck, §4.2.2.2.1, which is the CA's business when issuing it).
    pub fn new(
        identity: Identity,
        issuer_certificate: &[u8],
        status: Arc<dyn StatusSource>,
    ) -> Result<Self, OcspError> {
        let malformed = |which| move |source| OcspError::MalformedCertificate { which, source };
        let issuer = CertView::parse(issuer_certificate).map_err(malformed("issuer"))?;
        let responder = CertView::parse(&identity.certificate).map_err(malformed("responder"))?;
        if identity.certificate != issuer_certificate {
            check_delegation(&responder, &issuer)?;
        }
        let issuer_key = issuer.subject_public_key().map_err(malformed("issuer"))?;
        let issuer_hashes = cert_id_hashes()
            .into_iter()
            .map(|(algorithm, h)| IssuerHashes {
                algorithm,
                name_hash: hash::digest(h, issuer.subject).as_ref().to_vec(),
                key_hash: hash::digest(h, issuer_key).as_ref().to_vec(),
            })
            .collect();
        let responder_key = responder.subject_public_key().map_err(malformed("responder"))?;
        let key_hash = hash::digest(&hash::SHA1_FOR_LEGACY_USE_ONLY, responder_key);
        let responder_id = asn1::encode(tag::CTX2, &asn1::encode(tag::OCTET_STRING, key_hash.as_ref()));
        let kind = identity.key_kind();
        let digest = if kind == KeyKind::EcP384 { DigestAlgorithm::Sha384 } else { DigestAlgorithm::Sha256 };
        Ok(Self {
            scheme: kind.default_scheme(),
            digest,
            identity,
            issuer: issuer_hashes,
            responder_id,
            status,
            validity: DEFAULT_VALIDITY,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Sets how long answers are valid (`nextUpdate - thisUpdate`) and cached. Zero means no
    /// `nextUpdate` (§2.4: "newer information is always available") and no cache.
    pub fn with_validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }

    /// Forgets every cached answer: call it after a revocation so it shows at once.
    pub fn clear_cache(&self) {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Answers a DER `OCSPRequest` (the body of a POST, RFC 6960 App. A.1) now.
    pub fn respond(&self, request: &[u8]) -> OcspReply {
        self.respond_at(request, SystemTime::now())
    }

    /// Answers a GET request: `encoded` is the path after `/ocsp/`, the base64 of the DER
    /// request, possibly percent-encoded (RFC 6960 App. A.1); see [`decode_get_request`].
    pub fn respond_get(&self, encoded: &str) -> OcspReply {
        match decode_get_request(encoded) {
            Some(der) => self.respond(&der),
            None => OcspReply::unsigned(ResponseStatus::MalformedRequest, "GET path is not base64"),
        }
    }

    /// [`respond`](Self::respond) as of `now`.
    pub fn respond_at(&self, request: &[u8], now: SystemTime) -> OcspReply {
        let request = match parse_request(request) {
            Ok(r) => r,
            Err(e) => return OcspReply::unsigned(ResponseStatus::MalformedRequest, e.to_string()),
        };
        if !request.cert_ids.iter().all(|id| self.serves(id)) {
            return OcspReply::unsigned(ResponseStatus::Unauthorized, "a CertID names an issuer not served here");
        }
        let cache_key: Option<Vec<u8>> =
            (request.nonce.is_none() && !self.validity.is_zero()).then(|| request.cert_ids.concat_raw());
        let revision = self.status.revision();
        if let Some(key) = &cache_key {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(hit) = cache.get(key).filter(|c| now < c.next_update && c.revision == revision) {
                return OcspReply {
                    der: hit.der.clone(),
                    status: ResponseStatus::Successful,
                    next_update: Some(hit.next_update),
                    refusal: None,
                };
            }
        }
        // Whole seconds: GeneralizedTime here carries no fraction, and nextUpdate must be what
        // the response says.
        let now = whole_seconds(now);
        let next_update = (!self.validity.is_zero()).then(|| now + self.validity);
        let der = match self.basic_response(&request, now, next_update) {
            Ok(der) => der,
            Err(e) => return OcspReply::unsigned(ResponseStatus::InternalError, format!("signing failed: {e}")),
        };
        if let (Some(key), Some(next)) = (cache_key, next_update) {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.retain(|_, c| now < c.next_update);
                if cache.len() >= MAX_CACHE_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(key, CachedReply { der: der.clone(), next_update: next, revision });
        }
        OcspReply { der, status: ResponseStatus::Successful, next_update, refusal: None }
    }

    /// Whether `id` names the served CA (§4.1.1: issuerNameHash over the issuer's DN DER,
    /// issuerKeyHash over its subjectPublicKey bits).
    fn serves(&self, id: &CertId<'_>) -> bool {
        self.issuer
            .iter()
            .any(|h| h.algorithm == id.hash_algorithm && h.name_hash == id.name_hash && h.key_hash == id.key_hash)
    }

    /// The successful `OCSPResponse` with a signed `BasicOCSPResponse` (§4.2.1).
    fn basic_response(
        &self,
        request: &Request<'_>,
        now: SystemTime,
        next_update: Option<SystemTime>,
    ) -> Result<Vec<u8>, signet_crypto::Error> {
        let time = asn1::encode_generalized_time(now, false);
        let next = next_update.map(|t| asn1::encode(tag::CTX0, &asn1::encode_generalized_time(t, false)));
        let mut responses = Vec::new();
        for id in &request.cert_ids.0 {
            let status = match self.status.status(id.serial) {
                CertStatus::Good => vec![tag::CTX0_PRIM, 0],
                CertStatus::Revoked { time, reason } => {
                    let reason = reason
                        .map(|r| asn1::encode(tag::CTX0, &asn1::encode(ENUMERATED, &[crate::crl::reason_octet(r)])))
                        .unwrap_or_default();
                    asn1::encode_parts(tag::CTX1, &[&asn1::encode_generalized_time(time, false), &reason])
                }
                // unknown, and anything a later status type adds: never "good" (§2.2)
                _ => vec![0x82, 0],
            };
            let single = asn1::encode_parts(tag::SEQUENCE, &[id.raw, &status, &time, next.as_deref().unwrap_or(&[])]);
            responses.extend_from_slice(&single);
        }
        let extensions = match request.nonce {
            Some(nonce) => {
                let ext = asn1::encode_parts(
                    tag::SEQUENCE,
                    &[&asn1::encode_oid(&oid::OCSP_NONCE), &asn1::encode(tag::OCTET_STRING, nonce)],
                );
                asn1::encode(tag::CTX1, &asn1::encode(tag::SEQUENCE, &ext))
            }
            None => Vec::new(),
        };
        let tbs = asn1::encode_parts(
            tag::SEQUENCE,
            &[&self.responder_id, &time, &asn1::encode(tag::SEQUENCE, &responses), &extensions],
        );
        let signature = self.identity.signer.sign(self.scheme, self.digest, &tbs)?;
        let mut bits = Vec::with_capacity(signature.len() + 1);
        bits.push(0);
        bits.extend_from_slice(&signature);
        let certs = asn1::encode(tag::CTX0, &asn1::encode(tag::SEQUENCE, &self.identity.certificate));
        let basic = asn1::encode_parts(
            tag::SEQUENCE,
            &[
                &tbs,
                &SignatureAlgorithm::new(self.scheme, self.digest).to_algorithm_identifier(),
                &asn1::encode(tag::BIT_STRING, &bits),
                &certs,
            ],
        );
        let response_bytes = asn1::encode_parts(
            tag::SEQUENCE,
            &[&asn1::encode_oid(&oid::OCSP_BASIC), &asn1::encode(tag::OCTET_STRING, &basic)],
        );
        Ok(asn1::encode_parts(
            tag::SEQUENCE,
            &[&asn1::encode(ENUMERATED, &[0]), &asn1::encode(tag::CTX0, &response_bytes)],
        ))
    }
}

/// ENUMERATED (X.690 §8.4).
const ENUMERATED: u8 = 0x0a;

/// The `CertID.hashAlgorithm`s accepted, with their digests.
fn cert_id_hashes() -> [(ObjectIdentifier, &'static hash::Algorithm); 4] {
    [
        (oid::SHA1, &hash::SHA1_FOR_LEGACY_USE_ONLY),
        (DigestAlgorithm::Sha256.oid(), &hash::SHA256),
        (DigestAlgorithm::Sha384.oid(), &hash::SHA384),
        (DigestAlgorithm::Sha512.oid(), &hash::SHA512),
    ]
}

/// RFC 6960 §4.2.2.2: a delegated responder's certificate is issued directly by the CA and
/// carries id-kp-OCSPSigning.
fn check_delegation(responder: &CertView<'_>, issuer: &CertView<'_>) -> Result<(), OcspError> {
    if responder.issuer != issuer.subject {
        return Err(OcspError::NotAuthorized("it was not issued by the CA (issuer name differs)".into()));
    }
    let alg = SignatureAlgorithm::from_algorithm_identifier(responder.signature_algorithm, None)
        .map_err(|e| OcspError::NotAuthorized(format!("its signature algorithm: {e}")))?;
    signet_crypto::verify_signature(issuer.spki, &alg, responder.tbs, responder.signature)
        .map_err(|_| OcspError::NotAuthorized("the CA's key did not sign it".into()))?;
    if !responder.extended_key_usage().contains(&oid::KP_OCSP_SIGNING) {
        return Err(OcspError::NotAuthorized("it lacks the extended key usage id-kp-OCSPSigning".into()));
    }
    Ok(())
}

use signet_crypto::asn1::whole_seconds;

/// One `CertID` of a request (§4.1.1), borrowed from it.
#[derive(Debug)]
struct CertId<'a> {
    /// The whole element, echoed in the `SingleResponse`.
    raw: &'a [u8],
    hash_algorithm: ObjectIdentifier,
    name_hash: &'a [u8],
    key_hash: &'a [u8],
    /// Content octets of serialNumber.
    serial: &'a [u8],
}

#[derive(Debug)]
struct CertIds<'a>(Vec<CertId<'a>>);

impl<'a> CertIds<'a> {
    fn iter(&self) -> impl Iterator<Item = &CertId<'a>> {
        self.0.iter()
    }

    /// The cache key: the CertIDs' exact bytes, in order.
    fn concat_raw(&self) -> Vec<u8> {
        self.0.iter().flat_map(|id| id.raw.iter().copied()).collect()
    }
}

/// What the responder needs of an `OCSPRequest`.
#[derive(Debug)]
struct Request<'a> {
    cert_ids: CertIds<'a>,
    /// The nonce extension's `extnValue` contents: the DER `Nonce` OCTET STRING (RFC 8954).
    nonce: Option<&'a [u8]>,
}

/// Why a request was refused; all are `malformedRequest` on the wire.
#[derive(Debug)]
enum RequestError {
    Der(DerError),
    Invalid(&'static str),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Der(e) => write!(f, "malformed OCSPRequest: {e}"),
            Self::Invalid(why) => write!(f, "invalid OCSPRequest: {why}"),
        }
    }
}

impl From<DerError> for RequestError {
    fn from(e: DerError) -> Self {
        Self::Der(e)
    }
}

/// Reads an `OCSPRequest` (RFC 6960 §4.1.1):
///
/// ```text
/// OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
/// TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT GeneralName OPTIONAL,
///                           requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
/// Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
/// ```
fn parse_request(der: &[u8]) -> Result<Request<'_>, RequestError> {
    let outer = asn1::parse_single(der)?.expect(tag::SEQUENCE)?;
    let mut r = outer.reader();
    let tbs = r.read_expect(tag::SEQUENCE)?;
    r.read_optional(tag::CTX0)?; // optionalSignature: not checked
    r.finish()?;
    let mut t = tbs.reader();
    if let Some(v) = t.read_optional(tag::CTX0)? {
        if asn1::decode_small_uint(&asn1::parse_single(v.value)?)? != 0 {
            return Err(RequestError::Invalid("version other than v1"));
        }
    }
    t.read_optional(tag::CTX1)?; // requestorName
    let list = t.read_expect(tag::SEQUENCE)?;
    let mut nonce = None;
    if let Some(exts) = t.read_optional(tag::CTX2)? {
        for ext in extensions(exts.value)? {
            if ext.oid == oid::OCSP_NONCE {
                let n = asn1::parse_single(ext.value)?.expect(tag::OCTET_STRING)?;
                if n.value.is_empty() || n.value.len() > MAX_NONCE_LEN {
                    return Err(RequestError::Invalid("nonce length outside 1..=32 octets"));
                }
                nonce = Some(ext.value);
            } else if ext.critical {
                return Err(RequestError::Invalid("unknown critical request extension"));
            }
        }
    }
    t.finish()?;
    let mut ids = Vec::new();
    let mut l = list.reader();
    while !l.is_empty() {
        if ids.len() == MAX_REQUESTS {
            return Err(RequestError::Invalid("too many certificates in one request"));
        }
        let req = l.read_expect(tag::SEQUENCE)?;
        let mut q = req.reader();
        ids.push(parse_cert_id(q.read_expect(tag::SEQUENCE)?.raw)?);
        if let Some(exts) = q.read_optional(tag::CTX0)? {
            if extensions(exts.value)?.iter().any(|e| e.critical) {
                return Err(RequestError::Invalid("unknown critical single request extension"));
            }
        }
        q.finish()?;
    }
    if ids.is_empty() {
        return Err(RequestError::Invalid("empty requestList"));
    }
    Ok(Request { cert_ids: CertIds(ids), nonce })
}

/// `CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
/// issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }` (§4.1.1).
fn parse_cert_id(raw: &[u8]) -> Result<CertId<'_>, RequestError> {
    let mut r = asn1::parse_single(raw)?.reader();
    let alg = r.read_expect(tag::SEQUENCE)?;
    let mut a = alg.reader();
    let hash_algorithm = asn1::decode_oid(&a.read()?)?;
    if let Some(p) = a.read_optional(tag::NULL)? {
        if !p.value.is_empty() {
            return Err(RequestError::Invalid("hash algorithm parameters"));
        }
    }
    a.finish()?;
    let name_hash = r.read_expect(tag::OCTET_STRING)?.value;
    let key_hash = r.read_expect(tag::OCTET_STRING)?.value;
    let serial = r.read_expect(tag::INTEGER)?.value;
    r.finish()?;
    if serial.is_empty() {
        return Err(RequestError::Invalid("empty serial number"));
    }
    Ok(CertId { raw, hash_algorithm, name_hash, key_hash, serial })
}

/// One `Extension` (RFC 5280 §4.1) of a request.
struct RequestExtension<'a> {
    oid: ObjectIdentifier,
    critical: bool,
    /// The `extnValue` contents.
    value: &'a [u8],
}

/// `Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension` (RFC 5280 §4.1), from the contents of
/// its explicit tag.
fn extensions(explicit: &[u8]) -> Result<Vec<RequestExtension<'_>>, DerError> {
    let seq = asn1::parse_single(explicit)?.expect(tag::SEQUENCE)?;
    let mut r = seq.reader();
    let mut out = Vec::new();
    while !r.is_empty() {
        let ext = r.read_expect(tag::SEQUENCE)?;
        let mut x = ext.reader();
        let id = asn1::decode_oid(&x.read()?)?;
        let critical = x.read_optional(tag::BOOLEAN)?.is_some_and(|b| b.value.first().is_some_and(|v| *v != 0));
        let value = x.read_expect(tag::OCTET_STRING)?.value;
        x.finish()?;
        out.push(RequestExtension { oid: id, critical, value });
    }
    Ok(out)
}

/// Decodes the last path element of an OCSP GET (RFC 6960 App. A.1: "the URL-encoding of the
/// base64 encoding of the DER encoding of the OCSPRequest"): percent-decoding, then base64
/// with the standard or the URL-safe alphabet (RFC 4648 §4, §5), padding optional. `None` when
/// it is not that.
pub fn decode_get_request(encoded: &str) -> Option<Vec<u8>> {
    let text = percent_decode(encoded.as_bytes())?;
    let text = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(&text);
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // 6 leftover bits cannot end a base64 text; 2 or 4 must be zero.
    (bits < 6 && acc == 0 && !out.is_empty()).then_some(out)
}

fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            let s = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(s, 16).ok()?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn get_request_decoding() {
        assert_eq!(decode_get_request("MAMCAQA=").unwrap(), [0x30, 3, 2, 1, 0]);
        assert_eq!(decode_get_request("MAMCAQA%3D").unwrap(), [0x30, 3, 2, 1, 0]);
        assert_eq!(decode_get_request("MAMCAQA").unwrap(), [0x30, 3, 2, 1, 0]);
        assert_eq!(decode_get_request("-_8%2B").unwrap(), [0xfb, 0xff, 0x3e]);
        assert_eq!(decode_get_request("%2b%2F8-").unwrap(), [0xfb, 0xff, 0x3e]);
        for bad in ["", "M", "MA*", "%", "%G0", "MAMCAQB", "=="] {
            assert!(decode_get_request(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn unsigned_responses() {
        assert_eq!(ResponseStatus::MalformedRequest.unsigned_response(), [0x30, 3, 0x0a, 1, 1]);
        assert_eq!(ResponseStatus::Unauthorized.unsigned_response(), [0x30, 3, 0x0a, 1, 6]);
    }

    #[test]
    fn hostile_requests_are_malformed() {
        let empty_list = asn1::encode(tag::SEQUENCE, &asn1::encode(tag::SEQUENCE, &asn1::encode(tag::SEQUENCE, &[])));
        for bad in [&[][..], &[0x30], &[0x30, 0x80, 0, 0], &[0x30, 0], &empty_list] {
            assert!(parse_request(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reasons_round_trip() {
        for code in 0..=11 {
            assert_eq!(RevocationReason::from_code(code).code(), code);
        }
    }
}
