// Tokens (admin): who may use the API and the console, by role and account scope. A new token's secret
// is shown once, here; only its hash is kept. Revoking ends its use at the next request and its live feeds.

import { v1, who } from "../api.js";
import { clear, confirmDialog, field, formDialog, h, modal, select, swap, table, time, toast } from "../ui.js";

export async function mount(root) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));

  async function refresh() {
    const tokens = await v1("GET", "/api/v1/tokens");
    swap(
      body,
      table(
        ["Name", "Role", "Accounts", "Created", "Id", ""],
        tokens.map((t) =>
          h(
            "tr",
            { dataset: { tokenId: t.id } },
            h("td", {}, t.name, t.id === who()?.id ? h("span", { class: "muted" }, " (you)") : null),
            h("td", {}, t.role),
            h("td", {}, t.accounts ? t.accounts.join(", ") : h("span", { class: "muted" }, "every account")),
            h("td", {}, time(t.created_at)),
            h("td", {}, h("code", {}, t.id)),
            h(
              "td",
              { class: "actions" },
              h("button", { type: "button", class: "danger", onclick: () => revoke(t) }, "Revoke"),
            ),
          ),
        ),
      ),
    );
  }

  async function revoke(t) {
    const ok = await confirmDialog(
      `Revoke ${t.name}?`,
      "It is refused from its next request on, and its open live feeds end. This cannot be undone.",
      "Revoke token",
    );
    if (!ok) return;
    try {
      await v1("DELETE", `/api/v1/tokens/${encodeURIComponent(t.id)}`);
    } catch (err) {
      toast(err.message, "bad");
    }
    await refresh();
  }

  async function add() {
    const made = await formDialog(
      "Add a token",
      [
        field("role", "Role", select("role", [["im", "im: the inbox workspace"], ["admin", "admin: everything"]], "im")),
        field("name", "Name (who uses it)", h("input", { name: "name", maxlength: 100 })),
        field("accounts", "Accounts (im only; comma-separated ids, empty for all)", h("input", { name: "accounts" })),
      ],
      "Add",
      (v) => {
        const accounts = v.accounts.split(",").map((a) => a.trim()).filter(Boolean);
        return v1("POST", "/api/v1/tokens", { role: v.role, name: v.name || undefined, accounts: accounts.length ? accounts : undefined });
      },
    );
    if (!made) return;
    await refresh();
    await modal((close) =>
      h(
        "form",
        { method: "dialog", onsubmit: (e) => (e.preventDefault(), close()) },
        h("h2", {}, `Token ${made.name}`),
        h("p", {}, "Copy the secret now: it is shown only this once."),
        h("input", { id: "new-token-secret", readonly: true, value: made.token, onfocus: (e) => e.target.select() }),
        h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary", autofocus: true }, "Done")),
      ),
    );
  }

  clear(
    root,
    h("h1", {}, "Tokens"),
    h(
      "p",
      { class: "muted" },
      "An im token signs in to the inbox workspace (and uses the IM API); limited to some accounts it sees only those. ",
      "The same from a shell: hiscrm tokens add | list | revoke.",
    ),
    h("div", { class: "row" }, h("button", { type: "button", class: "primary", onclick: add }, "Add token")),
    body,
  );
  await refresh();
  return null;
}
