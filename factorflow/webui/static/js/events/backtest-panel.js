// The Backtest panel: the definition as it stands in the form, replayed on the audited
// requests of the last N days (POST /event/backtest). Requests and would-fire counts
// per day as a bar chart, counts per audited action and per condition, and the newest
// requests that would have fired. Nothing runs, nothing changes.
// The chart is plain SVG built here: geometry in attributes, colours in app.css (the
// CSP allows no inline style).

import { call } from "../api.js";
import { formatDate, h, replace } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { badge, facts, table } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

/** Per day: a bar of the requests replayed, and inside it one of those that would fire. */
export function dayChart(days) {
  const height = 100;
  const step = 12;
  const most = Math.max(1, ...days.map((d) => d.evaluated));
  const scale = (n) => (n ? Math.max(1, Math.round((n / most) * height)) : 0);
  const fired = days.reduce((sum, d) => sum + d.fired, 0);
  return s("svg", {
    class: "backtest-chart", viewBox: `0 0 ${days.length * step} ${height}`, preserveAspectRatio: "none",
    role: "img", "aria-label": `Requests per day over ${plural(days.length, "day")}: ${plural(fired, "request")} would fire`,
  }, ...days.map((d, i) => s("g", { class: "day", "data-day": d.day, "data-evaluated": d.evaluated, "data-fired": d.fired },
    s("title", {}, `${d.day}: ${plural(d.evaluated, "request")}, ${d.fired.toLocaleString()} would fire`),
    s("rect", { class: "bar-evaluated", x: i * step + 1, y: height - scale(d.evaluated), width: step - 2, height: scale(d.evaluated) }),
    s("rect", { class: "bar-fired", x: i * step + 1, y: height - scale(d.fired), width: step - 2, height: scale(d.fired) }))));
}

const COUNTS = [
  { key: "evaluated", label: "Requests", render: (r) => r.evaluated.toLocaleString() },
  { key: "fired", label: "Would fire", render: (r) => r.fired.toLocaleString() },
];

function showBacktest(v) {
  const first = v.per_day[0]?.day;
  const last = v.per_day[v.per_day.length - 1]?.day;
  return h("article", { class: ["dry-run", "backtest", v.fired ? "fires" : "quiet"], "aria-label": `Backtest of ${v.name}` },
    h("h3", {}, v.name, " ", badge(`would fire for ${v.fired.toLocaleString()} of ${plural(v.evaluated, "request")}`, v.fired ? "ok" : "muted")),
    facts([["Window", `${first} – ${last} (UTC, ${plural(v.days, "day")})`], ["Events", v.events.join(", ")],
      ["The action", `${v.action.module}: ${v.action.action} would run ${plural(v.action.would_run, "time")}`],
      ["Unknown counts as match", v.unknown_is_match ? "yes (privacyIDEA compatible)" : "no"]]),
    h("figure", { class: "backtest-figure" }, dayChart(v.per_day),
      h("figcaption", { class: "help chart-caption" },
        h("span", {}, first), h("span", {}, h("span", { class: "key key-evaluated" }), " requests replayed · ",
          h("span", { class: "key key-fired" }), " would fire, per day"), h("span", {}, last))),
    table([{ key: "day", label: "Day" }, ...COUNTS],
      v.per_day.filter((d) => d.evaluated), { caption: "Per day", empty: "No audited request of these events in the window." }),
    table([{ key: "action", label: "Audited action" }, { key: "event", label: "Event" }, ...COUNTS],
      v.per_action, { caption: "Per audited action", empty: "" }),
    table([
      { key: "condition", label: "Condition" },
      { key: "value", label: "Configured" },
      { key: "matched", label: "Matched", render: (c) => c.matched.toLocaleString() },
      { key: "not_matched", label: "Not matched", render: (c) => c.not_matched.toLocaleString() },
      { key: "unknown", label: "Unknown", render: (c) => c.unknown.toLocaleString() },
    ], v.conditions, { caption: "Per condition", empty: "No conditions: every request of the events fires." }),
    table([
      { key: "id", label: "Audit entry" },
      { key: "date", label: "When", render: (e) => formatDate(e.date) },
      { key: "action", label: "Request" },
      { key: "user", label: "User", render: (e) => (e.user ? `${e.user}@${e.realm}` : "") },
      { key: "serial", label: "Serial" },
      { key: "client", label: "Client" },
      { key: "authentication", label: "Result", render: (e) => e.authentication || (e.success ? "success" : "failure") },
    ], v.samples, { caption: "The newest requests that would have fired", empty: "" }));
}

/** definition(): the inline definition from the editor. */
export function backtestPanel({ definition }) {
  const out = h("div", { class: "test-output", "aria-live": "polite" });
  const form = apiForm({
    label: "Backtest the definition", submitLabel: "Run backtest",
    fields: [field({ label: "Days", param: "days", kind: "number", value: 7, attrs: { min: 1, max: 366 },
      help: "How many days of audited requests to replay, today included (1 to 366)." })],
    action: async (v) => {
      const body = await call("POST", "/event/backtest", { definition: JSON.stringify(definition()), days: v.days || "7" });
      replace(out, showBacktest(body.result.value));
    },
  });
  const note = h("p", { class: "help", hidden: true }, "A scheduled definition has no requests to replay: try it with the Test panel.");
  const panel = h("section", { class: "card test-panel", id: "backtest-panel", "aria-labelledby": "backtest-title" },
    h("h2", { id: "backtest-title" }, "Backtest"),
    h("p", { class: "help" }, "What the definition as it is in the form would have done on the audited requests of the last days — before you enable it. "
      + "Conditions about tokens and users see their current state. Nothing runs, nothing changes."),
    note, form, out);
  /** A scheduled definition cannot be backtested: say so instead of offering it. */
  panel.setScheduled = (scheduled) => {
    note.hidden = !scheduled;
    form.hidden = scheduled;
    if (scheduled) replace(out);
  };
  return panel;
}
