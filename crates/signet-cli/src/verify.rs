//! `signet verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use signet_pdf::FileSource;
use signet_validate::{ValidationOptions, validate};

use crate::{EXIT_USAGE, secret_from_env};

#[derive(Args, Debug)]
#[command(after_help = "Exit status: 0 when every signature is intact, trusted and unmodified (or modified only in
permitted ways); 1 when any is not, or there is none; 2 on usage errors or unreadable input.

Examples:
  signet verify signed.pdf --trust root-ca.pem
  signet verify signed.pdf --trust root-ca.pem --json | jq '.signatures[].coverage'")]
pub(crate) struct VerifyArgs {
    /// The signed PDF.
    input: PathBuf,
    /// Trust anchor certificates (PEM, may hold several; or DER). Repeat for more files.
    #[arg(long, value_name = "ROOT.pem")]
    trust: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Environment variable holding the password of an encrypted PDF.
    #[arg(long, value_name = "VAR")]
    pdf_password_env: Option<String>,
}

pub(crate) fn run(a: VerifyArgs) -> ExitCode {
    let usage = |msg: String| {
        eprintln!("signet verify: {msg}");
        ExitCode::from(EXIT_USAGE)
    };
    let mut anchors = Vec::new();
    for t in &a.trust {
        let bytes = match std::fs::read(t) {
            Ok(b) => b,
            Err(e) => return usage(format!("cannot read {}: {e}", t.display())),
        };
        match signet_crypto::certificates_from_pem_or_der(&bytes) {
            Ok(c) => anchors.extend(c),
            Err(e) => return usage(format!("{}: {e}", t.display())),
        }
    }
    let password = match a.pdf_password_env.as_deref().map(secret_from_env).transpose() {
        Ok(p) => p.map(String::into_bytes),
        Err(e) => return usage(e.to_string()),
    };
    let src = match FileSource::open(&a.input) {
        Ok(s) => std::sync::Arc::new(s),
        Err(e) => return usage(format!("cannot read {}: {e}", a.input.display())),
    };
    let opts = ValidationOptions { trust_anchors: anchors, password, ..ValidationOptions::default() };
    let report = match validate(src, &opts) {
        Ok(r) => r,
        Err(e) => return usage(format!("{}: {e}", a.input.display())),
    };
    if a.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return usage(format!("cannot write the report: {e}")),
        }
    } else {
        print!("{report}");
    }
    if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
