// Dashboard: the fleet at a glance, kept current by the live feed.

import { hasRoute, im, v1 } from "../api.js";
import { keepFresh } from "../live.js";
import { describe } from "../troubles.js";
import { ago, chip, clear, h, megabytes, table, time } from "../ui.js";

const card = (n, label, attrs = {}) => h("div", { class: "card", ...attrs }, h("div", { class: "n" }, n), h("div", { class: "l" }, label));

function troubleList(rows) {
  const troubled = rows.filter((a) => a.trouble).sort((a, b) => b.trouble.at - a.trouble.at);
  if (!troubled.length) return h("p", { class: "muted" }, "No trouble reported.");
  return h(
    "ul",
    { class: "troubles" },
    troubled.map((a) => {
      const { title, help } = describe(a.trouble.kind);
      return h(
        "li",
        { dataset: { accountId: a.id, kind: a.trouble.kind } },
        h("strong", {}, a.account_name),
        " — ",
        chip(a.login_status === "logged_in" ? "pending" : "failed", title),
        " ",
        h("span", { class: "muted" }, ago(a.trouble.at)),
        a.trouble.detail ? h("div", { class: "muted" }, a.trouble.detail) : null,
        help ? h("div", {}, help) : null,
      );
    }),
  );
}

const NAMED = 5; // accounts named per reason; a fleet short of workers leaves a hundred waiting for one reason

/** Accounts no worker runs, one line per reason: how many, and the first few of them. */
function unassigned(list) {
  if (!list.length) return null;
  const byReason = new Map();
  for (const u of list) byReason.set(u.reason, [...(byReason.get(u.reason) || []), u.account_id]);
  return h(
    "ul",
    { class: "muted", id: "unassigned", "aria-label": "Unassigned accounts" },
    [...byReason].map(([reason, ids]) =>
      h(
        "li",
        { dataset: { count: ids.length } },
        `${ids.length} unassigned: ${reason} (`,
        ids.slice(0, NAMED).join(", "),
        ids.length > NAMED ? ` and ${ids.length - NAMED} more` : "",
        ")",
      ),
    ),
  );
}

export async function mount(root) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  clear(root, h("h1", {}, "Dashboard"), body);

  async function refresh() {
    const [status, workers, accounts, unread] = await Promise.all([
      v1("GET", "/api/v1/status"),
      v1("GET", "/api/v1/workers"),
      v1("GET", "/api/v1/accounts/status/all"),
      hasRoute("/api/im/unified-messages/stats") ? im("GET", "/api/im/unified-messages/stats") : null,
    ]);
    const byLogin = status.accounts.by_login_status;
    clear(
      body,
      h(
        "div",
        { class: "cards" },
        card(status.workers.online, "workers live", { id: "card-workers-online" }),
        card(status.workers.offline + status.workers.stopped, "workers offline or stopped"),
        card(status.accounts.total, "accounts"),
        card(byLogin.logged_in || 0, "logged in"),
        card(status.projection.lag, "projection lag (facts)", { id: "card-lag" }),
        unread ? card(unread.data.total_unread, "unread in the inbox") : null,
      ),
      h(
        "div",
        { class: "grid" },
        h("section", { class: "panel", id: "trouble" }, h("h2", {}, "Recent trouble"), troubleList(accounts)),
        h(
          "section",
          { class: "panel" },
          h("h2", {}, "Accounts by login state"),
          Object.keys(byLogin).length
            ? h("ul", {}, Object.entries(byLogin).map(([s, n]) => h("li", {}, chip(s), ` ${n}`)))
            : h("p", { class: "muted" }, "No accounts yet."),
          unassigned(status.scheduling.unassigned),
        ),
        h(
          "section",
          { class: "panel" },
          h("h2", {}, "Projection"),
          h(
            "p",
            {},
            `Applied ${status.projection.checkpoint} of ${status.projection.stream_head} facts; `,
            `lag ${status.projection.lag}, dead letters ${status.projection.dead_letters}. `,
            h("span", { class: "muted" }, `Up ${Math.round(status.uptime_s / 60)} min, version ${status.version}.`),
          ),
        ),
      ),
      h(
        "section",
        { class: "panel" },
        h("h2", {}, "Workers"),
        workers.length
          ? table(
              ["worker", "state", "accounts held", "memory", "last seen"],
              workers.map((w) =>
                h(
                  "tr",
                  { dataset: { workerId: w.id } },
                  h("td", {}, h("a", { href: `#/workers/${encodeURIComponent(w.id)}` }, w.id)),
                  h("td", {}, chip(w.status)),
                  h("td", {}, `${w.account_count} / ${w.max_accounts}`),
                  h("td", {}, megabytes(w.memory_bytes)),
                  h("td", {}, w.status === "online" ? "live" : time(w.last_seen || w.updated_at)),
                ),
              ),
            )
          : h("p", { class: "muted" }, "No workers have registered."),
      ),
      h(
        "section",
        { class: "panel" },
        h("h2", {}, "Freshness per account"),
        accounts.length
          ? table(
              ["account", "login", "worker", "last crawl pass", "passes", "items found"],
              accounts.map((a) =>
                h(
                  "tr",
                  { dataset: { accountId: a.id } },
                  h("td", {}, a.account_name),
                  h("td", {}, chip(a.login_status)),
                  h("td", {}, a.assigned_worker_id || "—"),
                  h("td", { title: time(a.runtime.last_pass_at) }, ago(a.runtime.last_pass_at)),
                  h("td", {}, a.runtime.passes),
                  h("td", {}, (a.runtime.new_total.comments || 0) + (a.runtime.new_total.messages || 0)),
                ),
              ),
            )
          : h("p", { class: "muted" }, "No accounts yet."),
      ),
    );
  }

  // Every fact refreshes it; the 5 s poll is for what is not a fact: worker memory and projection lag.
  return keepFresh(refresh, [], { minMs: 1500, quietMs: 5000 });
}
