// Self-service for realm users: their tokens; enrol HOTP/TOTP; set a PIN; disable,
// enable or delete their own tokens. The API acts on the caller's own tokens only.

import { del, get, post, seg } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { enrolmentResult } from "../enrolled.js";
import { button, confirmAction, pageHeader, section, table } from "../ui.js";
import { currentSession } from "../session.js";
import { callInit } from "./token-enrol.js";
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

function enrolForm() {
  const out = h("div", { id: "enrol-result" });
  const form = apiForm({
    label: "Enrol a new token", submitLabel: "Enrol",
    fields: [
      field({ label: "Kind", param: "type", kind: "select", choices: [["totp", "Time-based (TOTP)"], ["hotp", "Counter-based (HOTP)"]] }),
      field({ label: "Description", param: "description", placeholder: "e.g. phone app" }),
      field({ label: "PIN", param: "pin", kind: "password", autocomplete: "new-password", help: "Optional; typed before the code when you log in." }),
    ],
    action: async (v) => {
      const detail = await callInit({ ...v, genkey: 1 });
      replace(out, enrolmentResult(detail, v.type), button("Done — show my tokens", () => window.dispatchEvent(new HashChangeEvent("hashchange"))));
      out.scrollIntoView({ block: "start" });
    },
  });
  return [form, out];
}

export async function render(ctx) {
  const session = currentSession();
  const result = await get("/token/", { pagesize: 100 });
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
    section("Enrol a new token", enrolForm()),
  ];
}
