// One page shape for named configurations — SMTP servers, SMS gateways, privacyIDEA
// servers, user stores: a table of the stored ones, an edit and an add form whose
// option fields are generated from the API's descriptions (options.js), and a test
// button where the API has one. A page module only says where its data lives:
//
//   configPage({
//     title, empty, addTitle, saveLabel(row), intro?,
//     load(): rows, kinds(): {type: {description, options: {name: descriptor}}},
//     name: {label, param, of(row)}, type?: {label, param, of(row), default},
//     prefix: "" | "option.", values(row): the stored option values,
//     extras?(row, kind): more fields (not options), params?(values): API parameters,
//     columns, save(values), remove(name), noun,
//     test?: {label, fields(row), only: [params], pending, run(values), report(body)},
//   })

import { del } from "./api.js";
import { h, replace, toast } from "./dom.js";
import { apiForm, clearErrors, field, fieldValue, formValues, showError } from "./forms.js";
import { renderOptions } from "./options.js";
import { button, confirmAction, pageHeader, section, table } from "./ui.js";

/** The form's values as API parameters: checkboxes as privacyIDEA's True/False. */
function apiValues(form) {
  const out = {};
  for (const [k, v] of Object.entries(formValues(form))) out[k] = v === true ? "True" : v === false ? "False" : v;
  return out;
}

function typeChoice(spec, kinds, row) {
  const names = Object.keys(kinds);
  if (row) return spec.type ? spec.type.of(row) : names[0];
  return spec.type && names.includes(spec.type.default) ? spec.type.default : names[0];
}

function editor(ctx, spec, kinds, row) {
  const names = Object.keys(kinds);
  const chosen = typeChoice(spec, kinds, row);
  const nameField = field({ label: spec.name.label, param: spec.name.param, required: true,
    value: row ? spec.name.of(row) : "", attrs: row ? { readonly: true } : {} });
  const typeField = spec.type ? field({ label: spec.type.label, param: spec.type.param, kind: "select",
    choices: names, value: chosen, help: kinds[chosen]?.description || " ", attrs: row ? { disabled: true } : {} }) : null;
  const optionsBox = h("div", { class: "type-fields" });
  const fill = (type) => {
    renderOptions(optionsBox, kinds[type]?.options || {}, row && type === chosen ? spec.values(row) : {},
      { prefix: spec.prefix, empty: "" });
    const help = typeField?.querySelector(".help");
    if (help) help.textContent = kinds[type]?.description || "";
  };
  typeField?.control.addEventListener("change", () => fill(typeField.control.value));
  fill(chosen);
  const testFields = spec.test ? spec.test.fields(row) : [];
  const status = h("p", { class: "test-result", role: "status" });
  const values = (form) => {
    const all = apiValues(form);
    return spec.params ? spec.params(all) : all;
  };
  const form = apiForm({
    label: spec.noun, submitLabel: spec.saveLabel(row),
    fields: [nameField, typeField, optionsBox, spec.extras ? spec.extras(row, kinds[chosen]) : [], testFields],
    extra: [status],
    action: async (_v, f) => {
      const params = values(f);
      for (const only of spec.test?.only || []) delete params[only];
      const name = fieldValue(nameField);
      await spec.save(params);
      toast(`${spec.noun} ${name} saved`);
      ctx.rerender();
    },
  });
  if (spec.test) {
    form.querySelector(".actions").append(button(spec.test.label, async () => {
      clearErrors(form);
      status.textContent = spec.test.pending;
      status.className = "test-result";
      try {
        const body = await spec.test.run(values(form));
        status.textContent = spec.test.report(body);
        status.className = body.result.value ? "test-result ok" : "test-result bad";
      } catch (err) {
        status.textContent = "";
        showError(form, err);
      }
    }));
  }
  return form;
}

/** The page's render(ctx) for a named-configuration spec. */
export function configPage(spec) {
  return async function render(ctx) {
    const [rows, kinds] = await Promise.all([spec.load(), spec.kinds()]);
    const box = h("div", { class: "config-editor" });
    const actions = (row) => {
      const name = spec.name.of(row);
      return h("span", { class: "button-row" },
        button(`Edit ${name}`, () => replace(box, section(`Edit ${name}`, editor(ctx, spec, kinds, row))), "small"),
        button(`Delete ${name}`, async () => {
          if (!confirmAction(`Delete ${spec.noun} ${name}?`)) return;
          try { await spec.remove(name); toast(`${spec.noun} ${name} deleted`); ctx.rerender(); } catch (err) { toast(err.message); }
        }, "small danger"));
    };
    return [
      pageHeader(spec.title),
      spec.intro ? h("p", { class: "help" }, spec.intro) : null,
      table([...spec.columns, { key: "actions", label: "Actions", render: actions }], rows, { empty: spec.empty }),
      box,
      section(spec.addTitle, editor(ctx, spec, kinds, null)),
    ];
  };
}

/** DELETE <path><name>, the way every named configuration is deleted. */
export const deleteAt = (path) => (name) => del(`${path}${encodeURIComponent(name)}`);
