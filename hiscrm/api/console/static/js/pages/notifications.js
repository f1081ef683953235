// Notifications: what the platform and the fleet told about (new comments and DMs, platform notices,
// sessions expired, logins failed), newest first, live, and markable read one by one or all shown.

import { im, query } from "../api.js";
import { keepFresh } from "../live.js";
import { chip, clear, h, swap, time, toast } from "../ui.js";
import { unread } from "../unread.js";

const MOST = 100;

/** Where a notification's item opens in the workspace: its thread, in its account's list. */
const itemLink = (n) =>
  `#/inbox/${[n.account_id, n.message_id ? "dm" : "comment", n.message_id || n.comment_id].map(encodeURIComponent).join("/")}`;

export async function mount(root) {
  let onlyUnread = false;
  let shown = [];
  const list = h("ul", { class: "notes", "aria-label": "Notifications" }, h("li", { class: "muted" }, "Loading…"));
  const filter = h("input", { type: "checkbox", id: "notes-unread" });
  filter.addEventListener("change", () => ((onlyUnread = filter.checked), refresh()));

  async function refresh() {
    const page = await im("GET", `/api/im/notifications${query({ count: MOST, is_read: onlyUnread ? "false" : undefined })}`);
    shown = page.data.notifications;
    swap(
      list,
      shown.length
        ? shown.map((n) =>
            h(
              "li",
              { dataset: { id: n.id, kind: n.kind, read: String(n.is_read) } },
              h(
                "div",
                { class: "row spread" },
                h("strong", { class: n.is_read ? "" : "unread" }, n.title),
                h("span", {}, chip(n.kind, n.kind.replaceAll("_", " ")), " ", h("span", { class: "muted small" }, time(n.create_time))),
              ),
              n.text ? h("div", { class: "text" }, n.text) : null,
              h(
                "div",
                { class: "row muted small" },
                n.account_id,
                // Keyed, so a live refresh gives a keyboard user's focus back to the same control.
                n.is_read ? null : h("button", { type: "button", class: "mark", dataset: { key: `read:${n.id}` }, onclick: () => read([n]) }, "Mark read"),
                n.comment_id || n.message_id ? h("a", { href: itemLink(n), class: "open-item", dataset: { key: `open:${n.id}` } }, "Open") : null,
              ),
            ),
          )
        : h("li", { class: "muted" }, "No notifications."),
    );
  }

  async function read(notes) {
    const unreadOnes = notes.filter((n) => !n.is_read);
    if (!unreadOnes.length) return;
    try {
      if (unreadOnes.length === 1) {
        const n = unreadOnes[0];
        await im("PUT", `/api/im/notifications/${n.id}/read${query({ account_id: n.account_id })}`);
      } else {
        await im("PUT", "/api/im/notifications/read-many", { ids: unreadOnes.map((n) => n.id) });
      }
    } catch (err) {
      toast(err.message, "bad");
    }
    unread.refreshSoon();
    await refresh();
  }

  clear(
    root,
    h("h1", {}, "Notifications"),
    h(
      "div",
      { class: "row toolbar" },
      h("label", { class: "row check" }, filter, "Unread only"),
      h("button", { type: "button", id: "notes-read-all", onclick: () => read(shown) }, "Mark all shown read"),
    ),
    h("section", { class: "panel" }, list),
  );
  return keepFresh(refresh, ["inbox", "trouble"], { minMs: 1000 });
}
