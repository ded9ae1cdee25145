//! Seal images as image XObjects (ISO 32000-2 §8.9.5) with soft masks (§11.6.5.3).
//!
//! PNG is decoded and re-encoded as Flate-compressed 8-bit samples; JPEG is passed through
//! with `/DCTDecode` after its frame header has been read for the dictionary.

use png::{BitDepth, ColorType, Decoder, Limits, Transformations};

use crate::error::{Error, Result};
use crate::object::{Dict, Object, Stream};

/// Largest width or height accepted, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 8000;
/// Largest decoded PNG (all channels, 8 bits each), in bytes.
pub const MAX_DECODED_BYTES: usize = 64 << 20;
/// Largest encoded image accepted, in bytes.
pub const MAX_ENCODED_BYTES: usize = 32 << 20;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_SIGNATURE: &[u8] = b"\xff\xd8\xff";

/// The picture of a visible signature: a company seal, a handwritten signature, a logo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealImage {
    /// A PNG file (any colour type and bit depth, interlaced or not).
    Png(Vec<u8>),
    /// A baseline, extended or progressive JPEG file (SOF0, SOF1 or SOF2).
    Jpeg(Vec<u8>),
}

impl SealImage {
    /// Recognises PNG and JPEG files by their signature bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<SealImage> {
        let bytes = bytes.into();
        if bytes.starts_with(PNG_SIGNATURE) {
            Ok(SealImage::Png(bytes))
        } else if bytes.starts_with(JPEG_SIGNATURE) {
            Ok(SealImage::Jpeg(bytes))
        } else {
            let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            Err(image_error(format!(
                "seal image is neither PNG nor JPEG (first bytes: {})",
                if head.is_empty() { "none".to_string() } else { head.join(" ") }
            )))
        }
    }

    /// Width and height in pixels, read from the header without decoding the image.
    pub fn pixel_size(&self) -> Result<(u32, u32)> {
        match self {
            SealImage::Png(bytes) => {
                let reader = png_reader(bytes)?;
                let info = reader.info();
                Ok((info.width, info.height))
            }
            SealImage::Jpeg(bytes) => {
                let h = parse_jpeg_header(bytes)?;
                Ok((h.width, h.height))
            }
        }
    }
}

/// An image ready to be stored: the image XObject and, when it has transparency, its soft
/// mask (which must be stored first and referenced as the image's `/SMask`).
#[derive(Debug)]
pub(crate) struct PreparedImage {
    pub(crate) image: Stream,
    pub(crate) smask: Option<Stream>,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl PreparedImage {
    /// Decodes or inspects `seal` and builds the XObject streams (no `/SMask` entry yet).
    pub(crate) fn new(seal: &SealImage) -> Result<Self> {
        match seal {
            SealImage::Png(bytes) => prepare_png(bytes),
            SealImage::Jpeg(bytes) => prepare_jpeg(bytes),
        }
    }
}

fn image_error(what: impl Into<String>) -> Error {
    Error::Unsupported(what.into())
}

fn image_dict(width: u32, height: u32, color_space: &str) -> Dict {
    Dict::new()
        .with("Type", Object::name("XObject"))
        .with("Subtype", Object::name("Image"))
        .with("Width", i64::from(width))
        .with("Height", i64::from(height))
        .with("ColorSpace", Object::name(color_space))
        .with("BitsPerComponent", 8)
}

fn check_dimensions(kind: &str, width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(image_error(format!("{kind} image has zero width or height")));
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(Error::Limit(format!(
            "{kind} image is {width}×{height} pixels; at most {MAX_IMAGE_SIDE} per side is accepted"
        )));
    }
    Ok(())
}

fn check_encoded_size(kind: &str, bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_ENCODED_BYTES {
        return Err(Error::Limit(format!(
            "{kind} image file is {} bytes; at most {MAX_ENCODED_BYTES} are accepted",
            bytes.len()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PNG

fn png_reader(bytes: &[u8]) -> Result<png::Reader<&[u8]>> {
    check_encoded_size("PNG", bytes)?;
    let mut decoder = Decoder::new_with_limits(bytes, Limits { bytes: MAX_DECODED_BYTES });
    // Palette → RGB(A), tRNS → alpha, low bit depths → 8, 16 bits → 8.
    decoder.set_transformations(Transformations::normalize_to_color8());
    decoder.read_info().map_err(|e| image_error(format!("invalid PNG image: {e}")))
}

fn prepare_png(bytes: &[u8]) -> Result<PreparedImage> {
    let mut reader = png_reader(bytes)?;
    let (width, height) = (reader.info().width, reader.info().height);
    check_dimensions("PNG", width, height)?;
    let (color, depth) = reader.output_color_type();
    let channels: usize = match color {
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        ColorType::Indexed => {
            return Err(image_error("PNG palette image could not be expanded to RGB"));
        }
    };
    if depth != BitDepth::Eight {
        return Err(image_error(format!("PNG bit depth {depth:?} could not be reduced to 8")));
    }
    let pixels = (width as usize).saturating_mul(height as usize);
    let decoded_len = pixels.saturating_mul(channels);
    if decoded_len > MAX_DECODED_BYTES || reader.output_buffer_size() > MAX_DECODED_BYTES {
        return Err(Error::Limit(format!(
            "PNG image is {width}×{height} pixels, over {MAX_DECODED_BYTES} bytes decoded"
        )));
    }
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(|e| image_error(format!("invalid PNG image data: {e}")))?;
    let row_len = width as usize * channels;
    if frame.line_size < row_len {
        return Err(image_error("PNG image rows are shorter than expected"));
    }

    let color_channels = if channels >= 3 { 3 } else { 1 };
    let has_alpha = channels == 2 || channels == 4;
    let mut samples = Vec::with_capacity(pixels * color_channels);
    let mut alpha = Vec::with_capacity(if has_alpha { pixels } else { 0 });
    for row in buf.chunks(frame.line_size).take(height as usize) {
        let row = row.get(..row_len).ok_or_else(|| image_error("PNG image data is truncated"))?;
        if has_alpha {
            for px in row.chunks_exact(channels) {
                let (a, c) = px.split_last().unwrap_or((&255, &[]));
                samples.extend_from_slice(c);
                alpha.push(*a);
            }
        } else {
            samples.extend_from_slice(row);
        }
    }
    if samples.len() != pixels * color_channels {
        return Err(image_error("PNG image data is truncated"));
    }

    let color_space = if color_channels == 3 { "DeviceRGB" } else { "DeviceGray" };
    let image = Stream::flate(image_dict(width, height, color_space), &samples);
    // A fully opaque alpha channel changes nothing: leave the mask out.
    let smask = (has_alpha && alpha.iter().any(|&a| a != 255))
        .then(|| Stream::flate(image_dict(width, height, "DeviceGray"), &alpha));
    Ok(PreparedImage { image, smask, width, height })
}

// ---------------------------------------------------------------------------------------------
// JPEG

/// What the PDF image dictionary needs from a JPEG file (ITU-T T.81 §B.2.2 frame header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct JpegHeader {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) components: u8,
    /// An Adobe APP14 segment is present (its CMYK data is stored inverted).
    pub(crate) adobe: bool,
}

/// Walks the marker segments up to the first start-of-scan, reading the SOF0/1/2 frame
/// header and noting an Adobe APP14 segment. Every read is bounds-checked.
pub(crate) fn parse_jpeg_header(bytes: &[u8]) -> Result<JpegHeader> {
    let err = |pos: usize, what: &str| image_error(format!("invalid JPEG image at byte {pos}: {what}"));
    check_encoded_size("JPEG", bytes)?;
    if !bytes.starts_with(&[0xff, 0xd8]) {
        return Err(err(0, "no start-of-image marker"));
    }
    let mut pos = 2;
    let mut adobe = false;
    let mut frame: Option<(u32, u32, u8)> = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes (T.81 §B.1.1.2).
        if bytes.get(pos) != Some(&0xff) {
            return Err(err(pos, "expected a marker"));
        }
        while bytes.get(pos) == Some(&0xff) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or_else(|| err(pos, "truncated before a marker"))?;
        pos += 1;
        match marker {
            // Standalone markers: TEM, RSTn.
            0x01 | 0xd0..=0xd7 => continue,
            0xd8 => return Err(err(pos - 1, "second start-of-image marker")),
            0xd9 => return Err(err(pos - 1, "end of image before any scan")),
            0x00 => {
                return Err(err(pos - 1, "stuffed zero byte where a marker was expected"));
            }
            _ => {}
        }
        let len_bytes = bytes.get(pos..pos + 2).ok_or_else(|| err(pos, "truncated segment length"))?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(err(pos, "segment length below 2"));
        }
        let body = bytes.get(pos + 2..pos + len).ok_or_else(|| err(pos, "truncated segment"))?;
        match marker {
            0xc0..=0xc2 => {
                if frame.is_some() {
                    return Err(err(pos, "more than one frame header"));
                }
                if body.len() < 6 {
                    return Err(err(pos, "frame header too short"));
                }
                let precision = body[0];
                if precision != 8 {
                    return Err(err(pos, &format!("{precision}-bit samples (only 8-bit JPEG is supported)")));
                }
                let height = u32::from(u16::from_be_bytes([body[1], body[2]]));
                let width = u32::from(u16::from_be_bytes([body[3], body[4]]));
                let components = body[5];
                if body.len() < 6 + 3 * usize::from(components) {
                    return Err(err(pos, "frame header shorter than its component list"));
                }
                if height == 0 {
                    // DNL-defined height (T.81 §B.2.5): rare, and PDF needs /Height up front.
                    return Err(err(pos, "height defined by a later DNL marker is not supported"));
                }
                frame = Some((width, height, components));
            }
            0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                return Err(err(
                    pos - 1,
                    &format!("frame type SOF{} (lossless, hierarchical or arithmetic) is not supported", marker - 0xc0),
                ));
            }
            0xee => adobe |= body.starts_with(b"Adobe"),
            0xda => break,
            _ => {}
        }
        pos += len;
    }
    let (width, height, components) = frame.ok_or_else(|| err(pos, "scan before any frame header"))?;
    if !matches!(components, 1 | 3 | 4) {
        return Err(err(pos, &format!("{components} colour components (1, 3 or 4 are supported)")));
    }
    Ok(JpegHeader { width, height, components, adobe })
}

fn prepare_jpeg(bytes: &[u8]) -> Result<PreparedImage> {
    let header = parse_jpeg_header(bytes)?;
    check_dimensions("JPEG", header.width, header.height)?;
    let color_space = match header.components {
        1 => "DeviceGray",
        3 => "DeviceRGB",
        _ => "DeviceCMYK",
    };
    let mut dict = image_dict(header.width, header.height, color_space);
    if header.components == 4 && header.adobe {
        // Adobe applications write CMYK JPEGs inverted.
        dict.set("Decode", Object::Array([1, 0, 1, 0, 1, 0, 1, 0].map(Object::from).to_vec()));
    }
    dict.set("Filter", Object::name("DCTDecode"));
    Ok(PreparedImage {
        image: Stream::new(dict, bytes.to_vec()),
        smask: None,
        width: header.width,
        height: header.height,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::object::StreamData;

    fn encode_png(
        width: u32,
        height: u32,
        color: ColorType,
        depth: BitDepth,
        data: &[u8],
        setup: impl FnOnce(&mut png::Encoder<'_, &mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, width, height);
            enc.set_color(color);
            enc.set_depth(depth);
            setup(&mut enc);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(data).unwrap();
        }
        out
    }

    fn decoded(s: &Stream) -> Vec<u8> {
        match &s.data {
            StreamData::Owned(d) => crate::filter::flate_decode(d, 1 << 26).unwrap(),
            StreamData::InFile { .. } => unreachable!(),
        }
    }

    #[test]
    fn png_rgba_with_transparency_gets_smask() {
        let data = [255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128, 9, 9, 9, 255];
        let png = encode_png(2, 2, ColorType::Rgba, BitDepth::Eight, &data, |_| {});
        let p = PreparedImage::new(&SealImage::Png(png)).unwrap();
        assert!(p.image.dict.is_name("ColorSpace", "DeviceRGB"));
        assert_eq!(decoded(&p.image), vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
        let smask = p.smask.unwrap();
        assert!(smask.dict.is_name("ColorSpace", "DeviceGray"));
        assert_eq!(decoded(&smask), vec![255, 0, 128, 255]);
    }

    #[test]
    fn png_rgba_fully_opaque_has_no_smask() {
        let data = [1, 2, 3, 255, 4, 5, 6, 255];
        let png = encode_png(2, 1, ColorType::Rgba, BitDepth::Eight, &data, |_| {});
        let p = PreparedImage::new(&SealImage::Png(png)).unwrap();
        assert!(p.smask.is_none());
        assert_eq!(decoded(&p.image), vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn png_rgb_has_no_smask() {
        let png = encode_png(1, 2, ColorType::Rgb, BitDepth::Eight, &[1, 2, 3, 4, 5, 6], |_| {});
        let p = PreparedImage::new(&SealImage::Png(png)).unwrap();
        assert!(p.smask.is_none());
        assert_eq!((p.width, p.height), (1, 2));
        assert_eq!(p.image.dict.get_int("Width"), Some(1));
        assert_eq!(p.image.dict.get_int("Height"), Some(2));
        assert!(p.image.dict.is_name("Filter", "FlateDecode"));
    }

    #[test]
    fn png_palette_with_trns() {
        // 4 pixels at 2 bits: indices 0, 1, 2, 1; entry 1 is transparent.
        let png = encode_png(4, 1, ColorType::Indexed, BitDepth::Two, &[0b0001_1001], |e| {
            e.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255]);
            e.set_trns(vec![255, 0]);
        });
        let p = PreparedImage::new(&SealImage::Png(png)).unwrap();
        assert!(p.image.dict.is_name("ColorSpace", "DeviceRGB"));
        assert_eq!(decoded(&p.image), vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 0]);
        assert_eq!(decoded(&p.smask.unwrap()), vec![255, 0, 255, 0]);
    }

    #[test]
    fn png_16_bit_rgb_is_reduced_to_8() {
        let data = [0xff, 0xee, 0x80, 0x11, 0x00, 0x01];
        let png = encode_png(1, 1, ColorType::Rgb, BitDepth::Sixteen, &data, |_| {});
        let p = PreparedImage::new(&SealImage::Png(png)).unwrap();
        assert_eq!(p.image.dict.get_int("BitsPerComponent"), Some(8));
        assert_eq!(decoded(&p.image), vec![0xff, 0x80, 0x00]);
    }

    #[test]
    fn png_gray_alpha_and_gray() {
        let png = encode_png(2, 1, ColorType::GrayscaleAlpha, BitDepth::Eight, &[10, 0, 20, 255], |_| {});
        let p = PreparedImage::new(&SealImage::Png(png)).unwrap();
        assert!(p.image.dict.is_name("ColorSpace", "DeviceGray"));
        assert_eq!(decoded(&p.image), vec![10, 20]);
        assert_eq!(decoded(&p.smask.unwrap()), vec![0, 255]);

        let png = encode_png(8, 1, ColorType::Grayscale, BitDepth::One, &[0b1010_0000], |_| {});
        let p = PreparedImage::new(&SealImage::Png(png)).unwrap();
        assert!(p.smask.is_none());
        assert_eq!(decoded(&p.image), vec![255, 0, 255, 0, 0, 0, 0, 0]);
    }

    /// An Adam7-interlaced 8-bit RGB PNG written by hand (the `png` encoder cannot interlace).
    fn interlaced_rgb_png(w: u32, h: u32, data: &[u8]) -> Vec<u8> {
        const PASSES: [(u32, u32, u32, u32); 7] =
            [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
        let mut raw = Vec::new();
        for (x0, y0, dx, dy) in PASSES {
            if x0 >= w || y0 >= h {
                continue;
            }
            for y in (y0..h).step_by(dy as usize) {
                raw.push(0); // filter type None
                for x in (x0..w).step_by(dx as usize) {
                    let i = ((y * w + x) * 3) as usize;
                    raw.extend_from_slice(&data[i..i + 3]);
                }
            }
        }
        let chunk = |out: &mut Vec<u8>, ty: &[u8], body: &[u8]| {
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(ty);
            crc.update(body);
            out.extend_from_slice(ty);
            out.extend_from_slice(body);
            out.extend_from_slice(&crc.sum().to_be_bytes());
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 1]); // 8-bit RGB, deflate, adaptive, Adam7
        let mut out = PNG_SIGNATURE.to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &crate::filter::flate_encode(&raw));
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn png_interlaced() {
        let (w, h) = (11u32, 9u32);
        let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let png = interlaced_rgb_png(w, h, &data);
        let p = PreparedImage::new(&SealImage::Png(png)).unwrap();
        assert_eq!((p.width, p.height), (w, h));
        assert_eq!(decoded(&p.image), data);
    }

    #[test]
    fn png_too_large_is_refused() {
        // Header only: the size check comes before any pixel data is read.
        let png = encode_png(9000, 1, ColorType::Grayscale, BitDepth::Eight, &[0; 9000], |_| {});
        let e = PreparedImage::new(&SealImage::Png(png)).unwrap_err();
        assert!(matches!(e, Error::Limit(_)), "{e}");
    }

    #[test]
    fn png_garbage_is_an_error() {
        let mut png = encode_png(2, 2, ColorType::Rgb, BitDepth::Eight, &[7; 12], |_| {});
        png.truncate(40);
        assert!(PreparedImage::new(&SealImage::Png(png)).is_err());
        assert!(PreparedImage::new(&SealImage::Png(PNG_SIGNATURE.to_vec())).is_err());
    }

    #[test]
    fn png_corrupted_bytes_never_panic() {
        let data: Vec<u8> = (0..16 * 16 * 4).map(|i| (i * 31 % 256) as u8).collect();
        let png = encode_png(16, 16, ColorType::Rgba, BitDepth::Eight, &data, |_| {});
        let mut x = 0x9e37_79b9u32;
        for _ in 0..300 {
            let mut bad = png.clone();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = 8 + x as usize % (bad.len() - 8);
                bad[i] = (x >> 8) as u8;
            }
            let _ = PreparedImage::new(&SealImage::Png(bad));
        }
    }

    /// SOI, APP0 (JFIF), optional APP14 (Adobe), DQT, SOF0, DHT, SOS, one entropy byte, EOI.
    fn minimal_jpeg(width: u16, height: u16, components: u8, adobe: bool) -> Vec<u8> {
        let mut j = vec![0xff, 0xd8];
        j.extend_from_slice(&[0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
        if adobe {
            j.extend_from_slice(&[0xff, 0xee, 0, 14, b'A', b'd', b'o', b'b', b'e', 0, 100, 0, 0, 0, 0, 2]);
        }
        j.extend_from_slice(&[0xff, 0xdb, 0, 67, 0]);
        j.extend_from_slice(&[1; 64]);
        let sof_len = 8 + 3 * u16::from(components);
        j.extend_from_slice(&[0xff, 0xc0]);
        j.extend_from_slice(&sof_len.to_be_bytes());
        j.push(8);
        j.extend_from_slice(&height.to_be_bytes());
        j.extend_from_slice(&width.to_be_bytes());
        j.push(components);
        for c in 1..=components {
            j.extend_from_slice(&[c, 0x11, 0]);
        }
        j.extend_from_slice(&[0xff, 0xc4, 0, 20, 0, 1]);
        j.extend_from_slice(&[0; 15]);
        j.push(0);
        j.extend_from_slice(&[0xff, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0]);
        j.extend_from_slice(&[0x00, 0xff, 0xd9]);
        j
    }

    #[test]
    fn jpeg_header_rgb() {
        let j = minimal_jpeg(300, 200, 3, false);
        assert_eq!(parse_jpeg_header(&j).unwrap(), JpegHeader { width: 300, height: 200, components: 3, adobe: false });
        let seal = SealImage::from_bytes(j.clone()).unwrap();
        assert_eq!(seal.pixel_size().unwrap(), (300, 200));
        let p = PreparedImage::new(&seal).unwrap();
        assert!(p.image.dict.is_name("Filter", "DCTDecode"));
        assert!(p.image.dict.is_name("ColorSpace", "DeviceRGB"));
        assert_eq!(p.image.data, StreamData::Owned(j));
        assert!(p.smask.is_none());
    }

    #[test]
    fn jpeg_header_gray_and_adobe_cmyk() {
        let p = PreparedImage::new(&SealImage::Jpeg(minimal_jpeg(1, 1, 1, false))).unwrap();
        assert!(p.image.dict.is_name("ColorSpace", "DeviceGray"));
        assert!(!p.image.dict.contains("Decode"));

        let p = PreparedImage::new(&SealImage::Jpeg(minimal_jpeg(5, 6, 4, true))).unwrap();
        assert!(p.image.dict.is_name("ColorSpace", "DeviceCMYK"));
        assert_eq!(p.image.dict.get("Decode").and_then(Object::as_array).map(<[Object]>::len), Some(8));

        let p = PreparedImage::new(&SealImage::Jpeg(minimal_jpeg(5, 6, 4, false))).unwrap();
        assert!(!p.image.dict.contains("Decode"));
    }

    #[test]
    fn jpeg_truncated_or_garbage_is_an_error() {
        let j = minimal_jpeg(300, 200, 3, false);
        // Every prefix that ends before the scan header must fail cleanly, never panic.
        let sos = j.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
        for len in 0..sos {
            assert!(parse_jpeg_header(&j[..len]).is_err(), "prefix {len}");
        }
        assert!(parse_jpeg_header(b"\xff\xd8\xff\xe0\x00\x01").is_err());
        assert!(parse_jpeg_header(b"\xff\xd8\xff\xd9").is_err());
        assert!(parse_jpeg_header(b"\xff\xd8garbage").is_err());
        let mut lossless = j.clone();
        let sof = lossless.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        lossless[sof + 1] = 0xc3;
        assert!(parse_jpeg_header(&lossless).is_err());
        // Pseudo-random noise after SOI.
        let mut x = 0x1234_5678u32;
        for _ in 0..200 {
            let mut noise = vec![0xff, 0xd8];
            for _ in 0..64 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                noise.push(x as u8);
            }
            let _ = parse_jpeg_header(&noise);
        }
    }

    #[test]
    fn jpeg_oversized_is_refused() {
        let j = minimal_jpeg(60000, 10, 3, false);
        assert!(matches!(PreparedImage::new(&SealImage::Jpeg(j)), Err(Error::Limit(_))));
    }

    #[test]
    fn from_bytes_sniffs() {
        assert!(matches!(SealImage::from_bytes(minimal_jpeg(1, 1, 3, false)), Ok(SealImage::Jpeg(_))));
        let png = encode_png(1, 1, ColorType::Rgb, BitDepth::Eight, &[0; 3], |_| {});
        assert!(matches!(SealImage::from_bytes(png), Ok(SealImage::Png(_))));
        let e = SealImage::from_bytes(b"GIF89a".to_vec()).unwrap_err();
        assert!(e.to_string().contains("neither PNG nor JPEG"), "{e}");
    }
}
