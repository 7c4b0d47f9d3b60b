// Event streams: every event as a CloudEvent to a broker (GET/POST/DELETE /eventstream/).
// The broker kinds and their option fields come from GET /eventstream/options; what a
// stream publishes (events, the definitions' conditions as a filter) are fields of their
// own. A stored password or token reads back as __CENSORED__, and sending that back keeps
// it. Below the list: export and import as YAML (secrets censored).

import { get, post, seg } from "../api.js";
import { field } from "../forms.js";
import { configPage, deleteAt } from "../config-page.js";
import { transferSections } from "../events/porting.js";

const json = (obj) => (obj && Object.keys(obj).length ? JSON.stringify(obj) : "");

const streams = configPage({
  title: "Event streams", noun: "Event stream", empty: "No event streams yet.",
  addTitle: "Add an event stream", saveLabel: () => "Save event stream",
  intro: "Each stream publishes the events it takes (all, or those listed and matching the conditions) to a broker, through the job queue.",
  load: async () => Object.values(await get("/eventstream/")),
  kinds: async () => Object.fromEntries(Object.entries(await get("/eventstream/options")).map(([kind, options]) => [kind, { options }])),
  name: { label: "Identifier", param: "identifier", of: (s) => s.identifier },
  type: { label: "Broker", param: "kind", of: (s) => s.kind, default: "nats" },
  prefix: "",
  values: (s) => s.options || {},
  extras: (s) => [
    field({ label: "Description", param: "description", value: s?.description || "" }),
    field({ label: "Events", param: "events", value: (s?.events || []).join(","), help: "Comma-separated event names; empty: every event." }),
    field({ label: "Conditions", param: "conditions", kind: "textarea", value: json(s?.conditions),
      help: 'A JSON object of definition conditions, e.g. {"result_value": "False"}; empty: no filter.' }),
    field({ label: "Condition expression", param: "condition_expression", value: s?.condition_expression || "" }),
    field({ label: "Unknown is a match", param: "unknown_is_match", kind: "checkbox", value: Boolean(s?.unknown_is_match) }),
    field({ label: "Active", param: "active", kind: "checkbox", value: s ? s.active : true }),
  ],
  columns: [
    { key: "identifier", label: "Identifier" },
    { key: "kind", label: "Broker" },
    { key: "events", label: "Events", render: (s) => (s.events.length ? s.events.join(", ") : "every event") },
    { key: "conditions", label: "Filter", render: (s) => json(s.conditions) || s.condition_expression || "none" },
    { key: "active", label: "Active", render: (s) => (s.active ? "yes" : "no") },
    { key: "description", label: "Description" },
  ],
  save: ({ identifier, ...rest }) => post(`/eventstream/${seg(identifier)}`, rest),
  remove: deleteAt("/eventstream/"),
});

export async function render(ctx) {
  return [
    ...(await streams(ctx)),
    ...(await transferSections({
      what: "Streams", exportPath: "/eventstream/export", importPath: "/eventstream/import",
      filename: "factorflow-eventstreams.yaml", onImport: () => ctx.rerender(),
      help: "Paste or load an export and import it. Secrets are exported as __CENSORED__: importing that keeps the stored secret.",
    })),
  ];
}
