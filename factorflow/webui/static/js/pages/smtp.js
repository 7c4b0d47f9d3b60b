// SMTP server configurations: list, create or edit, test send, delete.
// Shapes as privacyIDEA's /smtpserver/ API (GET → {identifier: config}); a stored
// password reads back as __CENSORED__, and sending that back keeps it.

import { call, del, get, post, seg } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { apiForm, clearErrors, field, formValues, showError } from "../forms.js";
import { button, confirmAction, pageHeader, section, table } from "../ui.js";

const CENSORED = "__CENSORED__";

/** The form's values as API parameters (checkboxes as True/False, password kept). */
function smtpParams(values, cfg) {
  const out = {};
  for (const [k, v] of Object.entries(values)) out[k] = v === true ? "True" : v === false ? "False" : v;
  if (!out.password) {
    if (cfg?.password) out.password = CENSORED;
    else delete out.password;
  }
  return out;
}

function smtpForm(ctx, cfg) {
  const status = h("p", { class: "test-result", role: "status" });
  const form = apiForm({
    label: "SMTP server", submitLabel: "Save SMTP server",
    fields: [
      field({ label: "Identifier", param: "identifier", required: true, value: cfg?.identifier || "", attrs: cfg ? { readonly: true } : {} }),
      field({ label: "Server", param: "server", required: true, value: cfg?.server || "" }),
      field({ label: "Port", param: "port", kind: "number", value: cfg?.port ?? 25 }),
      field({ label: "TLS", param: "tls", kind: "checkbox", value: Boolean(cfg?.tls) }),
      field({ label: "STARTTLS", param: "starttls", kind: "checkbox", value: Boolean(cfg?.starttls) }),
      field({ label: "User", param: "username", value: cfg?.username || "" }),
      field({ label: "Password", param: "password", kind: "password", autocomplete: "new-password", help: cfg ? "Leave empty to keep the stored password." : "" }),
      field({ label: "Sender address", param: "sender", required: true, value: cfg?.sender || "" }),
      field({ label: "Timeout (seconds)", param: "timeout", kind: "number", value: cfg?.timeout ?? 10 }),
      field({ label: "Description", param: "description", value: cfg?.description || "" }),
      field({ label: "Test recipient", param: "recipient", help: "Only for the test send." }),
    ],
    extra: [status],
    action: async (v) => {
      const { identifier, recipient: _r, ...rest } = smtpParams(v, cfg);
      await post(`/smtpserver/${seg(identifier)}`, rest);
      toast(`SMTP server ${identifier} saved`);
      ctx.rerender();
    },
  });
  form.querySelector(".actions").append(button("Send a test email", async () => {
    clearErrors(form);
    status.textContent = "Sending…";
    try {
      const body = await call("POST", "/smtpserver/send_test_email", smtpParams(formValues(form), cfg));
      status.textContent = body.result.value ? `✔ ${body.detail?.message || "The test email was sent."}` : "✘ The server did not accept the test email.";
    } catch (err) {
      status.textContent = "";
      showError(form, err);
    }
  }));
  return form;
}

export async function render(ctx) {
  const configs = Object.entries(await get("/smtpserver/")).map(([identifier, c]) => ({ identifier, ...c }));
  const editor = h("div");
  return [
    pageHeader("SMTP servers"),
    table([
      { key: "identifier", label: "Identifier" },
      { key: "server", label: "Server", render: (c) => `${c.server}:${c.port}` },
      { key: "sender", label: "Sender" },
      { key: "tls", label: "TLS", render: (c) => (c.tls ? "TLS" : c.starttls ? "STARTTLS" : "none") },
      { key: "actions", label: "Actions", render: (c) => h("span", { class: "button-row" },
        button(`Edit ${c.identifier}`, () => replace(editor, section(`Edit ${c.identifier}`, smtpForm(ctx, c))), "small"),
        button(`Delete ${c.identifier}`, async () => {
          if (!confirmAction(`Delete SMTP server ${c.identifier}?`)) return;
          try { await del(`/smtpserver/${seg(c.identifier)}`); ctx.rerender(); } catch (err) { toast(err.message); }
        }, "small danger")) },
    ], configs, { empty: "No SMTP servers yet." }),
    editor,
    section("Add an SMTP server", smtpForm(ctx, null)),
  ];
}
