// User stores (resolvers): create, edit, test the connection, delete. Every option of
// every store type comes from GET /resolver/types/ (privacyIDEA's option names, all of
// them: 24 for LDAP); secret options read back as __CENSORED__, and sending that back
// keeps them.

import { call, get, post, seg } from "../api.js";
import { configPage, deleteAt } from "../config-page.js";

const withoutName = ({ resolver: _r, ...rest }) => rest;
const summary = (r) => Object.entries(r.data || {}).map(([k, v]) => `${k}=${v}`).join(" · ");

export const render = configPage({
  title: "User stores", noun: "User store", empty: "No user stores yet.",
  addTitle: "Create a user store", saveLabel: (r) => (r ? "Save user store" : "Create user store"),
  load: async () => Object.values(await get("/resolver/")),
  kinds: () => get("/resolver/types/"),
  name: { label: "Name", param: "resolver", of: (r) => r.resolvername },
  type: { label: "Type", param: "type", of: (r) => r.type, default: "passwdresolver" },
  prefix: "",
  values: (r) => r.data || {},
  columns: [
    { key: "resolvername", label: "Name" },
    { key: "type", label: "Type" },
    { key: "data", label: "Settings", render: summary },
  ],
  save: (v) => post(`/resolver/${seg(v.resolver)}`, withoutName(v)),
  remove: deleteAt("/resolver/"),
  test: {
    label: "Test connection", pending: "Testing…", only: [],
    fields: () => [],
    run: (v) => call("POST", "/resolver/test", v),
    report: (body) => `${body.result.value ? "✔" : "✘"} ${body.detail?.description || ""}`,
  },
});
