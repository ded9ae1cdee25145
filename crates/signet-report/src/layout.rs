//! Page layout: text flowed down A4 pages, line breaking, tables whose rows continue on the
//! next page (with the column headings repeated), and the running header and footer.
//!
//! Coordinates are PDF points from the bottom left of the page; `y` is the top of the
//! free space on the current page.

use std::fmt::Write as _;

use crate::font::{Fonts, Glyph};
use signet_fonts::is_cjk;

/// A4, 210 × 297 mm.
pub(crate) const PAGE_W: f64 = 595.276;
pub(crate) const PAGE_H: f64 = 841.89;
const MARGIN_X: f64 = 48.0;
pub(crate) const CONTENT_W: f64 = PAGE_W - 2.0 * MARGIN_X;
const CONTENT_TOP: f64 = PAGE_H - 60.0;
const CONTENT_BOTTOM: f64 = 60.0;
const HEADER_BASELINE: f64 = PAGE_H - 36.0;
const HEADER_RULE: f64 = PAGE_H - 43.0;
const FOOTER_RULE: f64 = 46.0;
const FOOTER_BASELINE: f64 = 33.0;

/// Line height, in units of the font size.
const LEADING: f64 = 1.32;
/// From the top of a line to its baseline, in units of the font size: half the leading
/// above the ascent (DejaVu Sans: 0.93 up, 0.24 down).
const BASELINE: f64 = 1.0;
/// Inner padding of table cells.
const CELL_PAD: f64 = 3.0;

/// An RGB colour, components 0–1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Color(pub(crate) f64, pub(crate) f64, pub(crate) f64);

pub(crate) const INK: Color = Color(0.10, 0.10, 0.12);
pub(crate) const MUTED: Color = Color(0.40, 0.40, 0.44);
pub(crate) const ACCENT: Color = Color(0.08, 0.22, 0.45);
const RULE: Color = Color(0.78, 0.80, 0.84);
const HEADER_FILL: Color = Color(0.91, 0.93, 0.97);

/// How a run of text looks. Bold is drawn by also stroking the outlines (text rendering
/// mode 2): the embedded faces have one weight each.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub(crate) size: f64,
    pub(crate) color: Color,
    pub(crate) bold: bool,
}

impl Style {
    pub(crate) const fn new(size: f64, color: Color) -> Self {
        Style { size, color, bold: false }
    }

    pub(crate) const fn bold(self) -> Self {
        Style { bold: true, ..self }
    }

    fn line_height(self) -> f64 {
        self.size * LEADING
    }
}

/// Text in one style, wrapped to the width it is given.
#[derive(Clone, Debug)]
pub(crate) struct Para {
    pub(crate) text: String,
    pub(crate) style: Style,
}

impl Para {
    pub(crate) fn new(text: impl Into<String>, style: Style) -> Self {
        Para { text: text.into(), style }
    }
}

/// A table: column widths (summing to at most [`CONTENT_W`]), optional column headings,
/// and rows.
pub(crate) struct Table {
    pub(crate) widths: Vec<f64>,
    pub(crate) header: Option<Vec<Para>>,
    pub(crate) rows: Vec<Row>,
}

/// One row: a cell per column (each any number of paragraphs), and optionally a note set
/// under the cells from column `note.0` to the right edge.
pub(crate) struct Row {
    pub(crate) cells: Vec<Vec<Para>>,
    pub(crate) note: Option<(usize, Para)>,
}

/// One laid-out line of a table row, relative to the row's top.
struct Piece {
    x: f64,
    top: f64,
    style: Style,
    glyphs: Vec<Glyph>,
}

impl Piece {
    fn bottom(&self) -> f64 {
        self.top + self.style.line_height()
    }
}

/// The pages laid out so far, and the one being filled.
pub(crate) struct Layout<'f> {
    fonts: &'f mut Fonts,
    pages: Vec<String>,
    ops: String,
    y: f64,
}

impl<'f> Layout<'f> {
    pub(crate) fn new(fonts: &'f mut Fonts) -> Self {
        Layout { fonts, pages: Vec::new(), ops: String::new(), y: CONTENT_TOP }
    }

    fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.ops));
        self.y = CONTENT_TOP;
    }

    fn at_top(&self) -> bool {
        self.y >= CONTENT_TOP
    }

    /// Starts a new page unless `height` fits below `y` (or the page is still empty).
    pub(crate) fn ensure(&mut self, height: f64) {
        if self.y - height < CONTENT_BOTTOM && !self.at_top() {
            self.new_page();
        }
    }

    /// Vertical space; none at the top of a page.
    pub(crate) fn space(&mut self, height: f64) {
        if !self.at_top() {
            self.y -= height;
        }
    }

    /// Text across the content width, continued on the next page when it runs out.
    pub(crate) fn paragraph(&mut self, para: &Para) {
        let glyphs = self.fonts.shape(&para.text);
        let lh = para.style.line_height();
        for line in wrap(&glyphs, CONTENT_W / para.style.size) {
            self.ensure(lh);
            show(&mut self.ops, MARGIN_X, self.y - para.style.size * BASELINE, para.style, line);
            self.y -= lh;
        }
    }

    /// A section heading with a rule under it, kept on a page with at least `keep` points of
    /// what follows.
    pub(crate) fn heading(&mut self, text: &str, keep: f64) {
        let style = Style::new(11.5, ACCENT).bold();
        self.space(14.0);
        self.ensure(style.line_height() + 6.0 + keep);
        self.paragraph(&Para::new(text, style));
        self.y -= 2.0;
        rule(&mut self.ops, MARGIN_X, MARGIN_X + CONTENT_W, self.y, ACCENT, 0.8);
        self.y -= 5.0;
    }

    /// A table; rows that do not fit go to the next page whole, under repeated headings,
    /// and only a row taller than a page is split between lines.
    pub(crate) fn table(&mut self, table: &Table) {
        let width: f64 = table.widths.iter().sum();
        let header = table.header.as_ref().map(|h| {
            let cells: Vec<Vec<Para>> = h.iter().map(|p| vec![p.clone()]).collect();
            self.lay_row(&table.widths, &cells, None)
        });
        let header_height = header.as_ref().map_or(0.0, |h| h.1);
        let first_height = table.rows.first().map_or(0.0, |r| self.lay_row(&table.widths, &r.cells, None).1);
        self.ensure(header_height + first_height.min(60.0));
        if let Some((pieces, height)) = &header {
            self.draw_header(pieces, *height, width);
        }
        for row in &table.rows {
            let (mut pieces, mut height) = self.lay_row(&table.widths, &row.cells, row.note.as_ref());
            loop {
                let avail = self.y - CONTENT_BOTTOM;
                if height <= avail {
                    self.draw_row(&pieces, height, width);
                    break;
                }
                let page_room = CONTENT_TOP - CONTENT_BOTTOM - header_height;
                let fit = pieces.iter().filter(|p| p.bottom() <= avail - CELL_PAD).count();
                if height > page_room && (fit > 0 || self.at_top()) {
                    // Taller than a page: the lines that fit here, the rest on the next page.
                    let (here, rest): (Vec<Piece>, Vec<Piece>) =
                        pieces.into_iter().partition(|p| p.bottom() <= avail - CELL_PAD);
                    let (here, rest) = if here.is_empty() {
                        // Not even one line fits an empty page: draw one anyway, so that the
                        // loop ends.
                        let mut rest = rest.into_iter();
                        (rest.next().into_iter().collect(), rest.collect())
                    } else {
                        (here, rest)
                    };
                    self.draw_row(&here, avail, width);
                    let shift = rest.iter().map(|p| p.top).fold(f64::INFINITY, f64::min) - CELL_PAD;
                    pieces = rest.into_iter().map(|p| Piece { top: p.top - shift, ..p }).collect();
                    height -= shift;
                    if pieces.is_empty() {
                        break;
                    }
                }
                self.new_page();
                if let Some((pieces, height)) = &header {
                    self.draw_header(pieces, *height, width);
                }
            }
        }
    }

    /// The height `table` takes when it starts at the top of a page (headings included).
    pub(crate) fn table_height(&mut self, table: &Table) -> f64 {
        let header = table.header.as_ref().map_or(0.0, |h| {
            let cells: Vec<Vec<Para>> = h.iter().map(|p| vec![p.clone()]).collect();
            self.lay_row(&table.widths, &cells, None).1
        });
        header + table.rows.iter().map(|r| self.lay_row(&table.widths, &r.cells, r.note.as_ref()).1).sum::<f64>()
    }

    /// The height of `para` across the content width.
    pub(crate) fn paragraph_height(&mut self, para: &Para) -> f64 {
        let glyphs = self.fonts.shape(&para.text);
        wrap(&glyphs, CONTENT_W / para.style.size).len() as f64 * para.style.line_height()
    }

    fn draw_header(&mut self, pieces: &[Piece], height: f64, width: f64) {
        let c = HEADER_FILL;
        let _ = writeln!(
            self.ops,
            "{} {} {} rg {} {} {} {} re f",
            num(c.0),
            num(c.1),
            num(c.2),
            num(MARGIN_X),
            num(self.y - height),
            num(width),
            num(height)
        );
        self.draw_row(pieces, height, width);
    }

    fn draw_row(&mut self, pieces: &[Piece], height: f64, width: f64) {
        for p in pieces {
            show(&mut self.ops, p.x, self.y - p.top - p.style.size * BASELINE, p.style, &p.glyphs);
        }
        self.y -= height;
        rule(&mut self.ops, MARGIN_X, MARGIN_X + width, self.y, RULE, 0.5);
    }

    /// Lines of a row and the row's height.
    fn lay_row(&mut self, widths: &[f64], cells: &[Vec<Para>], note: Option<&(usize, Para)>) -> (Vec<Piece>, f64) {
        let mut pieces = Vec::new();
        let mut x = MARGIN_X;
        let mut bottom = CELL_PAD;
        for (width, cell) in widths.iter().zip(cells) {
            let top = self.lay_paras(&mut pieces, x, *width, CELL_PAD, cell);
            bottom = bottom.max(top);
            x += width;
        }
        if let Some((from, para)) = note {
            let x = MARGIN_X + widths.iter().take(*from).sum::<f64>();
            let width = widths.iter().skip(*from).sum::<f64>();
            bottom = self.lay_paras(&mut pieces, x, width, bottom, std::slice::from_ref(para));
        }
        (pieces, bottom + CELL_PAD)
    }

    /// Wraps `paras` into a column at `x`, from `top` down; returns the bottom.
    fn lay_paras(&mut self, pieces: &mut Vec<Piece>, x: f64, width: f64, mut top: f64, paras: &[Para]) -> f64 {
        for para in paras {
            let glyphs = self.fonts.shape(&para.text);
            for line in wrap(&glyphs, (width - 2.0 * CELL_PAD) / para.style.size) {
                pieces.push(Piece { x: x + CELL_PAD, top, style: para.style, glyphs: line.to_vec() });
                top += para.style.line_height();
            }
        }
        top
    }

    /// The pages' content streams, each with the running header (`header`, cut to fit)
    /// and the footer (`footer_left`, and the page number from `page_of`).
    pub(crate) fn finish(
        mut self,
        header: &str,
        footer_left: &str,
        page_of: impl Fn(usize, usize) -> String,
    ) -> Vec<String> {
        self.new_page();
        let style = Style::new(7.5, MUTED);
        let header = self.fonts.shape(header);
        let header = truncate(self.fonts, &header, CONTENT_W / style.size);
        let footer_left = self.fonts.shape(footer_left);
        let total = self.pages.len();
        let mut out = Vec::with_capacity(total);
        for (i, body) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let mut ops = String::new();
            show(&mut ops, MARGIN_X, HEADER_BASELINE, style, &header);
            rule(&mut ops, MARGIN_X, MARGIN_X + CONTENT_W, HEADER_RULE, ACCENT, 0.6);
            ops.push_str(&body);
            rule(&mut ops, MARGIN_X, MARGIN_X + CONTENT_W, FOOTER_RULE, RULE, 0.5);
            let page = self.fonts.shape(&page_of(i + 1, total));
            let page_width = width(&page) * style.size;
            let left = truncate(self.fonts, &footer_left, (CONTENT_W - page_width - 24.0) / style.size);
            show(&mut ops, MARGIN_X, FOOTER_BASELINE, style, &left);
            show(&mut ops, MARGIN_X + CONTENT_W - page_width, FOOTER_BASELINE, style, &page);
            out.push(ops);
        }
        out
    }
}

/// Width of a line in units of the font size.
fn width(glyphs: &[Glyph]) -> f64 {
    glyphs.iter().map(|g| g.advance).sum()
}

/// `glyphs` cut to `max` (in units of the font size) with an ellipsis, if longer.
fn truncate(fonts: &mut Fonts, glyphs: &[Glyph], max: f64) -> Vec<Glyph> {
    let glyphs: Vec<Glyph> = glyphs.iter().map(|g| if g.ch == '\n' { fonts.shape(" ")[0] } else { *g }).collect();
    if width(&glyphs) <= max {
        return glyphs;
    }
    let ellipsis = fonts.shape("…");
    let room = max - width(&ellipsis);
    let mut used = 0.0;
    let mut out: Vec<Glyph> = glyphs
        .into_iter()
        .take_while(|g| {
            used += g.advance;
            used <= room
        })
        .collect();
    while out.last().is_some_and(|g| g.ch == ' ') {
        out.pop();
    }
    out.extend(ellipsis);
    out
}

/// Breaks text into lines of at most `max` (in units of the font size): at spaces, between
/// CJK characters (not before closing or after opening punctuation), after `/`, `-`, `@`
/// and the like inside long tokens, and anywhere in a token longer than a line (digests).
/// Line feeds end lines; spaces at the end of a line are dropped, and at the start of a
/// wrapped line.
pub(crate) fn wrap(glyphs: &[Glyph], max: f64) -> Vec<&[Glyph]> {
    let mut lines = Vec::new();
    for para in glyphs.split(|g| g.ch == '\n') {
        if para.is_empty() {
            lines.push(para);
            continue;
        }
        let mut start = 0;
        while start < para.len() {
            let mut used = 0.0;
            let mut last_break: Option<(usize, usize)> = None; // (end of this line, start of next)
            let mut cut = None;
            for (i, g) in para.iter().enumerate().skip(start) {
                if g.ch == ' ' {
                    last_break = Some((i, i + 1));
                    used += g.advance;
                    continue;
                }
                if i > start && can_break_between(para[i - 1].ch, g.ch) {
                    last_break = Some((i, i));
                }
                if used + g.advance > max && i > start {
                    cut = Some(last_break.filter(|&(end, _)| end > start).unwrap_or((i, i)));
                    break;
                }
                used += g.advance;
            }
            let Some((end, next)) = cut else {
                lines.push(trim_end(&para[start..]));
                break;
            };
            lines.push(trim_end(&para[start..end]));
            start = next;
            while para.get(start).is_some_and(|g| g.ch == ' ') {
                start += 1;
            }
        }
    }
    lines
}

fn trim_end(mut line: &[Glyph]) -> &[Glyph] {
    while let [rest @ .., last] = line {
        if last.ch != ' ' {
            break;
        }
        line = rest;
    }
    line
}

fn can_break_between(a: char, b: char) -> bool {
    const NO_BREAK_BEFORE: &str = "，。、；：？！）》」』】〉〕”’…·,.;:!?)]}%";
    const NO_BREAK_AFTER: &str = "（《「『【〈〔“‘([{";
    const BREAK_AFTER: &str = "/-_@&=;,";
    if a == ' ' || NO_BREAK_AFTER.contains(a) || NO_BREAK_BEFORE.contains(b) {
        return false;
    }
    is_cjk(a) || is_cjk(b) || BREAK_AFTER.contains(a)
}

/// Draws one line: runs of glyphs of one face as hex strings of two-byte CIDs.
fn show(ops: &mut String, x: f64, baseline: f64, style: Style, glyphs: &[Glyph]) {
    if glyphs.is_empty() {
        return;
    }
    let Color(r, g, b) = style.color;
    let (r, g, b) = (num(r), num(g), num(b));
    let _ = write!(ops, "BT {r} {g} {b} rg ");
    // The rendering mode is text state, which outlives ET: set it every time.
    if style.bold {
        let _ = write!(ops, "{r} {g} {b} RG {} w 2 Tr ", num(style.size * 0.035));
    } else {
        ops.push_str("0 Tr ");
    }
    let _ = write!(ops, "{} {} Td", num(x), num(baseline));
    let mut face = None;
    for glyph in glyphs {
        if face != Some(glyph.face) {
            if face.is_some() {
                ops.push_str("> Tj");
            }
            let _ = write!(ops, " /{} {} Tf <", glyph.face.resource_name(), num(style.size));
            face = Some(glyph.face);
        }
        let _ = write!(ops, "{:04X}", glyph.cid);
    }
    ops.push_str("> Tj ET\n");
}

fn rule(ops: &mut String, x0: f64, x1: f64, y: f64, color: Color, line_width: f64) {
    let _ = writeln!(
        ops,
        "{} {} {} RG {} w {} {y} m {} {y} l S",
        num(color.0),
        num(color.1),
        num(color.2),
        num(line_width),
        num(x0),
        num(x1),
        y = num(y)
    );
}

/// A number for a content stream: at most three decimals, no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lines(fonts: &mut Fonts, text: &str, max: f64) -> Vec<String> {
        let glyphs = fonts.shape(text);
        wrap(&glyphs, max).iter().map(|l| l.iter().map(|g| g.ch).collect()).collect()
    }

    #[test]
    fn wraps_at_spaces_cjk_and_inside_long_tokens() {
        let mut fonts = Fonts::new().unwrap();
        assert_eq!(lines(&mut fonts, "alpha beta gamma", 6.0), ["alpha beta", "gamma"]);
        // CJK breaks anywhere, but a full-width comma stays with the character before it
        assert_eq!(lines(&mut fonts, "甲乙丙，丁戊", 3.5), ["甲乙", "丙，丁", "戊"]);
        let hash = "0123456789abcdef".repeat(4);
        let wrapped = lines(&mut fonts, &hash, 20.0);
        assert!(wrapped.len() > 1);
        assert_eq!(wrapped.concat(), hash);
        assert_eq!(lines(&mut fonts, "a\n\nb  ", 10.0), ["a", "", "b"]);
        assert_eq!(lines(&mut fonts, "", 10.0), [""]);
        // a glyph wider than the line still goes somewhere
        assert_eq!(lines(&mut fonts, "WW", 0.1), ["W", "W"]);
    }

    #[test]
    fn truncation_adds_an_ellipsis() {
        let mut fonts = Fonts::new().unwrap();
        let glyphs = fonts.shape("a long running header");
        let cut = truncate(&mut fonts, &glyphs, 5.0);
        assert!(width(&cut) <= 5.0);
        assert_eq!(cut.last().unwrap().ch, '…');
        assert_eq!(truncate(&mut fonts, &glyphs, 100.0).len(), glyphs.len());
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(595.276), "595.276");
    }

    #[test]
    fn a_row_taller_than_a_page_is_split() {
        let mut fonts = Fonts::new().unwrap();
        let mut layout = Layout::new(&mut fonts);
        let style = Style::new(9.0, INK);
        let long: String = (0..150).map(|i| format!("line {i}\n")).collect();
        let table = Table {
            widths: vec![100.0, CONTENT_W - 100.0],
            header: Some(vec![Para::new("k", style), Para::new("v", style)]),
            rows: vec![Row { cells: vec![vec![Para::new("key", style)], vec![Para::new(long, style)]], note: None }],
        };
        layout.table(&table);
        let pages = layout.finish("header", "footer", |n, m| format!("{n}/{m}"));
        assert_eq!(pages.len(), 3);
        // every line is drawn once: each page has the header row, and "key" once
        let drawn: usize = pages.iter().map(|p| p.matches(" Tj ET").count()).sum();
        assert_eq!(drawn, 150 + 1 + 3 * 2 + 3 * 3);
    }
}
