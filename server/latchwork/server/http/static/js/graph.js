// The dependency graph of a process group (or of a job's group and the groups linked to it):
// SVG, nodes coloured by state, edges labelled with their trigger, a click opens the job.

import { get, query } from "./api.js";
import { debounce, h, replace, s, word } from "./dom.js";
import { layered } from "./layout.js";

const W = 170, H = 46, GAPX = 110, GAPY = 34, PAD = 20;

function draw(graph) {
  const nodes = graph.nodes || [];
  const edges = graph.edges || [];
  if (nodes.length === 0) return h("p", { class: "muted" }, "No jobs.");
  const { layers, layer, position } = layered(nodes, edges);
  const byId = new Map(nodes.map((n) => [String(n.id), n]));
  const tallest = Math.max(...layers.map((l) => l.length));
  const width = PAD * 2 + layers.length * W + (layers.length - 1) * GAPX;
  const height = PAD * 2 + tallest * H + (tallest - 1) * GAPY;
  const xy = (id) => {
    const l = layer.get(id);
    const offset = ((tallest - layers[l].length) * (H + GAPY)) / 2;
    return [PAD + l * (W + GAPX), PAD + offset + position.get(id) * (H + GAPY)];
  };
  const svg = s("svg", { id: "graph-svg", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "img", "aria-label": "dependency graph" },
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))));
  for (const e of edges) {
    const from = String(e.from), to = String(e.to);
    if (!byId.has(from) || !byId.has(to)) continue;
    const [x1, y1] = xy(from), [x2, y2] = xy(to);
    const back = layer.get(to) <= layer.get(from);
    const sx = x1 + W, sy = y1 + H / 2, tx = back ? x2 + W : x2, ty = y2 + H / 2;
    const bend = back ? Math.max(60, Math.abs(sy - ty) / 2) : (tx - sx) / 2;
    const d = back
      ? `M${sx},${sy} C${sx + bend},${sy} ${tx + bend},${ty} ${tx},${ty}`
      : `M${sx},${sy} C${sx + bend},${sy} ${tx - bend},${ty} ${tx},${ty}`;
    const label = e.kind === "child" ? "child" : e.trigger || "";
    svg.append(s("g", { class: `edge ${e.kind || "trigger"}`, "data-from": from, "data-to": to },
      s("path", { d, "marker-end": "url(#arrow)" }),
      s("text", { x: (sx + tx) / 2 + (back ? bend * 0.75 : 0), y: (sy + ty) / 2 - 4,
        "text-anchor": "middle" }, label)));
  }
  for (const n of nodes) {
    const id = String(n.id);
    const [x, y] = xy(id);
    const status = word(n.status, "JOB_STATUS_");
    svg.append(s("a", { href: `#/job/${id}`, class: `node st-${status}`, "data-job-id": id },
      s("title", {}, `job ${id} ${n.name || ""}: ${status} (group ${n.pgrp}, ${n.user || ""})`),
      s("rect", { x, y, width: W, height: H, rx: 6 }),
      s("text", { x: x + 8, y: y + 18 }, `${id} ${(n.name || n.label || "").slice(0, 18)}`),
      s("text", { x: x + 8, y: y + 36, class: "sub" }, `${status} · ${n.label || ""}`.slice(0, 26))));
  }
  return h("div", { class: "graph-scroll" }, svg);
}

export async function render({ root, params, stream }) {
  const form = h("form", { class: "filters", id: "graph-form" },
    h("label", {}, "Process group ", h("input", { name: "pgrp", value: params.pgrp || "", size: 8 })),
    h("label", {}, "or job (with linked groups) ", h("input", { name: "job", value: params.job || "", size: 8 })),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => v));
    location.hash = `#/graph${query(data)}`;
  });
  const area = h("div", { id: "graph" });
  replace(root, h("div", {}, h("h1", {}, "Dependency graph"), form, area));
  if (!params.pgrp && !params.job) {
    replace(area, h("p", { class: "muted" }, "Choose a process group or a job (jobs list: the group column)."));
    return null;
  }
  let ids = new Set();
  let asked = 0;
  async function refresh() {
    const ticket = ++asked;
    const graph = await get(`/api/graph${query({ pgrp: params.pgrp, job: params.job })}`);
    if (ticket !== asked) return; // a later answer is on its way
    ids = new Set((graph.nodes || []).map((n) => String(n.id)));
    replace(area, draw(graph));
  }
  await refresh();
  const later = debounce(() => refresh().catch(() => null), 500);
  return stream.subscribe((event) => {
    const pgrp = String(event.pgrp || "");
    if (ids.has(String(event.job_id)) || pgrp === String(params.pgrp || "") ||
        event.name === "EVENT_NAME_SUBMIT") later();
  });
}
