//! The service itself and the public parts of its trust services.

use serde::Deserialize;

use crate::operations::*;
use crate::{Client, Result, Sink};

/// `GET /healthz`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Health {
    /// `ok`: the server answers.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// A certificate authority of the built-in CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaCertificate {
    /// The root: the trust anchor to give validators.
    Root,
    /// The issuing CA, which certifies identities and seals.
    Issuing,
}

/// Service and trust services (no key needed).
impl Client {
    /// `GET /healthz`.
    pub fn health(&self) -> Result<Health> {
        self.call(HEALTH, &[]).answer()
    }

    /// `GET /api/openapi.json`: the OpenAPI 3.1 document of the server.
    pub fn openapi_document(&self) -> Result<serde_json::Value> {
        self.call(OPENAPI, &[]).answer()
    }

    /// `GET /ca/root.crt` or `/ca/issuing.crt`: a CA certificate, DER.
    pub fn ca_certificate(&self, which: CaCertificate) -> Result<Vec<u8>> {
        let op = match which {
            CaCertificate::Root => ROOT_CERTIFICATE,
            CaCertificate::Issuing => ISSUING_CERTIFICATE,
        };
        let mut der = Vec::new();
        self.call(op, &[]).download(Sink::Writer(&mut der))?;
        Ok(der)
    }

    /// `GET /ca/root.crt`: the root certificate, DER: what validators trust.
    pub fn root_certificate(&self) -> Result<Vec<u8>> {
        self.ca_certificate(CaCertificate::Root)
    }

    /// `GET /crl/root.crl` or `/crl/issuing.crl`: the CA's current CRL, DER.
    pub fn crl(&self, which: CaCertificate) -> Result<Vec<u8>> {
        let op = match which {
            CaCertificate::Root => ROOT_CRL,
            CaCertificate::Issuing => ISSUING_CRL,
        };
        let mut der = Vec::new();
        self.call(op, &[]).download(Sink::Writer(&mut der))?;
        Ok(der)
    }
}
