// One job: its actions, frame grid, the followed frame's log, "why", callbacks, callback runs
// and events; refreshed from the event stream.

import { get } from "./api.js";
import { act } from "./actions.js";
import { debounce, h, jobStatus, replace, seconds, when, word, workStatus } from "./dom.js";
import { LogView } from "./logview.js";
import { explanation, watchedJobs } from "./why.js";

const JOB_ACTIONS = ["kill", "retry", "block", "unblock", "suspend", "resume", "requeue", "remove"];
const FRAME_ACTIONS = ["retry", "kill", "block", "unblock"];

function frameTitle(w) {
  return [
    `frame ${w.name}: ${workStatus(w)}`,
    `host ${w.host || "-"}`,
    `attempt ${w.attempts || 0}`,
    w.end_time ? `exit code ${w.exit_code || 0}` : "",
    w.start_time ? `duration ${seconds(w.start_time, w.end_time)}` : "not started",
    w.message || "",
  ].filter(Boolean).join("\n");
}

export async function render({ root, params, stream }) {
  const id = String(params.id);
  const base = `/api/jobs/${id}`;
  const log = new LogView(id);
  let selected = params.frame || null;
  let watched = new Set([id]);
  const sections = {
    head: h("section", { id: "job-head", class: "card" }),
    actions: h("section", { id: "job-actions", class: "card" }),
    grid: h("section", { id: "frames", class: "card" }),
    frame: h("section", { id: "frame", class: "card" }),
    why: h("section", { id: "why-panel", class: "card" }),
    callbacks: h("section", { id: "callbacks", class: "card" }),
    runs: h("section", { id: "runs", class: "card" }),
    events: h("section", { id: "job-events", class: "card" }),
  };
  replace(root, h("div", { id: "job", dataset: { jobId: id } }, Object.values(sections)));

  const control = (action, work) => act(
    work ? `${action} frame ${work} of job ${id}?` : `${action} job ${id}?`,
    `${base}/control`,
    { action, ...(work ? { work: [work] } : {}), reason: "from the dashboard" },
    work ? `${action}: frame ${work} of job ${id}.` : `${action}: job ${id}.`,
  ).then(() => refresh().catch(() => null));

  const priority = h("input", { id: "priority", type: "number", size: 6 });
  replace(sections.actions, h("h2", {}, "Actions"),
    h("div", { class: "buttons" }, JOB_ACTIONS.map((a) =>
      h("button", { type: "button", class: a === "kill" || a === "remove" ? "danger" : "",
        id: `action-${a}`, onclick: () => control(a) }, a))),
    h("form", { class: "inline", id: "priority-form", onsubmit: (ev) => {
      ev.preventDefault();
      act(`set the priority of job ${id} to ${priority.value}?`, `${base}/modify`,
        { priority: Number(priority.value) }, `priority of job ${id}: ${priority.value}.`)
        .then(() => refresh().catch(() => null));
    } }, h("label", {}, "Priority ", priority), h("button", { type: "submit" }, "Set")));

  function drawFrame(job) {
    const w = (job.work || []).find((x) => x.name === selected);
    if (!w) {
      replace(sections.frame, h("h2", {}, "Frame"), h("p", { class: "muted" }, "Click a frame to follow its log."));
      log.stop();
      return;
    }
    const running = workStatus(w) === "running";
    if (!sections.frame.contains(log.el)) {
      replace(sections.frame, h("h2", {}, "Frame ", h("span", { id: "frame-name" }, w.name)),
        h("div", { id: "frame-info" }), h("div", { id: "frame-actions", class: "buttons" }), log.el);
    }
    replace(sections.frame.querySelector("#frame-name"), w.name);
    replace(sections.frame.querySelector("#frame-info"), frameTitle(w).replaceAll("\n", " · "));
    replace(sections.frame.querySelector("#frame-actions"),
      FRAME_ACTIONS.map((a) => h("button", { type: "button", id: `frame-${a}`,
        onclick: () => control(a, w.name) }, a)),
      h("span", { class: "muted note" },
        " No “complete” here: marking a frame complete is a callback verb, not an operator action " +
        "of the API; retry or kill it instead."));
    log.follow(w.name, running);
  }

  function drawGrid(job) {
    const work = job.work || [];
    replace(sections.grid, h("h2", {}, `Frames (${work.length})`),
      h("div", { class: "grid", id: "frame-grid" }, work.map((w) => h("button", {
        type: "button",
        class: `cell st-${workStatus(w)}${w.name === selected ? " selected" : ""}`,
        title: frameTitle(w),
        dataset: { work: w.name, status: workStatus(w) },
        onclick: () => {
          selected = w.name;
          drawGrid(job);
          drawFrame(job);
        },
      }, w.name))),
      h("div", { class: "legend" }, ["pending", "blocked", "running", "complete", "failed", "killed"]
        .map((s) => h("span", { class: `cell st-${s}` }, s))));
  }

  let asked = 0; // answers older than the last request are dropped
  async function refresh() {
    const ticket = ++asked;
    const [job, explain, runs, events] = await Promise.all([
      get(base),
      get(`${base}/explain`).catch((err) => ({ status_reason: `(explain unavailable: ${err.message})` })),
      get(`${base}/runs`).catch(() => ({ runs: [] })),
      get(`${base}/events?limit=200`).catch(() => ({ events: [] })),
    ]);
    if (ticket !== asked) return;
    watched = new Set([id, ...watchedJobs(explain)]);
    const spec = job.spec || {};
    if (document.activeElement !== priority) priority.value = spec.priority || 0;
    replace(sections.head,
      h("h1", {}, `Job ${job.id}: ${spec.name || job.label || ""}`),
      h("p", {},
        h("span", { id: "job-status", class: `badge st-${jobStatus(job)}` }, jobStatus(job)),
        ` user ${job.user || ""} · label ${job.label || ""} · group `,
        h("a", { href: `#/graph?pgrp=${job.pgrp}` }, job.pgrp),
        " · ", h("a", { href: `#/graph?job=${job.id}` }, "graph"),
        ` · priority ${spec.priority || 0} · submitted ${when(job.submit_time)}`),
      job.waiting_reason ? h("p", { class: "reason" }, job.waiting_reason) : null,
      (job.child_ids || []).length
        ? h("p", {}, "children: ", job.child_ids.map((c) => [h("a", { href: `#/job/${c}` }, c), " "]))
        : null);
    drawGrid(job);
    drawFrame(job);
    replace(sections.why, h("h2", {}, "Why — latch state"), explanation(explain));
    replace(sections.callbacks, h("h2", {}, "Callbacks"),
      (job.callbacks || []).length === 0 ? h("p", { class: "muted" }, "None.") :
        h("table", {}, h("thead", {}, h("tr", {}, ["id", "triggers", "language", "fired", "code"].map((c) => h("th", {}, c)))),
          h("tbody", {}, job.callbacks.map((cb) => h("tr", {},
            h("td", {}, cb.id), h("td", {}, h("code", {}, (cb.spec || {}).triggers || "")),
            h("td", {}, (cb.spec || {}).language || "qube"),
            h("td", {}, `${cb.fired || 0}${cb.suspended ? ` (suspended: ${cb.suspended})` : ""}`),
            h("td", {}, h("pre", { class: "code" }, (cb.spec || {}).code || "")))))));
    replace(sections.runs, h("h2", {}, "Callback runs"),
      (runs.runs || []).length === 0 ? h("p", { class: "muted" }, "None yet.") :
        h("table", {}, h("thead", {}, h("tr", {}, ["run", "callback", "triggers", "seq", "outcome", "started", "ms", "error"].map((c) => h("th", {}, c)))),
          h("tbody", {}, runs.runs.map((r) => h("tr", {},
            h("td", {}, r.id), h("td", {}, r.callback_id), h("td", {}, h("code", {}, r.triggers || "")),
            h("td", {}, r.event_seq || ""), h("td", {}, word(r.outcome, "CALLBACK_OUTCOME_")),
            h("td", {}, when(r.start_time)), h("td", {}, Number(r.duration_ms || 0).toFixed(1)),
            h("td", {}, r.error || ""))))));
    const evs = (events.events || []).slice().sort((a, b) => Number(b.seq) - Number(a.seq));
    replace(sections.events, h("h2", {}, "Events"),
      h("table", { id: "events-table" }, h("thead", {}, h("tr", {}, ["seq", "time", "event", "what", "host", "message"].map((c) => h("th", {}, c)))),
        h("tbody", {}, evs.map((e) => h("tr", {},
          h("td", {}, e.seq), h("td", {}, when(e.time)),
          h("td", {}, `${word(e.name, "EVENT_NAME_")}-${word(e.event_type, "EVENT_TYPE_")}`),
          h("td", {}, e.work_name || (e.subjob_id >= 0 ? `subjob ${e.subjob_id}` : "")),
          h("td", {}, e.host || ""), h("td", {}, e.message || ""))))));
  }

  await refresh();
  const later = debounce(() => refresh().catch(() => null), 300);
  const off = stream.subscribe((event) => {
    if (watched.has(String(event.job_id))) later();
  });
  return () => {
    off();
    log.stop();
  };
}
