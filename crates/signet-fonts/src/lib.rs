//! The fonts Signet embeds in what it draws, so that nothing depends on the fonts installed
//! on a machine: signature and form-field appearances (`signet-pdf`), seals (`signet-seal`)
//! and completion certificates (`signet-report`). They live here, under the crates that use
//! them, so that a binary holds one copy of each (the two are 4.8 MB together).
//!
//! Text is set with [`DEJAVU_SANS`] and, for the characters it lacks, [`DROID_SANS_FALLBACK`]
//! (which in turn has no ASCII letters or digits): between them, Latin, Greek, Cyrillic and
//! Chinese, Japanese and Korean text of everyday use ([`TextFaces`] chooses the face per
//! character and keeps the subsets, [`FaceSubset`]). `fonts/README.md` says where each file
//! comes from and under which licence.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use subsetter::GlyphRemapper;
pub use ttf_parser::{Face, GlyphId};

/// *DejaVu Sans* 2.37 (Bitstream Vera licence, `fonts/LICENSE-DejaVu.txt`): Latin, Greek,
/// Cyrillic and many symbols; no CJK.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// *Droid Sans Fallback* (Apache License 2.0, `fonts/LICENSE-DroidSansFallback.txt`): the
/// ideographs of GB 2312, Big5 and CJK Extension A, kana, bopomofo, CJK punctuation and the
/// full-width forms; no ASCII letters or digits.
pub static DROID_SANS_FALLBACK: &[u8] = include_bytes!("../fonts/DroidSansFallbackFull.ttf");

/// Whether `c` is a CJK character (ideographs, radicals, kana, bopomofo, CJK punctuation,
/// the half- and full-width forms): set from [`DROID_SANS_FALLBACK`] first, so that Chinese
/// punctuation such as `，` keeps its full-width shape where DejaVu Sans has a glyph too.
/// Every other character is set from [`DEJAVU_SANS`] first.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF      // radicals
        | 0x3000..=0x312F    // CJK symbols and punctuation, kana, bopomofo
        | 0x3190..=0x31FF
        | 0x3400..=0x4DBF    // Extension A
        | 0x4E00..=0x9FFF    // unified ideographs
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0xFE30..=0xFE4F    // compatibility forms
        | 0xFF00..=0xFFEF    // half-width and full-width forms
        | 0x20000..=0x3FFFF)
}

/// Drawn for characters neither face has a glyph for.
pub const REPLACEMENT: char = '?';

/// One embedded face and the glyphs used from it so far: a font subset in the making, for a
/// Type0 font with Identity-H encoding over a CIDFontType2 (ISO 32000-2 §9.7) whose CIDs are
/// the subset's glyph ids (`/CIDToGIDMap /Identity`). The subsetter renumbers glyphs from 0
/// and drops the `cmap` table, so the ToUnicode CMap ([`FaceSubset::to_unicode_cmap`]) is the
/// only character map. `signet-pdf` and `signet-report` write the PDF objects, each in its
/// own way.
pub struct FaceSubset {
    data: &'static [u8],
    postscript_name: &'static str,
    face: Face<'static>,
    units_per_em: f64,
    remapper: GlyphRemapper,
    /// Subset glyph id (the CID) → the character it was first used for.
    to_unicode: BTreeMap<u16, char>,
}

impl FaceSubset {
    /// Reads the face in `data` (a TrueType font), known in PDF as `postscript_name`.
    pub fn parse(data: &'static [u8], postscript_name: &'static str) -> Result<Self, ttf_parser::FaceParsingError> {
        let face = Face::parse(data, 0)?;
        let units_per_em = f64::from(face.units_per_em().max(1));
        Ok(FaceSubset {
            data,
            postscript_name,
            face,
            units_per_em,
            remapper: GlyphRemapper::new(),
            to_unicode: BTreeMap::new(),
        })
    }

    /// The face, for its metrics.
    pub fn face(&self) -> &Face<'static> {
        &self.face
    }

    /// The PostScript name given at [`FaceSubset::parse`].
    pub fn postscript_name(&self) -> &'static str {
        self.postscript_name
    }

    /// Font units per em (at least 1).
    pub fn units_per_em(&self) -> f64 {
        self.units_per_em
    }

    /// The glyph for `c`, if the face has one (glyph 0 is `.notdef`, no glyph).
    pub fn glyph_index(&self, c: char) -> Option<GlyphId> {
        self.face.glyph_index(c).filter(|g| g.0 != 0)
    }

    /// Advance width of `gid` in units of the font size.
    pub fn advance(&self, gid: GlyphId) -> f64 {
        f64::from(self.face.glyph_hor_advance(gid).unwrap_or(0)) / self.units_per_em
    }

    /// Whether a glyph of this face was used.
    pub fn used(&self) -> bool {
        !self.to_unicode.is_empty()
    }

    /// Takes glyph `gid` into the subset, shown for `c`: its CID.
    pub fn use_glyph(&mut self, gid: GlyphId, c: char) -> u16 {
        let cid = self.remapper.remap(gid.0);
        self.to_unicode.entry(cid).or_insert(c);
        cid
    }

    /// CID → the character it shows.
    pub fn to_unicode(&self) -> &BTreeMap<u16, char> {
        &self.to_unicode
    }

    /// The original glyph ids of the subset, in CID order (for the widths).
    pub fn used_glyphs(&self) -> impl Iterator<Item = GlyphId> + '_ {
        self.remapper.remapped_gids().map(GlyphId)
    }

    /// The subset font file (TrueType, for `/FontFile2`).
    pub fn subset(&self) -> Result<Vec<u8>, subsetter::Error> {
        subsetter::subset(self.data, 0, &self.remapper)
    }

    /// `/BaseFont`: the six-letter subset tag (§9.9.2), derived from the glyph set so that
    /// equal subsets get equal names and different ones (almost always) differ, `+` and the
    /// PostScript name.
    pub fn base_font(&self) -> String {
        // FNV-1a over the original glyph ids.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for gid in self.remapper.remapped_gids() {
            for b in gid.to_be_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        let tag: String = (0..6)
            .map(|_| {
                let c = char::from(b'A' + (h % 26) as u8);
                h /= 26;
                c
            })
            .collect();
        format!("{tag}+{}", self.postscript_name)
    }

    /// The ToUnicode CMap (§9.10.3) of the glyphs used.
    pub fn to_unicode_cmap(&self) -> String {
        to_unicode_cmap(&self.to_unicode)
    }
}

/// A ToUnicode CMap (§9.10.3) mapping each two-byte CID to its character in UTF-16BE.
pub fn to_unicode_cmap(map: &BTreeMap<u16, char>) -> String {
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

/// Index of DejaVu Sans in [`TextFaces`].
pub const LATIN: usize = 0;
/// Index of Droid Sans Fallback in [`TextFaces`].
pub const CJK: usize = 1;

/// A character as set: the face (index), the character shown (`?` for one neither face has),
/// its CID in that face's subset and its advance width in units of the font size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SetGlyph {
    /// [`LATIN`] or [`CJK`].
    pub face: usize,
    /// The character shown.
    pub ch: char,
    /// Its CID in the face's subset.
    pub cid: u16,
    /// Its advance width in units of the font size.
    pub advance: f64,
}

/// Text as Signet sets it: DejaVu Sans ([`LATIN`]) and Droid Sans Fallback ([`CJK`]), each
/// character from the first face that has it, CJK characters ([`is_cjk`]) trying the CJK
/// face first.
pub struct TextFaces {
    /// [`LATIN`], [`CJK`].
    pub faces: [FaceSubset; 2],
}

impl TextFaces {
    /// Both faces, nothing used yet.
    pub fn new() -> Result<Self, ttf_parser::FaceParsingError> {
        Ok(TextFaces {
            faces: [
                FaceSubset::parse(DEJAVU_SANS, "DejaVuSans")?,
                FaceSubset::parse(DROID_SANS_FALLBACK, "DroidSansFallbackFull")?,
            ],
        })
    }

    /// Sets `c` (a character to show, not a control character).
    pub fn set(&mut self, c: char) -> SetGlyph {
        let order = if is_cjk(c) { [CJK, LATIN] } else { [LATIN, CJK] };
        let found = order.into_iter().find_map(|i| self.faces[i].glyph_index(c).map(|gid| (i, c, gid)));
        let (face, ch, gid) = found
            .unwrap_or_else(|| (LATIN, REPLACEMENT, self.faces[LATIN].glyph_index(REPLACEMENT).unwrap_or(GlyphId(0))));
        let f = &mut self.faces[face];
        let cid = f.use_glyph(gid, ch);
        SetGlyph { face, ch, cid, advance: f.advance(gid) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// The files are the ones `fonts/README.md` names (a changed file fails here first).
    #[test]
    fn the_files_are_the_documented_ones() {
        assert_eq!(DEJAVU_SANS.len(), 759_720);
        assert_eq!(DROID_SANS_FALLBACK.len(), 4_033_420);
        assert_eq!(&DEJAVU_SANS[..4], b"\0\x01\0\0");
        assert_eq!(&DROID_SANS_FALLBACK[..4], b"\0\x01\0\0");
    }

    #[test]
    fn faces_are_chosen_per_character_and_subset() {
        let mut t = TextFaces::new().unwrap();
        let set: Vec<(usize, char)> = "A签，é\u{10FFFD}".chars().map(|c| t.set(c)).map(|g| (g.face, g.ch)).collect();
        assert_eq!(set, [(LATIN, 'A'), (CJK, '签'), (CJK, '，'), (LATIN, 'é'), (LATIN, '?')]);
        let latin = &t.faces[LATIN];
        assert!(latin.used() && latin.to_unicode().values().collect::<String>().contains("A"));
        let name = latin.base_font();
        assert!(name.ends_with("+DejaVuSans") && name[..6].chars().all(|c| c.is_ascii_uppercase()), "{name}");
        let subset = latin.subset().unwrap();
        assert!(Face::parse(&subset, 0).is_ok() && subset.len() < DEJAVU_SANS.len() / 10);
    }

    #[test]
    fn cmap_encodes_astral_characters_as_surrogates() {
        let text = to_unicode_cmap(&BTreeMap::from([(1u16, 'A'), (2, '😀')]));
        assert!(text.contains("<0001> <0041>"));
        assert!(text.contains("<0002> <D83DDE00>"));
    }

    #[test]
    fn cjk_characters() {
        for c in ['签', '名', '，', '。', 'あ', 'Ａ', '㐀'] {
            assert!(is_cjk(c), "{c}");
        }
        for c in ['A', 'é', 'Я', ',', '?', ' '] {
            assert!(!is_cjk(c), "{c}");
        }
    }
}
