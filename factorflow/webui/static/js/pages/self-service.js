// Self-service for realm users: their tokens; enrol a token of a type their policies
// allow (the form generated from GET /token/types/, as the admin's); set a PIN; disable,
// enable or delete their own tokens. The API acts on the caller's own tokens only.

import { del, get, post, seg } from "../api.js";
import { h, toast } from "../dom.js";
import { enrolForm } from "../enrol-form.js";
import { apiForm, field } from "../forms.js";
import { button, confirmAction, pageHeader, section, table } from "../ui.js";
import { currentSession, setting } from "../session.js";
import { stateBadge } from "./tokens.js";

function pinForm(ctx, token) {
  const form = apiForm({
    label: `Set the PIN of ${token.serial}`, submitLabel: "Set PIN",
    fields: [field({ label: `New PIN for ${token.serial}`, param: "otppin", kind: "password", autocomplete: "new-password" })],
    action: async (v) => { await post("/token/setpin", { serial: token.serial, ...v }); toast("PIN set"); ctx.rerender(); },
  });
  return h("details", { class: "inline-details" }, h("summary", {}, "Set PIN"), form);
}

function actions(ctx, token) {
  const run = (label, work) => async () => {
    try { await work(); toast(label); ctx.rerender(); } catch (err) { toast(err.message); }
  };
  const s = seg(token.serial);
  return h("div", { class: "button-row" },
    token.active
      ? button(`Disable ${token.serial}`, run("Token disabled", () => post(`/token/disable/${s}`)), "small")
      : button(`Enable ${token.serial}`, run("Token enabled", () => post(`/token/enable/${s}`)), "small"),
    button(`Delete ${token.serial}`, () => confirmAction(`Delete your token ${token.serial}?`)
      && run("Token deleted", () => del(`/token/${s}`))(), "small danger"),
    pinForm(ctx, token));
}

/** The enrolment form, generated from GET /token/types/: the types this user's policies
 * let him enrol, each with its own parameters (enrol-form.js, as on the admin's page). */
function selfEnrolForm(types, wanted = "totp") {
  return enrolForm({
    types, wanted, label: "Enrol a new token", typeLabel: "Kind", describedChoices: true,
    common: [
      field({ label: "Description", param: "description", placeholder: "e.g. phone app" }),
      field({ label: "PIN", param: "pin", kind: "password", autocomplete: "new-password", help: "Optional; typed before the code when you log in." }),
    ],
    next: () => button("Done — show my tokens", () => window.dispatchEvent(new HashChangeEvent("hashchange"))),
  });
}

export async function render(ctx) {
  const session = currentSession();
  const [result, types] = await Promise.all([get("/token/", { pagesize: 100 }), get("/token/types/")]);
  const wizard = setting("token_wizard", false)
    && (result.count === 0 || setting("token_wizard_2nd", false)) && !ctx.query.all;
  if (wizard) {
    // The webui policy tokenwizard: a first-time user sees one thing to do.
    return [
      pageHeader("Set up your token"),
      h("p", {}, "To log in with a second factor you need a token. Choose one and follow the steps; it takes a minute."),
      selfEnrolForm(types, setting("default_tokentype", "totp")),
      result.count ? h("p", {}, h("a", { href: "#/me?all=1" }, "Show my tokens")) : null,
    ];
  }
  return [
    pageHeader("My tokens"),
    h("p", { class: "muted" }, `Signed in as ${session.username}${session.realm ? ` in realm ${session.realm}` : ""}.`),
    table([
      { key: "serial", label: "Serial" },
      { key: "tokentype", label: "Type" },
      { key: "description", label: "Description" },
      { key: "state", label: "State", render: stateBadge },
      { key: "actions", label: "Actions", render: (t) => actions(ctx, t) },
    ], result.tokens, { empty: "You have no tokens yet. Enrol one below." }),
    section("Enrol a new token", selfEnrolForm(types)),
  ];
}
