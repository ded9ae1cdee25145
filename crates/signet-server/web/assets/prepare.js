// The embedded preparation view (/embed/prepare/{token}, framed by a document system's page):
// the draft envelope's pages with each party's fields, moved, added or removed with the same
// editor as the console's wizard, then sent. The embed token opens the session, which every
// call sends in X-Signer-Session; what happens is posted to the parent page, to its origin
// only: {source: "signet", type: "loaded" | "sent" | "error", envelope_id, ...}.

import { api, brand, busy, errorText, formError, h, languageSwitch, mount, pickLanguage, setCsrf, setSessionHeader, statusBadge, t, translateStatic } from "./common.js";
import { kindsFor, placementEditor } from "./placement.js";

const app = document.getElementById("app");
const token = decodeURIComponent(location.pathname.replace(/^\/embed\/prepare\//, "").replace(/\/+$/, ""));
let opened = null; // the answer of POST /api/v1/embed/prepare
let parentOrigin = null;
let loadedSent = false;
let fields = null; // the editor's fields: {party (index), kind, page, rect, label?}
let redraw = () => {};

pickLanguage();
translateStatic();
start();

function page(...children) {
  mount(
    app,
    h("header", { class: "topbar" }, brand(location.pathname, t("prepare.subtitle")), h("span", { class: "spacer" }), languageSwitch(() => redraw())),
    h("main", { id: "main", class: "signer-wrap", tabindex: "-1" }, ...children),
  );
}

/** Tells the parent page (its origin only) what happened. */
function notify(type, detail = {}) {
  if (!parentOrigin || window.parent === window) return;
  const env = (opened && opened.envelope) || {};
  window.parent.postMessage({ source: "signet", type, envelope_id: env.id, ...detail }, parentOrigin);
}

async function start() {
  redraw = start;
  page(h("div", { class: "signer-narrow card" }, h("p", { class: "muted" }, h("span", { class: "spinner", "aria-hidden": "true" }), " ", t("common.loading"))));
  if (!opened) {
    try {
      opened = await api("POST", "/api/v1/embed/prepare", { json: { token }, on401: false });
    } catch (e) {
      return invalid(e);
    }
    setSessionHeader("X-Signer-Session", opened.session);
    setCsrf(opened.csrf_token);
    parentOrigin = opened.parent_origin;
    fields = [];
    opened.envelope.parties.forEach((p, i) => (p.fields || []).forEach((f) => fields.push({ party: i, kind: f.kind, page: f.page, rect: f.rect, label: f.label || "" })));
  }
  if (opened.envelope.status !== "draft") return done(opened.envelope.status);
  prepare();
}

function invalid(e) {
  redraw = () => invalid(e);
  const gone = !e || [400, 401, 403, 404, 410].includes(e.status);
  page(h("div", { class: "signer-narrow card" }, h("div", { testid: "prepare-invalid" }, h("h1", { text: t("signer.invalidTitle") }), h("p", { class: "muted", text: gone ? t("signer.invalidText") : errorText(e) }))));
  if (e) notify("error", { status: e.status, code: e.code || "", message: errorText(e) });
}

function prepare() {
  redraw = prepare;
  const env = opened.envelope;
  const parties = env.parties;
  const err = formError("prepare-error");
  const summary = h("p", { class: "small muted", testid: "prepare-summary", "aria-live": "polite" });
  const summarize = () => {
    summary.textContent = parties.map((p, i) => `${p.name}: ${fields.filter((f) => f.party === i).length}`).join(" · ");
  };
  const editor = placementEditor({
    docId: env.current_document_id,
    pageCount: opened.pages.length,
    parties,
    fields,
    onChange: summarize,
    pageBase: "/api/v1/embed/prepare/pages",
  });
  summarize();
  const send = h("button", { type: "submit", class: "primary", text: t("prepare.send"), testid: "prepare-send" });
  const form = h(
    "form",
    { novalidate: true, testid: "prepare-form" },
    h("section", { class: "card" }, h("h1", { testid: "prepare-title", text: env.title }), h("p", { class: "muted", text: t("prepare.intro") }), err, summary),
    editor,
    h("div", { class: "actions end" }, send),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    for (const [i, p] of parties.entries()) {
      const mine = fields.filter((f) => f.party === i);
      if (p.role === "signer" && !mine.some((f) => f.kind === "seal" || f.kind === "signature")) {
        err.set(t("wizard.signerNeedsField", { name: p.name }));
        return;
      }
    }
    const body = {
      parties: parties.map((p, i) => ({
        id: p.id,
        fields: fields
          .filter((f) => f.party === i && kindsFor(p).includes(f.kind))
          .map((f) => {
            const out = { kind: f.kind, page: f.page, rect: f.rect };
            if (f.label) out.label = f.label;
            return out;
          }),
      })),
    };
    busy(
      send,
      async () => {
        const r = await api("POST", "/api/v1/embed/prepare/send", { json: body, on401: false });
        opened.envelope = r;
        done(r.status);
        notify("sent", { envelope_status: r.status, fields: r.parties.reduce((n, p) => n + (p.fields || []).length, 0) });
      },
      (e) => {
        err.set(errorText(e));
        notify("error", { status: e.status, code: e.code || "", message: errorText(e) });
      },
    );
  });
  page(form);
  if (!loadedSent) {
    loadedSent = true;
    notify("loaded", { pages: opened.pages.length, status: env.status });
  }
}

function done(status) {
  redraw = () => done(status);
  page(
    h(
      "div",
      { class: "signer-narrow card" },
      h(
        "div",
        { class: "done", testid: "prepare-done", "data-status": status },
        h("div", { class: "done-mark", "aria-hidden": "true", text: "✓" }),
        h("h1", { text: status === "sent" ? t("prepare.sent") : t("signer.doneOther") }),
        h("p", { class: "muted", text: opened.envelope.title }),
        h("p", {}, statusBadge(status)),
        status === "sent" ? h("p", { text: t("prepare.sentText") }) : null,
      ),
    ),
  );
  if (!loadedSent) {
    loadedSent = true;
    notify("loaded", { pages: opened.pages.length, status });
  }
}
