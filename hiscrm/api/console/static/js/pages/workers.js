// Workers: the list, one worker's detail, start/stop/restart and the log of workers this API runs.

import { v1 } from "../api.js";
import { keepFresh } from "../live.js";
import { chip, clear, field, formDialog, h, megabytes, swap, table, time, toast } from "../ui.js";

const path = (id, action) => `/api/v1/workers/${encodeURIComponent(id)}/${action}`;

async function lifecycle(id, action, then) {
  try {
    const p = await v1("POST", path(id, action));
    toast(`${id}: ${p.running ? `running (pid ${p.pid})` : "stopped"}`);
  } catch (err) {
    toast(err.message, "bad");
  }
  await then();
}

function controls(w, then) {
  if (!w.local) return h("span", { class: "muted" }, "not run by this API");
  const b = (action, label) =>
    h("button", { type: "button", dataset: { key: `${w.id}:${action}` }, onclick: () => lifecycle(w.id, action, then) }, label);
  if (w.local.running) return [b("stop", "Stop"), " ", b("restart", "Restart")];
  // Waiting out its backoff after a crash: Start now, or Stop to call the restart off.
  return w.local.restart_at ? [b("start", "Start now"), " ", b("stop", "Stop")] : b("start", "Start");
}

// The supervisor restarts a crashed local worker with backoff; how often it had to is worth seeing.
function processState(local) {
  const restarts = local.restarts ? ` · ${local.restarts} restart${local.restarts === 1 ? "" : "s"}` : "";
  if (local.running) return chip("running", `pid ${local.pid}${restarts}`);
  if (local.restart_at) return chip("restarting", `exit ${local.exit_code ?? "—"}; again ${time(local.restart_at)}${restarts}`);
  return chip("stopped", `exit ${local.exit_code ?? "—"}${restarts}`);
}

async function startNew(then) {
  const fields = [
    field("id", "Worker id", h("input", { name: "id", required: true, pattern: "[A-Za-z0-9_=\\-]+" })),
    field("max_accounts", "Most accounts it may hold", h("input", { name: "max_accounts", type: "number", min: 1, max: 1000, value: 10 })),
  ];
  const started = await formDialog("Start a local worker", fields, "Start", (v) =>
    v1("POST", `${path(v.id, "start")}?max_accounts=${Number(v.max_accounts)}`),
  );
  if (started) toast(`${started.worker_id} started`);
  await then();
}

async function list(root) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  async function refresh() {
    const workers = await v1("GET", "/api/v1/workers");
    swap(
      body,
      workers.length
        ? table(
            ["worker", "state", "accounts", "memory", "platforms", "process", "last seen", ""],
            workers.map((w) =>
              h(
                "tr",
                { dataset: { workerId: w.id } },
                h("td", {}, h("a", { href: `#/workers/${encodeURIComponent(w.id)}` }, w.id)),
                h("td", {}, chip(w.status)),
                h("td", {}, `${w.account_count} / ${w.max_accounts}`),
                h("td", {}, megabytes(w.memory_bytes)),
                h("td", {}, w.platforms.join(", ")),
                h("td", {}, w.local ? processState(w.local) : "remote"),
                h("td", {}, w.status === "online" ? "live" : time(w.last_seen || w.updated_at)),
                h("td", { class: "actions" }, controls(w, refresh)),
              ),
            ),
          )
        : h("p", { class: "muted" }, "No workers yet."),
    );
  }
  clear(
    root,
    h("div", { class: "row spread" }, h("h1", {}, "Workers"), h("button", { type: "button", class: "primary", onclick: () => startNew(refresh) }, "Start a local worker")),
    h("section", { class: "panel" }, body),
  );
  // Worker facts refresh it; the 5 s poll is for memory and last-seen times, which come from presence.
  return keepFresh(refresh, ["worker"], { quietMs: 5000 });
}

async function detail(root, id) {
  const info = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const log = h("pre", { class: "log", id: "worker-log", tabindex: "0", "aria-label": "Worker log" });
  const logPanel = h("section", { class: "panel", hidden: true }, h("h2", {}, "Log (last 200 lines)"), log);
  async function refresh() {
    const w = await v1("GET", `/api/v1/workers/${encodeURIComponent(id)}`);
    swap(
      info,
      h(
        "dl",
        {},
        ...[
          ["State", chip(w.status)],
          ["Platforms", w.platforms.join(", ")],
          ["Accounts", w.accounts.length ? w.accounts.join(", ") : "none"],
          ["Most accounts", w.max_accounts],
          ["Memory", megabytes(w.memory_bytes)],
          ["Host / pid", `${w.host || "—"} / ${w.pid ?? "—"}`],
          ["Version", w.version || "—"],
          ["Registered", time(w.registered_at)],
          ["Last seen", w.status === "online" ? "live" : time(w.last_seen)],
          ["Stop reason", w.stop_reason || "—"],
          ["Local process", w.local ? [processState(w.local), ` started ${w.local.starts}×, ${w.local.restarts} after a crash; ${w.local.command.join(" ")}`] : "not run by this API"],
        ].map(([k, v]) => [h("dt", { class: "muted" }, k), h("dd", {}, v)]),
      ),
      h("div", { class: "row" }, controls(w, refresh)),
    );
    logPanel.hidden = !w.local;
    if (w.local) {
      const tail = await v1("GET", `${path(id, "logs")}?lines=200`);
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.textContent = tail.lines.join("\n") || "(empty)";
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
  }
  clear(root, h("p", {}, h("a", { href: "#/workers" }, "← Workers")), h("h1", {}, `Worker ${id}`), h("section", { class: "panel" }, info), logPanel);
  // Logs are files, not facts: poll them every few seconds whatever the feed does.
  return keepFresh(refresh, ["worker"], { pollMs: 3000, quietMs: 3000 });
}

export async function mount(root, { args }) {
  return args[0] ? detail(root, args[0]) : list(root);
}
