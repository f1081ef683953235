// Plots: facts per minute and new messages per account, from the activity read model (GET /api/v1/activity).

import { hasRoute, v1 } from "../api.js";
import { COLOURS, bucket, lineChart, perMinute } from "../chart.js";
import { keepFresh } from "../live.js";
import { clear, h, select } from "../ui.js";

const SPANS = [["1", "last hour"], ["3", "last 3 hours"], ["6", "last 6 hours"], ["24", "last 24 hours"], ["168", "last 7 days"]];
// Minutes per point, so that a long span stays a readable line.
const STEP = { 1: 1, 3: 1, 6: 5, 24: 15, 168: 60 };

const legend = (names) =>
  h("div", { class: "legend" }, names.map((n, i) => h("span", {}, h("i", { style: `background:${COLOURS[i % COLOURS.length]}` }), n)));

export async function mount(root) {
  if (!hasRoute("/api/v1/activity")) {
    clear(root, h("h1", {}, "Plots"), h("p", { class: "notice" }, "This server does not offer /api/v1/activity."));
    return null;
  }
  let hours = 3;
  const span = select("hours", SPANS, String(hours));
  span.id = "plot-span";
  const what = select("what", [["both", "comments and DMs"], ["comments", "comments only"], ["messages", "DMs only"]], "both");
  what.id = "plot-what";
  const facts = h("section", { class: "panel" });
  const accounts = h("section", { class: "panel" });

  async function refresh() {
    const a = await v1("GET", `/api/v1/activity?hours=${hours}`);
    const step = STEP[hours] || 1;
    const unit = step === 1 ? "minute" : `${step} minutes`;
    const factValues = bucket(perMinute(a.from_minute, a.to_minute, a.facts, (r) => r.facts), step);
    const total = factValues.reduce((x, y) => x + y, 0);
    const slice = (r) => (what.value === "comments" ? r.comments : what.value === "messages" ? r.messages : r.comments + r.messages);
    const series = a.accounts.map((acc) => ({
      name: acc.account_name,
      values: bucket(perMinute(a.from_minute, a.to_minute, acc.minutes, slice), step),
    }));
    clear(
      facts,
      h("h2", {}, `Facts per ${unit}`),
      h("p", { class: "muted" }, `${total} facts in the window.`),
      lineChart({ from: a.from_minute, series: [{ name: "facts", values: factValues }], label: `Facts per ${unit}: ${total} in total` }),
    );
    clear(
      accounts,
      h("h2", {}, `New ${what.selectedOptions[0].text} per account, per ${unit}`),
      series.length ? legend(series.map((s) => `${s.name} (${s.values.reduce((x, y) => x + y, 0)})`)) : h("p", { class: "muted" }, "No accounts."),
      lineChart({
        from: a.from_minute,
        series,
        label: series.map((s) => `${s.name}: ${s.values.reduce((x, y) => x + y, 0)} new`).join("; ") || "no accounts",
      }),
    );
  }

  span.addEventListener("change", () => ((hours = Number(span.value)), refresh()));
  what.addEventListener("change", () => refresh());
  clear(
    root,
    h("h1", {}, "Plots"),
    h("div", { class: "row panel" }, h("label", { for: "plot-span" }, "Window "), span, h("label", { for: "plot-what" }, " Show "), what),
    facts,
    accounts,
  );
  // Plots move slowly: redraw on facts at most every 10 seconds.
  return keepFresh(refresh, [], { minMs: 10000, pollMs: 15000 });
}
