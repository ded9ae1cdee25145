//! Test helpers shared by Signet's integration tests: the independent validators of the peer
//! kit (`../shared/peer`: pyHanko, pdfsig, qpdf, openssl), its test PKI and corpus, and small
//! fixtures. Tests fail (never skip) when the kit is missing: `.ci/run` installs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub mod browser;
pub mod smtp;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The peer kit: `$SIGNET_PEER_DIR`, else `../shared/peer` beside the workspace.
pub fn peer_dir() -> PathBuf {
    let dir = std::env::var_os("SIGNET_PEER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/peer"));
    assert!(
        dir.join("validate.sh").is_file(),
        "the peer kit is not at {} (set SIGNET_PEER_DIR); run .ci/run or ../shared/peer/setup.sh",
        dir.display()
    );
    dir
}

/// The peer kit's Python (`$PEER_VENV/bin/python`, default /tmp/peer-venv).
pub fn python() -> PathBuf {
    let venv = std::env::var_os("PEER_VENV").map(PathBuf::from).unwrap_or_else(|| "/tmp/peer-venv".into());
    let py = venv.join("bin/python");
    assert!(py.is_file(), "no Python venv at {}: run ../shared/peer/setup.sh", venv.display());
    py
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A test PKI made by `make_pki.sh` (root, intermediate, RSA and P-256 signers, p12 files
/// with password `peer-test`), whose URLs point at `port` on 127.0.0.1.
pub struct Pki {
    pub dir: PathBuf,
    pub port: u16,
}

impl Pki {
    pub fn make(dir: &Path) -> Pki {
        let port = free_port();
        let st = Command::new("bash")
            .arg(peer_dir().join("make_pki.sh"))
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "make_pki.sh failed");
        Pki { dir: dir.to_path_buf(), port }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.join("root-ca.pem")
    }

    pub fn p12(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.p12"))
    }

    /// Serves the PKI's CRL, OCSP and CA URLs until the returned guard is dropped.
    pub fn serve(&self) -> Server {
        let child = Command::new(python())
            .arg(peer_dir().join("pki_server.py"))
            .arg(&self.dir)
            .arg("--port")
            .arg(self.port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Server(child)
    }
}

/// A server process, stopped when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `signet serve` process on 127.0.0.1 with its own data directory, stopped (killed and
/// reaped) when dropped, also when the test fails.
pub struct SignetServer {
    /// The port it listens on.
    pub port: u16,
    child: Child,
}

impl SignetServer {
    /// Starts `bin serve --listen 127.0.0.1:<free port> --data-dir DATA` with `extra`
    /// arguments, its log in `DATA.log`, and waits (up to 30 s) until it accepts connections.
    pub fn start(bin: &str, data_dir: &Path, extra: &[&str]) -> SignetServer {
        Self::start_with_env(bin, data_dir, extra, &[])
    }

    /// [`SignetServer::start`] with extra environment variables.
    pub fn start_with_env(bin: &str, data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> SignetServer {
        Self::start_on(bin, free_port(), data_dir, extra, env)
    }

    /// [`SignetServer::start_with_env`] on a given port: a server started again where it was,
    /// so that the URLs in the certificates it issued (CRLs, OCSP) still reach it.
    pub fn start_on(bin: &str, port: u16, data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> SignetServer {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(data_dir.with_extension("log")).unwrap();
        let child = Command::new(bin)
            .envs(env.iter().copied())
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = SignetServer { port, child };
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("signet serve exited with {status}: see {}", data_dir.with_extension("log").display());
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(30), "signet serve did not start in 30 s");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    /// The server's log (stderr) so far.
    pub fn log(&self, data_dir: &Path) -> String {
        std::fs::read_to_string(data_dir.with_extension("log")).unwrap_or_default()
    }

    /// Stops the server: SIGTERM, then waits for it to finish (up to 30 s, then kills it).
    pub fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for SignetServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the peer corpus for `seed` into `dir` (large file of `large_mb` MB).
pub fn make_corpus(dir: &Path, pki: &Pki, seed: u32, large_mb: f64) -> PathBuf {
    let out = Command::new(python())
        .arg(peer_dir().join("make_corpus.py"))
        .arg(dir)
        .args(["--pki", pki.dir.to_str().unwrap(), "--seed", &seed.to_string(), "--large-mb", &large_mb.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "make_corpus.py failed: {}", String::from_utf8_lossy(&out.stderr));
    dir.to_path_buf()
}

/// Runs `validate.sh`; `Ok(output)` when every validator passed, `Err(output)` otherwise.
pub fn validate(
    pdf: &Path,
    root: &Path,
    expect_sigs: usize,
    password: Option<&str>,
    revocation: &str,
) -> Result<String, String> {
    let mut cmd = Command::new(peer_dir().join("validate.sh"));
    cmd.arg(pdf).arg(root).args(["--expect-sigs", &expect_sigs.to_string(), "--revocation", revocation]);
    if let Some(p) = password {
        cmd.args(["--password", p]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() { Ok(text) } else { Err(text) }
}

/// `validate.sh` with a minimum PAdES level (`B-B`, `B-T`, `B-LT` or `B-LTA`).
pub fn validate_level(
    pdf: &Path,
    root: &Path,
    expect_sigs: usize,
    password: Option<&str>,
    revocation: &str,
    level: &str,
) -> Result<String, String> {
    let mut cmd = Command::new(peer_dir().join("validate.sh"));
    cmd.arg(pdf).arg(root).args(["--expect-sigs", &expect_sigs.to_string(), "--revocation", revocation]);
    cmd.args(["--pades-level", level]);
    if let Some(p) = password {
        cmd.args(["--password", p]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() { Ok(text) } else { Err(text) }
}

/// The independent validators on a PDF sealed with document timestamps only (no signature
/// of its own), which `validate.sh` does not judge: each timestamp token verified by
/// `openssl ts -verify` over the bytes it covers and by pyHanko (intact, valid, the TSA
/// trusted under `root`, only LTA updates after it; `pyhanko_timestamps.py`), and
/// `qpdf --check`. `Ok(report)` when all pass and there is at least one timestamp.
pub fn validate_document_timestamps(pdf: &Path, root: &Path) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let text = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let mut report = String::new();
    let mut ok = true;
    let out =
        Command::new(python()).arg(peer_dir().join("sig_tools.py")).arg("extract").arg(pdf).arg(dir.path()).output();
    let out = out.unwrap();
    let listing = text(&out);
    report.push_str(&listing);
    let stamps: Vec<String> = listing
        .lines()
        .filter(|l| l.contains("kind=doctimestamp"))
        .filter_map(|l| l.split(' ').next().map(str::to_string))
        .collect();
    if !out.status.success() || stamps.is_empty() {
        ok = false;
        report.push_str("no document timestamp found\n");
    }
    for n in &stamps {
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-data"])
            .arg(dir.path().join(format!("sig{n}.content.bin")))
            .arg("-in")
            .arg(dir.path().join(format!("sig{n}.cms.der")))
            .arg("-CAfile")
            .arg(root)
            .output()
            .unwrap();
        let t = text(&out);
        let pass = out.status.success() && t.contains("Verification: OK");
        ok &= pass;
        report.push_str(&format!("openssl ts -verify #{n}: {}\n", if pass { "PASS" } else { t.trim() }));
    }
    let out = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("pyhanko_timestamps.py"))
        .arg(root)
        .arg(pdf)
        .output()
        .unwrap();
    ok &= out.status.success();
    report.push_str(&format!("pyhanko: {}", text(&out)));
    let out = Command::new("qpdf").arg("--check").arg(pdf).output().unwrap();
    ok &= out.status.success();
    report.push_str(&format!("qpdf --check: {}\n", if out.status.success() { "PASS" } else { "FAIL" }));
    if !out.status.success() {
        report.push_str(&text(&out));
    }
    if ok { Ok(report) } else { Err(report) }
}

fn pyhanko() -> PathBuf {
    python().with_file_name("pyhanko")
}

/// `pyhanko sign adesverify --trust ROOT` (ETSI EN 319 102-1 style, revocation required): run
/// while no revocation or timestamp server answers, it validates from the embedded data
/// alone. `Ok` when every signature is VALID. Retried with `--no-strict-syntax` when strict
/// parsing refuses the file (hybrid references).
pub fn pyhanko_ades(pdf: &Path, root: &Path, password: Option<&str>) -> Result<String, String> {
    let run = |lenient: bool| {
        let mut cmd = Command::new(pyhanko());
        cmd.args(["sign", "adesverify", "--trust"]).arg(root).args(["--trust-replace", "--executive-summary"]);
        if let Some(p) = password {
            cmd.args(["--password", p]);
        }
        if lenient {
            cmd.arg("--no-strict-syntax");
        }
        let out = cmd.arg(pdf).stdin(Stdio::null()).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (mut ok, mut text) = run(false);
    if !ok && (text.contains("strict") || text.contains("hybrid")) {
        (ok, text) = run(true);
    }
    let verdicts: Vec<&str> = text.lines().filter(|l| l.ends_with(":VALID") || l.ends_with(":INVALID")).collect();
    if ok && !verdicts.is_empty() && verdicts.iter().all(|l| l.ends_with(":VALID")) { Ok(text) } else { Err(text) }
}

/// Signs `input` with pyHanko's CLI (`sign addsig --use-pades`, PAdES B-B) into `output` with
/// the PKI's `<key>.p12`, in a new field `field`.
pub fn pyhanko_sign(pki: &Pki, key: &str, field: &str, input: &Path, output: &Path) -> Result<(), String> {
    let out = Command::new(pyhanko())
        .args(["sign", "addsig", "--field", field, "--use-pades", "pkcs12", "--passfile"])
        .arg(pki.dir.join("p12.pass"))
        .arg(input)
        .arg(output)
        .arg(pki.p12(key))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("pyhanko addsig {}: {}", input.display(), String::from_utf8_lossy(&out.stderr)))
    }
}

/// pyHanko's verdict per signature of each file: "intact", "modified" or "invalid".
pub fn pyhanko_verdicts(root: &Path, password: Option<&str>, files: &[PathBuf]) -> Vec<(PathBuf, Vec<String>)> {
    if files.is_empty() {
        return Vec::new();
    }
    let mut cmd = Command::new(python());
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("pyhanko_verdict.py")).arg(root);
    if let Some(p) = password {
        cmd.args(["--password", p]);
    }
    let out = cmd.args(files).output().unwrap();
    assert!(out.status.success(), "pyhanko_verdict.py failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let file = PathBuf::from(v["file"].as_str().unwrap());
            let mut verdicts: Vec<String> = v["signatures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["verdict"].as_str().unwrap().to_string())
                .collect();
            if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
                verdicts.push(format!("error: {e}"));
            }
            (file, verdicts)
        })
        .collect()
}

/// An RGBA PNG of `w`×`h` filled by `f(x, y) -> [r, g, b, a]`.
pub fn png(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().unwrap();
        let mut data = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&f(x, y));
            }
        }
        wr.write_image_data(&data).unwrap();
    }
    out
}

/// A round red seal with a transparent background.
pub fn seal_png() -> Vec<u8> {
    png(120, 120, |x, y| {
        let d = (((x as f64) - 60.0).powi(2) + ((y as f64) - 60.0).powi(2)).sqrt();
        if (40.0..56.0).contains(&d) || d < 12.0 { [220, 20, 30, 255] } else { [0, 0, 0, 0] }
    })
}

/// A page rendered by `pdftoppm` at `dpi` (the crop box, as a viewer shows it): width,
/// height, RGB bytes.
pub fn render_page(pdf: &Path, page: usize, dpi: u32) -> (u32, u32, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("p");
    let st = Command::new("pdftoppm")
        .args([
            "-png",
            "-cropbox",
            "-r",
            &dpi.to_string(),
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
            "-singlefile",
        ])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(st.success(), "pdftoppm failed on {}", pdf.display());
    let file = std::fs::File::open(prefix.with_extension("png")).unwrap();
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g]).collect(),
        other => panic!("unexpected colour type {other:?}"),
    };
    (info.width, info.height, rgb)
}

/// Runs `jobs` on `workers` threads; returns the results in order.
pub fn parallel<T: Send, R: Send>(jobs: Vec<T>, workers: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                loop {
                    let job = queue.lock().unwrap().pop();
                    let Some((i, job)) = job else { break };
                    let r = f(job);
                    results.lock().unwrap().push((i, r));
                }
            });
        }
    });
    let mut r = results.into_inner().unwrap();
    r.sort_by_key(|(i, _)| *i);
    r.into_iter().map(|(_, r)| r).collect()
}

/// One page of a hand-written test PDF.
#[derive(Clone, Copy, Debug)]
pub struct TestPage {
    pub media_box: [f64; 4],
    pub crop_box: Option<[f64; 4]>,
    pub rotate: i32,
}

impl TestPage {
    /// An A4 page, unrotated.
    pub const A4: TestPage = TestPage { media_box: [0.0, 0.0, 595.0, 842.0], crop_box: None, rotate: 0 };
}

/// A minimal PDF (classic xref table) with white pages, each with a thin border drawn inside
/// its media box: the smallest well-formed input for signing tests.
pub fn test_pdf(pages: &[TestPage]) -> Vec<u8> {
    build_test_pdf(pages, false)
}

/// [`test_pdf`] with a black 60×30 pt bar (wide in user space) whose lower-left corner is
/// 20 pt inside the lower-left corner of each page's crop box (user space): where a renderer
/// draws it shows how it turned and cropped the page.
pub fn marked_test_pdf(pages: &[TestPage]) -> Vec<u8> {
    build_test_pdf(pages, true)
}

fn build_test_pdf(pages: &[TestPage], mark: bool) -> Vec<u8> {
    let n = pages.len();
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 3 + 2 * i)).collect();
    let mut objs = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")),
    ];
    for (i, p) in pages.iter().enumerate() {
        let [x0, y0, x1, y1] = p.media_box;
        let crop = p.crop_box.map(|c| format!(" /CropBox [{} {} {} {}]", c[0], c[1], c[2], c[3])).unwrap_or_default();
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [{x0} {y0} {x1} {y1}]{crop} /Rotate {} /Contents {} 0 R /Resources << >> >>",
            p.rotate,
            4 + 2 * i
        ));
        let mut content = format!("0.5 w {} {} {} {} re S", x0 + 2.0, y0 + 2.0, x1 - x0 - 4.0, y1 - y0 - 4.0);
        if mark {
            let [cx, cy, ..] = p.crop_box.unwrap_or(p.media_box);
            content += &format!(" 0 g {} {} 60 30 re f", cx + 20.0, cy + 20.0);
        }
        objs.push(format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()));
    }
    assemble_pdf(&objs)
}

impl Pki {
    /// Runs `signet sign INPUT -o OUTPUT --p12 <key>.p12` (the kit's p12 password) with
    /// `extra` arguments, using the `signet` binary at `bin`; panics with its stderr on failure.
    pub fn sign_with(&self, bin: &str, key: &str, input: &Path, output: &Path, extra: &[&str]) {
        let out = Command::new(bin)
            .arg("sign")
            .arg(input)
            .arg("-o")
            .arg(output)
            .arg("--p12")
            .arg(self.p12(key))
            .args(["--p12-password-env", "SIGNET_TESTKIT_P12_PW", "--quiet"])
            .args(extra)
            .env("SIGNET_TESTKIT_P12_PW", "peer-test")
            .output()
            .unwrap();
        assert!(out.status.success(), "signet sign {}: {}", input.display(), String::from_utf8_lossy(&out.stderr));
    }
}

/// The SoftHSM2 PKCS#11 module: `$SIGNET_SOFTHSM2_MODULE`, else the first of the usual
/// Debian/Ubuntu, Fedora, Homebrew and source-build locations that exists.
pub fn softhsm_module() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SIGNET_SOFTHSM2_MODULE") {
        return Some(PathBuf::from(p));
    }
    let mut candidates: Vec<PathBuf> = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib64/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so",
        "/usr/lib/pkcs11/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
        "/opt/homebrew/lib/softhsm/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    // Debian multiarch: /usr/lib/<triplet>/softhsm/
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        for e in entries.flatten() {
            candidates.push(e.path().join("softhsm/libsofthsm2.so"));
            candidates.push(e.path().join("pkcs11/libsofthsm2.so"));
        }
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The SoftHSM2 module for the test `test`, with `softhsm2-util` on the PATH. When either is
/// missing: in CI (`CI` set, not "false"/"0") the test fails; elsewhere it prints a loud notice
/// and returns `None`, and the caller returns (the only tests allowed to be skipped: SoftHSM2
/// is a system package, installed by `../shared/peer/setup.sh`).
pub fn softhsm_module_or_skip(test: &str) -> Option<PathBuf> {
    let util = Command::new("softhsm2-util").arg("--version").output().is_ok_and(|o| o.status.success());
    let module = softhsm_module();
    if let (true, Some(m)) = (util, &module) {
        return Some(m.clone());
    }
    let what = if module.is_none() { "the libsofthsm2.so module" } else { "softhsm2-util" };
    missing_tool(
        test,
        &format!("SoftHSM2 ({what} not found)"),
        "install it (../shared/peer/setup.sh, or apt-get install softhsm2) to run the PKCS#11 tests",
    );
    None
}

/// Whether the tests run under CI: `CI` set to anything but "", "false" or "0". There a
/// missing system tool fails the tests that need it instead of skipping them.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A test's `tool` is missing: under CI the test fails; elsewhere a loud notice says it is
/// skipped and `how` to get the tool (the caller then returns).
fn missing_tool(test: &str, tool: &str, how: &str) {
    assert!(!in_ci(), "{test}: {tool} is not installed and CI is set: {how}");
    eprintln!();
    eprintln!("!!! {test}: SKIPPED: {tool} is not installed.");
    eprintln!("!!! To run it: {how}.");
    eprintln!();
}

/// A throw-away SoftHSM2 token store in a directory of its own (`softhsm2.conf` with
/// `directories.tokendir` inside it). Processes see it through `SOFTHSM2_CONF` (see
/// [`SoftHsm::env`]); nothing outside the directory is touched.
pub struct SoftHsm {
    pub dir: PathBuf,
    pub conf: PathBuf,
    pub module: PathBuf,
}

impl SoftHsm {
    /// An empty token store under `dir` (created).
    pub fn new(dir: &Path, module: PathBuf) -> SoftHsm {
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .unwrap();
        SoftHsm { dir: dir.to_path_buf(), conf, module }
    }

    /// The environment variable a process needs to see this store.
    pub fn env(&self) -> (&'static str, &Path) {
        ("SOFTHSM2_CONF", &self.conf)
    }

    fn util(&self, args: &[&str]) {
        let out = Command::new("softhsm2-util").args(args).env("SOFTHSM2_CONF", &self.conf).output().unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Initialises a new token in the first free slot (`softhsm2-util --init-token --free`).
    pub fn init_token(&self, label: &str, so_pin: &str, pin: &str) {
        self.util(&["--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", pin]);
    }

    /// Imports a PKCS#8 PEM private key (and its public key) onto the token `token` with the
    /// object label `label` and `CKA_ID` `id_hex` (`softhsm2-util --import`).
    pub fn import_key(&self, token: &str, pin: &str, pkcs8_pem: &Path, label: &str, id_hex: &str) {
        let path = pkcs8_pem.to_str().unwrap();
        self.util(&["--import", path, "--token", token, "--pin", pin, "--label", label, "--id", id_hex]);
    }
}

/// A database for one test: a SQLite file in `dir`, or a new PostgreSQL database on the
/// server of `$SIGNET_TEST_POSTGRES_URL`, dropped when this value is dropped.
pub struct TestDatabase {
    pub url: String,
    pub backend: &'static str,
    admin_url: Option<String>,
    name: Option<String>,
}

impl TestDatabase {
    /// The databases every store test runs on: SQLite always, PostgreSQL when
    /// `$SIGNET_TEST_POSTGRES_URL` is set (scripts/test.sh sets it). Under `CI` a missing
    /// PostgreSQL is a failure, not a skip.
    pub fn all(dir: &Path) -> Vec<TestDatabase> {
        let mut dbs = vec![TestDatabase::sqlite(dir)];
        match std::env::var("SIGNET_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => dbs.push(TestDatabase::postgres(&url)),
            _ => {
                assert!(
                    !in_ci(),
                    "SIGNET_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh (it starts PostgreSQL)"
                );
                eprintln!("note: SIGNET_TEST_POSTGRES_URL is not set; testing on SQLite only");
            }
        }
        dbs
    }

    pub fn sqlite(dir: &Path) -> TestDatabase {
        std::fs::create_dir_all(dir).unwrap();
        let file = dir.join(format!("test-{}.db", std::process::id()));
        TestDatabase { url: format!("sqlite://{}", file.display()), backend: "sqlite", admin_url: None, name: None }
    }

    pub fn postgres(admin_url: &str) -> TestDatabase {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("signet_test_{}_{n}_{nanos}", std::process::id());
        psql(admin_url, &format!("CREATE DATABASE {name}"));
        let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin_url);
        TestDatabase {
            url: format!("{base}/{name}"),
            backend: "postgres",
            admin_url: Some(admin_url.to_string()),
            name: Some(name),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let (Some(admin), Some(name)) = (&self.admin_url, &self.name) {
            let _ = Command::new("psql")
                .args([admin.as_str(), "-qAtc", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn psql(url: &str, sql: &str) {
    let out =
        Command::new("psql").args([url, "-qAtc", sql]).output().expect("psql (PostgreSQL client) is not installed");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A client of a `signet serve` API with one key (`None`: no key), over one pooled
/// connection agent; answers of any status are returned, never turned into errors.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: Option<String>,
    agent: ureq::Agent,
}

/// An HTTP answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or("").to_string()
    }
}

impl Api {
    pub fn new(base: &str, token: Option<&str>) -> Api {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Api { base: base.to_string(), token: token.map(str::to_string), agent }
    }

    pub fn with(&self, token: Option<&str>) -> Api {
        Api { token: token.map(str::to_string), ..self.clone() }
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&[u8]>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = match body {
            Some(b) => self.agent.run(req.body(b.to_vec()).unwrap()),
            None => self.agent.run(req.body(()).unwrap()),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let headers =
            resp.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
        let mut body = Vec::new();
        resp.into_body().with_config().limit(1 << 30).reader().read_to_end(&mut body).unwrap();
        Reply { status, headers, body }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, None, &[])
    }
    pub fn post_json(&self, path: &str, v: &serde_json::Value) -> Reply {
        self.send("POST", path, Some("application/json"), Some(v.to_string().as_bytes()), &[])
    }
    pub fn ok_json(&self, method: &str, path: &str, v: &serde_json::Value) -> serde_json::Value {
        let r = self.send(method, path, Some("application/json"), Some(v.to_string().as_bytes()), &[]);
        assert!(r.status < 300, "{method} {path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        r.json()
    }
}

/// Saves the root CA certificate of the `signet serve` at `base` as PEM at `path`.
pub fn save_root_pem(base: &str, path: &Path) -> PathBuf {
    let der = Api::new(base, None).get("/ca/root.crt");
    assert_eq!(der.status, 200);
    let der_path = path.with_extension("der");
    std::fs::write(&der_path, &der.body).unwrap();
    let st = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&der_path)
        .arg("-out")
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
    path.to_path_buf()
}

/// A one-page PDF of about `size` bytes whose content stream repeats `marker` in comment
/// lines: a document whose bytes are easy to recognise wherever they end up.
pub fn marked_pdf(marker: &str, size: usize) -> Vec<u8> {
    let line = format!("% {marker}\n");
    let mut content = String::from("0.5 w 20 20 555 802 re S\n");
    while content.len() < size {
        content.push_str(&line);
    }
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len() + 1),
    ];
    assemble_pdf(&objs)
}

/// A classic-xref PDF 1.7 of `objs` (object 1 the catalog), numbered from 1 in order.
fn assemble_pdf(objs: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f\r\n", objs.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objs.len() + 1).as_bytes(),
    );
    out
}

/// The Python that runs moto (an S3-compatible server) for the test `test`:
/// `$SIGNET_TEST_MOTO` (scripts/moto.sh prints it; scripts/test.sh sets it), else the venv
/// scripts/moto.sh makes (`${SIGNET_TOOLS_VENV:-/tmp/signet-tools-venv}`) when moto is in it.
/// When neither is there: under `CI` the test fails; elsewhere it prints a loud notice and
/// returns `None`, and the caller returns.
pub fn moto_python_or_skip(test: &str) -> Option<PathBuf> {
    let has_moto =
        |py: &Path| Command::new(py).args(["-c", "import moto.server"]).output().is_ok_and(|o| o.status.success());
    if let Some(py) = std::env::var_os("SIGNET_TEST_MOTO").filter(|v| !v.is_empty()) {
        let py = PathBuf::from(py);
        assert!(has_moto(&py), "{test}: SIGNET_TEST_MOTO={} cannot import moto.server", py.display());
        return Some(py);
    }
    let venv = std::env::var_os("SIGNET_TOOLS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/signet-tools-venv"));
    let py = venv.join("bin/python");
    if has_moto(&py) {
        return Some(py);
    }
    missing_tool(
        test,
        "moto (the S3-compatible test server)",
        "run scripts/moto.sh (scripts/test.sh does) to install it and run the S3 tests",
    );
    None
}

/// A moto S3 server on a free port of 127.0.0.1 with one empty bucket, stopped (killed and
/// reaped) when dropped. moto accepts any credentials and does not check signatures: the
/// helpers here send plain HTTP requests with an `Authorization` header that only names an
/// access key (without one, a request is anonymous and refused private objects).
pub struct MotoServer {
    /// The port it listens on.
    pub port: u16,
    /// The bucket made at start.
    pub bucket: String,
    child: Child,
    agent: ureq::Agent,
}

impl MotoServer {
    /// Starts `python -m moto.server -H 127.0.0.1 -p PORT` (its log in `log`), waits (up to
    /// 60 s) until it answers, and creates `bucket` with a plain HTTP PUT.
    pub fn start(python: &Path, bucket: &str, log: &Path) -> MotoServer {
        let port = free_port();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut server = MotoServer { port, bucket: bucket.to_string(), child, agent };
        let start = std::time::Instant::now();
        loop {
            if let Ok(r) = server.agent.get(&server.endpoint()).call() {
                if r.status().is_success() {
                    break;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("moto exited with {status}");
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(60), "moto did not answer in 60 s");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let r = server.agent.put(&server.bucket_url("")).header("Authorization", MOTO_AUTH).send_empty().unwrap();
        assert!(r.status().is_success(), "creating the bucket {bucket}: {}", r.status());
        server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn bucket_url(&self, key: &str) -> String {
        format!("{}/{}/{key}", self.endpoint(), self.bucket)
    }

    /// The objects under `prefix`, as (key, size), in key order (ListObjectsV2, every page).
    pub fn list(&self, prefix: &str) -> Vec<(String, u64)> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self
                .agent
                .get(&self.bucket_url(""))
                .header("Authorization", MOTO_AUTH)
                .query("list-type", "2")
                .query("prefix", prefix);
            if let Some(t) = &token {
                req = req.query("continuation-token", t);
            }
            let mut r = req.call().unwrap();
            assert!(r.status().is_success(), "listing {prefix}: {}", r.status());
            let xml = r.body_mut().read_to_string().unwrap();
            for contents in xml.split("<Contents>").skip(1) {
                let key = xml_text(contents, "Key").unwrap();
                let size = xml_text(contents, "Size").unwrap().parse().unwrap();
                objects.push((key, size));
            }
            match xml_text(&xml, "NextContinuationToken") {
                Some(t) if xml_text(&xml, "IsTruncated").as_deref() == Some("true") => token = Some(t),
                _ => break,
            }
        }
        objects.sort();
        objects
    }

    /// The bytes of the object `key`, or `None` when there is none.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut r = self.agent.get(&self.bucket_url(key)).header("Authorization", MOTO_AUTH).call().unwrap();
        if r.status() == 404 {
            return None;
        }
        assert!(r.status().is_success(), "GET {key}: {}", r.status());
        Some(r.body_mut().with_config().limit(1 << 30).read_to_vec().unwrap())
    }

    /// Stores `bytes` as the object `key`.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let r = self
            .agent
            .put(&self.bucket_url(key))
            .header("Authorization", MOTO_AUTH)
            .header("Content-Type", "application/octet-stream")
            .send(bytes)
            .unwrap();
        assert!(r.status().is_success(), "PUT {key}: {}", r.status());
    }
}

/// An AWS Signature V4 header naming the access key `testing`, with a signature moto does
/// not check.
const MOTO_AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of the first `<tag>…</tag>` in `xml` (XML entities of keys decoded).
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// A `multipart/form-data` body with `boundary`: text `fields`, then each of `files` as a
/// `file` part (`application/pdf`, its name as the file name).
pub fn multipart_form(boundary: &str, fields: &[(&str, &str)], files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (name, data) in files {
        out.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend(data);
        out.extend(b"\r\n");
    }
    out.extend(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// The files of a zip (a batch's results.zip): name → bytes, in the archive's order.
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_string(), data)
        })
        .collect()
}

/// A person's key and certificate issued by the built-in CA of the data directory `data`
/// (`signet ca issue --profile person`, before the server starts): the chain as PEM, leaf
/// first, and the unencrypted PKCS#8 key in `dir/{name}.key`.
pub struct PersonKey {
    /// The certificate chain, leaf first, PEM.
    pub chain_pem: String,
    /// The private key (PEM).
    pub key: PathBuf,
    /// Key and chain as PKCS#12, with the password [`PersonKey::P12_PASSWORD`].
    pub p12: PathBuf,
}

impl PersonKey {
    /// The password of [`PersonKey::p12`].
    pub const P12_PASSWORD: &'static str = "person-key-password";
}

/// Issues [`PersonKey`] `name` (`key`: `p-256`, `rsa-2048`, …) with `signet` (the binary).
pub fn issue_person(signet: &str, data: &Path, dir: &Path, name: &str, cn: &str, email: &str, key: &str) -> PersonKey {
    const PASSWORD: &str = PersonKey::P12_PASSWORD;
    let p12 = dir.join(format!("{name}.p12"));
    let o = std::process::Command::new(signet)
        .args(["ca", "issue", "--profile", "person", "--cn", cn, "--email", email, "--key", key])
        .arg("--p12")
        .arg(&p12)
        .args(["--p12-password-env", "PERSON_P12"])
        .arg("--data-dir")
        .arg(data)
        .env("PERSON_P12", PASSWORD)
        .output()
        .expect("signet ca issue");
    assert!(o.status.success(), "signet ca issue: {}", String::from_utf8_lossy(&o.stderr));
    let openssl = |args: &str| {
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("openssl pkcs12 -in '{}' -passin env:PERSON_P12 {args}", p12.display()))
            .env("PERSON_P12", PASSWORD)
            .output()
            .expect("openssl");
        assert!(o.status.success(), "openssl pkcs12 {args}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let pem_blocks = |text: String| -> String {
        let mut out = String::new();
        let mut inside = false;
        for line in text.lines() {
            inside |= line.starts_with("-----BEGIN CERTIFICATE-----");
            if inside {
                out.push_str(line);
                out.push('\n');
            }
            inside &= !line.starts_with("-----END CERTIFICATE-----");
        }
        out
    };
    let chain_pem = pem_blocks(openssl("-nokeys -clcerts")) + &pem_blocks(openssl("-nokeys -cacerts"));
    let key_path = dir.join(format!("{name}.key"));
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl pkcs12 -in '{}' -passin env:PERSON_P12 -nocerts -nodes | openssl pkey -out '{}'",
            p12.display(),
            key_path.display()
        ))
        .env("PERSON_P12", PASSWORD)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
    PersonKey { chain_pem, key: key_path, p12 }
}
