// Policies: list, enable/disable, delete, and an editor whose action fields are
// generated from GET /policy/defs/<scope> (the same catalog that validates them).

import { del, get, post, seg } from "../api.js";
import { h, replace, toast, yesNo } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { badge, button, confirmAction, pageHeader, section, table } from "../ui.js";

const SCOPES = ["admin", "user", "authentication", "authorization", "enrollment"];
const CONDITION_FIELDS = [
  ["realm", "Realms", "Comma-separated; empty: every realm."],
  ["resolver", "User stores", "Comma-separated; empty: every user store."],
  ["user", "Users", "Comma-separated, * wildcards, !name excludes."],
  ["adminrealm", "Admin realms", "Admin scope: the administrators' realms."],
  ["adminuser", "Admins", "Admin scope: administrator names, * wildcards, !name excludes."],
  ["client", "Client networks", "Comma-separated CIDRs, !network excludes."],
  ["time", "Time", "e.g. Mon-Fri: 08:00-18:00, Sat: 09:00-12:00"],
];

/** One generated field per action definition; param "action.<name>". */
function actionField(name, def, current) {
  const base = { label: name, param: `action.${name}`, help: def.desc || "" };
  if (def.type === "bool") return field({ ...base, kind: "checkbox", value: current === true });
  if (def.type === "int") {
    if (def.value) return field({ ...base, kind: "select", choices: ["", ...def.value], value: current ?? "" });
    return field({ ...base, kind: "number", value: current ?? "", attrs: { min: def.min, max: def.max } });
  }
  if (def.value && def.multi) return field({ ...base, kind: "multi", choices: def.value, value: String(current ?? "").split(" ").join(",") });
  if (def.value) return field({ ...base, kind: "select", choices: ["", ...def.value], value: current ?? "" });
  return field({ ...base, value: current ?? "" });
}

/** The form's values as POST /policy/<name> parameters (actions as a JSON object). */
function policyParams(values, defs) {
  const action = {};
  const out = {};
  for (const [key, v] of Object.entries(values)) {
    if (!key.startsWith("action.")) { out[key] = v === true ? "True" : v === false ? "False" : v; continue; }
    const name = key.slice("action.".length);
    if (v === false || v === "" || v === undefined) continue;
    action[name] = defs[name]?.multi ? String(v).split(",").join(" ") : v;
  }
  out.action = JSON.stringify(action);
  return out;
}

async function policyForm(ctx, policy, scope) {
  const defs = await get(`/policy/defs/${seg(scope)}`);
  const actions = policy?.action || {};
  const holder = h("div");
  const scopeField = field({ label: "Scope", param: "scope", kind: "select", choices: SCOPES, value: scope });
  scopeField.control.addEventListener("change", async () => {
    replace(holder, await policyForm(ctx, policy, scopeField.control.value));
  });
  const form = apiForm({
    label: "Policy", submitLabel: "Save policy",
    fields: [
      field({ label: "Name", param: "name", required: true, value: policy?.name || "", attrs: policy ? { readonly: true } : {} }),
      scopeField,
      field({ label: "Priority", param: "priority", kind: "number", value: policy?.priority ?? 1, help: "Lower wins." }),
      field({ label: "Active", param: "active", kind: "checkbox", value: policy ? policy.active : true }),
      ...CONDITION_FIELDS.map(([param, label, help]) => field({
        label, param, help,
        value: Array.isArray(policy?.[param]) ? policy[param].join(", ") : policy?.[param] || "",
      })),
      field({ label: "Description", param: "description", value: policy?.description || "" }),
      h("fieldset", { class: "actions-fieldset" }, h("legend", {}, `Actions (${scope})`),
        Object.entries(defs).map(([name, def]) => actionField(name, def, actions[name]))),
    ],
    action: async (v) => {
      const { name, ...rest } = policyParams(v, defs);
      await post(`/policy/${seg(name)}`, rest);
      toast(`Policy ${name} saved`);
      ctx.rerender();
    },
  });
  replace(holder, form);
  return holder;
}

function summary(p) {
  return Object.entries(p.action).map(([k, v]) => (v === true ? k : `${k}=${v}`)).join(", ");
}

export async function render(ctx) {
  const policies = await get("/policy/");
  const editor = h("div");
  const toggle = async (p) => {
    try {
      await post(`/policy/${p.active ? "disable" : "enable"}/${seg(p.name)}`);
      ctx.rerender();
    } catch (err) { toast(err.message); }
  };
  return [
    pageHeader("Policies"),
    table([
      { key: "name", label: "Name" },
      { key: "scope", label: "Scope" },
      { key: "priority", label: "Priority" },
      { key: "active", label: "Active", render: (p) => (p.active ? badge("active", "ok") : yesNo(false)) },
      { key: "action", label: "Actions", render: summary },
      { key: "realm", label: "Realms", render: (p) => p.realm.join(", ") || "all" },
      { key: "ops", label: "Operations", render: (p) => h("span", { class: "button-row" },
        button(`Edit ${p.name}`, async () => replace(editor, section(`Edit ${p.name}`, await policyForm(ctx, p, p.scope))), "small"),
        button(`${p.active ? "Disable" : "Enable"} ${p.name}`, () => toggle(p), "small"),
        button(`Delete ${p.name}`, async () => {
          if (!confirmAction(`Delete policy ${p.name}?`)) return;
          try { await del(`/policy/${seg(p.name)}`); ctx.rerender(); } catch (err) { toast(err.message); }
        }, "small danger")) },
    ], policies, { empty: "No policies yet: every administrator may do everything." }),
    editor,
    section("Add a policy", await policyForm(ctx, null, "authentication")),
  ];
}
