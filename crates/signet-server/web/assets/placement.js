// Placing fields on a document's pages: a palette of field kinds per party, dragged onto the
// page image (or added with Enter at the page's centre), moved and resized with the pointer
// or the keyboard, or typed in as numbers. Positions are kept in PDF points on the page as
// displayed (origin bottom-left), as the envelope API takes them:
//   x_pt = x_px × scale,  y_pt = height_pt − y_px × scale,  scale = width_pt / image width_px.

import { api, errorText, field, h, loadImage, mount, setPartyColour, t, uid } from "./common.js";

/** Default size of each kind of field, in points. */
export const FIELD_SIZES = { seal: [120, 120], signature: [160, 56], date: [100, 22], text: [160, 22] };
const MIN_SIZE = 12;
const DRAG_TYPE = "application/x-signet-field";

/** The kinds of field a party may get. */
export function kindsFor(party) {
  if (party.role === "copy") return [];
  const kinds = ["signature", "date", "text"];
  if (party.seal_id) kinds.unshift("seal");
  return kinds;
}

/** The geometry of the page image on screen: points ↔ pixels. */
export function geometry(page, imgWidthPx) {
  const scale = page.width / imgWidthPx; // points per pixel
  return {
    scale,
    toPx(rect) {
      return { left: rect[0] / scale, top: (page.height - rect[3]) / scale, width: (rect[2] - rect[0]) / scale, height: (rect[3] - rect[1]) / scale };
    },
    /** The point (PDF points) under pixel (px, py) from the image's top-left. */
    toPt(px, py) {
      return [px * scale, page.height - py * scale];
    },
  };
}

/** Keeps `rect` on the page, its size at least MIN_SIZE and at most the page. */
export function clampRect(rect, page) {
  let [x1, y1, x2, y2] = rect;
  let w = Math.min(Math.max(x2 - x1, MIN_SIZE), page.width);
  let hgt = Math.min(Math.max(y2 - y1, MIN_SIZE), page.height);
  x1 = Math.min(Math.max(x1, 0), page.width - w);
  y1 = Math.min(Math.max(y1, 0), page.height - hgt);
  const r = (v) => Math.round(v * 10) / 10;
  return [r(x1), r(y1), r(x1 + w), r(y1 + hgt)];
}

/**
 * The editor. `fields` (mutated in place): `{key, party, kind, page, rect, label}`; `parties`:
 * `{name, role, seal_id}` by index. `onChange()` after every change.
 */
export function placementEditor({ docId, pageCount, parties, fields, onChange = () => {}, pageBase = null }) {
  // where page n's geometry is (and, + "/image", its picture): the document's, or another
  // view's (an embedded preparation reads the pages through its own session)
  const pageUrl = (n) => `${pageBase || `/api/v1/documents/${encodeURIComponent(docId)}/pages`}/${n}`;
  const pages = new Map(); // n → {width, height}
  let n = 1;
  let selected = null;
  let drag = null;

  const img = h("img", { alt: "", testid: "place-page-image", draggable: "false" });
  const overlay = h("div", { class: "overlay" });
  const loading = h("div", { class: "loading", text: t("common.loading") });
  const stage = h("div", { class: "page-stage", testid: "place-stage", "aria-label": t("place.stage") }, img, overlay, loading);
  const pageInput = h("input", { type: "number", min: "1", max: String(pageCount), value: "1", testid: "place-page", "aria-label": t("place.pageNumber") });
  const prev = h("button", { type: "button", class: "small", text: t("place.prevPage"), testid: "place-prev" });
  const next = h("button", { type: "button", class: "small", text: t("place.nextPage"), testid: "place-next" });
  const status = h("span", { class: "small muted", "aria-live": "polite", testid: "place-status" });
  const inspector = h("aside", { class: "inspector card", testid: "place-inspector", "aria-label": t("place.inspector") });
  const palette = h("aside", { class: "palette card", testid: "place-palette", "aria-label": t("place.palette") });

  // ---------- palette ----------
  palette.append(h("h3", { text: t("place.palette") }), h("p", { class: "small muted", text: t("place.paletteHint") }));
  parties.forEach((p, i) => {
    const kinds = kindsFor(p);
    const box = setPartyColour(h("div", { class: "party" }), i);
    box.append(h("div", { class: "party-name" }, h("span", { class: "swatch", "aria-hidden": "true" }), p.name || t("wizard.partyN", { n: i + 1 })));
    if (!kinds.length) box.append(h("p", { class: "small muted", text: t("place.copyOnly") }));
    const grid = h("div", { class: "kinds" });
    for (const kind of kinds) {
      const b = h("button", {
        type: "button",
        draggable: "true",
        testid: `palette-${i}-${kind}`,
        "data-party": String(i),
        "data-kind": kind,
        "aria-label": t("place.addFor", { kind: t(`kind.${kind}`), name: p.name || t("wizard.partyN", { n: i + 1 }) }),
        text: t(`kind.${kind}`),
      });
      b.addEventListener("dragstart", (ev) => {
        ev.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ party: i, kind }));
        ev.dataTransfer.setData("text/plain", `${kind}`);
        ev.dataTransfer.effectAllowed = "copy";
      });
      // the keyboard (and a plain click) adds the field at the page's centre
      b.addEventListener("click", () => {
        const page = pages.get(n);
        if (!page) return;
        const [w, hh] = FIELD_SIZES[kind];
        add(i, kind, [page.width / 2 - w / 2, page.height / 2 - hh / 2, page.width / 2 + w / 2, page.height / 2 + hh / 2], true);
      });
      grid.append(b);
    }
    box.append(grid);
    palette.append(box);
  });

  // ---------- page ----------
  async function showPage(target) {
    n = Math.min(Math.max(1, target), pageCount);
    pageInput.value = String(n);
    prev.disabled = n <= 1;
    next.disabled = n >= pageCount;
    status.textContent = t("place.pageOf", { n, count: pageCount });
    loading.hidden = false;
    try {
      if (!pages.has(n)) {
        const info = await api("GET", pageUrl(n));
        pages.set(n, { width: info.width, height: info.height });
      }
      const page = pages.get(n);
      const dpr = Math.min(window.devicePixelRatio || 1, 2);
      const dpi = Math.round(Math.min(200, Math.max(36, (900 / page.width) * 72 * dpr)));
      img.alt = t("place.pageOf", { n, count: pageCount });
      await loadImage(img, `${pageUrl(n)}/image?dpi=${dpi}`);
      stage.dataset.page = String(n);
      stage.dataset.widthPt = String(page.width);
      stage.dataset.heightPt = String(page.height);
      loading.hidden = true;
      draw();
    } catch (e) {
      loading.textContent = errorText(e);
    }
  }
  prev.addEventListener("click", () => showPage(n - 1));
  next.addEventListener("click", () => showPage(n + 1));
  pageInput.addEventListener("change", () => showPage(Number(pageInput.value) || 1));

  function geo() {
    const page = pages.get(n);
    if (!page || !img.clientWidth) return null;
    return geometry(page, img.clientWidth);
  }

  // ---------- fields ----------
  function add(party, kind, rect, focus) {
    const page = pages.get(n);
    const f = { key: uid("fld"), party, kind, page: n, rect: clampRect(rect, page), label: null };
    fields.push(f);
    selected = f.key;
    changed();
    draw(focus);
    if (!focus) {
      const el = overlay.querySelector(`[data-key="${f.key}"]`);
      if (el) el.focus({ preventScroll: true });
    }
  }

  function remove(key) {
    const i = fields.findIndex((f) => f.key === key);
    if (i >= 0) fields.splice(i, 1);
    if (selected === key) selected = null;
    changed();
    draw();
    stage.focus();
  }

  function changed() {
    onChange();
    drawInspector();
  }

  function position(el, f, g) {
    const px = g.toPx(f.rect);
    el.style.left = `${px.left}px`;
    el.style.top = `${px.top}px`;
    el.style.width = `${px.width}px`;
    el.style.height = `${px.height}px`;
    el.dataset.rect = f.rect.join(",");
    el.setAttribute("aria-label", describe(f));
  }

  function describe(f) {
    const p = parties[f.party];
    return t("place.fieldLabel", {
      kind: t(`kind.${f.kind}`),
      name: (p && p.name) || "",
      page: f.page,
      x: Math.round(f.rect[0]),
      y: Math.round(f.rect[1]),
      w: Math.round(f.rect[2] - f.rect[0]),
      h: Math.round(f.rect[3] - f.rect[1]),
    });
  }

  /** Draws the fields of the page shown; `focusSelected` moves the focus to the selected one. */
  function draw(focusSelected = false) {
    const g = geo();
    const hadFocus = overlay.contains(document.activeElement);
    overlay.replaceChildren();
    if (!g) return;
    for (const f of fields) {
      if (f.page !== n) continue;
      const p = parties[f.party];
      const handle = h("span", { class: "handle", "aria-hidden": "true", "data-handle": "1" });
      const el = setPartyColour(
        h(
          "div",
          {
            class: "placed",
            tabindex: "0",
            role: "button",
            "aria-roledescription": t("place.movable"),
            "aria-pressed": String(f.key === selected),
            testid: "placed-field",
            "data-key": f.key,
            "data-kind": f.kind,
            "data-party": String(f.party),
            "data-page": String(f.page),
          },
          h("span", { text: `${t(`kind.${f.kind}`)}${p && p.name ? ` · ${p.name}` : ""}` }),
          handle,
        ),
        f.party,
      );
      position(el, f, g);
      el.addEventListener("pointerdown", (ev) => startDrag(ev, f, el, ev.target === handle ? "resize" : "move"));
      el.addEventListener("keydown", (ev) => onKey(ev, f));
      el.addEventListener("focus", () => {
        if (selected !== f.key) {
          selected = f.key;
          for (const o of overlay.children) o.setAttribute("aria-pressed", String(o.dataset.key === f.key));
          drawInspector();
        }
      });
      overlay.append(el);
    }
    if (focusSelected || hadFocus) {
      const el = selected && overlay.querySelector(`[data-key="${selected}"]`);
      if (el) el.focus({ preventScroll: true });
    }
  }

  function startDrag(ev, f, el, mode) {
    if (ev.button !== 0) return;
    ev.preventDefault();
    selected = f.key;
    for (const o of overlay.children) o.setAttribute("aria-pressed", String(o.dataset.key === f.key));
    el.focus({ preventScroll: true });
    el.setPointerCapture(ev.pointerId);
    drag = { mode, x: ev.clientX, y: ev.clientY, rect: [...f.rect], f, el, moved: false };
    drawInspector();
  }

  stage.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const g = geo();
    const page = pages.get(n);
    if (!g) return;
    const dx = (ev.clientX - drag.x) * g.scale;
    const dy = (ev.clientY - drag.y) * g.scale;
    const [x1, y1, x2, y2] = drag.rect;
    if (drag.mode === "move") {
      drag.f.rect = clampRect([x1 + dx, y1 - dy, x2 + dx, y2 - dy], page);
    } else {
      // the bottom-right corner follows the pointer; the top-left stays
      const nx2 = Math.min(Math.max(x2 + dx, x1 + MIN_SIZE), page.width);
      const ny1 = Math.max(Math.min(y1 - dy, y2 - MIN_SIZE), 0);
      drag.f.rect = clampRect([x1, ny1, nx2, y2], page);
    }
    drag.moved = true;
    position(drag.el, drag.f, g);
    fillInspector();
  });
  const endDrag = () => {
    if (!drag) return;
    const moved = drag.moved;
    drag = null;
    if (moved) changed();
  };
  stage.addEventListener("pointerup", endDrag);
  stage.addEventListener("pointercancel", endDrag);
  stage.addEventListener("pointerdown", (ev) => {
    if (ev.target === stage || ev.target === overlay || ev.target === img) {
      selected = null;
      draw();
      drawInspector();
    }
  });

  function onKey(ev, f) {
    const page = pages.get(n);
    const step = ev.shiftKey ? 10 : 1;
    let [x1, y1, x2, y2] = f.rect;
    const resize = ev.altKey || ev.ctrlKey;
    switch (ev.key) {
      case "ArrowLeft":
        if (resize) x2 -= step;
        else [x1, x2] = [x1 - step, x2 - step];
        break;
      case "ArrowRight":
        if (resize) x2 += step;
        else [x1, x2] = [x1 + step, x2 + step];
        break;
      case "ArrowUp":
        if (resize) y1 += step;
        else [y1, y2] = [y1 + step, y2 + step];
        break;
      case "ArrowDown":
        if (resize) y1 -= step;
        else [y1, y2] = [y1 - step, y2 - step];
        break;
      case "Delete":
      case "Backspace":
        ev.preventDefault();
        remove(f.key);
        return;
      case "Escape":
        selected = null;
        draw();
        drawInspector();
        stage.focus();
        return;
      default:
        return;
    }
    ev.preventDefault();
    if (resize) {
      // resizing keeps the top-left corner
      x2 = Math.max(x2, x1 + MIN_SIZE);
      y1 = Math.min(y1, y2 - MIN_SIZE);
      f.rect = clampRect([x1, y1, x2, y2], page);
    } else {
      f.rect = clampRect([x1, y1, x2, y2], page);
    }
    const g = geo();
    const el = overlay.querySelector(`[data-key="${f.key}"]`);
    if (g && el) position(el, f, g);
    changed();
  }

  // drops from the palette
  stage.tabIndex = -1;
  stage.addEventListener("dragover", (ev) => {
    if (!ev.dataTransfer || !Array.from(ev.dataTransfer.types).includes(DRAG_TYPE)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "copy";
    stage.classList.add("drop-target");
  });
  stage.addEventListener("dragleave", () => stage.classList.remove("drop-target"));
  stage.addEventListener("drop", (ev) => {
    stage.classList.remove("drop-target");
    const raw = ev.dataTransfer && ev.dataTransfer.getData(DRAG_TYPE);
    if (!raw) return;
    ev.preventDefault();
    const { party, kind } = JSON.parse(raw);
    const g = geo();
    if (!g) return;
    const box = img.getBoundingClientRect();
    const [cx, cy] = g.toPt(ev.clientX - box.left, ev.clientY - box.top);
    const [w, hh] = FIELD_SIZES[kind];
    add(party, kind, [cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2], false);
  });

  new ResizeObserver(() => draw()).observe(img);

  // ---------- inspector ----------
  const inputs = {};
  function drawInspector() {
    const f = fields.find((x) => x.key === selected);
    inspector.replaceChildren(h("h3", { text: t("place.inspector") }));
    if (!f) {
      inspector.append(
        h("p", { class: "small muted", text: t("place.noneSelected") }),
        h(
          "ul",
          { class: "kbd-help" },
          h("li", {}, h("kbd", { text: "Tab" }), " ", t("place.helpTab")),
          h("li", {}, h("kbd", { text: "←↑→↓" }), " ", t("place.helpMove")),
          h("li", {}, h("kbd", { text: "Alt" }), " + ", h("kbd", { text: "←↑→↓" }), " ", t("place.helpResize")),
          h("li", {}, h("kbd", { text: "Shift" }), " ", t("place.helpBig")),
          h("li", {}, h("kbd", { text: "Delete" }), " ", t("place.helpDelete")),
        ),
        h("p", { class: "small muted", testid: "place-count", text: t("place.count", { count: fields.length }) }),
      );
      return;
    }
    const partySel = h("select", { testid: "field-party" });
    parties.forEach((p, i) => {
      if (kindsFor(p).includes(f.kind)) partySel.append(h("option", { value: String(i), text: p.name || t("wizard.partyN", { n: i + 1 }) }));
    });
    partySel.value = String(f.party);
    partySel.addEventListener("change", () => {
      f.party = Number(partySel.value);
      changed();
      draw();
    });
    const num = (name, testid) => {
      const el = h("input", { type: "number", step: "1", testid });
      inputs[name] = el;
      return el;
    };
    const page = num("page", "field-page");
    page.min = "1";
    page.max = String(pageCount);
    const x = num("x", "field-x");
    const y = num("y", "field-y");
    const w = num("w", "field-w");
    const hh = num("h", "field-h");
    const apply = async () => {
      const target = Math.min(Math.max(1, Math.round(Number(page.value) || 1)), pageCount);
      if (!pages.has(target)) {
        const info = await api("GET", pageUrl(target));
        pages.set(target, { width: info.width, height: info.height });
      }
      const X = Number(x.value) || 0;
      const Y = Number(y.value) || 0;
      f.rect = clampRect([X, Y, X + (Number(w.value) || MIN_SIZE), Y + (Number(hh.value) || MIN_SIZE)], pages.get(target));
      const pageChanged = f.page !== target;
      f.page = target;
      changed();
      if (pageChanged) showPage(target);
      else draw();
    };
    for (const el of [page, x, y, w, hh]) el.addEventListener("change", apply);
    const del = h("button", { type: "button", class: "danger small", text: t("place.delete"), testid: "field-delete" });
    del.addEventListener("click", () => remove(f.key));
    inspector.append(
      h("p", {}, setPartyColour(h("span", { class: "badge", text: t(`kind.${f.kind}`) }), f.party)),
      field(t("place.party"), partySel),
      field(t("place.page"), page),
      h("div", { class: "coords" }, field(t("place.x"), x), field(t("place.y"), y), field(t("place.w"), w), field(t("place.h"), hh)),
      h("p", { class: "small muted", text: t("place.unitsHint") }),
    );
    if (f.kind === "text") {
      const label = h("input", { type: "text", value: f.label || "", testid: "field-label" });
      label.addEventListener("input", () => {
        f.label = label.value || null;
        onChange();
      });
      inspector.append(field(t("place.label"), label));
    }
    inspector.append(h("div", { class: "actions" }, del));
    fillInspector();
  }

  function fillInspector() {
    const f = fields.find((x) => x.key === selected);
    if (!f || !inputs.x) return;
    const values = { page: f.page, x: f.rect[0], y: f.rect[1], w: Math.round((f.rect[2] - f.rect[0]) * 10) / 10, h: Math.round((f.rect[3] - f.rect[1]) * 10) / 10 };
    for (const [k, v] of Object.entries(values)) {
      if (inputs[k] && document.activeElement !== inputs[k]) inputs[k].value = String(v);
    }
  }

  const root = h(
    "div",
    { class: "placer", testid: "placement-editor" },
    palette,
    h("div", {}, h("div", { class: "page-toolbar" }, prev, h("label", { class: "small", for: pageInput.id || (pageInput.id = uid("pg")), text: t("place.page") }), pageInput, status, next), stage),
    inspector,
  );
  drawInspector();
  showPage(1);
  return root;
}

/**
 * Highlights fields on a page image (read-only): the signer page and the envelope's preview.
 * `colourOf(field)` gives the party colour's index.
 */
export function fieldsOverlay(stageEl, img, page, fieldsOnPage, colourOf = () => 0, mine = true) {
  let overlay = stageEl.querySelector(".overlay");
  if (!overlay) {
    overlay = h("div", { class: "overlay" });
    stageEl.append(overlay);
  }
  const drawAll = () => {
    overlay.replaceChildren();
    if (!img.clientWidth) return;
    const g = geometry(page, img.clientWidth);
    for (const f of fieldsOnPage) {
      const px = g.toPx(f.rect);
      const el = setPartyColour(
        h("div", { class: `placed readonly${mine ? " mine" : ""}`, testid: "field-highlight", "data-kind": f.kind, "data-field": f.id || "" }, h("span", { text: f.value || f.label || t(`kind.${f.kind}`) })),
        colourOf(f),
      );
      el.style.left = `${px.left}px`;
      el.style.top = `${px.top}px`;
      el.style.width = `${px.width}px`;
      el.style.height = `${px.height}px`;
      overlay.append(el);
    }
  };
  new ResizeObserver(drawAll).observe(img);
  drawAll();
  return drawAll;
}
