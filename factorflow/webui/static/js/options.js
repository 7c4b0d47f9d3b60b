// Option fields generated from an action's descriptors (GET /event/actions/<module>):
// type str | text | bool | int, required, description, value (choices), default,
// secret, visibleIf + visibleValue. Each field feeds the API parameter "option.<name>".
// A secret option is a password field (a text one a textarea marked secret); a stored
// secret reads back as __CENSORED__, and sending that back keeps it.

import { h, replace } from "../dom.js";
import { field, fieldValue } from "../forms.js";

function choicesOf(descriptor) {
  const list = descriptor.value;
  if (!Array.isArray(list) || !list.length) return null;
  return list.map((c) => (typeof c === "object" ? c.name : String(c)));
}

export function optionField(name, descriptor, current) {
  const value = current ?? descriptor.default ?? "";
  const common = { label: name, param: `option.${name}`, help: descriptor.description || "", required: Boolean(descriptor.required) };
  const choices = choicesOf(descriptor);
  if (descriptor.type === "bool") return field({ ...common, kind: "checkbox", value: value === true || String(value).toLowerCase() === "true" || value === "1" });
  if (choices) {
    // A stored value the list no longer offers (a deleted realm) stays selectable.
    const known = value === "" || choices.includes(String(value)) ? choices : [...choices, String(value)];
    return field({ ...common, kind: "select", value, choices: descriptor.required ? known : ["", ...known] });
  }
  if (descriptor.secret) return secretField(common, descriptor, value);
  if (descriptor.type === "text") return field({ ...common, kind: "textarea", value });
  if (descriptor.type === "int") return field({ ...common, kind: "number", value });
  return field({ ...common, value });
}

const CENSORED = "__CENSORED__";

function secretField(common, descriptor, value) {
  const stored = value === CENSORED;
  const note = stored ? "(a secret is stored: leave the field as it is to keep it, or replace it)" : "(a secret: stored encrypted, never shown again)";
  const help = [common.help, note].filter(Boolean).join(" ");
  const kind = descriptor.type === "text" ? "textarea" : "password";
  return field({ ...common, kind, value, help, autocomplete: "new-password",
    attrs: { spellcheck: "false", "data-secret": "true" } });
}

/** Show or hide fields whose visibleIf option does not have visibleValue (privacyIDEA's
 * descriptors, e.g. dynamic_phone only for tokentype sms); hidden fields are not sent. */
function applyVisibility(container, descriptors) {
  const wrappers = new Map([...container.querySelectorAll(".field[data-param]")].map((w) => [w.dataset.param.slice(7), w]));
  for (const [name, d] of Object.entries(descriptors)) {
    if (!d.visibleIf) continue;
    const controller = wrappers.get(d.visibleIf);
    const wrapper = wrappers.get(name);
    if (!controller || !wrapper) continue;
    const current = String(fieldValue(controller));
    wrapper.hidden = d.visibleValue ? current !== String(d.visibleValue) : !current || current === "false";
  }
}

/** Fill `container` with the option fields of an action; returns nothing. */
export function renderOptions(container, descriptors, currentOptions = {}) {
  const names = Object.keys(descriptors || {});
  if (!names.length) {
    replace(container, h("p", { class: "muted" }, "This action has no options."));
    return;
  }
  replace(container, names.map((name) => optionField(name, descriptors[name], currentOptions[name])));
  // One listener per container, reading the descriptors of the action shown now.
  container.optionDescriptors = descriptors;
  if (!container.dataset.visibility) {
    container.dataset.visibility = "on";
    container.addEventListener("change", () => applyVisibility(container, container.optionDescriptors));
  }
  applyVisibility(container, descriptors);
}

/** The option.* parameters of the visible option fields. */
export function optionParams(container) {
  const out = {};
  for (const wrapper of container.querySelectorAll(".field[data-param^='option.']")) {
    if (wrapper.hidden) continue;
    const v = fieldValue(wrapper);
    out[wrapper.dataset.param] = v === true ? "True" : v === false ? "False" : v;
  }
  return out;
}
