// SMS gateway configurations (HTTP): list, create or edit, test send, delete.
// Shapes as privacyIDEA's /smsgateway/ API (GET → [{id, name, providermodule, options, headers}]).

import { call, del, get, post, seg } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { apiForm, clearErrors, field, formValues, showError } from "../forms.js";
import { button, confirmAction, pageHeader, section, table } from "../ui.js";

const lines = (obj) => Object.entries(obj || {}).map(([k, v]) => `${k}=${v}`).join("\n");

function pairs(text, prefix) {
  const out = {};
  for (const line of (text || "").split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[`${prefix}${line.slice(0, at).trim()}`] = line.slice(at + 1).trim();
  }
  return out;
}

function gatewayForm(ctx, gw) {
  const status = h("p", { class: "test-result", role: "status" });
  const opts = gw?.options || {};
  const params = (v) => {
    const { options, headers, phone: _p, ...rest } = v;
    return { ...rest, ...pairs(options, "option."), ...pairs(headers, "header.") };
  };
  const form = apiForm({
    label: "SMS gateway", submitLabel: "Save SMS gateway",
    fields: [
      field({ label: "Name", param: "name", required: true, value: gw?.name || "", attrs: gw ? { readonly: true } : {} }),
      field({ label: "Provider module", param: "module", kind: "select", value: gw?.providermodule || "http", choices: ["http"] }),
      field({ label: "Description", param: "description", value: gw?.description || "" }),
      field({ label: "Options", param: "options", kind: "textarea", value: lines(opts) || "URL=https://sms.example.org/send\nHTTP_METHOD=POST\nto={phone}\ntext={otp}\nRETURN_SUCCESS=OK\nTIMEOUT=10",
        help: "One KEY=value per line: URL, HTTP_METHOD, SEND_DATA_AS_JSON, RETURN_SUCCESS, SUCCESS_STATUS, TIMEOUT, CHECK_SSL; any other key is a request parameter template with {phone} and {otp}." }),
      field({ label: "Headers", param: "headers", kind: "textarea", value: lines(gw?.headers), help: "One Name=value per line." }),
      field({ label: "Test phone number", param: "phone", help: gw ? "Only for the test send." : "Save the gateway first; the test uses the stored configuration." }),
    ],
    extra: [status],
    action: async (v) => {
      await post("/smsgateway", params(v));
      toast(`SMS gateway ${v.name} saved`);
      ctx.rerender();
    },
  });
  form.querySelector(".actions").append(button("Send a test SMS", async () => {
    clearErrors(form);
    status.textContent = "Sending…";
    const v = formValues(form);
    try {
      const body = await call("POST", "/smsgateway/send_test_sms", { identifier: v.name, phone: v.phone });
      status.textContent = body.result.value ? `✔ ${body.detail?.message || "The gateway accepted the test SMS."}` : "✘ The gateway refused the test SMS.";
    } catch (err) {
      status.textContent = "";
      showError(form, err);
    }
  }));
  return form;
}

export async function render(ctx) {
  const value = await get("/smsgateway/");
  const gateways = Array.isArray(value) ? value : Object.values(value);
  const editor = h("div");
  return [
    pageHeader("SMS gateways"),
    table([
      { key: "name", label: "Name" },
      { key: "providermodule", label: "Module" },
      { key: "url", label: "URL", render: (g) => g.options?.URL || "" },
      { key: "description", label: "Description" },
      { key: "actions", label: "Actions", render: (g) => h("span", { class: "button-row" },
        button(`Edit ${g.name}`, () => replace(editor, section(`Edit ${g.name}`, gatewayForm(ctx, g))), "small"),
        button(`Delete ${g.name}`, async () => {
          if (!confirmAction(`Delete SMS gateway ${g.name}?`)) return;
          try { await del(`/smsgateway/${seg(g.name)}`); ctx.rerender(); } catch (err) { toast(err.message); }
        }, "small danger")) },
    ], gateways, { empty: "No SMS gateways yet." }),
    editor,
    section("Add an SMS gateway", gatewayForm(ctx, null)),
  ];
}
