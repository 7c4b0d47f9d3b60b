// Machines: machine resolvers (create, edit, test, delete; every option from
// GET /machineresolver/types), the machines they find, and service ids.

import { del, get, post, seg } from "../api.js";
import { resolverPage } from "../resolver-page.js";
import { h, replace, toast } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { button, confirmAction, errorBox, link, section, table } from "../ui.js";

const resolvers = resolverPage({
  path: "/machineresolver/", types: "/machineresolver/types", defaultType: "hosts",
  title: "Machines", noun: "Machine resolver", empty: "No machine resolvers yet.",
  intro: "Machine resolvers find the machines tokens are attached to; SSH keys can be attached to a service id instead.",
  addTitle: "Create a machine resolver", saveLabel: (r) => (r ? "Save machine resolver" : "Create machine resolver"),
  testLabel: "Test resolver",
  testBody: (v, withoutName) => ({ ...withoutName(v), name: v.resolver }),
});

const machineTable = (machines) => table([
  { key: "hostname", label: "Hostname" },
  { key: "ip", label: "IP address" },
  { key: "id", label: "Machine id" },
  { key: "resolver_name", label: "Resolver" },
], machines, { empty: "The machine resolvers find no machines." });

/** The machines of every resolver, or of the one chosen (GET /machine/?resolver=). */
async function machinesSection() {
  const box = h("div", { class: "machines" });
  const show = async (resolver) => {
    try {
      replace(box, machineTable(await get("/machine/", resolver ? { resolver } : {})));
    } catch (err) {
      replace(box, errorBox(err));
    }
  };
  let names = [];
  try {
    names = Object.keys(await get("/machineresolver/"));
  } catch {
    // The list above shows the error.
  }
  const chooser = field({ label: "Machines of", param: "resolver", kind: "select",
    choices: [["", "every resolver"], ...names] });
  chooser.control.addEventListener("change", () => show(chooser.control.value));
  await show("");
  return section("Machines found", chooser, box);
}

async function serviceIdSection(ctx) {
  let rows;
  try {
    rows = Object.entries(await get("/serviceid/")).map(([name, s]) => ({ ...s, name }));
  } catch (err) {
    return section("Service ids", errorBox(err));
  }
  const remove = (s) => button(`Delete ${s.name}`, async () => {
    if (!confirmAction(`Delete service id ${s.name}?`)) return;
    try { await del(`/serviceid/${seg(s.name)}`); toast(`Service id ${s.name} deleted`); ctx.rerender(); } catch (err) { toast(err.message); }
  }, "small danger");
  return section("Service ids",
    h("p", { class: "help" }, "The services whose SSH servers fetch the keys attached to them."),
    table([
      { key: "name", label: "Service id" },
      { key: "description", label: "Description" },
      { key: "actions", label: "Actions", render: remove },
    ], rows, { empty: "No service ids yet." }),
    apiForm({ label: "Add a service id", submitLabel: "Add service id",
      fields: [field({ label: "Service id", param: "name", required: true }),
        field({ label: "Description", param: "description" })],
      action: async (v) => {
        await post(`/serviceid/${seg(v.name)}`, { description: v.description });
        toast(`Service id ${v.name} saved`);
        ctx.rerender();
      } }));
}

export async function render(ctx) {
  const [top, machines, serviceIds] = await Promise.all([resolvers(ctx), machinesSection(), serviceIdSection(ctx)]);
  return [...top, machines, serviceIds,
    h("p", {}, link("Application links: tokens attached to machines and service ids", "#/machinetokens"))];
}
