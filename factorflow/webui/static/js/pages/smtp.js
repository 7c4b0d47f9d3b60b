// SMTP server configurations: list, create or edit, test send, delete. The option
// fields come from GET /smtpserver/options; shapes as privacyIDEA's /smtpserver/ API
// (GET → {identifier: config}); a stored password reads back as __CENSORED__, and
// sending that back keeps it.

import { call, get, post, seg } from "../api.js";
import { field } from "../forms.js";
import { configPage, deleteAt } from "../config-page.js";

const withoutId = ({ identifier: _i, ...rest }) => rest;

export const render = configPage({
  title: "SMTP servers", noun: "SMTP server", empty: "No SMTP servers yet.",
  addTitle: "Add an SMTP server", saveLabel: () => "Save SMTP server",
  load: async () => Object.entries(await get("/smtpserver/")).map(([identifier, c]) => ({ ...c, identifier })),
  kinds: async () => ({ smtp: { options: await get("/smtpserver/options") } }),
  name: { label: "Identifier", param: "identifier", of: (c) => c.identifier },
  prefix: "",
  values: (c) => c,
  columns: [
    { key: "identifier", label: "Identifier" },
    { key: "server", label: "Server", render: (c) => `${c.server}:${c.port}` },
    { key: "sender", label: "Sender" },
    { key: "tls", label: "TLS", render: (c) => (c.tls ? "TLS" : c.starttls ? "STARTTLS" : "none") },
  ],
  save: (v) => post(`/smtpserver/${seg(v.identifier)}`, withoutId(v)),
  remove: deleteAt("/smtpserver/"),
  test: {
    label: "Send a test email", pending: "Sending…", only: ["recipient"],
    fields: () => [field({ label: "Test recipient", param: "recipient", help: "Only for the test send." })],
    run: (v) => call("POST", "/smtpserver/send_test_email", v),
    report: (body) => (body.result.value ? `✔ ${body.detail?.message || "The test email was sent."}` : "✘ The server did not accept the test email."),
  },
});
