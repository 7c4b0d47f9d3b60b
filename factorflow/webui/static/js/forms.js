// Labelled form fields with an error slot each, and mapping API errors onto them.

import { h, uniqueId } from "./dom.js";

/**
 * A labelled field. `param` is the API parameter it feeds (used to place API errors).
 * kind: text | password | number | textarea | select | checkbox | multi (checkboxes)
 */
export function field({ label, param, kind = "text", value = "", choices = [], help = "",
  required = false, placeholder = "", autocomplete, attrs = {} }) {
  const id = uniqueId("field");
  const errorId = `${id}-error`;
  const helpId = help ? `${id}-help` : null;
  const describedBy = [helpId, errorId].filter(Boolean).join(" ");
  const common = { id, name: param, "aria-describedby": describedBy, required, ...attrs };
  let control;
  if (kind === "textarea") {
    control = h("textarea", { ...common, rows: attrs.rows || 4, placeholder }, value);
  } else if (kind === "select") {
    control = h("select", common,
      choices.map((c) => {
        const [v, text] = Array.isArray(c) ? c : [c, c];
        return h("option", { value: v, selected: String(v) === String(value) }, text);
      }));
  } else if (kind === "checkbox") {
    control = h("input", { ...common, type: "checkbox", checked: value === true || value === "True" || value === "true" });
  } else if (kind === "multi") {
    const selected = new Set(String(value || "").split(",").map((s) => s.trim()).filter(Boolean));
    control = h("fieldset", { id, class: "multi", "aria-describedby": describedBy, dataset: { multi: param } },
      h("legend", { class: "sr-only" }, label),
      choices.map((c) => h("label", { class: "check" },
        h("input", { type: "checkbox", value: c, checked: selected.has(c) }), " ", c)));
  } else {
    control = h("input", { ...common, type: kind, value, placeholder, autocomplete });
  }
  // The required mark is drawn by CSS (.required), so the label's text stays the name.
  const wrapper = h("div", { class: ["field", kind === "checkbox" && "field-check", required && "required"], dataset: { param: param || "" } },
    kind === "multi" ? h("span", { class: "label" }, label) : h("label", { for: id }, label),
    control,
    help ? h("p", { id: helpId, class: "help" }, help) : null,
    h("p", { id: errorId, class: "field-error", role: "alert", hidden: true }));
  wrapper.control = control;
  return wrapper;
}

/** The value of a field wrapper made by field(). */
export function fieldValue(wrapper) {
  const control = wrapper.control;
  if (control.dataset?.multi !== undefined && control.tagName === "FIELDSET") {
    return [...control.querySelectorAll("input:checked")].map((i) => i.value).join(",");
  }
  if (control.type === "checkbox") return control.checked;
  return control.value;
}

/** All field values of a form, keyed by their API parameter. */
export function formValues(form) {
  const out = {};
  for (const wrapper of form.querySelectorAll(".field[data-param]")) {
    if (wrapper.dataset.param && wrapper.control && !wrapper.hidden) {
      out[wrapper.dataset.param] = fieldValue(wrapper);
    }
  }
  return out;
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error, .form-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const bad of form.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
}

/** privacyIDEA prefixes generic errors with "ERR905: "; people do not need the code. */
export function readable(message) {
  return String(message || "").replace(/^ERR\d+: /, "");
}

/** Show an API error next to the field it names, else at the top of the form. */
export function showError(form, err) {
  clearErrors(form);
  const param = err.field || "";
  // "option.fileName" may be a plain "fileName" field (user store options).
  const candidates = param ? [param, param.replace(/^(option|condition)\./, "")] : [];
  const fields = [...form.querySelectorAll(".field[data-param]")].filter((w) => !w.hidden);
  const wrapper = candidates.map((c) => fields.find((w) => w.dataset.param === c)).find(Boolean);
  const message = readable(err.message);
  if (wrapper) {
    const slot = wrapper.querySelector(".field-error");
    slot.textContent = message;
    slot.hidden = false;
    wrapper.control.setAttribute("aria-invalid", "true");
    wrapper.control.focus();
    return;
  }
  const top = form.querySelector(".form-error");
  if (top) {
    top.textContent = message;
    top.hidden = false;
    top.focus();
  }
}

export function formError() {
  return h("p", { class: "form-error", role: "alert", tabindex: "-1", hidden: true });
}

/** A form whose submit runs `action(values)`; API errors land next to their field. */
export function apiForm({ fields, submitLabel = "Save", action, extra = [], label }) {
  const form = h("form", { class: "form", novalidate: true, "aria-label": label },
    formError(), fields, extra,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, submitLabel)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await action(formValues(form), form);
    } catch (err) {
      showError(form, err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
