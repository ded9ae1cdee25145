//! Multi-party envelopes: fields added in one unsigned update, then each party fills its text
//! field and signs its signature field in one revision. Party A certifies with DocMDP P=2, so
//! party B's revision must be a permitted change (ISO 32000-2 §12.8.2.2.2: filling in forms
//! and signing); the independent validators (`../shared/peer/validate.sh`: pyHanko's diff
//! analysis among them) and `qpdf --check` must accept the result, on plain, cross-reference
//! stream, encrypted, cropped and rotated pages. A rendering before and after shows the
//! filled values where the fields were placed, upright.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use signet_crypto::{DigestAlgorithm, Identity};
use signet_pades::{
    Certification, Error, FieldKind, FieldValue, FormFieldSpec, IdentityCms, SignatureOptions, Visible, VisualRect,
    add_form_fields, sign_file, sign_update,
};
use signet_pdf::appearance::SealImage;
use signet_pdf::{Document, Object};
use signet_testkit::{Pki, TestPage, make_corpus, parallel, render_page, seal_png, test_pdf, validate};

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("signet-pades-forms")
}

/// One PKI and corpus for the tests of this file.
fn fixture() -> &'static (Pki, PathBuf) {
    static FIXTURE: OnceLock<(Pki, PathBuf)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let _ = std::fs::remove_dir_all(tmp());
        std::fs::create_dir_all(tmp()).unwrap();
        let pki = Pki::make(&tmp().join("pki"));
        let corpus = make_corpus(&tmp().join("corpus"), &pki, 7, 0.2);
        (pki, corpus)
    })
}

/// The PKI's CRL/OCSP server listens on one port: tests that start it take turns (as in
/// ltv.rs), or one test's server stops under the other's validation.
fn server_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn identity(name: &str) -> Identity {
    Identity::from_pkcs12(&std::fs::read(fixture().0.p12(name)).unwrap(), "peer-test").unwrap()
}

fn rect(x1: f64, y1: f64, x2: f64, y2: f64) -> VisualRect {
    VisualRect { x1, y1, x2, y2 }
}

fn open(pdf: &[u8], password: Option<&str>) -> Document<Vec<u8>> {
    Document::open(pdf.to_vec(), password.map(str::as_bytes)).unwrap()
}

/// `pdf` followed by the update `f` returns.
fn appended(pdf: &[u8], update: Vec<u8>) -> Vec<u8> {
    let mut out = pdf.to_vec();
    out.extend_from_slice(&update);
    out
}

fn sign(pdf: &[u8], password: Option<&str>, opts: &SignatureOptions, key: &Identity) -> Result<Vec<u8>, Error> {
    let cms = IdentityCms::new(key, DigestAlgorithm::Sha256, None);
    let (_, update) = sign_update(&mut open(pdf, password), opts, &cms)?;
    Ok(appended(pdf, update))
}

/// The four fields of a two-party envelope: a name and a signature for each party, A's on
/// `a_page`, B's on `b_page`.
fn envelope_fields(a_page: i64, b_page: i64) -> Vec<FormFieldSpec> {
    let field = |name: &str, kind, page, r, tip: &str| FormFieldSpec {
        name: name.into(),
        kind,
        page,
        rect: r,
        tooltip: Some(tip.into()),
    };
    vec![
        field("PartyA_Signature", FieldKind::Signature, a_page, rect(60.0, 60.0, 260.0, 140.0), "Party A signs here"),
        field("PartyB_Signature", FieldKind::Signature, b_page, rect(300.0, 60.0, 500.0, 140.0), "Party B signs here"),
        field("PartyA_Name", FieldKind::Text, a_page, rect(60.0, 160.0, 260.0, 185.0), "Party A's name"),
        field("PartyB_Name", FieldKind::Text, b_page, rect(300.0, 160.0, 500.0, 185.0), "Party B's name"),
    ]
}

/// Runs the envelope on `input`: fields, A fills and certifies (P=2, visible seal), B fills
/// and signs. Returns the three stages.
struct Envelope {
    prepared: Vec<u8>,
    after_a: Vec<u8>,
    after_b: Vec<u8>,
}

fn run_envelope(input: &[u8], password: Option<&str>, a_page: i64, b_page: i64) -> Envelope {
    let update = add_form_fields(&mut open(input, password), &envelope_fields(a_page, b_page)).unwrap();
    let prepared = appended(input, update);

    let a = SignatureOptions {
        field: Some("PartyA_Signature".into()),
        // ignored for an existing field: the widget's own /Rect is used
        visible: Some(Visible {
            page: 1,
            rect: rect(0.0, 0.0, 10.0, 10.0),
            image: Some(SealImage::from_bytes(seal_png()).unwrap()),
            text: vec!["Party A".into(), "Zoë Martin".into()],
        }),
        certify: Some(Certification::FormFilling),
        reason: Some("Party A agrees".into()),
        fill: vec![FieldValue { name: "PartyA_Name".into(), value: "Zoë Martin, Acme SA".into() }],
        signing_time: SystemTime::now(),
        ..SignatureOptions::default()
    };
    let after_a = sign(&prepared, password, &a, &identity("signer-rsa")).unwrap();

    // fields cannot be added once the document is certified
    let more = [FormFieldSpec {
        name: "Late".into(),
        kind: FieldKind::Signature,
        page: 1,
        rect: rect(10.0, 10.0, 50.0, 50.0),
        tooltip: None,
    }];
    let e = add_form_fields(&mut open(&after_a, password), &more).unwrap_err();
    assert!(e.to_string().contains("certified"), "{e}");

    let b = SignatureOptions {
        field: Some("PartyB_Signature".into()),
        visible: Some(Visible { page: -1, rect: rect(0.0, 0.0, 1.0, 1.0), image: None, text: vec!["Party B".into()] }),
        reason: Some("Party B agrees".into()),
        // Latin in DejaVu Sans, CJK in Droid Sans Fallback
        fill: vec![FieldValue { name: "PartyB_Name".into(), value: "Bob Lee 李明".into() }],
        ..SignatureOptions::default()
    };
    let after_b = sign(&after_a, password, &b, &identity("signer-ec")).unwrap();
    Envelope { prepared, after_a, after_b }
}

/// The value of text field `name`.
fn value_of(pdf: &[u8], password: Option<&str>, name: &str) -> String {
    let mut doc = open(pdf, password);
    let fields = signet_pdf::form::fields(&mut doc).unwrap();
    let f = fields.iter().find(|f| f.name == name).unwrap();
    signet_pdf::form::decode_text(f.value.as_ref().and_then(Object::as_str).unwrap())
}

fn qpdf_check(pdf: &Path, password: Option<&str>) {
    let mut cmd = Command::new("qpdf");
    if let Some(p) = password {
        cmd.arg(format!("--password={p}"));
    }
    let out = cmd.arg("--check").arg(pdf).output().unwrap();
    assert!(
        out.status.success(),
        "qpdf --check {}: {}{}",
        pdf.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pixels where two renderings of `page` differ, as points on the page as displayed
/// (origin bottom-left; each the centre of a 1 pt pixel).
fn changed_points(before: &Path, after: &Path, page: usize) -> Vec<(f64, f64)> {
    let (w, h, a) = render_page(before, page, 72);
    let (w2, h2, b) = render_page(after, page, 72);
    assert_eq!((w, h), (w2, h2));
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            if (0..3).any(|c| a[i + c].abs_diff(b[i + c]) > 40) {
                out.push((f64::from(x) + 0.5, f64::from(h - y) - 0.5));
            }
        }
    }
    out
}

fn contains(r: &VisualRect, (x, y): (f64, f64)) -> bool {
    // one pixel of slack for anti-aliasing at the edges
    (r.x1 - 1.0..=r.x2 + 1.0).contains(&x) && (r.y1 - 1.0..=r.y2 + 1.0).contains(&y)
}

/// Checks that what one party's signing changed on `page` lies in its two fields, and that
/// the name field shows a line of upright text.
fn check_rendering(case: &str, before: &Path, after: &Path, page: usize, name: &VisualRect, sig: &VisualRect) {
    let points = changed_points(before, after, page);
    let stray: Vec<_> = points.iter().filter(|&&p| !contains(name, p) && !contains(sig, p)).collect();
    assert!(stray.is_empty(), "{case}: page {page} changed outside the fields, at {:?}", &stray[..stray.len().min(5)]);
    let text: Vec<_> = points.iter().filter(|&&p| contains(name, p)).collect();
    assert!(text.len() > 20, "{case}: the name field on page {page} shows nothing");
    let (x1, x2) = text.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y1, y2) = text.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    assert!(x2 - x1 > 3.0 * (y2 - y1), "{case}: the text on page {page} is not an upright line: {x1},{y1} {x2},{y2}");
    assert!(points.iter().any(|&p| contains(sig, p)), "{case}: the signature field on page {page} shows nothing");
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    password: Option<&'static str>,
    a_page: i64,
    b_page: i64,
    /// page numbers (1-based) of A's and B's fields, for the rendering check
    pages: (usize, usize),
}

#[test]
fn two_party_envelope_with_certification_passes_the_validators() {
    let (pki, corpus) = fixture();
    let read = |n: &str| std::fs::read(corpus.join(n)).unwrap();
    let rotated_crop =
        TestPage { media_box: [0.0, 0.0, 612.0, 792.0], crop_box: Some([30.0, 40.0, 580.0, 760.0]), rotate: 90 };
    let upside_down = TestPage { rotate: 180, ..TestPage::A4 };
    let cases = vec![
        Case {
            name: "classic-xref",
            input: read("03-classic-xref-table.pdf"),
            password: None,
            a_page: 1,
            b_page: -1,
            pages: (1, 3),
        },
        Case {
            name: "xref-stream",
            input: read("04-xref-stream-objstm.pdf"),
            password: None,
            a_page: 1,
            b_page: -1,
            pages: (1, 5),
        },
        // pages turned 90 and 270 degrees
        Case {
            name: "rotated",
            input: read("09-rotate-90-270.pdf"),
            password: None,
            a_page: 2,
            b_page: -1,
            pages: (2, 4),
        },
        Case {
            name: "cropbox",
            input: read("10-mediabox-offset-cropbox.pdf"),
            password: None,
            a_page: 1,
            b_page: -1,
            pages: (1, 2),
        },
        Case {
            name: "rotated-cropped",
            input: test_pdf(&[rotated_crop, upside_down]),
            password: None,
            a_page: 1,
            b_page: -1,
            pages: (1, 2),
        },
        Case {
            name: "encrypted",
            input: read("12-encrypted-aes256-owner-pw.pdf"),
            password: Some("peer-owner"),
            a_page: 1,
            b_page: -1,
            pages: (1, 2),
        },
    ];
    let out = tmp().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let _lock = server_lock();
    let _server = pki.serve();
    let failures: Vec<String> = parallel(cases, 3, |c| {
        // signing opens encrypted files with the empty user password; validators get the owner's
        let env = run_envelope(&c.input, None, c.a_page, c.b_page);
        let stage = |name: &str, bytes: &[u8]| {
            let p = out.join(format!("{}-{name}.pdf", c.name));
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let prepared = stage("fields", &env.prepared);
        let after_a = stage("party-a", &env.after_a);
        let signed = stage("signed", &env.after_b);
        assert_eq!(value_of(&env.after_b, None, "PartyA_Name"), "Zoë Martin, Acme SA");
        assert_eq!(value_of(&env.after_b, None, "PartyB_Name"), "Bob Lee 李明");
        qpdf_check(&prepared, c.password);
        qpdf_check(&signed, c.password);
        if c.password.is_none() {
            // the appearance shows the value, CJK included (and it extracts as text)
            let text = Command::new("pdftotext").arg(&signed).arg("-").output().unwrap();
            let text = String::from_utf8_lossy(&text.stdout);
            assert!(text.contains("Bob Lee 李明"), "{}: pdftotext gave {text:?}", c.name);
        }

        let fields = envelope_fields(c.a_page, c.b_page);
        check_rendering(c.name, &prepared, &after_a, c.pages.0, &fields[2].rect, &fields[0].rect);
        check_rendering(c.name, &after_a, &signed, c.pages.1, &fields[3].rect, &fields[1].rect);
        match validate(&signed, &pki.root(), 2, c.password, "hard") {
            Ok(_) => None,
            Err(report) => Some(format!("{}:\n{report}", c.name)),
        }
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(failures.is_empty(), "validators refused:\n{}", failures.join("\n"));
}

#[test]
fn fills_a_text_field_made_by_another_tool() {
    let (pki, corpus) = fixture();
    // reportlab's text field "name", with a checkbox, radio, combo and list beside it
    let input = std::fs::read(corpus.join("08-form-fields.pdf")).unwrap();
    let opts = SignatureOptions {
        fill: vec![FieldValue { name: "name".into(), value: "Zoë".into() }],
        ..SignatureOptions::default()
    };
    let signed = sign(&input, None, &opts, &identity("signer-ec")).unwrap();
    assert_eq!(value_of(&signed, None, "name"), "Zoë");
    let path = tmp().join("08-filled.pdf");
    std::fs::write(&path, &signed).unwrap();
    qpdf_check(&path, None);
    let _lock = server_lock();
    let _server = pki.serve();
    validate(&path, &pki.root(), 1, None, "hard").unwrap_or_else(|r| panic!("{r}"));
}

#[test]
fn refusals_are_clear_and_write_nothing() {
    let (_, corpus) = fixture();
    let empty_sig = corpus.join("07-empty-signature-field.pdf");
    let form = std::fs::read(corpus.join("08-form-fields.pdf")).unwrap();
    let spec = |name: &str, kind| FormFieldSpec {
        name: name.into(),
        kind,
        page: 1,
        rect: rect(10.0, 10.0, 90.0, 40.0),
        tooltip: None,
    };

    // duplicate names: an existing field, twice in one call, an existing parent name
    let input = std::fs::read(&empty_sig).unwrap();
    let e = add_form_fields(&mut open(&input, None), &[spec("Signature1", FieldKind::Signature)]).unwrap_err();
    assert_eq!(e.to_string(), "a field named 'Signature1' already exists");
    let e = add_form_fields(&mut open(&form, None), &[spec("name", FieldKind::Text)]).unwrap_err();
    assert_eq!(e.to_string(), "a field named 'name' already exists");
    let e = add_form_fields(&mut open(&input, None), &[spec("X", FieldKind::Text), spec("X", FieldKind::Signature)])
        .unwrap_err();
    assert_eq!(e.to_string(), "the field name 'X' is given twice");
    let e = add_form_fields(&mut open(&input, None), &[spec("a.b", FieldKind::Text)]).unwrap_err();
    assert!(e.to_string().contains("not a valid field name"), "{e}");
    let e = add_form_fields(&mut open(&input, None), &[FormFieldSpec { page: 9, ..spec("P", FieldKind::Text) }])
        .unwrap_err();
    assert!(e.to_string().contains("page 9 does not exist"), "{e}");

    // filling: a signature field, an unknown field, a checkbox. Nothing is written.
    let key = identity("signer-ec");
    let cms = IdentityCms::new(&key, DigestAlgorithm::Sha256, None);
    let out = tmp().join("refused.pdf");
    let _ = std::fs::remove_file(&out);
    for (input, name, expected) in [
        (
            &empty_sig,
            "Signature1",
            "field 'Signature1' is a signature field: it is filled by signing it, not with a value",
        ),
        (&empty_sig, "Nope", "no form field named 'Nope'"),
        (
            &corpus.join("08-form-fields.pdf"),
            "agree",
            "field 'agree' is not a text field (/FT /Btn): only text fields can be filled",
        ),
    ] {
        let opts = SignatureOptions {
            fill: vec![FieldValue { name: name.into(), value: "x".into() }],
            ..SignatureOptions::default()
        };
        let e = sign_file(input, &out, None, &opts, &cms, false).unwrap_err();
        assert_eq!(e.to_string(), expected);
        assert!(!out.exists(), "{} was written", out.display());
        let leftovers: Vec<_> = std::fs::read_dir(tmp())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    // a single-line field takes no line break; the same value twice is refused
    let opts = SignatureOptions {
        fill: vec![FieldValue { name: "name".into(), value: "a\nb".into() }],
        ..SignatureOptions::default()
    };
    let e = sign(&form, None, &opts, &key).unwrap_err();
    assert!(e.to_string().contains("single-line"), "{e}");
    let v = FieldValue { name: "name".into(), value: "a".into() };
    let opts = SignatureOptions { fill: vec![v.clone(), v], ..SignatureOptions::default() };
    let e = sign(&form, None, &opts, &key).unwrap_err();
    assert_eq!(e.to_string(), "field 'name' is given two values");

    // text fields cannot be added once the document is signed; signature fields can
    let signed = sign(&form, None, &SignatureOptions::default(), &key).unwrap();
    let e = add_form_fields(&mut open(&signed, None), &[spec("Later", FieldKind::Text)]).unwrap_err();
    assert!(e.to_string().contains("already signed"), "{e}");
    add_form_fields(&mut open(&signed, None), &[spec("Later", FieldKind::Signature)]).unwrap();
}

#[test]
fn new_fields_are_merged_widgets_on_their_pages() {
    let input = test_pdf(&[TestPage::A4, TestPage { rotate: 270, ..TestPage::A4 }]);
    let specs = envelope_fields(1, -1);
    let update = add_form_fields(&mut open(&input, None), &specs).unwrap();
    let pdf = appended(&input, update);
    let mut doc = open(&pdf, None);
    let form = signet_pdf::form::acro_form(&mut doc).unwrap().unwrap();
    // signature fields exist, none is signed: SignaturesExist only (ISO 32000-2 §12.7.3)
    assert_eq!(form.dict.get_int("SigFlags"), Some(1));
    assert!(form.dict.get("DA").is_some());
    let fields = signet_pdf::form::fields(&mut doc).unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["PartyA_Signature", "PartyB_Signature", "PartyA_Name", "PartyB_Name"]);
    for (f, spec) in fields.iter().zip(&specs) {
        assert!(f.dict.is_name("Subtype", "Widget"));
        assert!(f.value.is_none() || !f.is_signature());
        assert_eq!(f.is_text(), spec.kind == FieldKind::Text);
        let page_ref = f.dict.get("P").and_then(Object::as_ref).unwrap();
        let page = doc.page(if spec.page == 1 { 0 } else { 1 }).unwrap();
        assert_eq!(page_ref, page.id);
        let annots = page.dict.get("Annots").and_then(Object::as_array).unwrap();
        assert!(annots.iter().any(|a| a.as_ref() == Some(f.id)));
        let rotated = f.dict.get("MK").and_then(Object::as_dict).and_then(|mk| mk.get_int("R"));
        assert_eq!(rotated, (page.rotate != 0).then_some(270));
        let r = signet_pdf::Rect::from_object(f.dict.get("Rect").unwrap()).unwrap();
        // the visual width becomes the user-space height on a page turned 270 degrees
        let (w, h) = if page.rotate == 270 { (r.height(), r.width()) } else { (r.width(), r.height()) };
        assert_eq!((w, h), (spec.rect.width(), spec.rect.height()));
    }
}
