// Remote privacyIDEA servers, the targets of the Federation handler: list, create or
// edit, test a /validate/check, delete. Shapes as privacyIDEA's /privacyideaserver/ API
// (GET → {identifier: {url, tls, description, timeout}}). The test password is sent to
// the remote server only and never kept in the form's saved values.

import { call, del, get, post, seg } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { apiForm, clearErrors, field, formValues, showError } from "../forms.js";
import { button, confirmAction, pageHeader, section, table } from "../ui.js";

const TEST_ONLY = ["user", "realm", "password"];

/** The form's values as API parameters (the TLS checkbox as True/False). */
function serverParams(values) {
  const out = {};
  for (const [k, v] of Object.entries(values)) out[k] = v === true ? "True" : v === false ? "False" : v;
  return out;
}

function serverForm(ctx, cfg) {
  const status = h("p", { class: "test-result", role: "status" });
  const form = apiForm({
    label: "privacyIDEA server", submitLabel: "Save privacyIDEA server",
    fields: [
      field({ label: "Identifier", param: "identifier", required: true, value: cfg?.identifier || "", attrs: cfg ? { readonly: true } : {} }),
      field({ label: "URL", param: "url", kind: "url", required: true, value: cfg?.url || "", placeholder: "https://mfa.example.org" }),
      field({ label: "Verify TLS certificate", param: "tls", kind: "checkbox", value: cfg ? Boolean(cfg.tls) : true }),
      field({ label: "Timeout (seconds)", param: "timeout", kind: "number", value: cfg?.timeout ?? 10, attrs: { step: "any" } }),
      field({ label: "Description", param: "description", value: cfg?.description || "" }),
      field({ label: "Test user", param: "user", help: "Only for the test request." }),
      field({ label: "Test realm", param: "realm" }),
      field({ label: "Test password", param: "password", kind: "password", autocomplete: "off", help: "PIN and OTP; sent to the remote server only." }),
    ],
    extra: [status],
    action: async (v) => {
      const params = serverParams(v);
      for (const name of TEST_ONLY) delete params[name];
      const { identifier, ...rest } = params;
      await post(`/privacyideaserver/${seg(identifier)}`, rest);
      toast(`privacyIDEA server ${identifier} saved`);
      ctx.rerender();
    },
  });
  form.querySelector(".actions").append(button("Send a test request", async () => {
    clearErrors(form);
    status.textContent = "Asking…";
    try {
      const body = await call("POST", "/privacyideaserver/test_request", serverParams(formValues(form)));
      const message = body.detail?.message || "";
      status.textContent = body.result.value ? `✔ ${message}` : `✘ ${message}`;
    } catch (err) {
      status.textContent = "";
      showError(form, err);
    }
  }));
  return form;
}

export async function render(ctx) {
  const configs = Object.entries(await get("/privacyideaserver/")).map(([identifier, c]) => ({ ...c, identifier }));
  const editor = h("div");
  return [
    pageHeader("privacyIDEA servers"),
    h("p", { class: "help" }, "Remote privacyIDEA or Factorflow servers that Federation event definitions forward requests to."),
    table([
      { key: "identifier", label: "Identifier" },
      { key: "url", label: "URL" },
      { key: "tls", label: "TLS verified", render: (c) => (c.tls ? "yes" : "no") },
      { key: "timeout", label: "Timeout", render: (c) => `${c.timeout} s` },
      { key: "description", label: "Description" },
      { key: "actions", label: "Actions", render: (c) => h("span", { class: "button-row" },
        button(`Edit ${c.identifier}`, () => replace(editor, section(`Edit ${c.identifier}`, serverForm(ctx, c))), "small"),
        button(`Delete ${c.identifier}`, async () => {
          if (!confirmAction(`Delete privacyIDEA server ${c.identifier}?`)) return;
          try { await del(`/privacyideaserver/${seg(c.identifier)}`); ctx.rerender(); } catch (err) { toast(err.message); }
        }, "small danger")) },
    ], configs, { empty: "No privacyIDEA servers yet." }),
    editor,
    section("Add a privacyIDEA server", serverForm(ctx, null)),
  ];
}
