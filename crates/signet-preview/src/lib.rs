#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::{LoadPdfError, Pdf};
use hayro::kurbo::Affine;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};
use hayro::{RenderCache, RenderSettings, render_into};
use signet_pdf::{Document, FileSource, Page, Source};

/// The longest side of an image, in pixels. The renderer works in 16-bit pixel coordinates
/// and panics on a canvas 65,535 pixels high (rounding it up to whole 4-pixel tiles
/// overflows); this leaves it ample room.
pub const MAX_SIDE: u32 = 16_384;

/// How a page is rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewOptions {
    /// Resolution in pixels per inch (72 PDF points); lowered when the image would have more
    /// than `max_pixels` pixels. Default 96.
    pub dpi: f32,
    /// Most pixels in the image (width × height); larger pages are rendered at a lower
    /// resolution, never refused. Each side is also at most [`MAX_SIDE`] pixels. Default
    /// 16,000,000 (64 MB of RGBA while rendering).
    pub max_pixels: u64,
    /// Largest file [`render_page`] accepts. The renderer needs the whole file in memory,
    /// so this bounds the memory one preview takes for the file itself. Default 128 MiB.
    pub max_file_bytes: u64,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions { dpi: 96.0, max_pixels: 16_000_000, max_file_bytes: 128 << 20 }
    }
}

/// The size and boxes of one page, read by Signet's own reader ([`signet_pdf::Document`]),
/// so they agree with how signatures are placed (`signet_pades::placement`).
///
/// Seal positions are given in PDF points on the page *as a person sees it*: origin at the
/// bottom-left corner of the visible (cropped, rotated) page, x to the right, y up, the page
/// `width` × `height` points. A rendered [`PagePreview`] shows exactly that area, so a click at
/// pixel (`px`, `py`), counted from the image's top-left corner, is at
///
/// ```text
/// x_pt = px / pixel_width  * width
/// y_pt = height - py / pixel_height * height
/// ```
///
/// ([`PagePreview::to_page_point`]). Use the pixel size of the image that was clicked (the
/// displayed size, if the browser scales it) and add 0.5 to a pixel index for its centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PageGeometry {
    /// Width of the page as a person sees it, in PDF points: the width of the CropBox
    /// (clipped to the MediaBox), or its height when the page is turned by 90° or 270°.
    pub width: f64,
    /// Height of the page as a person sees it, in PDF points (see `width`).
    pub height: f64,
    /// `/Rotate`, normalised to 0, 90, 180 or 270: the page is shown turned clockwise by it.
    pub rotate: u16,
    /// The CropBox clipped to the MediaBox, `[llx, lly, urx, ury]` in default user space.
    pub crop_box: [f64; 4],
    /// The MediaBox, `[llx, lly, urx, ury]` in default user space.
    pub media_box: [f64; 4],
}

impl PageGeometry {
    fn of(page: &Page) -> PageGeometry {
        let (c, m) = (page.crop_box, page.media_box);
        let (width, height) = match page.rotate {
            90 | 270 => (c.height(), c.width()),
            _ => (c.width(), c.height()),
        };
        PageGeometry {
            width,
            height,
            rotate: page.rotate,
            crop_box: [c.llx, c.lly, c.urx, c.ury],
            media_box: [m.llx, m.lly, m.urx, m.ury],
        }
    }

    /// The affine map from default user space to image pixels (y down) for an image of
    /// `pw` × `ph` pixels showing the visible page: the inverse of
    /// `signet_pades::placement::to_user_space` followed by the scale and the y flip.
    fn user_to_pixels(&self, pw: u32, ph: u32) -> Affine {
        let sx = f64::from(pw) / self.width;
        let sy = f64::from(ph) / self.height;
        let [llx, lly, urx, ury] = self.crop_box;
        // kurbo's [a, b, c, d, e, f]: px = a·x + c·y + e, py = b·x + d·y + f
        Affine::new(match self.rotate {
            90 => [0.0, sy, sx, 0.0, -sx * lly, -sy * llx],
            180 => [-sx, 0.0, 0.0, sy, sx * urx, -sy * lly],
            270 => [0.0, -sy, -sx, 0.0, sx * ury, sy * urx],
            _ => [sx, 0.0, 0.0, -sy, -sx * llx, sy * ury],
        })
    }
}

/// One rendered page.
#[derive(Clone, Debug)]
pub struct PagePreview {
    /// The PNG image: the page on white, 8-bit grey when it has no colour, else 8-bit RGB.
    pub png: Vec<u8>,
    /// Width of the image in pixels.
    pub pixel_width: u32,
    /// Height of the image in pixels.
    pub pixel_height: u32,
    /// The page's geometry; the image shows exactly `geometry.width` × `geometry.height`
    /// points.
    pub geometry: PageGeometry,
    /// Number of pages in the document.
    pub page_count: usize,
}

impl PagePreview {
    /// The point on the page as a person sees it (PDF points, origin bottom-left, the
    /// coordinates a seal's rectangle is given in) at pixel position (`px`, `py`) of this image,
    /// counted from its top-left corner.
    pub fn to_page_point(&self, px: f64, py: f64) -> (f64, f64) {
        let g = &self.geometry;
        (px / f64::from(self.pixel_width) * g.width, g.height - py / f64::from(self.pixel_height) * g.height)
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is not a PDF Signet can read (no header, broken beyond repair, a limit hit).
    NotPdf(signet_pdf::Error),
    /// The document is encrypted and cannot be opened without a password, or its
    /// encryption is not supported.
    Encrypted(String),
    /// The requested page does not exist.
    PageOutOfRange {
        /// The page asked for (1-based).
        page: usize,
        /// How many pages the document has.
        page_count: usize,
    },
    /// The page's visible area (CropBox clipped to the MediaBox) has no width or height, or
    /// an infinite one.
    UnusablePageSize {
        /// The page (1-based).
        page: usize,
        /// Width as seen, in points.
        width: f64,
        /// Height as seen, in points.
        height: f64,
    },
    /// The file is larger than [`PreviewOptions::max_file_bytes`].
    TooLarge {
        /// Size of the file in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The options cannot produce an image (a resolution that is not a positive number, or
    /// no pixels allowed).
    InvalidOptions(&'static str),
    /// The renderer could not read the file or page, or it panicked (caught).
    Renderer(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "cannot read the file: {e}"),
            Error::NotPdf(e) => write!(f, "not a readable PDF: {e}"),
            Error::Encrypted(s) => write!(f, "the PDF is encrypted: {s}"),
            Error::PageOutOfRange { page, page_count: 1 } => {
                write!(f, "page {page} does not exist: the document has 1 page (pages are numbered from 1)")
            }
            Error::PageOutOfRange { page, page_count } => {
                write!(f, "page {page} does not exist: the document has {page_count} pages (pages are numbered from 1)")
            }
            Error::UnusablePageSize { page, width, height } => {
                write!(
                    f,
                    "page {page} cannot be shown: its visible area (CropBox, MediaBox) is {width} × {height} points"
                )
            }
            Error::TooLarge { size, limit } => {
                write!(f, "the file is too large to preview: {size} bytes, the limit is {limit} bytes")
            }
            Error::InvalidOptions(s) => write!(f, "invalid preview options: {s}"),
            Error::Renderer(s) => write!(f, "the page could not be rendered: {s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::NotPdf(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<signet_pdf::Error> for Error {
    fn from(e: signet_pdf::Error) -> Self {
        match e {
            signet_pdf::Error::Io(e) => Error::Io(e),
            signet_pdf::Error::Encryption(s) => Error::Encrypted(s),
            e => Error::NotPdf(e),
        }
    }
}

/// The geometry of page `page` (1-based) and the number of pages, read lazily: only the
/// cross-reference data and the page-tree path to the page are read, not the whole file.
pub fn page_geometry(path: &Path, page: usize) -> Result<(PageGeometry, usize), Error> {
    let mut doc = Document::open(FileSource::new(File::open(path)?)?, None)?;
    let (p, count) = find_page(&mut doc, page)?;
    Ok((PageGeometry::of(&p), count))
}

/// The geometry of the first `max` pages, from one opening of the file (the page tree is
/// read once and cached), and the number of pages.
pub fn pages_geometry(path: &Path, max: usize) -> Result<(Vec<PageGeometry>, usize), Error> {
    let mut doc = Document::open(FileSource::new(File::open(path)?)?, None)?;
    let (first, count) = find_page(&mut doc, 1)?;
    let mut pages = vec![PageGeometry::of(&first)];
    for n in 2..=count.min(max) {
        pages.push(PageGeometry::of(&find_page(&mut doc, n)?.0));
    }
    Ok((pages, count))
}

/// Renders page `page` (1-based) as a person sees it (CropBox, `/Rotate` applied, white
/// background, annotations with appearances included) to a PNG.
///
/// The whole file is read into memory (the renderer needs it), up to
/// [`PreviewOptions::max_file_bytes`]; geometry and image come from these same bytes. A panic
/// in the renderer is caught and returned as [`Error::Renderer`]. The renderer bounds neither
/// its time nor the size of decoded streams: run previews of untrusted files away from
/// latency-critical work.
pub fn render_page(path: &Path, page: usize, opts: &PreviewOptions) -> Result<PagePreview, Error> {
    if !(opts.dpi.is_finite() && opts.dpi > 0.0) {
        return Err(Error::InvalidOptions("dpi must be a positive number"));
    }
    if opts.max_pixels == 0 {
        return Err(Error::InvalidOptions("max_pixels must be at least 1"));
    }
    let bytes = Arc::new(read_bounded(path, opts.max_file_bytes)?);
    let mut doc = Document::open(Arc::clone(&bytes), None)?;
    let (p, page_count) = find_page(&mut doc, page)?;
    let geometry = PageGeometry::of(&p);
    let (width, height) = (geometry.width, geometry.height);
    if !(width.is_finite() && height.is_finite() && width > 0.0 && height > 0.0) {
        return Err(Error::UnusablePageSize { page, width, height });
    }
    let (pixel_width, pixel_height) = pixel_size(&geometry, opts);
    let transform = geometry.user_to_pixels(pixel_width, pixel_height);
    let png = without_panics(|| rasterize(bytes, p.id.num, page, transform, pixel_width, pixel_height))?;
    Ok(PagePreview { png, pixel_width, pixel_height, geometry, page_count })
}

/// `f()`, with a panic turned into [`Error::Renderer`] (the renderer is not ours and reads
/// hostile input; its state is dropped with the closure, so no broken invariant is seen again).
fn without_panics<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        Err(Error::Renderer(format!("the renderer panicked: {what}")))
    })
}

/// The page at 1-based `page` and the page count, or a range error naming the count.
fn find_page<S: Source>(doc: &mut Document<S>, page: usize) -> Result<(Page, usize), Error> {
    let page_count = doc.page_count()?;
    if page == 0 || page > page_count {
        return Err(Error::PageOutOfRange { page, page_count });
    }
    Ok((doc.page(page - 1)?, page_count))
}

/// The whole file, refused when longer than `limit` (also if it grows while read).
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > limit {
        return Err(Error::TooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > limit {
        return Err(Error::TooLarge { size: read, limit });
    }
    Ok(bytes)
}

/// The image size for `dpi`, lowered (keeping the aspect ratio as far as whole pixels allow)
/// to at most `max_pixels` pixels and [`MAX_SIDE`] pixels a side, and at least 1×1.
fn pixel_size(g: &PageGeometry, opts: &PreviewOptions) -> (u32, u32) {
    const SIDE: f64 = MAX_SIDE as f64;
    let max = opts.max_pixels as f64;
    let scale = f64::from(opts.dpi) / 72.0;
    let (w, h) = (g.width * scale, g.height * scale);
    // square roots first: w · h can overflow for absurd page sizes
    let area_fit = max.sqrt() / (w.sqrt() * h.sqrt());
    let k = area_fit.min(SIDE / w).min(SIDE / h).min(1.0);
    // at least one pixel, also for a NaN (0 × ∞)
    let side = |x: f64| if x >= 1.0 { x.round().min(SIDE) as u64 } else { 1 };
    let (mut pw, mut ph) = (side(w * k), side(h * k));
    // rounding up, or a side held at one pixel, may still exceed the budget
    if pw * ph > opts.max_pixels {
        if pw >= ph {
            pw = (opts.max_pixels / ph).max(1);
        } else {
            ph = (opts.max_pixels / pw).max(1);
        }
    }
    (pw as u32, ph as u32)
}

/// Renders the page whose page object is number `object` (found by hayro's own page tree)
/// with `transform` into a `pw` × `ph` PNG.
fn rasterize(
    bytes: Arc<Vec<u8>>,
    object: u32,
    page: usize,
    transform: Affine,
    pw: u32,
    ph: u32,
) -> Result<Vec<u8>, Error> {
    let pdf = Pdf::new(bytes).map_err(|e| match e {
        LoadPdfError::Decryption(d) => Error::Encrypted(format!("the renderer cannot decrypt it ({d:?})")),
        LoadPdfError::Invalid => Error::Renderer("the renderer cannot read the file".into()),
    })?;
    let pages = pdf.pages();
    let is_it = |p: &&hayro::hayro_syntax::page::Page<'_>| p.raw().obj_id().is_some_and(|id| id.obj_number == object);
    // the same page object Signet found, so that image and geometry belong together even when
    // the two readers disagree about a damaged page tree
    let Some(hp) = pages.get(page - 1).filter(is_it).or_else(|| pages.iter().find(is_it)) else {
        return Err(Error::Renderer(format!("the renderer does not find page {page} (object {object})")));
    };
    let (w, h) = (u16::try_from(pw), u16::try_from(ph));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(Error::Renderer(format!("{pw}×{ph} pixels is beyond the renderer's size limit")));
    };
    let cache = RenderCache::new();
    let mut ctx = RenderContext::new(w, h);
    render_into(hp, &cache, &InterpreterSettings::default(), &RenderSettings::default(), &mut ctx, transform);
    ctx.flush();
    let mut pixmap = Pixmap::new(w, h);
    ctx.render_with(
        &mut pixmap,
        &mut Resources::default(),
        RasterizerSettings { target_init: TargetInit::Clear(WHITE), ..Default::default() },
    );
    encode_png(pw, ph, pixmap.data_as_u8_slice())
}

/// PNG of premultiplied RGBA pixels laid over white: 8-bit grey when no pixel has colour (most
/// document pages: a third of the data, about three times faster to compress and smaller than
/// RGB), 8-bit RGB otherwise.
fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, Error> {
    let over_white = |p: &[u8]| {
        let k = 255 - p[3];
        [p[0].saturating_add(k), p[1].saturating_add(k), p[2].saturating_add(k)]
    };
    let grey = rgba.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]);
    let (colour, data): (png::ColorType, Vec<u8>) = if grey {
        (png::ColorType::Grayscale, rgba.chunks_exact(4).map(|p| over_white(p)[0]).collect())
    } else {
        (png::ColorType::Rgb, rgba.chunks_exact(4).flat_map(over_white).collect())
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    // png 0.17 defaults to its fastest deflate and one filter for all rows: files 3× larger
    // than zlib's default level with a filter chosen per row, which costs ~4 ms for a grey A4
    encoder.set_compression(png::Compression::Default);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let failed = |e: png::EncodingError| Error::Renderer(format!("PNG encoding failed: {e}"));
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&data).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(w: f64, h: f64) -> PageGeometry {
        PageGeometry { width: w, height: h, rotate: 0, crop_box: [0.0, 0.0, w, h], media_box: [0.0, 0.0, w, h] }
    }

    fn opts(dpi: f32, max_pixels: u64) -> PreviewOptions {
        PreviewOptions { dpi, max_pixels, ..PreviewOptions::default() }
    }

    #[test]
    fn a4_at_96_dpi() {
        assert_eq!(pixel_size(&geometry(595.0, 842.0), &opts(96.0, 16_000_000)), (793, 1123));
    }

    #[test]
    fn clamped_to_max_pixels() {
        let (w, h) = pixel_size(&geometry(595.0, 842.0), &opts(1200.0, 1_000_000));
        assert!(w * h <= 1_000_000 && w * h > 990_000, "{w}×{h}");
        assert!((f64::from(w) / f64::from(h) - 595.0 / 842.0).abs() < 0.002);
    }

    #[test]
    fn grey_pages_are_encoded_as_grey() {
        let decode = |bytes: &[u8]| {
            let mut reader = png::Decoder::new(bytes).read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buf).unwrap();
            buf.truncate(info.buffer_size());
            (info.color_type, buf)
        };
        // premultiplied: opaque black, half-transparent black, transparent
        let grey = encode_png(3, 1, &[0, 0, 0, 255, 0, 0, 0, 128, 0, 0, 0, 0]).unwrap();
        assert_eq!(decode(&grey), (png::ColorType::Grayscale, vec![0, 127, 255]));
        // opaque red, half-transparent red
        let colour = encode_png(2, 1, &[255, 0, 0, 255, 128, 0, 0, 128]).unwrap();
        assert_eq!(decode(&colour), (png::ColorType::Rgb, vec![255, 0, 0, 255, 127, 127]));
    }

    #[test]
    fn a_renderer_panic_becomes_an_error() {
        // vello_cpu panics on a canvas 65,535 pixels high (why MAX_SIDE exists)
        let bytes = Arc::new(signet_testkit::test_pdf(&[signet_testkit::TestPage::A4]));
        let mut doc = Document::open(Arc::clone(&bytes), None).unwrap();
        let p = doc.page(0).unwrap();
        let err = without_panics(|| rasterize(bytes, p.id.num, 1, Affine::IDENTITY, 1, 65_535)).unwrap_err();
        assert!(matches!(&err, Error::Renderer(s) if s.starts_with("the renderer panicked: ")), "{err:?}");
    }

    #[test]
    fn absurd_pages_stay_within_bounds() {
        let huge = [(1e300, 1e300), (1e308, 1e308), (f64::MAX, 1.0), (1e300, 1e-300)];
        for (gw, gh) in [(14_400.0, 1.0), (1.0, 14_400.0), (1e-9, 1e-9)].into_iter().chain(huge) {
            for max in [1, 2, 100, 16_000_000, u64::MAX] {
                let (w, h) = pixel_size(&geometry(gw, gh), &opts(96.0, max));
                assert!(w >= 1 && h >= 1 && w <= MAX_SIDE && h <= MAX_SIDE, "{gw}×{gh} max {max}: {w}×{h}");
                assert!(u64::from(w) * u64::from(h) <= max, "{gw}×{gh} max {max}: {w}×{h}");
            }
        }
    }

    #[test]
    fn user_to_pixels_agrees_with_hayro() {
        use signet_testkit::TestPage;
        let media = [100.0, 200.0, 712.0, 992.0];
        let pages: Vec<TestPage> = [0, 90, 180, 270]
            .map(|rotate| TestPage { media_box: media, crop_box: Some([130.0, 230.0, 682.0, 962.0]), rotate })
            .to_vec();
        let bytes = signet_testkit::marked_test_pdf(&pages);
        let mut doc = Document::open(bytes.clone(), None).unwrap();
        let pdf = Pdf::new(bytes).unwrap();
        for (i, hp) in pdf.pages().iter().enumerate() {
            let g = PageGeometry::of(&doc.page(i).unwrap());
            let (rw, rh) = hp.render_dimensions();
            assert_eq!((g.width, g.height), (f64::from(rw), f64::from(rh)));
            let ours = g.user_to_pixels(g.width as u32, g.height as u32).as_coeffs();
            let hayros = hp.initial_transform(true).as_coeffs();
            for (a, b) in ours.iter().zip(hayros) {
                assert!((a - b).abs() < 1e-9, "rotate {}: {ours:?} vs {hayros:?}", g.rotate);
            }
        }
    }

    #[test]
    fn user_to_pixels_inverts_placement() {
        // the visible page's corners, as `signet_pades::placement::to_user_space` maps them
        let crop = [100.0, 200.0, 500.0, 800.0];
        for rotate in [0u16, 90, 180, 270] {
            let (w, h) = if rotate % 180 == 90 { (600.0, 400.0) } else { (400.0, 600.0) };
            let g = PageGeometry { width: w, height: h, rotate, crop_box: crop, media_box: crop };
            let [llx, lly, urx, ury] = crop;
            let to_user = |u: f64, v: f64| match rotate {
                90 => (urx - v, lly + u),
                180 => (urx - u, ury - v),
                270 => (llx + v, ury - u),
                _ => (llx + u, lly + v),
            };
            let t = g.user_to_pixels(2 * w as u32, 2 * h as u32);
            for (u, v) in [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h), (10.0, 30.0)] {
                let p = t * hayro::kurbo::Point::from(to_user(u, v));
                assert!(
                    (p.x - 2.0 * u).abs() < 1e-9 && (p.y - 2.0 * (h - v)).abs() < 1e-9,
                    "{rotate}: {u},{v} → {p:?}"
                );
            }
        }
    }
}
