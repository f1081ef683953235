// Keeping a page current: refresh on the live feed's facts; poll often only while the feed is not live,
// and now and then anyway so that "2 min ago" stays true on a quiet system.

import { feed } from "./feed.js";
import { throttle } from "./ui.js";

/**
 * Run `refresh` now, then again (at most every `minMs`) on facts about `topics`, and every `pollMs`
 * while the feed is down. Returns the stop function the page calls when it goes away.
 */
export function keepFresh(refresh, topics, { minMs = 1000, pollMs = 5000, quietMs = 30000 } = {}) {
  let stopped = false;
  const run = throttle(() => {
    if (!stopped) refresh().catch((err) => console.warn("refresh failed:", err.message));
  }, minMs);
  const unsubscribe = feed.on(topics, run);
  let lastPoll = Date.now();
  const timer = setInterval(() => {
    if (feed.state !== "live" || Date.now() - lastPoll >= quietMs) {
      lastPoll = Date.now();
      run();
    }
  }, pollMs);
  run();
  return () => {
    stopped = true;
    unsubscribe();
    clearInterval(timer);
  };
}
