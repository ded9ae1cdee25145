//! Options shared by `signet sign` and `signet extend` for the services levels above B-B
//! need: a timestamp authority, and where validation data comes from.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use signet_crypto::DigestAlgorithm;
use signet_pades::{HttpFetcher, OnlineValidation, Revocation, Services, TsaClient};

use crate::sign::Usage;

#[derive(Args, Debug, Clone)]
pub(crate) struct ServiceArgs {
    /// RFC 3161 timestamp authority URL (needed from b-t up), e.g. Signet's own
    /// http://127.0.0.1:8080/tsa.
    #[arg(long, value_name = "URL", env = "SIGNET_TSA_URL")]
    tsa: Option<String>,
    /// Ask the TSA for this policy OID.
    #[arg(long, value_name = "OID", requires = "tsa")]
    tsa_policy: Option<String>,
    /// Trust anchors (PEM or DER) where gathering validation data stops. Default: the
    /// self-signed roots the signature and timestamp carry or their AIA leads to.
    #[arg(long = "ltv-trust", value_name = "ROOT.pem")]
    ltv_trust: Vec<PathBuf>,
    /// Revocation data to embed for each certificate: both OCSP and CRL (offline validators
    /// differ in which they use), OCSP when available else CRL, or CRLs only.
    #[arg(long, value_name = "KIND", default_value = "ocsp-and-crl", value_parser = ["ocsp-and-crl", "ocsp", "crl"])]
    revocation: String,
    /// Time limit in seconds for each TSA, OCSP, CRL or certificate request.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    net_timeout: u64,
}

/// The network pieces behind [`Services`]; borrowed by it.
pub(crate) struct ServiceParts {
    fetcher: HttpFetcher,
    tsa_url: Option<String>,
    tsa_policy: Option<signet_cms::oid::ObjectIdentifier>,
    anchors: Vec<Vec<u8>>,
    revocation: Revocation,
}

impl ServiceArgs {
    pub(crate) fn parts(&self) -> anyhow::Result<ServiceParts> {
        let mut anchors = Vec::new();
        for p in &self.ltv_trust {
            let bytes = std::fs::read(p).map_err(|e| Usage(format!("cannot read {}: {e}", p.display())))?;
            anchors.extend(
                signet_crypto::certificates_from_pem_or_der(&bytes)
                    .map_err(|e| Usage(format!("{}: {e}", p.display())))?,
            );
        }
        let tsa_policy = self
            .tsa_policy
            .as_deref()
            .map(|o| {
                signet_cms::oid::ObjectIdentifier::new(o)
                    .map_err(|_| Usage(format!("--tsa-policy '{o}' is not an object identifier")))
            })
            .transpose()?;
        let revocation = match self.revocation.as_str() {
            "ocsp" => Revocation::OcspPreferred,
            "crl" => Revocation::CrlOnly,
            _ => Revocation::OcspAndCrl,
        };
        Ok(ServiceParts {
            fetcher: HttpFetcher::new(Duration::from_secs(self.net_timeout.max(1)), HttpFetcher::DEFAULT_MAX_RESPONSE),
            tsa_url: self.tsa.clone(),
            tsa_policy,
            anchors,
            revocation,
        })
    }
}

/// Owns the TSA client and the validation source so [`Services`] can borrow them.
pub(crate) struct BuiltServices<'a> {
    tsa: Option<TsaClient<'a>>,
    validation: OnlineValidation<'a>,
}

impl ServiceParts {
    pub(crate) fn tsa_url(&self) -> Option<&str> {
        self.tsa_url.as_deref()
    }

    pub(crate) fn build(&self) -> BuiltServices<'_> {
        let tsa = self.tsa_url.as_deref().map(|u| {
            let c = TsaClient::new(&self.fetcher, u);
            match self.tsa_policy {
                Some(p) => c.with_policy(p),
                None => c,
            }
        });
        BuiltServices { tsa, validation: OnlineValidation::new(&self.fetcher, self.anchors.clone(), self.revocation) }
    }
}

impl BuiltServices<'_> {
    pub(crate) fn services(&self, timestamp_digest: DigestAlgorithm) -> Services<'_> {
        Services {
            tsa: self.tsa.as_ref().map(|t| t as &dyn signet_pades::Timestamper),
            validation: Some(&self.validation),
            timestamp_digest,
        }
    }
}
