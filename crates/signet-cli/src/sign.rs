//! `signet sign`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use signet_crypto::{DigestAlgorithm, Identity, SignatureScheme};
use signet_pades::{Certification, IdentityCms, SignatureOptions, Visible, VisualRect};
use signet_pdf::appearance::SealImage;

use crate::{EXIT_USAGE, secret_from_env};

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  signet sign in.pdf -o out.pdf --p12 me.p12 --p12-password-env P12_PASSWORD
  signet sign in.pdf -o out.pdf --key key.pem --cert cert.pem --chain chain.pem \\
      --page -1 --rect 380,40,560,140 --image seal.png --text 'Signed by ACME' --reason Approved")]
pub(crate) struct SignArgs {
    /// The PDF to sign (never modified).
    input: PathBuf,
    /// Where to write the signed PDF (written atomically; may not be the input).
    #[arg(short, long, value_name = "OUTPUT.pdf")]
    output: PathBuf,
    /// PKCS#12 file with the key and its certificate chain (OpenSSL 3 or legacy RC2/3DES).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "cert"], required_unless_present = "key")]
    p12: Option<PathBuf>,
    /// Environment variable holding the PKCS#12 password (default: empty password).
    #[arg(long, value_name = "VAR", requires = "p12")]
    p12_password_env: Option<String>,
    /// Private key, PEM (PKCS#8, encrypted PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "KEY.pem", requires = "cert")]
    key: Option<PathBuf>,
    /// Environment variable holding the password of an encrypted --key.
    #[arg(long, value_name = "VAR", requires = "key")]
    key_password_env: Option<String>,
    /// Signer certificate, PEM (may also hold the chain).
    #[arg(long, value_name = "CERT.pem", requires = "key")]
    cert: Option<PathBuf>,
    /// Issuer certificates to embed, PEM.
    #[arg(long, value_name = "CHAIN.pem", requires = "key")]
    chain: Option<PathBuf>,
    /// Signature field: an existing empty signature field, or the name of a new field.
    #[arg(long, value_name = "NAME")]
    field: Option<String>,
    /// Page for the signature widget, 1-based; negative counts from the end (-1 = last).
    #[arg(long, value_name = "N", default_value_t = 1, allow_negative_numbers = true)]
    page: i64,
    /// Visible signature rectangle in points on the page as displayed (origin bottom-left).
    /// Without it the signature is invisible.
    #[arg(long, value_name = "X1,Y1,X2,Y2")]
    rect: Option<String>,
    /// Seal image (PNG with transparency, or JPEG) for a visible signature.
    #[arg(long, value_name = "SEAL.png", requires = "rect")]
    image: Option<PathBuf>,
    /// Text line in a visible signature (repeat for more lines).
    #[arg(long, value_name = "TEXT", requires = "rect")]
    text: Vec<String>,
    /// Reason for signing (/Reason).
    #[arg(long, value_name = "R")]
    reason: Option<String>,
    /// Location of signing (/Location).
    #[arg(long, value_name = "L")]
    location: Option<String>,
    /// Contact information of the signer (/ContactInfo).
    #[arg(long, value_name = "C")]
    contact: Option<String>,
    /// Make this a certification signature (DocMDP) allowing only these later changes.
    #[arg(long, value_name = "LEVEL", value_parser = ["no-changes", "form-filling", "annotations"])]
    certify: Option<String>,
    /// Digest algorithm.
    #[arg(long, value_name = "ALG", default_value = "sha256", value_parser = ["sha256", "sha384", "sha512"])]
    digest: String,
    /// Use RSASSA-PSS instead of PKCS#1 v1.5 for an RSA key.
    #[arg(long)]
    pss: bool,
    /// Environment variable holding the password of an encrypted input PDF.
    #[arg(long, value_name = "VAR")]
    pdf_password_env: Option<String>,
    /// Flush the output to the disk before it replaces OUTPUT.pdf (survives a power loss;
    /// costs about as much as signing on a large file).
    #[arg(long)]
    fsync: bool,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn run(a: SignArgs) -> ExitCode {
    match sign(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet sign: {}", one_line(&e));
            if e.downcast_ref::<Usage>().is_some() { ExitCode::from(EXIT_USAGE) } else { ExitCode::FAILURE }
        }
    }
}

/// An error in what the user asked (exit status 2).
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);
impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

/// The error and its causes on one line.
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

fn load_identity(a: &SignArgs) -> anyhow::Result<Identity> {
    if let Some(p12) = &a.p12 {
        let bytes = read(p12)?;
        let pw = match &a.p12_password_env {
            Some(v) => secret_from_env(v).map_err(|e| Usage(e.to_string()))?,
            None => String::new(),
        };
        return Identity::from_pkcs12(&bytes, &pw).with_context(|| format!("cannot load {}", p12.display()));
    }
    let (Some(key), Some(cert)) = (&a.key, &a.cert) else {
        return Err(Usage("give --p12 FILE, or --key KEY.pem with --cert CERT.pem".into()).into());
    };
    let key_pem = read(key)?;
    let cert_pem = read(cert)?;
    let chain_pem = a.chain.as_deref().map(read).transpose()?;
    let pw = a.key_password_env.as_deref().map(secret_from_env).transpose().map_err(|e| Usage(e.to_string()))?;
    Identity::from_pem(&key_pem, pw.as_deref().map(str::as_bytes), &cert_pem, chain_pem.as_deref())
        .with_context(|| format!("cannot load the key {} with {}", key.display(), cert.display()))
}

fn read(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| Usage(format!("cannot read {}: {e}", p.display())).into())
}

fn sign(a: &SignArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if a.input == a.output || a.output.canonicalize().ok().is_some_and(|o| a.input.canonicalize().ok() == Some(o)) {
        bail!(Usage("the output must not be the input (signing appends to a copy)".into()));
    }
    if !a.input.is_file() {
        bail!(Usage(format!("cannot read {}: no such file", a.input.display())));
    }
    let identity = load_identity(a)?;
    let digest: DigestAlgorithm = a.digest.parse().map_err(|e| Usage(format!("{e}")))?;
    let scheme = a.pss.then_some(SignatureScheme::RsaPss);
    if a.pss && !matches!(identity.key_kind(), signet_crypto::KeyKind::Rsa { .. }) {
        bail!(Usage("--pss needs an RSA key".into()));
    }
    let visible = match &a.rect {
        None => None,
        Some(r) => {
            let rect = VisualRect::parse(r)
                .ok_or_else(|| Usage(format!("--rect '{r}' is not X1,Y1,X2,Y2 with a non-zero width and height")))?;
            let image = a
                .image
                .as_deref()
                .map(|p| -> anyhow::Result<SealImage> {
                    SealImage::from_bytes(read(p)?)
                        .with_context(|| format!("cannot use {} as a seal image", p.display()))
                })
                .transpose()?;
            let text = a.text.iter().flat_map(|t| t.split("\\n").map(str::to_string).collect::<Vec<_>>()).collect();
            Some(Visible { page: a.page, rect, image, text })
        }
    };
    let certify = a.certify.as_deref().map(str::parse::<Certification>).transpose().map_err(Usage)?;
    let opts = SignatureOptions {
        field: a.field.clone(),
        page: a.page,
        visible,
        reason: a.reason.clone(),
        location: a.location.clone(),
        contact_info: a.contact.clone(),
        name: None,
        certify,
        ..SignatureOptions::default()
    };
    let pdf_password =
        a.pdf_password_env.as_deref().map(secret_from_env).transpose().map_err(|e| Usage(e.to_string()))?;
    let cms = IdentityCms::new(&identity, digest, scheme);
    let summary =
        signet_pades::sign_file(&a.input, &a.output, pdf_password.as_deref().map(str::as_bytes), &opts, &cms, a.fsync)
            .map_err(|e| match e {
                signet_pades::Error::Pdf(signet_pdf::Error::Encryption(m)) if pdf_password.is_none() => {
                    anyhow::Error::new(Usage(format!(
                        "{}: {m}; give it with --pdf-password-env VAR",
                        a.input.display()
                    )))
                }
                other => anyhow::Error::new(other).context(format!("cannot sign {}", a.input.display())),
            })?;
    if !a.quiet {
        eprintln!(
            "signed {} -> {} (field '{}', {:.0} ms)",
            a.input.display(),
            a.output.display(),
            summary.field_name,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
