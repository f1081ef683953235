// Line charts in inline SVG: time on x, counts on y, one polyline per series. No library needed.

const NS = "http://www.w3.org/2000/svg";
const W = 720;
const H = 240;
const PAD = { left: 40, right: 10, top: 10, bottom: 26 };
export const COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#6e7781"];

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const niceMax = (n) => {
  if (n <= 5) return 5;
  const step = 10 ** Math.floor(Math.log10(n));
  return Math.ceil(n / step) * step;
};

/**
 * `series`: [{name, values}] where values[i] belongs to minute `from + i`. `label` describes the chart
 * for screen readers, which cannot read the lines.
 */
export function lineChart({ from, series, label }) {
  const count = Math.max(1, ...series.map((s) => s.values.length));
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const x = (i) => PAD.left + (i / Math.max(1, count - 1)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
  for (const v of [0, top / 2, top]) {
    svg.append(el("line", { class: "axis", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
    svg.append(el("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  const ticks = 6;
  for (let t = 0; t <= ticks; t++) {
    const i = Math.round((t / ticks) * (count - 1));
    const at = new Date((from + i) * 60000);
    const text = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const anchor = t === 0 ? "start" : t === ticks ? "end" : "middle";
    svg.append(el("text", { x: x(i), y: H - 8, "text-anchor": anchor }, text));
  }
  series.forEach((s, n) => {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    const line = el("polyline", { points, fill: "none", stroke: COLOURS[n % COLOURS.length], "stroke-width": 1.6 });
    line.append(el("title", {}, s.name));
    svg.append(line);
  });
  return svg;
}

/** Per-minute values from sparse `[{minute, …}]` rows: the minutes with nothing are zeros. */
export function perMinute(from, to, rows, value) {
  const values = new Array(to - from + 1).fill(0);
  for (const r of rows) if (r.minute >= from && r.minute <= to) values[r.minute - from] = value(r);
  return values;
}

/** Sum consecutive groups of `size`, so a 24-hour chart has hours' worth of points, not 1,440. */
export function bucket(values, size) {
  if (size <= 1) return values;
  const out = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size).reduce((a, b) => a + b, 0));
  return out;
}
