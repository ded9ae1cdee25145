//! `signet ca`: the built-in certification authority of a data directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use signet_authority::{
    Authority, AuthorityOptions, CaLevel, DistinguishedName, IssueRequest, KeySource, MasterKeySource, Profile,
    PublicUrls, RevocationReason,
};
use signet_crypto::KeyKind;

use crate::sign::{Usage, one_line};
use crate::{EXIT_USAGE, secret_from_env};

#[derive(Args, Debug)]
#[command(after_help = "The authority lives in the data directory (the one `signet serve` uses): a root CA, an
issuing CA under it, TSA and OCSP responder certificates, CRLs, and every issued certificate.
Private keys are sealed with AES-256-GCM under DATA/master.key (mode 0600, created by
`init`), or under SIGNET_MASTER_KEY (64 hex digits) when that is set. Back up the master key.

Examples:
  signet ca init --name 'Example Trust' --country BE --public-url http://pki.example.com
  signet ca issue --profile person --cn 'Alice Liddell' --email alice@example.com \\
      --p12 alice.p12 --p12-password-env P12_PASSWORD
  signet ca issue --profile seal --cn 'Example Invoices' --org 'Example SA' \\
      --org-id VATBE-0123456789 --key rsa-3072
  signet ca issue --profile tls-client --cn 'erp.example.com' --p12 erp.p12 --p12-password-env P12_PASSWORD
  signet ca list
  signet ca revoke 4A1F09C3D2E5B6A79801122334455667 --reason keyCompromise
  signet ca crl --ca issuing --out issuing.crl && openssl crl -inform DER -in issuing.crl -noout -text")]
pub(crate) struct CaArgs {
    /// Data directory of the authority.
    #[arg(long, value_name = "DIR", env = "SIGNET_DATA_DIR", default_value = "signet-data", global = true)]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
enum CaCommand {
    /// Create the root and issuing CA, TSA and OCSP responder certificates and the first CRLs.
    Init(InitArgs),
    /// Issue a certificate from the issuing CA, with a new key kept in the keystore.
    Issue(IssueArgs),
    /// Revoke a certificate and reissue its CA's CRL.
    Revoke(RevokeArgs),
    /// List the issued certificates.
    List,
    /// Write the current CRL (DER), reissued if half its validity has passed.
    Crl(CrlArgs),
    /// Export an issued certificate with its key and chain as PKCS#12.
    Export(ExportArgs),
}

#[derive(Args, Debug)]
struct InitArgs {
    /// Base URL of this Signet server, put into certificates for CRLs, CA certificates, OCSP.
    #[arg(long, value_name = "URL", env = "SIGNET_PUBLIC_URL", default_value = PublicUrls::DEFAULT_BASE)]
    public_url: String,
    /// Organisation name of the CAs.
    #[arg(long, value_name = "ORG", default_value = "Signet")]
    name: String,
    /// Country of the CAs (two capital letters).
    #[arg(long, value_name = "CC")]
    country: Option<String>,
    /// Key type of the CAs and service certificates. p-256 is instant to generate and accepted
    /// everywhere; rsa-3072 takes a second or more.
    #[arg(long, value_name = "KIND", default_value = "p-256", value_parser = KEY_KINDS)]
    key: String,
    /// Days from a CRL's thisUpdate to its nextUpdate.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    crl_days: u64,
}

#[derive(Args, Debug)]
struct IssueArgs {
    /// Certificate profile.
    #[arg(long, value_name = "PROFILE", value_parser = ["person", "organization", "seal", "tls-client", "tsa", "ocsp"])]
    profile: String,
    /// Subject common name.
    #[arg(long, value_name = "NAME")]
    cn: String,
    /// Subject organisation.
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// Subject organisational unit.
    #[arg(long, value_name = "UNIT")]
    ou: Option<String>,
    /// Subject country (two capital letters).
    #[arg(long, value_name = "CC")]
    country: Option<String>,
    /// organizationIdentifier of a legal person, e.g. VATBE-0123456789 (ETSI EN 319 412-1).
    #[arg(long, value_name = "ID")]
    org_id: Option<String>,
    /// Given name of a natural person.
    #[arg(long, value_name = "NAME")]
    given_name: Option<String>,
    /// Surname of a natural person.
    #[arg(long, value_name = "NAME")]
    surname: Option<String>,
    /// Subject serialNumber (an identifier of the subject, e.g. PNOBE-123456).
    #[arg(long, value_name = "ID")]
    subject_serial: Option<String>,
    /// E-mail address for subjectAltName (repeat for more).
    #[arg(long, value_name = "ADDRESS")]
    email: Vec<String>,
    /// Key type.
    #[arg(long, value_name = "KIND", default_value = "p-256", value_parser = KEY_KINDS)]
    key: String,
    /// Validity in days [default: 730; TSA 1096, OCSP and TLS client 365]; never beyond the
    /// issuing CA's.
    #[arg(long, value_name = "N")]
    days: Option<u64>,
    /// Also export the certificate, key and chain to this PKCS#12 file.
    #[arg(long, value_name = "OUT.p12", requires = "p12_password_env")]
    p12: Option<PathBuf>,
    /// Environment variable holding the PKCS#12 password.
    #[arg(long, value_name = "VAR", requires = "p12")]
    p12_password_env: Option<String>,
}

#[derive(Args, Debug)]
struct RevokeArgs {
    /// Serial number in hexadecimal (as `signet ca list` shows it; `:` separators allowed).
    serial: String,
    /// Reason (RFC 5280 §5.3.1): unspecified, keyCompromise, cACompromise, affiliationChanged,
    /// superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise.
    #[arg(long, value_name = "REASON", default_value = "unspecified")]
    reason: String,
}

#[derive(Args, Debug)]
struct CrlArgs {
    /// Which CA's CRL.
    #[arg(long, value_name = "CA", default_value = "issuing", value_parser = ["root", "issuing"])]
    ca: String,
    /// Where to write it [default: print its path in the data directory].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Serial number in hexadecimal.
    serial: String,
    /// The PKCS#12 file to write.
    #[arg(long, value_name = "OUT.p12")]
    p12: PathBuf,
    /// Environment variable holding the PKCS#12 password.
    #[arg(long, value_name = "VAR")]
    p12_password_env: String,
}

const KEY_KINDS: [&str; 5] = ["p-256", "p-384", "rsa-2048", "rsa-3072", "rsa-4096"];

fn key_kind(name: &str) -> anyhow::Result<KeyKind> {
    Ok(match name {
        "p-256" => KeyKind::EcP256,
        "p-384" => KeyKind::EcP384,
        "rsa-2048" => KeyKind::Rsa { bits: 2048 },
        "rsa-3072" => KeyKind::Rsa { bits: 3072 },
        "rsa-4096" => KeyKind::Rsa { bits: 4096 },
        other => bail!(Usage(format!("unknown key type '{other}'"))),
    })
}

pub(crate) fn run(a: CaArgs) -> ExitCode {
    let result = match &a.command {
        CaCommand::Init(i) => init(&a.data_dir, i),
        CaCommand::Issue(i) => issue(&a.data_dir, i),
        CaCommand::Revoke(r) => revoke(&a.data_dir, r),
        CaCommand::List => list(&a.data_dir),
        CaCommand::Crl(c) => crl(&a.data_dir, c),
        CaCommand::Export(e) => export(&a.data_dir, e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet ca: {}", one_line(&e));
            let usage = e.downcast_ref::<Usage>().is_some()
                || matches!(
                    e.downcast_ref::<signet_authority::Error>(),
                    Some(
                        signet_authority::Error::InvalidRequest(_)
                            | signet_authority::Error::InvalidName(_)
                            | signet_authority::Error::UnknownSerial(_)
                    )
                );
            if usage { ExitCode::from(EXIT_USAGE) } else { ExitCode::FAILURE }
        }
    }
}

fn init(data_dir: &Path, a: &InitArgs) -> anyhow::Result<()> {
    let options = AuthorityOptions {
        public_url: a.public_url.clone(),
        organization: a.name.clone(),
        country: a.country.clone(),
        key_kind: key_kind(&a.key)?,
        crl_validity: Duration::from_secs(a.crl_days.saturating_mul(86_400)),
    };
    let ca = Authority::init(data_dir, &options)?;
    let ca_dir = data_dir.join("ca");
    println!("created the certification authority in {}", ca_dir.display());
    for record in ca.list()? {
        println!("  {:<12} {}  {}", record.profile.name(), record.serial, record.subject);
    }
    println!("root certificate (DER): {}", ca_dir.join("root.crt").display());
    println!("URLs in certificates:   {}/...", ca.public_urls()?.base());
    print_master_key(ca.master_key_source());
    Ok(())
}

fn print_master_key(source: &MasterKeySource) {
    match source {
        MasterKeySource::Created(path) => println!(
            "master key created:     {} (mode 0600): back it up, the private keys are useless without it",
            path.display()
        ),
        MasterKeySource::File(path) => println!("master key:             {}", path.display()),
        MasterKeySource::Environment => println!("master key:             from {}", signet_crypto::MasterKey::ENV_VAR),
    }
}

fn issue(data_dir: &Path, a: &IssueArgs) -> anyhow::Result<()> {
    // Read the password first: a missing variable should not leave a certificate behind.
    let password = a.p12_password_env.as_deref().map(secret_from_env).transpose()?;
    let ca = Authority::open(data_dir)?;
    let profile: Profile = a.profile.parse()?;
    let request = IssueRequest {
        profile,
        subject: DistinguishedName {
            country: a.country.clone(),
            organization: a.org.clone(),
            organizational_unit: a.ou.clone(),
            organization_identifier: a.org_id.clone(),
            given_name: a.given_name.clone(),
            surname: a.surname.clone(),
            serial_number: a.subject_serial.clone(),
            common_name: Some(a.cn.clone()),
        },
        emails: a.email.clone(),
        key: KeySource::Generate(key_kind(&a.key)?),
        validity: a.days.map(|d| Duration::from_secs(d.saturating_mul(86_400))),
    };
    let issued = ca.issue(&request)?;
    println!("serial:      {}", issued.record.serial);
    println!("subject:     {}", issued.record.subject);
    println!("profile:     {}", issued.record.profile);
    println!("valid until: {}", date(issued.record.not_after));
    println!("certificate: {}", issued.path.display());
    if let Some(name) = &issued.record.key_name {
        println!("key:         {} (sealed)", data_dir.join("keys").join(format!("{name}.key")).display());
    }
    if let (Some(out), Some(password)) = (&a.p12, password) {
        let p12 = ca.export_pkcs12(&issued.record.serial, &password)?;
        write_new(out, &p12)?;
        println!("PKCS#12:     {}", out.display());
    }
    Ok(())
}

fn revoke(data_dir: &Path, a: &RevokeArgs) -> anyhow::Result<()> {
    let reason: RevocationReason = a.reason.parse().map_err(Usage)?;
    let ca = Authority::open(data_dir)?;
    let record = ca.revoke(&a.serial, reason, SystemTime::now())?;
    println!("revoked {} ({}): {reason}", record.serial, record.subject);
    println!("CRL reissued: {}", data_dir.join("ca/crl").join(format!("{}.crl", record.issuer)).display());
    Ok(())
}

fn list(data_dir: &Path) -> anyhow::Result<()> {
    let ca = Authority::open(data_dir)?;
    println!("{:<32}  {:<12}  {:<10}  {:<24}  subject", "serial", "profile", "not after", "status");
    for r in ca.list()? {
        let status = match r.revocation {
            Some(rev) => format!("revoked ({})", rev.reason),
            None if r.not_after < SystemTime::now() => "expired".to_owned(),
            None => "valid".to_owned(),
        };
        println!(
            "{:<32}  {:<12}  {:<10}  {:<24}  {}",
            r.serial,
            r.profile.name(),
            date(r.not_after),
            status,
            r.subject
        );
    }
    Ok(())
}

fn crl(data_dir: &Path, a: &CrlArgs) -> anyhow::Result<()> {
    let level: CaLevel = a.ca.parse()?;
    let ca = Authority::open(data_dir)?;
    let der = ca.crl(level)?;
    match &a.out {
        Some(out) => {
            signet_crypto::keystore::write_atomically(out, &der)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("{}", out.display());
        }
        None => println!("{}", data_dir.join("ca/crl").join(format!("{level}.crl")).display()),
    }
    Ok(())
}

fn export(data_dir: &Path, a: &ExportArgs) -> anyhow::Result<()> {
    let password = secret_from_env(&a.p12_password_env)?;
    let ca = Authority::open(data_dir)?;
    let p12 = ca.export_pkcs12(&a.serial, &password)?;
    write_new(&a.p12, &p12)?;
    println!("{}", a.p12.display());
    Ok(())
}

/// Writes a file holding a private key: mode 0600, never over an existing file.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", path.display()))
}

/// `YYYY-MM-DD` (UTC).
fn date(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, m, d) = signet_crypto::asn1::civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}
