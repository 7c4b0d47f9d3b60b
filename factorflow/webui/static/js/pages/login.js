// Login for administrators (local accounts) and realm users (their realm password).

import { value } from "../api.js";
import { h } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { navigate } from "../router.js";
import { saveSession } from "../session.js";

export async function render(ctx) {
  const form = apiForm({
    label: "Log in",
    submitLabel: "Log in",
    fields: [
      field({ label: "User name", param: "username", required: true, autocomplete: "username",
        help: "Administrators: your admin account. Users: your login, optionally login@realm." }),
      field({ label: "Password", param: "password", kind: "password", required: true,
        autocomplete: "current-password" }),
      field({ label: "Realm", param: "realm", help: "Leave empty for administrators and the default realm." }),
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
