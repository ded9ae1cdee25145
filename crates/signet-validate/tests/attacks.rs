//! Known ways to fool a PDF signature validator, each crafted on a freshly signed file and
//! named after its class: universal signature forgery (USF), incremental saving attacks (ISA),
//! signature wrapping (SWA) from Mladenov et al., "1 Trillion Dollar Refund" (2019), and the
//! shadow attacks (hide, replace, hide-and-replace) from Mainka, Mladenov, Rohlmann, Schwenk,
//! "Shadow Attacks: Hiding and Replacing Content in Signed PDFs" (2021). The validator must
//! report every one as not intact or modified, never valid, and never panic. Each crafted file
//! is also written to `$CARGO_TARGET_TMPDIR/attacks/<class>.pdf`, and pyHanko's verdicts on
//! them are printed by `pyhanko_on_the_attack_files` for comparison.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use signet_crypto::{DigestAlgorithm, Identity};
use signet_pades::{IdentityCms, SignatureOptions, sign_update};
use signet_pdf::{Dict, Document, IncrementalUpdate, ObjRef, Object, Stream};
use signet_testkit::{Pki, TestPage, test_pdf};
use signet_validate::{Coverage, Report, ValidationOptions, validate};

/// One PKI for the tests of this file (making one costs an RSA-3072 key).
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("attacks-pki");
        let _ = std::fs::remove_dir_all(&dir);
        Pki::make(&dir)
    })
}

fn identity(name: &str) -> Identity {
    Identity::from_pkcs12(&std::fs::read(pki().p12(name)).unwrap(), "peer-test").unwrap()
}

fn anchors() -> Vec<Vec<u8>> {
    signet_crypto::certificates_from_pem_or_der(&std::fs::read(pki().root()).unwrap()).unwrap()
}

fn sign_with(pdf: &[u8], identity: &Identity) -> Vec<u8> {
    let mut doc = Document::open(pdf.to_vec(), None).unwrap();
    let cms = IdentityCms::new(identity, DigestAlgorithm::Sha256, None);
    let (_, update) = sign_update(&mut doc, &SignatureOptions::default(), &cms).unwrap();
    let mut out = pdf.to_vec();
    out.extend_from_slice(&update);
    out
}

fn sign(pdf: &[u8]) -> Vec<u8> {
    static KEY: OnceLock<Identity> = OnceLock::new();
    sign_with(pdf, KEY.get_or_init(|| identity("signer-ec")))
}

/// `pdf` with one incremental update made by `f`.
fn revise(pdf: &[u8], f: impl FnOnce(&mut Document<Vec<u8>>, &mut IncrementalUpdate)) -> Vec<u8> {
    let mut doc = Document::open(pdf.to_vec(), None).unwrap();
    let mut upd = IncrementalUpdate::new(&doc);
    f(&mut doc, &mut upd);
    let mut out = pdf.to_vec();
    out.extend_from_slice(&upd.finish(&doc).unwrap().bytes);
    out
}

fn check(pdf: &[u8]) -> Report {
    let opts = ValidationOptions { trust_anchors: anchors(), ..ValidationOptions::default() };
    validate(Arc::new(pdf.to_vec()), &opts).unwrap()
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).rposition(|w| w == needle).unwrap()
}

fn content_ref(doc: &mut Document<Vec<u8>>) -> ObjRef {
    doc.page(0).unwrap().dict.get("Contents").and_then(Object::as_ref).unwrap()
}

fn rect(r: [i64; 4]) -> Object {
    Object::Array(r.iter().map(|&v| Object::Int(v)).collect())
}

fn form_xobject(content: &str) -> Stream {
    Stream::new(
        Dict::new()
            .with("Type", Object::name("XObject"))
            .with("Subtype", Object::name("Form"))
            .with("BBox", rect([0, 0, 595, 842])),
        content.as_bytes().to_vec(),
    )
}

fn helvetica() -> Dict {
    Dict::new()
        .with("Type", Object::name("Font"))
        .with("Subtype", Object::name("Type1"))
        .with("BaseFont", Object::name("Helvetica"))
}

/// Writes the crafted file for pyHanko and people to look at.
fn keep(class: &str, pdf: &[u8]) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("attacks");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{class}.pdf")), pdf).unwrap();
}

/// Not valid, and either not intact or modified; with the reasons named.
fn assert_caught(class: &str, pdf: &[u8]) -> Report {
    keep(class, pdf);
    let r = check(pdf);
    assert!(!r.is_valid(), "{class}: reported valid\n{r}");
    assert!(
        r.signatures.iter().any(|s| !s.intact || s.coverage == Coverage::Modified),
        "{class}: neither broken nor modified\n{r}"
    );
    assert!(r.signatures.iter().any(|s| !s.reasons.is_empty()), "{class}: no reason given\n{r}");
    r
}

/// Replaces `from` (its last occurrence) with `to` padded by spaces to the same length.
fn patch(pdf: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert!(to.len() <= from.len());
    let at = find(pdf, from);
    let mut out = pdf.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out[at + to.len()..at + from.len()].fill(b' ');
    out
}

/// The `/Contents<...>` hex string of the last signature, delimiters included.
fn contents_span(pdf: &[u8]) -> (usize, usize) {
    let at = find(pdf, b"/Contents<") + b"/Contents".len();
    let end = at + pdf[at..].iter().position(|&b| b == b'>').unwrap() + 1;
    (at, end)
}

/// The `/ByteRange[...]` numbers of the last signature and where they are written.
fn byte_range(pdf: &[u8]) -> ([u64; 4], usize, usize) {
    let at = find(pdf, b"/ByteRange[") + b"/ByteRange[".len();
    let end = at + pdf[at..].iter().position(|&b| b == b']').unwrap();
    let nums: Vec<u64> =
        std::str::from_utf8(&pdf[at..end]).unwrap().split_whitespace().map(|n| n.parse().unwrap()).collect();
    ([nums[0], nums[1], nums[2], nums[3]], at, end)
}

fn set_byte_range(pdf: &mut [u8], br: [u64; 4]) {
    let (_, at, end) = byte_range(pdf);
    let mut text = format!("{} {} {} {}", br[0], br[1], br[2], br[3]).into_bytes();
    assert!(text.len() <= end - at);
    text.resize(end - at, b' ');
    pdf[at..end].copy_from_slice(&text);
}

fn signed() -> Vec<u8> {
    sign(&test_pdf(&[TestPage::A4]))
}

// ---------------------------------------------------------------- the untouched baseline

#[test]
fn untouched_signature_is_valid() {
    let r = check(&signed());
    assert!(r.is_valid(), "{r}");
    assert_eq!(r.signatures[0].coverage, Coverage::Whole);
}

#[test]
fn a_second_signature_is_a_permitted_change() {
    let pdf = sign(&signed());
    let r = check(&pdf);
    assert!(r.is_valid(), "{r}");
    assert_eq!(r.signatures[0].coverage, Coverage::PermittedChanges, "{r}");
}

#[test]
fn filling_an_empty_field_is_a_permitted_change() {
    let pdf = sign(&with_text_field(None));
    let pdf = fill_amount(&pdf, "250 EUR");
    let r = check(&pdf);
    assert!(r.is_valid(), "{r}");
    assert_eq!(r.signatures[0].coverage, Coverage::PermittedChanges, "{r}");
}

// ---------------------------------------------------------------- universal signature forgery

fn usf_missing_contents_pdf() -> Vec<u8> {
    patch(&signed(), b"/Contents<", b"/Xontents<")
}

#[test]
fn usf_missing_contents() {
    assert_caught("usf_missing_contents", &usf_missing_contents_pdf());
}

fn usf_empty_contents_pdf() -> Vec<u8> {
    let pdf = signed();
    let (at, end) = contents_span(&pdf);
    let mut out = pdf.clone();
    out[at..end].fill(b' ');
    out[at..at + 2].copy_from_slice(b"<>");
    out
}

#[test]
fn usf_empty_contents() {
    assert_caught("usf_empty_contents", &usf_empty_contents_pdf());
}

fn usf_null_contents_pdf() -> Vec<u8> {
    let pdf = signed();
    let (at, end) = contents_span(&pdf);
    let mut out = pdf.clone();
    out[at..end].fill(b' ');
    out[at..at + 4].copy_from_slice(b"null");
    out
}

#[test]
fn usf_null_contents() {
    assert_caught("usf_null_contents", &usf_null_contents_pdf());
}

fn usf_zeroed_contents_pdf() -> Vec<u8> {
    let pdf = signed();
    let (at, end) = contents_span(&pdf);
    let mut out = pdf.clone();
    out[at + 1..end - 1].fill(b'0');
    out
}

#[test]
fn usf_zeroed_contents() {
    assert_caught("usf_zeroed_contents", &usf_zeroed_contents_pdf());
}

fn usf_missing_byterange_pdf() -> Vec<u8> {
    patch(&signed(), b"/ByteRange[", b"/XyteRange[")
}

#[test]
fn usf_missing_byterange() {
    assert_caught("usf_missing_byterange", &usf_missing_byterange_pdf());
}

#[test]
fn usf_bogus_byterange() {
    let pdf = signed();
    let ([_, b, c, d], at, end) = byte_range(&pdf);
    let len = pdf.len() as u64;
    let variants: Vec<(&str, String)> = vec![
        ("zeros", "0 0 0 0".into()),
        ("empty", String::new()),
        ("negative", format!("0 -{b} {c} {d}")),
        ("beyond_the_end", format!("0 {b} {c} {}", d + 1000)),
        ("overlapping", format!("0 {} {} {}", c + 10, c, d)),
        ("whole_file_no_gap", format!("0 {len} {len} 0")),
        ("three_numbers", format!("0 {b} {c}")),
        ("not_at_start", format!("1 {} {c} {d}", b - 1)),
        ("reals", format!("0 {b}.0 {c} {d}")),
    ];
    for (name, text) in variants {
        let mut out = pdf.clone();
        let mut field = text.into_bytes();
        field.resize(end - at, b' ');
        out[at..end].copy_from_slice(&field);
        assert_caught(&format!("usf_bogus_byterange_{name}"), &out);
    }
    // a null /ByteRange
    let mut out = pdf.clone();
    out[at - 1..=end].fill(b' ');
    out[at - 1..at + 3].copy_from_slice(b"null");
    assert_caught("usf_bogus_byterange_null", &out);
}

fn usf_cms_other_signer_pdf() -> Vec<u8> {
    // the CMS names the trusted RSA signer's certificate but is signed with another key
    let rsa = identity("signer-rsa");
    let ec = identity("signer-ec");
    let forged = Identity { signer: ec.signer.clone(), certificate: rsa.certificate.clone(), chain: rsa.chain.clone() };
    sign_with(&test_pdf(&[TestPage::A4]), &forged)
}

#[test]
fn usf_cms_other_signer() {
    let r = assert_caught("usf_cms_other_signer", &usf_cms_other_signer_pdf());
    assert!(!r.signatures[0].intact, "{r}");
}

#[test]
fn usf_cms_of_another_document() {
    // a genuine CMS lifted from another signed file into this one's gap
    let donor = sign(&test_pdf(&[TestPage::A4, TestPage::A4]));
    let pdf = signed();
    let (da, de) = contents_span(&donor);
    let (at, end) = contents_span(&pdf);
    let mut out = pdf.clone();
    let n = (de - da).min(end - at);
    out[at..at + n - 1].copy_from_slice(&donor[da..da + n - 1]);
    let r = assert_caught("usf_cms_of_another_document", &out);
    assert!(!r.signatures[0].intact, "{r}");
}

// ---------------------------------------------------------------- incremental saving attacks

fn isa_page_content_replaced_with_xref_pdf() -> Vec<u8> {
    // the content stream itself is redefined, same dictionary and length, other bytes
    let pdf = signed();
    revise(&pdf, |doc, upd| {
        let id = content_ref(doc);
        let Object::Stream(old) = doc.get(id).unwrap() else { panic!() };
        let data = doc.raw_stream_data(Some(id), &old).unwrap();
        let mut forged = b"1 0 0 rg 9 9 99 99 re f".to_vec();
        forged.resize(data.len(), b' ');
        upd.replace(id, Stream::new(old.dict.clone(), forged));
    })
}

#[test]
fn isa_page_content_replaced_with_xref() {
    let r = assert_caught("isa_page_content_replaced_with_xref", &isa_page_content_replaced_with_xref_pdf());
    assert!(r.signatures[0].intact && r.signatures[0].coverage == Coverage::Modified, "{r}");
}

fn isa_page_content_reference_replaced_pdf() -> Vec<u8> {
    revise(&signed(), |doc, upd| {
        let page = doc.page(0).unwrap();
        let forged = upd.add(Stream::new(Dict::new(), b"BT /F1 30 Tf 50 50 Td (PAY 1,000,000) Tj ET".to_vec()));
        let mut d = page.dict.clone();
        d.set("Contents", Object::Ref(forged));
        upd.replace(page.id, d);
    })
}

#[test]
fn isa_page_content_reference_replaced() {
    let r = assert_caught("isa_page_content_reference_replaced", &isa_page_content_reference_replaced_pdf());
    assert!(r.signatures[0].intact, "the signed revision itself is untouched");
}

/// An object appended after `%%EOF` with no xref section and no trailer; `pad` bytes of
/// comment first (pushing the old `startxref` out of the reader's tail window).
fn append_without_xref(pdf: &[u8], pad: usize) -> Vec<u8> {
    let mut doc = Document::open(pdf.to_vec(), None).unwrap();
    let id = content_ref(&mut doc);
    let content = b"1 0 0 rg 0 0 595 842 re f";
    let mut out = pdf.to_vec();
    for _ in 0..pad / 64 {
        out.extend_from_slice(format!("%{}\n", "x".repeat(62)).as_bytes());
    }
    out.extend_from_slice(format!("{} 0 obj\n<< /Length {} >>\nstream\n", id.num, content.len()).as_bytes());
    out.extend_from_slice(content);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    out
}

#[test]
fn isa_page_content_replaced_without_xref() {
    let pdf = append_without_xref(&signed(), 0);
    assert_caught("isa_page_content_replaced_without_xref", &pdf);
    // far from the old startxref: the reader repairs the file by scanning
    let pdf = append_without_xref(&signed(), 4096);
    assert_caught("isa_page_content_replaced_without_xref_repaired", &pdf);
}

fn isa_page_added_pdf() -> Vec<u8> {
    revise(&signed(), |doc, upd| {
        let cat = doc.catalog().unwrap();
        let pages_ref = cat.get("Pages").and_then(Object::as_ref).unwrap();
        let mut pages = doc.get(pages_ref).unwrap().as_dict().unwrap().clone();
        let content =
            upd.add(Stream::new(Dict::new(), b"BT /F1 30 Tf 50 700 Td (Addendum: PAY 1,000,000) Tj ET".to_vec()));
        let page = upd.add(
            Dict::new()
                .with("Type", Object::name("Page"))
                .with("Parent", pages_ref)
                .with("MediaBox", rect([0, 0, 595, 842]))
                .with("Contents", content),
        );
        let mut kids = pages.get("Kids").and_then(Object::as_array).unwrap().to_vec();
        kids.push(Object::Ref(page));
        pages.set("Kids", Object::Array(kids));
        pages.set("Count", Object::Int(2));
        upd.replace(pages_ref, pages);
    })
}

#[test]
fn isa_page_added() {
    assert_caught("isa_page_added", &isa_page_added_pdf());
}

fn isa_page_added_through_indirect_kids_pdf() -> Vec<u8> {
    // the page tree's /Kids is an indirect array when signed; the later update appends a page
    // dressed as a signature widget, hoping to pass as "a signature field was added"
    let unsigned = revise(&test_pdf(&[TestPage::A4]), |doc, upd| {
        let cat = doc.catalog().unwrap();
        let pages_ref = cat.get("Pages").and_then(Object::as_ref).unwrap();
        let mut pages = doc.get(pages_ref).unwrap().as_dict().unwrap().clone();
        let kids = pages.get("Kids").cloned().unwrap();
        let kids_ref = upd.add(kids);
        pages.set("Kids", Object::Ref(kids_ref));
        upd.replace(pages_ref, pages);
    });
    let pdf = sign(&unsigned);
    revise(&pdf, |doc, upd| {
        let cat = doc.catalog().unwrap();
        let pages_ref = cat.get("Pages").and_then(Object::as_ref).unwrap();
        let pages = doc.get(pages_ref).unwrap().as_dict().unwrap().clone();
        let kids_ref = pages.get("Kids").and_then(Object::as_ref).unwrap();
        let mut kids = doc.get(kids_ref).unwrap().as_array().unwrap().to_vec();
        let content = upd.add(Stream::new(Dict::new(), b"BT /F1 30 Tf 50 700 Td (PAY 1,000,000) Tj ET".to_vec()));
        let page = upd.add(
            Dict::new()
                .with("Type", Object::name("Page"))
                .with("Subtype", Object::name("Widget"))
                .with("FT", Object::name("Sig"))
                .with("Parent", pages_ref)
                .with("MediaBox", rect([0, 0, 595, 842]))
                .with("Contents", content),
        );
        kids.push(Object::Ref(page));
        upd.replace(kids_ref, Object::Array(kids));
    })
}

#[test]
fn isa_page_added_through_indirect_kids() {
    assert_caught("isa_page_added_through_indirect_kids", &isa_page_added_through_indirect_kids_pdf());
}

/// The test page with a free-text annotation, before signing.
fn with_annotation(flags: i64, overlay: bool) -> Vec<u8> {
    revise(&test_pdf(&[TestPage::A4]), |doc, upd| {
        let page = doc.page(0).unwrap();
        let body = if overlay { "1 1 1 rg 0 0 595 842 re f" } else { "0 0 1 rg 10 10 100 20 re f" };
        let ap = upd.add(form_xobject(body));
        let annot = upd.add(
            Dict::new()
                .with("Type", Object::name("Annot"))
                .with("Subtype", Object::name("Square"))
                .with("Rect", rect([0, 0, 595, 842]))
                .with("F", Object::Int(flags))
                .with("Contents", Object::text("Approved: 100 EUR"))
                .with("AP", Dict::new().with("N", ap)),
        );
        let mut d = page.dict.clone();
        d.set("Annots", Object::Array(vec![Object::Ref(annot)]));
        upd.replace(page.id, d);
    })
}

fn annotation_ref(doc: &mut Document<Vec<u8>>) -> ObjRef {
    let page = doc.page(0).unwrap();
    let annots = doc.resolve_key(&page.dict, "Annots").unwrap().unwrap();
    annots.as_array().unwrap().iter().filter_map(Object::as_ref).next().unwrap()
}

fn isa_annotation_changed_pdf() -> Vec<u8> {
    let pdf = sign(&with_annotation(4, false));
    revise(&pdf, |doc, upd| {
        let id = annotation_ref(doc);
        let mut d = doc.get(id).unwrap().as_dict().unwrap().clone();
        let ap = upd.add(form_xobject("1 0 0 rg 0 0 595 842 re f"));
        d.set("Contents", Object::text("Approved: 1,000,000 EUR"));
        d.set("AP", Dict::new().with("N", ap).into());
        upd.replace(id, d);
    })
}

#[test]
fn isa_annotation_changed() {
    assert_caught("isa_annotation_changed", &isa_annotation_changed_pdf());
}

fn isa_annotation_added_pdf() -> Vec<u8> {
    revise(&signed(), |doc, upd| {
        let page = doc.page(0).unwrap();
        let ap = upd.add(form_xobject("1 1 1 rg 0 0 595 842 re f"));
        let annot = upd.add(
            Dict::new()
                .with("Type", Object::name("Annot"))
                .with("Subtype", Object::name("Square"))
                .with("Rect", rect([0, 0, 595, 842]))
                .with("AP", Dict::new().with("N", ap)),
        );
        let mut d = page.dict.clone();
        d.set("Annots", Object::Array(vec![Object::Ref(annot)]));
        upd.replace(page.id, d);
    })
}

#[test]
fn isa_annotation_added() {
    assert_caught("isa_annotation_added", &isa_annotation_added_pdf());
}

#[test]
fn isa_trailing_bytes_are_not_whole_coverage() {
    // bytes after %%EOF: the signature no longer covers the whole file
    let mut pdf = signed();
    pdf.extend_from_slice(b"\n% trailing bytes\n");
    let r = check(&pdf);
    assert_ne!(r.signatures[0].coverage, Coverage::Whole);
}

// ---------------------------------------------------------------- signature wrapping

fn signature_wrapping_byterange_moved_pdf() -> Vec<u8> {
    // objects inserted right after /Contents, the second signed part moved behind them and
    // /ByteRange rewritten to point at its new place
    let pdf = signed();
    let ([a, b, c, d], _, _) = byte_range(&pdf);
    let mut doc = Document::open(pdf.clone(), None).unwrap();
    let id = content_ref(&mut doc);
    let inserted =
        format!("\n{} 0 obj\n<< /Length 25 >>\nstream\n1 0 0 rg 0 0 595 842 re f\nendstream\nendobj\n", id.num)
            .into_bytes();
    let mut out = pdf[..c as usize].to_vec();
    out.extend_from_slice(&inserted);
    out.extend_from_slice(&pdf[c as usize..]);
    let shift = inserted.len() as u64;
    set_byte_range(&mut out, [a, b, c + shift, d]);
    out
}

#[test]
fn signature_wrapping_byterange_moved() {
    let r = assert_caught("signature_wrapping_byterange_moved", &signature_wrapping_byterange_moved_pdf());
    assert!(!r.signatures[0].intact, "{r}");
}

#[test]
fn signature_wrapping_byterange_kept() {
    // the same insertion with /ByteRange left alone: the second part no longer matches
    let pdf = signed();
    let ([_, _, c, _], _, _) = byte_range(&pdf);
    let mut out = pdf[..c as usize].to_vec();
    out.extend_from_slice(b"\n99 0 obj\n(inserted)\nendobj\n");
    out.extend_from_slice(&pdf[c as usize..]);
    let r = assert_caught("signature_wrapping_byterange_kept", &out);
    assert!(!r.signatures[0].intact, "{r}");
}

#[test]
fn signature_wrapping_gap_shifted() {
    // the gap shifted by two bytes: no longer exactly this signature's /Contents
    let mut pdf = signed();
    let ([a, b, c, d], _, _) = byte_range(&pdf);
    set_byte_range(&mut pdf, [a, b - 2, c - 2, d + 2]);
    let r = assert_caught("signature_wrapping_gap_shifted", &pdf);
    assert!(!r.signatures[0].intact, "{r}");
}

// ---------------------------------------------------------------- shadow attacks

/// A page showing `real` under an overlay XObject `/Ov` that paints a white box with `shown`
/// on top; plus an unused empty form XObject prepared for later. Returns the PDF and the
/// object numbers of the overlay and the prepared empty form.
fn with_overlay(real: &str, shown: &str) -> (Vec<u8>, u32, u32) {
    let mut ids = (0, 0);
    let pdf = revise(&test_pdf(&[TestPage::A4]), |doc, upd| {
        let page = doc.page(0).unwrap();
        let font = upd.add(helvetica());
        let overlay =
            upd.add(form_xobject(&format!("1 1 1 rg 40 680 520 60 re f 0 g BT /F1 24 Tf 50 700 Td ({shown}) Tj ET")));
        let empty = upd.add(form_xobject(" "));
        let content =
            upd.add(Stream::new(Dict::new(), format!("BT /F1 24 Tf 50 700 Td ({real}) Tj ET q /Ov Do Q").into_bytes()));
        let mut d = page.dict.clone();
        d.set("Contents", Object::Ref(content));
        d.set(
            "Resources",
            Dict::new()
                .with("Font", Dict::new().with("F1", font))
                .with("XObject", Dict::new().with("Ov", overlay))
                .into(),
        );
        upd.replace(page.id, d);
        ids = (overlay.num, empty.num);
    });
    (pdf, ids.0, ids.1)
}

fn shadow_hide_pdf() -> Vec<u8> {
    // the signer saw "PAY 100 EUR" drawn over "PAY 1,000,000 EUR"; the update empties the overlay
    let (pdf, overlay, _) = with_overlay("PAY 1,000,000 EUR", "PAY 100 EUR");
    let pdf = sign(&pdf);
    revise(&pdf, |_, upd| upd.replace(ObjRef::new(overlay, 0), form_xobject(" ")))
}

#[test]
fn shadow_hide() {
    let r = assert_caught("shadow_hide", &shadow_hide_pdf());
    assert!(r.signatures[0].intact, "{r}");
}

/// An update made of a cross-reference section only, pointing object `num` at the bytes of
/// object `target` (the "hide via xref" variant: no new object at all).
fn xref_only_update(pdf: &[u8], num: u32, target: u32) -> Vec<u8> {
    let doc = Document::open(pdf.to_vec(), None).unwrap();
    let Some(signet_pdf::xref::XrefEntry::Offset { offset, .. }) = doc.xref().entries.get(&target).copied() else {
        panic!("object {target} is not at an offset")
    };
    let root = doc.root_ref().unwrap();
    let mut out = pdf.to_vec();
    let xref_at = out.len();
    out.extend_from_slice(format!("xref\n{num} 1\n{offset:010} 00000 n\r\n").as_bytes());
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root {} 0 R /Prev {} >>\nstartxref\n{xref_at}\n%%EOF\n",
            doc.next_object_number(),
            root.num,
            doc.xref().startxref
        )
        .as_bytes(),
    );
    out
}

fn shadow_hide_via_xref_pdf() -> Vec<u8> {
    let (pdf, overlay, empty) = with_overlay("PAY 1,000,000 EUR", "PAY 100 EUR");
    let pdf = sign(&pdf);
    xref_only_update(&pdf, overlay, empty)
}

#[test]
fn shadow_hide_via_xref() {
    assert_caught("shadow_hide_via_xref", &shadow_hide_via_xref_pdf());
}

fn shadow_hide_annotation_flag_pdf() -> Vec<u8> {
    // a white overlay annotation covers the page when signed; the update sets it hidden
    let unsigned = with_annotation(4, true);
    let pdf = sign(&unsigned);
    revise(&pdf, |doc, upd| {
        let id = annotation_ref(doc);
        let mut d = doc.get(id).unwrap().as_dict().unwrap().clone();
        d.set("F", Object::Int(2));
        upd.replace(id, d);
    })
}

#[test]
fn shadow_hide_annotation_flag() {
    assert_caught("shadow_hide_annotation_flag", &shadow_hide_annotation_flag_pdf());
}

/// A text field `amount` (merged with its widget), with `value` if given, and `/DR` with
/// `/Helv`, before signing.
fn with_text_field(value: Option<&str>) -> Vec<u8> {
    revise(&test_pdf(&[TestPage::A4]), |doc, upd| {
        let page = doc.page(0).unwrap();
        let font = upd.add(helvetica());
        let mut field = Dict::new()
            .with("Type", Object::name("Annot"))
            .with("Subtype", Object::name("Widget"))
            .with("FT", Object::name("Tx"))
            .with("T", Object::text("amount"))
            .with("Rect", rect([50, 690, 400, 730]))
            .with("F", Object::Int(4))
            .with("P", page.id)
            .with("DA", Object::text("/Helv 24 Tf 0 g"));
        if let Some(v) = value {
            let ap = upd.add(appearance(v));
            field.set("V", Object::text(v));
            field.set("AP", Dict::new().with("N", ap).into());
        }
        let field = upd.add(field);
        let mut d = page.dict.clone();
        d.set("Annots", Object::Array(vec![Object::Ref(field)]));
        upd.replace(page.id, d);
        let mut cat = doc.catalog().unwrap();
        cat.set(
            "AcroForm",
            Dict::new()
                .with("Fields", Object::Array(vec![Object::Ref(field)]))
                .with("DR", Dict::new().with("Font", Dict::new().with("Helv", font)))
                .into(),
        );
        upd.replace(doc.root_ref().unwrap(), cat);
    })
}

fn appearance(text: &str) -> Stream {
    let mut s = form_xobject(&format!("/Tx BMC BT /Helv 24 Tf 2 10 Td ({text}) Tj ET EMC"));
    s.dict.set("BBox", rect([0, 0, 350, 40]));
    s
}

fn field_ref(doc: &mut Document<Vec<u8>>) -> ObjRef {
    let fields = signet_pdf::form::fields(doc).unwrap();
    fields.iter().find(|f| f.name == "amount").unwrap().id
}

fn fill_amount(pdf: &[u8], value: &str) -> Vec<u8> {
    revise(pdf, |doc, upd| {
        let id = field_ref(doc);
        let mut d = doc.get(id).unwrap().as_dict().unwrap().clone();
        let ap = upd.add(appearance(value));
        d.set("V", Object::text(value));
        d.set("AP", Dict::new().with("N", ap).into());
        upd.replace(id, d);
    })
}

fn shadow_replace_pdf() -> Vec<u8> {
    // the signer saw "100 EUR" in a form field; the update puts another value there
    let pdf = sign(&with_text_field(Some("100 EUR")));
    fill_amount(&pdf, "1,000,000 EUR")
}

#[test]
fn shadow_replace() {
    let r = assert_caught("shadow_replace", &shadow_replace_pdf());
    assert!(r.signatures[0].intact, "{r}");
}

fn shadow_replace_font_pdf() -> Vec<u8> {
    // the form's default font resource is pointed at another font after signing
    let pdf = sign(&with_text_field(Some("100 EUR")));
    revise(&pdf, |doc, upd| {
        let root = doc.root_ref().unwrap();
        let mut cat = doc.catalog().unwrap();
        let mut form = cat.get("AcroForm").and_then(Object::as_dict).unwrap().clone();
        let font = upd.add(helvetica().with("BaseFont", Object::name("Courier")));
        form.set("DR", Dict::new().with("Font", Dict::new().with("Helv", font)).into());
        cat.set("AcroForm", form.into());
        upd.replace(root, cat);
    })
}

#[test]
fn shadow_replace_font() {
    assert_caught("shadow_replace_font", &shadow_replace_font_pdf());
}

fn shadow_replace_font_object_pdf() -> Vec<u8> {
    // the font object itself is redefined
    let pdf = sign(&with_text_field(Some("100 EUR")));
    revise(&pdf, |doc, upd| {
        let form = signet_pdf::form::acro_form(doc).unwrap().unwrap();
        let dr = form.dict.get("DR").and_then(Object::as_dict).unwrap();
        let font = dr.get("Font").and_then(Object::as_dict).unwrap().get("Helv").and_then(Object::as_ref).unwrap();
        upd.replace(font, helvetica().with("BaseFont", Object::name("Courier")));
    })
}

#[test]
fn shadow_replace_font_object() {
    assert_caught("shadow_replace_font_object", &shadow_replace_font_object_pdf());
}

fn shadow_replace_read_only_field_pdf() -> Vec<u8> {
    // an empty but read-only field (Ff bit 1) gets a value after signing
    let unsigned = with_text_field(None);
    let unsigned = revise(&unsigned, |doc, upd| {
        let id = field_ref(doc);
        let d = doc.get(id).unwrap().as_dict().unwrap().clone().with("Ff", Object::Int(1));
        upd.replace(id, d);
    });
    fill_amount(&sign(&unsigned), "1,000,000 EUR")
}

#[test]
fn shadow_replace_read_only_field() {
    assert_caught("shadow_replace_read_only_field", &shadow_replace_read_only_field_pdf());
}

/// The page plus an unused content stream prepared before signing.
fn with_unused_content() -> (Vec<u8>, u32) {
    let mut unused = 0;
    let pdf = revise(&test_pdf(&[TestPage::A4]), |doc, upd| {
        let page = doc.page(0).unwrap();
        let font = upd.add(helvetica());
        let id = upd.add(Stream::new(Dict::new(), b"BT /F1 24 Tf 50 700 Td (PAY 1,000,000 EUR) Tj ET".to_vec()));
        let mut d = page.dict.clone();
        d.set("Resources", Dict::new().with("Font", Dict::new().with("F1", font)).into());
        upd.replace(page.id, d);
        unused = id.num;
    });
    (pdf, unused)
}

fn shadow_hide_and_replace_pdf() -> Vec<u8> {
    let (pdf, unused) = with_unused_content();
    let pdf = sign(&pdf);
    revise(&pdf, |doc, upd| {
        let page = doc.page(0).unwrap();
        let mut d = page.dict.clone();
        d.set("Contents", Object::Ref(ObjRef::new(unused, 0)));
        upd.replace(page.id, d);
    })
}

#[test]
fn shadow_hide_and_replace() {
    let r = assert_caught("shadow_hide_and_replace", &shadow_hide_and_replace_pdf());
    assert!(r.signatures[0].intact, "{r}");
}

fn shadow_hide_and_replace_via_xref_pdf() -> Vec<u8> {
    // the page's content stream number is pointed at the prepared stream's bytes
    let (pdf, unused) = with_unused_content();
    let pdf = sign(&pdf);
    let mut doc = Document::open(pdf.clone(), None).unwrap();
    let content = content_ref(&mut doc);
    xref_only_update(&pdf, content.num, unused)
}

#[test]
fn shadow_hide_and_replace_via_xref() {
    assert_caught("shadow_hide_and_replace_via_xref", &shadow_hide_and_replace_via_xref_pdf());
}

// ---------------------------------------------------------------- other checks

#[test]
fn mangled_signature_dictionaries_fail_cleanly() {
    let pdf = signed();
    let cases: Vec<(&[u8], &[u8])> = vec![
        (b"/ByteRange[0 ", b"/ByteRange[1 "),
        (b"/SubFilter/ETSI.CAdES.detached", b"/SubFilter/ETSI.CAdES.detachex"),
        (b"/Contents<30", b"/Contents<00"),
        (b"/Contents<30", b"/Contents<3X"),
    ];
    for (from, to) in cases {
        let mut out = pdf.clone();
        let at = find(&out, from);
        out[at..at + to.len()].copy_from_slice(to);
        let r = check(&out);
        assert!(!r.is_valid(), "{} -> {}: {r}", String::from_utf8_lossy(from), String::from_utf8_lossy(to));
        assert!(!r.signatures.is_empty() && !r.signatures[0].reasons.is_empty());
    }
}

#[test]
fn untrusted_without_the_right_anchor() {
    let pdf = signed();
    let opts = ValidationOptions::default();
    let r = validate(Arc::new(pdf.clone()), &opts).unwrap();
    assert!(r.signatures[0].intact && !r.signatures[0].trusted);
    let tmp = tempfile::tempdir().unwrap();
    let other = Pki::make(tmp.path());
    let other = signet_crypto::certificates_from_pem_or_der(&std::fs::read(other.root()).unwrap()).unwrap();
    let opts = ValidationOptions { trust_anchors: other, ..ValidationOptions::default() };
    let r = validate(Arc::new(pdf), &opts).unwrap();
    assert!(r.signatures[0].intact && !r.signatures[0].trusted, "{r}");
}

type Builder = fn() -> Vec<u8>;

/// Every crafted file through pyHanko too; disagreements are printed, not failed on (pyHanko
/// is not the reference here, Signet is).
#[test]
fn pyhanko_on_the_attack_files() {
    let builders: Vec<(&str, Builder)> = vec![
        ("usf_missing_contents", usf_missing_contents_pdf),
        ("usf_empty_contents", usf_empty_contents_pdf),
        ("usf_null_contents", usf_null_contents_pdf),
        ("usf_zeroed_contents", usf_zeroed_contents_pdf),
        ("usf_missing_byterange", usf_missing_byterange_pdf),
        ("usf_cms_other_signer", usf_cms_other_signer_pdf),
        ("isa_page_content_replaced_with_xref", isa_page_content_replaced_with_xref_pdf),
        ("isa_page_content_reference_replaced", isa_page_content_reference_replaced_pdf),
        ("isa_page_added", isa_page_added_pdf),
        ("isa_page_added_through_indirect_kids", isa_page_added_through_indirect_kids_pdf),
        ("isa_annotation_changed", isa_annotation_changed_pdf),
        ("isa_annotation_added", isa_annotation_added_pdf),
        ("signature_wrapping_byterange_moved", signature_wrapping_byterange_moved_pdf),
        ("shadow_hide", shadow_hide_pdf),
        ("shadow_hide_via_xref", shadow_hide_via_xref_pdf),
        ("shadow_hide_annotation_flag", shadow_hide_annotation_flag_pdf),
        ("shadow_replace", shadow_replace_pdf),
        ("shadow_replace_font", shadow_replace_font_pdf),
        ("shadow_replace_font_object", shadow_replace_font_object_pdf),
        ("shadow_replace_read_only_field", shadow_replace_read_only_field_pdf),
        ("shadow_hide_and_replace", shadow_hide_and_replace_pdf),
        ("shadow_hide_and_replace_via_xref", shadow_hide_and_replace_via_xref_pdf),
    ];
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("attacks-pyhanko");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (class, build) in &builders {
        let pdf = build();
        let r = check(&pdf);
        assert!(!r.is_valid(), "{class}: {r}");
        let path = dir.join(format!("{class}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        files.push(path);
    }
    let verdicts = signet_testkit::pyhanko_verdicts(&pki().root(), None, &files);
    for (file, v) in verdicts {
        let fooled = v.iter().any(|x| x == "intact");
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        println!("pyHanko on {name}: {v:?}{}", if fooled { "  <- pyHanko calls it intact" } else { "" });
    }
}
