//! The two embedded fonts and the glyphs the certificate uses from them.
//!
//! Droid Sans Fallback covers CJK but has no ASCII letters or digits, so Latin text (names,
//! addresses, digests, every English label) is set in DejaVu Sans, and each character takes
//! the first face that has it: DejaVu Sans, except that CJK characters go to Droid Sans
//! Fallback first so that Chinese punctuation keeps its full-width shapes.
//!
//! Each face becomes a Type0 font with Identity-H encoding over a CIDFontType2 descendant
//! (ISO 32000-2 §9.7), subset to the glyphs used, with a ToUnicode CMap (§9.10.3) so that
//! the text can be extracted and searched. The subset's glyph ids are the CIDs
//! (`/CIDToGIDMap /Identity`); the subsetter renumbers glyphs from 0 in first-use order and
//! drops the `cmap` table, so the ToUnicode CMap is the only character map. (The same
//! construction as `signet-pdf`'s appearance font, for two faces.)

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use crate::error::Error;
use crate::pdf::{PdfWriter, Ref};

use signet_fonts::{DEJAVU_SANS, DROID_SANS_FALLBACK, is_cjk};

/// Drawn for characters neither face has.
const REPLACEMENT: char = '?';

/// Which embedded face a glyph comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaceId {
    Latin = 0,
    Cjk = 1,
}

impl FaceId {
    /// The font's name in page resources.
    pub(crate) fn resource_name(self) -> &'static str {
        match self {
            FaceId::Latin => "F0",
            FaceId::Cjk => "F1",
        }
    }
}

/// A character as set: its face, its CID in that face's subset and its advance width in
/// units of the font size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Glyph {
    pub(crate) ch: char,
    pub(crate) face: FaceId,
    pub(crate) cid: u16,
    pub(crate) advance: f64,
}

struct EmbeddedFace {
    data: &'static [u8],
    postscript_name: &'static str,
    face: Face<'static>,
    units_per_em: f64,
    remapper: GlyphRemapper,
    /// Subset glyph id (the CID) → the character it was first used for.
    to_unicode: BTreeMap<u16, char>,
}

impl EmbeddedFace {
    fn parse(data: &'static [u8], postscript_name: &'static str) -> Result<Self, Error> {
        let face = Face::parse(data, 0).map_err(|e| Error::Font { font: postscript_name, reason: e.to_string() })?;
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

    fn glyph_index(&self, c: char) -> Option<GlyphId> {
        self.face.glyph_index(c).filter(|g| g.0 != 0)
    }

    fn advance(&self, gid: GlyphId) -> f64 {
        f64::from(self.face.glyph_hor_advance(gid).unwrap_or(0)) / self.units_per_em
    }

    fn used(&self) -> bool {
        self.remapper.num_gids() > 1
    }
}

/// The faces and the glyphs used so far.
pub(crate) struct Fonts {
    faces: [EmbeddedFace; 2],
    cache: HashMap<char, Glyph>,
}

impl Fonts {
    pub(crate) fn new() -> Result<Self, Error> {
        Ok(Fonts {
            faces: [
                EmbeddedFace::parse(DEJAVU_SANS, "DejaVuSans")?,
                EmbeddedFace::parse(DROID_SANS_FALLBACK, "DroidSansFallbackFull")?,
            ],
            cache: HashMap::new(),
        })
    }

    /// Sets `text` one character at a time (no shaping, no kerning). Line feeds are kept
    /// (with no width) for the line breaker; tabs become spaces; other control characters
    /// are dropped; characters neither face has become `?`.
    pub(crate) fn shape(&mut self, text: &str) -> Vec<Glyph> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '\n' => out.push(Glyph { ch: '\n', face: FaceId::Latin, cid: 0, advance: 0.0 }),
                '\t' => out.push(self.glyph(' ')),
                c if c.is_control() => {}
                c => out.push(self.glyph(c)),
            }
        }
        out
    }

    fn glyph(&mut self, c: char) -> Glyph {
        if let Some(g) = self.cache.get(&c) {
            return *g;
        }
        let order = if is_cjk(c) { [FaceId::Cjk, FaceId::Latin] } else { [FaceId::Latin, FaceId::Cjk] };
        let found = order.into_iter().find_map(|id| self.faces[id as usize].glyph_index(c).map(|gid| (id, c, gid)));
        let (face, ch, gid) = found.unwrap_or_else(|| {
            let gid = self.faces[0].glyph_index(REPLACEMENT).unwrap_or(GlyphId(0));
            (FaceId::Latin, REPLACEMENT, gid)
        });
        let f = &mut self.faces[face as usize];
        let cid = f.remapper.remap(gid.0);
        f.to_unicode.entry(cid).or_insert(ch);
        let glyph = Glyph { ch, face, cid, advance: f.advance(gid) };
        self.cache.insert(c, glyph);
        glyph
    }

    /// The faces that set at least one glyph, with their resource index.
    pub(crate) fn used_faces(&self) -> Vec<FaceId> {
        [FaceId::Latin, FaceId::Cjk].into_iter().filter(|id| self.faces[*id as usize].used()).collect()
    }

    /// Writes the font objects of `face` (subset, descriptor, CID font, CMap, Type0) into
    /// the object `type0`.
    pub(crate) fn write(&self, id: FaceId, type0: Ref, pdf: &mut PdfWriter) -> Result<(), Error> {
        let f = &self.faces[id as usize];
        let subset = subsetter::subset(f.data, 0, &f.remapper)
            .map_err(|e| Error::Font { font: f.postscript_name, reason: format!("subsetting failed: {e}") })?;
        let base_font = format!("{}+{}", subset_tag(&f.remapper), f.postscript_name);
        let scale = 1000.0 / f.units_per_em;
        let per_mille = |v: f64| (v * scale).round() as i64;

        let font_file = pdf.add_stream(&format!("/Length1 {}", subset.len()), &subset);

        let bbox = f.face.global_bounding_box();
        let (ascent, descent) = (f64::from(f.face.ascender()), f64::from(f.face.descender()));
        let cap_height = f.face.capital_height().map_or(ascent, f64::from);
        let weight = f64::from(f.face.weight().to_number());
        // The usual estimate from the weight class; viewers only use it for substitution.
        let stem_v = (10.0 + 220.0 * (weight - 50.0) / 900.0).round() as i64;
        let descriptor = pdf.add_object(&format!(
            "<< /Type /FontDescriptor /FontName /{base_font} /Flags 4 /FontBBox [{} {} {} {}] /ItalicAngle 0 \
             /Ascent {} /Descent {} /CapHeight {} /StemV {stem_v} /FontFile2 {font_file} >>",
            per_mille(f64::from(bbox.x_min)),
            per_mille(f64::from(bbox.y_min)),
            per_mille(f64::from(bbox.x_max)),
            per_mille(f64::from(bbox.y_max)),
            per_mille(ascent),
            per_mille(descent),
            per_mille(cap_height),
        ));

        // Widths of the glyphs shown, in CID order. The subsetter appends the components of
        // composite glyphs after these; they are never shown, so they need no width.
        let mut widths = String::new();
        for (i, gid) in f.remapper.remapped_gids().enumerate() {
            if i > 0 {
                widths.push(' ');
            }
            let _ = write!(widths, "{}", (f.advance(GlyphId(gid)) * 1000.0).round() as i64);
        }
        let cid_font = pdf.add_object(&format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base_font} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {descriptor} /W [0 [{widths}]] /CIDToGIDMap /Identity >>"
        ));
        let cmap = pdf.add_stream("", to_unicode_cmap(&f.to_unicode).as_bytes());
        pdf.set_object(
            type0,
            &format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /{base_font} /Encoding /Identity-H \
                 /DescendantFonts [{cid_font}] /ToUnicode {cmap} >>"
            ),
        );
        Ok(())
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
fn to_unicode_cmap(map: &BTreeMap<u16, char>) -> String {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = map.iter().collect();
    // At most 100 entries per bfchar block (the CMap specification's limit).
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
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn latin_and_cjk_come_from_their_faces() {
        let mut fonts = Fonts::new().unwrap();
        let g = fonts.shape("A签，\t\u{7}\n");
        let faces: Vec<FaceId> = g.iter().map(|g| g.face).collect();
        assert_eq!(faces, [FaceId::Latin, FaceId::Cjk, FaceId::Cjk, FaceId::Latin, FaceId::Latin]);
        assert_eq!(g[3].ch, ' ');
        assert_eq!(g[4].ch, '\n');
        assert!(g.iter().take(4).all(|g| g.advance > 0.2));
        assert_eq!(fonts.used_faces(), [FaceId::Latin, FaceId::Cjk]);
    }

    #[test]
    fn digits_have_equal_widths() {
        // digests are set in the proportional face; equal digit widths keep them tidy
        let mut fonts = Fonts::new().unwrap();
        let w: Vec<f64> = fonts.shape("0123456789").iter().map(|g| g.advance).collect();
        assert!(w.iter().all(|a| (a - w[0]).abs() < 1e-9), "{w:?}");
    }

    #[test]
    fn unknown_characters_become_question_marks() {
        let mut fonts = Fonts::new().unwrap();
        // a private-use character neither face has
        let g = fonts.shape("\u{E000}");
        assert_eq!(g[0].ch, REPLACEMENT);
        assert_eq!(fonts.faces[0].to_unicode.get(&g[0].cid), Some(&'?'));
    }

    #[test]
    fn cmap_encodes_astral_characters_as_surrogates() {
        let text = to_unicode_cmap(&BTreeMap::from([(1u16, 'A'), (2, '𠀀')]));
        assert!(text.contains("<0001> <0041>"));
        assert!(text.contains("<0002> <D840DC00>"));
    }
}
