// The console shell: sign-in, the hash router (#/page/arg), the header by role, and the live feed's state.
// An `im` token gets the workspace (inbox, notifications); an admin token gets every page as well.

import { authEvents, clearToken, isAdmin, loadRoutes, setWho, token, v1, who } from "./api.js";
import { feed } from "./feed.js";
import { clear, h } from "./ui.js";
import { unread } from "./unread.js";
import * as accounts from "./pages/accounts.js";
import * as dashboard from "./pages/dashboard.js";
import * as inbox from "./pages/inbox.js";
import * as notifications from "./pages/notifications.js";
import * as plots from "./pages/plots.js";
import * as proxies from "./pages/proxies.js";
import * as signin from "./pages/signin.js";
import * as tokens from "./pages/tokens.js";
import * as workers from "./pages/workers.js";

const PAGES = { dashboard, accounts, inbox, notifications, workers, proxies, plots, tokens };
const WORKSPACE = new Set(["inbox", "notifications"]);
const TITLES = { notifications: "Notifications", tokens: "Tokens" };
const view = document.getElementById("view");
const bar = document.querySelector("header.bar");
let unmount = null;
let generation = 0; // a newer navigation wins over a page still mounting

function route() {
  const [name = "", ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const allowed = (n) => PAGES[n] && (isAdmin() || WORKSPACE.has(n));
  return { name: allowed(name) ? name : isAdmin() ? "dashboard" : "inbox", args };
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
    unread.stop();
    keep(await signin.mount(view, { done: () => show() }));
    return;
  }
  bar.hidden = false;
  await loadRoutes();
  // A tab signed in before roles were kept asks once what its token is.
  if (!who()) setWho(await v1("GET", "/api/v1/tokens/current"));
  if (mine !== generation) return;
  for (const a of document.querySelectorAll("[data-admin]")) a.hidden = !isAdmin();
  document.getElementById("who").textContent = `${who().name} (${who().role})`;
  feed.start();
  unread.start();
  const { name, args } = route();
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clear(view);
  unread.pageName = TITLES[name] || `${name[0].toUpperCase()}${name.slice(1)}`;
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
