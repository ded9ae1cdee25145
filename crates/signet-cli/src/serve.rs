//! `signet serve`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use signet_server::S3Options;
use signet_server::ServerConfig;
use tracing_subscriber::EnvFilter;

#[derive(Args, Debug)]
#[command(after_help = "The first start creates the data directory with a certification authority (root and
issuing CA, TSA and OCSP responder certificates, CRLs) whose private keys are sealed under
DATA/master.key (mode 0600), or under the key in SIGNET_MASTER_KEY (64 hex digits) when set.
Back up the master key: without it the keys cannot be used. `signet ca` manages the authority.

Logs go to stderr; RUST_LOG sets the level (default info). SIGINT or SIGTERM stops the
server after the requests in flight and the batch documents being signed; unfinished batches
resume at the next start.

The first start also prints an operator API key once (or set SIGNET_ADMIN_TOKEN to choose
it): it creates tenants and their keys through the API (see /api/docs).

Documents and seal images are kept in DATA/blobs, or with --blob-store s3://BUCKET[/PREFIX]
in an S3-compatible bucket (AWS S3, MinIO, Ceph…), DATA/blobs then holding only files being
uploaded and a read cache. Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
(and AWS_SESSION_TOKEN), never from the command line; on AWS without them, from the instance's
or container's role. The server does not start when the bucket cannot be listed.

HTTPS: with --tls-cert and --tls-key the server speaks TLS only, and asks each client for a
certificate without requiring one. A certificate whose chain reaches Signet's CA (or a
--client-ca) and that a tenant administrator registered (POST /api/v1/client-certificates)
authenticates an API client; one bound to a user completes their password login in place of
TOTP. `signet ca issue --profile tls-client` issues client certificates.

Examples:
  signet serve
  signet serve --tls-cert server.pem --tls-key server.key --client-ca partners-ca.pem
  signet serve --database-url postgres://signet:secret@127.0.0.1/signet
  AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… signet serve --blob-store s3://signet-blobs/prod \\
      --s3-endpoint http://127.0.0.1:9000
  SIGN_KEY=sgk_... signet serve --sign-api-url http://sign.example:8080 --sign-api-key-env SIGN_KEY
  signet serve --listen 0.0.0.0:8080 --data-dir /var/lib/signet --trust root-ca.pem \\
      --public-url http://pki.example.com
  curl -s http://127.0.0.1:8080/crl/issuing.crl | openssl crl -inform DER -noout -text
  curl -s --data-binary @signed.pdf -H 'Content-Type: application/pdf' \\
      http://127.0.0.1:8080/api/v1/verify | jq .valid")]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", env = "SIGNET_LISTEN", default_value_t = ServerConfig::default().listen)]
    listen: SocketAddr,
    /// Data directory, created on first start (0700) with a trust/ folder for trust anchors.
    #[arg(long, value_name = "DIR", env = "SIGNET_DATA_DIR", default_value_os_t = ServerConfig::default().data_dir)]
    data_dir: PathBuf,
    /// More trust anchor certificates (PEM, may hold several; or DER). Repeat for more files.
    #[arg(long, value_name = "ROOT.pem")]
    trust: Vec<PathBuf>,
    /// Base URL put into issued certificates for CRLs, CA certificates and OCSP
    /// [default: http:// + the --listen address].
    #[arg(long, value_name = "URL", env = "SIGNET_PUBLIC_URL")]
    public_url: Option<String>,
    /// Policy OID written into the timestamps of /tsa (RFC 3161 TSTInfo.policy).
    #[arg(long, value_name = "OID", env = "SIGNET_TSA_POLICY", default_value_t = signet_server::DEFAULT_TSA_POLICY,
          value_parser = parse_oid)]
    tsa_policy: signet_cms::oid::ObjectIdentifier,
    /// Largest accepted upload (a document to sign or verify), in MiB.
    #[arg(long, value_name = "MIB", env = "SIGNET_MAX_UPLOAD_MIB", default_value_t = ServerConfig::default().max_upload_bytes >> 20)]
    max_upload_mib: u64,
    /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB
    /// [default: sqlite://DATA/signet.db].
    #[arg(long, value_name = "URL", env = "SIGNET_DATABASE_URL")]
    database_url: Option<String>,
    /// An external RFC 3161 timestamp authority for signatures from B-T
    /// [default: the built-in one].
    #[arg(long, value_name = "URL", env = "SIGNET_SERVE_TSA_URL")]
    tsa_url: Option<String>,
    /// PKCS#11 module (shared library) for identities whose keys are on a token, e.g.
    /// /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, value_name = "PATH", env = "SIGNET_PKCS11_MODULE")]
    pkcs11_module: Option<PathBuf>,
    /// Environment variable holding the token's user PIN.
    #[arg(long, value_name = "VAR", default_value = "SIGNET_PKCS11_PIN", requires = "pkcs11_module")]
    pkcs11_pin_env: String,
    /// Let the signing agent use a remote hash-signing API (another `signet serve`) instead
    /// of this server's keys: only digests are sent there.
    #[arg(long, value_name = "URL", env = "SIGNET_SIGN_API_URL", requires = "sign_api_key_env")]
    sign_api_url: Option<String>,
    /// Environment variable holding the remote sign API's key (sgk_…).
    #[arg(long, value_name = "VAR", requires = "sign_api_url")]
    sign_api_key_env: Option<String>,
    /// Documents of batches (POST /api/v1/batches) signed at a time, shared by all batches
    /// [default: the number of cores].
    #[arg(long, value_name = "N", env = "SIGNET_BATCH_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    batch_workers: Option<u16>,
    /// Keep documents and seal images in an S3-compatible bucket, under an optional key
    /// prefix: s3://BUCKET[/PREFIX] [default: in DATA/blobs].
    #[arg(long, value_name = "URL", env = "SIGNET_BLOB_STORE", value_parser = parse_blob_store)]
    blob_store: Option<S3Options>,
    /// Endpoint of an S3-compatible server other than AWS, e.g. http://127.0.0.1:9000 for a
    /// local MinIO (path-style requests; http:// allowed) [default: AWS S3].
    #[arg(long, value_name = "URL", env = "SIGNET_S3_ENDPOINT", requires = "blob_store")]
    s3_endpoint: Option<String>,
    /// The bucket's region [default: $AWS_REGION or $AWS_DEFAULT_REGION, else us-east-1].
    #[arg(long, value_name = "REGION", env = "SIGNET_S3_REGION", requires = "blob_store")]
    s3_region: Option<String>,
    /// Wait before a failed webhook delivery's second attempt, doubled at each next one up to
    /// an hour: 500ms, 30s, 5m…
    #[arg(long, value_name = "DURATION", env = "SIGNET_WEBHOOK_RETRY_BASE", default_value = "30s",
          value_parser = parse_duration)]
    webhook_retry_base: std::time::Duration,
    /// Attempts of a webhook delivery before it is marked failed.
    #[arg(long, value_name = "N", env = "SIGNET_WEBHOOK_MAX_ATTEMPTS",
          default_value_t = ServerConfig::default().webhook_max_attempts,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    webhook_max_attempts: u32,
    /// How often the signing log's chains are timestamped by the TSA (when they changed).
    #[arg(long, value_name = "DURATION", env = "SIGNET_AUDIT_ANCHOR_INTERVAL", default_value = "10m",
          value_parser = parse_duration)]
    audit_anchor_interval: std::time::Duration,
    /// A reverse proxy (its address) whose X-Forwarded-For names the client, for the login
    /// throttle and the signing log; repeat for several.
    #[arg(long = "trusted-proxy", value_name = "IP", env = "SIGNET_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first), and ask
    /// clients for a certificate (mutual TLS, optional: see --client-ca).
    #[arg(long, value_name = "CERT.pem", env = "SIGNET_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM, not encrypted: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "KEY.pem", env = "SIGNET_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Also accept client certificates issued under this CA (PEM, may hold several; or DER),
    /// beside those of Signet's own CA; repeat for more files.
    #[arg(long = "client-ca", value_name = "CA.pem", requires = "tls_cert")]
    client_ca: Vec<PathBuf>,
    /// The SMTP server for invitations and one-time codes: smtp://host:25 (plain, loopback
    /// only), smtp://user@host:587?tls=starttls, smtps://user@host:465 (the password from
    /// SIGNET_SMTP_PASSWORD). Without it, each mail is written into DATA/outbox as a .eml file.
    #[arg(long, value_name = "URL", env = "SIGNET_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of Signet's e-mails.
    #[arg(long, value_name = "ADDRESS", env = "SIGNET_MAIL_FROM", default_value = "Signet <signet@localhost>")]
    mail_from: String,
    /// How long a signature prepared for a party's own key (deferred signing, `signet
    /// sign-digest`) may be returned: 90s, 15m, 2h…
    #[arg(long, value_name = "DURATION", env = "SIGNET_PREPARATION_TTL", default_value = "15m",
          value_parser = parse_duration)]
    preparation_ttl: std::time::Duration,
}

pub(crate) fn run(a: ServeArgs) -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
    let config = ServerConfig {
        listen: a.listen,
        data_dir: a.data_dir,
        trust: a.trust,
        max_upload_bytes: a.max_upload_mib.saturating_mul(1 << 20),
        public_url: a.public_url,
        tsa_policy: a.tsa_policy,
        database_url: a.database_url,
        tsa_url: a.tsa_url,
        pkcs11: a.pkcs11_module.map(|module| signet_server::Pkcs11Config { module, pin_env: a.pkcs11_pin_env }),
        sign_api: None,
        batch_workers: a.batch_workers.map_or(ServerConfig::default().batch_workers, usize::from),
        s3: a.blob_store.map(|s3| S3Options { endpoint: a.s3_endpoint, region: a.s3_region, ..s3 }),
        webhook_retry_base: a.webhook_retry_base,
        webhook_max_attempts: a.webhook_max_attempts,
        audit_anchor_interval: a.audit_anchor_interval,
        trusted_proxies: a.trusted_proxies,
        tls: match (a.tls_cert, a.tls_key) {
            (Some(certificate), Some(key)) => {
                Some(signet_server::tls::TlsSettings { certificate, key, client_cas: a.client_ca })
            }
            _ => None,
        },
        smtp_url: a.smtp_url,
        mail_from: a.mail_from,
        preparation_ttl: a.preparation_ttl,
    };
    let mut config = config;
    if let (Some(url), Some(var)) = (a.sign_api_url, a.sign_api_key_env) {
        match std::env::var(&var) {
            Ok(token) if !token.is_empty() => config.sign_api = Some((url, token)),
            _ => {
                eprintln!("signet serve: --sign-api-key-env {var}: the variable is not set");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("signet serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(signet_server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `500ms`, `30s`, `5m` or `1h`; more than zero, at most a day.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("'{s}' is not a duration like 500ms, 30s, 5m or 1h"))?;
    let d = match unit {
        "ms" => std::time::Duration::from_millis(n),
        "s" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n.saturating_mul(60)),
        "h" => std::time::Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("'{s}': give a unit, ms, s, m or h (e.g. 30s)")),
    };
    if d.is_zero() || d > std::time::Duration::from_secs(24 * 3600) {
        return Err(format!("'{s}': a duration above zero and at most 24h"));
    }
    Ok(d)
}

fn parse_blob_store(s: &str) -> Result<S3Options, String> {
    S3Options::from_url(s)
}

fn parse_oid(s: &str) -> Result<signet_cms::oid::ObjectIdentifier, String> {
    signet_cms::oid::ObjectIdentifier::new(s).map_err(|_| format!("'{s}' is not an object identifier (e.g. 1.2.3.4)"))
}
