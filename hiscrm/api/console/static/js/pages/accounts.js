// Accounts: list (unhealthy ones first), add, edit, disable, delete; log in by QR or by importing a
// session, log out, crawl now (one account or every account of a worker), crawler switches, pin to a
// worker, and each account's recent crawl passes.

import { v1 } from "../api.js";
import { keepFresh } from "../live.js";
import { describe } from "../troubles.js";
import { ago, chip, clear, confirmDialog, field, formDialog, h, modal, select, swap, table, time, toast } from "../ui.js";
import { openImport, openLogin } from "./login_dialog.js";

const PARTS = [
  ["works", "Works"],
  ["comments", "Comments"],
  ["dms", "Direct messages"],
  ["notifications", "Notifications"],
];

// Worse first: failing passes (longest run first), then logins in trouble, then the rest in their own order.
const TROUBLED = new Set(["expired", "blocked", "login_failed"]);
const unhealthy = (a) => (a.health.consecutive_failures > 0 ? 2 : TROUBLED.has(a.login_status) ? 1 : 0);

function byHealth(accounts) {
  return accounts
    .map((a, i) => [a, i])
    .sort(([a, i], [b, j]) => unhealthy(b) - unhealthy(a) || b.health.consecutive_failures - a.health.consecutive_failures || i - j)
    .map(([a]) => a);
}

async function switches(a) {
  return modal((close) => {
    const boxes = PARTS.map(([name, label]) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name, checked: a.crawl[name] }), ` ${label}`),
    );
    const error = h("p", { class: "error", role: "alert" });
    return h(
      "form",
      {
        id: "switches-form",
        onsubmit: async (e) => {
          e.preventDefault();
          const crawl = Object.fromEntries(PARTS.map(([name], i) => [name, boxes[i].querySelector("input").checked]));
          try {
            close(await v1("PATCH", `/api/v1/accounts/${encodeURIComponent(a.id)}`, { crawl }));
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      h("h2", {}, `What to crawl for ${a.account_name}`),
      h("p", { class: "muted" }, "Applied to the next pass, without a restart. Works are still read when comments need them."),
      boxes,
      error,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => close(undefined) }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, "Save"),
      ),
    );
  });
}

async function pin(a) {
  const workers = await v1("GET", "/api/v1/workers");
  const options = [["", "any worker (not pinned)"], ...workers.map((w) => [w.id, `${w.id} (${w.status})`])];
  const fields = [field("worker_id", "Run only on", select("worker_id", options, a.pinned_worker_id || ""))];
  return formDialog(`Pin ${a.account_name} to a worker`, fields, "Save", (v) =>
    v1("PUT", `/api/v1/accounts/${encodeURIComponent(a.id)}/pin`, { worker_id: v.worker_id || null }),
  );
}

async function crawlWorker() {
  const workers = (await v1("GET", "/api/v1/workers")).filter((w) => w.status === "online");
  if (!workers.length) throw new Error("No worker is online.");
  const fields = [field("worker_id", "Worker", select("worker_id", workers.map((w) => [w.id, w.id]), workers[0].id))];
  const done = await formDialog("Crawl every account of a worker now", fields, "Crawl now", (v) =>
    v1("POST", "/api/v1/accounts/crawl-now", { worker_id: v.worker_id }),
  );
  return done && `Crawl requested for ${done.account_ids.length} account(s)`;
}

async function history(a) {
  const passes = await v1("GET", `/api/v1/accounts/${encodeURIComponent(a.id)}/passes`);
  const counts = (n) => (n ? Object.entries(n).map(([k, v]) => `${v} ${k}`).join(", ") : "nothing new");
  const rows = passes.map((p) =>
    h(
      "tr",
      { class: p.ok ? "" : "failed-pass" },
      h("td", {}, time(p.at)),
      h("td", {}, p.ok ? chip("success", "ok") : chip("failed", p.kind || "failed")),
      h("td", {}, p.ok ? `pass ${p.pass_no}, ${((p.duration_ms || 0) / 1000).toFixed(1)} s, ${counts(p.new)}` : p.error || "—"),
      h("td", {}, p.consecutive ? `${p.consecutive} in a row` : ""),
      h("td", {}, p.worker_id || "—"),
    ),
  );
  return modal((close) =>
    h(
      "div",
      { id: "passes-dialog" },
      h("h2", {}, `Recent crawl passes of ${a.account_name}`),
      rows.length ? table(["when", "outcome", "detail", "run", "worker"], rows) : h("p", { class: "muted" }, "No pass yet."),
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Close")),
    ),
  );
}

// `hiscrm doctor` found the site no longer as the adapter expects it on this account's pages.
const drift = (a) =>
  a.adapter_drift.length
    ? h("div", { class: "error", title: a.adapter_drift.map((d) => `${d.name}: ${d.detail || ""}`).join("\n") },
        `adapter drift: ${a.adapter_drift.map((d) => d.name).join(", ")}`)
    : null;

function healthCell(a) {
  const hl = a.health;
  if (hl.consecutive_failures > 0) {
    return h(
      "td",
      { class: "health" },
      chip("failed", `${hl.consecutive_failures} failed in a row`),
      h("div", { class: "error" }, hl.last_error || hl.last_error_kind || ""),
      h("div", { class: "muted" }, `last good pass ${ago(hl.last_success_at)}`),
      drift(a),
    );
  }
  const state = hl.last_success_at ? chip("success", "ok") : h("span", { class: "muted" }, "no pass yet");
  return h("td", { class: "health" }, state, drift(a));
}

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

  const button = (a, name, label, onclick, extra = {}) =>
    h("button", { type: "button", class: `${name}-btn`, dataset: { key: `${a.id}:${name}` }, onclick, ...extra }, label);

  function row(a) {
    const trouble = a.trouble ? describe(a.trouble.kind).title : null;
    const who = a.user_info?.nickname;
    const loggedIn = a.has_credentials && a.login_status !== "not_logged_in";
    const off = Object.entries(a.crawl).filter(([, on]) => !on).map(([name]) => name);
    return h(
      "tr",
      { dataset: { accountId: a.id, loginStatus: a.login_status, failures: a.health.consecutive_failures } },
      h(
        "td",
        {},
        h("strong", {}, a.account_name),
        h("div", { class: "muted" }, a.id, who ? ` · ${who}` : ""),
        off.length ? h("div", { class: "muted switches-off" }, `not crawled: ${off.join(", ")}`) : null,
      ),
      h("td", { class: "login" }, chip(a.login_status), trouble ? h("div", { class: "muted" }, trouble) : null),
      h("td", {}, chip(a.status)),
      h(
        "td",
        { class: "worker" },
        a.assigned_worker_id || "—",
        a.pinned_worker_id ? h("div", { class: "muted pinned" }, `pinned to ${a.pinned_worker_id}`) : null,
        a.waiting_reason && a.status === "active" ? h("div", { class: "notice waiting" }, a.waiting_reason) : null,
      ),
      healthCell(a),
      h("td", {}, ago(freshness[a.id])),
      h(
        "td",
        { class: "actions" },
        h(
          "div",
          { class: "action-buttons" },
          button(a, "login", "Log in", async () => (await openLogin(a), await refresh()), { disabled: a.status !== "active" }),
          " ",
          button(a, "import", "Import session", async () => (await openImport(a), await refresh()), { disabled: a.status !== "active" }),
          " ",
          button(a, "crawl", "Crawl now", () => act(() => v1("POST", `${path(a)}/crawl-now`), "Crawl requested"), {
            disabled: !loggedIn || a.status !== "active",
          }),
          " ",
          button(
            a,
            "logout",
            "Log out",
            () =>
              act(async () => {
                const ok = await confirmDialog(
                  `Log ${a.account_name} out?`,
                  "Its stored session is destroyed and crawling stops until it is logged in again. Its history stays.",
                  "Log out",
                );
                return ok ? v1("POST", `${path(a)}/logout`) : undefined;
              }, "Logged out; its session is destroyed"),
            { disabled: !loggedIn && a.login_status !== "logging_in" },
          ),
          " ",
          button(a, "switches", "Switches", () => act(() => switches(a), "Saved")),
          " ",
          button(a, "pin", "Pin", () => act(() => pin(a), "Saved")),
          " ",
          button(a, "history", "History", () => act(() => history(a))),
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
      ),
    );
  }

  // A hundred accounts make a page of thousands of pixels: the operator narrows it by login state and by
  // name, id or nickname, and the filters hold across live refreshes.
  let accounts = [];
  const byText = h("input", { type: "search", id: "account-filter", placeholder: "Name, id or nickname", "aria-label": "Filter accounts", autocomplete: "off" });
  const byLogin = h("select", { id: "login-filter", "aria-label": "Login state" });
  const shownCount = h("span", { class: "muted small", id: "accounts-shown" });
  byText.addEventListener("input", () => draw());
  byLogin.addEventListener("change", () => draw());

  function draw() {
    const counts = new Map();
    for (const a of accounts) counts.set(a.login_status, (counts.get(a.login_status) || 0) + 1);
    const login = byLogin.value;
    if (document.activeElement !== byLogin) {
      swap(
        byLogin,
        h("option", { value: "" }, `every login state (${accounts.length})`),
        [...counts].map(([state, n]) => h("option", { value: state }, `${state.replaceAll("_", " ")} (${n})`)),
      );
      byLogin.value = counts.has(login) ? login : "";
    }
    const text = byText.value.trim().toLowerCase();
    const shown = accounts.filter(
      (a) =>
        (!byLogin.value || a.login_status === byLogin.value) &&
        (!text || [a.account_name, a.id, a.user_info?.nickname].some((v) => v && v.toLowerCase().includes(text))),
    );
    shownCount.textContent = shown.length === accounts.length ? "" : `${shown.length} of ${accounts.length} shown`;
    swap(
      list,
      !accounts.length
        ? h("p", { class: "muted" }, "No accounts yet. Add one, then log it in with its QR code.")
        : shown.length
          ? table(["account", "login", "state", "worker", "crawl health", "last crawl pass", ""], byHealth(shown).map(row))
          : h("p", { class: "muted" }, "No account matches the filters."),
    );
  }

  async function refresh() {
    const [all, runtime] = await Promise.all([v1("GET", "/api/v1/accounts"), v1("GET", "/api/v1/accounts/status/all")]);
    freshness = Object.fromEntries(runtime.map((r) => [r.id, r.runtime.last_pass_at]));
    accounts = all;
    draw();
  }

  clear(
    root,
    h(
      "div",
      { class: "row spread" },
      h("h1", {}, "Accounts"),
      h(
        "div",
        {},
        h("button", { type: "button", id: "crawl-worker", onclick: () => act(async () => toast((await crawlWorker()) || "Nothing requested")) }, "Crawl a worker now"),
        " ",
        h("button", { type: "button", class: "primary", id: "add-account", onclick: () => act(addAccount, "Account added") }, "Add account"),
      ),
    ),
    h("div", { class: "toolbar row" }, byText, byLogin, shownCount),
    h("section", { class: "panel" }, list),
  );
  // Logins, assignments and workers come on the feed; the quiet poll keeps "last crawl" times true.
  return keepFresh(refresh, ["account", "login", "worker"]);
}
