// The public verification page (/verify): a PDF in (file input or drop), POST /api/v1/verify,
// the report out: the document's verdict, then each signature and document timestamp.

import { api, brand, dropZone, errorText, fmtBytes, h, language, languageSwitch, mount, pickLanguage, t, translateStatic } from "./common.js";

const app = document.getElementById("app");
let lastFile = null;
let lastReport = null;
let lastError = null;

pickLanguage();
translateStatic();
draw();

function draw() {
  document.title = `${t("verify.title")} · Signet`;
  const password = h("input", { type: "password", autocomplete: "off", testid: "verify-password", id: "verify-password" });
  const zone = dropZone({ accept: "application/pdf,.pdf", label: t("verify.dropLabel"), testid: "verify-drop", inputTestid: "verify-file", onFile: (f) => run(f, password.value) });
  const result = h("div", { testid: "verify-result", "aria-live": "polite" });
  mount(
    app,
    h("header", { class: "topbar" }, brand("/verify", t("verify.title")), h("span", { class: "spacer" }), languageSwitch(draw), h("a", { class: "small", href: "/console/", text: t("verify.console") })),
    h(
      "main",
      { id: "main", class: "verify-wrap", tabindex: "-1" },
      h("h1", { text: t("verify.heading") }),
      h("p", { class: "muted", text: t("verify.intro") }),
      h("section", { class: "card" }, zone, h("details", {}, h("summary", { class: "small", text: t("verify.encrypted") }), h("div", { class: "field" }, h("label", { for: "verify-password", text: t("verify.password") }), password))),
      result,
    ),
  );
  if (lastReport) showReport(result, lastFile, lastReport);
  else if (lastError) showError(result, lastError);
  app.result = result;
}

async function run(file, password) {
  const result = app.result;
  lastFile = { name: file.name, size: file.size };
  lastReport = null;
  lastError = null;
  mount(result, h("div", { class: "card", testid: "verify-busy" }, h("span", { class: "spinner", "aria-hidden": "true" }), " ", t("verify.checking", { name: file.name })));
  try {
    const headers = password ? { "X-Pdf-Password": password } : {};
    lastReport = await api("POST", "/api/v1/verify", { body: file, type: "application/pdf", headers, on401: false });
    showReport(result, lastFile, lastReport);
  } catch (e) {
    lastError = e;
    showError(result, e);
  }
}

function showError(result, e) {
  mount(result, h("div", { class: "card" }, h("p", { class: "form-error", role: "alert", testid: "verify-error", text: errorText(e) })));
}

const VERDICT_ICON = { valid: "✓", invalid: "✕", indeterminate: "?" };

function showReport(result, file, report) {
  const verdict = report.verdict || (report.valid ? "valid" : "invalid");
  const count = (report.signatures || []).length;
  mount(
    result,
    h(
      "div",
      { class: `verdict ${verdict}`, testid: "verify-verdict", "data-verdict": verdict, role: "status" },
      h("div", { class: "icon", "aria-hidden": "true", text: VERDICT_ICON[verdict] || "?" }),
      h("div", {}, h("div", { class: "big", text: t(`verdict.${verdict}`) }), h("div", { text: t(`verdict.${verdict}.text`) }), h("div", { class: "small", text: `${file.name} · ${fmtBytes(report.file_size ?? file.size)} · ${t("verify.signatureCount", { count })}` })),
    ),
    count ? (report.signatures || []).map((s, i) => signatureCard(s, i)) : h("div", { class: "card empty", testid: "verify-none", text: t("verify.none") }),
  );
}

function mark(ok, warn = false) {
  return ok ? ["ok", "✓"] : warn ? ["warn", "!"] : ["bad", "✕"];
}

function row(label, state, detail, testid) {
  const [cls, sym] = state;
  return h("li", { class: cls, testid, "data-state": cls }, h("span", { class: "mark", "aria-hidden": "true", text: sym }), h("span", { class: "what", text: label }), h("span", { class: "detail" }, h("span", { class: "visually-hidden", text: `${t(`check.${cls}`)}: ` }), detail));
}

function signatureCard(s, i) {
  const isTimestamp = s.kind === "document-timestamp";
  const coverage = s.coverage;
  const rev = (s.revocation && s.revocation.status) || "not-checked";
  const ts = s.timestamp;
  const revState = rev === "good" || rev === "not-applicable" ? mark(true) : rev === "revoked" ? mark(false) : mark(false, true);
  const coverageState = coverage === "whole" || coverage === "permitted-changes" ? mark(true) : coverage === "modified" ? mark(false) : mark(false, true);
  const checks = h(
    "ul",
    { class: "checklist" },
    row(t("verify.integrity"), mark(s.intact), s.intact ? t("verify.intactYes") : t("verify.intactNo"), `sig-${i}-integrity`),
    row(t("verify.chain"), mark(s.trusted, true), s.trusted ? t("verify.trustedYes") : t("verify.trustedNo"), `sig-${i}-trust`),
    row(t("verify.revocation"), revState, `${t(`revocation.${rev}`)}${s.revocation && s.revocation.certificates && s.revocation.certificates[0] && s.revocation.certificates[0].source ? ` (${s.revocation.certificates[0].source})` : ""}`, `sig-${i}-revocation`),
    row(
      t("verify.timestamp"),
      ts ? mark(ts.intact && ts.trusted, ts.intact) : mark(false, true),
      ts ? `${fmtInstant(ts.gen_time)} · ${ts.tsa_subject || "—"}${ts.intact && ts.trusted ? "" : ` · ${t("verify.timestampProblem")}`}` : t("verify.noTimestamp"),
      `sig-${i}-timestamp`,
    ),
    row(t("verify.coverage"), coverageState, t(`coverage.${coverage || "unknown"}`), `sig-${i}-coverage`),
  );
  return h(
    "section",
    { class: "card", testid: `sig-${i}`, "data-verdict": s.verdict },
    h("div", { class: "card-head" }, h("h2", { text: `${i + 1}. ${isTimestamp ? t("verify.docTimestamp") : t("verify.signature")}` }), h("span", { class: `badge ${s.verdict === "valid" ? "ok" : s.verdict === "invalid" ? "bad" : "warn"}`, text: t(`verdict.${s.verdict}`) })),
    h(
      "dl",
      { class: "kv" },
      h("dt", { text: isTimestamp ? t("verify.tsa") : t("verify.signer") }),
      h("dd", { testid: `sig-${i}-signer`, text: s.signer_subject || "—" }),
      h("dt", { text: t("verify.time") }),
      signingTime(s, i),
      !isTimestamp ? h("dt", { text: t("verify.level") }) : null,
      !isTimestamp ? h("dd", { testid: `sig-${i}-level`, text: s.level ? `PAdES ${s.level}` : "—" }) : null,
      s.reason ? h("dt", { text: t("verify.reason") }) : null,
      s.reason ? h("dd", { text: s.reason }) : null,
      s.certification ? h("dt", { text: t("verify.certification") }) : null,
      s.certification ? h("dd", { text: t(`verify.docmdp${s.certification}`) }) : null,
      h("dt", { text: t("verify.field") }),
      h("dd", { class: "small" }, h("span", { class: "mono", text: s.field }), ` · ${s.sub_filter}${s.digest_algorithm ? ` · ${s.digest_algorithm}` : ""}`),
    ),
    h("hr", { class: "divider" }),
    checks,
    s.reasons && s.reasons.length ? h("ul", { class: "reasons", testid: `sig-${i}-reasons` }, s.reasons.map((r) => h("li", { text: r }))) : null,
    s.notes && s.notes.length ? h("ul", { class: "notes small" }, s.notes.map((r) => h("li", { text: r }))) : null,
  );
}

/** The signing time: proven (by a timestamp), else the time the signer claims, in words. */
function signingTime(s, i) {
  const testid = `sig-${i}-time`;
  if (s.signature_time) return h("dd", { testid, "data-proven": "true", text: fmtInstant(s.signature_time) });
  if (!s.claimed_signing_time) return h("dd", { testid, text: "—" });
  const raw = s.claimed_signing_time;
  const when = parsePdfDate(raw);
  const text = when ? fmtInstant(when.ms, { zone: when.zoned }) : raw;
  return h("dd", { testid, "data-proven": "false", title: raw }, `${text} (${t("verify.claimed")})`);
}

/**
 * An instant (Unix milliseconds or an RFC 3339 string) as a local date and time, to the second,
 * with the time zone unless `zone` is false (a wall-clock time whose offset is unknown). Text
 * that is not a time comes back as it is.
 */
export function fmtInstant(value, { zone = true } = {}) {
  if (value === null || value === undefined || value === "") return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const options = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" };
  if (zone) options.timeZoneName = "short";
  return d.toLocaleString(language() === "zh" ? "zh-CN" : "en-GB", options);
}

const PDF_DATE = /^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz+-])(?:(\d{2})(?:'(\d{2})?'?|(\d{2}))?)?)?'?$/;

/**
 * A PDF date (`D:YYYYMMDDHHmmSSOHH'mm'`, everything after the year optional; `O` is `Z`, `+`
 * or `-`) as `{ms, zoned}`: the instant in Unix milliseconds and whether the date said its
 * offset from UT. Without an offset the relation to UT is unknown: the date is taken as the
 * reader's local wall-clock time, shown as written. Null when it is no such date.
 */
export function parsePdfDate(text) {
  const m = PDF_DATE.exec(String(text || "").trim());
  if (!m) return null;
  const num = (v, dflt) => (v === undefined ? dflt : Number(v));
  const [year, month, day, hour, minute, second] = [num(m[1]), num(m[2], 1), num(m[3], 1), num(m[4], 0), num(m[5], 0), num(m[6], 0)];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate(); // in that month
  if (day > days) return null;
  if (!m[7]) {
    const local = new Date(year, month - 1, day, hour, minute, second);
    local.setFullYear(year); // years 0–99 are not 1900–1999
    return { ms: local.getTime(), zoned: false };
  }
  const offHours = num(m[8], 0);
  const offMinutes = num(m[9] ?? m[10], 0);
  if (offHours > 23 || offMinutes > 59) return null;
  const sign = m[7] === "-" ? -1 : 1;
  const offset = m[7] === "Z" || m[7] === "z" ? 0 : sign * (offHours * 60 + offMinutes);
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  utc.setUTCFullYear(year);
  return { ms: utc.getTime() - offset * 60000, zoned: true };
}
