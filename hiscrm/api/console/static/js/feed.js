// The live feed: GET /api/im/events read with fetch, because EventSource cannot send the bearer token.
// Event ids are stream sequences; after a drop we resume with Last-Event-ID and miss nothing.

import { hasRoute, loadRoutes, token } from "./api.js";

const EVENTS = "/api/im/events";
const AGGREGATES = ["worker", "account", "login", "inbox", "reply"];
const TROUBLE = /session_expired|blocked|verification_required|login[._]failed|risk/;

/** What a fact is about, from its subject (hiscrm.evt.<aggregate>.<id>.<event>) or its event name. */
function topicsOf(name, data) {
  const hay = [name, data?.subject, data?.event, data?.type, data?.aggregate].filter(Boolean).join(" ");
  const topics = new Set();
  for (const a of AGGREGATES) if (new RegExp(`(^|[\\s.])${a}[._]`).test(hay) || data?.aggregate === a) topics.add(a);
  if (/_observed|snapshot_synced|_read\b|pinned|muted|recalled|deleted/.test(hay)) topics.add("inbox");
  if (TROUBLE.test(hay)) topics.add("trouble");
  return topics;
}

class Feed extends EventTarget {
  constructor() {
    super();
    this.state = "off";
    this.lastId = null;
    this.controller = null;
    this.running = false;
  }

  setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    this.controller?.abort();
    this.setState("off");
  }

  async loop() {
    let backoff = 1000;
    while (this.running) {
      if (!hasRoute(EVENTS)) {
        // A server without the IM API: pages fall back to polling; look again now and then.
        this.setState("unavailable");
        await sleep(15000);
        if (this.running) await loadRoutes().catch(() => null);
        continue;
      }
      try {
        await this.read();
        backoff = 1000;
        this.error = "the server closed the feed";
      } catch (err) {
        if (!this.running) return;
        this.error = err.message; // shown as the header's tooltip while reconnecting
      }
      if (!this.running) return;
      this.setState("reconnecting");
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 15000);
    }
  }

  async read() {
    this.controller = new AbortController();
    const headers = { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" };
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    const res = await fetch(EVENTS, { headers, signal: this.controller.signal, cache: "no-store" });
    if (!res.ok || !res.body) throw new Error(`live feed: HTTP ${res.status}`);
    this.setState("live");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      for (const block of blocks) this.deliver(block);
    }
  }

  deliver(block) {
    let id = null;
    let name = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue; // a comment: the server's keep-alive
      const colon = line.indexOf(":");
      const fieldName = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (fieldName === "id") id = value;
      else if (fieldName === "event") name = value;
      else if (fieldName === "data") data.push(value);
    }
    if (id !== null) this.lastId = id;
    if (!data.length) return;
    let parsed = null;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      parsed = { text: data.join("\n") };
    }
    const detail = { id, name, data: parsed, topics: topicsOf(name, parsed) };
    this.dispatchEvent(new CustomEvent("fact", { detail }));
  }

  /** Call `fn(detail)` for facts about any of `topics` (all facts when empty); returns the unsubscribe.
   * A fact whose topic cannot be told goes to everyone: a needless refresh beats a stale page. */
  on(topics, fn) {
    const listener = (e) => {
      const t = e.detail.topics;
      if (!topics.length || !t.size || topics.some((x) => t.has(x))) fn(e.detail);
    };
    this.addEventListener("fact", listener);
    return () => this.removeEventListener("fact", listener);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const feed = new Feed();
