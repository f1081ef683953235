// Small DOM helpers: build elements, dialogs, toasts, and the formats every page shares.

/** h("button", {class: "x", onclick}, "text", child…): attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

export const clear = (el, ...children) => {
  el.replaceChildren();
  append(el, children);
  return el;
};

export function toast(message, kind = "") {
  const box = document.getElementById("toasts");
  const t = h("div", { class: `toast ${kind}` }, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === "bad" ? 8000 : 4000);
}

/** A modal <dialog>: focus stays inside, Esc closes it. Resolves with the value passed to `close`. */
export function modal(build) {
  return new Promise((resolve) => {
    const dialog = h("dialog");
    let value;
    const close = (v) => {
      value = v;
      dialog.close();
    };
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(value);
    });
    dialog.append(build(close, dialog));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function confirmDialog(title, text, okLabel, danger = true) {
  return modal((close) =>
    h(
      "form",
      { method: "dialog", onsubmit: (e) => (e.preventDefault(), close(true)) },
      h("h2", {}, title),
      h("p", {}, text),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
        h("button", { type: "submit", class: danger ? "danger" : "primary", autofocus: true }, okLabel),
      ),
    ),
  );
}

/** A form in a dialog; `submit(values)` may throw to keep the dialog open with the error shown. */
export function formDialog(title, fields, okLabel, submit) {
  return modal((close) => {
    const error = h("p", { class: "error", role: "alert" });
    const inputs = fields.map((f) => f.input);
    const form = h(
      "form",
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const values = Object.fromEntries(fields.map((f) => [f.name, f.input.value]));
          const ok = form.querySelector('button[type="submit"]');
          ok.disabled = true;
          try {
            close(await submit(values));
          } catch (err) {
            error.textContent = err.message;
            ok.disabled = false;
          }
        },
      },
      h("h2", {}, title),
      fields.map((f) => h("label", { class: "field" }, h("span", {}, f.label), f.input)),
      error,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => close(undefined) }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, okLabel),
      ),
    );
    queueMicrotask(() => inputs[0]?.focus());
    return form;
  });
}

export const field = (name, label, input) => ({ name, label, input });

export function select(name, options, value) {
  return h(
    "select",
    { name },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
  );
}

export const megabytes = (bytes) => (bytes == null ? "—" : `${Math.round(bytes / 2 ** 20)} MB`);

export const time = (ms) => (ms ? new Date(ms).toLocaleString() : "—");

export function ago(ms) {
  if (!ms) return "never";
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 5) return "just now";
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

const TONES = {
  logged_in: "ok", online: "ok", active: "ok", sent: "ok", success: "ok", running: "ok",
  logging_in: "warn", pending: "warn", unregistered: "warn", qrcode_ready: "warn", qrcode_refreshed: "warn",
  scanning: "warn", stopped: "warn", disabled: "warn",
  expired: "bad", login_failed: "bad", blocked: "bad", offline: "bad", failed: "bad",
};

export const chip = (status, text = status) =>
  h("span", { class: `chip ${TONES[status] || ""}`, dataset: { status } }, String(text).replaceAll("_", " "));

export function table(headers, rows) {
  // Each cell carries its column's name: on a phone the rows become cards that show it beside the value.
  for (const row of rows) [...row.children].forEach((td, i) => headers[i] && (td.dataset.label = headers[i]));
  return h(
    "div",
    { class: "table-wrap" },
    h("table", {}, h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)),
  );
}

/** Run `fn` at most once per `ms`, the last call winning: live events come in bursts. */
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, wait);
  };
}

/**
 * Replace `el`'s children and give focus back to the control that had it, matched by `data-key`:
 * live refreshes rebuild lists, and a keyboard user must not lose their place each time.
 */
export function swap(el, ...children) {
  const active = document.activeElement;
  const key = el.contains(active) ? active?.dataset?.key : undefined;
  clear(el, ...children);
  if (key) el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
  return el;
}
