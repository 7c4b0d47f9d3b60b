// The frame around every page: top bar with the principal, navigation by role.

import { h, replace } from "./dom.js";
import { currentSession } from "./session.js";

export const ADMIN_NAV = [
  ["/", "Dashboard"],
  ["/events", "Event definitions"],
  ["/streams", "Event streams"],
  ["/policies", "Policies"],
  ["/tokens", "Tokens"],
  ["/tokengroups", "Token groups"],
  ["/users", "Users"],
  ["/realms", "Realms"],
  ["/resolvers", "User stores"],
  ["/smtp", "SMTP servers"],
  ["/sms", "SMS gateways"],
  ["/remoteservers", "privacyIDEA servers"],
  ["/machines", "Machines"],
  ["/machinetokens", "Application links"],
  ["/jobs", "Jobs"],
  ["/audit", "Audit log"],
];

export const USER_NAV = [["/me", "My tokens"]];

export function renderFrame(currentPath, onLogout) {
  const session = currentSession();
  const topbar = document.getElementById("topbar");
  const nav = document.getElementById("nav");
  replace(topbar,
    h("a", { class: "brand", href: "#/" }, h("span", { class: "logo", "aria-hidden": "true" }, "F"), "Factorflow"),
    session ? h("div", { class: "who" },
      h("span", {}, session.username, session.realm ? `@${session.realm}` : "", " · ", session.role),
      h("button", { type: "button", class: "link-button", onclick: onLogout }, "Log out")) : null);
  nav.hidden = !session;
  if (!session) { replace(nav); return; }
  const items = session.role === "admin" ? ADMIN_NAV : USER_NAV;
  replace(nav, h("ul", {}, items.map(([path, label]) => {
    const active = path === "/" ? currentPath === "/" : currentPath.startsWith(path);
    return h("li", {}, h("a", { href: `#${path}`, "aria-current": active ? "page" : null }, label));
  })));
}
