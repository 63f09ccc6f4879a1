// The JSON API and the event stream (docs/dashboard.md): every call goes through the
// supervisor's own authorization, so a refusal here is the one gRPC gives, word for word.

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || String(status);
    this.fieldViolations = err.field_violations || [];
  }
}

async function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") {
    init.headers["X-Latchwork"] = "1";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  const response = await fetch(path, init);
  let data = null;
  const text = await response.text();
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: { message: text } };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** One EventSource for the whole page; listeners get each Event (proto JSON). */
export class EventStream {
  constructor(onStateChange) {
    this.listeners = new Set();
    this.source = null;
    this.lastSeq = 0;
    this.onStateChange = onStateChange;
    this.recent = []; // [{t, event}] for the per-minute rates on the overview
  }

  start(afterSeq) {
    this.stop();
    this.lastSeq = Number(afterSeq) || 0;
    const source = new EventSource(`/api/events${query({ after_seq: this.lastSeq })}`);
    this.source = source;
    source.onopen = () => this.onStateChange(true);
    source.onerror = () => this.onStateChange(false);
    source.addEventListener("lw", (msg) => {
      const event = JSON.parse(msg.data);
      this.lastSeq = Number(event.seq || msg.lastEventId || this.lastSeq);
      const now = Date.now();
      this.recent.push({ t: now, event });
      while (this.recent.length && now - this.recent[0].t > 60_000) this.recent.shift();
      for (const listener of [...this.listeners]) {
        try {
          listener(event);
        } catch (err) {
          console.error(err);
        }
      }
    });
    source.addEventListener("gap", () => {
      // The stream cannot resume from where we were: start over from the present.
      location.reload();
    });
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Work events named `name` in the last minute. */
  perMinute(name) {
    const now = Date.now();
    return this.recent.filter(
      (r) => now - r.t <= 60_000 && r.event.event_type === "EVENT_TYPE_WORK" && r.event.name === name,
    ).length;
  }
}
