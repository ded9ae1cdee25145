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
//! drops the `cmap` table, so the ToUnicode CMap is the only character map. The faces,
//! their choice per character and the subsetting are `signet-fonts`' (shared with
//! `signet-pdf`'s appearances); this writes the objects.

use std::collections::HashMap;
use std::fmt::Write as _;

use signet_fonts::{CJK, TextFaces};

use crate::error::Error;
use crate::pdf::{PdfWriter, Ref};

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

/// The faces and the glyphs used so far.
pub(crate) struct Fonts {
    faces: TextFaces,
    cache: HashMap<char, Glyph>,
}

impl Fonts {
    pub(crate) fn new() -> Result<Self, Error> {
        let faces = TextFaces::new().map_err(|e| Error::Font { font: "built-in", reason: e.to_string() })?;
        Ok(Fonts { faces, cache: HashMap::new() })
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
        let g = self.faces.set(c);
        let face = if g.face == CJK { FaceId::Cjk } else { FaceId::Latin };
        let glyph = Glyph { ch: g.ch, face, cid: g.cid, advance: g.advance };
        self.cache.insert(c, glyph);
        glyph
    }

    /// The faces that set at least one glyph, with their resource index.
    pub(crate) fn used_faces(&self) -> Vec<FaceId> {
        [FaceId::Latin, FaceId::Cjk].into_iter().filter(|id| self.faces.faces[*id as usize].used()).collect()
    }

    /// Writes the font objects of `face` (subset, descriptor, CID font, CMap, Type0) into
    /// the object `type0`.
    pub(crate) fn write(&self, id: FaceId, type0: Ref, pdf: &mut PdfWriter) -> Result<(), Error> {
        let f = &self.faces.faces[id as usize];
        let subset = f
            .subset()
            .map_err(|e| Error::Font { font: f.postscript_name(), reason: format!("subsetting failed: {e}") })?;
        let base_font = f.base_font();
        let scale = 1000.0 / f.units_per_em();
        let per_mille = |v: f64| (v * scale).round() as i64;

        let font_file = pdf.add_stream(&format!("/Length1 {}", subset.len()), &subset);

        let face = f.face();
        let bbox = face.global_bounding_box();
        let (ascent, descent) = (f64::from(face.ascender()), f64::from(face.descender()));
        let cap_height = face.capital_height().map_or(ascent, f64::from);
        let weight = f64::from(face.weight().to_number());
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
        for (i, gid) in f.used_glyphs().enumerate() {
            if i > 0 {
                widths.push(' ');
            }
            let _ = write!(widths, "{}", (f.advance(gid) * 1000.0).round() as i64);
        }
        let cid_font = pdf.add_object(&format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base_font} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {descriptor} /W [0 [{widths}]] /CIDToGIDMap /Identity >>"
        ));
        let cmap = pdf.add_stream("", f.to_unicode_cmap().as_bytes());
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use signet_fonts::LATIN;

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
        assert_eq!(g[0].ch, signet_fonts::REPLACEMENT);
        assert_eq!(fonts.faces.faces[LATIN].to_unicode().get(&g[0].cid), Some(&'?'));
    }
}
