// The envelope wizard (/console/envelopes/new): 1 the document and the details, 2 the parties,
// 3 the fields placed on the pages, 4 review and send (POST /api/v1/envelopes).

import { api, busy, checkbox, dropZone, errorText, field, fmtBytes, fmtTime, formError, h, mount, select, setPartyColour, showError, t, toast } from "./common.js";
import { kindsFor, placementEditor } from "./placement.js";

/** The wizard's state, kept while the console is open (leaving the page and coming back keeps it). */
let state = fresh();

function fresh() {
  return {
    step: 1,
    doc: null, // {id, name, page_count, size}
    title: "",
    message: "",
    expiresInDays: 14,
    reminderHours: 24,
    certify: true,
    parties: [], // {kind, user_id, name, email, role, order, seal_id}
    fields: [], // {key, party, kind, page, rect, label}
  };
}

let users = []; // the tenant's active users (the directory), or just this user when it can't be had
let seals = [];

/** How many of the tenant's documents (newest first) the picker offers. */
const PICKER_SIZE = 50;

export async function render(ctx, el) {
  const stepsEl = h("ol", { class: "steps", testid: "wizard-steps", "aria-label": t("wizard.progress") });
  const body = h("div", {});
  const restart = h("button", { type: "button", class: "ghost small", text: t("wizard.restart"), testid: "wizard-restart" });
  restart.addEventListener("click", () => {
    state = fresh();
    draw();
  });
  mount(el, h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("nav.newEnvelope") }), h("p", { text: t("wizard.intro") })), restart), stepsEl, body);

  // asked again on each visit: people and seals added meanwhile show up
  [users, seals] = await Promise.all([
    api("GET", "/api/v1/users/directory")
      .then((list) => (list.length ? list : [ctx.user]))
      .catch(() => [ctx.user]),
    api("GET", "/api/v1/seals")
      .then((list) => list.filter((s) => s.status === "active"))
      .catch(() => []),
  ]);

  function draw() {
    const names = ["wizard.step1", "wizard.step2", "wizard.step3", "wizard.step4"];
    mount(
      stepsEl,
      names.map((k, i) =>
        h(
          "li",
          { "aria-current": state.step === i + 1 ? "step" : undefined, class: state.step > i + 1 ? "done" : "", testid: `wizard-step-${i + 1}` },
          h("span", { class: "n", "aria-hidden": "true", text: state.step > i + 1 ? "✓" : String(i + 1) }),
          t(k),
        ),
      ),
    );
    const steps = [stepDocument, stepParties, stepPlacement, stepReview];
    mount(body, steps[state.step - 1](ctx, go));
    const heading = body.querySelector("h2");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: false });
    }
  }

  function go(step) {
    state.step = step;
    draw();
  }
  draw();
}

function nav(back, nextLabel, onNext, testid = "wizard-next") {
  const next = h("button", { type: "submit", class: "primary", text: nextLabel, testid });
  const backBtn = back ? h("button", { type: "button", text: t("wizard.back"), testid: "wizard-back" }) : null;
  if (backBtn) backBtn.addEventListener("click", back);
  return { el: h("div", { class: "actions end" }, backBtn, next), next, onNext };
}

// ---------- step 1 ----------

function stepDocument(ctx, go) {
  const err = formError("wizard-error");
  const chosen = h("div", { testid: "wizard-doc-chosen" });
  const showChosen = () => {
    mount(
      chosen,
      state.doc
        ? h(
            "p",
            { class: "notice ok" },
            h("strong", { text: state.doc.name || state.doc.id }),
            ` · ${t("wizard.pages", { count: state.doc.page_count })}`,
            state.doc.name ? [" · ", h("span", { class: "mono small", text: state.doc.id })] : null,
          )
        : h("p", { class: "muted", text: t("wizard.noDocument") }),
    );
  };
  const working = (what) => mount(chosen, h("p", { class: "muted" }, h("span", { class: "spinner", "aria-hidden": "true" }), " ", what));
  let choice = 0; // the latest upload or pick: an older one that ends later changes nothing
  const choose = (doc) => {
    state.doc = doc;
    state.fields = [];
    if (!title.value.trim() && doc.name) {
      state.title = doc.name.replace(/\.pdf$/i, "");
      title.value = state.title;
    }
    err.set("");
    showChosen();
  };
  const upload = dropZone({
    accept: "application/pdf,.pdf",
    label: t("wizard.uploadLabel"),
    testid: "wizard-upload",
    inputTestid: "wizard-upload-input",
    onFile: async (file) => {
      const mine = ++choice;
      working(t("wizard.uploading"));
      try {
        const doc = await ctx.uploadPdf(file);
        if (mine !== choice) return;
        choose({ id: doc.id, name: file.name, page_count: doc.page_count, size: doc.size });
        loadPicker();
      } catch (e) {
        if (mine !== choice) return;
        showChosen();
        err.set(errorText(e));
      }
    },
  });

  // the tenant's documents, newest first
  let docs = [];
  const pick = select([["", t("wizard.pickRecent")]], { testid: "wizard-doc-select" });
  const picker = h("div", { testid: "wizard-doc-picker" }, h("div", { class: "field" }, h("span", { class: "small muted", text: t("wizard.orPick") })), field(t("wizard.recent"), pick));
  picker.hidden = true;
  const docLabel = (d) =>
    [d.name || d.latest.id, d.version > 1 ? t("wizard.version", { n: d.version }) : null, d.page_count ? t("wizard.pages", { count: d.page_count }) : null, fmtBytes(d.latest.size), fmtTime(d.latest.created_at)]
      .filter(Boolean)
      .join(" · ");
  const loadPicker = () =>
    ctx
      .listDocuments({ limit: PICKER_SIZE })
      .then((r) => {
        docs = r.items;
        mount(pick, h("option", { value: "", text: t("wizard.pickRecent") }), docs.map((d) => h("option", { value: d.latest.id, text: docLabel(d) })));
        pick.value = state.doc && docs.some((d) => d.latest.id === state.doc.id) ? state.doc.id : "";
        picker.hidden = !docs.length;
      })
      .catch(() => {
        // uploading still works
        picker.hidden = true;
      });
  pick.addEventListener("change", async () => {
    const d = docs.find((x) => x.latest.id === pick.value);
    if (!d) return;
    const mine = ++choice;
    const doc = { id: d.latest.id, name: d.name, page_count: d.page_count, size: d.latest.size };
    if (!doc.page_count) {
      working(t("common.loading"));
      try {
        doc.page_count = (await api("GET", `/api/v1/documents/${encodeURIComponent(doc.id)}/pages/1`)).page_count;
      } catch (e) {
        if (mine !== choice) return;
        showChosen();
        err.set(errorText(e));
        return;
      }
    }
    if (mine === choice) choose(doc);
  });
  loadPicker();
  const title = h("input", { type: "text", required: true, value: state.title, testid: "wizard-title", maxlength: "200" });
  const message = h("textarea", { testid: "wizard-message", text: state.message });
  const expiry = h("input", { type: "number", min: "1", max: "365", value: String(state.expiresInDays), testid: "wizard-expiry" });
  const reminder = h("input", { type: "number", min: "0", max: "720", value: String(state.reminderHours), testid: "wizard-reminder" });
  const certify = checkbox(t("wizard.certify"), { checked: state.certify, testid: "wizard-certify" });
  const n = nav(null, t("wizard.next"));
  const form = h(
    "form",
    { novalidate: true },
    h("section", { class: "card" }, h("h2", { text: t("wizard.step1") }), err, upload, picker, chosen),
    h(
      "section",
      { class: "card" },
      field(t("wizard.title"), title),
      field(t("wizard.message"), message, t("wizard.messageHint")),
      h("div", { class: "form-row" }, field(t("wizard.expiry"), expiry, t("wizard.expiryHint")), field(t("wizard.reminders"), reminder, t("wizard.remindersHint"))),
      certify,
    ),
    n.el,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.title = title.value.trim();
    state.message = message.value.trim();
    state.expiresInDays = Number(expiry.value) || 14;
    state.reminderHours = Math.max(0, Number(reminder.value) || 0);
    state.certify = certify.querySelector("input").checked;
    if (!state.doc) return err.set(t("wizard.needDocument"));
    if (!state.title) {
      title.setAttribute("aria-invalid", "true");
      title.focus();
      return err.set(t("wizard.needTitle"));
    }
    go(2);
  });
  showChosen();
  return form;
}

// ---------- step 2 ----------

function stepParties(ctx, go) {
  const err = formError("wizard-error");
  const list = h("div", { testid: "wizard-parties" });
  const addInternal = h("button", { type: "button", text: t("wizard.addInternal"), testid: "wizard-add-internal" });
  const addExternal = h("button", { type: "button", text: t("wizard.addExternal"), testid: "wizard-add-external" });
  const nextOrder = () => (state.parties.length ? Math.max(...state.parties.map((p) => p.order)) + 1 : 1);
  addInternal.addEventListener("click", () => {
    const u = users[0] || ctx.user;
    state.parties.push({ kind: "internal", user_id: u.id, name: u.display_name, email: u.email || "", role: "signer", order: nextOrder(), seal_id: "" });
    drawList(state.parties.length - 1);
  });
  addExternal.addEventListener("click", () => {
    state.parties.push({ kind: "external", user_id: null, name: "", email: "", role: "signer", order: nextOrder(), seal_id: "" });
    drawList(state.parties.length - 1);
  });

  function drawList(focusIndex) {
    list.replaceChildren();
    if (!state.parties.length) list.append(h("p", { class: "empty", text: t("wizard.noParties") }));
    state.parties.forEach((p, i) => list.append(partyRow(p, i)));
    if (focusIndex !== undefined) {
      const first = list.querySelector(`[data-party-row="${focusIndex}"] input, [data-party-row="${focusIndex}"] select`);
      if (first) first.focus();
    }
  }

  function partyRow(p, i) {
    const row = setPartyColour(h("fieldset", { class: "party-row", "data-party-row": String(i), testid: `party-${i}` }), i);
    row.append(h("legend", { class: "visually-hidden", text: `${t("wizard.partyN", { n: i + 1 })} (${t(`wizard.${p.kind}`)})` }), h("span", { class: "swatch", "aria-hidden": "true" }));
    if (p.kind === "internal") {
      const sel = select(
        users.map((u) => [u.id, `${u.display_name} (${u.username})`]),
        { testid: `party-${i}-user`, value: p.user_id },
      );
      sel.addEventListener("change", () => {
        const u = users.find((x) => x.id === sel.value);
        p.user_id = u.id;
        p.name = u.display_name;
        p.email = u.email || "";
      });
      row.append(field(t("wizard.internalUser"), sel));
    } else {
      const name = h("input", { type: "text", value: p.name, testid: `party-${i}-name`, autocomplete: "off", required: true });
      const email = h("input", { type: "email", value: p.email, testid: `party-${i}-email`, autocomplete: "off", required: true });
      name.addEventListener("input", () => (p.name = name.value));
      email.addEventListener("input", () => (p.email = email.value));
      row.append(field(t("wizard.name"), name), field(t("wizard.email"), email));
    }
    const role = select(
      [
        ["signer", t("role.party.signer")],
        ["approver", t("role.party.approver")],
        ["copy", t("role.party.copy")],
      ],
      { testid: `party-${i}-role`, value: p.role },
    );
    role.addEventListener("change", () => {
      p.role = role.value;
      if (p.role === "copy") state.fields = state.fields.filter((f) => f.party !== i);
    });
    const order = h("input", { type: "number", min: "1", max: "99", value: String(p.order), testid: `party-${i}-order` });
    order.addEventListener("input", () => (p.order = Math.max(1, Number(order.value) || 1)));
    row.append(field(t("wizard.role"), role), field(t("wizard.order"), order, t("wizard.orderHint")));
    if (p.kind === "internal") {
      const seal = select([["", t("wizard.noSeal")], ...seals.map((s) => [s.id, s.name])], { testid: `party-${i}-seal`, value: p.seal_id || "" });
      seal.addEventListener("change", () => {
        p.seal_id = seal.value;
        if (!p.seal_id) state.fields = state.fields.filter((f) => !(f.party === i && f.kind === "seal"));
      });
      row.append(field(t("wizard.seal"), seal, seals.length ? t("wizard.sealHint") : t("wizard.noSeals")));
    }
    const remove = h("button", { type: "button", class: "danger small", text: t("common.remove"), testid: `party-${i}-remove`, "aria-label": t("wizard.removeParty", { n: i + 1 }) });
    remove.addEventListener("click", () => {
      state.parties.splice(i, 1);
      state.fields = state.fields.filter((f) => f.party !== i).map((f) => (f.party > i ? { ...f, party: f.party - 1 } : f));
      drawList();
      addInternal.focus();
    });
    row.append(h("div", { class: "field" }, remove));
    return row;
  }

  const n = nav(() => go(1), t("wizard.next"));
  const form = h(
    "form",
    { novalidate: true },
    h("section", { class: "card" }, h("h2", { text: t("wizard.step2") }), h("p", { class: "muted", text: t("wizard.partiesIntro") }), err, list, h("div", { class: "actions" }, addInternal, addExternal)),
    n.el,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const problem = checkParties();
    if (problem) return err.set(problem);
    go(3);
  });
  drawList();
  return form;
}

function checkParties() {
  if (!state.parties.length) return t("wizard.needParty");
  if (!state.parties.some((p) => p.role === "signer")) return t("wizard.needSigner");
  for (const [i, p] of state.parties.entries()) {
    if (!p.name.trim()) return t("wizard.partyNeedsName", { n: i + 1 });
    if (p.kind === "external" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(p.email.trim())) return t("wizard.partyNeedsEmail", { n: i + 1 });
  }
  return null;
}

// ---------- step 3 ----------

function stepPlacement(ctx, go) {
  const err = formError("wizard-error");
  const summary = h("p", { class: "small muted", testid: "wizard-field-summary", "aria-live": "polite" });
  const summarize = () => {
    summary.textContent = state.parties
      .map((p, i) => `${p.name}: ${state.fields.filter((f) => f.party === i).length}`)
      .join(" · ");
  };
  const editor = placementEditor({ docId: state.doc.id, pageCount: state.doc.page_count, parties: state.parties, fields: state.fields, onChange: summarize });
  summarize();
  const n = nav(() => go(2), t("wizard.next"));
  const form = h("form", { novalidate: true }, h("section", { class: "card" }, h("h2", { text: t("wizard.step3") }), h("p", { class: "muted", text: t("wizard.placeIntro") }), err, summary), editor, n.el);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const problem = checkFields();
    if (problem) {
      err.set(problem);
      err.scrollIntoView({ block: "center" });
      return;
    }
    go(4);
  });
  return form;
}

function checkFields() {
  for (const [i, p] of state.parties.entries()) {
    const mine = state.fields.filter((f) => f.party === i);
    if (p.role === "signer" && !mine.some((f) => f.kind === "seal" || f.kind === "signature")) return t("wizard.signerNeedsField", { name: p.name });
  }
  return null;
}

// ---------- step 4 ----------

function stepReview(ctx, go) {
  const err = formError("wizard-error");
  const send = h("button", { type: "submit", class: "primary", text: t("wizard.send"), testid: "wizard-send" });
  const draft = h("button", { type: "button", text: t("wizard.saveDraft"), testid: "wizard-save-draft" });
  const back = h("button", { type: "button", text: t("wizard.back"), testid: "wizard-back" });
  back.addEventListener("click", () => go(3));
  const sealName = (id) => (seals.find((s) => s.id === id) || {}).name || id;
  const rows = [...state.parties.entries()].sort((a, b) => a[1].order - b[1].order);
  const body = h(
    "section",
    { class: "card" },
    h("h2", { text: t("wizard.step4") }),
    err,
    h(
      "dl",
      { class: "kv" },
      h("dt", { text: t("wizard.title") }),
      h("dd", { testid: "review-title", text: state.title }),
      h("dt", { text: t("wizard.document") }),
      h("dd", { text: `${state.doc.name || state.doc.id} · ${t("wizard.pages", { count: state.doc.page_count })}` }),
      h("dt", { text: t("wizard.message") }),
      h("dd", { text: state.message || "—" }),
      h("dt", { text: t("wizard.expiry") }),
      h("dd", { text: t("wizard.inDays", { n: state.expiresInDays }) }),
      h("dt", { text: t("wizard.reminders") }),
      h("dd", { text: state.reminderHours ? t("wizard.everyHours", { n: state.reminderHours }) : t("wizard.noReminders") }),
      h("dt", { text: t("wizard.certifyShort") }),
      h("dd", { text: state.certify ? t("common.yes") : t("common.no") }),
    ),
    h("hr", { class: "divider" }),
    h("h3", { text: t("wizard.step2") }),
    h(
      "ol",
      { class: "parties", testid: "review-parties" },
      rows.map(([i, p]) =>
        setPartyColour(
          h(
            "li",
            {},
            h("span", { class: "order", text: String(p.order) }),
            h("span", { class: "swatch", "aria-hidden": "true" }),
            h("span", { class: "grow" }, h("strong", { text: p.name }), p.email ? h("span", { class: "muted small", text: ` <${p.email}>` }) : null, p.seal_id ? h("div", { class: "small muted", text: `${t("wizard.seal")}: ${sealName(p.seal_id)}` }) : null),
            h("span", { class: "badge", text: t(`role.party.${p.role}`) }),
            h("span", { class: "small muted", text: t("wizard.fieldCount", { count: state.fields.filter((f) => f.party === i).length }) }),
          ),
          i,
        ),
      ),
    ),
  );
  const submit = (sendNow, button) =>
    busy(
      button,
      async () => {
        const env = await api("POST", "/api/v1/envelopes", { json: envelopeRequest(sendNow) });
        toast(sendNow ? t("wizard.sent") : t("wizard.saved"), "ok");
        state = fresh();
        ctx.navigate(`envelopes/${encodeURIComponent(env.id)}`);
      },
      (e) => err.set(errorText(e)),
    );
  draft.addEventListener("click", () => submit(false, draft));
  const form = h("form", { novalidate: true }, body, h("div", { class: "actions end" }, back, draft, send));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit(true, send);
  });
  return form;
}

/** The body of `POST /api/v1/envelopes`. */
export function envelopeRequest(sendNow) {
  const req = {
    title: state.title,
    document_id: state.doc.id,
    expires_in_days: state.expiresInDays,
    certify: state.certify,
    send: sendNow,
    parties: state.parties.map((p, i) => {
      const party = {
        name: p.name.trim(),
        role: p.role,
        order: p.order,
        fields: state.fields
          .filter((f) => f.party === i && kindsFor(p).includes(f.kind))
          .map((f) => {
            const out = { kind: f.kind, page: f.page, rect: f.rect };
            if (f.label) out.label = f.label;
            return out;
          }),
      };
      if (p.email && p.email.trim()) party.email = p.email.trim();
      if (p.kind === "internal") party.user_id = p.user_id;
      if (p.kind === "internal" && p.seal_id) party.seal_id = p.seal_id;
      return party;
    }),
  };
  if (state.message) req.message = state.message;
  if (state.reminderHours) req.reminder_interval_hours = state.reminderHours;
  return req;
}

