// Proxies: add, edit, delete, and test that one answers (a TCP connection from the server).

import { v1 } from "../api.js";
import { keepFresh } from "../live.js";
import { clear, confirmDialog, field, formDialog, h, select, swap, table, toast } from "../ui.js";

const PROTOCOLS = [["http", "http"], ["https", "https"], ["socks5", "socks5"]];

function fieldsFor(p = {}) {
  return [
    field("name", "Name", h("input", { name: "name", required: true, value: p.name || "" })),
    field("server", "Server (host:port)", h("input", { name: "server", required: true, placeholder: "10.0.0.5:3128", value: p.server || "" })),
    field("protocol", "Protocol", select("protocol", PROTOCOLS, p.protocol || "http")),
    field("username", "User name (optional)", h("input", { name: "username", autocomplete: "off", value: p.username || "" })),
    field(
      "password",
      p.has_password ? "Password (leave empty to keep it)" : "Password (optional)",
      h("input", { name: "password", type: "password", autocomplete: "new-password" }),
    ),
  ];
}

export async function mount(root) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const results = {};
  const url = (p, rest = "") => `/api/v1/proxies/${encodeURIComponent(p.id)}${rest}`;

  async function act(work, done) {
    try {
      if ((await work()) !== undefined && done) toast(done);
    } catch (err) {
      toast(err.message, "bad");
    }
    await refresh();
  }

  async function test(p) {
    results[p.id] = "testing…";
    await refresh();
    try {
      const r = await v1("POST", url(p, "/test"));
      results[p.id] = r.reachable ? `reachable in ${r.latency_ms} ms` : `unreachable: ${r.error}`;
    } catch (err) {
      results[p.id] = err.message;
    }
    await refresh();
  }

  const add = () =>
    formDialog("Add a proxy", fieldsFor(), "Add", (v) =>
      v1("POST", "/api/v1/proxies", { ...v, username: v.username || undefined, password: v.password || undefined }),
    );

  const edit = (p) =>
    formDialog(`Edit ${p.name}`, fieldsFor(p), "Save", (v) => {
      const patch = { name: v.name, server: v.server, protocol: v.protocol, username: v.username };
      if (v.password) patch.password = v.password;
      return v1("PATCH", url(p), patch);
    });

  const remove = async (p) =>
    (await confirmDialog(`Delete proxy ${p.name}?`, "Accounts must be moved off it first.", "Delete proxy")) ? v1("DELETE", url(p)) : undefined;

  async function refresh() {
    const proxies = await v1("GET", "/api/v1/proxies");
    const b = (p, what, label, fn, cls) => h("button", { type: "button", class: cls, dataset: { key: `${p.id}:${what}` }, onclick: fn }, label);
    swap(
      body,
      proxies.length
        ? table(
            ["name", "server", "protocol", "user", "test", ""],
            proxies.map((p) =>
              h(
                "tr",
                { dataset: { proxyId: p.id } },
                h("td", {}, p.name),
                h("td", {}, p.server),
                h("td", {}, p.protocol),
                h("td", {}, p.username || "—", p.has_password ? " (password set)" : ""),
                h("td", { class: "test-result", role: "status" }, results[p.id] || ""),
                h(
                  "td",
                  { class: "actions" },
                  b(p, "test", "Test", () => test(p)),
                  " ",
                  b(p, "edit", "Edit", () => act(() => edit(p), "Saved")),
                  " ",
                  b(p, "delete", "Delete", () => act(() => remove(p), "Deleted"), "danger"),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, "No proxies. Accounts connect directly."),
    );
  }

  clear(
    root,
    h("div", { class: "row spread" }, h("h1", {}, "Proxies"), h("button", { type: "button", class: "primary", id: "add-proxy", onclick: () => act(add, "Proxy added") }, "Add proxy")),
    h("section", { class: "panel" }, body),
  );
  // Proxies live in a KV bucket, not in the facts: nothing on the feed announces a change.
  return keepFresh(refresh, ["none"], { pollMs: 15000, quietMs: 15000 });
}
