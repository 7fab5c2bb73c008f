// The trace overview: a strip above the tree — a miniature Gantt chart of every span for
// traces up to MINI_GANTT_MAX spans, else how many spans run at each moment (a concurrency
// profile, O(spans + pixels) however big the trace) — failed spans as red ticks, and the
// timeline's window. Dragging across it zooms the timeline to that range;
// a double click shows the whole trace again.

import { h, typeKey } from "./util.js";

const HEIGHT = 34;
const MINI_GANTT_MAX = 3000;

/**
 * createOverview(model, { onRange(startUs, endUs) | onRange() to reset }) →
 * { element, setWindow(startUs, endUs), destroy() }
 */
export function createOverview(model, { onRange }) {
  const canvas = h("canvas.tv-overview-canvas", { height: String(HEIGHT), "aria-hidden": "true" });
  const windowBox = h("div.tv-overview-window");
  const drag = h("div.tv-overview-drag");
  const element = h("div.tv-overview", { title: "Drag to zoom the timeline; double-click for the whole trace" }, canvas, windowBox, drag);
  const total = model.totalUs;
  let view = [0, total];
  let width = 0;

  function colors() {
    const style = getComputedStyle(element);
    const get = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    return { fill: get("--accent", "#2f6fde"), error: get("--error", "#c93535"), grid: get("--border", "#ddd") };
  }

  function draw() {
    const cssWidth = element.clientWidth;
    if (!cssWidth) return;
    width = cssWidth;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(cssWidth * ratio);
    canvas.height = Math.round(HEIGHT * ratio);
    canvas.style.width = `${cssWidth}px`;
    canvas.style.height = `${HEIGHT}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, cssWidth, HEIGHT);
    const { fill, error } = colors();
    const cols = Math.max(1, Math.floor(cssWidth));
    const scale = cols / total;
    if (model.count <= MINI_GANTT_MAX) {
      // One thin line per span in tree order, coloured by type.
      const style = getComputedStyle(element);
      const palette = new Map();
      const colorOf = (type) => {
        const key = typeKey(type);
        if (!palette.has(key)) palette.set(key, style.getPropertyValue(`--type-${key}`).trim() || fill);
        return palette.get(key);
      };
      const step = (HEIGHT - 6) / Math.max(1, model.count);
      const thick = Math.max(1, Math.min(4, step - (step > 2 ? 1 : 0)));
      for (let k = 0; k < model.count; k++) {
        const i = model.order[k];
        const start = model.startUs[i];
        const dur = model.durUs[i] < 0 ? total - start : model.durUs[i];
        ctx.fillStyle = model.status[i] === 2 ? error : colorOf(model.type(i));
        ctx.fillRect(start * scale, 3 + k * step, Math.max(1, dur * scale), thick);
      }
      placeWindow();
      return;
    }
    // Concurrency per pixel column: +1 where a span starts, -1 after it ends, then a prefix sum.
    const diff = new Float64Array(cols + 1);
    for (let i = 0; i < model.count; i++) {
      const start = model.startUs[i];
      const dur = model.durUs[i] < 0 ? total - start : model.durUs[i];
      const a = Math.min(cols - 1, Math.floor(start * scale));
      const b = Math.min(cols, Math.max(a + 1, Math.ceil((start + dur) * scale)));
      diff[a] += 1;
      diff[b] -= 1;
    }
    const level = new Float64Array(cols);
    let run = 0;
    let peak = 1;
    for (let x = 0; x < cols; x++) {
      run += diff[x];
      level[x] = run;
      if (run > peak) peak = run;
    }
    // A square-root scale keeps a few concurrent spans visible next to thousands.
    const top = 3;
    const usable = HEIGHT - top - 1;
    ctx.fillStyle = fill;
    ctx.globalAlpha = 0.55;
    ctx.beginPath();
    ctx.moveTo(0, HEIGHT);
    for (let x = 0; x < cols; x++) {
      const y = HEIGHT - 1 - (Math.sqrt(level[x]) / Math.sqrt(peak)) * usable;
      ctx.lineTo(x, y);
      ctx.lineTo(x + 1, y);
    }
    ctx.lineTo(cols, HEIGHT);
    ctx.closePath();
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.fillStyle = error;
    for (let i = 0; i < model.count; i++) {
      if (model.status[i] !== 2) continue;
      ctx.fillRect(Math.min(cols - 2, Math.floor(model.startUs[i] * scale)), 0, 2, 6);
    }
    placeWindow();
  }

  function placeWindow() {
    const zoomed = view[0] > 0 || view[1] < total;
    windowBox.style.display = zoomed ? "" : "none";
    element.classList.toggle("zoomed", zoomed);
    if (!zoomed) return;
    windowBox.style.left = `${(Math.max(0, view[0]) / total) * 100}%`;
    windowBox.style.width = `${Math.max(0.3, ((Math.min(total, view[1]) - Math.max(0, view[0])) / total) * 100)}%`;
  }

  // Drag to choose a range.
  let from = null;
  const toUs = (clientX) => {
    const box = element.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - box.left) / box.width)) * total;
  };
  element.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    element.setPointerCapture(event.pointerId);
    from = toUs(event.clientX);
    drag.style.display = "block";
    drag.style.left = `${(from / total) * 100}%`;
    drag.style.width = "0";
  });
  element.addEventListener("pointermove", (event) => {
    if (from === null) return;
    const to = toUs(event.clientX);
    drag.style.left = `${(Math.min(from, to) / total) * 100}%`;
    drag.style.width = `${(Math.abs(to - from) / total) * 100}%`;
  });
  element.addEventListener("pointerup", (event) => {
    if (from === null) return;
    const to = toUs(event.clientX);
    drag.style.display = "none";
    const [a, b] = [Math.min(from, to), Math.max(from, to)];
    from = null;
    // A click (no real drag) is ignored; the range must be a few pixels wide.
    if (width && ((b - a) / total) * width >= 4) onRange(a, b);
  });
  element.addEventListener("dblclick", () => onRange());

  const resize = new ResizeObserver(draw);
  resize.observe(element);
  const scheme = window.matchMedia?.("(prefers-color-scheme: dark)");
  scheme?.addEventListener?.("change", draw);

  return {
    element,
    setWindow(startUs = 0, endUs = total) {
      view = [startUs, endUs];
      placeWindow();
    },
    destroy() {
      resize.disconnect();
      scheme?.removeEventListener?.("change", draw);
    },
  };
}
