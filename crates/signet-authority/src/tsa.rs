//! A time-stamping authority (RFC 3161, with the ESSCertIDv2 of RFC 5816).
//!
//! [`TimestampAuthority::respond`] turns the bytes of a `TimeStampReq` (§2.4.1) into the bytes
//! of a `TimeStampResp` (§2.4.2). It never fails and never panics on hostile input: what it
//! refuses is answered with status rejection and a `failInfo`:
//!
//! - not a DER `TimeStampReq`, or a `messageImprint` whose length is not its algorithm's:
//!   badDataFormat; a version other than v1: badRequest;
//! - a digest other than SHA-256, SHA-384 or SHA-512 (SHA-1 and MD5 are weak): badAlg;
//! - a `reqPolicy` other than the TSA's policy: unacceptedPolicy;
//! - any extension: unacceptedExtension. RFC 3161 §2.4.1 asks this for every extension the
//!   TSA does not recognise, critical or not, and this TSA recognises none;
//! - a failure to sign: systemFailure.
//!
//! The token is a CMS `SignedData` (RFC 5652, version 3) encapsulating the DER `TSTInfo`
//! (eContentType id-ct-TSTInfo), signed with signed attributes content-type, message-digest and
//! signing-certificate-v2 (RFC 5816 §2.2.1). Its `certificates` hold the TSA's certificate and
//! chain when the request has `certReq`, and are absent otherwise (§2.4.1: "MUST not be
//! present").
//!
//! `TSTInfo` (§2.4.2): the configured policy; the request's `messageImprint` and `nonce` as
//! they were sent; a serial number unique across restarts without any stored counter (48 bits
//! of milliseconds since 1970, then 64 random bits: 14 octets, positive, within the 160 bits
//! §2.4.2 allows); `genTime` with milliseconds; the configured accuracy (default one second);
//! `ordering` false (absent, its DEFAULT: serials are not in time order within a
//! millisecond); the TSA name only if asked for ([`TimestampAuthority::with_tsa_name`]).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::ObjectIdentifier;
use signet_cms::{CertView, EncapsulatedContent, oid};
use signet_crypto::asn1::{self, DerError, tag};
use signet_crypto::{DigestAlgorithm, Identity, KeyKind, SignatureScheme};

/// The accuracy of `genTime` when nothing else is configured: one second.
pub const DEFAULT_ACCURACY: Duration = Duration::from_secs(1);

/// Longest `nonce` INTEGER accepted, in octets (RFC 3161 sets no limit; 64-bit nonces are
/// usual).
const MAX_NONCE_LEN: usize = 64;

/// `PKIFailureInfo` bits (RFC 3161 §2.4.2) this TSA sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureInfo {
    /// badAlg (0): unrecognized or unsupported algorithm identifier.
    BadAlg,
    /// badRequest (2): transaction not permitted or supported.
    BadRequest,
    /// badDataFormat (5): the data submitted has the wrong format.
    BadDataFormat,
    /// unacceptedPolicy (15): the requested TSA policy is not supported.
    UnacceptedPolicy,
    /// unacceptedExtension (16): the requested extension is not supported.
    UnacceptedExtension,
    /// systemFailure (25): the request cannot be handled due to system failure.
    SystemFailure,
}

impl FailureInfo {
    /// The bit number in `PKIFailureInfo`.
    pub fn bit(self) -> u8 {
        match self {
            Self::BadAlg => 0,
            Self::BadRequest => 2,
            Self::BadDataFormat => 5,
            Self::UnacceptedPolicy => 15,
            Self::UnacceptedExtension => 16,
            Self::SystemFailure => 25,
        }
    }

    /// The DER BIT STRING with this one bit set (X.690 §11.2.2: trailing zero bits removed).
    fn encode(self) -> Vec<u8> {
        let bit = usize::from(self.bit());
        let mut content = vec![0u8; bit / 8 + 2];
        content[0] = 7 - (bit % 8) as u8;
        content[1 + bit / 8] = 0x80 >> (bit % 8);
        asn1::encode(tag::BIT_STRING, &content)
    }
}

/// A refused request: the failure and a sentence for `statusString` and the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The `failInfo` bit.
    pub failure: FailureInfo,
    /// What was wrong, in words (sent as `statusString`).
    pub reason: String,
}

impl Refusal {
    fn new(failure: FailureInfo, reason: impl Into<String>) -> Self {
        Self { failure, reason: reason.into() }
    }

    /// The `TimeStampResp` with status rejection (2), this text and this failure (§2.4.2).
    fn response(&self) -> Vec<u8> {
        let text = asn1::encode(tag::SEQUENCE, &asn1::encode(UTF8_STRING, self.reason.as_bytes()));
        let status = asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_small_uint(2), &text, &self.failure.encode()]);
        asn1::encode(tag::SEQUENCE, &status)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.failure, self.reason)
    }
}

impl From<DerError> for Refusal {
    fn from(e: DerError) -> Self {
        Self::new(FailureInfo::BadDataFormat, format!("malformed TimeStampReq: {e}"))
    }
}

/// A `TimeStampResp` and whether it holds a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampReply {
    /// The DER `TimeStampResp` (content type `application/timestamp-reply`).
    pub der: Vec<u8>,
    /// `None` when granted; why not otherwise.
    pub refusal: Option<Refusal>,
}

/// Why a TSA could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum TsaError {
    /// The TSA certificate is not DER X.509.
    MalformedCertificate(DerError),
    /// The TSA certificate breaks RFC 3161 §2.3: its extended key usage must be present,
    /// critical, and hold id-kp-timeStamping only.
    NotATimestampingCertificate(&'static str),
}

impl fmt::Display for TsaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedCertificate(e) => write!(f, "malformed TSA certificate: {e}"),
            Self::NotATimestampingCertificate(why) => {
                write!(f, "the TSA certificate cannot sign time-stamps (RFC 3161 §2.3): {why}")
            }
        }
    }
}

impl std::error::Error for TsaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MalformedCertificate(e) => Some(e),
            Self::NotATimestampingCertificate(_) => None,
        }
    }
}

/// A time-stamping authority: a key and certificate, a policy, an accuracy.
#[derive(Debug)]
pub struct TimestampAuthority {
    identity: Identity,
    policy: ObjectIdentifier,
    accuracy: Duration,
    /// `tsa [0] GeneralName` (a directoryName of the certificate's subject), when included.
    tsa_name: Option<Vec<u8>>,
    scheme: SignatureScheme,
    digest: DigestAlgorithm,
}

impl TimestampAuthority {
    /// A TSA signing with `identity` under the policy `policy` (`TSAPolicyId`, §2.4.2).
    /// The certificate must be a time-stamping one (§2.3).
    pub fn new(identity: Identity, policy: ObjectIdentifier) -> Result<Self, TsaError> {
        let cert = CertView::parse(&identity.certificate).map_err(TsaError::MalformedCertificate)?;
        let eku = cert
            .extension(&oid::EXT_KEY_USAGE)
            .ok_or(TsaError::NotATimestampingCertificate("no extended key usage"))?;
        if !eku.critical {
            return Err(TsaError::NotATimestampingCertificate("the extended key usage is not critical"));
        }
        if cert.extended_key_usage() != [oid::KP_TIME_STAMPING] {
            return Err(TsaError::NotATimestampingCertificate(
                "the extended key usage is not exactly id-kp-timeStamping",
            ));
        }
        let kind = identity.key_kind();
        let digest = if kind == KeyKind::EcP384 { DigestAlgorithm::Sha384 } else { DigestAlgorithm::Sha256 };
        Ok(Self { scheme: kind.default_scheme(), digest, identity, policy, accuracy: DEFAULT_ACCURACY, tsa_name: None })
    }

    /// Sets the accuracy claimed for `genTime` (§2.4.2 `Accuracy`, to the microsecond); zero
    /// leaves it out.
    pub fn with_accuracy(mut self, accuracy: Duration) -> Self {
        self.accuracy = accuracy;
        self
    }

    /// Whether `TSTInfo.tsa` names the TSA (its certificate's subject as a directoryName).
    pub fn with_tsa_name(mut self, include: bool) -> Self {
        self.tsa_name = include
            .then(|| CertView::parse(&self.identity.certificate).ok())
            .flatten()
            .map(|c| asn1::encode(tag::CTX0, &asn1::encode(tag::CTX4, c.subject)));
        self
    }

    /// The policy of every token.
    pub fn policy(&self) -> ObjectIdentifier {
        self.policy
    }

    /// Answers a DER `TimeStampReq` (the body of an `application/timestamp-query` POST,
    /// RFC 3161 §3.4) now.
    pub fn respond(&self, request: &[u8]) -> TimestampReply {
        self.respond_at(request, SystemTime::now())
    }

    /// [`respond`](Self::respond) with `genTime` = `now`.
    pub fn respond_at(&self, request: &[u8], now: SystemTime) -> TimestampReply {
        match self.token(request, now) {
            Ok(token) => {
                let granted = asn1::encode(tag::SEQUENCE, &asn1::encode_small_uint(0));
                TimestampReply { der: asn1::encode_parts(tag::SEQUENCE, &[&granted, &token]), refusal: None }
            }
            Err(refusal) => TimestampReply { der: refusal.response(), refusal: Some(refusal) },
        }
    }

    /// The `TimeStampToken` (a `ContentInfo`) for `request`.
    fn token(&self, request: &[u8], now: SystemTime) -> Result<Vec<u8>, Refusal> {
        let req = parse_request(request)?;
        if req.policy.is_some_and(|p| p != self.policy) {
            return Err(Refusal::new(
                FailureInfo::UnacceptedPolicy,
                format!("this TSA only uses policy {}", self.policy),
            ));
        }
        let system = |what: &str| {
            let what = what.to_owned();
            move |e: signet_crypto::Error| Refusal::new(FailureInfo::SystemFailure, format!("{what}: {e}"))
        };
        let serial = serial_number(now).map_err(system("serial number"))?;
        let tst_info = asn1::encode_parts(
            tag::SEQUENCE,
            &[
                &asn1::encode_small_uint(1),
                &asn1::encode_oid(&self.policy),
                req.message_imprint,
                &serial,
                &asn1::encode_generalized_time(now, true),
                &encode_accuracy(self.accuracy),
                req.nonce.unwrap_or_default(),
                self.tsa_name.as_deref().unwrap_or_default(),
            ],
        );
        let certificate = &self.identity.certificate;
        let attrs =
            signet_cms::signed_attributes_for(&oid::TST_INFO, certificate, self.digest, &self.digest.digest(&tst_info))
                .map_err(|e| Refusal::new(FailureInfo::SystemFailure, format!("signed attributes: {e}")))?;
        let signature =
            self.identity.signer.sign(self.scheme, self.digest, &attrs).map_err(system("signing the token"))?;
        let mut certificates: Vec<&[u8]> = Vec::new();
        if req.cert_req {
            certificates.push(certificate);
            certificates.extend(self.identity.chain.iter().map(Vec::as_slice));
        }
        let content = EncapsulatedContent { content_type: oid::TST_INFO, content: Some(&tst_info) };
        signet_cms::assemble_signed_data_with(
            &content,
            certificate,
            &certificates,
            self.digest,
            self.scheme,
            &attrs,
            &signature,
        )
        .map_err(|e| Refusal::new(FailureInfo::SystemFailure, format!("assembling the token: {e}")))
    }
}

/// UTF8String (X.690 §8.23).
const UTF8_STRING: u8 = 0x0c;

/// What the TSA uses of a `TimeStampReq`.
#[derive(Debug)]
struct TimeStampReq<'a> {
    /// The whole `MessageImprint` element, echoed in `TSTInfo`.
    message_imprint: &'a [u8],
    policy: Option<ObjectIdentifier>,
    /// The whole `nonce` INTEGER element.
    nonce: Option<&'a [u8]>,
    cert_req: bool,
}

/// Reads a `TimeStampReq` (RFC 3161 §2.4.1):
///
/// ```text
/// TimeStampReq ::= SEQUENCE { version INTEGER { v1(1) }, messageImprint MessageImprint,
///     reqPolicy TSAPolicyId OPTIONAL, nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE,
///     extensions [0] IMPLICIT Extensions OPTIONAL }
/// MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
/// ```
fn parse_request(der: &[u8]) -> Result<TimeStampReq<'_>, Refusal> {
    let seq = asn1::parse_single(der)?.expect(tag::SEQUENCE)?;
    let mut r = seq.reader();
    if asn1::decode_small_uint(&r.read()?)? != 1 {
        return Err(Refusal::new(FailureInfo::BadRequest, "only TimeStampReq version 1 is supported"));
    }
    let imprint = r.read_expect(tag::SEQUENCE)?;
    let mut m = imprint.reader();
    let alg = m.read_expect(tag::SEQUENCE)?;
    let mut a = alg.reader();
    let alg_oid = asn1::decode_oid(&a.read()?)?;
    if let Some(p) = a.read_optional(tag::NULL)? {
        if !p.value.is_empty() {
            return Err(Refusal::new(FailureInfo::BadDataFormat, "malformed hash algorithm parameters"));
        }
    }
    a.finish()?;
    let hashed = m.read_expect(tag::OCTET_STRING)?.value;
    m.finish()?;
    let digest = DigestAlgorithm::from_oid(&alg_oid).map_err(|_| {
        let name = match alg_oid {
            oid::SHA1 => "SHA-1".to_owned(),
            signet_crypto::oid::MD5 => "MD5".to_owned(),
            other => other.to_string(),
        };
        Refusal::new(FailureInfo::BadAlg, format!("{name} is not accepted: use SHA-256, SHA-384 or SHA-512"))
    })?;
    if hashed.len() != digest.output_len() {
        return Err(Refusal::new(
            FailureInfo::BadDataFormat,
            format!("the {digest} message imprint is {} octets, not {}", hashed.len(), digest.output_len()),
        ));
    }
    let policy = match r.read_optional(tag::OID)? {
        Some(p) => Some(asn1::decode_oid(&p)?),
        None => None,
    };
    let nonce = match r.read_optional(tag::INTEGER)? {
        Some(n) if n.value.is_empty() || n.value.len() > MAX_NONCE_LEN => {
            return Err(Refusal::new(FailureInfo::BadDataFormat, "nonce longer than 64 octets or empty"));
        }
        Some(n) => Some(n.raw),
        None => None,
    };
    let cert_req = match r.read_optional(tag::BOOLEAN)? {
        Some(b) if b.value.len() == 1 => b.value[0] != 0,
        Some(_) => return Err(Refusal::new(FailureInfo::BadDataFormat, "malformed certReq")),
        None => false,
    };
    if r.read_optional(tag::CTX0)?.is_some() {
        return Err(Refusal::new(FailureInfo::UnacceptedExtension, "this TSA supports no request extension"));
    }
    r.finish()?;
    Ok(TimeStampReq { message_imprint: imprint.raw, policy, nonce, cert_req })
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL,
/// micros [1] INTEGER (1..999) OPTIONAL }` (§2.4.2), zero fields left out; nothing for zero.
fn encode_accuracy(accuracy: Duration) -> Vec<u8> {
    if accuracy.as_micros() == 0 {
        return Vec::new();
    }
    let secs = accuracy.as_secs();
    let millis = u64::from(accuracy.subsec_millis());
    let micros = u64::from(accuracy.subsec_micros() % 1000);
    let mut parts = Vec::new();
    if secs > 0 {
        parts.push(asn1::encode_small_uint(secs));
    }
    // [0] and [1] IMPLICIT INTEGER: the INTEGER's content octets under a context tag.
    for (value, ctx) in [(millis, tag::CTX0_PRIM), (micros, 0x81)] {
        if value > 0 {
            let int = asn1::encode_small_uint(value);
            parts.push(asn1::encode(ctx, &int[2..]));
        }
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    asn1::encode_parts(tag::SEQUENCE, &refs)
}

/// A serial number unique across restarts with no stored state: milliseconds since 1970 in 48
/// bits, then 64 random bits, as a DER INTEGER. The first octet is non-zero with its high bit
/// clear (from 2005 to the year 6429), so the 14 octets are a minimal positive encoding.
fn serial_number(now: SystemTime) -> Result<Vec<u8>, signet_crypto::Error> {
    let millis = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let mut content = [0u8; 14];
    content[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    aws_lc_rs::rand::fill(&mut content[6..])
        .map_err(|_| signet_crypto::Error::SigningFailed("the random generator failed".into()))?;
    if content[0] == 0 || content[0] & 0x80 != 0 {
        // A clock before 2005 or after 6429: fall back to 1 and the random bits.
        content[0] = 0x01;
    }
    Ok(asn1::encode(tag::INTEGER, &content))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn failure_info_bits() {
        assert_eq!(FailureInfo::BadAlg.encode(), [0x03, 0x02, 0x07, 0x80]);
        assert_eq!(FailureInfo::BadDataFormat.encode(), [0x03, 0x02, 0x02, 0x04]);
        assert_eq!(FailureInfo::UnacceptedPolicy.encode(), [0x03, 0x03, 0x00, 0x00, 0x01]);
        assert_eq!(FailureInfo::UnacceptedExtension.encode(), [0x03, 0x04, 0x07, 0x00, 0x00, 0x80]);
        assert_eq!(FailureInfo::SystemFailure.encode(), [0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40]);
    }

    #[test]
    fn accuracy_encoding() {
        assert_eq!(encode_accuracy(Duration::ZERO), Vec::<u8>::new());
        assert_eq!(encode_accuracy(Duration::from_secs(1)), [0x30, 0x03, 0x02, 0x01, 0x01]);
        assert_eq!(
            encode_accuracy(Duration::from_micros(1_500_250)),
            [0x30, 0x0b, 0x02, 0x01, 0x01, 0x80, 0x02, 0x01, 0xf4, 0x81, 0x02, 0x00, 0xfa]
        );
    }

    #[test]
    fn serials_are_positive_and_distinct() {
        let now = SystemTime::now();
        let a = serial_number(now).unwrap();
        let b = serial_number(now).unwrap();
        assert_ne!(a, b);
        let tlv = asn1::parse_single(&a).unwrap();
        assert_eq!(tlv.value.len(), 14);
        assert!(tlv.value[0] != 0 && tlv.value[0] & 0x80 == 0);
    }
}
