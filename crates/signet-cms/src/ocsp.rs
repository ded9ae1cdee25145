//! Online Certificate Status Protocol, client side (RFC 6960): `CertID`, requests, reading a
//! basic response from untrusted bytes, and checking who signed it (§4.2.2.2).

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use signet_crypto::asn1::{self, Tlv, tag};
use signet_crypto::{DigestAlgorithm, SignatureAlgorithm};

use crate::cert::CertView;
use crate::certpath::name_to_string;
use crate::crl::{RevocationReason, decode_reason, read_extensions};
use crate::error::Context;
use crate::tsp::sha1;
use crate::{Error, oid};

/// The hash of a [`CertId`] (RFC 6960 §4.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertIdHash {
    /// SHA-1: what every responder understands (RFC 5019 §2.1.1 requires it of lightweight
    /// responders). Here it only names a certificate; no signature depends on it.
    #[default]
    Sha1,
    /// SHA-256 (RFC 6960 §4.3 lets clients use other algorithms; not every responder does).
    Sha256,
}

/// `CertID` (RFC 6960 §4.1.1):
///
/// ```text
/// CertID ::= SEQUENCE {
///    hashAlgorithm   AlgorithmIdentifier,
///    issuerNameHash  OCTET STRING, -- Hash of issuer's DN
///    issuerKeyHash   OCTET STRING, -- Hash of issuer's public key
///    serialNumber    CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertId {
    /// hashAlgorithm OID (its parameters, absent or NULL, are not compared).
    pub hash_algorithm: ObjectIdentifier,
    /// Hash of the issuer's subject Name DER.
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's subjectPublicKey BIT STRING value (without tag, length and
    /// unused-bits octet).
    pub issuer_key_hash: Vec<u8>,
    /// serialNumber content octets.
    pub serial: Vec<u8>,
}

impl CertId {
    /// The `CertID` of `cert_der`, issued by `issuer_der`.
    pub fn new(cert_der: &[u8], issuer_der: &[u8], hash: CertIdHash) -> Result<Self, Error> {
        let cert = CertView::parse(cert_der).ctx("certificate")?;
        let issuer = CertView::parse(issuer_der).ctx("issuer certificate")?;
        if cert.issuer != issuer.subject {
            return Err(Error::Invalid(format!(
                "'{}' is not the issuer of '{}'",
                name_to_string(issuer.subject),
                name_to_string(cert.subject)
            )));
        }
        let key = issuer.subject_public_key().ctx("issuer certificate")?;
        let h = |data: &[u8]| match hash {
            CertIdHash::Sha1 => sha1(data),
            CertIdHash::Sha256 => DigestAlgorithm::Sha256.digest(data),
        };
        let hash_algorithm = match hash {
            CertIdHash::Sha1 => oid::SHA1,
            CertIdHash::Sha256 => DigestAlgorithm::Sha256.oid(),
        };
        Ok(Self {
            hash_algorithm,
            issuer_name_hash: h(issuer.subject),
            issuer_key_hash: h(key),
            serial: cert.serial_bytes().to_vec(),
        })
    }

    /// DER encoding. The SHA-1 `AlgorithmIdentifier` carries NULL parameters and SHA-256 none,
    /// as OpenSSL and most clients write them.
    pub fn to_der(&self) -> Vec<u8> {
        let mut alg = asn1::encode_oid(&self.hash_algorithm);
        if self.hash_algorithm == oid::SHA1 {
            alg.extend_from_slice(&[tag::NULL, 0]);
        }
        asn1::encode_parts(
            tag::SEQUENCE,
            &[
                &asn1::encode(tag::SEQUENCE, &alg),
                &asn1::encode(tag::OCTET_STRING, &self.issuer_name_hash),
                &asn1::encode(tag::OCTET_STRING, &self.issuer_key_hash),
                &asn1::encode(tag::INTEGER, &self.serial),
            ],
        )
    }

    fn parse(t: &Tlv<'_>) -> Result<Self, Error> {
        const W: &str = "CertID";
        let mut r = t.expect(tag::SEQUENCE).ctx(W)?.reader();
        let alg = r.read_expect(tag::SEQUENCE).ctx(W)?;
        let hash_algorithm = asn1::decode_oid(&alg.reader().read().ctx(W)?).ctx(W)?;
        let issuer_name_hash = r.read_expect(tag::OCTET_STRING).ctx(W)?.value.to_vec();
        let issuer_key_hash = r.read_expect(tag::OCTET_STRING).ctx(W)?.value.to_vec();
        let serial = r.read_expect(tag::INTEGER).ctx(W)?.value.to_vec();
        r.finish().ctx(W)?;
        Ok(Self { hash_algorithm, issuer_name_hash, issuer_key_hash, serial })
    }
}

/// Builds a DER `OCSPRequest` (RFC 6960 §4.1.1), unsigned, for `ids`, with a nonce extension
/// (§4.4.1, RFC 8954: the extnValue holds the nonce as a DER OCTET STRING) when given.
///
/// ```text
/// OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
/// TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
///    requestorName [1] EXPLICIT GeneralName OPTIONAL, requestList SEQUENCE OF Request,
///    requestExtensions [2] EXPLICIT Extensions OPTIONAL }
/// Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
/// ```
pub fn ocsp_request(ids: &[CertId], nonce: Option<&[u8]>) -> Vec<u8> {
    let requests: Vec<Vec<u8>> = ids.iter().map(|id| asn1::encode(tag::SEQUENCE, &id.to_der())).collect();
    let refs: Vec<&[u8]> = requests.iter().map(Vec::as_slice).collect();
    let mut tbs = asn1::encode_parts(tag::SEQUENCE, &refs);
    if let Some(n) = nonce {
        let ext = asn1::encode_parts(
            tag::SEQUENCE,
            &[
                &asn1::encode_oid(&oid::OCSP_NONCE),
                &asn1::encode(tag::OCTET_STRING, &asn1::encode(tag::OCTET_STRING, n)),
            ],
        );
        tbs.extend_from_slice(&asn1::encode(tag::CTX2, &asn1::encode(tag::SEQUENCE, &ext)));
    }
    asn1::encode(tag::SEQUENCE, &asn1::encode(tag::SEQUENCE, &tbs))
}

/// `ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }` (RFC 6960 §4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponderId {
    /// The responder's subject Name DER.
    ByName(Vec<u8>),
    /// SHA-1 of the responder's subjectPublicKey BIT STRING value.
    ByKey(Vec<u8>),
}

impl ResponderId {
    fn matches(&self, cert: &CertView<'_>) -> bool {
        match self {
            Self::ByName(name) => cert.subject == name.as_slice(),
            Self::ByKey(hash) => cert.subject_public_key().is_ok_and(|k| sha1(k) == *hash),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::ByName(name) => format!("'{}'", name_to_string(name)),
            Self::ByKey(hash) => format!("the key with SHA-1 hash {}", hex::encode(hash)),
        }
    }
}

/// `CertStatus` (RFC 6960 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertStatus {
    /// good: not revoked (which does not mean issued, §2.2).
    Good,
    /// revoked, with `RevokedInfo`.
    Revoked {
        /// revocationTime
        time: SystemTime,
        /// revocationReason, when given.
        reason: Option<RevocationReason>,
    },
    /// unknown: the responder does not know the certificate.
    Unknown,
}

/// `SingleResponse` (RFC 6960 §4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SingleResponse {
    /// certID
    pub cert_id: CertId,
    /// certStatus
    pub status: CertStatus,
    /// thisUpdate
    pub this_update: SystemTime,
    /// nextUpdate, when given.
    pub next_update: Option<SystemTime>,
}

/// A successful OCSP response of type id-pkix-ocsp-basic (RFC 6960 §4.2.1):
///
/// ```text
/// BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData,
///    signatureAlgorithm AlgorithmIdentifier, signature BIT STRING,
///    certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
///    responderID ResponderID, producedAt GeneralizedTime,
///    responses SEQUENCE OF SingleResponse,
///    responseExtensions [1] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OcspResponse {
    /// The whole `OCSPResponse`, as given (what a PDF DSS stores).
    pub der: Vec<u8>,
    /// The tbsResponseData element (what the responder signed).
    pub tbs_response_data: Vec<u8>,
    /// responderID
    pub responder_id: ResponderId,
    /// producedAt
    pub produced_at: SystemTime,
    /// responses
    pub responses: Vec<SingleResponse>,
    /// The nonce extension's value (§4.4.1), when present.
    pub nonce: Option<Vec<u8>>,
    /// Critical response or single-response extensions not understood here.
    pub unhandled_critical: Vec<ObjectIdentifier>,
    /// The signatureAlgorithm element.
    pub signature_algorithm: Vec<u8>,
    /// The signature bits.
    pub signature: Vec<u8>,
    /// certs (DER), e.g. a delegated responder's certificate.
    pub certs: Vec<Vec<u8>>,
}

/// `OCSPResponseStatus` names (RFC 6960 §4.2.1).
fn response_status_name(status: u64) -> &'static str {
    match status {
        0 => "successful",
        1 => "malformedRequest (illegal confirmation request)",
        2 => "internalError (internal error in issuer)",
        3 => "tryLater (try again later)",
        5 => "sigRequired (must sign the request)",
        6 => "unauthorized (request unauthorized)",
        _ => "an undefined status",
    }
}

impl OcspResponse {
    /// Reads a DER `OCSPResponse` (RFC 6960 §4.2.1) from untrusted bytes. A responseStatus
    /// other than successful, or a response type other than id-pkix-ocsp-basic, is an error
    /// naming it.
    pub fn parse(der: &[u8]) -> Result<Self, Error> {
        const W: &str = "OCSPResponse";
        let resp = asn1::parse_single(der).and_then(|t| t.expect(tag::SEQUENCE)).ctx(W)?;
        let mut r = resp.reader();
        let st = r.read_expect(0x0a).ctx("OCSPResponse responseStatus")?;
        let status = asn1::decode_small_uint(&Tlv { tag: tag::INTEGER, ..st }).ctx("OCSPResponse responseStatus")?;
        if status != 0 {
            return Err(Error::Invalid(format!(
                "the OCSP responder answered {} instead of successful",
                response_status_name(status)
            )));
        }
        let bytes = r
            .read_expect(tag::CTX0)
            .map_err(|_| Error::Invalid("successful OCSP response without responseBytes".into()))?;
        r.finish().ctx(W)?;
        let rb = asn1::parse_single(bytes.value).and_then(|t| t.expect(tag::SEQUENCE)).ctx("ResponseBytes")?;
        let mut br = rb.reader();
        let rtype = asn1::decode_oid(&br.read().ctx("ResponseBytes")?).ctx("ResponseBytes")?;
        if rtype != oid::OCSP_BASIC {
            return Err(Error::Invalid(format!("OCSP response type {rtype} is not id-pkix-ocsp-basic")));
        }
        let basic = br.read_expect(tag::OCTET_STRING).ctx("ResponseBytes")?;
        br.finish().ctx("ResponseBytes")?;

        const B: &str = "BasicOCSPResponse";
        let b = asn1::parse_single(basic.value).and_then(|t| t.expect(tag::SEQUENCE)).ctx(B)?;
        let mut b = b.reader();
        let tbs = b.read_expect(tag::SEQUENCE).ctx("ResponseData")?;
        let signature_algorithm = b.read_expect(tag::SEQUENCE).ctx(B)?.raw.to_vec();
        let sig = b.read_expect(tag::BIT_STRING).ctx(B)?;
        let signature = match sig.value.split_first() {
            Some((0, s)) => s.to_vec(),
            _ => return Err(Error::Invalid("OCSP signature BIT STRING has unused bits".into())),
        };
        let mut certs = Vec::new();
        if let Some(c) = b.read_optional(tag::CTX0).ctx("BasicOCSPResponse certs")? {
            let seq = asn1::parse_single(c.value).and_then(|s| s.expect(tag::SEQUENCE)).ctx("certs")?;
            let mut cr = seq.reader();
            while !cr.is_empty() {
                certs.push(cr.read_expect(tag::SEQUENCE).ctx("certs")?.raw.to_vec());
            }
        }
        b.finish().ctx(B)?;

        const D: &str = "ResponseData";
        let mut d = tbs.reader();
        if let Some(v) = d.read_optional(tag::CTX0).ctx(D)? {
            let v = asn1::decode_small_uint(&asn1::parse_single(v.value).ctx(D)?).ctx(D)?;
            if v != 0 {
                return Err(Error::Invalid(format!("OCSP ResponseData version {} is not v1", v + 1)));
            }
        }
        let rid = d.read().ctx("responderID")?;
        let responder_id = match rid.tag {
            tag::CTX1 => ResponderId::ByName(
                asn1::parse_single(rid.value).and_then(|n| n.expect(tag::SEQUENCE)).ctx("responderID")?.raw.to_vec(),
            ),
            tag::CTX2 => ResponderId::ByKey(
                asn1::parse_single(rid.value)
                    .and_then(|k| k.expect(tag::OCTET_STRING))
                    .ctx("responderID")?
                    .value
                    .to_vec(),
            ),
            other => return Err(Error::Invalid(format!("unknown OCSP responderID choice 0x{other:02x}"))),
        };
        let produced_at =
            asn1::decode_time(&d.read_expect(tag::GENERALIZED_TIME).ctx("producedAt")?).ctx("producedAt")?;
        let list = d.read_expect(tag::SEQUENCE).ctx("responses")?;
        let mut out = Self {
            der: der.to_vec(),
            tbs_response_data: tbs.raw.to_vec(),
            responder_id,
            produced_at,
            responses: Vec::new(),
            nonce: None,
            unhandled_critical: Vec::new(),
            signature_algorithm,
            signature,
            certs,
        };
        let mut lr = list.reader();
        while !lr.is_empty() {
            let single = out.parse_single_response(&lr.read_expect(tag::SEQUENCE).ctx("SingleResponse")?)?;
            out.responses.push(single);
        }
        if let Some(exts) = d.read_optional(tag::CTX1).ctx("responseExtensions")? {
            let seq = asn1::parse_single(exts.value).and_then(|s| s.expect(tag::SEQUENCE)).ctx("responseExtensions")?;
            for ext in read_extensions(seq.value, "responseExtensions")? {
                if ext.oid == oid::OCSP_NONCE {
                    // RFC 8954: an OCTET STRING inside extnValue; some responders put the bare
                    // octets there.
                    out.nonce = Some(match asn1::parse_single(ext.value) {
                        Ok(t) if t.tag == tag::OCTET_STRING => t.value.to_vec(),
                        _ => ext.value.to_vec(),
                    });
                } else if ext.critical {
                    out.unhandled_critical.push(ext.oid);
                }
            }
        }
        d.finish().ctx(D)?;
        Ok(out)
    }

    fn parse_single_response(&mut self, s: &Tlv<'_>) -> Result<SingleResponse, Error> {
        const W: &str = "SingleResponse";
        let mut r = s.reader();
        let cert_id = CertId::parse(&r.read().ctx(W)?)?;
        let st = r.read().ctx("certStatus")?;
        let status = match st.tag {
            // good [0] IMPLICIT NULL, unknown [2] IMPLICIT UnknownInfo (NULL)
            0x80 => CertStatus::Good,
            0x82 => CertStatus::Unknown,
            // revoked [1] IMPLICIT RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime,
            //     revocationReason [0] EXPLICIT CRLReason OPTIONAL }
            tag::CTX1 => {
                let mut ri = st.reader();
                let time =
                    asn1::decode_time(&ri.read_expect(tag::GENERALIZED_TIME).ctx("RevokedInfo")?).ctx("RevokedInfo")?;
                let reason = match ri.read_optional(tag::CTX0).ctx("RevokedInfo")? {
                    Some(x) => Some(
                        decode_reason(&asn1::parse_single(x.value).ctx("revocationReason")?).ctx("revocationReason")?,
                    ),
                    None => None,
                };
                ri.finish().ctx("RevokedInfo")?;
                CertStatus::Revoked { time, reason }
            }
            other => return Err(Error::Invalid(format!("unknown OCSP certStatus choice 0x{other:02x}"))),
        };
        let this_update =
            asn1::decode_time(&r.read_expect(tag::GENERALIZED_TIME).ctx("thisUpdate")?).ctx("thisUpdate")?;
        let next_update = match r.read_optional(tag::CTX0).ctx("nextUpdate")? {
            Some(n) => Some(asn1::decode_time(&asn1::parse_single(n.value).ctx("nextUpdate")?).ctx("nextUpdate")?),
            None => None,
        };
        if let Some(exts) = r.read_optional(tag::CTX1).ctx("singleExtensions")? {
            let seq = asn1::parse_single(exts.value).and_then(|s| s.expect(tag::SEQUENCE)).ctx("singleExtensions")?;
            for ext in read_extensions(seq.value, "singleExtensions")? {
                if ext.critical && !self.unhandled_critical.contains(&ext.oid) {
                    self.unhandled_critical.push(ext.oid);
                }
            }
        }
        r.finish().ctx(W)?;
        Ok(SingleResponse { cert_id, status, this_update, next_update })
    }

    /// Checks who signed the response (RFC 6960 §4.2.2.2, §3.2): either the certificate issuer
    /// `issuer_der` itself, or a delegated responder whose certificate is in [`Self::certs`],
    /// was issued (and signed) by that same issuer, carries id-kp-OCSPSigning in its extended
    /// key usage and is valid at `at`. The responderID must name the signer, and the signature
    /// over tbsResponseData must verify with its key. Returns the signer's certificate (DER).
    ///
    /// `at` is the current time for a fresh response, or its producedAt for past validation.
    /// Freshness of the statuses (thisUpdate/nextUpdate) is the caller's to judge.
    pub fn verify(&self, issuer_der: &[u8], at: SystemTime) -> Result<Vec<u8>, Error> {
        let issuer = CertView::parse(issuer_der).ctx("issuer certificate")?;
        let issuer_name = || name_to_string(issuer.subject);
        let signer = if self.responder_id.matches(&issuer) {
            issuer.clone()
        } else {
            let responder = self
                .certs
                .iter()
                .filter_map(|c| CertView::parse(c).ok())
                .find(|c| self.responder_id.matches(c))
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "the OCSP response is signed by {}, which is neither the issuer '{}' nor a responder \
                         certificate included in the response",
                        self.responder_id.describe(),
                        issuer_name()
                    ))
                })?;
            check_delegated(&responder, &issuer, at)?;
            responder
        };
        let alg = SignatureAlgorithm::from_algorithm_identifier(&self.signature_algorithm, None)?;
        match signet_crypto::verify_signature(signer.spki, &alg, &self.tbs_response_data, &self.signature) {
            Ok(()) => Ok(signer.raw.to_vec()),
            Err(signet_crypto::Error::BadSignature) => Err(Error::Invalid(format!(
                "the signature of the OCSP response by '{}' does not verify",
                name_to_string(signer.subject)
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The response about `id` (same hash algorithm, issuer hashes and serial), if any.
    pub fn status_for(&self, id: &CertId) -> Option<&SingleResponse> {
        self.responses.iter().find(|r| r.cert_id == *id)
    }
}

/// RFC 6960 §4.2.2.2: a delegated responder is issued directly by the CA and has
/// id-kp-OCSPSigning.
fn check_delegated(responder: &CertView<'_>, issuer: &CertView<'_>, at: SystemTime) -> Result<(), Error> {
    let who = name_to_string(responder.subject);
    let issuer_name = name_to_string(issuer.subject);
    let key_ids_differ = matches!(
        (responder.authority_key_id(), issuer.subject_key_id()),
        (Some(aki), Some(ski)) if aki != ski
    );
    if responder.issuer != issuer.subject || key_ids_differ {
        return Err(Error::Invalid(format!(
            "the OCSP responder '{who}' is not issued by '{issuer_name}', the issuer of the certificate asked about"
        )));
    }
    let alg = SignatureAlgorithm::from_algorithm_identifier(responder.signature_algorithm, None)?;
    signet_crypto::verify_signature(issuer.spki, &alg, responder.tbs, responder.signature).map_err(|e| {
        Error::Invalid(format!("the signature on the OCSP responder certificate '{who}' does not verify: {e}"))
    })?;
    if !responder.extended_key_usage().contains(&oid::KP_OCSP_SIGNING) {
        return Err(Error::Invalid(format!(
            "the OCSP responder certificate '{who}' lacks the extended key usage id-kp-OCSPSigning (RFC 6960 §4.2.2.2)"
        )));
    }
    let (not_before, not_after) = responder.validity().ctx("OCSP responder certificate validity")?;
    if at < not_before || at > not_after {
        return Err(Error::Invalid(format!("the OCSP responder certificate '{who}' is not valid at the time of use")));
    }
    Ok(())
}
