// Users per realm, each with a link to their tokens and to enrol one for them.

import { get } from "../api.js";
import { h } from "../dom.js";
import { field } from "../forms.js";
import { navigate } from "../router.js";
import { link, pageHeader, table } from "../ui.js";

export async function render(ctx) {
  const realms = Object.keys(await get("/realm/"));
  if (!realms.length) {
    return [pageHeader("Users"), h("p", {}, "There is no realm yet. ", link("Create a realm", "#/realms"), " first.")];
  }
  const realm = ctx.query.realm || realms[0];
  const chooser = field({ label: "Realm", param: "realm", kind: "select", choices: realms, value: realm });
  chooser.control.addEventListener("change", () => navigate("/users", { realm: chooser.control.value }));
  const search = ctx.query.username || "";
  const users = await get("/user/", { realm, username: search ? `*${search}*` : "" });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Find users" }, chooser,
    field({ label: "User name contains", param: "username", value: search }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    navigate("/users", { realm: chooser.control.value, username: form.elements.username.value });
  });
  const q = (u) => `user=${encodeURIComponent(u.username)}&realm=${encodeURIComponent(realm)}`;
  return [
    pageHeader("Users"),
    form,
    table([
      { key: "username", label: "User name" },
      { key: "givenname", label: "Given name" },
      { key: "surname", label: "Surname" },
      { key: "email", label: "Email" },
      { key: "mobile", label: "Mobile" },
      { key: "resolver", label: "User store" },
      { key: "tokens", label: "Tokens", render: (u) => h("span", { class: "button-row" },
        link("Tokens", `#/tokens?${q(u)}`), link("Enrol", `#/tokens/new?${q(u)}`)) },
    ], users, { empty: "No users in this realm." }),
  ];
}
