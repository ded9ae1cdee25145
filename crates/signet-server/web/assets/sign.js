// The signer page (/sign/{token}, from the invitation e-mail): the session from the token,
// the e-mailed code (external parties) or a console login (internal ones), reading the
// document with the party's fields highlighted, adopting a signature, signing or declining.
//
// Embedded (/embed/sign/{token}, framed by a document system's page): the embed token opens
// the session (the document system authenticated the person), which every call then sends
// in X-Signer-Session; what happens is posted to the parent page, to its origin only:
// {source: "signet", type: "loaded" | "signed" | "declined" | "completed" | "error", ...}.

import {
  api,
  brand,
  busy,
  confirmDialog,
  errorText,
  field,
  fmtTime,
  formError,
  h,
  languageSwitch,
  loadImage,
  mount,
  pickLanguage,
  setCsrf,
  setSessionHeader,
  statusBadge,
  t,
  toast,
  translateStatic,
} from "./common.js";
import { fieldsOverlay } from "./placement.js";
import { signaturePad } from "./signature-pad.js";

const app = document.getElementById("app");
const embedded = location.pathname.startsWith("/embed/sign/");
const token = decodeURIComponent(location.pathname.replace(/^\/(embed\/)?sign\//, "").replace(/\/+$/, ""));
let session = null; // the answer of POST /signer/session
let parentOrigin = null; // embedded: the only origin told what happens
let loadedSent = false;
let polling = null; // the own-key wait's timer
let redraw = () => {};

pickLanguage();
translateStatic();
start();

function page(...children) {
  if (polling) clearInterval(polling);
  polling = null;
  mount(
    app,
    h("header", { class: "topbar" }, brand(location.pathname, t("signer.subtitle")), h("span", { class: "spacer" }), languageSwitch(() => redraw())),
    h("main", { id: "main", class: "signer-wrap", tabindex: "-1" }, ...children),
  );
}

function narrow(...children) {
  return h("div", { class: "signer-narrow card" }, ...children);
}

async function start() {
  redraw = start;
  page(narrow(h("p", { class: "muted" }, h("span", { class: "spinner", "aria-hidden": "true" }), " ", t("common.loading"))));
  if (!token) return invalid();
  if (embedded && !session) {
    try {
      const opened = await api("POST", "/api/v1/signer/embed", { json: { token }, on401: false });
      setSessionHeader("X-Signer-Session", opened.session);
      parentOrigin = opened.parent_origin;
      session = opened.signer;
    } catch (e) {
      return invalid(e);
    }
  } else if (!embedded) {
    try {
      session = await api("POST", "/api/v1/signer/session", { json: { token }, on401: false });
    } catch (e) {
      return invalid(e);
    }
  }
  setCsrf(session.csrf_token);
  show(session.stage);
}

/** Embedded: tells the parent page (its origin only) what happened. */
function notify(type, detail = {}) {
  if (!embedded || !parentOrigin || window.parent === window) return;
  const env = (session && session.envelope) || {};
  const party = (session && session.party) || {};
  window.parent.postMessage({ source: "signet", type, envelope_id: env.id, party_id: party.id, ...detail }, parentOrigin);
}

/** A link that downloads the current PDF: embedded, through the API with the session header. */
function downloadLink(attrs) {
  if (!embedded) return h("a", { href: "/api/v1/signer/document", download: "document.pdf", ...attrs });
  const a = h("a", { href: "#", ...attrs });
  a.addEventListener("click", async (ev) => {
    ev.preventDefault();
    try {
      const res = await api("GET", "/api/v1/signer/document", { raw: true, headers: { Accept: "application/pdf" }, on401: false });
      const url = URL.createObjectURL(await res.blob());
      const save = h("a", { href: url, download: "document.pdf" });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      toast(errorText(e), "error");
    }
  });
  return a;
}

function show(stage) {
  document.title = `${(session.envelope && session.envelope.title) || t("signer.subtitle")} · Signet`;
  if (stage === "code") return stageCode();
  if (stage === "login") return stageLogin();
  if (stage === "ready") return stageReady();
  if (!loadedSent) {
    loadedSent = true;
    notify("loaded", { stage, status: (session.party && session.party.status) || "" });
  }
  return stageDone((session.party && session.party.status) || "", session.envelope && session.envelope.status);
}

function invalid(e) {
  redraw = () => invalid(e);
  if (e) notify("error", { status: e.status, code: e.code || "", message: errorText(e) });
  const gone = !e || [400, 401, 403, 404, 410].includes(e.status);
  page(
    narrow(
      h("div", { testid: "signer-invalid" }, h("h1", { text: t("signer.invalidTitle") }), h("p", { class: "muted", text: gone ? t("signer.invalidText") : errorText(e) })),
    ),
  );
}

function heading() {
  const env = session.envelope || {};
  return [h("h1", { testid: "signer-title", text: env.title || "" }), env.message ? h("p", { class: "notice", testid: "signer-message", text: env.message }) : null];
}

// ---------- the code from the e-mail ----------

function stageCode() {
  redraw = stageCode;
  const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", pattern: "[0-9]{6}", class: "code-input", required: true, testid: "signer-code" });
  const submit = h("button", { type: "submit", class: "primary", text: t("signer.codeSubmit"), testid: "signer-code-submit" });
  const resend = h("button", { type: "button", class: "link", text: t("signer.resend"), testid: "signer-code-resend" });
  const err = formError("signer-code-error");
  const hint = h("p", { testid: "signer-email-hint", text: t("signer.codeIntro", { email: session.email_hint || "" }) });
  const form = h("form", { novalidate: true, testid: "signer-code-form" }, ...heading(), hint, err, field(t("signer.code"), code), h("div", { class: "actions" }, resend, h("span", { class: "spacer" })), h("div", { class: "actions end" }, submit));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!/^\d{6}$/.test(code.value.trim())) {
      code.setAttribute("aria-invalid", "true");
      err.set(t("signer.codeFormat"));
      code.focus();
      return;
    }
    busy(
      submit,
      async () => {
        const r = await api("POST", "/api/v1/signer/code", { json: { code: code.value.trim() }, on401: false });
        session.stage = r.stage;
        show(r.stage);
      },
      (e) => {
        err.set(errorText(e));
        code.select();
      },
    );
  });
  resend.addEventListener("click", () =>
    busy(
      resend,
      async () => {
        const r = await api("POST", "/api/v1/signer/code/resend", { on401: false });
        if (r && r.email_hint) session.email_hint = r.email_hint;
        hint.textContent = t("signer.codeIntro", { email: session.email_hint || "" });
        toast(t("signer.resent"), "ok");
        resend.disabled = true;
        setTimeout(() => (resend.disabled = false), 30000);
      },
      (e) => err.set(errorText(e)),
    ),
  );
  page(narrow(form));
  code.focus();
}

// ---------- internal parties: the console's login ----------

function stageLogin() {
  redraw = stageLogin;
  // internal parties sign in the console, on the envelope's page
  const target = session.envelope && session.envelope.id ? `/console/envelopes/${encodeURIComponent(session.envelope.id)}` : location.pathname;
  const back = `/console/login?return=${encodeURIComponent(target)}`;
  page(
    narrow(
      ...heading(),
      h("p", { testid: "signer-login-intro", text: t("signer.loginIntro", { name: (session.party && session.party.name) || "" }) }),
      h("div", { class: "actions end" }, h("a", { class: "button primary", href: back, testid: "signer-login-link", text: t("signer.loginButton") })),
    ),
  );
}

// ---------- reading and signing ----------

async function stageReady() {
  redraw = stageReady;
  let data;
  try {
    data = await api("GET", "/api/v1/signer/envelope", { on401: false });
  } catch (e) {
    return invalid(e);
  }
  // a party signing with its own key (a smart card, a token): the page prepares, shows the
  // command, and waits for the signature
  let ownKey = null;
  try {
    ownKey = (await api("GET", "/api/v1/signer/own-key", { on401: false })).own_key || null;
  } catch {
    ownKey = null;
  }
  const party = data.party || {};
  const fields = party.fields || [];
  const needsSignature = fields.some((f) => f.kind === "signature");
  const hasSeal = fields.some((f) => f.kind === "seal");
  const isApprover = party.role === "approver";
  const pagesEl = h("div", { class: "pages", testid: "signer-pages", "aria-label": t("signer.document") });
  const pageStages = [];
  (data.document.pages || []).forEach((pg, i) => {
    const n = i + 1;
    const img = h("img", { alt: t("place.pageOf", { n, count: data.document.pages.length }), testid: `signer-page-${n}` });
    const stage = h("div", { class: "page-stage", "data-page": String(n) }, img);
    pagesEl.append(h("figure", { class: "page-figure" }, stage, h("figcaption", { class: "page-label", text: t("place.pageOf", { n, count: data.document.pages.length }) })));
    pageStages.push({ n, img, stage, page: pg, loaded: false });
  });
  const loadPage = async (p) => {
    if (p.loaded) return;
    p.loaded = true;
    const width = Math.min(1600, Math.round((p.stage.clientWidth || 800) * Math.min(window.devicePixelRatio || 1, 2)));
    const dpi = Math.round(Math.min(300, Math.max(18, (width / p.page.width) * 72)));
    try {
      await loadImage(p.img, `/api/v1/signer/pages/${p.n}/image?dpi=${dpi}`);
      fieldsOverlay(p.stage, p.img, p.page, fields.filter((f) => f.page === p.n), () => 0, true);
    } catch (e) {
      p.stage.append(h("p", { class: "empty", text: errorText(e) }));
    }
  };
  const seen = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (e.isIntersecting) {
          const p = pageStages.find((x) => x.stage === e.target);
          if (p) loadPage(p);
        }
      }
    },
    { rootMargin: "600px" },
  );

  // the side panel
  const err = formError("signer-error");
  const values = {};
  const textInputs = fields
    .filter((f) => f.kind === "text")
    .map((f, i) => {
      const input = h("input", { type: "text", testid: `signer-text-${f.id}`, value: f.value || "" });
      input.addEventListener("input", () => (values[f.id] = input.value));
      return field(f.label || t("signer.textN", { n: i + 1 }), input, t("place.pageOf", { n: f.page, count: data.document.pages.length }));
    });
  const pad = needsSignature && !ownKey ? signaturePad({ name: party.name || "", testid: "signer-sig" }) : null;
  const consentBox = h("input", { type: "checkbox", testid: "signer-consent" });
  const consent = h("label", { class: "check" }, consentBox, h("span", { text: t("signer.consent") }));
  const sign = h("button", { type: "submit", class: "primary", text: ownKey ? t("signer.ownPrepare") : isApprover ? t("signer.approve") : t("signer.sign"), testid: "signer-sign" });
  const decline = h("button", { type: "button", class: "danger", text: t("signer.decline"), testid: "signer-decline" });
  const update = () => {
    sign.disabled = !consentBox.checked || (pad && pad.isEmpty());
  };
  consentBox.addEventListener("change", update);
  if (pad) pad.onChange(update);
  update();
  const jump = fields.map((f) =>
    h("li", {}, h("button", { type: "button", class: "link", text: `${t(`kind.${f.kind}`)} · ${t("place.pageOf", { n: f.page, count: data.document.pages.length })}`, on: { click: () => pageStages[f.page - 1] && pageStages[f.page - 1].stage.scrollIntoView({ behavior: "smooth", block: "center" }) } })),
  );
  const form = h(
    "form",
    { class: "card signer-panel", testid: "signer-form", novalidate: true },
    h("h2", { text: data.envelope.title }),
    data.envelope.message ? h("p", { class: "notice", text: data.envelope.message }) : null,
    h("p", { class: "small muted", text: t("signer.signingAs", { name: party.name || "", role: t(`role.party.${party.role || "signer"}`) }) }),
    fields.length ? h("details", { open: true }, h("summary", { text: t("signer.yourFields", { count: fields.length }) }), h("ul", { class: "small" }, jump)) : null,
    err,
    textInputs.length ? h("fieldset", {}, h("legend", { text: t("signer.fillIn") }), textInputs) : null,
    pad ? h("fieldset", {}, h("legend", { text: t("signer.adopt") }), pad.el) : null,
    ownKey ? h("p", { class: "notice", testid: "signer-own-key", text: t("signer.ownIntro", { subject: ownKey.subject }) }) : null,
    hasSeal ? h("p", { class: "notice", text: t("signer.sealNote") }) : null,
    consent,
    h("hr", { class: "divider" }),
    h("div", { class: "actions" }, decline, h("span", { class: "spacer" }), sign),
    h("p", { class: "small" }, downloadLink({ testid: "signer-download-current", text: t("signer.downloadCurrent") })),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (sign.disabled) return;
    for (const f of fields.filter((x) => x.kind === "text")) {
      if (!(values[f.id] || f.value || "").trim()) {
        err.set(t("signer.fillAll"));
        const input = form.querySelector(`[data-testid="signer-text-${f.id}"]`);
        if (input) input.focus();
        return;
      }
    }
    // the version read: refused if another party signed since (the page then says so)
    const body = { document_id: data.document.id };
    if (pad) body.signature = pad.value();
    if (Object.keys(values).length) body.values = values;
    if (ownKey) {
      delete body.signature;
      return busy(
        sign,
        async () => {
          const prep = await api("POST", "/api/v1/signer/prepare", { json: body, on401: false });
          ownKeyWait(form, prep);
        },
        (e) => {
          err.set(errorText(e));
          notify("error", { status: e.status, code: e.code || "", message: errorText(e) });
        },
      );
    }
    busy(
      sign,
      async () => {
        const r = await api("POST", "/api/v1/signer/sign", { json: body, on401: false });
        stageDone(r.status || "signed", r.envelope_status);
        notify("signed", { status: r.status || "signed", envelope_status: r.envelope_status });
        if (r.envelope_status === "completed") notify("completed", { envelope_status: r.envelope_status });
      },
      (e) => {
        err.set(errorText(e));
        notify("error", { status: e.status, code: e.code || "", message: errorText(e) });
      },
    );
  });
  decline.addEventListener("click", async () => {
    const reason = await confirmDialog(t("signer.declineTitle"), { text: t("signer.declineText"), reason: t("signer.declineReason"), reasonRequired: true, okText: t("signer.decline"), testid: "decline-dialog" });
    if (reason === null) return;
    busy(
      decline,
      async () => {
        const r = await api("POST", "/api/v1/signer/decline", { json: { reason }, on401: false });
        stageDone("declined");
        notify("declined", { reason, envelope_status: r && r.envelope_status });
      },
      (e) => {
        err.set(errorText(e));
        notify("error", { status: e.status, code: e.code || "", message: errorText(e) });
      },
    );
  });
  page(h("div", { class: "signer-layout", testid: "signer-ready" }, h("section", { "aria-label": t("signer.document") }, pagesEl), form));
  for (const p of pageStages) seen.observe(p.stage);
  if (!loadedSent) {
    loadedSent = true;
    notify("loaded", { pages: data.document.pages.length, document_id: data.document.id });
  }
}

// ---------- own key: prepared, waiting for the signature ----------

/** Replaces the signing form with what the party's own key must sign, the command that signs
 * it, an upload for its answer, and waits (the command may also upload it itself). */
function ownKeyWait(form, prep) {
  const err = formError("signer-own-error");
  const json = JSON.stringify(prep, null, 2);
  const href = URL.createObjectURL(new Blob([json], { type: "application/json" }));
  const status = h("p", { class: "small muted", testid: "signer-own-status", role: "status", text: t("signer.ownWaiting", { time: fmtTime(prep.expires_at) }) });
  const upload = h("input", { type: "file", accept: "application/json,.json", testid: "signer-own-upload" });
  const finish = (r) => {
    stageDone(r.status || "signed", r.envelope_status);
    notify("signed", { status: r.status || "signed", envelope_status: r.envelope_status });
    if (r.envelope_status === "completed") notify("completed", { envelope_status: r.envelope_status });
  };
  upload.addEventListener("change", async () => {
    const file = upload.files && upload.files[0];
    if (!file) return;
    let body;
    try {
      const given = JSON.parse(await file.text());
      body = { preparation_id: prep.preparation_id };
      if (given.signature) body.signature = given.signature;
      if (given.cms) body.cms = given.cms;
    } catch {
      return err.set(t("signer.ownBadFile"));
    }
    try {
      finish(await api("POST", "/api/v1/signer/signature", { json: body, on401: false }));
    } catch (e) {
      err.set(errorText(e));
      notify("error", { status: e.status, code: e.code || "", message: errorText(e) });
    }
  });
  mount(
    form,
    h("h2", { text: t("signer.ownTitle") }),
    h("ol", { class: "small" }, h("li", {}, h("a", { href, download: "preparation.json", testid: "signer-own-download", text: t("signer.ownDownload") })), h("li", { text: t("signer.ownRun") }), h("li", { text: t("signer.ownUpload") })),
    h("pre", { class: "mono small command", testid: "signer-own-command", tabindex: "0", text: prep.command }),
    err,
    field(t("signer.ownUploadLabel"), upload),
    status,
  );
  // the signature may arrive another way (the command uploads it): look every few seconds
  polling = setInterval(async () => {
    try {
      const now = await api("GET", "/api/v1/signer/own-key", { on401: false });
      const p = now.preparation;
      if (p && p.preparation_id === prep.preparation_id && p.status === "used") {
        clearInterval(polling);
        polling = null;
        const view = await api("GET", "/api/v1/signer/envelope", { on401: false });
        finish({ status: view.party.status, envelope_status: view.envelope.status });
      } else if (p && p.preparation_id === prep.preparation_id && p.status === "expired") {
        clearInterval(polling);
        polling = null;
        status.textContent = t("signer.ownExpired");
      }
    } catch {
      // the next look may work
    }
  }, 3000);
}

// ---------- done ----------

function stageDone(status, envelopeStatus) {
  redraw = () => stageDone(status, envelopeStatus);
  const declined = status === "declined";
  const known = ["signed", "approved", "declined"].includes(status);
  page(
    narrow(
      h(
        "div",
        { class: "done", testid: "signer-done", "data-status": status || "" },
        h("div", { class: `done-mark${declined ? " bad" : ""}`, "aria-hidden": "true", text: declined ? "✕" : "✓" }),
        h("h1", { text: declined ? t("signer.doneDeclined") : known ? t("signer.doneSigned") : t("signer.doneOther") }),
        session.envelope ? h("p", { class: "muted", text: session.envelope.title }) : null,
        status && !known ? h("p", {}, statusBadge(status)) : null,
        envelopeStatus ? h("p", { class: "small muted" }, t("signer.envelopeStatus"), " ", statusBadge(envelopeStatus, "signer-envelope-status")) : null,
        h("p", { text: declined ? t("signer.doneDeclinedText") : envelopeStatus === "completed" ? t("signer.doneCompleted") : t("signer.doneText") }),
        h("div", { class: "actions center" }, downloadLink({ class: "button primary", testid: "signer-download", text: t("signer.download") })),
      ),
    ),
  );
}
