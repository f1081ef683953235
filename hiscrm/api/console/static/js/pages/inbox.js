// Inbox: the unified list (comments, replies, DMs) per account or all, a thread view, replies, mark read.

import { hasRoute, im, query, v1 } from "../api.js";
import { feed } from "../feed.js";
import { replyTo, threadOf } from "../inbox_thread.js";
import { keepFresh } from "../live.js";
import { chip, clear, h, swap, time, toast } from "../ui.js";

const PAGE = 30;
const MOST = 100; // the IM API's largest page
const KIND = { comment: "comment", discussion: "reply", direct_message: "DM" };

export async function mount(root, { args }) {
  if (!hasRoute("/api/im/unified-messages")) {
    clear(root, h("h1", {}, "Inbox"), h("p", { class: "notice" }, "This server does not offer the IM API (/api/im) yet."));
    return null;
  }
  let accountId = args[0] || null;
  let accounts = [];
  let wanted = PAGE; // how many items per account the list shows; "Load more" raises it
  let items = [];
  let selected = null;
  const picker = h("div", { class: "accounts-pick", role: "group", "aria-label": "Account" });
  const list = h("ul", { class: "items", "aria-label": "Messages" });
  const more = h("button", { type: "button", hidden: true, onclick: () => ((wanted = Math.min(wanted + PAGE, MOST)), refresh()) }, "Load more");
  const thread = h("section", { class: "panel thread", "aria-live": "polite" }, h("p", { class: "muted" }, "Pick a message."));

  async function stats(id) {
    const page = await im("GET", `/api/im/unified-messages/stats${query({ account_id: id })}`);
    return page.data.total_unread;
  }

  // Each account's newest `wanted` items, merged newest first: the per-account lists say whose item is whose.
  async function load() {
    const chosen = accountId ? accounts.filter((a) => a.id === accountId) : accounts;
    const pages = await Promise.all(
      chosen.map((a) => im("GET", `/api/im/unified-messages${query({ account_id: a.id, count: wanted })}`).then((p) => [a, p])),
    );
    more.hidden = wanted >= MOST || !pages.some(([, p]) => p.has_more);
    return pages
      .flatMap(([a, p]) => (p.data.messages || []).map((m) => ({ ...m, account_id: a.id, account_name: a.account_name })))
      .sort((x, y) => y.create_time - x.create_time);
  }

  async function refresh() {
    accounts = await v1("GET", "/api/v1/accounts");
    const [counts, loaded] = await Promise.all([Promise.all([stats(undefined), ...accounts.map((a) => stats(a.id))]), load()]);
    items = loaded;
    const pick = (id, label, n) =>
      h(
        "button",
        {
          type: "button",
          "aria-pressed": String((id || null) === accountId),
          dataset: { key: `pick:${id || ""}`, accountId: id || "" },
          onclick: () => {
            location.hash = id ? `#/inbox/${encodeURIComponent(id)}` : "#/inbox";
          },
        },
        label,
        " ",
        h("span", { class: "badge", dataset: { n }, "aria-label": `${n} unread` }, n || ""),
      );
    swap(picker, pick(null, "All accounts", counts[0]), accounts.map((a, i) => pick(a.id, a.account_name, counts[i + 1])));
    swap(
      list,
      items.length
        ? items.map((m) => {
            const unread = !m.is_read;
            return h(
              "li",
              { dataset: { msgId: m.msg_id, type: m.business_type } },
              h(
                "button",
                {
                  type: "button",
                  "aria-current": String(selected?.msg_id === m.msg_id),
                  dataset: { key: `item:${m.account_id}:${m.msg_id}` },
                  onclick: () => open(m),
                },
                h("div", { class: "row spread" }, h("span", { class: `who ${unread ? "unread" : ""}` }, m.sender?.user_name || "?"), chip(m.business_type, KIND[m.business_type])),
                h("div", { class: "text" }, m.content),
                h("div", { class: "muted" }, [m.account_name, m.work_title, time(m.create_time)].filter(Boolean).join(" · ")),
              ),
            );
          })
        : h("li", { class: "muted" }, "Nothing here yet."),
    );
    if (selected) {
      selected = items.find((m) => m.msg_id === selected.msg_id && m.account_id === selected.account_id) || selected;
      await drawThread();
    }
  }

  const outbox = h("ul", { class: "outbox", "aria-label": "Replies sent from here" });
  const replyText = h("textarea", { id: "reply-text", "aria-label": "Reply", maxlength: 5000, placeholder: "Write a reply…" });
  const sendButton = h("button", { type: "submit", class: "primary", id: "reply-send" }, "Send reply");
  const threadBody = h("div", {});
  const threadHead = h("div", { class: "row spread" });
  const replyForm = h("form", { onsubmit: (e) => (e.preventDefault(), send()) }, replyText, h("div", { class: "row" }, sendButton));

  function open(m) {
    selected = m;
    for (const b of list.querySelectorAll("button[aria-current]")) b.setAttribute("aria-current", String(b.dataset.key === `item:${m.account_id}:${m.msg_id}`));
    clear(thread, threadHead, threadBody, h("h2", {}, "Reply"), replyForm, outbox);
    replyText.value = "";
    // Stacked on a phone, the thread sits below the list: bring it into view.
    if (matchMedia("(max-width: 760px)").matches) thread.scrollIntoView({ block: "start" });
    drawThread();
  }

  async function drawThread() {
    const m = selected;
    clear(
      threadHead,
      h("h2", {}, `${KIND[m.business_type]} from ${m.sender?.user_name || "?"}`, m.work_title ? ` on “${m.work_title}”` : ""),
      m.is_read
        ? chip("sent", "read")
        : h("button", { type: "button", id: "mark-read", onclick: () => markRead(m) }, "Mark read"),
    );
    const [messages, replies] = await Promise.all([threadOf(m), v1("GET", `/api/v1/replies${query({ account_id: m.account_id, limit: 100 })}`)]);
    if (selected !== m) return;
    swap(
      threadBody,
      messages.map((x) =>
        h(
          "div",
          { class: `msg ${x.mine ? "mine" : ""} ${x.id === m.msg_id ? "focus" : ""}`, dataset: { id: x.id } },
          h("div", {}, h("strong", {}, x.who || "?"), " ", h("span", { class: "muted" }, time(x.at))),
          h("div", { class: "text" }, x.text),
        ),
      ),
    );
    const target = replyTo(m, "");
    const mine = replies.filter((r) => r.target_id === target.target_id || (m.conversation_id && r.conversation_id === m.conversation_id && m.business_type === "direct_message"));
    swap(
      outbox,
      mine.reverse().map((r) =>
        h(
          "li",
          { dataset: { replyId: r.reply_id, status: r.status } },
          chip(r.status, r.status === "pending" ? "pending…" : r.status),
          " ",
          r.reply_content,
          r.status === "failed" ? h("div", { class: "error" }, r.reason || r.code || "no reason given") : null,
        ),
      ),
    );
  }

  async function markRead(m) {
    try {
      await im("PUT", `/api/im/unified-messages/${encodeURIComponent(m.msg_id)}/read`, { business_type: m.business_type });
      selected = { ...m, is_read: true };
      await refresh();
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  async function send() {
    const text = replyText.value.trim();
    if (!text || !selected) return;
    sendButton.disabled = true;
    try {
      await v1("POST", "/api/v1/replies", replyTo(selected, text));
      replyText.value = "";
      await drawThread();
    } catch (err) {
      toast(err.message, "bad");
    } finally {
      sendButton.disabled = false;
    }
  }

  // A pending reply turns sent or failed through reply.* facts; poll too while the feed is down.
  const offReplies = feed.on(["reply"], () => selected && drawThread().catch(() => null));
  const poller = setInterval(() => {
    if (selected && feed.state !== "live" && outbox.querySelector('[data-status="pending"]')) drawThread().catch(() => null);
  }, 1500);

  clear(
    root,
    h("h1", {}, "Inbox"),
    picker,
    h("div", { class: "inbox" }, h("section", { class: "panel" }, list, more), thread),
  );
  const stop = keepFresh(refresh, ["inbox", "account"], { minMs: 1500 });
  return () => {
    stop();
    offReplies();
    clearInterval(poller);
  };
}
