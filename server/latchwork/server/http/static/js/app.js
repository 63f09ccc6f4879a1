// The dashboard's shell: session, navigation by URL hash, the event stream, wall mode and the
// confirmation + message path that every action goes through.

import { ApiError, EventStream, get, post } from "./api.js";
import { errorText } from "./actions.js";
import { h, replace } from "./dom.js";
import * as overview from "./overview.js";
import * as jobs from "./jobs.js";
import * as job from "./job.js";
import * as graph from "./graph.js";
import * as hosts from "./hosts.js";
import * as login from "./login.js";

const pages = { overview, jobs, job, graph, hosts, login };

const state = { session: null, stream: null, cleanup: null };

function setLive(on) {
  const el = document.getElementById("live");
  el.textContent = on ? "live" : "offline";
  el.className = on ? "live on" : "live off";
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search] = raw.split("?");
  const parts = path.split("/").filter(Boolean);
  const params = Object.fromEntries(new URLSearchParams(search || ""));
  if (parts[0] === "job" && parts[1]) return { page: "job", params: { ...params, id: parts[1] } };
  if (parts[0] && pages[parts[0]]) return { page: parts[0], params };
  return { page: "overview", params };
}

async function route() {
  if (state.cleanup) state.cleanup();
  state.cleanup = null;
  const { page, params } = parseHash();
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("current", a.dataset.page === page);
  }
  const root = document.getElementById("page");
  document.body.dataset.page = page;
  const needsLogin = !state.session.logged_in && !state.session.open;
  const name = needsLogin && page !== "login" ? "login" : page;
  replace(root, h("p", { class: "muted" }, "Loading…"));
  try {
    const cleanup = await pages[name].render({
      root,
      params,
      stream: state.stream,
      session: state.session,
      refreshSession,
    });
    state.cleanup = typeof cleanup === "function" ? cleanup : null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && name !== "login") {
      location.hash = "#/login";
      return;
    }
    replace(root, h("p", { class: "error", role: "alert" }, errorText(err)));
  }
}

async function refreshSession() {
  state.session = await get("/api/whoami");
  const who = document.getElementById("who");
  const s = state.session;
  who.textContent = s.logged_in
    ? `${s.user}${s.admin ? " (admin)" : ""}`
    : s.open
      ? "not logged in (read-only)"
      : "not logged in";
  document.getElementById("logout").hidden = !s.logged_in;
  let login = document.getElementById("login-link");
  if (!s.logged_in && !login) {
    login = h("a", { id: "login-link", href: "#/login" }, "Log in");
    who.after(login);
  } else if (s.logged_in && login) {
    login.remove();
  }
  // (Re)start the stream: its visibility follows the session.
  const overview = await get("/api/overview").catch(() => null);
  if (overview || s.logged_in || s.open) state.stream.start(overview ? overview.head_seq : 0);
  return s;
}

function setWall(on) {
  document.body.classList.toggle("wall", on);
  localStorage.setItem("latchwork.wall", on ? "1" : "0");
}

async function main() {
  state.stream = new EventStream(setLive);
  const wall = new URLSearchParams(location.search).get("wall");
  setWall(wall !== null ? wall === "1" : localStorage.getItem("latchwork.wall") === "1");
  document.getElementById("wall-toggle").addEventListener("click", () => {
    setWall(!document.body.classList.contains("wall"));
  });
  document.getElementById("logout").addEventListener("click", async () => {
    await post("/api/logout", {}).catch(() => null);
    await refreshSession();
    location.hash = "#/login";
  });
  // Leaving the page must close the stream: a browser holds few connections per server, and a
  // page kept in the back/forward cache would otherwise keep its stream open.
  window.addEventListener("pagehide", () => state.stream.stop());
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) refreshSession().then(route);
  });
  await refreshSession();
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "1";
}

main().catch((err) => {
  replace(document.getElementById("page"), h("p", { class: "error" }, errorText(err)));
});
