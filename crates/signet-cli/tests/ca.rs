//! `signet ca` and the first start of `signet serve`, checked with the OpenSSL command line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use signet_testkit::free_port;

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

fn run(cmd: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(cmd);
    c.args(args).env_remove("SIGNET_MASTER_KEY").env_remove("SIGNET_DATA_DIR").env_remove("SIGNET_PUBLIC_URL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(out: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    text
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn init_issue_revoke_crl_export() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let ca = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["ca", "--data-dir", s(&data)];
        all.extend_from_slice(args);
        run(SIGNET, &all, env)
    };
    let text =
        ok(&ca(&["init", "--name", "Example Trust", "--country", "BE", "--public-url", "http://pki.example"], &[]));
    assert!(text.contains("master key created") && text.contains("root-ca"), "{text}");
    // A second init refuses to replace the authority.
    assert!(!ca(&["init"], &[]).status.success());

    let p12 = dir.join("alice.p12");
    let text = ok(&ca(
        &[
            "issue",
            "--profile",
            "person",
            "--cn",
            "Alice",
            "--email",
            "alice@example.com",
            "--p12",
            s(&p12),
            "--p12-password-env",
            "PW",
        ],
        &[("PW", "pw")],
    ));
    let serial = text.lines().find_map(|l| l.strip_prefix("serial:")).unwrap().trim().to_owned();
    let info = ok(&run("openssl", &["pkcs12", "-info", "-nokeys", "-in", s(&p12), "-passin", "pass:pw"], &[]));
    assert!(info.contains("CN = Alice"), "{info}");

    // The certificate chains to the root with openssl.
    let root_pem = dir.join("root.pem");
    let issuing_pem = dir.join("issuing.pem");
    let alice_pem = dir.join("alice.pem");
    for (der, pem) in [
        (data.join("ca/root.crt"), &root_pem),
        (data.join("ca/issuing.crt"), &issuing_pem),
        (data.join(format!("ca/certs/{serial}.crt")), &alice_pem),
    ] {
        ok(&run("openssl", &["x509", "-inform", "DER", "-in", s(&der), "-out", s(pem)], &[]));
    }
    let text = ok(&run(
        "openssl",
        &["verify", "-CAfile", s(&root_pem), "-untrusted", s(&issuing_pem), "-purpose", "any", s(&alice_pem)],
        &[],
    ));
    assert!(text.contains("OK"), "{text}");
    let text = ok(&run("openssl", &["x509", "-in", s(&alice_pem), "-noout", "-text"], &[]));
    assert!(text.contains("URI:http://pki.example/crl/issuing.crl"), "{text}");

    let text = ok(&ca(&["revoke", &serial.to_lowercase(), "--reason", "keyCompromise"], &[]));
    assert!(text.contains("revoked"), "{text}");
    let out = ca(&["revoke", &serial, "--reason", "superseded"], &[]);
    assert!(!out.status.success());
    assert_eq!(ca(&["revoke", "01", "--reason", "nonsense"], &[]).status.code(), Some(2));

    let crl = dir.join("issuing.crl");
    ok(&ca(&["crl", "--out", s(&crl)], &[]));
    let text = ok(&run(
        "openssl",
        &["crl", "-inform", "DER", "-in", s(&crl), "-CAfile", s(&issuing_pem), "-noout", "-text"],
        &[],
    ));
    assert!(text.contains("verify OK") && text.contains(&serial) && text.contains("Key Compromise"), "{text}");

    let text = ok(&ca(&["list"], &[]));
    assert!(text.lines().any(|l| l.starts_with(&serial) && l.contains("revoked (keyCompromise)")), "{text}");

    let exported = dir.join("again.p12");
    ok(&ca(&["export", &serial, "--p12", s(&exported), "--p12-password-env", "PW"], &[("PW", "other")]));
    ok(&run("openssl", &["pkcs12", "-info", "-nokeys", "-in", s(&exported), "-passin", "pass:other"], &[]));
    // Never over an existing file.
    assert!(
        !ca(&["export", &serial, "--p12", s(&exported), "--p12-password-env", "PW"], &[("PW", "x")]).status.success()
    );
}

/// The server process, killed and reaped when dropped (also when the test fails).
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")?;
    let mut res = Vec::new();
    s.read_to_end(&mut res)?;
    let split = res.windows(4).position(|w| w == b"\r\n\r\n").expect("end of the response head");
    let head = String::from_utf8_lossy(&res[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status code");
    Ok((status, head, res[split + 4..].to_vec()))
}

#[test]
fn first_serve_initialises_the_authority_and_publishes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
    let log = tmp.path().join("serve.log");
    let mut cmd = Command::new(SIGNET);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir", s(&data)])
        .env_remove("SIGNET_MASTER_KEY")
        .env_remove("SIGNET_PUBLIC_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let server = ServerGuard(cmd.spawn().unwrap());

    let start = Instant::now();
    let (status, head, root) = loop {
        match http_get(port, "/ca/root.crt") {
            Ok(r) => break r,
            Err(_) if start.elapsed() < Duration::from_secs(30) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("the server did not answer within 30 s: {e}"),
        }
    };
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("content-type: application/pkix-cert"), "{head}");
    assert_eq!(root, std::fs::read(data.join("ca/root.crt")).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("master.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (status, _, issuing) = http_get(port, "/ca/issuing.crt").unwrap();
    assert_eq!(status, 200);
    let issuing_der = tmp.path().join("issuing.der");
    std::fs::write(&issuing_der, &issuing).unwrap();
    let (status, head, crl) = http_get(port, "/crl/issuing.crl").unwrap();
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("content-type: application/pkix-crl"), "{head}");
    let crl_file = tmp.path().join("issuing.crl");
    std::fs::write(&crl_file, &crl).unwrap();
    let issuing_pem = tmp.path().join("issuing.pem");
    ok(&run("openssl", &["x509", "-inform", "DER", "-in", s(&issuing_der), "-out", s(&issuing_pem)], &[]));
    let text = ok(&run(
        "openssl",
        &["crl", "-inform", "DER", "-in", s(&crl_file), "-CAfile", s(&issuing_pem), "-noout", "-text"],
        &[],
    ));
    assert!(text.contains("verify OK") && text.contains("Next Update"), "{text}");
    // The default public URL follows --listen.
    let text = ok(&run("openssl", &["x509", "-in", s(&issuing_pem), "-noout", "-ext", "crlDistributionPoints"], &[]));
    assert!(text.contains(&format!("http://127.0.0.1:{port}/crl/root.crl")), "{text}");
    drop(server);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("created the certification authority") && log.contains("master.key"), "{log}");
}
