//! Outgoing mail: invitations and one-time codes for signers.
//!
//! A [`Mailer`] either sends through an SMTP server or, with none configured, writes every
//! mail as an `.eml` file (RFC 5322, as it would have been sent) into an outbox directory and
//! logs it (target `signet::mail`, with the text, so the links are in the log): `signet
//! serve` works with no setup, and an operator can still see and forward what would have gone
//! out.
//!
//! The SMTP server is a URL:
//!
//! | URL | connection |
//! |---|---|
//! | `smtp://127.0.0.1:2525` | plain SMTP (default port 25); only to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`), as a local relay |
//! | `smtp://user:pass@smtp.example.com:587?tls=starttls` | STARTTLS, required (default port 587); `tls=required` is the same |
//! | `smtps://user:pass@smtp.example.com` | implicit TLS (default port 465) |
//!
//! User and password are percent-encoded in the URL (`%40` for `@`); without a password in
//! the URL it comes from the environment variable [`SMTP_PASSWORD_ENV`], so it need not be on
//! a command line. `helo=NAME` sets the name the client gives in `EHLO` (default: the address
//! literal `[127.0.0.1]`). Certificates are checked against the system's roots
//! (`/etc/ssl/certs`) with rustls on aws-lc-rs. Each mail opens its own connection; a send
//! takes at most [`SEND_TIMEOUT`].
//!
//! Recipients are checked as addresses, and CR, LF or NUL in a subject or a name are refused,
//! so that no header can be injected. With an HTML version the mail is
//! `multipart/alternative` (text first, HTML second); the bodies are UTF-8, in 7bit,
//! quoted-printable or base64, whichever fits.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentType, MIME_VERSION_1_0};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::Error;

/// The environment variable with the SMTP password, when the URL has none.
pub const SMTP_PASSWORD_ENV: &str = "SIGNET_SMTP_PASSWORD";

/// The longest a send may take: connecting, TLS, every command and the answer to the data.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// One mail to one person.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// The recipient's address (`alice@example.com`, no name).
    pub to: String,
    /// The recipient's name, shown in the `To` header.
    pub to_name: Option<String>,
    /// The subject (one line).
    pub subject: String,
    /// The plain-text body (always sent).
    pub text: String,
    /// An HTML version of the body; the mail is then `multipart/alternative`.
    pub html: Option<String>,
}

/// Sends [`Mail`]s through an SMTP server, or writes them into an outbox directory when there
/// is none. Cheap to clone (one shared configuration).
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    from: Mailbox,
    transport: Transport,
}

enum Transport {
    Outbox(PathBuf),
    Smtp(Box<Smtp>),
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: SmtpServer,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("describe", &self.describe()).finish()
    }
}

/// A configuration mistake in the mail settings (the SMTP URL, the sender's address), as the
/// source of the [`Error`] that [`Mailer::new`] returns.
#[derive(Debug)]
pub struct MailConfigError(String);

impl fmt::Display for MailConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MailConfigError {}

fn config_error(message: String) -> Error {
    Error::Internal { context: "outgoing mail", source: Box::new(MailConfigError(message)) }
}

impl Mailer {
    /// A mailer sending as `from` (`noreply@example.com` or `Signet <noreply@example.com>`):
    /// through the SMTP server `smtp_url` (see the module's documentation), or with `None`
    /// into the directory `outbox` (created, 0700 on Unix). The password, when the URL names a
    /// user without one, comes from [`SMTP_PASSWORD_ENV`].
    ///
    /// Fails, naming the mistake, on a malformed URL, an unknown scheme or parameter, plain
    /// SMTP to a host that is not loopback, a user without a password, a bad sender address,
    /// or an outbox directory that cannot be created.
    pub fn new(smtp_url: Option<&str>, from: &str, outbox: PathBuf) -> Result<Mailer, Error> {
        let env_password = std::env::var(SMTP_PASSWORD_ENV).ok().filter(|p| !p.is_empty());
        Self::with_password(smtp_url, from, outbox, env_password)
    }

    /// [`Mailer::new`] with the password that would come from the environment given here.
    fn with_password(
        smtp_url: Option<&str>,
        from: &str,
        outbox: PathBuf,
        env_password: Option<String>,
    ) -> Result<Mailer, Error> {
        let from = parse_from(from).map_err(config_error)?;
        let transport = match smtp_url {
            None => {
                let mut builder = std::fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                builder.create(&outbox).map_err(|source| Error::DataDir { path: outbox.clone(), source })?;
                Transport::Outbox(outbox)
            }
            Some(url) => {
                let server = SmtpServer::parse(url, env_password).map_err(config_error)?;
                let transport = server.transport().map_err(config_error)?;
                Transport::Smtp(Box::new(Smtp { transport, server }))
            }
        };
        Ok(Mailer { inner: Arc::new(Inner { from, transport }) })
    }

    /// Sends `mail` (or writes it into the outbox). A recipient that is not an address, or a
    /// subject or name with a line break, is a 400 (`bad_email`); a server that refuses the
    /// mail, cannot be reached or does not finish within [`SEND_TIMEOUT`] is an
    /// [`Error::Upstream`] naming the server and its answer.
    pub async fn send(&self, mail: &Mail) -> Result<(), Error> {
        let message = self.message(mail)?;
        match &self.inner.transport {
            Transport::Outbox(dir) => {
                let bytes = message.formatted();
                let dir = dir.clone();
                let file = tokio::task::spawn_blocking(move || write_eml(&dir, &bytes))
                    .await
                    .map_err(Error::internal("writing a mail into the outbox"))?
                    .map_err(Error::internal("writing a mail into the outbox"))?;
                tracing::info!(
                    target: "signet::mail",
                    to = %mail.to,
                    subject = %mail.subject,
                    file = %file.display(),
                    "no SMTP server configured: mail written to the outbox\n{}",
                    mail.text
                );
                Ok(())
            }
            Transport::Smtp(smtp) => {
                let Smtp { transport, server } = smtp.as_ref();
                let sent = tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await;
                match sent {
                    Ok(Ok(response)) => {
                        tracing::info!(
                            target: "signet::mail",
                            to = %mail.to,
                            subject = %mail.subject,
                            server = %server.host_port(),
                            answer = %response.code(),
                            "mail sent"
                        );
                        Ok(())
                    }
                    Ok(Err(e)) => Err(Error::Upstream(format!(
                        "the mail server {} did not take the mail to {}: {}",
                        server.host_port(),
                        mail.to,
                        smtp_error_text(&e)
                    ))),
                    Err(_) => Err(Error::Upstream(format!(
                        "the mail server {} did not take the mail to {} within {} s",
                        server.host_port(),
                        mail.to,
                        SEND_TIMEOUT.as_secs()
                    ))),
                }
            }
        }
    }

    /// Where mail goes, for the startup log: the SMTP URL with the password hidden, or the
    /// outbox directory; and the sender.
    pub fn describe(&self) -> String {
        let from = &self.inner.from;
        match &self.inner.transport {
            Transport::Outbox(dir) => format!(
                "no SMTP server: mail from {from} is written into {} and logged (set an SMTP URL to send it)",
                dir.display()
            ),
            Transport::Smtp(smtp) => format!("SMTP {} from {from}", smtp.server.describe()),
        }
    }

    /// The outbox directory, when mail is written there instead of sent.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.inner.transport {
            Transport::Outbox(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// The RFC 5322 message for `mail`, checked.
    fn message(&self, mail: &Mail) -> Result<Message, Error> {
        let to: Address = mail.to.trim().parse().map_err(|e| {
            Error::bad("bad_email", format!("the recipient {:?} is not an e-mail address: {e}", mail.to))
        })?;
        if let Some(name) = &mail.to_name {
            one_line("the recipient's name", name).map_err(|m| Error::bad("bad_email", m))?;
        }
        one_line("the subject", &mail.subject).map_err(|m| Error::bad("bad_email", m))?;
        let to_name = mail.to_name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        let builder = Message::builder()
            .from(self.inner.from.clone())
            .to(Mailbox::new(to_name, to))
            .subject(mail.subject.trim())
            .message_id(Some(format!("<{}@{}>", random_hex(16), self.inner.from.email.domain())));
        let built = match &mail.html {
            // the text as the message's body itself (a single MIME part would gain a CRLF)
            None => builder.header(MIME_VERSION_1_0).header(ContentType::TEXT_PLAIN).body(mail.text.clone()),
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.text.clone()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
            ),
        };
        built.map_err(|e| Error::bad("bad_email", format!("the mail cannot be built: {e}")))
    }
}

/// `Err` naming `what` when `value` has a character that would end a header line.
fn one_line(what: &str, value: &str) -> Result<(), String> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!("{what} must be one line (no CR, LF or NUL): {value:?}"));
    }
    Ok(())
}

/// The sender: `addr@domain` or `Name <addr@domain>`.
fn parse_from(from: &str) -> Result<Mailbox, String> {
    one_line("the sender", from)?;
    from.trim().parse::<Mailbox>().map_err(|e| {
        format!("the sender {from:?} is not an address (`noreply@example.com` or `Signet <noreply@example.com>`): {e}")
    })
}

/// Writes `bytes` as `DIR/<unix millis>-<sequence>-<random>.eml` (a temporary file in `dir`,
/// renamed into place: the file is complete or absent). Returns the file's path. The sequence
/// counts the process's mails, so names sort in the order the mails were written even within
/// one millisecond; the random part keeps processes sharing an outbox apart.
fn write_eml(dir: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{millis:013}-{seq:08}-{}.eml", random_hex(4)));
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").suffix(".eml").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut buf);
    hex::encode(buf)
}

/// An SMTP error as text, with the server's answer (code and message) when there is one and
/// the causes (`network error: Connection refused`).
fn smtp_error_text(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Security {
    /// Plain SMTP (loopback hosts only).
    Plain,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte (`smtps`).
    Implicit,
}

/// An SMTP URL, parsed and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SmtpServer {
    security: Security,
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<String>,
    helo: Option<String>,
}

impl SmtpServer {
    /// Parses `smtp[s]://[user[:password]@]host[:port][/][?tls=starttls&helo=NAME]`;
    /// `env_password` is the password when the URL names a user without one.
    fn parse(url: &str, env_password: Option<String>) -> Result<SmtpServer, String> {
        let shown = redact(url);
        let bad = |why: &str| format!("the SMTP URL {shown} {why}");
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("has spaces or control characters"));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            bad("is not a URL: use smtp://HOST:PORT (loopback), smtp://USER@HOST:587?tls=starttls or smtps://USER@HOST:465")
        })?;
        if rest.contains('#') {
            return Err(bad("has a fragment (#)"));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if !path.is_empty() && path != "/" {
            return Err(bad(&format!("has a path ({path}); the HELO name goes in ?helo=NAME")));
        }
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port).map_err(|why| bad(&why))?;
        let mut security = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => Security::Plain,
            "smtps" => Security::Implicit,
            other => return Err(bad(&format!("has the scheme {other:?}; use smtp or smtps"))),
        };
        let mut helo = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).map_err(|why| bad(&why))?;
            match key {
                "tls" => match (security, value.as_str()) {
                    (Security::Plain | Security::StartTls, "starttls" | "required") => security = Security::StartTls,
                    (Security::Implicit, _) => {
                        return Err(bad("has ?tls= with smtps://, which is already TLS from the start"));
                    }
                    (_, other) => {
                        return Err(bad(&format!("has tls={other}; the one value is tls=starttls")));
                    }
                },
                "helo" if !value.is_empty() => helo = Some(value),
                _ => return Err(bad(&format!("has an unknown parameter {key:?} (known: tls, helo)"))),
            }
        }
        let port = match port {
            Some(p) => p,
            None => match security {
                Security::Plain => 25,
                Security::StartTls => 587,
                Security::Implicit => 465,
            },
        };
        if security == Security::Plain && !is_loopback(&host) {
            return Err(bad(&format!(
                "sends in clear to {host}, which is not a loopback host; use smtp://…?tls=starttls or smtps://…"
            )));
        }
        let (user, mut password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(percent_decode(p).map_err(|why| bad(&why))?)),
                    None => (info, None),
                };
                let user = percent_decode(user).map_err(|why| bad(&why))?;
                if user.is_empty() {
                    return Err(bad("has a password but no user"));
                }
                (Some(user), password.filter(|p| !p.is_empty()))
            }
        };
        if user.is_some() && password.is_none() {
            password = env_password;
            if password.is_none() {
                return Err(bad(&format!("names a user but no password: put it in the URL or in {SMTP_PASSWORD_ENV}")));
            }
        }
        Ok(SmtpServer { security, host, port, user, password, helo })
    }

    /// The lettre transport (TLS settings with the system's roots).
    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.as_str())
            .port(self.port)
            .timeout(Some(SEND_TIMEOUT));
        let tls = || {
            TlsParameters::new(self.host.clone())
                .map_err(|e| format!("TLS settings for the mail server {}: {e}", self.host_port()))
        };
        builder = match self.security {
            Security::Plain => builder.tls(Tls::None),
            Security::StartTls => builder.tls(Tls::Required(tls()?)),
            Security::Implicit => builder.tls(Tls::Wrapper(tls()?)),
        };
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        if let Some(name) = &self.helo {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(builder.build())
    }

    fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL again, password hidden, with what the connection is.
    fn describe(&self) -> String {
        let scheme = if self.security == Security::Implicit { "smtps" } else { "smtp" };
        let user = match &self.user {
            Some(u) => format!("{u}:***@"),
            None => String::new(),
        };
        let query = if self.security == Security::StartTls { "?tls=starttls" } else { "" };
        let how = match self.security {
            Security::Plain => "plain, loopback",
            Security::StartTls => "STARTTLS",
            Security::Implicit => "implicit TLS",
        };
        format!("{scheme}://{user}{}{query} ({how})", self.host_port())
    }
}

/// `host[:port]` or `[v6][:port]`.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("has an IPv6 address without its closing ]")?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("has {host:?} in brackets, which is not an IPv6 address"));
        }
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or("has something after the IPv6 address")?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    if !host.contains(':') && !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(format!("has the host {host:?}, which is not a host name or address"));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 => Some(n),
            _ => return Err(format!("has the port {p:?}, which is not a port number")),
        },
    };
    Ok((host.to_ascii_lowercase(), port))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `%XX` decoding (UTF-8 result).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or("has a % that is not followed by two hex digits")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "has percent-encoded bytes that are not UTF-8".to_string())
}

/// The URL with the password (between `user:` and `@`) replaced by `***`, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    match authority.rsplit_once('@') {
        Some((info, host)) => {
            let user = info.split_once(':').map_or(info, |(u, _)| u);
            let hidden = if info.contains(':') { format!("{user}:***") } else { user.to_string() };
            format!("{scheme}://{hidden}@{host}{}", &rest[end..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SmtpServer, String> {
        SmtpServer::parse(url, None)
    }

    #[test]
    fn smtp_urls_are_parsed() {
        let s = parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (s.security, s.host.as_str(), s.port, s.user.as_deref()),
            (Security::Plain, "127.0.0.1", 2525, None)
        );
        assert_eq!(parse("smtp://localhost").unwrap().port, 25);
        assert_eq!(parse("smtp://[::1]:2525/").unwrap().host, "::1");

        let s =
            parse("smtp://mailer%40example.com:p%3Ass@Smtp.Example.com?tls=starttls&helo=signet.example.com").unwrap();
        assert_eq!(s.security, Security::StartTls);
        assert_eq!((s.host.as_str(), s.port), ("smtp.example.com", 587));
        assert_eq!((s.user.as_deref(), s.password.as_deref()), (Some("mailer@example.com"), Some("p:ss")));
        assert_eq!(s.helo.as_deref(), Some("signet.example.com"));
        assert_eq!(s.describe(), "smtp://mailer@example.com:***@smtp.example.com:587?tls=starttls (STARTTLS)");
        assert!(!s.describe().contains("p:ss"));

        let s = parse("smtps://smtp.example.com").unwrap();
        assert_eq!((s.security, s.port), (Security::Implicit, 465));
        assert_eq!(parse("smtp://smtp.example.com:2587?tls=required").unwrap().port, 2587);

        // the password from the environment, only when the URL has none
        let s = SmtpServer::parse("smtps://u@smtp.example.com", Some("from-env".into())).unwrap();
        assert_eq!(s.password.as_deref(), Some("from-env"));
        let s = SmtpServer::parse("smtps://u:in-url@smtp.example.com", Some("from-env".into())).unwrap();
        assert_eq!(s.password.as_deref(), Some("in-url"));
    }

    #[test]
    fn bad_smtp_urls_are_refused_clearly() {
        let cases = [
            ("smtp://smtp.example.com:25", "not a loopback host"),
            ("smtp://10.0.0.5", "not a loopback host"),
            ("smtp://user:pw@smtp.example.com:587", "not a loopback host"),
            ("http://127.0.0.1:25", "scheme \"http\""),
            ("127.0.0.1:25", "is not a URL"),
            ("smtp://", "has no host"),
            ("smtp://127.0.0.1:99999", "not a port number"),
            ("smtp://127.0.0.1:0", "not a port number"),
            ("smtp://127.0.0.1:x", "not a port number"),
            ("smtp://smtp.example.com?tls=opportunistic", "tls=opportunistic"),
            ("smtps://smtp.example.com?tls=starttls", "already TLS"),
            ("smtp://127.0.0.1?foo=bar", "unknown parameter \"foo\""),
            ("smtp://127.0.0.1/relay", "has a path"),
            ("smtps://user@smtp.example.com", "SIGNET_SMTP_PASSWORD"),
            ("smtps://:pw@smtp.example.com", "no user"),
            ("smtp://127.0.0.1:25\r\nRCPT", "control characters"),
            ("smtps://u:p%zz@smtp.example.com", "two hex digits"),
            ("smtp://[::1", "closing ]"),
            ("smtp://ex ample.com", "spaces"),
        ];
        for (url, expected) in cases {
            let e = parse(url).expect_err(url);
            assert!(e.contains(expected), "{url}: {e}");
            assert!(e.starts_with("the SMTP URL "), "{url}: {e}");
        }
        // the password never appears in an error
        let e = parse("smtp://user:secret-pw@smtp.example.com").unwrap_err();
        assert!(!e.contains("secret-pw") && e.contains("user:***@smtp.example.com"), "{e}");
        // through Mailer::new: a server error with the reason
        let dir = tempfile::tempdir().unwrap();
        let e = Mailer::with_password(Some("smtp://smtp.example.com"), "a@example.com", dir.path().into(), None)
            .unwrap_err();
        assert!(e.to_string().starts_with("outgoing mail: the SMTP URL smtp://smtp.example.com sends in clear"), "{e}");
        let e = Mailer::with_password(None, "Signet noreply", dir.path().into(), None).unwrap_err();
        assert!(e.to_string().contains("the sender \"Signet noreply\" is not an address"), "{e}");
    }

    fn outbox_mailer(dir: &Path) -> Mailer {
        Mailer::with_password(None, "Signet <noreply@signet.example>", dir.join("outbox"), None).unwrap()
    }

    fn eml_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn the_outbox_gets_a_parseable_eml() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = outbox_mailer(dir.path());
        assert!(mailer.describe().contains("outbox"), "{}", mailer.describe());
        let text = "Please sign the contract:\nhttp://127.0.0.1:8080/sign/abc\n\n— Signet, 签名\n";
        let mail = Mail {
            to: "alice@example.com".into(),
            to_name: Some("Alice Zhang 张".into()),
            subject: "Please sign: contract 合同 2026".into(),
            text: text.into(),
            html: Some("<p>Please <a href=\"http://127.0.0.1:8080/sign/abc\">sign</a> 签名</p>".into()),
        };
        mailer.send(&mail).await.unwrap();
        mailer.send(&Mail { html: None, subject: "Your code: 123456".into(), ..mail.clone() }).await.unwrap();

        let outbox = dir.path().join("outbox");
        let files = eml_files(&outbox);
        assert_eq!(files.len(), 2, "{files:?}: no temporary file left");
        assert!(files.iter().all(|f| f.extension().is_some_and(|e| e == "eml")));
        let raw = std::fs::read(&files[0]).unwrap();
        // RFC 5322: CRLF line ends, 7-bit header lines of at most 998 characters
        let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a blank line after the header");
        let head = std::str::from_utf8(&raw[..head_end]).expect("an ASCII header");
        assert!(head.is_ascii(), "{head}");
        assert!(!raw.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'), "a bare LF");
        assert!(raw.split(|&b| b == b'\n').all(|l| l.len() <= 1000));
        for name in
            ["From:", "To:", "Subject:", "Date:", "Message-ID:", "MIME-Version:", "Content-Type: multipart/alternative"]
        {
            assert!(head.lines().any(|l| l.starts_with(name)), "no {name} in\n{head}");
        }
        assert!(head.contains("@signet.example>"), "the Message-ID's domain is the sender's: {head}");

        // a real parser (Python's email package) reads the same as was sent
        let m = signet_testkit::smtp::parse_eml(&raw);
        assert!(m.defects.is_empty(), "{:?}", m.defects);
        assert_eq!(m.from, "noreply@signet.example");
        assert_eq!(m.to, vec!["alice@example.com".to_string()]);
        assert_eq!(m.subject, "Please sign: contract 合同 2026");
        assert_eq!(m.text, text);
        assert!(m.header("To").unwrap().contains("Alice Zhang 张"), "{:?}", m.header("To"));
        assert!(m.html.as_deref().unwrap().contains("签名"));

        let m = signet_testkit::smtp::parse_eml(&std::fs::read(&files[1]).unwrap());
        assert!(m.defects.is_empty(), "{:?}", m.defects);
        assert_eq!((m.subject.as_str(), m.text.as_str(), m.html.is_none()), ("Your code: 123456", text, true));
        assert!(m.header("Content-Type").unwrap().starts_with("text/plain"), "{:?}", m.header("Content-Type"));
    }

    #[tokio::test]
    async fn header_injection_and_bad_addresses_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = outbox_mailer(dir.path());
        let good = Mail { to: "bob@example.com".into(), subject: "Hello".into(), text: "hi".into(), ..Mail::default() };
        let cases = [
            Mail { subject: "Hello\r\nBcc: eve@example.com".into(), ..good.clone() },
            Mail { subject: "Hello\nX-Evil: 1".into(), ..good.clone() },
            Mail { to_name: Some("Bob\r\nBcc: eve@example.com".into()), ..good.clone() },
            Mail { to: "bob@example.com\r\nBcc: eve@example.com".into(), ..good.clone() },
            Mail { to: "bob@example.com, eve@example.com".into(), ..good.clone() },
            Mail { to: "Bob <bob@example.com>".into(), ..good.clone() },
            Mail { to: "not an address".into(), ..good.clone() },
            Mail { to: "".into(), ..good.clone() },
        ];
        for mail in cases {
            let e = mailer.send(&mail).await.expect_err(&format!("{mail:?}"));
            assert_eq!(e.code(), "bad_email", "{mail:?}: {e}");
            assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
        }
        assert!(eml_files(&dir.path().join("outbox")).is_empty(), "nothing written for refused mail");
        mailer.send(&good).await.unwrap();
        assert_eq!(eml_files(&dir.path().join("outbox")).len(), 1);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_in_the_error() {
        let port = signet_testkit::free_port();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("smtp://127.0.0.1:{port}");
        let mailer = Mailer::with_password(Some(&url), "noreply@signet.example", dir.path().into(), None).unwrap();
        assert_eq!(
            mailer.describe(),
            format!("SMTP smtp://127.0.0.1:{port} (plain, loopback) from noreply@signet.example")
        );
        assert!(mailer.outbox().is_none());
        let mail = Mail { to: "bob@example.com".into(), subject: "Hello".into(), text: "hi".into(), ..Mail::default() };
        let e = mailer.send(&mail).await.unwrap_err();
        assert_eq!(e.code(), "upstream_failed", "{e}");
        let text = e.to_string();
        assert!(
            text.contains(&format!("the mail server 127.0.0.1:{port} did not take the mail to bob@example.com")),
            "{text}"
        );
        assert!(text.to_lowercase().contains("refused"), "{text}");
    }

    /// A real SMTP server (aiosmtpd, from the testkit) receives what the mailer sends, and
    /// its refusal reaches the caller with the server's answer.
    #[tokio::test]
    async fn mail_goes_through_a_real_smtp_server() {
        let Some(sink) = signet_testkit::smtp::SmtpSink::start_or_skip("mail_goes_through_a_real_smtp_server") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::with_password(
            Some(&format!("smtp://127.0.0.1:{}", sink.port())),
            "Signet <noreply@signet.example>",
            dir.path().into(),
            None,
        )
        .unwrap();
        let text = "Your one-time code is 493 817.\nIt expires in 10 minutes.\n";
        let mail = Mail {
            to: "carol@example.com".into(),
            to_name: Some("Carol".into()),
            subject: "Your code 验证码".into(),
            text: text.into(),
            html: Some("<p>Your one-time code is <b>493 817</b>.</p>".into()),
        };
        mailer.send(&mail).await.unwrap();
        let got = tokio::task::spawn_blocking(move || {
            let m = sink.wait_for("carol@example.com", Duration::from_secs(10));
            (m, sink)
        })
        .await
        .unwrap();
        let (m, sink) = got;
        assert_eq!(m.envelope_from, "noreply@signet.example");
        assert_eq!(m.envelope_to, vec!["carol@example.com".to_string()]);
        assert_eq!(m.from, "noreply@signet.example");
        assert_eq!(m.subject, "Your code 验证码");
        assert_eq!(m.text, text);
        assert!(m.html.as_deref().unwrap().contains("<b>493 817</b>"));
        assert!(m.defects.is_empty(), "{:?}", m.defects);

        // the sink refuses this recipient with 550: the error carries the server's answer
        let e = mailer
            .send(&Mail { to: signet_testkit::smtp::REFUSED_RECIPIENT.into(), ..mail.clone() })
            .await
            .unwrap_err();
        assert_eq!(e.code(), "upstream_failed");
        let text = e.to_string();
        assert!(text.contains("550") && text.contains("no such user here"), "{text}");
        assert_eq!(sink.messages().len(), 1);
    }
}
