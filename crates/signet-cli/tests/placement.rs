//! Visible seals land where asked, upright, on rotated pages and on pages whose boxes do not
//! start at 0,0: each page is rendered by poppler's `pdftoppm` at 72 dpi (one pixel per
//! point) and the seal's pixels are looked for in the requested rectangle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use signet_testkit::{Pki, TestPage, png, render_page, test_pdf};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

/// Pixel at visual coordinates (u, v) from the bottom-left, in points at 72 dpi.
fn pixel(img: &(u32, u32, Vec<u8>), u: f64, v: f64) -> [u8; 3] {
    let (w, h, data) = img;
    let x = (u.round() as i64).clamp(0, i64::from(*w) - 1) as usize;
    let y = ((f64::from(*h) - v).round() as i64).clamp(0, i64::from(*h) - 1) as usize;
    let i = (y * *w as usize + x) * 3;
    [data[i], data[i + 1], data[i + 2]]
}

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 180 && p[1] < 80 && p[2] < 80
}
fn is_blue(p: [u8; 3]) -> bool {
    p[2] > 180 && p[0] < 80 && p[1] < 80
}
fn is_white(p: [u8; 3]) -> bool {
    p.iter().all(|&c| c > 230)
}

#[test]
fn seals_land_upright_where_asked_on_rotated_and_offset_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    // opaque seal: red upper half, blue lower half, so "upright" can be seen
    let image = tmp.path().join("seal.png");
    std::fs::write(&image, png(100, 100, |_, y| if y < 50 { [255, 0, 0, 255] } else { [0, 0, 255, 255] })).unwrap();
    let rotated = |rotate| TestPage { rotate, ..TestPage::A4 };
    let pages = [
        rotated(0),
        rotated(90),
        rotated(180),
        rotated(270),
        TestPage { media_box: [100.0, 200.0, 712.0, 992.0], crop_box: Some([130.0, 230.0, 682.0, 962.0]), rotate: 0 },
        TestPage { media_box: [-300.0, -421.0, 295.0, 421.0], crop_box: None, rotate: 90 },
    ];
    let mut current = tmp.path().join("in.pdf");
    std::fs::write(&current, test_pdf(&pages)).unwrap();
    // rectangles on the page as displayed (x1, y1, x2, y2), one per page
    let rects = [
        (300.0, 60.0, 400.0, 160.0),
        (600.0, 400.0, 700.0, 500.0),
        (50.0, 50.0, 150.0, 150.0),
        (600.0, 100.0, 700.0, 200.0),
        (20.0, 30.0, 120.0, 130.0),
        (700.0, 450.0, 800.0, 550.0),
    ];
    for (i, r) in rects.iter().enumerate() {
        let out = tmp.path().join(format!("signed{i}.pdf"));
        let (page, rect) = ((i + 1).to_string(), format!("{},{},{},{}", r.0, r.1, r.2, r.3));
        let args = ["--page", page.as_str(), "--rect", rect.as_str(), "--image", image.to_str().unwrap()];
        pki.sign_with(SIGNET, "signer-ec", &current, &out, &args);
        current = out;
    }
    for (i, r) in rects.iter().enumerate() {
        let img = render_page(&current, i + 1, 72);
        let (cx, w, h) = ((r.0 + r.2) / 2.0, r.2 - r.0, r.3 - r.1);
        let upper = pixel(&img, cx, r.1 + h * 0.75);
        let lower = pixel(&img, cx, r.1 + h * 0.25);
        assert!(
            is_red(upper),
            "page {}: expected the seal's red upper half at ({cx}, {}), found {upper:?}",
            i + 1,
            r.1 + h * 0.75
        );
        assert!(
            is_blue(lower),
            "page {}: expected the seal's blue lower half at ({cx}, {}), found {lower:?}",
            i + 1,
            r.1 + h * 0.25
        );
        for (u, v) in [(r.0 - 6.0, r.1 + h / 2.0), (r.2 + 6.0, r.1 + h / 2.0), (cx, r.1 - 6.0), (cx, r.3 + 6.0)] {
            let p = pixel(&img, u, v);
            assert!(
                is_white(p),
                "page {}: the seal spills outside its rectangle at ({u}, {v}): {p:?} (width {w})",
                i + 1
            );
        }
    }
}
