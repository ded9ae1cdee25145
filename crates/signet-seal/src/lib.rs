#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::fmt;

mod draw;
mod font;
mod upload;

pub use upload::{MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, MAX_UPLOAD_SIDE, clean_upload};

/// The font seals are drawn with when the caller gives none: *Droid Sans Fallback* (Apache
/// License 2.0, see `fonts/README.md` in `signet-fonts`), which covers the ideographs of GB
/// 2312, Big5 and CJK Extension A, kana and the full-width forms, but no ASCII.
pub use signet_fonts::DROID_SANS_FALLBACK as EMBEDDED_FONT;

/// The default seal colour, #E60012: a strong pure red close to seal paste (印泥) as a
/// screen shows it; red dominant, with a trace of blue so that it does not read as orange.
pub const SEAL_RED: [u8; 3] = [0xE6, 0x00, 0x12];

/// Smallest [`SealSpec::size_px`] accepted.
pub const MIN_SIZE_PX: u32 = 64;
/// Largest [`SealSpec::size_px`] accepted.
pub const MAX_SIZE_PX: u32 = 2048;
/// The [`SealSpec::size_px`] the constructors set: about 40 mm at 300 dpi.
pub const DEFAULT_SIZE_PX: u32 = 480;

/// Most characters in [`SealSpec::text`] of a round or oval seal.
pub const MAX_NAME_CHARS: usize = 40;
/// Most characters in [`SealSpec::horizontal`].
pub const MAX_HORIZONTAL_CHARS: usize = 12;
/// Most characters in [`SealSpec::bottom_code`] (a unified social credit code has 18).
pub const MAX_CODE_CHARS: usize = 24;

/// The outline of a generated seal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealShape {
    /// A circle: the company (official) seal and the special-purpose seals (contract,
    /// finance). The image is square.
    Round,
    /// An ellipse, as the invoice seal (发票专用章, 40 × 30 mm). The image is
    /// [`SealSpec::size_px`] wide and three quarters of that high.
    Oval,
    /// A square frame with slightly rounded corners holding 2 or 4 characters: a personal or
    /// legal representative's seal. The image is square.
    Square,
}

/// What a seal is used for, as the product names its e-seals. [`SealSpec::for_kind`] gives
/// each the conventional drawing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SealKind {
    /// The company (official) seal, 公章: round, star, the name along the top.
    Company,
    /// The contract seal, 合同专用章: round, star, "合同专用章" below it.
    Contract,
    /// The finance seal, 财务专用章: round, star, "财务专用章" below it.
    Finance,
    /// The invoice seal, 发票专用章: oval, "发票专用章" in the middle, the taxpayer number
    /// ([`SealSpec::bottom_code`]) above it once set.
    Invoice,
    /// The legal representative's seal, 法人章: square, the name followed by 印 (a
    /// two-character name by 之印), as such seals are cut.
    LegalRepresentative,
    /// A personal seal, 个人章: square, the name as given; a three-character name gets 印
    /// to fill the four places.
    Personal,
}

/// What to draw. Build one with [`SealSpec::new`] (or [`round`](SealSpec::round),
/// [`oval`](SealSpec::oval), [`square`](SealSpec::square)) or [`SealSpec::for_kind`], then
/// change the fields.
///
/// Round seal layout (the conventional Chinese official seal): a ring, the name along the top
/// arc with each character upright towards the rim, a five-pointed star in the centre,
/// `horizontal` straight below the star and `bottom_code` small along the bottom arc, read
/// left to right. Oval: the same ring and name as an ellipse; `bottom_code` and `horizontal`
/// straight across the middle, the code above (where the invoice seal standard puts the
/// taxpayer number). Square: see [`SealSpec::text`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealSpec {
    /// The outline.
    pub shape: SealShape,
    /// Round and oval: the company name, curved along the top, 1 to [`MAX_NAME_CHARS`]
    /// characters; the more there are, the smaller and narrower they are drawn.
    ///
    /// Square: exactly 2 or 4 CJK characters (ideographs, kana or Hangul), read in the
    /// traditional order, in columns from the right, each top to bottom: 2 characters stand
    /// side by side as two tall columns, the first on the right ("张三": 张 right, 三 left);
    /// 4 fill a 2 × 2 grid, the first two down the right column, the last two down the left
    /// ("张三之印": 张 top right, 三 bottom right, 之 top left, 印 bottom left).
    pub text: String,
    /// Round and oval: a line of text straight across, below the star (round) or in the
    /// middle (oval), such as "合同专用章"; at most [`MAX_HORIZONTAL_CHARS`] characters.
    /// A blank value is left out, as `None`. Ignored for square seals.
    pub horizontal: Option<String>,
    /// Round and oval: a registration or taxpayer number, small, along the bottom arc (round)
    /// or straight across the middle (oval); at most [`MAX_CODE_CHARS`] characters. A blank
    /// value is left out, as `None`. Ignored for square seals.
    pub bottom_code: Option<String>,
    /// Round and oval: a five-pointed star in the centre. Ignored for square seals.
    pub star: bool,
    /// Width of the image in pixels, [`MIN_SIZE_PX`] to [`MAX_SIZE_PX`]; round and square
    /// images are square, oval ones three quarters as high.
    pub size_px: u32,
    /// The colour of everything drawn, sRGB; the background is fully transparent.
    pub color: [u8; 3],
}

impl SealSpec {
    /// A seal of `shape` showing `text`, with the defaults: a star on round seals only, no
    /// horizontal text or code, [`DEFAULT_SIZE_PX`] wide, in [`SEAL_RED`].
    pub fn new(shape: SealShape, text: impl Into<String>) -> SealSpec {
        SealSpec {
            shape,
            text: text.into(),
            horizontal: None,
            bottom_code: None,
            star: shape == SealShape::Round,
            size_px: DEFAULT_SIZE_PX,
            color: SEAL_RED,
        }
    }

    /// A round seal with `name` along the top and a star.
    pub fn round(name: impl Into<String>) -> SealSpec {
        SealSpec::new(SealShape::Round, name)
    }

    /// An oval seal with `name` along the top and no star.
    pub fn oval(name: impl Into<String>) -> SealSpec {
        SealSpec::new(SealShape::Oval, name)
    }

    /// A square seal of 2 or 4 characters (see [`SealSpec::text`]).
    pub fn square(text: impl Into<String>) -> SealSpec {
        SealSpec::new(SealShape::Square, text)
    }

    /// The conventional seal of a kind: `name` is the company's name for
    /// [`SealKind::Company`], [`Contract`](SealKind::Contract),
    /// [`Finance`](SealKind::Finance) and [`Invoice`](SealKind::Invoice), and the person's
    /// name for the others (see [`SealKind`] for what is added to it).
    pub fn for_kind(kind: SealKind, name: &str) -> SealSpec {
        let name = name.trim();
        let with_horizontal = |mut spec: SealSpec, text: &str| {
            spec.horizontal = Some(text.to_string());
            spec
        };
        match kind {
            SealKind::Company => SealSpec::round(name),
            SealKind::Contract => with_horizontal(SealSpec::round(name), "合同专用章"),
            SealKind::Finance => with_horizontal(SealSpec::round(name), "财务专用章"),
            SealKind::Invoice => with_horizontal(SealSpec::oval(name), "发票专用章"),
            SealKind::LegalRepresentative => match name.chars().count() {
                2 => SealSpec::square(format!("{name}之印")),
                3 => SealSpec::square(format!("{name}印")),
                _ => SealSpec::square(name),
            },
            SealKind::Personal => match name.chars().count() {
                3 => SealSpec::square(format!("{name}印")),
                _ => SealSpec::square(name),
            },
        }
    }
}

/// A seal picture: an 8-bit RGBA PNG (not premultiplied) whose background is transparent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealImage {
    /// The PNG file.
    pub png: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Draws a seal. `font` is a TrueType or OpenType font (the first face of a collection) to
/// draw the text with instead of [`EMBEDDED_FONT`]; it must have every character of the
/// text, as no other font is tried. An ASCII character the font lacks is drawn with its
/// full-width form (U+FF01–U+FF5E) when the font has that.
///
/// Fails on a size out of range, empty or overlong text, control characters, a square seal
/// not of 2 or 4 CJK characters, and a character the font has no glyph for (never drawn as a
/// box): [`Error::MissingGlyph`] names it.
pub fn render(spec: &SealSpec, font: Option<&[u8]>) -> Result<SealImage, Error> {
    if !(MIN_SIZE_PX..=MAX_SIZE_PX).contains(&spec.size_px) {
        return Err(Error::Size { size_px: spec.size_px });
    }
    let font = font::Font::parse(font.unwrap_or(EMBEDDED_FONT))?;
    let (width, height, alpha) = draw::draw(spec, &font)?;
    let png = upload::encode_png(width, height, &draw::colorize(&alpha, spec.color))?;
    Ok(SealImage { png, width, height })
}

/// The text of a [`SealSpec`] an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextField {
    /// [`SealSpec::text`].
    Text,
    /// [`SealSpec::horizontal`].
    Horizontal,
    /// [`SealSpec::bottom_code`].
    BottomCode,
}

impl fmt::Display for TextField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TextField::Text => "the seal text",
            TextField::Horizontal => "the horizontal text",
            TextField::BottomCode => "the bottom code",
        })
    }
}

/// Why a text of a [`SealSpec`] cannot be drawn (other than a missing glyph).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextProblem {
    /// Empty, or only white space.
    Empty,
    /// More characters than the seal has room for.
    TooLong {
        /// Characters given.
        chars: usize,
        /// Most allowed.
        max: usize,
    },
    /// A control character (line break, tab, …).
    ControlCharacter(char),
    /// A square seal's text is not 2 or 4 characters long.
    SquareCharacterCount(usize),
    /// A square seal's text has a character that is not an ideograph, kana or Hangul.
    NotCjk(char),
}

/// An image format [`clean_upload`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG (JFIF or Exif).
    Jpeg,
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageFormat::Png => "PNG",
            ImageFormat::Jpeg => "JPEG",
        })
    }
}

/// Why a seal could not be drawn or an upload not be cleaned.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// [`SealSpec::size_px`] is outside [`MIN_SIZE_PX`]..=[`MAX_SIZE_PX`].
    Size {
        /// The size asked for.
        size_px: u32,
    },
    /// A text of the spec cannot be drawn.
    Text {
        /// Which text.
        field: TextField,
        /// What is wrong with it.
        problem: TextProblem,
    },
    /// The font has no glyph for a character of the text.
    MissingGlyph {
        /// Which text.
        field: TextField,
        /// The character.
        character: char,
    },
    /// The font given to [`render`] is not a TrueType or OpenType font Signet can read, or
    /// has no usable glyphs.
    Font(String),
    /// The uploaded file is neither PNG nor JPEG.
    UnknownFormat {
        /// The media type it was sent as, when [`clean_upload`] was told (ASCII, without
        /// parameters, at most 64 characters).
        declared: Option<String>,
    },
    /// The uploaded file is larger than [`MAX_UPLOAD_BYTES`].
    FileTooLarge {
        /// Its size in bytes.
        bytes: usize,
    },
    /// The uploaded image is wider or higher than [`MAX_UPLOAD_SIDE`] or has more than
    /// [`MAX_UPLOAD_PIXELS`] pixels.
    ImageTooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The uploaded image is truncated or corrupt, or uses a feature the decoder lacks.
    Decode {
        /// The format its signature bytes announced.
        format: ImageFormat,
        /// What the decoder said.
        detail: String,
    },
    /// The PNG could not be written (out of memory, in practice).
    Encode(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Size { size_px } => write!(
                f,
                "a seal {size_px} pixels wide cannot be drawn: the size must be {MIN_SIZE_PX} to {MAX_SIZE_PX} pixels"
            ),
            Error::Text { field, problem } => match problem {
                TextProblem::Empty => write!(f, "{field} is empty"),
                TextProblem::TooLong { chars, max } => {
                    write!(f, "{field} is too long: {chars} characters, at most {max} fit")
                }
                TextProblem::ControlCharacter(c) => {
                    write!(f, "{field} contains the control character U+{:04X}", u32::from(*c))
                }
                TextProblem::SquareCharacterCount(n) => {
                    write!(f, "{field} has {n} characters: a square seal holds 2 or 4")
                }
                TextProblem::NotCjk(c) => write!(
                    f,
                    "{field} contains {c:?} (U+{:04X}): a square seal holds only CJK characters",
                    u32::from(*c)
                ),
            },
            Error::MissingGlyph { field, character } => write!(
                f,
                "{field} contains {character:?} (U+{:04X}), which the font has no glyph for",
                u32::from(*character)
            ),
            Error::Font(s) => write!(f, "the font cannot be used: {s}"),
            Error::UnknownFormat { declared: None } => f.write_str("the seal image is neither PNG nor JPEG"),
            Error::UnknownFormat { declared: Some(media_type) } => {
                write!(f, "the seal image is neither PNG nor JPEG (it was sent as {media_type})")
            }
            Error::FileTooLarge { bytes } => {
                write!(f, "the seal image file is too large: {bytes} bytes, at most {MAX_UPLOAD_BYTES} are accepted")
            }
            Error::ImageTooLarge { width, height } => write!(
                f,
                "the seal image is too large: {width} × {height} pixels, at most {MAX_UPLOAD_SIDE} pixels a side and {MAX_UPLOAD_PIXELS} in all are accepted"
            ),
            Error::Decode { format, detail } => {
                write!(f, "the seal image is not a readable {format} file: {detail}")
            }
            Error::Encode(s) => write!(f, "the seal image could not be written as PNG: {s}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_get_their_conventional_drawing() {
        let contract = SealSpec::for_kind(SealKind::Contract, " 北京某某科技有限公司 ");
        assert_eq!(contract.shape, SealShape::Round);
        assert_eq!(contract.text, "北京某某科技有限公司");
        assert_eq!(contract.horizontal.as_deref(), Some("合同专用章"));
        assert!(contract.star);
        let invoice = SealSpec::for_kind(SealKind::Invoice, "某某公司");
        assert_eq!((invoice.shape, invoice.star), (SealShape::Oval, false));
        assert_eq!(SealSpec::for_kind(SealKind::LegalRepresentative, "张三").text, "张三之印");
        assert_eq!(SealSpec::for_kind(SealKind::LegalRepresentative, "王小明").text, "王小明印");
        assert_eq!(SealSpec::for_kind(SealKind::Personal, "张三").text, "张三");
        assert_eq!(SealSpec::for_kind(SealKind::Personal, "欧阳明月").text, "欧阳明月");
    }

    #[test]
    fn errors_name_the_character() {
        let e = Error::MissingGlyph { field: TextField::Text, character: '\u{E000}' };
        assert_eq!(e.to_string(), "the seal text contains '\\u{e000}' (U+E000), which the font has no glyph for");
        let e = Error::MissingGlyph { field: TextField::BottomCode, character: '€' };
        assert_eq!(e.to_string(), "the bottom code contains '€' (U+20AC), which the font has no glyph for");
    }
}
