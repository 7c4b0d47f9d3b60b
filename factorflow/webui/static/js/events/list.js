// Event definitions: sortable, filterable; toggle active, change ordering, open editor,
// history and test. "Last fired" and "failures" come from the definitions' audit entries;
// scheduled definitions show their schedule and next run.

import { del, get, post } from "../api.js";
import { formatDate, h, replace, toast } from "../dom.js";
import { badge, button, confirmAction, link, pageHeader, table } from "../ui.js";

/** name → {last, failures} over the latest EVENT audit entries. */
async function firingStats() {
  const stats = new Map();
  try {
    const v = await get("/audit/", { action: "*EVENT*", page_size: 1000 });
    for (const entry of v.auditdata) {
      const name = (entry.info || "").replace(/ \(.*\)$/, "");
      const s = stats.get(name) || { last: "", failures: 0 };
      if (!s.last) s.last = entry.date;
      if (!entry.success) s.failures += 1;
      stats.set(name, s);
    }
  } catch {
    // Without audit rights the columns stay empty.
  }
  return stats;
}

const COLUMNS = (ctx) => [
  { key: "name", label: "Name", render: (d) => link(d.name, `#/events/${d.id}`) },
  { key: "event", label: "Trigger", render: (d) => (d.schedule ? `schedule ${d.schedule}, ${d.sweep}` : d.event.join(", ")) },
  { key: "next_run_at", label: "Next run", render: (d) => (d.schedule ? formatDate(d.next_run_at) || "—" : "") },
  { key: "handlermodule", label: "Module" },
  { key: "action", label: "Action" },
  { key: "position", label: "Position" },
  { key: "ordering", label: "Ordering", render: (d) => orderingInput(ctx, d) },
  { key: "active", label: "Active", render: (d) => activeToggle(ctx, d) },
  { key: "last_fired", label: "Last fired", render: (d) => formatDate(d.last_fired) || "never" },
  { key: "failures", label: "Failures", render: (d) => (d.failures ? badge(String(d.failures), "bad") : "0") },
  { key: "tools", label: "More", sort: "", render: (d) => h("span", { class: "button-row" },
    link("History", `#/events/${d.id}/history`, "button small"),
    button("Delete", async () => {
      if (!confirmAction(`Delete the definition ${d.name}? Its history stays for a rollback.`)) return;
      try { await del(`/event/${d.id}`); toast("Deleted"); ctx.rerender(); } catch (err) { toast(err.message); }
    }, "small danger", `Delete ${d.name}`)) },
];

function activeToggle(ctx, d) {
  return h("button", { type: "button", class: ["small", d.active ? "on" : "off"], "aria-pressed": String(d.active),
    "aria-label": `${d.name} active`,
    onclick: async () => {
      try { await post(`/event/${d.active ? "disable" : "enable"}/${d.id}`); toast(`${d.name} ${d.active ? "disabled" : "enabled"}`); ctx.rerender(); } catch (err) { toast(err.message); }
    } }, d.active ? "active" : "inactive");
}

function orderingInput(ctx, d) {
  const input = h("input", { type: "number", class: "narrow", value: d.ordering, "aria-label": `Ordering of ${d.name}` });
  input.addEventListener("change", async () => {
    try { await post("/event", { id: d.id, ordering: input.value }); toast(`Ordering of ${d.name} saved`); ctx.rerender(); } catch (err) { toast(err.message); }
  });
  return input;
}

function compare(key, dir) {
  const sign = dir === "asc" ? 1 : -1;
  return (a, b) => {
    const x = Array.isArray(a[key]) ? a[key].join() : a[key] ?? "";
    const y = Array.isArray(b[key]) ? b[key].join() : b[key] ?? "";
    if (typeof x === "number" && typeof y === "number") return sign * (x - y) || a.id - b.id;
    return sign * String(x).localeCompare(String(y)) || a.id - b.id;
  };
}

/** "New from template": the server's templates, each opening the editor pre-filled. */
function templateMenu(templates) {
  if (!templates.length) return null;
  return h("details", { class: "template-menu" },
    h("summary", { class: "button" }, "New from template"),
    h("ul", { class: "template-list", "aria-label": "Templates" }, templates.map((t) => h("li", {},
      link(t.title, `#/events/new?template=${encodeURIComponent(t.id)}`),
      h("p", { class: "help" }, t.description),
      t.valid ? null : h("p", { class: "help" }, badge("needs configuration", "warn"), " ",
        t.requires.length ? `Needs ${t.requires.join(", ")}.` : t.problem)))));
}

export async function render(ctx) {
  const [definitions, stats, templates] = await Promise.all([get("/event/"), firingStats(),
    get("/event/templates").catch(() => [])]);
  for (const d of definitions) {
    const s = stats.get(d.name);
    d.last_fired ??= s?.last || "";
    d.failures ??= s?.failures || 0;
  }
  const state = { key: ctx.query.sort || "ordering", dir: ctx.query.dir || "asc", text: ctx.query.q || "", active: ctx.query.active || "" };
  const holder = h("div");
  const draw = () => {
    const text = state.text.toLowerCase();
    const rows = definitions
      .filter((d) => !text || [d.name, d.handlermodule, d.action, d.schedule || "", ...d.event].some((v) => v.toLowerCase().includes(text)))
      .filter((d) => !state.active || String(d.active) === state.active)
      .sort(compare(state.key, state.dir));
    replace(holder, table(COLUMNS(ctx), rows, {
      caption: "Event definitions",
      empty: definitions.length ? "No definition matches the filter." : "No definitions yet: create the first one.",
      rowClass: (d) => (d.active ? null : "row-inactive"),
      sort: { key: state.key, dir: state.dir, onSort: (key) => {
        state.dir = key === state.key && state.dir === "asc" ? "desc" : "asc";
        state.key = key;
        draw();
      } },
    }));
  };
  const search = h("input", { type: "search", id: "event-filter", value: state.text, placeholder: "name, event, module, action" });
  search.addEventListener("input", () => { state.text = search.value; draw(); });
  const active = h("select", { id: "event-active-filter" },
    [["", "all"], ["true", "active"], ["false", "inactive"]].map(([v, t]) => h("option", { value: v, selected: v === state.active }, t)));
  active.addEventListener("change", () => { state.active = active.value; draw(); });
  draw();
  return [
    pageHeader("Event definitions",
      link("New definition", "#/events/new", "button primary"),
      templateMenu(templates),
      link("Export / import", "#/events/transfer", "button"),
      link("Workflows", "#/events/workflows", "button")),
    h("p", { class: "muted" }, "Every API request is an event. A definition binds events to an action of a handler module, under conditions."),
    h("div", { class: "filters" },
      h("div", { class: "field" }, h("label", { for: "event-filter" }, "Filter"), search),
      h("div", { class: "field" }, h("label", { for: "event-active-filter" }, "Active"), active)),
    holder,
  ];
}
