//! Signing identities: a key (in Signet's keystore or on a PKCS#11 token) and its
//! certificate chain.

use serde::{Deserialize, Serialize};

use crate::operations::*;
use crate::{Client, Result};

/// Where an identity's private key is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KeyStoreKind {
    /// Sealed in the server's keystore.
    #[default]
    Keystore,
    /// On a PKCS#11 token.
    Pkcs11,
    /// A kind this version of the client does not know.
    #[serde(other)]
    Other,
}

/// A signing identity (never its private key).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Identity {
    /// Its id.
    pub id: String,
    /// Its name: what [`SignOptions::identity`](crate::SignOptions::identity) and
    /// [`SignHash::identity`](crate::SignHash::identity) give.
    pub name: String,
    /// Where its key is.
    pub key_store: KeyStoreKind,
    /// SHA-256 of the public key, hexadecimal.
    pub key_id: String,
    /// The signer's subject, RFC 4514 style.
    pub subject: String,
    /// Certificate serial number, hexadecimal.
    pub serial: String,
    /// Validity, RFC 3339.
    pub not_before: String,
    /// Validity, RFC 3339.
    pub not_after: String,
    /// The chain, DER, signer first.
    #[serde(deserialize_with = "crate::b64::list::deserialize")]
    pub certificate_chain: Vec<Vec<u8>>,
    /// An upper bound of the B-B CMS size for SHA-256, in bytes.
    pub estimated_cms_bytes: u64,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A new identity: give one of `issue` (a key made in the keystore and certified by the
/// built-in CA), `pkcs12` (imported) or `pkcs11` (a key on a token).
///
/// ```
/// use signet_client::{CreateIdentity, IssueParams};
///
/// let seal = CreateIdentity::issue("company-seal", IssueParams {
///     organization: Some("ACME Ltd".into()),
///     country: Some("FR".into()),
///     ..IssueParams::new("ACME Ltd company seal")
/// });
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateIdentity {
    /// Unique within the tenant: letters, digits, `-`, `_`, `.`; 1–64 characters.
    pub name: String,
    /// A certificate from the built-in CA for a new key (or, with `pkcs11`, for the token's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<IssueParams>,
    /// A PKCS#12 file to import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs12: Option<Pkcs12Params>,
    /// A key on a PKCS#11 token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11Params>,
}

impl CreateIdentity {
    /// An identity whose key the server makes, certified by its CA.
    pub fn issue(name: impl Into<String>, params: IssueParams) -> CreateIdentity {
        CreateIdentity { name: name.into(), issue: Some(params), ..Default::default() }
    }

    /// An identity imported from a PKCS#12 file's bytes.
    pub fn pkcs12(name: impl Into<String>, data: Vec<u8>, password: impl Into<String>) -> CreateIdentity {
        CreateIdentity {
            name: name.into(),
            pkcs12: Some(Pkcs12Params { data, password: password.into() }),
            ..Default::default()
        }
    }
}

/// The subject and key of a new certificate from the built-in CA.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IssueParams {
    /// commonName (required).
    pub common_name: String,
    /// organizationName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// organizationalUnitName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    /// organizationIdentifier, e.g. a registration number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_identifier: Option<String>,
    /// countryName (two letters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// E-mail for subjectAltName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `person` or `organization` (also `seal`; the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Key to generate: `p-256` (default), `p-384`, `rsa-2048`, `rsa-3072`, `rsa-4096`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Validity in days (default: the profile's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity_days: Option<i64>,
}

impl IssueParams {
    /// A certificate for `common_name`, everything else by default.
    pub fn new(common_name: impl Into<String>) -> IssueParams {
        IssueParams { common_name: common_name.into(), ..Default::default() }
    }
}

/// A PKCS#12 file to import.
#[derive(Clone, PartialEq, Serialize)]
pub struct Pkcs12Params {
    /// The file.
    #[serde(with = "crate::b64::bytes")]
    pub data: Vec<u8>,
    /// Its password.
    pub password: String,
}

impl std::fmt::Debug for Pkcs12Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs12Params").field("data", &format!("{} bytes", self.data.len())).finish_non_exhaustive()
    }
}

/// A key on a PKCS#11 token of the server.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Pkcs11Params {
    /// The token's label.
    pub token: String,
    /// The key's `CKA_LABEL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_label: Option<String>,
    /// The key's `CKA_ID`, hexadecimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The certificate chain (DER, signer first), when the key is certified already and its
    /// certificate is not on the token.
    #[serde(with = "crate::b64::opt_list", skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<Vec<Vec<u8>>>,
    /// The key's SubjectPublicKeyInfo (DER), for the built-in CA to certify (with `issue`).
    #[serde(with = "crate::b64::opt_bytes", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Vec<u8>>,
}

/// Signing identities.
impl Client {
    /// `GET /api/v1/identities`: the tenant's identities.
    pub fn list_identities(&self) -> Result<Vec<Identity>> {
        self.call(LIST_IDENTITIES, &[]).answer()
    }

    /// `POST /api/v1/identities`: creates an identity (scope `manage`).
    pub fn create_identity(&self, identity: &CreateIdentity) -> Result<Identity> {
        self.call(CREATE_IDENTITY, &[]).json(identity)
    }

    /// `GET /api/v1/identities/{name}`.
    pub fn show_identity(&self, name: &str) -> Result<Identity> {
        self.call(SHOW_IDENTITY, &[name]).answer()
    }
}
