//! The browser harness end to end: a real `signet serve` on 127.0.0.1, and
//! `tests/e2e/smoke.py` (Playwright on Debian's chromium) loading `/api/docs` from it. The
//! scenario fails on any request to outside this machine, console error or 5xx. Screenshots:
//! `target/e2e-artifacts/smoke/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use signet_testkit::SignetServer;
use signet_testkit::browser;

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

#[test]
fn the_api_docs_load_in_a_browser_with_nothing_external() {
    if !browser::available_or_skip("the_api_docs_load_in_a_browser_with_nothing_external") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = SignetServer::start(SIGNET, &data, &[]);
    let base = server.url("");
    let result = browser::run_scenario(Path::new("smoke.py"), &[("SIGNET_E2E_BASE_URL", &base)]);
    server.stop();
    if let Err(e) = result {
        panic!("smoke.py: {e}\n--- server log ---\n{}", server.log(&data));
    }
    let shots = browser::artifacts_dir(Path::new("smoke.py"));
    assert!(shots.join("001-api-docs.png").is_file(), "no screenshot in {}", shots.display());
}
