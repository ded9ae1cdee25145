//! The `signet` command: a thin layer that parses arguments, resolves them into settings and
//! calls the libraries. Errors print as one clear line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit;
mod batch;
mod bench;
mod ca;
mod extend;
mod serve;
mod services;
mod sign;
mod sign_digest;
mod verify;

/// The server answers each request with many short-lived allocations from two worker threads
/// and SQLite's; glibc's allocator spent 15–18 % of the hash-signing API's time in `malloc`,
/// `free` and consolidation (`docs/benchmarks.md`). mimalloc keeps per-thread free lists. It
/// also replaces `malloc` and `free` themselves (feature `override`), for the C code linked in:
/// SQLite and the cryptography library allocate on every signature too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Signet: electronic signatures and seals for PDF documents (PAdES).
#[derive(Parser, Debug)]
#[command(name = "signet", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Run the Signet server (127.0.0.1:8080, data in ./signet-data by default).
    Serve(serve::ServeArgs),
    /// Sign a PDF with a PAdES baseline signature (invisible, or a visible seal).
    Sign(sign::SignArgs),
    /// Sign an envelope party's prepared signature with its own key (token, key file).
    SignDigest(sign_digest::SignDigestArgs),
    /// Check every signature of a PDF: integrity, trust, later changes.
    Verify(verify::VerifyArgs),
    /// Sign every PDF of a folder through a server's batch API, with progress.
    Batch(batch::BatchArgs),
    /// Add validation data and an archive timestamp to a signed PDF (PAdES B-LT / B-LTA).
    Extend(extend::ExtendArgs),
    /// Measure signing (and verification) throughput of one PDF on this machine.
    Bench(bench::BenchArgs),
    /// Manage the built-in certification authority: init, issue, revoke, list, crl, export.
    Ca(ca::CaArgs),
    /// Check the signing log: every entry's hash and link, and its timestamps.
    Audit(audit::AuditArgs),
}

/// Exit status for usage errors and unreadable input (as `verify` documents).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(EXIT_USAGE) } else { ExitCode::SUCCESS };
        }
    };
    match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Sign(a) => sign::run(a),
        Command::SignDigest(a) => sign_digest::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Extend(a) => extend::run(a),
        Command::Batch(a) => batch::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Ca(a) => ca::run(a),
        Command::Audit(a) => audit::run(a),
    }
}

/// Reads a secret from the environment variable `var`.
fn secret_from_env(var: &str) -> anyhow::Result<String> {
    std::env::var(var).map_err(|_| anyhow::anyhow!("environment variable {var} is not set"))
}
