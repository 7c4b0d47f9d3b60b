// Login for administrators (local accounts) and realm users (their realm password).

import { value } from "../api.js";
import { h } from "../dom.js";
import { apiForm, field, fieldValue } from "../forms.js";
import { navigate } from "../router.js";
import { saveSession } from "../session.js";

/** The realm field: a text field at once, turned into a list when a webui policy's
 * realm_dropdown names realms (the form is usable before the answer arrives). */
function realmField() {
  const text = field({ label: "Realm", param: "realm", help: "Leave empty for administrators and the default realm." });
  value("GET", "/auth/login_settings", {}, { anonymous: true }).then((settings) => {
    const realms = settings.realm_dropdown || [];
    if (!realms.length || !text.isConnected || fieldValue(text)) return;
    text.replaceWith(field({ label: "Realm", param: "realm", kind: "select", choices: [["", "—"], ...realms],
      help: "Administrators: leave it empty." }));
  }).catch(() => {
    // An older server or a refused request: the text field does.
  });
  return text;
}

export async function render(ctx) {
  const realm = realmField();
  const form = apiForm({
    label: "Log in",
    submitLabel: "Log in",
    fields: [
      field({ label: "User name", param: "username", required: true, autocomplete: "username",
        help: "Administrators: your admin account. Users: your login, optionally login@realm." }),
      field({ label: "Password", param: "password", kind: "password", required: true,
        autocomplete: "current-password" }),
      realm,
    ],
    action: async (values) => {
      const result = await value("POST", "/auth", values, { anonymous: true });
      saveSession(result);
      navigate(result.role === "admin" ? "/" : "/me");
    },
  });
  return h("div", { class: "login" },
    h("h1", {}, "Log in to Factorflow"),
    ctx.message ? h("p", { class: "notice notice-info", role: "status", id: "login-message" }, ctx.message) : null,
    form);
}
