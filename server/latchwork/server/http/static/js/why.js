// "Why is this job waiting?": each callback's trigger as a tree, every atom latched (with the
// seq of the event that latched it) or awaited, per `*` binding, plus routing reasons.

import { h } from "./dom.js";

function node(n) {
  const kind = n.kind || "atom";
  if (kind === "atom") {
    const watched = Number(n.watches_job_id || 0);
    return h("li", { class: `atom ${n.latched ? "latched" : "awaited"}`, dataset: { text: n.text || "" } },
      h("code", {}, n.text || ""),
      " ",
      n.latched
        ? h("span", { class: "mark" }, `✓ latched @${n.latched_seq || 0}`)
        : h("span", { class: "mark" }, "… awaited"),
      watched ? [" ", h("a", { href: `#/job/${watched}` }, `job ${watched}`)] : null);
  }
  return h("li", { class: `op ${n.latched ? "latched" : "awaited"}` },
    h("span", { class: "opname" }, kind.toUpperCase(), n.latched ? " ✓" : ""),
    h("ul", {}, (n.children || []).map(node)));
}

export function explanation(explain) {
  const callbacks = explain.callbacks || [];
  return h("div", { id: "why" },
    h("p", { id: "status-reason", class: "reason" }, explain.status_reason || ""),
    (explain.routing_reasons || []).length
      ? h("ul", { id: "routing-reasons" }, explain.routing_reasons.map((r) => h("li", {}, r)))
      : null,
    callbacks.length === 0 ? h("p", { class: "muted" }, "No callbacks.") : null,
    callbacks.map((cb) => h("div", { class: `callback-why ${cb.satisfied ? "satisfied" : ""}`,
      dataset: { callbackId: cb.callback_id } },
      h("div", {},
        h("code", {}, cb.triggers || ""),
        ` — fired ${cb.fired || 0}×`,
        cb.from_dependency ? " (from dependency)" : "",
        cb.satisfied ? " · holds now" : " · not yet"),
      cb.root ? h("ul", { class: "tree" }, node(cb.root)) : null,
      (cb.bindings || []).map((b) => h("div", { class: "binding" },
        h("span", {}, `* = ${b.binding}${b.satisfied ? " ✓" : ""}`),
        h("ul", { class: "tree" }, (b.atoms || []).map(node)))),
      cb.more_bindings ? h("p", { class: "muted" }, `… and ${cb.more_bindings} more bindings`) : null)));
}

/** Job ids this explanation watches (so their events refresh it). */
export function watchedJobs(explain) {
  const ids = new Set();
  const walk = (n) => {
    if (!n) return;
    if (Number(n.watches_job_id || 0)) ids.add(String(n.watches_job_id));
    (n.children || []).forEach(walk);
  };
  for (const cb of explain.callbacks || []) {
    walk(cb.root);
    for (const b of cb.bindings || []) (b.atoms || []).forEach(walk);
  }
  return ids;
}
