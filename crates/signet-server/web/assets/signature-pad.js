// Adopting a signature: drawn on a canvas (pointer events: mouse, pen and touch), typed (the
// name drawn in a script-like system font), or an uploaded PNG/JPEG scaled onto the canvas.
// The result is a PNG data URL, cropped to the ink.

import { h, t, uid } from "./common.js";

const WIDTH = 900;
const HEIGHT = 300;
const INK = "#1b2a4a";
/** Script-like faces found on common systems; the last resort is the generic `cursive`. */
const SCRIPT_FONTS =
  '"Segoe Script", "Brush Script MT", "Snell Roundhand", "Apple Chancery", "URW Chancery L", "Z003", "Lucida Handwriting", "STKaiti", "KaiTi", "AR PL UKai CN", "AR PL UKai", "Kaiti SC", cursive';

export function signaturePad({ name = "", testid = "sigpad" } = {}) {
  let mode = "draw";
  let drawn = false;
  let uploaded = null; // an ImageBitmap or HTMLImageElement

  // ---------- draw ----------
  const drawCanvas = canvas(`${testid}-canvas`, t("sig.drawLabel"));
  const dctx = drawCanvas.getContext("2d");
  let last = null;
  const point = (ev) => {
    const r = drawCanvas.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * WIDTH, ((ev.clientY - r.top) / r.height) * HEIGHT, ev.pressure || 0.5];
  };
  drawCanvas.addEventListener("pointerdown", (ev) => {
    ev.preventDefault();
    drawCanvas.setPointerCapture(ev.pointerId);
    last = point(ev);
    dot(last);
  });
  drawCanvas.addEventListener("pointermove", (ev) => {
    if (!last) return;
    const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    for (const e of events.length ? events : [ev]) {
      const p = point(e);
      line(last, p);
      last = p;
    }
  });
  const up = () => (last = null);
  drawCanvas.addEventListener("pointerup", up);
  drawCanvas.addEventListener("pointercancel", up);
  function dot(p) {
    dctx.fillStyle = INK;
    dctx.beginPath();
    dctx.arc(p[0], p[1], 2.6, 0, Math.PI * 2);
    dctx.fill();
    drawn = true;
    changed();
  }
  function line(a, b) {
    dctx.strokeStyle = INK;
    dctx.lineCap = "round";
    dctx.lineJoin = "round";
    dctx.lineWidth = 3.5 + (b[2] - 0.5) * 2;
    dctx.beginPath();
    dctx.moveTo(a[0], a[1]);
    dctx.lineTo(b[0], b[1]);
    dctx.stroke();
    drawn = true;
  }
  const clear = h("button", { type: "button", class: "small", text: t("sig.clear"), testid: `${testid}-clear` });
  clear.addEventListener("click", () => {
    dctx.clearRect(0, 0, WIDTH, HEIGHT);
    drawn = false;
    changed();
  });
  const drawPanel = h("div", { class: "draw" }, drawCanvas, h("div", { class: "actions" }, h("span", { class: "small muted", text: t("sig.drawHint") }), clear));

  // ---------- type ----------
  const typed = h("input", { type: "text", value: name, testid: `${testid}-typed`, autocomplete: "name" });
  const typedId = uid("typed");
  typed.id = typedId;
  const typeCanvas = canvas(`${testid}-typed-preview`, t("sig.typedPreview"));
  const tctx = typeCanvas.getContext("2d");
  function renderTyped() {
    tctx.clearRect(0, 0, WIDTH, HEIGHT);
    const text = typed.value.trim();
    if (!text) return;
    let size = 140;
    tctx.font = `italic ${size}px ${SCRIPT_FONTS}`;
    while (size > 28 && tctx.measureText(text).width > WIDTH - 60) {
      size -= 6;
      tctx.font = `italic ${size}px ${SCRIPT_FONTS}`;
    }
    tctx.fillStyle = INK;
    tctx.textBaseline = "alphabetic";
    tctx.textAlign = "center";
    tctx.fillText(text, WIDTH / 2, HEIGHT * 0.7);
  }
  typed.addEventListener("input", () => {
    renderTyped();
    changed();
  });
  const typePanel = h("div", { class: "type" }, h("div", { class: "field" }, h("label", { for: typedId, text: t("sig.typeLabel") }), typed), typeCanvas);

  // ---------- upload ----------
  const file = h("input", { type: "file", accept: "image/png,image/jpeg", testid: `${testid}-file` });
  const fileId = uid("sigfile");
  file.id = fileId;
  const upCanvas = canvas(`${testid}-upload-preview`, t("sig.uploadPreview"));
  const uctx = upCanvas.getContext("2d");
  const upError = h("p", { class: "form-error", role: "alert", hidden: true });
  file.addEventListener("change", async () => {
    upError.hidden = true;
    const f = file.files && file.files[0];
    if (!f) return;
    if (!/^image\/(png|jpeg)$/.test(f.type)) {
      upError.textContent = t("sig.uploadType");
      upError.hidden = false;
      return;
    }
    try {
      const url = URL.createObjectURL(f);
      const img = new Image();
      await new Promise((resolve, reject) => {
        img.onload = resolve;
        img.onerror = reject;
        img.src = url;
      });
      URL.revokeObjectURL(url);
      uploaded = img;
      uctx.clearRect(0, 0, WIDTH, HEIGHT);
      const s = Math.min((WIDTH - 20) / img.naturalWidth, (HEIGHT - 20) / img.naturalHeight, 4);
      const w = img.naturalWidth * s;
      const hh = img.naturalHeight * s;
      uctx.drawImage(img, (WIDTH - w) / 2, (HEIGHT - hh) / 2, w, hh);
      changed();
    } catch {
      upError.textContent = t("sig.uploadBad");
      upError.hidden = false;
    }
  });
  const uploadPanel = h("div", { class: "upload" }, h("div", { class: "field" }, h("label", { for: fileId, text: t("sig.uploadLabel") }), file), upError, upCanvas);

  // ---------- tabs ----------
  const panels = { draw: drawPanel, type: typePanel, upload: uploadPanel };
  const tabs = {};
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": t("sig.how") });
  for (const key of ["draw", "type", "upload"]) {
    const id = uid("tab");
    const panelId = uid("panel");
    const tab = h("button", { type: "button", role: "tab", id, "aria-controls": panelId, testid: `${testid}-tab-${key}`, text: t(`sig.${key}`) });
    panels[key].id = panelId;
    panels[key].setAttribute("role", "tabpanel");
    panels[key].setAttribute("aria-labelledby", id);
    tab.addEventListener("click", () => select(key));
    tab.addEventListener("keydown", (ev) => {
      const order = ["draw", "type", "upload"];
      const i = order.indexOf(key);
      let to = null;
      if (ev.key === "ArrowRight") to = order[(i + 1) % 3];
      if (ev.key === "ArrowLeft") to = order[(i + 2) % 3];
      if (ev.key === "Home") to = order[0];
      if (ev.key === "End") to = order[2];
      if (to) {
        ev.preventDefault();
        select(to);
        tabs[to].focus();
      }
    });
    tabs[key] = tab;
    tablist.append(tab);
  }
  const listeners = [];
  function changed() {
    for (const fn of listeners) fn();
  }
  function select(key) {
    mode = key;
    for (const [k, tab] of Object.entries(tabs)) {
      tab.setAttribute("aria-selected", String(k === key));
      tab.tabIndex = k === key ? 0 : -1;
      panels[k].hidden = k !== key;
    }
    if (key === "type") renderTyped();
    changed();
  }
  const el = h("div", { class: "sigpad", testid }, tablist, drawPanel, typePanel, uploadPanel);
  select("draw");
  // the fonts may arrive after the first drawing
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(renderTyped);

  return {
    el,
    onChange(fn) {
      listeners.push(fn);
    },
    /** Whether something has been adopted in the current mode. */
    isEmpty() {
      if (mode === "draw") return !drawn;
      if (mode === "type") return !typed.value.trim();
      return !uploaded;
    },
    /** `{kind: "drawn"|"typed"|"uploaded", image: "data:image/png;base64,…"}`, or null. */
    value() {
      if (this.isEmpty()) return null;
      const source = mode === "draw" ? drawCanvas : mode === "type" ? typeCanvas : upCanvas;
      const kind = mode === "draw" ? "drawn" : mode === "type" ? "typed" : "uploaded";
      return { kind, image: cropped(source).toDataURL("image/png") };
    },
  };
}

function canvas(testid, label) {
  const c = h("canvas", { width: String(WIDTH), height: String(HEIGHT), testid, role: "img", "aria-label": label });
  return c;
}

/** The canvas cropped to its non-transparent pixels, with a small margin. */
function cropped(source) {
  const ctx = source.getContext("2d");
  const { data } = ctx.getImageData(0, 0, WIDTH, HEIGHT);
  let [minX, minY, maxX, maxY] = [WIDTH, HEIGHT, -1, -1];
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      if (data[(y * WIDTH + x) * 4 + 3] > 8) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return source;
  const pad = 8;
  minX = Math.max(0, minX - pad);
  minY = Math.max(0, minY - pad);
  maxX = Math.min(WIDTH - 1, maxX + pad);
  maxY = Math.min(HEIGHT - 1, maxY + pad);
  const out = document.createElement("canvas");
  out.width = maxX - minX + 1;
  out.height = maxY - minY + 1;
  out.getContext("2d").drawImage(source, minX, minY, out.width, out.height, 0, 0, out.width, out.height);
  return out;
}
