// The administration pages of the console: templates, users and roles, API keys, webhooks,
// the signing log, and the tenant's settings.

import {
  api,
  busy,
  checkbox,
  confirmDialog,
  errorText,
  field,
  fmtTime,
  formError,
  h,
  localToMs,
  modal,
  mount,
  query,
  select,
  showSecret,
  statusBadge,
  t,
  toast,
} from "./common.js";

const ROLES = ["tenant_admin", "seal_admin", "seal_user", "auditor", "signer"];
const SCOPES = ["sign-document", "sign-hash", "manage"];

function head(titleKey, introKey, ...extra) {
  return h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t(titleKey) }), introKey ? h("p", { text: t(introKey) }) : null), ...extra);
}

function table(testid, headers, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { testid },
      h("thead", {}, h("tr", {}, headers.map((x) => (x ? h("th", { text: x }) : h("th", {}, h("span", { class: "visually-hidden", text: t("common.actions") })))))),
      h("tbody", {}, rows),
    ),
  );
}

function roleBadges(roles) {
  return roles && roles.length ? roles.map((r) => [h("span", { class: "badge", text: t(`role.${r}`) }), " "]) : h("span", { class: "muted", text: "—" });
}

function roleChecks(prefix, chosen = []) {
  return h(
    "div",
    { class: "checks", role: "group" },
    ROLES.map((r) => checkbox(t(`role.${r}`), { value: r, checked: chosen.includes(r), testid: `${prefix}-${r}` })),
  );
}

function checkedValues(el) {
  return [...el.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
}

// ---------- templates ----------

export async function renderTemplates(ctx, el) {
  const canEdit = ctx.can("manageAssets");
  const list = h("div", {});
  const name = h("input", { type: "text", testid: "template-name", pattern: "[A-Za-z0-9._-]{1,64}" });
  const placements = h("textarea", { testid: "template-placements", class: "mono", rows: "8" });
  placements.value = JSON.stringify([{ page: 1, rect: [400, 40, 550, 120], text: ["ACME Ltd"] }], null, 2);
  const err = formError("template-error");
  const save = h("button", { type: "submit", class: "primary", text: t("common.save"), testid: "template-save" });
  const form = canEdit
    ? h("form", { class: "card", testid: "template-form", novalidate: true }, h("h2", { text: t("templates.edit") }), err, field(t("templates.name"), name, t("templates.nameHint")), field(t("templates.placements"), placements, t("templates.placementsHint")), h("div", { class: "actions end" }, save))
    : null;
  if (form) {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      let p;
      try {
        p = JSON.parse(placements.value);
      } catch (e) {
        return err.set(`${t("templates.badJson")} ${e.message}`);
      }
      busy(
        save,
        async () => {
          await api("PUT", `/api/v1/templates/${encodeURIComponent(name.value.trim())}`, { json: { placements: p } });
          toast(t("common.saved"), "ok");
          err.set("");
          load();
        },
        (e) => err.set(errorText(e)),
      );
    });
  }
  async function load() {
    try {
      const items = await api("GET", "/api/v1/templates");
      mount(
        list,
        items.length
          ? table(
              "templates-list",
              [t("templates.name"), t("templates.placements"), t("env.updated"), ""],
              items.map((tp) => {
                const edit = h("button", { type: "button", class: "small", text: t("common.edit"), testid: "template-edit" });
                edit.addEventListener("click", () => {
                  name.value = tp.name;
                  placements.value = JSON.stringify(tp.placements, null, 2);
                  placements.focus();
                });
                const del = h("button", { type: "button", class: "small danger", text: t("common.delete"), testid: "template-delete" });
                del.addEventListener("click", async () => {
                  if ((await confirmDialog(t("templates.deleteTitle", { name: tp.name }), { okText: t("common.delete"), danger: true })) === null) return;
                  busy(del, async () => {
                    await api("DELETE", `/api/v1/templates/${encodeURIComponent(tp.name)}`);
                    load();
                  });
                });
                return h(
                  "tr",
                  { "data-name": tp.name },
                  h("td", { class: "mono", text: tp.name }),
                  h("td", {}, h("details", {}, h("summary", { text: t("templates.count", { count: (tp.placements || []).length }) }), h("pre", { class: "small mono", text: JSON.stringify(tp.placements, null, 2) }))),
                  h("td", { class: "small", text: fmtTime(tp.updated_at) }),
                  h("td", {}, canEdit ? h("div", { class: "actions" }, edit, del) : null),
                );
              }),
            )
          : h("p", { class: "empty", text: t("templates.none") }),
      );
    } catch (e) {
      mount(list, h("p", { class: "empty", text: errorText(e) }));
    }
  }
  mount(el, head("nav.templates", "templates.intro"), h("section", { class: "card" }, list), form);
  load();
}

// ---------- users ----------

export async function renderUsers(ctx, el) {
  const list = h("div", {});
  const username = h("input", { type: "text", required: true, testid: "user-username", autocomplete: "off", autocapitalize: "none" });
  const display = h("input", { type: "text", testid: "user-display-name", autocomplete: "off" });
  const email = h("input", { type: "email", testid: "user-email", autocomplete: "off" });
  const password = h("input", { type: "password", testid: "user-password", autocomplete: "new-password" });
  const roles = roleChecks("user-role");
  const err = formError("user-error");
  const create = h("button", { type: "submit", class: "primary", text: t("users.create"), testid: "user-create-submit" });
  const form = h(
    "form",
    { class: "card", testid: "user-create-form", novalidate: true },
    h("h2", { text: t("users.new") }),
    err,
    h("div", { class: "form-row" }, field(t("users.username"), username), field(t("users.displayName"), display), field(t("users.email"), email)),
    h("fieldset", {}, h("legend", { text: t("users.roles") }), roles),
    field(t("users.initialPassword"), password, t("users.passwordHint")),
    h("div", { class: "actions end" }, create),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { username: username.value.trim(), roles: checkedValues(roles) };
    if (display.value.trim()) body.display_name = display.value.trim();
    if (email.value.trim()) body.email = email.value.trim();
    if (password.value) body.password = password.value;
    busy(
      create,
      async () => {
        await api("POST", "/api/v1/users", { json: body });
        toast(t("users.created", { name: body.username }), "ok");
        form.reset();
        err.set("");
        load();
      },
      (e) => err.set(errorText(e)),
    );
  });

  async function load() {
    let users;
    try {
      users = await api("GET", "/api/v1/users");
    } catch (e) {
      mount(list, h("p", { class: "empty", text: errorText(e) }));
      return;
    }
    const now = Date.now();
    mount(
      list,
      table(
        "users-list",
        [t("users.username"), t("users.roles"), t("env.status"), t("users.mfa"), ""],
        users.map((u) => {
          const actions = h("div", { class: "actions" });
          const edit = h("button", { type: "button", class: "small", text: t("common.edit"), testid: "user-edit" });
          edit.addEventListener("click", () => editUser(u, load));
          actions.append(edit);
          if (u.locked_until && u.locked_until > now) {
            const unlock = h("button", { type: "button", class: "small", text: t("users.unlock"), testid: "user-unlock" });
            unlock.addEventListener("click", () =>
              busy(unlock, async () => {
                await api("POST", `/api/v1/users/${encodeURIComponent(u.id)}/unlock`);
                toast(t("users.unlocked"), "ok");
                load();
              }),
            );
            actions.append(unlock);
          }
          if (u.mfa_enabled) {
            const reset = h("button", { type: "button", class: "small", text: t("users.resetMfa"), testid: "user-reset-mfa" });
            reset.addEventListener("click", async () => {
              if ((await confirmDialog(t("users.resetMfaTitle", { name: u.username }), { text: t("users.resetMfaText"), okText: t("users.resetMfa") })) === null) return;
              busy(reset, async () => {
                await api("DELETE", `/api/v1/users/${encodeURIComponent(u.id)}/mfa`);
                toast(t("users.mfaReset"), "ok");
                load();
              });
            });
            actions.append(reset);
          }
          const pw = h("button", { type: "button", class: "small", text: t("users.setPassword"), testid: "user-set-password" });
          pw.addEventListener("click", async () => {
            const input = h("input", { type: "password", autocomplete: "new-password", testid: "user-new-password" });
            const v = await modal({ title: t("users.setPasswordTitle", { name: u.username }), testid: "password-dialog", body: field(t("account.newPassword"), input, t("account.passwordHint")), collect: () => input.value });
            if (!v) return;
            busy(pw, async () => {
              await api("POST", `/api/v1/users/${encodeURIComponent(u.id)}/password`, { json: { password: v } });
              toast(t("account.passwordChanged"), "ok");
            });
          });
          actions.append(pw);
          return h(
            "tr",
            { testid: "user-row", "data-username": u.username, "data-id": u.id },
            h("td", {}, h("strong", { text: u.display_name }), h("div", { class: "small muted" }, u.username, u.email ? ` · ${u.email}` : "")),
            h("td", {}, roleBadges(u.roles)),
            h("td", {}, statusBadge(u.status), u.locked_until && u.locked_until > now ? [" ", h("span", { class: "badge warn", text: t("users.locked") })] : null),
            h("td", {}, u.mfa_enabled ? h("span", { class: "badge ok", text: t("users.mfaOn") }) : h("span", { class: "badge", text: t("users.mfaOff") })),
            h("td", {}, actions),
          );
        }),
      ),
    );
  }
  mount(el, head("nav.users", "users.intro"), h("section", { class: "card" }, list), form);
  load();
}

async function editUser(u, done) {
  const display = h("input", { type: "text", value: u.display_name, testid: "edit-display-name" });
  const email = h("input", { type: "email", value: u.email || "", testid: "edit-email" });
  const roles = roleChecks("edit-role", u.roles);
  const status = select([["active", t("status.active")], ["disabled", t("status.disabled")]], { value: u.status, testid: "edit-status" });
  const v = await modal({
    title: t("users.editTitle", { name: u.username }),
    testid: "user-dialog",
    okText: t("common.save"),
    body: h("div", {}, field(t("users.displayName"), display), field(t("users.email"), email), h("fieldset", {}, h("legend", { text: t("users.roles") }), roles), field(t("env.status"), status)),
    collect: () => ({ display_name: display.value.trim(), email: email.value.trim(), roles: checkedValues(roles), status: status.value }),
  });
  if (!v) return;
  try {
    await api("PATCH", `/api/v1/users/${encodeURIComponent(u.id)}`, { json: v });
    toast(t("common.saved"), "ok");
    done();
  } catch (e) {
    toast(errorText(e), "bad");
  }
}

// ---------- API keys ----------

export async function renderKeys(ctx, el) {
  const list = h("div", {});
  const name = h("input", { type: "text", required: true, testid: "key-name" });
  const scopes = h("div", { class: "checks", role: "group" }, SCOPES.map((s) => checkbox(t(`scope.${s}`), { value: s, testid: `key-scope-${s}`, checked: s === "sign-document" })));
  const err = formError("key-error");
  const create = h("button", { type: "submit", class: "primary", text: t("keys.create"), testid: "key-create-submit" });
  const form = h("form", { class: "card", testid: "key-create-form", novalidate: true }, h("h2", { text: t("keys.new") }), err, field(t("keys.name"), name), h("fieldset", {}, h("legend", { text: t("keys.scopes") }), scopes), h("div", { class: "actions end" }, create));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(
      create,
      async () => {
        const r = await api("POST", "/api/v1/keys", { json: { name: name.value.trim(), scopes: checkedValues(scopes) } });
        form.reset();
        err.set("");
        load();
        await showSecret(t("keys.tokenTitle"), t("keys.tokenIntro"), r.token, "key-token");
      },
      (e) => err.set(errorText(e)),
    );
  });
  async function load() {
    try {
      const keys = await api("GET", "/api/v1/keys");
      mount(
        list,
        keys.length
          ? table(
              "keys-list",
              [t("keys.name"), t("keys.scopes"), t("keys.created"), t("env.status"), ""],
              keys.map((k) => {
                const revoke = k.revoked_at ? null : h("button", { type: "button", class: "small danger", text: t("keys.revoke"), testid: "key-revoke" });
                if (revoke) {
                  revoke.addEventListener("click", async () => {
                    if ((await confirmDialog(t("keys.revokeTitle", { name: k.name }), { text: t("keys.revokeText"), okText: t("keys.revoke"), danger: true })) === null) return;
                    busy(revoke, async () => {
                      await api("DELETE", `/api/v1/keys/${encodeURIComponent(k.id)}`);
                      toast(t("keys.revoked"), "ok");
                      load();
                    });
                  });
                }
                return h(
                  "tr",
                  { testid: "key-row", "data-id": k.id, "data-name": k.name },
                  h("td", {}, h("strong", { text: k.name }), h("div", { class: "small muted mono", text: k.id })),
                  h("td", {}, k.scopes.map((s) => [h("span", { class: "badge", text: s }), " "])),
                  h("td", { class: "small", text: fmtTime(k.created_at) }),
                  h("td", {}, k.revoked_at ? statusBadge("revoked") : statusBadge("active")),
                  h("td", {}, revoke),
                );
              }),
            )
          : h("p", { class: "empty", text: t("keys.none") }),
      );
    } catch (e) {
      mount(list, h("p", { class: "empty", text: errorText(e) }));
    }
  }
  mount(el, head("nav.keys", "keys.intro"), h("section", { class: "card" }, list), form);
  load();
}

// ---------- webhooks ----------

export async function renderWebhooks(ctx, el) {
  const list = h("div", {});
  const deliveries = h("div", {});
  const url = h("input", { type: "url", required: true, testid: "webhook-url", placeholder: "https://erp.example.com/signet/events" });
  const events = h("input", { type: "text", testid: "webhook-events", placeholder: "envelope.completed, seal.*" });
  const description = h("input", { type: "text", testid: "webhook-description" });
  const err = formError("webhook-error");
  const create = h("button", { type: "submit", class: "primary", text: t("webhooks.create"), testid: "webhook-create-submit" });
  const form = h(
    "form",
    { class: "card", testid: "webhook-create-form", novalidate: true },
    h("h2", { text: t("webhooks.new") }),
    err,
    field(t("webhooks.url"), url),
    h("div", { class: "form-row" }, field(t("webhooks.events"), events, t("webhooks.eventsHint")), field(t("webhooks.description"), description)),
    h("div", { class: "actions end" }, create),
  );
  const parseEvents = (s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { url: url.value.trim(), events: parseEvents(events.value) };
    if (description.value.trim()) body.description = description.value.trim();
    busy(
      create,
      async () => {
        const r = await api("POST", "/api/v1/webhooks", { json: body });
        form.reset();
        err.set("");
        load();
        await showSecret(t("webhooks.secretTitle"), t("webhooks.secretIntro"), r.secret, "webhook-secret");
      },
      (e) => err.set(errorText(e)),
    );
  });

  async function showDeliveries(w, before) {
    try {
      const page = await api("GET", `/api/v1/webhooks/${encodeURIComponent(w.id)}/deliveries${query({ before, limit: 50 })}`);
      const more = page.next_before ? h("button", { type: "button", class: "small", text: t("common.more"), testid: "deliveries-more" }) : null;
      if (more) more.addEventListener("click", () => showDeliveries(w, page.next_before));
      const close = h("button", { type: "button", class: "ghost small", text: t("common.close") });
      close.addEventListener("click", () => mount(deliveries));
      mount(
        deliveries,
        h(
          "section",
          { class: "card", testid: "webhook-deliveries-panel" },
          h("div", { class: "card-head" }, h("h2", { text: t("webhooks.deliveriesOf", { url: w.url }) }), close),
          page.deliveries.length
            ? table(
                "deliveries-list",
                [t("webhooks.event"), t("env.status"), t("webhooks.attempts"), t("webhooks.last"), ""],
                page.deliveries.map((d) => {
                  const again = h("button", { type: "button", class: "small", text: t("webhooks.redeliver"), testid: "delivery-redeliver" });
                  again.addEventListener("click", () =>
                    busy(again, async () => {
                      await api("POST", `/api/v1/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`);
                      toast(t("webhooks.queued"), "ok");
                      showDeliveries(w);
                    }),
                  );
                  return h(
                    "tr",
                    { testid: "delivery-row", "data-id": d.id },
                    h("td", {}, h("strong", { text: d.event_type }), h("div", { class: "small muted mono", text: d.event_id })),
                    h("td", {}, statusBadge(d.state)),
                    h("td", { text: String(d.attempts) }),
                    h("td", { class: "small" }, fmtTime(d.last_attempt_at), d.last_status_code ? ` · HTTP ${d.last_status_code}` : "", d.last_error ? h("div", { class: "muted", text: d.last_error }) : null),
                    h("td", {}, again),
                  );
                }),
              )
            : h("p", { class: "muted", text: t("webhooks.noDeliveries") }),
          more,
        ),
      );
    } catch (e) {
      toast(errorText(e), "bad");
    }
  }

  async function load() {
    try {
      const hooks = await api("GET", "/api/v1/webhooks");
      mount(
        list,
        hooks.length
          ? table(
              "webhooks-list",
              [t("webhooks.url"), t("webhooks.events"), t("env.status"), ""],
              hooks.map((w) => {
                const ping = h("button", { type: "button", class: "small", text: t("webhooks.ping"), testid: "webhook-ping" });
                ping.addEventListener("click", () =>
                  busy(ping, async () => {
                    await api("POST", `/api/v1/webhooks/${encodeURIComponent(w.id)}/ping`);
                    toast(t("webhooks.queued"), "ok");
                  }),
                );
                const log = h("button", { type: "button", class: "small", text: t("webhooks.deliveries"), testid: "webhook-deliveries" });
                log.addEventListener("click", () => showDeliveries(w));
                const toggle = h("button", { type: "button", class: "small", text: w.active ? t("webhooks.disable") : t("webhooks.enable"), testid: "webhook-toggle" });
                toggle.addEventListener("click", () =>
                  busy(toggle, async () => {
                    await api("PATCH", `/api/v1/webhooks/${encodeURIComponent(w.id)}`, { json: { active: !w.active } });
                    load();
                  }),
                );
                const rotate = h("button", { type: "button", class: "small", text: t("webhooks.rotate"), testid: "webhook-rotate" });
                rotate.addEventListener("click", async () => {
                  if ((await confirmDialog(t("webhooks.rotateTitle"), { text: t("webhooks.rotateText") })) === null) return;
                  busy(rotate, async () => {
                    const r = await api("POST", `/api/v1/webhooks/${encodeURIComponent(w.id)}/rotate-secret?previous_valid_seconds=86400`);
                    await showSecret(t("webhooks.secretTitle"), t("webhooks.secretIntro"), r.secret, "webhook-secret");
                  });
                });
                const del = h("button", { type: "button", class: "small danger", text: t("common.delete"), testid: "webhook-delete" });
                del.addEventListener("click", async () => {
                  if ((await confirmDialog(t("webhooks.deleteTitle"), { text: w.url, okText: t("common.delete"), danger: true })) === null) return;
                  busy(del, async () => {
                    await api("DELETE", `/api/v1/webhooks/${encodeURIComponent(w.id)}`);
                    load();
                  });
                });
                return h(
                  "tr",
                  { testid: "webhook-row", "data-id": w.id },
                  h("td", {}, h("span", { class: "mono small", text: w.url }), w.description ? h("div", { class: "small muted", text: w.description }) : null),
                  h("td", { class: "small", text: w.events && w.events.length ? w.events.join(", ") : t("webhooks.allEvents") }),
                  h("td", {}, statusBadge(w.active ? "active" : "disabled")),
                  h("td", {}, h("div", { class: "actions" }, ping, log, toggle, rotate, del)),
                );
              }),
            )
          : h("p", { class: "empty", text: t("webhooks.none") }),
      );
    } catch (e) {
      mount(list, h("p", { class: "empty", text: errorText(e) }));
    }
  }
  mount(el, head("nav.webhooks", "webhooks.intro"), h("section", { class: "card" }, list), deliveries, form);
  load();
}

// ---------- the signing log ----------

export async function renderAudit(ctx, el) {
  const actor = h("input", { type: "text", testid: "audit-actor", placeholder: "usr_… / key_…" });
  const action = h("input", { type: "text", testid: "audit-action", placeholder: "seal." });
  const target = h("input", { type: "text", testid: "audit-target" });
  const outcome = select([["", t("env.allStatuses")], ["ok", t("status.ok")], ["refused", t("status.refused")], ["failed", t("status.failed")]], { testid: "audit-outcome" });
  const from = h("input", { type: "datetime-local", testid: "audit-from" });
  const until = h("input", { type: "datetime-local", testid: "audit-until" });
  const search = h("button", { type: "submit", class: "primary", text: t("common.search"), testid: "audit-search" });
  const csv = h("a", { class: "button", testid: "audit-export-csv", text: t("audit.exportCsv") });
  const json = h("a", { class: "button", testid: "audit-export-json", text: t("audit.exportJson") });
  const verify = h("button", { type: "button", text: t("audit.verify"), testid: "audit-verify" });
  const results = h("div", {});
  const verifyBox = h("div", {});
  const filters = () => ({
    actor: actor.value.trim(),
    action: action.value.trim(),
    target: target.value.trim(),
    outcome: outcome.value,
    from: localToMs(from.value),
    until: localToMs(until.value),
  });
  const updateExports = () => {
    csv.href = `/api/v1/audit/export${query({ ...filters(), format: "csv" })}`;
    csv.setAttribute("download", "signing-log.csv");
    json.href = `/api/v1/audit/export${query({ ...filters(), format: "json" })}`;
    json.setAttribute("download", "signing-log.json");
  };
  const form = h(
    "form",
    { class: "card", testid: "audit-filters", role: "search" },
    h("div", { class: "form-row" }, field(t("audit.actor"), actor), field(t("audit.action"), action, t("audit.actionHint")), field(t("audit.target"), target), field(t("audit.outcome"), outcome)),
    h("div", { class: "form-row" }, field(t("grants.from"), from), field(t("grants.until"), until)),
    h("div", { class: "actions end" }, verify, csv, json, search),
  );
  for (const i of [actor, action, target, outcome, from, until]) i.addEventListener("change", updateExports);
  let rows = [];
  async function load(after) {
    try {
      const page = await api("GET", `/api/v1/audit${query({ ...filters(), after_seq: after, limit: 100 })}`);
      rows = after ? rows.concat(page) : page;
      const more = page.length === 100 ? h("button", { type: "button", text: t("common.more"), testid: "audit-more" }) : null;
      if (more) more.addEventListener("click", () => busy(more, () => load(rows[rows.length - 1].seq)));
      mount(
        results,
        rows.length
          ? table(
              "audit-list",
              ["#", t("audit.time"), t("audit.actor"), t("audit.action"), t("audit.target"), t("audit.outcome")],
              rows.map((e) =>
                h(
                  "tr",
                  { testid: "audit-row", "data-seq": String(e.seq), "data-action": e.action },
                  h("td", { class: "small mono", text: String(e.seq) }),
                  h("td", { class: "small", text: fmtTime(e.at) }),
                  h("td", { class: "small" }, h("span", { class: "mono", text: e.actor }), h("div", { class: "muted", text: [e.actor_kind, e.ip].filter(Boolean).join(" · ") })),
                  h("td", {}, h("strong", { text: e.action }), e.detail ? h("details", {}, h("summary", { class: "small", text: t("audit.detail") }), h("pre", { class: "small mono", text: e.detail })) : null),
                  h("td", { class: "small" }, e.target_kind ? `${e.target_kind} ` : "", h("span", { class: "mono", text: e.target || "" })),
                  h("td", {}, statusBadge(e.outcome)),
                ),
              ),
            )
          : h("p", { class: "empty", text: t("audit.none") }),
        more,
      );
    } catch (e) {
      mount(results, h("p", { class: "empty", text: errorText(e) }));
    }
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    updateExports();
    busy(search, () => load());
  });
  verify.addEventListener("click", () =>
    busy(verify, async () => {
      const r = await api("GET", "/api/v1/audit/verify");
      mount(
        verifyBox,
        h(
          "section",
          { class: `card`, testid: "audit-verify-result", "data-intact": String(r.intact) },
          h("div", { class: `verdict ${r.intact ? "valid" : "invalid"}` }, h("div", { class: "icon", "aria-hidden": "true", text: r.intact ? "✓" : "✕" }), h("div", {}, h("div", { class: "big", text: r.intact ? t("audit.intact") : t("audit.broken") }), h("div", { text: t("audit.summary", { entries: r.chain.entries, anchors: r.anchors.length }) }))),
          h("dl", { class: "kv" }, h("dt", { text: t("audit.lastSeq") }), h("dd", { text: String(r.chain.last_seq) }), h("dt", { text: t("audit.head") }), h("dd", { class: "mono small", text: r.chain.head })),
          r.findings.length ? h("ul", { class: "reasons" }, r.findings.map((f) => h("li", { text: f }))) : null,
          r.anchors.length
            ? table(
                "audit-anchors",
                ["#", t("audit.time"), "TSA", t("verify.chain")],
                r.anchors.slice(-20).map((a) => h("tr", {}, h("td", { class: "mono small", text: String(a.seq) }), h("td", { class: "small", text: a.time ? fmtTime(a.time) : "—" }), h("td", { class: "small", text: a.tsa || "—" }), h("td", {}, a.trusted ? statusBadge("ok") : h("span", { class: "badge bad", text: a.problem || t("verify.trustedNo") })))),
              )
            : null,
        ),
      );
    }),
  );
  updateExports();
  mount(el, head("nav.audit", "audit.intro"), form, verifyBox, h("section", { class: "card" }, results));
  load();
}

// ---------- settings ----------

export async function renderSettings(ctx, el) {
  const s = await api("GET", "/api/v1/settings");
  const mfaRoles = roleChecks("settings-mfa", s.mfa_required_roles || []);
  const sso = s.sso || {};
  const ssoOn = h("input", { type: "checkbox", checked: Boolean(s.sso), testid: "settings-sso-enabled" });
  const issuer = h("input", { type: "url", value: sso.issuer || "", testid: "settings-sso-issuer" });
  const audiences = h("input", { type: "text", value: (sso.audiences || []).join(", "), testid: "settings-sso-audiences" });
  const jwks = h("input", { type: "url", value: sso.jwks_url || "", testid: "settings-sso-jwks" });
  const usernameClaim = h("input", { type: "text", value: sso.username_claim || "", testid: "settings-sso-username-claim", placeholder: "preferred_username" });
  const rolesClaim = h("input", { type: "text", value: sso.roles_claim || "", testid: "settings-sso-roles-claim", placeholder: "groups" });
  const roleMap = h("textarea", { testid: "settings-sso-role-map", class: "mono", rows: "4", placeholder: "legal=seal_admin" });
  roleMap.value = Object.entries(sso.role_map || {})
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
  const createUsers = h("input", { type: "checkbox", checked: Boolean(sso.create_users), testid: "settings-sso-create-users" });
  const defaultRoles = roleChecks("settings-sso-default", sso.default_roles || []);
  const ssoBox = h(
    "div",
    {},
    field(t("settings.issuer"), issuer),
    h("div", { class: "form-row" }, field(t("settings.audiences"), audiences, t("settings.audiencesHint")), field(t("settings.jwks"), jwks)),
    h("div", { class: "form-row" }, field(t("settings.usernameClaim"), usernameClaim), field(t("settings.rolesClaim"), rolesClaim)),
    field(t("settings.roleMap"), roleMap, t("settings.roleMapHint")),
    h("label", { class: "check" }, createUsers, h("span", { text: t("settings.createUsers") })),
    h("fieldset", {}, h("legend", { text: t("settings.defaultRoles") }), defaultRoles),
  );
  ssoBox.hidden = !ssoOn.checked;
  ssoOn.addEventListener("change", () => (ssoBox.hidden = !ssoOn.checked));
  const origins = h("textarea", { testid: "settings-embed-origins", class: "mono", rows: "3", placeholder: "https://oa.example.com" });
  origins.value = (s.embed_origins || []).join("\n");
  const err = formError("settings-error");
  const save = h("button", { type: "submit", class: "primary", text: t("common.save"), testid: "settings-save" });
  const form = h(
    "form",
    { novalidate: true, testid: "settings-form" },
    err,
    h("section", { class: "card" }, h("h2", { text: t("settings.mfa") }), h("p", { class: "muted", text: t("settings.mfaIntro") }), mfaRoles),
    h("section", { class: "card" }, h("h2", { text: t("settings.sso") }), h("label", { class: "check" }, ssoOn, h("span", { text: t("settings.ssoOn") })), ssoBox),
    h("section", { class: "card" }, h("h2", { text: t("settings.embed") }), h("p", { class: "muted", text: t("settings.embedIntro") }), field(t("settings.embedOrigins"), origins, t("settings.embedOriginsHint"))),
    h("div", { class: "actions end" }, save),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {
      mfa_required_roles: checkedValues(mfaRoles),
      embed_origins: origins.value
        .split("\n")
        .map((x) => x.trim())
        .filter(Boolean),
    };
    if (ssoOn.checked) {
      const map = {};
      for (const line of roleMap.value.split("\n")) {
        const [k, v] = line.split("=").map((x) => x && x.trim());
        if (k && v) map[k] = v;
      }
      body.sso = {
        issuer: issuer.value.trim(),
        audiences: audiences.value
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
        jwks_url: jwks.value.trim(),
        role_map: map,
        create_users: createUsers.checked,
        default_roles: checkedValues(defaultRoles),
      };
      if (usernameClaim.value.trim()) body.sso.username_claim = usernameClaim.value.trim();
      if (rolesClaim.value.trim()) body.sso.roles_claim = rolesClaim.value.trim();
    }
    busy(
      save,
      async () => {
        await api("PUT", "/api/v1/settings", { json: body });
        err.set("");
        toast(t("common.saved"), "ok");
      },
      (e) => err.set(errorText(e)),
    );
  });
  mount(el, head("nav.settings", "settings.intro"), form);
}
