//! Revocation status of a certificate path from the validation data embedded in the document:
//! the DSS (ETSI EN 319 142-1 §5.4.2: `/Certs`, `/OCSPs`, `/CRLs`) and the CMS signed attribute
//! adbe-revocationInfoArchival (ISO 32000-1 §12.8.3.3.2, OID 1.2.840.113583.1.1.8) that
//! Adobe and pyHanko write. OCSP responses (RFC 6960 §4.2.2.2: signed by the issuer or its
//! delegated responder) are tried first, then CRLs (RFC 5280 §6.3.3: issued and signed by the
//! certificate's issuer). With an [`OnlineRevocation`] (`signet verify --online`), what the
//! embedded data leaves unknown is asked of the certificate's OCSP responder, else read from
//! its CRL distribution point.

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use signet_cms::crl::Crl;
use signet_cms::ocsp::{CertId, CertIdHash, CertStatus, OcspResponse};
use signet_cms::{CertView, ParsedSignedData, certpath, oid};
use signet_crypto::asn1::{self, tag};
use signet_pdf::{Document, Object, Source};

use crate::report::{CertRevocation, RevocationStatus, rfc3339};

/// adbe-revocationInfoArchival (ISO 32000-1 §12.8.3.3.2).
const ADBE_REVOCATION_INFO_ARCHIVAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113583.1.1.8");

/// Where a piece of validation data came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The document security store.
    Dss,
    /// The signature's adbe-revocationInfoArchival attribute.
    Cms,
    /// Fetched during validation.
    Online,
}

/// Network access for revocation data (the validator does no I/O of its own). Errors are
/// messages for the report.
pub trait OnlineRevocation: Send + Sync {
    /// `GET url` (a CRL): the body of a successful answer.
    fn get(&self, url: &str) -> Result<Vec<u8>, String>;
    /// `POST url` with `body` of type `content_type` (an OCSP request): the body of a
    /// successful answer.
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String>;
}

/// Revocation data for every certificate of `path` (end entity first) fetched through
/// `online`: an OCSP response from the certificate's AIA responder (RFC 6960 App. A.1, POST),
/// else its CRL (RFC 5280 §4.2.1.13). What cannot be fetched is simply missing: the path's
/// check then says why the status is unknown.
pub(crate) fn fetch_for_path(path: &[Vec<u8>], online: &dyn OnlineRevocation) -> Evidence {
    let mut ev = Evidence::default();
    for pair in path.windows(2) {
        let Ok(cert) = CertView::parse(&pair[0]) else { continue };
        if cert.extension(&oid::OCSP_NOCHECK).is_some() {
            continue;
        }
        let mut got = false;
        if let Ok(id) = CertId::new(&pair[0], &pair[1], CertIdHash::Sha1) {
            let request = signet_cms::ocsp::ocsp_request(std::slice::from_ref(&id), None);
            for url in cert.aia_uris(&oid::AD_OCSP) {
                if let Some(resp) = online
                    .post(&url, "application/ocsp-request", &request)
                    .ok()
                    .and_then(|b| OcspResponse::parse(&b).ok())
                {
                    ev.ocsps.push((Origin::Online, resp));
                    got = true;
                    break;
                }
            }
        }
        if !got {
            for url in cert.crl_distribution_uris() {
                if let Some(crl) = online.get(&url).ok().and_then(|b| Crl::parse(&b).ok()) {
                    ev.crls.push((Origin::Online, crl));
                    break;
                }
            }
        }
    }
    ev
}

impl Origin {
    fn name(self) -> &'static str {
        match self {
            Origin::Dss => "dss",
            Origin::Cms => "cms",
            Origin::Online => "online",
        }
    }
}

/// Parsed validation data.
#[derive(Default)]
pub(crate) struct Evidence {
    pub(crate) certs: Vec<Vec<u8>>,
    pub(crate) ocsps: Vec<(Origin, OcspResponse)>,
    pub(crate) crls: Vec<(Origin, Crl)>,
    /// Where the DSS dictionary is defined in the file (for "covered by a document timestamp").
    pub(crate) dss_offset: Option<u64>,
}

impl Evidence {
    /// The catalog's `/DSS` (ETSI EN 319 142-1 §5.4.2.2); unreadable entries are skipped.
    pub(crate) fn from_dss<S: Source>(doc: &mut Document<S>) -> Evidence {
        let mut ev = Evidence::default();
        let Ok(cat) = doc.catalog() else { return ev };
        let Some(dss_obj) = cat.get("DSS").cloned() else { return ev };
        ev.dss_offset = match &dss_obj {
            Object::Ref(r) => offset_of(doc, r.num),
            _ => doc.root_ref().ok().and_then(|r| offset_of(doc, r.num)),
        };
        let Ok(Object::Dict(dss)) = doc.resolve(&dss_obj) else { return ev };
        let mut streams = |key: &str| -> Vec<Vec<u8>> {
            let Ok(Some(Object::Array(items))) = doc.resolve_key(&dss, key) else { return Vec::new() };
            items
                .iter()
                .filter_map(|o| {
                    let id = o.as_ref();
                    match doc.resolve(o) {
                        Ok(Object::Stream(s)) => doc.decoded_stream_data(id, &s).ok(),
                        _ => None,
                    }
                })
                .collect()
        };
        ev.certs = streams("Certs");
        let ocsps = streams("OCSPs");
        let crls = streams("CRLs");
        ev.ocsps = ocsps.iter().filter_map(|d| OcspResponse::parse(d).ok()).map(|r| (Origin::Dss, r)).collect();
        ev.crls = crls.iter().filter_map(|d| Crl::parse(d).ok()).map(|c| (Origin::Dss, c)).collect();
        ev
    }

    /// The adbe-revocationInfoArchival signed attribute of `cms`:
    /// `RevocationInfoArchival ::= SEQUENCE { crl [0] EXPLICIT SEQUENCE OF CRLs OPTIONAL,
    /// ocsp [1] EXPLICIT SEQUENCE OF OCSPResponse OPTIONAL, otherRevInfo [2] ... OPTIONAL }`.
    pub(crate) fn from_cms(cms: &ParsedSignedData) -> Evidence {
        let mut ev = Evidence { certs: cms.certificates.clone(), ..Evidence::default() };
        for attr in cms.signed_attribute_list.iter().filter(|a| a.oid == ADBE_REVOCATION_INFO_ARCHIVAL) {
            for value in &attr.values {
                let Ok(seq) = asn1::parse_single(value).and_then(|t| t.expect(tag::SEQUENCE)) else { continue };
                let mut r = seq.reader();
                while let Ok(item) = r.read() {
                    let Ok(list) = item.reader().read_expect(tag::SEQUENCE) else { continue };
                    let mut elems = list.reader();
                    while let Ok(e) = elems.read() {
                        match item.tag {
                            tag::CTX0 => {
                                if let Ok(c) = Crl::parse(e.raw) {
                                    ev.crls.push((Origin::Cms, c));
                                }
                            }
                            tag::CTX1 => {
                                if let Ok(o) = OcspResponse::parse(e.raw) {
                                    ev.ocsps.push((Origin::Cms, o));
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        ev
    }
}

fn offset_of<S: Source>(doc: &Document<S>, num: u32) -> Option<u64> {
    match doc.xref().entries.get(&num)? {
        signet_pdf::xref::XrefEntry::Offset { offset, .. } => Some(*offset),
        signet_pdf::xref::XrefEntry::Compressed { stream, .. } => match doc.xref().entries.get(stream)? {
            signet_pdf::xref::XrefEntry::Offset { offset, .. } => Some(*offset),
            _ => None,
        },
        signet_pdf::xref::XrefEntry::Free => None,
    }
}

/// The status of every certificate of `path` (end entity first, anchor last; the anchor is
/// not checked) at `at`, from `sources` in order.
pub(crate) fn check_path(path: &[Vec<u8>], at: SystemTime, sources: &[&Evidence]) -> Vec<CertRevocation> {
    let mut out = Vec::new();
    for pair in path.windows(2) {
        out.push(check_cert(&pair[0], &pair[1], at, sources));
    }
    out
}

/// [`check_path`] from the embedded `sources`, then, when that leaves a status unknown and
/// `online` is given, again with what the network says.
pub(crate) fn check_path_online(
    path: &[Vec<u8>],
    at: SystemTime,
    sources: &[&Evidence],
    online: Option<&dyn OnlineRevocation>,
) -> Vec<CertRevocation> {
    let embedded = check_path(path, at, sources);
    let Some(online) = online else { return embedded };
    if !embedded.iter().any(|r| r.status == RevocationStatus::Unknown) {
        return embedded;
    }
    let fetched = fetch_for_path(path, online);
    let mut all: Vec<&Evidence> = sources.to_vec();
    all.push(&fetched);
    check_path(path, at, &all)
}

fn check_cert(cert_der: &[u8], issuer_der: &[u8], at: SystemTime, sources: &[&Evidence]) -> CertRevocation {
    let subject = certpath::subject_to_string(cert_der).unwrap_or_default();
    let mut rev = CertRevocation {
        subject,
        status: RevocationStatus::Unknown,
        source: None,
        revoked_at: None,
        reason: None,
        detail: None,
    };
    let Ok(cert) = CertView::parse(cert_der) else {
        rev.detail = Some("the certificate cannot be read".into());
        return rev;
    };
    if cert.extension(&oid::OCSP_NOCHECK).is_some() {
        rev.status = RevocationStatus::NotApplicable;
        rev.detail = Some("id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1)".into());
        return rev;
    }
    let names_source = !cert.aia_uris(&oid::AD_OCSP).is_empty() || !cert.crl_distribution_uris().is_empty();
    let ids: Vec<CertId> = [CertIdHash::Sha1, CertIdHash::Sha256]
        .into_iter()
        .filter_map(|h| CertId::new(cert_der, issuer_der, h).ok())
        .collect();
    let mut problems = Vec::new();
    // OCSP first (RFC 6960)
    for ev in sources {
        for (origin, resp) in &ev.ocsps {
            let Some(single) = ids.iter().find_map(|id| resp.status_for(id)) else { continue };
            if let Err(e) = resp.verify(issuer_der, resp.produced_at) {
                problems.push(format!("an OCSP response was refused: {e}"));
                continue;
            }
            match single.status {
                CertStatus::Good => {
                    rev.status = RevocationStatus::Good;
                    rev.source = Some(format!("ocsp ({})", origin.name()));
                    return rev;
                }
                CertStatus::Revoked { time, reason } => {
                    return revoked(
                        rev,
                        time,
                        reason.map(|r| format!("{r:?}")),
                        at,
                        format!("ocsp ({})", origin.name()),
                    );
                }
                CertStatus::Unknown => problems.push("an OCSP responder does not know the certificate".into()),
                _ => {}
            }
        }
    }
    // then CRLs (RFC 5280 §6.3)
    for ev in sources {
        for (origin, crl) in &ev.crls {
            if crl.issuer.as_slice() != cert.issuer {
                continue;
            }
            if let Err(e) = crl.verify(issuer_der).and_then(|()| crl.check_usable()) {
                problems.push(format!("a CRL was refused: {e}"));
                continue;
            }
            match crl.revoked(cert.serial_bytes()) {
                Some(entry) => {
                    return revoked(
                        rev,
                        entry.revocation_date,
                        entry.reason.map(|r| format!("{r:?}")),
                        at,
                        format!("crl ({})", origin.name()),
                    );
                }
                None => {
                    rev.status = RevocationStatus::Good;
                    rev.source = Some(format!("crl ({})", origin.name()));
                    return rev;
                }
            }
        }
    }
    if !names_source && problems.is_empty() {
        rev.status = RevocationStatus::NotApplicable;
        rev.detail = Some("the certificate names no CRL or OCSP service".into());
        return rev;
    }
    rev.detail = Some(if problems.is_empty() {
        "no CRL or OCSP response for it is embedded".into()
    } else {
        problems.join("; ")
    });
    rev
}

/// Revoked at `time`: a revocation after `at` (the best signature time) does not affect a
/// signature proven to exist before it (ETSI EN 319 102-1 §5.6.2.4).
fn revoked(
    mut rev: CertRevocation,
    time: SystemTime,
    reason: Option<String>,
    at: SystemTime,
    source: String,
) -> CertRevocation {
    rev.source = Some(source);
    rev.revoked_at = Some(rfc3339(time));
    rev.reason = reason;
    if time <= at {
        rev.status = RevocationStatus::Revoked;
    } else {
        rev.status = RevocationStatus::Good;
        rev.detail = Some(format!("revoked on {}, after the signature time", rfc3339(time)));
    }
    rev
}
