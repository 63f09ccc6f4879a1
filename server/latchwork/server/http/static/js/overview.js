// The farm at a glance: jobs by state, frame rates from the live stream, hosts, failures.

import { get } from "./api.js";
import { debounce, h, replace, when } from "./dom.js";

const JOB_STATES = [
  "PENDING", "BLOCKED", "WAITING", "RUNNING", "SUSPENDED", "COMPLETE", "FAILED", "KILLED", "REMOVED",
];

function tile(label, value, cls, href) {
  const body = [h("span", { class: "value" }, String(value)), h("span", { class: "label" }, label)];
  return href
    ? h("a", { class: `tile ${cls || ""}`, href }, body)
    : h("div", { class: `tile ${cls || ""}` }, body);
}

export async function render({ root, stream }) {
  const view = h("div", { id: "overview" });
  replace(root, view);
  let asked = 0;

  async function refresh() {
    const ticket = ++asked;
    const o = await get("/api/overview");
    if (ticket !== asked) return; // a later answer is on its way
    const jobs = o.jobs_by_status || {};
    const frames = o.frames_by_status || {};
    const hosts = o.hosts || {};
    const n = (v) => Number(v || 0);
    replace(
      view,
      h("h1", {}, "Farm overview"),
      h("section", { class: "card" }, h("h2", {}, "Jobs"),
        h("div", { class: "tiles", id: "jobs-by-state" },
          JOB_STATES.map((s) =>
            tile(s.toLowerCase(), n(jobs[`JOB_STATUS_${s}`]), `st-${s.toLowerCase()}`,
              `#/jobs?status=JOB_STATUS_${s}`)))),
      h("section", { class: "card" }, h("h2", {}, "Frames"),
        h("div", { class: "tiles", id: "frames" },
          tile("running now", n(frames.WORK_STATUS_RUNNING), "st-running"),
          tile("started / min", stream.perMinute("EVENT_NAME_RUNNING"), ""),
          tile("done / min", stream.perMinute("EVENT_NAME_COMPLETE"), "st-complete"),
          tile("failed / min", stream.perMinute("EVENT_NAME_FAILED"), "st-failed"),
          tile("pending", n(frames.WORK_STATUS_PENDING), "st-pending"),
          tile("complete", n(frames.WORK_STATUS_COMPLETE), "st-complete"))),
      h("section", { class: "card" }, h("h2", {}, h("a", { href: "#/hosts" }, "Hosts")),
        h("div", { class: "tiles", id: "hosts-summary" },
          tile("up", n(hosts.up), "st-complete"),
          tile("down", n(hosts.down), "st-failed"),
          tile("locked", n(hosts.locked), "st-blocked"),
          tile("slots in use", `${n(hosts.slots_in_use)} / ${n(hosts.slots)}`, "st-running"))),
      h("section", { class: "card" }, h("h2", {}, "Recent failures"),
        (o.recent_failures || []).length === 0
          ? h("p", { class: "muted" }, "None.")
          : h("table", { id: "failures" },
              h("thead", {}, h("tr", {}, ["job", "frame", "message", "when"].map((c) => h("th", {}, c)))),
              h("tbody", {}, o.recent_failures.map((f) =>
                h("tr", {},
                  h("td", {}, h("a", { href: `#/job/${f.job_id}` }, `${f.job_id} ${f.job_name || ""}`)),
                  h("td", {}, f.work_name || ""),
                  h("td", {}, f.message || ""),
                  h("td", {}, when(f.time))))))),
      h("p", { class: "muted" }, `event log head: seq ${o.head_seq || 0}`),
    );
  }

  await refresh();
  const later = debounce(() => refresh().catch(() => null), 400);
  const off = stream.subscribe(later);
  const tick = setInterval(later, 5000); // the per-minute rates decay without events
  return () => {
    off();
    clearInterval(tick);
  };
}

