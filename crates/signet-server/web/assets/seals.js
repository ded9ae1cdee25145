// Seals (/console/seals): the tenant's seals with their images; for seal administrators a new
// seal (generated with a live preview, or an uploaded imprint), grants, suspension,
// revocation, and deciding seal-use requests; for others, asking to use a seal once.

import {
  api,
  busy,
  checkbox,
  confirmDialog,
  errorText,
  field,
  fmtDate,
  fmtTime,
  formError,
  h,
  loadImage,
  localToMs,
  modal,
  mount,
  query,
  select,
  showError,
  statusBadge,
  t,
  toast,
} from "./common.js";

const KINDS = ["company", "contract", "finance", "invoice", "legal_representative", "personal"];
const ROLES = ["tenant_admin", "seal_admin", "seal_user", "auditor", "signer"];
const REVOKE_REASONS = ["cessationOfOperation", "keyCompromise", "superseded", "affiliationChanged", "privilegeWithdrawn", "unspecified"];

export async function render(ctx, el) {
  const admin = ctx.can("manageSeals");
  const users = await people(ctx);
  const userName = (id) => {
    const u = users && users.find((x) => x.id === id);
    return u ? `${u.display_name} (${u.username})` : id;
  };
  const createBox = h("div", {});
  const list = h("div", { class: "seal-grid", testid: "seal-list" });
  const grantsBox = h("div", {});
  const requests = h("div", { testid: "seal-requests" });
  const newBtn = admin ? h("button", { type: "button", class: "primary", text: t("seals.new"), testid: "seal-new" }) : null;
  if (newBtn) {
    newBtn.addEventListener("click", () => {
      newBtn.hidden = true;
      mount(
        createBox,
        createForm(ctx, users, () => {
          mount(createBox);
          newBtn.hidden = false;
          loadList();
        }, () => {
          mount(createBox);
          newBtn.hidden = false;
          newBtn.focus();
        }),
      );
      createBox.querySelector("input").focus();
    });
  }
  let seals = [];

  async function loadList() {
    try {
      seals = await api("GET", "/api/v1/seals");
    } catch (e) {
      mount(list, h("p", { class: "empty", text: errorText(e) }));
      return;
    }
    mount(list, seals.length ? seals.map(card) : h("p", { class: "empty", text: t("seals.none") }));
  }

  function card(s) {
    const img = h("img", { class: "seal-img", alt: t("seals.imageOf", { name: s.name }), testid: "seal-image" });
    loadImage(img, `/api/v1/seals/${encodeURIComponent(s.id)}/image`).catch(() => (img.alt = t("seals.noImage")));
    const actions = h("div", { class: "actions" });
    if (admin && s.status !== "revoked") {
      const grants = h("button", { type: "button", class: "small", text: t("seals.grants"), testid: "seal-grants-btn" });
      grants.addEventListener("click", () => {
        mount(grantsBox, grantsPanel(ctx, s, users, userName, () => mount(grantsBox)));
        grantsBox.scrollIntoView({ behavior: "smooth", block: "start" });
        const hd = grantsBox.querySelector("h2");
        if (hd) {
          hd.tabIndex = -1;
          hd.focus({ preventScroll: true });
        }
      });
      const suspend = h("button", {
        type: "button",
        class: "small",
        text: s.status === "active" ? t("seals.suspend") : t("seals.activate"),
        testid: s.status === "active" ? "seal-suspend" : "seal-activate",
      });
      suspend.addEventListener("click", async () => {
        const to = s.status === "active" ? "suspended" : "active";
        const reason = await confirmDialog(to === "suspended" ? t("seals.suspendTitle", { name: s.name }) : t("seals.activateTitle", { name: s.name }), { reason: t("seals.why"), testid: "seal-status-dialog" });
        if (reason === null) return;
        busy(suspend, async () => {
          const body = { status: to };
          if (reason) body.reason = reason;
          await api("PATCH", `/api/v1/seals/${encodeURIComponent(s.id)}`, { json: body });
          toast(t("common.saved"), "ok");
          loadList();
        });
      });
      const revoke = h("button", { type: "button", class: "small danger", text: t("seals.revoke"), testid: "seal-revoke" });
      revoke.addEventListener("click", async () => {
        const reason = select(REVOKE_REASONS.map((r) => [r, t(`revoke.${r}`)]), { testid: "revoke-reason" });
        const note = h("input", { type: "text", testid: "revoke-note" });
        const v = await modal({
          title: t("seals.revokeTitle", { name: s.name }),
          testid: "revoke-dialog",
          okText: t("seals.revoke"),
          danger: true,
          body: h("div", {}, h("p", { class: "notice bad", text: t("seals.revokeText") }), field(t("seals.revokeReason"), reason), field(t("seals.note"), note)),
          collect: () => ({ reason: reason.value, note: note.value.trim() || undefined }),
        });
        if (!v) return;
        busy(revoke, async () => {
          await api("POST", `/api/v1/seals/${encodeURIComponent(s.id)}/revoke`, { json: v });
          toast(t("seals.revoked"), "ok");
          loadList();
        });
      });
      actions.append(grants, suspend, revoke);
    }
    if (!admin && ctx.can("requestSealUse") && s.status === "active") {
      const ask = h("button", { type: "button", class: "small", text: t("seals.requestUse"), testid: "seal-request" });
      ask.addEventListener("click", async () => {
        const reason = await confirmDialog(t("seals.requestTitle"), { reason: t("seals.requestReason"), reasonRequired: true, testid: "seal-request-dialog" });
        if (reason === null) return;
        busy(ask, async () => {
          await api("POST", `/api/v1/seals/${encodeURIComponent(s.id)}/requests`, { json: { reason } });
          toast(t("seals.requested"), "ok");
          loadRequests();
        });
      });
      actions.append(ask);
    }
    return h(
      "article",
      { class: `card seal-card ${s.status}`, testid: "seal-card", "data-id": s.id, "data-name": s.name, "data-status": s.status },
      img,
      h("div", { class: "row" }, h("h3", { class: "grow", text: s.name }), statusBadge(s.status, "seal-status")),
      h("div", { class: "small muted" }, t(`sealKind.${s.kind}`), " · ", t("seals.validUntil", { date: fmtDate(s.valid_until) })),
      s.owner_user_id ? h("div", { class: "small muted", text: `${t("seals.owner")}: ${userName(s.owner_user_id)}` }) : null,
      s.status_reason ? h("div", { class: "small", text: s.status_reason }) : null,
      actions,
    );
  }

  async function loadRequests() {
    try {
      const state = requestState.value;
      const list = await api("GET", `/api/v1/seal-requests${query({ state })}`);
      const sealName = (id) => (seals.find((s) => s.id === id) || {}).name || id;
      mount(
        requestsTable,
        list.length
          ? h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                {},
                h("thead", {}, h("tr", {}, h("th", { text: t("seals.seal") }), h("th", { text: t("seals.requester") }), h("th", { text: t("seals.requestReason") }), h("th", { text: t("seals.asked") }), h("th", { text: t("env.status") }), h("th", {}, h("span", { class: "visually-hidden", text: t("common.actions") })))),
                h(
                  "tbody",
                  {},
                  list.map((r) => {
                    const cells = h("td", {});
                    if (ctx.can("decideSealUse") && r.state === "pending" && r.requester !== ctx.user.id) {
                      const approve = h("button", { type: "button", class: "small primary", text: t("seals.approve"), testid: "request-approve" });
                      const reject = h("button", { type: "button", class: "small danger", text: t("seals.reject"), testid: "request-reject" });
                      const decide = (how, button) => async () => {
                        const note = await confirmDialog(how === "approve" ? t("seals.approveTitle") : t("seals.rejectTitle"), { reason: t("seals.note"), testid: "decide-dialog" });
                        if (note === null) return;
                        busy(button, async () => {
                          await api("POST", `/api/v1/seal-requests/${encodeURIComponent(r.id)}/${how}`, { json: note ? { note } : {} });
                          toast(t("common.saved"), "ok");
                          loadRequests();
                        });
                      };
                      approve.addEventListener("click", decide("approve", approve));
                      reject.addEventListener("click", decide("reject", reject));
                      cells.append(h("div", { class: "actions" }, approve, reject));
                    }
                    return h(
                      "tr",
                      { testid: "request-row", "data-id": r.id, "data-state": r.state },
                      h("td", { text: sealName(r.seal_id) }),
                      h("td", { text: userName(r.requester) }),
                      h("td", { text: r.reason }),
                      h("td", { class: "small", text: fmtTime(r.created_at) }),
                      h("td", {}, statusBadge(r.state), r.decision ? h("div", { class: "small muted", text: r.decision }) : null),
                      cells,
                    );
                  }),
                ),
              ),
            )
          : h("p", { class: "empty", text: t("seals.noRequests") }),
      );
    } catch (e) {
      mount(requestsTable, h("p", { class: "empty", text: errorText(e) }));
    }
  }
  const requestState = select([["pending", t("status.pending")], ["approved", t("status.approved")], ["rejected", t("status.rejected")], ["used", t("status.used")], ["", t("env.allStatuses")]], { testid: "request-state", "aria-label": t("env.status") });
  requestState.addEventListener("change", loadRequests);
  const requestsTable = h("div", {});
  mount(requests, h("div", { class: "card-head" }, h("h2", { text: t("seals.requests") }), requestState), requestsTable);

  mount(
    el,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("nav.seals") }), h("p", { text: t("seals.intro") })), newBtn),
    createBox,
    list,
    grantsBox,
    h("section", { class: "card" }, requests),
  );
  await loadList();
  loadRequests();
}

/**
 * The tenant's people to pick from and to name: a tenant administrator's list of users, else
 * the directory of active users (whoever may send envelopes); null when neither may be had.
 */
async function people(ctx) {
  const directory = () => (ctx.can("sendEnvelopes") ? api("GET", "/api/v1/users/directory").catch(() => null) : null);
  if (ctx.can("manageUsers")) return api("GET", "/api/v1/users").catch(directory);
  return directory();
}

// ---------- a new seal ----------

function createForm(ctx, users, created, cancelled) {
  const err = formError("seal-create-error");
  const name = h("input", { type: "text", required: true, testid: "seal-name", maxlength: "120" });
  const kind = select(KINDS.map((k) => [k, t(`sealKind.${k}`)]), { testid: "seal-kind", value: "company" });
  const owner = users ? select([["", "—"], ...users.map((u) => [u.id, `${u.display_name} (${u.username})`])], { testid: "seal-owner" }) : h("input", { type: "text", placeholder: "usr_…", testid: "seal-owner" });
  const ownerField = field(t("seals.owner"), owner, t("seals.ownerHint"));
  ownerField.hidden = true;
  kind.addEventListener("change", () => {
    ownerField.hidden = kind.value !== "personal";
    if (kind.value === "personal" && shape.value === "round") {
      shape.value = "square";
      schedulePreview();
    }
  });

  // the image: generated or uploaded
  const sourceName = `src-${Math.random().toString(36).slice(2)}`;
  const genRadio = h("input", { type: "radio", name: sourceName, value: "generate", checked: true, testid: "seal-source-generate" });
  const upRadio = h("input", { type: "radio", name: sourceName, value: "upload", testid: "seal-source-upload" });
  const shape = select([["round", t("seals.shape.round")], ["oval", t("seals.shape.oval")], ["square", t("seals.shape.square")]], { testid: "seal-shape" });
  const text = h("input", { type: "text", testid: "seal-text", placeholder: t("seals.textPlaceholder") });
  const horizontal = h("input", { type: "text", testid: "seal-horizontal", placeholder: "合同专用章" });
  const bottom = h("input", { type: "text", testid: "seal-bottom-code", placeholder: "1101080012345" });
  const star = h("input", { type: "checkbox", checked: true, testid: "seal-star" });
  const preview = h("img", { class: "seal-preview", alt: t("seals.previewAlt"), testid: "seal-preview" });
  const previewNote = h("p", { class: "small muted", "aria-live": "polite", testid: "seal-preview-status" });
  const genBox = h(
    "div",
    {},
    h("div", { class: "form-row" }, field(t("seals.shapeLabel"), shape), field(t("seals.text"), text, t("seals.textHint"))),
    h("div", { class: "form-row" }, field(t("seals.horizontal"), horizontal), field(t("seals.bottomCode"), bottom)),
    h("label", { class: "check" }, star, h("span", { text: t("seals.star") })),
  );
  const file = h("input", { type: "file", accept: "image/png,image/jpeg", testid: "seal-upload-input" });
  file.id = `seal-file-${Math.random().toString(36).slice(2)}`;
  let uploadedImageId = null;
  const upBox = h("div", { hidden: true }, h("div", { class: "field" }, h("label", { for: file.id, text: t("seals.uploadLabel") }), file, h("span", { class: "hint", text: t("seals.uploadHint") })));
  file.addEventListener("change", async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    uploadedImageId = null;
    previewNote.textContent = t("common.loading");
    try {
      const rec = await api("POST", "/api/v1/seals/images", { body: f, type: f.type || "image/png" });
      uploadedImageId = rec.id;
      setPreview(URL.createObjectURL(f));
      previewNote.textContent = t("seals.uploaded");
    } catch (e) {
      previewNote.textContent = errorText(e);
    }
  });
  const switchSource = () => {
    const gen = genRadio.checked;
    genBox.hidden = !gen;
    upBox.hidden = gen;
    if (gen) schedulePreview();
    else if (!uploadedImageId) {
      preview.removeAttribute("src");
      previewNote.textContent = "";
    }
  };
  genRadio.addEventListener("change", switchSource);
  upRadio.addEventListener("change", switchSource);

  let previewUrl = null;
  function setPreview(url) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = url;
    preview.src = url;
  }
  function spec() {
    const s = { shape: shape.value, text: text.value.trim() };
    if (shape.value !== "square") {
      if (horizontal.value.trim()) s.horizontal = horizontal.value.trim();
      if (bottom.value.trim()) s.bottom_code = bottom.value.trim();
      if (shape.value === "round") s.star = star.checked;
    }
    return s;
  }
  let timer = null;
  let seq = 0;
  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const s = spec();
      if (!s.text) {
        previewNote.textContent = t("seals.previewEmpty");
        return;
      }
      const mine = ++seq;
      previewNote.textContent = t("common.loading");
      try {
        const res = await api("POST", "/api/v1/seals/preview", { json: s, raw: true });
        const blob = await res.blob();
        if (mine !== seq) return;
        setPreview(URL.createObjectURL(blob));
        previewNote.textContent = t("seals.previewReady");
      } catch (e) {
        if (mine === seq) previewNote.textContent = errorText(e);
      }
    }, 350);
  }
  for (const i of [shape, text, horizontal, bottom, star]) i.addEventListener(i.tagName === "SELECT" || i.type === "checkbox" ? "change" : "input", schedulePreview);

  // the certificate
  const org = h("input", { type: "text", testid: "seal-org" });
  const orgId = h("input", { type: "text", testid: "seal-org-id" });
  const country = h("input", { type: "text", maxlength: "2", testid: "seal-country", placeholder: "CN" });
  const key = select([["p-256", "ECDSA P-256"], ["p-384", "ECDSA P-384"], ["rsa-2048", "RSA 2048"], ["rsa-3072", "RSA 3072"], ["rsa-4096", "RSA 4096"]], { testid: "seal-key" });
  const validity = h("input", { type: "number", min: "1", testid: "seal-validity" });

  const submit = h("button", { type: "submit", class: "primary", text: t("seals.create"), testid: "seal-create-submit" });
  const cancel = h("button", { type: "button", text: t("common.cancel") });
  cancel.addEventListener("click", cancelled);
  const form = h(
    "form",
    { class: "card", testid: "seal-create-form", novalidate: true },
    h("h2", { text: t("seals.new") }),
    err,
    h("div", { class: "form-row" }, field(t("seals.name"), name, t("seals.nameHint")), field(t("seals.kind"), kind)),
    ownerField,
    h(
      "div",
      { class: "grid grid-2" },
      h(
        "fieldset",
        {},
        h("legend", { text: t("seals.image") }),
        h("div", { class: "checks" }, h("label", { class: "check" }, genRadio, h("span", { text: t("seals.generate") })), h("label", { class: "check" }, upRadio, h("span", { text: t("seals.upload") }))),
        genBox,
        upBox,
      ),
      h("div", {}, preview, previewNote),
    ),
    h(
      "details",
      {},
      h("summary", { text: t("seals.certificate") }),
      h("div", { class: "form-row" }, field(t("seals.org"), org, t("seals.orgHint")), field(t("seals.orgId"), orgId), field(t("seals.country"), country)),
      h("div", { class: "form-row" }, field(t("seals.key"), key), field(t("seals.validity"), validity, t("seals.validityHint"))),
    ),
    h("div", { class: "actions end" }, cancel, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) {
      name.setAttribute("aria-invalid", "true");
      name.focus();
      return err.set(t("seals.needName"));
    }
    const body = { name: name.value.trim(), kind: kind.value, certificate: {} };
    if (genRadio.checked) {
      const s = spec();
      if (!s.text) return err.set(t("seals.previewEmpty"));
      body.generate = s;
    } else {
      if (!uploadedImageId) return err.set(t("seals.needImage"));
      body.image_id = uploadedImageId;
    }
    if (kind.value === "personal" && owner.value) body.owner_user_id = owner.value;
    if (org.value.trim()) body.certificate.organization = org.value.trim();
    if (orgId.value.trim()) body.certificate.organization_identifier = orgId.value.trim();
    if (country.value.trim()) body.certificate.country = country.value.trim().toUpperCase();
    if (key.value !== "p-256") body.certificate.key = key.value;
    if (validity.value) body.certificate.validity_days = Number(validity.value);
    busy(
      submit,
      async () => {
        const seal = await api("POST", "/api/v1/seals", { json: body });
        toast(t("seals.created", { name: seal.name }), "ok");
        created(seal);
      },
      (e) => err.set(errorText(e)),
    );
  });
  return form;
}

// ---------- grants ----------

function grantsPanel(ctx, seal, users, userName, close) {
  const box = h("section", { class: "card", testid: "seal-grants-panel", "data-seal": seal.id });
  const list = h("div", { testid: "grants-list" });
  const err = formError("grant-error");
  let keys = null;

  async function load() {
    try {
      const grants = await api("GET", `/api/v1/seals/${encodeURIComponent(seal.id)}/grants`);
      const live = grants.filter((g) => !g.revoked_at);
      mount(
        list,
        live.length
          ? h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                {},
                h("thead", {}, h("tr", {}, h("th", { text: t("grants.who") }), h("th", { text: t("grants.window") }), h("th", { text: t("grants.uses") }), h("th", { text: t("grants.approval") }), h("th", {}, h("span", { class: "visually-hidden", text: t("common.actions") })))),
                h(
                  "tbody",
                  {},
                  live.map((g) => {
                    const revoke = h("button", { type: "button", class: "small danger", text: t("grants.withdraw"), testid: "grant-revoke" });
                    revoke.addEventListener("click", () =>
                      busy(revoke, async () => {
                        await api("DELETE", `/api/v1/seals/${encodeURIComponent(seal.id)}/grants/${encodeURIComponent(g.id)}`);
                        toast(t("grants.withdrawn"), "ok");
                        load();
                      }),
                    );
                    const who = g.grantee_kind === "user" ? userName(g.grantee) : g.grantee_kind === "role" ? t(`role.${g.grantee}`) : `${t("grants.apiKey")} ${keyName(g.grantee)}`;
                    return h(
                      "tr",
                      { testid: "grant-row", "data-grantee": g.grantee, "data-kind": g.grantee_kind },
                      h("td", {}, h("span", { class: "badge", text: t(`grants.kind.${g.grantee_kind}`) }), " ", who),
                      h("td", { class: "small", text: g.not_before || g.not_after ? `${g.not_before ? fmtTime(g.not_before) : "…"} – ${g.not_after ? fmtTime(g.not_after) : "…"}` : t("grants.always") }),
                      h("td", { class: "small", text: g.max_uses ? `${g.uses} / ${g.max_uses}` : `${g.uses}` }),
                      h("td", { text: g.requires_approval ? t("common.yes") : t("common.no") }),
                      h("td", {}, revoke),
                    );
                  }),
                ),
              ),
            )
          : h("p", { class: "muted", text: t("grants.none") }),
      );
    } catch (e) {
      mount(list, h("p", { class: "empty", text: errorText(e) }));
    }
  }
  const keyName = (id) => {
    const k = keys && keys.find((x) => x.id === id);
    return k ? `${k.name} (${id})` : id;
  };

  const type = select([["user", t("grants.kind.user")], ["role", t("grants.kind.role")], ["api_key", t("grants.kind.api_key")]], { testid: "grant-type" });
  const user = users ? select(users.map((u) => [u.id, `${u.display_name} (${u.username})`]), { testid: "grant-user" }) : h("input", { type: "text", placeholder: "usr_…", testid: "grant-user" });
  const role = select(ROLES.map((r) => [r, t(`role.${r}`)]), { testid: "grant-role", value: "seal_user" });
  const keyInput = h("input", { type: "text", placeholder: "key_…", testid: "grant-key" });
  const keyField = field(t("grants.kind.api_key"), keyInput);
  const userField = field(t("grants.kind.user"), user);
  const roleField = field(t("grants.kind.role"), role);
  const showType = () => {
    userField.hidden = type.value !== "user";
    roleField.hidden = type.value !== "role";
    keyField.hidden = type.value !== "api_key";
  };
  type.addEventListener("change", showType);
  // the key list is the tenant administrator's; others type a key's id
  (ctx.can("manageKeys") ? api("GET", "/api/v1/keys") : Promise.reject(new Error("not listed")))
    .then((k) => {
      keys = k.filter((x) => !x.revoked_at);
      const sel = select(keys.map((x) => [x.id, `${x.name} (${x.id})`]), { testid: "grant-key" });
      sel.id = keyInput.id;
      keyInput.replaceWith(sel);
      keyField.control = sel;
      load();
    })
    .catch(() => {});
  const from = h("input", { type: "datetime-local", testid: "grant-from" });
  const until = h("input", { type: "datetime-local", testid: "grant-until" });
  const maxUses = h("input", { type: "number", min: "1", testid: "grant-max-uses" });
  const approval = checkbox(t("grants.requiresApproval"), { testid: "grant-approval" });
  const submit = h("button", { type: "submit", class: "primary", text: t("grants.add"), testid: "grant-submit" });
  const closeBtn = h("button", { type: "button", class: "ghost small", text: t("common.close"), testid: "grants-close" });
  closeBtn.addEventListener("click", close);
  const form = h(
    "form",
    { testid: "grant-form", novalidate: true },
    h("h3", { text: t("grants.add") }),
    err,
    h("div", { class: "form-row" }, field(t("grants.to"), type), userField, roleField, keyField),
    h("div", { class: "form-row" }, field(t("grants.from"), from), field(t("grants.until"), until), field(t("grants.maxUses"), maxUses, t("grants.maxUsesHint"))),
    approval,
    h("div", { class: "actions end" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { requires_approval: approval.querySelector("input").checked };
    if (type.value === "user") body.user_id = form.querySelector('[data-testid="grant-user"]').value.trim();
    if (type.value === "role") body.role = role.value;
    if (type.value === "api_key") body.api_key_id = form.querySelector('[data-testid="grant-key"]').value.trim();
    const nb = localToMs(from.value);
    const na = localToMs(until.value);
    if (nb) body.not_before = nb;
    if (na) body.not_after = na;
    if (maxUses.value) body.max_uses = Number(maxUses.value);
    busy(
      submit,
      async () => {
        await api("POST", `/api/v1/seals/${encodeURIComponent(seal.id)}/grants`, { json: body });
        toast(t("grants.added"), "ok");
        err.set("");
        load();
      },
      (e) => err.set(errorText(e)),
    );
  });
  showType();
  mount(box, h("div", { class: "card-head" }, h("h2", { text: t("grants.title", { name: seal.name }) }), closeBtn), h("p", { class: "muted small", text: t("grants.intro") }), list, h("hr", { class: "divider" }), form);
  load();
  return box;
}

