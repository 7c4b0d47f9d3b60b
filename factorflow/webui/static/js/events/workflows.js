// Workflows that wait: the follow-up steps of scheduled definitions, per token or user.
// Lists them by state with the next step and when it is due; a running one can be cancelled.

import { del, get, seg } from "../api.js";
import { formatDate, h, toast } from "../dom.js";
import { field } from "../forms.js";
import { navigate } from "../router.js";
import { badge, button, link, pageHeader, table } from "../ui.js";

const STATES = ["running", "done", "ended", "failed", "cancelled", "all"];
const KIND = { running: "warn", done: "ok", ended: "", failed: "bad", cancelled: "" };

function subject(w) {
  return w.subject.kind === "token" ? `token ${w.subject.serial}` : `user ${w.subject.uid}@${w.subject.realm}`;
}

function nextStep(w) {
  if (!w.next_step) return "";
  return `step ${w.step} of ${w.steps}: ${w.next_step.handlermodule}:${w.next_step.action}`;
}

export async function render(ctx) {
  const state = ctx.query.state ?? "running";
  const workflows = await get("/event/workflows", { state: state === "all" ? "" : state });
  const chooser = field({ label: "State", param: "state", kind: "select", value: state, choices: STATES });
  chooser.control.addEventListener("change", () => navigate("/events/workflows", { state: chooser.control.value }));
  const cancel = (w) => async () => {
    try { await del(`/event/workflows/${seg(w.id)}`); toast(`Workflow ${w.id} cancelled`); ctx.rerender(); } catch (err) { toast(err.message); }
  };
  return [
    pageHeader("Workflows", link("Event definitions", "#/events", "button")),
    h("p", { class: "muted" }, "Follow-up steps of scheduled definitions wait here, one workflow per definition and token or user. Each step re-checks its conditions when it comes due."),
    h("div", { class: "filters" }, chooser),
    table([
      { key: "id", label: "Workflow" },
      { key: "definition", label: "Definition", render: (w) => h("a", { href: `#/events/${w.definition_id}` }, w.definition || `#${w.definition_id}`) },
      { key: "subject", label: "Subject", render: subject },
      { key: "state", label: "State", render: (w) => badge(w.state, KIND[w.state] || "") },
      { key: "next", label: "Next step", render: nextStep },
      { key: "due_at", label: "Due", render: (w) => formatDate(w.due_at) },
      { key: "reason", label: "Reason" },
      { key: "actions", label: "Actions", render: (w) => (w.state === "running" ? button(`Cancel workflow ${w.id}`, cancel(w), "small danger") : "") },
    ], workflows, { empty: "No workflows in this state." }),
  ];
}
