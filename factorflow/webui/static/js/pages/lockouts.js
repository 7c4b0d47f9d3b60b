// The login throttle on the audit page: accounts and client addresses whose logins
// are refused now (backoff or lockout), each with a button that clears it.

import { del, get, seg } from "../api.js";
import { formatDate, toast } from "../dom.js";
import { badge, button, confirmAction, section, table } from "../ui.js";

export async function lockoutSection(ctx) {
  let rows;
  try {
    rows = await get("/auth/lockouts/");
  } catch (err) {
    if (err.notAllowed || err.notFound) return null; // no right to see them: no section
    throw err;
  }
  const clear = (row) => async () => {
    if (!confirmAction(`Admit logins of ${row.scope} ${row.subject} again?`)) return;
    try {
      await del(`/auth/lockouts/${seg(row.id)}`);
      toast(`Cleared ${row.scope} ${row.subject}`);
      ctx.rerender();
    } catch (err) { toast(err.message); }
  };
  return section("Login lockouts",
    table([
      { key: "scope", label: "Scope" },
      { key: "subject", label: "Account or client" },
      { key: "state", label: "State", render: (r) => badge(r.state, r.state === "lockout" ? "bad" : "warn") },
      { key: "failures", label: "Failed logins" },
      { key: "until", label: "Refused until", render: (r) => formatDate(r.until) },
      { key: "actions", label: "Actions", render: (r) => button(`Clear ${r.subject}`, clear(r), "small") },
    ], rows, { empty: "No account or client is throttled.", caption: "Accounts and clients whose logins are refused now" }));
}
