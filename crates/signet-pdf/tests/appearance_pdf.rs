//! A visible-signature appearance placed on a hand-written one-page PDF, checked by
//! independent tools: `qpdf --check`, `pdftotext` and `pdftoppm` (Poppler).
//!
//! When a tool is not installed the check is skipped with a message, so that the test
//! suite still runs on machines without them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use signet_pdf::appearance::{AppearanceSpec, SealImage, build_appearance};
use signet_pdf::{Dict, ObjRef, Object, Stream};

const PAGE_W: f64 = 612.0;
const PAGE_H: f64 = 792.0;
/// Where the page content puts the form: `q 1 0 0 1 100 500 cm /Sig Do Q`.
const ORIGIN: (f64, f64) = (100.0, 500.0);

/// Serialises `objects` (object `i + 1` is `objects[i]`) as a complete PDF with a classic
/// cross-reference table.
fn write_pdf(objects: &[Object], root: ObjRef) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        writeln!(out, "{} 0 obj", i + 1).unwrap();
        o.write_to(&mut out);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for off in offsets {
        writeln!(out, "{off:010} 00000 n ").unwrap();
    }
    let trailer = Dict::new().with("Size", objects.len() as i64 + 1).with("Root", root);
    out.extend_from_slice(b"trailer\n");
    Object::Dict(trailer).write_to(&mut out);
    write!(out, "\nstartxref\n{xref}\n%%EOF\n").unwrap();
    out
}

/// A red RGBA seal, opaque in the middle and transparent along a 2-pixel border.
fn red_seal(side: u32) -> Vec<u8> {
    let mut data = Vec::new();
    for y in 0..side {
        for x in 0..side {
            let border = x < 2 || y < 2 || x >= side - 2 || y >= side - 2;
            data.extend_from_slice(&[220, 20, 20, if border { 0 } else { 255 }]);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side, side);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&data).unwrap();
    out
}

/// Runs a tool, or returns `None` (after saying so) when it is not installed.
fn run(tool: &str, args: &[&str]) -> Option<Output> {
    match Command::new(tool).args(args).output() {
        Ok(o) => Some(o),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipping the {tool} check: {tool} is not installed");
            None
        }
        Err(e) => panic!("running {tool}: {e}"),
    }
}

fn page_with_appearance(spec: &AppearanceSpec) -> (Vec<u8>, String) {
    // 1 catalog, 2 pages, 3 page, 4 page content; then the appearance's objects; the form last.
    let mut objects: Vec<Object> = vec![Object::Null; 4];
    let form = build_appearance(spec, &mut |o| {
        objects.push(o);
        ObjRef::new(objects.len() as u32, 0)
    })
    .expect("appearance");
    objects.push(form.into());
    let form_ref = ObjRef::new(objects.len() as u32, 0);

    let content = format!("q 1 0 0 1 {} {} cm /Sig Do Q\n", ORIGIN.0, ORIGIN.1);
    objects[0] = Dict::new().with("Type", Object::name("Catalog")).with("Pages", ObjRef::new(2, 0)).into();
    objects[1] = Dict::new()
        .with("Type", Object::name("Pages"))
        .with("Kids", vec![Object::Ref(ObjRef::new(3, 0))])
        .with("Count", 1)
        .into();
    objects[2] = Dict::new()
        .with("Type", Object::name("Page"))
        .with("Parent", ObjRef::new(2, 0))
        .with("MediaBox", vec![0.into(), 0.into(), PAGE_W.into(), PAGE_H.into()])
        .with("Resources", Dict::new().with("XObject", Dict::new().with("Sig", form_ref)))
        .with("Contents", ObjRef::new(4, 0))
        .into();
    objects[3] = Stream::new(Dict::new(), content.into_bytes()).into();
    (write_pdf(&objects, ObjRef::new(1, 0)), format!("{form_ref}"))
}

/// A decoded rendering, 8-bit samples.
struct Raster {
    buf: Vec<u8>,
    line_size: usize,
    channels: usize,
}

impl Raster {
    fn load(path: &Path) -> Raster {
        let mut dec = png::Decoder::new(std::fs::File::open(path).unwrap());
        dec.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        Raster { buf, line_size: info.line_size, channels: info.color_type.samples() }
    }

    fn pixel(&self, px: (f64, f64)) -> [u8; 3] {
        let i = px.1.round() as usize * self.line_size + px.0.round() as usize * self.channels;
        let b = &self.buf;
        if self.channels >= 3 { [b[i], b[i + 1], b[i + 2]] } else { [b[i]; 3] }
    }
}

/// Page point → pixel at `dpi`, origin top left.
fn to_pixel(x: f64, y: f64, dpi: f64) -> (f64, f64) {
    (x * dpi / 72.0, (PAGE_H - y) * dpi / 72.0)
}

#[test]
fn visible_signature_on_a_page_passes_qpdf_pdftotext_and_pdftoppm() {
    let lines = ["Signed by Zoë Martin", "签名 2025-01-01 12:00 UTC"];
    let spec = AppearanceSpec {
        image: Some(SealImage::from_bytes(red_seal(40)).unwrap()),
        text: lines.iter().map(|s| s.to_string()).collect(),
        ..AppearanceSpec::new(200.0, 60.0)
    };
    let (pdf, _) = page_with_appearance(&spec);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seal.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let p = path.to_str().unwrap();

    if let Some(o) = run("qpdf", &["--check", p]) {
        assert!(
            o.status.success(),
            "qpdf --check failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    if let Some(o) = run("pdftotext", &[p, "-"]) {
        assert!(o.status.success(), "pdftotext: {}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains("Signed by Zoë Martin"), "pdftotext gave {text:?}");
        // the CJK characters from Droid Sans Fallback, the rest of the line from DejaVu Sans
        assert!(text.contains("签名 2025-01-01 12:00 UTC"), "pdftotext gave {text:?}");
        assert!(o.stderr.is_empty(), "pdftotext warned: {}", String::from_utf8_lossy(&o.stderr));
    }

    let prefix = dir.path().join("page");
    if let Some(o) = run("pdftoppm", &["-r", "50", "-png", "-singlefile", p, prefix.to_str().unwrap()]) {
        assert!(o.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stderr.is_empty(), "pdftoppm warned: {}", String::from_utf8_lossy(&o.stderr));
        let raster = Raster::load(&dir.path().join("page.png"));
        // The square image fills the left of the 200×60 box, inside a small padding: its
        // centre is near (30, 30) in form space.
        let centre = raster.pixel(to_pixel(ORIGIN.0 + 30.0, ORIGIN.1 + 30.0, 50.0));
        assert!(centre[0] > 180 && centre[1] < 80 && centre[2] < 80, "image centre is {centre:?}");
        // Far from the box the page stays white.
        let blank = raster.pixel(to_pixel(400.0, 100.0, 50.0));
        assert_eq!(blank, [255, 255, 255]);
        // Some dark text pixels exist right of the image.
        let dark = (0..40).any(|i| {
            let x = ORIGIN.0 + 70.0 + f64::from(i) * 3.0;
            (10..50).step_by(2).any(|dy| raster.pixel(to_pixel(x, ORIGIN.1 + f64::from(dy), 50.0))[0] < 128)
        });
        assert!(dark, "no text pixels found");
    }
}

#[test]
fn image_only_and_text_only_pages_pass_qpdf() {
    let specs = [
        AppearanceSpec { image: Some(SealImage::from_bytes(red_seal(8)).unwrap()), ..AppearanceSpec::new(50.0, 50.0) },
        AppearanceSpec { text: vec!["Only text".into()], ..AppearanceSpec::new(120.0, 30.0) },
    ];
    for spec in &specs {
        let (pdf, _) = page_with_appearance(spec);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.pdf");
        std::fs::write(&path, &pdf).unwrap();
        if let Some(o) = run("qpdf", &["--check", path.to_str().unwrap()]) {
            assert!(o.status.success(), "qpdf: {}", String::from_utf8_lossy(&o.stdout));
        }
    }
}
