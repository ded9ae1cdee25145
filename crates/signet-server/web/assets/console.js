// The console (/console/…): logging in (password, TOTP, enrolment), the shell with its
// navigation, and the client-side router (History API: every /console/… path is this page).
// Pages are modules exporting `render(ctx, params)`; `ctx` carries the session and helpers.

import {
  api,
  brand,
  busy,
  checkbox,
  errorText,
  field,
  fmtBytes,
  fmtTime,
  formError,
  h,
  languageSwitch,
  loadImage,
  mount,
  pickLanguage,
  query,
  safeReturn,
  setCsrf,
  setUnauthorizedHandler,
  showError,
  statusBadge,
  t,
  toast,
  translateStatic,
  dropZone,
} from "./common.js";
import { qrCanvas } from "./qr.js";

const BASE = "/console/";
const app = document.getElementById("app");

/** What each permission's roles are (mirrors `Permission::roles` on the server). */
const PERMISSIONS = {
  signDocument: ["signer", "seal_user"],
  readDocuments: ["signer", "seal_user", "seal_admin", "tenant_admin", "auditor"],
  manageAssets: ["seal_admin", "tenant_admin"],
  manageSeals: ["seal_admin"],
  readSeals: ["signer", "seal_user", "seal_admin", "tenant_admin", "auditor"],
  requestSealUse: ["signer", "seal_user"],
  decideSealUse: ["seal_admin"],
  manageUsers: ["tenant_admin"],
  manageKeys: ["tenant_admin"],
  manageSettings: ["tenant_admin"],
  readAudit: ["auditor", "tenant_admin"],
  sendEnvelopes: ["signer", "seal_user", "seal_admin", "tenant_admin"],
};

const ROUTES = [
  { path: "", key: "nav.dashboard", group: "work", load: () => ({ render: renderDashboard }) },
  { path: "envelopes", key: "nav.envelopes", group: "work", load: () => import("./envelopes.js") },
  { path: "envelopes/new", key: "nav.newEnvelope", group: "work", perm: "sendEnvelopes", load: () => import("./wizard.js") },
  { path: "documents", key: "nav.documents", group: "work", perm: "readDocuments", load: () => ({ render: renderDocuments }) },
  { path: "seals", key: "nav.seals", group: "seals", perm: "readSeals", load: () => import("./seals.js") },
  { path: "templates", key: "nav.templates", group: "seals", perm: "readDocuments", load: () => import("./admin.js").then((m) => ({ render: m.renderTemplates })) },
  { path: "audit", key: "nav.audit", group: "admin", perm: "readAudit", load: () => import("./admin.js").then((m) => ({ render: m.renderAudit })) },
  { path: "users", key: "nav.users", group: "admin", perm: "manageUsers", load: () => import("./admin.js").then((m) => ({ render: m.renderUsers })) },
  { path: "keys", key: "nav.keys", group: "admin", perm: "manageKeys", load: () => import("./admin.js").then((m) => ({ render: m.renderKeys })) },
  { path: "webhooks", key: "nav.webhooks", group: "admin", perm: "manageSettings", load: () => import("./admin.js").then((m) => ({ render: m.renderWebhooks })) },
  { path: "settings", key: "nav.settings", group: "admin", perm: "manageSettings", load: () => import("./admin.js").then((m) => ({ render: m.renderSettings })) },
  { path: "account", key: "nav.account", group: "me", load: () => ({ render: renderAccount }) },
];

let session = null; // the SessionView of a full session
let renderToken = 0;

const ctx = {
  get session() {
    return session;
  },
  get user() {
    return session && session.user;
  },
  can(perm) {
    const roles = (session && session.user && session.user.roles) || [];
    return (PERMISSIONS[perm] || []).some((r) => roles.includes(r));
  },
  navigate,
  rerender: () => route(),
  link,
};

/** An in-app link: a real href (open in a new tab works), routed without reloading. */
function link(path, text, attrs = {}) {
  return h("a", { href: BASE + path, "data-link": "", ...attrs }, text);
}

function navigate(path, { replace = false } = {}) {
  const url = path.startsWith("/") ? path : BASE + path;
  if (replace) history.replaceState({}, "", url);
  else history.pushState({}, "", url);
  route();
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest && ev.target.closest("a[data-link]");
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", () => route());

setUnauthorizedHandler(() => {
  if (session) {
    session = null;
    toast(t("login.expired"), "bad");
    route();
  }
});

// ---------- start ----------

pickLanguage();
translateStatic();
// links of the form /console/#/envelopes/env_… (e-mails) are the same pages
if (location.hash.startsWith("#/")) history.replaceState({}, "", BASE + location.hash.slice(2) + location.search);
start();

async function start() {
  try {
    const s = await api("GET", "/api/v1/auth/session", { on401: false });
    setCsrf(s.csrf_token);
    if (s.stage === "full") session = s;
    else return renderLogin(s.stage);
  } catch {
    session = null;
  }
  route();
}

function currentPath() {
  let p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "";
  return decodeURIComponent(p.replace(/\/+$/, ""));
}

/** Renders the page of the current URL. */
async function route() {
  const path = currentPath();
  if (!session) {
    renderLogin();
    return;
  }
  if (path === "login") {
    const back = safeReturn(new URLSearchParams(location.search).get("return"));
    if (back) {
      location.assign(back);
      return;
    }
    navigate("", { replace: true });
    return;
  }
  const { routeDef, params } = match(path);
  const main = renderShell(routeDef);
  const token = ++renderToken;
  if (!routeDef) {
    mount(main, h("div", { class: "card empty", testid: "not-found" }, h("h1", { text: t("common.notFound") }), link("", t("nav.dashboard"))));
    return;
  }
  document.title = `${t(routeDef.key)} · Signet`;
  mount(main, h("div", { class: "empty" }, h("span", { class: "spinner", "aria-hidden": "true" }), " ", t("common.loading")));
  try {
    const mod = await routeDef.load();
    if (token !== renderToken) return;
    const page = h("div", {});
    mount(main, page);
    await mod.render(ctx, page, params);
  } catch (e) {
    if (token !== renderToken) return;
    mount(main, h("div", { class: "card" }, h("p", { class: "form-error", role: "alert", text: errorText(e) })));
  }
}

function match(path) {
  const exact = ROUTES.find((r) => r.path === path);
  if (exact) return { routeDef: exact, params: {} };
  const parts = path.split("/");
  if (parts[0] === "envelopes" && parts.length === 2) {
    return { routeDef: { ...ROUTES[1], detail: true }, params: { id: parts[1] } };
  }
  if (parts[0] === "documents" && parts.length === 2) {
    return { routeDef: { ...ROUTES[3] }, params: { id: parts[1] } };
  }
  return { routeDef: null, params: {} };
}

let shellMain = null;

/** The top bar and navigation (rebuilt on each route: the current page is marked). */
function renderShell(current) {
  const user = session.user;
  const groups = { work: "nav.groupWork", seals: "nav.groupSeals", admin: "nav.groupAdmin", me: "nav.groupMe" };
  const nav = h("ul", {});
  let lastGroup = null;
  for (const r of ROUTES) {
    if (r.perm && !ctx.can(r.perm)) continue;
    if (r.group !== lastGroup) {
      nav.append(h("li", { class: "nav-group", "aria-hidden": "true", text: t(groups[r.group]) }));
      lastGroup = r.group;
    }
    const isCurrent = current && current.path === r.path;
    nav.append(
      h(
        "li",
        {},
        h(
          "a",
          { href: BASE + r.path, "data-link": "", "aria-current": isCurrent ? "page" : undefined, testid: `nav-${r.path.replace("/", "-") || "dashboard"}` },
          h("span", { class: "dot", "aria-hidden": "true" }),
          t(r.key),
        ),
      ),
    );
  }
  const logout = h("button", { type: "button", class: "small", text: t("login.logout"), testid: "logout" });
  logout.addEventListener("click", () =>
    busy(logout, async () => {
      await api("POST", "/api/v1/auth/logout", { on401: false }).catch(() => {});
      session = null;
      setCsrf("");
      navigate("", { replace: true });
    }),
  );
  const main = h("main", { id: "main", class: "main", tabindex: "-1" });
  mount(
    app,
    h(
      "header",
      { class: "topbar" },
      brand(BASE, t("console.subtitle")),
      h("span", { class: "spacer" }),
      h("span", { class: "who", testid: "current-user", text: `${user.display_name} (${user.username})` }),
      languageSwitch(() => route()),
      logout,
    ),
    h("div", { class: "shell" }, h("nav", { class: "sidebar", "aria-label": t("nav.label") }, nav), main),
  );
  if (shellMain && document.activeElement === document.body) main.focus({ preventScroll: true });
  shellMain = main;
  return main;
}

// ---------- logging in ----------

function authPage(...children) {
  mount(
    app,
    h(
      "header",
      { class: "topbar" },
      brand(BASE, t("console.subtitle")),
      h("span", { class: "spacer" }),
      languageSwitch(() => renderLogin(lastStage)),
    ),
    h("main", { id: "main", class: "centered", tabindex: "-1" }, h("div", { class: "auth-card" }, ...children)),
  );
}

let lastStage = null;

/** The login form, or the TOTP / enrolment step of a half-done login. */
function renderLogin(stage) {
  lastStage = stage || null;
  document.title = `${t("login.title")} · Signet`;
  if (stage === "mfa") return renderMfa();
  if (stage === "enrol") return renderEnrol();
  const params = new URLSearchParams(location.search);
  let savedTenant = "";
  try {
    savedTenant = localStorage.getItem("signet.tenant") || "";
  } catch {
    // no storage: type it
  }
  const tenant = h("input", { type: "text", name: "tenant", autocomplete: "organization", required: true, value: params.get("tenant") || savedTenant, testid: "login-tenant" });
  const username = h("input", { type: "text", name: "username", autocomplete: "username", required: true, testid: "login-username", autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, testid: "login-password" });
  const submit = h("button", { type: "submit", class: "primary", text: t("login.submit"), testid: "login-submit" });
  const err = formError("login-error");
  const form = h(
    "form",
    { class: "card", testid: "login-form", novalidate: true },
    h("h1", { text: t("login.title") }),
    h("p", { class: "muted", text: t("login.intro") }),
    err,
    field(t("login.tenant"), tenant),
    field(t("login.username"), username),
    field(t("login.password"), password),
    h("div", { class: "actions end" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    for (const i of [tenant, username, password]) {
      if (!i.value.trim()) {
        err.set(t("common.required"));
        i.setAttribute("aria-invalid", "true");
        i.focus();
        return;
      }
    }
    busy(
      submit,
      async () => {
        const s = await api("POST", "/api/v1/auth/login", {
          json: { tenant: tenant.value.trim(), username: username.value.trim(), password: password.value },
          on401: false,
        });
        try {
          localStorage.setItem("signet.tenant", tenant.value.trim());
        } catch {
          // remembered next time only with storage
        }
        afterStage(s);
      },
      (e) => {
        err.set(errorText(e));
        password.value = "";
        password.focus();
      },
    );
  });
  authPage(form, h("p", { class: "small muted" }, h("a", { href: "/verify", text: t("login.verifyLink") })));
  (tenant.value ? username : tenant).focus();
}

/** After a login step: on to the next stage, or into the console. */
function afterStage(s) {
  setCsrf(s.csrf_token);
  if (s.stage === "full") {
    session = s;
    const back = safeReturn(new URLSearchParams(location.search).get("return"));
    if (back) {
      location.assign(back);
      return;
    }
    if (currentPath() === "login") navigate("", { replace: true });
    else route();
  } else {
    renderLogin(s.stage);
  }
}

function renderMfa() {
  const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", pattern: "[0-9]{6}", class: "code-input", testid: "mfa-code", required: true });
  const recovery = h("input", { type: "text", autocomplete: "off", testid: "mfa-recovery-code", spellcheck: "false" });
  const codeField = field(t("mfa.code"), code);
  const recoveryField = field(t("mfa.recoveryCode"), recovery);
  recoveryField.hidden = true;
  const toggle = h("button", { type: "button", class: "link", text: t("mfa.useRecovery"), testid: "mfa-use-recovery" });
  toggle.addEventListener("click", () => {
    const useRecovery = recoveryField.hidden;
    recoveryField.hidden = !useRecovery;
    codeField.hidden = useRecovery;
    toggle.textContent = useRecovery ? t("mfa.useCode") : t("mfa.useRecovery");
    (useRecovery ? recovery : code).focus();
  });
  const submit = h("button", { type: "submit", class: "primary", text: t("mfa.submit"), testid: "mfa-submit" });
  const err = formError("mfa-error");
  const form = h(
    "form",
    { class: "card", testid: "mfa-form", novalidate: true },
    h("h1", { text: t("mfa.title") }),
    h("p", { class: "muted", text: t("mfa.intro") }),
    err,
    codeField,
    recoveryField,
    h("div", { class: "actions" }, toggle, h("span", { class: "spacer" })),
    h("div", { class: "actions end" }, cancelLogin(), submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = recoveryField.hidden ? { code: code.value.trim() } : { recovery_code: recovery.value.trim() };
    busy(
      submit,
      async () => afterStage(await api("POST", "/api/v1/auth/mfa", { json: body, on401: false })),
      (e) => {
        err.set(errorText(e));
        if (e.status === 401 && /session/i.test(e.message)) renderLogin();
      },
    );
  });
  authPage(form);
  code.focus();
}

function cancelLogin() {
  const b = h("button", { type: "button", text: t("common.cancel"), testid: "login-cancel" });
  b.addEventListener("click", async () => {
    await api("POST", "/api/v1/auth/logout", { on401: false }).catch(() => {});
    setCsrf("");
    renderLogin();
  });
  return b;
}

/** Setting up TOTP: the secret (and otpauth URI), a first code, then the recovery codes. */
function renderEnrol() {
  const err = formError("enrol-error");
  const startBtn = h("button", { type: "button", class: "primary", text: t("enrol.start"), testid: "enrol-start" });
  const card = h(
    "div",
    { class: "card", testid: "enrol-card" },
    h("h1", { text: t("enrol.title") }),
    h("p", { class: "muted", text: t("enrol.intro") }),
    err,
    h("div", { class: "actions end" }, cancelLogin(), startBtn),
  );
  startBtn.addEventListener("click", () =>
    busy(
      startBtn,
      async () => {
        const e = await api("POST", "/api/v1/auth/mfa/enrol", { on401: false });
        showEnrolment(card, e);
      },
      (e) => err.set(errorText(e)),
    ),
  );
  authPage(card);
  startBtn.focus();
}

function showEnrolment(card, enrolment, cancelButton = cancelLogin) {
  const grouped = enrolment.secret.replace(/(.{4})/g, "$1 ").trim();
  const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", class: "code-input", testid: "enrol-code", required: true });
  const confirm = h("button", { type: "submit", class: "primary", text: t("enrol.confirm"), testid: "enrol-confirm" });
  const err = formError("enrol-error");
  const form = h(
    "form",
    { novalidate: true },
    h("h1", { text: t("enrol.title") }),
    h("p", { text: t("enrol.step1") }),
    h("div", { class: "qr", testid: "enrol-qr" }, qrCanvas(enrolment.otpauth_uri, { scale: 4, label: t("enrol.qr") })),
    field(t("enrol.secret"), h("div", { class: "secret-box", testid: "enrol-secret", "data-secret": enrolment.secret, text: grouped, tabindex: "0" })),
    h(
      "details",
      {},
      h("summary", { text: t("enrol.uri") }),
      h("div", { class: "secret-box small", testid: "enrol-uri", text: enrolment.otpauth_uri }),
    ),
    h("hr", { class: "divider" }),
    h("p", { text: t("enrol.step2") }),
    err,
    field(t("mfa.code"), code),
    h("div", { class: "actions end" }, cancelButton(), confirm),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(
      confirm,
      async () => {
        const r = await api("POST", "/api/v1/auth/mfa/confirm", { json: { code: code.value.trim() }, on401: false });
        showRecoveryCodes(card, r.recovery_codes);
      },
      (e) => err.set(errorText(e)),
    );
  });
  mount(card, form);
  code.focus();
}

function showRecoveryCodes(card, codes) {
  const cont = h("button", { type: "button", class: "primary", text: t("enrol.continue"), testid: "enrol-continue" });
  const list = h("div", { class: "codes", testid: "recovery-codes" }, codes.map((c) => h("span", { text: c })));
  const ack = h("input", { type: "checkbox", testid: "recovery-saved" });
  cont.disabled = true;
  ack.addEventListener("change", () => (cont.disabled = !ack.checked));
  cont.addEventListener("click", () =>
    busy(cont, async () => {
      const s = await api("GET", "/api/v1/auth/session", { on401: false });
      afterStage(s);
    }),
  );
  mount(
    card,
    h("h1", { text: t("enrol.codesTitle") }),
    h("p", { class: "notice warn", text: t("enrol.codesIntro") }),
    list,
    h("label", { class: "check" }, ack, h("span", { text: t("enrol.codesSaved") })),
    h("div", { class: "actions end" }, cont),
  );
  ack.focus();
}

// ---------- dashboard ----------

const STATUSES = ["draft", "sent", "completed", "declined", "voided", "expired"];

async function renderDashboard(c, el) {
  const me = c.user;
  const stats = h("div", { class: "grid grid-stats", testid: "envelope-stats" });
  const waiting = h("div", { testid: "waiting-for-me" }, h("p", { class: "muted", text: t("common.loading") }));
  const recent = h("div", { testid: "recent-activity" }, h("p", { class: "muted", text: t("common.loading") }));
  mount(
    el,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", { text: t("dash.hello", { name: me.display_name }) }), h("p", { text: t("dash.intro") })),
      c.can("sendEnvelopes") ? link("envelopes/new", t("nav.newEnvelope"), { class: "button primary", testid: "dash-new-envelope" }) : null,
    ),
    stats,
    h("div", { class: "grid grid-2" }, h("section", { class: "card" }, h("h2", { text: t("dash.waiting") }), waiting), h("section", { class: "card" }, h("h2", { text: t("dash.recent") }), recent)),
  );
  const nums = {};
  for (const s of STATUSES) {
    nums[s] = h("div", { class: "num", text: "…" });
    stats.append(h("a", { class: "stat", href: `${BASE}envelopes?status=${s}`, "data-link": "", testid: `stat-${s}`, "data-status": s }, nums[s], h("div", { class: "label" }, t(`status.${s}`))));
  }
  api("GET", "/api/v1/envelopes/counts")
    .then((counts) => {
      for (const s of STATUSES) nums[s].textContent = String(counts[s] || 0);
    })
    .catch(() => {
      // a server without the counts: the first page of each status
      for (const s of STATUSES) {
        api("GET", `/api/v1/envelopes${query({ status: s, limit: 100 })}`)
          .then((r) => (nums[s].textContent = `${r.items.length}${r.next ? "+" : ""}`))
          .catch(() => (nums[s].textContent = "—"));
      }
    });
  try {
    const sent = await api("GET", `/api/v1/envelopes${query({ status: "sent", limit: 100 })}`);
    const candidates = sent.items.filter((e) =>
      (e.parties || []).some(
        (p) => p.status === "notified" && (p.user_id === me.id || (p.user_id === undefined && (p.name === me.display_name || (me.email && p.email === me.email)))),
      ),
    );
    const mine = [];
    for (const e of candidates.slice(0, 20)) {
      const full = await api("GET", `/api/v1/envelopes/${encodeURIComponent(e.id)}`);
      if (full.parties.some((p) => p.user_id === me.id && p.status === "notified")) mine.push(full);
    }
    mount(
      waiting,
      mine.length
        ? h("ul", { class: "parties" }, mine.map((e) => h("li", {}, h("span", { class: "grow" }, link(`envelopes/${e.id}`, e.title)), h("span", { class: "small muted", text: fmtTime(e.updated_at) }))))
        : h("p", { class: "muted", text: t("dash.nothingWaiting") }),
    );
    const all = await api("GET", `/api/v1/envelopes${query({ limit: 8 })}`);
    mount(
      recent,
      all.items.length
        ? h(
            "ul",
            { class: "parties" },
            all.items.map((e) => h("li", {}, h("span", { class: "grow" }, link(`envelopes/${e.id}`, e.title)), statusBadge(e.status), h("span", { class: "small muted", text: fmtTime(e.updated_at) }))),
          )
        : h("p", { class: "muted", text: t("dash.noEnvelopes") }),
    );
  } catch (e) {
    const msg = e.status === 404 ? t("dash.envelopesUnavailable") : errorText(e);
    mount(waiting, h("p", { class: "muted", text: msg }));
    mount(recent, h("p", { class: "muted", text: msg }));
  }
}

// ---------- documents ----------

// The server keeps no file name for an upload: this browser remembers the names (and page
// counts) of what it uploaded, to show them in the tenant's list.

function localDocsKey() {
  return `signet.docs.${session.user.tenant_id}`;
}

export function rememberDocument(doc) {
  try {
    const key = localDocsKey();
    const list = JSON.parse(localStorage.getItem(key) || "[]").filter((d) => d.id !== doc.id);
    list.unshift(doc);
    localStorage.setItem(key, JSON.stringify(list.slice(0, 200)));
  } catch {
    // the names are a convenience
  }
}

/** What this browser remembers of its uploads, by document id. */
function rememberedDocuments() {
  try {
    const list = JSON.parse(localStorage.getItem(localDocsKey()) || "[]");
    return new Map(list.filter((d) => d && d.id).map((d) => [d.id, d]));
  } catch {
    return new Map();
  }
}

/**
 * A page of the tenant's documents, newest first (`GET /api/v1/documents`): `{items, next}`,
 * each item `{root_id, version, latest, name, page_count}` with the name (the stored one, else
 * the one this browser remembers, else none) and, when known, the page count of its latest
 * version.
 */
export async function listDocuments({ before, limit = 50 } = {}) {
  const r = await api("GET", `/api/v1/documents${query({ before, limit })}`);
  const known = rememberedDocuments();
  const items = (r.items || []).map((line) => {
    const mine = known.get(line.latest.id);
    const root = known.get(line.root_id);
    return { ...line, name: line.latest.name || (mine && mine.name) || (root && root.name) || "", page_count: mine ? mine.page_count : undefined };
  });
  return { items, next: r.next || null };
}

/** Uploads a PDF file as a stored document; answers `{id, sha256, size, page_count}`. */
export async function uploadPdf(file) {
  const doc = await api("POST", `/api/v1/documents?name=${encodeURIComponent(file.name || "")}`, { body: file, type: "application/pdf" });
  rememberDocument({ id: doc.id, name: file.name, page_count: doc.page_count, size: doc.size, at: Date.now() });
  return doc;
}
ctx.uploadPdf = uploadPdf;
ctx.listDocuments = listDocuments;

const DOCS_PAGE = 50;

/** A document kind (`upload`, `signed`) in words. */
function docKind(kind) {
  return kind === "upload" || kind === "signed" ? t(`docs.kind.${kind}`) : kind || "—";
}

async function renderDocuments(c, el, params) {
  if (params.id) return renderDocument(c, el, params.id);
  const list = h("div", {});
  const more = h("button", { type: "button", text: t("common.more"), testid: "doc-more" });
  more.hidden = true;
  const openId = h("input", { type: "text", placeholder: "doc_…", testid: "doc-open-id", "aria-label": t("docs.openById") });
  const openForm = h("form", { class: "row" }, openId, h("button", { type: "submit", text: t("docs.open") }));
  openForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (openId.value.trim()) navigate(`documents/${encodeURIComponent(openId.value.trim())}`);
  });
  const rows = h("tbody", {});
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { testid: "doc-list" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { text: t("docs.name") }),
          h("th", { text: t("docs.version") }),
          h("th", { text: t("docs.kind") }),
          h("th", { text: t("docs.size") }),
          h("th", { text: t("docs.changed") }),
          h("th", {}, h("span", { class: "visually-hidden", text: t("common.actions") })),
        ),
      ),
      rows,
    ),
  );
  const row = (d) =>
    h(
      "tr",
      { testid: "doc-row", "data-id": d.latest.id, "data-root": d.root_id },
      h("td", {}, link(`documents/${encodeURIComponent(d.latest.id)}`, d.name || d.latest.id), d.name ? h("div", { class: "small muted mono", text: d.latest.id }) : null),
      h("td", { text: String(d.version) }),
      h("td", { text: docKind(d.latest.kind) }),
      h("td", { text: fmtBytes(d.latest.size) }),
      h("td", { text: fmtTime(d.latest.created_at) }),
      h("td", {}, h("a", { class: "button small", href: `/api/v1/documents/${encodeURIComponent(d.latest.id)}/content`, download: d.name || `${d.latest.id}.pdf`, text: t("common.download") })),
    );
  let cursor = null;
  let generation = 0;
  /** The first page again, or (`next`) the page after those shown. */
  const load = async (next) => {
    const gen = next ? generation : ++generation;
    if (!next) {
      cursor = null;
      more.hidden = true;
      rows.replaceChildren();
      mount(list, h("p", { class: "muted", text: t("common.loading") }));
    }
    const page = await listDocuments({ before: next ? cursor : undefined, limit: DOCS_PAGE });
    if (gen !== generation) return;
    if (!next) mount(list, page.items.length ? table : h("p", { class: "empty", testid: "doc-none", text: t("docs.none") }));
    rows.append(...page.items.map(row));
    cursor = page.next;
    more.hidden = !cursor;
  };
  const loadFirst = () => load(false).catch((e) => mount(list, h("p", { class: "empty", text: errorText(e) })));
  more.addEventListener("click", () => busy(more, () => load(true)));
  const upload = c.can("signDocument")
    ? dropZone({
        accept: "application/pdf,.pdf",
        label: t("docs.uploadLabel"),
        testid: "doc-upload",
        inputTestid: "doc-upload-input",
        onFile: async (file) => {
          try {
            const doc = await uploadPdf(file);
            toast(t("docs.uploaded1", { pages: doc.page_count }), "ok");
            loadFirst();
          } catch (e) {
            showError(e);
          }
        },
      })
    : null;
  mount(
    el,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("nav.documents") }), h("p", { text: t("docs.intro") }))),
    upload ? h("section", { class: "card" }, upload) : null,
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", { text: t("docs.all") }), openForm), list, h("div", { class: "pager" }, h("span", {}), more)),
  );
  loadFirst();
}

async function renderDocument(c, el, id) {
  const versions = await api("GET", `/api/v1/documents/${encodeURIComponent(id)}/versions`).catch((e) => {
    if (e.status === 400) return null;
    throw e;
  });
  const rec = await api("GET", `/api/v1/documents/${encodeURIComponent(id)}`).catch(() => null);
  const viewer = h("div", {});
  mount(
    el,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("docs.document") }), h("p", { class: "mono", text: id })), link("documents", t("common.back"), { class: "button" })),
    rec
      ? h(
          "section",
          { class: "card" },
          h("dl", { class: "kv" }, h("dt", { text: t("docs.kind") }), h("dd", { text: docKind(rec.kind) }), h("dt", { text: t("docs.size") }), h("dd", { text: fmtBytes(rec.size) }), h("dt", { text: "SHA-256" }), h("dd", { class: "mono small", text: rec.sha256 }), h("dt", { text: t("docs.uploaded") }), h("dd", { text: fmtTime(rec.created_at) })),
        )
      : null,
    versions
      ? h(
          "section",
          { class: "card" },
          h("h2", { text: t("docs.versions") }),
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { testid: "doc-versions" },
              h("thead", {}, h("tr", {}, h("th", { text: "#" }), h("th", { text: "ID" }), h("th", { text: t("docs.kind") }), h("th", { text: t("docs.size") }), h("th", { text: t("docs.uploaded") }), h("th", {}, h("span", { class: "visually-hidden", text: t("common.actions") })))),
              h(
                "tbody",
                {},
                versions.map((v) =>
                  h(
                    "tr",
                    {},
                    h("td", { text: v.version }),
                    h("td", { class: "mono small", text: v.document.id }),
                    h("td", { text: docKind(v.document.kind) }),
                    h("td", { text: fmtBytes(v.document.size) }),
                    h("td", { text: fmtTime(v.document.created_at) }),
                    h("td", {}, h("a", { class: "button small", href: `/api/v1/documents/${encodeURIComponent(v.document.id)}/content`, download: `${v.document.id}.pdf`, text: t("common.download"), testid: `doc-download-${v.version}` })),
                  ),
                ),
              ),
            ),
          ),
        )
      : null,
    h("section", { class: "card" }, h("h2", { text: t("docs.preview") }), viewer),
  );
  pageViewer(viewer, id);
}

/** A one-page-at-a-time viewer of a stored document. */
export async function pageViewer(el, docId) {
  let n = 1;
  let count = 1;
  const img = h("img", { alt: "", testid: "doc-page-image" });
  const stage = h("div", { class: "page-stage" }, img);
  const label = h("span", { class: "small muted", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "small", text: t("place.prevPage"), "aria-label": t("place.prevPage") });
  const next = h("button", { type: "button", class: "small", text: t("place.nextPage"), "aria-label": t("place.nextPage") });
  const show = async () => {
    try {
      const info = await api("GET", `/api/v1/documents/${encodeURIComponent(docId)}/pages/${n}`);
      count = info.page_count;
      label.textContent = t("place.pageOf", { n, count });
      img.alt = t("place.pageOf", { n, count });
      prev.disabled = n <= 1;
      next.disabled = n >= count;
      await loadImage(img, `/api/v1/documents/${encodeURIComponent(docId)}/pages/${n}/image?dpi=110`);
    } catch (e) {
      mount(stage, h("p", { class: "empty", text: errorText(e) }));
    }
  };
  prev.addEventListener("click", () => {
    if (n > 1) {
      n -= 1;
      show();
    }
  });
  next.addEventListener("click", () => {
    if (n < count) {
      n += 1;
      show();
    }
  });
  mount(el, h("div", { class: "page-toolbar" }, prev, label, next), stage);
  show();
}
ctx.pageViewer = pageViewer;

// ---------- account ----------

async function renderAccount(c, el) {
  const u = c.user;
  const current = h("input", { type: "password", autocomplete: "current-password", required: true, testid: "pw-current" });
  const next = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: "12", testid: "pw-new" });
  const save = h("button", { type: "submit", class: "primary", text: t("account.changePassword"), testid: "pw-submit" });
  const err = formError("pw-error");
  const form = h("form", { class: "card" }, h("h2", { text: t("account.password") }), err, field(t("account.currentPassword"), current), field(t("account.newPassword"), next, t("account.passwordHint")), h("div", { class: "actions end" }, save));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(
      save,
      async () => {
        await api("POST", "/api/v1/auth/password", { json: { current: current.value, new: next.value } });
        current.value = "";
        next.value = "";
        err.set("");
        toast(t("account.passwordChanged"), "ok");
      },
      (e) => err.set(errorText(e)),
    );
  });
  const mfaCard = h("section", { class: "card", testid: "account-mfa" }, h("h2", { text: t("account.mfa") }));
  if (u.mfa_enabled) {
    mfaCard.append(h("p", {}, statusBadge("active"), " ", t("account.mfaOn")));
  } else {
    const start = h("button", { type: "button", class: "primary", text: t("enrol.start"), testid: "account-enrol" });
    const box = h("div", {});
    start.addEventListener("click", () =>
      busy(start, async () => {
        const e = await api("POST", "/api/v1/auth/mfa/enrol");
        start.hidden = true;
        showEnrolment(box, e, () => {
          const b = h("button", { type: "button", text: t("common.cancel"), testid: "enrol-cancel" });
          b.addEventListener("click", () => {
            mount(box);
            start.hidden = false;
            start.focus();
          });
          return b;
        });
      }),
    );
    mfaCard.append(h("p", { class: "muted", text: t("account.mfaOff") }), start, box);
  }
  mount(
    el,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("nav.account") }))),
    h(
      "section",
      { class: "card" },
      h(
        "dl",
        { class: "kv" },
        h("dt", { text: t("users.username") }),
        h("dd", { text: u.username }),
        h("dt", { text: t("users.displayName") }),
        h("dd", { text: u.display_name }),
        h("dt", { text: t("users.email") }),
        h("dd", { text: u.email || "—" }),
        h("dt", { text: t("users.roles") }),
        h("dd", {}, u.roles.length ? u.roles.map((r) => [h("span", { class: "badge", text: t(`role.${r}`) }), " "]) : "—"),
      ),
    ),
    form,
    mfaCard,
  );
}

