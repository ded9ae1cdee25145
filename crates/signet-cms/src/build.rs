//! Building a detached CMS `SignedData` for PAdES (RFC 5652 §5, ETSI EN 319 142-1 §6.3), and
//! the general form other content types (RFC 3161 tokens) use.

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
    signed_attributes_for(&oid::DATA, identity_cert_der, digest, message_digest)
}

/// [`signed_attributes`] with another content-type attribute value (RFC 5652 §11.1: it must
/// be the `eContentType` of the `SignedData`), e.g. id-ct-TSTInfo for an RFC 3161 token, whose
/// signed attributes RFC 3161 §2.4.2 and RFC 5816 §2.2.1 ask for: content-type,
/// message-digest over the TSTInfo DER, and signing-certificate(-v2).
pub fn signed_attributes_for(
    content_type: &const_oid::ObjectIdentifier,
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
    let signer = signer_parts(identity_cert_der, digest)?;
    let content_type = attribute(&oid::CONTENT_TYPE, &asn1::encode_oid(content_type));
    let md = attribute(&oid::MESSAGE_DIGEST, &asn1::encode(tag::OCTET_STRING, message_digest));
    Ok(asn1::encode_set_of(vec![content_type, md, signer.signing_certificate.clone()]))
}

/// What a signature takes from its signer's certificate: the signing-certificate-v2
/// attribute for one digest algorithm, and the `IssuerAndSerialNumber`.
#[derive(Debug)]
struct SignerParts {
    certificate: Vec<u8>,
    digest: DigestAlgorithm,
    /// `signing-certificate-v2` (RFC 5035 §3, ETSI EN 319 122-1 §5.2.2.3): `ESSCertIDv2` with
    /// the hash of the certificate under `digest` (the algorithm omitted for SHA-256, its
    /// DEFAULT) and `issuerSerial` (`GeneralNames` of the issuer's directoryName, serial).
    signing_certificate: Vec<u8>,
    /// `SignerIdentifier` as `IssuerAndSerialNumber` (RFC 5652 §5.3).
    sid: Vec<u8>,
}

thread_local! {
    /// The parts of the last signer certificate this thread signed with: a signing service
    /// signs with the same few identities over and over, and parsing and hashing the
    /// certificate each time cost more than the rest of the CMS around the signature.
    static LAST_SIGNER: std::cell::RefCell<Option<std::rc::Rc<SignerParts>>> = const { std::cell::RefCell::new(None) };
}

/// The [`SignerParts`] of `certificate` (DER) with `digest`, from this thread's last ones when
/// they are of the same certificate (compared byte for byte) and digest.
fn signer_parts(certificate: &[u8], digest: DigestAlgorithm) -> Result<std::rc::Rc<SignerParts>, Error> {
    let last = LAST_SIGNER.with_borrow(|last| last.clone());
    if let Some(parts) = last.filter(|p| p.digest == digest && p.certificate == certificate) {
        return Ok(parts);
    }
    let cert = CertView::parse(certificate).ctx("signer certificate")?;
    let cert_hash = asn1::encode(tag::OCTET_STRING, &digest.digest(certificate));
    let general_names = asn1::encode(tag::SEQUENCE, &asn1::encode(tag::CTX4, cert.issuer));
    let issuer_serial = asn1::encode_parts(tag::SEQUENCE, &[&general_names, cert.serial.raw]);
    let hash_alg = if digest == DigestAlgorithm::Sha256 {
        Vec::new()
    } else {
        asn1::encode(tag::SEQUENCE, &asn1::encode_oid(&digest.oid()))
    };
    let ess_cert_id = asn1::encode_parts(tag::SEQUENCE, &[&hash_alg, &cert_hash, &issuer_serial]);
    let signing_cert = asn1::encode(tag::SEQUENCE, &asn1::encode(tag::SEQUENCE, &ess_cert_id));
    let parts = std::rc::Rc::new(SignerParts {
        certificate: certificate.to_vec(),
        digest,
        signing_certificate: attribute(&oid::SIGNING_CERTIFICATE_V2, &signing_cert),
        sid: asn1::encode_parts(tag::SEQUENCE, &[cert.issuer, cert.serial.raw]),
    });
    LAST_SIGNER.set(Some(parts.clone()));
    Ok(parts)
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
    let mut certs: Vec<&[u8]> = vec![certificate];
    certs.extend(chain.iter().map(Vec::as_slice));
    let content = EncapsulatedContent { content_type: oid::DATA, content: None };
    assemble_signed_data_with(&content, certificate, &certs, digest, scheme, signed_attrs_der, signature)
}

/// `EncapsulatedContentInfo` (RFC 5652 §5.2): what a `SignedData` signs.
#[derive(Clone, Copy, Debug)]
pub struct EncapsulatedContent<'a> {
    /// `eContentType`; the content-type signed attribute must carry the same OID.
    pub content_type: const_oid::ObjectIdentifier,
    /// `eContent` octets; `None` for a detached signature.
    pub content: Option<&'a [u8]>,
}

/// The general form of [`assemble_signed_data`]: any `eContentType`, encapsulated or detached
/// content, and the `certificates` field exactly as given (in that order, the set is not
/// re-sorted; omitted when empty, as RFC 3161 §2.4.1 wants without `certReq`).
///
/// The `SignedData` version is 3 when `eContentType` is not id-data and 1 otherwise
/// (RFC 5652 §5.1); `signer_certificate` names the signer (`IssuerAndSerialNumber`) and need
/// not be among `certificates`.
pub fn assemble_signed_data_with(
    content: &EncapsulatedContent<'_>,
    signer_certificate: &[u8],
    certificates: &[&[u8]],
    digest: DigestAlgorithm,
    scheme: SignatureScheme,
    signed_attrs_der: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, Error> {
    let signer = signer_parts(signer_certificate, digest)?;
    let attrs =
        asn1::parse_single(signed_attrs_der).ctx("signed attributes")?.expect(tag::SET).ctx("signed attributes")?;
    let signed_attrs = asn1::encode(tag::CTX0, attrs.value);
    let digest_alg = asn1::encode(tag::SEQUENCE, &asn1::encode_oid(&digest.oid()));
    let version1 = asn1::encode_small_uint(1);
    let sig_alg = SignatureAlgorithm::new(scheme, digest).to_algorithm_identifier();
    let signer_info = asn1::encode_parts(
        tag::SEQUENCE,
        &[&version1, &signer.sid, &digest_alg, &signed_attrs, &sig_alg, &asn1::encode(tag::OCTET_STRING, signature)],
    );
    for c in certificates {
        asn1::parse_single(c).ctx("chain certificate")?;
    }
    let econtent = match content.content {
        Some(octets) => asn1::encode(tag::CTX0, &asn1::encode(tag::OCTET_STRING, octets)),
        None => Vec::new(),
    };
    let encap = asn1::encode_parts(tag::SEQUENCE, &[&asn1::encode_oid(&content.content_type), &econtent]);
    let version = asn1::encode_small_uint(if content.content_type == oid::DATA { 1 } else { 3 });
    let certs = if certificates.is_empty() { Vec::new() } else { asn1::encode_parts(tag::CTX0, certificates) };
    let signed_data = asn1::encode_parts(
        tag::SEQUENCE,
        &[&version, &asn1::encode(tag::SET, &digest_alg), &encap, &certs, &asn1::encode(tag::SET, &signer_info)],
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
