// The durable job queue: filter by state, see attempts and the last error, retry or discard.
// Jobs are shown by their metadata (the recipient masked), never their payload.

import { get, post, seg } from "../api.js";
import { formatDate, h, toast } from "../dom.js";
import { field } from "../forms.js";
import { navigate } from "../router.js";
import { badge, button, pageHeader, pager, table } from "../ui.js";

const STATES = ["all", "queued", "running", "delivered", "dead", "discarded"];
const PAGE_SIZE = 20;

export async function render(ctx) {
  const state = ctx.query.state ?? "dead";
  const page = Number(ctx.query.page || 1);
  const value = await get("/jobs/", { state: state === "all" ? "" : state, page, page_size: PAGE_SIZE });
  const jobs = Array.isArray(value) ? value : value.jobs || [];
  const count = Array.isArray(value) ? jobs.length : value.count ?? jobs.length;
  const chooser = field({ label: "State", param: "state", kind: "select", value: state, choices: STATES });
  chooser.control.addEventListener("change", () => navigate("/jobs", { state: chooser.control.value }));
  const act = (job, verb) => async () => {
    try { await post(`/jobs/${seg(job.id)}/${verb}`); toast(`Job ${job.id}: ${verb} done`); ctx.rerender(); } catch (err) { toast(err.message); }
  };
  return [
    pageHeader("Jobs"),
    h("div", { class: "filters" }, chooser),
    table([
      { key: "id", label: "Job" },
      { key: "kind", label: "Kind" },
      { key: "recipient", label: "Recipient" },
      { key: "state", label: "State", render: (j) => badge(j.state, j.state === "dead" ? "bad" : j.state === "delivered" ? "ok" : "warn") },
      { key: "attempts", label: "Attempts" },
      { key: "next_attempt", label: "Next attempt", render: (j) => formatDate(j.next_attempt_at) },
      { key: "last_error", label: "Last error" },
      { key: "definition", label: "Definition" },
      { key: "actions", label: "Actions", render: (j) => (["dead", "queued", "discarded"].includes(j.state)
        ? h("span", { class: "button-row" }, button(`Retry ${j.id}`, act(j, "retry"), "small"), j.state === "discarded" ? null : button(`Discard ${j.id}`, act(j, "discard"), "small danger"))
        : "") },
    ], jobs, { empty: "No jobs in this state." }),
    pager({ page, count, pageSize: PAGE_SIZE, onPage: (p) => navigate("/jobs", { state, page: p }) }),
  ];
}
