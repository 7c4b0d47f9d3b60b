// The administrator's start page: tokens by type and state, recent failed
// authentications, failing definitions, dead jobs.

import { del, get, post, seg } from "../api.js";
import { formatDate, h, toast } from "../dom.js";
import { button, errorBox, link, pageHeader, section, table } from "../ui.js";

export function tokenState(token) {
  if (token.revoked) return "revoked";
  if (token.failcount >= token.maxfail) return "locked";
  if (!token.active) return "disabled";
  if (token.rollout_state && token.rollout_state !== "enrolled") return token.rollout_state;
  return "active";
}

async function allTokens() {
  const first = await get("/token/", { pagesize: 1000, page: 1 });
  return { tokens: first.tokens, count: first.count };
}

function tokenMatrix({ tokens, count }) {
  const states = ["active", "disabled", "locked", "revoked"];
  const byType = new Map();
  for (const token of tokens) {
    const row = byType.get(token.tokentype) || { type: token.tokentype, total: 0 };
    const state = tokenState(token);
    if (!states.includes(state)) states.push(state);
    row[state] = (row[state] || 0) + 1;
    row.total += 1;
    byType.set(token.tokentype, row);
  }
  const columns = [
    { key: "type", label: "Type", render: (r) => link(r.type, `#/tokens?type=${encodeURIComponent(r.type)}`) },
    ...states.map((s) => ({ key: s, label: s[0].toUpperCase() + s.slice(1), render: (r) => String(r[s] || 0) })),
    { key: "total", label: "Total" },
  ];
  const note = count > tokens.length ? h("p", { class: "help" }, `Counted over the first ${tokens.length} of ${count} tokens.`) : null;
  return [table(columns, [...byType.values()], { empty: "No tokens yet." }), note];
}

async function panel(title, load) {
  try {
    return section(title, await load());
  } catch (err) {
    return section(title, errorBox(err));
  }
}

function failedAuthentications() {
  return get("/audit/", { action: "*/validate/*", success: "0", page_size: 10 }).then((v) =>
    table([
      { key: "date", label: "When", render: (r) => formatDate(r.date) },
      { key: "user", label: "User", render: (r) => (r.user ? `${r.user}@${r.realm}` : "") },
      { key: "serial", label: "Serial" },
      { key: "info", label: "Why" },
      { key: "client", label: "Client" },
    ], v.auditdata, { empty: "No failed authentications." }));
}

function failingDefinitions() {
  // The entries of definitions' actions ("PRE-EVENT …", "POST-EVENT …"), not refused
  // requests to /event itself.
  return get("/audit/", { action: "*-EVENT *", success: "0", page_size: 200 }).then((v) => {
    const byName = new Map();
    for (const entry of v.auditdata) {
      const name = (entry.info || "").replace(/ \(.*\)$/, "");
      const row = byName.get(name) || { name, failures: 0, last: entry.date, action: entry.action, why: entry.info };
      row.failures += 1;
      byName.set(name, row);
    }
    return table([
      { key: "name", label: "Definition" },
      { key: "action", label: "Action" },
      { key: "failures", label: "Failures" },
      { key: "last", label: "Last failure", render: (r) => formatDate(r.last) },
      { key: "why", label: "Last error" },
    ], [...byName.values()], { empty: "No definition has failed recently." });
  });
}

function deadJobs() {
  return get("/jobs/", { state: "dead", page_size: 10 }).then((v) => {
    const jobs = Array.isArray(v) ? v : v.jobs || [];
    return [table([
      { key: "id", label: "Job" },
      { key: "kind", label: "Kind" },
      { key: "attempts", label: "Attempts" },
      { key: "last_error", label: "Last error" },
    ], jobs, { empty: "No dead jobs." }), link("Manage jobs", "#/jobs")];
  });
}

// Scheduled runs the blast-radius guard held back: confirm runs one once as planned
// (on the next scheduler pass), cancel drops it.
function pausedRuns(ctx) {
  const decide = (run, confirm) => async () => {
    try {
      if (confirm) await post(`/event/paused/${seg(run.id)}/confirm`);
      else await del(`/event/paused/${seg(run.id)}`);
      toast(`Paused run ${run.id} ${confirm ? "confirmed" : "cancelled"}`);
      ctx?.rerender?.();
    } catch (err) { toast(err.message); }
  };
  return get("/event/paused", { state: "paused" }).then((runs) => table([
    { key: "id", label: "Run" },
    { key: "definition", label: "Definition", render: (r) => link(r.definition || `#${r.definition_id}`, `#/events/${r.definition_id}`) },
    { key: "counts", label: "Would act on", render: (r) => `${r.matched} of ${r.swept}` },
    { key: "reason", label: "Why it paused" },
    { key: "created_at", label: "Paused", render: (r) => formatDate(r.created_at) },
    { key: "actions", label: "Actions", render: (r) => h("span", { class: "button-row" },
      button(`Confirm run ${r.id}`, decide(r, true), "small"),
      button(`Cancel run ${r.id}`, decide(r, false), "small danger")) },
  ], runs, { empty: "No scheduled run is waiting for a decision." }));
}

export async function render(ctx) {
  const [tokens, failed, failing, dead, paused] = await Promise.all([
    panel("Tokens by type and state", async () => tokenMatrix(await allTokens())),
    panel("Recent failed authentications", failedAuthentications),
    panel("Failing event definitions", failingDefinitions),
    panel("Dead jobs", deadJobs),
    panel("Paused scheduled runs", () => pausedRuns(ctx)),
  ]);
  return [pageHeader("Dashboard"), paused, h("div", { class: "grid" }, tokens, dead), failed, failing];
}
