//! A zero-copy view of an X.509 certificate's fields (RFC 5280 §4.1), keeping the exact
//! input bytes that signatures and name matching need.

use std::time::SystemTime;

use signet_crypto::asn1::{self, DerError, DerReader, Tlv, tag};

use crate::oid;

/// An extension (RFC 5280 §4.1.2.9).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Extension<'a> {
    /// extnID
    pub oid: const_oid::ObjectIdentifier,
    /// critical (DEFAULT FALSE)
    pub critical: bool,
    /// Contents of the `extnValue` OCTET STRING.
    pub value: &'a [u8],
}

/// Borrowed fields of a certificate, each the exact input bytes (what signatures, name
/// matching and OCSP `CertID` hashes need).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CertView<'a> {
    /// The whole certificate.
    pub raw: &'a [u8],
    /// The tbsCertificate element (what the issuer signed).
    pub tbs: &'a [u8],
    /// The serialNumber INTEGER element (tag, length, value).
    pub serial: Tlv<'a>,
    /// The issuer Name element.
    pub issuer: &'a [u8],
    /// notBefore, a UTCTime or GeneralizedTime element.
    pub not_before: &'a [u8],
    /// notAfter, a UTCTime or GeneralizedTime element.
    pub not_after: &'a [u8],
    /// The subject Name element.
    pub subject: &'a [u8],
    /// The SubjectPublicKeyInfo element.
    pub spki: &'a [u8],
    /// Every extension, in order.
    pub extensions: Vec<Extension<'a>>,
    /// The outer signatureAlgorithm element.
    pub signature_algorithm: &'a [u8],
    /// The signature bits (BIT STRING contents without the unused-bits octet).
    pub signature: &'a [u8],
}

impl<'a> CertView<'a> {
    /// Reads a DER certificate from untrusted bytes.
    pub fn parse(der: &'a [u8]) -> Result<Self, DerError> {
        let cert = asn1::parse_single(der)?.expect(tag::SEQUENCE)?;
        let mut r = cert.reader();
        let tbs = r.read_expect(tag::SEQUENCE)?;
        let signature_algorithm = r.read_expect(tag::SEQUENCE)?.raw;
        let sig = r.read_expect(tag::BIT_STRING)?;
        r.finish()?;
        let signature = match sig.value.split_first() {
            Some((0, s)) => s,
            _ => {
                return Err(DerError::Unsupported {
                    offset: sig.offset,
                    what: "signature BIT STRING with unused bits",
                });
            }
        };
        let mut t = tbs.reader();
        t.read_optional(tag::CTX0)?;
        let serial = t.read_expect(tag::INTEGER)?;
        t.read_expect(tag::SEQUENCE)?;
        let issuer = t.read_expect(tag::SEQUENCE)?.raw;
        let validity = t.read_expect(tag::SEQUENCE)?;
        let mut v = validity.reader();
        let not_before = v.read()?.raw;
        let not_after = v.read()?.raw;
        let subject = t.read_expect(tag::SEQUENCE)?.raw;
        let spki = t.read_expect(tag::SEQUENCE)?.raw;
        t.read_optional(0x81)?; // issuerUniqueID
        t.read_optional(0x82)?; // subjectUniqueID
        let mut extensions = Vec::new();
        if let Some(exts) = t.read_optional(tag::CTX3)? {
            let seq = asn1::parse_single(exts.value)?.expect(tag::SEQUENCE)?;
            let mut er = seq.reader();
            while !er.is_empty() {
                let ext = er.read_expect(tag::SEQUENCE)?;
                let mut x = ext.reader();
                let oid = asn1::decode_oid(&x.read()?)?;
                let critical = match x.read_optional(tag::BOOLEAN)? {
                    Some(b) => b.value.first().is_some_and(|v| *v != 0),
                    None => false,
                };
                let value = x.read_expect(tag::OCTET_STRING)?.value;
                x.finish()?;
                extensions.push(Extension { oid, critical, value });
            }
        }
        t.finish()?;
        Ok(Self {
            raw: der,
            tbs: tbs.raw,
            serial,
            issuer,
            not_before,
            not_after,
            subject,
            spki,
            extensions,
            signature_algorithm,
            signature,
        })
    }

    /// The extension with this OID, if present.
    pub fn extension(&self, oid: &const_oid::ObjectIdentifier) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|e| e.oid == *oid)
    }

    /// The subjectKeyIdentifier (RFC 5280 §4.2.1.2).
    pub fn subject_key_id(&self) -> Option<&'a [u8]> {
        let ext = self.extension(&oid::SUBJECT_KEY_IDENTIFIER)?;
        asn1::parse_single(ext.value).ok().filter(|t| t.tag == tag::OCTET_STRING).map(|t| t.value)
    }

    /// The keyIdentifier of the authorityKeyIdentifier (RFC 5280 §4.2.1.1).
    pub fn authority_key_id(&self) -> Option<&'a [u8]> {
        let ext = self.extension(&oid::AUTHORITY_KEY_IDENTIFIER)?;
        let seq = asn1::parse_single(ext.value).ok()?;
        let mut r = DerReader::new(seq.value);
        r.read_optional(tag::CTX0_PRIM).ok().flatten().map(|t| t.value)
    }

    /// Whether basicConstraints says cA TRUE (RFC 5280 §4.2.1.9). A basicConstraints this
    /// cannot read counts as a CA: where CAs are refused, so is a certificate that may be one.
    pub fn is_ca(&self) -> bool {
        self.extension(&crate::oid::BASIC_CONSTRAINTS)
            .is_some_and(|e| crate::certpath::basic_constraints(e.value).map_or(true, |(ca, _)| ca))
    }

    /// Whether issuer and subject are the same name (RFC 5280 §6.1).
    pub fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    /// notBefore and notAfter (RFC 5280 §4.1.2.5).
    pub fn validity(&self) -> Result<(SystemTime, SystemTime), DerError> {
        Ok((asn1::decode_time_element(self.not_before)?, asn1::decode_time_element(self.not_after)?))
    }

    /// The `subjectPublicKey` BIT STRING contents without the unused-bits octet: what an OCSP
    /// `CertID.issuerKeyHash` is computed over (RFC 6960 §4.1.1).
    pub fn subject_public_key(&self) -> Result<&'a [u8], DerError> {
        let spki = asn1::parse_single(self.spki)?.expect(tag::SEQUENCE)?;
        let mut r = spki.reader();
        r.read_expect(tag::SEQUENCE)?;
        let bits = r.read_expect(tag::BIT_STRING)?;
        match bits.value.split_first() {
            Some((0, key)) => Ok(key),
            _ => Err(DerError::Unsupported { offset: bits.offset, what: "public key BIT STRING with unused bits" }),
        }
    }

    /// The serial number's content octets (two's complement, as encoded).
    pub fn serial_bytes(&self) -> &'a [u8] {
        self.serial.value
    }

    /// URIs of the authorityInfoAccess entries with this access method (RFC 5280 §4.2.2.1):
    /// [`oid::AD_OCSP`] or [`oid::AD_CA_ISSUERS`].
    pub fn aia_uris(&self, method: &const_oid::ObjectIdentifier) -> Vec<String> {
        let mut out = Vec::new();
        let Some(ext) = self.extension(&oid::AUTHORITY_INFO_ACCESS) else { return out };
        let Ok(seq) = asn1::parse_single(ext.value) else { return out };
        let mut r = seq.reader();
        while let Ok(ad) = r.read() {
            let mut a = ad.reader();
            let (Ok(m), Ok(loc)) = (a.read(), a.read()) else { continue };
            if asn1::decode_oid(&m).ok().as_ref() == Some(method) && loc.tag == 0x86 {
                out.push(String::from_utf8_lossy(loc.value).into_owned());
            }
        }
        out
    }

    /// URIs of the cRLDistributionPoints' full names (RFC 5280 §4.2.1.13); relative names and
    /// non-URI names are skipped.
    pub fn crl_distribution_uris(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Some(ext) = self.extension(&oid::CRL_DISTRIBUTION_POINTS) else { return out };
        let Ok(seq) = asn1::parse_single(ext.value) else { return out };
        let mut r = seq.reader();
        while let Ok(dp) = r.read() {
            // DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
            let Ok(Some(dpn)) = dp.reader().read_optional(tag::CTX0) else { continue };
            // DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
            let Ok(Some(full)) = dpn.reader().read_optional(tag::CTX0) else { continue };
            let mut g = full.reader();
            while let Ok(name) = g.read() {
                if name.tag == 0x86 {
                    out.push(String::from_utf8_lossy(name.value).into_owned());
                }
            }
        }
        out
    }

    /// The extendedKeyUsage purposes (RFC 5280 §4.2.1.12); empty when the extension is absent.
    pub fn extended_key_usage(&self) -> Vec<const_oid::ObjectIdentifier> {
        let Some(ext) = self.extension(&oid::EXT_KEY_USAGE) else { return Vec::new() };
        let Ok(seq) = asn1::parse_single(ext.value) else { return Vec::new() };
        let mut r = seq.reader();
        let mut out = Vec::new();
        while let Ok(t) = r.read() {
            if let Ok(o) = asn1::decode_oid(&t) {
                out.push(o);
            }
        }
        out
    }
}
