// Enrol a token (admin): the type, the common parameters (description, owner, PIN) and
// the type's own enrolment parameters, generated from GET /token/types/ (the types this
// admin may enrol, each with its parameters' descriptors); shows the QR code, TANs or
// registration code afterwards.

import { call, get } from "../api.js";
import { h, replace } from "../dom.js";
import { apiForm, field, fieldValue } from "../forms.js";
import { enrolmentResult } from "../enrolled.js";
import { optionParams, renderOptions } from "../options.js";
import { link, pageHeader } from "../ui.js";

/** The type's parameters that are filled in (an empty field is the server's default). */
function typeParams(box) {
  return Object.fromEntries(Object.entries(optionParams(box, "")).filter(([, v]) => v !== ""));
}

export async function render(ctx) {
  const types = await get("/token/types/");
  const names = Object.keys(types);
  if (!names.length) {
    return [pageHeader("Enrol a token", link("Back to tokens", "#/tokens")),
      h("p", { class: "notice", role: "status" }, "Your policies do not let you enrol any token type.")];
  }
  const wanted = ctx.query.type || "hotp";
  const out = h("div", { id: "enrol-result" });
  const typeField = field({ label: "Token type", param: "type", kind: "select", choices: names,
    value: names.includes(wanted) ? wanted : names[0], help: " " });
  const typeBox = h("div", { class: "type-fields", "data-testid": "type-fields" });
  const showType = () => {
    const type = fieldValue(typeField);
    typeField.querySelector(".help").textContent = types[type].description || "";
    renderOptions(typeBox, types[type].options, {}, { prefix: "", empty: "" });
  };
  const common = [
    field({ label: "Description", param: "description" }),
    field({ label: "User", param: "user", value: ctx.query.user || "", help: "Leave empty for an unassigned token." }),
    field({ label: "Realm", param: "realm", value: ctx.query.realm || "" }),
    field({ label: "PIN", param: "pin", kind: "password", autocomplete: "new-password" }),
  ];
  const form = apiForm({
    label: "Enrol a token",
    submitLabel: "Enrol",
    fields: [typeField, ...common, typeBox],
    action: async () => {
      const type = fieldValue(typeField);
      const params = { type, ...typeParams(typeBox) };
      for (const f of common) if (fieldValue(f) !== "") params[f.dataset.param] = fieldValue(f);
      const body = await callInit(params);
      replace(out, enrolmentResult(body, type), link("Open the token", `#/tokens/${encodeURIComponent(body.serial)}`, "button"));
      out.scrollIntoView({ block: "start" });
    },
  });
  typeField.control.addEventListener("change", showType);
  showType();
  return [pageHeader("Enrol a token", link("Back to tokens", "#/tokens")), form, out];
}

/** POST /token/init and return its detail (serial, googleurl, …). */
export async function callInit(params) {
  const body = await call("POST", "/token/init", params);
  return body.detail || {};
}
