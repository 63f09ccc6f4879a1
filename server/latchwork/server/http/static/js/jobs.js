// The job list: filters and paging happen on the server (ListJobs), so it stays fast at
// 100,000 jobs; sorting and the search box work on the page shown.

import { get, query } from "./api.js";
import { debounce, h, jobStatus, replace, when } from "./dom.js";

const STATES = ["", "PENDING", "BLOCKED", "WAITING", "RUNNING", "SUSPENDED", "COMPLETE", "FAILED",
  "KILLED", "REMOVED"];

const COLUMNS = [
  ["id", (j) => Number(j.id)],
  ["name", (j) => (j.spec && j.spec.name) || ""],
  ["status", (j) => jobStatus(j)],
  ["user", (j) => j.user || ""],
  ["pgrp", (j) => Number(j.pgrp || 0)],
  ["priority", (j) => Number((j.spec && j.spec.priority) || 0)],
  ["frames", (j) => Number((j.counts && j.counts.complete) || 0)],
  ["submitted", (j) => j.submit_time || ""],
];

function frames(job) {
  const c = job.counts || {};
  const total = ["pending", "blocked", "running", "complete", "failed", "killed"]
    .reduce((sum, k) => sum + Number(c[k] || 0), 0);
  return `${Number(c.complete || 0)} / ${total}` + (c.running ? ` (${c.running} running)` : "");
}

export async function render({ root, params, stream }) {
  const filters = {
    status: params.status || "",
    user: params.user || "",
    name: params.name || "",
    pgrp: params.pgrp || "",
    page_size: params.page_size || "50",
  };
  const pageTokens = [""]; // tokens of the pages seen, for "previous"
  let sortKey = "id";
  let sortDesc = true;
  let search = "";
  let current = { jobs: [], next_page_token: "" };
  let asked = 0; // answers older than the last request are dropped

  const field = (name, attrs) =>
    h("input", { id: `filter-${name}`, name, value: filters[name], ...attrs });
  const statusSelect = h("select", { id: "filter-status", name: "status" },
    STATES.map((s) => h("option", { value: s ? `JOB_STATUS_${s}` : "",
      selected: filters.status === `JOB_STATUS_${s}` || (!s && !filters.status) }, s ? s.toLowerCase() : "any state")));
  const form = h("form", { id: "job-filters", class: "filters" },
    h("label", {}, "State ", statusSelect),
    h("label", {}, "User ", field("user", { size: 10 })),
    h("label", {}, "Name ", field("name", { size: 14 })),
    h("label", {}, "Group ", field("pgrp", { size: 6, inputmode: "numeric" })),
    h("button", { type: "submit" }, "Filter"));
  const searchBox = h("input", { id: "job-search", type: "search", placeholder: "search this page" });
  const table = h("div", { id: "job-table" });
  const pager = h("div", { class: "pager" });
  replace(root, h("div", { id: "jobs" }, h("h1", {}, "Jobs"), form, searchBox, table, pager));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const next = Object.fromEntries([...data.entries()].filter(([, v]) => v));
    location.hash = `#/jobs${query(next)}`;
  });
  searchBox.addEventListener("input", () => {
    search = searchBox.value.trim().toLowerCase();
    draw();
  });

  function draw() {
    const getter = COLUMNS.find(([k]) => k === sortKey)[1];
    const rows = current.jobs
      .filter((j) => !search || [j.id, j.spec && j.spec.name, j.label, j.user, jobStatus(j)]
        .some((v) => String(v || "").toLowerCase().includes(search)))
      .sort((a, b) => {
        const x = getter(a), y = getter(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (sortDesc ? -1 : 1);
      });
    replace(table, h("table", { class: "jobs" },
      h("thead", {}, h("tr", {}, COLUMNS.map(([key]) => h("th", {},
        h("button", { class: "sort", type: "button", dataset: { sort: key }, onclick: () => {
          sortDesc = sortKey === key ? !sortDesc : false;
          sortKey = key;
          draw();
        } }, key, sortKey === key ? (sortDesc ? " ▼" : " ▲") : ""))))),
      h("tbody", {}, rows.map((j) => h("tr", { class: `job st-${jobStatus(j)}`, dataset: { jobId: j.id } },
        h("td", {}, h("a", { href: `#/job/${j.id}` }, j.id)),
        h("td", {}, h("a", { href: `#/job/${j.id}` }, (j.spec && j.spec.name) || j.label || "")),
        h("td", { class: "status" }, jobStatus(j)),
        h("td", {}, j.user || ""),
        h("td", {}, h("a", { href: `#/graph?pgrp=${j.pgrp}` }, j.pgrp)),
        h("td", {}, (j.spec && j.spec.priority) || 0),
        h("td", {}, frames(j)),
        h("td", {}, when(j.submit_time)))))),
      rows.length === 0 ? h("p", { class: "muted" }, "No jobs.") : null);
    const page = pageTokens.length;
    replace(pager,
      h("button", { type: "button", id: "page-prev", disabled: page <= 1, onclick: () => {
        pageTokens.pop();
        load().catch(() => null);
      } }, "← previous"),
      h("span", {}, ` page ${page} `),
      h("button", { type: "button", id: "page-next", disabled: !current.next_page_token, onclick: () => {
        pageTokens.push(current.next_page_token);
        load().catch(() => null);
      } }, "next →"));
  }

  async function load() {
    const token = pageTokens[pageTokens.length - 1];
    const ticket = ++asked;
    const page = await get(`/api/jobs${query({ ...filters, page_token: token })}`);
    if (ticket !== asked) return; // a later answer (another page, fresher) is on its way
    current = { ...page, jobs: page.jobs || [] };
    draw();
  }

  await load();
  const later = debounce(() => load().catch(() => null), 400);
  return stream.subscribe((event) => {
    if (event.event_type === "EVENT_TYPE_JOB" || event.event_type === "EVENT_TYPE_WORK") later();
  });
}
