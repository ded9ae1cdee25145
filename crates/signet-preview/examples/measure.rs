//! Times page previews as the server makes them (each page a separate call that reads the
//! file, finds the page and renders it to PNG):
//! `cargo run --release -p signet-preview --example measure -- [--dpi 96] [--runs 5] FILE...`
//! Prints, per file, the best and the median over the runs of the milliseconds per page (the
//! best is the cost; the median also shows how noisy the machine is).
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use signet_preview::{PreviewOptions, page_geometry, render_page};

fn main() -> ExitCode {
    let mut opts = PreviewOptions::default();
    let mut runs = 5usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dpi" => opts.dpi = args.next().and_then(|v| v.parse().ok()).unwrap_or(opts.dpi),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs).max(1),
            _ => files.push(PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        eprintln!("usage: measure [--dpi N] [--runs N] FILE...");
        return ExitCode::from(2);
    }
    println!("{:<34} {:>5} {:>10} {:>8} {:>8} {:>9}", "file", "pages", "pixels", "best ms", "median", "PNG KB");
    for file in &files {
        let name = file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let pages = match page_geometry(file, 1) {
            Ok((_, n)) => n,
            Err(e) => {
                println!("{name:<34} error: {e}");
                continue;
            }
        };
        let mut times = Vec::new();
        let (mut png_bytes, mut size, mut failed) = (0usize, (0, 0), None);
        for _ in 0..runs {
            let start = Instant::now();
            png_bytes = 0;
            for page in 1..=pages {
                match render_page(file, page, &opts) {
                    Ok(p) => {
                        png_bytes += p.png.len();
                        size = (p.pixel_width, p.pixel_height);
                    }
                    Err(e) => failed = Some(format!("page {page}: {e}")),
                }
            }
            times.push(start.elapsed().as_secs_f64() * 1000.0 / pages.max(1) as f64);
        }
        times.sort_by(f64::total_cmp);
        let (best, median) = (times[0], times[times.len() / 2]);
        let pixels = format!("{}x{}", size.0, size.1);
        let kb = png_bytes as f64 / pages.max(1) as f64 / 1024.0;
        println!("{name:<34} {pages:>5} {pixels:>10} {best:>8.2} {median:>8.2} {kb:>9.1}");
        if let Some(e) = failed {
            println!("  error: {e}");
        }
    }
    ExitCode::SUCCESS
}
