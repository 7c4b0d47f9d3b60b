// One token: its facts and tokeninfo, every management action, its audit trail.

import { call, del, get, post, seg } from "../api.js";
import { formatDate, h, toast } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { attachChoices, attachForm, linksTable } from "../machine-links.js";
import { navigate } from "../router.js";
import { button, confirmAction, errorBox, facts, guarded, link, pageHeader, section, table } from "../ui.js";
import { stateBadge } from "./tokens.js";

export async function loadToken(serial) {
  const result = await get("/token/", { serial });
  const token = result.tokens.find((t) => t.serial === serial);
  if (!token) throw Object.assign(new Error(`There is no token ${serial}.`), {});
  return token;
}

function runner(ctx, serial) {
  return async (label, work) => {
    oneTimeSecret = null;
    try {
      await work();
      toast(`${label}: done`);
      ctx.rerender();
    } catch (err) {
      toast(`${label}: ${err.message}`);
    }
  };
}

// A secret the server returns once (a lost token's password, a random PIN): kept for
// the renders of this token's page that follow the action (more than one may be under
// way, and only the last one started is shown), until the next action or for at most
// SECRET_SHOWN_MS; then forgotten.
let oneTimeSecret = null;
const SECRET_SHOWN_MS = 30000;

function showOnce(serial, title, lines) {
  oneTimeSecret = { serial, title, lines, until: Date.now() + SECRET_SHOWN_MS };
}

function secretNotice(serial) {
  if (oneTimeSecret && (oneTimeSecret.serial !== serial || Date.now() > oneTimeSecret.until)) {
    oneTimeSecret = null;
  }
  const secret = oneTimeSecret;
  if (!secret) return null;
  return h("div", { class: "notice", role: "status", "data-testid": "one-time-secret" },
    h("strong", {}, secret.title), " (shown once; hand it to the user now)",
    h("dl", {}, ...secret.lines.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, h("code", {}, v))])));
}

function actionBar(ctx, token) {
  const run = runner(ctx, token.serial);
  const s = seg(token.serial);
  return h("div", { class: "button-row", role: "group", "aria-label": "Token actions" },
    token.revoked ? null : token.active
      ? guarded("disable", button("Disable", () => run("Disable", () => post(`/token/disable/${s}`))))
      : guarded("enable", button("Enable", () => run("Enable", () => post(`/token/enable/${s}`)))),
    guarded("reset", button("Reset fail counter", () => run("Reset", () => post(`/token/reset/${s}`)))),
    token.username && !token.revoked ? guarded("losttoken", button("Lost token", () => confirmAction(
      `${token.serial} is lost? It will be disabled and ${token.username} gets a temporary password token.`)
      && run("Lost token", async () => {
        const v = await post(`/token/lost/${s}`);
        showOnce(token.serial, `Temporary token ${v.serial}`, [
          ["Password (after the user's PIN)", v.password], ["Valid until", v.end_date]]);
      }))) : null,
    token.revoked ? null : guarded("setrandompin", button("Random PIN", () => confirmAction(`Set a random PIN on ${token.serial}?`)
      && run("Random PIN", async () => {
        const reply = await call("POST", `/token/setrandompin/${s}`, {});
        showOnce(token.serial, "New PIN", [["PIN", reply.detail.pin]]);
      }))),
    token.revoked ? null : guarded("revoke", button("Revoke", () => confirmAction(
      `Revoke ${token.serial}? A revoked token can never be enabled again.`)
      && run("Revoke", () => post(`/token/revoke/${s}`)), "danger")),
    token.username ? guarded("unassign", button("Unassign", () => confirmAction(`Unassign ${token.serial} from ${token.username}?`)
      && run("Unassign", () => post("/token/unassign", { serial: token.serial })))) : null,
    guarded("delete", button("Delete", async () => {
      if (!confirmAction(`Delete token ${token.serial}? This cannot be undone.`)) return;
      try {
        await del(`/token/${s}`);
        toast(`Token ${token.serial} deleted`);
        navigate("/tokens");
      } catch (err) {
        toast(err.message);
      }
    }, "danger")));
}

function forms(ctx, token, groups) {
  const done = (label) => () => { toast(`${label}: done`); ctx.rerender(); };
  const serial = token.serial;
  return h("div", { class: "grid" },
    section("Set PIN", apiForm({ label: "Set PIN", submitLabel: "Set PIN",
      fields: [field({ label: "New PIN", param: "otppin", kind: "password", autocomplete: "new-password" })],
      action: async (v) => { await post("/token/setpin", { serial, ...v }); done("Set PIN")(); } })),
    section("Resynchronise", apiForm({ label: "Resynchronise", submitLabel: "Resync",
      fields: [field({ label: "First OTP", param: "otp1", required: true, attrs: { inputmode: "numeric" } }),
        field({ label: "Next OTP", param: "otp2", required: true, attrs: { inputmode: "numeric" } })],
      action: async (v) => {
        const ok = await post("/token/resync", { serial, ...v });
        toast(ok ? "Resynchronised" : "The OTP values did not match");
      } })),
    section("Assign to a user", apiForm({ label: "Assign", submitLabel: "Assign",
      fields: [field({ label: "User", param: "user", required: true, value: token.username }),
        field({ label: "Realm", param: "realm", value: token.user_realm })],
      action: async (v) => { await post("/token/assign", { serial, ...v }); done("Assign")(); } })),
    section("Description", apiForm({ label: "Description", submitLabel: "Save description",
      fields: [field({ label: "Description", param: "description", value: token.description })],
      action: async (v) => { await post(`/token/description/${seg(serial)}`, v); done("Description")(); } })),
    section("Token groups", groupEditor(ctx, token, groups)),
    section("Set tokeninfo", apiForm({ label: "Set tokeninfo", submitLabel: "Set",
      fields: [field({ label: "Key", param: "key", required: true }), field({ label: "Value", param: "value" })],
      action: async (v) => { await post(`/token/info/${seg(serial)}/${seg(v.key)}`, { value: v.value }); done("Tokeninfo")(); } })));
}

function groupEditor(ctx, token, groups) {
  const run = runner(ctx, token.serial);
  const names = Object.keys(groups || {}).filter((g) => !token.tokengroup.includes(g));
  const chooser = field({ label: "Add to group", param: "groupname", kind: "select", choices: names });
  return [
    token.tokengroup.length ? h("ul", { class: "chips" }, token.tokengroup.map((g) => h("li", {}, g, " ",
      button(`Remove ${g}`, () => run("Remove group", () => del(`/token/group/${seg(token.serial)}/${seg(g)}`)), "small")))) :
      h("p", { class: "muted" }, "In no group."),
    names.length ? h("div", { class: "inline" }, chooser,
      button("Add", () => run("Add group", () => post(`/token/group/${seg(token.serial)}/${seg(chooser.control.value)}`)))) :
      h("p", { class: "help" }, link("Create token groups", "#/tokengroups")),
  ];
}

async function tokenLinks(ctx, serial) {
  try {
    const [links, choices] = await Promise.all([get("/machine/token", { serial }), attachChoices()]);
    return [...linksTable(ctx, links, { empty: "Attached to no application.", applications: choices.applications }), attachForm(ctx, choices, { serial })];
  } catch (err) {
    return errorBox(err);
  }
}

async function tokenAudit(serial) {
  try {
    const v = await get("/audit/", { serial, page_size: 15 });
    return table([
      { key: "date", label: "When", render: (r) => formatDate(r.date) },
      { key: "action", label: "Action" },
      { key: "success", label: "OK", render: (r) => (r.success ? "yes" : "no") },
      { key: "administrator", label: "Admin" },
      { key: "info", label: "Info" },
    ], v.auditdata, { empty: "No audit entries." });
  } catch (err) {
    return errorBox(err);
  }
}

export async function render(ctx) {
  const serial = ctx.params.serial;
  const token = await loadToken(serial);
  const [groups, audit, links] = await Promise.all([get("/tokengroup/").catch(() => ({})), tokenAudit(serial),
    tokenLinks(ctx, serial)]);
  const info = Object.entries(token.info || {}).map(([key, value]) => ({ key, value }));
  return [
    pageHeader(`Token ${serial}`, link("All tokens", "#/tokens")),
    secretNotice(serial),
    actionBar(ctx, token),
    h("div", { class: "grid" },
      section("Token", facts([
        ["Type", token.tokentype], ["State", stateBadge(token)], ["Description", token.description],
        ["Owner", token.username ? link(`${token.username}@${token.user_realm}`, `#/tokens?user=${encodeURIComponent(token.username)}&realm=${encodeURIComponent(token.user_realm)}`) : "—"],
        ["Token realms", token.realms.join(", ") || "—"], ["Fail counter", `${token.failcount} of ${token.maxfail}`],
        ["OTP counter", String(token.count)], ["OTP length", String(token.otplen)],
        ["Rollout state", token.rollout_state], ["Groups", token.tokengroup.join(", ") || "—"],
      ])),
      section("Tokeninfo", table([{ key: "key", label: "Key" }, { key: "value", label: "Value" }], info,
        { empty: "No tokeninfo." }))),
    forms(ctx, token, groups),
    section("Applications and machines", links),
    section("Audit of this token", audit),
  ];
}
