// The condition builder: conditions generated from their descriptors
// (GET /event/conditions/<module>), combined with AND, OR, NOT or a custom expression
// (the API's condition_expression). All-AND without NOT is sent as privacyIDEA's flat form.

import { h, replace, uniqueId } from "../dom.js";
import { field, fieldValue } from "../forms.js";

function choicesOf(descriptor) {
  const list = descriptor.value;
  if (!Array.isArray(list) || !list.length) return null;
  return list.map((c) => (typeof c === "object" ? c.name : String(c)));
}

function valueField(name, d, value) {
  const common = { label: `${name} value`, param: `condition.${name}`, value: value ?? "", help: d.desc || "" };
  const choices = choicesOf(d);
  if (d.type === "multi") return choices ? field({ ...common, kind: "multi", choices }) : field({ ...common, help: `${d.desc} (comma-separated)` });
  if (choices) return field({ ...common, kind: "select", choices });
  return field({ ...common, placeholder: d.type === "regexp" ? "regular expression" : "" });
}

/** A condition as the picker lists it: its words, its name as the API knows it. */
function conditionText(name, d) {
  return d.label && d.label.toLowerCase() !== name.toLowerCase() ? `${d.label} (${name})` : name;
}

/** Recognise "a AND NOT b" / "a OR b" over exactly the given names. */
function simpleForm(expression, names) {
  if (!expression.trim()) return { mode: "all", negated: new Set() };
  for (const [mode, word] of [["all", "AND"], ["any", "OR"]]) {
    const parts = expression.split(new RegExp(`\\s+${word}\\s+`, "i")).map((p) => p.trim());
    const negated = new Set();
    const seen = [];
    let ok = true;
    for (const part of parts) {
      const m = /^(NOT\s+)?([A-Za-z_]\w*)$/i.exec(part);
      if (!m) { ok = false; break; }
      if (m[1]) negated.add(m[2]);
      seen.push(m[2]);
    }
    if (ok && seen.length === names.length && seen.every((n) => names.includes(n))) return { mode, negated };
  }
  return { mode: "custom", negated: new Set() };
}

export function conditionBuilder(descriptors, current = {}, expression = "") {
  const rows = h("div", { class: "condition-rows" });
  const preview = h("p", { class: "help", "aria-live": "polite", id: "expression-preview" });
  const initial = simpleForm(expression, Object.keys(current));
  const mode = { value: initial.mode };
  const customField = field({ label: "Custom expression", param: "condition_expression", kind: "textarea", value: expression,
    help: "Condition names combined with AND, OR, NOT and parentheses, e.g. (tokentype OR serial) AND NOT result_value." });
  const modeName = uniqueId("mode");
  const modes = h("fieldset", { class: "modes" }, h("legend", {}, "Combine the conditions"),
    [["all", "All must hold (AND)"], ["any", "Any may hold (OR)"], ["custom", "Custom expression (AND / OR / NOT)"]].map(([v, text]) =>
      h("label", { class: "check" }, h("input", { type: "radio", name: modeName, value: v, checked: v === mode.value,
        onchange: () => { mode.value = v; update(); } }), " ", text)));

  const names = () => [...rows.querySelectorAll(".condition-row")].map((r) => r.dataset.name);

  function expressionText() {
    if (mode.value === "custom") return fieldValue(customField).trim();
    const parts = [...rows.querySelectorAll(".condition-row")].map((r) =>
      (r.querySelector("input.negate").checked ? `NOT ${r.dataset.name}` : r.dataset.name));
    const anyNot = parts.some((p) => p.startsWith("NOT "));
    if (mode.value === "all" && !anyNot) return "";
    return parts.join(mode.value === "all" ? " AND " : " OR ");
  }

  function update() {
    customField.hidden = mode.value !== "custom";
    for (const neg of rows.querySelectorAll(".negate-label")) neg.hidden = mode.value === "custom";
    const text = expressionText();
    preview.textContent = names().length
      ? `The definition fires when: ${text || names().join(" AND ")}`
      : "No conditions: the definition fires on every matching event.";
    for (const option of picker.querySelectorAll("option[value]")) option.disabled = names().includes(option.value);
  }

  function addRow(name, value, negated = false) {
    const d = descriptors[name];
    if (!d || rows.querySelector(`[data-name="${name}"]`)) return;
    const negateId = uniqueId("neg");
    const row = h("div", { class: "condition-row", dataset: { name } },
      h("div", { class: "condition-head" }, h("strong", {}, d.label || name),
        d.label ? h("code", { class: "identifier" }, name) : null, h("span", { class: "badge" }, d.group),
        h("label", { class: "check negate-label", for: negateId },
          h("input", { type: "checkbox", class: "negate", id: negateId, checked: negated, onchange: update }), " NOT"),
        h("button", { type: "button", class: "small", "aria-label": `Remove condition ${name}`,
          onclick: () => { row.remove(); update(); } }, "Remove")),
      valueField(name, d, value));
    rows.append(row);
    update();
  }

  const groups = new Map();
  for (const [name, d] of Object.entries(descriptors)) {
    if (!groups.has(d.group)) groups.set(d.group, []);
    groups.get(d.group).push(name);
  }
  const pickerId = uniqueId("cond");
  const picker = h("select", { id: pickerId },
    h("option", { value: "" }, "Choose a condition…"),
    [...groups].map(([group, list]) => h("optgroup", { label: group }, list.map((n) => h("option", { value: n }, conditionText(n, descriptors[n]))))));
  const adder = h("div", { class: "inline" },
    h("div", { class: "field" }, h("label", { for: pickerId }, "Add a condition"), picker),
    h("button", { type: "button", onclick: () => { if (picker.value) { addRow(picker.value, ""); rows.lastChild?.querySelector("input, select")?.focus(); picker.value = ""; } } }, "Add condition"));

  for (const [name, value] of Object.entries(current)) addRow(name, value, initial.negated.has(name));
  customField.control.addEventListener("input", update);
  update();

  const element = h("div", { class: "condition-builder" }, rows, adder, modes, customField, preview);
  return {
    element,
    params() {
      const conditions = {};
      for (const row of rows.querySelectorAll(".condition-row")) {
        conditions[row.dataset.name] = String(fieldValue(row.querySelector(".field")));
      }
      return { conditions, condition_expression: expressionText() };
    },
    reset(next) { replace(rows); for (const [n, v] of Object.entries(next)) addRow(n, v); },
  };
}
