//! Gathering long-term validation data (PAdES B-LT, ETSI EN 319 142-1 §5.4, §6.3): every
//! certificate, OCSP response and CRL needed to validate the signer's and the TSA's
//! certificate paths offline, for the document security store.
//!
//! For each certificate of each path, from the given leaves up to a trust anchor: its issuer
//! (among the given certificates, else from its AIA caIssuers URL, RFC 5280 §4.2.2.1), and,
//! unless it is a trust anchor, revocation data verified against that issuer: an OCSP
//! response from its AIA OCSP URL (RFC 6960), whose delegated responder certificate is then
//! collected like any other (its revocation data too, unless it carries id-pkix-ocsp-nocheck,
//! RFC 6960 §4.2.2.2.1), and the CRL of its cRLDistributionPoints (RFC 5280 §4.2.1.13).
//!
//! Both OCSP and CRLs by default ([`Revocation::OcspAndCrl`]): pyHanko 0.38 validating
//! offline does not fall back to OCSP responses found in the DSS for some certificates but
//! does use DSS CRLs, so an archive should carry both; the CRLs of a private CA are small.
//!
//! Anything missing is an error naming the certificate and what is missing (no issuer, no
//! revocation source, revoked, responder unreachable...): incomplete data would produce a file
//! that validators call non-LTV. Data older than the signature time is kept but reported in
//! [`ValidationData::notes`] (freshness, ETSI EN 319 102-1 §5.2.5): the caller decides.

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use signet_cms::certpath::name_to_string;
use signet_cms::crl::Crl;
use signet_cms::ocsp::{self, CertId, CertIdHash, CertStatus, OcspResponse};
use signet_cms::{CertView, oid};
use signet_crypto::asn1::{self, tag};

use crate::fetch::{FetchError, Fetcher};

/// Which revocation data to gather for each certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// OCSP where the certificate names a responder, and also the CRL where it names one; at
    /// least one of the two (see the module documentation).
    #[default]
    OcspAndCrl,
    /// OCSP where the certificate names a responder; the CRL only when it names none.
    OcspPreferred,
    /// CRLs only.
    CrlOnly,
}

/// What [`collect`] gathered: DER items for the DSS `/Certs`, `/OCSPs` and `/CRLs`
/// (ETSI EN 319 142-1 §5.4.2), each without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationData {
    /// Certificates: the paths' certificates (trust anchors included) and the OCSP
    /// responders'.
    pub certs: Vec<Vec<u8>>,
    /// `OCSPResponse`s.
    pub ocsps: Vec<Vec<u8>>,
    /// CRLs.
    pub crls: Vec<Vec<u8>>,
    /// Findings that did not stop the collection, e.g. revocation data older than the
    /// signature time.
    pub notes: Vec<String>,
}

impl ValidationData {
    /// Validation data received from elsewhere (a hash-signing service).
    pub fn new(certs: Vec<Vec<u8>>, ocsps: Vec<Vec<u8>>, crls: Vec<Vec<u8>>) -> Self {
        ValidationData { certs, ocsps, crls, notes: Vec::new() }
    }
}

/// Why validation data could not be gathered. Each names the certificate concerned.
#[derive(Debug)]
#[non_exhaustive]
pub enum LtvError {
    /// A given certificate could not be read.
    Malformed {
        /// Which.
        what: String,
        /// Why.
        detail: String,
    },
    /// No issuer among the given certificates, and none from AIA caIssuers.
    NoIssuer {
        /// The certificate's subject.
        subject: String,
        /// Its issuer's name.
        issuer: String,
    },
    /// The certificate names no OCSP responder nor CRL (as the policy requires).
    NoRevocationSource {
        /// The certificate's subject.
        subject: String,
    },
    /// The certificate is revoked.
    Revoked {
        /// The certificate's subject.
        subject: String,
        /// "OCSP" or "CRL".
        source: &'static str,
        /// Reason and time.
        detail: String,
    },
    /// The responder does not know the certificate (OCSP "unknown", RFC 6960 §2.2).
    UnknownToResponder {
        /// The certificate's subject.
        subject: String,
    },
    /// Fetching failed.
    Fetch {
        /// The certificate's subject.
        subject: String,
        /// What was being fetched: "OCSP response", "CRL", "issuer certificate".
        what: &'static str,
        /// The transport error.
        source: FetchError,
    },
    /// Fetched data is malformed or does not verify.
    Invalid {
        /// The certificate's subject.
        subject: String,
        /// What: "OCSP response", "CRL", "issuer certificate".
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The paths are longer than [`MAX_CERTIFICATES`] certificates in all.
    TooMany,
}

/// Most certificates one collection visits (paths, responders, their issuers).
pub const MAX_CERTIFICATES: usize = 64;

impl fmt::Display for LtvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { what, detail } => write!(f, "malformed {what}: {detail}"),
            Self::NoIssuer { subject, issuer } if subject == issuer => {
                write!(f, "'{subject}' is self-signed but not one of the trust anchors")
            }
            Self::NoIssuer { subject, issuer } => write!(
                f,
                "no issuer certificate '{issuer}' for '{subject}' among the given certificates or at its caIssuers URL"
            ),
            Self::NoRevocationSource { subject } => {
                write!(f, "'{subject}' names no OCSP responder or CRL distribution point: no revocation data")
            }
            Self::Revoked { subject, source, detail } => write!(f, "'{subject}' is revoked ({source}: {detail})"),
            Self::UnknownToResponder { subject } => write!(f, "the OCSP responder does not know '{subject}'"),
            Self::Fetch { subject, what, source } => write!(f, "{what} for '{subject}': {source}"),
            Self::Invalid { subject, what, detail } => write!(f, "{what} for '{subject}': {detail}"),
            Self::TooMany => write!(f, "more than {MAX_CERTIFICATES} certificates to collect validation data for"),
        }
    }
}

impl std::error::Error for LtvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Fetch { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Gathers the validation data of the paths from each of `leaves` (the signer's certificate,
/// the TSA's...) to one of `trust_anchors`, using `extra_certs` (e.g. the certificates of the
/// CMS and of the timestamp token) as candidate issuers and fetching what is missing through
/// `fetcher`. `at` is the time the data must be fresh for: the signature timestamp's genTime.
pub fn collect(
    leaves: &[Vec<u8>],
    extra_certs: &[Vec<u8>],
    trust_anchors: &[Vec<u8>],
    fetcher: &dyn Fetcher,
    at: SystemTime,
    policy: Revocation,
) -> Result<ValidationData, LtvError> {
    for (i, c) in leaves.iter().chain(extra_certs).chain(trust_anchors).enumerate() {
        CertView::parse(c)
            .map_err(|e| LtvError::Malformed { what: format!("certificate #{i}"), detail: e.to_string() })?;
    }
    let mut c = Collector {
        fetcher,
        at,
        policy,
        anchors: trust_anchors,
        pool: leaves.iter().chain(extra_certs).cloned().collect(),
        crl_cache: HashMap::new(),
        out: ValidationData::default(),
        visited: Vec::new(),
    };
    let mut queue: Vec<Vec<u8>> = leaves.to_vec();
    while let Some(cert) = queue.pop() {
        if c.visited.contains(&cert) {
            continue;
        }
        if c.visited.len() >= MAX_CERTIFICATES {
            return Err(LtvError::TooMany);
        }
        c.visited.push(cert.clone());
        c.push_cert(&cert);
        if c.anchors.contains(&cert) {
            continue; // anchors need no revocation data
        }
        let issuer = c.issuer_of(&cert)?;
        c.revocation(&cert, &issuer, &mut queue)?;
        queue.push(issuer);
    }
    Ok(c.out)
}

struct Collector<'a> {
    fetcher: &'a dyn Fetcher,
    at: SystemTime,
    policy: Revocation,
    anchors: &'a [Vec<u8>],
    pool: Vec<Vec<u8>>,
    /// CRL URL → the CRL's DER (one CRL covers many certificates).
    crl_cache: HashMap<String, Vec<u8>>,
    out: ValidationData,
    visited: Vec<Vec<u8>>,
}

fn subject_of(cert: &[u8]) -> String {
    CertView::parse(cert).map(|c| name_to_string(c.subject)).unwrap_or_else(|_| "(unreadable certificate)".into())
}

fn push_unique(list: &mut Vec<Vec<u8>>, item: &[u8]) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_vec());
    }
}

/// Whether `issuer` issued `child`: names, key identifiers when both present, and the signature.
fn issued_by(child: &CertView<'_>, issuer: &CertView<'_>) -> bool {
    if child.issuer != issuer.subject {
        return false;
    }
    if let (Some(aki), Some(ski)) = (child.authority_key_id(), issuer.subject_key_id()) {
        if aki != ski {
            return false;
        }
    }
    signet_crypto::SignatureAlgorithm::from_algorithm_identifier(child.signature_algorithm, None)
        .and_then(|alg| signet_crypto::verify_signature(issuer.spki, &alg, child.tbs, child.signature))
        .is_ok()
}

impl Collector<'_> {
    fn push_cert(&mut self, cert: &[u8]) {
        push_unique(&mut self.out.certs, cert);
    }

    fn issuer_of(&mut self, cert: &[u8]) -> Result<Vec<u8>, LtvError> {
        let view =
            CertView::parse(cert).map_err(|e| LtvError::Malformed { what: subject_of(cert), detail: e.to_string() })?;
        let subject = name_to_string(view.subject);
        let found = self
            .anchors
            .iter()
            .chain(self.pool.iter())
            .find(|cand| cand.as_slice() != cert && CertView::parse(cand).is_ok_and(|i| issued_by(&view, &i)));
        if let Some(i) = found {
            return Ok(i.clone());
        }
        let mut last_err = None;
        for url in view.aia_uris(&oid::AD_CA_ISSUERS) {
            let body = match self.fetcher.get(&url) {
                Ok(f) => f.body,
                Err(source) => {
                    last_err = Some(LtvError::Fetch { subject: subject.clone(), what: "issuer certificate", source });
                    continue;
                }
            };
            let certs = certificates_from_ca_issuers(&body);
            if let Some(i) = certs.iter().find(|c| CertView::parse(c).is_ok_and(|i| issued_by(&view, &i))) {
                self.pool.extend(certs.iter().cloned());
                return Ok(i.clone());
            }
            last_err = Some(LtvError::Invalid {
                subject: subject.clone(),
                what: "issuer certificate",
                detail: format!("{url} holds no certificate that issued it"),
            });
        }
        Err(last_err.unwrap_or(LtvError::NoIssuer { subject, issuer: name_to_string(view.issuer) }))
    }

    fn revocation(&mut self, cert: &[u8], issuer: &[u8], queue: &mut Vec<Vec<u8>>) -> Result<(), LtvError> {
        let view =
            CertView::parse(cert).map_err(|e| LtvError::Malformed { what: subject_of(cert), detail: e.to_string() })?;
        let subject = name_to_string(view.subject);
        // RFC 6960 §4.2.2.2.1: a responder certificate with id-pkix-ocsp-nocheck is trusted
        // for its lifetime; its status is not checked.
        if view.extension(&oid::OCSP_NOCHECK).is_some() && view.extended_key_usage().contains(&oid::KP_OCSP_SIGNING) {
            return Ok(());
        }
        let ocsp_urls = view.aia_uris(&oid::AD_OCSP);
        let crl_urls = view.crl_distribution_uris();
        let use_ocsp = self.policy != Revocation::CrlOnly && !ocsp_urls.is_empty();
        let use_crl = match self.policy {
            Revocation::OcspAndCrl | Revocation::CrlOnly => !crl_urls.is_empty(),
            Revocation::OcspPreferred => ocsp_urls.is_empty() && !crl_urls.is_empty(),
        };
        if !use_ocsp && !use_crl {
            return Err(LtvError::NoRevocationSource { subject });
        }
        if use_ocsp {
            let responder = self.ocsp(&subject, cert, issuer, &ocsp_urls)?;
            if responder.as_slice() != issuer {
                self.pool.push(responder.clone());
                queue.push(responder);
            }
        }
        if use_crl {
            self.crl(&subject, &view, issuer, &crl_urls)?;
        }
        Ok(())
    }

    /// Fetches and checks an OCSP response for `cert`; returns the responder's certificate.
    fn ocsp(&mut self, subject: &str, cert: &[u8], issuer: &[u8], urls: &[String]) -> Result<Vec<u8>, LtvError> {
        let invalid =
            |detail: String| LtvError::Invalid { subject: subject.to_string(), what: "OCSP response", detail };
        let id = CertId::new(cert, issuer, CertIdHash::Sha1).map_err(|e| invalid(e.to_string()))?;
        let nonce = signet_cms::tsp::random_nonce().map_err(|e| invalid(e.to_string()))?;
        let request = ocsp::ocsp_request(std::slice::from_ref(&id), Some(&nonce));
        let mut last_err = None;
        for url in urls {
            match self.fetcher.post(url, "application/ocsp-request", &request) {
                Ok(reply) => return self.accept_ocsp(subject, &id, issuer, &nonce, url, &reply.body),
                Err(source) => {
                    last_err = Some(LtvError::Fetch { subject: subject.to_string(), what: "OCSP response", source });
                }
            }
        }
        Err(last_err.unwrap_or_else(|| LtvError::NoRevocationSource { subject: subject.to_string() }))
    }

    fn accept_ocsp(
        &mut self,
        subject: &str,
        id: &CertId,
        issuer: &[u8],
        nonce: &[u8],
        url: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, LtvError> {
        let invalid = |detail: String| LtvError::Invalid {
            subject: subject.to_string(),
            what: "OCSP response",
            detail: format!("{url}: {detail}"),
        };
        let resp = OcspResponse::parse(body).map_err(|e| invalid(e.to_string()))?;
        if resp.nonce.as_deref().is_some_and(|n| n != nonce) {
            return Err(invalid("the nonce differs from the request's (a replayed response?)".into()));
        }
        let responder = resp.verify(issuer, resp.produced_at).map_err(|e| invalid(e.to_string()))?;
        if let Some(ext) = resp.unhandled_critical.first() {
            return Err(invalid(format!("unsupported critical extension {ext}")));
        }
        let single = resp.status_for(id).ok_or_else(|| invalid("no status for this certificate".into()))?;
        match single.status {
            CertStatus::Good => {}
            CertStatus::Revoked { time, reason } => {
                return Err(LtvError::Revoked {
                    subject: subject.to_string(),
                    source: "OCSP",
                    detail: format!(
                        "since {}{}",
                        utc(time),
                        reason.map(|r| format!(", reason {r}")).unwrap_or_default()
                    ),
                });
            }
            CertStatus::Unknown => return Err(LtvError::UnknownToResponder { subject: subject.to_string() }),
            _ => return Err(invalid("unrecognised status".into())),
        }
        // producedAt and thisUpdate carry whole seconds (RFC 6960 §4.2.2.1 GeneralizedTime
        // without fraction): an answer from the same second as `at` is as fresh as it can be
        let at = asn1::whole_seconds(self.at);
        if resp.produced_at < at || single.this_update < at {
            self.out.notes.push(format!(
                "the OCSP response for '{subject}' ({url}) was produced before the signature time (EN 319 102-1 §5.2.5)"
            ));
        }
        push_unique(&mut self.out.ocsps, body);
        Ok(responder)
    }

    fn crl(&mut self, subject: &str, view: &CertView<'_>, issuer: &[u8], urls: &[String]) -> Result<(), LtvError> {
        let mut last_err = None;
        for url in urls {
            let der = match self.crl_cache.get(url) {
                Some(d) => d.clone(),
                None => match self.fetcher.get(url) {
                    Ok(f) => f.body,
                    Err(source) => {
                        last_err = Some(LtvError::Fetch { subject: subject.to_string(), what: "CRL", source });
                        continue;
                    }
                },
            };
            let invalid = |detail: String| LtvError::Invalid {
                subject: subject.to_string(),
                what: "CRL",
                detail: format!("{url}: {detail}"),
            };
            let crl = Crl::parse(&der).map_err(|e| invalid(e.to_string()))?;
            crl.verify(issuer).map_err(|e| invalid(e.to_string()))?;
            crl.check_usable().map_err(|e| invalid(e.to_string()))?;
            if let Some(entry) = crl.revoked(view.serial_bytes()) {
                return Err(LtvError::Revoked {
                    subject: subject.to_string(),
                    source: "CRL",
                    detail: format!(
                        "since {}{}",
                        utc(entry.revocation_date),
                        entry.reason.map(|r| format!(", reason {r}")).unwrap_or_default()
                    ),
                });
            }
            // A CRL is issued on a schedule, usually before the signature: validators judge it by
            // its thisUpdate–nextUpdate window (EN 319 102-1 §5.2.5.4 item 2), so only a CRL
            // already past its nextUpdate is worth a note.
            if !self.crl_cache.contains_key(url) {
                if crl.next_update.is_some_and(|n| n < SystemTime::now()) {
                    self.out.notes.push(format!("the CRL {url} is past its nextUpdate"));
                }
                self.crl_cache.insert(url.clone(), der.clone());
            }
            push_unique(&mut self.out.crls, &der);
            return Ok(());
        }
        Err(last_err.unwrap_or_else(|| LtvError::NoRevocationSource { subject: subject.to_string() }))
    }
}

/// "2026-03-01 12:00:00 UTC"
fn utc(t: SystemTime) -> String {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (y, m, d) = asn1::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

/// The certificates at a caIssuers URL (RFC 5280 §4.2.2.1): one DER certificate, a PKCS#7
/// "certs-only" `SignedData` (RFC 5652 §5 with no signers), or PEM.
fn certificates_from_ca_issuers(body: &[u8]) -> Vec<Vec<u8>> {
    if CertView::parse(body).is_ok() {
        return vec![body.to_vec()];
    }
    if let Some(certs) = certs_only(body) {
        return certs;
    }
    signet_crypto::certificates_from_pem_or_der(body).unwrap_or_default()
}

/// `ContentInfo { signedData, [0] SignedData { version, digestAlgorithms, encapContentInfo,
/// certificates [0] IMPLICIT CertificateSet, ... } }`.
fn certs_only(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let ci = asn1::parse_single(body).ok()?.expect(tag::SEQUENCE).ok()?;
    let mut r = ci.reader();
    if asn1::decode_oid(&r.read().ok()?).ok()? != oid::SIGNED_DATA {
        return None;
    }
    let sd = asn1::parse_single(r.read_expect(tag::CTX0).ok()?.value).ok()?.expect(tag::SEQUENCE).ok()?;
    let mut s = sd.reader();
    s.read_expect(tag::INTEGER).ok()?;
    s.read_expect(tag::SET).ok()?;
    s.read_expect(tag::SEQUENCE).ok()?;
    let set = s.read_expect(tag::CTX0).ok()?;
    let mut cr = set.reader();
    let mut out = Vec::new();
    while !cr.is_empty() {
        let c = cr.read().ok()?;
        if c.tag == tag::SEQUENCE {
            out.push(c.raw.to_vec());
        }
    }
    Some(out)
}
