"""The harness of Signet's end-to-end browser tests.

One Python script per scenario in this directory (``smoke.py`` is the smallest), run by a
Rust test through ``signet_testkit::browser::run_scenario``: the Rust test starts ``signet
serve`` (and, for mail, an SMTP sink), passes the URLs in the environment, and fails with the
script's output when it exits non-zero. Any exception fails the scenario; ``fail(msg)``
raises one with a message.

The browser is Debian's chromium (``$SIGNET_TEST_CHROMIUM``, default /usr/bin/chromium),
driven by Playwright's Python package (``$SIGNET_TEST_E2E_PYTHON`` is a venv with it;
scripts/e2e-tools.sh makes it). Playwright's own browser builds are never downloaded.

    from harness import launch, base_url, shot, fail, wait_for_mail

    with launch(locale="zh-CN") as b:        # a new browser, a new profile, nothing reused
        page = b.page
        page.goto(base_url() + "/api/docs")
        shot(page, "docs")                   # target/e2e-artifacts/<scenario>/001-docs.png
    # leaving the block fails the scenario if a page asked for anything outside this machine,
    # logged a console error, threw an uncaught error, or got a 5xx from the server

**No external requests.** Every request of the browser context is routed through the
harness: http(s) to 127.0.0.1, localhost or [::1] goes on; anything else (another host, a
CDN, a font service) is aborted and recorded, and the scenario fails listing them, even when
the page looked right without them. WebSockets to other hosts are refused the same way.
Service workers are blocked (they could fetch past the router). The chromium flags turn off
its own background traffic (updates, sync, safe browsing lists).

**Console and page errors.** ``console.error`` messages and uncaught exceptions of any page
fail the scenario, unless a regular expression of ``allow_console`` matches them (for a
scenario that provokes a 4xx on purpose, the browser logs "Failed to load resource: … 404").
Server answers with a 5xx status fail it too, unless ``allow_server_errors=True``.

**Environment.**

- ``SIGNET_E2E_BASE_URL``: the server, e.g. ``http://127.0.0.1:41234`` (``base_url()``,
  ``url(path)``).
- ``SIGNET_E2E_ARTIFACTS``: where screenshots go; ``run_scenario`` sets
  ``target/e2e-artifacts/<scenario>``; run by hand the default is the same. The scenario's
  old screenshots there are deleted when it starts, and names are numbered in order.
- ``SIGNET_E2E_SMTP_DIR``: mail. The Rust test owns the SMTP server: it starts
  ``signet_testkit::smtp::SmtpSink`` (aiosmtpd on 127.0.0.1), points ``signet serve`` at
  ``sink.url()``, and passes ``sink.dir()`` here. The sink writes each message it accepts as
  ``NNNNNN.eml``; ``wait_for_mail(to)`` reads them with Python's ``email`` package. The same
  function reads any directory of ``.eml`` files, e.g. a server's outbox (``DATA/outbox``,
  where mail goes when no SMTP server is configured): pass ``mail_dir=``.
- ``SIGNET_TEST_CHROMIUM``: the browser.

Run one by hand against a running server::

    SIGNET_E2E_BASE_URL=http://127.0.0.1:8080 SIGNET_TEST_CHROMIUM=/usr/bin/chromium \\
        /tmp/signet-e2e-venv/bin/python tests/e2e/smoke.py
"""

import contextlib
import email
import email.policy
import ipaddress
import os
import re
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

__all__ = [
    "ScenarioFailure",
    "fail",
    "base_url",
    "url",
    "launch",
    "Browser",
    "shot",
    "artifacts_dir",
    "Mail",
    "wait_for_mail",
    "read_mails",
]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--metrics-recording-only",
    "--safebrowsing-disable-auto-update",
]


class ScenarioFailure(AssertionError):
    """A scenario's check failed."""


def fail(msg):
    """Fails the scenario with ``msg`` (raises; inside ``launch()`` the pages are
    screenshotted first)."""
    raise ScenarioFailure(msg)


def base_url():
    """``$SIGNET_E2E_BASE_URL`` without a trailing slash."""
    value = os.environ.get("SIGNET_E2E_BASE_URL", "").rstrip("/")
    if not value:
        fail("SIGNET_E2E_BASE_URL is not set (the Rust test sets it to the server's URL)")
    return value


def url(path):
    """``base_url() + path``."""
    return base_url() + (path if path.startswith("/") else "/" + path)


def _scenario_name():
    return os.path.splitext(os.path.basename(sys.argv[0] or "scenario"))[0] or "scenario"


def artifacts_dir():
    """Where screenshots go: ``$SIGNET_E2E_ARTIFACTS``, else ``target/e2e-artifacts/<scenario>``
    of the workspace."""
    value = os.environ.get("SIGNET_E2E_ARTIFACTS")
    if not value:
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        value = os.path.join(root, "target", "e2e-artifacts", _scenario_name())
    return value


_shots = {"n": 0, "cleaned": False}


def shot(page, name, full_page=True):
    """A screenshot of ``page`` (the whole page; only the viewport with ``full_page=False``,
    for very long pages) as ``NNN-<name>.png`` in ``artifacts_dir()``; returns its path."""
    out = artifacts_dir()
    os.makedirs(out, exist_ok=True)
    if not _shots["cleaned"]:
        for f in os.listdir(out):
            if re.fullmatch(r"\d{3}-.*\.png", f):
                os.remove(os.path.join(out, f))
        _shots["cleaned"] = True
    _shots["n"] += 1
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "shot"
    path = os.path.join(out, "%03d-%s.png" % (_shots["n"], slug))
    page.screenshot(path=path, full_page=full_page)
    print("screenshot: " + path, flush=True)
    return path


def _is_local(request_url):
    parsed = urllib.parse.urlsplit(request_url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    host = (parsed.hostname or "").lower()
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Browser:
    """What ``launch()`` yields: the context, its first page, and what the harness
    recorded."""

    def __init__(self, browser, context, allow_console, allow_server_errors):
        self.browser = browser
        self.context = context
        self.external = []  # "METHOD URL" of every refused request
        self.console_errors = []  # "page URL: text"
        self.page_errors = []
        self.server_errors = []  # "STATUS METHOD URL"
        self.requests = 0
        self._allow = [re.compile(p) for p in allow_console]
        self._allow_server_errors = allow_server_errors
        context.route("**/*", self._route)
        if hasattr(context, "route_web_socket"):
            context.route_web_socket(re.compile(".*"), self._route_ws)
        context.on("page", self._watch)
        self.page = context.new_page()

    def new_page(self):
        """Another page (tab) in the same context, watched the same way."""
        return self.context.new_page()

    def _route(self, route):
        request = route.request
        self.requests += 1
        if _is_local(request.url):
            route.continue_()
        else:
            self.external.append("%s %s" % (request.method, request.url))
            route.abort("blockedbyclient")

    def _route_ws(self, ws):
        if _is_local(ws.url):
            ws.connect_to_server()
        else:
            self.external.append("WEBSOCKET %s" % ws.url)
            ws.close()

    def _allowed(self, text):
        return any(p.search(text) for p in self._allow)

    def _watch(self, page):
        def on_console(msg):
            # a request the harness refused is already in `external`
            if msg.type == "error" and "ERR_BLOCKED_BY_CLIENT" not in msg.text:
                text = "%s: %s" % (page.url, msg.text)
                print("console error: " + text, flush=True)
                if not self._allowed(msg.text):
                    self.console_errors.append(text)

        def on_page_error(exc):
            text = "%s: %s" % (page.url, exc)
            print("page error: " + text, flush=True)
            if not self._allowed(str(exc)):
                self.page_errors.append(text)

        def on_response(response):
            if response.status >= 500 and _is_local(response.url):
                text = "%d %s %s" % (response.status, response.request.method, response.url)
                print("server error: " + text, flush=True)
                if not self._allow_server_errors:
                    self.server_errors.append(text)

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("response", on_response)

    def problems(self):
        """What would fail the scenario, as lines (empty: none)."""
        out = []
        if self.external:
            out.append("requests to outside this machine (aborted):")
            out += ["  " + r for r in self.external]
        if self.console_errors:
            out.append("console errors:")
            out += ["  " + r for r in self.console_errors]
        if self.page_errors:
            out.append("uncaught page errors:")
            out += ["  " + r for r in self.page_errors]
        if self.server_errors:
            out.append("server errors:")
            out += ["  " + r for r in self.server_errors]
        return out


@contextlib.contextmanager
def launch(locale="en-US", allow_console=(), allow_server_errors=False, viewport=None, timezone_id="UTC",
           default_timeout_ms=30000):
    """A headless chromium with a fresh profile (Playwright's ephemeral one, deleted at the
    end), one context in ``locale`` (``en-US`` or ``zh-CN``: ``navigator.language`` and
    ``Accept-Language``), its first page as ``.page``. At the end: fails if anything in
    ``Browser.problems()``; when the block itself failed, screenshots every open page first
    (``failure-*``)."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("SIGNET_TEST_CHROMIUM", "/usr/bin/chromium")
    if not os.path.isfile(chromium):
        fail("no chromium at %s (set SIGNET_TEST_CHROMIUM; scripts/e2e-tools.sh installs it)" % chromium)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS + ["--lang=" + locale],
        )
        try:
            context = browser.new_context(
                locale=locale,
                timezone_id=timezone_id,
                viewport=viewport or {"width": 1280, "height": 800},
                service_workers="block",
            )
            context.set_default_timeout(default_timeout_ms)
            b = Browser(browser, context, allow_console, allow_server_errors)
            try:
                yield b
            except BaseException:
                for i, page in enumerate(context.pages):
                    with contextlib.suppress(Exception):
                        shot(page, "failure-%d" % (i + 1))
                raise
            # let requests started by the last action settle before the verdict
            for page in context.pages:
                with contextlib.suppress(Exception):
                    page.wait_for_load_state("networkidle", timeout=5000)
            problems = b.problems()
            print("harness: %d requests, %d refused (external)" % (b.requests, len(b.external)), flush=True)
            if problems:
                fail("\n".join(problems))
        finally:
            with contextlib.suppress(Exception):
                browser.close()


@dataclass
class Mail:
    """A received mail, decoded (quoted-printable, base64, RFC 2047 headers)."""

    path: str
    from_: str
    to: list
    subject: str
    text: str
    html: str = None
    headers: list = field(default_factory=list)

    @property
    def links(self):
        """The http(s) URLs in the text body, in order."""
        return re.findall(r"https?://[^\s<>\"')]+", self.text)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def _read_mail(path):
    with open(path, "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)

    def addrs(name):
        v = msg.get(name)
        return [a.addr_spec for a in v.addresses] if v is not None else []

    def body(kind):
        part = msg.get_body(preferencelist=(kind,))
        return part.get_content().replace("\r\n", "\n") if part is not None else None

    frm = addrs("From")
    return Mail(
        path=path,
        from_=frm[0] if frm else "",
        to=addrs("To"),
        subject=str(msg.get("Subject", "")),
        text=body("plain") or "",
        html=body("html"),
        headers=[(k, str(v)) for k, v in msg.items()],
    )


def _mail_dir(mail_dir):
    value = mail_dir or os.environ.get("SIGNET_E2E_SMTP_DIR")
    if not value:
        fail("no mail directory: the Rust test passes SIGNET_E2E_SMTP_DIR (its SmtpSink's dir)")
    return value


def read_mails(mail_dir=None):
    """Every mail in the directory (``$SIGNET_E2E_SMTP_DIR`` by default), in file-name order
    (the order received); temporary files are skipped."""
    d = _mail_dir(mail_dir)
    names = sorted(n for n in os.listdir(d) if n.endswith(".eml") and not n.startswith("."))
    return [_read_mail(os.path.join(d, n)) for n in names]


_taken = set()


def wait_for_mail(to, timeout=20, mail_dir=None):
    """The first mail to ``to`` (a ``To`` address, any case) not returned by an earlier call,
    waiting up to ``timeout`` seconds: a second call waits for the second mail."""
    deadline = time.monotonic() + timeout
    while True:
        mails = read_mails(mail_dir)
        for m in mails:
            if m.path not in _taken and any(a.lower() == to.strip().lower() for a in m.to):
                _taken.add(m.path)
                print("mail to %s: %s" % (to, m.subject), flush=True)
                return m
        if time.monotonic() > deadline:
            fail("no mail to %s within %s s; received: %s" % (to, timeout, [(m.to, m.subject) for m in mails]))
        time.sleep(0.1)
