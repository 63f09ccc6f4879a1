// Every action goes through here: a confirmation, the POST, then the outcome shown in the
// message bar; a refusal is shown exactly as the API words it (the gRPC status and message).

import { ApiError, post } from "./api.js";

/** Show an action's outcome; an API refusal is shown exactly as the API words it. */
export function showMessage(text, kind = "info") {
  const el = document.getElementById("action-message");
  el.textContent = text;
  el.className = kind;
  el.hidden = false;
}

export function clearMessage() {
  const el = document.getElementById("action-message");
  el.hidden = true;
  el.textContent = "";
}

export function errorText(err) {
  if (err instanceof ApiError) {
    const fields = err.fieldViolations.map((v) => ` [${v.field}: ${v.description}]`).join("");
    return `${err.code}: ${err.message}${fields}`;
  }
  return String(err && err.message ? err.message : err);
}

export function confirmDialog(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/** Ask, then POST; report success or the refusal. Returns the response or null. */
export async function act(question, path, body, done) {
  clearMessage();
  if (!(await confirmDialog(question))) return null;
  try {
    const response = await post(path, body);
    showMessage(done || "Done.", "ok");
    return response;
  } catch (err) {
    showMessage(errorText(err), "error"); // exactly the API's words (the "Log in" link is at the top)
    return null;
  }
}

