//! TLS client certificates registered as credentials: an API client's (with scopes), or a
//! user's second factor at login. This client does not itself speak TLS; it manages the
//! registrations that clients connecting over TLS are then known by.

use serde::{Deserialize, Serialize};

use crate::operations::*;
use crate::{Client, Query, Result, Scope};

/// A registered client certificate.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClientCertificate {
    /// `ccert_…`
    pub id: String,
    /// The tenant it authenticates to.
    pub tenant_id: String,
    /// The user whose second factor it is; `None` for an API client's certificate.
    pub user_id: Option<String>,
    /// A label.
    pub name: String,
    /// What an API client holding it may do.
    pub scopes: Vec<Scope>,
    /// SHA-256 of the certificate's DER encoding, lowercase hexadecimal.
    pub fingerprint: String,
    /// The subject, RFC 4514 style.
    pub subject: String,
    /// The issuer, RFC 4514 style.
    pub issuer: String,
    /// The serial number, uppercase hexadecimal.
    pub serial: String,
    /// Start of validity (Unix milliseconds).
    pub not_before: i64,
    /// End of validity (Unix milliseconds).
    pub not_after: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Set once the registration is revoked.
    pub revoked_at: Option<i64>,
}

/// An API client's certificate to register.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisterCertificate {
    /// The certificate, PEM (never its private key).
    pub certificate: String,
    /// A label.
    pub name: String,
    /// What the client may do.
    pub scopes: Vec<Scope>,
    /// The tenant, when the operator registers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

impl RegisterCertificate {
    /// The PEM certificate `certificate`, labelled `name`, with `scopes`, for the caller's
    /// tenant.
    pub fn new(certificate: impl Into<String>, name: impl Into<String>, scopes: &[Scope]) -> RegisterCertificate {
        RegisterCertificate {
            certificate: certificate.into(),
            name: name.into(),
            scopes: scopes.to_vec(),
            tenant_id: None,
        }
    }
}

#[derive(Serialize)]
struct BindCertificate<'a> {
    certificate: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// Client certificates.
impl Client {
    /// `POST /api/v1/client-certificates`: registers an API client's certificate (PEM) with
    /// scopes.
    ///
    /// Proof of possession: a tenant's registration succeeds only over a TLS connection that
    /// presents this very certificate, so that no tenant registers another's client as its
    /// own. This client speaks no TLS itself: call through a TLS proxy that presents the
    /// certificate and its key, or the server answers 403 `possession_required`. An operator
    /// key registers for any tenant ([`RegisterCertificate::tenant_id`]) without it.
    pub fn register_client_certificate(&self, registration: &RegisterCertificate) -> Result<ClientCertificate> {
        self.call(REGISTER_CLIENT_CERTIFICATE, &[]).json(registration)
    }

    /// `GET /api/v1/client-certificates`: the API clients' certificates (the operator: every
    /// tenant's, or `tenant_id`'s).
    pub fn list_client_certificates(&self, tenant_id: Option<&str>) -> Result<Vec<ClientCertificate>> {
        let mut q = Query::default();
        q.opt("tenant_id", tenant_id);
        self.call(LIST_CLIENT_CERTIFICATES, &[]).query(&q).answer()
    }

    /// `DELETE /api/v1/client-certificates/{id}`: the certificate no longer gets in.
    pub fn revoke_client_certificate(&self, id: &str) -> Result<ClientCertificate> {
        self.call(REVOKE_CLIENT_CERTIFICATE, &[id]).answer()
    }

    /// `POST /api/v1/users/{id}/client-certificates`: binds a certificate (PEM) to a user as
    /// their second factor.
    pub fn bind_user_certificate(
        &self,
        user_id: &str,
        certificate: &str,
        name: Option<&str>,
    ) -> Result<ClientCertificate> {
        self.call(BIND_USER_CERTIFICATE, &[user_id]).json(&BindCertificate { certificate, name })
    }

    /// `GET /api/v1/users/{id}/client-certificates`.
    pub fn list_user_certificates(&self, user_id: &str) -> Result<Vec<ClientCertificate>> {
        self.call(LIST_USER_CERTIFICATES, &[user_id]).answer()
    }

    /// `DELETE /api/v1/users/{id}/client-certificates/{certificate}`.
    pub fn unbind_user_certificate(&self, user_id: &str, id: &str) -> Result<ClientCertificate> {
        self.call(UNBIND_USER_CERTIFICATE, &[user_id, id]).answer()
    }
}
