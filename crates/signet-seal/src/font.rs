//! Glyph lookup and outlines, placed into a cell of the seal and added to a path.

use tiny_skia::PathBuilder;
use ttf_parser::{Face, GlyphId, OutlineBuilder};

use crate::{Error, TextField};

/// The ideograph whose ink box stands for every character's: 国 fills its em square as
/// fully as an ideograph does, so mapping its box onto a cell makes the text fill the cell.
const REFERENCE_CHAR: char = '国';

/// A parsed font and the box, in font units, that is mapped onto a character cell.
pub(crate) struct Font<'a> {
    face: Face<'a>,
    /// x0, y0, x1, y1 of the reference ideograph's ink, y up.
    reference: [f32; 4],
}

/// One character to draw: a glyph, or a blank (a space keeps its place).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Glyph {
    Blank,
    Outline(GlyphId),
}

/// How a glyph is centred horizontally in its cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Centre {
    /// On the middle of its advance width, as ideographs and punctuation are set.
    Advance,
    /// On the middle of its ink, for digits and letters set at a fixed pitch.
    Ink,
}

/// Where a glyph goes: the cell's centre on the canvas, the canvas directions of the glyph's
/// x and y axes (unit vectors; y up in the glyph, so `up` points to the glyph's top), and the
/// cell's size in pixels along them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cell {
    pub(crate) centre: (f32, f32),
    pub(crate) right: (f32, f32),
    pub(crate) up: (f32, f32),
    pub(crate) width: f32,
    pub(crate) height: f32,
}

impl<'a> Font<'a> {
    pub(crate) fn parse(data: &'a [u8]) -> Result<Font<'a>, Error> {
        let face = Face::parse(data, 0).map_err(|e| Error::Font(e.to_string()))?;
        let em = f32::from(face.units_per_em());
        if em <= 0.0 {
            return Err(Error::Font("its units per em are not positive".into()));
        }
        let reference = match face.glyph_index(REFERENCE_CHAR).and_then(|g| face.glyph_bounding_box(g)) {
            Some(r) if r.width() > 0 && r.height() > 0 => {
                [f32::from(r.x_min), f32::from(r.y_min), f32::from(r.x_max), f32::from(r.y_max)]
            }
            // A font without ideographs: its em square, from the descender up.
            _ => {
                let descender = f32::from(face.descender());
                [0.0, descender, em, descender + em]
            }
        };
        Ok(Font { face, reference })
    }

    /// The glyph for `c`, or the error naming it. An ASCII character the font lacks is
    /// looked up as its full-width form; U+0020 and U+3000 are blanks.
    pub(crate) fn glyph(&self, c: char, field: TextField) -> Result<Glyph, Error> {
        if c == ' ' || c == '\u{3000}' {
            return Ok(Glyph::Blank);
        }
        let found = |c: char| self.face.glyph_index(c).filter(|g| g.0 != 0);
        let full_width = || {
            let c = u32::from(c);
            if (0x21..=0x7E).contains(&c) { char::from_u32(c + 0xFEE0).and_then(found) } else { None }
        };
        match found(c).or_else(full_width) {
            Some(g) => Ok(Glyph::Outline(g)),
            None => Err(Error::MissingGlyph { field, character: c }),
        }
    }

    /// The width of a glyph's ink relative to the reference ideograph's height (0 for a
    /// blank), for fitting digits and letters.
    pub(crate) fn ink_aspect(&self, glyph: Glyph) -> f32 {
        match glyph {
            Glyph::Blank => 0.0,
            Glyph::Outline(g) => match self.face.glyph_bounding_box(g) {
                Some(r) => f32::from(r.width()) / self.reference_height(),
                None => 0.0,
            },
        }
    }

    /// Width over height of the reference ideograph's ink: a cell this shape draws glyphs
    /// without distorting them.
    pub(crate) fn reference_aspect(&self) -> f32 {
        (self.reference[2] - self.reference[0]) / self.reference_height()
    }

    fn reference_height(&self) -> f32 {
        self.reference[3] - self.reference[1]
    }

    /// Adds `glyph` to `path`, its reference box scaled onto `cell`.
    pub(crate) fn place(&self, glyph: Glyph, centre: Centre, cell: &Cell, path: &mut PathBuilder) {
        let Glyph::Outline(id) = glyph else { return };
        let [rx0, ry0, rx1, ry1] = self.reference;
        let x_mid = match centre {
            Centre::Advance => match self.face.glyph_hor_advance(id) {
                Some(advance) => f32::from(advance) / 2.0,
                None => (rx0 + rx1) / 2.0,
            },
            Centre::Ink => match self.face.glyph_bounding_box(id) {
                Some(r) => (f32::from(r.x_min) + f32::from(r.x_max)) / 2.0,
                None => (rx0 + rx1) / 2.0,
            },
        };
        let sx = cell.width / (rx1 - rx0);
        let sy = cell.height / (ry1 - ry0);
        let y_mid = (ry0 + ry1) / 2.0;
        let mut sink = Sink {
            path,
            map: Affine {
                xx: sx * cell.right.0,
                xy: sx * cell.right.1,
                yx: sy * cell.up.0,
                yy: sy * cell.up.1,
                x0: x_mid,
                y0: y_mid,
                cx: cell.centre.0,
                cy: cell.centre.1,
            },
        };
        // A glyph without an outline (a blank the font maps) draws nothing.
        let _ = self.face.outline_glyph(id, &mut sink);
    }

    /// Adds the font's `.notdef` glyph (what a renderer shows for a missing character) to
    /// `path`, for tests that compare text against it.
    #[cfg(test)]
    pub(crate) fn place_notdef(&self, cell: &Cell, path: &mut PathBuilder) {
        self.place(Glyph::Outline(GlyphId(0)), Centre::Advance, cell, path);
    }
}

/// Font units to canvas pixels: the point (x0, y0) goes to (cx, cy), a font unit along x
/// to (xx, xy), along y to (yx, yy).
struct Affine {
    xx: f32,
    xy: f32,
    yx: f32,
    yy: f32,
    x0: f32,
    y0: f32,
    cx: f32,
    cy: f32,
}

impl Affine {
    fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.x0, y - self.y0);
        (self.cx + dx * self.xx + dy * self.yx, self.cy + dx * self.xy + dy * self.yy)
    }
}

struct Sink<'p> {
    path: &'p mut PathBuilder,
    map: Affine,
}

impl OutlineBuilder for Sink<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.map.apply(x, y);
        self.path.move_to(x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.map.apply(x, y);
        self.path.line_to(x, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (x1, y1) = self.map.apply(x1, y1);
        let (x, y) = self.map.apply(x, y);
        self.path.quad_to(x1, y1, x, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (x1, y1) = self.map.apply(x1, y1);
        let (x2, y2) = self.map.apply(x2, y2);
        let (x, y) = self.map.apply(x, y);
        self.path.cubic_to(x1, y1, x2, y2, x, y);
    }

    fn close(&mut self) {
        self.path.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EMBEDDED_FONT;

    #[test]
    fn embedded_font_covers_seal_text_and_maps_ascii_to_full_width() {
        let font = Font::parse(EMBEDDED_FONT).unwrap();
        for c in "北京某某科技有限公司合同专用章财务发票之印张三".chars() {
            assert!(matches!(font.glyph(c, TextField::Text), Ok(Glyph::Outline(_))), "{c}");
        }
        let Ok(Glyph::Outline(digit)) = font.glyph('9', TextField::BottomCode) else { panic!("no 9") };
        assert_eq!(Some(digit), font.face.glyph_index('９'));
        assert_eq!(font.glyph(' ', TextField::Text).unwrap(), Glyph::Blank);
        assert!(matches!(
            font.glyph('\u{E000}', TextField::Text),
            Err(Error::MissingGlyph { character: '\u{E000}', .. })
        ));
    }

    #[test]
    fn a_font_that_is_not_one_is_an_error() {
        assert!(matches!(Font::parse(b"not a font"), Err(Error::Font(_))));
        assert!(matches!(Font::parse(&[]), Err(Error::Font(_))));
    }
}
