//! The embedded text fonts: subsets of DejaVu Sans and, for the characters it lacks (CJK),
//! Droid Sans Fallback (`signet-fonts`), each as a Type0 font with Identity-H encoding over a
//! CIDFontType2 descendant (ISO 32000-2 §9.7), with a ToUnicode CMap (§9.10.3) so that the
//! text can be extracted. A line is set in runs, one per face; only the faces used are
//! embedded.
//!
//! The subset's glyph ids are used as CIDs (`/CIDToGIDMap /Identity`); the subsetter renumbers
//! glyphs from 0 and drops the `cmap` table, so the ToUnicode CMap is the only character map.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object, Stream};

/// Drawn for characters neither face has a glyph for.
const REPLACEMENT: char = '?';
/// The faces, in their resource order: DejaVu Sans, then Droid Sans Fallback.
pub(crate) const FACES: usize = 2;

/// One face with its metrics, and the glyphs used from it so far.
struct EmbeddedFace {
    data: &'static [u8],
    postscript_name: &'static str,
    face: Face<'static>,
    units_per_em: f64,
    remapper: GlyphRemapper,
    /// Subset glyph id (the CID) → the character it was used for, for the ToUnicode CMap.
    to_unicode: BTreeMap<u16, char>,
}

impl EmbeddedFace {
    fn parse(data: &'static [u8], postscript_name: &'static str) -> Result<Self> {
        let face = Face::parse(data, 0)
            .map_err(|e| Error::Unsupported(format!("built-in font {postscript_name} cannot be read: {e}")))?;
        let units_per_em = f64::from(face.units_per_em().max(1));
        Ok(EmbeddedFace {
            data,
            postscript_name,
            face,
            units_per_em,
            remapper: GlyphRemapper::new(),
            to_unicode: BTreeMap::new(),
        })
    }

    /// The glyph for `c`, if the face has one (glyph 0 is `.notdef`, no glyph).
    fn glyph_index(&self, c: char) -> Option<GlyphId> {
        self.face.glyph_index(c).filter(|g| g.0 != 0)
    }

    /// Advance width of `gid` in units of the font size.
    fn advance(&self, gid: GlyphId) -> f64 {
        f64::from(self.face.glyph_hor_advance(gid).unwrap_or(0)) / self.units_per_em
    }

    fn used(&self) -> bool {
        !self.to_unicode.is_empty()
    }
}

/// The faces text is set in, and the glyphs used so far.
pub(crate) struct TextFont {
    faces: [EmbeddedFace; FACES],
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
        Ok(TextFont {
            faces: [
                EmbeddedFace::parse(signet_fonts::DEJAVU_SANS, "DejaVuSans")?,
                EmbeddedFace::parse(signet_fonts::DROID_SANS_FALLBACK, "DroidSansFallbackFull")?,
            ],
        })
    }

    /// Ascent (positive) and descent (negative), in units of the font size: the largest of
    /// the faces used so far (DejaVu Sans's when none is).
    pub(crate) fn vertical_metrics(&self) -> (f64, f64) {
        let mut used = self.faces.iter().filter(|f| f.used()).peekable();
        let faces: Vec<&EmbeddedFace> = if used.peek().is_some() { used.collect() } else { vec![&self.faces[0]] };
        faces.iter().fold((0.0, 0.0), |(a, d), f| {
            let u = f.units_per_em;
            (f64::max(a, f64::from(f.face.ascender()) / u), f64::min(d, f64::from(f.face.descender()) / u))
        })
    }

    /// Maps `line` to glyphs one character at a time (no shaping): control characters are
    /// dropped, tabs become spaces, CJK characters ([`signet_fonts::is_cjk`]) come from Droid
    /// Sans Fallback first and every other character from DejaVu Sans first, and a character
    /// neither face has is drawn as `?`.
    pub(crate) fn shape(&mut self, line: &str) -> ShapedLine {
        let mut runs: Vec<Run> = Vec::new();
        let mut width = 0.0;
        for c in line.chars() {
            let c = if c == '\t' { ' ' } else { c };
            if c.is_control() {
                continue;
            }
            let order = if signet_fonts::is_cjk(c) { [1, 0] } else { [0, 1] };
            let found = order.into_iter().find_map(|i| self.faces[i].glyph_index(c).map(|gid| (i, c, gid)));
            let (i, c, gid) =
                found.unwrap_or_else(|| (0, REPLACEMENT, self.faces[0].glyph_index(REPLACEMENT).unwrap_or(GlyphId(0))));
            let face = &mut self.faces[i];
            let cid = face.remapper.remap(gid.0);
            face.to_unicode.entry(cid).or_insert(c);
            width += face.advance(gid);
            match runs.last_mut() {
                Some(run) if run.face == i => run.cids.push(cid),
                _ => runs.push(Run { face: i, cids: vec![cid] }),
            }
        }
        ShapedLine { runs, width_per_pt: width }
    }

    /// Subsets each face used to the glyphs used so far and builds its objects (not yet
    /// stored), with the face's index.
    pub(crate) fn into_objects(self) -> Result<Vec<(usize, FontObjects)>> {
        let mut out = Vec::new();
        for (i, face) in self.faces.into_iter().enumerate() {
            if face.used() {
                out.push((i, face.into_objects()?));
            }
        }
        Ok(out)
    }
}

impl EmbeddedFace {
    /// Subsets the font to the glyphs used so far and builds its objects (not yet stored).
    pub(crate) fn into_objects(self) -> Result<FontObjects> {
        let subset = subsetter::subset(self.data, 0, &self.remapper)
            .map_err(|e| Error::Unsupported(format!("subsetting font {}: {e}", self.postscript_name)))?;
        let base_font = format!("{}+{}", subset_tag(&self.remapper), self.postscript_name);
        let scale = 1000.0 / self.units_per_em;

        // Widths of the glyphs shown, in CID order. The subsetter appends the components of
        // composite glyphs after these; they are never shown, so they need no width.
        let widths: Vec<Object> = self
            .remapper
            .remapped_gids()
            .map(|gid| Object::Int((self.advance(GlyphId(gid)) * 1000.0).round() as i64))
            .collect();
        let bbox = self.face.global_bounding_box();
        let (ascent, descent) = (f64::from(self.face.ascender()), f64::from(self.face.descender()));
        let cap_height = self.face.capital_height().map_or(ascent, f64::from);
        let weight = f64::from(self.face.weight().to_number());
        // The usual estimate from the weight class; viewers only use it for substitution.
        let stem_v = (10.0 + 220.0 * (weight - 50.0) / 900.0).round();
        let mut flags = 4; // Symbolic: glyphs outside the standard Latin set
        if self.face.is_monospaced() {
            flags |= 1;
        }
        if self.face.is_italic() {
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
            .with("ItalicAngle", f64::from(self.face.italic_angle()))
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
        Ok(FontObjects { font_file, descriptor, cid_font, to_unicode: to_unicode_cmap(&self.to_unicode), type0 })
    }
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

/// The six-letter subset tag (§9.9.2), derived from the glyph set so that equal subsets get
/// equal names and different ones (almost always) differ.
fn subset_tag(remapper: &GlyphRemapper) -> String {
    // FNV-1a over the original glyph ids.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for gid in remapper.remapped_gids() {
        for b in gid.to_be_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|_| {
            let c = char::from(b'A' + (h % 26) as u8);
            h /= 26;
            c
        })
        .collect()
}

/// A ToUnicode CMap (§9.10.3) mapping each two-byte CID to its character in UTF-16BE.
fn to_unicode_cmap(map: &BTreeMap<u16, char>) -> Stream {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = map.iter().collect();
    // At most 100 entries per bfchar block (§9.10.3 via the CMap specification).
    for block in entries.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", block.len());
        for (cid, c) in block {
            let mut utf16 = [0u16; 2];
            let units: String = c.encode_utf16(&mut utf16).iter().map(|u| format!("{u:04X}")).collect();
            let _ = writeln!(s, "<{cid:04X}> <{units}>");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    Stream::flate(Dict::new(), s.as_bytes())
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
        let cjk = &font.faces[1].to_unicode;
        assert_eq!(line.runs[0].cids.iter().map(|c| cjk[c]).collect::<String>(), "签名，");
        let latin = &font.faces[0].to_unicode;
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
        let subset = Face::parse(&raw, 0).unwrap();
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

    #[test]
    fn cmap_encodes_astral_characters_as_surrogates() {
        let map = BTreeMap::from([(1u16, 'A'), (2, '😀')]);
        let s = to_unicode_cmap(&map);
        let text = match &s.data {
            StreamData::Owned(d) => crate::filter::flate_decode(d, 1 << 20).unwrap(),
            StreamData::InFile { .. } => unreachable!(),
        };
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("<0001> <0041>"));
        assert!(text.contains("<0002> <D83DDE00>"));
    }
}
