//! The embedded text fonts: subsets of DejaVu Sans and, for the characters it lacks (CJK),
//! Droid Sans Fallback (`signet-fonts`), each as a Type0 font with Identity-H encoding over a
//! CIDFontType2 descendant (ISO 32000-2 §9.7), with a ToUnicode CMap (§9.10.3) so that the
//! text can be extracted. A line is set in runs, one per face; only the faces used are
//! embedded.
//!
//! The subset's glyph ids are used as CIDs (`/CIDToGIDMap /Identity`); the subsetter renumbers
//! glyphs from 0 and drops the `cmap` table, so the ToUnicode CMap is the only character map.

use signet_fonts::{FaceSubset, TextFaces};

use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object, Stream};

/// The faces, in their resource order: DejaVu Sans, then Droid Sans Fallback.
pub(crate) const FACES: usize = 2;

/// The faces text is set in, and the glyphs used so far.
pub(crate) struct TextFont {
    faces: TextFaces,
}

/// Consecutive characters of a line set in one face: their CIDs in that face's subset.
pub(crate) struct Run {
    pub(crate) face: usize,
    pub(crate) cids: Vec<u16>,
}

/// One line of text as runs of CIDs, with its width in text space units per point of font
/// size.
pub(crate) struct ShapedLine {
    pub(crate) runs: Vec<Run>,
    pub(crate) width_per_pt: f64,
}

impl TextFont {
    /// The built-in faces.
    pub(crate) fn new() -> Result<Self> {
        let faces = TextFaces::new().map_err(|e| Error::Unsupported(format!("a built-in font cannot be read: {e}")))?;
        Ok(TextFont { faces })
    }

    /// Ascent (positive) and descent (negative), in units of the font size: the largest of
    /// the faces used so far (DejaVu Sans's when none is).
    pub(crate) fn vertical_metrics(&self) -> (f64, f64) {
        let faces = &self.faces.faces;
        let mut used = faces.iter().filter(|f| f.used()).peekable();
        let used: Vec<&FaceSubset> = if used.peek().is_some() { used.collect() } else { vec![&faces[0]] };
        used.iter().fold((0.0, 0.0), |(a, d), f| {
            let u = f.units_per_em();
            (f64::max(a, f64::from(f.face().ascender()) / u), f64::min(d, f64::from(f.face().descender()) / u))
        })
    }

    /// Maps `line` to glyphs one character at a time (no shaping): control characters are
    /// dropped, tabs become spaces, and each character comes from the face
    /// [`TextFaces::set`] chooses (CJK from Droid Sans Fallback first, a character neither
    /// face has as `?`).
    pub(crate) fn shape(&mut self, line: &str) -> ShapedLine {
        let mut runs: Vec<Run> = Vec::new();
        let mut width = 0.0;
        for c in line.chars() {
            let c = if c == '\t' { ' ' } else { c };
            if c.is_control() {
                continue;
            }
            let g = self.faces.set(c);
            width += g.advance;
            match runs.last_mut() {
                Some(run) if run.face == g.face => run.cids.push(g.cid),
                _ => runs.push(Run { face: g.face, cids: vec![g.cid] }),
            }
        }
        ShapedLine { runs, width_per_pt: width }
    }

    /// Subsets each face used to the glyphs used so far and builds its objects (not yet
    /// stored), with the face's index.
    pub(crate) fn into_objects(self) -> Result<Vec<(usize, FontObjects)>> {
        let mut out = Vec::new();
        for (i, face) in self.faces.faces.iter().enumerate() {
            if face.used() {
                out.push((i, font_objects(face)?));
            }
        }
        Ok(out)
    }
}

/// Subsets `f` to the glyphs used so far and builds its objects (not yet stored).
fn font_objects(f: &FaceSubset) -> Result<FontObjects> {
    let face = f.face();
    let subset = f.subset().map_err(|e| Error::Unsupported(format!("subsetting font {}: {e}", f.postscript_name())))?;
    let base_font = f.base_font();
    let scale = 1000.0 / f.units_per_em();

    // Widths of the glyphs shown, in CID order. The subsetter appends the components of
    // composite glyphs after these; they are never shown, so they need no width.
    let widths: Vec<Object> =
        f.used_glyphs().map(|gid| Object::Int((f.advance(gid) * 1000.0).round() as i64)).collect();
    let bbox = face.global_bounding_box();
    let (ascent, descent) = (f64::from(face.ascender()), f64::from(face.descender()));
    let cap_height = face.capital_height().map_or(ascent, f64::from);
    let weight = f64::from(face.weight().to_number());
    // The usual estimate from the weight class; viewers only use it for substitution.
    let stem_v = (10.0 + 220.0 * (weight - 50.0) / 900.0).round();
    let mut flags = 4; // Symbolic: glyphs outside the standard Latin set
    if face.is_monospaced() {
        flags |= 1;
    }
    if face.is_italic() {
        flags |= 64;
    }

    let font_file = Stream::flate(Dict::new().with("Length1", subset.len() as i64), &subset);
    let descriptor = Dict::new()
        .with("Type", Object::name("FontDescriptor"))
        .with("FontName", Object::name(&base_font))
        .with("Flags", flags)
        .with(
            "FontBBox",
            [bbox.x_min, bbox.y_min, bbox.x_max, bbox.y_max]
                .map(|v| Object::Int((f64::from(v) * scale).round() as i64))
                .to_vec(),
        )
        .with("ItalicAngle", f64::from(face.italic_angle()))
        .with("Ascent", (ascent * scale).round())
        .with("Descent", (descent * scale).round())
        .with("CapHeight", (cap_height * scale).round())
        .with("StemV", stem_v);
    let cid_font = Dict::new()
        .with("Type", Object::name("Font"))
        .with("Subtype", Object::name("CIDFontType2"))
        .with("BaseFont", Object::name(&base_font))
        .with(
            "CIDSystemInfo",
            Dict::new()
                .with("Registry", Object::String(b"Adobe".to_vec()))
                .with("Ordering", Object::String(b"Identity".to_vec()))
                .with("Supplement", 0),
        )
        .with("W", vec![Object::Int(0), Object::Array(widths)])
        .with("CIDToGIDMap", Object::name("Identity"));
    let type0 = Dict::new()
        .with("Type", Object::name("Font"))
        .with("Subtype", Object::name("Type0"))
        .with("BaseFont", Object::name(&base_font))
        .with("Encoding", Object::name("Identity-H"));
    let to_unicode = Stream::flate(Dict::new(), f.to_unicode_cmap().as_bytes());
    Ok(FontObjects { font_file, descriptor, cid_font, to_unicode, type0 })
}

/// The objects of an embedded font, before they are stored.
pub(crate) struct FontObjects {
    font_file: Stream,
    descriptor: Dict,
    cid_font: Dict,
    to_unicode: Stream,
    type0: Dict,
}

impl FontObjects {
    /// Stores every object through `add` (referenced ones first) and returns the reference
    /// of the Type0 font.
    pub(crate) fn store(self, add: &mut dyn FnMut(Object) -> ObjRef) -> ObjRef {
        let FontObjects { font_file, mut descriptor, mut cid_font, to_unicode, mut type0 } = self;
        descriptor.set("FontFile2", Object::Ref(add(font_file.into())));
        cid_font.set("FontDescriptor", Object::Ref(add(descriptor.into())));
        type0.set("DescendantFonts", Object::Array(vec![Object::Ref(add(cid_font.into()))]));
        type0.set("ToUnicode", Object::Ref(add(to_unicode.into())));
        add(type0.into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::object::StreamData;

    #[test]
    fn cjk_from_the_fallback_face_and_missing_glyphs_as_question_marks() {
        let mut font = TextFont::new().unwrap();
        let line = font.shape("签名， Zoë\u{7}\u{10FFFD}");
        // runs: the CJK characters (full-width comma too) in Droid Sans Fallback, then the
        // rest in DejaVu Sans; the bell dropped; a private-use character neither face has: '?'
        let faces: Vec<(usize, usize)> = line.runs.iter().map(|r| (r.face, r.cids.len())).collect();
        assert_eq!(faces, [(1, 3), (0, 5)]);
        let cjk = font.faces.faces[1].to_unicode();
        assert_eq!(line.runs[0].cids.iter().map(|c| cjk[c]).collect::<String>(), "签名，");
        let latin = font.faces.faces[0].to_unicode();
        assert_eq!(line.runs[1].cids.iter().map(|c| latin[c]).collect::<String>(), " Zoë?");
        assert!(line.width_per_pt > 5.0);
        // the line box holds both faces
        let (ascent, descent) = font.vertical_metrics();
        assert!(ascent > 0.7 && descent < -0.2, "{ascent} {descent}");
        let objects = font.into_objects().unwrap();
        assert_eq!(objects.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn latin_text_embeds_one_face() {
        let mut font = TextFont::new().unwrap();
        font.shape("Li Wei, 2026-11-24");
        assert_eq!(font.into_objects().unwrap().iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn subset_objects_are_consistent() {
        let mut font = TextFont::new().unwrap();
        let line = font.shape("Abc Åé");
        let (face, objects) = font.into_objects().unwrap().pop().unwrap();
        assert_eq!(face, 0);
        let line_cids: Vec<u16> = line.runs.iter().flat_map(|r| r.cids.iter().copied()).collect();
        let mut stored = Vec::new();
        let type0 = objects.store(&mut |o| {
            stored.push(o);
            ObjRef::new(stored.len() as u32, 0)
        });
        assert_eq!(type0, ObjRef::new(5, 0));
        let font_file = match &stored[0] {
            Object::Stream(s) => s,
            o => panic!("{o:?}"),
        };
        let raw = match &font_file.data {
            StreamData::Owned(d) => crate::filter::flate_decode(d, 1 << 24).unwrap(),
            StreamData::InFile { .. } => unreachable!(),
        };
        assert_eq!(font_file.dict.get_int("Length1"), Some(raw.len() as i64));
        assert!(raw.len() < 40_000, "subset is {} bytes", raw.len());
        let subset = signet_fonts::Face::parse(&raw, 0).unwrap();
        assert!(subset.number_of_glyphs() as usize > line_cids.iter().copied().max().unwrap() as usize);

        let name = stored[1].as_dict().unwrap().get_name("FontName").unwrap().to_vec();
        assert_eq!(name.len(), "ABCDEF+DejaVuSans".len());
        assert!(name[..6].iter().all(u8::is_ascii_uppercase));
        assert!(name.ends_with(b"+DejaVuSans"));
        let w = stored[2].as_dict().unwrap().get("W").and_then(Object::as_array).unwrap();
        // every CID shown has a width (composite components added by the subsetter need none)
        let widths = w[1].as_array().unwrap();
        assert!(widths.len() > line_cids.iter().copied().max().unwrap() as usize);
        assert!(widths.len() <= subset.number_of_glyphs() as usize);
        assert!(widths.iter().skip(1).all(|w| w.as_int().unwrap() > 0));
    }
}
