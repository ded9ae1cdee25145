//! `signet bench`: signs one PDF in memory, over and over, for a fixed time and reports the
//! throughput and latency. Each iteration is what a signing service does per request: open
//! the document from bytes, prepare the update, hash, build the CMS, attach, and assemble
//! the signed output (original bytes + update) in a new buffer. The key is loaded once.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use signet_crypto::{DigestAlgorithm, Identity};
use signet_pades::{IdentityCms, SignatureOptions};
use signet_pdf::Document;
use signet_validate::ValidationOptions;

use crate::secret_from_env;

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  signet bench --pdf one-page.pdf --p12 signer.p12 --p12-password-env P12_PASSWORD --seconds 10
  signet bench --pdf one-page.pdf --p12 signer.p12 --p12-password-env P12_PASSWORD --verify --trust root-ca.pem
  signet bench --pdf one-page.pdf --p12 signer.p12 --p12-password-env P12_PASSWORD --level b-lta \\
      --tsa http://127.0.0.1:8080/tsa --verify --trust root-ca.pem
  signet bench --pdf signed-elsewhere.pdf --verify-only --trust root-ca.pem

Above B-B each iteration is a whole `signet sign --level` minus process start: the document
is signed from its file into a temporary file, with the TSA, OCSP and CRL requests that level
makes.")]
pub(crate) struct BenchArgs {
    /// The PDF to sign (read once into memory; never modified).
    #[arg(long, value_name = "FILE")]
    pdf: PathBuf,
    /// PKCS#12 file with the key and its certificate chain.
    #[arg(long, value_name = "FILE", required_unless_present = "verify_only")]
    p12: Option<PathBuf>,
    /// Environment variable holding the PKCS#12 password (default: empty password).
    #[arg(long, value_name = "VAR")]
    p12_password_env: Option<String>,
    /// How long to run each measurement, in seconds.
    #[arg(long, value_name = "N", default_value_t = 5.0)]
    seconds: f64,
    /// Signing threads; each signs its own documents independently (1 = one core).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// Digest algorithm.
    #[arg(long, value_name = "ALG", default_value = "sha256", value_parser = ["sha256", "sha384", "sha512"])]
    digest: String,
    /// Also measure verification of the signed document, the same way (in memory: open,
    /// check the byte range, digest, CMS signature, certificate path and later changes).
    #[arg(long)]
    verify: bool,
    /// Only measure verification of --pdf as it is (an already signed PDF, from any tool).
    #[arg(long, conflicts_with_all = ["p12", "level"])]
    verify_only: bool,
    /// Trust anchor for --verify (PEM or DER; repeat for more). Without one, verification
    /// does all the work but only integrity is required to pass.
    #[arg(long, value_name = "ROOT.pem")]
    trust: Vec<PathBuf>,
    /// PAdES level to sign at (above b-b: with the network requests of --tsa and the
    /// certificates' OCSP/CRL URLs).
    #[arg(long, value_name = "LEVEL", default_value = "b-b", value_parser = ["b-b", "b-t", "b-lt", "b-lta"])]
    level: String,
    #[command(flatten)]
    services: crate::services::ServiceArgs,
    /// Print the results as one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: BenchArgs) -> ExitCode {
    match bench(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet bench: {}", crate::sign::one_line(&e));
            if e.downcast_ref::<crate::sign::Usage>().is_some() {
                ExitCode::from(crate::EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// What one measurement found.
struct Stats {
    label: &'static str,
    threads: u32,
    count: u64,
    elapsed: Duration,
    /// Time the worker threads spent on a CPU (Linux), when known.
    on_cpu: Option<Duration>,
    mean: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Stats {
    fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    /// Documents per second of CPU time actually given to the workers: what one fully
    /// available core does, even when other processes compete for it.
    fn per_cpu_second(&self) -> Option<f64> {
        self.on_cpu.filter(|d| !d.is_zero()).map(|d| self.count as f64 / d.as_secs_f64())
    }

    fn print(&self) {
        println!(
            "{:<7} {:>10.1} docs/s  ({} docs in {:.2} s, {} thread{})  latency mean {:.3} ms  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            self.label,
            self.per_second(),
            self.count,
            self.elapsed.as_secs_f64(),
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            ms(self.mean),
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
        );
        if let (Some(cpu), Some(rate)) = (self.on_cpu, self.per_cpu_second()) {
            println!(
                "{:<7} {:>10.1} docs per CPU-second  (on CPU {:.2} s of {:.2} s wall per thread)",
                "",
                rate,
                cpu.as_secs_f64() / f64::from(self.threads),
                self.elapsed.as_secs_f64()
            );
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "threads": self.threads,
            "count": self.count,
            "seconds": self.elapsed.as_secs_f64(),
            "docs_per_s": self.per_second(),
            "on_cpu_seconds": self.on_cpu.map(|d| d.as_secs_f64()),
            "docs_per_cpu_second": self.per_cpu_second(),
            "mean_ms": ms(self.mean),
            "p50_ms": ms(self.p50),
            "p99_ms": ms(self.p99),
            "max_ms": ms(self.max),
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bench(a: &BenchArgs) -> anyhow::Result<()> {
    use crate::sign::Usage;
    if !(a.seconds.is_finite() && a.seconds > 0.0) {
        bail!(Usage("--seconds must be a positive number".into()));
    }
    if !a.trust.is_empty() && !a.verify && !a.verify_only {
        bail!(Usage("--trust is for --verify or --verify-only".into()));
    }
    let pdf = std::fs::read(&a.pdf).map_err(|e| Usage(format!("cannot read {}: {e}", a.pdf.display())))?;
    let duration = Duration::from_secs_f64(a.seconds);
    if a.verify_only {
        if !a.json {
            println!(
                "signet bench: verifying {} ({} bytes) as it is, {} s, load average {}",
                a.pdf.display(),
                pdf.len(),
                a.seconds,
                load_average().as_deref().unwrap_or("unknown")
            );
        }
        let v = measure_verify(a, &pdf, duration)?;
        if a.json {
            let o = serde_json::json!({
                "pdf": a.pdf.display().to_string(),
                "pdf_bytes": pdf.len(),
                "load_average": load_average(),
                "verify": v.json(),
            });
            println!("{o}");
        } else {
            v.print();
        }
        return Ok(());
    }
    let Some(p12_path) = &a.p12 else { bail!(Usage("--p12 is required".into())) };
    let p12 = std::fs::read(p12_path).map_err(|e| Usage(format!("cannot read {}: {e}", p12_path.display())))?;
    let pw = match &a.p12_password_env {
        Some(v) => secret_from_env(v).map_err(|e| Usage(e.to_string()))?,
        None => String::new(),
    };
    let identity = Identity::from_pkcs12(&p12, &pw).with_context(|| format!("cannot load {}", p12_path.display()))?;
    let digest: DigestAlgorithm = a.digest.parse().map_err(|e| Usage(format!("{e}")))?;
    let opts = SignatureOptions::default();

    let level: signet_pades::Level = a.level.parse().map_err(Usage)?;
    let parts = a.services.parts()?;
    if level >= signet_pades::Level::BT && parts.tsa_url().is_none() {
        bail!(Usage(format!("--level {} needs --tsa URL", a.level)));
    }
    let built = parts.build();
    let services = built.services(digest);
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let out_path = scratch.path().join("signed.pdf");

    // one signature first: fails early on a document we cannot sign, and is the input of the
    // verify measurement
    let cms = IdentityCms::new(&identity, digest, None);
    let sign_one = || -> anyhow::Result<Vec<u8>> {
        if level == signet_pades::Level::BB {
            sign_once(&pdf, &cms, &opts)
        } else {
            signet_pades::sign_file_at_level(&a.pdf, &out_path, None, &opts, &cms, level, services, false)?;
            Ok(std::fs::read(&out_path)?)
        }
    };
    let signed = sign_one().with_context(|| format!("cannot sign {}", a.pdf.display()))?;

    if !a.json {
        println!(
            "signet bench: {} ({} bytes), key {:?}, {}, PAdES {level}, {} s per measurement, load average {}",
            a.pdf.display(),
            pdf.len(),
            identity.key_kind(),
            digest.name(),
            a.seconds,
            load_average().as_deref().unwrap_or("unknown")
        );
    }
    let threads = if level == signet_pades::Level::BB { a.threads } else { 1 };
    let sign = measure("sign", threads, duration, || sign_one().map(drop))?;
    if !a.json {
        sign.print();
    }
    let verify = if a.verify {
        if !a.json {
            println!("verifying the {} bytes signed at {level}", signed.len());
        }
        let v = measure_verify(a, &signed, duration)?;
        if !a.json {
            v.print();
        }
        Some(v)
    } else {
        None
    };
    if a.json {
        let mut o = serde_json::json!({
            "pdf": a.pdf.display().to_string(),
            "pdf_bytes": pdf.len(),
            "key": format!("{:?}", identity.key_kind()),
            "digest": digest.name(),
            "level": level.to_string(),
            "signed_bytes": signed.len(),
            "load_average": load_average(),
            "sign": sign.json(),
        });
        if let Some(v) = verify {
            o["verify"] = v.json();
        }
        println!("{o}");
    }
    Ok(())
}

/// Verifies `signed` once (it must pass), then over and over for `duration`.
fn measure_verify(a: &BenchArgs, signed: &[u8], duration: Duration) -> anyhow::Result<Stats> {
    use crate::sign::Usage;
    let mut anchors = Vec::new();
    for t in &a.trust {
        let bytes = std::fs::read(t).map_err(|e| Usage(format!("cannot read {}: {e}", t.display())))?;
        anchors.extend(
            signet_crypto::certificates_from_pem_or_der(&bytes).map_err(|e| Usage(format!("{}: {e}", t.display())))?,
        );
    }
    let vopts = ValidationOptions { trust_anchors: anchors, ..ValidationOptions::default() };
    verify_once(signed, &vopts).context("the signed document does not verify")?;
    measure("verify", a.threads, duration, || verify_once(signed, &vopts))
}

/// One complete in-memory signature: the signed document's bytes.
fn sign_once(pdf: &[u8], cms: &IdentityCms<'_>, opts: &SignatureOptions) -> anyhow::Result<Vec<u8>> {
    let mut doc = Document::open(pdf, None)?;
    let (_summary, update) = signet_pades::sign_update(&mut doc, opts, cms)?;
    let mut out = Vec::with_capacity(pdf.len() + update.len());
    out.extend_from_slice(pdf);
    out.extend_from_slice(&update);
    Ok(out)
}

/// Validates every signature of `signed`: each must be intact, and valid (trusted, no
/// forbidden change) when trust anchors are given.
fn verify_once(signed: &[u8], opts: &ValidationOptions) -> anyhow::Result<()> {
    let report = signet_validate::validate(signed, opts)?;
    let ok = if opts.trust_anchors.is_empty() {
        !report.signatures.is_empty() && report.signatures.iter().all(|s| s.intact)
    } else {
        report.is_valid()
    };
    if !ok {
        bail!("verification failed: {}", report.to_string().trim_end().replace('\n', "; "));
    }
    Ok(())
}

/// Runs `op` on `threads` threads until `duration` has passed; a progress line on stderr.
fn measure<F>(label: &'static str, threads: u32, duration: Duration, op: F) -> anyhow::Result<Stats>
where
    F: Fn() -> anyhow::Result<()> + Sync,
{
    // a short warm-up (caches, allocator, lazy initialisation)
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200).min(duration / 4) {
        op()?;
    }
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let deadline = start + duration;
    let results: Vec<anyhow::Result<(Vec<u64>, Option<Duration>)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<(Vec<u64>, Option<Duration>)> {
                    let mut lat = Vec::with_capacity(1 << 16);
                    let cpu0 = thread_cpu_time();
                    loop {
                        let t = Instant::now();
                        if t >= deadline || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(e) = op() {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        lat.push(t.elapsed().as_nanos() as u64);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    let cpu = thread_cpu_time().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
                    Ok((lat, cpu))
                })
            })
            .collect();
        // progress, from this (otherwise idle) thread
        let mut last_n = 0;
        let mut last_t = start;
        while !workers.iter().all(|w| w.is_finished()) {
            std::thread::sleep(Duration::from_millis(50));
            let now = Instant::now();
            if now.duration_since(last_t) >= Duration::from_secs(1) {
                let n = done.load(Ordering::Relaxed);
                eprint!(
                    "\r{label}: {:>5.1} s  {n} docs  {:.0} docs/s   ",
                    now.duration_since(start).as_secs_f64(),
                    (n - last_n) as f64 / now.duration_since(last_t).as_secs_f64()
                );
                last_n = n;
                last_t = now;
            }
        }
        eprint!("\r{:60}\r", "");
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a {label} thread panicked"))))
            .collect()
    });
    let elapsed = start.elapsed();
    let mut lat = Vec::new();
    let mut on_cpu = Some(Duration::ZERO);
    for r in results {
        let (l, cpu) = r?;
        lat.extend(l);
        on_cpu = on_cpu.zip(cpu).map(|(a, b)| a + b);
    }
    if lat.is_empty() {
        bail!("no {label} operation completed in {:.2} s", duration.as_secs_f64());
    }
    lat.sort_unstable();
    let pct = |p: f64| Duration::from_nanos(lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1]);
    let sum: u128 = lat.iter().map(|&x| x as u128).sum();
    Ok(Stats {
        label,
        threads,
        count: lat.len() as u64,
        elapsed,
        on_cpu,
        mean: Duration::from_nanos((sum / lat.len() as u128) as u64),
        p50: pct(0.50),
        p99: pct(0.99),
        max: Duration::from_nanos(lat[lat.len() - 1]),
    })
}

/// Time the calling thread has spent on a CPU, from Linux's `/proc/thread-self/schedstat`.
fn thread_cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// The 1, 5 and 15 minute load averages (Linux), to show when other work competed.
fn load_average() -> Option<String> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}
