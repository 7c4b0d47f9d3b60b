// Realms: their user stores and priorities, the default realm; create, edit, delete.

import { del, get, post, seg } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { badge, button, confirmAction, link, pageHeader, section, table } from "../ui.js";

function realmForm(ctx, resolvers, realm) {
  const chosen = realm ? realm.resolver.map((r) => r.name).join(",") : "";
  const priorities = resolvers.map((name) => {
    const current = realm?.resolver.find((r) => r.name === name)?.priority;
    return field({ label: `Priority of ${name}`, param: `priority.${name}`, kind: "number", value: current ?? "",
      help: "Optional; lower is asked first." });
  });
  return apiForm({
    label: "Realm", submitLabel: realm ? "Save realm" : "Create realm",
    fields: [
      field({ label: "Realm name", param: "realm", required: true, value: realm?.name || "", attrs: realm ? { readonly: true } : {} }),
      field({ label: "User stores", param: "resolvers", kind: "multi", choices: resolvers, value: chosen, required: true }),
      priorities,
    ],
    action: async (values) => {
      const { realm: name, ...rest } = values;
      const result = await post(`/realm/${seg(name)}`, rest);
      toast(result.failed?.length ? `Saved; failed: ${result.failed.join(", ")}` : `Realm ${name} saved`);
      ctx.rerender();
    },
  });
}

export async function render(ctx) {
  const [realms, resolverMap] = await Promise.all([get("/realm/"), get("/resolver/")]);
  const resolvers = Object.keys(resolverMap);
  const rows = Object.entries(realms).map(([name, r]) => ({ name, ...r }));
  const editor = h("div", { id: "realm-editor" });
  const edit = (realm) => { replace(editor, section(`Edit realm ${realm.name}`, realmForm(ctx, resolvers, realm))); editor.querySelector("select, input:not([readonly])")?.focus(); };
  const run = async (label, work) => { try { await work(); toast(label); ctx.rerender(); } catch (err) { toast(err.message); } };
  return [
    pageHeader("Realms"),
    table([
      { key: "name", label: "Realm", render: (r) => [r.name, r.default ? [" ", badge("default", "ok")] : null] },
      { key: "resolver", label: "User stores", render: (r) => r.resolver.map((x) => `${x.name}${x.priority != null ? ` (${x.priority})` : ""}`).join(", ") },
      { key: "actions", label: "Actions", render: (r) => h("span", { class: "button-row" },
        button(`Edit ${r.name}`, () => edit(r), "small"),
        r.default ? null : button("Make default", () => run("Default realm set", () => post(`/defaultrealm/${seg(r.name)}`)), "small"),
        link("Users", `#/users?realm=${encodeURIComponent(r.name)}`, "button small"),
        button(`Delete ${r.name}`, () => confirmAction(`Delete realm ${r.name}?`) && run("Deleted", () => del(`/realm/${seg(r.name)}`)), "small danger")) },
    ], rows, { empty: "No realms yet." }),
    editor,
    resolvers.length
      ? section("Create a realm", realmForm(ctx, resolvers, null))
      : h("p", { class: "notice" }, "Create a ", link("user store", "#/resolvers"), " first; a realm groups user stores."),
  ];
}
