//! The built-in trust services as the signing code's network: a [`Fetcher`] that answers
//! requests for the authority's own URLs (TSA, OCSP, CRLs, CA certificates) in process, the
//! same bytes the HTTP routes would send, and goes over HTTP for anything else (an imported
//! identity's own CA, an external TSA).

use std::sync::Arc;

use signet_authority::{Authority, CaLevel};
use signet_pades::{FetchError, Fetched, Fetcher, HttpFetcher};

use crate::TrustServices;

/// See the module documentation.
pub(crate) struct LocalFetcher {
    base: String,
    authority: Arc<Authority>,
    trust: TrustServices,
    http: HttpFetcher,
}

impl std::fmt::Debug for LocalFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalFetcher").field("base", &self.base).finish_non_exhaustive()
    }
}

impl LocalFetcher {
    /// Answers for `base` (the authority's public URL) in process.
    pub(crate) fn new(base: &str, authority: Arc<Authority>, trust: TrustServices) -> Self {
        LocalFetcher { base: base.trim_end_matches('/').to_string(), authority, trust, http: HttpFetcher::default() }
    }

    /// The URL of the built-in TSA.
    pub(crate) fn tsa_url(&self) -> String {
        format!("{}/tsa", self.base)
    }

    fn local_path<'u>(&self, url: &'u str) -> Option<&'u str> {
        url.strip_prefix(self.base.as_str()).filter(|p| p.starts_with('/'))
    }
}

fn fetched(content_type: &str, body: Vec<u8>) -> Result<Fetched, FetchError> {
    Ok(Fetched::new(content_type, body))
}

fn failed(url: &str, detail: String) -> FetchError {
    FetchError::Unreachable { url: url.to_string(), detail }
}

impl Fetcher for LocalFetcher {
    fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let Some(path) = self.local_path(url) else { return self.http.get(url) };
        match path {
            "/crl/root.crl" | "/crl/issuing.crl" => {
                let level = if path == "/crl/root.crl" { CaLevel::Root } else { CaLevel::Issuing };
                let crl = self.authority.crl(level).map_err(|e| failed(url, e.to_string()))?;
                fetched("application/pkix-crl", crl)
            }
            "/ca/root.crt" => fetched("application/pkix-cert", self.authority.ca_certificate(CaLevel::Root).to_vec()),
            "/ca/issuing.crt" => {
                fetched("application/pkix-cert", self.authority.ca_certificate(CaLevel::Issuing).to_vec())
            }
            p if p.starts_with("/ocsp/") => {
                let responder = self.trust.ocsp.as_ref().ok_or_else(|| failed(url, "no OCSP responder".into()))?;
                fetched("application/ocsp-response", responder.respond_get(&p["/ocsp/".len()..]).der)
            }
            _ => Err(FetchError::Status { url: url.to_string(), status: 404 }),
        }
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Fetched, FetchError> {
        let Some(path) = self.local_path(url) else { return self.http.post(url, content_type, body) };
        match path {
            "/ocsp" => {
                let responder = self.trust.ocsp.as_ref().ok_or_else(|| failed(url, "no OCSP responder".into()))?;
                fetched("application/ocsp-response", responder.respond(body).der)
            }
            "/tsa" => {
                let tsa = self.trust.tsa.as_ref().ok_or_else(|| failed(url, "no timestamp authority".into()))?;
                fetched("application/timestamp-reply", tsa.respond(body).der)
            }
            _ => Err(FetchError::Status { url: url.to_string(), status: 404 }),
        }
    }
}
