"""Contracts in the browser: the acceptance scenario of envelopes, the console and the signer
page, driven like a person would (see crates/signet-cli/tests/browser.rs for the server, the
users and the checks made afterwards on the PDFs).

1. Ada (tenant administrator, TOTP required) logs in and enrols her authenticator; generates a
   round company seal and authorizes Li to use it.
2. Ada prepares a sequential envelope in the wizard: uploads the contract, adds Li (internal,
   stamping the company seal) then Zhang San (external), drags a seal field, a signature field
   and a text field onto the page, sends it.
3. Li follows the e-mailed link, logs in, stamps the seal in the console.
4. Zhang San gets the invitation by e-mail, confirms the e-mailed code, draws a signature,
   fills the text field and signs: the envelope completes.
5. A declined, a voided, an expired and a parallel envelope (two signers at once).
6. The verification page: a tampered PDF is invalid; a PDF signed by pyHanko is valid and
   names its signer. Also in Chinese.

Writes the envelope ids to $SIGNET_E2E_RESULT for the Rust test.
"""

import base64
import hashlib
import hmac
import json
import math
import os
import re
import struct
import time

from harness import fail, launch, shot, url, wait_for_mail

E = os.environ
TENANT = E.get("SIGNET_E2E_TENANT", "acme")
ADMIN = E.get("SIGNET_E2E_ADMIN", "ada")
USER = E.get("SIGNET_E2E_USER", "li")
PASSWORD = E["SIGNET_E2E_PASSWORD"]
CONTRACT = E["SIGNET_E2E_CONTRACT"]
SEAL_NAME = "艾克米贸易有限公司合同专用章"
# the console asks for the session first (401 before login) and some steps provoke refusals
ALLOWED = [r"Failed to load resource: the server responded with a status of 40[01349]"]


def tid(name):
    return '[data-testid="%s"]' % name


def totp(secret, at=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it."""
    key = base64.b32decode(secret.upper().replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF) % 1000000)


RECOVERY = []


def login(page, username, enrol=False):
    """Logs in from the login form the page shows (already at a console URL)."""
    page.wait_for_selector(tid("login-form"))
    if page.locator(tid("login-tenant")).count():
        page.fill(tid("login-tenant"), TENANT)
    page.fill(tid("login-username"), username)
    page.fill(tid("login-password"), PASSWORD)
    page.click(tid("login-submit"))
    if enrol:
        page.click(tid("enrol-start"))
        secret = page.get_attribute(tid("enrol-secret"), "data-secret")
        shot(page, "mfa-enrol")
        page.fill(tid("enrol-code"), totp(secret))
        page.click(tid("enrol-confirm"))
        page.wait_for_selector(tid("recovery-codes"))
        RECOVERY.extend(page.locator(tid("recovery-codes") + " span").all_inner_texts())
        shot(page, "mfa-recovery-codes")
        page.check(tid("recovery-saved"))
        page.click(tid("enrol-continue"))
    elif username == ADMIN:
        # TOTP codes are single-use per 30 s step: the second login uses a recovery code
        page.wait_for_selector(tid("mfa-form"))
        page.click(tid("mfa-use-recovery"))
        page.fill(tid("mfa-recovery-code"), RECOVERY.pop())
        shot(page, "mfa-recovery-login")
        page.click(tid("mfa-submit"))
    page.wait_for_selector(tid("current-user"))


def logout(page):
    page.click(tid("logout"))
    page.wait_for_selector(tid("login-form"))


def api(page, method, path, body=None, content_type="application/json"):
    """A call with the console session of the page's context (cookie and CSRF token)."""
    session = page.request.get(url("/api/v1/auth/session")).json()
    headers = {"X-CSRF-Token": session["csrf_token"]}
    data = body
    if content_type:
        headers["Content-Type"] = content_type
        if content_type == "application/json" and body is not None:
            data = json.dumps(body)
    r = page.request.fetch(url(path), method=method, headers=headers, data=data)
    if r.status >= 300:
        fail("%s %s: %s %s" % (method, path, r.status, r.text()))
    return r.json()


def link_in(mail):
    links = [l for l in mail.links if "/sign/" in l]
    if not links:
        fail("no signing link in the mail to %s: %s" % (mail.to, mail.text))
    return links[-1]


def code_in(mail):
    m = re.search(r"\b(\d{6})\b", mail.subject) or re.search(r"\b(\d{6})\b", mail.text)
    if not m:
        fail("no code in %r" % mail.subject)
    return m.group(1)


def draw(page, canvas):
    box = page.locator(tid(canvas)).bounding_box()
    x0, y0 = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(40):
        page.mouse.move(x0 + i * (box["width"] - 40) / 40, y0 + 18 * math.sin(i / 3.0))
    page.mouse.up()


def confirm_code(page, to, name):
    """The signer page at stage `code`: the code from the newest mail to `to`."""
    page.wait_for_selector(tid("signer-code"))
    shot(page, "%s-code" % name)
    mail = wait_for_mail(to)
    while "code" not in mail.subject:
        mail = wait_for_mail(to)  # a notice that came first (the envelope ended)
    page.fill(tid("signer-code"), code_in(mail))
    page.click(tid("signer-code-submit"))


def sign_as_external(page, to, name, text=None):
    page.goto(link_in(wait_for_mail(to)))
    confirm_code(page, to, name)
    page.wait_for_selector(tid("signer-ready"))
    page.wait_for_selector(tid("signer-page-1"))
    shot(page, "%s-ready" % name)
    page.click(tid("signer-sig-tab-draw"))
    draw(page, "signer-sig-canvas")
    for field in page.locator('[data-testid^="signer-text-"]').all():
        field.fill(text or "Director")
    page.check(tid("signer-consent"))
    shot(page, "%s-signature" % name)
    page.click(tid("signer-sign"))
    page.wait_for_selector(tid("signer-done") + '[data-status="signed"]')
    shot(page, "%s-done" % name)


def new_envelope(page, title, parties):
    doc = api(page, "POST", "/api/v1/documents", open(CONTRACT, "rb").read(), "application/pdf")
    return api(page, "POST", "/api/v1/envelopes", {"title": title, "document_id": doc["id"], "send": True, "parties": parties})


def external(name, email, order, y=80):
    return {"name": name, "email": email, "order": order,
            "fields": [{"kind": "signature", "page": 1, "rect": [60, y, 260, y + 70]}]}


result = {}
with launch(locale="en-US", allow_console=ALLOWED) as b:
    page = b.page

    # 1. the administrator: TOTP enrolment, a company seal, a grant to Li
    page.goto(url("/console/"))
    shot(page, "login")
    login(page, ADMIN, enrol=True)
    shot(page, "dashboard")
    page.goto(url("/console/seals"))
    page.click(tid("seal-new"))
    page.fill(tid("seal-name"), SEAL_NAME)
    page.select_option(tid("seal-kind"), "company")
    page.select_option(tid("seal-shape"), "round")
    page.fill(tid("seal-text"), "艾克米贸易有限公司")
    page.wait_for_selector(tid("seal-preview-status") + ":has-text('updated')", timeout=15000)
    shot(page, "seal-generate")
    page.click(tid("seal-create-submit"))
    card = page.locator(tid("seal-card") + '[data-name="%s"]' % SEAL_NAME)
    card.wait_for()
    card.locator(tid("seal-grants-btn")).click()
    page.select_option(tid("grant-type"), "user")
    page.select_option(tid("grant-user"), label="Li Wei (%s)" % USER)
    page.click(tid("grant-submit"))
    page.wait_for_selector(tid("grant-row"))
    shot(page, "seal-grant")

    # 2. the wizard: upload, parties, drag-and-drop fields, send
    page.goto(url("/console/envelopes/new"))
    page.set_input_files(tid("wizard-upload-input"), CONTRACT)
    page.wait_for_selector(tid("wizard-doc-chosen") + ":has-text('doc_'), " + tid("wizard-doc-chosen") + ":has-text('page')")
    page.fill(tid("wizard-title"), "Supply contract 2026-118")
    page.fill(tid("wizard-message"), "Please sign by Friday.")
    shot(page, "wizard-document")
    page.click(tid("wizard-next"))
    page.click(tid("wizard-add-internal"))
    li = page.locator(tid("party-0-user") + " option", has_text="Li Wei").first.get_attribute("value")
    page.select_option(tid("party-0-user"), li)
    page.select_option(tid("party-0-seal"), label=SEAL_NAME)
    page.click(tid("wizard-add-external"))
    page.fill(tid("party-1-name"), "Zhang San")
    page.fill(tid("party-1-email"), "zhang@example.com")
    page.fill(tid("party-1-order"), "2")
    shot(page, "wizard-parties")
    page.click(tid("wizard-next"))
    page.wait_for_selector(tid("place-page-image"))
    # the page image loaded (wait_for_function needs eval, which the pages' CSP forbids)
    for _ in range(100):
        if page.locator(tid("place-page-image")).evaluate("i => i.complete && i.naturalWidth > 0"):
            break
        time.sleep(0.1)
    stage = page.locator(tid("place-stage"))
    sbox = stage.bounding_box()
    placed = page.locator(tid("placed-field"))
    for palette, x, y in [("palette-0-seal", 0.70, 0.72), ("palette-1-signature", 0.30, 0.80), ("palette-1-text", 0.30, 0.90)]:
        before = placed.count()
        for attempt in range(20):
            # the drop is ignored until the page's geometry has arrived: drag again
            page.drag_and_drop(tid(palette), tid("place-stage"), target_position={"x": sbox["width"] * x, "y": sbox["height"] * y})
            if placed.count() > before:
                break
            time.sleep(0.25)
    if placed.count() != 3:
        fail("%d fields placed, expected 3" % placed.count())
    rects = [placed.nth(i).get_attribute("data-rect") for i in range(3)]
    print("placed:", rects, flush=True)
    shot(page, "wizard-placement")
    page.click(tid("wizard-next"))
    page.wait_for_selector(tid("review-parties"))
    shot(page, "wizard-review")
    page.click(tid("wizard-send"))
    page.wait_for_selector(tid("env-status"))
    m = re.search(r"(env_[a-z2-7]+)", page.url)
    if not m:
        fail("after sending, the page is %s" % page.url)
    sequential = m.group(1)
    result["sequential"] = sequential
    shot(page, "envelope-sent")
    logout(page)

    # 3. Li: the e-mailed link, the console login, the seal
    page.goto(link_in(wait_for_mail("%s@acme.test" % USER)))
    page.click(tid("signer-login-link"))
    login(page, USER)
    page.wait_for_selector(tid("env-sign-now"))
    shot(page, "li-envelope")
    page.click(tid("env-sign-now"))
    page.check(tid("env-consent"))
    shot(page, "li-stamp")
    page.click(tid("env-sign-submit"))
    page.wait_for_selector('[data-testid^="party-row-"][data-status="signed"]')
    shot(page, "li-stamped")
    logout(page)

    # 4. Zhang San: invitation, code, drawn signature, text field
    sign_as_external(page, "zhang@example.com", "zhang", text="Purchasing manager")

    # the result in the console
    page.goto(url("/console/envelopes/%s" % sequential))
    login(page, ADMIN)
    page.goto(url("/console/envelopes/%s" % sequential))
    page.wait_for_selector(tid("env-status") + '[data-status="completed"]')
    page.wait_for_selector(tid("env-certificate"))
    shot(page, "envelope-completed")

    # 5. decline, void, expiry, parallel
    declined = new_envelope(page, "Declined offer", [external("Wang Fang", "wang@example.com", 1)])
    result["declined"] = declined["id"]
    page.goto(link_in(wait_for_mail("wang@example.com")))
    confirm_code(page, "wang@example.com", "wang")
    page.wait_for_selector(tid("signer-ready"))
    page.click(tid("signer-decline"))
    page.fill(tid("decline-dialog-reason"), "The price is wrong")
    page.click(tid("decline-dialog-ok"))
    page.wait_for_selector(tid("signer-done") + '[data-status="declined"]')
    shot(page, "wang-declined")

    voided = new_envelope(page, "Voided offer", [external("Zhao Lei", "zhao@example.com", 1)])
    result["voided"] = voided["id"]
    page.goto(url("/console/envelopes/%s" % voided["id"]))
    page.click(tid("env-void"))
    page.fill(tid("void-dialog-reason"), "Superseded by 2026-119")
    page.click(tid("void-dialog-ok"))
    page.wait_for_selector(tid("env-status") + '[data-status="voided"]')
    shot(page, "envelope-voided")
    invitation = wait_for_mail("zhao@example.com")
    notice = wait_for_mail("zhao@example.com")
    if "voided" not in notice.subject:
        fail("the second mail to Zhao is %r, not the notice that it was voided" % notice.subject)
    # the invitation's link still opens, and says the envelope ended
    page.goto(link_in(invitation))
    confirm_code(page, "zhao@example.com", "zhao")
    page.wait_for_selector(tid("signer-done"))
    shot(page, "zhao-voided")

    # the envelope that expired before anyone signed (made by the Rust test)
    page.goto(link_in(wait_for_mail("qian@example.com")))
    confirm_code(page, "qian@example.com", "qian")
    page.wait_for_selector(tid("signer-done"))
    shot(page, "qian-expired")

    parallel = new_envelope(
        page,
        "Parallel board resolution",
        [external("Sun Mei", "sun@example.com", 1, 80), external("Zhou Jie", "zhou@example.com", 1, 200)],
    )
    result["parallel"] = parallel["id"]
    sign_as_external(page, "zhou@example.com", "zhou")
    sign_as_external(page, "sun@example.com", "sun")
    page.goto(url("/console/envelopes/%s" % parallel["id"]))
    page.wait_for_selector(tid("env-status") + '[data-status="completed"]')
    shot(page, "parallel-completed")

    page.goto(url("/console/envelopes"))
    page.wait_for_selector(tid("env-list"))
    shot(page, "envelope-list")

    # 6. the verification page
    page.goto(url("/verify"))
    page.set_input_files(tid("verify-file"), E["SIGNET_E2E_TAMPERED"])
    page.wait_for_selector(tid("verify-verdict") + '[data-verdict="invalid"]')
    shot(page, "verify-tampered")
    page.goto(url("/verify"))
    page.set_input_files(tid("verify-file"), E["SIGNET_E2E_SIGNED"])
    page.wait_for_selector(tid("verify-verdict") + '[data-verdict="valid"]')
    report = page.locator("main").inner_text()
    if E["SIGNET_E2E_SIGNED_BY"] not in report:
        fail("the report does not name %s:\n%s" % (E["SIGNET_E2E_SIGNED_BY"], report))
    shot(page, "verify-pyhanko")

with launch(locale="zh-CN", allow_console=ALLOWED) as b:
    page = b.page
    page.goto(url("/verify"))
    page.set_input_files(tid("verify-file"), E["SIGNET_E2E_SIGNED"])
    page.wait_for_selector(tid("verify-verdict") + '[data-verdict="valid"]')
    shot(page, "zh-verify")
    page.goto(url("/console/"))
    page.wait_for_selector(tid("login-form"))
    shot(page, "zh-login")

with open(E["SIGNET_E2E_RESULT"], "w") as f:
    json.dump(result, f)
print("contracts: ok", result)
