//! Building a detached CMS `SignedData` for PAdES (RFC 5652 §5, ETSI EN 319 142-1 §6.3).

use signet_crypto::asn1::{self, tag};
use signet_crypto::{DigestAlgorithm, Identity, SignatureAlgorithm, SignatureScheme};

use crate::cert::CertView;
use crate::error::Context;
use crate::{Error, oid};

/// The DER `SET OF Attribute` of signed attributes (tag 0x31), in DER set order
/// (X.690 §11.6), for a PAdES baseline signature:
///
/// - content-type = id-data (RFC 5652 §11.1),
/// - message-digest = `message_digest` (RFC 5652 §11.2),
/// - signing-certificate-v2 (RFC 5035 §3, ETSI EN 319 122-1 §5.2.2.3): one `ESSCertIDv2`
///   with `hashAlgorithm` omitted when it is the DEFAULT SHA-256, `certHash` over the signer
///   certificate's DER with `digest`, and `issuerSerial` (issuer as a `directoryName`).
///
/// No signing-time attribute: PAdES puts the claimed time in the signature dictionary's `/M`
/// (ETSI EN 319 142-1 §5.4). This is also the exact byte string that gets signed
/// (RFC 5652 §5.4).
pub fn signed_attributes(
    identity_cert_der: &[u8],
    digest: DigestAlgorithm,
    message_digest: &[u8],
) -> Result<Vec<u8>, Error> {
    if message_digest.len() != digest.output_len() {
        return Err(Error::Invalid(format!(
            "message digest is {} bytes, {digest} needs {}",
            message_digest.len(),
            digest.output_len()
        )));
    }
    let cert = CertView::parse(identity_cert_der).ctx("signer certificate")?;
    let content_type = attribute(&oid::CONTENT_TYPE, &asn1::encode_oid(&oid::DATA));
    let md = attribute(&oid::MESSAGE_DIGEST, &asn1::encode(tag::OCTET_STRING, message_digest));
    let cert_hash = asn1::encode(tag::OCTET_STRING, &digest.digest(identity_cert_der));
    let general_names = asn1::encode(tag::SEQUENCE, &asn1::encode(tag::CTX4, cert.issuer));
    let issuer_serial = asn1::encode_parts(tag::SEQUENCE, &[&general_names, cert.serial.raw]);
    let hash_alg = if digest == DigestAlgorithm::Sha256 {
        Vec::new()
    } else {
        asn1::encode(tag::SEQUENCE, &asn1::encode_oid(&digest.oid()))
    };
    let ess_cert_id = asn1::encode_parts(tag::SEQUENCE, &[&hash_alg, &cert_hash, &issuer_serial]);
    let signing_cert = asn1::encode(tag::SEQUENCE, &asn1::encode(tag::SEQUENCE, &ess_cert_id));
    let signing_cert = attribute(&oid::SIGNING_CERTIFICATE_V2, &signing_cert);
    Ok(asn1::encode_set_of(vec![content_type, md, signing_cert]))
}

/// `Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }`
/// with one value (RFC 5652 §5.3).
fn attribute(oid: &const_oid::ObjectIdentifier, value: &[u8]) -> Vec<u8> {
    asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(oid), &asn1::encode(tag::SET, value)])
}

/// Assembles a detached `ContentInfo`/`SignedData` (RFC 5652 §5.1) around a signature made
/// elsewhere (remote, deferred or HSM signing).
///
/// - `eContentType` id-data without `eContent` (detached, ETSI EN 319 142-1 §6.3),
/// - `digestAlgorithms` = {`digest`}, `certificates` = `certificate` then `chain` (signer
///   first, for the benefit of naive readers; the set is not re-sorted),
/// - one `SignerInfo` version 1 (RFC 5652 §5.3) identified by issuer and serial number, with
///   `signed_attrs_der` (the SET from [`signed_attributes`]) re-tagged `[0] IMPLICIT`, and the
///   signature algorithm for `scheme` and `digest` (see
///   [`SignatureAlgorithm::to_algorithm_identifier`]).
pub fn assemble_signed_data(
    certificate: &[u8],
    chain: &[Vec<u8>],
    digest: DigestAlgorithm,
    scheme: SignatureScheme,
    signed_attrs_der: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, Error> {
    let cert = CertView::parse(certificate).ctx("signer certificate")?;
    let attrs =
        asn1::parse_single(signed_attrs_der).ctx("signed attributes")?.expect(tag::SET).ctx("signed attributes")?;
    let signed_attrs = asn1::encode(tag::CTX0, attrs.value);
    let digest_alg = asn1::encode(tag::SEQUENCE, &asn1::encode_oid(&digest.oid()));
    let version1 = asn1::encode_small_uint(1);
    let sid = asn1::encode_parts(tag::SEQUENCE, &[cert.issuer, cert.serial.raw]);
    let sig_alg = SignatureAlgorithm::new(scheme, digest).to_algorithm_identifier();
    let signer_info = asn1::encode_parts(
        tag::SEQUENCE,
        &[&version1, &sid, &digest_alg, &signed_attrs, &sig_alg, &asn1::encode(tag::OCTET_STRING, signature)],
    );
    let mut certs: Vec<&[u8]> = vec![certificate];
    for c in chain {
        asn1::parse_single(c).ctx("chain certificate")?;
        certs.push(c);
    }
    let signed_data = asn1::encode_parts(
        tag::SEQUENCE,
        &[
            &version1,
            &asn1::encode(tag::SET, &digest_alg),
            &asn1::encode(tag::SEQUENCE, &asn1::encode_oid(&oid::DATA)),
            &asn1::encode_parts(tag::CTX0, &certs),
            &asn1::encode(tag::SET, &signer_info),
        ],
    );
    Ok(asn1::encode_parts(
        tag::SEQUENCE,
        &[&asn1::encode_oid(&oid::SIGNED_DATA), &asn1::encode(tag::CTX0, &signed_data)],
    ))
}

/// Builds and signs a detached PAdES `SignedData`: [`signed_attributes`], then
/// [`Signer::sign`](signet_crypto::Signer::sign) over that DER SET (RFC 5652 §5.4), then
/// [`assemble_signed_data`]. `message_digest` is the digest of the signed bytes (the PDF
/// ByteRange) with `digest`.
pub fn build_signed_data(
    identity: &Identity,
    digest: DigestAlgorithm,
    scheme: SignatureScheme,
    message_digest: &[u8],
) -> Result<Vec<u8>, Error> {
    let kind = identity.key_kind();
    if !kind.supports(scheme) {
        return Err(signet_crypto::Error::UnsupportedAlgorithm(format!("{scheme:?} with a {kind:?} key")).into());
    }
    let attrs = signed_attributes(&identity.certificate, digest, message_digest)?;
    let signature = identity.signer.sign(scheme, digest, &attrs)?;
    assemble_signed_data(&identity.certificate, &identity.chain, digest, scheme, &attrs, &signature)
}

/// An upper bound (exact for RSA) of the length of what [`build_signed_data`] produces: the
/// structure is built with a placeholder signature of
/// [`Signer::max_signature_len`](signet_crypto::Signer::max_signature_len) bytes, and DER
/// lengths only grow with content. The caller adds room for a later signature timestamp.
pub fn estimated_len(identity: &Identity, digest: DigestAlgorithm, scheme: SignatureScheme) -> usize {
    let placeholder = vec![0u8; identity.signer.max_signature_len()];
    let md = vec![0u8; digest.output_len()];
    signed_attributes(&identity.certificate, digest, &md)
        .and_then(|attrs| {
            assemble_signed_data(&identity.certificate, &identity.chain, digest, scheme, &attrs, &placeholder)
        })
        .map(|der| der.len())
        // Unreadable certificate: build_signed_data will fail anyway; return a generous size.
        .unwrap_or_else(|_| {
            identity.certificate.len() + identity.chain.iter().map(Vec::len).sum::<usize>() + placeholder.len() + 4096
        })
}
