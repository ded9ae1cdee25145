//! Building X.509 v3 certificates (RFC 5280 §4.1) and their extensions (§4.2) in DER, signed
//! through any [`Signer`].

use std::fmt;
use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use signet_cms::oid;
use signet_crypto::asn1::{self, tag};
use signet_crypto::{DigestAlgorithm, KeyKind, SignatureAlgorithm, Signer};

use crate::Error;

const UTF8_STRING: u8 = 0x0C;
const PRINTABLE_STRING: u8 = 0x13;

/// id-at-commonName (X.520, RFC 5280 App. A).
const AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// id-at-surname.
const AT_SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");
/// id-at-serialNumber.
const AT_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// id-at-countryName.
const AT_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// id-at-organizationName.
const AT_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// id-at-organizationalUnitName.
const AT_ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// id-at-givenName.
const AT_GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
/// id-at-organizationIdentifier (X.520 2016; ETSI EN 319 412-1 §5.1.4).
const AT_ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

/// A distinguished name (RFC 5280 §4.1.2.4), one attribute per RDN, written in the order
/// C, O, OU, organizationIdentifier, givenName, surname, serialNumber, CN.
///
/// Directory strings are UTF8String (RFC 5280 §4.1.2.4 "MUST use UTF8String" for new
/// certificates); countryName and serialNumber are PrintableString as X.520 defines them.
/// The upper bounds are those of RFC 5280 App. A.1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistinguishedName {
    /// countryName: two-letter ISO 3166 code.
    pub country: Option<String>,
    /// organizationName.
    pub organization: Option<String>,
    /// organizationalUnitName.
    pub organizational_unit: Option<String>,
    /// organizationIdentifier, e.g. `VATBE-0123456789` (ETSI EN 319 412-1 §5.1.4), for legal
    /// persons.
    pub organization_identifier: Option<String>,
    /// givenName, for natural persons (ETSI EN 319 412-2 §4.2.4).
    pub given_name: Option<String>,
    /// surname.
    pub surname: Option<String>,
    /// serialNumber: an identifier of the subject (not the certificate), e.g. `PNOBE-123`
    /// (ETSI EN 319 412-1 §5.1.3).
    pub serial_number: Option<String>,
    /// commonName.
    pub common_name: Option<String>,
}

impl DistinguishedName {
    /// A name with only a common name.
    pub fn common_name(cn: impl Into<String>) -> Self {
        Self { common_name: Some(cn.into()), ..Self::default() }
    }

    fn attributes(&self) -> Vec<(ObjectIdentifier, &'static str, &str, usize)> {
        let fields = [
            (AT_COUNTRY, "C", &self.country, 2),
            (AT_ORGANIZATION, "O", &self.organization, 64),
            (AT_ORGANIZATIONAL_UNIT, "OU", &self.organizational_unit, 64),
            (AT_ORGANIZATION_IDENTIFIER, "organizationIdentifier", &self.organization_identifier, 64),
            (AT_GIVEN_NAME, "GN", &self.given_name, 64),
            (AT_SURNAME, "SN", &self.surname, 64),
            (AT_SERIAL_NUMBER, "serialNumber", &self.serial_number, 64),
            (AT_COMMON_NAME, "CN", &self.common_name, 64),
        ];
        fields.into_iter().filter_map(|(o, label, v, max)| v.as_deref().map(|v| (o, label, v, max))).collect()
    }

    /// The DER `Name`. Fails on an empty name, empty or overlong values, a country that is not
    /// two capital letters, or a serialNumber outside PrintableString.
    pub fn to_der(&self) -> Result<Vec<u8>, Error> {
        let attributes = self.attributes();
        if attributes.is_empty() {
            return Err(Error::InvalidName("the name has no attribute".into()));
        }
        let mut rdns = Vec::with_capacity(attributes.len());
        for (attr, label, value, max) in attributes {
            let chars = value.chars().count();
            if chars == 0 || chars > max {
                return Err(Error::InvalidName(format!("{label} must have 1 to {max} characters")));
            }
            if value.chars().any(char::is_control) {
                return Err(Error::InvalidName(format!("{label} contains control characters")));
            }
            let string_tag = if attr == AT_COUNTRY {
                if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(Error::InvalidName(format!("C must be a two-letter ISO 3166 code, not '{value}'")));
                }
                PRINTABLE_STRING
            } else if attr == AT_SERIAL_NUMBER {
                if !value.bytes().all(is_printable) {
                    return Err(Error::InvalidName(format!(
                        "serialNumber '{value}' has characters outside PrintableString (letters, digits, space and '()+,-./:=?)"
                    )));
                }
                PRINTABLE_STRING
            } else {
                UTF8_STRING
            };
            let atv = asn1::encode_parts(
                tag::SEQUENCE,
                &[&asn1::encode_oid(&attr), &asn1::encode(string_tag, value.as_bytes())],
            );
            rdns.push(asn1::encode(tag::SET, &atv));
        }
        let parts: Vec<&[u8]> = rdns.iter().map(Vec::as_slice).collect();
        Ok(asn1::encode_parts(tag::SEQUENCE, &parts))
    }
}

impl fmt::Display for DistinguishedName {
    /// The RFC 4514 order (most specific first): `CN=Alice,O=Example,C=BE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (_, label, value, _) in self.attributes().into_iter().rev() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{label}=")?;
            for c in value.chars() {
                if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
                    write!(f, "\\{c}")?;
                } else {
                    write!(f, "{c}")?;
                }
            }
        }
        Ok(())
    }
}

/// X.680 PrintableString characters.
fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

/// One extension (RFC 5280 §4.1.2.9): `extnValue` holds the DER of the extension's type.
#[derive(Clone, Debug)]
pub(crate) struct Extension {
    pub(crate) oid: ObjectIdentifier,
    pub(crate) critical: bool,
    pub(crate) value: Vec<u8>,
}

impl Extension {
    fn to_der(&self) -> Vec<u8> {
        let oid = asn1::encode_oid(&self.oid);
        let value = asn1::encode(tag::OCTET_STRING, &self.value);
        if self.critical {
            asn1::encode_parts(tag::SEQUENCE, &[&oid, &[tag::BOOLEAN, 1, 0xFF], &value])
        } else {
            asn1::encode_parts(tag::SEQUENCE, &[&oid, &value])
        }
    }
}

/// `Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension`.
pub(crate) fn encode_extensions(extensions: &[Extension]) -> Vec<u8> {
    let ders: Vec<Vec<u8>> = extensions.iter().map(Extension::to_der).collect();
    let parts: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
    asn1::encode_parts(tag::SEQUENCE, &parts)
}

/// KeyUsage bits (RFC 5280 §4.2.1.3), as bit numbers.
pub(crate) mod key_usage {
    pub(crate) const DIGITAL_SIGNATURE: u8 = 0;
    pub(crate) const NON_REPUDIATION: u8 = 1;
    pub(crate) const KEY_CERT_SIGN: u8 = 5;
    pub(crate) const CRL_SIGN: u8 = 6;
}

/// keyUsage, always critical here (RFC 5280 §4.2.1.3 "SHOULD mark this extension critical").
/// A named-bit BIT STRING without trailing zero bits (X.690 §11.2.2).
pub(crate) fn key_usage(bits: &[u8]) -> Extension {
    let mut value: u16 = 0;
    for b in bits {
        value |= 0x8000 >> b;
    }
    let trailing = value.trailing_zeros().min(16) as u8;
    let used_bits = 16 - trailing;
    let bytes = value.to_be_bytes();
    let len = usize::from(used_bits.div_ceil(8));
    let mut content = vec![((8 - used_bits % 8) % 8)];
    content.extend_from_slice(&bytes[..len]);
    Extension { oid: oid::KEY_USAGE, critical: true, value: asn1::encode(tag::BIT_STRING, &content) }
}

/// basicConstraints (RFC 5280 §4.2.1.9), critical: `cA TRUE` with an optional pathLenConstraint.
pub(crate) fn basic_constraints_ca(path_len: Option<u8>) -> Extension {
    let mut content = vec![tag::BOOLEAN, 1, 0xFF];
    if let Some(n) = path_len {
        content.extend_from_slice(&asn1::encode_small_uint(u64::from(n)));
    }
    Extension { oid: oid::BASIC_CONSTRAINTS, critical: true, value: asn1::encode(tag::SEQUENCE, &content) }
}

/// extKeyUsage (RFC 5280 §4.2.1.12).
pub(crate) fn ext_key_usage(purposes: &[ObjectIdentifier], critical: bool) -> Extension {
    let ders: Vec<Vec<u8>> = purposes.iter().map(asn1::encode_oid).collect();
    let parts: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
    Extension { oid: oid::EXT_KEY_USAGE, critical, value: asn1::encode_parts(tag::SEQUENCE, &parts) }
}

/// subjectKeyIdentifier (RFC 5280 §4.2.1.2).
pub(crate) fn subject_key_identifier(key_id: &[u8]) -> Extension {
    Extension { oid: oid::SUBJECT_KEY_IDENTIFIER, critical: false, value: asn1::encode(tag::OCTET_STRING, key_id) }
}

/// authorityKeyIdentifier with the keyIdentifier only (RFC 5280 §4.2.1.1).
pub(crate) fn authority_key_identifier(key_id: &[u8]) -> Extension {
    Extension {
        oid: oid::AUTHORITY_KEY_IDENTIFIER,
        critical: false,
        value: asn1::encode(tag::SEQUENCE, &asn1::encode(tag::CTX0_PRIM, key_id)),
    }
}

/// cRLDistributionPoints with one distribution point whose fullName is `uri`
/// (RFC 5280 §4.2.1.13).
pub(crate) fn crl_distribution_point(uri: &str) -> Extension {
    let general_name = asn1::encode(0x86, uri.as_bytes());
    let full_name = asn1::encode(tag::CTX0, &general_name);
    let dp_name = asn1::encode(tag::CTX0, &full_name);
    let dp = asn1::encode(tag::SEQUENCE, &dp_name);
    Extension { oid: oid::CRL_DISTRIBUTION_POINTS, critical: false, value: asn1::encode(tag::SEQUENCE, &dp) }
}

/// authorityInfoAccess (RFC 5280 §4.2.2.1) with an OCSP and/or a caIssuers URI.
pub(crate) fn authority_info_access(ocsp: Option<&str>, ca_issuers: Option<&str>) -> Extension {
    let mut descriptions = Vec::new();
    for (method, uri) in [(oid::AD_OCSP, ocsp), (oid::AD_CA_ISSUERS, ca_issuers)] {
        if let Some(uri) = uri {
            descriptions.push(asn1::encode_parts(
                tag::SEQUENCE,
                &[&asn1::encode_oid(&method), &asn1::encode(0x86, uri.as_bytes())],
            ));
        }
    }
    let parts: Vec<&[u8]> = descriptions.iter().map(Vec::as_slice).collect();
    Extension { oid: oid::AUTHORITY_INFO_ACCESS, critical: false, value: asn1::encode_parts(tag::SEQUENCE, &parts) }
}

/// subjectAltName with rfc822Name entries (RFC 5280 §4.2.1.6): non-critical because the
/// subject name is not empty.
pub(crate) fn subject_alt_name_emails(emails: &[String]) -> Result<Extension, Error> {
    let mut names = Vec::new();
    for email in emails {
        let ok = email.is_ascii()
            && email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
            && !email.bytes().any(|b| b.is_ascii_control() || b == b' ');
        if !ok {
            return Err(Error::InvalidName(format!("'{email}' is not an e-mail address (ASCII local@domain)")));
        }
        names.push(asn1::encode(0x81, email.as_bytes()));
    }
    let parts: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    Ok(Extension { oid: oid::SUBJECT_ALT_NAME, critical: false, value: asn1::encode_parts(tag::SEQUENCE, &parts) })
}

/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): the value is NULL.
pub(crate) fn ocsp_no_check() -> Extension {
    Extension { oid: oid::OCSP_NOCHECK, critical: false, value: vec![tag::NULL, 0] }
}

/// The key identifier of a `SubjectPublicKeyInfo`: the leftmost 160 bits of the SHA-256 of
/// the `subjectPublicKey` bits (RFC 7093 §2 method 1; SHA-1 is not used for anything new).
pub fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, Error> {
    let spki = asn1::parse_single(spki_der)?.expect(tag::SEQUENCE)?;
    let mut r = spki.reader();
    r.read_expect(tag::SEQUENCE)?;
    let bits = r.read_expect(tag::BIT_STRING)?;
    let key = bits.value.get(1..).unwrap_or_default();
    Ok(DigestAlgorithm::Sha256.digest(key)[..20].to_vec())
}

/// A fresh positive serial number of 16 bytes (RFC 5280 §4.1.2.2: at most 20 octets; CA/B
/// Forum practice: at least 64 random bits). The top bit is cleared so the INTEGER is
/// positive, the next one set so its encoding is minimal and always 16 bytes: 126 random bits.
pub fn random_serial() -> Result<Vec<u8>, Error> {
    let mut serial = vec![0u8; 16];
    aws_lc_rs::rand::fill(&mut serial)
        .map_err(|_| Error::Crypto(signet_crypto::Error::SigningFailed("the random generator failed".into())))?;
    serial[0] = (serial[0] & 0x7F) | 0x40;
    Ok(serial)
}

/// The signature algorithm Signet's authority uses with a key: SHA-256 with RSA PKCS#1 v1.5
/// and P-256, SHA-384 with P-384 (matching digest and curve strength, RFC 5758 §3.2).
pub fn signature_algorithm(kind: KeyKind) -> SignatureAlgorithm {
    let digest = if kind == KeyKind::EcP384 { DigestAlgorithm::Sha384 } else { DigestAlgorithm::Sha256 };
    SignatureAlgorithm::new(kind.default_scheme(), digest)
}

/// Signs a `TBSCertificate` or `TBSCertList` (whose signature field must already name
/// [`signature_algorithm`] of the signer's key) and wraps it as
/// `SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING }` (RFC 5280 §4.1, §5.1).
pub(crate) fn sign_tbs(tbs: &[u8], signer: &dyn Signer) -> Result<Vec<u8>, Error> {
    let alg = signature_algorithm(signer.key_kind());
    let signature = signer.sign(alg.scheme(), alg.digest(), tbs)?;
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0);
    bits.extend_from_slice(&signature);
    Ok(asn1::encode_parts(tag::SEQUENCE, &[tbs, &alg.to_algorithm_identifier(), &asn1::encode(tag::BIT_STRING, &bits)]))
}

/// The fields of a certificate to be signed.
pub(crate) struct TbsCertificate<'a> {
    /// Content octets of the serial INTEGER (positive, minimal).
    pub(crate) serial: &'a [u8],
    /// The issuer `Name` DER.
    pub(crate) issuer: &'a [u8],
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
    /// The subject `Name` DER.
    pub(crate) subject: &'a [u8],
    pub(crate) spki: &'a [u8],
    pub(crate) extensions: &'a [Extension],
}

impl TbsCertificate<'_> {
    /// The signed certificate: `TBSCertificate` v3 (RFC 5280 §4.1.2) signed by `signer`.
    pub(crate) fn sign(&self, signer: &dyn Signer) -> Result<Vec<u8>, Error> {
        let version = asn1::encode(tag::CTX0, &asn1::encode_small_uint(2));
        let serial = asn1::encode(tag::INTEGER, self.serial);
        let alg = signature_algorithm(signer.key_kind()).to_algorithm_identifier();
        let validity = asn1::encode_parts(
            tag::SEQUENCE,
            &[&asn1::encode_time(whole_seconds(self.not_before)), &asn1::encode_time(whole_seconds(self.not_after))],
        );
        let extensions = asn1::encode(tag::CTX3, &encode_extensions(self.extensions));
        let tbs = asn1::encode_parts(
            tag::SEQUENCE,
            &[&version, &serial, &alg, self.issuer, &validity, self.subject, self.spki, &extensions],
        );
        sign_tbs(&tbs, signer)
    }
}

pub(crate) use signet_crypto::asn1::whole_seconds;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_usage_bits_are_minimal() {
        // digitalSignature + nonRepudiation: 03 02 06 C0
        assert_eq!(
            key_usage(&[key_usage::DIGITAL_SIGNATURE, key_usage::NON_REPUDIATION]).value,
            [0x03, 0x02, 0x06, 0xC0]
        );
        // keyCertSign + cRLSign: 03 02 01 06
        assert_eq!(key_usage(&[key_usage::KEY_CERT_SIGN, key_usage::CRL_SIGN]).value, [0x03, 0x02, 0x01, 0x06]);
        assert_eq!(key_usage(&[key_usage::DIGITAL_SIGNATURE]).value, [0x03, 0x02, 0x07, 0x80]);
    }

    #[test]
    fn names_encode_and_display() {
        let name = DistinguishedName {
            country: Some("BE".into()),
            organization: Some("Exämple, Inc".into()),
            common_name: Some("Alice".into()),
            ..Default::default()
        };
        assert_eq!(name.to_string(), "CN=Alice,O=Exämple\\, Inc,C=BE");
        let der = name.to_der().unwrap();
        // C as PrintableString, O as UTF8String.
        assert!(der.windows(4).any(|w| w == [0x13, 0x02, b'B', b'E']));
        assert!(der.windows(2).any(|w| w == [0x0C, "Exämple, Inc".len() as u8]));
        for bad in [
            DistinguishedName::default(),
            DistinguishedName { country: Some("be".into()), ..DistinguishedName::common_name("x") },
            DistinguishedName::common_name(""),
            DistinguishedName::common_name("x".repeat(65)),
            DistinguishedName { serial_number: Some("PNO_1".into()), ..DistinguishedName::common_name("x") },
        ] {
            assert!(bad.to_der().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serials_are_positive_and_sixteen_bytes() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert_eq!(a[0] & 0xC0, 0x40);
    }

    #[test]
    fn emails_are_checked() {
        assert!(subject_alt_name_emails(&["a@example.com".into()]).is_ok());
        for bad in ["nobody", "@x", "a@", "a b@x", "é@x"] {
            assert!(subject_alt_name_emails(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
