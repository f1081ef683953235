// Sign-in: an admin token (printed by `hiscrm up`, kept in <data-dir>/admin.token), checked against the API.

import { ApiError, clearToken, setToken, v1 } from "../api.js";
import { clear, h } from "../ui.js";

export async function mount(root, { done }) {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "current-password",
    required: true,
    placeholder: "admin token",
  });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      class: "panel",
      style: "max-width: 420px; margin: 10vh auto;",
      onsubmit: async (e) => {
        e.preventDefault();
        error.textContent = "";
        setToken(input.value.trim());
        try {
          await v1("GET", "/api/v1/status");
        } catch (err) {
          clearToken();
          error.textContent =
            err instanceof ApiError && err.status === 403
              ? "This token may not use the admin console; sign in with an admin token."
              : err.message;
          return;
        }
        done();
      },
    },
    h("h1", {}, "HisCRM console"),
    h(
      "p",
      { class: "muted" },
      "Sign in with an admin token. `hiscrm up` prints it and keeps it in <data-dir>/admin.token. ",
      "The token stays in this tab only.",
    ),
    h("label", { class: "field", for: "token" }, h("span", {}, "Token"), input),
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  clear(root, form);
  input.focus();
}
