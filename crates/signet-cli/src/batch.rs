//! `signet batch`: signs every PDF of a folder through a server's batch API.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;
use signet_client::{Batch, Client, Level, SignOptions, Sink};

use crate::sign::{Usage, one_line};
use crate::{EXIT_USAGE, secret_from_env};

#[derive(Args, Debug)]
#[command(after_help = "Uploads every *.pdf of DIR (not its subfolders) to `signet serve` as one batch
(POST /api/v1/batches), shows the progress, then downloads the signed documents
(results.zip) and puts them into OUTDIR under their own names. The server signs with the
tenant's identity and template named here; the API key (scope sign-document) is read from an
environment variable, never from the command line.

Progress goes to stderr: a bar redrawn in place on a terminal, a line every few seconds
otherwise. The summary and the documents that failed, with the reason, go to stdout.

Exit status: 0 when every document was signed; 1 when some failed or the batch could not be
completed (server unreachable, server error); 2 on usage errors or a request the server
refused (unknown identity or template, missing scope).

Examples:
  export SIGNET_API_KEY=sgk_...
  signet batch invoices/ --identity company-seal --template stamp-bottom-right
  signet batch invoices/ --identity company-seal --template stamp-bottom-right --level b-lt \\
      -o signed-invoices/
  signet batch scans/ --identity company-seal --server http://signet.internal:8080 --no-wait
  curl -s -H \"Authorization: Bearer $SIGNET_API_KEY\" http://127.0.0.1:8080/api/v1/batches/bat_...")]
pub(crate) struct BatchArgs {
    /// The folder whose PDFs are signed.
    dir: PathBuf,
    /// The server's base URL.
    #[arg(long, value_name = "URL", env = "SIGNET_SERVER_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Environment variable holding the API key (sgk_…, scope sign-document).
    #[arg(long, value_name = "VAR", default_value = "SIGNET_API_KEY")]
    api_key_env: String,
    /// The tenant's signing identity.
    #[arg(long, value_name = "NAME")]
    identity: String,
    /// A placement template of the tenant: the seal is shown where it says.
    #[arg(long, value_name = "NAME")]
    template: Option<String>,
    /// PAdES level: b-b, b-t, b-lt or b-lta [server default: b-b].
    #[arg(long, value_name = "LEVEL")]
    level: Option<String>,
    /// Where the signed PDFs go [default: DIR/signed].
    #[arg(short, long, value_name = "OUTDIR")]
    output: Option<PathBuf>,
    /// Upload, print the batch id and its status URL, and return without waiting.
    #[arg(long)]
    no_wait: bool,
}

pub(crate) fn run(a: BatchArgs) -> ExitCode {
    match batch(&a) {
        Ok(code) => code,
        Err(e) => {
            if PROGRESS_LINE.with(|p| p.replace(false)) {
                eprintln!();
            }
            eprintln!("signet batch: {}", one_line(&e));
            if e.downcast_ref::<Usage>().is_some() { ExitCode::from(EXIT_USAGE) } else { ExitCode::FAILURE }
        }
    }
}

thread_local! {
    /// Whether the progress bar is on the terminal's current line (an error starts a new one).
    static PROGRESS_LINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A refusal of the server as one line; the client's own mistakes (4xx but 408 and 429) as
/// usage errors.
fn refusal(what: &str, e: signet_client::Error) -> anyhow::Error {
    let text = format!("{what}: {e}");
    match e.status() {
        Some(s) if (400..500).contains(&s) && s != 429 && s != 408 => Usage(text).into(),
        _ => anyhow::anyhow!(text),
    }
}

fn batch(a: &BatchArgs) -> anyhow::Result<ExitCode> {
    let base = a.server.trim_end_matches('/').to_string();
    if base.starts_with("https://") {
        bail!(Usage(format!("{base}: https is not supported yet; use http:// (a TLS proxy in front of the server)")));
    }
    if !base.starts_with("http://") {
        bail!(Usage(format!("--server {base}: give a URL like http://127.0.0.1:8080")));
    }
    let token = secret_from_env(&a.api_key_env).map_err(|e| Usage(format!("--api-key-env: {e}")))?;
    let files = pdfs_in(&a.dir)?;
    let out_dir = a.output.clone().unwrap_or_else(|| a.dir.join("signed"));
    let level = match &a.level {
        None => None,
        Some(l) => match serde_json::from_value::<Level>(Value::String(l.to_ascii_lowercase())) {
            Ok(Level::Other) | Err(_) => bail!(Usage(format!("--level {l}: give b-b, b-t, b-lt or b-lta"))),
            Ok(level) => Some(level),
        },
    };
    let options = SignOptions {
        identity: Some(a.identity.clone()),
        template: a.template.clone(),
        level,
        ..SignOptions::default()
    };
    // no time limit: a large batch takes its time to upload and to download
    let client = Client::new(base).with_token(token).with_timeout(None);

    let bytes: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    eprintln!("uploading {} documents ({:.1} MB) from {}", files.len(), bytes as f64 / 1e6, a.dir.display());
    let started = Instant::now();
    let created = client.create_batch(&files, &options).map_err(|e| refusal("the batch was not accepted", e))?;
    let id = created.id;
    let status_url = client.url(&created.status_url);
    if a.no_wait {
        println!("batch {id}: {} documents accepted", created.total);
        println!("status:  {status_url}");
        println!("results: {status_url}/results.zip");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("batch {id}: {} documents accepted in {:.1} s", created.total, started.elapsed().as_secs_f64());
    let status = wait(&client, &id)?;
    std::fs::create_dir_all(&out_dir).map_err(|e| Usage(format!("cannot create {}: {e}", out_dir.display())))?;
    let manifest = download(&client, &id, &out_dir)?;

    let (total, done) = (status.total, status.done);
    let failed: Vec<&Value> = manifest["items"]
        .as_array()
        .map(|items| items.iter().filter(|i| i["state"] == "failed").collect())
        .unwrap_or_default();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "signed {done} of {total} documents in {secs:.1} s ({:.0}/s) into {}",
        total as f64 / secs.max(0.001),
        out_dir.display()
    );
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} failed:", failed.len());
    for item in failed {
        println!("  {}: {}", item["name"].as_str().unwrap_or("?"), item["error"].as_str().unwrap_or("no reason given"));
    }
    Ok(ExitCode::FAILURE)
}

/// The `*.pdf` files of `dir` (not of its subfolders), by name.
fn pdfs_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Usage(format!("cannot read the folder {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Usage(format!("reading {}: {e}", dir.display())))?.path();
        let is_pdf = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
        if is_pdf && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        bail!(Usage(format!("no .pdf file in {}", dir.display())));
    }
    files.sort();
    Ok(files)
}

/// Polls the batch until no document is pending, showing the progress on stderr; returns its
/// last status.
fn wait(client: &Client, id: &str) -> anyhow::Result<Batch> {
    let terminal = io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_line = Instant::now();
    let mut first_handled: Option<(Instant, i64)> = None;
    loop {
        let v = client.show_batch(id, None, Some(0)).map_err(|e| refusal(&format!("batch {id}"), e))?;
        let handled = v.done + v.failed;
        let base = *first_handled.get_or_insert((Instant::now(), handled));
        let elapsed = base.0.elapsed().as_secs_f64();
        let rate = if elapsed > 0.2 { (handled - base.1) as f64 / elapsed } else { 0.0 };
        let finished = v.is_done();
        if terminal {
            // back to the line's start, the bar, then clear what a longer line left
            eprint!("\r{}\x1b[K", progress_line(v.done, v.failed, v.total, rate));
            PROGRESS_LINE.with(|p| p.set(true));
            if finished {
                eprintln!();
                PROGRESS_LINE.with(|p| p.set(false));
            }
            let _ = io::stderr().flush();
        } else if finished || last_line.elapsed() >= Duration::from_secs(5) {
            eprintln!("{}", progress_line(v.done, v.failed, v.total, rate));
            last_line = Instant::now();
        }
        if finished {
            return Ok(v);
        }
        let pause = if started.elapsed() < Duration::from_secs(10) { 200 } else { 500 };
        std::thread::sleep(Duration::from_millis(pause));
    }
}

/// `[#######.....] 712/1000 signed, 3 failed, 120/s`
fn progress_line(done: i64, failed: i64, total: i64, rate: f64) -> String {
    const WIDTH: i64 = 30;
    let filled = if total > 0 { ((done + failed) * WIDTH / total).clamp(0, WIDTH) } else { WIDTH };
    let bar: String = (0..WIDTH).map(|i| if i < filled { '#' } else { '.' }).collect();
    format!("[{bar}] {done}/{total} signed, {failed} failed, {rate:.0}/s")
}

/// Downloads results.zip into `out_dir`, puts its PDFs there and returns its results.json.
fn download(client: &Client, id: &str, out_dir: &Path) -> anyhow::Result<Value> {
    let tmp = tempfile::Builder::new()
        .prefix(".signet-results-")
        .suffix(".zip")
        .tempfile_in(out_dir)
        .with_context(|| format!("creating a file in {}", out_dir.display()))?;
    client.batch_results(id, Sink::Writer(&mut tmp.as_file())).map_err(|e| refusal("downloading the results", e))?;
    let mut archive = zip::ZipArchive::new(tmp.reopen().context("reading results.zip")?)
        .context("results.zip from the server is not a zip")?;
    let mut manifest = None;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).context("reading results.zip")?;
        // only a plain file name, whatever the archive says
        let Some(name) = entry.enclosed_name().and_then(|p| p.file_name().map(|n| n.to_os_string())) else {
            continue;
        };
        if name == "results.json" {
            let mut text = String::new();
            entry.read_to_string(&mut text).context("reading results.json")?;
            manifest = Some(serde_json::from_str::<Value>(&text).context("results.json is not JSON")?);
            continue;
        }
        let dest = out_dir.join(&name);
        let mut part = tempfile::Builder::new()
            .prefix(".signet-out-")
            .tempfile_in(out_dir)
            .with_context(|| format!("creating a file in {}", out_dir.display()))?;
        io::copy(&mut entry, part.as_file_mut()).with_context(|| format!("extracting {}", dest.display()))?;
        part.persist(&dest).map_err(|e| e.error).with_context(|| format!("writing {}", dest.display()))?;
    }
    manifest.context("results.zip has no results.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bar() {
        assert_eq!(progress_line(15, 0, 30, 12.0), "[###############...............] 15/30 signed, 0 failed, 12/s");
        assert_eq!(progress_line(0, 0, 0, 0.0), format!("[{}] 0/0 signed, 0 failed, 0/s", "#".repeat(30)));
    }
}
