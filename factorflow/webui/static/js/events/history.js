// A definition's history: every version with who and when, a field-by-field diff
// against the previous version (or any chosen one), and a rollback.

import { get, post } from "../api.js";
import { formatDate, h, replace, toast } from "../dom.js";
import { navigate } from "../router.js";
import { button, confirmAction, link, pageHeader, section, table } from "../ui.js";

const SKIP = new Set(["id"]);

/** A definition snapshot as flat "field → text" pairs (options and conditions spread). */
export function flatten(def) {
  const out = {};
  for (const [key, value] of Object.entries(def || {})) {
    if (SKIP.has(key)) continue;
    if (key === "options" || key === "conditions") {
      for (const [k, v] of Object.entries(value || {})) out[`${key === "options" ? "option" : "condition"}.${k}`] = String(v);
    } else {
      out[key] = Array.isArray(value) ? value.join(", ") : String(value ?? "");
    }
  }
  return out;
}

export function diff(before, after) {
  const a = flatten(before);
  const b = flatten(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => a[k] !== b[k]).map((k) => ({ field: k, before: a[k], after: b[k] }));
}

function diffTable(rows) {
  return table([
    { key: "field", label: "Field" },
    { key: "before", label: "Before", render: (r) => (r.before === undefined ? h("em", {}, "(none)") : h("del", {}, r.before)) },
    { key: "after", label: "After", render: (r) => (r.after === undefined ? h("em", {}, "(removed)") : h("ins", {}, r.after)) },
  ], rows, { empty: "No differences." });
}

export async function render(ctx) {
  const id = ctx.params.id;
  const versions = await get(`/event/${encodeURIComponent(id)}/history`);
  const latest = versions[versions.length - 1];
  const diffBox = h("div", { id: "history-diff" });
  const showDiff = (from, to) => replace(diffBox,
    section(`Changes from version ${from?.version ?? "—"} to ${to.version}`, diffTable(diff(from?.definition || {}, to.definition))));
  const rows = [...versions].reverse();
  showDiff(versions[versions.length - 2], latest);
  return [
    pageHeader(`History of ${latest.definition.name}`, link("Edit", `#/events/${id}`, "button"), link("All definitions", "#/events")),
    table([
      { key: "version", label: "Version" },
      { key: "change", label: "Change" },
      { key: "who", label: "Who" },
      { key: "at", label: "When", render: (v) => formatDate(v.at) },
      { key: "tools", label: "Actions", render: (v) => h("span", { class: "button-row" },
        button(`Diff ${v.version}`, () => showDiff(versions[versions.indexOf(v) - 1], v), "small"),
        v === latest ? null : button(`Compare ${v.version} with current`, () => showDiff(v, latest), "small"),
        v === latest ? null : button(`Roll back to ${v.version}`, async () => {
          if (!confirmAction(`Restore the definition as it was at version ${v.version}?`)) return;
          try {
            const restored = await post(`/event/${encodeURIComponent(id)}/rollback/${v.version}`);
            toast(`Rolled back to version ${v.version}`);
            navigate(`/events/${restored}/history`);
          } catch (err) { toast(err.message); }
        }, "small")) },
    ], rows, { caption: "Versions, newest first" }),
    diffBox,
  ];
}
