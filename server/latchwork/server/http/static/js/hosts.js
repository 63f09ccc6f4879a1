// The hosts of the farm: state, lock, slots and what they offer.

import { get } from "./api.js";
import { debounce, h, replace, when, word } from "./dom.js";

export async function render({ root, stream }) {
  const view = h("div", { id: "hosts" });
  replace(root, view);
  let asked = 0;

  async function refresh() {
    const ticket = ++asked;
    const { hosts = [] } = await get("/api/hosts");
    if (ticket !== asked) return; // a later answer is on its way
    replace(
      view,
      h("h1", {}, "Hosts"),
      hosts.length === 0
        ? h("p", { class: "muted" }, "No hosts.")
        : h("table", { id: "hosts-table" },
            h("thead", {}, h("tr", {},
              ["host", "state", "slots", "cores", "memory MB", "gpus", "groups", "cluster", "heartbeat"]
                .map((c) => h("th", {}, c)))),
            h("tbody", {}, hosts.map((host) => {
              const state = word(host.state, "HOST_STATE_");
              const r = host.resources || {};
              return h("tr", { class: `host st-${host.locked ? "blocked" : state}`, dataset: { host: host.name } },
                h("td", {}, host.name, host.local ? " (local)" : ""),
                h("td", {}, state, host.locked ? ` · locked${host.lock_reason ? `: ${host.lock_reason}` : ""}` : ""),
                h("td", {}, `${host.slots_in_use || 0} / ${host.slots || 0}`),
                h("td", {}, r.cores || 0),
                h("td", {}, `${host.memory_mb_in_use || 0} / ${r.memory_mb || 0}`),
                h("td", {}, `${host.gpus_in_use || 0} / ${r.gpus || 0}`),
                h("td", {}, (host.groups || []).join(", ")),
                h("td", {}, host.cluster || ""),
                h("td", {}, when(host.last_heartbeat)));
            }))),
    );
  }

  await refresh();
  const later = debounce(() => refresh().catch(() => null), 500);
  return stream.subscribe((event) => {
    if (event.event_type === "EVENT_TYPE_HOST" || event.event_type === "EVENT_TYPE_WORK") later();
  });
}
