// The logged-in principal, kept in sessionStorage: closing the tab logs out.

const KEY = "factorflow.session";

export function currentSession() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

export function saveSession(value) {
  sessionStorage.setItem(
    KEY,
    JSON.stringify({
      token: value.token,
      role: value.role,
      username: value.username,
      realm: value.realm || "",
      rights: value.rights || [],
      menus: value.menus || [],
      settings: Object.fromEntries(SETTINGS.filter((k) => k in value).map((k) => [k, value[k]])),
    }),
  );
}

// The webui policies' settings of the login answer that the UI follows.
const SETTINGS = ["logout_time", "timeout_action", "hide_buttons", "default_tokentype",
  "token_page_size", "token_wizard", "token_wizard_2nd", "user_details", "hide_welcome",
  "deletion_confirmation"];

/** A webui setting of this session (the login answer's), or `fallback`. */
export function setting(name, fallback) {
  const value = currentSession()?.settings?.[name];
  return value === undefined || value === null ? fallback : value;
}

/** Whether the login answer granted `right` ("enroll*": any right of that prefix);
 * the server checks each request anyway. */
export function allowed(right) {
  const rights = currentSession()?.rights;
  if (!Array.isArray(rights)) return true;
  if (right.endsWith("*")) return rights.some((r) => r.startsWith(right.slice(0, -1)));
  return rights.includes(right);
}

/** Replace the JWT after the lock screen's new login; the rest of the session stays. */
export function renewToken(token) {
  const session = currentSession();
  if (session) sessionStorage.setItem(KEY, JSON.stringify({ ...session, token }));
}

export function endSession() {
  sessionStorage.removeItem(KEY);
}

export function isAdmin() {
  return currentSession()?.role === "admin";
}
