//! The two stages of a signature kept apart (deferred signing): a prepared document taken to
//! its parts and put together again attaches as before; parts that were altered or mixed up
//! are refused rather than attached.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use signet_pades::{SignatureOptions, TbsDocument, TbsParts, prepare};
use signet_testkit::{TestPage, test_pdf};

fn prepared() -> (Vec<u8>, TbsParts) {
    let pdf = test_pdf(&[TestPage::A4]);
    let mut doc = signet_pdf::Document::open(pdf.as_slice(), None).unwrap();
    let opts = SignatureOptions { contents_size: 64, ..SignatureOptions::default() };
    let tbs = prepare(&mut doc, &opts).unwrap();
    (pdf.clone(), tbs.into_parts())
}

#[test]
fn parts_put_together_attach_like_the_original() {
    let (pdf, parts) = prepared();
    assert_eq!(parts.original_len, pdf.len() as u64);
    assert_eq!(parts.byte_range[0], 0);
    let tbs = TbsDocument::from_parts(parts.clone()).unwrap();
    assert_eq!(tbs.digest(), parts.digest.as_slice());
    assert_eq!(tbs.reserved(), 64);
    let update = tbs.attach(&[0x30, 0x03, 0x02, 0x01, 0x01]).unwrap();
    let text = String::from_utf8_lossy(&update);
    assert!(text.contains("/Contents<3003020101000000"), "{text}");
    assert!(matches!(
        TbsDocument::from_parts(parts).unwrap().attach(&[0u8; 65]),
        Err(signet_pades::Error::ContentsTooSmall { reserved: 64, needed: 65 })
    ));
}

#[test]
fn altered_parts_are_refused() {
    let (_, parts) = prepared();
    let refused = |p: TbsParts, what: &str| match TbsDocument::from_parts(p) {
        Err(signet_pades::Error::Refused(m)) => assert!(m.contains("does not fit"), "{what}: {m}"),
        other => panic!("{what}: {other:?}"),
    };
    let mut p = parts.clone();
    p.byte_range[1] += 1;
    refused(p, "the /Contents start moved");
    let mut p = parts.clone();
    p.byte_range[3] += 1;
    refused(p, "a byte range longer than the document");
    let mut p = parts.clone();
    p.original_len += 7;
    refused(p, "another original");
    let mut p = parts.clone();
    p.update.truncate(p.update.len() - 10);
    refused(p, "a truncated update");
    let mut p = parts.clone();
    let at = (p.byte_range[1] - p.original_len) as usize + 3;
    p.update[at] = b'A';
    refused(p, "a placeholder already written into");
    let mut p = parts.clone();
    p.digest.pop();
    refused(p, "a digest of the wrong length");
    let mut p = parts;
    p.byte_range = [0, u64::MAX, u64::MAX, u64::MAX];
    refused(p, "overflowing numbers");
}
