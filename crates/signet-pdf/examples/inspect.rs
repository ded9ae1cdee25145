//! Prints what the lazy reader sees of a PDF: `cargo run --example inspect FILE [PASSWORD]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: inspect FILE [PASSWORD]");
        std::process::exit(2);
    };
    let run = || -> signet_pdf::Result<()> {
        let src = signet_pdf::FileSource::open(path)?;
        let mut doc = signet_pdf::Document::open(src, args.get(2).map(|s| s.as_bytes()))?;
        let n = doc.page_count()?;
        println!(
            "{path}: version {}, {n} pages, xref {:?}, repaired {}, objects {}",
            doc.header_version(),
            doc.xref().style,
            doc.xref().repaired,
            doc.xref().entries.len()
        );
        for i in [0, n.saturating_sub(1)] {
            let p = doc.page(i)?;
            println!("  page {}: {} media {:?} crop {:?} rotate {}", i + 1, p.id, p.media_box, p.crop_box, p.rotate);
        }
        let cat = doc.catalog()?;
        println!("  catalog keys: {:?}", cat.iter().map(|(k, _)| k).collect::<Vec<_>>());
        Ok(())
    };
    if let Err(e) = run() {
        println!("{path}: ERROR {e}");
    }
}
