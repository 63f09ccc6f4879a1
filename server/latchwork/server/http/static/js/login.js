// Log in with a token (or, when the supervisor runs without tokens, just a user name).

import { post, ApiError } from "./api.js";
import { h, replace } from "./dom.js";
import { errorText } from "./actions.js";

export async function render({ root, session, refreshSession }) {
  const message = h("p", { id: "login-error", class: "error", role: "alert" });
  const field = session.open
    ? h("input", { id: "login-user", name: "user", autocomplete: "username", required: true })
    : h("input", { id: "login-token", name: "token", type: "password", required: true });
  const form = h(
    "form",
    { id: "login-form", class: "card narrow" },
    h("h1", {}, "Log in"),
    session.open
      ? h("p", { class: "muted" }, "This supervisor runs without tokens: name yourself to act.")
      : h("p", { class: "muted" }, "Paste your token from the supervisor's tokens file."),
    h("label", {}, session.open ? "User name " : "Token ", field),
    h("button", { type: "submit", id: "login-submit" }, "Log in"),
    message,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = session.open ? { user: field.value.trim() } : { token: field.value.trim() };
    try {
      await post("/api/login", body);
      await refreshSession();
      location.hash = "#/";
    } catch (err) {
      message.textContent = err instanceof ApiError ? errorText(err) : String(err);
    }
  });
  replace(root, form);
  if (session.logged_in) {
    form.prepend(h("p", {}, `Logged in as ${session.user}.`));
  }
}
