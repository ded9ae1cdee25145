// The signer page (/sign/{token}, from the invitation e-mail): the session from the token,
// the e-mailed code (external parties) or a console login (internal ones), reading the
// document with the party's fields highlighted, adopting a signature, signing or declining.

import {
  api,
  brand,
  busy,
  confirmDialog,
  errorText,
  field,
  formError,
  h,
  languageSwitch,
  loadImage,
  mount,
  pickLanguage,
  setCsrf,
  statusBadge,
  t,
  toast,
  translateStatic,
} from "./common.js";
import { fieldsOverlay } from "./placement.js";
import { signaturePad } from "./signature-pad.js";

const app = document.getElementById("app");
const token = decodeURIComponent(location.pathname.replace(/^\/sign\//, "").replace(/\/+$/, ""));
let session = null; // the answer of POST /signer/session
let redraw = () => {};

pickLanguage();
translateStatic();
start();

function page(...children) {
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
  try {
    session = await api("POST", "/api/v1/signer/session", { json: { token }, on401: false });
  } catch (e) {
    return invalid(e);
  }
  setCsrf(session.csrf_token);
  show(session.stage);
}

function show(stage) {
  document.title = `${(session.envelope && session.envelope.title) || t("signer.subtitle")} · Signet`;
  if (stage === "code") return stageCode();
  if (stage === "login") return stageLogin();
  if (stage === "ready") return stageReady();
  return stageDone((session.party && session.party.status) || "", session.envelope && session.envelope.status);
}

function invalid(e) {
  redraw = () => invalid(e);
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
  const pad = needsSignature ? signaturePad({ name: party.name || "", testid: "signer-sig" }) : null;
  const consentBox = h("input", { type: "checkbox", testid: "signer-consent" });
  const consent = h("label", { class: "check" }, consentBox, h("span", { text: t("signer.consent") }));
  const sign = h("button", { type: "submit", class: "primary", text: isApprover ? t("signer.approve") : t("signer.sign"), testid: "signer-sign" });
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
    hasSeal ? h("p", { class: "notice", text: t("signer.sealNote") }) : null,
    consent,
    h("hr", { class: "divider" }),
    h("div", { class: "actions" }, decline, h("span", { class: "spacer" }), sign),
    h("p", { class: "small" }, h("a", { href: "/api/v1/signer/document", download: "document.pdf", testid: "signer-download-current", text: t("signer.downloadCurrent") })),
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
    busy(
      sign,
      async () => {
        const r = await api("POST", "/api/v1/signer/sign", { json: body, on401: false });
        stageDone(r.status || "signed", r.envelope_status);
      },
      (e) => err.set(errorText(e)),
    );
  });
  decline.addEventListener("click", async () => {
    const reason = await confirmDialog(t("signer.declineTitle"), { text: t("signer.declineText"), reason: t("signer.declineReason"), reasonRequired: true, okText: t("signer.decline"), testid: "decline-dialog" });
    if (reason === null) return;
    busy(
      decline,
      async () => {
        await api("POST", "/api/v1/signer/decline", { json: { reason }, on401: false });
        stageDone("declined");
      },
      (e) => err.set(errorText(e)),
    );
  });
  page(h("div", { class: "signer-layout", testid: "signer-ready" }, h("section", { "aria-label": t("signer.document") }, pagesEl), form));
  for (const p of pageStages) seen.observe(p.stage);
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
        h("div", { class: "actions center" }, h("a", { class: "button primary", href: "/api/v1/signer/document", download: "document.pdf", testid: "signer-download", text: t("signer.download") })),
      ),
    ),
  );
}
