// Token–machine–application links (privacyIDEA's /machine/token): a table with detach,
// and an "Attach application" form. Used by the machine tokens page and a token's
// detail page. The applications' options are privacyIDEA's option names (see
// factorflow/machines/applications.py; the API serves no descriptions of them), shown
// through the same option-field generator as every served description.

import { del, get, post, seg } from "./api.js";
import { h, toast } from "./dom.js";
import { apiForm, field } from "./forms.js";
import { renderOptions } from "./options.js";
import { button, confirmAction, link, table } from "./ui.js";

const APPLICATION_OPTIONS = {
  ssh: {
    user: { type: "str", description: "The account on the SSH server the key logs in to (root without one)." },
  },
  offline: {
    count: { type: "int", default: 100, description: "How many future OTP values the machine keeps." },
    rounds: { type: "int", default: 6549, description: "PBKDF2-SHA512 rounds of each hashed value." },
  },
  luks: {
    slot: { type: "int", default: 7, description: "The LUKS key slot." },
    partition: { type: "str", description: "The partition to unlock, e.g. /dev/sda2." },
  },
  base: {},
};

export const APPLICATIONS = Object.keys(APPLICATION_OPTIONS);

function where(l) {
  if (l.options?.service_id) return `service id ${l.options.service_id}`;
  if (l.machine_id) return `${l.hostname || l.machine_id} (${l.machine_id} in ${l.resolver})`;
  return "any machine";
}

const optionText = (l) => Object.entries(l.options || {})
  .filter(([k]) => k !== "service_id").map(([k, v]) => `${k}=${v}`).join(" · ") || "—";

/** The links as a table; each row has a Detach button. */
export function linksTable(ctx, links, { empty = "No token is attached to an application." } = {}) {
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
  return table([
    { key: "serial", label: "Serial", render: (l) => link(l.serial, `#/tokens/${encodeURIComponent(l.serial)}`) },
    { key: "type", label: "Token type" },
    { key: "application", label: "Application" },
    { key: "where", label: "Machine or service id", render: where },
    { key: "options", label: "Options", render: optionText },
    { key: "actions", label: "Actions", render: detach },
  ], links, { empty });
}

/** The data the attach form offers: service ids and machine resolvers (either may be
 * refused to a limited admin; the form then leaves the choice empty). */
export async function attachChoices() {
  const [serviceIds, resolvers] = await Promise.all([
    get("/serviceid/").catch(() => ({})),
    get("/machineresolver/").catch(() => ({})),
  ]);
  return { serviceIds: Object.keys(serviceIds || {}), resolvers: Object.keys(resolvers || {}) };
}

/** The "Attach application" form; with `serial` it attaches that token only. */
export function attachForm(ctx, { serviceIds, resolvers }, { serial = "" } = {}) {
  const serialField = serial ? null : field({ label: "Serial", param: "serial", required: true });
  const appField = field({ label: "Application", param: "application", kind: "select", choices: APPLICATIONS,
    value: "ssh", help: "ssh: an SSH key for a service id or machine · offline: HOTP values for a machine · luks: disk unlock" });
  const serviceField = field({ label: "Service id", param: "service_id", kind: "select", choices: ["", ...serviceIds],
    help: "ssh only: the service whose SSH servers fetch the key." });
  const hostField = field({ label: "Hostname", param: "hostname", help: "A machine by name; or give its id and resolver." });
  const idField = field({ label: "Machine id", param: "machineid" });
  const resolverField = field({ label: "Machine resolver", param: "resolver", kind: "select", choices: ["", ...resolvers] });
  const optionsBox = h("div", { class: "type-fields" });
  const fill = (app) => {
    renderOptions(optionsBox, APPLICATION_OPTIONS[app] || {}, {}, { prefix: "", empty: "" });
    serviceField.hidden = app !== "ssh";
  };
  appField.control.addEventListener("change", () => fill(appField.control.value));
  fill("ssh");
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
