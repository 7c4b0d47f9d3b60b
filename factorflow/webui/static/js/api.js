// The only way the UI talks to the server: the REST API, with the JWT in the
// Authorization header (privacyIDEA's raw-token form). Every call is a normal API
// request, so it runs through the event pipeline and lands in the audit.

import { currentSession, endSession } from "./session.js";

/** Codes of a 401 that mean "you may not", not "who are you". */
const ROLE_CODES = new Set([4306, 303]);

export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  /** True when the API exists but refuses this principal. */
  get notAllowed() {
    return this.status === 403 || (this.status === 401 && ROLE_CODES.has(this.code));
  }

  get notFound() {
    return this.status === 404 || this.status === 405;
  }

  /** The parameter the message names: "option.key", "condition.failcounter", "name"… */
  get field() {
    return fieldOf(this.message);
  }
}

const FIELD_PATTERNS = [
  [/(?:Invalid|Missing|Unknown) option '([^']+)'/, "option."],
  [/(?:Invalid|Unknown) condition '([^']+)'/, "condition."],
  [/Invalid parameter '([^']+)'/, ""],
  [/Missing parameter:? '?([\w.]+)'?/, ""],
  [/Invalid option '([^']+)'/, ""],
];

export function fieldOf(message) {
  for (const [pattern, prefix] of FIELD_PATTERNS) {
    const match = pattern.exec(message || "");
    if (match) return prefix + match[1];
  }
  return "";
}

/** Where to go when the session is gone; set by main.js. */
let onSessionLost = () => {};
export function whenSessionLost(callback) {
  onSessionLost = callback;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.append(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Call the API; resolves to the whole envelope, rejects with ApiError. */
export async function call(method, path, params, { anonymous = false } = {}) {
  const headers = { Accept: "application/json" };
  const session = currentSession();
  if (session && !anonymous) headers.Authorization = session.token;
  const init = { method, headers };
  let url = path;
  if (method === "GET" || method === "DELETE") {
    url += query(params);
  } else {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(params || {});
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (exc) {
    throw new ApiError(0, 0, `The server cannot be reached (${exc.message}).`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status, 0, `Unexpected answer (HTTP ${response.status}).`);
  }
  const error = body?.result?.error;
  if (!response.ok || error) {
    // privacyIDEA prefixes generic messages with "ERR905: "; the code is kept in err.code.
    const message = (error?.message ?? "Error").replace(/^ERR\d+: /, "");
    const err = new ApiError(response.status, error?.code ?? 0, message, body.detail);
    if (response.status === 401 && !err.notAllowed && session && !anonymous) {
      endSession();
      onSessionLost("Your session has expired or is no longer valid. Please log in again.");
    }
    throw err;
  }
  return body;
}

/** result.value of a call. */
export async function value(method, path, params, options) {
  return (await call(method, path, params, options)).result.value;
}

export const get = (path, params) => value("GET", path, params);
export const post = (path, params) => value("POST", path, params);
export const del = (path, params) => value("DELETE", path, params);

/** Encode one path segment (serials, realm names, module names). */
export const seg = (text) => encodeURIComponent(text);

/** A non-envelope body (the YAML export) as text; errors still come as the envelope. */
export async function text(path, params) {
  const session = currentSession();
  const headers = session ? { Authorization: session.token } : {};
  const response = await fetch(path + query(params), { headers });
  if (response.ok && !(response.headers.get("content-type") || "").includes("application/json")) {
    return response.text();
  }
  const body = await call("GET", path, params);
  return JSON.stringify(body.result.value, null, 2);
}
