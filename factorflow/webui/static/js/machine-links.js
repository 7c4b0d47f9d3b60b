// Token–machine–application links (privacyIDEA's /machine/token): a table with detach,
// and an "Attach application" form. Used by the application links page and a token's
// detail page. The applications and their options come from GET /machine/applications
// through the same option-field generator as every served description; service_id is
// offered as a choice of the stored service ids instead.

import { del, get, post, seg } from "./api.js";
import { h, replace, toast } from "./dom.js";
import { apiForm, field } from "./forms.js";
import { renderOptions } from "./options.js";
import { button, confirmAction, link, section, table } from "./ui.js";

function where(l) {
  if (l.options?.service_id) return `service id ${l.options.service_id}`;
  if (l.machine_id) return `${l.hostname || l.machine_id} (${l.machine_id} in ${l.resolver})`;
  return "any machine";
}

const optionText = (l) => Object.entries(l.options || {})
  .filter(([k]) => k !== "service_id").map(([k, v]) => `${k}=${v}`).join(" · ") || "—";

/** A form for the options of one link (POST /machine/tokenoption; an emptied option is
 * deleted), its fields from the application's served descriptors. */
function optionsForm(ctx, l, applications) {
  const box = h("div", { class: "type-fields" });
  renderOptions(box, withoutServiceId(applications?.[l.application]?.options), withoutServiceId(l.options),
    { prefix: "", empty: "This application has no options." });
  return apiForm({
    label: `Options of ${l.serial} ${l.application}`, submitLabel: "Save options", fields: [box],
    action: async (values) => {
      await post("/machine/tokenoption", { ...values, serial: l.serial, application: l.application, mtid: l.id });
      toast(`Options of ${l.serial} saved`);
      ctx.rerender();
    },
  });
}

/** The links as a table; each row has an Options and a Detach button (Options with
 * `applications`, the served descriptions). */
export function linksTable(ctx, links, { empty = "No token is attached to an application.", applications } = {}) {
  const editBox = h("div", { class: "config-editor" });
  const edit = (l) => (applications ? button(`Options ${l.serial} ${l.application}`, () => replace(editBox,
    section(`Options of ${l.serial} ${l.application}`, optionsForm(ctx, l, applications))), "small") : null);
  const detach = (l) => button(`Detach ${l.serial} ${l.application}`, async () => {
    if (!confirmAction(`Detach ${l.serial} from ${l.application} on ${where(l)}?`)) return;
    try {
      await del(`/machine/token/${seg(l.serial)}/${seg(l.application)}/${l.id}`);
      toast(`${l.serial} detached from ${l.application}`);
      ctx.rerender();
    } catch (err) {
      toast(err.message);
    }
  }, "small danger");
  return [table([
    { key: "serial", label: "Serial", render: (l) => link(l.serial, `#/tokens/${encodeURIComponent(l.serial)}`) },
    { key: "type", label: "Token type" },
    { key: "application", label: "Application" },
    { key: "where", label: "Machine or service id", render: where },
    { key: "options", label: "Options", render: optionText },
    { key: "actions", label: "Actions", render: (l) => h("span", { class: "button-row" }, edit(l), detach(l)) },
  ], links, { empty }), editBox];
}

/** The data the attach form offers: the applications (GET /machine/applications),
 * service ids and machine resolvers (either of the last two may be refused to a
 * limited admin; the form then leaves the choice empty). */
export async function attachChoices() {
  const [applications, serviceIds, resolvers] = await Promise.all([
    get("/machine/applications"),
    get("/serviceid/").catch(() => ({})),
    get("/machineresolver/").catch(() => ({})),
  ]);
  return { applications, serviceIds: Object.keys(serviceIds || {}), resolvers: Object.keys(resolvers || {}) };
}

const withoutServiceId = ({ service_id: _s, ...rest } = {}) => rest;

/** The "Attach application" form; with `serial` it attaches that token only. */
export function attachForm(ctx, { applications, serviceIds, resolvers }, { serial = "" } = {}) {
  const names = Object.keys(applications);
  const first = names.includes("ssh") ? "ssh" : names[0];
  const serialField = serial ? null : field({ label: "Serial", param: "serial", required: true });
  const appField = field({ label: "Application", param: "application", kind: "select", choices: names,
    value: first, help: applications[first]?.description || " " });
  const serviceField = field({ label: "Service id", param: "service_id", kind: "select", choices: ["", ...serviceIds],
    help: "The service whose SSH servers fetch the key." });
  const hostField = field({ label: "Hostname", param: "hostname", help: "A machine by name; or give its id and resolver." });
  const idField = field({ label: "Machine id", param: "machineid" });
  const resolverField = field({ label: "Machine resolver", param: "resolver", kind: "select", choices: ["", ...resolvers] });
  const optionsBox = h("div", { class: "type-fields" });
  const fill = (app) => {
    const options = applications[app]?.options || {};
    renderOptions(optionsBox, withoutServiceId(options), {}, { prefix: "", empty: "" });
    serviceField.hidden = !("service_id" in options);
    const help = appField.querySelector(".help");
    if (help) help.textContent = applications[app]?.description || "";
  };
  appField.control.addEventListener("change", () => fill(appField.control.value));
  fill(first);
  return apiForm({
    label: "Attach application", submitLabel: "Attach",
    fields: [serialField, appField, serviceField, hostField, idField, resolverField, optionsBox],
    action: async (values) => {
      const params = Object.fromEntries(Object.entries({ ...values, serial: serial || values.serial })
        .filter(([, v]) => v !== "" && v !== undefined));
      await post("/machine/token", params);
      toast(`${params.serial} attached for ${params.application}`);
      ctx.rerender();
    },
  });
}
