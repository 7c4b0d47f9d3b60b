// The Test panel: a dry run (POST /event/test) of the definition as it stands in the
// form, against a sample request or a recorded one. Per condition: matched / not
// matched / unknown and why; and what the action would do. Nothing changes.
// A scheduled definition is tried on a sample of its sweep (the given serial or user,
// else the first tokens or users): one row per token or user.

import { call } from "../api.js";
import { h, replace } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { badge, facts, table } from "../ui.js";

const VERDICT_KIND = { matched: "ok", not_matched: "bad", unknown: "warn" };
const VERDICT_TEXT = { matched: "matched", not_matched: "not matched", unknown: "unknown" };

export function verdictBadge(verdict) {
  return badge(VERDICT_TEXT[verdict] || verdict, VERDICT_KIND[verdict] || "");
}

function sampleResult(v) {
  if (!v.result_status) return undefined; // "" (pre) or hidden (scheduled)
  const result = { status: v.result_status === "True" };
  if (v.result_value !== "") result.value = v.result_value === "True";
  if (v.result_authentication) result.authentication = v.result_authentication;
  if (v.detail_message) result.detail = { message: v.detail_message };
  return JSON.stringify(result);
}

// Which user and token the conditions looked at, and where they came from.
function contextFacts(context) {
  if (!context) return [];
  const said = (value, from) => (value ? `${value} — ${from}` : from);
  return [["User looked at", said(context.user, context.user_from)],
    ["Token looked at", said(context.token, context.token_from)]];
}

function showDefinition(d) {
  return h("article", { class: ["dry-run", d.fires ? "fires" : "quiet"], "aria-label": `Dry run of ${d.name}` },
    h("h3", {}, d.name, " ", d.fires ? badge("would fire", "ok") : badge("would not fire", "muted")),
    facts([["Position", d.position], ["Overall", verdictBadge(d.verdict)],
      ["Expression", d.condition_expression || "all conditions (AND)"],
      ["Unknown counts as match", d.unknown_is_match ? "yes (privacyIDEA compatible)" : "no"],
      ...contextFacts(d.context)]),
    table([
      { key: "condition", label: "Condition" },
      { key: "value", label: "Configured" },
      { key: "result", label: "Result", render: (c) => verdictBadge(c.result) },
      { key: "counts_as", label: "Counts as", render: (c) => (c.counts_as && c.counts_as !== c.result ? verdictBadge(c.counts_as) : "") },
      { key: "reason", label: "Why" },
    ], d.conditions || [], { empty: "No conditions: the definition fires on every matching event." }),
    d.action ? h("div", { class: "would-do" }, h("h4", {}, "The action would do"),
      facts([["Action", `${d.action.module}: ${d.action.action}`],
        ["Options", Object.entries(d.action.options || {}).map(([k, v]) => `${k}=${v}`).join(" · ") || "—"],
        ["Acts on tokens", (d.action.tokens || []).join(", ") || "—"]])) : null);
}

function conditionSummary(conditions) {
  return h("span", { class: "button-row" }, (conditions || []).map((c) => h("span", { title: c.reason }, `${c.condition} `, verdictBadge(c.result))));
}

function showScheduled(d) {
  return h("article", { class: ["dry-run", d.would_fire ? "fires" : "quiet"], "aria-label": `Dry run of ${d.name}` },
    h("h3", {}, d.name, " ", badge(`would fire for ${d.would_fire} of ${d.evaluated}`, d.would_fire ? "ok" : "muted")),
    facts([["Schedule", d.schedule], ["Sweep", d.sweep],
      ["Expression", d.condition_expression || "all conditions (AND)"],
      ["Unknown counts as match", d.unknown_is_match ? "yes (privacyIDEA compatible)" : "no"]]),
    table([
      { key: "item", label: d.sweep === "users" ? "User" : "Token", render: (i) => i.serial || `${i.user}@${i.realm}` },
      { key: "fires", label: "Result", render: (i) => (i.fires ? badge("would fire", "ok") : badge("would not fire", "muted")) },
      { key: "conditions", label: "Conditions", render: (i) => conditionSummary(i.conditions) },
      { key: "action", label: "The action would do", render: (i) => (i.action
        ? `${i.action.module}: ${i.action.action}${i.action.user ? ` for ${i.action.user}` : ""}` : "—") },
    ], d.items || [], { empty: `The sweep has no ${d.sweep} to try.` }));
}

const REQUEST_ONLY = ["logged_in_role", "client_ip", "result_status", "result_value", "result_authentication",
  "detail_message", "audit_id"];

/** definition(): the inline definition from the editor; events(): its event names. */
export function testPanel({ definition, events }) {
  const out = h("div", { class: "test-output", "aria-live": "polite" });
  const eventField = field({ label: "Event", param: "event", kind: "select", choices: events() });
  const form = apiForm({
    label: "Test the definition", submitLabel: "Run test",
    fields: [
      eventField,
      h("div", { class: "grid-fields" },
        field({ label: "User", param: "user", help: "The request's user" }),
        field({ label: "Realm", param: "realm" }),
        field({ label: "Serial", param: "serial" }),
        field({ label: "Logged-in role", param: "logged_in_role", kind: "select", choices: ["none", "admin", "user"] }),
        field({ label: "Client IP", param: "client_ip", placeholder: "192.0.2.10" }),
        field({ label: "Response status", param: "result_status", kind: "select", choices: [["", "no response (pre)"], "True", "False"], value: "True" }),
        field({ label: "Response value", param: "result_value", kind: "select", choices: [["", "—"], "True", "False"], value: "False" }),
        field({ label: "Authentication", param: "result_authentication", kind: "select", choices: ["", "ACCEPT", "REJECT", "CHALLENGE", "DECLINED"] }),
        field({ label: "Detail message", param: "detail_message", placeholder: "wrong otp value" }),
        field({ label: "Or: audit entry number", param: "audit_id", kind: "number", help: "Replay a recorded request instead of the sample." }),
        field({ label: "Sample size", param: "limit", kind: "number", placeholder: "10",
          help: "Scheduled definitions: how many tokens or users of the sweep to try when no serial or user is given." })),
    ],
    action: async (v) => {
      const params = { definition: JSON.stringify(definition()), event: v.event };
      if (v.audit_id) params.audit_id = v.audit_id;
      else {
        for (const key of ["user", "realm", "serial", "logged_in_role", "client_ip", "limit"]) if (v[key]) params[key] = v[key];
        const result = sampleResult(v);
        if (result) params.result = result;
      }
      const body = await call("POST", "/event/test", params);
      const value = body.result.value;
      replace(out, (value.definitions || []).map((d) => (d.items ? showScheduled(d) : showDefinition(d))));
    },
  });
  // A scheduled run has no request: only the sample of the sweep applies.
  const showSampleFields = () => {
    const scheduled = eventField.control.value === "scheduled";
    for (const wrapper of form.querySelectorAll(".field[data-param]")) {
      const param = wrapper.dataset.param;
      if (REQUEST_ONLY.includes(param)) wrapper.hidden = scheduled;
      if (param === "limit") wrapper.hidden = !scheduled;
    }
  };
  const refreshEvents = () => {
    const current = eventField.control.value;
    replace(eventField.control, events().map((e) => h("option", { value: e, selected: e === current }, e)));
    showSampleFields();
  };
  eventField.control.addEventListener("change", showSampleFields);
  showSampleFields();
  const panel = h("section", { class: "card test-panel", id: "test-panel", "aria-labelledby": "test-title" },
    h("h2", { id: "test-title" }, "Test"),
    h("p", { class: "help" }, "A dry run of the definition as it is in the form above — saved or not. It evaluates the conditions and changes nothing."),
    form, out);
  panel.refreshEvents = refreshEvents;
  return panel;
}
