// The console's only way to the server: the public /api/v1 and /api/im routes with the signed-in token.

const KEY = "hiscrm.token";
const WHO = "hiscrm.who";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const token = () => sessionStorage.getItem(KEY);
export const setToken = (value) => sessionStorage.setItem(KEY, value);
export const clearToken = () => {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(WHO);
};

// What the signed-in token is ({id, role, name, accounts}, from GET /api/v1/tokens/current): the console
// shows an `im` token the workspace only, and an admin everything.
export const who = () => JSON.parse(sessionStorage.getItem(WHO) || "null");
export const setWho = (value) => sessionStorage.setItem(WHO, JSON.stringify(value));
export const isAdmin = () => who()?.role === "admin";

// Pages learn that the token stopped working from this event, wherever the 401 came from.
export const authEvents = new EventTarget();

async function send(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  let payload = null;
  try {
    payload = await res.json();
  } catch {
    payload = null;
  }
  if (res.status === 401) authEvents.dispatchEvent(new Event("unauthorized"));
  return { res, payload };
}

/** An /api/v1 call: `data` of the `{success, data | error}` envelope, or an ApiError with its message. */
export async function v1(method, path, body) {
  const { res, payload } = await send(method, path, body);
  if (!payload || payload.success !== true) {
    throw new ApiError(res.status, payload?.error?.message || `${method} ${path}: HTTP ${res.status}`);
  }
  return payload.data;
}

/** An /api/im call: the whole `{data, status_code: 0, …}` body (lists keep cursor and has_more beside data). */
export async function im(method, path, body) {
  const { res, payload } = await send(method, path, body);
  if (!payload || payload.status_code !== 0) {
    throw new ApiError(res.status, payload?.status_msg || `${method} ${path}: HTTP ${res.status}`);
  }
  return payload;
}

export const query = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
};

// Which routes this server has, from its open /openapi.json. Asking first keeps the console from
// calling routes a server lacks (an older one, or one without the IM API), which would only fail.
let routes = null;

export async function loadRoutes() {
  const res = await fetch("/openapi.json", { cache: "no-store" });
  const doc = await res.json();
  routes = new Set(Object.keys(doc.paths || {}));
  return routes;
}

export const hasRoute = (path) => routes !== null && routes.has(path);
