//! End-to-end browser tests: Python scenarios in `tests/e2e/` (one script per scenario, on the
//! Playwright harness `tests/e2e/harness.py`) that drive Debian's chromium against a real
//! `signet serve`. A Rust test starts the server (and, for mail, an
//! [`SmtpSink`](crate::smtp::SmtpSink)), then [`run_scenario`] runs the script with the URLs in
//! its environment.
//!
//! The tools: `$SIGNET_TEST_E2E_PYTHON`, a Python with the `playwright` package, and
//! `$SIGNET_TEST_CHROMIUM` (default `/usr/bin/chromium`); scripts/e2e-tools.sh installs both
//! and scripts/test.sh sets both. Without them: under `CI` the test fails, elsewhere
//! [`available_or_skip`] prints a notice and the test skips.
//!
//! What a scenario gets in its environment, besides what the test passes:
//! `SIGNET_TEST_CHROMIUM`, `SIGNET_E2E_ARTIFACTS` (`target/e2e-artifacts/<script name>`,
//! where its screenshots go; emptied of earlier screenshots by the harness), and
//! `PYTHONUNBUFFERED`/`PYTHONDONTWRITEBYTECODE` (its output streams as it runs; no
//! `__pycache__` in the source tree).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a scenario may run before it is killed (with its browser).
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);

/// The directory of the scenarios and the harness: `tests/e2e` of the workspace.
pub fn scenario_dir() -> PathBuf {
    crate::workspace_root().join("tests/e2e")
}

/// Where a scenario's screenshots go: `$SIGNET_E2E_ARTIFACTS/<script name>` when that is set,
/// else `target/e2e-artifacts/<script name>` of the workspace.
pub fn artifacts_dir(script: &Path) -> PathBuf {
    let base = std::env::var_os("SIGNET_E2E_ARTIFACTS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target/e2e-artifacts"));
    let stem = script.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
    base.join(stem)
}

/// The Python with Playwright: `$SIGNET_TEST_E2E_PYTHON` (which must have it), else the
/// default venv of scripts/e2e-tools.sh (`$SIGNET_E2E_VENV`, `/tmp/signet-e2e-venv`) when it
/// has it.
pub fn python() -> Option<PathBuf> {
    tools_python("playwright.sync_api")
}

/// The Python of the end-to-end tools that can import `module`: `$SIGNET_TEST_E2E_PYTHON`
/// (which must), else the default venv of scripts/e2e-tools.sh when it can.
pub(crate) fn tools_python(module: &str) -> Option<PathBuf> {
    let has = |py: &Path| {
        Command::new(py)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if let Some(py) = std::env::var_os("SIGNET_TEST_E2E_PYTHON").filter(|v| !v.is_empty()) {
        let py = PathBuf::from(py);
        assert!(has(&py), "SIGNET_TEST_E2E_PYTHON={} cannot import {module}: run scripts/e2e-tools.sh", py.display());
        return Some(py);
    }
    let venv = std::env::var_os("SIGNET_E2E_VENV").map(PathBuf::from).unwrap_or_else(|| "/tmp/signet-e2e-venv".into());
    let py = venv.join("bin/python");
    has(&py).then_some(py)
}

/// The browser: `$SIGNET_TEST_CHROMIUM` (which must exist), else `/usr/bin/chromium` when it
/// is there.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SIGNET_TEST_CHROMIUM").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "SIGNET_TEST_CHROMIUM={} does not exist: run scripts/e2e-tools.sh", path.display());
        return Some(path);
    }
    let path = PathBuf::from("/usr/bin/chromium");
    path.is_file().then_some(path)
}

/// Whether browser tests can run here (Playwright's Python and chromium).
pub fn available() -> bool {
    python().is_some() && chromium().is_some()
}

/// [`available`], or: under `CI` the test fails; elsewhere a notice says that `test` is
/// skipped and how to run it, and this returns `false`.
pub fn available_or_skip(test: &str) -> bool {
    if available() {
        return true;
    }
    super::missing_tool(
        test,
        "Playwright or chromium (the browser tests' tools)",
        "run scripts/e2e-tools.sh (scripts/test.sh does) and set SIGNET_TEST_E2E_PYTHON to the Python it prints",
    );
    false
}

/// Runs the scenario `script` (a path relative to `tests/e2e`, or absolute) with
/// `$SIGNET_TEST_E2E_PYTHON`, `env` added to its environment (see the module's documentation
/// for what else it gets), its output streamed line by line to the test's output as it runs.
/// `Err` with the whole output when it exits with an error, is killed by a signal, or runs
/// longer than [`SCENARIO_TIMEOUT`]; also when the tools are missing (call
/// [`available_or_skip`] first).
pub fn run_scenario(script: &Path, env: &[(&str, &str)]) -> Result<(), String> {
    let script = if script.is_absolute() { script.to_path_buf() } else { scenario_dir().join(script) };
    let name = script.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if !script.is_file() {
        return Err(format!("no scenario at {}", script.display()));
    }
    let (Some(python), Some(chromium)) = (python(), chromium()) else {
        return Err("the browser tests' tools are missing: run scripts/e2e-tools.sh".into());
    };
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .current_dir(crate::workspace_root())
        .env("SIGNET_TEST_CHROMIUM", &chromium)
        .env("SIGNET_E2E_ARTIFACTS", artifacts_dir(&script))
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // its own process group: a scenario that runs too long is killed with its driver and browser
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {} {}: {e}", python.display(), script.display()))?;
    let output = Arc::new(Mutex::new(String::new()));
    let stream = |pipe: Box<dyn Read + Send>, output: Arc<Mutex<String>>, prefix: String| {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                eprintln!("[{prefix}] {line}");
                let mut out = output.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        })
    };
    let readers = [
        stream(Box::new(child.stdout.take().unwrap()), output.clone(), name.clone()),
        stream(Box::new(child.stderr.take().unwrap()), output.clone(), name.clone()),
    ];
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Ok(status);
        }
        if start.elapsed() > SCENARIO_TIMEOUT {
            #[cfg(unix)]
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.kill();
            let _ = child.wait();
            break Err(format!("{name} did not finish within {} s and was killed", SCENARIO_TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for r in readers {
        let _ = r.join();
    }
    let output = output.lock().unwrap().clone();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{name} failed ({s}); its output:\n{output}")),
        Err(why) => Err(format!("{why}; its output:\n{output}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario's environment, output and exit status reach the test.
    #[test]
    fn run_scenario_reports_output_and_status() {
        if !available_or_skip("run_scenario_reports_output_and_status") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("env_ok.py");
        std::fs::write(
            &ok,
            "import os, sys\n\
             assert os.environ['SIGNET_E2E_X'] == 'y', os.environ.get('SIGNET_E2E_X')\n\
             assert os.environ['SIGNET_E2E_ARTIFACTS'].endswith('env_ok'), os.environ['SIGNET_E2E_ARTIFACTS']\n\
             assert os.path.isfile(os.environ['SIGNET_TEST_CHROMIUM'])\n\
             import playwright.sync_api\n",
        )
        .unwrap();
        run_scenario(&ok, &[("SIGNET_E2E_X", "y")]).unwrap();

        let bad = dir.path().join("bad.py");
        std::fs::write(&bad, "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\nsys.exit(3)\n")
            .unwrap();
        let e = run_scenario(&bad, &[]).unwrap_err();
        assert!(e.contains("to stdout") && e.contains("to stderr") && e.contains("exit status: 3"), "{e}");

        let e = run_scenario(Path::new("no-such-scenario.py"), &[]).unwrap_err();
        assert!(e.starts_with("no scenario at ") && e.contains("tests/e2e/no-such-scenario.py"), "{e}");
    }
}
