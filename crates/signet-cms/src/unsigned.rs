//! Adding an unsigned attribute to an existing `SignedData` (RFC 5652 §5.3 `unsignedAttrs`),
//! as a signature timestamp is added after signing (RFC 3161 App. A, ETSI EN 319 122-1
//! §5.3). Only the `SignerInfo`'s `[1]` field and the lengths around it change; every other
//! byte, the signed attributes and the signature above all, is kept exactly.

use signet_crypto::asn1::{self, DerReader, tag};

use crate::error::Context;
use crate::{Error, oid};

/// Returns `content_info` (a DER `ContentInfo` holding a `SignedData` with exactly one
/// `SignerInfo`; trailing zero padding is ignored) with the attribute `attr_type` =
/// `{value_der}` added to the signer's unsigned attributes. The attributes stay a DER
/// `SET OF` (X.690 §11.6). An attribute of the same type already present is kept: RFC 3161
/// App. A allows several signature timestamps.
pub fn add_unsigned_attribute(
    content_info: &[u8],
    attr_type: &const_oid::ObjectIdentifier,
    value_der: &[u8],
) -> Result<Vec<u8>, Error> {
    asn1::parse_single(value_der).ctx("attribute value")?;
    let ci = DerReader::new(content_info).read().ctx("ContentInfo")?.expect(tag::SEQUENCE).ctx("ContentInfo")?;
    let mut r = ci.reader();
    let ct = r.read().ctx("ContentInfo")?;
    if asn1::decode_oid(&ct).ctx("ContentInfo")? != oid::SIGNED_DATA {
        return Err(Error::Invalid("not a signedData ContentInfo".into()));
    }
    let explicit = r.read_expect(tag::CTX0).ctx("ContentInfo")?;
    r.finish().ctx("ContentInfo")?;
    let sd = asn1::parse_single(explicit.value).and_then(|t| t.expect(tag::SEQUENCE)).ctx("SignedData")?;

    // SignedData: every element before signerInfos is copied as is
    let mut s = sd.reader();
    let mut head: Vec<&[u8]> = Vec::new();
    let infos = loop {
        let el = s.read().ctx("SignedData")?;
        if el.tag == tag::SET && s.is_empty() && head.len() >= 3 {
            break el;
        }
        head.push(el.raw);
    };
    let mut ir = infos.reader();
    let si = ir.read_expect(tag::SEQUENCE).ctx("SignerInfo")?;
    if !ir.is_empty() {
        return Err(Error::Invalid("SignedData has more than one SignerInfo".into()));
    }

    // SignerInfo: keep everything up to the signature, then the new [1]
    let mut f = si.reader();
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut existing: Vec<Vec<u8>> = Vec::new();
    while !f.is_empty() {
        let el = f.read().ctx("SignerInfo")?;
        if el.tag == tag::CTX1 {
            let mut a = el.reader();
            while !a.is_empty() {
                existing.push(a.read_expect(tag::SEQUENCE).ctx("unsigned attribute")?.raw.to_vec());
            }
        } else {
            fields.push(el.raw);
        }
    }
    let attr = asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(attr_type), &asn1::encode(tag::SET, value_der)]);
    existing.push(attr);
    let set = asn1::encode_set_of(existing);
    let unsigned = asn1::encode(tag::CTX1, &set[set_header_len(&set)..]);
    fields.push(&unsigned);
    let new_si = asn1::encode_parts(tag::SEQUENCE, &fields);
    let new_infos = asn1::encode(tag::SET, &new_si);
    head.push(&new_infos);
    let new_sd = asn1::encode_parts(tag::SEQUENCE, &head);
    Ok(asn1::encode_parts(tag::SEQUENCE, &[ct.raw, &asn1::encode(tag::CTX0, &new_sd)]))
}

/// Length of the tag and length octets of a DER element.
fn set_header_len(der: &[u8]) -> usize {
    match der.get(1) {
        Some(&l) if l & 0x80 != 0 => 2 + (l & 0x7f) as usize,
        _ => 2,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn refuses_garbage() {
        assert!(
            add_unsigned_attribute(&[0x30, 0x03, 0x02, 0x01, 0x00], &oid::SIGNATURE_TIME_STAMP_TOKEN, &[5, 0]).is_err()
        );
        assert!(add_unsigned_attribute(&[], &oid::SIGNATURE_TIME_STAMP_TOKEN, &[5, 0]).is_err());
    }
}
