//! A zero-copy view of an X.509 certificate's fields (RFC 5280 §4.1), keeping the exact
//! input bytes that signatures and name matching need.

use signet_crypto::asn1::{self, DerError, DerReader, Tlv, tag};

use crate::oid;

/// An extension (RFC 5280 §4.1.2.9).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extension<'a> {
    pub(crate) oid: const_oid::ObjectIdentifier,
    pub(crate) critical: bool,
    /// Contents of the `extnValue` OCTET STRING.
    pub(crate) value: &'a [u8],
}

/// Borrowed fields of a certificate.
#[derive(Clone, Debug)]
pub(crate) struct CertView<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) tbs: &'a [u8],
    /// The serialNumber INTEGER element (tag, length, value).
    pub(crate) serial: Tlv<'a>,
    /// The issuer Name element.
    pub(crate) issuer: &'a [u8],
    pub(crate) not_before: &'a [u8],
    pub(crate) not_after: &'a [u8],
    /// The subject Name element.
    pub(crate) subject: &'a [u8],
    /// The SubjectPublicKeyInfo element.
    pub(crate) spki: &'a [u8],
    pub(crate) extensions: Vec<Extension<'a>>,
    /// The outer signatureAlgorithm element.
    pub(crate) signature_algorithm: &'a [u8],
    /// The signature bits (BIT STRING contents without the unused-bits octet).
    pub(crate) signature: &'a [u8],
}

impl<'a> CertView<'a> {
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, DerError> {
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

    pub(crate) fn extension(&self, oid: &const_oid::ObjectIdentifier) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|e| e.oid == *oid)
    }

    /// The subjectKeyIdentifier (RFC 5280 §4.2.1.2).
    pub(crate) fn subject_key_id(&self) -> Option<&'a [u8]> {
        let ext = self.extension(&oid::SUBJECT_KEY_IDENTIFIER)?;
        asn1::parse_single(ext.value).ok().filter(|t| t.tag == tag::OCTET_STRING).map(|t| t.value)
    }

    /// The keyIdentifier of the authorityKeyIdentifier (RFC 5280 §4.2.1.1).
    pub(crate) fn authority_key_id(&self) -> Option<&'a [u8]> {
        let ext = self.extension(&oid::AUTHORITY_KEY_IDENTIFIER)?;
        let seq = asn1::parse_single(ext.value).ok()?;
        let mut r = DerReader::new(seq.value);
        r.read_optional(tag::CTX0_PRIM).ok().flatten().map(|t| t.value)
    }

    pub(crate) fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }
}
