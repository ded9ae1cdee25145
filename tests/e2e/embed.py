"""The signing view embedded in another site's page (see crates/signet-cli/tests/embed.rs for
the server, the envelopes and the checks made afterwards).

Two "document system" pages are served here on 127.0.0.1, on two ports: two origins. The
tenant allows the first to embed. Through the API (as the document system's server would),
an embed token is minted for a party of each envelope; the page opens it with
/assets/embed.js and lists the events it receives.

1. On the allowed origin: the party signs inside the frame; the page receives loaded,
   signed, completed, in that order, each once.
2. On the allowed origin: another party declines; the page receives loaded, declined.
3. On the allowed origin: a party with its own key prepares in the frame, which shows the
   `signet sign-digest` command and waits; the command signs with the person's key and the
   frame takes its signature.json: loaded, signed, completed.
4. On the allowed origin: the preparation view of a draft; a text field is added to the page
   and the envelope sent: loaded, sent.
5. On the other origin: the browser refuses to show the view (frame-ancestors); the page gets
   no event from it, only the helper's own "not_loaded" error, and the token stays unused.

Writes the events to $SIGNET_E2E_RESULT.
"""

import http.server
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.request

from harness import base_url, fail, launch, shot

E = os.environ
KEY = E["SIGNET_E2E_API_KEY"]
# the browser logs the refused frame, and the 404 of a token it never got to use
ALLOWED = [
    r"violates the following Content Security Policy directive: \"frame-ancestors http://127\.0\.0\.1:\d+\"",
    r"Failed to load resource: the server responded with a status of 40[04]",
]

PARENT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Document system</title></head>
<body>
<h1>Contract review</h1>
<ol id="events" data-testid="events"></ol>
<div id="signing"></div>
<script src="%(signet)s/assets/embed.js"></script>
<script>
  const params = new URLSearchParams(location.search);
  window.events = [];
  const view = SignetEmbed.open({
    url: params.get("url"),
    container: "#signing",
    height: "760px",
    timeout: Number(params.get("timeout") || 20000),
    onEvent: (e) => {
      window.events.push(e);
      const li = document.createElement("li");
      li.dataset.type = e.type;
      li.textContent = e.type + (e.code ? " " + e.code : "");
      document.getElementById("events").append(li);
    },
  });
</script>
</body></html>
"""


def serve_parent():
    """A page server on 127.0.0.1 (a port of its own: an origin of its own)."""
    page = (PARENT % {"signet": base_url()}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1]


def call(method, path, body=None):
    req = urllib.request.Request(
        base_url() + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def embed_url(envelope, party, origin):
    status, link = call("POST", "/api/v1/envelopes/%s/parties/%s/embed" % (envelope, party), {"parent_origin": origin})
    if status != 201:
        fail("minting an embed token for %s: %s %s" % (origin, status, link))
    return link["url"]


def events_of(page):
    return page.evaluate("window.events.map((e) => ({type: e.type, code: e.code || null, envelope_id: e.envelope_id || null}))")


def wait_events(page, n, what):
    try:
        page.wait_for_function("window.events && window.events.length >= %d" % n, timeout=60000)
    except Exception:
        fail("%s: expected %d events, got %r" % (what, n, events_of(page)))
    return events_of(page)


def tid(name):
    return '[data-testid="%s"]' % name


allowed_server, allowed = serve_parent()
other_server, other = serve_parent()
status, settings = call("PUT", "/api/v1/settings", {"embed_origins": [allowed]})
if status != 200:
    fail("settings: %s %s" % (status, settings))
# the other origin cannot even get a token
status, refused = call(
    "POST",
    "/api/v1/envelopes/%s/parties/%s/embed" % (E["SIGNET_E2E_SIGN_ENVELOPE"], E["SIGNET_E2E_SIGN_PARTY"]),
    {"parent_origin": other},
)
if status != 400 or refused["error"]["code"] != "origin_not_allowed":
    fail("a token for an origin the tenant does not allow: %s %s" % (status, refused))

result = {"allowed": allowed, "other": other}
with launch(locale="en-US", allow_console=ALLOWED) as b:
    page = b.page

    # 1. sign inside the frame
    url = embed_url(E["SIGNET_E2E_SIGN_ENVELOPE"], E["SIGNET_E2E_SIGN_PARTY"], allowed)
    page.goto(allowed + "/contracts/42?url=" + urllib.request.quote(url, safe=""))
    frame = page.frame_locator("iframe")
    frame.locator(tid("signer-ready")).wait_for()
    frame.locator(tid("signer-page-1")).wait_for()
    wait_events(page, 1, "loaded")
    shot(page, "embedded-ready")
    frame.locator(tid("signer-sig-tab-type")).click()
    frame.locator(tid("signer-sig-typed")).fill("Wang Fang")
    frame.locator(tid("signer-consent")).check()
    frame.locator(tid("signer-sign")).click()
    frame.locator(tid("signer-done") + '[data-status="signed"]').wait_for(timeout=60000)
    signed = wait_events(page, 3, "signing")
    page.wait_for_timeout(500)  # nothing more may come
    signed = events_of(page)
    shot(page, "embedded-signed")
    if [e["type"] for e in signed] != ["loaded", "signed", "completed"]:
        fail("events of the signing: %r" % signed)
    if any(e["envelope_id"] != E["SIGNET_E2E_SIGN_ENVELOPE"] for e in signed):
        fail("events name another envelope: %r" % signed)
    result["signed"] = signed

    # 2. decline inside the frame
    url = embed_url(E["SIGNET_E2E_DECLINE_ENVELOPE"], E["SIGNET_E2E_DECLINE_PARTY"], allowed)
    page.goto(allowed + "/contracts/43?url=" + urllib.request.quote(url, safe=""))
    frame = page.frame_locator("iframe")
    frame.locator(tid("signer-ready")).wait_for()
    frame.locator(tid("signer-decline")).click()
    frame.locator(tid("decline-dialog-reason")).fill("The price is wrong")
    frame.locator(tid("decline-dialog-ok")).click()
    frame.locator(tid("signer-done") + '[data-status="declined"]').wait_for()
    declined = wait_events(page, 2, "declining")
    page.wait_for_timeout(500)
    declined = events_of(page)
    shot(page, "embedded-declined")
    if [e["type"] for e in declined] != ["loaded", "declined"]:
        fail("events of the decline: %r" % declined)
    result["declined"] = declined

    # 3. a party with its own key: the frame prepares, shows the command and waits; the
    #    person runs it (here: with a key file) and gives the frame its signature.json
    url = embed_url(E["SIGNET_E2E_OWN_ENVELOPE"], E["SIGNET_E2E_OWN_PARTY"], allowed)
    page.goto(allowed + "/contracts/45?url=" + urllib.request.quote(url, safe=""))
    frame = page.frame_locator("iframe")
    frame.locator(tid("signer-own-key")).wait_for()
    frame.locator(tid("signer-consent")).check()
    frame.locator(tid("signer-sign")).click()
    command = frame.locator(tid("signer-own-command")).inner_text()
    if "signet sign-digest" not in command:
        fail("the frame shows no sign-digest command: %r" % command)
    shot(page, "embedded-own-key-waiting")
    work = tempfile.mkdtemp(prefix="signet-e2e-own-")
    with page.expect_download() as download:
        frame.locator(tid("signer-own-download")).click()
    preparation = os.path.join(work, "preparation.json")
    download.value.save_as(preparation)
    signature = os.path.join(work, "signature.json")
    ran = subprocess.run(
        [E["SIGNET_E2E_SIGNET"], "sign-digest", "--input", preparation, "--output", signature, "--key", E["SIGNET_E2E_OWN_KEY"]],
        capture_output=True,
        text=True,
    )
    if ran.returncode != 0:
        fail("signet sign-digest: %s%s" % (ran.stdout, ran.stderr))
    frame.locator(tid("signer-own-upload")).set_input_files(signature)
    frame.locator(tid("signer-done") + '[data-status="signed"]').wait_for(timeout=60000)
    own = wait_events(page, 3, "signing with an own key")
    page.wait_for_timeout(500)
    own = events_of(page)
    shot(page, "embedded-own-key-signed")
    if [e["type"] for e in own] != ["loaded", "signed", "completed"]:
        fail("events of the own-key signing: %r" % own)
    result["own_key"] = own

    # 4. the preparation view of a draft: a text field added, then sent
    status, link = call("POST", "/api/v1/envelopes/%s/embed" % E["SIGNET_E2E_DRAFT_ENVELOPE"], {"parent_origin": allowed})
    if status != 201:
        fail("minting a preparation token: %s %s" % (status, link))
    page.goto(allowed + "/contracts/46?url=" + urllib.request.quote(link["url"], safe=""))
    frame = page.frame_locator("iframe")
    frame.locator(tid("prepare-form")).wait_for()
    frame.locator(tid("place-page-image")).wait_for()
    wait_events(page, 1, "the preparation view's loaded")
    placed = frame.locator(tid("placed-field"))
    placed.first.wait_for()
    before = placed.count()
    for attempt in range(20):
        # the palette's button (its keyboard and click path: the page's centre; dragging is
        # the contracts scenario's); ignored until the page's geometry has arrived
        frame.locator(tid("palette-0-text")).click()
        if placed.count() > before:
            break
        time.sleep(0.25)
    if placed.count() != before + 1:
        fail("the preparation view placed %d fields, expected %d" % (placed.count(), before + 1))
    shot(page, "embedded-prepare")
    frame.locator(tid("prepare-send")).click()
    frame.locator(tid("prepare-done") + '[data-status="sent"]').wait_for(timeout=60000)
    prepared = wait_events(page, 2, "the preparation view")
    page.wait_for_timeout(500)
    prepared = events_of(page)
    shot(page, "embedded-prepare-sent")
    if [e["type"] for e in prepared] != ["loaded", "sent"]:
        fail("events of the preparation view: %r" % prepared)
    result["prepared"] = prepared

    # 5. the other origin: the browser refuses to show the view
    url = embed_url(E["SIGNET_E2E_REFUSE_ENVELOPE"], E["SIGNET_E2E_REFUSE_PARTY"], allowed)
    result["unused_url"] = url
    page.goto(other + "/contracts/44?timeout=4000&url=" + urllib.request.quote(url, safe=""))
    refused = wait_events(page, 1, "the refused frame")
    page.wait_for_timeout(1000)
    refused = events_of(page)
    shot(page, "embedded-refused")
    if [(e["type"], e["code"]) for e in refused] != [("error", "not_loaded")]:
        fail("events of the refused frame: %r" % refused)
    if page.frame_locator("iframe").locator(tid("signer-app")).count():
        fail("the view loaded in a page of an origin the tenant does not allow")
    result["refused"] = refused

allowed_server.shutdown()
other_server.shutdown()
with open(E["SIGNET_E2E_RESULT"], "w") as f:
    json.dump(result, f, indent=2)
print("embed: ok")
