// Hash routing: "#/tokens/OATH1?x=1" → {path params, query}. The server only ever
// serves "/", so UI paths can never shadow an API endpoint.

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path: path || "/", query: Object.fromEntries(new URLSearchParams(search)) };
}

export function match(routes, path) {
  for (const route of routes) {
    const names = [];
    const pattern = new RegExp(
      "^" + route.path.replace(/:(\w+)/g, (_, name) => { names.push(name); return "([^/]+)"; }) + "/?$",
    );
    const found = pattern.exec(path);
    if (found) {
      const params = {};
      names.forEach((name, i) => { params[name] = decodeURIComponent(found[i + 1]); });
      return { route, params };
    }
  }
  return null;
}

export function navigate(path, query) {
  const search = query ? new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ""),
  ).toString() : "";
  const target = `#${path}${search ? `?${search}` : ""}`;
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = target;
}
