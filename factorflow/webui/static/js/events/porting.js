// Export and import definitions as YAML (GET /event/export, POST /event/import).

import { call, text } from "../api.js";
import { h, toast } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { errorBox, link, pageHeader, section } from "../ui.js";

async function exported() {
  try {
    return await text("/event/export");
  } catch (err) {
    return err;
  }
}

export async function render() {
  const current = await exported();
  const area = field({ label: "Definitions (YAML)", param: "data", kind: "textarea", value: typeof current === "string" ? current : "", attrs: { rows: 16, spellcheck: "false" } });
  const file = h("input", { type: "file", id: "import-file", accept: ".yaml,.yml,.json,text/yaml" });
  file.addEventListener("change", async () => { if (file.files[0]) area.control.value = await file.files[0].text(); });
  const download = () => {
    const url = URL.createObjectURL(new Blob([area.control.value], { type: "application/yaml" }));
    const a = h("a", { href: url, download: "factorflow-events.yaml" });
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  };
  const form = apiForm({
    label: "Import definitions", submitLabel: "Import",
    fields: [h("div", { class: "field" }, h("label", { for: "import-file" }, "Load a file"), file), area],
    action: async (v) => {
      const body = await call("POST", "/event/import", { data: v.data });
      const r = body.result.value;
      toast(`Imported: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged.`);
    },
  });
  return [
    pageHeader("Export and import definitions", link("All definitions", "#/events")),
    current instanceof Error ? errorBox(current) : null,
    section("Export", h("p", {}, "The text below is the current configuration. Importing the same text again changes nothing."),
      h("button", { type: "button", onclick: download }, "Download YAML")),
    section("Import", h("p", { class: "help" }, "Paste or load an export (also privacyIDEA's event export) and import it."), form),
  ];
}
