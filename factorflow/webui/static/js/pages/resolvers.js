// User stores (resolvers): create, edit, test the connection, delete.

import { call, del, get, post, seg } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { apiForm, clearErrors, field, formValues, showError } from "../forms.js";
import { button, confirmAction, pageHeader, section, table } from "../ui.js";

/** The options each store type takes, as privacyIDEA names them. */
const TYPES = {
  passwdresolver: [
    { param: "fileName", label: "File name", required: true, help: "A passwd-format file readable by the server, e.g. /etc/factorflow/users" },
  ],
  sqlresolver: [
    { param: "URL", label: "Database URL", help: "An SQLAlchemy URL without the password, e.g. postgresql+psycopg://user@db/users" },
    { param: "Password", label: "Database password", kind: "password" },
    { param: "Table", label: "Table", required: true },
    { param: "Map", label: "Column map (JSON)", kind: "textarea", help: '{"userid": "id", "username": "login", "email": "mail"}' },
    { param: "Where", label: "Where", help: "e.g. active == 1" },
    { param: "Editable", label: "Users can be edited", kind: "checkbox" },
  ],
  ldapresolver: [
    { param: "LDAPURI", label: "Server URI", required: true, help: "ldap://host or ldaps://host" },
    { param: "LDAPBASE", label: "Search base", required: true },
    { param: "BINDDN", label: "Bind DN" },
    { param: "BINDPW", label: "Bind password", kind: "password" },
    { param: "LOGINNAMEATTRIBUTE", label: "Login name attribute", value: "uid" },
    { param: "LDAPSEARCHFILTER", label: "Search filter", value: "(objectClass=person)" },
    { param: "USERINFO", label: "Attribute map (JSON)", kind: "textarea" },
    { param: "UIDTYPE", label: "UID type", value: "entryUUID" },
    { param: "START_TLS", label: "Use STARTTLS", kind: "checkbox" },
  ],
};

function storeForm(ctx, existing) {
  const type = existing?.type || "passwdresolver";
  const holder = h("div", { class: "type-fields" });
  const typeField = field({ label: "Type", param: "type", kind: "select", choices: Object.keys(TYPES), value: type, attrs: existing ? { disabled: true } : {} });
  const fill = (t) => replace(holder, TYPES[t].map((f) => field({ ...f, value: existing?.data?.[f.param] ?? f.value ?? "" })));
  typeField.control.addEventListener("change", () => fill(typeField.control.value));
  fill(type);
  const status = h("p", { class: "test-result", role: "status" });
  const values = (form) => {
    const v = formValues(form);
    v.type = typeField.control.value;
    for (const [k, x] of Object.entries(v)) if (x === true) v[k] = "True"; else if (x === false) v[k] = "False";
    return v;
  };
  const form = apiForm({
    label: "User store", submitLabel: existing ? "Save user store" : "Create user store",
    fields: [field({ label: "Name", param: "resolver", required: true, value: existing?.resolvername || "", attrs: existing ? { readonly: true } : {} }), typeField, holder],
    extra: [status],
    action: async (_v, f) => {
      const { resolver, ...rest } = values(f);
      await post(`/resolver/${seg(resolver)}`, rest);
      toast(`User store ${resolver} saved`);
      ctx.rerender();
    },
  });
  form.querySelector(".actions").append(button("Test connection", async () => {
    clearErrors(form);
    status.textContent = "Testing…";
    try {
      const body = await call("POST", "/resolver/test", values(form));
      status.textContent = `${body.result.value ? "✔" : "✘"} ${body.detail?.description || ""}`;
      status.className = body.result.value ? "test-result ok" : "test-result bad";
    } catch (err) {
      status.textContent = "";
      showError(form, err);
    }
  }));
  return form;
}

export async function render(ctx) {
  const stores = Object.values(await get("/resolver/"));
  const editor = h("div", { id: "store-editor" });
  return [
    pageHeader("User stores"),
    table([
      { key: "resolvername", label: "Name" },
      { key: "type", label: "Type" },
      { key: "data", label: "Settings", render: (r) => Object.entries(r.data || {}).map(([k, v]) => `${k}=${v}`).join(" · ") },
      { key: "actions", label: "Actions", render: (r) => h("span", { class: "button-row" },
        button(`Edit ${r.resolvername}`, () => replace(editor, section(`Edit ${r.resolvername}`, storeForm(ctx, r))), "small"),
        button(`Delete ${r.resolvername}`, async () => {
          if (!confirmAction(`Delete user store ${r.resolvername}?`)) return;
          try { await del(`/resolver/${seg(r.resolvername)}`); toast("Deleted"); ctx.rerender(); } catch (err) { toast(err.message); }
        }, "small danger")) },
    ], stores, { empty: "No user stores yet." }),
    editor,
    section("Create a user store", storeForm(ctx, null)),
  ];
}
