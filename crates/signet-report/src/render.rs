//! The certificate's content, in order, and the PDF file around it.

use std::fmt::Write as _;

use crate::error::Error;
use crate::font::{FaceId, Fonts};
use crate::labels::Labels;
use crate::layout::{ACCENT, CONTENT_W, INK, Layout, MUTED, PAGE_H, PAGE_W, Para, Row, Style, Table};
use crate::pdf::{PdfWriter, Ref, text_string};
use crate::time::{format_time, local_time, pdf_date, zone};
use crate::{CompletionReport, ReportParty};

/// Renders the completion certificate of `report` as a PDF 1.7 file: A4 pages, text in
/// embedded subsets of DejaVu Sans (Latin) and Droid Sans Fallback (CJK), extractable and
/// searchable. Equal reports give byte-equal files.
///
/// Fails when a digest is not hexadecimal (SHA-256 fields: exactly 64 digits) or the time
/// zone is past ±18 hours; either case is accepted and printed in lower case.
pub fn render(report: &CompletionReport) -> Result<Vec<u8>, Error> {
    let checked = Checked::new(report)?;
    let labels = Labels::get(report.language);
    let mut fonts = Fonts::new()?;
    let mut layout = Layout::new(&mut fonts);
    lay_out(&mut layout, report, &checked, labels);
    let header = format!("{} · {}", labels.running_header, one_line(&report.title));
    let footer = format!("{}{}{}", labels.envelope_id, labels.colon, one_line(&report.envelope_id));
    let pages = layout.finish(&header, &footer, |n, total| labels.page_of(n, total));
    write_pdf(report, labels, &fonts, &pages)
}

/// The digests, checked and in lower case.
struct Checked {
    original_sha256: String,
    final_sha256: String,
    version_sha256: Vec<String>,
    entry_hashes: Vec<Option<String>>,
}

impl Checked {
    fn new(report: &CompletionReport) -> Result<Self, Error> {
        if report.utc_offset_minutes.abs() > 18 * 60 {
            return Err(Error::invalid("utc_offset_minutes", "more than 18 hours from UTC"));
        }
        let sha256 = |field: String, value: &str| {
            if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(value.to_ascii_lowercase())
            } else {
                Err(Error::invalid(field, "not a SHA-256 digest (64 hexadecimal digits)"))
            }
        };
        Ok(Checked {
            original_sha256: sha256("original_sha256".into(), &report.original_sha256)?,
            final_sha256: sha256("final_sha256".into(), &report.final_sha256)?,
            version_sha256: (report.versions.iter().enumerate())
                .map(|(i, v)| sha256(format!("versions[{i}].sha256"), &v.sha256))
                .collect::<Result<_, _>>()?,
            entry_hashes: (report.events.iter().enumerate())
                .map(|(i, e)| match &e.entry_hash {
                    None => Ok(None),
                    Some(h) if !h.is_empty() && h.len() <= 256 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        Ok(Some(h.to_ascii_lowercase()))
                    }
                    Some(_) => Err(Error::invalid(
                        format!("events[{i}].entry_hash"),
                        "not a hash (1 to 256 hexadecimal digits)",
                    )),
                })
                .collect::<Result<_, _>>()?,
        })
    }
}

const TEXT: Style = Style::new(8.5, INK);
const LABEL: Style = Style::new(8.5, MUTED);
const SMALL: Style = Style::new(7.5, INK);
const SMALL_MUTED: Style = Style::new(7.0, MUTED);
const TABLE_HEAD: Style = Style::new(7.5, INK).bold();

fn lay_out(layout: &mut Layout<'_>, report: &CompletionReport, checked: &Checked, labels: &Labels) {
    let tz = report.utc_offset_minutes;
    let time = |millis: i64| format_time(millis, tz);
    let bare = |millis: i64| local_time(millis, tz);
    let zoned = |label: &str| labels.zoned(label, &zone(tz));
    let optional = |v: &Option<String>| v.clone().unwrap_or_default();

    layout.paragraph(&Para::new(labels.certificate, Style::new(20.0, ACCENT).bold()));
    layout.space(4.0);
    layout.paragraph(&Para::new(&report.title, Style::new(14.0, INK)));

    layout.heading(labels.summary, 40.0);
    layout.table(&key_values(
        &[
            (labels.title, report.title.clone()),
            (labels.envelope_id, report.envelope_id.clone()),
            (labels.tenant, report.tenant.clone()),
            (labels.document, report.document_name.clone()),
            (labels.created, time(report.created_at)),
            (labels.completed, time(report.completed_at)),
            (labels.original_sha256, checked.original_sha256.clone()),
            (labels.final_sha256, checked.final_sha256.clone()),
        ],
        labels.missing,
    ));

    layout.heading(labels.parties, 40.0);
    if report.parties.is_empty() {
        layout.paragraph(&Para::new(labels.none_recorded, TEXT));
    } else {
        let rows = (report.parties.iter().enumerate())
            .map(|(i, p)| {
                let mut name = vec![Para::new(&p.name, SMALL)];
                if let Some(org) = p.organisation.as_ref().filter(|o| !o.trim().is_empty()) {
                    name.push(Para::new(org, SMALL_MUTED));
                }
                Row {
                    cells: vec![
                        vec![Para::new((i + 1).to_string(), SMALL)],
                        name,
                        vec![Para::new(if p.email.trim().is_empty() { labels.missing } else { &p.email }, SMALL)],
                        vec![Para::new(labels.role(p.role), SMALL)],
                        vec![Para::new(labels.status(p.status), SMALL)],
                        vec![Para::new(p.signed_at.map_or(labels.missing.into(), bare), SMALL)],
                    ],
                    note: None,
                }
            })
            .collect();
        layout.table(&Table {
            widths: columns(&[22.0, 112.0, 130.0, 62.0, 52.0]),
            header: Some(heads(&[
                labels.number,
                labels.name,
                labels.email,
                labels.role,
                labels.status,
                &zoned(labels.signed_at),
            ])),
            rows,
        });

        layout.heading(labels.party_details, 80.0);
        for (i, p) in report.parties.iter().enumerate() {
            let title = Para::new(party_title(i, p, labels), Style::new(9.5, INK).bold());
            let table = key_values(
                &[
                    (labels.name, p.name.clone()),
                    (labels.organisation, optional(&p.organisation)),
                    (labels.email, p.email.clone()),
                    (labels.role, labels.role(p.role).into()),
                    (labels.status, labels.status(p.status).into()),
                    (labels.signed_at, p.signed_at.map_or(labels.missing.into(), time)),
                    (labels.auth_method, p.auth_method.clone()),
                    (labels.ip, optional(&p.ip)),
                    (labels.user_agent, optional(&p.user_agent)),
                    (labels.certificate_subject, optional(&p.certificate_subject)),
                    (labels.certificate_serial, optional(&p.certificate_serial)),
                    (labels.signature_field, optional(&p.signature_field)),
                ],
                labels.missing,
            );
            // each party's block on one page, unless it is longer than a page
            layout.space(6.0);
            let height = layout.paragraph_height(&title) + 2.0 + layout.table_height(&table);
            layout.ensure(height);
            layout.paragraph(&title);
            layout.space(2.0);
            layout.table(&table);
        }
    }

    layout.heading(labels.versions, 40.0);
    if report.versions.is_empty() {
        layout.paragraph(&Para::new(labels.none_recorded, TEXT));
    } else {
        let rows = (report.versions.iter().zip(&checked.version_sha256))
            .map(|(v, sha256)| Row {
                cells: vec![
                    vec![Para::new(v.version.to_string(), SMALL)],
                    vec![Para::new(&v.document_id, SMALL)],
                    vec![Para::new(bare(v.created_at), SMALL)],
                    vec![Para::new(sha256, SMALL)],
                ],
                note: None,
            })
            .collect();
        layout.table(&Table {
            widths: columns(&[42.0, 128.0, 96.0]),
            header: Some(heads(&[labels.version, labels.document_id, &zoned(labels.created), labels.sha256])),
            rows,
        });
    }

    layout.heading(labels.events, 40.0);
    if report.events.is_empty() {
        layout.paragraph(&Para::new(labels.none_recorded, TEXT));
    } else {
        let rows = (report.events.iter().zip(&checked.entry_hashes).enumerate())
            .map(|(i, (e, hash))| Row {
                cells: vec![
                    vec![Para::new((i + 1).to_string(), SMALL)],
                    vec![Para::new(bare(e.at), SMALL)],
                    vec![Para::new(&e.actor, SMALL)],
                    vec![Para::new(&e.action, SMALL)],
                    vec![Para::new(&e.detail, SMALL)],
                ],
                note: hash
                    .as_ref()
                    .map(|h| (2, Para::new(format!("{}{}{h}", labels.entry_hash, labels.colon), SMALL_MUTED))),
            })
            .collect();
        layout.table(&Table {
            widths: columns(&[26.0, 92.0, 110.0, 88.0]),
            header: Some(heads(&[labels.number, &zoned(labels.time), labels.actor, labels.action, labels.detail])),
            rows,
        });
    }

    layout.heading(labels.about, 30.0);
    layout.paragraph(&Para::new(labels.about_text, Style::new(8.0, MUTED)));
}

/// `1. Name — Signer` (the number matches the parties table).
fn party_title(i: usize, p: &ReportParty, labels: &Labels) -> String {
    format!("{}. {} — {}", i + 1, one_line(&p.name), labels.role(p.role))
}

/// Column widths: the given ones, then one taking the rest of the content width.
fn columns(fixed: &[f64]) -> Vec<f64> {
    let mut widths = fixed.to_vec();
    widths.push(CONTENT_W - fixed.iter().sum::<f64>());
    widths
}

fn heads(texts: &[&str]) -> Vec<Para> {
    texts.iter().map(|t| Para::new(*t, TABLE_HEAD)).collect()
}

/// A two-column table of labels and values; an empty value shows as `missing`.
fn key_values(rows: &[(&str, String)], missing: &str) -> Table {
    Table {
        widths: columns(&[140.0]),
        header: None,
        rows: rows
            .iter()
            .map(|(k, v)| {
                let v = if v.trim().is_empty() { missing } else { v };
                Row { cells: vec![vec![Para::new(*k, LABEL)], vec![Para::new(v, TEXT)]], note: None }
            })
            .collect(),
    }
}

/// Line breaks in a value meant for one line (titles in headers) become spaces.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

fn write_pdf(report: &CompletionReport, labels: &Labels, fonts: &Fonts, pages: &[String]) -> Result<Vec<u8>, Error> {
    let mut pdf = PdfWriter::new();
    let catalog = pdf.reserve();
    let page_tree = pdf.reserve();
    let info = pdf.add_object(&format!(
        "<< /Title {} /Subject {} /Producer (Signet) /CreationDate ({}) >>",
        text_string(&one_line(&report.title)),
        text_string(&format!("{} {}", labels.certificate, one_line(&report.envelope_id))),
        pdf_date(report.completed_at),
    ));
    let faces: Vec<(FaceId, Ref)> = fonts.used_faces().into_iter().map(|f| (f, pdf.reserve())).collect();
    let mut font_resources = String::new();
    for (face, r) in &faces {
        let _ = write!(font_resources, " /{} {r}", face.resource_name());
    }
    let mut kids = Vec::with_capacity(pages.len());
    for content in pages {
        let contents = pdf.add_stream("", content.as_bytes());
        kids.push(pdf.add_object(&format!(
            "<< /Type /Page /Parent {page_tree} /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
             /Resources << /Font <<{font_resources} >> >> /Contents {contents} >>"
        )));
    }
    for (face, r) in faces {
        fonts.write(face, r, &mut pdf)?;
    }
    let kids: Vec<String> = kids.iter().map(ToString::to_string).collect();
    pdf.set_object(page_tree, &format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()));
    pdf.set_object(
        catalog,
        &format!(
            "<< /Type /Catalog /Pages {page_tree} /Lang ({}) /ViewerPreferences << /DisplayDocTitle true >> >>",
            labels.lang_tag
        ),
    );
    Ok(pdf.finish(catalog, info))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Language, PartyRole, PartyStatus, ReportEvent, ReportVersion};

    fn report() -> CompletionReport {
        CompletionReport {
            title: "Lease".into(),
            envelope_id: "env_1".into(),
            tenant: "Acme".into(),
            document_name: "lease.pdf".into(),
            original_sha256: "AB".repeat(32),
            final_sha256: "cd".repeat(32),
            created_at: 0,
            completed_at: 1000,
            parties: vec![ReportParty {
                name: "Ann".into(),
                email: "ann@example.com".into(),
                role: PartyRole::Signer,
                organisation: None,
                status: PartyStatus::Signed,
                signed_at: Some(500),
                ip: None,
                user_agent: None,
                auth_method: "email one-time code".into(),
                certificate_subject: None,
                certificate_serial: None,
                signature_field: None,
            }],
            events: vec![ReportEvent {
                at: 10,
                actor: "Ann".into(),
                action: "signed".into(),
                detail: String::new(),
                entry_hash: Some("00".repeat(32)),
            }],
            versions: vec![ReportVersion {
                version: 1,
                document_id: "doc_1".into(),
                sha256: "ab".repeat(32),
                created_at: 0,
            }],
            language: Language::En,
            utc_offset_minutes: 0,
        }
    }

    #[test]
    fn bad_digests_name_their_field() {
        let mut r = report();
        r.events[0].entry_hash = Some("xyz".into());
        let err = render(&r).unwrap_err().to_string();
        assert!(err.contains("events[0].entry_hash"), "{err}");
        let mut r = report();
        r.versions[0].sha256 = "ab".into();
        assert!(render(&r).unwrap_err().to_string().contains("versions[0].sha256"));
        let mut r = report();
        r.utc_offset_minutes = 19 * 60;
        assert!(render(&r).unwrap_err().to_string().contains("utc_offset_minutes"));
    }

    #[test]
    fn latin_only_report_embeds_one_font() {
        let pdf = render(&report()).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1.7\n"));
        assert_eq!(text.matches("/Subtype /Type0").count(), 1);
        assert!(text.contains("/Lang (en)"));
        assert!(text.contains("/CreationDate (D:19700101000001Z)"));
    }
}
