//! `signet verify`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use signet_pdf::FileSource;
use signet_validate::{RevocationPolicy, ValidationOptions, validate};

use crate::{EXIT_USAGE, secret_from_env};

#[derive(Args, Debug)]
#[command(after_help = "One line per signature and document timestamp: number, verdict (VALID, INVALID or
INDETERMINATE), field, signer, PAdES level, proven time, and the first reason when not valid.
-v prints every detail; --json the report documented in docs/validation.md (schema_version 2).

Revocation is checked with the data embedded in the document (DSS, the CMS
adbe-revocationInfoArchival attribute): a certificate revoked at the signature time makes the
signature INVALID; an unknown status is a note, or INDETERMINATE with --require-revocation.
With --online, what the document does not embed is asked of the certificates' OCSP responders
(or read from their CRLs).

Exit status: 0 when every signature is valid (intact, trusted, not revoked, unmodified or
modified only in permitted ways); 1 when any is not, or there is none; 2 on usage errors or
unreadable input.

Examples:
  signet verify signed.pdf --trust root-ca.pem
  signet verify signed.pdf --trust root-ca.pem -v
  signet verify signed.pdf --trust root-ca.pem --online --require-revocation
  signet verify signed.pdf --trust root-ca.pem --json | jq '.signatures[] | {verdict, level}'")]
pub(crate) struct VerifyArgs {
    /// The signed PDF.
    input: PathBuf,
    /// Trust anchor certificates (PEM, may hold several; or DER). Repeat for more files.
    #[arg(long, value_name = "ROOT.pem")]
    trust: Vec<PathBuf>,
    /// Also trust the operating system's root certificates (the first bundle found of
    /// /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, /etc/ssl/cert.pem;
    /// or the file named by SSL_CERT_FILE).
    #[arg(long)]
    system_roots: bool,
    /// Print the report as JSON (docs/validation.md).
    #[arg(long)]
    json: bool,
    /// Print every detail: reasons, notes, revocation per certificate, timestamps.
    #[arg(short, long)]
    verbose: bool,
    /// A signature whose revocation status is unknown is not valid (INDETERMINATE).
    #[arg(long, conflicts_with = "no_revocation_check")]
    require_revocation: bool,
    /// Do not check revocation.
    #[arg(long)]
    no_revocation_check: bool,
    /// Where the document embeds no revocation data for a certificate, ask its OCSP responder
    /// (or read its CRL) over the network.
    #[arg(long, conflicts_with = "no_revocation_check")]
    online: bool,
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
    if a.system_roots {
        let Some(bundle) = system_root_bundle() else {
            return usage("--system-roots: no system certificate bundle found (set SSL_CERT_FILE)".into());
        };
        match std::fs::read(&bundle)
            .map_err(|e| e.to_string())
            .and_then(|b| signet_crypto::certificates_from_pem_or_der(&b).map_err(|e| e.to_string()))
        {
            Ok(c) => anchors.extend(c),
            Err(e) => return usage(format!("{}: {e}", bundle.display())),
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
    let revocation = if a.no_revocation_check {
        RevocationPolicy::Off
    } else if a.require_revocation {
        RevocationPolicy::Require
    } else {
        RevocationPolicy::Soft
    };
    let online = a.online.then(|| {
        let fetcher = signet_pades::HttpFetcher::default();
        std::sync::Arc::new(Online(fetcher)) as std::sync::Arc<dyn signet_validate::OnlineRevocation>
    });
    let opts =
        ValidationOptions { trust_anchors: anchors, password, revocation, online, ..ValidationOptions::default() };
    let report = match validate(src, &opts) {
        Ok(r) => r,
        Err(e) => return usage(format!("{}: {e}", a.input.display())),
    };
    // a closed pipe (`| head`) ends the output quietly
    let mut out = std::io::stdout().lock();
    let _ = if a.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => writeln!(out, "{s}"),
            Err(e) => return usage(format!("cannot write the report: {e}")),
        }
    } else if a.verbose {
        write!(out, "{}", report.details())
    } else {
        write!(out, "{report}")
    };
    if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The system's bundle of trusted root certificates.
fn system_root_bundle() -> Option<PathBuf> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    from_env
        .into_iter()
        .chain(
            ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
                .map(PathBuf::from),
        )
        .find(|p| p.is_file())
}

/// Revocation data over HTTP for `--online`.
struct Online(signet_pades::HttpFetcher);

impl signet_validate::OnlineRevocation for Online {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        use signet_pades::Fetcher;
        self.0.get(url).map(|f| f.body).map_err(|e| e.to_string())
    }
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        use signet_pades::Fetcher;
        self.0.post(url, content_type, body).map(|f| f.body).map_err(|e| e.to_string())
    }
}
