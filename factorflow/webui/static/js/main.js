// Boot: route the URL fragment to a page module, guard by session, render.

import { del, whenSessionLost } from "./api.js";
import { h, replace } from "./dom.js";
import { renderFrame } from "./layout.js";
import { match, navigate, parseHash } from "./router.js";
import { currentSession, endSession } from "./session.js";
import { errorBox } from "./ui.js";
import { watchIdle } from "./idle.js";
import * as audit from "./pages/audit.js";
import * as dashboard from "./pages/dashboard.js";
import * as eventStreams from "./pages/eventstreams.js";
import * as jobs from "./pages/jobs.js";
import * as login from "./pages/login.js";
import * as machineTokens from "./pages/machine-tokens.js";
import * as machines from "./pages/machines.js";
import * as policies from "./pages/policies.js";
import * as realms from "./pages/realms.js";
import * as remoteServers from "./pages/remoteservers.js";
import * as resolvers from "./pages/resolvers.js";
import * as selfService from "./pages/self-service.js";
import * as sms from "./pages/sms.js";
import * as smtp from "./pages/smtp.js";
import * as tokenDetail from "./pages/token-detail.js";
import * as tokenEnrol from "./pages/token-enrol.js";
import * as tokenImport from "./pages/token-import.js";
import * as tokenGroups from "./pages/tokengroups.js";
import * as tokens from "./pages/tokens.js";
import * as users from "./pages/users.js";
import * as eventEdit from "./events/edit.js";
import * as eventHistory from "./events/history.js";
import * as eventPorting from "./events/porting.js";
import * as eventList from "./events/list.js";
import * as eventWorkflows from "./events/workflows.js";

const ROUTES = [
  { path: "/login", page: login, public: true },
  { path: "/", page: dashboard, home: true },
  { path: "/me", page: selfService },
  { path: "/events", page: eventList },
  { path: "/events/new", page: eventEdit },
  { path: "/events/transfer", page: eventPorting },
  { path: "/events/workflows", page: eventWorkflows },
  { path: "/events/:id/history", page: eventHistory },
  { path: "/events/:id", page: eventEdit },
  { path: "/streams", page: eventStreams },
  { path: "/tokens", page: tokens },
  { path: "/tokens/new", page: tokenEnrol },
  { path: "/tokens/import", page: tokenImport },
  { path: "/tokens/:serial", page: tokenDetail },
  { path: "/tokengroups", page: tokenGroups },
  { path: "/users", page: users },
  { path: "/realms", page: realms },
  { path: "/resolvers", page: resolvers },
  { path: "/smtp", page: smtp },
  { path: "/sms", page: sms },
  { path: "/remoteservers", page: remoteServers },
  { path: "/machines", page: machines },
  { path: "/machinetokens", page: machineTokens },
  { path: "/jobs", page: jobs },
  { path: "/policies", page: policies },
  { path: "/audit", page: audit },
];

let loginMessage = "";
let renderCount = 0;

async function logout(message = "You have logged out.") {
  try {
    await del("/auth"); // the server refuses this JWT from now on
  } catch {
    // An expired or refused session is over anyway.
  }
  endSession();
  loginMessage = typeof message === "string" ? message : "You have logged out.";
  navigate("/login");
}

whenSessionLost((message) => {
  loginMessage = message;
  navigate("/login");
});

async function render() {
  const main = document.getElementById("main");
  const { path, query } = parseHash();
  const session = currentSession();
  const found = match(ROUTES, path);
  if (!session && !found?.route.public) {
    navigate("/login");
    return;
  }
  if (found?.route.home && session?.role === "user") {
    navigate("/me");
    return;
  }
  renderFrame(path, logout);
  if (!found) {
    replace(main, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Go to the start page")));
    return;
  }
  const ticket = ++renderCount;
  const ctx = {
    params: found.params,
    query,
    main,
    message: loginMessage,
    rerender: render,
    isCurrent: () => ticket === renderCount,
  };
  loginMessage = "";
  try {
    const content = await found.route.page.render(ctx);
    if (ticket !== renderCount) return;
    if (content !== undefined) replace(main, content);
  } catch (err) {
    if (ticket !== renderCount) return;
    replace(main, errorBox(err));
  }
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · Factorflow` : "Factorflow";
  if (ctx.focus !== false) main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", render);
watchIdle(logout);
render();
