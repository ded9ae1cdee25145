//! `signet serve` end to end: the real binary on 127.0.0.1, a PDF signed by `signet sign`
//! posted to `/api/v1/verify` over a plain TCP socket.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use signet_testkit::{Pki, free_port};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

/// The server process, killed and reaped when dropped (also when the test fails).
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the body.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut res = Vec::new();
    s.read_to_end(&mut res)?;
    let split = res.windows(4).position(|w| w == b"\r\n\r\n").expect("end of the response head");
    let head = String::from_utf8_lossy(&res[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status code");
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "chunked response: {head}");
    Ok((status, res[split + 4..].to_vec()))
}

#[test]
fn serve_verifies_a_signed_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::make(&dir.path().join("pki"));
    let input = dir.path().join("in.pdf");
    let signed = dir.path().join("signed.pdf");
    std::fs::write(&input, signet_testkit::test_pdf(&[signet_testkit::TestPage::A4])).unwrap();
    pki.sign_with(SIGNET, "signer-ec", &input, &signed, &[]);

    let port = free_port();
    let data_dir = dir.path().join("data");
    let server = ServerGuard(
        Command::new(SIGNET)
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--trust")
            .arg(pki.root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let start = Instant::now();
    let health = loop {
        match http(port, "GET", "/healthz", &[], b"") {
            Ok(r) => break r,
            Err(_) if start.elapsed() < Duration::from_secs(30) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("the server did not answer /healthz within 30 s: {e}"),
        }
    };
    assert_eq!(health.0, 200);
    let health: Value = serde_json::from_slice(&health.1).unwrap();
    assert_eq!(health["status"], "ok");
    assert!(data_dir.join("trust/README.txt").is_file());

    let pdf = std::fs::read(&signed).unwrap();
    let (status, body) = http(port, "POST", "/api/v1/verify", &[("Content-Type", "application/pdf")], &pdf).unwrap();
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 1, "{report}");

    // A client error is answered as JSON and leaves the server running.
    let (status, body) =
        http(port, "POST", "/api/v1/verify", &[("Content-Type", "application/pdf")], b"garbage").unwrap();
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "unreadable_pdf");
    assert_eq!(http(port, "GET", "/healthz", &[], b"").unwrap().0, 200);

    drop(server);
}
