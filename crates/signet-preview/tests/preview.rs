//! Page previews on hand-written PDFs (`signet_testkit::marked_test_pdf`): sizes, rotation,
//! crop boxes, and the round trip a seal-placing UI makes: a rectangle found in the image,
//! mapped to page points with the documented formula and then to user space by
//! `signet_pades::placement::to_user_space`, lands on what was drawn there.
//! Hostile input (garbage, every truncation of a file) must end in an error or an image,
//! never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use signet_pades::VisualRect;
use signet_pades::placement::to_user_space;
use signet_pdf::Rect;
use signet_preview::{Error, MAX_SIDE, PagePreview, PreviewOptions, page_geometry, render_page};
use signet_testkit::{TestPage, marked_test_pdf, test_pdf};

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Width, height and RGB pixels of a PNG.
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    assert!(png_bytes.starts_with(PNG_SIGNATURE), "not a PNG");
    let mut dec = png::Decoder::new(png_bytes);
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g]).collect(),
        other => panic!("unexpected colour type {other:?}"),
    };
    (info.width, info.height, rgb)
}

/// The bounding box, in pixels `(left, top, right, bottom)` (exclusive), of the black pixels
/// more than `margin` pixels inside the image: the mark, not the border 2 pt from the edge.
fn black_box(img: &(u32, u32, Vec<u8>), margin: u32) -> (u32, u32, u32, u32) {
    let (w, h, data) = img;
    let (mut l, mut t, mut r, mut b) = (u32::MAX, u32::MAX, 0, 0);
    for y in margin..h.saturating_sub(margin) {
        for x in margin..w.saturating_sub(margin) {
            let i = ((y * w + x) * 3) as usize;
            if data[i..i + 3].iter().all(|&c| c < 40) {
                (l, t, r, b) = (l.min(x), t.min(y), r.max(x + 1), b.max(y + 1));
            }
        }
    }
    assert!(l < r && t < b, "no black pixels in the image");
    (l, t, r, b)
}

/// The user-space rectangle that `marked_test_pdf` fills on a page.
fn drawn_mark(page: &TestPage) -> Rect {
    let [x, y, ..] = page.crop_box.unwrap_or(page.media_box);
    Rect { llx: x + 20.0, lly: y + 20.0, urx: x + 80.0, ury: y + 50.0 }
}

/// Finds the mark in the image and maps it back to user space as a seal placed over it would
/// be; checks that it lands on the drawn mark within a pixel and a half.
fn assert_mark_round_trips(preview: &PagePreview, page: &TestPage) {
    let img = decode(&preview.png);
    assert_eq!((img.0, img.1), (preview.pixel_width, preview.pixel_height));
    let g = &preview.geometry;
    let (l, t, r, b) = black_box(&img, (8.0 * f64::from(preview.pixel_width) / g.width) as u32);
    let (x1, y2) = preview.to_page_point(f64::from(l), f64::from(t));
    let (x2, y1) = preview.to_page_point(f64::from(r), f64::from(b));
    let crop = Rect { llx: g.crop_box[0], lly: g.crop_box[1], urx: g.crop_box[2], ury: g.crop_box[3] };
    let (found, _) = to_user_space(&VisualRect { x1, y1, x2, y2 }, &crop, g.rotate);
    let want = drawn_mark(page);
    let tolerance = 1.5 * g.width / f64::from(preview.pixel_width);
    for (f, w) in [(found.llx, want.llx), (found.lly, want.lly), (found.urx, want.urx), (found.ury, want.ury)] {
        assert!((f - w).abs() <= tolerance, "rotate {}: mark found at {found:?}, drawn at {want:?}", g.rotate);
    }
}

#[test]
fn a4_page_renders_at_96_dpi() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(dir.path(), "a4.pdf", &marked_test_pdf(&[TestPage::A4]));
    let preview = render_page(&pdf, 1, &PreviewOptions::default()).unwrap();
    assert!(preview.png.starts_with(PNG_SIGNATURE));
    // 595 × 842 pt at 96/72 px per pt
    assert_eq!((preview.pixel_width, preview.pixel_height), (793, 1123));
    assert_eq!(preview.page_count, 1);
    let g = preview.geometry;
    assert_eq!((g.width, g.height, g.rotate), (595.0, 842.0, 0));
    assert_eq!(g.crop_box, [0.0, 0.0, 595.0, 842.0]);
    assert_eq!(g.media_box, g.crop_box);
    assert_eq!(page_geometry(&pdf, 1).unwrap(), (g, 1));
    assert_mark_round_trips(&preview, &TestPage::A4);

    let half = render_page(&pdf, 1, &PreviewOptions { dpi: 36.0, ..PreviewOptions::default() }).unwrap();
    assert_eq!((half.pixel_width, half.pixel_height), (298, 421));
    assert_eq!(decode(&half.png).0, 298);
}

#[test]
fn rotated_pages_are_shown_turned_with_swapped_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let pages = [0, 90, 180, 270].map(|rotate| TestPage { rotate, ..TestPage::A4 });
    let pdf = write(dir.path(), "rotated.pdf", &marked_test_pdf(&pages));
    for (i, page) in pages.iter().enumerate() {
        let preview = render_page(&pdf, i + 1, &PreviewOptions::default()).unwrap();
        let g = preview.geometry;
        assert_eq!(g.rotate as i32, page.rotate);
        assert_eq!(page_geometry(&pdf, i + 1).unwrap(), (g, 4));
        let (w, h) = (f64::from(preview.pixel_width), f64::from(preview.pixel_height));
        if page.rotate % 180 == 90 {
            assert_eq!((g.width, g.height), (842.0, 595.0));
            assert!(w > h, "rotate {}: a landscape image, got {w}×{h}", page.rotate);
        } else {
            assert_eq!((g.width, g.height), (595.0, 842.0));
            assert!(w < h, "rotate {}: a portrait image, got {w}×{h}", page.rotate);
        }
        // whole pixels: the ratio is right to within a pixel's rounding
        assert!((w / h - g.width / g.height).abs() < 1.0 / h, "rotate {}: {w}×{h}", page.rotate);
        assert_mark_round_trips(&preview, page);
    }
}

#[test]
fn pages_whose_boxes_do_not_start_at_the_origin() {
    let dir = tempfile::tempdir().unwrap();
    let pages = [
        TestPage { media_box: [100.0, 200.0, 712.0, 992.0], crop_box: Some([130.0, 230.0, 682.0, 962.0]), rotate: 0 },
        TestPage { media_box: [100.0, 200.0, 712.0, 992.0], crop_box: Some([130.0, 230.0, 682.0, 962.0]), rotate: 270 },
        TestPage { media_box: [-300.0, -421.0, 295.0, 421.0], crop_box: None, rotate: 90 },
        // a crop box reaching outside the media box is clipped to it
        TestPage { media_box: [0.0, 0.0, 600.0, 800.0], crop_box: Some([50.0, 100.0, 700.0, 900.0]), rotate: 180 },
    ];
    let pdf = write(dir.path(), "offset.pdf", &marked_test_pdf(&pages[..3]));
    let clipped = write(dir.path(), "clipped.pdf", &marked_test_pdf(&pages[3..]));

    let first = render_page(&pdf, 1, &PreviewOptions::default()).unwrap();
    let g = first.geometry;
    assert_eq!((g.width, g.height), (552.0, 732.0));
    assert_eq!(g.crop_box, [130.0, 230.0, 682.0, 962.0]);
    assert_eq!(g.media_box, [100.0, 200.0, 712.0, 992.0]);
    assert_mark_round_trips(&first, &pages[0]);

    let second = render_page(&pdf, 2, &PreviewOptions::default()).unwrap();
    assert_eq!((second.geometry.width, second.geometry.height), (732.0, 552.0));
    assert_mark_round_trips(&second, &pages[1]);

    let third = render_page(&pdf, 3, &PreviewOptions::default()).unwrap();
    assert_eq!((third.geometry.width, third.geometry.height), (842.0, 595.0));
    assert_eq!(third.geometry.crop_box, [-300.0, -421.0, 295.0, 421.0]);
    assert_mark_round_trips(&third, &pages[2]);

    let (g, _) = page_geometry(&clipped, 1).unwrap();
    assert_eq!(g.crop_box, [50.0, 100.0, 600.0, 800.0]);
    assert_eq!((g.width, g.height, g.rotate), (550.0, 700.0, 180));
    let preview = render_page(&clipped, 1, &PreviewOptions::default()).unwrap();
    assert_eq!(preview.geometry, g);
    assert_mark_round_trips(&preview, &pages[3]);
}

#[test]
fn pages_without_a_usable_size_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pages = [
        TestPage { media_box: [0.0, 0.0, 0.0, 842.0], crop_box: None, rotate: 0 },
        TestPage { media_box: [0.0, 0.0, 1e15, 842.0], crop_box: None, rotate: 90 },
    ];
    let pdf = write(dir.path(), "odd.pdf", &test_pdf(&pages));
    let err = render_page(&pdf, 1, &PreviewOptions::default()).unwrap_err();
    assert!(matches!(err, Error::UnusablePageSize { page: 1, width: 0.0, height: 842.0 }), "{err:?}");
    assert!(err.to_string().starts_with("page 1 cannot be shown"), "{err}");
    // 10^15 points high as shown: one pixel wide, as high as the renderer allows
    let preview = render_page(&pdf, 2, &PreviewOptions::default()).unwrap();
    assert_eq!((preview.pixel_width, preview.pixel_height), (1, MAX_SIDE));
    assert_eq!(decode(&preview.png).1, MAX_SIDE);
}

#[test]
fn pages_out_of_range_name_the_page_count() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(dir.path(), "three.pdf", &test_pdf(&[TestPage::A4; 3]));
    for page in [0, 4, usize::MAX] {
        for err in
            [page_geometry(&pdf, page).unwrap_err(), render_page(&pdf, page, &PreviewOptions::default()).unwrap_err()]
        {
            assert!(matches!(err, Error::PageOutOfRange { page: p, page_count: 3 } if p == page), "{err:?}");
            let text = err.to_string();
            assert!(text.contains(&format!("page {page} ")) && text.contains("has 3 pages"), "{text}");
        }
    }
    let one = write(dir.path(), "one.pdf", &test_pdf(&[TestPage::A4]));
    let text = page_geometry(&one, 2).unwrap_err().to_string();
    assert!(text.contains("has 1 page "), "{text}");
    assert_eq!(page_geometry(&pdf, 3).unwrap().1, 3);
}

#[test]
fn garbage_is_not_a_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for (name, bytes) in [("garbage.pdf", &garbage[..]), ("empty.pdf", b""), ("header-only.pdf", b"%PDF-1.7\n%%EOF\n")]
    {
        let path = write(dir.path(), name, bytes);
        let err = render_page(&path, 1, &PreviewOptions::default()).unwrap_err();
        assert!(matches!(err, Error::NotPdf(_)), "{name}: {err:?}");
        assert!(err.to_string().starts_with("not a readable PDF"), "{name}: {err}");
        assert!(page_geometry(&path, 1).is_err(), "{name}");
    }
    let missing = render_page(&dir.path().join("missing.pdf"), 1, &PreviewOptions::default()).unwrap_err();
    assert!(matches!(missing, Error::Io(_)), "{missing:?}");
}

#[test]
fn every_truncation_ends_in_an_error_or_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let pages = [TestPage::A4, TestPage { rotate: 90, ..TestPage::A4 }];
    let full = marked_test_pdf(&pages);
    let small = PreviewOptions { dpi: 9.0, ..PreviewOptions::default() };
    let (mut rendered, mut refused) = (0, 0);
    for len in (0..full.len()).step_by(3) {
        let path = write(dir.path(), "cut.pdf", &full[..len]);
        for page in [1, 2] {
            match render_page(&path, page, &small) {
                Ok(p) => {
                    assert!(p.png.starts_with(PNG_SIGNATURE));
                    rendered += 1;
                }
                Err(_) => refused += 1,
            }
            let _ = page_geometry(&path, page);
        }
    }
    // cut after the page objects, the file is repaired by scanning for objects
    assert!(rendered > 0 && refused > 0, "{rendered} rendered, {refused} refused");
}

#[test]
fn too_large_files_and_images_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(dir.path(), "a4.pdf", &marked_test_pdf(&[TestPage::A4]));
    let size = std::fs::metadata(&pdf).unwrap().len();
    let err = render_page(&pdf, 1, &PreviewOptions { max_file_bytes: 100, ..PreviewOptions::default() }).unwrap_err();
    assert!(matches!(err, Error::TooLarge { size: s, limit: 100 } if s == size), "{err:?}");
    assert!(err.to_string().contains("limit is 100 bytes"), "{err}");

    // 1200 dpi would be 9917 × 14033 pixels
    let opts = PreviewOptions { dpi: 1200.0, max_pixels: 1_000_000, ..PreviewOptions::default() };
    let preview = render_page(&pdf, 1, &opts).unwrap();
    let (w, h) = (preview.pixel_width, preview.pixel_height);
    assert!(u64::from(w) * u64::from(h) <= 1_000_000 && w > 800, "{w}×{h}");
    assert_eq!(decode(&preview.png).0, w);
    assert_mark_round_trips(&preview, &TestPage::A4);

    for bad in [0.0, -96.0, f32::NAN, f32::INFINITY] {
        let err = render_page(&pdf, 1, &PreviewOptions { dpi: bad, ..PreviewOptions::default() }).unwrap_err();
        assert!(matches!(err, Error::InvalidOptions(_)), "{bad}: {err:?}");
    }
}

#[test]
fn encrypted_documents() {
    if Command::new("qpdf").arg("--version").output().is_err() {
        eprintln!("skipping the encryption test: qpdf is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "plain.pdf", &marked_test_pdf(&[TestPage::A4]));
    let encrypt = |user: &str, out: &str| {
        let out = dir.path().join(out);
        let st = Command::new("qpdf")
            .args(["--encrypt", user, "owner-pw", "256", "--"])
            .arg(&plain)
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success(), "qpdf --encrypt failed");
        out
    };
    // a user password is needed to see the page
    let locked = encrypt("user-pw", "locked.pdf");
    let err = render_page(&locked, 1, &PreviewOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Encrypted(_)), "{err:?}");
    assert!(err.to_string().starts_with("the PDF is encrypted"), "{err}");
    assert!(matches!(page_geometry(&locked, 1), Err(Error::Encrypted(_))));
    // an owner password only restricts changes: anyone may view the page, so it is shown
    let open = encrypt("", "owner-only.pdf");
    let preview = render_page(&open, 1, &PreviewOptions::default()).unwrap();
    assert_mark_round_trips(&preview, &TestPage::A4);
}
