//! `signet extend`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use signet_crypto::DigestAlgorithm;
use signet_pades::Level;

use crate::sign::{Usage, one_line};
use crate::{EXIT_USAGE, secret_from_env};

#[derive(Args, Debug)]
#[command(after_help = "Works on documents signed by any tool. Signatures without a signature timestamp first get a
document timestamp (their trusted time); then the DSS receives every certificate, OCSP
response and CRL needed to validate all signatures and timestamps offline; at b-lta a
document timestamp covers them. Run it again on a B-LTA file before its last timestamp's
certificate expires to renew the archive (fresh validation data, new document timestamp).

Examples:
  signet extend signed.pdf -o archived.pdf --tsa http://127.0.0.1:8080/tsa
  signet extend signed.pdf -o ltv.pdf --level b-lt --tsa http://tsa.example/tsr --ltv-trust root.pem")]
pub(crate) struct ExtendArgs {
    /// The signed PDF (never modified).
    input: PathBuf,
    /// Where to write the extended PDF (written atomically; may not be the input).
    #[arg(short, long, value_name = "OUTPUT.pdf")]
    output: PathBuf,
    /// Level to reach: b-lt (validation data) or b-lta (plus an archive document timestamp).
    #[arg(long, value_name = "LEVEL", default_value = "b-lta", value_parser = ["b-lt", "b-lta"])]
    level: String,
    #[command(flatten)]
    services: crate::services::ServiceArgs,
    /// Digest algorithm of the document timestamps.
    #[arg(long, value_name = "ALG", default_value = "sha256", value_parser = ["sha256", "sha384", "sha512"])]
    digest: String,
    /// Environment variable holding the password of an encrypted PDF.
    #[arg(long, value_name = "VAR")]
    pdf_password_env: Option<String>,
    /// Flush the output to the disk before it replaces OUTPUT.pdf.
    #[arg(long)]
    fsync: bool,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn run(a: ExtendArgs) -> ExitCode {
    match extend(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet extend: {}", one_line(&e));
            if e.downcast_ref::<Usage>().is_some() { ExitCode::from(EXIT_USAGE) } else { ExitCode::FAILURE }
        }
    }
}

fn extend(a: &ExtendArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if a.input == a.output || a.output.canonicalize().ok().is_some_and(|o| a.input.canonicalize().ok() == Some(o)) {
        bail!(Usage("the output must not be the input (extending appends to a copy)".into()));
    }
    if !a.input.is_file() {
        bail!(Usage(format!("cannot read {}: no such file", a.input.display())));
    }
    let level: Level = a.level.parse().map_err(Usage)?;
    let digest: DigestAlgorithm = a.digest.parse().map_err(|e| Usage(format!("{e}")))?;
    let parts = a.services.parts()?;
    if parts.tsa_url().is_none() {
        bail!(Usage("extend needs a timestamp authority: give --tsa URL".into()));
    }
    let password = a.pdf_password_env.as_deref().map(secret_from_env).transpose().map_err(|e| Usage(e.to_string()))?;
    let built = parts.build();
    let summary = signet_pades::extend_file(
        &a.input,
        &a.output,
        password.as_deref().map(str::as_bytes),
        level,
        built.services(digest),
        a.fsync,
    )
    .with_context(|| format!("cannot extend {}", a.input.display()))?;
    for n in &summary.notes {
        eprintln!("signet extend: note: {n}");
    }
    if !a.quiet {
        let (c, o, r) = summary.added;
        eprintln!(
            "extended {} -> {} to PAdES {level}: {} signature(s) and timestamp(s); DSS +{c} certificate(s), +{o} OCSP response(s), +{r} CRL(s){}{} ({:.0} ms)",
            a.input.display(),
            a.output.display(),
            summary.signatures,
            if summary.time_mark_added { "; document timestamp for untimestamped signatures" } else { "" },
            if summary.archive_timestamp_added { "; archive timestamp" } else { "" },
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
