// Enrol a token (admin): type, key, owner, PIN; shows the QR code afterwards.

import { call } from "../api.js";
import { h, replace } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { enrolmentResult } from "../enrolled.js";
import { link, pageHeader } from "../ui.js";

const TYPES = ["hotp", "totp", "spass", "registration", "paper"];
const OATH = new Set(["hotp", "totp"]);

function showFor(form, type) {
  for (const wrapper of form.querySelectorAll("[data-types]")) {
    wrapper.hidden = !wrapper.dataset.types.split(" ").includes(type);
  }
}

function typed(wrapper, types) {
  wrapper.dataset.types = types;
  return wrapper;
}

export async function render(ctx) {
  const out = h("div", { id: "enrol-result" });
  const typeField = field({ label: "Token type", param: "type", kind: "select", choices: TYPES, value: ctx.query.type || "hotp" });
  const form = apiForm({
    label: "Enrol a token",
    submitLabel: "Enrol",
    fields: [
      typeField,
      field({ label: "Description", param: "description" }),
      field({ label: "User", param: "user", value: ctx.query.user || "", help: "Leave empty for an unassigned token." }),
      field({ label: "Realm", param: "realm", value: ctx.query.realm || "" }),
      field({ label: "PIN", param: "pin", kind: "password", autocomplete: "new-password" }),
      typed(field({ label: "Generate the key on the server", param: "genkey", kind: "checkbox", value: true }), "hotp totp"),
      typed(field({ label: "OTP key (hex)", param: "otpkey", help: "Only when not generated." }), "hotp totp"),
      typed(field({ label: "OTP length", param: "otplen", kind: "select", choices: ["6", "8"] }), "hotp totp"),
      typed(field({ label: "Hash algorithm", param: "hashlib", kind: "select", choices: ["sha1", "sha256", "sha512"] }), "hotp totp"),
      typed(field({ label: "Time step (seconds)", param: "timeStep", kind: "select", choices: ["30", "60"] }), "totp"),
      typed(field({ label: "Number of TANs", param: "papertoken_count", kind: "number", value: "20" }), "paper"),
    ],
    action: async (values) => {
      const params = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "" && v !== false));
      if (params.genkey === true) params.genkey = 1;
      if (params.otpkey) delete params.genkey;
      if (!OATH.has(values.type)) for (const key of ["genkey", "otpkey", "otplen", "hashlib"]) delete params[key];
      const body = await callInit(params);
      replace(out, enrolmentResult(body, values.type), link("Open the token", `#/tokens/${encodeURIComponent(body.serial)}`, "button"));
      out.scrollIntoView({ block: "start" });
    },
  });
  typeField.control.addEventListener("change", () => showFor(form, typeField.control.value));
  showFor(form, typeField.control.value);
  return [pageHeader("Enrol a token", link("Back to tokens", "#/tokens")), form, out];
}

/** POST /token/init and return its detail (serial, googleurl, …). */
export async function callInit(params) {
  const body = await call("POST", "/token/init", params);
  return body.detail || {};
}
