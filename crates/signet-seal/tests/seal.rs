//! Generated seals, checked by their pixels.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use signet_seal::{EMBEDDED_FONT, Error, SealKind, SealShape, SealSpec, TextField, TextProblem, render};

/// A decoded RGBA image.
struct Pixels {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl Pixels {
    fn decode(png_bytes: &[u8]) -> Pixels {
        let mut reader = png::Decoder::new(png_bytes).read_info().unwrap();
        let mut rgba = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut rgba).unwrap();
        assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Rgba, png::BitDepth::Eight));
        Pixels { width: info.width, height: info.height, rgba }
    }

    fn at(&self, x: u32, y: u32) -> [u8; 4] {
        let i = (y as usize * self.width as usize + x as usize) * 4;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2], self.rgba[i + 3]]
    }

    /// Share of pixels with alpha ≥ 128 among those `inside` selects, in 0..=1.
    fn ink_share(&self, inside: impl Fn(f32, f32) -> bool) -> f64 {
        let (mut all, mut inked) = (0u32, 0u32);
        for y in 0..self.height {
            for x in 0..self.width {
                if inside(x as f32 + 0.5, y as f32 + 0.5) {
                    all += 1;
                    inked += u32::from(self.at(x, y)[3] >= 128);
                }
            }
        }
        assert!(all > 0, "empty region");
        f64::from(inked) / f64::from(all)
    }

    /// The checks every seal passes: red ink only, transparent corners, a sensible amount of
    /// ink.
    fn assert_seal(&self, min_ink: f64, max_ink: f64) {
        let (w, h) = (self.width, self.height);
        for (x, y) in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)] {
            assert_eq!(self.at(x, y)[3], 0, "corner ({x}, {y})");
        }
        for px in self.rgba.chunks_exact(4) {
            if px[3] > 0 {
                assert!(px[0] > 150 && px[1] < 100 && px[2] < 100, "not seal red: {px:?}");
            }
        }
        let opaque = self.ink_share(|_, _| true);
        assert!((min_ink..=max_ink).contains(&opaque), "{:.1} % inked", opaque * 100.0);
        let partial = self.rgba.chunks_exact(4).filter(|p| p[3] > 0 && p[3] < 255).count();
        assert!(partial > 100, "edges are not anti-aliased ({partial} partly covered pixels)");
    }
}

/// Where the images are written for looking at.
fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("seals");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn draw(spec: &SealSpec, file: &str) -> Pixels {
    let image = render(spec, None).unwrap();
    std::fs::write(out_dir().join(file), &image.png).unwrap();
    let pixels = Pixels::decode(&image.png);
    assert_eq!((pixels.width, pixels.height), (image.width, image.height));
    pixels
}

const COMPANY: &str = "北京某某科技有限公司";

#[test]
fn round_company_seal_has_ring_name_star_and_code() {
    let mut spec = SealSpec::for_kind(SealKind::Contract, COMPANY);
    spec.bottom_code = Some("1101080012345".into());
    let seal = draw(&spec, "round-contract.png");
    assert_eq!((seal.width, seal.height), (480, 480));
    seal.assert_seal(0.08, 0.45);

    let c = 240.0;
    let r = |x: f32, y: f32| (x - c).hypot(y - c);
    let d = 480.0 * (1.0 - 2.0 * 0.012);
    // The ring is solid all round.
    let ring_mid = d / 2.0 - d / 56.0;
    assert!(seal.ink_share(|x, y| (r(x, y) - ring_mid).abs() < d / 112.0) > 0.97);
    // The name: ink in the band under the ring, above the centre line.
    let band = |x: f32, y: f32| y < c && (0.24 * d..0.43 * d).contains(&r(x, y));
    let name_ink = seal.ink_share(band);
    assert!((0.15..0.7).contains(&name_ink), "name band {:.1} % inked", name_ink * 100.0);
    // The star: solid at the centre, its five points reaching 0.15 d out.
    assert_eq!(seal.at(240, 240)[3], 255);
    assert!(seal.ink_share(|x, y| r(x, y) < 0.04 * d) > 0.99);
    assert!(seal.ink_share(|x, y| y < c && (x - c).abs() < 3.0 && (c - y) < 0.14 * d) > 0.95, "top point");
    // The horizontal text below the star, the code along the bottom: both inked.
    assert!(seal.ink_share(|x, y| (x - c).abs() < 0.22 * d && (y - c - 0.23 * d).abs() < 0.05 * d) > 0.1);
    let code_band = |x: f32, y: f32| y > c + 0.3 * d && (0.38 * d..0.45 * d).contains(&r(x, y));
    assert!(seal.ink_share(code_band) > 0.05);
    // Between the star and the name there is nothing.
    assert!(seal.ink_share(|x, y| y < c - 0.17 * d && r(x, y) < 0.23 * d && (x - c).abs() < 0.1 * d) < 0.01);
}

#[test]
fn every_kind_renders_in_seal_red() {
    let kinds = [
        (SealKind::Company, COMPANY, SealShape::Round),
        (SealKind::Contract, COMPANY, SealShape::Round),
        (SealKind::Finance, COMPANY, SealShape::Round),
        (SealKind::Invoice, COMPANY, SealShape::Oval),
        (SealKind::LegalRepresentative, "张三", SealShape::Square),
        (SealKind::Personal, "李四", SealShape::Square),
    ];
    for (kind, name, shape) in kinds {
        let spec = SealSpec::for_kind(kind, name);
        assert_eq!(spec.shape, shape);
        let seal = draw(&spec, &format!("{kind:?}.png").to_lowercase());
        let height = if shape == SealShape::Oval { 360 } else { 480 };
        assert_eq!((seal.width, seal.height), (480, height), "{kind:?}");
        seal.assert_seal(0.06, 0.6);
    }
}

#[test]
fn oval_invoice_seal_with_taxpayer_number() {
    let mut spec = SealSpec::for_kind(SealKind::Invoice, "上海某某贸易有限公司");
    spec.bottom_code = Some("91310000MA1FL0001X".into());
    spec.size_px = 600;
    let seal = draw(&spec, "oval-invoice.png");
    assert_eq!((seal.width, seal.height), (600, 450));
    seal.assert_seal(0.06, 0.45);
    // Ring at the ends of both axes, the name across the top, the middle lines inked.
    assert_eq!(seal.at(300, 10)[3], 255);
    assert_eq!(seal.at(10, 225)[3], 255);
    assert!(seal.ink_share(|x, y| y < 140.0 && (x - 300.0).abs() < 120.0 && y > 30.0) > 0.1);
    assert!(seal.ink_share(|x, y| (x - 300.0).abs() < 180.0 && (y - 240.0).abs() < 20.0) > 0.1, "code");
    assert!(seal.ink_share(|x, y| (x - 300.0).abs() < 140.0 && (y - 310.0).abs() < 25.0) > 0.1, "发票专用章");
}

#[test]
fn square_seals_fill_each_character_cell() {
    let size = 480.0;
    let pad = size * 0.012;
    let s = size - 2.0 * pad;
    let (t0, t1) = (pad + 0.12 * s, size - pad - 0.12 * s);
    let mid = (t0 + t1) / 2.0;

    // 张 on the right, 三 on the left: each column well inked, the gutter nearly empty.
    let two = draw(&SealSpec::square("张三"), "square-2.png");
    two.assert_seal(0.15, 0.6);
    let right = two.ink_share(|x, y| x > mid + 0.03 * s && x < t1 && y > t0 && y < t1);
    let left = two.ink_share(|x, y| x < mid - 0.03 * s && x > t0 && y > t0 && y < t1);
    assert!(right > 0.15 && left > 0.08, "right {right:.2}, left {left:.2}");
    // The frame is solid.
    assert!(
        two.ink_share(|x, y| x > pad + 0.2 * s && x < size - pad - 0.2 * s && (y - pad - 0.03 * s).abs() < 0.02 * s)
            > 0.97
    );

    // 张三之印: 张 top right, 三 bottom right, 之 top left, 印 bottom left. Each cell is
    // inked, and 三's three strokes show as three inked rows with gaps between.
    let four = draw(&SealSpec::square("张三之印"), "square-4.png");
    four.assert_seal(0.15, 0.6);
    let cell = |right: bool, top: bool| {
        move |x: f32, y: f32| {
            (if right { x > mid && x < t1 } else { x > t0 && x < mid })
                && (if top { y > t0 && y < mid } else { y > mid && y < t1 })
        }
    };
    for (right, top, c) in [(true, true, '张'), (true, false, '三'), (false, true, '之'), (false, false, '印')] {
        let share = four.ink_share(cell(right, top));
        assert!(share > 0.12, "{c}: {:.1} % inked", share * 100.0);
    }
    let san_x = (mid + 0.02 * s) as u32 + ((t1 - mid) / 2.0) as u32;
    let column: Vec<bool> = ((mid as u32 + 4)..(t1 as u32 - 4)).map(|y| four.at(san_x, y)[3] >= 128).collect();
    let strokes = column.windows(2).filter(|w| w[1] && !w[0]).count() + usize::from(column[0]);
    assert_eq!(strokes, 3, "三 should show three strokes down its middle");
}

#[test]
fn another_colour_and_sizes() {
    let mut spec = SealSpec::round(COMPANY);
    spec.color = [0x1a, 0x3c, 0xc8];
    for size in [64, 2048] {
        spec.size_px = size;
        let image = render(&spec, None).unwrap();
        let pixels = Pixels::decode(&image.png);
        assert_eq!((pixels.width, pixels.height), (size, size));
        assert!(pixels.rgba.chunks_exact(4).all(|p| p[..3] == [0x1a, 0x3c, 0xc8]));
        assert_eq!(pixels.at(0, 0)[3], 0);
        assert_eq!(pixels.at(size / 2, size / 2)[3], 255);
    }
    for size in [0, 63, 2049] {
        spec.size_px = size;
        assert!(matches!(render(&spec, None), Err(Error::Size { size_px }) if size_px == size));
    }
}

#[test]
fn a_given_font_is_used_and_checked() {
    let spec = SealSpec::round(COMPANY);
    assert_eq!(render(&spec, Some(EMBEDDED_FONT)).unwrap(), render(&spec, None).unwrap());
    assert!(matches!(render(&spec, Some(b"\x00\x01\x00\x00garbage")), Err(Error::Font(_))));
}

#[test]
fn a_character_without_glyph_is_an_error_naming_it() {
    let mut spec = SealSpec::round("某某\u{E000}公司");
    let err = render(&spec, None).unwrap_err();
    assert!(matches!(err, Error::MissingGlyph { field: TextField::Text, character: '\u{E000}' }), "{err:?}");
    assert!(err.to_string().contains("U+E000"), "{err}");

    spec.text = COMPANY.into();
    spec.bottom_code = Some("12345\u{E001}".into());
    let err = render(&spec, None).unwrap_err();
    assert!(matches!(err, Error::MissingGlyph { field: TextField::BottomCode, character: '\u{E001}' }), "{err:?}");

    // An ideograph of CJK Extension B, which the embedded font does not have.
    let err = render(&SealSpec::square("张\u{20000}"), None).unwrap_err();
    assert!(matches!(err, Error::MissingGlyph { character: '\u{20000}', .. }), "{err:?}");
}

#[test]
fn unusable_text_is_refused() {
    let problem = |spec: SealSpec| match render(&spec, None) {
        Err(Error::Text { field, problem }) => (field, problem),
        other => panic!("{other:?}"),
    };
    assert_eq!(problem(SealSpec::round("")), (TextField::Text, TextProblem::Empty));
    assert_eq!(problem(SealSpec::round(" \u{3000} ")), (TextField::Text, TextProblem::Empty));
    assert_eq!(
        problem(SealSpec::round("某".repeat(41))),
        (TextField::Text, TextProblem::TooLong { chars: 41, max: 40 })
    );
    assert_eq!(problem(SealSpec::oval("某某\n公司")), (TextField::Text, TextProblem::ControlCharacter('\n')));
    let mut spec = SealSpec::round(COMPANY);
    spec.horizontal = Some("合同\t专用章".into());
    assert_eq!(problem(spec.clone()), (TextField::Horizontal, TextProblem::ControlCharacter('\t')));
    spec.horizontal = Some("  ".into());
    assert!(render(&spec, None).is_ok(), "a blank optional line is left out");
    assert_eq!(problem(SealSpec::square("张三丰")), (TextField::Text, TextProblem::SquareCharacterCount(3)));
    assert_eq!(problem(SealSpec::square("张")), (TextField::Text, TextProblem::SquareCharacterCount(1)));
    assert_eq!(problem(SealSpec::square("张A")), (TextField::Text, TextProblem::NotCjk('A')));
    assert_eq!(problem(SealSpec::square("张 三")), (TextField::Text, TextProblem::NotCjk(' ')));

    // The longest name still fits, drawn smaller.
    let long = render(&SealSpec::round("某".repeat(40)), None).unwrap();
    std::fs::write(out_dir().join("round-40.png"), &long.png).unwrap();
    Pixels::decode(&long.png).assert_seal(0.06, 0.5);
}
