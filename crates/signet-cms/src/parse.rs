//! Reading a CMS `SignedData` (RFC 5652 §5) from untrusted bytes, and verifying it.

use const_oid::ObjectIdentifier;
use signet_crypto::asn1::{self, DerReader, Tlv, tag};
use signet_crypto::{DigestAlgorithm, SignatureAlgorithm};

use crate::cert::CertView;
use crate::error::Context;
use crate::{Error, oid};

/// An attribute: type and the DER of each value (RFC 5652 §5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// attrType
    pub oid: ObjectIdentifier,
    /// Each AttributeValue, DER.
    pub values: Vec<Vec<u8>>,
}

/// The first `ESSCertIDv2` of a signing-certificate-v2 attribute (RFC 5035 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EssCertIdV2 {
    /// hashAlgorithm (SHA-256 when absent, its DEFAULT).
    pub hash_algorithm: ObjectIdentifier,
    /// certHash
    pub cert_hash: Vec<u8>,
}

/// A parsed `ContentInfo` holding a `SignedData` with (at least) one `SignerInfo`; the first
/// signer is described.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ParsedSignedData {
    /// Length of the DER `ContentInfo`; what followed it (PDF `/Contents` zero padding) was
    /// ignored.
    pub der_len: usize,
    /// `encapContentInfo.eContentType` (id-data for PAdES, id-ct-TSTInfo for RFC 3161 tokens).
    pub content_type: ObjectIdentifier,
    /// `eContent` octets, when encapsulated (timestamp tokens); `None` when detached.
    pub econtent: Option<Vec<u8>>,
    /// `SignerInfo.digestAlgorithm` OID.
    pub digest_algorithm_oid: ObjectIdentifier,
    /// Signed attributes re-encoded as the DER SET (0x31) that was signed (RFC 5652 §5.4): the
    /// exact input bytes with the `[0]` tag replaced. `None` when absent.
    pub signed_attributes: Option<Vec<u8>>,
    /// Every signed attribute.
    pub signed_attribute_list: Vec<Attribute>,
    /// message-digest attribute value (RFC 5652 §11.2).
    pub message_digest: Option<Vec<u8>>,
    /// content-type attribute value (RFC 5652 §11.1).
    pub content_type_attribute: Option<ObjectIdentifier>,
    /// Whether a signing-time attribute is present (PAdES baseline forbids it,
    /// ETSI EN 319 142-1 §6.3).
    pub has_signing_time: bool,
    /// signing-certificate-v2 (RFC 5035), first ESSCertIDv2.
    pub signing_certificate_v2: Option<EssCertIdV2>,
    /// Whether an ESS signing-certificate (v1, SHA-1, RFC 2634 §5.4) attribute is present.
    pub has_signing_certificate_v1: bool,
    /// `SignerInfo.signatureAlgorithm`, DER `AlgorithmIdentifier`.
    pub signature_algorithm_der: Vec<u8>,
    /// `SignerInfo.signature` octets.
    pub signature: Vec<u8>,
    /// The certificate matching `SignerInfo.sid` (issuerAndSerialNumber or
    /// subjectKeyIdentifier), DER.
    pub signer_certificate: Option<Vec<u8>>,
    /// Every certificate of `SignedData.certificates` (other certificate formats skipped), DER.
    pub certificates: Vec<Vec<u8>>,
    /// Unsigned attributes (e.g. id-aa-signatureTimeStampToken, RFC 3161 App. A).
    pub unsigned_attributes: Vec<Attribute>,
    /// Number of `SignerInfo`s (PAdES requires exactly one, ETSI EN 319 142-1 §6.3).
    pub signer_count: usize,
}

impl ParsedSignedData {
    /// Parses a DER `ContentInfo` (RFC 5652 §3) of type signedData. Bytes after the outer
    /// element are ignored (a PDF `/Contents` string is zero-padded). Definite-length DER only.
    pub fn parse(der: &[u8]) -> Result<Self, Error> {
        let ci = DerReader::new(der).read().ctx("ContentInfo")?.expect(tag::SEQUENCE).ctx("ContentInfo")?;
        let mut r = ci.reader();
        let ct = asn1::decode_oid(&r.read().ctx("ContentInfo")?).ctx("ContentInfo")?;
        if ct != oid::SIGNED_DATA {
            return Err(Error::Invalid(format!("content type {ct} is not signedData (1.2.840.113549.1.7.2)")));
        }
        let explicit = r.read_expect(tag::CTX0).ctx("ContentInfo")?;
        r.finish().ctx("ContentInfo")?;
        let sd = asn1::parse_single(explicit.value).and_then(|t| t.expect(tag::SEQUENCE)).ctx("SignedData")?;
        let mut s = sd.reader();
        s.read_expect(tag::INTEGER).ctx("SignedData version")?;
        s.read_expect(tag::SET).ctx("SignedData digestAlgorithms")?;
        let eci = s.read_expect(tag::SEQUENCE).ctx("encapContentInfo")?;
        let (content_type, econtent) = parse_encap(&eci)?;
        let mut certificates = Vec::new();
        if let Some(certs) = s.read_optional(tag::CTX0).ctx("certificates")? {
            let mut cr = certs.reader();
            while !cr.is_empty() {
                let c = cr.read().ctx("certificates")?;
                if c.tag == tag::SEQUENCE {
                    certificates.push(c.raw.to_vec());
                }
            }
        }
        s.read_optional(tag::CTX1).ctx("crls")?;
        let infos = s.read_expect(tag::SET).ctx("signerInfos")?;
        s.finish().ctx("SignedData")?;
        let mut ir = infos.reader();
        let mut signer_count = 0;
        let mut first = None;
        while !ir.is_empty() {
            let si = ir.read_expect(tag::SEQUENCE).ctx("SignerInfo")?;
            signer_count += 1;
            if first.is_none() {
                first = Some(si);
            }
        }
        let si = first.ok_or_else(|| Error::Invalid("SignedData has no SignerInfo".into()))?;
        let mut out = Self {
            der_len: ci.raw.len(),
            content_type,
            econtent,
            digest_algorithm_oid: oid::DATA,
            signed_attributes: None,
            signed_attribute_list: Vec::new(),
            message_digest: None,
            content_type_attribute: None,
            has_signing_time: false,
            signing_certificate_v2: None,
            has_signing_certificate_v1: false,
            signature_algorithm_der: Vec::new(),
            signature: Vec::new(),
            signer_certificate: None,
            certificates,
            unsigned_attributes: Vec::new(),
            signer_count,
        };
        out.parse_signer_info(&si)?;
        Ok(out)
    }

    /// RFC 5652 §5.3 SignerInfo.
    fn parse_signer_info(&mut self, si: &Tlv<'_>) -> Result<(), Error> {
        const W: &str = "SignerInfo";
        let mut r = si.reader();
        r.read_expect(tag::INTEGER).ctx(W)?;
        let sid = r.read().ctx(W)?;
        let digest_alg = r.read_expect(tag::SEQUENCE).ctx(W)?;
        self.digest_algorithm_oid = asn1::decode_oid(&digest_alg.reader().read().ctx(W)?).ctx(W)?;
        if let Some(sa) = r.read_optional(tag::CTX0).ctx(W)? {
            let mut set = sa.raw.to_vec();
            set[0] = tag::SET;
            self.signed_attributes = Some(set);
            self.signed_attribute_list = parse_attributes(sa.value, "signed attributes")?;
        }
        self.signature_algorithm_der = r.read_expect(tag::SEQUENCE).ctx(W)?.raw.to_vec();
        self.signature = r.read_expect(tag::OCTET_STRING).ctx(W)?.value.to_vec();
        if let Some(ua) = r.read_optional(tag::CTX1).ctx(W)? {
            self.unsigned_attributes = parse_attributes(ua.value, "unsigned attributes")?;
        }
        r.finish().ctx(W)?;
        self.read_signed_attributes()?;
        self.signer_certificate = self.match_sid(&sid)?;
        Ok(())
    }

    fn read_signed_attributes(&mut self) -> Result<(), Error> {
        const W: &str = "signed attribute";
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        for attr in &self.signed_attribute_list {
            if seen.contains(&attr.oid) {
                // RFC 5652 §5.3 / ETSI EN 319 122-1 §5.2: no attribute may appear twice.
                return Err(Error::Invalid(format!("signed attribute {} appears more than once", attr.oid)));
            }
            seen.push(attr.oid);
            let single = || -> Result<Tlv<'_>, Error> {
                match attr.values.as_slice() {
                    [v] => asn1::parse_single(v).ctx(W),
                    _ => Err(Error::Invalid(format!("signed attribute {} must have exactly one value", attr.oid))),
                }
            };
            match attr.oid {
                oid::CONTENT_TYPE => {
                    self.content_type_attribute = Some(asn1::decode_oid(&single()?).ctx(W)?);
                }
                oid::MESSAGE_DIGEST => {
                    let v = single()?.expect(tag::OCTET_STRING).ctx(W)?;
                    self.message_digest = Some(v.value.to_vec());
                }
                oid::SIGNING_TIME => self.has_signing_time = true,
                oid::SIGNING_CERTIFICATE => self.has_signing_certificate_v1 = true,
                oid::SIGNING_CERTIFICATE_V2 => {
                    self.signing_certificate_v2 = Some(parse_ess_v2(&single()?)?);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Finds the certificate named by `sid` (RFC 5652 §5.3 SignerIdentifier).
    fn match_sid(&self, sid: &Tlv<'_>) -> Result<Option<Vec<u8>>, Error> {
        const W: &str = "SignerIdentifier";
        enum Sid<'a> {
            IssuerSerial(&'a [u8], &'a [u8]),
            KeyId(&'a [u8]),
        }
        let want = match sid.tag {
            tag::SEQUENCE => {
                let mut r = sid.reader();
                let issuer = r.read_expect(tag::SEQUENCE).ctx(W)?.raw;
                let serial = r.read_expect(tag::INTEGER).ctx(W)?.value;
                r.finish().ctx(W)?;
                Sid::IssuerSerial(issuer, serial)
            }
            tag::CTX0_PRIM => Sid::KeyId(sid.value),
            other => {
                return Err(Error::Invalid(format!("unknown SignerIdentifier choice 0x{other:02x}")));
            }
        };
        for c in &self.certificates {
            let Ok(view) = CertView::parse(c) else {
                continue;
            };
            let hit = match want {
                Sid::IssuerSerial(issuer, serial) => view.issuer == issuer && view.serial.value == serial,
                Sid::KeyId(id) => view.subject_key_id() == Some(id),
            };
            if hit {
                return Ok(Some(c.clone()));
            }
        }
        Ok(None)
    }

    /// The signer's digest algorithm (SHA-1/MD5 refused by policy).
    pub fn digest_algorithm(&self) -> Result<DigestAlgorithm, Error> {
        Ok(DigestAlgorithm::from_oid(&self.digest_algorithm_oid)?)
    }

    /// The signature algorithm (`rsaEncryption`/`id-ecPublicKey` take the digest from
    /// `digestAlgorithm`, RFC 5652 §10.1.2 / RFC 5754 §3).
    pub fn signature_algorithm(&self) -> Result<SignatureAlgorithm, Error> {
        let hint = self.digest_algorithm().ok();
        Ok(SignatureAlgorithm::from_algorithm_identifier(&self.signature_algorithm_der, hint)?)
    }

    /// Verifies the signature over the DER SET of signed attributes with the signer
    /// certificate's public key (RFC 5652 §5.4, §5.6).
    pub fn verify_signature(&self) -> Result<(), Error> {
        let attrs =
            self.signed_attributes.as_deref().ok_or(Error::MissingAttribute("(no signed attributes at all)"))?;
        let cert = self.signer_certificate.as_deref().ok_or(Error::SignerCertificateNotFound)?;
        let spki = CertView::parse(cert).ctx("signer certificate")?.spki;
        let alg = self.signature_algorithm()?;
        match signet_crypto::verify_signature(spki, &alg, attrs, &self.signature) {
            Ok(()) => Ok(()),
            Err(signet_crypto::Error::BadSignature) => Err(Error::BadSignature),
            Err(e) => Err(e.into()),
        }
    }

    /// Compares the message-digest attribute with `computed`, the digest of the signed content
    /// with [`Self::digest_algorithm`] (RFC 5652 §5.6); also requires the content-type
    /// attribute (RFC 5652 §5.3) to equal `eContentType`.
    pub fn check_message_digest(&self, computed: &[u8]) -> Result<(), Error> {
        let md = self.message_digest.as_deref().ok_or(Error::MissingAttribute("message-digest"))?;
        match self.content_type_attribute {
            None => return Err(Error::MissingAttribute("content-type")),
            Some(ct) if ct != self.content_type => {
                return Err(Error::Invalid(format!(
                    "content-type attribute {ct} differs from eContentType {}",
                    self.content_type
                )));
            }
            Some(_) => {}
        }
        if md == computed { Ok(()) } else { Err(Error::MessageDigestMismatch) }
    }

    /// Checks that the signing-certificate-v2 hash matches the signer certificate
    /// (RFC 5035 §4, ETSI EN 319 122-1 §5.2.2.3).
    pub fn check_signing_certificate_v2(&self) -> Result<(), Error> {
        let ess = self.signing_certificate_v2.as_ref().ok_or(Error::MissingAttribute("signing-certificate-v2"))?;
        let cert = self.signer_certificate.as_deref().ok_or(Error::SignerCertificateNotFound)?;
        let alg = DigestAlgorithm::from_oid(&ess.hash_algorithm)?;
        if alg.digest(cert) == ess.cert_hash { Ok(()) } else { Err(Error::SigningCertificateMismatch) }
    }

    /// Values of the unsigned attribute `oid` (e.g. [`oid::SIGNATURE_TIME_STAMP_TOKEN`]).
    pub fn unsigned_attribute(&self, oid: &ObjectIdentifier) -> Option<&Attribute> {
        self.unsigned_attributes.iter().find(|a| a.oid == *oid)
    }
}

/// EncapsulatedContentInfo (RFC 5652 §5.2).
fn parse_encap(eci: &Tlv<'_>) -> Result<(ObjectIdentifier, Option<Vec<u8>>), Error> {
    const W: &str = "encapContentInfo";
    let mut r = eci.reader();
    let ct = asn1::decode_oid(&r.read().ctx(W)?).ctx(W)?;
    let econtent = match r.read_optional(tag::CTX0).ctx(W)? {
        None => None,
        Some(explicit) => {
            let os = asn1::parse_single(explicit.value).ctx(W)?;
            match os.tag {
                tag::OCTET_STRING => Some(os.value.to_vec()),
                // Constructed OCTET STRING (BER-style segments, definite lengths).
                0x24 => {
                    let mut out = Vec::new();
                    let mut sr = os.reader();
                    while !sr.is_empty() {
                        out.extend_from_slice(sr.read_expect(tag::OCTET_STRING).ctx(W)?.value);
                    }
                    Some(out)
                }
                other => {
                    return Err(Error::Invalid(format!("eContent is not an OCTET STRING (tag 0x{other:02x})")));
                }
            }
        }
    };
    r.finish().ctx(W)?;
    Ok((ct, econtent))
}

/// `SET OF Attribute` contents.
fn parse_attributes(content: &[u8], what: &'static str) -> Result<Vec<Attribute>, Error> {
    let mut out = Vec::new();
    let mut r = DerReader::new(content);
    while !r.is_empty() {
        let a = r.read_expect(tag::SEQUENCE).ctx(what)?;
        let mut ar = a.reader();
        let oid = asn1::decode_oid(&ar.read().ctx(what)?).ctx(what)?;
        let set = ar.read_expect(tag::SET).ctx(what)?;
        ar.finish().ctx(what)?;
        let mut values = Vec::new();
        let mut vr = set.reader();
        while !vr.is_empty() {
            values.push(vr.read().ctx(what)?.raw.to_vec());
        }
        out.push(Attribute { oid, values });
    }
    Ok(out)
}

/// SigningCertificateV2 (RFC 5035 §3): the first ESSCertIDv2.
fn parse_ess_v2(value: &Tlv<'_>) -> Result<EssCertIdV2, Error> {
    const W: &str = "signing-certificate-v2";
    let sc = value.expect(tag::SEQUENCE).ctx(W)?;
    let certs = sc.reader().read_expect(tag::SEQUENCE).ctx(W)?;
    let first = certs.reader().read_expect(tag::SEQUENCE).ctx(W)?;
    let mut r = first.reader();
    let hash_algorithm = match r.read_optional(tag::SEQUENCE).ctx(W)? {
        Some(alg) => asn1::decode_oid(&alg.reader().read().ctx(W)?).ctx(W)?,
        None => signet_crypto::oid::SHA256,
    };
    let cert_hash = r.read_expect(tag::OCTET_STRING).ctx(W)?.value.to_vec();
    Ok(EssCertIdV2 { hash_algorithm, cert_hash })
}
