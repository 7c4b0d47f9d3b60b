// The enrolment form of the admin's enrolment page and of the user's self-service page:
// the token type (of those GET /token/types/ answered: the types the caller's policies
// let it enrol), the page's common /token/init parameters, and the chosen type's own
// parameters generated from its served description (options.js). After the enrolment
// it shows what the token needs (QR code, secret, TANs, registration code).

import { call } from "./api.js";
import { h, replace } from "./dom.js";
import { apiForm, field, fieldValue } from "./forms.js";
import { enrolmentResult } from "./enrolled.js";
import { optionParams, renderOptions } from "./options.js";

/** POST /token/init and return its detail (serial, googleurl, …). */
export async function callInit(params) {
  const body = await call("POST", "/token/init", params);
  return body.detail || {};
}

/** The type's parameters that are filled in (an empty field is the server's default). */
function typeParams(box) {
  return Object.fromEntries(Object.entries(optionParams(box, "")).filter(([, v]) => v !== ""));
}

/**
 * The form and the place its result appears. `types` is the answer of GET /token/types/;
 * `wanted` the type chosen first; `common` the page's fields sent with every type (an
 * empty one is left out); `typeLabel` labels the type choice; with `describedChoices` each
 * choice reads as its type's description, else as its name with the description below.
 * `next(detail)` adds what follows the enrolment (a link, a button).
 */
export function enrolForm({ types, wanted, common = [], label = "Enrol a token",
  typeLabel = "Token type", describedChoices = false, next = () => null }) {
  const names = Object.keys(types);
  if (!names.length) {
    return [h("p", { class: "notice", role: "status" }, "Your policies do not let you enrol any token type.")];
  }
  const out = h("div", { id: "enrol-result" });
  const choices = describedChoices ? names.map((n) => [n, types[n].description || n]) : names;
  const typeField = field({ label: typeLabel, param: "type", kind: "select", choices,
    value: names.includes(wanted) ? wanted : names[0], help: describedChoices ? "" : " " });
  const typeBox = h("div", { class: "type-fields", "data-testid": "type-fields" });
  const showType = () => {
    const type = fieldValue(typeField);
    const help = typeField.querySelector(".help");
    if (help) help.textContent = types[type].description || "";
    // A form generates the key unless told otherwise: unchecking asks for the key.
    const initial = "genkey" in (types[type].options || {}) ? { genkey: true } : {};
    renderOptions(typeBox, types[type].options, initial, { prefix: "", empty: "" });
  };
  const form = apiForm({
    label,
    submitLabel: "Enrol",
    fields: [typeField, ...common, typeBox],
    action: async () => {
      const type = fieldValue(typeField);
      const params = { type, ...typeParams(typeBox) };
      if (params.genkey === "False" && !params.otpkey && "otpkey" in (types[type].options || {})) {
        // Without a key the server would make one after all: say so instead.
        throw Object.assign(new Error("Enter the OTP key of your token, or check \"Generate the key on the server\"."),
          { field: "otpkey" });
      }
      for (const f of common) if (fieldValue(f) !== "") params[f.dataset.param] = fieldValue(f);
      const detail = await callInit(params);
      replace(out, enrolmentResult(detail, type), next(detail));
      out.scrollIntoView({ block: "start" });
    },
  });
  typeField.control.addEventListener("change", showType);
  showType();
  return [form, out];
}
