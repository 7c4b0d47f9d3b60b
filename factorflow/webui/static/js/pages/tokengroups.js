// Token groups: list, create, delete.

import { del, get, post, seg } from "../api.js";
import { h, toast } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { button, confirmAction, pageHeader, section, table } from "../ui.js";

export async function render(ctx) {
  const groups = await get("/tokengroup/");
  const rows = Object.entries(groups).map(([name, g]) => ({ name, ...g }));
  return [
    pageHeader("Token groups"),
    table([
      { key: "name", label: "Name" },
      { key: "description", label: "Description" },
      { key: "actions", label: "Actions", render: (g) => button(`Delete ${g.name}`, async () => {
        if (!confirmAction(`Delete token group ${g.name}?`)) return;
        try { await del(`/tokengroup/${seg(g.name)}`); toast("Deleted"); ctx.rerender(); } catch (err) { toast(err.message); }
      }, "small danger") },
    ], rows, { empty: "No token groups yet." }),
    section("Create or update a group", apiForm({
      label: "Token group", submitLabel: "Save group",
      fields: [field({ label: "Name", param: "groupname", required: true }), field({ label: "Description", param: "description" })],
      action: async (v) => { await post(`/tokengroup/${seg(v.groupname)}`, { description: v.description }); toast("Saved"); ctx.rerender(); },
    })),
    h("p", { class: "help" }, "Add tokens to groups on the token's page."),
  ];
}
