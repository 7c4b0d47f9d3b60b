// The configuration page of a kind of resolver (user stores, machine resolvers): the
// same privacyIDEA shape under another path — GET <path> lists them by name with
// their type and data, GET <types> describes every type's options, POST <path><name>
// saves, DELETE removes, POST <path>test tries one.

import { call, get, post, seg } from "./api.js";
import { configPage, deleteAt } from "./config-page.js";

const withoutName = ({ resolver: _r, ...rest }) => rest;
const summary = (r) => Object.entries(r.data || {}).map(([k, v]) => `${k}=${v}`).join(" · ");

/**
 * `path` ("/resolver/"), `types` (its type descriptions), `defaultType`, the page's
 * texts (`title`, `noun`, `empty`, `addTitle`, `saveLabel`, optional `intro`), and the
 * test button's `testLabel` and `testBody(values)` (the parameters POST <path>test takes).
 */
export function resolverPage({ path, types, defaultType, testLabel, testBody, ...texts }) {
  return configPage({
    ...texts,
    load: async () => Object.values(await get(path)),
    kinds: () => get(types),
    name: { label: "Name", param: "resolver", of: (r) => r.resolvername },
    type: { label: "Type", param: "type", of: (r) => r.type, default: defaultType },
    prefix: "",
    values: (r) => r.data || {},
    columns: [
      { key: "resolvername", label: "Name" },
      { key: "type", label: "Type" },
      { key: "data", label: "Settings", render: summary },
    ],
    save: (v) => post(`${path}${seg(v.resolver)}`, withoutName(v)),
    remove: deleteAt(path),
    test: {
      label: testLabel, pending: "Testing…", only: [],
      fields: () => [],
      run: (v) => call("POST", `${path}test`, testBody(v, withoutName)),
      report: (body) => `${body.result.value ? "✔" : "✘"} ${body.detail?.description || ""}`,
    },
  });
}
