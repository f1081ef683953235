// What each kind of account trouble means to an operator, and what to do about it.

const KINDS = {
  session_expired: ["Session expired", "The platform logged the account out. Log it in again from Accounts."],
  verification_required: ["Verification required", "The platform wants extra verification (SMS) during login."],
  login_failed: ["Login failed", "The last QR login did not complete. Start a new one from Accounts."],
  "blocked:risk_control": ["Risk control", "The platform shows a security check; crawling backs off until it passes."],
  "blocked:verification": ["Verification required", "The platform asks for verification before showing the pages."],
  "blocked:unknown": ["Blocked", "The platform refused the pages; the worker backs off and retries."],
};

export function describe(kind) {
  const [title, help] = KINDS[kind] || [kind.replaceAll("_", " ").replace(":", ": "), ""];
  return { title, help };
}
