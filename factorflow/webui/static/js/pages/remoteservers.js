// Remote privacyIDEA servers, the targets of the Federation handler: list, create or
// edit, test a /validate/check, delete. The option fields come from
// GET /privacyideaserver/options; shapes as privacyIDEA's /privacyideaserver/ API
// (GET → {identifier: {url, tls, description, timeout}}). The test password is sent to
// the remote server only and never kept in the form's saved values.

import { call, get, post, seg } from "../api.js";
import { field } from "../forms.js";
import { configPage, deleteAt } from "../config-page.js";

const withoutId = ({ identifier: _i, ...rest }) => rest;

export const render = configPage({
  title: "privacyIDEA servers", noun: "privacyIDEA server", empty: "No privacyIDEA servers yet.",
  intro: "Remote privacyIDEA or Factorflow servers that Federation event definitions forward requests to.",
  addTitle: "Add a privacyIDEA server", saveLabel: () => "Save privacyIDEA server",
  load: async () => Object.entries(await get("/privacyideaserver/")).map(([identifier, c]) => ({ ...c, identifier })),
  kinds: async () => ({ privacyidea: { options: await get("/privacyideaserver/options") } }),
  name: { label: "Identifier", param: "identifier", of: (c) => c.identifier },
  prefix: "",
  values: (c) => c,
  columns: [
    { key: "identifier", label: "Identifier" },
    { key: "url", label: "URL" },
    { key: "tls", label: "TLS verified", render: (c) => (c.tls ? "yes" : "no") },
    { key: "timeout", label: "Timeout", render: (c) => `${c.timeout} s` },
    { key: "description", label: "Description" },
  ],
  save: (v) => post(`/privacyideaserver/${seg(v.identifier)}`, withoutId(v)),
  remove: deleteAt("/privacyideaserver/"),
  test: {
    label: "Send a test request", pending: "Asking…", only: ["user", "realm", "password"],
    fields: () => [
      field({ label: "Test user", param: "user", help: "Only for the test request." }),
      field({ label: "Test realm", param: "realm" }),
      field({ label: "Test password", param: "password", kind: "password", autocomplete: "off", help: "PIN and OTP; sent to the remote server only." }),
    ],
    run: (v) => call("POST", "/privacyideaserver/test_request", v),
    report: (body) => `${body.result.value ? "✔" : "✘"} ${body.detail?.message || ""}`,
  },
});
