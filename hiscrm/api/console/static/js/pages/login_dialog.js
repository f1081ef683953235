// The login dialogs: a QR login (start or rejoin the account's session) and a session import (paste a
// cookie export), each followed to its end. When the platform wants an SMS code after the scan, the
// dialog asks for it and passes it to the worker, which types it into the platform's page.

import { v1 } from "../api.js";
import { feed } from "../feed.js";
import { clear, h, modal, toast } from "../ui.js";

const POLL_MS = 1000;

const STEPS = {
  pending: "Waiting for the account's worker to open the login page…",
  qrcode_ready: "Scan the QR code with the Douyin app on the account's phone, then confirm on the phone.",
  qrcode_refreshed: "The previous QR code lapsed; this is a new one. Scan it with the Douyin app.",
  scanning: "Scanned. The platform asks for more before it lets the login through.",
  verifying: "The worker is typing the code into the platform's page…",
  success: "Logged in.",
  failed: "The login failed.",
  expired: "The login session expired before it was completed.",
};
const IMPORT_STEPS = { ...STEPS, pending: "The account's worker is loading the creator home with the imported session…" };

const FINAL = new Set(["success", "failed", "expired"]);

const clock = (ms) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

const sessionPath = (id) => `/api/v1/login-sessions/${encodeURIComponent(id)}`;

/** Open the QR login dialog for `account`; resolves when it closes ("success" if the login went through). */
export function openLogin(account) {
  return follow(account, `Log in ${account.account_name}`, () =>
    v1("POST", `/api/v1/accounts/${encodeURIComponent(account.id)}/login`),
  );
}

/** Ask for a cookie export, import it, and follow the check; resolves like openLogin (undefined if cancelled). */
export async function openImport(account) {
  const started = await modal((close) => {
    const cookies = h("textarea", {
      id: "import-cookies",
      name: "cookies",
      rows: 8,
      required: true,
      placeholder: '[{"name": "sessionid", "value": "…", "domain": ".douyin.com", …}]  or  sessionid=…; sessionid_ss=…',
    });
    const domain = h("input", { id: "import-domain", name: "domain", placeholder: ".douyin.com" });
    const error = h("p", { class: "error", role: "alert", id: "import-error" });
    const form = h(
      "form",
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const ok = form.querySelector('button[type="submit"]');
          ok.disabled = true;
          const text = cookies.value.trim();
          let body;
          try {
            body = { cookies: text.startsWith("[") ? JSON.parse(text) : text };
          } catch (err) {
            error.textContent = `The export is not valid JSON: ${err.message}`;
            ok.disabled = false;
            return;
          }
          if (domain.value.trim()) body.domain = domain.value.trim();
          try {
            close(await v1("POST", `/api/v1/accounts/${encodeURIComponent(account.id)}/session-import`, body));
          } catch (err) {
            error.textContent = err.message;
            ok.disabled = false;
          }
        },
      },
      h("h2", {}, `Import a session for ${account.account_name}`),
      h(
        "p",
        { class: "muted" },
        "Export the cookies of the creator site from a browser where the account is logged in (a cookie " +
          "extension's JSON export, httpOnly cookies included, or the Cookie header from the developer tools) " +
          "and paste them here. They are sealed with the account's key; the worker checks them on the creator home.",
      ),
      h("label", { class: "field" }, h("span", {}, "Cookie export"), cookies),
      h("label", { class: "field" }, h("span", {}, "Cookie domain, for a Cookie header (default .douyin.com)"), domain),
      error,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => close(undefined) }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, "Import"),
      ),
    );
    queueMicrotask(() => cookies.focus());
    return form;
  });
  if (started === undefined) return undefined;
  return follow(account, `Import a session for ${account.account_name}`, async () => started);
}

/** The dialog that follows one login session, which `begin()` starts (or names), to its end. */
function follow(account, title, begin) {
  return modal((close, dialog) => {
    const status = h("p", { id: "login-status", role: "status" }, "Starting…");
    const img = h("img", { id: "login-qr", alt: "QR code to scan with the Douyin app", hidden: true });
    const qr = h("div", { class: "qr", style: "display: none" }, img);
    const countdown = h("p", { id: "login-countdown", class: "muted" });
    const guidance = h("div", { id: "login-guidance" });
    const codeInput = h("input", {
      id: "sms-code",
      name: "code",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      pattern: "[0-9]{4,8}",
      maxlength: 8,
      required: true,
    });
    const codeError = h("p", { id: "sms-error", class: "error", role: "alert" });
    const codeButton = h("button", { type: "submit", class: "primary" }, "Send code");
    const codeForm = h(
      "form",
      { id: "sms-form", hidden: true, onsubmit: (e) => (e.preventDefault(), submitCode()) },
      h("label", { class: "field" }, h("span", {}, "SMS code from the account's phone"), codeInput),
      codeError,
      h("div", { class: "buttons" }, codeButton),
    );
    const again = h("button", { type: "button", hidden: true, onclick: () => start() }, "Start a new login");
    const refresh = h("button", { type: "button", onclick: () => poll() }, "Refresh");
    let session = null;
    let timer = null;
    let shownQr = null;

    function render() {
      const s = session;
      const steps = s.method === "import" ? IMPORT_STEPS : STEPS;
      dialog.dataset.status = s.status;
      status.textContent = steps[s.status] || s.status;
      if (s.qrcode && !FINAL.has(s.status)) {
        if (shownQr !== null && s.qrcode !== shownQr) toast("The QR code was refreshed");
        shownQr = s.qrcode;
        img.src = s.qrcode;
        img.hidden = false;
      } else {
        img.hidden = true;
      }
      // The box's own CSS sets display, which outweighs the hidden attribute.
      qr.style.display = img.hidden || s.status === "scanning" || s.status === "verifying" ? "none" : "";
      clear(guidance);
      if (s.status === "pending" && !account.assigned_worker_id) {
        guidance.append(h("p", { class: "notice" }, "No worker holds this account yet; the login starts once one does (see Workers)."));
      }
      if (s.status === "scanning" || s.status === "verifying") {
        const sms = s.verification_method === "sms";
        guidance.append(
          h(
            "div",
            { class: "notice", id: "verification-required" },
            h("strong", {}, `Verification required${s.verification_method ? ` (${s.verification_method})` : ""}. `),
            s.message ? `${s.message} ` : "",
            sms
              ? "Ask the account's owner for the code the platform just sent to their phone and enter it below."
              : "Ask the account's owner to finish it on their phone; this dialog carries on by itself once the platform accepts it.",
          ),
        );
      }
      codeForm.hidden = !s.awaiting_sms_code;
      codeButton.disabled = s.status === "verifying";
      codeError.textContent = s.status === "scanning" && s.code_error ? `The platform refused the code: ${s.code_error}` : "";
      if (s.status === "failed" || s.status === "expired") {
        guidance.append(h("p", { class: "error" }, s.reason || s.message || "No reason was given."));
      }
      again.hidden = !FINAL.has(s.status) || s.status === "success" || s.method === "import";
      tick();
    }

    function tick() {
      if (!session || FINAL.has(session.status)) {
        countdown.textContent = "";
        return;
      }
      const left = (session.expires_at || 0) - Date.now();
      const qrLeft = session.qr_expires_at && qr.style.display !== "none" ? ` · this QR code lapses in ${clock(session.qr_expires_at - Date.now())}` : "";
      countdown.textContent = `Session expires in ${clock(left)}${qrLeft}`;
    }

    async function submitCode() {
      if (!session || !codeInput.checkValidity()) {
        codeError.textContent = "Enter the 4 to 8 digits of the SMS.";
        return;
      }
      codeButton.disabled = true;
      try {
        const answer = await v1("POST", `${sessionPath(session.id)}/sms-code`, { code: codeInput.value.trim() });
        codeInput.value = "";
        if (answer.status) session = answer;
        render();
      } catch (err) {
        codeError.textContent = err.message;
        codeButton.disabled = false;
      }
    }

    async function poll() {
      if (!session) return;
      try {
        session = await v1("GET", sessionPath(session.id));
      } catch (err) {
        status.textContent = err.message;
        return;
      }
      render();
      if (session.status === "success") {
        clearInterval(timer);
        const who = session.profile?.nickname;
        toast(who ? `${account.account_name} logged in as ${who}` : `${account.account_name} logged in`);
        close("success");
      }
    }

    async function start() {
      shownQr = null;
      try {
        const started = await begin();
        // A 202 answer names the session before the read models show it: fetch it on the next poll.
        session = started.status ? started : { id: started.id, status: "pending", expires_at: 0 };
      } catch (err) {
        status.textContent = err.message;
        return;
      }
      render();
    }

    const offFeed = feed.on(["login", "account"], () => poll());
    timer = setInterval(() => {
      tick();
      if (session && !FINAL.has(session.status)) poll();
    }, POLL_MS);
    dialog.addEventListener("close", () => {
      clearInterval(timer);
      offFeed();
    });
    dialog.setAttribute("aria-labelledby", "login-title");
    start();
    return h(
      "div",
      { id: "login-dialog" },
      h("h2", { id: "login-title" }, title),
      status,
      qr,
      countdown,
      guidance,
      codeForm,
      h("div", { class: "buttons" }, again, refresh, h("button", { type: "button", onclick: () => close() }, "Close")),
    );
  });
}
