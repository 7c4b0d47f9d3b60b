// Token list: filters, sortable columns, paging; links to detail and enrolment.

import { get } from "../api.js";
import { h } from "../dom.js";
import { field, formValues } from "../forms.js";
import { navigate } from "../router.js";
import { setting } from "../session.js";
import { badge, guarded, link, pageHeader, pager, table } from "../ui.js";
import { tokenState } from "./dashboard.js";

const FILTERS = ["serial", "type", "user", "realm", "active", "assigned", "description"];

export function stateBadge(token) {
  const state = tokenState(token);
  const kind = { active: "ok", disabled: "muted", locked: "bad", revoked: "bad" }[state] || "warn";
  return badge(state, kind);
}

function filterForm(query) {
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter tokens" },
    field({ label: "Serial", param: "serial", value: query.serial || "", placeholder: "OATH*" }),
    field({ label: "Type", param: "type", kind: "select", value: query.type || "",
      choices: [["", "any"], "hotp", "totp", "spass", "registration", "paper", "email", "sms"] }),
    field({ label: "User", param: "user", value: query.user || "" }),
    field({ label: "Realm", param: "realm", value: query.realm || "" }),
    field({ label: "Active", param: "active", kind: "select", value: query.active || "",
      choices: [["", "any"], ["True", "active"], ["False", "disabled"]] }),
    field({ label: "Assigned", param: "assigned", kind: "select", value: query.assigned || "",
      choices: [["", "any"], ["True", "assigned"], ["False", "unassigned"]] }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Filter")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate("/tokens", { ...formValues(form), sortby: query.sortby, sortdir: query.sortdir });
  });
  return form;
}

export async function render(ctx) {
  const query = ctx.query;
  const pageSize = Number(setting("token_page_size", 15)) || 15;
  const params = { page: query.page || 1, pagesize: pageSize, sortby: query.sortby || "serial", sortdir: query.sortdir || "asc" };
  for (const key of FILTERS) if (query[key]) params[key] = query[key];
  if (params.serial && !params.serial.includes("*") && !params.serial.includes(",")) params.serial = `*${params.serial}*`;
  const result = await get("/token/", params);
  const go = (changes) => navigate("/tokens", { ...query, ...changes });
  const sort = {
    key: params.sortby,
    dir: params.sortdir,
    onSort: (key) => go({ sortby: key, sortdir: key === params.sortby && params.sortdir === "asc" ? "desc" : "asc", page: 1 }),
  };
  const columns = [
    { key: "serial", label: "Serial", render: (t) => link(t.serial, `#/tokens/${encodeURIComponent(t.serial)}`) },
    { key: "tokentype", label: "Type" },
    { key: "username", label: "User", render: (t) => (t.username ? `${t.username}@${t.user_realm}` : "—"), sort: "" },
    { key: "description", label: "Description" },
    { key: "state", label: "State", render: stateBadge, sort: "" },
    { key: "failcount", label: "Fails", render: (t) => `${t.failcount}/${t.maxfail}` },
    { key: "realms", label: "Token realms", render: (t) => t.realms.join(", "), sort: "" },
  ];
  if (setting("user_details", false)) {
    // The webui policy user_details: who the owner is, without opening the token.
    columns.splice(3, 0, { key: "user_id", label: "Owner's user store", sort: "",
      render: (t) => (t.username ? `${t.resolver || "—"} (id ${t.user_id || "?"})` : "—") });
  }
  return [
    pageHeader("Tokens", guarded("enroll*", link("Enrol a token", "#/tokens/new", "button primary")),
      guarded("importtokens", link("Import tokens", "#/tokens/import", "button"))),
    filterForm(query),
    table(columns, result.tokens, { sort, empty: "No token matches.", caption: "Tokens" }),
    pager({ page: Number(params.page), count: result.count, pageSize, onPage: (page) => go({ page }) }),
  ];
}
