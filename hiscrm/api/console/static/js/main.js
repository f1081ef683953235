// The console shell: sign-in, the hash router (#/page/arg), the header, and the live feed's state.

import { authEvents, clearToken, loadRoutes, token } from "./api.js";
import { feed } from "./feed.js";
import { clear, h } from "./ui.js";
import * as accounts from "./pages/accounts.js";
import * as dashboard from "./pages/dashboard.js";
import * as inbox from "./pages/inbox.js";
import * as plots from "./pages/plots.js";
import * as proxies from "./pages/proxies.js";
import * as signin from "./pages/signin.js";
import * as workers from "./pages/workers.js";

const PAGES = { dashboard, accounts, inbox, workers, proxies, plots };
const view = document.getElementById("view");
const bar = document.querySelector("header.bar");
let unmount = null;
let generation = 0; // a newer navigation wins over a page still mounting

function route() {
  const [name = "dashboard", ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return { name: PAGES[name] ? name : "dashboard", args };
}

async function show() {
  const mine = ++generation;
  unmount?.();
  unmount = null;
  const keep = (stop) => {
    if (mine === generation) unmount = stop;
    else stop?.();
  };
  if (!token()) {
    bar.hidden = true;
    feed.stop();
    keep(await signin.mount(view, { done: () => show() }));
    return;
  }
  bar.hidden = false;
  await loadRoutes();
  if (mine !== generation) return;
  feed.start();
  const { name, args } = route();
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clear(view);
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · HisCRM`;
  try {
    keep(await PAGES[name].mount(view, { args }));
  } catch (err) {
    clear(view, h("p", { class: "error", role: "alert" }, err.message));
  }
}

feed.addEventListener("state", (e) => {
  const el = document.getElementById("feed-state");
  el.dataset.state = e.detail;
  el.textContent = `feed: ${e.detail}`;
  el.title = e.detail === "reconnecting" ? `Live feed: ${feed.error}` : "Live feed (GET /api/im/events)";
});

document.getElementById("sign-out").addEventListener("click", () => {
  clearToken();
  location.hash = "";
  show();
});

authEvents.addEventListener("unauthorized", () => {
  if (!token()) return;
  clearToken();
  show();
});

window.addEventListener("hashchange", () => {
  show();
  view.focus();
});

show();
