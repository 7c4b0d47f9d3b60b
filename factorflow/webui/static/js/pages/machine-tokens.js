// Application links: every token–machine–application link (GET /machine/token) with
// detach, and the form that attaches a token for an application.

import { get } from "../api.js";
import { attachChoices, attachForm, linksTable } from "../machine-links.js";
import { pageHeader, link, section } from "../ui.js";

export async function render(ctx) {
  const [links, choices] = await Promise.all([get("/machine/token"), attachChoices()]);
  return [
    pageHeader("Application links", link("Machines and service ids", "#/machines")),
    linksTable(ctx, links, { applications: choices.applications }),
    section("Attach application", attachForm(ctx, choices)),
  ];
}
