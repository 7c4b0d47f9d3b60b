// Import a token seed file (POST /token/load/<filename>): PSKC, OATH CSV or Yubikey CSV
// into realms. The file is read here and sent as the "file" parameter; the server
// imports all of it or nothing and names the rejected lines (docs/token-import.md).

import { call, seg } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { apiForm, field } from "../forms.js";
import { link, pageHeader, section, table } from "../ui.js";

const TYPES = [["oathcsv", "OATH CSV"], ["yubikeycsv", "Yubikey CSV"], ["pskc", "PSKC (RFC 6030)"]];
const MAC_CHECKS = [["check_fail_hard", "refuse the file"], ["check_fail_soft", "leave the key out"],
  ["no_check", "do not check"]];

function rejectedTable(rows, title) {
  return table([
    { key: "where", label: "Line or element" },
    { key: "serial", label: "Serial" },
    { key: "reason", label: "Why" },
  ], rows, { caption: title });
}

export async function render() {
  const outcome = h("div", { class: "import-outcome", "aria-live": "polite" });
  const file = field({ label: "Seed file", param: "", kind: "file", required: true });
  const form = apiForm({
    label: "Import tokens",
    submitLabel: "Import",
    fields: [
      file,
      field({ label: "File type", param: "type", kind: "select", value: "oathcsv", choices: TYPES }),
      field({ label: "Token realms", param: "tokenrealms", help: "Comma list; the tokens go into these realms." }),
      field({ label: "Pre-shared key (PSKC)", param: "psk", kind: "password", autocomplete: "off",
        help: "Hex AES key of an encrypted PSKC file." }),
      field({ label: "Password (PSKC)", param: "password", kind: "password", autocomplete: "off" }),
      field({ label: "Wrong MAC (PSKC)", param: "pskcValidateMAC", kind: "select", value: "check_fail_hard",
        choices: MAC_CHECKS }),
    ],
    action: async (values) => {
      const chosen = file.control.files[0];
      replace(outcome);
      if (!chosen) throw Object.assign(new Error("Choose a file."), { field: "" });
      const params = { ...values, file: await chosen.text() };
      for (const key of ["tokenrealms", "psk", "password"]) if (!params[key]) delete params[key];
      try {
        const body = await call("POST", `/token/load/${seg(chosen.name)}`, params);
        const { n_imported: imported } = body.result.value;
        toast(`Imported ${imported} token(s)`);
        const skipped = body.detail?.not_imported || [];
        replace(outcome, h("p", { class: "ok" }, `Imported ${imported} token(s) from ${chosen.name}.`),
          skipped.length ? rejectedTable(skipped, "Not imported") : null,
          link("Show the tokens", "#/tokens", "button"));
      } catch (err) {
        const rows = err.detail?.rejected || [];
        if (rows.length) replace(outcome, rejectedTable(rows, `Nothing imported: ${err.detail.n_rejected} rejected`));
        throw err;
      }
    },
  });
  return [pageHeader("Import tokens", link("Back to tokens", "#/tokens")), section("Seed file", form), outcome];
}
