// Unread counts for the whole console: per account and in total, live from the feed, shown in the menu's
// badges and the tab title; and desktop notifications of new comments and DMs (opt-in per browser).

import { im } from "./api.js";
import { feed } from "./feed.js";
import { throttle } from "./ui.js";

const DESKTOP = "hiscrm.desktop";
const NEW_ITEMS = new Set(["inbox.comment_observed", "inbox.message_observed"]);

class Unread extends EventTarget {
  constructor() {
    super();
    this.total = null; // /api/im/unified-messages/stats/accounts: over every account the token sees
    this.accounts = []; // [{user_id, user_name, unread, stats}]
    this.page = "";
    this.running = false;
    this.busy = false;
    this.again = false;
    this.refreshSoon = throttle(() => this.refresh().catch((err) => console.warn("unread:", err.message)), 700);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.off = feed.on(["inbox"], (fact) => {
      this.refreshSoon();
      // The feed can be a moment ahead of the read models the counts come from: look once more.
      setTimeout(this.refreshSoon, 1500);
      this.alert(fact);
    });
    // Without the feed, or to be sure after a long idle: now and then anyway.
    this.timer = setInterval(() => (feed.state !== "live" || document.hidden) && this.refreshSoon(), 10000);
    this.refreshSoon();
  }

  stop() {
    this.running = false;
    this.off?.();
    clearInterval(this.timer);
    this.total = null;
    this.accounts = [];
    this.title();
  }

  async refresh() {
    // One at a time, and once more if asked meanwhile: an answer read before another must not land
    // after it, or the badges would go back to counts already read.
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.load();
      } while (this.again && this.running);
    } finally {
      this.busy = false;
    }
  }

  async load() {
    // One request for every account the token sees, however many: the counts come from the unread model.
    const { data } = await im("GET", "/api/im/unified-messages/stats/accounts");
    if (!this.running) return;
    this.total = data.total;
    this.accounts = data.accounts.map((a) => ({ ...a, unread: a.total_unread, stats: a }));
    this.title();
    const badge = (id, n) => {
      const el = document.getElementById(id);
      if (!el) return;
      el.dataset.n = n;
      el.textContent = n || "";
    };
    badge("nav-unread", data.total.total_unread);
    badge("nav-notes", data.total.unread_notifications);
    this.dispatchEvent(new Event("change"));
  }

  title() {
    const n = this.total?.total_unread;
    document.title = `${n ? `(${n}) ` : ""}${this.page || "Console"} · HisCRM`;
  }

  set pageName(name) {
    this.page = name;
    this.title();
  }

  // ---------------------------------------------------------------- desktop notifications

  get desktop() {
    return localStorage.getItem(DESKTOP) === "on" && "Notification" in window && Notification.permission === "granted";
  }

  async setDesktop(on) {
    if (on && "Notification" in window && Notification.permission !== "granted") await Notification.requestPermission();
    localStorage.setItem(DESKTOP, on && Notification.permission === "granted" ? "on" : "off");
    return this.desktop;
  }

  alert(fact) {
    const f = fact.data?.data;
    if (!this.desktop || !document.hidden || !NEW_ITEMS.has(fact.name) || !f || f.baseline) return;
    if (fact.name === "inbox.message_observed" && f.direction !== "inbound") return;
    const who = (f.author || f.sender)?.name || "someone";
    const what = fact.name === "inbox.message_observed" ? "DM" : f.parent_comment_id ? "reply" : "comment";
    const note = new Notification(`New ${what} from ${who}`, { body: f.text || f.content || "", tag: fact.id });
    note.onclick = () => {
      window.focus();
      location.hash = "#/inbox";
    };
  }
}

export const unread = new Unread();
