//! Known ways to fool a PDF signature validator, each crafted on a freshly signed file: the
//! validator must catch every one and never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::{Arc, OnceLock};

use signet_crypto::{DigestAlgorithm, Identity};
use signet_pades::{IdentityCms, SignatureOptions, sign_update};
use signet_pdf::{Dict, Document, IncrementalUpdate, Object, Stream};
use signet_testkit::{Pki, TestPage, test_pdf};
use signet_validate::{Coverage, Report, ValidationOptions, validate};

struct Signed {
    pdf: Vec<u8>,
    anchors: Vec<Vec<u8>>,
}

/// One PKI for the tests of this file (making one costs an RSA-3072 key).
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("attacks-pki");
        let _ = std::fs::remove_dir_all(&dir);
        Pki::make(&dir)
    })
}

fn signed() -> Signed {
    let pki = pki();
    let identity = Identity::from_pkcs12(&std::fs::read(pki.p12("signer-ec")).unwrap(), "peer-test").unwrap();
    let mut pdf = test_pdf(&[TestPage::A4]);
    let mut doc = Document::open(pdf.clone(), None).unwrap();
    let cms = IdentityCms::new(&identity, DigestAlgorithm::Sha256, None);
    let (_, update) = sign_update(&mut doc, &SignatureOptions::default(), &cms).unwrap();
    pdf.extend_from_slice(&update);
    let anchors = signet_crypto::certificates_from_pem_or_der(&std::fs::read(pki.root()).unwrap()).unwrap();
    Signed { pdf, anchors }
}

fn check(pdf: Vec<u8>, anchors: &[Vec<u8>]) -> Report {
    let opts = ValidationOptions { trust_anchors: anchors.to_vec(), ..ValidationOptions::default() };
    validate(Arc::new(pdf), &opts).unwrap()
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).rposition(|w| w == needle).unwrap()
}

#[test]
fn untouched_signature_is_valid() {
    let s = signed();
    let r = check(s.pdf.clone(), &s.anchors);
    assert!(r.is_valid(), "{r}");
    assert_eq!(r.signatures[0].coverage, Coverage::Whole);
}

#[test]
fn incremental_saving_attack_changing_page_content_is_modified() {
    let s = signed();
    let mut doc = Document::open(s.pdf.clone(), None).unwrap();
    let page = doc.page(0).unwrap();
    let mut upd = IncrementalUpdate::new(&doc);
    let forged = upd.add(Stream::new(Dict::new(), b"BT /F1 30 Tf 50 50 Td (PAY 1,000,000) Tj ET".to_vec()));
    let mut d = page.dict.clone();
    d.set("Contents", Object::Ref(forged));
    upd.replace(page.id, d);
    let mut pdf = s.pdf.clone();
    pdf.extend_from_slice(&upd.finish(&doc).unwrap().bytes);
    let r = check(pdf, &s.anchors);
    let sig = &r.signatures[0];
    assert!(sig.intact, "the signed revision itself is untouched");
    assert_eq!(sig.coverage, Coverage::Modified, "{r}");
    assert!(!r.is_valid());
}

#[test]
fn shadow_attack_overlay_annotation_is_modified() {
    let s = signed();
    let mut doc = Document::open(s.pdf.clone(), None).unwrap();
    let page = doc.page(0).unwrap();
    let mut upd = IncrementalUpdate::new(&doc);
    let ap =
        upd.add(Stream::new(Dict::new().with("Subtype", Object::name("Form")), b"1 1 1 rg 0 0 595 842 re f".to_vec()));
    let annot = upd.add(
        Dict::new()
            .with("Type", Object::name("Annot"))
            .with("Subtype", Object::name("Square"))
            .with("Rect", vec![Object::Int(0), Object::Int(0), Object::Int(595), Object::Int(842)])
            .with("AP", Dict::new().with("N", ap)),
    );
    let mut d = page.dict.clone();
    d.set("Annots", Object::Array(vec![Object::Ref(annot)]));
    upd.replace(page.id, d);
    let mut pdf = s.pdf.clone();
    pdf.extend_from_slice(&upd.finish(&doc).unwrap().bytes);
    let r = check(pdf, &s.anchors);
    assert_eq!(r.signatures[0].coverage, Coverage::Modified, "{r}");
}

#[test]
fn byte_range_not_ending_at_the_file_end_hides_nothing() {
    // appending garbage after %%EOF: the signature no longer covers the whole file
    let s = signed();
    let mut pdf = s.pdf.clone();
    pdf.extend_from_slice(b"\n% trailing bytes\n");
    let r = check(pdf, &s.anchors);
    assert_ne!(r.signatures[0].coverage, Coverage::Whole);
}

#[test]
fn signature_wrapping_byte_range_moved_is_not_intact() {
    // shift the gap so that it no longer is exactly this signature's /Contents
    let s = signed();
    let mut pdf = s.pdf.clone();
    let at = find(&pdf, b"/ByteRange[") + b"/ByteRange[".len();
    let end = at + pdf[at..].iter().position(|&b| b == b']').unwrap();
    let nums: Vec<u64> =
        std::str::from_utf8(&pdf[at..end]).unwrap().split_whitespace().map(|n| n.parse().unwrap()).collect();
    let text = format!("0 {} {} {}", nums[1] - 2, nums[2] - 2, nums[3] + 2);
    let mut field = text.into_bytes();
    field.resize(end - at, b' ');
    pdf[at..end].copy_from_slice(&field);
    let r = check(pdf, &s.anchors);
    assert!(!r.signatures[0].intact, "{r}");
    assert!(!r.is_valid());
}

#[test]
fn mangled_signature_dictionaries_fail_cleanly() {
    let s = signed();
    let cases: Vec<(&[u8], &[u8])> = vec![
        (b"/ByteRange[0 ", b"/ByteRange[1 "),
        (b"/SubFilter/ETSI.CAdES.detached", b"/SubFilter/ETSI.CAdES.detachex"),
        (b"/Contents<30", b"/Contents<00"),
        (b"/Contents<30", b"/Contents<3X"),
    ];
    for (from, to) in cases {
        let mut pdf = s.pdf.clone();
        let at = find(&pdf, from);
        pdf[at..at + to.len()].copy_from_slice(to);
        let r = check(pdf, &s.anchors);
        assert!(!r.is_valid(), "{} -> {}: {r}", String::from_utf8_lossy(from), String::from_utf8_lossy(to));
        assert!(!r.signatures.is_empty() && !r.signatures[0].reasons.is_empty());
    }
}

#[test]
fn untrusted_without_the_right_anchor() {
    let s = signed();
    let r = check(s.pdf.clone(), &[]);
    assert!(r.signatures[0].intact && !r.signatures[0].trusted);
    let tmp = tempfile::tempdir().unwrap();
    let other = Pki::make(tmp.path());
    let other = signet_crypto::certificates_from_pem_or_der(&std::fs::read(other.root()).unwrap()).unwrap();
    let r = check(s.pdf.clone(), &other);
    assert!(r.signatures[0].intact && !r.signatures[0].trusted, "{r}");
}
