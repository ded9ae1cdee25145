//! `signet sign`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{ArgGroup, Args};
use signet_crypto::{DigestAlgorithm, Identity, KeyRef, Pkcs11Key, SignatureScheme, TokenRef};
use signet_pades::{Certification, CmsProvider, SignatureOptions, Visible, VisualRect};
use signet_pdf::appearance::SealImage;

use crate::{EXIT_USAGE, secret_from_env};

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("private_key").args(["key", "pkcs11_key"])))]
#[command(after_help = "Examples:
  signet sign in.pdf -o out.pdf --p12 me.p12 --p12-password-env P12_PASSWORD
  signet sign in.pdf -o out.pdf --key key.pem --cert cert.pem --chain chain.pem \\
      --page -1 --rect 380,40,560,140 --image seal.png --text 'Signed by ACME' --reason Approved
  signet sign in.pdf -o out.pdf --p12 me.p12 --level b-lta --tsa http://127.0.0.1:8080/tsa
  signet sign in.pdf -o out.pdf --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
      --pkcs11-token seals --pkcs11-key company-seal --pkcs11-pin-env PIN --chain chain.pem")]
pub(crate) struct SignArgs {
    /// The PDF to sign (never modified).
    input: PathBuf,
    /// Where to write the signed PDF (written atomically; may not be the input).
    #[arg(short, long, value_name = "OUTPUT.pdf")]
    output: PathBuf,
    /// PKCS#12 file with the key and its certificate chain (OpenSSL 3 or legacy RC2/3DES).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["key", "cert", "pkcs11_key"],
        required_unless_present_any = ["key", "pkcs11_key"]
    )]
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
    /// Signer certificate, PEM (may also hold the chain). With --pkcs11-key it may be left
    /// out when the token stores the certificate with the key (same CKA_ID).
    #[arg(long, value_name = "CERT.pem", requires = "private_key")]
    cert: Option<PathBuf>,
    /// Issuer certificates to embed, PEM.
    #[arg(long, value_name = "CHAIN.pem", requires = "private_key")]
    chain: Option<PathBuf>,
    /// PKCS#11 module (shared library) of the token holding the key.
    #[arg(long, value_name = "MODULE.so", env = "SIGNET_PKCS11_MODULE")]
    pkcs11_module: Option<PathBuf>,
    /// Label of the PKCS#11 token holding the key.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_key")]
    pkcs11_token: Option<String>,
    /// Label (CKA_LABEL) of the private key on the token.
    #[arg(long, value_name = "LABEL", conflicts_with = "key", requires_all = ["pkcs11_token", "pkcs11_pin_env"])]
    pkcs11_key: Option<String>,
    /// Environment variable holding the token's user PIN.
    #[arg(long, value_name = "VAR", requires = "pkcs11_key")]
    pkcs11_pin_env: Option<String>,
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
    /// PAdES baseline level: b-b (the signature), b-t (+ a signature timestamp from --tsa),
    /// b-lt (+ every certificate, OCSP response and CRL needed to validate offline, in the
    /// DSS), b-lta (+ a document timestamp over them).
    #[arg(long, value_name = "LEVEL", default_value = "b-b", value_parser = ["b-b", "b-t", "b-lt", "b-lta"])]
    level: String,
    #[command(flatten)]
    services: crate::services::ServiceArgs,
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

/// Key files and passwords, read up front (mistakes there are usage errors, reported before
/// any work), then decrypted and parsed on another thread while the document is hashed.
enum KeyMaterial {
    Pkcs12 {
        path: PathBuf,
        bytes: Vec<u8>,
        password: String,
    },
    Pem {
        key: PathBuf,
        cert: PathBuf,
        key_pem: Vec<u8>,
        cert_pem: Vec<u8>,
        chain_pem: Option<Vec<u8>>,
        password: Option<String>,
    },
    Pkcs11 {
        module: PathBuf,
        token: String,
        key: String,
        pin: String,
        /// `--cert` then `--chain`, DER.
        certs: Vec<Vec<u8>>,
    },
}

impl KeyMaterial {
    fn read(a: &SignArgs) -> anyhow::Result<KeyMaterial> {
        if let Some(p12) = &a.p12 {
            let password = match &a.p12_password_env {
                Some(v) => secret_from_env(v).map_err(|e| Usage(e.to_string()))?,
                None => String::new(),
            };
            return Ok(KeyMaterial::Pkcs12 { path: p12.clone(), bytes: read(p12)?, password });
        }
        if let Some(key) = &a.pkcs11_key {
            return Self::read_pkcs11(a, key);
        }
        let (Some(key), Some(cert)) = (&a.key, &a.cert) else {
            return Err(Usage(
                "give --p12 FILE, --key KEY.pem with --cert CERT.pem, or --pkcs11-key LABEL with its token".into(),
            )
            .into());
        };
        let password =
            a.key_password_env.as_deref().map(secret_from_env).transpose().map_err(|e| Usage(e.to_string()))?;
        Ok(KeyMaterial::Pem {
            key: key.clone(),
            cert: cert.clone(),
            key_pem: read(key)?,
            cert_pem: read(cert)?,
            chain_pem: a.chain.as_deref().map(read).transpose()?,
            password,
        })
    }

    fn read_pkcs11(a: &SignArgs, key: &str) -> anyhow::Result<KeyMaterial> {
        let module = a.pkcs11_module.clone().ok_or_else(|| {
            Usage("--pkcs11-key needs the token's module: give --pkcs11-module PATH or set SIGNET_PKCS11_MODULE".into())
        })?;
        if module.components().count() > 1 && !module.is_file() {
            bail!(Usage(format!("the PKCS#11 module {} does not exist", module.display())));
        }
        let (Some(token), Some(pin_env)) = (&a.pkcs11_token, &a.pkcs11_pin_env) else {
            bail!(Usage("--pkcs11-key needs --pkcs11-token LABEL and --pkcs11-pin-env VAR".into()));
        };
        let pin = secret_from_env(pin_env).map_err(|e| Usage(e.to_string()))?;
        let mut certs = Vec::new();
        for path in [&a.cert, &a.chain].into_iter().flatten() {
            let found = signet_crypto::certificates_from_pem_or_der(&read(path)?)
                .map_err(|e| Usage(format!("{}: {e}", path.display())))?;
            certs.extend(found);
        }
        Ok(KeyMaterial::Pkcs11 { module, token: token.clone(), key: key.to_string(), pin, certs })
    }

    fn load(self) -> anyhow::Result<Identity> {
        match self {
            KeyMaterial::Pkcs12 { path, bytes, password } => {
                Identity::from_pkcs12(&bytes, &password).with_context(|| format!("cannot load {}", path.display()))
            }
            KeyMaterial::Pem { key, cert, key_pem, cert_pem, chain_pem, password } => {
                Identity::from_pem(&key_pem, password.as_deref().map(str::as_bytes), &cert_pem, chain_pem.as_deref())
                    .with_context(|| format!("cannot load the key {} with {}", key.display(), cert.display()))
            }
            KeyMaterial::Pkcs11 { module, token, key, pin, certs } => {
                let context = || format!("cannot use the key '{key}' of the token '{token}'");
                let signer =
                    Pkcs11Key::open(&module, &TokenRef::Label(token.clone()), &KeyRef::Label(key.clone()), &pin)
                        .with_context(context)?;
                Identity::from_pkcs11(signer, certs).with_context(context)
            }
        }
    }
}

/// A [`CmsProvider`] whose identity is still loading on another thread; the first call that
/// needs it waits for it.
struct LoadingIdentity {
    loader: Mutex<Option<JoinHandle<anyhow::Result<Identity>>>>,
    loaded: OnceLock<Result<(Identity, SignatureScheme, usize), String>>,
    /// The loading error, kept whole for the one-line report.
    error: Mutex<Option<anyhow::Error>>,
    digest: DigestAlgorithm,
    pss: bool,
}

impl LoadingIdentity {
    fn start(material: KeyMaterial, digest: DigestAlgorithm, pss: bool) -> Self {
        LoadingIdentity {
            loader: Mutex::new(Some(std::thread::spawn(move || material.load()))),
            loaded: OnceLock::new(),
            error: Mutex::new(None),
            digest,
            pss,
        }
    }

    fn get(&self) -> signet_pades::Result<&(Identity, SignatureScheme, usize)> {
        let loaded = self.loaded.get_or_init(|| {
            let handle = self.loader.lock().ok().and_then(|mut h| h.take());
            let result = match handle.map(JoinHandle::join) {
                Some(Ok(r)) => r,
                _ => Err(anyhow::anyhow!("loading the key failed")),
            };
            let result = result.and_then(|id| {
                let scheme = if self.pss {
                    if !matches!(id.key_kind(), signet_crypto::KeyKind::Rsa { .. }) {
                        bail!(Usage("--pss needs an RSA key".into()));
                    }
                    SignatureScheme::RsaPss
                } else {
                    id.key_kind().default_scheme()
                };
                let estimated = signet_cms::estimated_len(&id, self.digest, scheme);
                Ok((id, scheme, estimated))
            });
            result.map_err(|e| {
                let line = one_line(&e);
                if let Ok(mut slot) = self.error.lock() {
                    *slot = Some(e);
                }
                line
            })
        });
        loaded.as_ref().map_err(|m| signet_pades::Error::Signature(m.clone()))
    }

    fn take_error(&self) -> Option<anyhow::Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

impl CmsProvider for LoadingIdentity {
    fn estimated_len(&self) -> signet_pades::Result<usize> {
        Ok(self.get()?.2)
    }
    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }
    fn sign_digest(&self, document_digest: &[u8]) -> signet_pades::Result<Vec<u8>> {
        let (identity, scheme, _) = self.get()?;
        signet_cms::build_signed_data(identity, self.digest, *scheme, document_digest)
            .map_err(|e| signet_pades::Error::Signature(e.to_string()))
    }
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
    let level: signet_pades::Level = a.level.parse().map_err(Usage)?;
    let parts = a.services.parts()?;
    if level >= signet_pades::Level::BT && parts.tsa_url().is_none() {
        bail!(Usage(format!("--level {} needs a timestamp authority: give --tsa URL", a.level)));
    }
    let material = KeyMaterial::read(a)?;
    let digest: DigestAlgorithm = a.digest.parse().map_err(|e| Usage(format!("{e}")))?;
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
    let built = parts.build();
    let cms = LoadingIdentity::start(material, digest, a.pss);
    let (summary, notes) = signet_pades::sign_file_at_level(
        &a.input,
        &a.output,
        pdf_password.as_deref().map(str::as_bytes),
        &opts,
        &cms,
        level,
        built.services(digest),
        a.fsync,
    )
    .map_err(|e| match (cms.take_error(), e) {
        (Some(load_error), _) => load_error,
        (None, e) => match e {
            signet_pades::Error::Pdf(signet_pdf::Error::Encryption(m)) if pdf_password.is_none() => {
                anyhow::Error::new(Usage(format!("{}: {m}; give it with --pdf-password-env VAR", a.input.display())))
            }
            other => anyhow::Error::new(other).context(format!("cannot sign {}", a.input.display())),
        },
    })?;
    for n in &notes {
        eprintln!("signet sign: note: {n}");
    }
    if !a.quiet {
        eprintln!(
            "signed {} -> {} (field '{}', PAdES {level}, {:.0} ms)",
            a.input.display(),
            a.output.display(),
            summary.field_name,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
