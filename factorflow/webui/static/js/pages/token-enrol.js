// Enrol a token (admin): the type, the common parameters (description, owner, PIN) and
// the type's own enrolment parameters, generated from GET /token/types/ (the types this
// admin may enrol, each with its parameters' descriptors; enrol-form.js); shows the QR
// code, TANs or registration code afterwards.

import { get } from "../api.js";
import { enrolForm } from "../enrol-form.js";
import { field } from "../forms.js";
import { setting } from "../session.js";
import { link, pageHeader } from "../ui.js";

export async function render(ctx) {
  const types = await get("/token/types/");
  const common = [
    field({ label: "Description", param: "description" }),
    field({ label: "User", param: "user", value: ctx.query.user || "", help: "Leave empty for an unassigned token." }),
    field({ label: "Realm", param: "realm", value: ctx.query.realm || "" }),
    field({ label: "PIN", param: "pin", kind: "password", autocomplete: "new-password" }),
  ];
  return [pageHeader("Enrol a token", link("Back to tokens", "#/tokens")),
    enrolForm({ types, wanted: ctx.query.type || setting("default_tokentype", "hotp"), common,
      next: (detail) => link("Open the token", `#/tokens/${encodeURIComponent(detail.serial)}`, "button") })];
}
