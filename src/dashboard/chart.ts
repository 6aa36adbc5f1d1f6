/** Event rate over the last minutes as an SVG line chart (orders and inventory streams). */
import { h } from "./dom.ts";

export interface RatePoint {
  at: string;
  orders: number;
  inventory: number;
}

const W = 600;
const H = 140;
const PAD = 24;
const NS = "http://www.w3.org/2000/svg";

export function rateChart(points: RatePoint[], minutes: number): Element {
  if (points.length < 1) return h("p", { class: "muted chart-empty" }, "Collecting samples (one every 2 s)…");
  const end = Date.now();
  const start = end - minutes * 60_000;
  const max = Math.max(1, ...points.flatMap((p) => [p.orders, p.inventory]));
  const x = (at: string) => PAD + ((Date.parse(at) - start) / (end - start)) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - (v / max) * (H - 2 * PAD);
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  const add = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text) el.textContent = text;
    svg.append(el);
  };
  add("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axis" });
  add("text", { x: PAD, y: 12, class: "label" }, `${max.toFixed(1)} events/s`);
  add("text", { x: PAD, y: H - 6, class: "label" }, `−${minutes} min`);
  add("text", { x: W - PAD, y: H - 6, class: "label", "text-anchor": "end" }, "now");
  for (const series of ["orders", "inventory"] as const) {
    const d = points.map((p, i) => `${i ? "L" : "M"}${x(p.at).toFixed(1)},${y(p[series]).toFixed(1)}`).join(" ");
    add("path", { d, class: `series ${series}` });
  }
  const last = points.at(-1)!;
  return h(
    "figure",
    {},
    svg as unknown as Node,
    h(
      "figcaption",
      {},
      h("span", { class: "key orders" }, `orders ${last.orders.toFixed(1)}/s`),
      " ",
      h("span", { class: "key inventory" }, `inventory ${last.inventory.toFixed(1)}/s`),
    ),
  );
}
