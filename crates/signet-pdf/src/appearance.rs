//! Appearance streams for visible signatures (ISO 32000-2 §12.5.5): a form XObject (§8.10)
//! showing a seal image (§8.9.5) and lines of text in embedded font subsets (§9.7): DejaVu
//! Sans, and Droid Sans Fallback for CJK (`font`).
//!
//! Layout: with both an image and text, the image takes the left part of a wide box or the
//! upper part of a tall one, and the text the rest; either alone fills the box. The image
//! keeps its aspect ratio; the text is left aligned and, unless a size is given, sized to fit.

mod font;
mod image;

use std::fmt::Write as _;

use self::font::{FACES, FontObjects, ShapedLine, TextFont};
use self::image::PreparedImage;
pub use self::image::{MAX_DECODED_BYTES, MAX_ENCODED_BYTES, MAX_IMAGE_SIDE, SealImage};
use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object, Stream};

/// Smallest font size the auto-fit goes down to; text that does not fit at this size is
/// clipped to its area.
pub const MIN_FONT_SIZE: f64 = 4.0;
/// Largest accepted box side, in points (the PDF 1.x page size limit, Annex C).
pub const MAX_BOX_SIDE: f64 = 14_400.0;
/// Resource names used in the form XObject.
const IMAGE_NAME: &str = "Im1";
/// The fonts' names, by face: DejaVu Sans, Droid Sans Fallback (only those used are there).
const FONT_NAMES: [&str; FACES] = ["F1", "F2"];
/// Dark gray: reads as black but softer against a coloured seal.
const TEXT_GRAY: f64 = 0.15;
/// Baseline-to-baseline distance as a multiple of the font size.
const LEADING: f64 = 1.2;

/// What a visible signature shows and how big it is.
#[derive(Clone, Debug, PartialEq)]
pub struct AppearanceSpec {
    /// Width of the widget rectangle, in points.
    pub width: f64,
    /// Height of the widget rectangle, in points.
    pub height: f64,
    /// The seal or handwritten-signature picture, if any.
    pub image: Option<SealImage>,
    /// Lines of text (signer name, date, reason...), top to bottom.
    pub text: Vec<String>,
    /// Font size in points; `None` sizes the text to fill its area (at least
    /// [`MIN_FONT_SIZE`]).
    pub font_size: Option<f64>,
}

impl AppearanceSpec {
    /// An empty appearance of `width` × `height` points, auto-sized text.
    pub fn new(width: f64, height: f64) -> Self {
        AppearanceSpec { width, height, image: None, text: Vec::new(), font_size: None }
    }
}

/// Builds the form XObject (`/BBox [0 0 width height]`, `/Resources` with the image and
/// font) for the widget's `/AP /N`.
///
/// Secondary objects (image, soft mask, font, font descriptor, font file, CIDFont, ToUnicode)
/// are handed to `add`, which stores them and returns their reference. Everything that can
/// fail (decoding the image, subsetting the font) happens before the first call to `add`, so
/// an error leaves nothing behind.
pub fn build_appearance(spec: &AppearanceSpec, add: &mut dyn FnMut(Object) -> ObjRef) -> Result<Stream> {
    let (w, h) = (spec.width, spec.height);
    if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0 && w <= MAX_BOX_SIDE && h <= MAX_BOX_SIDE) {
        return Err(Error::Unsupported(format!(
            "appearance box {w}×{h} points: both sides must be above 0 and at most {MAX_BOX_SIDE}"
        )));
    }
    if let Some(size) = spec.font_size {
        if !(size.is_finite() && size > 0.0 && size <= MAX_BOX_SIDE) {
            return Err(Error::Unsupported(format!("font size {size} is not a positive number of points")));
        }
    }

    let image = spec.image.as_ref().map(PreparedImage::new).transpose()?;
    let has_text = spec.text.iter().any(|l| !l.trim().is_empty());
    let mut font = if has_text { Some(TextFont::new()?) } else { None };
    let lines: Vec<ShapedLine> = match &mut font {
        Some(f) => spec.text.iter().map(|l| f.shape(l)).collect(),
        None => Vec::new(),
    };
    let metrics = font.as_ref().map(|f| TextMetrics::new(f.vertical_metrics(), &lines));
    let font_objects = font.map(TextFont::into_objects).transpose()?;

    let full = Rect { x: 0.0, y: 0.0, w, h };
    let pad = (w.min(h) * 0.05).clamp(1.0, 6.0);
    let (image_area, text_area) = match (&image, has_text) {
        (Some(img), true) => split(full, pad, f64::from(img.width) / f64::from(img.height)),
        (Some(_), false) => (Some(full.inset(pad)), None),
        (None, true) => (None, Some(full.inset(pad))),
        (None, false) => (None, None),
    };

    let mut content = String::new();
    let mut resources = Dict::new();
    if let (Some(img), Some(area)) = (image, image_area) {
        let r = area.fit(f64::from(img.width) / f64::from(img.height));
        let mut dict = img.image.dict.clone();
        if let Some(smask) = img.smask {
            dict.set("SMask", Object::Ref(add(smask.into())));
        }
        let image_ref = add(Stream { dict, data: img.image.data }.into());
        resources.set("XObject", Dict::new().with(IMAGE_NAME, image_ref).into());
        let _ = writeln!(content, "q {} 0 0 {} {} {} cm /{IMAGE_NAME} Do Q", num(r.w), num(r.h), num(r.x), num(r.y));
    }
    if let (Some(objects), Some(area), Some(font)) = (font_objects, text_area, metrics) {
        resources.set("Font", store_fonts(objects, add).into());
        write_text(&mut content, &lines, area, &font, spec.font_size, TEXT_GRAY);
    }

    let dict = Dict::new()
        .with("Type", Object::name("XObject"))
        .with("Subtype", Object::name("Form"))
        .with("BBox", vec![Object::Int(0), Object::Int(0), Object::Real(w), Object::Real(h)])
        .with("Resources", resources);
    Ok(Stream::flate(dict, content.as_bytes()))
}

/// Inner margin of a text field's appearance, in points (what interactive processors leave
/// between the widget border and the text).
const FIELD_PADDING: f64 = 2.0;

/// Builds the normal appearance (`/AP /N`) of a filled text field: a form XObject of
/// `width` × `height` points showing `lines` in the embedded font (ISO 32000-2 §12.7.4.3,
/// variable text: the text is wrapped in `/Tx BMC … EMC` so that a processor that
/// regenerates appearances knows what to replace).
///
/// The text is black, left aligned, vertically centred, at `font_size` points, or, when
/// `None` (a `/DA` size of 0), at the size that fits the box (down to [`MIN_FONT_SIZE`]); what
/// still does not fit is clipped. The text is set in DejaVu Sans and, for CJK, Droid Sans
/// Fallback, as in signature appearances; a character neither has is drawn as `?`.
///
/// Secondary objects (font, descriptor, font file, CIDFont, ToUnicode) go through `add`, as
/// in [`build_appearance`]; nothing is added when this fails.
pub fn build_text_field_appearance(
    width: f64,
    height: f64,
    lines: &[String],
    font_size: Option<f64>,
    add: &mut dyn FnMut(Object) -> ObjRef,
) -> Result<Stream> {
    let (w, h) = (width, height);
    if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0 && w <= MAX_BOX_SIDE && h <= MAX_BOX_SIDE) {
        return Err(Error::Unsupported(format!(
            "text field box {w}×{h} points: both sides must be above 0 and at most {MAX_BOX_SIDE}"
        )));
    }
    if let Some(size) = font_size
        && !(size.is_finite() && size > 0.0 && size <= MAX_BOX_SIDE)
    {
        return Err(Error::Unsupported(format!("font size {size} is not a positive number of points")));
    }
    let mut content = String::from("/Tx BMC\n");
    let mut resources = Dict::new();
    if lines.iter().any(|l| !l.trim().is_empty()) {
        let mut font = TextFont::new()?;
        let shaped: Vec<ShapedLine> = lines.iter().map(|l| font.shape(l)).collect();
        let metrics = TextMetrics::new(font.vertical_metrics(), &shaped);
        let objects = font.into_objects()?;
        resources.set("Font", store_fonts(objects, add).into());
        let pad = FIELD_PADDING.min(w / 4.0).min(h / 4.0);
        let area = Rect { x: pad, y: pad, w: w - 2.0 * pad, h: h - 2.0 * pad };
        write_text(&mut content, &shaped, area, &metrics, font_size, 0.0);
    }
    content.push_str("EMC\n");
    let dict = Dict::new()
        .with("Type", Object::name("XObject"))
        .with("Subtype", Object::name("Form"))
        .with("BBox", vec![Object::Int(0), Object::Int(0), Object::Real(w), Object::Real(h)])
        .with("Resources", resources);
    Ok(Stream::flate(dict, content.as_bytes()))
}

/// Stores the fonts' objects through `add`: the `/Font` resource dictionary.
fn store_fonts(objects: Vec<(usize, FontObjects)>, add: &mut dyn FnMut(Object) -> ObjRef) -> Dict {
    let mut fonts = Dict::new();
    for (face, objects) in objects {
        fonts.set(FONT_NAMES[face], Object::Ref(objects.store(add)));
    }
    fonts
}

/// An axis-aligned rectangle in form space (origin bottom left).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn inset(self, d: f64) -> Rect {
        let dx = d.min(self.w / 4.0);
        let dy = d.min(self.h / 4.0);
        Rect { x: self.x + dx, y: self.y + dy, w: self.w - 2.0 * dx, h: self.h - 2.0 * dy }
    }

    /// The largest rectangle of aspect ratio `aspect` (width / height) centred inside.
    fn fit(self, aspect: f64) -> Rect {
        let (w, h) = if self.w / self.h > aspect { (self.h * aspect, self.h) } else { (self.w, self.w / aspect) };
        Rect { x: self.x + (self.w - w) / 2.0, y: self.y + (self.h - h) / 2.0, w, h }
    }
}

/// Splits the padded box between the image and the text: side by side when the box is wider
/// than tall, stacked otherwise. The image gets at most 40 % (side by side) or 50 % (stacked)
/// of the box, less when its aspect ratio would leave the space empty.
fn split(full: Rect, pad: f64, aspect: f64) -> (Option<Rect>, Option<Rect>) {
    let inner = full.inset(pad);
    if inner.w >= inner.h {
        let iw = (inner.h * aspect).min(inner.w * 0.4);
        let image = Rect { w: iw, ..inner };
        let text = Rect { x: inner.x + iw + pad, w: (inner.w - iw - pad).max(1.0), ..inner };
        (Some(image), Some(text))
    } else {
        let ih = (inner.w / aspect).min(inner.h * 0.5);
        let image = Rect { y: inner.y + inner.h - ih, h: ih, ..inner };
        let text = Rect { h: (inner.h - ih - pad).max(1.0), ..inner };
        (Some(image), Some(text))
    }
}

/// What the text layout needs from the font and the lines.
struct TextMetrics {
    ascent: f64,
    descent: f64,
    widest: f64,
}

impl TextMetrics {
    fn new((ascent, descent): (f64, f64), lines: &[ShapedLine]) -> TextMetrics {
        let widest = lines.iter().map(|l| l.width_per_pt).fold(0.0, f64::max);
        TextMetrics { ascent, descent, widest }
    }

    /// Height of `n` lines at size 1.
    fn block_height(&self, n: usize) -> f64 {
        (n.saturating_sub(1)) as f64 * LEADING + self.ascent - self.descent
    }
}

/// Writes the lines left aligned and vertically centred in `area`, clipped to it, in `gray`.
fn write_text(out: &mut String, lines: &[ShapedLine], area: Rect, m: &TextMetrics, size: Option<f64>, gray: f64) {
    let size = size.unwrap_or_else(|| {
        let by_height = area.h / m.block_height(lines.len());
        let by_width = if m.widest > 0.0 { area.w / m.widest } else { f64::INFINITY };
        by_height.min(by_width).max(MIN_FONT_SIZE)
    });
    let block = m.block_height(lines.len()) * size;
    let top = area.y + area.h - ((area.h - block) / 2.0).max(0.0);
    let first_baseline = top - m.ascent * size;
    let _ = writeln!(out, "q {} {} {} {} re W n", num(area.x), num(area.y), num(area.w), num(area.h));
    let _ = writeln!(out, "BT {} g", num(gray));
    let _ = writeln!(out, "{} {} Td", num(area.x), num(first_baseline));
    let mut current = None;
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out, "0 {} Td", num(-LEADING * size));
        }
        for run in &line.runs {
            if current != Some(run.face) {
                let _ = writeln!(out, "/{} {} Tf", FONT_NAMES[run.face], num(size));
                current = Some(run.face);
            }
            out.push('<');
            for cid in &run.cids {
                let _ = write!(out, "{cid:04X}");
            }
            out.push_str("> Tj\n");
        }
    }
    out.push_str("ET Q\n");
}

/// A number for a content stream: no exponent, at most 4 decimals.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::object::StreamData;

    fn red_png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgb);
            let mut wr = enc.write_header().unwrap();
            wr.write_image_data(&[255, 0, 0].repeat((w * h) as usize)).unwrap();
        }
        out
    }

    fn build(spec: &AppearanceSpec) -> (Stream, Vec<Object>, String) {
        let mut stored = Vec::new();
        let s = build_appearance(spec, &mut |o| {
            stored.push(o);
            ObjRef::new(stored.len() as u32 + 10, 0)
        })
        .unwrap();
        let content = match &s.data {
            StreamData::Owned(d) => crate::filter::flate_decode(d, 1 << 20).unwrap(),
            StreamData::InFile { .. } => unreachable!(),
        };
        (s, stored, String::from_utf8(content).unwrap())
    }

    /// Numbers following `op`'s operator line, e.g. the 6 of `cm`.
    fn operands(content: &str, op: &str) -> Vec<f64> {
        let line = content.lines().find(|l| l.contains(op)).unwrap();
        let before = &line[..line.find(op).unwrap()];
        before.split_whitespace().filter_map(|t| t.parse().ok()).collect()
    }

    #[test]
    fn image_and_text_in_a_wide_box() {
        let spec = AppearanceSpec {
            image: Some(SealImage::Png(red_png(10, 10))),
            text: vec!["Signed by Zoë Martin".into(), "2025-01-01".into()],
            ..AppearanceSpec::new(200.0, 60.0)
        };
        let (s, stored, content) = build(&spec);
        assert_eq!(stored.len(), 6); // image, font file, descriptor, CIDFont, ToUnicode, Type0
        assert!(s.dict.is_name("Subtype", "Form"));
        assert_eq!(s.dict.get("BBox").unwrap().to_bytes(), b"[0 0 200 60]");
        let res = s.dict.get("Resources").and_then(Object::as_dict).unwrap();
        assert!(res.get("XObject").and_then(Object::as_dict).unwrap().contains("Im1"));
        assert!(res.get("Font").and_then(Object::as_dict).unwrap().contains("F1"));
        assert_eq!(content.matches("q ").count(), content.matches('Q').count());
        // the square image sits on the left, full height minus padding
        let cm = operands(&content, " cm");
        assert!(cm[4] < 10.0 && (cm[0] - cm[3]).abs() < 1e-9 && cm[3] > 40.0, "{cm:?}");
        // the text starts right of it
        let td = operands(&content, " Td");
        assert!(td[0] > cm[4] + cm[0], "{td:?}");
        let tf = operands(&content, " Tf");
        assert!(tf[0] >= MIN_FONT_SIZE && tf[0] < 30.0, "{tf:?}");
    }

    #[test]
    fn image_goes_on_top_in_a_tall_box() {
        let spec = AppearanceSpec {
            image: Some(SealImage::Png(red_png(20, 10))),
            text: vec!["Name".into()],
            ..AppearanceSpec::new(80.0, 160.0)
        };
        let (_, _, content) = build(&spec);
        let cm = operands(&content, " cm");
        let td = operands(&content, " Td");
        assert!(cm[5] > 80.0, "{cm:?}");
        assert!(td[1] < cm[5], "{td:?} {cm:?}");
    }

    #[test]
    fn image_alone_is_centred() {
        let spec = AppearanceSpec { image: Some(SealImage::Png(red_png(10, 10))), ..AppearanceSpec::new(100.0, 50.0) };
        let (s, stored, content) = build(&spec);
        assert_eq!(stored.len(), 1);
        let res = s.dict.get("Resources").and_then(Object::as_dict).unwrap();
        assert!(!res.contains("Font"));
        let cm = operands(&content, " cm");
        assert!(((cm[4] + cm[0] / 2.0) - 50.0).abs() < 1e-6, "{cm:?}");
        assert!(((cm[5] + cm[3] / 2.0) - 25.0).abs() < 1e-6, "{cm:?}");
        assert!(!content.contains("BT"));
    }

    #[test]
    fn text_alone_fills_the_box() {
        let spec = AppearanceSpec { text: vec!["Hi".into()], ..AppearanceSpec::new(200.0, 50.0) };
        let (_, stored, content) = build(&spec);
        assert_eq!(stored.len(), 5);
        let tf = operands(&content, " Tf");
        assert!(tf[0] > 30.0, "{tf:?}");
        assert!(!content.contains(" Do"));
    }

    #[test]
    fn long_text_stops_at_the_minimum_size_and_is_clipped() {
        let spec = AppearanceSpec { text: vec!["x".repeat(500)], ..AppearanceSpec::new(50.0, 20.0) };
        let (_, _, content) = build(&spec);
        assert_eq!(operands(&content, " Tf")[0], MIN_FONT_SIZE);
        assert!(content.contains("re W n"));
    }

    #[test]
    fn fixed_font_size_is_used() {
        let spec = AppearanceSpec { text: vec!["a".into()], font_size: Some(9.5), ..AppearanceSpec::new(200.0, 50.0) };
        let (_, _, content) = build(&spec);
        assert_eq!(operands(&content, " Tf")[0], 9.5);
    }

    #[test]
    fn empty_spec_is_an_empty_form() {
        let (s, stored, content) = build(&AppearanceSpec { text: vec![" ".into()], ..AppearanceSpec::new(10.0, 10.0) });
        assert!(stored.is_empty());
        assert!(content.is_empty());
        assert!(s.dict.contains("Resources"));
    }

    #[test]
    fn bad_input_is_an_error_and_stores_nothing() {
        let mut stored = 0;
        let mut add = |_: Object| {
            stored += 1;
            ObjRef::new(1, 0)
        };
        for spec in [
            AppearanceSpec::new(0.0, 10.0),
            AppearanceSpec::new(f64::NAN, 10.0),
            AppearanceSpec { font_size: Some(-1.0), ..AppearanceSpec::new(10.0, 10.0) },
            AppearanceSpec {
                image: Some(SealImage::Jpeg(b"\xff\xd8\xff".to_vec())),
                text: vec!["x".into()],
                ..AppearanceSpec::new(10.0, 10.0)
            },
        ] {
            assert!(build_appearance(&spec, &mut add).is_err(), "{spec:?}");
        }
        assert_eq!(stored, 0);
    }

    #[test]
    fn text_field_appearance_is_marked_variable_text() {
        let mut stored = Vec::new();
        let s = build_text_field_appearance(200.0, 20.0, &["Zoë 签".into()], None, &mut |o| {
            stored.push(o);
            ObjRef::new(stored.len() as u32, 0)
        })
        .unwrap();
        // per face (DejaVu Sans for "Zoë ", Droid Sans Fallback for "签"): font file,
        // descriptor, CIDFont, ToUnicode, Type0
        assert_eq!(stored.len(), 10);
        let content = match &s.data {
            StreamData::Owned(d) => String::from_utf8(crate::filter::flate_decode(d, 1 << 20).unwrap()).unwrap(),
            StreamData::InFile { .. } => unreachable!(),
        };
        assert!(content.starts_with("/Tx BMC\n") && content.ends_with("EMC\n"), "{content}");
        assert!(content.contains("BT 0 g\n"), "{content}");
        let f1 = content.find("/F1 ").unwrap();
        let f2 = content.find("/F2 ").unwrap();
        assert!(f1 < f2, "{content}");
        let fonts = s.dict.get("Resources").and_then(Object::as_dict).unwrap().get("Font").unwrap();
        let fonts = fonts.as_dict().unwrap();
        assert!(fonts.contains("F1") && fonts.contains("F2"));
        // auto size: limited by the 16 pt left inside the padding
        let tf = operands(&content, " Tf");
        assert!(tf[0] > 10.0 && tf[0] < 16.0, "{tf:?}");
        assert_eq!(s.dict.get("BBox").unwrap().to_bytes(), b"[0 0 200 20]");

        // an empty value: the marked content alone, no font
        let (mut n, mut count) = (Vec::new(), 0);
        let s = build_text_field_appearance(50.0, 10.0, &[], Some(9.0), &mut |o| {
            n.push(o);
            count += 1;
            ObjRef::new(count, 0)
        })
        .unwrap();
        assert!(n.is_empty());
        assert!(!s.dict.get("Resources").and_then(Object::as_dict).unwrap().contains("Font"));
        assert!(build_text_field_appearance(0.0, 10.0, &[], None, &mut |_| ObjRef::new(1, 0)).is_err());
        assert!(build_text_field_appearance(10.0, 10.0, &[], Some(0.0), &mut |_| ObjRef::new(1, 0)).is_err());
    }

    #[test]
    fn numbers_have_no_exponent() {
        assert_eq!(num(1e-9), "0");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(100.0), "100");
        assert_eq!(num(1.0 / 3.0), "0.3333");
    }
}
