//! Uploaded seal images: PNG or JPEG in, the paper made transparent, RGBA PNG out.

use std::panic::{AssertUnwindSafe, catch_unwind};

use png::{BitDepth, ColorType, Decoder, Encoder, Limits, Transformations};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::{Error, ImageFormat, SealImage};

/// Largest uploaded file [`clean_upload`] reads, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 32 << 20;
/// Largest width or height of an uploaded image, in pixels.
pub const MAX_UPLOAD_SIDE: u32 = 8192;
/// Most pixels in an uploaded image (width × height), 4096 × 4096: 64 MiB as RGBA.
pub const MAX_UPLOAD_PIXELS: u64 = 16 << 20;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_SIGNATURE: &[u8] = b"\xff\xd8\xff";

/// A pixel darker than the paper by at most this much in every channel is paper
/// (transparent); JPEG and scanner noise stay below it.
const PAPER_TOLERANCE: u8 = 24;
/// A pixel is opaque once it is at least this much darker than the paper, even where the
/// ink is faint.
const MIN_OPAQUE: u8 = 64;

/// Makes a scanned or photographed seal imprint usable as a seal image: decodes a PNG (any
/// colour type and bit depth, interlaced or not, the first frame of an animated one) or a
/// JPEG (baseline or progressive; grey, colour or CMYK), recognised by its signature bytes,
/// and returns an RGBA PNG of the same size whose near-white background is transparent.
///
/// The paper colour is the median of the opaque pixels along the image border (white when
/// that is not light and grey enough to be paper: a dark or colourful background is kept).
/// How much darker than the paper a pixel is (in its darkest channel) says how much ink
/// covers it: up to 24 levels is noise and transparent; from there alpha rises linearly to
/// opaque at 80 % of the ink's own darkness (the 80th percentile over the inked pixels, at
/// least 64 levels), so that anti-aliased edges stay soft. Partly transparent pixels get the
/// paper's share taken out of their colour: on paper of the scan's colour the result looks
/// as the scan did, on any other without a pale halo.
/// An image that already has transparency keeps it: both alphas are multiplied. Fully
/// transparent pixels are given the ink's median colour.
///
/// `media_type_hint` is the media type the file came with (a `Content-Type`), if any. The
/// format is always taken from the file's signature bytes, whatever it says; it only words
/// the error for a file that is neither format.
///
/// The bytes are untrusted: the size is read from the header and checked against
/// [`MAX_UPLOAD_SIDE`] and [`MAX_UPLOAD_PIXELS`] before any pixel is decoded; truncated or
/// corrupt data is an [`Error::Decode`], never a panic (one in a decoder is caught too).
pub fn clean_upload(bytes: &[u8], media_type_hint: Option<&str>) -> Result<SealImage, Error> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(Error::FileTooLarge { bytes: bytes.len() });
    }
    let format = if bytes.starts_with(PNG_SIGNATURE) {
        ImageFormat::Png
    } else if bytes.starts_with(JPEG_SIGNATURE) {
        ImageFormat::Jpeg
    } else {
        return Err(Error::UnknownFormat { declared: media_type_hint.map(media_type) });
    };
    let decoded = catch_unwind(AssertUnwindSafe(|| match format {
        ImageFormat::Png => decode_png(bytes),
        ImageFormat::Jpeg => decode_jpeg(bytes),
    }));
    let (width, height, mut rgba) = match decoded {
        Ok(result) => result?,
        Err(_) => return Err(Error::Decode { format, detail: "the decoder failed on this file".into() }),
    };
    remove_paper(width, height, &mut rgba);
    let png = encode_png(width, height, &rgba)?;
    Ok(SealImage { png, width, height })
}

/// A media type as sent, fit to be shown: no parameters, printable ASCII, 64 characters.
fn media_type(sent: &str) -> String {
    let essence = sent.split(';').next().unwrap_or("").trim();
    essence.chars().filter(|c| c.is_ascii_graphic()).take(64).collect()
}

fn check_size(format: ImageFormat, width: u32, height: u32) -> Result<(), Error> {
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_UPLOAD_SIDE || height > MAX_UPLOAD_SIDE || pixels > MAX_UPLOAD_PIXELS {
        return Err(Error::ImageTooLarge { width, height });
    }
    if pixels == 0 {
        return Err(Error::Decode { format, detail: "the image has no pixels".into() });
    }
    Ok(())
}

fn decode_png(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), Error> {
    let error = |e: png::DecodingError| Error::Decode { format: ImageFormat::Png, detail: e.to_string() };
    // The IHDR chunk must come first: its size is checked before the decoder sees the rest.
    if bytes.len() >= 24 && &bytes[12..16] == b"IHDR" {
        let be = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        check_size(ImageFormat::Png, be(16), be(20))?;
    }
    // Room for the widest frame the limits allow at 16 bits per channel before stripping.
    let limits = Limits { bytes: (MAX_UPLOAD_PIXELS as usize) * 8 + (1 << 20) };
    let mut decoder = Decoder::new_with_limits(bytes, limits);
    decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(error)?;
    let (width, height) = (reader.info().width, reader.info().height);
    check_size(ImageFormat::Png, width, height)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(error)?;
    let channels = match (frame.color_type, frame.bit_depth) {
        (ColorType::Grayscale, BitDepth::Eight) => 1,
        (ColorType::GrayscaleAlpha, BitDepth::Eight) => 2,
        (ColorType::Rgb, BitDepth::Eight) => 3,
        (ColorType::Rgba, BitDepth::Eight) => 4,
        (color, depth) => {
            return Err(Error::Decode {
                format: ImageFormat::Png,
                detail: format!("unexpected decoded pixel format {color:?} at {depth:?}"),
            });
        }
    };
    // The first frame of an animated PNG may be smaller than the canvas. 8-bit rows are
    // packed: the frame is exactly width × height × channels bytes.
    let (width, height) = (frame.width, frame.height);
    check_size(ImageFormat::Png, width, height)?;
    buf.truncate(frame.buffer_size());
    if buf.len() != width as usize * height as usize * channels {
        return Err(Error::Decode { format: ImageFormat::Png, detail: "the image data is incomplete".into() });
    }
    Ok((width, height, to_rgba(&buf, channels)))
}

fn decode_jpeg(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), Error> {
    let error = |e: zune_jpeg::errors::DecodeErrors| Error::Decode { format: ImageFormat::Jpeg, detail: e.to_string() };
    // Sizes are checked here, after the headers, not by the decoder, so that a refusal
    // says how large the image is.
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX))
        .jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(error)?;
    let Some(info) = decoder.info() else {
        return Err(Error::Decode { format: ImageFormat::Jpeg, detail: "no frame header".into() });
    };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_size(ImageFormat::Jpeg, width, height)?;
    let channels = match decoder.output_colorspace() {
        Some(ColorSpace::Luma) => 1,
        Some(ColorSpace::LumaA) => 2,
        Some(ColorSpace::RGB) => 3,
        Some(ColorSpace::RGBA) => 4,
        other => {
            return Err(Error::Decode {
                format: ImageFormat::Jpeg,
                detail: format!("unsupported colour space {other:?}"),
            });
        }
    };
    let mut samples = vec![0; width as usize * height as usize * channels];
    decoder.decode_into(&mut samples).map_err(error)?;
    Ok((width, height, to_rgba(&samples, channels)))
}

/// Grey, grey + alpha, RGB or RGBA samples as RGBA.
fn to_rgba(samples: &[u8], channels: usize) -> Vec<u8> {
    match channels {
        1 => samples.iter().flat_map(|&v| [v, v, v, 255]).collect(),
        2 => samples.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
        3 => samples.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        _ => samples.to_vec(),
    }
}

/// Makes pixels of the paper's colour transparent (see [`clean_upload`]).
fn remove_paper(width: u32, height: u32, rgba: &mut [u8]) {
    let paper = paper_colour(width as usize, height as usize, rgba);
    let darker = |px: &[u8]| (0..3).map(|i| paper[i].saturating_sub(px[i])).max().unwrap_or(0);
    let mut histogram = [0u32; 256];
    for px in rgba.chunks_exact(4) {
        histogram[usize::from(darker(px))] += 1;
    }
    let inked = &histogram[usize::from(2 * PAPER_TOLERANCE)..];
    let ink = percentile(inked, 0.8).map_or(255, |level| level + 2 * PAPER_TOLERANCE);
    let opaque = (f32::from(ink) * 0.8).max(f32::from(MIN_OPAQUE));
    let tolerance = f32::from(PAPER_TOLERANCE);
    let paper = paper.map(f32::from);
    for px in rgba.chunks_exact_mut(4) {
        let coverage = ((f32::from(darker(px)) - tolerance) / (opaque - tolerance)).clamp(0.0, 1.0);
        if coverage <= 0.0 {
            px[3] = 0;
            continue;
        }
        if coverage < 1.0 {
            // The pixel is coverage · ink + (1 − coverage) · paper: keep the ink.
            for i in 0..3 {
                let c = (f32::from(px[i]) - (1.0 - coverage) * paper[i]) / coverage;
                px[i] = c.round().clamp(0.0, 255.0) as u8;
            }
        }
        px[3] = (f32::from(px[3]) * coverage).round() as u8;
    }
    // Transparent pixels take the ink's colour: the PNG compresses far better than with
    // the paper's noise kept, and scaling the image blends edges with ink, not grey.
    let mut histograms = [[0u32; 256]; 3];
    for px in rgba.chunks_exact(4).filter(|px| px[3] == 255) {
        for i in 0..3 {
            histograms[i][usize::from(px[i])] += 1;
        }
    }
    let ink = histograms.map(|h| percentile(&h, 0.5).unwrap_or(0));
    for px in rgba.chunks_exact_mut(4).filter(|px| px[3] == 0) {
        px[..3].copy_from_slice(&ink);
    }
}

/// The level below which `share` of the counted values lie, `None` when nothing is counted.
fn percentile(histogram: &[u32], share: f64) -> Option<u8> {
    let total: u64 = histogram.iter().map(|&n| u64::from(n)).sum();
    if total == 0 {
        return None;
    }
    let mut seen = 0u64;
    for (level, &n) in histogram.iter().enumerate() {
        seen += u64::from(n);
        if seen as f64 >= share * total as f64 {
            return u8::try_from(level).ok();
        }
    }
    None
}

/// The paper: per channel, the median of the opaque pixels in a frame along the border
/// (1/40 of the shorter side wide); white when there are none or they are not a light,
/// nearly grey colour.
fn paper_colour(width: usize, height: usize, rgba: &[u8]) -> [u8; 3] {
    const WHITE: [u8; 3] = [255, 255, 255];
    let frame = (width.min(height) / 40).max(1);
    let mut histograms = [[0u32; 256]; 3];
    let mut count = 0u64;
    for y in 0..height {
        let row = &rgba[y * width * 4..(y + 1) * width * 4];
        let on_edge_row = y < frame || y + frame >= height;
        for (x, px) in row.chunks_exact(4).enumerate() {
            if (on_edge_row || x < frame || x + frame >= width) && px[3] >= 250 {
                for i in 0..3 {
                    histograms[i][usize::from(px[i])] += 1;
                }
                count += 1;
            }
        }
    }
    if count == 0 {
        return WHITE;
    }
    let median = |h: &[u32; 256]| percentile(h, 0.5).unwrap_or(255);
    let paper = [median(&histograms[0]), median(&histograms[1]), median(&histograms[2])];
    let (lo, hi) = (paper.iter().min().copied().unwrap_or(0), paper.iter().max().copied().unwrap_or(0));
    if lo < 150 || hi - lo > 48 { WHITE } else { paper }
}

/// An 8-bit RGBA PNG of `rgba` (not premultiplied).
pub(crate) fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, Error> {
    let error = |e: png::EncodingError| Error::Encode(e.to_string());
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, width, height);
    encoder.set_color(ColorType::Rgba);
    encoder.set_depth(BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(error)?;
    writer.write_image_data(rgba).map_err(error)?;
    writer.finish().map_err(error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_goes_ink_stays_and_edges_keep_the_ink_colour() {
        // paper, faint noise, an anti-aliased edge half red half paper, red ink
        let paper = [240, 238, 232, 255];
        let mut rgba = Vec::new();
        for _ in 0..400 {
            rgba.extend_from_slice(&paper);
        }
        let probes = [[236, 240, 228, 255], [220, 119, 122, 255], [200, 0, 12, 255]];
        for p in probes {
            rgba.extend_from_slice(&p);
        }
        remove_paper(403, 1, &mut rgba);
        assert_eq!(rgba[3], 0, "paper");
        let [noise, edge, ink] = [400, 401, 402].map(|i| &rgba[i * 4..i * 4 + 4]);
        assert_eq!(noise[3], 0);
        assert!((100..=200).contains(&edge[3]), "{edge:?}");
        assert!(edge[0] > 190 && edge[1] < 40 && edge[2] < 50, "{edge:?}");
        assert_eq!(ink, [200, 0, 12, 255]);
    }

    #[test]
    fn a_dark_background_is_not_paper() {
        let rgba: Vec<u8> = (0..100).flat_map(|_| [40, 40, 40, 255]).collect();
        assert_eq!(paper_colour(10, 10, &rgba), [255, 255, 255]);
        let rgba: Vec<u8> = (0..100).flat_map(|_| [230, 228, 225, 255]).collect();
        assert_eq!(paper_colour(10, 10, &rgba), [230, 228, 225]);
    }
}
