// The QR login dialog: start (or rejoin) the account's login session and follow it to the end.

import { v1 } from "../api.js";
import { feed } from "../feed.js";
import { clear, h, modal, toast } from "../ui.js";

const POLL_MS = 1000;

const STEPS = {
  pending: "Waiting for the account's worker to open the login page…",
  qrcode_ready: "Scan the QR code with the Douyin app on the account's phone, then confirm on the phone.",
  qrcode_refreshed: "The previous QR code lapsed; this is a new one. Scan it with the Douyin app.",
  scanning: "Scanned. The platform asks for more before it lets the login through.",
  success: "Logged in.",
  failed: "The login failed.",
  expired: "The login session expired before the scan was confirmed.",
};

const FINAL = new Set(["success", "failed", "expired"]);

const clock = (ms) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

/** Open the dialog for `account`; resolves when it closes ("success" if the login went through). */
export function openLogin(account) {
  return modal((close, dialog) => {
    const status = h("p", { id: "login-status", role: "status" }, "Starting the login…");
    const img = h("img", { id: "login-qr", alt: "QR code to scan with the Douyin app", hidden: true });
    const qr = h("div", { class: "qr" }, img);
    const countdown = h("p", { id: "login-countdown", class: "muted" });
    const guidance = h("div", { id: "login-guidance" });
    const again = h("button", { type: "button", hidden: true, onclick: () => start() }, "Start a new login");
    const refresh = h("button", { type: "button", onclick: () => poll() }, "Refresh");
    let session = null;
    let timer = null;
    let shownQr = null;

    function render() {
      const s = session;
      dialog.dataset.status = s.status;
      status.textContent = STEPS[s.status] || s.status;
      if (s.qrcode && !FINAL.has(s.status)) {
        if (shownQr !== null && s.qrcode !== shownQr) toast("The QR code was refreshed");
        shownQr = s.qrcode;
        img.src = s.qrcode;
        img.hidden = false;
      } else {
        img.hidden = true;
      }
      qr.hidden = FINAL.has(s.status);
      clear(guidance);
      if (s.status === "pending" && !account.assigned_worker_id) {
        guidance.append(h("p", { class: "notice" }, "No worker holds this account yet; the login starts once one does (see Workers)."));
      }
      if (s.status === "scanning" || s.verification_method) {
        guidance.append(
          h(
            "div",
            { class: "notice", id: "verification-required" },
            h("strong", {}, `Verification required${s.verification_method ? ` (${s.verification_method})` : ""}. `),
            s.message ? `${s.message} ` : "",
            "Ask the account's owner to finish it on their phone: confirm the login in the Douyin app or enter ",
            "the SMS code it sent. This dialog carries on by itself once the platform accepts it.",
          ),
        );
      }
      if (s.status === "failed" || s.status === "expired") {
        guidance.append(h("p", { class: "error" }, s.reason || s.message || "No reason was given."));
      }
      again.hidden = !FINAL.has(s.status) || s.status === "success";
      tick();
    }

    function tick() {
      if (!session || FINAL.has(session.status)) {
        countdown.textContent = "";
        return;
      }
      const left = (session.expires_at || 0) - Date.now();
      const qrLeft = session.qr_expires_at ? ` · this QR code lapses in ${clock(session.qr_expires_at - Date.now())}` : "";
      countdown.textContent = `Session expires in ${clock(left)}${qrLeft}`;
    }

    async function poll() {
      if (!session) return;
      try {
        session = await v1("GET", `/api/v1/login-sessions/${encodeURIComponent(session.id)}`);
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
        const started = await v1("POST", `/api/v1/accounts/${encodeURIComponent(account.id)}/login`);
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
      h("h2", { id: "login-title" }, `Log in ${account.account_name}`),
      status,
      qr,
      countdown,
      guidance,
      h("div", { class: "buttons" }, again, refresh, h("button", { type: "button", onclick: () => close() }, "Close")),
    );
  });
}
