// The agent workspace: one list across the token's accounts (or one), newest first, live; filters with
// counts, server-side search, threads with their work or as a chat, replies that show pending → sent or
// failed, read state at every level, and the keyboard (j/k move, Enter opens, r replies, e reads, / searches).

import { im, query, token } from "../api.js";
import { feed } from "../feed.js";
import {
  commentThread,
  conversationPage,
  fromDiscussion,
  fromMessage,
  fromUnified,
  requestId,
  send,
  sendStatus,
  workTarget,
} from "../inbox_thread.js";
import { chip, clear, h, swap, throttle, time, toast } from "../ui.js";
import { unread } from "../unread.js";
import { VList } from "../vlist.js";

const PAGE = 50;
// Up to PICK_ALL accounts each get a button above the list; with more, a select holds them all and only the
// PICK_BUSY with the most unread (and the chosen one) keep a button, on one line even at 1280 px.
const PICK_ALL = 8;
const PICK_BUSY = 5;
const ROW = 74; // px, the fixed height of a list row (app.css .items li)
const KIND = { comment: "comment", discussion: "reply", direct_message: "DM" };
const KINDS = [
  ["", "All"],
  ["comment", "Comments"],
  ["discussion", "Replies"],
  ["direct_message", "DMs"],
];
const COUNT_FIELD = { comment: "unread_comments", discussion: "unread_discussions", direct_message: "unread_direct_messages" };
// Kept while the agent visits other pages of the console, and dropped when another token signs in in this
// tab: what they typed and did not send, and what they sent from here with its outcome (a refused reply
// must still be there to retry when they come back).
const kept = { token: null };
function keptFor(owner) {
  if (kept.token !== owner) {
    kept.token = owner;
    kept.drafts = new Map(); // thread key -> text
    kept.outboxes = new Map(); // thread key -> [{id, text, status, reason, item, answers}]
    kept.settled = new Map(); // reply id -> {status, reason}, from reply.sent / reply.failed facts
  }
  return kept;
}

/** `text` with every occurrence of `terms` (case-insensitive) in <mark>. */
function highlighted(text, terms) {
  const wanted = (terms || []).filter(Boolean);
  if (!text || !wanted.length) return [text || ""];
  const pattern = new RegExp(`(${wanted.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "giu");
  return text.split(pattern).map((part, i) => (i % 2 ? h("mark", {}, part) : part));
}

export async function mount(root, { args }) {
  const f = { account: args[0] || "", kind: "", unread: false, q: "", work: null, conversation: null };
  let terms = [];
  let cursor = 0;
  let hasMore = false;
  let loading = null;
  let generation = 0; // a list loaded for older filters is dropped
  let selectedKey = null;
  let opened = null; // the item whose thread is shown
  let fresh = 0; // items that arrived above while the reader was scrolled away
  const { drafts, outboxes, settled } = keptFor(token());

  // ---------------------------------------------------------------- filters

  const search = h("input", {
    id: "search",
    type: "search",
    placeholder: "Search text and names  ( / )",
    "aria-label": "Search",
    autocomplete: "off",
  });
  const searchForm = h(
    "form",
    { class: "search", role: "search", onsubmit: (e) => (e.preventDefault(), searchFor(search.value.trim())) },
    search,
  );
  search.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      search.value = "";
      setFilter({ q: "" });
      search.blur();
    }
  });
  // The select stays in place while the buttons are redrawn, so live counts never close it under the reader.
  const accountSelect = h("select", { id: "account-select" });
  accountSelect.addEventListener("change", () => setFilter({ account: accountSelect.value, work: null, conversation: null }));
  const accountLabel = h("label", { class: "row check", hidden: true }, "Account ", accountSelect);
  const pickButtons = h("span", { class: "pick-buttons" });
  const picker = h("div", { class: "accounts-pick", role: "group", "aria-label": "Account" }, pickButtons, accountLabel);

  // The server searches words and characters: punctuation alone is told here, not sent to be refused.
  function searchFor(q) {
    if (q && !/[\p{L}\p{N}]/u.test(q)) toast("Search for a word, a name or a number: punctuation alone matches nothing.", "bad");
    else setFilter({ q });
  }
  const kinds = h("div", { class: "kinds", role: "group", "aria-label": "Kind" });
  const unreadOnly = h("input", { type: "checkbox", id: "unread-only" });
  unreadOnly.addEventListener("change", () => setFilter({ unread: unreadOnly.checked }));
  const scoped = h("div", { class: "scoped row" });
  const markAll = h("button", { type: "button", id: "mark-all-read", onclick: () => readVisible() }, "Mark all read");
  const desktop = h("input", { type: "checkbox", id: "desktop-alerts" });
  desktop.checked = unread.desktop;
  desktop.addEventListener("change", async () => {
    desktop.checked = await unread.setDesktop(desktop.checked);
    if (!desktop.checked && "Notification" in window && Notification.permission === "denied") {
      toast("The browser blocks notifications for this site; allow them in its settings.", "bad");
    }
  });

  function setFilter(change) {
    Object.assign(f, change);
    if ("account" in change) {
      const want = f.account ? `#/inbox/${encodeURIComponent(f.account)}` : "#/inbox";
      if (location.hash !== want) history.replaceState(null, "", want);
    }
    drawFilters();
    reload();
  }

  function drawFilters() {
    const total = unread.total;
    const pick = (id, label, n) =>
      h(
        "button",
        {
          type: "button",
          "aria-pressed": String(f.account === id),
          dataset: { key: `pick:${id}`, accountId: id },
          onclick: () => setFilter({ account: id, work: null, conversation: null }),
        },
        label,
        " ",
        h("span", { class: "badge", dataset: { n: n ?? 0 }, "aria-label": `${n ?? 0} unread` }, n || ""),
      );
    // A hundred account buttons would push the list off the screen.
    const all = unread.accounts;
    const few = all.length <= PICK_ALL;
    const busy = [...all].filter((a) => a.unread).sort((a, b) => b.unread - a.unread).slice(0, PICK_BUSY);
    const chosen = all.find((a) => a.user_id === f.account);
    const shown = few ? all : chosen && !busy.includes(chosen) ? [chosen, ...busy.slice(0, PICK_BUSY - 1)] : busy;
    if (!few && document.activeElement !== accountSelect) {
      const byUnread = [...all].sort((a, b) => b.unread - a.unread);
      swap(
        accountSelect,
        h("option", { value: "" }, `Every account (${all.length})`),
        byUnread.map((a) =>
          h("option", { value: a.user_id, selected: a.user_id === f.account }, `${a.user_name || a.user_id}${a.unread ? ` (${a.unread})` : ""}`),
        ),
      );
      accountSelect.value = f.account;
    }
    swap(pickButtons, pick("", "All accounts", total?.total_unread), shown.map((a) => pick(a.user_id, a.user_name || a.user_id, a.unread)));
    accountLabel.hidden = few;
    const stats = f.account ? unread.accounts.find((a) => a.user_id === f.account)?.stats : total;
    swap(
      kinds,
      KINDS.map(([kind, label]) => {
        const n = stats ? (kind ? stats[COUNT_FIELD[kind]] : stats.total_unread) : 0;
        return h(
          "button",
          {
            type: "button",
            "aria-pressed": String(f.kind === kind),
            dataset: { key: `kind:${kind}`, kind },
            onclick: () => setFilter({ kind }),
          },
          label,
          " ",
          h("span", { class: "count", dataset: { n } }, String(n)),
        );
      }),
    );
    const only = [];
    if (f.work) only.push(filterChip(`work: ${f.work.title || f.work.content_id}`, () => setFilter({ work: null })));
    if (f.conversation)
      only.push(filterChip(`conversation: ${f.conversation.name}`, () => setFilter({ conversation: null })));
    if (f.q) only.push(filterChip(`search: ${f.q}`, () => ((search.value = ""), setFilter({ q: "" }))));
    swap(scoped, only);
  }

  const filterChip = (label, drop) =>
    h("span", { class: "chip filter" }, label, " ", h("button", { type: "button", class: "quiet", "aria-label": `Remove ${label}`, onclick: drop }, "×"));

  // ---------------------------------------------------------------- the list

  const pill = h("button", { type: "button", class: "new-pill", hidden: true, onclick: () => toTop() });
  const vlist = new VList({ row: ROW, render: row, onNearEnd: () => more(), label: "Messages" });
  vlist.scroller.addEventListener("scroll", () => vlist.atTop && clearPill(), { passive: true });

  function row(item) {
    return h(
      "li",
      { dataset: { key: item.key, msgId: item.id, type: item.kind } },
      h(
        "button",
        {
          type: "button",
          tabindex: "-1",
          "aria-current": String(item.key === selectedKey),
          class: item.key === opened?.key ? "open" : "",
          onclick: () => select(item, true),
        },
        h(
          "div",
          { class: "row spread" },
          h("span", { class: `who ${item.is_read ? "" : "unread"}` }, highlighted(item.who, terms)),
          h("span", {}, chip(item.kind, KIND[item.kind]), " ", h("span", { class: "muted small" }, time(item.at))),
        ),
        h("div", { class: "text" }, highlighted(item.text, terms)),
        h("div", { class: "muted small" }, [accountName(item.account_id), item.work_title].filter(Boolean).join(" · ")),
      ),
    );
  }

  const accountName = (id) => unread.accounts.find((a) => a.user_id === id)?.user_name || id;

  /** One page of whatever the filters ask for, as list items. */
  async function fetchPage(after, count) {
    const base = { account_id: f.account || undefined, cursor: after, count };
    if (f.q) {
      const page = await im("GET", `/api/im/search${query({ ...base, q: f.q, types: f.kind || undefined, is_read: f.unread ? "false" : undefined })}`);
      return { items: page.data.messages.map(fromUnified), cursor: page.cursor, has_more: page.has_more, terms: page.data.terms };
    }
    if (f.conversation) {
      const page = await im("GET", `/api/im/messages${query({ ...base, account_id: f.conversation.account_id, conversation_id: f.conversation.conversation_id })}`);
      const items = page.data.messages.map(fromMessage).filter((m) => !m.mine && (!f.unread || !m.is_read));
      return { items, cursor: page.data.cursor, has_more: page.data.has_more };
    }
    if (f.work) {
      const page = await im("GET", `/api/im/discussions${query({ ...base, account_id: f.work.account_id, content_id: f.work.content_id, is_read: f.unread ? "false" : undefined })}`);
      const items = page.data.discussions.map(fromDiscussion).filter((d) => !d.send_status && (!f.kind || d.kind === f.kind));
      return { items, cursor: page.cursor, has_more: page.has_more };
    }
    const page = await im("GET", `/api/im/unified-messages${query({ ...base, types: f.kind || undefined, is_read: f.unread ? "false" : undefined })}`);
    return { items: page.data.messages.map(fromUnified), cursor: page.cursor, has_more: page.has_more };
  }

  async function reload() {
    const mine = ++generation;
    clearPill();
    loading = fetchPage(0, PAGE);
    try {
      const page = await loading;
      if (mine !== generation) return;
      terms = page.terms || [];
      cursor = page.cursor;
      hasMore = page.has_more;
      vlist.set(page.items);
      status.textContent = `${page.items.length}${hasMore ? "+" : ""} shown`;
    } catch (err) {
      if (mine === generation) {
        // The rows of the previous filters would pass for an answer to these.
        vlist.set([]);
        status.textContent = `Not loaded: ${err.message}`;
        toast(err.message, "bad");
      }
    } finally {
      if (mine === generation) loading = null;
      if (missed) {
        missed = false;
        fetchNew();
      }
    }
  }

  async function more() {
    if (!hasMore || loading) return;
    const mine = generation;
    loading = fetchPage(cursor, PAGE);
    try {
      const page = await loading;
      if (mine !== generation) return;
      const known = new Set(vlist.items.map((i) => i.key));
      cursor = page.cursor;
      hasMore = page.has_more;
      vlist.append(page.items.filter((i) => !known.has(i.key)));
      status.textContent = `${vlist.items.length}${hasMore ? "+" : ""} shown`;
    } catch (err) {
      toast(err.message, "bad");
    } finally {
      if (mine === generation) loading = null;
      if (missed) {
        missed = false;
        fetchNew();
      }
    }
  }

  /**
   * The feed announces a new item as soon as it is recorded, which may be a moment before the read
   * models show it: the item is looked for until it shows (or, if the filters hide it, for a few tries).
   */
  const awaited = new Map(); // item key -> tries left
  function announced(fact) {
    const d = fact.data?.data || {};
    const kind = fact.name === "inbox.message_observed" ? "direct_message" : d.parent_comment_id ? "discussion" : "comment";
    if (inOpenThread(d)) threadNews(d.comment_id || d.message_id);
    const hidden =
      (f.account && d.account_id !== f.account) ||
      (f.kind && f.kind !== kind) ||
      (f.work && (d.account_id !== f.work.account_id || d.content_id !== f.work.content_id)) ||
      (f.conversation && (d.account_id !== f.conversation.account_id || d.conversation_id !== f.conversation.conversation_id));
    if (hidden) return;
    awaited.set(`${d.account_id}|${d.comment_id || d.message_id}`, 12);
    fetchNew();
  }

  /** New items at the top: those of the first page again that the list has not got. */
  let missed = false; // new items announced while a page was loading: looked for once it is in
  const fetchNew = throttle(async () => {
    if (f.q) return;
    if (loading) {
      missed = true;
      return;
    }
    if (!vlist.items.length) {
      reload();
      return;
    }
    const mine = generation;
    try {
      const page = await fetchPage(0, PAGE);
      if (mine !== generation) return;
      const known = new Set(vlist.items.map((i) => i.key));
      // Every item of the first page the list lacks is new, not only those above the first known one: items
      // are ordered by their platform time, so one the crawler saw later can sort below a known one.
      const added = page.items.filter((item) => !known.has(item.key));
      for (const key of [...awaited.keys()]) {
        const left = awaited.get(key) - 1;
        if (known.has(key) || added.some((i) => i.key === key) || left <= 0) awaited.delete(key);
        else awaited.set(key, left);
      }
      if (awaited.size) setTimeout(fetchNew, 500);
      if (!added.length) return;
      const away = !vlist.atTop;
      vlist.prepend(added);
      if (away) {
        fresh += added.length;
        pill.textContent = `${fresh} new ↑`;
        pill.hidden = false;
      }
    } catch (err) {
      console.warn("new items:", err.message);
    }
  }, 400);

  function clearPill() {
    fresh = 0;
    pill.hidden = true;
  }

  function toTop() {
    vlist.scrollToTop();
    clearPill();
  }

  function select(item, open) {
    selectedKey = item.key;
    if (open) openThread(item);
    vlist.refresh();
  }

  /** A notification's link (#/inbox/<account>/<comment|dm>/<id>) opens that item's thread. */
  async function openLinked(kind, id) {
    const at = query({ account_id: f.account || undefined });
    try {
      const item =
        kind === "dm"
          ? fromMessage((await im("GET", `/api/im/messages/${encodeURIComponent(id)}${at}`)).data)
          : fromDiscussion((await im("GET", `/api/im/discussions/${encodeURIComponent(id)}${at}`)).data);
      select(item, true);
      const i = vlist.indexOf(item.key);
      if (i >= 0) vlist.scrollToIndex(i);
    } catch (err) {
      toast(`That item cannot be opened: ${err.message}`, "bad");
    }
  }

  function moveSelection(by) {
    const items = vlist.items;
    if (!items.length) return;
    const at = vlist.indexOf(selectedKey);
    const next = Math.min(items.length - 1, Math.max(0, at < 0 ? 0 : at + by));
    select(items[next], false);
    vlist.scrollToIndex(next);
  }

  // ---------------------------------------------------------------- the thread

  const thread = h("section", { class: "panel thread", "aria-label": "Thread" }, h("p", { class: "muted" }, "Pick a message (j/k, Enter)."));
  const replyText = h("textarea", {
    id: "reply-text",
    "aria-label": "Reply",
    maxlength: 5000,
    placeholder: "Write a reply… (Enter sends, Shift+Enter new line)",
  });
  const sendButton = h("button", { type: "submit", class: "primary", id: "reply-send" }, "Send");
  const outbox = h("ul", { class: "outbox", "aria-label": "Replies sent from here" });
  // On a comment thread the box can comment on the thread's work instead, at the top level.
  let onWork = false;
  const workMode = h("span", { class: "muted small", id: "reply-mode", hidden: true }, "Commenting on the work, not replying ", h("button", { type: "button", onclick: () => aimAtWork(false) }, "Reply instead"));
  const replyForm = h("form", { class: "reply", onsubmit: (e) => (e.preventDefault(), sendReply()) }, replyText, h("div", { class: "row" }, sendButton, workMode));
  replyText.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendReply();
    } else if (e.key === "Escape") {
      if (onWork) aimAtWork(false);
      replyText.blur();
    }
  });

  function aimAtWork(on) {
    onWork = on;
    workMode.hidden = !on;
    replyText.placeholder = on ? "Comment on this work… (Enter sends, Esc goes back to replying)" : "Write a reply… (Enter sends, Shift+Enter new line)";
    if (on) replyText.focus();
  }
  const threadHead = h("div", { class: "thread-head" });
  const threadBody = h("div", { class: "thread-body", tabindex: "-1" });
  let chat = null; // {item, cursor, has_more, loading} of an open DM conversation

  function threadKey(item) {
    return item.kind === "direct_message" ? `${item.account_id}|dm|${item.conversation_id}` : `${item.account_id}|c|${item.id}`;
  }

  function keepDraft() {
    if (!opened) return;
    const text = replyText.value;
    if (text.trim()) drafts.set(threadKey(opened), text);
    else drafts.delete(threadKey(opened));
  }

  async function openThread(item) {
    keepDraft();
    opened = item;
    chat = null;
    clear(thread, threadHead, threadBody, replyForm, outbox);
    replyText.value = drafts.get(threadKey(item)) || "";
    aimAtWork(false);
    drawOutbox();
    if (matchMedia("(max-width: 760px)").matches) thread.scrollIntoView({ block: "start" });
    await drawThread();
  }

  const markRead = (item) => (item.is_read ? null : h("button", { type: "button", id: "mark-read", onclick: () => readItems([item]) }, "Mark read"));

  function drawChatHead(item) {
    swap(
      threadHead,
      h("h2", {}, `DM with ${item.peer?.user_name || item.who}`),
      h("div", { class: "muted small" }, accountName(item.account_id)),
      h(
        "div",
        { class: "row" },
        markRead(item),
        h("button", { type: "button", id: "read-conversation", onclick: () => readScope({ conversation_id: item.conversation_id, account_id: item.account_id }) }, "Mark conversation read"),
        h("button", { type: "button", onclick: () => setFilter({ conversation: { account_id: item.account_id, conversation_id: item.conversation_id, name: item.peer?.user_name || item.who }, work: null }) }, "Only this conversation"),
      ),
    );
  }

  async function drawThread() {
    const item = opened;
    if (!item) return;
    const actions = [markRead(item)];
    if (item.kind === "direct_message") {
      drawChatHead(item);
      const page = await conversationPage(item);
      if (opened !== item) return;
      chat = { item, cursor: page.cursor, has_more: page.has_more, loading: false, ids: new Set(page.messages.map((m) => m.id)) };
      swap(threadBody, page.has_more ? h("p", { class: "muted small older" }, "Scroll up for earlier messages") : null, page.messages.map(bubble));
      threadBody.classList.add("chat");
      threadBody.scrollTop = threadBody.scrollHeight;
      return;
    }
    threadBody.classList.remove("chat");
    const t = await commentThread(item);
    if (opened !== item) return;
    const w = t.work;
    swap(
      threadHead,
      h("h2", {}, `${KIND[item.kind]} from ${item.who}`),
      w || item.work_title
        ? h(
            "div",
            { class: "work" },
            w?.cover ? h("img", { src: w.cover, alt: "", width: 48, height: 64, loading: "lazy", onerror: (e) => e.target.remove() }) : null,
            h(
              "div",
              {},
              h("div", { class: "work-title" }, w?.url ? h("a", { href: w.url, target: "_blank", rel: "noopener" }, w.title || item.work_title || item.content_id) : w?.title || item.work_title),
              h("div", { class: "muted small" }, accountName(item.account_id), w?.stats ? ` · ${w.stats.total_comments} comments` : ""),
            ),
          )
        : null,
      h(
        "div",
        { class: "row" },
        actions,
        h("button", { type: "button", id: "read-thread", onclick: () => readItems(t.messages.filter((m) => !m.is_read)) }, "Mark thread read"),
        item.content_id
          ? h("button", { type: "button", id: "read-work", onclick: () => readScope({ content_id: item.content_id, account_id: item.account_id }) }, "Mark work's comments read")
          : null,
        item.content_id
          ? h("button", { type: "button", onclick: () => setFilter({ work: { account_id: item.account_id, content_id: item.content_id, title: w?.title || item.work_title }, conversation: null }) }, "Only this work")
          : null,
        item.content_id ? h("button", { type: "button", id: "comment-work", onclick: () => aimAtWork(true) }, "Comment on this work") : null,
      ),
    );
    swap(threadBody, t.messages.map(bubble));
  }

  const bubble = (m) =>
    h(
      "div",
      { class: `msg ${m.mine ? "mine" : ""} ${m.id === opened?.id ? "focus" : ""}`, dataset: { id: m.id } },
      h("div", {}, h("strong", {}, m.who), " ", h("span", { class: "muted small" }, time(m.at))),
      h("div", { class: "text" }, highlighted(m.text, terms)),
    );

  // Earlier messages of a conversation when the reader scrolls to the top; the view stays where it was.
  threadBody.addEventListener("scroll", async () => {
    if (!chat || !chat.has_more || chat.loading || threadBody.scrollTop > 40) return;
    const c = chat;
    c.loading = true;
    try {
      const page = await conversationPage(c.item, c.cursor);
      if (chat !== c) return;
      const before = threadBody.scrollHeight;
      c.cursor = page.cursor;
      c.has_more = page.has_more;
      for (const m of page.messages) c.ids.add(m.id);
      threadBody.querySelector(".older")?.remove();
      threadBody.prepend(...(c.has_more ? [h("p", { class: "muted small older" }, "Scroll up for earlier messages")] : []), ...page.messages.map(bubble));
      threadBody.scrollTop += threadBody.scrollHeight - before;
    } finally {
      c.loading = false;
    }
  });

  /** Whether a new comment or DM (a fact's data) belongs to the open thread. */
  function inOpenThread(d) {
    const o = opened;
    if (!o || d.account_id !== o.account_id) return false;
    if (o.kind === "direct_message") return d.conversation_id === o.conversation_id;
    const head = o.kind === "discussion" ? o.parent_comment_id : o.id;
    return d.comment_id === head || d.parent_comment_id === head;
  }

  /** Messages newer than the chat shows, added below; a reader at the bottom follows them, one scrolled up stays put. */
  async function chatNewer(item) {
    const page = await conversationPage(item);
    const c = chat;
    if (!c || c.item !== item || opened !== item) return;
    const added = page.messages.filter((m) => !c.ids.has(m.id));
    if (!added.length) return;
    const atBottom = threadBody.scrollHeight - threadBody.scrollTop - threadBody.clientHeight < 40;
    for (const m of added) c.ids.add(m.id);
    threadBody.append(...added.map(bubble));
    if (atBottom) threadBody.scrollTop = threadBody.scrollHeight;
  }

  /** The open thread again after a change (a new message, a send, a read), without losing the reader's place. */
  async function refreshOpen() {
    const item = opened;
    if (!item) return;
    if (item.kind === "direct_message") {
      drawChatHead(item);
      if (chat?.item === item) await chatNewer(item);
      return;
    }
    const top = threadBody.scrollTop;
    await drawThread();
    if (opened === item) threadBody.scrollTop = top;
  }

  /** The feed announced `id` in the open thread: the read models may show it a moment later, so look a few times. */
  async function threadNews(id, tries = 12) {
    const item = opened;
    if (!item) return;
    await refreshOpen().catch((err) => console.warn("thread:", err.message));
    if (opened !== item || tries <= 1 || threadBody.querySelector(`.msg[data-id="${CSS.escape(id)}"]`)) return;
    setTimeout(() => threadNews(id, tries - 1), 500);
  }

  // ---------------------------------------------------------------- answering

  function drawOutbox() {
    const mine = opened ? outboxes.get(threadKey(opened)) || [] : [];
    swap(
      outbox,
      mine.map((r) =>
        h(
          "li",
          { dataset: { replyId: r.id || "", status: r.status } },
          chip(r.status, r.status === "pending" ? "pending…" : r.status),
          " ",
          r.item.kind === "work" ? h("span", { class: "muted small" }, "on the work: ") : null,
          r.text,
          r.status === "failed"
            ? h("div", { class: "error" }, r.reason || "the platform refused it", " ", h("button", { type: "button", class: "retry", onclick: () => retry(r) }, "Retry"))
            : null,
        ),
      ),
    );
  }

  async function sendReply(text = replyText.value.trim(), entry = null) {
    const item = opened;
    if (!text || !item) return;
    const key = threadKey(item);
    const list = outboxes.get(key) || [];
    const r = entry || { text, status: "pending", item: onWork ? workTarget(item) : item, answers: item };
    r.status = "pending";
    r.reason = null;
    if (!entry) list.push(r);
    outboxes.set(key, list);
    if (!entry) {
      replyText.value = "";
      drafts.delete(key);
    }
    drawOutbox();
    try {
      const sent = await send(r.item, text, requestId());
      r.id = sent.id;
      // The feed may have told the outcome before this answer came.
      r.status = settled.get(sent.id)?.status || sent.status;
      r.reason = settled.get(sent.id)?.reason || null;
      answered(r);
    } catch (err) {
      r.status = "failed";
      r.reason = err.message;
    }
    drawOutbox();
  }

  // What the agent answered they have read, once the answer reached the platform (a refused one leaves it
  // unread, to be answered still): a DM answers its whole conversation, a reply the comment it is under. A
  // comment on the work answers nobody in particular.
  function answered(r) {
    if (r.status !== "sent" || r.read || r.item.kind === "work") return;
    r.read = true;
    const item = r.answers;
    if (item.kind === "direct_message") readScope({ conversation_id: item.conversation_id, account_id: item.account_id });
    else readItems([item]);
  }

  const retry = (r) => sendReply(r.text, r);

  function onReply(fact) {
    const d = fact.data?.data;
    if (!d?.reply_id) return;
    const outcome = { status: fact.name === "reply.failed" ? "failed" : "sent", reason: d.reason || null };
    settled.set(d.reply_id, outcome);
    for (const list of outboxes.values())
      for (const r of list)
        if (r.id === d.reply_id) {
          Object.assign(r, outcome);
          answered(r);
        }
    drawOutbox();
    if (outcome.status === "sent") refreshOpen().catch(() => null);
  }

  /** Replies still pending here, asked after: while the feed is down, and for what settled while the agent was on another page. */
  async function askPending() {
    for (const list of outboxes.values())
      for (const r of list)
        if (r.status === "pending" && r.id) {
          const s = await sendStatus(r.item, r.id).catch(() => "pending");
          if (s !== "pending") onReply({ name: s === "failed" ? "reply.failed" : "reply.sent", data: { data: { reply_id: r.id } } });
        }
  }

  const poller = setInterval(() => {
    if (feed.state === "live") return;
    fetchNew();
    askPending();
  }, 2000);

  // ---------------------------------------------------------------- read state

  function markLocally(test) {
    for (const item of vlist.items) if (test(item)) item.is_read = true;
    if (opened && test(opened)) opened.is_read = true;
    vlist.refresh();
  }

  async function readItems(items) {
    const byKind = new Map();
    for (const item of items) {
      if (item.is_read) continue;
      const k = `${item.account_id}|${item.kind}`;
      byKind.set(k, [...(byKind.get(k) || []), item]);
    }
    try {
      for (const group of byKind.values()) {
        for (let i = 0; i < group.length; i += 500) {
          const chunk = group.slice(i, i + 500);
          await im("PUT", "/api/im/unified-messages/read-many", {
            message_ids: chunk.map((x) => x.id),
            business_type: chunk[0].kind,
            account_id: chunk[0].account_id,
          });
        }
      }
      const keys = new Set(items.map((i) => i.key));
      markLocally((i) => keys.has(i.key));
      refreshOpen().catch(() => null);
      unread.refreshSoon();
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  /** Everything unread in a scope, on the server: a conversation, a work, an account, or all. */
  async function readScope(scope) {
    try {
      for (;;) {
        const page = await im("PUT", "/api/im/unified-messages/read-all", scope);
        if (!page.data?.remaining) break;
      }
      markLocally((i) =>
        (!scope.account_id || i.account_id === scope.account_id) &&
        (!scope.conversation_id || i.conversation_id === scope.conversation_id) &&
        (!scope.content_id || i.content_id === scope.content_id) &&
        (!scope.types || scope.types === i.kind),
      );
      refreshOpen().catch(() => null);
      unread.refreshSoon();
      if (f.unread) reload();
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  /** "Mark all read" reads what the filters show: on the server for a whole scope, the loaded items for a search. */
  function readVisible() {
    if (f.q) return readItems(vlist.items);
    if (f.conversation) return readScope({ conversation_id: f.conversation.conversation_id, account_id: f.conversation.account_id });
    return readScope({
      account_id: f.work?.account_id || f.account || undefined,
      content_id: f.work?.content_id,
      types: f.kind || undefined,
    });
  }

  // ---------------------------------------------------------------- live, keyboard, layout

  const offInbox = feed.on(["inbox"], (fact) => {
    const d = fact.data?.data || {};
    if (fact.name === "inbox.comment_observed" || fact.name === "inbox.message_observed") announced(fact);
    else if (fact.name === "inbox.comment_read") markLocally((i) => i.account_id === d.account_id && i.id === d.comment_id);
    else if (fact.name === "inbox.message_read") markLocally((i) => i.account_id === d.account_id && i.id === d.message_id);
    else if (fact.name === "inbox.conversation_read")
      markLocally((i) => i.account_id === d.account_id && i.kind === "direct_message" && i.conversation_id === d.conversation_id);
  });
  const offReplies = feed.on(["reply"], (fact) => (fact.name === "reply.sent" || fact.name === "reply.failed") && onReply(fact));
  const onCounts = () => drawFilters();
  unread.addEventListener("change", onCounts);

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "") || document.activeElement?.isContentEditable;
    if (typing || document.querySelector("dialog[open]")) return;
    const selected = vlist.items[vlist.indexOf(selectedKey)];
    if (e.key === "j") moveSelection(1);
    else if (e.key === "k") moveSelection(-1);
    else if (e.key === "Enter" && selected) openThread(selected);
    else if (e.key === "r" && opened) replyText.focus();
    else if (e.key === "e" && (selected || opened)) readItems([selected || opened]);
    else if (e.key === "/") search.focus();
    else return;
    e.preventDefault();
  }
  document.addEventListener("keydown", onKey);

  const status = h("span", { class: "muted small", id: "list-status" });
  const inboxBox = h("div", { class: "inbox" }, h("section", { class: "panel list" }, pill, vlist.scroller, status), thread);
  clear(
    root,
    h("h1", {}, "Inbox"),
    picker,
    h(
      "div",
      { class: "toolbar row" },
      searchForm,
      kinds,
      h("label", { class: "row check" }, unreadOnly, "Unread only"),
      markAll,
      h("label", { class: "row check muted small" }, desktop, "Desktop alerts"),
    ),
    scoped,
    inboxBox,
  );
  // The list and the thread fill the window below the filters, however many lines those take (chips come
  // and go with a search, the account buttons with the counts): the page itself never needs scrolling.
  const fit = () => inboxBox.style.setProperty("--top", `${Math.round(inboxBox.getBoundingClientRect().top + scrollY)}px`);
  const sizer = new ResizeObserver(fit);
  for (const above of [picker, scoped, searchForm.parentElement]) sizer.observe(above);
  drawFilters();
  askPending();
  await reload();
  if (args[1] && args[2]) await openLinked(args[1], args[2]);
  if (unread.total) drawFilters();
  return () => {
    keepDraft();
    sizer.disconnect();
    offInbox();
    offReplies();
    unread.removeEventListener("change", onCounts);
    document.removeEventListener("keydown", onKey);
    clearInterval(poller);
  };
}
