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
    }),
  );
}

export function endSession() {
  sessionStorage.removeItem(KEY);
}

export function isAdmin() {
  return currentSession()?.role === "admin";
}
