// Sign-in with any token: an admin token gets the whole console, an `im` token the agent workspace.

import { clearToken, setToken, setWho, v1 } from "../api.js";
import { clear, h } from "../ui.js";

export async function mount(root, { done }) {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "current-password",
    required: true,
    placeholder: "hcrm_…",
  });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      class: "panel",
      style: "max-width: 440px; margin: 10vh auto;",
      onsubmit: async (e) => {
        e.preventDefault();
        error.textContent = "";
        setToken(input.value.trim());
        try {
          setWho(await v1("GET", "/api/v1/tokens/current"));
        } catch (err) {
          clearToken();
          error.textContent = err.status === 401 ? "This token is unknown or was revoked." : err.message;
          return;
        }
        done();
      },
    },
    h("h1", {}, "HisCRM console"),
    h(
      "p",
      { class: "muted" },
      "Sign in with your token. Agents get the inbox workspace; an admin token (printed by `hiscrm up`, ",
      "kept in <data-dir>/admin.token) also gets accounts, workers and the rest. ",
      "New tokens: `hiscrm tokens add --role im`. The token stays in this tab only.",
    ),
    h("label", { class: "field", for: "token" }, h("span", {}, "Token"), input),
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  clear(root, form);
  input.focus();
}
