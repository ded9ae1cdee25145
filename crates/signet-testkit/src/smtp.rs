//! A real SMTP server for tests: Python's aiosmtpd on 127.0.0.1, each message it accepts
//! written into a directory and read back decoded by Python's `email` package (quoted-printable,
//! base64, RFC 2047 headers, multipart), so what a test checks is what a mail client would show.
//!
//! The Python is `$SIGNET_TEST_E2E_PYTHON` (scripts/e2e-tools.sh makes it; scripts/test.sh
//! sets it), else the venv scripts/e2e-tools.sh makes by default when it is there. Without it:
//! under `CI` the test fails, elsewhere [`SmtpSink::start_or_skip`] prints a notice and the test
//! skips ([`SmtpSink::available`] says which).
//!
//! In the directory, message N is `N.eml` (the bytes received after `DATA`) and `N.json` (the
//! envelope and the decoded message), each written to a temporary name and renamed, the JSON
//! last, so a reader never sees half a message.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The recipient the sink refuses (`550 5.1.1 no such user here` to `RCPT TO`), to test how a
/// refusal reaches the sender.
pub const REFUSED_RECIPIENT: &str = "refused@example.invalid";

/// The Python program: `SCRIPT serve DIR` runs the server and prints its port; `SCRIPT parse`
/// reads a message on stdin and prints it as JSON.
const SCRIPT: &str = r#"
import asyncio, email, email.policy, json, os, sys

REFUSED = sys.argv[3] if len(sys.argv) > 3 else ""

def describe(raw):
    defects = []
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as e:
        return {"defects": ["unparseable: %r" % (e,)]}
    def walk_defects(part):
        for d in part.defects:
            defects.append("%s: %s" % (type(d).__name__, d))
        if part.is_multipart():
            for p in part.iter_parts():
                walk_defects(p)
    def header(name):
        try:
            v = msg.get(name)
            return v
        except Exception as e:
            defects.append("header %s: %r" % (name, e))
            return None
    def addrs(name):
        v = header(name)
        if v is None:
            return []
        try:
            return [a.addr_spec for a in v.addresses]
        except Exception as e:
            defects.append("header %s: %r" % (name, e))
            return [str(v)]
    def content(kind):
        try:
            part = msg.get_body(preferencelist=(kind,))
        except Exception as e:
            defects.append("body %s: %r" % (kind, e))
            return None
        if part is None:
            return None
        try:
            return part.get_content().replace("\r\n", "\n")
        except Exception as e:
            defects.append("body %s: %r" % (kind, e))
            return None
    walk_defects(msg)
    frm = addrs("From")
    headers = []
    for k, v in msg.raw_items():
        try:
            headers.append([k, str(msg.policy.header_fetch_parse(k, v))])
        except Exception as e:
            defects.append("header %s: %r" % (k, e))
            headers.append([k, str(v)])
    subject = header("Subject")
    return {
        "from": frm[0] if frm else "",
        "to": addrs("To"),
        "subject": str(subject) if subject is not None else "",
        "text": content("plain") or "",
        "html": content("html"),
        "headers": headers,
        "defects": defects,
    }

def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)

class Handler:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if REFUSED and address.lower() == REFUSED:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = "%06d" % self.n
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        meta = describe(raw)
        meta["envelope_from"] = envelope.mail_from
        meta["envelope_to"] = list(envelope.rcpt_tos)
        meta["file"] = os.path.join(self.out, name + ".eml")
        write_atomically(meta["file"], raw)
        write_atomically(os.path.join(self.out, name + ".json"), json.dumps(meta).encode())
        return "250 2.0.0 OK: queued as " + name

async def serve(out):
    from aiosmtpd.smtp import SMTP
    handler = Handler(out)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="signet-test-sink", enable_SMTPUTF8=True),
        host="127.0.0.1", port=0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

if sys.argv[1] == "serve":
    asyncio.run(serve(sys.argv[2]))
else:
    print(json.dumps(describe(sys.stdin.buffer.read())))
"#;

/// A message the sink received (or [`parse_eml`] read), decoded.
#[derive(Clone, Debug, Default)]
pub struct Message {
    /// `MAIL FROM` (empty for [`parse_eml`]).
    pub envelope_from: String,
    /// The `RCPT TO` addresses the sink accepted (empty for [`parse_eml`]).
    pub envelope_to: Vec<String>,
    /// The address of the `From` header.
    pub from: String,
    /// The addresses of the `To` header.
    pub to: Vec<String>,
    /// The subject, decoded.
    pub subject: String,
    /// The text/plain body, decoded, with `\n` line ends ("" when there is none).
    pub text: String,
    /// The text/html body, decoded, when there is one.
    pub html: Option<String>,
    /// Every header (name, decoded value), in order.
    pub headers: Vec<(String, String)>,
    /// What Python's parser found wrong (empty for a well-formed message).
    pub defects: Vec<String>,
    /// The `.eml` file (the sink's messages only).
    pub file: Option<PathBuf>,
}

impl Message {
    /// The first header `name` (any case), decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The raw bytes as received (the sink's messages only).
    pub fn raw(&self) -> Vec<u8> {
        std::fs::read(self.file.as_ref().expect("a message of the sink")).unwrap()
    }

    /// Whether `addr` is among the envelope's or the `To` header's recipients (any case).
    pub fn is_to(&self, addr: &str) -> bool {
        self.envelope_to.iter().chain(&self.to).any(|a| a.eq_ignore_ascii_case(addr.trim()))
    }

    fn from_json(v: &serde_json::Value) -> Message {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        Message {
            envelope_from: s("envelope_from"),
            envelope_to: list("envelope_to"),
            from: s("from"),
            to: list("to"),
            subject: s("subject"),
            text: s("text"),
            html: v["html"].as_str().map(str::to_string),
            headers: v["headers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|h| {
                            (
                                h[0].as_str().unwrap_or_default().to_string(),
                                h[1].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            defects: list("defects"),
            file: v["file"].as_str().map(PathBuf::from),
        }
    }
}

/// The Python with aiosmtpd: `$SIGNET_TEST_E2E_PYTHON` (which must have it), else the default
/// venv of scripts/e2e-tools.sh (`$SIGNET_E2E_VENV`, `/tmp/signet-e2e-venv`) when it has it.
pub fn python() -> Option<PathBuf> {
    crate::browser::tools_python("aiosmtpd.smtp")
}

/// Reads an RFC 5322 message with Python's `email` package (the standard library: any
/// `python3` does when the tools' venv is missing).
pub fn parse_eml(raw: &[u8]) -> Message {
    use std::io::Write;
    let py = python().unwrap_or_else(|| "python3".into());
    let mut child = Command::new(&py)
        .args(["-c", SCRIPT, "parse"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "parsing a message: {}", String::from_utf8_lossy(&out.stderr));
    Message::from_json(&serde_json::from_slice(&out.stdout).unwrap())
}

/// An aiosmtpd server on a free port of 127.0.0.1 that accepts every message (but those to
/// [`REFUSED_RECIPIENT`]) and keeps it in a directory of its own; killed and reaped when
/// dropped.
pub struct SmtpSink {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
    taken: Mutex<HashSet<PathBuf>>,
}

impl SmtpSink {
    /// Whether the sink can start here (a Python with aiosmtpd, see [`python`]).
    pub fn available() -> bool {
        python().is_some()
    }

    /// Starts the sink, or `None` when aiosmtpd is missing: under `CI` that fails the test,
    /// elsewhere a notice says that `test` is skipped and how to run it.
    pub fn start_or_skip(test: &str) -> Option<SmtpSink> {
        if Self::available() {
            return Some(Self::start());
        }
        super::missing_tool(test, "aiosmtpd (the test SMTP server)", "run scripts/e2e-tools.sh (scripts/test.sh does)");
        None
    }

    /// Starts the sink and waits (up to 30 s) until it listens. Panics when it cannot.
    pub fn start() -> SmtpSink {
        let py = python().expect("no Python with aiosmtpd: run scripts/e2e-tools.sh and set SIGNET_TEST_E2E_PYTHON");
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("sink.log")).unwrap();
        let mut child = Command::new(py)
            .args(["-c", SCRIPT, "serve"])
            .arg(dir.path())
            .arg(REFUSED_RECIPIENT)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the SMTP sink did not start: {}",
                std::fs::read_to_string(dir.path().join("sink.log")).unwrap_or_default()
            );
        };
        SmtpSink { port, dir, child, taken: Mutex::new(HashSet::new()) }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The directory with the messages (`N.eml`, `N.json`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files.iter().map(|f| Message::from_json(&serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())).collect()
    }

    /// The first message to `to` (envelope or `To` header, any case) not returned by an
    /// earlier `wait_for`, waiting up to `timeout` for it: so a second call waits for the
    /// second mail. Panics after the timeout, listing what arrived, or when the server died.
    pub fn wait_for(&self, to: &str, timeout: Duration) -> Message {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            let mut taken = self.taken.lock().unwrap();
            if let Some(m) = messages.iter().find(|m| m.is_to(to) && !taken.contains(m.file.as_ref().unwrap())) {
                taken.insert(m.file.clone().unwrap());
                return m.clone();
            }
            drop(taken);
            let log = || std::fs::read_to_string(self.dir.path().join("sink.log")).unwrap_or_default();
            if start.elapsed() > timeout {
                let seen: Vec<String> =
                    messages.iter().map(|m| format!("to {:?}: {:?}", m.envelope_to, m.subject)).collect();
                panic!("no mail to {to} within {timeout:?}; received: {seen:?}; sink log: {}", log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sink over a raw SMTP conversation: a quoted-printable UTF-8 text comes back
    /// decoded; the refused recipient gets 550.
    #[test]
    fn the_sink_receives_and_decodes() {
        use std::io::{Read, Write};
        let Some(sink) = SmtpSink::start_or_skip("the_sink_receives_and_decodes") else { return };
        let mut s = std::net::TcpStream::connect(("127.0.0.1", sink.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        // one answer (the last line of a multi-line one), its code checked
        let mut expect = |code: &str| {
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                assert!(line.starts_with(code), "expected {code}, got {line:?}");
                if line.as_bytes().get(3) == Some(&b' ') {
                    return line;
                }
            }
        };
        expect("220");
        let mut send = |cmd: &str| s.write_all(cmd.as_bytes()).unwrap();
        send("EHLO test\r\n");
        expect("250");
        send("MAIL FROM:<a@example.com>\r\n");
        expect("250");
        send(&format!("RCPT TO:<{REFUSED_RECIPIENT}>\r\n"));
        assert!(expect("550").contains("no such user here"));
        send("RCPT TO:<B@example.com>\r\n");
        expect("250");
        send("DATA\r\n");
        expect("354");
        send(concat!(
            "From: A <a@example.com>\r\nTo: B <B@example.com>\r\n",
            "Subject: =?utf-8?b?562+5ZCN?=\r\nMIME-Version: 1.0\r\n",
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
            "caf=C3=A9 =E7=AD=BE=E5=90=8D\r\nline two\r\n.\r\n"
        ));
        expect("250");
        send("QUIT\r\n");
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        let m = sink.wait_for("b@example.com", Duration::from_secs(10));
        assert_eq!((m.from.as_str(), m.envelope_from.as_str()), ("a@example.com", "a@example.com"));
        assert_eq!(m.envelope_to, vec!["B@example.com".to_string()]);
        assert_eq!(m.subject, "签名");
        assert_eq!(m.text, "café 签名\nline two\n");
        assert!(m.defects.is_empty(), "{:?}", m.defects);
        assert!(m.raw().starts_with(b"From: A"));
        assert_eq!(sink.messages().len(), 1);
        let again = parse_eml(&m.raw());
        assert_eq!(again.subject, "签名");
    }
}
