// Fields generated from option descriptors (core/describe.py): the options of event
// actions (GET /event/actions/<module>), token types' enrolment parameters
// (GET /token/types/), user-store types (GET /resolver/types/), SMTP servers, SMS
// gateway providers and remote servers. type str | text | bool | int | float,
// required, description, label, value (choices), default, secret, visibleIf +
// visibleValue. Each field feeds the API parameter prefix + name ("option.<name>" for
// event actions and SMS gateways, the plain name elsewhere).
// A secret option is a password field (a text one a textarea marked secret); a stored
// secret reads back as __CENSORED__, and sending that back keeps it.

import { h, replace } from "./dom.js";
import { field, fieldValue } from "./forms.js";

export const CENSORED = "__CENSORED__";

function choicesOf(descriptor) {
  const list = descriptor.value ?? descriptor.values;
  if (!Array.isArray(list) || !list.length) return null;
  return list.map((c) => (typeof c === "object" ? c.name : String(c)));
}

/** A stored value as a form shows it (JSON for objects, a comma list for lists). */
function shown(value) {
  if (Array.isArray(value)) return value.join(",");
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return value;
}

export function optionField(name, descriptor, current, prefix = "option.") {
  const value = shown(current ?? descriptor.default ?? "");
  const label = descriptor.label || name;
  // With a human label, the help names the option as the API knows it.
  const help = [label.toLowerCase() !== name.toLowerCase() ? name : "", descriptor.description || ""].filter(Boolean).join(" · ");
  const common = { label, param: `${prefix}${name}`, help, required: Boolean(descriptor.required) };
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
  if (descriptor.type === "float") return field({ ...common, kind: "number", value, attrs: { step: "any" } });
  return field({ ...common, value });
}

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
function applyVisibility(container) {
  const { descriptors, prefix } = container.optionState;
  const wrappers = new Map([...container.querySelectorAll(".field[data-param]")]
    .map((w) => [w.dataset.param.slice(prefix.length), w]));
  for (const [name, d] of Object.entries(descriptors)) {
    if (!d.visibleIf) continue;
    const controller = wrappers.get(d.visibleIf);
    const wrapper = wrappers.get(name);
    if (!controller || !wrapper) continue;
    const current = String(fieldValue(controller));
    // No visibleValue: shown while the other option is set; false is a value too
    // (the OTP key while genkey is unchecked).
    const wanted = d.visibleValue;
    wrapper.hidden = wanted === undefined || wanted === null || wanted === ""
      ? !current || current === "false" : current !== String(wanted);
  }
}

/**
 * Fill `container` with the fields of `descriptors` (name → descriptor), showing the
 * `current` values (defaults where there are none). `prefix` goes before each name in
 * the API parameter; `empty` is shown when there are no options.
 */
export function renderOptions(container, descriptors, current = {}, { prefix = "option.", empty = "This action has no options." } = {}) {
  const names = Object.keys(descriptors || {});
  container.optionState = { descriptors: descriptors || {}, prefix };
  if (!names.length) {
    replace(container, empty ? h("p", { class: "muted" }, empty) : null);
    return;
  }
  replace(container, names.map((name) => optionField(name, descriptors[name], current?.[name], prefix)));
  // One listener per container, reading the descriptors shown now.
  if (!container.dataset.visibility) {
    container.dataset.visibility = "on";
    container.addEventListener("change", () => applyVisibility(container));
  }
  applyVisibility(container);
}

/** The parameters of the visible option fields (booleans as privacyIDEA's True/False). */
export function optionParams(container, prefix = "option.") {
  const out = {};
  for (const wrapper of container.querySelectorAll(".field[data-param]")) {
    if (wrapper.hidden || !wrapper.dataset.param.startsWith(prefix)) continue;
    const v = fieldValue(wrapper);
    out[wrapper.dataset.param] = v === true ? "True" : v === false ? "False" : v;
  }
  return out;
}
