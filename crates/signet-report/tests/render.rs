//! Completion certificates checked by independent tools: `qpdf --check` (structure),
//! `pdftotext` (the text is really there, in Chinese and Latin, on every page) and
//! `pdffonts` (both fonts embedded as subsets).
//!
//! `SIGNET_REPORT_KEEP=DIR` keeps the certificates in `DIR`.
//!
//! When a tool is not installed the check is skipped with a message, so that the test suite
//! still runs on machines without them; with `CI` set, a missing tool fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

use signet_report::{
    CompletionReport, Error, Language, PartyRole, PartyStatus, ReportEvent, ReportParty, ReportVersion, render,
};

const TITLE_ZH: &str = "房屋租赁合同（2024 年版）";
const ORIGINAL: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const FINAL: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
/// 2024-05-01 12:00:00 UTC.
const T0: i64 = 1_714_564_800_000;

fn party(name: &str, email: &str, role: PartyRole, status: PartyStatus, n: i64) -> ReportParty {
    ReportParty {
        name: name.into(),
        email: email.into(),
        role,
        organisation: None,
        status,
        signed_at: (role != PartyRole::Copy).then_some(T0 + n * 3_600_000),
        ip: Some(format!("203.0.113.{n}")),
        user_agent: Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67"
                .into(),
        ),
        auth_method: "email one-time code".into(),
        certificate_subject: None,
        certificate_serial: None,
        signature_field: None,
    }
}

fn sample(language: Language) -> CompletionReport {
    let mut zhang = party("张三", "zhangsan@example.cn", PartyRole::Signer, PartyStatus::Signed, 1);
    zhang.organisation = Some("北京示例科技有限公司".into());
    zhang.auth_method = "短信验证码 + 密码 + TOTP".into();
    zhang.certificate_subject = Some("CN=张三, O=北京示例科技有限公司, C=CN".into());
    zhang.certificate_serial = Some("4F:1A:9C:03:77:E2:5B:10:8D:44:02:AB:CD:EF:01:23".into());
    zhang.signature_field = Some("Signature1".into());
    let mut zoe = party("Zoë Müller", "zoe.mueller@example.com", PartyRole::Approver, PartyStatus::Approved, 2);
    zoe.auth_method = "password + TOTP".into();
    let copy = party("李四 (Li Si)", "li.si@example.org", PartyRole::Copy, PartyStatus::Delivered, 3);
    let parties = vec![zhang, zoe, copy];

    let actions = ["viewed", "field filled", "signed", "email delivered", "reminder sent"];
    let mut events = vec![ReportEvent {
        at: T0 - 86_400_000,
        actor: "api key sgk_01HXYZ".into(),
        action: "envelope created".into(),
        detail: format!("document lease.pdf, SHA-256 {ORIGINAL}"),
        entry_hash: Some(format!("{:064x}", 1)),
    }];
    for i in 1..80u32 {
        let p = &parties[i as usize % 3];
        let detail = match i % 4 {
            0 => format!("从 {} 访问，浏览器 {}", p.ip.as_deref().unwrap_or(""), p.user_agent.as_deref().unwrap_or("")),
            1 => "Signature field Signature1 on page 3 was filled with a drawn signature; the document was \
                  re-rendered and the party confirmed the final text before signing."
                .into(),
            2 => String::new(),
            _ => format!("delivered to {} (message id <{i}.{}@mail.example.com>)", p.email, 1000 + i),
        };
        events.push(ReportEvent {
            at: T0 + i64::from(i) * 61_000,
            actor: p.name.clone(),
            action: actions[i as usize % actions.len()].into(),
            detail,
            entry_hash: Some(format!("{:064x}", u128::from(i) * 0x9E37_79B9_7F4A_7C15)),
        });
    }
    CompletionReport {
        title: TITLE_ZH.into(),
        envelope_id: "env_01HX5V7Q3K9M2N4P6R8T0W".into(),
        tenant: "Acme Property Management 示例物业".into(),
        document_name: "lease-2024.pdf".into(),
        original_sha256: ORIGINAL.into(),
        final_sha256: FINAL.to_uppercase(),
        created_at: T0 - 86_400_000,
        completed_at: T0 + 80 * 61_000,
        parties,
        events,
        versions: vec![
            ReportVersion { version: 1, document_id: "doc_01HX5V".into(), sha256: ORIGINAL.into(), created_at: T0 },
            ReportVersion {
                version: 2,
                document_id: "doc_01HX6A".into(),
                sha256: FINAL.into(),
                created_at: T0 + 80 * 61_000,
            },
        ],
        language,
        utc_offset_minutes: if language == Language::Zh { 480 } else { 0 },
    }
}

/// Runs `tool`, or returns `None` (after saying so) when it is not installed and `CI` is
/// not set.
fn run(tool: &str, args: &[&str], file: &Path) -> Option<Output> {
    match Command::new(tool).args(args).arg(file).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => {
            eprintln!("skipping the {tool} check: {tool} is not installed");
            None
        }
        Err(e) => panic!("cannot run {tool}: {e}"),
    }
}

fn write_temp(pdf: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::io::Write::write_all(&mut file, pdf).unwrap();
    file
}

/// With `SIGNET_REPORT_KEEP=DIR`, writes `pdf` there to look at.
fn keep(name: &str, pdf: &[u8]) {
    if let Some(dir) = std::env::var_os("SIGNET_REPORT_KEEP") {
        std::fs::write(Path::new(&dir).join(name), pdf).unwrap();
    }
}

/// The checks both languages share; returns the extracted text.
fn check_with_tools(pdf: &[u8], report: &CompletionReport) -> Option<String> {
    keep(&format!("certificate-{:?}.pdf", report.language).to_lowercase(), pdf);
    let file = write_temp(pdf);
    if let Some(out) = run("qpdf", &["--check"], file.path()) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "qpdf --check failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("No syntax or stream encoding errors found"), "{stdout}");
    }
    if let Some(out) = run("pdffonts", &[], file.path()) {
        assert!(out.status.success());
        let fonts = String::from_utf8_lossy(&out.stdout);
        for name in ["DejaVuSans", "DroidSansFallbackFull"] {
            let line = fonts.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("no {name}:\n{fonts}"));
            // name, type "CID TrueType", encoding, then emb sub uni: yes yes yes
            assert!(line.contains("CID TrueType") && line.contains("yes yes yes"), "{line}");
        }
    }
    let out = run("pdftotext", &["-enc", "UTF-8"], file.path())?;
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    let txt_path = file.path().with_extension("txt");
    let text = std::fs::read_to_string(&txt_path).unwrap();
    std::fs::remove_file(&txt_path).unwrap();

    assert!(text.contains(TITLE_ZH), "title missing:\n{text}");
    for p in &report.parties {
        assert!(text.contains(&p.name), "{} missing", p.name);
        assert!(text.contains(&p.email), "{} missing", p.email);
    }
    // in the summary at full length, in lower case
    assert!(text.contains(ORIGINAL) && text.contains(FINAL), "digests missing:\n{text}");
    // a wrapped digest (the versions table) reads back whole once spaces are ignored
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(squeezed.matches(FINAL).count() >= 2);
    for e in &report.events {
        if let Some(h) = &e.entry_hash {
            assert!(squeezed.contains(h.as_str()), "entry hash {h} missing");
        }
    }
    assert!(text.contains("北京示例科技有限公司"));
    assert!(text.contains("CN=张三, O=北京示例科技有限公司, C=CN"));
    assert!(text.contains("Edg/124.0.2478.67"));
    assert!(text.contains(&report.envelope_id));
    Some(text)
}

fn page_count(text: &str) -> usize {
    // pdftotext ends every page with a form feed
    text.matches('\u{c}').count()
}

#[test]
fn english_certificate_passes_qpdf_and_reads_back() {
    let report = sample(Language::En);
    let pdf = render(&report).unwrap();
    eprintln!("English certificate: {} bytes", pdf.len());
    let Some(text) = check_with_tools(&pdf, &report) else { return };
    let pages = page_count(&text);
    assert!(pages >= 3, "{pages} pages");
    for n in 1..=pages {
        assert!(text.contains(&format!("Page {n} of {pages}")), "footer of page {n} missing");
    }
    assert!(text.matches("Envelope ID: env_01HX5V7Q3K9M2N4P6R8T0W").count() >= pages, "footer on every page");
    for label in ["Certificate of Completion", "Event log", "Evidence by party", "Approver", "Receives a copy"] {
        assert!(text.contains(label), "{label} missing");
    }
    assert!(text.contains("2024-05-01 13:00:00 UTC"), "Zhang's signing time");
    assert!(text.contains("Zoë Müller — Approver"));
}

#[test]
fn chinese_certificate_passes_qpdf_and_reads_back() {
    let report = sample(Language::Zh);
    let pdf = render(&report).unwrap();
    eprintln!("Chinese certificate: {} bytes", pdf.len());
    let Some(text) = check_with_tools(&pdf, &report) else { return };
    let pages = page_count(&text);
    assert!(pages >= 3, "{pages} pages");
    for n in 1..=pages {
        assert!(text.contains(&format!("第 {n} 页，共 {pages} 页")), "footer of page {n} missing:\n{text}");
    }
    for label in ["签署完成证书", "事件记录", "签署人", "审批人", "抄送人", "日志条目哈希", "短信验证码 + 密码 + TOTP"]
    {
        assert!(text.contains(label), "{label} missing");
    }
    // 13:00 UTC in China Standard Time
    assert!(text.contains("2024-05-01 21:00:00 UTC+08:00"));
}

#[test]
fn equal_reports_give_equal_files() {
    for language in [Language::En, Language::Zh] {
        let a = render(&sample(language)).unwrap();
        let b = render(&sample(language)).unwrap();
        assert!(a == b, "{language:?} renders differ");
    }
    assert_ne!(render(&sample(Language::En)).unwrap(), render(&sample(Language::Zh)).unwrap());
}

#[test]
fn report_round_trips_through_json() {
    let report = sample(Language::Zh);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains(r#""language":"zh""#) && json.contains(r#""role":"copy""#));
    let back: CompletionReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    // optional fields and lists may be left out
    let minimal: CompletionReport = serde_json::from_str(&format!(
        r#"{{"title":"t","envelope_id":"e","tenant":"x","document_name":"d.pdf",
            "original_sha256":"{ORIGINAL}","final_sha256":"{FINAL}","created_at":0,"completed_at":1}}"#
    ))
    .unwrap();
    assert_eq!(minimal.language, Language::En);
    let pdf = render(&minimal).unwrap();
    let Some(out) = run("qpdf", &["--check"], write_temp(&pdf).path()) else { return };
    assert!(out.status.success());
}

#[test]
fn a_bad_digest_is_refused_with_its_field() {
    let mut report = sample(Language::En);
    report.final_sha256 = "not-a-digest".into();
    match render(&report) {
        Err(Error::InvalidField { field, .. }) => assert_eq!(field, "final_sha256"),
        other => panic!("{other:?}"),
    }
}

/// Input the server does not shape: a detail longer than a page with no place to break,
/// a title longer than the running header, empty strings, and a long log.
#[test]
fn oversized_fields_and_a_long_log_still_make_a_valid_file() {
    let mut report = sample(Language::Zh);
    report.title = "合同".repeat(200);
    report.parties[1].email = String::new();
    report.parties[2].user_agent = Some(String::new());
    report.events[5].detail = "x".repeat(30_000);
    report.events[6].detail = "{\"reason\":\"另行协商\",\"fields\":[\"a\",\"b\"]}\n\nsecond paragraph".into();
    let template = report.events[7].clone();
    report.events.extend((0..1000).map(|i| ReportEvent { at: template.at + i, ..template.clone() }));
    let started = std::time::Instant::now();
    let pdf = render(&report).unwrap();
    eprintln!("{} events: {} bytes in {:?}", report.events.len(), pdf.len(), started.elapsed());
    keep("certificate-oversized.pdf", &pdf);
    let file = write_temp(&pdf);
    let Some(out) = run("qpdf", &["--check"], file.path()) else { return };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let Some(out) = run("pdftotext", &["-enc", "UTF-8", "-f", "1", "-l", "1"], file.path()) else { return };
    assert!(out.status.success());
    let text = std::fs::read_to_string(file.path().with_extension("txt")).unwrap();
    std::fs::remove_file(file.path().with_extension("txt")).unwrap();
    // the running header is cut with an ellipsis; the footer still has the page count
    assert!(text.contains("…"));
    assert!(text.contains("第 1 页，共"), "{text}");
}
