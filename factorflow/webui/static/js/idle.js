// The webui policies logout_time and timeout_action: after logout_time seconds
// without a key, click or pointer move, the UI either locks the screen until the
// password is entered again (lockscreen, privacyIDEA's default) or logs out.

import { value } from "./api.js";
import { h } from "./dom.js";
import { currentSession, renewToken, setting } from "./session.js";

const ACTIVITY = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"];
let timer = null;
let locked = false;

function seconds() {
  return Number(setting("logout_time", 120)) || 120;
}

function restart(onTimeout) {
  clearTimeout(timer);
  if (!currentSession() || locked) return;
  timer = setTimeout(onTimeout, seconds() * 1000);
}

function lockScreen(onLogout) {
  const session = currentSession();
  if (!session || locked) return;
  locked = true;
  const password = h("input", { type: "password", id: "unlock-password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const overlay = h("div", { class: "lock-screen", role: "dialog", "aria-modal": "true", "aria-labelledby": "lock-title" });
  const unlock = async (event) => {
    event.preventDefault();
    try {
      const answer = await value("POST", "/auth",
        { username: session.username, realm: session.realm, password: password.value }, { anonymous: true });
      renewToken(answer.token);
      locked = false;
      overlay.remove();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      password.select();
    }
  };
  const form = h("form", { class: "form", onsubmit: unlock },
    h("h2", { id: "lock-title" }, "Locked"),
    h("p", {}, `The screen was locked after ${seconds()} seconds without activity. Enter your password to go on.`),
    error,
    h("div", { class: "field" }, h("label", { for: "unlock-password" }, "Password"), password),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Unlock"),
      h("button", { type: "button", onclick: () => { locked = false; overlay.remove(); onLogout("You have logged out."); } }, "Log out")));
  overlay.append(form);
  document.body.append(overlay);
  password.focus();
}

/** Watch for inactivity while a session lasts; `onLogout(message)` ends the session. */
export function watchIdle(onLogout) {
  const onTimeout = () => {
    if (!currentSession()) return;
    if (setting("timeout_action", "lockscreen") === "logout") {
      onLogout(`You were logged out after ${seconds()} seconds without activity.`);
    } else {
      lockScreen(onLogout);
    }
  };
  for (const name of ACTIVITY) window.addEventListener(name, () => restart(onTimeout), { passive: true });
  window.addEventListener("hashchange", () => restart(onTimeout));
  restart(onTimeout);
}
