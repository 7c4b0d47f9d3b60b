// Create or edit an event definition. Everything module-specific is generated from the
// API's metadata: actions and their options, positions, conditions with their choices.
// The trigger is either request events or a schedule (ADR 0007): a scheduled definition
// is bound to the pseudo-event "scheduled" and sweeps every token or user; it may have
// follow-up steps (a JSON list) and blast-radius limits.

import { get, post, seg } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { clearErrors, field, fieldValue, formError, showError } from "../forms.js";
import { navigate } from "../router.js";
import { link, pageHeader, section } from "../ui.js";
import { conditionBuilder } from "./conditions.js";
import { optionParams, renderOptions } from "../options.js";
import { testPanel } from "./test-panel.js";
import { backtestPanel } from "./backtest-panel.js";

async function moduleMeta(module) {
  const m = seg(module);
  const [actions, conditions, positions, defaults] = await Promise.all([
    get(`/event/actions/${m}`), get(`/event/conditions/${m}`), get(`/event/positions/${m}`),
    get(`/event/defaults/${m}`).catch(() => ({})),
  ]);
  return { actions, conditions, positions, defaults };
}

const bool = (v) => (v ? "True" : "False");

export async function render(ctx) {
  const id = ctx.params.id;
  const [modules, available, existing] = await Promise.all([
    get("/event/handlermodules"), get("/event/available"), id ? get(`/event/${seg(id)}`) : null,
  ]);
  // GET /event/<id> answers as privacyIDEA does: a list of one, [] for an unknown id.
  // A template (?template=<id>) pre-fills a new definition; nothing is stored before Save.
  const template = !id && ctx.query.template
    ? (await get("/event/templates")).find((t) => t.id === ctx.query.template) : null;
  const d = existing ? existing[0] : template?.definition || null;
  if (id && !d) {
    return [pageHeader("Definition not found", link("All definitions", "#/events")),
      h("p", { class: "notice", role: "status" }, `There is no event definition with id ${id}.`)];
  }
  const module = d?.handlermodule || ctx.query.module || modules[0];
  const optionsBox = h("div", { class: "options" });
  const conditionsBox = h("div");
  const f = {
    name: field({ label: "Name", param: "name", required: true, value: d?.name || "" }),
    trigger: field({ label: "Trigger", param: "trigger", kind: "select", value: d?.schedule ? "schedule" : "request",
      choices: [["request", "request events"], ["schedule", "schedule"]],
      help: "Request events fire with API requests; a schedule sweeps every token or user at set times." }),
    schedule: field({ label: "Schedule", param: "schedule", value: d?.schedule || "", placeholder: "every 1h",
      help: "every 15m, every 1h, every 1d, or a cron expression (minute hour day month weekday), in UTC." }),
    sweep: field({ label: "Sweep", param: "sweep", kind: "select", value: d?.sweep || "tokens",
      choices: [["tokens", "every token"], ["users", "every user"]],
      help: "What each run goes through: the conditions and the action see one token or user at a time." }),
    event: field({ label: "Events", param: "event", kind: "multi", choices: available, value: (d?.event || []).join(","), required: true,
      help: "The API requests that trigger this definition." }),
    handlermodule: field({ label: "Handler module", param: "handlermodule", kind: "select", choices: modules, value: module, required: true }),
    action: field({ label: "Action", param: "action", kind: "select", choices: [], required: true }),
    position: field({ label: "Position", param: "position", kind: "select", choices: [], help: "pre: before the request, may change it; post: after, sees the response." }),
    ordering: field({ label: "Ordering", param: "ordering", kind: "number", value: d?.ordering ?? 0, help: "Lower runs first; ties by id." }),
    active: field({ label: "Active", param: "active", kind: "checkbox", value: d ? d.active : true }),
    abort: field({ label: "Abort the request if the action fails", param: "abort_on_error", kind: "checkbox", value: d?.abort_on_error ?? false }),
    chain: field({ label: "Run the definitions of the request the action performs (chained actions)", param: "chain_events", kind: "checkbox",
      value: d?.chain_events ?? false, help: "E.g. Token disable runs the token_disable definitions; loops and chains deeper than the limit stop." }),
    steps: field({ label: "Follow-up steps", param: "steps", kind: "textarea", rows: 6,
      value: d?.steps?.length ? JSON.stringify(d.steps, null, 2) : "",
      placeholder: '[{"delay": "14d", "handlermodule": "Token", "action": "disable", "conditions": {"last_auth": "180d"}}]',
      help: "A JSON list of steps: each waits its delay (30m, 12h, 14d) after the previous one, re-checks its own conditions and runs its own action, per token or user. Empty: none." }),
    maxSubjects: field({ label: "Pause above this many subjects", param: "max_subjects", kind: "number", value: d?.max_subjects ?? 0,
      help: "Blast-radius guard: a run that would act on more tokens or users pauses for an admin. 0: the system default." }),
    maxShare: field({ label: "Pause above this % of those swept", param: "max_share", kind: "number", value: d?.max_share ?? 0,
      help: "0: the system default." }),
    unknown: field({ label: "A condition whose data is missing counts as matched (privacyIDEA compatible)", param: "unknown_is_match", kind: "checkbox", value: d ? d.unknown_is_match : false }),
  };
  f.event.control.classList.add("scroll");
  const workflowBox = section("Follow-up steps and blast-radius guard", f.steps,
    h("div", { class: "grid-fields" }, f.maxSubjects, f.maxShare));
  const scheduled = () => f.trigger.control.value === "schedule";
  const abortLabel = f.abort.querySelector("label");
  // Only request-bound definitions whose action performs an API request chain.
  function chains() {
    return !scheduled() && (meta?.defaults?.chained_events || []).includes(f.action.control.value);
  }
  function showChain() {
    f.chain.hidden = !chains();
  }
  function showTrigger() {
    const on = scheduled();
    f.schedule.hidden = !on;
    f.sweep.hidden = !on;
    workflowBox.hidden = !on;
    f.event.hidden = on;
    f.position.hidden = on; // a scheduled run has no request: post
    showChain();
    f.schedule.control.required = on;
    abortLabel.textContent = on ? "Stop the run if an action fails" : "Abort the request if the action fails";
    const warn = on && meta?.defaults?.schedulable === false;
    f.trigger.querySelector(".help").textContent = warn
      ? `${f.handlermodule.control.value} acts on a request or response and cannot run on a schedule.`
      : "Request events fire with API requests; a schedule sweeps every token or user at set times.";
    panel?.refreshEvents();
    backtest?.setScheduled(on);
  }
  let panel = null;
  let backtest = null;
  let meta = null;
  let builder = null;

  async function loadModule(name, keep) {
    meta = await moduleMeta(name);
    const actions = Object.keys(meta.actions || {});
    const action = keep && d ? d.action : actions[0];
    replace(f.action.control, actions.map((a) => h("option", { value: a, selected: a === action }, a)));
    replace(f.position.control, meta.positions.map((p) => h("option", { value: p, selected: p === (keep && d ? d.position : "post") }, p)));
    if (!d && meta.defaults?.abort_on_error !== undefined) f.abort.control.checked = Boolean(meta.defaults.abort_on_error);
    // New definitions made here are honest: missing data does not count as a match
    // (product decision); /event/defaults reports the privacyIDEA-compatible API default.
    renderOptions(optionsBox, meta.actions[action] || {}, keep && d ? d.options : {});
    const current = builder ? builder.params().conditions : d?.conditions || {};
    builder = conditionBuilder(meta.conditions || {}, current, builder ? "" : d?.condition_expression || "");
    replace(conditionsBox, builder.element);
    showTrigger();
  }
  f.handlermodule.control.addEventListener("change", () => loadModule(f.handlermodule.control.value, false));
  f.action.control.addEventListener("change", () => {
    renderOptions(optionsBox, meta.actions[f.action.control.value] || {}, {});
    showChain();
  });
  await loadModule(module, true);

  const events = () => (scheduled() ? ["scheduled"] : fieldValue(f.event).split(",").filter(Boolean));
  function definition() {
    const { conditions, condition_expression } = builder.params();
    const options = Object.fromEntries(Object.entries(optionParams(optionsBox)).map(([k, v]) => [k.slice(7), v]));
    const def = {
      name: fieldValue(f.name) || "test", event: events().join(","), handlermodule: f.handlermodule.control.value,
      action: f.action.control.value, position: scheduled() ? "post" : f.position.control.value, conditions,
      condition_expression, unknown_is_match: bool(f.unknown.control.checked), options,
    };
    if (scheduled()) Object.assign(def, { schedule: fieldValue(f.schedule), sweep: fieldValue(f.sweep) });
    // A censored secret in a dry run stands for the one stored with this definition.
    if (id) def.id = id;
    return def;
  }

  const form = h("form", { class: "form event-form", novalidate: true, "aria-label": "Event definition" },
    formError(),
    section("What and when", f.name, h("div", { class: "grid-fields" }, f.trigger, f.schedule, f.sweep), f.event,
      h("div", { class: "grid-fields" }, f.handlermodule, f.action, f.position, f.ordering), f.active, f.abort, f.chain),
    section("Action options", optionsBox),
    section("Conditions", conditionsBox, f.unknown),
    workflowBox,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, id ? "Save definition" : "Create definition"),
      link("Cancel", "#/events", "button")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const def = definition();
    const params = {
      name: fieldValue(f.name), event: def.event, handlermodule: def.handlermodule, action: def.action,
      position: def.position, ordering: fieldValue(f.ordering) || 0, active: bool(f.active.control.checked),
      abort_on_error: bool(f.abort.control.checked), unknown_is_match: def.unknown_is_match,
      chain_events: bool(chains() && f.chain.control.checked),
      conditions: JSON.stringify(def.conditions), condition_expression: def.condition_expression,
      ...optionParams(optionsBox),
      // "" turns a scheduled definition back into a request-bound one.
      schedule: def.schedule || "",
    };
    if (def.sweep) params.sweep = def.sweep;
    // Steps and limits belong to scheduled definitions: a request-bound one clears them.
    Object.assign(params, scheduled()
      ? { steps: fieldValue(f.steps) || "[]", max_subjects: fieldValue(f.maxSubjects) || 0, max_share: fieldValue(f.maxShare) || 0 }
      : { steps: "[]", max_subjects: 0, max_share: 0 });
    if (id) params.id = id;
    if (!Object.keys(def.options).length) params.clear_options = "True";
    try {
      const saved = await post("/event", params);
      toast(`Definition ${params.name} saved`);
      navigate(`/events/${saved}`);
    } catch (err) {
      showError(form, err);
    }
  });

  panel = testPanel({ definition, events });
  backtest = backtestPanel({ definition });
  f.event.control.addEventListener("change", panel.refreshEvents);
  f.trigger.control.addEventListener("change", showTrigger);
  showTrigger();

  return [
    pageHeader(id ? `Definition ${d.name}` : "New event definition",
      link("All definitions", "#/events"), id ? link("History", `#/events/${d.id}/history`, "button") : null),
    template ? h("p", { class: "notice", role: "status" }, `From the template “${template.title}”: `, template.description,
      template.valid ? " It starts disabled: backtest it, then enable it." : ` Before saving: ${template.problem}`) : null,
    form,
    panel,
    backtest,
  ];
}
