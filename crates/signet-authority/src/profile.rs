//! Certificate profiles (RFC 5280 §4.2; ETSI EN 319 412-2 for natural persons, ETSI EN 319
//! 412-3 for legal persons; RFC 3161 §2.3 for time-stamping units; RFC 6960 §4.2.2.2 for
//! delegated OCSP responders) and the public URLs certificates point at.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use signet_cms::oid;

use crate::x509::{self, Extension, key_usage as ku};
use crate::{CaLevel, Error};

const DAY: u64 = 86_400;

/// What a certificate is for; decides its extensions and default lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The self-signed root: basicConstraints cA (critical), keyCertSign + cRLSign, SKI.
    RootCa,
    /// The CA under the root that issues every end-entity certificate: pathLenConstraint 0,
    /// CRL distribution point and caIssuers pointing at the root's.
    IssuingCa,
    /// A natural person's signing certificate (ETSI EN 319 412-2): digitalSignature +
    /// nonRepudiation (critical), CRL distribution point, OCSP and caIssuers.
    Person,
    /// A legal person's seal certificate (ETSI EN 319 412-3), same key usage as [`Self::Person`].
    Organization,
    /// A time-stamping unit (RFC 3161 §2.3): digitalSignature, extKeyUsage timeStamping only
    /// and critical.
    Tsa,
    /// A delegated OCSP responder (RFC 6960 §4.2.2.2): digitalSignature, extKeyUsage
    /// OCSPSigning, id-pkix-ocsp-nocheck (§4.2.2.2.1), so no revocation URL.
    Ocsp,
    /// A TLS client (RFC 5280 §4.2.1.12 id-kp-clientAuth; RFC 8446 §4.4.2 client
    /// certificates): digitalSignature, extKeyUsage clientAuth, CRL distribution point, OCSP
    /// and caIssuers. For API clients and people authenticating to `signet serve` over TLS.
    TlsClient,
}

/// id-kp-clientAuth (RFC 5280 §4.2.1.12): TLS WWW client authentication.
const KP_CLIENT_AUTH: oid::ObjectIdentifier = oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 7] =
        [Self::RootCa, Self::IssuingCa, Self::Person, Self::Organization, Self::Tsa, Self::Ocsp, Self::TlsClient];

    /// The name used on the command line and in the records.
    pub fn name(self) -> &'static str {
        match self {
            Self::RootCa => "root-ca",
            Self::IssuingCa => "issuing-ca",
            Self::Person => "person",
            Self::Organization => "organization",
            Self::Tsa => "tsa",
            Self::Ocsp => "ocsp",
            Self::TlsClient => "tls-client",
        }
    }

    /// The lifetime given when the caller does not choose: 20 years for the root, 10 for the
    /// issuing CA, 3 for the TSA (its tokens outlive it; validators check them against the
    /// certificate's validity at the token's time), 1 for the OCSP responder (it carries
    /// ocsp-nocheck, so a short life limits a leaked key), 2 for persons and seals.
    pub fn default_validity(self) -> Duration {
        Duration::from_secs(
            DAY * match self {
                Self::RootCa => 20 * 365 + 5,
                Self::IssuingCa => 10 * 365 + 2,
                Self::Tsa => 3 * 365 + 1,
                Self::Ocsp | Self::TlsClient => 365,
                Self::Person | Self::Organization => 2 * 365,
            },
        )
    }

    /// Whether this profile is for a certification authority.
    pub fn is_ca(self) -> bool {
        matches!(self, Self::RootCa | Self::IssuingCa)
    }

    /// The extensions of a certificate of this profile.
    pub(crate) fn extensions(
        self,
        urls: &PublicUrls,
        subject_key_id: &[u8],
        authority_key_id: Option<&[u8]>,
        emails: &[String],
    ) -> Result<Vec<Extension>, Error> {
        let mut exts = Vec::new();
        match self {
            Self::RootCa => {
                exts.push(x509::basic_constraints_ca(None));
                exts.push(x509::key_usage(&[ku::KEY_CERT_SIGN, ku::CRL_SIGN]));
            }
            Self::IssuingCa => {
                exts.push(x509::basic_constraints_ca(Some(0)));
                exts.push(x509::key_usage(&[ku::KEY_CERT_SIGN, ku::CRL_SIGN]));
                exts.push(x509::crl_distribution_point(&urls.crl(CaLevel::Root)));
                exts.push(x509::authority_info_access(None, Some(&urls.ca_certificate(CaLevel::Root))));
            }
            Self::Person | Self::Organization => {
                exts.push(x509::key_usage(&[ku::DIGITAL_SIGNATURE, ku::NON_REPUDIATION]));
                exts.push(x509::crl_distribution_point(&urls.crl(CaLevel::Issuing)));
                exts.push(x509::authority_info_access(
                    Some(&urls.ocsp()),
                    Some(&urls.ca_certificate(CaLevel::Issuing)),
                ));
            }
            Self::Tsa => {
                exts.push(x509::key_usage(&[ku::DIGITAL_SIGNATURE]));
                exts.push(x509::ext_key_usage(&[oid::KP_TIME_STAMPING], true));
                exts.push(x509::crl_distribution_point(&urls.crl(CaLevel::Issuing)));
                exts.push(x509::authority_info_access(
                    Some(&urls.ocsp()),
                    Some(&urls.ca_certificate(CaLevel::Issuing)),
                ));
            }
            Self::TlsClient => {
                exts.push(x509::key_usage(&[ku::DIGITAL_SIGNATURE]));
                exts.push(x509::ext_key_usage(&[KP_CLIENT_AUTH], false));
                exts.push(x509::crl_distribution_point(&urls.crl(CaLevel::Issuing)));
                exts.push(x509::authority_info_access(
                    Some(&urls.ocsp()),
                    Some(&urls.ca_certificate(CaLevel::Issuing)),
                ));
            }
            Self::Ocsp => {
                exts.push(x509::key_usage(&[ku::DIGITAL_SIGNATURE]));
                exts.push(x509::ext_key_usage(&[oid::KP_OCSP_SIGNING], false));
                exts.push(x509::ocsp_no_check());
                exts.push(x509::authority_info_access(None, Some(&urls.ca_certificate(CaLevel::Issuing))));
            }
        }
        exts.push(x509::subject_key_identifier(subject_key_id));
        if let Some(aki) = authority_key_id {
            exts.push(x509::authority_key_identifier(aki));
        }
        if !emails.is_empty() {
            exts.push(x509::subject_alt_name_emails(emails)?);
        }
        Ok(exts)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = Error;

    /// The [`Profile::name`]s, and `seal` for [`Profile::Organization`].
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.eq_ignore_ascii_case("seal") {
            return Ok(Self::Organization);
        }
        Self::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s)).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "unknown profile '{s}' (person, organization or seal, tls-client, tsa, ocsp, root-ca, issuing-ca)"
            ))
        })
    }
}

/// Where Signet serves its CA certificates, CRLs and OCSP, under one public base URL:
/// `{base}/crl/{root|issuing}.crl`, `{base}/ca/{root|issuing}.crt` (DER), `{base}/ocsp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrls {
    base: String,
}

impl PublicUrls {
    /// The default base, where `signet serve` listens by default.
    pub const DEFAULT_BASE: &'static str = "http://127.0.0.1:8080";

    /// URLs under `base`, an `http` or `https` URL without query or fragment (a trailing `/`
    /// is dropped). Relying parties fetch CRLs and OCSP over plain HTTP (RFC 5280 §4.2.1.13,
    /// RFC 6960 App. A), so `http` is the usual choice.
    pub fn new(base: &str) -> Result<Self, Error> {
        let base = base.trim().trim_end_matches('/');
        let rest = base.strip_prefix("http://").or_else(|| base.strip_prefix("https://"));
        let ok = rest.is_some_and(|r| {
            !r.is_empty() && r.is_ascii() && !r.contains(['?', '#', ' ', '"', '<', '>']) && !r.starts_with('/')
        });
        if !ok {
            return Err(Error::InvalidRequest(format!(
                "public URL '{base}' must be http:// or https:// followed by a host, without query or fragment"
            )));
        }
        Ok(Self { base: base.to_owned() })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The CRL of a CA.
    pub fn crl(&self, level: CaLevel) -> String {
        format!("{}/crl/{}.crl", self.base, level.name())
    }

    /// A CA's certificate (DER), for authorityInfoAccess caIssuers.
    pub fn ca_certificate(&self, level: CaLevel) -> String {
        format!("{}/ca/{}.crt", self.base, level.name())
    }

    /// The OCSP responder.
    pub fn ocsp(&self) -> String {
        format!("{}/ocsp", self.base)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = PublicUrls::new("https://pki.example.com/signet/").unwrap();
        assert_eq!(u.crl(CaLevel::Issuing), "https://pki.example.com/signet/crl/issuing.crl");
        assert_eq!(u.ca_certificate(CaLevel::Root), "https://pki.example.com/signet/ca/root.crt");
        assert_eq!(u.ocsp(), "https://pki.example.com/signet/ocsp");
        for bad in ["", "ftp://x", "http://", "http://x?y", "127.0.0.1:8080"] {
            assert!(PublicUrls::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn profile_names() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>().unwrap(), p);
        }
        assert_eq!("Seal".parse::<Profile>().unwrap(), Profile::Organization);
        assert!("king".parse::<Profile>().is_err());
    }
}
