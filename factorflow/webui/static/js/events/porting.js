// Export and import definitions as YAML (GET /event/export, POST /event/import); the
// same two sections serve the event streams page (GET /eventstream/export, POST
// /eventstream/import), whose report has the same counts.

import { call, text } from "../api.js";
import { h, toast } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { errorBox, link, pageHeader, section } from "../ui.js";

async function exported(path) {
  try {
    return await text(path);
  } catch (err) {
    return err;
  }
}

/** The Export and Import sections for {what, exportPath, importPath, filename, help, onImport?}. */
export async function transferSections(spec) {
  const current = await exported(spec.exportPath);
  const area = field({ label: `${spec.what} (YAML)`, param: "data", kind: "textarea", value: typeof current === "string" ? current : "", attrs: { rows: 16, spellcheck: "false" } });
  const file = h("input", { type: "file", id: "import-file", accept: ".yaml,.yml,.json,text/yaml" });
  file.addEventListener("change", async () => { if (file.files[0]) area.control.value = await file.files[0].text(); });
  const download = () => {
    const url = URL.createObjectURL(new Blob([area.control.value], { type: "application/yaml" }));
    const a = h("a", { href: url, download: spec.filename });
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  };
  const form = apiForm({
    label: `Import ${spec.what.toLowerCase()}`, submitLabel: "Import",
    fields: [h("div", { class: "field" }, h("label", { for: "import-file" }, "Load a file"), file), area],
    action: async (v) => {
      const body = await call("POST", spec.importPath, { data: v.data });
      const r = body.result.value;
      toast(`Imported: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged.`);
      spec.onImport?.();
    },
  });
  return [
    current instanceof Error ? errorBox(current) : null,
    section("Export", h("p", {}, "The text below is the current configuration. Importing the same text again changes nothing."),
      h("button", { type: "button", onclick: download }, "Download YAML")),
    section("Import", h("p", { class: "help" }, spec.help), form),
  ];
}

export async function render() {
  return [
    pageHeader("Export and import definitions", link("All definitions", "#/events")),
    ...(await transferSections({
      what: "Definitions", exportPath: "/event/export", importPath: "/event/import",
      filename: "factorflow-events.yaml",
      help: "Paste or load an export (also privacyIDEA's event export) and import it.",
    })),
  ];
}
