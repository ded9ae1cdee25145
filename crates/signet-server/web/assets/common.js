// What every page shares: the language, an element builder, the API client, dialogs, toasts
// and formatting. No framework: elements are built with `h()` and replaced on each render.

import { messages } from "./i18n.js";

const LANG_KEY = "signet.lang";
export const LANGUAGES = [
  ["en", "English"],
  ["zh", "中文"],
];
let lang = "en";

/** The language: `?lang=`, then the saved choice, then the browser's. */
export function pickLanguage() {
  const fromQuery = new URLSearchParams(location.search).get("lang");
  let saved = null;
  try {
    saved = localStorage.getItem(LANG_KEY);
  } catch {
    // storage may be off: the browser's language then
  }
  const browser = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
  const pick = [fromQuery, saved, browser].find((l) => l === "en" || l === "zh") || "en";
  setLanguage(pick, Boolean(fromQuery));
  return lang;
}

export function setLanguage(l, save = true) {
  lang = l === "zh" ? "zh" : "en";
  if (save) {
    try {
      localStorage.setItem(LANG_KEY, lang);
    } catch {
      // not saved: the choice lasts for this page only
    }
  }
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

export function language() {
  return lang;
}

/** The string `key` in the current language, with `{name}` holes filled from `vars`. */
export function t(key, vars) {
  const entry = messages[key];
  let s = entry ? entry[lang === "zh" ? 1 : 0] : key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }
  return s;
}

/** Translates the static `data-i18n` texts of a page shell. */
export function translateStatic(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

/**
 * Builds an element. `attrs`: `class`, `text`, `on: {event: fn}`, `style: {prop: value}` (CSSOM,
 * allowed by the CSP), DOM properties (`value`, `checked`, `disabled`…) and attributes.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "style") for (const [p, val] of Object.entries(v)) el.style.setProperty(p, val);
    else if (["value", "checked", "disabled", "selected", "multiple", "indeterminate"].includes(k)) el[k] = v;
    else if (k === "testid") el.setAttribute("data-testid", v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
export function uid(prefix = "f") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field: `<label>` + control (+ hint). */
export function field(labelText, control, hint) {
  if (!control.id) control.id = uid();
  const hintEl = hint ? h("span", { class: "hint", id: `${control.id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id, text: labelText }), control, hintEl);
}

export function checkbox(labelText, attrs = {}) {
  const input = h("input", { type: "checkbox", ...attrs });
  return h("label", { class: "check" }, input, h("span", { text: labelText }));
}

export function select(options, attrs = {}) {
  const el = h("select", attrs);
  for (const [value, label] of options) el.append(h("option", { value, text: label }));
  if (attrs.value !== undefined) el.value = attrs.value;
  return el;
}

/** The language switch of every page; `onChange` renders again. */
export function languageSwitch(onChange) {
  const sel = select(LANGUAGES, { "aria-label": t("common.language"), testid: "lang-switch", value: lang });
  sel.addEventListener("change", () => {
    setLanguage(sel.value);
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.delete("lang");
      history.replaceState(history.state, "", url);
    }
    onChange();
  });
  return h("span", { class: "lang-switch" }, sel);
}

export function brand(href, subtitle) {
  return h(
    "a",
    { class: "brand", href, "aria-label": "Signet" },
    h("img", { class: "brand-mark", src: "/assets/favicon.svg", alt: "" }),
    h("span", { text: "Signet" }),
    subtitle ? h("small", { text: subtitle }) : null,
  );
}

// ---------- the API ----------

let csrfToken = "";
export function setCsrf(token) {
  csrfToken = token || "";
}

// headers sent with every call (an embedded signer view's session: a frame of another site
// may not get cookies)
const sessionHeaders = {};
export function setSessionHeader(name, value) {
  sessionHeaders[name] = value;
}

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The error answer's text: `{error: {code, message}}` or `{error, message}`. */
function errorOf(status, body) {
  if (body && typeof body === "object") {
    const e = body.error;
    if (e && typeof e === "object") return new ApiError(status, e.code || "", e.message || e.code || "", body);
    return new ApiError(status, typeof e === "string" ? e : "", body.message || e || `HTTP ${status}`, body);
  }
  return new ApiError(status, "", `HTTP ${status}`, body);
}

/**
 * Calls the API. `opts.json` is sent as JSON, `opts.body` as is (with `opts.type`);
 * `opts.raw` answers the Response (for images and files). Requests that change something
 * carry the CSRF token.
 */
export async function api(method, path, opts = {}) {
  const headers = { Accept: "application/json", ...sessionHeaders, ...(opts.headers || {}) };
  let body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    body = opts.body;
    if (opts.type) headers["Content-Type"] = opts.type;
  }
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let res;
  try {
    res = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "network", t("common.networkError"), null);
  }
  if (!res.ok) {
    let payload = null;
    try {
      payload = await res.json();
    } catch {
      // not JSON: the status says enough
    }
    const err = errorOf(res.status, payload);
    if (res.status === 401 && opts.on401 !== false) unauthorized(err);
    throw err;
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

let onUnauthorized = () => {};
/** What a 401 does (the console shows its login). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}
function unauthorized(err) {
  onUnauthorized(err);
}

/** A query string from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// ---------- feedback ----------

export function toast(message, kind = "") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = h("div", { class: `toast ${kind}`, text: message, testid: "toast" });
  box.append(el);
  setTimeout(() => el.remove(), kind === "bad" ? 8000 : 4000);
}

export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 403) return `${t("common.forbidden")} ${e.message || ""}`.trim();
    return e.message || `HTTP ${e.status}`;
  }
  return String(e && e.message ? e.message : e);
}

export function showError(e) {
  toast(errorText(e), "bad");
}

/** An inline error box for a form (empty to hide). */
export function formError(testid) {
  const el = h("div", { class: "form-error", role: "alert", testid, hidden: true });
  el.set = (msg) => {
    el.textContent = msg || "";
    el.hidden = !msg;
  };
  return el;
}

/** Runs `fn` with `button` disabled and a spinner; errors go to `onError` (default: a toast). */
export async function busy(button, fn, onError = showError) {
  const was = button ? button.disabled : false;
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    return await fn();
  } catch (e) {
    onError(e);
    return undefined;
  } finally {
    if (button) {
      button.disabled = was;
      button.removeAttribute("aria-busy");
    }
  }
}

/**
 * A modal dialog with a form. `build(form)` returns the body; resolves with `collect()`'s
 * value when the form is submitted (Enter or the OK button), `null` when cancelled.
 */
export function modal({ title, body, okText, danger = false, testid = "dialog", collect = () => true, wide = false }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const ok = h("button", {
      type: "submit",
      class: danger ? "primary danger-action" : "primary",
      text: okText || t("common.ok"),
      testid: `${testid}-ok`,
    });
    const cancel = h("button", { type: "button", text: t("common.cancel"), testid: `${testid}-cancel` });
    const err = formError(`${testid}-error`);
    const form = h(
      "form",
      { method: "dialog", novalidate: true },
      h("h2", { id: titleId, text: title }),
      err,
      body,
      h("div", { class: "actions end" }, cancel, ok),
    );
    const dlg = h("dialog", { "aria-labelledby": titleId, testid, class: wide ? "wide" : "" }, form);
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      let v;
      try {
        v = collect(form);
      } catch (e) {
        err.set(e.message);
        return;
      }
      if (v === undefined) return;
      finish(v);
    });
    form.addEventListener("input", () => err.set(""));
    cancel.addEventListener("click", () => finish(null));
    dlg.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      finish(null);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = form.querySelector("input, select, textarea");
    (first || ok).focus();
  });
}

/** Asks for confirmation; with `reason`, also for a text (required when `reasonRequired`). */
export async function confirmDialog(title, { text, okText, danger, reason, reasonRequired, testid = "confirm" } = {}) {
  const input = reason ? h("textarea", { testid: `${testid}-reason`, required: reasonRequired || undefined }) : null;
  if (input) input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
  const body = h("div", {}, text ? h("p", { text }) : null, input ? field(reason, input) : null);
  const v = await modal({
    title,
    body,
    okText,
    danger,
    testid,
    collect: () => {
      if (input && reasonRequired && !input.value.trim()) {
        input.setAttribute("aria-invalid", "true");
        throw new Error(t("common.required"));
      }
      return input ? input.value.trim() : true;
    },
  });
  return v;
}

/** Shows a secret once, with a copy button. */
export function showSecret(title, intro, secret, testid = "secret") {
  const box = h("div", { class: "secret-box", testid: `${testid}-value`, text: secret });
  const copy = h("button", { type: "button", class: "small", text: t("common.copy") });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      copy.textContent = t("common.copied");
    } catch {
      const r = document.createRange();
      r.selectNodeContents(box);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
    }
  });
  return modal({
    title,
    testid,
    okText: t("common.done"),
    body: h("div", {}, h("p", { class: "notice warn", text: intro }), box, h("div", { class: "actions" }, copy)),
  });
}

// ---------- formatting ----------

export function fmtTime(ms) {
  if (ms === null || ms === undefined || ms === "") return "—";
  const d = new Date(typeof ms === "string" ? ms : Number(ms));
  if (Number.isNaN(d.getTime())) return String(ms);
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function fmtDate(ms) {
  if (ms === null || ms === undefined) return "—";
  return new Date(Number(ms)).toLocaleDateString(lang === "zh" ? "zh-CN" : "en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
  });
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A `datetime-local` value → Unix ms (local time), or undefined. */
export function localToMs(value) {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

const STATUS_TONE = {
  draft: "",
  sent: "info",
  completed: "ok",
  declined: "bad",
  voided: "bad",
  expired: "warn",
  waiting: "",
  notified: "accent",
  signed: "ok",
  approved: "ok",
  skipped: "",
  active: "ok",
  suspended: "warn",
  revoked: "bad",
  disabled: "bad",
  pending: "warn",
  rejected: "bad",
  used: "",
  delivered: "ok",
  failed: "bad",
  ok: "ok",
  refused: "warn",
};

/** A status badge with the status's translation (`status.NAME`) when there is one. */
export function statusBadge(status, testid) {
  const key = `status.${status}`;
  const label = messages[key] ? t(key) : status;
  return h("span", { class: `badge ${STATUS_TONE[status] || ""}`, text: label, testid, "data-status": status });
}

/** A colour per party index (never the seal red: that is the accent). */
export const PARTY_COLOURS = ["#2563eb", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#4d7c0f", "#b45309"];
export function partyColour(i) {
  return PARTY_COLOURS[i % PARTY_COLOURS.length];
}
export function tint(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
export function setPartyColour(el, i) {
  el.style.setProperty("--party", partyColour(i));
  el.style.setProperty("--party-bg", tint(partyColour(i), 0.14));
  return el;
}

/** A file picked from an `<input type=file>` or dropped on `zone`. */
export function dropZone({ accept, label, testid, onFile, inputTestid }) {
  const input = h("input", { type: "file", accept, class: "visually-hidden", testid: inputTestid });
  const inputId = uid("file");
  input.id = inputId;
  const choose = h("label", { for: inputId, class: "button", text: t("common.chooseFile") });
  const zone = h(
    "div",
    { class: "dropzone", testid },
    h("p", {}, h("strong", { text: label })),
    h("p", { class: "small", text: t("common.dropHint") }),
    input,
    choose,
  );
  input.addEventListener("change", () => {
    if (input.files && input.files[0]) onFile(input.files[0]);
    input.value = "";
  });
  zone.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    const f = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
    if (f) onFile(f);
  });
  return zone;
}

/** Loads a page image into `img` from an authenticated URL, as an object URL. */
export async function loadImage(img, url) {
  const res = await api("GET", url, { raw: true, headers: { Accept: "image/png" } });
  const blob = await res.blob();
  if (img.dataset.objectUrl) URL.revokeObjectURL(img.dataset.objectUrl);
  const obj = URL.createObjectURL(blob);
  img.dataset.objectUrl = obj;
  await new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = reject;
    img.src = obj;
  });
  return res;
}

/** A safe return path: one of ours, never another origin. */
export function safeReturn(path) {
  if (!path || typeof path !== "string") return null;
  if (!path.startsWith("/") || path.startsWith("//") || path.includes("\\")) return null;
  if (!(path.startsWith("/sign/") || path.startsWith("/console/"))) return null;
  return path;
}
