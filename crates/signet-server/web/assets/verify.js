// The public verification page (/verify): a PDF in (file input or drop), POST /api/v1/verify,
// the report out: the document's verdict, then each signature and document timestamp.

import { api, brand, dropZone, errorText, fmtBytes, fmtTime, h, languageSwitch, mount, pickLanguage, t, translateStatic } from "./common.js";

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
      ts ? `${fmtTime(ts.gen_time)} · ${ts.tsa_subject || "—"}${ts.intact && ts.trusted ? "" : ` · ${t("verify.timestampProblem")}`}` : t("verify.noTimestamp"),
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
      h("dd", {}, s.signature_time ? fmtTime(s.signature_time) : s.claimed_signing_time ? `${s.claimed_signing_time} (${t("verify.claimed")})` : "—"),
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
