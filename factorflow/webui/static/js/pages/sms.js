// SMS gateway configurations: list, create or edit, test send, delete. The provider
// modules and their option fields come from GET /smsgateway/providers (privacyIDEA's
// answer: per module its "parameters", and whether free options and headers are
// allowed). Shapes as privacyIDEA's /smsgateway/ API (GET → [{id, name,
// providermodule, options, headers}]); secret values read back as __CENSORED__.

import { call, get, post } from "../api.js";
import { field } from "../forms.js";
import { configPage, deleteAt } from "../config-page.js";

const lines = (obj) => Object.entries(obj || {}).map(([k, v]) => `${k}=${v}`).join("\n");

function pairs(text, prefix) {
  const out = {};
  for (const line of (text || "").split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[`${prefix}${line.slice(0, at).trim()}`] = line.slice(at + 1).trim();
  }
  return out;
}

/** The stored options the provider does not describe: request parameter templates. */
function others(gw, kind) {
  const described = new Set(Object.keys(kind?.options || {}));
  return Object.fromEntries(Object.entries(gw?.options || {}).filter(([k]) => !described.has(k)));
}

async function providers() {
  const modules = await get("/smsgateway/providers");
  return Object.fromEntries(Object.entries(modules).map(([name, m]) => [name,
    { description: m.description, options: m.parameters, free: m.options_allowed, headers: m.headers_allowed }]));
}

export const render = configPage({
  title: "SMS gateways", noun: "SMS gateway", empty: "No SMS gateways yet.",
  addTitle: "Add an SMS gateway", saveLabel: () => "Save SMS gateway",
  load: async () => {
    const value = await get("/smsgateway/");
    return Array.isArray(value) ? value : Object.values(value);
  },
  kinds: providers,
  name: { label: "Name", param: "name", of: (g) => g.name },
  type: { label: "Provider module", param: "module", of: (g) => g.providermodule, default: "http" },
  prefix: "option.",
  values: (g) => g.options || {},
  extras: (g, kind) => [
    field({ label: "Description", param: "description", value: g?.description || "" }),
    kind?.free === false ? null : field({ label: "Other options", param: "options", kind: "textarea",
      value: lines(others(g, kind)) || (g ? "" : "to={phone}\ntext={otp}"),
      help: "One KEY=value per line: request parameter templates with {phone}, {otp} and {message}. A line naming an option above sets that option." }),
    kind?.headers === false ? null : field({ label: "Headers", param: "headers", kind: "textarea", value: lines(g?.headers), help: "One Name=value per line." }),
  ],
  // The lines of the text areas come last: they override the fields above.
  params: ({ options, headers, ...rest }) => ({ ...rest, ...pairs(options, "option."), ...pairs(headers, "header.") }),
  columns: [
    { key: "name", label: "Name" },
    { key: "providermodule", label: "Module" },
    { key: "url", label: "URL", render: (g) => g.options?.URL || "" },
    { key: "description", label: "Description" },
  ],
  save: (v) => post("/smsgateway", v),
  remove: deleteAt("/smsgateway/"),
  test: {
    label: "Send a test SMS", pending: "Sending…", only: ["phone"],
    fields: (g) => [field({ label: "Test phone number", param: "phone",
      help: g ? "Only for the test send." : "Save the gateway first; the test uses the stored configuration." })],
    run: (v) => call("POST", "/smsgateway/send_test_sms", { identifier: v.name, phone: v.phone }),
    report: (body) => (body.result.value ? `✔ ${body.detail?.message || "The gateway accepted the test SMS."}` : "✘ The gateway refused the test SMS."),
  },
});
