// Accounts: list, add, edit, disable, delete, and the QR login.

import { v1 } from "../api.js";
import { keepFresh } from "../live.js";
import { describe } from "../troubles.js";
import { ago, chip, clear, confirmDialog, field, formDialog, h, select, swap, table, toast } from "../ui.js";
import { openLogin } from "./login_dialog.js";

async function proxyOptions(current) {
  const proxies = await v1("GET", "/api/v1/proxies");
  return select("proxy_id", [["", "no proxy"], ...proxies.map((p) => [p.id, `${p.name} (${p.server})`])], current || "");
}

const number = (name, value, min, max) => h("input", { name, type: "number", min, max, value, required: true });

async function addAccount() {
  const fields = [
    field("account_name", "Name", h("input", { name: "account_name", required: true, maxlength: 200 })),
    field("account_id", "Id (optional: letters, digits, _ - =)", h("input", { name: "account_id", pattern: "[A-Za-z0-9_=\\-]+" })),
    field("monitor_interval", "Seconds between crawl passes", number("monitor_interval", 30, 5, 3600)),
    field("proxy_id", "Proxy", await proxyOptions(null)),
  ];
  return formDialog("Add a Douyin account", fields, "Add", (v) =>
    v1("POST", "/api/v1/accounts", {
      platform: "douyin",
      account_name: v.account_name,
      account_id: v.account_id || undefined,
      monitor_interval: Number(v.monitor_interval),
      proxy_id: v.proxy_id || undefined,
    }),
  );
}

async function editAccount(a) {
  const fields = [
    field("account_name", "Name", h("input", { name: "account_name", required: true, value: a.account_name })),
    field("monitor_interval", "Seconds between crawl passes", number("monitor_interval", a.monitor_interval, 5, 3600)),
    field("proxy_id", "Proxy", await proxyOptions(a.proxy_id)),
  ];
  return formDialog(`Edit ${a.account_name}`, fields, "Save", (v) => {
    const patch = {};
    if (v.account_name !== a.account_name) patch.account_name = v.account_name;
    if (Number(v.monitor_interval) !== a.monitor_interval) patch.monitor_interval = Number(v.monitor_interval);
    if (v.proxy_id && v.proxy_id !== a.proxy_id) patch.proxy_id = v.proxy_id;
    if (!Object.keys(patch).length) return a;
    return v1("PATCH", `/api/v1/accounts/${encodeURIComponent(a.id)}`, patch);
  });
}

export async function mount(root) {
  const list = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  let freshness = {};

  async function act(work, done) {
    try {
      const result = await work();
      if (result !== undefined && done) toast(done);
      await refresh();
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  const path = (a) => `/api/v1/accounts/${encodeURIComponent(a.id)}`;

  function row(a) {
    const trouble = a.trouble ? describe(a.trouble.kind).title : null;
    const who = a.user_info?.nickname;
    return h(
      "tr",
      { dataset: { accountId: a.id, loginStatus: a.login_status } },
      h("td", {}, h("strong", {}, a.account_name), h("div", { class: "muted" }, a.id, who ? ` · ${who}` : "")),
      h("td", { class: "login" }, chip(a.login_status), trouble ? h("div", { class: "muted" }, trouble) : null),
      h("td", {}, chip(a.status)),
      h("td", {}, a.assigned_worker_id || "—"),
      h("td", {}, ago(freshness[a.id])),
      h(
        "td",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            class: "login-btn",
            dataset: { key: `${a.id}:login` },
            disabled: a.status !== "active",
            onclick: async () => {
              await openLogin(a);
              await refresh();
            },
          },
          "Log in",
        ),
        " ",
        h("button", { type: "button", dataset: { key: `${a.id}:edit` }, onclick: () => act(() => editAccount(a), "Saved") }, "Edit"),
        " ",
        a.status === "active"
          ? h("button", { type: "button", dataset: { key: `${a.id}:state` }, onclick: () => act(() => v1("PATCH", path(a), { status: "disabled" }), "Disabled") }, "Disable")
          : h("button", { type: "button", dataset: { key: `${a.id}:state` }, onclick: () => act(() => v1("PATCH", path(a), { status: "active" }), "Enabled") }, "Enable"),
        " ",
        h(
          "button",
          {
            type: "button",
            class: "danger",
            dataset: { key: `${a.id}:delete` },
            onclick: () =>
              act(async () => {
                const ok = await confirmDialog(
                  `Delete ${a.account_name}?`,
                  "Its history stays: every fact about it remains in the event stream and can be replayed. " +
                    "Its secrets go: the stored login (cookies) is destroyed for good, so it cannot be used again.",
                  "Delete account",
                );
                return ok ? v1("DELETE", path(a)) : undefined;
              }, "Deleted; its history stays, its secrets are gone"),
          },
          "Delete",
        ),
      ),
    );
  }

  async function refresh() {
    const [accounts, runtime] = await Promise.all([v1("GET", "/api/v1/accounts"), v1("GET", "/api/v1/accounts/status/all")]);
    freshness = Object.fromEntries(runtime.map((r) => [r.id, r.runtime.last_pass_at]));
    swap(
      list,
      accounts.length
        ? table(["account", "login", "state", "worker", "last crawl pass", ""], accounts.map(row))
        : h("p", { class: "muted" }, "No accounts yet. Add one, then log it in with its QR code."),
    );
  }

  clear(
    root,
    h(
      "div",
      { class: "row spread" },
      h("h1", {}, "Accounts"),
      h("button", { type: "button", class: "primary", id: "add-account", onclick: () => act(addAccount, "Account added") }, "Add account"),
    ),
    h("section", { class: "panel" }, list),
  );
  // Logins, assignments and workers come on the feed; the quiet poll keeps "last crawl" times true.
  return keepFresh(refresh, ["account", "login", "worker"]);
}
