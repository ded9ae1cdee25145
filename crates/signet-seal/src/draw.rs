//! Seal layout: ring or frame, text along arcs and in cells, star; drawn as coverage (alpha)
//! and coloured at the end, so every pixel has exactly the seal colour.
//!
//! Proportions follow the conventional Chinese seals: for a round seal of diameter `d`, a
//! ring of `d/28`, name characters about `0.17 d` high spread over 150° to 235° of the top arc,
//! a star `0.3 d` across, the horizontal text about `0.1 d` high below it, the code about
//! `0.05 d` high spread over at most 100° of the bottom arc.

use std::f32::consts::{PI, TAU};

use tiny_skia::{FillRule, LineJoin, Mask, Path, PathBuilder, Rect, Stroke, Transform};

use crate::font::{Cell, Centre, Font, Glyph};
use crate::{Error, MAX_CODE_CHARS, MAX_HORIZONTAL_CHARS, MAX_NAME_CHARS, SealShape, SealSpec, TextField, TextProblem};

/// Draws `spec`: width, height and one coverage byte per pixel, row by row.
pub(crate) fn draw(spec: &SealSpec, font: &Font) -> Result<(u32, u32, Vec<u8>), Error> {
    let canvas = match spec.shape {
        SealShape::Round => round(spec, font)?,
        SealShape::Oval => oval(spec, font)?,
        SealShape::Square => square(spec, font)?,
    };
    Ok((canvas.mask.width(), canvas.mask.height(), canvas.mask.take()))
}

/// RGBA pixels of the seal colour with `alpha` as their alpha. Transparent pixels keep the
/// colour too, so that scaling the image does not darken its edges.
pub(crate) fn colorize(alpha: &[u8], color: [u8; 3]) -> Vec<u8> {
    let [r, g, b] = color;
    alpha.iter().flat_map(|&a| [r, g, b, a]).collect()
}

fn round(spec: &SealSpec, font: &Font) -> Result<Canvas, Error> {
    let name = glyphs(font, &line(&spec.text, TextField::Text, MAX_NAME_CHARS)?, TextField::Text)?;
    let horizontal = optional(font, spec.horizontal.as_deref(), TextField::Horizontal, MAX_HORIZONTAL_CHARS)?;
    let code = optional(font, spec.bottom_code.as_deref(), TextField::BottomCode, MAX_CODE_CHARS)?;

    let size = spec.size_px as f32;
    let mut canvas = Canvas::new(spec.size_px, spec.size_px)?;
    let pad = margin(size);
    let d = size - 2.0 * pad;
    let (cx, cy) = (size / 2.0, size / 2.0);
    let outer = d / 2.0;
    let inner = outer - d / 28.0;
    canvas.ring(cx, cy, outer, outer, inner, inner);

    let track = |h: f32| Ellipse::new(cx, cy, inner - 0.03 * d - h / 2.0, inner - 0.03 * d - h / 2.0);
    canvas.arc_text(font, &name, 0.165 * d, (150f32.to_radians(), 235f32.to_radians()), track);

    if spec.star {
        canvas.star(cx, cy, 0.15 * d);
    }
    if let Some(horizontal) = &horizontal {
        let y = if spec.star { cy + 0.23 * d } else { cy };
        canvas.straight_text(font, horizontal, Centre::Advance, (cx, y), 0.105 * d, 0.46 * d);
    }
    if let Some(code) = &code {
        let h = 0.052 * d;
        canvas.bottom_arc_text(font, code, (cx, cy), inner - 0.025 * d - h / 2.0, h);
    }
    Ok(canvas)
}

fn oval(spec: &SealSpec, font: &Font) -> Result<Canvas, Error> {
    let name = glyphs(font, &line(&spec.text, TextField::Text, MAX_NAME_CHARS)?, TextField::Text)?;
    let horizontal = optional(font, spec.horizontal.as_deref(), TextField::Horizontal, MAX_HORIZONTAL_CHARS)?;
    let code = optional(font, spec.bottom_code.as_deref(), TextField::BottomCode, MAX_CODE_CHARS)?;

    let height_px = oval_height(spec.size_px);
    let mut canvas = Canvas::new(spec.size_px, height_px)?;
    let (width, height) = (spec.size_px as f32, height_px as f32);
    let pad = margin(width);
    let w = width - 2.0 * pad;
    let (cx, cy) = (width / 2.0, height / 2.0);
    let (a, b) = (w / 2.0, height / 2.0 - pad);
    let ring = w / 36.0;
    let (ai, bi) = (a - ring, b - ring);
    canvas.ring(cx, cy, a, b, ai, bi);

    let gap = 0.025 * w;
    let track = |h: f32| Ellipse::new(cx, cy, ai - gap - h / 2.0, bi - gap - h / 2.0);
    canvas.arc_text(font, &name, 0.115 * w, (130f32.to_radians(), 196f32.to_radians()), track);

    // The middle: star, code and horizontal text stacked, centred a little below the centre
    // since the name takes the top.
    let star_r = 0.08 * w;
    let (code_h, text_h, space) = (0.07 * w, 0.095 * w, 0.035 * w);
    let items =
        [spec.star.then_some(2.0 * star_r * 0.9), code.as_ref().map(|_| code_h), horizontal.as_ref().map(|_| text_h)];
    let heights: Vec<f32> = items.iter().flatten().copied().collect();
    let total = heights.iter().sum::<f32>() + space * heights.len().saturating_sub(1) as f32;
    let mut y = cy + 0.08 * w - total / 2.0;
    if let Some(h) = items[0] {
        // The star's centre sits below the middle of its box: its points reach higher
        // than its feet.
        canvas.star(cx, y + h * 0.53, star_r);
        y += h + space;
    }
    if let Some(code) = &code {
        canvas.straight_text(font, code, Centre::Ink, (cx, y + code_h / 2.0), code_h, 0.56 * w);
        y += code_h + space;
    }
    if let Some(horizontal) = &horizontal {
        canvas.straight_text(font, horizontal, Centre::Advance, (cx, y + text_h / 2.0), text_h, 0.5 * w);
    }
    Ok(canvas)
}

/// Height of an oval seal's image: three quarters of its width, as the 40 × 30 mm invoice
/// seal.
pub(crate) fn oval_height(width: u32) -> u32 {
    (width * 3).div_ceil(4)
}

fn square(spec: &SealSpec, font: &Font) -> Result<Canvas, Error> {
    let field = TextField::Text;
    if let Some(c) = spec.text.chars().find(|c| c.is_control()) {
        return Err(Error::Text { field, problem: TextProblem::ControlCharacter(c) });
    }
    let chars: Vec<char> = spec.text.trim().chars().collect();
    if chars.is_empty() {
        return Err(Error::Text { field, problem: TextProblem::Empty });
    }
    if let Some(&c) = chars.iter().find(|&&c| !is_cjk(c)) {
        return Err(Error::Text { field, problem: TextProblem::NotCjk(c) });
    }
    if chars.len() != 2 && chars.len() != 4 {
        return Err(Error::Text { field, problem: TextProblem::SquareCharacterCount(chars.len()) });
    }
    let glyphs = glyphs(font, &chars, field)?;

    let size = spec.size_px as f32;
    let mut canvas = Canvas::new(spec.size_px, spec.size_px)?;
    let pad = margin(size);
    let s = size - 2.0 * pad;
    let border = 0.075 * s;
    let radius = 0.07 * s;
    let mut frame = PathBuilder::new();
    rounded_rect(&mut frame, pad, pad, size - pad, size - pad, radius);
    let (i0, i1) = (pad + border, size - pad - border);
    rounded_rect(&mut frame, i0, i0, i1, i1, (radius - border).max(0.02 * s));
    canvas.fill(frame.finish(), FillRule::EvenOdd);

    // Cells in reading order: columns from the right, each top to bottom.
    let (t0, t1) = (i0 + 0.045 * s, i1 - 0.045 * s);
    let gutter = 0.04 * s;
    let half = (t1 - t0 - gutter) / 2.0;
    let (right_x, left_x) = (t1 - half / 2.0, t0 + half / 2.0);
    let (top_y, bottom_y, mid_y) = (t0 + half / 2.0, t1 - half / 2.0, (t0 + t1) / 2.0);
    let cells: Vec<((f32, f32), f32)> = if glyphs.len() == 2 {
        vec![((right_x, mid_y), t1 - t0), ((left_x, mid_y), t1 - t0)]
    } else {
        vec![((right_x, top_y), half), ((right_x, bottom_y), half), ((left_x, top_y), half), ((left_x, bottom_y), half)]
    };
    let mut text = PathBuilder::new();
    for (&glyph, &(centre, height)) in glyphs.iter().zip(&cells) {
        let cell = Cell { centre, right: (1.0, 0.0), up: (0.0, -1.0), width: half, height };
        font.place(glyph, Centre::Advance, &cell, &mut text);
    }
    canvas.text(text, 0.05 * half);
    Ok(canvas)
}

/// Ideographs (with 々 and 〇), kana and Hangul syllables: what a square seal holds.
fn is_cjk(c: char) -> bool {
    matches!(
        u32::from(c),
        0x3005 | 0x3007 | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF | 0x20000..=0x3134F
    )
}

/// Room left around the drawing so that anti-aliased edges are not cut by the image border.
fn margin(size: f32) -> f32 {
    (0.012 * size).max(1.5)
}

/// The characters of a line of text: no control characters, trimmed, not empty, at most
/// `max` long.
fn line(text: &str, field: TextField, max: usize) -> Result<Vec<char>, Error> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(Error::Text { field, problem: TextProblem::ControlCharacter(c) });
    }
    let chars: Vec<char> = text.trim().chars().collect();
    if chars.is_empty() {
        return Err(Error::Text { field, problem: TextProblem::Empty });
    }
    if chars.len() > max {
        return Err(Error::Text { field, problem: TextProblem::TooLong { chars: chars.len(), max } });
    }
    Ok(chars)
}

/// An optional line: absent when `None` or blank.
fn optional(font: &Font, text: Option<&str>, field: TextField, max: usize) -> Result<Option<Vec<Glyph>>, Error> {
    match text {
        Some(t) if !t.trim().is_empty() || t.chars().any(|c| c.is_control()) => {
            Ok(Some(glyphs(font, &line(t, field, max)?, field)?))
        }
        _ => Ok(None),
    }
}

fn glyphs(font: &Font, chars: &[char], field: TextField) -> Result<Vec<Glyph>, Error> {
    chars.iter().map(|&c| font.glyph(c, field)).collect()
}

/// An ellipse centred on (cx, cy) with semi-axes `a` (x) and `b` (y), walked clockwise from
/// its top by the angle `phi`: the point (cx + a sin φ, cy − b cos φ), φ = 0 at the top.
struct Ellipse {
    cx: f32,
    cy: f32,
    a: f32,
    b: f32,
    /// Arc length from φ = −π to φ = −π + i·STEP.
    lengths: Vec<f32>,
}

impl Ellipse {
    const SAMPLES: usize = 2048;
    const STEP: f32 = TAU / Self::SAMPLES as f32;

    fn new(cx: f32, cy: f32, a: f32, b: f32) -> Ellipse {
        let (a, b) = (a.max(1.0), b.max(1.0));
        let mut lengths = Vec::with_capacity(Self::SAMPLES + 1);
        let mut total = 0.0;
        lengths.push(0.0);
        for i in 0..Self::SAMPLES {
            let phi = -PI + (i as f32 + 0.5) * Self::STEP;
            total += Self::STEP * (a * a * phi.cos().powi(2) + b * b * phi.sin().powi(2)).sqrt();
            lengths.push(total);
        }
        Ellipse { cx, cy, a, b, lengths }
    }

    /// Arc length from φ = −π to `phi` (in −π..=π).
    fn length_at(&self, phi: f32) -> f32 {
        let x = ((phi + PI) / Self::STEP).clamp(0.0, Self::SAMPLES as f32);
        let i = (x.floor() as usize).min(Self::SAMPLES - 1);
        let f = x - i as f32;
        self.lengths[i] + f * (self.lengths[i + 1] - self.lengths[i])
    }

    /// The angle at arc length `s` from φ = −π.
    fn angle_at(&self, s: f32) -> f32 {
        let i = self.lengths.partition_point(|&l| l < s).clamp(1, Self::SAMPLES);
        let (l0, l1) = (self.lengths[i - 1], self.lengths[i]);
        let f = if l1 > l0 { ((s - l0) / (l1 - l0)).clamp(0.0, 1.0) } else { 0.0 };
        -PI + (i as f32 - 1.0 + f) * Self::STEP
    }

    fn point(&self, phi: f32) -> (f32, f32) {
        (self.cx + self.a * phi.sin(), self.cy - self.b * phi.cos())
    }

    /// Unit vector pointing away from the centre, square to the curve.
    fn outward(&self, phi: f32) -> (f32, f32) {
        unit(phi.sin() / self.a, -phi.cos() / self.b)
    }

    /// Unit vector along the curve, clockwise.
    fn clockwise(&self, phi: f32) -> (f32, f32) {
        unit(self.a * phi.cos(), self.b * phi.sin())
    }
}

fn unit(x: f32, y: f32) -> (f32, f32) {
    let n = x.hypot(y);
    if n > 0.0 { (x / n, y / n) } else { (1.0, 0.0) }
}

/// A coverage mask being drawn on.
struct Canvas {
    mask: Mask,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Result<Canvas, Error> {
        Mask::new(width, height).map(|mask| Canvas { mask }).ok_or(Error::Size { size_px: width })
    }

    fn fill(&mut self, path: Option<Path>, rule: FillRule) {
        if let Some(path) = path {
            self.mask.fill_path(&path, rule, true, Transform::identity());
        }
    }

    /// Fills glyph outlines, made bolder by a stroke of `embolden` pixels around them: the
    /// font is a regular weight, seal lettering is cut heavier.
    fn text(&mut self, glyphs: PathBuilder, embolden: f32) {
        let Some(path) = glyphs.finish() else { return };
        self.mask.fill_path(&path, FillRule::Winding, true, Transform::identity());
        let stroke = Stroke { width: embolden, line_join: LineJoin::Round, ..Stroke::default() };
        if embolden > 0.0 {
            self.fill(path.stroke(&stroke, 1.0), FillRule::Winding);
        }
    }

    /// The band between two concentric ellipses (circles when the semi-axes are equal).
    fn ring(&mut self, cx: f32, cy: f32, a: f32, b: f32, ai: f32, bi: f32) {
        let mut pb = PathBuilder::new();
        if let Some(outer) = Rect::from_ltrb(cx - a, cy - b, cx + a, cy + b) {
            pb.push_oval(outer);
        }
        if let Some(inner) = Rect::from_ltrb(cx - ai, cy - bi, cx + ai, cy + bi) {
            pb.push_oval(inner);
        }
        self.fill(pb.finish(), FillRule::EvenOdd);
    }

    /// A solid five-pointed star, one point up, its points on a circle of radius `r`.
    fn star(&mut self, cx: f32, cy: f32, r: f32) {
        // The inner corners of a regular star: r · sin 18° / sin 54°.
        let inner = r * 0.381_966;
        let mut pb = PathBuilder::new();
        for k in 0..10 {
            let angle = -PI / 2.0 + k as f32 * PI / 5.0;
            let radius = if k % 2 == 0 { r } else { inner };
            let (x, y) = (cx + radius * angle.cos(), cy + radius * angle.sin());
            if k == 0 { pb.move_to(x, y) } else { pb.line_to(x, y) }
        }
        pb.close();
        self.fill(pb.finish(), FillRule::Winding);
    }

    /// `glyphs` along the top of an ellipse, centred on its top, upright towards the rim,
    /// read clockwise. `height` is the wanted character height; it shrinks when the
    /// characters would be narrower than 0.62 of it. `track(h)` is the ellipse the middles of
    /// characters `h` high run along. The text covers at most `span.1` of arc angle, and a
    /// short text is spaced out to cover about `span.0`, as seal cutters do.
    fn arc_text(
        &mut self,
        font: &Font,
        glyphs: &[Glyph],
        height: f32,
        span: (f32, f32),
        track: impl Fn(f32) -> Ellipse,
    ) {
        let arc = |e: &Ellipse, angle: f32| e.length_at(angle / 2.0) - e.length_at(-angle / 2.0);
        let n = glyphs.len() as f32;
        let mut h = height;
        let (mut ellipse, mut pitch, mut width) = (track(h), 0.0, 0.0);
        for _ in 0..4 {
            ellipse = track(h);
            pitch = (arc(&ellipse, span.1) / n).min((arc(&ellipse, span.0) / n).max(h));
            width = (0.78 * pitch).min(0.78 * h);
            if width >= 0.62 * h {
                break;
            }
            h = width / 0.62;
        }
        let top = ellipse.length_at(0.0);
        let mut path = PathBuilder::new();
        for (i, &glyph) in glyphs.iter().enumerate() {
            let phi = ellipse.angle_at(top + (i as f32 - (n - 1.0) / 2.0) * pitch);
            let cell = Cell {
                centre: ellipse.point(phi),
                right: ellipse.clockwise(phi),
                up: ellipse.outward(phi),
                width,
                height: h,
            };
            font.place(glyph, Centre::Advance, &cell, &mut path);
        }
        self.text(path, 0.03 * h);
    }

    /// `glyphs` along the bottom of a circle, read left to right with their tops towards the
    /// centre, `height` high at the pitch of the widest.
    fn bottom_arc_text(&mut self, font: &Font, glyphs: &[Glyph], centre: (f32, f32), radius: f32, height: f32) {
        let n = glyphs.len() as f32;
        let widest = glyphs.iter().map(|&g| font.ink_aspect(g)).fold(0.0, f32::max) * height;
        let pitch = widest.max(0.3 * height) + 0.2 * height;
        // At most 100° of the bottom arc; wider codes are set narrower.
        let squeeze = (100f32.to_radians() * radius / (n * pitch)).min(1.0);
        let step = pitch * squeeze / radius;
        let mut path = PathBuilder::new();
        for (i, &glyph) in glyphs.iter().enumerate() {
            let phi = PI + ((n - 1.0) / 2.0 - i as f32) * step;
            let cell = Cell {
                centre: (centre.0 + radius * phi.sin(), centre.1 - radius * phi.cos()),
                right: (-phi.cos(), -phi.sin()),
                up: (-phi.sin(), phi.cos()),
                width: height * font.reference_aspect() * squeeze,
                height,
            };
            font.place(glyph, Centre::Ink, &cell, &mut path);
        }
        self.text(path, 0.03 * height);
    }

    /// `glyphs` in a straight line centred on `centre`, `height` high, at most `max_width`
    /// long. Ideographs (`Centre::Advance`) get cells a little narrower than high; digits and
    /// letters (`Centre::Ink`) the pitch of the widest and their own proportions.
    fn straight_text(
        &mut self,
        font: &Font,
        glyphs: &[Glyph],
        centre: Centre,
        at: (f32, f32),
        height: f32,
        max_width: f32,
    ) {
        let n = glyphs.len() as f32;
        let (pitch, width) = match centre {
            Centre::Advance => {
                let pitch = (0.98 * height).min(max_width / n);
                (pitch, (0.86 * height).min(0.92 * pitch))
            }
            Centre::Ink => {
                let widest = glyphs.iter().map(|&g| font.ink_aspect(g)).fold(0.0, f32::max) * height;
                let pitch = widest.max(0.3 * height) + 0.2 * height;
                let squeeze = (max_width / (n * pitch)).min(1.0);
                (pitch * squeeze, height * font.reference_aspect() * squeeze)
            }
        };
        let mut path = PathBuilder::new();
        for (i, &glyph) in glyphs.iter().enumerate() {
            let x = at.0 + (i as f32 - (n - 1.0) / 2.0) * pitch;
            let cell = Cell { centre: (x, at.1), right: (1.0, 0.0), up: (0.0, -1.0), width, height };
            font.place(glyph, centre, &cell, &mut path);
        }
        self.text(path, 0.035 * height);
    }
}

/// A rectangle with corners rounded to `r` (quarter circles as cubic Béziers).
fn rounded_rect(pb: &mut PathBuilder, x0: f32, y0: f32, x1: f32, y1: f32, r: f32) {
    // Control point distance for a quarter circle: 4/3 · tan(π/8).
    let k = r * 0.552_285;
    pb.move_to(x0 + r, y0);
    pb.line_to(x1 - r, y0);
    pb.cubic_to(x1 - r + k, y0, x1, y0 + r - k, x1, y0 + r);
    pb.line_to(x1, y1 - r);
    pb.cubic_to(x1, y1 - r + k, x1 - r + k, y1, x1 - r, y1);
    pb.line_to(x0 + r, y1);
    pb.cubic_to(x0 + r - k, y1, x0, y1 - r + k, x0, y1 - r);
    pb.line_to(x0, y0 + r);
    pb.cubic_to(x0, y0 + r - k, x0 + r - k, y0, x0 + r, y0);
    pb.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EMBEDDED_FONT;

    /// Coverage of one glyph, or of `.notdef`, drawn upright into a 64 × 64 cell.
    fn cell_coverage(font: &Font, glyph: Option<Glyph>) -> Vec<u8> {
        let mut canvas = Canvas::new(64, 64).unwrap();
        let cell = Cell { centre: (32.0, 32.0), right: (1.0, 0.0), up: (0.0, -1.0), width: 56.0, height: 56.0 };
        let mut path = PathBuilder::new();
        match glyph {
            Some(g) => font.place(g, Centre::Advance, &cell, &mut path),
            None => font.place_notdef(&cell, &mut path),
        }
        canvas.text(path, 0.0);
        canvas.mask.take()
    }

    #[test]
    fn seal_characters_are_not_drawn_as_the_missing_glyph() {
        let font = Font::parse(EMBEDDED_FONT).unwrap();
        let notdef = cell_coverage(&font, None);
        for c in "张三之印合同专用章财务发票有限公司0123456789X".chars() {
            let glyph = font.glyph(c, TextField::Text).unwrap();
            let ink = cell_coverage(&font, Some(glyph));
            let inked = ink.iter().filter(|&&a| a > 128).count();
            assert!(inked > 64, "{c}: only {inked} pixels inked");
            let differing = ink.iter().zip(&notdef).filter(|(a, b)| a.abs_diff(**b) > 128).count();
            assert!(differing > 64, "{c} looks like .notdef ({differing} pixels differ)");
        }
    }

    #[test]
    fn arc_length_round_trips() {
        let e = Ellipse::new(0.0, 0.0, 200.0, 150.0);
        for phi in [-3.0f32, -1.0, 0.0, 0.5, 2.9] {
            let back = e.angle_at(e.length_at(phi));
            assert!((back - phi).abs() < 1e-3, "{phi} → {back}");
        }
        let circle = Ellipse::new(0.0, 0.0, 100.0, 100.0);
        let half = circle.length_at(PI) - circle.length_at(0.0);
        assert!((half - PI * 100.0).abs() < 0.5, "{half}");
    }

    #[test]
    fn glyph_axes_at_the_top_and_side_of_an_ellipse() {
        let e = Ellipse::new(100.0, 100.0, 80.0, 60.0);
        let (x, y) = e.point(0.0);
        assert!((x - 100.0).abs() < 1e-4 && (y - 40.0).abs() < 1e-4);
        let (ux, uy) = e.outward(0.0);
        assert!(ux.abs() < 1e-6 && (uy + 1.0).abs() < 1e-6);
        let (rx, ry) = e.clockwise(PI / 2.0);
        assert!(rx.abs() < 1e-6 && (ry - 1.0).abs() < 1e-6);
    }
}
