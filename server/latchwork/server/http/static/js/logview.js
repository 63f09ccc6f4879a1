// Follows one frame's output: polls the output endpoint from the last offset every 0.5 s
// while the frame runs, and reads what is left once it ends.

import { get, query } from "./api.js";
import { h, replace } from "./dom.js";

export class LogView {
  constructor(jobId) {
    this.jobId = jobId;
    this.work = null;
    this.stderr = false;
    this.offset = 0;
    this.timer = null;
    this.running = false;
    this.pre = h("pre", { id: "log" });
    this.status = h("span", { class: "muted", id: "log-status" });
    const pick = (stderr) => () => {
      this.stderr = stderr;
      this.restart();
    };
    this.el = h("div", { class: "logview" },
      h("div", { class: "logbar" },
        h("button", { type: "button", id: "log-stdout", onclick: pick(false) }, "stdout"),
        h("button", { type: "button", id: "log-stderr", onclick: pick(true) }, "stderr"),
        " ", this.status),
      this.pre);
  }

  follow(workName, running) {
    const changed = workName !== this.work;
    this.running = running;
    if (changed) {
      this.work = workName;
      this.restart();
    } else if (!this.timer) {
      this.schedule(0);
    }
  }

  restart() {
    this.stop();
    this.offset = 0;
    replace(this.pre);
    this.schedule(0);
  }

  schedule(ms) {
    this.timer = setTimeout(() => this.poll(), ms);
  }

  async poll() {
    this.timer = null;
    if (this.work === null) return;
    const work = this.work;
    let got = 0;
    try {
      const path = `/api/jobs/${this.jobId}/work/${encodeURIComponent(work)}/output`;
      const out = await get(path + query({ stderr: this.stderr ? 1 : 0, offset: this.offset }));
      if (work !== this.work) return;
      if (out.data) {
        got = out.data.length;
        this.pre.append(document.createTextNode(out.data));
        this.pre.scrollTop = this.pre.scrollHeight;
      }
      this.offset = Number(out.next_offset ?? this.offset);
      this.status.textContent = `${this.stderr ? "stderr" : "stdout"} · ${this.offset} bytes` +
        (this.running ? " · following" : "");
    } catch (err) {
      this.status.textContent = `no output: ${err.message}`;
    }
    if (this.running || got > 0) this.schedule(500);
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
