// Audit search: column filters (with * wildcards), a time limit, paging.

import { get } from "../api.js";
import { formatDate, h } from "../dom.js";
import { field, formValues } from "../forms.js";
import { navigate } from "../router.js";
import { badge, pageHeader, pager, table } from "../ui.js";
import { lockoutSection } from "./lockouts.js";

const FILTERS = ["action", "success", "user", "realm", "serial", "administrator", "info", "request_id", "timelimit"];
const PAGE_SIZE = 20;

function filterForm(query) {
  const form = h("form", { class: "filters", role: "search", "aria-label": "Search the audit log" },
    field({ label: "Action", param: "action", value: query.action || "", placeholder: "*EVENT*" }),
    field({ label: "Success", param: "success", kind: "select", value: query.success || "", choices: [["", "any"], ["1", "success"], ["0", "failure"]] }),
    field({ label: "User", param: "user", value: query.user || "" }),
    field({ label: "Realm", param: "realm", value: query.realm || "" }),
    field({ label: "Serial", param: "serial", value: query.serial || "" }),
    field({ label: "Administrator", param: "administrator", value: query.administrator || "" }),
    field({ label: "Info", param: "info", value: query.info || "" }),
    field({ label: "Request id", param: "request_id", value: query.request_id || "" }),
    field({ label: "Newer than", param: "timelimit", value: query.timelimit || "", placeholder: "7d", help: "e.g. 30m, 12h, 7d" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate("/audit", formValues(form));
  });
  return form;
}

export async function render(ctx) {
  const query = ctx.query;
  const params = { page: query.page || 1, page_size: PAGE_SIZE };
  for (const key of FILTERS) if (query[key]) params[key] = query[key];
  const [result, lockouts] = await Promise.all([get("/audit/", params), lockoutSection(ctx)]);
  const isEvent = (r) => /EVENT/.test(r.action);
  return [
    pageHeader("Audit log"),
    lockouts,
    filterForm(query),
    table([
      { key: "number", label: "#" },
      { key: "date", label: "When", render: (r) => formatDate(r.date) },
      { key: "action", label: "Action", render: (r) => [isEvent(r) ? [badge("event", "info"), " "] : null, r.action] },
      { key: "success", label: "OK", render: (r) => (r.success ? badge("yes", "ok") : badge("no", "bad")) },
      { key: "authentication", label: "Auth" },
      { key: "user", label: "User", render: (r) => (r.user ? `${r.user}@${r.realm}` : "") },
      { key: "serial", label: "Serial" },
      { key: "administrator", label: "Admin" },
      { key: "info", label: "Info", render: (r) => [r.info, r.action_detail ? h("div", { class: "help wrap" }, r.action_detail) : null] },
      { key: "request_id", label: "Request", render: (r) => h("a", { href: `#/audit?request_id=${r.request_id}`, title: "Everything this request did" }, r.request_id.slice(0, 8)) },
    ], result.auditdata, { empty: "No audit entries match.", caption: "Audit entries", rowClass: (r) => (isEvent(r) ? "row-event" : null) }),
    pager({ page: Number(params.page), count: result.count, pageSize: PAGE_SIZE, onPage: (page) => navigate("/audit", { ...query, page }) }),
  ];
}
