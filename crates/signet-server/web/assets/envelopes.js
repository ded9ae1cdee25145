// Envelopes: the list (status filter, search, pages by cursor), an envelope's detail (parties,
// history, void, remind, downloads) and "sign now" for the current user's own turn.

import {
  api,
  busy,
  confirmDialog,
  errorText,
  field,
  fmtTime,
  formError,
  h,
  loadImage,
  mount,
  query,
  select,
  setPartyColour,
  statusBadge,
  t,
  toast,
} from "./common.js";
import { fieldsOverlay } from "./placement.js";
import { signaturePad } from "./signature-pad.js";

const STATUSES = ["draft", "sent", "completed", "declined", "voided", "expired"];
const PAGE_SIZE = 25;

export async function render(ctx, el, params) {
  if (params && params.id) return renderDetail(ctx, el, params.id);
  return renderList(ctx, el);
}

// ---------- list ----------

async function renderList(ctx, el) {
  const search = new URLSearchParams(location.search);
  const status = select([["", t("env.allStatuses")], ...STATUSES.map((s) => [s, t(`status.${s}`)])], { testid: "env-filter-status", value: search.get("status") || "" });
  const q = h("input", { type: "search", value: search.get("q") || "", testid: "env-search", placeholder: t("env.searchPlaceholder") });
  const go = h("button", { type: "submit", text: t("common.search"), testid: "env-search-submit" });
  const filters = h("form", { class: "form-row", role: "search" }, field(t("env.status"), status), field(t("env.search"), q), h("div", { class: "field" }, h("span", { "aria-hidden": "true", text: "\u00a0" }), go));
  const table = h("div", {});
  const prev = h("button", { type: "button", text: t("common.previous"), testid: "env-prev" });
  const next = h("button", { type: "button", text: t("common.next"), testid: "env-next" });
  const pageInfo = h("span", { class: "small muted" });
  const cursors = [null]; // the `before` of each page seen
  let pageIndex = 0;
  let nextCursor = null;

  async function load() {
    const before = cursors[pageIndex];
    mount(table, h("p", { class: "muted", text: t("common.loading") }));
    try {
      const r = await api("GET", `/api/v1/envelopes${query({ status: status.value, q: q.value.trim(), before, limit: PAGE_SIZE })}`);
      nextCursor = r.next || null;
      prev.disabled = pageIndex === 0;
      next.disabled = !nextCursor;
      pageInfo.textContent = t("common.pageN", { n: pageIndex + 1 });
      mount(table, r.items.length ? listTable(ctx, r.items) : h("p", { class: "empty", testid: "env-empty", text: t("env.none") }));
    } catch (e) {
      mount(table, h("p", { class: "empty", text: e.status === 404 ? t("dash.envelopesUnavailable") : errorText(e) }));
      prev.disabled = true;
      next.disabled = true;
    }
  }
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const url = new URL(location.href);
    url.search = query({ status: status.value, q: q.value.trim() });
    history.replaceState({}, "", url);
    cursors.length = 1;
    pageIndex = 0;
    load();
  });
  status.addEventListener("change", () => filters.requestSubmit());
  prev.addEventListener("click", () => {
    if (pageIndex > 0) {
      pageIndex -= 1;
      load();
    }
  });
  next.addEventListener("click", () => {
    if (!nextCursor) return;
    pageIndex += 1;
    cursors[pageIndex] = nextCursor;
    load();
  });
  mount(
    el,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", { text: t("nav.envelopes") }), h("p", { text: t("env.intro") })),
      ctx.can("sendEnvelopes") ? ctx.link("envelopes/new", t("nav.newEnvelope"), { class: "button primary", testid: "env-new" }) : null,
    ),
    h("section", { class: "card" }, filters),
    h("section", { class: "card" }, table, h("div", { class: "pager" }, prev, pageInfo, next)),
  );
  load();
}

function listTable(ctx, items) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { testid: "env-list" },
      h("thead", {}, h("tr", {}, h("th", { text: t("env.title") }), h("th", { text: t("env.status") }), h("th", { text: t("env.parties") }), h("th", { text: t("env.updated") }), h("th", { text: t("env.expires") }))),
      h(
        "tbody",
        {},
        items.map((e) =>
          h(
            "tr",
            { testid: "env-row", "data-id": e.id, "data-status": e.status },
            h("td", {}, ctx.link(`envelopes/${encodeURIComponent(e.id)}`, e.title || e.id), h("div", { class: "small muted mono", text: e.id })),
            h("td", {}, statusBadge(e.status)),
            h(
              "td",
              { class: "small" },
              (e.parties || []).map((p, i) => h("div", {}, setPartyColour(h("span", { class: "swatch", "aria-hidden": "true" }), i), " ", p.name, " ", statusBadge(p.status))),
            ),
            h("td", { class: "small", text: fmtTime(e.updated_at) }),
            h("td", { class: "small", text: fmtTime(e.expires_at) }),
          ),
        ),
      ),
    ),
  );
}

// ---------- detail ----------

const HISTORY_TONE = { signed: "ok", approved: "ok", completed: "ok", declined: "bad", voided: "bad", expired: "bad", sent: "accent", notified: "accent" };

async function renderDetail(ctx, el, id) {
  const base = `/api/v1/envelopes/${encodeURIComponent(id)}`;
  const [env, history] = await Promise.all([api("GET", base), api("GET", `${base}/history`).catch(() => [])]);
  const me = ctx.user;
  const myTurn = (env.parties || []).find((p) => p.user_id === me.id && p.status === "notified");
  const open = env.status === "sent" || env.status === "draft";
  const reload = () => renderDetail(ctx, el, id);

  const actions = h("div", { class: "actions" });
  if (env.status === "draft") {
    const send = h("button", { type: "button", class: "primary", text: t("env.send"), testid: "env-send" });
    send.addEventListener("click", () =>
      busy(send, async () => {
        await api("POST", `${base}/send`);
        toast(t("wizard.sent"), "ok");
        reload();
      }),
    );
    actions.append(send);
  }
  if (env.status === "sent") {
    const remind = h("button", { type: "button", text: t("env.remind"), testid: "env-remind" });
    remind.addEventListener("click", () =>
      busy(remind, async () => {
        await api("POST", `${base}/remind`);
        toast(t("env.reminded"), "ok");
        reload();
      }),
    );
    actions.append(remind);
  }
  if (open) {
    const voidBtn = h("button", { type: "button", class: "danger", text: t("env.void"), testid: "env-void" });
    voidBtn.addEventListener("click", async () => {
      const reason = await confirmDialog(t("env.voidTitle"), { text: t("env.voidText"), reason: t("env.voidReason"), reasonRequired: true, okText: t("env.void"), testid: "void-dialog" });
      if (reason === null) return;
      busy(voidBtn, async () => {
        await api("POST", `${base}/void`, { json: { reason } });
        toast(t("env.voided"), "ok");
        reload();
      });
    });
    actions.append(voidBtn);
  }
  actions.append(h("a", { class: "button", href: `${base}/document`, download: `${env.title || env.id}.pdf`, testid: "env-download", text: env.status === "completed" ? t("env.downloadFinal") : t("env.downloadCurrent") }));
  if (env.status === "completed") {
    actions.append(h("a", { class: "button", href: `${base}/certificate`, download: `${env.title || env.id}-certificate.pdf`, testid: "env-certificate", text: t("env.certificate") }));
  }

  const signPanel = h("div", { testid: "env-sign-area" });
  let turnNotice = null;
  if (myTurn) {
    const signNow = h("button", { type: "button", class: "primary", text: t("env.signNow"), testid: "env-sign-now" });
    signNow.addEventListener("click", () => {
      signNow.hidden = true;
      mount(signPanel, signNowPanel(ctx, env, myTurn, reload));
      signPanel.scrollIntoView({ behavior: "smooth", block: "start" });
      const first = signPanel.querySelector("h2");
      if (first) {
        first.tabIndex = -1;
        first.focus({ preventScroll: true });
      }
    });
    turnNotice = h("div", { class: "notice", testid: "env-your-turn" }, h("div", { class: "row" }, h("span", { class: "grow", text: t("env.yourTurn") }), signNow));
  }

  const partyIndex = new Map((env.parties || []).map((p, i) => [p.id, i]));
  const sorted = [...(env.parties || [])].sort((a, b) => a.order - b.order);
  const parties = h(
    "ol",
    { class: "parties", testid: "env-parties" },
    sorted.map((p) =>
      setPartyColour(
        h(
          "li",
          { testid: `party-row-${p.id}`, "data-status": p.status },
          h("span", { class: "order", text: String(p.order) }),
          h("span", { class: "swatch", "aria-hidden": "true" }),
          h(
            "span",
            { class: "grow" },
            h("strong", { text: p.name }),
            p.email ? h("span", { class: "small muted", text: ` <${p.email}>` }) : null,
            h("div", { class: "small muted" }, t(`role.party.${p.role}`), " · ", t(`wizard.${p.kind || (p.user_id ? "internal" : "external")}`), p.signed_at ? ` · ${fmtTime(p.signed_at)}` : ""),
            p.decline_reason ? h("div", { class: "small", text: `${t("env.declineReason")}: ${p.decline_reason}` }) : null,
          ),
          statusBadge(p.status),
        ),
        partyIndex.get(p.id),
      ),
    ),
  );

  const timeline = h(
    "ol",
    { class: "timeline", testid: "env-history" },
    (history || []).map((ev) => {
      const byUser = (env.parties || []).find((p) => p.user_id && p.user_id === ev.actor);
      const who = ev.party_id ? (env.parties.find((p) => p.id === ev.party_id) || {}).name : ev.actor === me.id ? me.display_name : byUser ? byUser.name : ev.actor;
      return h(
        "li",
        { class: HISTORY_TONE[ev.kind] || "", "data-kind": ev.kind },
        h("strong", { text: t(`history.${ev.kind}`) }),
        who ? h("span", { class: "muted", text: ` · ${who}` }) : null,
        ev.detail ? h("div", { class: "small muted", text: detailText(ev.detail) }) : null,
        h("time", { text: fmtTime(ev.at) }),
      );
    }),
  );

  const preview = h("div", {});
  mount(
    el,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", { testid: "env-title", text: env.title }), h("p", {}, statusBadge(env.status, "env-status"), " ", h("span", { class: "mono small", text: env.id }))),
      actions,
    ),
    turnNotice,
    signPanel,
    h(
      "div",
      { class: "grid grid-2" },
      h(
        "section",
        { class: "card" },
        h("h2", { text: t("env.details") }),
        h(
          "dl",
          { class: "kv" },
          env.message ? [h("dt", { text: t("wizard.message") }), h("dd", { text: env.message })] : null,
          h("dt", { text: t("env.created") }),
          h("dd", { text: fmtTime(env.created_at) }),
          h("dt", { text: t("env.expires") }),
          h("dd", { text: fmtTime(env.expires_at) }),
          env.completed_at ? [h("dt", { text: env.status === "completed" ? t("env.completed") : t("env.ended") }), h("dd", { text: fmtTime(env.completed_at) })] : null,
          h("dt", { text: t("wizard.reminders") }),
          h("dd", { text: env.reminder_interval_hours ? t("wizard.everyHours", { n: env.reminder_interval_hours }) : t("wizard.noReminders") }),
          env.void_reason ? [h("dt", { text: t("env.voidReason") }), h("dd", { text: env.void_reason })] : null,
        ),
        h("hr", { class: "divider" }),
        h("h3", { text: t("env.parties") }),
        parties,
      ),
      h("section", { class: "card" }, h("h2", { text: t("env.history") }), history && history.length ? timeline : h("p", { class: "muted", text: t("env.noHistory") })),
    ),
    h("section", { class: "card" }, h("h2", { text: t("docs.preview") }), preview),
  );
  // fields already filled show as they are in the PDF, without a frame over them
  const pending = (env.parties || []).filter((p) => !["signed", "approved"].includes(p.status));
  fieldViewer(preview, env.current_document_id || env.document_id, pending, (f) => partyIndex.get(f.partyId) || 0);
}

/** A history entry's particulars as one line: `key: value · …`. */
function detailText(d) {
  if (typeof d !== "object" || d === null) return String(d);
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" · ");
}

/** A page at a time of a stored document, with every party's fields in its colour. */
function fieldViewer(el, docId, parties, colourOf, onlyParty = null) {
  const fields = [];
  for (const p of parties) {
    if (onlyParty && p.id !== onlyParty) continue;
    for (const f of p.fields || []) fields.push({ ...f, partyId: p.id });
  }
  // a party's own view opens at its first field
  let n = onlyParty && fields.length ? Math.min(...fields.map((f) => f.page)) : 1;
  let count = 1;
  const holder = h("div", {});
  const label = h("span", { class: "small muted", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "small", text: t("place.prevPage") });
  const next = h("button", { type: "button", class: "small", text: t("place.nextPage") });
  const show = async () => {
    try {
      const info = await api("GET", `/api/v1/documents/${encodeURIComponent(docId)}/pages/${n}`);
      count = info.page_count;
      label.textContent = t("place.pageOf", { n, count });
      prev.disabled = n <= 1;
      next.disabled = n >= count;
      const img = h("img", { alt: t("place.pageOf", { n, count }) });
      const stage = h("div", { class: "page-stage" }, img);
      mount(holder, stage);
      await loadImage(img, `/api/v1/documents/${encodeURIComponent(docId)}/pages/${n}/image?dpi=110`);
      fieldsOverlay(stage, img, { width: info.width, height: info.height }, fields.filter((f) => f.page === n), colourOf, Boolean(onlyParty));
    } catch (e) {
      mount(holder, h("p", { class: "empty", text: errorText(e) }));
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
  mount(el, h("div", { class: "page-toolbar" }, prev, label, next), holder);
  show();
}

// ---------- sign now (internal party, the current user) ----------

function signNowPanel(ctx, env, party, done) {
  const base = `/api/v1/envelopes/${encodeURIComponent(env.id)}/parties/${encodeURIComponent(party.id)}`;
  const fields = party.fields || [];
  const needsSignature = fields.some((f) => f.kind === "signature");
  const hasSeal = fields.some((f) => f.kind === "seal") || Boolean(party.seal_id);
  const err = formError("env-sign-error");
  const values = {};
  const pad = needsSignature ? signaturePad({ name: party.name, testid: "env-sig" }) : null;
  const texts = fields
    .filter((f) => f.kind === "text")
    .map((f, i) => {
      const input = h("input", { type: "text", testid: `env-text-${f.id}` });
      input.addEventListener("input", () => (values[f.id] = input.value));
      return field(f.label || t("signer.textN", { n: i + 1 }), input);
    });
  const sealBox = h("div", {});
  let requestSelect = null;
  if (hasSeal && party.seal_id) {
    requestSelect = select([["", t("env.noSealRequest")]], { testid: "env-seal-request" });
    const ask = h("button", { type: "button", class: "small", text: t("env.askApproval"), testid: "env-seal-ask" });
    ask.addEventListener("click", async () => {
      const reason = await confirmDialog(t("seals.requestTitle"), { reason: t("seals.requestReason"), reasonRequired: true, testid: "seal-request-dialog" });
      if (reason === null) return;
      busy(ask, async () => {
        await api("POST", `/api/v1/seals/${encodeURIComponent(party.seal_id)}/requests`, { json: { reason } });
        toast(t("seals.requested"), "ok");
      });
    });
    const sealImg = h("img", { class: "seal-preview", alt: t("seals.imageOf", { name: party.seal_id }) });
    loadImage(sealImg, `/api/v1/seals/${encodeURIComponent(party.seal_id)}/image`).catch(() => (sealImg.hidden = true));
    api("GET", `/api/v1/seal-requests${query({ state: "approved" })}`)
      .then((list) => {
        for (const r of list.filter((x) => x.seal_id === party.seal_id)) requestSelect.append(h("option", { value: r.id, text: `${r.reason} · ${fmtTime(r.decided_at)}` }));
      })
      .catch(() => {});
    mount(sealBox, h("fieldset", {}, h("legend", { text: t("env.sealLegend") }), sealImg, h("p", { class: "small muted", text: t("env.sealConfirm") }), field(t("env.sealRequest"), requestSelect, t("env.sealRequestHint")), ask));
  }
  const consentBox = h("input", { type: "checkbox", testid: "env-consent" });
  const sign = h("button", { type: "submit", class: "primary", text: party.role === "approver" ? t("signer.approve") : t("signer.sign"), testid: "env-sign-submit" });
  const decline = h("button", { type: "button", class: "danger", text: t("signer.decline"), testid: "env-decline" });
  const update = () => (sign.disabled = !consentBox.checked || Boolean(pad && pad.isEmpty()));
  consentBox.addEventListener("change", update);
  if (pad) pad.onChange(update);
  update();
  const viewer = h("div", {});
  const form = h(
    "form",
    { class: "card", testid: "env-sign-panel", novalidate: true },
    h("h2", { text: t("env.signTitle") }),
    h("p", { class: "muted", text: t("signer.signingAs", { name: party.name, role: t(`role.party.${party.role}`) }) }),
    err,
    h("div", { class: "signer-layout" }, viewer, h("div", {}, texts.length ? h("fieldset", {}, h("legend", { text: t("signer.fillIn") }), texts) : null, pad ? h("fieldset", {}, h("legend", { text: t("signer.adopt") }), pad.el) : null, sealBox)),
    h("label", { class: "check" }, consentBox, h("span", { text: t("signer.consent") })),
    h("div", { class: "actions end" }, decline, sign),
  );
  fieldViewer(viewer, env.current_document_id || env.document_id, env.parties, () => (env.parties || []).indexOf(party), party.id);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (sign.disabled) return;
    // the version shown: refused if another party signed since
    const body = { document_id: env.current_document_id };
    if (pad) body.signature = pad.value();
    if (Object.keys(values).length) body.values = values;
    if (requestSelect && requestSelect.value) body.seal_request = requestSelect.value;
    busy(
      sign,
      async () => {
        await api("POST", `${base}/sign`, { json: body });
        toast(t("signer.doneSigned"), "ok");
        done();
      },
      (e) => err.set(errorText(e)),
    );
  });
  decline.addEventListener("click", async () => {
    const reason = await confirmDialog(t("signer.declineTitle"), { text: t("signer.declineText"), reason: t("signer.declineReason"), reasonRequired: true, okText: t("signer.decline"), testid: "decline-dialog" });
    if (reason === null) return;
    busy(decline, async () => {
      await api("POST", `${base}/decline`, { json: { reason } });
      toast(t("signer.doneDeclined"), "ok");
      done();
    });
  });
  return form;
}
