//! Uploaded seal images: scans in, paper transparent, ink kept; hostile bytes refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use png::{BitDepth, ColorType};
use signet_seal::{Error, ImageFormat, MAX_UPLOAD_BYTES, clean_upload};

const SCAN_JPEG: &[u8] = include_bytes!("fixtures/scan.jpg");
const SCAN_GREY_PROGRESSIVE: &[u8] = include_bytes!("fixtures/scan-grey-progressive.jpg");
const SCAN_CMYK: &[u8] = include_bytes!("fixtures/scan-cmyk.jpg");

/// xorshift64*: reproducible noise and mutations without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A scanned stamp, RGB: off-white paper with noise, a red ring (radius 0.4 of the shorter
/// side, 8 pixels wide with 2-pixel soft edges) and a red disc of radius 0.1 in the middle.
fn scan(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let side = width.min(height) as f32;
    let mut rgb = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let r = (x as f32 + 0.5 - cx).hypot(y as f32 + 0.5 - cy);
            let ring = ((5.0 - (r - 0.4 * side).abs()) / 2.0).clamp(0.0, 1.0);
            let disc = (0.1 * side + 0.5 - r).clamp(0.0, 1.0);
            let ink = ring.max(disc);
            let noise = rng.below(17) as f32 - 8.0;
            for (paper, red) in [(244.0, 200.0), (241.0, 32.0), (234.0, 46.0)] {
                let v = paper * (1.0 - ink) + red * ink + noise;
                rgb.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    rgb
}

fn encode(width: u32, height: u32, color: ColorType, depth: BitDepth, data: &[u8], palette: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    if let Some(palette) = palette {
        encoder.set_palette(palette.to_vec());
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
    out
}

struct Rgba {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Rgba {
    fn of(bytes: &[u8]) -> Rgba {
        let image = clean_upload(bytes, None).unwrap();
        let mut reader = png::Decoder::new(&image.png[..]).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.color_type, info.bit_depth), (ColorType::Rgba, BitDepth::Eight));
        assert_eq!((info.width, info.height), (image.width, image.height));
        Rgba { width: info.width, height: info.height, pixels }
    }

    fn at(&self, x: u32, y: u32) -> [u8; 4] {
        let i = (y * self.width + x) as usize * 4;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2], self.pixels[i + 3]]
    }

    /// Corners and paper transparent, ring and disc opaque; with `red`, the ink stays red.
    fn assert_cleaned(&self, ring_radius: f32, red: bool) {
        let (w, h) = (self.width, self.height);
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        for (x, y) in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w / 2, 2), (2, h / 2)] {
            assert_eq!(self.at(x, y)[3], 0, "paper at ({x}, {y})");
        }
        let (mut paper, mut clear) = (0, 0);
        for y in 0..h {
            for x in 0..w {
                let r = (x as f32 + 0.5 - cx).hypot(y as f32 + 0.5 - cy);
                if r > ring_radius + 9.0 || (r < ring_radius - 9.0 && r > 0.45 * ring_radius) {
                    paper += 1;
                    clear += usize::from(self.at(x, y)[3] < 8);
                }
            }
        }
        assert!(clear * 100 >= paper * 99, "{clear} of {paper} paper pixels transparent");
        for k in 0..16 {
            let angle = k as f32 * std::f32::consts::TAU / 16.0;
            let x = (cx + ring_radius * angle.cos()) as u32;
            let y = (cy + ring_radius * angle.sin()) as u32;
            let px = self.at(x, y);
            assert!(px[3] >= 250, "ring at ({x}, {y}): {px:?}");
            if red {
                assert!(px[0] > 150 && px[1] < 90 && px[2] < 100, "ring at ({x}, {y}): {px:?}");
            }
        }
        let centre = self.at(w / 2, h / 2);
        assert!(centre[3] >= 250, "centre {centre:?}");
    }
}

#[test]
fn png_scan_loses_its_paper_and_keeps_its_ink() {
    let (w, h) = (200, 160);
    let rgb = scan(w, h, 1);
    let cleaned = Rgba::of(&encode(w, h, ColorType::Rgb, BitDepth::Eight, &rgb, None));
    cleaned.assert_cleaned(64.0, true);
    // The soft edge of the ring is partly transparent and, with the paper taken out, red.
    let edge: Vec<[u8; 4]> = (0..w).map(|x| cleaned.at(x, h / 2)).filter(|p| p[3] > 20 && p[3] < 230).collect();
    assert!(!edge.is_empty());
    for px in edge {
        assert!(px[0] > 150 && px[1] < 100, "edge {px:?}");
    }
}

#[test]
fn png_colour_types_and_depths() {
    let (w, h) = (120, 100);
    let rgb = scan(w, h, 2);
    let grey: Vec<u8> = rgb
        .chunks_exact(3)
        .map(|p| ((u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10) as u8)
        .collect();
    let grey_alpha: Vec<u8> = grey.iter().flat_map(|&v| [v, 255]).collect();
    let rgba16: Vec<u8> = rgb.chunks_exact(3).flat_map(|p| [p[0], p[0], p[1], p[1], p[2], p[2], 255, 255]).collect();
    let indexed: Vec<u8> = rgb.chunks_exact(3).map(|p| u8::from(p[1] < 140)).collect();
    let palette = [244, 241, 234, 200, 32, 46];
    let images = [
        (encode(w, h, ColorType::Grayscale, BitDepth::Eight, &grey, None), false),
        (encode(w, h, ColorType::GrayscaleAlpha, BitDepth::Eight, &grey_alpha, None), false),
        (encode(w, h, ColorType::Rgba, BitDepth::Sixteen, &rgba16, None), true),
        (encode(w, h, ColorType::Indexed, BitDepth::Eight, &indexed, Some(&palette)), true),
    ];
    for (png, red) in images {
        let cleaned = Rgba::of(&png);
        assert_eq!((cleaned.width, cleaned.height), (w, h));
        cleaned.assert_cleaned(40.0, red);
    }
}

#[test]
fn transparency_already_there_is_kept() {
    // Transparent black around, an opaque red disc, a half-transparent red band, and an
    // opaque white patch that the paper rule removes as well.
    let (w, h) = (64u32, 64u32);
    let mut rgba = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let r = (x as f32 - 32.0).hypot(y as f32 - 32.0);
            rgba.extend_from_slice(&match (r, y) {
                (r, _) if r < 12.0 => [210, 20, 30, 255],
                (_, 2..=5) => [210, 20, 30, 128],
                (_, 60..=62) => [255, 255, 255, 255],
                _ => [0, 0, 0, 0],
            });
        }
    }
    let cleaned = Rgba::of(&encode(w, h, ColorType::Rgba, BitDepth::Eight, &rgba, None));
    assert_eq!(cleaned.at(32, 32), [210, 20, 30, 255]);
    assert_eq!(cleaned.at(10, 3), [210, 20, 30, 128]);
    assert_eq!(cleaned.at(0, 0)[3], 0);
    assert_eq!(cleaned.at(10, 61)[3], 0);
}

#[test]
fn jpeg_scans_baseline_progressive_grey_and_cmyk() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("uploads");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, jpeg, red) in
        [("scan", SCAN_JPEG, true), ("grey", SCAN_GREY_PROGRESSIVE, false), ("cmyk", SCAN_CMYK, true)]
    {
        std::fs::write(dir.join(format!("{name}.png")), clean_upload(jpeg, Some("image/jpeg")).unwrap().png).unwrap();
        let cleaned = Rgba::of(jpeg);
        assert_eq!((cleaned.width, cleaned.height), (240, 200));
        cleaned.assert_cleaned(80.0, red);
    }
}

fn decode_error(bytes: &[u8]) -> ImageFormat {
    match clean_upload(bytes, None) {
        Err(Error::Decode { format, .. }) => format,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn truncated_and_corrupt_files_are_errors() {
    let png = encode(120, 100, ColorType::Rgb, BitDepth::Eight, &scan(120, 100, 3), None);
    for cut in [8, 20, 33, 60, png.len() / 2, png.len() - 13] {
        assert_eq!(decode_error(&png[..cut]), ImageFormat::Png, "PNG cut at {cut}");
    }
    let mut bad_crc = png.clone();
    let idat = bad_crc.windows(4).position(|w| w == b"IDAT").unwrap();
    bad_crc[idat + 10] ^= 0x55;
    assert_eq!(decode_error(&bad_crc), ImageFormat::Png);
    assert_eq!(decode_error(b"\x89PNG\r\n\x1a\nnot a chunk at all"), ImageFormat::Png);

    for cut in [3, 4, 20, 300, SCAN_JPEG.len() / 2, SCAN_JPEG.len() - 40] {
        assert_eq!(decode_error(&SCAN_JPEG[..cut]), ImageFormat::Jpeg, "JPEG cut at {cut}");
    }
    let cut = SCAN_GREY_PROGRESSIVE.len() * 2 / 3;
    assert_eq!(decode_error(&SCAN_GREY_PROGRESSIVE[..cut]), ImageFormat::Jpeg);
}

#[test]
fn huge_images_are_refused_from_their_header() {
    // An IHDR claiming 100,000 × 100,000 pixels; nothing after it.
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    png.extend_from_slice(&100_000u32.to_be_bytes());
    png.extend_from_slice(&100_000u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(
        clean_upload(&png, Some("image/png")),
        Err(Error::ImageTooLarge { width: 100_000, height: 100_000 })
    ));
    // Wide and short, and square but over the pixel count.
    for (w, h) in [(9000u32, 10u32), (5000, 5000)] {
        png[16..20].copy_from_slice(&w.to_be_bytes());
        png[20..24].copy_from_slice(&h.to_be_bytes());
        assert!(
            matches!(clean_upload(&png, Some("image/png")), Err(Error::ImageTooLarge { width, height }) if (width, height) == (w, h))
        );
    }

    // The JPEG fixture with its frame header (SOF0: FF C0, length, precision, height, width)
    // claiming 60,000 × 60,000.
    let mut jpeg = SCAN_JPEG.to_vec();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    assert!(matches!(clean_upload(&jpeg, None), Err(Error::ImageTooLarge { width: 60_000, height: 60_000 })));
}

#[test]
fn other_files_are_refused() {
    for bytes in [&b""[..], b"GIF89a\x01\x00\x01\x00", b"%PDF-1.7", b"\xff\xd8", b"\x89PNG"] {
        assert!(matches!(clean_upload(bytes, None), Err(Error::UnknownFormat { declared: None })), "{bytes:?}");
    }
    let err = clean_upload(b"GIF89a", Some(" image/gif; x=\"\u{7}\"")).unwrap_err();
    assert!(matches!(&err, Error::UnknownFormat { declared: Some(t) } if t == "image/gif"), "{err:?}");
    assert_eq!(err.to_string(), "the seal image is neither PNG nor JPEG (it was sent as image/gif)");
    // The signature decides, not the declared type.
    assert!(clean_upload(SCAN_JPEG, Some("image/png")).is_ok());
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(MAX_UPLOAD_BYTES + 1, 0);
    assert!(matches!(clean_upload(&big, None), Err(Error::FileTooLarge { bytes }) if bytes == MAX_UPLOAD_BYTES + 1));
}

/// Mutated PNG and JPEG files (bytes flipped, cut, repeated, inserted) give an image or an
/// error, never a panic, and the decoders never fail in a way only a caught panic shows.
#[test]
fn mutated_uploads_never_panic() {
    let png = encode(48, 40, ColorType::Rgb, BitDepth::Eight, &scan(48, 40, 4), None);
    let indexed: Vec<u8> = (0..48 * 40).map(|i| (i % 3) as u8).collect();
    let palette_png =
        encode(48, 40, ColorType::Indexed, BitDepth::Eight, &indexed, Some(&[255, 255, 255, 200, 0, 0, 0, 0, 0]));
    let seeds: [&[u8]; 5] = [&png, &palette_png, SCAN_JPEG, SCAN_GREY_PROGRESSIVE, SCAN_CMYK];
    let mut rng = Rng(0x5eed_5ea1);
    let (mut images, mut errors) = (0, 0);
    for _ in 0..3000 {
        let mut bytes = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(6) {
                0 | 1 => bytes[at] = rng.next() as u8,
                2 => bytes[at] ^= 1 << rng.below(8),
                3 => bytes.truncate(at.max(1)),
                4 => {
                    let len = rng.below(64).min(bytes.len() - at);
                    let chunk = bytes[at..at + len].to_vec();
                    let to = rng.below(bytes.len());
                    bytes.splice(to..to, chunk);
                }
                _ => {
                    let insert: Vec<u8> = (0..rng.below(8) + 1).map(|_| rng.next() as u8).collect();
                    bytes.splice(at..at, insert);
                }
            }
        }
        match clean_upload(&bytes, None) {
            Ok(image) => {
                assert!(image.png.starts_with(b"\x89PNG\r\n\x1a\n"));
                images += 1;
            }
            Err(Error::Decode { detail, .. }) if detail.contains("decoder failed") => {
                panic!("a decoder panicked on {bytes:02x?}")
            }
            Err(_) => errors += 1,
        }
    }
    assert!(images > 100 && errors > 100, "{images} images, {errors} errors");
}
